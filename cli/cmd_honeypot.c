/* kansoku honeypot: the low-interaction listener. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kansoku/ks_geo.h"
#include "kansoku/ks_honeypot.h"
#include "kansoku/ks_samples.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"
#include "samples/samples_config.h"

static const char hp_usage[] =
    "Usage: kansoku honeypot [--listen ADDR] [--tcp PORTS] [--udp PORTS] --samples DIR "
    "[options]\n";

static const char hp_help[] =
    "Usage: kansoku honeypot [--listen ADDR] [--tcp PORTS] [--udp PORTS] --samples DIR [options]\n"
    "\n"
    "A low-interaction honeypot: accepts TCP connections and UDP datagrams on the given ports,\n"
    "answers nothing (or a banner on TCP), and records every session in the store (table\n"
    "honeypot_sessions: time, source, port, bytes, first bytes of payload, SHA-256). Payloads\n"
    "that are or contain an executable (PE, ELF, #! script) go to the sample registry (kept\n"
    "read-only under --samples, registered 'via honeypot'). Nothing received is ever run, no\n"
    "connection is ever opened, UDP is never answered. Stops on SIGTERM/SIGINT (or after\n"
    "--duration), recording open sessions and completing the store input; prints a summary.\n"
    "With --json, one line per session and a summary object at the end; -v prints sessions.\n"
    "\n"
    "Options:\n"
    "      --listen ADDR         address to bind (default 0.0.0.0; :: for IPv6 and IPv4)\n"
    "      --tcp PORTS           TCP ports, e.g. 22,23,80-89,445\n"
    "      --udp PORTS           UDP ports\n"
    "      --samples DIR         where executables are kept (DIR/ab/cd/SHA256, mode 0400)\n"
    "      --banner PORT:TEXT    send TEXT on accept on TCP PORT (\\r \\n \\t escapes; repeat)\n"
    "      --sensor NAME         name in the records (default honeypot)\n"
    "      --max-sessions N      concurrent TCP sessions (default 16384)\n"
    "      --max-per-source N    concurrent TCP sessions per source address (default 32)\n"
    "      --read-timeout S      close a session silent for S seconds (default 30)\n"
    "      --session-timeout S   close a session S seconds old (default 300)\n"
    "      --max-bytes N         bytes read per session before closing it (default 1048576)\n"
    "      --record-bytes N      payload bytes kept in each record (default 4096)\n"
    "      --buffer-budget N     payload bytes buffered over all sessions (default 64 MiB)\n"
    "      --rotate S            complete the store input every S seconds (default 3600)\n"
    "      --user NAME           when started as root, run as NAME after binding\n"
    "                            (default nobody)\n"
    "      --duration S          stop after S seconds (default: run until signalled)\n"
    "      --clamav-db PATH      ClamAV database for the registry (default: none)\n"
    "      --yara-rules DIR      YARA rules for the registry (default " KS_YARA_DIR_DEFAULT
    " if present)\n"
    "      --no-store            record nothing in the store (sessions still printed)\n"
    "\n"
    "Exit status: 0 stopped normally; 1 a port could not be bound, the store failed to open,\n"
    "or privileges could not be dropped; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

static struct ks_honeypot *g_hp;

static void on_signal(int sig)
{
    (void)sig;
    if (g_hp)
        ks_honeypot_stop(g_hp);
}

static void print_diag(void *user, const char *module, const struct ks_loc *loc, int err,
                       const char *msg)
{
    struct ks_cli *cli = user;
    ks_cli_error(cli, "%s", msg);
}

static void on_session(void *user, const struct ks_honeypot_session *s)
{
    struct ks_cli *cli = user;
    char src[64], t[64];
    if (!cli->json && !cli->verbose)
        return;
    ks_addr_format(&s->source, src, sizeof src);
    ks_time_format(s->start, 0, 3, t, sizeof t);
    if (cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "ts", json_string(t));
        json_object_set_new(o, "proto", json_string(s->proto));
        json_object_set_new(o, "source", json_string(src));
        json_object_set_new(o, "sport", json_integer(s->sport));
        json_object_set_new(o, "port", json_integer(s->port));
        json_object_set_new(o, "bytes", json_integer((json_int_t)s->bytes));
        json_object_set_new(o, "duration_ms", json_integer((s->end - s->start) / 1000));
        json_object_set_new(o, "reason", json_string(s->reason));
        json_object_set_new(o, "sha256", s->sha256[0] ? json_string(s->sha256) : json_null());
        json_object_set_new(o, "sample", s->sample[0] ? json_string(s->sample) : json_null());
        ks_cli_json_line(o);
        fflush(stdout);
    } else {
        fprintf(stderr, "kansoku: honeypot: %s %s %s:%u -> %u %" PRIu64 " bytes %s%s%s\n", t,
                s->proto, src, s->sport, s->port, s->bytes, s->reason,
                s->sample[0] ? " sample " : "", s->sample);
    }
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

/* "PORT:TEXT" with \r \n \t \\ escapes; the text is unescaped in place. */
static int parse_banner(char *arg, struct ks_honeypot_banner *b)
{
    char *colon = strchr(arg, ':');
    uint64_t port;
    if (!colon)
        return -1;
    *colon = '\0';
    if (parse_u64(arg, 1, 65535, &port) != 0)
        return -1;
    char *r = colon + 1, *w = colon + 1;
    while (*r) {
        if (r[0] == '\\' && r[1]) {
            char c = r[1];
            *w++ = c == 'r' ? '\r' : c == 'n' ? '\n' : c == 't' ? '\t' : c;
            r += 2;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    b->port = (uint16_t)port;
    b->text = colon + 1;
    b->len = (size_t)(w - (colon + 1));
    return 0;
}

/* When root, make a new samples directory belong to the user the honeypot will run as. */
static void prepare_samples_dir(struct ks_cli *cli, const char *dir, const char *user)
{
    struct stat sb;
    if (geteuid() != 0)
        return;
    struct passwd *pw = getpwnam(user ? user : "nobody");
    if (!pw)
        return;
    if (stat(dir, &sb) != 0) {
        if (mkdir(dir, 0750) != 0)
            return;
        if (chown(dir, pw->pw_uid, pw->pw_gid) != 0)
            ks_cli_warn(cli, "%s: cannot give it to %s: %s", dir, pw->pw_name, strerror(errno));
    } else if (sb.st_uid != pw->pw_uid && !(sb.st_mode & S_IWOTH)) {
        ks_cli_warn(cli,
                    "%s: not writable by %s, the user the honeypot runs as: executables "
                    "will not be kept",
                    dir, pw->pw_name);
    }
}

int ks_cmd_honeypot(int argc, char **argv)
{
    static const struct option opts[] = {KS_CLI_COMMON_OPTS,
                                         {"listen", required_argument, NULL, 0x200},
                                         {"tcp", required_argument, NULL, 0x201},
                                         {"udp", required_argument, NULL, 0x202},
                                         {"samples", required_argument, NULL, 0x203},
                                         {"banner", required_argument, NULL, 0x204},
                                         {"sensor", required_argument, NULL, 0x205},
                                         {"max-sessions", required_argument, NULL, 0x206},
                                         {"max-per-source", required_argument, NULL, 0x207},
                                         {"read-timeout", required_argument, NULL, 0x208},
                                         {"session-timeout", required_argument, NULL, 0x209},
                                         {"max-bytes", required_argument, NULL, 0x20a},
                                         {"record-bytes", required_argument, NULL, 0x20b},
                                         {"buffer-budget", required_argument, NULL, 0x20c},
                                         {"rotate", required_argument, NULL, 0x20d},
                                         {"user", required_argument, NULL, 0x20e},
                                         {"duration", required_argument, NULL, 0x20f},
                                         {"clamav-db", required_argument, NULL, 0x210},
                                         {"yara-rules", required_argument, NULL, 0x211},
                                         {"no-store", no_argument, NULL, 0x212},
                                         {0}};
    static uint16_t tcp[65535], udp[65535];
    struct ks_honeypot_banner banners[64];
    struct ks_cli cli;
    struct ks_honeypot_config cfg;
    struct ks_samples_config scfg;
    struct ks_samples *smp = NULL;
    struct ks_store *st = NULL;
    struct ks_geo *geo = NULL;
    struct ks_honeypot *hp = NULL;
    const char *user = NULL;
    bool no_store = false;
    uint64_t duration = 0, v;
    int opt, code = KS_EXIT_OK, rc;
    ks_honeypot_config_default(&cfg);
    ks_samples_config_default(&scfg);
    cfg.tcp_ports = tcp;
    cfg.udp_ports = udp;
    cfg.banners = banners;
    ks_cli_init(&cli, "honeypot", hp_usage, hp_help);
    cli.diag.fn = print_diag;
    cli.diag.user = &cli;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        switch (opt) {
        case 0x200:
            cfg.listen = optarg;
            break;
        case 0x201:
        case 0x202: {
            size_t n = 0;
            rc = ks_honeypot_parse_ports(optarg, opt == 0x201 ? tcp : udp, 65535, &n);
            if (rc != KS_OK)
                return ks_cli_usage_error(&cli, "--%s needs ports like 22,80-89, not '%s'",
                                          opt == 0x201 ? "tcp" : "udp", optarg);
            *(opt == 0x201 ? &cfg.ntcp : &cfg.nudp) = n;
            break;
        }
        case 0x203:
            scfg.dir = optarg;
            break;
        case 0x204:
            if (cfg.nbanners >= 64 || parse_banner(optarg, &banners[cfg.nbanners]) != 0)
                return ks_cli_usage_error(&cli, "--banner needs PORT:TEXT (at most 64)");
            cfg.nbanners++;
            break;
        case 0x205:
            cfg.sensor = optarg;
            break;
        case 0x206:
        case 0x207:
        case 0x208:
        case 0x209:
        case 0x20b:
        case 0x20d:
            if (parse_u64(optarg, opt >= 0x208 ? 0 : 1, 1u << 24, &v) != 0)
                return ks_cli_usage_error(&cli, "'%s' needs a number (0..16777216)",
                                          argv[optind - 2]);
            if (opt == 0x206)
                cfg.max_sessions = (uint32_t)v;
            else if (opt == 0x207)
                cfg.max_per_source = (uint32_t)v;
            else if (opt == 0x208)
                cfg.read_timeout_s = (uint32_t)v;
            else if (opt == 0x209)
                cfg.session_timeout_s = (uint32_t)v;
            else if (opt == 0x20b)
                cfg.record_bytes = (uint32_t)v;
            else
                cfg.rotate_s = (uint32_t)v;
            break;
        case 0x20a:
        case 0x20c:
            if (parse_u64(optarg, 1, (uint64_t)1 << 40, &v) != 0)
                return ks_cli_usage_error(&cli, "'%s' needs a positive number of bytes",
                                          argv[optind - 2]);
            *(opt == 0x20a ? &cfg.max_bytes : &cfg.buffer_budget) = v;
            break;
        case 0x20e:
            user = optarg;
            break;
        case 0x20f:
            if (parse_u64(optarg, 1, 100u * 365 * 86400, &duration) != 0)
                return ks_cli_usage_error(&cli, "--duration needs a number of seconds");
            break;
        case 0x210:
            scfg.clamav_db = optarg;
            break;
        case 0x211:
            scfg.yara_dir = optarg;
            break;
        case 0x212:
            no_store = true;
            break;
        default:
            return ks_cli_usage_error(&cli, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return ks_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
    if (cfg.ntcp + cfg.nudp == 0)
        return ks_cli_usage_error(&cli, "give --tcp and/or --udp ports");
    if (!scfg.dir)
        return ks_cli_usage_error(&cli, "--samples DIR is required");
    if (!scfg.yara_dir) {
        struct stat sb;
        if (stat(KS_YARA_DIR_DEFAULT, &sb) == 0 && S_ISDIR(sb.st_mode))
            scfg.yara_dir = KS_YARA_DIR_DEFAULT;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    /* Each session is a descriptor: make room for max_sessions of them if the hard limit
     * allows. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rlim_t want = (rlim_t)cfg.max_sessions + cfg.ntcp + cfg.nudp + 64;
        if (rl.rlim_cur < want) {
            rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        if (rl.rlim_cur < want)
            ks_cli_warn(&cli,
                        "only %llu file descriptors (ulimit -n): fewer than %u sessions "
                        "can be open at once",
                        (unsigned long long)rl.rlim_cur, cfg.max_sessions);
    }
    code = KS_EXIT_FAIL;
    prepare_samples_dir(&cli, scfg.dir, user);
    if ((rc = ks_samples_new(&scfg, &cli.diag, &smp)) != KS_OK) {
        ks_cli_error(&cli, "cannot start the sample registry: %s", ks_strerror(rc));
        goto out;
    }
    if (!no_store) {
        if (ks_store_open(cli.db_path, NULL, &st) != KS_OK) {
            ks_cli_error(&cli, "%s", ks_store_errmsg(NULL));
            goto out;
        }
    }
    ks_geo_open(cli.geo_dir, &geo); /* without data, sample sources are "--" */
    cfg.store = st;
    cfg.samples = smp;
    cfg.geo = geo;
    cfg.on_session = on_session;
    cfg.user = &cli;
    cfg.run_as = user;
    if ((rc = ks_honeypot_new(&cfg, &cli.diag, &hp)) != KS_OK) {
        if (rc == KS_EINVAL)
            ks_cli_error(&cli, "--listen needs an IPv4 or IPv6 address");
        goto out;
    }
    if (geteuid() != 0 && user) {
        struct passwd *pw = getpwuid(geteuid());
        if (pw && strcmp(pw->pw_name, user) != 0)
            ks_cli_info(&cli, "not root: --user %s ignored, running as %s", user, pw->pw_name);
    }
    g_hp = hp;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    ks_cli_info(&cli, "listening on %s: %zu TCP and %zu UDP ports", cfg.listen, cfg.ntcp, cfg.nudp);
    if (!cli.quiet) {
        fprintf(stderr, "kansoku: honeypot: ready (%zu TCP, %zu UDP ports)\n", cfg.ntcp, cfg.nudp);
        fflush(stderr);
    }
    rc = ks_honeypot_run(hp, (uint32_t)duration);
    if (rc == KS_ENOTFOUND || (rc == KS_EIO && geteuid() == 0)) {
        g_hp = NULL;
        goto out; /* could not drop root: reported through diag */
    }
    g_hp = NULL;
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    struct ks_honeypot_stats hs;
    ks_honeypot_stats(hp, &hs);
    if (cli.json) {
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string("summary"));
#define J(f) json_object_set_new(o, #f, json_integer((json_int_t)hs.f))
        J(tcp_sessions);
        J(udp_datagrams);
        J(bytes);
        J(peak_active);
        J(refused_max_sessions);
        J(refused_per_source);
        J(read_timeouts);
        J(session_timeouts);
        J(max_bytes_closed);
        J(unbuffered);
        J(samples);
        J(sample_errors);
        J(accept_errors);
        J(io_errors);
        J(store_errors);
        J(inputs);
#undef J
        ks_cli_json_line(o);
    } else if (!cli.quiet) {
        fprintf(stderr,
                "kansoku: honeypot: %" PRIu64 " TCP sessions (peak %" PRIu64 " open), %" PRIu64
                " UDP datagrams, %" PRIu64 " bytes; refused %" PRIu64 " (max sessions) + %" PRIu64
                " (per source); timeouts %" PRIu64 " read + %" PRIu64 " session; %" PRIu64
                " closed at max bytes; %" PRIu64 " samples (%" PRIu64 " failed); errors: %" PRIu64
                " accept, %" PRIu64 " io, %" PRIu64 " store\n",
                hs.tcp_sessions, hs.peak_active, hs.udp_datagrams, hs.bytes,
                hs.refused_max_sessions, hs.refused_per_source, hs.read_timeouts,
                hs.session_timeouts, hs.max_bytes_closed, hs.samples, hs.sample_errors,
                hs.accept_errors, hs.io_errors, hs.store_errors);
    }
    code = rc == KS_OK ? KS_EXIT_OK : KS_EXIT_FAIL;
out:
    ks_honeypot_free(hp);
    ks_store_close(st);
    ks_samples_free(smp);
    ks_geo_free(geo);
    return code;
}
