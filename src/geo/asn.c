/* kansoku AS table: CSV parser, builder and reader (format in asn.h). */
#include "geo/asn.h"
#include "core/cur.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- CSV line ---------------------------------------------------------------------------- */

/* Takes the bytes up to the next ',' (or the end) and the ',' itself; *comma says whether
 * there was one. */
static const uint8_t *take_field(struct ks_cur *c, size_t *n, bool *comma)
{
    const uint8_t *p = ks_cur_ptr(c, 0);
    const uint8_t *sep = p ? memchr(p, ',', ks_cur_left(c)) : NULL;
    *n = sep ? (size_t)(sep - p) : ks_cur_left(c);
    *comma = sep != NULL;
    p = ks_cur_ptr(c, *n);
    if (sep)
        ks_cur_skip(c, 1);
    return p;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid (RFC 3629 4:
 * no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    size_t k;
    uint8_t lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        k = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        k = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < k || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return k;
}

/* The bytes of v (in memory order, little-endian) that are not printable ASCII (0x20..0x7e) with
 * their top bit set: a top bit, a byte below 0x20 (v - 0x20.. borrows into its top bit), a byte
 * equal to 0x7f. A borrow may also flag bytes above such a byte, never one below it: the lowest
 * flag is exact. */
static inline uint64_t ascii8_unprintable(uint64_t v)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);
    uint64_t x = v ^ (ones * 0x7f);
    return (v & high) | ((v - ones * 0x20) & ~v & high) | ((x - ones) & ~x & high);
}

/* True when s[0..n) is UTF-8 without control characters (names are printed as they are), NUL
 * bytes allowed when nul_ok (the table's names, one after the other). Every name of the table is
 * checked when it is opened, mostly ASCII: 8 bytes at a time, up to the first other byte. */
