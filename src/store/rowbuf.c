/* Rows held in memory in the encoding of ks_store.h (struct ks_store_rowbuf). */
#include "kansoku/ks_store.h"

#include "core/cur.h"

#include <stdlib.h>
#include <string.h>

static int reserve(struct ks_store_rowbuf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return KS_OK;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + more)
        cap *= 2;
    uint8_t *n = realloc(b->buf, cap);
    if (!n)
        return KS_ENOMEM;
    b->buf = n;
    b->cap = cap;
    return KS_OK;
}

static uint8_t *put_be(uint8_t *p, uint64_t x, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        p[i] = (uint8_t)x;
        x >>= 8;
    }
    return p + bytes;
}

static bool is_bytes(enum ks_store_type t)
{
    return t == KS_TYPE_TEXT || t == KS_TYPE_BLOB || t == KS_TYPE_ADDR;
}

int ks_store_rowbuf_add(struct ks_store_rowbuf *b, int table_id, const struct ks_store_value *v,
                        size_t n)
{
    if (n > KS_STORE_ROW_MAX_COLS || table_id < 0 || table_id > 255)
        return KS_EINVAL;
    size_t need = 2;
    for (size_t i = 0; i < n; i++) {
        if (is_bytes(v[i].type) && v[i].v.bytes.len > UINT32_MAX)
            return KS_EINVAL;
        need += 1 + (v[i].type == KS_TYPE_NULL ? 0
                     : is_bytes(v[i].type)     ? 4 + v[i].v.bytes.len
                                               : 8);
    }
    if (reserve(b, need) != KS_OK)
        return KS_ENOMEM;
    uint8_t *p = b->buf + b->len;
    *p++ = (uint8_t)table_id;
    *p++ = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        *p++ = (uint8_t)v[i].type;
        if (v[i].type == KS_TYPE_NULL)
            continue;
        if (is_bytes(v[i].type)) {
            p = put_be(p, v[i].v.bytes.len, 4);
            if (v[i].v.bytes.len)
                memcpy(p, v[i].v.bytes.ptr, v[i].v.bytes.len);
            p += v[i].v.bytes.len;
        } else if (v[i].type == KS_TYPE_F64) {
            uint64_t bits;
            memcpy(&bits, &v[i].v.f64, 8);
            p = put_be(p, bits, 8);
        } else {
            p = put_be(p, v[i].v.u64, 8);
        }
    }
    b->len = (size_t)(p - b->buf);
    b->rows++;
    return KS_OK;
}

void ks_store_rowbuf_clear(struct ks_store_rowbuf *b, size_t keep)
{
    if (b->cap > keep) {
        free(b->buf);
        b->buf = NULL;
        b->cap = 0;
    }
    b->len = 0;
    b->rows = 0;
}

void ks_store_rowbuf_free(struct ks_store_rowbuf *b)
{
    free(b->buf);
    memset(b, 0, sizeof *b);
}

int ks_store_rowbuf_next(const uint8_t *buf, size_t len, size_t *at, int *table_id,
                         struct ks_store_value *vals, size_t *n)
{
    if (*at > len)
        return KS_EFORMAT;
    struct ks_cur c = ks_cur_make(buf + *at, len - *at);
    *table_id = ks_cur_u8(&c);
    *n = ks_cur_u8(&c);
    if (*n > KS_STORE_ROW_MAX_COLS)
        return KS_EFORMAT;
    for (size_t i = 0; i < *n; i++) {
        uint8_t t = ks_cur_u8(&c);
        memset(&vals[i], 0, sizeof vals[i]);
        vals[i].type = (enum ks_store_type)t;
        switch (t) {
        case KS_TYPE_NULL:
            break;
        case KS_TYPE_TEXT:
        case KS_TYPE_BLOB:
        case KS_TYPE_ADDR: {
            uint32_t l = ks_cur_u32be(&c);
            vals[i].v.bytes.len = l;
            vals[i].v.bytes.ptr = ks_cur_ptr(&c, l);
            break;
        }
        case KS_TYPE_F64: {
            uint64_t bits = ks_cur_u64be(&c);
            memcpy(&vals[i].v.f64, &bits, 8);
            break;
        }
        case KS_TYPE_I64:
        case KS_TYPE_U64:
        case KS_TYPE_TIME:
            vals[i].v.u64 = ks_cur_u64be(&c);
            break;
        default:
            return KS_EFORMAT;
        }
    }
    if (ks_cur_err(&c))
        return KS_EFORMAT;
    *at += ks_cur_offset(&c);
    return KS_OK;
}
