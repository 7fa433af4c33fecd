/* kansoku time: instants, civil dates, buckets and RFC 3339 text.
 *
 * An instant is an int64_t count of microseconds since 1970-01-01T00:00:00Z (the Unix epoch,
 * UTC, no leap seconds, as POSIX time), negative before it. Every record's time is such a
 * value. A time-zone is a fixed offset in seconds east of UTC (JST = +32400); there are no
 * zone rules and nothing here reads TZ or calls localtime/timegm: the calendar arithmetic is
 * the proleptic Gregorian calendar done by hand, so results do not depend on the environment.
 *
 * Buckets: ks_time_bucket() returns the first instant of the bucket that holds t, where the
 * buckets are drawn in local time (t + offset) and the result is an instant again (UTC). E.g.
 * the JST day of 2008-06-01T20:00:00Z is 2008-06-02 JST, whose start is 2008-06-01T15:00:00Z.
 * All functions are pure and thread-safe. */
#ifndef KS_TIME_H
#define KS_TIME_H

#include "kansoku/ks_core.h"

#include <stddef.h>
#include <stdint.h>

#define KS_USEC_PER_SEC INT64_C(1000000)
#define KS_USEC_PER_MIN (60 * KS_USEC_PER_SEC)
#define KS_USEC_PER_HOUR (3600 * KS_USEC_PER_SEC)
#define KS_USEC_PER_DAY (86400 * KS_USEC_PER_SEC)

#define KS_TZ_UTC 0
#define KS_TZ_JST (9 * 3600)

/* Longest RFC 3339 text ks_time_format() writes, with the NUL:
 * "YYYY-MM-DDTHH:MM:SS.ffffff+hh:mm". */
#define KS_TIME_STRLEN 33

/* A broken-down local time. */
struct ks_tm {
    int year;  /* e.g. 2008; may be <= 0 (proleptic, astronomical numbering) */
    int month; /* 1..12 */
    int day;   /* 1..31 */
    int hour, min, sec;
    int usec; /* 0..999999 */
    int wday; /* ISO: 1 = Monday .. 7 = Sunday */
    int yday; /* 1..366 */
};

enum ks_bucket {
    KS_BUCKET_5MIN,
    KS_BUCKET_HOUR,
    KS_BUCKET_DAY,
    KS_BUCKET_WEEK, /* ISO week: starts on Monday 00:00 */
    KS_BUCKET_MONTH,
};

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12, day 1..31, not checked
 * against the month's length: callers validate), and back. Exact for any int year. */
KS_API int64_t ks_days_from_civil(int64_t year, int month, int day);
KS_API void ks_civil_from_days(int64_t days, int64_t *year, int *month, int *day);
/* 1 if year is a Gregorian leap year, else 0; the number of days of a month (0 if invalid). */
KS_API int ks_is_leap_year(int64_t year);
KS_API int ks_days_in_month(int64_t year, int month);

/* t shifted by tz_offset_s and broken down. Defined for years -9999..9999 (|t| up to about
 * 3.1e17 µs); beyond, the fields are computed but the year may not fit an int. */
KS_API void ks_time_split(int64_t t_us, int32_t tz_offset_s, struct ks_tm *tm);
/* The instant of a local time tm (year, month, day, hour, min, sec, usec; wday/yday ignored)
 * at tz_offset_s. KS_EINVAL if a field is out of range (sec 60 is refused here). */
KS_API int ks_time_join(const struct ks_tm *tm, int32_t tz_offset_s, int64_t *t_us);

/* floor(t / width) * width for any sign of t (width > 0). */
KS_API int64_t ks_time_floor(int64_t t_us, int64_t width_us);
/* The start of the bucket holding t (see above), and the start of the following bucket. */
KS_API int64_t ks_time_bucket(int64_t t_us, enum ks_bucket b, int32_t tz_offset_s);
KS_API int64_t ks_time_bucket_next(int64_t t_us, enum ks_bucket b, int32_t tz_offset_s);

/* ISO 8601 week date of t in the given zone: week 1..53 and the ISO week-numbering year (which
 * differs from the calendar year around new year: 2008-12-29 is 2009-W01). */
KS_API void ks_time_iso_week(int64_t t_us, int32_t tz_offset_s, int *iso_year, int *week);

/* RFC 3339 5.6 date-time of t in the given zone: "2008-06-01T12:34:56Z" for offset 0, else
 * "...+09:00". frac_digits 0..6 appends that many digits of the second's fraction (truncated,
 * not rounded). Writes a NUL-terminated string; returns its length, KS_EINVAL if the local year
 * is outside 0..9999 or frac_digits/offset is out of range (|offset| < 24 h, whole minutes), or
 * KS_ELIMIT if size is too small (KS_TIME_STRLEN always suffices). buf is "" on error. */
KS_API int ks_time_format(int64_t t_us, int32_t tz_offset_s, int frac_digits, char *buf,
                          size_t size);

/* Parses RFC 3339 text from (s, len):
 *   full-date                                "2008-06-01"  (midnight UTC)
 *   full-date "T" time [".ffff..."] offset   "2008-06-01T12:34:56.5+09:00"
 * 'T' may be 't' or a space, the offset "Z", "z", "+hh:mm" or "-hh:mm" ("-00:00" = UTC). The
 * fraction has 1 to 9 digits; digits beyond the sixth are dropped (truncated to µs). Day is
 * checked against the month (leap years included). A leap second (":60") is accepted and
 * counted as the next second, as POSIX time does. Returns KS_OK, or KS_EFORMAT (*t_us = 0). */
KS_API int ks_time_parse(const char *s, size_t len, int64_t *t_us);

#endif