static bool text_ok_in(const uint8_t *s, size_t n, bool nul_ok)
{
    size_t i = 0;
    while (i < n) {
        uint64_t v;
        if (i + 8 <= n) {
            memcpy(&v, s + i, 8);
            uint64_t bad = ascii8_unprintable(v);
            if (!bad) {
                i += 8;
                continue;
            }
            i += (size_t)__builtin_ctzll(bad) >> 3;
        }
        if (s[i] == 0 && nul_ok) {
            i++;
            continue;
        }
        if (s[i] < 0x20 || s[i] == 0x7f)
            return false;
        size_t k = utf8_seq(s + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

static bool text_ok(const uint8_t *s, size_t n)
{
    return text_ok_in(s, n, false);
}

static bool parse_u32(const uint8_t *s, size_t n, uint32_t *v)
{
    uint64_t x = 0;
    if (n == 0 || n > 10)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    if (x > UINT32_MAX)
        return false;
    *v = (uint32_t)x;
    return true;
}

int ks_asn_parse_line(const uint8_t *line, size_t len, struct ks_asn_range *r, const char **why)
{
    struct ks_cur c = ks_cur_make(line, len);
    const uint8_t *f;
    size_t n;
    bool comma;

    r->asn = 0;
    r->org_len = 0;
    r->org[0] = '\0';
    f = take_field(&c, &n, &comma);
    if (!comma || ks_addr_parse((const char *)f, n, &r->first) != KS_OK) {
        *why = "first address is not an IP address";
        return KS_EFORMAT;
    }
    f = take_field(&c, &n, &comma);
    if (!comma || ks_addr_parse((const char *)f, n, &r->last) != KS_OK) {
        *why = "last address is not an IP address";
        return KS_EFORMAT;
    }
    if (r->first.family != r->last.family) {
        *why = "first and last addresses are of different families";
        return KS_EFORMAT;
    }
    if (memcmp(r->first.b, r->last.b, sizeof r->first.b) > 0) {
        *why = "first address is after the last";
        return KS_EFORMAT;
    }
    f = take_field(&c, &n, &comma);
    if (!comma || !parse_u32(f, n, &r->asn)) {
        *why = "AS number is not a decimal number below 2^32";
        return KS_EFORMAT;
    }

    /* The rest is the name: as it is, or in double quotes with "" for a quote (RFC 4180 2). */
    size_t rest = ks_cur_left(&c);
    const uint8_t *s = ks_cur_ptr(&c, rest);
    size_t o = 0;
    if (rest > 0 && s[0] == '"') {
        size_t i = 1;
        for (;;) {
            if (i >= rest) {
                *why = "quoted name is not closed";
                return KS_EFORMAT;
            }
            if (s[i] == '"') {
                if (i + 1 < rest && s[i + 1] == '"') {
                    i++;
                } else if (i + 1 == rest) {
                    break;
                } else {
                    *why = "text after the closing quote of the name";
                    return KS_EFORMAT;
                }
            }
            if (o >= KS_ASN_ORG_MAX) {
                *why = "name longer than 255 bytes";
                return KS_ELIMIT;
            }
            r->org[o++] = (char)s[i++];
        }
    } else {
        if (rest > KS_ASN_ORG_MAX) {
            *why = "name longer than 255 bytes";
            return KS_ELIMIT;
        }
        if (rest && memchr(s, '"', rest)) {
            *why = "quote inside an unquoted name";
            return KS_EFORMAT;
        }
        if (rest)
            memcpy(r->org, s, rest);
        o = rest;
    }
    r->org[o] = '\0';
    r->org_len = (uint32_t)o;
    if (!text_ok((const uint8_t *)r->org, o)) {
        *why = "name is not UTF-8 text";
        return KS_EFORMAT;
    }
    return KS_OK;
}

/* ---- builder ----------------------------------------------------------------------------- */

/* An address as a 128-bit number (IPv4 in the low 32 bits). */
struct u128 {
    uint64_t hi, lo;
};

static struct u128 u128_of(const struct ks_addr *a)
{
    struct u128 v = {0, 0};
    if (a->family == 4) {
        v.lo = ks_addr_v4(a);
        return v;
    }
    for (int i = 0; i < 8; i++) {
        v.hi = v.hi << 8 | a->b[i];
        v.lo = v.lo << 8 | a->b[8 + i];
    }
    return v;
}

static int u128_cmp(struct u128 a, struct u128 b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    if (a.lo != b.lo)
        return a.lo < b.lo ? -1 : 1;
    return 0;
}

static struct u128 u128_inc(struct u128 a)
{
    a.lo++;
    if (a.lo == 0)
        a.hi++;
    return a;
}

struct rng {
    struct u128 first, last;
    uint32_t rec;
    uint32_t line;
    uint32_t src;
    uint32_t seq; /* input order, so that sorting is stable */
};

struct rng_vec {
    struct rng *v;
    size_t n, cap;
};

struct bnd {
    struct u128 start;
    uint32_t rec;
};

struct ks_asn_builder {
    struct ks_diag diag;
    bool have_diag;
    uint32_t reported;
    struct rng_vec r4, r6;
    uint32_t *recs; /* (asn, pool offset) pairs */
    size_t nrec, rec_cap;
    char *pool;
    size_t pool_len, pool_cap;
    uint32_t *slots; /* open addressing over record ids + 1 (0 = empty) */
    size_t nslots;
    char **sources;
    size_t nsources;
    uint32_t seq;
    struct ks_geo_build_stats st;
};

#define RANGES_MAX (1u << 31)
#define POOL_MAX (1u << 31)

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return KS_OK;
    size_t c = *cap ? *cap : 1024;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem)
            return KS_ENOMEM;
        c *= 2;
    }
    void *q = realloc(*p, c * elem);
    if (!q)
        return KS_ENOMEM;
    *p = q;
    *cap = c;
    return KS_OK;
}

int ks_asn_builder_new(const struct ks_diag *diag, struct ks_asn_builder **bp)
{
    struct ks_asn_builder *b = calloc(1, sizeof *b);
    *bp = NULL;
    if (!b)
        return KS_ENOMEM;
    if (diag) {
        b->diag = *diag;
        b->have_diag = true;
    }
    b->nslots = 1u << 16;
    b->slots = calloc(b->nslots, sizeof *b->slots);
    b->pool = malloc(1024);
    b->recs = malloc(2 * 1024 * sizeof *b->recs);
    if (!b->slots || !b->pool || !b->recs) {
        ks_asn_builder_free(b);
        return KS_ENOMEM;
    }
    b->pool_cap = 1024;
    b->rec_cap = 1024;
    b->pool[0] = '\0'; /* record 0: AS 0, "" */
    b->pool_len = 1;
    b->recs[0] = 0;
    b->recs[1] = 0;
    b->nrec = 1;
    *bp = b;
    return KS_OK;
}

