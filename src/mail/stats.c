/* Spam statistics from the stored mail: ratios per ISO week and day, the period against the
 * year before, senders by country, messages per sending address, campaigns (by subject key,
 * by URL domains, by body fuzzy hash) with daily shares and bursts, SPF results per month.
 *
 * The rows of the period are read once into memory (compact: numbers and offsets into one
 * string pool); groups are counted in bounded tables (ks_table, no eviction: groups beyond
 * the capacity are dropped and counted). */
#include "kansoku/ks_mail.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_table.h"
#include "kansoku/ks_time.h"
#include "mail_int.h"

#include <fuzzy.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROWS 20000000u
#define MAX_GROUPS 1000000u
#define MAX_SENDERS 4000000u
#define FUZZY_REPS 20000u
#define FUZZY_CMP 400u
#define VARIANTS 8u

void ks_mail_stats_config_default(struct ks_mail_stats_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->min_campaign = 10;
    cfg->max_campaigns = 20;
    cfg->burst_factor = 3.0;
    cfg->burst_min_share = 0.01;
    cfg->fuzzy_threshold = 60;
}

enum { K_SUBJECT, K_DOMAINS, K_FUZZY, K_N };
static const char *const kind_names[K_N] = {"subject", "url_domains", "fuzzy"};

struct row {
    int64_t ts;
    int64_t day; /* start of the local day, µs */
    struct ks_addr sender;
    char country[3];
    uint8_t verdict;                        /* enum ks_mail_verdict */
    uint8_t spf;                            /* enum ks_mail_spf */
    uint32_t s_key, s_dom, s_fuzzy, s_subj; /* string pool offsets (0 = empty) */
    int32_t g[K_N];                         /* group index, -1 if none */
};

struct group {
    uint32_t key; /* string pool offset */
    uint32_t count, spam;
};

struct ctx {
    const struct ks_mail_stats_config *cfg;
    struct row *rows;
    size_t n, cap;
    char *pool;
    size_t plen, pcap;
    bool over;
    int err;
    /* groups */
    struct group *groups[K_N];
    size_t ng[K_N], gcap[K_N];
    uint64_t dropped_groups;
};

static uint32_t pool_add(struct ctx *c, const void *s, size_t n)
{
    if (n == 0)
        return 0;
    if (c->plen + n + 1 > UINT32_MAX) {
        c->err = KS_ELIMIT;
        return 0;
    }
    if (c->plen + n + 1 > c->pcap) {
        size_t nc = c->pcap ? c->pcap * 2 : 1u << 20;
        while (nc < c->plen + n + 1)
            nc *= 2;
        char *np = realloc(c->pool, nc);
        if (!np) {
            c->err = KS_ENOMEM;
            return 0;
        }
        c->pool = np;
        c->pcap = nc;
    }
    uint32_t off = (uint32_t)c->plen;
    memcpy(c->pool + c->plen, s, n);
    c->pool[c->plen + n] = '\0';
    c->plen += n + 1;
    return off;
}

static const char *pstr(const struct ctx *c, uint32_t off)
{
    return off ? c->pool + off : "";
}

static enum ks_mail_verdict verdict_of(const char *s, size_t n)
{
    if (mail_ieq(s, n, "spam"))
        return KS_MAIL_SPAM;
    if (mail_ieq(s, n, "ham"))
        return KS_MAIL_HAM;
    return KS_MAIL_UNKNOWN;
}

static enum ks_mail_spf spf_of(const char *s, size_t n)
{
    for (int r = KS_MAIL_SPF_ABSENT; r <= KS_MAIL_SPF_PERMERROR; r++)
        if (mail_ieq(s, n, ks_mail_spf_name((enum ks_mail_spf)r)))
            return (enum ks_mail_spf)r;
    return KS_MAIL_SPF_ABSENT;
}

static int on_row(void *user, size_t ncols, const char *const *names,
                  const struct ks_store_value *v)
{
    struct ctx *c = user;
    (void)names;
    if (ncols < 9)
        return 1;
    if (c->n >= MAX_ROWS) {
        c->over = true;
        return 0;
    }
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 4096;
        struct row *nr = realloc(c->rows, nc * sizeof *nr);
        if (!nr) {
            c->err = KS_ENOMEM;
            return 1;
        }
        c->rows = nr;
        c->cap = nc;
    }
    struct row *r = &c->rows[c->n];
    memset(r, 0, sizeof *r);
