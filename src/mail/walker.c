/* The MIME walker of the hot path: a hand-written reader of a message's structure that works
 * on the message bytes in place.
 *
 * Why not GMime for every message: g_mime_parser_construct_message builds a GObject per header
 * (and decodes every header's value for its warning callback), per part, per content type and
 * parameter list, and copies every part's body into a memory stream, which is then copied
 * again through a filter stream to decode it. For the analysis, most of that is waste: it
 * needs a dozen headers of the message, the Content-* headers of each part and the decoded
 * bytes of the leaves. This walker reads the header blocks and boundaries itself (GMime 3.2's
 * rules, ported: the same boundary stack, the same end-of-content and warning decisions) and
 * hands out (offset, length) slices of the raw message; only the header values the analysis
 * uses go through GMime's own value parsers (content types, dispositions, encoded words,
 * addresses, message ids), and bodies are decoded with GMime's encoding steppers straight
 * into a reused buffer — so that the results are GMime's.
 *
 * It gives up (mail_walk_parse returns false, the caller then uses GMime for the message)
 * on what it does not follow: header lines that are neither fields nor folds, NUL in a
 * header block, a header block without its end, a boundary inside a header block,
 * message/rfc822 parts, multipart/digest, uuencode, encoded words in a Content-Type,
 * nesting deeper than WALK_MAX_DEPTH, more than WALK_MAX_NODES parts. The corpus test
 * compares both paths on every message (--mime-gmime forces GMime). */
#include "walker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WALK_MAX_DEPTH 64
#define WALK_MAX_NODES 4096

enum btype { B_NONE, B_EOS, B_IMM, B_IMM_END, B_PAR, B_PAR_END };

struct bound {
    char *s;     /* "--boundary--" */
    size_t len;  /* "--boundary" */
    size_t lenf; /* "--boundary--" */
};

struct wstate {
    struct mail_walk *w;
    const char *p;
    size_t n, pos;
    struct bound b[WALK_MAX_DEPTH + 2];
    int nb;
    enum btype boundary;
    bool fail;
};

static void on_ct_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer user)
{
    (void)offset;
    (void)item;
    struct mail_walk *w = user;
    if (code == GMIME_WARN_INVALID_CONTENT_TYPE)
        w->ct_invalid = true;
}

void mail_walk_init(struct mail_walk *w, GMimeParserOptions *opts)
{
    memset(w, 0, sizeof *w);
    w->opts = opts;
    g_mime_parser_options_set_warning_callback(opts, on_ct_warning, w);
}

void mail_walk_clear(struct mail_walk *w)
{
    for (size_t i = 0; i < w->nnodes; i++) {
        if (w->nodes[i].ct)
            g_object_unref(w->nodes[i].ct);
        if (w->nodes[i].cd)
            g_object_unref(w->nodes[i].cd);
    }
    w->nnodes = 0;
    w->nhdrs = 0;
    w->warn = 0;
    w->rbound[0] = '\0';
}

void mail_walk_fini(struct mail_walk *w)
{
    mail_walk_clear(w);
    free(w->nodes);
    free(w->hdrs);
    free(w->phdrs);
    free(w->bbuf);
    memset(w, 0, sizeof *w);
}

