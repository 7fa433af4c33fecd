/* URLs in mail: deobfuscation, normalisation (RFC 3986 6.2.2, WHATWG host parsing for numeric
 * IPv4 hosts, IDNA 2008 + UTS #46 via libidn2), registered domains (Public Suffix List via
 * libpsl), redirector unwrapping and the plain-text scanner. */
#include "kansoku/ks_mail.h"
#include "core/cur.h"
#include "mail_int.h"

#include <idn2.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URL_MAX 4096
#define REDIRECT_DEPTH 3

/* --- deobfuscation ----------------------------------------------------------------------- */

struct obuf {
    char *p;
    size_t size, len;
};

static void ob_put(struct obuf *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && o->len + 1 < o->size; i++)
        o->p[o->len++] = s[i];
}

static bool is_tldish(const char *s, size_t n, size_t *wlen)
{
    static const char *const tlds[] = {
        "com", "net", "org", "info", "biz", "ru", "cn", "jp", "de",  "uk",  "us",     "co",   "io",
        "br",  "in",  "fr",  "it",   "nl",  "pl", "kr", "tk", "top", "xyz", "online", "site", NULL};
    size_t k = 0;
    while (k < n && mail_isalpha((unsigned char)s[k]))
        k++;
    if (k < 2 || (k < n && (mail_isalnum((unsigned char)s[k]) || s[k] == '-')))
        return false;
    for (const char *const *t = tlds; *t; t++)
        if (mail_ieq(s, k, *t)) {
            *wlen = k;
            return true;
        }
    return false;
}

/* Bracketed dots and colons: "[.]", "(.)", "{.}", "[dot]", "( dot )", "[:]", "[://]". */
static size_t bracket_obf(const char *s, size_t n, const char **rep)
{
    if (n < 3 || !strchr("[({", s[0]))
        return 0;
    char close = s[0] == '[' ? ']' : s[0] == '(' ? ')' : '}';
    size_t i = 1;
    while (i < n && s[i] == ' ')
        i++;
    size_t a = i;
    while (i < n && i < 8 && s[i] != close && s[i] != ' ')
        i++;
    size_t b = i;
    while (i < n && s[i] == ' ')
        i++;
    if (i >= n || s[i] != close)
        return 0;
    const char *w = s + a;
    size_t wl = b - a;
    if ((wl == 1 && w[0] == '.') || mail_ieq(w, wl, "dot"))
        *rep = ".";
    else if (wl == 1 && w[0] == ':')
        *rep = ":";
    else if (wl == 3 && memcmp(w, "://", 3) == 0)
        *rep = "://";
    else if (wl == 1 && w[0] == '/')
        *rep = "/";
    else
        return 0;
    return i + 1;
}

/* "h t t p s : / /" with spaces; returns bytes consumed, *https set. */
static size_t spaced_scheme(const char *s, size_t n, bool *https)
{
    const char *want = "http";
    size_t i = 0, spaces = 0;
    for (size_t k = 0; k < 4; k++) {
        if (i >= n || mail_lower((unsigned char)s[i]) != want[k])
            return 0;
        i++;
        while (i < n && s[i] == ' ' && spaces < 16) {
            i++;
            spaces++;
        }
    }
    *https = false;
    if (i < n && mail_lower((unsigned char)s[i]) == 's') {
        *https = true;
        i++;
        while (i < n && s[i] == ' ' && spaces < 16) {
            i++;
            spaces++;
        }
    }
    if (i >= n || s[i] != ':')
        return 0;
    i++;
    for (int k = 0; k < 2; k++) {
        while (i < n && s[i] == ' ' && spaces < 16) {
            i++;
            spaces++;
        }
        if (i >= n || s[i] != '/')
            return 0;
        i++;
    }
    return spaces ? i : 0;
}

/* The letters that stand for a 't' in a disguised scheme ("xX*_-tT"). */
static inline bool obf_letter(unsigned char a)
{
    return a == 'x' || a == 'X' || a == '*' || a == '_' || a == '-' || a == 't' || a == 'T';
}

/* The deobfuscation rule that applies at s[i], if any: returns the bytes it replaces (0: none)
 * and sets the replacement. Rules start only at 'h', 'H', '[', '(', '{' and ' '. */
