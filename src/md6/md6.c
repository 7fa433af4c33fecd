/* MD6 mode of operation (report section 2.4 and the reference md6_mode.c): the 4-ary tree of
 * levels 1..L, sequential (SEQ) at level L + 1, with lazy compression, so that the node that
 * turns out to be the last one is the one compressed with z = 1.
 *
 * Bulk data are hashed in groups of 64 full leaves (a complete subtree): all its nodes up to
 * level k + 1 (k = min(3, L - 1)) are computed in batches of SIMD lanes, straight from the
 * caller's memory, and only the group's outputs enter the stack of pending nodes, which holds one
 * block per level. Large updates split their groups over worker threads. */
#include "md6/md6_internal.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MD6_MAX_THREADS 256
/* Chunks (16-word outputs) a worker produces per dispatch: 64 groups of 4^3 leaves (2 MiB),
 * fewer when L < 4 makes each group yield more than one chunk. */
#define MD6_TASK_CHUNKS 64

struct md6_level {
    uint64_t B[MD6_B]; /* pending node's data (for SEQ: chaining value, then data) */
    unsigned fill;     /* words in B */
    uint64_t index;    /* nodes of this level compressed so far */
};

/* What the workers read: fixed for the handle's life. */
struct md6_ctx {
    const struct md6_kernel *kern;
    uint64_t K[MD6_K];
    unsigned d, L, r, keylen;
    unsigned k; /* a group's nodes go up to level k + 1 */
    unsigned chunks_per_group;
};

/* One window of groups; every thread takes MD6_TAKE groups at a time from `next`, so a thread
 * slowed by other load on its core simply takes fewer. */
struct md6_task {
    const uint8_t *data;
    uint64_t g0; /* number of the first group in the message */
    size_t ngroups;
    size_t next; /* atomic */
    uint64_t (*out)[MD6_C];
};
#define MD6_TAKE 2

struct md6_pool {
    pthread_t th[MD6_MAX_THREADS];
    unsigned nworkers;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    uint64_t gen;
    unsigned pending;
    int stop;
    const struct md6_ctx *ctx;
    struct md6_task task;
    uint64_t (*out)[MD6_C]; /* MD6_TASK_CHUNKS per thread */
};

struct ks_md6 {
    struct md6_ctx c;
    unsigned threads;
    int finalized;
    struct md6_pool *pool;
    uint64_t buf_bits; /* message bits waiting in buf */
    struct md6_level lv[MD6_LEVELS];
    uint8_t buf[MD6_GROUP_BYTES] __attribute__((aligned(64)));
};

/* ---- parameters and paths ---- */

void ks_md6_params_default(struct ks_md6_params *p, unsigned d)
{
    memset(p, 0, sizeof *p);
    p->d = d;
    p->L = KS_MD6_MAX_L;
    p->r = -1;
    p->threads = 1;
    p->path = KS_MD6_PATH_AUTO;
}

const char *ks_md6_params_error(const struct ks_md6_params *p, char *msg, size_t size)
{
    if (!p)
        snprintf(msg, size, "no parameters");
    else if (p->d < 1 || p->d > KS_MD6_MAX_BITS)
        snprintf(msg, size, "digest size must be 1..%d bits, not %u", KS_MD6_MAX_BITS, p->d);
    else if (p->keylen > KS_MD6_MAX_KEY)
        snprintf(msg, size, "key must be at most %d bytes, not %zu", KS_MD6_MAX_KEY, p->keylen);
    else if (p->keylen > 0 && !p->key)
        snprintf(msg, size, "key length %zu given without a key", p->keylen);
    else if (p->L > KS_MD6_MAX_L)
        snprintf(msg, size, "mode L must be 0..%d, not %u", KS_MD6_MAX_L, p->L);
    else if (p->r < -1 || p->r > KS_MD6_MAX_ROUNDS)
        snprintf(msg, size, "rounds must be 0..%d, not %d", KS_MD6_MAX_ROUNDS, p->r);
    else if (p->threads > MD6_MAX_THREADS)
        snprintf(msg, size, "threads must be at most %d, not %u", MD6_MAX_THREADS, p->threads);
    else if (!ks_md6_path_name(p->path))
        snprintf(msg, size, "unknown computation path %d", (int)p->path);
    else
        return NULL;
    return msg;
}

