/* Internal helpers of the mail module: ASCII classes, a string arena, the URL collector. */
#ifndef KS_MAIL_INT_H
#define KS_MAIL_INT_H

#include "kansoku/ks_mail.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool mail_isdigit(int c)
{
    return c >= '0' && c <= '9';
}
static inline bool mail_isalpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static inline bool mail_isalnum(int c)
{
    return mail_isdigit(c) || mail_isalpha(c);
}
static inline bool mail_isspace(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}
static inline int mail_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}
static inline int mail_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = mail_lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Case-insensitive ASCII comparison of (p, n) with a NUL-terminated lowercase literal. */
bool mail_ieq(const char *p, size_t n, const char *lit);
/* Case-insensitive prefix test. */
bool mail_iprefix(const char *p, size_t n, const char *lit);
/* Case-insensitive search of a lowercase literal in (p, n); returns the offset or SIZE_MAX. */
size_t mail_ifind(const char *p, size_t n, const char *lit);
/* The UTF-8 sequence that starts with the non-ASCII byte p[i] (i < n): its length, with its
 * code point in *cp, or 0 when it is not well formed (RFC 3629: no overlong forms,
 * surrogates or code points past U+10FFFF). Inline: the validators' hot path. */
static inline size_t mail_utf8_seq(const unsigned char *p, size_t n, size_t i, uint32_t *cp)
{
    unsigned char c = p[i];
    size_t k;
    uint32_t min, v;
    if (c >= 0xc2 && c <= 0xdf) {
        k = 1;
        min = 0x80;
        v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        k = 2;
        min = 0x800;
        v = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 3;
        min = 0x10000;
        v = c & 0x07;
    } else {
        return 0;
    }
    if (n - i <= k)
        return 0;
    for (size_t j = 1; j <= k; j++) {
        if ((p[i + j] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (p[i + j] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return k + 1;
}
/* Whether (s, n) is UTF-8 as g_utf8_validate(s, n, NULL) has it (RFC 3629: no overlongs,
 * surrogates or code points past U+10FFFF; and no NUL byte), with an ASCII fast path. */
bool mail_utf8_valid(const char *s, size_t n);
/* Whether ks_mail_deobfuscate would change (s, len), without its copy. */
bool mail_obfuscated(const char *s, size_t len);

/* A bump allocator of strings, reset per message. Bounded: allocations fail (NULL) past
 * `limit` bytes in all. */
struct mail_arena {
    struct mail_chunk *head;
    size_t used_total, limit;
};
void mail_arena_init(struct mail_arena *a, size_t limit);
void mail_arena_reset(struct mail_arena *a); /* keeps the first chunk */
void mail_arena_fini(struct mail_arena *a);
void *mail_arena_alloc(struct mail_arena *a, size_t n);
char *mail_arena_strndup(struct mail_arena *a, const char *s, size_t n);

/* Extraction of URLs into a callback (url.c, html.c). */
struct mail_urlx {
    const char *const *redirectors;
    size_t max_urls, count;
    bool stopped, dropped;
    int (*fn)(void *user, const struct ks_mail_url *u);
    void *user;
    /* distinct URLs of this call: a small open-addressed set of hashes */
    uint64_t *seen;
    size_t seen_cap;
    uint16_t gen; /* 0: empty slots are 0; else slots of other generations are empty (the
                     set is reused across calls without clearing) */
};
/* Reports one raw URL candidate (not normalised yet): normalises, dedupes, unwraps. */
void mail_urlx_add(struct mail_urlx *x, const char *raw, size_t len, const char *where,
                   unsigned flags, const char *shown);
/* Scans plain text for URLs (after deobfuscation). */
void mail_urlx_text(struct mail_urlx *x, const char *s, size_t len, const char *where);
/* Reports the URLs of HTML: the attributes and text nodes of its tree (html.c). The tokenizer
 * (htmltok.c) when the document's tree is its token sequence, else Gumbo's tree; tree = true:
 * always Gumbo (the reference). */
void mail_urlx_html(struct mail_urlx *x, const char *s, size_t len);
void mail_urlx_html_tree(struct mail_urlx *x, const char *s, size_t len, bool tree);
/* The tokenizer: reports through the given attribute handlers and returns true, or returns
 * false having reported nothing when the document needs the tree builder. */
bool mail_urlx_html_fast(struct mail_urlx *x, const char *s, size_t len,
                         void (*attr)(struct mail_urlx *, const char *, size_t, const char *,
                                      const char *),
                         void (*srcset)(struct mail_urlx *, const char *, size_t),
                         void (*refresh)(struct mail_urlx *, const char *, size_t));
/* The oracle of the MIME walker (walker.c): false if two analyses of a message agree in every
 * field, URL and attachment; else true with the first difference in why. */
bool mail_msg_diff(const struct ks_mail_msg *a, const struct ks_mail_msg *b, char *why,
                   size_t size);
/* Finds the first host-like token in text (for link text): writes its registered domain. */
bool mail_text_domain(const char *s, size_t len, char *dom, size_t size);

#endif
