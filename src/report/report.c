/* The report page: sections, generated sentences, figures, numbers.json (ks_report.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kansoku/ks_geo.h"
#include "kansoku/ks_incident.h"
#include "kansoku/ks_time.h"
#include "report/report_int.h"
#include "report/svg.h"

struct page {
    struct rq *q;
    struct rbuf *h;
    const char *csvdir;
    bool ja;
    struct ks_report_stats *st;
};

static const char *L(const struct page *p, const char *ja, const char *en)
{
    return p->ja ? ja : en;
}

/* --- dates ---------------------------------------------------------------------------------- */

/* ja "08.06.01" (short: "06.01"), en "2008-06-01" (short: "06-01"). */
static void date_label(const struct page *p, int64_t t, bool with_year, char *buf, size_t size)
{
    struct ks_tm tm;
    ks_time_split(t, p->q->tz, &tm);
    if (p->ja) {
        if (with_year)
            snprintf(buf, size, "%02d.%02d.%02d", tm.year % 100, tm.month, tm.day);
        else
            snprintf(buf, size, "%02d.%02d", tm.month, tm.day);
    } else {
        if (with_year)
            snprintf(buf, size, "%04d-%02d-%02d", tm.year, tm.month, tm.day);
        else
            snprintf(buf, size, "%02d-%02d", tm.month, tm.day);
    }
}

static void period_text(const struct page *p, char *buf, size_t size)
{
    struct ks_tm a, b;
    ks_time_split(p->q->from_us, p->q->tz, &a);
    ks_time_split(p->q->to_us - 1, p->q->tz, &b);
    if (p->ja)
        snprintf(buf, size, "%d年%d月%d日〜%d年%d月%d日", a.year, a.month, a.day, b.year, b.month,
                 b.day);
    else
        snprintf(buf, size, "%s to %s", p->q->from, p->q->to);
}

/* Ticks of a daily axis: the first of each month (and the first day when it is not). */
struct day_ticks {
    size_t n;
    double at[64];
    char lab[64][16];
    const char *labp[64];
};

static void daily_ticks(const struct page *p, size_t ndays, struct day_ticks *t)
{
    t->n = 0;
    for (size_t i = 0; i < ndays && t->n < 64; i++) {
        struct ks_tm tm;
        int64_t ts = p->q->from_us + (int64_t)i * KS_USEC_PER_DAY;
        ks_time_split(ts, p->q->tz, &tm);
        if (tm.day != 1 && !(ndays < 45 && i % 7 == 0))
            continue;
        t->at[t->n] = (double)i;
        date_label(p, ts, true, t->lab[t->n], sizeof t->lab[0]);
        t->labp[t->n] = t->lab[t->n];
        t->n++;
    }
    if (t->n == 0 && ndays > 0) {
        t->at[0] = 0;
        date_label(p, p->q->from_us, true, t->lab[0], sizeof t->lab[0]);
        t->labp[0] = t->lab[0];
        t->n = 1;
    }
}

/* --- figures ---------------------------------------------------------------------------------- */

/* A figure's data as an HTML table and a CSV file. */
struct dtab {
    struct rbuf html, csv;
    bool row_open;
    unsigned cells;
};

static void dt_init(struct dtab *t)
{
    rb_init(&t->html);
    rb_init(&t->csv);
    t->row_open = false;
    t->cells = 0;
}

static void dt_free(struct dtab *t)
{
    rb_free(&t->html);
    rb_free(&t->csv);
}

static void dt_cell(struct dtab *t, const char *s)
{
    if (!t->row_open) {
        rb_puts(&t->html, "<tr>");
        t->row_open = true;
        t->cells = 0;
    }
    rb_puts(&t->html, "<td>");
    rb_xmls(&t->html, s);
    rb_puts(&t->html, "</td>");
    if (t->cells++)
        rb_puts(&t->csv, ",");
    bool q = strpbrk(s, ",\"\n") != NULL;
    if (q)
        rb_puts(&t->csv, "\"");
    for (const char *c = s; *c; c++) {
        if (*c == '"')
            rb_puts(&t->csv, "\"");
        rb_put(&t->csv, c, 1);
    }
    if (q)
        rb_puts(&t->csv, "\"");
}

static void dt_num(struct dtab *t, double v, int decimals)
{
    char b[64];
    if (!isfinite(v)) {
        dt_cell(t, "");
        return;
    }
    snprintf(b, sizeof b, "%.*f", decimals, v);
    dt_cell(t, b);
}

static void dt_end(struct dtab *t)
{
    if (t->row_open)
        rb_puts(&t->html, "</tr>");
    rb_puts(&t->csv, "\n");
    t->row_open = false;
}

static int write_file(const char *path, const char *data, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return KS_EIO;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            errno = e;
            return e == ENOSPC ? KS_ENOSPC : KS_EIO;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return KS_EIO;
    }
    return KS_OK;
}

/* Writes the <figure>: the SVG, the caption, the data table and the CSV link. */
static void emit_figure(struct page *p, const char *id, const char *num, const char *title,
                        struct rbuf *svg, struct dtab *t, bool nodata)
{
    struct rbuf *h = p->h;
    p->st->figures++;
    if (nodata)
        p->st->figures_no_data++;
    rb_printf(h, "<figure class=\"figure%s\" id=\"box-%s\">\n", nodata ? " nodata" : "", id);
    rb_put(h, rb_str(svg), svg->len);
    rb_puts(h, "\n<figcaption>");
    rb_xmls(h, num);
    rb_puts(h, p->ja ? "　" : " ");
    rb_xmls(h, title);
    rb_puts(h, "</figcaption>\n");
    if (t && t->html.len) {
        rb_printf(h, "<details class=\"data\"><summary>%s</summary><table>",
                  L(p, "データ", "Data"));
        rb_put(h, rb_str(&t->html), t->html.len);
        rb_puts(h, "</table>");
        if (p->csvdir && t->csv.len) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%s.csv", p->csvdir, id);
            if (write_file(path, rb_str(&t->csv), t->csv.len) == KS_OK)
                rb_printf(h, "<p><a href=\"figures/%s.csv\">CSV</a></p>", id);
        }
        rb_puts(h, "</details>\n");
    }
    rb_puts(h, "</figure>\n");
}

static const char *nodata_msg(const struct page *p, const char *why, char *buf, size_t size)
{
    static const struct {
        const char *key, *ja, *en;
    } m[] = {
        {"incidents", "インシデントが記録されていません", "no incident was logged"},
        {"ddos", "DDoS攻撃の記録（ddos_attacks）がありません",
         "no DDoS attack records (ddos_attacks)"},
        {"honeypot", "ハニーポットのセンサが報告していません", "no honeypot sensor reported"},
        {"samples", "検体の取得記録がありません", "no sample captures were recorded"},
        {"sqli", "SQLインジェクション検出の記録（sqli_detections）がありません",
         "no SQL injection detections (sqli_detections)"},
        {"mail", "受信メールの記録がありません", "no received mail was recorded"},
        {"spf", "SPF検査の記録がありません", "no SPF checks were recorded"},
        {"p2p", "P2P実験の設定（notes: p2p.addr, p2p.start）か記録がありません",
         "no P2P experiment configured (notes: p2p.addr, p2p.start) or recorded"},
        {"campaign", "見本のメール（notes: campaign.sample）が指定されていません",
         "no sample message chosen (notes: campaign.sample)"},
    };
    const char *r = why;
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (why && strcmp(m[i].key, why) == 0)
            r = p->ja ? m[i].ja : m[i].en;
    snprintf(buf, size, "%s%s", L(p, "この期間のデータはありません: ", "No data for this period: "),
             r ? r : "");
    return buf;
}

static void figure_nodata(struct page *p, const char *id, const char *num, const char *title,
                          const char *why, double w, double hh)
{
    struct rbuf svg;
    char msg[300], cap[300];
    rb_init(&svg);
    snprintf(cap, sizeof cap, "%s %s", num, title);
    struct svg_fig f = {.id = id,
                        .title = cap,
                        .desc = nodata_msg(p, why, msg, sizeof msg),
                        .w_mm = w,
                        .h_mm = hh > 0 ? hh : 45};
    svg_nodata(&svg, &f, msg);
    emit_figure(p, id, num, title, &svg, NULL, true);
    rb_free(&svg);
}

/* A sentence (or paragraph) in the page. */
static void para(struct page *p, const char *text)
{
    rb_puts(p->h, "<p>");
    rb_xmls(p->h, text);
    rb_puts(p->h, "</p>\n");
}

/* The analyst's prose for a block: paragraphs at blank lines; lines starting "- " or "▪" are
 * items of a list. */
