/* kansoku simulate: writes a deterministic demo quarter of observations. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_geo.h"
#include "kansoku/ks_simulate.h"
#include "kansoku/ks_time.h"

static const char sim_usage[] =
    "Usage: kansoku simulate [--seed N] [--from DATE] [--to DATE] [--scale S] -o DIR\n";

static const char sim_help[] =
    "Usage: kansoku simulate [--seed N] [--from DATE] [--to DATE] [--scale S] -o DIR\n"
    "\n"
    "Writes a realistic, deterministic period of observations (synthetic: no real traffic,\n"
    "no malware) for every analyzer of kansoku, calibrated on the reference report (June to\n"
    "August 2008): sampled DDoS captures (ddos/DAY.pcap), darknet sensor captures, P2P hosts\n"
    "that stop, Apache logs with SQL injection campaigns, mbox files with spam verdicts and\n"
    "SPF results, honeypot captures of harmless synthetic executables, an incident log CSV, a\n"
    "traffic series, and truth/ files saying what was planted. DIR/MANIFEST.txt lists every\n"
    "file. The same options give byte-identical files.\n"
    "\n"
    "Options:\n"
    "  -o, --out DIR          where to write (created; files of the same names are replaced)\n"
    "      --seed N           the random seed (default 1)\n"
    "      --from DATE        first day, YYYY-MM-DD (default 2008-06-01)\n"
    "      --to DATE          last day, included (default 2008-08-31; at most 400 days)\n"
    "      --tz +HH:MM        the observatory's zone for days and log times (default +09:00)\n"
    "      --scale S          volume of the bulky streams, 0.001..10 (default 1): darknet\n"
    "                         packets, benign web traffic, mail, honeypot captures (attack\n"
    "                         counts, rates and campaigns do not change)\n"
    "      --sample-rate N    DDoS captures hold 1 packet in N, 1..65535 (default 10000;\n"
    "                         written to DIR/ddos/SAMPLE_RATE): give it to ddos detect\n"
    "      --parts LIST       only these, comma-separated: ddos, darknet, p2p, web, mail,\n"
    "                         samples, incidents, series (default all)\n"
    "      --no-mail-history  no mail before the period (the previous year's comparison)\n"
    "      --threads N        worker threads (default 2; the output does not depend on it)\n"
    "The country and AS of honeypot capture sources come from the geo data (--geo-dir).\n"
    "\n"
    "Output: a summary of what was written (--json: one object).\n"
    "Exit status: 0 written; 1 a file could not be written; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

static int parse_day(const char *s, int64_t *day)
{
    int64_t t;
    if (strlen(s) != 10 || ks_time_parse(s, 10, &t) != KS_OK)
        return -1;
    *day = t / KS_USEC_PER_DAY;
    return 0;
}

static int parse_tz(const char *s, int32_t *tz)
{
    int h, m;
    char sign, end;
    if (sscanf(s, "%c%2d:%2d%c", &sign, &h, &m, &end) != 3 || (sign != '+' && sign != '-') ||
        strlen(s) != 6 || h > 23 || m > 59)
        return -1;
    *tz = (sign == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return 0;
}

static int parse_parts(const char *s, unsigned *parts)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"ddos", KS_SIM_DDOS},
                 {"darknet", KS_SIM_DARKNET},
                 {"p2p", KS_SIM_P2P},
                 {"web", KS_SIM_WEB},
                 {"mail", KS_SIM_MAIL},
                 {"samples", KS_SIM_SAMPLES},
                 {"incidents", KS_SIM_INCIDENTS},
                 {"series", KS_SIM_SERIES},
                 {"all", KS_SIM_ALL}};
    *parts = 0;
    while (*s) {
        size_t len = strcspn(s, ",");
        bool found = false;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strlen(names[i].name) == len && strncmp(names[i].name, s, len) == 0) {
                *parts |= names[i].bit;
                found = true;
            }
        if (!found)
            return -1;
        s += len;
        if (*s == ',')
            s++;
    }
    return *parts ? 0 : -1;
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return -1;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

int ks_cmd_simulate(int argc, char **argv)
{
    struct ks_cli cli;
    ks_cli_init(&cli, "simulate", sim_usage, sim_help);
    struct ks_simulate_config cfg;
    ks_simulate_config_default(&cfg);
    const char *out = NULL;
    static const struct option opts[] = {
        KS_CLI_COMMON_OPTS,
        {"out", required_argument, NULL, 'o'},
        {"seed", required_argument, NULL, 0x200},
        {"from", required_argument, NULL, 0x201},
        {"to", required_argument, NULL, 0x202},
        {"tz", required_argument, NULL, 0x203},
        {"scale", required_argument, NULL, 0x204},
        {"sample-rate", required_argument, NULL, 0x205},
        {"parts", required_argument, NULL, 0x206},
        {"no-mail-history", no_argument, NULL, 0x207},
        {"threads", required_argument, NULL, 0x208},
        {0},
    };
    int opt, code = KS_EXIT_OK;
    uint64_t v;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT "o:", opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        switch (opt) {
        case 'o':
            out = optarg;
            break;
        case 0x200:
            if (parse_u64(optarg, &cfg.seed) != 0)
                return ks_cli_usage_error(&cli, "--seed needs a number, not '%s'", optarg);
            break;
        case 0x201:
            if (parse_day(optarg, &cfg.from_day) != 0)
                return ks_cli_usage_error(&cli, "--from needs YYYY-MM-DD, not '%s'", optarg);
            break;
        case 0x202:
            if (parse_day(optarg, &cfg.to_day) != 0)
                return ks_cli_usage_error(&cli, "--to needs YYYY-MM-DD, not '%s'", optarg);
            break;
        case 0x203:
            if (parse_tz(optarg, &cfg.tz_offset_s) != 0)
                return ks_cli_usage_error(&cli, "--tz needs +HH:MM or -HH:MM, not '%s'", optarg);
            break;
        case 0x204: {
            char *end;
            double s = strtod(optarg, &end);
            if (*end || !(s >= 0.001 && s <= 10))
                return ks_cli_usage_error(&cli, "--scale needs a number in 0.001..10, not '%s'",
                                          optarg);
            cfg.scale = s;
            break;
        }
        case 0x205:
            if (parse_u64(optarg, &v) != 0 || v < 1 || v > 65535)
                return ks_cli_usage_error(&cli, "--sample-rate needs 1..65535, not '%s'", optarg);
            cfg.sample_rate = (uint32_t)v;
            break;
        case 0x206:
            if (parse_parts(optarg, &cfg.parts) != 0)
                return ks_cli_usage_error(&cli, "--parts: unknown part in '%s'", optarg);
            break;
        case 0x207:
            cfg.mail_history = false;
            break;
        case 0x208:
            if (parse_u64(optarg, &v) != 0 || v < 1 || v > 8)
                return ks_cli_usage_error(&cli, "--threads needs 1..8, not '%s'", optarg);
            cfg.threads = (unsigned)v;
            break;
        default:
            return ks_cli_usage_error(&cli, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return ks_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
    if (!out)
        return ks_cli_usage_error(&cli, "-o DIR is required");
    if (cfg.to_day < cfg.from_day)
        return ks_cli_usage_error(&cli, "--to is before --from");
    if (cfg.to_day - cfg.from_day >= 400)
        return ks_cli_usage_error(&cli, "the period is longer than 400 days");

    /* The geo data give the honeypot captures' country and AS as `samples add` would. */
    struct ks_geo *geo = NULL;
    ks_geo_open(cli.geo_dir, &geo);
    if (geo && ks_geo_file(geo, KS_GEO_COUNTRY)->status == KS_OK)
        cfg.geo = geo;
    else
        ks_cli_info(&cli, "%s: no geolocation data: countries from the built-in table",
                    cli.geo_dir);
    struct ks_simulate_stats st;
    int rc = ks_simulate_run(&cfg, out, &cli.diag, &st);
    ks_geo_free(geo);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "%s: %s", out, ks_strerror(rc));
        return rc == KS_EINVAL ? KS_EXIT_USAGE : KS_EXIT_FAIL;
    }
    if (cli.json) {
        json_t *o = json_object();
        json_object_set_new(o, "dir", json_string(out));
        json_object_set_new(o, "files", json_integer((json_int_t)st.files));
        json_object_set_new(o, "bytes", json_integer((json_int_t)st.bytes));
        json_object_set_new(o, "sample_rate", json_integer(st.sample_rate));
        json_t *a = json_object();
        json_object_set_new(a, "server", json_integer((json_int_t)st.ddos_attacks[0]));
        json_object_set_new(a, "bandwidth", json_integer((json_int_t)st.ddos_attacks[1]));
        json_object_set_new(a, "composite", json_integer((json_int_t)st.ddos_attacks[2]));
        json_object_set_new(o, "ddos_attacks", a);
        json_object_set_new(o, "ddos_packets", json_integer((json_int_t)st.ddos_packets));
        json_object_set_new(o, "darknet_packets", json_integer((json_int_t)st.darknet_packets));
        json_object_set_new(o, "p2p_packets", json_integer((json_int_t)st.p2p_packets));
        json_object_set_new(o, "web_lines", json_integer((json_int_t)st.web_lines));
        json_object_set_new(o, "web_attacks", json_integer((json_int_t)st.web_attacks));
        json_object_set_new(o, "mails", json_integer((json_int_t)st.mails));
        json_object_set_new(o, "spam", json_integer((json_int_t)st.spam));
        json_object_set_new(o, "sample_captures", json_integer((json_int_t)st.sample_captures));
        json_object_set_new(o, "sample_unique", json_integer((json_int_t)st.sample_unique));
        json_object_set_new(o, "incidents", json_integer((json_int_t)st.incidents));
        ks_cli_json_line(o);
    } else if (!cli.quiet) {
        printf("simulate: %s\n", out);
        printf("  files            %" PRIu64 " (%.1f MiB)\n", st.files,
               (double)st.bytes / 1048576.0);
        printf("  ddos attacks     %" PRIu64 " (server %" PRIu64 ", bandwidth %" PRIu64
               ", composite %" PRIu64 "), %" PRIu64 " packets sampled 1:%u\n",
               st.ddos_attacks[0] + st.ddos_attacks[1] + st.ddos_attacks[2], st.ddos_attacks[0],
               st.ddos_attacks[1], st.ddos_attacks[2], st.ddos_packets, st.sample_rate);
        printf("  darknet packets  %" PRIu64 "\n", st.darknet_packets);
        printf("  p2p packets      %" PRIu64 "\n", st.p2p_packets);
        printf("  web log lines    %" PRIu64 " (%" PRIu64 " SQL injection attempts)\n",
               st.web_lines, st.web_attacks);
        printf("  mail             %" PRIu64 " messages in the period, %.1f%% spam\n", st.mails,
               st.mails ? 100.0 * (double)st.spam / (double)st.mails : 0.0);
        printf("  samples          %" PRIu64 " captures, %" PRIu64 " files\n", st.sample_captures,
               st.sample_unique);
        printf("  incidents        %" PRIu64 "\n", st.incidents);
    }
    return KS_EXIT_OK;
}