static size_t obf_at(const char *s, size_t len, size_t i, const char **rep, size_t *rlen)
{
    unsigned char c = (unsigned char)s[i];
    bool at_word = i == 0 || !mail_isalnum((unsigned char)s[i - 1]);
    /* hxxp, hXXp, h**p, h__p, htxp: a scheme in disguise */
    if ((c == 'h' || c == 'H') && at_word && i + 4 < len) {
        unsigned char a = (unsigned char)s[i + 1], b = (unsigned char)s[i + 2];
        unsigned char p = (unsigned char)s[i + 3];
        bool oa = obf_letter(a), obb = obf_letter(b);
        bool plain = mail_lower(a) == 't' && mail_lower(b) == 't';
        if (oa && obb && !plain && (p == 'p' || p == 'P')) {
            size_t j = i + 4;
            if (j < len && (s[j] == 's' || s[j] == 'S'))
                j++;
            if (j < len && (s[j] == ':' || s[j] == '[' || s[j] == '(')) {
                *rep = "https";
                *rlen = j > i + 4 ? 5 : 4;
                return j - i;
            }
        }
        bool https;
        size_t k = spaced_scheme(s + i, len - i, &https);
        if (k) {
            *rep = https ? "https://" : "http://";
            *rlen = https ? 8 : 7;
            return k;
        }
    }
    if (c == '[' || c == '(' || c == '{') {
        size_t k = bracket_obf(s + i, len - i, rep);
        if (k && i > 0 && mail_isalnum((unsigned char)s[i - 1])) {
            *rlen = strlen(*rep);
            return k;
        }
    }
    /* "example dot com", "example . com" */
    if (c == ' ' && i > 1 && i + 1 < len && (s[i + 1] == '.' || mail_lower(s[i + 1]) == 'd') &&
        mail_isalnum((unsigned char)s[i - 1]) && mail_isalnum((unsigned char)s[i - 2])) {
        size_t j = i + 1, wl;
        *rep = ".";
        *rlen = 1;
        if (j + 4 < len && mail_iprefix(s + j, len - j, "dot ") &&
            is_tldish(s + j + 4, len - j - 4, &wl))
            return j + 4 - i;
        if (j + 2 < len && s[j] == '.' && s[j + 1] == ' ' && is_tldish(s + j + 2, len - j - 2, &wl))
            return j + 2 - i;
    }
    return 0;
}

static const bool obf_first[256] = {
    ['h'] = 1, ['H'] = 1, ['['] = 1, ['('] = 1, ['{'] = 1, [' '] = 1};

static inline bool obf_start(unsigned char d)
{
    return obf_first[d];
}

size_t ks_mail_deobfuscate(const char *s, size_t len, char *out, size_t size, bool *changed)
{
    struct obuf o = {out, size, 0};
    *changed = false;
    if (!out || size == 0)
        return 0;
    size_t i = 0;
    while (i < len && o.len + 1 < size) {
        const char *rep;
        size_t rlen, k = obf_at(s, len, i, &rep, &rlen);
        if (k) {
            ob_put(&o, rep, rlen);
            i += k;
            *changed = true;
            continue;
        }
        o.p[o.len++] = s[i];
        i++;
        /* bytes none of the rules above starts at are copied in one run (the rules read the
         * input, not the output, so this changes nothing) */
        size_t run = 0, room = size - 1 - o.len;
        while (i + run < len && run < room && !obf_start((unsigned char)s[i + run]))
            run++;
        memcpy(o.p + o.len, s + i, run);
        o.len += run;
        i += run;
    }
    out[o.len] = '\0';
    return o.len;
}

bool mail_obfuscated(const char *s, size_t len)
{
    /* ks_mail_deobfuscate visits every byte a rule may start at until the first rule applies,
     * and rules read only the input: it changes the text exactly when a rule applies at one
     * of them */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *rep;
        size_t rlen;
        /* a cheap look at the next byte first: what each rule needs right after its start */
        if (!obf_start(c) || i + 1 >= len)
            continue;
        unsigned char d = (unsigned char)s[i + 1];
        if (c == ' ' ? d != '.' && (d | 0x20) != 'd'
                     : (c == 'h' || c == 'H') && !obf_letter(d) && d != ' ' && d != 't' && d != 'T')
            continue;
        if (obf_at(s, len, i, &rep, &rlen))
            return true;
    }
    return false;
}

/* --- normalisation ----------------------------------------------------------------------- */

static bool unreserved(int c)
{
    return mail_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static const char hexd[] = "0123456789ABCDEF";

/* Percent-normalises (p, n) into o: %XX of unreserved characters decoded, others uppercase;
 * bytes that may not appear raw encoded. */
static void pct_norm(struct obuf *o, const char *p, size_t n, bool is_query)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '%' && i + 2 < n && mail_hexval((unsigned char)p[i + 1]) >= 0 &&
            mail_hexval((unsigned char)p[i + 2]) >= 0) {
            int v =
                mail_hexval((unsigned char)p[i + 1]) * 16 + mail_hexval((unsigned char)p[i + 2]);
            if (unreserved(v)) {
                char ch = (char)v;
                ob_put(o, &ch, 1);
            } else {
                char e[3] = {'%', hexd[v >> 4], hexd[v & 15]};
                ob_put(o, e, 3);
            }
            i += 2;
        } else if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' ||
                   c == '^' || c == '`' || c == '{' || c == '|' || c == '}' || c == '%' ||
                   (c == '#' && is_query)) {
            char e[3] = {'%', hexd[c >> 4], hexd[c & 15]};
            ob_put(o, e, 3);
        } else {
            char ch = (char)c;
            ob_put(o, &ch, 1);
        }
    }
}

