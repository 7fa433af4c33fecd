/* simulate: web server logs (Apache combined) with SQL injection campaigns over benign
 * traffic: background scanning, data theft (a few domestic sources, one or two targets,
 * short bursts), database overload (two targets, many spread sources, days long) and
 * defacement (one source sweeping every server with the mass-injection payload). */
#include "sim_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_time.h"

#define NSERVERS 30

static const char *const server_names[NSERVERS] = {
    "www.sakura-shop",    "www.kaede-travel",   "www.hinode-news",     "shop.aozora-net",
    "www.tsubaki-clinic", "www.minato-realty",  "www.kitakaze-edu",    "www.fuji-parts",
    "www.yamabuki-foods", "www.kawasemi-books", "www.hoshizora-hotel", "www.midori-bank",
    "www.suzuran-tech",   "www.momiji-ryokan",  "www.nagisa-fashion",  "www.akane-music",
    "www.hibari-games",   "www.kujaku-cars",    "www.tanpopo-kids",    "www.shirasagi-city",
    "www.kamome-ferry",   "www.asagao-garden",  "www.hotaru-camera",   "www.tsubame-post",
    "www.ayame-beauty",   "www.ginga-soft",     "www.karin-pharmacy",  "www.kirin-sports",
    "www.ume-insurance",  "www.sango-marine",
};

/* Figure 9 (non-campaign detections): CN 35.5, JP 21.8, US 17.5, SG 2.8, EU 1.9 (no country:
 * spread over European countries here), DE 1.4, CA 1.2, FR 1.1, KR 0.9, GB 0.9, other 15. */
static const struct sim_src sqli_mix[] = {
    {"CN", -1, 35.5}, {"JP", -1, 21.8}, {"US", -1, 17.5}, {"SG", -1, 2.8},  {"DE", -1, 1.4},
    {"CA", -1, 1.2},  {"FR", -1, 1.1},  {"KR", -1, 0.9},  {"GB", -1, 0.9},  {"NL", -1, 0.7},
    {"SE", -1, 0.6},  {"IT", -1, 0.6},  {"TW", -1, 0.85}, {"RU", -1, 0.85}, {"BR", -1, 0.85},
    {"IN", -1, 0.85}, {"HK", -1, 0.85}, {"TR", -1, 0.8},  {"PL", -1, 0.8},  {"TH", -1, 0.8},
    {"VN", -1, 0.8},  {"MY", -1, 0.8},  {"ES", -1, 0.8},  {"AU", -1, 0.8},  {"MX", -1, 0.75},
    {"AR", -1, 0.75}, {"ID", -1, 0.75}, {"PH", -1, 0.75}, {"IR", -1, 0.7},  {"EG", -1, 0.7},
    {"PT", -1, 0.7},  {"CZ", -1, 0.7},
};
#define NSQLI (sizeof sqli_mix / sizeof sqli_mix[0])

/* Attack values by the signature they are written to trigger (the reference's names). */
enum sig {
    S_GENERIC,
    S_CHAR,
    S_CAST,
    S_1EQ1,
    S_SELCOUNT,
    S_CONVERT,
    S_GROUPBY,
    S_JET,
    S_UNION,
    S_OTHER,
    S_N
};
static const double bg_sig_w[S_N] = {30, 14, 12, 11, 7, 6, 5, 4, 3, 8};
/* Detections (signatures that fire) per attack line of each kind, with the rules of
 * data/sqli/rules.conf: the generic detector joins most named signatures. The days' totals
 * of figure 8 count detections, so the campaigns are sized in detections. */
static const unsigned sig_rows[S_N] = {1, 1, 2, 2, 2, 3, 2, 1, 3, 2};

static const char *const params[] = {"id", "no", "cat", "item", "page", "pid", "code", "key"};
static const char *const pages[] = {"/product.asp",   "/news/detail.asp", "/item.php",
                                    "/shop/list.asp", "/view.php",        "/board/read.asp",
                                    "/catalog.cfm",   "/info.jsp"};
