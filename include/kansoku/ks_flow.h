/* kansoku flow: a collector of NetFlow v5, NetFlow v9 (RFC 3954), IPFIX (RFC 7011) and sFlow v5
 * export datagrams, turning each into the same flow record (struct ks_flow_rec), delivered
 * through a callback, with no allocation per record.
 *
 * Input is one export datagram at a time (the UDP payload), with the exporter's address and the
 * time it arrived: from a socket the collector opened (ks_flow_listen + ks_flow_poll), or from
 * the caller (ks_flow_feed: a capture file of export packets, a socket of its own). The
 * protocol is recognised from the datagram's version field, so one socket may receive all four.
 *
 * State, bounded by the configuration: a table of sources (exporter address x protocol x
 * observation domain / source id / engine / sFlow sub-agent: sequence numbers, uptime, sampling
 * rate) and a pool of templates (v9 and IPFIX, keyed by source and template id, with a timeout).
 * When a table is full the least recently used entry is evicted and counted. Bad input (a
 * template that lies about lengths, a field longer than the datagram, a data set without a
 * template, sequence gaps, exporter restarts, sFlow headers cut short, ...) is counted per
 * source and reason (enum ks_flow_reason), and the first instances go to the diagnostics.
 *
 * A collector is used by one thread. */
#ifndef KS_FLOW_H
#define KS_FLOW_H

#include "kansoku/ks_capture.h"
#include "kansoku/ks_core.h"
#include "kansoku/ks_ip.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The export protocol of a datagram or record. */
enum ks_flow_proto {
    KS_FLOW_NETFLOW5 = 5,
    KS_FLOW_NETFLOW9 = 9,
    KS_FLOW_IPFIX = 10,
    KS_FLOW_SFLOW5 = 0x5f, /* sFlow version 5 */
};
KS_API const char *ks_flow_proto_name(int proto); /* "netflow5", "netflow9", "ipfix", "sflow5" */

/* One flow (NetFlow/IPFIX data record) or one sampled packet (sFlow flow sample). Valid during
 * the callback only. Counts are as exported: multiply by `sampling` for the estimate of the
 * traffic (ks_flow_spread does). */
struct ks_flow_rec {
    int proto;                /* enum ks_flow_proto */
    struct ks_addr exporter;  /* the exporter (sFlow: the agent address of the datagram) */
    uint32_t domain;          /* v9 source id, IPFIX observation domain, v5 engine type << 8 | id,
                               * sFlow sub-agent id */
    int64_t start_us, end_us; /* first and last packet, µs UTC (sFlow: arrival time) */
    struct ks_addr src, dst;  /* family 0 when the record carries none */
    struct ks_addr nexthop;
    uint16_t sport, dport; /* TCP/UDP ports; 0 otherwise */
    uint8_t icmp_type, icmp_code;
    uint8_t proto_ip;  /* IP protocol number */
    uint8_t tcp_flags; /* OR of the flow's TCP flags (KS_TCP_*) */
    uint8_t tos;
    uint8_t src_mask, dst_mask;
    uint8_t direction;       /* IPFIX flowDirection: 0 ingress, 1 egress; 0 when absent */
    uint64_t packets, bytes; /* as exported (sampled); sFlow: 1 and the frame length */
    uint32_t sampling;       /* this record stands for 1 in `sampling` (>= 1) */
    uint32_t in_if, out_if;
    uint32_t src_as, dst_as;
    const struct ks_pkt *pkt; /* sFlow raw packet header decoded (payload within the header),
                               * else NULL */
};

/* Interface counters (sFlow counter sample, generic interface counters). */
struct ks_flow_counters {
    struct ks_addr exporter;
    uint32_t domain;
    int64_t ts_us; /* arrival time */
    uint32_t if_index, if_type;
    uint64_t if_speed;
    uint64_t in_octets, out_octets;
    uint32_t in_packets, out_packets; /* unicast + multicast + broadcast */
    uint32_t in_errors, out_errors, in_discards, out_discards;
};

/* Why a datagram, set, template, record or sample was not (fully) used. */
enum ks_flow_reason {
    KS_FLOW_R_VERSION = 0,  /* "bad_version": not v5/v9/IPFIX/sFlow v5 */
    KS_FLOW_R_SHORT,        /* "short_header": datagram shorter than its header */
    KS_FLOW_R_LENGTH,       /* "bad_length": message, set or count disagrees with the bytes */
    KS_FLOW_R_TEMPLATE,     /* "bad_template": a template that lies about lengths or fields */
    KS_FLOW_R_FIELD,        /* "field_too_long": a field (or record) past its set */
    KS_FLOW_R_NO_TEMPLATE,  /* "no_template": data set with an unknown template (records lost) */
    KS_FLOW_R_SEQ_GAP,      /* "sequence_gap": datagrams/records missing (counted as gaps) */
    KS_FLOW_R_SEQ_BACK,     /* "sequence_back": reordered or duplicated datagrams */
    KS_FLOW_R_RESTART,      /* "restart": uptime or sequence reset (templates dropped) */
    KS_FLOW_R_SFLOW_HEADER, /* "sflow_header": sampled packet header cut short or malformed */
    KS_FLOW_R_SFLOW_SAMPLE, /* "sflow_sample": a sample or record longer than the datagram */
    KS_FLOW_R_TEMPLATE_EXPIRED, /* "template_expired": not refreshed within the timeout */
    KS_FLOW_R_TEMPLATE_EVICTED, /* "template_evicted": the template pool was full */
    KS_FLOW_R_UNSUPPORTED,      /* "unsupported": valid but not decoded (reserved set ids, ...) */
    KS_FLOW_R_COUNT
};
KS_API const char *ks_flow_reason_name(unsigned r); /* NULL if out of range */

