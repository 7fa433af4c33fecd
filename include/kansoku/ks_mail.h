/* kansoku mail: mailbox reading, MIME analysis, spam verdicts, sending addresses, URLs and
 * attachments of received mail, and the spam statistics computed from the store.
 *
 * Three layers:
 *  1. ks_mail_reader: a streaming splitter of mailboxes into raw messages. mbox (mboxo and
 *     mboxrd, with repair of broken From_ lines), Maildir (cur/ and new/), single RFC 5322
 *     files, directories of them and stdin ("-"). It holds one message at a time, never a whole
 *     mailbox; a message larger than max_message is counted, reported with its position and
 *     skipped.
 *  2. ks_mail: the analysis of one raw message (GMime 3 for MIME): verdict, sender address,
 *     time, subject key, SPF result, URLs, attachments, body fuzzy hash.
 *  3. The parsers under both, pure functions on (ptr, len) that are tested and fuzzed on their
 *     own: Received fields, RFC 5322 dates, filter verdict headers, subject keys, URL
 *     deobfuscation, normalisation and extraction.
 *
 * Text in and out is UTF-8 (ptr, len) or NUL-terminated where said. Unless noted, functions
 * are thread-safe; a handle (reader, analyzer) is used by one thread at a time. */
#ifndef KS_MAIL_H
#define KS_MAIL_H

#include "kansoku/ks_core.h"
#include "kansoku/ks_ip.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_store;
struct ks_geo;
struct ks_samples;
struct ks_spf;

/* --- reading mailboxes ------------------------------------------------------------------- */

enum ks_mail_mbox { KS_MAIL_MBOXRD = 0, KS_MAIL_MBOXO = 1 };

struct ks_mail_reader_config {
    uint64_t max_message;   /* bytes; larger messages are skipped and counted (32 MiB) */
    enum ks_mail_mbox mbox; /* ">From " unquoting: mboxrd (default) strips one '>' of
                               ">+From "; mboxo only of ">From " */
    uint32_t max_dir_depth; /* directory recursion (default 8) */
};
KS_API void ks_mail_reader_config_default(struct ks_mail_reader_config *cfg);

struct ks_mail_reader_stats {
    uint64_t files;       /* files opened */
    uint64_t messages;    /* messages returned */
    uint64_t bytes;       /* bytes read */
    uint64_t oversized;   /* messages skipped for exceeding max_message */
    uint64_t empty;       /* empty messages skipped (a From_ line and nothing else) */
    uint64_t broken_from; /* From_ separators accepted without the blank line or date */
    uint64_t not_mail;    /* files skipped: neither a mailbox nor a message */
    uint64_t unreadable;  /* files or directories that could not be read */
};

/* One raw message, borrowed from the reader until the next ks_mail_reader_next(). */
struct ks_mail_raw {
    const uint8_t *data; /* the message (From_ line excluded, mboxrd quoting removed) */
    size_t len;
    struct ks_loc loc;    /* source path, byte offset and line of its start, record = its
                             number in the source (from 1) */
    const char *envelope; /* the From_ line after "From " ("" if none), NUL-terminated */
};

struct ks_mail_reader; /* opaque */

/* Opens path ("-" = stdin, a file, a Maildir or a directory walked recursively in name
 * order). Problems found later (unreadable files, oversized messages, broken separators) are
 * counted and the first ones reported through diag (may be NULL; module "mail").
 * KS_OK, KS_EIO (path cannot be opened: errno), KS_ENOMEM. */
KS_API int ks_mail_reader_open(const char *path, const struct ks_mail_reader_config *cfg,
                               const struct ks_diag *diag, struct ks_mail_reader **rp);
/* The next message: KS_OK (m filled), KS_ENOTFOUND at the end of every file, KS_ENOMEM.
 * Unreadable files are skipped, not returned as errors. */
KS_API int ks_mail_reader_next(struct ks_mail_reader *r, struct ks_mail_raw *m);
KS_API void ks_mail_reader_stats(const struct ks_mail_reader *r, struct ks_mail_reader_stats *st);
KS_API void ks_mail_reader_free(struct ks_mail_reader *r); /* NULL is fine */

/* --- header parsers ---------------------------------------------------------------------- */

