/* libarchive, opened at its first use (see lazy.h) (internal): the mail module lists the members
 * of attached archives and the crawler looks into downloaded ones, but most commands do
 * neither. A module includes this instead of <archive.h> and calls archive_* as usual; while
 * libarchive cannot be opened archive_read_new() returns NULL (as when out of memory, which its
 * callers handle) and ks_archive_error() says why. The other functions are reached only through
 * the handle it returns. */
#ifndef KS_CORE_LAZY_ARCHIVE_H
#define KS_CORE_LAZY_ARCHIVE_H

#include "core/lazy.h"

#include <archive.h>
#include <archive_entry.h>

#define KS_ARCHIVE_FUNCS(X)                                                                        \
    X(archive_read_new)                                                                            \
    X(archive_read_support_format_all)                                                             \
    X(archive_read_support_filter_all)                                                             \
    X(archive_read_open_memory)                                                                    \
    X(archive_read_next_header)                                                                    \
    X(archive_read_data)                                                                           \
    X(archive_read_free)                                                                           \
    X(archive_entry_filetype)                                                                      \
    X(archive_entry_pathname)                                                                      \
    X(archive_entry_pathname_utf8)                                                                 \
    X(archive_entry_is_encrypted)

struct ks_archive_api {
    KS_ARCHIVE_FUNCS(KS_LAZY_MEMBER)
};

/* libarchive's functions, opened at the first call. Never NULL. */
const struct ks_archive_api *ks_archive(void);
/* NULL when libarchive is open, else why it could not be. */
const char *ks_archive_error(void);

#ifndef KS_LAZY_ARCHIVE_TABLE
#define archive_read_new (ks_archive()->archive_read_new)
#define archive_read_support_format_all (ks_archive()->archive_read_support_format_all)
#define archive_read_support_filter_all (ks_archive()->archive_read_support_filter_all)
#define archive_read_open_memory (ks_archive()->archive_read_open_memory)
#define archive_read_next_header (ks_archive()->archive_read_next_header)
#define archive_read_data (ks_archive()->archive_read_data)
#define archive_read_free (ks_archive()->archive_read_free)
#define archive_entry_filetype (ks_archive()->archive_entry_filetype)
#define archive_entry_pathname (ks_archive()->archive_entry_pathname)
#define archive_entry_pathname_utf8 (ks_archive()->archive_entry_pathname_utf8)
#define archive_entry_is_encrypted (ks_archive()->archive_entry_is_encrypted)
#endif

#endif