/* Per source (exporter x protocol x domain), as ks_flow_sources reports it. */
struct ks_flow_source_stats {
    struct ks_addr exporter;
    int proto;
    uint32_t domain;
    uint64_t datagrams, records, packets, bytes; /* records delivered, their counts (sampled) */
    uint64_t templates;                          /* template records accepted (new or refreshed) */
    uint64_t lost;     /* records (v5, IPFIX) or datagrams (v9, sFlow) the gaps skipped */
    uint32_t sampling; /* the rate known now (1 if none) */
    uint64_t reasons[KS_FLOW_R_COUNT];
};

struct ks_flow_stats {
    uint64_t datagrams, bad_datagrams; /* fed; those with any error */
    uint64_t records, packets, bytes;  /* delivered (sampled counts) */
    uint64_t counters;                 /* counter records delivered */
    uint64_t sources, templates;       /* held now */
    uint64_t sources_evicted;          /* source table full: the least recent dropped */
    uint64_t reasons[KS_FLOW_R_COUNT]; /* over all sources, evicted ones included */
};

struct ks_flow_config {
    uint32_t max_sources;        /* sources held (default 4096; LRU eviction, counted) */
    uint32_t max_templates;      /* templates held, all sources (default 8192; LRU) */
    uint32_t template_timeout_s; /* a template not refreshed (sent again) for this long
                                    is dropped (default 1800; 0 = never) */
    uint32_t default_sampling;   /* rate when the exporter announces none (default 1) */
    bool ignore_sampling;        /* take every record as unsampled (default off) */
    const struct ks_diag *diag;  /* may be NULL */
    /* Called for each flow record / counter record; the pointers are valid during the call. */
    void (*on_record)(void *user, const struct ks_flow_rec *r);
    void (*on_counters)(void *user, const struct ks_flow_counters *c);
    void *user;
};

struct ks_flow; /* opaque */

KS_API void ks_flow_config_default(struct ks_flow_config *cfg);
/* KS_OK, KS_EINVAL (zero capacities), KS_ENOMEM. */
KS_API int ks_flow_new(const struct ks_flow_config *cfg, struct ks_flow **fp);
KS_API void ks_flow_free(struct ks_flow *f); /* NULL is fine; closes its sockets */

/* Decodes one export datagram (len bytes of UDP payload) sent by `exporter` (port: its UDP
 * source port, 0 if unknown) and received at recv_us, calling on_record for each record. loc
 * (may be NULL) names the datagram in diagnostics. Returns KS_OK, or the first error of a
 * datagram that was (partly) refused: KS_EFORMAT, KS_ETRUNC (all counted). Never reads outside
 * data[0 .. len). Hot path: no allocation. */
KS_API int ks_flow_feed(struct ks_flow *f, const uint8_t *data, size_t len,
                        const struct ks_addr *exporter, uint16_t port, int64_t recv_us,
                        const struct ks_loc *loc);

/* Drops the templates not refreshed since now_us - template_timeout_s (ks_flow_feed does it
 * too, at most once a second of export time). */
KS_API void ks_flow_expire(struct ks_flow *f, int64_t now_us);

/* Opens a UDP socket bound to "ADDR:PORT" ("[v6]:PORT", ":PORT" or "PORT" for any IPv4 and
 * IPv6 address) that ks_flow_poll reads. At most 8 sockets. KS_OK, KS_EINVAL (bad text),
 * KS_EIO (socket/bind: errno), KS_ELIMIT. */
KS_API int ks_flow_listen(struct ks_flow *f, const char *addr_port);
/* Waits up to timeout_ms (-1: forever) for datagrams on the sockets and feeds every one that
 * arrived (time: the receive clock). Returns the number of datagrams fed (0 on timeout),
 * KS_EINTR (a signal or ks_flow_break), or KS_EIO. */
KS_API int ks_flow_poll(struct ks_flow *f, int timeout_ms);
/* The collector's sockets, for a caller's own poll loop (then ks_flow_poll(f, 0) when one is
 * readable): writes up to max descriptors to fds and returns how many there are. */
KS_API size_t ks_flow_fds(const struct ks_flow *f, int *fds, size_t max);
/* Makes a waiting ks_flow_poll return KS_EINTR (async-signal-safe). */
KS_API void ks_flow_break(struct ks_flow *f);

KS_API void ks_flow_stats(const struct ks_flow *f, struct ks_flow_stats *st);
/* Calls fn for each source held now, the least recently seen first. */
KS_API void ks_flow_sources(const struct ks_flow *f,
                            void (*fn)(void *user, const struct ks_flow_source_stats *s),
                            void *user);

/* --- feeding packet analyzers ------------------------------------------------------------- */

/* Turns a record into weighted packet summaries for the packet analyzers (ks_ddos_feed,
 * ks_darknet_feed, ...): the flow's packets x sampling and bytes x sampling are spread evenly
 * over the seconds of [start, end] (at most max_seconds; 0 = 3600, longer flows get longer
 * steps), each second as one or two summaries (two when the bytes do not divide evenly by the
 * packets, so that the totals are exact) of weight <= 65535. An sFlow sample gives its decoded
 * packet with the sampling rate as weight. Calls fn for each; returns the number of calls. */
KS_API size_t ks_flow_spread(const struct ks_flow_rec *r, uint32_t max_seconds,
                             void (*fn)(void *user, const struct ks_pkt *p), void *user);

#endif
