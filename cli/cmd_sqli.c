/* kansoku sqli: SQL-injection detection. Verbs: check (values, one per line). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "kansoku/ks_sqli.h"
#include "sqli_verbs.h"

static const char sqli_usage[] =
    "Usage: kansoku sqli <verb> [options] [inputs]\n"
    "       kansoku sqli check [options] [FILE]\n"
    "       kansoku sqli scan (--log FILE...|-r PCAP...|-i IFACE) [--db PATH] [--json]\n"
    "       kansoku sqli stats [--from D] [--to D] [--json]\n";

static const char sqli_help[] =
    "Usage: kansoku sqli <verb> [options] [inputs]\n"
    "\n"
    "SQL-injection detection: the named signatures of a rules file (Vectorscan) and a generic\n"
    "detector that parses a value as SQL in each context it could be placed in.\n"
    "\n"
    "Verbs:\n"
    "  check [FILE]   one decoded value per line in (stdin without FILE), one verdict per line\n"
    "                 out: '1<TAB>SIGNATURE[,SIGNATURE...]' or '0'\n"
    "  scan ...       web server logs, captures or a live interface: every HTTP request's\n"
    "                 parameters checked; detections as lines or JSON, and into the store\n"
    "                 with --db\n"
    "  stats          from the store: detections per day by signature, sources by country,\n"
    "                 campaigns (data theft, database overload, defacement)\n"
    "\n"
    "Each verb takes --help.\n"
    "\n" KS_CLI_COMMON_HELP;

static const char check_usage[] = "Usage: kansoku sqli check [options] [FILE]\n";

static const char check_help[] =
    "Usage: kansoku sqli check [options] [FILE]\n"
    "\n"
    "Reads one decoded parameter value per line from FILE (or stdin) and prints one line per\n"
    "value: '1<TAB>SIG[,SIG...]' if it is an SQL injection, '0' if not.\n"
    "\n"
    "Options:\n"
    "      --unescape       undo the backslash escapes of the corpus format in each line:\n"
    "                       \\\\ \\t \\n \\r \\xHH (other escapes are kept and counted)\n"
    "      --tsv            lines are 'LABEL<TAB>PAYLOAD' (LABEL 1 = injection, 0 = benign;\n"
    "                       implies --unescape); print a confusion summary instead\n"
    "      --show-errors    with --tsv: also print each misclassified line\n"
    "      --method M       request method the values came with: GET (default), POST, any\n"
    "      --field F        where they came from: query (default), body, path, cookie,\n"
    "                       header, any\n"
    "      --path P         the request path, for rules with path= (default: unknown)\n"
    "      --rules FILE     rules file (default $KANSOKU_SQLI_RULES, else the installed one)\n"
    "      --no-rules       only the generic detector\n"
    "      --no-generic     only the named signatures\n"
    "      --max-len N      bytes of a value analysed (default 65536; longer lines are cut\n"
    "                       and counted)\n"
    "\n"
    "With --json each value gives {\"line\":N,\"injection\":B,\"signatures\":[...],\n"
    "\"span\":[START,END],\"context\":C,\"score\":S}.\n"
    "\n"
    "The compiled rules are kept in $KANSOKU_CACHE_DIR (default ~/.cache/kansoku; empty:\n"
    "not kept) and compiled again whenever the rules, the library or the CPU differ.\n"
    "\n"
    "Exit status: 0 done (bad lines are counted, not fatal), 1 input or rules unreadable,\n"
    "2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

/* ---- bounded line reader ---- */

struct reader {
    FILE *f;
    uint8_t *buf;
    size_t cap, start, end;
    bool eof;
    uint64_t offset; /* of buf[start] in the input */
};

/* Next line without its newline in line and len; a line longer than cap is cut to cap bytes, the
 * rest skipped, *cut set. Returns false at the end of the input or on a read error. */
