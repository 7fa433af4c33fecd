/* kansoku BGP: an MRT reader (RFC 6396, RFC 8050) and a prefix-hijack watcher.
 *
 * The reader streams MRT records from a file (plain, gzip or bzip2, found by the magic bytes)
 * or from memory: TABLE_DUMP (v1), TABLE_DUMP_V2 (incl. the ADD-PATH RIB subtypes of RFC
 * 8050), BGP4MP and BGP4MP_ET (state changes and UPDATE messages, 2- and 4-byte ASNs, LOCAL
 * and ADD-PATH subtypes), the legacy MRTD BGP type; IPv4 and IPv6 prefixes, from NLRI and from
 * MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760), AS4_PATH merging (RFC 6793). Each record is
 * decoded into elements (one per prefix and peer) and, on request, into the one-line text of
 * `bgpdump -m` (the reference tool's format, quirks included, so that the two can be diffed).
 * A record the reader cannot decode is counted and skipped; the input ending inside a record
 * ends the stream with KS_ETRUNC and the offset of that record.
 *
 * The watcher takes expected origins per prefix (a simple "prefix origin" list, RPSL route
 * objects, a ROA CSV with maxLength, the routes of an MRT RIB) and raises alerts on elements:
 * origin hijack, sub-prefix hijack, unexpected more-specific from the expected origin, MOAS;
 * each alert follows its prefix through first/last seen, the number of peers that see it,
 * and its withdrawal (the clear). State is bounded (prefix x peer), with dropped counters.
 *
 * One handle per thread; handles share nothing. Pointers returned by a handle stay valid until
 * the next call on it that reads or feeds. */
#ifndef KS_BGP_H
#define KS_BGP_H

#include "kansoku/ks_core.h"
#include "kansoku/ks_ip.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- MRT reader ---------------------------------------------------------------------------- */

enum ks_bgp_elem_type {
    KS_BGP_ELEM_ANNOUNCE = 'A', /* BGP4MP / MRTD UPDATE: NLRI or MP_REACH_NLRI */
    KS_BGP_ELEM_WITHDRAW = 'W', /* withdrawn routes or MP_UNREACH_NLRI */
    KS_BGP_ELEM_RIB = 'B',      /* a RIB entry of TABLE_DUMP / TABLE_DUMP_V2 */
    KS_BGP_ELEM_STATE = 'S',    /* a peer's BGP state change */
};

enum ks_bgp_origin_kind {
    KS_BGP_ORIGIN_NONE = 0, /* no AS_PATH, or an empty one */
    KS_BGP_ORIGIN_AS = 1,   /* the last AS of a final AS_SEQUENCE: origin_as */
    KS_BGP_ORIGIN_SET = 2,  /* the path ends in an AS_SET: the origin is ambiguous */
};

/* One route element. as_path is the path as text ("3333 1299 {64512,64513}"), not
 * NUL-terminated, valid until the next ks_mrt_next(). */
struct ks_bgp_elem {
    char type;               /* enum ks_bgp_elem_type */
    uint8_t origin_kind;     /* enum ks_bgp_origin_kind (A and B) */
    bool host_bits;          /* the prefix had bits set past its length (cleared in prefix) */
    bool has_path_id;        /* ADD-PATH record: path_id is meaningful */
    uint16_t old_state;      /* S: RFC 6396 4.4.1 state numbers */
    uint16_t new_state;      /* S */
    int64_t time_us;         /* record time, µs since the epoch (BGP4MP_ET gives µs) */
    struct ks_addr peer;     /* the peer the route was learned from */
    uint32_t peer_as;        /* its AS */
    uint32_t origin_as;      /* A and B, when origin_kind is KS_BGP_ORIGIN_AS */
    uint32_t path_id;        /* RFC 7911 path identifier */
    struct ks_prefix prefix; /* A, W, B; host bits cleared */
    const char *as_path;     /* A and B */
    uint32_t as_path_len;
};

struct ks_mrt_record {
    uint16_t type, subtype; /* MRT header */
    uint32_t length;        /* body length */
    int64_t time_us;
    uint64_t offset; /* byte offset of the record in the (uncompressed) input */
    uint64_t index;  /* record number, from 1 */
    size_t n_elems;
    const struct ks_bgp_elem *elems;
};

struct ks_mrt_config {
    uint32_t max_record; /* largest record body accepted, bytes (default 64 MiB); larger ones
                            are skipped and counted as malformed */
    bool text;           /* format each record as bgpdump -m lines (default false) */
    bool elems;          /* decode elements (default true) */
};

struct ks_mrt_stats {
    uint64_t records;      /* records read (whole) */
    uint64_t bytes;        /* input bytes consumed (uncompressed) */
    uint64_t elems;        /* elements decoded */
    uint64_t lines;        /* bgpdump lines formatted */
    uint64_t malformed;    /* records that could not be decoded (skipped) */
    uint64_t unsupported;  /* records of a type or subtype not decoded (skipped) */
    uint64_t truncated_at; /* offset of a record cut short by the end of input, else 0 */
    bool truncated;        /* the input ended inside a record */
};

