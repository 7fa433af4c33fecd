/* The detector's public face: configuration, the reader side (events, sharding by
 * destination, single-producer/single-consumer rings to the workers), the worker threads and
 * the hand-back of finished attacks to the caller's thread. */
#include "core/spin.h"
#include "ddos_int.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void ks_ddos_config_default(struct ks_ddos_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->thr = (struct ks_ddos_thresholds){
        .pps = 20000,
        .bps = 200000000,
        .syn_pps = 10000,
        .synack_pps = 10000,
        .udp_pps = 20000,
        .amp_pps = 5000,
        .icmp_pps = 5000,
        .frag_pps = 5000,
        .conn_ps = 2000,
        .http_rps = 2000,
    };
    cfg->start_after_s = 5;
    cfg->end_after_s = 60;
    cfg->vector_share = 0.2;
    cfg->adaptive_k = 5;
    cfg->adaptive_alpha = 0.02;
    cfg->adaptive_min_pps = 1000;
    cfg->adaptive_warmup_s = 60;
    cfg->max_targets = 786000; /* 2^20 table slots (ks_table keeps load <= 3/4): 128 MiB */
    cfg->max_tracked = 512;
    cfg->timeline_max = 3600;
    cfg->ring_size = 65536;
    cfg->scan_max_sources = 8;
    cfg->scan_min_spread = 64;
    cfg->scan_max_per_item = 4;
}

static void thr_from(struct thr *t, const struct ks_ddos_thresholds *s)
{
    t->v[T_PPS] = s->pps;
    t->v[T_BPS] = s->bps;
    t->v[T_SYN] = s->syn_pps;
    t->v[T_SYNACK] = s->synack_pps;
    t->v[T_UDP] = s->udp_pps;
    t->v[T_AMP] = s->amp_pps;
    t->v[T_ICMP] = s->icmp_pps;
    t->v[T_FRAG] = s->frag_pps;
    t->v[T_CONN] = s->conn_ps;
    t->v[T_HTTP] = s->http_rps;
}

/* --- delivery of finished attacks ---------------------------------------------------------- */

void ddos_deliver(struct shard *sh, const struct ks_ddos_attack *a)
{
    struct ks_ddos *d = sh->d;
    if (!d->threaded) {
        if (d->cfg.on_attack)
            d->cfg.on_attack(d->cfg.user, a);
        return;
    }
    /* A worker: copy the attack (and its timeline) for the caller's thread. */
    size_t tl = a->timeline_len * sizeof *a->timeline;
    struct ks_ddos_attack *c = malloc(sizeof *c + tl);
    if (!c)
        return;
    *c = *a;
    struct ks_ddos_tl *copy = (struct ks_ddos_tl *)(void *)(c + 1);
    if (tl)
        memcpy(copy, a->timeline, tl);
    c->timeline = copy;
    pthread_mutex_lock(&sh->mu);
    if (sh->nout == sh->capout) {
        size_t cap = sh->capout ? sh->capout * 2 : 16;
        struct ks_ddos_attack **n = realloc(sh->out, cap * sizeof *n);
        if (!n) {
            pthread_mutex_unlock(&sh->mu);
            free(c);
            return;
        }
        sh->out = n;
        sh->capout = cap;
    }
    sh->out[sh->nout++] = c;
    pthread_mutex_unlock(&sh->mu);
}

static void drain(struct ks_ddos *d)
{
    if (!d->threaded)
        return;
    for (uint32_t i = 0; i < d->nshards; i++) {
        struct shard *sh = &d->shards[i];
        pthread_mutex_lock(&sh->mu);
        struct ks_ddos_attack **out = sh->out;
        size_t n = sh->nout;
        sh->out = NULL;
        sh->nout = sh->capout = 0;
        pthread_mutex_unlock(&sh->mu);
        for (size_t j = 0; j < n; j++) {
            if (d->cfg.on_attack)
                d->cfg.on_attack(d->cfg.user, out[j]);
            free(out[j]);
        }
        free(out);
    }
}

/* --- rings --------------------------------------------------------------------------------- */

#define PUBLISH_EVERY 64

static void ring_publish(struct ring *r)
{
    atomic_store_explicit(&r->tail, r->p_tail, memory_order_release);
}