void ks_asn_builder_free(struct ks_asn_builder *b)
{
    if (!b)
        return;
    free(b->r4.v);
    free(b->r6.v);
    free(b->recs);
    free(b->pool);
    free(b->slots);
    for (size_t i = 0; i < b->nsources; i++)
        free(b->sources[i]);
    free(b->sources);
    free(b);
}

void ks_asn_builder_stats(const struct ks_asn_builder *b, struct ks_geo_build_stats *st)
{
    *st = b->st;
}

static size_t rec_slot(const struct ks_asn_builder *b, uint32_t asn, const char *org, size_t len,
                       uint64_t h)
{
    size_t mask = b->nslots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        uint32_t id = b->slots[i];
        if (id == 0)
            return i;
        const uint32_t *r = b->recs + 2 * (size_t)(id - 1);
        const char *o = b->pool + r[1];
        if (r[0] == asn && strncmp(o, org, len) == 0 && o[len] == '\0')
            return i;
    }
}

static int rehash(struct ks_asn_builder *b)
{
    size_t n = b->nslots * 2;
    uint32_t *s = calloc(n, sizeof *s);
    if (!s)
        return KS_ENOMEM;
    uint32_t *old = b->slots;
    size_t oldn = b->nslots;
    b->slots = s;
    b->nslots = n;
    for (size_t i = 0; i < oldn; i++) {
        if (!old[i])
            continue;
        const uint32_t *r = b->recs + 2 * (size_t)(old[i] - 1);
        const char *o = b->pool + r[1];
        size_t len = strlen(o);
        uint64_t h = ks_hash_bytes(o, len, r[0]);
        b->slots[rec_slot(b, r[0], o, len, h)] = old[i];
    }
    free(old);
    return KS_OK;
}

/* The id of the record (asn, org), added if new. */
static int intern(struct ks_asn_builder *b, uint32_t asn, const char *org, size_t len, uint32_t *id)
{
    uint64_t h = ks_hash_bytes(org, len, asn);
    size_t i = rec_slot(b, asn, org, len, h);
    if (b->slots[i]) {
        *id = b->slots[i] - 1;
        return KS_OK;
    }
    if (b->nrec >= RANGES_MAX || b->pool_len + len + 1 > POOL_MAX)
        return KS_ELIMIT;
    int err;
    void *p = b->pool;
    if ((err = grow(&p, &b->pool_cap, b->pool_len + len + 1, 1)) != KS_OK)
        return err;
    b->pool = p;
    p = b->recs;
    size_t cap2 = b->rec_cap;
    if ((err = grow(&p, &cap2, b->nrec + 1, 2 * sizeof *b->recs)) != KS_OK)
        return err;
    b->recs = p;
    b->rec_cap = cap2;
    uint32_t off = (uint32_t)b->pool_len;
    memcpy(b->pool + off, org, len);
    b->pool[off + len] = '\0';
    b->pool_len += len + 1;
    b->recs[2 * b->nrec] = asn;
    b->recs[2 * b->nrec + 1] = off;
    *id = (uint32_t)b->nrec;
    b->slots[i] = (uint32_t)b->nrec + 1;
    b->nrec++;
    if (b->nrec * 2 > b->nslots)
        return rehash(b);
    return KS_OK;
}

