/* kansoku DDoS detector: per-destination, per-second counters in a bounded table; thresholds
 * (static, per prefix, or learnt); attacks with class, vectors, peaks, totals, distinct
 * sources, top sources and ports, a source-dispersion judgement and a timeline.
 *
 * Model. For every destination address (and every configured "carpet" prefix as a whole), the
 * detector counts each second: packets and bytes (wire length), TCP SYN without ACK, SYN-ACK
 * arriving, SYN-ACK leaving the target (new connections it accepts), HTTP requests (TCP
 * payload starting with a method), UDP, UDP from a known amplifier port, ICMP, fragments. A
 * second is "over" when a threshold holds: total pps or bps, or a vector's own pps; in
 * adaptive mode also when the rate exceeds the target's learnt baseline (EWMA of the rate and
 * of its variance, mean + k standard deviations, above a floor). An attack starts when
 * `start_after_s` consecutive seconds are over (0 or 1: the first), at the packet that makes
 * the last one over, and ends once `end_after_s` seconds in a row are not over; so two bursts
 * on a target closer than end_after_s are one attack. Its start is the first packet of its
 * first over second, its end the last packet of its last over second.
 *
 * Vectors of a second: those whose own threshold holds, plus, in an over second, each vector
 * that carries at least `vector_share` of the second's packets. Class: "bandwidth" if all its
 * vectors fill links (UDP/ICMP/fragment/amplification/other floods), "server" if all exhaust
 * servers (SYN, SYN-ACK reflection, connection, HTTP GET, other TCP floods), else "composite".
 * A scan (few sources, many destination ports or addresses, few packets each) that crosses a
 * threshold is not reported as an attack: it is counted in stats.scans.
 *
 * Memory is bounded by the configuration: the target table (max_targets entries, approximate
 * LRU eviction, counted) and a pool of `max_tracked` detailed trackers (HyperLogLog of
 * sources, top-k tables, timeline of at most timeline_max entries, coarsened by halving when
 * full); a target that cannot get a tracker is counted in stats.tracker_full. Nothing is
 * allocated per packet.
 *
 * Threads: with workers = 0 everything runs in the caller's thread. With workers >= 1, _new
 * starts that many threads; _feed (called from one thread, the reader) shards packets by
 * destination into lock-free single-producer/single-consumer rings, one per worker, and each
 * worker owns its part of the tables. Finished attacks are handed back and the on_attack
 * callback always runs in the thread that calls _feed/_tick/_flush. */
#ifndef KS_DDOS_H
#define KS_DDOS_H

#include "kansoku/ks_capture.h"
#include "kansoku/ks_core.h"
#include "kansoku/ks_ip.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Vectors; bit i of a vectors mask is vector i. Names: ks_ddos_vector_name(). */
enum ks_ddos_vector {
    KS_VEC_UDP_FLOOD = 0,     /* "udp_flood": UDP not from a known amplifier port */
    KS_VEC_ICMP_FLOOD,        /* "icmp_flood": ICMP and ICMPv6 */
    KS_VEC_FRAGMENT_FLOOD,    /* "fragment_flood": IP fragments */
    KS_VEC_SYN_FLOOD,         /* "syn_flood": TCP SYN without ACK */
    KS_VEC_SYNACK_REFLECTION, /* "synack_reflection": TCP SYN-ACK arriving */
    KS_VEC_CONNECTION_FLOOD,  /* "connection_flood": SYN-ACKs the target sends (accepted) */
    KS_VEC_HTTP_GET_FLOOD,    /* "http_get_flood": HTTP requests */
    KS_VEC_TCP_FLOOD,         /* "tcp_flood": other TCP (ACK, RST, PSH ... floods) */
    KS_VEC_OTHER_FLOOD,       /* "other_flood": GRE, ESP and other IP protocols */
    KS_VEC_AMP_DNS,           /* "amp_dns": UDP from port 53 */
    KS_VEC_AMP_NTP,           /* "amp_ntp": 123 */
    KS_VEC_AMP_SSDP,          /* "amp_ssdp": 1900 */
    KS_VEC_AMP_CLDAP,         /* "amp_cldap": 389 */
    KS_VEC_AMP_MEMCACHED,     /* "amp_memcached": 11211 */
    KS_VEC_AMP_CHARGEN,       /* "amp_chargen": 19 */
    KS_VEC_AMP_SNMP,          /* "amp_snmp": 161 */
    KS_VEC_AMP_IKE,           /* "amp_ike": 500, 4500 (ISAKMP, IKE NAT-T) */
    KS_VEC_AMP_BACNET,        /* "amp_bacnet": 47808 */
    KS_VEC_AMP_DVR,           /* "amp_dvr": 37810 (DVR discovery) */
    KS_VEC_AMP_WSD,           /* "amp_wsd": 3702 (WS-Discovery) */
    KS_VEC_AMP_NETBIOS,       /* "amp_netbios": 137 */
    KS_VEC_AMP_PORTMAP,       /* "amp_portmap": 111 */
    KS_VEC_AMP_MDNS,          /* "amp_mdns": 5353 */
    KS_VEC_AMP_QOTD,          /* "amp_qotd": 17 */
    KS_VEC_AMP_TFTP,          /* "amp_tftp": 69 */
    KS_VEC_AMP_ARD,           /* "amp_ard": 3283 (Apple Remote Desktop) */
    KS_VEC_AMP_UBIQUITI,      /* "amp_ubiquiti": 10001 */
    KS_VEC_COUNT
};

