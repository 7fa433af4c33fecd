/* Randomness of 16-bit sequences (source ports, transaction IDs), graded on DNS-OARC
 * porttest's scale: the standard deviation of a uniform distribution over R values is
 * R / sqrt(12), so log2(sd * sqrt 12) reads as "bits of randomness"; porttest calls a spread
 * of at least 3980 (about 13.7 bits) GREAT, at least 296 (about 10 bits) GOOD, less POOR. */
#include "kansoku/ks_dns.h"
#include "rand_int.h"

#include <math.h>

void ks_dns_rand_add(struct ks_dns_rand_acc *a, uint16_t v)
{
    dns_rand_moments(a, v);
    for (unsigned b = 0; b < 16; b++)
        a->ones[b] += (uint32_t)(v >> b & 1u);
}

enum ks_dns_grade ks_dns_grade_of_sd(double sd)
{
    if (sd >= 3980)
        return KS_DNS_GRADE_GREAT;
    if (sd >= 296)
        return KS_DNS_GRADE_GOOD;
    return KS_DNS_GRADE_POOR;
}

void ks_dns_rand_finish(const struct ks_dns_rand_acc *a, uint32_t distinct, uint32_t min_n,
                        struct ks_dns_rand *r)
{
    r->n = a->n;
    r->distinct = distinct;
    r->min = a->min;
    r->max = a->max;
    r->mean = 0;
    r->sd = 0;
    if (a->n) {
        /* In long double the sums are exact (64-bit mantissa on x86; close enough elsewhere). */
        long double n = (long double)a->n, mean = (long double)a->sum / n;
        long double var = (long double)a->sumsq / n - mean * mean;
        r->mean = (double)mean;
        r->sd = var > 0 ? sqrt((double)var) : 0;
    }
    double span = r->sd * sqrt(12.0);
    r->bits = span > 1 ? log2(span) : 0;
    r->max_bit_bias = 0;
    r->biased_bits = 0;
    for (unsigned b = 0; b < 16 && a->n; b++) {
        double share = (double)a->ones[b] / (double)a->n;
        double bias = fabs(share - 0.5);
        if (bias > r->max_bit_bias)
            r->max_bit_bias = bias;
        /* A fair bit has ones ~ Binomial(n, 1/2): sd sqrt(n)/2. */
        if (a->n >= 16 && fabs((double)a->ones[b] - (double)a->n / 2) > 1.5 * sqrt((double)a->n))
            r->biased_bits++;
    }
    r->grade = a->n >= min_n && a->n > 0 ? ks_dns_grade_of_sd(r->sd) : KS_DNS_GRADE_NONE;
}

const char *ks_dns_grade_name(enum ks_dns_grade g)
{
    switch (g) {
    case KS_DNS_GRADE_GREAT:
        return "GREAT";
    case KS_DNS_GRADE_GOOD:
        return "GOOD";
    case KS_DNS_GRADE_POOR:
        return "POOR";
    default:
        return NULL;
    }
}

const char *ks_dns_case_name(enum ks_dns_case c)
{
    switch (c) {
    case KS_DNS_CASE_NONE:
        return "no";
    case KS_DNS_CASE_PARTIAL:
        return "partial";
    case KS_DNS_CASE_YES:
        return "yes";
    default:
        return "unknown";
    }
}
