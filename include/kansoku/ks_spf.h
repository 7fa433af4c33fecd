/* kansoku SPF: RFC 7208 check_host(), asynchronous over a pluggable DNS interface.
 *
 * A checker (struct ks_spf) evaluates SPF for (client IP, MAIL FROM, HELO). Every DNS query goes
 * through a struct ks_spf_dns: a query function that delivers its answer to a callback, either
 * before it returns (an in-process zone, a cache hit) or later from an event loop (the c-ares
 * resolver below). A check is a resumable state machine, so one thread runs thousands of checks
 * at once over one resolver; ks_spf_check() is the synchronous wrapper.
 *
 * Thread-safety: a checker, a resolver and a zone are each used by one thread at a time. */
#ifndef KS_SPF_H
#define KS_SPF_H

#include "kansoku/ks_core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The seven results of RFC 7208 section 2.6. */
enum ks_spf_result {
    KS_SPF_NONE = 0,
    KS_SPF_NEUTRAL,
    KS_SPF_PASS,
    KS_SPF_FAIL,
    KS_SPF_SOFTFAIL,
    KS_SPF_TEMPERROR,
    KS_SPF_PERMERROR,
};
#define KS_SPF_NRESULTS 7

/* "none", "neutral", "pass", ... (lowercase, as in Received-SPF). */
KS_API const char *ks_spf_result_name(enum ks_spf_result r);
/* Parses a result name (also the old "unknown" = permerror, "error" = temperror). -1 if none. */
KS_API int ks_spf_result_parse(const char *s);

/* ---- DNS interface ---------------------------------------------------------------------- */

enum {
    KS_DNS_A = 1,
    KS_DNS_CNAME = 5,
    KS_DNS_SOA = 6,
    KS_DNS_PTR = 12,
    KS_DNS_MX = 15,
    KS_DNS_TXT = 16,
    KS_DNS_AAAA = 28,
    KS_DNS_SPF = 99,
};

enum ks_spf_dns_status {
    KS_SPF_DNS_OK = 0,       /* NOERROR; count may be 0 (no data of that type) */
    KS_SPF_DNS_NXDOMAIN = 1, /* RCODE 3 */
    KS_SPF_DNS_TEMPFAIL = 2, /* timeout, SERVFAIL, REFUSED, network or format error */
};

/* One resource record of the asked type. data: A = 4 bytes, AAAA = 16 bytes, TXT = the
 * character-strings concatenated (RFC 7208 3.3), MX and PTR = the target name as text without
 * the final dot (MX preference dropped). */
struct ks_spf_rr {
    uint16_t type;
    uint32_t ttl;
    uint32_t len;
    const uint8_t *data;
};

struct ks_spf_answer {
    enum ks_spf_dns_status status;
    uint32_t count;
    const struct ks_spf_rr *rr;
};

/* Called exactly once per query. The answer (and everything it points to) is valid only during
 * the call. */
typedef void (*ks_spf_dns_done)(void *arg, const struct ks_spf_answer *ans);

struct ks_spf_dns {
    /* Starts a query for (name, type): name is text without the final dot. Calls done once,
     * before returning or later. Returns KS_OK, or an error (then done is never called). */
    int (*query)(void *ctx, const char *name, uint16_t type, ks_spf_dns_done done, void *arg);
    /* For synchronous use: blocks until at least one pending query completed (its callback
     * run). NULL when query() always answers before returning. */
    int (*wait)(void *ctx);
    void *ctx;
};

/* ---- The checker ------------------------------------------------------------------------ */

struct ks_spf_config {
    const char *default_explanation; /* explain-string (macros allowed) used for fail when no
                                        exp= applies; default below */
    const char *receiver;            /* %{r} and the Received-SPF receiver; default "unknown" */
    uint32_t max_dns_terms;          /* RFC 7208 4.6.4: 10 */
    uint32_t max_void_lookups;       /* 2 */
    uint32_t max_mx;                 /* 10 MX names per mx mechanism (more = permerror) */
    uint32_t max_ptr;                /* 10 PTR names considered (the rest ignored) */
    uint32_t max_expansion;          /* bytes of one macro expansion; more = error. 8192 */
    uint32_t max_checks;             /* checks in flight at once; 65536 */
    int64_t fixed_time;              /* %{t} value; 0 = the clock */
};
#define KS_SPF_DEFAULT_EXPLANATION "%{i} is not a designated mail server for %{d}"