unsigned ks_md6_rounds(const struct ks_md6_params *p)
{
    if (p->r >= 0)
        return (unsigned)p->r;
    unsigned r = 40 + p->d / 4;
    /* The reference's md6_default_r: a keyed hash gets at least 80 rounds. */
    if (p->keylen > 0 && r < 80)
        r = 80;
    return r;
}

const char *ks_md6_path_name(enum ks_md6_path path)
{
    switch (path) {
    case KS_MD6_PATH_AUTO:
        return "auto";
    case KS_MD6_PATH_PORTABLE:
        return "portable";
    case KS_MD6_PATH_SSE2:
        return "sse2";
    case KS_MD6_PATH_AVX2:
        return "avx2";
    case KS_MD6_PATH_AVX512:
        return "avx512";
    }
    return NULL;
}

int ks_md6_path_parse(const char *name, enum ks_md6_path *path)
{
    static const enum ks_md6_path all[] = {KS_MD6_PATH_AUTO, KS_MD6_PATH_PORTABLE, KS_MD6_PATH_SSE2,
                                           KS_MD6_PATH_AVX2, KS_MD6_PATH_AVX512};
    for (size_t i = 0; name && i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, ks_md6_path_name(all[i])) == 0) {
            *path = all[i];
            return KS_OK;
        }
    return KS_EINVAL;
}

static const struct md6_kernel *kernel_exact(enum ks_md6_path path)
{
    switch (path) {
    case KS_MD6_PATH_PORTABLE:
        return &md6_kernel_portable;
    case KS_MD6_PATH_SSE2:
        return md6_kernel_sse2();
    case KS_MD6_PATH_AVX2:
        return md6_kernel_avx2();
    case KS_MD6_PATH_AVX512:
        return md6_kernel_avx512();
    default:
        return NULL;
    }
}

const struct md6_kernel *md6_kernel_for(enum ks_md6_path path)
{
    if (path != KS_MD6_PATH_AUTO)
        return kernel_exact(path);
    enum ks_md6_path env;
    const struct md6_kernel *k;
    if (ks_md6_path_parse(getenv("KS_MD6_PATH"), &env) == KS_OK && env != KS_MD6_PATH_AUTO &&
        (k = kernel_exact(env)))
        return k;
    if ((k = md6_kernel_avx512()) || (k = md6_kernel_avx2()) || (k = md6_kernel_sse2()))
        return k;
    return &md6_kernel_portable;
}

int ks_md6_path_supported(enum ks_md6_path path)
{
    return path == KS_MD6_PATH_AUTO || kernel_exact(path) != NULL;
}

enum ks_md6_path ks_md6_path_auto(void)
{
    return md6_kernel_for(KS_MD6_PATH_AUTO)->path;
}

int ks_md6_compress(const uint64_t N[MD6_N], unsigned r, uint64_t C[MD6_C], enum ks_md6_path path)
{
    const struct md6_kernel *k = md6_kernel_for(path);
    if (!N || !C || r > KS_MD6_MAX_ROUNDS)
        return KS_EINVAL;
    if (!k)
        return KS_EUNSUPP;
    k->one(N, r, C);
    return KS_OK;
}

/* ---- compression helpers ---- */

static void fill_header(const struct md6_ctx *c, uint64_t N[MD6_N], uint64_t U, uint64_t V)
{
    memcpy(N, md6_Q, sizeof md6_Q);
    memcpy(N + MD6_Q, c->K, sizeof c->K);
    N[23] = U;
    N[24] = V;
}

