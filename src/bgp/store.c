/* BGP alerts into the store: one row of bgp_alerts (schema v12, src/store/schema.c) per alert,
 * through the backend-neutral ingest interface. */
#include "kansoku/ks_bgp.h"
#include "kansoku/ks_store.h"

#include <stdio.h>
#include <string.h>

int ks_bgp_store_alert(struct ks_ingest *ing, const struct ks_bgp_alert *a)
{
    char exp_pfx[KS_PREFIX_STRLEN] = "";
    char exp_as[8 * 11 + 8] = "";
    size_t n = 0;
    if (a->expected_prefix.addr.family)
        ks_prefix_format(&a->expected_prefix, exp_pfx, sizeof exp_pfx);
    for (uint32_t i = 0; i < a->n_expected && i < 8; i++) {
        int w = snprintf(exp_as + n, sizeof exp_as - n, "%s%u", i ? " " : "",
                         (unsigned)a->expected_as[i]);
        if (w < 0 || (size_t)w >= sizeof exp_as - n)
            break;
        n += (size_t)w;
    }
    const char *type = ks_bgp_alert_type_name(a->type);
    int rc = ks_store_row_begin(ing, KS_TBL_BGP_ALERTS);
    if (rc != KS_OK)
        return rc;
    ks_store_put_time(ing, a->first_seen_us);
    ks_store_put_text(ing, type, strlen(type));
    ks_store_put_addr(ing, &a->prefix.addr);
    ks_store_put_i64(ing, a->prefix.len);
    ks_store_put_i64(ing, a->origin_as);
    ks_store_put_text(ing, exp_pfx, strlen(exp_pfx));
    ks_store_put_text(ing, exp_as, n);
    ks_store_put_i64(ing, a->max_peers);
    ks_store_put_time(ing, a->first_seen_us);
    ks_store_put_time(ing, a->last_seen_us);
    if (a->event == KS_BGP_EVENT_CLEAR)
        ks_store_put_time(ing, a->cleared_us);
    else
        ks_store_put_null(ing);
    ks_store_put_addr(ing, &a->first_peer);
    ks_store_put_i64(ing, a->first_peer_as);
    ks_store_put_i64(ing, a->event == KS_BGP_EVENT_CLEAR ? 0 : 1);
    return ks_store_row_end(ing);
}
