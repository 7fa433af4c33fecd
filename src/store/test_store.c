/* Unit tests of the store: schema versions, input registry, crash leftovers, bad files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <inttypes.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kansoku/ks_ip.h"
#include "kansoku/ks_store.h"

struct fx {
    char dir[64];
    char db[128];
    char path[128]; /* scratch path */
};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/ks-store-test.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/k.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static struct ks_store *open_ok(const char *path, uint32_t batch_rows)
{
    struct ks_store_config cfg;
    struct ks_store *s = NULL;
    ks_store_config_default(&cfg);
    if (batch_rows)
        cfg.batch_rows = batch_rows;
    int rc = ks_store_open(path, &cfg, &s);
    if (rc != KS_OK)
        fail_msg("open %s: %s", path, ks_store_errmsg(NULL));
    return s;
}

static struct ks_store_input input_of(char c, uint64_t size)
{
    struct ks_store_input in = {.size = size, .name = "test-input", .kind = "test"};
    memset(in.sha256, c, 64);
    in.sha256[64] = '\0';
    return in;
}

static int write_rows(struct ks_ingest *ing, int n, int64_t t0)
{
    for (int i = 0; i < n; i++) {
        ks_store_row_begin(ing, KS_TBL_SERIES);
        ks_store_put_time(ing, t0 + i);
        ks_store_put_text(ing, "s1", 2);
        ks_store_put_text(ing, "pkts", 4);
        ks_store_put_text(ing, "80", 2);
        ks_store_put_f64(ing, i);
        int rc = ks_store_row_end(ing);
        if (rc != KS_OK)
            return rc;
    }
    return KS_OK;
}

static int ingest(struct ks_store *s, char id, int rows, unsigned flags)
{
    struct ks_store_input in = input_of(id, 1000);
    struct ks_ingest *ing = NULL;
    int rc = ks_store_input_begin(s, &in, flags, &ing);
    if (rc != KS_OK)
        return rc;
    rc = write_rows(ing, rows, 0);
    int end = ks_store_input_end(ing, rc == KS_OK);
    return rc != KS_OK ? rc : end;
}

static struct ks_store_info info_of(struct ks_store *s)
{
    struct ks_store_info info;
    assert_int_equal(ks_store_info(s, &info), KS_OK);
    return info;
}

static void new_db_is_created_at_current_version(void **state)
{
    struct fx *f = *state;
    struct ks_store *s = open_ok(f->db, 0);
    int before, now;
    ks_store_versions(s, &before, &now);
    assert_int_equal(before, 0);
    assert_int_equal(now, KS_STORE_SCHEMA_VERSION);
    struct ks_store_info info = info_of(s);
    assert_int_equal(info.schema_version, KS_STORE_SCHEMA_VERSION);
    assert_string_equal(info.backend, "sqlite");
    assert_int_equal(info.ntables, KS_TBL_COUNT);
    assert_string_equal(info.tables[KS_TBL_SERIES].name, "series");
    assert_int_equal(info.inputs_complete, 0);
    ks_store_close(s);
}

static void reopening_keeps_data_and_does_not_migrate(void **state)
{
    struct fx *f = *state;
    struct ks_store *s = open_ok(f->db, 0);
    assert_int_equal(ingest(s, 'a', 1234, 0), KS_OK);
    ks_store_close(s);
    s = open_ok(f->db, 0);
    int before, now;
    ks_store_versions(s, &before, &now);
    assert_int_equal(before, KS_STORE_SCHEMA_VERSION);
    struct ks_store_info info = info_of(s);
    assert_int_equal(info.inputs_complete, 1);
    assert_int_equal(info.tables[KS_TBL_SERIES].rows, 1234);
    assert_int_equal(info.tables[KS_TBL_SERIES].rows_complete, 1234);
    ks_store_close(s);
}

static void set_version(const char *db, const char *v)
{
    sqlite3 *h = NULL;
    char sql[128];
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    snprintf(sql, sizeof sql, "UPDATE meta SET value = '%s' WHERE key = 'schema_version'", v);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}

static void newer_schema_version_is_refused(void **state)
{
    struct fx *f = *state;
    struct ks_store *s = open_ok(f->db, 0);
    ks_store_close(s);
    set_version(f->db, "99");
    s = NULL;
    assert_int_equal(ks_store_open(f->db, NULL, &s), KS_ESTORE);
    assert_null(s);
    assert_non_null(strstr(ks_store_errmsg(NULL), f->db));
    assert_non_null(strstr(ks_store_errmsg(NULL), "newer"));
}