static void wipe(void *p, size_t n)
{
    memset(p, 0, n);
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

/* Compresses n nodes, in lane batches when enough of them share the work. */
static void compress_jobs(const struct md6_ctx *c, const struct md6_job *jobs, size_t n, int be,
                          uint64_t (*out)[MD6_C])
{
    const struct md6_kernel *k = c->kern;
    size_t i = 0;
    for (; k->lanes > 1 && n - i >= (k->lanes + 1) / 2; i += k->lanes) {
        size_t m = n - i < k->lanes ? n - i : k->lanes;
        k->many(c->K, c->r, jobs + i, (unsigned)m, be, out + i);
        if (m < k->lanes) {
            i += m;
            goto rest;
        }
    }
rest:
    for (; i < n; i++) {
        uint64_t N[MD6_N];
        fill_header(c, N, jobs[i].U, jobs[i].V);
        const uint8_t *d = jobs[i].data;
        for (unsigned j = 0; j < MD6_B; j++)
            N[25 + j] = be ? md6_load_be(d + 8 * j) : md6_load_ne(d + 8 * j);
        k->one(N, c->r, out[i]);
        wipe(N, sizeof N);
    }
}

/* The outputs of ngroups complete groups of full leaves (group numbers g0...): for each group
 * its chunks_per_group nodes of level k + 1, in order. Reads only c: safe in any thread. */
static void hash_groups(const struct md6_ctx *c, const uint8_t *data, uint64_t g0, size_t ngroups,
                        uint64_t (*out)[MD6_C])
{
    uint64_t o[MD6_GROUP_LEAVES][MD6_C] __attribute__((aligned(64)));
    struct md6_job jobs[MD6_GROUP_LEAVES];
    const uint64_t V = md6_control_word(c->r, c->L, 0, 0, c->keylen, c->d);
    for (size_t g = 0; g < ngroups; g++) {
        const uint8_t *gd = data + g * (size_t)MD6_GROUP_BYTES;
        uint64_t idx = (g0 + g) * MD6_GROUP_LEAVES;
        size_t nodes = MD6_GROUP_LEAVES;
        for (size_t i = 0; i < nodes; i++) {
            jobs[i].U = md6_node_id(1, idx + i);
            jobs[i].V = V;
            jobs[i].data = gd + i * MD6_BLOCK_BYTES;
        }
        compress_jobs(c, jobs, nodes, 1, o);
        /* Parents in place: node i reads o[4i..4i+3], written back to o[i]; a batch reads all
         * its inputs before it writes, and later batches read only higher slots. */
        for (unsigned lev = 2; lev <= c->k + 1; lev++) {
            nodes /= 4;
            idx /= 4;
            for (size_t i = 0; i < nodes; i++) {
                jobs[i].U = md6_node_id(lev, idx + i);
                jobs[i].V = V;
                jobs[i].data = o[4 * i];
            }
            compress_jobs(c, jobs, nodes, 0, o);
        }
        memcpy(out + g * c->chunks_per_group, o, nodes * sizeof o[0]);
    }
    wipe(o, sizeof o);
}

/* Compresses the pending node of level lev (z = 1 for the root) into out. */
static void compress_level(struct ks_md6 *h, unsigned lev, unsigned z, uint64_t out[MD6_C])
{
    struct md6_level *lv = &h->lv[lev];
    uint64_t N[MD6_N];
    unsigned p = (MD6_B - lv->fill) * 64;
    fill_header(&h->c, N, md6_node_id(lev, lv->index),
                md6_control_word(h->c.r, h->c.L, z, p, h->c.keylen, h->c.d));
    memcpy(N + 25, lv->B, lv->fill * sizeof N[0]);
    memset(N + 25 + lv->fill, 0, (MD6_B - lv->fill) * sizeof N[0]);
    h->c.kern->one(N, h->c.r, out);
    wipe(N, sizeof N);
    lv->index++;
    lv->fill = 0;
    if (lev == h->c.L + 1) { /* SEQ: the output chains into the next block */
        memcpy(lv->B, out, MD6_C * sizeof out[0]);
        lv->fill = MD6_C;
    }
}

/* Appends a child's output to level lev, compressing the pending node first if it is full
 * (lazily: only now is it known not to be the last). */
static void push(struct ks_md6 *h, unsigned lev, const uint64_t chunk[MD6_C])
{
    struct md6_level *lv = &h->lv[lev];
    uint64_t out[MD6_C];
    if (lev == h->c.L + 1) {
        if (lv->fill == 0) { /* the first SEQ block chains from IV = 0 */
            memset(lv->B, 0, MD6_C * sizeof lv->B[0]);
            lv->fill = MD6_C;
        }
        if (lv->fill == MD6_B)
            compress_level(h, lev, 0, out);
    } else if (lv->fill == MD6_B) {
        compress_level(h, lev, 0, out);
        push(h, lev + 1, out);
    }
    memcpy(lv->B + lv->fill, chunk, MD6_C * sizeof chunk[0]);
    lv->fill += MD6_C;
}

/* ---- threads ---- */

struct worker_arg {
    struct md6_pool *pool;
};

static void run_task(const struct md6_ctx *c, struct md6_task *t)
{
    for (;;) {
        size_t g = __atomic_fetch_add(&t->next, MD6_TAKE, __ATOMIC_RELAXED);
        if (g >= t->ngroups)
            return;
        size_t n = t->ngroups - g < MD6_TAKE ? t->ngroups - g : MD6_TAKE;
        hash_groups(c, t->data + g * MD6_GROUP_BYTES, t->g0 + g, n,
                    t->out + g * c->chunks_per_group);
    }
}

static void *worker_main(void *arg)
{
    struct md6_pool *pool = ((struct worker_arg *)arg)->pool;
    free(arg);
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&pool->mu);
        while (pool->gen == seen && !pool->stop)
            pthread_cond_wait(&pool->work, &pool->mu);
        if (pool->stop) {
            pthread_mutex_unlock(&pool->mu);
            return NULL;
        }
        seen = pool->gen;
        pthread_mutex_unlock(&pool->mu);
        run_task(pool->ctx, &pool->task);
        pthread_mutex_lock(&pool->mu);
        if (--pool->pending == 0)
            pthread_cond_signal(&pool->done);
        pthread_mutex_unlock(&pool->mu);
    }
}

