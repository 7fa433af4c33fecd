/* kansoku db: the store itself: info, inputs, import, migrate, repair. */
#include "cli.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"

#define DB_VERBS                                                                                   \
    "Verbs:\n"                                                                                     \
    "  info      schema version, inputs, row counts per table\n"                                   \
    "  inputs    list the ingested inputs\n"                                                       \
    "  import    import rows of a table from CSV files\n"                                          \
    "  migrate   bring the schema up to this kansoku's version\n"                                  \
    "  repair    delete partial inputs left by interrupted ingests\n"

static const char db_usage[] = "Usage: kansoku db <verb> [options] [--db PATH]\n" DB_VERBS;

static const char db_help[] =
    "Usage: kansoku db <verb> [options] [--db PATH]\n"
    "Inspect and maintain the store (SQLite file, default ./kansoku.db or "
    "$KANSOKU_DB).\n\n" DB_VERBS "\nEach verb takes --help. Exit status: 0 done, 1 failed, 2 usage "
    "error.\n\n" KS_CLI_COMMON_HELP;

static const char info_usage[] = "Usage: kansoku db info [--json] [--db PATH]\n";
static const char info_help[] =
    "Usage: kansoku db info [--json] [--db PATH]\n"
    "Show the store's schema version, its inputs (complete and partial) and the rows of each\n"
    "table (all rows, and rows of complete inputs, which are what reports count).\n"
    "A database of an older schema is migrated on open.\n\n" KS_CLI_COMMON_HELP;

static const char inputs_usage[] = "Usage: kansoku db inputs [--json] [--db PATH]\n";
static const char inputs_help[] =
    "Usage: kansoku db inputs [--json] [--db PATH]\n"
    "List every ingested input, oldest first: id, status (complete or partial), rows, size,\n"
    "SHA-256, the module that ingested it, its name and when.\n\n" KS_CLI_COMMON_HELP;

static const char import_usage[] =
    "Usage: kansoku db import [--table NAME] [--force] [--batch-rows N] FILE.csv...\n";
static const char import_help[] =
    "Usage: kansoku db import [--table NAME] [--force] [--batch-rows N] FILE.csv...\n"
    "Import rows from CSV files into a table of the store (default: series). Each file is one\n"
    "input, registered by SHA-256 and size: importing it again is refused unless --force,\n"
    "which replaces it. Columns are the table's, in order (series: ts,sensor,metric,key,value);\n"
    "a first line naming them is skipped. ts: µs since 1970 or RFC 3339. Bad lines are\n"
    "reported with FILE:LINE, counted and skipped. An interrupted import leaves nothing\n"
    "counted: run it again.\n\n"
    "Options:\n"
    "      --table NAME    the table to import into (default series)\n"
    "      --force         re-import a file imported before, replacing it\n"
    "      --batch-rows N  rows per transaction (default 50000)\n\n" KS_CLI_COMMON_HELP;

static const char migrate_usage[] = "Usage: kansoku db migrate [--db PATH]\n";
static const char migrate_help[] =
    "Usage: kansoku db migrate [--db PATH]\n"
    "Create the store if missing, or migrate its schema to this kansoku's version in one\n"
    "transaction, and print the versions before and after.\n\n" KS_CLI_COMMON_HELP;

static const char repair_usage[] = "Usage: kansoku db repair [--db PATH]\n";
static const char repair_help[] =
    "Usage: kansoku db repair [--db PATH]\n"
    "Delete partial inputs (and their rows) whose ingest is no longer running, e.g. after a\n"
    "crash or kill. Opening the store does this too; repair says how many it "
    "removed.\n\n" KS_CLI_COMMON_HELP;

/* Parses the options of a verb that has only the common ones; returns -1 to go on. */
static int common_only(struct ks_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {KS_CLI_COMMON_OPTS, {0}};
    int opt, code = KS_EXIT_OK;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r == 0)
            return ks_cli_usage_error(cli, "unknown option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        return ks_cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
    return -1;
}

static int open_store(struct ks_cli *cli, const struct ks_store_config *cfg, struct ks_store **sp)
{
    int rc = ks_store_open(cli->db_path, cfg, sp);
    if (rc != KS_OK) {
        ks_cli_error(cli, "%s", ks_store_errmsg(NULL));
        return KS_EXIT_FAIL;
    }
    return KS_EXIT_OK;
}

