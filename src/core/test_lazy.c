/* Tests of the libraries opened at their first use (lazy.h, lazy_curl.h, lazy_archive.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/lazy.h"
#include "core/lazy_archive.h"
#include "core/lazy_curl.h"
#include "ks_config.h"

static int loaded_calls;
static void on_loaded(void)
{
    loaded_calls++;
}

static void a_library_is_opened_once_and_its_symbols_resolved(void **state)
{
    (void)state;
    static const char *const names[] = {"curl_easy_init", "curl_easy_cleanup"};
    void (*fns[2])(void) = {NULL, NULL};
    struct ks_lazy l = {KS_SONAME_CURL, names, fns, 2, on_loaded, 0, ""};
    loaded_calls = 0;
    assert_null(ks_lazy_load(&l));
    assert_null(ks_lazy_load(&l));
    assert_int_equal(loaded_calls, 1);
    assert_non_null(fns[0]);
    assert_non_null(fns[1]);
}

static void a_missing_library_fails_with_its_reason_every_time(void **state)
{
    (void)state;
    static const char *const names[] = {"nothing"};
    void (*fns[1])(void) = {NULL};
    struct ks_lazy l = {"libkansoku-absent.so.9", names, fns, 1, on_loaded, 0, ""};
    loaded_calls = 0;
    const char *why = ks_lazy_load(&l);
    assert_non_null(why);
    assert_non_null(strstr(why, "libkansoku-absent.so.9"));
    assert_ptr_equal(ks_lazy_load(&l), why);
    assert_int_equal(loaded_calls, 0);
    assert_null(fns[0]);
}

static void a_missing_symbol_fails(void **state)
{
    (void)state;
    static const char *const names[] = {"curl_easy_init", "curl_no_such_function"};
    void (*fns[2])(void) = {NULL, NULL};
    struct ks_lazy l = {KS_SONAME_CURL, names, fns, 2, on_loaded, 0, ""};
    loaded_calls = 0;
    const char *why = ks_lazy_load(&l);
    assert_non_null(why);
    assert_non_null(strstr(why, "curl_no_such_function"));
    assert_int_equal(loaded_calls, 0);
}

/* The module's table: libcurl answers through it (a URL parsed and read back). */
static void curl_is_called_through_the_table(void **state)
{
    (void)state;
    assert_null(ks_curl_error());
    CURLU *u = curl_url();
    assert_non_null(u);
    assert_int_equal(curl_url_set(u, CURLUPART_URL, "http://Example.COM/a/../b?x=1", 0), CURLUE_OK);
    char *host = NULL, *path = NULL;
    assert_int_equal(curl_url_get(u, CURLUPART_HOST, &host, 0), CURLUE_OK);
    assert_int_equal(curl_url_get(u, CURLUPART_PATH, &path, 0), CURLUE_OK);
    assert_string_equal(host, "Example.COM");
    assert_string_equal(path, "/b");
    curl_free(host);
    curl_free(path);
    curl_url_cleanup(u);
    assert_string_equal(curl_easy_strerror(CURLE_OK), "No error");
}

/* libarchive through its table: an empty zip (only its end record) has no member. */
static void archive_is_called_through_the_table(void **state)
{
    (void)state;
    assert_null(ks_archive_error());
    static const unsigned char empty_zip[22] = {'P', 'K', 5, 6};
    struct archive *a = archive_read_new();
    assert_non_null(a);
    assert_int_equal(archive_read_support_format_all(a), ARCHIVE_OK);
    assert_int_equal(archive_read_open_memory(a, empty_zip, sizeof empty_zip), ARCHIVE_OK);
    struct archive_entry *e;
    assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_EOF);
    assert_int_equal(archive_read_free(a), ARCHIVE_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_library_is_opened_once_and_its_symbols_resolved),
        cmocka_unit_test(a_missing_library_fails_with_its_reason_every_time),
        cmocka_unit_test(a_missing_symbol_fails),
        cmocka_unit_test(curl_is_called_through_the_table),
        cmocka_unit_test(archive_is_called_through_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
