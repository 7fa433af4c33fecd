/* The tables of lazy_scan.h. */
#define KS_LAZY_SCAN_TABLE
#include "lazy_scan.h"
#include "ks_config.h"

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

KS_LAZY_DEFINE(ks_clamav_api, KS_CLAMAV_FUNCS, KS_SONAME_CLAMAV, cl_stand_ins, ks_clamav,
               ks_clamav_error)

static int no_yr_initialize(void)
{
    return ERROR_COULD_NOT_OPEN_FILE;
}

/* While libyara cannot be opened: yr_initialize fails, so nothing else is called. */
static const struct ks_yara_api yr_stand_ins = {.yr_initialize = no_yr_initialize};

KS_LAZY_DEFINE(ks_yara_api, KS_YARA_FUNCS, KS_SONAME_YARA, yr_stand_ins, ks_yara, ks_yara_error)
