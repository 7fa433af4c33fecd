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

#include "kansoku/ks_core.h"

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

/* Parses "[10/Oct/2000:13:55:36 -0700]" (brackets optional) into µs UTC. KS_EFORMAT. */
KS_API int ks_http_parse_clf_time(const uint8_t *s, size_t len, int64_t *t_us);

#endif
