/* kansoku report: the quarterly report (HTML, and PDF through headless Chromium). */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_report.h"
#include "kansoku/ks_store.h"

static const char report_usage[] =
    "Usage: kansoku report --from YYYY-MM-DD --to YYYY-MM-DD -o DIR [--lang ja|en] [--pdf]\n"
    "                      [--sensors S1,S2] [--tz +09:00] [--notes FILE] [--db PATH]\n";
static const char report_help[] =
    "Usage: kansoku report --from YYYY-MM-DD --to YYYY-MM-DD -o DIR [--lang ja|en] [--pdf]\n"
    "                      [--sensors S1,S2] [--tz +09:00] [--notes FILE] [--db PATH]\n"
    "Write the report of a period (both days included) from the store: DIR/index.html, one\n"
    "self-contained page with inline SVG figures, DIR/numbers.json with every headline number,\n"
    "DIR/figures/*.csv with each figure's data, and with --pdf DIR/report.pdf (headless\n"
    "Chromium). Figures without data for the period say so in place. docs/report.md lists the\n"
    "figures, the numbers and the query each comes from.\n\n"
    "Options:\n"
    "      --from D, --to D   the period, days of the report's time zone\n"
    "  -o, --output DIR       where to write (created if missing)\n"
    "      --lang L           ja (default) or en\n"
    "      --tz +HH:MM        the time zone of days, weeks and months (default +09:00, JST)\n"
    "      --sensors LIST     only these sensors, comma-separated (honeypot figures)\n"
    "      --notes FILE       the analyst's notes: prose and settings (docs/report.md)\n"
    "      --pdf              also print DIR/report.pdf with Chromium\n"
    "      --browser PATH     the Chromium to use (default: chromium on the PATH)\n\n"
    "Exit status: 0 written, 1 failed (store, files, PDF), 2 usage error.\n\n" KS_CLI_COMMON_HELP;

static int parse_tz(const char *s, int32_t *off)
{
    if (strlen(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':')
        return -1;
    for (int i = 1; i < 6; i++)
        if (i != 3 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[1] - '0') * 10 + (s[2] - '0'), m = (s[4] - '0') * 10 + (s[5] - '0');
    if (h > 23 || m > 59)
        return -1;
    *off = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return 0;
}

int ks_cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {KS_CLI_COMMON_OPTS,
                                         {"from", required_argument, NULL, 0x200},
                                         {"to", required_argument, NULL, 0x201},
                                         {"output", required_argument, NULL, 'o'},
                                         {"lang", required_argument, NULL, 0x202},
                                         {"tz", required_argument, NULL, 0x203},
                                         {"sensors", required_argument, NULL, 0x204},
                                         {"notes", required_argument, NULL, 0x205},
                                         {"pdf", no_argument, NULL, 0x206},
                                         {"browser", required_argument, NULL, 0x207},
                                         {0}};
    struct ks_cli cli;
    struct ks_report_config cfg;
    struct ks_store *s = NULL;
    const char *out = NULL, *browser = NULL;
    char *sensors = NULL;
    const char *list[64];
    bool pdf = false;
    int opt, code = KS_EXIT_OK;
    ks_cli_init(&cli, "report", report_usage, report_help);
    ks_report_config_default(&cfg);
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT "o:", opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            goto done;
        if (r > 0)
            continue;
        switch (opt) {
        case 0x200:
            cfg.from = optarg;
            break;
        case 0x201:
            cfg.to = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 0x202:
            if (strcmp(optarg, "ja") != 0 && strcmp(optarg, "en") != 0) {
                code = ks_cli_usage_error(&cli, "--lang must be ja or en");
                goto done;
            }
            cfg.lang = optarg;
            break;
        case 0x203:
            if (parse_tz(optarg, &cfg.tz_offset_s) != 0) {
                code = ks_cli_usage_error(&cli, "--tz must be +HH:MM or -HH:MM");
                goto done;
            }
            break;
        case 0x204:
            free(sensors);
            sensors = strdup(optarg);
            if (!sensors) {
                ks_cli_error(&cli, "out of memory");
                code = KS_EXIT_FAIL;
                goto done;
            }
            cfg.nsensors = 0;
            for (char *t = sensors; t && *t;) {
                char *comma = strchr(t, ',');
                if (comma)
                    *comma = '\0';
                if (*t && cfg.nsensors == 64) {
                    code = ks_cli_usage_error(&cli, "at most 64 sensors");
                    goto done;
                }
                if (*t)
                    list[cfg.nsensors++] = t;
                t = comma ? comma + 1 : NULL;
            }
            cfg.sensors = list;
            break;
        case 0x205:
            cfg.notes_path = optarg;
            break;
        case 0x206:
            pdf = true;
            break;
        case 0x207:
            browser = optarg;
            break;
        default:
            code = ks_cli_usage_error(&cli, "unknown option '%s'", argv[optind - 1]);
            goto done;
        }
    }
    if (optind < argc) {
        code = ks_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
        goto done;
    }
    if (!cfg.from || !cfg.to || !out) {
        code = ks_cli_usage_error(&cli, "--from, --to and -o are needed");
        goto done;
    }
    cfg.geo_dir = cli.geo_dir;
    if (ks_store_open(cli.db_path, NULL, &s) != KS_OK) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(NULL));
        code = KS_EXIT_FAIL;
        goto done;
    }
    struct ks_report_stats st;
    int rc = ks_report_write(s, &cfg, out, &cli.diag, &st);
    if (rc == KS_EINVAL) {
        code = ks_cli_usage_error(&cli,
                                  "bad period (--from %s --to %s: YYYY-MM-DD, from <= to, "
                                  "at most 10 years)",
                                  cfg.from, cfg.to);
        goto done;
    }
    if (rc != KS_OK) {
        if (rc == KS_EIO || rc == KS_ENOSPC)
            ks_cli_error(&cli, "%s: %s", out, strerror(errno));
        else if (rc == KS_EFORMAT)
            ks_cli_error(&cli, "%s: cannot read the notes file", cfg.notes_path);
        else
            ks_cli_error(&cli, "%s", rc == KS_ENOMEM ? "out of memory" : ks_store_errmsg(s));
        code = KS_EXIT_FAIL;
        goto done;
    }
    if (pdf) {
        rc = ks_report_pdf(out, browser, 300);
        if (rc != KS_OK) {
            ks_cli_error(&cli, "%s/report.pdf: %s", out,
                         rc == KS_ENOTFOUND  ? "no Chromium (install the Debian package chromium)"
                         : rc == KS_ETIMEOUT ? "Chromium took too long"
                                             : "Chromium did not write the PDF");
            code = KS_EXIT_FAIL;
        }
    }
    if (cli.json) {
        json_t *o = json_object();
        json_object_set_new(o, "html", json_sprintf("%s/index.html", out));
        json_object_set_new(o, "numbers", json_sprintf("%s/numbers.json", out));
        json_object_set_new(
            o, "pdf", pdf && code == KS_EXIT_OK ? json_sprintf("%s/report.pdf", out) : json_null());
        json_object_set_new(o, "figures", json_integer(st.figures));
        json_object_set_new(o, "figures_no_data", json_integer(st.figures_no_data));
        json_object_set_new(o, "numbers_known", json_integer(st.numbers));
        ks_cli_json_line(o);
    } else if (!cli.quiet) {
        printf("%s/index.html: %u figures (%u without data), %u numbers\n", out, st.figures,
               st.figures_no_data, st.numbers);
        if (pdf && code == KS_EXIT_OK)
            printf("%s/report.pdf\n", out);
    }
done:
    ks_store_close(s);
    free(sensors);
    return code;
}
