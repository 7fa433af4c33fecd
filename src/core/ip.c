/* IP addresses, prefixes and a longest-prefix-match set (path-compressed binary trie). */
#include "kansoku/ks_ip.h"
#include "hash.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int ks_addr_parse(const char *s, size_t len, struct ks_addr *out)
{
    /* inet_pton() wants a C string: copy to a bounded buffer. The longest valid text is 45
     * bytes ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"). */
    char buf[INET6_ADDRSTRLEN];
    memset(out, 0, sizeof *out);
    if (!s || len == 0 || len >= sizeof buf || memchr(s, '\0', len))
        return KS_EFORMAT;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (memchr(s, ':', len)) {
        if (inet_pton(AF_INET6, buf, out->b) != 1)
            goto bad;
        out->family = 6;
    } else {
        if (inet_pton(AF_INET, buf, out->b) != 1)
            goto bad;
        out->family = 4;
    }
    return KS_OK;
bad:
    memset(out, 0, sizeof *out);
    return KS_EFORMAT;
}

size_t ks_addr_format(const struct ks_addr *a, char *buf, size_t size)
{
    if (size == 0)
        return 0;
    buf[0] = '\0';
    int af = a->family == 4 ? AF_INET : a->family == 6 ? AF_INET6 : -1;
    if (af < 0 || size > (size_t)INT32_MAX)
        return 0;
    if (!inet_ntop(af, a->b, buf, (socklen_t)size)) {
        buf[0] = '\0';
        return 0;
    }
    return strlen(buf);
}

void ks_addr_from_v4(struct ks_addr *a, uint32_t v4)
{
    memset(a, 0, sizeof *a);
    a->family = 4;
    a->b[0] = (uint8_t)(v4 >> 24);
    a->b[1] = (uint8_t)(v4 >> 16);
    a->b[2] = (uint8_t)(v4 >> 8);
    a->b[3] = (uint8_t)v4;
}

void ks_addr_from_v6(struct ks_addr *a, const uint8_t b16[16])
{
    a->family = 6;
    memcpy(a->b, b16, 16);
}

uint32_t ks_addr_v4(const struct ks_addr *a)
{
    if (a->family != 4)
        return 0;
    return (uint32_t)a->b[0] << 24 | (uint32_t)a->b[1] << 16 | (uint32_t)a->b[2] << 8 | a->b[3];
}

bool ks_addr_eq(const struct ks_addr *a, const struct ks_addr *b)
{
    return a->family == b->family && memcmp(a->b, b->b, 16) == 0;
}

int ks_addr_cmp(const struct ks_addr *a, const struct ks_addr *b)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    return memcmp(a->b, b->b, 16);
}

uint64_t ks_addr_hash(const struct ks_addr *a, uint64_t seed)
{
    return ks_addr_hash_inline(a, seed);
}

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool ks_addr_is_v4mapped(const struct ks_addr *a)
{
    return a->family == 6 && memcmp(a->b, v4mapped_prefix, 12) == 0;
}

bool ks_addr_unmap(struct ks_addr *a)
{
    if (!ks_addr_is_v4mapped(a))
        return false;
    uint8_t v4[4];
    memcpy(v4, a->b + 12, 4);
    memset(a, 0, sizeof *a);
    a->family = 4;
    memcpy(a->b, v4, 4);
    return true;
}

static unsigned family_bits(uint8_t family)
{
    return family == 4 ? 32 : family == 6 ? 128 : 0;
}

/* Clears the bits after len; returns true if any was set. */
static bool clear_host_bits(struct ks_addr *a, unsigned len)
{
    bool had = false;
    for (unsigned i = len / 8; i < 16; i++) {
        uint8_t keep = i == len / 8 ? (uint8_t)(0xff00u >> (len % 8)) : 0;
        if (a->b[i] & (uint8_t)~keep)
            had = true;
        a->b[i] &= keep;
    }
    return had;
}

int ks_prefix_parse(const char *s, size_t len, struct ks_prefix *out, unsigned *flags)
{
    memset(out, 0, sizeof *out);
    if (flags)
        *flags = 0;
    if (!s)
        return KS_EFORMAT;
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    int rc = ks_addr_parse(s, alen, &out->addr);
    if (rc != KS_OK)
        return rc;
    unsigned width = family_bits(out->addr.family);
    unsigned plen = width;
    if (slash) {
        const char *d = slash + 1;
        size_t dlen = len - alen - 1;
        if (dlen == 0 || dlen > 3 || (dlen > 1 && d[0] == '0'))
            goto bad;
        plen = 0;
        for (size_t i = 0; i < dlen; i++) {
            if (d[i] < '0' || d[i] > '9')
                goto bad;
            plen = plen * 10 + (unsigned)(d[i] - '0');
        }
        if (plen > width)
            goto bad;
    }
    out->len = (uint8_t)plen;
    if (clear_host_bits(&out->addr, plen) && flags)
        *flags |= KS_PREFIX_HOST_BITS;
    return KS_OK;
bad:
    memset(out, 0, sizeof *out);
    return KS_EFORMAT;
}

