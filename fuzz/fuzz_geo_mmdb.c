/* Fuzz target: the country file (a MaxMind DB) as ks_geo opens it, and lookups through both
 * tree walks (kansoku's IPv4 walk with its per-/16 start nodes, libmaxminddb's for IPv6) and
 * ks_geo_lookup_many: whatever the file holds, lookups stay inside it. */
#include "kansoku/ks_geo.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libmaxminddb before 1.12 (Debian 12 has 1.7.1) leaks the metadata it had read when
 * MMDB_open refuses a file's metadata (maxmind/libmaxminddb pull request 356): not ours to
 * report. */
const char *__lsan_default_suppressions(void)
{
    return "leak:libmaxminddb.so\n";
}

static char dir[64];

static int write_input(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/ks-fuzz-mmdb.XXXXXX");
        if (!mkdtemp(dir))
            return -1;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, KS_GEO_COUNTRY_FILE);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(data, 1, size, f);
    return fclose(f) == 0 && n == size ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (write_input(data, size) != 0)
        return 0;
    struct ks_geo *g = NULL;
    ks_geo_open(dir, &g); /* no AS table: KS_ENOTFOUND with a usable handle */
    if (!g)
        return 0;
    struct ks_addr a[40];
    const struct ks_addr *p[40];
    uint32_t x = 0x9e3779b9u;
    for (int i = 0; i < 40; i++) {
        x = x * 1103515245u + 12345u;
        if (i % 4 == 3) {
            uint8_t b16[16];
            for (int k = 0; k < 16; k++)
                b16[k] = (uint8_t)(x >> (k % 4 * 8));
            ks_addr_from_v6(&a[i], b16);
        } else {
            ks_addr_from_v4(&a[i], i % 4 == 2 ? x & 0xffff0000u : x);
        }
        p[i] = &a[i];
        struct ks_geo_result r;
        ks_geo_lookup(g, &a[i], &r);
    }
    struct ks_geo_result many[40];
    ks_geo_lookup_many(g, p, 40, many);
    ks_geo_free(g);
    return 0;
}