static void foreign_sqlite_database_is_refused(void **state)
{
    struct fx *f = *state;
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    struct ks_store *s = NULL;
    assert_int_equal(ks_store_open(f->db, NULL, &s), KS_ECORRUPT);
    assert_non_null(strstr(ks_store_errmsg(NULL), "not a kansoku store"));
}

static void empty_file_becomes_a_new_store(void **state)
{
    struct fx *f = *state;
    int fd = open(f->db, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);
    struct ks_store *s = open_ok(f->db, 0);
    assert_int_equal(info_of(s).schema_version, KS_STORE_SCHEMA_VERSION);
    ks_store_close(s);
}

static void duplicate_input_is_refused(void **state)
{
    struct fx *f = *state;
    struct ks_store *s = open_ok(f->db, 0);
    assert_int_equal(ingest(s, 'a', 10, 0), KS_OK);
    assert_int_equal(ingest(s, 'a', 10, 0), KS_EEXIST);
    assert_non_null(strstr(ks_store_errmsg(s), "--force"));
    /* Same hash, other size: another input. */
    struct ks_store_input in = input_of('a', 999);
    struct ks_ingest *ing = NULL;
    assert_int_equal(ks_store_input_begin(s, &in, 0, &ing), KS_OK);
    assert_int_equal(ks_store_input_end(ing, true), KS_OK);
    struct ks_store_info info = info_of(s);
    assert_int_equal(info.inputs_complete, 2);
    assert_int_equal(info.tables[KS_TBL_SERIES].rows, 10);
    ks_store_close(s);
}

static void force_replaces_without_double_counting(void **state)
{
    struct fx *f = *state;
    struct ks_store *s = open_ok(f->db, 100);
    assert_int_equal(ingest(s, 'a', 1000, 0), KS_OK);
    assert_int_equal(ingest(s, 'b', 7, 0), KS_OK);
    assert_int_equal(ingest(s, 'a', 1000, KS_STORE_FORCE), KS_OK);
    struct ks_store_info info = info_of(s);
    assert_int_equal(info.inputs_complete, 2);
    assert_int_equal(info.inputs_partial, 0);
    assert_int_equal(info.tables[KS_TBL_SERIES].rows, 1007);
    ks_store_close(s);
}

static void failed_force_keeps_the_old_input(void **state)
{
    struct fx *f = *state;
    struct ks_store *s = open_ok(f->db, 100);
    assert_int_equal(ingest(s, 'a', 500, 0), KS_OK);
    struct ks_store_input in = input_of('a', 1000);
    struct ks_ingest *ing = NULL;
    assert_int_equal(ks_store_input_begin(s, &in, KS_STORE_FORCE, &ing), KS_OK);
    assert_int_equal(write_rows(ing, 300, 0), KS_OK);
    assert_int_equal(ks_store_input_end(ing, false), KS_OK);
    struct ks_store_info info = info_of(s);
    assert_int_equal(info.inputs_complete, 1);
    assert_int_equal(info.inputs_partial, 0);
    assert_int_equal(info.tables[KS_TBL_SERIES].rows, 500);
    ks_store_close(s);
}

static void partial_input_is_not_counted_and_cleaned_on_next_begin(void **state)
{
    struct fx *f = *state;
    struct ks_store *w = open_ok(f->db, 100);
    struct ks_store_input in = input_of('c', 1000);
    struct ks_ingest *ing = NULL;
    assert_int_equal(ks_store_input_begin(w, &in, 0, &ing), KS_OK);
    assert_int_equal(write_rows(ing, 400, 0), KS_OK); /* 4 batches, none open */
    assert_int_equal(ks_store_ingest_committed(ing), 400);

    /* Another handle sees a live partial input: not deleted, not counted. */
    struct ks_store *r = open_ok(f->db, 0);
    struct ks_store_info info = info_of(r);
    assert_int_equal(info.inputs_partial, 1);
    assert_int_equal(info.inputs_complete, 0);
    assert_int_equal(info.tables[KS_TBL_SERIES].rows, 400);
    assert_int_equal(info.tables[KS_TBL_SERIES].rows_complete, 0);
    struct ks_ingest *ing2 = NULL;
    assert_int_equal(ks_store_input_begin(r, &in, 0, &ing2), KS_EEXIST);
    assert_non_null(strstr(ks_store_errmsg(r), "another process"));

    /* The writer goes away without input_end, as if killed. */
    ks_store_close(w);
    assert_int_equal(ks_store_input_begin(r, &in, 0, &ing2), KS_OK);
    assert_int_equal(write_rows(ing2, 1000, 0), KS_OK);
    assert_int_equal(ks_store_input_end(ing2, true), KS_OK);
    info = info_of(r);
    assert_int_equal(info.inputs_partial, 0);
    assert_int_equal(info.inputs_complete, 1);
    assert_int_equal(info.tables[KS_TBL_SERIES].rows, 1000);
    ks_store_close(r);
}

