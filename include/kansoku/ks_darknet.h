/* kansoku darknet: statistics of a network telescope (darknet) or of honeypots that never
 * send traffic, so that every packet they receive is unsolicited.
 *
 * A handle is given the monitored prefixes and fed decoded packets (struct ks_pkt, from the
 * capture module). Every packet whose destination is monitored counts, sorted into one of two
 * kinds:
 *   - backscatter: replies to packets someone else sent with a spoofed source inside the
 *     darknet (TCP SYN-ACK or RST, ICMP echo reply, destination unreachable, source quench,
 *     redirect, time exceeded, parameter problem, timestamp reply; ICMPv6 1-4 and echo reply).
 *     The sender of a backscatter packet is the victim of the spoofed attack (or a router
 *     next to it); when the ICMP payload is present, the destination of the quoted datagram
 *     (RFC 792, RFC 4443 2.4) is named as the victim instead;
 *   - scan: everything else (scans, worms, misconfiguration).
 *
 * Per day (UTC, or a fixed offset) x kind x protocol x port it counts packets, bytes and
 * distinct sources; the port is the TCP/UDP destination port for scans, the source port (the
 * attacked service) for TCP/UDP backscatter, the ICMP type for ICMP, 0 for other protocols.
 * Distinct sources are exact up to 16 per cell, then a HyperLogLog sketch (ks_hll.h) whose
 * serialised form goes with the record, so that the store can merge days, weeks and sensors.
 * Per day it also gives scanning sources by country and by AS (ks_geo.h, looked up once per
 * distinct source and day, never per packet), the top talkers and the top backscatter victims
 * (space-saving, Metwally et al. 2005: a bounded top-K whose counts overestimate by at most
 * the reported error).
 *
 * Records leave through the callbacks of struct ks_darknet_sink when a day is complete: when
 * a packet of a later day arrives, and at ks_darknet_flush(). Everything is bounded by the
 * configuration; what does not fit is counted in struct ks_darknet_stats. A handle is used by
 * one thread; no allocation after ks_darknet_new().
 *
 * With `workers` set, the analysis runs in a worker thread: ks_darknet_feed() only classifies
 * the packet and hands it over, and the sink's callbacks are then called from the worker (one
 * at a time, in the same order and with the same records as without it) while the caller goes
 * on feeding; ks_darknet_flush() returns once the worker has emitted what it asked for, so
 * what the callbacks wrote may be read after it returns. */
#ifndef KS_DARKNET_H
#define KS_DARKNET_H

#include "kansoku/ks_capture.h"
#include "kansoku/ks_core.h"
#include "kansoku/ks_geo.h"
#include "kansoku/ks_ip.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_darknet; /* opaque */

enum ks_darknet_kind { KS_DARKNET_SCAN = 0, KS_DARKNET_BACKSCATTER = 1 };

/* "scan" / "backscatter" (NULL for another value). */
KS_API const char *ks_darknet_kind_name(int kind);
/* "tcp", "udp", "icmp", "icmp6", or the protocol number as text in buf (size >= 4). */
KS_API const char *ks_darknet_proto_name(uint8_t proto, char *buf, size_t size);

/* One day x kind x protocol x port. Pointers are valid during the callback only. */
struct ks_darknet_cell {
    int64_t day; /* start of the day, µs UTC */
    const char *sensor;
    uint8_t kind;  /* enum ks_darknet_kind */
    uint8_t proto; /* IP protocol number */
    uint16_t port; /* see the top of this file */
    uint64_t packets, bytes;
    double sources;     /* distinct sources (exact when sources_exact) */
    bool sources_exact; /* at most 16 sources: counted exactly */
    bool sketch_lost;   /* no sketch was free: sources is a lower bound, sketch NULL */
    /* The sources in a mergeable form: with sources_exact, "KS" 0x01 n then n 64-bit
     * big-endian hashes (ks_addr_hash, the module's fixed seed); otherwise the serialised
     * ks_hll (ks_hll_serialize) of the same hashes. NULL when sketch_lost or with the
     * configuration's no_sketches. */
    const uint8_t *sketch;
    size_t sketch_len;
};

enum ks_darknet_dim {
    KS_DARKNET_BY_COUNTRY = 0, /* key: ISO 3166 code, "--" unknown */
    KS_DARKNET_BY_AS = 1,      /* key: "AS<n>", "AS0" unknown; name: organisation */
    KS_DARKNET_TALKER = 2,     /* key: address; top scanning sources */
    KS_DARKNET_VICTIM = 3,     /* key: address; top backscatter victims */
};
/* "country", "as", "talker", "victim". */
KS_API const char *ks_darknet_dim_name(int dim);

