/* kansoku dns: DNS messages in packets: a resolver's randomness audit and cache-poisoning
 * (Kaminsky-style) detection.
 *
 * Parsing (ks_dns_parse) follows RFC 1035 4.1: header, question, answer, authority and
 * additional sections; names with compression pointers (4.1.4) are decompressed with a pointer
 * allowed only strictly backwards, so no input can loop; a name is at most 255 bytes in wire
 * form; extended label types (RFC 6891 6.2.5 deprecated them) are refused. The OPT record
 * (RFC 6891) is decoded into the message's EDNS fields. Over TCP each message is preceded by
 * its 2-byte length (RFC 1035 4.2.2; RFC 7766 8: several messages may share a segment).
 *
 * The analyzer (struct ks_dns) is fed decoded packets (ks_capture.h). Traffic to or from port
 * 53 (UDP or TCP) is parsed; the rest is ignored.
 *  - Audit: per querier (source of queries to port 53), the spread of its UDP source ports and
 *    transaction IDs (population standard deviation, entropy bits = log2(sd * sqrt 12), distinct
 *    values, per-bit bias), and 0x20 case randomisation of its query names
 *    (draft-vixie-dnsext-dns0x20). Queriers whose queries mostly carry RD=0 are recursive
 *    resolvers talking to authoritative servers and are graded with DNS-OARC porttest's scale
 *    (sd >= 3980 GREAT, >= 296 GOOD, else POOR), for ports and for TXIDs alike; queriers that
 *    mostly set RD=1 are stub clients (or forwarders) and are not graded.
 *  - Poisoning: every query is remembered in a bounded outstanding-query table keyed by
 *    (client, server, client port, TXID, transport) with its name; a response that matches no
 *    outstanding query (or whose name differs) is "unmatched"; unmatched responses to a host
 *    never seen sending a query are only counted (a capture of one direction). The others
 *    are grouped by zone (the owner of forged NS records in the authority section, else the
 *    registrable domain of the name, by the Public Suffix List) into episodes that end after
 *    end_after_s quiet seconds; an episode with enough responses (min_responses, and a peak
 *    second of at least min_peak_pps) is an alert: "kaminsky" when they are for many distinct
 *    names, else "spoofed_responses". A response that matched an outstanding query in an
 *    attacked zone and carries what the forged ones try to plant is a possible success.
 *
 * A handle is used by one thread. Every table keyed by traffic has a capacity and an eviction
 * rule, and counts what it evicted. No allocation per packet. */
#ifndef KS_DNS_H
#define KS_DNS_H

#include "kansoku/ks_capture.h"
#include "kansoku/ks_core.h"
#include "kansoku/ks_ip.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- messages ------------------------------------------------------------------------------ */

#define KS_DNS_NAME_MAX 255 /* a name in wire form, with its final zero byte (RFC 1035 3.1) */
#define KS_DNS_MAX_RR 32    /* records kept per message (more are counted, not kept) */
/* Enough for any name in presentation form (every byte escaped as \DDD) with its NUL. */
#define KS_DNS_NAME_STRLEN (4 * KS_DNS_NAME_MAX + 2)

/* Header flag bits (RFC 1035 4.1.1, RFC 4035 3.2 for AD/CD) in ks_dns_msg.flags. */
#define KS_DNS_QR 0x8000u
#define KS_DNS_AA 0x0400u
#define KS_DNS_TC 0x0200u
#define KS_DNS_RD 0x0100u
#define KS_DNS_RA 0x0080u
#define KS_DNS_AD 0x0020u
#define KS_DNS_CD 0x0010u
#define KS_DNS_OPCODE(f) (((f) >> 11) & 0xfu)
#define KS_DNS_RCODE(f) ((f)&0xfu)

/* Record types the analyzer looks into. */
enum {
    KS_DNS_TYPE_A = 1,
    KS_DNS_TYPE_NS = 2,
    KS_DNS_TYPE_CNAME = 5,
    KS_DNS_TYPE_SOA = 6,
    KS_DNS_TYPE_PTR = 12,
    KS_DNS_TYPE_MX = 15,
    KS_DNS_TYPE_AAAA = 28,
    KS_DNS_TYPE_DNAME = 39,
    KS_DNS_TYPE_OPT = 41,
};

