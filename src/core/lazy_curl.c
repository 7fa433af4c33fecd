/* The table of lazy_curl.h. */
#define KS_LAZY_CURL_TABLE
#include "core/lazy_curl.h"
#include "core/lazy.h"
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
static CURLUcode no_url_get(const CURLU *u, CURLUPart what, char **part, unsigned flags)
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
    .global_init = no_global_init,
    .easy_init = no_easy_init,
    .easy_setopt = no_easy_setopt,
    .easy_getinfo = no_easy_getinfo,
    .easy_perform = no_easy_perform,
    .easy_cleanup = no_easy_cleanup,
    .easy_strerror = no_easy_strerror,
    .easy_escape = no_easy_escape,
    .free = no_free,
    .slist_append = no_slist_append,
    .slist_free_all = no_slist_free_all,
    .url = no_url,
    .url_set = no_url_set,
    .url_get = no_url_get,
    .url_cleanup = no_url_cleanup,
    .multi_init = no_multi_init,
    .multi_setopt = no_multi_setopt,
    .multi_add_handle = no_multi_handle,
    .multi_remove_handle = no_multi_handle,
    .multi_perform = no_multi_perform,
    .multi_poll = no_multi_poll,
    .multi_info_read = no_multi_info_read,
    .multi_cleanup = no_multi_cleanup,
};

/* The members of struct ks_curl_api; libcurl's name of each is "curl_" and the member's. One
 * list makes both the names looked up and their assignment, so that they cannot disagree. */
#define CURL_FUNCS(X)                                                                              \
    X(global_init)                                                                                 \
    X(easy_init)                                                                                   \
    X(easy_setopt)                                                                                 \
    X(easy_getinfo)                                                                                \
    X(easy_perform)                                                                                \
    X(easy_cleanup)                                                                                \
    X(easy_strerror)                                                                               \
    X(easy_escape)                                                                                 \
    X(free)                                                                                        \
    X(slist_append)                                                                                \
    X(slist_free_all)                                                                              \
    X(url)                                                                                         \
    X(url_set)                                                                                     \
    X(url_get)                                                                                     \
    X(url_cleanup)                                                                                 \
    X(multi_init)                                                                                  \
    X(multi_setopt)                                                                                \
    X(multi_add_handle)                                                                            \
    X(multi_remove_handle)                                                                         \
    X(multi_perform)                                                                               \
    X(multi_poll)                                                                                  \
    X(multi_info_read)                                                                             \
    X(multi_cleanup)

#define NAME(member) "curl_" #member,
static const char *const names[] = {CURL_FUNCS(NAME)};
#undef NAME
#define NFNS (sizeof names / sizeof names[0])
_Static_assert(NFNS * sizeof(void (*)(void)) == sizeof(struct ks_curl_api),
               "every member of the table in CURL_FUNCS");

static void (*fns[NFNS])(void);
static struct ks_curl_api real;

/* Each resolved address back to its own type (fns holds them in the order of CURL_FUNCS). */
static void fill(void)
{
    size_t i = 0;
#define TAKE(member) real.member = (__typeof__(real.member))fns[i++];
    CURL_FUNCS(TAKE)
#undef TAKE
}

static struct ks_lazy lib = {KS_SONAME_CURL, names, fns, NFNS, fill, 0, ""};

const struct ks_curl_api *ks_curl(void)
{
    return ks_lazy_load(&lib) ? &stand_ins : &real;
}

const char *ks_curl_error(void)
{
    return ks_lazy_load(&lib);
}
