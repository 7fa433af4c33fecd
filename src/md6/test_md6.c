/* MD6 unit tests: the NIST ShortMsgKAT subsets, the reference md6sum's vectors with other
 * parameters, the compression-function traces, and a property test: every SIMD path, random
 * chunkings and thread counts give the digest of the portable one-shot path. The vectors come
 * from $KS_TESTDATA/md6 (see its SOURCES.md); the tests that need them skip without. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>

#include "kansoku/ks_md6.h"

static const enum ks_md6_path all_paths[] = {KS_MD6_PATH_PORTABLE, KS_MD6_PATH_SSE2,
                                             KS_MD6_PATH_AVX2, KS_MD6_PATH_AVX512};
#define NPATHS (sizeof all_paths / sizeof all_paths[0])

static char *read_testfile(const char *rel)
{
    const char *dir = getenv("KS_TESTDATA");
    if (!dir)
        return NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/md6/%s", dir, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

static size_t unhex(const char *h, uint8_t *out, size_t max)
{
    size_t n = 0;
    while (h[0] && h[1] && n < max) {
        unsigned v;
        if (sscanf(h, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
        h += 2;
    }
    return n;
}

static void lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'F')
            *s = (char)(*s - 'A' + 'a');
}

static void hash_hex(const struct ks_md6_params *p, const void *m, uint64_t bits, char *hex)
{
    uint8_t dig[KS_MD6_MAX_BYTES];
    assert_int_equal(ks_md6_hash_bits(p, m, bits, dig, sizeof dig), KS_OK);
    assert_true(ks_md6_hex(dig, p->d, hex, KS_MD6_HEX_SIZE) > 0);
}

/* ---- NIST ShortMsgKAT ---- */

static void run_kat(unsigned d)
{
    char name[64];
    snprintf(name, sizeof name, "ShortMsgKAT_%u_subset.txt", d);
    char *txt = read_testfile(name);
    if (!txt)
        skip();
    unsigned count = 0;
    for (size_t pi = 0; pi < NPATHS; pi++) {
        if (!ks_md6_path_supported(all_paths[pi]))
            continue;
        struct ks_md6_params p;
        ks_md6_params_default(&p, d);
        p.path = all_paths[pi];
        char *s = txt;
        unsigned long len = 0;
        static uint8_t msg[4096];
        while ((s = strstr(s, "Len = "))) {
            len = strtoul(s + 6, &s, 10);
            char *m = strstr(s, "Msg = ");
            char *md = strstr(s, "MD = ");
            assert_non_null(m);
            assert_non_null(md);
            unhex(m + 6, msg, sizeof msg);
            char want[KS_MD6_HEX_SIZE] = {0}, got[KS_MD6_HEX_SIZE];
            sscanf(md + 5, "%128s", want);
            lower(want);
            hash_hex(&p, msg, len, got);
            if (strcmp(got, want) != 0)
                fail_msg("d=%u Len=%lu path %s: got %s want %s", d, len, ks_md6_path_name(p.path),
                         got, want);
            count++;
            s = md;
        }
    }
    free(txt);
    assert_true(count >= 374);
}

static void kat_short_224(void **state)
{
    run_kat(224);
}
static void kat_short_256(void **state)
{
    run_kat(256);
}
static void kat_short_384(void **state)
{
    run_kat(384);
}
static void kat_short_512(void **state)
{
    run_kat(512);
}

/* ---- md6sum vectors with other parameters ---- */

/* The reference md6sum's dummy message: 11 22 33 44 55 66 77 repeating. */
static uint8_t *dummy_message(uint64_t nbytes)
{
    uint8_t *m = malloc(nbytes ? (size_t)nbytes : 1);
    for (uint64_t i = 0; i < nbytes; i++)
        m[i] = (uint8_t)(0x11 * (i % 7 + 1));
    return m;
}

/* Applies md6sum's options left to right: -d and -K reset r to its default unless -r came
 * before. Returns the message and its bit length. */
