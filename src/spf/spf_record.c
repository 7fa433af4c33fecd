/* SPF record syntax (RFC 7208 sections 4.5, 4.6, 5, 6 and 12) and the byte buffer. */
#include "spf_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void spf_buf_init(struct spf_buf *b, size_t max)
{
    b->p = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void spf_buf_fini(struct spf_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int spf_buf_add(struct spf_buf *b, const char *s, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return KS_ELIMIT;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return KS_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return KS_OK;
}

int spf_buf_addc(struct spf_buf *b, char c)
{
    if (b->len + 2 <= b->cap && b->len < b->max) {
        b->p[b->len++] = c;
        b->p[b->len] = '\0';
        return KS_OK;
    }
    return spf_buf_add(b, &c, 1);
}

const char *spf_buf_str(const struct spf_buf *b)
{
    return b->p ? b->p : "";
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}
static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}
static bool is_alnum(int c)
{
    return is_alpha(c) || is_digit(c);
}

static bool eq_nocase(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != b[i])
            return false;
    return true;
}

bool spf_is_v1(const char *txt, size_t len)
{
    if (len < 6 || !eq_nocase(txt, 6, "v=spf1"))
        return false;
    return len == 6 || txt[6] == ' ';
}

/* ---- macro syntax ------------------------------------------------------------------------ */

static bool is_delim(int c)
{
    return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

static bool macro_letter_ok(int c, bool exp)
{
    switch (lower(c)) {
    case 's':
    case 'l':
    case 'o':
    case 'd':
    case 'i':
    case 'p':
    case 'h':
    case 'v':
        return true;
    case 'c':
    case 'r':
    case 't':
        return exp;
    default:
        return false;
    }
}

/* Parses one "%{...}" starting at s[i] == '%', s[i+1] == '{'. Returns the index after '}' or 0
 * on a syntax error. */
static size_t macro_braces(const char *s, size_t len, size_t i, bool exp, int *letter,
                           uint32_t *digits, bool *rev, const char **delims, size_t *ndelims)
{
    size_t j = i + 2;
    if (j >= len || !macro_letter_ok((unsigned char)s[j], exp))
        return 0;
    *letter = (unsigned char)s[j++];
    uint32_t n = 0;
    size_t nd = 0;
    while (j < len && is_digit((unsigned char)s[j])) {
        if (n < 100000)
            n = n * 10 + (uint32_t)(s[j] - '0');
        j++;
        nd++;
    }
    /* RFC 7208 7.1: a DIGIT transformer, when given, must be nonzero. */
    if (nd && n == 0)
        return 0;
    *digits = nd ? n : 0;
    *rev = false;
    if (j < len && lower((unsigned char)s[j]) == 'r') {
        *rev = true;
        j++;
    }
    size_t d0 = j;
    while (j < len && is_delim((unsigned char)s[j]))
        j++;
    *delims = s + d0;
    *ndelims = j - d0;
    if (j >= len || s[j] != '}')
        return 0;
    return j + 1;
}

/* Walks a macro-string; *ends_in_macro tells whether it ended with a macro-expand. */
static int macro_walk(const char *s, size_t len, bool exp, bool *has_p, bool *ends_in_macro)
{
    bool endm = false;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 1 >= len)
                return KS_EFORMAT;
            char n = s[i + 1];
            if (n == '%' || n == '_' || n == '-') {
                i += 2;
                endm = true;
                continue;
            }
            if (n != '{')
                return KS_EFORMAT;
            int letter;
            uint32_t digits;
            bool rev;
            const char *d;
            size_t nd;
            size_t j = macro_braces(s, len, i, exp, &letter, &digits, &rev, &d, &nd);
            if (!j)
                return KS_EFORMAT;
            if (has_p && lower(letter) == 'p')
                *has_p = true;
            i = j;
            endm = true;
            continue;
        }
        /* macro-literal = %x21-24 / %x26-7E; explain-string adds SP. */
        if (!((c >= 0x21 && c <= 0x7e) || (exp && c == ' ')))
            return KS_EFORMAT;
        endm = false;
        i++;
    }
    if (ends_in_macro)
        *ends_in_macro = endm;
    return KS_OK;
}

int spf_macro_check(const char *s, size_t len, bool exp, bool *has_p)
{
    return macro_walk(s, len, exp, has_p, NULL);
}

/* toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool toplabel_ok(const char *s, size_t len)
{
    if (len == 0)
        return false;
    bool alpha = false, dash = false;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (is_alpha(c))
            alpha = true;
        else if (c == '-')
            dash = true;
        else if (!is_digit(c))
            return false;
    }
    if (s[0] == '-' || s[len - 1] == '-')
        return false;
    return alpha || dash;
}

int spf_domain_spec_check(const char *s, size_t len, bool *has_p)
{
    if (len == 0)
        return KS_EFORMAT;
    bool endm = false;
    int rc = macro_walk(s, len, false, has_p, &endm);
    if (rc != KS_OK)
        return rc;
    if (endm)
        return KS_OK;
    /* domain-end = "." toplabel [ "." ] */
    size_t n = len;
    if (s[n - 1] == '.')
        n--;
    size_t dot = n;
    while (dot > 0 && s[dot - 1] != '.')
        dot--;
    if (dot == 0)
        return KS_EFORMAT;
    return toplabel_ok(s + dot, n - dot) ? KS_OK : KS_EFORMAT;
}

bool spf_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > 253)
        return false;
    size_t lab = 0;
    for (size_t i = 0; i < len; i++) {
        if (name[i] == '.') {
            if (lab == 0)
                return false;
            lab = 0;
        } else if (++lab > 63) {
            return false;
        }
    }
    return lab > 0;
}

bool spf_domain_ok(const char *name, size_t len)
{
    if (len && name[len - 1] == '.')
        len--;
    if (!spf_name_ok(name, len))
        return false;
    size_t dot = len;
    while (dot > 0 && name[dot - 1] != '.')
        dot--;
    if (dot == 0)
        return false; /* not fully qualified */
    return toplabel_ok(name + dot, len - dot);
}

size_t spf_domain_truncate(char *name, size_t *len)
{
    size_t n = *len, start = 0;
    if (n && name[n - 1] == '.')
        n--;
    while (n - start > 253) {
        const char *dot = memchr(name + start, '.', n - start);
        if (!dot) {
            start = n; /* one label longer than 253: nothing usable remains */
            break;
        }
        start = (size_t)(dot - name) + 1;
    }
    *len = n - start;
    return start;
}

/* ---- record parsing ---------------------------------------------------------------------- */

static int add_term(struct spf_record *r, const struct spf_term *t)
{
    if (r->nterms == r->cap) {
        uint32_t cap = r->cap ? r->cap * 2 : 16;
        struct spf_term *p = realloc(r->terms, cap * sizeof *p);
        if (!p)
            return KS_ENOMEM;
        r->terms = p;
        r->cap = cap;
    }
    r->terms[r->nterms++] = *t;
    return KS_OK;
}

void spf_record_fini(struct spf_record *r)
{
    free(r->text);
    free(r->terms);
    memset(r, 0, sizeof *r);
    r->redirect = r->exp = -1;
}

/* A CIDR length: "0" or 1-3 digits without a leading zero, at most max. */
static bool cidr_num(const char *s, size_t len, unsigned max, uint8_t *out)
{
    if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit((unsigned char)s[i]))
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max)
        return false;
    *out = (uint8_t)v;
    return true;
}

/* Splits a trailing dual-cidr-length off s[0..*len): shortens *len. false on a bad length. */
static bool dual_cidr(const char *s, size_t *len, struct spf_term *t)
{
    size_t n = *len, j = n;
    while (j > 0 && is_digit((unsigned char)s[j - 1]))
        j--;
    if (j < n && j >= 2 && s[j - 1] == '/' && s[j - 2] == '/') {
        if (!cidr_num(s + j, n - j, 128, &t->cidr6))
            return false;
        n = j - 2;
        j = n;
        while (j > 0 && is_digit((unsigned char)s[j - 1]))
            j--;
    }
    if (j < n && j >= 1 && s[j - 1] == '/') {
        if (!cidr_num(s + j, n - j, 32, &t->cidr4))
            return false;
        n = j - 1;
    }
    *len = n;
    return true;
}

#define ERR(...)                                                                                   \
    do {                                                                                           \
        if (errsize)                                                                               \
            snprintf(err, errsize, __VA_ARGS__);                                                   \
        goto fail;                                                                                 \
    } while (0)

