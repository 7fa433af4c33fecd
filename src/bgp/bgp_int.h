/* Internal to src/bgp: the input layer of the MRT reader (plain, gzip, bzip2, memory). */
#ifndef KS_BGP_INT_H
#define KS_BGP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mrt_src;

/* Opens path ("-" = stdin), sniffing gzip (1f 8b) and bzip2 ("BZh") magic. KS_OK, KS_EIO
 * (errno set), KS_ENOMEM. */
int mrt_src_open(const char *path, struct mrt_src **sp);
/* Reads up to n bytes into buf: the count, 0 at the end, or KS_EIO / KS_EFORMAT (a corrupt
 * compressed stream). */
ssize_t mrt_src_read(struct mrt_src *s, void *buf, size_t n);
void mrt_src_close(struct mrt_src *s);

#include "kansoku/ks_bgp.h"

/* Route origin validation of (prefix, origin) against expectations (expect.c). */
enum bgp_status {
    BGP_UNCOVERED = 0,      /* no expectation covers the prefix */
    BGP_VALID = 1,          /* a covering entry has this origin and a long enough max length */
    BGP_EXACT_MISMATCH = 2, /* expected at this exact prefix, from other origins */
    BGP_SUBPREFIX = 3,      /* only less specifics are expected, none from this origin */
    BGP_MORE_SPECIFIC = 4,  /* a less specific is expected from this origin */
};

struct bgp_match {
    int status;
    struct ks_prefix expected_prefix; /* the deepest covering expected prefix */
    uint32_t expected_as[8];
    uint32_t n_expected;
};

void bgp_expect_match(const struct ks_bgp_expect *e, const struct ks_prefix *p, uint32_t origin,
                      struct bgp_match *mt);
bool bgp_parse_asn(const uint8_t *s, size_t n, uint32_t *as);

#endif
