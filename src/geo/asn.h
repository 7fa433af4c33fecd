/* kansoku AS table: the CSV line parser, the builder and the reader of the binary table.
 *
 * File format (all integers little-endian; sections follow one another, each 8-aligned):
 *   header, 64 bytes: magic "KSASNTB1", u32 header size (64), u32 flags (0), u32 n4, u32 n6,
 *     u32 nrec, u32 pool_size, i64 build time (Unix s), char version[24] (NUL-terminated)
 *   u32 start4[n4], u32 rec4[n4]                 IPv4 boundaries
 *   u64 start6[2 * n6] (high, low), u32 rec6[n6] IPv6 boundaries
 *   u32 recs[2 * nrec] (asn, offset of org in pool)
 *   char pool[pool_size]                         NUL-terminated UTF-8 names
 * Boundary i covers [start[i], start[i + 1] - 1] (the last one to the end of the family);
 * start[0] is 0 and starts strictly increase, so a lookup is "the last start <= address".
 * Record 0 is "unknown" (AS 0, org ""); gaps between ranges point to it. The reader checks
 * every rule above before use, so that lookups need no bounds checks. */
#ifndef KS_GEO_ASN_H
#define KS_GEO_ASN_H

#include "kansoku/ks_geo.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KS_ASN_MAGIC "KSASNTB1"
#define KS_ASN_HEADER_SIZE 64u
#define KS_ASN_VERSION_MAX 24u
#define KS_ASN_ORG_MAX 255u   /* longer names are refused as bad lines */
#define KS_ASN_LINE_MAX 1024u /* longer lines are refused */

/* One parsed CSV line. org is a copy (quotes undone), NUL-terminated. */
struct ks_asn_range {
    struct ks_addr first, last;
    uint32_t asn;
    uint32_t org_len;
    char org[KS_ASN_ORG_MAX + 1];
};

/* Parses "first,last,asn,org" (no line terminator). KS_OK, or KS_EFORMAT / KS_ELIMIT with
 * *why set to a static explanation. Thread-safe. */
int ks_asn_parse_line(const uint8_t *line, size_t len, struct ks_asn_range *r, const char **why);

/* Collects ranges from CSV text and writes a table. */
struct ks_asn_builder;
int ks_asn_builder_new(const struct ks_diag *diag, struct ks_asn_builder **bp);
void ks_asn_builder_free(struct ks_asn_builder *b);
/* Feeds a whole CSV text; source names it in diagnostics (copied). KS_OK, KS_ENOMEM or
 * KS_ELIMIT; bad lines are counted, not errors. */
int ks_asn_builder_feed(struct ks_asn_builder *b, const uint8_t *data, size_t len,
                        const char *source);
/* Serialises the table into a malloc'd buffer (*out, *out_len; the caller frees it). */
int ks_asn_builder_finish(struct ks_asn_builder *b, const char *version, int64_t build_time,
                          uint8_t **out, size_t *out_len);
void ks_asn_builder_stats(const struct ks_asn_builder *b, struct ks_geo_build_stats *st);

/* A validated view of a table's bytes (which must stay mapped while the view lives). */
struct ks_asn_table;
/* Checks buf (8-aligned) and builds the lookup index. KS_OK, KS_ECORRUPT (*why says what is
 * wrong), KS_EUNSUPP (big-endian host or unknown version), KS_ENOMEM. */
int ks_asn_table_open(const void *buf, size_t len, struct ks_asn_table **tp, const char **why);
void ks_asn_table_free(struct ks_asn_table *t);
/* AS and organisation of a (family 4 or 6); AS 0 and "" when not covered. Thread-safe. */
void ks_asn_table_lookup(const struct ks_asn_table *t, const struct ks_addr *a, uint32_t *asn,
                         const char **org);
/* The same for n IPv4 addresses (host order) at once: their loads overlap, KS_ASN_LANES at a
 * time (a random address misses the cache at each of its four loads). */
#define KS_ASN_LANES 8
void ks_asn_table_lookup4_many(const struct ks_asn_table *t, const uint32_t *ip, size_t n,
                               uint32_t *asn, const char **org);
/* ks_asn_table_lookup of the IPv4 address ip (host order), with the range of addresses that
 * share its answer: [*lo, *hi], ip within. */
void ks_asn_table_lookup4_range(const struct ks_asn_table *t, uint32_t ip, uint32_t *asn,
                                const char **org, uint32_t *lo, uint32_t *hi);
/* Asks for the first load of ip's lookup (to overlap it with other work before the lookup). */
void ks_asn_table_prefetch4(const struct ks_asn_table *t, uint32_t ip);
struct ks_asn_table_info {
    uint32_t n4, n6, nrec;
    int64_t build_time;
    char version[KS_ASN_VERSION_MAX];
};
void ks_asn_table_info(const struct ks_asn_table *t, struct ks_asn_table_info *info);

#endif
