/* SHA-256 of inputs, the identity under which the store registers them (FIPS 180-4, through
 * OpenSSL's libcrypto EVP interface, which uses the CPU's SHA extensions where present). */
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int store_sha256_init(struct store_sha256 *h)
{
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx)
        return KS_ENOMEM;
    if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
        return KS_ENOMEM;
    }
    return KS_OK;
}

void store_sha256_update(struct store_sha256 *h, const void *p, size_t n)
{
    EVP_DigestUpdate(h->ctx, p, n);
}

void store_sha256_final(struct store_sha256 *h, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, md, &n);
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

void store_sha256_fini(struct store_sha256 *h)
{
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

int ks_store_hash_file(const char *path, char sha256_hex[65], uint64_t *size)
{
    struct store_sha256 h = {0};
    struct stat sb;
    unsigned char *buf = NULL;
    uint64_t total = 0;
    int rc = KS_OK, e = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    sha256_hex[0] = '\0';
    *size = 0;
    if (fd < 0)
        return KS_EIO;
    if (fstat(fd, &sb) != 0) {
        rc = KS_EIO;
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        e = EINVAL;
        rc = KS_EINVAL;
        goto out;
    }
    if (!(buf = malloc(1 << 20)) || store_sha256_init(&h) != KS_OK) {
        rc = KS_ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf, 1 << 20);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = KS_EIO;
            goto out;
        }
        if (n == 0)
            break;
        store_sha256_update(&h, buf, (size_t)n);
        total += (uint64_t)n;
    }
    store_sha256_final(&h, sha256_hex);
    *size = total;
out:
    if (rc != KS_OK)
        e = e ? e : errno;
    store_sha256_fini(&h);
    free(buf);
    close(fd);
    if (rc != KS_OK)
        errno = e;
    return rc;
}
