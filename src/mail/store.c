/* Rows of the mail tables (src/store/schema.c, versions 5 and 10) for one analysed message. */
#include "kansoku/ks_mail.h"
#include "kansoku/ks_store.h"
#include "mail_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DOMAINS_MAX 1024
#define DOMAINS_N 64

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted distinct registered domains of the message's URLs (redirect targets included),
 * space-separated, at most DOMAINS_N of them. */
static size_t url_domains(const struct ks_mail_msg *m, char *out, size_t size)
{
    const char *d[DOMAINS_N];
    size_t n = 0;
    for (size_t i = 0; i < m->nurls && n < DOMAINS_N; i++)
        if (m->urls[i].domain[0])
            d[n++] = m->urls[i].domain;
    qsort(d, n, sizeof d[0], cmp_str);
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(d[i], d[i - 1]) == 0)
            continue;
        size_t k = strlen(d[i]);
        if (len + k + 2 > size)
            break;
        if (len)
            out[len++] = ' ';
        memcpy(out + len, d[i], k);
        len += k;
        out[len] = '\0';
    }
    return len;
}

static void put_str(struct ks_ingest *ing, const char *s)
{
    ks_store_put_text(ing, s ? s : "", s ? strlen(s) : 0);
}

int ks_mail_store_msg(struct ks_ingest *ing, const struct ks_mail_msg *m,
                      enum ks_mail_verdict label)
{
    char doms[DOMAINS_MAX];
    url_domains(m, doms, sizeof doms);
    enum ks_mail_verdict v = label != KS_MAIL_UNKNOWN ? label : m->verdict;
    int rc = ks_store_row_begin(ing, KS_TBL_MAIL_MESSAGES);
    if (rc != KS_OK)
        return rc;
    ks_store_put_time(ing, m->time_us);
    put_str(ing, m->message_id);
    put_str(ing, ks_mail_verdict_name(v));
    put_str(ing, label != KS_MAIL_UNKNOWN ? "label" : m->verdict_source);
    if (isnan(m->score))
        ks_store_put_null(ing);
    else
        ks_store_put_f64(ing, m->score);
    if (m->sender.family)
        ks_store_put_addr(ing, &m->sender);
    else
        ks_store_put_null(ing);
    put_str(ing, m->sender_helo);
    put_str(ing, m->country);
    ks_store_put_i64(ing, m->asn);
    put_str(ing, m->subject);
    put_str(ing, m->subject_key);
    put_str(ing, doms);
    ks_store_put_i64(ing, (int64_t)m->nurls);
    ks_store_put_i64(ing, (int64_t)m->natt);
    if (m->fuzzy[0])
        put_str(ing, m->fuzzy);
    else
        ks_store_put_null(ing);
    put_str(ing, ks_mail_spf_name(m->spf));
    ks_store_put_i64(ing, (int64_t)m->size);
    ks_store_put_i64(ing, m->problems);
    put_str(ing, m->time_source);
    if ((rc = ks_store_row_end(ing)) != KS_OK)
        return rc;
    for (size_t i = 0; i < m->nurls; i++) {
        const struct ks_mail_url *u = &m->urls[i];
        if ((rc = ks_store_row_begin(ing, KS_TBL_MAIL_URLS)) != KS_OK)
            return rc;
        ks_store_put_time(ing, m->time_us);
        put_str(ing, m->message_id);
        put_str(ing, u->url);
        put_str(ing, u->where);
        put_str(ing, u->domain);
        ks_store_put_i64(ing, u->flags);
        put_str(ing, u->shown);
        if ((rc = ks_store_row_end(ing)) != KS_OK)
            return rc;
    }
    for (size_t i = 0; i < m->natt; i++) {
        const struct ks_mail_attachment *a = &m->att[i];
        if ((rc = ks_store_row_begin(ing, KS_TBL_MAIL_ATTACHMENTS)) != KS_OK)
            return rc;
        ks_store_put_time(ing, m->time_us);
        put_str(ing, m->message_id);
        put_str(ing, a->name);
        put_str(ing, a->mime);
        put_str(ing, a->magic);
        put_str(ing, a->sha256);
        put_str(ing, a->md5);
        ks_store_put_i64(ing, (int64_t)a->size);
        ks_store_put_i64(ing, a->flags);
        put_str(ing, a->members);
        if (a->av_scanned)
            put_str(ing, a->av[0] ? a->av : "clean");
        else
            ks_store_put_null(ing);
        put_str(ing, a->category ? a->category : ks_mail_att_category(false, a->flags));
        if ((rc = ks_store_row_end(ing)) != KS_OK)
            return rc;
    }
    return KS_OK;
}
