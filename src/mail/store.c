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

static struct ks_store_value v_text(const char *s)
{
    struct ks_store_value v = {.type = KS_TYPE_TEXT};
    v.v.bytes.ptr = s ? s : "";
    v.v.bytes.len = s ? strlen(s) : 0;
    return v;
}

static struct ks_store_value v_i64(int64_t x)
{
    struct ks_store_value v = {.type = KS_TYPE_I64};
    v.v.i64 = x;
    return v;
}

static struct ks_store_value v_time(int64_t t_us)
{
    struct ks_store_value v = {.type = KS_TYPE_TIME};
    v.v.i64 = t_us;
    return v;
}

static struct ks_store_value v_null(void)
{
    struct ks_store_value v = {.type = KS_TYPE_NULL};
    v.v.u64 = 0;
    return v;
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
    v[n++] = v_time(m->time_us);
    v[n++] = v_text(m->message_id);
    v[n++] = v_text(ks_mail_verdict_name(verdict));
    v[n++] = v_text(label != KS_MAIL_UNKNOWN ? "label" : m->verdict_source);
    if (isnan(m->score)) {
        v[n++] = v_null();
    } else {
        v[n].type = KS_TYPE_F64;
        v[n++].v.f64 = m->score;
    }
    if (m->sender.family) {
        v[n].type = KS_TYPE_ADDR;
        v[n].v.bytes.ptr = addr;
        v[n++].v.bytes.len = ks_addr_format(&m->sender, addr, sizeof addr);
    } else {
        v[n++] = v_null();
    }
    v[n++] = v_text(m->sender_helo);
    v[n++] = v_text(m->country);
    v[n++] = v_i64(m->asn);
    v[n++] = v_text(m->subject);
    v[n++] = v_text(m->subject_key);
    v[n++] = v_text(doms);
    v[n++] = v_i64((int64_t)m->nurls);
    v[n++] = v_i64((int64_t)m->natt);
    v[n++] = m->fuzzy[0] ? v_text(m->fuzzy) : v_null();
    v[n++] = v_text(ks_mail_spf_name(m->spf));
    v[n++] = v_i64((int64_t)m->size);
    v[n++] = v_i64(m->problems);
    v[n++] = v_text(m->time_source);
    if ((rc = fn(user, KS_TBL_MAIL_MESSAGES, v, n)) != 0)
        return rc;
    for (size_t i = 0; i < m->nurls; i++) {
        const struct ks_mail_url *u = &m->urls[i];
        n = 0;
        v[n++] = v_time(m->time_us);
        v[n++] = v_text(m->message_id);
        v[n++] = v_text(u->url);
        v[n++] = v_text(u->where);
        v[n++] = v_text(u->domain);
        v[n++] = v_i64(u->flags);
        v[n++] = v_text(u->shown);
        if ((rc = fn(user, KS_TBL_MAIL_URLS, v, n)) != 0)
            return rc;
    }
    for (size_t i = 0; i < m->natt; i++) {
        const struct ks_mail_attachment *a = &m->att[i];
        n = 0;
        v[n++] = v_time(m->time_us);
        v[n++] = v_text(m->message_id);
        v[n++] = v_text(a->name);
        v[n++] = v_text(a->mime);
        v[n++] = v_text(a->magic);
        v[n++] = v_text(a->sha256);
        v[n++] = v_text(a->md5);
        v[n++] = v_i64((int64_t)a->size);
        v[n++] = v_i64(a->flags);
        v[n++] = v_text(a->members);
        v[n++] = a->av_scanned ? v_text(a->av[0] ? a->av : "clean") : v_null();
        v[n++] = v_text(a->category ? a->category : ks_mail_att_category(false, a->flags));
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
