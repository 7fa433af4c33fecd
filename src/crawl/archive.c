/* crawl: executables inside archives (libarchive), by content. */
#include "core/lazy_archive.h"
#include "crawl_int.h"

#include <string.h>

#include "kansoku/ks_samples.h"

#define MAX_MEMBERS 256
#define MEMBER_PEEK 4096

bool crawl_is_archive(const void *buf, size_t len)
{
    const uint8_t *b = buf;
    if (len < 6)
        return false;
    if (memcmp(b, "PK\3\4", 4) == 0 || memcmp(b, "Rar!", 4) == 0 ||
        memcmp(b, "7z\xbc\xaf\x27\x1c", 6) == 0 || memcmp(b, "MSCF", 4) == 0 ||
        (b[0] == 0x1f && b[1] == 0x8b) || memcmp(b, "BZh", 3) == 0 ||
        memcmp(b,
               "\xfd"
               "7zXZ",
               5) == 0)
        return true;
    return len >= 262 && memcmp(b + 257, "ustar", 5) == 0; /* POSIX tar */
}

bool crawl_archive_has_executable(const void *buf, size_t len)
{
    struct archive *a = archive_read_new();
    bool found = false;
    if (!a)
        return false;
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK)
        goto out;
    uint8_t peek[MEMBER_PEEK];
    struct archive_entry *e;
    for (int i = 0; i < MAX_MEMBERS && !found; i++) {
        int rc = archive_read_next_header(a, &e);
        if (rc == ARCHIVE_EOF || rc == ARCHIVE_FATAL)
            break;
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
            continue;
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        la_ssize_t got = archive_read_data(a, peek, sizeof peek);
        size_t off = 0;
        if (got > 0 && ks_samples_find_executable(peek, (size_t)got, &off) && off == 0)
            found = true;
    }
out:
    archive_read_free(a);
    return found;
}
