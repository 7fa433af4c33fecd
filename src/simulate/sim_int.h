/* simulate: what the generators share (random numbers, output files, pcap records, addresses
 * by country and by Japanese ISP, time formatting). Internal to src/simulate. */
#ifndef KS_SIM_INT_H
#define KS_SIM_INT_H

#include "kansoku/ks_simulate.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* --- random numbers: xoshiro256** seeded through splitmix64 --------------------------------- */

struct sim_rng {
    uint64_t s[4];
};

/* A stream of its own for (seed, stream): parts and sub-streams never share state, so the
 * output does not depend on the order in which parts run. */
void sim_rng_init(struct sim_rng *r, uint64_t seed, uint64_t stream);
uint64_t sim_next(struct sim_rng *r);
uint32_t sim_below(struct sim_rng *r, uint32_t n); /* uniform in 0..n-1 (n >= 1) */
double sim_unit(struct sim_rng *r);                /* uniform in [0, 1) */
double sim_range(struct sim_rng *r, double lo, double hi);
double sim_logu(struct sim_rng *r, double lo, double hi); /* log-uniform in [lo, hi) */
double sim_normal(struct sim_rng *r);                     /* mean 0, sd 1 */
uint32_t sim_poisson(struct sim_rng *r, double lambda);
size_t sim_pick(struct sim_rng *r, const double *w, size_t n); /* index by weight */
bool sim_chance(struct sim_rng *r, double p);

/* --- addresses ------------------------------------------------------------------------------ */

struct sim_pfx {
    uint32_t base; /* host order */
    uint8_t len;
};

/* A source of addresses: a country (ISO alpha-2) or, for "JP" with isp >= 0, one Japanese
 * ISP: 0 = the operator (IIJ, AS2497), 1..9 = the next nine (A..I in the report), 10 = other
 * Japanese networks. share is a weight (percent in the tables of the generators). */
struct sim_src {
    const char *cc;
    int isp;
    double share;
};

#define SIM_NISP 11

/* A host address (host order) in one of cc's prefixes; 0 if cc is not in the table. */
uint32_t sim_addr_cc(struct sim_rng *r, const char *cc);
uint32_t sim_addr_isp(struct sim_rng *r, int isp);
uint32_t sim_addr_src(struct sim_rng *r, const struct sim_src *s);
/* Picks a source of mix[0..n) by share and an address in it; *which gets the index. */
uint32_t sim_addr_mix(struct sim_rng *r, const struct sim_src *mix, size_t n, size_t *which);

/* The table, for tests: country i (NULL past the end) and its prefixes. */
const char *sim_table_cc(size_t i, const struct sim_pfx **p, size_t *np);
/* ISP i (< SIM_NISP): its name, AS number (0 for "other") and prefixes. */
const char *sim_table_isp(size_t i, uint32_t *asn, const struct sim_pfx **p, size_t *np);

void sim_addr_text(uint32_t a, char buf[16]);
/* The country and AS of a generated address: from cfg->geo when set, else from the table
 * entry src it was drawn from (AS 0 outside the Japanese ISPs). */
void sim_addr_geo(const struct ks_simulate_config *cfg, uint32_t a, const struct sim_src *src,
                  char cc[3], uint32_t *asn);

/* --- output --------------------------------------------------------------------------------- */

struct sim_run;

/* One part of the quarter, run by one thread. */
struct sim_part {
    struct sim_run *run;
    const struct ks_simulate_config *cfg;
    const char *dir;
    struct sim_rng rng;
    int err;
    struct ks_simulate_stats st;
    struct sim_listed {
        char *rel;
        uint64_t bytes;
    } * files;
    size_t nfiles, capfiles;
};

struct sim_file {
    FILE *f;
    char rel[256];
    uint64_t bytes;
    int err;
    char *buf;
};

/* Opens dir/REL for writing (directories created), REL from a printf format. */
int sim_open(struct sim_part *p, struct sim_file *f, const char *fmt, ...) KS_PRINTF(3, 4);
void sim_put(struct sim_file *f, const void *b, size_t n);
void sim_printf(struct sim_file *f, const char *fmt, ...) KS_PRINTF(2, 3);
/* Closes f, lists it in the manifest and counts it; returns the first error met. */
int sim_close(struct sim_part *p, struct sim_file *f);
void sim_fail(struct sim_part *p, const char *rel, int err, const char *what);

/* pcap (LINKTYPE_RAW: bare IPv4 headers, snapped after the transport header). */
struct sim_pkt {
    int64_t ts_us;
    uint32_t src, dst;
    uint16_t sport, dport;
    uint8_t proto;     /* 6, 17, 1 */
    uint8_t tcp_flags; /* KS_TCP_* values */
    uint8_t ttl;
    uint8_t icmp_type;
    uint16_t wire_len; /* IP total length on the wire */
    uint16_t ipid;
};
int sim_pcap_open(struct sim_part *p, struct sim_file *f, const char *rel);
void sim_pcap_write(struct sim_file *f, const struct sim_pkt *k);
void sim_pkts_sort(struct sim_pkt *k, size_t n); /* by time, stable on equal times */

/* --- time ----------------------------------------------------------------------------------- */

int64_t sim_day_start(const struct ks_simulate_config *cfg, int64_t day); /* µs UTC */
int64_t sim_ndays(const struct ks_simulate_config *cfg);
/* "05/Aug/2008:02:03:04 +0900" (Apache %t without brackets) */
void sim_fmt_clf(int64_t t_us, int32_t tz, char *buf, size_t size);
/* "Tue, 05 Aug 2008 02:03:04 +0900" (RFC 5322 3.3) */
void sim_fmt_mail(int64_t t_us, int32_t tz, char *buf, size_t size);
/* "2008-08-05T02:03:04+09:00" */
void sim_fmt_iso(int64_t t_us, int32_t tz, char *buf, size_t size);
/* Share of a day's activity in the hour-long slot h (0..23) of local time: a daily cycle
 * low at 4-5 h and high in the evening; the 24 values sum to 1. */
double sim_diurnal(int hour);
/* A time of day (µs from local midnight) drawn from the daily cycle. */
int64_t sim_time_of_day(struct sim_rng *r);

/* Lowercase hex of n bytes. */
void sim_hex(const uint8_t *b, size_t n, char *out);

/* --- the parts ------------------------------------------------------------------------------ */

int sim_ddos(struct sim_part *p);
int sim_darknet(struct sim_part *p);
int sim_p2p(struct sim_part *p);
int sim_series(struct sim_part *p);
int sim_web(struct sim_part *p);
int sim_mail(struct sim_part *p);
int sim_samples(struct sim_part *p);
int sim_incidents(struct sim_part *p);
/* The web some spam links to (sim_spamweb.c), written by the mail part: whether period spam
 * message id links to it, and the URL it then holds. */
bool sim_spamweb_url(const struct ks_simulate_config *cfg, uint64_t id, char *buf, size_t size);
int sim_spamweb(struct sim_part *p);

#endif
