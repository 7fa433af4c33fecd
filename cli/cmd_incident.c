/* kansoku incident: the analysts' incident log (add, list, import, export). */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_incident.h"
#include "kansoku/ks_store.h"

#define INC_VERBS                                                                                  \
    "Verbs:\n"                                                                                     \
    "  add       add one entry\n"                                                                  \
    "  list      list the entries of a period\n"                                                   \
    "  import    import entries from CSV files\n"                                                  \
    "  export    write the log as CSV or JSON lines\n"

#define INC_CATS                                                                                   \
    "Categories (Table 1 of the Internet Infrastructure Review; key, name, Japanese name):\n"      \
    "  vulnerability  Vulnerabilities              脆弱性\n"                                    \
    "  events         Political and social events  動静情報\n"                                 \
    "  history        Historical dates             歴史\n"                                       \
    "  security       Security incidents           セキュリティ事件\n"                     \
    "  other          Other                        その他\n"

static const char inc_usage[] = "Usage: kansoku incident <verb> [options] [--db PATH]\n" INC_VERBS;
static const char inc_help[] =
    "Usage: kansoku incident <verb> [options] [--db PATH]\n"
    "The analysts' incident log: dated entries, one category each. The report counts them per\n"
    "category (its first figure) and lists them in its incident summary.\n\n" INC_VERBS
    "\n" INC_CATS "\nEach verb takes --help. Exit status: 0 done, 1 failed, 2 usage "
    "error.\n\n" KS_CLI_COMMON_HELP;

static const char add_usage[] =
    "Usage: kansoku incident add --date YYYY-MM-DD --category C --title T [--note N]\n";
static const char add_help[] =
    "Usage: kansoku incident add --date YYYY-MM-DD --category C --title T [--note N]\n"
    "Add one entry to the log. The same entry (all four fields equal) is refused the second\n"
    "time. The date is the analyst's civil date (the report's time zone).\n\n"
    "Options:\n"
    "      --date D       the day of the incident, YYYY-MM-DD\n"
    "      --category C   a key, English or Japanese name (below)\n"
    "      --title T      one line, at most 512 bytes\n"
    "      --note N       the text the report prints for the entry (at most 8192 "
    "bytes)\n\n" INC_CATS "\n" KS_CLI_COMMON_HELP;

static const char list_usage[] =
    "Usage: kansoku incident list [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json]\n";
static const char list_help[] =
    "Usage: kansoku incident list [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json]\n"
    "List the entries dated from --from to --to (both included; either may be left open),\n"
    "by date, as a table or, with --json, one object per line: date, category,\n"
    "category_ja, title, note.\n\n" KS_CLI_COMMON_HELP;

static const char import_usage[] = "Usage: kansoku incident import [--force] FILE.csv...\n";
static const char import_help[] =
    "Usage: kansoku incident import [--force] FILE.csv...\n"
    "Import entries from CSV files: a header line date,category,title,note then one entry per\n"
    "line (RFC 4180 quoting; the note may be omitted; lines starting with # are comments).\n"
    "Each file is one input, identified by SHA-256: importing it again is refused unless\n"
    "--force, which replaces it. Bad lines are reported with FILE:LINE and skipped.\n\n"
    "Options:\n"
    "      --force        re-import a file imported before, replacing it\n\n" INC_CATS
    "\n" KS_CLI_COMMON_HELP;

static const char export_usage[] =
    "Usage: kansoku incident export [--csv|--json] [--from D] [--to D]\n";
static const char export_help[] =
    "Usage: kansoku incident export [--csv|--json] [--from D] [--to D]\n"
    "Write the log (or the entries of a period) to stdout: CSV with a header line (default),\n"
    "which `kansoku incident import` reads back, or JSON lines as `list --json`.\n\n"
    "Options:\n"
    "      --csv          CSV (default)\n"
    "      --from D, --to D  the period, YYYY-MM-DD, both included\n\n" KS_CLI_COMMON_HELP;

static int open_store(struct ks_cli *cli, struct ks_store **sp)
{
    if (ks_store_open(cli->db_path, NULL, sp) != KS_OK) {
        ks_cli_error(cli, "%s", ks_store_errmsg(NULL));
        return KS_EXIT_FAIL;
    }
    return KS_EXIT_OK;
}