static void prose(struct page *p, const char *block)
{
    const char *t = notes_text(p->q->notes, block, p->ja ? "ja" : "en");
    if (!t)
        return;
    rb_printf(p->h, "<div class=\"notes\" data-block=\"%s\">", block);
    bool in_p = false, in_ul = false;
    while (*t) {
        const char *e = strchr(t, '\n');
        size_t n = e ? (size_t)(e - t) : strlen(t);
        bool item = (n >= 2 && t[0] == '-' && t[1] == ' ') || (n >= 3 && memcmp(t, "▪", 3) == 0);
        if (n == 0) {
            if (in_p)
                rb_puts(p->h, "</p>");
            if (in_ul)
                rb_puts(p->h, "</ul>");
            in_p = in_ul = false;
        } else if (item) {
            if (in_p)
                rb_puts(p->h, "</p>");
            in_p = false;
            if (!in_ul)
                rb_puts(p->h, "<ul>");
            in_ul = true;
            size_t skip = t[0] == '-' ? 2 : 3;
            rb_puts(p->h, "<li>");
            rb_xml(p->h, t + skip, n - skip);
            rb_puts(p->h, "</li>");
        } else {
            if (in_ul)
                rb_puts(p->h, "</ul>");
            in_ul = false;
            rb_puts(p->h, in_p ? "\n" : "<p>");
            in_p = true;
            rb_xml(p->h, t, n);
        }
        t += n + (e ? 1 : 0);
    }
    if (in_p)
        rb_puts(p->h, "</p>");
    if (in_ul)
        rb_puts(p->h, "</ul>");
    rb_puts(p->h, "</div>\n");
}

static void heading(struct page *p, int level, const char *id, const char *ja, const char *en)
{
    rb_printf(p->h, "<h%d id=\"%s\">", level, id);
    rb_xmls(p->h, L(p, ja, en));
    rb_printf(p->h, "</h%d>\n", level);
}

/* Whether a number is known. */
static bool known(const struct page *p, const char *key)
{
    const struct number *n = num_get(p->q, key);
    return n && strcmp(n->json, "null") != 0;
}

#define N(key) num_text(p->q, key)

/* --- stacked / line / pie figure helpers ------------------------------------------------------ */

static void stack_series(const struct rq_stack *d, struct svg_series *s)
{
    for (size_t k = 0; k < d->ns; k++) {
        s[k].name = d->names[k];
        s[k].v = d->v + k * d->nx;
        s[k].color = d->colors[k];
    }
}

/* Data table of a daily stack: date, one column per series. */
static void stack_table(const struct page *p, const struct rq_stack *d, struct dtab *t, int64_t t0,
                        int64_t step_us, int decimals)
{
    dt_cell(t, L(p, "日付", "date"));
    for (size_t k = 0; k < d->ns; k++)
        dt_cell(t, d->names[k]);
    dt_end(t);
    for (size_t i = 0; i < d->nx; i++) {
        char lab[32];
        struct ks_tm tm;
        ks_time_split(t0 + (int64_t)i * step_us, p->q->tz, &tm);
        snprintf(lab, sizeof lab, "%04d-%02d-%02d", tm.year, tm.month, tm.day);
        dt_cell(t, lab);
        for (size_t k = 0; k < d->ns; k++)
            dt_num(t, d->v[k * d->nx + i], decimals);
        dt_end(t);
    }
}

static void slices_table(const struct page *p, const struct rq_slices *d, struct dtab *t,
                         int decimals)
{
    long u[32];
    svg_round_shares(d->v, d->n, decimals, u);
    dt_cell(t, L(p, "区分", "item"));
    if (d->ngroups)
        dt_cell(t, L(p, "グループ", "group"));
    dt_cell(t, L(p, "件数", "count"));
    dt_cell(t, "%");
    dt_end(t);
    for (size_t i = 0; i < d->n; i++) {
        dt_cell(t, d->names[i]);
        if (d->ngroups)
            dt_cell(t, d->gnames[d->group[i] >= 0 && d->group[i] < 4 ? d->group[i] : 0]);
        dt_num(t, d->v[i], 0);
        double s = (double)u[i];
        for (int k = 0; k < decimals; k++)
            s /= 10;
        dt_num(t, s, decimals);
        dt_end(t);
    }
}

/* --- sections -------------------------------------------------------------------------------- */

static const char *const cat_desc_ja[5] = {
    "インターネットや利用者の環境でよく利用されているネットワーク機器やサーバ機器、ソフトウェア等の"
    "脆弱性への対応を示す。",
    "国際会議等の要人による会議や、国際紛争に起因する攻撃等、国内外の情勢や国際的なイベントに関連す"
    "るインシデントへの対応を示す。",
    "歴史上の記念日等で、過去に歴史的事実に関連して攻撃が発生した日における注意・警戒、インシデント"
    "の検知、対策等の作業を示す。",
    "ワームやボット等のマルウェアの活性化や、特定サイトへのDDoS攻撃等、突発的に発生したインシデント"
    "とその対応を示す。",
    "直接的なインシデントではないが、インターネットの運用やセキュリティに関連する動向等を示す。",
};
static const char *const cat_desc_en[5] = {
    "Responses to vulnerabilities in network equipment, servers and software widely used on the "
    "Internet and by users.",
    "Responses to incidents related to domestic and international affairs and events, such as "
    "summits of dignitaries or attacks arising from international conflicts.",
    "Warnings, detection and countermeasures on historical anniversaries on which attacks "
    "related to historical facts have occurred in the past.",
    "Sudden incidents and the response to them, such as outbreaks of worms, bots and other "
    "malware, or DDoS attacks on particular sites.",
    "Trends related to Internet operations and security that are not incidents in themselves.",
};

struct inc_list {
    struct page *p;
    int cat;
    unsigned n;
};

static int incident_item(void *user, const struct ks_incident *inc)
{
    struct inc_list *l = user;
    if (inc->cat != l->cat)
        return 0;
    struct rbuf *h = l->p->h;
    rb_puts(h, "<li><span class=\"date\">");
    rb_xmls(h, inc->date);
    rb_puts(h, "</span> <strong>");
    rb_xml(h, inc->title, inc->title_len);
    rb_puts(h, "</strong>");
    if (inc->note && inc->note_len) {
        rb_puts(h, "<br>");
        rb_xml(h, inc->note, inc->note_len);
    }
    rb_puts(h, "</li>");
    l->n++;
    return 0;
}

static void sec_incidents(struct page *p)
{
    struct rbuf svg;
    struct dtab t;
    char cap[300], desc[400];
    double counts[5];
    rb_init(&svg);
    heading(p, 3, "s1-1", "1.1 はじめに", "1.1 Introduction");
    char per[128];
    period_text(p, per, sizeof per);
    char s[600];
    snprintf(s, sizeof s,
             p->ja ? "この期間（%s）に取り扱ったインシデントを図-1に、その分類を表-1に示します。"
                   : "Figure 1 shows the incidents handled in the period (%s); Table 1 gives "
                     "their categories.",
             per);
    para(p, s);
    prose(p, "intro");
    heading(p, 3, "s1-2", "1.2 インシデントサマリ", "1.2 Incident summary");
    /* 表-1: template text. */
    const char *cells[12];
    cells[0] = L(p, "カテゴリ名", "Category");
    cells[1] = L(p, "内容", "Description");
    for (int i = 0; i < 5; i++) {
        cells[2 + 2 * i] = ks_incident_cat_name(i, p->ja ? "ja" : "en");
        cells[3 + 2 * i] = p->ja ? cat_desc_ja[i] : cat_desc_en[i];
    }
    double widths[2] = {1, 4};
    snprintf(cap, sizeof cap, "%s %s", L(p, "表-1", "Table 1"),
             L(p, "インシデントの分類", "Incident categories"));
    struct svg_fig ft = {.id = "fig-incident-classes",
                         .title = cap,
                         .desc = L(p, "インシデントログの5つのカテゴリとその内容",
                                   "The five categories of the incident log"),
                         .w_mm = 170,
                         .h_mm = 72};
    svg_table(&svg, &ft, 2, widths, 6, cells);
    emit_figure(p, "fig-incident-classes", L(p, "表-1", "Table 1"),
                L(p, "インシデントの分類", "Incident categories"), &svg, NULL, false);
    rb_reset(&svg);

    struct ks_tm a, b;
    ks_time_split(p->q->from_us, p->q->tz, &a);
    ks_time_split(p->q->to_us - 1, p->q->tz, &b);
    char title[200];
    if (p->ja)
        snprintf(title, sizeof title, "カテゴリ別比率（%d年%d月〜%d月）", a.year, a.month, b.month);
    else
        snprintf(title, sizeof title, "Incidents by category (%s to %s)", p->q->from, p->q->to);
    if (q_incidents(p->q, counts) != KS_OK) {
        figure_nodata(p, "fig-incident-share", L(p, "図-1", "Figure 1"), title, "incidents",
                      SVG_HALF_W + 30, SVG_HALF_H);
    } else {
        struct svg_series sl[5];
        double v[5][1];
        for (int i = 0; i < 5; i++) {
            v[i][0] = counts[i];
            sl[i].name = ks_incident_cat_name(i, p->ja ? "ja" : "en");
            sl[i].v = v[i];
            sl[i].color = i == 4 ? SVG_OTHER : i;
        }
        snprintf(desc, sizeof desc, "%s %s, %s %s, %s %s, %s %s, %s %s", sl[0].name,
                 N("incidents.share.vulnerability"), sl[1].name, N("incidents.share.events"),
                 sl[2].name, N("incidents.share.history"), sl[3].name,
                 N("incidents.share.security"), sl[4].name, N("incidents.share.other"));
        snprintf(cap, sizeof cap, "%s %s", L(p, "図-1", "Figure 1"), title);
        struct svg_fig f = {.id = "fig-incident-share",
                            .title = cap,
                            .desc = desc,
                            .w_mm = SVG_HALF_W + 30,
                            .h_mm = SVG_HALF_H};
        svg_pie(&svg, &f, sl, 5, 1);
        dt_init(&t);
        struct rq_slices d = {.n = 5};
        for (int i = 0; i < 5; i++) {
            snprintf(d.names[i], RQ_NAME, "%s", sl[i].name);
            d.v[i] = counts[i];
        }
        slices_table(p, &d, &t, 1);
        emit_figure(p, "fig-incident-share", L(p, "図-1", "Figure 1"), title, &svg, &t, false);
        dt_free(&t);
        rb_reset(&svg);
    }
    /* Per category, the entries of the period. */
    for (int c = 0; c < 5; c++) {
        rb_printf(p->h, "<h4 class=\"cat\">%s</h4>\n",
                  ks_incident_cat_name(c, p->ja ? "ja" : "en"));
        static const char *const blocks[5] = {"incident.vulnerability", "incident.events",
                                              "incident.history", "incident.security",
                                              "incident.other"};
        prose(p, blocks[c]);
        struct inc_list l = {p, c, 0};
        rb_puts(p->h, "<ul class=\"incidents\">");
        ks_incident_list(p->q->s, p->q->from, p->q->to, incident_item, &l);
        rb_puts(p->h, "</ul>\n");
        if (l.n == 0)
            para(p, L(p, "この期間の記録はありません。", "No entry in this period."));
    }
    rb_free(&svg);
}

