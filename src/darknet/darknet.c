/* Darknet statistics: per day x kind x protocol x port counters with distinct sources, sources
 * by country and AS, top talkers and backscatter victims. See ks_darknet.h.
 *
 * The work of a packet is split in two. The front (ks_darknet_feed, in the caller's thread)
 * keeps what needs the packet itself: the monitored check, the day, the kind, the port, the
 * hash of the source and the victim quoted in an ICMP error; it fills a small event. The back
 * (process) keeps every table, in capture order. With a worker thread the events go through
 * a single-producer/single-consumer ring, published in groups so that no lock or atomic is
 * taken per packet; without one, feed calls process directly. Either way the records are the
 * same, since the back sees the same events in the same order. */
#include "kansoku/ks_darknet.h"
#include "core/cur.h"
#include "core/fmt.h"
#include "core/hash.h"
#include "core/mem.h"
#include "core/sort.h"
#include "core/spin.h"
#include "kansoku/ks_hll.h"
#include "kansoku/ks_table.h"
#include "kansoku/ks_time.h"
#include "topk.h"

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* Source addresses are hashed with this fixed seed so that the sketches of every sensor and
 * every run can be merged. */
#define SRC_SEED UINT64_C(0x6b616e736f6b7564)
#define SMALL 4 /* a cell's first distinct sources, held in the cell */
/* then up to MID in a block of its own (the long tail of ports that a few sources scan: a
 * sketch of 2^p bytes each would take most of the memory and run out), then a sketch */
#define MID 16
_Static_assert(4 + MID * 8 <= KS_HLL_SER_MAX, "an exact cell is serialised into ser");
#define SKETCH_LOST UINT32_MAX
#define NCC (27 * 27) /* two letters A-Z, or '-' as the 27th symbol */
#define FRONT_SIZE ((size_t)2 * 4 * 65536)
#define FRONT_BYTES (FRONT_SIZE * sizeof(uint32_t)) /* 2 MiB, one huge page */
#define FRONT_DROPPED UINT32_MAX
#define FRONT_NONE UINT32_MAX
/* Scanning sources wait this many packets before their table update, so that the update's
 * bucket, prefetched when the packet arrived, is in the cache by then: with a million one-off
 * sources a day the table is far larger than the cache and every update would miss. */
#define SRC_DELAY 8
/* Evicted sources wait in a log of this many for their geo lookups, done in address order
 * (neighbouring addresses share the lookup's path through the data: about 3x fewer cache
 * misses than in arrival order), then are accounted in arrival order. */
#define LOG_SIZE 65536
#define RING_SIZE 262144 /* events between the front and a worker (a power of two) */
/* the ring's bytes: whole huge pages (4 MiB) */
#define RING_BYTES ks_huge_len((size_t)RING_SIZE * sizeof(struct slot))
/* the full events beside it, one place per slot, used only by the slots that say so */
#define FULL_BYTES ((size_t)RING_SIZE * sizeof(struct ev))
/* The front publishes its position every this many events (with a fence for slot_store's
 * streaming stores, which waits for them to reach memory: every 64 cost ~20 ms a run) */
#define PUBLISH_EVERY 256
/* A worker prefetches for the events this far ahead (see prefetch_ev). */
#define AHEAD0 24
#define AHEAD1 14
#define AHEAD2 6
#define AHEAD_RING 64

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
    uint32_t nsmall;       /* distinct sources held exactly (in small, or in the mid block) */
    uint32_t mid;          /* mid block index + 1 (holding all nsmall hashes); 0 none */
};

struct agg {
    uint64_t sources, packets;
};

struct as_val {
    uint64_t sources, packets;
    const char *org; /* borrowed from the geo handle */
};

/* The day's scanning sources: a set-associative table of max_sources entries with
 * approximate-LRU eviction. Buckets of 4 entries, each one 128-byte block (tags and stamps,
 * packet counts, addresses), so that an update touches two neighbouring cache lines. A key
 * lives in one of SB_PROBE buckets from its home; a bucket counts the keys that passed it
 * (ovf) so that a lookup stops at the first bucket nobody passed. A key that finds no room
 * within its buckets, or arrives when the table holds max_sources entries, evicts the least
 * recently seen entry of its home bucket and the next (8 slots, both prefetched). The home is from
 * the source's hash (fixed seed, so that runs are reproducible); since a key never looks further
 * than its SB_PROBE buckets, colliding sources cost bounded work whatever their number. */
#define SB_WAYS 4
#define SB_PROBE 8
#define SB_SAMPLE 8
#define TAG_USED 0x80000000u
#define TAG_V6 0x40000000u
#define TAG_HASH 0x3fffffffu
#define SB_START 32768 /* buckets (4 MiB) a larger table starts with */

struct src_bucket {
    uint32_t tag[SB_WAYS]; /* 0 free, else TAG_USED | TAG_V6 (IPv6) | low 30 bits of the hash */
    uint32_t stamp[SB_WAYS];
    uint64_t packets[SB_WAYS];
    uint8_t addr[SB_WAYS][16];
};

struct src_tab {
    struct src_bucket *b; /* in use: in raw (aligned to 64), or region[cur] */
    void *raw;            /* a small table's mapping, of raw_len bytes */
    size_t raw_len;
    struct src_bucket *region[2]; /* a large table: two mappings, see srct_grow */
    size_t region_len;
    unsigned cur;
    uint8_t *ovf; /* keys placed past this bucket (saturates at 255, then stays) */
    uint32_t mask, max_mask, window;
    uint32_t count, cap;
};

/* A scanning source leaving the day's table, waiting for its accounting. */
struct acct {
    struct ks_addr a;
    uint64_t packets;
};

struct geo_res {
    const char *org;
    uint32_t asn;
    uint16_t cc; /* cc_index */
};

enum { EV_PKT = 0, EV_FLUSH = 1, EV_STOP = 2 };

/* One monitored packet, as the front saw it. */
struct ev {
    uint64_t h;       /* hash of the source (SRC_SEED) */
    struct ks_addr a; /* scan: the source; backscatter: the victim */
    uint8_t type;     /* EV_* */
    uint8_t kind;     /* enum ks_darknet_kind */
    uint8_t proto;
    uint16_t port;
    int32_t day; /* EV_FLUSH: emit days before this one */
    uint32_t wire_len, weight;
    uint32_t front; /* the cell's index in the day's direct index, FRONT_NONE if it has none */
};

/* A slot of the ring: 16 bytes, four to a cache line. The ring's lines are written on the
 * reader's CPU and read on both workers': a 48-byte event took three times the lines and the
 * memory (12 MiB, each page zeroed by the kernel on the first lap). A monitored
 * IPv4 packet of the current day with a TCP, UDP, ICMP or ICMPv6 cell, weight 1 and at most
 * SLOT_LEN_MAX bytes (nearly every packet a darknet sees) fits in a slot: the hash, the address
 * and, in w, the cell's front index (which holds kind, protocol and port) and the length. Any
 * other event is written whole at the same position of the ring's full[] and its slot says
 * SLOT_FULL. The day of a slot is the ring's day: the latest day of the full packet events
 * before it, which the front and each worker follow by the same rule (ring_day_after). */
struct slot {
    uint64_t h;  /* hash of the source */
    uint32_t a4; /* the IPv4 address of struct ev's a, as in ks_addr.b */
    uint32_t w;  /* front | wire_len << SLOT_LEN_SHIFT, or SLOT_FULL */
};
_Static_assert(sizeof(struct slot) == 16, "four slots to a cache line");
_Static_assert(offsetof(struct slot, w) == offsetof(struct slot, a4) + 4,
               "a4 and w are one 8-byte word (slot_store)");
#define SLOT_FULL UINT32_MAX
#define SLOT_LEN_SHIFT 19 /* the front index takes the bits below (kind, protocol, port) */
#define SLOT_FRONT_MASK ((1u << SLOT_LEN_SHIFT) - 1)
#define SLOT_LEN_MAX ((1u << (31 - SLOT_LEN_SHIFT)) - 1) /* bit 31 stays 0: never SLOT_FULL */

/* The day of the slots that follow (see struct slot). */
struct ring_day {
    bool have;
    int32_t day;
};

/* The ring day after a full packet event of day `day`: the latest such day. */
static inline void ring_day_after(struct ring_day *rd, int32_t day)
{
    if (!rd->have || day > rd->day) {
        rd->have = true;
        rd->day = day;
    }
}

/* The protocols of the front index's protocol classes (front_of). */
static const uint8_t front_proto[4] = {6, 17, 1, 58};

