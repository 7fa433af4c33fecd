/* kansoku http: HTTP requests from web server logs, decomposed into decoded parameters.
 *
 * Log lines (Apache/nginx combined and common, any Apache LogFormat string, JSON lines with
 * configurable field names) become a struct ks_http_request; ks_http_params then walks every
 * parameter of a request: path segments, query-string and form-body pairs, multipart parts,
 * JSON body leaves, cookies and the selected headers (User-Agent, Referer, X-Forwarded-For),
 * each with its value decoded as servers decode it (ks_sqli_decode) and its original text.
 *
 * Lines are read by ks_http_reader, which bounds their length: a longer line is counted,
 * reported with file:line and skipped (or truncated, if asked). Binary garbage (NUL or other
 * control bytes) is counted and skipped. Nothing here is fatal on bad input.
 *
 * Thread-safety: each handle is used by one thread at a time; make one per thread. Strings in
 * a request or parameter are borrowed (from the line or the handle's scratch) and valid until
 * the next call on the same handle. */
#ifndef KS_HTTP_H
#define KS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kansoku/ks_capture.h"
#include "kansoku/ks_core.h"
#include "kansoku/ks_ip.h"

/* Bytes and a length; never NUL-terminated; len 0 when absent. */
struct ks_http_str {
    const uint8_t *p;
    size_t len;
};

/* One request as a log line (or a capture) tells it. */
struct ks_http_request {
    int64_t time_us;                   /* UTC; 0 if the line had none or it did not parse */
    struct ks_http_str client, user;   /* %h / remote_addr, %u */
    struct ks_http_str method, target; /* target: the request-target as sent (path?query) */
    struct ks_http_str path, query;    /* target split at the first '?' (query without it) */
    struct ks_http_str protocol;       /* "HTTP/1.1" */
    struct ks_http_str host;           /* Host header or %v/%V server name */
    struct ks_http_str user_agent, referer, xff, cookie;
    struct ks_http_str content_type, body; /* from captures or JSON logs that carry them */
    int status;                            /* 0 if unknown */
    int64_t bytes;                         /* response bytes, -1 if unknown ('-') */
    uint32_t anomalies;                    /* KS_HTTP_A_* (captures; 0 for log lines) */
};

/* ---- bounded line reader ---- */

struct ks_http_reader_stats {
    uint64_t lines;      /* lines handed out (long ones included when truncated) */
    uint64_t bytes;      /* bytes read */
    uint64_t long_lines; /* lines longer than max_line */
    uint64_t binary;     /* lines with NUL or other control bytes, skipped */
    uint64_t empty;      /* empty lines, skipped */
};

struct ks_http_reader;

/* Opens path ("-" = stdin) for reading lines of at most max_line bytes (0: 1 MiB);
 * truncate: hand out the first max_line bytes of a longer line instead of skipping it.
 * diag (may be NULL) gets the first long and binary lines with their location. KS_EIO (see
 * errno), KS_ENOMEM. */
KS_API int ks_http_reader_open(const char *path, uint32_t max_line, bool truncate,
                               const struct ks_diag *diag, struct ks_http_reader **rp);
/* The next line (without "\n" or "\r\n") and its location (loc->line, loc->offset). Returns 1,
 * 0 at the end, KS_EIO on a read error. The line is valid until the next call. */
KS_API int ks_http_reader_next(struct ks_http_reader *r, const uint8_t **line, size_t *len,
                               struct ks_loc *loc);
KS_API void ks_http_reader_stats(const struct ks_http_reader *r, struct ks_http_reader_stats *st);
KS_API void ks_http_reader_free(struct ks_http_reader *r); /* closes; NULL is fine */

/* ---- log line parsing ---- */

enum ks_http_log_format {
    KS_HTTP_LOG_COMBINED = 0, /* %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" */
    KS_HTTP_LOG_COMMON,       /* %h %l %u %t "%r" %>s %b */
    KS_HTTP_LOG_JSON,         /* one JSON object per line, field names in json_fields */
    KS_HTTP_LOG_CUSTOM,       /* an Apache LogFormat string in logformat */
};

