/* The DNS analyzer: per-querier randomness audit and detection of spoofed responses
 * (include/kansoku/ks_dns.h says what; this file says how). Three bounded tables: queriers
 * (by address), outstanding queries (by client, server, port, TXID, transport) and zones with
 * unmatched responses (by the hash of the zone's lower-case wire name). */
#include "core/hash.h"
#include "kansoku/ks_dns.h"
#include "rand_int.h"
#include "kansoku/ks_table.h"

#include <libpsl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define MODULE "dns"
#define BM_BYTES 8192u /* 65536 bits: one per port or TXID value */
#define SMALL 8        /* values kept before a querier gets its bitmaps */
#define MAX_SERVERS 16
#define ZONE_SRC 16
#define ZONE_RES KS_DNS_ALERT_TOP
#define ZONE_FORGED KS_DNS_ALERT_FORGED
#define ZONE_MFP 8
#define MAX_TARGETS 16
#define HOT_PENDING 1024 /* 128 KiB of slots: stays in the cache */
#define ZONE_EXACT 64
#define EST_SEED 0x6b616e736f6b7521ull
#define ZONE_BM 64 /* 4096 bits */

struct querier {
    int64_t first_us, last_us;
    uint64_t queries, upstream, recursive, tcp;
    uint64_t letters, upper, mixed;
    struct ks_dns_rand_acc ports, txids; /* ones[] lags: see lanes */
    /* Bit counts not yet in ports.ones / txids.ones: one byte lane per bit of the value (low
     * byte's bits in [0], high byte's in [1]), at most 255 adds before a flush. */
    uint64_t port_lanes[2], txid_lanes[2];
    uint32_t port_nlanes, txid_nlanes;
    uint32_t slot; /* bitmap pair index + 1; 0 = not yet (the values are in small_*) */
    uint32_t ports_distinct, txids_distinct;
    uint32_t nservers;
    uint32_t servers[MAX_SERVERS];
    uint16_t small_ports[SMALL], small_txids[SMALL];
    uint8_t nsmall_ports, nsmall_txids;
};

/* (client, server, client port, TXID, transport) in 16 bytes: IPv4 addresses as they are;
 * an IPv6 pair as a seeded 64-bit hash (flagged in the top bit of b), which no one can aim
 * at without the seed. Short keys hash and compare faster on the hot path. */
struct pend_key {
    uint64_t a, b;
};

struct pend {
    int64_t ts_us;
    uint64_t name_head, name_tail; /* name_key() */
    uint32_t name_len;
};

struct zaddr {
    struct ks_addr a;
    uint8_t pad[7];
    uint64_t n;
};

struct zforged {
    uint64_t fp, count;
    uint16_t type;
    uint8_t section, vlen;
    bool for_qname;
    struct ks_dns_name owner;
    uint8_t value[KS_DNS_NAME_MAX];
};

struct zone {
    struct ks_dns_name name; /* lower case */
    bool active, success;
    int64_t first_us, last_us, cur_sec;
    uint64_t responses, matched;
    uint32_t cur_count, peak;
    uint32_t nsrc, nres, nforged, nmfp;
    uint32_t nnames, ntxids; /* exact up to ZONE_EXACT, then linear counting */
    uint64_t names_exact[ZONE_EXACT];
    uint64_t txids_exact[ZONE_EXACT];
    uint64_t names_bm[ZONE_BM], txids_bm[ZONE_BM];
    struct zaddr src[ZONE_SRC], res[ZONE_RES];
    struct zforged forged[ZONE_FORGED];
    uint64_t mfp[ZONE_MFP];
};

struct ks_dns {
    struct ks_dns_config cfg;
    struct ks_addr *resolvers;
    struct ks_table *queriers, *zones;
    /* Outstanding queries: a small table that stays in the cache holds the recent ones (most
     * are answered within milliseconds); what it evicts moves to the large one. */
    struct ks_table *hot, *pending;
    uint8_t *bitmaps; /* max_queriers pairs of BM_BYTES */
    uint32_t *free_slots;
    uint32_t nfree;
    const psl_ctx_t *psl;
    /* The resolvers that zones under attack target: matched responses to others skip the
     * zone lookup. Rebuilt at each zone sweep; all_targets when it overflowed. */
    struct ks_addr targets[MAX_TARGETS];
    uint32_t ntargets;
    bool all_targets;
    uint32_t zone_labels; /* bit n: a zone of n labels (31: 31 or more) is in the table */
    /* Hosts seen sending queries, for the unknown-client rule: one bit per address hash, never
     * evicted, so a flood of spoofed queriers cannot make a resolver "unknown" (it can only
     * fill the bits, which makes the rule let more through). */
    uint64_t *seen;
    uint64_t seed;
    int64_t now_us, next_zone_sweep_us, next_pend_sweep_us;
    const struct ks_pkt *pkt; /* being fed (TCP messages are handled in a callback) */
    uint32_t diag_reported;
    struct ks_dns_stats st;
    struct ks_dns_msg msg;  /* the message being handled */
    struct ks_dns_msg full; /* the same, every section (unmatched responses) */
    struct ks_dns_alert alert;
};

void ks_dns_config_default(struct ks_dns_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->audit = true;
    cfg->poisoning = true;
    cfg->max_queriers = 1024;
    cfg->min_queries = 10;
    cfg->max_pending = 262144;
    cfg->query_timeout_s = 10;
    cfg->max_zones = 1024;
    cfg->min_responses = 10;
    cfg->min_peak_pps = 5;
    cfg->min_names = 5;
    cfg->end_after_s = 30;
}

/* --- helpers ------------------------------------------------------------------------------- */

static inline uint8_t lc(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c | 0x20u) : c;
}

#define BYTES(x) (0x0101010101010101ull * (x))

/* The bytes of x that are ASCII letters in [lo, hi], as 0x80 in their byte (SWAR: no carry
 * crosses a byte since only 7-bit values are added to). */
static inline uint64_t swar_range(uint64_t x, uint8_t lo, uint8_t hi)
{
    uint64_t t = x & BYTES(0x7f);
    uint64_t ge = t + BYTES(0x80u - lo), gt = t + BYTES(0x7fu - hi);
    return ge & ~gt & ~x & BYTES(0x80);
}

