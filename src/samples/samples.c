/* The sample registry: one streaming pass for every hash and byte histogram, then the
 * classifiers (libmagic, libclamav, libyara) over what was read. Samples are data here: they
 * are read, never mapped executable, never run. */
#include "core/fsutil.h"
#include "kansoku/ks_samples.h"

#include "kansoku/ks_md6.h"
#include "kansoku/ks_store.h"
#include "hashpass.h"
#include "pe.h"
#include "samples_int.h"
#include "samples/samples_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEAD_SIZE (1u << 20)  /* first bytes kept for libmagic and the PE headers */
#define CHUNK_SIZE (1u << 20) /* read size of the streaming pass */
#define PASS_SIZE (64u << 10) /* bytes taken through every hash at a time, while in cache */
#define HIGH_ENTROPY 7.2      /* bits/byte: compressed or encrypted section */

void ks_samples_config_default(struct ks_samples_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_size = (uint64_t)1 << 30;
    cfg->md6 = true;
    cfg->fuzzy = true;
    cfg->scan_timeout_s = 10;
}

bool ks_samples_have(const char *feature)
{
    return strcmp(feature, "md6") == 0 || strcmp(feature, "clamav") == 0 ||
           strcmp(feature, "yara") == 0 || strcmp(feature, "ssdeep") == 0 ||
           strcmp(feature, "tlsh") == 0;
}

/* --- the streaming pass ------------------------------------------------------------------- */

struct digest {
    struct samples_md5 md5;       /* hashpass.c: fused with ssdeep and TLSH */
    struct samples_sha1 sha1_own; /* the same, where sha_fused (else OpenSSL) */
    struct samples_sha256 sha256_own;
    bool sha_fused;
    EVP_MD_CTX *sha1, *sha256;
    struct ks_md6 *md6;
    struct samples_ssdeep *ssdeep; /* hashpass.c, with TLSH below: NULL when off */
    struct samples_tlshc *tlsh;
    uint64_t hist[4][256]; /* four tables: neighbouring bytes rarely hit the same counter */
    uint64_t sec_hist[KS_SAMPLES_MAX_SECTIONS][256];
    uint64_t off; /* bytes fed so far */
};

static void digest_fini(struct digest *d)
{
    EVP_MD_CTX_free(d->sha1);
    EVP_MD_CTX_free(d->sha256);
    ks_md6_free(d->md6);
    free(d->ssdeep);
    free(d->tlsh);
    memset(d, 0, sizeof *d);
}

static int digest_init(struct digest *d, bool md6, bool fuzzy)
{
    memset(d, 0, sizeof *d);
    samples_md5_init(&d->md5);
    samples_sha1_init(&d->sha1_own);
    samples_sha256_init(&d->sha256_own);
    d->sha_fused = fuzzy && samples_fuzzy_simd_active();
    if (!(d->sha1 = EVP_MD_CTX_new()) || !(d->sha256 = EVP_MD_CTX_new()))
        goto fail;
    if (!EVP_DigestInit_ex(d->sha1, EVP_sha1(), NULL) ||
        !EVP_DigestInit_ex(d->sha256, EVP_sha256(), NULL))
        goto fail;
    if (md6) {
        struct ks_md6_params p;
        ks_md6_params_default(&p, 256);
        if (ks_md6_new(&p, &d->md6) != KS_OK)
            goto fail;
    }
    if (fuzzy) {
        if (!(d->ssdeep = aligned_alloc(64, sizeof *d->ssdeep)) ||
            !(d->tlsh = malloc(sizeof *d->tlsh)))
            goto fail;
        samples_ssdeep_init(d->ssdeep);
        samples_tlshc_init(d->tlsh);
    }
    return KS_OK;
fail:
    digest_fini(d);
    return KS_ENOMEM;
}

static void histogram(uint64_t h[4][256], const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        h[0][p[i]]++;
        h[1][p[i + 1]]++;
        h[2][p[i + 2]]++;
        h[3][p[i + 3]]++;
    }
    for (; i < n; i++)
        h[0][p[i]]++;
}

