/* bench_sensor: memory of the sensor daemon's pipeline over simulated hours of traffic.
 *
 * Feeds generated packets (random, spoofed sources; destinations over a /8 and a darknet /16;
 * TCP SYN, UDP, ICMP) through ks_sensor_feed with time advancing second by second, so that the
 * traffic windows rotate, batches are sealed, spooled and written to a store, and the DDoS and
 * darknet tables fill and evict. Prints the RSS after the first simulated hour (the tables are
 * full by then: WARMUP_H) and HOURS later, and the packets per second of wall time.
 * Usage: bench_sensor DIR [HOURS [PPS]]   (defaults 24 h, 100 packets per simulated second) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kansoku/ks_sensor.h"
#include "kansoku/ks_time.h"

/* The tables (DDoS targets, darknet sources per day) are full after a few hours of this
 * traffic, and the first darknet day is written at hour 24 (its cells and sketches are the
 * batches' high-water mark); the RSS is measured from hour 26 over a further `hours` (with the
 * next day change). */
#define WARMUP_H 26

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_sensor DIR [HOURS [PPS]]\n");
        return 2;
    }
    const char *dir = argv[1];
    int hours = argc > 2 ? atoi(argv[2]) : 24;
    int pps = argc > 3 ? atoi(argv[3]) : 100;
    if (hours < 2 || pps < 1) {
        fprintf(stderr, "bench_sensor: at least 2 hours and 1 packet per second\n");
        return 2;
    }
    char text[2048];
    snprintf(text, sizeof text,
             "[sensor]\nname = bench\ndb = %s/bench.db\nspool_dir = %s/spool\nwindow_s = 300\n"
             "flush_s = 1\nmetrics_listen = off\nlog_level = error\n"
             "[capture]\nfile = unused.pcap\n[ddos]\nmax_targets = 65536\n"
             "[darknet]\nprefix = %s\n",
             dir, dir,
             getenv("BENCH_SENSOR_PREFIX") ? getenv("BENCH_SENSOR_PREFIX") : "10.99.0.0/16");
    static struct ks_sensor_config cfg;
    if (ks_sensor_config_parse(text, strlen(text), "bench", NULL, &cfg) != KS_OK) {
        fprintf(stderr, "bench_sensor: bad configuration\n");
        return 1;
    }
    cfg.nfiles = 0; /* packets come from here */
    struct ks_sensor *s = NULL;
    if (ks_sensor_new(&cfg, &s) != KS_OK) {
        fprintf(stderr, "bench_sensor: cannot start the sensor\n");
        return 1;
    }
    /* 2008-07-08T00:00:00Z: a whole darknet day ends within the warm-up, so that the buffers
     * reach their high-water mark (a day of cells and sketches) before the measure starts. */
    int64_t t0 = INT64_C(1215475200000000);
    struct ks_pkt p;
    memset(&p, 0, sizeof p);
    long rss_start = 0;
    uint64_t n = 0;
    double w0 = now_s();
    for (int64_t sec = 0; sec < (int64_t)(hours + WARMUP_H) * 3600; sec++) {
        if (sec == WARMUP_H * 3600) {
            ks_sensor_sync(s, 10000);
            rss_start = rss_kb();
        }
        if (sec % (4 * 3600) == 0 && getenv("BENCH_SENSOR_TRACE"))
            fprintf(stderr, "hour %lld: rss %ld KiB\n", (long long)(sec / 3600), rss_kb());
        for (int i = 0; i < pps; i++) {
            uint64_t r = next();
            p.ts_us = t0 + sec * KS_USEC_PER_SEC + (int64_t)i * (KS_USEC_PER_SEC / pps);
            p.src.family = p.dst.family = 4;
            memcpy(p.src.b, &r, 4); /* spoofed: every source new */
            uint32_t dst = (r >> 32) % 10 == 0 ? 0x0a630000u | (uint32_t)(r >> 40 & 0xffff)
                                               : 0x0a000000u | (uint32_t)(r >> 40 & 0xffffff);
            p.dst.b[0] = (uint8_t)(dst >> 24);
            p.dst.b[1] = (uint8_t)(dst >> 16);
            p.dst.b[2] = (uint8_t)(dst >> 8);
            p.dst.b[3] = (uint8_t)dst;
            p.ipver = 4;
            int k = (int)(r >> 56) % 3;
            p.proto = k == 0 ? 6 : k == 1 ? 17 : 1;
            p.tcp_flags = k == 0 ? 0x02 : 0;
            p.flags = 0x20;
            p.sport = (uint16_t)(r >> 16);
            p.dport = (uint16_t)(r >> 24) % 1024;
            p.wire_len = 60 + (uint32_t)(r >> 50 & 0x3ff);
            p.cap_len = 60;
            p.weight = 1;
            ks_sensor_feed(s, &p);
            n++;
        }
    }
    ks_sensor_sync(s, 10000);
    double w1 = now_s();
    long rss_end = rss_kb();
    struct ks_sensor_stats st;
    ks_sensor_stats(s, &st);
    printf("hours=%d packets=%llu wall_s=%.2f pps=%.0f rss_kb_start=%ld rss_kb_end=%ld "
           "windows=%llu batches_committed=%llu rows_committed=%llu spool_batches=%llu "
           "ddos_evicted=%llu\n",
           hours, (unsigned long long)n, w1 - w0, (double)n / (w1 - w0), rss_start, rss_end,
           (unsigned long long)st.windows, (unsigned long long)st.batches_committed,
           (unsigned long long)st.rows_committed, (unsigned long long)st.spool_batches,
           (unsigned long long)st.ddos_evicted);
    ks_sensor_free(s);
    return 0;
}
