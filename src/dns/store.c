/* Audits and alerts into the store (schema v11, src/store/schema.c): dns_resolver_audits and
 * dns_poisoning_alerts, through the backend-neutral ingest interface. */
#include "kansoku/ks_dns.h"
#include "kansoku/ks_store.h"

#include <stdio.h>
#include <string.h>

static void put_str(struct ks_ingest *ing, const char *s)
{
    if (s)
        ks_store_put_text(ing, s, strlen(s));
    else
        ks_store_put_null(ing);
}

int ks_dns_store_audit(struct ks_ingest *ing, const struct ks_dns_audit *a)
{
    int rc = ks_store_row_begin(ing, KS_TBL_DNS_RESOLVER_AUDITS);
    if (rc != KS_OK)
        return rc;
    ks_store_put_time(ing, a->first_us);
    ks_store_put_time(ing, a->last_us);
    ks_store_put_addr(ing, &a->addr);
    put_str(ing, a->role == KS_DNS_ROLE_RESOLVER ? "resolver" : "stub");
    ks_store_put_i64(ing, (int64_t)a->queries);
    ks_store_put_i64(ing, (int64_t)a->upstream);
    ks_store_put_i64(ing, (int64_t)a->recursive);
    ks_store_put_i64(ing, (int64_t)a->servers);
    ks_store_put_i64(ing, (int64_t)a->ports.distinct);
    ks_store_put_f64(ing, a->ports.sd);
    ks_store_put_f64(ing, a->ports.bits);
    ks_store_put_f64(ing, a->ports.max_bit_bias);
    put_str(ing, ks_dns_grade_name(a->ports.grade));
    ks_store_put_i64(ing, (int64_t)a->txids.distinct);
    ks_store_put_f64(ing, a->txids.sd);
    ks_store_put_f64(ing, a->txids.bits);
    ks_store_put_f64(ing, a->txids.max_bit_bias);
    put_str(ing, ks_dns_grade_name(a->txids.grade));
    put_str(ing, ks_dns_case_name(a->case0x20));
    ks_store_put_f64(ing, a->letters ? (double)a->upper / (double)a->letters : 0);
    put_str(ing, ks_dns_grade_name(a->grade));
    put_str(ing, a->note);
    return ks_store_row_end(ing);
}

/* A JSON array of {addr,count} (the names are fixed strings, the addresses plain text). */
static size_t addrs_json(const struct ks_dns_counted_addr *v, uint32_t n, char *buf, size_t size)
{
    size_t o = (size_t)snprintf(buf, size, "[");
    for (uint32_t i = 0; i < n && o < size; i++) {
        char ad[KS_ADDR_STRLEN];
        ks_addr_format(&v[i].addr, ad, sizeof ad);
        o += (size_t)snprintf(buf + o, size - o, "%s{\"addr\":\"%s\",\"responses\":%llu}",
                              i ? "," : "", ad, (unsigned long long)v[i].count);
    }
    if (o < size)
        o += (size_t)snprintf(buf + o, size - o, "]");
    return o < size ? o : size - 1;
}

/* Escapes a presentation name for a JSON string (it may hold '\' and '"'). */
static size_t json_esc(const char *s, char *buf, size_t size)
{
    size_t o = 0;
    for (; *s && o + 7 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(buf + o, size - o, "\\u%04x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o] = '\0';
    return o;
}

static const char *type_name(uint16_t t)
{
    switch (t) {
    case KS_DNS_TYPE_A:
        return "A";
    case KS_DNS_TYPE_AAAA:
        return "AAAA";
    case KS_DNS_TYPE_NS:
        return "NS";
    case KS_DNS_TYPE_CNAME:
        return "CNAME";
    case KS_DNS_TYPE_DNAME:
        return "DNAME";
    default:
        return "?";
    }
}

static const char *section_name(uint8_t s)
{
    return s == KS_DNS_ANSWER ? "answer" : s == KS_DNS_AUTHORITY ? "authority" : "additional";
}

int ks_dns_store_alert(struct ks_ingest *ing, const struct ks_dns_alert *a)
{
    char src[1024], res[1024];
    char forged[KS_DNS_ALERT_FORGED * (4 * KS_DNS_NAME_STRLEN + 120) + 8];
    size_t ns = addrs_json(a->sources, a->n_sources, src, sizeof src);
    size_t nr = addrs_json(a->resolvers, a->n_resolvers, res, sizeof res);
    size_t nf = (size_t)snprintf(forged, sizeof forged, "[");
    for (uint32_t i = 0; i < a->n_forged && nf < sizeof forged; i++) {
        char n[2 * KS_DNS_NAME_STRLEN], v[2 * KS_DNS_NAME_STRLEN];
        json_esc(a->forged[i].name, n, sizeof n);
        json_esc(a->forged[i].value, v, sizeof v);
        nf += (size_t)snprintf(forged + nf, sizeof forged - nf,
                               "%s{\"type\":\"%s\",\"section\":\"%s\",\"name\":\"%s\","
                               "\"value\":\"%s\",\"count\":%llu}",
                               i ? "," : "", type_name(a->forged[i].type),
                               section_name(a->forged[i].section), n, v,
                               (unsigned long long)a->forged[i].count);
    }
    if (nf < sizeof forged)
        nf += (size_t)snprintf(forged + nf, sizeof forged - nf, "]");
    if (nf >= sizeof forged) /* cut: keep it valid JSON */
        nf = (size_t)snprintf(forged, sizeof forged, "[]");
    int rc = ks_store_row_begin(ing, KS_TBL_DNS_POISONING_ALERTS);
    if (rc != KS_OK)
        return rc;
    ks_store_put_time(ing, a->start_us);
    ks_store_put_time(ing, a->end_us);
    put_str(ing, a->zone);
    put_str(ing, a->kind);
    ks_store_put_i64(ing, (int64_t)a->responses);
    ks_store_put_i64(ing, (int64_t)a->peak_pps);
    ks_store_put_f64(ing, a->rate_pps);
    ks_store_put_i64(ing, (int64_t)a->names);
    ks_store_put_i64(ing, (int64_t)a->txids);
    ks_store_put_text(ing, src, ns);
    ks_store_put_text(ing, res, nr);
    ks_store_put_text(ing, forged, nf);
    ks_store_put_i64(ing, (int64_t)a->matched);
    ks_store_put_i64(ing, a->possible_success);
    ks_store_put_i64(ing, a->open);
    return ks_store_row_end(ing);
}
