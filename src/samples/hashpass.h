/* MD5, ssdeep and TLSH written for the registry's one fused pass (hashpass.c). Internal to
 * src/samples. MD5 is RFC 1321 (OpenSSL is the tests' oracle); the digests are those of
 * libfuzzy 2.14 (fuzzy_digest, flags 0) and of the libtlsh 3.4 of Debian (128 buckets, 1-byte
 * checksum, 70 hex digits, at least 256 bytes); the unit tests keep both libraries as oracles. */
#ifndef KS_SAMPLES_HASHPASS_H
#define KS_SAMPLES_HASHPASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SAMPLES_SSDEEP_MAX 148 /* FUZZY_MAX_RESULT of libfuzzy: 2 * 64 + 20 */
#define SAMPLES_TLSH_LEN 70    /* hex digits of a TLSH digest */

struct ssdeep_block {
    uint32_t dindex;  /* digest characters emitted */
    char digest[64];  /* SPAMSUM_LENGTH */
    char halfdigest;  /* last character while dindex < 32 */
    uint8_t h, halfh; /* FNV hashes (low 6 bits) of the piece so far */
};

struct samples_ssdeep {
    _Alignas(64) uint8_t map[64]; /* pending FNV map since the states were last brought up
                                   * to date: state x becomes map[x] (SIMD path) */
    bool pending;                 /* map is not the identity */
    bool need_lasth;
    uint8_t lasth;
    uint8_t window[7]; /* rolling window, oldest at window[wn] */
    uint32_t wn;
    uint32_t h1, h2, h3; /* rolling hash */
    uint32_t bhstart, bhend, rollmask;
    uint32_t bhmax; /* block sizes that may exist: SS_NBH (31), fewer in the one-shot */
    uint64_t total, reduce_border;
    struct ssdeep_block bh[31];
};

struct samples_tlshc {
    uint32_t cnt[4][256]; /* bucket counts, four tables (neighbouring positions) */
    uint8_t win[4];       /* the last four bytes, win[0] the newest */
    uint8_t cs;           /* checksum */
    uint32_t len;         /* bytes fed (32 bits, as libtlsh counts them) */
};

void samples_ssdeep_init(struct samples_ssdeep *s);
void samples_ssdeep_update(struct samples_ssdeep *s, const uint8_t *p, size_t n);
/* The digest "BS:H1:H2"; -1 when the input is too long for ssdeep (more than 192 GiB). */
int samples_ssdeep_digest(struct samples_ssdeep *s, char out[SAMPLES_SSDEEP_MAX]);

void samples_tlshc_init(struct samples_tlshc *t);
void samples_tlshc_update(struct samples_tlshc *t, const uint8_t *p, size_t n);
/* The 70 hex digits, or "" when the input is shorter than 256 bytes or too uniform (half of
 * the 128 buckets or more empty). size >= SAMPLES_TLSH_LEN + 1 for a digest. */
void samples_tlshc_final(struct samples_tlshc *t, char *out, size_t size);

struct samples_md5 {
    uint32_t h[4];
    uint32_t fill; /* bytes in buf */
    uint64_t len;  /* bytes fed */
    uint8_t buf[64];
};

void samples_md5_init(struct samples_md5 *m);
void samples_md5_update(struct samples_md5 *m, const uint8_t *p, size_t n);
void samples_md5_final(struct samples_md5 *m, uint8_t out[16]);

/* SHA-1 and SHA-256 with the SHA extensions: only where samples_sha256_hw() (else OpenSSL). */
struct samples_sha256 {
    uint32_t h[8];
    uint32_t fill; /* bytes in buf */
    uint64_t len;  /* bytes fed */
    uint8_t buf[64];
};

struct samples_sha1 {
    uint32_t h[5];
    uint32_t fill; /* bytes in buf */
    uint64_t len;  /* bytes fed */
    uint8_t buf[64];
};

/* Whether the CPU has the SHA extensions (SHA-1 and SHA-256 here need them). */
bool samples_sha256_hw(void);
void samples_sha1_init(struct samples_sha1 *m);
void samples_sha1_update(struct samples_sha1 *m, const uint8_t *p, size_t n);
void samples_sha1_final(struct samples_sha1 *m, uint8_t out[20]);
void samples_sha256_init(struct samples_sha256 *m);
void samples_sha256_update(struct samples_sha256 *m, const uint8_t *p, size_t n);
void samples_sha256_final(struct samples_sha256 *m, uint8_t out[32]);

/* The fused pass of the registry: MD5 (m5 may be NULL), SHA-1 and SHA-256 (s1, sh: NULL, or
 * only where samples_sha256_hw()), ssdeep, TLSH and the byte histogram (counted in hist[0..3]:
 * the caller adds the four tables) of the same bytes, in one loop. */
void samples_fuzzy_update(struct samples_md5 *m5, struct samples_sha1 *s1,
                          struct samples_sha256 *sh, struct samples_ssdeep *s,
                          struct samples_tlshc *t, uint64_t hist[4][256], const uint8_t *p,
                          size_t n);

/* 0 forces the portable code even where AVX-512 VBMI is present (for the tests). */
extern int samples_fuzzy_simd;
/* Whether the AVX-512 VBMI/VBMI2 code (with the SHA extensions) runs on this CPU (and
 * samples_fuzzy_simd allows it). */
bool samples_fuzzy_simd_active(void);

#endif
