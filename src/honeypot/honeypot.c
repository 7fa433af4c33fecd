/* The honeypot's event loop: epoll over non-blocking listeners and sessions, a fixed pool of
 * session slots (allocated at _new), two intrusive lists for the timeouts (by last read and
 * by start), and a bounded table of per-source counts. Payload buffers are the only memory
 * that grows with traffic, and they are capped per session and in total. */
#include "kansoku/ks_honeypot.h"

#include "kansoku/ks_geo.h"
#include "kansoku/ks_samples.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_table.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NIL UINT32_MAX
#define TAG_SESSION 1u
#define TAG_TCP 2u
#define TAG_UDP 3u
#define TAG_STOP 4u
#define RECV_SIZE 65536u
#define UDP_BATCH 64

struct session {
    int fd;                      /* -1 when the slot is free */
    uint32_t lru_prev, lru_next; /* by last read (read timeout) */
    uint32_t age_prev, age_next; /* by start (session timeout); also the free list */
    int64_t start_us;            /* wall clock, for the record */
    int64_t start_ms, last_ms;   /* monotonic, for the timeouts */
    struct ks_addr src;
    uint16_t sport, port;
    bool unbuffered;
    uint64_t bytes;
    EVP_MD_CTX *sha; /* created at the first byte */
    uint8_t *buf;    /* payload kept: the record's prefix and what the registry may get */
    size_t len, cap;
};

struct list {
    uint32_t head, tail;
};

struct listener {
    int fd;
    uint16_t port;
    bool udp;
    const struct ks_honeypot_banner *banner;
};

struct ks_honeypot {
    struct ks_honeypot_config cfg;
    struct ks_diag diag;
    uint32_t reported;
    char *sensor;
    int ep, stopfd, spare_fd;
    struct listener *ls;
    size_t nls;
    struct session *ss;
    uint32_t free_head;
    struct list lru, age;
    struct ks_table *per_src;
    uint64_t buffered; /* bytes of payload buffers, all sessions */
    uint8_t *rbuf;
    struct ks_store *store;
    struct ks_ingest *ing;
    int64_t input_start_us;
    uint64_t input_seq;
    struct ks_honeypot_stats st, st_at_input; /* counters, and their values when the input began */
    struct ks_sample_info *info;
    volatile sig_atomic_t stopping;
};

