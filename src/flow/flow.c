/* The collector: sources, templates, statistics, sockets, and the spreading of flows into
 * packet summaries. The protocol decoders are in nf.c (NetFlow v5/v9, IPFIX) and sflow.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "flow_int.h"

static const char *const reason_names[KS_FLOW_R_COUNT] = {
    "bad_version",  "short_header",     "bad_length",       "bad_template", "field_too_long",
    "no_template",  "sequence_gap",     "sequence_back",    "restart",      "sflow_header",
    "sflow_sample", "template_expired", "template_evicted", "unsupported",
};

const char *ks_flow_reason_name(unsigned r)
{
    return r < KS_FLOW_R_COUNT ? reason_names[r] : NULL;
}

const char *ks_flow_proto_name(int proto)
{
    switch (proto) {
    case KS_FLOW_NETFLOW5:
        return "netflow5";
    case KS_FLOW_NETFLOW9:
        return "netflow9";
    case KS_FLOW_IPFIX:
        return "ipfix";
    case KS_FLOW_SFLOW5:
        return "sflow5";
    default:
        return "unknown";
    }
}

void ks_flow_config_default(struct ks_flow_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_sources = 4096;
    cfg->max_templates = 8192;
    cfg->template_timeout_s = 1800;
    cfg->default_sampling = 1;
}

static uint32_t pow2_at_least(uint32_t n)
{
    uint32_t p = 16;
    while (p < n && p < (1u << 30))
        p <<= 1;
    return p;
}

int ks_flow_new(const struct ks_flow_config *cfg, struct ks_flow **fp)
{
    *fp = NULL;
    if (!cfg || cfg->max_sources == 0 || cfg->max_templates == 0 || cfg->max_sources > (1u << 24) ||
        cfg->max_templates > (1u << 24))
        return KS_EINVAL;
    struct ks_flow *f = calloc(1, sizeof *f);
    if (!f)
        return KS_ENOMEM;
    f->cfg = *cfg;
    if (f->cfg.default_sampling == 0)
        f->cfg.default_sampling = 1;
    f->wake[0] = f->wake[1] = -1;
    uint32_t sn = pow2_at_least(cfg->max_sources * 2), tn = pow2_at_least(cfg->max_templates * 2);
    f->src = calloc(cfg->max_sources, sizeof *f->src);
    f->src_heads = malloc((size_t)sn * sizeof *f->src_heads);
    f->tp = calloc(cfg->max_templates, sizeof *f->tp);
    f->tp_heads = malloc((size_t)tn * sizeof *f->tp_heads);
    f->buf = malloc(65536);
    if (!f->src || !f->src_heads || !f->tp || !f->tp_heads || !f->buf) {
        ks_flow_free(f);
        return KS_ENOMEM;
    }
    f->src_mask = sn - 1;
    f->tp_mask = tn - 1;
    memset(f->src_heads, 0xff, (size_t)sn * sizeof *f->src_heads);
    memset(f->tp_heads, 0xff, (size_t)tn * sizeof *f->tp_heads);
    /* Free lists threaded through lru_next. */
    for (uint32_t i = 0; i < cfg->max_sources; i++)
        f->src[i].lru_next = i + 1 < cfg->max_sources ? i + 1 : FLOW_NIL;
    for (uint32_t i = 0; i < cfg->max_templates; i++)
        f->tp[i].lru_next = i + 1 < cfg->max_templates ? i + 1 : FLOW_NIL;
    f->src_free = 0;
    f->tp_free = 0;
    f->src_lru_head = f->src_lru_tail = FLOW_NIL;
    f->tp_lru_head = f->tp_lru_tail = FLOW_NIL;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    f->seed =
        ks_hash_u64((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^ (uintptr_t)f, 0x666c6f77);
    f->last_expire_s = INT64_MIN;
    *fp = f;
    return KS_OK;
}

