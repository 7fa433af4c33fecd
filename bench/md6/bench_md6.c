/* MD6 throughput: hashes a buffer (or a file through the fd API) on a chosen path and thread
 * count and prints MB/s (wall clock, best of N) and, given the CPU clock in GHz, cycles per
 * byte from the CPU time of that run (so that other load on the machine does not inflate it).
 * Usage: bench_md6 [-p PATH] [-t THREADS] [-d BITS] [-s MiB] [-n REPEAT] [-f FILE] [-g GHz] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "kansoku/ks_md6.h"

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    struct ks_md6_params p;
    unsigned d = 256, threads = 1, repeat = 3;
    size_t mib = 64;
    double ghz = 0;
    const char *file = NULL, *path = "auto";
    int opt;
    while ((opt = getopt(argc, argv, "p:t:d:s:n:f:g:")) != -1) {
        switch (opt) {
        case 'p':
            path = optarg;
            break;
        case 't':
            threads = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'd':
            d = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 's':
            mib = strtoul(optarg, NULL, 10);
            break;
        case 'n':
            repeat = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'f':
            file = optarg;
            break;
        case 'g':
            ghz = strtod(optarg, NULL);
            break;
        default:
            fprintf(
                stderr,
                "usage: bench_md6 [-p PATH] [-t N] [-d BITS] [-s MiB] [-n N] [-f FILE] [-g GHz]\n");
            return 2;
        }
    }
    ks_md6_params_default(&p, d);
    p.threads = threads;
    if (ks_md6_path_parse(path, &p.path) != KS_OK || !ks_md6_path_supported(p.path)) {
        fprintf(stderr, "bench_md6: path %s not available\n", path);
        return 1;
    }
    size_t n = mib << 20;
    unsigned char *buf = NULL;
    if (!file) {
        buf = malloc(n);
        if (!buf)
            return 1;
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)(i * 131 + (i >> 13));
    }
    double best = 1e30, best_cpu = 1e30;
    uint8_t dig[64];
    uint64_t bytes = n;
    for (unsigned i = 0; i < repeat; i++) {
        double t0 = now_s(), c0 = cpu_s();
        int err;
        if (file) {
            int fd = open(file, O_RDONLY);
            if (fd < 0) {
                perror(file);
                return 1;
            }
            err = ks_md6_hash_fd(&p, fd, dig, sizeof dig, &bytes);
            close(fd);
        } else {
            err = ks_md6_hash(&p, buf, n, dig, sizeof dig);
        }
        double t = now_s() - t0, c = cpu_s() - c0;
        if (err) {
            fprintf(stderr, "bench_md6: %s\n", ks_strerror(err));
            return 1;
        }
        if (t < best)
            best = t;
        if (c < best_cpu)
            best_cpu = c;
    }
    char hex[KS_MD6_HEX_SIZE];
    ks_md6_hex(dig, d, hex, sizeof hex);
    enum ks_md6_path used = p.path == KS_MD6_PATH_AUTO ? ks_md6_path_auto() : p.path;
    double mbs = (double)bytes / best / 1e6;
    printf("md6-%u path=%s threads=%u bytes=%llu time=%.3fs MB/s=%.1f", d, ks_md6_path_name(used),
           threads, (unsigned long long)bytes, best, mbs);
    if (ghz > 0)
        printf(" cycles/byte=%.2f", ghz * 1e9 * best_cpu / (double)bytes);
    printf(" digest=%.16s...\n", hex);
    free(buf);
    return 0;
}
