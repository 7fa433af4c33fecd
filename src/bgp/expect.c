/* Expected origins: a binary trie per address family whose nodes carry (origin, max length,
 * kind) entries, and the loaders of the three text formats (simple list, RPSL route objects,
 * ROA CSV). */
#include "kansoku/ks_bgp.h"

#include "bgp/bgp_int.h"
#include "core/cur.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct node {
    uint32_t child[2]; /* node index, 0 = none (node 0 is never a child) */
    uint32_t rule;     /* first rule + 1, 0 = none */
};

struct rule {
    uint32_t origin;
    uint32_t next; /* next rule of the same node + 1 */
    uint8_t maxlen;
    uint8_t kind;
};

struct ks_bgp_expect {
    struct node *nodes;
    uint32_t n_nodes, cap_nodes;
    struct rule *rules;
    uint32_t n_rules, cap_rules;
};

/* node 0: unused; node 1: IPv4 root; node 2: IPv6 root */
int ks_bgp_expect_new(struct ks_bgp_expect **ep)
{
    struct ks_bgp_expect *e = calloc(1, sizeof *e);
    if (!e)
        return KS_ENOMEM;
    e->cap_nodes = 1024;
    e->nodes = calloc(e->cap_nodes, sizeof *e->nodes);
    if (!e->nodes) {
        free(e);
        return KS_ENOMEM;
    }
    e->n_nodes = 3;
    *ep = e;
    return KS_OK;
}

void ks_bgp_expect_free(struct ks_bgp_expect *e)
{
    if (!e)
        return;
    free(e->nodes);
    free(e->rules);
    free(e);
}

size_t ks_bgp_expect_count(const struct ks_bgp_expect *e)
{
    return e->n_rules;
}

static inline unsigned bit_at(const struct ks_prefix *p, unsigned i)
{
    return (p->addr.b[i / 8] >> (7 - i % 8)) & 1u;
}

static inline unsigned width(const struct ks_prefix *p)
{
    return p->addr.family == 4 ? 32 : 128;
}

int ks_bgp_expect_add(struct ks_bgp_expect *e, const struct ks_prefix *p, uint32_t origin,
                      unsigned maxlen, enum ks_bgp_expect_kind kind)
{
    if (!p || (p->addr.family != 4 && p->addr.family != 6) || p->len > width(p))
        return KS_EINVAL;
    struct ks_prefix q;
    if (ks_prefix_make(&q, &p->addr, p->len) != KS_OK)
        return KS_EINVAL;
    if (maxlen < q.len)
        maxlen = q.len;
    if (maxlen > width(&q))
        maxlen = width(&q);
    uint32_t n = q.addr.family == 4 ? 1 : 2;
    for (unsigned i = 0; i < q.len; i++) {
        unsigned b = bit_at(&q, i);
        if (!e->nodes[n].child[b]) {
            if (e->n_nodes >= (1u << 31))
                return KS_ELIMIT;
            if (e->n_nodes == e->cap_nodes) {
                uint32_t cap = e->cap_nodes * 2;
                struct node *nn = realloc(e->nodes, (size_t)cap * sizeof *nn);
                if (!nn)
                    return KS_ENOMEM;
                e->nodes = nn;
                e->cap_nodes = cap;
            }
            memset(&e->nodes[e->n_nodes], 0, sizeof e->nodes[0]);
            e->nodes[n].child[b] = e->n_nodes++;
        }
        n = e->nodes[n].child[b];
    }
    for (uint32_t r = e->nodes[n].rule; r; r = e->rules[r - 1].next) {
        const struct rule *x = &e->rules[r - 1];
        if (x->origin == origin && x->maxlen == maxlen && x->kind == kind)
            return KS_OK;
    }
    if (e->n_rules == e->cap_rules) {
        uint32_t cap = e->cap_rules ? e->cap_rules * 2 : 1024;
        struct rule *nr = realloc(e->rules, (size_t)cap * sizeof *nr);
        if (!nr)
            return KS_ENOMEM;
        e->rules = nr;
        e->cap_rules = cap;
    }
    struct rule *x = &e->rules[e->n_rules++];
    x->origin = origin;
    x->maxlen = (uint8_t)maxlen;
    x->kind = (uint8_t)kind;
    x->next = e->nodes[n].rule;
    e->nodes[n].rule = e->n_rules;
    return KS_OK;
}