/* Lower-cases the ASCII letters of 8 bytes at once. */
static inline uint64_t lc8(uint64_t x)
{
    return x | swar_range(x, 'A', 'Z') >> 2;
}

/* n < 8 bytes, likewise, zero-filled above. */
static inline uint64_t load_short(const uint8_t *b, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

/* Length bytes are 0..63, never letters, so lower-casing the whole wire form is safe. */
static void name_lower(const struct ks_dns_name *n, struct ks_dns_name *out)
{
    unsigned i = 0;
    out->len = n->len;
    for (; i + 8 <= n->len; i += 8) { /* lc8 works per byte: any byte order */
        uint64_t x;
        memcpy(&x, n->wire + i, sizeof x);
        x = lc8(x);
        memcpy(out->wire + i, &x, sizeof x);
    }
    for (; i < n->len; i++)
        out->wire[i] = lc(n->wire[i]);
}

/* What a response's name must share with its query's, without hashing on the hot path: the
 * length and the first and last 8 bytes of the wire form, lower case. Weaker than the whole
 * name, which does not matter: a response that already carries the right port and TXID is
 * no blind guess (the length is compared too). The two words only ever meet each other. */
static inline void name_key(const struct ks_dns_name *n, uint64_t *head, uint64_t *tail)
{
    if (n->len >= 8) {
        *head = lc8(ks_load64le(n->wire));
        *tail = lc8(ks_load64le(n->wire + n->len - 8));
    } else {
        *head = *tail = lc8(load_short(n->wire, n->len));
    }
}

/* Letters of 8 bytes, as 1 in their byte lanes, into *all; the upper-case ones into *upper.
 * Setting bit 5 folds A-Z onto a-z and makes no other byte a letter; upper-case letters are
 * those whose bit 5 was clear. */
static inline void letters8(uint64_t x, uint64_t *all, uint64_t *upper)
{
    uint64_t l = swar_range(x | BYTES(0x20), 'a', 'z');
    *all += l >> 7;
    *upper += (l & ~(x << 2)) >> 7;
}

/* Upper- and lower-case ASCII letters in w[0..len), len <= 255: the byte lanes then never
 * overflow, and neither do the partial sums of the multiplication that adds them up. */
static inline void count_letters(const uint8_t *w, unsigned len, unsigned *up, unsigned *low)
{
    uint64_t all = 0, upper = 0;
    unsigned i = 0;
    for (; i + 8 <= len; i += 8)
        letters8(ks_load64le(w + i), &all, &upper);
    if (i < len) /* the last 8 bytes, without those already counted */
        letters8(len >= 8 ? ks_load64le(w + len - 8) >> (8 * (8 - (len - i))) : load_short(w, len),
                 &all, &upper);
    unsigned a = (unsigned)(all * BYTES(1) >> 56), u = (unsigned)(upper * BYTES(1) >> 56);
    *up = u;
    *low = a - u;
}

static uint64_t name_hash_lc(const struct ks_dns_name *n, uint64_t seed)
{
    struct ks_dns_name l;
    name_lower(n, &l);
    return ks_hash_bytes(l.wire, l.len, seed);
}

/* The last k labels of n (lower case) into out. */
static void name_suffix(const struct ks_dns_name *n, unsigned k, struct ks_dns_name *out)
{
    unsigned labels = 0, i = 0;
    while (i < n->len && n->wire[i]) {
        labels++;
        i += n->wire[i] + 1u;
    }
    unsigned skip = labels > k ? labels - k : 0;
    i = 0;
    for (unsigned s = 0; s < skip; s++)
        i += n->wire[i] + 1u;
    out->len = (uint8_t)(n->len - i);
    for (unsigned j = 0; j < out->len; j++)
        out->wire[j] = lc(n->wire[i + j]);
}

static void report(struct ks_dns *d, int err, const char *what)
{
    d->st.malformed++;
    if (!d->cfg.diag)
        return;
    struct ks_loc loc = {.packet = d->pkt ? d->pkt->number : 0,
                         .offset = d->pkt ? d->pkt->offset : 0};
    ks_diag_report(d->cfg.diag, &d->diag_reported, MODULE, &loc, err, "%s", what);
}

static uint32_t ts_s(int64_t us)
{
    return (uint32_t)(uint64_t)(us / 1000000);
}

/* --- queriers ------------------------------------------------------------------------------ */

static void querier_evicted(void *user, const void *key, void *value)
{
    struct ks_dns *d = user;
    struct querier *q = value;
    (void)key;
    if (q->slot)
        d->free_slots[d->nfree++] = q->slot - 1;
    d->st.queriers_evicted++;
}

static inline bool bm_set(uint8_t *bm, uint16_t v)
{
    uint8_t bit = (uint8_t)(1u << (v & 7u));
    bool was = bm[v >> 3] & bit;
    bm[v >> 3] |= bit;
    return !was;
}

static uint32_t small_distinct(const uint16_t *v, unsigned n)
{
    uint32_t k = 0;
    for (unsigned i = 0; i < n; i++) {
        bool seen = false;
        for (unsigned j = 0; j < i && !seen; j++)
            seen = v[j] == v[i];
        k += !seen;
    }
    return k;
}

static void querier_values(struct ks_dns *d, struct querier *q, bool udp, uint16_t port,
                           uint16_t txid)
{
    if (!q->slot && q->queries > SMALL && d->nfree) {
        uint32_t s = d->free_slots[--d->nfree];
        q->slot = s + 1;
        uint8_t *bm = d->bitmaps + (size_t)s * 2 * BM_BYTES;
        memset(bm, 0, 2 * BM_BYTES);
        q->ports_distinct = q->txids_distinct = 0;
        for (unsigned i = 0; i < q->nsmall_ports; i++)
            q->ports_distinct += bm_set(bm, q->small_ports[i]);
        for (unsigned i = 0; i < q->nsmall_txids; i++)
            q->txids_distinct += bm_set(bm + BM_BYTES, q->small_txids[i]);
    }
    if (q->slot) {
        uint8_t *bm = d->bitmaps + (size_t)(q->slot - 1) * 2 * BM_BYTES;
        if (udp)
            q->ports_distinct += bm_set(bm, port);
        q->txids_distinct += bm_set(bm + BM_BYTES, txid);
        return;
    }
    if (udp && q->nsmall_ports < SMALL)
        q->small_ports[q->nsmall_ports++] = port;
    if (q->nsmall_txids < SMALL)
        q->small_txids[q->nsmall_txids++] = txid;
}

/* Byte i of spread[b] is bit i of b. */
#define SPREAD1(b)                                                                                 \
    ((uint64_t)((b)&1u) | (uint64_t)((b) >> 1 & 1u) << 8 | (uint64_t)((b) >> 2 & 1u) << 16 |       \
     (uint64_t)((b) >> 3 & 1u) << 24 | (uint64_t)((b) >> 4 & 1u) << 32 |                           \
     (uint64_t)((b) >> 5 & 1u) << 40 | (uint64_t)((b) >> 6 & 1u) << 48 |                           \
     (uint64_t)((b) >> 7 & 1u) << 56)
#define SPREAD4(b) SPREAD1(b), SPREAD1((b) + 1u), SPREAD1((b) + 2u), SPREAD1((b) + 3u)
#define SPREAD16(b) SPREAD4(b), SPREAD4((b) + 4u), SPREAD4((b) + 8u), SPREAD4((b) + 12u)
#define SPREAD64(b) SPREAD16(b), SPREAD16((b) + 16u), SPREAD16((b) + 32u), SPREAD16((b) + 48u)
static const uint64_t spread[256] = {SPREAD64(0u), SPREAD64(64u), SPREAD64(128u), SPREAD64(192u)};

/* Moves the lanes' bit counts into a->ones. */
static void lanes_flush(struct ks_dns_rand_acc *a, uint64_t lanes[2], uint32_t *n)
{
    for (unsigned b = 0; b < 8; b++) {
        a->ones[b] += (uint32_t)(lanes[0] >> (8 * b) & 0xffu);
        a->ones[b + 8] += (uint32_t)(lanes[1] >> (8 * b) & 0xffu);
    }
    lanes[0] = lanes[1] = 0;
    *n = 0;
}

/* ks_dns_rand_add, with the per-bit counts kept in byte lanes: two additions instead of
 * sixteen. */
static inline void rand_add(struct ks_dns_rand_acc *a, uint64_t lanes[2], uint32_t *n, uint16_t v)
{
    dns_rand_moments(a, v);
    lanes[0] += spread[v & 0xffu];
    lanes[1] += spread[v >> 8];
    if (++*n == 255)
        lanes_flush(a, lanes, n);
}

static void audit_query(struct ks_dns *d, const struct ks_pkt *p, const struct ks_dns_msg *m,
                        struct querier *q, bool is_new)
{
    if (is_new)
        q->first_us = p->ts_us;
    q->last_us = p->ts_us;
    q->queries++;
    if (m->flags & KS_DNS_RD)
        q->recursive++;
    else
        q->upstream++;
    bool udp = p->proto == 17;
    if (!udp)
        q->tcp++;
    else
        rand_add(&q->ports, q->port_lanes, &q->port_nlanes, p->sport);
    rand_add(&q->txids, q->txid_lanes, &q->txid_nlanes, m->id);
    querier_values(d, q, udp, p->sport, m->id);
    /* 0x20: count the letters of the name's labels (length bytes are never letters). */
    unsigned up, low;
    count_letters(m->qname.wire, m->qname.len, &up, &low);
    q->letters += up + low;
    q->upper += up;
    q->mixed += up && low;
    if (q->nservers < MAX_SERVERS) {
        uint32_t h = (uint32_t)ks_addr_hash(&p->dst, d->seed);
        bool seen = false;
        for (uint32_t i = 0; i < q->nservers && !seen; i++)
            seen = q->servers[i] == h;
        if (!seen)
            q->servers[q->nservers++] = h;
    }
}

/* --- zones --------------------------------------------------------------------------------- */

/* Distinct values: exact while there are at most ZONE_EXACT, then estimated by linear
 * counting over 4096 bits (Whang et al. 1990; about 2 % error up to 10 000 values). */
static uint32_t distinct_count(uint32_t exact, const uint64_t bm[ZONE_BM])
{
    if (exact <= ZONE_EXACT)
        return exact;
    const double m = 64.0 * ZONE_BM;
    unsigned zero = 0;
    for (int i = 0; i < ZONE_BM; i++)
        zero += 64u - (unsigned)__builtin_popcountll(bm[i]);
    if (zero == 0)
        zero = 1; /* saturated: the estimate's ceiling */
    double est = -m * log((double)zero / m);
    return est > ZONE_EXACT ? (uint32_t)llround(est) : ZONE_EXACT + 1;
}

static void distinct_add(uint64_t h, uint64_t *exact, uint32_t *n, uint64_t *bm)
{
    bm[h >> 6 & (ZONE_BM - 1)] |= 1ull << (h & 63u);
    if (*n > ZONE_EXACT)
        return;
    for (uint32_t i = 0; i < *n; i++)
        if (exact[i] == h)
            return;
    if (*n < ZONE_EXACT)
        exact[*n] = h;
    (*n)++; /* ZONE_EXACT + 1: beyond exact counting */
}

static int by_count(const void *x, const void *y)
{
    uint64_t a = ((const struct ks_dns_counted_addr *)x)->count;
    uint64_t b = ((const struct ks_dns_counted_addr *)y)->count;
    return a < b ? 1 : a > b ? -1 : 0;
}

static int forged_by_count(const void *x, const void *y)
{
    uint64_t a = ((const struct ks_dns_forged *)x)->count;
    uint64_t b = ((const struct ks_dns_forged *)y)->count;
    return a < b ? 1 : a > b ? -1 : 0;
}

static void top_addrs(const struct zaddr *z, uint32_t n, struct ks_dns_counted_addr *out,
                      uint32_t *nout)
{
    struct ks_dns_counted_addr all[ZONE_SRC];
    for (uint32_t i = 0; i < n; i++) {
        all[i].addr = z[i].a;
        all[i].count = z[i].n;
    }
    qsort(all, n, sizeof all[0], by_count);
    *nout = n < KS_DNS_ALERT_TOP ? n : KS_DNS_ALERT_TOP;
    memcpy(out, all, *nout * sizeof all[0]);
}

static void zone_emit(struct ks_dns *d, const struct zone *z, bool open)
{
    if (!z->active || z->responses < d->cfg.min_responses || z->peak < d->cfg.min_peak_pps)
        return;
    struct ks_dns_alert *a = &d->alert;
    memset(a, 0, sizeof *a);
    ks_dns_name_format(&z->name, a->zone, sizeof a->zone);
    a->start_us = z->first_us;
    a->end_us = z->last_us;
    a->responses = z->responses;
    a->peak_pps = z->peak;
    double dur = (double)(z->last_us - z->first_us) / 1e6;
    a->rate_pps = (double)z->responses / (dur < 1 ? 1 : dur);
    a->names = distinct_count(z->nnames, z->names_bm);
    a->txids = distinct_count(z->ntxids, z->txids_bm);
    a->kind = a->names >= d->cfg.min_names ? "kaminsky" : "spoofed_responses";
    top_addrs(z->src, z->nsrc, a->sources, &a->n_sources);
    a->sources_total = z->nsrc;
    top_addrs(z->res, z->nres, a->resolvers, &a->n_resolvers);
    for (uint32_t i = 0; i < z->nforged; i++) {
        const struct zforged *f = &z->forged[i];
        struct ks_dns_forged *o = &a->forged[i];
        o->type = f->type;
        o->section = f->section;
        o->count = f->count;
        if (f->for_qname)
            snprintf(o->name, sizeof o->name, "(query name)");
        else
            ks_dns_name_format(&f->owner, o->name, sizeof o->name);
        if (f->type == KS_DNS_TYPE_A || f->type == KS_DNS_TYPE_AAAA) {
            struct ks_addr ad;
            if (f->type == KS_DNS_TYPE_A)
                ks_addr_from_v4(&ad, (uint32_t)f->value[0] << 24 | (uint32_t)f->value[1] << 16 |
                                         (uint32_t)f->value[2] << 8 | f->value[3]);
            else
                ks_addr_from_v6(&ad, f->value);
            ks_addr_format(&ad, o->value, sizeof o->value);
        } else {
            struct ks_dns_name t = {.len = f->vlen};
            memcpy(t.wire, f->value, f->vlen);
            ks_dns_name_format(&t, o->value, sizeof o->value);
        }
    }
    a->n_forged = z->nforged;
    qsort(a->forged, a->n_forged, sizeof a->forged[0], forged_by_count);
    a->matched = z->matched;
    a->possible_success = z->success;
    a->open = open;
    d->st.alerts++;
    if (d->cfg.on_alert)
        d->cfg.on_alert(d->cfg.user, a);
}

static void zone_evicted(void *user, const void *key, void *value)
{
    struct ks_dns *d = user;
    (void)key;
    zone_emit(d, value, false);
    d->st.zones_evicted++;
}

/* What a record tries to plant, as one 64-bit fingerprint: type, owner and value; an owner
 * equal to the question (a random name, in a Kaminsky attempt) counts as "the query name", so
 * that the answers to all the random names are one entry. 0 for records that plant nothing
 * the detector follows. *for_qname tells which. */
static uint64_t record_fp(const struct ks_dns *d, const struct ks_dns_msg *m,
                          const struct ks_dns_rr *rr, bool *for_qname)
{
    uint8_t buf[3 + 2 * KS_DNS_NAME_MAX];
    size_t n = 0;
    if (rr->type != KS_DNS_TYPE_A && rr->type != KS_DNS_TYPE_AAAA && rr->type != KS_DNS_TYPE_NS &&
        rr->type != KS_DNS_TYPE_CNAME && rr->type != KS_DNS_TYPE_DNAME)
        return 0;
    buf[n++] = (uint8_t)(rr->type >> 8);
    buf[n++] = (uint8_t)rr->type;
    bool q = m->has_question && rr->type != KS_DNS_TYPE_NS && rr->name.len == m->qname.len;
    for (unsigned i = 0; q && i < rr->name.len; i++)
        q = lc(rr->name.wire[i]) == lc(m->qname.wire[i]);
    *for_qname = q;
    buf[n++] = q;
    if (!q)
        for (unsigned i = 0; i < rr->name.len; i++)
            buf[n++] = lc(rr->name.wire[i]);
    if (rr->type == KS_DNS_TYPE_A || rr->type == KS_DNS_TYPE_AAAA) {
        memcpy(buf + n, rr->rdata, rr->rdlen);
        n += rr->rdlen;
    } else {
        for (unsigned i = 0; i < rr->target.len; i++)
            buf[n++] = lc(rr->target.wire[i]);
    }
    uint64_t h = ks_hash_bytes(buf, n, d->seed);
    return h ? h : 1;
}

/* True the first time fp is seen in this message (seen[] holds up to KS_DNS_MAX_RR). */
static bool first_in_msg(uint64_t *seen, uint32_t *n, uint64_t fp)
{
    for (uint32_t i = 0; i < *n; i++)
        if (seen[i] == fp)
            return false;
    seen[(*n)++] = fp;
    return true;
}

static void zaddr_add(struct zaddr *z, uint32_t *n, uint32_t cap, const struct ks_addr *a)
{
    for (uint32_t i = 0; i < *n; i++)
        if (ks_addr_eq(&z[i].a, a)) {
            z[i].n++;
            return;
        }
    if (*n < cap) {
        z[*n].a = *a;
        z[*n].n = 1;
        (*n)++;
    }
}

/* The zone an unmatched response is about: the owner of the NS records it carries in its
 * authority section (the delegation it tries to plant), else the registrable domain of its
 * question (Public Suffix List), else the question itself. */
static bool response_zone(struct ks_dns *d, const struct ks_dns_msg *m, struct ks_dns_name *zone)
{
    for (uint32_t i = 0; i < m->nrr; i++)
        if (m->rr[i].section == KS_DNS_AUTHORITY && m->rr[i].type == KS_DNS_TYPE_NS) {
            name_lower(&m->rr[i].name, zone);
            return true;
        }
    if (!m->has_question)
        return false;
    char text[KS_DNS_NAME_STRLEN];
    struct ks_dns_name l;
    name_lower(&m->qname, &l);
    size_t len = ks_dns_name_format(&l, text, sizeof text);
    const char *reg = NULL;
    if (len && !memchr(text, '\\', len) && d->psl)
        reg = psl_registrable_domain(d->psl, text);
    unsigned labels = 2;
    if (reg) {
        labels = 1;
        for (const char *s = reg; *s; s++)
            labels += *s == '.';
    } else if (len && !memchr(text, '\\', len) && d->psl && psl_is_public_suffix(d->psl, text)) {
        labels = 255; /* a public suffix itself: the whole name */
    }
    name_suffix(&l, labels, zone);
    return true;
}

static void target_add(struct ks_dns *d, const struct ks_addr *a)
{
    for (uint32_t i = 0; i < d->ntargets; i++)
        if (ks_addr_eq(&d->targets[i], a))
            return;
    if (d->ntargets < MAX_TARGETS)
        d->targets[d->ntargets++] = *a;
    else
        d->all_targets = true;
}

static bool is_target(const struct ks_dns *d, const struct ks_addr *a)
{
    if (d->all_targets)
        return true;
    for (uint32_t i = 0; i < d->ntargets; i++)
        if (ks_addr_eq(&d->targets[i], a))
            return true;
    return false;
}

static unsigned label_count(const struct ks_dns_name *n)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n->len && n->wire[i]; i += n->wire[i] + 1u)
        k++;
    return k < 31 ? k : 31;
}

