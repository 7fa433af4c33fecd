/* crawl: the links a browser would follow by itself, from HTML and scripts.
 *
 * Not an HTML parser: a tolerant scanner over bytes, in the spirit of the WHATWG tokenizer
 * (tags, attributes with quoted or bare values, comments, raw-text elements), that looks only
 * at the few elements that load or redirect: meta refresh, frame/iframe, script, base and
 * anchors to executable downloads. Scripts are scanned for assignments to location and calls
 * of location.replace/assign with a string literal; string literals that hold markup
 * (document.write("<iframe src=...>")) are scanned as HTML, one level deep. Every read is
 * bounded by the document's length; references are decoded into a fixed buffer. */
#include "crawl_int.h"
#include "core/lazy_curl.h"

#include <string.h>

static const char *const link_names[KS_CRAWL_LINK_COUNT] = {
    "root", "http-redirect", "refresh", "frame", "script", "js-redirect", "download-link", "base",
};

const char *ks_crawl_link_name(enum ks_crawl_link kind)
{
    if ((unsigned)kind >= KS_CRAWL_LINK_COUNT)
        return "?";
    return link_names[kind];
}

/* --- scanner state ----------------------------------------------------------------------- */

struct scan {
    const uint8_t *b;
    size_t n;
    int (*fn)(void *user, enum ks_crawl_link kind, const char *ref, size_t ref_len);
    void *user;
    struct ks_crawl_links_stats *st;
    int stop;   /* nonzero value returned by fn */
    int nested; /* scanning markup found in a script string */
};

static inline uint8_t at(const struct scan *s, size_t i)
{
    return i < s->n ? s->b[i] : 0;
}

static inline bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static inline uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static inline bool is_ident(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || c >= 0x80;
}

/* Case-insensitive match of the ASCII word w at b[i..]. */
static bool match_ci(const uint8_t *b, size_t n, size_t i, const char *w)
{
    size_t k = 0;
    for (; w[k]; k++)
        if (i + k >= n || lower(b[i + k]) != (uint8_t)w[k])
            return false;
    return true;
}

static bool eq_ci(const uint8_t *b, size_t len, const char *w)
{
    size_t wl = strlen(w);
    return len == wl && match_ci(b, len, 0, w);
}

/* Finds the case-insensitive word w from i on; returns its position or n. */
static size_t find_ci(const uint8_t *b, size_t n, size_t i, const char *w)
{
    uint8_t w0 = (uint8_t)w[0];
    for (; i < n; i++)
        if (lower(b[i]) == w0 && match_ci(b, n, i, w))
            return i;
    return n;
}

/* --- references ------------------------------------------------------------------------------ */

struct ref {
    char buf[KS_CRAWL_MAX_REF + 1];
    size_t len;
    bool overflow;
};

static void ref_put(struct ref *r, uint32_t cp)
{
    /* UTF-8 of a code point (WHATWG: control characters and surrogates become U+FFFD). */
    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        cp = 0xfffd;
    char tmp[4];
    size_t k;
    if (cp < 0x80) {
        tmp[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        tmp[0] = (char)(0xc0 | (cp >> 6));
        tmp[1] = (char)(0x80 | (cp & 0x3f));
        k = 2;
    } else if (cp < 0x10000) {
        tmp[0] = (char)(0xe0 | (cp >> 12));
        tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        tmp[2] = (char)(0x80 | (cp & 0x3f));
        k = 3;
    } else {
        tmp[0] = (char)(0xf0 | (cp >> 18));
        tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        tmp[3] = (char)(0x80 | (cp & 0x3f));
        k = 4;
    }
    if (r->len + k > KS_CRAWL_MAX_REF) {
        r->overflow = true;
        return;
    }
    memcpy(r->buf + r->len, tmp, k);
    r->len += k;
}

static void ref_byte(struct ref *r, uint8_t c)
{
    if (r->len + 1 > KS_CRAWL_MAX_REF) {
        r->overflow = true;
        return;
    }
    r->buf[r->len++] = (char)c;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* HTML character references: numeric ones and the few named ones URLs contain. */
static void decode_html(struct ref *r, const uint8_t *b, size_t n)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''}, {"lt;", '<'},
                 {"gt;", '>'},  {"sol;", '/'},  {"colon;", ':'}, {"amp", '&'}};
    r->len = 0;
    r->overflow = false;
    for (size_t i = 0; i < n && !r->overflow;) {
        if (b[i] != '&') {
            ref_byte(r, b[i++]);
            continue;
        }
        if (i + 2 < n && b[i + 1] == '#') {
            size_t j = i + 2;
            bool hex = j < n && lower(b[j]) == 'x';
            j += hex;
            uint32_t cp = 0;
            size_t digits = 0;
            for (; j < n; j++, digits++) {
                int v = hex ? hexval(b[j]) : (b[j] >= '0' && b[j] <= '9' ? b[j] - '0' : -1);
                if (v < 0)
                    break;
                if (cp < 0x110000)
                    cp = cp * (hex ? 16u : 10u) + (uint32_t)v;
            }
            if (digits > 0) {
                if (j < n && b[j] == ';')
                    j++;
                ref_put(r, cp);
                i = j;
                continue;
            }
        }
        bool done = false;
        for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
            if (match_ci(b, n, i + 1, named[k].name)) {
                ref_byte(r, (uint8_t)named[k].c);
                i += 1 + strlen(named[k].name);
                done = true;
                break;
            }
        }
        if (!done)
            ref_byte(r, b[i++]);
    }
}