enum ks_spf_identity { KS_SPF_MAILFROM = 0, KS_SPF_HELO = 1 };

struct ks_spf_request {
    const char *ip;                /* client address: IPv4, IPv6 or IPv4-mapped IPv6 text */
    const char *sender;            /* MAIL FROM address; NULL or "" is the null sender */
    const char *helo;              /* HELO/EHLO name; may be NULL */
    enum ks_spf_identity identity; /* KS_SPF_HELO checks the HELO name itself (RFC 7208 2.3) */
};

/* What a check found. Strings are NUL-terminated; "" when not applicable. */
struct ks_spf_outcome {
    enum ks_spf_result result;
    enum ks_spf_identity identity;
    const char *ip;          /* the client address as checked (mapped IPv4 unmapped) */
    const char *sender;      /* <sender> (postmaster@HELO for the null sender) */
    const char *helo;        /* the HELO name given */
    const char *domain;      /* the <domain> checked first */
    const char *record;      /* the SPF record of <domain>, if one was selected */
    const char *mechanism;   /* the term that decided ("-all", "include:x"), "default" when
                                no term matched, "" otherwise */
    const char *explanation; /* fail: the expanded exp= text, else the default; else "" */
    const char *problem;     /* why none/temperror/permerror ("" otherwise) */
    uint32_t dns_lookups;    /* DNS-querying terms counted against max_dns_terms */
    uint32_t void_lookups;
    uint32_t dns_queries; /* every query sent, exp= and address lookups included */
};

struct ks_spf_stats {
    uint64_t checks, in_flight;
    uint64_t results[KS_SPF_NRESULTS];
    uint64_t dns_queries;
    uint64_t rejected; /* ks_spf_check_start refused: max_checks reached */
};

struct ks_spf;

KS_API void ks_spf_config_default(struct ks_spf_config *cfg);

/* dns is copied; what it points to must outlive the checker. cfg may be NULL (defaults). */
KS_API int ks_spf_new(const struct ks_spf_config *cfg, const struct ks_spf_dns *dns,
                      struct ks_spf **sp);
/* Frees the checker. Checks still in flight must have completed (or their DNS been freed,
 * which completes them with temperror) before. NULL is fine. */
KS_API void ks_spf_free(struct ks_spf *s);

typedef void (*ks_spf_done_fn)(void *arg, const struct ks_spf_outcome *out);

/* Starts a check; done is called once with the outcome (valid only during the call), possibly
 * before this returns. The request's strings are copied. Returns KS_OK, KS_EINVAL (bad IP),
 * KS_ELIMIT (max_checks in flight) or KS_ENOMEM; done is not called on error. */
KS_API int ks_spf_check_start(struct ks_spf *s, const struct ks_spf_request *req,
                              ks_spf_done_fn done, void *arg);

/* Synchronous check: runs dns->wait until done. out's strings are owned by out: release with
 * ks_spf_outcome_fini(). */
KS_API int ks_spf_check(struct ks_spf *s, const struct ks_spf_request *req,
                        struct ks_spf_outcome *out);
KS_API void ks_spf_outcome_fini(struct ks_spf_outcome *out);

KS_API void ks_spf_stats(const struct ks_spf *s, struct ks_spf_stats *st);

/* Header field values (without the field name): Received-SPF (RFC 7208 9.1) and the "spf"
 * method of Authentication-Results (RFC 8601, authserv-id first). Allocated, caller frees;
 * NULL when out of memory. */
KS_API char *ks_spf_received_spf(const struct ks_spf_outcome *o, const char *receiver);
KS_API char *ks_spf_auth_results(const struct ks_spf_outcome *o, const char *authserv_id);

/* ---- Postfix policy delegation (check_policy_service) ----------------------------------- */

