/* Fuzz target: the DDoS thresholds file parser. */
#include "ddos/ddos_int.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ks_ddos_config cfg;
    ks_ddos_config_default(&cfg);
    struct ks_ddos_rules *rules = NULL;
    (void)ddos_config_parse(data, size, "fuzz", &cfg, &rules, NULL);
    if (rules) {
        struct ks_addr a = {.family = 4, .b = {10, 0, 0, 1}};
        uint32_t v;
        (void)ks_prefix_set_lookup(rules->set, &a, &v, NULL);
    }
    ks_ddos_rules_free(rules);
    return 0;
}
