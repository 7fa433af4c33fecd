/* TCP reassembly: connection table, sequence tracking, out-of-order buffers (tcp.h). */
#include "tcp.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct tcp_key {
    uint8_t a[16], b[16]; /* endpoints ordered: (a, pa) < (b, pb) */
    uint16_t pa, pb;
    uint8_t fam;
    uint8_t pad[3];
};

struct tcp_half {
    uint32_t next;      /* next sequence number expected */
    uint32_t isn;       /* from the SYN */
    uint32_t fin_seq;   /* sequence number of the FIN */
    uint32_t ooo;       /* first out-of-order buffer (ordered by seq), TCP_NIL */
    uint32_t ooo_bytes; /* bytes in them */
    uint32_t conflicts;
    bool known, syn, fin, done;
    bool ignore; /* payload not wanted: only FIN/RST are followed */
};

struct tcp_stream {
    struct tcp_key key;
    uint32_t hnext;        /* hash chain; free list when unused */
    uint32_t lprev, lnext; /* LRU list: head is the most recent */
    uint32_t bprev, bnext; /* the same order, over the connections that hold buffers */
    uint32_t nbufs;        /* pool buffers charged to this connection */
    int64_t last_us;
    struct tcp_half half[2]; /* 0: client -> server, 1: server -> client */
    struct ks_http_conn conn;
    uint8_t client; /* 0 if the client is key endpoint a, 1 if b */
    bool used;
    /* the consumer's state follows, 8-byte aligned */
};

struct tcp_reasm {
    struct tcp_config cfg;
    size_t stride;
    uint8_t *streams;
    uint32_t nstreams, free_stream;
    uint32_t *buckets;
    uint32_t mask;
    uint32_t lru_head, lru_tail;
    uint32_t blru_head, blru_tail; /* connections holding buffers, most recent first */
    struct tcp_buf *meta;
    uint8_t *data;
    uint32_t nbufs, free_buf, bufs_used;
    uint64_t next_id;
    struct tcp_stream *cur; /* being fed: never evicted */
    const struct ks_pkt *pkt;
    uint32_t reported;
    const char *source; /* for diagnostics */
    struct ks_http_capture_stats st;
};

#define SIDX(r, s) ((uint32_t)(((const uint8_t *)(s) - (r)->streams) / (r)->stride))

static struct tcp_stream *S(const struct tcp_reasm *r, uint32_t i)
{
    return (struct tcp_stream *)(void *)(r->streams + (size_t)i * r->stride);
}

static size_t user_off(void)
{
    return (sizeof(struct tcp_stream) + 7) & ~(size_t)7;
}

void *tcp_user(struct tcp_stream *s)
{
    return (uint8_t *)s + user_off();
}

const struct ks_http_conn *tcp_conn(const struct tcp_stream *s)
{
    return &s->conn;
}

uint32_t tcp_conflicts(const struct tcp_stream *s, int dir)
{
    return s->half[dir].conflicts;
}

void tcp_where(const struct tcp_reasm *r, const struct tcp_stream *s, int64_t *ts_us,
               struct ks_loc *loc)
{
    *ts_us = r->pkt ? r->pkt->ts_us : s->last_us;
    loc->source = r->source;
    loc->packet = r->pkt ? r->pkt->number : 0;
    loc->offset = r->pkt ? r->pkt->offset : 0;
}

void tcp_source(struct tcp_reasm *r, const char *name)
{
    r->source = name;
}

struct tcp_buf *tcp_buf_meta(struct tcp_reasm *r, uint32_t b)
{
    return &r->meta[b];
}

uint8_t *tcp_buf_data(struct tcp_reasm *r, uint32_t b)
{
    return r->data + (size_t)b * TCP_BUF;
}

static void mem_note(struct tcp_reasm *r)
{
    r->st.mem_used = (uint64_t)r->st.active * r->stride +
                     (uint64_t)r->bufs_used * (TCP_BUF + sizeof(struct tcp_buf));
    if (r->st.mem_used > r->st.mem_peak)
        r->st.mem_peak = r->st.mem_used;
}