/* WHATWG URL "IPv4 number" parts: decimal, 0-octal, 0x-hex; 1 to 4 parts, the last filling
 * the remaining bytes. True and *v4 if host is such a numeric address. */
static bool numeric_host(const char *h, size_t n, uint32_t *v4)
{
    if (n == 0 || n > 64)
        return false;
    uint64_t parts[4];
    size_t np = 0, i = 0;
    if (h[n - 1] == '.')
        n--;
    while (i < n) {
        if (np == 4)
            return false;
        int base = 10;
        if (i + 1 < n && h[i] == '0' && (h[i + 1] == 'x' || h[i + 1] == 'X')) {
            base = 16;
            i += 2;
        } else if (i + 1 < n && h[i] == '0' && h[i + 1] != '.') {
            base = 8;
            i++;
        }
        uint64_t v = 0;
        size_t digits = 0;
        while (i < n && h[i] != '.') {
            int d = mail_hexval((unsigned char)h[i]);
            if (d < 0 || d >= base)
                return false;
            v = v * (uint64_t)base + (uint64_t)d;
            if (v > 0xffffffffu)
                return false;
            digits++;
            i++;
        }
        if (digits == 0 && base != 16 && !(base == 8))
            return false;
        parts[np++] = v;
        if (i < n)
            i++; /* '.' */
        if (i == n && h[n - 1] == '.')
            return false;
    }
    if (np == 0)
        return false;
    uint32_t r = 0;
    for (size_t k = 0; k + 1 < np; k++) {
        if (parts[k] > 255)
            return false;
        r |= (uint32_t)parts[k] << (24 - 8 * k);
    }
    uint64_t last = parts[np - 1];
    if (last >= (1ull << (8 * (5 - np))))
        return false;
    r |= (uint32_t)last;
    *v4 = r;
    return true;
}

