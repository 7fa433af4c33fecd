/* Unit tests of the incident log: categories, dates, CSV parsing, the store round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kansoku/ks_incident.h"
#include "kansoku/ks_store.h"

static int parse_cat(const char *s)
{
    int c = -1;
    return ks_incident_cat_parse(s, strlen(s), &c) == KS_OK ? c : -1;
}

static void categories_accept_keys_english_and_japanese_names(void **state)
{
    (void)state;
    assert_int_equal(parse_cat("vulnerability"), KS_INCIDENT_VULN);
    assert_int_equal(parse_cat("Political and social events"), KS_INCIDENT_EVENTS);
    assert_int_equal(parse_cat("political_and_social-events"), KS_INCIDENT_EVENTS);
    assert_int_equal(parse_cat("Historical dates"), KS_INCIDENT_HISTORY);
    assert_int_equal(parse_cat("SECURITY INCIDENTS"), KS_INCIDENT_SECURITY);
    assert_int_equal(parse_cat(" other "), KS_INCIDENT_OTHER);
    assert_int_equal(parse_cat("脆弱性"), KS_INCIDENT_VULN);
    assert_int_equal(parse_cat("動静情報"), KS_INCIDENT_EVENTS);
    assert_int_equal(parse_cat("歴史"), KS_INCIDENT_HISTORY);
    assert_int_equal(parse_cat("セキュリティ事件"), KS_INCIDENT_SECURITY);
    assert_int_equal(parse_cat("その他"), KS_INCIDENT_OTHER);
}

static void unknown_category_is_refused(void **state)
{
    (void)state;
    assert_int_equal(parse_cat(""), -1);
    assert_int_equal(parse_cat("weather"), -1);
    assert_int_equal(parse_cat("脆弱"), -1);
    assert_string_equal(ks_incident_cat_key(KS_INCIDENT_HISTORY), "history");
    assert_null(ks_incident_cat_key(KS_INCIDENT_NCAT));
    assert_string_equal(ks_incident_cat_name(KS_INCIDENT_EVENTS, "ja"), "動静情報");
}

static void dates_must_be_real_days(void **state)
{
    (void)state;
    char d[11];
    assert_int_equal(ks_incident_date_parse("2008-02-29", 10, d), KS_OK);
    assert_string_equal(d, "2008-02-29");
    assert_int_equal(ks_incident_date_parse("2007-02-29", 10, d), KS_EFORMAT);
    assert_int_equal(ks_incident_date_parse("2008-13-01", 10, d), KS_EFORMAT);
    assert_int_equal(ks_incident_date_parse("2008-6-01", 9, d), KS_EFORMAT);
    assert_int_equal(ks_incident_date_parse("2008-06-01T", 11, d), KS_EFORMAT);
    assert_int_equal(ks_incident_date_parse("+008-06-01", 10, d), KS_EFORMAT);
}

struct collected {
    int n;
    char titles[8][64];
    int cats[8];
    size_t note_len[8];
};

static int collect(void *user, const struct ks_incident *inc)
{
    struct collected *c = user;
    if (c->n < 8) {
        snprintf(c->titles[c->n], 64, "%.*s", (int)inc->title_len, inc->title);
        c->cats[c->n] = inc->cat;
        c->note_len[c->n] = inc->note_len;
    }
    c->n++;
    return 0;
}

static void csv_quotes_comments_and_header_are_handled(void **state)
{
    (void)state;
    static const char csv[] = "\xef\xbb\xbf"
                              "date,category,title,note\r\n"
                              "# a comment\n"
                              "\n"
                              "2008-07-08,脆弱性,\"DNS cache poisoning, \"\"Kaminsky\"\"\",patch\n"
                              "2008-08-15,history,End-of-war day\n";
    struct collected c = {0};
    struct ks_incident_csv_stats st;
    assert_int_equal(ks_incident_csv_parse(csv, sizeof csv - 1, "t.csv", NULL, collect, &c, &st),
                     KS_OK);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.titles[0], "DNS cache poisoning, \"Kaminsky\"");
    assert_int_equal(c.cats[0], KS_INCIDENT_VULN);
    assert_int_equal(c.note_len[0], 5);
    assert_int_equal(c.cats[1], KS_INCIDENT_HISTORY);
    assert_int_equal(c.note_len[1], 0);
    assert_int_equal(st.bad, 0);
    assert_int_equal(st.lines, 5);
}

static int count_diag_calls;
static void count_diag(void *user, const char *module, const struct ks_loc *loc, int err,
                       const char *msg)
{
    (void)user, (void)module, (void)err, (void)msg;
    assert_non_null(loc->source);
    assert_true(loc->line > 0);
    count_diag_calls++;
}

static void bad_csv_lines_are_counted_and_reported_not_fatal(void **state)
{
    (void)state;
    static const char csv[] = "2008-02-30,other,bad date\n"
                              "2008-06-01,weather,bad category\n"
                              "2008-06-01,other,\"unclosed\n"
                              "2008-06-01,other,a,b,c\n"
                              "2008-06-01,other,\n"
                              "2008-06-01,other,ctl\x01\n"
                              "2008-06-01,other,\xff\xfe\n"
                              "2008-06-01,other,fine\n";
    struct collected c = {0};
    struct ks_incident_csv_stats st;
    struct ks_diag d = {count_diag, NULL, 3};
    count_diag_calls = 0;
    assert_int_equal(ks_incident_csv_parse(csv, sizeof csv - 1, "b.csv", &d, collect, &c, &st),
                     KS_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(st.bad, 7);
    assert_int_equal(count_diag_calls, 3);
}

static void csv_line_round_trips_through_the_parser(void **state)
{
    (void)state;
    struct ks_incident inc = {.date = "2008-08-08",
                              .cat = KS_INCIDENT_EVENTS,
                              .title = "Beijing \"Olympics\", opening",
                              .title_len = 27,
                              .note = "note",
                              .note_len = 4};
    char line[256];
    size_t n = ks_incident_csv_line(&inc, line, sizeof line);
    assert_true(n < sizeof line);
    assert_string_equal(line, "2008-08-08,events,\"Beijing \"\"Olympics\"\", opening\",note\n");
    struct collected c = {0};
    struct ks_incident_csv_stats st;
    assert_int_equal(ks_incident_csv_parse(line, n, "-", NULL, collect, &c, &st), KS_OK);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.titles[0], "Beijing \"Olympics\", opening");
    /* A buffer too small is cut and NUL-terminated, the length still told. */
    char small[8];
    assert_int_equal(ks_incident_csv_line(&inc, small, sizeof small), n);
    assert_int_equal(strlen(small), 7);
}