int tcp_new(const struct tcp_config *cfg, struct tcp_reasm **rp)
{
    *rp = NULL;
    if (!cfg->ops.data || !cfg->ops.end || !cfg->ops.gap)
        return KS_EINVAL;
    struct tcp_reasm *r = calloc(1, sizeof *r);
    if (!r)
        return KS_ENOMEM;
    r->cfg = *cfg;
    if (!r->cfg.idle_s)
        r->cfg.idle_s = 300;
    if (!r->cfg.max_ooo)
        r->cfg.max_ooo = 1u << 20;
    if (!r->cfg.max_window)
        r->cfg.max_window = 64u << 20;
    if (r->cfg.max_window > (1u << 30))
        r->cfg.max_window = 1u << 30;
    if (!r->cfg.seed && getrandom(&r->cfg.seed, sizeof r->cfg.seed, 0) != sizeof r->cfg.seed)
        r->cfg.seed = (uint64_t)(uintptr_t)r ^ 0x9e3779b97f4a7c15ull;
    r->stride = (user_off() + cfg->user_size + 7) & ~(size_t)7;
    uint64_t budget = cfg->memory > cfg->reserve ? cfg->memory - cfg->reserve : 0;
    uint64_t ns = cfg->max_streams ? cfg->max_streams : cfg->memory / 2048;
    if (ns < 16)
        ns = 16;
    if (ns > (1u << 26))
        ns = 1u << 26;
    uint64_t nb = 16;
    while (nb < ns)
        nb <<= 1;
    uint64_t fixed = ns * r->stride + nb * sizeof(uint32_t) + sizeof *r;
    uint64_t per_buf = TCP_BUF + sizeof(struct tcp_buf);
    if (budget < fixed + 64 * per_buf) {
        free(r);
        return KS_EINVAL;
    }
    uint64_t nbufs = (budget - fixed) / per_buf;
    if (nbufs > UINT32_MAX - 1)
        nbufs = UINT32_MAX - 1;
    r->nstreams = (uint32_t)ns;
    r->mask = (uint32_t)nb - 1;
    r->nbufs = (uint32_t)nbufs;
    r->streams = calloc(ns, r->stride);
    r->buckets = malloc(nb * sizeof *r->buckets);
    r->meta = malloc(nbufs * sizeof *r->meta);
    r->data = malloc(nbufs * TCP_BUF);
    if (!r->streams || !r->buckets || !r->meta || !r->data) {
        tcp_free(r);
        return KS_ENOMEM;
    }
    memset(r->buckets, 0xff, nb * sizeof *r->buckets);
    for (uint32_t i = 0; i < r->nstreams; i++)
        S(r, i)->hnext = i + 1 < r->nstreams ? i + 1 : TCP_NIL;
    r->free_stream = 0;
    for (uint32_t i = 0; i < r->nbufs; i++)
        r->meta[i].next = i + 1 < r->nbufs ? i + 1 : TCP_NIL;
    r->free_buf = 0;
    r->lru_head = r->lru_tail = TCP_NIL;
    r->blru_head = r->blru_tail = TCP_NIL;
    r->st.mem_budget = fixed + nbufs * per_buf + cfg->reserve;
    *rp = r;
    return KS_OK;
}

void tcp_free(struct tcp_reasm *r)
{
    if (!r)
        return;
    free(r->streams);
    free(r->buckets);
    free(r->meta);
    free(r->data);
    free(r);
}

void tcp_stats(const struct tcp_reasm *r, struct ks_http_capture_stats *st)
{
    const struct ks_http_capture_stats *s = &r->st;
    st->packets = s->packets;
    st->bytes = s->bytes;
    st->streams = s->streams;
    st->active = s->active;
    st->closed = s->closed;
    st->expired = s->expired;
    st->evicted_full = s->evicted_full;
    st->evicted_mem = s->evicted_mem;
    st->reused = s->reused;
    st->midstream = s->midstream;
    st->retrans = s->retrans;
    st->ooo = s->ooo;
    st->overlaps = s->overlaps;
    st->conflicts = s->conflicts;
    st->gaps = s->gaps;
    st->gap_bytes = s->gap_bytes;
    st->dropped_bytes = s->dropped_bytes;
    st->out_of_window = s->out_of_window;
    st->mem_budget = s->mem_budget;
    st->mem_used = s->mem_used;
    st->mem_peak = s->mem_peak;
}

