/* The hijack watcher: the route of every (prefix, peer, path id), the open alerts by (type,
 * prefix, origin), and the origins of each prefix (for MOAS), in three bounded tables. An
 * alert counts the routes that carry it; it clears when the last of them is withdrawn or
 * replaced by another origin. */
#include "kansoku/ks_bgp.h"
#include "kansoku/ks_table.h"

#include "bgp/bgp_int.h"

#include <stdlib.h>
#include <string.h>

struct route_key {
    uint8_t pb[16];
    uint8_t pfam, plen;
    uint8_t peer[16];
    uint8_t peerfam;
    uint8_t pad;
    uint32_t path_id;
};

struct route_val {
    uint32_t origin;
    uint8_t alert_type; /* the alert this route counts in, 0 = none */
};

struct alert_key {
    uint8_t pb[16];
    uint8_t pfam, plen, type, pad;
    uint32_t origin;
};

#define MOAS_SLOTS 4

struct pfx_key {
    uint8_t pb[16];
    uint8_t pfam, plen, pad[2];
};

struct pfx_val {
    uint32_t origin[MOAS_SLOTS];
    uint32_t routes[MOAS_SLOTS];
    uint8_t n;
    uint8_t ever; /* distinct origins seen (saturating) */
    uint8_t moas_open;
    uint32_t moas_origin;
};

struct ks_bgp_watch {
    struct ks_bgp_watch_config cfg;
    const struct ks_bgp_expect *exp;
    ks_bgp_alert_fn fn;
    void *user;
    struct ks_table *routes, *alerts, *pfx;
    struct ks_bgp_watch_stats st;
};

void ks_bgp_watch_config_default(struct ks_bgp_watch_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_routes = 1u << 20;
    cfg->max_alerts = 65536;
    cfg->max_prefixes = 1u << 20;
    cfg->moas = true;
}

static int table(size_t key, size_t val, size_t cap, struct ks_table **t)
{
    struct ks_table_config tc;
    ks_table_config_default(&tc);
    tc.key_size = key;
    tc.value_size = val;
    tc.capacity = cap ? cap : 1;
    tc.evict = KS_TABLE_EVICT_NONE; /* an evicted route would leave its alert's count wrong */
    tc.seed = 0x6b616e736f6b75ull;
    return ks_table_new(&tc, t);
}

int ks_bgp_watch_new(const struct ks_bgp_watch_config *cfg, const struct ks_bgp_expect *exp,
                     ks_bgp_alert_fn fn, void *user, struct ks_bgp_watch **wp)
{
    struct ks_bgp_watch *w = calloc(1, sizeof *w);
    int rc = KS_OK;
    *wp = NULL;
    if (!w)
        return KS_ENOMEM;
    if (cfg)
        w->cfg = *cfg;
    else
        ks_bgp_watch_config_default(&w->cfg);
    w->exp = exp;
    w->fn = fn;
    w->user = user;
    if ((rc = table(sizeof(struct route_key), sizeof(struct route_val), w->cfg.max_routes,
                    &w->routes)) != KS_OK ||
        (rc = table(sizeof(struct alert_key), sizeof(struct ks_bgp_alert), w->cfg.max_alerts,
                    &w->alerts)) != KS_OK ||
        (rc = table(sizeof(struct pfx_key), sizeof(struct pfx_val), w->cfg.max_prefixes,
                    &w->pfx)) != KS_OK) {
        ks_bgp_watch_free(w);
        return rc;
    }
    *wp = w;
    return KS_OK;
}

void ks_bgp_watch_free(struct ks_bgp_watch *w)
{
    if (!w)
        return;
    ks_table_free(w->routes);
    ks_table_free(w->alerts);
    ks_table_free(w->pfx);
    free(w);
}

static void emit(struct ks_bgp_watch *w, struct ks_bgp_alert *a, int event)
{
    a->event = (uint8_t)event;
    if (event == KS_BGP_EVENT_CLEAR)
        w->st.cleared++;
    if (w->fn)
        w->fn(w->user, a);
}

static uint32_t stamp(int64_t us)
{
    return (uint32_t)(us / 1000000);
}

static void alert_key_of(struct alert_key *k, const struct ks_prefix *p, int type, uint32_t origin)
{
    memset(k, 0, sizeof *k);
    memcpy(k->pb, p->addr.b, 16);
    k->pfam = p->addr.family;
    k->plen = p->len;
    k->type = (uint8_t)type;
    k->origin = origin;
}

