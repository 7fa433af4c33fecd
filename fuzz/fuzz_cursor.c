/* Drives cursors with operations decoded from the input over the rest of the input: the
 * cursor must never read outside its buffer (the replay harness and libFuzzer both give an
 * exact-size buffer, so ASan sees any overread) and its bookkeeping must stay consistent.
 * Layout: byte 0 = number of op bytes k, then k op bytes, then the buffer. */
#include "core/cur.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct ks_cur *c, const uint8_t *base, size_t len, size_t base_off)
{
    if (c->left > len || c->p < base || (size_t)(c->p - base) > len - c->left)
        abort();
    if (c->err == KS_OK && c->off != base_off + (size_t)(c->p - base))
        abort();
    if (c->err != KS_OK && c->left != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t k = data[0];
    if (k > size - 1)
        k = size - 1;
    const uint8_t *ops = data + 1;
    const uint8_t *buf = data + 1 + k;
    size_t len = size - 1 - k;

    struct ks_cur stack[8];
    int top = 0;
    stack[0] = ks_cur_make_at(buf, len, 100);
    volatile uint64_t sink = 0;
    for (size_t i = 0; i < k; i++) {
        struct ks_cur *c = &stack[top];
        uint8_t op = ops[i] & 15, arg = ops[i] >> 4;
        uint8_t tmp[16];
        const uint8_t *line;
        size_t n;
        switch (op) {
        case 0:
            sink += ks_cur_u8(c);
            break;
        case 1:
            sink += ks_cur_u16be(c) + ks_cur_u16le(c);
            break;
        case 2:
            sink += ks_cur_u32be(c) + ks_cur_u32le(c);
            break;
        case 3:
            sink += ks_cur_u64be(c) + ks_cur_u64le(c);
            break;
        case 4:
            ks_cur_skip(c, arg);
            break;
        case 5:
            ks_cur_bytes(c, tmp, arg);
            sink += tmp[0];
            break;
        case 6: {
            const uint8_t *p = ks_cur_ptr(c, arg);
            for (size_t j = 0; p && j < arg; j++)
                sink += p[j];
            break;
        }
        case 7:
            if (top < 7) {
                stack[top + 1] = ks_cur_sub(c, arg);
                top++;
            }
            break;
        case 8:
            if (top > 0)
                top--;
            break;
        case 9:
            if (ks_cur_line(c, arg, &line, &n)) {
                if (n > arg)
                    abort();
                for (size_t j = 0; j < n; j++)
                    sink += line[j];
            }
            break;
        case 10:
            sink += ks_cur_peek_u8(c);
            break;
        case 11:
            ks_cur_skip(c, (size_t)-1 - arg);
            break;
        case 12:
            ks_cur_fail(c, KS_EFORMAT);
            break;
        default:
            sink += ks_cur_left(c) + ks_cur_offset(c);
            break;
        }
        for (int d = 0; d <= top; d++)
            check(&stack[d], buf, len, 100);
    }
    (void)sink;
    return 0;
}
