/* A request decomposed into its parameters, each decoded as servers decode it (ks_sqli_decode)
 * with its original kept: path segments, query string, form/multipart/JSON bodies, cookies,
 * and the headers User-Agent, Referer and X-Forwarded-For. No allocation per request except
 * jansson's for JSON bodies. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_http.h"
#include "kansoku/ks_sqli.h"

#define NAME_CAP 256
#define JSON_DEPTH 16

struct ks_http_params {
    uint32_t max_value, max_params;
    uint8_t *val;
    uint8_t name[NAME_CAP];
    char jname[NAME_CAP]; /* the key path while walking a JSON body */
    struct ks_http_params_stats st;
    /* per request */
    uint32_t count;
    int (*fn)(void *user, const struct ks_http_param *p);
    void *user;
};

int ks_http_params_new(uint32_t max_value, uint32_t max_params, struct ks_http_params **pp)
{
    *pp = NULL;
    struct ks_http_params *d = calloc(1, sizeof *d);
    if (!d)
        return KS_ENOMEM;
    d->max_value = max_value ? max_value : 65536;
    d->max_params = max_params ? max_params : 256;
    if (!(d->val = malloc(d->max_value))) {
        free(d);
        return KS_ENOMEM;
    }
    *pp = d;
    return KS_OK;
}

void ks_http_params_free(struct ks_http_params *d)
{
    if (!d)
        return;
    free(d->val);
    free(d);
}

void ks_http_params_stats(const struct ks_http_params *d, struct ks_http_params_stats *st)
{
    *st = d->st;
}

static void count_decode(struct ks_http_params *d, const struct ks_sqli_decode_stats *ds)
{
    d->st.invalid_pct += ds->invalid_pct;
    d->st.overlong += ds->overlong;
    d->st.nul += ds->nul;
    if (ds->passes > 1)
        d->st.double_enc++;
}

/* Hands one parameter to the caller. name is given raw (decoded here with flags) or, with
 * name_ready, already in d->name. decode = false keeps the value as it is (multipart, JSON). */
static int emit(struct ks_http_params *d, enum ks_http_part part, const uint8_t *name, size_t nlen,
                bool name_ready, const uint8_t *v, size_t vlen, unsigned flags, bool decode,
                bool binary)
{
    if (d->count >= d->max_params) {
        d->st.too_many++;
        return 0;
    }
    d->count++;
    d->st.params++;
    struct ks_sqli_decode_stats ds = {0};
    struct ks_http_param p = {.part = part, .binary = binary};
    if (name_ready) {
        p.name = (struct ks_http_str){d->name, nlen};
    } else {
        size_t n = nlen < NAME_CAP ? nlen : NAME_CAP;
        p.name.p = d->name;
        p.name.len = ks_sqli_decode(name, n, d->name, NAME_CAP, flags & ~KS_SQLI_DEC_MULTI, NULL);
    }
    size_t n = vlen < d->max_value ? vlen : d->max_value;
    p.original = (struct ks_http_str){v, vlen};
    if (decode) {
        p.value.p = d->val;
        p.value.len = ks_sqli_decode(v, n, d->val, d->max_value, flags, &ds);
        count_decode(d, &ds);
    } else {
        p.value = (struct ks_http_str){v, n};
    }
    return d->fn(d->user, &p);
}

/* name=value pairs separated by sep ('&' for query strings and forms, ';' for cookies). */
static int pairs(struct ks_http_params *d, enum ks_http_part part, const uint8_t *s, size_t n,
                 uint8_t sep, unsigned flags)
{
    size_t i = 0;
    while (i < n) {
        const uint8_t *e = memchr(s + i, sep, n - i);
        size_t end = e ? (size_t)(e - s) : n;
        size_t a = i;
        while (sep == ';' && a < end && s[a] == ' ')
            a++;
        if (end > a) {
            const uint8_t *eq = memchr(s + a, '=', end - a);
            size_t ne = eq ? (size_t)(eq - s) : end;
            size_t vs = eq ? ne + 1 : end;
            int rc;
            if (!eq) /* "?1'+or+1=1" has no name: the whole pair is the value */
                rc = emit(d, part, (const uint8_t *)"", 0, false, s + a, end - a, flags, true,
                          false);
            else
                rc = emit(d, part, s + a, ne - a, false, s + vs, end - vs, flags, true, false);
            if (rc)
                return rc;
        }
        i = end + 1;
    }
    return 0;
}

