/* ks-asn-build: builds the AS table from the ip-location-db CSV files. scripts/install-geo
 * compiles and runs it before kansoku itself is built (sources: this file, asn.c and the core
 * files it needs); `kansoku geo build` does the same from the CLI.
 *
 * Usage: ks-asn-build OUT VERSION CSV... */
#include "kansoku/ks_geo.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void print_diag(void *user, const char *module, const struct ks_loc *loc, int err,
                       const char *msg)
{
    char where[512];
    (void)user;
    (void)module;
    ks_loc_format(loc, where, sizeof where);
    fprintf(stderr, "ks-asn-build: %s: %s: %s\n", where, ks_strerror(err), msg);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: ks-asn-build OUT VERSION CSV...\n");
        return 2;
    }
    struct ks_diag diag = {print_diag, NULL, 10};
    struct ks_geo_build_stats st;
    int err = ks_geo_build_asn((const char *const *)(argv + 3), (size_t)(argc - 3), argv[1],
                               argv[2], &diag, &st);
    if (err != KS_OK) {
        fprintf(stderr, "ks-asn-build: %s: %s%s%s\n", argv[1], ks_strerror(err),
                err == KS_EIO ? ": " : "", err == KS_EIO ? strerror(errno) : "");
        return 1;
    }
    fprintf(stderr,
            "ks-asn-build: %s: %" PRIu64 " IPv4 + %" PRIu64 " IPv6 ranges, %" PRIu32
            " records, %" PRIu64 " bad lines, %" PRIu64 " overlaps\n",
            argv[1], st.ranges4, st.ranges6, st.records, st.bad, st.overlaps);
    return 0;
}
