/* kansoku sqli scan / stats: web server logs and HTTP requests in captures -> SQL-injection
 * detections (JSON lines and the store); from the store: detections per day by signature,
 * sources by country, campaigns. */
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "kansoku/ks_capture.h"
#include "kansoku/ks_geo.h"
#include "kansoku/ks_http.h"
#include "kansoku/ks_ip.h"
#include "kansoku/ks_sqli.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"
#include "sqli_verbs.h"

#define STORE_CUT 1024 /* bytes of a value kept in the store */

static const char scan_usage[] =
    "Usage: kansoku sqli scan (--log FILE... | -r PCAP... | -i IFACE) [--db PATH] [--json]\n";

static const char scan_help[] =
    "Usage: kansoku sqli scan (--log FILE... | -r PCAP... | -i IFACE) [--db PATH] [--json]\n"
    "\n"
    "Reads web server access logs, or HTTP requests out of packet captures and live traffic\n"
    "(TCP reassembled, HTTP/1.x parsed), splits every request into its parameters (path\n"
    "segments, query string, form/multipart/JSON bodies, cookies, User-Agent, Referer,\n"
    "X-Forwarded-For), decodes them as servers do and checks each for SQL injection. One line\n"
    "per detection on stdout; with --db the detections are also stored (table\n"
    "sqli_detections), one input per log file or per set of captures (an input ingested before\n"
    "is skipped unless --force).\n"
    "\n"
    "Options:\n"
    "      --log FILE        a log file ('-' = stdin); may be repeated; FILEs may also be\n"
    "                        given without --log\n"
    "  -r, --read PCAP       a pcap or pcapng capture ('-' = stdin); may be repeated (read in\n"
    "                        the order of their first packets)\n"
    "  -i, --interface IFACE capture live (needs root or CAP_NET_RAW); stop with Ctrl-C\n"
    "      --filter EXPR     BPF filter for captures (pcap-filter(7)), e.g. 'tcp port 80'\n"
    "      --snaplen N       live: bytes captured per packet (default 262144)\n"
    "      --promisc         live: promiscuous mode\n"
    "      --stream-memory N bytes for TCP reassembly: connection table and buffered\n"
    "                        segments and requests (default 256M; K/M/G suffixes); when\n"
    "                        full, the least recently active connections are evicted\n"
    "      --max-streams N   connection table capacity (default: stream memory / 2048)\n"
    "      --max-body N      body bytes of a request checked (default 65536)\n"
    "      --idle S          a connection quiet for S seconds is closed (default 300)\n"
    "      --format F        combined (default), common, json, or an Apache LogFormat string\n"
    "                        such as '%h %l %u %t \"%r\" %>s %b \"%{Referer}i\"'\n"
    "      --json-field F=K  JSON logs: the key(s) of field F (time, client, request, method,\n"
    "                        uri, query, status, bytes, host, user_agent, referer, xff,\n"
    "                        cookie, content_type, body); K is a comma list, a.b descends\n"
    "      --host NAME       target host for logs that do not name one (default '-')\n"
    "      --max-line N      longest line read (default 65536); longer lines are counted,\n"
    "                        reported and skipped\n"
    "      --truncate-long   check the first --max-line bytes of longer lines instead\n"
    "      --rules FILE      signature rules (default $KANSOKU_SQLI_RULES or the installed)\n"
    "      --force           store an input again even if it was ingested before\n"
    "\n"
    "Text output: TIME SOURCE HOST METHOD FIELD SIGNATURE VALUE (tab-separated). With --json:\n"
    "{\"time\",\"source\",\"host\",\"method\",\"path\",\"field\",\"signature\",\"value\",\n"
    "\"original\",\"span\":[START,END],\"status\",\"file\",\"line\"}; from captures \"line\" is\n"
    "replaced by \"packet\" (the packet with the request's first byte), and \"target\"\n"
    "(server address), \"sport\", \"dport\" and \"anomalies\" (framing ambiguities: cl_te,\n"
    "cl_cl, bad_cl, bad_te, obs_fold, bad_chunk, trunc_body, body_cut, gap, tcp_conflict,\n"
    "bad_line, bare_lf, double_host, bad_field) are added. HOST is the Host header, else the\n"
    "server address.\n"
    "\n"
    "Compiled rules are kept in $KANSOKU_CACHE_DIR (default ~/.cache/kansoku; empty: not kept).\n"
    "\n"
    "Exit status: 0 done (bad lines and packets are counted and reported, not fatal), 1 a log,\n"
    "a capture or the store failed, 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

static const char stats_usage[] =
    "Usage: kansoku sqli stats [--from DATE] [--to DATE] [--home CC] [--db PATH] [--json]\n";

static const char stats_help[] =
    "Usage: kansoku sqli stats [--from DATE] [--to DATE] [--home CC] [--db PATH] [--json]\n"
    "\n"
    "From the stored detections (kansoku sqli scan --db): detections per day by signature,\n"
    "sources by country, and campaigns: detections grouped over time by source, target and\n"
    "signature mix, each classified as data_theft, db_overload, defacement or unknown with\n"
    "the features that decided it (rules: src/sqli/README.md).\n"
    "\n"
    "Options:\n"
    "      --from DATE       first day (RFC 3339 date or date-time, UTC; default: all)\n"
    "      --to DATE         last day, inclusive (default: all)\n"
    "      --home CC         the home country for 'domestic' (default JP)\n"
    "      --min N           smallest campaign reported, in detections (default 5)\n"
    "\n"
    "With --json: {\"kind\":\"day\",\"day\",\"signature\",\"detections\"},\n"
    "{\"kind\":\"country\",\"country\",\"sources\",\"detections\",\"share\"},\n"
    "{\"kind\":\"campaign\",\"id\",\"class\",\"start\",\"end\",\"detections\",\"sources\",\n"
    "\"targets\",\"top_signature\",\"top_source\",\"top_host\",\"features\"}.\n"
    "\n"
    "Exit status: 0 done, 1 the store cannot be read, 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