void ks_honeypot_config_default(struct ks_honeypot_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->listen = "0.0.0.0";
    cfg->sensor = "honeypot";
    cfg->max_sessions = 16384;
    cfg->max_per_source = 32;
    cfg->read_timeout_s = 30;
    cfg->session_timeout_s = 300;
    cfg->max_bytes = 1u << 20;
    cfg->record_bytes = 4096;
    cfg->buffer_budget = (uint64_t)64 << 20;
    cfg->rotate_s = 3600;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void report(struct ks_honeypot *h, int err, const char *fmt, ...) KS_PRINTF(3, 4);
static void report(struct ks_honeypot *h, int err, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct ks_loc loc = {.source = h->sensor};
    ks_diag_report(&h->diag, &h->reported, "honeypot", &loc, err, "%s", msg);
}

/* --- intrusive lists over the slot array -------------------------------------------------- */

static void lru_unlink(struct ks_honeypot *h, uint32_t i)
{
    struct session *s = &h->ss[i];
    if (s->lru_prev != NIL)
        h->ss[s->lru_prev].lru_next = s->lru_next;
    else
        h->lru.head = s->lru_next;
    if (s->lru_next != NIL)
        h->ss[s->lru_next].lru_prev = s->lru_prev;
    else
        h->lru.tail = s->lru_prev;
    s->lru_prev = s->lru_next = NIL;
}

static void lru_append(struct ks_honeypot *h, uint32_t i)
{
    struct session *s = &h->ss[i];
    s->lru_prev = h->lru.tail;
    s->lru_next = NIL;
    if (h->lru.tail != NIL)
        h->ss[h->lru.tail].lru_next = i;
    else
        h->lru.head = i;
    h->lru.tail = i;
}

static void age_unlink(struct ks_honeypot *h, uint32_t i)
{
    struct session *s = &h->ss[i];
    if (s->age_prev != NIL)
        h->ss[s->age_prev].age_next = s->age_next;
    else
        h->age.head = s->age_next;
    if (s->age_next != NIL)
        h->ss[s->age_next].age_prev = s->age_prev;
    else
        h->age.tail = s->age_prev;
    s->age_prev = s->age_next = NIL;
}

static void age_append(struct ks_honeypot *h, uint32_t i)
{
    struct session *s = &h->ss[i];
    s->age_prev = h->age.tail;
    s->age_next = NIL;
    if (h->age.tail != NIL)
        h->ss[h->age.tail].age_next = i;
    else
        h->age.head = i;
    h->age.tail = i;
}

/* --- setup -------------------------------------------------------------------------------- */

static int make_listener(struct ks_honeypot *h, const struct ks_addr *a, uint16_t port, bool udp,
                         struct listener *l)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (a->family == 4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        memcpy(&sin->sin_addr, a->b, 4);
        sl = sizeof *sin;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        memcpy(&sin6->sin6_addr, a->b, 16);
        sl = sizeof *sin6;
    }
    int fd =
        socket(ss.ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (a->family == 6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero); /* "::" takes IPv4 too */
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0)
        goto fail;
    if (!udp && listen(fd, 4096) != 0)
        goto fail;
    if (port == 0) {
        getsockname(fd, (struct sockaddr *)&ss, &sl);
        port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                             : ((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    l->fd = fd;
    l->port = port;
    l->udp = udp;
    l->banner = NULL;
    if (!udp)
        for (size_t i = 0; i < h->cfg.nbanners; i++)
            if (h->cfg.banners[i].port == port)
                l->banner = &h->cfg.banners[i];
    return KS_OK;
fail:;
    int e = errno;
    report(h, KS_EIO, "cannot listen on %s port %u: %s", udp ? "UDP" : "TCP", port, strerror(e));
    if (fd >= 0)
        close(fd);
    errno = e;
    return KS_EIO;
}

int ks_honeypot_new(const struct ks_honeypot_config *cfg, const struct ks_diag *diag,
                    struct ks_honeypot **hp)
{
    struct ks_honeypot *h = NULL;
    struct ks_addr a;
    int rc = KS_ENOMEM;
    *hp = NULL;
    if (!cfg || cfg->ntcp + cfg->nudp == 0 || cfg->max_sessions == 0 || cfg->max_per_source == 0)
        return KS_EINVAL;
    const char *listen_addr = cfg->listen ? cfg->listen : "0.0.0.0";
    if (ks_addr_parse(listen_addr, strlen(listen_addr), &a) != KS_OK)
        return KS_EINVAL;
    if (!(h = calloc(1, sizeof *h)))
        return KS_ENOMEM;
    h->cfg = *cfg;
    if (diag)
        h->diag = *diag;
    h->ep = h->stopfd = h->spare_fd = -1;
    h->lru.head = h->lru.tail = h->age.head = h->age.tail = NIL;
    h->store = cfg->store;
    if (!(h->sensor = strdup(cfg->sensor ? cfg->sensor : "honeypot")))
        goto fail;
    if (!(h->rbuf = malloc(RECV_SIZE)) || !(h->info = malloc(sizeof *h->info)))
        goto fail;
    if (!(h->ss = calloc(cfg->max_sessions, sizeof *h->ss)))
        goto fail;
    /* Free slots are chained through age_next. */
    for (uint32_t i = 0; i < cfg->max_sessions; i++) {
        h->ss[i].fd = -1;
        h->ss[i].lru_prev = h->ss[i].lru_next = h->ss[i].age_prev = NIL;
        h->ss[i].age_next = i + 1 < cfg->max_sessions ? i + 1 : NIL;
    }
    h->free_head = 0;
    struct ks_table_config tc;
    ks_table_config_default(&tc);
    tc.key_size = sizeof(struct ks_addr);
    tc.value_size = sizeof(uint32_t);
    tc.capacity = cfg->max_sessions; /* a source with a session has an entry: never more */
    tc.evict = KS_TABLE_EVICT_NONE;
    if ((rc = ks_table_new(&tc, &h->per_src)) != KS_OK)
        goto fail;
    rc = KS_EIO;
    if ((h->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        (h->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
        goto fail;
    /* A descriptor kept in reserve: when accept fails with EMFILE, it is closed to accept and
     * drop the pending connection, instead of spinning on it. */
    h->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)TAG_STOP << 32};
    if (epoll_ctl(h->ep, EPOLL_CTL_ADD, h->stopfd, &ev) != 0)
        goto fail;
    if (!(h->ls = calloc(cfg->ntcp + cfg->nudp, sizeof *h->ls)))
        goto fail;
    for (size_t i = 0; i < cfg->ntcp + cfg->nudp; i++) {
        bool udp = i >= cfg->ntcp;
        uint16_t port = udp ? cfg->udp_ports[i - cfg->ntcp] : cfg->tcp_ports[i];
        if ((rc = make_listener(h, &a, port, udp, &h->ls[h->nls])) != KS_OK)
            goto fail;
        ev.events = EPOLLIN;
        ev.data.u64 = (uint64_t)(udp ? TAG_UDP : TAG_TCP) << 32 | h->nls;
        h->nls++;
        if (epoll_ctl(h->ep, EPOLL_CTL_ADD, h->ls[h->nls - 1].fd, &ev) != 0) {
            rc = KS_EIO;
            goto fail;
        }
    }
    *hp = h;
    return KS_OK;
fail:;
    int e = errno;
    ks_honeypot_free(h);
    errno = e;
    return rc;
}

static void session_release(struct ks_honeypot *h, uint32_t i);

void ks_honeypot_free(struct ks_honeypot *h)
{
    if (!h)
        return;
    if (h->ss)
        for (uint32_t i = 0; i < h->cfg.max_sessions; i++)
            if (h->ss[i].fd >= 0)
                session_release(h, i);
    for (size_t i = 0; i < h->nls; i++)
        close(h->ls[i].fd);
    if (h->ing)
        ks_store_input_end(h->ing, false);
    if (h->ep >= 0)
        close(h->ep);
    if (h->stopfd >= 0)
        close(h->stopfd);
    if (h->spare_fd >= 0)
        close(h->spare_fd);
    ks_table_free(h->per_src);
    free(h->ls);
    free(h->ss);
    free(h->rbuf);
    free(h->info);
    free(h->sensor);
    free(h);
}

uint16_t ks_honeypot_port(const struct ks_honeypot *h, size_t i)
{
    return i < h->nls ? h->ls[i].port : 0;
}

static int drop_privileges(struct ks_honeypot *h, const char *user)
{
    if (geteuid() != 0)
        return KS_OK;
    const char *name = user ? user : "nobody";
    struct passwd *pw = getpwnam(name);
    if (!pw) {
        report(h, KS_ENOTFOUND, "no user '%s' to run as", name);
        return KS_ENOTFOUND;
    }
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        int e = errno;
        report(h, KS_EIO, "cannot switch to user '%s': %s", name, strerror(e));
        errno = e;
        return KS_EIO;
    }
    if (pw->pw_uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
        report(h, KS_EIO, "still root after switching to '%s'", name);
        return KS_EIO;
    }
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    return KS_OK;
}

void ks_honeypot_stop(struct ks_honeypot *h)
{
    uint64_t one = 1;
    h->stopping = 1;
    ssize_t w = write(h->stopfd, &one, sizeof one);
    (void)w;
}

void ks_honeypot_stats(const struct ks_honeypot *h, struct ks_honeypot_stats *st)
{
    *st = h->st;
}

/* --- the store ---------------------------------------------------------------------------- */

static void input_begin(struct ks_honeypot *h)
{
    if (!h->store || h->ing)
        return;
    char id[256], hexd[65];
    uint8_t md[32];
    unsigned mdlen = 0;
    h->input_start_us = now_us();
    int n = snprintf(id, sizeof id, "honeypot %s %s %lld %ld %llu", h->sensor,
                     h->cfg.listen ? h->cfg.listen : "0.0.0.0", (long long)h->input_start_us,
                     (long)getpid(), (unsigned long long)h->input_seq++);
    EVP_Digest(id, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hexd + 2 * i, 3, "%02x", md[i]);
    char name[128];
    snprintf(name, sizeof name, "honeypot %s", h->sensor);
    struct ks_store_input in = {.size = 0, .name = name, .kind = "honeypot"};
    memcpy(in.sha256, hexd, sizeof hexd);
    int rc = ks_store_input_begin(h->store, &in, 0, &h->ing);
    if (rc != KS_OK) {
        h->st.store_errors++;
        h->ing = NULL;
        report(h, rc, "store: %s", ks_store_errmsg(h->store));
    }
    h->st_at_input = h->st;
}

static void put_series(struct ks_honeypot *h, const char *metric, uint64_t now, uint64_t then)
{
    ks_store_row_begin(h->ing, KS_TBL_SERIES);
    ks_store_put_time(h->ing, h->input_start_us);
    ks_store_put_text(h->ing, h->sensor, strlen(h->sensor));
    ks_store_put_text(h->ing, metric, strlen(metric));
    ks_store_put_text(h->ing, "", 0);
    ks_store_put_f64(h->ing, (double)(now - then));
    ks_store_row_end(h->ing);
}

/* Completes the input with the counters of its period (so that caps and timeouts under
 * attack are on record next to the sessions). */
static void input_end(struct ks_honeypot *h)
{
    if (!h->ing)
        return;
    const struct ks_honeypot_stats *a = &h->st, *b = &h->st_at_input;
    put_series(h, "honeypot_tcp_sessions", a->tcp_sessions, b->tcp_sessions);
    put_series(h, "honeypot_udp_datagrams", a->udp_datagrams, b->udp_datagrams);
    put_series(h, "honeypot_refused_max_sessions", a->refused_max_sessions,
               b->refused_max_sessions);
    put_series(h, "honeypot_refused_per_source", a->refused_per_source, b->refused_per_source);
    put_series(h, "honeypot_read_timeouts", a->read_timeouts, b->read_timeouts);
    put_series(h, "honeypot_session_timeouts", a->session_timeouts, b->session_timeouts);
    put_series(h, "honeypot_max_bytes_closed", a->max_bytes_closed, b->max_bytes_closed);
    put_series(h, "honeypot_samples", a->samples, b->samples);
    int rc = ks_store_input_end(h->ing, true);
    h->ing = NULL;
    if (rc != KS_OK) {
        h->st.store_errors++;
        report(h, rc, "store: %s", ks_store_errmsg(h->store));
    } else {
        h->st.inputs++;
    }
}

/* Hands an executable found in the payload to the registry; fills s->sample. */
static void to_registry(struct ks_honeypot *h, struct ks_honeypot_session *rec)
{
    size_t off = 0;
    if (!h->cfg.samples || !rec->payload_len)
        return;
    if (!ks_samples_find_executable(rec->payload, rec->payload_len, &off))
        return;
    const uint8_t *p = rec->payload + off;
    size_t n = rec->payload_len - off;
    struct ks_sample_info *info = h->info;
    bool kept = false;
    int rc = ks_samples_analyze_mem(h->cfg.samples, p, n, info);
    if (rc == KS_OK) {
        rc = ks_samples_keep_mem(h->cfg.samples, p, n, info, NULL);
        kept = rc == KS_OK;
        if (rc == KS_EINVAL) /* no samples directory: recorded, not kept */
            rc = KS_OK;
    }
    if (rc != KS_OK) {
        h->st.sample_errors++;
        report(h, rc, "registry: cannot keep the executable from %s port %u: %s", rec->proto,
               rec->port, ks_strerror(rc));
        return;
    }
    memcpy(rec->sample, info->sha256, sizeof rec->sample);
    h->st.samples++;
    if (!h->ing)
        return;
    struct ks_geo_result gr = {"--", 0, ""};
    if (h->cfg.geo)
        ks_geo_lookup(h->cfg.geo, &rec->source, &gr);
    char name[64];
    snprintf(name, sizeof name, "%s/%u", rec->proto, rec->port);
    struct ks_sample_event ev = {.ts = rec->start,
                                 .source = rec->source,
                                 .country = gr.country,
                                 .asn = gr.asn,
                                 .via = "honeypot",
                                 .name = name};
    rc = ks_samples_record(h->cfg.samples, h->store, h->ing, &ev, info, kept, NULL);
    if (rc != KS_OK) {
        h->st.store_errors++;
        report(h, rc, "store: %s", ks_store_errmsg(h->store));
    }
}

/* Writes the session row (after to_registry, which fills rec->sample). */
static void record(struct ks_honeypot *h, const struct ks_honeypot_session *rec)
{
    if (h->ing) {
        ks_store_row_begin(h->ing, KS_TBL_HONEYPOT_SESSIONS);
        ks_store_put_time(h->ing, rec->start);
        ks_store_put_time(h->ing, rec->end);
        ks_store_put_text(h->ing, h->sensor, strlen(h->sensor));
        ks_store_put_text(h->ing, rec->proto, strlen(rec->proto));
        ks_store_put_addr(h->ing, &rec->source);
        ks_store_put_i64(h->ing, rec->sport);
        ks_store_put_i64(h->ing, rec->port);
        ks_store_put_i64(h->ing, (int64_t)rec->bytes);
        ks_store_put_text(h->ing, rec->reason, strlen(rec->reason));
        if (rec->sha256[0])
            ks_store_put_text(h->ing, rec->sha256, 64);
        else
            ks_store_put_null(h->ing);
        if (rec->payload_len)
            ks_store_put_blob(h->ing, rec->payload, rec->payload_len);
        else
            ks_store_put_null(h->ing);
        if (rec->sample[0])
            ks_store_put_text(h->ing, rec->sample, 64);
        else
            ks_store_put_null(h->ing);
        int rc = ks_store_row_end(h->ing);
        if (rc != KS_OK) {
            h->st.store_errors++;
            if (h->st.store_errors <= 3)
                report(h, rc, "store: %s", ks_store_errmsg(h->store));
        }
    }
    if (h->cfg.on_session)
        h->cfg.on_session(h->cfg.user, rec);
}

/* --- sessions ----------------------------------------------------------------------------- */

static void addr_from_sockaddr(const struct sockaddr_storage *ss, struct ks_addr *a, uint16_t *port)
{
    memset(a, 0, sizeof *a);
    *port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        a->family = 4;
        memcpy(a->b, &sin->sin_addr, 4);
        *port = ntohs(sin->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        ks_addr_from_v6(a, sin6->sin6_addr.s6_addr);
        ks_addr_unmap(a); /* ::ffff:a.b.c.d is an IPv4 source on a dual-stack socket */
        *port = ntohs(sin6->sin6_port);
    }
}

static void hex32(const uint8_t *md, char out[65])
{
    static const char d[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = d[md[i] >> 4];
        out[2 * i + 1] = d[md[i] & 15];
    }
    out[64] = '\0';
}

/* Frees a slot without recording (the caller recorded, or is tearing down). */
static void session_release(struct ks_honeypot *h, uint32_t i)
{
    struct session *s = &h->ss[i];
    close(s->fd);
    s->fd = -1;
    lru_unlink(h, i);
    age_unlink(h, i);
    uint32_t *cnt = ks_table_find(h->per_src, &s->src);
    if (cnt && --*cnt == 0)
        ks_table_remove(h->per_src, &s->src);
    EVP_MD_CTX_free(s->sha);
    s->sha = NULL;
    h->buffered -= s->cap;
    free(s->buf);
    s->buf = NULL;
    s->len = s->cap = 0;
    s->age_next = h->free_head;
    h->free_head = i;
    h->st.active--;
}

static void session_close(struct ks_honeypot *h, uint32_t i, const char *reason)
{
    struct session *s = &h->ss[i];
    struct ks_honeypot_session rec;
    memset(&rec, 0, sizeof rec);
    rec.start = s->start_us;
    rec.end = now_us();
    rec.proto = "tcp";
    rec.source = s->src;
    rec.sport = s->sport;
    rec.port = s->port;
    rec.bytes = s->bytes;
    rec.reason = reason;
    if (s->sha) {
        uint8_t md[32];
        unsigned n = 0;
        EVP_DigestFinal_ex(s->sha, md, &n);
        hex32(md, rec.sha256);
    }
    /* The registry gets what was buffered (all of it unless the budget ran out). */
    rec.payload = s->buf;
    rec.payload_len = s->len;
    h->st.tcp_sessions++;
    to_registry(h, &rec);
    rec.payload_len = s->len < h->cfg.record_bytes ? s->len : h->cfg.record_bytes;
    record(h, &rec);
    session_release(h, i);
}

static void accept_ready(struct ks_honeypot *h, struct listener *l)
{
    for (unsigned k = 0; k < 256; k++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            h->st.accept_errors++;
            if ((errno == EMFILE || errno == ENFILE) && h->spare_fd >= 0) {
                close(h->spare_fd);
                int drop = accept(l->fd, NULL, NULL);
                if (drop >= 0)
                    close(drop);
                h->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (h->st.accept_errors <= 3)
                    report(h, KS_ELIMIT,
                           "out of file descriptors: connection dropped "
                           "(raise the limit with ulimit -n)");
                continue;
            }
            if (h->st.accept_errors <= 3)
                report(h, KS_EIO, "accept on TCP port %u: %s", l->port, strerror(errno));
            return;
        }
        struct ks_addr src;
        uint16_t sport;
        addr_from_sockaddr(&ss, &src, &sport);
        if (h->free_head == NIL) {
            h->st.refused_max_sessions++;
            close(fd);
            continue;
        }
        bool is_new = false;
        uint32_t *cnt = ks_table_upsert(h->per_src, &src, 0, &is_new);
        if (!cnt || *cnt >= h->cfg.max_per_source) {
            h->st.refused_per_source++;
            close(fd);
            continue;
        }
        uint32_t i = h->free_head;
        struct session *s = &h->ss[i];
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP,
                                 .data.u64 = (uint64_t)TAG_SESSION << 32 | i};
        if (epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            h->st.io_errors++;
            if (is_new)
                ks_table_remove(h->per_src, &src);
            close(fd);
            continue;
        }
        (*cnt)++;
        h->free_head = s->age_next;
        memset(s, 0, sizeof *s);
        s->fd = fd;
        s->lru_prev = s->lru_next = s->age_prev = s->age_next = NIL;
        s->start_us = now_us();
        s->start_ms = s->last_ms = now_ms();
        s->src = src;
        s->sport = sport;
        s->port = l->port;
        lru_append(h, i);
        age_append(h, i);
        if (++h->st.active > h->st.peak_active)
            h->st.peak_active = h->st.active;
        if (l->banner && l->banner->len) {
            /* Best effort: a banner that does not fit the socket buffer is cut short. */
            ssize_t w = send(fd, l->banner->text, l->banner->len, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)w;
        }
    }
}

/* Keeps up to n more bytes of payload in s->buf, within max_bytes and the global budget. */
static void buffer_bytes(struct ks_honeypot *h, struct session *s, const uint8_t *p, size_t n)
{
    if (s->unbuffered)
        return;
    size_t want = s->len + n;
    if (want > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < want)
            cap *= 2;
        if (cap > h->cfg.max_bytes)
            cap = (size_t)h->cfg.max_bytes;
        if (cap < want || h->buffered - s->cap + cap > h->cfg.buffer_budget) {
            s->unbuffered = true;
            h->st.unbuffered++;
            return;
        }
        uint8_t *nb = realloc(s->buf, cap);
        if (!nb) {
            s->unbuffered = true;
            h->st.unbuffered++;
            return;
        }
        h->buffered += cap - s->cap;
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static void session_ready(struct ks_honeypot *h, uint32_t i, uint32_t events)
{
    struct session *s = &h->ss[i];
    if (s->fd < 0)
        return; /* closed earlier in this batch of events */
    for (;;) {
        uint64_t room = h->cfg.max_bytes - s->bytes;
        size_t want = room < RECV_SIZE ? (size_t)room : RECV_SIZE;
        if (want == 0) {
            h->st.max_bytes_closed++;
            session_close(h, i, "max-bytes");
            return;
        }
        ssize_t n = recv(s->fd, h->rbuf, want, MSG_DONTWAIT);
        if (n > 0) {
            if (!s->sha) {
                if (!(s->sha = EVP_MD_CTX_new()) ||
                    !EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL)) {
                    EVP_MD_CTX_free(s->sha);
                    s->sha = NULL;
                    h->st.io_errors++;
                    session_close(h, i, "error");
                    return;
                }
            }
            EVP_DigestUpdate(s->sha, h->rbuf, (size_t)n);
            buffer_bytes(h, s, h->rbuf, (size_t)n);
            s->bytes += (uint64_t)n;
            h->st.bytes += (uint64_t)n;
            s->last_ms = now_ms();
            lru_unlink(h, i);
            lru_append(h, i);
            continue;
        }
        if (n == 0) {
            session_close(h, i, "eof");
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                session_close(h, i, "eof");
                return;
            }
            return;
        }
        if (errno != ECONNRESET)
            h->st.io_errors++;
        session_close(h, i, errno == ECONNRESET ? "eof" : "error");
        return;
    }
}