static int path_segments(struct ks_http_params *d, const struct ks_http_str *path)
{
    const uint8_t *s = path->p;
    size_t n = path->len, i = 0;
    unsigned seg = 0;
    while (i < n) {
        const uint8_t *e = memchr(s + i, '/', n - i);
        size_t end = e ? (size_t)(e - s) : n;
        if (end > i) {
            int nl = snprintf((char *)d->name, NAME_CAP, "path[%u]", seg);
            int rc = emit(d, KS_HTTP_PART_PATH, NULL, (size_t)nl, true, s + i, end - i,
                          KS_SQLI_DEC_MULTI, true, false);
            if (rc)
                return rc;
            seg++;
        }
        i = end + 1;
    }
    return 0;
}

/* Case-insensitive search of a short ASCII needle. */
static const uint8_t *find_ci(const uint8_t *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++) {
        size_t j = 0;
        while (j < k && (s[i + j] | 0x20) == (uint8_t)needle[j])
            j++;
        if (j == k)
            return s + i;
    }
    return NULL;
}

static const uint8_t *find(const uint8_t *s, size_t n, const uint8_t *needle, size_t k)
{
    if (!k || k > n)
        return NULL;
    for (const uint8_t *p = s; (p = memchr(p, needle[0], n - (size_t)(p - s) - k + 1));) {
        if (memcmp(p, needle, k) == 0)
            return p;
        if ((size_t)(++p - s) > n - k)
            break;
    }
    return NULL;
}

/* A parameter of a header line: name="value" or name=value (RFC 7578 4.2, RFC 2046 5.1.1). */
static bool header_param(const uint8_t *h, size_t n, const char *key, const uint8_t **v, size_t *vn)
{
    const uint8_t *p = find_ci(h, n, key);
    if (!p)
        return false;
    p += strlen(key);
    size_t left = n - (size_t)(p - h);
    if (left && *p == '"') {
        const uint8_t *e = memchr(p + 1, '"', left - 1);
        if (!e)
            return false;
        *v = p + 1;
        *vn = (size_t)(e - p - 1);
        return true;
    }
    size_t k = 0;
    while (k < left && p[k] != ';' && p[k] != ' ' && p[k] != '\r' && p[k] != '\n')
        k++;
    *v = p;
    *vn = k;
    return k > 0;
}

/* multipart/form-data (RFC 7578): each part's name from Content-Disposition; values kept as
 * they are (servers do not percent-decode them); parts with a filename are marked binary. */
static int multipart(struct ks_http_params *d, const struct ks_http_request *r)
{
    const uint8_t *b;
    size_t bn;
    if (!header_param(r->content_type.p, r->content_type.len, "boundary=", &b, &bn) || bn > 70) {
        d->st.bad_multipart++;
        return 0;
    }
    uint8_t delim[80];
    delim[0] = delim[1] = '-';
    memcpy(delim + 2, b, bn);
    size_t dn = bn + 2;
    const uint8_t *s = r->body.p;
    size_t n = r->body.len;
    const uint8_t *p = find(s, n, delim, dn);
    if (!p) {
        d->st.bad_multipart++;
        return 0;
    }
    for (;;) {
        p += dn;
        size_t left = n - (size_t)(p - s);
        if (left >= 2 && p[0] == '-' && p[1] == '-')
            return 0; /* the closing delimiter */
        const uint8_t *hend = find(p, left, (const uint8_t *)"\r\n\r\n", 4);
        size_t hskip = 4;
        if (!hend) {
            hend = find(p, left, (const uint8_t *)"\n\n", 2);
            hskip = 2;
        }
        if (!hend) {
            d->st.bad_multipart++;
            return 0;
        }
        size_t hn = (size_t)(hend - p);
        const uint8_t *body = hend + hskip;
        size_t bleft = n - (size_t)(body - s);
        const uint8_t *next = find(body, bleft, delim, dn);
        size_t vlen = next ? (size_t)(next - body) : bleft;
        if (vlen >= 2 && body[vlen - 2] == '\r' && body[vlen - 1] == '\n')
            vlen -= 2;
        else if (vlen >= 1 && body[vlen - 1] == '\n')
            vlen -= 1;
        const uint8_t *nm = NULL, *fnm = NULL;
        size_t nml = 0, fnl = 0;
        (void)header_param(p, hn, "name=", &nm, &nml);
        bool file = header_param(p, hn, "filename=", &fnm, &fnl);
        /* "filename=" also contains "name=": take the name that is not part of it */
        if (nm && fnm && nm == fnm) {
            const uint8_t *q = find_ci(p, (size_t)(fnm - p), "; name=");
            nml = 0;
            if (q)
                (void)header_param(q, hn - (size_t)(q - p), "name=", &nm, &nml);
        }
        int rc = emit(d, KS_HTTP_PART_BODY, nm ? nm : (const uint8_t *)"", nm ? nml : 0, false,
                      body, vlen, 0, false, file);
        if (rc || !next)
            return rc;
        p = next;
    }
}

