/* Campaigns: detections grouped over time by source, target and signature mix, then classified
 * as data theft, database overload, defacement or unknown (rules in README.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_sqli.h"

struct strtab {
    char **s;
    uint32_t n, cap;
    uint32_t *slot; /* 1 + index, 0 = empty; size 2 * cap */
    uint32_t nslots;
};

struct ev {
    int64_t t;
    uint32_t src, host;
    uint16_t sig;
    uint32_t sess;
};

struct sess {
    uint32_t src, first, n; /* events [first, first + n) in source order */
    int64_t t0, t1;
    uint16_t topsig;
    uint32_t ntargets;
    uint32_t parent; /* union-find */
};

struct ks_sqli_campaigns {
    struct ks_sqli_campaign_config cfg;
    struct strtab src, host, sig;
    char (*country)[3]; /* per source */
    struct ev *ev;
    size_t nev, cap;
    uint64_t dropped;
    struct ks_sqli_campaign *camp;
    size_t ncamp;
};

void ks_sqli_campaign_config_default(struct ks_sqli_campaign_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->session_gap_us = 3600LL * 1000000;
    cfg->merge_gap_us = 24 * 3600LL * 1000000;
    cfg->sweep_targets = 5;
    cfg->min_detections = 5;
    cfg->max_events = 20000000;
    cfg->home_country = "JP";
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int intern(struct strtab *t, const char *s, uint32_t *id)
{
    if (2 * (t->n + 1) > t->nslots) {
        uint32_t ns = t->nslots ? 2 * t->nslots : 1024;
        uint32_t *sl = calloc(ns, sizeof *sl);
        char **arr = realloc(t->s, (size_t)ns / 2 * sizeof *arr);
        if (!sl || !arr) {
            free(sl);
            if (arr)
                t->s = arr;
            return KS_ENOMEM;
        }
        t->s = arr;
        for (uint32_t i = 0; i < t->n; i++) {
            uint32_t k = (uint32_t)fnv(t->s[i]) & (ns - 1);
            while (sl[k])
                k = (k + 1) & (ns - 1);
            sl[k] = i + 1;
        }
        free(t->slot);
        t->slot = sl;
        t->nslots = ns;
    }
    uint32_t k = (uint32_t)fnv(s) & (t->nslots - 1);
    for (; t->slot[k]; k = (k + 1) & (t->nslots - 1))
        if (strcmp(t->s[t->slot[k] - 1], s) == 0) {
            *id = t->slot[k] - 1;
            return KS_OK;
        }
    char *c = strdup(s);
    if (!c)
        return KS_ENOMEM;
    t->s[t->n] = c;
    t->slot[k] = t->n + 1;
    *id = t->n++;
    return KS_OK;
}

static void strtab_free(struct strtab *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        free(t->s[i]);
    free(t->s);
    free(t->slot);
}

int ks_sqli_campaigns_new(const struct ks_sqli_campaign_config *cfg, struct ks_sqli_campaigns **cp)
{
    *cp = NULL;
    struct ks_sqli_campaigns *c = calloc(1, sizeof *c);
    if (!c)
        return KS_ENOMEM;
    if (cfg)
        c->cfg = *cfg;
    else
        ks_sqli_campaign_config_default(&c->cfg);
    *cp = c;
    return KS_OK;
}

void ks_sqli_campaigns_free(struct ks_sqli_campaigns *c)
{
    if (!c)
        return;
    strtab_free(&c->src);
    strtab_free(&c->host);
    strtab_free(&c->sig);
    free(c->country);
    free(c->ev);
    for (size_t i = 0; i < c->ncamp; i++)
        free(c->camp[i].features);
    free(c->camp);
    free(c);
}

int ks_sqli_campaigns_add(struct ks_sqli_campaigns *c, int64_t t_us, const char *source,
                          const char *host, const char *signature, const char *country)
{
    if (c->nev >= c->cfg.max_events) {
        c->dropped++;
        return KS_ELIMIT;
    }
    if (c->nev == c->cap) {
        size_t nc = c->cap ? 2 * c->cap : 4096;
        struct ev *e = realloc(c->ev, nc * sizeof *e);
        if (!e)
            return KS_ENOMEM;
        c->ev = e;
        c->cap = nc;
    }
    struct ev *e = &c->ev[c->nev];
    uint32_t sig;
    uint32_t n0 = c->src.n;
    int rc;
    if ((rc = intern(&c->src, source ? source : "", &e->src)) ||
        (rc = intern(&c->host, host ? host : "", &e->host)) ||
        (rc = intern(&c->sig, signature ? signature : "", &sig)))
        return rc;
    if (c->src.n != n0) {
        char(*cc)[3] = realloc(c->country, (size_t)c->src.n * sizeof *cc);
        if (!cc)
            return KS_ENOMEM;
        c->country = cc;
        const char *x = country && strlen(country) == 2 ? country : "--";
        memcpy(c->country[e->src], x, 3);
    }
    e->t = t_us;
    e->sig = (uint16_t)(sig > 65535 ? 65535 : sig);
    c->nev++;
    return KS_OK;
}

static int by_src_time(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    if (x->src != y->src)
        return x->src < y->src ? -1 : 1;
    return (x->t > y->t) - (x->t < y->t);
}

static uint32_t find(struct sess *s, uint32_t i)
{
    while (s[i].parent != i) {
        s[i].parent = s[s[i].parent].parent;
        i = s[i].parent;
    }
    return i;
}

struct link {
    uint32_t host, sig;
    int64_t t0, t1;
    uint32_t sess;
};

static int by_link(const void *a, const void *b)
{
    const struct link *x = a, *y = b;
    if (x->host != y->host)
        return x->host < y->host ? -1 : 1;
    if (x->sig != y->sig)
        return x->sig < y->sig ? -1 : 1;
    return (x->t0 > y->t0) - (x->t0 < y->t0);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static uint32_t distinct(uint32_t *v, size_t n)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, cmp_u32);
    uint32_t d = 1;
    for (size_t i = 1; i < n; i++)
        d += v[i] != v[i - 1];
    return d;
}

