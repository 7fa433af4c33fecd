/* Unit tests of the crawler's link extractor, URL resolution and address check. The network
 * side is tested end to end by tests/cli/test_crawl.sh against a loopback server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crawl/crawl_int.h"
#include "kansoku/ks_crawl.h"

#define MAXL 16

struct found {
    unsigned n;
    enum ks_crawl_link kind[MAXL];
    char ref[MAXL][256];
};

static int collect(void *user, enum ks_crawl_link kind, const char *ref, size_t len)
{
    struct found *f = user;
    if (f->n < MAXL) {
        f->kind[f->n] = kind;
        snprintf(f->ref[f->n], sizeof f->ref[0], "%.*s", (int)len, ref);
        f->n++;
    }
    return 0;
}

static struct found scan(const char *doc, unsigned type)
{
    struct found f;
    memset(&f, 0, sizeof f);
    assert_int_equal(ks_crawl_links(doc, strlen(doc), type, collect, &f, NULL), 0);
    return f;
}

static void meta_refresh_url_is_found(void **state)
{
    (void)state;
    struct found f = scan("<head><META HTTP-EQUIV=\"Refresh\" CONTENT=\"0; URL=/next.html\">", 0);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.kind[0], KS_CRAWL_LINK_REFRESH);
    assert_string_equal(f.ref[0], "/next.html");
}

static void meta_refresh_quoted_and_bare_forms(void **state)
{
    (void)state;
    struct found f = scan("<meta http-equiv=refresh content=\"5;url='a.html'\">"
                          "<meta content=\"3, b.html\" http-equiv=\"refresh\">"
                          "<meta http-equiv=\"refresh\" content=\"10\">",
                          0);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.ref[0], "a.html");
    assert_string_equal(f.ref[1], "b.html");
}

static void frames_iframes_and_scripts_are_found(void **state)
{
    (void)state;
    struct found f = scan("<frameset><frame src=top.html></frameset>"
                          "<iframe width=0 height=0 src='http://b.example/x'></iframe>"
                          "<script type=text/javascript src=\"//c.example/a.js\"></script>",
                          0);
    assert_int_equal(f.n, 3);
    assert_int_equal(f.kind[0], KS_CRAWL_LINK_FRAME);
    assert_string_equal(f.ref[0], "top.html");
    assert_int_equal(f.kind[1], KS_CRAWL_LINK_FRAME);
    assert_string_equal(f.ref[1], "http://b.example/x");
    assert_int_equal(f.kind[2], KS_CRAWL_LINK_SCRIPT);
    assert_string_equal(f.ref[2], "//c.example/a.js");
}

static void script_location_forms_are_found(void **state)
{
    (void)state;
    struct found f = scan("location = 'a';\nwindow.location.href=\"b\";\n"
                          "document.location = 'c'; top.location.replace(\"d\");\n"
                          "location.assign('e'); if (location == 'no') {} x.relocation = 'no';\n"
                          "var s = location.href.indexOf('no');",
                          KS_CRAWL_DOC_JS);
    assert_int_equal(f.n, 5);
    const char *want[] = {"a", "b", "c", "d", "e"};
    for (unsigned i = 0; i < 5; i++) {
        assert_int_equal(f.kind[i], KS_CRAWL_LINK_JS);
        assert_string_equal(f.ref[i], want[i]);
    }
}

static void inline_script_and_event_handler_are_scanned(void **state)
{
    (void)state;
    struct found f = scan("<body onload=\"location='/onload'\"><script>\n"
                          "// location = 'commented';\nwindow.location = \"/inline\";</script>",
                          0);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.ref[0], "/onload");
    assert_string_equal(f.ref[1], "/inline");
}

static void document_write_markup_is_scanned(void **state)
{
    (void)state;
    struct found f =
        scan("<script>document.write('<iframe src=\"http://e.example/w\"></iframe>');</script>", 0);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.kind[0], KS_CRAWL_LINK_FRAME);
    assert_string_equal(f.ref[0], "http://e.example/w");
}

static void escapes_and_character_references_are_decoded(void **state)
{
    (void)state;
    struct found f = scan("<iframe src=\"&#x68;ttp://f.example/?a=1&amp;b=2\"></iframe>", 0);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.ref[0], "http://f.example/?a=1&b=2");
    f = scan("location = \"http:\\/\\/g.example\\x2fs\\u0065tup.exe\";", KS_CRAWL_DOC_JS);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.ref[0], "http://g.example/setup.exe");
}

static void only_executable_anchors_are_downloads(void **state)
{
    (void)state;
    struct found f = scan("<a href=\"/about.html\">a</a><a href='/dl/codec.EXE?v=2'>b</a>"
                          "<a href=/x/archive.zip#frag>c</a><a href=\"/exe/\">d</a>",
                          0);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.kind[0], KS_CRAWL_LINK_DOWNLOAD);
    assert_string_equal(f.ref[0], "/dl/codec.EXE?v=2");
    assert_string_equal(f.ref[1], "/x/archive.zip#frag");
}

static void comments_and_raw_text_hide_links(void **state)
{
    (void)state;
    struct found f = scan("<!-- <iframe src=a> --><style><iframe src=b></style>"
                          "<textarea><iframe src=c></textarea><title><frame src=d></title>"
                          "<iframe src=e>",
                          0);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.ref[0], "e");
}

static void base_href_is_reported(void **state)
{
    (void)state;
    struct found f = scan("<base href=\"http://h.example/dir/\"><iframe src=rel.html>", 0);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.kind[0], KS_CRAWL_LINK_BASE);
    assert_int_equal(f.kind[1], KS_CRAWL_LINK_FRAME);
}

static void garbage_and_truncation_do_not_crash(void **state)
{
    (void)state;
    struct ks_crawl_links_stats st;
    struct found f;
    memset(&f, 0, sizeof f);
    static const char *const docs[] = {
        "<",
        "<<<>>>",
        "<iframe src=\"",
        "<iframe src='x",
        "<script>location='",
        "<!--",
        "<meta http-equiv=refresh content=\"0;url=",
        "&#",
        "<a href=&#99999999999;.exe>",
        "<iframe\0src=x>",
        "<script>\"\\",
        "<script>location.replace(",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        for (unsigned type = 0; type < 2; type++)
            ks_crawl_links(docs[i], strlen(docs[i]) + (i == 9 ? 7 : 0), type, collect, &f, &st);
    /* random bytes */
    uint8_t buf[4096];
    uint64_t x = 88172645463325252ull;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof buf; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            static const char alpha[] = "<>=\"' /&#;xiframesrcltonLocation.()\\\n-!";
            buf[i] = (uint8_t)alpha[x % (sizeof alpha - 1)];
        }
        ks_crawl_links(buf, sizeof buf, (unsigned)round & 1, collect, &f, &st);
    }
    assert_true(f.n <= MAXL);
}

