/* kansoku geo: country and AS of IP addresses; --info on the data files; `geo build` makes the
 * AS table from CSV. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kansoku/ks_geo.h"
#include "kansoku/ks_ip.h"

static const char geo_usage[] = "Usage: kansoku geo [options] [IP...]\n"
                                "       kansoku geo --info\n"
                                "       kansoku geo build [--out FILE] CSV...\n";

static const char geo_help[] =
    "Usage: kansoku geo [options] [IP...]\n"
    "       kansoku geo --info\n"
    "       kansoku geo build [--out FILE] CSV...\n"
    "\n"
    "Prints the country (ISO 3166 code) and the AS number and organisation of each IP\n"
    "address (IPv4 or IPv6), one per line: IP, CC, ASN, ORG. With no IP, or with '-', reads\n"
    "addresses from stdin, one per line. Unknown parts print as '--' (country) and '-'.\n"
    "With --json, one object per address: {\"ip\",\"country\",\"asn\",\"org\"} (asn and org\n"
    "are null when unknown).\n"
    "\n"
    "The data (installed by scripts/install-deps, i.e. `make deps`) are read from --geo-dir,\n"
    "else $KANSOKU_GEO_DIR, else the install directory. If a data file is missing or damaged,\n"
    "geo says so once, answers '--' for what it lacks, and exits 1.\n"
    "\n"
    "Options:\n"
    "      --info         list the data files: path, format, version, build date, records\n"
    "\n"
    "Exit status: 0 every address was looked up with all data present; 1 an address was\n"
    "invalid or a data file is missing or damaged; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

static const char build_usage[] = "Usage: kansoku geo build [--out FILE] CSV...\n";

static const char build_help[] =
    "Usage: kansoku geo build [--out FILE] [--source-version V] CSV...\n"
    "\n"
    "Builds kansoku's AS table (asn.kstab) from ip-location-db AS CSV files (lines\n"
    "'first,last,asn,org', IPv4 or IPv6). scripts/install-geo does this at install time;\n"
    "use this to build it from CSV files you fetched yourself.\n"
    "\n"
    "Options:\n"
    "      --out FILE            where to write (default: GEO_DIR/asn.kstab)\n"
    "      --source-version V    version of the data to record in the table (23 bytes max)\n"
    "\n"
    "Exit status: 0 written; 1 a file could not be read or written; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

/* Reports the data files that did not open (one message when all are missing); returns how
 * many did not. */
static int report_files(const struct ks_cli *cli, const struct ks_geo *g)
{
    static const char todo[] = "run `scripts/install-deps` (or `make deps`) to install the "
                               "geolocation data, or set --geo-dir / $KANSOKU_GEO_DIR";
    int bad = 0, missing = 0;
    for (int i = 0; i < KS_GEO_NDB; i++) {
        int st = ks_geo_file(g, (enum ks_geo_db)i)->status;
        bad += st != KS_OK;
        missing += st == KS_ENOTFOUND;
    }
    if (missing == KS_GEO_NDB) {
        ks_cli_error(cli, "%s: no geolocation data (%s, %s not found); %s", cli->geo_dir,
                     KS_GEO_COUNTRY_FILE, KS_GEO_ASN_FILE, todo);
        return bad;
    }
    for (int i = 0; i < KS_GEO_NDB; i++) {
        const struct ks_geo_file *f = ks_geo_file(g, (enum ks_geo_db)i);
        if (f->status == KS_ENOTFOUND)
            ks_cli_error(cli, "%s: not found; %s", f->path, todo);
        else if (f->status != KS_OK)
            ks_cli_error(cli,
                         "%s: %s: %s; run `scripts/install-geo` to install it again, or set "
                         "--geo-dir / $KANSOKU_GEO_DIR",
                         f->path, ks_strerror(f->status), f->detail);
    }
    return bad;
}

static void format_time(int64_t t, char *buf, size_t size)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, size, "-");
}