static void ring_push(struct ks_ddos *d, struct ring *r, const struct ev *e)
{
    if (r->p_tail - r->p_head_cache > r->mask) {
        r->p_head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
        unsigned spins = 0;
        while (r->p_tail - r->p_head_cache > r->mask) {
            ring_publish(r);
            d->ring_waits++;
            ks_spin_backoff(&spins);
            r->p_head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
        }
    }
    r->slots[r->p_tail & r->mask] = *e;
    r->p_tail++;
    if ((r->p_tail & (PUBLISH_EVERY - 1)) == 0)
        ring_publish(r);
}

static void *worker(void *arg)
{
    struct shard *sh = arg;
    struct ring *r = &sh->ring;
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    unsigned spins = 0;
    for (;;) {
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (tail == head) {
            shard_drain(sh); /* idle: no event waits for its prefetch */
            ks_spin_backoff(&spins);
            continue;
        }
        spins = 0;
        while (head != tail) {
            const struct ev *e = &r->slots[head & r->mask];
            switch (e->kind) {
            case EV_TICK:
                shard_advance(sh, e->ts_us / 1000000);
                break;
            case EV_STOP:
                shard_finish(sh);
                atomic_store_explicit(&r->head, head + 1, memory_order_release);
                return NULL;
            default:
                shard_push(sh, e);
            }
            head++;
            if ((head & (PUBLISH_EVERY - 1)) == 0)
                atomic_store_explicit(&r->head, head, memory_order_release);
        }
        atomic_store_explicit(&r->head, head, memory_order_release);
    }
}

/* --- life cycle ---------------------------------------------------------------------------- */

static void stop_workers(struct ks_ddos *d)
{
    if (!d->threaded)
        return;
    for (uint32_t i = 0; i < d->nshards; i++) {
        struct shard *sh = &d->shards[i];
        if (!sh->th_started)
            continue;
        struct ev stop = {.kind = EV_STOP};
        ring_push(d, &sh->ring, &stop);
        ring_publish(&sh->ring);
    }
    for (uint32_t i = 0; i < d->nshards; i++) {
        struct shard *sh = &d->shards[i];
        if (sh->th_started) {
            pthread_join(sh->th, NULL);
            sh->th_started = false;
        }
    }
}

int ks_ddos_new(const struct ks_ddos_config *cfg, struct ks_ddos **dp)
{
    int rc = KS_OK;
    struct ks_ddos *d = calloc(1, sizeof *d);
    if (!d)
        return KS_ENOMEM;
    if (cfg)
        d->cfg = *cfg;
    else
        ks_ddos_config_default(&d->cfg);
    struct ks_ddos_config *c = &d->cfg;
    if (c->workers > 256 || c->timeline_max < 2 || c->vector_share < 0 || c->vector_share > 1 ||
        (c->ring_size & (c->ring_size - 1)) || c->ring_size < 256 || c->max_targets == 0) {
        rc = KS_EINVAL;
        goto out;
    }
    d->rules = c->rules;
    d->nthr = 1 + (d->rules ? d->rules->n : 0);
    d->thr = calloc(d->nthr, sizeof *d->thr);
    if (!d->thr) {
        rc = KS_ENOMEM;
        goto out;
    }
    thr_from(&d->thr[0], &c->thr);
    for (size_t i = 1; i < d->nthr; i++) {
        const struct rule *ru = &d->rules->r[i - 1];
        struct thr own;
        thr_from(&own, &ru->thr);
        for (unsigned k = 0; k < T_N; k++)
            d->thr[i].v[k] = (ru->set >> k & 1u) ? own.v[k] : d->thr[0].v[k];
    }
    d->threaded = c->workers > 0;
    d->nshards = c->workers ? c->workers : 1;
    d->route_seed = 0x9e3779b97f4a7c15ULL;
    d->last_sec = INT64_MIN;
    d->shards = calloc(d->nshards, sizeof *d->shards);
    if (!d->shards) {
        rc = KS_ENOMEM;
        goto out;
    }
    uint32_t per_targets = c->max_targets / d->nshards ? c->max_targets / d->nshards : 1;
    uint32_t per_tracked = c->max_tracked / d->nshards;
    if (per_tracked < 16)
        per_tracked = 16;
    for (uint32_t i = 0; i < d->nshards; i++) {
        struct shard *sh = &d->shards[i];
        rc = shard_init(sh, d, per_targets, per_tracked);
        if (rc != KS_OK)
            goto out;
        pthread_mutex_init(&sh->mu, NULL);
        if (d->threaded) {
            sh->ring.slots = calloc(c->ring_size, sizeof *sh->ring.slots);
            if (!sh->ring.slots) {
                rc = KS_ENOMEM;
                goto out;
            }
            sh->ring.mask = c->ring_size - 1;
        }
    }
    if (d->threaded) {
        for (uint32_t i = 0; i < d->nshards; i++) {
            if (pthread_create(&d->shards[i].th, NULL, worker, &d->shards[i]) != 0) {
                rc = KS_EIO;
                goto out;
            }
            d->shards[i].th_started = true;
        }
    }
out:
    if (rc != KS_OK) {
        ks_ddos_free(d);
        d = NULL;
    }
    *dp = d;
    return rc;
}