/* ---- LRU list ---- */

static void lru_unlink(struct tcp_reasm *r, struct tcp_stream *s)
{
    if (s->lprev != TCP_NIL)
        S(r, s->lprev)->lnext = s->lnext;
    else if (r->lru_head == SIDX(r, s))
        r->lru_head = s->lnext;
    if (s->lnext != TCP_NIL)
        S(r, s->lnext)->lprev = s->lprev;
    else if (r->lru_tail == SIDX(r, s))
        r->lru_tail = s->lprev;
    s->lprev = s->lnext = TCP_NIL;
}

static void lru_push(struct tcp_reasm *r, struct tcp_stream *s)
{
    uint32_t i = SIDX(r, s);
    s->lprev = TCP_NIL;
    s->lnext = r->lru_head;
    if (r->lru_head != TCP_NIL)
        S(r, r->lru_head)->lprev = i;
    r->lru_head = i;
    if (r->lru_tail == TCP_NIL)
        r->lru_tail = i;
}

static void blru_unlink(struct tcp_reasm *r, struct tcp_stream *s)
{
    if (s->bprev != TCP_NIL)
        S(r, s->bprev)->bnext = s->bnext;
    else
        r->blru_head = s->bnext;
    if (s->bnext != TCP_NIL)
        S(r, s->bnext)->bprev = s->bprev;
    else
        r->blru_tail = s->bprev;
    s->bprev = s->bnext = TCP_NIL;
}

static void blru_push(struct tcp_reasm *r, struct tcp_stream *s)
{
    uint32_t i = SIDX(r, s);
    s->bprev = TCP_NIL;
    s->bnext = r->blru_head;
    if (r->blru_head != TCP_NIL)
        S(r, r->blru_head)->bprev = i;
    r->blru_head = i;
    if (r->blru_tail == TCP_NIL)
        r->blru_tail = i;
}

/* ---- buffers ---- */

static void release(struct tcp_reasm *r, struct tcp_stream *s, enum tcp_end why);
static void pop_ooo(struct tcp_reasm *r, struct tcp_stream *s, int dir);

static uint32_t buf_take(struct tcp_reasm *r, struct tcp_stream *s)
{
    uint32_t b = r->free_buf;
    if (b == TCP_NIL)
        return TCP_NIL;
    r->free_buf = r->meta[b].next;
    r->meta[b] = (struct tcp_buf){TCP_NIL, 0, 0};
    r->bufs_used++;
    if (s->nbufs++ == 0)
        blru_push(r, s);
    mem_note(r);
    return b;
}

uint32_t tcp_buf_get(struct tcp_reasm *r, struct tcp_stream *s)
{
    uint32_t b = buf_take(r, s);
    while (b == TCP_NIL) {
        /* The pool is empty: evict the least recently active connection holding buffers. */
        uint32_t i = r->blru_tail;
        while (i != TCP_NIL && (S(r, i) == s || S(r, i) == r->cur))
            i = S(r, i)->bprev;
        if (i == TCP_NIL)
            return TCP_NIL;
        r->st.evicted_mem++;
        release(r, S(r, i), TCP_END_EVICTED);
        b = buf_take(r, s);
    }
    return b;
}

void tcp_buf_put(struct tcp_reasm *r, struct tcp_stream *s, uint32_t b)
{
    r->meta[b].next = r->free_buf;
    r->free_buf = b;
    r->bufs_used--;
    if (--s->nbufs == 0)
        blru_unlink(r, s);
    mem_note(r);
}

void tcp_ignore(struct tcp_reasm *r, struct tcp_stream *s, int dir)
{
    struct tcp_half *h = &s->half[dir];
    h->ignore = true;
    while (h->ooo != TCP_NIL)
        pop_ooo(r, s, dir);
    if (h->fin)
        h->done = true;
}

