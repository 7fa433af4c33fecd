/* Throughput of the capture + DDoS pipeline on one file, for bench/ddos/run.sh: the same work
 * as `kansoku ddos detect -q FILE` without the CLI around it.
 * usage: bench_ddos FILE WORKERS [THRESHOLD_PPS] */
#include "kansoku/ks_capture.h"
#include "kansoku/ks_ddos.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t attacks;

static void on_attack(void *user, const struct ks_ddos_attack *a)
{
    (void)user;
    (void)a;
    attacks++;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_ddos FILE WORKERS [THRESHOLD_PPS]\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct ks_capture *c;
    const char *paths[] = {argv[1]};
    if (ks_capture_open_files(paths, 1, NULL, &c) != KS_OK) {
        fprintf(stderr, "bench_ddos: %s\n", ks_capture_errmsg(NULL));
        return 1;
    }
    struct ks_ddos_config cfg;
    ks_ddos_config_default(&cfg);
    cfg.workers = (uint32_t)strtoul(argv[2], NULL, 10);
    if (argc > 3)
        cfg.thr.pps = strtoull(argv[3], NULL, 10);
    cfg.on_attack = on_attack;
    struct ks_ddos *d;
    if (ks_ddos_new(&cfg, &d) != KS_OK) {
        fprintf(stderr, "bench_ddos: cannot start\n");
        return 1;
    }
    struct ks_pkt p;
    int r;
    while ((r = ks_capture_next(c, &p)) == 1)
        ks_ddos_feed(d, &p);
    ks_ddos_flush(d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct ks_ddos_stats st;
    ks_ddos_stats(d, &st);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("packets=%" PRIu64 " attacks=%" PRIu64 " targets=%" PRIu64 " evicted=%" PRIu64
           " ring_waits=%" PRIu64 " seconds=%.3f pps=%.0f\n",
           st.packets, attacks, st.targets, st.targets_evicted, st.ring_waits, s,
           (double)st.packets / s);
    ks_ddos_free(d);
    ks_capture_free(c);
    return r < 0 ? 1 : 0;
}