/* Logical fields of a JSON log line; each names its JSON keys (comma-separated candidates;
 * the first present wins; a dotted name "a.b" descends into objects). */
enum ks_http_json_field {
    KS_HTTP_JF_TIME = 0, /* RFC 3339 text, [dd/Mon/yyyy:hh:mm:ss +zzzz], or Unix seconds */
    KS_HTTP_JF_CLIENT,
    KS_HTTP_JF_REQUEST, /* a whole request line "GET /x?y HTTP/1.1" */
    KS_HTTP_JF_METHOD,
    KS_HTTP_JF_URI, /* path with or without ?query */
    KS_HTTP_JF_QUERY,
    KS_HTTP_JF_STATUS,
    KS_HTTP_JF_BYTES,
    KS_HTTP_JF_HOST,
    KS_HTTP_JF_USER_AGENT,
    KS_HTTP_JF_REFERER,
    KS_HTTP_JF_XFF,
    KS_HTTP_JF_COOKIE,
    KS_HTTP_JF_CONTENT_TYPE,
    KS_HTTP_JF_BODY,
    KS_HTTP_JF_COUNT
};

struct ks_http_log_config {
    enum ks_http_log_format format;
    const char *logformat;                     /* KS_HTTP_LOG_CUSTOM */
    const char *json_fields[KS_HTTP_JF_COUNT]; /* NULL = the default names (README) */
    struct ks_diag *diag;                      /* the first bad lines; may be NULL */
};

struct ks_http_log_stats {
    uint64_t lines;  /* lines given to ks_http_log_parse */
    uint64_t parsed; /* requests produced */
    uint64_t bad;    /* lines that did not match the format (skipped) */
    uint64_t bad_time;
};

struct ks_http_log;

KS_API void ks_http_log_config_default(struct ks_http_log_config *cfg);
/* Names of the formats: "combined", "common", "json", anything else is a LogFormat string. */
KS_API int ks_http_log_config_format(struct ks_http_log_config *cfg, const char *name);
/* Compiles the format. KS_EFORMAT (bad LogFormat string; reported through cfg->diag),
 * KS_ENOMEM. */
KS_API int ks_http_log_new(const struct ks_http_log_config *cfg, struct ks_http_log **lp);
/* Parses one line into req. KS_OK, or KS_EFORMAT (the line is counted as bad and reported
 * with loc, which may be NULL). req's strings point into line (or, for JSON, into the
 * handle). */
KS_API int ks_http_log_parse(struct ks_http_log *l, const uint8_t *line, size_t len,
                             const struct ks_loc *loc, struct ks_http_request *req);
KS_API void ks_http_log_stats(const struct ks_http_log *l, struct ks_http_log_stats *st);
KS_API void ks_http_log_free(struct ks_http_log *l);

/* ---- decomposition into parameters ---- */

enum ks_http_part {
    KS_HTTP_PART_QUERY = 1, /* same numbering as enum ks_sqli_field */
    KS_HTTP_PART_BODY = 2,
    KS_HTTP_PART_PATH = 3,
    KS_HTTP_PART_COOKIE = 4,
    KS_HTTP_PART_HEADER = 5,
};

struct ks_http_param {
    enum ks_http_part part;
    struct ks_http_str name;     /* decoded name: "id", "path[2]", "user-agent", "a.b[0]" */
    struct ks_http_str value;    /* decoded value */
    struct ks_http_str original; /* as in the request */
    bool binary;                 /* a multipart file part: value is the raw content */
};

struct ks_http_params_stats {
    uint64_t params;
    uint64_t invalid_pct;   /* '%' without two hex digits (kept literally) */
    uint64_t double_enc;    /* values decoded more than once */
    uint64_t overlong;      /* overlong UTF-8 folded */
    uint64_t nul;           /* NUL bytes dropped */
    uint64_t bad_multipart; /* multipart bodies without a usable boundary or part header */
    uint64_t bad_json;      /* JSON bodies that did not parse */
    uint64_t too_many;      /* parameters beyond max_params (not handed out) */
};

struct ks_http_params;

/* max_value: bytes of a value decoded (longer ones are cut; 0: 64 KiB); max_params per
 * request (0: 256). */
