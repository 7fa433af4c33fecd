/* P2P residue: SYNs and UDP per bin for watched hosts, and the decay after the stop. See
 * ks_p2p.h. */
#include "kansoku/ks_p2p.h"
#include "kansoku/ks_hll.h"
#include "kansoku/ks_time.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SRC_SEED UINT64_C(0x7032707265736964)

struct host {
    struct ks_addr addr;
    int64_t stopped_at;
    struct ks_p2p_bin *bins; /* max_bins */
    uint64_t *scratch;       /* max_bins, for the fit */
    struct ks_p2p_day *days; /* max_days */
    uint8_t *regs;           /* max_days * 2 sketches (SYN, UDP) */
    uint64_t syn_in, syn_out, synack_in, synack_out, udp_in, udp_out, dropped;
    int64_t last_syn_in, last_syn_out, last_udp_out;
};

struct ks_p2p {
    struct ks_p2p_config cfg;
    struct host hosts[KS_P2P_MAX_HOSTS];
    size_t nhosts;
    struct ks_prefix_set *set; /* host address -> index */
    int64_t origin;            /* start of bin 0 (µs), set by the first packet */
    bool have_origin;
    int64_t bin_us;
    uint32_t max_days;
    size_t regs;
    size_t used_bins; /* highest bin index used + 1 */
};

void ks_p2p_config_default(struct ks_p2p_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->bin_s = 300;
    cfg->max_bins = 8640;
    cfg->background_bins = 12;
    cfg->smooth = 3;
    cfg->hll_p = 12;
}

int ks_p2p_new(const struct ks_p2p_config *cfg, struct ks_p2p **pp)
{
    *pp = NULL;
    if (!cfg || cfg->bin_s == 0 || cfg->bin_s > 86400 || cfg->max_bins == 0 ||
        cfg->max_bins > (1u << 24) || cfg->hll_p < KS_HLL_P_MIN || cfg->hll_p > KS_HLL_P_MAX)
        return KS_EINVAL;
    struct ks_p2p *p = calloc(1, sizeof *p);
    if (!p)
        return KS_ENOMEM;
    p->cfg = *cfg;
    if (p->cfg.smooth == 0)
        p->cfg.smooth = 1;
    p->bin_us = (int64_t)cfg->bin_s * KS_USEC_PER_SEC;
    /* the bins may start at any time of day: one day more than they span */
    p->max_days = (uint32_t)(((uint64_t)cfg->max_bins * cfg->bin_s + 86399) / 86400 + 1);
    p->regs = ks_hll_regs_size(cfg->hll_p);
    if (ks_prefix_set_new(&p->set) != KS_OK) {
        free(p);
        return KS_ENOMEM;
    }
    *pp = p;
    return KS_OK;
}

void ks_p2p_free(struct ks_p2p *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nhosts; i++) {
        free(p->hosts[i].bins);
        free(p->hosts[i].scratch);
        free(p->hosts[i].days);
        free(p->hosts[i].regs);
    }
    ks_prefix_set_free(p->set);
    free(p);
}

int ks_p2p_add_host(struct ks_p2p *p, const struct ks_addr *host, int64_t stopped_at_us)
{
    if (host->family != 4 && host->family != 6)
        return KS_EINVAL;
    struct ks_prefix pfx;
    if (ks_prefix_make(&pfx, host, host->family == 4 ? 32 : 128) != KS_OK)
        return KS_EINVAL;
    if (ks_prefix_set_lookup(p->set, host, NULL, NULL))
        return KS_EEXIST;
    if (p->nhosts == KS_P2P_MAX_HOSTS)
        return KS_ELIMIT;
    struct host *h = &p->hosts[p->nhosts];
    memset(h, 0, sizeof *h);
    h->addr = *host;
    h->stopped_at = stopped_at_us;
    h->bins = calloc(p->cfg.max_bins, sizeof *h->bins);
    h->scratch = calloc(p->cfg.max_bins, sizeof *h->scratch);
    h->days = calloc(p->max_days, sizeof *h->days);
    h->regs = calloc((size_t)p->max_days * 2, p->regs);
    if (!h->bins || !h->scratch || !h->days || !h->regs ||
        ks_prefix_set_add(p->set, &pfx, (uint32_t)p->nhosts) != KS_OK) {
        free(h->bins);
        free(h->scratch);
        free(h->days);
        free(h->regs);
        memset(h, 0, sizeof *h);
        return KS_ENOMEM;
    }
    p->nhosts++;
    return KS_OK;
}

size_t ks_p2p_hosts(const struct ks_p2p *p)
{
    return p->nhosts;
}

