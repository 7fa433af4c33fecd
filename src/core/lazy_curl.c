/* The table of lazy_curl.h. */
#define KS_LAZY_CURL_TABLE
#include "core/lazy_curl.h"
#include "ks_config.h"

#include <stdarg.h>

/* Stand-ins while libcurl cannot be opened: what libcurl answers when it cannot allocate. */
static CURLcode no_global_init(long flags)
{
    (void)flags;
    return CURLE_FAILED_INIT;
}
static CURL *no_easy_init(void)
{
    return NULL;
}
static CURLcode no_easy_setopt(CURL *c, CURLoption o, ...)
{
    (void)c, (void)o;
    return CURLE_FAILED_INIT;
}
static CURLcode no_easy_getinfo(CURL *c, CURLINFO i, ...)
{
    (void)c, (void)i;
    return CURLE_FAILED_INIT;
}
static CURLcode no_easy_perform(CURL *c)
{
    (void)c;
    return CURLE_FAILED_INIT;
}
static void no_easy_cleanup(CURL *c)
{
    (void)c;
}
static const char *no_easy_strerror(CURLcode e)
{
    (void)e;
    return "libcurl could not be opened";
}
static char *no_easy_escape(CURL *c, const char *s, int len)
{
    (void)c, (void)s, (void)len;
    return NULL;
}
static void no_free(void *p)
{
    (void)p; /* nothing it could have allocated */
}
static struct curl_slist *no_slist_append(struct curl_slist *l, const char *s)
{
    (void)l, (void)s;
    return NULL;
}
static void no_slist_free_all(struct curl_slist *l)
{
    (void)l;
}
static CURLU *no_url(void)
{
    return NULL;
}
static CURLUcode no_url_set(CURLU *u, CURLUPart what, const char *part, unsigned flags)
{
    (void)u, (void)what, (void)part, (void)flags;
    return CURLUE_OUT_OF_MEMORY;
}
static CURLUcode no_url_get(CURLU *u, CURLUPart what, char **part, unsigned flags)
{
    (void)u, (void)what, (void)flags;
    if (part)
        *part = NULL;
    return CURLUE_OUT_OF_MEMORY;
}
static void no_url_cleanup(CURLU *u)
{
    (void)u;
}
static CURLM *no_multi_init(void)
{
    return NULL;
}
static CURLMcode no_multi_setopt(CURLM *m, CURLMoption o, ...)
{
    (void)m, (void)o;
    return CURLM_OUT_OF_MEMORY;
}
static CURLMcode no_multi_handle(CURLM *m, CURL *c)
{
    (void)m, (void)c;
    return CURLM_OUT_OF_MEMORY;
}
static CURLMcode no_multi_perform(CURLM *m, int *running)
{
    (void)m;
    if (running)
        *running = 0;
    return CURLM_OUT_OF_MEMORY;
}
static CURLMcode no_multi_poll(CURLM *m, struct curl_waitfd fds[], unsigned n, int timeout_ms,
                               int *numfds)
{
    (void)m, (void)fds, (void)n, (void)timeout_ms;
    if (numfds)
        *numfds = 0;
    return CURLM_OUT_OF_MEMORY;
}
static CURLMsg *no_multi_info_read(CURLM *m, int *left)
{
    (void)m;
    if (left)
        *left = 0;
    return NULL;
}
static CURLMcode no_multi_cleanup(CURLM *m)
{
    (void)m;
    return CURLM_OK;
}

static const struct ks_curl_api stand_ins = {
    .curl_global_init = no_global_init,
    .curl_easy_init = no_easy_init,
    .curl_easy_setopt = no_easy_setopt,
    .curl_easy_getinfo = no_easy_getinfo,
    .curl_easy_perform = no_easy_perform,
    .curl_easy_cleanup = no_easy_cleanup,
    .curl_easy_strerror = no_easy_strerror,
    .curl_easy_escape = no_easy_escape,
    .curl_free = no_free,
    .curl_slist_append = no_slist_append,
    .curl_slist_free_all = no_slist_free_all,
    .curl_url = no_url,
    .curl_url_set = no_url_set,
    .curl_url_get = no_url_get,
    .curl_url_cleanup = no_url_cleanup,
    .curl_multi_init = no_multi_init,
    .curl_multi_setopt = no_multi_setopt,
    .curl_multi_add_handle = no_multi_handle,
    .curl_multi_remove_handle = no_multi_handle,
    .curl_multi_perform = no_multi_perform,
    .curl_multi_poll = no_multi_poll,
    .curl_multi_info_read = no_multi_info_read,
    .curl_multi_cleanup = no_multi_cleanup,
};

KS_LAZY_DEFINE(ks_curl_api, KS_CURL_FUNCS, KS_SONAME_CURL, stand_ins, ks_curl, ks_curl_error)