/* A route starts counting in an alert; raises it when new. false: the alert table is full. */
static bool alert_enter(struct ks_bgp_watch *w, int type, const struct ks_prefix *p,
                        uint32_t origin, const struct bgp_match *mt, const struct ks_bgp_elem *e)
{
    struct alert_key k;
    alert_key_of(&k, p, type, origin);
    bool is_new = false;
    struct ks_bgp_alert *a = ks_table_upsert(w->alerts, &k, stamp(e->time_us), &is_new);
    if (!a) {
        w->st.alerts_dropped++;
        return false;
    }
    if (is_new) {
        memset(a, 0, sizeof *a);
        a->type = (uint8_t)type;
        a->prefix = *p;
        a->origin_as = origin;
        if (mt) {
            a->expected_prefix = mt->expected_prefix;
            memcpy(a->expected_as, mt->expected_as, sizeof a->expected_as);
            a->n_expected = mt->n_expected;
        }
        a->first_seen_us = a->last_seen_us = e->time_us;
        a->first_peer = e->peer;
        a->first_peer_as = e->peer_as;
        a->peers = 0;
        w->st.alerts[type]++;
    }
    a->peers++;
    if (a->peers > a->max_peers)
        a->max_peers = a->peers;
    if (e->time_us > a->last_seen_us)
        a->last_seen_us = e->time_us;
    if (is_new) {
        struct ks_bgp_alert copy = *a;
        emit(w, &copy, KS_BGP_EVENT_RAISE);
    }
    return true;
}

/* A route stops counting in an alert; clears it with the last one. */
static void alert_leave(struct ks_bgp_watch *w, int type, const struct ks_prefix *p,
                        uint32_t origin, int64_t t)
{
    struct alert_key k;
    alert_key_of(&k, p, type, origin);
    struct ks_bgp_alert *a = ks_table_find(w->alerts, &k);
    if (!a)
        return;
    if (a->peers)
        a->peers--;
    if (a->peers)
        return;
    struct ks_bgp_alert copy = *a;
    copy.cleared_us = t;
    if (t > copy.last_seen_us)
        copy.last_seen_us = t;
    ks_table_remove(w->alerts, &k);
    emit(w, &copy, KS_BGP_EVENT_CLEAR);
}

static void pfx_key_of(struct pfx_key *k, const struct ks_prefix *p)
{
    memset(k, 0, sizeof *k);
    memcpy(k->pb, p->addr.b, 16);
    k->pfam = p->addr.family;
    k->plen = p->len;
}

static unsigned active_origins(const struct pfx_val *v)
{
    unsigned n = 0;
    for (unsigned i = 0; i < v->n; i++)
        n += v->routes[i] > 0;
    return n;
}

static void moas_match(const struct pfx_val *v, uint32_t except, struct bgp_match *mt)
{
    memset(mt, 0, sizeof *mt);
    for (unsigned i = 0; i < v->n; i++)
        if (v->routes[i] && v->origin[i] != except) {
            if (mt->n_expected < 8)
                mt->expected_as[mt->n_expected] = v->origin[i];
            mt->n_expected++;
        }
}

static void pfx_enter(struct ks_bgp_watch *w, const struct ks_prefix *p, uint32_t origin,
                      const struct ks_bgp_elem *e)
{
    struct pfx_key k;
    pfx_key_of(&k, p);
    bool is_new = false;
    struct pfx_val *v = ks_table_upsert(w->pfx, &k, stamp(e->time_us), &is_new);
    if (!v) {
        w->st.prefixes_dropped++;
        return;
    }
    unsigned i;
    for (i = 0; i < v->n && v->origin[i] != origin; i++)
        ;
    if (i == v->n) {
        if (v->n < MOAS_SLOTS) {
            v->n++;
        } else {
            for (i = 0; i < v->n && v->routes[i]; i++)
                ;
            if (i == v->n) {
                w->st.prefixes_dropped++;
                return;
            }
        }
        v->origin[i] = origin;
        v->routes[i] = 0;
        if (v->ever < 255)
            v->ever++;
        if (v->ever == 2)
            w->st.moas_prefixes++;
    }
    v->routes[i]++;
    if (!w->cfg.moas)
        return;
    if (!v->moas_open && active_origins(v) >= 2) {
        struct bgp_match mt;
        moas_match(v, origin, &mt);
        mt.expected_prefix = *p;
        v->moas_open = 1;
        v->moas_origin = origin;
        /* the MOAS alert counts the routes of the origin that made it */
        for (uint32_t r = 0; r < v->routes[i]; r++)
            if (!alert_enter(w, KS_BGP_ALERT_MOAS, p, origin, &mt, e))
                break;
    } else if (v->moas_open && v->moas_origin == origin) {
        alert_enter(w, KS_BGP_ALERT_MOAS, p, origin, NULL, e);
    }
}

