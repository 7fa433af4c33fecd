/* The hand-written MIME walker of the hot path (walker.c). */
#ifndef KS_MAIL_WALKER_H
#define KS_MAIL_WALKER_H

#include "mail_int.h"

#include <gmime/gmime.h>
#include <stdbool.h>
#include <stddef.h>

/* A header field: name and raw value (after the colon, folds and final newline included, as
 * GMime's raw value), both slices of the message. */
struct mail_hdr {
    const char *name;
    size_t nlen;
    const char *val;
    size_t vlen;
};

enum { MAIL_WNODE_LEAF = 0, MAIL_WNODE_MULTIPART = 1 };

/* A MIME node, in document (pre-)order. */
struct mail_wnode {
    uint8_t kind;
    bool no_boundary;            /* multipart without a boundary parameter */
    uint32_t depth;              /* nesting (the message body is 0) */
    uint32_t end;                /* multipart: index after its last descendant */
    GMimeContentType *ct;        /* the object's content type (GMime's parse) */
    GMimeContentDisposition *cd; /* NULL if none */
    int enc;                     /* GMimeContentEncoding */
    size_t off, len;             /* leaf: the raw content in the message */
};

struct mail_walk {
    GMimeParserOptions *opts; /* value parsers' options (its warning callback is ours) */
    struct mail_hdr *hdrs;    /* the message's header fields, in order */
    size_t nhdrs, hcap;
    struct mail_hdr *phdrs; /* scratch: a part's header fields */
    size_t nphdrs, phcap;
    struct mail_wnode *nodes;
    size_t nnodes, ncap;
    unsigned warn; /* KS_MAIL_PROB_BOUNDARY where GMime would have warned */
    bool ct_invalid;
    char rbound[72]; /* the boundary recovered from the body ("" if none; mail_boundary_guess) */
    char *bbuf;      /* decoded bodies */
    size_t bcap;
};

void mail_walk_init(struct mail_walk *w, GMimeParserOptions *opts);
void mail_walk_clear(struct mail_walk *w);
void mail_walk_fini(struct mail_walk *w);
/* Reads a message's structure: true, or false when GMime must read this message. */
bool mail_walk_parse(struct mail_walk *w, const char *p, size_t n);
/* A leaf's decoded bytes (valid until the next call). */
const char *mail_walk_decode(struct mail_walk *w, const struct mail_wnode *d, const char *msg,
                             size_t *outlen);
/* Issue #7: the boundary of a multipart whose declared boundary (NULL: none) never occurs as
 * a delimiter line in its body (p, n), found in the body: the first line "--X" (X: 1..70
 * RFC 2046 bchars, blanks after it, no "=?") that is followed by a MIME header block (field
 * lines and folds, Content-Type, -Transfer-Encoding or -Disposition among them, then an empty
 * line) and is either the body's first non-blank line or occurs again ("--X" or "--X--").
 * At most 8 candidates are tried. True with X's offset and length in (p, n). */
bool mail_boundary_guess(const char *p, size_t n, const char *declared, size_t *xoff, size_t *xlen);
/* Where the body of the message (p, n) begins, by the walker's header rules; false when the
 * walker would not read its header block. */
bool mail_walk_body_start(const char *p, size_t n, size_t *body);
/* GMime's decoded header value (unfolded, RFC 2047 words decoded); g_free it. */
char *mail_walk_value(struct mail_walk *w, const char *v, size_t n);

#endif