static void pool_free(struct md6_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->stop = 1;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->mu);
    for (unsigned i = 0; i < pool->nworkers; i++)
        pthread_join(pool->th[i], NULL);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->work);
    pthread_cond_destroy(&pool->done);
    if (pool->out)
        wipe(pool->out, (size_t)(pool->nworkers + 1) * MD6_TASK_CHUNKS * sizeof pool->out[0]);
    free(pool->out);
    free(pool);
}

static struct md6_pool *pool_new(const struct md6_ctx *ctx, unsigned threads)
{
    struct md6_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    pool->ctx = ctx;
    pool->out = aligned_alloc(64, (size_t)threads * MD6_TASK_CHUNKS * sizeof pool->out[0]);
    if (!pool->out || pthread_mutex_init(&pool->mu, NULL) != 0) {
        free(pool->out);
        free(pool);
        return NULL;
    }
    pthread_cond_init(&pool->work, NULL);
    pthread_cond_init(&pool->done, NULL);
    for (unsigned i = 0; i + 1 < threads; i++) {
        struct worker_arg *a = malloc(sizeof *a);
        if (!a)
            break;
        a->pool = pool;
        if (pthread_create(&pool->th[pool->nworkers], NULL, worker_main, a) != 0) {
            free(a);
            break;
        }
        pool->nworkers++;
    }
    return pool;
}

/* Hashes ngroups groups over the pool's threads (the caller's included), a window at a time,
 * then pushes the outputs in order. */
static void groups_parallel(struct ks_md6 *h, const uint8_t *data, size_t ngroups)
{
    struct md6_pool *pool = h->pool;
    unsigned nt = pool->nworkers + 1;
    size_t per = MD6_TASK_CHUNKS / h->c.chunks_per_group; /* groups per thread per window */
    uint64_t g0 = h->lv[1].index / MD6_GROUP_LEAVES;
    while (ngroups > 0) {
        size_t win = ngroups < per * nt ? ngroups : per * nt;
        pthread_mutex_lock(&pool->mu);
        pool->task = (struct md6_task){data, g0, win, 0, pool->out};
        pool->pending = pool->nworkers;
        pool->gen++;
        pthread_cond_broadcast(&pool->work);
        pthread_mutex_unlock(&pool->mu);
        run_task(&h->c, &pool->task);
        pthread_mutex_lock(&pool->mu);
        while (pool->pending > 0)
            pthread_cond_wait(&pool->done, &pool->mu);
        pthread_mutex_unlock(&pool->mu);
        for (size_t i = 0; i < win * h->c.chunks_per_group; i++)
            push(h, h->c.k + 2, pool->out[i]);
        data += win * MD6_GROUP_BYTES;
        g0 += win;
        ngroups -= win;
    }
}

/* ---- the message ---- */

