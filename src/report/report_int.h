/* Internals of the report: the query context, the data each figure is drawn from, the notes
 * file and the headline numbers. */
#ifndef KS_REPORT_INT_H
#define KS_REPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kansoku/ks_report.h"
#include "kansoku/ks_store.h"
#include "report/rbuf.h"

#define RQ_MAX_SERIES 16 /* top 10 (or 15) + other, with room */
#define RQ_NAME 96

struct ks_geo;

/* --- notes (notes.c) ------------------------------------------------------------------------ */

/* A notes file: blocks "[name]" or "[name.lang]" of prose, and "key = value" settings in the
 * block [config] (and external constants in [ext]). */
struct notes_block {
    char *name; /* "summary", "ddos", ... (lang suffix removed) */
    char *lang; /* "ja", "en" or "" (any) */
    char *text; /* raw text, lines joined with '\n', trimmed */
};
struct notes_kv {
    char *section; /* "config" or "ext" */
    char *key, *value;
};
struct notes {
    struct notes_block *blocks;
    size_t nblocks;
    struct notes_kv *kv;
    size_t nkv;
    unsigned bad; /* lines skipped */
};

#define NOTES_MAX_BYTES (4u << 20)
#define NOTES_MAX_BLOCKS 256
#define NOTES_MAX_KV 512

/* Parses notes text (any bytes; bad lines counted and reported through diag). KS_OK or
 * KS_ENOMEM. */
int notes_parse(const char *buf, size_t len, const char *source, const struct ks_diag *diag,
                struct notes *n);
void notes_free(struct notes *n);
/* The text of block name in lang (or language-neutral), NULL if none. */
const char *notes_text(const struct notes *n, const char *name, const char *lang);
/* A [config] or [ext] value, NULL if none. */
const char *notes_get(const struct notes *n, const char *section, const char *key);

/* --- numbers -------------------------------------------------------------------------------- */

struct number {
    char key[64];
    char json[512]; /* the JSON value: a number with fixed decimals, a string, or null */
    char text[512]; /* as printed in the page ("—" when unknown) */
};

/* --- query context and data ------------------------------------------------------------------- */

struct rq {
    struct ks_store *s;
    const struct ks_report_config *cfg;
    const struct notes *notes;
    const struct ks_diag *diag;
    uint32_t reported;
    struct ks_geo *geo; /* may be NULL */
    const char *lang;
    const char *home; /* alpha-2 */
    int32_t tz;
    int64_t from_us, to_us; /* [from 00:00, to+1 00:00) local, as UTC instants */
    size_t ndays;
    char from[11], to[11];
    char sensors[1024]; /* ",a,b," or "" for all */
    int err;            /* a store error that stops the report */
    struct number *nums;
    size_t nnums, capnums;
};

/* A stacked dataset over nx buckets: v[k * nx + i]. */
struct rq_stack {
    size_t nx, ns;
    char names[RQ_MAX_SERIES][RQ_NAME];
    int colors[RQ_MAX_SERIES];
    double *v;
    double total;
    const char *why; /* NULL: data present; else why not (a message for the no-data box) */
};

/* Slices of a pie, optionally grouped (two rings: inner groups, outer items). */
struct rq_slices {
    size_t n;
    char names[32][RQ_NAME];
    double v[32];
    int colors[32];
    int group[32];
    size_t ngroups;
    char gnames[4][RQ_NAME];
    double gv[4];
    int gcolors[4];
    double total;
    const char *why;
};

void rq_stack_free(struct rq_stack *d);

/* Whether the store has table with all the columns (comma-separated). */
bool rq_has(struct rq *q, const char *table, const char *cols);

/* Numbers: set a key (decimals >= 0: a number; unit appended to the text), a string, or
 * unknown ("—", JSON null). Later sets of a key replace it. */
void num_set(struct rq *q, const char *key, double v, int decimals, const char *unit);
void num_str(struct rq *q, const char *key, const char *s);
void num_null(struct rq *q, const char *key);
const struct number *num_get(const struct rq *q, const char *key);
/* The printed text of a key, "—" if unknown. */
const char *num_text(const struct rq *q, const char *key);

/* ISO 3166-1 alpha-3 of an alpha-2 code (the same text if unknown). */
const char *iso_alpha3(const char *a2, char out[4]);

/* The figures' queries (queries.c). Each fills its data and the headline numbers it feeds. */
int q_incidents(struct rq *q, double counts[5]);
int q_ddos_daily(struct rq *q, struct rq_stack *d);
int q_ddos_largest(struct rq *q, struct rq_stack *d, int64_t *day0_us);
int q_darknet_ports(struct rq *q, struct rq_stack *d);
int q_darknet_sources(struct rq *q, struct rq_slices *d);
int q_samples_daily(struct rq *q, struct rq_stack *d);
int q_samples_sources(struct rq *q, struct rq_slices *d);
int q_samples_types(struct rq *q);
int q_sqli_daily(struct rq *q, struct rq_stack *d);
int q_sqli_sources(struct rq *q, struct rq_slices *d);
int q_spam2mal_share(struct rq *q, struct rq_slices *d);
int q_spam2mal_types(struct rq *q, struct rq_slices *d);
int q_p2p_syn(struct rq *q, struct rq_stack *d, double *xs);
int q_mail_weekly(struct rq *q, struct rq_stack *d, int64_t *week0_us);
int q_mail_yoy(struct rq *q, double v[2], char labels[2][RQ_NAME]);
int q_mail_countries(struct rq *q, struct rq_slices *d);
int q_mail_campaign(struct rq *q, char lines[][256], size_t max, size_t *n);
/* H-27: the campaign whose subject patterns the notes give (`campaign.subjects`): sets
 * mail.campaign.{messages,first,last,top_days,variants}; KS_ENOTFOUND without patterns or
 * matches. */
int q_mail_campaign_stats(struct rq *q);
/* E-1..E-3, H-29: the notes' [ext] settings as numbers ext.KEY. */
void q_ext(struct rq *q);
/* H-18..H-20: each P2P experiment whose stop lies in the period, from the P2P analyzer's
 * summary series (src/p2p/README.md): p2p.residue.1, .2 ... (a text per client, in stop order) and
 * p2p.residue.clients; KS_ENOTFOUND when there is none. */
int q_p2p_residue(struct rq *q);
int q_spf_monthly(struct rq *q, struct rq_stack *d, int64_t *month0_us);

/* Report a problem that does not stop the report. */
void rq_warn(struct rq *q, const char *fmt, ...) KS_PRINTF(2, 3);

/* Static assets (generated from data/report/ at build time). */
struct report_asset {
    const char *name; /* file name, e.g. "fig-topic-1.ja.svg" */
    const char *data;
    size_t len;
};
extern const struct report_asset report_assets[];
extern const size_t report_nassets;

/* Writes the whole page and numbers (report.c). */
int report_render(struct rq *q, struct rbuf *html, struct rbuf *json, const char *csvdir,
                  struct ks_report_stats *st);

#endif