static void udp_ready(struct ks_honeypot *h, struct listener *l)
{
    for (unsigned k = 0; k < UDP_BATCH; k++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        ssize_t n = recvfrom(l->fd, h->rbuf, RECV_SIZE, MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                h->st.io_errors++;
                if (h->st.io_errors <= 3)
                    report(h, KS_EIO, "recv on UDP port %u: %s", l->port, strerror(errno));
            }
            return;
        }
        struct ks_honeypot_session rec;
        memset(&rec, 0, sizeof rec);
        rec.start = rec.end = now_us();
        rec.proto = "udp";
        addr_from_sockaddr(&ss, &rec.source, &rec.sport);
        rec.port = l->port;
        size_t len = (size_t)n;
        if (len > h->cfg.max_bytes)
            len = (size_t)h->cfg.max_bytes;
        rec.bytes = len;
        rec.reason = "datagram";
        if (len) {
            uint8_t md[32];
            unsigned mdlen = 0;
            EVP_Digest(h->rbuf, len, md, &mdlen, EVP_sha256(), NULL);
            hex32(md, rec.sha256);
        }
        rec.payload = h->rbuf;
        rec.payload_len = len;
        to_registry(h, &rec);
        rec.payload_len = len < h->cfg.record_bytes ? len : h->cfg.record_bytes;
        record(h, &rec);
        h->st.udp_datagrams++;
        h->st.bytes += len;
    }
}