KS_API int ks_http_params_new(uint32_t max_value, uint32_t max_params, struct ks_http_params **pp);
/* Calls fn for every parameter of req, in the order path, query, body, cookies, headers; fn
 * returns nonzero to stop (that value is returned). The parameter is valid during the call. */
KS_API int ks_http_params_each(struct ks_http_params *d, const struct ks_http_request *req,
                               int (*fn)(void *user, const struct ks_http_param *p), void *user);
KS_API void ks_http_params_stats(const struct ks_http_params *d, struct ks_http_params_stats *st);
KS_API void ks_http_params_free(struct ks_http_params *d);

/* ---- requests from packets: TCP reassembly and HTTP/1.x parsing ----
 *
 * ks_http_capture takes the TCP packets of a capture (struct ks_pkt from ks_capture), puts
 * each connection's two byte streams back in order (RFC 9293: sequence numbers modulo 2^32,
 * SYN/FIN/RST, retransmissions, out-of-order and overlapping segments, connections picked up
 * after their handshake) and parses the client's bytes as HTTP/1.x requests (RFC 9112:
 * request line, header fields, pipelining, Content-Length and chunked bodies). Each request
 * is handed to a callback as a struct ks_http_request with the anomalies that make its framing
 * ambiguous (request smuggling) or its bytes doubtful (KS_HTTP_A_*).
 *
 * Memory: everything (connection table, buffered segments, partial requests) comes out of one
 * budget allocated by _new; nothing is allocated per packet. When the table is full the least
 * recently active connection is evicted; when the buffers are, the least recently active
 * connections other than the current one are evicted until there is room. Both are counted. */

/* ks_http_request.anomalies */
#define KS_HTTP_A_CL_TE 0x0001u        /* both Content-Length and Transfer-Encoding (9112 6.3) */
#define KS_HTTP_A_CL_CL 0x0002u        /* several Content-Length values that differ */
#define KS_HTTP_A_BAD_CL 0x0004u       /* a Content-Length that is not a decimal number */
#define KS_HTTP_A_BAD_TE 0x0008u       /* Transfer-Encoding whose final coding is not chunked */
#define KS_HTTP_A_OBS_FOLD 0x0010u     /* a header line folded onto the next (9112 5.2) */
#define KS_HTTP_A_BAD_CHUNK 0x0020u    /* a chunk size or chunk end that does not parse */
#define KS_HTTP_A_TRUNC_BODY 0x0040u   /* the connection ended inside the body */
#define KS_HTTP_A_BODY_CUT 0x0080u     /* body longer than max_body: the rest was not kept */
#define KS_HTTP_A_GAP 0x0100u          /* bytes of the request were never captured */
#define KS_HTTP_A_TCP_CONFLICT 0x0200u /* overlapping segments with different bytes */
#define KS_HTTP_A_BAD_LINE 0x0400u     /* request line without an HTTP/1.x version */
#define KS_HTTP_A_BARE_LF 0x0800u      /* lines ended by LF without CR */
#define KS_HTTP_A_HOST_HOST 0x1000u    /* several Host header fields */
#define KS_HTTP_A_BAD_FIELD 0x2000u    /* a field line without ':' or with space before it */
#define KS_HTTP_A_COUNT 14

/* A short name of one anomaly bit ("cl_te", "bad_chunk", ...), "" for others. */
KS_API const char *ks_http_anomaly_name(uint32_t bit);

/* Where a request came from. */
struct ks_http_conn {
    struct ks_addr client, server;
    uint16_t client_port, server_port;
    uint64_t packet; /* number of the packet that carried the request's first byte */
    uint64_t id;     /* connection number, from 1, in the order they were first seen */
    bool midstream;  /* the handshake was not seen */
};

