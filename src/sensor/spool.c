/* sensor: batches of rows, the on-disk spool and its replay into the store.
 *
 * A batch file: "KSSPOOL1", u32 header length, the header (text "key=value\n": sensor, boot,
 * seq, created, rows), the rows, then "KSEND001" and the row count (u64). A row: u8 table id,
 * u8 value count, each value a u8 type and its payload (integers and doubles as 8 bytes big
 * endian, text/blob/addr as u32 length and bytes, NULL nothing). All integers big endian. The
 * file's SHA-256 is its identity in the store's inputs registry, so a replay of a batch the
 * store already has is recognised (KS_EEXIST) and the file removed: counted once. */
#include "sensor_int.h"

#include "core/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cur.h"

#define MAGIC "KSSPOOL1"
#define TRAILER "KSEND001"
#define BATCH_FILE_MAX ((size_t)256 << 20)
#define SPOOL_FILES_MAX 100000

void sb_init(struct sbatch *b)
{
    memset(b, 0, sizeof *b);
}

void sb_fini(struct sbatch *b)
{
    ks_store_rowbuf_free(&b->rb);
    memset(b, 0, sizeof *b);
}

void sb_clear(struct sbatch *b)
{
    ks_store_rowbuf_clear(&b->rb, SB_MAX_BYTES + (SB_MAX_BYTES >> 1));
    b->attacks = 0;
}

static void put_u64(uint8_t *p, uint64_t x)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)x;
        x >>= 8;
    }
}

static void put_u32(uint8_t *p, uint32_t x)
{
    for (int i = 3; i >= 0; i--) {
        p[i] = (uint8_t)x;
        x >>= 8;
    }
}

int sb_add_row(struct sbatch *b, int table, const struct ks_store_value *v, size_t n)
{
    return ks_store_rowbuf_add(&b->rb, table, v, n);
}

/* --- the spool directory ------------------------------------------------------------------- */

static bool is_batch_name(const char *n)
{
    size_t l = strlen(n);
    return l > 4 && strcmp(n + l - 4, ".ksb") == 0 && n[0] != '.';
}

/* Seal time of a batch, from its name "<created µs, 16 hex>-...". */
static int64_t name_time(const char *n)
{
    char *e;
    unsigned long long t = strtoull(n, &e, 16);
    return e == n + 16 ? (int64_t)t : 0;
}

static void recount(struct spool *sp)
{
    uint64_t files = 0, bytes = 0;
    int64_t oldest = 0;
    DIR *d = opendir(sp->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!is_batch_name(e->d_name))
                continue;
            char path[2048];
            struct stat sb;
            snprintf(path, sizeof path, "%s/%s", sp->dir, e->d_name);
            if (stat(path, &sb) != 0)
                continue;
            files++;
            bytes += (uint64_t)sb.st_size;
            int64_t t = name_time(e->d_name);
            if (t && (!oldest || t < oldest))
                oldest = t;
        }
        closedir(d);
    }
    pthread_mutex_lock(&sp->mu);
    sp->files = files;
    sp->bytes = bytes;
    sp->oldest_us = oldest;
    pthread_mutex_unlock(&sp->mu);
}

int spool_open(struct spool *sp, const char *dir, uint64_t max_bytes)
{
    memset(sp, 0, sizeof *sp);
    pthread_mutex_init(&sp->mu, NULL);
    snprintf(sp->dir, sizeof sp->dir, "%s", dir);
    sp->max_bytes = max_bytes;
    if (ks_mkdirs(dir, 0700) != 0)
        return KS_EIO;
    DIR *d = opendir(dir);
    if (!d)
        return KS_EIO;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".tmp") == 0) {
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path); /* a batch whose writer died before the rename: never sealed */
        }
    }
    closedir(d);
    recount(sp);
    return KS_OK;
}

void spool_close(struct spool *sp)
{
    pthread_mutex_destroy(&sp->mu);
}

void spool_counts(struct spool *sp, uint64_t *files, uint64_t *bytes, int64_t *oldest_us)
{
    pthread_mutex_lock(&sp->mu);
    *files = sp->files;
    *bytes = sp->bytes;
    *oldest_us = sp->oldest_us;
    pthread_mutex_unlock(&sp->mu);
}

