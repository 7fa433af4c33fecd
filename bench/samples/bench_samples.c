/* Hashing throughput of the sample registry on one core.
 *
 * bench_samples FILE [REPEAT]: ks_samples_analyze_file on FILE with the classifiers off (no
 * ClamAV, no YARA; libmagic and the PE parser still run), in three configurations:
 * MD5+SHA-1+SHA-256, plus MD6-256, plus ssdeep and TLSH (all hashes). One line per
 * configuration: "MODE CPU_SECONDS MB/S" (best of REPEAT runs, CPU time of the process, user +
 * system, MB = 10^6 bytes).
 *
 * bench_samples --each FILE [REPEAT]: each hash alone on FILE read into memory, for the
 * breakdown: "HASH NS_PER_BYTE MB/S" (best of REPEAT, CPU time), the hand-written ssdeep and
 * TLSH apart and fused (with the byte histogram), and libfuzzy for comparison. */
#include "kansoku/ks_md6.h"
#include "kansoku/ks_samples.h"
#include "samples/hashpass.h"

#include <fuzzy.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PIECE (64u << 10)

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int analyze(const char *path, int repeat)
{
    static const struct {
        const char *name;
        bool md6, fuzzy;
    } modes[] = {{"md5+sha1+sha256", false, false},
                 {"md5+sha1+sha256+md6", true, false},
                 {"all(+ssdeep+tlsh)", true, true}};
    struct ks_sample_info *info = malloc(sizeof *info);
    if (!info)
        return 1;
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
            double t0 = cpu_now();
            if (ks_samples_analyze_file(s, path, info) != KS_OK) {
                fprintf(stderr, "bench_samples: cannot read %s\n", path);
                return 1;
            }
            double t = cpu_now() - t0;
            if (t < best)
                best = t;
        }
        printf("%s %.3f %.1f\n", modes[m].name, best, (double)info->size / best / 1e6);
        ks_samples_free(s);
    }
    free(info);
    return 0;
}

enum each {
    E_MD5,
    E_SHA1,
    E_SHA256,
    E_MD6,
    E_MD5_OWN,
    E_SSDEEP,
    E_TLSH,
    E_FUZZY,
    E_FUSED,
    E_FUSED_SHA,
    E_SHA256_OWN,
    E_SHA1_OWN,
    E_LIBFUZZY,
    E_N
};
static const char *const each_name[E_N] = {"md5(openssl)",
                                           "sha1(openssl)",
                                           "sha256(openssl)",
                                           "md6-256",
                                           "md5(hashpass)",
                                           "ssdeep(hashpass)",
                                           "tlsh(hashpass)",
                                           "ssdeep+tlsh+histogram(fused)",
                                           "md5+ssdeep+tlsh+histogram(fused)",
                                           "md5+sha1+sha256+ssdeep+tlsh+histogram(fused)",
                                           "sha256(hashpass)",
                                           "sha1(hashpass)",
                                           "ssdeep(libfuzzy)"};

static void run_each(enum each e, const uint8_t *p, size_t n, char *out)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (e <= E_SHA256) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        EVP_DigestInit_ex(c,
                          e == E_MD5    ? EVP_md5()
                          : e == E_SHA1 ? EVP_sha1()
                                        : EVP_sha256(),
                          NULL);
        for (size_t off = 0; off < n; off += PIECE)
            EVP_DigestUpdate(c, p + off, n - off < PIECE ? n - off : PIECE);
        EVP_DigestFinal_ex(c, md, &len);
        EVP_MD_CTX_free(c);
        snprintf(out, 16, "%02x%02x", md[0], md[1]);
    } else if (e == E_MD6) {
        struct ks_md6_params prm;
        struct ks_md6 *h = NULL;
        ks_md6_params_default(&prm, 256);
        if (ks_md6_new(&prm, &h) != KS_OK)
            return;
        for (size_t off = 0; off < n; off += PIECE)
            ks_md6_update(h, p + off, n - off < PIECE ? n - off : PIECE);
        ks_md6_final(h, md, 32);
        ks_md6_free(h);
        snprintf(out, 16, "%02x%02x", md[0], md[1]);
    } else if (e == E_LIBFUZZY) {
        fuzzy_hash_buf(p, (uint32_t)n, out);
    } else {
        struct samples_ssdeep *s = aligned_alloc(64, sizeof *s);
        struct samples_tlshc *t = malloc(sizeof *t);
        uint64_t(*hist)[256] = calloc(4, sizeof *hist);
        if (!s || !t || !hist)
            return;
        struct samples_md5 m5;
        struct samples_sha256 sh;
        struct samples_sha1 s1;
        samples_sha1_init(&s1);
        samples_md5_init(&m5);
        samples_sha256_init(&sh);
        samples_ssdeep_init(s);
        samples_tlshc_init(t);
        for (size_t off = 0; off < n; off += PIECE) {
            size_t m = n - off < PIECE ? n - off : PIECE;
            if (e == E_MD5_OWN)
                samples_md5_update(&m5, p + off, m);
            else if (e == E_SHA256_OWN && samples_sha256_hw())
                samples_sha256_update(&sh, p + off, m);
            else if (e == E_SHA1_OWN && samples_sha256_hw())
                samples_sha1_update(&s1, p + off, m);
            else if (e == E_SSDEEP)
                samples_ssdeep_update(s, p + off, m);
            else if (e == E_TLSH)
                samples_tlshc_update(t, p + off, m);
            else
                samples_fuzzy_update(
                    e == E_FUZZY ? NULL : &m5, e == E_FUSED_SHA && samples_sha256_hw() ? &s1 : NULL,
                    e == E_FUSED_SHA && samples_sha256_hw() ? &sh : NULL, s, t, hist, p + off, m);
        }
        if (e == E_TLSH)
            samples_tlshc_final(t, out, 80);
        else
            samples_ssdeep_digest(s, out);
        free(s);
        free(t);
        free(hist);
    }
}

static int each(const char *path, int repeat)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 1;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(sz > 0 ? (size_t)sz : 1);
    if (!p || fread(p, 1, (size_t)sz, f) != (size_t)sz) {
        fclose(f);
        return 1;
    }
    fclose(f);
    size_t n = (size_t)sz;
    printf("# hashpass: %s, md6: %s\n", samples_fuzzy_simd_active() ? "avx512vbmi" : "portable",
           ks_md6_path_name(ks_md6_path_auto()));
    for (int e = 0; e < E_N; e++) {
        char out[160] = "";
        double best = 1e9;
        for (int r = 0; r < repeat; r++) {
            double t0 = cpu_now();
            run_each((enum each)e, p, n, out);
            double t = cpu_now() - t0;
            if (t < best)
                best = t;
        }
        printf("%s %.3f %.1f\n", each_name[e], best * 1e9 / (double)n, (double)n / best / 1e6);
    }
    free(p);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--each") == 0)
        return each(argv[2], argc > 3 ? atoi(argv[3]) : 3);
    if (argc < 2) {
        fprintf(stderr, "usage: bench_samples [--each] FILE [REPEAT]\n");
        return 2;
    }
    return analyze(argv[1], argc > 2 ? atoi(argv[2]) : 3);
}