#define TXT(i) ((v[i].type == KS_TYPE_TEXT || v[i].type == KS_TYPE_ADDR) ? v[i].v.bytes.ptr : "")
#define TLEN(i) ((v[i].type == KS_TYPE_TEXT || v[i].type == KS_TYPE_ADDR) ? v[i].v.bytes.len : 0)
    r->ts = v[0].type == KS_TYPE_NULL ? 0 : v[0].v.i64;
    r->day = r->ts ? ks_time_bucket(r->ts, KS_BUCKET_DAY, c->cfg->tz_offset_s) : 0;
    r->verdict = (uint8_t)verdict_of(TXT(1), TLEN(1));
    if (TLEN(2))
        ks_addr_parse(TXT(2), TLEN(2), &r->sender);
    if (TLEN(3) == 2)
        memcpy(r->country, TXT(3), 2);
    else
        memcpy(r->country, "--", 2);
    r->s_key = pool_add(c, TXT(4), TLEN(4));
    r->s_dom = pool_add(c, TXT(5), TLEN(5));
    r->s_fuzzy = pool_add(c, TXT(6), TLEN(6));
    r->spf = (uint8_t)spf_of(TXT(7), TLEN(7));
    r->s_subj = pool_add(c, TXT(8), TLEN(8));
#undef TXT
#undef TLEN
    for (int k = 0; k < K_N; k++)
        r->g[k] = -1;
    c->n++;
    return c->err ? 1 : 0;
}

static int load(struct ks_store *s, struct ctx *c, int64_t from, int64_t to)
{
    static const char *sql =
        "SELECT m.ts, m.verdict, m.sender, m.country, m.subject_key, m.url_domains, m.fuzzy, "
        "m.spf, m.subject FROM mail_messages m JOIN inputs i ON i.id = m.input_id AND "
        "i.status = 'complete' WHERE m.ts >= ?1 AND m.ts < ?2 ORDER BY m.ts";
    struct ks_store_value p[2] = {{.type = KS_TYPE_I64, .v.i64 = from},
                                  {.type = KS_TYPE_I64, .v.i64 = to}};
    pool_add(c, "", 1); /* offset 0 means empty */
    int rc = ks_store_query(s, sql, p, 2, on_row, c);
    if (c->err)
        return c->err;
    return rc < 0 ? rc : KS_OK;
}

/* --- output helpers ---------------------------------------------------------------------- */

static void day_text(int64_t day, int32_t tz, char out[11])
{
    struct ks_tm tm;
    ks_time_split(day, tz, &tm);
    snprintf(out, 11, "%04d-%02d-%02d", tm.year, tm.month, tm.day);
}

static int emit(json_t *o, const char *kind, int (*fn)(void *, const char *, const char *),
                void *user)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return KS_ENOMEM;
    int stop = fn(user, kind, s);
    free(s);
    return stop;
}

