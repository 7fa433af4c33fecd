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
    char *bbuf; /* decoded bodies */
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
/* GMime's decoded header value (unfolded, RFC 2047 words decoded); g_free it. */
char *mail_walk_value(struct mail_walk *w, const char *v, size_t n);

#endif
