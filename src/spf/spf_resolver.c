/* Real DNS for SPF: c-ares (UDP, TCP on truncation, resolv.conf, timeouts and retries) under a
 * bounded, TTL-respecting answer cache shared by every check of the resolver. Answers are parsed
 * by ks_spf_dns_parse(); c-ares only sends and receives. */
#include "spf_int.h"

#include <ares.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CACHED_BYTES 65536 /* larger answers are not cached */

struct centry {
    struct centry *hnext;         /* hash chain */
    struct centry *lprev, *lnext; /* LRU list, most recent first */
    uint64_t hash;
    int64_t expires; /* monotonic seconds */
    enum ks_spf_dns_status status;
    uint16_t type;
    uint32_t count;
    char *name;           /* lower case, inside the same allocation */
    struct ks_spf_rr *rr; /* inside the same allocation */
};

struct waiter {
    ks_spf_dns_done done;
    void *arg;
};

/* One upstream query; concurrent asks for the same (name, type) wait on it (coalescing). */
struct pending {
    struct ks_spf_resolver *r;
    struct pending *hnext; /* in the in-flight table */
    uint64_t hash;
    uint16_t type;
    uint32_t nw, capw;
    struct waiter *w;
    struct waiter w0;
    char name[];
};

struct ks_spf_resolver {
    struct ks_spf_resolver_config cfg;
    ares_channel ch;
    bool closing;
    struct ks_spf_dns dns;
    struct ks_spf_resolver_stats st;
    uint64_t completed;
    struct centry **buckets;
    uint32_t nbuckets;
    struct centry *lru_head, *lru_tail;
    struct pending *inflight[1024];
};

