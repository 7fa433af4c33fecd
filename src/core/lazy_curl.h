/* libcurl, opened at its first use (see lazy.h) (internal). A module includes this instead of
 * <curl/curl.h> and calls curl_* as usual: the names are the table's. Until libcurl could be
 * opened the calls fail (NULL handles, CURLE_FAILED_INIT) and ks_curl_error() says why. */
#ifndef KS_CORE_LAZY_CURL_H
#define KS_CORE_LAZY_CURL_H

#define CURL_DISABLE_TYPECHECK 1 /* its checks are macros named like the functions */
#include <curl/curl.h>

struct ks_curl_api {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *c, CURLoption o, ...);
    CURLcode (*easy_getinfo)(CURL *c, CURLINFO i, ...);
    CURLcode (*easy_perform)(CURL *c);
    void (*easy_cleanup)(CURL *c);
    const char *(*easy_strerror)(CURLcode e);
    char *(*easy_escape)(CURL *c, const char *s, int len);
    void (*free)(void *p);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
    CURLU *(*url)(void);
    CURLUcode (*url_set)(CURLU *u, CURLUPart what, const char *part, unsigned flags);
    CURLUcode (*url_get)(const CURLU *u, CURLUPart what, char **part, unsigned flags);
    void (*url_cleanup)(CURLU *u);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_setopt)(CURLM *m, CURLMoption o, ...);
    CURLMcode (*multi_add_handle)(CURLM *m, CURL *c);
    CURLMcode (*multi_remove_handle)(CURLM *m, CURL *c);
    CURLMcode (*multi_perform)(CURLM *m, int *running);
    CURLMcode (*multi_poll)(CURLM *m, struct curl_waitfd fds[], unsigned n, int timeout_ms,
                            int *numfds);
    CURLMsg *(*multi_info_read)(CURLM *m, int *left);
    CURLMcode (*multi_cleanup)(CURLM *m);
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
#define curl_global_init (ks_curl()->global_init)
#define curl_easy_init (ks_curl()->easy_init)
#define curl_easy_setopt (ks_curl()->easy_setopt)
#define curl_easy_getinfo (ks_curl()->easy_getinfo)
#define curl_easy_perform (ks_curl()->easy_perform)
#define curl_easy_cleanup (ks_curl()->easy_cleanup)
#define curl_easy_strerror (ks_curl()->easy_strerror)
#define curl_easy_escape (ks_curl()->easy_escape)
#define curl_free (ks_curl()->free)
#define curl_slist_append (ks_curl()->slist_append)
#define curl_slist_free_all (ks_curl()->slist_free_all)
#define curl_url (ks_curl()->url)
#define curl_url_set (ks_curl()->url_set)
#define curl_url_get (ks_curl()->url_get)
#define curl_url_cleanup (ks_curl()->url_cleanup)
#define curl_multi_init (ks_curl()->multi_init)
#define curl_multi_setopt (ks_curl()->multi_setopt)
#define curl_multi_add_handle (ks_curl()->multi_add_handle)
#define curl_multi_remove_handle (ks_curl()->multi_remove_handle)
#define curl_multi_perform (ks_curl()->multi_perform)
#define curl_multi_poll (ks_curl()->multi_poll)
#define curl_multi_info_read (ks_curl()->multi_info_read)
#define curl_multi_cleanup (ks_curl()->multi_cleanup)
#endif

#endif