struct ring {
    _Alignas(64) _Atomic uint64_t head;         /* consumer position */
    _Alignas(64) _Atomic uint64_t head_b;       /* the second consumer's, with two workers */
    _Alignas(64) _Atomic uint64_t tail;         /* producer position */
    _Alignas(64) uint64_t p_tail, p_head_cache; /* producer-local */
    struct ring_day p_day;                      /* the front's ring day (see struct slot) */
    _Alignas(64) struct slot *slots;
    struct ev *full; /* RING_SIZE, touched only where a slot says SLOT_FULL */
};

struct ks_darknet {
    struct ks_darknet_config cfg;
    struct ks_darknet_sink sink;
    char sensor[128];
    struct ks_prefix_set *mon;
    struct ks_prefix *prefixes;
    size_t nprefixes, prefixes_cap;
    /* up to 8 IPv4 prefixes and no IPv6 one (the usual darknet): checked inline, else -1 and
     * the prefix set is asked */
    int nfast4;
    uint32_t fast4_net[8], fast4_mask[8];
    uint64_t monitored;

    /* the front */
    uint64_t fr_packets, fr_not_monitored;
    bool fr_have_day;
    int32_t fr_day;
    int64_t fr_start, fr_end;
    struct ev one; /* the event, without a worker */

    /* the workers: with one, it does all of the back; with two (split), A keeps the cells
     * and the day's totals and B the sources (their table, geo, country, AS, talkers). Both
     * read every event; they meet at the end of each day (emit_day, b_finish_day) and at
     * each flush. */
    bool threaded, split, th_started, th_b_started;
    pthread_t th, th_b;
    struct ring ring;
    _Atomic uint64_t flush_done; /* flushes the worker (A) has finished */
    uint64_t flush_sent, a_flushes;
    struct ks_darknet_stats snap; /* the back's counters at the last flush (with a worker) */
    _Alignas(64) _Atomic uint64_t b_ready;   /* days B has finished */
    _Alignas(64) _Atomic uint64_t a_done;    /* days A has emitted */
    _Alignas(64) _Atomic uint64_t b_flushed; /* flushes B has seen */
    uint64_t a_days;
    struct ring_day a_rday; /* A's ring day (see struct slot) */

    /* the back */
    struct ks_table *cells; /* struct cell_key -> uint32_t index into cell_pool */
    struct cell *cell_pool; /* max_cells */
    size_t cell_pool_len;   /* its mapping */
    uint32_t *cell_free;    /* free cell_pool indices */
    uint32_t ncell_free;
    uint32_t *front;     /* the current day's cells of TCP/UDP/ICMP/ICMPv6 by kind and
                            port: index + 1, 0 unknown, FRONT_DROPPED (see cell_for) */
    uint8_t *pool;       /* max_sketches * 2^p registers */
    size_t pool_len;     /* its mapping */
    uint32_t *free_list; /* free pool indices */
    uint32_t nfree;
    uint64_t *mid_pool; /* max_cells blocks of MID hashes */
    size_t mid_pool_len;
    uint32_t *mid_free; /* free block indices */
    uint32_t nmid_free;
    size_t regs;  /* 2^p */
    uint8_t *ser; /* serialised sketch */

    /* the current day */
    bool have_day;
    int32_t day;
    int64_t day_start; /* µs UTC */
    struct ks_hll day_scan, day_bs;
    uint64_t day_packets, day_scan_pk, day_bs_pk, day_dropped;
    struct topk victims;
    struct ks_darknet_stats st;