/* A daily stacked-bar figure from a stack, or its no-data box. */
static void daily_figure(struct page *p, const char *id, const char *num, const char *title,
                         const char *intitle, const char *ytitle, struct rq_stack *d, int rc,
                         bool cap, const char *desc, int decimals)
{
    if (rc != KS_OK || d->why || d->ns == 0) {
        figure_nodata(p, id, num, title, d->why, 0, 0);
        return;
    }
    struct rbuf svg;
    struct dtab t;
    struct day_ticks tk;
    struct svg_series s[RQ_MAX_SERIES];
    char caption[300];
    rb_init(&svg);
    dt_init(&t);
    daily_ticks(p, d->nx, &tk);
    stack_series(d, s);
    snprintf(caption, sizeof caption, "%s %s", num, title);
    struct svg_xaxis x = {.n = d->nx, .nticks = tk.n, .tick_at = tk.at, .tick_label = tk.labp};
    struct svg_fig f = {.id = id,
                        .title = caption,
                        .desc = desc,
                        .xtitle = L(p, "（日付）", "(date)"),
                        .ytitle = ytitle,
                        .intitle = intitle,
                        .y_decimals = decimals == 0 ? 0 : -1};
    svg_stacked_bars(&svg, &f, &x, s, d->ns, cap);
    stack_table(p, d, &t, p->q->from_us, KS_USEC_PER_DAY, decimals);
    emit_figure(p, id, num, title, &svg, &t, false);
    dt_free(&t);
    rb_free(&svg);
}

static void pie_figure(struct page *p, const char *id, const char *num, const char *title,
                       struct rq_slices *d, int rc, int decimals, const char *desc)
{
    if (rc != KS_OK || d->why || d->n == 0) {
        figure_nodata(p, id, num, title, d->why, SVG_HALF_W + 40, SVG_HALF_H + 8);
        return;
    }
    struct rbuf svg;
    struct dtab t;
    struct svg_series s[32];
    double v[32][1];
    char caption[300];
    rb_init(&svg);
    dt_init(&t);
    for (size_t i = 0; i < d->n; i++) {
        v[i][0] = d->v[i];
        s[i].name = d->names[i];
        s[i].v = v[i];
        s[i].color = d->colors[i];
    }
    snprintf(caption, sizeof caption, "%s %s", num, title);
    struct svg_fig f = {.id = id,
                        .title = caption,
                        .desc = desc,
                        .w_mm = SVG_HALF_W + 40,
                        .h_mm = SVG_HALF_H + (d->n > 11 ? 26 : 8)};
    if (d->ngroups) {
        struct svg_series in[4];
        double iv[4][1];
        for (size_t g = 0; g < d->ngroups; g++) {
            iv[g][0] = d->gv[g];
            in[g].name = d->gnames[g];
            in[g].v = iv[g];
            in[g].color = d->gcolors[g];
        }
        f.w_mm = 170;
        f.h_mm = 80;
        svg_pie2(&svg, &f, in, d->ngroups, s, d->group, d->n, decimals);
    } else {
        svg_pie(&svg, &f, s, d->n, decimals);
    }
    slices_table(p, d, &t, decimals);
    emit_figure(p, id, num, title, &svg, &t, false);
    dt_free(&t);
    rb_free(&svg);
}

static void static_figure(struct page *p, const char *id, const char *num, const char *title)
{
    char name[96], caption[300];
    struct rbuf svg;
    rb_init(&svg);
    snprintf(name, sizeof name, "%s.%s.svg", id, p->ja ? "ja" : "en");
    snprintf(caption, sizeof caption, "%s %s", num, title);
    struct svg_fig f = {.id = id, .title = caption, .desc = title};
    for (size_t i = 0; i < report_nassets; i++) {
        if (strcmp(report_assets[i].name, name) == 0) {
            svg_static(&svg, &f, report_assets[i].data, report_assets[i].len);
            emit_figure(p, id, num, title, &svg, NULL, false);
            rb_free(&svg);
            return;
        }
    }
    rb_free(&svg);
    figure_nodata(p, id, num, title, "(asset missing)", 0, 0);
}