enum ks_ddos_class { KS_DDOS_BANDWIDTH = 0, KS_DDOS_SERVER = 1, KS_DDOS_COMPOSITE = 2 };

/* Who sends the attack (the judgement of struct ks_ddos_dispersion). */
enum ks_ddos_disp {
    KS_DISP_FEW = 0,   /* "few_sources": a handful of hosts (a tool), top 10 carry >= 90 % */
    KS_DISP_SPOOFED,   /* "spoofed": very many sources, about one packet each */
    KS_DISP_BOTNET,    /* "botnet": very many sources, each sending many packets */
    KS_DISP_REFLECTORS /* "reflectors": amplifiers/reflectors answering spoofed requests */
};

KS_API const char *ks_ddos_vector_name(unsigned v); /* NULL if out of range */
KS_API int ks_ddos_vector_find(const char *name);   /* the vector, or -1 */
KS_API const char *ks_ddos_class_name(enum ks_ddos_class c);
KS_API const char *ks_ddos_disp_name(enum ks_ddos_disp d);

/* Thresholds, per second; 0 disables one. */
struct ks_ddos_thresholds {
    uint64_t pps, bps;   /* all packets; bits (wire length) */
    uint64_t syn_pps;    /* SYN without ACK */
    uint64_t synack_pps; /* SYN-ACK arriving */
    uint64_t udp_pps;    /* UDP not from an amplifier port */
    uint64_t amp_pps;    /* UDP from amplifier ports (all together) */
    uint64_t icmp_pps;
    uint64_t frag_pps;
    uint64_t conn_ps;  /* connections accepted (SYN-ACK sent by the target) */
    uint64_t http_rps; /* HTTP requests */
};

struct ks_ddos_rules; /* opaque: per-prefix thresholds and carpet prefixes */

struct ks_ddos_attack;

struct ks_ddos_config {
    struct ks_ddos_thresholds thr;     /* defaults: pps 20000, bps 200M, syn 10000, synack 10000,
                                          udp 20000, amp 5000, icmp 5000, frag 5000, conn 2000,
                                          http 2000 */
    uint32_t start_after_s;            /* default 5 */
    uint32_t end_after_s;              /* default 60 */
    double vector_share;               /* default 0.2 */
    bool adaptive;                     /* learn baselines (default off) */
    double adaptive_k;                 /* default 5 (standard deviations over the mean) */
    double adaptive_alpha;             /* EWMA weight of a second, default 0.02 */
    uint64_t adaptive_min_pps;         /* the learnt threshold is at least this, default 1000 */
    uint32_t adaptive_warmup_s;        /* seconds seen before a baseline is trusted, default 60 */
    uint32_t max_targets;              /* target table capacity, default 786000 */
    uint32_t max_tracked;              /* detailed trackers (targets near or in attack), 512 */
    uint32_t timeline_max;             /* timeline entries per attack, default 3600 */
    uint32_t workers;                  /* worker threads; 0 = in the caller (default) */
    uint32_t ring_size;                /* events per worker ring (power of two), 65536 */
    uint32_t scan_max_sources;         /* a scan has at most this many sources, default 8 */
    uint32_t scan_min_spread;          /* ... and at least this many ports or addresses, 64 */
    double scan_max_per_item;          /* ... with at most this many packets each, default 4 */
    const struct ks_ddos_rules *rules; /* borrowed; may be NULL */
    /* Called for each finished attack; a is valid during the call only. */
    void (*on_attack)(void *user, const struct ks_ddos_attack *a);
    void *user;
};

KS_API void ks_ddos_config_default(struct ks_ddos_config *cfg);

/* Reads a thresholds file (format in src/ddos/README.md): "key = value" lines set cfg (the
 * global section), "[prefix ADDR/LEN]" sections add per-prefix rules to *rules (created if
 * NULL). Bad lines are reported through diag (file:line) and make it fail with KS_EFORMAT
 * after reading the whole file; KS_EIO if it cannot be read. */
KS_API int ks_ddos_config_load(const char *path, struct ks_ddos_config *cfg,
                               struct ks_ddos_rules **rules, const struct ks_diag *diag);

KS_API int ks_ddos_rules_new(struct ks_ddos_rules **rp);
KS_API void ks_ddos_rules_free(struct ks_ddos_rules *r);
/* Adds a rule: thresholds whose bit i of `set` is 1 (field order of struct ks_ddos_thresholds,
 * pps = bit 0) override the global ones inside p; with carpet, traffic to all of p is also
 * counted as one target (carpet bombing). KS_EINVAL, KS_ENOMEM, KS_ELIMIT (65535 rules). */
KS_API int ks_ddos_rules_add(struct ks_ddos_rules *r, const struct ks_prefix *p,
                             const struct ks_ddos_thresholds *thr, unsigned set, bool carpet);