/* One fused pass: each PASS_SIZE piece goes through every hash while it is in cache. */
static void digest_feed(struct digest *d, const struct samples_pe *pe, const uint8_t *p, size_t n)
{
    for (size_t off = 0; off < n; off += PASS_SIZE) {
        const uint8_t *q = p + off;
        size_t m = n - off < PASS_SIZE ? n - off : PASS_SIZE;
        if (!d->sha_fused) {
            EVP_DigestUpdate(d->sha1, q, m);
            EVP_DigestUpdate(d->sha256, q, m);
        }
        if (d->md6)
            ks_md6_update(d->md6, q, m);
        if (d->ssdeep) { /* MD5, ssdeep, TLSH and the byte histogram in one loop */
            samples_fuzzy_update(&d->md5, d->sha_fused ? &d->sha1_own : NULL,
                                 d->sha_fused ? &d->sha256_own : NULL, d->ssdeep, d->tlsh, d->hist,
                                 q, m);
        } else {
            samples_md5_update(&d->md5, q, m);
            histogram(d->hist, q, m);
        }
    }
    /* Section histograms: the part of this chunk inside each section's raw range. */
    uint64_t lo = d->off, hi = d->off + n;
    for (unsigned i = 0; i < pe->nkept; i++) {
        uint64_t a = pe->sec[i].raw_off, b = a + pe->sec[i].raw_size;
        if (b <= lo || a >= hi)
            continue;
        uint64_t from = a > lo ? a : lo, to = b < hi ? b : hi;
        const uint8_t *q = p + (from - lo);
        for (uint64_t k = 0; k < to - from; k++)
            d->sec_hist[i][q[k]]++;
    }
    d->off += n;
}

static double entropy_of(const uint64_t *h, uint64_t total)
{
    if (total == 0)
        return 0;
    double e = 0;
    for (unsigned i = 0; i < 256; i++) {
        if (h[i]) {
            double p = (double)h[i] / (double)total;
            e -= p * log2(p);
        }
    }
    return e < 0 ? 0 : e;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static void digest_final(struct digest *d, struct samples_pe *pe, struct ks_sample_info *info)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    samples_md5_final(&d->md5, md);
    hex(md, 16, info->md5);
    if (d->sha_fused) {
        samples_sha1_final(&d->sha1_own, md);
        hex(md, 20, info->sha1);
    } else {
        EVP_DigestFinal_ex(d->sha1, md, &n);
        hex(md, n, info->sha1);
    }
    if (d->sha_fused) {
        samples_sha256_final(&d->sha256_own, md);
        hex(md, 32, info->sha256);
    } else {
        EVP_DigestFinal_ex(d->sha256, md, &n);
        hex(md, n, info->sha256);
    }
    if (d->md6 && ks_md6_final(d->md6, md, 32) == KS_OK)
        hex(md, 32, info->md6);
    if (d->ssdeep) {
        char r[SAMPLES_SSDEEP_MAX];
        if (samples_ssdeep_digest(d->ssdeep, r) == 0 && strlen(r) < sizeof info->ssdeep)
            memcpy(info->ssdeep, r, strlen(r) + 1);
        samples_tlshc_final(d->tlsh, info->tlsh, sizeof info->tlsh);
    }
    for (unsigned i = 1; i < 4; i++)
        for (unsigned b = 0; b < 256; b++)
            d->hist[0][b] += d->hist[i][b];
    info->entropy = entropy_of(d->hist[0], d->off);
    for (unsigned i = 0; i < pe->nkept; i++) {
        uint64_t tot = 0;
        for (unsigned b = 0; b < 256; b++)
            tot += d->sec_hist[i][b];
        pe->sec[i].entropy = entropy_of(d->sec_hist[i], tot);
    }
}

/* --- the handle --------------------------------------------------------------------------- */