/* Hashes ngroups complete groups (more data follows them) and files their outputs. */
static void do_groups(struct ks_md6 *h, const uint8_t *data, size_t ngroups)
{
    if (h->threads > 1 && ngroups >= 2 && !h->pool)
        h->pool = pool_new(&h->c, h->threads);
    if (h->pool && h->pool->nworkers > 0 && ngroups >= 2) {
        groups_parallel(h, data, ngroups);
    } else {
        uint64_t out[MD6_GROUP_LEAVES][MD6_C];
        uint64_t g0 = h->lv[1].index / MD6_GROUP_LEAVES;
        for (size_t g = 0; g < ngroups; g++) {
            hash_groups(&h->c, data + g * (size_t)MD6_GROUP_BYTES, g0 + g, 1, out);
            for (unsigned i = 0; i < h->c.chunks_per_group; i++)
                push(h, h->c.k + 2, out[i]);
        }
        wipe(out, sizeof out);
    }
    /* Levels 1..k+1 of the groups are complete: count their nodes for the tail's IDs. */
    uint64_t n = (uint64_t)ngroups * MD6_GROUP_LEAVES;
    for (unsigned lev = 1; lev <= h->c.k + 1; lev++, n /= 4)
        h->lv[lev].index += n;
}

/* One SEQ block of level 1 (L = 0): the chaining value and 3072 message bits. */
static void seq_block(struct ks_md6 *h, const uint8_t *data, uint64_t bits, unsigned z,
                      uint64_t out[MD6_C])
{
    struct md6_level *lv = &h->lv[1];
    uint64_t N[MD6_N];
    uint8_t tmp[384];
    if (bits < 3072) {
        size_t nb = (size_t)(bits + 7) / 8;
        memset(tmp, 0, sizeof tmp);
        memcpy(tmp, data, nb);
        if (bits % 8)
            tmp[nb - 1] &= (uint8_t)(0xff00u >> (bits % 8));
        data = tmp;
    }
    fill_header(&h->c, N, md6_node_id(1, lv->index),
                md6_control_word(h->c.r, 0, z, (unsigned)(3072 - bits), h->c.keylen, h->c.d));
    memcpy(N + 25, lv->B, MD6_C * sizeof N[0]); /* zero for the first block */
    for (unsigned j = 0; j < 48; j++)
        N[25 + MD6_C + j] = md6_load_be(data + 8 * j);
    h->c.kern->one(N, h->c.r, out);
    memcpy(lv->B, out, MD6_C * sizeof out[0]);
    lv->index++;
    wipe(N, sizeof N);
    wipe(tmp, sizeof tmp);
}

static uint64_t buf_cap_bits(const struct ks_md6 *h)
{
    return h->c.L == 0 ? 3072 : (uint64_t)MD6_GROUP_BYTES * 8;
}

/* The buffer is full and more data is coming: hash it. */
static void flush_buf(struct ks_md6 *h)
{
    uint64_t out[MD6_C];
    if (h->c.L == 0)
        seq_block(h, h->buf, 3072, 0, out);
    else
        do_groups(h, h->buf, 1);
    h->buf_bits = 0;
}

static void update_bytes(struct ks_md6 *h, const uint8_t *data, size_t len)
{
    const uint64_t cap = buf_cap_bits(h);
    while (len > 0) {
        if (h->buf_bits == cap) /* full, and more data is here: hash it */
            flush_buf(h);
        if (h->buf_bits == 0) { /* straight from the caller's memory, keeping some back */
            if (h->c.L > 0 && len > MD6_GROUP_BYTES) {
                size_t ng = (len - 1) / MD6_GROUP_BYTES;
                do_groups(h, data, ng);
                data += ng * MD6_GROUP_BYTES;
                len -= ng * MD6_GROUP_BYTES;
            } else if (h->c.L == 0 && len > 384) {
                uint64_t out[MD6_C];
                for (; len > 384; data += 384, len -= 384)
                    seq_block(h, data, 3072, 0, out);
            }
        }
        size_t room = (size_t)((cap - h->buf_bits) / 8);
        size_t take = len < room ? len : room;
        memcpy(h->buf + h->buf_bits / 8, data, take);
        h->buf_bits += (uint64_t)take * 8;
        data += take;
        len -= take;
    }
}

/* Bits src[sbit .. sbit + n) (high-order bit of a byte first) into buf at bit h->buf_bits;
 * the bits after the new end in its last byte are left zero. */
