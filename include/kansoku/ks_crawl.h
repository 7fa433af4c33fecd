/* kansoku crawl: a honeyclient for the URLs of spam.
 *
 * From each root URL (a URL found in a spam message) the crawler follows what a browser would
 * load or be sent to without a click: HTTP redirects (3xx Location), <meta http-equiv=refresh>,
 * <frame>/<iframe> src, <script src>, simple script redirects (location = "...",
 * window.location.href = "...", document.location, location.replace/assign("...")), and
 * links to files with an executable or archive extension (the "download trick"). Every fetch
 * is a record of the chain root -> pages -> download. A response that is, or contains, an
 * executable (PE, ELF, "#!" script, an archive with one of these inside, or what the
 * registry's antivirus names) is handed to the sample registry (ks_samples.h) as a capture
 * "via crawler" whose name is the chain's root URL.
 *
 * Safe: nothing downloaded is ever run, written executable or interpreted (scripts are only
 * scanned as text for the redirect forms above). Only http and https. The address actually
 * connected to is checked in curl's open-socket callback, before any byte is sent or read:
 * loopback, private (RFC 1918, RFC 4193), link-local, CGNAT, multicast, unspecified and
 * reserved addresses are refused unless allow_private (a DNS answer that changes between
 * checks cannot slip through). Proxies from the environment are never used. Limits on depth,
 * redirects, fetches, bytes per resource and per chain, time per fetch and per chain,
 * concurrent connections in total and per host, a delay between fetches to one host. Tables
 * keyed by URLs or hosts (visited sets, the host table, the queue) have capacities, and what
 * does not fit is counted and dropped.
 *
 * Thread safety: a handle is used by one thread at a time; ks_crawl_stop may be called from
 * a signal handler. */
#ifndef KS_CRAWL_H
#define KS_CRAWL_H

#include "kansoku/ks_core.h"
#include "kansoku/ks_ip.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_store;
struct ks_ingest;
struct ks_samples;
struct ks_geo;

/* --- link extraction (pure functions, no network) ------------------------------------------ */

enum ks_crawl_link {
    KS_CRAWL_LINK_ROOT = 0, /* the chain's first URL (not produced by the extractor) */
    KS_CRAWL_LINK_HTTP,     /* an HTTP redirect's Location (not produced by the extractor) */
    KS_CRAWL_LINK_REFRESH,  /* <meta http-equiv="refresh" content="N; url=..."> */
    KS_CRAWL_LINK_FRAME,    /* <frame src>, <iframe src> */
    KS_CRAWL_LINK_SCRIPT,   /* <script src> */
    KS_CRAWL_LINK_JS,       /* location = "...", location.replace("..."), ... */
    KS_CRAWL_LINK_DOWNLOAD, /* <a href> to a name with an executable/archive extension */
    KS_CRAWL_LINK_BASE,     /* <base href>: later relative links resolve against it */
    KS_CRAWL_LINK_COUNT
};
/* "root", "http-redirect", "refresh", "frame", "script", "js-redirect", "download-link",
 * "base"; "?" out of range. */
KS_API const char *ks_crawl_link_name(enum ks_crawl_link kind);

#define KS_CRAWL_DOC_HTML 0u /* an HTML document (inline scripts and on* attributes included) */
#define KS_CRAWL_DOC_JS 1u   /* a script */

#define KS_CRAWL_MAX_REF 2048 /* longer references are skipped (and counted) */

struct ks_crawl_links_stats {
    uint64_t tags;         /* HTML tags seen */
    uint64_t links;        /* references reported */
    uint64_t too_long;     /* references over KS_CRAWL_MAX_REF bytes, skipped */
    uint64_t unterminated; /* comments, tags, strings cut by the end of the document */
};

/* Calls fn for each reference found in doc[0..len) (any bytes: not NUL-terminated, may be
 * garbage), in document order. ref is the reference as written, with HTML character
 * references (or JavaScript string escapes) decoded and surrounding blanks removed, not yet
 * resolved against the document's URL; it is borrowed for the call. fn returns nonzero to
 * stop (the value is returned). st (may be NULL) gets the counts of this call. Never reads
 * outside doc; no allocation; the time is linear in len. Thread-safe. */