static const char *const tables[] = {"users",  "members", "admin", "customer",
                                     "orders", "account", "login", "tbl_user"};

static const char *const agents[] = {
    "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)",
    "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1; .NET CLR 2.0.50727)",
    "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0; SLCC1)",
    "Mozilla/5.0 (Windows; U; Windows NT 5.1; ja; rv:1.9.0.1) Gecko/2008070208 Firefox/3.0.1",
    "Mozilla/5.0 (Windows; U; Windows NT 5.1; ja; rv:1.8.1.16) Gecko/20080702 Firefox/2.0.0.16",
    ("Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_5_4; ja-jp) AppleWebKit/525.18 (KHTML, like "
     "Gecko) Version/3.1.2 Safari/525.20.1"),
    "DoCoMo/2.0 N905i(c100;TB;W24H16)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp",
};
static const char *const attack_agents[] = {
    "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)",
    "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1)",
    "Mozilla/3.0 (compatible; Indy Library)",
    "-",
};

#define NA(a) (sizeof(a) / sizeof((a)[0]))

/* Percent-encodes what a client must (space sometimes as '+'); keeps ( ) , = * ; @ as the
 * attack tools of the time sent them. */
static size_t url_encode(struct sim_rng *r, const char *s, char *out, size_t size)
{
    static const char hx[] = "0123456789ABCDEF";
    bool plus = sim_chance(r, 0.5);
    size_t o = 0;
    for (; *s && o + 4 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == ' ' && plus) {
            out[o++] = '+';
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   strchr("-_.~()=,*;@!:/", c)) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hx[c >> 4];
            out[o++] = hx[c & 15];
        }
    }
    out[o] = '\0';
    return o;
}

/* An attack value for signature s (decoded form). */
static void attack_value(struct sim_rng *r, enum sig s, char *v, size_t size)
{
    const char *t = tables[sim_below(r, NA(tables))];
    unsigned n = 1 + sim_below(r, 9999);
    switch (s) {
    case S_GENERIC:
        if (sim_chance(r, 0.5))
            snprintf(v, size, "%u and ascii(substring((select top 1 pass from %s),%u,1))>%u", n, t,
                     1 + sim_below(r, 12), 48 + sim_below(r, 74));
        else
            snprintf(v, size, "%u' and 'x'='x", n);
        break;
    case S_CHAR:
        snprintf(v, size,
                 "%u;declare @q varchar(8000) set @q=char(%u)+char(%u)+char(%u) exec(@q)--", n,
                 97 + sim_below(r, 26), 97 + sim_below(r, 26), 97 + sim_below(r, 26));
        break;
    case S_CAST: {
        /* the 2008 mass injection: hex-encoded T-SQL that appends a <script> to every text
         * column (the hex here spells a harmless comment, not the payload) */
        static const char hexs[] = "4445434C415245204054207661726368617228323535293B2D2D2064656D6F";
        snprintf(v, size,
                 "%u;DECLARE @S VARCHAR(4000);SET @S=CAST(0x%s AS VARCHAR(4000));EXEC(@S);--", n,
                 hexs);
        break;
    }
    case S_1EQ1:
        snprintf(v, size, sim_chance(r, 0.5) ? "%u or 1=1--" : "%u' or 1=1--", n);
        break;
    case S_SELCOUNT:
        snprintf(v, size, "admin' and (select count(*) from %s)>%u--", t, sim_below(r, 5));
        break;
    case S_CONVERT:
        snprintf(v, size,
                 "%u and 1=convert(int,(select top 1 name from sysobjects where xtype='U'))", n);
        break;
    case S_GROUPBY:
        snprintf(v, size, "%u' group by %s.id having 1=1--", n, t);
        break;
    case S_JET: {
        size_t len = 260 + sim_below(r, 200), o = 0;
        char c = (char)('A' + sim_below(r, 26));
        o = (size_t)snprintf(v, size, "%u", n);
        while (o + 1 < size && len--)
            v[o++] = c;
        v[o] = '\0';
        break;
    }
    case S_UNION:
        snprintf(v, size, "-%u union select 1,2,username+char(58)+password,4 from %s--", n, t);
        break;
    default:
        snprintf(v, size, "%u;waitfor delay '0:%u:%u'--", n, sim_below(r, 2), 5 + sim_below(r, 50));
        break;
    }
}

