/* Unit tests of the sensor: configuration, batches and the spool, the store being down, the
 * pipeline fed with packets, the metrics page and its HTTP server. */
#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "kansoku/ks_sensor.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"
#include "sensor/sensor_int.h"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ks-sensor-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    ks_log_set_level(KS_LOG_ERROR);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "chmod -R u+w '%s'; rm -rf '%s'", tmpdir, tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static unsigned diag_count;
static void count_diag(void *user, const char *module, const struct ks_loc *loc, int err,
                       const char *msg)
{
    (void)user;
    (void)module;
    (void)loc;
    (void)err;
    (void)msg;
    diag_count++;
}
static const struct ks_diag cdiag = {count_diag, NULL, 0};

static struct ks_sensor_config *parse(const char *text, int *rc)
{
    struct ks_sensor_config *c = calloc(1, sizeof *c);
    diag_count = 0;
    *rc = ks_sensor_config_parse(text, strlen(text), "test.conf", &cdiag, c);
    return c;
}

static void config_with_every_section_parses(void **state)
{
    (void)state;
    int rc;
    struct ks_sensor_config *c =
        parse("# a sensor\n[sensor]\nname = pop1\ndb = /var/k.db\n"
              "spool_dir = /var/spool/k # where batches wait\nspool_max_mb = 16\n"
              "flush_s = 5\nwindow_s = 60\nmetrics_listen = [::1]:0\n"
              "[capture]\ninterface = lo\nfilter = \"not port 22\"\n"
              "[ddos]\nmax_targets = 1024\n"
              "[darknet]\nprefix = 192.0.2.0/24\nprefix = 2001:db8::/64\n"
              "tz_offset = +09:00\n"
              "[honeypot]\ntcp_ports = 22,23\nudp_ports = 69\n",
              &rc);
    assert_int_equal(rc, KS_OK);
    assert_string_equal(c->name, "pop1");
    assert_string_equal(c->spool_dir, "/var/spool/k");
    assert_true(c->spool_max_bytes == 16u << 20);
    assert_int_equal(c->flush_s, 5);
    assert_string_equal(c->filter, "not port 22");
    assert_true(c->ddos);
    assert_true(c->darknet);
    assert_int_equal(c->ndarknet_prefixes, 2);
    assert_int_equal(c->tz_offset_s, 9 * 3600);
    assert_true(c->honeypot);
    assert_string_equal(c->darknet_sensor, "pop1");
    free(c);
}

static void config_errors_are_reported_with_their_line(void **state)
{
    (void)state;
    int rc;
    struct ks_sensor_config *c =
        parse("[sensor]\ndb = x\nspool_dir = y\nflush_s = -3\nnope = 1\n[capture]\n"
              "interface = lo\n[darknet]\nprefix = 300.1.1.0/24\n[mystery]\n",
              &rc);
    assert_int_equal(rc, KS_EFORMAT);
    assert_int_equal(diag_count, 4);
    free(c);
}

static void config_without_db_or_work_is_refused(void **state)
{
    (void)state;
    int rc;
    struct ks_sensor_config *c = parse("[sensor]\nspool_dir = y\n", &rc);
    assert_int_equal(rc, KS_EINVAL);
    assert_int_equal(diag_count, 2); /* no db, nothing to run */
    free(c);
    c = parse("[sensor]\ndb = x\nspool_dir = y\nmetrics_listen = 0.0.0.0:9477\n"
              "[honeypot]\ntcp_ports = 2222\n",
              &rc);
    assert_int_equal(rc, KS_EINVAL); /* metrics only on loopback */
    free(c);
}

/* --- batches and the spool --- */

static void add_series(struct sbatch *b, int64_t ts, double v)
{
    struct ks_store_value row[5] = {ks_store_time(ts), ks_store_bytes(KS_TYPE_TEXT, "s1", 2),
                                    ks_store_bytes(KS_TYPE_TEXT, "m", 1),
                                    ks_store_bytes(KS_TYPE_TEXT, "", 0), ks_store_f64(v)};
    assert_int_equal(sb_add_row(b, KS_TBL_SERIES, row, 5), KS_OK);
}

static int sum_row(void *user, size_t ncols, const char *const *names,
                   const struct ks_store_value *v)
{
    (void)ncols;
    (void)names;
    *(double *)user = v[0].type == KS_TYPE_NULL  ? 0
                      : v[0].type == KS_TYPE_F64 ? v[0].v.f64
                                                 : (double)v[0].v.i64;
    return 0;
}