/* Reports r (blanks around it removed; empty and "#..." references are not links). */
static void emit(struct scan *s, enum ks_crawl_link kind, struct ref *r)
{
    if (s->stop)
        return;
    if (r->overflow) {
        if (s->st)
            s->st->too_long++;
        return;
    }
    size_t a = 0, e = r->len;
    while (a < e && is_space((uint8_t)r->buf[a]))
        a++;
    while (e > a && is_space((uint8_t)r->buf[e - 1]))
        e--;
    if (a == e || r->buf[a] == '#')
        return;
    r->buf[e] = '\0';
    if (s->st)
        s->st->links++;
    s->stop = s->fn(s->user, kind, r->buf + a, e - a);
}

/* --- scripts --------------------------------------------------------------------------------- */

static void scan_html(struct scan *s);

/* Reads a string literal starting at b[i] (a quote) into r with its escapes decoded; returns
 * the position after it. */
static size_t js_string(struct scan *s, size_t i, struct ref *r)
{
    uint8_t q = at(s, i);
    r->len = 0;
    r->overflow = false;
    i++;
    while (i < s->n) {
        uint8_t c = s->b[i];
        if (c == q)
            return i + 1;
        if (c == '\n' && q != '`')
            break;
        if (c != '\\') {
            ref_byte(r, c);
            i++;
            continue;
        }
        uint8_t e = at(s, i + 1);
        i += 2;
        if (e == 'x' && hexval(at(s, i)) >= 0 && hexval(at(s, i + 1)) >= 0) {
            ref_put(r, (uint32_t)(hexval(at(s, i)) * 16 + hexval(at(s, i + 1))));
            i += 2;
        } else if (e == 'u' && hexval(at(s, i)) >= 0 && hexval(at(s, i + 1)) >= 0 &&
                   hexval(at(s, i + 2)) >= 0 && hexval(at(s, i + 3)) >= 0) {
            uint32_t cp = 0;
            for (int k = 0; k < 4; k++)
                cp = cp * 16 + (uint32_t)hexval(at(s, i + (size_t)k));
            ref_put(r, cp);
            i += 4;
        } else if (e == 'n' || e == 'r' || e == 't') {
            ref_byte(r, ' ');
        } else if (e) {
            ref_byte(r, e);
        }
    }
    if (s->st)
        s->st->unterminated++;
    return i;
}

static size_t skip_space(const struct scan *s, size_t i)
{
    while (i < s->n && is_space(s->b[i]))
        i++;
    return i;
}

/* After "location" at i (its end at j): "= 'x'", ".href = 'x'", ".replace('x')",
 * ".assign('x')". */
