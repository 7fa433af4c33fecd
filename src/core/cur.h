/* Bounded byte cursor: the one way kansoku parsers read bytes (STYLE.md, "Parsing").
 *
 * A cursor is a pointer, the number of bytes left, the offset of the pointer from the start of
 * the top-level buffer (for diagnostics) and a sticky error. A read that needs more bytes than
 * are left returns 0 (or NULL, or zeroed output), sets err = KS_ETRUNC, empties the cursor and
 * makes every later read a no-op, so a structure can be read straight through and checked once:
 *
 *     struct ks_cur c = ks_cur_make(buf, len);
 *     uint16_t n = ks_cur_u16be(&c);
 *     struct ks_cur body = ks_cur_sub(&c, n);
 *     if (ks_cur_err(&c)) ...             (ks_cur_offset(&c) says where)
 *
 * After an error, ks_cur_offset() stays at the offset of the read that failed.
 * Header-only; no allocation; a cursor is a plain value that may be copied to save a position.
 * No function here reads outside [p, p + left). Not thread-safe per cursor (nothing shared). */
#ifndef KS_CUR_H
#define KS_CUR_H

#include "kansoku/ks_core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ks_cur {
    const uint8_t *p; /* next byte to read */
    size_t left;      /* bytes left from p */
    size_t off;       /* offset of p from the start of the top buffer */
    int err;          /* KS_OK or the first error (sticky) */
};

static inline struct ks_cur ks_cur_make_at(const void *buf, size_t len, size_t base_offset)
{
    /* A NULL buffer is an empty one (p stays non-NULL so that 0-byte borrows succeed). */
    struct ks_cur c = {buf ? (const uint8_t *)buf : (const uint8_t *)"", buf ? len : 0, base_offset,
                       KS_OK};
    return c;
}

static inline struct ks_cur ks_cur_make(const void *buf, size_t len)
{
    return ks_cur_make_at(buf, len, 0);
}

static inline size_t ks_cur_left(const struct ks_cur *c)
{
    return c->left;
}

static inline size_t ks_cur_offset(const struct ks_cur *c)
{
    return c->off;
}

static inline int ks_cur_err(const struct ks_cur *c)
{
    return c->err;
}

/* Marks the cursor failed with err (the first error wins) and empties it. Parsers use it for
 * semantic errors too (e.g. KS_EFORMAT for a bad version byte). */
static inline void ks_cur_fail(struct ks_cur *c, int err)
{
    if (c->err == KS_OK)
        c->err = err;
    c->left = 0;
}

/* Takes n bytes: returns a pointer to them and advances, or NULL and fails with KS_ETRUNC. */
static inline const uint8_t *ks_cur_take_(struct ks_cur *c, size_t n)
{
    if (c->err != KS_OK || n > c->left) {
        ks_cur_fail(c, KS_ETRUNC);
        return NULL;
    }
    const uint8_t *q = c->p;
    c->p += n;
    c->left -= n;
    c->off += n;
    return q;
}

static inline uint8_t ks_cur_u8(struct ks_cur *c)
{
    const uint8_t *q = ks_cur_take_(c, 1);
    return q ? q[0] : 0;
}

/* The next byte without advancing; 0 (and no error) at the end. */
static inline uint8_t ks_cur_peek_u8(const struct ks_cur *c)
{
    return c->left ? c->p[0] : 0;
}

static inline uint16_t ks_cur_u16be(struct ks_cur *c)
{
    const uint8_t *q = ks_cur_take_(c, 2);
    return q ? (uint16_t)((unsigned)q[0] << 8 | q[1]) : 0;
}

static inline uint16_t ks_cur_u16le(struct ks_cur *c)
{
    const uint8_t *q = ks_cur_take_(c, 2);
    return q ? (uint16_t)((unsigned)q[1] << 8 | q[0]) : 0;
}

