/* The table of lazy_archive.h. */
#define KS_LAZY_ARCHIVE_TABLE
#include "core/lazy_archive.h"
#include "ks_config.h"

static const char *const names[] = {KS_ARCHIVE_FUNCS(KS_LAZY_NAME)};
#define NFNS (sizeof names / sizeof names[0])
static void (*fns[NFNS])(void);
static struct ks_archive_api real;

static void fill(void)
{
    KS_LAZY_TAKE(KS_ARCHIVE_FUNCS, &real, fns);
}

static struct archive *no_read_new(void)
{
    return NULL; /* what it returns out of memory */
}

/* While libarchive cannot be opened: no handle, so nothing else is called. */
static const struct ks_archive_api stand_ins = {.archive_read_new = no_read_new};

static struct ks_lazy lib = {KS_SONAME_ARCHIVE, names, fns, NFNS, fill, 0, ""};

const struct ks_archive_api *ks_archive(void)
{
    return ks_lazy_load(&lib) ? &stand_ins : &real;
}

const char *ks_archive_error(void)
{
    return ks_lazy_load(&lib);
}