static void too_long_reference_is_counted_and_skipped(void **state)
{
    (void)state;
    static char doc[KS_CRAWL_MAX_REF + 200];
    size_t n = KS_CRAWL_MAX_REF + 100;
    memcpy(doc, "<iframe src=\"", 13);
    memset(doc + 13, 'a', n);
    memcpy(doc + 13 + n, "\"><iframe src=ok>", 18);
    struct ks_crawl_links_stats st;
    struct found f;
    memset(&f, 0, sizeof f);
    ks_crawl_links(doc, strlen(doc), 0, collect, &f, &st);
    assert_int_equal(st.too_long, 1);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.ref[0], "ok");
}

static int stop_at_first(void *user, enum ks_crawl_link kind, const char *ref, size_t len)
{
    (*(int *)user)++;
    return 7;
}

static void callback_can_stop_the_scan(void **state)
{
    (void)state;
    int calls = 0;
    const char *doc = "<iframe src=a><iframe src=b><iframe src=c>";
    assert_int_equal(ks_crawl_links(doc, strlen(doc), 0, stop_at_first, &calls, NULL), 7);
    assert_int_equal(calls, 1);
}

static void relative_references_resolve(void **state)
{
    (void)state;
    char out[512];
    const char *base = "http://a.example/d/p.html?q=1";
    assert_int_equal(ks_crawl_url_resolve(base, "x.html", 6, out, sizeof out), KS_OK);
    assert_string_equal(out, "http://a.example/d/x.html");
    assert_int_equal(ks_crawl_url_resolve(base, "../y#frag", 9, out, sizeof out), KS_OK);
    assert_string_equal(out, "http://a.example/y");
    assert_int_equal(ks_crawl_url_resolve(base, "//b.example/z", 13, out, sizeof out), KS_OK);
    assert_string_equal(out, "http://b.example/z");
    assert_int_equal(ks_crawl_url_resolve(base, "HTTPS://C.Example/", 18, out, sizeof out), KS_OK);
    assert_string_equal(out, "https://c.example/");
    /* escapes are kept, blanks and non-ASCII bytes escaped, tabs and newlines dropped */
    const char *odd = "a%41b c\t\n\xc3\xa9.html";
    assert_int_equal(ks_crawl_url_resolve(base, odd, strlen(odd), out, sizeof out), KS_OK);
    assert_string_equal(out, "http://a.example/d/a%41b%20c%c3%a9.html");
}

