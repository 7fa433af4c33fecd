/* Small helpers of the mail module: ASCII case-insensitive matching and a bounded arena. */
#include "mail_int.h"

#include <stdlib.h>
#include <string.h>

/* Both walk the literal once, without a strlen of it first (they run per URL and word). */
bool mail_ieq(const char *p, size_t n, const char *lit)
{
    for (size_t i = 0; i < n; i++)
        if (!lit[i] || mail_lower((unsigned char)p[i]) != (unsigned char)lit[i])
            return false;
    return lit[n] == '\0';
}

bool mail_iprefix(const char *p, size_t n, const char *lit)
{
    for (size_t i = 0; lit[i]; i++)
        if (i >= n || mail_lower((unsigned char)p[i]) != (unsigned char)lit[i])
            return false;
    return true;
}

bool mail_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        /* mail is mostly ASCII: 8 bytes at a time while none has the top bit or is NUL */
        while (i + 8 <= n) {
            uint64_t v;
            memcpy(&v, p + i, 8);
            if ((v & 0x8080808080808080u) || ((v - 0x0101010101010101u) & ~v & 0x8080808080808080u))
                break;
            i += 8;
        }
        if (i >= n)
            break;
        if (p[i] < 0x80) {
            if (p[i] == 0)
                return false;
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = mail_utf8_seq(p, n, i, &cp);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

size_t mail_ifind(const char *p, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (k == 0)
        return 0;
    if (n < k)
        return SIZE_MAX;
    for (size_t i = 0; i + k <= n; i++) {
        if (mail_lower((unsigned char)p[i]) != (unsigned char)lit[0])
            continue;
        if (mail_iprefix(p + i, n - i, lit))
            return i;
    }
    return SIZE_MAX;
}

struct mail_chunk {
    struct mail_chunk *next;
    size_t size, used;
    max_align_t data[];
};

#define ARENA_CHUNK (64u << 10)

void mail_arena_init(struct mail_arena *a, size_t limit)
{
    a->head = NULL;
    a->used_total = 0;
    a->limit = limit;
}

void mail_arena_reset(struct mail_arena *a)
{
    struct mail_chunk *c = a->head;
    if (!c)
        return;
    /* keep the last chunk of the list (the first one allocated) */
    while (c->next) {
        struct mail_chunk *n = c->next;
        free(c);
        c = n;
    }
    c->used = 0;
    a->head = c;
    a->used_total = 0;
}

void mail_arena_fini(struct mail_arena *a)
{
    struct mail_chunk *c = a->head;
    while (c) {
        struct mail_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
}

void *mail_arena_alloc(struct mail_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0 || n > a->limit || a->used_total + n > a->limit)
        return NULL;
    struct mail_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t sz = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        c = malloc(sizeof *c + sz);
        if (!c)
            return NULL;
        c->size = sz;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    a->used_total += n;
    return p;
}

char *mail_arena_strndup(struct mail_arena *a, const char *s, size_t n)
{
    char *p = mail_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
