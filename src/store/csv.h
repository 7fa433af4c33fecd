/* CSV rows for `kansoku db import` (src/store/csv.c). */
#ifndef KS_STORE_CSV_H
#define KS_STORE_CSV_H

#include "kansoku/ks_store.h"

/* Longest line accepted (without its line break); longer lines are bad lines. */
#define KS_STORE_CSV_MAX_LINE 65536
/* Scratch a line needs: unquoted text, decoded blobs and address texts. */
#define KS_STORE_CSV_SCRATCH (KS_STORE_CSV_MAX_LINE + 32 * 48)

/* Parses one line (no line break) into vals[t->ncols]. Text values point into line or into
 * scratch (scratch_size >= len + 48 * t->ncols). Returns KS_OK, or KS_EFORMAT with a reason
 * in why ("column 2 (sensor): ..."). */
int store_csv_parse_line(const struct ks_store_table *t, const char *line, size_t len,
                         struct ks_store_value *vals, char *scratch, size_t scratch_size, char *why,
                         size_t whysize);

/* 1 if line is the table's header ("ts,sensor,metric,key,value"). */
int store_csv_is_header(const struct ks_store_table *t, const char *line, size_t len);

#endif