void ks_flow_free(struct ks_flow *f)
{
    if (!f)
        return;
    for (unsigned i = 0; i < f->nfds; i++)
        close(f->fds[i]);
    if (f->wake[0] >= 0) {
        close(f->wake[0]);
        close(f->wake[1]);
    }
    free(f->src);
    free(f->src_heads);
    free(f->tp);
    free(f->tp_heads);
    free(f->buf);
    free(f);
}

/* --- LRU lists over index arrays ------------------------------------------------------------ */

#define LRU_UNLINK(arr, head, tail, i)                                                             \
    do {                                                                                           \
        uint32_t p_ = (arr)[i].lru_prev, n_ = (arr)[i].lru_next;                                   \
        if (p_ != FLOW_NIL)                                                                        \
            (arr)[p_].lru_next = n_;                                                               \
        else                                                                                       \
            (head) = n_;                                                                           \
        if (n_ != FLOW_NIL)                                                                        \
            (arr)[n_].lru_prev = p_;                                                               \
        else                                                                                       \
            (tail) = p_;                                                                           \
    } while (0)

#define LRU_PUSH(arr, head, tail, i)                                                               \
    do {                                                                                           \
        (arr)[i].lru_prev = FLOW_NIL;                                                              \
        (arr)[i].lru_next = (head);                                                                \
        if ((head) != FLOW_NIL)                                                                    \
            (arr)[head].lru_prev = (i);                                                            \
        else                                                                                       \
            (tail) = (i);                                                                          \
        (head) = (i);                                                                              \
    } while (0)

/* --- sources ---------------------------------------------------------------------------------- */

static uint32_t source_hash(const struct ks_flow *f, const struct ks_addr *a, int proto,
                            uint32_t domain)
{
    uint64_t h = ks_addr_hash(a, f->seed);
    h = ks_hash_u64(h ^ ((uint64_t)(uint32_t)proto << 32 | domain), f->seed);
    return (uint32_t)h & f->src_mask;
}

uint32_t flow_source_slot(const struct ks_flow *f, const struct source *s)
{
    return (uint32_t)(s - f->src);
}

static void source_unhash(struct ks_flow *f, uint32_t i)
{
    struct source *s = &f->src[i];
    uint32_t *pp = &f->src_heads[source_hash(f, &s->addr, s->proto, s->domain)];
    while (*pp != FLOW_NIL && *pp != i)
        pp = &f->src[*pp].next;
    if (*pp == i)
        *pp = s->next;
}

struct source *flow_source(struct ks_flow *f, const struct ks_addr *a, int proto, uint32_t domain)
{
    uint32_t h = source_hash(f, a, proto, domain);
    for (uint32_t i = f->src_heads[h]; i != FLOW_NIL; i = f->src[i].next) {
        struct source *s = &f->src[i];
        if (s->proto == proto && s->domain == domain && ks_addr_eq(&s->addr, a)) {
            if (f->src_lru_head != i) {
                LRU_UNLINK(f->src, f->src_lru_head, f->src_lru_tail, i);
                LRU_PUSH(f->src, f->src_lru_head, f->src_lru_tail, i);
            }
            return s;
        }
    }
    uint32_t i;
    if (f->src_free != FLOW_NIL) {
        i = f->src_free;
        f->src_free = f->src[i].lru_next;
        f->nsrc++;
    } else {
        i = f->src_lru_tail;
        LRU_UNLINK(f->src, f->src_lru_head, f->src_lru_tail, i);
        source_unhash(f, i);
        f->st.sources_evicted++;
    }
    struct source *s = &f->src[i];
    uint32_t gen = s->gen + 1; /* the slot's old templates no longer match */
    memset(s, 0, sizeof *s);
    s->gen = gen;
    s->addr = *a;
    s->proto = proto;
    s->domain = domain;
    s->used = true;
    s->st.exporter = *a;
    s->st.proto = proto;
    s->st.domain = domain;
    s->next = f->src_heads[h];
    f->src_heads[h] = i;
    LRU_PUSH(f->src, f->src_lru_head, f->src_lru_tail, i);
    return s;
}

