/* kansoku md6sum: MD6 digests of files in the form of coreutils' sha256sum, and -c to check
 * a list of them, with sha256sum's messages and exit codes. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "kansoku/ks_md6.h"

static const char usage[] =
    "Usage: kansoku md6sum [-d BITS] [-L N] [-r N] [-K KEY] [--threads N] [--tag] [FILE...|-]\n"
    "       kansoku md6sum -c [--status] [--strict] [-q] [LIST...|-]\n";

static const char help[] =
    "Usage: kansoku md6sum [-d BITS] [-L N] [-r N] [-K KEY] [--threads N] [--tag] [FILE...|-]\n"
    "       kansoku md6sum -c [--status] [--strict] [-q] [LIST...|-]\n"
    "\n"
    "Prints the MD6 digest of each FILE (standard input when there is none, or for '-') as\n"
    "'DIGEST  NAME', the form of sha256sum, or with --tag as 'MD6-BITS (NAME) = DIGEST'.\n"
    "With -c, reads such lines from each LIST and checks the files they name: 'NAME: OK' or\n"
    "'NAME: FAILED', warnings on stderr, and exit status 1 if any file does not match or cannot\n"
    "be read, or if a list holds no well-formed line. Malformed lines are reported (with their\n"
    "line number) and skipped. Large files are hashed on several threads.\n"
    "\n"
    "Options:\n"
    "  -d, --bits BITS    digest size, 1..512 bits (default 256; with -c, the size of each\n"
    "                     listed digest unless given)\n"
    "  -L, --mode N       MD6 mode: 0 sequential .. 64 full tree (default 64)\n"
    "  -r, --rounds N     rounds (default 40 + BITS/4, at least 80 with a key)\n"
    "  -K, --key KEY      key, up to 64 bytes (the text as given)\n"
    "      --threads N    threads for large files (default: the number of cores)\n"
    "      --path NAME    computation path: auto, portable, sse2, avx2, avx512\n"
    "      --tag          BSD-style lines\n"
    "  -c, --check        check the digests listed in LIST files\n"
    "      --status       with -c: print nothing, only the exit status tells\n"
    "      --strict       with -c: malformed lines make the exit status 1\n"
    "  -q, --quiet        with -c: do not print OK lines\n"
    "  -w, --warn         with -c: accepted for sha256sum's sake; malformed lines are always\n"
    "                     reported\n"
    "\n"
    "Exit status: 0 all done (all matched), 1 a file could not be read or did not match,\n"
    "2 usage error or invalid parameters.\n"
    "\n" KS_CLI_COMMON_HELP;

struct md6sum {
    struct ks_cli cli;
    struct ks_md6_params p;
    int d_given;
    int tag, check, status, strict;
};

/* coreutils escapes names with a backslash or a newline and marks the line with '\'. */
static int needs_escape(const char *s)
{
    return strchr(s, '\\') || strchr(s, '\n') || strchr(s, '\r');
}

static void put_name(const char *s, int esc)
{
    for (; *s; s++) {
        if (esc && *s == '\\')
            fputs("\\\\", stdout);
        else if (esc && *s == '\n')
            fputs("\\n", stdout);
        else if (esc && *s == '\r')
            fputs("\\r", stdout);
        else
            putchar(*s);
    }
}

/* Hashes one file ("-" = standard input) with the parameters of m. Returns 0, or -1 with
 * errno set (the message is the caller's). */
static int hash_file(const struct ks_md6_params *p, const char *name, uint8_t *dig,
                     uint64_t *nbytes)
{
    int fd = strcmp(name, "-") == 0 ? STDIN_FILENO : open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    errno = 0;
    int err = ks_md6_hash_fd(p, fd, dig, KS_MD6_MAX_BYTES, nbytes);
    int saved = errno;
    if (fd != STDIN_FILENO)
        close(fd);
    if (err) {
        errno = saved ? saved : EIO;
        return -1;
    }
    return 0;
}