static void sec_ddos(struct page *p)
{
    struct rq_stack d = {0}, big = {0};
    char s[1200], desc[400], day[32];
    heading(p, 3, "s1-3", "1.3 インシデントサーベイ", "1.3 Incident survey");
    heading(p, 4, "s1-3-1", "1.3.1 DDoS攻撃", "1.3.1 DDoS attacks");
    int rc = q_ddos_daily(p->q, &d);
    if (known(p, "ddos.attacks")) {
        if (p->ja)
            snprintf(s, sizeof s,
                     "この期間の1日の平均は%s件程度、合計%s件の攻撃に対処しました。"
                     "攻撃の内訳はサーバに対する攻撃が%s、回線容量に対する攻撃が%s、複合攻撃が%s"
                     "です。攻撃の継続時間は30分未満が%s、30分以上24時間未満が%s、24時間以上が%s"
                     "でした。",
                     N("ddos.per_day"), N("ddos.attacks"), N("ddos.share.server"),
                     N("ddos.share.bandwidth"), N("ddos.share.composite"), N("ddos.duration.lt30m"),
                     N("ddos.duration.30m_24h"), N("ddos.duration.gt24h"));
        else
            snprintf(s, sizeof s,
                     "We handled %s attacks in the period, about %s a day: %s against servers, "
                     "%s against bandwidth and %s composite. %s lasted under 30 minutes, %s from "
                     "30 minutes to 24 hours and %s longer.",
                     N("ddos.attacks"), N("ddos.per_day"), N("ddos.share.server"),
                     N("ddos.share.bandwidth"), N("ddos.share.composite"), N("ddos.duration.lt30m"),
                     N("ddos.duration.30m_24h"), N("ddos.duration.gt24h"));
        para(p, s);
    }
    prose(p, "ddos");
    snprintf(desc, sizeof desc, "%s %s, %s %s / %s / %s", N("ddos.attacks"), L(p, "件", "attacks"),
             L(p, "サーバ・回線容量・複合", "server, bandwidth, composite"), N("ddos.share.server"),
             N("ddos.share.bandwidth"), N("ddos.share.composite"));
    daily_figure(p, "fig-ddos-daily", L(p, "図-2", "Figure 2"),
                 L(p, "DDoS攻撃の対処件数", "DDoS attacks handled per day"), NULL,
                 L(p, "（件数）", "(attacks)"), &d, rc, false, desc, 0);
    int64_t day0 = 0;
    rc = q_ddos_largest(p->q, &big, &day0);
    const char *t3 = L(p, "期間中最大のDDoS攻撃の様子", "The largest DDoS attack of the period");
    double *xs = rc == KS_OK && !big.why ? malloc(big.nx * sizeof *xs) : NULL;
    if (xs) {
        struct rbuf svg;
        struct dtab t;
        struct svg_series ss[1];
        double at[5] = {0, 6, 12, 18, 24};
        const char *labs[5] = {"0", "6", "12", "18", "24"};
        char caption[300];
        rb_init(&svg);
        dt_init(&t);
        for (size_t i = 0; i < big.nx; i++)
            xs[i] = (double)i / 60.0;
        stack_series(&big, ss);
        date_label(p, day0, true, day, sizeof day);
        snprintf(caption, sizeof caption, "%s %s", L(p, "図-3", "Figure 3"), t3);
        snprintf(desc, sizeof desc, "%s %s Gbps (%s)", L(p, "最大", "peak"), N("ddos.max.gbps"),
                 day);
        struct svg_xaxis x = {.n = big.nx,
                              .numeric = true,
                              .x = xs,
                              .xmin = 0,
                              .xmax = 24,
                              .nticks = 5,
                              .tick_at = at,
                              .tick_label = labs};
        struct svg_fig f = {.id = "fig-ddos-largest",
                            .title = caption,
                            .desc = desc,
                            .xtitle = L(p, "（時間）", "(hour)"),
                            .ytitle = "（Gbps）",
                            .y_decimals = 1};
        svg_lines(&svg, &f, &x, ss, 1, false, false, NAN);
        dt_cell(&t, L(p, "時刻", "hour"));
        dt_cell(&t, "Gbps");
        dt_end(&t);
        for (size_t i = 0; i < big.nx; i++) {
            dt_num(&t, xs[i], 4);
            dt_num(&t, big.v[i], 3);
            dt_end(&t);
        }
        emit_figure(p, "fig-ddos-largest", L(p, "図-3", "Figure 3"), t3, &svg, &t, false);
        free(xs);
        dt_free(&t);
        rb_free(&svg);
    } else {
        figure_nodata(p, "fig-ddos-largest", L(p, "図-3", "Figure 3"), t3, "ddos", 0, 0);
    }
    rq_stack_free(&d);
    rq_stack_free(&big);
}

static void sec_malware(struct page *p)
{
    struct rq_stack d = {0}, sd = {0};
    struct rq_slices src = {0}, ssrc = {0};
    char s[1200], desc[600];
    heading(p, 4, "s1-3-2", "1.3.2 マルウェアの活動", "1.3.2 Malware activity");
    rb_printf(p->h, "<h5>%s</h5>\n", L(p, "■無作為通信の様子", "■ Unsolicited traffic"));
    int rc = q_darknet_ports(p->q, &d);
    int rc2 = q_darknet_sources(p->q, &src);
    if (known(p, "darknet.ports.top10")) {
        snprintf(s, sizeof s,
                 p->ja ? "ハニーポットに到着した通信の宛先ポートは、多い順に%sでした。"
                       : "By destination port, the traffic reaching the honeypots was, largest "
                         "first: %s.",
                 N("darknet.ports.top10"));
        para(p, s);
    }
    if (known(p, "darknet.src.domestic")) {
        if (known(p, "darknet.src.top_country"))
            snprintf(s, sizeof s,
                     p->ja ? "発信元は国内が%s、国外が%sで、国外では%sが最も多く%sでした。"
                           : "%s of the sources were domestic and %s foreign; the largest foreign "
                             "source was %s with %s.",
                     N("darknet.src.domestic"), N("darknet.src.foreign"),
                     N("darknet.src.top_country"), N("darknet.src.top_country_share"));
        else
            snprintf(s, sizeof s,
                     p->ja ? "発信元は国内が%s、国外（不明を含む）が%sでした。"
                           : "%s of the sources were domestic and %s foreign or unknown.",
                     N("darknet.src.domestic"), N("darknet.src.foreign"));
        para(p, s);
    }
    prose(p, "darknet");
    snprintf(desc, sizeof desc, "%s", N("darknet.ports.top10"));
    daily_figure(p, "fig-darknet-ports", L(p, "図-4", "Figure 4"),
                 L(p, "ハニーポットに到着した通信の推移（日別・宛先ポート別・一台あたり）",
                   "Packets arriving at the honeypots per day, by destination port, per sensor"),
                 L(p, "宛先ポート別パケット数(日別・1台あたり)",
                   "Packets by destination port (per day, per sensor)"),
                 L(p, "（パケット数）", "(packets)"), &d, rc, false, desc, 1);
    snprintf(desc, sizeof desc, "%s %s, %s %s", L(p, "国内", "domestic"), N("darknet.src.domestic"),
             L(p, "国外", "foreign"), N("darknet.src.foreign"));
    pie_figure(p, "fig-darknet-sources", L(p, "図-5", "Figure 5"),
               L(p, "発信元の分布（全期間）", "Sources of the packets (whole period)"), &src, rc2,
               0, desc);
    rb_printf(p->h, "<h5>%s</h5>\n",
              L(p, "■ネットワーク上でのマルウェアの活動", "■ Malware activity on the network"));
    rc = q_samples_daily(p->q, &sd);
    rc2 = q_samples_sources(p->q, &ssrc);
    q_samples_types(p->q);
    if (known(p, "samples.per_day.total")) {
        snprintf(s, sizeof s,
                 p->ja ? "1日あたりの取得検体数の平均は%s、ユニーク検体数は%sでした。"
                       : "On average %s samples were captured a day, %s of them unique.",
                 N("samples.per_day.total"), N("samples.per_day.unique"));
        para(p, s);
    }
    if (known(p, "samples.src.domestic")) {
        snprintf(s, sizeof s,
                 p->ja ? "検体の取得元は国内が%s（うち当社%s）、国外が%sでした。"
                       : "%s of the samples came from domestic sources (%s from the operator's "
                         "network), %s from abroad.",
                 N("samples.src.domestic"), N("samples.src.operator"), N("samples.src.foreign"));
        para(p, s);
    }
    if (known(p, "samples.type.bot")) {
        snprintf(s, sizeof s,
                 p->ja ? "検体の種類はワーム%s、ボット%s、ダウンローダ%sでした。解析により%s件の"
                         "C&Cサーバと%s件のマルウェア配布サイトを確認しました。"
                       : "By type, %s of the samples were worms, %s bots and %s downloaders. "
                         "Their analysis found %s C&C servers and %s distribution sites.",
                 N("samples.type.worm"), N("samples.type.bot"), N("samples.type.downloader"),
                 N("samples.cnc"), N("samples.dist_sites"));
        para(p, s);
    }
    prose(p, "malware");
    if (rc == KS_OK && !sd.why) {
        struct rbuf svg;
        struct dtab t;
        struct day_ticks tk;
        struct svg_series ss[2];
        char caption[300];
        const char *title = L(p, "取得検体数の推移（総数、ユニーク検体数）",
                              "Malware samples captured per day (total, unique)");
        rb_init(&svg);
        dt_init(&t);
        daily_ticks(p, sd.nx, &tk);
        stack_series(&sd, ss);
        snprintf(caption, sizeof caption, "%s %s", L(p, "図-6", "Figure 6"), title);
        snprintf(desc, sizeof desc, "%s %s, %s %s", ss[0].name, N("samples.per_day.total"),
                 ss[1].name, N("samples.per_day.unique"));
        struct svg_xaxis x = {.n = sd.nx, .nticks = tk.n, .tick_at = tk.at, .tick_label = tk.labp};
        struct svg_fig f = {.id = "fig-samples-daily",
                            .title = caption,
                            .desc = desc,
                            .xtitle = L(p, "（日付）", "(date)"),
                            .ytitle = L(p, "（総取得検体数）", "(samples captured)"),
                            .y2title = L(p, "（ユニーク検体数）", "(unique samples)"),
                            .y_decimals = -1};
        svg_lines(&svg, &f, &x, ss, 2, true, false, NAN);
        stack_table(p, &sd, &t, p->q->from_us, KS_USEC_PER_DAY, 0);
        emit_figure(p, "fig-samples-daily", L(p, "図-6", "Figure 6"), title, &svg, &t, false);
        dt_free(&t);
        rb_free(&svg);
    } else {
        figure_nodata(p, "fig-samples-daily", L(p, "図-6", "Figure 6"),
                      L(p, "取得検体数の推移（総数、ユニーク検体数）",
                        "Malware samples captured per day (total, unique)"),
                      "samples", 0, 0);
    }
    snprintf(desc, sizeof desc, "%s %s, %s %s", L(p, "国内", "domestic"), N("samples.src.domestic"),
             L(p, "国外", "foreign"), N("samples.src.foreign"));
    pie_figure(p, "fig-samples-sources", L(p, "図-7", "Figure 7"),
               L(p, "検体取得元の分布（全期間）", "Sources of the captured samples (whole period)"),
               &ssrc, rc2, 0, desc);
    rq_stack_free(&d);
    rq_stack_free(&sd);
}