static int parse_mech(struct spf_record *r, struct spf_term *t, const char *tok, size_t len,
                      char *err, size_t errsize)
{
    size_t i = 0;
    t->qual = '+';
    if (len && (tok[0] == '+' || tok[0] == '-' || tok[0] == '~' || tok[0] == '?'))
        t->qual = tok[i++];
    size_t n0 = i;
    while (i < len && tok[i] != ':' && tok[i] != '/')
        i++;
    const char *name = tok + n0;
    size_t nlen = i - n0;
    const char *rest = tok + i;
    size_t rlen = len - i;
    uint32_t base = (uint32_t)(tok - r->text);
    t->cidr4 = 32;
    t->cidr6 = 128;

    if (eq_nocase(name, nlen, "all")) {
        t->mech = SPF_ALL;
        if (rlen)
            ERR("'all' takes no argument: '%.*s'", (int)len, tok);
    } else if (eq_nocase(name, nlen, "include") || eq_nocase(name, nlen, "exists")) {
        t->mech = eq_nocase(name, nlen, "include") ? SPF_INCLUDE : SPF_EXISTS;
        if (rlen < 1 || rest[0] != ':')
            ERR("'%.*s' needs ':domain'", (int)nlen, name);
        if (spf_domain_spec_check(rest + 1, rlen - 1, &t->spec_has_p) != KS_OK)
            ERR("bad domain-spec in '%.*s'", (int)len, tok);
        t->spec_off = base + (uint32_t)i + 1;
        t->spec_len = (uint32_t)rlen - 1;
    } else if (eq_nocase(name, nlen, "a") || eq_nocase(name, nlen, "mx")) {
        t->mech = eq_nocase(name, nlen, "a") ? SPF_A : SPF_MX;
        if (rlen && rest[0] == ':') {
            size_t dlen = rlen - 1;
            if (!dual_cidr(rest + 1, &dlen, t))
                ERR("bad CIDR length in '%.*s'", (int)len, tok);
            if (spf_domain_spec_check(rest + 1, dlen, &t->spec_has_p) != KS_OK)
                ERR("bad domain-spec in '%.*s'", (int)len, tok);
            t->spec_off = base + (uint32_t)i + 1;
            t->spec_len = (uint32_t)dlen;
        } else {
            size_t dlen = rlen;
            if (!dual_cidr(rest, &dlen, t) || dlen != 0)
                ERR("bad CIDR length in '%.*s'", (int)len, tok);
        }
    } else if (eq_nocase(name, nlen, "ptr")) {
        t->mech = SPF_PTR;
        if (rlen) {
            if (rest[0] != ':')
                ERR("'ptr' takes no CIDR length: '%.*s'", (int)len, tok);
            if (spf_domain_spec_check(rest + 1, rlen - 1, &t->spec_has_p) != KS_OK)
                ERR("bad domain-spec in '%.*s'", (int)len, tok);
            t->spec_off = base + (uint32_t)i + 1;
            t->spec_len = (uint32_t)rlen - 1;
        }
    } else if (eq_nocase(name, nlen, "ip4") || eq_nocase(name, nlen, "ip6")) {
        bool v6 = eq_nocase(name, nlen, "ip6");
        t->mech = v6 ? SPF_IP6 : SPF_IP4;
        if (rlen < 2 || rest[0] != ':')
            ERR("'%.*s' needs ':address'", (int)nlen, name);
        const char *a = rest + 1;
        size_t alen = rlen - 1;
        const char *slash = memchr(a, '/', alen);
        uint8_t plen = v6 ? 128 : 32;
        if (slash) {
            size_t cl = alen - (size_t)(slash - a) - 1;
            if (!cidr_num(slash + 1, cl, v6 ? 128 : 32, &plen))
                ERR("bad CIDR length in '%.*s'", (int)len, tok);
            alen = (size_t)(slash - a);
        }
        char buf[64];
        if (alen == 0 || alen >= sizeof buf)
            ERR("bad address in '%.*s'", (int)len, tok);
        memcpy(buf, a, alen);
        buf[alen] = '\0';
        if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, t->ip) != 1)
            ERR("bad address in '%.*s'", (int)len, tok);
        if (v6)
            t->cidr6 = plen;
        else
            t->cidr4 = plen;
    } else {
        ERR("unknown mechanism '%.*s'", (int)len, tok);
    }
    return KS_OK;
fail:
    return KS_EFORMAT;
}