static void add_source(struct ks_p2p *p, struct host *h, int64_t ts, int which,
                       const struct ks_addr *src)
{
    int64_t day0 = ks_time_floor(p->origin, KS_USEC_PER_DAY);
    int64_t di = (ks_time_floor(ts, KS_USEC_PER_DAY) - day0) / KS_USEC_PER_DAY;
    if (di < 0 || di >= p->max_days)
        return;
    struct ks_hll hll;
    ks_hll_init_buf(&hll, p->cfg.hll_p, h->regs + ((size_t)di * 2 + (size_t)which) * p->regs,
                    p->regs);
    ks_hll_add_hash(&hll, ks_addr_hash(src, SRC_SEED));
}

/* Counts pkt for host h; `in` when the host is the destination. */
static void count(struct ks_p2p *p, struct host *h, const struct ks_pkt *pkt, bool in, int64_t bi)
{
    uint64_t w = pkt->weight ? pkt->weight : 1;
    struct ks_p2p_bin *b = bi >= 0 && bi < p->cfg.max_bins ? &h->bins[bi] : NULL;
    bool tcp = pkt->proto == 6 && (pkt->flags & KS_PKT_L4);
    bool syn = tcp && (pkt->tcp_flags & (KS_TCP_SYN | KS_TCP_ACK)) == KS_TCP_SYN;
    bool synack = tcp && (pkt->tcp_flags & (KS_TCP_SYN | KS_TCP_ACK)) == (KS_TCP_SYN | KS_TCP_ACK);
    bool udp = pkt->proto == 17;
    if (!syn && !synack && !udp)
        return;
    if (!b) {
        h->dropped += w;
        return;
    }
    if ((size_t)bi + 1 > p->used_bins)
        p->used_bins = (size_t)bi + 1;
    if (in) {
        if (syn) {
            b->syn_in += w;
            h->syn_in += w;
            if (pkt->ts_us > h->last_syn_in)
                h->last_syn_in = pkt->ts_us;
            add_source(p, h, pkt->ts_us, 0, &pkt->src);
        } else if (synack) {
            b->synack_in += w;
            h->synack_in += w;
        } else {
            b->udp_in += w;
            h->udp_in += w;
            add_source(p, h, pkt->ts_us, 1, &pkt->src);
        }
    } else {
        if (syn) {
            b->syn_out += w;
            h->syn_out += w;
            if (pkt->ts_us > h->last_syn_out)
                h->last_syn_out = pkt->ts_us;
        } else if (synack) {
            b->synack_out += w;
            h->synack_out += w;
        } else {
            b->udp_out += w;
            h->udp_out += w;
            if (pkt->ts_us > h->last_udp_out)
                h->last_udp_out = pkt->ts_us;
        }
    }
}

int ks_p2p_feed(struct ks_p2p *p, const struct ks_pkt *pkt)
{
    uint32_t di = 0, si = 0;
    bool to = ks_prefix_set_lookup(p->set, &pkt->dst, &di, NULL);
    bool from = ks_prefix_set_lookup(p->set, &pkt->src, &si, NULL);
    if (!to && !from)
        return KS_OK;
    if (!p->have_origin) {
        p->origin = ks_time_floor(pkt->ts_us, p->bin_us);
        p->have_origin = true;
    }
    int64_t bi = (ks_time_floor(pkt->ts_us, p->bin_us) - p->origin) / p->bin_us;
    if (to)
        count(p, &p->hosts[di], pkt, true, bi);
    if (from)
        count(p, &p->hosts[si], pkt, false, bi);
    return KS_OK;
}

void ks_p2p_fit_decay(const struct ks_p2p_config *cfg, const uint64_t *counts, size_t n,
                      struct ks_p2p_result *r)
{
    r->has_decay = false;
    r->has_half_life = false;
    r->time_to_background_s = -1;
    r->half_life_s = r->rate0 = r->r2 = 0;
    r->fit_points = 0;
    if (n == 0)
        return;
    size_t nb = cfg->background_bins ? cfg->background_bins : 1;
    if (nb > n)
        nb = n;
    double bg = 0;
    for (size_t i = n - nb; i < n; i++)
        bg += (double)counts[i];
    bg /= (double)nb;
    r->background = bg;
    r->has_decay = true;

