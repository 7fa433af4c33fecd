/* kansoku p2p: the residue of a P2P client, i.e. how long its address keeps receiving
 * connection attempts after the client stops, and how fast they decay.
 *
 * A handle is given the addresses of one or more hosts (the P2P clients, side by side) and
 * fed decoded packets (struct ks_pkt). For each host it counts, per bin of bin_s seconds (5
 * minutes by default) from the first packet seen: TCP SYNs (SYN without ACK) and SYN-ACKs
 * arriving and leaving, and UDP datagrams arriving and leaving; per day, the distinct sources
 * of the incoming SYNs and of the incoming UDP datagrams (HyperLogLog, ks_hll.h); the time of
 * the last incoming SYN.
 *
 * After the stop (the configured time, else the host's last outgoing SYN, or UDP datagram if
 * it never sent a SYN) it measures the decay of the incoming SYNs:
 *   background  mean incoming SYNs per bin over the last background_bins bins of the
 *               observation (the level the residue decays to);
 *   time to background  from the stop to the first bin from which the moving mean of
 *               `smooth` bins is at or below the background (+ its Poisson deviation);
 *   half-life   ln 2 / -b, where b is the slope of a least-squares line through
 *               ln(count - background) over the bins from the stop to the time to background,
 *               weighted by (count - background) (the variance of the log of a Poisson count
 *               is about 1/count); bins at or below the background are left out. Needs 3
 *               bins and a negative slope; r2 is the weighted coefficient of determination.
 *
 * Bounded: at most KS_P2P_MAX_HOSTS hosts and max_bins bins per host (later packets are
 * counted as dropped). All memory is allocated by ks_p2p_add_host(); feeding allocates
 * nothing. A handle is used by one thread. */
#ifndef KS_P2P_H
#define KS_P2P_H

#include "kansoku/ks_capture.h"
#include "kansoku/ks_core.h"
#include "kansoku/ks_ip.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KS_P2P_MAX_HOSTS 64

struct ks_p2p; /* opaque */

struct ks_p2p_config {
    uint32_t bin_s;           /* bin width in seconds (300) */
    uint32_t max_bins;        /* bins kept per host (8640: 30 days of 5 minutes) */
    uint32_t background_bins; /* tail bins that give the background (12: one hour) */
    uint32_t smooth;          /* bins of the moving mean for the time to background (3) */
    uint8_t hll_p;            /* precision of the daily source sketches (12) */
};

struct ks_p2p_bin {
    int64_t ts; /* start of the bin, µs UTC */
    uint64_t syn_in, syn_out, synack_in, synack_out, udp_in, udp_out;
};

struct ks_p2p_day {
    int64_t day;        /* start of the UTC day */
    double sources_syn; /* distinct sources of incoming SYNs */
    double sources_udp; /* distinct sources of incoming UDP datagrams */
};

struct ks_p2p_result {
    struct ks_addr host;
    const struct ks_p2p_bin *bins; /* nbins bins from the first one with any packet of any
                                      host, valid until the next feed or free */
    size_t nbins;
    const struct ks_p2p_day *days;
    size_t ndays;
    uint64_t syn_in, syn_out, synack_in, synack_out, udp_in, udp_out; /* totals */
    int64_t last_syn_in;                                              /* µs; 0 if none */
    int64_t last_out;   /* last outgoing SYN (or UDP) µs; 0 if none */
    int64_t stopped_at; /* the stop used (configured or inferred); 0 if unknown */
    bool stop_inferred;
    /* decay after the stop (valid when has_decay) */
    bool has_decay;
    double background;           /* incoming SYNs per bin */
    double time_to_background_s; /* from the stop to the background; -1 if not reached */
    bool has_half_life;
    double half_life_s;
    double rate0; /* fitted incoming SYNs per bin at the stop (above background) */
    double r2;
    uint32_t fit_points;
    uint64_t dropped; /* packets outside the kept bins */
};

KS_API void ks_p2p_config_default(struct ks_p2p_config *cfg);
/* KS_OK, KS_EINVAL (bad sizes), KS_ENOMEM. */
KS_API int ks_p2p_new(const struct ks_p2p_config *cfg, struct ks_p2p **pp);
KS_API void ks_p2p_free(struct ks_p2p *p); /* NULL is fine */

/* Adds a host to watch, with the time its client stopped (µs; 0: infer it). Before the first
 * packet. KS_OK, KS_EINVAL (not an address), KS_EEXIST (already added), KS_ELIMIT (more than
 * KS_P2P_MAX_HOSTS), KS_ENOMEM. */
KS_API int ks_p2p_add_host(struct ks_p2p *p, const struct ks_addr *host, int64_t stopped_at_us);
KS_API size_t ks_p2p_hosts(const struct ks_p2p *p);

/* Counts one packet (to or from a watched host; others are ignored). Always KS_OK. */
KS_API int ks_p2p_feed(struct ks_p2p *p, const struct ks_pkt *pkt);

/* Computes the result of host i (in the order added). KS_OK or KS_EINVAL (no such host). */
KS_API int ks_p2p_result(struct ks_p2p *p, size_t i, struct ks_p2p_result *r);

/* The decay analysis alone, on incoming SYN counts per bin (counts[0] is the first bin after
 * the stop). Fills the decay fields of r (has_decay, background, time_to_background_s from
 * the start of bin 0, half-life...). Exposed for tests. */
KS_API void ks_p2p_fit_decay(const struct ks_p2p_config *cfg, const uint64_t *counts, size_t n,
                             struct ks_p2p_result *r);

#endif
