/* The registry's hand-written hashes (src/samples/hashpass.c) on arbitrary bytes: MD5 must
 * equal OpenSSL's and ssdeep libfuzzy's, and every way of computing them (portable or SIMD,
 * separate or fused, fed at once or in pieces, and the one-shot ks_samples_ssdeep, which
 * computes only the block sizes the digest reads) must give the same MD5, ssdeep, TLSH and byte
 * histogram. The vector code reads before and after the positions it hashes: exact-size
 * input buffers let ASan see any read outside. The first byte chooses the piece size. */
#include "kansoku/ks_samples.h"
#include "samples/hashpass.h"

#include <fuzzy.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct result {
    uint8_t md5[16], sha256[32], sha1[20];
    char ssdeep[SAMPLES_SSDEEP_MAX];
    char tlsh[SAMPLES_TLSH_LEN + 1];
    uint64_t hist[256];
};

static void run(const uint8_t *p, size_t n, size_t piece, int simd, int fused, struct result *r)
{
    struct samples_md5 m5;
    struct samples_sha256 sh;
    struct samples_sha1 s1;
    bool hw = samples_sha256_hw();
    struct samples_ssdeep *s = aligned_alloc(64, sizeof *s);
    struct samples_tlshc *t = malloc(sizeof *t);
    uint64_t(*hist)[256] = calloc(4, sizeof *hist);
    if (!s || !t || !hist)
        abort();
    samples_fuzzy_simd = simd;
    samples_md5_init(&m5);
    samples_sha256_init(&sh);
    samples_sha1_init(&s1);
    samples_ssdeep_init(s);
    samples_tlshc_init(t);
    for (size_t off = 0; off < n;) {
        size_t m = piece && piece < n - off ? piece : n - off;
        if (fused) {
            samples_fuzzy_update(&m5, hw ? &s1 : NULL, hw ? &sh : NULL, s, t, hist, p + off, m);
        } else {
            samples_md5_update(&m5, p + off, m);
            if (hw) {
                samples_sha1_update(&s1, p + off, m);
                samples_sha256_update(&sh, p + off, m);
            }
            samples_ssdeep_update(s, p + off, m);
            samples_tlshc_update(t, p + off, m);
            for (size_t i = 0; i < m; i++)
                hist[0][p[off + i]]++;
        }
        off += m;
    }
    samples_md5_final(&m5, r->md5);
    memset(r->sha256, 0, sizeof r->sha256);
    memset(r->sha1, 0, sizeof r->sha1);
    if (hw) {
        samples_sha256_final(&sh, r->sha256);
        samples_sha1_final(&s1, r->sha1);
    }
    if (samples_ssdeep_digest(s, r->ssdeep) != 0)
        abort();
    samples_tlshc_final(t, r->tlsh, sizeof r->tlsh);
    for (unsigned b = 0; b < 256; b++)
        r->hist[b] = hist[0][b] + hist[1][b] + hist[2][b] + hist[3][b];
    free(s);
    free(t);
    free(hist);
    samples_fuzzy_simd = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t pieces[8] = {0, 1, 7, 64, 70, 100, 4096, 65536};
    if (size < 1)
        return 0;
    size_t piece = pieces[data[0] & 7];
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    uint8_t *copy = malloc(n ? n : 1); /* exact size, apart from the choice byte */
    if (!copy)
        abort();
    memcpy(copy, p, n);
    uint8_t md5[EVP_MAX_MD_SIZE], sha256[EVP_MAX_MD_SIZE], sha1[EVP_MAX_MD_SIZE];
    unsigned md5_len = 0;
    char ssdeep[FUZZY_MAX_RESULT];
    if (EVP_Digest(copy, n, md5, &md5_len, EVP_md5(), NULL) != 1 ||
        EVP_Digest(copy, n, sha256, &md5_len, EVP_sha256(), NULL) != 1 ||
        EVP_Digest(copy, n, sha1, &md5_len, EVP_sha1(), NULL) != 1 ||
        fuzzy_hash_buf(copy, (uint32_t)n, ssdeep) != 0)
        abort();
    struct result *r = malloc(4 * sizeof *r);
    if (!r)
        abort();
    for (int way = 0; way < 4; way++) {
        run(copy, n, piece, way & 1, way >> 1, &r[way]);
        if (memcmp(r[way].md5, md5, 16) != 0 || strcmp(r[way].ssdeep, ssdeep) != 0 ||
            (samples_sha256_hw() &&
             (memcmp(r[way].sha256, sha256, 32) != 0 || memcmp(r[way].sha1, sha1, 20) != 0)))
            abort();
        if (way > 0 && (strcmp(r[way].tlsh, r[0].tlsh) != 0 ||
                        memcmp(r[way].hist, r[0].hist, sizeof r[0].hist) != 0))
            abort();
    }
    for (int simd = 0; simd < 2; simd++) { /* the one-shot: libfuzzy's and the stream's */
        char one[KS_SAMPLES_SSDEEP_MAX];
        samples_fuzzy_simd = simd;
        bool ok = ks_samples_ssdeep(copy, n, one);
        samples_fuzzy_simd = 1;
        if (!ok || strcmp(one, ssdeep) != 0 || strcmp(one, r[0].ssdeep) != 0)
            abort();
    }
    uint64_t total = 0;
    for (unsigned b = 0; b < 256; b++)
        total += r[0].hist[b];
    if (total != n || (n < 256 && r[0].tlsh[0] != '\0'))
        abort();
    free(r);
    free(copy);
    return 0;
}
