/* DNS response parsing (RFC 1035 4.1) for the SPF resolver: the answer RRs of the asked type
 * and the negative-caching TTL (RFC 2308 5). Every read is bounds-checked; compression
 * pointers are followed at most MAX_JUMPS times and names are limited to 255 octets. */
#include "spf_int.h"

#include <stdlib.h>
#include <string.h>

#define MAX_JUMPS 64
#define MAX_RRS 1024

/* Reads a possibly compressed name at msg[*pos]: appends its text to out (labels joined by
 * '.', '.' and '\\' inside labels and bytes outside 0x21..0x7e escaped as \DDD, so that
 * resolvers read it back) and moves *pos past it. false when malformed. */
static bool read_name(const uint8_t *msg, size_t len, size_t *pos, struct spf_buf *out)
{
    size_t p = *pos, wire = 0;
    int jumps = 0;
    bool jumped = false;
    size_t start = out ? out->len : 0;
    for (;;) {
        if (p >= len)
            return false;
        uint8_t l = msg[p];
        if ((l & 0xc0) == 0xc0) {
            if (p + 1 >= len || ++jumps > MAX_JUMPS)
                return false;
            size_t target = (size_t)((l & 0x3f) << 8 | msg[p + 1]);
            if (!jumped)
                *pos = p + 2;
            jumped = true;
            p = target;
            continue;
        }
        if (l & 0xc0)
            return false; /* extended label types (RFC 6891) are not used in answers */
        p++;
        if (l == 0)
            break;
        if (p + l > len || (wire += (size_t)l + 1) > 255)
            return false;
        if (out) {
            if (out->len > start && spf_buf_addc(out, '.') != KS_OK)
                return false;
            for (size_t i = 0; i < l; i++) {
                uint8_t c = msg[p + i];
                int rc;
                if (c == '.' || c == '\\') {
                    char e[2] = {'\\', (char)c};
                    rc = spf_buf_add(out, e, 2);
                } else if (c < 0x21 || c > 0x7e) {
                    char e[4] = {'\\', (char)('0' + c / 100), (char)('0' + c / 10 % 10),
                                 (char)('0' + c % 10)};
                    rc = spf_buf_add(out, e, 4);
                } else {
                    rc = spf_buf_addc(out, (char)c);
                }
                if (rc != KS_OK)
                    return false;
            }
        }
        p += l;
    }
    if (!jumped)
        *pos = p;
    if (out && spf_buf_add(out, "", 0) != KS_OK)
        return false;
    return true;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct rrpos {
    uint32_t off, len, ttl;
};

int ks_spf_dns_parse(const uint8_t *msg, size_t len, uint16_t qtype,
                     void (*fn)(void *arg, const struct ks_spf_answer *a, uint32_t neg_ttl),
                     void *arg)
{
    if (!msg || len < 12)
        return KS_EFORMAT;
    uint16_t flags = get16(msg + 2);
    unsigned rcode = flags & 0x0f;
    uint32_t qd = get16(msg + 4), an = get16(msg + 6), ns = get16(msg + 8);
    size_t pos = 12;
    for (uint32_t i = 0; i < qd; i++) {
        if (!read_name(msg, len, &pos, NULL) || pos + 4 > len)
            return KS_EFORMAT;
        pos += 4;
    }
    struct spf_buf data;
    spf_buf_init(&data, 1u << 20);
    struct rrpos rp[64];
    struct rrpos *rps = rp;
    uint32_t nrr = 0, cap = 64;
    int rc = KS_EFORMAT;
    struct ks_spf_rr *rr = NULL;
    struct ks_spf_rr rrs_small[64];
    uint32_t neg_ttl = 0;

    for (uint32_t i = 0; i < an + ns; i++) {
        if (!read_name(msg, len, &pos, NULL) || pos + 10 > len)
            goto out;
        uint16_t type = get16(msg + pos), klass = get16(msg + pos + 2);
        uint32_t ttl = get32(msg + pos + 4);
        uint16_t rdlen = get16(msg + pos + 8);
        pos += 10;
        if (pos + rdlen > len)
            goto out;
        size_t rd = pos, end = pos + rdlen;
        pos = end;
        if (ttl > 0x7fffffffu)
            ttl = 0; /* RFC 2181 8 */
        if (klass != 1)
            continue;
        if (i >= an) {
            /* Authority: the SOA's minimum bounds the negative TTL (RFC 2308 5). */
            if (type == KS_DNS_SOA) {
                size_t p = rd;
                if (!read_name(msg, end, &p, NULL) || !read_name(msg, end, &p, NULL) ||
                    p + 20 > end)
                    goto out;
                uint32_t min = get32(msg + p + 16);
                neg_ttl = ttl < min ? ttl : min;
                if (neg_ttl == 0)
                    neg_ttl = 1;
            }
            continue;
        }
        if (type != qtype || nrr >= MAX_RRS)
            continue;
        if (nrr == cap) {
            struct rrpos *n = rps == rp ? NULL : rps;
            n = realloc(n, cap * 2 * sizeof *n);
            if (!n) {
                rc = KS_ENOMEM;
                goto out;
            }
            if (rps == rp)
                memcpy(n, rp, sizeof rp);
            rps = n;
            cap *= 2;
        }
        struct rrpos *r = &rps[nrr];
        r->off = (uint32_t)data.len;
        r->ttl = ttl;
        switch (type) {
        case KS_DNS_A:
        case KS_DNS_AAAA:
            if (rdlen != (type == KS_DNS_A ? 4 : 16))
                goto out;
            if (spf_buf_add(&data, (const char *)msg + rd, rdlen) != KS_OK)
                goto out;
            break;
        case KS_DNS_TXT: {
            /* RFC 7208 3.3: the character-strings of one TXT RR are concatenated. */
            size_t p = rd;
            if (spf_buf_add(&data, "", 0) != KS_OK)
                goto out;
            while (p < end) {
                uint8_t l = msg[p++];
                if (p + l > end || spf_buf_add(&data, (const char *)msg + p, l) != KS_OK)
                    goto out;
                p += l;
            }
            break;
        }
        case KS_DNS_MX:
        case KS_DNS_PTR: {
            size_t p = rd + (type == KS_DNS_MX ? 2 : 0);
            if (p > end || !read_name(msg, end, &p, &data) || p != end)
                goto out;
            break;
        }
        default:
            continue;
        }
        r->len = (uint32_t)data.len - r->off;
        nrr++;
    }
    rr = nrr <= 64 ? rrs_small : malloc(nrr * sizeof *rr);
    if (!rr) {
        rc = KS_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < nrr; i++) {
        rr[i].type = qtype;
        rr[i].ttl = rps[i].ttl;
        rr[i].len = rps[i].len;
        rr[i].data = (const uint8_t *)data.p + rps[i].off;
    }
    struct ks_spf_answer a;
    a.status = rcode == 0 ? KS_SPF_DNS_OK : rcode == 3 ? KS_SPF_DNS_NXDOMAIN : KS_SPF_DNS_TEMPFAIL;
    a.count = a.status == KS_SPF_DNS_OK ? nrr : 0;
    a.rr = rr;
    fn(arg, &a, neg_ttl);
    rc = KS_OK;
out:
    if (rr != rrs_small)
        free(rr);
    if (rps != rp)
        free(rps);
    spf_buf_fini(&data);
    return rc;
}