static void zone_start(struct ks_dns *d, struct zone *z, const struct ks_dns_name *name, int64_t ts)
{
    d->zone_labels |= 1u << label_count(name);
    memset(z, 0, sizeof *z);
    z->name = *name;
    z->active = true;
    z->first_us = z->last_us = ts;
    z->cur_sec = ts / 1000000;
}

static void zone_unmatched(struct ks_dns *d, const struct ks_pkt *p, const uint8_t *msg, size_t len)
{
    struct ks_dns_msg *m = &d->full;
    ks_dns_parse(msg, len, KS_DNS_PARSE_ALL, m); /* what parsed before an error is kept */
    struct ks_dns_name zname;
    if (!response_zone(d, m, &zname))
        return;
    uint64_t key = ks_hash_bytes(zname.wire, zname.len, d->seed);
    bool is_new = false;
    struct zone *z = ks_table_upsert(d->zones, &key, ts_s(p->ts_us), &is_new);
    if (!z)
        return;
    if (is_new || !z->active) {
        zone_start(d, z, &zname, p->ts_us);
    } else if (p->ts_us - z->last_us > (int64_t)d->cfg.end_after_s * 1000000) {
        zone_emit(d, z, false);
        zone_start(d, z, &zname, p->ts_us);
    }
    z->responses++;
    if (p->ts_us > z->last_us)
        z->last_us = p->ts_us;
    int64_t sec = p->ts_us / 1000000;
    if (sec != z->cur_sec) {
        z->cur_sec = sec;
        z->cur_count = 0;
    }
    if (++z->cur_count > z->peak)
        z->peak = z->cur_count;
    /* A fixed seed here: the same input gives the same estimates. */
    uint64_t nh = m->has_question ? name_hash_lc(&m->qname, EST_SEED) : 0;
    distinct_add(nh, z->names_exact, &z->nnames, z->names_bm);
    distinct_add(ks_hash_u64(m->id, EST_SEED), z->txids_exact, &z->ntxids, z->txids_bm);
    zaddr_add(z->src, &z->nsrc, ZONE_SRC, &p->src);
    zaddr_add(z->res, &z->nres, ZONE_RES, &p->dst);
    target_add(d, &p->dst);
    uint64_t seen[KS_DNS_MAX_RR];
    uint32_t nseen = 0;
    for (uint32_t i = 0; i < m->nrr; i++) {
        const struct ks_dns_rr *rr = &m->rr[i];
        bool for_qname = false;
        uint64_t fp = record_fp(d, m, rr, &for_qname);
        if (!fp || !first_in_msg(seen, &nseen, fp))
            continue;
        for (uint32_t j = 0; j < z->nmfp; j++)
            if (z->mfp[j] == fp)
                z->success = true;
        uint32_t j = 0;
        while (j < z->nforged && z->forged[j].fp != fp)
            j++;
        if (j < z->nforged) {
            z->forged[j].count++;
            continue;
        }
        if (z->nforged == ZONE_FORGED)
            continue;
        struct zforged *f = &z->forged[z->nforged++];
        f->fp = fp;
        f->count = 1;
        f->type = rr->type;
        f->section = rr->section;
        f->for_qname = for_qname;
        f->owner = rr->name;
        if (rr->type == KS_DNS_TYPE_A || rr->type == KS_DNS_TYPE_AAAA) {
            f->vlen = (uint8_t)rr->rdlen;
            memcpy(f->value, rr->rdata, rr->rdlen);
        } else {
            f->vlen = rr->target.len;
            memcpy(f->value, rr->target.wire, rr->target.len);
        }
    }
}

