#include "report/rbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rb_init(struct rbuf *b)
{
    memset(b, 0, sizeof *b);
}

void rb_free(struct rbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void rb_reset(struct rbuf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

static bool grow(struct rbuf *b, size_t more)
{
    if (b->oom)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void rb_put(struct rbuf *b, const char *s, size_t n)
{
    if (!grow(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void rb_puts(struct rbuf *b, const char *s)
{
    rb_put(b, s, strlen(s));
}

void rb_printf(struct rbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        rb_put(b, small, (size_t)n);
        return;
    }
    if (!grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid (RFC 3629). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t k;
    unsigned cp, min;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0)
        k = 1, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        k = 2, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        k = 3, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n <= k)
        return 0;
    for (size_t j = 1; j <= k; j++) {
        if ((s[j] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[j] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
        return 0;
    return k + 1;
}

void rb_xml(struct rbuf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i];
        switch (c) {
        case '&':
            rb_puts(b, "&amp;");
            i++;
            continue;
        case '<':
            rb_puts(b, "&lt;");
            i++;
            continue;
        case '>':
            rb_puts(b, "&gt;");
            i++;
            continue;
        case '"':
            rb_puts(b, "&quot;");
            i++;
            continue;
        case '\'':
            rb_puts(b, "&#39;");
            i++;
            continue;
        default:
            break;
        }
        size_t k = utf8_len(u + i, n - i);
        if (k == 0 || (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
            rb_puts(b, "\xef\xbf\xbd");
            i++;
            continue;
        }
        rb_put(b, s + i, k);
        i += k;
    }
}

void rb_xmls(struct rbuf *b, const char *s)
{
    rb_xml(b, s, strlen(s));
}

void rb_json(struct rbuf *b, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    rb_put(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        if (c == '"' || c == '\\') {
            rb_put(b, "\\", 1);
            rb_put(b, s + i, 1);
            i++;
        } else if (c < 0x20) {
            rb_printf(b, "\\u%04x", c);
            i++;
        } else {
            size_t k = utf8_len(u + i, n - i);
            if (k == 0) {
                rb_puts(b, "\\ufffd");
                i++;
            } else {
                rb_put(b, s + i, k);
                i += k;
            }
        }
    }
    rb_put(b, "\"", 1);
}

void rb_coord(struct rbuf *b, double v)
{
    char t[48];
    if (!isfinite(v))
        v = 0;
    long long q = llround(v * 100.0);
    if (q == 0) {
        rb_put(b, "0", 1);
        return;
    }
    const char *sign = q < 0 ? "-" : "";
    unsigned long long a = (unsigned long long)(q < 0 ? -q : q);
    unsigned long long ip = a / 100, fp = a % 100;
    if (fp == 0)
        snprintf(t, sizeof t, "%s%llu", sign, ip);
    else if (fp % 10 == 0)
        snprintf(t, sizeof t, "%s%llu.%llu", sign, ip, fp / 10);
    else
        snprintf(t, sizeof t, "%s%llu.%02llu", sign, ip, fp);
    rb_puts(b, t);
}

char *fmt_num(char *buf, size_t size, double v, int decimals)
{
    char raw[64], out[96];
    if (!isfinite(v)) {
        snprintf(buf, size, "—");
        return buf;
    }
    if (decimals < 0)
        decimals = 0;
    if (decimals > 6)
        decimals = 6;
    snprintf(raw, sizeof raw, "%.*f", decimals, v);
    if (strcmp(raw, "-0") == 0 || (raw[0] == '-' && strspn(raw + 1, "0.") == strlen(raw + 1)))
        memmove(raw, raw + 1, strlen(raw));
    const char *p = raw;
    size_t o = 0;
    if (*p == '-')
        out[o++] = *p++;
    size_t intlen = strcspn(p, ".");
    for (size_t i = 0; i < intlen; i++) {
        out[o++] = p[i];
        size_t left = intlen - i - 1;
        if (left > 0 && left % 3 == 0)
            out[o++] = ',';
    }
    snprintf(out + o, sizeof out - o, "%s", p + intlen);
    snprintf(buf, size, "%s", out);
    return buf;
}

void rb_num(struct rbuf *b, double v, int decimals)
{
    char t[96];
    rb_puts(b, fmt_num(t, sizeof t, v, decimals));
}

const char *rb_str(const struct rbuf *b)
{
    return b->p ? b->p : "";
}
