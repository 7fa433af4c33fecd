/* Darknet statistics: per day x kind x protocol x port counters with distinct sources, sources
 * by country and AS, top talkers and backscatter victims. See ks_darknet.h. */
#include "kansoku/ks_darknet.h"
#include "core/cur.h"
#include "kansoku/ks_hll.h"
#include "kansoku/ks_table.h"
#include "kansoku/ks_time.h"
#include "topk.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Source addresses are hashed with this fixed seed so that the sketches of every sensor and
 * every run can be merged. */
#define SRC_SEED UINT64_C(0x6b616e736f6b7564)
#define SMALL 4
#define SKETCH_LOST UINT32_MAX
#define NCC (27 * 27) /* two letters A-Z, or '-' as the 27th symbol */
#define FRONT_SIZE ((size_t)2 * 4 * 65536)
#define FRONT_DROPPED UINT32_MAX
/* Scanning sources wait this many packets before their table update, so that the update's
 * slot, prefetched when the packet arrived, is in the cache by then: with a million one-off
 * sources a day the table is far larger than the cache and every update would miss. */
#define SRC_DELAY 8

struct cell_key {
    int32_t day; /* days since the epoch, in the configured zone */
    uint16_t port;
    uint8_t proto;
    uint8_t kind;
};

struct cell {
    uint64_t packets, bytes;
    uint64_t small[SMALL]; /* hashes of the first distinct sources */
    uint32_t sketch;       /* pool index + 1; 0 none yet; SKETCH_LOST */
    uint32_t nsmall;
};

struct agg {
    uint64_t sources, packets;
};

struct as_val {
    uint64_t sources, packets;
    const char *org; /* borrowed from the geo handle */
};

struct ks_darknet {
    struct ks_darknet_config cfg;
    struct ks_darknet_sink sink;
    char sensor[128];
    struct ks_prefix_set *mon;
    struct ks_prefix *prefixes;
    size_t nprefixes, prefixes_cap;
    uint64_t monitored;

    struct ks_table *cells; /* struct cell_key -> uint32_t index into cell_pool */
    struct cell *cell_pool; /* max_cells */
    uint32_t *cell_free;    /* free cell_pool indices */
    uint32_t ncell_free;
    uint32_t *front;     /* the current day's cells of TCP/UDP/ICMP/ICMPv6 by kind and
                            port: index + 1, 0 unknown, FRONT_DROPPED (see cell_for) */
    uint8_t *pool;       /* max_sketches * 2^p registers */
    uint32_t *free_list; /* free pool indices */
    uint32_t nfree;
    size_t regs;  /* 2^p */
    uint8_t *ser; /* serialised sketch */

    /* the current day */
    bool have_day;
    int32_t day;
    int64_t day_start, day_end; /* µs UTC */
    struct ks_table *srcs;      /* scanning sources of the day: ks_addr -> uint64_t packets */
    struct pending_src {
        struct ks_addr addr;
        uint32_t hash, stamp;
        uint64_t packets;
    } pending[SRC_DELAY]; /* updates of srcs not yet applied, oldest at pending_head */
    uint32_t pending_head, npending;
    struct agg country[NCC];
    struct ks_table *as; /* uint32_t asn -> struct as_val */
    uint32_t *as_order;  /* scratch, max_as + 1 */
    struct as_row {
        uint32_t asn;
        struct as_val v;
    } * as_rows;
    uint32_t nas_rows;
    struct ks_hll day_scan, day_bs;
    uint64_t day_packets, day_scan_pk, day_bs_pk, day_dropped, day_domestic;
    struct topk talkers, victims;

    struct ks_darknet_stats st;
    uint32_t diag_reported;
};

const char *ks_darknet_kind_name(int kind)
{
    switch (kind) {
    case KS_DARKNET_SCAN:
        return "scan";
    case KS_DARKNET_BACKSCATTER:
        return "backscatter";
    default:
        return NULL;
    }
}