/* What to answer for each result. Each action is a Postfix access(5) action; "%s" in it is
 * replaced by a text (the explanation for fail, the problem for errors). "PREPEND" alone means
 * "PREPEND Received-SPF: <value>". */
struct ks_spf_policy_config {
    const char *action[KS_SPF_NRESULTS]; /* defaults: fail -> 550 5.7.23, temperror ->
                                            451 4.7.24, the others -> PREPEND */
    bool check_helo;      /* check the HELO identity first; its fail rejects (default on) */
    const char *receiver; /* for Received-SPF; default "unknown" */
    const char *skip;     /* comma-separated client prefixes never checked ("dunno") */
    uint32_t max_request; /* bytes of one request; more closes the connection. 65536 */
    /* Called with the outcome of every check the service runs (HELO and MAIL FROM; not for
     * cached, skipped or refused requests), e.g. to write it to the store. May be NULL. */
    void (*on_outcome)(void *arg, const struct ks_spf_outcome *o);
    void *on_outcome_arg;
};
KS_API void ks_spf_policy_config_default(struct ks_spf_policy_config *cfg);

struct ks_spf_policy_stats {
    uint64_t requests, replies, cached, skipped, bad_requests, results[KS_SPF_NRESULTS];
};

struct ks_spf_policy;
struct ks_spf_policy_conn;
/* The service: one checker (borrowed), one configuration. */
KS_API int ks_spf_policy_new(const struct ks_spf_policy_config *cfg, struct ks_spf *spf,
                             struct ks_spf_policy **pp);
KS_API void ks_spf_policy_free(struct ks_spf_policy *p); /* after every connection is freed */
KS_API void ks_spf_policy_stats(const struct ks_spf_policy *p, struct ks_spf_policy_stats *st);

/* One client connection: feed it the bytes read; each complete request ("name=value" lines, an
 * empty line) is answered through reply ("action=...\n\n"), now or when its checks finish, in
 * order. The same "instance" as the previous request gets the previous answer (Postfix asks
 * once per recipient). Returns KS_OK, or KS_EFORMAT/KS_ELIMIT when the client should be
 * disconnected (oversized or binary request). */
KS_API int ks_spf_policy_conn_new(struct ks_spf_policy *p,
                                  void (*reply)(void *arg, const char *text, size_t len), void *arg,
                                  struct ks_spf_policy_conn **cp);
KS_API int ks_spf_policy_conn_feed(struct ks_spf_policy_conn *c, const char *data, size_t len);
/* True while a request of c waits for its checks. */
KS_API bool ks_spf_policy_conn_busy(const struct ks_spf_policy_conn *c);
/* Frees c; a check still running finishes and is discarded. */
KS_API void ks_spf_policy_conn_free(struct ks_spf_policy_conn *c);

/* ---- Building blocks, exposed for tools and tests --------------------------------------- */

/* Checks an SPF record's syntax (RFC 7208 4.5, 4.6, 5, 6, 7.1). KS_OK, or KS_EFORMAT with a
 * reason in err (NUL-terminated, truncated to errsize). */
KS_API int ks_spf_record_check(const char *txt, size_t len, char *err, size_t errsize);

/* The policy a record states for hosts it does not list (what a survey reports): its "all"
 * term, else redirect=. */
enum ks_spf_policy_class {
    KS_SPF_POLICY_NONE = 0, /* no record */
    KS_SPF_POLICY_FAIL,     /* -all */
    KS_SPF_POLICY_SOFTFAIL, /* ~all */
    KS_SPF_POLICY_NEUTRAL,  /* ?all */
    KS_SPF_POLICY_PASS,     /* +all or all */
    KS_SPF_POLICY_REDIRECT, /* no all, redirect= */
    KS_SPF_POLICY_NO_ALL,   /* neither (ends neutral) */
};
#define KS_SPF_NPOLICIES 7
/* Classifies a record's text ("" or NULL = KS_SPF_POLICY_NONE). The last all term counts. */
KS_API enum ks_spf_policy_class ks_spf_policy_class(const char *record);
/* "none", "-all", "~all", "?all", "+all", "redirect", "no-all". */
KS_API const char *ks_spf_policy_class_name(enum ks_spf_policy_class c);