KS_API void ks_mrt_config_default(struct ks_mrt_config *cfg);

struct ks_mrt; /* opaque */

/* Opens an MRT file ("-" = stdin); gzip and bzip2 are recognised by their magic bytes.
 * diag (may be NULL, copied) receives the first malformed records with their offsets.
 * KS_OK, KS_EIO (errno set), KS_ENOMEM, KS_EINVAL. */
KS_API int ks_mrt_open(const char *path, const struct ks_mrt_config *cfg,
                       const struct ks_diag *diag, struct ks_mrt **mp);
/* Reads MRT records from memory (borrowed: data must outlive the handle). name is for
 * diagnostics (may be NULL). Compressed data is not recognised here. */
KS_API int ks_mrt_open_mem(const void *data, size_t len, const char *name,
                           const struct ks_mrt_config *cfg, const struct ks_diag *diag,
                           struct ks_mrt **mp);
KS_API void ks_mrt_free(struct ks_mrt *m); /* NULL is fine */

/* Reads and decodes the next record. Returns 1 (a record: see ks_mrt_record / ks_mrt_text),
 * 0 at the end of the input, or an error: KS_ETRUNC (the input ends inside a record; the
 * records before it were delivered; stats.truncated_at names its offset), KS_EIO (read
 * failed), KS_EFORMAT (corrupt compressed stream). A record that cannot be decoded is
 * counted, reported through diag, and delivered with no elements and no text. No allocation
 * per record once buffers have reached the largest record's size. */
KS_API int ks_mrt_next(struct ks_mrt *m);
KS_API const struct ks_mrt_record *ks_mrt_record(const struct ks_mrt *m);
/* The current record as bgpdump -m lines (each ends in '\n'; zero lines is possible), when
 * the config asked for text. Not NUL-terminated. */
KS_API void ks_mrt_text(const struct ks_mrt *m, const char **text, size_t *len);
KS_API void ks_mrt_stats(const struct ks_mrt *m, struct ks_mrt_stats *st);

/* Formats an IPv6 address as bgpdump does (not quite RFC 5952: a single zero group is
 * compressed too, ::a.b.c.d for IPv4-compatible addresses). Returns the length. */
KS_API size_t ks_bgp_format_ipv6(const uint8_t b[16], char *buf, size_t size);

/* ---- Expected origins ----------------------------------------------------------------------- */

/* A set of expectations, each (prefix, origin AS, max length, kind), in a binary trie per
 * family. An announcement of prefix P from origin O is "valid" when some entry covers P with
 * origin O and max length >= len(P) (RFC 6811 route origin validation; for simple lists, IRR
 * route objects and RIB routes the max length is the prefix's own). Allow entries only
 * validate (customer more-specifics); they are not expectations of their own. */
enum ks_bgp_expect_kind {
    KS_BGP_EXPECT_ROUTE = 0, /* a simple list, an IRR route object or a RIB route */
    KS_BGP_EXPECT_ROA = 1,   /* a ROA (with max length) */
    KS_BGP_EXPECT_ALLOW = 2, /* allow-list: origin may announce prefixes within, up to maxlen */
};

enum ks_bgp_expect_format {
    KS_BGP_FMT_AUTO = 0,
    KS_BGP_FMT_SIMPLE = 1, /* "prefix origin" per line (AS123 or 123), '#' comments */
    KS_BGP_FMT_RPSL = 2,   /* route:/route6: objects with origin: */
    KS_BGP_FMT_ROA_CSV = 3 /* "ASN,IP Prefix,Max Length[,...]" (RIPE validator / Routinator) */
};

struct ks_bgp_expect; /* opaque */

KS_API int ks_bgp_expect_new(struct ks_bgp_expect **ep);
KS_API void ks_bgp_expect_free(struct ks_bgp_expect *e); /* NULL is fine */
/* Adds one entry. maxlen < prefix length means "the prefix length". KS_OK, KS_EINVAL,
 * KS_ENOMEM, KS_ELIMIT (more than 2^31 trie nodes). A duplicate is kept once. */
KS_API int ks_bgp_expect_add(struct ks_bgp_expect *e, const struct ks_prefix *p, uint32_t origin,
                             unsigned maxlen, enum ks_bgp_expect_kind kind);
/* Loads text (borrowed) in the given format (AUTO: RPSL if it has "route:"/"route6:"
 * attributes, a ROA CSV if its first line has commas, else simple). Bad lines are counted in
 * *bad (may be NULL) and reported through diag with their line numbers; kind ALLOW makes
 * every entry an allow entry. Returns KS_OK or KS_ENOMEM/KS_ELIMIT. */