/* ---- delivery ---- */

static void conflict(struct tcp_reasm *r, struct tcp_stream *s, int dir)
{
    r->st.conflicts++;
    s->half[dir].conflicts++;
    if (r->cfg.diag) {
        struct ks_loc loc = {.source = r->source,
                             .packet = r->pkt ? r->pkt->number : 0,
                             .offset = r->pkt ? r->pkt->offset : 0};
        ks_diag_report(r->cfg.diag, &r->reported, "http", &loc, KS_EFORMAT,
                       "overlapping TCP segments with different bytes (%s); the first kept",
                       dir ? "server to client" : "client to server");
    }
}

static void pop_ooo(struct tcp_reasm *r, struct tcp_stream *s, int dir)
{
    struct tcp_half *h = &s->half[dir];
    uint32_t b = h->ooo;
    h->ooo = r->meta[b].next;
    h->ooo_bytes -= r->meta[b].len;
    tcp_buf_put(r, s, b);
}

static void emit(struct tcp_reasm *r, struct tcp_stream *s, int dir, const uint8_t *p, uint32_t n)
{
    s->half[dir].next += n;
    if (n)
        r->cfg.ops.data(r->cfg.user, s, dir, p, n);
}

/* Delivers the buffered pieces that now start at or before the next expected byte. */
static void drain(struct tcp_reasm *r, struct tcp_stream *s, int dir)
{
    struct tcp_half *h = &s->half[dir];
    while (h->ooo != TCP_NIL) {
        uint32_t b = h->ooo;
        int32_t off = (int32_t)(r->meta[b].seq - h->next);
        if (off > 0)
            break;
        uint32_t skip = (uint32_t) - (int64_t)off, len = r->meta[b].len;
        if (skip < len) {
            /* The consumer may take buffers: detach this one first so that it stays ours. */
            h->ooo = r->meta[b].next;
            h->ooo_bytes -= len;
            emit(r, s, dir, tcp_buf_data(r, b) + skip, len - skip);
            tcp_buf_put(r, s, b);
        } else
            pop_ooo(r, s, dir);
    }
    if (h->fin && !h->done && h->next == h->fin_seq) {
        h->done = true;
        while (h->ooo != TCP_NIL)
            pop_ooo(r, s, dir);
    }
}

/* The first hole of dir is given up: the bytes after it are delivered. */
static void give_up_hole(struct tcp_reasm *r, struct tcp_stream *s, int dir)
{
    struct tcp_half *h = &s->half[dir];
    if (h->ooo == TCP_NIL)
        return;
    uint32_t lost = r->meta[h->ooo].seq - h->next;
    r->st.gaps++;
    r->st.gap_bytes += lost;
    h->next = r->meta[h->ooo].seq;
    r->cfg.ops.gap(r->cfg.user, s, dir, lost);
    drain(r, s, dir);
}

/* Bytes at the next expected sequence number; buffered pieces they overlap were first and
 * win. */
static void in_order(struct tcp_reasm *r, struct tcp_stream *s, int dir, const uint8_t *p,
                     uint32_t n)
{
    struct tcp_half *h = &s->half[dir];
    while (n) {
        uint32_t b = h->ooo;
        if (b == TCP_NIL) {
            emit(r, s, dir, p, n);
            break;
        }
        int32_t off = (int32_t)(r->meta[b].seq - h->next);
        if (off > 0) {
            uint32_t take = n < (uint32_t)off ? n : (uint32_t)off;
            emit(r, s, dir, p, take);
            p += take;
            n -= take;
            continue;
        }
        /* a piece at (or before) the next byte: compare what overlaps, deliver the piece */
        uint32_t skip = (uint32_t) - (int64_t)off, len = r->meta[b].len;
        if (skip >= len) {
            pop_ooo(r, s, dir);
            continue;
        }
        uint32_t m = len - skip < n ? len - skip : n;
        r->st.overlaps++;
        if (memcmp(tcp_buf_data(r, b) + skip, p, m) != 0)
            conflict(r, s, dir);
        h->ooo = r->meta[b].next;
        h->ooo_bytes -= len;
        emit(r, s, dir, tcp_buf_data(r, b) + skip, len - skip);
        tcp_buf_put(r, s, b);
        p += m;
        n -= m;
    }
    drain(r, s, dir);
}

