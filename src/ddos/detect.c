/* One shard of the detector: the targets whose hash falls to it, their per-second counters,
 * the trackers of those near or in an attack, and the judgement of finished attacks. Runs in
 * one thread; nothing here takes a lock or allocates per packet. */
#include "ddos_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define USEC 1000000

static int64_t sec_of(int64_t t_us)
{
    return t_us >= 0 ? t_us / USEC : -((-t_us + USEC - 1) / USEC);
}

static const struct thr *thr_of(const struct shard *sh, uint16_t rule)
{
    const struct ks_ddos *d = sh->d;
    return &d->thr[rule < d->nthr ? rule : 0];
}

/* The threshold index a vector is held to (T_N: none of its own). */
static unsigned vec_thr(unsigned v)
{
    switch (v) {
    case KS_VEC_UDP_FLOOD:
        return T_UDP;
    case KS_VEC_ICMP_FLOOD:
        return T_ICMP;
    case KS_VEC_FRAGMENT_FLOOD:
        return T_FRAG;
    case KS_VEC_SYN_FLOOD:
        return T_SYN;
    case KS_VEC_SYNACK_REFLECTION:
        return T_SYNACK;
    case KS_VEC_CONNECTION_FLOOD:
        return T_CONN;
    case KS_VEC_HTTP_GET_FLOOD:
        return T_HTTP;
    case KS_VEC_TCP_FLOOD:
    case KS_VEC_OTHER_FLOOD:
        return T_N;
    default:
        return T_AMP;
    }
}

/* --- top-k (space-saving, Metwally et al. 2005) -------------------------------------------- */

#define TOPK_EXACT 16384
#define TOPK_SAMPLE 4

static void topk_add(struct topk *k, uint64_t key, const struct ks_addr *addr, uint64_t w)
{
    unsigned min = 0;
    for (unsigned i = 0; i < k->n; i++) {
        if (k->key[i] == key) {
            k->cnt[i] += w;
            return;
        }
        if (k->cnt[i] < k->cnt[min])
            min = i;
    }
    if (k->n < TOPK) {
        min = k->n++;
        k->cnt[min] = 0;
    }
    k->key[min] = key;
    k->cnt[min] += w; /* the newcomer inherits the evicted count: an upper bound */
    if (addr)
        k->addr[min] = *addr;
}

/* Sorted copy of the top n (by count, then key for a stable order). */
static unsigned topk_sorted(const struct topk *k, unsigned *idx)
{
    unsigned n = k->n;
    for (unsigned i = 0; i < n; i++)
        idx[i] = i;
    for (unsigned i = 1; i < n; i++) {
        unsigned x = idx[i], j = i;
        while (j > 0 && (k->cnt[idx[j - 1]] < k->cnt[x] ||
                         (k->cnt[idx[j - 1]] == k->cnt[x] && k->key[idx[j - 1]] > k->key[x]))) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = x;
    }
    return n;
}

/* --- trackers ------------------------------------------------------------------------------ */

static void tracker_reset(struct shard *sh, struct tracker *tr)
{
    uint8_t *regs = tr->regs, *ports = tr->ports;
    struct ks_ddos_tl *tl = tr->tl;
    memset(regs, 0, ks_hll_regs_size(SRC_HLL_P) + ks_hll_regs_size(DST_HLL_P));
    if (tr->nports || tr->l4_pkts)
        memset(ports, 0, 8192);
    memset(tr, 0, sizeof *tr);
    tr->regs = regs;
    tr->ports = ports;
    tr->tl = tl;
    tr->tl_step = 1;
    ks_hll_init_buf(&tr->src_hll, SRC_HLL_P, regs, ks_hll_regs_size(SRC_HLL_P));
    ks_hll_init_buf(&tr->dst_hll, DST_HLL_P, regs + ks_hll_regs_size(SRC_HLL_P),
                    ks_hll_regs_size(DST_HLL_P));
    (void)sh;
}

static struct tracker *tracker_get(struct shard *sh, const struct tkey *key, uint16_t rule,
                                   uint32_t *slot)
{
    if (sh->nfree == 0) {
        sh->st.tracker_full++;
        return NULL;
    }
    uint32_t i = sh->free_list[--sh->nfree];
    struct tracker *tr = &sh->trk[i];
    tr->key = *key;
    tr->state = TRK_CAND;
    tr->rule = rule;
    tr->sec = INT64_MIN;
    tr->last_over_sec = INT64_MIN;
    tr->active_idx = sh->nactive;
    sh->active[sh->nactive++] = i;
    *slot = i + 1;
    return tr;
}

