/* An in-process DNS zone behind the ks_spf_dns interface: answers synchronously, with the
 * conventions of the OpenSPF test suites (ordered records, timeouts, one level of CNAME). */
#include "spf_int.h"

#include <stdlib.h>
#include <string.h>

struct zrec {
    uint16_t type; /* 0 = timeout for every type not answered so far */
    bool timeout;  /* with type != 0: a timeout for that type */
    uint32_t len;
    uint8_t *data;
};

struct zname {
    char *name; /* lower case, no final dot */
    struct zrec *recs;
    uint32_t n, cap;
    struct zname *next;
};

struct ks_spf_zone {
    struct zname **buckets;
    uint32_t nbuckets, count;
    struct ks_spf_dns dns;
};

static void lower_copy(char *dst, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        dst[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
    dst[n] = '\0';
}

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static int zone_query(void *ctx, const char *name, uint16_t type, ks_spf_dns_done done, void *arg);

int ks_spf_zone_new(struct ks_spf_zone **zp)
{
    struct ks_spf_zone *z = calloc(1, sizeof *z);
    if (!z)
        return KS_ENOMEM;
    z->nbuckets = 256;
    z->buckets = calloc(z->nbuckets, sizeof *z->buckets);
    if (!z->buckets) {
        free(z);
        return KS_ENOMEM;
    }
    z->dns.query = zone_query;
    z->dns.wait = NULL;
    z->dns.ctx = z;
    *zp = z;
    return KS_OK;
}

void ks_spf_zone_clear(struct ks_spf_zone *z)
{
    for (uint32_t b = 0; b < z->nbuckets; b++) {
        struct zname *n = z->buckets[b];
        while (n) {
            struct zname *next = n->next;
            for (uint32_t i = 0; i < n->n; i++)
                free(n->recs[i].data);
            free(n->recs);
            free(n->name);
            free(n);
            n = next;
        }
        z->buckets[b] = NULL;
    }
    z->count = 0;
}

void ks_spf_zone_free(struct ks_spf_zone *z)
{
    if (!z)
        return;
    ks_spf_zone_clear(z);
    free(z->buckets);
    free(z);
}

const struct ks_spf_dns *ks_spf_zone_dns(struct ks_spf_zone *z)
{
    return &z->dns;
}

/* Normalises name into buf (lower case, no final dot); false if it does not fit. */
static bool norm(const char *name, char *buf, size_t size)
{
    size_t n = strlen(name);
    if (n && name[n - 1] == '.')
        n--;
    if (n >= size)
        return false;
    lower_copy(buf, name, n);
    return true;
}

static struct zname *find(struct ks_spf_zone *z, const char *lname)
{
    for (struct zname *n = z->buckets[hash_name(lname) & (z->nbuckets - 1)]; n; n = n->next)
        if (strcmp(n->name, lname) == 0)
            return n;
    return NULL;
}

static struct zname *get(struct ks_spf_zone *z, const char *name)
{
    char buf[1024];
    if (!norm(name, buf, sizeof buf))
        return NULL;
    struct zname *n = find(z, buf);
    if (n)
        return n;
    n = calloc(1, sizeof *n);
    if (!n || !(n->name = strdup(buf))) {
        free(n);
        return NULL;
    }
    uint32_t b = hash_name(buf) & (z->nbuckets - 1);
    n->next = z->buckets[b];
    z->buckets[b] = n;
    z->count++;
    return n;
}

static int push(struct zname *n, const struct zrec *r)
{
    if (n->n == n->cap) {
        uint32_t cap = n->cap ? n->cap * 2 : 4;
        struct zrec *p = realloc(n->recs, cap * sizeof *p);
        if (!p)
            return KS_ENOMEM;
        n->recs = p;
        n->cap = cap;
    }
    n->recs[n->n++] = *r;
    return KS_OK;
}

int ks_spf_zone_add(struct ks_spf_zone *z, const char *name, uint16_t type, const void *data,
                    size_t len)
{
    struct zname *n = get(z, name);
    if (!n || len > UINT32_MAX)
        return KS_ENOMEM;
    struct zrec r = {type, false, (uint32_t)len, malloc(len ? len : 1)};
    if (!r.data)
        return KS_ENOMEM;
    if (len)
        memcpy(r.data, data, len);
    if (push(n, &r) != KS_OK) {
        free(r.data);
        return KS_ENOMEM;
    }
    return KS_OK;
}

int ks_spf_zone_add_timeout(struct ks_spf_zone *z, const char *name, uint16_t type)
{
    struct zname *n = get(z, name);
    if (!n)
        return KS_ENOMEM;
    struct zrec r = {type, true, 0, NULL};
    return push(n, &r);
}

int ks_spf_zone_add_name(struct ks_spf_zone *z, const char *name)
{
    return get(z, name) ? KS_OK : KS_ENOMEM;
}

/* Collects n's records of type into rr; follow: one level of CNAME. Returns the status. */
static enum ks_spf_dns_status collect(struct ks_spf_zone *z, struct zname *n, uint16_t type,
                                      struct ks_spf_rr *rr, uint32_t *count, uint32_t max,
                                      bool follow)
{
    for (uint32_t i = 0; i < n->n; i++) {
        const struct zrec *r = &n->recs[i];
        if (r->timeout) {
            if (r->type == 0 && *count == 0)
                return KS_SPF_DNS_TEMPFAIL;
            if (r->type == 0)
                break;
            if (r->type == type)
                return KS_SPF_DNS_TEMPFAIL;
            continue;
        }
        if (r->type == KS_DNS_CNAME && type != KS_DNS_CNAME) {
            if (!follow)
                continue;
            char buf[1024];
            char tname[1024];
            size_t l = r->len < sizeof tname ? r->len : sizeof tname - 1;
            memcpy(tname, r->data, l);
            tname[l] = '\0';
            if (!norm(tname, buf, sizeof buf))
                continue;
            struct zname *t = find(z, buf);
            if (t)
                return collect(z, t, type, rr, count, max, false);
            return KS_SPF_DNS_NXDOMAIN;
        }
        if (r->type == type && *count < max) {
            rr[*count].type = type;
            rr[*count].ttl = 3600;
            rr[*count].len = r->len;
            rr[*count].data = r->data;
            (*count)++;
        }
    }
    return KS_SPF_DNS_OK;
}

static int zone_query(void *ctx, const char *name, uint16_t type, ks_spf_dns_done done, void *arg)
{
    struct ks_spf_zone *z = ctx;
    struct ks_spf_answer a = {KS_SPF_DNS_NXDOMAIN, 0, NULL};
    char buf[1024];
    struct ks_spf_rr *rr = NULL;
    /* A name no DNS query can carry is a resolver error. */
    if (!norm(name, buf, sizeof buf) || !spf_name_ok(buf, strlen(buf))) {
        a.status = KS_SPF_DNS_TEMPFAIL;
        done(arg, &a);
        return KS_OK;
    }
    struct zname *n = find(z, buf);
    if (!n) {
        if (strncmp(buf, "error.", 6) == 0)
            a.status = KS_SPF_DNS_TEMPFAIL;
        done(arg, &a);
        return KS_OK;
    }
    /* Records of a CNAME target are at most those of one other name. */
    uint32_t max = n->n;
    for (uint32_t i = 0; i < n->n; i++) {
        if (n->recs[i].type == KS_DNS_CNAME) {
            char tb[1024], tname[1024];
            size_t l = n->recs[i].len < sizeof tname ? n->recs[i].len : sizeof tname - 1;
            memcpy(tname, n->recs[i].data, l);
            tname[l] = '\0';
            struct zname *t = norm(tname, tb, sizeof tb) ? find(z, tb) : NULL;
            if (t && t->n > max)
                max = t->n;
        }
    }
    rr = calloc(max ? max : 1, sizeof *rr);
    if (!rr)
        return KS_ENOMEM;
    uint32_t count = 0;
    a.status = collect(z, n, type, rr, &count, max, true);
    a.count = a.status == KS_SPF_DNS_OK ? count : 0;
    a.rr = rr;
    done(arg, &a);
    free(rr);
    return KS_OK;
}