static int db_info(int argc, char **argv)
{
    struct ks_cli cli;
    struct ks_store *s = NULL;
    struct ks_store_info info;
    ks_cli_init(&cli, "db info", info_usage, info_help);
    int code = common_only(&cli, argc, argv);
    if (code >= 0)
        return code;
    if ((code = open_store(&cli, NULL, &s)) != KS_EXIT_OK)
        return code;
    if (ks_store_info(s, &info) != KS_OK) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(s));
        ks_store_close(s);
        return KS_EXIT_FAIL;
    }
    if (cli.json) {
        json_t *o = json_object(), *t = json_object();
        json_object_set_new(o, "db", json_string(cli.db_path));
        json_object_set_new(o, "backend", json_string(info.backend));
        json_object_set_new(o, "schema_version", json_integer(info.schema_version));
        json_object_set_new(o, "schema_known", json_integer(info.schema_known));
        json_object_set_new(o, "inputs_complete", json_integer((json_int_t)info.inputs_complete));
        json_object_set_new(o, "inputs_partial", json_integer((json_int_t)info.inputs_partial));
        for (unsigned i = 0; i < info.ntables; i++) {
            json_t *r = json_object();
            json_object_set_new(r, "rows", json_integer((json_int_t)info.tables[i].rows));
            json_object_set_new(r, "rows_complete",
                                json_integer((json_int_t)info.tables[i].rows_complete));
            json_object_set_new(t, info.tables[i].name, r);
        }
        json_object_set_new(o, "tables", t);
        json_object_set_new(o, "file_bytes", json_integer((json_int_t)info.file_bytes));
        ks_cli_json_line(o);
    } else {
        printf("database  %s (%s, %" PRIu64 " bytes)\n", cli.db_path, info.backend,
               info.file_bytes);
        printf("schema    version %d (this kansoku knows %d)\n", info.schema_version,
               info.schema_known);
        printf("inputs    %" PRIu64 " complete, %" PRIu64 " partial\n", info.inputs_complete,
               info.inputs_partial);
        printf("%-20s %14s %14s\n", "table", "rows", "rows_complete");
        for (unsigned i = 0; i < info.ntables; i++)
            printf("%-20s %14" PRIu64 " %14" PRIu64 "\n", info.tables[i].name, info.tables[i].rows,
                   info.tables[i].rows_complete);
    }
    ks_store_close(s);
    return KS_EXIT_OK;
}

struct list_ctx {
    struct ks_cli *cli;
    unsigned n;
};

static int list_one(void *user, const struct ks_store_input_info *in)
{
    struct list_ctx *c = user;
    char started[KS_TIME_STRLEN], finished[KS_TIME_STRLEN];
    ks_time_format(in->started, KS_TZ_UTC, 0, started, sizeof started);
    ks_time_format(in->finished, KS_TZ_UTC, 0, finished, sizeof finished);
    if (c->cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(in->id));
        json_object_set_new(o, "status", json_string(in->status));
        json_object_set_new(o, "rows", json_integer((json_int_t)in->rows));
        json_object_set_new(o, "size", json_integer((json_int_t)in->size));
        json_object_set_new(o, "sha256", json_string(in->sha256));
        json_object_set_new(o, "kind", json_string(in->kind));
        json_object_set_new(o, "name", json_string(in->name));
        json_object_set_new(o, "started", json_string(started));
        json_object_set_new(o, "finished", in->finished ? json_string(finished) : json_null());
        ks_cli_json_line(o);
    } else {
        if (c->n == 0)
            printf("%6s %-8s %12s %12s %-16s %-20s %-12s %s\n", "id", "status", "rows", "size",
                   "sha256", "started", "kind", "name");
        printf("%6" PRId64 " %-8s %12" PRIu64 " %12" PRIu64 " %.16s %-20s %-12s %s\n", in->id,
               in->status, in->rows, in->size, in->sha256, started, in->kind, in->name);
    }
    c->n++;
    return 0;
}

static int db_inputs(int argc, char **argv)
{
    struct ks_cli cli;
    struct ks_store *s = NULL;
    ks_cli_init(&cli, "db inputs", inputs_usage, inputs_help);
    int code = common_only(&cli, argc, argv);
    if (code >= 0)
        return code;
    if ((code = open_store(&cli, NULL, &s)) != KS_EXIT_OK)
        return code;
    struct list_ctx c = {&cli, 0};
    if (ks_store_inputs(s, list_one, &c) != KS_OK) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(s));
        code = KS_EXIT_FAIL;
    }
    ks_store_close(s);
    return code;
}

static void import_progress(void *user, uint64_t bytes, uint64_t total)
{
    struct ks_progress *p = user;
    if (p->total == 0 && total)
        p->total = total;
    ks_progress_update(p, bytes);
}

