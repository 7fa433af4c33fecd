/* sensor: the configuration file, an INI-like format (docs/sensor.md): "[section]" lines,
 * "key = value" lines, comments from '#' or ';' at the start of a line, blank lines. */
#include "sensor_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cur.h"
#include "kansoku/ks_ip.h"

#define LINE_MAX_LEN 4096
#define CONFIG_MAX_BYTES (1u << 20)

enum section { SEC_NONE, SEC_SENSOR, SEC_CAPTURE, SEC_DDOS, SEC_DARKNET, SEC_HONEYPOT, SEC_FLOW };

struct parse {
    struct ks_sensor_config *cfg;
    const struct ks_diag *diag;
    uint32_t reported;
    struct ks_loc loc;
    unsigned errors;
    enum section sec;
    bool ddos_set;
};

static void bad(struct parse *p, const char *fmt, const char *a, const char *b)
{
    char msg[2 * 4200];
    snprintf(msg, sizeof msg, fmt, a, b);
    p->errors++;
    ks_diag_report(p->diag, &p->reported, "sensor", &p->loc, KS_EFORMAT, "%s", msg);
}

static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

static bool set_str(struct parse *p, char *dst, size_t size, const char *key, const char *v)
{
    size_t n = strlen(v);
    if (n >= size) {
        bad(p, "%s: value too long ('%s')", key, v);
        return false;
    }
    memcpy(dst, v, n + 1);
    return true;
}

static bool set_u32(struct parse *p, uint32_t *dst, const char *key, const char *v, uint64_t lo,
                    uint64_t hi)
{
    char *e;
    errno = 0;
    unsigned long long x = strtoull(v, &e, 10);
    if (errno || e == v || *e || v[0] == '-' || x < lo || x > hi) {
        char range[64];
        snprintf(range, sizeof range, "%llu..%llu", (unsigned long long)lo, (unsigned long long)hi);
        bad(p, "%s: a whole number in %s expected", key, range);
        return false;
    }
    *dst = (uint32_t)x;
    return true;
}

static bool set_bool(struct parse *p, bool *dst, const char *key, const char *v)
{
    if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
        *dst = true;
    else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
        *dst = false;
    else {
        bad(p, "%s: yes or no expected, not '%s'", key, v);
        return false;
    }
    return true;
}

