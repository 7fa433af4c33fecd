/* kansoku sensor: the daemon that runs capture, the darknet and honeypot listeners and the
 * analyzers continuously, from one configuration file (docs/sensor.md).
 *
 * Data path. Packets (a live interface, or pcap files: a list, or a directory watched for new
 * files) and flow records (NetFlow v5/v9, IPFIX, sFlow on a UDP socket, spread into weighted
 * packets by ks_flow_spread) go to the DDoS detector, the darknet statistics and the sensor's own
 * traffic counters (packets and bytes per protocol per window: series metrics sensor.packets /
 * sensor.bytes); honeypot sessions come from the honeypot's own thread. Every record becomes a row
 * of a batch in memory; a batch is sealed every flush_s seconds (wall time), when it is
 * full, and at stop. A sealed batch is written to the spool directory (one file, fsync'd and
 * renamed into place) before anything else, and a writer thread replays the spool into the
 * store, oldest first, each batch as one store input whose identity is the SHA-256 of the
 * batch file. A batch that the store already has (a replay after a crash between commit and
 * unlink) is recognised and removed: nothing is counted twice. While the store is down
 * (missing, locked, read-only, disk full) batches accumulate in the spool up to spool_max_mb,
 * and the writer retries with backoff; past the bound new batches are dropped and counted.
 *
 * Control. ks_sensor_request_reload (SIGHUP) makes the loop re-read the configuration file:
 * if it is valid, the analyzers flush what they hold into a batch and are rebuilt from it; if
 * not, the old one stays and the error is logged. ks_sensor_request_stop (SIGTERM) makes
 * ks_sensor_run flush everything, seal the last batch, replay the spool (once, if the store
 * is up) and return. Logging goes through ks_log (stderr by default).
 *
 * Metrics. A tiny HTTP server on a loopback address serves GET /metrics in the Prometheus
 * text format (0.0.4): packets, bytes, drops per reason, table fill, spool, store lag. One
 * connection at a time, requests of at most 4 KiB, 2 s timeouts.
 *
 * Threads: ks_sensor_run's thread runs the loop and owns the analyzers; the writer, the metrics
 * server and the honeypot have a thread each. Only the request functions may be called from
 * other threads or signal handlers. */
#ifndef KS_SENSOR_H
#define KS_SENSOR_H

#include "kansoku/ks_capture.h"
#include "kansoku/ks_core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KS_SENSOR_MAX_FILES 64
#define KS_SENSOR_MAX_PREFIXES 64

/* The configuration file's content (docs/sensor.md gives the format and the defaults). */
struct ks_sensor_config {
    char path[1024]; /* the file it was read from ("" for text) */
    /* [sensor] */
    char name[64];            /* sensor name in records (default: the host name) */
    char db[1024];            /* the store (required) */
    char spool_dir[1024];     /* required */
    uint64_t spool_max_bytes; /* spool_max_mb (default 256 MiB) */
    uint32_t flush_s;         /* seal a batch at least this often (default 10) */
    uint32_t window_s;        /* traffic counters' window (default 300) */
    uint32_t batch_max_rows;  /* seal a batch when it has this many rows (default 50000) */
    uint32_t retry_max_s;     /* the writer's backoff cap (default 30) */
    uint32_t busy_timeout_ms; /* store lock wait (default 2000) */
    char metrics_listen[128]; /* "127.0.0.1:9477" (default); "" or "off" disables */
    int log_level;            /* enum ks_log_level (default info) */
    /* [capture] */
    char interface[64];                    /* live capture, or */
    char files[KS_SENSOR_MAX_FILES][1024]; /* pcap files, or */
    size_t nfiles;
    char pcap_dir[1024];  /* a directory watched for new files */
    uint32_t poll_s;      /* pcap_dir scan interval (default 5) */
    bool exit_when_done;  /* files: stop once they are read (default no) */
    char filter[512];     /* BPF */
    uint32_t sample_rate; /* default 1 */
    bool promisc;
    /* [ddos] */
    bool ddos;                  /* enabled (default yes when there is a capture) */
    char ddos_thresholds[1024]; /* a thresholds file (src/ddos/README.md), optional */
    uint32_t ddos_max_targets;  /* default 65536 */
    /* [darknet] */
    bool darknet;            /* enabled when prefixes are given */
    char darknet_sensor[64]; /* default: the sensor name */
    char darknet_prefixes[KS_SENSOR_MAX_PREFIXES][64];
    size_t ndarknet_prefixes;
    int32_t tz_offset_s; /* darknet days (default 0) */
    char geo_dir[1024];  /* optional */
    /* [honeypot] */
    bool honeypot;                 /* enabled when ports are given */
    char hp_listen[64];            /* default 0.0.0.0 */
    char hp_tcp[512], hp_udp[512]; /* port lists "22,23,80-89" */
    uint32_t hp_max_sessions;
    /* [flow] */
    bool flow;             /* a [flow] section was given: NetFlow/IPFIX/sFlow collector */
    char flow_listen[128]; /* "ADDR:PORT" of its UDP socket (ks_flow_listen) */
};

