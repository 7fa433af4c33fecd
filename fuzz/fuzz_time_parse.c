/* RFC 3339 parsing from arbitrary bytes: never crashes, and a parsed instant formats (in UTC
 * and at +09:00) to text that parses back to the same instant. */
#include "kansoku/ks_time.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(int64_t t, int32_t tz)
{
    char buf[KS_TIME_STRLEN];
    int n = ks_time_format(t, tz, 6, buf, sizeof buf);
    if (n < 0) {
        /* Only years outside 0000..9999 (after the offset) cannot be written. */
        struct ks_tm tm;
        ks_time_split(t, tz, &tm);
        if (tm.year >= 0 && tm.year <= 9999)
            abort();
        return;
    }
    int64_t back;
    if (ks_time_parse(buf, (size_t)n, &back) != KS_OK || back != t)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t t;
    if (ks_time_parse((const char *)data, size, &t) != KS_OK)
        return 0;
    round_trip(t, 0);
    round_trip(t, KS_TZ_JST);
    struct ks_tm tm;
    ks_time_split(t, 0, &tm);
    int64_t j;
    /* Parsed text can land one day past 9999-12-31 in UTC, outside ks_time_join()'s range. */
    if (tm.year <= 9999 && (ks_time_join(&tm, 0, &j) != KS_OK || j != t))
        abort();
    for (int b = KS_BUCKET_5MIN; b <= KS_BUCKET_MONTH; b++) {
        int64_t start = ks_time_bucket(t, (enum ks_bucket)b, KS_TZ_JST);
        int64_t next = ks_time_bucket_next(t, (enum ks_bucket)b, KS_TZ_JST);
        if (!(start <= t && t < next))
            abort();
    }
    return 0;
}
