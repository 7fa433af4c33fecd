/* kansoku crawl: the honeyclient, on URLs given or on the spam URLs of the store. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kansoku/ks_crawl.h"
#include "kansoku/ks_geo.h"
#include "kansoku/ks_samples.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"
#include "samples/samples_config.h"

static const char crawl_usage[] = "Usage: kansoku crawl [options] URL...\n"
                                  "       kansoku crawl --from-db [options]\n";

static const char crawl_help[] =
    "Usage: kansoku crawl [options] URL...\n"
    "       kansoku crawl --from-db [options]\n"
    "\n"
    "A honeyclient: fetches each URL (--from-db: the URLs of spam in the store) and follows\n"
    "HTTP redirects, meta refresh, frames, script src, script redirects (location = ...) and\n"
    "links to executables, recording every fetch (table crawl_fetches). Executables (PE, ELF,\n"
    "scripts, archives holding them, what the antivirus names) go to the sample registry,\n"
    "'via crawler', named by the chain's first URL. Nothing downloaded is ever run. Only\n"
    "http(s); non-public addresses are refused (the address connected to is checked).\n"
    "Prints a line per fetch and a summary on stderr; --json: objects of kind fetch, summary.\n"
    "\n"
    "Options:\n"
    "      --from-db              crawl the spam URLs of the store (mail_urls of messages with\n"
    "                             verdict spam) not crawled before\n"
    "      --recrawl              with --from-db: URLs crawled before too\n"
    "      --limit N              with --from-db: at most N URLs (default 100000)\n"
    "      --message-id ID        the message the URLs come from (for URLs given)\n"
    "      --allow-private        allow loopback, private and other non-public addresses\n"
    "      --resolve H:P:ADDR     use ADDR for host H, port P (as curl's --resolve; repeat)\n"
    "      --connect-to H:P:CH:CP connect to CH:CP for H:P (as curl's --connect-to; an empty\n"
    "                             H or P matches any; repeat)\n"
    "      --only-mapped          fetch only hosts named by --resolve/--connect-to\n"
    "      --user-agent UA        the User-Agent header (default: a desktop browser's)\n"
    "      --max-depth N          links followed from the first URL (default 6)\n"
    "      --max-redirects N      redirects (HTTP, refresh, script) per chain (default 10)\n"
    "      --max-fetches N        fetches per chain (default 32)\n"
    "      --max-bytes N          bytes read per resource (default 8388608)\n"
    "      --max-chain-bytes N    bytes read per chain (default 33554432)\n"
    "      --fetch-timeout S      seconds per fetch (default 20; decimals allowed)\n"
    "      --connect-timeout S    seconds per connection attempt (default 10)\n"
    "      --chain-timeout S      seconds per chain, i.e. per URL crawled (default 60)\n"
    "      --max-connections N    connections at once (default 16)\n"
    "      --per-host N           connections at once to one host (default 2)\n"
    "      --host-delay MS        milliseconds between two fetches to one host (default 250)\n"
    "      --max-chains N         chains crawled at once (default 64)\n"
    "      --max-hosts N          hosts tracked at once (default 4096)\n"
    "      --max-queue N          fetches waiting, over all chains (default 8192)\n"
    "      --max-chain-urls N     URLs remembered per chain (visited set, default 64)\n"
    "      --max-links N          links taken from one document (default 64)\n"
    "      --samples-dir DIR      keep executables read-only under DIR/ab/cd/SHA256\n"
    "                             (default $KANSOKU_SAMPLES, else not kept)\n"
    "      --clamav-db PATH       ClamAV database for the registry (default: none)\n"
    "      --yara-rules DIR       YARA rules for the registry (default " KS_YARA_DIR_DEFAULT "\n"
    "                             if present)\n"
    "      --no-yara              no YARA rules\n"
    "      --no-store             record nothing in the store\n"
    "\n"
    "Exit status: 0 done (fetches that failed are recorded, not fatal); 1 the store or the\n"
    "registry could not be opened, or writing the store failed; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

static struct ks_crawl *g_crawl;

static void on_signal(int sig)
{
    (void)sig;
    if (g_crawl)
        ks_crawl_stop(g_crawl);
}

struct run {
    struct ks_cli *cli;
    char **urls; /* roots: URL and message id pairs */
    char **mids;
    size_t n, cap, next;
    const char *message_id;
    uint64_t dropped;
    uint64_t limit;
};

