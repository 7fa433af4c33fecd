/* The analyst's notes file (docs/report.md, "Notes file"): prose blocks and settings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_int.h"

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static size_t trim(const char **s, size_t n)
{
    while (n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        n--;
    }
    while (n > 0 && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t' || (*s)[n - 1] == '\r'))
        n--;
    return n;
}

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

void notes_free(struct notes *n)
{
    for (size_t i = 0; i < n->nblocks; i++) {
        free(n->blocks[i].name);
        free(n->blocks[i].lang);
        free(n->blocks[i].text);
    }
    for (size_t i = 0; i < n->nkv; i++) {
        free(n->kv[i].section);
        free(n->kv[i].key);
        free(n->kv[i].value);
    }
    free(n->blocks);
    free(n->kv);
    memset(n, 0, sizeof *n);
}

/* Appends a line to the current block's text. */
static int block_append(struct notes_block *b, const char *s, size_t n)
{
    size_t old = b->text ? strlen(b->text) : 0;
    if (old + n + 2 > NOTES_MAX_BYTES)
        return KS_ELIMIT;
    char *t = realloc(b->text, old + n + 2);
    if (!t)
        return KS_ENOMEM;
    if (old > 0)
        t[old++] = '\n';
    memcpy(t + old, s, n);
    t[old + n] = '\0';
    b->text = t;
    return KS_OK;
}

/* Drops leading and trailing blank lines of a block. */
static void block_trim(struct notes_block *b)
{
    if (!b->text)
        return;
    char *s = b->text;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
    size_t k = 0;
    while (k < n && s[k] == '\n')
        k++;
    memmove(s, s + k, n - k + 1);
}

int notes_parse(const char *buf, size_t len, const char *source, const struct ks_diag *diag,
                struct notes *n)
{
    enum { NONE, PROSE, SETTINGS } mode = NONE;
    char section[64] = "";
    uint32_t reported = 0, line = 0;
    size_t pos = 0;
    memset(n, 0, sizeof *n);
    if (len > NOTES_MAX_BYTES)
        len = NOTES_MAX_BYTES;
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        pos = 3;
    n->blocks = calloc(NOTES_MAX_BLOCKS, sizeof *n->blocks);
    n->kv = calloc(NOTES_MAX_KV, sizeof *n->kv);
    if (!n->blocks || !n->kv) {
        notes_free(n);
        return KS_ENOMEM;
    }
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        const char *s = buf + pos;
        size_t l = (size_t)((nl ? nl : buf + len) - s);
        struct ks_loc loc = {.source = source, .offset = pos, .line = ++line};
        pos += l + (nl ? 1 : 0);
        if (memchr(s, '\0', l)) {
            n->bad++;
            ks_diag_report(diag, &reported, "report", &loc, KS_EFORMAT, "NUL byte, line skipped");
            continue;
        }
        const char *t = s;
        size_t tl = trim(&t, l);
        if (tl > 0 && t[0] == '#')
            continue;
        if (tl >= 2 && t[0] == '[' && t[tl - 1] == ']') {
            const char *name = t + 1;
            size_t nlen = tl - 2;
            if (!name_ok(name, nlen)) {
                n->bad++;
                mode = NONE;
                ks_diag_report(diag, &reported, "report", &loc, KS_EFORMAT,
                               "bad block name (a-z 0-9 . _ - only), block skipped");
                continue;
            }
            snprintf(section, sizeof section, "%.*s", (int)nlen, name);
            if (strcmp(section, "config") == 0 || strcmp(section, "ext") == 0) {
                mode = SETTINGS;
                continue;
            }
            if (n->nblocks == NOTES_MAX_BLOCKS) {
                n->bad++;
                mode = NONE;
                ks_diag_report(diag, &reported, "report", &loc, KS_ELIMIT,
                               "more than %d blocks, block skipped", NOTES_MAX_BLOCKS);
                continue;
            }
            struct notes_block *b = &n->blocks[n->nblocks];
            /* The name is not NUL-terminated (it points into the file): lengths only. */
            const char *lang = "";
            size_t llen = 0;
            if (nlen > 3 && (memcmp(name + nlen - 3, ".ja", 3) == 0 ||
                             memcmp(name + nlen - 3, ".en", 3) == 0)) {
                lang = name + nlen - 2;
                llen = 2;
                nlen -= 3;
            }
            b->name = dup_n(name, nlen);
            b->lang = dup_n(lang, llen);
            b->text = NULL;
            if (!b->name || !b->lang) {
                notes_free(n);
                return KS_ENOMEM;
            }
            n->nblocks++;
            mode = PROSE;
            continue;
        }
        if (mode == PROSE) {
            int rc = block_append(&n->blocks[n->nblocks - 1], t, tl);
            if (rc == KS_ENOMEM) {
                notes_free(n);
                return rc;
            }
            continue;
        }
        if (tl == 0)
            continue;
        const char *eq = memchr(t, '=', tl);
        if (mode != SETTINGS || !eq) {
            n->bad++;
            ks_diag_report(diag, &reported, "report", &loc, KS_EFORMAT,
                           mode != SETTINGS ? "text outside a [block], skipped"
                                            : "not 'key = value', skipped");
            continue;
        }
        const char *k = t, *v = eq + 1;
        size_t kl = trim(&k, (size_t)(eq - t)), vl = trim(&v, tl - (size_t)(eq - t) - 1);
        if (!name_ok(k, kl) || n->nkv == NOTES_MAX_KV) {
            n->bad++;
            ks_diag_report(diag, &reported, "report", &loc, KS_EFORMAT,
                           n->nkv == NOTES_MAX_KV ? "too many settings, skipped"
                                                  : "bad key (a-z 0-9 . _ - only), skipped");
            continue;
        }
        struct notes_kv *e = &n->kv[n->nkv];
        e->section = dup_n(section, strlen(section));
        e->key = dup_n(k, kl);
        e->value = dup_n(v, vl);
        if (!e->section || !e->key || !e->value) {
            free(e->section), free(e->key), free(e->value);
            notes_free(n);
            return KS_ENOMEM;
        }
        n->nkv++;
    }
    for (size_t i = 0; i < n->nblocks; i++)
        block_trim(&n->blocks[i]);
    return KS_OK;
}

const char *notes_text(const struct notes *n, const char *name, const char *lang)
{
    const char *any = NULL;
    if (!n)
        return NULL;
    /* Later blocks of the same name win. */
    for (size_t i = n->nblocks; i-- > 0;) {
        const struct notes_block *b = &n->blocks[i];
        if (strcmp(b->name, name) != 0 || !b->text || !b->text[0])
            continue;
        if (strcmp(b->lang, lang) == 0)
            return b->text;
        if (!b->lang[0] && !any)
            any = b->text;
    }
    return any;
}

const char *notes_get(const struct notes *n, const char *section, const char *key)
{
    if (!n)
        return NULL;
    for (size_t i = n->nkv; i-- > 0;)
        if (strcmp(n->kv[i].section, section) == 0 && strcmp(n->kv[i].key, key) == 0)
            return n->kv[i].value;
    return NULL;
}