static inline uint32_t ks_cur_u32be(struct ks_cur *c)
{
    const uint8_t *q = ks_cur_take_(c, 4);
    if (!q)
        return 0;
    return (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
}

static inline uint32_t ks_cur_u32le(struct ks_cur *c)
{
    const uint8_t *q = ks_cur_take_(c, 4);
    if (!q)
        return 0;
    return (uint32_t)q[3] << 24 | (uint32_t)q[2] << 16 | (uint32_t)q[1] << 8 | q[0];
}

static inline uint64_t ks_cur_u64be(struct ks_cur *c)
{
    const uint8_t *q = ks_cur_take_(c, 8);
    uint64_t v = 0;
    if (q)
        for (int i = 0; i < 8; i++)
            v = v << 8 | q[i];
    return v;
}

static inline uint64_t ks_cur_u64le(struct ks_cur *c)
{
    const uint8_t *q = ks_cur_take_(c, 8);
    uint64_t v = 0;
    if (q)
        for (int i = 7; i >= 0; i--)
            v = v << 8 | q[i];
    return v;
}

/* Skips n bytes; fails with KS_ETRUNC (skipping nothing) if fewer are left. */
static inline void ks_cur_skip(struct ks_cur *c, size_t n)
{
    (void)ks_cur_take_(c, n);
}

/* Copies n bytes to dst and advances. If fewer are left, dst is zeroed and the cursor fails.
 * Returns KS_OK or the cursor's error. */
static inline int ks_cur_bytes(struct ks_cur *c, void *dst, size_t n)
{
    const uint8_t *q = ks_cur_take_(c, n);
    if (!q) {
        if (n)
            memset(dst, 0, n);
        return c->err;
    }
    if (n)
        memcpy(dst, q, n);
    return KS_OK;
}

/* Borrows n bytes of the buffer (valid as long as the buffer is) and advances; NULL and fails
 * if fewer are left. n == 0 returns the current position (non-NULL when the cursor is sound). */
static inline const uint8_t *ks_cur_ptr(struct ks_cur *c, size_t n)
{
    return ks_cur_take_(c, n);
}

/* A child cursor over the next n bytes; the parent advances past them. The child's offsets
 * continue the parent's. If fewer than n are left, the parent fails and the child is empty and
 * failed too, so reads on either are no-ops. */
static inline struct ks_cur ks_cur_sub(struct ks_cur *c, size_t n)
{
    size_t off = c->off;
    const uint8_t *q = ks_cur_take_(c, n);
    struct ks_cur s = {q ? q : c->p, q ? n : 0, off, q ? KS_OK : c->err};
    return s;
}

/* ks_cur_line() result bits (0 = no line: the cursor is empty or failed). */
enum {
    KS_CUR_LINE = 1u,       /* a line was returned */
    KS_CUR_LINE_LONG = 2u,  /* longer than max: truncated to max bytes, the rest skipped */
    KS_CUR_LINE_NOEOL = 4u, /* the input ended without '\n' */
};

/* Reads one line: *line and *len get its bytes without the "\n" or "\r\n" terminator, and the
 * cursor moves past the terminator. A line longer than max bytes is returned truncated to max
 * bytes and flagged KS_CUR_LINE_LONG; the cursor still moves past its end. The last line may
 * lack '\n' (flagged KS_CUR_LINE_NOEOL; a lone trailing '\r' is then kept). Returns a mask of
 * the bits above, 0 when nothing is left. The end of input is not an error. */
static inline unsigned ks_cur_line(struct ks_cur *c, size_t max, const uint8_t **line, size_t *len)
{
    *line = NULL;
    *len = 0;
    if (c->err != KS_OK || c->left == 0)
        return 0;
    unsigned r = KS_CUR_LINE;
    const uint8_t *nl = (const uint8_t *)memchr(c->p, '\n', c->left);
    size_t n, adv;
    if (nl) {
        n = (size_t)(nl - c->p);
        adv = n + 1;
        if (n > 0 && c->p[n - 1] == '\r')
            n--;
    } else {
        n = adv = c->left;
        r |= KS_CUR_LINE_NOEOL;
    }
    if (n > max) {
        n = max;
        r |= KS_CUR_LINE_LONG;
    }
    *line = c->p;
    *len = n;
    c->p += adv;
    c->left -= adv;
    c->off += adv;
    return r;
}

#endif