enum ks_dns_section { KS_DNS_ANSWER = 1, KS_DNS_AUTHORITY = 2, KS_DNS_ADDITIONAL = 3 };

/* A name in wire form, uncompressed: length-prefixed labels ending with the zero label. The
 * case is as on the wire. */
struct ks_dns_name {
    uint8_t len; /* bytes in wire[], 1 (the root) .. 255 */
    uint8_t wire[KS_DNS_NAME_MAX];
};

struct ks_dns_rr {
    struct ks_dns_name name;
    uint16_t type, cls;
    uint32_t ttl;
    uint8_t section; /* enum ks_dns_section */
    uint16_t rdlen;
    const uint8_t *rdata; /* into the message's buffer */
    /* NS, CNAME, DNAME, PTR, MX (the exchange): the target name, decompressed; len 0 if none */
    struct ks_dns_name target;
};

struct ks_dns_msg {
    uint16_t id;
    uint16_t flags; /* KS_DNS_QR, ...; KS_DNS_OPCODE(), KS_DNS_RCODE() */
    uint16_t qdcount, ancount, nscount, arcount;
    bool has_question; /* the first question was read */
    struct ks_dns_name qname;
    uint16_t qtype, qclass;
    /* RFC 6891: the OPT pseudo-record of the additional section */
    bool edns;
    uint8_t edns_version;
    bool edns_do;           /* DNSSEC OK */
    uint16_t edns_udp_size; /* requestor's payload size */
    uint16_t rcode;         /* full (extended) RCODE: OPT's upper 8 bits and the header's 4 */
    uint32_t nrr;           /* records in rr[] */
    uint32_t rr_seen;       /* records parsed (rr[] keeps the first KS_DNS_MAX_RR) */
    struct ks_dns_rr rr[KS_DNS_MAX_RR];
};

/* ks_dns_parse() flags */
#define KS_DNS_PARSE_QUESTION 0u /* header and the first question only */
#define KS_DNS_PARSE_ALL 1u      /* every section */

/* Parses a DNS message of len bytes into *m (rdata pointers point into buf). Returns KS_OK,
 * KS_ETRUNC (ends inside a structure) or KS_EFORMAT (a bad name: forward or looping
 * compression pointer, label type 01/10, longer than 255 bytes; or RDATA that disagrees with
 * its type). *m holds what was parsed before the error. No allocation, thread-safe. */
KS_API int ks_dns_parse(const uint8_t *buf, size_t len, unsigned flags, struct ks_dns_msg *m);

/* Formats a wire name in presentation form (RFC 1035 5.1: "." and "\" escaped with a
 * backslash, bytes outside 0x21..0x7e as \DDD; the root is "."; no final dot) into buf
 * (size >= KS_DNS_NAME_STRLEN is always enough; shorter buffers get a cut string). Returns
 * the length written. */
KS_API size_t ks_dns_name_format(const struct ks_dns_name *n, char *buf, size_t size);

/* Splits a TCP payload into DNS messages (RFC 1035 4.2.2 length prefix): calls fn for each
 * complete message. Returns the number of messages; *partial (may be NULL) is set when the
 * payload ends inside a message (its length prefix says more than is left). */
KS_API unsigned ks_dns_tcp_split(const uint8_t *payload, size_t len,
                                 void (*fn)(void *user, const uint8_t *msg, size_t len), void *user,
                                 bool *partial);

/* --- the analyzer -------------------------------------------------------------------------- */

struct ks_dns; /* opaque */

enum ks_dns_grade {
    KS_DNS_GRADE_NONE = 0,
    KS_DNS_GRADE_POOR,
    KS_DNS_GRADE_GOOD,
    KS_DNS_GRADE_GREAT
};
/* "GREAT", "GOOD", "POOR", or NULL for NONE. */
KS_API const char *ks_dns_grade_name(enum ks_dns_grade g);
/* The porttest grade of a standard deviation (ports or TXIDs). */
KS_API enum ks_dns_grade ks_dns_grade_of_sd(double sd);

enum ks_dns_role { KS_DNS_ROLE_RESOLVER = 0, KS_DNS_ROLE_STUB = 1 };

