/* Darknet rows into the store: darknet_cells, darknet_sources and darknet_days (schema v7,
 * src/store/schema.c), through the backend-neutral ingest interface. One writer for every
 * caller (kansoku darknet, kansoku collect --darknet), so the column order lives here only. */
#include "kansoku/ks_darknet.h"
#include "kansoku/ks_store.h"

#include <string.h>

static void put_str(struct ks_ingest *ing, const char *s)
{
    ks_store_put_text(ing, s, strlen(s));
}

int ks_darknet_store_cell(struct ks_ingest *ing, const struct ks_darknet_cell *c)
{
    ks_store_row_begin(ing, KS_TBL_DARKNET_CELLS);
    ks_store_put_time(ing, c->day);
    put_str(ing, c->sensor);
    put_str(ing, ks_darknet_kind_name(c->kind));
    ks_store_put_i64(ing, c->proto);
    ks_store_put_i64(ing, c->port);
    ks_store_put_i64(ing, (int64_t)c->packets);
    ks_store_put_i64(ing, (int64_t)c->bytes);
    ks_store_put_f64(ing, c->sources);
    if (c->sketch)
        ks_store_put_blob(ing, c->sketch, c->sketch_len);
    else
        ks_store_put_null(ing);
    return ks_store_row_end(ing);
}

int ks_darknet_store_source(struct ks_ingest *ing, const struct ks_darknet_source *s)
{
    ks_store_row_begin(ing, KS_TBL_DARKNET_SOURCES);
    ks_store_put_time(ing, s->day);
    put_str(ing, s->sensor);
    put_str(ing, ks_darknet_dim_name(s->dim));
    put_str(ing, s->key);
    put_str(ing, s->name);
    ks_store_put_i64(ing, (int64_t)s->sources);
    ks_store_put_i64(ing, (int64_t)s->packets);
    ks_store_put_i64(ing, (int64_t)s->error);
    return ks_store_row_end(ing);
}

int ks_darknet_store_day(struct ks_ingest *ing, const struct ks_darknet_day *d)
{
    ks_store_row_begin(ing, KS_TBL_DARKNET_DAYS);
    ks_store_put_time(ing, d->day);
    put_str(ing, d->sensor);
    ks_store_put_i64(ing, (int64_t)d->monitored);
    ks_store_put_i64(ing, (int64_t)d->packets);
    ks_store_put_i64(ing, (int64_t)d->scan_packets);
    ks_store_put_i64(ing, (int64_t)d->backscatter_packets);
    ks_store_put_f64(ing, d->sources);
    ks_store_put_f64(ing, d->backscatter_sources);
    ks_store_put_i64(ing, (int64_t)d->domestic_sources);
    ks_store_put_i64(ing, (int64_t)d->dropped);
    return ks_store_row_end(ing);
}
