/* kansoku IP addresses, prefixes and prefix sets (longest-prefix match).
 *
 * struct ks_addr is a plain 17-byte value: family (4 or 6) and 16 bytes. An IPv4 address is
 * stored in b[0..3] (network byte order) with b[4..15] zero; an IPv6 address uses all 16 bytes.
 * Every function here that produces a ks_addr zeroes the unused bytes, so two addresses are
 * equal exactly when their bytes are (memcmp, ks_addr_eq) and they can be hashed as a blob or
 * used whole as a ks_table key. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) stays IPv6
 * (family 6) as parsed; ks_addr_unmap() turns it into IPv4 when the caller wants them merged.
 *
 * Text is (ptr, len), never NUL-terminated. Parsing follows inet_pton(3): dotted-quad IPv4 with
 * no leading zeros, and RFC 4291 2.2 IPv6 text (including the embedded IPv4 form); no zone
 * ids. Formatting follows RFC 5952 (lowercase, "::" for the longest zero run) as inet_ntop(3).
 * All functions are thread-safe; a prefix set is safe for concurrent lookups once built. */
#ifndef KS_IP_H
#define KS_IP_H

#include "kansoku/ks_core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_addr {
    uint8_t family; /* 4 or 6; 0 for "no address" (all zero) */
    uint8_t b[16];  /* network byte order; IPv4 in b[0..3], the rest zero */
};

struct ks_prefix {
    struct ks_addr addr; /* host bits are zero */
    uint8_t len;         /* 0..32 (IPv4) or 0..128 (IPv6) */
};

/* Enough for any formatted address / prefix, with the terminating NUL. */
#define KS_ADDR_STRLEN 46
#define KS_PREFIX_STRLEN 50

/* ks_prefix_parse() flags. */
#define KS_PREFIX_HOST_BITS 1u /* the text had host bits set; they were cleared */

/* Parses an IPv4 or IPv6 address. KS_OK, or KS_EFORMAT (out is then zeroed). */
KS_API int ks_addr_parse(const char *s, size_t len, struct ks_addr *out);

/* Formats a into buf (size >= KS_ADDR_STRLEN is always enough), NUL-terminated. Returns the
 * length, or 0 if a's family is not 4 or 6 or buf is too small (buf then holds ""). */
KS_API size_t ks_addr_format(const struct ks_addr *a, char *buf, size_t size);

/* Builders. v4 is in host byte order (0x0a000001 = 10.0.0.1); b16 in network order. */
KS_API void ks_addr_from_v4(struct ks_addr *a, uint32_t v4);
KS_API void ks_addr_from_v6(struct ks_addr *a, const uint8_t b16[16]);
/* The IPv4 address in host byte order (0 if a is not IPv4). */
KS_API uint32_t ks_addr_v4(const struct ks_addr *a);

KS_API bool ks_addr_eq(const struct ks_addr *a, const struct ks_addr *b);
/* A total order: IPv4 before IPv6, then by bytes (network order). <0, 0, >0 like memcmp. */
KS_API int ks_addr_cmp(const struct ks_addr *a, const struct ks_addr *b);
/* A hash of the address (family and bytes), seeded; see ks_hash_bytes(). */
KS_API uint64_t ks_addr_hash(const struct ks_addr *a, uint64_t seed);

/* True for ::ffff:0:0/96. ks_addr_unmap() turns such an address into IPv4 in place and returns
 * true; other addresses are left alone (false). */
KS_API bool ks_addr_is_v4mapped(const struct ks_addr *a);
KS_API bool ks_addr_unmap(struct ks_addr *a);

/* Parses "ADDR/LEN" or a bare "ADDR" (= a host prefix: /32 or /128). LEN is decimal without
 * leading zeros, within the family's range. Host bits set in ADDR are cleared and flagged with
 * KS_PREFIX_HOST_BITS in *flags (flags may be NULL). KS_OK or KS_EFORMAT (out zeroed). */
KS_API int ks_prefix_parse(const char *s, size_t len, struct ks_prefix *out, unsigned *flags);
/* Formats "ADDR/LEN" (always with /LEN). Same return convention as ks_addr_format(). */
KS_API size_t ks_prefix_format(const struct ks_prefix *p, char *buf, size_t size);
/* Builds a prefix from an address and a length, clearing host bits. KS_EINVAL if len exceeds
 * the family's width or the family is not 4 or 6. */
KS_API int ks_prefix_make(struct ks_prefix *p, const struct ks_addr *a, unsigned len);
/* True when a is inside p (same family and the first p->len bits equal). */
KS_API bool ks_addr_in_prefix(const struct ks_addr *a, const struct ks_prefix *p);

/* A set of IPv4 and IPv6 prefixes, each with a 32-bit user value, answering longest-prefix
 * match. A path-compressed binary trie (one for each family) in one node array: at most
 * 2 nodes per prefix, 32 bytes a node, lookups in O(address width) with no allocation.
 * Not thread-safe for adds; concurrent lookups on a set no one adds to are fine. */
struct ks_prefix_set; /* opaque */

KS_API int ks_prefix_set_new(struct ks_prefix_set **sp);
KS_API void ks_prefix_set_free(struct ks_prefix_set *s); /* NULL is fine */
/* Adds p with value. Adding a prefix already present replaces its value. KS_OK, KS_EINVAL (bad
 * family or length; host bits are cleared, not refused), KS_ENOMEM, or KS_ELIMIT (more than
 * 2^30 prefixes). */
KS_API int ks_prefix_set_add(struct ks_prefix_set *s, const struct ks_prefix *p, uint32_t value);
/* Longest-prefix match of a within its family (no IPv4-mapped translation: unmap first if
 * wanted). On a match, returns true and sets *value and *prefix_len (both may be NULL). */
KS_API bool ks_prefix_set_lookup(const struct ks_prefix_set *s, const struct ks_addr *a,
                                 uint32_t *value, unsigned *prefix_len);
/* The number of distinct prefixes added. */
KS_API size_t ks_prefix_set_count(const struct ks_prefix_set *s);

#endif