static int inc_add(int argc, char **argv)
{
    static const struct option opts[] = {KS_CLI_COMMON_OPTS,
                                         {"date", required_argument, NULL, 0x200},
                                         {"category", required_argument, NULL, 0x201},
                                         {"title", required_argument, NULL, 0x202},
                                         {"note", required_argument, NULL, 0x203},
                                         {0}};
    struct ks_cli cli;
    struct ks_store *s = NULL;
    const char *date = NULL, *cat = NULL, *title = NULL, *note = NULL;
    struct ks_incident inc = {.cat = -1};
    char why[128];
    int opt, code = KS_EXIT_OK;
    ks_cli_init(&cli, "incident add", add_usage, add_help);
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        switch (opt) {
        case 0x200:
            date = optarg;
            break;
        case 0x201:
            cat = optarg;
            break;
        case 0x202:
            title = optarg;
            break;
        case 0x203:
            note = optarg;
            break;
        default:
            return ks_cli_usage_error(&cli, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return ks_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
    if (!date || !cat || !title)
        return ks_cli_usage_error(&cli, "--date, --category and --title are needed");
    if (ks_incident_date_parse(date, strlen(date), inc.date) != KS_OK)
        return ks_cli_usage_error(&cli, "--date '%s' is not a day YYYY-MM-DD", date);
    if (ks_incident_cat_parse(cat, strlen(cat), &inc.cat) != KS_OK)
        return ks_cli_usage_error(&cli, "unknown category '%s' (see --help)", cat);
    inc.title = title;
    inc.title_len = strlen(title);
    inc.note = note;
    inc.note_len = note ? strlen(note) : 0;
    if (ks_incident_check(&inc, why, sizeof why) != KS_OK)
        return ks_cli_usage_error(&cli, "%s", why);
    if ((code = open_store(&cli, &s)) != KS_EXIT_OK)
        return code;
    int rc = ks_incident_add(s, &inc);
    if (rc == KS_EEXIST) {
        ks_cli_error(&cli, "this entry is in the log already");
        code = KS_EXIT_FAIL;
    } else if (rc != KS_OK) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(s));
        code = KS_EXIT_FAIL;
    } else if (cli.json) {
        json_t *o = json_object();
        json_object_set_new(o, "added", json_true());
        json_object_set_new(o, "date", json_string(inc.date));
        json_object_set_new(o, "category", json_string(ks_incident_cat_key(inc.cat)));
        ks_cli_json_line(o);
    } else if (!cli.quiet) {
        printf("added: %s %s %s\n", inc.date, ks_incident_cat_key(inc.cat), title);
    }
    ks_store_close(s);
    return code;
}

enum out_format { OUT_TABLE, OUT_JSON, OUT_CSV };

struct list_ctx {
    enum out_format fmt;
    unsigned n;
};

static int print_entry(void *user, const struct ks_incident *inc)
{
    struct list_ctx *c = user;
    if (c->fmt == OUT_JSON) {
        json_t *o = json_object();
        json_object_set_new(o, "date", json_string(inc->date));
        json_object_set_new(o, "category", json_string(ks_incident_cat_key(inc->cat)));
        json_object_set_new(o, "category_ja", json_string(ks_incident_cat_name(inc->cat, "ja")));
        json_object_set_new(o, "title", json_stringn(inc->title, inc->title_len));
        json_object_set_new(o, "note",
                            inc->note ? json_stringn(inc->note, inc->note_len) : json_null());
        ks_cli_json_line(o);
    } else if (c->fmt == OUT_CSV) {
        char small[1024];
        size_t need = ks_incident_csv_line(inc, small, sizeof small);
        if (need < sizeof small) {
            fputs(small, stdout);
        } else {
            char *big = malloc(need + 1);
            if (!big)
                return KS_ENOMEM;
            ks_incident_csv_line(inc, big, need + 1);
            fputs(big, stdout);
            free(big);
        }
    } else {
        if (c->n == 0)
            printf("%-10s  %-13s  %s\n", "date", "category", "title");
        printf("%-10s  %-13s  %.*s\n", inc->date, ks_incident_cat_key(inc->cat),
               (int)inc->title_len, inc->title);
    }
    c->n++;
    return 0;
}

