/* MRT input: plain files, gzip (zlib) and bzip2 (libbz2), recognised by their magic bytes.
 * Collectors publish gzip (RIPE RIS) and bzip2 (RouteViews) files; both may hold several
 * concatenated streams, which are read as one. Compressed input is inflated by a thread of
 * its own into a small ring of chunks, so that decoding and decompression overlap. */
#include "bgp/bgp_int.h"

#include "kansoku/ks_core.h"

#include <bzlib.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

enum src_kind { SRC_PLAIN, SRC_GZIP, SRC_BZIP2 };

#define RING 4
#define CHUNK (1u << 20)
#define ZIN (1u << 17) /* compressed bytes read at a time */

struct ring {
    pthread_t th;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t *buf[RING];
    size_t len[RING];
    unsigned head, count; /* chunks ready: head .. head + count - 1 */
    size_t pos;           /* bytes of the head chunk already returned */
    bool done, stop;
    int err;
};

struct mrt_src {
    enum src_kind kind;
    int fd;
    uint8_t peek[4];
    size_t npeek; /* bytes read to sniff the magic, not yet consumed */
    /* compressed input: the raw bytes read from fd, and the decompressor */
    uint8_t *zin;
    size_t zin_len, zin_pos;
    bool in_eof;
    bool z_live;  /* a decompressor is initialised */
    bool z_ended; /* the last stream ended and no other follows */
    z_stream z;
    bz_stream bz;
    struct ring *ring;
};

static ssize_t raw_read(struct mrt_src *s, void *buf, size_t n);
static int z_begin(struct mrt_src *s);

static void *inflater(void *arg)
{
    struct mrt_src *s = arg;
    struct ring *r = s->ring;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        while (r->count == RING && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stop) {
            pthread_mutex_unlock(&r->mu);
            return NULL;
        }
        unsigned slot = (r->head + r->count) % RING;
        pthread_mutex_unlock(&r->mu);
        /* the slot is ours until count covers it */
        size_t got = 0;
        ssize_t k = 1;
        while (got < CHUNK && k > 0) {
            k = raw_read(s, r->buf[slot] + got, CHUNK - got);
            if (k > 0)
                got += (size_t)k;
        }
        pthread_mutex_lock(&r->mu);
        if (got) {
            r->len[slot] = got;
            r->count++;
        }
        if (k <= 0) {
            r->done = true;
            r->err = k < 0 ? (int)k : 0;
        }
        pthread_cond_broadcast(&r->cv);
        bool end = r->done;
        pthread_mutex_unlock(&r->mu);
        if (end)
            return NULL;
    }
}

static int ring_start(struct mrt_src *s)
{
    struct ring *r = calloc(1, sizeof *r);
    if (!r)
        return KS_ENOMEM;
    for (int i = 0; i < RING; i++)
        if (!(r->buf[i] = malloc(CHUNK))) {
            for (int j = 0; j < i; j++)
                free(r->buf[j]);
            free(r);
            return KS_ENOMEM;
        }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    s->ring = r;
    if (pthread_create(&r->th, NULL, inflater, s) != 0) {
        s->ring = NULL; /* no thread: read in this one */
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
        for (int i = 0; i < RING; i++)
            free(r->buf[i]);
        free(r);
        return KS_OK;
    }
    r->started = true;
    return KS_OK;
}

static ssize_t ring_read(struct ring *r, uint8_t *d, size_t n)
{
    pthread_mutex_lock(&r->mu);
    while (r->count == 0 && !r->done)
        pthread_cond_wait(&r->cv, &r->mu);
    if (r->count == 0) {
        int err = r->err;
        pthread_mutex_unlock(&r->mu);
        return err;
    }
    unsigned h = r->head;
    size_t avail = r->len[h] - r->pos;
    pthread_mutex_unlock(&r->mu);
    size_t k = avail < n ? avail : n;
    memcpy(d, r->buf[h] + r->pos, k); /* the head chunk stays ours until we pop it */
    pthread_mutex_lock(&r->mu);
    r->pos += k;
    if (r->pos == r->len[h]) {
        r->pos = 0;
        r->head = (r->head + 1) % RING;
        r->count--;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return (ssize_t)k;
}

static void ring_stop(struct mrt_src *s)
{
    struct ring *r = s->ring;
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (r->started)
        pthread_join(r->th, NULL);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    for (int i = 0; i < RING; i++)
        free(r->buf[i]);
    free(r);
    s->ring = NULL;
}

int mrt_src_open(const char *path, struct mrt_src **sp)
{
    struct mrt_src *s = NULL;
    int rc = KS_OK;
    *sp = NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return KS_ENOMEM;
    s->fd = -1;
    if (strcmp(path, "-") == 0)
        s->fd = dup(STDIN_FILENO);
    else
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
        rc = KS_EIO;
        goto out;
    }
    /* Sniff the magic without seeking, so that pipes work: the bytes stay in peek. */
    while (s->npeek < 3) {
        ssize_t r = read(s->fd, s->peek + s->npeek, 3 - s->npeek);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = KS_EIO;
            goto out;
        }
        if (r == 0)
            break;
        s->npeek += (size_t)r;
    }
    if (s->npeek >= 2 && s->peek[0] == 0x1f && s->peek[1] == 0x8b)
        s->kind = SRC_GZIP;
    else if (s->npeek >= 3 && memcmp(s->peek, "BZh", 3) == 0)
        s->kind = SRC_BZIP2;
    else
        s->kind = SRC_PLAIN;
    if (s->kind != SRC_PLAIN) {
        s->zin = malloc(ZIN);
        if (!s->zin || z_begin(s) != KS_OK) {
            rc = KS_ENOMEM;
            goto out;
        }
    }
    if (s->kind != SRC_PLAIN && (rc = ring_start(s)) != KS_OK)
        goto out;
    *sp = s;
    s = NULL;
