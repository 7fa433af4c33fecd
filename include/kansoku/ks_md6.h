/* kansoku MD6: the MD6 hash function (Rivest et al., "The MD6 hash function", 2008, with the
 * reference implementation of 2009-04-15 as the tie-breaker), complete: digest size d from 1 to
 * 512 bits, a key of 0 to 64 bytes, the mode parameter L from 0 (sequential) to 64 (full 4-ary
 * tree), any number of rounds r that the control word can carry (0 to 4095), and messages of
 * any length in bits (a partial last byte uses its high-order bits, as the NIST SHA-3 API does).
 *
 * The digest never depends on how it was computed: the compression function runs on a portable
 * scalar path or on SSE2, AVX2 or AVX-512 (one vector lane per independent tree node, and the 16
 * independent steps of a round in parallel for a lone node), chosen at run time from the CPU's
 * features, $KS_MD6_PATH (portable|sse2|avx2|avx512) or ks_md6_params.path; large inputs are
 * split over threads by subtrees.
 *
 * Memory: a handle holds about 50 KiB (a 32 KiB leaf buffer and the tree's pending nodes, one
 * per level), whatever the message length; each worker thread adds about 24 KiB (its outputs
 * and its stack frame).
 *
 * Thread-safety: a handle is used by one thread at a time (it may start its own workers);
 * different handles are independent. The one-shot functions are thread-safe. */
#ifndef KS_MD6_H
#define KS_MD6_H

#include "kansoku/ks_core.h"

#include <stddef.h>
#include <stdint.h>

#define KS_MD6_MAX_BITS 512    /* largest digest, bits */
#define KS_MD6_MAX_BYTES 64    /* largest digest, bytes */
#define KS_MD6_MAX_KEY 64      /* longest key, bytes */
#define KS_MD6_MAX_L 64        /* full tree */
#define KS_MD6_MAX_ROUNDS 4095 /* what the 12-bit r field of the control word holds */
#define KS_MD6_HEX_SIZE 129    /* hex digest of 512 bits and its NUL */

/* How the compression function is computed. The digest is the same on every path. */
enum ks_md6_path {
    KS_MD6_PATH_AUTO = 0, /* $KS_MD6_PATH if set, else the best the CPU supports */
    KS_MD6_PATH_PORTABLE, /* plain C, 64-bit scalar */
    KS_MD6_PATH_SSE2,     /* 2 lanes of 64 bits */
    KS_MD6_PATH_AVX2,     /* 4 lanes */
    KS_MD6_PATH_AVX512,   /* 8 lanes (AVX-512F + VL) */
};

struct ks_md6_params {
    unsigned d;            /* digest length in bits, 1..512 (default 256) */
    unsigned L;            /* mode: 0 = sequential, 1..63 = tree then sequential, 64 = tree
                            * (default 64) */
    int r;                 /* rounds, 0..4095; -1 (default) = 40 + d/4, and at least 80 when a
                            * key is given (the reference's rule) */
    const uint8_t *key;    /* borrowed until ks_md6_new returns; NULL when keylen is 0 */
    size_t keylen;         /* 0..64 bytes (default 0) */
    unsigned threads;      /* threads for large inputs, 0 or 1 = the caller's only (default 1) */
    enum ks_md6_path path; /* default KS_MD6_PATH_AUTO */
};

/* Fills p with the defaults for a d-bit digest (d is not checked here). */
KS_API void ks_md6_params_default(struct ks_md6_params *p, unsigned d);

/* NULL when p is valid, else a sentence saying what is wrong ("digest size must be 1..512
 * bits, not 0"), in a buffer of the caller's (msg, size), which is returned. */
KS_API const char *ks_md6_params_error(const struct ks_md6_params *p, char *msg, size_t size);

/* The rounds a computation with p uses (p->r, or the default for d and the key). */
KS_API unsigned ks_md6_rounds(const struct ks_md6_params *p);

struct ks_md6; /* opaque */

/* Starts a hash computation. KS_EINVAL for invalid parameters (see ks_md6_params_error),
 * KS_EUNSUPP if p->path names a path this CPU lacks, KS_ENOMEM. */
KS_API int ks_md6_new(const struct ks_md6_params *p, struct ks_md6 **hp);
/* Starts over with the same parameters (the key included). */
KS_API void ks_md6_reset(struct ks_md6 *h);
KS_API void ks_md6_free(struct ks_md6 *h); /* NULL is fine; wipes the key and the state */

/* Adds len bytes. Any chunking gives the same digest. KS_EINVAL after ks_md6_final. */
KS_API int ks_md6_update(struct ks_md6 *h, const void *data, size_t len);
/* Adds nbits bits: the bytes of data in order, and of a last partial byte its high-order bits
 * (its other bits are ignored). Updates of any bit lengths may follow one another. */
KS_API int ks_md6_update_bits(struct ks_md6 *h, const void *data, uint64_t nbits);

/* Writes the digest: (d + 7) / 8 bytes, the d bits first (high-order first) and zero bits
 * after. size must be at least that (KS_EINVAL otherwise). The handle then only accepts
 * ks_md6_reset and ks_md6_free. */
KS_API int ks_md6_final(struct ks_md6 *h, uint8_t *digest, size_t size);

/* One call: the digest of len bytes (or nbits bits) of data. */
KS_API int ks_md6_hash(const struct ks_md6_params *p, const void *data, size_t len, uint8_t *digest,
                       size_t size);
KS_API int ks_md6_hash_bits(const struct ks_md6_params *p, const void *data, uint64_t nbits,
                            uint8_t *digest, size_t size);

/* The digest of everything readable from fd (a file, a pipe, stdin), read to its end. Uses
 * p->threads threads for large inputs, and maps regular files instead of copying them, in
 * windows of bounded size. *nbytes (may be NULL) gets the byte count. KS_EIO on a read error
 * (errno is kept). */
KS_API int ks_md6_hash_fd(const struct ks_md6_params *p, int fd, uint8_t *digest, size_t size,
                          uint64_t *nbytes);

/* Lowercase hex of a d-bit digest: ceil(d / 4) digits and a NUL, as the reference md6sum
 * prints. Returns the number of digits, or 0 if size is too small or d out of range. */
KS_API size_t ks_md6_hex(const uint8_t *digest, unsigned d, char *hex, size_t size);

/* The compression function f itself: C = the last 16 of the 89 + 16 r words computed from the
 * 89-word input N (Q, key, node ID U, control word V, 64 data words, in that order). */
KS_API int ks_md6_compress(const uint64_t N[89], unsigned r, uint64_t C[16], enum ks_md6_path path);

/* Whether this CPU (and build) can run path; AUTO is always available. */
KS_API int ks_md6_path_supported(enum ks_md6_path path);
/* The path AUTO resolves to now (the environment included). */
KS_API enum ks_md6_path ks_md6_path_auto(void);
/* "portable", "sse2", "avx2", "avx512" ("auto" for AUTO); NULL for other values. */
KS_API const char *ks_md6_path_name(enum ks_md6_path path);
/* Parses one of those names; KS_EINVAL if unknown. */
KS_API int ks_md6_path_parse(const char *name, enum ks_md6_path *path);

#endif
