/* The moments of a random-field accumulator (internal to src/dns): shared by the public
 * ks_dns_rand_add and the analyzer's batched variant, which keeps the per-bit counts apart. */
#ifndef KS_DNS_RAND_INT_H
#define KS_DNS_RAND_INT_H

#include "kansoku/ks_dns.h"

static inline void dns_rand_moments(struct ks_dns_rand_acc *a, uint16_t v)
{
    if (a->n == 0 || v < a->min)
        a->min = v;
    if (a->n == 0 || v > a->max)
        a->max = v;
    a->n++;
    a->sum += v;
    a->sumsq += (uint64_t)v * v;
}

#endif