int ks_samples_new(const struct ks_samples_config *cfg, const struct ks_diag *diag,
                   struct ks_samples **sp)
{
    struct ks_samples *s = NULL;
    int rc = KS_ENOMEM;
    *sp = NULL;
    if (!(s = calloc(1, sizeof *s)))
        return KS_ENOMEM;
    s->dirfd = -1;
    if (cfg)
        s->cfg = *cfg;
    else
        ks_samples_config_default(&s->cfg);
    if (s->cfg.max_size == 0)
        s->cfg.max_size = (uint64_t)1 << 30;
    if (diag)
        s->diag = *diag;
    s->cfg.dir = s->cfg.clamav_db = s->cfg.yara_dir = NULL; /* owned copies below */
    if (!(s->head = malloc(HEAD_SIZE)) || !(s->buf = malloc(CHUNK_SIZE)))
        goto fail;
    if (cfg && cfg->dir) {
        if (!(s->dir = strdup(cfg->dir)))
            goto fail;
        if ((rc = samples_open_dir(s)) != KS_OK)
            goto fail;
    }
    if ((rc = samples_magic_open(s)) != KS_OK)
        goto fail;
    if (cfg && cfg->clamav_db && (rc = samples_av_open(s, cfg->clamav_db)) != KS_OK)
        goto fail;
    if (cfg && cfg->yara_dir && (rc = samples_yara_open(s, cfg->yara_dir)) != KS_OK)
        goto fail;
    *sp = s;
    return KS_OK;
fail:
    ks_samples_free(s);
    return rc;
}

void ks_samples_free(struct ks_samples *s)
{
    if (!s)
        return;
    samples_yara_close(s);
    samples_av_close(s);
    samples_magic_close(s);
    if (s->dirfd >= 0)
        close(s->dirfd);
    free(s->dir);
    free(s->head);
    free(s->buf);
    free(s);
}

void ks_samples_stats(const struct ks_samples *s, struct ks_samples_stats *st)
{
    *st = s->st;
}

void samples_report(struct ks_samples *s, const char *source, int err, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct ks_loc loc = {.source = source};
    ks_diag_report(&s->diag, &s->reported, "samples", &loc, err, "%s", msg);
}

/* Appends item to a comma-separated list in out (size bytes), unless it is there already or
 * does not fit. */
void samples_list_add(char *out, size_t size, const char *item)
{
    size_t il = strlen(item), ol = strlen(out);
    for (const char *p = out; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == il && memcmp(p, item, il) == 0)
            return;
        p += l + (e ? 1 : 0);
    }
    if (ol + il + 2 > size)
        return;
    if (ol)
        out[ol++] = ',';
    memcpy(out + ol, item, il + 1);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts a comma-separated list in place. */
static void sort_list(char *list, size_t size)
{
    char copy[256], *items[32];
    size_t n = 0, len = strlen(list);
    if (len == 0 || len >= sizeof copy)
        return;
    memcpy(copy, list, len + 1);
    for (char *p = copy; p && n < 32;) {
        items[n++] = p;
        char *e = strchr(p, ',');
        if (e)
            *e++ = '\0';
        p = e;
    }
    qsort(items, n, sizeof items[0], cmp_str);
    list[0] = '\0';
    for (size_t i = 0; i < n; i++)
        samples_list_add(list, size, items[i]);
}

static bool has_bytes(const uint8_t *buf, size_t len, const char *needle, size_t nlen)
{
    return len >= nlen && memmem(buf, len, needle, nlen) != NULL;
}

/* The classifiers, after the pass: head holds the first head_len bytes; fd (or mem) all. */
static void classify(struct ks_samples *s, const char *name, int fd, const uint8_t *mem,
                     const uint8_t *head, size_t head_len, struct samples_pe *pe,
                     struct ks_sample_info *info)
{
    samples_magic_type(s, head, head_len, info);
    info->pe = pe->is_pe;
    info->elf = samples_is_elf(head, head_len);
    info->nsections = pe->nsections;
    memcpy(info->sections, pe->sec, sizeof pe->sec);
    info->pe_anomalies = pe->anomalies;
    for (unsigned i = 0; i < pe->nkept; i++)
        if (pe->sec[i].raw_size > 0 && pe->sec[i].entropy > info->max_section_entropy)
            info->max_section_entropy = pe->sec[i].entropy;
    /* UPX writes "UPX!" (its packheader) near the start of what it packs, PE and ELF alike. */
    info->upx = pe->upx || ((info->pe || info->elf) && has_bytes(head, head_len, "UPX!", 4));
    if (info->upx)
        snprintf(info->packer, sizeof info->packer, "UPX");
    else if (info->max_section_entropy >= HIGH_ENTROPY)
        snprintf(info->packer, sizeof info->packer, "high-entropy");
    if (info->packer[0])
        samples_list_add(info->tags, sizeof info->tags, "packed");
    samples_av_scan(s, name, fd, mem, info->size, info);
    samples_yara_scan(s, fd, mem, info->size, info);
    sort_list(info->tags, sizeof info->tags);
    s->st.analyzed++;
    s->st.bytes += info->size;
}

