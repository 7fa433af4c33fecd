/* HTTP/1.x requests from the client side of reassembled TCP connections (RFC 9112):
 * ks_http_capture. The bytes of a request in progress (header, then the body as decoded from
 * its framing, up to max_body) are held in a chain of reassembly buffers, charged to the
 * connection's share of the memory budget; a complete request is copied into one scratch
 * buffer, parsed and handed out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kansoku/ks_http.h"
#include "tcp.h"

enum hstate {
    H_IDLE = 0, /* between requests */
    H_METHOD,   /* in the method token */
    H_HEAD,     /* in the request line or the header fields */
    H_BODY,     /* Content-Length body */
    H_CSIZE,    /* chunk size */
    H_CEXT,     /* chunk extension, up to LF */
    H_CSIZE_LF, /* LF after the chunk size line's CR */
    H_CDATA,    /* chunk data */
    H_CEND,     /* CRLF after chunk data */
    H_CEND_LF,
    H_TRAILER, /* trailer section after the last chunk */
    H_SYNC,    /* looking for the start of a line to try again */
    H_DEAD,    /* not HTTP: ignored */
};

#define MAX_METHOD 24

struct hreq {
    uint32_t head, tail; /* chain of pool buffers holding the request so far */
    uint32_t stored;     /* bytes in the chain */
    uint32_t hlen;       /* header bytes (once the header is complete) */
    uint32_t line;       /* bytes of the current line (header, chunk extension, trailer) */
    uint32_t trailer;
    uint32_t anomalies;
    uint32_t conflicts_seen;
    uint64_t remaining; /* body or chunk bytes still to come */
    uint64_t chunk;     /* chunk size being read */
    int64_t ts_us;
    uint64_t packet, offset; /* of the request's first byte */
    uint8_t state;
    uint8_t mlen;
    uint8_t digits;
    bool last_cr;
    bool any; /* a request was seen on this connection */
};

struct head_info {
    uint64_t cl;
    bool has_cl, has_te, chunked;
};

struct ks_http_capture {
    struct ks_http_capture_config cfg;
    struct tcp_reasm *tcp;
    uint8_t *scratch;
    size_t scap;
    struct ks_http_capture_stats st; /* the HTTP part */
    uint32_t reported;
    const char *source;
    char client[KS_ADDR_STRLEN];
};

static const char *const anomaly_names[KS_HTTP_A_COUNT] = {
    "cl_te",    "cl_cl", "bad_cl",       "bad_te",   "obs_fold", "bad_chunk",   "trunc_body",
    "body_cut", "gap",   "tcp_conflict", "bad_line", "bare_lf",  "double_host", "bad_field"};

const char *ks_http_anomaly_name(uint32_t bit)
{
    for (unsigned i = 0; i < KS_HTTP_A_COUNT; i++)
        if (bit == 1u << i)
            return anomaly_names[i];
    return "";
}

void ks_http_capture_config_default(struct ks_http_capture_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->memory = 256ull << 20;
    cfg->idle_s = 300;
    cfg->max_ooo = 1u << 20;
    cfg->max_header = 32u << 10;
    cfg->max_body = 64u << 10;
}

/* ---- the chain of a request in progress ---- */

static void chain_free(struct ks_http_capture *c, struct tcp_stream *s, struct hreq *h)
{
    /* the chain exists exactly when it holds bytes (the state starts zeroed) */
    uint32_t b = h->stored ? h->head : TCP_NIL;
    while (b != TCP_NIL) {
        uint32_t nx = tcp_buf_meta(c->tcp, b)->next;
        tcp_buf_put(c->tcp, s, b);
        b = nx;
    }
    h->head = h->tail = TCP_NIL;
    h->stored = h->hlen = 0;
}