struct ks_http_capture_config {
    uint64_t memory;            /* bytes for connections and buffered data (default 256 MiB) */
    uint32_t max_streams;       /* connection table capacity (default 0: memory / 2048) */
    uint32_t idle_s;            /* a connection idle this long (packet time) is closed (300) */
    uint32_t max_ooo;           /* out-of-order bytes held per direction (default 1 MiB); beyond,
                                 * the hole is given up (a gap) */
    uint32_t max_header;        /* request line + header fields (default 32 KiB) */
    uint32_t max_body;          /* body bytes kept per request (default 64 KiB); the rest is read
                                 * and skipped (KS_HTTP_A_BODY_CUT) */
    uint64_t seed;              /* table hash seed; 0 = random */
    const struct ks_diag *diag; /* first anomalies and conflicts, with the packet */
    /* Called for every request; req and conn are valid during the call. Required. */
    void (*on_request)(void *user, const struct ks_http_request *req,
                       const struct ks_http_conn *conn);
    void *user;
};

struct ks_http_capture_stats {
    uint64_t packets;      /* TCP packets fed */
    uint64_t bytes;        /* TCP payload bytes fed */
    uint64_t streams;      /* connections created */
    uint64_t active;       /* connections now in the table */
    uint64_t closed;       /* ended by FIN or RST */
    uint64_t expired;      /* closed for idleness */
    uint64_t evicted_full; /* evicted because the table was full */
    uint64_t evicted_mem;  /* evicted because the buffers were full */
    uint64_t reused;       /* a new SYN on a known 4-tuple replaced the old connection */
    uint64_t midstream;    /* connections picked up without their handshake */
    uint64_t retrans;      /* segments (or parts) already delivered, dropped */
    uint64_t ooo;          /* segments buffered out of order */
    uint64_t overlaps;     /* segments overlapping buffered data */
    uint64_t conflicts;    /* ... whose bytes differ (the first bytes are kept) */
    uint64_t gaps;         /* holes given up */
    uint64_t gap_bytes;
    uint64_t dropped_bytes; /* bytes that found no buffer even after eviction */
    uint64_t out_of_window; /* segments too far ahead of the expected sequence number */
    uint64_t mem_budget;    /* bytes reserved at _new (<= config memory) */
    uint64_t mem_used;      /* bytes in use now: table entries and buffers */
    uint64_t mem_peak;
    uint64_t requests;                   /* requests handed out */
    uint64_t non_http;                   /* client streams that did not start with a request */
    uint64_t resync_bytes;               /* bytes skipped looking for a request line */
    uint64_t header_too_long;            /* requests dropped: header beyond max_header */
    uint64_t trunc_header;               /* connections that ended inside a request's header */
    uint64_t trunc_chunked;              /* requests whose chunked body ended early */
    uint64_t trunc_body;                 /* requests whose Content-Length body ended early */
    uint64_t anomalies[KS_HTTP_A_COUNT]; /* per KS_HTTP_A_ bit (bit i -> [i]) */
};

struct ks_http_capture;

KS_API void ks_http_capture_config_default(struct ks_http_capture_config *cfg);
/* KS_EINVAL (no callback, or memory too small for the table: at least 1 MiB), KS_ENOMEM. */
KS_API int ks_http_capture_new(const struct ks_http_capture_config *cfg,
                               struct ks_http_capture **cp);
/* One packet; packets that are not TCP are ignored. Calls on_request for the requests it
 * completes (and for those of connections it closes). Hot path: no allocation. */
KS_API int ks_http_capture_feed(struct ks_http_capture *c, const struct ks_pkt *p);
/* Names the source (file, interface) in diagnostics; name is borrowed until the next call. */
KS_API void ks_http_capture_source(struct ks_http_capture *c, const char *name);
/* Closes every connection idle since before now_us (live captures call it on timeouts). */
KS_API void ks_http_capture_tick(struct ks_http_capture *c, int64_t now_us);
/* End of input: closes every connection, handing out requests cut short (flagged). */
KS_API void ks_http_capture_flush(struct ks_http_capture *c);
KS_API void ks_http_capture_stats(const struct ks_http_capture *c,
                                  struct ks_http_capture_stats *st);
KS_API void ks_http_capture_free(struct ks_http_capture *c); /* NULL is fine */

/* Parses "[10/Oct/2000:13:55:36 -0700]" (brackets optional) into µs UTC. KS_EFORMAT. */
KS_API int ks_http_parse_clf_time(const uint8_t *s, size_t len, int64_t *t_us);

#endif
