/* Fuzz target: web server log lines in each format (the first byte picks it), then the
 * decomposition of each parsed request into parameters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *user, const struct ks_http_param *p)
{
    if (p->value.len > 65536 || (p->value.len && !p->value.p))
        abort();
    (*(size_t *)user)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const fmts[] = {"combined", "common", "json",
                                       "%a %{Host}i [%t] \"%m %U%q %H\" %s %B \"%{Cookie}i\""};
    if (!size)
        return 0;
    struct ks_http_log_config cfg;
    ks_http_log_config_default(&cfg);
    ks_http_log_config_format(&cfg, fmts[data[0] % 4]);
    struct ks_http_log *l = NULL;
    struct ks_http_params *d = NULL;
    if (ks_http_log_new(&cfg, &l) || ks_http_params_new(4096, 64, &d))
        abort();
    size_t i = 1, n = 0;
    while (i < size) {
        const uint8_t *e = memchr(data + i, '\n', size - i);
        size_t end = e ? (size_t)(e - data) : size;
        struct ks_http_request r;
        if (ks_http_log_parse(l, data + i, end - i, NULL, &r) == KS_OK) {
            if (r.body.len == 0 && r.path.len > 0)
                r.body = r.path; /* exercise the body parsers too */
            ks_http_params_each(d, &r, count, &n);
        }
        i = end + 1;
    }
    ks_http_params_free(d);
    ks_http_log_free(l);
    return 0;
}
