/* Keeping samples content-addressed on disk, and their rows in the store. */
#include "samples_int.h"

#include "core/fsutil.h"
#include "kansoku/ks_store.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int samples_open_dir(struct ks_samples *s)
{
    if (ks_mkdirs(s->dir, 0750) != 0 ||
        (s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        samples_report(s, s->dir, KS_EIO, "cannot create or open the samples directory: %s",
                       strerror(errno));
        return KS_EIO;
    }
    return KS_OK;
}

size_t ks_samples_path(const struct ks_samples *s, const char *sha256, char *buf, size_t size)
{
    if (!s->dir || strlen(sha256) != 64)
        return 0;
    int n = snprintf(buf, size, "%s/%.2s/%.2s/%s", s->dir, sha256, sha256 + 2, sha256);
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* Where the sample goes relative to dirfd, its two directories made. */
static int prepare(struct ks_samples *s, const char *sha256, char rel[80], char tmp[96])
{
    char d1[3], d2[6];
    if (s->dirfd < 0)
        return KS_EINVAL;
    if (strlen(sha256) != 64)
        return KS_EINVAL;
    snprintf(d1, sizeof d1, "%.2s", sha256);
    snprintf(d2, sizeof d2, "%.2s/%.2s", sha256, sha256 + 2);
    if ((mkdirat(s->dirfd, d1, 0750) != 0 && errno != EEXIST) ||
        (mkdirat(s->dirfd, d2, 0750) != 0 && errno != EEXIST))
        return KS_EIO;
    snprintf(rel, 80, "%s/%s", d2, sha256);
    snprintf(tmp, 96, "%s/.tmp-%ld-%llu", d2, (long)getpid(), (unsigned long long)s->tmp_seq++);
    return KS_OK;
}

/* Copies from src_fd (or mem) into a temporary file, checks the SHA-256, and renames it into
 * place read-only. */
static int keep(struct ks_samples *s, int src_fd, const uint8_t *mem, size_t len,
                const struct ks_sample_info *info, bool *is_new)
{
    char rel[80], tmp[96];
    struct stat sb;
    int rc, out = -1;
    EVP_MD_CTX *ctx = NULL;
    bool made = false;
    if (is_new)
        *is_new = false;
    if ((rc = prepare(s, info->sha256, rel, tmp)) != KS_OK)
        return rc;
    if (fstatat(s->dirfd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
        s->st.already_kept++;
        return KS_OK;
    }
    if ((out = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) <
        0) {
        rc = KS_EIO;
        goto out;
    }
    made = true;
    if (!(ctx = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        rc = KS_ENOMEM;
        goto out;
    }
    if (mem) {
        EVP_DigestUpdate(ctx, mem, len);
        if ((rc = ks_write_all(out, mem, len)) != KS_OK)
            goto out;
    } else {
        for (;;) {
            ssize_t n = read(src_fd, s->buf, 1u << 20);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                rc = KS_EIO;
                goto out;
            }
            if (n == 0)
                break;
            EVP_DigestUpdate(ctx, s->buf, (size_t)n);
            if ((rc = ks_write_all(out, s->buf, (size_t)n)) != KS_OK)
                goto out;
        }
    }
    uint8_t md[32];
    unsigned mdlen = 0;
    char got[65];
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    for (unsigned i = 0; i < 32; i++)
        snprintf(got + 2 * i, 3, "%02x", md[i]);
    if (strcmp(got, info->sha256) != 0) {
        rc = KS_EFORMAT; /* changed since it was analyzed */
        goto out;
    }
    if (fsync(out) != 0 || fchmod(out, 0400) != 0) {
        rc = errno == ENOSPC ? KS_ENOSPC : KS_EIO;
        goto out;
    }
    if (renameat(s->dirfd, tmp, s->dirfd, rel) != 0) {
        rc = KS_EIO;
        goto out;
    }
    made = false;
    s->st.kept++;
    if (is_new)
        *is_new = true;
    rc = KS_OK;
out:
    if (out >= 0)
        close(out);
    if (made)
        unlinkat(s->dirfd, tmp, 0);
    EVP_MD_CTX_free(ctx);
    return rc;
}

int ks_samples_keep_mem(struct ks_samples *s, const void *buf, size_t len,
                        const struct ks_sample_info *info, bool *is_new)
{
    return keep(s, -1, buf ? buf : (const void *)"", len, info, is_new);
}

int ks_samples_keep_file(struct ks_samples *s, const char *path, const struct ks_sample_info *info,
                         bool *is_new)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return KS_EIO;
    int rc = keep(s, fd, NULL, 0, info, is_new);
    close(fd);
    return rc;
}

/* --- rows ---------------------------------------------------------------------------------- */

static int found_cb(void *user, size_t ncols, const char *const *names,
                    const struct ks_store_value *vals)
{
    *(bool *)user = true;
    return 1;
}

static void put_str(struct ks_ingest *ing, const char *v)
{
    ks_store_put_text(ing, v, strlen(v));
}

static void put_opt(struct ks_ingest *ing, const char *v)
{
    if (v && v[0])
        ks_store_put_text(ing, v, strlen(v));
    else
        ks_store_put_null(ing);
}

int ks_samples_record(struct ks_samples *s, struct ks_store *st, struct ks_ingest *ing,
                      const struct ks_sample_event *ev, const struct ks_sample_info *info,
                      bool kept, bool *is_new)
{
    int rc;
    bool found = false;
    if (is_new)
        *is_new = false;
    ks_store_row_begin(ing, KS_TBL_SAMPLE_EVENTS);
    ks_store_put_time(ing, ev->ts);
    if (ev->source.family)
        ks_store_put_addr(ing, &ev->source);
    else
        ks_store_put_null(ing);
    put_str(ing, ev->country ? ev->country : "--");
    ks_store_put_i64(ing, ev->asn);
    put_str(ing, ev->via ? ev->via : "manual");
    put_str(ing, info->sha256);
    put_str(ing, ev->name ? ev->name : "");
    if ((rc = ks_store_row_end(ing)) != KS_OK)
        return rc;
    /* One samples row per SHA-256: the query runs on the writer's connection, so it sees
     * this ingest's rows too. Rows of another live writer are not seen: readers group by
     * sha256. */
    struct ks_store_value p = {.type = KS_TYPE_TEXT, .v.bytes = {info->sha256, 64}};
    rc = ks_store_query(st, "SELECT 1 FROM samples WHERE sha256 = ?1 LIMIT 1", &p, 1, found_cb,
                        &found);
    if (rc < 0)
        return rc;
    if (found)
        return KS_OK;
    char path[4200];
    bool have_path = kept && ks_samples_path(s, info->sha256, path, sizeof path) > 0;
    ks_store_row_begin(ing, KS_TBL_SAMPLES);
    put_str(ing, info->sha256);
    put_str(ing, info->md5);
    put_str(ing, info->sha1);
    put_opt(ing, info->md6);
    put_opt(ing, info->ssdeep);
    put_opt(ing, info->tlsh);
    ks_store_put_i64(ing, (int64_t)info->size);
    put_str(ing, info->type);
    put_str(ing, info->mime);
    ks_store_put_f64(ing, info->entropy);
    put_opt(ing, info->packer);
    put_str(ing, info->tags);
    if (info->av_scanned)
        put_str(ing, info->av[0] ? info->av : "clean");
    else
        ks_store_put_null(ing);
    put_str(ing, info->rules);
    ks_store_put_time(ing, ev->ts);
    put_opt(ing, have_path ? path : NULL);
    if ((rc = ks_store_row_end(ing)) != KS_OK)
        return rc;
    for (unsigned i = 0; i < info->niocs; i++) {
        ks_store_row_begin(ing, KS_TBL_SAMPLE_IOCS);
        put_str(ing, info->sha256);
        put_str(ing, info->iocs[i].kind);
        put_str(ing, info->iocs[i].value);
        put_str(ing, info->iocs[i].rule);
        if ((rc = ks_store_row_end(ing)) != KS_OK)
            return rc;
    }
    if (is_new)
        *is_new = true;
    return KS_OK;
}