int ks_asn_builder_feed(struct ks_asn_builder *b, const uint8_t *data, size_t len,
                        const char *source)
{
    int err;
    void *p = b->sources;
    size_t cap = b->nsources;
    if ((err = grow(&p, &cap, b->nsources + 1, sizeof *b->sources)) != KS_OK)
        return err;
    b->sources = p;
    char *src = strdup(source ? source : "-");
    if (!src)
        return KS_ENOMEM;
    uint32_t src_id = (uint32_t)b->nsources;
    b->sources[b->nsources++] = src;

    struct ks_cur c = ks_cur_make(data, len);
    struct ks_asn_range r;
    uint32_t lineno = 0;
    const uint8_t *line;
    size_t n;
    unsigned got;
    while ((got = ks_cur_line(&c, KS_ASN_LINE_MAX, &line, &n)) != 0) {
        lineno++;
        b->st.lines++;
        if (n == 0)
            continue;
        struct ks_loc loc = {.source = src, .line = lineno};
        const char *why = NULL;
        int e = (got & KS_CUR_LINE_LONG) ? KS_ELIMIT : ks_asn_parse_line(line, n, &r, &why);
        if (e != KS_OK) {
            b->st.bad++;
            if (b->have_diag)
                ks_diag_report(&b->diag, &b->reported, "geo", &loc, e, "%s",
                               why ? why : "line longer than 1024 bytes");
            continue;
        }
        uint32_t id;
        if ((err = intern(b, r.asn, r.org, r.org_len, &id)) != KS_OK)
            return err;
        struct rng_vec *v = r.first.family == 4 ? &b->r4 : &b->r6;
        if (v->n >= RANGES_MAX)
            return KS_ELIMIT;
        p = v->v;
        if ((err = grow(&p, &v->cap, v->n + 1, sizeof *v->v)) != KS_OK)
            return err;
        v->v = p;
        v->v[v->n++] =
            (struct rng){u128_of(&r.first), u128_of(&r.last), id, lineno, src_id, b->seq++};
        if (r.first.family == 4)
            b->st.ranges4++;
        else
            b->st.ranges6++;
    }
    return KS_OK;
}

