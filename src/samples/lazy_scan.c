/* The tables of lazy_scan.h. */
#define KS_LAZY_SCAN_TABLE
#include "lazy_scan.h"
#include "ks_config.h"

static const char *const cl_names[] = {KS_CLAMAV_FUNCS(KS_LAZY_NAME)};
#define CL_N (sizeof cl_names / sizeof cl_names[0])
static void (*cl_fns[CL_N])(void);
static struct ks_clamav_api cl_real;

static void cl_fill(void)
{
    KS_LAZY_TAKE(KS_CLAMAV_FUNCS, &cl_real, cl_fns);
}

static cl_error_t no_cl_init(unsigned int options)
{
    (void)options;
    return CL_EOPEN;
}

static const char *no_cl_strerror(cl_error_t e)
{
    (void)e;
    return "libclamav could not be opened";
}

/* While libclamav cannot be opened: cl_init fails, so nothing else is called. */
static const struct ks_clamav_api cl_stand_ins = {.cl_init = no_cl_init,
                                                  .cl_strerror = no_cl_strerror};

static struct ks_lazy cl_lib = {KS_SONAME_CLAMAV, cl_names, cl_fns, CL_N, cl_fill, 0, ""};

const struct ks_clamav_api *ks_clamav(void)
{
    return ks_lazy_load(&cl_lib) ? &cl_stand_ins : &cl_real;
}

const char *ks_clamav_error(void)
{
    return ks_lazy_load(&cl_lib);
}

static const char *const yr_names[] = {KS_YARA_FUNCS(KS_LAZY_NAME)};
#define YR_N (sizeof yr_names / sizeof yr_names[0])
static void (*yr_fns[YR_N])(void);
static struct ks_yara_api yr_real;

static void yr_fill(void)
{
    KS_LAZY_TAKE(KS_YARA_FUNCS, &yr_real, yr_fns);
}

static int no_yr_initialize(void)
{
    return ERROR_COULD_NOT_OPEN_FILE;
}

/* While libyara cannot be opened: yr_initialize fails, so nothing else is called. */
static const struct ks_yara_api yr_stand_ins = {.yr_initialize = no_yr_initialize};

static struct ks_lazy yr_lib = {KS_SONAME_YARA, yr_names, yr_fns, YR_N, yr_fill, 0, ""};

const struct ks_yara_api *ks_yara(void)
{
    return ks_lazy_load(&yr_lib) ? &yr_stand_ins : &yr_real;
}

const char *ks_yara_error(void)
{
    return ks_lazy_load(&yr_lib);
}