KS_API int ks_bgp_expect_load(struct ks_bgp_expect *e, const char *text, size_t len,
                              enum ks_bgp_expect_format fmt, enum ks_bgp_expect_kind kind,
                              const char *source, const struct ks_diag *diag, uint64_t *bad);
KS_API size_t ks_bgp_expect_count(const struct ks_bgp_expect *e);

/* ---- Watcher -------------------------------------------------------------------------------- */

enum ks_bgp_alert_type {
    KS_BGP_ALERT_ORIGIN = 1,        /* exact prefix announced by an unexpected origin */
    KS_BGP_ALERT_SUBPREFIX = 2,     /* more-specific of an expected prefix, unexpected origin */
    KS_BGP_ALERT_MORE_SPECIFIC = 3, /* more-specific from an expected origin, not allowed */
    KS_BGP_ALERT_MOAS = 4,          /* a prefix seen with more than one origin */
};

enum ks_bgp_alert_event {
    KS_BGP_EVENT_RAISE = 1, /* first seen */
    KS_BGP_EVENT_CLEAR = 2, /* withdrawn (or replaced) by every peer that saw it */
    KS_BGP_EVENT_END = 3,   /* still open at ks_bgp_watch_finish() (a summary) */
};

struct ks_bgp_alert {
    uint8_t type;                     /* enum ks_bgp_alert_type */
    uint8_t event;                    /* enum ks_bgp_alert_event */
    struct ks_prefix prefix;          /* the announced prefix */
    uint32_t origin_as;               /* the announcing origin */
    struct ks_prefix expected_prefix; /* the (covering) expected prefix */
    uint32_t expected_as[8];          /* its expected origins (first 8) */
    uint32_t n_expected;              /* how many there are in all */
    uint32_t peers;                   /* peers that see it now (RAISE: 1) */
    uint32_t max_peers;               /* most peers that saw it at once */
    int64_t first_seen_us, last_seen_us;
    int64_t cleared_us; /* CLEAR: when the last peer withdrew it; else 0 */
    struct ks_addr first_peer;
    uint32_t first_peer_as;
};

struct ks_bgp_watch_config {
    uint32_t max_routes;   /* (prefix, peer) routes tracked (default 1 << 20) */
    uint32_t max_alerts;   /* open alerts (default 65536) */
    uint32_t max_prefixes; /* prefixes tracked for MOAS (default 1 << 20) */
    bool moas;             /* raise MOAS alerts (default true) */
};

struct ks_bgp_watch_stats {
    uint64_t elems;         /* elements fed */
    uint64_t announcements; /* A and B elements with an origin */
    uint64_t withdrawals;
    uint64_t valid;            /* announcements matching an expectation */
    uint64_t uncovered;        /* announcements covered by no expectation */
    uint64_t set_origin;       /* announcements whose path ends in an AS_SET (origin unknown) */
    uint64_t alerts[5];        /* raised, by enum ks_bgp_alert_type */
    uint64_t cleared;          /* CLEAR events */
    uint64_t moas_prefixes;    /* prefixes seen with > 1 distinct origin (AS_SET paths excluded) */
    uint64_t routes_dropped;   /* (prefix, peer) routes not tracked: table full */
    uint64_t alerts_dropped;   /* alerts not tracked: table full */
    uint64_t prefixes_dropped; /* prefixes not tracked for MOAS: table full */
};

typedef void (*ks_bgp_alert_fn)(void *user, const struct ks_bgp_alert *a);

struct ks_bgp_watch; /* opaque */

KS_API void ks_bgp_watch_config_default(struct ks_bgp_watch_config *cfg);
/* The watcher borrows exp (which must outlive it and not change). fn receives each event. */
KS_API int ks_bgp_watch_new(const struct ks_bgp_watch_config *cfg, const struct ks_bgp_expect *exp,
                            ks_bgp_alert_fn fn, void *user, struct ks_bgp_watch **wp);
KS_API void ks_bgp_watch_free(struct ks_bgp_watch *w); /* NULL is fine */
/* Feeds one element (A, W, B; S drops the peer's routes when the session leaves
 * Established). No allocation. */
KS_API int ks_bgp_watch_feed(struct ks_bgp_watch *w, const struct ks_bgp_elem *e);
/* Emits an END event for every alert still open. */
KS_API void ks_bgp_watch_finish(struct ks_bgp_watch *w);
KS_API void ks_bgp_watch_stats(const struct ks_bgp_watch *w, struct ks_bgp_watch_stats *st);

KS_API const char *ks_bgp_alert_type_name(int type); /* "origin", "subprefix", ... */
/* Writes one row of bgp_alerts (a CLEAR or END event: the alert's final state). Returns what
 * ks_store_row_end() returns. */
struct ks_ingest;
KS_API int ks_bgp_store_alert(struct ks_ingest *ing, const struct ks_bgp_alert *a);
KS_API const char *ks_bgp_alert_event_name(int event); /* "raise", "clear", "end" */

#endif
