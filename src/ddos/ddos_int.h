/* DDoS detector internals: events from the reader, per-target state, trackers, shards. */
#ifndef KS_DDOS_INT_H
#define KS_DDOS_INT_H

#include "kansoku/ks_ddos.h"
#include "kansoku/ks_hll.h"
#include "kansoku/ks_table.h"

#include <pthread.h>
#include <stdatomic.h>

/* Thresholds as an array, in the order of struct ks_ddos_thresholds. */
enum { T_PPS, T_BPS, T_SYN, T_SYNACK, T_UDP, T_AMP, T_ICMP, T_FRAG, T_CONN, T_HTTP, T_N };
/* Per-second vector counters kept for every target (the thresholded ones, T_SYN..T_HTTP). */
enum { C_SYN, C_SYNACK, C_UDP, C_AMP, C_ICMP, C_FRAG, C_CONN, C_HTTP, C_N };

struct thr {
    uint64_t v[T_N];
};

/* Per-prefix rules: a prefix set mapping to an index into rule arrays (1-based). */
struct rule {
    struct ks_prefix prefix;
    struct ks_ddos_thresholds thr;
    unsigned set;
    bool carpet;
};

struct ks_ddos_rules {
    struct ks_prefix_set *set;
    struct rule *r;
    size_t n, cap;
    bool any_carpet;
};

/* A target: a host (plen 32/128) or a carpet prefix. 18 bytes, no padding. */
struct tkey {
    uint8_t family;
    uint8_t plen;
    uint8_t b[16];
};

enum { EV_PKT = 0, EV_CONN = 1, EV_TICK = 2, EV_STOP = 3 };
#define EVF_FRAG 0x01u
#define EVF_FRAG_LATER 0x02u
#define EVF_HTTP 0x04u
#define EVF_L4 0x08u

/* What the reader hands a worker for one packet (64 bytes). */
struct ev {
    int64_t ts_us;
    struct tkey key; /* the target: dst, src for EV_CONN, or a carpet prefix */
    struct ks_addr src;
    uint8_t kind;
    uint8_t proto;
    uint8_t tcp_flags;
    uint8_t fl;  /* EVF_* */
    uint8_t amp; /* amplification vector of the UDP source port, 0 if none */
    uint16_t sport, dport;
    uint16_t rule;   /* carpet rule (1-based) for carpet keys, else 0 */
    uint16_t weight; /* the sample rate (capped at 65535) */
    uint32_t wire_len;
    uint32_t dst_hash; /* carpet keys: hash of the real destination */
};
_Static_assert(sizeof(struct ev) == 64, "an event is one cache line");

/* Per-target state, the value of the target table (96 bytes). */
struct tstate {
    int64_t sec;    /* the second the counters are for */
    uint64_t bytes; /* this second */
    uint32_t pkts;
    uint32_t first_off;           /* µs into the second of its first packet */
    uint32_t trk;                 /* tracker index + 1, 0 = none */
    uint32_t c[C_N];              /* this second, by C_* */
    float mean, var, bmean, bvar; /* adaptive baseline: pps and bits/s */
    uint32_t athr, athr_kbps;     /* learnt thresholds for this second (0 = none yet) */
    uint16_t rule;                /* per-prefix rule (1-based), 0 = global */
    uint16_t run;                 /* consecutive over seconds before this one */
    uint16_t seen;                /* seconds seen (saturating) */
    uint8_t over;                 /* this second is over a threshold */
    uint8_t pad;
};

#define TOPK 16
struct topk {
    uint64_t key[TOPK];
    uint64_t cnt[TOPK];
    struct ks_addr addr[TOPK]; /* for sources */
    unsigned n;
};

enum { TRK_FREE = 0, TRK_CAND = 1, TRK_ATTACK = 2 };

#define SRC_HLL_P 12
#define DST_HLL_P 8

