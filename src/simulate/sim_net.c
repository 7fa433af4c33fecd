/* simulate: packet captures (DDoS, darknet sensors, P2P hosts) and the traffic series. */
#include "sim_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_time.h"

#define SEC KS_USEC_PER_SEC
#define MIN KS_USEC_PER_MIN
#define HOUR KS_USEC_PER_HOUR
#define DAY KS_USEC_PER_DAY

/* The operator's address space used for the victims and sensors (IIJ's, outside the
 * prefixes the address table hands out as sources). */
#define CUSTOMERS 0xd2950000u /* 210.149.0.0/16: DDoS targets, P2P hosts */
#define SENSOR1 0xd2828700u   /* 210.130.135.0/24 */
#define SENSOR2 0xd282d600u   /* 210.130.214.0/24 */

struct pkts {
    struct sim_pkt *k;
    size_t n, cap;
};

static struct sim_pkt *pkts_add(struct pkts *a)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 4096;
        struct sim_pkt *k = realloc(a->k, cap * sizeof *k);
        if (!k)
            return NULL;
        a->k = k;
        a->cap = cap;
    }
    struct sim_pkt *k = &a->k[a->n++];
    memset(k, 0, sizeof *k);
    return k;
}

static uint16_t eph_port(struct sim_rng *r)
{
    return (uint16_t)(1025 + sim_below(r, 64000));
}

/* Sources of attack traffic: bots in many countries (the mix of spam and scanning hosts). */
static const struct sim_src bot_mix[] = {
    {"CN", -1, 22}, {"US", -1, 12}, {"KR", -1, 8}, {"TW", -1, 6}, {"RU", -1, 6}, {"BR", -1, 6},
    {"TR", -1, 5},  {"IN", -1, 5},  {"DE", -1, 4}, {"PL", -1, 4}, {"TH", -1, 3}, {"VN", -1, 3},
    {"MX", -1, 3},  {"IT", -1, 3},  {"ES", -1, 3}, {"JP", 10, 3}, {"AR", -1, 2}, {"GB", -1, 2},
};
#define NBOT (sizeof bot_mix / sizeof bot_mix[0])

/* --- DDoS ----------------------------------------------------------------------------------- */

enum { CL_SERVER = 0, CL_BANDWIDTH = 1, CL_COMPOSITE = 2 };
static const char *const class_name[] = {"server", "bandwidth", "composite"};

enum vec { V_SYN, V_UDP, V_ICMP };
static const char *const vec_name[] = {"syn-flood", "udp-flood", "icmp-flood"};

struct phase {
    int64_t start, end; /* µs */
    enum vec vec;
    double pps;    /* real packets per second at the plateau */
    uint16_t size; /* mean IP length */
    uint16_t dport;
};

struct attack {
    int cls;
    int64_t start, end;
    uint32_t target;
    struct phase ph[4];
    int nph;
    uint32_t *srcs; /* botnet or fixed sources; NULL = spoofed at random */
    uint32_t nsrc;
    bool largest;
};

/* Plateau factor of minute m of attack id: 0.85..1.15, a function of (seed, id, m) only. */
static double minute_factor(uint64_t seed, uint32_t id, int64_t m)
{
    struct sim_rng r;
    sim_rng_init(&r, seed ^ ((uint64_t)id << 32), (uint64_t)m + 0x1000);
    return 0.85 + 0.30 * sim_unit(&r);
}