/* list and export share their options; export defaults to CSV. */
static int inc_list_or_export(int argc, char **argv, bool export)
{
    static const struct option opts[] = {KS_CLI_COMMON_OPTS,
                                         {"from", required_argument, NULL, 0x200},
                                         {"to", required_argument, NULL, 0x201},
                                         {"csv", no_argument, NULL, 0x202},
                                         {0}};
    struct ks_cli cli;
    struct ks_store *s = NULL;
    char from[11] = "", to[11] = "";
    bool csv = false;
    int opt, code = KS_EXIT_OK;
    if (export)
        ks_cli_init(&cli, "incident export", export_usage, export_help);
    else
        ks_cli_init(&cli, "incident list", list_usage, list_help);
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        if (opt == 0x200 || opt == 0x201) {
            char *dst = opt == 0x200 ? from : to;
            if (ks_incident_date_parse(optarg, strlen(optarg), dst) != KS_OK)
                return ks_cli_usage_error(&cli, "%s '%s' is not a day YYYY-MM-DD",
                                          opt == 0x200 ? "--from" : "--to", optarg);
        } else if (opt == 0x202 && export) {
            csv = true;
        } else {
            return ks_cli_usage_error(&cli, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return ks_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
    if (csv && cli.json)
        return ks_cli_usage_error(&cli, "--csv and --json exclude each other");
    if ((code = open_store(&cli, &s)) != KS_EXIT_OK)
        return code;
    struct list_ctx c = {cli.json ? OUT_JSON : export ? OUT_CSV : OUT_TABLE, 0};
    if (c.fmt == OUT_CSV)
        fputs("date,category,title,note\n", stdout);
    int rc = ks_incident_list(s, from[0] ? from : NULL, to[0] ? to : NULL, print_entry, &c);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "%s", rc == KS_ENOMEM ? "out of memory" : ks_store_errmsg(s));
        code = KS_EXIT_FAIL;
    }
    ks_store_close(s);
    return code;
}

static int inc_list(int argc, char **argv)
{
    return inc_list_or_export(argc, argv, false);
}

static int inc_export(int argc, char **argv)
{
    return inc_list_or_export(argc, argv, true);
}

static int inc_import(int argc, char **argv)
{
    static const struct option opts[] = {
        KS_CLI_COMMON_OPTS, {"force", no_argument, NULL, 0x200}, {0}};
    struct ks_cli cli;
    struct ks_store *s = NULL;
    unsigned flags = 0;
    int opt, code = KS_EXIT_OK;
    ks_cli_init(&cli, "incident import", import_usage, import_help);
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        if (opt == 0x200)
            flags |= KS_STORE_FORCE;
        else
            return ks_cli_usage_error(&cli, "unknown option '%s'", argv[optind - 1]);
    }
    if (optind >= argc)
        return ks_cli_usage_error(&cli, "no CSV file given");
    if ((code = open_store(&cli, &s)) != KS_EXIT_OK)
        return code;
    for (int i = optind; i < argc; i++) {
        struct ks_incident_csv_stats st;
        cli.diag_count = 0;
        int rc = ks_incident_import_csv(s, argv[i], flags, &cli.diag, &st);
        if (rc == KS_EIO) {
            ks_cli_error(&cli, "%s: cannot read: %s", argv[i], strerror(errno));
            code = KS_EXIT_FAIL;
            continue;
        }
        if (rc == KS_ELIMIT) {
            ks_cli_error(&cli, "%s: larger than 64 MiB", argv[i]);
            code = KS_EXIT_FAIL;
            continue;
        }
        if (rc != KS_OK) {
            ks_cli_error(&cli, "%s", rc == KS_ENOMEM ? "out of memory" : ks_store_errmsg(s));
            code = KS_EXIT_FAIL;
            continue;
        }
        if (st.bad > cli.diag_count)
            ks_cli_warn(&cli, "%s: %" PRIu64 " bad lines skipped in all (first %" PRIu64 " shown)",
                        argv[i], st.bad, cli.diag_count);
        if (cli.json) {
            json_t *o = json_object();
            json_object_set_new(o, "file", json_string(argv[i]));
            json_object_set_new(o, "entries", json_integer((json_int_t)st.entries));
            json_object_set_new(o, "bad_lines", json_integer((json_int_t)st.bad));
            json_object_set_new(o, "lines", json_integer((json_int_t)st.lines));
            ks_cli_json_line(o);
        } else if (!cli.quiet) {
            printf("%s: %" PRIu64 " entries imported, %" PRIu64 " bad lines skipped\n", argv[i],
                   st.entries, st.bad);
        }
    }
    ks_store_close(s);
    return code;
}

int ks_cmd_incident(int argc, char **argv)
{
    static const struct ks_cli_verb verbs[] = {
        {"add", inc_add}, {"list", inc_list}, {"import", inc_import}, {"export", inc_export}};
    struct ks_cli cli;
    ks_cli_init(&cli, "incident", inc_usage, inc_help);
    return ks_cli_run_verbs(&cli, verbs, sizeof verbs / sizeof verbs[0], argc, argv);
}