void flow_source_reset(struct ks_flow *f, struct source *s)
{
    (void)f;
    s->gen++;
    s->sampling = 0;
    s->nsamplers = 0;
    s->sysinit_us = 0;
}

/* --- templates -------------------------------------------------------------------------------- */

static uint32_t tmpl_hash(const struct ks_flow *f, uint32_t slot, uint32_t gen, uint16_t tid)
{
    uint64_t k = (uint64_t)slot << 40 ^ (uint64_t)gen << 16 ^ tid;
    return (uint32_t)ks_hash_u64(k, f->seed) & f->tp_mask;
}

struct tmpl *flow_tmpl_find(struct ks_flow *f, struct source *s, uint16_t tid)
{
    uint32_t slot = flow_source_slot(f, s);
    uint32_t h = tmpl_hash(f, slot, s->gen, tid);
    for (uint32_t i = f->tp_heads[h]; i != FLOW_NIL; i = f->tp[i].next) {
        struct tmpl *t = &f->tp[i];
        if (t->tid == tid && t->src_slot == slot && t->src_gen == s->gen) {
            if (f->tp_lru_head != i) {
                LRU_UNLINK(f->tp, f->tp_lru_head, f->tp_lru_tail, i);
                LRU_PUSH(f->tp, f->tp_lru_head, f->tp_lru_tail, i);
            }
            return t;
        }
    }
    return NULL;
}

static void tmpl_unhash(struct ks_flow *f, uint32_t i)
{
    struct tmpl *t = &f->tp[i];
    uint32_t *pp = &f->tp_heads[tmpl_hash(f, t->src_slot, t->src_gen, t->tid)];
    while (*pp != FLOW_NIL && *pp != i)
        pp = &f->tp[*pp].next;
    if (*pp == i)
        *pp = t->next;
}

void flow_tmpl_drop(struct ks_flow *f, struct tmpl *t)
{
    uint32_t i = (uint32_t)(t - f->tp);
    tmpl_unhash(f, i);
    LRU_UNLINK(f->tp, f->tp_lru_head, f->tp_lru_tail, i);
    t->lru_next = f->tp_free;
    t->live = false;
    f->tp_free = i;
    f->ntp--;
}

/* The source that owns template t, if it still does. */
static struct source *tmpl_owner(struct ks_flow *f, const struct tmpl *t)
{
    struct source *s = &f->src[t->src_slot];
    return s->used && s->gen == t->src_gen ? s : NULL;
}

struct tmpl *flow_tmpl_put(struct ks_flow *f, struct source *s, uint16_t tid)
{
    struct tmpl *t = flow_tmpl_find(f, s, tid);
    if (t)
        return t;
    uint32_t i;
    if (f->tp_free != FLOW_NIL) {
        i = f->tp_free;
        f->tp_free = f->tp[i].lru_next;
    } else {
        i = f->tp_lru_tail;
        if (i == FLOW_NIL)
            return NULL;
        struct source *owner = tmpl_owner(f, &f->tp[i]);
        tmpl_unhash(f, i);
        LRU_UNLINK(f->tp, f->tp_lru_head, f->tp_lru_tail, i);
        f->ntp--;
        /* Templates of sources gone or restarted are only reclaimed here: not a loss. */
        if (owner) {
            owner->st.reasons[KS_FLOW_R_TEMPLATE_EVICTED]++;
            f->st.reasons[KS_FLOW_R_TEMPLATE_EVICTED]++;
        }
    }
    t = &f->tp[i];
    t->src_slot = flow_source_slot(f, s);
    t->src_gen = s->gen;
    t->tid = tid;
    t->nfld = 0;
    t->live = true;
    uint32_t h = tmpl_hash(f, t->src_slot, t->src_gen, tid);
    t->next = f->tp_heads[h];
    f->tp_heads[h] = i;
    LRU_PUSH(f->tp, f->tp_lru_head, f->tp_lru_tail, i);
    f->ntp++;
    return t;
}