static void js_location(struct scan *s, size_t j, struct ref *r)
{
    j = skip_space(s, j);
    if (at(s, j) == '.') {
        size_t k = skip_space(s, j + 1);
        if (match_ci(s->b, s->n, k, "href") && !is_ident(at(s, k + 4))) {
            j = skip_space(s, k + 4);
        } else if ((match_ci(s->b, s->n, k, "replace") && !is_ident(at(s, k + 7))) ||
                   (match_ci(s->b, s->n, k, "assign") && !is_ident(at(s, k + 6)))) {
            k = skip_space(s, k + (lower(at(s, k)) == 'r' ? 7 : 6));
            if (at(s, k) != '(')
                return;
            k = skip_space(s, k + 1);
            uint8_t q = at(s, k);
            if (q == '"' || q == '\'' || q == '`') {
                js_string(s, k, r);
                emit(s, KS_CRAWL_LINK_JS, r);
            }
            return;
        } else {
            return;
        }
    }
    if (at(s, j) != '=' || at(s, j + 1) == '=')
        return;
    j = skip_space(s, j + 1);
    uint8_t q = at(s, j);
    if (q == '"' || q == '\'' || q == '`') {
        js_string(s, j, r);
        emit(s, KS_CRAWL_LINK_JS, r);
    }
}

/* Scans b[a..e) of s as a script. */
static void scan_js_range(struct scan *s, size_t a, size_t e)
{
    if (a >= e || e > s->n)
        return;
    struct scan js = *s;
    struct ref *r = &(struct ref){.len = 0};
    js.b = s->b + a; /* a sub-range of the same document */
    js.n = e - a;
    size_t i = 0;
    while (i < js.n && !js.stop) {
        uint8_t c = js.b[i];
        if (c == '/' && at(&js, i + 1) == '/') { /* line comment */
            while (i < js.n && js.b[i] != '\n')
                i++;
            continue;
        }
        if (c == '/' && at(&js, i + 1) == '*') {
            size_t k = i + 2;
            while (k < js.n && !(js.b[k] == '*' && at(&js, k + 1) == '/'))
                k++;
            i = k + 2;
            continue;
        }
        if (c == '"' || c == '\'' || c == '`') {
            size_t k = js_string(&js, i, r);
            /* markup written by the script: scanned as HTML, one level deep */
            if (!js.nested && !r->overflow && memchr(r->buf, '<', r->len)) {
                struct ref copy;
                memcpy(copy.buf, r->buf, r->len);
                struct scan h = js;
                h.b = (const uint8_t *)copy.buf;
                h.n = r->len;
                h.nested = 1;
                scan_html(&h);
                js.stop = h.stop;
            }
            i = k;
            continue;
        }
        if (c == 'l' && (i == 0 || !is_ident(js.b[i - 1])) && match_ci(js.b, js.n, i, "location") &&
            !is_ident(at(&js, i + 8))) {
            js_location(&js, i + 8, r);
            i += 8;
            continue;
        }
        i++;
    }
    s->stop = js.stop;
}

/* --- HTML ------------------------------------------------------------------------------------ */

#define MAX_ATTRS 32

struct attr {
    size_t name, name_len, val, val_len;
    bool has_val;
};

struct tag {
    size_t name, name_len;
    struct attr a[MAX_ATTRS];
    unsigned na;
};

static const struct attr *tag_attr(const struct scan *s, const struct tag *t, const char *name)
{
    for (unsigned i = 0; i < t->na; i++)
        if (t->a[i].has_val && eq_ci(s->b + t->a[i].name, t->a[i].name_len, name))
            return &t->a[i];
    return NULL;
}

static void emit_attr(struct scan *s, enum ks_crawl_link kind, const struct attr *a, struct ref *r)
{
    decode_html(r, s->b + a->val, a->val_len);
    emit(s, kind, r);
}

/* Executable and archive extensions of the path (query and fragment ignored). */
static bool download_name(const char *u, size_t n)
{
    static const char *const ext[] = {"exe", "scr", "com", "pif", "bat", "cmd", "msi", "dll",
                                      "cpl", "zip", "rar", "7z",  "cab", "gz",  "tgz", "tar",
                                      "jar", "vbs", "vbe", "wsf", "hta", "ps1", "sh",  "bin",
                                      "elf", "apk", "lnk", "bz2", "xz"};
    size_t e = 0;
    while (e < n && u[e] != '?' && u[e] != '#')
        e++;
    size_t dot = e;
    while (dot > 0 && u[dot - 1] != '.' && u[dot - 1] != '/')
        dot--;
    if (dot == 0 || u[dot - 1] != '.')
        return false;
    for (size_t k = 0; k < sizeof ext / sizeof ext[0]; k++)
        if (eq_ci((const uint8_t *)u + dot, e - dot, ext[k]))
            return true;
    return false;
}

