/* Fuzz target: request decomposition (ks_http_params). The input is split at the first four 0xFF
 * bytes into content type, body, query, cookie and path; every parameter is walked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(void *user, const struct ks_http_param *p)
{
    (void)user;
    if (p->value.len > 1024 || p->name.len > 256)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ks_http_str part[5] = {{0}};
    size_t i = 0;
    for (int k = 0; k < 5; k++) {
        const uint8_t *e = k < 4 && i < size ? memchr(data + i, 0xFF, size - i) : NULL;
        size_t end = e ? (size_t)(e - data) : size;
        if (i <= size)
            part[k] = (struct ks_http_str){data + i, end - i};
        i = end + 1;
        if (i > size)
            i = size;
    }
    struct ks_http_request r = {.bytes = -1};
    r.content_type = part[0];
    r.body = part[1];
    r.query = part[2];
    r.cookie = part[3];
    r.path = part[4];
    r.user_agent = part[2];
    struct ks_http_params *d = NULL;
    if (ks_http_params_new(1024, 64, &d))
        abort();
    ks_http_params_each(d, &r, check, NULL);
    ks_http_params_free(d);
    return 0;
}
