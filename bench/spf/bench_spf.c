/* SPF checks per second over real DNS: many checks in flight over one c-ares resolver.
 *
 *   bench_spf --dns ADDR:PORT --domains N --checks M [--concurrency C] [--cached]
 *
 * Domain i is sI.bench (see run.sh for the zone). Uncached: the resolver's cache is off, so
 * every check sends all its queries. Cached: one warm-up pass over the domains, then every
 * answer comes from the cache. Prints "checks_per_s=X pass=N other=N ... cpu_pct=P" (P: this
 * process's CPU time over the timed run, in % of one core). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "kansoku/ks_spf.h"

struct bench {
    uint64_t done, results[KS_SPF_NRESULTS];
};

static void on_done(void *arg, const struct ks_spf_outcome *o)
{
    struct bench *b = arg;
    b->done++;
    b->results[o->result]++;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int run(struct ks_spf *spf, struct ks_spf_resolver *r, struct bench *b, uint64_t total,
               uint64_t conc, uint64_t ndom)
{
    uint64_t started = 0;
    b->done = 0;
    memset(b->results, 0, sizeof b->results);
    while (b->done < total) {
        while (started < total && started - b->done < conc) {
            char ip[32], from[64];
            snprintf(ip, sizeof ip, "192.0.2.%u", (unsigned)(started % 250) + 1);
            snprintf(from, sizeof from, "user%u@s%u.bench", (unsigned)(started % 97),
                     (unsigned)(started % ndom));
            struct ks_spf_request req = {ip, from, "mta.example.net", KS_SPF_MAILFROM};
            if (ks_spf_check_start(spf, &req, on_done, b) != KS_OK)
                return 1;
            started++;
        }
        if (ks_spf_resolver_pending(r))
            ks_spf_resolver_run(r, 100);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *dns = "127.0.0.1:53";
    uint64_t ndom = 100, total = 20000, conc = 256;
    int cached = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dns") && i + 1 < argc)
            dns = argv[++i];
        else if (!strcmp(argv[i], "--domains") && i + 1 < argc)
            ndom = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--checks") && i + 1 < argc)
            total = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--concurrency") && i + 1 < argc)
            conc = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--cached"))
            cached = 1;
        else {
            fprintf(stderr,
                    "usage: %s --dns ADDR:PORT --domains N --checks M "
                    "[--concurrency C] [--cached]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!ndom || !conc)
        return 2;
    struct ks_spf_resolver_config rc;
    ks_spf_resolver_config_default(&rc);
    rc.servers = dns;
    rc.cache_capacity = cached ? 1u << 20 : 0;
    struct ks_spf_resolver *r;
    if (ks_spf_resolver_new(&rc, &r) != KS_OK) {
        fprintf(stderr, "bench_spf: cannot set up DNS %s\n", dns);
        return 1;
    }
    struct ks_spf *spf;
    if (ks_spf_new(NULL, ks_spf_resolver_dns(r), &spf) != KS_OK)
        return 1;
    struct bench b;
    if (cached && run(spf, r, &b, ndom, conc, ndom) != 0)
        return 1;
    double t0 = now(), c0 = cpu_seconds();
    if (run(spf, r, &b, total, conc, ndom) != 0)
        return 1;
    double dt = now() - t0, cpu = cpu_seconds() - c0;
    struct ks_spf_resolver_stats st;
    ks_spf_resolver_stats(r, &st);
    printf(
        "checks_per_s=%.0f pass=%llu other=%llu queries_sent=%llu coalesced=%llu cache_hits=%llu "
        "cpu_pct=%.0f\n",
        (double)total / dt, (unsigned long long)b.results[KS_SPF_PASS],
        (unsigned long long)(total - b.results[KS_SPF_PASS]), (unsigned long long)st.sent,
        (unsigned long long)st.coalesced, (unsigned long long)st.cache_hits, 100.0 * cpu / dt);
    ks_spf_free(spf);
    ks_spf_resolver_free(r);
    return 0;
}
