/* Unit tests of the report's chart library: ticks, scaling, shares, stacking order, escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/rbuf.h"
#include "report/svg.h"

static void nice_steps_are_1_2_2point5_5_times_a_power_of_ten(void **state)
{
    (void)state;
    assert_true(fabs(svg_nice_step(100, 5) - 20) < 1e-9);
    assert_true(fabs(svg_nice_step(2500, 5) - 500) < 1e-9);
    assert_true(fabs(svg_nice_step(2.3, 5) - 0.5) < 1e-9);
    assert_true(fabs(svg_nice_step(7, 5) - 2) < 1e-9);
    assert_true(fabs(svg_nice_step(12, 5) - 2.5) < 1e-9);
    assert_true(fabs(svg_nice_step(0, 5) - 1) < 1e-9);
}

static void axis_top_covers_the_maximum_at_a_step(void **state)
{
    (void)state;
    double top, step;
    svg_axis_range(0, 27, 5, &top, &step);
    assert_true(fabs(step - 10) < 1e-9 && fabs(top - 30) < 1e-9);
    svg_axis_range(0, 2.2, 5, &top, &step);
    assert_true(fabs(step - 0.5) < 1e-9 && fabs(top - 2.5) < 1e-9);
    svg_axis_range(50, 89, 5, &top, &step);
    assert_true(fabs(step - 10) < 1e-9 && fabs(top - 90) < 1e-9);
    svg_axis_range(0, 0, 5, &top, &step);
    assert_true(top > 0);
}

static void a_few_outlying_days_cap_the_axis(void **state)
{
    (void)state;
    double t[92];
    for (int i = 0; i < 92; i++)
        t[i] = 200 + (i * 37) % 700;
    t[10] = 8259;
    t[40] = 9485;
    t[70] = 3592;
    double cap = svg_axis_cap(t, 92);
    assert_true(cap >= 900 && cap <= 1000);
    /* No outliers: no cap. */
    t[10] = t[40] = t[70] = 500;
    assert_true(svg_axis_cap(t, 92) == 0);
    /* Missing days are ignored. */
    t[5] = NAN;
    assert_true(svg_axis_cap(t, 92) == 0);
}

static void shares_round_by_largest_remainder_to_exactly_100(void **state)
{
    (void)state;
    double v[5] = {20, 7, 7, 4, 6};
    long u[5];
    svg_round_shares(v, 5, 1, u);
    assert_int_equal(u[0], 455);
    assert_int_equal(u[1], 159);
    assert_int_equal(u[2], 159);
    assert_int_equal(u[3], 91);
    assert_int_equal(u[4], 136);
    double w[3] = {1, 1, 1};
    svg_round_shares(w, 3, 0, u);
    assert_int_equal(u[0] + u[1] + u[2], 100);
    assert_int_equal(u[0], 34); /* ties go to the first */
    double z[2] = {0, 0};
    svg_round_shares(z, 2, 2, u);
    assert_int_equal(u[0] + u[1], 0);
}

static void numbers_get_thousands_separators(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(fmt_num(b, sizeof b, 8259, 0), "8,259");
    assert_string_equal(fmt_num(b, sizeof b, 1234567.891, 2), "1,234,567.89");
    assert_string_equal(fmt_num(b, sizeof b, -1234.5, 2), "-1,234.50");
    assert_string_equal(fmt_num(b, sizeof b, -0.04, 1), "0.0");
    assert_string_equal(fmt_num(b, sizeof b, 999, 0), "999");
    assert_string_equal(fmt_num(b, sizeof b, NAN, 0), "—");
    struct rbuf r;
    rb_init(&r);
    rb_coord(&r, 12.5);
    rb_puts(&r, " ");
    rb_coord(&r, -3.004);
    rb_puts(&r, " ");
    rb_coord(&r, 0.126);
    assert_string_equal(rb_str(&r), "12.5 -3 0.13");
    rb_free(&r);
}

static void text_is_escaped_in_svg(void **state)
{
    (void)state;
    struct rbuf b;
    rb_init(&b);
    rb_xmls(&b, "a<b & \"c\" 'd'>\x01\xff日本");
    assert_string_equal(rb_str(&b),
                        "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;\xef\xbf\xbd\xef\xbf\xbd日本");
    rb_reset(&b);
    double v[1] = {1};
    struct svg_series s[1] = {{"<script>alert(1)</script>", v, 0}};
    struct svg_fig f = {.id = "fig-test", .title = "T & <t>", .desc = "d\"q"};
    svg_pie(&b, &f, s, 1, 1);
    assert_null(strstr(rb_str(&b), "<script>"));
    assert_non_null(strstr(rb_str(&b), "&lt;script&gt;"));
    assert_non_null(strstr(rb_str(&b), "<title id=\"fig-test-t\">T &amp; &lt;t&gt;</title>"));
    rb_free(&b);
}

/* Position of the first occurrence of needle after from, or -1. */
static long pos_of(const char *hay, const char *needle)
{
    const char *p = strstr(hay, needle);
    return p ? (long)(p - hay) : -1;
}

