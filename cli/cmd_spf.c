/* kansoku spf: SPF checks (RFC 7208) over real DNS, and the OpenSPF conformance suite. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "kansoku/ks_spf.h"
#include "kansoku/ks_store.h"

static const char spf_usage[] =
    "Usage: kansoku spf check --ip IP --sender ADDR [--helo NAME] [--dns ADDR[:PORT]] [--json]\n"
    "       kansoku spf policyd (--listen unix:PATH|ADDR:PORT | --stdio) [options]\n"
    "       kansoku spf survey DOMAINS.txt [--concurrency N] [--dns ADDR[:PORT]]\n"
    "       kansoku spf stats [--json]\n"
    "       kansoku spf test-suite FILE.yml...\n";

static const char spf_help[] =
    "Usage: kansoku spf <verb> [options]\n\n"
    "SPF (RFC 7208) sender authorization.\n\n"
    "Verbs:\n"
    "  check       check one (client IP, MAIL FROM, HELO) over DNS\n"
    "  policyd     Postfix policy delegation service (check_policy_service)\n"
    "  survey      SPF publication and policies of a list of domains\n"
    "  stats       SPF results per month and survey shares, from the store\n"
    "  test-suite  run OpenSPF-format YAML conformance suites with their zone data\n\n"
    "Run 'kansoku spf VERB --help' for a verb's options.\n\n" KS_CLI_COMMON_HELP;

/* ---- the store ------------------------------------------------------------------------- */

/* Results go to the store only when --db is given explicitly (option 0x101 of
 * KS_CLI_COMMON_OPTS): a check or a survey is useful without one. */
#define OPT_DB 0x101

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int writer_open(struct ks_cli *cli, const char *kind, const char *name,
                       struct ks_store **stp, struct ks_spf_store **wp)
{
    int rc = ks_store_open(cli->db_path, NULL, stp);
    if (rc != KS_OK) {
        ks_cli_error(cli, "%s", ks_store_errmsg(NULL));
        return rc;
    }
    struct ks_spf_store_config wcfg;
    ks_spf_store_config_default(&wcfg);
    wcfg.kind = kind;
    wcfg.name = name;
    if ((rc = ks_spf_store_new(*stp, &wcfg, wp)) != KS_OK)
        ks_cli_error(cli, "%s", ks_strerror(rc));
    return rc;
}

/* Writes what waits; reports a failure (the rows are lost, counted by the writer). */
static int writer_flush(struct ks_cli *cli, struct ks_store *st, struct ks_spf_store *w)
{
    if (!w)
        return KS_OK;
    int rc = ks_spf_store_flush(w);
    if (rc == KS_EEXIST)
        return KS_OK; /* the same rows are stored already */
    if (rc != KS_OK)
        ks_cli_error(cli, "%s", ks_store_errmsg(st)[0] ? ks_store_errmsg(st) : ks_strerror(rc));
    return rc;
}

/* ---- check ------------------------------------------------------------------------------- */

static json_t *outcome_json(const struct ks_spf_outcome *o, const char *receiver)
{
    json_t *j = json_object();
    json_object_set_new(j, "result", json_string(ks_spf_result_name(o->result)));
    json_object_set_new(j, "identity",
                        json_string(o->identity == KS_SPF_HELO ? "helo" : "mailfrom"));
    json_object_set_new(j, "ip", json_string(o->ip));
    json_object_set_new(j, "sender", json_string(o->sender));
    json_object_set_new(j, "helo", json_string(o->helo));
    json_object_set_new(j, "domain", json_string(o->domain));
    json_object_set_new(j, "record", json_string(o->record));
    json_object_set_new(j, "mechanism", json_string(o->mechanism));
    json_object_set_new(j, "explanation", json_string(o->explanation));
    json_object_set_new(j, "problem", json_string(o->problem));
    json_object_set_new(j, "dns_lookups", json_integer(o->dns_lookups));
    json_object_set_new(j, "void_lookups", json_integer(o->void_lookups));
    json_object_set_new(j, "dns_queries", json_integer(o->dns_queries));
    char *h = ks_spf_received_spf(o, receiver);
    json_object_set_new(j, "received_spf", json_string(h ? h : ""));
    free(h);
    h = ks_spf_auth_results(o, receiver);
    json_object_set_new(j, "authentication_results", json_string(h ? h : ""));
    free(h);
    return j;
}

static void print_outcome(const struct ks_spf_outcome *o, const char *receiver)
{
    printf("result: %s\n", ks_spf_result_name(o->result));
    printf("domain: %s\n", o->domain);
    if (o->record[0])
        printf("record: %s\n", o->record);
    if (o->mechanism[0])
        printf("mechanism: %s\n", o->mechanism);
    if (o->explanation[0])
        printf("explanation: %s\n", o->explanation);
    if (o->problem[0])
        printf("problem: %s\n", o->problem);
    printf("dns lookups: %u (void %u, queries %u)\n", o->dns_lookups, o->void_lookups,
           o->dns_queries);
    char *h = ks_spf_received_spf(o, receiver);
    printf("Received-SPF: %s\n", h ? h : "");
    free(h);
    h = ks_spf_auth_results(o, receiver);
    printf("Authentication-Results: %s\n", h ? h : "");
    free(h);
}

enum { OPT_IP = 0x200, OPT_SENDER, OPT_HELO, OPT_DNS, OPT_RECEIVER, OPT_IDENTITY, OPT_TIMEOUT };