/* One Received: field (RFC 5321 4.4 "Time-stamp-line" and the many formats in the wild). */
struct ks_mail_received {
    struct ks_addr ip; /* the connecting client's address (family 0 if none found) */
    char helo[128];    /* the name the client gave ("from X"), "" if none */
    char rdns[128];    /* the reverse-DNS name the receiver recorded, "" if none */
    char by[128];      /* the receiving host, "" if none */
    char with[32];     /* protocol (SMTP, ESMTPS, LMTP...), "" if none */
    int64_t time_us;   /* the date after ';', 0 if none or unparsable */
    bool local;        /* locally submitted (no network client: qmail "invoked by uid") */
};

/* Parses the value of a Received: field (unfolded or not). Never fails on bad input: what
 * could not be found stays empty. KS_OK if some part was recognised, KS_EFORMAT if none. */
KS_API int ks_mail_received_parse(const char *s, size_t len, struct ks_mail_received *out);

/* Parses an RFC 5322 3.3 date-time (with the obsolete forms of 4.3: two-digit years, zone
 * names, missing seconds or weekday, comments) into µs UTC. KS_OK or KS_EFORMAT. */
KS_API int ks_mail_date_parse(const char *s, size_t len, int64_t *t_us);

enum ks_mail_verdict { KS_MAIL_UNKNOWN = 0, KS_MAIL_HAM = 1, KS_MAIL_SPAM = 2 };
KS_API const char *ks_mail_verdict_name(enum ks_mail_verdict v); /* "unknown", "ham", "spam" */

/* The verdict a filter header gives: name is the field name (case-insensitive), value its
 * value. SpamAssassin: X-Spam-Flag (YES/NO), X-Spam-Status ("Yes, score=5.1" / "No, hits=1.2").
 * rspamd: X-Spamd-Result ("default: True [12.3 / 15.0]"), X-Spam (Yes/No), X-Rspamd-Action
 * ("reject", "add header", "rewrite subject" = spam; "no action", "greylist" = ham).
 * Returns the verdict (KS_MAIL_UNKNOWN if the field is not a filter header or unreadable)
 * and sets *score to the score if the value has one (else NAN). */
KS_API enum ks_mail_verdict ks_mail_verdict_header(const char *name, const char *value, size_t len,
                                                   double *score);

enum ks_mail_spf {
    KS_MAIL_SPF_ABSENT = 0, /* no SPF result header */
    KS_MAIL_SPF_NONE,
    KS_MAIL_SPF_NEUTRAL,
    KS_MAIL_SPF_PASS,
    KS_MAIL_SPF_FAIL,
    KS_MAIL_SPF_SOFTFAIL,
    KS_MAIL_SPF_TEMPERROR,
    KS_MAIL_SPF_PERMERROR,
};
KS_API const char *ks_mail_spf_name(enum ks_mail_spf r); /* "absent", "none", "pass", ... */
/* The SPF result of a Received-SPF: (RFC 7208 9.1) or Authentication-Results: (RFC 8601,
 * "spf=...") value; KS_MAIL_SPF_ABSENT if it carries none. */
KS_API enum ks_mail_spf ks_mail_spf_header(const char *name, const char *value, size_t len);

/* The campaign key of a (decoded, UTF-8) subject: reply/forward prefixes and list tags
 * removed, case folded, numbers, dates, random tokens and the recipient's names (names, may
 * be NULL: UTF-8 words separated by spaces, e.g. the To: display name and local part)
 * replaced by '#' and '*', spaces collapsed. Writes a NUL-terminated key into out (truncated
 * at a character boundary to size - 1 bytes); returns its length. */
KS_API size_t ks_mail_subject_key(const char *subj, size_t len, const char *names, char *out,
                                  size_t size);

/* --- URLs -------------------------------------------------------------------------------- */

/* Undoes the usual obfuscations of URLs in text: hxxp/hXXp/h**p -> http, "[.]", "(.)",
 * "{.}", "[dot]", "(dot)", " dot " between labels -> ".", "[:]" -> ":", spaces inside
 * "h t t p : / /" and around dots (" . "). Writes at most size - 1 bytes and a NUL; returns
 * the length written and sets *changed when something was undone. */
KS_API size_t ks_mail_deobfuscate(const char *s, size_t len, char *out, size_t size, bool *changed);

/* Flags of a normalised URL. */
#define KS_MAIL_URL_IDN 0x01u      /* the host was internationalised (converted to A-labels) */
#define KS_MAIL_URL_NUMERIC 0x02u  /* the host was a numeric IP (decimal/octal/hex: made dotted) */
#define KS_MAIL_URL_IP 0x04u       /* the host is an IP address */
#define KS_MAIL_URL_USERINFO 0x08u /* the URL had user@ before the host (dropped) */
#define KS_MAIL_URL_OBFUSCATED 0x10u /* found only after deobfuscation */
#define KS_MAIL_URL_BARE 0x20u       /* written without a scheme (www.example.com/...) */
#define KS_MAIL_URL_REDIRECT 0x40u   /* the target unwrapped from a redirector URL */
#define KS_MAIL_URL_MISMATCH 0x80u   /* a link whose visible text shows another domain */