static double ratio(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

/* --- ratios ------------------------------------------------------------------------------ */

struct counts {
    uint64_t all, spam, ham;
};

static int emit_ratios(struct ctx *c, int (*fn)(void *, const char *, const char *), void *user)
{
    const int32_t tz = c->cfg->tz_offset_s;
    struct counts tot = {0};
    uint64_t undated = 0;
    for (size_t i = 0; i < c->n; i++) {
        tot.all++;
        tot.spam += c->rows[i].verdict == KS_MAIL_SPAM;
        tot.ham += c->rows[i].verdict == KS_MAIL_HAM;
        undated += c->rows[i].ts == 0;
    }
    json_t *o = json_object();
    json_object_set_new(o, "messages", json_integer((json_int_t)tot.all));
    json_object_set_new(o, "spam", json_integer((json_int_t)tot.spam));
    json_object_set_new(o, "ham", json_integer((json_int_t)tot.ham));
    json_object_set_new(o, "unknown", json_integer((json_int_t)(tot.all - tot.spam - tot.ham)));
    json_object_set_new(o, "undated", json_integer((json_int_t)undated));
    json_object_set_new(o, "spam_ratio", json_real(ratio(tot.spam, tot.all)));
    if (emit(o, "total", fn, user))
        return 1;
    /* ISO weeks, then days; rows are in time order */
    for (int pass = 0; pass < 2; pass++) {
        struct counts cur = {0};
        int64_t key = INT64_MIN;
        int wy = 0, wn = 0;
        for (size_t i = 0; i <= c->n; i++) {
            int64_t k = INT64_MAX;
            int y = 0, w = 0;
            if (i < c->n) {
                if (c->rows[i].ts == 0)
                    continue;
                if (pass == 0) {
                    ks_time_iso_week(c->rows[i].ts, tz, &y, &w);
                    k = (int64_t)y * 100 + w;
                } else {
                    k = c->rows[i].day;
                }
            }
            if (k != key && key != INT64_MIN && cur.all) {
                json_t *r = json_object();
                if (pass == 0) {
                    char wk[16];
                    snprintf(wk, sizeof wk, "%04d-W%02d", wy, wn);
                    json_object_set_new(r, "week", json_string(wk));
                } else {
                    char d[11];
                    day_text(key, tz, d);
                    json_object_set_new(r, "day", json_string(d));
                }
                json_object_set_new(r, "messages", json_integer((json_int_t)cur.all));
                json_object_set_new(r, "spam", json_integer((json_int_t)cur.spam));
                json_object_set_new(r, "ham", json_integer((json_int_t)cur.ham));
                json_object_set_new(r, "spam_ratio", json_real(ratio(cur.spam, cur.all)));
                if (emit(r, pass == 0 ? "week" : "day", fn, user))
                    return 1;
                memset(&cur, 0, sizeof cur);
            }
            if (i == c->n)
                break;
            key = k;
            wy = y;
            wn = w;
            cur.all++;
            cur.spam += c->rows[i].verdict == KS_MAIL_SPAM;
            cur.ham += c->rows[i].verdict == KS_MAIL_HAM;
        }
    }
    return 0;
}

/* --- countries and senders --------------------------------------------------------------- */

struct cc {
    char code[3];
    uint64_t n;
};

static int cmp_cc(const void *a, const void *b)
{
    const struct cc *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return strcmp(x->code, y->code);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

struct gather {
    uint32_t *v;
    size_t n;
};

static unsigned gather_fn(void *user, const void *key, void *value, uint32_t stamp)
{
    struct gather *g = user;
    (void)key;
    (void)stamp;
    g->v[g->n++] = *(uint32_t *)value;
    return KS_TABLE_NEXT;
}

static int emit_senders(struct ctx *c, int (*fn)(void *, const char *, const char *), void *user)
{
    /* spam senders by country: 26*26 codes plus "--" */
    struct cc cc[26 * 26 + 1];
    memset(cc, 0, sizeof cc);
    uint64_t with_sender = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct row *r = &c->rows[i];
        if (r->verdict != KS_MAIL_SPAM || !r->sender.family)
            continue;
        with_sender++;
        size_t idx = 26 * 26;
        if (r->country[0] >= 'A' && r->country[0] <= 'Z' && r->country[1] >= 'A' &&
            r->country[1] <= 'Z')
            idx = (size_t)(r->country[0] - 'A') * 26 + (size_t)(r->country[1] - 'A');
        cc[idx].n++;
        memcpy(cc[idx].code, idx == 26 * 26 ? "--" : r->country, 2);
    }
    qsort(cc, sizeof cc / sizeof cc[0], sizeof cc[0], cmp_cc);
    for (size_t i = 0; i < sizeof cc / sizeof cc[0] && cc[i].n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "rank", json_integer((json_int_t)i + 1));
        json_object_set_new(o, "country", json_string(cc[i].code));
        json_object_set_new(o, "spam", json_integer((json_int_t)cc[i].n));
        json_object_set_new(o, "share", json_real(ratio(cc[i].n, with_sender)));
        if (emit(o, "country", fn, user))
            return 1;
    }
    /* messages per sending address: spam, and all mail */
    for (int pass = 0; pass < 2; pass++) {
        struct ks_table_config tc;
        ks_table_config_default(&tc);
        tc.key_size = sizeof(struct ks_addr);
        tc.value_size = sizeof(uint32_t);
        tc.capacity = c->n < MAX_SENDERS ? c->n + 16 : MAX_SENDERS;
        tc.evict = KS_TABLE_EVICT_NONE;
        tc.seed = 1;
        struct ks_table *t = NULL;
        if (ks_table_new(&tc, &t) != KS_OK)
            return KS_ENOMEM;
        uint64_t msgs = 0;
        for (size_t i = 0; i < c->n; i++) {
            const struct row *r = &c->rows[i];
            if (!r->sender.family || (pass == 0 && r->verdict != KS_MAIL_SPAM))
                continue;
            uint32_t *cnt = ks_table_upsert(t, &r->sender, 0, NULL);
            if (cnt) {
                (*cnt)++;
                msgs++;
            }
        }
        struct ks_table_stats ts;
        ks_table_stats(t, &ts);
        size_t n = ks_table_count(t);
        struct gather g = {malloc((n ? n : 1) * sizeof(uint32_t)), 0};
        if (!g.v) {
            ks_table_free(t);
            return KS_ENOMEM;
        }
        ks_table_foreach(t, gather_fn, &g);
        qsort(g.v, g.n, sizeof g.v[0], cmp_u32);
        json_t *o = json_object();
        json_object_set_new(o, "of", json_string(pass == 0 ? "spam" : "all"));
        json_object_set_new(o, "addresses", json_integer((json_int_t)g.n));
        json_object_set_new(o, "messages", json_integer((json_int_t)msgs));
        json_object_set_new(o, "mean", json_real(ratio(msgs, g.n)));
        double median = 0;
        if (g.n)
            median = g.n % 2 ? g.v[g.n / 2] : (g.v[g.n / 2 - 1] + g.v[g.n / 2]) / 2.0;
        json_object_set_new(o, "median", json_real(median));
        json_object_set_new(o, "p90", json_integer(g.n ? g.v[(g.n * 9) / 10] : 0));
        json_object_set_new(o, "max", json_integer(g.n ? g.v[g.n - 1] : 0));
        static const uint32_t edges[] = {1, 2, 5, 10, 100, 1000, UINT32_MAX};
        static const char *labels[] = {"1", "2", "3-5", "6-10", "11-100", "101-1000", ">1000"};
        json_t *dist = json_object();
        size_t j = 0;
        for (size_t b = 0; b < 7; b++) {
            uint64_t k = 0;
            while (j < g.n && g.v[j] <= edges[b]) {
                k++;
                j++;
            }
            json_object_set_new(dist, labels[b], json_integer((json_int_t)k));
        }
        json_object_set_new(o, "distribution", dist);
        json_object_set_new(o, "dropped", json_integer((json_int_t)ts.dropped));
        free(g.v);
        ks_table_free(t);
        if (emit(o, "senders", fn, user))
            return 1;
    }
    return 0;
}

