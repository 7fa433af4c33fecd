/* libclamav and libyara, opened at their first use (see core/lazy.h) (internal): only the sample
 * registry's classification uses them, and with their dependencies they were mapped and bound
 * at the start of every command. classify.c includes this instead of <clamav.h> and <yara.h>
 * and calls cl_* and yr_* as usual. While a library cannot be opened its first call fails
 * (cl_init: CL_EOPEN; yr_initialize: ERROR_COULD_NOT_OPEN_FILE) and ks_clamav_error() /
 * ks_yara_error() say why; the other functions are reached only after that first call
 * succeeded. */
#ifndef KS_SAMPLES_LAZY_SCAN_H
#define KS_SAMPLES_LAZY_SCAN_H

#include "core/lazy.h"

#include <clamav.h>
#include <yara.h>

#define KS_CLAMAV_FUNCS(X)                                                                         \
    X(cl_init)                                                                                     \
    X(cl_strerror)                                                                                 \
    X(cl_engine_new)                                                                               \
    X(cl_load)                                                                                     \
    X(cl_engine_compile)                                                                           \
    X(cl_engine_free)                                                                              \
    X(cl_scandesc)                                                                                 \
    X(cl_fmap_open_memory)                                                                         \
    X(cl_scanmap_callback)                                                                         \
    X(cl_fmap_close)

#define KS_YARA_FUNCS(X)                                                                           \
    X(yr_initialize)                                                                               \
    X(yr_finalize)                                                                                 \
    X(yr_compiler_create)                                                                          \
    X(yr_compiler_set_callback)                                                                    \
    X(yr_compiler_add_file)                                                                        \
    X(yr_compiler_get_rules)                                                                       \
    X(yr_compiler_destroy)                                                                         \
    X(yr_rules_destroy)                                                                            \
    X(yr_rules_scan_fd)                                                                            \
    X(yr_rules_scan_mem)

struct ks_clamav_api {
    KS_CLAMAV_FUNCS(KS_LAZY_MEMBER)
};
struct ks_yara_api {
    KS_YARA_FUNCS(KS_LAZY_MEMBER)
};

/* The libraries' functions, opened at the first call. Never NULL. */
const struct ks_clamav_api *ks_clamav(void);
const struct ks_yara_api *ks_yara(void);
/* NULL when the library is open, else why it could not be. */
const char *ks_clamav_error(void);
const char *ks_yara_error(void);

#ifndef KS_LAZY_SCAN_TABLE
#define cl_init (ks_clamav()->cl_init)
#define cl_strerror (ks_clamav()->cl_strerror)
#define cl_engine_new (ks_clamav()->cl_engine_new)
#define cl_load (ks_clamav()->cl_load)
#define cl_engine_compile (ks_clamav()->cl_engine_compile)
#define cl_engine_free (ks_clamav()->cl_engine_free)
#define cl_scandesc (ks_clamav()->cl_scandesc)
#define cl_fmap_open_memory (ks_clamav()->cl_fmap_open_memory)
#define cl_scanmap_callback (ks_clamav()->cl_scanmap_callback)
#define cl_fmap_close (ks_clamav()->cl_fmap_close)
#define yr_initialize (ks_yara()->yr_initialize)
#define yr_finalize (ks_yara()->yr_finalize)
#define yr_compiler_create (ks_yara()->yr_compiler_create)
#define yr_compiler_set_callback (ks_yara()->yr_compiler_set_callback)
#define yr_compiler_add_file (ks_yara()->yr_compiler_add_file)
#define yr_compiler_get_rules (ks_yara()->yr_compiler_get_rules)
#define yr_compiler_destroy (ks_yara()->yr_compiler_destroy)
#define yr_rules_destroy (ks_yara()->yr_rules_destroy)
#define yr_rules_scan_fd (ks_yara()->yr_rules_scan_fd)
#define yr_rules_scan_mem (ks_yara()->yr_rules_scan_mem)
#endif

#endif