/* Normalises an absolute http, https or ftp URL: scheme and host lowercased, IDN host to
 * punycode (IDNA 2008 + TR46), numeric hosts (3232235777, 0300.0250.1.1, 0xc0a80101, 10.1)
 * to dotted quads, default port, userinfo and fragment dropped, '\' as '/', empty path as
 * "/", %XX of unreserved characters decoded, other %XX in uppercase, bytes that may not
 * appear encoded. Writes a NUL-terminated URL into out; returns its length, or 0 if s is not
 * such a URL or out is too small. *flags gets KS_MAIL_URL_* bits (may be NULL). */
KS_API size_t ks_mail_url_normalize(const char *s, size_t len, char *out, size_t size,
                                    unsigned *flags);

/* The host of a normalised URL (borrowed slice of url) and its registered domain (public
 * suffix + 1 label, from the Public Suffix List via libpsl; the host itself for an IP). */
KS_API bool ks_mail_url_host(const char *url, size_t len, const char **host, size_t *hlen);
KS_API size_t ks_mail_registered_domain(const char *host, size_t hlen, char *out, size_t size);

/* A URL found in a message. Strings are borrowed from the analyzer until its next parse. */
struct ks_mail_url {
    const char *url;    /* normalised */
    const char *where;  /* "text", "html:a.href", "html:img.src", "html:meta.refresh",
                           "html:text", "attachment:text", "redirect", ... */
    const char *domain; /* registered domain */
    const char *shown;  /* MISMATCH: the domain the link text shows; else "" */
    unsigned flags;     /* KS_MAIL_URL_* */
};

/* The redirector list: entries "host/path?param" (host matches itself and its subdomains;
 * path is a prefix; param the query parameter holding the target; "?*" = any parameter whose
 * value is an absolute URL). ks_mail_redirectors_default() is a NULL-terminated list of
 * well-known search-engine and tracker redirectors. */
KS_API const char *const *ks_mail_redirectors_default(void);

/* Extracts URLs from text (plain text, or HTML when html is true: the URL attributes and text
 * nodes of its HTML5 tree are read, through our tokenizer when the tree is the token sequence,
 * else Gumbo's tree; the results are the same), deobfuscating, normalising and unwrapping
 * redirectors (NULL: the default list). fn gets each distinct URL once per call (strings
 * borrowed for the call); it returns nonzero to stop. At most max_urls URLs (0 = 4096).
 * Returns the number of URLs reported. Thread-safe. */
KS_API size_t ks_mail_urls_extract(const char *s, size_t len, bool html,
                                   const char *const *redirectors, size_t max_urls,
                                   int (*fn)(void *user, const struct ks_mail_url *u), void *user);

/* --- attachments ------------------------------------------------------------------------- */

#define KS_MAIL_ATT_EXECUTABLE 0x01u     /* PE, ELF, Mach-O, script by content */
#define KS_MAIL_ATT_SUSPICIOUS 0x02u     /* double extension, .scr/.pif/.exe..., RTL override */
#define KS_MAIL_ATT_ARCHIVE 0x04u        /* an archive (members listed) */
#define KS_MAIL_ATT_EXE_IN_ARCHIVE 0x08u /* an executable or suspicious member in the archive */
#define KS_MAIL_ATT_ENCRYPTED 0x10u      /* archive members could not be read (password) */

struct ks_mail_attachment {
    const char *name;  /* file name ("" if none) */
    const char *mime;  /* declared Content-Type */
    const char *magic; /* MIME type by content (libmagic) */
    char sha256[65];   /* lowercase hex */
    char md5[33];
    uint64_t size;       /* decoded bytes */
    unsigned flags;      /* KS_MAIL_ATT_* */
    const char *members; /* archive member names, '\n'-separated ("" if none) */
    bool av_scanned;     /* an antivirus engine scanned it (ks_mail_config.av) */
    const char *av;      /* the ClamAV signature name; "" when clean or not scanned */
    const char *category; /* ks_mail_att_category(): "malware", "undetected", "suspicious",
                             "other" */
};

/* The class of an attachment for the spam-to-malware shares, the first that applies:
 * "malware" (the antivirus names it), "undetected" (executable by content, no antivirus
 * hit), "suspicious" (a suspicious name, or an executable or suspicious name in an archive),
 * "other". */