static void stacks_draw_bottom_first_and_legends_read_top_first(void **state)
{
    (void)state;
    double a[3] = {1, 2, 3}, b2[3] = {4, 5, NAN}, at[1] = {0};
    const char *lab[1] = {"08.06.01"};
    struct svg_series s[2] = {{"BOTTOM", a, 0}, {"TOPSERIES", b2, SVG_OTHER}};
    struct svg_xaxis x = {.n = 3, .nticks = 1, .tick_at = at, .tick_label = lab};
    struct svg_fig f = {.id = "fig-stack", .title = "t", .ytitle = "（件数）", .y_decimals = -1};
    struct rbuf r;
    rb_init(&r);
    svg_stacked_bars(&r, &f, &x, s, 2, false);
    const char *o = rb_str(&r);
    long g1 = pos_of(o, "data-name=\"BOTTOM\""), g2 = pos_of(o, "data-name=\"TOPSERIES\"");
    assert_true(g1 > 0 && g2 > g1);
    const char *leg = strstr(o, "class=\"legend\"");
    assert_non_null(leg);
    assert_true(pos_of(leg, ">TOPSERIES<") < pos_of(leg, ">BOTTOM<"));
    /* The bottom series of day 2 (value 3) sits on the axis; the missing top value of day 2
     * draws nothing (a gap, not a zero-height bar). */
    assert_non_null(strstr(o, "TOPSERIES: 5</title>"));
    assert_null(strstr(o, "TOPSERIES: 0</title>"));
    assert_non_null(strstr(o, "id=\"fig-stack\""));
    assert_non_null(strstr(o, "role=\"img\""));
    assert_non_null(strstr(o, "fill=\"#999999\""));
    rb_free(&r);
}

static void clipped_bars_carry_their_true_total(void **state)
{
    (void)state;
    double v[40], at[1] = {0};
    const char *lab[1] = {"d"};
    for (int i = 0; i < 40; i++)
        v[i] = 100 + i;
    v[7] = 8259;
    struct svg_series s[1] = {{"sig", v, 0}};
    struct svg_xaxis x = {.n = 40, .nticks = 1, .tick_at = at, .tick_label = lab};
    struct svg_fig f = {.id = "fig-sqli-daily", .title = "t", .y_decimals = -1};
    struct rbuf r;
    rb_init(&r);
    svg_stacked_bars(&r, &f, &x, s, 1, true);
    assert_non_null(strstr(rb_str(&r), ">(8,259)</text>"));
    rb_free(&r);
}

static void same_data_give_identical_svg(void **state)
{
    (void)state;
    double a[4] = {1, 5, 2, 8}, b2[4] = {3, 1, 4, 1}, at[2] = {0, 2};
    const char *lab[2] = {"08.06.01", "08.06.03"};
    struct svg_series s[2] = {{"a", a, 0}, {"b", b2, 3}};
    struct svg_xaxis x = {.n = 4, .nticks = 2, .tick_at = at, .tick_label = lab};
    struct svg_fig f = {.id = "fig-d", .title = "t", .y2title = "r", .y_decimals = -1};
    struct rbuf r1, r2;
    rb_init(&r1);
    rb_init(&r2);
    svg_lines(&r1, &f, &x, s, 2, true, true, NAN);
    svg_lines(&r2, &f, &x, s, 2, true, true, NAN);
    assert_int_equal(r1.len, r2.len);
    assert_memory_equal(r1.p, r2.p, r1.len);
    assert_non_null(strstr(rb_str(&r1), "stroke-dasharray=\"3 2\""));
    rb_free(&r1);
    rb_free(&r2);
}

static void missing_data_keeps_the_figure_with_a_note(void **state)
{
    (void)state;
    struct rbuf r;
    rb_init(&r);
    struct svg_fig f = {.id = "fig-ddos-daily", .title = "図-2 DDoS攻撃の対処件数"};
    svg_nodata(&r, &f, "この期間のデータはありません: テスト");
    assert_non_null(strstr(rb_str(&r), "id=\"fig-ddos-daily\""));
    assert_non_null(strstr(rb_str(&r), "class=\"nodata\""));
    assert_non_null(strstr(rb_str(&r), "この期間のデータはありません"));
    rb_free(&r);
}

static void cjk_text_is_wider_than_latin(void **state)
{
    (void)state;
    assert_true(svg_text_width("日本語", 8) > svg_text_width("abc", 8));
    assert_true(fabs(svg_text_width("日", 10) - 10) < 1e-9);
    bool h;
    assert_string_equal(svg_color(0, &h), "#0072B2");
    assert_false(h);
    assert_string_equal(svg_color(7, &h), "#0072B2");
    assert_true(h);
    assert_string_equal(svg_color(SVG_OTHER, &h), "#999999");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nice_steps_are_1_2_2point5_5_times_a_power_of_ten),
        cmocka_unit_test(axis_top_covers_the_maximum_at_a_step),
        cmocka_unit_test(a_few_outlying_days_cap_the_axis),
        cmocka_unit_test(shares_round_by_largest_remainder_to_exactly_100),
        cmocka_unit_test(numbers_get_thousands_separators),
        cmocka_unit_test(text_is_escaped_in_svg),
        cmocka_unit_test(stacks_draw_bottom_first_and_legends_read_top_first),
        cmocka_unit_test(clipped_bars_carry_their_true_total),
        cmocka_unit_test(same_data_give_identical_svg),
        cmocka_unit_test(missing_data_keeps_the_figure_with_a_note),
        cmocka_unit_test(cjk_text_is_wider_than_latin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