    /* the sources' side (B) */
    _Alignas(64) uint32_t clock; /* events seen: the stamps of the source table */
    struct ring_day b_rday;      /* B's ring day (see struct slot) */
    bool b_have_day;             /* B's own day, when split */
    int32_t b_day;
    uint64_t b_days, b_flushes;
    uint64_t b_evicted, b_as_dropped; /* stats sources_evicted and as_dropped */
    uint64_t day_domestic;
    struct src_tab srcs;
    struct pending_src {
        struct ks_addr addr;
        uint64_t hash;
        uint32_t stamp;
        uint64_t packets;
    } pending[SRC_DELAY]; /* updates of srcs not yet applied, oldest at pending_head */
    uint32_t pending_head, npending;
    struct acct *log; /* LOG_SIZE sources to account, in order */
    struct geo_res *res;
    uint64_t *sort_a, *sort_b; /* radix sort of the log's IPv4 addresses */
    uint32_t nlog;
    unsigned home_cc; /* cc_index of cfg.home, NCC if no country can match it */
    struct agg country[NCC];
    /* The day's AS: rows in arrival order (AS0 first, always present), found through an
     * open-addressing index of (asn, row + 1) pairs at most half full: 8 bytes a slot, so that
     * the index of 16384 AS stays in the cache. */
    struct as_row {
        uint32_t asn;
        struct as_val v;
    } * as_rows;
    uint32_t nas_rows;
    struct ks_kv *as_order;   /* 2 * (max_as + 1): the rows' sort keys (and scratch) */
    struct as_row *as_sorted; /* max_as + 1: the rows in that order */
    struct as_slot {
        uint32_t asn, row; /* row + 1; 0 empty */
    } * as_idx;
    uint32_t as_mask;
    struct topk talkers;
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

/* --- the day's scanning sources ------------------------------------------------------------ */

static int srct_init(struct src_tab *t, uint32_t cap)
{
    /* as many slots as entries (more when cap is not a power of two): buckets stay full, so
     * that the two buckets an eviction looks at hold 8 entries to choose from */
    uint64_t nb = 1;
    while (nb * SB_WAYS < cap)
        nb <<= 1;
    t->ovf = calloc(nb, 1); /* a large calloc is mapped: pages are touched as used */
    if (!t->ovf)
        return KS_ENOMEM;
    t->max_mask = (uint32_t)(nb - 1);
    t->cap = cap;
    t->count = 0;
    t->window = nb < SB_PROBE ? (uint32_t)nb : SB_PROBE;
    if (nb <= SB_START) {
        t->raw_len = ks_huge_len(nb * sizeof *t->b);
        t->raw = ks_map_huge(t->raw_len); /* random buckets: few TLB misses */
        if (!t->raw)
            return KS_ENOMEM;
        t->b = t->raw;
        t->mask = t->max_mask;
        ks_touch_pages(t->b, nb * sizeof *t->b);
        return KS_OK;
    }
    /* Larger: both regions reserved now, used from SB_START buckets, doubled by srct_grow as
     * sources arrive, so that memory follows the sources held and not max_sources. */
    t->region_len = nb * sizeof *t->b;
    for (int i = 0; i < 2; i++) {
        void *m =
            mmap(NULL, t->region_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return KS_ENOMEM;
        t->region[i] = m;
    }
    t->b = t->region[0];
    t->mask = SB_START - 1;
    ks_touch_pages(t->b, (size_t)SB_START * sizeof *t->b);
    return KS_OK;
}

static void srct_fini(struct src_tab *t)
{
    if (t->raw)
        munmap(t->raw, t->raw_len);
    for (int i = 0; i < 2; i++)
        if (t->region[i])
            munmap(t->region[i], t->region_len);
    free(t->ovf);
}

static void srct_clear(struct src_tab *t)
{
    if (!t->count) /* entries only leave to make room for others: ovf is all 0 */
        return;
    /* only what is set: the pages of a large table that were never used stay unmapped */
    for (uint32_t i = 0; i <= t->mask; i++) {
        uint32_t *tag = t->b[i].tag;
        if (tag[0] | tag[1] | tag[2] | tag[3])
            memset(tag, 0, sizeof t->b[i].tag);
        if (t->ovf[i])
            t->ovf[i] = 0;
    }
    t->count = 0;
}

static inline uint32_t src_tag(const struct ks_addr *a, uint64_t h)
{
    return ((uint32_t)h & TAG_HASH) | TAG_USED | (a->family == 6 ? TAG_V6 : 0);
}

/* The home bucket of a key, the next one (an insertion into a full table evicts from both)
 * and the home's overflow count. Always inlined, like prefetch_ev (see there). */
static inline __attribute__((always_inline)) void srct_prefetch(const struct src_tab *t, uint64_t h)
{
    uint32_t home = (uint32_t)h & t->mask;
    const uint8_t *b = (const uint8_t *)&t->b[home];
    __builtin_prefetch(b, 1, 3);
    __builtin_prefetch(b + 64, 1, 3);
    if (t->count >= t->cap) {
        const uint8_t *n = (const uint8_t *)&t->b[(home + 1) & t->mask];
        __builtin_prefetch(n, 1, 3);
        __builtin_prefetch(n + 64, 1, 3);
    }
    __builtin_prefetch(&t->ovf[home], 0, 3);
}

static void srct_entry(const struct src_tab *t, uint32_t bi, unsigned k, struct acct *out)
{
    const struct src_bucket *b = &t->b[bi];
    memset(&out->a, 0, sizeof out->a);
    out->a.family = (b->tag[k] & TAG_V6) ? 6 : 4;
    memcpy(out->a.b, b->addr[k], 16);
    out->packets = b->packets[k];
}

static void log_source(struct ks_darknet *d, const struct acct *s);

/* Removes the least recently seen entry of the first SB_SAMPLE slots from bucket `home` on
 * (the home bucket and the next; further on if those are empty: the table holds at least one
 * entry), handing it to the log. */
static void srct_evict(struct ks_darknet *d, uint32_t home, uint32_t now)
{
    struct src_tab *t = &d->srcs;
    uint32_t bi = home, best_b = 0, best_age = 0, seen = 0;
    unsigned best_k = 0;
    for (uint32_t n = 0; n <= t->mask && (seen == 0 || n * SB_WAYS < SB_SAMPLE);
         n++, bi = (bi + 1) & t->mask) {
        const struct src_bucket *b = &t->b[bi];
        for (unsigned k = 0; k < SB_WAYS; k++) {
            if (!b->tag[k])
                continue;
            uint32_t age = now - b->stamp[k]; /* wraps: serial number arithmetic */
            if (seen == 0 || age > best_age) {
                best_b = bi;
                best_k = k;
                best_age = age;
            }
            seen++;
        }
    }
    struct acct victim;
    srct_entry(t, best_b, best_k, &victim);
    d->b_evicted++;
    log_source(d, &victim);
    uint32_t tag = t->b[best_b].tag[best_k];
    t->b[best_b].tag[best_k] = 0;
    for (uint32_t i = tag & t->mask; i != best_b; i = (i + 1) & t->mask)
        if (t->ovf[i] != UINT8_MAX)
            t->ovf[i]--;
    t->count--;
}

/* Places a new key in the first free entry of its window; false if there is none. */
static bool srct_place(struct src_tab *t, const struct ks_addr *a, uint32_t tag, uint32_t now,
                       uint64_t w)
{
    uint32_t home = tag & t->mask;
    for (uint32_t p = 0; p < t->window; p++) {
        uint32_t bi = (home + p) & t->mask;
        struct src_bucket *b = &t->b[bi];
        for (unsigned k = 0; k < SB_WAYS; k++) {
            if (b->tag[k])
                continue;
            b->tag[k] = tag;
            b->stamp[k] = now;
            b->packets[k] = w;
            memcpy(b->addr[k], a->b, 16);
            for (uint32_t q = 0; q < p; q++) {
                uint32_t i = (home + q) & t->mask;
                if (t->ovf[i] != UINT8_MAX)
                    t->ovf[i]++;
            }
            t->count++;
            return true;
        }
    }
    return false;
}

/* Doubles a large table (half full) into the other region, in bucket order, and gives the old
 * region's pages back. An entry that finds no room (its SB_PROBE buckets full: not in practice at
 * a load of 1/4) is accounted as if evicted. */
static void srct_grow(struct ks_darknet *d)
{
    struct src_tab *t = &d->srcs;
    struct src_bucket *old = t->b;
    uint32_t old_n = t->mask + 1;
    t->cur ^= 1;
    t->b = t->region[t->cur];
    t->mask = 2 * t->mask + 1;
    ks_touch_pages(t->b, ((size_t)t->mask + 1) * sizeof *t->b);
    memset(t->ovf, 0, (size_t)t->mask + 1);
    t->count = 0;
    for (uint32_t bi = 0; bi < old_n; bi++)
        for (unsigned k = 0; k < SB_WAYS; k++) {
            if (!old[bi].tag[k])
                continue;
            struct acct s;
            memset(&s.a, 0, sizeof s.a);
            s.a.family = (old[bi].tag[k] & TAG_V6) ? 6 : 4;
            memcpy(s.a.b, old[bi].addr[k], 16);
            s.packets = old[bi].packets[k];
            if (!srct_place(t, &s.a, old[bi].tag[k], old[bi].stamp[k], s.packets)) {
                d->b_evicted++;
                log_source(d, &s);
            }
        }
    (void)madvise(old, (size_t)old_n * sizeof *old, MADV_DONTNEED); /* reads as zeros again */
}

/* Inserts the new source a (tag from src_tag) with w packets, growing the table or evicting
 * another when full. */
static void srct_insert(struct ks_darknet *d, const struct ks_addr *a, uint32_t tag, uint32_t now,
                        uint64_t w)
{
    struct src_tab *t = &d->srcs;
    if (t->mask < t->max_mask && ((uint64_t)t->count + 1) * 2 > ((uint64_t)t->mask + 1) * SB_WAYS)
        srct_grow(d);
    if (t->count < t->cap && srct_place(t, a, tag, now, w))
        return;
    srct_evict(d, tag & t->mask, now);
    if (!srct_place(t, a, tag, now, w)) /* cannot happen: the eviction made room */
        d->b_evicted++;
}

/* Adds w packets to the source whose tag is `tag` and whose address begins with the n bytes of
 * key, if the table holds it: false if not. n is 16, or 4 for an IPv4 source (an entry with
 * an IPv4 tag has the same family, and its other twelve bytes are zero). Always inlined, so
 * that the comparison is of a constant length. */
static inline __attribute__((always_inline)) bool
srct_bump(struct src_tab *t, uint32_t tag, const void *key, size_t n, uint32_t now, uint64_t w)
{
    uint32_t home = tag & t->mask;
    for (uint32_t p = 0; p < t->window; p++) {
        uint32_t bi = (home + p) & t->mask;
        struct src_bucket *b = &t->b[bi];
        for (unsigned k = 0; k < SB_WAYS; k++) {
            if (b->tag[k] == tag && memcmp(b->addr[k], key, n) == 0) {
                b->stamp[k] = now;
                b->packets[k] += w;
                return true;
            }
        }
        if (!t->ovf[bi])
            break;
    }
    return false;
}

/* Adds w packets to source a (hash h), inserting it, and evicting another when full. */
static void srct_add(struct ks_darknet *d, const struct ks_addr *a, uint64_t h, uint32_t now,
                     uint64_t w)
{
    uint32_t tag = src_tag(a, h);
    if (!srct_bump(&d->srcs, tag, a->b, sizeof a->b, now, w))
        srct_insert(d, a, tag, now, w);
}

/* srct_add of one packet of the IPv4 source a4 (as in ks_addr.b), for a compact ring slot:
 * four bytes decide (srct_bump). */
static void srct_add4(struct ks_darknet *d, uint32_t a4, uint64_t h, uint32_t now)
{
    uint32_t tag = ((uint32_t)h & TAG_HASH) | TAG_USED;
    if (srct_bump(&d->srcs, tag, &a4, sizeof a4, now, 1))
        return;
    struct ks_addr a = {.family = 4};
    memcpy(a.b, &a4, sizeof a4);
    srct_insert(d, &a, tag, now, 1);
}

/* --- accounting the sources of the day: geo, country, AS, talkers -------------------------- */

/* The AS row of asn, added if new; NULL when max_as + 1 rows are taken. */
static struct as_val *as_get(struct ks_darknet *d, uint32_t asn)
{
    uint32_t i = (uint32_t)(((uint64_t)asn * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & d->as_mask;
    for (;; i = (i + 1) & d->as_mask) {
        struct as_slot *s = &d->as_idx[i];
        if (!s->row) {
            if (d->nas_rows > d->cfg.max_as)
                return NULL;
            struct as_row *r = &d->as_rows[d->nas_rows++];
            memset(r, 0, sizeof *r);
            r->asn = asn;
            s->asn = asn;
            s->row = d->nas_rows;
            return &r->v;
        }
        if (s->asn == asn)
            return &d->as_rows[s->row - 1].v;
    }
}

static void account(struct ks_darknet *d, const struct acct *s, const struct geo_res *r)
{
    struct agg *c = &d->country[r->cc];
    c->sources++;
    c->packets += s->packets;
    if (r->cc == d->home_cc)
        d->day_domestic++;
    topk_add(&d->talkers, &s->a, s->packets);
    uint32_t asn = r->asn;
    struct as_val *v = as_get(d, asn);
    if (!v) {
        d->b_as_dropped++;
        asn = 0;
        v = &d->as_rows[0].v; /* AS0 is always present */
    }
    v->sources++;
    v->packets += s->packets;
    if (!v->org)
        v->org = asn ? r->org : "";
}

static void geo_res_of(const struct ks_geo_result *r, struct geo_res *out)
{
    out->cc = (uint16_t)cc_index(r->country);
    out->asn = r->asn;
    out->org = r->org;
}

static void geo_of(const struct ks_darknet *d, const struct ks_addr *a, struct geo_res *out)
{
    struct ks_geo_result r = {"--", 0, ""};
    if (d->cfg.geo)
        ks_geo_lookup(d->cfg.geo, a, &r);
    geo_res_of(&r, out);
}

/* Looks up the logged sources whose indices are the low halves of sa[0..m) (sorted by
 * address, in the high halves), each distinct address once and GEO_BATCH at a time (in address
 * order, most take the answer of the one before: ks_geo_lookup4_sorted), copying the result to
 * the repeats. */
#define GEO_BATCH 256
static void geo_batch(struct ks_darknet *d, const uint32_t *ip, const uint32_t *at,
                      struct ks_geo_result *r, uint32_t k)
{
    ks_geo_lookup4_sorted(d->cfg.geo, ip, k, r);
    for (uint32_t q = 0; q < k; q++)
        geo_res_of(&r[q], &d->res[at[q]]);
}

static void geo_sorted(struct ks_darknet *d, const uint64_t *sa, uint32_t m)
{
    uint32_t ip[GEO_BATCH], at[GEO_BATCH];
    struct ks_geo_result r[GEO_BATCH];
    uint32_t k = 0;
    for (uint32_t j = 0; j < m; j++) {
        if (j > 0 && sa[j] >> 32 == sa[j - 1] >> 32)
            continue; /* a repeat: copied below */
        at[k] = (uint32_t)sa[j];
        ip[k] = (uint32_t)(sa[j] >> 32);
        if (++k == GEO_BATCH) {
            geo_batch(d, ip, at, r, k);
            k = 0;
        }
    }
    if (k)
        geo_batch(d, ip, at, r, k);
    for (uint32_t j = 1; j < m; j++)
        if (sa[j] >> 32 == sa[j - 1] >> 32)
            d->res[(uint32_t)sa[j]] = d->res[(uint32_t)sa[j - 1]];
}

/* LSD radix sort of n keys by their upper 32 bits (11 + 11 + 10 bits); the result is in *a. */
static void radix_sort_hi32(uint64_t **a, uint64_t **b, uint32_t n)
{
    static const unsigned shift[3] = {32, 43, 54};
    static const unsigned bits[3] = {11, 11, 10};
    uint32_t count[2048];
    for (unsigned pass = 0; pass < 3; pass++) {
        uint64_t *src = *a, *dst = *b;
        uint32_t m = (1u << bits[pass]) - 1;
        memset(count, 0, sizeof count);
        for (uint32_t i = 0; i < n; i++)
            count[(src[i] >> shift[pass]) & m]++;
        uint32_t sum = 0;
        for (uint32_t i = 0; i <= m; i++) {
            uint32_t c = count[i];
            count[i] = sum;
            sum += c;
        }
        for (uint32_t i = 0; i < n; i++)
            dst[count[(src[i] >> shift[pass]) & m]++] = src[i];
        *a = dst;
        *b = src;
    }
}

/* Looks the logged sources up (IPv4 in address order, each distinct address once), then
 * accounts them in the order they were logged: the same as accounting each on arrival. */
static void drain_log(struct ks_darknet *d)
{
    uint32_t n = d->nlog, m = 0;
    if (!n)
        return;
    for (uint32_t i = 0; i < n; i++) {
        const struct ks_addr *a = &d->log[i].a;
        if (a->family == 4 && d->cfg.geo)
            d->sort_a[m++] = (uint64_t)a->b[0] << 56 | (uint64_t)a->b[1] << 48 |
                             (uint64_t)a->b[2] << 40 | (uint64_t)a->b[3] << 32 | i;
        else
            geo_of(d, a, &d->res[i]);
    }
    uint64_t *sa = d->sort_a, *sb = d->sort_b;
    radix_sort_hi32(&sa, &sb, m);
    geo_sorted(d, sa, m);
    for (uint32_t i = 0; i < n; i++)
        account(d, &d->log[i], &d->res[i]);
    d->nlog = 0;
}

static void log_source(struct ks_darknet *d, const struct acct *s)
{
    if (d->nlog == LOG_SIZE)
        drain_log(d);
    d->log[d->nlog++] = *s;
}

static void apply_src(struct ks_darknet *d, const struct pending_src *ps)
{
    srct_add(d, &ps->addr, ps->hash, ps->stamp, ps->packets);
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

/* Queues the update of a scanning source's packet count, prefetching its bucket; applies the
 * oldest queued one when the queue is full. */
static void count_source(struct ks_darknet *d, const struct ks_addr *a, uint64_t h, uint64_t w)
{
    srct_prefetch(&d->srcs, h);
    if (d->npending == SRC_DELAY) {
        apply_src(d, &d->pending[d->pending_head]);
        d->pending_head = (d->pending_head + 1) % SRC_DELAY;
        d->npending--;
    }
    struct pending_src *ps = &d->pending[(d->pending_head + d->npending) % SRC_DELAY];
    ps->addr = *a;
    ps->hash = h;
    ps->stamp = d->clock;
    ps->packets = w;
    d->npending++;
}

/* The sources' side of a new day. */
static void reset_b(struct ks_darknet *d)
{
    d->npending = 0;
    d->pending_head = 0;
    d->nlog = 0;
    srct_clear(&d->srcs);
    memset(d->as_idx, 0, ((size_t)d->as_mask + 1) * sizeof *d->as_idx);
    d->nas_rows = 0;
    as_get(d, 0);
    memset(d->country, 0, sizeof d->country);
    d->day_domestic = 0;
    topk_reset(&d->talkers);
}

/* The rest of a new day. */
static void reset_a(struct ks_darknet *d)
{
    ks_hll_reset(&d->day_scan);
    ks_hll_reset(&d->day_bs);
    d->day_packets = d->day_scan_pk = d->day_bs_pk = d->day_dropped = 0;
    topk_reset(&d->victims);
}

/* B: every source of the day accounted (country, AS, talkers), ready to be emitted. */
static void finish_sources(struct ks_darknet *d)
{
    drain_pending(d);
    const struct src_tab *t = &d->srcs;
    for (uint32_t bi = 0; t->count && bi <= t->mask; bi++)
        for (unsigned k = 0; k < SB_WAYS; k++)
            if (t->b[bi].tag[k]) {
                struct acct s;
                srct_entry(t, bi, k, &s);
                log_source(d, &s);
            }
    drain_log(d);
}

static void *worker(void *arg);
static void *worker_b(void *arg);
static void stop_worker(struct ks_darknet *d);

int ks_darknet_new(const struct ks_darknet_config *cfg, const struct ks_darknet_sink *sink,
                   struct ks_darknet **dp)
{
    *dp = NULL;
    if (!cfg || !cfg->sensor || !cfg->sensor[0] || strlen(cfg->sensor) >= 128 ||
        cfg->max_cells == 0 || cfg->max_sources == 0 || cfg->max_sources > (1u << 28) ||
        cfg->max_as == 0 || cfg->max_as > (1u << 24) || cfg->topk == 0 || cfg->topk > (1u << 24) ||
        cfg->hll_p < KS_HLL_P_MIN || cfg->hll_p > KS_HLL_P_MAX || cfg->tz_offset_s <= -86400 ||
        cfg->tz_offset_s >= 86400 || cfg->workers > 64)
        return KS_EINVAL;
    int rc = KS_ENOMEM;
    struct ks_darknet *d = aligned_alloc(64, (sizeof *d + 63) & ~(size_t)63);
    if (!d)
        return KS_ENOMEM;
    memset(d, 0, sizeof *d);
    d->cfg = *cfg;
    snprintf(d->sensor, sizeof d->sensor, "%s", cfg->sensor);
    d->cfg.sensor = d->sensor;
    if (sink)
        d->sink = *sink;
    d->regs = ks_hll_regs_size(cfg->hll_p);
    d->home_cc = cc_index(cfg->home);
    char hc[3];
    cc_text(d->home_cc, hc);
    if (hc[0] != cfg->home[0] || hc[1] != cfg->home[1])
        d->home_cc = NCC;

    struct ks_table_config tc;
    ks_table_config_default(&tc);
    tc.key_size = sizeof(struct cell_key);
    tc.value_size = sizeof(uint32_t);
    tc.capacity = cfg->max_cells;
    tc.evict = KS_TABLE_EVICT_NONE;
    tc.seed = 1; /* reproducible emission order */
    if (ks_table_new(&tc, &d->cells) != KS_OK)
        goto out;
    d->cell_pool_len = ks_huge_len((size_t)cfg->max_cells * sizeof *d->cell_pool);
    d->cell_pool = ks_map_huge(d->cell_pool_len); /* cells at random: few TLB misses */
    d->cell_free = malloc((size_t)cfg->max_cells * sizeof *d->cell_free);
    d->front = ks_map_huge(FRONT_BYTES); /* ports at random: few TLB misses */
    if (d->front)                        /* read before written (cell_for): see ks_touch_pages */
        ks_touch_pages(d->front, FRONT_SIZE * sizeof *d->front);
    if (!d->cell_pool || !d->cell_free || !d->front)
        goto out;
    for (uint32_t i = 0; i < cfg->max_cells; i++)
        d->cell_free[i] = cfg->max_cells - 1 - i;
    d->ncell_free = cfg->max_cells;

    d->mid_pool_len = ks_huge_len((size_t)cfg->max_cells * MID * sizeof *d->mid_pool);
    d->mid_pool = ks_map_huge(d->mid_pool_len); /* blocks at random: few TLB misses */
    d->mid_free = malloc((size_t)cfg->max_cells * sizeof *d->mid_free);
    if (!d->mid_pool || !d->mid_free)
        goto out;
    for (uint32_t i = 0; i < cfg->max_cells; i++) /* each cell holds one block at the most */
        d->mid_free[i] = cfg->max_cells - 1 - i;
    d->nmid_free = cfg->max_cells;

    if (srct_init(&d->srcs, cfg->max_sources) != KS_OK)
        goto out;
    d->log = malloc(LOG_SIZE * sizeof *d->log);
    d->res = malloc(LOG_SIZE * sizeof *d->res);
    d->sort_a = malloc(LOG_SIZE * sizeof *d->sort_a);
    d->sort_b = malloc(LOG_SIZE * sizeof *d->sort_b);
    if (!d->log || !d->res || !d->sort_a || !d->sort_b)
        goto out;

    size_t as_slots = 8;
    while (as_slots < 2 * ((size_t)cfg->max_as + 1))
        as_slots <<= 1;
    d->as_mask = (uint32_t)(as_slots - 1);
    d->as_idx = calloc(as_slots, sizeof *d->as_idx);
    d->as_rows = calloc((size_t)cfg->max_as + 1, sizeof *d->as_rows);
    d->as_order = malloc(2 * ((size_t)cfg->max_as + 1) * sizeof *d->as_order);
    d->as_sorted = malloc(((size_t)cfg->max_as + 1) * sizeof *d->as_sorted);
    if (!d->as_idx || !d->as_rows || !d->as_order || !d->as_sorted)
        goto out;

    if (cfg->max_sketches) {
        d->pool_len = ks_huge_len((size_t)cfg->max_sketches * d->regs);
        d->pool = ks_map_huge(d->pool_len); /* registers at random: few TLB misses */
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
    reset_a(d);
    reset_b(d);
    if (cfg->workers) {
        d->ring.slots = ks_map_huge(RING_BYTES);
        /* in small pages: only the few places that are used get memory */
        void *full =
            mmap(NULL, FULL_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        d->ring.full = full == MAP_FAILED ? NULL : full;
        if (!d->ring.slots || !d->ring.full)
            goto out;
#ifdef MADV_NOHUGEPAGE
        (void)madvise(full, FULL_BYTES, MADV_NOHUGEPAGE);
#endif
        d->threaded = true;
        d->split = cfg->workers >= 2;
        if (d->split) {
            if (pthread_create(&d->th_b, NULL, worker_b, d) != 0) {
                rc = KS_EIO;
                goto out;
            }
            d->th_b_started = true;
#ifdef __GLIBC__
            pthread_setname_np(d->th_b, "ks-darknet-src");
#endif
        }
        if (pthread_create(&d->th, NULL, worker, d) != 0) {
            rc = KS_EIO;
            goto out;
        }
        d->th_started = true;
#ifdef __GLIBC__
        pthread_setname_np(d->th, "ks-darknet");
#endif
    }
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
    stop_worker(d);
    if (d->ring.slots)
        munmap(d->ring.slots, RING_BYTES);
    if (d->ring.full)
        munmap(d->ring.full, FULL_BYTES);
    ks_table_free(d->cells);
    if (d->cell_pool)
        munmap(d->cell_pool, d->cell_pool_len);
    free(d->cell_free);
    if (d->front)
        munmap(d->front, FRONT_BYTES);
    srct_fini(&d->srcs);
    free(d->log);
    free(d->res);
    free(d->sort_a);
    free(d->sort_b);
    free(d->as_idx);
    free(d->as_rows);
    free(d->as_order);
    free(d->as_sorted);
    if (d->pool)
        munmap(d->pool, d->pool_len);
    free(d->free_list);
    if (d->mid_pool)
        munmap(d->mid_pool, d->mid_pool_len);
    free(d->mid_free);
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

static inline uint32_t v4_of(const struct ks_addr *a)
{
    return (uint32_t)a->b[0] << 24 | (uint32_t)a->b[1] << 16 | (uint32_t)a->b[2] << 8 | a->b[3];
}

/* Whether a is in a monitored prefix (ks_prefix_set_lookup, with a shortcut). */
static inline bool is_monitored(const struct ks_darknet *d, const struct ks_addr *a)
{
    if (d->nfast4 < 0)
        return ks_prefix_set_lookup(d->mon, a, NULL, NULL);
    if (a->family != 4)
        return false;
    uint32_t k = v4_of(a);
    for (int i = 0; i < d->nfast4; i++)
        if ((k & d->fast4_mask[i]) == d->fast4_net[i])
            return true;
    return false;
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
    if (clean.addr.family == 4 && d->nfast4 >= 0 && d->nfast4 < 8 && clean.len <= 32) {
        d->fast4_mask[d->nfast4] = clean.len ? ~UINT32_C(0) << (32 - clean.len) : 0;
        d->fast4_net[d->nfast4] = v4_of(&clean.addr) & d->fast4_mask[d->nfast4];
        d->nfast4++;
    } else {
        d->nfast4 = -1;
    }
    recount_monitored(d);
    return KS_OK;
}

uint64_t ks_darknet_monitored(const struct ks_darknet *d)
{
    return d->monitored;
}

/* ks_darknet_is_backscatter, inline for the front. */
static inline bool is_backscatter(const struct ks_pkt *p)
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

bool ks_darknet_is_backscatter(const struct ks_pkt *p)
{
    return is_backscatter(p);
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

/* ks_hll_add_hash, inline: the first p bits of the hash choose the register, which keeps the
 * largest rank (position of the first 1 bit) of the rest. */
static inline void hll_add(uint8_t *reg, unsigned p, uint64_t hash)
{
    uint64_t w = hash << p;
    uint8_t rank = (uint8_t)(w ? (unsigned)__builtin_clzll(w) + 1 : 64 - p + 1);
    uint32_t idx = (uint32_t)(hash >> (64 - p));
    if (reg[idx] < rank)
        reg[idx] = rank;
}

/* The hashes a cell holds exactly: in the cell, or in its mid block. */
static inline uint64_t *cell_hashes(const struct ks_darknet *d, struct cell *c)
{
    return c->mid ? d->mid_pool + (size_t)(c->mid - 1) * MID : c->small;
}

static void cell_free_mid(struct ks_darknet *d, struct cell *c)
{
    if (c->mid) {
        d->mid_free[d->nmid_free++] = c->mid - 1;
        c->mid = 0;
    }
}

/* Turns a cell's exact hashes and h into a sketch; SKETCH_LOST when none is free. */
static void cell_to_sketch(struct ks_darknet *d, struct cell *c, uint64_t h)
{
    if (d->nfree == 0) {
        c->sketch = SKETCH_LOST; /* nsmall stays: at least that many sources */
        d->st.sketches_lost++;
        cell_free_mid(d, c);
        return;
    }
    uint32_t idx = d->free_list[--d->nfree];
    uint8_t *regs = d->pool + (size_t)idx * d->regs;
    memset(regs, 0, d->regs);
    struct ks_hll hll;
    ks_hll_init_buf(&hll, d->cfg.hll_p, regs, d->regs);
    const uint64_t *held = cell_hashes(d, c);
    for (uint32_t i = 0; i < c->nsmall; i++)
        ks_hll_add_hash(&hll, held[i]);
    ks_hll_add_hash(&hll, h);
    c->sketch = idx + 1;
    cell_free_mid(d, c);
}

/* Adds a source hash to a cell: exact while it has at most SMALL sources (in the cell), then
 * MID (in a block), then a sketch. */
static void cell_add_source(struct ks_darknet *d, struct cell *c, uint64_t h)
{
    if (c->sketch == SKETCH_LOST)
        return;
    if (c->sketch) {
        hll_add(d->pool + (size_t)(c->sketch - 1) * d->regs, d->cfg.hll_p, h);
        return;
    }
    uint64_t *held = cell_hashes(d, c);
    for (uint32_t i = 0; i < c->nsmall; i++)
        if (held[i] == h)
            return;
    if (c->nsmall < (c->mid ? MID : SMALL)) {
        held[c->nsmall++] = h;
        return;
    }
    if (!c->mid && d->nmid_free) {
        c->mid = d->mid_free[--d->nmid_free] + 1;
        uint64_t *block = cell_hashes(d, c);
        memcpy(block, c->small, sizeof c->small);
        block[c->nsmall++] = h;
        return;
    }
    cell_to_sketch(d, c, h);
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
        r.sources = (double)c->nsmall;
        r.sketch_lost = true;
    } else if (!c->sketch) {
        /* exact: the hashes themselves (cheaper than a sketch, and mergeable into one) */
        r.sources = (double)c->nsmall;
        r.sources_exact = true;
        if (!d->cfg.no_sketches) {
            d->ser[0] = 'K';
            d->ser[1] = 'S';
            d->ser[2] = 1;
            d->ser[3] = (uint8_t)c->nsmall;
            const uint64_t *held = cell_hashes(d, c);
            for (uint32_t i = 0; i < c->nsmall; i++)
                for (int j = 0; j < 8; j++) /* big-endian */
                    d->ser[4 + i * 8 + (uint32_t)j] = (uint8_t)(held[i] >> (56 - 8 * j));
            r.sketch = d->ser;
            r.sketch_len = 4 + (size_t)c->nsmall * 8;
        }
        cell_free_mid(d, c); /* the row is written from ser: the block may be reused */
    } else {
        struct ks_hll hll;
        ks_hll_init_buf(&hll, d->cfg.hll_p, d->pool + (size_t)(c->sketch - 1) * d->regs, d->regs);
        r.sources = ks_hll_estimate(&hll);
        size_t n = 0;
        if (!d->cfg.no_sketches && ks_hll_serialize(&hll, d->ser, KS_HLL_SER_MAX, &n) == KS_OK) {
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

static int by_sources_desc(const void *pa, const void *pb)
{
    const struct as_row *a = pa, *b = pb;
    if (a->v.sources != b->v.sources)
        return a->v.sources > b->v.sources ? -1 : 1;
    return a->asn < b->asn ? -1 : a->asn > b->asn;
}

/* The day's AS rows by sources, most first, then by AS number (by_sources_desc): sorted by one
 * 64-bit key when every count fits 32 bits (ten thousand rows a day). */
static void sort_as_rows(struct ks_darknet *d)
{
    uint32_t n = d->nas_rows;
    if (n < 2)
        return;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t src = d->as_rows[i].v.sources;
        if (src > UINT32_MAX) {
            qsort(d->as_rows, n, sizeof *d->as_rows, by_sources_desc);
            return;
        }
        d->as_order[i].key = (uint64_t)(UINT32_MAX - (uint32_t)src) << 32 | d->as_rows[i].asn;
        d->as_order[i].val = i;
    }
    const struct ks_kv *s = ks_radix_sort_kv(d->as_order, d->as_order + n, n);
    for (uint32_t i = 0; i < n; i++)
        d->as_sorted[i] = d->as_rows[s[i].val];
    memcpy(d->as_rows, d->as_sorted, (size_t)n * sizeof *d->as_rows);
}

/* "AS" and the number, as "AS%" PRIu32 would write it. */
static void as_key(uint32_t asn, char key[16])
{
    key[0] = 'A';
    key[1] = 'S';
    *ks_put_u64(key + 2, asn) = '\0';
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
    uint64_t seq = 0;
    if (d->split) { /* wait for B to finish the same day */
        seq = ++d->a_days;
        unsigned spins = 0;
        while (atomic_load_explicit(&d->b_ready, memory_order_acquire) < seq)
            ks_spin_backoff(&spins);
    } else {
        finish_sources(d);
    }
    for (unsigned i = 0; i < NCC; i++) {
        if (!d->country[i].sources)
            continue;
        char cc[3];
        cc_text(i, cc);
        bool home = cc[0] == d->cfg.home[0] && cc[1] == d->cfg.home[1];
        emit_source(d, day, KS_DARKNET_BY_COUNTRY, cc, "", home, d->country[i].sources,
                    d->country[i].packets, 0);
    }
    /* the rows with sources, most first (the index is not used again this day) */
    uint32_t n = 0;
    for (uint32_t i = 0; i < d->nas_rows; i++)
        if (d->as_rows[i].v.sources)
            d->as_rows[n++] = d->as_rows[i];
    d->nas_rows = n;
    sort_as_rows(d);
    for (uint32_t i = 0; i < d->nas_rows; i++) {
        char key[16];
        as_key(d->as_rows[i].asn, key);
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
    if (d->split) /* B may start its next day */
        atomic_store_explicit(&d->a_done, seq, memory_order_release);
    else
        reset_b(d);
    if (d->sink.day)
        d->sink.day(d->sink.user, &s);
    reset_a(d);
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

/* The cell of k: through the current day's direct index for TCP, UDP, ICMP and ICMPv6 (no
 * hashing on the hot path), else the table. NULL when no cell is free (counted by the caller;
 * the front index remembers it until the next flush). */
static struct cell *cell_for(struct ks_darknet *d, const struct cell_key *k, uint32_t front)
{
    uint32_t *slot = NULL;
    if (k->day == d->day && front != FRONT_NONE) {
        slot = &d->front[front];
        if (*slot == FRONT_DROPPED)
            return NULL;
        if (*slot)
            return &d->cell_pool[*slot - 1];
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

/* The back: one monitored packet, in capture order. */
static void process(struct ks_darknet *d, const struct ev *e, bool with_b)
{
    uint64_t w = e->weight;
    d->st.monitored += w;
    if (with_b)
        d->clock++;
    int32_t day = e->day;
    if (!d->have_day || day > d->day) {
        if (d->have_day)
            flush_days(d, day);
        d->have_day = true;
        d->day = day;
        d->day_start = day_start_of(d, day);
    } else if (day < d->day) {
        d->st.late += w;
    }
    bool bs = e->kind == KS_DARKNET_BACKSCATTER;
    if (day == d->day) {
        d->day_packets += w;
        if (bs) {
            d->day_bs_pk += w;
            hll_add(d->day_bs.reg, d->cfg.hll_p, e->h);
            topk_add(&d->victims, &e->a, w);
        } else {
            d->day_scan_pk += w;
            hll_add(d->day_scan.reg, d->cfg.hll_p, e->h);
            if (with_b && d->threaded) /* the worker prefetched its bucket (prefetch_ev) */
                srct_add(d, &e->a, e->h, d->clock, w);
            else if (with_b)
                count_source(d, &e->a, e->h, w);
        }
    }
    if (bs)
        d->st.backscatter += w;
    else
        d->st.scan += w;

    struct cell_key k = {.day = day, .port = e->port, .proto = e->proto, .kind = e->kind};
    struct cell *c = cell_for(d, &k, e->front);
    if (!c) {
        d->st.cells_dropped += w;
        if (day == d->day)
            d->day_dropped += w;
        return;
    }
    c->packets += w;
    c->bytes += (uint64_t)e->wire_len * w;
    cell_add_source(d, c, e->h);
}

/* The direct index of TCP, UDP, ICMP and ICMPv6 cells: kind x protocol x port. */
static inline uint32_t front_of(uint8_t kind, uint8_t proto, uint16_t port)
{
    int pc = proto == 6 ? 0 : proto == 17 ? 1 : proto == 1 ? 2 : proto == 58 ? 3 : -1;
    return pc < 0 ? FRONT_NONE : ((uint32_t)(kind * 4 + pc) << 16) | port;
}

/* The event of a compact slot of the ring day `day`. */
static inline void slot_event(const struct slot *s, int32_t day, struct ev *e)
{
    uint32_t front = s->w & SLOT_FRONT_MASK;
    e->type = EV_PKT;
    e->h = s->h;
    memset(&e->a, 0, sizeof e->a);
    e->a.family = 4;
    memcpy(e->a.b, &s->a4, 4);
    e->kind = (uint8_t)(front >> 18);
    e->proto = front_proto[(front >> 16) & 3];
    e->port = (uint16_t)front;
    e->day = day;
    e->wire_len = s->w >> SLOT_LEN_SHIFT;
    e->weight = 1;
    e->front = front;
}

/* What the prefetching of a worker needs of the event at a ring position. */
struct hint {
    uint64_t h;
    uint32_t front;
    int32_t day; /* a full event's */
    bool pkt, scan, full;
};

static inline struct hint hint_at(const struct ks_darknet *d, uint64_t pos)
{
    const struct slot *s = &d->ring.slots[pos & (RING_SIZE - 1)];
    struct hint k;
    if (s->w != SLOT_FULL) {
        k.h = s->h;
        k.front = s->w & SLOT_FRONT_MASK;
        k.day = 0;
        k.pkt = true;
        k.scan = (k.front >> 18) == KS_DARKNET_SCAN;
        k.full = false;
        return k;
    }
    const struct ev *e = &d->ring.full[pos & (RING_SIZE - 1)];
    k.h = e->h;
    k.front = e->front;
    k.day = e->day;
    k.pkt = e->type == EV_PKT;
    k.scan = e->kind == KS_DARKNET_SCAN;
    k.full = true;
    return k;
}

/* Hints for the only worker or A, which see the events to come: each loads what a later stage
 * or the update itself will read, so that the cache misses of many events overlap. Stage 0
 * (far ahead): the index slot and (the only worker) the source's bucket; 1: the cell or the
 * table's slot of a new one; 2: the sketch register or the block of hashes. A hint, not a
 * promise: the day of a compact slot is taken as the current one. Always inlined: GCC takes a
 * function whose only effect is a prefetch for one without side effects and drops its calls. */
static inline __attribute__((always_inline)) void prefetch_ev(const struct ks_darknet *d,
                                                              uint64_t pos, int stage)
{
    struct hint k = hint_at(d, pos);
    if (!k.pkt)
        return;
    if (k.full && k.day != d->day) /* another day's: the index is the current day's */
        k.front = FRONT_NONE;
    const uint32_t *slot = k.front == FRONT_NONE ? NULL : &d->front[k.front];
    if (stage == 0) {
        if (slot)
            __builtin_prefetch(slot, 0, 3);
        if (k.scan && !d->split)
            srct_prefetch(&d->srcs, k.h);
        return;
    }
    if (!slot || *slot == FRONT_DROPPED)
        return;
    if (*slot == 0) { /* the day's first packet of its cell: the table's slot */
        if (stage == 1) {
            struct cell_key ck = {.day = d->day,
                                  .port = (uint16_t)k.front,
                                  .proto = front_proto[(k.front >> 16) & 3],
                                  .kind = (uint8_t)(k.front >> 18)};
            ks_table_prefetch(d->cells, ks_table_hash(d->cells, &ck));
        }
        return;
    }
    const struct cell *c = &d->cell_pool[*slot - 1];
    if (stage == 1) {
        __builtin_prefetch(c, 1, 3);
        __builtin_prefetch((const uint8_t *)c + sizeof *c - 1, 1, 3);
        return;
    }
    uint32_t sk = c->sketch;
    if (sk && sk != SKETCH_LOST)
        __builtin_prefetch(
            d->pool + (size_t)(sk - 1) * d->regs + (uint32_t)(k.h >> (64 - d->cfg.hll_p)), 1, 3);
    else if (c->mid) {
        const uint64_t *block = d->mid_pool + (size_t)(c->mid - 1) * MID;
        __builtin_prefetch(block, 0, 3);
        __builtin_prefetch(block + 8, 0, 3);
    }
}

/* --- the worker ---------------------------------------------------------------------------- */

static void ring_publish(struct ring *r)
{
#if defined(__x86_64__)
    __builtin_ia32_sfence(); /* the slots' streaming stores (slot_store) before the tail */
#endif
    atomic_store_explicit(&r->tail, r->p_tail, memory_order_release);
}

/* How far every running worker has read. */
static uint64_t ring_head(const struct ks_darknet *d)
{
    uint64_t h = atomic_load_explicit(&d->ring.head, memory_order_acquire);
    if (d->th_b_started) {
        uint64_t hb = atomic_load_explicit(&d->ring.head_b, memory_order_acquire);
        if (!d->th_started || hb < h)
            h = hb;
    }
    return h;
}

/* The producer has caught up with the slowest worker: waits for room. */
static void ring_wait_room(struct ks_darknet *d)
{
    struct ring *r = &d->ring;
    r->p_head_cache = ring_head(d);
    unsigned spins = 0;
    while (r->p_tail - r->p_head_cache >= RING_SIZE) {
        ring_publish(r);
        ks_spin_backoff(&spins);
        r->p_head_cache = ring_head(d);
    }
}

/* The next free slot of the ring (waits for the workers when the ring is full). */
static inline struct slot *ring_slot(struct ks_darknet *d)
{
    struct ring *r = &d->ring;
    if (r->p_tail - r->p_head_cache >= RING_SIZE)
        ring_wait_room(d);
    return &r->slots[r->p_tail & (RING_SIZE - 1)];
}

/* Writes a compact slot. On x86-64 with non-temporal stores: the slot's line was last read on
 * a worker's CPU, and an ordinary store must take it back first (a read-for-ownership across
 * CPUs), holding its place in the store buffer meanwhile; when the two CPUs are far apart (the
 * slow phases of a virtual machine) those waits stalled the reader's next stores, its capture
 * loop three times longer. Streaming stores fill a write-combining buffer instead and go to
 * memory whole, where the workers' prefetches find them; ring_publish fences them before the
 * tail moves. Interleaved runs in such phases: 0.32-0.34 s -> 0.25-0.30 s; in fast phases the
 * same as ordinary stores (publishing every 256 events; every 64, the fences cost ~20 ms).
 * Prefetching the lines for writing instead helped in neither. */
static inline void slot_store(struct slot *s, uint64_t h, uint32_t a4, uint32_t w)
{
#if defined(__x86_64__)
    __builtin_ia32_movnti64((long long *)&s->h, (long long)h);
    __builtin_ia32_movnti64((long long *)&s->a4, (long long)((uint64_t)w << 32 | a4));
#else
    s->h = h;
    s->a4 = a4;
    s->w = w;
#endif
}

/* The next free slot, for a full event: the place to write it. */
static struct ev *ring_full(struct ks_darknet *d)
{
    ring_slot(d)->w = SLOT_FULL;
    return &d->ring.full[d->ring.p_tail & (RING_SIZE - 1)];
}

static void ring_commit(struct ring *r)
{
    r->p_tail++;
    if ((r->p_tail & (PUBLISH_EVERY - 1)) == 0)
        ring_publish(r);
}

/* B (with two workers): the sources of one monitored packet, or a flush. */
static void b_finish_day(struct ks_darknet *d)
{
    finish_sources(d);
    uint64_t seq = ++d->b_days;
    atomic_store_explicit(&d->b_ready, seq, memory_order_release);
    unsigned spins = 0; /* A emits the day from B's tables, then B starts the next */
    while (atomic_load_explicit(&d->a_done, memory_order_acquire) < seq)
        ks_spin_backoff(&spins);
    reset_b(d);
}

/* B: a packet's day, by the same rule as process; true if it is B's current day. */
static inline bool b_day_of(struct ks_darknet *d, int32_t day)
{
    d->clock++;
    if (!d->b_have_day || day > d->b_day) {
        if (d->b_have_day)
            b_finish_day(d);
        d->b_have_day = true;
        d->b_day = day;
    }
    return day == d->b_day;
}

/* B: a full event. Its sources are counted directly: the worker prefetched the bucket when the
 * event was AHEAD1 ahead, so the delay of count_source is not needed (applying an update later
 * or now is the same). */
static void process_b(struct ks_darknet *d, const struct ev *e)
{
    if (e->type == EV_FLUSH) { /* the same rule as flush_days */
        if (d->b_have_day && d->b_day < e->day) {
            b_finish_day(d);
            d->b_have_day = false;
        }
        atomic_store_explicit(&d->b_flushed, ++d->b_flushes, memory_order_release);
        return;
    }
    if (b_day_of(d, e->day) && e->kind == KS_DARKNET_SCAN)
        srct_add(d, &e->a, e->h, d->clock, e->weight);
}

/* B: a compact slot (a packet of the ring day `day`), read in place. */
static inline void process_b_slot(struct ks_darknet *d, const struct slot *s, int32_t day)
{
    if (b_day_of(d, day) && (s->w >> 18 & 1) == KS_DARKNET_SCAN)
        srct_add4(d, s->a4, s->h, d->clock);
}

/* A (or the only worker): a flush, once B has seen it too. */
static void a_flush(struct ks_darknet *d, int32_t before)
{
    flush_days(d, before);
    d->snap = d->st;
    if (d->split) { /* B's counters, once it has seen the flush too */
        uint64_t want = ++d->a_flushes;
        unsigned sp = 0;
        while (atomic_load_explicit(&d->b_flushed, memory_order_acquire) < want)
            ks_spin_backoff(&sp);
    }
    d->snap.sources_evicted = d->b_evicted;
    d->snap.as_dropped = d->b_as_dropped;
    atomic_fetch_add_explicit(&d->flush_done, 1, memory_order_release);
}

/* The event at a ring position: its full one, or the compact slot's, decoded into tmp. A full
 * packet event moves the worker's ring day (rd) as it moved the front's. */
static inline const struct ev *ring_event(const struct ring *r, uint64_t pos, struct ring_day *rd,
                                          struct ev *tmp)
{
    const struct slot *s = &r->slots[pos & (RING_SIZE - 1)];
    if (s->w != SLOT_FULL) {
        slot_event(s, rd->day, tmp);
        return tmp;
    }
    const struct ev *e = &r->full[pos & (RING_SIZE - 1)];
    if (e->type == EV_PKT)
        ring_day_after(rd, e->day);
    return e;
}

/* A worker's loop over the ring: the only worker (all of the back), A or B. Returns at
 * EV_STOP. */
static void run_worker(struct ks_darknet *d, bool b)
{
    struct ring *r = &d->ring;
    _Atomic uint64_t *hp = b ? &r->head_b : &r->head;
    struct ring_day *rd = b ? &d->b_rday : &d->a_rday;
    uint64_t head = atomic_load_explicit(hp, memory_order_relaxed);
    unsigned spins = 0;
#ifdef MADV_POPULATE_WRITE
    /* The ring's first lap writes fresh pages, each zeroed by the kernel on first touch. The
     * reader is the busiest thread: the worker with time to spare (A, or the only one) has the
     * second half of the ring's pages made ready instead, from the end, while the reader fills
     * the first half (populating writes no data: a page the reader got to first is left as it
     * is). Fine to fail (an older kernel). */
    if (!b)
        (void)madvise((uint8_t *)r->slots + RING_BYTES / 2, RING_BYTES / 2, MADV_POPULATE_WRITE);
#endif
    for (;;) {
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (tail == head) {
            ks_spin_backoff(&spins);
            continue;
        }
        spins = 0;
        while (head != tail) {
            uint64_t left = tail - head;
            /* the ring's lines come from the reader's core: ask for them early */
            if (left > AHEAD_RING)
                __builtin_prefetch(&r->slots[(head + AHEAD_RING) & (RING_SIZE - 1)], 0, 3);
            if (b) {
                if (left > AHEAD1) {
                    struct hint k = hint_at(d, head + AHEAD1);
                    if (k.pkt && k.scan)
                        srct_prefetch(&d->srcs, k.h);
                }
            } else {
                if (left > AHEAD0)
                    prefetch_ev(d, head + AHEAD0, 0);
                if (left > AHEAD1)
                    prefetch_ev(d, head + AHEAD1, 1);
                if (left > AHEAD2)
                    prefetch_ev(d, head + AHEAD2, 2);
            }
            const struct slot *s = &r->slots[head & (RING_SIZE - 1)];
            struct ev tmp;
            const struct ev *e;
            if (b && s->w != SLOT_FULL) {
                process_b_slot(d, s, rd->day);
            } else if ((e = ring_event(r, head, rd, &tmp))->type == EV_STOP) {
                return;
            } else if (b) {
                process_b(d, e);
            } else if (e->type == EV_PKT) {
                process(d, e, !d->split);
            } else { /* EV_FLUSH */
                a_flush(d, e->day);
            }
            head++;
            if ((head & (PUBLISH_EVERY - 1)) == 0)
                atomic_store_explicit(hp, head, memory_order_release);
        }
        atomic_store_explicit(hp, head, memory_order_release);
    }
}

static void *worker(void *arg)
{
    run_worker(arg, false);
    return NULL;
}

static void *worker_b(void *arg)
{
    run_worker(arg, true);
    return NULL;
}

static void stop_worker(struct ks_darknet *d)
{
    if (!d->th_started && !d->th_b_started)
        return;
    struct ev *e = ring_full(d);
    e->type = EV_STOP; /* read by each worker */
    ring_commit(&d->ring);
    ring_publish(&d->ring);
    if (d->th_started)
        pthread_join(d->th, NULL);
    if (d->th_b_started)
        pthread_join(d->th_b, NULL);
    d->th_started = d->th_b_started = false;
}

/* --- the front ----------------------------------------------------------------------------- */

static int32_t day_of(const struct ks_darknet *d, int64_t t_us)
{
    int64_t local = t_us + (int64_t)d->cfg.tz_offset_s * KS_USEC_PER_SEC;
    int64_t di = ks_time_floor(local, KS_USEC_PER_DAY) / KS_USEC_PER_DAY;
    return di > INT32_MAX ? INT32_MAX : di < INT32_MIN ? INT32_MIN : (int32_t)di;
}

int ks_darknet_flush(struct ks_darknet *d, int64_t before_us)
{
    int32_t before = before_us == INT64_MAX ? INT32_MAX : day_of(d, before_us);
    if (!d->threaded) {
        flush_days(d, before);
        return KS_OK;
    }
    struct ev *e = ring_full(d);
    e->type = EV_FLUSH;
    e->day = before;
    ring_commit(&d->ring);
    ring_publish(&d->ring);
    uint64_t want = ++d->flush_sent;
    unsigned spins = 0;
    while (atomic_load_explicit(&d->flush_done, memory_order_acquire) < want)
        ks_spin_backoff(&spins);
    return KS_OK;
}

int ks_darknet_feed(struct ks_darknet *d, const struct ks_pkt *p)
{
    d->fr_packets++;
    if (!is_monitored(d, &p->dst)) {
        d->fr_not_monitored++;
        return KS_OK;
    }
    if (!(d->fr_have_day && p->ts_us >= d->fr_start && p->ts_us < d->fr_end)) {
        d->fr_have_day = true;
        d->fr_day = day_of(d, p->ts_us);
        d->fr_start = day_start_of(d, d->fr_day);
        d->fr_end = d->fr_start + KS_USEC_PER_DAY;
    }
    bool bs = is_backscatter(p);
    uint8_t kind = bs ? KS_DARKNET_BACKSCATTER : KS_DARKNET_SCAN;
    uint16_t port = 0;
    if (p->flags & KS_PKT_L4) {
        if (p->proto == 1 || p->proto == 58)
            port = p->icmp_type;
        else if (p->proto == 6 || p->proto == 17)
            port = bs ? p->sport : p->dport;
    }
    uint32_t front = front_of(kind, p->proto, port);
    uint64_t h = ks_addr_hash_inline(&p->src, SRC_SEED);
    bool quoted = bs && is_icmp_error(p) && p->payload && p->payload_len >= 20;
    struct ring *r = &d->ring;
    if (d->threaded && !quoted && p->src.family == 4 && front != FRONT_NONE && p->weight <= 1 &&
        p->wire_len <= SLOT_LEN_MAX && r->p_day.have && d->fr_day == r->p_day.day) {
        uint32_t a4;
        memcpy(&a4, p->src.b, 4);
        slot_store(ring_slot(d), h, a4, front | p->wire_len << SLOT_LEN_SHIFT);
        ring_commit(r);
        return KS_OK;
    }
    struct ev *e = d->threaded ? ring_full(d) : &d->one;
    e->type = EV_PKT;
    e->h = h;
    e->a = p->src;
    if (quoted)
        quoted_victim(p, &e->a);
    e->kind = kind;
    e->proto = p->proto;
    e->port = port;
    e->day = d->fr_day;
    e->wire_len = p->wire_len;
    e->weight = p->weight ? p->weight : 1;
    e->front = front;
    if (!d->threaded) {
        process(d, e, true);
        return KS_OK;
    }
    ring_day_after(&r->p_day, e->day);
    ring_commit(r);
    return KS_OK;
}

void ks_darknet_stats(const struct ks_darknet *d, struct ks_darknet_stats *st)
{
    *st = d->threaded ? d->snap : d->st;
    if (!d->threaded) {
        st->sources_evicted = d->b_evicted;
        st->as_dropped = d->b_as_dropped;
    }
    st->packets = d->fr_packets;
    st->not_monitored = d->fr_not_monitored;
}
