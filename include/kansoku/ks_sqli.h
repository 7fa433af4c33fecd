/* kansoku sqli: SQL-injection detection for HTTP parameter values.
 *
 * Two detectors run on every value: the named signatures of a rules file (all their patterns
 * compiled into one Vectorscan database, scanned once per value) and the generic detector
 * SQL_Injection, which tokenizes the value as SQL in each usual context (bare, after a number,
 * inside '...', "...", `...`, inside parentheses) and decides from the token sequence whether
 * the value escapes its literal and continues with plausible SQL. See src/sqli/README.md.
 *
 * Thread-safety: a struct ks_sqli holds scratch space and is used by one thread at a time;
 * make one per thread. The tokenizer and decoder functions are reentrant. */
#ifndef KS_SQLI_H
#define KS_SQLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kansoku/ks_core.h"

/* ---- SQL tokenizer (MySQL, PostgreSQL, MSSQL, Oracle, SQLite, DB2 lexical rules) ---- */

enum ks_sqli_tok_type {
    KS_SQLI_T_NONE = 0,
    KS_SQLI_T_NUMBER,   /* 1 1.5 .5 1. 1e5 0x1F 0b101 X'AF' B'01' */
    KS_SQLI_T_STRING,   /* '..' "..." N'..' E'..' $$..$$ $tag$..$tag$ (see flags) */
    KS_SQLI_T_IDENT,    /* a word that is neither keyword nor function call */
    KS_SQLI_T_QIDENT,   /* `name` [name] */
    KS_SQLI_T_VAR,      /* @x @@x @"x" :x ?  */
    KS_SQLI_T_KEYWORD,  /* a word of the keyword table (sub: enum ks_sqli_kw class) */
    KS_SQLI_T_FUNCTION, /* a word directly followed by '(' */
    KS_SQLI_T_OPERATOR, /* + - * / % = <> != < > <= >= <=> || && | & ^ ~ ! :: := << >> */
    KS_SQLI_T_LPAREN,
    KS_SQLI_T_RPAREN,
    KS_SQLI_T_COMMA,
    KS_SQLI_T_SEMICOLON,
    KS_SQLI_T_DOT,
    KS_SQLI_T_COMMENT, /* -- and # to end of line, C-style blocks (MySQL bang-comments are code) */
    KS_SQLI_T_OTHER,   /* any other byte (one per token) */
};

/* Token flags. */
#define KS_SQLI_TF_UNTERMINATED 0x01u   /* string/comment/quoted name runs to the end */
#define KS_SQLI_TF_LINE_COMMENT 0x02u   /* comment is -- or # (to end of line) */
#define KS_SQLI_TF_KNOWN_FUNC 0x04u     /* function name is in the SQL function table */
#define KS_SQLI_TF_CMP 0x08u            /* operator is a comparison (= <> != < > <= >= <=>) */
#define KS_SQLI_TF_LOGIC 0x10u          /* operator is && || (boolean in MySQL) */
#define KS_SQLI_TF_SPACE_BEFORE 0x20u   /* white space or a comment precedes the token */
#define KS_SQLI_TF_DANGEROUS_FUNC 0x40u /* function typical of attacks (sleep, char, ...) */
#define KS_SQLI_TF_INFO_FUNC 0x80u      /* function that reveals the server (version, user) */

/* Keyword classes (token sub for KS_SQLI_T_KEYWORD). */
enum ks_sqli_kw {
    KS_SQLI_KW_OTHER = 0,
    KS_SQLI_KW_STMT,    /* starts a statement: SELECT INSERT UPDATE DELETE DROP EXEC ... */
    KS_SQLI_KW_LOGIC,   /* AND OR XOR NOT */
    KS_SQLI_KW_OPWORD,  /* LIKE RLIKE REGEXP IS IN BETWEEN DIV MOD SOUNDS ESCAPE COLLATE */
    KS_SQLI_KW_LITERAL, /* NULL TRUE FALSE CURRENT_USER ... */
    KS_SQLI_KW_CLAUSE,  /* FROM WHERE UNION ORDER GROUP BY HAVING LIMIT ... */
};

struct ks_sqli_token {
    uint32_t off; /* byte offset in the tokenized value */
    uint32_t len; /* bytes */
    uint8_t type; /* enum ks_sqli_tok_type */
    uint8_t sub;  /* keyword class; quote char for strings and quoted names */
    uint16_t flags;
    uint16_t kw; /* keyword id (KS_SQLI_T_KEYWORD), internal numbering */
};

/* Where the value starts, for the tokenizer: as SQL code, or inside a literal opened by the
 * surrounding statement (then the value's first unescaped closing quote ends that literal,
 * and the literal's text becomes one string token). */
enum ks_sqli_ctx {
    KS_SQLI_CTX_BARE = 0, /* ... WHERE id=VALUE */
    KS_SQLI_CTX_SQUOTE,   /* ... WHERE name='VALUE' */
    KS_SQLI_CTX_DQUOTE,   /* ... WHERE name="VALUE" */
    KS_SQLI_CTX_BACKTICK, /* ... ORDER BY `VALUE` */
};