/* <meta http-equiv=refresh content="5; URL='x'">: the URL part of content (WHATWG "shared
 * declarative refresh steps"). */
static void meta_refresh(struct scan *s, const struct attr *content, struct ref *r)
{
    decode_html(r, s->b + content->val, content->val_len);
    if (r->overflow) {
        emit(s, KS_CRAWL_LINK_REFRESH, r);
        return;
    }
    const uint8_t *c = (const uint8_t *)r->buf;
    size_t n = r->len, i = 0;
    while (i < n && is_space(c[i]))
        i++;
    while (i < n && ((c[i] >= '0' && c[i] <= '9') || c[i] == '.'))
        i++;
    while (i < n && is_space(c[i]))
        i++;
    if (i < n && (c[i] == ';' || c[i] == ','))
        i++;
    while (i < n && is_space(c[i]))
        i++;
    if (i + 3 <= n && match_ci(c, n, i, "url")) {
        size_t k = i + 3;
        while (k < n && is_space(c[k]))
            k++;
        if (k < n && c[k] == '=') {
            k++;
            while (k < n && is_space(c[k]))
                k++;
            i = k;
        }
    }
    if (i >= n)
        return;
    size_t e = n;
    if (c[i] == '"' || c[i] == '\'') {
        uint8_t q = c[i++];
        for (e = i; e < n && c[e] != q; e++)
            ;
    }
    struct ref *u = &(struct ref){.len = 0};
    memcpy(u->buf, r->buf + i, e - i);
    u->len = e - i;
    emit(s, KS_CRAWL_LINK_REFRESH, u);
}

static void handle_tag(struct scan *s, const struct tag *t, struct ref *r)
{
    const uint8_t *nm = s->b + t->name;
    size_t nl = t->name_len;
    const struct attr *a;
    if (eq_ci(nm, nl, "meta")) {
        const struct attr *he = tag_attr(s, t, "http-equiv");
        const struct attr *content = tag_attr(s, t, "content");
        if (he && content) {
            decode_html(r, s->b + he->val, he->val_len);
            if (eq_ci((const uint8_t *)r->buf, r->len, "refresh"))
                meta_refresh(s, content, r);
        }
    } else if (eq_ci(nm, nl, "iframe") || eq_ci(nm, nl, "frame")) {
        if ((a = tag_attr(s, t, "src")))
            emit_attr(s, KS_CRAWL_LINK_FRAME, a, r);
    } else if (eq_ci(nm, nl, "script")) {
        if ((a = tag_attr(s, t, "src")))
            emit_attr(s, KS_CRAWL_LINK_SCRIPT, a, r);
    } else if (eq_ci(nm, nl, "base")) {
        if ((a = tag_attr(s, t, "href")))
            emit_attr(s, KS_CRAWL_LINK_BASE, a, r);
    } else if (eq_ci(nm, nl, "a") || eq_ci(nm, nl, "area")) {
        if ((a = tag_attr(s, t, "href"))) {
            decode_html(r, s->b + a->val, a->val_len);
            if (!r->overflow && download_name(r->buf, r->len))
                emit(s, KS_CRAWL_LINK_DOWNLOAD, r);
        }
    }
    /* Event handlers (onload="location='...'") are scripts. */
    for (unsigned i = 0; i < t->na && !s->stop && !s->nested; i++) {
        const struct attr *h = &t->a[i];
        if (h->has_val && h->name_len > 2 && match_ci(s->b, s->n, h->name, "on")) {
            decode_html(r, s->b + h->val, h->val_len);
            if (r->overflow)
                continue;
            struct ref copy;
            memcpy(copy.buf, r->buf, r->len);
            struct scan js = *s;
            js.b = (const uint8_t *)copy.buf;
            js.n = r->len;
            js.nested = 1;
            scan_js_range(&js, 0, js.n);
            s->stop = js.stop;
        }
    }
}

/* Parses a tag's name and attributes from b[i] (just after '<'); returns the position after
 * its '>'. */
