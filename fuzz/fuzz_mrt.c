/* Fuzz target: the MRT reader (bgpdump text and elements) on arbitrary bytes, then the
 * watcher on the elements it decoded. */
#include <stddef.h>
#include <stdint.h>

#include "kansoku/ks_bgp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ks_mrt_config cfg;
    ks_mrt_config_default(&cfg);
    cfg.text = true;
    cfg.max_record = 1u << 20;
    struct ks_mrt *m = NULL;
    struct ks_bgp_watch *w = NULL;
    struct ks_bgp_watch_config wc;
    ks_bgp_watch_config_default(&wc);
    wc.max_routes = 64;
    wc.max_alerts = 16;
    wc.max_prefixes = 32;
    if (ks_mrt_open_mem(data, size, "fuzz", &cfg, NULL, &m) != KS_OK)
        return 0;
    if (ks_bgp_watch_new(&wc, NULL, NULL, NULL, &w) != KS_OK) {
        ks_mrt_free(m);
        return 0;
    }
    volatile size_t sink = 0;
    for (int i = 0; i < 100000 && ks_mrt_next(m) == 1; i++) {
        const char *t;
        size_t n;
        ks_mrt_text(m, &t, &n);
        for (size_t k = 0; k < n; k++)
            sink += (unsigned char)t[k];
        const struct ks_mrt_record *r = ks_mrt_record(m);
        for (size_t k = 0; k < r->n_elems; k++) {
            for (uint32_t j = 0; j < r->elems[k].as_path_len; j++)
                sink += (unsigned char)r->elems[k].as_path[j];
            ks_bgp_watch_feed(w, &r->elems[k]);
        }
    }
    ks_bgp_watch_finish(w);
    (void)sink;
    ks_bgp_watch_free(w);
    ks_mrt_free(m);
    return 0;
}
