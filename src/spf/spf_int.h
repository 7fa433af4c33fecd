/* SPF internals shared by the parser, the macro expander and the evaluator. */
#ifndef KS_SPF_INT_H
#define KS_SPF_INT_H

#include "kansoku/ks_spf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer with a hard maximum: appends past max fail with KS_ELIMIT. The
 * contents are always NUL-terminated once something was appended. */
struct spf_buf {
    char *p;
    size_t len, cap, max;
};
void spf_buf_init(struct spf_buf *b, size_t max);
void spf_buf_fini(struct spf_buf *b);
int spf_buf_add(struct spf_buf *b, const char *s, size_t n);
int spf_buf_addc(struct spf_buf *b, char c);
const char *spf_buf_str(const struct spf_buf *b); /* "" when empty */

enum spf_mech {
    SPF_ALL,
    SPF_INCLUDE,
    SPF_A,
    SPF_MX,
    SPF_PTR,
    SPF_IP4,
    SPF_IP6,
    SPF_EXISTS,
    SPF_MODIFIER, /* an unknown modifier, kept but not evaluated */
};

struct spf_term {
    uint8_t mech;      /* enum spf_mech */
    char qual;         /* '+', '-', '~', '?' */
    uint8_t cidr4;     /* a, mx: 0..32 (32 when absent); ip4 prefix */
    uint8_t cidr6;     /* a, mx: 0..128 (128 when absent); ip6 prefix */
    bool spec_has_p;   /* the domain-spec uses %{p} */
    uint32_t text_off; /* the whole term in the record text */
    uint32_t text_len;
    uint32_t spec_off; /* domain-spec (mechanisms), value (modifiers); spec_len 0 = none */
    uint32_t spec_len;
    uint32_t name_len; /* modifiers: the name is text_off..+name_len */
    uint8_t ip[16];    /* ip4 (4 bytes), ip6 */
};

struct spf_record {
    char *text; /* owned copy, NUL-terminated */
    size_t len;
    struct spf_term *terms;
    uint32_t nterms, cap;
    int32_t redirect; /* index of the redirect= term or -1 */
    int32_t exp;      /* index of the exp= term or -1 */
};

/* True when txt starts an SPF version 1 record ("v=spf1" then space or end, any case). */
bool spf_is_v1(const char *txt, size_t len);
/* Parses a whole record (RFC 7208 4.6: any syntax error anywhere is a permerror). On error
 * returns KS_EFORMAT with a reason in err; r is then empty but valid for spf_record_fini. */
int spf_record_parse(const char *txt, size_t len, struct spf_record *r, char *err, size_t errsize);
void spf_record_fini(struct spf_record *r);

/* Macro syntax (RFC 7208 7.1). exp: the explain-string alphabet (adds c, r, t) and spaces.
 * has_p (may be NULL) is set when %{p} appears. KS_OK or KS_EFORMAT. */
int spf_macro_check(const char *s, size_t len, bool exp, bool *has_p);
/* A domain-spec: macro-string then domain-end ("." toplabel ["."] or a macro-expand). */
int spf_domain_spec_check(const char *s, size_t len, bool *has_p);

/* The values the macro letters expand to. */
struct spf_macro_ctx {
    const char *s, *l, *o, *d, *i, *p, *v, *h, *c, *r, *t;
};
/* Appends the expansion of s to out. exp: explain-string rules (c, r, t allowed). Errors:
 * KS_EFORMAT (syntax), KS_ELIMIT (out->max reached). */
int spf_macro_expand(const struct spf_macro_ctx *m, const char *s, size_t len, bool exp,
                     struct spf_buf *out);
/* Makes an expanded target-name usable as a query name (RFC 7208 7.3): drops one final dot and
 * removes leading labels until at most 253 characters remain. Returns the new start. */
size_t spf_domain_truncate(char *name, size_t *len);
/* True when name can be put in a DNS query: 1..253 characters, labels 1..63. */
bool spf_name_ok(const char *name, size_t len);
/* RFC 7208 4.3: a domain the check can start from (FQDN, valid labels, toplabel syntax). */
bool spf_domain_ok(const char *name, size_t len);

#endif
