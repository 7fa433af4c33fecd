/* crawl: what the crawler's files share. Internal to src/crawl. */
#ifndef KS_CRAWL_INT_H
#define KS_CRAWL_INT_H

#include "kansoku/ks_crawl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether the response body looks like an archive (zip, rar, 7z, cab, gzip, bzip2, xz, tar)
 * that holds an executable (PE, ELF or "#!" script at the start of a member): at most 256
 * members and 4 KiB of each are read. */
bool crawl_archive_has_executable(const void *buf, size_t len);
bool crawl_is_archive(const void *buf, size_t len);

#endif
