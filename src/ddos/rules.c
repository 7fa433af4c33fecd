/* Names of vectors, classes and judgements; the amplifier port table; per-prefix rules and the
 * thresholds file. */
#include "ddos_int.h"

#include "core/cur.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const vec_names[KS_VEC_COUNT] = {
    [KS_VEC_UDP_FLOOD] = "udp_flood",
    [KS_VEC_ICMP_FLOOD] = "icmp_flood",
    [KS_VEC_FRAGMENT_FLOOD] = "fragment_flood",
    [KS_VEC_SYN_FLOOD] = "syn_flood",
    [KS_VEC_SYNACK_REFLECTION] = "synack_reflection",
    [KS_VEC_CONNECTION_FLOOD] = "connection_flood",
    [KS_VEC_HTTP_GET_FLOOD] = "http_get_flood",
    [KS_VEC_TCP_FLOOD] = "tcp_flood",
    [KS_VEC_OTHER_FLOOD] = "other_flood",
    [KS_VEC_AMP_DNS] = "amp_dns",
    [KS_VEC_AMP_NTP] = "amp_ntp",
    [KS_VEC_AMP_SSDP] = "amp_ssdp",
    [KS_VEC_AMP_CLDAP] = "amp_cldap",
    [KS_VEC_AMP_MEMCACHED] = "amp_memcached",
    [KS_VEC_AMP_CHARGEN] = "amp_chargen",
    [KS_VEC_AMP_SNMP] = "amp_snmp",
    [KS_VEC_AMP_IKE] = "amp_ike",
    [KS_VEC_AMP_BACNET] = "amp_bacnet",
    [KS_VEC_AMP_DVR] = "amp_dvr",
    [KS_VEC_AMP_WSD] = "amp_wsd",
    [KS_VEC_AMP_NETBIOS] = "amp_netbios",
    [KS_VEC_AMP_PORTMAP] = "amp_portmap",
    [KS_VEC_AMP_MDNS] = "amp_mdns",
    [KS_VEC_AMP_QOTD] = "amp_qotd",
    [KS_VEC_AMP_TFTP] = "amp_tftp",
    [KS_VEC_AMP_ARD] = "amp_ard",
    [KS_VEC_AMP_UBIQUITI] = "amp_ubiquiti",
};

const char *ks_ddos_vector_name(unsigned v)
{
    return v < KS_VEC_COUNT ? vec_names[v] : NULL;
}

int ks_ddos_vector_find(const char *name)
{
    for (unsigned v = 0; v < KS_VEC_COUNT; v++)
        if (strcmp(vec_names[v], name) == 0)
            return (int)v;
    return -1;
}

const char *ks_ddos_class_name(enum ks_ddos_class c)
{
    switch (c) {
    case KS_DDOS_BANDWIDTH:
        return "bandwidth";
    case KS_DDOS_SERVER:
        return "server";
    case KS_DDOS_COMPOSITE:
        return "composite";
    }
    return "unknown";
}

const char *ks_ddos_disp_name(enum ks_ddos_disp d)
{
    switch (d) {
    case KS_DISP_FEW:
        return "few_sources";
    case KS_DISP_SPOOFED:
        return "spoofed";
    case KS_DISP_BOTNET:
        return "botnet";
    case KS_DISP_REFLECTORS:
        return "reflectors";
    }
    return "unknown";
}

/* UDP source ports of services abused as amplifiers (US-CERT TA14-017A and later reports). */
uint8_t ddos_amp_vector(uint16_t sport)
{
    switch (sport) {
    case 53:
        return KS_VEC_AMP_DNS;
    case 123:
        return KS_VEC_AMP_NTP;
    case 1900:
        return KS_VEC_AMP_SSDP;
    case 389:
        return KS_VEC_AMP_CLDAP;
    case 11211:
        return KS_VEC_AMP_MEMCACHED;
    case 19:
        return KS_VEC_AMP_CHARGEN;
    case 161:
        return KS_VEC_AMP_SNMP;
    case 500:
    case 4500:
        return KS_VEC_AMP_IKE;
    case 47808:
        return KS_VEC_AMP_BACNET;
    case 37810:
        return KS_VEC_AMP_DVR;
    case 3702:
        return KS_VEC_AMP_WSD;
    case 137:
        return KS_VEC_AMP_NETBIOS;
    case 111:
        return KS_VEC_AMP_PORTMAP;
    case 5353:
        return KS_VEC_AMP_MDNS;
    case 17:
        return KS_VEC_AMP_QOTD;
    case 69:
        return KS_VEC_AMP_TFTP;
    case 3283:
        return KS_VEC_AMP_ARD;
    case 10001:
        return KS_VEC_AMP_UBIQUITI;
    default:
        return 0;
    }
}

