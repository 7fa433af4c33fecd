/* ClickHouse store benchmark (bench/clickhouse/run.sh).
 *
 *   bench_clickhouse rate URI N PEER.tsv
 *       N narrow rows of `series` through ks_store into the store URI (batches of RowBinary to
 *       the shards, rollups included), timed from input_begin to input_end; the same rows are
 *       first written as TabSeparated (with input_id and ks_batch) for the peer,
 *       clickhouse-client INSERT ... FORMAT TabSeparated.
 *   bench_clickhouse quarter URI N SEED
 *       N raw rows of a quarter (2008-04-01..06-30, JST) for the report: 60% honeypot sessions,
 *       20% SQL-injection detections, 15% mail messages, 5% SPF checks, in time order;
 *       inputs of at most 4 million rows. SEED makes the inputs distinct between runs.
 * Prints one line "MODE rows=N seconds=S rows_per_s=R". */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kansoku/ks_ip.h"
#include "kansoku/ks_store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64*: a fast deterministic generator. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1du;
}

static int begin(struct ks_store *s, const char *name, uint64_t seed, struct ks_ingest **ing)
{
    struct ks_store_input in = {.name = name, .kind = "bench", .size = seed};
    snprintf(in.sha256, sizeof in.sha256, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
             seed, (uint64_t)time(NULL), rnd(), rnd());
    return ks_store_input_begin(s, &in, 0, ing);
}

static const char *const metrics[4] = {"pkts", "bytes", "syn", "flows"};
static const char *const sensors[8] = {"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"};
static char keys[4096][8];

static int rate(struct ks_store *s, uint64_t n, const char *tsv_path)
{
    FILE *tsv = fopen(tsv_path, "w");
    if (!tsv) {
        perror(tsv_path);
        return 1;
    }
    for (unsigned k = 0; k < 4096; k++)
        snprintf(keys[k], sizeof keys[k], "%u", k);
    const int64_t t0 = INT64_C(1212278400000000);
    for (uint64_t i = 0; i < n; i++)
        fprintf(tsv, "1\t0\t%" PRId64 "\t%s\t%s\t%s\t%" PRIu64 "\n",
                t0 + (int64_t)(i / 4096) * 60000000, sensors[i % 8], metrics[(i / 8) % 4],
                keys[(i * 7919) % 4096], i % 100000);
    fclose(tsv);
    struct ks_ingest *ing = NULL;
    double a = now_s();
    int rc = begin(s, "bench rate", n, &ing);
    for (uint64_t i = 0; rc == KS_OK && i < n; i++) {
        const char *k = keys[(i * 7919) % 4096];
        ks_store_row_begin(ing, KS_TBL_SERIES);
        ks_store_put_time(ing, t0 + (int64_t)(i / 4096) * 60000000);
        ks_store_put_text(ing, sensors[i % 8], 2);
        ks_store_put_text(ing, metrics[(i / 8) % 4], strlen(metrics[(i / 8) % 4]));
        ks_store_put_text(ing, k, strlen(k));
        ks_store_put_f64(ing, (double)(i % 100000));
        rc = ks_store_row_end(ing);
    }
    if (ing) {
        int e = ks_store_input_end(ing, rc == KS_OK);
        rc = rc == KS_OK ? e : rc;
    }
    double b = now_s();
    if (rc != KS_OK) {
        fprintf(stderr, "bench_clickhouse: %s\n", ks_store_errmsg(s));
        return 1;
    }
    printf("rate rows=%" PRIu64 " seconds=%.3f rows_per_s=%.0f\n", n, b - a, (double)n / (b - a));
    return 0;
}

/* --- the quarter ------------------------------------------------------------------------------ */

#define POOL 65536
static struct ks_addr addrs[POOL];
static char addr_txt[POOL][16];
static const char *const ports[12] = {"445",  "135", "139",  "1433", "22",  "80",
                                      "3389", "23",  "1026", "5900", "137", "8080"};
static const char *const sigs[8] = {"union-select", "or-1-1",  "sleep",       "benchmark",
                                    "stacked",      "comment", "xp_cmdshell", "information_schema"};
static const char *const ccs[16] = {"CN", "US", "JP", "KR", "RU", "BR", "DE", "TW",
                                    "IN", "VN", "TR", "PL", "FR", "GB", "UA", "IT"};
static const char *const spf_res[5] = {"none", "pass", "softfail", "fail", "neutral"};

