/* kansoku: the one command-line tool. Each subcommand lives in cli/cmd_<name>.c and parses
 * its own options; this file only dispatches. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

const struct ks_cmd ks_cmds[] = {
    {"db", "inspect the store (schema version, inputs, row counts)", ks_cmd_db},
    {"geo", "country and AS of IP addresses", ks_cmd_geo},
    {"sqli", "SQL-injection detection (check values, scan logs)", ks_cmd_sqli},
    {"spf", "SPF checks (RFC 7208), conformance suites, policy service", ks_cmd_spf},
    {"md6sum", "MD6 digests of files, and checks of digest lists (as sha256sum)", ks_cmd_md6sum},
    {"incident", "the analysts' incident log (add, list, import, export)", ks_cmd_incident},
    {"report", "the quarterly report: HTML page with SVG figures, and PDF", ks_cmd_report},
    {"samples", "malware sample registry: add, stats, show", ks_cmd_samples},
    {"honeypot", "low-interaction TCP/UDP honeypot feeding the sample registry", ks_cmd_honeypot},
    {"mail", "mail: spam statistics, campaigns, URLs and attachments", ks_cmd_mail},
    {"ddos", "DDoS attacks from packet captures or an interface (detect, stats)", ks_cmd_ddos},
    {"dns", "DNS: resolver port/TXID randomness audit, cache-poisoning attempts", ks_cmd_dns},
    {"darknet", "darknet (telescope) statistics: ports, sources, backscatter, new ports", ks_cmd_darknet},
    {"collect", "NetFlow v5/v9, IPFIX and sFlow collector; flows to the DDoS and darknet analyzers", ks_cmd_collect},
    {"p2p", "P2P residue: connection attempts to a host after its P2P client stopped", ks_cmd_p2p},
    {"simulate", "a realistic, deterministic demo quarter of observations", ks_cmd_simulate},
    {"crawl", "honeyclient: follow spam URLs to their downloads, register executables", ks_cmd_crawl},
    {"anomaly", "traffic anomalies: drops and spikes against a seasonal baseline", ks_cmd_anomaly},
    {"sensor", "the sensor daemon: capture, darknet, honeypot and analyzers in one loop", ks_cmd_sensor},
    {"bgp", "BGP: MRT files as bgpdump lines; prefix-hijack, sub-prefix and MOAS alerts", ks_cmd_bgp},
    {NULL, NULL, NULL},
};

static void print_main_help(FILE *f)
{
    fputs("Usage: kansoku [--version] [--help] <command> [options] [inputs]\n"
          "       kansoku help <command>\n\n"
          "kansoku (観測) turns packet captures, logs, mail and malware samples into incidents,\n"
          "statistics and a quarterly report.\n\nCommands:\n",
          f);
    for (const struct ks_cmd *c = ks_cmds; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fputs("\nEvery command takes --help. Exit status: 0 done, 1 the work failed, 2 usage error.\n",
          f);
}

static const struct ks_cmd *find_cmd(const char *name)
{
    for (const struct ks_cmd *c = ks_cmds; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_main_help(stderr);
        return KS_EXIT_USAGE;
    }
    const char *arg = argv[1];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        print_main_help(stdout);
        return KS_EXIT_OK;
    }
    if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
        printf("kansoku %s\n", ks_version());
        return KS_EXIT_OK;
    }
    if (strcmp(arg, "help") == 0) {
        if (argc < 3) {
            print_main_help(stdout);
            return KS_EXIT_OK;
        }
        const struct ks_cmd *c = find_cmd(argv[2]);
        if (!c) {
            fprintf(stderr, "kansoku: unknown command '%s'; try 'kansoku --help'\n", argv[2]);
            return KS_EXIT_USAGE;
        }
        /* "help CMD [SUB]" is "CMD [SUB] --help". */
        char *hargv[4] = {argv[2], NULL, NULL, NULL};
        int hargc = 1;
        if (argc > 3)
            hargv[hargc++] = argv[3];
        hargv[hargc++] = "--help";
        return c->run(hargc, hargv);
    }
    const struct ks_cmd *c = find_cmd(arg);
    if (!c) {
        fprintf(stderr, "kansoku: unknown command '%s'; try 'kansoku --help'\n", arg);
        return KS_EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
