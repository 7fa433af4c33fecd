#include "kansoku/ks_time.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define S(x) ((int64_t)(x)*KS_USEC_PER_SEC)

static int64_t T(const char *s)
{
    int64_t t;
    assert_int_equal(ks_time_parse(s, strlen(s), &t), KS_OK);
    return t;
}

static void parse_utc_date_time(void **state)
{
    assert_true(T("2008-06-01T12:34:56Z") == S(1212323696));
    assert_true(T("2008-06-01t12:34:56z") == S(1212323696));
    assert_true(T("2008-06-01 12:34:56Z") == S(1212323696));
    assert_true(T("1970-01-01T00:00:00Z") == 0);
}

static void parse_plain_date_is_midnight_utc(void **state)
{
    assert_true(T("2008-06-01") == S(1212278400));
    assert_true(T("1970-01-01") == 0);
}

static void parse_offsets(void **state)
{
    assert_true(T("2008-06-01T21:34:56+09:00") == S(1212323696));
    assert_true(T("2008-06-01T00:00:00-05:00") == S(1212296400));
    assert_true(T("2008-06-01T12:34:56-00:00") == S(1212323696));
    assert_true(T("2008-06-01T05:04:56+23:59") == S(1212323696 - 113340)); /* 05-31T05:05:56Z */
}

static void parse_fractions_truncate_to_microseconds(void **state)
{
    assert_true(T("2008-06-01T12:34:56.5Z") == S(1212323696) + 500000);
    assert_true(T("2008-06-01T12:34:56.123456Z") == S(1212323696) + 123456);
    assert_true(T("2008-06-01T12:34:56.123456789Z") == S(1212323696) + 123456);
    assert_true(T("1969-12-31T23:59:59.5Z") == -500000);
}

static void parse_leap_second_is_next_second(void **state)
{
    assert_true(T("2008-12-31T23:59:60Z") == S(1230768000));
}

static void parse_garbage_is_format_error(void **state)
{
    static const char *bad[] = {"",
                                "2008",
                                "2008-06",
                                "2008-6-01",
                                "2008-13-01",
                                "2008-00-10",
                                "2008-06-00",
                                "2008-06-31",
                                "2009-02-29",
                                "1900-02-29",
                                "2008-06-01x",
                                "2008-06-01T",
                                "2008-06-01T12:34:56",
                                "2008-06-01T12:34Z",
                                "2008-06-01T24:00:00Z",
                                "2008-06-01T12:60:00Z",
                                "2008-06-01T12:34:61Z",
                                "2008-06-01T12:34:56.Z",
                                "2008-06-01T12:34:56.1234567890Z",
                                "2008-06-01T12:34:56+0900",
                                "2008-06-01T12:34:56+24:00",
                                "2008-06-01T12:34:56+09:60",
                                "2008-06-01T12:34:56Zjunk",
                                "2008-06-01T12:34:56 Z",
                                "+008-06-01",
                                "2008-06-01T1:34:56Z"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t t = 42;
        assert_int_equal(ks_time_parse(bad[i], strlen(bad[i]), &t), KS_EFORMAT);
        assert_true(t == 0);
    }
    int64_t t;
    assert_int_equal(ks_time_parse("2008-06-01", 9, &t), KS_EFORMAT); /* length is honoured */
    assert_int_equal(ks_time_parse(NULL, 0, &t), KS_EFORMAT);
}

static void leap_years_follow_gregorian_rules(void **state)
{
    assert_int_equal(ks_is_leap_year(2008), 1);
    assert_int_equal(ks_is_leap_year(2000), 1);
    assert_int_equal(ks_is_leap_year(1900), 0);
    assert_int_equal(ks_is_leap_year(2100), 0);
    assert_int_equal(ks_is_leap_year(2009), 0);
    assert_int_equal(ks_days_in_month(2008, 2), 29);
    assert_int_equal(ks_days_in_month(2100, 2), 28);
    assert_int_equal(ks_days_in_month(2008, 13), 0);
    assert_true(T("2000-02-29") + KS_USEC_PER_DAY == T("2000-03-01"));
    assert_true(T("2008-02-29T00:00:00Z") > T("2008-02-28T23:59:59Z"));
}

