/* Fuzz target: URL extraction from text and HTML (deobfuscation, normalisation, redirector
 * unwrapping, Gumbo). The first byte chooses text or HTML. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kansoku/ks_mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(void *user, const struct ks_mail_url *u)
{
    (void)user;
    char again[4096];
    unsigned f;
    /* a normalised URL is a fixed point of the normaliser */
    size_t n = ks_mail_url_normalize(u->url, strlen(u->url), again, sizeof again, &f);
    if (n == 0 || strcmp(again, u->url) != 0)
        __builtin_trap();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    bool html = data[0] & 1;
    ks_mail_urls_extract((const char *)data + 1, size - 1, html, NULL, 256, check, NULL);
    char out[512];
    unsigned f;
    ks_mail_url_normalize((const char *)data, size, out, sizeof out, &f);
    return 0;
}
