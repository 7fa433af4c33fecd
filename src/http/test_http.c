/* Unit tests of the http module: log formats, LogFormat strings, JSON logs, the bounded line
 * reader, and the decomposition of requests into decoded parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "kansoku/ks_http.h"

static bool eq(struct ks_http_str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

#define assert_str(s, want)                                                                        \
    do {                                                                                           \
        if (!eq((s), (want)))                                                                      \
            fail_msg("got '%.*s', want '%s'", (int)(s).len, (const char *)(s).p, (want));          \
    } while (0)

static struct ks_http_log *log_of(const char *format)
{
    struct ks_http_log_config cfg;
    ks_http_log_config_default(&cfg);
    assert_int_equal(ks_http_log_config_format(&cfg, format), KS_OK);
    struct ks_http_log *l = NULL;
    assert_int_equal(ks_http_log_new(&cfg, &l), KS_OK);
    return l;
}

static int parse(struct ks_http_log *l, const char *line, struct ks_http_request *r)
{
    return ks_http_log_parse(l, (const uint8_t *)line, strlen(line), NULL, r);
}

/* ---- log formats ---- */

static void combined_line_is_parsed(void **state)
{
    (void)state;
    struct ks_http_log *l = log_of("combined");
    struct ks_http_request r;
    assert_int_equal(parse(l,
                           "203.0.113.5 - frank [10/Oct/2008:13:55:36 +0900] \"GET "
                           "/shop/item.php?id=5&cat=2 HTTP/1.1\" 200 2326 \"http://a.jp/\" "
                           "\"Mozilla/5.0 (X11)\"",
                           &r),
                     KS_OK);
    assert_str(r.client, "203.0.113.5");
    assert_str(r.user, "frank");
    assert_str(r.method, "GET");
    assert_str(r.path, "/shop/item.php");
    assert_str(r.query, "id=5&cat=2");
    assert_str(r.protocol, "HTTP/1.1");
    assert_int_equal(r.status, 200);
    assert_int_equal(r.bytes, 2326);
    assert_str(r.referer, "http://a.jp/");
    assert_str(r.user_agent, "Mozilla/5.0 (X11)");
    /* 2008-10-10T04:55:36Z */
    assert_true(r.time_us == 1223614536LL * 1000000);
    ks_http_log_free(l);
}

static void common_line_with_dashes_is_parsed(void **state)
{
    (void)state;
    struct ks_http_log *l = log_of("common");
    struct ks_http_request r;
    assert_int_equal(parse(l,
                           "10.1.2.3 - - [01/Jan/2008:00:00:00 -0000] \"POST /login HTTP/1.0\" "
                           "302 -",
                           &r),
                     KS_OK);
    assert_str(r.method, "POST");
    assert_int_equal(r.user.len, 0);
    assert_int_equal(r.bytes, -1);
    assert_int_equal(r.referer.len, 0);
    ks_http_log_free(l);
}

static void escaped_quotes_stay_inside_their_field(void **state)
{
    (void)state;
    struct ks_http_log *l = log_of("combined");
    struct ks_http_request r;
    assert_int_equal(parse(l,
                           "1.2.3.4 - - [10/Oct/2008:13:55:36 +0900] \"GET /a?q=\\\"x\\\" "
                           "HTTP/1.1\" 200 1 \"-\" \"ua \\\"quoted\\\" end\"",
                           &r),
                     KS_OK);
    assert_str(r.query, "q=\\\"x\\\"");
    assert_str(r.user_agent, "ua \\\"quoted\\\" end");
    ks_http_log_free(l);
}

static void logformat_string_with_host_and_cookie(void **state)
{
    (void)state;
    struct ks_http_log *l = log_of("%v %a [%t] \\\"%m %U%q %H\\\" %>s %B \\\"%{Cookie}i\\\" %D");
    struct ks_http_request r;
    assert_int_equal(parse(l,
                           "www.example.jp 192.0.2.9 [10/Oct/2008:13:55:36 +0900] \"GET "
                           "/x/y.php?q=1 HTTP/1.1\" 200 10 \"sid=ab; t=1\" 1234",
                           &r),
                     KS_OK);
    assert_str(r.host, "www.example.jp");
    assert_str(r.client, "192.0.2.9");
    assert_str(r.method, "GET");
    assert_str(r.path, "/x/y.php");
    assert_str(r.query, "q=1");
    assert_str(r.cookie, "sid=ab; t=1");
    assert_int_equal(r.status, 200);
    ks_http_log_free(l);
}