struct tracker {
    struct tkey key;
    uint8_t state;
    uint16_t rule;
    uint32_t active_idx; /* position in the shard's active list */
    int64_t first_us;    /* first packet of the first over second of the run */
    int64_t last_over_us, last_over_sec;
    /* the second being counted */
    int64_t sec, s_first_us, s_last_us;
    uint64_t s_pkts, s_bytes;
    uint32_t s_vc[KS_VEC_COUNT];
    /* the attack so far */
    uint64_t packets, bytes;        /* up to the last over second */
    uint64_t pend_pkts, pend_bytes; /* seconds after it, not yet confirmed */
    uint64_t peak_pps, peak_bps;
    uint64_t vec_pkts[KS_VEC_COUNT];
    uint32_t vectors;
    uint64_t l4_pkts, frag_pkts, seen_pkts;
    uint32_t nports;
    struct ks_hll src_hll, dst_hll;
    struct topk src, dport, sport;
    struct ks_ddos_tl *tl; /* timeline_max entries (pages touched as used) */
    uint32_t tl_len, tl_step;
    uint8_t *regs;  /* HLL registers: sources, then destinations */
    uint8_t *ports; /* 65536-bit map of destination ports */
};

struct ring {
    _Alignas(64) _Atomic uint64_t head;         /* consumer position */
    _Alignas(64) _Atomic uint64_t tail;         /* producer position */
    _Alignas(64) uint64_t p_tail, p_head_cache; /* producer-local */
    _Alignas(64) struct ev *slots;
    uint64_t mask;
};

/* Events waiting for their target's table slot to arrive in the cache (see shard_push). */
#define PIPE_DEPTH 16

struct shard {
    struct ks_ddos *d;
    struct ks_table *t;
    struct ev pipe[PIPE_DEPTH];
    uint32_t pipe_hash[PIPE_DEPTH];
    uint32_t pipe_head, pipe_n;
    struct tracker *trk;
    uint32_t ntrk;
    uint32_t *free_list, nfree;
    uint32_t *active, nactive;
    int64_t now_sec;
    bool started;
    struct ks_ddos_stats st;
    uint8_t *hll_scratch;
    /* threaded mode */
    struct ring ring;
    pthread_t th;
    bool th_started;
    pthread_mutex_t mu;
    struct ks_ddos_attack **out;
    size_t nout, capout;
};

struct ks_ddos {
    struct ks_ddos_config cfg;
    struct thr *thr; /* [0] global, [i] rule i */
    size_t nthr;
    const struct ks_ddos_rules *rules;
    struct shard *shards;
    uint32_t nshards;
    bool threaded, flushed;
    int64_t last_sec;
    uint64_t route_seed;
    uint64_t packets, bytes, ring_waits;
};

/* detect.c: one shard, single-threaded. shard_push queues an event and prefetches its target's
 * table slot, handling the event PIPE_DEPTH events later (software pipelining: the cache
 * misses of a batch of cold targets overlap); shard_drain handles every queued event, and
 * shard_advance and shard_finish drain first. */
int shard_init(struct shard *sh, struct ks_ddos *d, uint32_t max_targets, uint32_t max_tracked);
void shard_fini(struct shard *sh);
void shard_push(struct shard *sh, const struct ev *e);
void shard_drain(struct shard *sh);
void shard_advance(struct shard *sh, int64_t sec);
void shard_finish(struct shard *sh);

/* pipeline.c: delivery of a finished attack from a shard. */
void ddos_deliver(struct shard *sh, const struct ks_ddos_attack *a);

/* rules.c. ddos_config_parse: the thresholds file's text (buf, len), named path in messages. */
int ddos_config_parse(const uint8_t *buf, size_t len, const char *path, struct ks_ddos_config *cfg,
                      struct ks_ddos_rules **rules, const struct ks_diag *diag);
uint8_t ddos_amp_vector(uint16_t sport);
bool ddos_vector_is_bandwidth(unsigned v);

#endif
