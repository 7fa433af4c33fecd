/* Internals of the ClickHouse backend shared with its tests: the parsed store URI and the
 * literal substitution of query parameters. */
#ifndef KS_STORE_CLICKHOUSE_INT_H
#define KS_STORE_CLICKHOUSE_INT_H

#include "store_int.h"

#include <stdbool.h>
#include <stddef.h>

#define CH_MAX_NODES 16

/* clickhouse://HOST:PORT[,HOST:PORT...]/DB[?cluster=NAME&user=U&password=P&timeout_ms=N
 *                                          &retry_s=N&lease_s=N]
 * PORT is the HTTP port (default 8123). Several nodes need a cluster name: each node is one
 * shard of that cluster (its remote_servers), in any order. */
struct ch_uri {
    char host[CH_MAX_NODES][128];
    int port[CH_MAX_NODES];
    unsigned nnodes;
    char db[64];
    char cluster[64]; /* "" for a single node */
    char user[64], password[128];
    long timeout_ms; /* one HTTP request (default 60000) */
    long retry_s;    /* how long a write keeps retrying through an outage (default 600) */
    long lease_s;    /* a partial input silent this long has a dead writer (default 900) */
};

/* Parses spec into u; KS_EINVAL with a message in err (size errsize) if it is malformed. */
int ch_uri_parse(const char *spec, struct ch_uri *u, char *err, size_t errsize);

/* Replaces ?N (outside string literals) with params[N-1] as ClickHouse literals into out
 * (NUL-terminated). KS_EINVAL for a parameter out of range, KS_ELIMIT if out is too small. */
int ch_bind(const char *sql, const struct ks_store_value *params, size_t nparams, char *out,
            size_t size);

extern const struct ks_store_backend store_clickhouse_backend;

#endif