static uint8_t *parse_vector(char *line, struct ks_md6_params *p, uint64_t *bits, char *keybuf)
{
    ks_md6_params_default(p, 256);
    int r_given = 0;
    uint8_t *msg = NULL;
    for (char *tok = line, *sp; tok && *tok; tok = sp) {
        sp = strchr(tok, ' ');
        if (sp)
            *sp++ = '\0';
        if (tok[0] != '-')
            continue;
        char *v = tok + 2;
        switch (tok[1]) {
        case 'd':
            p->d = (unsigned)strtoul(v, NULL, 10);
            break;
        case 'r':
            p->r = (int)strtol(v, NULL, 10);
            r_given = 1;
            break;
        case 'L':
            p->L = (unsigned)strtoul(v, NULL, 10);
            break;
        case 'K':
            snprintf(keybuf, 128, "%s", v);
            p->key = (const uint8_t *)keybuf;
            p->keylen = strlen(v);
            break;
        case 'M':
            *bits = 8 * strlen(v);
            msg = (uint8_t *)strdup(v);
            break;
        case 'B':
            *bits = 8 * strtoull(v, NULL, 10);
            msg = dummy_message(*bits / 8);
            break;
        case 'b':
            *bits = strtoull(v, NULL, 10);
            msg = dummy_message((*bits + 7) / 8);
            break;
        }
        if ((tok[1] == 'd' || tok[1] == 'K') && !r_given)
            p->r = -1;
    }
    return msg;
}

static void modes_vectors(void **state)
{
    char *txt = read_testfile("md6_modes_vectors.txt");
    if (!txt)
        skip();
    unsigned count = 0;
    for (char *line = txt, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (strncmp(line, "md6sum ", 7) != 0)
            continue;
        char *bar = strchr(line, '|');
        assert_non_null(bar);
        *bar = '\0';
        char want[KS_MD6_HEX_SIZE] = {0}, got[KS_MD6_HEX_SIZE], keybuf[128], opts[512];
        sscanf(bar + 1, " %128s", want);
        snprintf(opts, sizeof opts, "%s", line);
        struct ks_md6_params p;
        uint64_t bits = 0;
        uint8_t *msg = parse_vector(line, &p, &bits, keybuf);
        assert_non_null(msg);
        for (size_t pi = 0; pi < NPATHS; pi++) {
            if (!ks_md6_path_supported(all_paths[pi]))
                continue;
            p.path = all_paths[pi];
            hash_hex(&p, msg, bits, got);
            if (strcmp(got, want) != 0)
                fail_msg("%s path %s: got %s want %s", opts, ks_md6_path_name(p.path), got, want);
        }
        free(msg);
        count++;
    }
    free(txt);
    assert_true(count >= 50);
}

/* ---- compression-function traces ---- */

/* Reads "A[ i] = hex" lines from s on: the first 89 inputs and the 16 outputs of one
 * compression (or, with all, every word). Returns the position after it, NULL at the end. */
static char *next_compression(char *s, uint64_t *A, unsigned max, unsigned *count)
{
    char *start = strstr(s, "Input (89 words)");
    if (!start)
        return NULL;
    char *end = strstr(start + 1, "Input (89 words)");
    *count = 0;
    for (char *q = start; (q = strstr(q, "A[")) && (!end || q < end); q++) {
        unsigned i;
        unsigned long long v;
        if (sscanf(q, "A[ %u] = %llx", &i, &v) == 2 && i < max) {
            A[i] = v;
            if (i + 1 > *count)
                *count = i + 1;
        }
    }
    return end ? end : start + 1;
}

static void check_trace(const char *file, unsigned r)
{
    char *txt = read_testfile(file);
    if (!txt)
        skip();
    static uint64_t A[89 + 16 * 256];
    unsigned count, compressions = 0;
    for (char *s = txt; (s = next_compression(s, A, 89 + 16 * 256, &count));) {
        assert_true(count >= 89 + 16);
        unsigned rr = (count - 89) / 16;
        assert_true(rr == r || rr == 1 + (r ? r - 1 : 0));
        for (size_t pi = 0; pi < NPATHS; pi++) {
            if (!ks_md6_path_supported(all_paths[pi]))
                continue;
            uint64_t C[16];
            assert_int_equal(ks_md6_compress(A, r, C, all_paths[pi]), KS_OK);
            for (unsigned i = 0; i < 16; i++)
                assert_int_equal(C[i], A[count - 16 + i]);
        }
        compressions++;
    }
    assert_true(compressions >= 1);
    free(txt);
}