/* --- attacks ------------------------------------------------------------------------------ */

#define KS_DDOS_TOP 10

struct ks_ddos_top_src {
    struct ks_addr addr;
    uint64_t packets; /* estimated (space-saving counts, an upper bound) */
};

struct ks_ddos_top_port {
    uint16_t port;
    uint8_t proto; /* 6 or 17 */
    uint64_t packets;
};

/* One timeline entry: `seconds` seconds from t_us (1 until the timeline was coarsened). */
struct ks_ddos_tl {
    int64_t t_us;
    uint64_t packets, bytes;
    uint32_t vectors; /* vectors in force in these seconds */
    uint32_t seconds;
    uint8_t main_vector; /* the vector with the most packets, KS_VEC_COUNT if none */
};

struct ks_ddos_dispersion {
    enum ks_ddos_disp judgement;
    double sources;            /* distinct sources (HyperLogLog estimate) */
    double packets_per_source; /* packets / sources */
    double top1_share;         /* share of the packets sent by the top source */
    double top10_share;        /* ... by the top 10 */
};

struct ks_ddos_attack {
    struct ks_prefix target; /* a host (/32, /128) or a carpet prefix */
    int64_t start_us, end_us;
    enum ks_ddos_class cls;
    uint32_t vectors;    /* mask of enum ks_ddos_vector */
    uint8_t main_vector; /* the vector with the most packets over the attack */
    uint64_t peak_pps, peak_bps;
    uint64_t packets, bytes; /* from the first to the last over second */
    struct ks_ddos_dispersion dispersion;
    uint32_t dst_ports; /* distinct destination ports seen */
    double dst_addrs;   /* distinct destination addresses (carpet prefixes) */
    struct ks_ddos_top_src top_sources[KS_DDOS_TOP];
    unsigned n_top_sources;
    struct ks_ddos_top_port top_ports[KS_DDOS_TOP]; /* destination ports */
    unsigned n_top_ports;
    struct ks_ddos_top_port top_src_ports[KS_DDOS_TOP];
    unsigned n_top_src_ports;
    const struct ks_ddos_tl *timeline; /* per second (coarsened past timeline_max) */
    size_t timeline_len;
    bool open; /* still going when the input ended */
};

/* The vectors in force each minute of an attack: fills out[0..max) with one entry per minute
 * (t_us = the minute's start, vectors = OR of its seconds, main_vector = the vector with the
 * most packets, packets/bytes summed) and returns the number of minutes (which may exceed
 * max: then only max were written). */
KS_API size_t ks_ddos_attack_minutes(const struct ks_ddos_attack *a, struct ks_ddos_tl *out,
                                     size_t max);

/* --- the detector ------------------------------------------------------------------------- */

struct ks_ddos;

struct ks_ddos_stats {
    uint64_t packets, bytes;  /* fed (weighted by the sample rate) */
    uint64_t targets;         /* in the tables now */
    uint64_t targets_evicted; /* target entries evicted (table full) */
    uint64_t tracker_full;    /* a target near or over a threshold found no free tracker */
    uint64_t attacks;         /* reported */
    uint64_t scans;           /* over-threshold episodes judged to be scans, not reported */
    uint64_t candidates;      /* trackers started that did not become attacks */
    uint64_t ring_waits;      /* times the reader waited for a full ring */
    uint64_t late_packets;    /* packets older than their target's current second */
};

/* Starts a detector (and its worker threads). KS_EINVAL (bad config), KS_ENOMEM, KS_EIO
 * (threads). */
KS_API int ks_ddos_new(const struct ks_ddos_config *cfg, struct ks_ddos **dp);
/* Counts one decoded packet. Packets should come in time order (late ones are counted in
 * their target's current second). Non-IP summaries are ignored. The per-target work of a
 * packet is pipelined: it may run during one of the next 16 _feed calls, or _tick or _flush,
 * so on_attack may be called a few packets after the one that decided it. */
KS_API int ks_ddos_feed(struct ks_ddos *d, const struct ks_pkt *p);
/* Time has reached now_us without packets (live capture): ends quiet attacks. */
KS_API int ks_ddos_tick(struct ks_ddos *d, int64_t now_us);
/* End of input: closes the last second, reports every attack still open (open = true) and
 * waits for the workers. The detector can then only be freed or asked for stats. */
KS_API int ks_ddos_flush(struct ks_ddos *d);
/* packets and bytes are current; the other counters are final after _flush (before it they
 * may lag by the packets still in the pipeline, or, with workers, stay 0). */
KS_API void ks_ddos_stats(const struct ks_ddos *d, struct ks_ddos_stats *st);
KS_API void ks_ddos_free(struct ks_ddos *d); /* NULL is fine; stops the workers */

/* --- the store ---------------------------------------------------------------------------- */

struct ks_ingest;
/* Writes an attack (a row of ddos_attacks, numbered attack_no within the input) and its
 * timeline (rows of ddos_timeline) through an ingest. Returns the store's error, if any. */
KS_API int ks_ddos_store_attack(struct ks_ingest *ing, uint64_t attack_no,
                                const struct ks_ddos_attack *a);

#endif