/* Appends n bytes; false (the bytes are lost, counted) when no buffer can be had. */
static bool chain_add(struct ks_http_capture *c, struct tcp_stream *s, struct hreq *h,
                      const uint8_t *p, size_t n)
{
    while (n) {
        struct tcp_buf *t = h->stored ? tcp_buf_meta(c->tcp, h->tail) : NULL;
        if (!t || t->len == TCP_BUF) {
            uint32_t b = tcp_buf_get(c->tcp, s);
            if (b == TCP_NIL) {
                c->st.dropped_bytes += n;
                h->anomalies |= KS_HTTP_A_GAP;
                return false;
            }
            if (t)
                t->next = b;
            else
                h->head = b;
            h->tail = b;
            t = tcp_buf_meta(c->tcp, b);
        }
        size_t k = TCP_BUF - t->len < n ? TCP_BUF - t->len : n;
        memcpy(tcp_buf_data(c->tcp, h->tail) + t->len, p, k);
        t->len += (uint32_t)k;
        h->stored += (uint32_t)k;
        p += k;
        n -= k;
    }
    return true;
}

static size_t chain_copy(struct ks_http_capture *c, const struct hreq *h)
{
    size_t o = 0;
    for (uint32_t b = h->stored ? h->head : TCP_NIL; b != TCP_NIL && o < c->scap;) {
        const struct tcp_buf *t = tcp_buf_meta(c->tcp, b);
        size_t k = t->len < c->scap - o ? t->len : c->scap - o;
        memcpy(c->scratch + o, tcp_buf_data(c->tcp, b), k);
        o += k;
        b = t->next;
    }
    return o;
}

/* ---- header parsing (RFC 9112 3, 5; RFC 9110 5) ---- */

static bool is_ows(uint8_t ch)
{
    return ch == ' ' || ch == '\t';
}

static struct ks_http_str trim(const uint8_t *p, size_t n)
{
    while (n && is_ows(*p)) {
        p++;
        n--;
    }
    while (n && is_ows(p[n - 1]))
        n--;
    return (struct ks_http_str){p, n};
}

static bool name_is(const uint8_t *p, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp((const char *)p, want, n) == 0;
}

/* Content-Length: a list of decimal numbers that must all be equal (RFC 9110 8.6). */
static void field_cl(struct ks_http_str v, struct head_info *hi, uint32_t *an)
{
    size_t i = 0;
    while (i <= v.len) {
        size_t j = i;
        while (j < v.len && v.p[j] != ',')
            j++;
        struct ks_http_str e = trim(v.p + i, j - i);
        uint64_t x = 0;
        bool ok = e.len > 0 && e.len <= 18;
        for (size_t k = 0; ok && k < e.len; k++) {
            if (e.p[k] < '0' || e.p[k] > '9')
                ok = false;
            else
                x = x * 10 + (uint64_t)(e.p[k] - '0');
        }
        if (!ok)
            *an |= KS_HTTP_A_BAD_CL;
        else if (hi->has_cl && x != hi->cl)
            *an |= KS_HTTP_A_CL_CL;
        else if (!hi->has_cl) {
            hi->has_cl = true;
            hi->cl = x;
        }
        i = j + 1;
    }
}

/* Transfer-Encoding: the final coding decides whether the body is chunked (RFC 9112 6.3). */
static void field_te(struct ks_http_str v, struct head_info *hi)
{
    hi->has_te = true;
    size_t i = v.len;
    while (i && v.p[i - 1] != ',')
        i--;
    struct ks_http_str last = trim(v.p + i, v.len - i);
    hi->chunked = name_is(last.p, last.len, "chunked");
}

static void field(struct ks_http_request *req, struct head_info *hi, uint32_t *an,
                  const uint8_t *name, size_t nlen, struct ks_http_str v)
{
    switch (nlen) {
    case 4:
        if (name_is(name, nlen, "host")) {
            if (req->host.p)
                *an |= KS_HTTP_A_HOST_HOST;
            else
                req->host = v;
        }
        break;
    case 6:
        if (name_is(name, nlen, "cookie") && !req->cookie.p)
            req->cookie = v;
        break;
    case 7:
        if (name_is(name, nlen, "referer") && !req->referer.p)
            req->referer = v;
        break;
    case 10:
        if (name_is(name, nlen, "user-agent") && !req->user_agent.p)
            req->user_agent = v;
        break;
    case 12:
        if (name_is(name, nlen, "content-type") && !req->content_type.p)
            req->content_type = v;
        break;
    case 14:
        if (name_is(name, nlen, "content-length"))
            field_cl(v, hi, an);
        break;
    case 15:
        if (name_is(name, nlen, "x-forwarded-for") && !req->xff.p)
            req->xff = v;
        break;
    case 17:
        if (name_is(name, nlen, "transfer-encoding"))
            field_te(v, hi);
        break;
    default:
        break;
    }
}