out:
    mrt_src_close(s);
    return rc;
}

/* Reads raw bytes from the file (the sniffed ones first). */
static ssize_t fd_read(struct mrt_src *s, uint8_t *d, size_t n)
{
    size_t got = 0;
    if (s->npeek) {
        got = s->npeek < n ? s->npeek : n;
        memcpy(d, s->peek, got);
        memmove(s->peek, s->peek + got, s->npeek - got);
        s->npeek -= got;
        if (got == n)
            return (ssize_t)got;
    }
    for (;;) {
        ssize_t r = read(s->fd, d + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return got ? (ssize_t)got : KS_EIO;
        return (ssize_t)got + r;
    }
}

/* Makes compressed input available; false at its end (or on error: *err). */
static bool z_input(struct mrt_src *s, int *err)
{
    if (s->zin_pos < s->zin_len)
        return true;
    if (s->in_eof)
        return false;
    ssize_t r = fd_read(s, s->zin, ZIN);
    if (r < 0) {
        *err = (int)r;
        return false;
    }
    s->zin_pos = 0;
    s->zin_len = (size_t)r;
    if (r == 0)
        s->in_eof = true;
    return r > 0;
}

static int z_begin(struct mrt_src *s)
{
    if (s->kind == SRC_GZIP) {
        memset(&s->z, 0, sizeof s->z);
        if (inflateInit2(&s->z, 15 + 16) != Z_OK) /* gzip wrapper (RFC 1952) */
            return KS_ENOMEM;
    } else {
        memset(&s->bz, 0, sizeof s->bz);
        if (BZ2_bzDecompressInit(&s->bz, 0, 0) != BZ_OK)
            return KS_ENOMEM;
    }
    s->z_live = true;
    return KS_OK;
}

static void z_end(struct mrt_src *s)
{
    if (!s->z_live)
        return;
    if (s->kind == SRC_GZIP)
        inflateEnd(&s->z);
    else
        BZ2_bzDecompressEnd(&s->bz);
    s->z_live = false;
}

/* After the end of a stream: another one follows when the next bytes are its magic (RFC 1952
 * 2.2 members; concatenated bzip2 streams); anything else after the end is ignored. */
static int z_next_stream(struct mrt_src *s)
{
    int err = 0;
    z_end(s);
    if (!z_input(s, &err)) {
        s->z_ended = true;
        return err;
    }
    const uint8_t *p = s->zin + s->zin_pos;
    bool more = s->kind == SRC_GZIP ? p[0] == 0x1f : p[0] == 'B';
    if (!more) {
        s->z_ended = true;
        return 0;
    }
    return z_begin(s);
}

static ssize_t z_read(struct mrt_src *s, uint8_t *buf, size_t n)
{
    size_t out = 0;
    if (n > (1u << 30))
        n = 1u << 30;
    while (out < n && !s->z_ended) {
        int err = 0;
        if (!z_input(s, &err)) {
            if (err)
                return out ? (ssize_t)out : err;
            /* the compressed data ends inside a stream */
            s->z_ended = true;
            return out ? (ssize_t)out : KS_ETRUNC;
        }
        size_t in_before = s->zin_len - s->zin_pos;
        size_t produced;
        bool stream_end = false;
        if (s->kind == SRC_GZIP) {
            s->z.next_in = s->zin + s->zin_pos;
            s->z.avail_in = (uInt)in_before;
            s->z.next_out = buf + out;
            s->z.avail_out = (uInt)(n - out);
            int rc = inflate(&s->z, Z_NO_FLUSH);
            if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
                return out ? (ssize_t)out : KS_EFORMAT;
            stream_end = rc == Z_STREAM_END;
            s->zin_pos += in_before - s->z.avail_in;
            produced = (n - out) - s->z.avail_out;
        } else {
            s->bz.next_in = (char *)s->zin + s->zin_pos;
            s->bz.avail_in = (unsigned)in_before;
            s->bz.next_out = (char *)buf + out;
            s->bz.avail_out = (unsigned)(n - out);
            int rc = BZ2_bzDecompress(&s->bz);
            if (rc != BZ_OK && rc != BZ_STREAM_END)
                return out ? (ssize_t)out : KS_EFORMAT;
            stream_end = rc == BZ_STREAM_END;
            s->zin_pos += in_before - s->bz.avail_in;
            produced = (n - out) - s->bz.avail_out;
        }
        out += produced;
        if (stream_end) {
            int rc = z_next_stream(s);
            if (rc < 0)
                return out ? (ssize_t)out : rc;
        }
    }
    return (ssize_t)out;
}

ssize_t mrt_src_read(struct mrt_src *s, void *buf, size_t n)
{
    if (n == 0)
        return 0;
    if (s->ring) {
        /* fill buf from the chunks, waiting for the inflater as needed */
        size_t got = 0;
        while (got < n) {
            ssize_t k = ring_read(s->ring, (uint8_t *)buf + got, n - got);
            if (k <= 0)
                return got ? (ssize_t)got : k;
            got += (size_t)k;
        }
        return (ssize_t)got;
    }
    return raw_read(s, buf, n);
}

static ssize_t raw_read(struct mrt_src *s, void *buf, size_t n)
{
    if (s->kind == SRC_PLAIN)
        return fd_read(s, buf, n);
    return z_read(s, buf, n);
}

void mrt_src_close(struct mrt_src *s)
{
    if (!s)
        return;
    ring_stop(s);
    z_end(s);
    free(s->zin);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}
