/* Inside the store: the handle, the ingest, and the vtable a backend implements. The neutral
 * layer (store.c) owns the ingest protocol (batching, row checks); a backend only moves rows
 * and transactions to its engine, so a new backend never touches the analyzers. */
#ifndef KS_STORE_INT_H
#define KS_STORE_INT_H

#include "kansoku/ks_store.h"
#include "schema.h"

#include <stdbool.h>
#include <stdint.h>

struct ks_store;

struct ks_store_backend {
    const char *name;
    /* Opens spec, creates or migrates the schema (sets s->version_before/now). */
    int (*open)(struct ks_store *s, const char *spec);
    void (*close)(struct ks_store *s);
    /* Deletes partial inputs whose writer is gone (never s's own active input). */
    int (*cleanup)(struct ks_store *s, uint64_t *removed);
    /* Registers the input as partial, visible only with its liveness mark taken;
     * *replace_id is the complete input FORCE replaces (0 if none). */
    int (*input_begin)(struct ks_store *s, const struct ks_store_input *in, unsigned flags,
                       int64_t *id, int64_t *replace_id);
    int (*txn_begin)(struct ks_store *s);
    int (*row)(struct ks_store *s, int64_t input_id, int table, const struct ks_store_value *v);
    /* Optional: true when the open batch holds as much as the backend wants in one commit
     * (asked every 1024 rows, besides the rows and time bounds of the config). */
    bool (*batch_full)(struct ks_store *s);
    /* Commits the open transaction after recording `rows`; with complete, marks the input
     * complete and deletes replace_id (if nonzero) in the same transaction. */
    int (*txn_commit)(struct ks_store *s, int64_t input_id, uint64_t rows, bool complete,
                      int64_t replace_id);
    void (*txn_rollback)(struct ks_store *s);
    /* Deletes the input and its rows (best effort), then drops its liveness mark. */
    int (*input_abandon)(struct ks_store *s, int64_t input_id);
    /* Drops the liveness mark of a finished input. */
    void (*input_release)(struct ks_store *s, int64_t input_id);
    int (*inputs)(struct ks_store *s, int (*fn)(void *, const struct ks_store_input_info *),
                  void *user);
    int (*info)(struct ks_store *s, struct ks_store_info *info);
    int (*query)(struct ks_store *s, const char *sql, const struct ks_store_value *params,
                 size_t nparams,
                 int (*fn)(void *, size_t, const char *const *, const struct ks_store_value *),
                 void *user);
};

struct ks_store {
    const struct ks_store_backend *be;
    void *impl; /* the backend's state */
    char *spec;
    struct ks_store_config cfg;
    int version_before, version_now;
    struct ks_ingest *active; /* the one ingest in progress, if any */
    int64_t active_input;     /* its input id (0 if none) */
    char err[1024];
};

/* Sets s->err (printf-style) and returns err. */
int store_fail(struct ks_store *s, int err, const char *fmt, ...) KS_PRINTF(3, 4);

int64_t store_now_us(void);

extern const struct ks_store_backend store_sqlite_backend;

#endif