static void partial_input_is_cleaned_at_open(void **state)
{
    struct fx *f = *state;
    struct ks_store *w = open_ok(f->db, 10);
    struct ks_store_input in = input_of('d', 1000);
    struct ks_ingest *ing = NULL;
    assert_int_equal(ks_store_input_begin(w, &in, 0, &ing), KS_OK);
    assert_int_equal(write_rows(ing, 95, 0), KS_OK);
    ks_store_close(w);
    struct ks_store *r = open_ok(f->db, 0);
    struct ks_store_info info = info_of(r);
    assert_int_equal(info.inputs_partial, 0);
    assert_int_equal(info.tables[KS_TBL_INPUTS].rows, 0);
    assert_int_equal(info.tables[KS_TBL_SERIES].rows, 0);
    ks_store_close(r);
}

static void input_end_not_ok_discards_rows(void **state)
{
    struct fx *f = *state;
    struct ks_store *s = open_ok(f->db, 100);
    struct ks_store_input in = input_of('e', 1000);
    struct ks_ingest *ing = NULL;
    assert_int_equal(ks_store_input_begin(s, &in, 0, &ing), KS_OK);
    assert_int_equal(write_rows(ing, 250, 0), KS_OK);
    assert_int_equal(ks_store_input_end(ing, false), KS_OK);
    struct ks_store_info info = info_of(s);
    assert_int_equal(info.tables[KS_TBL_INPUTS].rows, 0);
    assert_int_equal(info.tables[KS_TBL_SERIES].rows, 0);
    ks_store_close(s);
}

static void wrong_row_is_refused_and_others_kept(void **state)
{
    struct fx *f = *state;
    struct ks_store *s = open_ok(f->db, 0);
    struct ks_store_input in = input_of('f', 1000);
    struct ks_ingest *ing = NULL;
    assert_int_equal(ks_store_input_begin(s, &in, 0, &ing), KS_OK);
    assert_int_equal(write_rows(ing, 3, 0), KS_OK);
    ks_store_row_begin(ing, KS_TBL_SERIES);
    ks_store_put_text(ing, "not a time", 10);
    assert_int_equal(ks_store_row_end(ing), KS_EINVAL);
    ks_store_row_begin(ing, KS_TBL_SERIES);
    ks_store_put_time(ing, 1);
    assert_int_equal(ks_store_row_end(ing), KS_EINVAL); /* too few values */
    assert_int_equal(ks_store_row_begin(ing, KS_TBL_INPUTS), KS_EINVAL);
    assert_int_equal(write_rows(ing, 2, 0), KS_OK);
    assert_int_equal(ks_store_input_end(ing, true), KS_OK);
    assert_int_equal(info_of(s).tables[KS_TBL_SERIES].rows, 5);
    ks_store_close(s);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

static void garbage_file_is_corrupt_and_named(void **state)
{
    struct fx *f = *state;
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 7 + 3);
    write_file(f->db, junk, sizeof junk);
    struct ks_store *s = NULL;
    assert_int_equal(ks_store_open(f->db, NULL, &s), KS_ECORRUPT);
    assert_non_null(strstr(ks_store_errmsg(NULL), f->db));
    assert_non_null(strstr(ks_store_errmsg(NULL), "move it away"));
    /* Nothing was written to it. */
    struct stat sb;
    assert_int_equal(stat(f->db, &sb), 0);
    assert_int_equal(sb.st_size, sizeof junk);
}

static void truncated_database_is_corrupt_and_named(void **state)
{
    struct fx *f = *state;
    struct ks_store *s = open_ok(f->db, 0);
    assert_int_equal(ingest(s, 'a', 20000, 0), KS_OK);
    ks_store_close(s);
    struct stat sb;
    assert_int_equal(stat(f->db, &sb), 0);
    assert_true(sb.st_size > 8192);
    assert_int_equal(truncate(f->db, sb.st_size / 2), 0);
    s = NULL;
    assert_int_equal(ks_store_open(f->db, NULL, &s), KS_ECORRUPT);
    assert_non_null(strstr(ks_store_errmsg(NULL), f->db));
    assert_non_null(strstr(ks_store_errmsg(NULL), "truncated"));
}

static void missing_directory_is_a_clear_error(void **state)
{
    struct fx *f = *state;
    snprintf(f->path, sizeof f->path, "%s/no/such/dir/k.db", f->dir);
    struct ks_store *s = NULL;
    assert_int_equal(ks_store_open(f->path, NULL, &s), KS_EIO);
    assert_non_null(strstr(ks_store_errmsg(NULL), f->path));
}

