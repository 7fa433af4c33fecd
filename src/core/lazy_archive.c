/* The table of lazy_archive.h. */
#define KS_LAZY_ARCHIVE_TABLE
#include "core/lazy_archive.h"
#include "ks_config.h"

static struct archive *no_read_new(void)
{
    return NULL; /* what it returns out of memory */
}

/* While libarchive cannot be opened: no handle, so nothing else is called. */
static const struct ks_archive_api stand_ins = {.archive_read_new = no_read_new};

KS_LAZY_DEFINE(ks_archive_api, KS_ARCHIVE_FUNCS, KS_SONAME_ARCHIVE, stand_ins, ks_archive,
               ks_archive_error)