void ks_flow_expire(struct ks_flow *f, int64_t now_us)
{
    if (f->cfg.template_timeout_s == 0)
        return;
    int64_t limit = now_us - (int64_t)f->cfg.template_timeout_s * 1000000;
    for (uint32_t i = 0; i < f->cfg.max_templates; i++) {
        struct tmpl *t = &f->tp[i];
        if (!t->live)
            continue;
        struct source *owner = tmpl_owner(f, t);
        if (!owner) {
            flow_tmpl_drop(f, t);
            continue;
        }
        if (t->refreshed_us < limit) {
            owner->st.reasons[KS_FLOW_R_TEMPLATE_EXPIRED]++;
            f->st.reasons[KS_FLOW_R_TEMPLATE_EXPIRED]++;
            flow_tmpl_drop(f, t);
        }
    }
}

/* --- counting ------------------------------------------------------------------------------- */

void flow_bad(struct ks_flow *f, struct source *s, unsigned reason, int err, const char *fmt, ...)
{
    f->st.reasons[reason]++;
    if (s)
        s->st.reasons[reason]++;
    const struct ks_diag *d = f->cfg.diag;
    if (!d || !d->fn || (d->limit && f->diag_reported >= d->limit))
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char ad[KS_ADDR_STRLEN] = "?";
    if (s)
        ks_addr_format(&s->addr, ad, sizeof ad);
    ks_diag_report(d, &f->diag_reported, "flow", f->loc, err, "%s%s%s%s (%s)", s ? "exporter " : "",
                   s ? ad : "", s ? ": " : "", msg, reason_names[reason]);
}

void flow_emit(struct ks_flow *f, struct source *s)
{
    struct ks_flow_rec *r = &f->rec;
    if (r->sampling == 0)
        r->sampling = 1;
    s->st.records++;
    s->st.packets += r->packets;
    s->st.bytes += r->bytes;
    f->st.records++;
    f->st.packets += r->packets;
    f->st.bytes += r->bytes;
    if (f->cfg.on_record)
        f->cfg.on_record(f->cfg.user, r);
}

uint32_t flow_rate(const struct ks_flow *f, const struct source *s, bool has_id,
                   uint32_t sampler_id)
{
    if (f->cfg.ignore_sampling)
        return 1;
    if (has_id)
        for (unsigned i = 0; i < s->nsamplers; i++)
            if (s->samplers[i].id == sampler_id)
                return s->samplers[i].rate;
    return s->sampling ? s->sampling : f->cfg.default_sampling;
}

void flow_set_rate(struct source *s, bool has_id, uint32_t id, uint32_t rate)
{
    if (rate == 0)
        return;
    if (!has_id) {
        s->sampling = rate;
        s->st.sampling = rate;
        return;
    }
    for (unsigned i = 0; i < s->nsamplers; i++)
        if (s->samplers[i].id == id) {
            s->samplers[i].rate = rate;
            return;
        }
    unsigned i =
        s->nsamplers < FLOW_MAX_SAMPLERS ? s->nsamplers++ : (unsigned)(id % FLOW_MAX_SAMPLERS);
    s->samplers[i] = (struct sampler){id, rate};
    /* The per-source figure shows the latest rate announced. */
    s->st.sampling = rate;
}

/* Exporters restart (sysUptime goes back, RFC 3954 5.1) or reorder datagrams (UDP): a
 * sequence number behind the expected one is a restart only when the uptime went back by more
 * than ten seconds, or (without uptime: IPFIX) when it is far behind while the export time
 * did not go back. */