size_t ks_mail_url_normalize(const char *s, size_t len, char *out, size_t size, unsigned *flagsp)
{
    unsigned flags = 0;
    if (flagsp)
        *flagsp = 0;
    if (!s || !out || size < 16)
        return 0;
    out[0] = '\0';
    struct ks_cur c = ks_cur_make(s, len);
    /* scheme */
    size_t sl = 0;
    while (sl < len && mail_isalpha((unsigned char)s[sl]))
        sl++;
    const char *scheme = NULL;
    if (mail_ieq(s, sl, "http"))
        scheme = "http";
    else if (mail_ieq(s, sl, "https"))
        scheme = "https";
    else if (mail_ieq(s, sl, "ftp"))
        scheme = "ftp";
    if (!scheme)
        return 0;
    ks_cur_skip(&c, sl);
    if (ks_cur_u8(&c) != ':')
        return 0;
    /* "//" or "\\" (browsers accept both; one or three slashes too) */
    size_t slashes = 0;
    while (ks_cur_left(&c) && (ks_cur_peek_u8(&c) == '/' || ks_cur_peek_u8(&c) == '\\') &&
           slashes < 3) {
        ks_cur_skip(&c, 1);
        slashes++;
    }
    if (slashes == 0)
        return 0;
    const char *auth = (const char *)ks_cur_ptr(&c, 0);
    size_t al = 0;
    while (al < ks_cur_left(&c) && auth[al] != '/' && auth[al] != '\\' && auth[al] != '?' &&
           auth[al] != '#')
        al++;
    ks_cur_skip(&c, al);
    /* userinfo: everything up to the last '@' */
    for (size_t i = al; i > 0; i--)
        if (auth[i - 1] == '@') {
            auth += i;
            al -= i;
            flags |= KS_MAIL_URL_USERINFO;
            break;
        }
    /* port */
    const char *host = auth;
    size_t hl = al;
    long port = -1;
    if (hl && host[0] == '[') {
        const char *rb = memchr(host, ']', hl);
        if (!rb)
            return 0;
        size_t inner = (size_t)(rb - host);
        if (inner + 1 < hl) {
            if (host[inner + 1] != ':')
                return 0;
            port = 0;
            for (size_t i = inner + 2; i < hl; i++) {
                if (!mail_isdigit((unsigned char)host[i]) || port > 65535)
                    return 0;
                port = port * 10 + (host[i] - '0');
            }
        }
        hl = inner + 1;
    } else {
        for (size_t i = hl; i > 0; i--)
            if (host[i - 1] == ':') {
                port = 0;
                for (size_t k = i; k < hl; k++) {
                    if (!mail_isdigit((unsigned char)host[k]) || port > 65535)
                        return 0;
                    port = port * 10 + (host[k] - '0');
                }
                if (i == hl)
                    port = -1; /* "host:" */
                hl = i - 1;
                break;
            }
    }
    if (port > 65535)
        return 0;
    /* host: percent-decoded, lowercased, IDN to A-labels, numeric to dotted */
    char hbuf[512];
    size_t hn = 0;
    bool ascii = true;
    for (size_t i = 0; i < hl; i++) {
        unsigned char ch = (unsigned char)host[i];
        if (ch == '%' && i + 2 < hl && mail_hexval((unsigned char)host[i + 1]) >= 0 &&
            mail_hexval((unsigned char)host[i + 2]) >= 0) {
            ch = (unsigned char)(mail_hexval((unsigned char)host[i + 1]) * 16 +
                                 mail_hexval((unsigned char)host[i + 2]));
            i += 2;
        }
        if (hn + 1 >= sizeof hbuf)
            return 0;
        if (ch >= 0x80)
            ascii = false;
        else if (ch <= 0x20 || strchr("<>\"'`{}|^", ch))
            return 0;
        hbuf[hn++] = (char)mail_lower(ch);
    }
    hbuf[hn] = '\0';
    while (hn > 0 && hbuf[hn - 1] == '.')
        hbuf[--hn] = '\0';
    if (hn == 0)
        return 0;
    char hout[512];
    const char *hfinal = hbuf;
    uint32_t v4;
    struct ks_addr a6;
    if (hbuf[0] == '[') {
        if (hn < 3 || ks_addr_parse(hbuf + 1, hn - 2, &a6) != KS_OK || a6.family != 6)
            return 0;
        char t[KS_ADDR_STRLEN];
        ks_addr_format(&a6, t, sizeof t);
        snprintf(hout, sizeof hout, "[%s]", t);
        hfinal = hout;
        flags |= KS_MAIL_URL_IP;
    } else if (!ascii) {
        char *idn = NULL;
        int rc = idn2_to_ascii_8z(hbuf, &idn, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
        if (rc != IDN2_OK)
            rc = idn2_to_ascii_8z(hbuf, &idn, IDN2_NFC_INPUT | IDN2_TRANSITIONAL);
        bool ok = rc == IDN2_OK && idn && strlen(idn) < sizeof hout;
        /* IDNA without STD3 rules lets through what no host name holds ('?', '/', ...) */
        for (const char *q = idn; ok && *q; q++)
            ok = mail_isalnum((unsigned char)*q) || *q == '-' || *q == '.' || *q == '_';
        /* nor an empty label, as ASCII hosts below (else the result would not normalise to
         * itself: "ш..o" -> "xn--x1a..o" -> refused) */
        ok = ok && idn[0] != '.' && !strstr(idn, "..");
        if (ok) {
            snprintf(hout, sizeof hout, "%s", idn);
            hfinal = hout;
            flags |= KS_MAIL_URL_IDN;
        }
        idn2_free(idn);
        if (!ok)
            return 0; /* not a host name in any script: no URL */
    } else if (numeric_host(hbuf, hn, &v4)) {
        snprintf(hout, sizeof hout, "%u.%u.%u.%u", v4 >> 24, (v4 >> 16) & 255, (v4 >> 8) & 255,
                 v4 & 255);
        if (strcmp(hout, hbuf) != 0)
            flags |= KS_MAIL_URL_NUMERIC;
        hfinal = hout;
        flags |= KS_MAIL_URL_IP;
    } else {
        for (size_t i = 0; i < hn; i++) {
            unsigned char ch = (unsigned char)hbuf[i];
            if (!(mail_isalnum(ch) || ch == '-' || ch == '.' || ch == '_'))
                return 0;
        }
        if (strstr(hbuf, "..") || hbuf[0] == '.')
            return 0;
    }
    struct obuf o = {out, size, 0};
    ob_put(&o, scheme, strlen(scheme));
    ob_put(&o, "://", 3);
    ob_put(&o, hfinal, strlen(hfinal));
    long defport = strcmp(scheme, "http") == 0 ? 80 : strcmp(scheme, "https") == 0 ? 443 : 21;
    if (port >= 0 && port != defport) {
        char pb[8];
        int k = snprintf(pb, sizeof pb, ":%ld", port);
        ob_put(&o, pb, (size_t)k);
    }
    /* path and query (fragment dropped) */
    const char *rest = (const char *)ks_cur_ptr(&c, 0);
    size_t rl = ks_cur_left(&c);
    size_t frag = rl;
    for (size_t i = 0; i < rl; i++)
        if (rest[i] == '#') {
            frag = i;
            break;
        }
    size_t q = frag;
    for (size_t i = 0; i < frag; i++)
        if (rest[i] == '?') {
            q = i;
            break;
        }
    if (q == 0)
        ob_put(&o, "/", 1);
    else {
        /* '\' in the path is '/' for http(s) (WHATWG "special" schemes) */
        char pbuf[URL_MAX];
        size_t pn = q < sizeof pbuf ? q : sizeof pbuf;
        for (size_t i = 0; i < pn; i++)
            pbuf[i] = rest[i] == '\\' ? '/' : rest[i];
        pct_norm(&o, pbuf, pn, false);
    }
    if (q < frag) {
        ob_put(&o, "?", 1);
        pct_norm(&o, rest + q + 1, frag - q - 1, true);
    }
    if (o.len + 1 >= size)
        return 0; /* truncated: not a faithful URL */
    out[o.len] = '\0';
    if (flagsp)
        *flagsp = flags;
    return o.len;
}

bool ks_mail_url_host(const char *url, size_t len, const char **host, size_t *hlen)
{
    const char *p = memchr(url, ':', len < 8 ? len : 8);
    if (!p || (size_t)(p - url) + 3 > len || p[1] != '/' || p[2] != '/')
        return false;
    const char *h = p + 3;
    size_t left = len - (size_t)(h - url), n = 0;
    if (left && h[0] == '[') {
        while (n < left && h[n] != ']')
            n++;
        if (n < left)
            n++;
    } else {
        while (n < left && h[n] != '/' && h[n] != ':' && h[n] != '?')
            n++;
    }
    *host = h;
    *hlen = n;
    return n > 0;
}

static pthread_once_t psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t *psl_ctx;

static void psl_init(void)
{
    psl_ctx = psl_latest(NULL);
    if (!psl_ctx)
        psl_ctx = psl_builtin();
}

static const psl_ctx_t *psl(void)
{
    pthread_once(&psl_once, psl_init);
    return psl_ctx;
}

size_t ks_mail_registered_domain(const char *host, size_t hlen, char *out, size_t size)
{
    if (!out || size == 0)
        return 0;
    out[0] = '\0';
    if (hlen == 0 || hlen >= 256 || hlen + 1 > size)
        return 0;
    char h[256];
    memcpy(h, host, hlen);
    h[hlen] = '\0';
    uint32_t v4;
    if (h[0] == '[' || numeric_host(h, hlen, &v4)) {
        memcpy(out, h, hlen + 1);
        return hlen;
    }
    /* the registrable domain is a suffix of the host: its offset is cached per thread (the
     * hosts of a mailbox repeat) */
    static _Thread_local struct {
        uint64_t key;
        uint16_t len, off;
        char host[94];
    } cache[256];
    uint64_t key = ks_hash_bytes(h, hlen, 0x70736cu);
    size_t slot = (size_t)(key & 255);
    const char *rd;
    if (cache[slot].key == key && cache[slot].len == hlen &&
        memcmp(cache[slot].host, h, hlen) == 0) {
        rd = h + cache[slot].off;
    } else {
        const psl_ctx_t *ctx = psl();
        rd = ctx ? psl_registrable_domain(ctx, h) : NULL;
        if (!rd)
            rd = h;
        if (hlen <= sizeof cache[0].host) {
            cache[slot].key = key;
            cache[slot].len = (uint16_t)hlen;
            cache[slot].off = (uint16_t)(rd - h);
            memcpy(cache[slot].host, h, hlen);
        }
    }
    size_t n = strlen(rd);
    if (n + 1 > size)
        return 0;
    memcpy(out, rd, n + 1);
    return n;
}

/* True when (s, n) ends in a label the Public Suffix List knows as a top-level suffix. */
static bool known_suffix(const char *s, size_t n)
{
    size_t i = n;
    while (i > 0 && s[i - 1] != '.')
        i--;
    size_t k = n - i;
    if (k < 2 || k > 24 || i == 0)
        return false;
    char t[32];
    for (size_t j = 0; j < k; j++) {
        if (!mail_isalpha((unsigned char)s[i + j]))
            return false;
        t[j] = (char)mail_lower((unsigned char)s[i + j]);
    }
    t[k] = '\0';
    const psl_ctx_t *ctx = psl();
    return ctx && psl_is_public_suffix2(ctx, t, PSL_TYPE_ICANN | PSL_TYPE_NO_STAR_RULE);
}

/* --- redirectors ------------------------------------------------------------------------- */

static const char *const default_redirectors[] = {"google.com/url?q",
                                                  "google.com/url?url",
                                                  "google.co.jp/url?q",
                                                  "google.co.uk/url?q",
                                                  "l.facebook.com/l.php?u",
                                                  "lm.facebook.com/l.php?u",
                                                  "youtube.com/redirect?q",
                                                  "safelinks.protection.outlook.com/?url",
                                                  "away.vk.com/away.php?to",
                                                  "slack-redir.net/link?url",
                                                  "t.umblr.com/redirect?z",
                                                  "out.reddit.com/?url",
                                                  "bing.com/ck/a?u",
                                                  "*",
                                                  NULL};

const char *const *ks_mail_redirectors_default(void)
{
    return default_redirectors;
}

static bool host_matches(const char *host, size_t hl, const char *pat, size_t pl)
{
    if (hl == pl)
        return memcmp(host, pat, pl) == 0;
    return hl > pl && host[hl - pl - 1] == '.' && memcmp(host + hl - pl, pat, pl) == 0;
}

/* Percent-decodes (p, n) into out ('+' stays). */
static size_t pct_decode(const char *p, size_t n, char *out, size_t size)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < size; i++) {
        if (p[i] == '%' && i + 2 < n && mail_hexval((unsigned char)p[i + 1]) >= 0 &&
            mail_hexval((unsigned char)p[i + 2]) >= 0) {
            out[k++] = (char)(mail_hexval((unsigned char)p[i + 1]) * 16 +
                              mail_hexval((unsigned char)p[i + 2]));
            i += 2;
        } else {
            out[k++] = p[i];
        }
    }
    out[k] = '\0';
    return k;
}

