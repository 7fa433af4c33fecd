/* Fuzz target: the crawler's link extractor (HTML and script scanning, character references,
 * string escapes) and URL resolution of what it finds. The first byte chooses HTML or a
 * script. Checks: every reference is within bounds, not empty, at most KS_CRAWL_MAX_REF
 * bytes, and a resolved URL is http(s). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kansoku/ks_crawl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(void *user, enum ks_crawl_link kind, const char *ref, size_t len)
{
    unsigned *n = user;
    char url[4096];
    if (len == 0 || len > KS_CRAWL_MAX_REF || ref[len] != '\0' ||
        (unsigned)kind >= KS_CRAWL_LINK_COUNT)
        __builtin_trap();
    /* resolution is slow (libcurl's parser): only the first few */
    if ((*n)++ < 8 &&
        ks_crawl_url_resolve("http://example.com/a/b.html", ref, len, url, sizeof url) == 0 &&
        strncmp(url, "http", 4) != 0)
        __builtin_trap();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned n = 0;
    struct ks_crawl_links_stats st;
    unsigned type = data[0] & 1 ? KS_CRAWL_DOC_JS : KS_CRAWL_DOC_HTML;
    ks_crawl_links(data + 1, size - 1, type, check, &n, &st);
    if (st.links < n && n <= 8)
        __builtin_trap();
    return 0;
}