static void add_origins(struct bgp_match *mt, const struct ks_bgp_expect *e, uint32_t r)
{
    for (; r; r = e->rules[r - 1].next) {
        const struct rule *x = &e->rules[r - 1];
        if (x->kind == KS_BGP_EXPECT_ALLOW)
            continue;
        bool dup = false;
        for (uint32_t i = 0; i < mt->n_expected && i < 8; i++)
            dup = dup || mt->expected_as[i] == x->origin;
        if (dup)
            continue;
        if (mt->n_expected < 8)
            mt->expected_as[mt->n_expected] = x->origin;
        mt->n_expected++;
    }
}

static bool has_expectation(const struct ks_bgp_expect *e, uint32_t r)
{
    for (; r; r = e->rules[r - 1].next)
        if (e->rules[r - 1].kind != KS_BGP_EXPECT_ALLOW)
            return true;
    return false;
}

/* RFC 6811 2 (valid when a covering entry has the origin and a max length >= the prefix's),
 * then the kind of mismatch: an expectation at the exact prefix, or only at less specific
 * ones (the deepest of which is reported). */
void bgp_expect_match(const struct ks_bgp_expect *e, const struct ks_prefix *p, uint32_t origin,
                      struct bgp_match *mt)
{
    memset(mt, 0, sizeof *mt);
    mt->status = BGP_UNCOVERED;
    if (!e || (p->addr.family != 4 && p->addr.family != 6))
        return;
    uint32_t n = p->addr.family == 4 ? 1 : 2;
    uint32_t deepest = 0;
    unsigned deepest_len = 0;
    bool origin_above = false, valid = false;
    for (unsigned d = 0;; d++) {
        for (uint32_t r = e->nodes[n].rule; r; r = e->rules[r - 1].next) {
            const struct rule *x = &e->rules[r - 1];
            bool any = x->kind == KS_BGP_EXPECT_ALLOW && x->origin == 0;
            if ((x->origin == origin || any) && x->maxlen >= p->len && origin != 0)
                valid = true;
            if (x->kind != KS_BGP_EXPECT_ALLOW && x->origin == origin && d < p->len)
                origin_above = true;
        }
        if (has_expectation(e, e->nodes[n].rule)) {
            deepest = n;
            deepest_len = d;
        }
        if (d == p->len)
            break;
        uint32_t c = e->nodes[n].child[bit_at(p, d)];
        if (!c)
            break;
        n = c;
    }
    if (valid) {
        mt->status = BGP_VALID;
        return;
    }
    if (!deepest)
        return;
    ks_prefix_make(&mt->expected_prefix, &p->addr, deepest_len);
    add_origins(mt, e, e->nodes[deepest].rule);
    if (deepest_len == p->len)
        mt->status = BGP_EXACT_MISMATCH;
    else
        mt->status = origin_above ? BGP_MORE_SPECIFIC : BGP_SUBPREFIX;
}

/* ---- loaders -------------------------------------------------------------------------------- */

static bool ieq(const uint8_t *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (n != k)
        return false;
    for (size_t i = 0; i < k; i++)
        if (tolower(s[i]) != lit[i])
            return false;
    return true;
}

static void trim(const uint8_t **s, size_t *n)
{
    while (*n && (isspace(**s) || **s == '"')) {
        (*s)++;
        (*n)--;
    }
    while (*n && (isspace((*s)[*n - 1]) || (*s)[*n - 1] == '"'))
        (*n)--;
}

static bool parse_u32(const uint8_t *s, size_t n, uint32_t *v)
{
    uint64_t x = 0;
    if (n == 0 || n > 10)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (s[i] - '0');
    }
    if (x > 0xffffffffu)
        return false;
    *v = (uint32_t)x;
    return true;
}