static void sec_sqli(struct page *p)
{
    struct rq_stack d = {0};
    struct rq_slices src = {0};
    char desc[400];
    heading(p, 3, "s1-4", "1.4 フォーカスリサーチ", "1.4 Focused research");
    heading(p, 4, "s1-4-1", "1.4.1 WebサーバへのSQLインジェクション攻撃",
            "1.4.1 SQL injection attacks on web servers");
    int rc = q_sqli_daily(p->q, &d);
    int rc2 = q_sqli_sources(p->q, &src);
    prose(p, "sqli");
    snprintf(desc, sizeof desc, "%s %s", N("sqli.detections"), L(p, "件", "detections"));
    daily_figure(p, "fig-sqli-daily", L(p, "図-8", "Figure 8"),
                 L(p, "SQLインジェクション攻撃の推移（日別、攻撃種類別）",
                   "SQL injection attacks per day, by signature"),
                 NULL, L(p, "（検出数）", "(detections)"), &d, rc, true, desc, 0);
    if (known(p, "sqli.src.excluded"))
        snprintf(desc, sizeof desc,
                 p->ja ? "%s（データの窃取・過負荷と判断したキャンペーンの%s件を除く）"
                       : "%s (without the %s detections of the campaigns tagged as data theft or "
                         "database overload)",
                 N("sqli.src.top3"), N("sqli.src.excluded"));
    else
        snprintf(desc, sizeof desc, "%s", N("sqli.src.top3"));
    pie_figure(p, "fig-sqli-sources", L(p, "図-9", "Figure 9"),
               L(p, "SQLインジェクション攻撃の発信元の分布（全期間）",
                 "Sources of SQL injection attacks (whole period)"),
               &src, rc2, 1, desc);
    rq_stack_free(&d);
}

static void sec_spam2mal(struct page *p)
{
    struct rq_slices sh = {0}, ty = {0};
    char s[800], desc[300];
    heading(p, 4, "s1-4-2", "1.4.2 マルウェア感染に誘導する迷惑メール",
            "1.4.2 Spam leading to malware infections");
    int rc = q_spam2mal_share(p->q, &sh);
    int rc2 = q_spam2mal_types(p->q, &ty);
    if (known(p, "spam2mal.mails")) {
        snprintf(s, sizeof s,
                 p->ja ? "調査した迷惑メール%s通には%s個のURLが含まれ、そこから%s個の検体を取得し"
                         "ました。マルウェアへのリンクを含むメールは%sでした。"
                       : "The %s spam messages examined held %s URLs, from which %s samples "
                         "were obtained; %s of the messages linked to malware.",
                 N("spam2mal.mails"), N("spam2mal.urls"), N("spam2mal.samples"),
                 N("spam2mal.share_link"));
        para(p, s);
    }
    prose(p, "spam2mal");
    static_figure(p, "fig-spam2mal-flow", L(p, "図-10", "Figure 10"),
                  L(p, "迷惑メールからマルウェア感染に誘導する様子",
                    "How spam leads to a malware infection"));
    snprintf(desc, sizeof desc, "%s %s", L(p, "マルウェアへのリンク", "link to malware"),
             N("spam2mal.share_link"));
    pie_figure(p, "fig-spam2mal-share", L(p, "図-11", "Figure 11"),
               L(p, "迷惑メールとマルウェアの関係", "Spam and malware"), &sh, rc, 2, desc);
    pie_figure(p, "fig-spam2mal-types", L(p, "図-12", "Figure 12"),
               L(p, "取得したマルウェアの種類の分布", "Types of malware obtained"), &ty, rc2, 1,
               N("spam2mal.samples"));
}

static void sec_p2p(struct page *p)
{
    struct rq_stack d = {0};
    heading(p, 4, "s1-4-3", "1.4.3 P2Pネットワークに起因する不要な通信",
            "1.4.3 Unsolicited traffic caused by P2P networks");
    if (q_p2p_residue(p->q) == KS_OK) {
        char s[600];
        snprintf(s, sizeof s,
                 p->ja ? "P2Pクライアントを停止した後も届いた接続要求（%s台）:"
                       : "Connection attempts that kept arriving after each P2P client stopped "
                         "(%s clients):",
                 N("p2p.residue.clients"));
        para(p, s);
        for (int i = 1; i <= 16; i++) {
            char key[32];
            snprintf(key, sizeof key, "p2p.residue.%d", i);
            if (!known(p, key))
                break;
            para(p, N(key));
        }
    }
    prose(p, "p2p");
    static_figure(p, "fig-p2p-residual-flow", L(p, "図-13", "Figure 13"),
                  L(p, "P2Pネットワークにより不要な通信が発生する様子",
                    "How a P2P network causes unsolicited traffic"));
    const char *client = notes_get(p->q->notes, "config", "p2p.client");
    const char *days = notes_get(p->q->notes, "config", "p2p.days");
    char title[200];
    snprintf(title, sizeof title,
             p->ja ? "P2Pネットワークの通信の様子（%s・%s日間）"
                   : "Traffic of a P2P node (%s, %s days)",
             client ? client : "P2P", days ? days : "3");
    size_t nx = (size_t)(days && atoi(days) > 0 && atoi(days) <= 31 ? atoi(days) : 3) * 288;
    double *xs = calloc(nx, sizeof *xs);
    int rc = xs ? q_p2p_syn(p->q, &d, xs) : KS_ENOMEM;
    if (rc == KS_OK && !d.why) {
        struct rbuf svg;
        struct dtab t;
        struct svg_series ss[2];
        char caption[300];
        double at[32];
        char lab[32][8];
        const char *labp[32];
        size_t nd = d.nx / 288;
        for (size_t i = 0; i <= nd && i < 32; i++) {
            at[i] = (double)i;
            snprintf(lab[i], sizeof lab[i], "%zu", i);
            labp[i] = lab[i];
        }
        rb_init(&svg);
        dt_init(&t);
        stack_series(&d, ss);
        snprintf(caption, sizeof caption, "%s %s", L(p, "図-14", "Figure 14"), title);
        struct svg_xaxis x = {.n = d.nx,
                              .numeric = true,
                              .x = xs,
                              .xmin = 0,
                              .xmax = (double)nd,
                              .nticks = nd + 1 < 32 ? nd + 1 : 32,
                              .tick_at = at,
                              .tick_label = labp};
        struct svg_fig f = {.id = "fig-p2p-syn",
                            .title = caption,
                            .desc = title,
                            .xtitle = L(p, "（日）", "(days)"),
                            .ytitle = "(TCP SYN counts in 5min)",
                            .y_decimals = -1};
        svg_lines(&svg, &f, &x, ss, 2, false, false, NAN);
        dt_cell(&t, "t");
        dt_cell(&t, ss[0].name);
        dt_cell(&t, ss[1].name);
        dt_end(&t);
        for (size_t i = 0; i < d.nx; i++) {
            dt_num(&t, xs[i], 4);
            dt_num(&t, d.v[i], 0);
            dt_num(&t, d.v[d.nx + i], 0);
            dt_end(&t);
        }
        emit_figure(p, "fig-p2p-syn", L(p, "図-14", "Figure 14"), title, &svg, &t, false);
        dt_free(&t);
        rb_free(&svg);
    } else {
        figure_nodata(p, "fig-p2p-syn", L(p, "図-14", "Figure 14"), title, "p2p", 0, 0);
    }
    free(xs);
    rq_stack_free(&d);
}