struct member {
    uint32_t camp, ev;
};

static int by_member(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    if (x->camp != y->camp)
        return x->camp < y->camp ? -1 : 1;
    return (x->ev > y->ev) - (x->ev < y->ev);
}

static void classify(const struct ks_sqli_campaigns *c, struct ks_sqli_campaign *k)
{
    const struct ks_sqli_campaign_config *g = &c->cfg;
    double hours = (double)(k->end_us - k->start_us) / 3.6e9;
    bool dom_ok = k->domestic_share < 0 || k->domestic_share >= 0.5;
    if (k->sources <= 2 && k->targets >= g->sweep_targets)
        k->kind = KS_SQLI_CAMPAIGN_DEFACEMENT;
    else if (k->sources <= 5 && k->targets <= 3 && k->peak_per_min >= 20 &&
             k->active_minutes <= 120 && dom_ok)
        k->kind = KS_SQLI_CAMPAIGN_THEFT;
    else if (k->targets <= 3 && k->sources >= 10 && hours >= 12 && k->top_source_share <= 0.25)
        k->kind = KS_SQLI_CAMPAIGN_OVERLOAD;
    else
        k->kind = KS_SQLI_CAMPAIGN_UNKNOWN;
}

const char *ks_sqli_campaign_kind_name(enum ks_sqli_campaign_kind k)
{
    switch (k) {
    case KS_SQLI_CAMPAIGN_THEFT:
        return "data_theft";
    case KS_SQLI_CAMPAIGN_OVERLOAD:
        return "db_overload";
    case KS_SQLI_CAMPAIGN_DEFACEMENT:
        return "defacement";
    default:
        return "unknown";
    }
}

