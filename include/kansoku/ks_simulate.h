/* kansoku simulate: a realistic, deterministic quarter of observations for demos and tests.
 *
 * ks_simulate_run() writes, under one directory, the inputs every analyzer of kansoku reads,
 * calibrated on the reference report (Internet Infrastructure Review vol. 1, June-August
 * 2008; ../shared/REPORT_FIGURES.md section 4):
 *   ddos/DAY.pcap          sampled captures towards the operator's customers (1:N, see
 *                          ddos/SAMPLE_RATE) with about 3 attacks a day (77% server, 10%
 *                          bandwidth, 13% composite) and the period's largest attack
 *   darknet/SENSOR.pcap    unsolicited packets reaching two sensors (port mix, countries)
 *   p2p/CLIENT.pcap        SYNs to and from three P2P hosts before and after they stop
 *   web/HOST.log           Apache combined logs of web servers with SQL injection campaigns
 *   mail/...mbox           received mail (SpamAssassin verdicts, Received, Received-SPF)
 *   honeypot/DAY/          harmless synthetic executables captured that day; days.csv (one
 *                          time and source per day for `samples add`), sample_events.csv
 *                          (the other captures, rows for `db import --table sample_events`)
 *                          and yara/kansoku-demo.yar (tags and indicators of the binaries)
 *   spamweb/HOST/PATH      the web about 3% of the period's spam links to (chains ending in
 *                          synthetic executables; hosts.txt, yara/), for `kansoku crawl`
 *   incidents.csv          the analysts' incident log
 *   series/traffic.csv     an hourly traffic series
 *   truth/                 what was planted (attacks, campaigns, experiments), for checks
 *   MANIFEST.txt           every file with its size, and how to ingest it
 * The same configuration (seed included) gives byte-identical files, whatever the number of
 * threads. The generated binaries carry valid headers and no code: they are never malware.
 *
 * Addresses are drawn from real allocations of each country (a built-in table checked
 * against the geolocation data by the tests), so that country statistics come out as planned.
 * Thread-safe: every call works on its own state. */
#ifndef KS_SIMULATE_H
#define KS_SIMULATE_H

#include "kansoku/ks_core.h"

#include <stdbool.h>
#include <stdint.h>

/* Parts of the quarter (ks_simulate_config.parts). */
#define KS_SIM_DDOS 0x01u
#define KS_SIM_DARKNET 0x02u
#define KS_SIM_P2P 0x04u
#define KS_SIM_WEB 0x08u
#define KS_SIM_MAIL 0x10u
#define KS_SIM_SAMPLES 0x20u
#define KS_SIM_INCIDENTS 0x40u
#define KS_SIM_SERIES 0x80u
#define KS_SIM_ALL 0xffu

struct ks_geo;

struct ks_simulate_config {
    uint64_t seed;            /* default 1 */
    int64_t from_day;         /* first day (days since 1970-01-01, local), default 2008-06-01 */
    int64_t to_day;           /* last day, included; default 2008-08-31 (at most 400 days) */
    int32_t tz_offset_s;      /* the observatory's zone: days, daily cycles, log times (+09:00) */
    double scale;             /* volume factor of the bulky streams, 0.001..10 (default 1) */
    uint32_t sample_rate;     /* DDoS captures hold 1 packet in sample_rate (default 10000,
                                 at most 65535); not changed by scale */
    unsigned parts;           /* KS_SIM_* (default KS_SIM_ALL) */
    bool mail_history;        /* also mail from January of the previous year (default true) */
    unsigned threads;         /* worker threads (default 2); the output does not depend on it */
    const struct ks_geo *geo; /* borrowed, may be NULL: country and AS written with the
                                 honeypot captures (else the built-in table's) */
};

/* What was written. */
struct ks_simulate_stats {
    uint64_t files, bytes;
    uint32_t sample_rate;     /* the DDoS captures' effective 1:N */
    uint64_t ddos_attacks[3]; /* server, bandwidth, composite */
    uint64_t ddos_packets;    /* records in the DDoS captures */
    uint64_t darknet_packets; /* records in the darknet captures */
    uint64_t p2p_packets;
    uint64_t web_lines;       /* log lines, attacks included */
    uint64_t web_attacks;     /* of which SQL injection attempts */
    uint64_t mails, spam;     /* messages of the period (history excluded) */
    uint64_t sample_captures; /* honeypot captures listed */
    uint64_t sample_unique;   /* distinct synthetic binaries written */
    uint64_t incidents;
};

KS_API void ks_simulate_config_default(struct ks_simulate_config *cfg);

/* Writes the quarter under dir (created if missing; files of the same names are replaced).
 * Problems are reported through diag (may be NULL; module "simulate", location = the file).
 * KS_OK, KS_EINVAL (a bad configuration), KS_EIO (errno kept), KS_ENOSPC, KS_ENOMEM.
 * st (may be NULL) is filled even on error with what was written. */
KS_API int ks_simulate_run(const struct ks_simulate_config *cfg, const char *dir,
                           const struct ks_diag *diag, struct ks_simulate_stats *st);

#endif