static void bad_logformat_string_is_refused(void **state)
{
    (void)state;
    struct ks_http_log_config cfg;
    ks_http_log_config_default(&cfg);
    ks_http_log_config_format(&cfg, "%h %{Referer");
    struct ks_http_log *l = NULL;
    assert_int_equal(ks_http_log_new(&cfg, &l), KS_EFORMAT);
    ks_http_log_config_format(&cfg, "%h%u");
    assert_int_equal(ks_http_log_new(&cfg, &l), KS_EFORMAT);
    assert_null(l);
}

static void json_line_with_default_field_names(void **state)
{
    (void)state;
    struct ks_http_log *l = log_of("json");
    struct ks_http_request r;
    assert_int_equal(parse(l,
                           "{\"time\":\"2008-06-01T12:00:00Z\",\"remote_addr\":\"192.0.2.1\","
                           "\"request\":\"GET /a?b=1 HTTP/1.1\",\"status\":\"404\","
                           "\"http_user_agent\":\"curl\",\"host\":\"h.jp\"}",
                           &r),
                     KS_OK);
    assert_str(r.client, "192.0.2.1");
    assert_str(r.path, "/a");
    assert_str(r.query, "b=1");
    assert_int_equal(r.status, 404);
    assert_str(r.host, "h.jp");
    assert_true(r.time_us == 1212321600LL * 1000000);
    ks_http_log_free(l);
}

static void json_line_with_configured_nested_field_names(void **state)
{
    (void)state;
    struct ks_http_log_config cfg;
    ks_http_log_config_default(&cfg);
    cfg.format = KS_HTTP_LOG_JSON;
    cfg.json_fields[KS_HTTP_JF_CLIENT] = "src.addr";
    cfg.json_fields[KS_HTTP_JF_URI] = "http.url";
    cfg.json_fields[KS_HTTP_JF_METHOD] = "http.verb";
    cfg.json_fields[KS_HTTP_JF_TIME] = "epoch";
    struct ks_http_log *l = NULL;
    assert_int_equal(ks_http_log_new(&cfg, &l), KS_OK);
    struct ks_http_request r;
    assert_int_equal(parse(l,
                           "{\"epoch\":1212321600.5,\"src\":{\"addr\":\"2001:db8::1\"},"
                           "\"http\":{\"verb\":\"POST\",\"url\":\"/p?x=1\"}}",
                           &r),
                     KS_OK);
    assert_str(r.client, "2001:db8::1");
    assert_str(r.method, "POST");
    assert_str(r.query, "x=1");
    assert_true(r.time_us == 1212321600500000LL);
    ks_http_log_free(l);
}

static void bad_lines_are_counted_not_fatal(void **state)
{
    (void)state;
    struct ks_http_log *l = log_of("combined");
    struct ks_http_request r;
    assert_int_equal(parse(l, "not a log line", &r), KS_EFORMAT);
    assert_int_equal(parse(l, "", &r), KS_EFORMAT);
    struct ks_http_log *j = log_of("json");
    assert_int_equal(parse(j, "{\"remote_addr\":", &r), KS_EFORMAT);
    assert_int_equal(parse(j, "[1,2]", &r), KS_EFORMAT);
    struct ks_http_log_stats st;
    ks_http_log_stats(l, &st);
    assert_int_equal(st.bad, 2);
    ks_http_log_stats(j, &st);
    assert_int_equal(st.bad, 2);
    ks_http_log_free(l);
    ks_http_log_free(j);
}

static void clf_time_with_offset_and_bad_dates(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(
        ks_http_parse_clf_time((const uint8_t *)"[01/Jan/2008:09:00:00 +0900]", 28, &t), KS_OK);
    assert_true(t == 1199145600LL * 1000000);
    assert_int_equal(ks_http_parse_clf_time((const uint8_t *)"31/Feb/2008:00:00:00 +0000", 26, &t),
                     KS_EFORMAT);
    assert_int_equal(ks_http_parse_clf_time((const uint8_t *)"01/Foo/2008:00:00:00 +0000", 26, &t),
                     KS_EFORMAT);
}

/* ---- reader ---- */

