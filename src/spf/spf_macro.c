/* SPF macro expansion (RFC 7208 section 7). Output goes to a growable buffer with a hard
 * maximum, so a record cannot make the checker build an unbounded string. */
#include "spf_int.h"

#include <string.h>

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static const char *letter_value(const struct spf_macro_ctx *m, int letter)
{
    const char *v = NULL;
    switch (lower(letter)) {
    case 's':
        v = m->s;
        break;
    case 'l':
        v = m->l;
        break;
    case 'o':
        v = m->o;
        break;
    case 'd':
        v = m->d;
        break;
    case 'i':
        v = m->i;
        break;
    case 'p':
        v = m->p;
        break;
    case 'v':
        v = m->v;
        break;
    case 'h':
        v = m->h;
        break;
    case 'c':
        v = m->c;
        break;
    case 'r':
        v = m->r;
        break;
    case 't':
        v = m->t;
        break;
    }
    return v ? v : "";
}

static bool in_set(int c, const char *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == c)
            return true;
    return false;
}

/* RFC 7208 7.3: upper-case macro letters URL-escape every character outside the RFC 3986
 * unreserved set. */
static int emit(struct spf_buf *out, const char *s, size_t n, bool escape)
{
    if (!escape)
        return spf_buf_add(out, s, n);
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int rc;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            rc = spf_buf_addc(out, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = spf_buf_add(out, e, 3);
        }
        if (rc != KS_OK)
            return rc;
    }
    return KS_OK;
}

/* Splits value on the delimiters, optionally reverses, keeps the rightmost `keep` parts (0 =
 * all) and joins them with '.', in linear time and without a parts array. */
static int transform(struct spf_buf *out, const char *v, size_t vlen, uint32_t keep, bool rev,
                     const char *delims, size_t nd, bool escape)
{
    static const char dot = '.';
    if (nd == 0) {
        delims = &dot;
        nd = 1;
    }
    size_t nparts = 1;
    for (size_t i = 0; i < vlen; i++)
        if (in_set(v[i], delims, nd))
            nparts++;
    size_t take = keep && keep < nparts ? keep : nparts;
    int rc = KS_OK;
    if (!rev) {
        /* The last `take` parts, in order: skip the first nparts - take. */
        size_t skip = nparts - take, i = 0;
        while (skip && i < vlen) {
            if (in_set(v[i], delims, nd))
                skip--;
            i++;
        }
        size_t start = i;
        for (; i <= vlen && rc == KS_OK; i++) {
            if (i == vlen || in_set(v[i], delims, nd)) {
                rc = emit(out, v + start, i - start, escape);
                if (rc == KS_OK && i < vlen)
                    rc = spf_buf_addc(out, '.');
                start = i + 1;
            }
        }
        return rc;
    }
    /* Reversed: the rightmost `take` of the reversed list are the first `take` parts of the
     * original, emitted last to first. Find where part take-1 ends. */
    size_t end = 0, seen = 0;
    while (end < vlen) {
        if (in_set(v[end], delims, nd) && ++seen == take)
            break;
        end++;
    }
    size_t stop = end; /* parts live in v[0..stop) */
    size_t i = stop;
    bool first = true;
    for (;;) {
        size_t j = i;
        while (j > 0 && !in_set(v[j - 1], delims, nd))
            j--;
        if (!first && (rc = spf_buf_addc(out, '.')) != KS_OK)
            return rc;
        first = false;
        if ((rc = emit(out, v + j, i - j, escape)) != KS_OK)
            return rc;
        if (j == 0)
            break;
        i = j - 1;
    }
    return KS_OK;
}

int spf_macro_expand(const struct spf_macro_ctx *m, const char *s, size_t len, bool exp,
                     struct spf_buf *out)
{
    int rc = KS_OK;
    if (out->len == 0 && (rc = spf_buf_add(out, "", 0)) != KS_OK)
        return rc;
    for (size_t i = 0; i < len && rc == KS_OK;) {
        unsigned char c = (unsigned char)s[i];
        if (c != '%') {
            size_t j = i;
            while (j < len && s[j] != '%') {
                unsigned char d = (unsigned char)s[j];
                if (!((d >= 0x21 && d <= 0x7e) || (exp && d == ' ')))
                    return KS_EFORMAT;
                j++;
            }
            rc = spf_buf_add(out, s + i, j - i);
            i = j;
            continue;
        }
        if (i + 1 >= len)
            return KS_EFORMAT;
        char n = s[i + 1];
        if (n == '%') {
            rc = spf_buf_addc(out, '%');
            i += 2;
            continue;
        }
        if (n == '_') {
            rc = spf_buf_addc(out, ' ');
            i += 2;
            continue;
        }
        if (n == '-') {
            rc = spf_buf_add(out, "%20", 3);
            i += 2;
            continue;
        }
        if (n != '{' || i + 2 >= len)
            return KS_EFORMAT;
        /* "%{" letter *DIGIT [ "r" ] *delimiter "}" */
        size_t j = i + 2;
        int letter = (unsigned char)s[j++];
        switch (lower(letter)) {
        case 's':
        case 'l':
        case 'o':
        case 'd':
        case 'i':
        case 'p':
        case 'v':
        case 'h':
            break;
        case 'c':
        case 'r':
        case 't':
            if (exp)
                break;
            return KS_EFORMAT;
        default:
            return KS_EFORMAT;
        }
        uint32_t keep = 0;
        size_t ndig = 0;
        while (j < len && s[j] >= '0' && s[j] <= '9') {
            if (keep < 100000)
                keep = keep * 10 + (uint32_t)(s[j] - '0');
            j++;
            ndig++;
        }
        if (ndig && keep == 0)
            return KS_EFORMAT;
        bool rev = false;
        if (j < len && lower((unsigned char)s[j]) == 'r') {
            rev = true;
            j++;
        }
        size_t d0 = j;
        while (j < len && (s[j] == '.' || s[j] == '-' || s[j] == '+' || s[j] == ',' ||
                           s[j] == '/' || s[j] == '_' || s[j] == '='))
            j++;
        if (j >= len || s[j] != '}')
            return KS_EFORMAT;
        const char *v = letter_value(m, letter);
        bool escape = letter >= 'A' && letter <= 'Z';
        rc = transform(out, v, strlen(v), keep, rev, s + d0, j - d0, escape);
        i = j + 1;
    }
    return rc;
}