const char *ks_darknet_dim_name(int dim)
{
    static const char *const names[] = {"country", "as", "talker", "victim"};
    return dim >= 0 && dim < 4 ? names[dim] : NULL;
}

const char *ks_darknet_proto_name(uint8_t proto, char *buf, size_t size)
{
    switch (proto) {
    case 6:
        return "tcp";
    case 17:
        return "udp";
    case 1:
        return "icmp";
    case 58:
        return "icmp6";
    default:
        snprintf(buf, size, "%u", (unsigned)proto);
        return buf;
    }
}

void ks_darknet_config_default(struct ks_darknet_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    memcpy(cfg->home, "JP", 3);
    cfg->max_cells = 65536;
    cfg->max_sketches = 4096;
    cfg->hll_p = 12;
    cfg->max_sources = 131072;
    cfg->max_as = 16384;
    cfg->topk = 1024;
    cfg->top_report = 20;
}

static unsigned cc_index(const char *cc)
{
    unsigned a = cc[0] >= 'A' && cc[0] <= 'Z' ? (unsigned)(cc[0] - 'A') : 26;
    unsigned b = cc[1] >= 'A' && cc[1] <= 'Z' ? (unsigned)(cc[1] - 'A') : 26;
    return a * 27 + b;
}

static void cc_text(unsigned i, char out[3])
{
    unsigned a = i / 27, b = i % 27;
    out[0] = a < 26 ? (char)('A' + a) : '-';
    out[1] = b < 26 ? (char)('A' + b) : '-';
    out[2] = '\0';
}

/* A scanning source leaves the day's table (evicted, or at the day's end): its country and AS
 * get it, and the top talkers see its packets. Offering sources to the top-K only here, not
 * per packet, keeps the heap off the hot path; a source evicted and seen again is offered
 * twice, and the top-K adds both counts up. */
static void account_source(struct ks_darknet *d, const struct ks_addr *a, uint64_t packets)
{
    struct ks_geo_result r = {"--", 0, ""};
    if (d->cfg.geo)
        ks_geo_lookup(d->cfg.geo, a, &r);
    struct agg *c = &d->country[cc_index(r.country)];
    c->sources++;
    c->packets += packets;
    if (r.country[0] == d->cfg.home[0] && r.country[1] == d->cfg.home[1])
        d->day_domestic++;
    topk_add(&d->talkers, a, packets);
    uint32_t asn = r.asn;
    struct as_val *v = ks_table_upsert(d->as, &asn, 0, NULL);
    if (!v) {
        d->st.as_dropped++;
        asn = 0;
        v = ks_table_upsert(d->as, &asn, 0, NULL); /* AS0 is always present */
        if (!v)
            return;
    }
    v->sources++;
    v->packets += packets;
    if (!v->org)
        v->org = asn ? r.org : "";
}

static void on_src_evict(void *user, const void *key, void *value)
{
    struct ks_darknet *d = user;
    d->st.sources_evicted++;
    account_source(d, key, *(const uint64_t *)value);
}

static void apply_src(struct ks_darknet *d, const struct pending_src *ps)
{
    uint64_t *pk = ks_table_upsert_hashed(d->srcs, &ps->addr, ps->hash, ps->stamp, NULL);
    if (pk)
        *pk += ps->packets;
}

/* Applies every delayed source update: before the day's table is read or cleared. */
static void drain_pending(struct ks_darknet *d)
{
    while (d->npending) {
        apply_src(d, &d->pending[d->pending_head]);
        d->pending_head = (d->pending_head + 1) % SRC_DELAY;
        d->npending--;
    }
}

/* Queues the update of a scanning source's packet count, prefetching its slot; applies the
 * oldest queued one when the queue is full. */