static int next_root(void *user, struct ks_crawl_root *root)
{
    struct run *r = user;
    if (r->next >= r->n)
        return 0;
    root->url = r->urls[r->next];
    root->message_id = r->mids[r->next] ? r->mids[r->next] : r->message_id;
    r->next++;
    return 1;
}

static int add_root(struct run *r, const char *url, const char *mid)
{
    if (r->n >= r->limit) {
        r->dropped++;
        return KS_OK;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        char **u = realloc(r->urls, cap * sizeof *u);
        if (!u)
            return KS_ENOMEM;
        r->urls = u;
        char **m = realloc(r->mids, cap * sizeof *m);
        if (!m)
            return KS_ENOMEM;
        r->mids = m;
        r->cap = cap;
    }
    r->urls[r->n] = strdup(url);
    r->mids[r->n] = mid ? strdup(mid) : NULL;
    if (!r->urls[r->n] || (mid && !r->mids[r->n])) {
        free(r->urls[r->n]);
        free(r->mids[r->n]);
        return KS_ENOMEM;
    }
    r->n++;
    return KS_OK;
}

static int db_row(void *user, size_t ncols, const char *const *names,
                  const struct ks_store_value *v)
{
    struct run *r = user;
    char url[4096], mid[1024];
    if (ncols < 2 || v[0].type != KS_TYPE_TEXT)
        return 0;
    snprintf(url, sizeof url, "%.*s", (int)v[0].v.bytes.len, (const char *)v[0].v.bytes.ptr);
    if (v[1].type == KS_TYPE_TEXT)
        snprintf(mid, sizeof mid, "%.*s", (int)v[1].v.bytes.len, (const char *)v[1].v.bytes.ptr);
    else
        mid[0] = '\0';
    return add_root(r, url, mid) == KS_OK ? 0 : 1;
}

/* The spam URLs the mail module stored, one per distinct URL (its first message), oldest
 * first; without --recrawl, not those that are the root of a chain already recorded. */
static const char db_sql[] =
    "SELECT u.url, min(u.message_id) FROM mail_urls u"
    " JOIN inputs iu ON iu.id = u.input_id AND iu.status = 'complete'"
    " JOIN mail_messages m ON m.message_id = u.message_id AND m.ts = u.ts"
    " JOIN inputs im ON im.id = m.input_id AND im.status = 'complete'"
    " WHERE m.verdict = 'spam' AND (?1 OR NOT EXISTS (SELECT 1 FROM crawl_fetches c"
    " JOIN inputs ic ON ic.id = c.input_id AND ic.status = 'complete'"
    " WHERE c.root = u.url AND c.depth = 0))"
    " GROUP BY u.url ORDER BY min(u.ts), u.url LIMIT ?2";

