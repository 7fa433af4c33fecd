/* kansoku HyperLogLog: approximate distinct counts in fixed memory.
 *
 * A sketch of precision p (4..18) has m = 2^p one-byte registers (16 KiB at the default 14)
 * and a relative standard error of about 1.04 / sqrt(m) (0.81 % at p = 14). Items are added as
 * 64-bit hashes (ks_hll_add_hash: the caller's hash must be uniform, e.g. ks_hash_bytes) or as
 * bytes (ks_hll_add: hashed with ks_hash_bytes and a fixed seed, so sketches made anywhere by
 * kansoku can be merged). The estimate uses linear counting while it is below the HLL++
 * switch-over threshold for p (Heule et al., EDBT 2013, sec. 5.2), and otherwise Ertl's
 * improved raw estimator (O. Ertl, "New cardinality estimation algorithms for HyperLogLog
 * sketches", 2017, sec. 3), which needs no empirical bias tables and is unbiased from small
 * to very large counts with 64-bit hashes.
 *
 * The struct is public so that it can live in caller memory (_init/_fini, or _init_buf over
 * caller-provided registers, e.g. inside a ks_table value); its fields are read-only for
 * callers. Not thread-safe per sketch. */
#ifndef KS_HLL_H
#define KS_HLL_H

#include "kansoku/ks_core.h"

#include <stddef.h>
#include <stdint.h>

#define KS_HLL_P_MIN 4
#define KS_HLL_P_MAX 18
#define KS_HLL_P_DEFAULT 14

struct ks_hll {
    uint8_t *reg; /* m registers, each 0..65-p */
    uint32_t m;   /* 2^p */
    uint8_t p;
    uint8_t owned; /* reg was allocated by _init/_new */
};

/* Register bytes needed for precision p (2^p), 0 if p is out of range. */
KS_API size_t ks_hll_regs_size(unsigned p);

/* Initialises an empty sketch in caller memory, allocating its registers. KS_EINVAL (p out of
 * range; p = 0 means the default) or KS_ENOMEM. Release with _fini. */
KS_API int ks_hll_init(struct ks_hll *h, unsigned p);
/* Uses regs (ks_hll_regs_size(p) bytes, owned by the caller) as the registers, as they are: an
 * all-zero buffer is an empty sketch, and a buffer a sketch used before is that sketch again.
 * Never allocates; _fini then frees nothing. KS_EINVAL on a bad p or a short buffer. */
KS_API int ks_hll_init_buf(struct ks_hll *h, unsigned p, void *regs, size_t size);
KS_API void ks_hll_fini(struct ks_hll *h); /* safe on a zeroed or finished struct */

KS_API int ks_hll_new(unsigned p, struct ks_hll **hp);
KS_API void ks_hll_free(struct ks_hll *h); /* NULL is fine */

KS_API void ks_hll_reset(struct ks_hll *h);
KS_API void ks_hll_add_hash(struct ks_hll *h, uint64_t hash);
KS_API void ks_hll_add(struct ks_hll *h, const void *data, size_t len);
/* The estimated number of distinct items added. */
KS_API double ks_hll_estimate(const struct ks_hll *h);

/* dst becomes the union of dst and src. src may have the same or a higher precision (it is
 * folded down); KS_EINVAL if src->p < dst->p. */
KS_API int ks_hll_merge(struct ks_hll *dst, const struct ks_hll *src);

/* Serialised form (stable, for the store), all integers big-endian:
 *   "KH" version(1) p encoding
 *   encoding 0, dense:  m registers packed 6 bits each, 4 registers in 3 bytes, MSB first
 *   encoding 1, sparse: u32 n, then n times u32 (index << 8 | value), indices increasing,
 *                       values non-zero
 * The encoder picks the shorter. */
#define KS_HLL_SER_MAX (5 + (3u << KS_HLL_P_MAX) / 4)

/* Bytes ks_hll_serialize() will write for h now. */
KS_API size_t ks_hll_serialized_size(const struct ks_hll *h);
/* Writes h into buf; *written gets the length. KS_ELIMIT if size is too small. */
KS_API int ks_hll_serialize(const struct ks_hll *h, void *buf, size_t size, size_t *written);
/* Initialises h (as ks_hll_init, allocating) from serialised bytes. KS_EFORMAT, KS_ETRUNC or
 * KS_EUNSUPP (unknown version) on bad input, leaving h finished; KS_ENOMEM. */
KS_API int ks_hll_deserialize(struct ks_hll *h, const void *buf, size_t len);

#endif
