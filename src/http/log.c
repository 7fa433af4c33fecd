/* Web server log lines -> struct ks_http_request: Apache LogFormat strings (combined and
 * common are two of them), and JSON lines (jansson) with configurable field names. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_http.h"
#include "kansoku/ks_time.h"

#define MAX_ITEMS 64
#define MAX_LIT 64

static const char FMT_COMBINED[] = "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\"";
static const char FMT_COMMON[] = "%h %l %u %t \"%r\" %>s %b";

static const char *const json_defaults[KS_HTTP_JF_COUNT] = {
    [KS_HTTP_JF_TIME] = "time,@timestamp,timestamp,time_local,time_iso8601,ts",
    [KS_HTTP_JF_CLIENT] = "remote_addr,client,client_ip,clientip,src_ip,ip",
    [KS_HTTP_JF_REQUEST] = "request",
    [KS_HTTP_JF_METHOD] = "method,request_method,verb",
    [KS_HTTP_JF_URI] = "request_uri,uri,url,path",
    [KS_HTTP_JF_QUERY] = "query_string,args,query",
    [KS_HTTP_JF_STATUS] = "status,status_code,response",
    [KS_HTTP_JF_BYTES] = "body_bytes_sent,bytes_sent,bytes,size",
    [KS_HTTP_JF_HOST] = "host,http_host,server_name,vhost",
    [KS_HTTP_JF_USER_AGENT] = "http_user_agent,user_agent,agent,ua",
    [KS_HTTP_JF_REFERER] = "http_referer,referer,referrer",
    [KS_HTTP_JF_XFF] = "http_x_forwarded_for,x_forwarded_for,xff",
    [KS_HTTP_JF_COOKIE] = "http_cookie,cookie",
    [KS_HTTP_JF_CONTENT_TYPE] = "content_type,http_content_type",
    [KS_HTTP_JF_BODY] = "request_body,body",
};

enum fld {
    F_SKIP = 0,
    F_CLIENT,
    F_USER,
    F_TIME,
    F_REQUEST,
    F_METHOD,
    F_PATH,
    F_QUERY,
    F_PROTO,
    F_STATUS,
    F_BYTES,
    F_HOST,
    F_UA,
    F_REFERER,
    F_XFF,
    F_COOKIE,
    F_CTYPE,
    F_TARGET, /* %U%q: the path and "?query" without text between them */
};

struct item {
    bool lit;
    uint8_t fld;
    uint8_t len;
    char text[MAX_LIT];
};

struct ks_http_log {
    struct ks_http_log_config cfg;
    struct item items[MAX_ITEMS];
    unsigned nitems;
    json_t *root; /* of the last JSON line: the request's strings point into it */
    uint32_t reported;
    struct ks_http_log_stats st;
};

void ks_http_log_config_default(struct ks_http_log_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->format = KS_HTTP_LOG_COMBINED;
}

int ks_http_log_config_format(struct ks_http_log_config *cfg, const char *name)
{
    if (!name || !*name)
        return KS_EINVAL;
    if (strcmp(name, "combined") == 0)
        cfg->format = KS_HTTP_LOG_COMBINED;
    else if (strcmp(name, "common") == 0)
        cfg->format = KS_HTTP_LOG_COMMON;
    else if (strcmp(name, "json") == 0)
        cfg->format = KS_HTTP_LOG_JSON;
    else {
        cfg->format = KS_HTTP_LOG_CUSTOM;
        cfg->logformat = name;
    }
    return KS_OK;
}

static bool ieq(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (char)(y + 32);
        if (x != y)
            return false;
    }
    return true;
}

static uint8_t header_field(const char *h, size_t n)
{
    if (ieq(h, n, "referer"))
        return F_REFERER;
    if (ieq(h, n, "user-agent"))
        return F_UA;
    if (ieq(h, n, "x-forwarded-for"))
        return F_XFF;
    if (ieq(h, n, "host"))
        return F_HOST;
    if (ieq(h, n, "cookie"))
        return F_COOKIE;
    if (ieq(h, n, "content-type"))
        return F_CTYPE;
    return F_SKIP;
}

static int fmt_error(struct ks_http_log *l, const char *what)
{
    struct ks_loc loc = {.source = "LogFormat"};
    ks_diag_report(l->cfg.diag, &l->reported, "http", &loc, KS_EFORMAT, "%s", what);
    return KS_EFORMAT;
}