static void tracker_release(struct shard *sh, struct tracker *tr)
{
    uint32_t i = (uint32_t)(tr - sh->trk);
    uint32_t pos = tr->active_idx;
    uint32_t last = sh->active[--sh->nactive];
    sh->active[pos] = last;
    sh->trk[last].active_idx = pos;
    tracker_reset(sh, tr);
    sh->free_list[sh->nfree++] = i;
}

static void tl_append(struct shard *sh, struct tracker *tr, int64_t sec, uint64_t pkts,
                      uint64_t bytes, uint32_t vectors, uint8_t main)
{
    uint32_t max = sh->d->cfg.timeline_max;
    if (tr->tl_len > 0) {
        struct ks_ddos_tl *last = &tr->tl[tr->tl_len - 1];
        if (last->seconds < tr->tl_step && sec * USEC < last->t_us + (int64_t)tr->tl_step * USEC) {
            last->packets += pkts;
            last->bytes += bytes;
            last->vectors |= vectors;
            last->seconds++;
            if (pkts > 0 && (last->main_vector == KS_VEC_COUNT || pkts * 2 > last->packets))
                last->main_vector = main;
            return;
        }
    }
    if (tr->tl_len == max) {
        /* Full: halve the resolution, pairing neighbours. */
        uint32_t j = 0;
        for (uint32_t i = 0; i < tr->tl_len; i += 2, j++) {
            struct ks_ddos_tl m = tr->tl[i];
            if (i + 1 < tr->tl_len) {
                const struct ks_ddos_tl *b = &tr->tl[i + 1];
                if (b->packets > m.packets)
                    m.main_vector = b->main_vector;
                m.packets += b->packets;
                m.bytes += b->bytes;
                m.vectors |= b->vectors;
                m.seconds += b->seconds;
            }
            tr->tl[j] = m;
        }
        tr->tl_len = j;
        tr->tl_step *= 2;
    }
    tr->tl[tr->tl_len++] = (struct ks_ddos_tl){
        .t_us = sec * USEC,
        .packets = pkts,
        .bytes = bytes,
        .vectors = vectors,
        .seconds = 1,
        .main_vector = main,
    };
}

/* Closes the tracker's current second: vectors in force, peaks, totals, timeline. */
static void tracker_close_second(struct shard *sh, struct tracker *tr, bool over)
{
    if (tr->sec == INT64_MIN)
        return;
    const struct thr *th = thr_of(sh, tr->rule);
    double share = sh->d->cfg.vector_share;
    uint32_t vecs = 0;
    uint8_t main = KS_VEC_COUNT;
    uint32_t best = 0;
    for (unsigned v = 0; v < KS_VEC_COUNT; v++) {
        uint32_t n = tr->s_vc[v];
        if (n == 0)
            continue;
        unsigned ti = vec_thr(v);
        if ((ti < T_N && th->v[ti] && n >= th->v[ti]) ||
            (over && (double)n >= share * (double)tr->s_pkts))
            vecs |= 1u << v;
        if (n > best) {
            best = n;
            main = (uint8_t)v;
        }
    }
    if (over) {
        if (vecs == 0 && main < KS_VEC_COUNT)
            vecs = 1u << main;
        tr->vectors |= vecs;
        tr->packets += tr->pend_pkts + tr->s_pkts;
        tr->bytes += tr->pend_bytes + tr->s_bytes;
        tr->pend_pkts = tr->pend_bytes = 0;
        for (unsigned v = 0; v < KS_VEC_COUNT; v++)
            tr->vec_pkts[v] += tr->s_vc[v];
        if (tr->s_pkts > tr->peak_pps)
            tr->peak_pps = tr->s_pkts;
        if (tr->s_bytes * 8 > tr->peak_bps)
            tr->peak_bps = tr->s_bytes * 8;
        tr->last_over_sec = tr->sec;
        tr->last_over_us = tr->s_last_us;
        if (tr->first_us == 0)
            tr->first_us = tr->s_first_us;
    } else {
        tr->pend_pkts += tr->s_pkts;
        tr->pend_bytes += tr->s_bytes;
    }
    if (tr->state == TRK_ATTACK || over)
        tl_append(sh, tr, tr->sec, tr->s_pkts, tr->s_bytes, over ? vecs : 0, main);
    tr->s_pkts = tr->s_bytes = 0;
    memset(tr->s_vc, 0, sizeof tr->s_vc);
    tr->sec = INT64_MIN;
}