static int64_t now_s(void)
{
    /* Seconds are all a TTL needs: the coarse clock is a memory read, not a clock read. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec;
}

void ks_spf_resolver_config_default(struct ks_spf_resolver_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->timeout_ms = 2000;
    cfg->tries = 2;
    cfg->cache_capacity = 65536;
    cfg->negative_ttl = 60;
    cfg->max_ttl = 86400;
}

/* ---- cache ------------------------------------------------------------------------------- */

static uint64_t key_hash(const char *lname, uint16_t type)
{
    uint64_t h = 1469598103934665603ull ^ type;
    for (const char *p = lname; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ull;
    }
    return h;
}

static void lower_name(char *dst, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        dst[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
    dst[n] = '\0';
}

static void lru_unlink(struct ks_spf_resolver *r, struct centry *e)
{
    if (e->lprev)
        e->lprev->lnext = e->lnext;
    else
        r->lru_head = e->lnext;
    if (e->lnext)
        e->lnext->lprev = e->lprev;
    else
        r->lru_tail = e->lprev;
    e->lprev = e->lnext = NULL;
}

static void lru_push(struct ks_spf_resolver *r, struct centry *e)
{
    e->lprev = NULL;
    e->lnext = r->lru_head;
    if (r->lru_head)
        r->lru_head->lprev = e;
    r->lru_head = e;
    if (!r->lru_tail)
        r->lru_tail = e;
}

static void cache_remove(struct ks_spf_resolver *r, struct centry *e)
{
    struct centry **pp = &r->buckets[e->hash & (r->nbuckets - 1)];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    lru_unlink(r, e);
    free(e);
    r->st.cache_size--;
}

static struct centry *cache_find(struct ks_spf_resolver *r, const char *lname, uint16_t type,
                                 uint64_t h)
{
    if (!r->nbuckets)
        return NULL;
    for (struct centry *e = r->buckets[h & (r->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && e->type == type && strcmp(e->name, lname) == 0)
            return e;
    return NULL;
}

static void cache_put(struct ks_spf_resolver *r, const char *lname, uint16_t type,
                      const struct ks_spf_answer *a, uint32_t ttl)
{
    if (!r->nbuckets || a->status == KS_SPF_DNS_TEMPFAIL || ttl == 0)
        return;
    size_t nlen = strlen(lname), bytes = 0;
    for (uint32_t i = 0; i < a->count; i++)
        bytes += a->rr[i].len;
    if (bytes > MAX_CACHED_BYTES)
        return;
    uint64_t h = key_hash(lname, type);
    struct centry *old = cache_find(r, lname, type, h);
    if (old)
        cache_remove(r, old);
    /* Bounded: evict the least recently used entry when full. */
    while (r->st.cache_size >= r->cfg.cache_capacity && r->lru_tail) {
        cache_remove(r, r->lru_tail);
        r->st.cache_evictions++;
    }
    size_t size = sizeof(struct centry) + a->count * sizeof(struct ks_spf_rr) + nlen + 1 + bytes;
    struct centry *e = malloc(size);
    if (!e)
        return;
    memset(e, 0, sizeof *e);
    e->rr = (struct ks_spf_rr *)(e + 1);
    uint8_t *d = (uint8_t *)(e->rr + a->count);
    e->name = (char *)d;
    memcpy(e->name, lname, nlen + 1);
    d += nlen + 1;
    for (uint32_t i = 0; i < a->count; i++) {
        e->rr[i] = a->rr[i];
        if (a->rr[i].len)
            memcpy(d, a->rr[i].data, a->rr[i].len);
        e->rr[i].data = d;
        d += a->rr[i].len;
    }
    e->hash = h;
    e->type = type;
    e->status = a->status;
    e->count = a->count;
    e->expires = now_s() + ttl;
    struct centry **b = &r->buckets[h & (r->nbuckets - 1)];
    e->hnext = *b;
    *b = e;
    lru_push(r, e);
    r->st.cache_size++;
    r->st.cache_inserts++;
}

void ks_spf_resolver_cache_clear(struct ks_spf_resolver *r)
{
    while (r->lru_head)
        cache_remove(r, r->lru_head);
}

/* ---- queries ----------------------------------------------------------------------------- */

struct parse_ctx {
    struct pending *p;
    bool called;
};

static struct pending **inflight_slot(struct ks_spf_resolver *r, uint64_t h)
{
    return &r->inflight[h & (sizeof r->inflight / sizeof r->inflight[0] - 1)];
}

static struct pending *inflight_find(struct ks_spf_resolver *r, const char *lname, uint16_t type,
                                     uint64_t h)
{
    for (struct pending *p = *inflight_slot(r, h); p; p = p->hnext)
        if (p->hash == h && p->type == type && strcmp(p->name, lname) == 0)
            return p;
    return NULL;
}

static void inflight_remove(struct ks_spf_resolver *r, struct pending *p)
{
    struct pending **pp = inflight_slot(r, p->hash);
    while (*pp && *pp != p)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = p->hnext;
}

static void notify(struct pending *p, const struct ks_spf_answer *a)
{
    for (uint32_t i = 0; i < p->nw; i++)
        p->w[i].done(p->w[i].arg, a);
}

static void parsed(void *arg, const struct ks_spf_answer *a, uint32_t neg_ttl)
{
    struct parse_ctx *x = arg;
    struct pending *p = x->p;
    struct ks_spf_resolver *r = p->r;
    uint32_t ttl = UINT32_MAX;
    if (a->status == KS_SPF_DNS_NXDOMAIN || (a->status == KS_SPF_DNS_OK && a->count == 0)) {
        ttl = neg_ttl ? neg_ttl : r->cfg.negative_ttl;
    } else {
        for (uint32_t i = 0; i < a->count; i++)
            if (a->rr[i].ttl < ttl)
                ttl = a->rr[i].ttl;
    }
    if (ttl > r->cfg.max_ttl)
        ttl = r->cfg.max_ttl;
    if (a->status == KS_SPF_DNS_NXDOMAIN)
        r->st.nxdomain++;
    else if (a->status == KS_SPF_DNS_TEMPFAIL)
        r->st.tempfail++;
    r->st.answered++;
    cache_put(r, p->name, p->type, a, ttl);
    x->called = true;
    notify(p, a);
}

static void ares_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    (void)timeouts;
    struct pending *p = arg;
    struct ks_spf_resolver *r = p->r;
    r->st.in_flight--;
    r->completed++;
    /* Out of the table first: a waiter's callback may ask the same question again. */
    inflight_remove(r, p);
    struct parse_ctx x = {p, false};
    if (status == ARES_SUCCESS && abuf && alen > 0) {
        if (ks_spf_dns_parse(abuf, (size_t)alen, p->type, parsed, &x) != KS_OK && !x.called)
            r->st.malformed++;
    }
    if (!x.called) {
        /* Timeout, refused, SERVFAIL from every server, a malformed answer, shutdown. */
        struct ks_spf_answer a = {KS_SPF_DNS_TEMPFAIL, 0, NULL};
        r->st.tempfail++;
        notify(p, &a);
    }
    if (p->w != &p->w0)
        free(p->w);
    free(p);
}

static int res_query(void *ctx, const char *name, uint16_t type, ks_spf_dns_done done, void *arg)
{
    struct ks_spf_resolver *r = ctx;
    if (r->closing)
        return KS_EINVAL;
    size_t n = strlen(name);
    if (n && name[n - 1] == '.')
        n--;
    if (n == 0 || n > 1024)
        return KS_EINVAL;
    r->st.queries++;
    char lname[1025];
    lower_name(lname, name, n);
    uint64_t h = key_hash(lname, type);
    if (r->nbuckets) {
        struct centry *e = cache_find(r, lname, type, h);
        if (e && e->expires <= now_s()) {
            cache_remove(r, e);
            r->st.cache_expired++;
            e = NULL;
        }
        if (e) {
            r->st.cache_hits++;
            lru_unlink(r, e);
            lru_push(r, e);
            struct ks_spf_answer a = {e->status, e->count, e->rr};
            done(arg, &a);
            return KS_OK;
        }
        r->st.cache_misses++;
    }
    struct pending *p = malloc(sizeof *p + n + 1);
    if (!p)
        return KS_ENOMEM;
    memcpy(p->name, lname, n + 1);
    struct pending *same = inflight_find(r, p->name, type, h);
    if (same) {
        free(p);
        if (same->nw == same->capw) {
            uint32_t cap = same->capw * 2;
            struct waiter *w = malloc(cap * sizeof *w);
            if (!w)
                return KS_ENOMEM;
            memcpy(w, same->w, same->nw * sizeof *w);
            if (same->w != &same->w0)
                free(same->w);
            same->w = w;
            same->capw = cap;
        }
        same->w[same->nw].done = done;
        same->w[same->nw].arg = arg;
        same->nw++;
        r->st.coalesced++;
        return KS_OK;
    }
    p->r = r;
    p->hash = h;
    p->type = type;
    p->w0.done = done;
    p->w0.arg = arg;
    p->w = &p->w0;
    p->nw = p->capw = 1;
    struct pending **slot = inflight_slot(r, h);
    p->hnext = *slot;
    *slot = p;
    unsigned char *q = NULL;
    int qlen = 0;
    /* EDNS0 with a 1232-byte UDP payload (the DNS flag day 2020 value); c-ares retries over TCP
     * when an answer comes back truncated. */
    if (ares_create_query(p->name, 1 /* IN */, type, 0, 1, &q, &qlen, 1232) != ARES_SUCCESS) {
        inflight_remove(r, p);
        free(p);
        return KS_EINVAL;
    }
    r->st.sent++;
    r->st.in_flight++;
    ares_send(r->ch, q, qlen, ares_cb, p);
    ares_free_string(q);
    return KS_OK;
}

static int res_wait(void *ctx)
{
    struct ks_spf_resolver *r = ctx;
    uint64_t before = r->completed;
    while (r->completed == before && r->st.in_flight > 0)
        ks_spf_resolver_run(r, -1);
    return KS_OK;
}

int ks_spf_resolver_new(const struct ks_spf_resolver_config *cfg, struct ks_spf_resolver **rp)
{
    *rp = NULL;
    struct ks_spf_resolver *r = calloc(1, sizeof *r);
    if (!r)
        return KS_ENOMEM;
    if (cfg)
        r->cfg = *cfg;
    else
        ks_spf_resolver_config_default(&r->cfg);
    if (r->cfg.tries == 0)
        r->cfg.tries = 1;
    if (r->cfg.timeout_ms == 0)
        r->cfg.timeout_ms = 2000;
    if (r->cfg.cache_capacity) {
        uint32_t nb = 16;
        while (nb < r->cfg.cache_capacity && nb < (1u << 24))
            nb <<= 1;
        r->buckets = calloc(nb, sizeof *r->buckets);
        if (!r->buckets) {
            free(r);
            return KS_ENOMEM;
        }
        r->nbuckets = nb;
    }
    if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
        free(r->buckets);
        free(r);
        return KS_ENOMEM;
    }
    struct ares_options o;
    memset(&o, 0, sizeof o);
    o.timeout = (int)r->cfg.timeout_ms;
    o.tries = (int)r->cfg.tries;
    o.flags = ARES_FLAG_EDNS | ARES_FLAG_NOSEARCH;
    o.ednspsz = 1232;
    int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ;
    int rc = ares_init_options(&r->ch, &o, mask);
    if (rc == ARES_SUCCESS && r->cfg.servers && *r->cfg.servers)
        rc = ares_set_servers_ports_csv(r->ch, r->cfg.servers);
    if (rc != ARES_SUCCESS) {
        if (r->ch)
            ares_destroy(r->ch);
        ares_library_cleanup();
        free(r->buckets);
        free(r);
        return rc == ARES_ENOMEM ? KS_ENOMEM : KS_EINVAL;
    }
    r->dns.query = res_query;
    r->dns.wait = res_wait;
    r->dns.ctx = r;
    *rp = r;
    return KS_OK;
}

void ks_spf_resolver_free(struct ks_spf_resolver *r)
{
    if (!r)
        return;
    r->closing = true;
    ares_destroy(r->ch); /* completes pending queries with ARES_EDESTRUCTION */
    ares_library_cleanup();
    ks_spf_resolver_cache_clear(r);
    free(r->buckets);
    free(r);
}

const struct ks_spf_dns *ks_spf_resolver_dns(struct ks_spf_resolver *r)
{
    return &r->dns;
}

uint64_t ks_spf_resolver_pending(const struct ks_spf_resolver *r)
{
    return r->st.in_flight;
}

void ks_spf_resolver_stats(const struct ks_spf_resolver *r, struct ks_spf_resolver_stats *st)
{
    *st = r->st;
}

int ks_spf_resolver_pollfds(struct ks_spf_resolver *r, struct pollfd *fds, int max, int *timeout_ms)
{
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    /* The bit mask is read unsigned: c-ares' own ARES_GETSOCK_WRITABLE shifts a signed 1 into
     * the sign bit for the 16th socket, which is undefined behaviour. */
    unsigned bits = (unsigned)ares_getsock(r->ch, socks, ARES_GETSOCK_MAXNUM);
    int n = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM && n < max; i++) {
        short ev = 0;
        if (bits & (1u << i))
            ev |= POLLIN;
        if (bits & (1u << (i + ARES_GETSOCK_MAXNUM)))
            ev |= POLLOUT;
        if (!ev)
            continue;
        fds[n].fd = socks[i];
        fds[n].events = ev;
        fds[n].revents = 0;
        n++;
    }
    if (timeout_ms) {
        struct timeval tv, *tvp = ares_timeout(r->ch, NULL, &tv);
        *timeout_ms = tvp ? (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000) : -1;
    }
    return n;
}

void ks_spf_resolver_process(struct ks_spf_resolver *r, const struct pollfd *fds, int n)
{
    bool any = false;
    for (int i = 0; i < n; i++) {
        if (!fds[i].revents)
            continue;
        any = true;
        ares_socket_t rd =
            fds[i].revents & (POLLIN | POLLERR | POLLHUP) ? fds[i].fd : ARES_SOCKET_BAD;
        ares_socket_t wr = fds[i].revents & POLLOUT ? fds[i].fd : ARES_SOCKET_BAD;
        ares_process_fd(r->ch, rd, wr);
    }
    if (!any)
        ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* timeouts */
}

int ks_spf_resolver_run(struct ks_spf_resolver *r, int timeout_ms)
{
    if (r->st.in_flight == 0)
        return 0;
    struct pollfd fds[ARES_GETSOCK_MAXNUM];
    int t;
    int n = ks_spf_resolver_pollfds(r, fds, ARES_GETSOCK_MAXNUM, &t);
    if (timeout_ms >= 0 && (t < 0 || timeout_ms < t))
        t = timeout_ms;
    int rc = poll(fds, (nfds_t)n, t);
    if (rc < 0)
        n = 0;
    ks_spf_resolver_process(r, fds, n);
    return (int)r->st.in_flight;
}
