#include "cli.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kansoku/ks_store.h"
#include "ks_config.h"

static void print_diag(void *user, const char *module, const struct ks_loc *loc, int err,
                       const char *msg)
{
    struct ks_cli *cli = user;
    cli->diag_count++;
    if (cli->quiet)
        return;
    char where[512];
    ks_loc_format(loc, where, sizeof where);
    fprintf(stderr, "kansoku: %s: %s%s%s: %s\n", module ? module : cli->cmd, where,
            where[0] ? ": " : "", ks_strerror(err), msg);
}

void ks_cli_init(struct ks_cli *cli, const char *cmd, const char *usage, const char *help)
{
    memset(cli, 0, sizeof *cli);
    cli->cmd = cmd;
    cli->usage = usage;
    cli->help = help;
    const char *db = getenv("KANSOKU_DB");
    cli->db_path = db && *db ? db : "kansoku.db";
    const char *geo = getenv("KANSOKU_GEO_DIR");
    cli->geo_dir = geo && *geo ? geo : KS_GEO_DIR_DEFAULT;
    cli->diag.fn = print_diag;
    cli->diag.user = cli;
    cli->diag.limit = 20;
    optind = 1;
    opterr = 0; /* we print our own message, naming the subcommand */
}

int ks_cli_common_opt(struct ks_cli *cli, int opt, const char *arg, int *exit_code)
{
    switch (opt) {
    case 'h':
        fputs(cli->help, stdout);
        *exit_code = KS_EXIT_OK;
        return -1;
    case 'q':
        cli->quiet = true;
        ks_log_set_level(KS_LOG_ERROR);
        return 1;
    case 'v':
        cli->verbose = true;
        ks_log_set_level(KS_LOG_INFO);
        return 1;
    case 0x100:
        cli->json = true;
        return 1;
    case 0x101:
        cli->db_path = arg;
        return 1;
    case 0x102:
        cli->geo_dir = arg;
        return 1;
    case '?':
        if (optopt)
            *exit_code = ks_cli_usage_error(cli, "unknown option or missing argument: -%c", optopt);
        else
            *exit_code = ks_cli_usage_error(cli, "unknown option '%s'", arg ? arg : "?");
        return -1;
    case ':':
        *exit_code = ks_cli_usage_error(cli, "option -%c needs an argument", optopt);
        return -1;
    default:
        return 0;
    }
}

int ks_cli_usage_error(const struct ks_cli *cli, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "kansoku %s: ", cli->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%sTry 'kansoku %s --help'.\n", cli->usage ? cli->usage : "", cli->cmd);
    return KS_EXIT_USAGE;
}