KS_API int ks_crawl_links(const void *doc, size_t len, unsigned doc_type,
                          int (*fn)(void *user, enum ks_crawl_link kind, const char *ref,
                                    size_t ref_len),
                          void *user, struct ks_crawl_links_stats *st);

/* Resolves ref against base (RFC 3986 5.2, by libcurl's URL API) into out (NUL-terminated,
 * normalised scheme and host, fragment dropped). KS_EUNSUPP: not http or https;
 * KS_EFORMAT: not a URL; KS_ELIMIT: the result does not fit in size. */
KS_API int ks_crawl_url_resolve(const char *base, const char *ref, size_t ref_len, char *out,
                                size_t size);

/* Whether addr may be connected to without allow_private: false for loopback, RFC 1918,
 * CGNAT (100.64/10), link-local, multicast, unspecified, broadcast, documentation,
 * benchmarking and reserved IPv4 ranges, and for IPv6 loopback, unspecified, ULA (fc00::/7),
 * link-local, multicast, documentation, discard-only and the IPv4-mapped/NAT64 forms of the
 * refused IPv4 ranges. */
KS_API bool ks_crawl_addr_is_public(const struct ks_addr *addr);

/* --- the crawler ---------------------------------------------------------------------------- */

/* One fetch, as recorded (table crawl_fetches). Strings are borrowed for the callback. */
struct ks_crawl_fetch {
    int64_t ts;               /* when the fetch started, µs UTC */
    uint64_t chain;           /* the chain's number in this run, from 1 */
    const char *root;         /* the chain's root URL */
    const char *url;          /* what was fetched */
    const char *parent;       /* the URL that led here, "" for the root */
    enum ks_crawl_link link;  /* how */
    uint32_t depth;           /* 0 for the root */
    const char *message_id;   /* of the root (the mail), "" when none */
    long status;              /* HTTP status, 0 when there was no response */
    struct ks_addr address;   /* connected to (family 0: none) */
    const char *content_type; /* as sent, "" when none */
    uint64_t size;            /* body bytes read (at most max_bytes) */
    char sha256[65];          /* of the body read, "" when none */
    const char *kind;         /* "page", "redirect", "download", "executable" or "error" */
    const char *error;        /* "" or: refused-address, refused-scheme, bad-url, not-mapped,
                               * timeout, chain-timeout, max-bytes, chain-bytes (the body was
                               * cut there), connect, dns, http (status >= 400), transfer,
                               * limit-hosts (host table full), stopped, no-memory */
    uint32_t ms;              /* duration */
    const char *sample;       /* SHA-256 handed to the registry, "" when none */
};

/* A chain, when finished. */
struct ks_crawl_chain {
    uint64_t chain;
    const char *root, *message_id;
    uint32_t fetches, executables, errors;
    uint64_t bytes;
    uint32_t ms;
};

struct ks_crawl_config {
    uint32_t max_depth;          /* links followed from the root (default 6) */
    uint32_t max_redirects;      /* HTTP/refresh/script redirects per chain (default 10) */
    uint32_t max_fetches;        /* fetches per chain (default 32) */
    uint64_t max_bytes;          /* body bytes per resource (default 8 MiB) */
    uint64_t max_chain_bytes;    /* body bytes per chain (default 32 MiB) */
    uint32_t fetch_timeout_ms;   /* per fetch, connection included (default 20000) */
    uint32_t connect_timeout_ms; /* (default 10000) */
    uint32_t chain_timeout_ms;   /* per chain, from its first fetch (default 60000) */
    uint32_t max_total;          /* connections at once (default 16) */
    uint32_t max_per_host;       /* connections at once to one host (default 2) */
    uint32_t host_delay_ms;      /* between the starts of two fetches to one host (default 250) */
    uint32_t max_chains;         /* chains in progress at once (default 64) */
    uint32_t max_hosts;          /* host table capacity (default 4096) */
    uint32_t max_queue;          /* fetches waiting over all chains (default 8192) */
    uint32_t max_chain_urls;     /* visited URLs per chain (default 64) */
    uint32_t max_links;          /* links taken from one document (default 64) */
    const char *user_agent;      /* default: a common desktop browser's */
    bool allow_private;          /* connect to loopback/private/... addresses too */
    /* curl-style "HOST:PORT:ADDR[,ADDR]" (CURLOPT_RESOLVE) and "HOST:PORT:CHOST:CPORT"
     * (CURLOPT_CONNECT_TO; empty HOST or PORT match any) entries; borrowed. */
    const char *const *resolve;
    size_t nresolve;
    const char *const *connect_to;
    size_t nconnect_to;
    bool only_mapped;       /* fetch only hosts named by resolve/connect_to entries */
    struct ks_store *store; /* with ing: where fetches and samples go (NULL: nowhere) */
    struct ks_ingest *ing;
    struct ks_samples *samples; /* registry for executables (NULL: none); borrowed */
    struct ks_geo *geo;         /* country/AS of sample sources (NULL: "--"); borrowed */
    void (*on_fetch)(void *user, const struct ks_crawl_fetch *f); /* may be NULL */
    void (*on_chain)(void *user, const struct ks_crawl_chain *c); /* may be NULL */
    void *user;
};
KS_API void ks_crawl_config_default(struct ks_crawl_config *cfg);