/* Tokenizes len bytes of s in the context ctx into out[0..cap). Comments are kept as tokens.
 * Returns the number of tokens written; stops at cap (then *rest, if not NULL, is the offset
 * where tokenizing stopped, else len). Never fails; any byte sequence is tokenized. */
KS_API size_t ks_sqli_tokenize(const uint8_t *s, size_t len, enum ks_sqli_ctx ctx,
                               struct ks_sqli_token *out, size_t cap, size_t *rest);

/* Name of a token type ("number", "string", ...), for tests and debugging. */
KS_API const char *ks_sqli_tok_type_name(unsigned type);

/* ---- value decoding as web servers do it ---- */

#define KS_SQLI_DEC_PLUS 0x01u  /* '+' means space (query strings and form bodies) */
#define KS_SQLI_DEC_MULTI 0x02u /* decode again while %XX remains (double encoding), max 3 */

struct ks_sqli_decode_stats {
    uint32_t invalid_pct; /* '%' not followed by two hex digits (kept literally) */
    uint32_t overlong;    /* overlong UTF-8 sequences folded to their code point */
    uint32_t nul;         /* NUL bytes removed */
    uint32_t passes;      /* decoding passes made (1 + re-decodes) */
};

/* Decodes in[0..len) into out[0..cap): %XX (either case), %uXXXX (as UTF-8), '+' (with
 * KS_SQLI_DEC_PLUS), repeated decoding (with KS_SQLI_DEC_MULTI), overlong UTF-8 folded to the
 * shortest form (ASCII for %C0%AF etc.), NUL bytes removed. The output is never longer than
 * the input; cap >= len always suffices. Returns the output length; st may be NULL. */
KS_API size_t ks_sqli_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                             unsigned flags, struct ks_sqli_decode_stats *st);

/* ---- the detector ---- */

enum ks_sqli_method { KS_SQLI_M_UNKNOWN = 0, KS_SQLI_M_GET, KS_SQLI_M_POST, KS_SQLI_M_OTHER };

enum ks_sqli_field {
    KS_SQLI_F_UNKNOWN = 0,
    KS_SQLI_F_QUERY, /* a query-string parameter */
    KS_SQLI_F_BODY,  /* a form/JSON body parameter, or a whole body */
    KS_SQLI_F_PATH,  /* a path segment */
    KS_SQLI_F_COOKIE,
    KS_SQLI_F_HEADER,
};

/* One value to check: decoded bytes plus what the rules' conditions may look at. */
struct ks_sqli_value {
    const uint8_t *data;
    size_t len;
    enum ks_sqli_method method;
    enum ks_sqli_field field;
    const char *path; /* the request path, or NULL when unknown (rules with path= then skip) */
};

#define KS_SQLI_MAX_HITS 16

/* One signature that matched: its id (ks_sqli_sig_name) and the matching span in the value. */
struct ks_sqli_hit {
    uint16_t sig;
    uint32_t start, end;
};

struct ks_sqli_result {
    uint32_t nhits; /* distinct signatures, in rule-file order */
    struct ks_sqli_hit hits[KS_SQLI_MAX_HITS];
    uint8_t context; /* generic: enum ks_sqli_ctx that decided */
    int16_t score;   /* generic: evidence score of that context */
};

/* A detection as the scanner will store it (time UTC, microseconds). Strings borrowed. */
struct ks_sqli_detection {
    int64_t time_us;
    const char *source; /* client address, text */
    const char *host;   /* target host (Host header or server address) */
    const char *method; /* "GET", "POST", ... */
    const char *field;  /* parameter name ("q", "cookie:sid", "body") */
    const char *signature;
    const uint8_t *value; /* decoded value */
    size_t value_len;
    const uint8_t *original; /* value as seen on the wire, for evidence */
    size_t original_len;
    uint32_t span_start, span_end; /* in value */
};

struct ks_sqli_config {
    const char *rules_path; /* rules file; NULL = ks_sqli_default_rules_path() */
    bool no_rules;          /* run only the generic detector */
    bool no_generic;        /* run only the named signatures */
    uint32_t max_value_len; /* bytes of a value analysed (default 65536; the rest counted) */
    uint32_t max_tokens;    /* tokens per context (default 2048) */
    int min_score;          /* generic decision threshold (default 3, see README) */
    uint32_t cache_entries; /* remember this many benign values (hash, method, field) so that
                               repeats (User-Agent, Referer, common paths) skip the detectors;
                               0 = off (default); rounded up to a power of two */
    struct ks_diag *diag;   /* rules-file errors and truncated values; may be NULL */
    const char *db_cache_dir; /* where compiled rule databases are kept between runs, keyed
                                 by the patterns, the Vectorscan version and the CPU; NULL =
                                 compile every time. A missing, stale or damaged file is
                                 compiled again and replaced; the directory is created. */
};