KS_API const char *ks_mail_att_category(bool av_hit, unsigned flags);

/* True if a file name is suspicious for mail (double extension ending in an executable
 * type, .exe .scr .pif .com .bat .cmd .js .vbs .jar .lnk .hta ..., U+202E). */
KS_API bool ks_mail_name_suspicious(const char *name, size_t len);

/* --- message analysis -------------------------------------------------------------------- */

#define KS_MAIL_WANT_URLS 0x1u
#define KS_MAIL_WANT_ATTACHMENTS 0x2u
#define KS_MAIL_WANT_FUZZY 0x4u
#define KS_MAIL_WANT_HEADERS 0x8u /* time, sender hops, SPF, Return-Path, subject, From:; without
                                     it only the Message-ID and the filter verdict are read */
#define KS_MAIL_WANT_ALL 0xfu

struct ks_mail_config {
    const struct ks_prefix_set *trusted; /* the operator's relays (may be NULL: only private
                                            and loopback addresses are skipped) */
    const char *const *redirectors;      /* NULL: ks_mail_redirectors_default() */
    const struct ks_geo *geo;            /* country/AS of the sender (may be NULL) */
    unsigned want;                       /* KS_MAIL_WANT_* (default ALL) */
    bool verdict_headers;                /* read filter headers (default true) */
    uint32_t max_parts;                  /* MIME parts walked per message (default 1024) */
    uint32_t max_depth;                  /* multipart nesting walked (default 128) */
    uint32_t max_urls;                   /* URLs kept per message (default 1024) */
    uint64_t max_archive;                /* bytes of an archive read for members (8 MiB) */
    struct ks_samples *av; /* antivirus verdicts of attachments: a sample registry with a
                              ClamAV database (borrowed; NULL: none) */
    bool html_tree;        /* HTML always through Gumbo's tree (the reference the tokenizer
                              is checked against; slower). Default false */
    struct ks_spf *spf;    /* SPF checks of messages without a result header, from the sender
                              hop's address and HELO and Return-Path (borrowed; NULL: none) */
    bool mime_gmime;       /* MIME structure always read by GMime (the reference the module's
                              own walker is checked against; slower). Default false: the
                              walker, with GMime for the messages it does not follow */
    struct ks_mail_memo *memo; /* what the analyzers remember of attachment contents, shared
                                  (borrowed; NULL: each analyzer keeps its own) */
};
KS_API void ks_mail_config_default(struct ks_mail_config *cfg);

/* What analyzers remember of the attachment contents they saw, by SHA-256: a campaign sends the
 * same file thousands of times, and libmagic, the archive listing, MD5 and the antivirus scan
 * then run once per content. The last 2048 distinct contents (1024 sets of 2, the least recently used of a set
 * replaced). Thread-safe: one memo serves the analyzers of an ingest on every thread. */
struct ks_mail_memo;
KS_API int ks_mail_memo_new(struct ks_mail_memo **mp);
KS_API void ks_mail_memo_free(struct ks_mail_memo *m);
struct ks_mail_memo_stats {
    uint64_t lookups, hits, replaced; /* replaced: contents pushed out by newer ones */
    uint64_t av_hits;                 /* antivirus verdicts taken from the memo, not scanned */
};
KS_API void ks_mail_memo_stats(struct ks_mail_memo *m, struct ks_mail_memo_stats *st);

struct ks_mail_msg {
    const char *message_id; /* without <>; "" if absent */
    const char *subject;    /* decoded (RFC 2047), UTF-8 */
    const char *subject_key;
    const char *from;        /* the From: address ("" if none) */
    int64_t time_us;         /* Date:, else the first Received: date, else 0 */
    const char *time_source; /* "date", "received", "envelope" or "none" */
    enum ks_mail_verdict verdict;
    double score;               /* NAN if no score */
    const char *verdict_source; /* the header it came from ("" if none) */
    struct ks_addr sender;      /* first untrusted hop (family 0 if none) */
    const char *sender_helo;
    uint32_t hops;   /* Received fields */
    char country[3]; /* "--" when unknown */
    uint32_t asn;
    enum ks_mail_spf spf;
    bool spf_checked;  /* spf was evaluated here (ks_mail_config.spf), not read from a header */
    const char *return_path; /* the envelope sender (Return-Path:, without <>; "" if none) */
    const char *fuzzy; /* ssdeep of the body text ("" if none) */
    uint64_t size;
    uint32_t parts;    /* MIME parts */
    uint32_t depth;    /* deepest multipart nesting */
    unsigned problems; /* KS_MAIL_PROB_* bits */
    size_t nurls;
    const struct ks_mail_url *urls;
    size_t natt;
    const struct ks_mail_attachment *att;
};