/* ---- scan ---- */

struct scan {
    struct ks_cli *cli;
    struct ks_sqli *det;
    struct ks_ingest *ing;
    const struct ks_http_request *req;
    const struct ks_loc *loc;
    const char *default_host;
    char path[4096];
    char method[16];
    char host[256];
    char source[64];
    const struct ks_http_conn *conn; /* captures: the connection of the request */
    char target[KS_ADDR_STRLEN];
    uint64_t detections, values;
    int store_err;
};

static enum ks_sqli_method method_of(const struct ks_http_str *m)
{
    if (m->len == 3 && memcmp(m->p, "GET", 3) == 0)
        return KS_SQLI_M_GET;
    if (m->len == 4 && memcmp(m->p, "POST", 4) == 0)
        return KS_SQLI_M_POST;
    return m->len ? KS_SQLI_M_OTHER : KS_SQLI_M_UNKNOWN;
}

static void copy_str(char *dst, size_t cap, const struct ks_http_str *s, const char *none)
{
    if (!s->len) {
        snprintf(dst, cap, "%s", none);
        return;
    }
    size_t n = s->len < cap - 1 ? s->len : cap - 1;
    memcpy(dst, s->p, n);
    dst[n] = '\0';
}

static const char *const part_names[] = {"?", "query", "body", "path", "cookie", "header"};

/* Text safe for a terminal and a TSV line: control bytes and backslashes escaped. */
static void put_escaped(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '\\')
            fputs("\\\\", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
}

/* JSON strings must be UTF-8: bytes that are not are kept as \u00XX of their value. */
static json_t *json_bytes(const uint8_t *p, size_t n)
{
    json_t *j = json_stringn((const char *)p, n);
    if (j)
        return j;
    char *b = malloc(n * 2 + 1);
    if (!b)
        return json_string("");
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x80)
            b[o++] = (char)p[i];
        else {
            b[o++] = (char)(0xC0 | p[i] >> 6);
            b[o++] = (char)(0x80 | (p[i] & 0x3F));
        }
    }
    j = json_stringn(b, o);
    free(b);
    return j ? j : json_string("");
}