/* Bytes ahead of the next expected one: kept in order, overlaps keep the bytes already held. */
static void out_of_order(struct tcp_reasm *r, struct tcp_stream *s, int dir, uint32_t seq,
                         const uint8_t *p, uint32_t n)
{
    struct tcp_half *h = &s->half[dir];
    r->st.ooo++;
    uint32_t start = seq - h->next, end = start + n, base = start;
    uint32_t *link = &h->ooo;
    while (start < end) {
        uint32_t b = *link;
        uint32_t bs = b == TCP_NIL ? UINT32_MAX : r->meta[b].seq - h->next;
        uint32_t be = b == TCP_NIL ? UINT32_MAX : bs + r->meta[b].len;
        if (b != TCP_NIL && be <= start) {
            link = &r->meta[b].next;
            continue;
        }
        if (start < bs) {
            uint32_t lim = end < bs ? end : bs;
            while (start < lim) {
                if (h->ooo_bytes >= r->cfg.max_ooo) {
                    r->st.dropped_bytes += end - start;
                    return;
                }
                uint32_t nb = tcp_buf_get(r, s);
                if (nb == TCP_NIL) {
                    r->st.dropped_bytes += end - start;
                    return;
                }
                uint32_t k = lim - start < TCP_BUF ? lim - start : TCP_BUF;
                r->meta[nb].seq = h->next + start;
                r->meta[nb].len = k;
                memcpy(tcp_buf_data(r, nb), p + (start - base), k);
                r->meta[nb].next = *link;
                *link = nb;
                link = &r->meta[nb].next;
                h->ooo_bytes += k;
                start += k;
            }
            continue;
        }
        uint32_t oe = end < be ? end : be;
        r->st.overlaps++;
        if (memcmp(tcp_buf_data(r, b) + (start - bs), p + (start - base), oe - start) != 0)
            conflict(r, s, dir);
        start = oe;
        link = &r->meta[b].next;
    }
}

static void segment(struct tcp_reasm *r, struct tcp_stream *s, int dir, uint32_t seq,
                    const uint8_t *p, uint32_t n)
{
    struct tcp_half *h = &s->half[dir];
    if (h->ignore)
        return;
    if (h->done) {
        r->st.retrans++;
        return;
    }
    int32_t d = (int32_t)(seq - h->next);
    if (d < 0) {
        uint32_t behind = (uint32_t) - (int64_t)d;
        r->st.retrans++;
        if (behind >= n)
            return;
        p += behind;
        n -= behind;
        seq = h->next;
        d = 0;
    }
    if ((uint32_t)d >= r->cfg.max_window) {
        r->st.out_of_window++;
        return;
    }
    if (d == 0) {
        in_order(r, s, dir, p, n);
        return;
    }
    if (h->ooo_bytes + n > r->cfg.max_ooo) {
        give_up_hole(r, s, dir);
        if (h->done)
            return;
        d = (int32_t)(seq - h->next);
        if (d <= 0) {
            uint32_t behind = (uint32_t) - (int64_t)d;
            if (behind < n)
                in_order(r, s, dir, p + behind, n - behind);
            return;
        }
    }
    out_of_order(r, s, dir, seq, p, n);
}

/* ---- table ---- */

static uint32_t bucket_of(const struct tcp_reasm *r, const struct tcp_key *k)
{
    return (uint32_t)ks_hash_bytes(k, sizeof *k, r->cfg.seed) & r->mask;
}

static void unhash(struct tcp_reasm *r, struct tcp_stream *s)
{
    uint32_t i = SIDX(r, s);
    uint32_t *link = &r->buckets[bucket_of(r, &s->key)];
    while (*link != TCP_NIL && *link != i)
        link = &S(r, *link)->hnext;
    if (*link == i)
        *link = s->hnext;
}