static void sec_mail(struct page *p)
{
    struct rq_stack w = {0}, spf = {0};
    struct rq_slices cc = {0};
    char s[1200], desc[400], caption[300];
    int64_t w0 = 0, m0 = 0;
    rb_puts(p->h, "<section class=\"part\" id=\"part2\">\n");
    heading(p, 2, "s2", "2. メールテクニカルレポート", "2. Mail technical report");
    heading(p, 3, "s2-1", "2.1 はじめに", "2.1 Introduction");
    prose(p, "mail.intro");
    heading(p, 3, "s2-2", "2.2 迷惑メールの動向", "2.2 Spam trends");
    heading(p, 4, "s2-2-1", "2.2.1 迷惑メールの割合", "2.2.1 Share of spam");
    int rc = q_mail_weekly(p->q, &w, &w0);
    double yoy[2];
    char ylab[2][RQ_NAME];
    int rcy = q_mail_yoy(p->q, yoy, ylab);
    if (known(p, "mail.spam_ratio")) {
        snprintf(s, sizeof s,
                 p->ja ? "この期間の迷惑メールの割合は平均%sで、最も高かったのは第%s週（%s〜）の%s"
                         "でした。"
                       : "Spam was %s of received mail in the period on average; the highest "
                         "week was week %s (from %s) with %s.",
                 N("mail.spam_ratio"), N("mail.spam_ratio.peak_week"),
                 N("mail.spam_ratio.peak_week_start"), N("mail.spam_ratio.peak"));
        para(p, s);
    }
    if (known(p, "mail.spam_ratio.prev_year")) {
        snprintf(s, sizeof s,
                 p->ja ? "前年の平均%sと比べ、%sポイントの差です。"
                       : "Against the previous year's %s, that is a difference of %s points.",
                 N("mail.spam_ratio.prev_year"), N("mail.spam_ratio.diff"));
        para(p, s);
    }
    prose(p, "mail.ratio");
    const char *t1 = L(p, "迷惑メールの割合", "Share of spam in received mail, weekly");
    if (rc == KS_OK && !w.why) {
        struct rbuf svg;
        struct dtab t;
        struct svg_series ss[1];
        double at[64];
        char lab[64][16];
        const char *labp[64];
        size_t n = w.nx < 64 ? w.nx : 64;
        int prev_year = -1;
        for (size_t i = 0; i < n; i++) {
            struct ks_tm tm;
            int64_t ts = w0 + (int64_t)i * 7 * KS_USEC_PER_DAY;
            ks_time_split(ts, p->q->tz, &tm);
            at[i] = (double)i;
            date_label(p, ts, tm.year != prev_year, lab[i], sizeof lab[i]);
            prev_year = tm.year;
            labp[i] = lab[i];
        }
        rb_init(&svg);
        dt_init(&t);
        stack_series(&w, ss);
        snprintf(caption, sizeof caption, "%s %s", L(p, "図-1", "Figure 2-1"), t1);
        snprintf(desc, sizeof desc, "%s %s", L(p, "平均", "mean"), N("mail.spam_ratio"));
        struct svg_xaxis x = {.n = w.nx, .nticks = n, .tick_at = at, .tick_label = labp};
        double lo = 100;
        for (size_t i = 0; i < w.nx; i++)
            if (isfinite(w.v[i]) && w.v[i] < lo)
                lo = w.v[i];
        lo = lo >= 50 ? 50 : 0;
        struct svg_fig f = {.id = "fig-mail-spam-weekly",
                            .title = caption,
                            .desc = desc,
                            .w_mm = 120,
                            .h_mm = 70,
                            .ytitle = "（%）",
                            .y_decimals = 0};
        svg_lines(&svg, &f, &x, ss, 1, false, true, lo);
        w.ns = 1;
        stack_table(p, &w, &t, w0, 7 * KS_USEC_PER_DAY, 1);
        emit_figure(p, "fig-mail-spam-weekly", L(p, "図-1", "Figure 2-1"), t1, &svg, &t, false);
        dt_free(&t);
        rb_free(&svg);
    } else {
        figure_nodata(p, "fig-mail-spam-weekly", L(p, "図-1", "Figure 2-1"), t1, "mail", 120, 70);
    }
    const char *t2 = L(p, "迷惑メール割合の前年との比較", "Spam share against the previous year");
    if (rcy == KS_OK) {
        struct rbuf svg;
        struct dtab t;
        const char *labs[2] = {ylab[0], ylab[1]};
        int cols[2] = {0, 3};
        rb_init(&svg);
        dt_init(&t);
        snprintf(caption, sizeof caption, "%s %s", L(p, "図-2", "Figure 2-2"), t2);
        snprintf(desc, sizeof desc, "%s %s → %s", labs[0], N("mail.spam_ratio.prev_year"),
                 N("mail.spam_ratio"));
        struct svg_fig f = {.id = "fig-mail-spam-yoy",
                            .title = caption,
                            .desc = desc,
                            .w_mm = 70,
                            .h_mm = 70,
                            .ytitle = "（%）",
                            .y_decimals = 0};
        svg_bars(&svg, &f, labs, yoy, cols, 2, 1, "%");
        dt_cell(&t, L(p, "期間", "period"));
        dt_cell(&t, "%");
        dt_end(&t);
        for (int i = 0; i < 2; i++) {
            dt_cell(&t, labs[i]);
            dt_num(&t, yoy[i], 1);
            dt_end(&t);
        }
        emit_figure(p, "fig-mail-spam-yoy", L(p, "図-2", "Figure 2-2"), t2, &svg, &t, false);
        dt_free(&t);
        rb_free(&svg);
    } else {
        figure_nodata(p, "fig-mail-spam-yoy", L(p, "図-2", "Figure 2-2"), t2, "mail", 70, 70);
    }
    heading(p, 4, "s2-2-2", "2.2.2 迷惑メールの送信元", "2.2.2 Spam senders");
    rc = q_mail_countries(p->q, &cc);
    if (known(p, "mail.src.top")) {
        snprintf(s, sizeof s,
                 p->ja ? "迷惑メールの送信元は%sの順でした。日本は%s（%s位）です。送信元IPアドレス"
                         "1つあたりの迷惑メールは%s通でした。"
                       : "The top senders of spam were %s. The home country sent %s (rank %s). "
                         "Each sending address sent %s spam messages on average.",
                 N("mail.src.top"), N("mail.src.home"), N("mail.src.home_rank"),
                 N("mail.msgs_per_ip"));
        para(p, s);
    }
    prose(p, "mail.senders");
    pie_figure(p, "fig-mail-spam-countries", L(p, "図-3", "Figure 2-3"),
               L(p, "迷惑メールの送信元", "Spam senders by country"), &cc, rc, 1,
               N("mail.src.top"));
    heading(p, 4, "s2-2-3", "2.2.3 迷惑メールの傾向", "2.2.3 Spam campaigns");
    if (q_mail_campaign_stats(p->q) == KS_OK) {
        snprintf(
            s, sizeof s,
            p->ja
                ? "件名で定義したキャンペーンのメール%s通は%sに初めて現れ、最も多い日には全受信メー"
                  "ルの%sを占めました（件名の系統 %s）。最後に観測したのは%sです。"
                : "The campaign defined by its subjects (%s messages) first appeared at %s; "
                  "on its busiest days it made %s of all received mail (subject families "
                  "seen: %s). It was last seen at %s.",
            N("mail.campaign.messages"), N("mail.campaign.first"), N("mail.campaign.top_days"),
            N("mail.campaign.variants"), N("mail.campaign.last"));
        para(p, s);
    }
    prose(p, "mail.campaign");
    {
        char lines[16][256];
        const char *lp[16];
        size_t n = 0;
        const char *t4 = L(p, "迷惑メールのサンプル", "A sample of the campaign's spam");
        if (q_mail_campaign(p->q, lines, 16, &n) == KS_OK) {
            struct rbuf svg;
            rb_init(&svg);
            for (size_t i = 0; i < n; i++)
                lp[i] = lines[i];
            snprintf(caption, sizeof caption, "%s %s", L(p, "図-4", "Figure 2-4"), t4);
            struct svg_fig f = {.id = "fig-mail-campaign-sample",
                                .title = caption,
                                .desc = t4,
                                .w_mm = 170,
                                .h_mm = 12 + 3.6 * (double)n};
            svg_exhibit(&svg, &f, lp, n);
            emit_figure(p, "fig-mail-campaign-sample", L(p, "図-4", "Figure 2-4"), t4, &svg, NULL,
                        false);
            rb_free(&svg);
        } else {
            figure_nodata(p, "fig-mail-campaign-sample", L(p, "図-4", "Figure 2-4"), t4, "campaign",
                          170, 40);
        }
    }
    heading(p, 3, "s2-3", "2.3 メールの技術動向", "2.3 Mail technology");
    heading(p, 4, "s2-3-1", "2.3.1 送信ドメイン認証技術", "2.3.1 Sender authentication (SPF)");
    rc = q_spf_monthly(p->q, &spf, &m0);
    if (known(p, "spf.share.latest")) {
        snprintf(s, sizeof s,
                 p->ja ? "受信メールのうちSPFを宣言しているドメインからのものは、最新月で%s、1年前"
                         "は%sでした。"
                       : "Mail from domains that publish SPF was %s of received mail in the "
                         "latest month, against %s a year earlier.",
                 N("spf.share.latest"), N("spf.share.year_ago"));
        para(p, s);
    }
    prose(p, "mail.spf");
    const char *t5 = L(p, "SPFの認証結果の推移", "SPF results of received mail, monthly");
    if (rc == KS_OK && !spf.why) {
        struct rbuf svg;
        struct dtab t;
        struct svg_series ss[2];
        double at[17];
        char lab[17][16];
        const char *labp[17];
        int prev_year = -1;
        int64_t m = m0;
        for (size_t i = 0; i < 17; i++) {
            struct ks_tm tm;
            ks_time_split(m, p->q->tz, &tm);
            at[i] = (double)i;
            date_label(p, m, tm.year != prev_year, lab[i], sizeof lab[i]);
            prev_year = tm.year;
            labp[i] = lab[i];
            m = ks_time_bucket_next(m, KS_BUCKET_MONTH, p->q->tz);
        }
        rb_init(&svg);
        dt_init(&t);
        stack_series(&spf, ss);
        snprintf(caption, sizeof caption, "%s %s", L(p, "図-5", "Figure 2-5"), t5);
        snprintf(desc, sizeof desc, "%s %s",
                 L(p, "SPF対応の割合（最新月）", "SPF share, latest month"), N("spf.share.latest"));
        struct svg_xaxis x = {.n = 17, .nticks = 17, .tick_at = at, .tick_label = labp};
        struct svg_fig f = {.id = "fig-mail-spf-monthly",
                            .title = caption,
                            .desc = desc,
                            .xtitle = L(p, "（月）", "(month)"),
                            .ytitle = L(p, "（受信メール数）", "(messages)"),
                            .y_decimals = 0};
        svg_stacked_bars(&svg, &f, &x, ss, 2, false);
        dt_cell(&t, L(p, "月", "month"));
        dt_cell(&t, ss[0].name);
        dt_cell(&t, ss[1].name);
        dt_end(&t);
        for (size_t i = 0; i < 17; i++) {
            dt_cell(&t, lab[i]);
            dt_num(&t, spf.v[i], 0);
            dt_num(&t, spf.v[17 + i], 0);
            dt_end(&t);
        }
        emit_figure(p, "fig-mail-spf-monthly", L(p, "図-5", "Figure 2-5"), t5, &svg, &t, false);
        dt_free(&t);
        rb_free(&svg);
    } else {
        figure_nodata(p, "fig-mail-spf-monthly", L(p, "図-5", "Figure 2-5"), t5, "spf", 0, 0);
    }
    heading(p, 3, "s2-4", "2.4 おわりに", "2.4 Conclusion");
    prose(p, "mail.conclusion");
    prose(p, "mail.authors");
    rb_puts(p->h, "</section>\n");
    rq_stack_free(&w);
    rq_stack_free(&spf);
}