static void count_source(struct ks_darknet *d, const struct ks_addr *a, uint64_t w)
{
    uint32_t h = ks_table_hash(d->srcs, a);
    ks_table_prefetch(d->srcs, h);
    if (d->npending == SRC_DELAY) {
        apply_src(d, &d->pending[d->pending_head]);
        d->pending_head = (d->pending_head + 1) % SRC_DELAY;
        d->npending--;
    }
    struct pending_src *ps = &d->pending[(d->pending_head + d->npending) % SRC_DELAY];
    ps->addr = *a;
    ps->hash = h;
    ps->stamp = (uint32_t)d->st.packets;
    ps->packets = w;
    d->npending++;
}

static void reset_day(struct ks_darknet *d)
{
    d->npending = 0;
    d->pending_head = 0;
    ks_table_clear(d->srcs);
    ks_table_clear(d->as);
    uint32_t zero = 0;
    ks_table_upsert(d->as, &zero, 0, NULL);
    memset(d->country, 0, sizeof d->country);
    ks_hll_reset(&d->day_scan);
    ks_hll_reset(&d->day_bs);
    d->day_packets = d->day_scan_pk = d->day_bs_pk = d->day_dropped = d->day_domestic = 0;
    topk_reset(&d->talkers);
    topk_reset(&d->victims);
}

int ks_darknet_new(const struct ks_darknet_config *cfg, const struct ks_darknet_sink *sink,
                   struct ks_darknet **dp)
{
    *dp = NULL;
    if (!cfg || !cfg->sensor || !cfg->sensor[0] || strlen(cfg->sensor) >= 128 ||
        cfg->max_cells == 0 || cfg->max_sources == 0 || cfg->max_as == 0 || cfg->topk == 0 ||
        cfg->hll_p < KS_HLL_P_MIN || cfg->hll_p > KS_HLL_P_MAX || cfg->tz_offset_s <= -86400 ||
        cfg->tz_offset_s >= 86400)
        return KS_EINVAL;
    int rc = KS_ENOMEM;
    struct ks_darknet *d = calloc(1, sizeof *d);
    if (!d)
        return KS_ENOMEM;
    d->cfg = *cfg;
    snprintf(d->sensor, sizeof d->sensor, "%s", cfg->sensor);
    d->cfg.sensor = d->sensor;
    if (sink)
        d->sink = *sink;
    d->regs = ks_hll_regs_size(cfg->hll_p);

    struct ks_table_config tc;
    ks_table_config_default(&tc);
    tc.key_size = sizeof(struct cell_key);
    tc.value_size = sizeof(uint32_t);
    tc.capacity = cfg->max_cells;
    tc.evict = KS_TABLE_EVICT_NONE;
    tc.seed = 1; /* reproducible emission order */
    if (ks_table_new(&tc, &d->cells) != KS_OK)
        goto out;
    d->cell_pool = malloc((size_t)cfg->max_cells * sizeof *d->cell_pool);
    d->cell_free = malloc((size_t)cfg->max_cells * sizeof *d->cell_free);
    d->front = calloc(FRONT_SIZE, sizeof *d->front);
    if (!d->cell_pool || !d->cell_free || !d->front)
        goto out;
    for (uint32_t i = 0; i < cfg->max_cells; i++)
        d->cell_free[i] = cfg->max_cells - 1 - i;
    d->ncell_free = cfg->max_cells;

    ks_table_config_default(&tc);
    tc.key_size = sizeof(struct ks_addr);
    tc.value_size = sizeof(uint64_t);
    tc.capacity = cfg->max_sources;
    tc.on_evict = on_src_evict;
    tc.user = d;
    if (ks_table_new(&tc, &d->srcs) != KS_OK)
        goto out;

    ks_table_config_default(&tc);
    tc.key_size = sizeof(uint32_t);
    tc.value_size = sizeof(struct as_val);
    tc.capacity = (size_t)cfg->max_as + 1;
    tc.evict = KS_TABLE_EVICT_NONE;
    if (ks_table_new(&tc, &d->as) != KS_OK)
        goto out;
    d->as_rows = calloc((size_t)cfg->max_as + 1, sizeof *d->as_rows);
    if (!d->as_rows)
        goto out;

