/* MD6 of a file descriptor: regular files are mapped a window at a time (no copy, bounded
 * address space), anything else is read in large chunks; the handle spreads the groups of each
 * window or chunk over its threads. */
#include "kansoku/ks_md6.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MD6_MAP_WINDOW ((size_t)64 << 20)
#define MD6_READ_CHUNK ((size_t)4 << 20)

static int hash_mapped(struct ks_md6 *h, int fd, uint64_t size, uint64_t *done)
{
    uint64_t off = 0;
    while (off < size) {
        size_t len = size - off < MD6_MAP_WINDOW ? (size_t)(size - off) : MD6_MAP_WINDOW;
        void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, (off_t)off);
        if (m == MAP_FAILED)
            return off == 0 ? KS_EUNSUPP : KS_EIO;
        madvise(m, len, MADV_SEQUENTIAL);
        int err = ks_md6_update(h, m, len);
        munmap(m, len);
        if (err)
            return err;
        off += len;
        *done = off;
    }
    /* Continue from there with read() in case the file grew. */
    if (lseek(fd, (off_t)off, SEEK_SET) < 0)
        return KS_EIO;
    return KS_OK;
}

int ks_md6_hash_fd(const struct ks_md6_params *p, int fd, uint8_t *digest, size_t size,
                   uint64_t *nbytes)
{
    struct ks_md6 *h = NULL;
    uint8_t *buf = NULL;
    uint64_t total = 0;
    int err = ks_md6_new(p, &h);
    if (err)
        goto out;
    struct stat st;
    off_t pos = lseek(fd, 0, SEEK_CUR);
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && pos == 0 && st.st_size >= (1 << 20)) {
        err = hash_mapped(h, fd, (uint64_t)st.st_size, &total);
        if (err == KS_EUNSUPP) { /* not mappable: read it */
            ks_md6_reset(h);
            total = 0;
            err = KS_OK;
        } else if (err) {
            goto out;
        }
    }
    size_t cap = MD6_READ_CHUNK * (p->threads > 1 ? p->threads : 1);
    buf = malloc(cap);
    if (!buf) {
        err = KS_ENOMEM;
        goto out;
    }
    for (;;) {
        size_t have = 0;
        while (have < cap) {
            ssize_t n = read(fd, buf + have, cap - have);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                err = KS_EIO;
                goto out;
            }
            if (n == 0)
                break;
            have += (size_t)n;
        }
        if (have == 0)
            break;
        err = ks_md6_update(h, buf, have);
        if (err)
            goto out;
        total += have;
        if (have < cap)
            break; /* end of input reached in the loop above */
    }
    err = ks_md6_final(h, digest, size);
out:
    if (nbytes)
        *nbytes = total;
    {
        int saved = errno;
        free(buf);
        ks_md6_free(h);
        errno = saved;
    }
    return err;
}