static int sum_files(struct md6sum *m, char **files, int nfiles)
{
    static char *stdin_only[] = {"-"};
    int rc = KS_EXIT_OK;
    if (nfiles == 0) {
        files = stdin_only;
        nfiles = 1;
    }
    for (int i = 0; i < nfiles; i++) {
        uint8_t dig[KS_MD6_MAX_BYTES];
        uint64_t n = 0;
        char hex[KS_MD6_HEX_SIZE];
        if (hash_file(&m->p, files[i], dig, &n) != 0) {
            ks_cli_error(&m->cli, "%s: %s", files[i], strerror(errno));
            rc = KS_EXIT_FAIL;
            continue;
        }
        ks_md6_hex(dig, m->p.d, hex, sizeof hex);
        if (m->cli.json) {
            json_t *o = json_object();
            json_object_set_new(o, "file", json_string(files[i]));
            json_object_set_new(o, "md6", json_string(hex));
            json_object_set_new(o, "bits", json_integer(m->p.d));
            json_object_set_new(o, "bytes", json_integer((json_int_t)n));
            ks_cli_json_line(o);
            continue;
        }
        int esc = needs_escape(files[i]);
        if (m->tag) {
            printf("%sMD6-%u (", esc ? "\\" : "", m->p.d);
            put_name(files[i], esc);
            printf(") = %s\n", hex);
        } else {
            printf("%s%s  ", esc ? "\\" : "", hex);
            put_name(files[i], esc);
            putchar('\n');
        }
    }
    return rc;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Undoes coreutils' escaping in place; 0 if an escape is unknown. */
static int unescape(char *s)
{
    char *w = s;
    for (; *s; s++) {
        if (*s != '\\') {
            *w++ = *s;
            continue;
        }
        s++;
        if (*s == '\\')
            *w++ = '\\';
        else if (*s == 'n')
            *w++ = '\n';
        else if (*s == 'r')
            *w++ = '\r';
        else
            return 0;
    }
    *w = '\0';
    return 1;
}

/* Splits a list line into its hex digest, its size in bits and the file name: "HEX  NAME",
 * "HEX *NAME", "HEX NAME", or "MD6-BITS (NAME) = HEX", each optionally after '\' (escaped
 * name). Returns 0 if the line is malformed. */
static int parse_line(char *line, unsigned d_opt, int d_given, char **hex, unsigned *d, char **name)
{
    int esc = 0;
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line == '\\') {
        esc = 1;
        line++;
    }
    size_t nhex;
    if (strncmp(line, "MD6-", 4) == 0) {
        char *end;
        unsigned long bits = strtoul(line + 4, &end, 10);
        if (end == line + 4 || bits < 1 || bits > KS_MD6_MAX_BITS || strncmp(end, " (", 2) != 0)
            return 0;
        char *nm = end + 2;
        char *close = strstr(nm, ") = ");
        if (!close)
            return 0;
        /* the last ") = " before the digest, names may contain it */
        for (char *c2; (c2 = strstr(close + 1, ") = "));)
            close = c2;
        *close = '\0';
        *name = nm;
        *hex = close + 4;
        nhex = strlen(*hex);
        *d = (unsigned)bits;
    } else {
        *hex = line;
        for (nhex = 0; hexval(line[nhex]) >= 0; nhex++)
            ;
        if (line[nhex] != ' ')
            return 0;
        line[nhex] = '\0';
        char *nm = line + nhex + 1;
        if (*nm == ' ' || *nm == '*')
            nm++;
        *name = nm;
        *d = d_given ? d_opt : (unsigned)(4 * nhex);
    }
    if (**name == '\0' || (esc && !unescape(*name)))
        return 0;
    if (*d < 1 || *d > KS_MD6_MAX_BITS || nhex != (*d + 3) / 4 || (d_given && *d != d_opt))
        return 0;
    for (size_t i = 0; i < nhex; i++)
        if (hexval((*hex)[i]) < 0)
            return 0;
    return 1;
}

struct check_counts {
    uint64_t bad_lines, unreadable, mismatched, good_lines;
};