int spf_record_parse(const char *txt, size_t len, struct spf_record *r, char *err, size_t errsize)
{
    memset(r, 0, sizeof *r);
    r->redirect = r->exp = -1;
    if (errsize)
        err[0] = '\0';
    if (!spf_is_v1(txt, len)) {
        if (errsize)
            snprintf(err, errsize, "not an SPF version 1 record");
        return KS_EFORMAT;
    }
    /* RFC 7208 3.1/4.6.1: records are 7-bit ASCII and terms are separated by spaces only. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)txt[i];
        if (c < 0x20 || c > 0x7e) {
            if (errsize)
                snprintf(err, errsize, "%s byte 0x%02x at offset %zu",
                         c > 0x7e ? "non-ASCII" : "control", c, i);
            return KS_EFORMAT;
        }
    }
    r->text = malloc(len + 1);
    if (!r->text)
        return KS_ENOMEM;
    memcpy(r->text, txt, len);
    r->text[len] = '\0';
    r->len = len;
    const char *s = r->text;
    size_t i = 6;
    while (i < len) {
        while (i < len && s[i] == ' ')
            i++;
        if (i >= len)
            break;
        size_t t0 = i;
        while (i < len && s[i] != ' ')
            i++;
        const char *tok = s + t0;
        size_t tlen = i - t0;
        struct spf_term t;
        memset(&t, 0, sizeof t);
        t.text_off = (uint32_t)t0;
        t.text_len = (uint32_t)tlen;

        /* modifier = name "=" macro-string; name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
        size_t k = 0;
        if (is_alpha((unsigned char)tok[0])) {
            k = 1;
            while (k < tlen && (is_alnum((unsigned char)tok[k]) || tok[k] == '-' || tok[k] == '_' ||
                                tok[k] == '.'))
                k++;
        }
        if (k > 0 && k < tlen && tok[k] == '=') {
            t.mech = SPF_MODIFIER;
            t.qual = '+';
            t.name_len = (uint32_t)k;
            t.spec_off = (uint32_t)(t0 + k + 1);
            t.spec_len = (uint32_t)(tlen - k - 1);
            const char *v = tok + k + 1;
            bool redirect = eq_nocase(tok, k, "redirect"), exp = eq_nocase(tok, k, "exp");
            if (redirect || exp) {
                if ((redirect && r->redirect >= 0) || (exp && r->exp >= 0))
                    ERR("'%.*s' appears twice", (int)k, tok);
                if (spf_domain_spec_check(v, t.spec_len, &t.spec_has_p) != KS_OK)
                    ERR("bad domain-spec in '%.*s'", (int)tlen, tok);
                if (redirect)
                    r->redirect = (int32_t)r->nterms;
                else
                    r->exp = (int32_t)r->nterms;
            } else if (spf_macro_check(v, t.spec_len, false, NULL) != KS_OK) {
                ERR("bad macro-string in modifier '%.*s'", (int)tlen, tok);
            }
        } else if (parse_mech(r, &t, tok, tlen, err, errsize) != KS_OK) {
            goto fail;
        }
        if (add_term(r, &t) != KS_OK) {
            spf_record_fini(r);
            return KS_ENOMEM;
        }
    }
    return KS_OK;
fail:
    spf_record_fini(r);
    return KS_EFORMAT;
}

int ks_spf_record_check(const char *txt, size_t len, char *err, size_t errsize)
{
    struct spf_record r;
    int rc = spf_record_parse(txt, len, &r, err, errsize);
    spf_record_fini(&r);
    return rc;
}

enum ks_spf_policy_class ks_spf_policy_class(const char *rec)
{
    if (!rec || !rec[0])
        return KS_SPF_POLICY_NONE;
    enum ks_spf_policy_class pol = KS_SPF_POLICY_NO_ALL;
    bool redirect = false;
    const char *p = rec;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *t = p;
        while (*p && *p != ' ')
            p++;
        size_t n = (size_t)(p - t);
        if ((n == 3 || n == 4) && strncasecmp(t + n - 3, "all", 3) == 0 &&
            (n == 3 || strchr("+-~?", t[0]))) {
            char q = n == 4 ? t[0] : '+';
            pol = q == '-'   ? KS_SPF_POLICY_FAIL
                  : q == '~' ? KS_SPF_POLICY_SOFTFAIL
                  : q == '?' ? KS_SPF_POLICY_NEUTRAL
                             : KS_SPF_POLICY_PASS;
        } else if (n > 9 && strncasecmp(t, "redirect=", 9) == 0) {
            redirect = true;
        }
    }
    return pol == KS_SPF_POLICY_NO_ALL && redirect ? KS_SPF_POLICY_REDIRECT : pol;
}

const char *ks_spf_policy_class_name(enum ks_spf_policy_class c)
{
    static const char *const names[KS_SPF_NPOLICIES] = {"none", "-all",     "~all",  "?all",
                                                        "+all", "redirect", "no-all"};
    return (unsigned)c < KS_SPF_NPOLICIES ? names[c] : "none";
}
