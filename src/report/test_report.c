/* Unit tests of the report: the notes file, the period, an empty store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kansoku/ks_report.h"
#include "kansoku/ks_store.h"
#include "report/report_int.h"

static void notes_blocks_settings_and_languages_are_parsed(void **state)
{
    (void)state;
    static const char txt[] = "# comment\n"
                              "[config]\n"
                              "operator = IIJ\n"
                              "operator_asn = 2497\n"
                              "[ext]\n"
                              "prev_year_spam_ratio = 73.1\n"
                              "[summary.ja]\n"
                              "\n"
                              "日本語の要約。\n"
                              "\n"
                              "- 項目\n"
                              "[summary.en]\n"
                              "English summary.\n"
                              "[column]\n"
                              "Both languages.\n";
    struct notes n;
    assert_int_equal(notes_parse(txt, sizeof txt - 1, "n.txt", NULL, &n), KS_OK);
    assert_int_equal(n.bad, 0);
    assert_string_equal(notes_get(&n, "config", "operator"), "IIJ");
    assert_string_equal(notes_get(&n, "ext", "prev_year_spam_ratio"), "73.1");
    assert_null(notes_get(&n, "config", "missing"));
    assert_string_equal(notes_text(&n, "summary", "ja"), "日本語の要約。\n\n- 項目");
    assert_string_equal(notes_text(&n, "summary", "en"), "English summary.");
    assert_string_equal(notes_text(&n, "column", "en"), "Both languages.");
    assert_null(notes_text(&n, "nothing", "ja"));
    notes_free(&n);
}

static void notes_bad_lines_are_counted_not_fatal(void **state)
{
    (void)state;
    static const char txt[] = "loose text\n[Bad Name]\nskipped\n[config]\nno equals\nk = v\n";
    struct notes n;
    assert_int_equal(notes_parse(txt, sizeof txt - 1, "n.txt", NULL, &n), KS_OK);
    assert_int_equal(n.bad, 4);
    assert_string_equal(notes_get(&n, "config", "k"), "v");
    notes_free(&n);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b)
        b[n] = '\0';
    fclose(f);
    return b;
}

static void an_empty_period_gives_a_page_that_says_no_data(void **state)
{
    (void)state;
    char dir[] = "/tmp/ks-report-test.XXXXXX", db[96], out[96], path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/k.db", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    struct ks_store *s = NULL;
    assert_int_equal(ks_store_open(db, NULL, &s), KS_OK);
    struct ks_report_config cfg;
    ks_report_config_default(&cfg);
    cfg.from = "2008-06-01";
    cfg.to = "2008-08-31";
    cfg.geo_dir = "/nonexistent";
    struct ks_report_stats st;
    assert_int_equal(ks_report_write(s, &cfg, out, NULL, &st), KS_OK);
    assert_int_equal(st.figures, 21);
    assert_int_equal(st.figures_no_data, 17);
    snprintf(path, sizeof path, "%s/index.html", out);
    char *html = slurp(path);
    assert_non_null(html);
    assert_non_null(strstr(html, "この期間のデータはありません"));
    assert_non_null(strstr(html, "id=\"fig-ddos-daily\""));
    assert_non_null(strstr(html, "id=\"fig-topic-1\""));
    assert_null(strstr(html, "http://") == NULL ? NULL : strstr(html, "src=\"http"));
    free(html);
    snprintf(path, sizeof path, "%s/numbers.json", out);
    char *js = slurp(path);
    assert_non_null(js);
    assert_non_null(strstr(js, "\"incidents.total\": 0"));
    free(js);
    /* Bad periods. */
    cfg.from = "2008-09-01";
    assert_int_equal(ks_report_write(s, &cfg, out, NULL, &st), KS_EINVAL);
    cfg.from = "2008-02-30";
    assert_int_equal(ks_report_write(s, &cfg, out, NULL, &st), KS_EINVAL);
    cfg.from = "2008-06-01";
    cfg.lang = "fr";
    assert_int_equal(ks_report_write(s, &cfg, out, NULL, &st), KS_EINVAL);
    ks_store_close(s);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void country_codes_map_to_alpha3(void **state)
{
    (void)state;
    char b[4];
    assert_string_equal(iso_alpha3("JP", b), "JPN");
    assert_string_equal(iso_alpha3("US", b), "USA");
    assert_string_equal(iso_alpha3("TR", b), "TUR");
    assert_string_equal(iso_alpha3("EU", b), "EU");
    assert_string_equal(iso_alpha3("--", b), "--");
    assert_string_equal(iso_alpha3("ZZ", b), "ZZ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(notes_blocks_settings_and_languages_are_parsed),
        cmocka_unit_test(notes_bad_lines_are_counted_not_fatal),
        cmocka_unit_test(an_empty_period_gives_a_page_that_says_no_data),
        cmocka_unit_test(country_codes_map_to_alpha3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