int spool_write(struct spool *sp, const char *sensor, uint64_t boot, uint64_t seq, int64_t now_us,
                const struct sbatch *b)
{
    char header[512];
    int hn = snprintf(header, sizeof header,
                      "sensor=%s\nboot=%016llx\nseq=%llu\ncreated=%lld\nrows=%llu\n", sensor,
                      (unsigned long long)boot, (unsigned long long)seq, (long long)now_us,
                      (unsigned long long)b->rb.rows);
    if (hn < 0 || (size_t)hn >= sizeof header)
        return KS_EINVAL;
    uint64_t size = 8 + 4 + (uint64_t)hn + b->rb.len + 16;
    pthread_mutex_lock(&sp->mu);
    bool full = sp->bytes + size > sp->max_bytes || sp->files >= SPOOL_FILES_MAX;
    pthread_mutex_unlock(&sp->mu);
    if (full)
        return KS_ELIMIT;

    char name[128], tmp[2048], path[2048];
    snprintf(name, sizeof name, "%016llx-%016llx-%010llu.ksb", (unsigned long long)now_us,
             (unsigned long long)boot, (unsigned long long)seq);
    snprintf(path, sizeof path, "%s/%s", sp->dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", sp->dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == ENOSPC ? KS_ENOSPC : KS_EIO;
    uint8_t head[12];
    memcpy(head, MAGIC, 8);
    put_u32(head + 8, (uint32_t)hn);
    uint8_t tail[16];
    memcpy(tail, TRAILER, 8);
    put_u64(tail + 8, b->rb.rows);
    int rc = ks_write_all(fd, head, sizeof head);
    if (rc == KS_OK)
        rc = ks_write_all(fd, header, (size_t)hn);
    if (rc == KS_OK && b->rb.len)
        rc = ks_write_all(fd, b->rb.buf, b->rb.len);
    if (rc == KS_OK)
        rc = ks_write_all(fd, tail, sizeof tail);
    if (rc == KS_OK && fsync(fd) != 0)
        rc = KS_EIO;
    close(fd);
    if (rc == KS_OK && rename(tmp, path) != 0)
        rc = KS_EIO;
    if (rc != KS_OK) {
        unlink(tmp);
        return rc;
    }
    int dfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    pthread_mutex_lock(&sp->mu);
    sp->files++;
    sp->bytes += size;
    if (!sp->oldest_us || now_us < sp->oldest_us)
        sp->oldest_us = now_us;
    pthread_mutex_unlock(&sp->mu);
    return KS_OK;
}

/* --- replay --------------------------------------------------------------------------------- */

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Maps a batch file (read-only): its pages go back to the kernel at unmap, so replaying big
 * batches leaves no high-water mark in the heap. */
static int map_file(const char *path, uint8_t **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return KS_EIO;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || (uint64_t)sb.st_size > BATCH_FILE_MAX || sb.st_size == 0) {
        close(fd);
        return KS_EFORMAT;
    }
    void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return KS_EIO;
    *out = p;
    *len = (size_t)sb.st_size;
    return KS_OK;
}

/* Checks the framing; *rows_cur gets a cursor over the rows, *nrows their count. */
static int check_batch(const uint8_t *buf, size_t len, struct ks_cur *rows_cur, uint64_t *nrows)
{
    struct ks_cur c = ks_cur_make(buf, len);
    const uint8_t *m = ks_cur_ptr(&c, 8);
    uint32_t hn = ks_cur_u32be(&c);
    ks_cur_skip(&c, hn);
    if (ks_cur_err(&c) || memcmp(m, MAGIC, 8) != 0 || ks_cur_left(&c) < 16)
        return KS_EFORMAT;
    size_t body = ks_cur_left(&c) - 16;
    *rows_cur = ks_cur_sub(&c, body);
    const uint8_t *t = ks_cur_ptr(&c, 8);
    *nrows = ks_cur_u64be(&c);
    if (ks_cur_err(&c) || memcmp(t, TRAILER, 8) != 0)
        return KS_EFORMAT;
    return KS_OK;
}

/* Decodes one row from c into vals (pointing into the buffer). */
static int next_row(struct ks_cur *c, int *table, struct ks_store_value *vals, size_t *n)
{
    size_t at = 0, left = ks_cur_left(c);
    const uint8_t *p = ks_cur_ptr(c, 0);
    if (ks_store_rowbuf_next(p, left, &at, table, vals, n) != KS_OK)
        return KS_EFORMAT;
    ks_cur_skip(c, at);
    return KS_OK;
}

int spool_parse(const uint8_t *buf, size_t len, uint64_t *rows)
{
    struct ks_cur c;
    uint64_t n = 0, seen = 0;
    int rc = check_batch(buf, len, &c, &n);
    struct ks_store_value vals[SB_MAX_COLS];
    while (rc == KS_OK && ks_cur_left(&c) > 0) {
        int table;
        size_t nv;
        rc = next_row(&c, &table, vals, &nv);
        seen++;
    }
    if (rc == KS_OK && seen != n)
        rc = KS_EFORMAT;
    *rows = seen;
    return rc;
}