static bool lwsp(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_boundary(const char *t, size_t len, const char *b, size_t blen)
{
    if (blen > len || memcmp(t, b, blen) != 0)
        return false;
    for (size_t i = blen; i < len; i++)
        if (!lwsp(t[i]))
            return false;
    return true;
}

/* GMime's check_boundary: the line (without its '\n') against the stack, innermost first. */
static enum btype check_boundary(const struct wstate *s, const char *t, size_t len)
{
    if (len > 0 && t[len - 1] == '\r')
        len--;
    if (len < 2 || t[0] != '-' || t[1] != '-')
        return B_NONE;
    for (int i = s->nb - 1; i >= 0; i--) {
        if (is_boundary(t, len, s->b[i].s, s->b[i].lenf))
            return i == s->nb - 1 ? B_IMM_END : B_PAR_END;
        if (is_boundary(t, len, s->b[i].s, s->b[i].len))
            return i == s->nb - 1 ? B_IMM : B_PAR;
    }
    return B_NONE;
}

/* GMime's parser_scan_content: the content up to the next boundary of the stack (the '\n' or
 * "\r\n" before it belongs to the boundary) or the end. Leaves pos at the boundary line. */
static void scan_content(struct wstate *s, size_t *off, size_t *len)
{
    size_t start = s->pos;
    const char *p = s->p;
    s->boundary = B_NONE;
    size_t at = start;
    while (at < s->n) {
        const char *nl = memchr(p + at, '\n', s->n - at);
        size_t e = nl ? (size_t)(nl - p) : s->n;
        enum btype bt = check_boundary(s, p + at, e - at);
        if (bt != B_NONE) {
            s->boundary = bt;
            s->pos = at;
            *off = start;
            /* GMime: "the last \r\n belongs to the boundary", judged by the boundary
             * line's own ending */
            size_t l = at - start, k = (e > at && p[e - 1] == '\r') ? 2 : 1;
            *len = l >= k ? l - k : l;
            return;
        }
        at = nl ? e + 1 : e;
    }
    s->boundary = B_EOS;
    s->pos = s->n;
    *off = start;
    *len = s->n - start;
}

/* GMime's parser_skip_line: false at the end (no '\n'). */
static bool skip_line(struct wstate *s)
{
    const char *nl = memchr(s->p + s->pos, '\n', s->n - s->pos);
    if (!nl) {
        s->pos = s->n;
        return false;
    }
    s->pos = (size_t)(nl - s->p) + 1;
    return true;
}

static bool push_hdr(struct mail_hdr **arr, size_t *n, size_t *cap, const struct mail_hdr *h)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        if (nc > 65536)
            return false;
        struct mail_hdr *na = realloc(*arr, nc * sizeof *na);
        if (!na)
            return false;
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = *h;
    return true;
}

/* A header block at pos, to its empty line (pos after it). Only the strict form: field lines
 * "name:" (blanks allowed before the colon) and folded continuations; anything else fails. */
static bool read_headers(struct wstate *s, bool top)
{
    struct mail_walk *w = s->w;
    struct mail_hdr **arr = top ? &w->hdrs : &w->phdrs;
    size_t *n = top ? &w->nhdrs : &w->nphdrs;
    size_t *cap = top ? &w->hcap : &w->phcap;
    *n = 0;
    const char *p = s->p;
    struct mail_hdr cur = {0};
    bool have = false;
    for (;;) {
        if (s->pos >= s->n)
            return false; /* no empty line: GMime's own rules apply */
        size_t a = s->pos;
        const char *nl = memchr(p + a, '\n', s->n - a);
        if (!nl)
            return false;
        size_t e = (size_t)(nl - p);
        if (memchr(p + a, '\0', e - a))
            return false;
        /* a CR that does not end the line: GMime's own rules apply (found by the fuzzer) */
        const char *cr = memchr(p + a, '\r', e - a);
        if (cr && cr != p + e - 1)
            return false;
        if (e == a || (e == a + 1 && p[a] == '\r')) {
            if (have && !push_hdr(arr, n, cap, &cur))
                return false;
            s->pos = e + 1;
            return true;
        }
        if (p[a] == ' ' || p[a] == '\t') {
            if (!have)
                return false;
            cur.vlen = e + 1 - (size_t)(cur.val - p);
            s->pos = e + 1;
            continue;
        }
        if (p[a] == '-' && a + 1 < e && p[a + 1] == '-')
            return false; /* maybe a boundary: GMime's part-without-content path */
        size_t i = a;
        while (i < e && p[i] != ':' && (unsigned char)p[i] > 32 && (unsigned char)p[i] < 127)
            i++;
        size_t name_end = i;
        while (i < e && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i >= e || p[i] != ':' || name_end == a)
            return false;
        if (have && !push_hdr(arr, n, cap, &cur))
            return false;
        cur.name = p + a;
        cur.nlen = name_end - a;
        cur.val = p + i + 1;
        cur.vlen = e + 1 - (i + 1);
        have = true;
        s->pos = e + 1;
    }
}