static void entries_round_trip_through_the_store_once(void **state)
{
    (void)state;
    char dir[] = "/tmp/ks-incident-test.XXXXXX", db[64], csvp[64];
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/k.db", dir);
    snprintf(csvp, sizeof csvp, "%s/i.csv", dir);
    struct ks_store *s = NULL;
    assert_int_equal(ks_store_open(db, NULL, &s), KS_OK);
    struct ks_incident inc = {
        .date = "2008-06-10", .cat = KS_INCIDENT_SECURITY, .title = "Fake AV", .title_len = 7};
    assert_int_equal(ks_incident_add(s, &inc), KS_OK);
    assert_int_equal(ks_incident_add(s, &inc), KS_EEXIST);
    FILE *f = fopen(csvp, "w");
    assert_non_null(f);
    fputs("date,category,title,note\n2008-05-31,other,before\n2008-06-01,vuln,first,n\n"
          "2008-09-01,other,after\n",
          f);
    fclose(f);
    struct ks_incident_csv_stats st;
    assert_int_equal(ks_incident_import_csv(s, csvp, 0, NULL, &st), KS_OK);
    assert_int_equal(st.entries, 3);
    assert_int_equal(ks_incident_import_csv(s, csvp, 0, NULL, &st), KS_EEXIST);
    struct collected c = {0};
    assert_int_equal(ks_incident_list(s, "2008-06-01", "2008-08-31", collect, &c), KS_OK);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.titles[0], "first");
    assert_string_equal(c.titles[1], "Fake AV");
    memset(&c, 0, sizeof c);
    assert_int_equal(ks_incident_list(s, NULL, NULL, collect, &c), KS_OK);
    assert_int_equal(c.n, 4);
    ks_store_close(s);
    unlink(csvp);
    unlink(db);
    char p[96];
    snprintf(p, sizeof p, "%s-wal", db), unlink(p);
    snprintf(p, sizeof p, "%s-shm", db), unlink(p);
    snprintf(p, sizeof p, "%s-lock", db), unlink(p);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(categories_accept_keys_english_and_japanese_names),
        cmocka_unit_test(unknown_category_is_refused),
        cmocka_unit_test(dates_must_be_real_days),
        cmocka_unit_test(csv_quotes_comments_and_header_are_handled),
        cmocka_unit_test(bad_csv_lines_are_counted_and_reported_not_fatal),
        cmocka_unit_test(csv_line_round_trips_through_the_parser),
        cmocka_unit_test(entries_round_trip_through_the_store_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
