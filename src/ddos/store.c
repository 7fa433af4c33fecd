/* Attacks into the store: a row of ddos_attacks and the rows of ddos_timeline (schema v6,
 * src/store/schema.c), through the backend-neutral ingest interface. */
#include "kansoku/ks_ddos.h"
#include "kansoku/ks_store.h"

#include <stdio.h>
#include <string.h>

/* Comma-separated vector names of mask into buf. */
static size_t vector_list(uint32_t mask, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned v = 0; v < KS_VEC_COUNT; v++) {
        if (!(mask >> v & 1u))
            continue;
        int w = snprintf(buf + n, size - n, "%s%s", n ? "," : "", ks_ddos_vector_name(v));
        if (w < 0 || (size_t)w >= size - n)
            break;
        n += (size_t)w;
    }
    return n;
}

static void put_vector(struct ks_ingest *ing, uint8_t v)
{
    const char *name = ks_ddos_vector_name(v);
    if (name)
        ks_store_put_text(ing, name, strlen(name));
    else
        ks_store_put_null(ing);
}

int ks_ddos_store_attack(struct ks_ingest *ing, uint64_t attack_no, const struct ks_ddos_attack *a)
{
    char vecs[512], srcs[1024], ports[1024];
    size_t nv = vector_list(a->vectors, vecs, sizeof vecs);
    size_t ns = 0, np = 0;
    ns += (size_t)snprintf(srcs, sizeof srcs, "[");
    for (unsigned i = 0; i < a->n_top_sources && ns < sizeof srcs - 80; i++) {
        char addr[KS_ADDR_STRLEN];
        ks_addr_format(&a->top_sources[i].addr, addr, sizeof addr);
        ns += (size_t)snprintf(srcs + ns, sizeof srcs - ns, "%s{\"addr\":\"%s\",\"packets\":%llu}",
                               i ? "," : "", addr, (unsigned long long)a->top_sources[i].packets);
    }
    ns += (size_t)snprintf(srcs + ns, sizeof srcs - ns, "]");
    np += (size_t)snprintf(ports, sizeof ports, "[");
    for (unsigned i = 0; i < a->n_top_ports && np < sizeof ports - 80; i++)
        np += (size_t)snprintf(ports + np, sizeof ports - np,
                               "%s{\"port\":%u,\"proto\":\"%s\",\"packets\":%llu}", i ? "," : "",
                               a->top_ports[i].port, a->top_ports[i].proto == 6 ? "tcp" : "udp",
                               (unsigned long long)a->top_ports[i].packets);
    np += (size_t)snprintf(ports + np, sizeof ports - np, "]");
    const char *cls = ks_ddos_class_name(a->cls);
    const char *disp = ks_ddos_disp_name(a->dispersion.judgement);

    int rc = ks_store_row_begin(ing, KS_TBL_DDOS_ATTACKS);
    if (rc != KS_OK)
        return rc;
    ks_store_put_i64(ing, (int64_t)attack_no);
    ks_store_put_addr(ing, &a->target.addr);
    ks_store_put_i64(ing, a->target.len);
    ks_store_put_time(ing, a->start_us);
    ks_store_put_time(ing, a->end_us);
    ks_store_put_f64(ing, (double)(a->end_us - a->start_us) / 1e6);
    ks_store_put_text(ing, cls, strlen(cls));
    ks_store_put_text(ing, vecs, nv);
    put_vector(ing, a->main_vector);
    ks_store_put_u64(ing, a->peak_pps);
    ks_store_put_u64(ing, a->peak_bps);
    ks_store_put_u64(ing, a->packets);
    ks_store_put_u64(ing, a->bytes);
    ks_store_put_f64(ing, a->dispersion.sources);
    ks_store_put_text(ing, disp, strlen(disp));
    ks_store_put_f64(ing, a->dispersion.top1_share);
    ks_store_put_f64(ing, a->dispersion.top10_share);
    ks_store_put_text(ing, srcs, ns < sizeof srcs ? ns : sizeof srcs - 1);
    ks_store_put_text(ing, ports, np < sizeof ports ? np : sizeof ports - 1);
    ks_store_put_i64(ing, a->open ? 1 : 0);
    rc = ks_store_row_end(ing);
    if (rc != KS_OK)
        return rc;
    for (size_t i = 0; i < a->timeline_len; i++) {
        const struct ks_ddos_tl *t = &a->timeline[i];
        nv = vector_list(t->vectors, vecs, sizeof vecs);
        rc = ks_store_row_begin(ing, KS_TBL_DDOS_TIMELINE);
        if (rc != KS_OK)
            return rc;
        ks_store_put_i64(ing, (int64_t)attack_no);
        ks_store_put_time(ing, t->t_us);
        ks_store_put_i64(ing, t->seconds);
        ks_store_put_u64(ing, t->packets);
        ks_store_put_u64(ing, t->bytes);
        ks_store_put_text(ing, vecs, nv);
        put_vector(ing, t->main_vector);
        rc = ks_store_row_end(ing);
        if (rc != KS_OK)
            return rc;
    }
    return KS_OK;
}
