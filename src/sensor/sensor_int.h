/* sensor: internal interfaces (batches, spool, metrics server). */
#ifndef KS_SENSOR_INT_H
#define KS_SENSOR_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "kansoku/ks_sensor.h"
#include "kansoku/ks_store.h"

/* "ADDR:PORT" of a loopback address into ss. KS_OK, KS_EINVAL (bad text), KS_ELIMIT (not a
 * loopback address: ss is filled all the same). */
int sensor_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len);

/* --- batches: rows serialised as they come ------------------------------------------------ */

#define SB_MAX_COLS KS_STORE_ROW_MAX_COLS
/* A batch is sealed when its rows take this many bytes (a darknet day with many sketches), and
 * a buffer grown past it is given back at the seal: memory stays bounded. */
#define SB_MAX_BYTES ((size_t)4 << 20)

struct sbatch {
    struct ks_store_rowbuf rb; /* its rows, in the encoding the spool writes */
    uint64_t attacks;          /* ddos attacks numbered within the batch */
};
void sb_init(struct sbatch *b);
void sb_fini(struct sbatch *b);
void sb_clear(struct sbatch *b);
/* Appends a row (values in the table's column order). KS_OK, KS_ENOMEM, KS_EINVAL. */
int sb_add_row(struct sbatch *b, int table, const struct ks_store_value *v, size_t n);

/* --- the spool: sealed batches on disk ----------------------------------------------------- */

struct spool {
    char dir[1024];
    uint64_t max_bytes;
    pthread_mutex_t mu; /* guards the counters below */
    uint64_t files, bytes;
    int64_t oldest_us;
};

struct spool_stats {
    uint64_t committed, duplicate, bad, rows_committed, rows_rejected, store_errors;
};

/* Creates the directory if needed, removes unfinished temporary files and counts the batches
 * left by an earlier run. KS_OK, KS_EIO. */
int spool_open(struct spool *sp, const char *dir, uint64_t max_bytes);
void spool_close(struct spool *sp);
/* Writes a sealed batch as one file (temporary name, fsync, rename, fsync of the directory).
 * KS_ELIMIT when the spool would grow past max_bytes (nothing written), KS_EIO, KS_ENOSPC. */
int spool_write(struct spool *sp, const char *sensor, uint64_t boot, uint64_t seq, int64_t now_us,
                const struct sbatch *b);
/* Replays every batch of the spool into the store, oldest first, removing each one the store
 * has (committed now, or before). *store is opened when NULL and closed (set NULL) after a
 * store error. Returns KS_OK when the spool is empty, else the error that stopped it. */
int spool_replay(struct spool *sp, const char *db, uint32_t busy_timeout_ms, const char *sensor,
                 struct ks_store **store, struct spool_stats *st, char *err, size_t errsize);
void spool_counts(struct spool *sp, uint64_t *files, uint64_t *bytes, int64_t *oldest_us);
/* Checks a batch file's bytes as the replay does, without a store: KS_OK and the number of
 * rows, or KS_EFORMAT. (The fuzz target.) */
int spool_parse(const uint8_t *buf, size_t len, uint64_t *rows);

/* --- the metrics server ------------------------------------------------------------------- */

struct metrics_srv;
/* Binds spec (loopback) and serves GET /metrics with text from fn in its own thread. */
int metrics_start(const char *spec, size_t (*fn)(void *user, char *buf, size_t size), void *user,
                  struct metrics_srv **mp);
uint16_t metrics_port(const struct metrics_srv *m);
void metrics_stop(struct metrics_srv *m); /* NULL is fine */

#endif
