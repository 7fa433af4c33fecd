/* Geolocation lookups per second on one core, random IPv4 addresses.
 *
 *   bench_geo DIR [SECONDS] [ASN_MMDB]
 *
 * peer:    libmaxminddb alone: MMDB_lookup_sockaddr + MMDB_get_value("country_code") on the
 *          country file (what any libmaxminddb program does per address);
 * kansoku: ks_geo_lookup (country through libmaxminddb + AS number and organisation);
 * asn:     the AS part alone, kansoku's table vs the same data as a MaxMind DB (ASN_MMDB, made
 *          by scripts/asn-csv-to-mmdb.pl), to compare the two formats. */
#include "kansoku/ks_geo.h"
#include "geo/asn.h"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    uint64_t x = rng_state; /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return (uint32_t)(x >> 16);
}

#define BATCH 65536

/* Runs fn over batches of random addresses for about secs seconds; returns lookups/s. */
static double run(double secs, uint64_t (*fn)(void *, const uint32_t *, size_t), void *ctx,
                  uint64_t *sink)
{
    static uint32_t ips[BATCH];
    uint64_t n = 0;
    double spent = 0;
    rng_state = 0x9e3779b97f4a7c15ull;
    while (spent < secs) {
        for (size_t i = 0; i < BATCH; i++)
            ips[i] = rnd();
        double t0 = now();
        *sink += fn(ctx, ips, BATCH);
        spent += now() - t0;
        n += BATCH;
    }
    return (double)n / spent;
}

static uint64_t peer_mmdb(void *ctx, const uint32_t *ips, size_t n)
{
    MMDB_s *m = ctx;
    uint64_t found = 0;
    for (size_t i = 0; i < n; i++) {
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(ips[i]);
        int err;
        MMDB_lookup_result_s r = MMDB_lookup_sockaddr(m, (struct sockaddr *)&sin, &err);
        if (err == MMDB_SUCCESS && r.found_entry) {
            MMDB_entry_data_s d;
            if (MMDB_get_value(&r.entry, &d, "country_code", NULL) == MMDB_SUCCESS && d.has_data)
                found += (uint8_t)d.utf8_string[0];
        }
    }
    return found;
}

static uint64_t asn_mmdb(void *ctx, const uint32_t *ips, size_t n)
{
    MMDB_s *m = ctx;
    uint64_t found = 0;
    for (size_t i = 0; i < n; i++) {
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(ips[i]);
        int err;
        MMDB_lookup_result_s r = MMDB_lookup_sockaddr(m, (struct sockaddr *)&sin, &err);
        if (err == MMDB_SUCCESS && r.found_entry) {
            MMDB_entry_data_s d;
            if (MMDB_get_value(&r.entry, &d, "autonomous_system_number", NULL) == MMDB_SUCCESS &&
                d.has_data)
                found += d.uint32;
            if (MMDB_get_value(&r.entry, &d, "autonomous_system_organization", NULL) ==
                    MMDB_SUCCESS &&
                d.has_data)
                found += d.data_size;
        }
    }
    return found;
}

static uint64_t kansoku_geo(void *ctx, const uint32_t *ips, size_t n)
{
    const struct ks_geo *g = ctx;
    uint64_t found = 0;
    for (size_t i = 0; i < n; i++) {
        struct ks_addr a;
        ks_addr_from_v4(&a, ips[i]);
        struct ks_geo_result r;
        ks_geo_lookup(g, &a, &r);
        found += (uint8_t)r.country[0] + r.asn + (uint8_t)r.org[0];
    }
    return found;
}

struct asn_only {
    const struct ks_asn_table *t;
};

static uint64_t kansoku_asn(void *ctx, const uint32_t *ips, size_t n)
{
    const struct ks_asn_table *t = ctx;
    uint64_t found = 0;
    for (size_t i = 0; i < n; i++) {
        struct ks_addr a;
        ks_addr_from_v4(&a, ips[i]);
        uint32_t asn;
        const char *org;
        ks_asn_table_lookup(t, &a, &asn, &org);
        found += asn + (uint8_t)org[0];
    }
    return found;
}

/* The AS table of an open handle, reopened by itself (the handle keeps it private). */
static struct ks_asn_table *open_table(const char *path, void **map, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    void *buf = NULL;
    if (n <= 0 || posix_memalign(&buf, 8, (size_t)n) != 0 ||
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    struct ks_asn_table *t = NULL;
    const char *why;
    if (ks_asn_table_open(buf, (size_t)n, &t, &why) != KS_OK) {
        free(buf);
        return NULL;
    }
    *map = buf;
    *len = (size_t)n;
    return t;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_geo DIR [SECONDS] [ASN_MMDB]\n");
        return 2;
    }
    const char *dir = argv[1];
    double secs = argc > 2 ? atof(argv[2]) : 2.5;
    const char *asn_mmdb_path = argc > 3 ? argv[3] : NULL;
    uint64_t sink = 0;

    struct ks_geo *g = NULL;
    int err = ks_geo_open(dir, &g);
    if (err != KS_OK) {
        for (int i = 0; g && i < KS_GEO_NDB; i++) {
            const struct ks_geo_file *f = ks_geo_file(g, (enum ks_geo_db)i);
            if (f->status != KS_OK)
                fprintf(stderr, "bench_geo: %s: %s\n", f->path, f->detail);
        }
        ks_geo_free(g);
        return 1;
    }
    MMDB_s m;
    if (MMDB_open(ks_geo_file(g, KS_GEO_COUNTRY)->path, MMDB_MODE_MMAP, &m) != MMDB_SUCCESS)
        return 1;
    double peer = run(secs, peer_mmdb, &m, &sink);
    double ks = run(secs, kansoku_geo, g, &sink);
    printf("peer    libmaxminddb country lookup (MMDB_lookup_sockaddr + get_value): %.2f M/s\n",
           peer / 1e6);
    printf("kansoku ks_geo_lookup (country + AS + organisation):               %.2f M/s\n",
           ks / 1e6);
    void *tbuf = NULL;
    size_t tlen = 0;
    struct ks_asn_table *t = open_table(ks_geo_file(g, KS_GEO_ASN)->path, &tbuf, &tlen);
    if (t) {
        double a = run(secs / 2, kansoku_asn, t, &sink);
        printf("asn     kansoku AS table lookup (AS + organisation):               %.2f M/s\n",
               a / 1e6);
        ks_asn_table_free(t);
        free(tbuf);
    }
    if (asn_mmdb_path) {
        MMDB_s am;
        if (MMDB_open(asn_mmdb_path, MMDB_MODE_MMAP, &am) == MMDB_SUCCESS) {
            double a = run(secs / 2, asn_mmdb, &am, &sink);
            printf("asn     same AS data as .mmdb, libmaxminddb (AS + organisation):    %.2f M/s\n",
                   a / 1e6);
            MMDB_close(&am);
        }
    }
    printf("ratio   kansoku / peer: %.2f (kansoku also finds the AS and its organisation)\n",
           ks / peer);
    printf("RESULT geo lookups_per_s kansoku=%.0f peer=%.0f ratio=%.2f\n", ks, peer, ks / peer);
    fprintf(stderr, "(checksum %llu)\n", (unsigned long long)sink);
    MMDB_close(&m);
    ks_geo_free(g);
    return 0;
}