/* --- campaigns --------------------------------------------------------------------------- */

static int32_t group_of(struct ctx *c, struct ks_table *t, int k, uint32_t key)
{
    const char *s = pstr(c, key);
    uint64_t h = ks_hash_bytes(s, strlen(s), 0x63616d70u + (uint64_t)k);
    bool is_new;
    uint32_t *gi = ks_table_upsert(t, &h, 0, &is_new);
    if (!gi) {
        c->dropped_groups++;
        return -1;
    }
    if (is_new) {
        if (c->ng[k] == c->gcap[k]) {
            size_t nc = c->gcap[k] ? c->gcap[k] * 2 : 1024;
            struct group *ng = realloc(c->groups[k], nc * sizeof *ng);
            if (!ng) {
                c->err = KS_ENOMEM;
                return -1;
            }
            c->groups[k] = ng;
            c->gcap[k] = nc;
        }
        c->groups[k][c->ng[k]] = (struct group){key, 0, 0};
        *gi = (uint32_t)c->ng[k]++;
    }
    return (int32_t)*gi;
}

/* A subject key that says nothing ("", "*", "#", "# *") makes no campaign. */
static bool key_informative(const char *s)
{
    for (; *s; s++)
        if (*s != '#' && *s != '*' && *s != ' ')
            return true;
    return false;
}

static unsigned long fuzzy_bs(const char *h)
{
    return strtoul(h, NULL, 10);
}

static void group_all(struct ctx *c)
{
    struct ks_table_config tc;
    ks_table_config_default(&tc);
    tc.key_size = sizeof(uint64_t);
    tc.value_size = sizeof(uint32_t);
    tc.capacity = c->n < MAX_GROUPS ? c->n + 16 : MAX_GROUPS;
    tc.evict = KS_TABLE_EVICT_NONE;
    tc.seed = 7;
    struct ks_table *t[K_N] = {NULL};
    for (int k = 0; k < K_N; k++)
        if (ks_table_new(&tc, &t[k]) != KS_OK) {
            c->err = KS_ENOMEM;
            goto out;
        }
    struct rep {
        uint32_t hash;
        int32_t g;
        unsigned long bs;
    } *reps = malloc(FUZZY_REPS * sizeof *reps);
    size_t nreps = 0;
    if (!reps) {
        c->err = KS_ENOMEM;
        goto out;
    }
    int thr = c->cfg->fuzzy_threshold > 0 ? c->cfg->fuzzy_threshold : 60;
    for (size_t i = 0; i < c->n && !c->err; i++) {
        struct row *r = &c->rows[i];
        if (r->s_key && key_informative(pstr(c, r->s_key)))
            r->g[K_SUBJECT] = group_of(c, t[K_SUBJECT], K_SUBJECT, r->s_key);
        if (r->s_dom)
            r->g[K_DOMAINS] = group_of(c, t[K_DOMAINS], K_DOMAINS, r->s_dom);
        if (r->s_fuzzy) {
            /* join the most recent compatible representative that scores >= thr */
            const char *h = pstr(c, r->s_fuzzy);
            unsigned long bs = fuzzy_bs(h);
            int32_t g = -1;
            size_t tried = 0;
            for (size_t j = nreps; j > 0 && tried < FUZZY_CMP; j--) {
                const struct rep *p = &reps[j - 1];
                if (p->bs != bs && p->bs != bs * 2 && p->bs * 2 != bs)
                    continue;
                tried++;
                if (strcmp(pstr(c, p->hash), h) == 0 || fuzzy_compare(pstr(c, p->hash), h) >= thr) {
                    g = p->g;
                    break;
                }
            }
            if (g < 0) {
                g = group_of(c, t[K_FUZZY], K_FUZZY, r->s_fuzzy);
                if (g >= 0 && nreps < FUZZY_REPS)
                    reps[nreps++] = (struct rep){r->s_fuzzy, g, bs};
            }
            r->g[K_FUZZY] = g;
        }
        for (int k = 0; k < K_N; k++)
            if (r->g[k] >= 0) {
                c->groups[k][r->g[k]].count++;
                c->groups[k][r->g[k]].spam += r->verdict == KS_MAIL_SPAM;
            }
    }
    free(reps);
out:
    for (int k = 0; k < K_N; k++)
        ks_table_free(t[k]);
}