/* A matched response: if its name lies in a zone under attack, count it, and look for the
 * forged records in it (a spoofed response that guessed port and TXID). */
static void zone_matched(struct ks_dns *d, const struct ks_dns_msg *q, const uint8_t *msg,
                         size_t len)
{
    struct ks_dns_name l;
    name_lower(&q->qname, &l);
    int64_t quiet = (int64_t)d->cfg.end_after_s * 1000000;
    unsigned labels = 0; /* of the suffix at i (not capped, unlike label_count) */
    for (unsigned i = 0; i < l.len && l.wire[i]; i += l.wire[i] + 1u)
        labels++;
    /* Only the suffixes as long as a zone in the table: usually one hash, not one per label. */
    for (unsigned i = 0; i < l.len && l.wire[i]; labels--, i += l.wire[i] + 1u) {
        if (!(d->zone_labels >> (labels < 31 ? labels : 31) & 1u))
            continue;
        uint64_t key = ks_hash_bytes(l.wire + i, l.len - i, d->seed);
        struct zone *z = ks_table_find(d->zones, &key);
        if (z && z->active && d->now_us - z->last_us <= quiet) {
            z->matched++;
            struct ks_dns_msg *m = &d->full;
            ks_dns_parse(msg, len, KS_DNS_PARSE_ALL, m);
            for (uint32_t k = 0; k < m->nrr; k++) {
                bool for_qname;
                uint64_t fp = record_fp(d, m, &m->rr[k], &for_qname);
                if (!fp)
                    continue;
                for (uint32_t j = 0; j < z->nforged; j++)
                    if (z->forged[j].fp == fp)
                        z->success = true;
                if (z->nmfp < ZONE_MFP)
                    z->mfp[z->nmfp++] = fp;
                else
                    z->mfp[fp % ZONE_MFP] = fp;
            }
            return;
        }
    }
}