/* ---- Results to the store (tables spf_results and spf_survey, docs/store.md) ------------ */

/* A writer keeps rows in memory (bounded by max_rows) and writes them, on ks_spf_store_flush
 * or when max_rows is reached, as one complete store input of kind cfg->kind: readers see a
 * batch whole or not at all, and a long-running service holds no write lock between batches.
 * The input's identity is the SHA-256 of the batch's rows in a canonical text form, so the
 * same batch written twice is stored once. Only the sender's domain is kept, never the local
 * part of an address. Used by one thread at a time. */
struct ks_store;
struct ks_spf_store_config {
    const char *kind;  /* inputs.kind: "spf check", "spf policyd", "spf survey", "mail" ... */
    const char *name;  /* inputs.name: what was observed (socket, list file) */
    uint32_t max_rows; /* rows kept before an automatic flush; 10000 */
};
struct ks_spf_store_stats {
    uint64_t rows, flushed, batches, dropped; /* dropped: rows lost to store errors */
};
struct ks_spf_store;
KS_API void ks_spf_store_config_default(struct ks_spf_store_config *cfg);
/* st is borrowed and must outlive the writer. KS_OK, KS_EINVAL or KS_ENOMEM. */
KS_API int ks_spf_store_new(struct ks_store *st, const struct ks_spf_store_config *cfg,
                            struct ks_spf_store **wp);
/* Keeps one check outcome observed at t_us (µs UTC: when the mail arrived). When the buffer is
 * full it is flushed first; a flush error is returned (the buffer is then dropped, counted). */
KS_API int ks_spf_store_add_check(struct ks_spf_store *w, int64_t t_us,
                                  const struct ks_spf_outcome *o);
/* Keeps one survey row: the domain, surveyed at t_us (the survey's start, the same for every
 * domain of one run), and the outcome of checking it. */
KS_API int ks_spf_store_add_survey(struct ks_spf_store *w, int64_t t_us, const char *domain,
                                   const struct ks_spf_outcome *o);
/* Rows waiting for a flush. */
KS_API size_t ks_spf_store_pending(const struct ks_spf_store *w);
/* Writes the waiting rows as one complete input (nothing when none). KS_OK, KS_EEXIST (this
 * very batch was stored before: not an error for callers that retry) or the store's errors
 * (message: ks_store_errmsg); on error the rows are dropped and counted. */
KS_API int ks_spf_store_flush(struct ks_spf_store *w);
KS_API void ks_spf_store_stats(const struct ks_spf_store *w, struct ks_spf_store_stats *st);
/* Frees the writer; rows not flushed are discarded. NULL is fine. */
KS_API void ks_spf_store_free(struct ks_spf_store *w);

/* ---- An in-process zone (for suites and tests) ------------------------------------------ */

struct ks_spf_zone;
KS_API int ks_spf_zone_new(struct ks_spf_zone **zp);
KS_API void ks_spf_zone_free(struct ks_spf_zone *z);
/* Removes every name (the zone can be refilled). */
KS_API void ks_spf_zone_clear(struct ks_spf_zone *z);
/* Adds a record: A/AAAA data is 4/16 bytes, TXT/SPF the strings concatenated, MX/PTR/CNAME a
 * name. Order is kept (it matters for PTR and MX limits and for timeouts). */
KS_API int ks_spf_zone_add(struct ks_spf_zone *z, const char *name, uint16_t type, const void *data,
                           size_t len);
/* Queries for name time out: for type only (type != 0), or (type 0) for every type that no
 * record added before this call answers. */
KS_API int ks_spf_zone_add_timeout(struct ks_spf_zone *z, const char *name, uint16_t type);
/* Makes name exist with no records (NODATA rather than NXDOMAIN). */
KS_API int ks_spf_zone_add_name(struct ks_spf_zone *z, const char *name);
/* The DNS interface answering from z (synchronously). Valid while z lives. */
KS_API const struct ks_spf_dns *ks_spf_zone_dns(struct ks_spf_zone *z);