struct variant {
    uint32_t subj;
    uint32_t count;
    int64_t first;
};

struct top {
    int32_t g;
    uint32_t count;
};

static int cmp_topc(const void *a, const void *b)
{
    const struct top *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return x->g - y->g;
}

static int cmp_f64(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Per-day totals of all mail, by day index from the first day. */
struct days {
    int64_t first;
    size_t n;
    uint32_t *all;
};

static size_t day_index(const struct days *d, int64_t day)
{
    return (size_t)((day - d->first) / KS_USEC_PER_DAY);
}

static int emit_campaign(struct ctx *c, const struct days *d, int k, int32_t g,
                         int (*fn)(void *, const char *, const char *), void *user)
{
    const int32_t tz = c->cfg->tz_offset_s;
    uint32_t *per = calloc(d->n ? d->n : 1, sizeof *per);
    struct variant var[VARIANTS];
    size_t nvar = 0;
    uint64_t other_variants = 0;
    if (!per)
        return KS_ENOMEM;
    int64_t firstd = 0, lastd = 0;
    uint64_t undated = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct row *r = &c->rows[i];
        if (r->g[k] != g)
            continue;
        if (r->ts == 0) {
            undated++;
        } else {
            per[day_index(d, r->day)]++;
            if (!firstd)
                firstd = r->day;
            lastd = r->day;
        }
        size_t v = 0;
        while (v < nvar && strcmp(pstr(c, var[v].subj), pstr(c, r->s_subj)) != 0)
            v++;
        if (v < nvar)
            var[v].count++;
        else if (nvar < VARIANTS)
            var[nvar++] = (struct variant){r->s_subj, 1, r->ts};
        else
            other_variants++;
    }
    const struct group *gr = &c->groups[k][g];
    json_t *o = json_object();
    json_object_set_new(o, "by", json_string(kind_names[k]));
    json_object_set_new(o, "key", json_string(pstr(c, gr->key)));
    json_object_set_new(o, "messages", json_integer(gr->count));
    json_object_set_new(o, "spam", json_integer(gr->spam));
    char fd[11] = "", ld[11] = "";
    if (firstd) {
        day_text(firstd, tz, fd);
        day_text(lastd, tz, ld);
    }
    json_object_set_new(o, "first_day", firstd ? json_string(fd) : json_null());
    json_object_set_new(o, "last_day", lastd ? json_string(ld) : json_null());
    /* daily shares over the active span; the baseline is their median */
    size_t a = firstd ? day_index(d, firstd) : 0, b = firstd ? day_index(d, lastd) + 1 : 0;
    double *shares = malloc((b - a + 1) * sizeof *shares);
    json_t *daily = json_array();
    json_t *bursts = json_array();
    double peak = 0;
    int64_t peak_day = 0;
    size_t ns = 0;
    for (size_t i = a; i < b && shares; i++) {
        double s = ratio(per[i], d->all[i]);
        shares[ns++] = s;
        if (s > peak) {
            peak = s;
            peak_day = d->first + (int64_t)i * KS_USEC_PER_DAY;
        }
    }
    double median = 0;
    if (ns) {
        double *sorted = malloc(ns * sizeof *sorted);
        if (sorted) {
            memcpy(sorted, shares, ns * sizeof *sorted);
            qsort(sorted, ns, sizeof *sorted, cmp_f64);
            median = ns % 2 ? sorted[ns / 2] : (sorted[ns / 2 - 1] + sorted[ns / 2]) / 2;
            free(sorted);
        }
    }
    for (size_t i = a; i < b && shares; i++) {
        if (!per[i])
            continue;
        double s = shares[i - a];
        char day[11];
        day_text(d->first + (int64_t)i * KS_USEC_PER_DAY, tz, day);
        json_t *e = json_object();
        json_object_set_new(e, "day", json_string(day));
        json_object_set_new(e, "messages", json_integer(per[i]));
        json_object_set_new(e, "share", json_real(s));
        json_array_append_new(daily, e);
        /* the campaign's own baseline: the median of its shares over the 7 days before */
        double prev[7];
        size_t np = 0;
        for (size_t j = i >= 7 ? i - 7 : 0; j < i; j++)
            prev[np++] = ratio(per[j], d->all[j]);
        double base = 0;
        if (np) {
            qsort(prev, np, sizeof prev[0], cmp_f64);
            base = np % 2 ? prev[np / 2] : (prev[np / 2 - 1] + prev[np / 2]) / 2;
        }
        if (np >= 3 && s >= c->cfg->burst_min_share && s >= c->cfg->burst_factor * base &&
            per[i] >= 3) {
            json_t *bj = json_object();
            json_object_set_new(bj, "day", json_string(day));
            json_object_set_new(bj, "share", json_real(s));
            json_array_append_new(bursts, bj);
        }
    }
    char pd[11] = "";
    if (peak_day)
        day_text(peak_day, tz, pd);
    json_object_set_new(o, "peak_share", json_real(peak));
    json_object_set_new(o, "peak_day", peak_day ? json_string(pd) : json_null());
    json_object_set_new(o, "baseline_share", json_real(median));
    json_object_set_new(o, "burst", json_boolean(json_array_size(bursts) > 0));
    json_object_set_new(o, "bursts", bursts);
    json_t *vars = json_array();
    for (size_t v = 0; v < nvar; v++) {
        json_t *e = json_object();
        char vd[11] = "";
        if (var[v].first)
            day_text(ks_time_bucket(var[v].first, KS_BUCKET_DAY, tz), tz, vd);
        json_object_set_new(e, "subject", json_string(pstr(c, var[v].subj)));
        json_object_set_new(e, "messages", json_integer(var[v].count));
        json_object_set_new(e, "first_day", vd[0] ? json_string(vd) : json_null());
        json_array_append_new(vars, e);
    }
    json_object_set_new(o, "variants", vars);
    json_object_set_new(o, "other_variants", json_integer((json_int_t)other_variants));
    json_object_set_new(o, "undated", json_integer((json_int_t)undated));
    json_object_set_new(o, "daily", daily);
    free(shares);
    free(per);
    return emit(o, "campaign", fn, user);
}