static int cmd_check(int argc, char **argv)
{
    static const char usage[] =
        "Usage: kansoku spf check --ip IP --sender ADDR [--helo NAME] [--dns ADDR[:PORT]]\n"
        "                         [--identity mailfrom|helo] [--receiver NAME] [--json]\n";
    static const char help[] =
        "Usage: kansoku spf check --ip IP --sender ADDR [--helo NAME] [--dns ADDR[:PORT]]\n"
        "                         [--identity mailfrom|helo] [--receiver NAME] [--json]\n\n"
        "Evaluates SPF (RFC 7208 check_host) for a client IP and MAIL FROM address over real\n"
        "DNS and prints the result, the explanation, the deciding mechanism, the DNS lookups\n"
        "used and the Received-SPF and Authentication-Results header values.\n\n"
        "Options:\n"
        "      --ip IP            the SMTP client address (IPv4 or IPv6)\n"
        "      --sender ADDR      MAIL FROM address; \"\" is the null sender (postmaster@HELO)\n"
        "      --helo NAME        HELO/EHLO name\n"
        "      --identity ID      mailfrom (default) or helo (check the HELO name itself)\n"
        "      --dns ADDR[:PORT]  DNS server(s), comma-separated (default /etc/resolv.conf)\n"
        "      --timeout MS       per-try DNS timeout (default 2000; 2 tries)\n"
        "      --receiver NAME    receiver / authserv-id in the headers (default: hostname)\n\n"
        "With --db the result is also written to the store (table spf_results).\n\n"
        "Exit status: 0 when a result was reached (whatever it is), 1 on setup or store\n"
        "failure, 2 on usage errors.\n\n" KS_CLI_COMMON_HELP;
    struct ks_cli cli;
    ks_cli_init(&cli, "spf check", usage, help);
    static const struct option opts[] = {KS_CLI_COMMON_OPTS,
                                         {"ip", required_argument, NULL, OPT_IP},
                                         {"sender", required_argument, NULL, OPT_SENDER},
                                         {"helo", required_argument, NULL, OPT_HELO},
                                         {"dns", required_argument, NULL, OPT_DNS},
                                         {"receiver", required_argument, NULL, OPT_RECEIVER},
                                         {"identity", required_argument, NULL, OPT_IDENTITY},
                                         {"timeout", required_argument, NULL, OPT_TIMEOUT},
                                         {0}};
    const char *ip = NULL, *sender = NULL, *helo = "", *dns = NULL, *receiver = NULL;
    enum ks_spf_identity ident = KS_SPF_MAILFROM;
    long timeout = 2000;
    int opt, code;
    bool to_store = false;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        to_store |= opt == OPT_DB;
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        switch (opt) {
        case OPT_IP:
            ip = optarg;
            break;
        case OPT_SENDER:
            sender = optarg;
            break;
        case OPT_HELO:
            helo = optarg;
            break;
        case OPT_DNS:
            dns = optarg;
            break;
        case OPT_RECEIVER:
            receiver = optarg;
            break;
        case OPT_IDENTITY:
            if (strcmp(optarg, "mailfrom") == 0)
                ident = KS_SPF_MAILFROM;
            else if (strcmp(optarg, "helo") == 0)
                ident = KS_SPF_HELO;
            else
                return ks_cli_usage_error(&cli, "--identity is mailfrom or helo");
            break;
        case OPT_TIMEOUT: {
            char *end;
            timeout = strtol(optarg, &end, 10);
            if (*end || timeout <= 0 || timeout > 600000)
                return ks_cli_usage_error(&cli, "bad --timeout '%s'", optarg);
            break;
        }
        default:
            return ks_cli_usage_error(&cli, "unknown option");
        }
    }
    if (optind < argc)
        return ks_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
    if (!ip)
        return ks_cli_usage_error(&cli, "--ip is required");
    if (!sender && ident == KS_SPF_MAILFROM)
        return ks_cli_usage_error(&cli, "--sender is required (\"\" for the null sender)");
    char host[256];
    if (!receiver) {
        if (gethostname(host, sizeof host) != 0)
            snprintf(host, sizeof host, "unknown");
        host[sizeof host - 1] = '\0';
        receiver = host;
    }
    struct ks_spf_resolver_config rcfg;
    ks_spf_resolver_config_default(&rcfg);
    rcfg.servers = dns;
    rcfg.timeout_ms = (uint32_t)timeout;
    struct ks_spf_resolver *res = NULL;
    struct ks_spf *spf = NULL;
    struct ks_store *store = NULL;
    struct ks_spf_store *w = NULL;
    int status = KS_EXIT_FAIL;
    int rc = ks_spf_resolver_new(&rcfg, &res);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "cannot set up DNS%s%s: %s", dns ? " " : "", dns ? dns : "",
                     ks_strerror(rc));
        goto out;
    }
    if (to_store && writer_open(&cli, "spf check", "spf check", &store, &w) != KS_OK)
        goto out;
    struct ks_spf_config cfg;
    ks_spf_config_default(&cfg);
    cfg.receiver = receiver;
    if ((rc = ks_spf_new(&cfg, ks_spf_resolver_dns(res), &spf)) != KS_OK) {
        ks_cli_error(&cli, "%s", ks_strerror(rc));
        goto out;
    }
    struct ks_spf_request req = {ip, sender, helo, ident};
    struct ks_spf_outcome o;
    int64_t t = now_us();
    rc = ks_spf_check(spf, &req, &o);
    if (rc == KS_EINVAL) {
        ks_spf_store_free(w);
        ks_store_close(store);
        ks_spf_free(spf);
        ks_spf_resolver_free(res);
        return ks_cli_usage_error(&cli, "bad --ip '%s'", ip);
    }
    if (rc != KS_OK) {
        ks_cli_error(&cli, "check failed: %s", ks_strerror(rc));
        goto out;
    }
    if (cli.json)
        ks_cli_json_line(outcome_json(&o, receiver));
    else
        print_outcome(&o, receiver);
    if (w && (ks_spf_store_add_check(w, t, &o) != KS_OK || writer_flush(&cli, store, w) != KS_OK)) {
        ks_spf_outcome_fini(&o);
        goto out;
    }
    ks_spf_outcome_fini(&o);
    status = KS_EXIT_OK;
out:
    ks_spf_store_free(w);
    ks_store_close(store);
    ks_spf_free(spf);
    ks_spf_resolver_free(res);
    return status;
}

/* ---- policyd ----------------------------------------------------------------------------- */

struct pclient {
    int in, out;
    struct ks_spf_policy_conn *conn;
    char *obuf;
    size_t olen, ocap;
    bool eof, broken;
};

static void pclient_flush(struct pclient *c)
{
    while (c->olen && !c->broken) {
        ssize_t n = write(c->out, c->obuf, c->olen);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EINTR)
                continue;
            c->broken = true;
            return;
        }
        memmove(c->obuf, c->obuf + n, c->olen - (size_t)n);
        c->olen -= (size_t)n;
    }
}

static void pclient_reply(void *arg, const char *text, size_t len)
{
    struct pclient *c = arg;
    if (c->broken)
        return;
    if (c->olen + len > c->ocap) {
        size_t cap = c->ocap ? c->ocap : 4096;
        while (cap < c->olen + len)
            cap *= 2;
        char *p = realloc(c->obuf, cap);
        if (!p) {
            c->broken = true;
            return;
        }
        c->obuf = p;
        c->ocap = cap;
    }
    memcpy(c->obuf + c->olen, text, len);
    c->olen += len;
    pclient_flush(c);
}

static volatile sig_atomic_t policyd_stop;
static void policyd_signal(int sig)
{
    (void)sig;
    policyd_stop = 1;
}