/* "AS64500", "64500", or asdot "1.10" (RFC 5396). */
bool bgp_parse_asn(const uint8_t *s, size_t n, uint32_t *as)
{
    trim(&s, &n);
    if (n >= 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's')) {
        s += 2;
        n -= 2;
    }
    const uint8_t *dot = memchr(s, '.', n);
    if (dot) {
        uint32_t hi, lo;
        size_t k = (size_t)(dot - s);
        if (!parse_u32(s, k, &hi) || !parse_u32(dot + 1, n - k - 1, &lo) || hi > 65535 ||
            lo > 65535)
            return false;
        *as = hi << 16 | lo;
        return true;
    }
    return parse_u32(s, n, as);
}

struct loader {
    struct ks_bgp_expect *e;
    enum ks_bgp_expect_kind kind;
    const char *source;
    const struct ks_diag *diag;
    uint32_t reported;
    uint64_t bad;
};

static void bad_line(struct loader *L, uint32_t line, const char *what)
{
    L->bad++;
    struct ks_loc loc = {L->source, 0, 0, 0, line};
    ks_diag_report(L->diag, &L->reported, "bgp", &loc, KS_EFORMAT, "%s", what);
}

static int add_entry(struct loader *L, uint32_t line, const uint8_t *pfx, size_t pn,
                     uint32_t origin, unsigned maxlen, enum ks_bgp_expect_kind kind)
{
    struct ks_prefix p;
    trim(&pfx, &pn);
    if (ks_prefix_parse((const char *)pfx, pn, &p, NULL) != KS_OK) {
        bad_line(L, line, "not a prefix");
        return KS_OK;
    }
    int rc = ks_bgp_expect_add(L->e, &p, origin, maxlen, kind);
    if (rc == KS_EINVAL) {
        bad_line(L, line, "bad prefix or length");
        return KS_OK;
    }
    return rc;
}

/* Splits a line into fields at spaces, tabs (and commas when csv). */
static size_t fields(const uint8_t *s, size_t n, bool csv, const uint8_t **f, size_t *fl,
                     size_t max)
{
    size_t k = 0, i = 0;
    while (i < n && k < max) {
        if (csv) {
            size_t j = i;
            while (j < n && s[j] != ',')
                j++;
            f[k] = s + i;
            fl[k] = j - i;
            k++;
            i = j + 1;
            continue;
        }
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i >= n)
            break;
        size_t j = i;
        while (j < n && s[j] != ' ' && s[j] != '\t')
            j++;
        f[k] = s + i;
        fl[k] = j - i;
        k++;
        i = j;
    }
    return k;
}

static int load_simple(struct loader *L, struct ks_cur *c, bool csv)
{
    const uint8_t *line;
    size_t n;
    uint32_t no = 0;
    while (ks_cur_line(c, 4096, &line, &n)) {
        no++;
        const uint8_t *hash = memchr(line, '#', n);
        if (hash)
            n = (size_t)(hash - line);
        trim(&line, &n);
        if (!n)
            continue;
        const uint8_t *f[4];
        size_t fl[4];
        size_t k = fields(line, n, csv, f, fl, 4);
        int rc = KS_OK;
        uint32_t as = 0, maxlen = 0;
        if (csv) {
            /* ASN,IP Prefix,Max Length[,Trust Anchor...]; a header line is skipped */
            if (k < 2 || !bgp_parse_asn(f[0], fl[0], &as)) {
                if (no > 1)
                    bad_line(L, no, "not ASN,prefix,maxlength");
                continue;
            }
            const uint8_t *ml = k >= 3 ? f[2] : NULL;
            size_t mln = k >= 3 ? fl[2] : 0;
            if (ml)
                trim(&ml, &mln);
            if (ml && mln && !parse_u32(ml, mln, &maxlen)) {
                bad_line(L, no, "bad max length");
                continue;
            }
            rc = add_entry(L, no, f[1], fl[1], as, maxlen,
                           L->kind == KS_BGP_EXPECT_ALLOW ? L->kind : KS_BGP_EXPECT_ROA);
        } else {
            if (k < 2) {
                bad_line(L, no, "expected \"prefix origin\"");
                continue;
            }
            if (fl[1] == 1 && f[1][0] == '*')
                as = 0;
            else if (!bgp_parse_asn(f[1], fl[1], &as)) {
                bad_line(L, no, "bad origin AS");
                continue;
            }
            if (k >= 3 && !parse_u32(f[2], fl[2], &maxlen)) {
                bad_line(L, no, "bad max length");
                continue;
            }
            rc = add_entry(L, no, f[0], fl[0], as, maxlen, L->kind);
        }
        if (rc != KS_OK)
            return rc;
    }
    return KS_OK;
}