bool mail_walk_body_start(const char *p, size_t n, size_t *body)
{
    struct mail_walk tw = {0};
    struct wstate s = {.w = &tw, .p = p, .n = n};
    bool ok = read_headers(&s, true);
    free(tw.hdrs);
    *body = s.pos;
    return ok;
}

/* --- boundary recovery (issue #7) ---------------------------------------------------------- */

/* RFC 2046 5.1.1 bchars: DIGIT / ALPHA / "'()+_,-./:=?" and space (not last). */
static bool bchar(unsigned char c)
{
    return mail_isalnum(c) || (c && strchr("'()+_,-./:=? ", c));
}

/* The line (t, len) is a delimiter of boundary b: "--b" or "--b--", blanks after it (GMime's
 * check_boundary). */
static bool delimiter_of(const char *t, size_t len, const char *b, size_t bl)
{
    if (len < bl + 2 || t[0] != '-' || t[1] != '-' || memcmp(t + 2, b, bl) != 0)
        return false;
    size_t i = bl + 2;
    if (i + 1 < len && t[i] == '-' && t[i + 1] == '-')
        i += 2;
    for (; i < len; i++)
        if (!lwsp(t[i]))
            return false;
    return true;
}

/* The line (t, len) has a delimiter's shape "--X": X's length (1..70 bchars, blanks after
 * it), else 0. */
static size_t delimiter_shape(const char *t, size_t len)
{
    if (len < 3 || t[0] != '-' || t[1] != '-')
        return 0;
    while (len > 2 && lwsp(t[len - 1]))
        len--;
    size_t xl = len - 2;
    if (xl < 1 || xl > 70)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (!bchar((unsigned char)t[i]) || (t[i] == '=' && i + 1 < len && t[i + 1] == '?'))
            return 0; /* "=?": GMime would decode the parameter as an encoded word */
    return xl;
}

/* A MIME header block at a: up to 32 field lines ("name:", blanks allowed before the colon)
 * and folds, one of them Content-Type, Content-Transfer-Encoding or Content-Disposition,
 * then an empty line. */
static bool mime_header_block(const char *p, size_t n, size_t a)
{
    bool mime = false;
    for (int lines = 0; lines <= 32 && a < n; lines++) {
        const char *nl = memchr(p + a, '\n', n - a);
        if (!nl)
            return false;
        size_t e = (size_t)(nl - p), le = e;
        if (le > a && p[le - 1] == '\r')
            le--;
        if (le == a)
            return mime;
        if (p[a] == ' ' || p[a] == '\t') {
            if (lines == 0)
                return false;
            a = e + 1;
            continue;
        }
        size_t i = a;
        while (i < le && p[i] != ':' && (unsigned char)p[i] > 32 && (unsigned char)p[i] < 127)
            i++;
        size_t ne = i;
        while (i < le && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i >= le || p[i] != ':' || ne == a)
            return false;
        mime = mime || mail_ieq(p + a, ne - a, "content-type") ||
               mail_ieq(p + a, ne - a, "content-transfer-encoding") ||
               mail_ieq(p + a, ne - a, "content-disposition");
        a = e + 1;
    }
    return false;
}

bool mail_boundary_guess(const char *p, size_t n, const char *declared, size_t *xoff, size_t *xlen)
{
    size_t dl = declared ? strlen(declared) : 0;
    size_t cand[8][3]; /* offset of X, its length, end of its line */
    int nc = 0, first = -1;
    bool blank_so_far = true;
    for (size_t a = 0; a < n;) {
        const char *nl = memchr(p + a, '\n', n - a);
        size_t e = nl ? (size_t)(nl - p) : n;
        const char *t = p + a;
        size_t len = e - a;
        if (declared && delimiter_of(t, len, declared, dl))
            return false; /* the declared boundary is used: GMime's reading stands */
        size_t xl;
        if (nc < 8 && nl && (xl = delimiter_shape(t, len)) && mime_header_block(p, n, e + 1)) {
            if (blank_so_far)
                first = nc;
            cand[nc][0] = a + 2;
            cand[nc][1] = xl;
            cand[nc][2] = e;
            nc++;
        }
        size_t k = 0;
        while (k < len && lwsp(t[k]))
            k++;
        if (k < len)
            blank_so_far = false;
        a = nl ? e + 1 : n;
    }
    for (int c = 0; c < nc; c++) {
        bool ok = c == first;
        for (size_t a = cand[c][2] + 1; !ok && a < n;) {
            const char *nl = memchr(p + a, '\n', n - a);
            size_t e = nl ? (size_t)(nl - p) : n;
            ok = delimiter_of(p + a, e - a, p + cand[c][0], cand[c][1]);
            a = nl ? e + 1 : n;
        }
        if (ok) {
            *xoff = cand[c][0];
            *xlen = cand[c][1];
            return true;
        }
    }
    return false;
}