struct ks_sqli_stats {
    uint64_t values;
    uint64_t injections; /* values with at least one hit */
    uint64_t generic_hits;
    uint64_t truncated;      /* values longer than max_value_len */
    uint64_t token_overflow; /* contexts that hit max_tokens */
    uint64_t scanned;        /* values the signature database was scanned on; the others held
                                none of the rules' required literals (the pre-filter) */
    uint64_t generic_inert;  /* values the generic detector skipped: nothing but words and
                                numbers (see src/sqli/README.md) */
    uint64_t cache_hits;     /* values found benign in the cache */
    uint32_t dbs_compiled;   /* rule databases compiled by ks_sqli_new */
    uint32_t dbs_cached;     /* rule databases loaded from db_cache_dir instead */
};

struct ks_sqli;

KS_API void ks_sqli_config_default(struct ks_sqli_config *cfg);

/* The rules file used when the config names none: $KANSOKU_SQLI_RULES, else the installed
 * DATADIR/kansoku/sqli/rules.conf, else the source tree's copy (for uninstalled builds). */
KS_API const char *ks_sqli_default_rules_path(void);

/* Loads and compiles the rules, allocates scratch space. Errors: KS_EIO (rules unreadable),
 * KS_EFORMAT (bad rule line or pattern; reported through cfg->diag with its line),
 * KS_ENOMEM, KS_ELIMIT (too many signatures or patterns). */
KS_API int ks_sqli_new(const struct ks_sqli_config *cfg, struct ks_sqli **sp);

/* Checks one value. Returns 1 if it is an injection (r->nhits > 0), 0 if not. No allocation.
 * r is always filled. */
KS_API int ks_sqli_check(struct ks_sqli *s, const struct ks_sqli_value *v,
                         struct ks_sqli_result *r);

/* Signature names: ids 0..count-1; SQL_Injection is always present. */
KS_API unsigned ks_sqli_sig_count(const struct ks_sqli *s);
KS_API const char *ks_sqli_sig_name(const struct ks_sqli *s, unsigned sig);

KS_API void ks_sqli_stats(const struct ks_sqli *s, struct ks_sqli_stats *st);
KS_API void ks_sqli_free(struct ks_sqli *s);

/* ---- campaigns (src/sqli/README.md, "Campaigns") ---- */

enum ks_sqli_campaign_kind {
    KS_SQLI_CAMPAIGN_UNKNOWN = 0,
    KS_SQLI_CAMPAIGN_THEFT,      /* few (domestic) sources, few targets, short intense bursts */
    KS_SQLI_CAMPAIGN_OVERLOAD,   /* few targets, long-running, many spread sources */
    KS_SQLI_CAMPAIGN_DEFACEMENT, /* one source sweeping many servers */
};

struct ks_sqli_campaign_config {
    int64_t session_gap_us;   /* a source's detections this close form a session (1 h) */
    int64_t merge_gap_us;     /* sessions on a target this close join a campaign (24 h) */
    uint32_t sweep_targets;   /* a session over this many targets is a sweep (5) */
    uint32_t min_detections;  /* smaller groups are not reported (5) */
    uint64_t max_events;      /* detections held (20 M); more are counted as dropped */
    const char *home_country; /* ISO code for "domestic" ("JP") */
};

struct ks_sqli_campaign {
    uint32_t id;
    enum ks_sqli_campaign_kind kind;
    int64_t start_us, end_us;
    uint64_t detections;
    uint32_t sources, targets, signatures;
    uint32_t peak_per_min;   /* most detections in any 60 s */
    uint32_t active_minutes; /* distinct minutes with detections */
    double top_source_share; /* detections of the busiest source / all */
    double domestic_share;   /* sources in home_country / sources with a known country; -1 */
    double top_signature_share;
    const char *top_signature, *top_source, *top_host; /* borrowed from the handle */
    char *features; /* "sources=1 targets=12 ...": what decided (owned by the handle) */
};

struct ks_sqli_campaigns;

KS_API void ks_sqli_campaign_config_default(struct ks_sqli_campaign_config *cfg);
KS_API int ks_sqli_campaigns_new(const struct ks_sqli_campaign_config *cfg,
                                 struct ks_sqli_campaigns **cp);
/* Adds one detection (any order). country: ISO code of the source or NULL/"--". KS_ELIMIT
 * past max_events (counted), KS_ENOMEM. */
KS_API int ks_sqli_campaigns_add(struct ks_sqli_campaigns *c, int64_t t_us, const char *source,
                                 const char *host, const char *signature, const char *country);
/* Groups and classifies what was added; then count/get list the campaigns. */
KS_API int ks_sqli_campaigns_finish(struct ks_sqli_campaigns *c);
KS_API size_t ks_sqli_campaigns_count(const struct ks_sqli_campaigns *c);
KS_API const struct ks_sqli_campaign *ks_sqli_campaigns_get(const struct ks_sqli_campaigns *c,
                                                            size_t i);
KS_API uint64_t ks_sqli_campaigns_dropped(const struct ks_sqli_campaigns *c);
KS_API void ks_sqli_campaigns_free(struct ks_sqli_campaigns *c); /* NULL is fine */
KS_API const char *ks_sqli_campaign_kind_name(enum ks_sqli_campaign_kind k);

#endif