static bool absolute_target(const char *v, size_t n)
{
    return mail_iprefix(v, n, "http://") || mail_iprefix(v, n, "https://") ||
           mail_iprefix(v, n, "http:\\\\") || mail_iprefix(v, n, "https:\\\\") ||
           mail_iprefix(v, n, "www.");
}

static void url_add_norm(struct mail_urlx *x, const char *url, size_t ulen, const char *where,
                         unsigned flags, const char *shown, int depth);

/* The targets a normalised URL wraps: configured (host, path, param) entries and, with "*",
 * any query value or path segment that is itself an absolute URL. */
static void unwrap(struct mail_urlx *x, const char *url, size_t ulen, int depth)
{
    if (depth >= REDIRECT_DEPTH)
        return;
    const char *host;
    size_t hl;
    if (!ks_mail_url_host(url, ulen, &host, &hl))
        return;
    const char *path = host + hl;
    size_t pl = ulen - (size_t)(path - url);
    while (pl && path[0] != '/' && path[0] != '?') { /* skip ":port" */
        path++;
        pl--;
    }
    const char *qm = memchr(path, '?', pl);
    size_t path_len = qm ? (size_t)(qm - path) : pl;
    const char *query = qm ? qm + 1 : NULL;
    size_t ql = qm ? pl - path_len - 1 : 0;
    const char *const *list = x->redirectors ? x->redirectors : default_redirectors;
    bool generic = false;
    char dec[URL_MAX];
    for (const char *const *e = list; *e; e++) {
        if (strcmp(*e, "*") == 0) {
            generic = true;
            continue;
        }
        const char *slash = strchr(*e, '/');
        const char *qmark = strchr(*e, '?');
        if (!slash || !qmark || qmark < slash)
            continue;
        if (!host_matches(host, hl, *e, (size_t)(slash - *e)))
            continue;
        size_t ppl = (size_t)(qmark - slash);
        if (path_len < ppl || memcmp(path, slash, ppl) != 0)
            continue;
        const char *param = qmark + 1;
        size_t pml = strlen(param);
        /* find param=value in the query */
        size_t i = 0;
        while (query && i < ql) {
            size_t j = i;
            while (j < ql && query[j] != '&' && query[j] != ';')
                j++;
            bool any = pml == 1 && param[0] == '*';
            if ((any ||
                 (j - i > pml && memcmp(query + i, param, pml) == 0 && query[i + pml] == '='))) {
                const char *eq = memchr(query + i, '=', j - i);
                if (eq) {
                    size_t vl = pct_decode(eq + 1, (size_t)(query + j - eq - 1), dec, sizeof dec);
                    if (absolute_target(dec, vl))
                        url_add_norm(x, dec, vl, "redirect", KS_MAIL_URL_REDIRECT, "", depth + 1);
                }
            }
            i = j + 1;
        }
    }
    if (!generic)
        return;
    /* an absolute URL embedded after the host: in a query value or the path
     * (".../RU=http%3a%2f%2f.../RK=0", "/redirect/http://target") */
    size_t dl = pct_decode(path, pl, dec, sizeof dec);
    for (size_t i = 1; i + 7 < dl; i++) {
        if ((dec[i] == 'h' || dec[i] == 'H') && absolute_target(dec + i, dl - i) &&
            !mail_isalnum((unsigned char)dec[i - 1])) {
            size_t j = i;
            while (j < dl && dec[j] != '&' && dec[j] != ' ' && dec[j] != '"')
                j++;
            /* Yahoo-style "/RK=" ends the embedded URL */
            size_t rk = mail_ifind(dec + i, j - i, "/rk=");
            if (rk != SIZE_MAX)
                j = i + rk;
            url_add_norm(x, dec + i, j - i, "redirect", KS_MAIL_URL_REDIRECT, "", depth + 1);
            break;
        }
    }
}