static int listen_on(struct ks_cli *cli, const char *spec)
{
    int fd = -1;
    if (strncmp(spec, "unix:", 5) == 0) {
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof sa);
        sa.sun_family = AF_UNIX;
        if (strlen(spec + 5) >= sizeof sa.sun_path) {
            ks_cli_error(cli, "socket path too long: %s", spec + 5);
            return -1;
        }
        strncpy(sa.sun_path, spec + 5, sizeof sa.sun_path - 1);
        unlink(sa.sun_path);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            ks_cli_error(cli, "cannot listen on %s: %s", spec, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
    } else {
        char host[256];
        const char *colon = strrchr(spec, ':');
        if (!colon || (size_t)(colon - spec) >= sizeof host) {
            ks_cli_error(cli, "--listen is unix:PATH or ADDR:PORT");
            return -1;
        }
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
        char *h = host;
        if (h[0] == '[') {
            h++;
            h[strlen(h) - 1] = '\0';
        }
        struct addrinfo hints, *ai = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
        if (getaddrinfo(h, colon + 1, &hints, &ai) != 0 || !ai) {
            ks_cli_error(cli, "bad --listen address %s", spec);
            return -1;
        }
        fd = socket(ai->ai_family, SOCK_STREAM, 0);
        int one = 1;
        if (fd >= 0)
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            ks_cli_error(cli, "cannot listen on %s: %s", spec, strerror(errno));
            if (fd >= 0)
                close(fd);
            freeaddrinfo(ai);
            return -1;
        }
        freeaddrinfo(ai);
    }
    if (listen(fd, 128) != 0) {
        ks_cli_error(cli, "listen: %s", strerror(errno));
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void pclient_free(struct pclient *c)
{
    ks_spf_policy_conn_free(c->conn);
    if (c->in > 2)
        close(c->in);
    free(c->obuf);
    free(c);
}

enum {
    OPT_LISTEN = 0x300,
    OPT_STDIO,
    OPT_ACTION,
    OPT_NO_HELO,
    OPT_SKIP,
    OPT_MAX_CLIENTS,
    OPT_PDNS,
    OPT_PRECEIVER,
    OPT_PTIMEOUT,
    OPT_DB_INTERVAL,
};

struct pstore {
    struct ks_cli *cli;
    struct ks_store *st;
    struct ks_spf_store *w;
    uint64_t failures;
};

static void policyd_outcome(void *arg, const struct ks_spf_outcome *o)
{
    struct pstore *ps = arg;
    if (!ps->w)
        return;
    int rc = ks_spf_store_add_check(ps->w, now_us(), o);
    /* A full buffer flushed inside add: a failing store must not stop the service. */
    if (rc != KS_OK && rc != KS_EEXIST && ps->failures++ < 5)
        ks_cli_error(ps->cli, "store: %s", ks_store_errmsg(ps->st));
}

static int cmd_policyd(int argc, char **argv)
{
    static const char usage[] =
        "Usage: kansoku spf policyd (--listen unix:PATH|ADDR:PORT | --stdio) [options]\n";
    static const char help[] =
        "Usage: kansoku spf policyd (--listen unix:PATH|ADDR:PORT | --stdio) [options]\n\n"
        "A Postfix policy delegation service (check_policy_service): answers each\n"
        "smtpd_access_policy request with an action from the SPF results of the HELO name and\n"
        "the MAIL FROM address. Connections stay open; the same message (instance) is checked\n"
        "once; unknown attributes are ignored. --stdio serves one client on stdin/stdout\n"
        "(Postfix spawn(8)).\n\n"
        "Options:\n"
        "      --listen SPEC        unix:/path/to/socket or 127.0.0.1:10023\n"
        "      --stdio              serve stdin/stdout instead\n"
        "      --dns ADDR[:PORT]    DNS server(s) (default /etc/resolv.conf)\n"
        "      --receiver NAME      receiver in Received-SPF (default: hostname)\n"
        "      --action RESULT=ACT  the action for a result, e.g. fail='550 5.7.23 %s',\n"
        "                           permerror='550 5.7.24 %s', temperror='451 4.7.24 %s',\n"
        "                           softfail=PREPEND, neutral=DUNNO (%s: explanation/problem)\n"
        "      --no-helo            do not check the HELO identity\n"
        "      --skip PREFIXES      comma-separated client prefixes never checked (relays)\n"
        "      --max-clients N      connections at once (default 1000)\n"
        "      --timeout MS         per-try DNS timeout (default 2000; 2 tries)\n"
        "      --db-interval S      with --db: write the results every S seconds (default 60)\n\n"
        "Defaults: fail -> 550 5.7.23 <explanation>, temperror -> 451 4.7.24, the others ->\n"
        "PREPEND Received-SPF. Stops on SIGTERM/SIGINT.\n\n"
        "With --db every check (HELO and MAIL FROM) is written to the store (table\n"
        "spf_results) in batches: every --db-interval seconds, every 10000 checks and at exit,\n"
        "each batch one complete input, so the store is not locked between "
        "batches.\n\n" KS_CLI_COMMON_HELP;
    struct ks_cli cli;
    ks_cli_init(&cli, "spf policyd", usage, help);
    static const struct option opts[] = {KS_CLI_COMMON_OPTS,
                                         {"listen", required_argument, NULL, OPT_LISTEN},
                                         {"stdio", no_argument, NULL, OPT_STDIO},
                                         {"action", required_argument, NULL, OPT_ACTION},
                                         {"no-helo", no_argument, NULL, OPT_NO_HELO},
                                         {"skip", required_argument, NULL, OPT_SKIP},
                                         {"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
                                         {"dns", required_argument, NULL, OPT_PDNS},
                                         {"receiver", required_argument, NULL, OPT_PRECEIVER},
                                         {"timeout", required_argument, NULL, OPT_PTIMEOUT},
                                         {"db-interval", required_argument, NULL, OPT_DB_INTERVAL},
                                         {0}};
    struct ks_spf_policy_config pcfg;
    ks_spf_policy_config_default(&pcfg);
    const char *listen_spec = NULL, *dns = NULL;
    bool use_stdio = false, to_store = false;
    long max_clients = 1000, timeout = 2000, db_interval = 60;
    int opt, code;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        to_store |= opt == OPT_DB;
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        switch (opt) {
        case OPT_LISTEN:
            listen_spec = optarg;
            break;
        case OPT_STDIO:
            use_stdio = true;
            break;
        case OPT_ACTION: {
            const char *eq = strchr(optarg, '=');
            char name[16];
            size_t n = eq ? (size_t)(eq - optarg) : 0;
            if (!eq || n >= sizeof name || !eq[1])
                return ks_cli_usage_error(&cli, "--action is RESULT=ACTION");
            memcpy(name, optarg, n);
            name[n] = '\0';
            int res = ks_spf_result_parse(name);
            if (res < 0)
                return ks_cli_usage_error(&cli, "unknown result '%s'", name);
            pcfg.action[res] = eq + 1;
            break;
        }
        case OPT_NO_HELO:
            pcfg.check_helo = false;
            break;
        case OPT_SKIP:
            pcfg.skip = optarg;
            break;
        case OPT_MAX_CLIENTS: {
            char *end;
            max_clients = strtol(optarg, &end, 10);
            if (*end || max_clients < 1 || max_clients > 100000)
                return ks_cli_usage_error(&cli, "bad --max-clients '%s'", optarg);
            break;
        }
        case OPT_PDNS:
            dns = optarg;
            break;
        case OPT_PTIMEOUT:
        case OPT_DB_INTERVAL: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 600000)
                return ks_cli_usage_error(&cli, "bad --%s '%s'",
                                          opt == OPT_PTIMEOUT ? "timeout" : "db-interval", optarg);
            *(opt == OPT_PTIMEOUT ? &timeout : &db_interval) = v;
            break;
        }
        case OPT_PRECEIVER:
            pcfg.receiver = optarg;
            break;
        default:
            return ks_cli_usage_error(&cli, "unknown option");
        }
    }
    if (optind < argc)
        return ks_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
    if (!!listen_spec == use_stdio)
        return ks_cli_usage_error(&cli, "give one of --listen and --stdio");
    char host[256];
    if (!pcfg.receiver || strcmp(pcfg.receiver, "unknown") == 0) {
        if (gethostname(host, sizeof host) != 0)
            snprintf(host, sizeof host, "unknown");
        host[sizeof host - 1] = '\0';
        pcfg.receiver = host;
    }
    struct ks_spf_resolver_config rcfg;
    ks_spf_resolver_config_default(&rcfg);
    rcfg.servers = dns;
    rcfg.timeout_ms = (uint32_t)timeout;
    struct ks_spf_resolver *res = NULL;
    struct ks_spf *spf = NULL;
    struct ks_spf_policy *pol = NULL;
    struct pclient **clients = NULL;
    struct pollfd *fds = NULL;
    struct pstore ps = {&cli, NULL, NULL, 0};
    size_t nclients = 0;
    int lfd = -1, status = KS_EXIT_FAIL;
    int rc = ks_spf_resolver_new(&rcfg, &res);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "cannot set up DNS: %s", ks_strerror(rc));
        goto out;
    }
    if (to_store) {
        if (writer_open(&cli, "spf policyd", listen_spec ? listen_spec : "stdio", &ps.st, &ps.w) !=
            KS_OK)
            goto out;
        pcfg.on_outcome = policyd_outcome;
        pcfg.on_outcome_arg = &ps;
    }
    int64_t next_flush = now_us() + (int64_t)db_interval * 1000000;
    struct ks_spf_config cfg;
    ks_spf_config_default(&cfg);
    cfg.receiver = pcfg.receiver;
    if ((rc = ks_spf_new(&cfg, ks_spf_resolver_dns(res), &spf)) != KS_OK ||
        (rc = ks_spf_policy_new(&pcfg, spf, &pol)) != KS_OK) {
        ks_cli_error(&cli, "%s", rc == KS_EINVAL ? "bad --skip prefix list" : ks_strerror(rc));
        goto out;
    }
    clients = calloc((size_t)max_clients + 1, sizeof *clients);
    fds = calloc((size_t)max_clients + 2 + 16, sizeof *fds);
    if (!clients || !fds)
        goto out;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, policyd_signal);
    signal(SIGINT, policyd_signal);
    if (use_stdio) {
        struct pclient *c = calloc(1, sizeof *c);
        if (!c || ks_spf_policy_conn_new(pol, pclient_reply, c, &c->conn) != KS_OK) {
            free(c);
            goto out;
        }
        c->in = 0;
        c->out = 1;
        clients[nclients++] = c;
    } else {
        if ((lfd = listen_on(&cli, listen_spec)) < 0)
            goto out;
        ks_cli_info(&cli, "listening on %s", listen_spec);
    }
    while (!policyd_stop) {
        size_t n = 0;
        if (lfd >= 0) {
            fds[n].fd = nclients < (size_t)max_clients ? lfd : -1;
            fds[n].events = POLLIN;
            n++;
        }
        for (size_t i = 0; i < nclients; i++) {
            struct pclient *c = clients[i];
            fds[n].fd = c->eof ? -1 : c->in;
            fds[n].events = POLLIN;
            if (c->olen && c->out == c->in)
                fds[n].events |= POLLOUT;
            n++;
        }
        int tmo = -1;
        int nd = ks_spf_resolver_pollfds(res, fds + n, 16, &tmo);
        if (use_stdio && nclients == 0)
            break;
        if (ps.w) {
            int64_t t = now_us();
            if (t >= next_flush) {
                writer_flush(&cli, ps.st, ps.w);
                next_flush = t + (int64_t)db_interval * 1000000;
            }
            if (ks_spf_store_pending(ps.w)) {
                int64_t left_ms = (next_flush - t) / 1000 + 1;
                if (tmo < 0 || left_ms < tmo)
                    tmo = (int)left_ms;
            }
        }
        if (poll(fds, n + (size_t)nd, tmo) < 0 && errno != EINTR)
            break;
        ks_spf_resolver_process(res, fds + n, nd);
        size_t k = lfd >= 0 ? 1 : 0;
        for (size_t i = 0; i < nclients; i++, k++) {
            struct pclient *c = clients[i];
            if (fds[k].revents & POLLOUT)
                pclient_flush(c);
            if (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) {
                char buf[4096];
                ssize_t r = read(c->in, buf, sizeof buf);
                if (r > 0) {
                    if (ks_spf_policy_conn_feed(c->conn, buf, (size_t)r) != KS_OK)
                        c->broken = true;
                } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                    c->eof = true;
                }
            }
        }
        /* Drop finished clients (in reverse, so that indexes stay valid). */
        for (size_t i = nclients; i-- > 0;) {
            struct pclient *c = clients[i];
            bool done = c->broken || (c->eof && !ks_spf_policy_conn_busy(c->conn) && !c->olen);
            if (!done)
                continue;
            pclient_free(c);
            clients[i] = clients[--nclients];
        }
        if (lfd >= 0 && (fds[0].revents & POLLIN)) {
            int cfd = accept(lfd, NULL, NULL);
            if (cfd >= 0) {
                fcntl(cfd, F_SETFL, fcntl(cfd, F_GETFL) | O_NONBLOCK);
                struct pclient *c = calloc(1, sizeof *c);
                if (c && ks_spf_policy_conn_new(pol, pclient_reply, c, &c->conn) == KS_OK) {
                    c->in = c->out = cfd;
                    clients[nclients++] = c;
                } else {
                    free(c);
                    close(cfd);
                }
            }
        }
    }
    /* Checks still in flight finish (temperror) when the resolver goes, below; what was
     * answered so far is written now. */
    if (ps.w && writer_flush(&cli, ps.st, ps.w) != KS_OK)
        goto out;
    struct ks_spf_policy_stats st;
    ks_spf_policy_stats(pol, &st);
    ks_cli_info(&cli, "%llu requests, %llu replies, %llu from the instance cache, %llu skipped",
                (unsigned long long)st.requests, (unsigned long long)st.replies,
                (unsigned long long)st.cached, (unsigned long long)st.skipped);
    status = KS_EXIT_OK;