static int emit_phase(struct pkts *out, struct sim_rng *r, const struct attack *a, uint32_t id,
                      const struct phase *ph, int64_t from, int64_t to, double rate, uint64_t seed)
{
    int64_t s = ph->start > from ? ph->start : from;
    int64_t e = ph->end < to ? ph->end : to;
    for (int64_t t = s - (s % SEC); t < e; t += SEC) {
        double ramp = (double)(t - ph->start) / (30.0 * SEC);
        if (ramp > 1)
            ramp = 1;
        if (ramp < 0.05)
            ramp = 0.05;
        /* 1-in-N sampling as routers do it (every Nth packet): the count of a second is the
         * rate over N, rounded at random, not a Poisson draw, so peaks are not inflated. */
        double lam = ph->pps * ramp * minute_factor(seed, id, t / MIN) / rate;
        uint32_t n = (uint32_t)floor(lam + sim_unit(r));
        for (uint32_t i = 0; i < n; i++) {
            int64_t ts = t + sim_below(r, 1000000);
            if (ts < s || ts >= e)
                continue;
            struct sim_pkt *k = pkts_add(out);
            if (!k)
                return KS_ENOMEM;
            k->ts_us = ts;
            k->dst = a->target;
            k->src = a->nsrc ? a->srcs[sim_below(r, a->nsrc)]
                             : (uint32_t)(sim_next(r) >> 32) | 0x01000000u;
            k->ipid = (uint16_t)sim_next(r);
            k->ttl = (uint8_t)(40 + sim_below(r, 80));
            int jitter = (int)sim_below(r, 120) - 60;
            switch (ph->vec) {
            case V_SYN:
                k->proto = 6;
                k->tcp_flags = 0x02;
                k->sport = eph_port(r);
                k->dport = ph->dport;
                k->wire_len = (uint16_t)(40 + 4 * sim_below(r, 6));
                break;
            case V_UDP:
                k->proto = 17;
                k->sport = (uint16_t)(49152 + sim_below(r, 16384)); /* no amplifier port */
                k->dport = ph->dport ? ph->dport : (uint16_t)(1 + sim_below(r, 65535));
                k->wire_len = (uint16_t)(ph->size + jitter > 1500 ? 1500 : ph->size + jitter);
                break;
            case V_ICMP:
                k->proto = 1;
                k->icmp_type = 8;
                k->wire_len = (uint16_t)(ph->size + jitter > 1500 ? 1500 : ph->size + jitter);
                break;
            }
        }
    }
    return KS_OK;
}

static void bot_sources(struct sim_rng *r, struct attack *a, uint32_t n)
{
    a->srcs = malloc(n * sizeof *a->srcs);
    if (!a->srcs)
        return;
    a->nsrc = n;
    for (uint32_t i = 0; i < n; i++)
        a->srcs[i] = sim_addr_mix(r, bot_mix, NBOT, NULL);
}

static void plan_largest(struct sim_part *p, struct attack *a, int64_t day_start)
{
    struct sim_rng *r = &p->rng;
    a->cls = CL_BANDWIDTH;
    a->largest = true;
    a->target = CUSTOMERS | (0x2000u + sim_below(r, 0x100));
    /* A dedicated attack program on a few hosts, not a botnet (reference 1.3.1). */
    a->srcs = malloc(4 * sizeof *a->srcs);
    if (a->srcs) {
        a->nsrc = 4;
        a->srcs[0] = sim_addr_cc(r, "CN");
        a->srcs[1] = sim_addr_cc(r, "CN");
        a->srcs[2] = sim_addr_cc(r, "KR");
        a->srcs[3] = sim_addr_cc(r, "US");
    }
    int64_t t = day_start + 13 * HOUR + 10 * MIN;
    a->start = t;
    /* UDP + ICMP flood, about 2.3 Gbps */
    a->ph[0] = (struct phase){t, t + 130 * MIN, V_UDP, 182000, 1400, 0};
    a->ph[1] = (struct phase){t, t + 130 * MIN, V_ICMP, 30000, 1000, 0};
    t += 130 * MIN;
    /* then a server attack: SYN flood on the web port */
    a->ph[2] = (struct phase){t, t + 50 * MIN, V_SYN, 90000, 48, 80};
    t += 50 * MIN;
    /* then bandwidth again, about 1.6 Gbps */
    a->ph[3] = (struct phase){t, t + 95 * MIN, V_UDP, 140000, 1420, 0};
    a->nph = 4;
    a->end = t + 95 * MIN;
}

