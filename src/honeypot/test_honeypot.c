/* Unit tests of the honeypot: the loop runs in a thread on loopback ports the kernel picks;
 * the clients are in the test. Bounded in count and time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "kansoku/ks_honeypot.h"
#include "kansoku/ks_samples.h"
#include "kansoku/ks_store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_RECS 64

struct fixture {
    struct ks_honeypot_config cfg;
    struct ks_honeypot *hp;
    pthread_t thread;
    uint16_t ports[2], uports[1];
    pthread_mutex_t mu;
    unsigned nrec;
    struct {
        char proto[4], reason[20], sha256[65], sample[65];
        uint64_t bytes;
        uint16_t port;
        size_t payload_len;
    } rec[MAX_RECS];
};

static void on_session(void *user, const struct ks_honeypot_session *s)
{
    struct fixture *f = user;
    pthread_mutex_lock(&f->mu);
    if (f->nrec < MAX_RECS) {
        snprintf(f->rec[f->nrec].proto, 4, "%s", s->proto);
        snprintf(f->rec[f->nrec].reason, 20, "%s", s->reason);
        memcpy(f->rec[f->nrec].sha256, s->sha256, 65);
        memcpy(f->rec[f->nrec].sample, s->sample, 65);
        f->rec[f->nrec].bytes = s->bytes;
        f->rec[f->nrec].port = s->port;
        f->rec[f->nrec].payload_len = s->payload_len;
        f->nrec++;
    }
    pthread_mutex_unlock(&f->mu);
}

static void *run(void *arg)
{
    struct fixture *f = arg;
    ks_honeypot_run(f->hp, 20); /* a safety net: the tests stop it long before */
    return NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Starts a honeypot on two TCP ports and one UDP port (ephemeral), after cfg_fn. */
static struct fixture *start(void (*cfg_fn)(struct ks_honeypot_config *cfg))
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    pthread_mutex_init(&f->mu, NULL);
    ks_honeypot_config_default(&f->cfg);
    f->cfg.listen = "127.0.0.1";
    f->cfg.tcp_ports = f->ports; /* 0, 0: the kernel chooses */
    f->cfg.ntcp = 2;
    f->cfg.udp_ports = f->uports;
    f->cfg.nudp = 1;
    f->cfg.on_session = on_session;
    f->cfg.user = f;
    f->cfg.keep_privileges = true; /* the test process must stay who it is */
    if (cfg_fn)
        cfg_fn(&f->cfg);
    assert_int_equal(ks_honeypot_new(&f->cfg, NULL, &f->hp), KS_OK);
    assert_int_equal(pthread_create(&f->thread, NULL, run, f), 0);
    return f;
}

static void stop(struct fixture *f, struct ks_honeypot_stats *st)
{
    ks_honeypot_stop(f->hp);
    pthread_join(f->thread, NULL);
    ks_honeypot_stats(f->hp, st);
    ks_honeypot_free(f->hp);
}

