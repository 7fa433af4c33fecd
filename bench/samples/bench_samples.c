/* Hashing throughput of the sample registry on one core: ks_samples_analyze_file on FILE with
 * the classifiers off (no ClamAV, no YARA; libmagic and the PE parser still run), in three
 * configurations: MD5+SHA-1+SHA-256, plus MD6-256, plus ssdeep and TLSH. Prints one line per
 * configuration: "MODE SECONDS MB/S" (best of REPEAT runs, MB = 10^6 bytes). */
#include "kansoku/ks_samples.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_samples FILE [REPEAT]\n");
        return 2;
    }
    int repeat = argc > 2 ? atoi(argv[2]) : 3;
    static const struct {
        const char *name;
        bool md6, fuzzy;
    } modes[] = {{"md5+sha1+sha256", false, false},
                 {"md5+sha1+sha256+md6", true, false},
                 {"all(+ssdeep+tlsh)", true, true}};
    struct ks_sample_info *info = malloc(sizeof *info);
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        struct ks_samples_config cfg;
        struct ks_samples *s = NULL;
        ks_samples_config_default(&cfg);
        cfg.md6 = modes[m].md6;
        cfg.fuzzy = modes[m].fuzzy;
        cfg.max_size = (uint64_t)1 << 40;
        if (ks_samples_new(&cfg, NULL, &s) != KS_OK) {
            fprintf(stderr, "bench_samples: cannot start the registry\n");
            return 1;
        }
        double best = 1e9;
        for (int r = 0; r < repeat; r++) {
            double t0 = now();
            if (ks_samples_analyze_file(s, argv[1], info) != KS_OK) {
                fprintf(stderr, "bench_samples: cannot read %s\n", argv[1]);
                return 1;
            }
            double t = now() - t0;
            if (t < best)
                best = t;
        }
        printf("%s %.3f %.1f\n", modes[m].name, best, (double)info->size / best / 1e6);
        ks_samples_free(s);
    }
    free(info);
    return 0;
}
