#include "core/cur.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static const uint8_t buf[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                              0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};

static void integers_are_read_in_both_byte_orders(void **state)
{
    struct ks_cur c = ks_cur_make(buf, sizeof buf);
    assert_int_equal(ks_cur_u8(&c), 0x01);
    assert_int_equal(ks_cur_u16be(&c), 0x0203);
    assert_int_equal(ks_cur_u16le(&c), 0x0504);
    assert_int_equal(ks_cur_u32be(&c), 0x06070809);
    assert_int_equal(ks_cur_u32le(&c), 0x0d0c0b0a);
    assert_int_equal(ks_cur_left(&c), 3);
    assert_int_equal(ks_cur_offset(&c), 13);
    assert_int_equal(ks_cur_err(&c), KS_OK);

    c = ks_cur_make(buf, sizeof buf);
    assert_true(ks_cur_u64be(&c) == 0x0102030405060708ull);
    assert_true(ks_cur_u64le(&c) == 0x100f0e0d0c0b0a09ull);
    assert_int_equal(ks_cur_left(&c), 0);
    assert_int_equal(ks_cur_err(&c), KS_OK);
}

static void read_past_end_returns_zero_and_sticks(void **state)
{
    struct ks_cur c = ks_cur_make(buf, 3);
    assert_int_equal(ks_cur_u16be(&c), 0x0102);
    assert_int_equal(ks_cur_u16be(&c), 0); /* one byte left: fails */
    assert_int_equal(ks_cur_err(&c), KS_ETRUNC);
    assert_int_equal(ks_cur_offset(&c), 2); /* where the failing read started */
    assert_int_equal(ks_cur_left(&c), 0);
    assert_int_equal(ks_cur_u8(&c), 0); /* the byte that was left is no longer readable */
    assert_null(ks_cur_ptr(&c, 0));
    assert_int_equal(ks_cur_err(&c), KS_ETRUNC);
}

static void failed_skip_consumes_nothing_but_fails(void **state)
{
    struct ks_cur c = ks_cur_make(buf, 4);
    ks_cur_skip(&c, 5);
    assert_int_equal(ks_cur_err(&c), KS_ETRUNC);
    assert_int_equal(ks_cur_offset(&c), 0);
    c = ks_cur_make(buf, 4);
    ks_cur_skip(&c, SIZE_MAX);
    assert_int_equal(ks_cur_err(&c), KS_ETRUNC);
}

static void bytes_copies_or_zeroes(void **state)
{
    uint8_t out[4];
    struct ks_cur c = ks_cur_make(buf, 6);
    assert_int_equal(ks_cur_bytes(&c, out, 4), KS_OK);
    assert_memory_equal(out, buf, 4);
    memset(out, 0xaa, sizeof out);
    assert_int_equal(ks_cur_bytes(&c, out, 4), KS_ETRUNC);
    static const uint8_t zero[4];
    assert_memory_equal(out, zero, 4);
}

static void ptr_borrows_and_advances(void **state)
{
    struct ks_cur c = ks_cur_make(buf, sizeof buf);
    const uint8_t *p = ks_cur_ptr(&c, 4);
    assert_ptr_equal(p, buf);
    assert_ptr_equal(ks_cur_ptr(&c, 0), buf + 4);
    assert_null(ks_cur_ptr(&c, 13));
    assert_int_equal(ks_cur_err(&c), KS_ETRUNC);
}

static void sub_cursor_continues_offsets_and_bounds_reads(void **state)
{
    struct ks_cur c = ks_cur_make_at(buf, sizeof buf, 1000);
    ks_cur_skip(&c, 2);
    struct ks_cur s = ks_cur_sub(&c, 4);
    assert_int_equal(ks_cur_offset(&c), 1006);
    assert_int_equal(ks_cur_offset(&s), 1002);
    assert_int_equal(ks_cur_u32be(&s), 0x03040506);
    assert_int_equal(ks_cur_u8(&s), 0); /* child is bounded */
    assert_int_equal(ks_cur_err(&s), KS_ETRUNC);
    assert_int_equal(ks_cur_err(&c), KS_OK); /* the parent is not affected */
    assert_int_equal(ks_cur_u8(&c), 0x07);
}