static bool is_scan(const struct shard *sh, const struct tracker *tr, double sources)
{
    const struct ks_ddos_config *cfg = &sh->d->cfg;
    if (sources > (double)cfg->scan_max_sources || tr->seen_pkts == 0)
        return false;
    /* Fragment floods carry no ports in most packets: never a scan. */
    if (tr->frag_pkts * 2 >= tr->seen_pkts)
        return false;
    if (tr->nports >= cfg->scan_min_spread &&
        (double)tr->l4_pkts <= cfg->scan_max_per_item * (double)tr->nports)
        return true; /* vertical: many ports of one host */
    double dsts = ks_hll_estimate(&tr->dst_hll);
    if (tr->key.plen < (tr->key.family == 4 ? 32 : 128) && dsts >= cfg->scan_min_spread &&
        (double)tr->seen_pkts <= cfg->scan_max_per_item * dsts)
        return true; /* horizontal: many hosts of a carpet prefix */
    return false;
}

static void fill_ports(struct ks_ddos_top_port *out, unsigned *n, const struct topk *k)
{
    unsigned idx[TOPK];
    unsigned m = topk_sorted(k, idx);
    *n = 0;
    for (unsigned i = 0; i < m && *n < KS_DDOS_TOP; i++) {
        out[*n].proto = (uint8_t)(k->key[idx[i]] >> 16);
        out[*n].port = (uint16_t)k->key[idx[i]];
        out[*n].packets = k->cnt[idx[i]];
        (*n)++;
    }
}

/* Ends an attack (or drops a candidate) and frees the tracker. */
static void tracker_end(struct shard *sh, struct tracker *tr, bool open)
{
    if (tr->state != TRK_ATTACK) {
        sh->st.candidates++;
        tracker_release(sh, tr);
        return;
    }
    /* Seconds after the last over one are not part of the attack. */
    while (tr->tl_len > 0 && tr->tl[tr->tl_len - 1].t_us > tr->last_over_sec * USEC)
        tr->tl_len--;
    double sources = ks_hll_estimate(&tr->src_hll);
    if (sources < 1 && tr->seen_pkts)
        sources = 1;
    if (is_scan(sh, tr, sources)) {
        sh->st.scans++;
        tracker_release(sh, tr);
        return;
    }
    struct ks_ddos_attack a;
    memset(&a, 0, sizeof a);
    a.target.addr.family = tr->key.family;
    memcpy(a.target.addr.b, tr->key.b, 16);
    a.target.len = tr->key.plen;
    a.start_us = tr->first_us;
    a.end_us = tr->last_over_us;
    a.vectors = tr->vectors;
    a.peak_pps = tr->peak_pps;
    a.peak_bps = tr->peak_bps;
    a.packets = tr->packets;
    a.bytes = tr->bytes;
    a.open = open;
    uint64_t best = 0;
    a.main_vector = KS_VEC_COUNT;
    bool bw = false, srv = false;
    for (unsigned v = 0; v < KS_VEC_COUNT; v++) {
        if (tr->vec_pkts[v] > best && (tr->vectors >> v & 1u)) {
            best = tr->vec_pkts[v];
            a.main_vector = (uint8_t)v;
        }
        if (tr->vectors >> v & 1u) {
            if (ddos_vector_is_bandwidth(v))
                bw = true;
            else
                srv = true;
        }
    }
    a.cls = bw && srv ? KS_DDOS_COMPOSITE : srv ? KS_DDOS_SERVER : KS_DDOS_BANDWIDTH;
    unsigned idx[TOPK];
    unsigned m = topk_sorted(&tr->src, idx);
    uint64_t top1 = 0, top10 = 0;
    for (unsigned i = 0; i < m && a.n_top_sources < KS_DDOS_TOP; i++) {
        a.top_sources[a.n_top_sources].addr = tr->src.addr[idx[i]];
        a.top_sources[a.n_top_sources].packets = tr->src.cnt[idx[i]];
        if (i == 0)
            top1 = tr->src.cnt[idx[i]];
        top10 += tr->src.cnt[idx[i]];
        a.n_top_sources++;
    }
    fill_ports(a.top_ports, &a.n_top_ports, &tr->dport);
    fill_ports(a.top_src_ports, &a.n_top_src_ports, &tr->sport);
    a.dst_ports = tr->nports;
    a.dst_addrs = ks_hll_estimate(&tr->dst_hll);
    /* Dispersion, over every packet the tracker saw (space-saving counts are upper bounds). */
    double seen = tr->seen_pkts ? (double)tr->seen_pkts : 1;
    struct ks_ddos_dispersion *dp = &a.dispersion;
    dp->sources = sources;
    dp->packets_per_source = seen / sources;
    dp->top1_share = (double)top1 / seen > 1 ? 1 : (double)top1 / seen;
    dp->top10_share = (double)top10 / seen > 1 ? 1 : (double)top10 / seen;
    uint32_t reflect = 1u << KS_VEC_SYNACK_REFLECTION;
    for (unsigned v = KS_VEC_AMP_DNS; v < KS_VEC_COUNT; v++)
        reflect |= 1u << v;
    uint64_t refl_pkts = 0;
    for (unsigned v = 0; v < KS_VEC_COUNT; v++)
        if (reflect >> v & 1u)
            refl_pkts += tr->vec_pkts[v];
    if (sources <= 16 || dp->top10_share >= 0.9)
        dp->judgement = KS_DISP_FEW;
    else if ((tr->vectors & reflect) && refl_pkts * 2 >= tr->packets)
        dp->judgement = KS_DISP_REFLECTORS;
    else if (dp->packets_per_source < 3)
        dp->judgement = KS_DISP_SPOOFED;
    else
        dp->judgement = KS_DISP_BOTNET;
    a.timeline = tr->tl;
    a.timeline_len = tr->tl_len;
    sh->st.attacks++;
    ddos_deliver(sh, &a);
    tracker_release(sh, tr);
}