static size_t utf8_cut(const uint8_t *p, size_t n, size_t cap)
{
    if (n <= cap)
        return n;
    n = cap;
    while (n && (p[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static int on_param(void *user, const struct ks_http_param *p)
{
    struct scan *sc = user;
    struct ks_sqli_value v = {.data = p->value.p,
                              .len = p->value.len,
                              .method = method_of(&sc->req->method),
                              .field = (enum ks_sqli_field)p->part,
                              .path = sc->path};
    struct ks_sqli_result r;
    sc->values++;
    if (!ks_sqli_check(sc->det, &v, &r))
        return 0;
    const struct ks_http_request *q = sc->req;
    char field[300];
    snprintf(field, sizeof field, "%s:%.*s", part_names[p->part], (int)p->name.len,
             (const char *)p->name.p);
    char when[40] = "-";
    if (q->time_us) /* packets carry microseconds, log lines seconds */
        ks_time_format(q->time_us, 0, sc->conn ? 6 : 0, when, sizeof when);
    for (unsigned i = 0; i < r.nhits; i++) {
        const char *sig = ks_sqli_sig_name(sc->det, r.hits[i].sig);
        sc->detections++;
        if (sc->cli->json) {
            json_t *j = json_object();
            json_object_set_new(j, "time", json_string(when));
            json_object_set_new(j, "source", json_string(sc->source));
            json_object_set_new(j, "host", json_string(sc->host));
            json_object_set_new(j, "method", json_string(sc->method));
            json_object_set_new(j, "path", json_bytes((const uint8_t *)sc->path, strlen(sc->path)));
            json_object_set_new(j, "field", json_bytes((const uint8_t *)field, strlen(field)));
            json_object_set_new(j, "signature", json_string(sig));
            json_object_set_new(j, "value", json_bytes(p->value.p, p->value.len));
            json_object_set_new(j, "original", json_bytes(p->original.p, p->original.len));
            json_object_set_new(
                j, "span",
                json_pack("[II]", (json_int_t)r.hits[i].start, (json_int_t)r.hits[i].end));
            json_object_set_new(j, "status", json_integer(q->status));
            json_object_set_new(j, "file", json_string(sc->loc->source ? sc->loc->source : "-"));
            if (sc->conn) {
                json_object_set_new(j, "packet", json_integer((json_int_t)sc->loc->packet));
                json_object_set_new(j, "target", json_string(sc->target));
                json_object_set_new(j, "sport", json_integer(sc->conn->client_port));
                json_object_set_new(j, "dport", json_integer(sc->conn->server_port));
                json_t *a = json_array();
                for (unsigned b = 0; b < KS_HTTP_A_COUNT; b++)
                    if (q->anomalies & 1u << b)
                        json_array_append_new(a, json_string(ks_http_anomaly_name(1u << b)));
                json_object_set_new(j, "anomalies", a);
            } else
                json_object_set_new(j, "line", json_integer(sc->loc->line));
            ks_cli_json_line(j);
        } else {
            printf("%s\t%s\t%s\t%s\t", when, sc->source, sc->host, sc->method);
            put_escaped(stdout, (const uint8_t *)field, strlen(field));
            printf("\t%s\t", sig);
            put_escaped(stdout, p->value.p, p->value.len < 200 ? p->value.len : 200);
            putchar('\n');
        }
        if (sc->ing && !sc->store_err) {
            size_t vn = utf8_cut(p->value.p, p->value.len, STORE_CUT);
            size_t on = utf8_cut(p->original.p, p->original.len, STORE_CUT);
            ks_store_row_begin(sc->ing, KS_TBL_SQLI_DETECTIONS);
            ks_store_put_time(sc->ing, q->time_us);
            ks_store_put_text(sc->ing, sc->source, strlen(sc->source));
            ks_store_put_text(sc->ing, sc->host, strlen(sc->host));
            ks_store_put_text(sc->ing, sc->method, strlen(sc->method));
            ks_store_put_text(sc->ing, sc->path,
                              utf8_cut((const uint8_t *)sc->path, strlen(sc->path), STORE_CUT));
            ks_store_put_text(sc->ing, field, strlen(field));
            ks_store_put_text(sc->ing, sig, strlen(sig));
            ks_store_put_text(sc->ing, (const char *)p->value.p, vn);
            ks_store_put_text(sc->ing, (const char *)p->original.p, on);
            ks_store_put_i64(sc->ing, r.hits[i].start);
            ks_store_put_i64(sc->ing, r.hits[i].end);
            ks_store_put_i64(sc->ing, q->status);
            int e = ks_store_row_end(sc->ing);
            if (e && e != KS_EINVAL)
                sc->store_err = e;
        }
    }
    return 0;
}

static int json_field_opt(struct ks_http_log_config *cfg, const char *arg)
{
    static const char *const names[KS_HTTP_JF_COUNT] = {
        "time", "client",     "request", "method", "uri",    "query",        "status", "bytes",
        "host", "user_agent", "referer", "xff",    "cookie", "content_type", "body"};
    const char *eq = strchr(arg, '=');
    if (!eq || !eq[1])
        return -1;
    for (int i = 0; i < KS_HTTP_JF_COUNT; i++)
        if (strlen(names[i]) == (size_t)(eq - arg) &&
            memcmp(names[i], arg, (size_t)(eq - arg)) == 0) {
            cfg->json_fields[i] = eq + 1;
            return 0;
        }
    return -1;
}

static int scan_file(struct ks_cli *cli, struct scan *sc, struct ks_store *st, const char *file,
                     const struct ks_http_log_config *lcfg, uint32_t max_line, bool truncate,
                     bool force, struct ks_http_params *params, uint64_t totals[8])
{
    int rc = KS_EXIT_FAIL;
    struct ks_http_reader *rd = NULL;
    struct ks_http_log *lg = NULL;
    sc->ing = NULL;
    sc->store_err = 0;
    if (st) {
        if (strcmp(file, "-") == 0) {
            ks_cli_error(cli, "stdin cannot be stored (an input is identified by its content); "
                              "give a file or leave out --db");
            return KS_EXIT_FAIL;
        }
        struct ks_store_input in = {.name = file, .kind = "sqli scan"};
        if (ks_store_hash_file(file, in.sha256, &in.size)) {
            ks_cli_error(cli, "%s: cannot read: %s", file, strerror(errno));
            return KS_EXIT_FAIL;
        }
        int e = ks_store_input_begin(st, &in, force ? KS_STORE_FORCE : 0, &sc->ing);
        if (e == KS_EEXIST) {
            ks_cli_warn(cli, "%s: %s", file, ks_store_errmsg(st));
            return KS_EXIT_OK;
        }
        if (e) {
            ks_cli_error(cli, "%s: %s", file, ks_store_errmsg(st));
            return KS_EXIT_FAIL;
        }
    }
    if (ks_http_reader_open(file, max_line, truncate, &cli->diag, &rd)) {
        ks_cli_error(cli, "%s: cannot open: %s", file, strerror(errno));
        goto out;
    }
    if (ks_http_log_new(lcfg, &lg)) {
        ks_cli_error(cli, "bad --format");
        goto out;
    }
    const uint8_t *line;
    size_t len;
    struct ks_loc loc;
    int got;
    while ((got = ks_http_reader_next(rd, &line, &len, &loc)) == 1) {
        struct ks_http_request req;
        if (ks_http_log_parse(lg, line, len, &loc, &req))
            continue;
        sc->req = &req;
        sc->loc = &loc;
        copy_str(sc->path, sizeof sc->path, &req.path, "");
        copy_str(sc->method, sizeof sc->method, &req.method, "-");
        copy_str(sc->host, sizeof sc->host, &req.host, sc->default_host);
        copy_str(sc->source, sizeof sc->source, &req.client, "-");
        ks_http_params_each(params, &req, on_param, sc);
        if (sc->store_err)
            break;
    }
    if (got < 0) {
        ks_cli_error(cli, "%s: read error: %s", file, strerror(errno));
        goto out;
    }
    if (sc->store_err) {
        ks_cli_error(cli, "%s: store: %s", file, ks_store_errmsg(st));
        goto out;
    }
    struct ks_http_reader_stats rs;
    struct ks_http_log_stats ls;
    ks_http_reader_stats(rd, &rs);
    ks_http_log_stats(lg, &ls);
    totals[0] += rs.lines;
    totals[1] += ls.parsed;
    totals[2] += ls.bad;
    totals[3] += rs.long_lines;
    totals[4] += rs.binary;
    totals[5] += rs.bytes;
    rc = KS_EXIT_OK;
out:
    if (sc->ing) {
        int e = ks_store_input_end(sc->ing, rc == KS_EXIT_OK);
        if (e && rc == KS_EXIT_OK) {
            ks_cli_error(cli, "%s: store: %s", file, ks_store_errmsg(st));
            rc = KS_EXIT_FAIL;
        }
        sc->ing = NULL;
    }
    ks_http_log_free(lg);
    ks_http_reader_free(rd);
    return rc;
}

/* ---- captures ---- */

static volatile sig_atomic_t g_stop;
static struct ks_capture *g_cap;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    if (g_cap)
        ks_capture_break(g_cap);
}

struct cap_run {
    struct scan *sc;
    struct ks_http_params *params;
    struct ks_capture *cap;
    bool live;
};

static void on_request(void *user, const struct ks_http_request *req,
                       const struct ks_http_conn *conn)
{
    struct cap_run *cr = user;
    struct scan *sc = cr->sc;
    if (sc->store_err)
        return;
    struct ks_loc loc = {.source = ks_capture_source(cr->cap), .packet = conn->packet};
    sc->req = req;
    sc->loc = &loc;
    sc->conn = conn;
    ks_addr_format(&conn->server, sc->target, sizeof sc->target);
    copy_str(sc->path, sizeof sc->path, &req->path, "");
    copy_str(sc->method, sizeof sc->method, &req->method, "-");
    copy_str(sc->host, sizeof sc->host, &req->host, sc->target);
    copy_str(sc->source, sizeof sc->source, &req->client, "-");
    uint64_t before = sc->detections;
    ks_http_params_each(cr->params, req, on_param, sc);
    if (cr->live && sc->detections != before)
        fflush(stdout);
    sc->loc = NULL;
    sc->conn = NULL;
}

static int scan_captures(struct ks_cli *cli, struct scan *sc, struct ks_store *st,
                         const char **files, size_t nfiles, const char *iface,
                         struct ks_capture_config *ccfg, struct ks_http_capture_config *hcfg,
                         bool force, struct ks_http_params *params)
{
    int rc = KS_EXIT_FAIL;
    struct ks_capture *cap = NULL;
    struct ks_http_capture *hc = NULL;
    struct cap_run cr = {.sc = sc, .params = params, .live = iface != NULL};
    sc->ing = NULL;
    sc->store_err = 0;
    ccfg->diag = &cli->diag;
    int e = iface ? ks_capture_open_live(iface, ccfg, &cap)
                  : ks_capture_open_files(files, nfiles, ccfg, &cap);
    if (e != KS_OK) {
        ks_cli_error(cli, "%s", ks_capture_errmsg(NULL));
        return KS_EXIT_FAIL;
    }
    cr.cap = cap;
    hcfg->diag = &cli->diag;
    hcfg->on_request = on_request;
    hcfg->user = &cr;
    e = ks_http_capture_new(hcfg, &hc);
    if (e != KS_OK) {
        ks_cli_error(cli, "cannot start reassembly: %s%s", ks_strerror(e),
                     e == KS_EINVAL ? " (--stream-memory too small for --max-body)" : "");
        goto out;
    }
    if (st) {
        struct ks_store_input in = {.name = iface ? iface : files[0], .kind = "sqli scan"};
        if (ks_cli_capture_identity(cli, files, nfiles, iface, NULL, &in) != KS_OK)
            goto out;
        e = ks_store_input_begin(st, &in, force ? KS_STORE_FORCE : 0, &sc->ing);
        if (e == KS_EEXIST) {
            ks_cli_warn(cli, "%s: %s", in.name, ks_store_errmsg(st));
            rc = KS_EXIT_OK;
            goto out;
        }
        if (e) {
            ks_cli_error(cli, "%s: %s", in.name, ks_store_errmsg(st));
            goto out;
        }
    }
    g_cap = cap;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (iface)
        ks_cli_info(cli, "capturing on %s (stop with Ctrl-C)", iface);
    struct ks_pkt p;
    int err = KS_OK;
    for (;;) {
        int n = ks_capture_next(cap, &p);
        if (n == 1) {
            ks_http_capture_source(hc, ks_capture_source(cap));
            ks_http_capture_feed(hc, &p);
            if (sc->store_err)
                break;
            continue;
        }
        if (n == 0 || n == KS_EINTR)
            break;
        if (n == KS_ETIMEOUT) {
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            ks_http_capture_tick(hc, (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000);
            if (g_stop)
                break;
            continue;
        }
        err = n;
        ks_cli_error(cli, "%s", ks_capture_errmsg(cap));
        if (!iface && nfiles > 1)
            continue; /* the next file goes on */
        break;
    }
    ks_http_capture_flush(hc);
    g_cap = NULL;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    fflush(stdout);
    if (sc->store_err) {
        ks_cli_error(cli, "store: %s", ks_store_errmsg(st));
        goto out;
    }
    struct ks_capture_stats cs;
    struct ks_http_capture_stats hs;
    ks_capture_stats(cap, &cs);
    ks_http_capture_stats(hc, &hs);
    uint64_t amb = 0;
    for (unsigned i = 0; i < KS_HTTP_A_COUNT; i++)
        if (1u << i & (KS_HTTP_A_CL_TE | KS_HTTP_A_CL_CL | KS_HTTP_A_BAD_CL | KS_HTTP_A_BAD_TE |
                       KS_HTTP_A_OBS_FOLD | KS_HTTP_A_BAD_CHUNK | KS_HTTP_A_BAD_FIELD))
            amb += hs.anomalies[i];
    if (!cli->quiet)
        fprintf(stderr,
                "kansoku: sqli scan: %" PRIu64 " packets (%" PRIu64 " TCP, %" PRIu64
                " malformed), %" PRIu64 " connections, %" PRIu64 " requests, %" PRIu64
                " values, %" PRIu64 " detections; %" PRIu64 " ambiguous framings, %" PRIu64
                " truncated chunked bodies, %" PRIu64 " TCP conflicts, %" PRIu64
                " connections evicted\n",
                cs.packets, hs.packets, cs.bad, hs.streams, hs.requests, sc->values, sc->detections,
                amb, hs.trunc_chunked, hs.conflicts, hs.evicted_full + hs.evicted_mem);
    if (cli->verbose) {
        ks_cli_info(cli,
                    "reassembly: %" PRIu64 " midstream, %" PRIu64 " out of order, %" PRIu64
                    " retransmitted, %" PRIu64 " overlaps, %" PRIu64 " gaps (%" PRIu64
                    " bytes), %" PRIu64 " bytes dropped, %" PRIu64 " out of window, %" PRIu64
                    " expired, %" PRIu64 " evicted (table full), %" PRIu64
                    " evicted (buffers full); memory peak %" PRIu64 " of %" PRIu64 " bytes",
                    hs.midstream, hs.ooo, hs.retrans, hs.overlaps, hs.gaps, hs.gap_bytes,
                    hs.dropped_bytes, hs.out_of_window, hs.expired, hs.evicted_full, hs.evicted_mem,
                    hs.mem_peak, hs.mem_budget);
        ks_cli_info(cli,
                    "http: %" PRIu64 " non-HTTP connections, %" PRIu64 " bytes skipped to "
                    "resynchronise, %" PRIu64 " headers too long, %" PRIu64
                    " cut inside a header, %" PRIu64 " bodies cut short",
                    hs.non_http, hs.resync_bytes, hs.header_too_long, hs.trunc_header,
                    hs.trunc_body);
        for (unsigned i = 0; i < KS_HTTP_A_COUNT; i++)
            if (hs.anomalies[i])
                ks_cli_info(cli, "%" PRIu64 " requests flagged %s", hs.anomalies[i],
                            ks_http_anomaly_name(1u << i));
    }
    rc = err == KS_OK ? KS_EXIT_OK : KS_EXIT_FAIL;
out:
    if (sc->ing) {
        int se = ks_store_input_end(sc->ing, rc == KS_EXIT_OK && !sc->store_err);
        if (se && rc == KS_EXIT_OK) {
            ks_cli_error(cli, "store: %s", ks_store_errmsg(st));
            rc = KS_EXIT_FAIL;
        }
        sc->ing = NULL;
    }
    ks_http_capture_free(hc);
    ks_capture_free(cap);
    return rc;
}

/* "256M", "1G", "65536": bytes. */
static bool parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || *s < '0' || *s > '9')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return false;
    uint64_t mult = 1;
    if (*end == 'k' || *end == 'K')
        mult = 1ull << 10;
    else if (*end == 'm' || *end == 'M')
        mult = 1ull << 20;
    else if (*end == 'g' || *end == 'G')
        mult = 1ull << 30;
    else if (*end)
        return false;
    if (*end && end[1])
        return false;
    if (v > UINT64_MAX / mult)
        return false;
    *out = v * mult;
    return true;
}

int ks_sqli_scan_main(int argc, char **argv)
{
    enum {
        O_LOG = 0x200,
        O_FORMAT,
        O_JF,
        O_HOST,
        O_MAXLINE,
        O_TRUNC,
        O_RULES,
        O_FORCE,
        O_FILTER,
        O_SNAPLEN,
        O_PROMISC,
        O_SMEM,
        O_MAXSTREAMS,
        O_MAXBODY,
        O_IDLE
    };
    static const struct option opts[] = {
        KS_CLI_COMMON_OPTS,
        {"log", required_argument, NULL, O_LOG},
        {"read", required_argument, NULL, 'r'},
        {"interface", required_argument, NULL, 'i'},
        {"filter", required_argument, NULL, O_FILTER},
        {"snaplen", required_argument, NULL, O_SNAPLEN},
        {"promisc", no_argument, NULL, O_PROMISC},
        {"stream-memory", required_argument, NULL, O_SMEM},
        {"max-streams", required_argument, NULL, O_MAXSTREAMS},
        {"max-body", required_argument, NULL, O_MAXBODY},
        {"idle", required_argument, NULL, O_IDLE},
        {"format", required_argument, NULL, O_FORMAT},
        {"json-field", required_argument, NULL, O_JF},
        {"host", required_argument, NULL, O_HOST},
        {"max-line", required_argument, NULL, O_MAXLINE},
        {"truncate-long", no_argument, NULL, O_TRUNC},
        {"rules", required_argument, NULL, O_RULES},
        {"force", no_argument, NULL, O_FORCE},
        {0},
    };
    struct ks_cli cli;
    ks_cli_init(&cli, "sqli scan", scan_usage, scan_help);
    struct ks_http_log_config lcfg;
    ks_http_log_config_default(&lcfg);
    lcfg.diag = &cli.diag;
    struct ks_sqli_config scfg;
    ks_sqli_config_default(&scfg);
    scfg.diag = &cli.diag;
    scfg.cache_entries = 16384;
    scfg.db_cache_dir = ks_cli_cache_dir();
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    const char **pcaps = calloc((size_t)argc + 1, sizeof *pcaps);
    size_t nfiles = 0, npcaps = 0;
    bool use_db = false, truncate = false, force = false;
    uint32_t max_line = 65536;
    const char *host = "-", *iface = NULL;
    struct ks_capture_config ccfg;
    ks_capture_config_default(&ccfg);
    struct ks_http_capture_config hcfg;
    ks_http_capture_config_default(&hcfg);
    int opt, code;
    if (!files || !pcaps) {
        free(files);
        free(pcaps);
        return KS_EXIT_FAIL;
    }
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT "r:i:", opts, NULL)) != -1) {
        if (opt == 0x101)
            use_db = true;
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0) {
            free(files);
            free(pcaps);
            return code;
        }
        if (r > 0)
            continue;
        uint64_t v = 0;
        switch (opt) {
        case O_LOG:
            files[nfiles++] = optarg;
            break;
        case 'r':
            pcaps[npcaps++] = optarg;
            break;
        case 'i':
            iface = optarg;
            break;
        case O_FILTER:
            ccfg.filter = optarg;
            break;
        case O_PROMISC:
            ccfg.promisc = true;
            break;
        case O_SNAPLEN:
        case O_SMEM:
        case O_MAXSTREAMS:
        case O_MAXBODY:
        case O_IDLE:
            if (!parse_size(optarg, &v) || v == 0 ||
                (opt == O_SMEM ? v < (4u << 20) || v > (1ull << 40) : v > (1u << 30))) {
                free(files);
                free(pcaps);
                return ks_cli_usage_error(&cli, "bad value '%s' for %s%s", optarg, argv[optind - 1],
                                          opt == O_SMEM ? " (4M .. 1T)" : "");
            }
            if (opt == O_SNAPLEN)
                ccfg.snaplen = (uint32_t)v;
            else if (opt == O_SMEM)
                hcfg.memory = v;
            else if (opt == O_MAXSTREAMS)
                hcfg.max_streams = (uint32_t)v;
            else if (opt == O_MAXBODY)
                hcfg.max_body = (uint32_t)v;
            else
                hcfg.idle_s = (uint32_t)v;
            break;
        case O_FORMAT:
            if (ks_http_log_config_format(&lcfg, optarg)) {
                free(files);
                free(pcaps);
                return ks_cli_usage_error(&cli, "--format wants a name or a LogFormat string");
            }
            break;
        case O_JF:
            if (json_field_opt(&lcfg, optarg)) {
                free(files);
                free(pcaps);
                return ks_cli_usage_error(&cli, "--json-field wants FIELD=KEY[,KEY...]");
            }
            break;
        case O_HOST:
            host = optarg;
            break;
        case O_MAXLINE: {
            char *end;
            errno = 0;
            unsigned long n = strtoul(optarg, &end, 10);
            if (errno || *end || n < 64 || n > (1ul << 28)) {
                free(files);
                free(pcaps);
                return ks_cli_usage_error(&cli, "--max-line wants 64..268435456");
            }
            max_line = (uint32_t)n;
            break;
        }
        case O_TRUNC:
            truncate = true;
            break;
        case O_RULES:
            scfg.rules_path = optarg;
            break;
        case O_FORCE:
            force = true;
            break;
        default:
            free(files);
            free(pcaps);
            return ks_cli_usage_error(&cli, "unknown option");
        }
    }
    for (int i = optind; i < argc; i++)
        files[nfiles++] = argv[i];
    if ((nfiles > 0) + (npcaps > 0) + (iface != NULL) != 1) {
        free(files);
        free(pcaps);
        return ks_cli_usage_error(&cli, nfiles + npcaps || iface
                                            ? "give log files, -r captures or -i IFACE, one kind"
                                            : "no input (--log FILE, -r PCAP or -i IFACE)");
    }
    int rc = KS_EXIT_FAIL;
    struct ks_sqli *det = NULL;
    struct ks_store *st = NULL;
    struct ks_http_params *params = NULL;
    struct ks_http_log *probe = NULL;
    if (ks_http_log_new(&lcfg, &probe)) {
        rc = ks_cli_usage_error(&cli, "bad --format LogFormat string");
        goto out;
    }
    int e = ks_sqli_new(&scfg, &det);
    if (e) {
        ks_cli_error(&cli, "cannot load the detector: %s", ks_strerror(e));
        goto out;
    }
    if (ks_http_params_new(0, 0, &params))
        goto out;
    if (use_db && ks_store_open(cli.db_path, NULL, &st)) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(NULL));
        goto out;
    }
    struct scan sc = {.cli = &cli, .det = det, .default_host = host};
    uint64_t totals[8] = {0};
    if (npcaps || iface) {
        rc = scan_captures(&cli, &sc, st, pcaps, npcaps, iface, &ccfg, &hcfg, force, params);
        struct ks_sqli_stats ss;
        ks_sqli_stats(det, &ss);
        ks_cli_info(&cli, "cache hits %" PRIu64 ", signature scans %" PRIu64 ", inert %" PRIu64,
                    ss.cache_hits, ss.scanned, ss.generic_inert);
        goto out;
    }
    rc = KS_EXIT_OK;
    for (size_t i = 0; i < nfiles; i++)
        if (scan_file(&cli, &sc, st, files[i], &lcfg, max_line, truncate, force, params, totals) !=
            KS_EXIT_OK)
            rc = KS_EXIT_FAIL;
    fflush(stdout);
    struct ks_http_params_stats ps;
    ks_http_params_stats(params, &ps);
    struct ks_sqli_stats ss;
    ks_sqli_stats(det, &ss);
    if (!cli.quiet)
        fprintf(stderr,
                "kansoku: sqli scan: %" PRIu64 " lines, %" PRIu64 " requests, %" PRIu64
                " values, %" PRIu64 " detections; skipped: %" PRIu64 " bad, %" PRIu64
                " too long, %" PRIu64 " binary; %" PRIu64 " invalid %%-escapes, %" PRIu64
                " double-encoded values\n",
                totals[0], totals[1], sc.values, sc.detections, totals[2], totals[3], totals[4],
                ps.invalid_pct, ps.double_enc);
    ks_cli_info(&cli, "cache hits %" PRIu64 ", signature scans %" PRIu64 ", inert %" PRIu64,
                ss.cache_hits, ss.scanned, ss.generic_inert);