/* --- outstanding queries ------------------------------------------------------------------- */

static void pend_evicted(void *user, const void *key, void *value)
{
    struct ks_dns *d = user;
    const struct pend *e = value;
    (void)key;
    if (d->now_us - e->ts_us > (int64_t)d->cfg.query_timeout_s * 1000000)
        d->st.pending_expired++;
    else
        d->st.pending_evicted++;
}

/* The hot table is full: its least recently used entry goes to the large table (if there is
 * one and the entry is not stale). */
static void hot_evicted(void *user, const void *key, void *value)
{
    struct ks_dns *d = user;
    const struct pend *e = value;
    if (d->now_us - e->ts_us > (int64_t)d->cfg.query_timeout_s * 1000000) {
        d->st.pending_expired++;
        return;
    }
    if (!d->pending) {
        d->st.pending_evicted++;
        return;
    }
    struct pend *c = ks_table_upsert(d->pending, key, ts_s(e->ts_us), NULL);
    if (c)
        *c = *e;
}

/* The entry of an outstanding query (hot table first), or NULL; *in_hot says where. Both
 * tables have the same seed: h is the key's hash in either. */
static struct pend *pend_find(struct ks_dns *d, const struct pend_key *k, uint32_t h, bool *in_hot)
{
    struct pend *e = ks_table_find_hashed(d->hot, k, h);
    *in_hot = e != NULL;
    if (!e && d->pending && ks_table_count(d->pending))
        e = ks_table_find_hashed(d->pending, k, h);
    return e;
}