static void sub_cursor_too_long_fails_both(void **state)
{
    struct ks_cur c = ks_cur_make(buf, 4);
    struct ks_cur s = ks_cur_sub(&c, 5);
    assert_int_equal(ks_cur_err(&c), KS_ETRUNC);
    assert_int_equal(ks_cur_err(&s), KS_ETRUNC);
    assert_int_equal(ks_cur_left(&s), 0);
    assert_ptr_equal(s.p, buf); /* still points inside the buffer */
    assert_int_equal(ks_cur_u8(&s), 0);
}

static void peek_does_not_advance(void **state)
{
    struct ks_cur c = ks_cur_make(buf, 1);
    assert_int_equal(ks_cur_peek_u8(&c), 0x01);
    assert_int_equal(ks_cur_left(&c), 1);
    ks_cur_skip(&c, 1);
    assert_int_equal(ks_cur_peek_u8(&c), 0);
    assert_int_equal(ks_cur_err(&c), KS_OK);
}

static void null_buffer_is_empty(void **state)
{
    struct ks_cur c = ks_cur_make(NULL, 10);
    assert_int_equal(ks_cur_left(&c), 0);
    assert_non_null(ks_cur_ptr(&c, 0));
    assert_int_equal(ks_cur_u8(&c), 0);
    assert_int_equal(ks_cur_err(&c), KS_ETRUNC);
}

static void fail_keeps_first_error(void **state)
{
    struct ks_cur c = ks_cur_make(buf, sizeof buf);
    ks_cur_fail(&c, KS_EFORMAT);
    ks_cur_u8(&c);
    assert_int_equal(ks_cur_err(&c), KS_EFORMAT);
}

static void lines_handle_lf_crlf_and_missing_eol(void **state)
{
    const char *text = "one\r\ntwo\n\nlast\r";
    struct ks_cur c = ks_cur_make(text, strlen(text));
    const uint8_t *l;
    size_t n;
    assert_int_equal(ks_cur_line(&c, 100, &l, &n), KS_CUR_LINE);
    assert_int_equal(n, 3);
    assert_memory_equal(l, "one", 3);
    assert_int_equal(ks_cur_line(&c, 100, &l, &n), KS_CUR_LINE);
    assert_memory_equal(l, "two", 3);
    assert_int_equal(ks_cur_offset(&c), 9);
    assert_int_equal(ks_cur_line(&c, 100, &l, &n), KS_CUR_LINE);
    assert_int_equal(n, 0);
    assert_int_equal(ks_cur_line(&c, 100, &l, &n), KS_CUR_LINE | KS_CUR_LINE_NOEOL);
    assert_int_equal(n, 5); /* the lone \r is kept when no \n follows */
    assert_int_equal(ks_cur_line(&c, 100, &l, &n), 0);
    assert_null(l);
    assert_int_equal(ks_cur_err(&c), KS_OK);
}

static void long_line_is_truncated_flagged_and_skipped(void **state)
{
    const char *text = "abcdefghij\nxy\n";
    struct ks_cur c = ks_cur_make(text, strlen(text));
    const uint8_t *l;
    size_t n;
    assert_int_equal(ks_cur_line(&c, 4, &l, &n), KS_CUR_LINE | KS_CUR_LINE_LONG);
    assert_int_equal(n, 4);
    assert_memory_equal(l, "abcd", 4);
    assert_int_equal(ks_cur_line(&c, 4, &l, &n), KS_CUR_LINE);
    assert_int_equal(n, 2);
    assert_memory_equal(l, "xy", 2);
    /* A line of exactly max bytes is not flagged. */
    c = ks_cur_make("abcd\r\n", 6);
    assert_int_equal(ks_cur_line(&c, 4, &l, &n), KS_CUR_LINE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers_are_read_in_both_byte_orders),
        cmocka_unit_test(read_past_end_returns_zero_and_sticks),
        cmocka_unit_test(failed_skip_consumes_nothing_but_fails),
        cmocka_unit_test(bytes_copies_or_zeroes),
        cmocka_unit_test(ptr_borrows_and_advances),
        cmocka_unit_test(sub_cursor_continues_offsets_and_bounds_reads),
        cmocka_unit_test(sub_cursor_too_long_fails_both),
        cmocka_unit_test(peek_does_not_advance),
        cmocka_unit_test(null_buffer_is_empty),
        cmocka_unit_test(fail_keeps_first_error),
        cmocka_unit_test(lines_handle_lf_crlf_and_missing_eol),
        cmocka_unit_test(long_line_is_truncated_flagged_and_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