out:
    for (size_t i = 0; i < nclients; i++)
        pclient_free(clients[i]);
    free(clients);
    free(fds);
    if (lfd >= 0) {
        close(lfd);
        if (listen_spec && strncmp(listen_spec, "unix:", 5) == 0)
            unlink(listen_spec + 5);
    }
    /* The resolver first: it completes pending checks (temperror) before the rest goes. The
     * writer is gone by then: those checks were never answered, so they are not stored. */
    ks_spf_store_free(ps.w);
    ps.w = NULL;
    ks_spf_resolver_free(res);
    ks_spf_policy_free(pol);
    ks_spf_free(spf);
    ks_store_close(ps.st);
    return status;
}

/* ---- survey ------------------------------------------------------------------------------ */

#define POL_N KS_SPF_NPOLICIES

struct survey {
    struct ks_cli *cli;
    uint64_t done, published, errors, lookups_total, over_limit;
    uint64_t policy[POL_N], results[KS_SPF_NRESULTS];
    struct ks_store *st;
    struct ks_spf_store *w;
    int64_t t0;
    int store_rc;
};

struct survey_item {
    struct survey *sv;
    char domain[];
};

static void survey_done(void *arg, const struct ks_spf_outcome *o)
{
    struct survey_item *it = arg;
    struct survey *sv = it->sv;
    sv->done++;
    sv->results[o->result]++;
    bool published = o->record[0] != '\0';
    enum ks_spf_policy_class pol = ks_spf_policy_class(o->record);
    if (sv->w && sv->store_rc == KS_OK) {
        int rc = ks_spf_store_add_survey(sv->w, sv->t0, it->domain, o);
        if (rc != KS_OK && rc != KS_EEXIST) {
            sv->store_rc = rc;
            ks_cli_error(sv->cli, "%s", ks_store_errmsg(sv->st));
        }
    }
    if (published)
        sv->published++;
    sv->policy[pol]++;
    bool err = o->result == KS_SPF_PERMERROR || o->result == KS_SPF_TEMPERROR;
    sv->errors += err;
    sv->lookups_total += o->dns_lookups;
    if (o->result == KS_SPF_PERMERROR && strstr(o->problem, "too many"))
        sv->over_limit++;
    if (sv->cli->json) {
        json_t *j = json_object();
        json_object_set_new(j, "domain", json_string(it->domain));
        json_object_set_new(j, "published", json_boolean(published));
        json_object_set_new(j, "policy", json_string(ks_spf_policy_class_name(pol)));
        json_object_set_new(j, "result", json_string(ks_spf_result_name(o->result)));
        json_object_set_new(j, "dns_lookups", json_integer(o->dns_lookups));
        json_object_set_new(j, "void_lookups", json_integer(o->void_lookups));
        json_object_set_new(j, "record", json_string(o->record));
        json_object_set_new(j, "problem", json_string(o->problem));
        ks_cli_json_line(j);
    } else if (!sv->cli->quiet && (sv->cli->verbose || err)) {
        printf("%-40s %-8s %-9s %-10s lookups=%u%s%s\n", it->domain, published ? "spf" : "no-spf",
               ks_spf_policy_class_name(pol), ks_spf_result_name(o->result), o->dns_lookups,
               o->problem[0] ? " " : "", o->problem);
    }
    free(it);
}

