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

int ks_mail_rows(const struct ks_mail_msg *m, enum ks_mail_verdict label,
                 int (*fn)(void *user, int table_id, const struct ks_store_value *vals,
                           size_t nvals),
                 void *user)
{
    char doms[DOMAINS_MAX];
    char addr[KS_ADDR_STRLEN];
    struct ks_store_value v[20];
    size_t n = 0;
    int rc;
    url_domains(m, doms, sizeof doms);
    enum ks_mail_verdict verdict = label != KS_MAIL_UNKNOWN ? label : m->verdict;
    v[n++] = ks_store_time(m->time_us);
    v[n++] = ks_store_text(m->message_id);
    v[n++] = ks_store_text(ks_mail_verdict_name(verdict));
    v[n++] = ks_store_text(label != KS_MAIL_UNKNOWN ? "label" : m->verdict_source);
    v[n++] = isnan(m->score) ? ks_store_null() : ks_store_f64(m->score);
    v[n++] = m->sender.family
                 ? ks_store_bytes(KS_TYPE_ADDR, addr, ks_addr_format(&m->sender, addr, sizeof addr))
                 : ks_store_null();
    v[n++] = ks_store_text(m->sender_helo);
    v[n++] = ks_store_text(m->country);
    v[n++] = ks_store_i64(m->asn);
    v[n++] = ks_store_text(m->subject);
    v[n++] = ks_store_text(m->subject_key);
    v[n++] = ks_store_text(doms);
    v[n++] = ks_store_i64((int64_t)m->nurls);
    v[n++] = ks_store_i64((int64_t)m->natt);
    v[n++] = m->fuzzy[0] ? ks_store_text(m->fuzzy) : ks_store_null();
    v[n++] = ks_store_text(ks_mail_spf_name(m->spf));
    v[n++] = ks_store_i64((int64_t)m->size);
    v[n++] = ks_store_i64(m->problems);
    v[n++] = ks_store_text(m->time_source);
    if ((rc = fn(user, KS_TBL_MAIL_MESSAGES, v, n)) != 0)
        return rc;
    for (size_t i = 0; i < m->nurls; i++) {
        const struct ks_mail_url *u = &m->urls[i];
        n = 0;
        v[n++] = ks_store_time(m->time_us);
        v[n++] = ks_store_text(m->message_id);
        v[n++] = ks_store_text(u->url);
        v[n++] = ks_store_text(u->where);
        v[n++] = ks_store_text(u->domain);
        v[n++] = ks_store_i64(u->flags);
        v[n++] = ks_store_text(u->shown);
        if ((rc = fn(user, KS_TBL_MAIL_URLS, v, n)) != 0)
            return rc;
    }
    for (size_t i = 0; i < m->natt; i++) {
        const struct ks_mail_attachment *a = &m->att[i];
        n = 0;
        v[n++] = ks_store_time(m->time_us);
        v[n++] = ks_store_text(m->message_id);
        v[n++] = ks_store_text(a->name);
        v[n++] = ks_store_text(a->mime);
        v[n++] = ks_store_text(a->magic);
        v[n++] = ks_store_text(a->sha256);
        v[n++] = ks_store_text(a->md5);
        v[n++] = ks_store_i64((int64_t)a->size);
        v[n++] = ks_store_i64(a->flags);
        v[n++] = ks_store_text(a->members);
        v[n++] = a->av_scanned ? ks_store_text(a->av[0] ? a->av : "clean") : ks_store_null();
        v[n++] = ks_store_text(a->category ? a->category : ks_mail_att_category(false, a->flags));
        if ((rc = fn(user, KS_TBL_MAIL_ATTACHMENTS, v, n)) != 0)
            return rc;
    }
    return KS_OK;
}

static int put_row(void *user, int table_id, const struct ks_store_value *vals, size_t nvals)
{
    return ks_store_put_row(user, table_id, vals, nvals);
}

int ks_mail_store_msg(struct ks_ingest *ing, const struct ks_mail_msg *m,
                      enum ks_mail_verdict label)
{
    return ks_mail_rows(m, label, put_row, ing);
}