static void plan_attack(struct sim_part *p, struct attack *a, int cls, int64_t start, int64_t dur)
{
    struct sim_rng *r = &p->rng;
    static const uint16_t server_ports[] = {80, 80, 80, 80, 80, 443, 25, 53, 22, 8080};
    a->cls = cls;
    a->start = start;
    a->end = start + dur;
    a->target = CUSTOMERS | sim_below(r, 400) * 19u % 0x1f00u;
    if ((a->target & 0xff) == 0)
        a->target |= 1;
    /* Long attacks run at lower rates (and keep the captures small), but never so low that
     * the 1:10000 sampled capture holds under 2 packets a second of them: a detector that
     * works per second needs consecutive seconds over its threshold. */
    double damp = dur > 30 * MIN ? sqrt((double)(30 * MIN) / (double)dur) : 1.0;
    uint16_t sport = server_ports[sim_below(r, 10)];
    struct phase syn = {start, a->end, V_SYN, fmax(sim_logu(r, 20000, 90000) * damp, 20000),
                        48,    sport};
    enum vec bv = sim_chance(r, 0.75) ? V_UDP : V_ICMP;
    struct phase bw = {
        start,
        a->end,
        bv,
        fmax(sim_logu(r, 35000, 110000) * damp, 35000),
        (uint16_t)(bv == V_UDP ? 1100 + sim_below(r, 350) : 1000 + sim_below(r, 400)),
        (uint16_t)(sim_chance(r, 0.3) ? 53 : 0)};
    switch (cls) {
    case CL_SERVER:
        a->ph[a->nph++] = syn;
        if (sim_chance(r, 0.5))
            bot_sources(r, a, 100 + sim_below(r, 1500));
        break;
    case CL_BANDWIDTH:
        a->ph[a->nph++] = bw;
        bot_sources(r, a, 40 + sim_below(r, 400));
        break;
    default:
        syn.pps *= 0.8;
        bw.pps *= 0.8;
        a->ph[a->nph++] = syn;
        a->ph[a->nph++] = bw;
        bot_sources(r, a, 80 + sim_below(r, 600));
        break;
    }
}

static double phase_bps(const struct phase *ph)
{
    return ph->pps * ph->size * 8.0;
}