static int emit_campaigns(struct ctx *c, int (*fn)(void *, const char *, const char *), void *user)
{
    group_all(c);
    if (c->err)
        return c->err;
    /* per-day totals */
    struct days d = {0};
    int64_t lastd = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->rows[i].ts) {
            if (!d.first)
                d.first = c->rows[i].day;
            lastd = c->rows[i].day;
        }
    d.n = d.first ? (size_t)((lastd - d.first) / KS_USEC_PER_DAY) + 1 : 0;
    if (d.n > 100000) /* more than 270 years of days: dates are nonsense, cap the span */
        d.n = 100000;
    d.all = calloc(d.n ? d.n : 1, sizeof *d.all);
    if (!d.all)
        return KS_ENOMEM;
    for (size_t i = 0; i < c->n; i++)
        if (c->rows[i].ts) {
            size_t di = day_index(&d, c->rows[i].day);
            if (di < d.n)
                d.all[di]++;
            else
                c->rows[i].ts = 0; /* outside the capped span: treated as undated */
        }
    int stop = 0;
    uint32_t minc = c->cfg->min_campaign ? c->cfg->min_campaign : 10;
    for (int k = 0; k < K_N && !stop; k++) {
        struct top *tops = malloc((c->ng[k] ? c->ng[k] : 1) * sizeof *tops);
        if (!tops) {
            stop = KS_ENOMEM;
            break;
        }
        size_t nt = 0;
        for (size_t g = 0; g < c->ng[k]; g++)
            if (c->groups[k][g].count >= minc)
                tops[nt++] = (struct top){(int32_t)g, c->groups[k][g].count};
        qsort(tops, nt, sizeof *tops, cmp_topc);
        size_t lim = c->cfg->max_campaigns ? c->cfg->max_campaigns : 20;
        for (size_t i = 0; i < nt && i < lim && !stop; i++)
            stop = emit_campaign(c, &d, k, tops[i].g, fn, user);
        free(tops);
    }
    free(d.all);
    return stop;
}

/* --- SPF per month ----------------------------------------------------------------------- */