/* --- the collector ----------------------------------------------------------------------- */

static bool seen_insert(struct mail_urlx *x, const char *url, size_t n)
{
    if (!x->seen || x->seen_cap == 0)
        return true;
    uint64_t h = ks_hash_bytes(url, n, 0x6d61696cu) | 1;
    size_t mask = x->seen_cap - 1;
    size_t home = (size_t)h & mask;
    if (x->gen) /* a slot is in use when its low 16 bits are this call's generation */
        h = (h & ~UINT64_C(0xffff)) | x->gen;
    for (size_t i = home, k = 0; k < x->seen_cap; i = (i + 1) & mask, k++) {
        if (x->seen[i] == h)
            return false;
        if (x->gen ? (x->seen[i] & 0xffff) != x->gen : x->seen[i] == 0) {
            x->seen[i] = h;
            return true;
        }
    }
    return false;
}

static void url_add_norm(struct mail_urlx *x, const char *raw, size_t len, const char *where,
                         unsigned flags, const char *shown, int depth)
{
    if (x->stopped)
        return;
    char norm[URL_MAX];
    char tmp[URL_MAX];
    if (mail_iprefix(raw, len, "www.")) {
        if (len + 8 >= sizeof tmp)
            return;
        memcpy(tmp, "http://", 7);
        memcpy(tmp + 7, raw, len);
        raw = tmp;
        len += 7;
        flags |= KS_MAIL_URL_BARE;
    }
    unsigned nf = 0;
    size_t n = ks_mail_url_normalize(raw, len, norm, sizeof norm, &nf);
    if (n == 0)
        return;
    if (!seen_insert(x, norm, n))
        return;
    if (x->count >= x->max_urls) {
        x->dropped = true;
        return;
    }
    x->count++;
    const char *host;
    size_t hl;
    char dom[256] = "";
    if (ks_mail_url_host(norm, n, &host, &hl))
        ks_mail_registered_domain(host, hl, dom, sizeof dom);
    struct ks_mail_url u = {norm, where, dom, shown ? shown : "", flags | nf};
    if (shown && shown[0] && strcmp(shown, dom) != 0)
        u.flags |= KS_MAIL_URL_MISMATCH;
    else
        u.shown = "";
    if (x->fn(x->user, &u) != 0) {
        x->stopped = true;
        return;
    }
    unwrap(x, norm, n, depth);
}

