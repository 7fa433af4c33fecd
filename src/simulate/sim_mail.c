/* simulate: received mail of the operator's mail service, one mbox per month. Filter
 * verdicts in SpamAssassin's headers (about 85% spam, a peak in the Obon week), senders by
 * country (reference 2:figure 3) with about 37.7 messages per sending address, a burst
 * campaign ("CNN.com Daily Top 10" and its mutations), and SPF results in Received-SPF
 * (about 26% of the mail from domains publishing SPF, 30% a year earlier). Months before the
 * period (from January of the previous year) carry the history the report compares with. */
#include "sim_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_time.h"

#define MX_NAME "mx1.mail.demo.example.jp"
#define MX_IP "10.20.0.11"
#define MBOX_NAME "mbox1.mail.demo.example.jp"

/* Spam senders (2:figure 3, ISO alpha-2 here): USA 13, CHN 11, TUR 7, RUS 6, BRA 5, KOR 4,
 * COL 3, ESP, DEU ..., JPN 16th with 1.9, then a tail of smaller countries. */
static const struct sim_src spam_mix[] = {
    {"US", -1, 13.0}, {"CN", -1, 11.0}, {"TR", -1, 7.0}, {"RU", -1, 6.0},  {"BR", -1, 5.0},
    {"KR", -1, 4.0},  {"CO", -1, 3.0},  {"ES", -1, 2.6}, {"DE", -1, 2.5},  {"PL", -1, 2.4},
    {"IT", -1, 2.3},  {"IN", -1, 2.2},  {"AR", -1, 2.1}, {"MX", -1, 2.05}, {"VN", -1, 2.0},
    {"JP", -1, 1.9},  {"GB", -1, 1.6},  {"FR", -1, 1.5}, {"TW", -1, 1.5},  {"TH", -1, 1.4},
    {"CA", -1, 1.3},  {"PE", -1, 1.3},  {"VE", -1, 1.2}, {"IR", -1, 1.2},  {"PK", -1, 1.1},
    {"EG", -1, 1.1},  {"NL", -1, 1.0},  {"ID", -1, 1.0}, {"PH", -1, 1.0},  {"MY", -1, 1.0},
    {"KZ", -1, 0.9},  {"HU", -1, 0.9},  {"CZ", -1, 0.9}, {"PT", -1, 0.9},  {"GR", -1, 0.9},
    {"AU", -1, 0.8},  {"IL", -1, 0.8},  {"SE", -1, 0.8}, {"HK", -1, 0.8},  {"SG", -1, 0.7},
    {"AT", -1, 0.7},  {"CH", -1, 0.7},  {"NZ", -1, 0.6},
};
#define NSPAM (sizeof spam_mix / sizeof spam_mix[0])
#define NA(a) (sizeof(a) / sizeof((a)[0]))

/* Weekly spam ratio targets from the period's first Monday (the reference's weeks 23-35;
 * week 33, the Obon holidays, highest). */
static const double week_ratio[13] = {0.835, 0.848, 0.842, 0.856, 0.861, 0.850, 0.847,
                                      0.858, 0.868, 0.875, 0.890, 0.866, 0.855};

/* The campaign's share of all mail on its days (2.6% on the first, 3.3% on the second). */
static const double camp_share[11] = {0.026, 0.033, 0.029, 0.022, 0.018, 0.015,
                                      0.012, 0.009, 0.006, 0.004, 0.002};

static const char *const headlines[] = {
    "Olympic torch relay ends in Beijing",
    "Markets rally as oil prices fall",
    "Storm heads for Gulf coast",
    "Scientists find water on Mars",
    "Celebrity caught on video",
    "New iPhone sales break records",
    "Video: tornado tears through town",
    "Police chase ends in crash",
    "Top secret photos leaked",
    "Dramatic rescue caught on tape",
    "World leaders meet at summit",
    "Earthquake shakes region",
};