static int rng_cmp(const void *x, const void *y)
{
    const struct rng *a = x, *b = y;
    int c = u128_cmp(a->first, b->first);
    if (c)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void push(struct bnd *out, size_t *nb, struct u128 start, uint32_t rec)
{
    size_t n = *nb;
    if (n > 0 && u128_cmp(out[n - 1].start, start) == 0) {
        out[n - 1].rec = rec;
        if (n > 1 && out[n - 2].rec == rec)
            *nb = n - 1;
        return;
    }
    if (n > 0 && out[n - 1].rec == rec)
        return;
    out[n].start = start;
    out[n].rec = rec;
    *nb = n + 1;
}

/* Turns sorted, possibly overlapping ranges into gapless boundaries: where ranges overlap, the
 * one that starts first (then the one read first) keeps the addresses. */
static int sweep(struct ks_asn_builder *b, struct rng_vec *v, struct u128 max, struct bnd **outp,
                 size_t *nout)
{
    if (v->n)
        qsort(v->v, v->n, sizeof *v->v, rng_cmp);
    struct bnd *out = malloc((2 * v->n + 1) * sizeof *out);
    if (!out)
        return KS_ENOMEM;
    size_t nb = 0;
    struct u128 zero = {0, 0}, end = {0, 0};
    bool covered = false;
    push(out, &nb, zero, 0);
    for (size_t i = 0; i < v->n; i++) {
        const struct rng *r = &v->v[i];
        struct u128 s = r->first;
        if (covered && u128_cmp(s, end) <= 0) {
            b->st.overlaps++;
            if (b->have_diag) {
                struct ks_loc loc = {.source = b->sources[r->src], .line = r->line};
                ks_diag_report(&b->diag, &b->reported, "geo", &loc, KS_EFORMAT,
                               "range overlaps an earlier one; the earlier one is kept");
            }
            if (u128_cmp(r->last, end) <= 0)
                continue;
            s = u128_inc(end);
        } else if (covered) {
            struct u128 gap = u128_inc(end);
            if (u128_cmp(gap, s) < 0)
                push(out, &nb, gap, 0);
        }
        push(out, &nb, s, r->rec);
        end = r->last;
        covered = true;
    }
    if (covered && u128_cmp(end, max) < 0)
        push(out, &nb, u128_inc(end), 0);
    *outp = out;
    *nout = nb;
    return KS_OK;
}

/* Offsets of the sections for given counts; false if the total does not fit in size_t. */
struct layout {
    uint64_t start4, rec4, start6, rec6, recs, pool, total;
};

static uint64_t align8(uint64_t x)
{
    return (x + 7) & ~(uint64_t)7;
}

static bool layout_of(uint32_t n4, uint32_t n6, uint32_t nrec, uint32_t pool_size, struct layout *l)
{
    /* Counts are below 2^32, so no sum below can overflow 64 bits. */
    l->start4 = KS_ASN_HEADER_SIZE;
    l->rec4 = l->start4 + 4ull * n4;
    l->start6 = align8(l->rec4 + 4ull * n4);
    l->rec6 = l->start6 + 16ull * n6;
    l->recs = align8(l->rec6 + 4ull * n6);
    l->pool = l->recs + 8ull * nrec;
    l->total = l->pool + pool_size;
    return l->total <= SIZE_MAX;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int ks_asn_builder_finish(struct ks_asn_builder *b, const char *version, int64_t build_time,
                          uint8_t **outp, size_t *out_len)
{
    struct bnd *b4 = NULL, *b6 = NULL;
    uint8_t *buf = NULL;
    size_t n4 = 0, n6 = 0;
    int err;
    const struct u128 max4 = {0, UINT32_MAX}, max6 = {UINT64_MAX, UINT64_MAX};

    *outp = NULL;
    *out_len = 0;
    if ((err = sweep(b, &b->r4, max4, &b4, &n4)) != KS_OK)
        goto out;
    if ((err = sweep(b, &b->r6, max6, &b6, &n6)) != KS_OK)
        goto out;
    struct layout l;
    if (!layout_of((uint32_t)n4, (uint32_t)n6, (uint32_t)b->nrec, (uint32_t)b->pool_len, &l)) {
        err = KS_ELIMIT;
        goto out;
    }
    buf = calloc(1, (size_t)l.total);
    if (!buf) {
        err = KS_ENOMEM;
        goto out;
    }
    memcpy(buf, KS_ASN_MAGIC, 8);
    put32(buf + 8, KS_ASN_HEADER_SIZE);
    put32(buf + 12, 0);
    put32(buf + 16, (uint32_t)n4);
    put32(buf + 20, (uint32_t)n6);
    put32(buf + 24, (uint32_t)b->nrec);
    put32(buf + 28, (uint32_t)b->pool_len);
    put64(buf + 32, (uint64_t)build_time);
    if (version) {
        size_t vl = strlen(version);
        memcpy(buf + 40, version, vl < KS_ASN_VERSION_MAX - 1 ? vl : KS_ASN_VERSION_MAX - 1);
    }
    for (size_t i = 0; i < n4; i++) {
        put32(buf + l.start4 + 4 * i, (uint32_t)b4[i].start.lo);
        put32(buf + l.rec4 + 4 * i, b4[i].rec);
    }
    for (size_t i = 0; i < n6; i++) {
        put64(buf + l.start6 + 16 * i, b6[i].start.hi);
        put64(buf + l.start6 + 16 * i + 8, b6[i].start.lo);
        put32(buf + l.rec6 + 4 * i, b6[i].rec);
    }
    for (size_t i = 0; i < 2 * b->nrec; i++)
        put32(buf + l.recs + 4 * i, b->recs[i]);
    if (b->pool_len)
        memcpy(buf + l.pool, b->pool, b->pool_len);
    b->st.entries = (uint32_t)(n4 + n6);
    b->st.records = (uint32_t)b->nrec;
    *outp = buf;
    *out_len = (size_t)l.total;
    buf = NULL;
    err = KS_OK;
out:
    free(b4);
    free(b6);
    free(buf);
    return err;
}

/* ---- reader ------------------------------------------------------------------------------ */

struct ks_asn_table {
    const uint32_t *start4, *rec4, *rec6, *recs;
    const uint64_t *start6;
    const char *pool;
    uint32_t n4, n6, nrec, pool_size;
    int64_t build_time;
    char version[KS_ASN_VERSION_MAX];
    uint32_t idx4[65537]; /* idx4[k]: first boundary with start >= k << 16 */
    uint32_t idx6[65537]; /* the same over the top 16 bits of IPv6 */
};

static int corrupt(const char **why, const char *msg)
{
    *why = msg;
    return KS_ECORRUPT;
}

int ks_asn_table_open(const void *buf, size_t len, struct ks_asn_table **tp, const char **why)
{
    *tp = NULL;
    *why = "";
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    (void)buf;
    (void)len;
    *why = "the AS table is read on little-endian hosts only";
    return KS_EUNSUPP;
#else
    if (((uintptr_t)buf & 7) != 0) {
        *why = "buffer not 8-aligned";
        return KS_EINVAL;
    }
    struct ks_cur c = ks_cur_make(buf, len);
    uint8_t magic[8];
    ks_cur_bytes(&c, magic, 8);
    uint32_t hsize = ks_cur_u32le(&c), flags = ks_cur_u32le(&c);
    uint32_t n4 = ks_cur_u32le(&c), n6 = ks_cur_u32le(&c);
    uint32_t nrec = ks_cur_u32le(&c), pool_size = ks_cur_u32le(&c);
    int64_t built = (int64_t)ks_cur_u64le(&c);
    char version[KS_ASN_VERSION_MAX];
    ks_cur_bytes(&c, version, sizeof version);
    if (ks_cur_err(&c))
        return corrupt(why, "shorter than its header");
    if (memcmp(magic, KS_ASN_MAGIC, 8) != 0)
        return corrupt(why, "not a kansoku AS table (bad magic)");
    if (hsize != KS_ASN_HEADER_SIZE || flags != 0) {
        *why = "unknown table version";
        return KS_EUNSUPP;
    }
    if (version[KS_ASN_VERSION_MAX - 1] != '\0')
        return corrupt(why, "version string not terminated");
    if (n4 == 0 || n6 == 0 || nrec == 0 || pool_size == 0)
        return corrupt(why, "empty section");
    struct layout l;
    if (!layout_of(n4, n6, nrec, pool_size, &l) || l.total != len)
        return corrupt(why, "size does not match the header's counts");

    const uint8_t *base = buf;
    const uint32_t *start4 = (const uint32_t *)(const void *)(base + l.start4);
    const uint32_t *rec4 = (const uint32_t *)(const void *)(base + l.rec4);
    const uint64_t *start6 = (const uint64_t *)(const void *)(base + l.start6);
    const uint32_t *rec6 = (const uint32_t *)(const void *)(base + l.rec6);
    const uint32_t *recs = (const uint32_t *)(const void *)(base + l.recs);
    const char *pool = (const char *)(base + l.pool);

    if (start4[0] != 0 || start6[0] != 0 || start6[1] != 0)
        return corrupt(why, "first boundary is not the zero address");
    for (uint32_t i = 0; i < n4; i++) {
        if (i > 0 && start4[i] <= start4[i - 1])
            return corrupt(why, "IPv4 boundaries out of order");
        if (rec4[i] >= nrec)
            return corrupt(why, "IPv4 boundary points past the records");
    }
    for (uint32_t i = 0; i < n6; i++) {
        if (i > 0) {
            uint64_t ph = start6[2 * i - 2], pl = start6[2 * i - 1];
            uint64_t h = start6[2 * i], lo = start6[2 * i + 1];
            if (h < ph || (h == ph && lo <= pl))
                return corrupt(why, "IPv6 boundaries out of order");
        }
        if (rec6[i] >= nrec)
            return corrupt(why, "IPv6 boundary points past the records");
    }
    if (recs[0] != 0 || recs[1] != 0)
        return corrupt(why, "record 0 is not the unknown record");
    for (uint32_t i = 0; i < nrec; i++)
        if (recs[2 * i + 1] >= pool_size)
            return corrupt(why, "record name points past the names");
    if (pool[0] != '\0' || pool[pool_size - 1] != '\0')
        return corrupt(why, "names not terminated");
    /* Every name is UTF-8 text: the pool, names and their NULs, in one pass (a sequence that
     * runs over a NUL is refused, as a name's end would cut it). */
    if (!text_ok_in((const uint8_t *)pool, pool_size, true))
        return corrupt(why, "name is not UTF-8 text");

    struct ks_asn_table *t = malloc(sizeof *t);
    if (!t)
        return KS_ENOMEM;
    t->start4 = start4;
    t->rec4 = rec4;
    t->start6 = start6;
    t->rec6 = rec6;
    t->recs = recs;
    t->pool = pool;
    t->n4 = n4;
    t->n6 = n6;
    t->nrec = nrec;
    t->pool_size = pool_size;
    t->build_time = built;
    memcpy(t->version, version, sizeof version);
    uint32_t i = 0;
    for (uint32_t k = 0; k < 65536; k++) {
        while (i < n4 && start4[i] < (k << 16))
            i++;
        t->idx4[k] = i;
    }
    t->idx4[65536] = n4;
    i = 0;
    for (uint64_t k = 0; k < 65536; k++) {
        while (i < n6 && start6[2 * i] < (k << 48))
            i++;
        t->idx6[k] = i;
    }
    t->idx6[65536] = n6;
    *tp = t;
    return KS_OK;
#endif
}

void ks_asn_table_free(struct ks_asn_table *t)
{
    free(t);
}

/* The boundary of ip: the last start4 <= ip, searched within ip's /16 (idx4). start4[0] is
 * 0 < (k << 16) for k > 0, so idx4[k] >= 1 there, and for k == 0 the search passes start4[0]:
 * the result is >= 0. */
static inline uint32_t v4_boundary(const struct ks_asn_table *t, uint32_t ip)
{
    uint32_t lo = t->idx4[ip >> 16], n = t->idx4[(ip >> 16) + 1] - lo;
    /* how many of start4[lo .. lo + n) are <= ip, without a branch on the data (conditional
     * moves: ip is random, and a mispredicted branch cost more than the loads); the steps
     * depend on n only */
    const uint32_t *base = t->start4 + lo;
    while (n > 1) {
        uint32_t half = n / 2;
        base = base[half] <= ip ? base + half : base;
        n -= half;
    }
    uint32_t below = (uint32_t)(base - (t->start4 + lo)) + (n == 1 && base[0] <= ip);
    return lo + below - 1;
}

void ks_asn_table_lookup4_range(const struct ks_asn_table *t, uint32_t ip, uint32_t *asn,
                                const char **org, uint32_t *lo, uint32_t *hi)
{
    uint32_t b = v4_boundary(t, ip), rec = t->rec4[b]; /* start4[0] is 0: b is a boundary */
    *asn = t->recs[2 * rec];
    *org = t->pool + t->recs[2 * rec + 1];
    *lo = t->start4[b];
    *hi = b + 1 < t->n4 ? t->start4[b + 1] - 1 : UINT32_MAX;
}

void ks_asn_table_prefetch4(const struct ks_asn_table *t, uint32_t ip)
{
    __builtin_prefetch(&t->idx4[ip >> 16]);
}

void ks_asn_table_lookup4_many(const struct ks_asn_table *t, const uint32_t *ip, size_t n,
                               uint32_t *asn, const char **org)
{
    uint32_t b[KS_ASN_LANES];
    for (size_t base = 0; base < n; base += KS_ASN_LANES) {
        size_t m = n - base < KS_ASN_LANES ? n - base : KS_ASN_LANES;
        const uint32_t *x = ip + base;
        /* each stage's loads of all lanes in flight together: the /16's boundaries, the
         * boundary's record, the record */
        for (size_t l = 0; l < m; l++)
            __builtin_prefetch(&t->idx4[x[l] >> 16]);
        for (size_t l = 0; l < m; l++)
            __builtin_prefetch(&t->start4[t->idx4[x[l] >> 16]]);
        for (size_t l = 0; l < m; l++) {
            b[l] = v4_boundary(t, x[l]);
            __builtin_prefetch(&t->rec4[b[l]]);
        }
        for (size_t l = 0; l < m; l++) {
            b[l] = t->rec4[b[l]];
            __builtin_prefetch(&t->recs[2 * b[l]]);
        }
        for (size_t l = 0; l < m; l++) {
            asn[base + l] = t->recs[2 * b[l]];
            org[base + l] = t->pool + t->recs[2 * b[l] + 1];
        }
    }
}

void ks_asn_table_lookup(const struct ks_asn_table *t, const struct ks_addr *a, uint32_t *asn,
                         const char **org)
{
    uint32_t rec = 0;
    if (a->family == 4) {
        rec = t->rec4[v4_boundary(t, ks_addr_v4(a))];
    } else if (a->family == 6) {
        struct u128 v = u128_of(a);
        uint32_t k = (uint32_t)(v.hi >> 48);
        uint32_t lo = t->idx6[k], hi = t->idx6[k + 1];
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            uint64_t h = t->start6[2 * mid], l = t->start6[2 * mid + 1];
            if (h < v.hi || (h == v.hi && l <= v.lo))
                lo = mid + 1;
            else
                hi = mid;
        }
        rec = t->rec6[lo - 1];
    }
    *asn = t->recs[2 * rec];
    *org = t->pool + t->recs[2 * rec + 1];
}

void ks_asn_table_info(const struct ks_asn_table *t, struct ks_asn_table_info *info)
{
    info->n4 = t->n4;
    info->n6 = t->n6;
    info->nrec = t->nrec;
    info->build_time = t->build_time;
    memcpy(info->version, t->version, sizeof info->version);
}

/* ---- building from files ----------------------------------------------------------------- */

static int read_all(const char *path, uint8_t **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint8_t *buf = NULL;
    int err = KS_EIO;
    *out = NULL;
    *len = 0;
    if (fd < 0)
        return KS_EIO;
    struct stat st;
    if (fstat(fd, &st) != 0)
        goto out;
    if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)1 << 31) {
        errno = EFBIG;
        goto out;
    }
    size_t n = (size_t)st.st_size, got = 0;
    buf = malloc(n ? n : 1);
    if (!buf) {
        err = KS_ENOMEM;
        goto out;
    }
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            goto out;
        got += (size_t)k;
    }
    *out = buf;
    *len = n;
    buf = NULL;
    err = KS_OK;