static bool name_is(const struct mail_hdr *h, const char *lit)
{
    return mail_ieq(h->name, h->nlen, lit);
}

/* The last header of that name in the block, or NULL. */
static const struct mail_hdr *last_hdr(const struct mail_hdr *arr, size_t n, const char *name)
{
    for (size_t i = n; i > 0; i--)
        if (name_is(&arr[i - 1], name))
            return &arr[i - 1];
    return NULL;
}

/* g_mime_header_get_value(): unfolded, encoded words decoded (g_free the result). */
char *mail_walk_value(struct mail_walk *w, const char *v, size_t n)
{
    char *raw = g_strndup(v, n);
    char *unf = g_mime_utils_header_unfold(raw);
    char *dec = g_mime_utils_header_decode_text(w->opts, unf);
    g_free(raw);
    g_free(unf);
    return dec;
}

static struct mail_wnode *new_node(struct wstate *s, uint8_t kind, uint32_t depth)
{
    struct mail_walk *w = s->w;
    if (w->nnodes >= WALK_MAX_NODES) {
        s->fail = true;
        return NULL;
    }
    if (w->nnodes == w->ncap) {
        size_t nc = w->ncap ? w->ncap * 2 : 32;
        struct mail_wnode *nn = realloc(w->nodes, nc * sizeof *nn);
        if (!nn) {
            s->fail = true;
            return NULL;
        }
        w->nodes = nn;
        w->ncap = nc;
    }
    struct mail_wnode *d = &w->nodes[w->nnodes++];
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->depth = depth;
    return d;
}

/* The content type of the current part's headers: the object's (GMime parses the decoded
 * value of the last Content-Type; application/octet-stream when unparsable) and whether the
 * structure is a multipart (GMime decides that on the raw value; text/plain by default). */
static GMimeContentType *part_type(struct wstate *s, const struct mail_hdr *hs, size_t nh,
                                   bool *multipart)
{
    const struct mail_hdr *h = last_hdr(hs, nh, "content-type");
    *multipart = false;
    if (!h)
        return g_mime_content_type_new("text", "plain");
    if (mail_ifind(h->val, h->vlen, "=?") != SIZE_MAX) {
        s->fail = true;
        return NULL;
    }
    s->w->ct_invalid = false;
    char *v = mail_walk_value(s->w, h->val, h->vlen);
    GMimeContentType *ct = g_mime_content_type_parse(s->w->opts, v ? v : "");
    g_free(v);
    if (!ct) {
        s->fail = true;
        return NULL;
    }
    if (s->w->ct_invalid)
        return ct; /* the structure is text/plain, the object application/octet-stream */
    const char *t = g_mime_content_type_get_media_type(ct);
    const char *st = g_mime_content_type_get_media_subtype(ct);
    if (t && g_ascii_strcasecmp(t, "multipart") == 0) {
        *multipart = true;
        if (st && g_ascii_strcasecmp(st, "digest") == 0)
            s->fail = true; /* its parts default to message/rfc822 */
    } else if (t && g_ascii_strcasecmp(t, "message") == 0) {
        s->fail = true; /* message parts (and message/partial...): GMime */
    }
    return ct;
}

static void walk_part(struct wstate *s, const struct mail_hdr *hs, size_t nh, uint32_t depth);