static void print_info(const struct ks_cli *cli, const struct ks_geo *g)
{
    if (!cli->json)
        printf("data directory: %s\n", cli->geo_dir);
    for (int i = 0; i < KS_GEO_NDB; i++) {
        const struct ks_geo_file *f = ks_geo_file(g, (enum ks_geo_db)i);
        char when[32];
        format_time(f->build_time, when, sizeof when);
        if (cli->json) {
            json_t *o = json_object();
            json_object_set_new(o, "name", json_string(f->name));
            json_object_set_new(o, "path", json_string(f->path));
            json_object_set_new(o, "status", json_string(ks_strerror(f->status)));
            if (f->status == KS_OK) {
                json_object_set_new(o, "format", json_string(f->format));
                json_object_set_new(o, "version", json_string(f->version));
                json_object_set_new(o, "built", json_string(when));
                json_object_set_new(o, "size", json_integer((json_int_t)f->size));
                json_object_set_new(o, i == KS_GEO_ASN ? "ranges" : "nodes",
                                    json_integer((json_int_t)f->records));
                if (i == KS_GEO_ASN)
                    json_object_set_new(o, "records", json_integer((json_int_t)f->records2));
            } else {
                json_object_set_new(o, "detail", json_string(f->detail));
            }
            ks_cli_json_line(o);
            continue;
        }
        printf("%s: %s\n", f->name, f->path);
        if (f->status != KS_OK) {
            printf("  status:  %s (%s)\n", ks_strerror(f->status), f->detail);
            continue;
        }
        printf("  format:  %s\n  version: %s\n  built:   %s\n  size:    %" PRIu64 " bytes\n",
               f->format, f->version, when, f->size);
        if (i == KS_GEO_ASN)
            printf("  ranges:  %" PRIu64 " (IPv4 + IPv6 boundaries)\n  records: %" PRIu64
                   " (distinct AS + organisation)\n",
                   f->records, f->records2);
        else
            printf("  nodes:   %" PRIu64 " (search tree)\n", f->records);
    }
}

struct geo_run {
    const struct ks_cli *cli;
    const struct ks_geo *g;
    bool corrupt_seen; /* a lookup failed on a damaged file (reported once) */
    bool header_done;  /* the table's header line was printed */
};

/* Looks up one address given as text; false if it is not an address. */
static bool lookup_one(struct geo_run *run, const char *s, size_t n)
{
    const struct ks_cli *cli = run->cli;
    const struct ks_geo *g = run->g;
    struct ks_addr a;
    if (ks_addr_parse(s, n, &a) != KS_OK) {
        ks_cli_error(cli, "'%.*s': not an IP address", (int)(n > 64 ? 64 : n), s);
        return false;
    }
    struct ks_geo_result r;
    int err = ks_geo_lookup(g, &a, &r);
    if (err == KS_ECORRUPT && !run->corrupt_seen) {
        run->corrupt_seen = true;
        ks_cli_error(cli, "%s: lookup failed: %s", ks_geo_file(g, KS_GEO_COUNTRY)->path,
                     ks_strerror(err));
    }
    char ip[KS_ADDR_STRLEN];
    ks_addr_format(&a, ip, sizeof ip);
    if (cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "ip", json_string(ip));
        json_object_set_new(o, "country", json_string(r.country));
        json_object_set_new(o, "asn", r.asn ? json_integer(r.asn) : json_null());
        json_object_set_new(o, "org", r.org[0] ? json_string(r.org) : json_null());
        ks_cli_json_line(o);
    } else {
        if (!run->header_done) {
            printf("%-15s  %-2s  %-10s  %s\n", "IP", "CC", "ASN", "ORG");
            run->header_done = true;
        }
        char asn[16] = "-";
        if (r.asn)
            snprintf(asn, sizeof asn, "AS%" PRIu32, r.asn);
        printf("%-15s  %-2s  %-10s  %s\n", ip, r.country, asn, r.org[0] ? r.org : "-");
    }
    return true;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int lookup_stdin(struct geo_run *run)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int bad = 0;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        size_t b = 0, e = (size_t)got;
        while (b < e && is_space(line[b]))
            b++;
        while (e > b && is_space(line[e - 1]))
            e--;
        if (b == e || line[b] == '#')
            continue;
        if (!lookup_one(run, line + b, e - b))
            bad++;
    }
    if (ferror(stdin)) {
        ks_cli_error(run->cli, "-: %s", strerror(errno));
        bad++;
    }
    free(line);
    return bad;
}