static void on_fetch(void *user, const struct ks_crawl_fetch *f)
{
    struct ks_cli *cli = user;
    char addr[64] = "";
    if (f->address.family)
        ks_addr_format(&f->address, addr, sizeof addr);
    if (cli->json) {
        char t[64];
        ks_time_format(f->ts, 0, 3, t, sizeof t);
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string("fetch"));
        json_object_set_new(o, "ts", json_string(t));
        json_object_set_new(o, "chain", json_integer((json_int_t)f->chain));
        json_object_set_new(o, "root", json_string(f->root));
        json_object_set_new(o, "url", json_string(f->url));
        json_object_set_new(o, "parent", json_string(f->parent));
        json_object_set_new(o, "link", json_string(ks_crawl_link_name(f->link)));
        json_object_set_new(o, "depth", json_integer(f->depth));
        json_object_set_new(o, "message_id", json_string(f->message_id));
        json_object_set_new(o, "status", json_integer(f->status));
        json_object_set_new(o, "address", addr[0] ? json_string(addr) : json_null());
        json_object_set_new(o, "content_type", json_string(f->content_type));
        json_object_set_new(o, "size", json_integer((json_int_t)f->size));
        json_object_set_new(o, "sha256", f->sha256[0] ? json_string(f->sha256) : json_null());
        json_object_set_new(o, "type", json_string(f->kind));
        json_object_set_new(o, "error", json_string(f->error));
        json_object_set_new(o, "ms", json_integer(f->ms));
        json_object_set_new(o, "sample", f->sample[0] ? json_string(f->sample) : json_null());
        ks_cli_json_line(o);
    } else if (!cli->quiet) {
        printf("%" PRIu64 "\t%u\t%s\t%ld\t%s\t%" PRIu64 "\t%s\t%s%s%s\n", f->chain, f->depth,
               ks_crawl_link_name(f->link), f->status, f->kind, f->size, addr[0] ? addr : "-",
               f->url, f->error[0] ? "\t" : "", f->error);
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

/* Seconds with decimals -> milliseconds, 1 ms .. 1 day. */
static int parse_seconds(const char *s, uint32_t *ms)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v) || v < 0.001 || v > 86400)
        return -1;
    *ms = (uint32_t)llround(v * 1000);
    return 0;
}

static bool map_entry_ok(const char *e, int fields)
{
    int colons = 0;
    for (const char *p = e; *p; p++)
        colons += *p == ':';
    /* IPv6 addresses add colons: only a minimum is checked here, curl checks the rest */
    return colons >= fields - 1 && strlen(e) < 1024;
}