static size_t parse_tag(struct scan *s, size_t i, struct tag *t)
{
    t->name = i;
    while (i < s->n && !is_space(s->b[i]) && s->b[i] != '>' && s->b[i] != '/')
        i++;
    t->name_len = i - t->name;
    t->na = 0;
    for (;;) {
        while (i < s->n && (is_space(s->b[i]) || s->b[i] == '/'))
            i++;
        if (i >= s->n) {
            if (s->st)
                s->st->unterminated++;
            return i;
        }
        if (s->b[i] == '>')
            return i + 1;
        struct attr a = {.name = i};
        /* WHATWG: an attribute name may start with '='; it ends at blank, '/', '>' or '=' */
        i++;
        while (i < s->n && !is_space(s->b[i]) && s->b[i] != '/' && s->b[i] != '>' && s->b[i] != '=')
            i++;
        a.name_len = i - a.name;
        size_t k = skip_space(s, i);
        if (at(s, k) == '=') {
            k = skip_space(s, k + 1);
            uint8_t q = at(s, k);
            if (q == '"' || q == '\'') {
                a.val = k + 1;
                size_t e = a.val;
                while (e < s->n && s->b[e] != q)
                    e++;
                a.val_len = e - a.val;
                if (e >= s->n && s->st)
                    s->st->unterminated++;
                i = e < s->n ? e + 1 : s->n;
            } else {
                a.val = k;
                size_t e = k;
                while (e < s->n && !is_space(s->b[e]) && s->b[e] != '>')
                    e++;
                a.val_len = e - k;
                i = e;
            }
            a.has_val = true;
        }
        if (t->na < MAX_ATTRS)
            t->a[t->na++] = a;
    }
}

