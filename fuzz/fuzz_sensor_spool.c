/* Fuzz target: the sensor's batch files (src/sensor/spool.c), as the replay reads them. */
#include <stdint.h>
#include <stdlib.h>

#include "sensor/sensor_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t rows = 0;
    (void)spool_parse(data, size, &rows);
    return 0;
}