/* A new tracker takes over the counts of the target's second so far (including e). */
static void tracker_seed(struct tracker *tr, const struct tstate *ts, const struct ev *e)
{
    tr->sec = ts->sec;
    tr->s_first_us = ts->sec * USEC + ts->first_off;
    tr->s_last_us = e->ts_us;
    tr->s_pkts = ts->pkts;
    tr->s_bytes = ts->bytes;
    static const uint8_t map[C_N] = {
        [C_SYN] = KS_VEC_SYN_FLOOD,         [C_SYNACK] = KS_VEC_SYNACK_REFLECTION,
        [C_UDP] = KS_VEC_UDP_FLOOD,         [C_AMP] = KS_VEC_COUNT,
        [C_ICMP] = KS_VEC_ICMP_FLOOD,       [C_FRAG] = KS_VEC_FRAGMENT_FLOOD,
        [C_CONN] = KS_VEC_CONNECTION_FLOOD, [C_HTTP] = KS_VEC_HTTP_GET_FLOOD,
    };
    uint32_t known = 0;
    for (unsigned i = 0; i < C_N; i++) {
        unsigned v = map[i];
        if (i == C_AMP)
            v = e->amp ? e->amp : KS_VEC_COUNT; /* earlier amplifier ports: taken as this one */
        if (v < KS_VEC_COUNT)
            tr->s_vc[v] = ts->c[i];
        if (i != C_CONN && i != C_HTTP && i != C_FRAG)
            known += ts->c[i];
    }
    /* The rest of the TCP/other packets so far: attributed by this packet's kind. */
    if (ts->pkts > known && e->kind == EV_PKT && !(e->fl & EVF_FRAG_LATER)) {
        if (e->proto == 6 && !(e->tcp_flags & KS_TCP_SYN))
            tr->s_vc[KS_VEC_TCP_FLOOD] = ts->pkts - known;
        else if (e->proto != 6 && e->proto != 17 && e->proto != 1 && e->proto != 58)
            tr->s_vc[KS_VEC_OTHER_FLOOD] = ts->pkts - known;
    }
}