struct line {
    int64_t t;
    uint32_t server, seq;
    uint32_t off, len;
};

struct day {
    struct line *l;
    size_t n, cap;
    char *arena;
    size_t used, acap;
};

static int day_add(struct day *d, uint32_t server, int64_t t, const char *text, size_t len)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8192;
        struct line *l = realloc(d->l, cap * sizeof *l);
        if (!l)
            return KS_ENOMEM;
        d->l = l;
        d->cap = cap;
    }
    if (d->used + len > d->acap) {
        size_t cap = d->acap ? d->acap * 2 : (1u << 20);
        while (cap < d->used + len)
            cap *= 2;
        char *a = realloc(d->arena, cap);
        if (!a)
            return KS_ENOMEM;
        d->arena = a;
        d->acap = cap;
    }
    memcpy(d->arena + d->used, text, len);
    d->l[d->n] = (struct line){t, server, (uint32_t)d->n, (uint32_t)d->used, (uint32_t)len};
    d->used += len;
    d->n++;
    return KS_OK;
}

static int line_cmp(const void *a, const void *b)
{
    const struct line *x = a, *y = b;
    if (x->server != y->server)
        return x->server < y->server ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct webctx {
    struct sim_part *p;
    struct day day;
    uint32_t rows; /* detections the day's attack lines make */
    int32_t tz;
    char buf[4096];
};

static int add_request(struct webctx *w, struct sim_rng *r, uint32_t server, int64_t t,
                       uint32_t src, const char *method, const char *target, int status,
                       const char *agent, const char *referer)
{
    char ip[16], ts[40];
    sim_addr_text(src, ip);
    sim_fmt_clf(t, w->tz, ts, sizeof ts);
    unsigned bytes = status == 304 ? 0 : 300 + sim_below(r, status == 200 ? 40000 : 2000);
    int n = snprintf(w->buf, sizeof w->buf, "%s - - [%s] \"%s %s HTTP/1.1\" %d %u \"%s\" \"%s\"\n",
                     ip, ts, method, target, status, bytes, referer ? referer : "-", agent);
    if (n < 0 || (size_t)n >= sizeof w->buf)
        return KS_OK; /* too long for a log line of ours: not written */
    return day_add(&w->day, server, t, w->buf, (size_t)n);
}

static int add_attack(struct webctx *w, struct sim_rng *r, uint32_t server, int64_t t, uint32_t src,
                      enum sig s)
{
    char v[600], enc[2048], target[2300];
    attack_value(r, s, v, sizeof v);
    url_encode(r, v, enc, sizeof enc);
    const char *page = s == S_JET ? (sim_chance(r, 0.5) ? "/search.asp" : "/db/query.asp")
                                  : pages[sim_below(r, NA(pages))];
    snprintf(target, sizeof target, "%s?%s=%s", page, params[sim_below(r, NA(params))], enc);
    w->p->st.web_attacks++;
    w->rows += sig_rows[s];
    return add_request(w, r, server, t, src, s == S_SELCOUNT ? "POST" : "GET", target,
                       sim_chance(r, 0.3) ? 500 : 200,
                       attack_agents[sim_below(r, NA(attack_agents))], NULL);
}

static int add_benign(struct webctx *w, struct sim_rng *r, uint32_t server, int64_t t)
{
    static const struct sim_src visitors[] = {
        {"JP", 0, 12}, {"JP", 1, 22}, {"JP", 2, 14}, {"JP", 3, 14}, {"JP", 4, 6},
        {"JP", 5, 6},  {"JP", 10, 8}, {"US", -1, 6}, {"CN", -1, 3}, {"KR", -1, 3},
        {"TW", -1, 3}, {"DE", -1, 1}, {"GB", -1, 1}, {"FR", -1, 1},
    };
    static const char *const words[] = {
        "tokyo", "osaka", "sale",          "summer",        "%E6%97%85%E8%A1%8C", "camera",
        "bag",   "hotel", "select a plan", "union station", "1=1 math",           "o'brien"};
    char target[256];
    uint32_t k = sim_below(r, 100);
    int status = 200;
    if (k < 25)
        snprintf(target, sizeof target, "/");
    else if (k < 45)
        snprintf(target, sizeof target, "/images/%s%u.%s", sim_chance(r, 0.5) ? "photo" : "bn",
                 sim_below(r, 400), sim_chance(r, 0.7) ? "jpg" : "gif");
    else if (k < 55)
        snprintf(target, sizeof target, "/css/style.css");
    else if (k < 75)
        snprintf(target, sizeof target, "%s?%s=%u", pages[sim_below(r, NA(pages))],
                 params[sim_below(r, NA(params))], 1 + sim_below(r, 5000));
    else if (k < 85) {
        char enc[128];
        url_encode(r, words[sim_below(r, NA(words))], enc, sizeof enc);
        snprintf(target, sizeof target, "/search.asp?q=%s&p=%u", enc, 1 + sim_below(r, 5));
    } else if (k < 95)
        snprintf(target, sizeof target, "/news/2008/%02u/%04u.html", 1 + sim_below(r, 8),
                 sim_below(r, 3000));
    else {
        snprintf(target, sizeof target, "/%s.html",
                 sim_chance(r, 0.5) ? "favicon.ico" : "old/index");
        status = 404;
    }
    if (status == 200 && sim_chance(r, 0.15))
        status = 304;
    uint32_t src = sim_addr_mix(r, visitors, NA(visitors), NULL);
    return add_request(w, r, server, t, src, "GET", target, status,
                       agents[sim_below(r, NA(agents))],
                       sim_chance(r, 0.4) ? "http://www.google.co.jp/search?q=demo" : NULL);
}

int sim_web(struct sim_part *p)
{
    const struct ks_simulate_config *cfg = p->cfg;
    struct sim_rng *r = &p->rng;
    int64_t days = sim_ndays(cfg);
    int rc = KS_OK;
    struct sim_file files[NSERVERS];
    struct webctx *w = calloc(1, sizeof *w);
    uint32_t *bg = calloc((size_t)days, sizeof *bg);
    uint32_t *over_src = NULL;
    int nopen = 0;
    if (!w || !bg) {
        rc = KS_ENOMEM;
        goto out;
    }
    w->p = p;
    w->tz = cfg->tz_offset_s;

    /* The plan. Background detections per day first (the peaks are set against them). */
    uint64_t btotal = 0;
    for (int64_t d = 0; d < days; d++) {
        bg[d] = (uint32_t)floor(520.0 * exp(0.4 * sim_normal(r)));
        if (bg[d] > 1300)
            bg[d] = 1300;
        btotal += bg[d];
    }
    /* Campaign days: two data-theft bursts and the overload's worst day give the three
     * clipped bars of figure 8 (8,259; 9,485; 3,592); the overload runs 12 days; the
     * defacement sweep 2 days. */
    int64_t theft1 = (int64_t)floor((double)days * 0.27),
            theft2 = (int64_t)floor((double)days * 0.71);
    int64_t over0 = (int64_t)floor((double)days * 0.45), over_len = days >= 20 ? 12 : 1;
    int64_t over_peak = over0 + over_len / 2;
    int64_t deface = (int64_t)floor((double)days * 0.58);
    if (theft2 == theft1)
        theft2 = theft1 + 1 < days ? theft1 + 1 : theft1;
    uint32_t deface_src = sim_addr_cc(r, "CN");
    uint32_t deface_n = 20; /* requests per server per day of the sweep */
    if (deface < days)
        bg[deface] = bg[deface] > 500 ? 500 : bg[deface];
    if (deface + 1 < days)
        bg[deface + 1] = bg[deface + 1] > 500 ? 500 : bg[deface + 1];
    /* CN's share of figure 9 counts the sweep: background CN is lowered to make up for it. */
    /* (the sweep makes 2 detections a line, the background about 1.5) */
    double dtotal = (double)deface_n * NSERVERS * (deface + 1 < days ? 2 : 1) * 2.0 / 1.54;
    double cn = (0.355 * ((double)btotal + dtotal) - dtotal) / (double)btotal;
    struct sim_src mix[NSQLI];
    memcpy(mix, sqli_mix, sizeof mix);
    mix[0].share = cn > 0 ? cn * 100.0 : 0;
    uint32_t theft_src[2][3];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            theft_src[i][j] = sim_addr_isp(r, 1 + (int)sim_below(r, 10));
    uint32_t theft_target[2] = {3, 17}, over_target[2] = {8, 22};
    uint32_t nover = 300;
    over_src = malloc(nover * sizeof *over_src);
    if (!over_src) {
        rc = KS_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < nover; i++)
        over_src[i] = sim_addr_mix(r, mix, NSQLI, NULL);
    double popularity[NSERVERS];
    for (int s = 0; s < NSERVERS; s++)
        popularity[s] = sim_logu(r, 0.3, 3.0);

    for (int s = 0; s < NSERVERS; s++) {
        if ((rc = sim_open(p, &files[s], "web/%s.example.jp.log", server_names[s])) != KS_OK)
            goto out;
        nopen++;
    }
    struct sim_file tf;
    if ((rc = sim_open(p, &tf, "truth/sqli.csv")) != KS_OK)
        goto out;
    sim_printf(&tf, "day,kind,sources,targets,detections\n");

    for (int64_t d = 0; d < days && rc == KS_OK; d++) {
        struct sim_rng dr;
        sim_rng_init(&dr, cfg->seed, 0x500000u + (uint64_t)d);
        int64_t d0 = sim_day_start(cfg, cfg->from_day + d);
        w->day.n = 0;
        w->day.used = 0;
        w->rows = 0;
        char date[16];
        int64_t y;
        int mo, dd;
        ks_civil_from_days(cfg->from_day + d, &y, &mo, &dd);
        snprintf(date, sizeof date, "%04d-%02d-%02d", (int)y, mo, dd);
        /* benign visitors */
        for (int s = 0; s < NSERVERS && rc == KS_OK; s++) {
            uint32_t n = sim_poisson(&dr, 150.0 * cfg->scale * popularity[s]);
            for (uint32_t i = 0; i < n && rc == KS_OK; i++)
                rc = add_benign(w, &dr, (uint32_t)s, d0 + sim_time_of_day(&dr));
        }
        /* background scanning: sessions of a few requests from one source on one server */
        uint32_t left = bg[d];
        while (left > 0 && rc == KS_OK) {
            uint32_t k = 1 + sim_below(&dr, sim_chance(&dr, 0.7) ? 4 : 40);
            if (k > left)
                k = left;
            uint32_t src = sim_addr_mix(&dr, mix, NSQLI, NULL);
            uint32_t server = sim_below(&dr, NSERVERS);
            int64_t t = d0 + sim_time_of_day(&dr);
            enum sig s = (enum sig)sim_pick(&dr, bg_sig_w, S_N);
            for (uint32_t i = 0; i < k && rc == KS_OK; i++) {
                int64_t ti = t + (int64_t)i * (1 + sim_below(&dr, 5)) * KS_USEC_PER_SEC;
                if (ti >= d0 + KS_USEC_PER_DAY)
                    ti = d0 + KS_USEC_PER_DAY - 1;
                rc = add_attack(w, &dr, server, ti, src, s);
            }
            left -= k;
        }
        /* data theft: a burst of blind extraction from three domestic hosts on one target */
        if ((d == theft1 || d == theft2) && rc == KS_OK) {
            int i = d == theft1 ? 0 : 1;
            uint32_t want = (i == 0 ? 8259 : 9485), n = want > w->rows ? want - w->rows : 0;
            int64_t t = d0 + (int64_t)(1 + sim_below(&dr, 18)) * KS_USEC_PER_HOUR;
            int64_t span = (int64_t)(2 + sim_below(&dr, 2)) * KS_USEC_PER_HOUR;
            for (uint32_t j = 0; j < n && rc == KS_OK; j++)
                rc = add_attack(w, &dr, theft_target[i], t + (int64_t)((double)span * j / n),
                                theft_src[i][sim_below(&dr, 3)],
                                sim_chance(&dr, 0.85) ? S_GENERIC : S_CHAR);
            char a[16], b[16], c[16];
            sim_addr_text(theft_src[i][0], a);
            sim_addr_text(theft_src[i][1], b);
            sim_addr_text(theft_src[i][2], c);
            sim_printf(&tf, "%s,data-theft,%s %s %s,%s.example.jp,%u\n", date, a, b, c,
                       server_names[theft_target[i]], n);
        }
        /* database overload: heavy queries on two targets from many spread sources */
        if (d >= over0 && d < over0 + over_len && d < days && rc == KS_OK) {
            uint32_t n =
                d == over_peak ? (3592 > w->rows ? 3592 - w->rows : 0) : 300 + sim_below(&dr, 900);
            if (n + w->rows > 2300 && d != over_peak)
                n = 2300 > w->rows ? 2300 - w->rows : 0;
            for (uint32_t j = 0; j < n && rc == KS_OK; j++)
                rc = add_attack(w, &dr, over_target[sim_below(&dr, 2)], d0 + sim_time_of_day(&dr),
                                over_src[sim_below(&dr, nover)],
                                sim_chance(&dr, 0.6) ? S_CHAR : S_GENERIC);
            sim_printf(&tf, "%s,db-overload,%u sources,%s.example.jp %s.example.jp,%u\n", date,
                       nover, server_names[over_target[0]], server_names[over_target[1]], n);
        }
        /* defacement: one host sweeps every server with the mass-injection payload */
        if ((d == deface || d == deface + 1) && rc == KS_OK) {
            int64_t t = d0 + (int64_t)(d == deface ? 20 : 0) * KS_USEC_PER_HOUR;
            for (uint32_t s = 0; s < NSERVERS && rc == KS_OK; s++)
                for (uint32_t j = 0; j < deface_n && rc == KS_OK; j++) {
                    t += (int64_t)(2 + sim_below(&dr, 6)) * KS_USEC_PER_SEC;
                    rc = add_attack(w, &dr, s, t, deface_src, S_CAST);
                }
            char a[16];
            sim_addr_text(deface_src, a);
            sim_printf(&tf, "%s,defacement,%s,%d servers,%u\n", date, a, NSERVERS,
                       deface_n * NSERVERS);
        }
        if (rc != KS_OK)
            break;
        qsort(w->day.l, w->day.n, sizeof *w->day.l, line_cmp);
        for (size_t i = 0; i < w->day.n; i++) {
            const struct line *l = &w->day.l[i];
            sim_put(&files[l->server], w->day.arena + l->off, l->len);
        }
        p->st.web_lines += w->day.n;
    }
    int rc2 = sim_close(p, &tf);
    if (rc == KS_OK)
        rc = rc2;
out:
    for (int s = 0; s < nopen; s++) {
        int rc3 = sim_close(p, &files[s]);
        if (rc == KS_OK)
            rc = rc3;
    }
    if (w) {
        free(w->day.l);
        free(w->day.arena);
    }
    free(w);
    free(bg);
    free(over_src);
    return rc;
}