    if (cfg->max_sketches) {
        d->pool = calloc(cfg->max_sketches, d->regs);
        d->free_list = malloc((size_t)cfg->max_sketches * sizeof *d->free_list);
        if (!d->pool || !d->free_list)
            goto out;
        for (uint32_t i = 0; i < cfg->max_sketches; i++)
            d->free_list[i] = cfg->max_sketches - 1 - i;
        d->nfree = cfg->max_sketches;
    }
    d->ser = malloc(KS_HLL_SER_MAX);
    if (!d->ser)
        goto out;
    if (ks_hll_init(&d->day_scan, cfg->hll_p) != KS_OK ||
        ks_hll_init(&d->day_bs, cfg->hll_p) != KS_OK)
        goto out;
    if (topk_init(&d->talkers, cfg->topk) != KS_OK || topk_init(&d->victims, cfg->topk) != KS_OK)
        goto out;
    if (ks_prefix_set_new(&d->mon) != KS_OK)
        goto out;
    reset_day(d);
    *dp = d;
    d = NULL;
    rc = KS_OK;
out:
    ks_darknet_free(d);
    return rc;
}

void ks_darknet_free(struct ks_darknet *d)
{
    if (!d)
        return;
    ks_table_free(d->cells);
    free(d->cell_pool);
    free(d->cell_free);
    free(d->front);
    ks_table_free(d->srcs);
    ks_table_free(d->as);
    free(d->as_rows);
    free(d->pool);
    free(d->free_list);
    free(d->ser);
    ks_hll_fini(&d->day_scan);
    ks_hll_fini(&d->day_bs);
    topk_fini(&d->talkers);
    topk_fini(&d->victims);
    ks_prefix_set_free(d->mon);
    free(d->prefixes);
    free(d);
}

static uint64_t prefix_size(const struct ks_prefix *p)
{
    unsigned width = p->addr.family == 4 ? 32 : 128;
    unsigned host = width - p->len;
    return host >= 63 ? (uint64_t)INT64_MAX : UINT64_C(1) << host;
}

static void recount_monitored(struct ks_darknet *d)
{
    uint64_t total = 0;
    for (size_t i = 0; i < d->nprefixes; i++) {
        const struct ks_prefix *p = &d->prefixes[i];
        bool inside = false;
        for (size_t j = 0; j < d->nprefixes && !inside; j++) {
            const struct ks_prefix *q = &d->prefixes[j];
            if (j == i || q->addr.family != p->addr.family || q->len > p->len)
                continue;
            /* contained in a shorter prefix, or a duplicate listed earlier */
            if (ks_addr_in_prefix(&p->addr, q) && (q->len < p->len || j < i))
                inside = true;
        }
        if (inside)
            continue;
        uint64_t n = prefix_size(p);
        total = total > (uint64_t)INT64_MAX - n ? (uint64_t)INT64_MAX : total + n;
    }
    d->monitored = total;
}

int ks_darknet_add_prefix(struct ks_darknet *d, const struct ks_prefix *p)
{
    if (!d || !p || (p->addr.family != 4 && p->addr.family != 6))
        return KS_EINVAL;
    int rc = ks_prefix_set_add(d->mon, p, 1);
    if (rc != KS_OK)
        return rc;
    if (d->nprefixes == d->prefixes_cap) {
        size_t cap = d->prefixes_cap ? d->prefixes_cap * 2 : 8;
        struct ks_prefix *np = realloc(d->prefixes, cap * sizeof *np);
        if (!np)
            return KS_ENOMEM;
        d->prefixes = np;
        d->prefixes_cap = cap;
    }
    struct ks_prefix clean;
    ks_prefix_make(&clean, &p->addr, p->len);
    d->prefixes[d->nprefixes++] = clean;
    recount_monitored(d);
    return KS_OK;
}

