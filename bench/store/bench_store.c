/* Store benchmark: N narrow rows of the series table inserted through ks_store (batched, WAL),
 * timed from open to close. Also writes the same rows as CSV for the peer (sqlite3 .import,
 * with the input_id column) and for `kansoku db import` (without it).
 *   bench_store N DB PEER.csv KANSOKU.csv */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kansoku/ks_store.h"

static const char *const metrics[4] = {"pkts", "bytes", "syn", "flows"};
static const char *const sensors[8] = {"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"};

struct row {
    int64_t ts;
    const char *sensor, *metric, *key;
    double value;
};

static char keys[65536][8];

static void row_of(uint64_t i, struct row *r)
{
    r->ts = INT64_C(1212278400000000) + (int64_t)(i / 1000) * 300000000;
    r->sensor = sensors[i % 8];
    r->metric = metrics[(i / 8) % 4];
    r->key = keys[(i * 7919) % 65536];
    r->value = (double)(i % 100000);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_store N DB PEER.csv KANSOKU.csv\n");
        return 2;
    }
    uint64_t n = strtoull(argv[1], NULL, 10);
    struct row r;
    for (unsigned k = 0; k < 65536; k++)
        snprintf(keys[k], sizeof keys[k], "%u", k);

    FILE *peer = fopen(argv[3], "w"), *own = fopen(argv[4], "w");
    if (!peer || !own) {
        perror("bench_store: csv");
        return 1;
    }
    fputs("ts,sensor,metric,key,value\n", own);
    for (uint64_t i = 0; i < n; i++) {
        row_of(i, &r);
        fprintf(peer, "1,%" PRId64 ",%s,%s,%s,%.17g\n", r.ts, r.sensor, r.metric, r.key, r.value);
        fprintf(own, "%" PRId64 ",%s,%s,%s,%.17g\n", r.ts, r.sensor, r.metric, r.key, r.value);
    }
    if (fclose(peer) != 0 || fclose(own) != 0) {
        perror("bench_store: csv");
        return 1;
    }

    struct ks_store *s = NULL;
    struct ks_ingest *ing = NULL;
    struct ks_store_input in = {.size = n, .name = "bench", .kind = "bench"};
    memset(in.sha256, 'b', 64);
    double t0 = now_s();
    if (ks_store_open(argv[2], NULL, &s) != KS_OK) {
        fprintf(stderr, "bench_store: %s\n", ks_store_errmsg(NULL));
        return 1;
    }
    int rc = ks_store_input_begin(s, &in, KS_STORE_FORCE, &ing);
    for (uint64_t i = 0; rc == KS_OK && i < n; i++) {
        row_of(i, &r);
        ks_store_row_begin(ing, KS_TBL_SERIES);
        ks_store_put_time(ing, r.ts);
        ks_store_put_text(ing, r.sensor, strlen(r.sensor));
        ks_store_put_text(ing, r.metric, strlen(r.metric));
        ks_store_put_text(ing, r.key, strlen(r.key));
        ks_store_put_f64(ing, r.value);
        rc = ks_store_row_end(ing);
    }
    if (ing) {
        int end = ks_store_input_end(ing, rc == KS_OK);
        rc = rc != KS_OK ? rc : end;
    }
    if (rc != KS_OK) {
        fprintf(stderr, "bench_store: %s\n", ks_store_errmsg(s));
        return 1;
    }
    ks_store_close(s);
    double dt = now_s() - t0;
    printf("kansoku_api rows=%" PRIu64 " seconds=%.3f rows_per_s=%.0f\n", n, dt, n / dt);
    return 0;
}