static bool next_line(struct reader *r, const uint8_t **line, size_t *len, bool *cut, uint64_t *off)
{
    *cut = false;
    for (;;) {
        uint8_t *nl = r->end > r->start ? memchr(r->buf + r->start, '\n', r->end - r->start) : NULL;
        if (nl || (r->eof && r->end > r->start) || r->end - r->start == r->cap) {
            size_t n = nl ? (size_t)(nl - (r->buf + r->start)) : r->end - r->start;
            *line = r->buf + r->start;
            *len = n;
            *off = r->offset;
            if (nl) {
                r->start += n + 1;
                r->offset += n + 1;
                return true;
            }
            r->start = r->end;
            r->offset += n;
            if (r->eof)
                return true;
            /* buffer full without a newline: hand out the first cap bytes, skip to '\n' */
            *cut = true;
            for (;;) {
                int c = getc_unlocked(r->f);
                if (c == EOF) {
                    r->eof = true;
                    break;
                }
                r->offset++;
                if (c == '\n')
                    break;
            }
            r->start = r->end = 0; /* caller uses *line before the next call: the data is
                                       still in buf as nothing was read into it */
            return true;
        }
        if (r->eof)
            return false;
        if (r->start > 0) {
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->end -= r->start;
            r->start = 0;
        }
        size_t got = fread(r->buf + r->end, 1, r->cap - r->end, r->f);
        r->end += got;
        if (got == 0)
            r->eof = true;
    }
}

/* ---- corpus escapes: \\ \t \n \r \xHH ---- */

static int hexd(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static size_t unescape(const uint8_t *in, size_t len, uint8_t *out, unsigned *bad)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        /* runs without a backslash are copied whole */
        const uint8_t *bs = memchr(in + i, '\\', len - i);
        size_t run = bs ? (size_t)(bs - (in + i)) : len - i;
        if (run) {
            memcpy(out + o, in + i, run);
            o += run;
            i += run;
            if (i >= len)
                break;
        }
        if (in[i] != '\\' || i + 1 >= len) {
            if (in[i] == '\\')
                (*bad)++;
            out[o++] = in[i];
            continue;
        }
        uint8_t c = in[i + 1];
        int h, l;
        if (c == '\\' || c == 't' || c == 'n' || c == 'r') {
            out[o++] = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : '\\';
            i++;
        } else if (c == 'x' && i + 3 < len && (h = hexd(in[i + 2])) >= 0 &&
                   (l = hexd(in[i + 3])) >= 0) {
            out[o++] = (uint8_t)(h << 4 | l);
            i += 3;
        } else {
            (*bad)++;
            out[o++] = in[i];
        }
    }
    return o;
}

/* ---- output buffer ---- */

struct out {
    char buf[1 << 16];
    size_t n;
};

static void out_flush(struct out *o)
{
    if (o->n)
        fwrite(o->buf, 1, o->n, stdout);
    o->n = 0;
}

static void out_str(struct out *o, const char *s, size_t n)
{
    if (o->n + n > sizeof o->buf)
        out_flush(o);
    if (n > sizeof o->buf) {
        fwrite(s, 1, n, stdout);
        return;
    }
    memcpy(o->buf + o->n, s, n);
    o->n += n;
}

static const char *ctx_name(unsigned c)
{
    static const char *const n[] = {"bare", "squote", "dquote", "backtick"};
    return c < 4 ? n[c] : "?";
}