static char *temp_file(const char *content, size_t n)
{
    static char path[64];
    strcpy(path, "/tmp/ks_http_testXXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, n), (ssize_t)n);
    close(fd);
    return path;
}

static void reader_skips_long_and_binary_lines(void **state)
{
    (void)state;
    char buf[400];
    memset(buf, 'x', sizeof buf);
    memcpy(buf, "one\n", 4);
    buf[300] = '\n';
    memcpy(buf + 301, "bin\001ary\n\r\ntwo\r\nlast", 20);
    char *path = temp_file(buf, 320);
    struct ks_http_reader *r = NULL;
    assert_int_equal(ks_http_reader_open(path, 100, false, NULL, &r), KS_OK);
    const uint8_t *line;
    size_t len;
    struct ks_loc loc;
    assert_int_equal(ks_http_reader_next(r, &line, &len, &loc), 1);
    assert_int_equal(len, 3);
    assert_int_equal(ks_http_reader_next(r, &line, &len, &loc), 1);
    assert_true(len == 3 && memcmp(line, "two", 3) == 0);
    assert_int_equal(loc.line, 5);
    assert_int_equal(ks_http_reader_next(r, &line, &len, &loc), 1);
    assert_true(len == 4 && memcmp(line, "last", 4) == 0);
    assert_int_equal(ks_http_reader_next(r, &line, &len, &loc), 0);
    struct ks_http_reader_stats st;
    ks_http_reader_stats(r, &st);
    assert_int_equal(st.long_lines, 1);
    assert_int_equal(st.binary, 1);
    assert_int_equal(st.empty, 1);
    assert_int_equal(st.lines, 3);
    ks_http_reader_free(r);
    remove(path);
}

static void reader_truncates_long_lines_when_asked(void **state)
{
    (void)state;
    static char big[3 << 20];
    memset(big, 'a', sizeof big);
    big[sizeof big - 6] = '\n';
    memcpy(big + sizeof big - 5, "tail\n", 5);
    char *path = temp_file(big, sizeof big);
    struct ks_http_reader *r = NULL;
    assert_int_equal(ks_http_reader_open(path, 1000, true, NULL, &r), KS_OK);
    const uint8_t *line;
    size_t len;
    struct ks_loc loc;
    assert_int_equal(ks_http_reader_next(r, &line, &len, &loc), 1);
    assert_int_equal(len, 1000);
    assert_int_equal(ks_http_reader_next(r, &line, &len, &loc), 1);
    assert_true(len == 4 && memcmp(line, "tail", 4) == 0);
    assert_int_equal(loc.line, 2);
    assert_int_equal(ks_http_reader_next(r, &line, &len, &loc), 0);
    ks_http_reader_free(r);
    remove(path);
}

/* ---- parameters ---- */

struct seen {
    char text[4096];
    size_t n;
    unsigned count;
};

static int collect(void *user, const struct ks_http_param *p)
{
    struct seen *s = user;
    static const char parts[] = "?qbpch";
    int w = snprintf(s->text + s->n, sizeof s->text - s->n, "%c:%.*s=%.*s%s|", parts[p->part],
                     (int)p->name.len, (const char *)p->name.p, (int)p->value.len,
                     (const char *)p->value.p, p->binary ? "(bin)" : "");
    if (w > 0 && s->n + (size_t)w < sizeof s->text)
        s->n += (size_t)w;
    s->count++;
    return 0;
}

static const char *params_of(const struct ks_http_request *r)
{
    static struct seen s;
    memset(&s, 0, sizeof s);
    struct ks_http_params *d = NULL;
    assert_int_equal(ks_http_params_new(0, 0, &d), KS_OK);
    assert_int_equal(ks_http_params_each(d, r, collect, &s), 0);
    ks_http_params_free(d);
    return s.text;
}

#define S(x) ((struct ks_http_str){(const uint8_t *)(x), sizeof(x) - 1})

static void query_pairs_are_split_and_decoded(void **state)
{
    (void)state;
    struct ks_http_request r = {.query = S("id=1%27+or+1%3D1--&a%5B%5D=x&&flag&d=%2527")};
    assert_string_equal(params_of(&r), "q:id=1' or 1=1--|q:a[]=x|q:=flag|q:d='|");
}

static void path_segments_are_parameters(void **state)
{
    (void)state;
    struct ks_http_request r = {.path = S("/shop//item/5%20union%20select/")};
    assert_string_equal(params_of(&r), "p:path[0]=shop|p:path[1]=item|p:path[2]=5 union select|");
}

static void urlencoded_and_raw_bodies(void **state)
{
    (void)state;
    struct ks_http_request r = {.content_type = S("application/x-www-form-urlencoded"),
                                .body = S("user=admin%27--&pw=x+y")};
    assert_string_equal(params_of(&r), "b:user=admin'--|b:pw=x y|");
    struct ks_http_request t = {.content_type = S("text/plain"), .body = S("a=b c")};
    assert_string_equal(params_of(&t), "b:body=a=b c|");
}

static void multipart_parts_and_files(void **state)
{
    (void)state;
    struct ks_http_request r = {
        .content_type = S("multipart/form-data; boundary=\"XyZ\""),
        .body = S("--XyZ\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n1 or 1=1\r\n"
                  "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.exe\"\r\n"
                  "Content-Type: application/octet-stream\r\n\r\nMZ..\r\n--XyZ--\r\n")};
    assert_string_equal(params_of(&r), "b:q=1 or 1=1|b:f=MZ..(bin)|");
    struct ks_http_request bad = {.content_type = S("multipart/form-data"), .body = S("--x\r\n")};
    assert_string_equal(params_of(&bad), "");
}

static void json_body_leaves_are_parameters(void **state)
{
    (void)state;
    struct ks_http_request r = {
        .content_type = S("application/json"),
        .body = S("{\"user\":{\"name\":\"x' or '1'='1\",\"tags\":[\"a\",2,\"b\"]},\"n\":null}")};
    assert_string_equal(params_of(&r),
                        "b:user.name=x' or '1'='1|b:user.tags[0]=a|b:user.tags[2]=b|");
    struct ks_http_request bad = {.content_type = S("application/json"), .body = S("{\"a\":")};
    assert_string_equal(params_of(&bad), "b:body={\"a\":|");
}

static void cookies_and_selected_headers(void **state)
{
    (void)state;
    struct ks_http_request r = {.cookie = S("sid=abc; pref=%27%20or%201=1;;  x"),
                                .user_agent = S("sqlmap/1.0"),
                                .referer = S("http://a/?q=%27"),
                                .xff = S("1.2.3.4")};
    assert_string_equal(params_of(&r), "c:sid=abc|c:pref=' or 1=1|c:=x|h:user-agent=sqlmap/1.0|"
                                       "h:referer=http://a/?q='|h:x-forwarded-for=1.2.3.4|");
}

static void invalid_percent_and_double_encoding_are_counted(void **state)
{
    (void)state;
    struct ks_http_request r = {.query = S("a=%zz%2&b=%252527")};
    struct seen s = {0};
    struct ks_http_params *d = NULL;
    assert_int_equal(ks_http_params_new(0, 0, &d), KS_OK);
    ks_http_params_each(d, &r, collect, &s);
    struct ks_http_params_stats st;
    ks_http_params_stats(d, &st);
    assert_int_equal(st.invalid_pct, 2);
    assert_int_equal(st.double_enc, 1);
    assert_string_equal(s.text, "q:a=%zz%2|q:b='|");
    ks_http_params_free(d);
}

static void too_many_parameters_are_counted(void **state)
{
    (void)state;
    struct ks_http_request r = {.query = S("a=1&b=2&c=3&d=4")};
    struct seen s = {0};
    struct ks_http_params *d = NULL;
    assert_int_equal(ks_http_params_new(0, 3, &d), KS_OK);
    ks_http_params_each(d, &r, collect, &s);
    struct ks_http_params_stats st;
    ks_http_params_stats(d, &st);
    assert_int_equal(s.count, 3);
    assert_int_equal(st.too_many, 1);
    ks_http_params_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(combined_line_is_parsed),
        cmocka_unit_test(common_line_with_dashes_is_parsed),
        cmocka_unit_test(escaped_quotes_stay_inside_their_field),
        cmocka_unit_test(logformat_string_with_host_and_cookie),
        cmocka_unit_test(bad_logformat_string_is_refused),
        cmocka_unit_test(json_line_with_default_field_names),
        cmocka_unit_test(json_line_with_configured_nested_field_names),
        cmocka_unit_test(bad_lines_are_counted_not_fatal),
        cmocka_unit_test(clf_time_with_offset_and_bad_dates),
        cmocka_unit_test(reader_skips_long_and_binary_lines),
        cmocka_unit_test(reader_truncates_long_lines_when_asked),
        cmocka_unit_test(query_pairs_are_split_and_decoded),
        cmocka_unit_test(path_segments_are_parameters),
        cmocka_unit_test(urlencoded_and_raw_bodies),
        cmocka_unit_test(multipart_parts_and_files),
        cmocka_unit_test(json_body_leaves_are_parameters),
        cmocka_unit_test(cookies_and_selected_headers),
        cmocka_unit_test(invalid_percent_and_double_encoding_are_counted),
        cmocka_unit_test(too_many_parameters_are_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