enum ks_dns_case {
    KS_DNS_CASE_UNKNOWN = 0, /* too few letters seen */
    KS_DNS_CASE_NONE,        /* no upper-case letters: no 0x20 */
    KS_DNS_CASE_PARTIAL,     /* some, far from half: names as the clients wrote them */
    KS_DNS_CASE_YES,         /* about half the letters upper case: 0x20 in use */
};
/* "yes", "no", "partial", "unknown". */
KS_API const char *ks_dns_case_name(enum ks_dns_case c);

/* Randomness of a sequence of 16-bit values (ports or TXIDs). */
struct ks_dns_rand {
    uint64_t n;        /* values */
    uint32_t distinct; /* distinct values */
    uint16_t min, max;
    double mean, sd;         /* population standard deviation */
    double bits;             /* log2(sd * sqrt 12), 0 when sd < 1/sqrt 12 */
    double max_bit_bias;     /* max over the 16 bits of |share of ones - 0.5| */
    uint32_t biased_bits;    /* bits whose share of ones is more than 3 sigma from 0.5 (n >= 16) */
    enum ks_dns_grade grade; /* by sd; NONE below min_queries values */
};

/* Fills r from the running sums (shared with the tests: pure arithmetic). */
struct ks_dns_rand_acc {
    uint64_t n;
    uint64_t sum, sumsq; /* exact: 65535^2 * n stays below 2^64 for n < 4 * 10^9 */
    uint16_t min, max;
    uint32_t ones[16];
};
KS_API void ks_dns_rand_add(struct ks_dns_rand_acc *a, uint16_t v);
KS_API void ks_dns_rand_finish(const struct ks_dns_rand_acc *a, uint32_t distinct, uint32_t min_n,
                               struct ks_dns_rand *r);

struct ks_dns_audit {
    struct ks_addr addr; /* the querier */
    enum ks_dns_role role;
    int64_t first_us, last_us;
    uint64_t queries;         /* to port 53 */
    uint64_t upstream;        /* with RD=0: to authoritative servers */
    uint64_t recursive;       /* with RD=1 */
    uint64_t tcp;             /* over TCP (their ports are not counted) */
    uint32_t servers;         /* distinct servers asked (exact up to 16, then 16) */
    struct ks_dns_rand ports; /* UDP source ports */
    struct ks_dns_rand txids;
    uint64_t letters, upper; /* letters of query names, and upper-case ones */
    uint64_t mixed_names;    /* names with both cases */
    enum ks_dns_case case0x20;
    enum ks_dns_grade grade; /* resolvers: the worse of ports and TXIDs; stubs: NONE */
    const char *note;        /* "stub client, fixed port", "too few queries", ... or NULL */
};

/* One forged record of an alert: what a spoofed response tries to plant. */
struct ks_dns_forged {
    uint16_t type;                  /* A, AAAA, NS, CNAME, DNAME */
    uint8_t section;                /* where it was found */
    char name[KS_DNS_NAME_STRLEN];  /* owner; "(query name)" for the question's name */
    char value[KS_DNS_NAME_STRLEN]; /* address or target name */
    uint64_t count;                 /* responses carrying it */
};

#define KS_DNS_ALERT_TOP 4
#define KS_DNS_ALERT_FORGED 8

struct ks_dns_counted_addr {
    struct ks_addr addr;
    uint64_t count;
};

struct ks_dns_alert {
    const char *kind; /* "kaminsky" or "spoofed_responses" */
    char zone[KS_DNS_NAME_STRLEN];
    int64_t start_us, end_us; /* first and last unmatched response */
    uint64_t responses;       /* unmatched responses */
    uint32_t peak_pps;        /* most in one second */
    double rate_pps;          /* responses / duration (duration at least 1 s) */
    uint32_t names;           /* distinct query names (estimate beyond ~100) */
    uint32_t txids;           /* distinct TXIDs (estimate beyond ~100) */
    uint32_t n_sources;       /* the top sources (spoofed server addresses) */
    struct ks_dns_counted_addr sources[KS_DNS_ALERT_TOP];
    uint32_t sources_total; /* distinct sources (exact up to 16, then 16) */
    uint32_t n_resolvers;   /* the resolvers they were sent to */
    struct ks_dns_counted_addr resolvers[KS_DNS_ALERT_TOP];
    uint32_t n_forged;
    struct ks_dns_forged forged[KS_DNS_ALERT_FORGED];
    uint64_t matched;      /* responses in the zone that matched a query, meanwhile */
    bool possible_success; /* a matched response planted a forged record */
    bool open;             /* still going at the end of input */
};