static void begin_input(struct ks_cli *cli, struct ks_store *st, const char *name,
                        struct ks_ingest **ing, int *code)
{
    char id[512], hex[65];
    unsigned char md[32];
    unsigned mdlen = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int n = snprintf(id, sizeof id, "crawl %lld.%09ld %ld %s", (long long)ts.tv_sec,
                     (long)ts.tv_nsec, (long)getpid(), name);
    EVP_Digest(id, (size_t)(n < (int)sizeof id ? n : (int)sizeof id - 1), md, &mdlen, EVP_sha256(),
               NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    struct ks_store_input in = {.size = 0, .name = name, .kind = "crawl"};
    memcpy(in.sha256, hex, sizeof hex);
    int rc = ks_store_input_begin(st, &in, 0, ing);
    if (rc != KS_OK) {
        ks_cli_error(cli, "%s", ks_store_errmsg(st));
        *code = KS_EXIT_FAIL;
    }
}

int ks_cmd_crawl(int argc, char **argv)
{
    static const struct option opts[] = {KS_CLI_COMMON_OPTS,
                                         {"from-db", no_argument, NULL, 0x200},
                                         {"recrawl", no_argument, NULL, 0x201},
                                         {"limit", required_argument, NULL, 0x202},
                                         {"message-id", required_argument, NULL, 0x203},
                                         {"allow-private", no_argument, NULL, 0x204},
                                         {"resolve", required_argument, NULL, 0x205},
                                         {"connect-to", required_argument, NULL, 0x206},
                                         {"only-mapped", no_argument, NULL, 0x207},
                                         {"user-agent", required_argument, NULL, 0x208},
                                         {"max-depth", required_argument, NULL, 0x209},
                                         {"max-redirects", required_argument, NULL, 0x20a},
                                         {"max-fetches", required_argument, NULL, 0x20b},
                                         {"max-bytes", required_argument, NULL, 0x20c},
                                         {"max-chain-bytes", required_argument, NULL, 0x20d},
                                         {"fetch-timeout", required_argument, NULL, 0x20e},
                                         {"connect-timeout", required_argument, NULL, 0x20f},
                                         {"chain-timeout", required_argument, NULL, 0x210},
                                         {"max-connections", required_argument, NULL, 0x211},
                                         {"per-host", required_argument, NULL, 0x212},
                                         {"host-delay", required_argument, NULL, 0x213},
                                         {"max-chains", required_argument, NULL, 0x214},
                                         {"max-hosts", required_argument, NULL, 0x215},
                                         {"samples-dir", required_argument, NULL, 0x216},
                                         {"clamav-db", required_argument, NULL, 0x217},
                                         {"yara-rules", required_argument, NULL, 0x218},
                                         {"no-yara", no_argument, NULL, 0x219},
                                         {"no-store", no_argument, NULL, 0x21a},
                                         {"max-queue", required_argument, NULL, 0x21b},
                                         {"max-chain-urls", required_argument, NULL, 0x21c},
                                         {"max-links", required_argument, NULL, 0x21d},
                                         {0}};
    struct ks_cli cli;
    struct ks_crawl_config cfg;
    struct ks_samples_config scfg;
    struct ks_samples *smp = NULL;
    struct ks_store *st = NULL;
    struct ks_ingest *ing = NULL;
    struct ks_geo *geo = NULL;
    struct ks_crawl *cr = NULL;
    struct run run = {.limit = 100000};
    const char **resolve = NULL, **connect_to = NULL;
    bool from_db = false, recrawl = false, no_store = false, no_yara = false;
    uint64_t v;
    int opt, code = KS_EXIT_OK, rc;
    ks_crawl_config_default(&cfg);
    ks_samples_config_default(&scfg);
    const char *sdir = getenv("KANSOKU_SAMPLES");
    scfg.dir = sdir && *sdir ? sdir : NULL;
    ks_cli_init(&cli, "crawl", crawl_usage, crawl_help);
    run.cli = &cli;
    resolve = calloc((size_t)argc + 1, sizeof *resolve);
    connect_to = calloc((size_t)argc + 1, sizeof *connect_to);
    if (!resolve || !connect_to) {
        ks_cli_error(&cli, "out of memory");
        code = KS_EXIT_FAIL;
        goto out;
    }
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            goto out;
        if (r > 0)
            continue;
        switch (opt) {
        case 0x200:
            from_db = true;
            break;
        case 0x201:
            recrawl = true;
            break;
        case 0x202:
            if (parse_u64(optarg, 1, 100000000, &run.limit) != 0) {
                code = ks_cli_usage_error(&cli, "--limit needs a positive number");
                goto out;
            }
            break;
        case 0x203:
            run.message_id = optarg;
            break;
        case 0x204:
            cfg.allow_private = true;
            break;
        case 0x205:
        case 0x206:
            if (!map_entry_ok(optarg, opt == 0x205 ? 3 : 4)) {
                code = ks_cli_usage_error(
                    &cli, "%s needs %s, not '%s'", opt == 0x205 ? "--resolve" : "--connect-to",
                    opt == 0x205 ? "HOST:PORT:ADDR" : "HOST:PORT:CHOST:CPORT", optarg);
                goto out;
            }
            if (opt == 0x205)
                resolve[cfg.nresolve++] = optarg;
            else
                connect_to[cfg.nconnect_to++] = optarg;
            break;
        case 0x207:
            cfg.only_mapped = true;
            break;
        case 0x208:
            cfg.user_agent = optarg;
            break;
        case 0x209:
        case 0x20a:
        case 0x20b:
        case 0x211:
        case 0x212:
        case 0x213:
        case 0x214:
        case 0x215:
        case 0x21b:
        case 0x21c:
        case 0x21d:
            if (parse_u64(optarg, opt == 0x209 || opt == 0x20a || opt == 0x213 ? 0 : 1,
                          opt == 0x213 ? 3600000 : 1u << 20, &v) != 0) {
                code = ks_cli_usage_error(&cli, "'%s' needs a number, not '%s'", argv[optind - 2],
                                          optarg);
                goto out;
            }
            if (opt == 0x209)
                cfg.max_depth = (uint32_t)v;
            else if (opt == 0x20a)
                cfg.max_redirects = (uint32_t)v;
            else if (opt == 0x20b)
                cfg.max_fetches = (uint32_t)v;
            else if (opt == 0x211)
                cfg.max_total = (uint32_t)v;
            else if (opt == 0x212)
                cfg.max_per_host = (uint32_t)v;
            else if (opt == 0x213)
                cfg.host_delay_ms = (uint32_t)v;
            else if (opt == 0x214)
                cfg.max_chains = (uint32_t)v;
            else if (opt == 0x215)
                cfg.max_hosts = (uint32_t)v;
            else if (opt == 0x21b)
                cfg.max_queue = (uint32_t)v;
            else if (opt == 0x21c)
                cfg.max_chain_urls = (uint32_t)v;
            else
                cfg.max_links = (uint32_t)v;
            break;
        case 0x20c:
        case 0x20d:
            if (parse_u64(optarg, 1, (uint64_t)1 << 34, &v) != 0) {
                code = ks_cli_usage_error(&cli, "'%s' needs a positive number of bytes",
                                          argv[optind - 2]);
                goto out;
            }
            *(opt == 0x20c ? &cfg.max_bytes : &cfg.max_chain_bytes) = v;
            break;
        case 0x20e:
        case 0x20f:
        case 0x210: {
            uint32_t ms;
            if (parse_seconds(optarg, &ms) != 0) {
                code = ks_cli_usage_error(&cli, "'%s' needs seconds (0.001 .. 86400)",
                                          argv[optind - 2]);
                goto out;
            }
            if (opt == 0x20e)
                cfg.fetch_timeout_ms = ms;
            else if (opt == 0x20f)
                cfg.connect_timeout_ms = ms;
            else
                cfg.chain_timeout_ms = ms;
            break;
        }
        case 0x216:
            scfg.dir = optarg;
            break;
        case 0x217:
            scfg.clamav_db = optarg;
            break;
        case 0x218:
            scfg.yara_dir = optarg;
            break;
        case 0x219:
            no_yara = true;
            break;
        case 0x21a:
            no_store = true;
            break;
        default:
            code = ks_cli_usage_error(&cli, "unknown option '%s'", argv[optind - 1]);
            goto out;
        }
    }
    if (from_db && optind < argc) {
        code = ks_cli_usage_error(&cli, "give URLs or --from-db, not both");
        goto out;
    }
    if (!from_db && optind >= argc) {
        code = ks_cli_usage_error(&cli, "which URLs? (or --from-db)");
        goto out;
    }
    if (from_db && no_store) {
        code = ks_cli_usage_error(&cli, "--from-db reads the store: not with --no-store");
        goto out;
    }
    if (no_yara) {
        scfg.yara_dir = NULL;
    } else if (!scfg.yara_dir) {
        struct stat sb;
        if (stat(KS_YARA_DIR_DEFAULT, &sb) == 0 && S_ISDIR(sb.st_mode))
            scfg.yara_dir = KS_YARA_DIR_DEFAULT;
    }
    cfg.resolve = resolve;
    cfg.connect_to = connect_to;

