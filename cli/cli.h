/* What every subcommand of the kansoku CLI shares: common options, exit codes, the printer
 * of diagnostics, JSON lines on stdout and the progress bar on stderr. */
#ifndef KS_CLI_H
#define KS_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kansoku/ks_capture.h"
#include "kansoku/ks_core.h"

enum { KS_EXIT_OK = 0, KS_EXIT_FAIL = 1, KS_EXIT_USAGE = 2 };

struct ks_cli {
    const char *cmd;   /* "geo", "db info", ... for messages */
    const char *usage; /* synopsis lines, printed on usage errors */
    const char *help;  /* the full --help text (synopsis included) */
    bool quiet, verbose, json;
    const char *db_path; /* --db, else $KANSOKU_DB, else "kansoku.db" */
    const char *geo_dir; /* --geo-dir, else $KANSOKU_GEO_DIR, else the install default */
    struct ks_diag diag; /* prints "kansoku: CMD: LOC: what: msg" on stderr */
    uint64_t diag_count;
};

/* Long options every subcommand accepts; subcommands append their own and end with {0}. */
#define KS_CLI_COMMON_OPTS                                                                         \
    {"help", no_argument, NULL, 'h'}, {"quiet", no_argument, NULL, 'q'},                           \
        {"verbose", no_argument, NULL, 'v'}, {"json", no_argument, NULL, 0x100},                   \
        {"db", required_argument, NULL, 0x101}, {"store", required_argument, NULL, 0x101},         \
    {                                                                                              \
        "geo-dir", required_argument, NULL, 0x102                                                  \
    }
#define KS_CLI_COMMON_SHORT "hqv"

/* Text for the common options, to end each subcommand's --help. */
#define KS_CLI_COMMON_HELP                                                                         \
    "Common options:\n"                                                                            \
    "  -h, --help         show this help and exit\n"                                               \
    "  -q, --quiet        print only errors on stderr\n"                                           \
    "  -v, --verbose      print more about the work on stderr\n"                                   \
    "      --json         results as JSON lines on stdout\n"                                       \
    "      --db PATH      the store (default $KANSOKU_DB, else ./kansoku.db),\n"                   \
    "                     or clickhouse://HOST:PORT/DB (docs/store.md)\n"                          \
    "      --geo-dir DIR  geolocation data (default $KANSOKU_GEO_DIR, else the install dir)\n"

void ks_cli_init(struct ks_cli *cli, const char *cmd, const char *usage, const char *help);

/* Handles a common option returned by getopt_long. Returns 1 if it was one (and done), 0 if
 * the option is the subcommand's own, or -1 after printing help (exit 0) or usage (exit 2):
 * then *exit_code holds the code to return. */
int ks_cli_common_opt(struct ks_cli *cli, int opt, const char *arg, int *exit_code);
/* The arg to give ks_cli_common_opt: the option's argument (also for "--db=PATH"), or for an
 * unknown option the word that named it. */
#define KS_CLI_OPT_ARG(opt, argv) ((opt) == '?' ? (argv)[optind - 1] : optarg)

/* Prints "kansoku CMD: MSG" and the usage to stderr; returns KS_EXIT_USAGE. */
int ks_cli_usage_error(const struct ks_cli *cli, const char *fmt, ...) KS_PRINTF(2, 3);

/* Prints "kansoku: CMD: MSG" to stderr (always, even with -q). */
void ks_cli_error(const struct ks_cli *cli, const char *fmt, ...) KS_PRINTF(2, 3);
/* Prints "kansoku: CMD: MSG" to stderr unless -q. */
void ks_cli_warn(const struct ks_cli *cli, const char *fmt, ...) KS_PRINTF(2, 3);
/* Prints to stderr only with -v. */
void ks_cli_info(const struct ks_cli *cli, const char *fmt, ...) KS_PRINTF(2, 3);

/* Writes obj as one compact JSON line to stdout and releases it (json_decref). */
void ks_cli_json_line(json_t *obj);

/* The directory for caches kansoku may rebuild at any time (compiled rule databases):
 * $KANSOKU_CACHE_DIR (empty: no cache), else $XDG_CACHE_HOME/kansoku, else
 * $HOME/.cache/kansoku; NULL when none of them is set. */
const char *ks_cli_cache_dir(void);

/* A count or rate with an optional SI suffix (k/K, M, G, T: 1e3..1e12), "2.5M" = 2500000;
 * false if malformed, negative or above max. */
bool ks_cli_parse_metric(const char *s, uint64_t max, uint64_t *out);

struct ks_store_input;
struct ks_store;
struct ks_ingest;
/* Opens the store of --db and begins the input (force: replace one ingested before), with the
 * usual error messages. KS_OK, or an error already reported (the store may be open: close it). */
int ks_cli_store_begin(struct ks_cli *cli, const struct ks_store_input *in, bool force,
                       struct ks_store **st, struct ks_ingest **ing);
/* Ends the input begun by ks_cli_store_begin, complete if store_rc (the caller's first write
 * error, or KS_OK) is KS_OK; reports a failure as "store: ...". *ing becomes NULL. KS_OK or
 * the error. */
int ks_cli_store_end(struct ks_cli *cli, struct ks_store *st, struct ks_ingest **ing, int store_rc);
/* The identity of a set of capture files for the store (struct ks_store_input's sha256 and
 * size): one file alone is its own SHA-256; several, or a salt (the settings that make a run
 * distinct), give the SHA-256 of the files' hashes in reading order and the salt. stdin ("-")
 * and a live interface are never the same twice. Reports an unreadable file; KS_OK or an
 * error. */
