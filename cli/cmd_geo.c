#include "cli.h"

/* Placeholder: replaced by the module's real subcommand. */
int ks_cmd_geo(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "kansoku: geo: not built yet\n");
    return KS_EXIT_FAIL;
}