    code = KS_EXIT_FAIL;
    if (!no_store && ks_store_open(cli.db_path, NULL, &st) != KS_OK) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(NULL));
        goto out;
    }
    if (from_db) {
        struct ks_store_value p[2] = {{.type = KS_TYPE_I64, .v.i64 = recrawl},
                                      {.type = KS_TYPE_I64, .v.i64 = (int64_t)run.limit}};
        run.limit = UINT64_MAX;
        rc = ks_store_query(st, db_sql, p, 2, db_row, &run);
        if (rc != KS_OK) {
            ks_cli_error(&cli, "reading the spam URLs: %s", ks_store_errmsg(st));
            goto out;
        }
        ks_cli_info(&cli, "%zu spam URLs to crawl", run.n);
    } else {
        for (int i = optind; i < argc; i++)
            if (add_root(&run, argv[i], NULL) != KS_OK) {
                ks_cli_error(&cli, "out of memory");
                goto out;
            }
    }
    if ((rc = ks_samples_new(&scfg, &cli.diag, &smp)) != KS_OK) {
        ks_cli_error(&cli, "cannot start the sample registry: %s", ks_strerror(rc));
        goto out;
    }
    ks_geo_open(cli.geo_dir, &geo); /* without data, sample sources are "--" */
    if (st) {
        char name[300];
        snprintf(name, sizeof name, "crawl %s", from_db ? "--from-db" : argv[optind]);
        code = KS_EXIT_OK;
        begin_input(&cli, st, name, &ing, &code);
        if (code != KS_EXIT_OK)
            goto out;
        code = KS_EXIT_FAIL;
    }
    cfg.store = st;
    cfg.ing = ing;
    cfg.samples = smp;
    cfg.geo = geo;
    cfg.on_fetch = on_fetch;
    cfg.user = &cli;
    if ((rc = ks_crawl_new(&cfg, &cli.diag, &cr)) != KS_OK) {
        ks_cli_error(&cli, "cannot start the crawler: %s", ks_strerror(rc));
        goto out;
    }
    g_crawl = cr;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = ks_crawl_run(cr, next_root, &run);
    g_crawl = NULL;
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    if (rc == KS_EIO) {
        ks_cli_error(&cli, "the transfer engine failed");
        goto out;
    }
    if (rc == KS_EINTR)
        ks_cli_warn(&cli, "stopped: fetches not done are recorded as 'stopped'");
    struct ks_crawl_stats cs;
    ks_crawl_stats(cr, &cs);
    if (ing) {
        rc = ks_store_input_end(ing, true);
        ing = NULL;
        if (rc != KS_OK) {
            ks_cli_error(&cli, "store: %s", ks_store_errmsg(st));
            goto out;
        }
    }
    if (cli.json) {
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string("summary"));
        json_object_set_new(o, "urls", json_integer((json_int_t)run.n));