static const char *const spam_subjects[] = {
    "Re: your order #%u",
    "V1AGRA 80%% OFF - limited time %u",
    "Replica watches from $%u",
    "Your account has been suspended (ref %u)",
    "Hot stock alert: up %u%% this week",
    "You have won $%u,000",
    "Lonely? Meet singles near you %u",
    "Cheap software - save %u%%",
    "Approved: loan of $%u,000",
    "Increase your size by %u%%",
};

/* UTF-8 Japanese subjects, sent as RFC 2047 encoded-words. */
static const char *const ja_spam[] = {
    "\xe3\x80\x90\xe7\x84\xa1\xe6\x96\x99\xe3\x80\x91\xe5\x87\xba\xe4\xbc\x9a\xe3\x81\x84"
    "\xe3\x81\xae\xe3\x81\x94\xe6\xa1\x88\xe5\x86\x85", /* 【無料】出会いのご案内 */
    "\xe6\x9c\xaa\xe6\x89\x95\xe3\x81\x84\xe6\x96\x99\xe9\x87\x91\xe3\x81\xae\xe3\x81\x8a"
    "\xe7\x9f\xa5\xe3\x82\x89\xe3\x81\x9b", /* 未払い料金のお知らせ */
};
static const char *const ja_ham[] = {
    "\xe4\xbc\x9a\xe8\xad\xb0\xe3\x81\xae\xe4\xbb\xb6",             /* 会議の件 */
    "\xe8\xa6\x8b\xe7\xa9\x8d\xe6\x9b\xb8\xe9\x80\x81\xe4\xbb\x98", /* 見積書送付 */
    "\xe6\x9a\x91\xe4\xb8\xad\xe3\x81\x8a\xe8\xa6\x8b\xe8\x88\x9e\xe3\x81\x84", /* 暑中お見舞い */
};
static const char *const ham_subjects[] = {
    "Meeting on %u",    "Re: invoice %u", "[ml-users:%u] release notes", "Weekly report %u",
    "Re: Re: schedule", "Fwd: photos",    "Your order %u has shipped",   "Newsletter vol.%u",
};
static const char *const words[] = {"sky",  "best", "shop", "news", "video", "pill", "mega",
                                    "star", "gold", "cash", "win",  "top",   "hot",  "deal"};
static const char *const names[] = {
    "tanaka",    "suzuki", "sato", "takahashi", "ito",  "watanabe", "yamamoto", "nakamura",
    "kobayashi", "kato",   "john", "mary",      "info", "sales",    "support",  "admin"};