static void leaf_part(struct wstate *s, GMimeContentType *ct, const struct mail_hdr *hs, size_t nh,
                      uint32_t depth)
{
    struct mail_wnode *d = new_node(s, MAIL_WNODE_LEAF, depth);
    if (!d) {
        g_object_unref(ct);
        return;
    }
    d->ct = ct;
    const struct mail_hdr *cte = last_hdr(hs, nh, "content-transfer-encoding");
    d->enc = GMIME_CONTENT_ENCODING_DEFAULT;
    if (cte) {
        char *v = mail_walk_value(s->w, cte->val, cte->vlen);
        d->enc = (int)g_mime_content_encoding_from_string(v ? v : "");
        g_free(v);
        if (d->enc == GMIME_CONTENT_ENCODING_UUENCODE)
            s->fail = true;
    }
    const struct mail_hdr *cd = last_hdr(hs, nh, "content-disposition");
    if (cd) {
        char *v = mail_walk_value(s->w, cd->val, cd->vlen);
        d->cd = g_mime_content_disposition_parse(s->w->opts, v ? v : "");
        g_free(v);
    }
    size_t idx = (size_t)(d - s->w->nodes);
    size_t off, len;
    scan_content(s, &off, &len);
    s->w->nodes[idx].off = off;
    s->w->nodes[idx].len = len;
}

/* GMime's parser_construct_multipart with parser_scan_multipart_subparts. */
/* The delimiters of boundary b: "--b--", whose first len bytes are "--b". */
static void bound_set(struct bound *bd, const char *b)
{
    size_t bl = strlen(b);
    bd->s = g_strdup_printf("--%s--", b);
    bd->len = bl + 2;
    bd->lenf = bl + 4;
}

/* The boundary recovered at s->p[at, at + xl) (mail_boundary_guess), kept in the walk. */
static const char *recovered(struct wstate *s, size_t at, size_t xl)
{
    memcpy(s->w->rbound, s->p + at, xl);
    s->w->rbound[xl] = '\0';
    s->w->warn |= KS_MAIL_PROB_BOUNDARY;
    return s->w->rbound;
}

static void multipart(struct wstate *s, GMimeContentType *ct, uint32_t depth)
{
    struct mail_wnode *d = new_node(s, MAIL_WNODE_MULTIPART, depth);
    if (!d) {
        g_object_unref(ct);
        return;
    }
    d->ct = ct;
    size_t idx = (size_t)(d - s->w->nodes);
    const char *b = g_mime_content_type_get_parameter(ct, "boundary");
    size_t off, len, body = s->pos, xoff = 0, xl = 0;
    /* issue #7: the message's own multipart, its boundary missing or never used, is split at
     * the boundary its body shows (mail.c does the same on GMime's path) */
    bool guess = false;
    if (!b) {
        d->no_boundary = true;
        s->w->warn |= KS_MAIL_PROB_BOUNDARY; /* GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY */
        guess = depth == 0 && mail_boundary_guess(s->p + body, s->n - body, NULL, &xoff, &xl);
        if (!guess) {
            scan_content(s, &off, &len); /* everything into the prologue */
            s->w->nodes[idx].end = (uint32_t)s->w->nnodes;
            return;
        }
    }
    if (depth >= WALK_MAX_DEPTH || s->nb >= WALK_MAX_DEPTH) {
        s->fail = true;
        return;
    }
    if (guess)
        b = recovered(s, body + xoff, xl);
    struct bound *bd = &s->b[s->nb];
    bound_set(bd, b);
    s->nb++;
    scan_content(s, &off, &len); /* prologue */
    if (!guess && depth == 0 && s->boundary == B_EOS &&
        mail_boundary_guess(s->p + body, s->n - body, b, &xoff, &xl)) {
        g_free(bd->s);
        bound_set(bd, recovered(s, body + xoff, xl));
        s->pos = body;
        scan_content(s, &off, &len); /* the prologue before the recovered boundary */
    }
    while (s->boundary == B_IMM && !s->fail) {
        if (!skip_line(s)) {
            s->boundary = B_EOS;
            break;
        }
        if (!read_headers(s, false)) {
            s->fail = true;
            break;
        }
        /* copy: the part's own walk reuses the scratch header array */
        size_t nh = s->w->nphdrs;
        struct mail_hdr small[32];
        struct mail_hdr *hs = nh <= 32 ? small : malloc(nh * sizeof *hs);
        if (!hs) {
            s->fail = true;
            break;
        }
        if (nh)
            memcpy(hs, s->w->phdrs, nh * sizeof *hs);
        walk_part(s, hs, nh, depth + 1);
        if (hs != small)
            free(hs);
    }
    if (s->fail)
        goto out;
    if (s->boundary == B_IMM_END) {
        skip_line(s);
        s->nb--;
        g_free(s->b[s->nb].s);
        scan_content(s, &off, &len); /* epilogue */
        s->w->nodes[idx].end = (uint32_t)s->w->nnodes;
        return;
    }
    /* GMIME_WARN_MALFORMED_MULTIPART (a parent's boundary), GMIME_WARN_TRUNCATED_MESSAGE */
    s->w->warn |= KS_MAIL_PROB_BOUNDARY;
    s->nb--;
    g_free(s->b[s->nb].s);
    if ((s->boundary == B_PAR_END || s->boundary == B_PAR) && s->nb > 0) {
        const char *t = s->p + s->pos;
        const char *nl = memchr(t, '\n', s->n - s->pos);
        size_t l = nl ? (size_t)(nl - t) : s->n - s->pos;
        const struct bound *top = &s->b[s->nb - 1];
        if (s->boundary == B_PAR_END && is_boundary(t, l, top->s, top->lenf))
            s->boundary = B_IMM_END;
        else if (s->boundary == B_PAR && is_boundary(t, l, top->s, top->len))
            s->boundary = B_IMM;
    }
    s->w->nodes[idx].end = (uint32_t)s->w->nnodes;
    return;
out:
    s->nb--;
    g_free(s->b[s->nb].s);
}