#define J(f) json_object_set_new(o, #f, json_integer((json_int_t)cs.f))
        J(chains);
        J(chains_skipped);
        J(fetches);
        J(pages);
        J(redirects);
        J(downloads);
        J(executables);
        J(errors);
        J(bytes);
        J(samples);
        J(sample_errors);
        J(store_errors);
        J(refused_address);
        J(refused_scheme);
        J(not_mapped);
        J(timeouts);
        J(max_bytes_hits);
        J(limit_depth);
        J(limit_redirects);
        J(limit_fetches);
        J(visited_dup);
        J(visited_dropped);
        J(queue_dropped);
        J(hosts_dropped);
        J(links_dropped);
        J(bad_urls);
        J(links_too_long);
        J(peak_active);
#undef J
        ks_cli_json_line(o);
    } else if (!cli.quiet) {
        fprintf(stderr,
                "kansoku: crawl: %" PRIu64 " URLs, %" PRIu64 " fetches (%" PRIu64 " pages, %" PRIu64
                " redirects, %" PRIu64 " downloads, %" PRIu64 " executables, %" PRIu64
                " errors), %" PRIu64 " bytes; %" PRIu64 " samples; refused: %" PRIu64
                " addresses, %" PRIu64 " schemes, %" PRIu64 " unmapped; %" PRIu64
                " timeouts; %" PRIu64 " byte limits; not followed: %" PRIu64 " depth, %" PRIu64
                " redirects, %" PRIu64 " fetches, %" PRIu64 " dropped\n",
                cs.chains, cs.fetches, cs.pages, cs.redirects, cs.downloads, cs.executables,
                cs.errors, cs.bytes, cs.samples, cs.refused_address, cs.refused_scheme,
                cs.not_mapped, cs.timeouts, cs.max_bytes_hits, cs.limit_depth, cs.limit_redirects,
                cs.limit_fetches, cs.visited_dropped + cs.queue_dropped + cs.hosts_dropped);
    }
    fflush(stdout);
    code = cs.store_errors ? KS_EXIT_FAIL : KS_EXIT_OK;
    if (cs.store_errors)
        ks_cli_error(&cli, "%" PRIu64 " rows could not be stored", cs.store_errors);
out:
    if (ing)
        ks_store_input_end(ing, false);
    ks_crawl_free(cr);
    ks_samples_free(smp);
    ks_geo_free(geo);
    ks_store_close(st);
    for (size_t i = 0; i < run.n; i++) {
        free(run.urls[i]);
        free(run.mids[i]);
    }
    free(run.urls);
    free(run.mids);
    free(resolve);
    free(connect_to);
    return code;
}