enum { OPT_CONC = 0x400, OPT_SDNS, OPT_STIMEOUT };

static int cmd_survey(int argc, char **argv)
{
    static const char usage[] =
        "Usage: kansoku spf survey DOMAINS.txt [--concurrency N] [--dns ADDR[:PORT]] [--json]\n";
    static const char help[] =
        "Usage: kansoku spf survey DOMAINS.txt [--concurrency N] [--dns ADDR[:PORT]] [--json]\n\n"
        "For each domain (one per line, '#' comments), whether it publishes SPF, its policy\n"
        "(-all, ~all, ?all, +all, redirect, no-all), the DNS lookups its evaluation needs (for a\n"
        "client that no policy lists: 233.252.0.1) and errors; then the shares. With --json one\n"
        "object per domain and a summary object. '-' reads stdin.\n\n"
        "Options:\n"
        "      --concurrency N    checks in flight at once (default 64)\n"
        "      --dns ADDR[:PORT]  DNS server(s) (default /etc/resolv.conf)\n"
        "      --timeout MS       per-try DNS timeout (default 2000)\n\n"
        "With --db each domain's row is written to the store (table spf_survey, ts = the\n"
        "survey's start: every run is kept, 'kansoku spf stats' shows "
        "each).\n\n" KS_CLI_COMMON_HELP;
    struct ks_cli cli;
    ks_cli_init(&cli, "spf survey", usage, help);
    static const struct option opts[] = {KS_CLI_COMMON_OPTS,
                                         {"concurrency", required_argument, NULL, OPT_CONC},
                                         {"dns", required_argument, NULL, OPT_SDNS},
                                         {"timeout", required_argument, NULL, OPT_STIMEOUT},
                                         {0}};
    long conc = 64, timeout = 2000;
    const char *dns = NULL;
    bool to_store = false;
    int opt, code;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        to_store |= opt == OPT_DB;
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        char *end;
        switch (opt) {
        case OPT_CONC:
            conc = strtol(optarg, &end, 10);
            if (*end || conc < 1 || conc > 100000)
                return ks_cli_usage_error(&cli, "bad --concurrency '%s'", optarg);
            break;
        case OPT_STIMEOUT:
            timeout = strtol(optarg, &end, 10);
            if (*end || timeout < 1 || timeout > 600000)
                return ks_cli_usage_error(&cli, "bad --timeout '%s'", optarg);
            break;
        case OPT_SDNS:
            dns = optarg;
            break;
        default:
            return ks_cli_usage_error(&cli, "unknown option");
        }
    }
    if (optind + 1 != argc)
        return ks_cli_usage_error(&cli, "give one DOMAINS.txt file");
    const char *path = argv[optind];
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in) {
        ks_cli_error(&cli, "%s: %s", path, strerror(errno));
        return KS_EXIT_FAIL;
    }
    struct ks_spf_resolver_config rcfg;
    ks_spf_resolver_config_default(&rcfg);
    rcfg.servers = dns;
    rcfg.timeout_ms = (uint32_t)timeout;
    struct ks_spf_resolver *res = NULL;
    struct ks_spf *spf = NULL;
    int status = KS_EXIT_FAIL;
    struct survey sv;
    memset(&sv, 0, sizeof sv);
    sv.cli = &cli;
    int rc = ks_spf_resolver_new(&rcfg, &res);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "cannot set up DNS: %s", ks_strerror(rc));
        goto out;
    }
    if ((rc = ks_spf_new(NULL, ks_spf_resolver_dns(res), &spf)) != KS_OK)
        goto out;
    sv.t0 = now_us();
    if (to_store && writer_open(&cli, "spf survey", path, &sv.st, &sv.w) != KS_OK)
        goto out;
    char *line = NULL;
    size_t cap = 0;
    uint64_t started = 0, bad = 0, lineno = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool eof = false;
    while (!eof || sv.done < started) {
        while (!eof && started - sv.done < (uint64_t)conc) {
            ssize_t n = getline(&line, &cap, in);
            if (n < 0) {
                eof = true;
                break;
            }
            lineno++;
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
                line[--n] = '\0';
            char *d = line;
            while (*d == ' ' || *d == '\t')
                d++;
            if (!*d || *d == '#')
                continue;
            size_t dl = strlen(d);
            if (dl > 253) {
                if (bad++ < 5)
                    ks_cli_warn(&cli, "%s: line %llu: name too long, skipped", path,
                                (unsigned long long)lineno);
                continue;
            }
            struct survey_item *it = malloc(sizeof *it + dl + 1);
            char sender[300];
            if (!it)
                break;
            it->sv = &sv;
            memcpy(it->domain, d, dl + 1);
            snprintf(sender, sizeof sender, "postmaster@%s", d);
            struct ks_spf_request req = {"233.252.0.1", sender, d, KS_SPF_MAILFROM};
            started++;
            if (ks_spf_check_start(spf, &req, survey_done, it) != KS_OK) {
                started--;
                free(it);
            }
        }
        if (ks_spf_resolver_pending(res))
            ks_spf_resolver_run(res, 100);
    }
    free(line);
    if (sv.w && sv.store_rc == KS_OK)
        sv.store_rc = writer_flush(&cli, sv.st, sv.w);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double tot = sv.done ? (double)sv.done : 1.0;
    if (cli.json) {
        json_t *j = json_object();
        json_object_set_new(j, "summary", json_true());
        json_object_set_new(j, "domains", json_integer((json_int_t)sv.done));
        json_object_set_new(j, "published", json_integer((json_int_t)sv.published));
        json_object_set_new(j, "published_share", json_real((double)sv.published / tot));
        json_t *pol = json_object();
        for (int i = 0; i < POL_N; i++)
            json_object_set_new(pol, ks_spf_policy_class_name((enum ks_spf_policy_class)i),
                                json_integer((json_int_t)sv.policy[i]));
        json_object_set_new(j, "policies", pol);
        json_object_set_new(j, "errors", json_integer((json_int_t)sv.errors));
        json_object_set_new(j, "over_lookup_limit", json_integer((json_int_t)sv.over_limit));
        json_object_set_new(j, "mean_dns_lookups", json_real((double)sv.lookups_total / tot));
        json_object_set_new(j, "domains_per_s", json_real(dt > 0 ? tot / dt : 0));
        ks_cli_json_line(j);
    } else {
        printf("domains: %llu\n", (unsigned long long)sv.done);
        printf("publish SPF: %llu (%.2f%%)\n", (unsigned long long)sv.published,
               100.0 * (double)sv.published / tot);
        for (int i = 0; i < POL_N; i++)
            printf("policy %-9s %llu (%.2f%%)\n",
                   ks_spf_policy_class_name((enum ks_spf_policy_class)i),
                   (unsigned long long)sv.policy[i], 100.0 * (double)sv.policy[i] / tot);
        printf("errors: %llu (permerror %llu, temperror %llu; over the lookup limit %llu)\n",
               (unsigned long long)sv.errors, (unsigned long long)sv.results[KS_SPF_PERMERROR],
               (unsigned long long)sv.results[KS_SPF_TEMPERROR], (unsigned long long)sv.over_limit);
        printf("mean DNS lookups: %.2f\n", (double)sv.lookups_total / tot);
        printf("rate: %.0f domains/s\n", dt > 0 ? tot / dt : 0);
    }
    status = sv.store_rc == KS_OK ? KS_EXIT_OK : KS_EXIT_FAIL;