/* Ends s: bytes still held are delivered past their holes (not when evicted, which must not
 * take buffers), the consumer is told, and the entry is freed. */
static void release(struct tcp_reasm *r, struct tcp_stream *s, enum tcp_end why)
{
    lru_unlink(r, s);
    unhash(r, s);
    for (int dir = 0; dir < 2; dir++) {
        struct tcp_half *h = &s->half[dir];
        if (why != TCP_END_EVICTED)
            while (h->ooo != TCP_NIL && !h->done)
                give_up_hole(r, s, dir);
        while (h->ooo != TCP_NIL) {
            r->st.gap_bytes += r->meta[h->ooo].len;
            pop_ooo(r, s, dir);
        }
    }
    r->cfg.ops.end(r->cfg.user, s, why);
    if (s->nbufs) { /* the consumer kept buffers (a bug): take the entry off the list */
        blru_unlink(r, s);
        s->nbufs = 0;
    }
    s->used = false;
    s->hnext = r->free_stream;
    r->free_stream = SIDX(r, s);
    r->st.active--;
    mem_note(r);
}

static void make_key(const struct ks_pkt *p, struct tcp_key *k, int *src_end)
{
    memset(k, 0, sizeof *k);
    int c = memcmp(p->src.b, p->dst.b, 16);
    bool src_first = c < 0 || (c == 0 && p->sport <= p->dport);
    const uint8_t *fa = src_first ? p->src.b : p->dst.b, *fb = src_first ? p->dst.b : p->src.b;
    memcpy(k->a, fa, 16);
    memcpy(k->b, fb, 16);
    k->pa = src_first ? p->sport : p->dport;
    k->pb = src_first ? p->dport : p->sport;
    k->fam = p->src.family;
    *src_end = src_first ? 0 : 1;
}

static struct tcp_stream *lookup(struct tcp_reasm *r, const struct tcp_key *k)
{
    for (uint32_t i = r->buckets[bucket_of(r, k)]; i != TCP_NIL; i = S(r, i)->hnext)
        if (memcmp(&S(r, i)->key, k, sizeof *k) == 0)
            return S(r, i);
    return NULL;
}

static struct tcp_stream *create(struct tcp_reasm *r, const struct tcp_key *k, int src_end,
                                 const struct ks_pkt *p)
{
    if (r->free_stream == TCP_NIL) {
        uint32_t victim = r->lru_tail;
        while (victim != TCP_NIL && S(r, victim) == r->cur)
            victim = S(r, victim)->lprev;
        if (victim == TCP_NIL)
            return NULL;
        r->st.evicted_full++;
        release(r, S(r, victim), TCP_END_EVICTED);
    }
    uint32_t i = r->free_stream;
    struct tcp_stream *s = S(r, i);
    r->free_stream = s->hnext;
    memset(s, 0, r->stride);
    s->key = *k;
    s->used = true;
    s->half[0].ooo = s->half[1].ooo = TCP_NIL;
    s->bprev = s->bnext = TCP_NIL;
    s->half[0].ignore = !(r->cfg.dirs & 1);
    s->half[1].ignore = !(r->cfg.dirs & 2);
    uint8_t f = p->tcp_flags;
    int client_end;
    if ((f & (KS_TCP_SYN | KS_TCP_ACK)) == KS_TCP_SYN)
        client_end = src_end;
    else if (f & KS_TCP_SYN)
        client_end = !src_end;
    else {
        /* Picked up without the handshake: the server is the side with the lower port. */
        s->conn.midstream = true;
        r->st.midstream++;
        client_end = p->sport > p->dport ? src_end : p->sport < p->dport ? !src_end : src_end;
    }
    s->client = (uint8_t)client_end;
    const struct ks_pkt *q = p;
    bool src_is_client = client_end == src_end;
    s->conn.client = src_is_client ? q->src : q->dst;
    s->conn.server = src_is_client ? q->dst : q->src;
    s->conn.client_port = src_is_client ? q->sport : q->dport;
    s->conn.server_port = src_is_client ? q->dport : q->sport;
    s->conn.id = ++r->next_id;
    uint32_t bk = bucket_of(r, k);
    s->hnext = r->buckets[bk];
    r->buckets[bk] = i;
    lru_push(r, s);
    r->st.streams++;
    r->st.active++;
    mem_note(r);
    return s;
}