static void walk_part(struct wstate *s, const struct mail_hdr *hs, size_t nh, uint32_t depth)
{
    bool mp;
    GMimeContentType *ct = part_type(s, hs, nh, &mp);
    if (!ct)
        return;
    if (s->fail) {
        g_object_unref(ct);
        return;
    }
    if (mp)
        multipart(s, ct, depth);
    else
        leaf_part(s, ct, hs, nh, depth);
}

bool mail_walk_parse(struct mail_walk *w, const char *p, size_t n)
{
    mail_walk_clear(w);
    struct wstate s = {.w = w, .p = p, .n = n};
    if (!read_headers(&s, true) || w->nhdrs == 0)
        return false;
    size_t plain = 0;
    for (size_t i = 0; i < w->nhdrs; i++)
        plain += !mail_iprefix(w->hdrs[i].name, w->hdrs[i].nlen, "content-");
    if (plain == 0)
        return false; /* GMime: a message without header fields */
    walk_part(&s, w->hdrs, w->nhdrs, 0);
    while (s.nb > 0)
        g_free(s.b[--s.nb].s);
    if (s.fail) {
        mail_walk_clear(w);
        return false;
    }
    return true;
}

/* Decodes a leaf's content (transfer encoding undone with GMime's steppers) into the walk's
 * buffer, or returns the raw slice when there is nothing to undo. */
const char *mail_walk_decode(struct mail_walk *w, const struct mail_wnode *d, const char *msg,
                             size_t *outlen)
{
    const char *in = msg + d->off;
    size_t n = d->len;
    if (d->enc != GMIME_CONTENT_ENCODING_BASE64 &&
        d->enc != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
        *outlen = n;
        return in;
    }
    GMimeEncoding st;
    g_mime_encoding_init_decode(&st, (GMimeContentEncoding)d->enc);
    size_t need = g_mime_encoding_outlen(&st, n) + 16;
    if (need > w->bcap) {
        char *nb = realloc(w->bbuf, need);
        if (!nb) {
            *outlen = 0;
            return "";
        }
        w->bbuf = nb;
        w->bcap = need;
    }
    size_t k = g_mime_encoding_step(&st, in, n, w->bbuf);
    k += g_mime_encoding_flush(&st, "", 0, w->bbuf + k);
    *outlen = k;
    return w->bbuf;
}

/* --- the oracle: two analyses of one message compared ------------------------------------ */