uint64_t ks_darknet_monitored(const struct ks_darknet *d)
{
    return d->monitored;
}

bool ks_darknet_is_backscatter(const struct ks_pkt *p)
{
    if (!(p->flags & KS_PKT_L4))
        return false;
    switch (p->proto) {
    case 6:
        return (p->tcp_flags & (KS_TCP_SYN | KS_TCP_ACK)) == (KS_TCP_SYN | KS_TCP_ACK) ||
               (p->tcp_flags & KS_TCP_RST);
    case 1: /* RFC 792: echo reply, unreachable, quench, redirect, time exceeded, parameter
               problem, timestamp reply */
        switch (p->icmp_type) {
        case 0:
        case 3:
        case 4:
        case 5:
        case 11:
        case 12:
        case 14:
            return true;
        default:
            return false;
        }
    case 58: /* RFC 4443: errors 1-4, echo reply 129 */
        return (p->icmp_type >= 1 && p->icmp_type <= 4) || p->icmp_type == 129;
    default:
        return false;
    }
}

static bool is_icmp_error(const struct ks_pkt *p)
{
    if (p->proto == 1)
        return p->icmp_type == 3 || p->icmp_type == 4 || p->icmp_type == 5 || p->icmp_type == 11 ||
               p->icmp_type == 12;
    return p->proto == 58 && p->icmp_type >= 1 && p->icmp_type <= 4;
}

/* The quoted datagram starts right after the 8-byte ICMP header or, with a decoder that stops
 * after type, code and checksum, 4 bytes later: both are tried. */
static void quoted_victim(const struct ks_pkt *p, struct ks_addr *victim)
{
    struct ks_addr dst;
    struct ks_cur c = ks_cur_make(p->payload, p->payload_len);
    if (ks_darknet_icmp_quoted(p->payload, p->payload_len, &dst, NULL, NULL) == KS_OK) {
        *victim = dst;
        return;
    }
    ks_cur_skip(&c, 4);
    size_t n = ks_cur_left(&c);
    const uint8_t *rest = ks_cur_ptr(&c, n);
    if (rest && ks_darknet_icmp_quoted(rest, n, &dst, NULL, NULL) == KS_OK)
        *victim = dst;
}

static int64_t day_start_of(const struct ks_darknet *d, int32_t day)
{
    return (int64_t)day * KS_USEC_PER_DAY - (int64_t)d->cfg.tz_offset_s * KS_USEC_PER_SEC;
}

/* Adds a source hash to a cell: exact while it has at most SMALL sources, then a sketch. */
static void cell_add_source(struct ks_darknet *d, struct cell *c, uint64_t h)
{
    if (c->sketch == SKETCH_LOST)
        return;
    if (c->sketch) {
        struct ks_hll hll;
        ks_hll_init_buf(&hll, d->cfg.hll_p, d->pool + (size_t)(c->sketch - 1) * d->regs, d->regs);
        ks_hll_add_hash(&hll, h);
        return;
    }
    for (uint32_t i = 0; i < c->nsmall; i++)
        if (c->small[i] == h)
            return;
    if (c->nsmall < SMALL) {
        c->small[c->nsmall++] = h;
        return;
    }
    if (d->nfree == 0) {
        c->sketch = SKETCH_LOST;
        d->st.sketches_lost++;
        return;
    }
    uint32_t idx = d->free_list[--d->nfree];
    uint8_t *regs = d->pool + (size_t)idx * d->regs;
    memset(regs, 0, d->regs);
    struct ks_hll hll;
    ks_hll_init_buf(&hll, d->cfg.hll_p, regs, d->regs);
    for (uint32_t i = 0; i < c->nsmall; i++)
        ks_hll_add_hash(&hll, c->small[i]);
    ks_hll_add_hash(&hll, h);
    c->sketch = idx + 1;
}