/* One row of a per-day distribution. */
struct ks_darknet_source {
    int64_t day;
    const char *sensor;
    uint8_t dim; /* enum ks_darknet_dim */
    const char *key;
    const char *name; /* AS organisation; "" otherwise */
    bool domestic;    /* country rows: key is the home country */
    uint64_t sources; /* distinct sources (country, AS); 1 for talkers and victims */
    uint64_t packets; /* for talkers/victims: space-saving count (>= true count) */
    uint64_t error;   /* talkers/victims: the count overestimates by at most this */
};

/* The totals of one day at one sensor. */
struct ks_darknet_day {
    int64_t day;
    const char *sensor;
    uint64_t monitored; /* monitored addresses (IPv6 saturates at 2^63-1) */
    uint64_t packets;   /* scan + backscatter */
    uint64_t scan_packets, backscatter_packets;
    double sources;             /* distinct scanning sources (HLL) */
    double backscatter_sources; /* distinct backscatter senders (HLL) */
    uint64_t domestic_sources;  /* scanning sources in the home country */
    uint64_t dropped;           /* packets not fully counted this day (cells table full) */
};

struct ks_darknet_sink {
    void (*cell)(void *user, const struct ks_darknet_cell *c);
    void (*source)(void *user, const struct ks_darknet_source *s);
    void (*day)(void *user, const struct ks_darknet_day *d); /* after the day's other rows */
    void *user;
};

struct ks_darknet_config {
    const char *sensor;         /* name of the sensor (required; copied) */
    int32_t tz_offset_s;        /* days are drawn at this offset east of UTC (default 0) */
    char home[3];               /* home country for "domestic" (default "JP") */
    uint32_t max_cells;         /* cells (day x kind x proto x port) held at once (65536) */
    uint32_t max_sketches;      /* cells with more than 4 sources that get a sketch (4096) */
    uint8_t hll_p;              /* precision of the sketches (12: 4 KiB, 1.6 %) */
    uint32_t max_sources;       /* scanning sources per day for country/AS (131072, LRU;
                                   at most 2^28) */
    uint32_t max_as;            /* distinct AS per day (16384, at most 2^24; more go to AS0) */
    uint32_t topk;              /* space-saving counters for talkers and victims each (1024;
                                   at most 2^24) */
    uint32_t top_report;        /* talkers and victims reported per day (20) */
    const struct ks_geo *geo;   /* may be NULL: every source is "--" / AS0 */
    const struct ks_diag *diag; /* may be NULL */
    /* Worker threads (0..64, default 0: all in the caller's thread). 1: the analysis runs in
     * a worker; 2: the scanning sources (their table, geo lookups, country, AS, talkers) run
     * in a second one. Each keeps its tables in capture order, so more work as 2, and the
     * records are the same whatever the number. */
    uint32_t workers;
    bool no_sketches; /* the sink does not use cell sketches: they stay NULL (not serialised) */
};

struct ks_darknet_stats {
    uint64_t packets;       /* fed */
    uint64_t monitored;     /* to a monitored address (counted) */
    uint64_t not_monitored; /* ignored */
    uint64_t scan, backscatter;
    uint64_t cells_dropped;   /* packets whose cell did not fit (max_cells) */
    uint64_t sketches_lost;   /* cells that wanted a sketch when none was free */
    uint64_t sources_evicted; /* scanning sources evicted from the day's table */
    uint64_t as_dropped;      /* sources whose AS did not fit (counted as AS0) */
    uint64_t late;            /* packets older than the current day (see README) */
    uint64_t days;            /* days emitted */
    uint64_t cells, sources;  /* records emitted */
};

/* Fills the defaults above (sensor NULL). */
KS_API void ks_darknet_config_default(struct ks_darknet_config *cfg);

/* KS_OK, KS_EINVAL (no sensor, bad sizes or home), KS_ENOMEM, KS_EIO (the worker thread did
 * not start). The sink is copied. */
KS_API int ks_darknet_new(const struct ks_darknet_config *cfg, const struct ks_darknet_sink *sink,
                          struct ks_darknet **dp);
KS_API void ks_darknet_free(struct ks_darknet *d); /* NULL is fine */

/* Adds a monitored prefix (before the first packet). KS_OK, KS_EINVAL, KS_ENOMEM. */
KS_API int ks_darknet_add_prefix(struct ks_darknet *d, const struct ks_prefix *p);
/* The number of monitored addresses (overlapping prefixes counted once; saturates). */
KS_API uint64_t ks_darknet_monitored(const struct ks_darknet *d);

/* Counts one packet (ignored unless its destination is monitored). Hot path: no allocation.
 * Emits the days before the packet's day. Always KS_OK (counts what does not fit). */
KS_API int ks_darknet_feed(struct ks_darknet *d, const struct ks_pkt *p);

/* Emits every day that starts before `before_us` (INT64_MAX: everything, at the end). */
KS_API int ks_darknet_flush(struct ks_darknet *d, int64_t before_us);