static void pend_remove(struct ks_dns *d, const struct pend_key *k, uint32_t h, bool in_hot)
{
    ks_table_remove_hashed(in_hot ? d->hot : d->pending, k, h);
}

static unsigned pend_sweep(void *user, const void *key, void *value, uint32_t stamp)
{
    struct ks_dns *d = user;
    const struct pend *e = value;
    (void)key;
    (void)stamp;
    if (d->now_us - e->ts_us > (int64_t)d->cfg.query_timeout_s * 1000000) {
        d->st.pending_expired++;
        return KS_TABLE_REMOVE;
    }
    return KS_TABLE_NEXT;
}

static unsigned zone_sweep(void *user, const void *key, void *value, uint32_t stamp)
{
    struct ks_dns *d = user;
    struct zone *z = value;
    (void)key;
    (void)stamp;
    if (d->now_us - z->last_us > (int64_t)d->cfg.end_after_s * 1000000) {
        zone_emit(d, z, false);
        return KS_TABLE_REMOVE;
    }
    d->zone_labels |= 1u << label_count(&z->name);
    for (uint32_t i = 0; i < z->nres; i++)
        target_add(d, &z->res[i].a);
    if (z->nres == ZONE_RES)
        d->all_targets = true; /* it may target more than it keeps */
    return KS_TABLE_NEXT;
}

/* ks_addr_v4, inline: the hot path builds two keys a packet. */
static inline uint32_t v4(const struct ks_addr *a)
{
    return (uint32_t)a->b[0] << 24 | (uint32_t)a->b[1] << 16 | (uint32_t)a->b[2] << 8 | a->b[3];
}

static uint64_t pair_hash(const struct ks_dns *d, const struct ks_addr *client,
                          const struct ks_addr *server)
{
    uint8_t both[2 * sizeof *client];
    memcpy(both, client, sizeof *client);
    memcpy(both + sizeof *client, server, sizeof *server);
    return ks_hash_bytes(both, sizeof both, d->seed);
}

static inline void pend_key_make(const struct ks_dns *d, struct pend_key *k,
                                 const struct ks_addr *client, const struct ks_addr *server,
                                 uint16_t cport, uint16_t txid, uint8_t proto)
{
    k->b = (uint64_t)cport << 32 | (uint64_t)txid << 16 | proto;
    if (client->family == 4 && server->family == 4) {
        k->a = (uint64_t)v4(client) << 32 | v4(server);
        return;
    }
    k->a = pair_hash(d, client, server);
    k->b |= 1ull << 63;
}

/* --- messages ------------------------------------------------------------------------------ */

#define SEEN_BITS 20 /* 128 KiB */

static inline uint32_t seen_bit(const struct ks_dns *d, const struct ks_addr *a)
{
    if (a->family == 4) /* multiplicative hashing with a secret odd factor */
        return (uint32_t)((uint64_t)v4(a) * (d->seed | 1u) >> (64 - SEEN_BITS));
    return (uint32_t)(ks_addr_hash(a, d->seed) >> (64 - SEEN_BITS));
}

static bool seen_querier(const struct ks_dns *d, const struct ks_addr *a)
{
    uint32_t bit = seen_bit(d, a);
    return d->seen[bit >> 6] >> (bit & 63u) & 1u;
}