static double series_sum(const char *db)
{
    struct ks_store *st = NULL;
    assert_int_equal(ks_store_open(db, NULL, &st), KS_OK);
    double sum = -1;
    assert_int_equal(ks_store_query(st,
                                    "SELECT coalesce(sum(value), 0.0) FROM series JOIN inputs ON "
                                    "inputs.id = input_id AND inputs.status = 'complete'",
                                    NULL, 0, sum_row, &sum),
                     KS_OK);
    ks_store_close(st);
    return sum;
}

static unsigned count_files(const char *dir, const char *suffix)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -c '%s$' > '%s/.n'", dir, suffix, tmpdir);
    (void)!system(cmd);
    snprintf(cmd, sizeof cmd, "%s/.n", tmpdir);
    FILE *f = fopen(cmd, "r");
    unsigned n = 0;
    if (f) {
        (void)!fscanf(f, "%u", &n);
        fclose(f);
    }
    return n;
}

static void batch_is_replayed_once_even_if_replayed_twice(void **state)
{
    (void)state;
    char dir[128], db[128], cmd[512];
    snprintf(dir, sizeof dir, "%s/spool", tmpdir);
    snprintf(db, sizeof db, "%s/a.db", tmpdir);
    struct spool sp;
    assert_int_equal(spool_open(&sp, dir, 1 << 20), KS_OK);
    struct sbatch b;
    sb_init(&b);
    add_series(&b, 1000000, 5);
    add_series(&b, 2000000, 7);
    assert_int_equal(spool_write(&sp, "s1", 1, 1, 123, &b), KS_OK);
    /* Keep a copy, as if the process died after the commit and before the unlink. */
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/keep' && cp '%s'/*.ksb '%s/keep/'", tmpdir, dir,
             tmpdir);
    assert_int_equal(system(cmd), 0);
    struct ks_store *st = NULL;
    struct spool_stats ss = {0};
    char err[512];
    assert_int_equal(spool_replay(&sp, db, 1000, "s1", &st, &ss, err, sizeof err), KS_OK);
    assert_int_equal(ss.committed, 1);
    assert_int_equal(ss.rows_committed, 2);
    assert_int_equal(count_files(dir, ".ksb"), 0);
    snprintf(cmd, sizeof cmd, "cp '%s'/keep/*.ksb '%s/'", tmpdir, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(spool_replay(&sp, db, 1000, "s1", &st, &ss, err, sizeof err), KS_OK);
    assert_int_equal(ss.duplicate, 1);
    assert_int_equal(count_files(dir, ".ksb"), 0);
    ks_store_close(st);
    assert_true(series_sum(db) == 12.0);
    sb_fini(&b);
    spool_close(&sp);
}

static void store_down_keeps_batches_until_it_is_back(void **state)
{
    (void)state;
    char dir[128], db[256], dbdir[128];
    snprintf(dir, sizeof dir, "%s/spool2", tmpdir);
    snprintf(dbdir, sizeof dbdir, "%s/later", tmpdir);
    snprintf(db, sizeof db, "%s/b.db", dbdir);
    struct spool sp;
    assert_int_equal(spool_open(&sp, dir, 1 << 20), KS_OK);
    struct sbatch b;
    sb_init(&b);
    for (int i = 0; i < 3; i++) {
        sb_clear(&b);
        add_series(&b, i * 1000000, 1);
        assert_int_equal(spool_write(&sp, "s1", 2, (uint64_t)i, 100 + i, &b), KS_OK);
    }
    struct ks_store *st = NULL;
    struct spool_stats ss = {0};
    char err[512];
    assert_int_not_equal(spool_replay(&sp, db, 500, "s1", &st, &ss, err, sizeof err), KS_OK);
    assert_null(st);
    assert_int_equal(ss.store_errors, 1);
    assert_int_equal(count_files(dir, ".ksb"), 3);
    assert_int_equal(mkdir(dbdir, 0700), 0);
    assert_int_equal(spool_replay(&sp, db, 500, "s1", &st, &ss, err, sizeof err), KS_OK);
    assert_int_equal(ss.committed, 3);
    ks_store_close(st);
    assert_true(series_sum(db) == 3.0);
    sb_fini(&b);
    spool_close(&sp);
}

static void full_spool_refuses_a_batch(void **state)
{
    (void)state;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/spool3", tmpdir);
    struct spool sp;
    assert_int_equal(spool_open(&sp, dir, 200), KS_OK);
    struct sbatch b;
    sb_init(&b);
    add_series(&b, 1, 1);
    assert_int_equal(spool_write(&sp, "s1", 3, 1, 1, &b), KS_OK);
    assert_int_equal(spool_write(&sp, "s1", 3, 2, 2, &b), KS_ELIMIT);
    assert_int_equal(count_files(dir, ".ksb"), 1);
    sb_fini(&b);
    spool_close(&sp);
}