static void scan_html(struct scan *s)
{
    struct ref *r = &(struct ref){.len = 0};
    struct tag *t = &(struct tag){.na = 0};
    size_t i = 0;
    while (i < s->n && !s->stop) {
        const uint8_t *lt = memchr(s->b + i, '<', s->n - i);
        if (!lt)
            break;
        i = (size_t)(lt - s->b) + 1;
        uint8_t c = at(s, i);
        if (c == '!' && at(s, i + 1) == '-' && at(s, i + 2) == '-') {
            size_t e = find_ci(s->b, s->n, i + 3, "-->");
            if (e >= s->n && s->st)
                s->st->unterminated++;
            i = e + 3;
            continue;
        }
        if (c == '!' || c == '?' || c == '/') {
            const uint8_t *gt = i < s->n ? memchr(s->b + i, '>', s->n - i) : NULL;
            i = gt ? (size_t)(gt - s->b) + 1 : s->n;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            continue;
        i = parse_tag(s, i, t);
        if (s->st)
            s->st->tags++;
        handle_tag(s, t, r);
        const uint8_t *nm = s->b + t->name;
        /* Raw-text elements: their content is not markup. */
        if (eq_ci(nm, t->name_len, "script")) {
            size_t e = find_ci(s->b, s->n, i, "</script");
            if (!tag_attr(s, t, "src") && !s->stop)
                scan_js_range(s, i, e);
            i = e;
        } else if (eq_ci(nm, t->name_len, "style") || eq_ci(nm, t->name_len, "textarea") ||
                   eq_ci(nm, t->name_len, "title") || eq_ci(nm, t->name_len, "xmp")) {
            char end[16] = "</"; /* the name is at most 8 bytes here */
            for (size_t k = 0; k < t->name_len; k++)
                end[2 + k] = (char)lower(nm[k]);
            end[2 + t->name_len] = '\0';
            i = find_ci(s->b, s->n, i, end);
        }
    }
}

int ks_crawl_links(const void *doc, size_t len, unsigned doc_type,
                   int (*fn)(void *user, enum ks_crawl_link kind, const char *ref, size_t ref_len),
                   void *user, struct ks_crawl_links_stats *st)
{
    if (st)
        memset(st, 0, sizeof *st);
    if (!fn || (!doc && len))
        return KS_OK;
    struct scan s = {.b = doc, .n = len, .fn = fn, .user = user, .st = st};
    if (doc_type == KS_CRAWL_DOC_JS)
        scan_js_range(&s, 0, len);
    else
        scan_html(&s);
    return s.stop;
}

/* --- URLs ------------------------------------------------------------------------------------ */

int ks_crawl_url_resolve(const char *base, const char *ref, size_t ref_len, char *out, size_t size)
{
    char tmp[KS_CRAWL_MAX_REF + 1];
    int rc = KS_EFORMAT;
    char *url = NULL, *scheme = NULL, *host = NULL;
    if (ref_len > KS_CRAWL_MAX_REF)
        return KS_ELIMIT;
    /* No control characters or blanks inside (curl would refuse some, browsers strip
     * tabs and newlines: do as browsers do). */
    size_t n = 0;
    for (size_t i = 0; i < ref_len; i++) {
        unsigned char c = (unsigned char)ref[i];
        if (c == '\t' || c == '\n' || c == '\r')
            continue;
        if (c < 0x20 || c == 0x7f)
            return KS_EFORMAT;
        tmp[n++] = (char)c;
    }
    tmp[n] = '\0';
    /* A scheme of its own (RFC 3986 3.1): only http and https are fetched. */
    size_t k = 0;
    while (k < n && (((tmp[k] | 0x20) >= 'a' && (tmp[k] | 0x20) <= 'z') ||
                     (k > 0 && ((tmp[k] >= '0' && tmp[k] <= '9') || tmp[k] == '+' ||
                                tmp[k] == '-' || tmp[k] == '.'))))
        k++;
    if (k > 0 && k < n && tmp[k] == ':' && !eq_ci((const uint8_t *)tmp, k, "http") &&
        !eq_ci((const uint8_t *)tmp, k, "https"))
        return KS_EUNSUPP;
    CURLU *u = curl_url();
    if (!u)
        return KS_ENOMEM;
    if (base && *base && curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK)
        goto out;
    /* URL-encode spaces and non-ASCII bytes as browsers do. */
    if (curl_url_set(u, CURLUPART_URL, tmp, CURLU_URLENCODE) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
        goto out;
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        rc = KS_EUNSUPP;
        goto out;
    }
    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
    /* RFC 3986 6.2.2.1: the host is case-insensitive; lowercase it */
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        for (char *p = host; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
        curl_url_set(u, CURLUPART_HOST, host, 0);
    }
    if (curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
        goto out;
    size_t l = strlen(url);
    if (l + 1 > size) {
        rc = KS_ELIMIT;
        goto out;
    }
    memcpy(out, url, l + 1);
    rc = KS_OK;
out:
    curl_free(url);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* --- addresses ------------------------------------------------------------------------------- */

static bool v4_public(uint32_t a)
{
    static const struct {
        uint32_t net;
        unsigned len;
    } refused[] = {
        {0x00000000u, 8},  /* "this network" (RFC 791) */
        {0x0a000000u, 8},  /* RFC 1918 */
        {0x64400000u, 10}, /* CGNAT (RFC 6598) */
        {0x7f000000u, 8},  /* loopback */
        {0xa9fe0000u, 16}, /* link-local (RFC 3927) */
        {0xac100000u, 12}, /* RFC 1918 */
        {0xc0000000u, 24}, /* IETF protocol assignments (RFC 6890) */
        {0xc0000200u, 24}, /* TEST-NET-1 (RFC 5737) */
        {0xc0a80000u, 16}, /* RFC 1918 */
        {0xc6120000u, 15}, /* benchmarking (RFC 2544) */
        {0xc6336400u, 24}, /* TEST-NET-2 */
        {0xcb007100u, 24}, /* TEST-NET-3 */
        {0xe0000000u, 4},  /* multicast */
        {0xf0000000u, 4},  /* reserved, broadcast */
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        uint32_t mask = refused[i].len ? ~0u << (32 - refused[i].len) : 0;
        if ((a & mask) == refused[i].net)
            return false;
    }
    return true;
}

bool ks_crawl_addr_is_public(const struct ks_addr *addr)
{
    if (addr->family == 4)
        return v4_public(ks_addr_v4(addr));
    if (addr->family != 6)
        return false;
    const uint8_t *b = addr->b;
    static const uint8_t zero[16];
    if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) /* :: and ::1 */
        return false;
    /* IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96 and NAT64 64:ff9b::/96: the IPv4 inside */
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, zero, 12) == 0 || memcmp(b, nat64, 12) == 0) {
        uint32_t v4 = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
        return v4_public(v4);
    }
    if ((b[0] & 0xfe) == 0xfc) /* ULA fc00::/7 */
        return false;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* link-local fe80::/10 */
        return false;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) /* site-local fec0::/10 (deprecated) */
        return false;
    if (b[0] == 0xff) /* multicast */
        return false;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) /* documentation */
        return false;
    if (b[0] == 0x01 && b[1] == 0 && memcmp(b + 2, zero, 6) == 0) /* discard-only 100::/64 */
        return false;
    return true;
}