static void trace_abc_default_rounds(void **state)
{
    check_trace("traces/trace_abc_d256_default_io.txt", 104);
}

static void trace_keyed_tree_of_600_bytes(void **state)
{
    check_trace("traces/trace_ex2_600B_d224_r5_key_io.txt", 5);
}

static void trace_keyed_sequential_600_bytes(void **state)
{
    check_trace("traces/trace_ex2_L0_io.txt", 5);
}

/* The full trace lists every intermediate word: after j rounds, the newest 16 are the output
 * of the compression with r = j. */
static void trace_every_intermediate_word(void **state)
{
    char *txt = read_testfile("traces/trace_ex1_abc_d256_r5_full.txt");
    if (!txt)
        skip();
    uint64_t A[89 + 16 * 5];
    unsigned count;
    assert_non_null(next_compression(txt, A, 89 + 16 * 5, &count));
    assert_int_equal(count, 89 + 16 * 5);
    for (unsigned r = 0; r <= 5; r++)
        for (size_t pi = 0; pi < NPATHS; pi++) {
            if (!ks_md6_path_supported(all_paths[pi]))
                continue;
            uint64_t C[16];
            assert_int_equal(ks_md6_compress(A, r, C, all_paths[pi]), KS_OK);
            for (unsigned i = 0; i < 16; i++)
                assert_int_equal(C[i], A[73 + 16 * r + i]);
        }
    free(txt);
}

/* ---- property: paths, chunkings, threads ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Sizes around the tree's boundaries: leaves (512), groups (32 KiB), and beyond. */
static size_t random_size(void)
{
    static const size_t edges[] = {0,     1,     383,    384,     385,    511,   512,
                                   513,   2048,  2049,   32767,   32768,  32769, 65536,
                                   65537, 98305, 163840, 2097152, 2162689};
    if (rnd() % 2)
        return edges[rnd() % (sizeof edges / sizeof edges[0])];
    return (size_t)(rnd() % 300000);
}

static void streamed(const struct ks_md6_params *p, const uint8_t *m, uint64_t bits, uint8_t *dig)
{
    struct ks_md6 *h;
    assert_int_equal(ks_md6_new(p, &h), KS_OK);
    uint64_t done = 0;
    int bitwise = bits % 8 != 0 && rnd() % 2;
    while (done < bits) {
        uint64_t n;
        switch (rnd() % 4) {
        case 0:
            n = rnd() % 17;
            break;
        case 1:
            n = rnd() % 1100;
            break;
        case 2:
            n = rnd() % 70000;
            break;
        default:
            n = bits;
            break;
        }
        if (bitwise) { /* arbitrary bit lengths, not only at the end */
            n = n * 8 + rnd() % 8;
            if (n > bits - done)
                n = bits - done;
            uint64_t byte = done / 8;
            if (done % 8 == 0) {
                assert_int_equal(ks_md6_update_bits(h, m + byte, n), KS_OK);
            } else { /* realign: feed the bits shifted to start at bit 0 */
                uint64_t nb = (n + 7) / 8 + 1;
                uint8_t *t = calloc(nb + 1, 1);
                unsigned sh = (unsigned)(done % 8);
                uint64_t total = (bits + 7) / 8;
                for (uint64_t i = 0; i < nb && byte + i < total; i++)
                    t[i] = (uint8_t)(m[byte + i] << sh |
                                     (byte + i + 1 < total ? m[byte + i + 1] >> (8 - sh) : 0));
                assert_int_equal(ks_md6_update_bits(h, t, n), KS_OK);
                free(t);
            }
        } else {
            n *= 8;
            if (n > (bits - done) / 8 * 8)
                n = (bits - done) / 8 * 8;
            if (n == 0)
                n = bits - done; /* the last partial byte */
            assert_int_equal(ks_md6_update_bits(h, m + done / 8, n), KS_OK);
        }
        done += n;
    }
    assert_int_equal(ks_md6_final(h, dig, KS_MD6_MAX_BYTES), KS_OK);
    ks_md6_free(h);
}