static void readonly_file_is_a_clear_error(void **state)
{
    struct fx *f = *state;
    if (geteuid() == 0)
        skip(); /* root writes anyway */
    ks_store_close(open_ok(f->db, 0));
    assert_int_equal(chmod(f->db, 0444), 0);
    struct ks_store *s = NULL;
    assert_int_equal(ks_store_open(f->db, NULL, &s), KS_EIO);
    assert_non_null(strstr(ks_store_errmsg(NULL), f->db));
    struct ks_store_config cfg;
    ks_store_config_default(&cfg);
    cfg.readonly = true;
    assert_int_equal(ks_store_open(f->db, &cfg, &s), KS_OK);
    ks_store_close(s);
}

static void clickhouse_unreachable_server_is_an_io_error(void **state)
{
    struct ks_store *s = NULL;
    (void)state;
    assert_int_equal(ks_store_open("clickhouse://127.0.0.1:1/kansoku", NULL, &s), KS_EIO);
    assert_null(s);
    assert_non_null(strstr(ks_store_errmsg(NULL), "cannot reach ClickHouse"));
    assert_int_equal(ks_store_open("clickhouse://127.0.0.1:1", NULL, &s), KS_EINVAL);
}

static int sum_cb(void *user, size_t ncols, const char *const *names,
                  const struct ks_store_value *vals)
{
    double *sum = user;
    assert_int_equal(ncols, 2);
    assert_string_equal(names[0], "n");
    assert_int_equal(vals[0].type, KS_TYPE_I64);
    assert_int_equal(vals[1].type, KS_TYPE_F64);
    sum[0] = (double)vals[0].v.i64;
    sum[1] = vals[1].v.f64;
    return 0;
}

static void query_reads_complete_inputs_and_refuses_writes(void **state)
{
    struct fx *f = *state;
    struct ks_store *s = open_ok(f->db, 0);
    assert_int_equal(ingest(s, 'a', 10, 0), KS_OK);
    double got[2] = {0, 0};
    struct ks_store_value p = {.type = KS_TYPE_TEXT, .v.bytes = {"pkts", 4}};
    assert_int_equal(ks_store_query(s,
                                    "SELECT count(*) AS n, sum(value) FROM series JOIN inputs ON "
                                    "inputs.id = input_id AND inputs.status = 'complete' "
                                    "WHERE metric = ?1",
                                    &p, 1, sum_cb, got),
                     KS_OK);
    assert_true(got[0] == 10 && got[1] == 45);
    assert_int_equal(ks_store_query(s, "DELETE FROM series", NULL, 0, sum_cb, got), KS_EINVAL);
    assert_int_equal(ks_store_query(s, "SELEC nonsense", NULL, 0, sum_cb, got), KS_EINVAL);
    assert_int_equal(info_of(s).tables[KS_TBL_SERIES].rows, 10);
    ks_store_close(s);
}

/* sum(n), sum(v) of a rollup table's `series` rows of complete inputs. */
static void rollup_sums(struct ks_store *s, const char *table, double got[2])
{
    char sql[256];
    got[0] = got[1] = -1;
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(n), 0) AS n, coalesce(total(v), 0) FROM %s JOIN inputs ON "
             "inputs.id = input_id AND inputs.status = 'complete' WHERE src = 'series'",
             table);
    assert_int_equal(ks_store_query(s, sql, NULL, 0, sum_cb, got), KS_OK);
}

static void rollups_count_every_row_of_complete_inputs_once(void **state)
{
    struct fx *f = *state;
    struct ks_store *s = open_ok(f->db, 3);
    double got[2];
    assert_int_equal(ingest(s, 'a', 10, 0), KS_OK);
    assert_int_equal(ingest(s, 'a', 10, KS_STORE_FORCE), KS_OK);
    rollup_sums(s, "rollup_1d", got);
    assert_true(got[0] == 10 && got[1] == 45);
    /* A discarded ingest leaves none. */
    struct ks_store_input in = input_of('b', 1);
    struct ks_ingest *ing = NULL;
    assert_int_equal(ks_store_input_begin(s, &in, 0, &ing), KS_OK);
    assert_int_equal(write_rows(ing, 5, 0), KS_OK);
    assert_int_equal(ks_store_input_end(ing, false), KS_OK);
    rollup_sums(s, "rollup_1d", got);
    assert_true(got[0] == 10);
    assert_int_equal(info_of(s).tables[KS_TBL_ROLLUP_1D].rows, 1);
    ks_store_close(s);
}