out:
    free(buf);
    int e = errno;
    close(fd);
    errno = e;
    return err;
}

static int write_atomic(const char *path, const uint8_t *data, size_t len)
{
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 8);
    int fd = -1, err = KS_EIO;
    if (!tmp)
        return KS_ENOMEM;
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".XXXXXX", 8);
    fd = mkstemp(tmp);
    if (fd < 0)
        goto out;
    size_t done = 0;
    while (done < len) {
        ssize_t k = write(fd, data + done, len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (errno == ENOSPC)
                err = KS_ENOSPC;
            goto out;
        }
        done += (size_t)k;
    }
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0)
        goto out;
    if (close(fd) != 0) {
        fd = -1;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto out;
    err = KS_OK;
out:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (err != KS_OK)
        unlink(tmp);
    free(tmp);
    errno = e;
    return err;
}

int ks_geo_build_asn(const char *const *csv, size_t n, const char *out_path, const char *version,
                     const struct ks_diag *diag, struct ks_geo_build_stats *st)
{
    struct ks_asn_builder *b = NULL;
    uint8_t *data = NULL, *table = NULL;
    size_t len = 0, tlen = 0;
    int err;

    if (st)
        memset(st, 0, sizeof *st);
    if (!out_path || (n > 0 && !csv))
        return KS_EINVAL;
    if ((err = ks_asn_builder_new(diag, &b)) != KS_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if ((err = read_all(csv[i], &data, &len)) != KS_OK)
            goto out;
        err = ks_asn_builder_feed(b, data, len, csv[i]);
        free(data);
        data = NULL;
        if (err != KS_OK)
            goto out;
    }
    if ((err = ks_asn_builder_finish(b, version, (int64_t)time(NULL), &table, &tlen)) != KS_OK)
        goto out;
    err = write_atomic(out_path, table, tlen);
out:
    if (st && b)
        ks_asn_builder_stats(b, st);
    free(data);
    free(table);
    ks_asn_builder_free(b);
    return err;
}
