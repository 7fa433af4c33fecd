/* Internal to src/flow: the collector's state shared by the protocol decoders. */
#ifndef KS_FLOW_INT_H
#define KS_FLOW_INT_H

#include "core/cur.h"
#include "kansoku/ks_flow.h"

#define FLOW_MAX_FIELDS 96  /* fields per template; longer templates are refused, counted */
#define FLOW_MAX_SAMPLERS 8 /* v9/IPFIX sampler ids remembered per source */
#define FLOW_MAX_SOCKETS 8
#define FLOW_NIL UINT32_MAX

/* What a template field is decoded into (enum fld_what). */
enum {
    W_SKIP = 0,
    W_BYTES,
    W_PKTS,
    W_BYTES_TOTAL,
    W_PKTS_TOTAL,
    W_PROTO,
    W_TOS,
    W_TCPFLAGS,
    W_SPORT,
    W_DPORT,
    W_SRC4,
    W_DST4,
    W_SRC6,
    W_DST6,
    W_NH4,
    W_NH6,
    W_SMASK,
    W_DMASK,
    W_INIF,
    W_OUTIF,
    W_SRCAS,
    W_DSTAS,
    W_FIRST_UP, /* ms of sysUptime (v9) / since systemInit (IPFIX) */
    W_LAST_UP,
    W_START_S,
    W_END_S,
    W_START_MS,
    W_END_MS,
    W_START_NTP_US, /* NTP timestamps (RFC 7011 6.1.9/6.1.10) */
    W_END_NTP_US,
    W_START_NTP_NS,
    W_END_NTP_NS,
    W_START_DELTA, /* µs before the export time */
    W_END_DELTA,
    W_ICMP_TC,
    W_ICMP_TYPE,
    W_ICMP_CODE,
    W_DIR,
    W_SAMP_INTERVAL,
    W_SAMP_SPACE,
    W_SAMPLER_ID,
    W_SYSINIT_MS,
    W_COUNT
};

struct fld {
    uint16_t off; /* offset in the record (fixed-length templates) */
    uint16_t len; /* 65535: variable length (IPFIX) */
    uint8_t what;
};

struct tmpl {
    uint32_t src_slot, src_gen; /* key: source, its generation, template id */
    uint16_t tid;
    uint16_t nfld;    /* fields kept (all, for variable-length templates; else mapped only) */
    uint16_t rec_len; /* fixed: the record length; variable: the minimum */
    bool var;         /* has variable-length fields */
    bool options;
    bool live;     /* in the hash and the LRU list */
    uint32_t next; /* hash chain */
    uint32_t lru_prev, lru_next;
    int64_t refreshed_us;
    struct fld f[FLOW_MAX_FIELDS];
};

struct sampler {
    uint32_t id;
    uint32_t rate;
};

struct source {
    struct ks_addr addr;
    int proto;
    uint32_t domain;
    uint32_t gen;
    bool used, seq_known;
    uint32_t next; /* hash chain */
    uint32_t lru_prev, lru_next;
    uint32_t last_seq, expect_seq;
    uint32_t prev_all, prev_data; /* IPFIX: data records (all; options excluded) last time */
    uint32_t last_uptime;
    int64_t last_export_us;
    uint32_t sampling;  /* 0: none announced */
    int64_t sysinit_us; /* IPFIX systemInitTimeMilliseconds, 0 unknown */
    int64_t boot_us;    /* v9: the exporter's boot time (export time - uptime), see flow_nf9 */
    bool boot_known;
    struct sampler samplers[FLOW_MAX_SAMPLERS];
    unsigned nsamplers;
    struct ks_flow_source_stats st;
};

struct ks_flow {
    struct ks_flow_config cfg;
    struct source *src;
    uint32_t *src_heads;
    uint32_t src_mask;
    uint32_t src_lru_head, src_lru_tail, src_free; /* head: most recent */
    uint32_t nsrc;
    struct tmpl *tp;
    uint32_t *tp_heads;
    uint32_t tp_mask;
    uint32_t tp_lru_head, tp_lru_tail, tp_free;
    uint32_t ntp;
    uint64_t seed;
    int64_t last_expire_s;
    struct ks_flow_stats st;
    uint32_t diag_reported;
    const struct ks_loc *loc; /* of the datagram being decoded */
    struct ks_flow_rec rec;   /* reused for every record */
    struct ks_pkt pkt;
    int fds[FLOW_MAX_SOCKETS];
    unsigned nfds;
    int wake[2];
    uint8_t *buf; /* receive buffer, 65536 bytes */
};

/* Sources and templates (flow.c). */
struct source *flow_source(struct ks_flow *f, const struct ks_addr *a, int proto, uint32_t domain);
uint32_t flow_source_slot(const struct ks_flow *f, const struct source *s);
struct tmpl *flow_tmpl_find(struct ks_flow *f, struct source *s, uint16_t tid);
/* A template slot for (s, tid): the existing one (to be overwritten) or a new one. NULL only
 * on a zero-capacity pool. */
struct tmpl *flow_tmpl_put(struct ks_flow *f, struct source *s, uint16_t tid);
void flow_tmpl_drop(struct ks_flow *f, struct tmpl *t);
/* Drops every template of s (its generation changes). */
void flow_source_reset(struct ks_flow *f, struct source *s);

/* Counts a problem of source s (may be NULL) and reports it through the diagnostics. */
void flow_bad(struct ks_flow *f, struct source *s, unsigned reason, int err, const char *fmt, ...)
    KS_PRINTF(5, 6);
/* Delivers f->rec (counts it on s). */
void flow_emit(struct ks_flow *f, struct source *s);
/* The sampling rate of s for a record that names sampler `sampler_id` (or none: has_id false). */
uint32_t flow_rate(const struct ks_flow *f, const struct source *s, bool has_id,
                   uint32_t sampler_id);
void flow_set_rate(struct source *s, bool has_id, uint32_t id, uint32_t rate);

/* Sequence check: seq seen, next expected = seq + advance. Returns 1 on a restart (templates
 * dropped), 0 when in order or after a gap, -1 for a late or repeated datagram (state kept). */
int flow_seq(struct ks_flow *f, struct source *s, uint32_t seq, uint32_t advance, bool uptime_ok,
             uint32_t uptime, int64_t export_us);

/* Decoders. Each returns KS_OK or the datagram's first error. */
int flow_nf5(struct ks_flow *f, struct ks_cur *c, const struct ks_addr *exp, int64_t recv_us);
int flow_nf9(struct ks_flow *f, struct ks_cur *c, const struct ks_addr *exp, int64_t recv_us);
int flow_ipfix(struct ks_flow *f, struct ks_cur *c, const struct ks_addr *exp, int64_t recv_us);
int flow_sflow(struct ks_flow *f, struct ks_cur *c, const struct ks_addr *exp, int64_t recv_us);

#endif