static void summary(struct page *p)
{
    char s[1600];
    heading(p, 2, "summary", "エグゼクティブサマリ", "Executive summary");
    prose(p, "summary");
    struct rbuf b;
    rb_init(&b);
    if (known(p, "ddos.attacks")) {
        snprintf(s, sizeof s,
                 p->ja ? "DDoS攻撃は合計%s件（1日あたり%s件）で、サーバに対する攻撃が%s、回線容量に"
                         "対する攻撃が%s、複合攻撃が%sでした。"
                       : "%s DDoS attacks (%s a day): %s against servers, %s against bandwidth, "
                         "%s composite. ",
                 N("ddos.attacks"), N("ddos.per_day"), N("ddos.share.server"),
                 N("ddos.share.bandwidth"), N("ddos.share.composite"));
        rb_puts(&b, s);
    }
    if (known(p, "samples.type.bot")) {
        snprintf(s, sizeof s,
                 p->ja ? "ハニーポットで取得した検体のうちボット型は%sでした。"
                       : "Bots were %s of the samples captured by the honeypots. ",
                 N("samples.type.bot"));
        rb_puts(&b, s);
    }
    if (known(p, "mail.spam_ratio")) {
        if (known(p, "mail.spam_ratio.prev_year"))
            snprintf(s, sizeof s,
                     p->ja ? "迷惑メールの割合は%sで、前年の%sから%sポイント変化しました。"
                           : "Spam was %s of received mail, against %s the previous year (%s "
                             "points). ",
                     N("mail.spam_ratio"), N("mail.spam_ratio.prev_year"),
                     N("mail.spam_ratio.diff"));
        else
            snprintf(s, sizeof s,
                     p->ja ? "迷惑メールの割合は%sでした。" : "Spam was %s of received mail. ",
                     N("mail.spam_ratio"));
        rb_puts(&b, s);
    }
    if (known(p, "mail.src.top")) {
        snprintf(s, sizeof s,
                 p->ja ? "迷惑メールの送信元は%sの順で、日本は%s位でした。"
                       : "The top spam sources were %s; the home country ranked %s. ",
                 N("mail.src.top"), N("mail.src.home_rank"));
        rb_puts(&b, s);
    }
    if (known(p, "spf.share.latest")) {
        snprintf(s, sizeof s,
                 p->ja ? "SPFを宣言するドメインからの受信メールは%sでした。"
                       : "%s of received mail came from domains that publish SPF.",
                 N("spf.share.latest"));
        rb_puts(&b, s);
    }
    if (b.len)
        para(p, rb_str(&b));
    else
        para(p, L(p, "この期間のデータはありません。", "No data for this period."));
    prose(p, "signature");
    rb_free(&b);
}

static const char css[] =
    "<style>\n"
    "body{font-family:'Noto Sans CJK JP','Source Han Sans JP',IPAexGothic,'Hiragino Kaku Gothic "
    "ProN','Yu Gothic',Meiryo,sans-serif;max-width:190mm;margin:0 auto;padding:8mm;"
    "line-height:1.6;color:#000;font-variant-numeric:tabular-nums}\n"
    "h1{font-size:20pt;margin:0}h2{font-size:15pt;border-bottom:1.5pt solid #0072B2;"
    "margin-top:2em}h3{font-size:12.5pt;margin-top:1.6em}h4{font-size:11pt}h5{font-size:10pt}\n"
    ".period{color:#333}figure{margin:1.2em 0;break-inside:avoid;page-break-inside:avoid}\n"
    "figure svg{display:block;max-width:100%;height:auto}\n"
    "figcaption{font-size:9pt;font-weight:bold;margin-top:.3em}\n"
    "details.data{font-size:8pt}details.data table{border-collapse:collapse}\n"
    "details.data td{border:.5pt solid #999;padding:0 4px;text-align:right}\n"
    "ul.incidents{font-size:9.5pt}.date{color:#333;font-variant-numeric:tabular-nums}\n"
    "footer{font-size:8pt;color:#333;margin-top:3em;border-top:.5pt solid #999}\n"
    "@page{size:A4;margin:15mm 20mm}\n"
    "@media print{body{max-width:none;padding:0}details.data,.csv{display:none}"
    "h2{break-before:page}h2#summary{break-before:auto}section.part{break-before:page}}\n"
    "</style>\n";

static const char glossary_ja[] =
    "DDoS攻撃: 多数の送信元から標的に大量の通信を送り、サービスを妨害する攻撃。"
    "ボット: 攻撃者の指令（C&Cサーバ経由）で動作するマルウェア。"
    "ハニーポット: 攻撃を観測するために設置したおとりのシステム。"
    "SQLインジェクション: Webアプリケーションへの入力にSQL文を紛れ込ませる攻撃。"
    "SYN: TCPの接続要求。OP25B: 動的IPアドレスからの外部25番ポートへの通信を遮断する対策。";
static const char glossary_en[] =
    "DDoS attack: many sources send a target more traffic than it can serve. "
    "Bot: malware that takes orders from its operator through a command-and-control (C&C) "
    "server. Honeypot: a decoy system set up to observe attacks. SQL injection: an attack "
    "slipping SQL into a web application's input. SYN: a TCP connection request. OP25B: "
    "blocking outbound port 25 from dynamic addresses.";