/* ks_mail_msg.problems */
#define KS_MAIL_PROB_NOHEADERS 0x01u  /* no header field could be read */
#define KS_MAIL_PROB_CHARSET 0x02u    /* a charset was unknown or lied: text repaired */
#define KS_MAIL_PROB_BOUNDARY 0x04u   /* multipart without boundary or its end */
#define KS_MAIL_PROB_DEPTH 0x08u      /* nesting deeper than max_depth: not walked */
#define KS_MAIL_PROB_PARTS 0x10u      /* more parts than max_parts: not walked */
#define KS_MAIL_PROB_TOOCOMPLEX 0x20u /* too many multiparts to parse safely: headers only */
#define KS_MAIL_PROB_URLS 0x40u       /* more URLs than max_urls: the rest dropped */

struct ks_mail_stats {
    uint64_t messages, spam, ham, unknown;
    uint64_t no_headers, charset, boundary, depth, parts, too_complex, urls_dropped;
    uint64_t with_sender, urls, attachments;
    uint64_t av_scanned, av_detected, av_errors; /* attachments given to the antivirus */
    uint64_t spf_checked, spf_skipped;           /* SPF evaluated here / not (no sender hop) */
    uint64_t mime_fallbacks; /* messages the walker handed to GMime (malformed, rare forms) */
    uint64_t boundary_recovered; /* multiparts split at a boundary found in their body (the
                                    declared one missing or never used; also counted in boundary) */
};

struct ks_mail; /* opaque */

KS_API int ks_mail_new(const struct ks_mail_config *cfg, const struct ks_diag *diag,
                       struct ks_mail **mp);
KS_API void ks_mail_free(struct ks_mail *m); /* NULL is fine */
/* Analyses one message. *out points into m and is valid until the next call. Problems are
 * counted and the first ones reported through diag with raw->loc. KS_OK, KS_ENOMEM. */
KS_API int ks_mail_feed(struct ks_mail *m, const struct ks_mail_raw *raw,
                        const struct ks_mail_msg **out);
KS_API void ks_mail_stats(const struct ks_mail *m, struct ks_mail_stats *st);

/* --- store and statistics ---------------------------------------------------------------- */

/* Writes one analysed message (and its URLs and attachments) as rows of the mail tables
 * through an open ingest (ks_store.h). label overrides the verdict when not UNKNOWN. */
struct ks_ingest;
KS_API int ks_mail_store_msg(struct ks_ingest *ing, const struct ks_mail_msg *msg,
                             enum ks_mail_verdict label);
/* The same rows as values (ks_store.h) handed to fn(user, table_id, vals, nvals): the
 * mail_messages row, then one per URL and per attachment. Stops at the first non-zero return
 * of fn and returns it (else KS_OK). The values borrow from msg and from the call's own
 * buffers: valid during fn's call only. Thread-safe (msg is only read). */
struct ks_store_value;
KS_API int ks_mail_rows(const struct ks_mail_msg *msg, enum ks_mail_verdict label,
                        int (*fn)(void *user, int table_id, const struct ks_store_value *vals,
                                  size_t nvals),
                        void *user);

struct ks_mail_stats_config {
    int64_t from_us, to_us; /* period [from, to); 0, 0 = everything */
    int32_t tz_offset_s;    /* days and weeks in this zone (default UTC) */
    uint32_t min_campaign;  /* messages for a group to be a campaign (default 10) */
    uint32_t max_campaigns; /* reported per kind (default 20) */
    double burst_factor;    /* burst: day share >= factor x campaign median share (3) */
    double burst_min_share; /* and >= this share of the day's mail (0.01) */
    int fuzzy_threshold;    /* ssdeep score to join a cluster (default 60) */
};
KS_API void ks_mail_stats_config_default(struct ks_mail_stats_config *cfg);

/* Computes the statistics from the store and emits them as JSON-ready records: fn(user,
 * kind, json) where kind is "week", "day", "year", "country", "sender", "campaign", "spf"
 * and json a NUL-terminated JSON object (borrowed for the call). KS_OK or the store's error. */
KS_API int ks_mail_stats_compute(struct ks_store *s, const struct ks_mail_stats_config *cfg,
                                 int (*fn)(void *user, const char *kind, const char *json),
                                 void *user);

#endif