struct emit_ctx {
    struct ks_darknet *d;
    int32_t before; /* emit cells of days < before */
};

static unsigned emit_cell(void *user, const void *key, void *value, uint32_t stamp)
{
    struct emit_ctx *e = user;
    struct ks_darknet *d = e->d;
    const struct cell_key *k = key;
    uint32_t ci = *(const uint32_t *)value;
    struct cell *c = &d->cell_pool[ci];
    if (k->day >= e->before)
        return KS_TABLE_NEXT;
    d->cell_free[d->ncell_free++] = ci;
    struct ks_darknet_cell r = {
        .day = day_start_of(d, k->day),
        .sensor = d->sensor,
        .kind = k->kind,
        .proto = k->proto,
        .port = k->port,
        .packets = c->packets,
        .bytes = c->bytes,
    };
    if (c->sketch == SKETCH_LOST) {
        r.sources = SMALL;
        r.sketch_lost = true;
    } else if (!c->sketch) {
        /* exact: the hashes themselves (cheaper than a sketch, and mergeable into one) */
        r.sources = (double)c->nsmall;
        r.sources_exact = true;
        d->ser[0] = 'K';
        d->ser[1] = 'S';
        d->ser[2] = 1;
        d->ser[3] = (uint8_t)c->nsmall;
        for (uint32_t i = 0; i < c->nsmall; i++)
            for (int j = 0; j < 8; j++)
                d->ser[4 + i * 8 + (uint32_t)j] = (uint8_t)(c->small[i] >> (56 - 8 * j));
        r.sketch = d->ser;
        r.sketch_len = 4 + (size_t)c->nsmall * 8;
    } else {
        struct ks_hll hll;
        ks_hll_init_buf(&hll, d->cfg.hll_p, d->pool + (size_t)(c->sketch - 1) * d->regs, d->regs);
        r.sources = ks_hll_estimate(&hll);
        size_t n = 0;
        if (ks_hll_serialize(&hll, d->ser, KS_HLL_SER_MAX, &n) == KS_OK) {
            r.sketch = d->ser;
            r.sketch_len = n;
        }
        d->free_list[d->nfree++] = c->sketch - 1;
    }
    d->st.cells++;
    if (d->sink.cell)
        d->sink.cell(d->sink.user, &r);
    return KS_TABLE_REMOVE;
}

static unsigned account_src_entry(void *user, const void *key, void *value, uint32_t stamp)
{
    account_source(user, key, *(const uint64_t *)value);
    return KS_TABLE_NEXT;
}

static unsigned collect_as(void *user, const void *key, void *value, uint32_t stamp)
{
    struct ks_darknet *d = user;
    const struct as_val *v = value;
    if (v->sources == 0)
        return KS_TABLE_NEXT;
    d->as_rows[d->nas_rows].asn = *(const uint32_t *)key;
    d->as_rows[d->nas_rows].v = *v;
    d->nas_rows++;
    return KS_TABLE_NEXT;
}

static int by_sources_desc(const void *pa, const void *pb)
{
    const struct as_row *a = pa, *b = pb;
    if (a->v.sources != b->v.sources)
        return a->v.sources > b->v.sources ? -1 : 1;
    return a->asn < b->asn ? -1 : a->asn > b->asn;
}

static void emit_source(struct ks_darknet *d, int64_t day, int dim, const char *key,
                        const char *name, bool domestic, uint64_t sources, uint64_t packets,
                        uint64_t error)
{
    struct ks_darknet_source s = {
        .day = day,
        .sensor = d->sensor,
        .dim = (uint8_t)dim,
        .key = key,
        .name = name ? name : "",
        .domestic = domestic,
        .sources = sources,
        .packets = packets,
        .error = error,
    };
    d->st.sources++;
    if (d->sink.source)
        d->sink.source(d->sink.user, &s);
}