out:
    ks_http_log_free(probe);
    ks_http_params_free(params);
    ks_store_close(st);
    ks_sqli_free(det);
    free(files);
    free(pcaps);
    return rc;
}

/* ---- stats ---- */

struct day_row {
    int64_t day;
    char sig[64];
    int64_t n;
};

struct country {
    char cc[3];
    uint64_t sources, detections;
};

struct stats {
    struct ks_cli *cli;
    struct ks_geo *geo;
    struct ks_sqli_campaigns *camp;
    struct country cs[300];
    size_t ncs;
    uint64_t total_sources, total_det;
    int err;
};

static const char *val_text(const struct ks_store_value *v, char *buf, size_t cap)
{
    if (v->type == KS_TYPE_TEXT || v->type == KS_TYPE_ADDR) {
        size_t n = v->v.bytes.len < cap - 1 ? v->v.bytes.len : cap - 1;
        memcpy(buf, v->v.bytes.ptr, n);
        buf[n] = '\0';
    } else
        buf[0] = '\0';
    return buf;
}

static int day_cb(void *user, size_t ncols, const char *const *names,
                  const struct ks_store_value *vals)
{
    (void)names;
    struct stats *s = user;
    if (ncols < 3)
        return 0;
    char day[40], sig[128];
    ks_time_format(vals[0].v.i64 * 86400LL * 1000000, 0, 0, day, sizeof day);
    day[10] = '\0';
    val_text(&vals[1], sig, sizeof sig);
    if (s->cli->json) {
        json_t *j = json_object();
        json_object_set_new(j, "kind", json_string("day"));
        json_object_set_new(j, "day", json_string(day));
        json_object_set_new(j, "signature", json_string(sig));
        json_object_set_new(j, "detections", json_integer(vals[2].v.i64));
        ks_cli_json_line(j);
    } else
        printf("%s  %-32s %" PRId64 "\n", day, sig, vals[2].v.i64);
    return 0;
}