int flow_seq(struct ks_flow *f, struct source *s, uint32_t seq, uint32_t advance, bool uptime_ok,
             uint32_t uptime, int64_t export_us)
{
    bool restart = false;
    if (s->seq_known) {
        if (uptime_ok && uptime + 10000u < s->last_uptime && s->last_uptime - uptime < 0x80000000u)
            restart = true;
        int32_t d = (int32_t)(seq - s->expect_seq);
        if (!uptime_ok && d < -1000000 && export_us >= s->last_export_us)
            restart = true;
        if (restart) {
            flow_bad(f, s, KS_FLOW_R_RESTART, KS_EFORMAT,
                     "exporter restarted (sequence %u, expected %u): templates dropped", seq,
                     s->expect_seq);
            flow_source_reset(f, s);
        } else if (d > 0) {
            s->st.lost += (uint32_t)d;
            flow_bad(f, s, KS_FLOW_R_SEQ_GAP, KS_EFORMAT, "sequence %u, expected %u: %u lost", seq,
                     s->expect_seq, (unsigned)d);
        } else if (d < 0) {
            flow_bad(f, s, KS_FLOW_R_SEQ_BACK, KS_EFORMAT,
                     "sequence %u, expected %u: late or repeated", seq, s->expect_seq);
            /* A late datagram: keep expecting what followed the newest one. */
            return -1;
        }
    }
    s->seq_known = true;
    s->last_seq = seq;
    s->expect_seq = seq + advance;
    s->last_uptime = uptime;
    s->last_export_us = export_us;
    return restart ? 1 : 0;
}

/* --- feeding ---------------------------------------------------------------------------------- */

int ks_flow_feed(struct ks_flow *f, const uint8_t *data, size_t len, const struct ks_addr *exporter,
                 uint16_t port, int64_t recv_us, const struct ks_loc *loc)
{
    (void)port;
    static const struct ks_addr none = {0};
    if (!exporter)
        exporter = &none;
    f->st.datagrams++;
    f->loc = loc;
    int64_t sec = recv_us / 1000000;
    if (sec > f->last_expire_s) {
        if (f->last_expire_s != INT64_MIN)
            ks_flow_expire(f, recv_us);
        f->last_expire_s = sec;
    }
    struct ks_cur c = ks_cur_make(data, len);
    int rc;
    uint16_t v = (uint16_t)(len >= 2 ? (unsigned)data[0] << 8 | data[1] : 0);
    if (len >= 4 && v == 0 && data[2] == 0 && data[3] == 5)
        rc = flow_sflow(f, &c, exporter, recv_us);
    else if (v == 5)
        rc = flow_nf5(f, &c, exporter, recv_us);
    else if (v == 9)
        rc = flow_nf9(f, &c, exporter, recv_us);
    else if (v == 10)
        rc = flow_ipfix(f, &c, exporter, recv_us);
    else {
        flow_bad(f, NULL, len < 4 ? KS_FLOW_R_SHORT : KS_FLOW_R_VERSION,
                 len < 4 ? KS_ETRUNC : KS_EFORMAT, "version %u", v);
        rc = len < 4 ? KS_ETRUNC : KS_EFORMAT;
    }
    if (rc != KS_OK)
        f->st.bad_datagrams++;
    f->loc = NULL;
    return rc;
}

void ks_flow_stats(const struct ks_flow *f, struct ks_flow_stats *st)
{
    *st = f->st;
    st->sources = f->nsrc;
    st->templates = f->ntp;
}

void ks_flow_sources(const struct ks_flow *f,
                     void (*fn)(void *user, const struct ks_flow_source_stats *s), void *user)
{
    for (uint32_t i = f->src_lru_tail; i != FLOW_NIL; i = f->src[i].lru_prev) {
        struct ks_flow_source_stats st = f->src[i].st;
        if (st.sampling == 0)
            st.sampling = f->src[i].sampling ? f->src[i].sampling : f->cfg.default_sampling;
        fn(user, &st);
    }
}