static void every_path_chunking_and_thread_count_agree(void **state)
{
    for (unsigned iter = 0; iter < 40; iter++) {
        struct ks_md6_params p;
        static const unsigned ds[] = {1, 8, 160, 224, 256, 384, 511, 512};
        static const unsigned Ls[] = {0, 1, 2, 3, 4, 5, 64, 64, 64};
        ks_md6_params_default(&p, ds[rnd() % 8]);
        p.L = Ls[rnd() % 9];
        p.r = rnd() % 3 ? (int)(rnd() % 24) : -1;
        uint8_t key[64];
        for (unsigned i = 0; i < 64; i++)
            key[i] = (uint8_t)rnd();
        if (rnd() % 3 == 0) {
            p.key = key;
            p.keylen = rnd() % 65;
        }
        size_t n = random_size();
        uint64_t bits = (uint64_t)n * 8;
        if (n && rnd() % 3 == 0)
            bits -= rnd() % 8;
        uint8_t *m = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++)
            m[i] = (uint8_t)rnd();
        uint8_t want[KS_MD6_MAX_BYTES] = {0}, got[KS_MD6_MAX_BYTES];
        p.path = KS_MD6_PATH_PORTABLE;
        assert_int_equal(ks_md6_hash_bits(&p, m, bits, want, sizeof want), KS_OK);
        for (size_t pi = 0; pi < NPATHS; pi++) {
            if (!ks_md6_path_supported(all_paths[pi]))
                continue;
            p.path = all_paths[pi];
            for (unsigned t = 1; t <= 3; t++) {
                p.threads = t;
                memset(got, 0, sizeof got);
                streamed(&p, m, bits, got);
                if (memcmp(got, want, (p.d + 7) / 8) != 0)
                    fail_msg("iter %u: d=%u L=%u r=%d keylen=%zu bits=%llu path %s threads %u",
                             iter, p.d, p.L, p.r, p.keylen, (unsigned long long)bits,
                             ks_md6_path_name(p.path), t);
            }
        }
        free(m);
    }
}

static void fd_api_matches_one_shot(void **state)
{
    char path[] = "/tmp/ks-md6-test.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t sizes[] = {0, 1000, (3u << 20) + 12345};
    for (size_t si = 0; si < 3; si++) {
        size_t n = sizes[si];
        uint8_t *m = malloc(n + 1);
        for (size_t i = 0; i < n; i++)
            m[i] = (uint8_t)rnd();
        assert_int_equal(ftruncate(fd, 0), 0);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        assert_int_equal(write(fd, m, n), (ssize_t)n);
        struct ks_md6_params p;
        ks_md6_params_default(&p, 256);
        uint8_t want[64], got[64];
        assert_int_equal(ks_md6_hash(&p, m, n, want, sizeof want), KS_OK);
        for (unsigned t = 1; t <= 4; t *= 2) {
            p.threads = t;
            assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
            uint64_t nb = 0;
            assert_int_equal(ks_md6_hash_fd(&p, fd, got, sizeof got, &nb), KS_OK);
            assert_int_equal(nb, n);
            assert_memory_equal(got, want, 32);
        }
        free(m);
    }
    close(fd);
    unlink(path);
}

/* ---- parameters and API ---- */

static void out_of_range_parameters_are_errors_with_a_message(void **state)
{
    struct ks_md6_params p;
    struct ks_md6 *h = (struct ks_md6 *)1;
    char msg[128];
    uint8_t key[65] = {0};
    ks_md6_params_default(&p, 0);
    assert_non_null(ks_md6_params_error(&p, msg, sizeof msg));
    assert_non_null(strstr(msg, "digest size"));
    assert_int_equal(ks_md6_new(&p, &h), KS_EINVAL);
    assert_null(h);
    p.d = 513;
    assert_int_equal(ks_md6_new(&p, &h), KS_EINVAL);
    p.d = 256;
    p.key = key;
    p.keylen = 65;
    assert_non_null(ks_md6_params_error(&p, msg, sizeof msg));
    assert_non_null(strstr(msg, "key"));
    assert_int_equal(ks_md6_new(&p, &h), KS_EINVAL);
    p.keylen = 64;
    assert_null(ks_md6_params_error(&p, msg, sizeof msg));
    p.L = 65;
    assert_non_null(ks_md6_params_error(&p, msg, sizeof msg));
    assert_non_null(strstr(msg, "mode L"));
    p.L = 64;
    p.r = KS_MD6_MAX_ROUNDS + 1;
    assert_non_null(ks_md6_params_error(&p, msg, sizeof msg));
    p.r = KS_MD6_MAX_ROUNDS;
    assert_null(ks_md6_params_error(&p, msg, sizeof msg));
    uint8_t dig[64];
    assert_int_equal(ks_md6_hash(&p, "abc", 3, dig, 10), KS_EINVAL); /* digest buffer too small */
}