out:
    if (in != stdin)
        fclose(in);
    ks_spf_store_free(sv.w);
    ks_store_close(sv.st);
    ks_spf_free(spf);
    ks_spf_resolver_free(res);
    return status;
}

/* ---- stats ------------------------------------------------------------------------------- */

/* Months are few (one row each), surveys too: small fixed tables are enough, and more rows
 * than they hold are counted, not kept. */
#define STATS_MAX 1200

struct month_row {
    char month[8]; /* YYYY-MM */
    uint64_t n[KS_SPF_NRESULTS], helo;
};

struct survey_row {
    int64_t ts;
    char name[256];
    uint64_t domains, published, errors, policy[POL_N];
    double mean_lookups;
};

struct stats {
    struct month_row *months;
    size_t nmonths;
    struct survey_row *surveys;
    size_t nsurveys;
    uint64_t overflow;
};

static int64_t val_i64(const struct ks_store_value *v)
{
    if (v->type == KS_TYPE_I64 || v->type == KS_TYPE_TIME)
        return v->v.i64;
    if (v->type == KS_TYPE_F64)
        return (int64_t)v->v.f64;
    return 0;
}

static void val_text(const struct ks_store_value *v, char *buf, size_t size)
{
    size_t n = 0;
    if (v->type == KS_TYPE_TEXT || v->type == KS_TYPE_ADDR) {
        n = v->v.bytes.len < size - 1 ? v->v.bytes.len : size - 1;
        memcpy(buf, v->v.bytes.ptr, n);
    }
    buf[n] = '\0';
}