static int db_import(int argc, char **argv)
{
    static const struct option opts[] = {KS_CLI_COMMON_OPTS,
                                         {"table", required_argument, NULL, 0x200},
                                         {"force", no_argument, NULL, 0x201},
                                         {"batch-rows", required_argument, NULL, 0x202},
                                         {0}};
    struct ks_cli cli;
    struct ks_store *s = NULL;
    struct ks_store_config cfg;
    const char *table = "series";
    unsigned flags = 0;
    int opt, code = KS_EXIT_OK, table_id;
    ks_store_config_default(&cfg);
    ks_cli_init(&cli, "db import", import_usage, import_help);
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        if (opt == 0x200) {
            table = optarg;
        } else if (opt == 0x201) {
            flags |= KS_STORE_FORCE;
        } else if (opt == 0x202) {
            char *end = NULL;
            unsigned long n = strtoul(optarg, &end, 10);
            if (!*optarg || *end || n == 0 || n > 10000000)
                return ks_cli_usage_error(&cli, "--batch-rows needs a number from 1 to 10000000");
            cfg.batch_rows = (uint32_t)n;
        } else {
            return ks_cli_usage_error(&cli, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return ks_cli_usage_error(&cli, "no CSV file given");
    if (ks_store_table_find(table, &table_id) != KS_OK ||
        (ks_store_table(table_id)->flags & KS_TABLE_SYSTEM))
        return ks_cli_usage_error(&cli, "no data table named '%s'", table);
    if ((code = open_store(&cli, &cfg, &s)) != KS_EXIT_OK)
        return code;
    for (int i = optind; i < argc; i++) {
        const char *path = argv[i];
        struct ks_store_import_stats st;
        struct ks_progress pg;
        ks_progress_start(&pg, &cli, "importing", 1);
        pg.total = 0;
        cli.diag_count = 0;
        int rc =
            ks_store_import_csv(s, path, table_id, flags, &cli.diag, import_progress, &pg, &st);
        ks_progress_done(&pg);
        if (rc != KS_OK) {
            ks_cli_error(&cli, "%s", ks_store_errmsg(s));
            code = KS_EXIT_FAIL;
            continue;
        }
        if (st.bad_lines > cli.diag_count)
            ks_cli_warn(&cli, "%s: %" PRIu64 " bad lines skipped in all (first %" PRIu64 " shown)",
                        path, st.bad_lines, cli.diag_count);
        if (cli.json) {
            json_t *o = json_object();
            json_object_set_new(o, "file", json_string(path));
            json_object_set_new(o, "table", json_string(table));
            json_object_set_new(o, "input_id", json_integer(st.input_id));
            json_object_set_new(o, "rows", json_integer((json_int_t)st.rows));
            json_object_set_new(o, "bad_lines", json_integer((json_int_t)st.bad_lines));
            json_object_set_new(o, "lines", json_integer((json_int_t)st.lines));
            json_object_set_new(o, "bytes", json_integer((json_int_t)st.bytes));
            ks_cli_json_line(o);
        } else if (!cli.quiet) {
            printf("%s: %" PRIu64 " rows imported into %s (input %" PRId64 "), %" PRIu64
                   " bad lines skipped\n",
                   path, st.rows, table, st.input_id, st.bad_lines);
        }
    }
    ks_store_close(s);
    return code;
}

static int db_migrate(int argc, char **argv)
{
    struct ks_cli cli;
    struct ks_store *s = NULL;
    ks_cli_init(&cli, "db migrate", migrate_usage, migrate_help);
    int code = common_only(&cli, argc, argv);
    if (code >= 0)
        return code;
    if ((code = open_store(&cli, NULL, &s)) != KS_EXIT_OK)
        return code;
    int before, now;
    ks_store_versions(s, &before, &now);
    if (cli.json) {
        json_t *o = json_object();
        json_object_set_new(o, "db", json_string(cli.db_path));
        json_object_set_new(o, "from", json_integer(before));
        json_object_set_new(o, "to", json_integer(now));
        ks_cli_json_line(o);
    } else if (before == now) {
        printf("%s: schema version %d, up to date\n", cli.db_path, now);
    } else {
        printf("%s: schema migrated from version %d to %d\n", cli.db_path, before, now);
    }
    ks_store_close(s);
    return KS_EXIT_OK;
}

static int db_repair(int argc, char **argv)
{
    struct ks_cli cli;
    struct ks_store *s = NULL;
    uint64_t removed = 0;
    ks_cli_init(&cli, "db repair", repair_usage, repair_help);
    int code = common_only(&cli, argc, argv);
    if (code >= 0)
        return code;
    if ((code = open_store(&cli, NULL, &s)) != KS_EXIT_OK)
        return code;
    if (ks_store_cleanup(s, &removed) != KS_OK) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(s));
        code = KS_EXIT_FAIL;
    } else if (cli.json) {
        json_t *o = json_object();
        json_object_set_new(o, "db", json_string(cli.db_path));
        json_object_set_new(o, "removed", json_integer((json_int_t)removed));
        ks_cli_json_line(o);
    } else {
        printf("%s: %" PRIu64 " partial inputs removed\n", cli.db_path, removed);
    }
    ks_store_close(s);
    return code;
}

int ks_cmd_db(int argc, char **argv)
{
    static const struct ks_cli_verb verbs[] = {{"info", db_info},
                                               {"inputs", db_inputs},
                                               {"import", db_import},
                                               {"migrate", db_migrate},
                                               {"repair", db_repair}};
    struct ks_cli cli;
    ks_cli_init(&cli, "db", db_usage, db_help);
    /* A full disk or `ulimit -f` must give an error message, not kill the process. */
    signal(SIGXFSZ, SIG_IGN);
    return ks_cli_run_verbs(&cli, verbs, sizeof verbs / sizeof verbs[0], argc, argv);
}