static int parse_tz(const char *v, int32_t *out)
{
    /* "+09:00", "-05:30", "Z", "0" */
    if (!strcmp(v, "Z") || !strcmp(v, "0") || !strcmp(v, "UTC")) {
        *out = 0;
        return 0;
    }
    if ((v[0] != '+' && v[0] != '-') || strlen(v) != 6 || v[3] != ':' ||
        !isdigit((unsigned char)v[1]) || !isdigit((unsigned char)v[2]) ||
        !isdigit((unsigned char)v[4]) || !isdigit((unsigned char)v[5]))
        return -1;
    int h = (v[1] - '0') * 10 + (v[2] - '0'), m = (v[4] - '0') * 10 + (v[5] - '0');
    if (h > 23 || m > 59)
        return -1;
    *out = (v[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return 0;
}

static void key_value(struct parse *p, const char *k, const char *v)
{
    struct ks_sensor_config *c = p->cfg;
    uint32_t u;
    switch (p->sec) {
    case SEC_NONE:
        bad(p, "'%s' before any [section]%s", k, "");
        return;
    case SEC_SENSOR:
        if (!strcmp(k, "name"))
            set_str(p, c->name, sizeof c->name, k, v);
        else if (!strcmp(k, "db"))
            set_str(p, c->db, sizeof c->db, k, v);
        else if (!strcmp(k, "spool_dir"))
            set_str(p, c->spool_dir, sizeof c->spool_dir, k, v);
        else if (!strcmp(k, "spool_max_mb")) {
            if (set_u32(p, &u, k, v, 1, 1u << 20))
                c->spool_max_bytes = (uint64_t)u << 20;
        } else if (!strcmp(k, "flush_s"))
            set_u32(p, &c->flush_s, k, v, 1, 3600);
        else if (!strcmp(k, "window_s"))
            set_u32(p, &c->window_s, k, v, 1, 86400);
        else if (!strcmp(k, "batch_max_rows"))
            set_u32(p, &c->batch_max_rows, k, v, 1, 10000000);
        else if (!strcmp(k, "retry_max_s"))
            set_u32(p, &c->retry_max_s, k, v, 1, 3600);
        else if (!strcmp(k, "busy_timeout_ms"))
            set_u32(p, &c->busy_timeout_ms, k, v, 0, 600000);
        else if (!strcmp(k, "metrics_listen"))
            set_str(p, c->metrics_listen, sizeof c->metrics_listen, k, v);
        else if (!strcmp(k, "log_level")) {
            static const char *const lv[] = {"error", "warn", "info", "debug"};
            int found = -1;
            for (int i = 0; i < 4; i++)
                if (!strcmp(v, lv[i]))
                    found = i;
            if (found < 0)
                bad(p, "log_level: error, warn, info or debug, not '%s'%s", v, "");
            else
                c->log_level = found;
        } else
            bad(p, "unknown key '%s' in [sensor]%s", k, "");
        return;
    case SEC_CAPTURE:
        if (!strcmp(k, "interface"))
            set_str(p, c->interface, sizeof c->interface, k, v);
        else if (!strcmp(k, "file")) {
            if (c->nfiles == KS_SENSOR_MAX_FILES)
                bad(p, "file: at most 64 files ('%s')%s", v, "");
            else if (set_str(p, c->files[c->nfiles], sizeof c->files[0], k, v))
                c->nfiles++;
        } else if (!strcmp(k, "pcap_dir"))
            set_str(p, c->pcap_dir, sizeof c->pcap_dir, k, v);
        else if (!strcmp(k, "poll_s"))
            set_u32(p, &c->poll_s, k, v, 1, 3600);
        else if (!strcmp(k, "exit_when_done"))
            set_bool(p, &c->exit_when_done, k, v);
        else if (!strcmp(k, "filter"))
            set_str(p, c->filter, sizeof c->filter, k, v);
        else if (!strcmp(k, "sample_rate"))
            set_u32(p, &c->sample_rate, k, v, 1, 1000000);
        else if (!strcmp(k, "promisc"))
            set_bool(p, &c->promisc, k, v);
        else
            bad(p, "unknown key '%s' in [capture]%s", k, "");
        return;
    case SEC_DDOS:
        if (!strcmp(k, "enabled")) {
            if (set_bool(p, &c->ddos, k, v))
                p->ddos_set = true;
        } else if (!strcmp(k, "thresholds"))
            set_str(p, c->ddos_thresholds, sizeof c->ddos_thresholds, k, v);
        else if (!strcmp(k, "max_targets"))
            set_u32(p, &c->ddos_max_targets, k, v, 16, 100000000);
        else
            bad(p, "unknown key '%s' in [ddos]%s", k, "");
        return;
    case SEC_DARKNET:
        if (!strcmp(k, "prefix")) {
            struct ks_prefix pf;
            if (ks_prefix_parse(v, strlen(v), &pf, NULL) != KS_OK)
                bad(p, "prefix: not an address prefix: '%s'%s", v, "");
            else if (c->ndarknet_prefixes == KS_SENSOR_MAX_PREFIXES)
                bad(p, "prefix: at most 64 prefixes ('%s')%s", v, "");
            else if (set_str(p, c->darknet_prefixes[c->ndarknet_prefixes],
                             sizeof c->darknet_prefixes[0], k, v))
                c->ndarknet_prefixes++;
        } else if (!strcmp(k, "sensor"))
            set_str(p, c->darknet_sensor, sizeof c->darknet_sensor, k, v);
        else if (!strcmp(k, "tz_offset")) {
            if (parse_tz(v, &c->tz_offset_s) < 0)
                bad(p, "tz_offset: +hh:mm or -hh:mm expected, not '%s'%s", v, "");
        } else if (!strcmp(k, "geo_dir"))
            set_str(p, c->geo_dir, sizeof c->geo_dir, k, v);
        else
            bad(p, "unknown key '%s' in [darknet]%s", k, "");
        return;
    case SEC_HONEYPOT:
        if (!strcmp(k, "listen"))
            set_str(p, c->hp_listen, sizeof c->hp_listen, k, v);
        else if (!strcmp(k, "tcp_ports"))
            set_str(p, c->hp_tcp, sizeof c->hp_tcp, k, v);
        else if (!strcmp(k, "udp_ports"))
            set_str(p, c->hp_udp, sizeof c->hp_udp, k, v);
        else if (!strcmp(k, "max_sessions"))
            set_u32(p, &c->hp_max_sessions, k, v, 1, 1000000);
        else
            bad(p, "unknown key '%s' in [honeypot]%s", k, "");
        return;
    case SEC_FLOW:
        if (!strcmp(k, "listen"))
            set_str(p, c->flow_listen, sizeof c->flow_listen, k, v);
        else
            bad(p, "unknown key '%s' in [flow]%s", k, "");
        return;
    }
}

static void section(struct parse *p, const char *name)
{
    static const struct {
        const char *name;
        enum section sec;
    } secs[] = {{"sensor", SEC_SENSOR},   {"capture", SEC_CAPTURE},   {"ddos", SEC_DDOS},
                {"darknet", SEC_DARKNET}, {"honeypot", SEC_HONEYPOT}, {"flow", SEC_FLOW}};
    for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++) {
        if (!strcmp(name, secs[i].name)) {
            p->sec = secs[i].sec;
            if (p->sec == SEC_FLOW)
                p->cfg->flow = true;
            return;
        }
    }
    p->sec = SEC_NONE;
    bad(p, "unknown section [%s]%s", name, "");
}

static void defaults(struct ks_sensor_config *c)
{
    memset(c, 0, sizeof *c);
    if (gethostname(c->name, sizeof c->name - 1) != 0 || !c->name[0])
        snprintf(c->name, sizeof c->name, "sensor");
    c->spool_max_bytes = (uint64_t)256 << 20;
    c->flush_s = 10;
    c->window_s = 300;
    c->batch_max_rows = 50000;
    c->retry_max_s = 30;
    c->busy_timeout_ms = 2000;
    snprintf(c->metrics_listen, sizeof c->metrics_listen, "127.0.0.1:9477");
    c->log_level = KS_LOG_INFO;
    c->poll_s = 5;
    c->sample_rate = 1;
    c->ddos_max_targets = 65536;
    snprintf(c->hp_listen, sizeof c->hp_listen, "0.0.0.0");
    c->hp_max_sessions = 4096;
}

int sensor_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
    /* "127.0.0.1:9477", "[::1]:9477", "localhost:9477" */
    char host[128];
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec)
        return KS_EINVAL;
    size_t hn = (size_t)(colon - spec);
    if (spec[0] == '[') {
        if (hn < 2 || spec[hn - 1] != ']')
            return KS_EINVAL;
        spec++;
        hn -= 2;
    }
    if (hn >= sizeof host)
        return KS_EINVAL;
    memcpy(host, spec, hn);
    host[hn] = '\0';
    char *e;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &e, 10);
    if (errno || e == colon + 1 || *e || port > 65535)
        return KS_EINVAL;
    if (!strcmp(host, "localhost"))
        snprintf(host, sizeof host, "127.0.0.1");
    struct ks_addr a;
    if (ks_addr_parse(host, strlen(host), &a) != KS_OK)
        return KS_EINVAL;
    memset(ss, 0, sizeof *ss);
    if (a.family == 4) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        memcpy(&in->sin_addr, a.b, 4);
        *len = sizeof *in;
        if (a.b[0] != 127)
            return KS_ELIMIT; /* not loopback */
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        memcpy(&in6->sin6_addr, a.b, 16);
        *len = sizeof *in6;
        static const uint8_t lo6[16] = {[15] = 1};
        if (memcmp(a.b, lo6, 16) != 0)
            return KS_ELIMIT;
    }
    return KS_OK;
}