static void migration_to_13_computes_the_rollups_of_stored_rows(void **state)
{
    struct fx *f = *state;
    struct ks_store *s = open_ok(f->db, 0);
    assert_int_equal(ingest(s, 'a', 10, 0), KS_OK);
    ks_store_close(s);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h,
                                  "DROP TABLE rollup_1m; DROP TABLE rollup_1h; DROP TABLE "
                                  "rollup_1d; DROP TABLE rollup_15m",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    set_version(f->db, "12");
    s = open_ok(f->db, 0);
    int before, now;
    ks_store_versions(s, &before, &now);
    assert_int_equal(before, 12);
    assert_int_equal(now, KS_STORE_SCHEMA_VERSION);
    double got[2];
    rollup_sums(s, "rollup_1d", got);
    assert_true(got[0] == 10 && got[1] == 45);
    ks_store_close(s);
}

/* v14 rollups: honeypot sessions and mail messages over two days, sources repeating. */
static int write_v14_rows(struct ks_store *s, char id)
{
    struct ks_store_input in = input_of(id, 1000);
    struct ks_ingest *ing = NULL;
    int rc = ks_store_input_begin(s, &in, 0, &ing);
    if (rc != KS_OK)
        return rc;
    const int64_t t0 = INT64_C(1212278400000000); /* 2008-06-01T00:00:00Z */
    for (int i = 0; rc == KS_OK && i < 400; i++) {
        struct ks_addr a;
        ks_addr_from_v4(&a, 0xc0000200u + (uint32_t)(i * i % 37)); /* 192.0.2.0/24 */
        int64_t ts = t0 + (int64_t)i * 450000000;                  /* 7.5 min: 2 days */
        ks_store_row_begin(ing, KS_TBL_HONEYPOT_SESSIONS);
        ks_store_put_time(ing, ts);
        ks_store_put_time(ing, ts + 1);
        ks_store_put_text(ing, i % 3 ? "s1" : "s2", 2);
        ks_store_put_text(ing, "tcp", 3);
        ks_store_put_addr(ing, &a);
        ks_store_put_i64(ing, 1024);
        ks_store_put_i64(ing, i % 2 ? 445 : 22);
        ks_store_put_i64(ing, i);
        ks_store_put_text(ing, "syn", 3);
        ks_store_put_null(ing);
        ks_store_put_null(ing);
        ks_store_put_null(ing);
        if ((rc = ks_store_row_end(ing)) != KS_OK)
            break;
        ks_store_row_begin(ing, KS_TBL_MAIL_MESSAGES);
        ks_store_put_time(ing, ts);
        ks_store_put_text(ing, "<m@x>", 5);
        ks_store_put_text(ing, i % 4 ? "spam" : "ham", i % 4 ? 4 : 3);
        ks_store_put_text(ing, "label", 5);
        ks_store_put_null(ing);
        if (i % 5)
            ks_store_put_addr(ing, &a);
        else
            ks_store_put_null(ing);
        for (int k = 0; k < 13; k++) /* helo .. time_source */
            if (k == 2 || k == 6 || k == 7 || k == 10 || k == 11)
                ks_store_put_i64(ing, 0);
            else if (k == 8)
                ks_store_put_null(ing);
            else
                ks_store_put_text(ing, "x", 1);
        rc = ks_store_row_end(ing);
    }
    int end = ks_store_input_end(ing, rc == KS_OK);
    return rc != KS_OK ? rc : end;
}

static int i64_cb(void *user, size_t ncols, const char *const *names,
                  const struct ks_store_value *vals)
{
    (void)names;
    assert_int_equal(ncols, 1);
    *(int64_t *)user = vals[0].type == KS_TYPE_I64 ? vals[0].v.i64 : -1;
    return 0;
}

/* Rows of the raw GROUP BY that the rollup lacks, plus the reverse (0: equal). */
static int64_t rollup_diff(struct ks_store *s, const char *tbl, const char *src, int64_t bucket,
                           const char *raw, const char *keys)
{
    char sql[2048], r[384], u[384];
    snprintf(r, sizeof r, "SELECT ts - ts %% %" PRId64 ", %s, count(*) FROM %s GROUP BY 1, 2, 3, 4",
             bucket, keys, raw);
    snprintf(u, sizeof u,
             "SELECT ts, sensor, k1, k2, sum(n) FROM %s WHERE src = '%s' GROUP BY 1, 2, 3, 4", tbl,
             src);
    snprintf(sql, sizeof sql,
             "SELECT (SELECT count(*) FROM (%s EXCEPT %s)) + (SELECT count(*) FROM (%s EXCEPT "
             "%s)) + (SELECT count(*) = 0 FROM %s WHERE src = '%s')",
             r, u, u, r, tbl, src);
    int64_t n = -1;
    assert_int_equal(ks_store_query(s, sql, NULL, 0, i64_cb, &n), KS_OK);
    return n;
}