/* Parses configuration text (source names it in diagnostics). Errors are reported through
 * diag (module "sensor", line numbers) and make it fail with KS_EFORMAT after the whole text
 * was read; KS_EINVAL for a configuration that parses but cannot work (no db, no spool_dir,
 * nothing to run, a non-loopback metrics address). */
KS_API int ks_sensor_config_parse(const char *text, size_t len, const char *source,
                                  const struct ks_diag *diag, struct ks_sensor_config *cfg);
/* Reads and parses a file (KS_EIO if it cannot be read). */
KS_API int ks_sensor_config_load(const char *path, const struct ks_diag *diag,
                                 struct ks_sensor_config *cfg);

struct ks_sensor; /* opaque */

struct ks_sensor_stats {
    uint64_t packets, bytes; /* read from the capture (or fed) */
    uint64_t decode_errors;  /* malformed packets skipped by the capture */
    uint64_t kernel_drops;   /* live: dropped by the kernel */
    uint64_t ddos_attacks;   /* attacks recorded */
    uint64_t ddos_targets, ddos_capacity, ddos_evicted, ddos_tracker_full;
    uint64_t darknet_packets, darknet_cells_dropped, darknet_sources_evicted;
    uint64_t honeypot_sessions, honeypot_refused;
    uint64_t rows;         /* rows put in batches */
    uint64_t pending_rows; /* in the open batch */
    uint64_t batches_sealed, batches_committed, batches_duplicate, batches_bad;
    uint64_t rows_committed, rows_rejected;       /* rows the store refused (bad values) */
    uint64_t spool_full_batches, spool_full_rows; /* dropped: the spool was full */
    uint64_t spool_batches, spool_bytes;          /* waiting in the spool now */
    int64_t oldest_batch_us; /* seal time of the oldest batch in the spool, 0 if none */
    uint64_t store_errors;   /* failed attempts (open, begin, commit) */
    bool store_up;           /* the last attempt reached the store */
    uint64_t reloads, reload_errors;
    uint64_t windows;    /* traffic windows closed */
    uint64_t files_done; /* pcap files read to the end */
    uint64_t flow_records, flow_bad_datagrams, flow_sources_evicted;
};

/* Starts a sensor: opens the capture, binds the honeypot and the metrics port, starts the
 * writer and replays what an earlier run left in the spool. cfg is copied. KS_EINVAL,
 * KS_EIO (a socket, the spool directory, the capture: the message is logged), KS_ENOMEM. */
KS_API int ks_sensor_new(const struct ks_sensor_config *cfg, struct ks_sensor **sp);

/* Runs the loop until a stop request (or, with exit_when_done, the end of the files); then
 * flushes and seals everything and tries the store once more. KS_OK, or KS_EIO when the
 * capture failed for good. */
KS_API int ks_sensor_run(struct ks_sensor *s);

/* Async-signal-safe requests to the loop. */
KS_API void ks_sensor_request_stop(struct ks_sensor *s);
KS_API void ks_sensor_request_reload(struct ks_sensor *s);

/* Without ks_sensor_run (tests, benchmarks): one decoded packet, in time order; time advances
 * with it (windows rotate by the packets' time; batches are sealed every flush_s of wall time,
 * checked every 1024 packets). */
KS_API int ks_sensor_feed(struct ks_sensor *s, const struct ks_pkt *p);
/* Seals the open batch and waits (at most wait_ms) until the writer has tried the spool. */
KS_API int ks_sensor_sync(struct ks_sensor *s, uint32_t wait_ms);

KS_API void ks_sensor_stats(struct ks_sensor *s, struct ks_sensor_stats *st);
/* The metrics page (Prometheus text) into buf; returns its length (truncated to size - 1). */
KS_API size_t ks_sensor_metrics_text(struct ks_sensor *s, char *buf, size_t size);
/* The metrics server's port (0 if none). */
KS_API uint16_t ks_sensor_metrics_port(const struct ks_sensor *s);

/* Flushes the analyzers, seals the last batch, gives the writer one last try, stops every
 * thread and frees. NULL is fine. */
KS_API void ks_sensor_free(struct ks_sensor *s);

#endif