static int json_walk(struct ks_http_params *d, json_t *v, size_t nlen, int depth)
{
    if (depth > JSON_DEPTH)
        return 0;
    if (json_is_string(v)) {
        memcpy(d->name, d->jname, nlen);
        return emit(d, KS_HTTP_PART_BODY, NULL, nlen, true, (const uint8_t *)json_string_value(v),
                    json_string_length(v), 0, false, false);
    }
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c)
        {
            int w = snprintf(d->jname + nlen, NAME_CAP - nlen, "%s%s", nlen ? "." : "", k);
            size_t nn = nlen + (w < 0 ? 0 : (size_t)w);
            if (nn >= NAME_CAP)
                nn = NAME_CAP - 1;
            int rc = json_walk(d, c, nn, depth + 1);
            d->jname[nlen] = '\0';
            if (rc)
                return rc;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            int w = snprintf(d->jname + nlen, NAME_CAP - nlen, "[%zu]", i);
            size_t nn = nlen + (w < 0 ? 0 : (size_t)w);
            if (nn >= NAME_CAP)
                nn = NAME_CAP - 1;
            int rc = json_walk(d, c, nn, depth + 1);
            d->jname[nlen] = '\0';
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int json_body(struct ks_http_params *d, const struct ks_http_request *r)
{
    json_error_t err;
    json_t *root = json_loadb((const char *)r->body.p, r->body.len, 0, &err);
    if (!root) {
        d->st.bad_json++;
        return emit(d, KS_HTTP_PART_BODY, (const uint8_t *)"body", 4, false, r->body.p, r->body.len,
                    0, false, false);
    }
    d->jname[0] = '\0';
    int rc = json_walk(d, root, 0, 0);
    json_decref(root);
    return rc;
}

static int body(struct ks_http_params *d, const struct ks_http_request *r)
{
    const struct ks_http_str *ct = &r->content_type;
    const uint8_t *b = r->body.p;
    size_t n = r->body.len;
    if (ct->len && find_ci(ct->p, ct->len, "multipart/form-data"))
        return multipart(d, r);
    size_t i = 0;
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
        i++;
    if ((ct->len && find_ci(ct->p, ct->len, "json")) ||
        (!ct->len && i < n && (b[i] == '{' || b[i] == '[')))
        return json_body(d, r);
    if ((ct->len && find_ci(ct->p, ct->len, "x-www-form-urlencoded")) ||
        (!ct->len && memchr(b, '=', n)))
        return pairs(d, KS_HTTP_PART_BODY, b, n, '&', KS_SQLI_DEC_PLUS | KS_SQLI_DEC_MULTI);
    return emit(d, KS_HTTP_PART_BODY, (const uint8_t *)"body", 4, false, b, n, 0, false, false);
}

int ks_http_params_each(struct ks_http_params *d, const struct ks_http_request *req,
                        int (*fn)(void *user, const struct ks_http_param *p), void *user)
{
    d->count = 0;
    d->fn = fn;
    d->user = user;
    int rc = 0;
    if (req->path.len && (rc = path_segments(d, &req->path)))
        return rc;
    if (req->query.len && (rc = pairs(d, KS_HTTP_PART_QUERY, req->query.p, req->query.len, '&',
                                      KS_SQLI_DEC_PLUS | KS_SQLI_DEC_MULTI)))
        return rc;
    if (req->body.len && (rc = body(d, req)))
        return rc;
    if (req->cookie.len && (rc = pairs(d, KS_HTTP_PART_COOKIE, req->cookie.p, req->cookie.len, ';',
                                       KS_SQLI_DEC_MULTI)))
        return rc;
    static const struct {
        const char *name;
        size_t off;
    } hdr[] = {
        {"user-agent", offsetof(struct ks_http_request, user_agent)},
        {"referer", offsetof(struct ks_http_request, referer)},
        {"x-forwarded-for", offsetof(struct ks_http_request, xff)},
    };
    for (size_t i = 0; i < sizeof hdr / sizeof hdr[0]; i++) {
        const struct ks_http_str *h = (const struct ks_http_str *)((const char *)req + hdr[i].off);
        if (h->len &&
            (rc = emit(d, KS_HTTP_PART_HEADER, (const uint8_t *)hdr[i].name, strlen(hdr[i].name),
                       false, h->p, h->len, KS_SQLI_DEC_MULTI, true, false)))
            return rc;
    }
    return 0;
}