static void civil_days_round_trip(void **state)
{
    for (int64_t d = -1000000; d <= 1000000; d += 7) {
        int64_t y;
        int m, day;
        ks_civil_from_days(d, &y, &m, &day);
        assert_true(m >= 1 && m <= 12 && day >= 1 && day <= ks_days_in_month(y, m));
        assert_true(ks_days_from_civil(y, m, day) == d);
    }
    assert_true(ks_days_from_civil(1970, 1, 1) == 0);
    assert_true(ks_days_from_civil(2000, 3, 1) == 11017);
    assert_true(ks_days_from_civil(1969, 12, 31) == -1);
}

static void split_agrees_with_gmtime(void **state)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* Years about 1000..2900, both sides of the epoch. */
        time_t s = (time_t)((int64_t)(x % (1900ull * 365 * 86400)) - 30000000000ll);
        struct tm g;
        assert_non_null(gmtime_r(&s, &g));
        struct ks_tm k;
        ks_time_split(S(s) + 777, 0, &k);
        assert_int_equal(k.year, g.tm_year + 1900);
        assert_int_equal(k.month, g.tm_mon + 1);
        assert_int_equal(k.day, g.tm_mday);
        assert_int_equal(k.hour, g.tm_hour);
        assert_int_equal(k.min, g.tm_min);
        assert_int_equal(k.sec, g.tm_sec);
        assert_int_equal(k.usec, 777);
        assert_int_equal(k.wday, g.tm_wday == 0 ? 7 : g.tm_wday);
        assert_int_equal(k.yday, g.tm_yday + 1);
        int64_t back;
        assert_int_equal(ks_time_join(&k, 0, &back), KS_OK);
        assert_true(back == S(s) + 777);
    }
}

static void split_applies_offset(void **state)
{
    struct ks_tm k;
    ks_time_split(T("2008-06-01T20:00:00Z"), KS_TZ_JST, &k);
    assert_int_equal(k.day, 2);
    assert_int_equal(k.hour, 5);
    ks_time_split(T("2008-01-01T02:00:00Z"), -5 * 3600, &k);
    assert_int_equal(k.year, 2007);
    assert_int_equal(k.month, 12);
    assert_int_equal(k.day, 31);
    assert_int_equal(k.hour, 21);
    ks_time_split(-1, 0, &k);
    assert_int_equal(k.year, 1969);
    assert_int_equal(k.usec, 999999);
    assert_int_equal(k.sec, 59);
}

static void join_refuses_out_of_range_fields(void **state)
{
    struct ks_tm k = {.year = 2009, .month = 2, .day = 29};
    int64_t t;
    assert_int_equal(ks_time_join(&k, 0, &t), KS_EINVAL);
    k = (struct ks_tm){.year = 2009, .month = 2, .day = 28, .sec = 60};
    assert_int_equal(ks_time_join(&k, 0, &t), KS_EINVAL);
}

static void fixed_buckets_floor_including_negative_times(void **state)
{
    int64_t t = T("2008-06-01T12:34:56.789Z");
    assert_true(ks_time_bucket(t, KS_BUCKET_5MIN, 0) == T("2008-06-01T12:30:00Z"));
    assert_true(ks_time_bucket_next(t, KS_BUCKET_5MIN, 0) == T("2008-06-01T12:35:00Z"));
    assert_true(ks_time_bucket(t, KS_BUCKET_HOUR, 0) == T("2008-06-01T12:00:00Z"));
    assert_true(ks_time_bucket(t, KS_BUCKET_DAY, 0) == T("2008-06-01"));
    assert_true(ks_time_bucket(-1, KS_BUCKET_DAY, 0) == -KS_USEC_PER_DAY);
    assert_true(ks_time_bucket(-1, KS_BUCKET_5MIN, 0) == -5 * KS_USEC_PER_MIN);
    assert_true(ks_time_bucket(0, KS_BUCKET_HOUR, 0) == 0);
    assert_true(ks_time_floor(-7, 5) == -10);
    assert_true(ks_time_floor(7, 5) == 5);
}