static void default_rounds_follow_the_reference(void **state)
{
    struct ks_md6_params p;
    ks_md6_params_default(&p, 256);
    assert_int_equal(ks_md6_rounds(&p), 104);
    p.d = 160;
    assert_int_equal(ks_md6_rounds(&p), 80);
    p.key = (const uint8_t *)"k";
    p.keylen = 1;
    p.d = 8;
    assert_int_equal(ks_md6_rounds(&p), 80);
    p.r = 3;
    assert_int_equal(ks_md6_rounds(&p), 3);
}

static void update_after_final_is_refused_and_reset_restarts(void **state)
{
    struct ks_md6_params p;
    ks_md6_params_default(&p, 256);
    struct ks_md6 *h;
    uint8_t a[32], b[32];
    assert_int_equal(ks_md6_new(&p, &h), KS_OK);
    assert_int_equal(ks_md6_update(h, "abc", 3), KS_OK);
    assert_int_equal(ks_md6_final(h, a, sizeof a), KS_OK);
    assert_int_equal(ks_md6_update(h, "x", 1), KS_EINVAL);
    ks_md6_reset(h);
    assert_int_equal(ks_md6_update(h, "abc", 3), KS_OK);
    assert_int_equal(ks_md6_final(h, b, sizeof b), KS_OK);
    assert_memory_equal(a, b, 32);
    ks_md6_free(h);
    char hex[KS_MD6_HEX_SIZE];
    ks_md6_hex(a, 256, hex, sizeof hex);
    assert_string_equal(hex, "230637d4e6845cf0d092b558e87625f03881dd53a7439da34cf3b94ed0d8b2c5");
}

static void paths_parse_and_report_support(void **state)
{
    enum ks_md6_path path;
    assert_int_equal(ks_md6_path_parse("avx2", &path), KS_OK);
    assert_int_equal(path, KS_MD6_PATH_AVX2);
    assert_int_equal(ks_md6_path_parse("neon", &path), KS_EINVAL);
    assert_true(ks_md6_path_supported(KS_MD6_PATH_PORTABLE));
    assert_true(ks_md6_path_supported(ks_md6_path_auto()));
    if (!ks_md6_path_supported(KS_MD6_PATH_AVX512)) {
        struct ks_md6_params p;
        struct ks_md6 *h;
        ks_md6_params_default(&p, 256);
        p.path = KS_MD6_PATH_AVX512;
        assert_int_equal(ks_md6_new(&p, &h), KS_EUNSUPP);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kat_short_224),
        cmocka_unit_test(kat_short_256),
        cmocka_unit_test(kat_short_384),
        cmocka_unit_test(kat_short_512),
        cmocka_unit_test(modes_vectors),
        cmocka_unit_test(trace_abc_default_rounds),
        cmocka_unit_test(trace_keyed_tree_of_600_bytes),
        cmocka_unit_test(trace_keyed_sequential_600_bytes),
        cmocka_unit_test(trace_every_intermediate_word),
        cmocka_unit_test(every_path_chunking_and_thread_count_agree),
        cmocka_unit_test(fd_api_matches_one_shot),
        cmocka_unit_test(out_of_range_parameters_are_errors_with_a_message),
        cmocka_unit_test(default_rounds_follow_the_reference),
        cmocka_unit_test(update_after_final_is_refused_and_reset_restarts),
        cmocka_unit_test(paths_parse_and_report_support),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