static void check_v14_rollups(struct ks_store *s)
{
    const int64_t h = INT64_C(3600000000), d = 24 * h, q = h / 4;
    const char *hp = "sensor, CAST(port AS TEXT), proto";
    assert_int_equal(rollup_diff(s, "rollup_15m", "honeypot_sessions", q, "honeypot_sessions", hp),
                     0);
    assert_int_equal(rollup_diff(s, "rollup_1h", "honeypot_sessions:source", h, "honeypot_sessions",
                                 "sensor, source, ''"),
                     0);
    assert_int_equal(rollup_diff(s, "rollup_1d", "honeypot_sessions:source", d, "honeypot_sessions",
                                 "sensor, source, ''"),
                     0);
    assert_int_equal(rollup_diff(s, "rollup_1d", "honeypot_sessions:source_all", d,
                                 "honeypot_sessions", "'', source, ''"),
                     0);
    assert_int_equal(rollup_diff(s, "rollup_1h", "honeypot_sessions:source_all", h,
                                 "honeypot_sessions", "'', source, ''"),
                     0);
    /* NULL senders are '' in the rollup. */
    const char *ms = "'', verdict, coalesce(sender, '')";
    assert_int_equal(rollup_diff(s, "rollup_1h", "mail_messages:sender", h, "mail_messages", ms),
                     0);
    assert_int_equal(rollup_diff(s, "rollup_1d", "mail_messages:sender", d, "mail_messages", ms),
                     0);
    assert_int_equal(
        rollup_diff(s, "rollup_15m", "mail_messages", q, "mail_messages", "'', verdict, country"),
        0);
    /* The rollups of version 13 are still there, once. */
    assert_int_equal(rollup_diff(s, "rollup_1h", "honeypot_sessions", h, "honeypot_sessions", hp),
                     0);
}

static void source_rollups_equal_the_raw_rows_per_15m_hour_and_day(void **state)
{
    struct fx *f = *state;
    struct ks_store *s = open_ok(f->db, 7); /* many batches */
    assert_int_equal(write_v14_rows(s, 'a'), KS_OK);
    check_v14_rollups(s);
    ks_store_close(s);
}

static void migration_to_14_computes_the_new_rollups_of_stored_rows(void **state)
{
    struct fx *f = *state;
    struct ks_store *s = open_ok(f->db, 0);
    assert_int_equal(write_v14_rows(s, 'a'), KS_OK);
    ks_store_close(s);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h,
                                  "DROP TABLE rollup_15m; DELETE FROM rollup_1h WHERE src IN "
                                  "('honeypot_sessions:source', 'honeypot_sessions:source_all', "
                                  "'mail_messages:sender'); DELETE "
                                  "FROM rollup_1d WHERE src <> 'series'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    set_version(f->db, "13");
    s = open_ok(f->db, 0);
    int before, now;
    ks_store_versions(s, &before, &now);
    assert_int_equal(before, 13);
    assert_int_equal(now, KS_STORE_SCHEMA_VERSION);
    check_v14_rollups(s);
    ks_store_close(s);
}

static int list_cb(void *user, const struct ks_store_input_info *in)
{
    int *n = user;
    (*n)++;
    assert_string_equal(in->status, "complete");
    assert_string_equal(in->kind, "test");
    assert_int_equal(in->rows, 10);
    assert_true(in->finished >= in->started);
    return 0;
}

static void inputs_are_listed(void **state)
{
    struct fx *f = *state;
    struct ks_store *s = open_ok(f->db, 0);
    assert_int_equal(ingest(s, 'a', 10, 0), KS_OK);
    assert_int_equal(ingest(s, 'b', 10, 0), KS_OK);
    int n = 0;
    assert_int_equal(ks_store_inputs(s, list_cb, &n), KS_OK);
    assert_int_equal(n, 2);
    ks_store_close(s);
}

static void hash_file_gives_sha256_and_size(void **state)
{
    struct fx *f = *state;
    char hex[65];
    uint64_t size = 0;
    snprintf(f->path, sizeof f->path, "%s/abc", f->dir);
    write_file(f->path, "abc", 3);
    assert_int_equal(ks_store_hash_file(f->path, hex, &size), KS_OK);
    /* FIPS 180-2, appendix B.1 */
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(size, 3);
    assert_int_equal(ks_store_hash_file(f->dir, hex, &size), KS_EINVAL);
    snprintf(f->path, sizeof f->path, "%s/missing", f->dir);
    assert_int_equal(ks_store_hash_file(f->path, hex, &size), KS_EIO);
}