int ks_cli_capture_identity(struct ks_cli *cli, const char *const *files, size_t n,
                            const char *iface, const char *salt, struct ks_store_input *in);

/* Packet input, the same for every capture command: -r/--read FILE (repeatable, and bare
 * operands; '-' is stdin), and where live capture makes sense -i/--interface IFACE, --filter
 * EXPR, --snaplen N, --promisc. Option codes 0x180.. are kept for it. */
enum { KS_CLI_OPT_FILTER = 0x180, KS_CLI_OPT_SNAPLEN, KS_CLI_OPT_PROMISC };
#define KS_CLI_INPUT_OPTS                                                                          \
    {"read", required_argument, NULL, 'r'}, {"interface", required_argument, NULL, 'i'},           \
        {"filter", required_argument, NULL, KS_CLI_OPT_FILTER},                                    \
        {"snaplen", required_argument, NULL, KS_CLI_OPT_SNAPLEN},                                  \
    {                                                                                              \
        "promisc", no_argument, NULL, KS_CLI_OPT_PROMISC                                           \
    }
#define KS_CLI_INPUT_SHORT "r:i:"
#define KS_CLI_INPUT_HELP                                                                          \
    "  -r, --read FILE        a capture file (pcap or pcapng, told by its content), '-' for\n"     \
    "                         stdin; repeatable, bare FILEs too; several are read in time order\n" \
    "  -i, --interface IFACE  capture live (needs root or CAP_NET_RAW); stop with Ctrl-C\n"        \
    "      --filter EXPR      BPF filter (pcap-filter(7)), live and offline\n"                     \
    "      --snaplen N        live: bytes per packet (default 262144)\n"                           \
    "      --promisc          live: promiscuous mode (default off)\n"

struct ks_cli_input {
    const char **files; /* -r FILE and the operands, in order */
    size_t nfiles;
    const char *iface; /* -i, or NULL */
    bool live;         /* the command takes -i */
    struct ks_capture_config cfg;
};
/* Sets up the input of a command line of argc words (live: -i is allowed). KS_OK or
 * KS_ENOMEM. */
int ks_cli_input_init(struct ks_cli_input *in, int argc, bool live);
/* Handles an input option returned by getopt_long: 1 if it was one, 0 if not, -1 after a
 * usage error (bad value), with *exit_code set. */
int ks_cli_input_opt(struct ks_cli *cli, struct ks_cli_input *in, int opt, const char *arg,
                     int *exit_code);
/* After the options: the operands are files too; then exactly one kind of input must be
 * there. 0, or -1 after a usage error, with *exit_code set. */
int ks_cli_input_finish(struct ks_cli *cli, struct ks_cli_input *in, int argc, char **argv,
                        int *exit_code);
/* Opens the input, diagnostics through the CLI's printer; KS_OK, or an error already
 * reported. */
int ks_cli_input_open(struct ks_cli *cli, struct ks_cli_input *in, struct ks_capture **cap);
void ks_cli_input_free(struct ks_cli_input *in);

/* A progress bar on stderr for work of known size: drawn only when stderr is a terminal and
 * not with -q, at most 5 redraws a second, cleared by ks_progress_done. */
struct ks_progress {
    bool enabled;
    uint64_t total, done;
    int64_t last_draw_ms;
    const char *label;
};
void ks_progress_start(struct ks_progress *p, const struct ks_cli *cli, const char *label,
                       uint64_t total);
void ks_progress_update(struct ks_progress *p, uint64_t done);
void ks_progress_done(struct ks_progress *p);

/* A subcommand made of verbs ("db info", "samples add"): argv[1] names the verb, which is run
 * with argv shifted by one. Options before the verb are the common ones only (--help prints
 * the subcommand's help); anything else is a usage error naming the subcommand. */
struct ks_cli_verb {
    const char *name;
    int (*run)(int argc, char **argv);
};
int ks_cli_run_verbs(struct ks_cli *cli, const struct ks_cli_verb *verbs, size_t n, int argc,
                     char **argv);

/* Subcommand entry points (argv[0] is the subcommand name). */
struct ks_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};
extern const struct ks_cmd ks_cmds[];

/* One entry point per subcommand, defined in cli/cmd_<name>.c. */
int ks_cmd_db(int argc, char **argv);
int ks_cmd_geo(int argc, char **argv);
int ks_cmd_sqli(int argc, char **argv);
int ks_cmd_spf(int argc, char **argv);
int ks_cmd_md6sum(int argc, char **argv);
int ks_cmd_incident(int argc, char **argv);
int ks_cmd_report(int argc, char **argv);
int ks_cmd_samples(int argc, char **argv);
int ks_cmd_honeypot(int argc, char **argv);
int ks_cmd_mail(int argc, char **argv);
int ks_cmd_ddos(int argc, char **argv);
int ks_cmd_dns(int argc, char **argv);
int ks_cmd_darknet(int argc, char **argv);
int ks_cmd_collect(int argc, char **argv);
int ks_cmd_p2p(int argc, char **argv);
int ks_cmd_simulate(int argc, char **argv);
int ks_cmd_crawl(int argc, char **argv);
int ks_cmd_anomaly(int argc, char **argv);
int ks_cmd_sensor(int argc, char **argv);
int ks_cmd_bgp(int argc, char **argv);

#endif