static struct item *lit_item(struct ks_http_log *l)
{
    if (l->nitems && l->items[l->nitems - 1].lit && l->items[l->nitems - 1].len < MAX_LIT)
        return &l->items[l->nitems - 1];
    if (l->nitems >= MAX_ITEMS)
        return NULL;
    struct item *it = &l->items[l->nitems++];
    memset(it, 0, sizeof *it);
    it->lit = true;
    return it;
}

/* Apache mod_log_config: %[<>][!]NNN,...{param}X; %% is a percent sign. */
static int compile_format(struct ks_http_log *l, const char *f)
{
    for (size_t i = 0; f[i];) {
        if (f[i] != '%' || f[i + 1] == '%') {
            char c = f[i];
            size_t adv = f[i] == '%' ? 2 : 1;
            if (c == '\\' && f[i + 1]) { /* escapes as in an Apache config string */
                char e = f[i + 1];
                c = e == 't' ? '\t' : e == 'n' ? '\n' : e;
                adv = 2;
            }
            struct item *it = lit_item(l);
            if (!it)
                return fmt_error(l, "too many items in the LogFormat string");
            it->text[it->len++] = c;
            i += adv;
            continue;
        }
        i++;
        while (f[i] == '<' || f[i] == '>' || f[i] == '!' || f[i] == ',' ||
               (f[i] >= '0' && f[i] <= '9'))
            i++;
        const char *param = NULL;
        size_t plen = 0;
        if (f[i] == '{') {
            const char *e = strchr(f + i, '}');
            if (!e)
                return fmt_error(l, "'%{' without '}' in the LogFormat string");
            param = f + i + 1;
            plen = (size_t)(e - param);
            i = (size_t)(e - f) + 1;
        }
        char d = f[i];
        if (!d)
            return fmt_error(l, "LogFormat string ends after '%'");
        i++;
        uint8_t fld = F_SKIP;
        switch (d) {
        case 'h':
        case 'a':
            fld = F_CLIENT;
            break;
        case 'u':
            fld = F_USER;
            break;
        case 't':
            fld = param ? F_SKIP : F_TIME;
            break;
        case 'r':
            fld = F_REQUEST;
            break;
        case 'm':
            fld = F_METHOD;
            break;
        case 'U':
            fld = F_PATH;
            break;
        case 'q':
            fld = F_QUERY;
            break;
        case 'H':
            fld = F_PROTO;
            break;
        case 's':
            fld = F_STATUS;
            break;
        case 'b':
        case 'B':
            fld = F_BYTES;
            break;
        case 'v':
        case 'V':
            fld = F_HOST;
            break;
        case 'i':
            fld = param ? header_field(param, plen) : F_SKIP;
            break;
        case 'C':
            fld = F_SKIP;
            break;
        default:
            if (!((d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z')))
                return fmt_error(l, "unknown '%' directive in the LogFormat string");
            break;
        }
        if (l->nitems && !l->items[l->nitems - 1].lit) {
            struct item *prev = &l->items[l->nitems - 1];
            if (prev->fld == F_PATH && fld == F_QUERY) {
                prev->fld = F_TARGET;
                continue;
            }
            return fmt_error(l, "two directives without text between them cannot be split");
        }
        if (l->nitems >= MAX_ITEMS)
            return fmt_error(l, "too many items in the LogFormat string");
        struct item *it = &l->items[l->nitems++];
        memset(it, 0, sizeof *it);
        it->fld = fld;
    }
    if (!l->nitems)
        return fmt_error(l, "empty LogFormat string");
    return KS_OK;
}

int ks_http_log_new(const struct ks_http_log_config *cfg, struct ks_http_log **lp)
{
    *lp = NULL;
    struct ks_http_log *l = calloc(1, sizeof *l);
    if (!l)
        return KS_ENOMEM;
    if (cfg)
        l->cfg = *cfg;
    else
        ks_http_log_config_default(&l->cfg);
    for (int i = 0; i < KS_HTTP_JF_COUNT; i++)
        if (!l->cfg.json_fields[i])
            l->cfg.json_fields[i] = json_defaults[i];
    const char *f = l->cfg.format == KS_HTTP_LOG_COMBINED ? FMT_COMBINED
                    : l->cfg.format == KS_HTTP_LOG_COMMON ? FMT_COMMON
                                                          : l->cfg.logformat;
    if (l->cfg.format != KS_HTTP_LOG_JSON) {
        int rc = f ? compile_format(l, f) : KS_EINVAL;
        if (rc) {
            free(l);
            return rc;
        }
    }
    *lp = l;
    return KS_OK;
}

void ks_http_log_free(struct ks_http_log *l)
{
    if (!l)
        return;
    if (l->root)
        json_decref(l->root);
    free(l);
}

void ks_http_log_stats(const struct ks_http_log *l, struct ks_http_log_stats *st)
{
    *st = l->st;
}

/* ---- values ---- */

static int month_of(const uint8_t *m)
{
    static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    char a = (char)(m[0] | 0x20), b = (char)(m[1] | 0x20), c = (char)(m[2] | 0x20);
    for (int i = 0; i < 12; i++)
        if (names[3 * i] == a && names[3 * i + 1] == b && names[3 * i + 2] == c)
            return i + 1;
    return 0;
}

static bool digits(const uint8_t *s, size_t n, int *v)
{
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return true;
}

int ks_http_parse_clf_time(const uint8_t *s, size_t len, int64_t *t_us)
{
    *t_us = 0;
    if (len && s[0] == '[') {
        s++;
        len--;
        if (len && s[len - 1] == ']')
            len--;
    }
    /* dd/Mon/yyyy:hh:mm:ss +zzzz */
    if (len < 20 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':')
        return KS_EFORMAT;
    struct ks_tm tm = {0};
    int y, mo, d, h, mi, se, off = 0;
    if (!digits(s, 2, &d) || !(mo = month_of(s + 3)) || !digits(s + 7, 4, &y) ||
        !digits(s + 12, 2, &h) || !digits(s + 15, 2, &mi) || !digits(s + 18, 2, &se))
        return KS_EFORMAT;
    if (len >= 26 && s[20] == ' ' && (s[21] == '+' || s[21] == '-')) {
        int zh, zm;
        if (!digits(s + 22, 2, &zh) || !digits(s + 24, 2, &zm))
            return KS_EFORMAT;
        off = (zh * 3600 + zm * 60) * (s[21] == '-' ? -1 : 1);
    }
    if (d < 1 || d > ks_days_in_month(y, mo))
        return KS_EFORMAT;
    tm.year = y;
    tm.month = mo;
    tm.day = d;
    tm.hour = h;
    tm.min = mi;
    tm.sec = se;
    return ks_time_join(&tm, off, t_us) ? KS_EFORMAT : KS_OK;
}

static struct ks_http_str str(const uint8_t *p, size_t n)
{
    struct ks_http_str s = {p, n};
    if (n == 1 && p[0] == '-') /* a dash is how logs say "none" */
        s.len = 0;
    return s;
}

static void split_target(struct ks_http_request *r)
{
    const uint8_t *t = r->target.p;
    size_t n = r->target.len;
    const uint8_t *q = n ? memchr(t, '?', n) : NULL;
    if (q) {
        r->path = (struct ks_http_str){t, (size_t)(q - t)};
        r->query = (struct ks_http_str){q + 1, n - (size_t)(q - t) - 1};
    } else {
        r->path = r->target;
        r->query = (struct ks_http_str){NULL, 0};
    }
}

/* "GET /a?b HTTP/1.1": the method is the first word, the protocol the last when it starts
 * with HTTP/, the target what lies between (spaces included: garbage is kept as a target). */
static void request_line(struct ks_http_request *r, const uint8_t *s, size_t n)
{
    if (!n || (n == 1 && s[0] == '-'))
        return;
    const uint8_t *sp = memchr(s, ' ', n);
    if (!sp) {
        r->target = (struct ks_http_str){s, n};
        split_target(r);
        return;
    }
    r->method = (struct ks_http_str){s, (size_t)(sp - s)};
    const uint8_t *t = sp + 1;
    size_t tn = n - (size_t)(t - s);
    const uint8_t *last = NULL;
    for (size_t i = tn; i > 0; i--)
        if (t[i - 1] == ' ') {
            last = t + i - 1;
            break;
        }
    if (last && (size_t)(t + tn - last) > 5 && memcmp(last + 1, "HTTP/", 5) == 0) {
        r->protocol = (struct ks_http_str){last + 1, (size_t)(t + tn - last - 1)};
        tn = (size_t)(last - t);
    }
    r->target = (struct ks_http_str){t, tn};
    split_target(r);
}

static int64_t number(const uint8_t *s, size_t n, int64_t none)
{
    if (!n || n > 18)
        return none;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return none;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static void set_field(struct ks_http_log *l, struct ks_http_request *r, uint8_t fld,
                      const uint8_t *s, size_t n)
{
    switch (fld) {
    case F_CLIENT:
        r->client = str(s, n);
        break;
    case F_USER:
        r->user = str(s, n);
        break;
    case F_TIME:
        if (ks_http_parse_clf_time(s, n, &r->time_us))
            l->st.bad_time++;
        break;
    case F_REQUEST:
        request_line(r, s, n);
        break;
    case F_METHOD:
        r->method = str(s, n);
        break;
    case F_TARGET:
        r->target = str(s, n);
        split_target(r);
        break;
    case F_PATH:
        r->path = str(s, n);
        if (!r->target.len)
            r->target = r->path;
        break;
    case F_QUERY:
        if (n && s[0] == '?') {
            s++;
            n--;
        }
        r->query = str(s, n);
        break;
    case F_PROTO:
        r->protocol = str(s, n);
        break;
    case F_STATUS:
        r->status = (int)number(s, n, 0);
        break;
    case F_BYTES:
        r->bytes = number(s, n, -1);
        break;
    case F_HOST:
        r->host = str(s, n);
        break;
    case F_UA:
        r->user_agent = str(s, n);
        break;
    case F_REFERER:
        r->referer = str(s, n);
        break;
    case F_XFF:
        r->xff = str(s, n);
        break;
    case F_COOKIE:
        r->cookie = str(s, n);
        break;
    case F_CTYPE:
        r->content_type = str(s, n);
        break;
    default:
        break;
    }
}

/* The end of a field's value: for a field in double quotes, the next '"' not escaped by a
 * backslash after which the following text matches (Apache writes \" inside %r and headers;
 * an unescaped quote inside is tolerated when the text after it does not fit); for %t, the
 * ']'; otherwise the first byte of the following text. */
static size_t field_end(const uint8_t *s, size_t n, size_t i, bool quoted, uint8_t fld,
                        const struct item *next)
{
    if (!next)
        return n;
    if (quoted && next->len && next->text[0] == '"') {
        size_t j = i;
        for (;;) {
            const uint8_t *q = j < n ? memchr(s + j, '"', n - j) : NULL;
            if (!q)
                return n;
            size_t k = (size_t)(q - s);
            size_t bs = 0;
            while (k - bs > i && s[k - bs - 1] == '\\')
                bs++;
            if (bs % 2 == 0 && (n - k >= next->len && memcmp(s + k, next->text, next->len) == 0))
                return k;
            j = k + 1;
        }
    }
    if (fld == F_TIME && i < n && s[i] == '[') {
        const uint8_t *e = memchr(s + i, ']', n - i);
        return e ? (size_t)(e - s) + 1 : n;
    }
    const uint8_t *e = i < n ? memchr(s + i, (uint8_t)next->text[0], n - i) : NULL;
    return e ? (size_t)(e - s) : n;
}

static int bad_line(struct ks_http_log *l, const struct ks_loc *loc, const char *what)
{
    l->st.bad++;
    ks_diag_report(l->cfg.diag, &l->reported, "http", loc, KS_EFORMAT, "%s", what);
    return KS_EFORMAT;
}

static int parse_format(struct ks_http_log *l, const uint8_t *s, size_t n, const struct ks_loc *loc,
                        struct ks_http_request *r)
{
    size_t i = 0;
    for (unsigned k = 0; k < l->nitems; k++) {
        const struct item *it = &l->items[k];
        if (it->lit) {
            if (n - i < it->len || memcmp(s + i, it->text, it->len) != 0)
                return bad_line(l, loc, "line does not match the log format");
            i += it->len;
            continue;
        }
        const struct item *next = k + 1 < l->nitems ? &l->items[k + 1] : NULL;
        bool quoted =
            k > 0 && l->items[k - 1].len && l->items[k - 1].text[l->items[k - 1].len - 1] == '"';
        size_t e = field_end(s, n, i, quoted, it->fld, next);
        set_field(l, r, it->fld, s + i, e - i);
        i = e;
    }
    return KS_OK;
}

/* ---- JSON lines ---- */

static json_t *json_find(json_t *root, const char *names)
{
    char key[128];
    for (const char *p = names; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        json_t *v = root;
        size_t a = 0;
        while (v && a < n) { /* a dotted name descends: "request.uri" */
            size_t b = a;
            while (b < n && p[b] != '.')
                b++;
            if (b - a >= sizeof key || !json_is_object(v)) {
                v = NULL;
                break;
            }
            memcpy(key, p + a, b - a);
            key[b - a] = '\0';
            v = json_object_get(v, key);
            a = b + 1;
        }
        if (v && !json_is_null(v))
            return v;
        p += n + (e ? 1 : 0);
    }
    return NULL;
}

static struct ks_http_str json_str(json_t *v)
{
    if (!json_is_string(v))
        return (struct ks_http_str){NULL, 0};
    return str((const uint8_t *)json_string_value(v), json_string_length(v));
}

static int parse_json(struct ks_http_log *l, const uint8_t *s, size_t n, const struct ks_loc *loc,
                      struct ks_http_request *r)
{
    if (l->root) {
        json_decref(l->root);
        l->root = NULL;
    }
    json_error_t err;
    json_t *root = json_loadb((const char *)s, n, JSON_REJECT_DUPLICATES, &err);
    if (!root || !json_is_object(root)) {
        if (root)
            json_decref(root);
        return bad_line(l, loc, "not a JSON object");
    }
    l->root = root;
    const char *const *f = l->cfg.json_fields;
    json_t *v;
    if ((v = json_find(root, f[KS_HTTP_JF_TIME]))) {
        if (json_is_number(v))
            r->time_us = (int64_t)(json_number_value(v) * 1e6);
        else if (json_is_string(v)) {
            const char *t = json_string_value(v);
            size_t tl = json_string_length(v);
            if (ks_time_parse(t, tl, &r->time_us) &&
                ks_http_parse_clf_time((const uint8_t *)t, tl, &r->time_us))
                l->st.bad_time++;
        }
    }
    r->client = json_str(json_find(root, f[KS_HTTP_JF_CLIENT]));
    struct ks_http_str req = json_str(json_find(root, f[KS_HTTP_JF_REQUEST]));
    if (req.len)
        request_line(r, req.p, req.len);
    struct ks_http_str m = json_str(json_find(root, f[KS_HTTP_JF_METHOD]));
    if (m.len)
        r->method = m;
    struct ks_http_str u = json_str(json_find(root, f[KS_HTTP_JF_URI]));
    if (u.len) {
        r->target = u;
        split_target(r);
    }
    struct ks_http_str q = json_str(json_find(root, f[KS_HTTP_JF_QUERY]));
    if (q.len && !r->query.len)
        r->query = q;
    if ((v = json_find(root, f[KS_HTTP_JF_STATUS])))
        r->status = json_is_integer(v)  ? (int)json_integer_value(v)
                    : json_is_string(v) ? (int)number((const uint8_t *)json_string_value(v),
                                                      json_string_length(v), 0)
                                        : 0;
    if ((v = json_find(root, f[KS_HTTP_JF_BYTES])))
        r->bytes = json_is_integer(v) ? (int64_t)json_integer_value(v)
                   : json_is_string(v)
                       ? number((const uint8_t *)json_string_value(v), json_string_length(v), -1)
                       : -1;
    r->host = json_str(json_find(root, f[KS_HTTP_JF_HOST]));
    r->user_agent = json_str(json_find(root, f[KS_HTTP_JF_USER_AGENT]));
    r->referer = json_str(json_find(root, f[KS_HTTP_JF_REFERER]));
    r->xff = json_str(json_find(root, f[KS_HTTP_JF_XFF]));
    r->cookie = json_str(json_find(root, f[KS_HTTP_JF_COOKIE]));
    r->content_type = json_str(json_find(root, f[KS_HTTP_JF_CONTENT_TYPE]));
    r->body = json_str(json_find(root, f[KS_HTTP_JF_BODY]));
    if (!r->method.len && !r->target.len)
        return bad_line(l, loc, "JSON line without a request or URI field");
    return KS_OK;
}

int ks_http_log_parse(struct ks_http_log *l, const uint8_t *line, size_t len,
                      const struct ks_loc *loc, struct ks_http_request *req)
{
    memset(req, 0, sizeof *req);
    req->bytes = -1;
    l->st.lines++;
    int rc = l->cfg.format == KS_HTTP_LOG_JSON ? parse_json(l, line, len, loc, req)
                                               : parse_format(l, line, len, loc, req);
    if (rc == KS_OK)
        l->st.parsed++;
    return rc;
}