int ks_sqli_campaigns_finish(struct ks_sqli_campaigns *c)
{
    int rc = KS_ENOMEM;
    struct sess *ss = NULL;
    struct link *ln = NULL;
    struct member *mb = NULL;
    uint32_t *tmp = NULL;
    int64_t *tt = NULL;
    uint32_t *sigc = NULL;
    size_t nss = 0, nln = 0;
    if (!c->nev)
        return KS_OK;
    qsort(c->ev, c->nev, sizeof *c->ev, by_src_time);
    /* 1. sessions: one source's detections with gaps of at most session_gap */
    ss = calloc(c->nev, sizeof *ss);
    tmp = malloc(c->nev * sizeof *tmp);
    tt = malloc(c->nev * sizeof *tt);
    sigc = calloc(c->sig.n ? c->sig.n : 1, sizeof *sigc);
    if (!ss || !tmp || !tt || !sigc)
        goto out;
    for (size_t i = 0; i < c->nev;) {
        size_t j = i + 1;
        while (j < c->nev && c->ev[j].src == c->ev[i].src &&
               c->ev[j].t - c->ev[j - 1].t <= c->cfg.session_gap_us)
            j++;
        struct sess *s = &ss[nss];
        *s = (struct sess){.src = c->ev[i].src,
                           .first = (uint32_t)i,
                           .n = (uint32_t)(j - i),
                           .t0 = c->ev[i].t,
                           .t1 = c->ev[j - 1].t,
                           .parent = (uint32_t)nss};
        uint32_t best = 0;
        for (size_t k = i; k < j; k++) {
            c->ev[k].sess = (uint32_t)nss;
            tmp[k - i] = c->ev[k].host;
            if (++sigc[c->ev[k].sig] > sigc[best] ||
                (sigc[c->ev[k].sig] == sigc[best] && c->ev[k].sig < best))
                best = c->ev[k].sig;
        }
        for (size_t k = i; k < j; k++)
            sigc[c->ev[k].sig] = 0;
        s->topsig = (uint16_t)best;
        s->ntargets = distinct(tmp, j - i);
        nss++;
        i = j;
    }
    /* 2. sessions on the same target with the same main signature, in overlapping periods
     *    (merge_gap of slack), join one campaign; a sweep over many targets stays alone */
    ln = malloc(c->nev * sizeof *ln);
    if (!ln)
        goto out;
    for (size_t i = 0; i < nss; i++) {
        if (ss[i].ntargets >= c->cfg.sweep_targets)
            continue;
        for (uint32_t k = 0; k < ss[i].n; k++)
            tmp[k] = c->ev[ss[i].first + k].host;
        qsort(tmp, ss[i].n, sizeof *tmp, cmp_u32);
        for (uint32_t k = 0; k < ss[i].n; k++)
            if (!k || tmp[k] != tmp[k - 1])
                ln[nln++] = (struct link){tmp[k], ss[i].topsig, ss[i].t0, ss[i].t1, (uint32_t)i};
    }
    qsort(ln, nln, sizeof *ln, by_link);
    for (size_t i = 0; i < nln;) {
        size_t j = i + 1;
        int64_t end = ln[i].t1;
        while (j < nln && ln[j].host == ln[i].host && ln[j].sig == ln[i].sig) {
            if (ln[j].t0 <= end + c->cfg.merge_gap_us) {
                uint32_t a = find(ss, ln[j - 1].sess), b = find(ss, ln[j].sess);
                if (a != b)
                    ss[b].parent = a;
            }
            if (ln[j].t1 > end)
                end = ln[j].t1;
            j++;
        }
        i = j;
    }
    /* 3. campaigns and their features */
    mb = malloc(c->nev * sizeof *mb);
    if (!mb)
        goto out;
    for (size_t i = 0; i < c->nev; i++)
        mb[i] = (struct member){find(ss, c->ev[i].sess), (uint32_t)i};
    qsort(mb, c->nev, sizeof *mb, by_member);
    for (size_t i = 0; i < c->nev;) {
        size_t j = i + 1;
        while (j < c->nev && mb[j].camp == mb[i].camp)
            j++;
        size_t n = j - i;
        if (n < c->cfg.min_detections) {
            i = j;
            continue;
        }
        struct ks_sqli_campaign *cs = realloc(c->camp, (c->ncamp + 1) * sizeof *cs);
        if (!cs)
            goto out;
        c->camp = cs;
        struct ks_sqli_campaign *k = &c->camp[c->ncamp];
        memset(k, 0, sizeof *k);
        k->id = (uint32_t)c->ncamp + 1;
        k->detections = n;
        k->start_us = INT64_MAX;
        k->end_us = INT64_MIN;
        uint32_t best = 0, nsig = 0;
        for (size_t m = i; m < j; m++) {
            const struct ev *e = &c->ev[mb[m].ev];
            if (e->t < k->start_us)
                k->start_us = e->t;
            if (e->t > k->end_us)
                k->end_us = e->t;
            tt[m - i] = e->t;
            if (sigc[e->sig]++ == 0)
                nsig++;
            if (sigc[e->sig] > sigc[best] || (sigc[e->sig] == sigc[best] && e->sig < best))
                best = e->sig;
        }
        k->top_signature = c->sig.s[best];
        k->top_signature_share = (double)sigc[best] / (double)n;
        k->signatures = nsig;
        for (size_t m = i; m < j; m++)
            sigc[c->ev[mb[m].ev].sig] = 0;
        /* peak per minute (sliding 60 s) and active minutes */
        qsort(tt, n, sizeof *tt, cmp_i64);
        uint32_t peak = 0, active = 0;
        int64_t lastmin = INT64_MIN;
        for (size_t a = 0, b = 0; b < n; b++) {
            while (tt[b] - tt[a] >= 60000000)
                a++;
            if (b - a + 1 > peak)
                peak = (uint32_t)(b - a + 1);
            int64_t mn = tt[b] / 60000000;
            if (mn != lastmin)
                active++;
            lastmin = mn;
        }
        k->peak_per_min = peak;
        k->active_minutes = active;
        /* sources, targets, top source share, domestic share */
        for (size_t m = i; m < j; m++)
            tmp[m - i] = c->ev[mb[m].ev].host;
        k->targets = distinct(tmp, n);
        k->top_host = c->host.s[tmp[0]];
        for (size_t m = i; m < j; m++)
            tmp[m - i] = c->ev[mb[m].ev].src;
        qsort(tmp, n, sizeof *tmp, cmp_u32);
        uint32_t run = 0, top = 0, srcs = 0, known = 0, dom = 0, topsrc = tmp[0];
        for (size_t m = 0; m < n; m++) {
            run = (m && tmp[m] == tmp[m - 1]) ? run + 1 : 1;
            if (run > top) {
                top = run;
                topsrc = tmp[m];
            }
            if (!m || tmp[m] != tmp[m - 1]) {
                srcs++;
                const char *cc = c->country[tmp[m]];
                if (strcmp(cc, "--") != 0) {
                    known++;
                    dom += c->cfg.home_country && strcmp(cc, c->cfg.home_country) == 0;
                }
            }
        }
        k->sources = srcs;
        k->top_source = c->src.s[topsrc];
        k->top_source_share = (double)top / (double)n;
        k->domestic_share = known ? (double)dom / (double)known : -1.0;
        classify(c, k);
        char buf[512];
        char dombuf[32];
        if (k->domestic_share < 0)
            snprintf(dombuf, sizeof dombuf, "unknown");
        else
            snprintf(dombuf, sizeof dombuf, "%.0f%%", 100 * k->domestic_share);
        snprintf(buf, sizeof buf,
                 "sources=%u targets=%u hours=%.1f detections=%llu peak_per_min=%u "
                 "active_minutes=%u top_source_share=%.0f%% domestic=%s signatures=%u",
                 k->sources, k->targets, (double)(k->end_us - k->start_us) / 3.6e9,
                 (unsigned long long)k->detections, k->peak_per_min, k->active_minutes,
                 100 * k->top_source_share, dombuf, k->signatures);
        if (!(k->features = strdup(buf)))
            goto out;
        c->ncamp++;
        i = j;
    }
    rc = KS_OK;
out:
    free(ss);
    free(ln);
    free(mb);
    free(tmp);
    free(tt);
    free(sigc);
    return rc;
}

size_t ks_sqli_campaigns_count(const struct ks_sqli_campaigns *c)
{
    return c->ncamp;
}

const struct ks_sqli_campaign *ks_sqli_campaigns_get(const struct ks_sqli_campaigns *c, size_t i)
{
    return i < c->ncamp ? &c->camp[i] : NULL;
}

uint64_t ks_sqli_campaigns_dropped(const struct ks_sqli_campaigns *c)
{
    return c->dropped;
}