static void day_bucket_in_jst(void **state)
{
    /* 20:00 UTC is 05:00 the next day in JST: the JST day started at 15:00 UTC. */
    int64_t t = T("2008-06-01T20:00:00Z");
    assert_true(ks_time_bucket(t, KS_BUCKET_DAY, KS_TZ_JST) == S(1212332400));
    assert_true(ks_time_bucket_next(t, KS_BUCKET_DAY, KS_TZ_JST) == S(1212332400) + S(86400));
    /* 14:59:59 UTC is still the previous JST day. */
    assert_true(ks_time_bucket(T("2008-06-01T14:59:59Z"), KS_BUCKET_DAY, KS_TZ_JST) ==
                S(1212332400) - S(86400));
}

static void day_bucket_with_negative_offset(void **state)
{
    /* 03:00 UTC on June 1 is 22:00 on May 31 at UTC-5. */
    assert_true(ks_time_bucket(T("2008-06-01T03:00:00Z"), KS_BUCKET_DAY, -5 * 3600) ==
                S(1212210000));
}

static void week_bucket_starts_on_monday(void **state)
{
    assert_true(ks_time_bucket(T("2008-06-04T10:00:00Z"), KS_BUCKET_WEEK, 0) == S(1212364800));
    assert_true(ks_time_bucket(T("2008-06-02"), KS_BUCKET_WEEK, 0) == T("2008-06-02"));
    assert_true(ks_time_bucket(T("2008-06-01T23:59:59Z"), KS_BUCKET_WEEK, 0) == T("2008-05-26"));
    assert_true(ks_time_bucket(0, KS_BUCKET_WEEK, 0) == S(-259200)); /* 1969-12-29 */
    assert_true(ks_time_bucket_next(0, KS_BUCKET_WEEK, 0) == T("1970-01-05"));
    /* Sunday 2008-06-01 20:00 UTC is Monday 05:00 in JST: a new JST week. */
    assert_true(ks_time_bucket(T("2008-06-01T20:00:00Z"), KS_BUCKET_WEEK, KS_TZ_JST) ==
                T("2008-06-01T15:00:00Z"));
}

static void month_bucket_handles_lengths_and_year_end(void **state)
{
    int64_t t = T("2008-02-29T23:59:59Z");
    assert_true(ks_time_bucket(t, KS_BUCKET_MONTH, 0) == S(1201824000));
    assert_true(ks_time_bucket_next(t, KS_BUCKET_MONTH, 0) == S(1204329600));
    assert_true(ks_time_bucket_next(T("2008-12-31T23:59:59Z"), KS_BUCKET_MONTH, 0) ==
                S(1230768000));
    assert_true(ks_time_bucket(T("2008-12-31T23:59:59Z"), KS_BUCKET_MONTH, 0) == T("2008-12-01"));
    /* 2008-05-31 16:00 UTC is June 1 in JST. */
    assert_true(ks_time_bucket(T("2008-05-31T16:00:00Z"), KS_BUCKET_MONTH, KS_TZ_JST) ==
                S(1212246000));
    assert_true(ks_time_bucket(T("1969-12-15"), KS_BUCKET_MONTH, 0) == T("1969-12-01"));
}