static void count_diag(void *user, const char *module, const struct ks_loc *loc, int err,
                       const char *msg)
{
    (void)module;
    (void)err;
    (void)msg;
    uint32_t *lines = user;
    lines[lines[0] + 1 < 8 ? ++lines[0] : 0] = loc->line;
}

static void csv_import_skips_bad_lines_with_their_numbers(void **state)
{
    struct fx *f = *state;
    const char csv[] = "ts,sensor,metric,key,value\n"
                       "2008-06-01T00:00:00Z,s1,pkts,80,10\n"
                       "oops,s1,pkts,80,10\n"
                       "\n"
                       "1212278400000000,\"s,2\",bytes,,1.5\r\n"
                       "1,s1,pkts,80\n"
                       "2,s1,pkts,80,7";
    snprintf(f->path, sizeof f->path, "%s/in.csv", f->dir);
    write_file(f->path, csv, sizeof csv - 1);
    struct ks_store *s = open_ok(f->db, 0);
    uint32_t lines[8] = {0};
    struct ks_diag d = {.fn = count_diag, .user = lines, .limit = 10};
    struct ks_store_import_stats st;
    assert_int_equal(ks_store_import_csv(s, f->path, KS_TBL_SERIES, 0, &d, NULL, NULL, &st), KS_OK);
    assert_int_equal(st.rows, 3);
    assert_int_equal(st.bad_lines, 2);
    assert_int_equal(st.lines, 7);
    assert_int_equal(lines[0], 2);
    assert_int_equal(lines[1], 3);
    assert_int_equal(lines[2], 6);
    assert_int_equal(ks_store_import_csv(s, f->path, KS_TBL_SERIES, 0, &d, NULL, NULL, &st),
                     KS_EEXIST);
    assert_int_equal(info_of(s).tables[KS_TBL_SERIES].rows, 3);
    ks_store_close(s);
}

/* --- rows held in memory (ks_store_rowbuf) ----------------------------------------------- */

/* The encoding is the sensor spool's on-disk format: pinned byte for byte. */
static void rowbuf_encodes_as_the_spool_format(void **state)
{
    (void)state;
    struct ks_store_rowbuf b = {0};
    struct ks_store_value v[4] = {ks_store_i64(-2), ks_store_text("ab"), ks_store_null(),
                                  ks_store_f64(1.0)};
    assert_int_equal(ks_store_rowbuf_add(&b, 7, v, 4), KS_OK);
    static const uint8_t want[] = {7,
                                   4,
                                   KS_TYPE_I64,
                                   0xff,
                                   0xff,
                                   0xff,
                                   0xff,
                                   0xff,
                                   0xff,
                                   0xff,
                                   0xfe,
                                   KS_TYPE_TEXT,
                                   0,
                                   0,
                                   0,
                                   2,
                                   'a',
                                   'b',
                                   KS_TYPE_NULL,
                                   KS_TYPE_F64,
                                   0x3f,
                                   0xf0,
                                   0,
                                   0,
                                   0,
                                   0,
                                   0,
                                   0};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.buf, want, sizeof want);
    assert_int_equal(b.rows, 1);
    ks_store_rowbuf_free(&b);
}

static void rowbuf_rows_read_back_as_written(void **state)
{
    (void)state;
    struct ks_store_rowbuf b = {0};
    struct ks_store_value wide[KS_STORE_ROW_MAX_COLS];
    for (int i = 0; i < KS_STORE_ROW_MAX_COLS; i++)
        wide[i] = ks_store_u64((uint64_t)i << 40);
    struct ks_store_value mixed[5] = {ks_store_time(1700000000000000), ks_store_text(""),
                                      ks_store_bytes(KS_TYPE_BLOB, "\0\1\2", 3), ks_store_f64(-0.5),
                                      ks_store_null()};
    for (int round = 0; round < 1000; round++) { /* past the first allocation */
        assert_int_equal(ks_store_rowbuf_add(&b, 255, wide, KS_STORE_ROW_MAX_COLS), KS_OK);
        assert_int_equal(ks_store_rowbuf_add(&b, 0, mixed, 5), KS_OK);
    }
    assert_int_equal(b.rows, 2000);
    size_t at = 0;
    for (int round = 0; round < 1000; round++) {
        int table;
        size_t n;
        struct ks_store_value v[KS_STORE_ROW_MAX_COLS];
        assert_int_equal(ks_store_rowbuf_next(b.buf, b.len, &at, &table, v, &n), KS_OK);
        assert_int_equal(table, 255);
        assert_int_equal(n, KS_STORE_ROW_MAX_COLS);
        assert_int_equal(v[31].v.u64, (uint64_t)31 << 40);
        assert_int_equal(ks_store_rowbuf_next(b.buf, b.len, &at, &table, v, &n), KS_OK);
        assert_int_equal(table, 0);
        assert_int_equal(n, 5);
        assert_int_equal(v[0].type, KS_TYPE_TIME);
        assert_int_equal(v[0].v.i64, 1700000000000000);
        assert_int_equal(v[1].v.bytes.len, 0);
        assert_int_equal(v[2].v.bytes.len, 3);
        assert_memory_equal(v[2].v.bytes.ptr, "\0\1\2", 3);
        assert_true(v[3].v.f64 == -0.5);
        assert_int_equal(v[4].type, KS_TYPE_NULL);
    }
    assert_int_equal(at, b.len);
    ks_store_rowbuf_clear(&b, 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.rows, 0);
    assert_null(b.buf);
    ks_store_rowbuf_free(&b);
}

