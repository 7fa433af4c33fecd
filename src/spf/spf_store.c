/* SPF results and survey rows to the store (tables spf_results and spf_survey). Rows wait in
 * a bounded buffer and go to the store in batches, each batch one complete input: a policy
 * service that writes one row per mail must not hold the store's write lock between mails,
 * and readers must never count half a batch. */
#include "spf_int.h"

#include "kansoku/ks_ip.h"
#include "kansoku/ks_store.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest text kept per field: domains fit, a deciding term or a problem is cut there. */
#define FIELD_MAX 512

enum row_kind { ROW_CHECK, ROW_SURVEY };

struct row {
    int64_t ts;
    uint8_t kind, identity, result, policy;
    uint32_t lookups, voids;
    uint32_t off[4], len[4]; /* check: ip, domain, mechanism, problem; survey: -, domain, -,
                                problem */
};

struct ks_spf_store {
    struct ks_store *st;
    char *kind, *name;
    uint32_t max_rows;
    struct row *rows;
    size_t nrows;
    struct spf_buf text;
    EVP_MD_CTX *md;
    bool md_started;
    uint64_t hashed_bytes;
    struct ks_spf_store_stats stats;
};

void ks_spf_store_config_default(struct ks_spf_store_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = "spf";
    cfg->name = "spf";
    cfg->max_rows = 10000;
}

int ks_spf_store_new(struct ks_store *st, const struct ks_spf_store_config *cfg,
                     struct ks_spf_store **wp)
{
    *wp = NULL;
    struct ks_spf_store_config def;
    if (!cfg) {
        ks_spf_store_config_default(&def);
        cfg = &def;
    }
    if (!st || cfg->max_rows == 0 || cfg->max_rows > 10000000)
        return KS_EINVAL;
    struct ks_spf_store *w = calloc(1, sizeof *w);
    if (!w)
        return KS_ENOMEM;
    w->st = st;
    w->max_rows = cfg->max_rows;
    w->kind = strdup(cfg->kind ? cfg->kind : "spf");
    w->name = strdup(cfg->name ? cfg->name : "spf");
    w->rows = malloc(sizeof *w->rows * w->max_rows);
    w->md = EVP_MD_CTX_new();
    /* Every row's text is at most 4 fields of FIELD_MAX plus their NULs. */
    spf_buf_init(&w->text, (size_t)w->max_rows * 4 * (FIELD_MAX + 1) + 1);
    if (!w->kind || !w->name || !w->rows || !w->md) {
        ks_spf_store_free(w);
        return KS_ENOMEM;
    }
    *wp = w;
    return KS_OK;
}

void ks_spf_store_free(struct ks_spf_store *w)
{
    if (!w)
        return;
    free(w->kind);
    free(w->name);
    free(w->rows);
    spf_buf_fini(&w->text);
    EVP_MD_CTX_free(w->md);
    free(w);
}

size_t ks_spf_store_pending(const struct ks_spf_store *w)
{
    return w->nrows;
}

void ks_spf_store_stats(const struct ks_spf_store *w, struct ks_spf_store_stats *st)
{
    *st = w->stats;
}

static void reset(struct ks_spf_store *w)
{
    w->nrows = 0;
    w->text.len = 0;
    if (w->text.p)
        w->text.p[0] = '\0';
    w->hashed_bytes = 0;
    w->md_started = false;
}

/* The canonical form of a row, hashed for the input's identity: fields with their lengths,
 * so that no field content can make two different batches hash alike. */
static void hash_field(struct ks_spf_store *w, const char *s, size_t n)
{
    char len[24];
    int k = snprintf(len, sizeof len, "%zu:", n);
    EVP_DigestUpdate(w->md, len, (size_t)k);
    EVP_DigestUpdate(w->md, s, n);
    w->hashed_bytes += (uint64_t)k + n;
}

static int keep(struct ks_spf_store *w, struct row *r, int i, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > FIELD_MAX)
        n = FIELD_MAX;
    r->off[i] = (uint32_t)w->text.len;
    r->len[i] = (uint32_t)n;
    int rc = spf_buf_add(&w->text, n ? s : "", n);
    if (rc == KS_OK)
        rc = spf_buf_addc(&w->text, '\0');
    if (rc == KS_OK)
        hash_field(w, n ? s : "", n);
    return rc;
}

