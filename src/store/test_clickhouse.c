/* Unit tests of the ClickHouse backend's parts that need no server: the store URI and the
 * binding of query parameters. tests/cli/test_clickhouse.sh runs it against a real cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store/clickhouse_int.h"

static void uri_with_one_node_and_defaults(void **state)
{
    struct ch_uri u;
    char err[256];
    (void)state;
    assert_int_equal(ch_uri_parse("clickhouse://127.0.0.1:19001/kansoku", &u, err, sizeof err),
                     KS_OK);
    assert_int_equal(u.nnodes, 1);
    assert_string_equal(u.host[0], "127.0.0.1");
    assert_int_equal(u.port[0], 19001);
    assert_string_equal(u.db, "kansoku");
    assert_string_equal(u.cluster, "");
    assert_string_equal(u.user, "default");
    assert_int_equal(u.timeout_ms, 60000);
}

static void uri_with_nodes_cluster_and_settings(void **state)
{
    struct ch_uri u;
    char err[256];
    (void)state;
    assert_int_equal(ch_uri_parse("clickhouse://a:1,b/db_2?cluster=two&retry_s=5&timeout_ms=900",
                                  &u, err, sizeof err),
                     KS_OK);
    assert_int_equal(u.nnodes, 2);
    assert_string_equal(u.host[1], "b");
    assert_int_equal(u.port[1], 8123);
    assert_string_equal(u.cluster, "two");
    assert_int_equal(u.retry_s, 5);
    assert_int_equal(u.timeout_ms, 900);
}

static void malformed_uris_are_refused_with_a_reason(void **state)
{
    struct ch_uri u;
    char err[256];
    (void)state;
    static const char *const bad[] = {
        "clickhouse://",       "clickhouse://h:1",
        "clickhouse://h:0/db", "clickhouse://h:99999/db",
        "clickhouse://h/d-b",  "clickhouse://h/db?x=1",
        "clickhouse://a,b/db", "clickhouse://h/db?cluster=a;b",
        "clickhouse:h/db",     "clickhouse://h/db?retry_s=abc",
        "clickhouse://u@h/db", "clickhouse://h h/db",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(ch_uri_parse(bad[i], &u, err, sizeof err), KS_EINVAL);
        assert_true(err[0] != '\0');
    }
}

static void parameters_become_literals_outside_strings(void **state)
{
    char out[256];
    struct ks_store_value p[3] = {
        {.type = KS_TYPE_I64}, {.type = KS_TYPE_TEXT}, {.type = KS_TYPE_NULL}};
    (void)state;
    p[0].v.i64 = -5;
    p[1].v.bytes.ptr = "it's \\ ok";
    p[1].v.bytes.len = strlen("it's \\ ok");
    assert_int_equal(ch_bind("SELECT ?1, '?2', ?2, ?3 IS NULL, x-?1", p, 3, out, sizeof out),
                     KS_OK);
    assert_string_equal(out, "SELECT (-5), '?2', 'it\\'s \\\\ ok', NULL IS NULL, x-(-5)");
}

static void parameter_out_of_range_is_refused(void **state)
{
    char out[64];
    struct ks_store_value p = {.type = KS_TYPE_I64};
    (void)state;
    assert_int_equal(ch_bind("SELECT ?2", &p, 1, out, sizeof out), KS_EINVAL);
    assert_int_equal(ch_bind("SELECT ?1 + ?1 + ?1 + ?1", &p, 1, out, 8), KS_ELIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uri_with_one_node_and_defaults),
        cmocka_unit_test(uri_with_nodes_cluster_and_settings),
        cmocka_unit_test(malformed_uris_are_refused_with_a_reason),
        cmocka_unit_test(parameters_become_literals_outside_strings),
        cmocka_unit_test(parameter_out_of_range_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
