/* libcurl, opened at its first use (see lazy.h) (internal). A module includes this instead of
 * <curl/curl.h> and calls curl_* as usual: the names are the table's. Until libcurl could be
 * opened the calls fail (NULL handles, CURLE_FAILED_INIT) and ks_curl_error() says why. */
#ifndef KS_CORE_LAZY_CURL_H
#define KS_CORE_LAZY_CURL_H

#include "core/lazy.h"

#define CURL_DISABLE_TYPECHECK 1 /* its checks are macros named like the functions */
#include <curl/curl.h>

#define KS_CURL_FUNCS(X)                                                                           \
    X(curl_global_init)                                                                            \
    X(curl_easy_init)                                                                              \
    X(curl_easy_setopt)                                                                            \
    X(curl_easy_getinfo)                                                                           \
    X(curl_easy_perform)                                                                           \
    X(curl_easy_cleanup)                                                                           \
    X(curl_easy_strerror)                                                                          \
    X(curl_easy_escape)                                                                            \
    X(curl_free)                                                                                   \
    X(curl_slist_append)                                                                           \
    X(curl_slist_free_all)                                                                         \
    X(curl_url)                                                                                    \
    X(curl_url_set)                                                                                \
    X(curl_url_get)                                                                                \
    X(curl_url_cleanup)                                                                            \
    X(curl_multi_init)                                                                             \
    X(curl_multi_setopt)                                                                           \
    X(curl_multi_add_handle)                                                                       \
    X(curl_multi_remove_handle)                                                                    \
    X(curl_multi_perform)                                                                          \
    X(curl_multi_poll)                                                                             \
    X(curl_multi_info_read)                                                                        \
    X(curl_multi_cleanup)

struct ks_curl_api {
    KS_CURL_FUNCS(KS_LAZY_MEMBER)
};

/* libcurl's functions (opened at the first call), or the stand-ins. Never NULL. */
const struct ks_curl_api *ks_curl(void);
/* NULL when libcurl is open, else why it could not be. */
const char *ks_curl_error(void);

#ifndef KS_LAZY_CURL_TABLE
/* curl.h's own macros of these three (without its type checks: the calls themselves) */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_global_init (ks_curl()->curl_global_init)
#define curl_easy_init (ks_curl()->curl_easy_init)
#define curl_easy_setopt (ks_curl()->curl_easy_setopt)
#define curl_easy_getinfo (ks_curl()->curl_easy_getinfo)
#define curl_easy_perform (ks_curl()->curl_easy_perform)
#define curl_easy_cleanup (ks_curl()->curl_easy_cleanup)
#define curl_easy_strerror (ks_curl()->curl_easy_strerror)
#define curl_easy_escape (ks_curl()->curl_easy_escape)
#define curl_free (ks_curl()->curl_free)
#define curl_slist_append (ks_curl()->curl_slist_append)
#define curl_slist_free_all (ks_curl()->curl_slist_free_all)
#define curl_url (ks_curl()->curl_url)
#define curl_url_set (ks_curl()->curl_url_set)
#define curl_url_get (ks_curl()->curl_url_get)
#define curl_url_cleanup (ks_curl()->curl_url_cleanup)
#define curl_multi_init (ks_curl()->curl_multi_init)
#define curl_multi_setopt (ks_curl()->curl_multi_setopt)
#define curl_multi_add_handle (ks_curl()->curl_multi_add_handle)
#define curl_multi_remove_handle (ks_curl()->curl_multi_remove_handle)
#define curl_multi_perform (ks_curl()->curl_multi_perform)
#define curl_multi_poll (ks_curl()->curl_multi_poll)
#define curl_multi_info_read (ks_curl()->curl_multi_info_read)
#define curl_multi_cleanup (ks_curl()->curl_multi_cleanup)
#endif

#endif