static void emit_top(struct ks_darknet *d, int64_t day, int dim, struct topk *t)
{
    const uint32_t *order;
    uint32_t n = topk_sorted(t, &order);
    if (n > d->cfg.top_report)
        n = d->cfg.top_report;
    for (uint32_t i = 0; i < n; i++) {
        const struct topk_entry *e = &t->e[order[i]];
        char ip[KS_ADDR_STRLEN];
        ks_addr_format(&e->key, ip, sizeof ip);
        emit_source(d, day, dim, ip, "", false, 1, e->count, e->error);
    }
}

/* The distributions and the summary of the current day. */
static void emit_day(struct ks_darknet *d)
{
    int64_t day = d->day_start;
    drain_pending(d);
    ks_table_foreach(d->srcs, account_src_entry, d);
    for (unsigned i = 0; i < NCC; i++) {
        if (!d->country[i].sources)
            continue;
        char cc[3];
        cc_text(i, cc);
        bool home = cc[0] == d->cfg.home[0] && cc[1] == d->cfg.home[1];
        emit_source(d, day, KS_DARKNET_BY_COUNTRY, cc, "", home, d->country[i].sources,
                    d->country[i].packets, 0);
    }
    d->nas_rows = 0;
    ks_table_foreach(d->as, collect_as, d);
    if (d->nas_rows > 1)
        qsort(d->as_rows, d->nas_rows, sizeof *d->as_rows, by_sources_desc);
    for (uint32_t i = 0; i < d->nas_rows; i++) {
        char key[16];
        snprintf(key, sizeof key, "AS%" PRIu32, d->as_rows[i].asn);
        emit_source(d, day, KS_DARKNET_BY_AS, key, d->as_rows[i].v.org, false,
                    d->as_rows[i].v.sources, d->as_rows[i].v.packets, 0);
    }
    emit_top(d, day, KS_DARKNET_TALKER, &d->talkers);
    emit_top(d, day, KS_DARKNET_VICTIM, &d->victims);
    struct ks_darknet_day s = {
        .day = day,
        .sensor = d->sensor,
        .monitored = d->monitored,
        .packets = d->day_packets,
        .scan_packets = d->day_scan_pk,
        .backscatter_packets = d->day_bs_pk,
        .sources = d->day_scan_pk ? ks_hll_estimate(&d->day_scan) : 0,
        .backscatter_sources = d->day_bs_pk ? ks_hll_estimate(&d->day_bs) : 0,
        .domestic_sources = d->day_domestic,
        .dropped = d->day_dropped,
    };
    d->st.days++;
    if (d->sink.day)
        d->sink.day(d->sink.user, &s);
    reset_day(d);
}

static void flush_days(struct ks_darknet *d, int32_t before)
{
    struct emit_ctx e = {d, before};
    ks_table_foreach(d->cells, emit_cell, &e);
    /* cells were freed: the current day's shortcuts (drop marks included) start over */
    memset(d->front, 0, FRONT_SIZE * sizeof *d->front);
    if (d->have_day && d->day < before) {
        emit_day(d);
        d->have_day = false;
    }
}

int ks_darknet_flush(struct ks_darknet *d, int64_t before_us)
{
    int32_t before;
    if (before_us == INT64_MAX) {
        before = INT32_MAX;
    } else {
        int64_t local = before_us + (int64_t)d->cfg.tz_offset_s * KS_USEC_PER_SEC;
        int64_t di = ks_time_floor(local, KS_USEC_PER_DAY) / KS_USEC_PER_DAY;
        before = di > INT32_MAX ? INT32_MAX : di < INT32_MIN ? INT32_MIN : (int32_t)di;
    }
    flush_days(d, before);
    return KS_OK;
}

/* The cell of k: through the current day's direct index for TCP, UDP, ICMP and ICMPv6 (no
 * hashing on the hot path), else the table. NULL when no cell is free (counted by the caller;
 * the front index remembers it until the next flush). */