static void check_report(const struct md6sum *m, const char *name, const char *status)
{
    if (m->status)
        return;
    if (m->cli.json) {
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(name));
        json_object_set_new(o, "status", json_string(status));
        ks_cli_json_line(o);
        return;
    }
    if (m->cli.quiet && strcmp(status, "OK") == 0)
        return;
    int esc = needs_escape(name);
    if (esc)
        putchar('\\');
    put_name(name, esc);
    printf(": %s\n", status);
}

/* Checks one list; returns 0 if it could not be read. As in coreutils, -q drops the OK lines
 * and the per-line reports of malformed lines, not the summary (--status drops all). */
static int check_list(struct md6sum *m, const char *list, struct check_counts *tot)
{
    FILE *f = strcmp(list, "-") == 0 ? stdin : fopen(list, "r");
    const char *shown = strcmp(list, "-") == 0 ? "'standard input'" : list;
    if (!f) {
        ks_cli_error(&m->cli, "%s: %s", list, strerror(errno));
        return 0;
    }
    struct check_counts c = {0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint32_t lineno = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        char *hex, *name;
        unsigned d;
        if ((size_t)len != strlen(line) || !parse_line(line, m->p.d, m->d_given, &hex, &d, &name)) {
            c.bad_lines++;
            if (!m->status && !m->cli.quiet)
                ks_cli_error(&m->cli, "%s: %" PRIu32 ": improperly formatted MD6 checksum line",
                             shown, lineno);
            continue;
        }
        c.good_lines++;
        struct ks_md6_params p = m->p;
        p.d = d;
        uint8_t dig[KS_MD6_MAX_BYTES];
        char got[KS_MD6_HEX_SIZE];
        if (hash_file(&p, name, dig, NULL) != 0) {
            ks_cli_error(&m->cli, "%s: %s", name, strerror(errno));
            c.unreadable++;
            check_report(m, name, "FAILED open or read");
            continue;
        }
        ks_md6_hex(dig, d, got, sizeof got);
        for (char *h = hex; *h; h++)
            if (*h >= 'A' && *h <= 'F')
                *h = (char)(*h - 'A' + 'a');
        int ok = strcmp(got, hex) == 0;
        if (!ok)
            c.mismatched++;
        check_report(m, name, ok ? "OK" : "FAILED");
    }
    free(line);
    int read_err = ferror(f);
    if (f != stdin)
        fclose(f);
    if (read_err) {
        ks_cli_error(&m->cli, "%s: read error", list);
        return 0;
    }
    if (c.good_lines == 0) {
        ks_cli_error(&m->cli, "%s: no properly formatted checksum lines found", shown);
        tot->bad_lines += c.bad_lines;
        return 0;
    }
    if (!m->status) {
        if (c.bad_lines)
            ks_cli_error(&m->cli, "WARNING: %" PRIu64 " line%s improperly formatted", c.bad_lines,
                         c.bad_lines == 1 ? " is" : "s are");
        if (c.unreadable)
            ks_cli_error(&m->cli, "WARNING: %" PRIu64 " listed file%s could not be read",
                         c.unreadable, c.unreadable == 1 ? "" : "s");
        if (c.mismatched)
            ks_cli_error(&m->cli, "WARNING: %" PRIu64 " computed checksum%s did NOT match",
                         c.mismatched, c.mismatched == 1 ? "" : "s");
    }
    tot->bad_lines += c.bad_lines;
    tot->unreadable += c.unreadable;
    tot->mismatched += c.mismatched;
    tot->good_lines += c.good_lines;
    return 1;
}

static int check_lists(struct md6sum *m, char **lists, int nlists)
{
    static char *stdin_only[] = {"-"};
    if (nlists == 0) {
        lists = stdin_only;
        nlists = 1;
    }
    struct check_counts tot = {0};
    int rc = KS_EXIT_OK;
    for (int i = 0; i < nlists; i++)
        if (!check_list(m, lists[i], &tot))
            rc = KS_EXIT_FAIL;
    if (tot.unreadable || tot.mismatched || (m->strict && tot.bad_lines))
        rc = KS_EXIT_FAIL;
    return rc;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *v)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        return 0;
    *v = strtoul(s, &end, 10);
    return errno == 0 && *end == '\0' && *v <= max;
}

