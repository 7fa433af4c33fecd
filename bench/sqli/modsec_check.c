/* The benchmark's peer: ModSecurity v3 with the OWASP Core Rule Set, fed each value of a
 * labelled TSV file (label<TAB>payload, corpus escapes) as the query argument of a GET request;
 * a value counts as detected when any CRS SQL-injection rule (id 942xxx) matched.
 *
 * Usage: bench_sqli_modsec [--crs-setup FILE] [--crs-rules DIR] [--limit N] FILE...
 * Prints per file and in total: values, TP FN FP TN, seconds and values per second. */
#include <modsecurity/modsecurity.h>
#include <modsecurity/rules_set.h>
#include <modsecurity/transaction.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool matched_942;

static void log_cb(void *data, const void *msg)
{
    (void)data;
    if (msg && strstr((const char *)msg, "[id \"942"))
        matched_942 = true;
}

static int hexd(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static size_t unescape(const char *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '\\' && i + 1 < len) {
            char c = in[i + 1];
            if (c == '\\' || c == 't' || c == 'n' || c == 'r') {
                out[o++] = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : '\\';
                i++;
                continue;
            }
            if (c == 'x' && i + 3 < len && hexd(in[i + 2]) >= 0 && hexd(in[i + 3]) >= 0) {
                out[o++] = (char)(hexd(in[i + 2]) << 4 | hexd(in[i + 3]));
                i += 3;
                continue;
            }
        }
        out[o++] = in[i];
    }
    return o;
}

/* "/?q=" + percent-encoding of everything but unreserved characters. */
static void make_uri(const char *v, size_t n, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = (size_t)snprintf(out, cap, "/index.php?q=");
    for (size_t i = 0; i < n && o + 4 < cap; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *setup = "/etc/modsecurity/crs/crs-setup.conf";
    const char *rules_dir = "/usr/share/modsecurity-crs/rules";
    long limit = 0;
    int first = 1;
    for (; first < argc && strncmp(argv[first], "--", 2) == 0; first += 2) {
        if (first + 1 >= argc)
            break;
        if (strcmp(argv[first], "--crs-setup") == 0)
            setup = argv[first + 1];
        else if (strcmp(argv[first], "--crs-rules") == 0)
            rules_dir = argv[first + 1];
        else if (strcmp(argv[first], "--limit") == 0)
            limit = strtol(argv[first + 1], NULL, 10);
        else {
            fprintf(stderr, "unknown option %s\n", argv[first]);
            return 2;
        }
    }
    if (first >= argc) {
        fprintf(stderr, "usage: %s [--crs-setup FILE] [--crs-rules DIR] [--limit N] FILE...\n",
                argv[0]);
        return 2;
    }
    ModSecurity *ms = msc_init();
    msc_set_connector_info(ms, "kansoku-bench");
    msc_set_log_cb(ms, log_cb);
    RulesSet *rules = msc_create_rules_set();
    const char *err = NULL;
    char conf[2048];
    snprintf(conf, sizeof conf,
             "SecRuleEngine DetectionOnly\n"
             "SecRequestBodyAccess On\n"
             "Include %s\n"
             "Include %s/*.conf\n",
             setup, rules_dir);
    if (msc_rules_add(rules, conf, &err) < 0) {
        fprintf(stderr, "modsecurity: %s\n", err ? err : "cannot load rules");
        return 1;
    }
    char *line = malloc(1 << 20), *val = malloc(1 << 20), *uri = malloc(3 << 20);
    unsigned long tot[4] = {0};
    double tot_t = 0;
    for (int fi = first; fi < argc; fi++) {
        FILE *f = fopen(argv[fi], "r");
        if (!f) {
            perror(argv[fi]);
            return 1;
        }
        unsigned long c[4] = {0}; /* TP FN FP TN */
        long n = 0;
        double t0 = now();
        while (fgets(line, 1 << 20, f) && (!limit || n < limit)) {
            size_t len = strcspn(line, "\n");
            if (len < 2 || line[1] != '\t')
                continue;
            int label = line[0] == '1';
            size_t vl = unescape(line + 2, len - 2, val);
            make_uri(val, vl, uri, 3 << 20);
            matched_942 = false;
            Transaction *t = msc_new_transaction(ms, rules, NULL);
            msc_process_connection(t, "192.0.2.1", 40000, "192.0.2.2", 80);
            msc_process_uri(t, uri, "GET", "1.1");
            msc_add_request_header(t, (const unsigned char *)"Host",
                                   (const unsigned char *)"www.example.com");
            msc_add_request_header(t, (const unsigned char *)"User-Agent",
                                   (const unsigned char *)"Mozilla/5.0");
            msc_add_request_header(t, (const unsigned char *)"Accept",
                                   (const unsigned char *)"*/*");
            msc_process_request_headers(t);
            msc_process_request_body(t);
            msc_process_logging(t);
            msc_transaction_cleanup(t);
            bool hit = matched_942;
            c[label ? (hit ? 0 : 1) : (hit ? 2 : 3)]++;
            n++;
        }
        double dt = now() - t0;
        fclose(f);
        const char *base = strrchr(argv[fi], '/');
        printf("modsec %s values %ld TP %lu FN %lu FP %lu TN %lu seconds %.3f rate %.0f\n",
               base ? base + 1 : argv[fi], n, c[0], c[1], c[2], c[3], dt, n / (dt > 0 ? dt : 1));
        for (int k = 0; k < 4; k++)
            tot[k] += c[k];
        tot_t += dt;
    }
    unsigned long nv = tot[0] + tot[1] + tot[2] + tot[3];
    printf("modsec total values %lu TP %lu FN %lu FP %lu TN %lu seconds %.3f rate %.0f\n", nv,
           tot[0], tot[1], tot[2], tot[3], tot_t, nv / (tot_t > 0 ? tot_t : 1));
    msc_rules_cleanup(rules);
    msc_cleanup(ms);
    free(line);
    free(val);
    free(uri);
    return 0;
}