static int quarter(struct ks_store *s, uint64_t n, uint64_t seed)
{
    const int64_t t0 = INT64_C(1207000800000000); /* 2008-04-01T00:00:00+09:00 */
    const int64_t span = INT64_C(91) * 86400000000;
    rng_state ^= (seed + 1) * 0xbf58476d1ce4e5b9u; /* never 0: xorshift would stay there */
    if (rng_state == 0)
        rng_state = 1;
    for (unsigned i = 0; i < POOL; i++) {
        uint32_t v4 = 0xc6120000u + i; /* 198.18.0.0/15, benchmarking addresses */
        ks_addr_from_v4(&addrs[i], v4);
        ks_addr_format(&addrs[i], addr_txt[i], sizeof addr_txt[i]);
    }
    struct ks_ingest *ing = NULL;
    char name[64], mid[64];
    int rc = KS_OK;
    double a = now_s();
    for (uint64_t i = 0; rc == KS_OK && i < n; i++) {
        if (i % 4000000 == 0) {
            if (ing && (rc = ks_store_input_end(ing, true)) != KS_OK)
                break;
            snprintf(name, sizeof name, "quarter-%" PRIu64 "-%" PRIu64, seed, i / 4000000);
            if ((rc = begin(s, name, seed * 1000 + i / 4000000, &ing)) != KS_OK)
                break;
        }
        uint64_t r = rnd();
        /* In time order, as logs and captures are, with a second of jitter. */
        int64_t ts = t0 + (int64_t)((double)i / (double)n * (double)span) + (int64_t)(r % 1000000);
        /* Sources are heavy-tailed, as attackers are: the square of a uniform index. */
        uint64_t u = (r >> 20) & 0xffff;
        unsigned src = (unsigned)((u * u) >> 16);
        unsigned kind = (unsigned)(i % 20);
        if (kind < 12) {
            const char *port = ports[(r >> 40) % 12];
            ks_store_row_begin(ing, KS_TBL_HONEYPOT_SESSIONS);
            ks_store_put_time(ing, ts);
            ks_store_put_time(ing, ts + 2000000);
            ks_store_put_text(ing, sensors[(r >> 8) % 8], 2);
            ks_store_put_text(ing, (r >> 50) % 8 ? "tcp" : "udp", 3);
            ks_store_put_addr(ing, &addrs[src]);
            ks_store_put_i64(ing, (int64_t)(1024 + (r >> 33) % 60000));
            ks_store_put_i64(ing, atoi(port));
            ks_store_put_i64(ing, (int64_t)((r >> 45) % 1500));
            ks_store_put_text(ing, "syn", 3);
            ks_store_put_null(ing);
            ks_store_put_null(ing);
            ks_store_put_null(ing);
        } else if (kind < 16) {
            const char *sig = sigs[(r >> 40) % 8];
            ks_store_row_begin(ing, KS_TBL_SQLI_DETECTIONS);
            ks_store_put_time(ing, ts);
            ks_store_put_text(ing, addr_txt[src], strlen(addr_txt[src]));
            ks_store_put_text(ing, "www.example.jp", 14);
            ks_store_put_text(ing, "GET", 3);
            ks_store_put_text(ing, "/index.php", 10);
            ks_store_put_text(ing, "id", 2);
            ks_store_put_text(ing, sig, strlen(sig));
            ks_store_put_text(ing, "1 union select 1", 16);
            ks_store_put_text(ing, "1+union+select+1", 16);
            ks_store_put_i64(ing, 2);
            ks_store_put_i64(ing, 14);
            ks_store_put_i64(ing, 200);
        } else if (kind < 19) {
            int len = snprintf(mid, sizeof mid, "<%" PRIu64 ".%" PRIu64 "@bench>", seed, i);
            const char *cc = ccs[(r >> 40) % 16];
            const char *spf = spf_res[(r >> 44) % 5];
            ks_store_row_begin(ing, KS_TBL_MAIL_MESSAGES);
            ks_store_put_time(ing, ts);
            ks_store_put_text(ing, mid, (size_t)len);
            ks_store_put_text(ing, (r >> 48) % 5 ? "spam" : "ham", (r >> 48) % 5 ? 4 : 3);
            ks_store_put_text(ing, "label", 5);
            ks_store_put_null(ing);
            ks_store_put_addr(ing, &addrs[src]);
            ks_store_put_text(ing, "helo.example", 12);
            ks_store_put_text(ing, cc, 2);
            ks_store_put_i64(ing, (int64_t)(64496 + (r >> 52) % 16));
            ks_store_put_text(ing, "offer", 5);
            ks_store_put_text(ing, "offer", 5);
            ks_store_put_text(ing, "", 0);
            ks_store_put_i64(ing, 0);
            ks_store_put_i64(ing, 0);
            ks_store_put_null(ing);
            ks_store_put_text(ing, spf, strlen(spf));
            ks_store_put_i64(ing, 2048);
            ks_store_put_i64(ing, 0);
            ks_store_put_text(ing, "date", 4);
        } else {
            const char *res = spf_res[(r >> 44) % 5];
            ks_store_row_begin(ing, KS_TBL_SPF_RESULTS);
            ks_store_put_time(ing, ts);
            ks_store_put_addr(ing, &addrs[src]);
            ks_store_put_text(ing, (r >> 50) % 4 ? "mailfrom" : "helo", (r >> 50) % 4 ? 8 : 4);
            ks_store_put_text(ing, "example.com", 11);
            ks_store_put_text(ing, res, strlen(res));
            ks_store_put_text(ing, "", 0);
            ks_store_put_i64(ing, 1);
            ks_store_put_i64(ing, 0);
            ks_store_put_text(ing, "", 0);
        }
        rc = ks_store_row_end(ing);
    }
    if (ing) {
        int e = ks_store_input_end(ing, rc == KS_OK);
        rc = rc == KS_OK ? e : rc;
    }
    double b = now_s();
    if (rc != KS_OK) {
        fprintf(stderr, "bench_clickhouse: %s\n", ks_store_errmsg(s));
        return 1;
    }
    printf("quarter rows=%" PRIu64 " seconds=%.3f rows_per_s=%.0f\n", n, b - a,
           (double)n / (b - a));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[1], "rate") != 0 && strcmp(argv[1], "quarter") != 0)) {
        fprintf(stderr, "usage: bench_clickhouse rate URI N PEER.tsv\n"
                        "       bench_clickhouse quarter URI N SEED\n");
        return 2;
    }
    struct ks_store *s = NULL;
    if (ks_store_open(argv[2], NULL, &s) != KS_OK) {
        fprintf(stderr, "bench_clickhouse: %s\n", ks_store_errmsg(NULL));
        return 1;
    }
    uint64_t n = strtoull(argv[3], NULL, 10);
    int rc = strcmp(argv[1], "rate") == 0 ? rate(s, n, argv[4])
                                          : quarter(s, n, strtoull(argv[4], NULL, 10));
    ks_store_close(s);
    return rc;
}