int ks_sensor_config_parse(const char *text, size_t len, const char *source,
                           const struct ks_diag *diag, struct ks_sensor_config *cfg)
{
    if (!cfg || (!text && len))
        return KS_EINVAL;
    defaults(cfg);
    struct parse p = {cfg, diag, 0, {.source = source}, 0, SEC_NONE, false};
    struct ks_cur c = ks_cur_make(text, len);
    const uint8_t *line;
    size_t n;
    unsigned r;
    while ((r = ks_cur_line(&c, LINE_MAX_LEN, &line, &n)) != 0) {
        p.loc.line++;
        if (r & KS_CUR_LINE_LONG) {
            bad(&p, "line longer than %s bytes%s", "4096", "");
            continue;
        }
        const char *s = (const char *)line;
        trim(&s, &n);
        if (n == 0 || s[0] == '#' || s[0] == ';')
            continue;
        if (memchr(s, '\0', n)) {
            bad(&p, "a NUL byte in the line%s%s", "", "");
            continue;
        }
        char buf[LINE_MAX_LEN + 1];
        if (s[0] == '[') {
            if (s[n - 1] != ']' || n < 3) {
                bad(&p, "a section is [name]%s%s", "", "");
                continue;
            }
            const char *name = s + 1;
            size_t nn = n - 2;
            trim(&name, &nn);
            memcpy(buf, name, nn);
            buf[nn] = '\0';
            section(&p, buf);
            continue;
        }
        const char *eq = memchr(s, '=', n);
        if (!eq) {
            bad(&p, "expected key = value%s%s", "", "");
            continue;
        }
        const char *k = s, *v = eq + 1;
        size_t kn = (size_t)(eq - s), vn = n - kn - 1;
        trim(&k, &kn);
        trim(&v, &vn);
        if (kn == 0) {
            bad(&p, "expected key = value%s%s", "", "");
            continue;
        }
        /* A value may be quoted to keep spaces at its ends (and '#'); unquoted, a '#' or ';'
         * after a space starts a comment. */
        if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"') {
            v++;
            vn -= 2;
        } else {
            for (size_t i = 1; i < vn; i++) {
                if ((v[i] == '#' || v[i] == ';') && isspace((unsigned char)v[i - 1])) {
                    vn = i;
                    trim(&v, &vn);
                    break;
                }
            }
        }
        memcpy(buf, k, kn);
        buf[kn] = '\0';
        char val[LINE_MAX_LEN + 1];
        memcpy(val, v, vn);
        val[vn] = '\0';
        key_value(&p, buf, val);
    }
    if (p.errors)
        return KS_EFORMAT;

    /* Whole-file checks. */
    struct ks_loc whole = {.source = source};
    int rc = KS_OK;
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        ks_diag_report(diag, &p.reported, "sensor", &whole, KS_EINVAL, __VA_ARGS__);               \
        rc = KS_EINVAL;                                                                            \
    } while (0)
    if (!cfg->db[0])
        FAIL("[sensor] db = PATH is required");
    if (!cfg->spool_dir[0])
        FAIL("[sensor] spool_dir = DIR is required");
    int sources = (cfg->interface[0] != 0) + (cfg->nfiles > 0) + (cfg->pcap_dir[0] != 0);
    if (sources > 1)
        FAIL("[capture]: give one of interface, file, pcap_dir");
    if (cfg->flow && !cfg->flow_listen[0])
        FAIL("[flow] listen = ADDR:PORT is required");
    if (!p.ddos_set)
        cfg->ddos = sources > 0 || cfg->flow;
    cfg->darknet = cfg->ndarknet_prefixes > 0;
    cfg->honeypot = cfg->hp_tcp[0] || cfg->hp_udp[0];
    if (!cfg->darknet_sensor[0])
        memcpy(cfg->darknet_sensor, cfg->name, sizeof cfg->name);
    if ((cfg->ddos || cfg->darknet) && sources == 0 && !cfg->flow)
        FAIL("ddos and darknet need a [capture] source or a [flow] section");
    if (sources == 0 && !cfg->honeypot && !cfg->flow)
        FAIL("nothing to run: give a [capture] source, [honeypot] ports or a [flow] section");
    if (cfg->metrics_listen[0] && strcmp(cfg->metrics_listen, "off") != 0) {
        struct sockaddr_storage ss;
        socklen_t sl;
        int lr = sensor_parse_listen(cfg->metrics_listen, &ss, &sl);
        if (lr == KS_ELIMIT)
            FAIL("metrics_listen: %s is not a loopback address", cfg->metrics_listen);
        else if (lr != KS_OK)
            FAIL("metrics_listen: ADDR:PORT expected, not '%s'", cfg->metrics_listen);
    }
#undef FAIL
    return rc;
}

int ks_sensor_config_load(const char *path, const struct ks_diag *diag,
                          struct ks_sensor_config *cfg)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return KS_EIO;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > CONFIG_MAX_BYTES) {
        close(fd);
        errno = EINVAL;
        return KS_EIO;
    }
    size_t size = (size_t)sb.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        return KS_ENOMEM;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    int rc = ks_sensor_config_parse(buf, got, path, diag, cfg);
    if (rc == KS_OK || rc == KS_EFORMAT || rc == KS_EINVAL)
        snprintf(cfg->path, sizeof cfg->path, "%s", path);
    free(buf);
    return rc;
}