/* The counters. With a worker, packets and not_monitored are current and the others are as of
 * the last ks_darknet_flush(). */
KS_API void ks_darknet_stats(const struct ks_darknet *d, struct ks_darknet_stats *st);

/* Backscatter classification of one packet (the rule above), exposed for tests and other
 * analyzers. */
KS_API bool ks_darknet_is_backscatter(const struct ks_pkt *p);

/* The destination of the datagram quoted in an ICMP/ICMPv6 error message. `body` are the
 * bytes after the 8-byte ICMP header (the quoted IP header and at least 8 bytes of its
 * payload, RFC 792 / RFC 4443 2.4: only the IP header is needed). Fills *dst and, when the
 * quoted header is complete enough, *proto and *dport (0 otherwise). KS_OK, KS_ETRUNC,
 * KS_EFORMAT (not IPv4/IPv6). Never reads outside body[0 .. len). */
KS_API int ks_darknet_icmp_quoted(const uint8_t *body, size_t len, struct ks_addr *dst,
                                  uint8_t *proto, uint16_t *dport);

/* --- statistics from the store ----------------------------------------------------------- */

struct ks_store;

struct ks_darknet_query {
    int64_t from_us, to_us;  /* [from, to) by day start; 0 / INT64_MAX for all */
    const char *sensor;      /* NULL: all sensors */
    char home[3];            /* default "JP" */
    uint32_t top_ports;      /* ports shown (10); the rest is "other" */
    uint32_t baseline_weeks; /* previous weeks compared with (4) */
    double novelty_factor;   /* weekly sources at least this times the baseline (5.0) */
    uint32_t novelty_min;    /* and at least this many sources (10) */
    uint32_t max_ports;      /* distinct ports merged per week (32768; more are counted) */
};
KS_API void ks_darknet_query_default(struct ks_darknet_query *q);

/* Per day, packets on one port (or "other") averaged over the sensors that reported the day. */
struct ks_darknet_port_day {
    int64_t day;
    uint8_t proto; /* 0 with other = true */
    uint16_t port;
    bool other;       /* the sum of the ports outside the top */
    double packets;   /* average per sensor */
    double sources;   /* average per sensor (sum of the sensors' daily distinct sources) */
    uint32_t sensors; /* sensors that reported the day */
};

/* A port whose distinct sources in one ISO week rose several-fold against the previous weeks. */
struct ks_darknet_alert {
    int64_t week; /* start of the ISO week (Monday), µs UTC */
    uint8_t proto;
    uint16_t port;
    double sources;  /* distinct sources that week (all sensors, merged sketches) */
    double baseline; /* mean of the previous weeks (0 if never seen) */
    double factor;   /* sources / max(baseline, 1) */
};

struct ks_darknet_report_sink {
    void (*port_day)(void *user, const struct ks_darknet_port_day *r);
    /* Distribution over the period: dim country or as; sources summed over days. */
    void (*source)(void *user, int dim, const char *key, const char *name, bool domestic,
                   double sources, double packets);
    void (*alert)(void *user, const struct ks_darknet_alert *a);
    void *user;
};

struct ks_darknet_report_stats {
    uint64_t rows;          /* cell rows read */
    uint64_t bad_sketches;  /* stored sketches that did not decode (skipped, counted) */
    uint64_t ports_dropped; /* weekly ports beyond max_ports */
    uint32_t sensors, days, weeks;
};

/* Reads the darknet tables of the store for the period and calls the sink: port_day rows in
 * day order (top ports by packets over the period, then "other"), then source rows (by
 * country, then by AS, most sources first), then alerts. KS_OK, KS_ESTORE, KS_ENOMEM. */
KS_API int ks_darknet_report(struct ks_store *s, const struct ks_darknet_query *q,
                             const struct ks_darknet_report_sink *sink,
                             struct ks_darknet_report_stats *st);

/* The novelty rule alone: true when `sources` this week is a rise against the weekly values
 * of the previous weeks (prev[0..n), n may be 0: no baseline, never flagged). *baseline gets
 * their mean. */
KS_API bool ks_darknet_is_novel(const struct ks_darknet_query *q, double sources,
                                const double *prev, size_t n, double *baseline);

/* --- the store ---------------------------------------------------------------------------- */

struct ks_ingest;
/* A row of darknet_cells, darknet_sources or darknet_days (schema v7) through an ingest, as the
 * sink callbacks deliver them. Returns the store's error for the row, if any. */
KS_API int ks_darknet_store_cell(struct ks_ingest *ing, const struct ks_darknet_cell *c);
KS_API int ks_darknet_store_source(struct ks_ingest *ing, const struct ks_darknet_source *s);
KS_API int ks_darknet_store_day(struct ks_ingest *ing, const struct ks_darknet_day *d);

#endif