/* --- sockets ---------------------------------------------------------------------------------- */

static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
    const char *colon = strrchr(s, ':');
    const char *port_s = colon ? colon + 1 : s;
    char host[64] = "";
    if (colon) {
        size_t hl = (size_t)(colon - s);
        if (hl >= sizeof host)
            return KS_EINVAL;
        memcpy(host, s, hl);
        host[hl] = '\0';
    }
    char *end;
    errno = 0;
    unsigned long port = strtoul(port_s, &end, 10);
    if (!*port_s || *end || errno || port > 65535)
        return KS_EINVAL;
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    memset(ss, 0, sizeof *ss);
    if (host[0] == '\0' || strcmp(host, "*") == 0) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_any;
        a6->sin6_port = htons((uint16_t)port);
        *sl = sizeof *a6;
        return KS_OK;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *sl = sizeof *a4;
        return KS_OK;
    }
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *sl = sizeof *a6;
        return KS_OK;
    }
    return KS_EINVAL;
}

int ks_flow_listen(struct ks_flow *f, const char *addr_port)
{
    if (f->nfds >= FLOW_MAX_SOCKETS)
        return KS_ELIMIT;
    struct sockaddr_storage ss;
    socklen_t sl;
    if (!addr_port || parse_listen(addr_port, &ss, &sl) != KS_OK)
        return KS_EINVAL;
    if (f->wake[0] < 0) {
        if (pipe(f->wake) != 0)
            return KS_EIO;
        fcntl(f->wake[0], F_SETFL, O_NONBLOCK);
        fcntl(f->wake[1], F_SETFL, O_NONBLOCK);
    }
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return KS_EIO;
    int one = 1, zero = 0, rcvbuf = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return KS_EIO;
    }
    f->fds[f->nfds++] = fd;
    return KS_OK;
}

size_t ks_flow_fds(const struct ks_flow *f, int *fds, size_t max)
{
    for (size_t i = 0; i < f->nfds && i < max; i++)
        fds[i] = f->fds[i];
    return f->nfds;
}

void ks_flow_break(struct ks_flow *f)
{
    if (f->wake[1] >= 0) {
        char b = 1;
        ssize_t n = write(f->wake[1], &b, 1);
        (void)n;
    }
}

static void sockaddr_to_addr(const struct sockaddr_storage *ss, struct ks_addr *a, uint16_t *port)
{
    memset(a, 0, sizeof *a);
    *port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)ss;
        ks_addr_from_v4(a, ntohl(a4->sin_addr.s_addr));
        *port = ntohs(a4->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;
        ks_addr_from_v6(a, a6->sin6_addr.s6_addr);
        ks_addr_unmap(a);
        *port = ntohs(a6->sin6_port);
    }
}