void mail_urlx_add(struct mail_urlx *x, const char *raw, size_t len, const char *where,
                   unsigned flags, const char *shown)
{
    /* trim spaces around attribute values */
    while (len && mail_isspace((unsigned char)raw[0])) {
        raw++;
        len--;
    }
    while (len && mail_isspace((unsigned char)raw[len - 1]))
        len--;
    if (len == 0 || len >= URL_MAX)
        return;
    url_add_norm(x, raw, len, where, flags, shown, 0);
}

/* --- plain text scanner ------------------------------------------------------------------ */

static bool url_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"<>`{}|^\\'", c);
}

/* The end of a URL that starts at s[0]: stops at a delimiter, then trims trailing punctuation
 * and unbalanced closing brackets. */
static size_t url_end(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && i < URL_MAX - 16 && url_char((unsigned char)s[i]))
        i++;
    for (;;) {
        if (i == 0)
            return 0;
        char c = s[i - 1];
        if (strchr(".,;:!?*", c)) {
            i--;
            continue;
        }
        if (c == ')' || c == ']') {
            char open = c == ')' ? '(' : '[';
            size_t o = 0, cl = 0;
            for (size_t k = 0; k < i; k++) {
                if (s[k] == open)
                    o++;
                else if (s[k] == c)
                    cl++;
            }
            if (cl > o) {
                i--;
                continue;
            }
        }
        return i;
    }
}

static bool host_char(unsigned char c)
{
    return mail_isalnum(c) || c == '-' || c == '.' || c == '_';
}

static void scan_text(struct mail_urlx *x, const char *s, size_t len, const char *where,
                      unsigned flags, const char *orig, size_t olen)
{
    size_t i = 0;
    size_t done = 0; /* text before this is inside a URL already reported */
    while (i < len && !x->stopped) {
        /* the bytes a URL is recognised at: ':' (scheme), 'w' (www.), '/' (host.tld/path) */
        while (i < len && s[i] != ':' && s[i] != '/' && (s[i] | 0x20) != 'w')
            i++;
        if (i >= len)
            break;
        const char *hit = NULL;
        size_t start = 0;
        unsigned extra = 0;
        /* find the next ':', 'w' or '/' of interest */
        unsigned char c = (unsigned char)s[i];
        if (c == ':' && i + 2 < len && (s[i + 1] == '/' || s[i + 1] == '\\') && i >= done) {
            size_t b = i;
            while (b > done && b > 0 && mail_isalpha((unsigned char)s[b - 1]) && i - b < 8)
                b--;
            if (mail_ieq(s + b, i - b, "http") || mail_ieq(s + b, i - b, "https") ||
                mail_ieq(s + b, i - b, "ftp")) {
                hit = s + b;
                start = b;
            }
        } else if ((c == 'w' || c == 'W') && i >= done && i + 4 < len &&
                   (i == 0 || !host_char((unsigned char)s[i - 1])) &&
                   mail_iprefix(s + i, len - i, "www.") && host_char((unsigned char)s[i + 4])) {
            hit = s + i;
            start = i;
        } else if (c == '/' && i >= done && i > 0 && mail_isalpha((unsigned char)s[i - 1])) {
            /* a bare "host.tld/path" */
            size_t b = i;
            while (b > done && b > 0 && host_char((unsigned char)s[b - 1]) && i - b < 256)
                b--;
            bool boundary = b == 0 || !strchr("@:/.=&?%", s[b - 1]);
            if (boundary && memchr(s + b, '.', i - b) && known_suffix(s + b, i - b) &&
                mail_isalnum((unsigned char)s[b])) {
                hit = s + b;
                start = b;
                extra = KS_MAIL_URL_BARE;
            }
        }
        if (!hit) {
            i++;
            continue;
        }
        size_t e = url_end(hit, len - start);
        if (e < 4) {
            i++;
            continue;
        }
        unsigned f = flags | extra;
        if (orig && (f & KS_MAIL_URL_OBFUSCATED)) {
            /* found verbatim in the original text: not obfuscated */
            if (memmem(orig, olen, hit, e))
                f &= ~KS_MAIL_URL_OBFUSCATED;
        }
        if (extra & KS_MAIL_URL_BARE) {
            char tmp[URL_MAX];
            if (e + 8 < sizeof tmp) {
                memcpy(tmp, "http://", 7);
                memcpy(tmp + 7, hit, e);
                url_add_norm(x, tmp, e + 7, where, f, "", 0);
            }
        } else {
            url_add_norm(x, hit, e, where, f, "", 0);
        }
        done = start + e;
        i = done;
    }
}