static void pfx_leave(struct ks_bgp_watch *w, const struct ks_prefix *p, uint32_t origin, int64_t t)
{
    struct pfx_key k;
    pfx_key_of(&k, p);
    struct pfx_val *v = ks_table_find(w->pfx, &k);
    if (!v)
        return;
    for (unsigned i = 0; i < v->n; i++)
        if (v->origin[i] == origin && v->routes[i]) {
            v->routes[i]--;
            break;
        }
    if (!v->moas_open)
        return;
    if (origin == v->moas_origin)
        alert_leave(w, KS_BGP_ALERT_MOAS, p, origin, t);
    if (active_origins(v) <= 1) {
        /* back to one origin: whatever the MOAS alert still counts goes */
        struct alert_key ak;
        alert_key_of(&ak, p, KS_BGP_ALERT_MOAS, v->moas_origin);
        struct ks_bgp_alert *a = ks_table_find(w->alerts, &ak);
        if (a) {
            a->peers = 1;
            alert_leave(w, KS_BGP_ALERT_MOAS, p, v->moas_origin, t);
        }
        v->moas_open = 0;
    }
}

static void route_key_of(struct route_key *k, const struct ks_bgp_elem *e)
{
    memset(k, 0, sizeof *k);
    memcpy(k->pb, e->prefix.addr.b, 16);
    k->pfam = e->prefix.addr.family;
    k->plen = e->prefix.len;
    memcpy(k->peer, e->peer.b, 16);
    k->peerfam = e->peer.family;
    k->path_id = e->path_id;
}

static void route_leave(struct ks_bgp_watch *w, const struct route_key *k,
                        const struct route_val *v, int64_t t)
{
    struct ks_prefix p;
    memset(&p, 0, sizeof p);
    p.addr.family = k->pfam;
    memcpy(p.addr.b, k->pb, 16);
    p.len = k->plen;
    if (v->alert_type)
        alert_leave(w, v->alert_type, &p, v->origin, t);
    pfx_leave(w, &p, v->origin, t);
}

struct peer_down {
    struct ks_bgp_watch *w;
    struct ks_addr peer;
    int64_t t;
    struct route_key *keys;
    struct route_val *vals;
    size_t n, cap;
};

static unsigned collect_peer(void *user, const void *key, void *value, uint32_t st)
{
    (void)st;
    struct peer_down *pd = user;
    const struct route_key *k = key;
    if (k->peerfam != pd->peer.family || memcmp(k->peer, pd->peer.b, 16) != 0)
        return KS_TABLE_NEXT;
    if (pd->n == pd->cap)
        return KS_TABLE_NEXT; /* handled in a further pass */
    pd->keys[pd->n] = *k;
    pd->vals[pd->n] = *(const struct route_val *)value;
    pd->n++;
    return KS_TABLE_REMOVE;
}

/* RFC 6396 4.4.1: a session that leaves Established (6) takes its routes with it. */
static void peer_down(struct ks_bgp_watch *w, const struct ks_bgp_elem *e)
{
    struct route_key keys[256];
    struct route_val vals[256];
    struct peer_down pd = {w, e->peer, e->time_us, keys, vals, 0, 256};
    do {
        pd.n = 0;
        ks_table_foreach(w->routes, collect_peer, &pd);
        for (size_t i = 0; i < pd.n; i++)
            route_leave(w, &keys[i], &vals[i], e->time_us);
    } while (pd.n == pd.cap);
}