void ks_ddos_free(struct ks_ddos *d)
{
    if (!d)
        return;
    if (d->shards) {
        stop_workers(d);
        for (uint32_t i = 0; i < d->nshards; i++) {
            shard_fini(&d->shards[i]);
            free(d->shards[i].ring.slots);
            pthread_mutex_destroy(&d->shards[i].mu);
        }
    }
    free(d->shards);
    free(d->thr);
    free(d);
}

/* --- the reader side ----------------------------------------------------------------------- */

static uint32_t route(const struct ks_ddos *d, const struct tkey *k)
{
    if (d->nshards == 1)
        return 0;
    uint64_t h;
    if (k->family == 4)
        h = ks_hash_u64((uint64_t)k->b[0] << 24 | (uint64_t)k->b[1] << 16 | (uint64_t)k->b[2] << 8 |
                            k->b[3] | (uint64_t)k->plen << 32,
                        d->route_seed);
    else
        h = ks_hash_bytes(k, sizeof *k, d->route_seed);
    return (uint32_t)(((h >> 32) * d->nshards) >> 32);
}

static void dispatch(struct ks_ddos *d, const struct ev *e)
{
    struct shard *sh = &d->shards[route(d, &e->key)];
    if (d->threaded)
        ring_push(d, &sh->ring, e);
    else
        shard_push(sh, e);
}

/* RFC 9110 9.3: a request line starts with a method token and a space. */
static bool http_request(const uint8_t *p, uint32_t n)
{
    static const char *const methods[] = {"GET ",     "POST ",  "HEAD ",    "PUT ",  "DELETE ",
                                          "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "};
    if (n < 4 || p[0] < 'C' || p[0] > 'T')
        return false;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        size_t l = strlen(methods[i]);
        if (n >= l && memcmp(p, methods[i], l) == 0)
            return true;
    }
    return false;
}

static void key_host(struct tkey *k, const struct ks_addr *a)
{
    k->family = a->family;
    k->plen = a->family == 4 ? 32 : 128;
    memcpy(k->b, a->b, 16);
}

static void new_second(struct ks_ddos *d, int64_t sec)
{
    d->last_sec = sec;
    if (d->threaded) {
        struct ev tick = {.kind = EV_TICK, .ts_us = sec * 1000000};
        for (uint32_t i = 0; i < d->nshards; i++) {
            ring_push(d, &d->shards[i].ring, &tick);
            ring_publish(&d->shards[i].ring);
        }
        drain(d);
    }
}

int ks_ddos_feed(struct ks_ddos *d, const struct ks_pkt *p)
{
    if (d->flushed)
        return KS_EINVAL;
    if (p->ipver != 4 && p->ipver != 6)
        return KS_OK;
    int64_t sec = p->ts_us >= 0 ? p->ts_us / 1000000 : -((-p->ts_us + 999999) / 1000000);
    if (sec > d->last_sec)
        new_second(d, sec);
    uint32_t w = p->weight ? (p->weight > 65535 ? 65535 : p->weight) : 1;
    d->packets += w;
    d->bytes += (uint64_t)p->wire_len * w;
    struct ev e;
    e.ts_us = p->ts_us;
    key_host(&e.key, &p->dst);
    e.src = p->src;
    e.kind = EV_PKT;
    e.proto = p->proto;
    e.tcp_flags = p->tcp_flags;
    e.fl = 0;
    if (p->flags & KS_PKT_FRAG)
        e.fl |= EVF_FRAG;
    if (p->flags & KS_PKT_FRAG_LATER)
        e.fl |= EVF_FRAG_LATER;
    bool l4 = (p->flags & KS_PKT_L4) && (p->proto == 6 || p->proto == 17);
    if (l4)
        e.fl |= EVF_L4;
    e.amp = l4 && p->proto == 17 ? ddos_amp_vector(p->sport) : 0;
    if (l4 && p->proto == 6 && p->payload_len && http_request(p->payload, p->payload_len))
        e.fl |= EVF_HTTP;
    e.sport = l4 ? p->sport : 0;
    e.dport = l4 ? p->dport : 0;
    e.rule = 0;
    e.weight = (uint16_t)w;
    e.wire_len = p->wire_len;
    e.dst_hash = 0;
    dispatch(d, &e);
    /* A SYN-ACK leaving a host: a connection it accepts, counted on the sender. */
    if (l4 && p->proto == 6 &&
        (p->tcp_flags & (KS_TCP_SYN | KS_TCP_ACK)) == (KS_TCP_SYN | KS_TCP_ACK)) {
        struct ev c = e;
        c.kind = EV_CONN;
        key_host(&c.key, &p->src);
        dispatch(d, &c);
    }
    /* Carpet bombing: the whole prefix is a target too. */
    if (d->rules && d->rules->any_carpet) {
        uint32_t v;
        unsigned plen;
        if (ks_prefix_set_lookup(d->rules->set, &p->dst, &v, &plen) && v >= 1 && v <= d->rules->n &&
            d->rules->r[v - 1].carpet) {
            struct ev c = e;
            const struct rule *ru = &d->rules->r[v - 1];
            c.key.plen = ru->prefix.len;
            memcpy(c.key.b, ru->prefix.addr.b, 16);
            c.rule = (uint16_t)v;
            c.dst_hash = (uint32_t)ks_addr_hash(&p->dst, 0x63617270ULL);
            dispatch(d, &c);
        }
    }
    return KS_OK;
}