static void append_bits(struct ks_md6 *h, const uint8_t *src, uint64_t sbit, uint64_t n)
{
    uint8_t *dst = h->buf;
    uint64_t dbit = h->buf_bits;
    while (n > 0) {
        unsigned take = n < 8 ? (unsigned)n : 8;
        size_t si = (size_t)(sbit / 8);
        unsigned so = (unsigned)(sbit % 8);
        unsigned v = (unsigned)src[si] << so & 0xff;
        if (so + take > 8)
            v |= src[si + 1] >> (8 - so);
        v &= 0xff00u >> take & 0xff;
        size_t di = (size_t)(dbit / 8);
        unsigned doff = (unsigned)(dbit % 8);
        dst[di] = (uint8_t)((dst[di] & (0xff00u >> doff)) | v >> doff);
        if (doff + take > 8)
            dst[di + 1] = (uint8_t)(v << (8 - doff));
        sbit += take;
        dbit += take;
        n -= take;
    }
    h->buf_bits = dbit;
}

int ks_md6_update_bits(struct ks_md6 *h, const void *data, uint64_t nbits)
{
    if (!h || h->finalized || (!data && nbits))
        return KS_EINVAL;
    if (nbits % 8 == 0 && h->buf_bits % 8 == 0) {
        update_bytes(h, data, (size_t)(nbits / 8));
        return KS_OK;
    }
    const uint64_t cap = buf_cap_bits(h);
    uint64_t sbit = 0;
    while (sbit < nbits) {
        if (h->buf_bits == cap)
            flush_buf(h);
        uint64_t take = nbits - sbit < cap - h->buf_bits ? nbits - sbit : cap - h->buf_bits;
        append_bits(h, data, sbit, take);
        sbit += take;
    }
    return KS_OK;
}

int ks_md6_update(struct ks_md6 *h, const void *data, size_t len)
{
    if (!h || h->finalized || (!data && len))
        return KS_EINVAL;
    if (h->buf_bits % 8 == 0) {
        update_bytes(h, data, len);
        return KS_OK;
    }
    return ks_md6_update_bits(h, data, (uint64_t)len * 8);
}

/* The pending nodes from level `from` up, to the root; returns its output in C. */
static void flush_levels(struct ks_md6 *h, unsigned from, uint64_t C[MD6_C])
{
    uint64_t out[MD6_C];
    for (unsigned lev = from;; lev++) {
        struct md6_level *lv = &h->lv[lev];
        if (lev == h->c.L + 1 || lv->index + (lv->fill > 0) == 1) {
            compress_level(h, lev, 1, C);
            return;
        }
        compress_level(h, lev, 0, out);
        push(h, lev + 1, out);
    }
}

/* Level 1 of the tree at the end: the buffered leaves (the last one padded). */
static void final_tree(struct ks_md6 *h, uint64_t C[MD6_C])
{
    struct md6_level *l1 = &h->lv[1];
    uint64_t nleaves = (h->buf_bits + 4095) / 4096;
    if (nleaves == 0 && l1->index == 0)
        nleaves = 1; /* the empty message is one leaf of padding */
    uint8_t last[MD6_BLOCK_BYTES];
    uint64_t last_bits = h->buf_bits - (nleaves ? (nleaves - 1) * 4096 : 0);
    if (nleaves) {
        size_t nb = (size_t)(last_bits + 7) / 8;
        memset(last, 0, sizeof last);
        memcpy(last, h->buf + (nleaves - 1) * MD6_BLOCK_BYTES, nb);
        if (last_bits % 8)
            last[nb - 1] &= (uint8_t)(0xff00u >> (last_bits % 8));
    }
    unsigned z = l1->index == 0 && nleaves == 1;
    struct md6_job jobs[MD6_GROUP_LEAVES];
    uint64_t o[MD6_GROUP_LEAVES][MD6_C];
    for (uint64_t i = 0; i < nleaves; i++) {
        int is_last = i + 1 == nleaves;
        jobs[i].U = md6_node_id(1, l1->index + i);
        jobs[i].V = md6_control_word(h->c.r, h->c.L, z, is_last ? (unsigned)(4096 - last_bits) : 0,
                                     h->c.keylen, h->c.d);
        jobs[i].data = is_last ? last : h->buf + i * MD6_BLOCK_BYTES;
    }
    compress_jobs(&h->c, jobs, (size_t)nleaves, 1, o);
    l1->index += nleaves;
    wipe(last, sizeof last);
    if (z) {
        memcpy(C, o[0], sizeof o[0]);
    } else {
        for (uint64_t i = 0; i < nleaves; i++)
            push(h, 2, o[i]);
        flush_levels(h, 2, C);
    }
    wipe(o, sizeof o);
}