size_t ks_prefix_format(const struct ks_prefix *p, char *buf, size_t size)
{
    size_t n = ks_addr_format(&p->addr, buf, size);
    if (n == 0)
        return 0;
    char tail[8];
    int t = snprintf(tail, sizeof tail, "/%u", (unsigned)p->len);
    if (t < 0 || n + (size_t)t >= size) {
        buf[0] = '\0';
        return 0;
    }
    memcpy(buf + n, tail, (size_t)t + 1);
    return n + (size_t)t;
}

int ks_prefix_make(struct ks_prefix *p, const struct ks_addr *a, unsigned len)
{
    unsigned width = family_bits(a->family);
    if (!width || len > width)
        return KS_EINVAL;
    memset(p, 0, sizeof *p);
    p->addr = *a;
    p->len = (uint8_t)len;
    clear_host_bits(&p->addr, len);
    return KS_OK;
}

bool ks_addr_in_prefix(const struct ks_addr *a, const struct ks_prefix *p)
{
    if (a->family != p->addr.family || p->len > family_bits(a->family))
        return false;
    unsigned full = p->len / 8, rest = p->len % 8;
    if (memcmp(a->b, p->addr.b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t m = (uint8_t)(0xff00u >> rest);
    return (a->b[full] & m) == (p->addr.b[full] & m);
}

/* ---- prefix set ------------------------------------------------------------------------------
 * Each node holds a full prefix (key bits beyond len are zero) and the indices of its two
 * children; a child's prefix extends its parent's by at least one bit, the first extra bit
 * choosing the side. Single-child chains are never built: a node without a value always has two
 * children (a "glue" node made where two prefixes diverge). Keys are 128 bits as (hi, lo); an
 * IPv4 address sits in the top 32 bits of hi. Index 0 is the null child. */
struct node {
    uint64_t hi, lo;
    uint32_t child[2];
    uint32_t value;
    uint8_t len;
    uint8_t has_value;
};

struct ks_prefix_set {
    struct node *n;
    uint32_t used, cap; /* nodes in use (including the null node 0), allocated */
    uint32_t root[2];   /* IPv4, IPv6 */
    size_t count;
};

#define MAX_NODES (UINT32_C(1) << 31)

int ks_prefix_set_new(struct ks_prefix_set **sp)
{
    *sp = NULL;
    struct ks_prefix_set *s = calloc(1, sizeof *s);
    if (!s)
        return KS_ENOMEM;
    s->cap = 64;
    s->n = calloc(s->cap, sizeof *s->n);
    if (!s->n) {
        free(s);
        return KS_ENOMEM;
    }
    s->used = 1;
    *sp = s;
    return KS_OK;
}

void ks_prefix_set_free(struct ks_prefix_set *s)
{
    if (!s)
        return;
    free(s->n);
    free(s);
}

size_t ks_prefix_set_count(const struct ks_prefix_set *s)
{
    return s->count;
}

static inline uint64_t load64be(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static inline void key_of(const struct ks_addr *a, uint64_t *hi, uint64_t *lo)
{
    *hi = load64be(a->b);
    *lo = load64be(a->b + 8);
}

static inline unsigned key_bit(uint64_t hi, uint64_t lo, unsigned i)
{
    return i < 64 ? (unsigned)(hi >> (63 - i)) & 1u : (unsigned)(lo >> (127 - i)) & 1u;
}

static inline uint64_t mask_hi(unsigned len)
{
    return len >= 64 ? ~UINT64_C(0) : len == 0 ? 0 : ~UINT64_C(0) << (64 - len);
}

static inline uint64_t mask_lo(unsigned len)
{
    return len <= 64 ? 0 : len >= 128 ? ~UINT64_C(0) : ~UINT64_C(0) << (128 - len);
}

static inline unsigned common_bits(uint64_t ahi, uint64_t alo, uint64_t bhi, uint64_t blo)
{
    uint64_t x = ahi ^ bhi;
    if (x)
        return (unsigned)__builtin_clzll(x);
    x = alo ^ blo;
    return x ? 64 + (unsigned)__builtin_clzll(x) : 128;
}

static uint32_t node_new(struct ks_prefix_set *s, uint64_t hi, uint64_t lo, unsigned len)
{
    uint32_t i = s->used++;
    struct node *n = &s->n[i];
    memset(n, 0, sizeof *n);
    n->hi = hi & mask_hi(len);
    n->lo = lo & mask_lo(len);
    n->len = (uint8_t)len;
    return i;
}

int ks_prefix_set_add(struct ks_prefix_set *s, const struct ks_prefix *p, uint32_t value)
{
    unsigned width = family_bits(p->addr.family);
    if (!width || p->len > width)
        return KS_EINVAL;
    /* One add makes at most two nodes: grow first, so node pointers below stay valid. */
    if (s->used + 2 > s->cap) {
        if (s->cap >= MAX_NODES)
            return KS_ELIMIT;
        uint32_t ncap = s->cap * 2;
        struct node *nn = realloc(s->n, (size_t)ncap * sizeof *nn);
        if (!nn)
            return KS_ENOMEM;
        s->n = nn;
        s->cap = ncap;
    }
    uint64_t hi, lo;
    key_of(&p->addr, &hi, &lo);
    unsigned plen = p->len;
    hi &= mask_hi(plen);
    lo &= mask_lo(plen);
    uint32_t *link = &s->root[p->addr.family == 6];
    unsigned cpl = 0;
    while (*link) {
        struct node *n = &s->n[*link];
        cpl = common_bits(hi, lo, n->hi, n->lo);
        if (cpl > plen)
            cpl = plen;
        if (cpl > n->len)
            cpl = n->len;
        if (cpl < n->len)
            break;
        if (n->len == plen) {
            if (!n->has_value)
                s->count++;
            n->has_value = 1;
            n->value = value;
            return KS_OK;
        }
        link = &n->child[key_bit(hi, lo, n->len)];
    }
    uint32_t leaf;
    if (!*link) {
        leaf = node_new(s, hi, lo, plen);
        *link = leaf;
    } else if (cpl == plen) {
        /* The new prefix contains the node: it goes in between. */
        uint32_t old = *link;
        leaf = node_new(s, hi, lo, plen);
        s->n[leaf].child[key_bit(s->n[old].hi, s->n[old].lo, plen)] = old;
        *link = leaf;
    } else {
        /* They diverge at bit cpl: a glue node holds what they share. */
        uint32_t old = *link;
        uint32_t glue = node_new(s, hi, lo, cpl);
        leaf = node_new(s, hi, lo, plen);
        s->n[glue].child[key_bit(hi, lo, cpl)] = leaf;
        s->n[glue].child[key_bit(s->n[old].hi, s->n[old].lo, cpl)] = old;
        *link = glue;
    }
    s->n[leaf].has_value = 1;
    s->n[leaf].value = value;
    s->count++;
    return KS_OK;
}

bool ks_prefix_set_lookup(const struct ks_prefix_set *s, const struct ks_addr *a, uint32_t *value,
                          unsigned *prefix_len)
{
    const struct node *nodes = s->n, *best = NULL;
    if (a->family == 4) {
        /* IPv4 keys live in the top 32 bits of hi: a 32-bit walk. */
        uint32_t k = ks_addr_v4(a);
        uint32_t i = s->root[0];
        while (i) {
            const struct node *n = &nodes[i];
            uint32_t m = n->len ? ~UINT32_C(0) << (32 - n->len) : 0;
            if (((k ^ (uint32_t)(n->hi >> 32)) & m) != 0)
                break;
            if (n->has_value)
                best = n;
            if (n->len >= 32)
                break;
            i = n->child[(k >> (31 - n->len)) & 1u];
        }
    } else if (a->family == 6) {
        uint64_t hi, lo;
        key_of(a, &hi, &lo);
        uint32_t i = s->root[1];
        while (i) {
            const struct node *n = &nodes[i];
            if (((hi ^ n->hi) & mask_hi(n->len)) != 0 || ((lo ^ n->lo) & mask_lo(n->len)) != 0)
                break;
            if (n->has_value)
                best = n;
            if (n->len >= 128)
                break;
            i = n->child[key_bit(hi, lo, n->len)];
        }
    }
    if (!best)
        return false;
    if (value)
        *value = best->value;
    if (prefix_len)
        *prefix_len = best->len;
    return true;
}
