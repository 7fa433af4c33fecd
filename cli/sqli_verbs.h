/* The verbs of `kansoku sqli` that live outside cmd_sqli.c. */
#ifndef KS_CLI_SQLI_VERBS_H
#define KS_CLI_SQLI_VERBS_H

int ks_sqli_scan_main(int argc, char **argv);
int ks_sqli_stats_main(int argc, char **argv);

#endif