int ks_flow_poll(struct ks_flow *f, int timeout_ms)
{
    struct pollfd pf[FLOW_MAX_SOCKETS + 1];
    unsigned n = 0;
    for (unsigned i = 0; i < f->nfds; i++)
        pf[n++] = (struct pollfd){.fd = f->fds[i], .events = POLLIN};
    if (f->wake[0] >= 0)
        pf[n++] = (struct pollfd){.fd = f->wake[0], .events = POLLIN};
    int r = poll(pf, n, timeout_ms);
    if (r < 0)
        return errno == EINTR ? KS_EINTR : KS_EIO;
    if (r == 0)
        return 0;
    if (f->wake[0] >= 0 && (pf[n - 1].revents & POLLIN)) {
        char b[16];
        while (read(f->wake[0], b, sizeof b) > 0) {
        }
        return KS_EINTR;
    }
    int fed = 0;
    for (unsigned i = 0; i < f->nfds; i++) {
        if (!(pf[i].revents & POLLIN))
            continue;
        /* Drain the socket, a bounded number at a time so that others get their turn. */
        for (int k = 0; k < 1024; k++) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            ssize_t got =
                recvfrom(f->fds[i], f->buf, 65536, MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
            if (got < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                    break;
                return KS_EIO;
            }
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            struct ks_addr a;
            uint16_t port;
            sockaddr_to_addr(&ss, &a, &port);
            ks_flow_feed(f, f->buf, (size_t)got, &a, port,
                         (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000, NULL);
            fed++;
        }
    }
    return fed;
}

/* --- spreading flows over seconds ------------------------------------------------------------- */

static size_t emit_weighted(struct ks_pkt *p, uint64_t pk, uint64_t by,
                            void (*fn)(void *user, const struct ks_pkt *p), void *user)
{
    /* pk packets carrying by bytes: q bytes each, the first r of them one more. */
    size_t calls = 0;
    if (pk == 0)
        return 0;
    uint64_t q = by / pk, r = by % pk;
    uint64_t parts[2][2] = {{r, q + 1}, {pk - r, q}};
    for (int k = 0; k < 2; k++) {
        uint64_t left = parts[k][0];
        uint64_t len = parts[k][1];
        p->wire_len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
        p->ip_len = p->wire_len;
        while (left) {
            uint32_t w = left > 65535 ? 65535 : (uint32_t)left;
            p->weight = w;
            fn(user, p);
            calls++;
            left -= w;
        }
    }
    return calls;
}

size_t ks_flow_spread(const struct ks_flow_rec *r, uint32_t max_seconds,
                      void (*fn)(void *user, const struct ks_pkt *p), void *user)
{
    uint64_t rate = r->sampling ? r->sampling : 1;
    if (r->pkt) {
        struct ks_pkt p = *r->pkt;
        return emit_weighted(&p, rate, (uint64_t)p.wire_len * rate, fn, user);
    }
    if (r->src.family == 0 || r->dst.family == 0 || r->packets == 0)
        return 0;
    struct ks_pkt p;
    memset(&p, 0, sizeof p);
    p.src = r->src;
    p.dst = r->dst;
    p.ipver = r->src.family;
    p.proto = r->proto_ip;
    p.tcp_flags = r->tcp_flags;
    if (r->proto_ip == 6 || r->proto_ip == 17) {
        p.flags |= KS_PKT_L4;
        p.sport = r->sport;
        p.dport = r->dport;
    } else if (r->proto_ip == 1 || r->proto_ip == 58) {
        p.flags |= KS_PKT_L4;
        p.icmp_type = r->icmp_type;
        p.icmp_code = r->icmp_code;
    }
    uint64_t pk = r->packets > UINT64_MAX / rate ? UINT64_MAX : r->packets * rate;
    uint64_t by = r->bytes > UINT64_MAX / rate ? UINT64_MAX : r->bytes * rate;
    int64_t t0 = r->start_us, t1 = r->end_us < r->start_us ? r->start_us : r->end_us;
    int64_t s0 = t0 >= 0 ? t0 / 1000000 : -((-t0 + 999999) / 1000000);
    int64_t s1 = t1 >= 0 ? t1 / 1000000 : -((-t1 + 999999) / 1000000);
    uint64_t secs = (uint64_t)(s1 - s0) + 1;
    uint64_t maxs = max_seconds ? max_seconds : 3600;
    uint64_t step = (secs + maxs - 1) / maxs; /* seconds per slice */
    uint64_t slices = (secs + step - 1) / step;
    if (slices > pk)
        slices = pk;
    size_t calls = 0;
    for (uint64_t i = 0; i < slices; i++) {
        uint64_t spk = pk / slices + (i < pk % slices);
        uint64_t sby = by / slices + (i < by % slices);
        /* Slices are spread over the whole span: slice i starts at its share of it. */
        int64_t ts = t0 + (int64_t)((double)(t1 - t0) * (double)i / (double)slices);
        p.ts_us = ts;
        calls += emit_weighted(&p, spk, sby, fn, user);
    }
    return calls;
}