static void expire(struct tcp_reasm *r, int64_t now_us)
{
    int64_t limit = now_us - (int64_t)r->cfg.idle_s * 1000000;
    while (r->lru_tail != TCP_NIL && S(r, r->lru_tail)->last_us < limit &&
           S(r, r->lru_tail) != r->cur) {
        r->st.expired++;
        release(r, S(r, r->lru_tail), TCP_END_EXPIRED);
    }
}

void tcp_tick(struct tcp_reasm *r, int64_t now_us)
{
    expire(r, now_us);
}

void tcp_flush(struct tcp_reasm *r)
{
    while (r->lru_tail != TCP_NIL)
        release(r, S(r, r->lru_tail), TCP_END_FLUSH);
}

int tcp_feed(struct tcp_reasm *r, const struct ks_pkt *p)
{
    if (p->proto != 6 || !(p->flags & KS_PKT_L4) || p->src.family != p->dst.family)
        return KS_OK;
    r->st.packets++;
    r->st.bytes += p->payload_len;
    expire(r, p->ts_us);
    struct tcp_key k;
    int src_end;
    make_key(p, &k, &src_end);
    uint8_t f = p->tcp_flags;
    uint32_t seq = p->tcp_seq;
    struct tcp_stream *s = lookup(r, &k);
    if (s && (f & (KS_TCP_SYN | KS_TCP_ACK)) == KS_TCP_SYN) {
        int dir = s->client == src_end ? 0 : 1;
        struct tcp_half *h = &s->half[dir];
        if (dir == 1 || (h->syn && h->isn != seq) || (!h->syn && h->known)) {
            /* A new connection on the same endpoints (RFC 9293 3.4.1, TIME-WAIT reuse). */
            r->st.reused++;
            release(r, s, TCP_END_CLOSED);
            s = NULL;
        }
    }
    if (!s) {
        if ((f & KS_TCP_RST) || (!(f & KS_TCP_SYN) && !p->payload_len))
            return KS_OK; /* no connection for a bare ACK, FIN or RST */
        s = create(r, &k, src_end, p);
        if (!s)
            return KS_ELIMIT;
    }
    r->cur = s;
    r->pkt = p;
    s->last_us = p->ts_us;
    lru_unlink(r, s);
    lru_push(r, s);
    if (s->nbufs) {
        blru_unlink(r, s);
        blru_push(r, s);
    }
    int dir = s->client == src_end ? 0 : 1;
    struct tcp_half *h = &s->half[dir];
    if (f & KS_TCP_SYN) {
        if (!h->syn) {
            /* A direction already followed (picked up, or from the peer's ACK) keeps its
             * position: its buffered bytes are placed relative to it. */
            if (!h->known)
                h->next = seq + 1;
            h->syn = h->known = true;
            h->isn = seq;
        }
        seq++;
    } else if (!h->known) {
        h->known = true;
        h->next = seq;
    }
    if ((f & KS_TCP_ACK) && !s->half[!dir].known) {
        s->half[!dir].known = true;
        s->half[!dir].next = p->tcp_ack;
    }
    if (p->payload_len)
        segment(r, s, dir, seq, p->payload, p->payload_len);
    if ((f & KS_TCP_FIN) && !h->fin) {
        h->fin = true;
        h->fin_seq = seq + p->payload_len;
        if (h->ignore)
            h->done = true;
        drain(r, s, dir);
    }
    if (f & KS_TCP_RST) {
        r->st.closed++;
        r->cur = NULL;
        release(r, s, TCP_END_CLOSED);
    } else if (s->half[0].done && s->half[1].done) {
        r->st.closed++;
        r->cur = NULL;
        release(r, s, TCP_END_CLOSED);
    }
    r->cur = NULL;
    r->pkt = NULL;
    return KS_OK;
}