static const char *country_of(struct stats *s, const char *src)
{
    static char cc[3];
    memcpy(cc, "--", 3);
    struct ks_addr a;
    struct ks_geo_result g;
    if (s->geo && ks_addr_parse(src, strlen(src), &a) == KS_OK &&
        ks_geo_lookup(s->geo, &a, &g) == KS_OK)
        memcpy(cc, g.country, 3);
    return cc;
}

static int source_cb(void *user, size_t ncols, const char *const *names,
                     const struct ks_store_value *vals)
{
    (void)names;
    struct stats *s = user;
    if (ncols < 2)
        return 0;
    char src[128];
    val_text(&vals[0], src, sizeof src);
    const char *cc = country_of(s, src);
    size_t i;
    for (i = 0; i < s->ncs && strcmp(s->cs[i].cc, cc) != 0; i++)
        ;
    if (i == s->ncs && s->ncs < sizeof s->cs / sizeof s->cs[0])
        memcpy(s->cs[s->ncs++].cc, cc, 3);
    if (i < s->ncs) {
        s->cs[i].sources++;
        s->cs[i].detections += (uint64_t)vals[1].v.i64;
    }
    s->total_sources++;
    s->total_det += (uint64_t)vals[1].v.i64;
    return 0;
}

static int event_cb(void *user, size_t ncols, const char *const *names,
                    const struct ks_store_value *vals)
{
    (void)names;
    struct stats *s = user;
    if (ncols < 4)
        return 0;
    char src[128], host[256], sig[128];
    val_text(&vals[1], src, sizeof src);
    val_text(&vals[2], host, sizeof host);
    val_text(&vals[3], sig, sizeof sig);
    int e = ks_sqli_campaigns_add(s->camp, vals[0].v.i64, src, host, sig, country_of(s, src));
    if (e == KS_ENOMEM) {
        s->err = e;
        return 1;
    }
    return 0;
}