static void vprint(const struct ks_cli *cli, const char *fmt, va_list ap)
{
    fprintf(stderr, "kansoku: %s: ", cli->cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void ks_cli_error(const struct ks_cli *cli, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint(cli, fmt, ap);
    va_end(ap);
}

void ks_cli_warn(const struct ks_cli *cli, const char *fmt, ...)
{
    if (cli->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprint(cli, fmt, ap);
    va_end(ap);
}

void ks_cli_info(const struct ks_cli *cli, const char *fmt, ...)
{
    if (!cli->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprint(cli, fmt, ap);
    va_end(ap);
}

void ks_cli_json_line(json_t *obj)
{
    if (!obj)
        return;
    json_dumpf(obj, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    fputc('\n', stdout);
    json_decref(obj);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ks_progress_start(struct ks_progress *p, const struct ks_cli *cli, const char *label,
                       uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->enabled = !cli->quiet && total > 0 && isatty(STDERR_FILENO);
    p->total = total;
    p->label = label;
}

void ks_progress_update(struct ks_progress *p, uint64_t done)
{
    p->done = done;
    if (!p->enabled)
        return;
    int64_t t = now_ms();
    if (t - p->last_draw_ms < 200)
        return;
    p->last_draw_ms = t;
    unsigned pct = p->total ? (unsigned)(done * 100 / p->total) : 0;
    if (pct > 100)
        pct = 100;
    char bar[31];
    unsigned fill = pct * 30 / 100;
    memset(bar, '#', fill);
    memset(bar + fill, '.', 30 - fill);
    bar[30] = '\0';
    fprintf(stderr, "\r%s [%s] %3u%%", p->label ? p->label : "", bar, pct);
    fflush(stderr);
}

void ks_progress_done(struct ks_progress *p)
{
    if (p->enabled && p->last_draw_ms) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->enabled = false;
}

int ks_cli_run_verbs(struct ks_cli *cli, const struct ks_cli_verb *verbs, size_t n, int argc,
                     char **argv)
{
    if (argc < 2)
        return ks_cli_usage_error(cli, "which verb?");
    if (argv[1][0] == '-') {
        static const struct option opts[] = {KS_CLI_COMMON_OPTS, {0}};
        int opt, code = KS_EXIT_OK;
        while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
            int r = ks_cli_common_opt(cli, opt, opt == '?' ? argv[optind - 1] : optarg, &code);
            if (r < 0)
                return code;
        }
        return ks_cli_usage_error(cli, "the verb comes first: kansoku %s <verb> [options]",
                                  cli->cmd);
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].run(argc - 1, argv + 1);
    return ks_cli_usage_error(cli, "unknown verb '%s'", argv[1]);
}

int ks_cli_capture_identity(struct ks_cli *cli, const char *const *files, size_t n,
                            const char *iface, const char *salt, struct ks_store_input *in)
{
    uint64_t total = 0;
    bool unique = iface != NULL;
    for (size_t i = 0; i < n; i++)
        unique |= strcmp(files[i], "-") == 0;
    if (n == 1 && !unique && !salt) {
        if (ks_store_hash_file(files[0], in->sha256, &in->size) == KS_OK)
            return KS_OK;
        ks_cli_error(cli, "%s: cannot read: %s", files[0], strerror(errno));
        return KS_EIO;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(ctx);
        return KS_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(files[i], "-") == 0)
            continue;
        char hex[65];
        uint64_t size;
        if (ks_store_hash_file(files[i], hex, &size) != KS_OK) {
            ks_cli_error(cli, "%s: cannot read: %s", files[i], strerror(errno));
            EVP_MD_CTX_free(ctx);
            return KS_EIO;
        }
        EVP_DigestUpdate(ctx, hex, 64);
        total += size;
    }
    if (salt)
        EVP_DigestUpdate(ctx, salt, strlen(salt));
    if (unique) { /* stdin or live: never the same twice */
        char t[96];
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(t, sizeof t, "%s:%lld.%09ld:%d", iface ? iface : "-", (long long)ts.tv_sec,
                 ts.tv_nsec, (int)getpid());
        EVP_DigestUpdate(ctx, t, strlen(t));
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; i < 32; i++)
        snprintf(in->sha256 + 2 * i, 3, "%02x", md[i]);
    in->size = total;
    return KS_OK;
}

const char *ks_cli_cache_dir(void)
{
    static char dir[4096];
    const char *env = getenv("KANSOKU_CACHE_DIR");
    if (env)
        return *env ? env : NULL;
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg && *xdg == '/')
        n = snprintf(dir, sizeof dir, "%s/kansoku", xdg);
    else if (home && *home == '/')
        n = snprintf(dir, sizeof dir, "%s/.cache/kansoku", home);
    else
        return NULL;
    return n > 0 && (size_t)n < sizeof dir ? dir : NULL;
}

bool ks_cli_parse_metric(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return false;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s)
        return false;
    double mult = 1;
    if (*end == 'k' || *end == 'K')
        mult = 1e3;
    else if (*end == 'M')
        mult = 1e6;
    else if (*end == 'G')
        mult = 1e9;
    else if (*end == 'T')
        mult = 1e12;
    else if (*end)
        return false;
    if (*end && end[1])
        return false;
    v *= mult;
    if (!(v >= 0 && v <= (double)max && v < 1.8e19))
        return false;
    *out = (uint64_t)v;
    return true;
}

int ks_cli_store_begin(struct ks_cli *cli, const struct ks_store_input *in, bool force,
                       struct ks_store **st, struct ks_ingest **ing)
{
    int rc = ks_store_open(cli->db_path, NULL, st);
    if (rc != KS_OK) {
        ks_cli_error(cli, "%s", ks_store_errmsg(NULL));
        return rc;
    }
    rc = ks_store_input_begin(*st, in, force ? KS_STORE_FORCE : 0, ing);
    if (rc == KS_EEXIST)
        ks_cli_error(cli, "%s: ingested before (same content); --force stores it again", in->name);
    else if (rc != KS_OK)
        ks_cli_error(cli, "%s", ks_store_errmsg(*st));
    return rc;
}

int ks_cli_store_end(struct ks_cli *cli, struct ks_store *st, struct ks_ingest **ing, int store_rc)
{
    int rc = ks_store_input_end(*ing, store_rc == KS_OK);
    *ing = NULL;
    if (store_rc == KS_OK && rc == KS_OK)
        return KS_OK;
    ks_cli_error(cli, "store: %s", ks_store_errmsg(st));
    return store_rc != KS_OK ? store_rc : rc;
}

int ks_cli_input_init(struct ks_cli_input *in, int argc, bool live)
{
    memset(in, 0, sizeof *in);
    in->live = live;
    ks_capture_config_default(&in->cfg);
    in->files = calloc((size_t)argc + 1, sizeof *in->files);
    return in->files ? KS_OK : KS_ENOMEM;
}

int ks_cli_input_opt(struct ks_cli *cli, struct ks_cli_input *in, int opt, const char *arg,
                     int *exit_code)
{
    uint64_t v;
    switch (opt) {
    case 'r':
        in->files[in->nfiles++] = arg;
        return 1;
    case 'i':
        in->iface = arg;
        return 1;
    case KS_CLI_OPT_FILTER:
        in->cfg.filter = arg;
        return 1;
    case KS_CLI_OPT_PROMISC:
        in->cfg.promisc = true;
        return 1;
    case KS_CLI_OPT_SNAPLEN:
        if (!ks_cli_parse_metric(arg, UINT32_MAX, &v) || v == 0) {
            *exit_code = ks_cli_usage_error(cli, "bad value '%s' for --snaplen", arg);
            return -1;
        }
        in->cfg.snaplen = (uint32_t)v;
        return 1;
    default:
        return 0;
    }
}

int ks_cli_input_finish(struct ks_cli *cli, struct ks_cli_input *in, int argc, char **argv,
                        int *exit_code)
{
    for (int i = optind; i < argc; i++)
        in->files[in->nfiles++] = argv[i];
    if (in->iface && in->nfiles) {
        *exit_code = ks_cli_usage_error(cli, "give either -i IFACE or files, not both");
        return -1;
    }
    if (!in->iface && !in->nfiles) {
        *exit_code = ks_cli_usage_error(cli, in->live ? "no input: give -r FILE (or '-' for "
                                                        "stdin) or -i IFACE"
                                                      : "no input: give -r FILE (or '-' for "
                                                        "stdin)");
        return -1;
    }
    return 0;
}

int ks_cli_input_open(struct ks_cli *cli, struct ks_cli_input *in, struct ks_capture **cap)
{
    in->cfg.diag = &cli->diag;
    int rc = in->iface ? ks_capture_open_live(in->iface, &in->cfg, cap)
                       : ks_capture_open_files(in->files, in->nfiles, &in->cfg, cap);
    if (rc != KS_OK)
        ks_cli_error(cli, "%s", ks_capture_errmsg(NULL));
    return rc;
}

void ks_cli_input_free(struct ks_cli_input *in)
{
    free(in->files);
    in->files = NULL;
    in->nfiles = 0;
}