/* The per-second counters of one packet. */
static void tracker_count(struct tracker *tr, const struct ev *e, int64_t sec)
{
    if (tr->sec != sec) {
        if (tr->sec != INT64_MIN && sec < tr->sec)
            sec = tr->sec; /* a late packet: count it in the second being counted */
        else
            tr->s_first_us = e->ts_us;
        tr->sec = sec;
    }
    if (e->kind == EV_CONN) {
        tr->s_vc[KS_VEC_CONNECTION_FLOOD] += e->weight;
        return;
    }
    uint64_t w = e->weight;
    tr->s_pkts += w;
    tr->s_bytes += (uint64_t)e->wire_len * w;
    tr->s_last_us = e->ts_us;
    if (e->fl & EVF_FRAG)
        tr->s_vc[KS_VEC_FRAGMENT_FLOOD] += (uint32_t)w;
    if (!(e->fl & EVF_FRAG_LATER)) {
        switch (e->proto) {
        case 6:
            if ((e->tcp_flags & (KS_TCP_SYN | KS_TCP_ACK)) == KS_TCP_SYN)
                tr->s_vc[KS_VEC_SYN_FLOOD] += (uint32_t)w;
            else if ((e->tcp_flags & (KS_TCP_SYN | KS_TCP_ACK)) == (KS_TCP_SYN | KS_TCP_ACK))
                tr->s_vc[KS_VEC_SYNACK_REFLECTION] += (uint32_t)w;
            else
                tr->s_vc[KS_VEC_TCP_FLOOD] += (uint32_t)w;
            if (e->fl & EVF_HTTP)
                tr->s_vc[KS_VEC_HTTP_GET_FLOOD] += (uint32_t)w;
            break;
        case 17:
            tr->s_vc[e->amp ? e->amp : KS_VEC_UDP_FLOOD] += (uint32_t)w;
            break;
        case 1:
        case 58:
            tr->s_vc[KS_VEC_ICMP_FLOOD] += (uint32_t)w;
            break;
        default:
            tr->s_vc[KS_VEC_OTHER_FLOOD] += (uint32_t)w;
        }
    }
}

/* Who and where: sources, destination ports and addresses. */
static void tracker_detail(struct tracker *tr, const struct ev *e)
{
    if (e->kind == EV_CONN)
        return;
    uint64_t w = e->weight;
    tr->seen_pkts += w;
    if (e->fl & EVF_FRAG)
        tr->frag_pkts += w;
    uint64_t h = ks_addr_hash(&e->src, 0x6b616e736f6b75ULL);
    ks_hll_add_hash(&tr->src_hll, h);
    /* Past the first TOPK_EXACT packets the top-k tables see one packet in TOPK_SAMPLE, with
     * that weight: heavy hitters stay, the cost of a spoofed flood drops. */
    bool top = tr->seen_pkts <= TOPK_EXACT || (tr->seen_pkts % TOPK_SAMPLE) == 0;
    uint64_t tw = tr->seen_pkts <= TOPK_EXACT ? w : w * TOPK_SAMPLE;
    if (top)
        topk_add(&tr->src, h, &e->src, tw);
    if (e->key.plen < (e->key.family == 4 ? 32 : 128))
        ks_hll_add_hash(&tr->dst_hll, ks_hash_u64(e->dst_hash, 0x64737473ULL));
    if (e->fl & EVF_L4) {
        tr->l4_pkts += w;
        uint8_t *byte = &tr->ports[e->dport >> 3];
        uint8_t bit = (uint8_t)(1u << (e->dport & 7));
        if (!(*byte & bit)) {
            *byte |= bit;
            tr->nports++;
        }
        if (top) {
            topk_add(&tr->dport, (uint64_t)e->proto << 16 | e->dport, NULL, tw);
            topk_add(&tr->sport, (uint64_t)e->proto << 16 | e->sport, NULL, tw);
        }
    }
}

/* --- targets ------------------------------------------------------------------------------- */

static void on_evict(void *user, const void *key, void *value)
{
    struct shard *sh = user;
    struct tstate *ts = value;
    (void)key;
    sh->st.targets_evicted++;
    if (ts->trk) {
        struct tracker *tr = &sh->trk[ts->trk - 1];
        tracker_close_second(sh, tr, ts->over);
        tracker_end(sh, tr, true);
        ts->trk = 0;
    }
}