static struct cell *cell_for(struct ks_darknet *d, const struct cell_key *k)
{
    uint32_t *slot = NULL;
    if (k->day == d->day) {
        int pc = k->proto == 6    ? 0
                 : k->proto == 17 ? 1
                 : k->proto == 1  ? 2
                 : k->proto == 58 ? 3
                                  : -1;
        if (pc >= 0) {
            slot = &d->front[((size_t)(k->kind * 4 + pc) << 16) | k->port];
            if (*slot == FRONT_DROPPED)
                return NULL;
            if (*slot)
                return &d->cell_pool[*slot - 1];
        }
    }
    bool is_new = false;
    uint32_t *ci = ks_table_upsert(d->cells, k, 0, &is_new);
    if (!ci || (is_new && d->ncell_free == 0)) {
        if (ci)
            ks_table_remove(d->cells, k);
        if (slot)
            *slot = FRONT_DROPPED;
        return NULL;
    }
    if (is_new) {
        *ci = d->cell_free[--d->ncell_free];
        memset(&d->cell_pool[*ci], 0, sizeof d->cell_pool[*ci]);
    }
    if (slot)
        *slot = *ci + 1;
    return &d->cell_pool[*ci];
}

int ks_darknet_feed(struct ks_darknet *d, const struct ks_pkt *p)
{
    d->st.packets++;
    if (!ks_prefix_set_lookup(d->mon, &p->dst, NULL, NULL)) {
        d->st.not_monitored++;
        return KS_OK;
    }
    uint64_t w = p->weight ? p->weight : 1;
    d->st.monitored += w;

    int32_t day;
    if (d->have_day && p->ts_us >= d->day_start && p->ts_us < d->day_end) {
        day = d->day;
    } else {
        int64_t local = p->ts_us + (int64_t)d->cfg.tz_offset_s * KS_USEC_PER_SEC;
        int64_t di = ks_time_floor(local, KS_USEC_PER_DAY) / KS_USEC_PER_DAY;
        day = di > INT32_MAX ? INT32_MAX : di < INT32_MIN ? INT32_MIN : (int32_t)di;
        if (!d->have_day || day > d->day) {
            if (d->have_day)
                flush_days(d, day);
            d->have_day = true;
            d->day = day;
            d->day_start = day_start_of(d, day);
            d->day_end = d->day_start + KS_USEC_PER_DAY;
        } else if (day < d->day) {
            d->st.late += w;
        }
    }

    bool bs = ks_darknet_is_backscatter(p);
    struct cell_key k = {.day = day, .proto = p->proto, .kind = bs};
    if (p->flags & KS_PKT_L4) {
        if (p->proto == 1 || p->proto == 58)
            k.port = p->icmp_type;
        else if (p->proto == 6 || p->proto == 17)
            k.port = bs ? p->sport : p->dport;
    }
    uint64_t h = ks_addr_hash(&p->src, SRC_SEED);
    if (day == d->day) {
        d->day_packets += w;
        if (bs) {
            d->day_bs_pk += w;
            ks_hll_add_hash(&d->day_bs, h);
            struct ks_addr victim = p->src;
            if (is_icmp_error(p) && p->payload && p->payload_len >= 20)
                quoted_victim(p, &victim);
            topk_add(&d->victims, &victim, w);
        } else {
            d->day_scan_pk += w;
            ks_hll_add_hash(&d->day_scan, h);
            count_source(d, &p->src, w);
        }
    }
    if (bs)
        d->st.backscatter += w;
    else
        d->st.scan += w;

    struct cell *c = cell_for(d, &k);
    if (!c) {
        d->st.cells_dropped += w;
        if (day == d->day)
            d->day_dropped += w;
        return KS_OK;
    }
    c->packets += w;
    c->bytes += (uint64_t)p->wire_len * w;
    cell_add_source(d, c, h);
    return KS_OK;
}

void ks_darknet_stats(const struct ks_darknet *d, struct ks_darknet_stats *st)
{
    *st = d->st;
}