static size_t b64(const char *s, char *out, size_t size)
{
    static const char tb[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), o = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n && o + 5 < size; i += 3) {
        uint32_t v = (uint32_t)u[i] << 16 | (i + 1 < n ? (uint32_t)u[i + 1] << 8 : 0) |
                     (i + 2 < n ? u[i + 2] : 0);
        out[o++] = tb[v >> 18];
        out[o++] = tb[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tb[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tb[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

struct mailctx {
    struct sim_part *p;
    const struct ks_simulate_config *cfg;
    struct sim_file f;
    int month_open; /* yyyymm of the open mbox, 0 if none */
    /* spam sender pools per country, for the period */
    uint32_t *pool[NSPAM];
    uint32_t npool[NSPAM];
    uint32_t *ham_mta;
    uint32_t nham_mta;
    uint64_t serial;
};

/* SPF adoption among the mail's sender domains: 31% in 2007-04 down to 26.4% in 2008-08. */
static double spf_share(int64_t year, int month)
{
    double m = (double)((year - 2007) * 12 + (month - 4));
    if (m < 0)
        m = 0;
    if (m > 16)
        m = 16;
    return 0.31 - 0.046 * m / 16.0;
}

/* Spam ratio of a day outside the period (history): 2007 from 69% to 77% (mean 73.1%),
 * 2008 rising to 84%. */
static double history_ratio(int64_t year, int month)
{
    if (year <= 2007)
        return 0.69 + 0.08 * (month - 1) / 11.0 + (month == 8 ? 0.01 : 0);
    return 0.78 + 0.012 * (month - 1);
}

static int ensure_month(struct mailctx *m, int64_t year, int month)
{
    int ym = (int)year * 100 + month;
    if (m->month_open == ym)
        return KS_OK;
    if (m->month_open) {
        m->month_open = 0;
        int rc = sim_close(m->p, &m->f);
        if (rc != KS_OK)
            return rc;
    }
    int rc = sim_open(m->p, &m->f, "mail/%04d-%02d.mbox", (int)year, month);
    if (rc == KS_OK)
        m->month_open = ym;
    return rc;
}

enum kind { K_HAM, K_SPAM, K_CAMPAIGN };

static int write_message(struct mailctx *m, struct sim_rng *r, int64_t t, enum kind kind,
                         uint32_t ip, int camp_day)
{
    const struct ks_simulate_config *cfg = m->cfg;
    struct ks_tm tm;
    ks_time_split(t, cfg->tz_offset_s, &tm);
    int rc = ensure_month(m, tm.year, tm.month);
    if (rc != KS_OK)
        return rc;
    struct sim_file *f = &m->f;
    char ipt[16], d_rcv[48], d_rcv2[48], d_sent[48], from_[40];
    sim_addr_text(ip, ipt);
    sim_fmt_mail(t, cfg->tz_offset_s, d_rcv, sizeof d_rcv);
    sim_fmt_mail(t + (int64_t)(1 + sim_below(r, 3)) * KS_USEC_PER_SEC, cfg->tz_offset_s, d_rcv2,
                 sizeof d_rcv2);
    /* the sender's clock: its own zone, sometimes off */
    static const int32_t zones[] = {-7 * 3600, -5 * 3600, 0,        3600,
                                    2 * 3600,  3 * 3600,  8 * 3600, 9 * 3600};
    int32_t sz = kind == K_HAM ? 9 * 3600 : zones[sim_below(r, NA(zones))];
    int64_t skew = kind == K_HAM ? -(int64_t)sim_below(r, 20) : (int64_t)sim_below(r, 7200) - 3600;
    sim_fmt_mail(t + skew * KS_USEC_PER_SEC, sz, d_sent, sizeof d_sent);
    {
        struct ks_tm u;
        ks_time_split(t, 0, &u);
        static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        static const char *const wd[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
        snprintf(from_, sizeof from_, "%s %s %2d %02d:%02d:%02d %04d", wd[u.wday - 1],
                 mon[u.month - 1], u.day, u.hour, u.min, u.sec, u.year);
    }
    uint64_t id = ++m->serial;
    char sender[96], domain[64], helo[96], rdns[96];
    const char *user = names[sim_below(r, NA(names))];
    if (kind == K_HAM) {
        snprintf(domain, sizeof domain, "%s%u.example.jp", words[sim_below(r, NA(words))],
                 sim_below(r, 400));
        snprintf(helo, sizeof helo, "mail.%s", domain);
        snprintf(rdns, sizeof rdns, "%s", helo);
    } else {
        snprintf(domain, sizeof domain, "%s%s%u.example", words[sim_below(r, NA(words))],
                 words[sim_below(r, NA(words))], sim_below(r, 9000));
        /* bots HELO with their own dynamic names or a bare word; often no reverse DNS */
        snprintf(rdns, sizeof rdns, "%s", sim_chance(r, 0.4) ? "unknown" : "");
        if (!rdns[0])
            snprintf(rdns, sizeof rdns, "%u-%u-%u-%u.dyn.example.net", ip >> 24, (ip >> 16) & 255,
                     (ip >> 8) & 255, ip & 255);
        snprintf(helo, sizeof helo, "%s",
                 sim_chance(r, 0.5) ? rdns : words[sim_below(r, NA(words))]);
    }
    snprintf(sender, sizeof sender, "%s%u@%s", user, sim_below(r, 100), domain);
    char rcpt[64];
    snprintf(rcpt, sizeof rcpt, "%s%u@demo.example.jp", names[sim_below(r, NA(names))],
             sim_below(r, 2000));

    sim_printf(f, "From %s %s\n", sender, from_);
    sim_printf(f, "Return-Path: <%s>\nX-Original-To: %s\nDelivered-To: %s\n", sender, rcpt, rcpt);
    sim_printf(f,
               "Received: from " MX_NAME " (" MX_NAME " [" MX_IP "])\n\tby " MBOX_NAME
               " (Postfix) with ESMTP id %08llX\n\tfor <%s>; %s (JST)\n",
               (unsigned long long)(id * 2654435761u & 0xffffffffu), rcpt, d_rcv2);
    if (kind == K_HAM) {
        double sc = -2.0 + 5.0 * sim_unit(r);
        sim_printf(f,
                   "X-Spam-Flag: NO\nX-Spam-Status: No, score=%.1f required=5.0 "
                   "tests=BAYES_00,HTML_MESSAGE autolearn=ham version=3.2.5\n",
                   sc);
    } else {
        double sc = 5.1 + 20.0 * sim_unit(r);
        sim_printf(f,
                   "X-Spam-Flag: YES\nX-Spam-Status: Yes, score=%.1f required=5.0 "
                   "tests=BAYES_99,RCVD_IN_XBL,URIBL_BLACK,HTML_MESSAGE autolearn=spam "
                   "version=3.2.5\n",
                   sc);
    }
    /* SPF: does the sender's domain publish a policy (the month's share), and the result */
    struct ks_tm lt;
    ks_time_split(t, cfg->tz_offset_s, &lt);
    if (sim_chance(r, spf_share(lt.year, lt.month))) {
        static const char *const ham_res[] = {"pass", "pass", "pass", "pass",     "pass",
                                              "pass", "pass", "pass", "softfail", "neutral"};
        static const char *const spam_res[] = {"pass", "pass", "softfail", "softfail", "softfail",
                                               "fail", "fail", "neutral",  "neutral",  "permerror"};
        const char *res = kind == K_HAM ? ham_res[sim_below(r, 10)] : spam_res[sim_below(r, 10)];
        const char *why = strcmp(res, "pass") == 0 ? "designates %s as permitted sender"
                                                   : "does not designate %s as permitted sender";
        char whyb[96];
        snprintf(whyb, sizeof whyb, why, ipt);
        sim_printf(f,
                   "Received-SPF: %s (" MX_NAME ": domain of %s %s) client-ip=%s; "
                   "envelope-from=%s; helo=%s;\n",
                   res, sender, whyb, ipt, sender, helo);
    } else {
        sim_printf(f,
                   "Received-SPF: none (" MX_NAME ": domain of %s does not designate permitted "
                   "sender hosts) client-ip=%s; envelope-from=%s; helo=%s;\n",
                   sender, ipt, sender, helo);
    }
    sim_printf(f,
               "Received: from %s (%s [%s])\n\tby " MX_NAME " (Postfix) with %s id %08llX\n"
               "\tfor <%s>; %s (JST)\n",
               helo, rdns, ipt, kind == K_HAM ? "ESMTP" : "SMTP",
               (unsigned long long)(id * 40503u & 0xffffffffu), rcpt, d_rcv);
    if (kind == K_HAM && sim_chance(r, 0.6))
        sim_printf(f,
                   "Received: from pc%u.%s (pc%u.%s [192.168.%u.%u])\n\tby %s (Postfix) with "
                   "ESMTP id %06llX; %s\n",
                   sim_below(r, 200), domain, sim_below(r, 200), domain, sim_below(r, 10),
                   1 + sim_below(r, 250), helo, (unsigned long long)(id & 0xffffff), d_sent);
    sim_printf(f, "Message-ID: <%llu.%08x@%s>\nDate: %s\n", (unsigned long long)id,
               (unsigned)sim_next(r), kind == K_HAM ? helo : domain, d_sent);

    /* Subject, From, To and body */
    char subj[400], enc[256];
    const char *url_host = domain;
    if (kind == K_CAMPAIGN) {
        const char *h = headlines[sim_below(r, NA(headlines))];
        int fam = camp_day < 2 ? 0 : camp_day < 5 ? (int)sim_below(r, 2) : (int)sim_below(r, 3);
        if (fam == 0)
            snprintf(subj, sizeof subj, "CNN.com Daily Top 10");
        else if (fam == 1)
            snprintf(subj, sizeof subj, "CNN Alerts: My Custom Alert");
        else
            snprintf(subj, sizeof subj, "msnbc.com - BREAKING NEWS: %s", h);
        sim_printf(f, "From: %s <%s>\n", fam == 2 ? "msnbc.com" : "CNN Alerts", sender);
    } else if (kind == K_SPAM) {
        if (sim_chance(r, 0.08)) {
            b64(ja_spam[sim_below(r, NA(ja_spam))], enc, sizeof enc);
            snprintf(subj, sizeof subj, "=?UTF-8?B?%s?=", enc);
        } else {
            snprintf(subj, sizeof subj, spam_subjects[sim_below(r, NA(spam_subjects))],
                     10 + sim_below(r, 90));
        }
        sim_printf(f, "From: \"%s\" <%s>\n", names[sim_below(r, NA(names))], sender);
    } else {
        if (sim_chance(r, 0.35)) {
            b64(ja_ham[sim_below(r, NA(ja_ham))], enc, sizeof enc);
            snprintf(subj, sizeof subj, "=?UTF-8?B?%s?=", enc);
        } else {
            snprintf(subj, sizeof subj, ham_subjects[sim_below(r, NA(ham_subjects))],
                     1 + sim_below(r, 500));
        }
        sim_printf(f, "From: %s <%s>\n", user, sender);
    }
    sim_printf(f, "To: %s\nSubject: %s\nMIME-Version: 1.0\n", rcpt, subj);
    if (kind == K_CAMPAIGN) {
        sim_printf(f,
                   "Content-Type: text/html; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n"
                   "<html><body><p>CNN.com Daily Top 10</p><ol>\n");
        for (int i = 0; i < 10; i++)
            sim_printf(f, "<li><a href=\"http://%s%u.example/video/%u.html\">%s</a></li>\n",
                       words[sim_below(r, NA(words))], sim_below(r, 500), sim_below(r, 100000),
                       headlines[sim_below(r, NA(headlines))]);
        sim_printf(f, "</ol></body></html>\n\n");
    } else if (kind == K_SPAM) {
        /* A few of the period's spam link to the demo's malware web (sim_spamweb.c); the
         * random draws stay the same either way. */
        const char *w = words[sim_below(r, NA(words))];
        uint32_t q = sim_below(r, 1000000);
        char url[160];
        if (t < sim_day_start(cfg, cfg->from_day) || !sim_spamweb_url(cfg, id, url, sizeof url))
            snprintf(url, sizeof url, "http://www.%s/%s?id=%u", url_host, w, q);
        sim_printf(f,
                   "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n"
                   "Special offer for %s.\nVisit %s now.\n"
                   "To unsubscribe reply with REMOVE.\n\n",
                   rcpt, url);
    } else {
        sim_printf(f,
                   "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n"
                   "%s-san,\n\nPlease find the details below.\nSee http://www.%s/info/%u.html\n\n"
                   "Regards,\n%s\n\n",
                   names[sim_below(r, NA(names))], domain, sim_below(r, 1000), user);
    }
    return f->err;
}

int sim_mail(struct sim_part *p)
{
    const struct ks_simulate_config *cfg = p->cfg;
    struct sim_rng *r = &p->rng;
    int64_t days = sim_ndays(cfg);
    int rc = KS_OK;
    struct mailctx *m = calloc(1, sizeof *m);
    uint32_t *tot = calloc((size_t)days, sizeof *tot), *spam = calloc((size_t)days, sizeof *spam);
    if (!m || !tot || !spam) {
        rc = KS_ENOMEM;
        goto out;
    }
    m->p = p;
    m->cfg = cfg;

    /* History: from January of the previous year to the day before the period. */
    if (cfg->mail_history) {
        int64_t y;
        int mo, dd;
        ks_civil_from_days(cfg->from_day, &y, &mo, &dd);
        int64_t h0 = ks_days_from_civil(y - 1, 1, 1);
        for (int64_t day = h0; day < cfg->from_day && rc == KS_OK; day++) {
            struct sim_rng dr;
            sim_rng_init(&dr, cfg->seed, 0x600000u + (uint64_t)(day - h0));
            int64_t yy;
            int mm, d2;
            ks_civil_from_days(day, &yy, &mm, &d2);
            uint32_t n = sim_poisson(&dr, 60.0 * cfg->scale);
            double ratio = history_ratio(yy, mm);
            int64_t d0 = sim_day_start(cfg, day);
            /* messages of a day in time order */
            for (uint32_t i = 0; i < n && rc == KS_OK; i++) {
                int64_t t = d0 + (int64_t)((double)KS_USEC_PER_DAY * (i + sim_unit(&dr)) / n);
                bool is_spam = sim_chance(&dr, ratio);
                uint32_t ip = is_spam ? sim_addr_mix(&dr, spam_mix, NSPAM, NULL)
                                      : sim_addr_isp(&dr, (int)sim_below(&dr, SIM_NISP));
                rc = write_message(m, &dr, t, is_spam ? K_SPAM : K_HAM, ip, 0);
            }
        }
    }
    if (rc != KS_OK)
        goto out;

    /* The period: daily totals and spam counts first (the sender pools are sized on them). */
    int64_t monday = cfg->from_day;
    while (((monday + 3) % 7 + 7) % 7 != 0) /* 1970-01-01 was a Thursday */
        monday++;
    int64_t camp0 = ks_days_from_civil(2008, 8, 5) - cfg->from_day;
    if (camp0 < 0 || camp0 >= days)
        camp0 = (int64_t)floor((double)days * 0.7);
    uint64_t stotal = 0;
    for (int64_t d = 0; d < days; d++) {
        int64_t day = cfg->from_day + d;
        int wd = (int)(((day + 3) % 7 + 7) % 7); /* 0 = Monday */
        int64_t wi = day < monday ? 0 : (day - monday) / 7;
        double ratio = week_ratio[wi % 13] + 0.004 * sim_normal(r);
        double n = 800.0 * cfg->scale * (wd >= 5 ? 0.85 : 1.0) * exp(0.05 * sim_normal(r));
        tot[d] = (uint32_t)floor(n + 0.5);
        spam[d] = (uint32_t)floor(n * ratio + 0.5);
        stotal += spam[d];
    }
    /* 37.7 spam messages per sending address: each country's pool is sized on its share. */
    double wsum = 0;
    for (size_t c = 0; c < NSPAM; c++)
        wsum += spam_mix[c].share;
    for (size_t c = 0; c < NSPAM; c++) {
        double want = (double)stotal * spam_mix[c].share / wsum / 37.7;
        m->npool[c] = want > 0 ? (uint32_t)floor(want + 0.5) : 0;
        if (spam_mix[c].share > 0 && m->npool[c] == 0)
            m->npool[c] = 1;
        if (!m->npool[c])
            continue;
        m->pool[c] = malloc(m->npool[c] * sizeof(uint32_t));
        if (!m->pool[c]) {
            rc = KS_ENOMEM;
            goto out;
        }
        for (uint32_t i = 0; i < m->npool[c]; i++)
            m->pool[c][i] = sim_addr_cc(r, spam_mix[c].cc);
    }
    m->nham_mta = 400;
    m->ham_mta = malloc(m->nham_mta * sizeof(uint32_t));
    if (!m->ham_mta) {
        rc = KS_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < m->nham_mta; i++)
        m->ham_mta[i] = i % 10 < 8 ? sim_addr_isp(r, (int)sim_below(r, SIM_NISP))
                                   : sim_addr_cc(r, i % 10 == 8 ? "US" : "KR");

    struct sim_file tf;
    if ((rc = sim_open(p, &tf, "truth/mail.csv")) != KS_OK)
        goto out;
    sim_printf(&tf, "day,messages,spam,campaign\n");
    for (int64_t d = 0; d < days && rc == KS_OK; d++) {
        struct sim_rng dr;
        sim_rng_init(&dr, cfg->seed, 0x700000u + (uint64_t)d);
        int64_t d0 = sim_day_start(cfg, cfg->from_day + d);
        uint32_t n = tot[d], ns = spam[d];
        int64_t cd = d - camp0;
        uint32_t nc = cd >= 0 && cd < 11 ? (uint32_t)floor(camp_share[cd] * n + 0.5) : 0;
        if (nc > ns)
            nc = ns;
        /* the campaign starts at about 02:00 on its first day */
        int64_t cstart = cd == 0 ? 2 * KS_USEC_PER_HOUR : 0;
        /* kinds, shuffled over the day */
        uint8_t *kind = malloc(n ? n : 1);
        if (!kind) {
            rc = KS_ENOMEM;
            break;
        }
        for (uint32_t i = 0; i < n; i++)
            kind[i] = i < nc ? K_CAMPAIGN : i < ns ? K_SPAM : K_HAM;
        for (uint32_t i = n; i > 1; i--) {
            uint32_t j = sim_below(&dr, i);
            uint8_t t = kind[i - 1];
            kind[i - 1] = kind[j];
            kind[j] = t;
        }
        uint32_t cseen = 0;
        for (uint32_t i = 0; i < n && rc == KS_OK; i++) {
            int64_t t = d0 + (int64_t)((double)KS_USEC_PER_DAY * (i + sim_unit(&dr)) / n);
            if (kind[i] == K_CAMPAIGN) {
                /* spread the campaign's messages from cstart on, in order */
                t = d0 + cstart +
                    (int64_t)((double)(KS_USEC_PER_DAY - cstart) * (cseen + sim_unit(&dr)) / nc);
                cseen++;
            }
            uint32_t ip;
            if (kind[i] == K_HAM) {
                ip = m->ham_mta[sim_below(&dr, m->nham_mta)];
            } else {
                size_t c;
                double w[NSPAM];
                for (size_t k = 0; k < NSPAM; k++)
                    w[k] = spam_mix[k].share;
                c = sim_pick(&dr, w, NSPAM);
                ip = m->pool[c][sim_below(&dr, m->npool[c])];
            }
            rc = write_message(m, &dr, t, (enum kind)kind[i], ip, (int)cd);
        }
        free(kind);
        p->st.mails += n;
        p->st.spam += ns;
        char date[16];
        int64_t y;
        int mo, dd;
        ks_civil_from_days(cfg->from_day + d, &y, &mo, &dd);
        snprintf(date, sizeof date, "%04d-%02d-%02d", (int)y, mo, dd);
        sim_printf(&tf, "%s,%u,%u,%u\n", date, n, ns, nc);
    }
    int rc2 = sim_close(p, &tf);
    if (rc == KS_OK)
        rc = rc2;
    if (rc == KS_OK)
        rc = sim_spamweb(p);
out:
    if (m && m->month_open) {
        int rc3 = sim_close(p, &m->f);
        if (rc == KS_OK)
            rc = rc3;
    }
    if (m) {
        for (size_t c = 0; c < NSPAM; c++)
            free(m->pool[c]);
        free(m->ham_mta);
    }
    free(m);
    free(tot);
    free(spam);
    return rc;
}