bool ddos_vector_is_bandwidth(unsigned v)
{
    switch (v) {
    case KS_VEC_SYN_FLOOD:
    case KS_VEC_SYNACK_REFLECTION:
    case KS_VEC_CONNECTION_FLOOD:
    case KS_VEC_HTTP_GET_FLOOD:
    case KS_VEC_TCP_FLOOD:
        return false;
    default:
        return true;
    }
}

/* --- rules --------------------------------------------------------------------------------- */

int ks_ddos_rules_new(struct ks_ddos_rules **rp)
{
    struct ks_ddos_rules *r = calloc(1, sizeof *r);
    if (!r)
        return KS_ENOMEM;
    int rc = ks_prefix_set_new(&r->set);
    if (rc != KS_OK) {
        free(r);
        return rc;
    }
    *rp = r;
    return KS_OK;
}

void ks_ddos_rules_free(struct ks_ddos_rules *r)
{
    if (!r)
        return;
    ks_prefix_set_free(r->set);
    free(r->r);
    free(r);
}

int ks_ddos_rules_add(struct ks_ddos_rules *r, const struct ks_prefix *p,
                      const struct ks_ddos_thresholds *thr, unsigned set, bool carpet)
{
    if (!r || !p || (p->addr.family != 4 && p->addr.family != 6))
        return KS_EINVAL;
    if (r->n >= 65534)
        return KS_ELIMIT;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct rule *n = realloc(r->r, cap * sizeof *n);
        if (!n)
            return KS_ENOMEM;
        r->r = n;
        r->cap = cap;
    }
    struct rule *ru = &r->r[r->n];
    memset(ru, 0, sizeof *ru);
    int rc = ks_prefix_make(&ru->prefix, &p->addr, p->len);
    if (rc != KS_OK)
        return rc;
    if (thr)
        ru->thr = *thr;
    ru->set = set;
    ru->carpet = carpet;
    rc = ks_prefix_set_add(r->set, &ru->prefix, (uint32_t)(r->n + 1));
    if (rc != KS_OK)
        return rc;
    r->n++;
    r->any_carpet |= carpet;
    return KS_OK;
}