/* The learnt thresholds for the next second (RFC-free: mean + k sigma over an EWMA). */
static void adaptive_update(struct shard *sh, struct tstate *ts, bool over, int64_t gap)
{
    const struct ks_ddos_config *cfg = &sh->d->cfg;
    double a = cfg->adaptive_alpha;
    if (gap > 0) { /* quiet seconds: samples of 0 */
        double keep = pow(1 - a, (double)(gap > 100000 ? 100000 : gap));
        ts->mean = (float)(ts->mean * keep);
        ts->var = (float)(ts->var * keep);
        ts->bmean = (float)(ts->bmean * keep);
        ts->bvar = (float)(ts->bvar * keep);
    }
    if (!over) { /* an attack must not teach the baseline */
        double x = ts->pkts, d = x - ts->mean;
        ts->mean = (float)(ts->mean + a * d);
        ts->var = (float)((1 - a) * (ts->var + a * d * d));
        double bx = (double)ts->bytes * 8, bd = bx - ts->bmean;
        ts->bmean = (float)(ts->bmean + a * bd);
        ts->bvar = (float)((1 - a) * (ts->bvar + a * bd * bd));
    }
    uint32_t seen = ts->seen + 1 + (uint32_t)(gap > 65535 ? 65535 : gap);
    ts->seen = (uint16_t)(seen > 65535 ? 65535 : seen);
    if (ts->seen < cfg->adaptive_warmup_s) {
        ts->athr = ts->athr_kbps = 0;
        return;
    }
    double t = ts->mean + cfg->adaptive_k * sqrt(ts->var);
    double floor_pps = (double)cfg->adaptive_min_pps;
    ts->athr = (uint32_t)fmin(fmax(t, floor_pps), 4e9);
    double bt = ts->bmean + cfg->adaptive_k * sqrt(ts->bvar);
    ts->athr_kbps = (uint32_t)fmin(fmax(bt, floor_pps * 1000) / 1000, 4e9);
}

/* Closes a target's second; new_sec is the second that starts. */
static void close_second(struct shard *sh, struct tstate *ts, int64_t new_sec)
{
    bool over = ts->over;
    int64_t gap = new_sec - ts->sec - 1;
    if (gap < 0)
        gap = 0;
    if (sh->d->cfg.adaptive)
        adaptive_update(sh, ts, over, gap);
    ts->run = over && gap == 0 ? (uint16_t)(ts->run < 65535 ? ts->run + 1 : 65535) : 0;
    if (ts->trk) {
        struct tracker *tr = &sh->trk[ts->trk - 1];
        tracker_close_second(sh, tr, over);
        if (tr->state == TRK_CAND) {
            if (!over || gap > 0) {
                tracker_end(sh, tr, false);
                ts->trk = 0;
            }
        } else if (new_sec - 1 - tr->last_over_sec >= (int64_t)sh->d->cfg.end_after_s) {
            tracker_end(sh, tr, false);
            ts->trk = 0;
        } else {
            /* Quiet seconds inside an attack are part of its timeline. */
            for (int64_t s = ts->sec + 1; s < new_sec; s++)
                tl_append(sh, tr, s, 0, 0, 0, KS_VEC_COUNT);
        }
    }
    ts->sec = new_sec;
    ts->pkts = 0;
    ts->bytes = 0;
    memset(ts->c, 0, sizeof ts->c);
    ts->over = 0;
}

static bool over_now(const struct shard *sh, const struct tstate *ts)
{
    const struct thr *th = thr_of(sh, ts->rule);
    if (th->v[T_PPS] && ts->pkts >= th->v[T_PPS])
        return true;
    if (th->v[T_BPS] && ts->bytes * 8 >= th->v[T_BPS])
        return true;
    for (unsigned i = 0; i < C_N; i++)
        if (th->v[T_SYN + i] && ts->c[i] >= th->v[T_SYN + i])
            return true;
    if (ts->athr && (ts->pkts >= ts->athr || ts->bytes / 125 >= ts->athr_kbps))
        return true;
    return false;
}