static bool str_diff(const char *what, const char *a, const char *b, char *why, size_t size)
{
    if (strcmp(a ? a : "", b ? b : "") == 0)
        return false;
    snprintf(why, size, "%s: '%.80s' vs '%.80s'", what, a ? a : "", b ? b : "");
    return true;
}

static bool num_diff(const char *what, uint64_t a, uint64_t b, char *why, size_t size)
{
    if (a == b)
        return false;
    snprintf(why, size, "%s: %llu vs %llu", what, (unsigned long long)a, (unsigned long long)b);
    return true;
}

bool mail_msg_diff(const struct ks_mail_msg *a, const struct ks_mail_msg *b, char *why, size_t size)
{
    char sa[KS_ADDR_STRLEN] = "", sb[KS_ADDR_STRLEN] = "";
    if (a->sender.family)
        ks_addr_format(&a->sender, sa, sizeof sa);
    if (b->sender.family)
        ks_addr_format(&b->sender, sb, sizeof sb);
    bool score_same = (a->score != a->score && b->score != b->score) || a->score == b->score;
    if (!score_same) {
        snprintf(why, size, "score: %g vs %g", a->score, b->score);
        return true;
    }
    if (str_diff("message_id", a->message_id, b->message_id, why, size) ||
        str_diff("subject", a->subject, b->subject, why, size) ||
        str_diff("subject_key", a->subject_key, b->subject_key, why, size) ||
        str_diff("from", a->from, b->from, why, size) ||
        num_diff("time", (uint64_t)a->time_us, (uint64_t)b->time_us, why, size) ||
        str_diff("time_source", a->time_source, b->time_source, why, size) ||
        num_diff("verdict", a->verdict, b->verdict, why, size) ||
        str_diff("verdict_source", a->verdict_source, b->verdict_source, why, size) ||
        str_diff("sender", sa, sb, why, size) ||
        str_diff("sender_helo", a->sender_helo, b->sender_helo, why, size) ||
        num_diff("hops", a->hops, b->hops, why, size) ||
        str_diff("country", a->country, b->country, why, size) ||
        num_diff("asn", a->asn, b->asn, why, size) || num_diff("spf", a->spf, b->spf, why, size) ||
        num_diff("spf_checked", a->spf_checked, b->spf_checked, why, size) ||
        str_diff("return_path", a->return_path, b->return_path, why, size) ||
        str_diff("fuzzy", a->fuzzy, b->fuzzy, why, size) ||
        num_diff("size", a->size, b->size, why, size) ||
        num_diff("parts", a->parts, b->parts, why, size) ||
        num_diff("depth", a->depth, b->depth, why, size) ||
        num_diff("problems", a->problems, b->problems, why, size) ||
        num_diff("urls", a->nurls, b->nurls, why, size) ||
        num_diff("attachments", a->natt, b->natt, why, size))
        return true;
    for (size_t i = 0; i < a->nurls; i++) {
        const struct ks_mail_url *u = &a->urls[i], *v = &b->urls[i];
        if (str_diff("url", u->url, v->url, why, size) ||
            str_diff("url where", u->where, v->where, why, size) ||
            str_diff("url domain", u->domain, v->domain, why, size) ||
            str_diff("url shown", u->shown, v->shown, why, size) ||
            num_diff("url flags", u->flags, v->flags, why, size))
            return true;
    }
    for (size_t i = 0; i < a->natt; i++) {
        const struct ks_mail_attachment *u = &a->att[i], *v = &b->att[i];
        if (str_diff("att name", u->name, v->name, why, size) ||
            str_diff("att mime", u->mime, v->mime, why, size) ||
            str_diff("att magic", u->magic, v->magic, why, size) ||
            str_diff("att sha256", u->sha256, v->sha256, why, size) ||
            str_diff("att md5", u->md5, v->md5, why, size) ||
            num_diff("att size", u->size, v->size, why, size) ||
            num_diff("att flags", u->flags, v->flags, why, size) ||
            str_diff("att members", u->members, v->members, why, size) ||
            num_diff("att av_scanned", u->av_scanned, v->av_scanned, why, size) ||
            str_diff("att av", u->av, v->av, why, size) ||
            str_diff("att category", u->category, v->category, why, size))
            return true;
    }
    return false;
}