static void handle_message(struct ks_dns *d, const uint8_t *msg, size_t len)
{
    const struct ks_pkt *p = d->pkt;
    struct ks_dns_msg *m = &d->msg;
    int rc = ks_dns_parse(msg, len, KS_DNS_PARSE_QUESTION, m);
    if (rc != KS_OK) {
        report(d, rc, rc == KS_ETRUNC ? "DNS message cut short" : "bad name in DNS message");
        return;
    }
    d->st.messages++;
    if (p->proto == 6)
        d->st.tcp_messages++;
    if (KS_DNS_OPCODE(m->flags) != 0 || !m->has_question)
        return; /* NOTIFY, UPDATE, ... and empty questions take no part */
    if (!(m->flags & KS_DNS_QR)) {
        if (p->dport != 53)
            return;
        d->st.queries++;
        if (d->cfg.audit) {
            bool is_new = false;
            struct querier *q = ks_table_upsert(d->queriers, &p->src, ts_s(p->ts_us), &is_new);
            if (q)
                audit_query(d, p, m, q, is_new);
        }
        uint32_t bit = seen_bit(d, &p->src);
        d->seen[bit >> 6] |= 1ull << (bit & 63u);
        if (!d->cfg.poisoning)
            return;
        struct pend_key k;
        pend_key_make(d, &k, &p->src, &p->dst, p->sport, m->id, p->proto);
        struct pend *e =
            ks_table_upsert_hashed(d->hot, &k, ks_table_hash(d->hot, &k), ts_s(p->ts_us), NULL);
        if (e) {
            e->ts_us = p->ts_us;
            name_key(&m->qname, &e->name_head, &e->name_tail);
            e->name_len = m->qname.len;
        }
        return;
    }
    if (p->sport != 53)
        return;
    d->st.responses++;
    if (!d->cfg.poisoning)
        return;
    struct pend_key k;
    pend_key_make(d, &k, &p->dst, &p->src, p->dport, m->id, p->proto);
    bool in_hot;
    uint32_t h = ks_table_hash(d->hot, &k);
    struct pend *e = pend_find(d, &k, h, &in_hot);
    if (e && p->ts_us - e->ts_us > (int64_t)d->cfg.query_timeout_s * 1000000) {
        pend_remove(d, &k, h, in_hot);
        d->st.pending_expired++;
        e = NULL;
    }
    uint64_t head = 0, tail = 0;
    if (e)
        name_key(&m->qname, &head, &tail);
    if (e && e->name_len == m->qname.len && e->name_head == head && e->name_tail == tail) {
        pend_remove(d, &k, h, in_hot);
        d->st.matched++;
        if (ks_table_count(d->zones) && is_target(d, &p->dst))
            zone_matched(d, m, msg, len);
        return;
    }
    d->st.unmatched++;
    if (e)
        d->st.name_mismatch++;
    if (!seen_querier(d, &p->dst)) {
        d->st.unknown_client++;
        return;
    }
    zone_unmatched(d, p, msg, len);
}

static void tcp_message(void *user, const uint8_t *msg, size_t len)
{
    handle_message(user, msg, len);
}

static void periodic(struct ks_dns *d)
{
    if (d->now_us >= d->next_zone_sweep_us) {
        d->ntargets = 0;
        d->all_targets = false;
        d->zone_labels = 0;
        if (ks_table_count(d->zones))
            ks_table_foreach(d->zones, zone_sweep, d);
        d->next_zone_sweep_us = d->now_us + 1000000;
    }
    if (d->cfg.poisoning && d->now_us >= d->next_pend_sweep_us) {
        if (d->next_pend_sweep_us) {
            ks_table_foreach(d->hot, pend_sweep, d);
            if (d->pending && ks_table_count(d->pending))
                ks_table_foreach(d->pending, pend_sweep, d);
        }
        d->next_pend_sweep_us = d->now_us + (int64_t)d->cfg.query_timeout_s * 1000000;
    }
}

int ks_dns_feed(struct ks_dns *d, const struct ks_pkt *p)
{
    d->st.packets++;
    if (p->ts_us > d->now_us) {
        d->now_us = p->ts_us;
        periodic(d);
    }
    if (p->proto != 17 && p->proto != 6)
        return KS_OK;
    if (p->flags & KS_PKT_FRAG_LATER) {
        d->st.fragments++; /* no transport header: its ports are unknown */
        return KS_OK;
    }
    if (!(p->flags & KS_PKT_L4) || (p->sport != 53 && p->dport != 53) || p->payload_len == 0)
        return KS_OK;
    d->st.dns_packets++;
    d->pkt = p;
    if (p->proto == 17) {
        handle_message(d, p->payload, p->payload_len);
    } else {
        bool partial = false;
        ks_dns_tcp_split(p->payload, p->payload_len, tcp_message, d, &partial);
        d->st.tcp_partial += partial;
    }
    d->pkt = NULL;
    return KS_OK;
}

void ks_dns_tick(struct ks_dns *d, int64_t now_us)
{
    if (now_us > d->now_us) {
        d->now_us = now_us;
        periodic(d);
    }
}

static unsigned zone_flush(void *user, const void *key, void *value, uint32_t stamp)
{
    struct ks_dns *d = user;
    (void)key;
    (void)stamp;
    zone_emit(d, value, true);
    return KS_TABLE_REMOVE;
}

void ks_dns_flush(struct ks_dns *d)
{
    ks_table_foreach(d->zones, zone_flush, d);
}

struct audit_walk {
    struct ks_dns *d;
    void (*fn)(void *user, const struct ks_dns_audit *a);
    void *user;
    size_t n;
};