static int connect_from(const char *src, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (src) {
        inet_pton(AF_INET, src, &a.sin_addr);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    }
    a.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static unsigned wait_records(struct fixture *f, unsigned n, int ms)
{
    for (int t = 0; t < ms; t += 20) {
        pthread_mutex_lock(&f->mu);
        unsigned have = f->nrec;
        pthread_mutex_unlock(&f->mu);
        if (have >= n)
            return have;
        sleep_ms(20);
    }
    return f->nrec;
}

static void port_lists_take_ranges_and_refuse_junk(void **state)
{
    uint16_t p[16];
    size_t n = 0;
    assert_int_equal(ks_honeypot_parse_ports("22,23,80-83,23", p, 16, &n), KS_OK);
    assert_int_equal(n, 6);
    assert_int_equal(p[2], 80);
    assert_int_equal(p[5], 83);
    assert_int_equal(ks_honeypot_parse_ports("1-40", p, 16, &n), KS_ELIMIT);
    assert_int_equal(ks_honeypot_parse_ports("0", p, 16, &n), KS_EINVAL);
    assert_int_equal(ks_honeypot_parse_ports("65536", p, 16, &n), KS_EINVAL);
    assert_int_equal(ks_honeypot_parse_ports("9-3", p, 16, &n), KS_EINVAL);
    assert_int_equal(ks_honeypot_parse_ports("22,,23", p, 16, &n), KS_EINVAL);
    assert_int_equal(ks_honeypot_parse_ports("x", p, 16, &n), KS_EINVAL);
}

static void with_banner(struct ks_honeypot_config *cfg)
{
    static struct ks_honeypot_banner b = {0, "SSH-2.0-OpenSSH_4.3\r\n", 21};
    cfg->banners = &b;
    cfg->nbanners = 1; /* port 0: no listener has it until the port is known */
}

static void tcp_payload_is_recorded_with_its_sha256(void **state)
{
    struct fixture *f = start(with_banner);
    uint16_t port = ks_honeypot_port(f->hp, 0);
    int fd = connect_from(NULL, port);
    assert_int_equal(send(fd, "abc", 3, 0), 3);
    close(fd);
    assert_int_equal(wait_records(f, 1, 3000), 1);
    struct ks_honeypot_stats st;
    stop(f, &st);
    assert_string_equal(f->rec[0].proto, "tcp");
    assert_string_equal(f->rec[0].reason, "eof");
    assert_int_equal(f->rec[0].bytes, 3);
    assert_int_equal(f->rec[0].port, port);
    assert_string_equal(f->rec[0].sha256,
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(st.tcp_sessions, 1);
    free(f);
}

static void timeouts(struct ks_honeypot_config *cfg)
{
    cfg->read_timeout_s = 1;
    cfg->session_timeout_s = 2;
}

static void slow_and_idle_clients_are_timed_out(void **state)
{
    struct fixture *f = start(timeouts);
    uint16_t port = ks_honeypot_port(f->hp, 0);
    int idle = connect_from(NULL, port);
    int slow = connect_from(NULL, port);
    /* The slow client sends a byte every 400 ms: never idle for 1 s, but older than 2 s. */
    for (int i = 0; i < 8; i++) {
        send(slow, "x", 1, MSG_NOSIGNAL);
        sleep_ms(400);
    }
    assert_int_equal(wait_records(f, 2, 3000), 2);
    struct ks_honeypot_stats st;
    stop(f, &st);
    assert_int_equal(st.read_timeouts, 1);
    assert_int_equal(st.session_timeouts, 1);
    assert_string_equal(f->rec[0].reason, "read-timeout");
    assert_string_equal(f->rec[1].reason, "session-timeout");
    assert_true(f->rec[1].bytes >= 4 && f->rec[1].bytes <= 6);
    close(idle);
    close(slow);
    free(f);
}

static void small_caps(struct ks_honeypot_config *cfg)
{
    cfg->max_sessions = 8;
    cfg->max_per_source = 4;
}

static void flood_is_capped_and_counted(void **state)
{
    struct fixture *f = start(small_caps);
    uint16_t port = ks_honeypot_port(f->hp, 0);
    int fds[12];
    /* 6 from one source: 4 accepted, 2 refused per source; 6 from another: 4 accepted (8 in
     * all), 2 refused for the total. */
    for (int i = 0; i < 6; i++)
        fds[i] = connect_from("127.0.0.1", port);
    sleep_ms(200);
    for (int i = 6; i < 12; i++)
        fds[i] = connect_from("127.0.0.2", port);
    sleep_ms(300);
    struct ks_honeypot_stats st;
    stop(f, &st);
    assert_int_equal(st.refused_per_source, 2);
    assert_int_equal(st.refused_max_sessions, 2);
    assert_int_equal(st.peak_active, 8);
    assert_int_equal(st.tcp_sessions, 8); /* the accepted ones, closed at shutdown */
    for (int i = 0; i < 12; i++)
        close(fds[i]);
    free(f);
}

static void byte_cap(struct ks_honeypot_config *cfg)
{
    cfg->max_bytes = 1000;
    cfg->record_bytes = 100;
}

static void byte_cap_closes_the_session(void **state)
{
    struct fixture *f = start(byte_cap);
    int fd = connect_from(NULL, ks_honeypot_port(f->hp, 1));
    char buf[4000];
    memset(buf, 'A', sizeof buf);
    send(fd, buf, sizeof buf, MSG_NOSIGNAL);
    assert_int_equal(wait_records(f, 1, 3000), 1);
    struct ks_honeypot_stats st;
    stop(f, &st);
    assert_string_equal(f->rec[0].reason, "max-bytes");
    assert_int_equal(f->rec[0].bytes, 1000);
    assert_int_equal(f->rec[0].payload_len, 100);
    assert_int_equal(st.max_bytes_closed, 1);
    close(fd);
    free(f);
}

static void udp_datagrams_are_recorded_and_never_answered(void **state)
{
    struct fixture *f = start(with_banner);
    uint16_t port = ks_honeypot_port(f->hp, 2);
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    for (int i = 0; i < 3; i++)
        assert_int_equal(sendto(u, "probe", 5, 0, (struct sockaddr *)&a, sizeof a), 5);
    assert_int_equal(wait_records(f, 3, 3000), 3);
    char buf[16];
    assert_int_equal(recv(u, buf, sizeof buf, MSG_DONTWAIT), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    struct ks_honeypot_stats st;
    stop(f, &st);
    assert_int_equal(st.udp_datagrams, 3);
    assert_string_equal(f->rec[0].proto, "udp");
    assert_string_equal(f->rec[0].reason, "datagram");
    close(u);
    free(f);
}

static char tmpdir[256];
static struct ks_samples *g_samples;
static struct ks_store *g_store;

static void with_registry(struct ks_honeypot_config *cfg)
{
    cfg->samples = g_samples;
    cfg->store = g_store;
    cfg->sensor = "test";
}

static int count_cb(void *user, size_t n, const char *const *names, const struct ks_store_value *v)
{
    *(int64_t *)user = v[0].v.i64;
    return 0;
}

static void binary_payload_reaches_the_registry(void **state)
{
    char dir[300], db[300], cmd[320];
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ks-honeypot-test.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    snprintf(dir, sizeof dir, "%s/samples", tmpdir);
    snprintf(db, sizeof db, "%s/hp.db", tmpdir);
    struct ks_samples_config sc;
    ks_samples_config_default(&sc);
    sc.dir = dir;
    assert_int_equal(ks_samples_new(&sc, NULL, &g_samples), KS_OK);
    assert_int_equal(ks_store_open(db, NULL, &g_store), KS_OK);
    struct fixture *f = start(with_registry);
    /* An HTTP-looking upload whose body is an ELF image made here. */
    uint8_t payload[600];
    static const char hdr[] = "POST /up HTTP/1.0\r\n\r\n";
    memset(payload, 0, sizeof payload);
    memcpy(payload, hdr, sizeof hdr - 1);
    memcpy(payload + sizeof hdr - 1,
           "\x7f"
           "ELF\x01\x01\x01",
           7);
    int fd = connect_from(NULL, ks_honeypot_port(f->hp, 0));
    assert_int_equal(send(fd, payload, sizeof payload, 0), (ssize_t)sizeof payload);
    close(fd);
    assert_int_equal(wait_records(f, 1, 3000), 1);
    struct ks_honeypot_stats st;
    stop(f, &st);
    assert_int_equal(st.samples, 1);
    assert_int_equal(strlen(f->rec[0].sample), 64);
    char path[600];
    assert_true(ks_samples_path(g_samples, f->rec[0].sample, path, sizeof path) > 0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, (off_t)(sizeof payload - (sizeof hdr - 1)));
    int64_t n = 0;
    assert_int_equal(ks_store_query(g_store,
                                    "SELECT count(*) FROM sample_events e JOIN inputs i ON i.id "
                                    "= e.input_id AND i.status = 'complete' WHERE via = "
                                    "'honeypot'",
                                    NULL, 0, count_cb, &n),
                     KS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ks_store_query(g_store,
                                    "SELECT count(*) FROM honeypot_sessions WHERE sample IS NOT "
                                    "NULL AND sensor = 'test'",
                                    NULL, 0, count_cb, &n),
                     KS_OK);
    assert_int_equal(n, 1);
    ks_store_close(g_store);
    ks_samples_free(g_samples);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(port_lists_take_ranges_and_refuse_junk),
        cmocka_unit_test(tcp_payload_is_recorded_with_its_sha256),
        cmocka_unit_test(slow_and_idle_clients_are_timed_out),
        cmocka_unit_test(flood_is_capped_and_counted),
        cmocka_unit_test(byte_cap_closes_the_session),
        cmocka_unit_test(udp_datagrams_are_recorded_and_never_answered),
        cmocka_unit_test(binary_payload_reaches_the_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