static int by_detections(const void *a, const void *b)
{
    const struct country *x = a, *y = b;
    return (x->detections < y->detections) - (x->detections > y->detections);
}

int ks_sqli_stats_main(int argc, char **argv)
{
    enum { O_FROM = 0x200, O_TO, O_HOME, O_MIN };
    static const struct option opts[] = {
        KS_CLI_COMMON_OPTS,
        {"from", required_argument, NULL, O_FROM},
        {"to", required_argument, NULL, O_TO},
        {"home", required_argument, NULL, O_HOME},
        {"min", required_argument, NULL, O_MIN},
        {0},
    };
    struct ks_cli cli;
    ks_cli_init(&cli, "sqli stats", stats_usage, stats_help);
    int64_t from = INT64_MIN, to = INT64_MAX;
    struct ks_sqli_campaign_config ccfg;
    ks_sqli_campaign_config_default(&ccfg);
    int opt, code;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        switch (opt) {
        case O_FROM:
        case O_TO: {
            int64_t t;
            if (ks_time_parse(optarg, strlen(optarg), &t))
                return ks_cli_usage_error(&cli, "--from/--to want an RFC 3339 date");
            if (opt == O_FROM)
                from = t;
            else
                to = strlen(optarg) == 10 ? t + 86400LL * 1000000 - 1 : t;
            break;
        }
        case O_HOME:
            if (strlen(optarg) != 2)
                return ks_cli_usage_error(&cli, "--home wants a two-letter country code");
            ccfg.home_country = optarg;
            break;
        case O_MIN: {
            char *end;
            unsigned long n = strtoul(optarg, &end, 10);
            if (*end || n == 0 || n > 1000000000)
                return ks_cli_usage_error(&cli, "--min wants a positive number");
            ccfg.min_detections = (uint32_t)n;
            break;
        }
        default:
            return ks_cli_usage_error(&cli, "unknown option");
        }
    }
    if (optind < argc)
        return ks_cli_usage_error(&cli, "no inputs are taken (the store is read)");
    int rc = KS_EXIT_FAIL;
    struct ks_store *st = NULL;
    struct ks_store_config scfg;
    ks_store_config_default(&scfg);
    scfg.readonly = true;
    struct stats s = {.cli = &cli};
    if (ks_store_open(cli.db_path, &scfg, &st)) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(NULL));
        return KS_EXIT_FAIL;
    }
    if (ks_geo_open(cli.geo_dir, &s.geo) != KS_OK && !s.geo)
        ks_cli_warn(&cli, "no geolocation data: countries are unknown");
    if (ks_sqli_campaigns_new(&ccfg, &s.camp))
        goto out;
    struct ks_store_value p[2] = {{.type = KS_TYPE_I64, .v.i64 = from},
                                  {.type = KS_TYPE_I64, .v.i64 = to}};
    static const char join[] = " FROM sqli_detections d JOIN inputs i ON i.id = d.input_id AND "
                               "i.status = 'complete' WHERE d.ts BETWEEN ?1 AND ?2 ";
    char sql[512];
    if (!cli.json)
        printf("# detections per day by signature\n");
    snprintf(sql, sizeof sql,
             "SELECT d.ts / 86400000000 AS day, d.signature, count(*)%s"
             "GROUP BY day, d.signature ORDER BY day, count(*) DESC, d.signature",
             join);
    if (ks_store_query(st, sql, p, 2, day_cb, &s))
        goto store_err;
    snprintf(sql, sizeof sql, "SELECT d.source, count(*)%sGROUP BY d.source ORDER BY d.source",
             join);
    if (ks_store_query(st, sql, p, 2, source_cb, &s))
        goto store_err;
    qsort(s.cs, s.ncs, sizeof s.cs[0], by_detections);
    if (!cli.json)
        printf("\n# sources by country (share of detections)\n");
    for (size_t i = 0; i < s.ncs; i++) {
        double share = s.total_det ? (double)s.cs[i].detections / (double)s.total_det : 0;
        if (cli.json) {
            json_t *j = json_object();
            json_object_set_new(j, "kind", json_string("country"));
            json_object_set_new(j, "country", json_string(s.cs[i].cc));
            json_object_set_new(j, "sources", json_integer((json_int_t)s.cs[i].sources));
            json_object_set_new(j, "detections", json_integer((json_int_t)s.cs[i].detections));
            json_object_set_new(j, "share", json_real(share));
            ks_cli_json_line(j);
        } else
            printf("%s  sources %-6" PRIu64 " detections %-8" PRIu64 " %5.1f%%\n", s.cs[i].cc,
                   s.cs[i].sources, s.cs[i].detections, 100 * share);
    }
    snprintf(sql, sizeof sql, "SELECT d.ts, d.source, d.host, d.signature%sORDER BY d.ts", join);
    if (ks_store_query(st, sql, p, 2, event_cb, &s))
        goto store_err;
    if (s.err || ks_sqli_campaigns_finish(s.camp)) {
        ks_cli_error(&cli, "out of memory grouping campaigns");
        goto out;
    }
    if (!cli.json)
        printf("\n# campaigns\n");
    for (size_t i = 0; i < ks_sqli_campaigns_count(s.camp); i++) {
        const struct ks_sqli_campaign *k = ks_sqli_campaigns_get(s.camp, i);
        char t0[40], t1[40];
        ks_time_format(k->start_us, 0, 0, t0, sizeof t0);
        ks_time_format(k->end_us, 0, 0, t1, sizeof t1);
        const char *cls = ks_sqli_campaign_kind_name(k->kind);
        if (cli.json) {
            json_t *j = json_object();
            json_object_set_new(j, "kind", json_string("campaign"));
            json_object_set_new(j, "id", json_integer(k->id));
            json_object_set_new(j, "class", json_string(cls));
            json_object_set_new(j, "start", json_string(t0));
            json_object_set_new(j, "end", json_string(t1));
            json_object_set_new(j, "detections", json_integer((json_int_t)k->detections));
            json_object_set_new(j, "sources", json_integer(k->sources));
            json_object_set_new(j, "targets", json_integer(k->targets));
            json_object_set_new(j, "top_signature", json_string(k->top_signature));
            json_object_set_new(j, "top_source", json_string(k->top_source));
            json_object_set_new(j, "top_host", json_string(k->top_host));
            json_object_set_new(j, "features", json_string(k->features));
            ks_cli_json_line(j);
        } else
            printf("%u  %-11s %s .. %s  %s  (top %s from %s on %s)\n", k->id, cls, t0, t1,
                   k->features, k->top_signature, k->top_source, k->top_host);
    }
    rc = KS_EXIT_OK;
    goto out;
store_err:
    ks_cli_error(&cli, "%s", ks_store_errmsg(st));
out:
    ks_sqli_campaigns_free(s.camp);
    ks_geo_free(s.geo);
    ks_store_close(st);
    return rc;
}