int report_render(struct rq *q, struct rbuf *h, struct rbuf *json, const char *csvdir,
                  struct ks_report_stats *st)
{
    struct page pg = {q, h, csvdir, strcmp(q->lang, "ja") == 0, st};
    struct page *p = &pg;
    char per[160], tz[16];
    int off = q->tz / 60;
    snprintf(tz, sizeof tz, "%c%02d:%02d", off < 0 ? '-' : '+', abs(off) / 60, abs(off) % 60);
    period_text(p, per, sizeof per);
    rb_printf(h,
              "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
              "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
              "style-src 'unsafe-inline'; img-src data:\">\n<title>",
              p->ja ? "ja" : "en");
    rb_xmls(h, L(p, "インターネット・インフラストラクチャ・レビュー",
                 "Internet Infrastructure Review"));
    rb_puts(h, " ");
    rb_xmls(h, per);
    rb_puts(h, "</title>\n");
    rb_puts(h, css);
    rb_puts(h, "</head>\n<body>\n<header>\n<h1>");
    rb_xmls(h, L(p, "インターネット・インフラストラクチャ・レビュー",
                 "Internet Infrastructure Review"));
    rb_puts(h, "</h1>\n<p class=\"period\">");
    rb_xmls(h, per);
    rb_printf(h, " (UTC%s)", tz);
    const char *op = notes_get(q->notes, "config", "operator");
    if (op) {
        rb_puts(h, " — ");
        rb_xmls(h, op);
    }
    rb_puts(h, "</p>\n</header>\n<main>\n");
    /* The numbers are computed by the sections; the summary quotes them, so the sections are
     * rendered first into the page body and the summary put before them. */
    struct rbuf body;
    rb_init(&body);
    p->h = &body;
    q_ext(p->q);
    rb_puts(&body, "<section class=\"part\" id=\"part1\">\n");
    heading(p, 2, "s1", "1. インフラストラクチャセキュリティ", "1. Infrastructure security");
    {
        char s[400];
        snprintf(s, sizeof s,
                 p->ja ? "ここでは、%sの期間に観測したインシデントと、その調査の結果を報告します。"
                       : "This part reports the incidents observed from %s and what our survey of "
                         "them found.",
                 per);
        para(p, s);
    }
    prose(p, "infra");
    sec_incidents(p);
    sec_ddos(p);
    sec_malware(p);
    sec_sqli(p);
    sec_spam2mal(p);
    sec_p2p(p);
    heading(p, 3, "s1-5", "1.5 おわりに", "1.5 Conclusion");
    prose(p, "conclusion");
    prose(p, "authors");
    rb_puts(&body, "</section>\n");
    sec_mail(p);
    rb_puts(&body, "<section class=\"part\" id=\"part3\">\n");
    heading(p, 2, "s3", "3. インターネットトピック", "3. Internet topic");
    prose(p, "column");
    static_figure(p, "fig-topic-1", "", L(p, "MD6のtree hash構造", "MD6 tree structure"));
    rb_puts(&body, "</section>\n");
    prose(p, "about");
    p->h = h;
    summary(p);
    rb_put(h, rb_str(&body), body.len);
    rb_free(&body);
    rb_puts(h, "</main>\n<footer>\n<p>");
    rb_xmls(h, p->ja ? glossary_ja : glossary_en);
    rb_puts(h, "</p>\n<p>");
    rb_xmls(h, L(p,
                 "本レポートの数値と図は、kansokuのストアに記録されたデータから生成されています"
                 "（numbers.json、docs/report.md）。",
                 "Every number and figure of this report is generated from the records of "
                 "kansoku's store (numbers.json, docs/report.md)."));
    rb_puts(h, "</p>\n</footer>\n</body>\n</html>\n");

    /* numbers.json, keys sorted. */
    size_t *idx = malloc((q->nnums ? q->nnums : 1) * sizeof *idx);
    if (!idx)
        return KS_ENOMEM;
    for (size_t i = 0; i < q->nnums; i++)
        idx[i] = i;
    for (size_t i = 1; i < q->nnums; i++)
        for (size_t j = i; j > 0 && strcmp(q->nums[idx[j - 1]].key, q->nums[idx[j]].key) > 0; j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    rb_puts(json, "{\n  \"period\": {\"from\": ");
    rb_json(json, q->from);
    rb_puts(json, ", \"to\": ");
    rb_json(json, q->to);
    rb_printf(json, ", \"days\": %zu, \"tz\": \"%s\", \"lang\": \"%s\"},\n  \"numbers\": {",
              q->ndays, tz, q->lang);
    for (size_t i = 0; i < q->nnums; i++) {
        const struct number *n = &q->nums[idx[i]];
        rb_puts(json, i ? ",\n    " : "\n    ");
        rb_json(json, n->key);
        rb_puts(json, ": ");
        rb_puts(json, n->json);
        if (strcmp(n->json, "null") != 0)
            st->numbers++;
    }
    rb_puts(json, "\n  }\n}\n");
    free(idx);
    return h->oom || json->oom ? KS_ENOMEM : KS_OK;
}

/* --- entry points ------------------------------------------------------------------------------
 */

void ks_report_config_default(struct ks_report_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->lang = "ja";
    cfg->tz_offset_s = KS_TZ_JST;
    cfg->home_country = "JP";
}

static int day_start(const char *date, int32_t tz, int64_t *t)
{
    char d[11];
    if (!date || ks_incident_date_parse(date, strlen(date), d) != KS_OK)
        return KS_EINVAL;
    struct ks_tm tm = {.year = atoi(d), .month = atoi(d + 5), .day = atoi(d + 8)};
    return ks_time_join(&tm, tz, t) == KS_OK ? KS_OK : KS_EINVAL;
}

static int read_all(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    if (!f)
        return KS_EIO;
    for (;;) {
        if (n + 65536 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return KS_ENOMEM;
            }
            buf = p;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0 || n > NOTES_MAX_BYTES)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return KS_EIO;
    }
    *out = buf;
    *len = n;
    return KS_OK;
}

int ks_report_write(struct ks_store *s, const struct ks_report_config *cfg, const char *dir,
                    const struct ks_diag *diag, struct ks_report_stats *st)
{
    struct rq q = {0};
    struct notes notes = {0};
    struct rbuf html, json;
    struct ks_report_stats dummy;
    char path[4200], csvdir[4200];
    char *nbuf = NULL;
    int rc;
    if (!st)
        st = &dummy;
    memset(st, 0, sizeof *st);
    rb_init(&html);
    rb_init(&json);
    q.s = s;
    q.cfg = cfg;
    q.diag = diag;
    q.lang = cfg->lang ? cfg->lang : "ja";
    q.tz = cfg->tz_offset_s;
    if (strcmp(q.lang, "ja") != 0 && strcmp(q.lang, "en") != 0)
        return KS_EINVAL;
    if (q.tz <= -24 * 3600 || q.tz >= 24 * 3600 || q.tz % 60)
        return KS_EINVAL;
    int64_t to0;
    if (day_start(cfg->from, q.tz, &q.from_us) != KS_OK || day_start(cfg->to, q.tz, &to0) != KS_OK)
        return KS_EINVAL;
    q.to_us = to0 + KS_USEC_PER_DAY;
    if (q.to_us <= q.from_us || (q.to_us - q.from_us) / KS_USEC_PER_DAY > 3660)
        return KS_EINVAL;
    q.ndays = (size_t)((q.to_us - q.from_us) / KS_USEC_PER_DAY);
    snprintf(q.from, sizeof q.from, "%s", cfg->from);
    snprintf(q.to, sizeof q.to, "%s", cfg->to);
    if (cfg->nsensors) {
        size_t o = (size_t)snprintf(q.sensors, sizeof q.sensors, ",");
        for (size_t i = 0; i < cfg->nsensors && o < sizeof q.sensors; i++)
            o += (size_t)snprintf(q.sensors + o, sizeof q.sensors - o, "%s,", cfg->sensors[i]);
        if (o >= sizeof q.sensors)
            return KS_EINVAL;
    }
    if (cfg->notes_path) {
        size_t n = 0;
        if ((rc = read_all(cfg->notes_path, &nbuf, &n)) != KS_OK)
            return rc == KS_EIO ? KS_EFORMAT : rc;
        rc = notes_parse(nbuf, n, cfg->notes_path, diag, &notes);
        free(nbuf);
        if (rc != KS_OK)
            return rc;
        st->notes_bad = notes.bad;
    }
    q.notes = &notes;
    const char *home = notes_get(&notes, "config", "home_country");
    q.home = home && strlen(home) == 2 ? home : cfg->home_country ? cfg->home_country : "JP";
    /* Geolocation is needed only for tables that store bare addresses: a missing database
     * leaves their sources "unknown" and is said once. */
    rc = ks_geo_open(cfg->geo_dir, &q.geo);
    if (rc != KS_OK && rc != KS_ENOTFOUND && rc != KS_ECORRUPT && rc != KS_EIO)
        q.geo = NULL;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        rc = KS_EIO;
        goto out;
    }
    snprintf(csvdir, sizeof csvdir, "%s/figures", dir);
    if (mkdir(csvdir, 0755) != 0 && errno != EEXIST) {
        rc = KS_EIO;
        goto out;
    }
    rc = report_render(&q, &html, &json, csvdir, st);
    if (rc == KS_OK && q.err)
        rc = q.err;
    if (rc != KS_OK)
        goto out;
    snprintf(path, sizeof path, "%s/index.html", dir);
    if ((rc = write_file(path, rb_str(&html), html.len)) != KS_OK)
        goto out;
    st->bytes = html.len;
    snprintf(path, sizeof path, "%s/numbers.json", dir);
    rc = write_file(path, rb_str(&json), json.len);
out:
    ks_geo_free(q.geo);
    notes_free(&notes);
    free(q.nums);
    rb_free(&html);
    rb_free(&json);
    return rc;
}