/* Close to a threshold: time to follow the target in detail (1/8 of any threshold). */
static bool near_now(const struct shard *sh, const struct tstate *ts)
{
    const struct thr *th = thr_of(sh, ts->rule);
    if (th->v[T_PPS] && (uint64_t)ts->pkts * 8 >= th->v[T_PPS])
        return true;
    if (th->v[T_BPS] && ts->bytes * 64 >= th->v[T_BPS])
        return true;
    for (unsigned i = 0; i < C_N; i++)
        if (th->v[T_SYN + i] && (uint64_t)ts->c[i] * 8 >= th->v[T_SYN + i])
            return true;
    if (ts->athr && (uint64_t)ts->pkts * 2 >= ts->athr)
        return true;
    return false;
}

static uint16_t rule_of(const struct shard *sh, const struct tkey *k)
{
    const struct ks_ddos_rules *r = sh->d->rules;
    if (!r || !r->set)
        return 0;
    struct ks_addr a = {.family = k->family};
    memcpy(a.b, k->b, 16);
    uint32_t v;
    if (ks_prefix_set_lookup(r->set, &a, &v, NULL))
        return (uint16_t)v;
    return 0;
}

static void advance(struct shard *sh, int64_t sec);

/* One event; hash is ks_table_hash() of its key. */
static void shard_event(struct shard *sh, const struct ev *e, uint32_t hash)
{
    int64_t sec = sec_of(e->ts_us);
    if (sec > sh->now_sec || !sh->started) {
        if (sh->started)
            advance(sh, sec);
        sh->now_sec = sec;
        sh->started = true;
    }
    bool is_new = false;
    struct tstate *ts = ks_table_upsert_hashed(sh->t, &e->key, hash, (uint32_t)sec, &is_new);
    if (!ts)
        return;
    if (is_new) {
        ts->sec = sec;
        ts->rule = e->rule ? e->rule : rule_of(sh, &e->key);
    } else if (sec > ts->sec) {
        close_second(sh, ts, sec);
    } else if (sec < ts->sec) {
        sh->st.late_packets++;
    }
    if (ts->pkts == 0 && e->kind == EV_PKT && sec == ts->sec)
        ts->first_off = (uint32_t)(e->ts_us - sec * USEC);
    uint32_t w = e->weight;
    if (e->kind == EV_CONN) {
        ts->c[C_CONN] += w;
    } else {
        ts->pkts += w;
        ts->bytes += (uint64_t)e->wire_len * w;
        if (e->fl & EVF_FRAG)
            ts->c[C_FRAG] += w;
        if (!(e->fl & EVF_FRAG_LATER)) {
            if (e->proto == 6) {
                unsigned sa = e->tcp_flags & (KS_TCP_SYN | KS_TCP_ACK);
                if (sa == KS_TCP_SYN)
                    ts->c[C_SYN] += w;
                else if (sa == (KS_TCP_SYN | KS_TCP_ACK))
                    ts->c[C_SYNACK] += w;
                if (e->fl & EVF_HTTP)
                    ts->c[C_HTTP] += w;
            } else if (e->proto == 17) {
                ts->c[e->amp ? C_AMP : C_UDP] += w;
            } else if (e->proto == 1 || e->proto == 58) {
                ts->c[C_ICMP] += w;
            }
        }
    }
    struct tracker *tr = ts->trk ? &sh->trk[ts->trk - 1] : NULL;
    if (tr) {
        tracker_count(tr, e, ts->sec);
        tracker_detail(tr, e);
    } else if (near_now(sh, ts)) {
        tr = tracker_get(sh, &e->key, ts->rule, &ts->trk);
        if (tr) {
            tracker_seed(tr, ts, e);
            tracker_detail(tr, e);
        }
    }
    if (!ts->over && over_now(sh, ts)) {
        ts->over = 1;
        uint32_t need = sh->d->cfg.start_after_s ? sh->d->cfg.start_after_s : 1;
        if (tr && tr->state == TRK_CAND && (uint32_t)ts->run + 1 >= need) {
            tr->state = TRK_ATTACK;
            if (tr->first_us == 0)
                tr->first_us = tr->s_first_us;
        }
    }
}