struct ks_dns_config {
    bool audit;                      /* keep the per-querier statistics (default true) */
    bool poisoning;                  /* match responses and raise alerts (default true) */
    uint32_t max_queriers;           /* querier table of the audit (default 1024; LRU) */
    uint32_t min_queries;            /* fewest queries for a grade (default 10) */
    const struct ks_addr *resolvers; /* audit only these queriers (NULL: all) */
    size_t nresolvers;
    uint32_t max_pending;     /* outstanding queries (default 262144; LRU eviction): the most
                               * recent 1024 in a small table that stays in the cache */
    uint32_t query_timeout_s; /* an unanswered query is forgotten after this (default 10) */
    uint32_t max_zones;       /* zones with unmatched responses (default 1024; LRU) */
    uint32_t min_responses;   /* unmatched responses for an alert (default 10) */
    uint32_t min_peak_pps;    /* ... of which at least this many in one second (default 5) */
    uint32_t min_names;       /* distinct names for "kaminsky" (default 5) */
    uint32_t end_after_s;     /* quiet seconds that end an episode (default 30) */
    void (*on_alert)(void *user, const struct ks_dns_alert *a); /* borrowed for the call */
    void *user;
    const struct ks_diag *diag; /* malformed DNS messages (first ones); may be NULL */
};

struct ks_dns_stats {
    uint64_t packets;     /* fed */
    uint64_t dns_packets; /* UDP/TCP with port 53 on one side and a payload */
    uint64_t messages;    /* DNS messages parsed */
    uint64_t queries, responses;
    uint64_t malformed; /* messages that did not parse */
    uint64_t tcp_messages;
    uint64_t tcp_partial;     /* TCP segments ending inside a message (not reassembled) */
    uint64_t fragments;       /* later UDP/TCP fragments (no header, ports unknown: skipped) */
    uint64_t matched;         /* responses matching an outstanding query */
    uint64_t unmatched;       /* responses matching none */
    uint64_t name_mismatch;   /* ... of which port and TXID matched but the name did not */
    uint64_t unknown_client;  /* unmatched responses to a host never seen querying */
    uint64_t pending;         /* outstanding queries now */
    uint64_t pending_evicted; /* outstanding queries evicted (table full) */
    uint64_t pending_expired; /* forgotten after query_timeout_s */
    uint64_t queriers;        /* querier table entries now */
    uint64_t queriers_evicted;
    uint64_t zones_evicted;
    uint64_t alerts;
};

KS_API void ks_dns_config_default(struct ks_dns_config *cfg);
/* KS_OK, KS_EINVAL (a zero capacity) or KS_ENOMEM. The config is copied (resolvers too). */
KS_API int ks_dns_new(const struct ks_dns_config *cfg, struct ks_dns **dp);
/* One decoded packet (hot path; no allocation). Returns KS_OK; bad DNS is counted. */
KS_API int ks_dns_feed(struct ks_dns *d, const struct ks_pkt *p);
/* Closes episodes quiet since now_us - end_after_s (live capture, no packet for a while). */
KS_API void ks_dns_tick(struct ks_dns *d, int64_t now_us);
/* End of input: emits every episode that qualifies as an alert (open = true). */
KS_API void ks_dns_flush(struct ks_dns *d);
/* Calls fn for each querier kept (in no order); returns how many. */
KS_API size_t ks_dns_audits(struct ks_dns *d, void (*fn)(void *user, const struct ks_dns_audit *a),
                            void *user);
KS_API void ks_dns_stats(const struct ks_dns *d, struct ks_dns_stats *st);
KS_API void ks_dns_free(struct ks_dns *d);

/* --- the store (schema v11) ---------------------------------------------------------------- */

struct ks_ingest;
/* One row of dns_resolver_audits / dns_poisoning_alerts. */
KS_API int ks_dns_store_audit(struct ks_ingest *ing, const struct ks_dns_audit *a);
KS_API int ks_dns_store_alert(struct ks_ingest *ing, const struct ks_dns_alert *a);

#endif