    /* time to background: the moving mean within one Poisson deviation of the background */
    size_t k = cfg->smooth ? cfg->smooth : 1;
    double level = bg + sqrt(bg > 1 ? bg : 1) / sqrt((double)k);
    size_t end = n;
    for (size_t i = 0; i + k <= n; i++) {
        double m = 0;
        for (size_t j = i; j < i + k; j++)
            m += (double)counts[j];
        if (m / (double)k <= level) {
            end = i;
            r->time_to_background_s = (double)i * cfg->bin_s;
            break;
        }
    }
    /* weighted least squares of ln(count - bg) against the bin's middle, over [0, end) */
    double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    uint32_t pts = 0;
    for (size_t i = 0; i < end; i++) {
        double y = (double)counts[i] - bg;
        if (y <= 0.5)
            continue;
        double w = y, x = (double)i + 0.5, ly = log(y);
        sw += w;
        sx += w * x;
        sy += w * ly;
        sxx += w * x * x;
        sxy += w * x * ly;
        pts++;
    }
    r->fit_points = pts;
    double den = sw * sxx - sx * sx;
    if (pts < 3 || den <= 0)
        return;
    double b = (sw * sxy - sx * sy) / den;
    double a = (sy - b * sx) / sw;
    if (!(b < 0))
        return;
    r->has_half_life = true;
    r->half_life_s = log(2.0) / -b * (double)cfg->bin_s;
    r->rate0 = exp(a);
    /* weighted r2 */
    double mean = sy / sw, ss_tot = 0, ss_res = 0;
    for (size_t i = 0; i < end; i++) {
        double y = (double)counts[i] - bg;
        if (y <= 0.5)
            continue;
        double x = (double)i + 0.5, ly = log(y), f = a + b * x;
        ss_tot += y * (ly - mean) * (ly - mean);
        ss_res += y * (ly - f) * (ly - f);
    }
    r->r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : 1.0;
}

int ks_p2p_result(struct ks_p2p *p, size_t i, struct ks_p2p_result *r)
{
    if (i >= p->nhosts)
        return KS_EINVAL;
    struct host *h = &p->hosts[i];
    memset(r, 0, sizeof *r);
    r->time_to_background_s = -1;
    r->host = h->addr;
    size_t n = p->used_bins;
    for (size_t b = 0; b < n; b++)
        h->bins[b].ts = p->origin + (int64_t)b * p->bin_us;
    r->bins = h->bins;
    r->nbins = n;
    r->syn_in = h->syn_in;
    r->syn_out = h->syn_out;
    r->synack_in = h->synack_in;
    r->synack_out = h->synack_out;
    r->udp_in = h->udp_in;
    r->udp_out = h->udp_out;
    r->last_syn_in = h->last_syn_in;
    r->last_out = h->last_syn_out ? h->last_syn_out : h->last_udp_out;
    r->dropped = h->dropped;

    /* days that hold a bin */
    if (n) {
        int64_t day0 = ks_time_floor(p->origin, KS_USEC_PER_DAY);
        int64_t last = p->origin + (int64_t)n * p->bin_us - 1;
        size_t nd = (size_t)((ks_time_floor(last, KS_USEC_PER_DAY) - day0) / KS_USEC_PER_DAY) + 1;
        if (nd > p->max_days)
            nd = p->max_days;
        for (size_t d = 0; d < nd; d++) {
            struct ks_hll s, u;
            ks_hll_init_buf(&s, p->cfg.hll_p, h->regs + d * 2 * p->regs, p->regs);
            ks_hll_init_buf(&u, p->cfg.hll_p, h->regs + (d * 2 + 1) * p->regs, p->regs);
            h->days[d].day = day0 + (int64_t)d * KS_USEC_PER_DAY;
            h->days[d].sources_syn = ks_hll_estimate(&s);
            h->days[d].sources_udp = ks_hll_estimate(&u);
        }
        r->days = h->days;
        r->ndays = nd;
    }

    r->stopped_at = h->stopped_at;
    if (!r->stopped_at && r->last_out) {
        r->stopped_at = r->last_out;
        r->stop_inferred = true;
    }
    if (!r->stopped_at || n == 0)
        return KS_OK;
    /* bins that start at or after the stop */
    int64_t first = (ks_time_floor(r->stopped_at, p->bin_us) - p->origin) / p->bin_us;
    if (p->origin + first * p->bin_us < r->stopped_at)
        first++;
    if (first < 0)
        first = 0;
    if ((size_t)first >= n)
        return KS_OK;
    size_t m = n - (size_t)first;
    for (size_t b = 0; b < m; b++)
        h->scratch[b] = h->bins[(size_t)first + b].syn_in;
    ks_p2p_fit_decay(&p->cfg, h->scratch, m, r);
    if (r->time_to_background_s >= 0) {
        int64_t start = p->origin + first * p->bin_us;
        r->time_to_background_s += (double)(start - r->stopped_at) / (double)KS_USEC_PER_SEC;
    }
    return KS_OK;
}
