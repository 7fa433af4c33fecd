/* bench_flow: records per second decoded by the flow collector and aggregated per destination
 * address (packets and bytes summed in a ks_table), on one core. The export datagrams are read
 * from a pcap into memory first, then fed `-k` times (default 1) in a timed loop; the decoder
 * is given each datagram's own pcap time so that template timeouts behave as they would.
 *
 *   bench_flow FILE.pcap [-k ROUNDS]
 *
 * Prints "records N seconds S rate R destinations D". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kansoku/ks_capture.h"
#include "kansoku/ks_flow.h"
#include "kansoku/ks_table.h"

struct dg {
    size_t off, len;
    struct ks_addr exp;
    int64_t ts;
};

struct agg {
    uint64_t packets, bytes;
};

static struct ks_table *tbl;

static void on_record(void *user, const struct ks_flow_rec *r)
{
    (void)user;
    struct agg *a = ks_table_upsert(tbl, &r->dst, 0, NULL);
    if (a) {
        a->packets += r->packets * r->sampling;
        a->bytes += r->bytes * r->sampling;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_flow FILE.pcap [-k ROUNDS]\n");
        return 2;
    }
    int rounds = argc >= 4 && strcmp(argv[2], "-k") == 0 ? atoi(argv[3]) : 1;
    struct ks_capture_config cc;
    ks_capture_config_default(&cc);
    struct ks_capture *cap = NULL;
    const char *files[1] = {argv[1]};
    if (ks_capture_open_files(files, 1, &cc, &cap) != KS_OK) {
        fprintf(stderr, "bench_flow: %s\n", ks_capture_errmsg(NULL));
        return 1;
    }
    size_t cap_bytes = 1 << 20, nbytes = 0, ndg = 0, cap_dg = 1024;
    uint8_t *bytes = malloc(cap_bytes);
    struct dg *dgs = malloc(cap_dg * sizeof *dgs);
    struct ks_pkt p;
    while (bytes && dgs && ks_capture_next(cap, &p) == 1) {
        if (p.proto != 17 || !(p.flags & KS_PKT_L4))
            continue;
        if (nbytes + p.payload_len > cap_bytes) {
            while (nbytes + p.payload_len > cap_bytes)
                cap_bytes *= 2;
            bytes = realloc(bytes, cap_bytes);
        }
        if (ndg == cap_dg) {
            cap_dg *= 2;
            dgs = realloc(dgs, cap_dg * sizeof *dgs);
        }
        if (!bytes || !dgs)
            break;
        memcpy(bytes + nbytes, p.payload, p.payload_len);
        dgs[ndg++] = (struct dg){nbytes, p.payload_len, p.src, p.ts_us};
        nbytes += p.payload_len;
    }
    ks_capture_free(cap);
    if (!bytes || !dgs)
        return 1;
    struct ks_table_config tc;
    ks_table_config_default(&tc);
    tc.key_size = sizeof(struct ks_addr);
    tc.value_size = sizeof(struct agg);
    tc.capacity = 1 << 20;
    tc.seed = 1;
    if (ks_table_new(&tc, &tbl) != KS_OK)
        return 1;
    struct ks_flow_config fc;
    ks_flow_config_default(&fc);
    fc.on_record = on_record;
    struct ks_flow *f = NULL;
    if (ks_flow_new(&fc, &f) != KS_OK)
        return 1;
    struct timespec a, b;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    for (int k = 0; k < rounds; k++)
        for (size_t i = 0; i < ndg; i++)
            ks_flow_feed(f, bytes + dgs[i].off, dgs[i].len, &dgs[i].exp, 0, dgs[i].ts, NULL);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    struct ks_flow_stats st;
    ks_flow_stats(f, &st);
    printf("records %llu seconds %.3f rate %.0f destinations %zu\n", (unsigned long long)st.records,
           s, s > 0 ? (double)st.records / s : 0.0, ks_table_count(tbl));
    ks_flow_free(f);
    ks_table_free(tbl);
    free(bytes);
    free(dgs);
    return 0;
}