static int emit_spf(struct ctx *c, int (*fn)(void *, const char *, const char *), void *user)
{
    const int32_t tz = c->cfg->tz_offset_s;
    uint64_t cnt[KS_MAIL_SPF_PERMERROR + 1] = {0};
    int64_t month = INT64_MIN;
    for (size_t i = 0; i <= c->n; i++) {
        int64_t m = INT64_MAX;
        if (i < c->n) {
            if (!c->rows[i].ts)
                continue;
            m = ks_time_bucket(c->rows[i].ts, KS_BUCKET_MONTH, tz);
        }
        if (m != month && month != INT64_MIN) {
            uint64_t all = 0;
            for (int r = 0; r <= KS_MAIL_SPF_PERMERROR; r++)
                all += cnt[r];
            json_t *o = json_object();
            struct ks_tm tm;
            ks_time_split(month, tz, &tm);
            char mt[8];
            snprintf(mt, sizeof mt, "%04d-%02d", tm.year, tm.month);
            json_object_set_new(o, "month", json_string(mt));
            json_object_set_new(o, "messages", json_integer((json_int_t)all));
            for (int r = 0; r <= KS_MAIL_SPF_PERMERROR; r++)
                json_object_set_new(o, ks_mail_spf_name((enum ks_mail_spf)r),
                                    json_integer((json_int_t)cnt[r]));
            /* published: an SPF record was found (any result but none and absent) */
            uint64_t published = all - cnt[KS_MAIL_SPF_NONE] - cnt[KS_MAIL_SPF_ABSENT];
            json_object_set_new(o, "published", json_integer((json_int_t)published));
            json_object_set_new(o, "not_published",
                                json_integer((json_int_t)cnt[KS_MAIL_SPF_NONE]));
            if (emit(o, "spf", fn, user))
                return 1;
            memset(cnt, 0, sizeof cnt);
        }
        if (i == c->n)
            break;
        month = m;
        cnt[c->rows[i].spf <= KS_MAIL_SPF_PERMERROR ? c->rows[i].spf : 0]++;
    }
    return 0;
}

/* --- spam to malware -------------------------------------------------------------------- */

/* Spam messages of the period, each in the first class that applies: a URL the crawler got
 * malware from (sample_events via 'crawler', name = the URL), an attachment the antivirus
 * names, an executable one it does not, a suspicious one, none. Attachments stored before
 * schema v10 have no category: their flags decide (executable 0x01; suspicious 0x02, exe in
 * archive 0x08). */
static const char *const mal_classes[] = {"link", "malware", "undetected", "suspicious", "other"};

static int on_mal(void *user, size_t ncols, const char *const *names,
                  const struct ks_store_value *v)
{
    uint64_t *n = user;
    (void)names;
    if (ncols < 2 || v[0].type != KS_TYPE_TEXT)
        return 0;
    for (size_t k = 0; k < 5; k++)
        if (v[0].v.bytes.len == strlen(mal_classes[k]) &&
            memcmp(v[0].v.bytes.ptr, mal_classes[k], v[0].v.bytes.len) == 0)
            n[k] = (uint64_t)v[1].v.i64;
    return 0;
}

static int emit_malware(struct ks_store *s, struct ctx *c,
                        int (*fn)(void *, const char *, const char *), void *user)
{
#define ATT_CLASS(k)                                                                               \
    "EXISTS (SELECT 1 FROM mail_attachments a WHERE a.input_id = m.input_id AND a.message_id = "   \
    "m.message_id AND a.ts = m.ts AND coalesce(a.category, CASE WHEN a.flags & 1 THEN "            \
    "'undetected' WHEN a.flags & 10 THEN 'suspicious' ELSE 'other' END) = '" k "')"
    static const char *sql =
        "SELECT CASE WHEN link THEN 'link' WHEN mal THEN 'malware' WHEN und THEN 'undetected' "
        "WHEN sus THEN 'suspicious' ELSE 'other' END AS k, count(*) FROM (SELECT "
        "EXISTS (SELECT 1 FROM mail_urls u JOIN sample_events e ON e.name = u.url AND e.via = "
        "'crawler' JOIN inputs ei ON ei.id = e.input_id AND ei.status = 'complete' WHERE "
        "u.input_id = m.input_id AND u.message_id = m.message_id AND u.ts = m.ts) AS "
        "link, " ATT_CLASS("malware") " AS mal, " ATT_CLASS("undetected") " AS und, " ATT_CLASS(
            "suspicious") " AS sus FROM mail_messages m JOIN inputs i ON i.id = "
                          "m.input_id AND i.status = 'complete' WHERE m.ts >= ?1 AND m.ts < ?2 AND "
                          "m.verdict = "
                          "'spam') GROUP BY k";
#undef ATT_CLASS
    int64_t from = c->cfg->from_us ? c->cfg->from_us : INT64_MIN;
    int64_t to = c->cfg->to_us ? c->cfg->to_us : INT64_MAX;
    struct ks_store_value p[2] = {{.type = KS_TYPE_I64, .v.i64 = from},
                                  {.type = KS_TYPE_I64, .v.i64 = to}};
    uint64_t n[5] = {0};
    int rc = ks_store_query(s, sql, p, 2, on_mal, n);
    if (rc < 0)
        return rc;
    uint64_t all = n[0] + n[1] + n[2] + n[3] + n[4];
    if (all == 0)
        return 0;
    json_t *o = json_object();
    json_object_set_new(o, "spam", json_integer((json_int_t)all));
    for (size_t k = 0; k < 5; k++)
        json_object_set_new(o, mal_classes[k], json_integer((json_int_t)n[k]));
    for (size_t k = 0; k < 5; k++) {
        char key[32];
        snprintf(key, sizeof key, "share_%s", mal_classes[k]);
        json_object_set_new(o, key, json_real(ratio(n[k], all)));
    }
    return emit(o, "malware", fn, user);
}