/* RPSL (RFC 2622 4.1 / RFC 4012 3): objects separated by blank lines; route: or route6: and
 * origin:. Continuation lines (space, tab, '+') are ignored. */
static int load_rpsl(struct loader *L, struct ks_cur *c)
{
    const uint8_t *line;
    size_t n;
    uint32_t no = 0, obj_line = 0;
    const uint8_t *route = NULL;
    size_t route_n = 0;
    uint32_t origin = 0;
    bool have_origin = false, bad_origin = false;
    for (;;) {
        unsigned r = ks_cur_line(c, 4096, &line, &n);
        bool end = r == 0;
        if (!end)
            no++;
        const uint8_t *t = line;
        size_t tn = n;
        if (!end)
            trim(&t, &tn);
        if (end || tn == 0) {
            if (route && have_origin) {
                int rc = add_entry(L, obj_line, route, route_n, origin, 0, L->kind);
                if (rc != KS_OK)
                    return rc;
            } else if (route) {
                bad_line(L, obj_line, bad_origin ? "bad origin:" : "route object without origin:");
            }
            route = NULL;
            have_origin = bad_origin = false;
            if (end)
                break;
            continue;
        }
        if (line[0] == ' ' || line[0] == '\t' || line[0] == '+' || line[0] == '#' || line[0] == '%')
            continue;
        const uint8_t *colon = memchr(line, ':', n);
        if (!colon)
            continue;
        size_t an = (size_t)(colon - line);
        const uint8_t *v = colon + 1;
        size_t vn = n - an - 1;
        const uint8_t *hash = memchr(v, '#', vn);
        if (hash)
            vn = (size_t)(hash - v);
        trim(&v, &vn);
        if (ieq(line, an, "route") || ieq(line, an, "route6")) {
            route = v;
            route_n = vn;
            obj_line = no;
        } else if (ieq(line, an, "origin")) {
            have_origin = bgp_parse_asn(v, vn, &origin);
            bad_origin = !have_origin;
        }
    }
    return KS_OK;
}

int ks_bgp_expect_load(struct ks_bgp_expect *e, const char *text, size_t len,
                       enum ks_bgp_expect_format fmt, enum ks_bgp_expect_kind kind,
                       const char *source, const struct ks_diag *diag, uint64_t *bad)
{
    struct loader L = {e, kind, source, diag, 0, 0};
    struct ks_cur c = ks_cur_make(text, len);
    if (fmt == KS_BGP_FMT_AUTO) {
        struct ks_cur p = c;
        const uint8_t *line;
        size_t n;
        int seen = 0;
        fmt = KS_BGP_FMT_SIMPLE;
        bool first = true;
        while (seen < 200 && ks_cur_line(&p, 4096, &line, &n)) {
            trim(&line, &n);
            if (!n || line[0] == '#' || line[0] == '%')
                continue;
            seen++;
            const uint8_t *colon = memchr(line, ':', n);
            if (colon && (ieq(line, (size_t)(colon - line), "route") ||
                          ieq(line, (size_t)(colon - line), "route6"))) {
                fmt = KS_BGP_FMT_RPSL;
                break;
            }
            if (first && memchr(line, ',', n))
                fmt = KS_BGP_FMT_ROA_CSV;
            first = false;
        }
    }
    int rc =
        fmt == KS_BGP_FMT_RPSL ? load_rpsl(&L, &c) : load_simple(&L, &c, fmt == KS_BGP_FMT_ROA_CSV);
    if (bad)
        *bad = L.bad;
    return rc;
}