/* (month, identity, result, count), ordered by month. */
static int month_cb(void *user, size_t ncols, const char *const *names,
                    const struct ks_store_value *vals)
{
    struct stats *x = user;
    char month[8], ident[16], result[16];
    val_text(&vals[0], month, sizeof month);
    val_text(&vals[1], ident, sizeof ident);
    val_text(&vals[2], result, sizeof result);
    uint64_t n = (uint64_t)val_i64(&vals[3]);
    if (!x->nmonths || strcmp(x->months[x->nmonths - 1].month, month) != 0) {
        if (x->nmonths == STATS_MAX) {
            x->overflow++;
            return 0;
        }
        memset(&x->months[x->nmonths], 0, sizeof x->months[0]);
        memcpy(x->months[x->nmonths].month, month, sizeof month);
        x->nmonths++;
    }
    struct month_row *m = &x->months[x->nmonths - 1];
    int r = ks_spf_result_parse(result);
    if (strcmp(ident, "helo") == 0)
        m->helo += n;
    else if (r >= 0)
        m->n[r] += n;
    return 0;
}

/* (ts, input name, policy, domains, published, errors, sum of lookups), ordered by ts. */
static int survey_cb(void *user, size_t ncols, const char *const *names,
                     const struct ks_store_value *vals)
{
    struct stats *x = user;
    int64_t ts = val_i64(&vals[0]);
    if (!x->nsurveys || x->surveys[x->nsurveys - 1].ts != ts) {
        if (x->nsurveys == STATS_MAX) {
            x->overflow++;
            return 0;
        }
        memset(&x->surveys[x->nsurveys], 0, sizeof x->surveys[0]);
        x->surveys[x->nsurveys].ts = ts;
        val_text(&vals[1], x->surveys[x->nsurveys].name, sizeof x->surveys[0].name);
        x->nsurveys++;
    }
    struct survey_row *s = &x->surveys[x->nsurveys - 1];
    char pol[16];
    val_text(&vals[2], pol, sizeof pol);
    uint64_t n = (uint64_t)val_i64(&vals[3]);
    for (int i = 0; i < POL_N; i++)
        if (strcmp(pol, ks_spf_policy_class_name((enum ks_spf_policy_class)i)) == 0)
            s->policy[i] += n;
    double lookups = s->mean_lookups * (double)s->domains + (double)val_i64(&vals[6]);
    s->domains += n;
    s->published += (uint64_t)val_i64(&vals[4]);
    s->errors += (uint64_t)val_i64(&vals[5]);
    s->mean_lookups = s->domains ? lookups / (double)s->domains : 0;
    return 0;
}

static double share(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

static void format_utc(int64_t t_us, char *buf, size_t size)
{
    time_t t = (time_t)(t_us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int cmd_stats(int argc, char **argv)
{
    static const char usage[] = "Usage: kansoku spf stats [--db PATH] [--json]\n";
    static const char help[] =
        "Usage: kansoku spf stats [--db PATH] [--json]\n\n"
        "SPF statistics from the store. Per month (UTC) of received mail, the MAIL FROM\n"
        "results written by 'spf policyd --db' and 'spf check --db': checks, how many sender\n"
        "domains publish SPF (any result but none) and how many do not, and each result;\n"
        "HELO checks are counted apart. Then per survey run ('spf survey --db'): domains, the\n"
        "share publishing SPF, the share of each policy, errors and mean DNS lookups.\n"
        "Only complete inputs are counted.\n\n" KS_CLI_COMMON_HELP;
    struct ks_cli cli;
    ks_cli_init(&cli, "spf stats", usage, help);
    static const struct option opts[] = {KS_CLI_COMMON_OPTS, {0}};
    int opt, code;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r == 0)
            return ks_cli_usage_error(&cli, "unknown option");
    }
    if (optind < argc)
        return ks_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
    struct ks_store_config scfg;
    ks_store_config_default(&scfg);
    scfg.readonly = true;
    struct ks_store *st = NULL;
    struct stats x;
    memset(&x, 0, sizeof x);
    int status = KS_EXIT_FAIL;
    int rc = ks_store_open(cli.db_path, &scfg, &st);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(NULL));
        goto out;
    }
    x.months = calloc(STATS_MAX, sizeof *x.months);
    x.surveys = calloc(STATS_MAX, sizeof *x.surveys);
    if (!x.months || !x.surveys)
        goto out;
    rc = ks_store_query(st,
                        "SELECT strftime('%Y-%m', r.ts / 1000000, 'unixepoch') AS month, "
                        "r.identity, r.result, count(*) FROM spf_results r "
                        "JOIN inputs ON inputs.id = r.input_id AND inputs.status = 'complete' "
                        "GROUP BY month, r.identity, r.result ORDER BY month",
                        NULL, 0, month_cb, &x);
    if (rc == KS_OK)
        rc = ks_store_query(st,
                            "SELECT s.ts, min(inputs.name), s.policy, count(*), sum(s.published), "
                            "sum(s.result IN ('permerror', 'temperror')), sum(s.dns_lookups) "
                            "FROM spf_survey s JOIN inputs ON inputs.id = s.input_id "
                            "AND inputs.status = 'complete' GROUP BY s.ts, s.policy ORDER BY s.ts",
                            NULL, 0, survey_cb, &x);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(st));
        goto out;
    }
    if (x.overflow)
        ks_cli_warn(&cli, "more than %d months or surveys: the rest not shown", STATS_MAX);
    if (!cli.json)
        printf("%-7s %9s %9s %9s %8s  %s\n", "month", "checks", "spf", "no-spf", "spf%",
               "pass/fail/softfail/neutral/permerror/temperror, helo checks");
    for (size_t i = 0; i < x.nmonths; i++) {
        struct month_row *m = &x.months[i];
        uint64_t total = 0;
        for (int r = 0; r < KS_SPF_NRESULTS; r++)
            total += m->n[r];
        uint64_t none = m->n[KS_SPF_NONE], published = total - none;
        if (cli.json) {
            json_t *j = json_object();
            json_object_set_new(j, "month", json_string(m->month));
            json_object_set_new(j, "checks", json_integer((json_int_t)total));
            json_object_set_new(j, "published", json_integer((json_int_t)published));
            json_object_set_new(j, "not_published", json_integer((json_int_t)none));
            json_object_set_new(j, "published_share", json_real(share(published, total)));
            json_t *res = json_object();
            for (int r = 0; r < KS_SPF_NRESULTS; r++)
                json_object_set_new(res, ks_spf_result_name((enum ks_spf_result)r),
                                    json_integer((json_int_t)m->n[r]));
            json_object_set_new(j, "results", res);
            json_object_set_new(j, "helo_checks", json_integer((json_int_t)m->helo));
            ks_cli_json_line(j);
        } else {
            printf("%-7s %9llu %9llu %9llu %7.2f%%  %llu/%llu/%llu/%llu/%llu/%llu, %llu\n",
                   m->month, (unsigned long long)total, (unsigned long long)published,
                   (unsigned long long)none, 100.0 * share(published, total),
                   (unsigned long long)m->n[KS_SPF_PASS], (unsigned long long)m->n[KS_SPF_FAIL],
                   (unsigned long long)m->n[KS_SPF_SOFTFAIL],
                   (unsigned long long)m->n[KS_SPF_NEUTRAL],
                   (unsigned long long)m->n[KS_SPF_PERMERROR],
                   (unsigned long long)m->n[KS_SPF_TEMPERROR], (unsigned long long)m->helo);
        }
    }
    for (size_t i = 0; i < x.nsurveys; i++) {
        struct survey_row *v = &x.surveys[i];
        char when[32];
        format_utc(v->ts, when, sizeof when);
        if (cli.json) {
            json_t *j = json_object();
            json_object_set_new(j, "survey", json_string(when));
            json_object_set_new(j, "list", json_string(v->name));
            json_object_set_new(j, "domains", json_integer((json_int_t)v->domains));
            json_object_set_new(j, "published", json_integer((json_int_t)v->published));
            json_object_set_new(j, "published_share", json_real(share(v->published, v->domains)));
            json_t *pol = json_object();
            for (int p = 0; p < POL_N; p++)
                json_object_set_new(pol, ks_spf_policy_class_name((enum ks_spf_policy_class)p),
                                    json_real(share(v->policy[p], v->domains)));
            json_object_set_new(j, "policy_shares", pol);
            json_object_set_new(j, "errors", json_integer((json_int_t)v->errors));
            json_object_set_new(j, "mean_dns_lookups", json_real(v->mean_lookups));
            ks_cli_json_line(j);
        } else {
            printf("survey %s %s: %llu domains, SPF %.2f%%", when, v->name,
                   (unsigned long long)v->domains, 100.0 * share(v->published, v->domains));
            for (int p = 1; p < POL_N; p++)
                printf(", %s %.2f%%", ks_spf_policy_class_name((enum ks_spf_policy_class)p),
                       100.0 * share(v->policy[p], v->domains));
            printf(", errors %llu, mean lookups %.2f\n", (unsigned long long)v->errors,
                   v->mean_lookups);
        }
    }
    status = KS_EXIT_OK;