int ks_ddos_tick(struct ks_ddos *d, int64_t now_us)
{
    if (d->flushed)
        return KS_EINVAL;
    int64_t sec = now_us / 1000000;
    if (!d->threaded)
        shard_drain(&d->shards[0]);
    if (sec > d->last_sec) {
        new_second(d, sec);
        if (!d->threaded)
            shard_advance(&d->shards[0], sec);
    }
    drain(d);
    return KS_OK;
}

int ks_ddos_flush(struct ks_ddos *d)
{
    if (d->flushed)
        return KS_OK;
    if (d->threaded) {
        stop_workers(d);
        drain(d);
    } else {
        shard_finish(&d->shards[0]);
    }
    d->flushed = true;
    return KS_OK;
}

void ks_ddos_stats(const struct ks_ddos *d, struct ks_ddos_stats *st)
{
    memset(st, 0, sizeof *st);
    st->packets = d->packets;
    st->bytes = d->bytes;
    st->ring_waits = d->ring_waits;
    if (d->threaded && !d->flushed)
        return; /* the workers own their counters until they stop */
    for (uint32_t i = 0; i < d->nshards; i++) {
        const struct shard *sh = &d->shards[i];
        st->targets += ks_table_count(sh->t);
        st->targets_evicted += sh->st.targets_evicted;
        st->tracker_full += sh->st.tracker_full;
        st->attacks += sh->st.attacks;
        st->scans += sh->st.scans;
        st->candidates += sh->st.candidates;
        st->late_packets += sh->st.late_packets;
    }
}

/* --- per-minute view ----------------------------------------------------------------------- */

size_t ks_ddos_attack_minutes(const struct ks_ddos_attack *a, struct ks_ddos_tl *out, size_t max)
{
    size_t n = 0;
    int64_t cur = INT64_MIN;
    uint64_t weight[KS_VEC_COUNT + 1];
    struct ks_ddos_tl m = {0};
    for (size_t i = 0; i <= a->timeline_len; i++) {
        const struct ks_ddos_tl *e = i < a->timeline_len ? &a->timeline[i] : NULL;
        int64_t minute =
            e ? (e->t_us >= 0 ? e->t_us / 60000000 : -((-e->t_us + 59999999) / 60000000))
              : INT64_MAX;
        if (minute != cur && cur != INT64_MIN) {
            uint64_t best = 0;
            m.main_vector = KS_VEC_COUNT;
            for (unsigned v = 0; v < KS_VEC_COUNT; v++)
                if (weight[v] > best) {
                    best = weight[v];
                    m.main_vector = (uint8_t)v;
                }
            if (n < max)
                out[n] = m;
            n++;
        }
        if (!e)
            break;
        if (minute != cur) {
            cur = minute;
            memset(&m, 0, sizeof m);
            memset(weight, 0, sizeof weight);
            m.t_us = minute * 60000000;
        }
        m.packets += e->packets;
        m.bytes += e->bytes;
        m.vectors |= e->vectors;
        m.seconds += e->seconds;
        if (e->main_vector < KS_VEC_COUNT && (e->vectors >> e->main_vector & 1u))
            weight[e->main_vector] += e->packets;
    }
    return n;
}
