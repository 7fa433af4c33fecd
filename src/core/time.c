/* Proleptic Gregorian calendar arithmetic on microsecond instants, independent of TZ. */
#include "kansoku/ks_time.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int64_t ks_time_floor(int64_t t_us, int64_t width_us)
{
    return floor_div(t_us, width_us) * width_us;
}

int ks_is_leap_year(int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int ks_days_in_month(int64_t year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12)
        return 0;
    return days[month - 1] + (month == 2 && ks_is_leap_year(year));
}

/* The Gregorian calendar repeats every 400 years (146097 days). Counting years from March
 * puts the leap day at the end of the year, so the day of the year is a linear function of
 * the month: (153 * m + 2) / 5 for m = 0 (March) .. 11 (February). */
int64_t ks_days_from_civil(int64_t year, int month, int day)
{
    int64_t y = year - (month <= 2);
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;                         /* 0..399 */
    int64_t mp = (month + 9) % 12;                       /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + day - 1;          /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* 0..146096 */
    return era * 146097 + doe - 719468; /* 719468 = days from 0000-03-01 to 1970-01-01 */
}

void ks_civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;                                      /* 0..146096 */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0..399 */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* 0..365 */
    int64_t mp = (5 * doy + 2) / 153;                                    /* 0..11 */
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (*month <= 2);
}

/* ISO weekday (1 = Monday) of a day count; 1970-01-01 was a Thursday. */
static int iso_wday(int64_t days)
{
    return (int)(days + 3 - floor_div(days + 3, 7) * 7) + 1;
}

void ks_time_split(int64_t t_us, int32_t tz_offset_s, struct ks_tm *tm)
{
    memset(tm, 0, sizeof *tm);
    /* Split first so that the offset addition cannot overflow near INT64 limits. */
    int64_t days = floor_div(t_us, KS_USEC_PER_DAY);
    int64_t in_day = t_us - days * KS_USEC_PER_DAY + (int64_t)tz_offset_s * KS_USEC_PER_SEC;
    days += floor_div(in_day, KS_USEC_PER_DAY);
    in_day -= floor_div(in_day, KS_USEC_PER_DAY) * KS_USEC_PER_DAY;
    int64_t y;
    ks_civil_from_days(days, &y, &tm->month, &tm->day);
    tm->year = (int)y;
    tm->usec = (int)(in_day % KS_USEC_PER_SEC);
    int64_t s = in_day / KS_USEC_PER_SEC;
    tm->hour = (int)(s / 3600);
    tm->min = (int)(s / 60 % 60);
    tm->sec = (int)(s % 60);
    tm->wday = iso_wday(days);
    tm->yday = (int)(days - ks_days_from_civil(y, 1, 1)) + 1;
}

int ks_time_join(const struct ks_tm *tm, int32_t tz_offset_s, int64_t *t_us)
{
    *t_us = 0;
    if (tm->year < -9999 || tm->year > 9999 || tm->day < 1 ||
        tm->day > ks_days_in_month(tm->year, tm->month) || tm->hour < 0 || tm->hour > 23 ||
        tm->min < 0 || tm->min > 59 || tm->sec < 0 || tm->sec > 59 || tm->usec < 0 ||
        tm->usec > 999999)
        return KS_EINVAL;
    int64_t days = ks_days_from_civil(tm->year, tm->month, tm->day);
    int64_t s = days * 86400 + tm->hour * 3600 + tm->min * 60 + tm->sec - tz_offset_s;
    *t_us = s * KS_USEC_PER_SEC + tm->usec;
    return KS_OK;
}

static int64_t month_start(int64_t t_us, int32_t tz, int add_months)
{
    struct ks_tm tm;
    ks_time_split(t_us, tz, &tm);
    int64_t m = (int64_t)tm.year * 12 + (tm.month - 1) + add_months;
    int64_t y = floor_div(m, 12);
    int64_t days = ks_days_from_civil(y, (int)(m - y * 12) + 1, 1);
    return (days * 86400 - tz) * KS_USEC_PER_SEC;
}

/* Start of the fixed-width local bucket: floor in local time, back to UTC. */
static int64_t local_floor(int64_t t_us, int32_t tz, int64_t width, int64_t phase)
{
    int64_t off = (int64_t)tz * KS_USEC_PER_SEC + phase;
    return ks_time_floor(t_us + off, width) - off;
}

/* 1970-01-01 was a Thursday: shifting by 3 days puts Mondays on multiples of 7 days. */
#define WEEK_PHASE (3 * KS_USEC_PER_DAY)

int64_t ks_time_bucket(int64_t t_us, enum ks_bucket b, int32_t tz_offset_s)
{
    switch (b) {
    case KS_BUCKET_5MIN:
        return local_floor(t_us, tz_offset_s, 5 * KS_USEC_PER_MIN, 0);
    case KS_BUCKET_HOUR:
        return local_floor(t_us, tz_offset_s, KS_USEC_PER_HOUR, 0);
    case KS_BUCKET_DAY:
        return local_floor(t_us, tz_offset_s, KS_USEC_PER_DAY, 0);
    case KS_BUCKET_WEEK:
        return local_floor(t_us, tz_offset_s, 7 * KS_USEC_PER_DAY, WEEK_PHASE);
    case KS_BUCKET_MONTH:
        return month_start(t_us, tz_offset_s, 0);
    }
    return t_us;
}

int64_t ks_time_bucket_next(int64_t t_us, enum ks_bucket b, int32_t tz_offset_s)
{
    int64_t start = ks_time_bucket(t_us, b, tz_offset_s);
    switch (b) {
    case KS_BUCKET_5MIN:
        return start + 5 * KS_USEC_PER_MIN;
    case KS_BUCKET_HOUR:
        return start + KS_USEC_PER_HOUR;
    case KS_BUCKET_DAY:
        return start + KS_USEC_PER_DAY;
    case KS_BUCKET_WEEK:
        return start + 7 * KS_USEC_PER_DAY;
    case KS_BUCKET_MONTH:
        return month_start(t_us, tz_offset_s, 1);
    }
    return t_us;
}