static void rowbuf_refuses_bad_rows_and_damaged_bytes(void **state)
{
    (void)state;
    struct ks_store_rowbuf b = {0};
    struct ks_store_value v[KS_STORE_ROW_MAX_COLS + 1];
    for (int i = 0; i <= KS_STORE_ROW_MAX_COLS; i++)
        v[i] = ks_store_i64(i);
    assert_int_equal(ks_store_rowbuf_add(&b, 1, v, KS_STORE_ROW_MAX_COLS + 1), KS_EINVAL);
    assert_int_equal(ks_store_rowbuf_add(&b, 256, v, 1), KS_EINVAL);
    assert_int_equal(ks_store_rowbuf_add(&b, -1, v, 1), KS_EINVAL);
    assert_int_equal(b.rows, 0);
    v[1] = ks_store_text("hello");
    assert_int_equal(ks_store_rowbuf_add(&b, 3, v, 2), KS_OK);
    int table;
    size_t n, at;
    struct ks_store_value out[KS_STORE_ROW_MAX_COLS];
    for (size_t cut = 0; cut < b.len; cut++) { /* every truncation */
        at = 0;
        assert_int_equal(ks_store_rowbuf_next(b.buf, cut, &at, &table, out, &n), KS_EFORMAT);
        assert_int_equal(at, 0);
    }
    b.buf[2] = 99; /* no such type */
    at = 0;
    assert_int_equal(ks_store_rowbuf_next(b.buf, b.len, &at, &table, out, &n), KS_EFORMAT);
    b.buf[1] = KS_STORE_ROW_MAX_COLS + 1;
    assert_int_equal(ks_store_rowbuf_next(b.buf, b.len, &at, &table, out, &n), KS_EFORMAT);
    ks_store_rowbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(new_db_is_created_at_current_version, setup, teardown),
        cmocka_unit_test_setup_teardown(reopening_keeps_data_and_does_not_migrate, setup, teardown),
        cmocka_unit_test_setup_teardown(newer_schema_version_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(foreign_sqlite_database_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_file_becomes_a_new_store, setup, teardown),
        cmocka_unit_test_setup_teardown(duplicate_input_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(force_replaces_without_double_counting, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_force_keeps_the_old_input, setup, teardown),
        cmocka_unit_test_setup_teardown(partial_input_is_not_counted_and_cleaned_on_next_begin,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(partial_input_is_cleaned_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(input_end_not_ok_discards_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_row_is_refused_and_others_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(garbage_file_is_corrupt_and_named, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated_database_is_corrupt_and_named, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_directory_is_a_clear_error, setup, teardown),
        cmocka_unit_test_setup_teardown(readonly_file_is_a_clear_error, setup, teardown),
        cmocka_unit_test(clickhouse_unreachable_server_is_an_io_error),
        cmocka_unit_test(rowbuf_encodes_as_the_spool_format),
        cmocka_unit_test(rowbuf_rows_read_back_as_written),
        cmocka_unit_test(rowbuf_refuses_bad_rows_and_damaged_bytes),
        cmocka_unit_test_setup_teardown(rollups_count_every_row_of_complete_inputs_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(migration_to_13_computes_the_rollups_of_stored_rows, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(source_rollups_equal_the_raw_rows_per_15m_hour_and_day,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(migration_to_14_computes_the_new_rollups_of_stored_rows,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(query_reads_complete_inputs_and_refuses_writes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(inputs_are_listed, setup, teardown),
        cmocka_unit_test_setup_teardown(hash_file_gives_sha256_and_size, setup, teardown),
        cmocka_unit_test_setup_teardown(csv_import_skips_bad_lines_with_their_numbers, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