struct ks_crawl_stats {
    uint64_t chains;         /* chains finished */
    uint64_t chains_skipped; /* roots not crawled: only_mapped and another host */
    uint64_t fetches;        /* fetches finished (recorded) */
    uint64_t pages, redirects, downloads, executables, errors; /* fetches by kind */
    uint64_t bytes;                                            /* body bytes read */
    uint64_t samples;         /* executables handed to the registry */
    uint64_t sample_errors;   /* registry failures */
    uint64_t store_errors;    /* rows the store refused */
    uint64_t refused_address; /* connections refused by the address check */
    uint64_t refused_scheme;  /* links to other schemes than http/https */
    uint64_t not_mapped;      /* fetches skipped by only_mapped (roots included) */
    uint64_t timeouts;        /* fetches stopped by fetch_timeout_ms or chain_timeout_ms */
    uint64_t max_bytes_hits;  /* responses cut at max_bytes / max_chain_bytes */
    uint64_t limit_depth, limit_redirects, limit_fetches; /* links not followed */
    uint64_t visited_dup;                                 /* links to a URL the chain had fetched */
    uint64_t visited_dropped; /* links not followed: the chain's visited set was full */
    uint64_t queue_dropped;   /* links not followed: the queue was full */
    uint64_t hosts_dropped;   /* hosts forgotten to make room in the host table (LRU) */
    uint64_t links_dropped;   /* links beyond max_links in a document */
    uint64_t bad_urls;        /* links that do not resolve to a URL */
    uint64_t links_too_long;  /* references over KS_CRAWL_MAX_REF */
    uint64_t peak_active;     /* most connections at once */
};

/* One root URL to crawl; strings are copied. */
struct ks_crawl_root {
    const char *url;
    const char *message_id; /* NULL: "" */
};

struct ks_crawl; /* opaque */

/* KS_EINVAL (a zero limit, a bad resolve/connect_to entry), KS_ENOMEM, KS_EIO (libcurl could
 * not start). diag may be NULL; it is kept. */
KS_API int ks_crawl_new(const struct ks_crawl_config *cfg, const struct ks_diag *diag,
                        struct ks_crawl **cp);
KS_API void ks_crawl_free(struct ks_crawl *c); /* NULL is fine */

/* Crawls the roots that next() hands out (it returns 1 and fills *root, or 0 when there are
 * no more; the strings need to stay valid only until the next call), at most max_chains at a
 * time, until every chain is finished or ks_crawl_stop was called (then the chains in
 * progress are finished at once, their pending fetches recorded as errors "stopped"). Returns
 * KS_OK, KS_EINTR (stopped) or KS_EIO (libcurl's multi interface failed). */
KS_API int ks_crawl_run(struct ks_crawl *c, int (*next)(void *user, struct ks_crawl_root *root),
                        void *user);
/* Async-signal-safe. */
KS_API void ks_crawl_stop(struct ks_crawl *c);

KS_API void ks_crawl_stats(const struct ks_crawl *c, struct ks_crawl_stats *st);

#endif
