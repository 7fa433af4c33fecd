/* Decoding of parameter values the way web servers and their application stacks do it, so
 * that the detector sees what the database will see: %XX in either case, IIS's %uXXXX,
 * '+' for space in query strings and form bodies, repeated decoding for doubly encoded
 * values, overlong UTF-8 (the IIS/Tomcat directory-traversal trick) and full-width ASCII
 * (IIS best-fit mapping) folded to ASCII, NUL bytes dropped. */
#include <string.h>

#include "kansoku/ks_sqli.h"

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static size_t put_utf8(uint8_t *o, uint32_t cp)
{
    if (cp >= 0xFF01 && cp <= 0xFF5E) /* full-width ASCII -> ASCII */
        cp -= 0xFEE0;
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    o[0] = (uint8_t)(0xE0 | (cp >> 12));
    o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
}

/* One pass of percent decoding; out may equal in (the output never runs ahead). Returns the
 * output length; *more is set when the output still holds a %XX or %uXXXX. */
static size_t pct_pass(const uint8_t *in, size_t len, uint8_t *out, size_t cap, unsigned flags,
                       struct ks_sqli_decode_stats *st, bool *more)
{
    size_t o = 0;
    *more = false;
    for (size_t i = 0; i < len && o < cap;) {
        uint8_t c = in[i];
        if (c == '%') {
            int h, l;
            if (i + 6 <= len && (in[i + 1] | 0x20) == 'u' && hexval(in[i + 2]) >= 0 &&
                hexval(in[i + 3]) >= 0 && hexval(in[i + 4]) >= 0 && hexval(in[i + 5]) >= 0) {
                uint32_t cp = (uint32_t)(hexval(in[i + 2]) << 12 | hexval(in[i + 3]) << 8 |
                                         hexval(in[i + 4]) << 4 | hexval(in[i + 5]));
                uint8_t tmp[3];
                size_t n = put_utf8(tmp, cp);
                if (o + n > cap)
                    break;
                memcpy(out + o, tmp, n);
                o += n;
                i += 6;
                continue;
            }
            if (i + 3 <= len && (h = hexval(in[i + 1])) >= 0 && (l = hexval(in[i + 2])) >= 0) {
                out[o++] = (uint8_t)(h << 4 | l);
                i += 3;
                continue;
            }
            if (st)
                st->invalid_pct++;
        } else if (c == '+' && (flags & KS_SQLI_DEC_PLUS)) {
            out[o++] = ' ';
            i++;
            continue;
        }
        out[o++] = c;
        i++;
    }
    for (size_t i = 0; i + 2 < o; i++)
        if (out[i] == '%' && ((hexval(out[i + 1]) >= 0 && hexval(out[i + 2]) >= 0) ||
                              ((out[i + 1] | 0x20) == 'u' && i + 5 < o && hexval(out[i + 2]) >= 0 &&
                               hexval(out[i + 5]) >= 0))) {
            *more = true;
            break;
        }
    return o;
}

static bool cont(uint8_t c)
{
    return (c & 0xC0) == 0x80;
}

/* Folds overlong UTF-8 to the shortest form and drops NULs, in place. */
static size_t fold(uint8_t *b, size_t len, struct ks_sqli_decode_stats *st)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint8_t c = b[i];
        uint32_t cp;
        size_t n = 0;
        if ((c == 0xC0 || c == 0xC1) && i + 1 < len && cont(b[i + 1])) {
            cp = (uint32_t)(c & 0x1F) << 6 | (b[i + 1] & 0x3F);
            n = 2;
        } else if (c == 0xE0 && i + 2 < len && b[i + 1] >= 0x80 && b[i + 1] < 0xA0 &&
                   cont(b[i + 2])) {
            cp = (uint32_t)(b[i + 1] & 0x3F) << 6 | (b[i + 2] & 0x3F);
            n = 3;
        } else if (c == 0xF0 && i + 3 < len && b[i + 1] >= 0x80 && b[i + 1] < 0x90 &&
                   cont(b[i + 2]) && cont(b[i + 3])) {
            cp = (uint32_t)(b[i + 1] & 0x3F) << 12 | (uint32_t)(b[i + 2] & 0x3F) << 6 |
                 (b[i + 3] & 0x3F);
            n = 4;
        } else if (c == 0xEF && i + 2 < len && (b[i + 1] == 0xBC || b[i + 1] == 0xBD) &&
                   cont(b[i + 2])) {
            /* U+FF01..U+FF5E full-width ASCII, IIS best fit */
            cp = 0xF000 | (uint32_t)(b[i + 1] & 0x3F) << 6 | (b[i + 2] & 0x3F);
            if (cp >= 0xFF01 && cp <= 0xFF5E) {
                b[o++] = (uint8_t)(cp - 0xFEE0);
                i += 3;
                continue;
            }
            b[o++] = b[i++];
            continue;
        }
        if (n) {
            if (st)
                st->overlong++;
            i += n;
            if (cp == 0) {
                if (st)
                    st->nul++;
                continue;
            }
            o += put_utf8(b + o, cp); /* shorter than n: stays behind i */
            continue;
        }
        if (c == 0) {
            if (st)
                st->nul++;
            i++;
            continue;
        }
        b[o++] = b[i++];
    }
    return o;
}

size_t ks_sqli_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, unsigned flags,
                      struct ks_sqli_decode_stats *st)
{
    if (st)
        memset(st, 0, sizeof *st);
    if (!out || !cap)
        return 0;
    bool more;
    size_t n = pct_pass(in, len, out, cap, flags, st, &more);
    unsigned passes = 1;
    while (more && (flags & KS_SQLI_DEC_MULTI) && passes < 3) {
        n = pct_pass(out, n, out, cap, flags & ~KS_SQLI_DEC_PLUS, st, &more);
        passes++;
    }
    if (st)
        st->passes = passes;
    return fold(out, n, st);
}