int ks_cmd_md6sum(int argc, char **argv)
{
    enum { OPT_THREADS = 0x200, OPT_TAG, OPT_STATUS, OPT_STRICT, OPT_PATH };
    static const struct option opts[] = {
        KS_CLI_COMMON_OPTS,
        {"bits", required_argument, NULL, 'd'},
        {"mode", required_argument, NULL, 'L'},
        {"rounds", required_argument, NULL, 'r'},
        {"key", required_argument, NULL, 'K'},
        {"check", no_argument, NULL, 'c'},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"tag", no_argument, NULL, OPT_TAG},
        {"status", no_argument, NULL, OPT_STATUS},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"path", required_argument, NULL, OPT_PATH},
        {"warn", no_argument, NULL, 'w'},
        {0},
    };
    struct md6sum m;
    memset(&m, 0, sizeof m);
    ks_cli_init(&m.cli, "md6sum", usage, help);
    ks_md6_params_default(&m.p, 256);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    m.p.threads = cores > 0 ? (unsigned)(cores < 64 ? cores : 64) : 1;
    int opt, code;
    unsigned long v;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT "d:L:r:K:cw", opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&m.cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        switch (opt) {
        case 'd':
            if (!parse_uint(optarg, KS_MD6_MAX_BITS, &v) || v < 1)
                return ks_cli_usage_error(&m.cli, "digest size must be 1..%d bits, not '%s'",
                                          KS_MD6_MAX_BITS, optarg);
            m.p.d = (unsigned)v;
            m.d_given = 1;
            break;
        case 'L':
            if (!parse_uint(optarg, KS_MD6_MAX_L, &v))
                return ks_cli_usage_error(&m.cli, "mode L must be 0..%d, not '%s'", KS_MD6_MAX_L,
                                          optarg);
            m.p.L = (unsigned)v;
            break;
        case 'r':
            if (!parse_uint(optarg, KS_MD6_MAX_ROUNDS, &v))
                return ks_cli_usage_error(&m.cli, "rounds must be 0..%d, not '%s'",
                                          KS_MD6_MAX_ROUNDS, optarg);
            m.p.r = (int)v;
            break;
        case 'K':
            if (strlen(optarg) > KS_MD6_MAX_KEY)
                return ks_cli_usage_error(&m.cli, "key must be at most %d bytes, not %zu",
                                          KS_MD6_MAX_KEY, strlen(optarg));
            m.p.key = (const uint8_t *)optarg;
            m.p.keylen = strlen(optarg);
            break;
        case 'c':
            m.check = 1;
            break;
        case 'w': /* malformed lines are always reported */
            break;
        case OPT_THREADS:
            if (!parse_uint(optarg, 256, &v) || v < 1)
                return ks_cli_usage_error(&m.cli, "threads must be 1..256, not '%s'", optarg);
            m.p.threads = (unsigned)v;
            break;
        case OPT_TAG:
            m.tag = 1;
            break;
        case OPT_STATUS:
            m.status = 1;
            break;
        case OPT_STRICT:
            m.strict = 1;
            break;
        case OPT_PATH:
            if (ks_md6_path_parse(optarg, &m.p.path) != KS_OK)
                return ks_cli_usage_error(&m.cli, "unknown path '%s'", optarg);
            if (!ks_md6_path_supported(m.p.path)) {
                ks_cli_error(&m.cli, "path %s is not supported by this CPU", optarg);
                return KS_EXIT_FAIL;
            }
            break;
        default:
            return ks_cli_usage_error(&m.cli, "unexpected option");
        }
    }
    char msg[160];
    if (ks_md6_params_error(&m.p, msg, sizeof msg))
        return ks_cli_usage_error(&m.cli, "%s", msg);
    if (m.check && m.tag)
        return ks_cli_usage_error(&m.cli, "--tag does not apply to -c");
    if (!m.check && (m.status || m.strict))
        return ks_cli_usage_error(&m.cli, "--status and --strict apply only to -c");
    if (m.check)
        return check_lists(&m, argv + optind, argc - optind);
    return sum_files(&m, argv + optind, argc - optind);
}