/* ISO 8601: week 1 is the week with the year's first Thursday; a date belongs to the ISO year
 * of the Thursday of its week. */
void ks_time_iso_week(int64_t t_us, int32_t tz_offset_s, int *iso_year, int *week)
{
    struct ks_tm tm;
    ks_time_split(t_us, tz_offset_s, &tm);
    int64_t days = ks_days_from_civil(tm.year, tm.month, tm.day);
    int64_t thursday = days - tm.wday + 4;
    int64_t y;
    int m, d;
    ks_civil_from_days(thursday, &y, &m, &d);
    *iso_year = (int)y;
    *week = (int)((thursday - ks_days_from_civil(y, 1, 1)) / 7) + 1;
}

int ks_time_format(int64_t t_us, int32_t tz_offset_s, int frac_digits, char *buf, size_t size)
{
    if (size)
        buf[0] = '\0';
    if (frac_digits < 0 || frac_digits > 6 || tz_offset_s <= -86400 || tz_offset_s >= 86400 ||
        tz_offset_s % 60 != 0)
        return KS_EINVAL;
    /* Years 0..9999 keep the arithmetic below far from int64 limits. */
    if (t_us < INT64_C(-62167305600000000) || t_us > INT64_C(253402387200000000))
        return KS_EINVAL;
    struct ks_tm tm;
    ks_time_split(t_us, tz_offset_s, &tm);
    if (tm.year < 0 || tm.year > 9999)
        return KS_EINVAL;
    char tmp[KS_TIME_STRLEN];
    int n = snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d", tm.year, tm.month, tm.day,
                     tm.hour, tm.min, tm.sec);
    if (frac_digits > 0) {
        int f = tm.usec;
        for (int i = frac_digits; i < 6; i++)
            f /= 10;
        n += snprintf(tmp + n, sizeof tmp - (size_t)n, ".%0*d", frac_digits, f);
    }
    if (tz_offset_s == 0) {
        tmp[n++] = 'Z';
        tmp[n] = '\0';
    } else {
        int a = tz_offset_s < 0 ? -tz_offset_s : tz_offset_s;
        n += snprintf(tmp + n, sizeof tmp - (size_t)n, "%c%02d:%02d", tz_offset_s < 0 ? '-' : '+',
                      a / 3600, a / 60 % 60);
    }
    if ((size_t)n >= size)
        return KS_ELIMIT;
    memcpy(buf, tmp, (size_t)n + 1);
    return n;
}

/* Reads exactly n decimal digits at *i. */
static bool digits(const char *s, size_t len, size_t *i, int n, int *out)
{
    int v = 0;
    if (len - *i < (size_t)n)
        return false;
    for (int k = 0; k < n; k++) {
        char c = s[*i + (size_t)k];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *i += (size_t)n;
    *out = v;
    return true;
}

static bool expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i >= len || s[*i] != c)
        return false;
    (*i)++;
    return true;
}

int ks_time_parse(const char *s, size_t len, int64_t *t_us)
{
    *t_us = 0;
    if (!s)
        return KS_EFORMAT;
    size_t i = 0;
    struct ks_tm tm = {0};
    if (!digits(s, len, &i, 4, &tm.year) || !expect(s, len, &i, '-') ||
        !digits(s, len, &i, 2, &tm.month) || !expect(s, len, &i, '-') ||
        !digits(s, len, &i, 2, &tm.day))
        return KS_EFORMAT;
    if (tm.day < 1 || tm.day > ks_days_in_month(tm.year, tm.month))
        return KS_EFORMAT;
    int32_t offset = 0;
    bool leap = false;
    if (i < len) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
            return KS_EFORMAT;
        i++;
        if (!digits(s, len, &i, 2, &tm.hour) || !expect(s, len, &i, ':') ||
            !digits(s, len, &i, 2, &tm.min) || !expect(s, len, &i, ':') ||
            !digits(s, len, &i, 2, &tm.sec))
            return KS_EFORMAT;
        if (tm.hour > 23 || tm.min > 59 || tm.sec > 60)
            return KS_EFORMAT;
        if (tm.sec == 60) {
            leap = true;
            tm.sec = 59;
        }
        if (i < len && s[i] == '.') {
            i++;
            int nd = 0;
            while (i < len && s[i] >= '0' && s[i] <= '9') {
                if (nd < 6)
                    tm.usec = tm.usec * 10 + (s[i] - '0');
                nd++;
                i++;
            }
            if (nd == 0 || nd > 9)
                return KS_EFORMAT;
            for (int k = nd; k < 6; k++)
                tm.usec *= 10;
        }
        if (i >= len)
            return KS_EFORMAT;
        if (s[i] == 'Z' || s[i] == 'z') {
            i++;
        } else if (s[i] == '+' || s[i] == '-') {
            int sign = s[i] == '-' ? -1 : 1, oh, om;
            i++;
            if (!digits(s, len, &i, 2, &oh) || !expect(s, len, &i, ':') ||
                !digits(s, len, &i, 2, &om) || oh > 23 || om > 59)
                return KS_EFORMAT;
            offset = sign * (oh * 3600 + om * 60);
        } else {
            return KS_EFORMAT;
        }
        if (i != len)
            return KS_EFORMAT;
    }
    int64_t t;
    if (ks_time_join(&tm, offset, &t) != KS_OK)
        return KS_EFORMAT;
    *t_us = t + (leap ? KS_USEC_PER_SEC : 0);
    return KS_OK;
}