/* The markers that let a text be deobfuscated (the rules may apply without them: those texts
 * are left as they are). */
static bool obf_marker(const char *s, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c == '[' || c == '(' || c == '{') &&
            (s[i + 1] == '.' || s[i + 1] == ':' || s[i + 1] == 'd' || s[i + 1] == 'D' ||
             s[i + 1] == ' '))
            return true;
        else if ((c == 'h' || c == 'H') && (s[i + 1] != 't' && s[i + 1] != 'T') &&
                 strchr("xX*_-", s[i + 1]) && s[i + 1])
            return true;
        else if (c == ' ' && (s[i + 1] == '.' || ((s[i + 1] == 'd' || s[i + 1] == 'D') &&
                                                  (s[i + 2] == 'o' || s[i + 2] == 'O'))))
            return true;
        else if ((c == 'h' || c == 'H') && s[i + 1] == ' ')
            return true;
    }
    return false;
}

void mail_urlx_text(struct mail_urlx *x, const char *s, size_t len, const char *where)
{
    scan_text(x, s, len, where, 0, NULL, 0);
    /* Deobfuscation (a copy and a second scan) only when a rule applies (3 of the 990 texts
     * of the corpus with a marker) and the text has a marker: the exact check first, as the
     * markers are common (" .", "h "). */
    if (x->stopped || !mail_obfuscated(s, len) || !obf_marker(s, len))
        return;
    size_t cap = len + 1;
    char *d = malloc(cap);
    if (!d)
        return;
    bool changed;
    size_t dl = ks_mail_deobfuscate(s, len, d, cap, &changed);
    if (changed)
        scan_text(x, d, dl, where, KS_MAIL_URL_OBFUSCATED, s, len);
    free(d);
}

bool mail_text_domain(const char *s, size_t len, char *dom, size_t size)
{
    dom[0] = '\0';
    size_t i = 0;
    while (i < len) {
        while (i < len && !host_char((unsigned char)s[i]))
            i++;
        size_t b = i;
        while (i < len && host_char((unsigned char)s[i]))
            i++;
        size_t n = i - b;
        /* "http://host" in the text: skip the scheme word */
        if (i + 2 < len && s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/')
            continue;
        if (i < len && s[i] == '@')
            continue; /* an address's local part */
        if (b > 0 && s[b - 1] == '@')
            continue; /* an address's domain: not a link host */
        while (n && s[b + n - 1] == '.')
            n--;
        if (n > 3 && memchr(s + b, '.', n) && known_suffix(s + b, n)) {
            char h[256];
            if (n >= sizeof h)
                continue;
            for (size_t k = 0; k < n; k++)
                h[k] = (char)mail_lower((unsigned char)s[b + k]);
            h[n] = '\0';
            return ks_mail_registered_domain(h, n, dom, size) > 0;
        }
    }
    return false;
}

/* --- the public extractor ---------------------------------------------------------------- */

size_t ks_mail_urls_extract(const char *s, size_t len, bool html, const char *const *redirectors,
                            size_t max_urls, int (*fn)(void *user, const struct ks_mail_url *u),
                            void *user)
{
    struct mail_urlx x = {0};
    x.redirectors = redirectors;
    x.max_urls = max_urls ? max_urls : 4096;
    x.fn = fn;
    x.user = user;
    size_t cap = 64;
    while (cap < x.max_urls * 2)
        cap *= 2;
    x.seen = calloc(cap, sizeof *x.seen);
    x.seen_cap = x.seen ? cap : 0;
    if (html)
        mail_urlx_html(&x, s, len);
    else
        mail_urlx_text(&x, s, len, "text");
    free(x.seen);
    return x.count;
}