/* --- the thresholds file ------------------------------------------------------------------- */

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static void trim(const uint8_t **s, size_t *n)
{
    while (*n && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

static bool word_eq(const uint8_t *s, size_t n, const char *w)
{
    return strlen(w) == n && memcmp(s, w, n) == 0;
}

/* A copy of (s, n) as a C string in buf (false if too long). */
static bool cstr(const uint8_t *s, size_t n, char *buf, size_t size)
{
    if (n >= size)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return true;
}

/* An unsigned count with an optional k/K/M/G/T suffix (powers of 1000). */
static bool parse_count(const uint8_t *s, size_t n, uint64_t *out)
{
    char buf[64], *end;
    if (!cstr(s, n, buf, sizeof buf) || n == 0 || buf[0] == '-')
        return false;
    errno = 0;
    double v = strtod(buf, &end);
    if (errno || end == buf)
        return false;
    double mult = 1;
    if (*end) {
        switch (*end) {
        case 'k':
        case 'K':
            mult = 1e3;
            break;
        case 'M':
            mult = 1e6;
            break;
        case 'G':
            mult = 1e9;
            break;
        case 'T':
            mult = 1e12;
            break;
        default:
            return false;
        }
        if (end[1])
            return false;
    }
    v *= mult;
    if (!(v >= 0 && v < 1.8e19))
        return false;
    *out = (uint64_t)v;
    return true;
}

static bool parse_double(const uint8_t *s, size_t n, double *out)
{
    char buf[64], *end;
    if (!cstr(s, n, buf, sizeof buf) || n == 0)
        return false;
    errno = 0;
    *out = strtod(buf, &end);
    return !errno && *end == '\0';
}

static bool parse_bool(const uint8_t *s, size_t n, bool *out)
{
    if (word_eq(s, n, "yes") || word_eq(s, n, "on") || word_eq(s, n, "true") ||
        word_eq(s, n, "1")) {
        *out = true;
        return true;
    }
    if (word_eq(s, n, "no") || word_eq(s, n, "off") || word_eq(s, n, "false") ||
        word_eq(s, n, "0")) {
        *out = false;
        return true;
    }
    return false;
}

static const char *const thr_keys[T_N] = {
    "threshold_pps", "threshold_bps", "syn_pps",  "synack_pps", "udp_pps",
    "amp_pps",       "icmp_pps",      "frag_pps", "conn_ps",    "http_rps"};

static uint64_t *thr_field(struct ks_ddos_thresholds *t, unsigned i)
{
    uint64_t *f[T_N] = {&t->pps,     &t->bps,      &t->syn_pps,  &t->synack_pps, &t->udp_pps,
                        &t->amp_pps, &t->icmp_pps, &t->frag_pps, &t->conn_ps,    &t->http_rps};
    return f[i];
}

struct section {
    bool prefix;
    struct ks_prefix p;
    struct ks_ddos_thresholds thr;
    unsigned set;
    bool carpet;
};

static int end_section(struct section *sec, struct ks_ddos_rules **rules)
{
    if (!sec->prefix)
        return KS_OK;
    if (!*rules) {
        int rc = ks_ddos_rules_new(rules);
        if (rc != KS_OK)
            return rc;
    }
    return ks_ddos_rules_add(*rules, &sec->p, &sec->thr, sec->set, sec->carpet);
}

/* One "key = value" line; false if the key or value is bad. */
static bool set_key(struct ks_ddos_config *cfg, struct section *sec, const uint8_t *k, size_t kn,
                    const uint8_t *v, size_t vn)
{
    for (unsigned i = 0; i < T_N; i++) {
        if (word_eq(k, kn, thr_keys[i]) || (i == T_PPS && word_eq(k, kn, "pps")) ||
            (i == T_BPS && word_eq(k, kn, "bps"))) {
            uint64_t x;
            if (!parse_count(v, vn, &x))
                return false;
            *thr_field(sec->prefix ? &sec->thr : &cfg->thr, i) = x;
            sec->set |= 1u << i;
            return true;
        }
    }
    if (sec->prefix) {
        if (word_eq(k, kn, "carpet"))
            return parse_bool(v, vn, &sec->carpet);
        return false;
    }
    uint64_t x;
    double f;
    struct {
        const char *name;
        uint32_t *dst;
    } u32s[] = {
        {"start_after", &cfg->start_after_s},
        {"end_after", &cfg->end_after_s},
        {"adaptive_warmup", &cfg->adaptive_warmup_s},
        {"max_targets", &cfg->max_targets},
        {"max_tracked", &cfg->max_tracked},
        {"timeline_max", &cfg->timeline_max},
        {"workers", &cfg->workers},
        {"scan_max_sources", &cfg->scan_max_sources},
        {"scan_min_spread", &cfg->scan_min_spread},
    };
    for (size_t i = 0; i < sizeof u32s / sizeof u32s[0]; i++) {
        if (word_eq(k, kn, u32s[i].name)) {
            if (!parse_count(v, vn, &x) || x > UINT32_MAX)
                return false;
            *u32s[i].dst = (uint32_t)x;
            return true;
        }
    }
    if (word_eq(k, kn, "adaptive"))
        return parse_bool(v, vn, &cfg->adaptive);
    if (word_eq(k, kn, "adaptive_min_pps"))
        return parse_count(v, vn, &cfg->adaptive_min_pps);
    struct {
        const char *name;
        double *dst;
        double lo, hi;
    } dbls[] = {
        {"vector_share", &cfg->vector_share, 0, 1},
        {"adaptive_k", &cfg->adaptive_k, 0, 1000},
        {"adaptive_alpha", &cfg->adaptive_alpha, 1e-9, 1},
        {"scan_max_per_item", &cfg->scan_max_per_item, 0, 1e9},
    };
    for (size_t i = 0; i < sizeof dbls / sizeof dbls[0]; i++) {
        if (word_eq(k, kn, dbls[i].name)) {
            if (!parse_double(v, vn, &f) || f < dbls[i].lo || f > dbls[i].hi)
                return false;
            *dbls[i].dst = f;
            return true;
        }
    }
    return false;
}

int ks_ddos_config_load(const char *path, struct ks_ddos_config *cfg, struct ks_ddos_rules **rules,
                        const struct ks_diag *diag)
{
    int rc = KS_OK;
    uint8_t *buf = NULL;
    uint32_t reported = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return KS_EIO;
    size_t cap = 1 << 20, len;
    buf = malloc(cap);
    if (!buf) {
        rc = KS_ENOMEM;
        goto out;
    }
    len = fread(buf, 1, cap, f);
    if (ferror(f)) {
        rc = KS_EIO;
        goto out;
    }
    if (len == cap) {
        struct ks_loc loc = {.source = path, .offset = cap};
        ks_diag_report(diag, &reported, "ddos", &loc, KS_ELIMIT, "file longer than 1 MiB");
        rc = KS_EFORMAT;
        goto out;
    }
    rc = ddos_config_parse(buf, len, path, cfg, rules, diag);
out:
    free(buf);
    fclose(f);
    return rc;
}

int ddos_config_parse(const uint8_t *buf, size_t len, const char *path, struct ks_ddos_config *cfg,
                      struct ks_ddos_rules **rules, const struct ks_diag *diag)
{
    int rc;
    uint32_t reported = 0;
    struct ks_cur c = ks_cur_make(buf, len);
    struct section sec = {0};
    const uint8_t *line;
    size_t n;
    uint32_t lineno = 0;
    bool bad = false;
    while (ks_cur_line(&c, 4096, &line, &n)) {
        lineno++;
        struct ks_loc loc = {.source = path, .line = lineno};
        const uint8_t *hash = memchr(line, '#', n);
        if (hash)
            n = (size_t)(hash - line);
        trim(&line, &n);
        if (n == 0)
            continue;
        if (line[0] == '[') {
            if (line[n - 1] != ']') {
                ks_diag_report(diag, &reported, "ddos", &loc, KS_EFORMAT, "section without ']'");
                bad = true;
                continue;
            }
            int r = end_section(&sec, rules);
            if (r != KS_OK) {
                ks_diag_report(diag, &reported, "ddos", &loc, r, "cannot add the rule above");
                bad = true;
            }
            memset(&sec, 0, sizeof sec);
            const uint8_t *s = line + 1;
            size_t sn = n - 2;
            trim(&s, &sn);
            if (word_eq(s, sn, "global"))
                continue;
            if (sn > 7 && memcmp(s, "prefix", 6) == 0 && is_space(s[6])) {
                s += 7;
                sn -= 7;
                trim(&s, &sn);
                if (ks_prefix_parse((const char *)s, sn, &sec.p, NULL) == KS_OK) {
                    sec.prefix = true;
                    continue;
                }
            }
            ks_diag_report(diag, &reported, "ddos", &loc, KS_EFORMAT,
                           "unknown section (want [global] or [prefix ADDR/LEN])");
            bad = true;
            continue;
        }
        const uint8_t *eq = memchr(line, '=', n);
        if (!eq) {
            ks_diag_report(diag, &reported, "ddos", &loc, KS_EFORMAT, "expected 'key = value'");
            bad = true;
            continue;
        }
        const uint8_t *k = line, *v = eq + 1;
        size_t kn = (size_t)(eq - line), vn = n - kn - 1;
        trim(&k, &kn);
        trim(&v, &vn);
        if (!set_key(cfg, &sec, k, kn, v, vn)) {
            ks_diag_report(diag, &reported, "ddos", &loc, KS_EFORMAT, "bad key or value: %.*s",
                           (int)(kn > 60 ? 60 : kn), (const char *)k);
            bad = true;
        }
    }
    rc = end_section(&sec, rules);
    if (rc == KS_OK && bad)
        rc = KS_EFORMAT;
    return rc;
}