static void split_target(struct ks_http_request *req)
{
    struct ks_http_str t = req->target;
    /* absolute-form (RFC 9112 3.2.2): the authority names the host when Host does not */
    size_t skip = 0;
    if (t.len >= 7 && strncasecmp((const char *)t.p, "http://", 7) == 0)
        skip = 7;
    else if (t.len >= 8 && strncasecmp((const char *)t.p, "https://", 8) == 0)
        skip = 8;
    if (skip) {
        size_t e = skip;
        while (e < t.len && t.p[e] != '/' && t.p[e] != '?')
            e++;
        if (!req->host.p)
            req->host = (struct ks_http_str){t.p + skip, e - skip};
        t = (struct ks_http_str){t.p + e, t.len - e};
    }
    const uint8_t *q = t.len ? memchr(t.p, '?', t.len) : NULL;
    if (q) {
        req->path = (struct ks_http_str){t.p, (size_t)(q - t.p)};
        req->query = (struct ks_http_str){q + 1, t.len - (size_t)(q - t.p) - 1};
    } else
        req->path = t;
}

/* Parses the header b[0..n) (request line, fields, the empty line) into req and hi. Folded
 * lines are joined to the field before them with spaces, in place (RFC 9112 5.2). */
static void parse_head(uint8_t *b, size_t n, struct ks_http_request *req, struct head_info *hi,
                       uint32_t *an)
{
    memset(hi, 0, sizeof *hi);
    size_t pos = 0;
    bool first = true;
    const uint8_t *pname = NULL; /* the field waiting for possible folded lines */
    size_t pnlen = 0, pv = 0, pvend = 0;
    while (pos < n) {
        const uint8_t *lf = memchr(b + pos, '\n', n - pos);
        size_t end = lf ? (size_t)(lf - b) : n, next = lf ? end + 1 : n;
        if (end > pos && b[end - 1] == '\r')
            end--;
        else if (lf)
            *an |= KS_HTTP_A_BARE_LF;
        if (first) {
            first = false;
            const uint8_t *l = b + pos;
            size_t len = end - pos;
            const uint8_t *sp = memchr(l, ' ', len);
            size_t m = sp ? (size_t)(sp - l) : len;
            req->method = (struct ks_http_str){l, m};
            size_t last = len;
            while (last > m + 1 && l[last - 1] != ' ')
                last--;
            struct ks_http_str ver = {l + last, len - last};
            if (sp && last > m + 1 && ver.len == 8 && memcmp(ver.p, "HTTP/1.", 7) == 0 &&
                ver.p[7] >= '0' && ver.p[7] <= '9') {
                req->target = (struct ks_http_str){l + m + 1, last - m - 2};
                req->protocol = ver;
            } else {
                *an |= KS_HTTP_A_BAD_LINE;
                if (sp)
                    req->target = (struct ks_http_str){l + m + 1, len - m - 1};
            }
            pos = next;
            continue;
        }
        if (end == pos)
            break; /* the empty line */
        if (is_ows(b[pos])) {
            *an |= KS_HTTP_A_OBS_FOLD;
            if (pname) {
                for (size_t k = pvend; k < pos; k++)
                    b[k] = ' ';
                pvend = end;
            }
            pos = next;
            continue;
        }
        if (pname)
            field(req, hi, an, pname, pnlen, trim(b + pv, pvend - pv));
        pname = NULL;
        const uint8_t *colon = memchr(b + pos, ':', end - pos);
        size_t nlen = colon ? (size_t)(colon - (b + pos)) : 0;
        if (!colon || nlen == 0 || is_ows(b[pos + nlen - 1])) {
            *an |= KS_HTTP_A_BAD_FIELD; /* RFC 9112 5.1: no whitespace before the colon */
            pos = next;
            continue;
        }
        pname = b + pos;
        pnlen = nlen;
        pv = pos + nlen + 1;
        pvend = end;
        pos = next;
    }
    if (pname)
        field(req, hi, an, pname, pnlen, trim(b + pv, pvend - pv));
    if (hi->has_te && (hi->has_cl || (*an & KS_HTTP_A_BAD_CL)))
        *an |= KS_HTTP_A_CL_TE;
    if (hi->has_te && !hi->chunked)
        *an |= KS_HTTP_A_BAD_TE;
    split_target(req);
}