static void other_schemes_are_refused(void **state)
{
    (void)state;
    char out[512];
    const char *base = "http://a.example/";
    assert_int_equal(ks_crawl_url_resolve(base, "ftp://x/y", 9, out, sizeof out), KS_EUNSUPP);
    assert_int_equal(ks_crawl_url_resolve(base, "file:///etc/passwd", 18, out, sizeof out),
                     KS_EUNSUPP);
    assert_int_equal(ks_crawl_url_resolve(NULL, "javascript:alert(1)", 19, out, sizeof out),
                     KS_EUNSUPP);
    assert_int_equal(ks_crawl_url_resolve(base, "http://x/\001", 10, out, sizeof out), KS_EFORMAT);
    assert_int_equal(ks_crawl_url_resolve(base, "http://a.example/long", 21, out, 10), KS_ELIMIT);
}

static bool pub(const char *s)
{
    struct ks_addr a;
    assert_int_equal(ks_addr_parse(s, strlen(s), &a), KS_OK);
    return ks_crawl_addr_is_public(&a);
}

static void private_addresses_are_not_public(void **state)
{
    (void)state;
    static const char *const no[] = {
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.0.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fd00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
        "2001:db8::1",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        if (pub(no[i]))
            fail_msg("%s is public?", no[i]);
    }
    static const char *const yes[] = {"8.8.8.8", "203.178.141.194", "172.32.0.1",
                                      "2001:4860:4860::8888", "::ffff:8.8.8.8"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (!pub(yes[i]))
            fail_msg("%s is not public?", yes[i]);
    }
}

static void archives_with_executables_are_recognised(void **state)
{
    (void)state;
    /* A stored (uncompressed) zip with one member "a.elf" holding an ELF header. */
    static const uint8_t elf[16] = {0x7f, 'E', 'L', 'F', 1, 1, 1, 0};
    uint8_t zip[256];
    size_t n = 0;
    /* local file header */
    static const uint8_t lfh[] = {'P', 'K', 3, 4, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(zip, lfh, sizeof lfh);
    n = sizeof lfh;
    /* crc32 of elf[16] computed below, sizes, name length, extra length */
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < sizeof elf; i++) {
        crc ^= elf[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
    crc = ~crc;
    uint8_t tail[] = {(uint8_t)crc,
                      (uint8_t)(crc >> 8),
                      (uint8_t)(crc >> 16),
                      (uint8_t)(crc >> 24),
                      16,
                      0,
                      0,
                      0,
                      16,
                      0,
                      0,
                      0,
                      5,
                      0,
                      0,
                      0,
                      'a',
                      '.',
                      'e',
                      'l',
                      'f'};
    memcpy(zip + n, tail, sizeof tail);
    n += sizeof tail;
    memcpy(zip + n, elf, sizeof elf);
    n += sizeof elf;
    assert_true(crawl_is_archive(zip, n));
    assert_true(crawl_archive_has_executable(zip, n));
    zip[n - 16] = 'X'; /* not an ELF any more */
    assert_false(crawl_archive_has_executable(zip, n));
    assert_false(crawl_is_archive("<html>", 6));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(meta_refresh_url_is_found),
        cmocka_unit_test(meta_refresh_quoted_and_bare_forms),
        cmocka_unit_test(frames_iframes_and_scripts_are_found),
        cmocka_unit_test(script_location_forms_are_found),
        cmocka_unit_test(inline_script_and_event_handler_are_scanned),
        cmocka_unit_test(document_write_markup_is_scanned),
        cmocka_unit_test(escapes_and_character_references_are_decoded),
        cmocka_unit_test(only_executable_anchors_are_downloads),
        cmocka_unit_test(comments_and_raw_text_hide_links),
        cmocka_unit_test(base_href_is_reported),
        cmocka_unit_test(garbage_and_truncation_do_not_crash),
        cmocka_unit_test(too_long_reference_is_counted_and_skipped),
        cmocka_unit_test(callback_can_stop_the_scan),
        cmocka_unit_test(relative_references_resolve),
        cmocka_unit_test(other_schemes_are_refused),
        cmocka_unit_test(private_addresses_are_not_public),
        cmocka_unit_test(archives_with_executables_are_recognised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