static int cmd_build(int argc, char **argv)
{
    struct ks_cli cli;
    ks_cli_init(&cli, "geo build", build_usage, build_help);
    static const struct option opts[] = {KS_CLI_COMMON_OPTS,
                                         {"out", required_argument, NULL, 'o'},
                                         {"source-version", required_argument, NULL, 0x200},
                                         {0, 0, 0, 0}};
    const char *out = NULL, *version = "";
    char *out_alloc = NULL;
    int opt, code;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT "o:", opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        if (opt == 'o')
            out = optarg;
        else if (opt == 0x200)
            version = optarg;
    }
    if (optind >= argc)
        return ks_cli_usage_error(&cli, "no CSV file given");
    if (!out) {
        size_t dl = strlen(cli.geo_dir);
        out_alloc = malloc(dl + sizeof "/" KS_GEO_ASN_FILE);
        if (!out_alloc) {
            ks_cli_error(&cli, "out of memory");
            return KS_EXIT_FAIL;
        }
        memcpy(out_alloc, cli.geo_dir, dl);
        memcpy(out_alloc + dl, "/" KS_GEO_ASN_FILE, sizeof "/" KS_GEO_ASN_FILE);
        out = out_alloc;
    }
    struct ks_geo_build_stats st;
    int err = ks_geo_build_asn((const char *const *)(argv + optind), (size_t)(argc - optind), out,
                               version, &cli.diag, &st);
    int rc = KS_EXIT_OK;
    if (err != KS_OK) {
        ks_cli_error(&cli, "%s: %s%s%s", out, ks_strerror(err), err == KS_EIO ? ": " : "",
                     err == KS_EIO ? strerror(errno) : "");
        rc = KS_EXIT_FAIL;
    } else if (cli.json) {
        json_t *o = json_object();
        json_object_set_new(o, "out", json_string(out));
        json_object_set_new(o, "lines", json_integer((json_int_t)st.lines));
        json_object_set_new(o, "ranges4", json_integer((json_int_t)st.ranges4));
        json_object_set_new(o, "ranges6", json_integer((json_int_t)st.ranges6));
        json_object_set_new(o, "bad", json_integer((json_int_t)st.bad));
        json_object_set_new(o, "overlaps", json_integer((json_int_t)st.overlaps));
        json_object_set_new(o, "records", json_integer(st.records));
        ks_cli_json_line(o);
    } else if (!cli.quiet) {
        printf("%s: %" PRIu64 " IPv4 + %" PRIu64 " IPv6 ranges, %" PRIu32 " records, %" PRIu64
               " bad lines, %" PRIu64 " overlapping ranges\n",
               out, st.ranges4, st.ranges6, st.records, st.bad, st.overlaps);
    }
    free(out_alloc);
    return rc;
}

int ks_cmd_geo(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "build") == 0)
        return cmd_build(argc - 1, argv + 1);

    struct ks_cli cli;
    ks_cli_init(&cli, "geo", geo_usage, geo_help);
    static const struct option opts[] = {
        KS_CLI_COMMON_OPTS, {"info", no_argument, NULL, 0x200}, {0, 0, 0, 0}};
    bool info = false;
    int opt, code;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        if (opt == 0x200)
            info = true;
    }
    if (info && optind < argc)
        return ks_cli_usage_error(&cli, "--info takes no addresses");

    struct ks_geo *g = NULL;
    int err = ks_geo_open(cli.geo_dir, &g);
    if (!g) {
        ks_cli_error(&cli, "%s: %s", cli.geo_dir, ks_strerror(err));
        return KS_EXIT_FAIL;
    }
    int rc = report_files(&cli, g) ? KS_EXIT_FAIL : KS_EXIT_OK;
    if (info) {
        print_info(&cli, g);
        ks_geo_free(g);
        return rc;
    }
    struct geo_run run = {&cli, g, false, false};
    int bad = 0;
    if (optind >= argc)
        bad += lookup_stdin(&run);
    for (int i = optind; i < argc; i++) {
        if (strcmp(argv[i], "-") == 0)
            bad += lookup_stdin(&run);
        else if (!lookup_one(&run, argv[i], strlen(argv[i])))
            bad++;
    }
    ks_geo_free(g);
    if (bad || run.corrupt_seen)
        rc = KS_EXIT_FAIL;
    return rc;
}