static void sha256_hex(const uint8_t *p, size_t n, char out[65]);

/* One batch file into the store. KS_OK (committed or already there: remove it), KS_EFORMAT
 * (damaged: set aside), or a store error (keep it, retry later). */
static int replay_one(struct ks_store *store, const char *path, const char *sensor,
                      struct spool_stats *st, char *err, size_t errsize)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = map_file(path, &buf, &len);
    if (rc != KS_OK)
        return rc == KS_EIO ? KS_EIO : KS_EFORMAT;
    struct ks_cur rows;
    uint64_t nrows = 0;
    rc = check_batch(buf, len, &rows, &nrows);
    if (rc != KS_OK) {
        munmap(buf, len);
        return rc;
    }
    char name[160];
    snprintf(name, sizeof name, "sensor %s", sensor);
    struct ks_store_input in = {.size = len, .name = name, .kind = "sensor"};
    sha256_hex(buf, len, in.sha256);
    struct ks_ingest *ing = NULL;
    rc = ks_store_input_begin(store, &in, 0, &ing);
    if (rc == KS_EEXIST) {
        st->duplicate++;
        munmap(buf, len);
        return KS_OK;
    }
    if (rc != KS_OK) {
        snprintf(err, errsize, "%s", ks_store_errmsg(store));
        munmap(buf, len);
        return rc;
    }
    uint64_t seen = 0, rejected = 0;
    struct ks_store_value vals[SB_MAX_COLS];
    while (ks_cur_left(&rows) > 0) {
        int table;
        size_t n;
        if (next_row(&rows, &table, vals, &n) != KS_OK) {
            rc = KS_EFORMAT;
            break;
        }
        seen++;
        int r = ks_store_put_row(ing, table, vals, n);
        if (r == KS_EINVAL) {
            rejected++; /* that row only */
            continue;
        }
        if (r != KS_OK) {
            rc = r;
            snprintf(err, errsize, "%s", ks_store_errmsg(store));
            break;
        }
    }
    if (rc == KS_OK && seen != nrows)
        rc = KS_EFORMAT;
    int rc2 = ks_store_input_end(ing, rc == KS_OK);
    if (rc == KS_OK && rc2 != KS_OK) {
        rc = rc2;
        snprintf(err, errsize, "%s", ks_store_errmsg(store));
    }
    if (rc == KS_OK) {
        st->committed++;
        st->rows_committed += seen - rejected;
        st->rows_rejected += rejected;
    }
    munmap(buf, len);
    return rc;
}

int spool_replay(struct spool *sp, const char *db, uint32_t busy_timeout_ms, const char *sensor,
                 struct ks_store **store, struct spool_stats *st, char *err, size_t errsize)
{
    DIR *d = opendir(sp->dir);
    if (!d) {
        snprintf(err, errsize, "%s: cannot read the spool directory (%s)", sp->dir,
                 strerror(errno));
        return KS_EIO;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = KS_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < SPOOL_FILES_MAX) {
        if (!is_batch_name(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = KS_ENOMEM;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = KS_ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_name);
    for (size_t i = 0; i < n && rc == KS_OK; i++) {
        if (!*store) {
            struct ks_store_config sc;
            ks_store_config_default(&sc);
            sc.busy_timeout_ms = busy_timeout_ms;
            sc.cache_mb = 8; /* the writer only appends: a small page cache is enough */
            int r = ks_store_open(db, &sc, store);
            if (r != KS_OK) {
                snprintf(err, errsize, "%s", ks_store_errmsg(NULL));
                *store = NULL;
                st->store_errors++;
                rc = r;
                break;
            }
        }
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", sp->dir, names[i]);
        int r = replay_one(*store, path, sensor, st, err, errsize);
        if (r == KS_OK) {
            unlink(path);
        } else if (r == KS_EFORMAT) {
            char bad[2048];
            snprintf(bad, sizeof bad, "%s/%s.bad", sp->dir, names[i]);
            rename(path, bad); /* kept for a person to look at, never replayed */
            st->bad++;
            snprintf(err, errsize, "%s: damaged batch set aside as %s.bad", path, names[i]);
        } else if (r == KS_EIO) {
            snprintf(err, errsize, "%s: cannot read (%s)", path, strerror(errno));
            rc = r;
        } else {
            st->store_errors++;
            ks_store_close(*store);
            *store = NULL;
            rc = r;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    recount(sp);
    return rc;
}

/* SHA-256 through OpenSSL (the store's inputs use the same digest). */
#include <openssl/evp.h>
static void sha256_hex(const uint8_t *p, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}