/* Closes the sessions whose deadlines passed; returns ms until the next deadline (or -1). */
static int expire(struct ks_honeypot *h, int64_t now)
{
    int64_t rt = (int64_t)h->cfg.read_timeout_s * 1000,
            st = (int64_t)h->cfg.session_timeout_s * 1000;
    while (rt > 0 && h->lru.head != NIL && now - h->ss[h->lru.head].last_ms >= rt) {
        h->st.read_timeouts++;
        session_close(h, h->lru.head, "read-timeout");
    }
    while (st > 0 && h->age.head != NIL && now - h->ss[h->age.head].start_ms >= st) {
        h->st.session_timeouts++;
        session_close(h, h->age.head, "session-timeout");
    }
    int64_t next = -1;
    if (rt > 0 && h->lru.head != NIL)
        next = h->ss[h->lru.head].last_ms + rt - now;
    if (st > 0 && h->age.head != NIL) {
        int64_t n2 = h->ss[h->age.head].start_ms + st - now;
        if (next < 0 || n2 < next)
            next = n2;
    }
    return next < 0 ? -1 : (int)(next > 1000 ? 1000 : next);
}

int ks_honeypot_run(struct ks_honeypot *h, uint32_t duration_s)
{
    struct epoll_event evs[256];
    int64_t t0 = now_ms(), rotate_at = t0 + (int64_t)h->cfg.rotate_s * 1000;
    int rc = KS_OK;
    input_begin(h);
    /* The store's files (database, WAL, lock file) are open now: they stay usable. */
    if (!h->cfg.keep_privileges && (rc = drop_privileges(h, h->cfg.run_as)) != KS_OK) {
        if (h->ing)
            ks_store_input_end(h->ing, false);
        h->ing = NULL;
        return rc;
    }
    while (!h->stopping) {
        int64_t now = now_ms();
        if (duration_s && now - t0 >= (int64_t)duration_s * 1000)
            break;
        if (h->cfg.rotate_s && now >= rotate_at) {
            input_end(h);
            input_begin(h);
            rotate_at = now + (int64_t)h->cfg.rotate_s * 1000;
        }
        int wait = expire(h, now);
        if (wait < 0 || wait > 1000)
            wait = 1000; /* at least once a second: duration, rotation */
        int n = epoll_wait(h->ep, evs, 256, wait);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            report(h, KS_EIO, "epoll_wait: %s", strerror(errno));
            rc = KS_EIO;
            break;
        }
        for (int k = 0; k < n; k++) {
            uint32_t tag = (uint32_t)(evs[k].data.u64 >> 32), idx = (uint32_t)evs[k].data.u64;
            if (tag == TAG_SESSION)
                session_ready(h, idx, evs[k].events);
            else if (tag == TAG_TCP)
                accept_ready(h, &h->ls[idx]);
            else if (tag == TAG_UDP)
                udp_ready(h, &h->ls[idx]);
        }
    }
    /* Shutdown: record every open session, complete the input. */
    while (h->age.head != NIL)
        session_close(h, h->age.head, "shutdown");
    input_end(h);
    return rc;
}

