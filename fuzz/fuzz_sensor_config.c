/* Fuzz target: the sensor's configuration file parser (src/sensor/config.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_sensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ks_sensor_config cfg;
    int rc = ks_sensor_config_parse((const char *)data, size, "fuzz", NULL, &cfg);
    if (rc == KS_OK &&
        (!cfg.db[0] || !cfg.spool_dir[0] || memchr(cfg.name, '\0', sizeof cfg.name) == NULL))
        abort(); /* a valid configuration always has these */
    return 0;
}