/* --- the period against the year before -------------------------------------------------- */

static int emit_year(struct ks_store *s, struct ctx *c,
                     int (*fn)(void *, const char *, const char *), void *user)
{
    if (c->n == 0)
        return 0;
    int64_t from = c->cfg->from_us, to = c->cfg->to_us;
    if (!from || !to)
        return 0; /* a comparison needs a period: --from and --to */
    struct counts now = {0}, prev = {0};
    for (size_t i = 0; i < c->n; i++)
        if (c->rows[i].ts >= from && c->rows[i].ts < to) {
            now.all++;
            now.spam += c->rows[i].verdict == KS_MAIL_SPAM;
        }
    /* the same period one year earlier (365 days; 366 across a leap day is ignored) */
    struct ctx pc = {.cfg = c->cfg};
    int64_t shift = 365 * KS_USEC_PER_DAY;
    int rc = load(s, &pc, from - shift, to - shift);
    for (size_t i = 0; i < pc.n; i++) {
        prev.all++;
        prev.spam += pc.rows[i].verdict == KS_MAIL_SPAM;
    }
    free(pc.rows);
    free(pc.pool);
    if (rc != KS_OK)
        return rc;
    char a[KS_TIME_STRLEN], b[KS_TIME_STRLEN];
    ks_time_format(from, c->cfg->tz_offset_s, 0, a, sizeof a);
    ks_time_format(to, c->cfg->tz_offset_s, 0, b, sizeof b);
    json_t *o = json_object();
    json_object_set_new(o, "from", json_string(a));
    json_object_set_new(o, "to", json_string(b));
    json_object_set_new(o, "messages", json_integer((json_int_t)now.all));
    json_object_set_new(o, "spam_ratio", json_real(ratio(now.spam, now.all)));
    json_object_set_new(o, "previous_messages", json_integer((json_int_t)prev.all));
    json_object_set_new(o, "previous_spam_ratio",
                        prev.all ? json_real(ratio(prev.spam, prev.all)) : json_null());
    json_object_set_new(
        o, "change_points",
        prev.all ? json_real(100.0 * (ratio(now.spam, now.all) - ratio(prev.spam, prev.all)))
                 : json_null());
    return emit(o, "year", fn, user);
}

int ks_mail_stats_compute(struct ks_store *s, const struct ks_mail_stats_config *cfg,
                          int (*fn)(void *user, const char *kind, const char *json), void *user)
{
    struct ks_mail_stats_config def;
    if (!cfg) {
        ks_mail_stats_config_default(&def);
        cfg = &def;
    }
    struct ctx c = {.cfg = cfg};
    int64_t from = cfg->from_us ? cfg->from_us : INT64_MIN;
    int64_t to = cfg->to_us ? cfg->to_us : INT64_MAX;
    int rc = load(s, &c, from, to);
    if (rc == KS_OK)
        rc = emit_ratios(&c, fn, user);
    if (rc == KS_OK)
        rc = emit_year(s, &c, fn, user);
    if (rc == KS_OK)
        rc = emit_senders(&c, fn, user);
    if (rc == KS_OK)
        rc = emit_spf(&c, fn, user);
    if (rc == KS_OK)
        rc = emit_campaigns(&c, fn, user);
    if (rc == KS_OK)
        rc = emit_malware(s, &c, fn, user);
    if (rc > 0)
        rc = KS_OK; /* the callback asked to stop */
    free(c.rows);
    free(c.pool);
    for (int k = 0; k < K_N; k++)
        free(c.groups[k]);
    return rc;
}