static void iso_week_numbers_at_year_boundaries(void **state)
{
    static const struct {
        const char *date;
        int year, week;
    } cases[] = {
        {"2008-12-29", 2009, 1},  {"2010-01-03", 2009, 53}, {"2010-01-04", 2010, 1},
        {"2005-01-01", 2004, 53}, {"2007-12-31", 2008, 1},  {"2008-01-01", 2008, 1},
        {"2008-06-01", 2008, 22}, {"2008-12-28", 2008, 52}, {"2020-12-31", 2020, 53},
        {"2021-01-03", 2020, 53}, {"1970-01-01", 1970, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int y, w;
        ks_time_iso_week(T(cases[i].date), 0, &y, &w);
        assert_int_equal(y, cases[i].year);
        assert_int_equal(w, cases[i].week);
    }
    int y, w;
    /* 2008-12-28 (Sunday) 20:00 UTC is Monday 2008-12-29 in JST. */
    ks_time_iso_week(T("2008-12-28T20:00:00Z"), KS_TZ_JST, &y, &w);
    assert_int_equal(y, 2009);
    assert_int_equal(w, 1);
}

static void format_utc_and_offsets(void **state)
{
    char buf[KS_TIME_STRLEN];
    int64_t t = S(1212323696) + 123456;
    assert_int_equal(ks_time_format(t, 0, 0, buf, sizeof buf), 20);
    assert_string_equal(buf, "2008-06-01T12:34:56Z");
    ks_time_format(t, 0, 3, buf, sizeof buf);
    assert_string_equal(buf, "2008-06-01T12:34:56.123Z");
    ks_time_format(t, 0, 6, buf, sizeof buf);
    assert_string_equal(buf, "2008-06-01T12:34:56.123456Z");
    ks_time_format(t, KS_TZ_JST, 0, buf, sizeof buf);
    assert_string_equal(buf, "2008-06-01T21:34:56+09:00");
    assert_int_equal(ks_time_format(-1, -(5 * 3600 + 30 * 60), 6, buf, sizeof buf), 32);
    assert_string_equal(buf, "1969-12-31T18:29:59.999999-05:30");
}

static void format_refuses_what_rfc3339_cannot_say(void **state)
{
    char buf[KS_TIME_STRLEN];
    assert_int_equal(ks_time_format(T("9999-12-31T23:59:59Z") + S(1), 0, 0, buf, sizeof buf),
                     KS_EINVAL);
    assert_string_equal(buf, "");
    assert_int_equal(ks_time_format(T("0000-01-01") - 1, 0, 0, buf, sizeof buf), KS_EINVAL);
    assert_int_equal(ks_time_format(0, 0, 7, buf, sizeof buf), KS_EINVAL);
    assert_int_equal(ks_time_format(0, 30, 0, buf, sizeof buf), KS_EINVAL);
    assert_int_equal(ks_time_format(0, 0, 0, buf, 20), KS_ELIMIT);
    assert_int_equal(ks_time_format(0, 0, 0, buf, 21), 20);
    assert_int_equal(ks_time_format(INT64_MIN, 0, 0, buf, sizeof buf), KS_EINVAL);
    assert_int_equal(ks_time_format(INT64_MAX, 0, 0, buf, sizeof buf), KS_EINVAL);
}

static void format_then_parse_is_identity(void **state)
{
    static const struct {
        const char *text;
        int32_t tz;
    } in[] = {{"0000-01-01T00:00:00Z", 0},
              {"9999-12-31T23:59:59.999999Z", 0},
              {"2008-02-29T12:00:00.000001Z", KS_TZ_JST},
              {"1969-12-31T23:59:59.5Z", -(3 * 3600 + 30 * 60)}};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        int64_t t = T(in[i].text), back;
        char buf[KS_TIME_STRLEN];
        assert_true(ks_time_format(t, in[i].tz, 6, buf, sizeof buf) > 0);
        assert_int_equal(ks_time_parse(buf, strlen(buf), &back), KS_OK);
        assert_true(back == t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_utc_date_time),
        cmocka_unit_test(parse_plain_date_is_midnight_utc),
        cmocka_unit_test(parse_offsets),
        cmocka_unit_test(parse_fractions_truncate_to_microseconds),
        cmocka_unit_test(parse_leap_second_is_next_second),
        cmocka_unit_test(parse_garbage_is_format_error),
        cmocka_unit_test(leap_years_follow_gregorian_rules),
        cmocka_unit_test(civil_days_round_trip),
        cmocka_unit_test(split_agrees_with_gmtime),
        cmocka_unit_test(split_applies_offset),
        cmocka_unit_test(join_refuses_out_of_range_fields),
        cmocka_unit_test(fixed_buckets_floor_including_negative_times),
        cmocka_unit_test(day_bucket_in_jst),
        cmocka_unit_test(day_bucket_with_negative_offset),
        cmocka_unit_test(week_bucket_starts_on_monday),
        cmocka_unit_test(month_bucket_handles_lengths_and_year_end),
        cmocka_unit_test(iso_week_numbers_at_year_boundaries),
        cmocka_unit_test(format_utc_and_offsets),
        cmocka_unit_test(format_refuses_what_rfc3339_cannot_say),
        cmocka_unit_test(format_then_parse_is_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