int ks_bgp_watch_feed(struct ks_bgp_watch *w, const struct ks_bgp_elem *e)
{
    w->st.elems++;
    if (e->type == KS_BGP_ELEM_STATE) {
        if (e->old_state == 6 && e->new_state != 6)
            peer_down(w, e);
        return KS_OK;
    }
    if (e->type != KS_BGP_ELEM_ANNOUNCE && e->type != KS_BGP_ELEM_RIB &&
        e->type != KS_BGP_ELEM_WITHDRAW)
        return KS_OK;
    struct route_key k;
    route_key_of(&k, e);
    struct route_val *old = ks_table_find(w->routes, &k);
    struct route_val prev = {0, 0};
    bool had = old != NULL;
    if (old)
        prev = *old;
    if (e->type == KS_BGP_ELEM_WITHDRAW) {
        w->st.withdrawals++;
        if (had) {
            ks_table_remove(w->routes, &k);
            route_leave(w, &k, &prev, e->time_us);
        }
        return KS_OK;
    }
    if (e->origin_kind != KS_BGP_ORIGIN_AS) {
        /* an AS_SET (or no) origin: ambiguous, never an alert (counted); it replaces the route */
        w->st.set_origin++;
        if (had) {
            ks_table_remove(w->routes, &k);
            route_leave(w, &k, &prev, e->time_us);
        }
        return KS_OK;
    }
    w->st.announcements++;
    uint32_t origin = e->origin_as;
    if (had && prev.origin == origin) {
        /* same route again: only the time moves */
        if (prev.alert_type) {
            struct alert_key ak;
            alert_key_of(&ak, &e->prefix, prev.alert_type, origin);
            struct ks_bgp_alert *a = ks_table_find(w->alerts, &ak);
            if (a && e->time_us > a->last_seen_us)
                a->last_seen_us = e->time_us;
        }
        struct bgp_match mt;
        bgp_expect_match(w->exp, &e->prefix, origin, &mt);
        if (mt.status == BGP_VALID)
            w->st.valid++;
        else if (mt.status == BGP_UNCOVERED)
            w->st.uncovered++;
        return KS_OK;
    }
    if (had) {
        ks_table_remove(w->routes, &k);
        route_leave(w, &k, &prev, e->time_us);
    }
    struct route_val *v = ks_table_upsert(w->routes, &k, stamp(e->time_us), NULL);
    if (!v) {
        w->st.routes_dropped++;
        return KS_OK;
    }
    v->origin = origin;
    v->alert_type = 0;
    struct bgp_match mt;
    bgp_expect_match(w->exp, &e->prefix, origin, &mt);
    int type = 0;
    switch (mt.status) {
    case BGP_VALID:
        w->st.valid++;
        break;
    case BGP_UNCOVERED:
        w->st.uncovered++;
        break;
    case BGP_EXACT_MISMATCH:
        type = KS_BGP_ALERT_ORIGIN;
        break;
    case BGP_SUBPREFIX:
        type = KS_BGP_ALERT_SUBPREFIX;
        break;
    case BGP_MORE_SPECIFIC:
        type = KS_BGP_ALERT_MORE_SPECIFIC;
        break;
    default:
        break;
    }
    if (type && alert_enter(w, type, &e->prefix, origin, &mt, e)) {
        /* the table may have moved: find the route again */
        v = ks_table_find(w->routes, &k);
        if (v)
            v->alert_type = (uint8_t)type;
    }
    pfx_enter(w, &e->prefix, origin, e);
    return KS_OK;
}

static unsigned end_alert(void *user, const void *key, void *value, uint32_t st)
{
    (void)key;
    (void)st;
    struct ks_bgp_watch *w = user;
    struct ks_bgp_alert copy = *(struct ks_bgp_alert *)value;
    emit(w, &copy, KS_BGP_EVENT_END);
    return KS_TABLE_NEXT;
}

void ks_bgp_watch_finish(struct ks_bgp_watch *w)
{
    ks_table_foreach(w->alerts, end_alert, w);
}

void ks_bgp_watch_stats(const struct ks_bgp_watch *w, struct ks_bgp_watch_stats *st)
{
    *st = w->st;
}

const char *ks_bgp_alert_type_name(int type)
{
    switch (type) {
    case KS_BGP_ALERT_ORIGIN:
        return "origin";
    case KS_BGP_ALERT_SUBPREFIX:
        return "subprefix";
    case KS_BGP_ALERT_MORE_SPECIFIC:
        return "more_specific";
    case KS_BGP_ALERT_MOAS:
        return "moas";
    default:
        return "unknown";
    }
}

const char *ks_bgp_alert_event_name(int event)
{
    switch (event) {
    case KS_BGP_EVENT_RAISE:
        return "raise";
    case KS_BGP_EVENT_CLEAR:
        return "clear";
    case KS_BGP_EVENT_END:
        return "end";
    default:
        return "unknown";
    }
}
