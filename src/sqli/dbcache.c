/* Compiled rule databases kept on disk between runs. Compiling the signatures takes about
 * 40 ms of every start (a few percent of a two-million-value run, most of a short one);
 * Vectorscan can serialise a compiled database and load it back in well under a millisecond.
 * Like the compiled-pattern caches of other IDS engines, the file is only a cache: its name
 * is a hash of everything that decides the database (patterns, flags, ids, the library
 * version, the CPU features it was compiled for), its content is checked, and anything
 * unexpected means "compile again". */
#include <errno.h>
#include <fcntl.h>
#include <hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "sqli_int.h"

#define MAX_DB_FILE (64u << 20)

struct db_file_head {
    char magic[8]; /* "KSSQLDB1" */
    uint64_t key;
    uint64_t len; /* bytes of the serialised database that follow */
    uint64_t sum; /* ks_hash_bytes of those bytes, seeded with key */
};

static const char db_magic[8] = {'K', 'S', 'S', 'Q', 'L', 'D', 'B', '1'};

uint64_t sqli_db_key(const char *const *pats, const unsigned *flags, const unsigned *ids,
                     unsigned n)
{
    const char *ver = hs_version();
    uint64_t h = ks_hash_bytes(ver, strlen(ver), 0x6b73716c69646201ull);
    hs_platform_info_t plat;
    memset(&plat, 0, sizeof plat);
    if (hs_populate_platform(&plat) == HS_SUCCESS)
        h = ks_hash_bytes(&plat, sizeof plat, h);
    for (unsigned i = 0; i < n; i++) {
        h = ks_hash_bytes(pats[i], strlen(pats[i]) + 1, h);
        uint32_t fi[2] = {flags[i], ids[i]};
        h = ks_hash_bytes(fi, sizeof fi, h);
    }
    return ks_hash_bytes(&n, sizeof n, h);
}

static void db_path(char *out, size_t cap, const char *dir, uint64_t key)
{
    snprintf(out, cap, "%s/sqli-%016llx.hsdb", dir, (unsigned long long)key);
}

bool sqli_db_load(const char *dir, uint64_t key, hs_database_t **db)
{
    char path[4096];
    db_path(path, sizeof path, dir, key);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = false;
    char *bytes = NULL;
    struct db_file_head h;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < sizeof h ||
        (uint64_t)st.st_size > MAX_DB_FILE + sizeof h ||
        ks_read_full(fd, &h, sizeof h) != (long long)sizeof h)
        goto out;
    if (memcmp(h.magic, db_magic, sizeof db_magic) != 0 || h.key != key ||
        h.len != (uint64_t)st.st_size - sizeof h || !(bytes = malloc(h.len ? h.len : 1)) ||
        ks_read_full(fd, bytes, h.len) != (long long)h.len ||
        ks_hash_bytes(bytes, h.len, key) != h.sum)
        goto out;
    ok = hs_deserialize_database(bytes, h.len, db) == HS_SUCCESS;
out:
    free(bytes);
    close(fd);
    return ok;
}

bool sqli_db_store(const char *dir, uint64_t key, const hs_database_t *db)
{
    char *bytes = NULL;
    size_t len = 0;
    if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS)
        return false;
    bool ok = false;
    char path[4096], tmp[4096];
    db_path(path, sizeof path, dir, key);
    int n = snprintf(tmp, sizeof tmp, "%s/.sqli-XXXXXX", dir);
    int fd = -1;
    if (len > MAX_DB_FILE || n < 0 || (size_t)n >= sizeof tmp || ks_mkdirs(dir, 0700) != 0 ||
        (fd = mkstemp(tmp)) < 0)
        goto out;
    struct db_file_head h = {.key = key, .len = len, .sum = ks_hash_bytes(bytes, len, key)};
    memcpy(h.magic, db_magic, sizeof db_magic);
    /* written under a temporary name and renamed: readers see a whole file or none */
    ok = ks_write_all(fd, &h, sizeof h) == KS_OK && ks_write_all(fd, bytes, len) == KS_OK &&
         close(fd) == 0;
    fd = -1;
    ok = ok && rename(tmp, path) == 0;
    if (!ok)
        unlink(tmp);
out:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    free(bytes);
    return ok;
}