void shard_push(struct shard *sh, const struct ev *e)
{
    uint32_t h = ks_table_hash(sh->t, &e->key);
    ks_table_prefetch(sh->t, h);
    if (sh->pipe_n == PIPE_DEPTH) {
        uint32_t i = sh->pipe_head;
        shard_event(sh, &sh->pipe[i], sh->pipe_hash[i]);
        sh->pipe_head = (i + 1) % PIPE_DEPTH;
        sh->pipe_n--;
    }
    uint32_t j = (sh->pipe_head + sh->pipe_n) % PIPE_DEPTH;
    sh->pipe[j] = *e;
    sh->pipe_hash[j] = h;
    sh->pipe_n++;
}

void shard_drain(struct shard *sh)
{
    while (sh->pipe_n > 0) {
        uint32_t i = sh->pipe_head;
        sh->pipe_head = (i + 1) % PIPE_DEPTH;
        sh->pipe_n--;
        shard_event(sh, &sh->pipe[i], sh->pipe_hash[i]);
    }
}

void shard_advance(struct shard *sh, int64_t sec)
{
    shard_drain(sh);
    advance(sh, sec);
}

/* The shard's clock reached sec: close the seconds of tracked targets and end quiet attacks. */
static void advance(struct shard *sh, int64_t sec)
{
    if (sh->started && sec <= sh->now_sec)
        return;
    sh->now_sec = sec;
    sh->started = true;
    for (uint32_t i = sh->nactive; i-- > 0;) {
        if (i >= sh->nactive)
            continue;
        struct tracker *tr = &sh->trk[sh->active[i]];
        struct tstate *ts = ks_table_find(sh->t, &tr->key);
        if (!ts) { /* cannot happen: eviction ends the tracker */
            tracker_end(sh, tr, false);
            continue;
        }
        if (ts->sec < sec)
            close_second(sh, ts, sec);
    }
}

void shard_finish(struct shard *sh)
{
    shard_drain(sh);
    while (sh->nactive > 0) {
        struct tracker *tr = &sh->trk[sh->active[sh->nactive - 1]];
        struct tstate *ts = ks_table_find(sh->t, &tr->key);
        bool over = ts && ts->over;
        tracker_close_second(sh, tr, over);
        if (ts)
            ts->trk = 0;
        tracker_end(sh, tr, true);
    }
}

int shard_init(struct shard *sh, struct ks_ddos *d, uint32_t max_targets, uint32_t max_tracked)
{
    memset(sh, 0, sizeof *sh);
    sh->d = d;
    struct ks_table_config tc;
    ks_table_config_default(&tc);
    tc.key_size = sizeof(struct tkey);
    tc.value_size = sizeof(struct tstate);
    tc.capacity = max_targets ? max_targets : 1;
    tc.on_evict = on_evict;
    tc.user = sh;
    int rc = ks_table_new(&tc, &sh->t);
    if (rc != KS_OK)
        return rc;
    sh->ntrk = max_tracked ? max_tracked : 1;
    sh->trk = calloc(sh->ntrk, sizeof *sh->trk);
    sh->free_list = calloc(sh->ntrk, sizeof *sh->free_list);
    sh->active = calloc(sh->ntrk, sizeof *sh->active);
    size_t regs = ks_hll_regs_size(SRC_HLL_P) + ks_hll_regs_size(DST_HLL_P);
    if (!sh->trk || !sh->free_list || !sh->active)
        return KS_ENOMEM;
    for (uint32_t i = 0; i < sh->ntrk; i++) {
        struct tracker *tr = &sh->trk[i];
        /* calloc: pages of the timeline and maps are touched only when used */
        tr->regs = calloc(1, regs);
        tr->ports = calloc(1, 8192);
        tr->tl = calloc(d->cfg.timeline_max, sizeof *tr->tl);
        if (!tr->regs || !tr->ports || !tr->tl)
            return KS_ENOMEM;
        tracker_reset(sh, tr);
        sh->free_list[sh->nfree++] = sh->ntrk - 1 - i;
    }
    return KS_OK;
}

void shard_fini(struct shard *sh)
{
    ks_table_free(sh->t);
    if (sh->trk) {
        for (uint32_t i = 0; i < sh->ntrk; i++) {
            free(sh->trk[i].regs);
            free(sh->trk[i].ports);
            free(sh->trk[i].tl);
        }
    }
    free(sh->trk);
    free(sh->free_list);
    free(sh->active);
    for (size_t i = 0; i < sh->nout; i++)
        free(sh->out[i]);
    free(sh->out);
}