int ks_samples_analyze_mem(struct ks_samples *s, const void *buf, size_t len,
                           struct ks_sample_info *info)
{
    struct digest d;
    struct samples_pe pe;
    memset(info, 0, sizeof *info);
    if (len > s->cfg.max_size) {
        s->st.refused++;
        return KS_ELIMIT;
    }
    const uint8_t *p = buf ? buf : (const uint8_t *)"";
    size_t head_len = len < HEAD_SIZE ? len : HEAD_SIZE;
    if (digest_init(&d, s->cfg.md6, s->cfg.fuzzy) != KS_OK)
        return KS_ENOMEM;
    samples_pe_parse(p, head_len, len, &pe);
    digest_feed(&d, &pe, p, len);
    info->size = len;
    digest_final(&d, &pe, info);
    digest_fini(&d);
    classify(s, "memory", -1, p, p, head_len, &pe, info);
    return KS_OK;
}

/* Reads up to n bytes (less only at the end of the file). */
int ks_samples_analyze_file(struct ks_samples *s, const char *path, struct ks_sample_info *info)
{
    struct digest d = {0};
    struct samples_pe pe;
    struct stat sb;
    int fd = -1, rc = KS_OK;
    memset(info, 0, sizeof *info);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0 || fstat(fd, &sb) != 0) {
        rc = KS_EIO;
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        rc = KS_EINVAL;
        goto out;
    }
    if ((uint64_t)sb.st_size > s->cfg.max_size) {
        rc = KS_ELIMIT;
        goto out;
    }
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    if ((rc = digest_init(&d, s->cfg.md6, s->cfg.fuzzy)) != KS_OK)
        goto out;
    ssize_t head_len = (ssize_t)ks_read_full(fd, s->head, HEAD_SIZE);
    if (head_len < 0) {
        rc = KS_EIO;
        goto out;
    }
    uint64_t size = (uint64_t)sb.st_size;
    samples_pe_parse(s->head, (size_t)head_len, size, &pe);
    digest_feed(&d, &pe, s->head, (size_t)head_len);
    if ((size_t)head_len == HEAD_SIZE) {
        for (;;) {
            ssize_t n = (ssize_t)ks_read_full(fd, s->buf, CHUNK_SIZE);
            if (n < 0) {
                rc = KS_EIO;
                goto out;
            }
            if (n == 0)
                break;
            if (d.off + (uint64_t)n > s->cfg.max_size) {
                rc = KS_EFORMAT; /* grew while read */
                goto out;
            }
            digest_feed(&d, &pe, s->buf, (size_t)n);
        }
    }
    if (d.off != size) {
        rc = KS_EFORMAT; /* the file changed size while read */
        goto out;
    }
    info->size = size;
    digest_final(&d, &pe, info);
    classify(s, path, fd, NULL, s->head, (size_t)head_len, &pe, info);
out:
    if (rc != KS_OK) {
        int e = errno;
        s->st.refused++;
        errno = e;
    }
    digest_fini(&d);
    if (fd >= 0) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return rc;
}

/* --- finding executables in payloads ------------------------------------------------------ */

bool ks_samples_find_executable(const void *buf, size_t len, size_t *offset)
{
    const uint8_t *b = buf;
    *offset = 0;
    if (!b || len < 4)
        return false;
    if (len >= 3 && b[0] == '#' && b[1] == '!' && b[2] == '/')
        return true;
    for (size_t i = 0; i + 4 <= len; i++) {
        if (b[i] == 'M' && b[i + 1] == 'Z' && samples_pe_signature(b + i, len - i)) {
            *offset = i;
            return true;
        }
        if (b[i] == 0x7f && samples_is_elf(b + i, len - i)) {
            *offset = i;
            return true;
        }
    }
    return false;
}