/* ---- The OpenSPF YAML suite runner ------------------------------------------------------ */

struct ks_spf_suite_result {
    uint32_t passed, failed;
};
/* Called for each failing test: scenario description, test name, what was expected (results
 * joined by '|', and the explanation or NULL) and the outcome. */
typedef void (*ks_spf_suite_fail_fn)(void *arg, const char *scenario, const char *test,
                                     const char *expected, const char *expected_exp,
                                     const struct ks_spf_outcome *out);
/* Runs every test of an OpenSPF-format YAML file (RFC 7208 / 4408 suites) against the checker
 * with each scenario's zonedata in an in-process zone; the default explanation is "DEFAULT".
 * KS_OK, KS_EIO (unreadable) or KS_EFORMAT (not YAML or not a suite; err says why). */
KS_API int ks_spf_suite_run(const char *path, ks_spf_suite_fail_fn fail, void *arg,
                            struct ks_spf_suite_result *res, char *err, size_t errsize);

/* ---- Real DNS: c-ares, with a shared TTL cache ------------------------------------------ */

struct ks_spf_resolver_config {
    const char *servers;     /* "ADDR[:PORT][,ADDR[:PORT]...]" ("[v6]:port"); NULL/"" =
                                /etc/resolv.conf */
    uint32_t timeout_ms;     /* first try's timeout; 2000 */
    uint32_t tries;          /* tries per server; 2 */
    uint32_t cache_capacity; /* answers kept; 0 disables the cache; 65536 */
    uint32_t negative_ttl;   /* seconds for NXDOMAIN/NODATA without SOA; 60 */
    uint32_t max_ttl;        /* TTLs are capped to this; 86400 */
};

struct ks_spf_resolver_stats {
    uint64_t queries, sent, answered, tempfail, nxdomain, malformed;
    uint64_t coalesced; /* asks that joined an identical query already in flight */
    uint64_t cache_hits, cache_misses, cache_inserts, cache_evictions, cache_expired;
    uint64_t cache_size, in_flight;
};

struct ks_spf_resolver;
KS_API void ks_spf_resolver_config_default(struct ks_spf_resolver_config *cfg);
KS_API int ks_spf_resolver_new(const struct ks_spf_resolver_config *cfg,
                               struct ks_spf_resolver **rp);
/* Completes every pending query with TEMPFAIL, then frees. NULL is fine. */
KS_API void ks_spf_resolver_free(struct ks_spf_resolver *r);
KS_API const struct ks_spf_dns *ks_spf_resolver_dns(struct ks_spf_resolver *r);
/* Event loop: waits up to timeout_ms (-1 = until the next DNS timeout) for sockets and
 * processes what is ready, running callbacks. Returns the number of queries still pending. */
KS_API int ks_spf_resolver_run(struct ks_spf_resolver *r, int timeout_ms);
KS_API uint64_t ks_spf_resolver_pending(const struct ks_spf_resolver *r);
/* For callers with their own poll loop: fills up to max pollfds, returns how many; and the
 * milliseconds until the next timeout (-1 none). Then ks_spf_resolver_process(). */
struct pollfd;
KS_API int ks_spf_resolver_pollfds(struct ks_spf_resolver *r, struct pollfd *fds, int max,
                                   int *timeout_ms);
KS_API void ks_spf_resolver_process(struct ks_spf_resolver *r, const struct pollfd *fds, int n);
KS_API void ks_spf_resolver_cache_clear(struct ks_spf_resolver *r);
KS_API void ks_spf_resolver_stats(const struct ks_spf_resolver *r,
                                  struct ks_spf_resolver_stats *st);

/* Parses a DNS response message for (qtype): the RRs of that type in the answer section, the
 * RCODE and the minimum TTL (SOA-derived for negative answers). Used by the resolver; exposed for
 * fuzzing. Calls fn once with the answer (valid during the call). KS_OK or KS_EFORMAT. */
KS_API int ks_spf_dns_parse(const uint8_t *msg, size_t len, uint16_t qtype,
                            void (*fn)(void *arg, const struct ks_spf_answer *a, uint32_t neg_ttl),
                            void *arg);

#endif