static unsigned audit_one(void *user, const void *key, void *value, uint32_t stamp)
{
    struct audit_walk *w = user;
    struct ks_dns *d = w->d;
    const struct querier *q = value;
    const struct ks_addr *addr = key;
    (void)stamp;
    if (q->queries == 0)
        return KS_TABLE_NEXT;
    if (d->resolvers) {
        bool want = false;
        for (size_t i = 0; i < d->cfg.nresolvers && !want; i++)
            want = ks_addr_eq(&d->resolvers[i], addr);
        if (!want)
            return KS_TABLE_NEXT;
    }
    struct ks_dns_audit a = {.addr = *addr};
    a.first_us = q->first_us;
    a.last_us = q->last_us;
    a.queries = q->queries;
    a.upstream = q->upstream;
    a.recursive = q->recursive;
    a.tcp = q->tcp;
    a.servers = q->nservers;
    a.role = q->upstream > q->recursive ? KS_DNS_ROLE_RESOLVER : KS_DNS_ROLE_STUB;
    uint32_t pd = q->slot ? q->ports_distinct : small_distinct(q->small_ports, q->nsmall_ports);
    uint32_t td = q->slot ? q->txids_distinct : small_distinct(q->small_txids, q->nsmall_txids);
    struct ks_dns_rand_acc ports = q->ports, txids = q->txids;
    uint64_t lanes[2];
    uint32_t n;
    memcpy(lanes, q->port_lanes, sizeof lanes);
    lanes_flush(&ports, lanes, &n);
    memcpy(lanes, q->txid_lanes, sizeof lanes);
    lanes_flush(&txids, lanes, &n);
    ks_dns_rand_finish(&ports, pd, d->cfg.min_queries, &a.ports);
    ks_dns_rand_finish(&txids, td, d->cfg.min_queries, &a.txids);
    a.letters = q->letters;
    a.upper = q->upper;
    a.mixed_names = q->mixed;
    if (q->letters < 20)
        a.case0x20 = KS_DNS_CASE_UNKNOWN;
    else if (q->upper == 0)
        a.case0x20 = KS_DNS_CASE_NONE;
    else {
        double r = (double)q->upper / (double)q->letters;
        a.case0x20 = r >= 0.3 && r <= 0.7 ? KS_DNS_CASE_YES : KS_DNS_CASE_PARTIAL;
    }
    if (a.role == KS_DNS_ROLE_STUB) {
        a.ports.grade = a.txids.grade = KS_DNS_GRADE_NONE;
        a.grade = KS_DNS_GRADE_NONE;
        a.note = a.ports.n && a.ports.distinct <= 3 ? "stub client, fixed port" : "stub client";
    } else if (a.ports.grade == KS_DNS_GRADE_NONE || a.txids.grade == KS_DNS_GRADE_NONE) {
        a.grade = KS_DNS_GRADE_NONE;
        a.note = "too few queries";
    } else {
        a.grade = a.ports.grade < a.txids.grade ? a.ports.grade : a.txids.grade;
    }
    w->n++;
    w->fn(w->user, &a);
    return KS_TABLE_NEXT;
}

size_t ks_dns_audits(struct ks_dns *d, void (*fn)(void *user, const struct ks_dns_audit *a),
                     void *user)
{
    struct audit_walk w = {d, fn, user, 0};
    ks_table_foreach(d->queriers, audit_one, &w);
    return w.n;
}

void ks_dns_stats(const struct ks_dns *d, struct ks_dns_stats *st)
{
    *st = d->st;
    st->pending = ks_table_count(d->hot) + (d->pending ? ks_table_count(d->pending) : 0);
    st->queriers = ks_table_count(d->queriers);
}

int ks_dns_new(const struct ks_dns_config *cfg, struct ks_dns **dp)
{
    *dp = NULL;
    if (!cfg->max_queriers || !cfg->max_pending || !cfg->max_zones || !cfg->query_timeout_s ||
        !cfg->end_after_s || cfg->max_queriers > (1u << 24))
        return KS_EINVAL;
    int rc = KS_ENOMEM;
    struct ks_dns *d = calloc(1, sizeof *d);
    if (!d)
        return KS_ENOMEM;
    d->cfg = *cfg;
    if (cfg->nresolvers) {
        d->resolvers = malloc(cfg->nresolvers * sizeof *d->resolvers);
        if (!d->resolvers)
            goto fail;
        memcpy(d->resolvers, cfg->resolvers, cfg->nresolvers * sizeof *d->resolvers);
    }
    d->cfg.resolvers = d->resolvers;
    /* A secret seed: keys and name hashes cannot be aimed at collisions. */
    if (getrandom(&d->seed, sizeof d->seed, GRND_NONBLOCK) != (ssize_t)sizeof d->seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        d->seed =
            ks_hash_u64((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30, (uint64_t)(uintptr_t)d);
    }
    struct ks_table_config tc;
    ks_table_config_default(&tc);
    tc.key_size = sizeof(struct ks_addr);
    tc.value_size = sizeof(struct querier);
    tc.capacity = cfg->max_queriers;
    tc.on_evict = querier_evicted;
    tc.user = d;
    if ((rc = ks_table_new(&tc, &d->queriers)) != KS_OK)
        goto fail;
    ks_table_config_default(&tc);
    tc.key_size = sizeof(struct pend_key);
    tc.value_size = sizeof(struct pend);
    tc.capacity = cfg->max_pending < HOT_PENDING ? cfg->max_pending : HOT_PENDING;
    tc.seed = ks_hash_u64(d->seed, 0x70656e64ull) | 1u; /* both pending tables: one hash */
    tc.on_evict = hot_evicted;
    tc.user = d;
    if ((rc = ks_table_new(&tc, &d->hot)) != KS_OK)
        goto fail;
    if (cfg->max_pending > HOT_PENDING) {
        tc.capacity = cfg->max_pending - HOT_PENDING;
        tc.on_evict = pend_evicted;
        if ((rc = ks_table_new(&tc, &d->pending)) != KS_OK)
            goto fail;
    }
    ks_table_config_default(&tc);
    tc.key_size = sizeof(uint64_t);
    tc.value_size = sizeof(struct zone);
    tc.capacity = cfg->max_zones;
    tc.on_evict = zone_evicted;
    tc.user = d;
    if ((rc = ks_table_new(&tc, &d->zones)) != KS_OK)
        goto fail;
    rc = KS_ENOMEM;
    if (cfg->audit) {
        d->bitmaps = calloc(cfg->max_queriers, 2 * BM_BYTES);
        d->free_slots = malloc(cfg->max_queriers * sizeof *d->free_slots);
        if (!d->bitmaps || !d->free_slots)
            goto fail;
        for (uint32_t i = 0; i < cfg->max_queriers; i++)
            d->free_slots[i] = cfg->max_queriers - 1 - i;
        d->nfree = cfg->max_queriers;
    }
    d->seen = calloc((size_t)1 << (SEEN_BITS - 6), sizeof *d->seen);
    if (!d->seen)
        goto fail;
    d->psl = psl_builtin();
    *dp = d;
    return KS_OK;
fail:
    ks_dns_free(d);
    return rc;
}

void ks_dns_free(struct ks_dns *d)
{
    if (!d)
        return;
    ks_table_free(d->queriers);
    ks_table_free(d->hot);
    ks_table_free(d->pending);
    ks_table_free(d->zones);
    free(d->bitmaps);
    free(d->seen);
    free(d->free_slots);
    free(d->resolvers);
    free(d);
}