int ks_md6_final(struct ks_md6 *h, uint8_t *digest, size_t size)
{
    if (!h || h->finalized || !digest || size < (h->c.d + 7) / 8)
        return KS_EINVAL;
    uint64_t C[MD6_C];
    if (h->c.L == 0)
        seq_block(h, h->buf, h->buf_bits, 1, C);
    else
        final_tree(h, C);
    h->finalized = 1;
    /* The digest is the last d bits of the 1024-bit C, big-endian, moved to the front. */
    uint8_t full[MD6_C * 8];
    for (unsigned i = 0; i < MD6_C; i++)
        for (unsigned b = 0; b < 8; b++)
            full[8 * i + b] = (uint8_t)(C[i] >> (56 - 8 * b));
    size_t nbytes = (h->c.d + 7) / 8;
    unsigned bits = h->c.d % 8;
    memcpy(digest, full + sizeof full - nbytes, nbytes);
    if (bits)
        for (size_t i = 0; i < nbytes; i++)
            digest[i] =
                (uint8_t)(digest[i] << (8 - bits) | (i + 1 < nbytes ? digest[i + 1] >> bits : 0));
    wipe(full, sizeof full);
    wipe(C, sizeof C);
    return KS_OK;
}

/* ---- handles ---- */

void ks_md6_reset(struct ks_md6 *h)
{
    if (!h)
        return;
    h->finalized = 0;
    h->buf_bits = 0;
    wipe(h->lv, sizeof h->lv);
}

int ks_md6_new(const struct ks_md6_params *p, struct ks_md6 **hp)
{
    char msg[128];
    if (!hp)
        return KS_EINVAL;
    *hp = NULL;
    if (ks_md6_params_error(p, msg, sizeof msg))
        return KS_EINVAL;
    const struct md6_kernel *k = md6_kernel_for(p->path);
    if (!k)
        return KS_EUNSUPP;
    struct ks_md6 *h = aligned_alloc(64, sizeof *h);
    if (!h)
        return KS_ENOMEM;
    memset(h, 0, offsetof(struct ks_md6, buf));
    h->c.kern = k;
    h->c.d = p->d;
    h->c.L = p->L;
    h->c.r = ks_md6_rounds(p);
    h->c.keylen = (unsigned)p->keylen;
    uint8_t kb[KS_MD6_MAX_KEY] = {0};
    if (p->keylen)
        memcpy(kb, p->key, p->keylen);
    for (unsigned i = 0; i < MD6_K; i++)
        h->c.K[i] = md6_load_be(kb + 8 * i);
    wipe(kb, sizeof kb);
    h->c.k = p->L == 0 ? 0 : (p->L - 1 < 3 ? p->L - 1 : 3);
    h->c.chunks_per_group = 1u << (2 * (3 - h->c.k));
    h->threads = p->threads ? p->threads : 1;
    *hp = h;
    return KS_OK;
}

void ks_md6_free(struct ks_md6 *h)
{
    if (!h)
        return;
    pool_free(h->pool);
    wipe(h, sizeof *h);
    free(h);
}

int ks_md6_hash_bits(const struct ks_md6_params *p, const void *data, uint64_t nbits,
                     uint8_t *digest, size_t size)
{
    struct ks_md6 *h = NULL;
    int err = ks_md6_new(p, &h);
    if (err == KS_OK)
        err = ks_md6_update_bits(h, data, nbits);
    if (err == KS_OK)
        err = ks_md6_final(h, digest, size);
    ks_md6_free(h);
    return err;
}

int ks_md6_hash(const struct ks_md6_params *p, const void *data, size_t len, uint8_t *digest,
                size_t size)
{
    return ks_md6_hash_bits(p, data, (uint64_t)len * 8, digest, size);
}

size_t ks_md6_hex(const uint8_t *digest, unsigned d, char *hex, size_t size)
{
    static const char digits[] = "0123456789abcdef";
    size_t n = (d + 3) / 4;
    if (!digest || !hex || d < 1 || d > KS_MD6_MAX_BITS || size < n + 1)
        return 0;
    for (size_t i = 0; i < n; i++)
        hex[i] = digits[(digest[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
    hex[n] = '\0';
    return n;
}