static void shuffle_int(struct sim_rng *r, int *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = sim_below(r, (uint32_t)i);
        int t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

int sim_ddos(struct sim_part *p)
{
    const struct ks_simulate_config *cfg = p->cfg;
    struct sim_rng *r = &p->rng;
    int64_t days = sim_ndays(cfg);
    uint32_t rate = p->st.sample_rate;
    int rc = KS_OK;
    struct attack *at = NULL;
    int *cls = NULL, *dcl = NULL;
    double *dw = NULL;
    struct pkts buf = {0};

    /* 272 attacks in 92 days: 2.96 a day; shares and durations as exact counts, shuffled. */
    size_t n = (size_t)floor((double)days * 272.0 / 92.0 + 0.5);
    if (n < 1)
        n = 1;
    at = calloc(n, sizeof *at);
    cls = calloc(n, sizeof *cls);
    dcl = calloc(n, sizeof *dcl);
    dw = calloc((size_t)days, sizeof *dw);
    if (!at || !cls || !dcl || !dw) {
        rc = KS_ENOMEM;
        goto out;
    }
    size_t ns = (size_t)floor(0.77 * (double)n + 0.5), nb = (size_t)floor(0.10 * (double)n + 0.5);
    if (ns + nb > n)
        nb = n - ns;
    for (size_t i = 0; i < n; i++)
        cls[i] = i < ns ? CL_SERVER : i < ns + nb ? CL_BANDWIDTH : CL_COMPOSITE;
    /* cls[ns] is a bandwidth attack when nb > 0: it becomes the largest one, kept in place. */
    size_t big = nb > 0 ? ns : n;
    size_t nshort = (size_t)floor(0.72 * (double)n + 0.5), nlong = n >= 40 ? 2 : 0;
    for (size_t i = 0; i < n; i++)
        dcl[i] = i < nshort ? 0 : i < n - nlong ? 1 : 2;
    shuffle_int(r, dcl, n);
    if (big < n) {
        /* the largest attack lasts hours: give it a middle duration class slot */
        for (size_t i = 0; i < n; i++)
            if (dcl[i] == 1) {
                dcl[i] = dcl[big];
                dcl[big] = 1;
                break;
            }
    }
    int *perm = calloc(n, sizeof *perm);
    if (!perm) {
        rc = KS_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        perm[i] = cls[i];
    for (size_t i = n; i > 1; i--) {
        size_t j = sim_below(r, (uint32_t)i);
        if (i - 1 == big || j == big)
            continue;
        int t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    memcpy(cls, perm, n * sizeof *cls);
    free(perm);

    /* Busy days: a few days carry several times the usual count (figure 2's spikes). */
    for (int64_t d = 0; d < days; d++)
        dw[d] = 1.0;
    for (int k = 0; k < (int)(days / 15) + 1; k++)
        dw[sim_below(r, (uint32_t)days)] += 4.0;
    int64_t big_day = (int64_t)floor((double)days * 0.62);
    for (size_t i = 0; i < n; i++) {
        int64_t d = i == big ? big_day : (int64_t)sim_pick(r, dw, (size_t)days);
        int64_t day0 = sim_day_start(cfg, cfg->from_day + d);
        if (i == big) {
            plan_largest(p, &at[i], day0);
            continue;
        }
        int64_t dur;
        if (dcl[i] == 0)
            dur = (int64_t)(sim_logu(r, 2, 29.5) * (double)MIN);
        else if (dcl[i] == 1)
            dur = (int64_t)(sim_logu(r, 31, sim_chance(r, 0.85) ? 240 : 23 * 60) * (double)MIN);
        else
            dur = (int64_t)(sim_logu(r, 25, 40) * (double)HOUR);
        plan_attack(p, &at[i], cls[i], day0 + sim_time_of_day(r), dur);
    }

    /* Captures, one file per day: background traffic plus every attack overlapping it. */
    for (int64_t d = 0; d < days && rc == KS_OK; d++) {
        int64_t d0 = sim_day_start(cfg, cfg->from_day + d), d1 = d0 + DAY;
        struct sim_rng dr;
        sim_rng_init(&dr, cfg->seed, 0x100000u + (uint64_t)d);
        buf.n = 0;
        /* background: ~1,000 packets/s towards the customers, following the daily cycle */
        for (int h = 0; h < 24 && rc == KS_OK; h++) {
            uint32_t cnt = sim_poisson(&dr, 1000.0 * 86400.0 * sim_diurnal(h) / rate);
            for (uint32_t i = 0; i < cnt; i++) {
                struct sim_pkt *k = pkts_add(&buf);
                if (!k) {
                    rc = KS_ENOMEM;
                    break;
                }
                k->ts_us = d0 + h * HOUR + (int64_t)sim_below(&dr, 3600000) * 1000;
                k->src = sim_addr_mix(&dr, bot_mix, NBOT, NULL);
                /* hosts that are not attacked: one sampled packet weighs N, and would read as
                 * a vector of its own inside an attack on the same host */
                k->dst = CUSTOMERS | (0x2100u + sim_below(&dr, 0x1b00));
                k->ttl = (uint8_t)(45 + sim_below(&dr, 70));
                k->ipid = (uint16_t)sim_next(&dr);
                uint32_t x = sim_below(&dr, 100);
                if (x < 70) {
                    k->proto = 6;
                    k->tcp_flags = x < 8 ? 0x02 : 0x10;
                    k->sport = x < 8 ? eph_port(&dr) : (sim_chance(&dr, 0.8) ? 80 : 443);
                    k->dport = x < 8 ? 80 : eph_port(&dr);
                    k->wire_len = (uint16_t)(x < 8 ? 48 : 40 + sim_below(&dr, 1461));
                } else if (x < 90) {
                    k->proto = 17;
                    k->sport = 53;
                    k->dport = eph_port(&dr);
                    k->wire_len = (uint16_t)(60 + sim_below(&dr, 400));
                } else {
                    k->proto = 1;
                    k->icmp_type = sim_chance(&dr, 0.5) ? 0 : 3;
                    k->wire_len = 84;
                }
            }
        }
        for (size_t i = 0; i < n && rc == KS_OK; i++) {
            if (at[i].end <= d0 || at[i].start >= d1)
                continue;
            struct sim_rng ar;
            sim_rng_init(&ar, cfg->seed, 0x200000u + (uint64_t)i * 1000 + (uint64_t)d);
            for (int j = 0; j < at[i].nph && rc == KS_OK; j++)
                rc = emit_phase(&buf, &ar, &at[i], (uint32_t)i, &at[i].ph[j], d0, d1, rate,
                                cfg->seed);
        }
        if (rc != KS_OK)
            break;
        sim_pkts_sort(buf.k, buf.n);
        int64_t y;
        int m, dd;
        ks_civil_from_days(cfg->from_day + d, &y, &m, &dd);
        char rel[64];
        snprintf(rel, sizeof rel, "ddos/%04d-%02d-%02d.pcap", (int)y, m, dd);
        struct sim_file f;
        if ((rc = sim_pcap_open(p, &f, rel)) != KS_OK)
            break;
        for (size_t i = 0; i < buf.n; i++)
            sim_pcap_write(&f, &buf.k[i]);
        p->st.ddos_packets += buf.n;
        rc = sim_close(p, &f);
    }

    /* What was planted: truth/ddos.csv, and the sampling rate to give the analyzer. */
    if (rc == KS_OK) {
        struct sim_file f;
        if ((rc = sim_open(p, &f, "truth/ddos.csv")) != KS_OK)
            goto out;
        sim_printf(&f, "id,start,end,class,target,peak_gbps,peak_kpps,vectors,sources,largest\n");
        for (size_t i = 0; i < n; i++) {
            const struct attack *a = &at[i];
            char s[KS_TIME_STRLEN], e[KS_TIME_STRLEN], tg[16], vecs[96] = "";
            double gbps = 0, kpps = 0;
            sim_fmt_iso(a->start, cfg->tz_offset_s, s, sizeof s);
            sim_fmt_iso(a->end, cfg->tz_offset_s, e, sizeof e);
            sim_addr_text(a->target, tg);
            size_t vl = 0;
            for (int j = 0; j < a->nph; j++) {
                /* concurrent phases add up; sequential ones (the largest attack) do not */
                double b = phase_bps(&a->ph[j]), k = a->ph[j].pps;
                if (a->largest && j == 1) {
                    b += phase_bps(&a->ph[0]);
                    k += a->ph[0].pps;
                } else if (!a->largest && a->nph == 2 && j == 1) {
                    b += phase_bps(&a->ph[0]);
                    k += a->ph[0].pps;
                }
                if (b * 1.15 > gbps * 1e9)
                    gbps = b * 1.15 / 1e9;
                if (k * 1.15 > kpps * 1e3)
                    kpps = k * 1.15 / 1e3;
                bool same = j > 0 && a->ph[j].start == a->ph[j - 1].start;
                vl += (size_t)snprintf(vecs + vl, sizeof vecs - vl, "%s%s",
                                       j == 0 ? ""
                                       : same ? "+"
                                              : ">",
                                       vec_name[a->ph[j].vec]);
                if (vl >= sizeof vecs)
                    vl = sizeof vecs - 1;
            }
            sim_printf(&f, "%zu,%s,%s,%s,%s,%.3f,%.1f,%s,%u,%d\n", i + 1, s, e, class_name[a->cls],
                       tg, gbps, kpps, vecs, a->nsrc, a->largest ? 1 : 0);
            p->st.ddos_attacks[a->cls]++;
        }
        if ((rc = sim_close(p, &f)) != KS_OK)
            goto out;
        if ((rc = sim_open(p, &f, "ddos/SAMPLE_RATE")) != KS_OK)
            goto out;
        sim_printf(&f, "%u\n", rate);
        rc = sim_close(p, &f);
    }
out:
    if (at)
        for (size_t i = 0; i < n; i++)
            free(at[i].srcs);
    free(at);
    free(cls);
    free(dcl);
    free(dw);
    free(buf.k);
    return rc;
}

/* --- darknet sensors ------------------------------------------------------------------------ */

struct dport {
    uint16_t port;
    uint8_t proto;
    double share; /* percent of the sensors' packets */
};

/* The reference's top ten (figure 4, rank order) and a long tail. */
static const struct dport dports[] = {
    {135, 6, 21.0}, {2582, 6, 13.0}, {445, 6, 11.5},  {1433, 6, 8.0}, {22133, 17, 6.0},
    {8080, 6, 4.6}, {34847, 6, 3.6}, {139, 6, 3.1},   {1957, 6, 2.6}, {24680, 6, 2.1},
    {80, 6, 1.6},   {22, 6, 1.5},    {1434, 17, 1.4}, {137, 17, 1.3}, {0, 1, 1.3},
    {3389, 6, 1.2}, {4899, 6, 1.1},  {5900, 6, 1.0},  {25, 6, 1.0},   {1025, 6, 0.9},
    {23, 6, 0.9},   {3306, 6, 0.8},  {5060, 17, 0.8}, {6000, 6, 0.7}, {2967, 6, 0.7},
    {443, 6, 0.6},  {21, 6, 0.6},    {1026, 17, 0.6}, {5554, 6, 0.5}, {9988, 6, 0.5},
    {0, 6, 2.0} /* random high ports */
};
#define NDPORT (sizeof dports / sizeof dports[0])

/* Figure 5: domestic 43% by ISP, foreign 57% by country. */
static const struct sim_src darknet_mix[] = {
    {"JP", 0, 7},    {"JP", 1, 7},    {"JP", 2, 4},    {"JP", 3, 4},    {"JP", 4, 3},
    {"JP", 5, 2},    {"JP", 6, 1},    {"JP", 7, 1},    {"JP", 8, 1},    {"JP", 9, 1},
    {"JP", 10, 12},  {"CN", -1, 27},  {"TW", -1, 5},   {"KR", -1, 3},   {"IN", -1, 2},
    {"TH", -1, 2},   {"US", -1, 2},   {"HK", -1, 1},   {"PL", -1, 1},   {"MY", -1, 1},
    {"RU", -1, 0.9}, {"BR", -1, 0.9}, {"VN", -1, 0.9}, {"DE", -1, 0.8}, {"PH", -1, 0.8},
    {"TR", -1, 0.8}, {"ID", -1, 0.8}, {"IT", -1, 0.7}, {"MX", -1, 0.7}, {"GB", -1, 0.7},
    {"AR", -1, 0.6}, {"ES", -1, 0.6}, {"FR", -1, 0.6}, {"CA", -1, 0.6}, {"AU", -1, 0.5},
    {"IR", -1, 0.5}, {"PK", -1, 0.5}, {"EG", -1, 0.5}, {"CO", -1, 0.4}, {"NL", -1, 0.4},
    {"VE", -1, 0.4}, {"KZ", -1, 0.4}, {"SG", -1, 0.4}, {"PE", -1, 0.4},
};
#define NDARK (sizeof darknet_mix / sizeof darknet_mix[0])

int sim_darknet(struct sim_part *p)
{
    const struct ks_simulate_config *cfg = p->cfg;
    static const struct {
        const char *name;
        uint32_t net;
    } sensors[] = {{"hp-tokyo", SENSOR1}, {"hp-osaka", SENSOR2}};
    int rc = KS_OK;
    struct pkts buf = {0};
    int64_t days = sim_ndays(cfg);
    for (size_t s = 0; s < 2 && rc == KS_OK; s++) {
        struct sim_file f;
        char rel[64];
        snprintf(rel, sizeof rel, "darknet/%s.pcap", sensors[s].name);
        if ((rc = sim_pcap_open(p, &f, rel)) != KS_OK)
            break;
        for (int64_t d = 0; d < days && rc == KS_OK; d++) {
            struct sim_rng r;
            sim_rng_init(&r, cfg->seed, 0x300000u + s * 1000 + (uint64_t)d);
            int64_t d0 = sim_day_start(cfg, cfg->from_day + d);
            /* per-day weights: each port's share moves a little from day to day */
            double w[NDPORT];
            for (size_t i = 0; i < NDPORT; i++)
                w[i] = dports[i].share * exp(0.25 * sim_normal(&r));
            double level = 1500.0 * cfg->scale * exp(0.15 * sim_normal(&r));
            uint32_t target = (uint32_t)floor(level + 0.5);
            buf.n = 0;
            while (buf.n < target) {
                size_t pi = sim_pick(&r, w, NDPORT);
                uint32_t src = sim_addr_mix(&r, darknet_mix, NDARK, NULL);
                uint32_t k =
                    1 + (sim_chance(&r, 0.5) ? 0 : sim_below(&r, sim_chance(&r, 0.7) ? 3 : 8));
                int64_t t = d0 + sim_time_of_day(&r);
                uint16_t port = dports[pi].port;
                if (port == 0 && dports[pi].proto == 6)
                    port = (uint16_t)(10000 + sim_below(&r, 55000));
                uint16_t sp = eph_port(&r);
                uint8_t ttl = (uint8_t)(sim_chance(&r, 0.8) ? 128 - 8 - sim_below(&r, 20)
                                                            : 64 - 6 - sim_below(&r, 20));
                uint32_t host = 1 + sim_below(&r, 254);
                for (uint32_t j = 0; j < k && buf.n < target; j++) {
                    struct sim_pkt *x = pkts_add(&buf);
                    if (!x) {
                        rc = KS_ENOMEM;
                        break;
                    }
                    /* a worm's scan: sequential hosts, or retransmissions to one host */
                    x->ts_us = t + (int64_t)j * (int64_t)(sim_chance(&r, 0.5) ? 3 * SEC : 200000);
                    if (x->ts_us >= d0 + DAY)
                        x->ts_us = d0 + DAY - 1;
                    x->src = src;
                    x->dst = sensors[s].net | ((host + j) % 254 + 1);
                    x->proto = dports[pi].proto;
                    x->ttl = ttl;
                    x->ipid = (uint16_t)sim_next(&r);
                    if (x->proto == 6) {
                        x->tcp_flags = 0x02;
                        x->sport = sp;
                        x->dport = port;
                        x->wire_len = 48;
                    } else if (x->proto == 17) {
                        x->sport = port == 137 ? 137 : sp;
                        x->dport = port;
                        x->wire_len = (uint16_t)(port == 1434 ? 404 : 78 + sim_below(&r, 60));
                    } else {
                        x->icmp_type = 8;
                        x->wire_len = 60;
                    }
                }
            }
            sim_pkts_sort(buf.k, buf.n);
            for (size_t i = 0; i < buf.n; i++)
                sim_pcap_write(&f, &buf.k[i]);
            p->st.darknet_packets += buf.n;
        }
        int rc2 = sim_close(p, &f);
        if (rc == KS_OK)
            rc = rc2;
    }
    if (rc == KS_OK) {
        struct sim_file f;
        if ((rc = sim_open(p, &f, "darknet/sensors.csv")) == KS_OK) {
            sim_printf(&f, "sensor,monitored\n");
            for (size_t s = 0; s < 2; s++) {
                char a[16];
                sim_addr_text(sensors[s].net, a);
                sim_printf(&f, "%s,%s/24\n", sensors[s].name, a);
            }
            rc = sim_close(p, &f);
        }
    }
    free(buf.k);
    return rc;
}

/* --- P2P hosts that stop ------------------------------------------------------------------- */

/* Incoming SYNs per 5 minutes after the stop, for each client (reference H-18..H-20). */
static double residue_rate(int client, double h /* hours since stop */, struct sim_rng *r)
{
    switch (client) {
    case 0: /* Share EX2: ~24 h at 30 -> 10, then 2-6 long-term */
        if (h < 24)
            return 30.0 - 20.0 * h / 24.0;
        return 2.0 + 4.0 * sim_unit(r);
    case 1: /* Winny: ~9 h at ~20, ~2 weeks intermittent ~3, sparse until day 25 */
        if (h < 9)
            return 20.0;
        if (h < 14 * 24)
            return ((int)(h / 3.0) % 2) ? 3.0 : 0.3;
        if (h < 25 * 24)
            return 0.02;
        return 0;
    default: /* Skype: ~12 h at ~4 (background level), one connection on day 5 */
        if (h < 12)
            return 4.0;
        return 0;
    }
}

int sim_p2p(struct sim_part *p)
{
    const struct ks_simulate_config *cfg = p->cfg;
    static const struct {
        const char *name, *version;
        uint16_t port;
        uint32_t host;
        double start_frac;
    } cl[] = {
        {"share", "Share EX2", 23421, CUSTOMERS | 0x3c17u, 0.10},
        {"winny", "Winny 2.0b7.1", 7743, CUSTOMERS | 0x3d2au, 0.20},
        {"skype", "Skype 3.6.0.248", 41287, CUSTOMERS | 0x3e05u, 0.30},
    };
    static const struct sim_src peer_mix[] = {
        {"JP", 1, 20},  {"JP", 2, 15}, {"JP", 3, 12}, {"JP", 0, 6},  {"JP", 4, 6},  {"JP", 5, 6},
        {"JP", 10, 15}, {"TW", -1, 5}, {"CN", -1, 5}, {"US", -1, 5}, {"KR", -1, 5},
    };
    int rc = KS_OK;
    struct pkts buf = {0};
    int64_t days = sim_ndays(cfg);
    int64_t p0 = sim_day_start(cfg, cfg->from_day), p1 = p0 + days * DAY;
    struct sim_file ex;
    if ((rc = sim_open(p, &ex, "p2p/experiments.csv")) != KS_OK)
        return rc;
    sim_printf(&ex, "client,version,host,port,start,stop,capture\n");
    for (int c = 0; c < 3 && rc == KS_OK; c++) {
        struct sim_rng r;
        sim_rng_init(&r, cfg->seed, 0x400000u + (uint64_t)c);
        int64_t start = p0 + (int64_t)floor((double)days * cl[c].start_frac) * DAY + 12 * HOUR;
        int64_t stop = start + 24 * HOUR;
        buf.n = 0;
        for (int64_t t = start; t < p1 && rc == KS_OK; t += 5 * MIN) {
            double in, out;
            if (t < stop) {
                in = 30 + 30 * sim_unit(&r);
                out = 40 + 40 * sim_unit(&r);
            } else {
                double h = (double)(t - stop) / (double)HOUR;
                in = residue_rate(c, h, &r);
                out = 0;
                if (c == 2 && t - stop >= 4 * DAY && t - stop < 4 * DAY + 5 * MIN)
                    in = 1.0; /* the one connection of day 5 */
            }
            uint32_t nin = c == 2 && in == 1.0 && t >= stop ? 1 : sim_poisson(&r, in);
            uint32_t nout = sim_poisson(&r, out);
            for (uint32_t i = 0; i < nin + nout; i++) {
                struct sim_pkt *k = pkts_add(&buf);
                if (!k) {
                    rc = KS_ENOMEM;
                    break;
                }
                k->ts_us = t + (int64_t)sim_below(&r, 300000000u);
                k->proto = 6;
                k->tcp_flags = 0x02;
                k->wire_len = 52;
                k->ttl = (uint8_t)(110 + sim_below(&r, 15));
                k->ipid = (uint16_t)sim_next(&r);
                uint32_t peer =
                    sim_addr_mix(&r, peer_mix, sizeof peer_mix / sizeof peer_mix[0], NULL);
                if (i < nin) {
                    k->src = peer;
                    k->dst = cl[c].host;
                    k->sport = eph_port(&r);
                    k->dport = cl[c].port;
                    if (k->ts_us < stop) { /* the running client answers */
                        struct sim_pkt *a = pkts_add(&buf);
                        if (!a) {
                            rc = KS_ENOMEM;
                            break;
                        }
                        k = &buf.k[buf.n - 2];
                        *a = *k;
                        a->ts_us = k->ts_us + 20000 + sim_below(&r, 200000);
                        a->src = k->dst;
                        a->dst = k->src;
                        a->sport = k->dport;
                        a->dport = k->sport;
                        a->tcp_flags = 0x12;
                        a->ttl = 128;
                    }
                } else {
                    k->src = cl[c].host;
                    k->dst = peer;
                    k->sport = eph_port(&r);
                    k->dport = (uint16_t)(1024 + sim_below(&r, 60000));
                    k->ttl = 128;
                }
            }
        }
        if (rc != KS_OK)
            break;
        sim_pkts_sort(buf.k, buf.n);
        char rel[64];
        snprintf(rel, sizeof rel, "p2p/%s.pcap", cl[c].name);
        struct sim_file f;
        if ((rc = sim_pcap_open(p, &f, rel)) != KS_OK)
            break;
        for (size_t i = 0; i < buf.n; i++)
            sim_pcap_write(&f, &buf.k[i]);
        p->st.p2p_packets += buf.n;
        if ((rc = sim_close(p, &f)) != KS_OK)
            break;
        char h[16], s[KS_TIME_STRLEN], e[KS_TIME_STRLEN];
        sim_addr_text(cl[c].host, h);
        sim_fmt_iso(start, cfg->tz_offset_s, s, sizeof s);
        sim_fmt_iso(stop, cfg->tz_offset_s, e, sizeof e);
        sim_printf(&ex, "%s,%s,%s,%u,%s,%s,%s\n", cl[c].name, cl[c].version, h, cl[c].port, s, e,
                   rel);
    }
    int rc2 = sim_close(p, &ex);
    free(buf.k);
    return rc ? rc : rc2;
}

/* --- traffic series ------------------------------------------------------------------------- */

int sim_series(struct sim_part *p)
{
    const struct ks_simulate_config *cfg = p->cfg;
    struct sim_rng *r = &p->rng;
    int64_t days = sim_ndays(cfg);
    /* The drop after an OS update (reference: early July): 2008-07-09..11 when in the
     * period, else 40% into it. */
    int64_t drop = ks_days_from_civil(2008, 7, 9) - cfg->from_day;
    if (drop < 0 || drop + 3 > days)
        drop = (int64_t)floor((double)days * 0.4);
    struct sim_file f;
    int rc = sim_open(p, &f, "series/traffic.csv");
    if (rc != KS_OK)
        return rc;
    sim_printf(&f, "ts,sensor,metric,key,value\n");
    for (int64_t d = 0; d < days; d++) {
        int64_t d0 = sim_day_start(cfg, cfg->from_day + d);
        for (int h = 0; h < 24; h++) {
            double v = 24.0 * 1200.0 * sim_diurnal(h) * (1.0 + 0.002 * (double)d);
            if (d >= drop && d < drop + 3)
                v *= d == drop ? 0.62 : 0.55;
            v += 80.0 * sim_unit(r);
            sim_printf(&f, "%lld,demo-link,traffic_mbps,total,%.1f\n", (long long)(d0 + h * HOUR),
                       v);
        }
    }
    return sim_close(p, &f);
}