static int check_main(int argc, char **argv)
{
    enum {
        O_UNESC = 0x200,
        O_TSV,
        O_ERRS,
        O_METHOD,
        O_FIELD,
        O_PATH,
        O_RULES,
        O_NORULES,
        O_NOGEN,
        O_MAXLEN
    };
    static const struct option opts[] = {
        KS_CLI_COMMON_OPTS,
        {"unescape", no_argument, NULL, O_UNESC},
        {"tsv", no_argument, NULL, O_TSV},
        {"show-errors", no_argument, NULL, O_ERRS},
        {"method", required_argument, NULL, O_METHOD},
        {"field", required_argument, NULL, O_FIELD},
        {"path", required_argument, NULL, O_PATH},
        {"rules", required_argument, NULL, O_RULES},
        {"no-rules", no_argument, NULL, O_NORULES},
        {"no-generic", no_argument, NULL, O_NOGEN},
        {"max-len", required_argument, NULL, O_MAXLEN},
        {0},
    };
    struct ks_cli cli;
    ks_cli_init(&cli, "sqli check", check_usage, check_help);
    struct ks_sqli_config cfg;
    ks_sqli_config_default(&cfg);
    cfg.diag = &cli.diag;
    cfg.db_cache_dir = ks_cli_cache_dir();
    bool unesc = false, tsv = false, show_errors = false;
    struct ks_sqli_value v = {.method = KS_SQLI_M_GET, .field = KS_SQLI_F_QUERY};
    int opt, code;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        switch (opt) {
        case O_UNESC:
            unesc = true;
            break;
        case O_TSV:
            tsv = unesc = true;
            break;
        case O_ERRS:
            show_errors = true;
            break;
        case O_METHOD:
            if (strcasecmp(optarg, "GET") == 0)
                v.method = KS_SQLI_M_GET;
            else if (strcasecmp(optarg, "POST") == 0)
                v.method = KS_SQLI_M_POST;
            else if (strcasecmp(optarg, "any") == 0)
                v.method = KS_SQLI_M_UNKNOWN;
            else
                return ks_cli_usage_error(&cli, "--method wants GET, POST or any");
            break;
        case O_FIELD: {
            static const char *const f[] = {"any", "query", "body", "path", "cookie", "header"};
            unsigned i;
            for (i = 0; i < 6 && strcasecmp(optarg, f[i]) != 0; i++)
                ;
            if (i == 6)
                return ks_cli_usage_error(&cli, "--field wants query, body, path, cookie, "
                                                "header or any");
            v.field = (enum ks_sqli_field)i;
            break;
        }
        case O_PATH:
            v.path = optarg;
            break;
        case O_RULES:
            cfg.rules_path = optarg;
            break;
        case O_NORULES:
            cfg.no_rules = true;
            break;
        case O_NOGEN:
            cfg.no_generic = true;
            break;
        case O_MAXLEN: {
            char *end;
            errno = 0;
            unsigned long n = strtoul(optarg, &end, 10);
            if (errno || *end || n == 0 || n > (1ul << 30))
                return ks_cli_usage_error(&cli, "--max-len wants 1..1073741824");
            cfg.max_value_len = (uint32_t)n;
            break;
        }
        default:
            return ks_cli_usage_error(&cli, "unknown option");
        }
    }
    if (argc - optind > 1)
        return ks_cli_usage_error(&cli, "at most one FILE");
    const char *path = optind < argc ? argv[optind] : "-";

    int rc = KS_EXIT_FAIL;
    struct ks_sqli *s = NULL;
    struct reader rd = {0};
    uint8_t *ubuf = NULL;
    struct out *o = NULL;
    uint64_t tp = 0, fn = 0, fp = 0, tn = 0, badlabel = 0, cut = 0, badesc = 0;
    int err = ks_sqli_new(&cfg, &s);
    if (err) {
        ks_cli_error(&cli, "cannot load the detector: %s", ks_strerror(err));
        goto out;
    }
    rd.cap = (size_t)cfg.max_value_len * (unesc ? 4 : 1) + 16; /* \xHH is 4 bytes for 1 */
    rd.buf = malloc(rd.cap);
    ubuf = malloc(rd.cap);
    o = malloc(sizeof *o);
    if (!rd.buf || !ubuf || !o) {
        ks_cli_error(&cli, "out of memory");
        goto out;
    }
    o->n = 0;
    rd.f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!rd.f) {
        ks_cli_error(&cli, "%s: %s", path, strerror(errno));
        goto out;
    }
    const uint8_t *line;
    size_t len;
    bool wascut;
    uint64_t off;
    uint32_t lineno = 0, reported = 0;
    while (next_line(&rd, &line, &len, &wascut, &off)) {
        lineno++;
        struct ks_loc loc = {.source = path, .line = lineno, .offset = off};
        if (wascut) {
            cut++;
            ks_diag_report(&cli.diag, &reported, "sqli check", &loc, KS_ELIMIT,
                           "line longer than %zu bytes: analysed in part", rd.cap);
        }
        if (len && line[len - 1] == '\r' && !unesc)
            len--;
        int label = -1;
        if (tsv) {
            if (len >= 2 && (line[0] == '0' || line[0] == '1') && line[1] == '\t') {
                label = line[0] - '0';
                line += 2;
                len -= 2;
            } else {
                badlabel++;
                ks_diag_report(&cli.diag, &reported, "sqli check", &loc, KS_EFORMAT,
                               "no 'LABEL<TAB>' at the start");
                continue;
            }
        }
        if (unesc) {
            unsigned bad = 0;
            len = unescape(line, len, ubuf, &bad);
            line = ubuf;
            if (bad && badesc++ < 5)
                ks_diag_report(&cli.diag, &reported, "sqli check", &loc, KS_EFORMAT,
                               "invalid backslash escape (kept as is)");
        }
        v.data = line;
        v.len = len;
        struct ks_sqli_result r;
        int hit = ks_sqli_check(s, &v, &r);
        if (tsv) {
            if (label == 1)
                hit ? tp++ : fn++;
            else
                hit ? fp++ : tn++;
            if (show_errors && hit != label) {
                char head[64];
                int hn = snprintf(head, sizeof head, "%s\t%u\t", hit ? "FP" : "FN", lineno);
                out_str(o, head, (size_t)hn);
                for (unsigned i = 0; i < r.nhits; i++) {
                    const char *nm = ks_sqli_sig_name(s, r.hits[i].sig);
                    if (i)
                        out_str(o, ",", 1);
                    out_str(o, nm, strlen(nm));
                }
                hn = snprintf(head, sizeof head, "\t%d\t", r.score);
                out_str(o, head, (size_t)hn);
                out_str(o, (const char *)line, len);
                out_str(o, "\n", 1);
            }
            continue;
        }
        if (cli.json) {
            out_flush(o);
            json_t *j = json_object();
            json_object_set_new(j, "line", json_integer(lineno));
            json_object_set_new(j, "injection", json_boolean(hit));
            json_t *a = json_array();
            for (unsigned i = 0; i < r.nhits; i++)
                json_array_append_new(a, json_string(ks_sqli_sig_name(s, r.hits[i].sig)));
            json_object_set_new(j, "signatures", a);
            if (hit) {
                json_object_set_new(
                    j, "span",
                    json_pack("[II]", (json_int_t)r.hits[0].start, (json_int_t)r.hits[0].end));
            }
            json_object_set_new(j, "context", json_string(ctx_name(r.context)));
            json_object_set_new(j, "score", json_integer(r.score));
            ks_cli_json_line(j);
            continue;
        }
        if (!hit) {
            out_str(o, "0\n", 2);
            continue;
        }
        out_str(o, "1\t", 2);
        for (unsigned i = 0; i < r.nhits; i++) {
            const char *nm = ks_sqli_sig_name(s, r.hits[i].sig);
            if (i)
                out_str(o, ",", 1);
            out_str(o, nm, strlen(nm));
        }
        out_str(o, "\n", 1);
    }
    if (ferror(rd.f)) {
        ks_cli_error(&cli, "%s: read error", path);
        goto out;
    }
    if (tsv) {
        out_flush(o);
        uint64_t pos = tp + fn, neg = fp + tn;
        printf("values %" PRIu64 " attacks %" PRIu64 " benign %" PRIu64 "\n", pos + neg, pos, neg);
        printf("TP %" PRIu64 " FN %" PRIu64 " FP %" PRIu64 " TN %" PRIu64 "\n", tp, fn, fp, tn);
        printf("detection %.2f%% false-positive %.3f%%\n",
               pos ? 100.0 * (double)tp / (double)pos : 0.0,
               neg ? 100.0 * (double)fp / (double)neg : 0.0);
    }
    if (cut || badlabel || badesc)
        ks_cli_warn(&cli,
                    "%s: %" PRIu64 " lines cut, %" PRIu64 " without label, %" PRIu64
                    " with invalid escapes",
                    path, cut, badlabel, badesc);
    rc = KS_EXIT_OK;
out:
    if (o) {
        out_flush(o);
        free(o);
    }
    fflush(stdout);
    if (rd.f && rd.f != stdin)
        fclose(rd.f);
    free(rd.buf);
    free(ubuf);
    ks_sqli_free(s);
    return rc;
}

int ks_cmd_sqli(int argc, char **argv)
{
    struct ks_cli cli;
    ks_cli_init(&cli, "sqli", sqli_usage, sqli_help);
    if (argc < 2)
        return ks_cli_usage_error(&cli, "a verb is needed");
    const char *verb = argv[1];
    if (strcmp(verb, "check") == 0)
        return check_main(argc - 1, argv + 1);
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        fputs(sqli_help, stdout);
        return KS_EXIT_OK;
    }
    if (strcmp(verb, "scan") == 0)
        return ks_sqli_scan_main(argc - 1, argv + 1);
    if (strcmp(verb, "stats") == 0)
        return ks_sqli_stats_main(argc - 1, argv + 1);
    return ks_cli_usage_error(&cli, "unknown verb '%s'", verb);
}