/* ---- handing out a request ---- */

static void deliver(struct ks_http_capture *c, struct tcp_stream *s, struct hreq *h,
                    struct ks_http_request *req)
{
    uint32_t conf = tcp_conflicts(s, 0);
    if (conf != h->conflicts_seen) {
        h->anomalies |= KS_HTTP_A_TCP_CONFLICT;
        h->conflicts_seen = conf;
    }
    struct ks_http_conn conn = *tcp_conn(s);
    conn.packet = h->packet;
    size_t cl = ks_addr_format(&conn.client, c->client, sizeof c->client);
    req->client = (struct ks_http_str){(const uint8_t *)c->client, cl};
    req->time_us = h->ts_us;
    req->status = 0;
    req->bytes = -1;
    req->anomalies = h->anomalies;
    c->st.requests++;
    for (unsigned i = 0; i < KS_HTTP_A_COUNT; i++) {
        if (!(h->anomalies & 1u << i))
            continue;
        c->st.anomalies[i]++;
        if (c->cfg.diag &&
            (1u << i & (KS_HTTP_A_CL_TE | KS_HTTP_A_CL_CL | KS_HTTP_A_BAD_TE | KS_HTTP_A_OBS_FOLD |
                        KS_HTTP_A_BAD_CHUNK | KS_HTTP_A_BAD_FIELD | KS_HTTP_A_BAD_CL))) {
            struct ks_loc loc = {.source = c->source, .packet = h->packet, .offset = h->offset};
            ks_diag_report(c->cfg.diag, &c->reported, "http", &loc, KS_EFORMAT,
                           "request from %s:%u: ambiguous framing (%s)", c->client,
                           conn.client_port, anomaly_names[i]);
        }
    }
    h->any = true;
    c->cfg.on_request(c->cfg.user, req, &conn);
}

/* The request is complete (or as complete as it will be): parse the held bytes, hand it out,
 * release them. */
static void finish(struct ks_http_capture *c, struct tcp_stream *s, struct hreq *h)
{
    size_t n = chain_copy(c, h);
    size_t hl = h->hlen <= n ? h->hlen : n;
    struct ks_http_request req;
    struct head_info hi;
    memset(&req, 0, sizeof req);
    uint32_t an = 0;
    parse_head(c->scratch, hl, &req, &hi, &an);
    req.body = (struct ks_http_str){c->scratch + hl, n - hl};
    deliver(c, s, h, &req);
    chain_free(c, s, h);
    h->anomalies = 0;
}

/* ---- the state machine over the client's bytes ---- */