static void damaged_batch_is_set_aside(void **state)
{
    (void)state;
    char dir[128], db[128], path[256];
    snprintf(dir, sizeof dir, "%s/spool4", tmpdir);
    snprintf(db, sizeof db, "%s/d.db", tmpdir);
    struct spool sp;
    assert_int_equal(spool_open(&sp, dir, 1 << 20), KS_OK);
    snprintf(path, sizeof path, "%s/0000000000000001-x-1.ksb", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("KSSPOOL1\x00\x00\x00\x02hi garbage", f);
    fclose(f);
    struct ks_store *st = NULL;
    struct spool_stats ss = {0};
    char err[512];
    assert_int_equal(spool_replay(&sp, db, 500, "s1", &st, &ss, err, sizeof err), KS_OK);
    assert_int_equal(ss.bad, 1);
    assert_int_equal(count_files(dir, ".ksb"), 0);
    assert_int_equal(count_files(dir, ".bad"), 1);
    ks_store_close(st);
    spool_close(&sp);
}

/* --- the pipeline --- */

static struct ks_sensor_config *pipeline_config(const char *name)
{
    char text[1024];
    snprintf(text, sizeof text,
             "[sensor]\nname = %s\ndb = %s/%s.db\nspool_dir = %s/%s.spool\nwindow_s = 60\n"
             "metrics_listen = 127.0.0.1:0\nflush_s = 3600\n[capture]\nfile = unused.pcap\n"
             "[darknet]\nprefix = 192.0.2.0/24\n",
             name, tmpdir, name, tmpdir, name);
    int rc;
    struct ks_sensor_config *c = parse(text, &rc);
    assert_int_equal(rc, KS_OK);
    c->nfiles = 0; /* packets are fed by the test */
    c->log_level = KS_LOG_ERROR;
    return c;
}

static void feed(struct ks_sensor *s, int64_t ts, const char *dst, uint8_t proto)
{
    struct ks_pkt p;
    memset(&p, 0, sizeof p);
    p.ts_us = ts;
    ks_addr_parse("198.51.100.7", 12, &p.src);
    ks_addr_parse(dst, strlen(dst), &p.dst);
    p.ipver = 4;
    p.proto = proto;
    p.tcp_flags = proto == 6 ? 0x02 : 0;
    p.flags = 0x20;
    p.sport = 40000;
    p.dport = 445;
    p.wire_len = 60;
    p.cap_len = 60;
    p.ip_len = 40;
    p.weight = 1;
    assert_int_equal(ks_sensor_feed(s, &p), KS_OK);
}

static void fed_packets_reach_the_store_in_windows(void **state)
{
    (void)state;
    struct ks_sensor_config *c = pipeline_config("p1");
    struct ks_sensor *s = NULL;
    assert_int_equal(ks_sensor_new(c, &s), KS_OK);
    int64_t t0 = INT64_C(1215561600000000); /* 2008-07-09T00:00:00Z */
    for (int i = 0; i < 300; i++)
        feed(s, t0 + i * 1000000, i % 3 ? "203.0.113.5" : "192.0.2.9", i % 2 ? 6 : 17);
    assert_int_equal(ks_sensor_sync(s, 5000), KS_OK);
    struct ks_sensor_stats st;
    ks_sensor_stats(s, &st);
    assert_int_equal(st.packets, 300);
    assert_true(st.windows >= 4); /* 300 s in 60 s windows: 4 closed, one open */
    assert_int_equal(st.spool_batches, 0);
    assert_true(st.batches_committed >= 1);
    assert_true(st.store_up);
    char page[16384];
    size_t n = ks_sensor_metrics_text(s, page, sizeof page);
    assert_true(n > 0 && n < sizeof page);
    assert_non_null(strstr(page, "kansoku_sensor_packets_total{sensor=\"p1\"} 300\n"));
    assert_non_null(
        strstr(page, "kansoku_sensor_drops_total{sensor=\"p1\",reason=\"spool_full\"} 0"));
    assert_non_null(strstr(page, "# TYPE kansoku_sensor_store_lag_seconds gauge"));
    ks_sensor_free(s); /* closes the last window and the darknet day */
    char db[128];
    snprintf(db, sizeof db, "%s/p1.db", tmpdir);
    struct ks_store *store = NULL;
    assert_int_equal(ks_store_open(db, NULL, &store), KS_OK);
    double v = 0;
    assert_int_equal(ks_store_query(store,
                                    "SELECT sum(value) FROM series WHERE metric = "
                                    "'sensor.packets' AND key = 'total'",
                                    NULL, 0, sum_row, &v),
                     KS_OK);
    assert_true(v == 300.0);
    assert_int_equal(
        ks_store_query(store, "SELECT sum(packets) FROM darknet_days", NULL, 0, sum_row, &v),
        KS_OK);
    assert_true(v == 100.0);
    ks_store_close(store);
    free(c);
}

static void metrics_are_served_over_http(void **state)
{
    (void)state;
    struct ks_sensor_config *c = pipeline_config("p2");
    struct ks_sensor *s = NULL;
    assert_int_equal(ks_sensor_new(c, &s), KS_OK);
    uint16_t port = ks_sensor_metrics_port(s);
    assert_true(port > 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
    assert_int_equal(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    char buf[32768];
    size_t got = 0;
    ssize_t r;
    while ((r = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    close(fd);
    assert_non_null(strstr(buf, "HTTP/1.0 200 OK"));
    assert_non_null(strstr(buf, "kansoku_sensor_uptime_seconds"));
    /* Another path is a 404. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const char req2[] = "GET /nope HTTP/1.0\r\n\r\n";
    assert_int_equal(write(fd, req2, sizeof req2 - 1), (ssize_t)(sizeof req2 - 1));
    got = 0;
    while ((r = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    close(fd);
    assert_non_null(strstr(buf, "404"));
    ks_sensor_free(s);
    free(c);
}

/* A flow section: NetFlow v5 datagrams on loopback become weighted packets in the series. */
static void *run_thread(void *arg)
{
    ks_sensor_run(arg);
    return NULL;
}

static uint16_t free_udp_port(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void flow_records_are_counted_as_packets(void **state)
{
    (void)state;
    uint16_t port = free_udp_port();
    char text[1024];
    snprintf(text, sizeof text,
             "[sensor]\nname = f1\ndb = %s/f1.db\nspool_dir = %s/f1.spool\nlog_level = error\n"
             "metrics_listen = off\n[flow]\nlisten = 127.0.0.1:%u\n",
             tmpdir, tmpdir, port);
    int rc;
    struct ks_sensor_config *c = parse(text, &rc);
    assert_int_equal(rc, KS_OK);
    assert_true(c->ddos);
    struct ks_sensor *s = NULL;
    assert_int_equal(ks_sensor_new(c, &s), KS_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_thread, s), 0);
    /* NetFlow v5: a 24-byte header and one 48-byte record of 10 packets, 4000 bytes. */
    uint8_t d[72] = {0};
    d[1] = 5;
    d[3] = 1;
    put32(d + 4, 100000);     /* uptime, ms */
    put32(d + 8, 1215561600); /* 2008-07-09T00:00:00Z */
    uint8_t *r = d + 24;
    put32(r, 0xC6336407);     /* 198.51.100.7 */
    put32(r + 4, 0xCB007105); /* 203.0.113.5 */
    put32(r + 16, 10);        /* packets */
    put32(r + 20, 4000);      /* bytes */
    put32(r + 24, 95000);     /* first */
    put32(r + 28, 99000);     /* last */
    r[32] = 0x9c;
    r[33] = 0x40; /* sport 40000 */
    r[35] = 80;
    r[38] = 6;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct ks_sensor_stats st = {0};
    for (int i = 0; i < 100 && st.packets < 10; i++) {
        if (i % 20 == 0)
            assert_int_equal(sendto(fd, d, sizeof d, 0, (struct sockaddr *)&a, sizeof a), 72);
        usleep(50000);
        ks_sensor_stats(s, &st);
    }
    close(fd);
    ks_sensor_request_stop(s);
    pthread_join(th, NULL);
    ks_sensor_stats(s, &st);
    assert_true(st.flow_records >= 1);
    assert_true(st.packets >= 10 && st.packets % 10 == 0);
    ks_sensor_free(s);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_with_every_section_parses),
        cmocka_unit_test(config_errors_are_reported_with_their_line),
        cmocka_unit_test(config_without_db_or_work_is_refused),
        cmocka_unit_test(batch_is_replayed_once_even_if_replayed_twice),
        cmocka_unit_test(store_down_keeps_batches_until_it_is_back),
        cmocka_unit_test(full_spool_refuses_a_batch),
        cmocka_unit_test(damaged_batch_is_set_aside),
        cmocka_unit_test(fed_packets_reach_the_store_in_windows),
        cmocka_unit_test(metrics_are_served_over_http),
        cmocka_unit_test(flow_records_are_counted_as_packets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