static int add(struct ks_spf_store *w, enum row_kind kind, int64_t t_us, const char *domain,
               const struct ks_spf_outcome *o)
{
    int rc = KS_OK;
    if (w->nrows == w->max_rows && (rc = ks_spf_store_flush(w)) != KS_OK && rc != KS_EEXIST) {
        w->stats.dropped++; /* this row: the buffer it would join was just dropped */
        return rc;
    }
    if (!w->md_started) {
        if (EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1)
            return KS_ENOMEM;
        w->md_started = true;
    }
    struct row *r = &w->rows[w->nrows];
    memset(r, 0, sizeof *r);
    r->ts = t_us;
    r->kind = (uint8_t)kind;
    r->identity = (uint8_t)o->identity;
    r->result = (uint8_t)o->result;
    r->policy = (uint8_t)ks_spf_policy_class(o->record);
    r->lookups = o->dns_lookups;
    r->voids = o->void_lookups;
    char num[96];
    int k = snprintf(num, sizeof num, "%d %" PRId64 " %u %u %u %u %u", (int)kind, t_us,
                     (unsigned)r->identity, (unsigned)r->result, (unsigned)r->policy, r->lookups,
                     r->voids);
    hash_field(w, num, (size_t)k);
    if (kind == ROW_CHECK) {
        if ((rc = keep(w, r, 0, o->ip)) != KS_OK || (rc = keep(w, r, 1, o->domain)) != KS_OK ||
            (rc = keep(w, r, 2, o->mechanism)) != KS_OK)
            goto out;
    } else if ((rc = keep(w, r, 1, domain)) != KS_OK) {
        goto out;
    }
    /* The problem is an error's reason; for other results it says nothing worth keeping. */
    bool err =
        o->result == KS_SPF_PERMERROR || o->result == KS_SPF_TEMPERROR || o->result == KS_SPF_NONE;
    rc = keep(w, r, 3, err ? o->problem : "");
out:
    if (rc != KS_OK) {
        w->stats.dropped++;
        return rc;
    }
    w->nrows++;
    w->stats.rows++;
    return KS_OK;
}

int ks_spf_store_add_check(struct ks_spf_store *w, int64_t t_us, const struct ks_spf_outcome *o)
{
    return add(w, ROW_CHECK, t_us, NULL, o);
}

int ks_spf_store_add_survey(struct ks_spf_store *w, int64_t t_us, const char *domain,
                            const struct ks_spf_outcome *o)
{
    return add(w, ROW_SURVEY, t_us, domain ? domain : "", o);
}

static const char *field(const struct ks_spf_store *w, const struct row *r, int i)
{
    return w->text.p + r->off[i];
}

static void put_row(struct ks_spf_store *w, struct ks_ingest *ing, const struct row *r)
{
    if (r->kind == ROW_CHECK) {
        ks_store_row_begin(ing, KS_TBL_SPF_RESULTS);
        ks_store_put_time(ing, r->ts);
        struct ks_addr a;
        if (ks_addr_parse(field(w, r, 0), r->len[0], &a) == KS_OK)
            ks_store_put_addr(ing, &a);
        else
            ks_store_put_null(ing);
        const char *id = r->identity == KS_SPF_HELO ? "helo" : "mailfrom";
        ks_store_put_text(ing, id, strlen(id));
        ks_store_put_text(ing, field(w, r, 1), r->len[1]);
        const char *res = ks_spf_result_name((enum ks_spf_result)r->result);
        ks_store_put_text(ing, res, strlen(res));
        ks_store_put_text(ing, field(w, r, 2), r->len[2]);
        ks_store_put_i64(ing, r->lookups);
        ks_store_put_i64(ing, r->voids);
        ks_store_put_text(ing, field(w, r, 3), r->len[3]);
    } else {
        ks_store_row_begin(ing, KS_TBL_SPF_SURVEY);
        ks_store_put_time(ing, r->ts);
        ks_store_put_text(ing, field(w, r, 1), r->len[1]);
        ks_store_put_i64(ing, r->policy != KS_SPF_POLICY_NONE);
        const char *pol = ks_spf_policy_class_name((enum ks_spf_policy_class)r->policy);
        ks_store_put_text(ing, pol, strlen(pol));
        const char *res = ks_spf_result_name((enum ks_spf_result)r->result);
        ks_store_put_text(ing, res, strlen(res));
        ks_store_put_i64(ing, r->lookups);
        ks_store_put_i64(ing, r->voids);
        ks_store_put_text(ing, field(w, r, 3), r->len[3]);
    }
}

int ks_spf_store_flush(struct ks_spf_store *w)
{
    if (w->nrows == 0)
        return KS_OK;
    struct ks_store_input in;
    memset(&in, 0, sizeof in);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (EVP_DigestFinal_ex(w->md, md, &mdlen) != 1 || mdlen != 32) {
        w->stats.dropped += w->nrows;
        reset(w);
        return KS_ENOMEM;
    }
    for (unsigned i = 0; i < 32; i++)
        snprintf(in.sha256 + 2 * i, 3, "%02x", md[i]);
    in.size = w->hashed_bytes;
    in.name = w->name;
    in.kind = w->kind;
    struct ks_ingest *ing = NULL;
    int rc = ks_store_input_begin(w->st, &in, 0, &ing);
    uint64_t written = 0, refused = 0;
    if (rc == KS_OK) {
        for (size_t i = 0; i < w->nrows && rc == KS_OK; i++) {
            put_row(w, ing, &w->rows[i]);
            rc = ks_store_row_end(ing);
            /* A row the store refuses (KS_EINVAL) is dropped alone; store errors end it. */
            if (rc == KS_EINVAL) {
                refused++;
                rc = KS_OK;
            } else if (rc == KS_OK) {
                written++;
            }
        }
        int rc2 = ks_store_input_end(ing, rc == KS_OK);
        if (rc == KS_OK)
            rc = rc2;
    }
    if (rc == KS_OK) {
        w->stats.flushed += written;
        w->stats.dropped += refused;
        w->stats.batches++;
    } else if (rc != KS_EEXIST) { /* KS_EEXIST: this very batch is in the store already */
        w->stats.dropped += w->nrows;
    }
    reset(w);
    return rc;
}