/* --- port lists --------------------------------------------------------------------------- */

static int parse_port(const char *s, size_t len, uint16_t *out)
{
    unsigned v = 0;
    if (len == 0 || len > 5)
        return KS_EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return KS_EINVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return KS_EINVAL;
    *out = (uint16_t)v;
    return KS_OK;
}

int ks_honeypot_parse_ports(const char *spec, uint16_t *ports, size_t max, size_t *n)
{
    *n = 0;
    if (!spec || !*spec)
        return KS_EINVAL;
    const char *p = spec;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *dash = memchr(p, '-', len);
        uint16_t lo, hi;
        if (dash) {
            if (parse_port(p, (size_t)(dash - p), &lo) != KS_OK ||
                parse_port(dash + 1, len - (size_t)(dash - p) - 1, &hi) != KS_OK || hi < lo)
                return KS_EINVAL;
        } else {
            if (parse_port(p, len, &lo) != KS_OK)
                return KS_EINVAL;
            hi = lo;
        }
        for (uint32_t v = lo; v <= hi; v++) {
            bool dup = false;
            for (size_t i = 0; i < *n && !dup; i++)
                dup = ports[i] == v;
            if (dup)
                continue;
            if (*n >= max)
                return KS_ELIMIT;
            ports[(*n)++] = (uint16_t)v;
        }
        if (!e)
            break;
        p = e + 1;
    }
    return KS_OK;
}