out:
    free(x.months);
    free(x.surveys);
    ks_store_close(st);
    return status;
}

/* ---- test-suite -------------------------------------------------------------------------- */

struct suite_ctx {
    struct ks_cli *cli;
    const char *file;
};

static void suite_fail(void *arg, const char *scenario, const char *test, const char *expected,
                       const char *expected_exp, const struct ks_spf_outcome *o)
{
    struct suite_ctx *x = arg;
    if (x->cli->json) {
        json_t *j = json_object();
        json_object_set_new(j, "file", json_string(x->file));
        json_object_set_new(j, "scenario", json_string(scenario));
        json_object_set_new(j, "test", json_string(test));
        json_object_set_new(j, "status", json_string("fail"));
        json_object_set_new(j, "expected", json_string(expected));
        if (expected_exp)
            json_object_set_new(j, "expected_explanation", json_string(expected_exp));
        json_object_set_new(j, "result", json_string(ks_spf_result_name(o->result)));
        json_object_set_new(j, "explanation", json_string(o->explanation));
        json_object_set_new(j, "problem", json_string(o->problem));
        ks_cli_json_line(j);
        return;
    }
    printf("FAIL %s: %s (%s): expected %s", x->file, test, scenario, expected);
    if (expected_exp)
        printf(" [%s]", expected_exp);
    printf(", got %s", ks_spf_result_name(o->result));
    if (o->explanation[0])
        printf(" [%s]", o->explanation);
    if (o->problem[0])
        printf(" (%s)", o->problem);
    putchar('\n');
}

static int cmd_test_suite(int argc, char **argv)
{
    static const char usage[] = "Usage: kansoku spf test-suite [--json] FILE.yml...\n";
    static const char help[] =
        "Usage: kansoku spf test-suite [--json] FILE.yml...\n\n"
        "Runs OpenSPF-format YAML suites (e.g. rfc7208-tests.yml) against the checker, each\n"
        "scenario's zonedata served by an in-process DNS zone. Prints each failing test and\n"
        "ends with 'N passed, N failed'. Exit 1 if any test failed.\n\n" KS_CLI_COMMON_HELP;
    struct ks_cli cli;
    ks_cli_init(&cli, "spf test-suite", usage, help);
    static const struct option opts[] = {KS_CLI_COMMON_OPTS, {0}};
    int opt, code;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r == 0)
            return ks_cli_usage_error(&cli, "unknown option");
    }
    if (optind >= argc)
        return ks_cli_usage_error(&cli, "no suite file given");
    uint32_t passed = 0, failed = 0;
    int status = KS_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        struct suite_ctx x = {&cli, argv[i]};
        struct ks_spf_suite_result res;
        char err[256];
        int rc = ks_spf_suite_run(argv[i], suite_fail, &x, &res, err, sizeof err);
        if (rc != KS_OK) {
            ks_cli_error(&cli, "%s: %s: %s", argv[i], ks_strerror(rc), err);
            status = KS_EXIT_FAIL;
        }
        ks_cli_info(&cli, "%s: %u passed, %u failed", argv[i], res.passed, res.failed);
        passed += res.passed;
        failed += res.failed;
    }
    if (cli.json) {
        json_t *j = json_object();
        json_object_set_new(j, "passed", json_integer(passed));
        json_object_set_new(j, "failed", json_integer(failed));
        ks_cli_json_line(j);
    } else {
        printf("%u passed, %u failed\n", passed, failed);
    }
    return failed ? KS_EXIT_FAIL : status;
}

int ks_cmd_spf(int argc, char **argv)
{
    struct ks_cli cli;
    ks_cli_init(&cli, "spf", spf_usage, spf_help);
    if (argc < 2)
        return ks_cli_usage_error(&cli, "no verb given");
    const char *verb = argv[1];
    if (strcmp(verb, "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(verb, "policyd") == 0)
        return cmd_policyd(argc - 1, argv + 1);
    if (strcmp(verb, "survey") == 0)
        return cmd_survey(argc - 1, argv + 1);
    if (strcmp(verb, "test-suite") == 0)
        return cmd_test_suite(argc - 1, argv + 1);
    if (strcmp(verb, "stats") == 0)
        return cmd_stats(argc - 1, argv + 1);
    if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0) {
        fputs(spf_help, stdout);
        return KS_EXIT_OK;
    }
    return ks_cli_usage_error(&cli, "unknown verb '%s'", verb);
}