static bool is_mchar(uint8_t ch)
{
    return (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_';
}

/* The bytes do not start a request: a connection that began with them is not HTTP. */
static void not_request(struct ks_http_capture *c, struct tcp_stream *s, struct hreq *h)
{
    c->st.resync_bytes += h->stored;
    chain_free(c, s, h);
    if (!h->any && !tcp_conn(s)->midstream) {
        h->state = H_DEAD;
        c->st.non_http++;
        tcp_ignore(c->tcp, s, 0);
    } else
        h->state = H_SYNC;
}

static void start_chunks(struct hreq *h)
{
    h->state = H_CSIZE;
    h->chunk = 0;
    h->digits = 0;
    h->line = 0;
}

static void header_done(struct ks_http_capture *c, struct tcp_stream *s, struct hreq *h)
{
    h->hlen = h->stored;
    size_t n = chain_copy(c, h);
    struct ks_http_request req;
    struct head_info hi;
    memset(&req, 0, sizeof req);
    uint32_t an = 0;
    parse_head(c->scratch, n, &req, &hi, &an);
    h->anomalies |= an;
    if (hi.has_te && hi.chunked) {
        start_chunks(h);
        return;
    }
    enum hstate after = H_IDLE;
    if (hi.has_te || (an & KS_HTTP_A_BAD_CL))
        after = H_SYNC; /* a body of unknown length: look for the next request line */
    else if (hi.has_cl && hi.cl > 0) {
        h->remaining = hi.cl;
        h->state = H_BODY;
        return;
    }
    deliver(c, s, h, &req);
    chain_free(c, s, h);
    h->anomalies = 0;
    h->state = (uint8_t)after;
}

/* Body bytes: kept up to max_body, the rest only counted. */
static void body_bytes(struct ks_http_capture *c, struct tcp_stream *s, struct hreq *h,
                       const uint8_t *p, size_t n)
{
    size_t kept = h->stored - h->hlen;
    size_t room = c->cfg.max_body > kept ? c->cfg.max_body - kept : 0;
    if (n > room)
        h->anomalies |= KS_HTTP_A_BODY_CUT;
    chain_add(c, s, h, p, n < room ? n : room);
}

static void bad_chunk(struct ks_http_capture *c, struct tcp_stream *s, struct hreq *h)
{
    h->anomalies |= KS_HTTP_A_BAD_CHUNK;
    finish(c, s, h);
    h->state = H_SYNC;
}

static void on_data(void *user, struct tcp_stream *s, int dir, const uint8_t *p, size_t n)
{
    struct ks_http_capture *c = user;
    struct hreq *h = tcp_user(s);
    if (dir != 0)
        return;
    while (n) {
        switch (h->state) {
        case H_DEAD:
            return;
        case H_SYNC: {
            const uint8_t *lf = memchr(p, '\n', n);
            size_t k = lf ? (size_t)(lf - p) + 1 : n;
            c->st.resync_bytes += k;
            p += k;
            n -= k;
            if (lf)
                h->state = H_IDLE;
            break;
        }
        case H_IDLE: {
            /* RFC 9112 2.2: empty lines before a request line are ignored */
            while (n && (*p == '\r' || *p == '\n')) {
                p++;
                n--;
            }
            if (!n)
                return;
            struct ks_loc where = {0};
            tcp_where(c->tcp, s, &h->ts_us, &where);
            h->packet = where.packet;
            h->offset = where.offset;
            h->anomalies = 0;
            h->mlen = 0;
            h->line = 0;
            h->last_cr = false;
            h->state = H_METHOD;
            break;
        }
        case H_METHOD: {
            size_t i = 0;
            while (i < n && is_mchar(p[i]) && h->mlen < MAX_METHOD) {
                i++;
                h->mlen++;
            }
            if (i == n && h->mlen < MAX_METHOD) {
                chain_add(c, s, h, p, n);
                return;
            }
            if (p[i] != ' ' || h->mlen == 0 || h->mlen >= MAX_METHOD) {
                not_request(c, s, h);
                break;
            }
            chain_add(c, s, h, p, i + 1);
            h->line = h->mlen + 1u;
            h->state = H_HEAD;
            p += i + 1;
            n -= i + 1;
            break;
        }
        case H_HEAD: {
            const uint8_t *lf = memchr(p, '\n', n);
            size_t k = lf ? (size_t)(lf - p) + 1 : n;
            if ((uint64_t)h->stored + k > c->cfg.max_header) {
                c->st.header_too_long++;
                chain_free(c, s, h);
                h->state = H_SYNC;
                break;
            }
            chain_add(c, s, h, p, k);
            if (!lf) {
                h->line += (uint32_t)k;
                h->last_cr = p[k - 1] == '\r';
                return;
            }
            bool cr = k >= 2 ? p[k - 2] == '\r' : h->last_cr;
            size_t content = h->line + k - 1 - (cr ? 1 : 0);
            h->line = 0;
            h->last_cr = false;
            p += k;
            n -= k;
            if (content == 0)
                header_done(c, s, h);
            break;
        }
        case H_BODY: {
            size_t k = n < h->remaining ? n : (size_t)h->remaining;
            body_bytes(c, s, h, p, k);
            h->remaining -= k;
            p += k;
            n -= k;
            if (!h->remaining) {
                finish(c, s, h);
                h->state = H_IDLE;
            }
            break;
        }
        case H_CSIZE: {
            uint8_t ch = *p;
            int v = ch >= '0' && ch <= '9'   ? ch - '0'
                    : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                    : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                             : -1;
            if (v >= 0) {
                if (++h->digits > 15) {
                    bad_chunk(c, s, h);
                    break;
                }
                h->chunk = h->chunk * 16 + (uint64_t)v;
                p++;
                n--;
                break;
            }
            if (h->digits == 0 || (ch != ';' && ch != '\r' && ch != '\n' && !is_ows(ch))) {
                bad_chunk(c, s, h);
                break;
            }
            p++;
            n--;
            h->state = ch == '\r' ? H_CSIZE_LF : ch == '\n' ? H_CDATA : H_CEXT;
            if (ch == '\n')
                h->anomalies |= KS_HTTP_A_BARE_LF;
            h->line = 0;
            goto size_done;
        }
        case H_CEXT: {
            const uint8_t *lf = memchr(p, '\n', n);
            size_t k = lf ? (size_t)(lf - p) + 1 : n;
            h->line += (uint32_t)k;
            p += k;
            n -= k;
            if (h->line > c->cfg.max_header) {
                bad_chunk(c, s, h);
                break;
            }
            if (lf)
                h->state = H_CDATA;
            goto size_done;
        }
        case H_CSIZE_LF:
            if (*p != '\n') {
                bad_chunk(c, s, h);
                break;
            }
            p++;
            n--;
            h->state = H_CDATA;
        size_done:
            if (h->state == H_CDATA) {
                if (h->chunk == 0) {
                    h->state = H_TRAILER;
                    h->line = 0;
                    h->trailer = 0;
                    h->last_cr = false;
                } else
                    h->remaining = h->chunk;
            }
            break;
        case H_CDATA: {
            size_t k = n < h->remaining ? n : (size_t)h->remaining;
            body_bytes(c, s, h, p, k);
            h->remaining -= k;
            p += k;
            n -= k;
            if (!h->remaining)
                h->state = H_CEND;
            break;
        }
        case H_CEND:
            if (*p == '\n') {
                h->anomalies |= KS_HTTP_A_BARE_LF;
                start_chunks(h);
            } else if (*p == '\r')
                h->state = H_CEND_LF;
            else {
                bad_chunk(c, s, h);
                break;
            }
            p++;
            n--;
            break;
        case H_CEND_LF:
            if (*p != '\n') {
                bad_chunk(c, s, h);
                break;
            }
            p++;
            n--;
            start_chunks(h);
            break;
        case H_TRAILER: {
            const uint8_t *lf = memchr(p, '\n', n);
            size_t k = lf ? (size_t)(lf - p) + 1 : n;
            h->trailer += (uint32_t)k;
            if (!lf) {
                h->line += (uint32_t)k;
                h->last_cr = p[k - 1] == '\r';
            }
            bool cr = lf && (k >= 2 ? p[k - 2] == '\r' : h->line && h->last_cr);
            size_t content = lf ? h->line + k - 1 - (cr ? 1 : 0) : 1;
            if (lf) {
                h->line = 0;
                h->last_cr = false;
            }
            p += k;
            n -= k;
            if (lf && content == 0) {
                finish(c, s, h);
                h->state = H_IDLE;
            } else if (h->trailer > c->cfg.max_header)
                bad_chunk(c, s, h);
            break;
        }
        default:
            return;
        }
    }
}

static void on_gap(void *user, struct tcp_stream *s, int dir, uint32_t lost)
{
    struct ks_http_capture *c = user;
    struct hreq *h = tcp_user(s);
    if (dir != 0)
        return;
    switch (h->state) {
    case H_DEAD:
    case H_SYNC:
        return;
    case H_IDLE:
        h->state = H_SYNC;
        return;
    case H_METHOD:
    case H_HEAD:
        c->st.resync_bytes += h->stored;
        chain_free(c, s, h);
        h->state = H_SYNC;
        return;
    case H_BODY:
        h->anomalies |= KS_HTTP_A_GAP;
        if (lost < h->remaining) {
            h->remaining -= lost;
            return;
        }
        finish(c, s, h);
        h->state = lost == h->remaining ? H_IDLE : H_SYNC;
        return;
    default:
        h->anomalies |= KS_HTTP_A_GAP;
        finish(c, s, h);
        h->state = H_SYNC;
        return;
    }
}

static void on_end(void *user, struct tcp_stream *s, enum tcp_end why)
{
    struct ks_http_capture *c = user;
    struct hreq *h = tcp_user(s);
    (void)why;
    switch (h->state) {
    case H_METHOD:
    case H_HEAD:
        c->st.trunc_header++;
        break;
    case H_BODY:
        h->anomalies |= KS_HTTP_A_TRUNC_BODY;
        c->st.trunc_body++;
        finish(c, s, h);
        break;
    case H_CSIZE:
    case H_CEXT:
    case H_CSIZE_LF:
    case H_CDATA:
    case H_CEND:
    case H_CEND_LF:
        h->anomalies |= KS_HTTP_A_TRUNC_BODY;
        c->st.trunc_chunked++;
        finish(c, s, h);
        break;
    case H_TRAILER:
        finish(c, s, h);
        break;
    default:
        break;
    }
    chain_free(c, s, h);
    h->state = H_DEAD;
}

int ks_http_capture_new(const struct ks_http_capture_config *cfg, struct ks_http_capture **cp)
{
    *cp = NULL;
    if (!cfg->on_request || cfg->memory < (1u << 20))
        return KS_EINVAL;
    struct ks_http_capture *c = calloc(1, sizeof *c);
    if (!c)
        return KS_ENOMEM;
    c->cfg = *cfg;
    if (!c->cfg.max_header)
        c->cfg.max_header = 32u << 10;
    if (!c->cfg.max_body)
        c->cfg.max_body = 64u << 10;
    c->scap = (size_t)c->cfg.max_header + c->cfg.max_body;
    struct tcp_config tc = {
        .memory = cfg->memory,
        .reserve = c->scap + sizeof *c,
        .max_streams = cfg->max_streams,
        .idle_s = cfg->idle_s,
        .max_ooo = cfg->max_ooo,
        .user_size = sizeof(struct hreq),
        .dirs = 1,
        .seed = cfg->seed,
        .diag = cfg->diag,
        .ops = {.data = on_data, .gap = on_gap, .end = on_end},
        .user = c,
    };
    if (c->scap > cfg->memory / 4) {
        free(c);
        return KS_EINVAL;
    }
    int e = tcp_new(&tc, &c->tcp);
    if (e == KS_OK && !(c->scratch = malloc(c->scap)))
        e = KS_ENOMEM;
    if (e) {
        ks_http_capture_free(c);
        return e;
    }
    *cp = c;
    return KS_OK;
}

void ks_http_capture_free(struct ks_http_capture *c)
{
    if (!c)
        return;
    tcp_free(c->tcp);
    free(c->scratch);
    free(c);
}

int ks_http_capture_feed(struct ks_http_capture *c, const struct ks_pkt *p)
{
    return tcp_feed(c->tcp, p);
}

void ks_http_capture_source(struct ks_http_capture *c, const char *name)
{
    c->source = name;
    tcp_source(c->tcp, name);
}

void ks_http_capture_tick(struct ks_http_capture *c, int64_t now_us)
{
    tcp_tick(c->tcp, now_us);
}

void ks_http_capture_flush(struct ks_http_capture *c)
{
    tcp_flush(c->tcp);
}

void ks_http_capture_stats(const struct ks_http_capture *c, struct ks_http_capture_stats *st)
{
    *st = c->st;
    uint64_t dropped = c->st.dropped_bytes;
    tcp_stats(c->tcp, st);
    st->dropped_bytes += dropped;
}
