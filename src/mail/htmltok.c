/* The fast path for URLs of HTML bodies: an HTML5 tokenizer (WHATWG HTML 13.2.5: data, tag,
 * attribute, comment, raw-text and RCDATA states, character references) that builds no tree.
 * It reports what html.c reads from Gumbo's tree (the same attributes, text nodes and link
 * texts, in document order) for the documents whose tree is their token sequence: no foreign
 * content, no table foster parenting, no nested links, no character reference it cannot
 * decode exactly. For any other document it gives up before reporting anything, and the part
 * goes to Gumbo, so results are those of the tree walk. It exists because building Gumbo's tree
 * (an allocation per node and attribute, then its teardown) was most of the cost of reading
 * mail: the attribute scan needs the tokens, not the tree. */
#include "mail_int.h"

#include <assert.h>
#include <gumbo.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINK_TEXT_MAX 512
#define LINK_NODES 256
#define STACK_MAX 256
#define SF_SPECIAL 0x01u /* a "special" element (13.2.4.2) */
#define SF_UNKNOWN 0x02u /* a tag Gumbo does not know (valid with SF_KNOWN_SET) */
#define SF_KNOWN_SET 0x04u
#define SF_SCOPE 0x08u  /* bounds "has an element in scope" (13.2.4.2) */
#define SF_TABLE 0x10u  /* bounds "in table scope" */
#define SF_BUTTON 0x20u /* bounds "in button scope" */
#define TABLE_MAX 64

enum ev_kind { EV_ATTR, EV_SRCSET, EV_REFRESH, EV_TEXT };

struct ev {
    enum ev_kind kind;
    const char *where; /* EV_ATTR */
    size_t off, len;   /* value or text in the scratch buffer */
    int link;          /* EV_ATTR of a.href: its link index, else -1 */
};

struct link {
    char text[LINK_TEXT_MAX];
    size_t n;
    unsigned nodes;
    bool open;
};

struct tok {
    const char *s;
    size_t len, i;
    /* scratch: decoded values and texts */
    char *buf;
    size_t bn, bcap;
    struct ev *ev;
    size_t nev, evcap;
    struct link *links;
    size_t nlinks, linkcap;
    int cur_link; /* the open <a>, or -1 */
    /* the pending text run, kept apart from the attribute values read meanwhile */
    char *rbuf;
    size_t rn, rcap;
    bool to_run;   /* put() writes to the run */
    bool run_text; /* it has a non-whitespace character */
    bool in_style;
    bool raw; /* the run is a raw-text element's content */
    /* open element names (a superset of the tree's: implicit closes are not modelled) */
    char stack[STACK_MAX][12];
    unsigned char sflags[STACK_MAX]; /* SF_* */
    size_t depth;
    /* tables: whether the innermost table has an open cell */
    bool cell[TABLE_MAX];
    size_t tables;
    bool bail;
    bool started;      /* a start tag other than <html> was seen, or text */
    bool body_started; /* the body was opened (by <body>, content or text) */
    bool form_ptr;     /* the form element pointer is set (13.2.4.4) */
    /* formatting elements popped by another element's end tag: the tree keeps them in its
     * list of active formatting elements and clones them at the next text or start tag that
     * reconstructs (13.2.4.3), where they are pushed here too; their own end tag before that
     * just drops them. At most 2, outside tables (markers are not modelled). */
    char ghost[2][12];
    size_t ghost_level[2]; /* t->tables when it was made: cells have markers */
    unsigned nghost;
};

/* --- scratch ----------------------------------------------------------------------------- */

static bool grow(struct tok *t, char **buf, size_t *cap, size_t need)
{
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    char *nb = realloc(*buf, c);
    if (!nb) {
        t->bail = true;
        return false;
    }
    *buf = nb;
    *cap = c;
    return true;
}

static bool put(struct tok *t, const char *p, size_t n)
{
    if (n == 0)
        return true;
    if (t->to_run) {
        if (t->rn + n > t->rcap && !grow(t, &t->rbuf, &t->rcap, t->rn + n))
            return false;
        memcpy(t->rbuf + t->rn, p, n);
        t->rn += n;
        return true;
    }
    if (t->bn + n > t->bcap && !grow(t, &t->buf, &t->bcap, t->bn + n))
        return false;
    memcpy(t->buf + t->bn, p, n);
    t->bn += n;
    return true;
}

static void put_cp(struct tok *t, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18);
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    put(t, u, n);
}

static struct ev *add_ev(struct tok *t, enum ev_kind k)
{
    if (t->nev == t->evcap) {
        size_t cap = t->evcap ? t->evcap * 2 : 64;
        struct ev *ne = realloc(t->ev, cap * sizeof *ne);
        if (!ne) {
            t->bail = true;
            return NULL;
        }
        t->ev = ne;
        t->evcap = cap;
    }
    struct ev *e = &t->ev[t->nev++];
    e->kind = k;
    e->where = NULL;
    e->off = e->len = 0;
    e->link = -1;
    return e;
}

/* --- character references (WHATWG HTML 13.2.5.72-80) ------------------------------------- */

/* The named references that may appear without ';' (the HTML 4 Latin-1 set and four of the
 * special ones), in code point order from U+00A0, then the others. */
static const char *const latin1[96] = {
    "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",   "uml",
    "copy",   "ordf",   "laquo",  "not",    "shy",    "reg",    "macr",   "deg",    "plusmn",
    "sup2",   "sup3",   "acute",  "micro",  "para",   "middot", "cedil",  "sup1",   "ordm",
    "raquo",  "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc",  "Atilde",
    "Auml",   "Aring",  "AElig",  "Ccedil", "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave",
    "Iacute", "Icirc",  "Iuml",   "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde",
    "Ouml",   "times",  "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",
    "szlig",  "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",  "aelig",  "ccedil",
    "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc",  "iuml",   "eth",
    "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide", "oslash", "ugrave",
    "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml"};

struct named {
    const char *name;
    uint32_t cp;
};
static const struct named legacy_other[] = {
    {"amp", '&'}, {"lt", '<'}, {"gt", '>'},   {"quot", '"'},  {"AMP", '&'},
    {"LT", '<'},  {"GT", '>'}, {"QUOT", '"'}, {"COPY", 0xa9}, {"REG", 0xae},
};
/* Named references recognised only with ';' (common in mail; others send the part to Gumbo). */
static const struct named with_semicolon[] = {
    {"apos", '\''},     {"hellip", 0x2026}, {"mdash", 0x2014},  {"ndash", 0x2013},
    {"lsquo", 0x2018},  {"rsquo", 0x2019},  {"ldquo", 0x201c},  {"rdquo", 0x201d},
    {"bull", 0x2022},   {"euro", 0x20ac},   {"trade", 0x2122},  {"rarr", 0x2192},
    {"larr", 0x2190},   {"sbquo", 0x201a},  {"bdquo", 0x201e},  {"dagger", 0x2020},
    {"thinsp", 0x2009}, {"ensp", 0x2002},   {"emsp", 0x2003},   {"zwnj", 0x200c},
    {"zwj", 0x200d},    {"lrm", 0x200e},    {"rlm", 0x200f},    {"oelig", 0x153},
    {"OElig", 0x152},   {"scaron", 0x161},  {"Scaron", 0x160},  {"fnof", 0x192},
    {"circ", 0x2c6},    {"tilde", 0x2dc},   {"permil", 0x2030}, {"lsaquo", 0x2039},
    {"rsaquo", 0x203a}, {"hearts", 0x2665}, {"check", 0x2713},  {"star", 0x2606},
};

/* The longest legacy name that is a prefix of (p, n): its length, and *cp. */
static size_t legacy_prefix(const char *p, size_t n, uint32_t *cp)
{
    size_t best = 0;
    for (unsigned i = 0; i < 96; i++) {
        size_t k = strlen(latin1[i]);
        if (k <= n && k > best && memcmp(p, latin1[i], k) == 0) {
            best = k;
            *cp = 0xa0 + i;
        }
    }
    for (size_t i = 0; i < sizeof legacy_other / sizeof legacy_other[0]; i++) {
        size_t k = strlen(legacy_other[i].name);
        if (k <= n && k > best && memcmp(p, legacy_other[i].name, k) == 0) {
            best = k;
            *cp = legacy_other[i].cp;
        }
    }
    return best;
}

static bool full_name(const char *p, size_t n, uint32_t *cp)
{
    uint32_t c;
    if (legacy_prefix(p, n, &c) == n) {
        *cp = c;
        return true;
    }
    for (size_t i = 0; i < sizeof with_semicolon / sizeof with_semicolon[0]; i++)
        if (strlen(with_semicolon[i].name) == n && memcmp(p, with_semicolon[i].name, n) == 0) {
            *cp = with_semicolon[i].cp;
            return true;
        }
    return false;
}

/* At s[i] == '&': decodes the reference into the scratch and returns the index after it; or
 * writes '&' and returns i + 1. Sets bail for what it cannot decode exactly. */
static size_t charref(struct tok *t, const char *s, size_t len, size_t i, bool attr)
{
    size_t j = i + 1;
    if (j < len && s[j] == '#') {
        size_t k = j + 1;
        bool hex = k < len && (s[k] == 'x' || s[k] == 'X');
        if (hex)
            k++;
        size_t d0 = k;
        uint32_t v = 0;
        while (k < len &&
               (hex ? mail_hexval((unsigned char)s[k]) >= 0 : mail_isdigit((unsigned char)s[k]))) {
            if (v < 0x110000)
                v = v * (hex ? 16 : 10) +
                    (uint32_t)(hex ? mail_hexval((unsigned char)s[k]) : s[k] - '0');
            k++;
        }
        if (k == d0) {
            put(t, "&", 1); /* no digits: not a reference */
            return i + 1;
        }
        if (k < len && s[k] == ';')
            k++;
        /* 13.2.5.80: 0x80-0x9F are read as Windows-1252; the five it leaves undefined, NUL,
         * surrogates, beyond Unicode and controls are Gumbo's business */
        static const uint16_t c1[32] = {
            0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
            0x2039, 0x0152, 0,      0x017d, 0,      0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
            0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178};
        if (v >= 0x80 && v <= 0x9f && c1[v - 0x80])
            v = c1[v - 0x80];
        if (v == 0 || v >= 0x110000 || (v >= 0xd800 && v <= 0xdfff) || (v >= 0x80 && v <= 0x9f) ||
            (v < 0x20 && v != '\t' && v != '\n' && v != '\f') || v == '\r' || v == 0x7f) {
            t->bail = true;
            return k;
        }
        put_cp(t, v);
        return k;
    }
    size_t k = j;
    while (k < len && mail_isalnum((unsigned char)s[k]))
        k++;
    size_t n = k - j;
    if (n == 0) {
        put(t, "&", 1);
        return i + 1;
    }
    uint32_t cp;
    if (k < len && s[k] == ';') {
        if (full_name(s + j, n, &cp)) {
            put_cp(t, cp);
            return k + 1;
        }
        if (legacy_prefix(s + j, n, &cp) == 0 || attr) {
            /* an entity we do not know (HTML has 2231): Gumbo decodes it */
            t->bail = true;
            return k + 1;
        }
        t->bail = true; /* a legacy prefix of an unknown name: longest match unclear */
        return k + 1;
    }
    size_t p = legacy_prefix(s + j, n, &cp);
    if (p == 0) {
        put(t, s + i, 1 + n); /* no reference matches: literal */
        return k;
    }
    if (attr) {
        /* 13.2.5.73: in an attribute, a match without ';' followed by '=' or an alphanumeric
         * is not a reference */
        char next = j + p < len ? s[j + p] : '\0';
        if (mail_isalnum((unsigned char)next) || next == '=') {
            put(t, s + i, 1 + n);
            return k;
        }
    }
    if (p < n) {
        t->bail = true; /* a longer name with ';' might have matched: leave it to Gumbo */
        return k;
    }
    put_cp(t, cp);
    return j + p;
}

/* Copies text (s[b..e)) into the scratch, CR LF and CR as LF, references decoded if asked. */
/* At s[k]: the length of a control (but tab, LF, FF, CR; NUL apart) or noncharacter of the
 * BMP that Gumbo turns into U+FFFD, else 0. The input is well-formed UTF-8 (utf8_valid). */
static size_t replaced_at(const char *s, size_t k, size_t e)
{
    unsigned char c = (unsigned char)s[k];
    if (c < 0x20)
        return c != '\t' && c != '\n' && c != '\f' && c != '\r' && c != '\0';
    if (c == 0x7f)
        return 1;
    if (c == 0xc2 && k + 1 < e && (unsigned char)s[k + 1] <= 0x9f)
        return 2; /* U+0080-U+009F */
    if (c == 0xef && k + 2 < e) {
        unsigned char c1 = (unsigned char)s[k + 1], c2 = (unsigned char)s[k + 2];
        if ((c1 == 0xb7 && c2 >= 0x90 && c2 <= 0xaf) || (c1 == 0xbf && c2 >= 0xbe))
            return 3; /* U+FDD0-U+FDEF, U+FFFE, U+FFFF */
    }
    return 0;
}

/* The bytes copy_text stops at: '&', CR, NUL, the controls replaced_at replaces, and the
 * first bytes of the replaced sequences it checks (C2, EF); all others are copied as they are
 * (a table: a text byte costs one load, not the eight tests of the loop's condition). */
static const unsigned char text_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static void copy_text(struct tok *t, size_t b, size_t e, bool refs, bool attr)
{
    const char *s = t->s;
    size_t i = b;
    while (i < e && !t->bail) {
        size_t k = i;
        for (;;) {
            while (k < e && !text_stop[(unsigned char)s[k]])
                k++;
            if (k >= e || s[k] == '&' || s[k] == '\r' || s[k] == '\0' || replaced_at(s, k, e))
                break;
            k++; /* C2 or EF not starting a replaced sequence */
        }
        put(t, s + i, k - i);
        if (k >= e)
            break;
        size_t r = replaced_at(s, k, e);
        if (r) {
            put(t, "\xef\xbf\xbd", 3); /* 13.2.3.5: controls and noncharacters, as Gumbo */
            i = k + r;
            continue;
        }
        if (s[k] == '\0') {
            t->bail = true; /* NUL: dropped or replaced depending on the state */
            break;
        }
        if (s[k] == '\r') {
            put(t, "\n", 1);
            i = k + 1 < e && s[k + 1] == '\n' ? k + 2 : k + 1;
        } else if (refs) {
            i = charref(t, s, e, k, attr);
        } else {
            put(t, "&", 1);
            i = k + 1;
        }
    }
}

/* --- text runs and link texts ------------------------------------------------------------ */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* Appends text to the pending run (one text node of the tree). */
static void reconstruct(struct tok *t);

static void text(struct tok *t, size_t b, size_t e, bool refs)
{
    if (b >= e)
        return;
    if (!t->raw)
        reconstruct(t);
    size_t from = t->rn;
    t->to_run = true;
    copy_text(t, b, e, refs, false);
    t->to_run = false;
    for (size_t i = from; i < t->rn && !t->run_text; i++)
        if (!is_ws(t->rbuf[i]))
            t->run_text = true;
    if (t->run_text && !t->raw)
        t->started = t->body_started = true;
}

/* Ends the pending run: a text node. */
static void flush(struct tok *t)
{
    size_t n = t->rn;
    if (n == 0)
        return;
    const char *p = t->rbuf;
    if (t->run_text && !t->raw && t->tables && !t->cell[t->tables - 1]) {
        t->bail = true; /* text in a table outside a cell is moved before the table */
        return;
    }
    if (t->cur_link >= 0) {
        struct link *l = &t->links[t->cur_link];
        if (l->nodes < LINK_NODES) {
            l->nodes++;
            for (size_t i = 0; i < n && l->n + 2 < LINK_TEXT_MAX; i++)
                l->text[l->n++] = p[i];
            if (l->n + 2 < LINK_TEXT_MAX)
                l->text[l->n++] = ' ';
        }
    }
    if (t->run_text && !t->in_style) {
        struct ev *e = add_ev(t, EV_TEXT);
        if (e) {
            e->off = t->bn;
            e->len = n;
            put(t, p, n);
        }
    }
    t->rn = 0;
    t->run_text = false;
}

/* --- tags -------------------------------------------------------------------------------- */

/* Names are compared a great many times per tag (classes, scopes, the stack): their first
 * two bytes settle most comparisons without a call to strcmp (10 % of the tokenizer's
 * instructions went to strcmp). */
static inline bool name_is(const char *name, const char *lit)
{
    if (name[0] != lit[0])
        return false;
    if (!lit[0])
        return true;
    if (name[1] != lit[1])
        return false;
    return !lit[1] || strcmp(name + 2, lit + 2) == 0;
}

/* What the tokenizer needs to know of a tag name (WHATWG HTML 13.2.6.4.7 "in body"). */
#define TC_FOREIGN 0x01u /* foreign content or a mode we do not follow: Gumbo */
#define TC_TABLE 0x02u   /* table parts, dropped outside a table */
#define TC_VOID 0x04u    /* no end tag, no content */
#define TC_PCLOSE 0x08u  /* closes an open p (and may have a link rebuilt) */
#define TC_HEAD 0x10u    /* allowed in head: does not open the body */
#define TC_SPECIAL 0x20u /* "special" (13.2.4.2) besides the p closers and table parts */

static const struct {
    const char *name;
    unsigned cls;
} tag_classes[] = {
    {"svg", TC_FOREIGN},
    {"math", TC_FOREIGN},
    {"template", TC_FOREIGN},
    {"plaintext", TC_FOREIGN},
    {"frameset", TC_FOREIGN},
    {"noscript", TC_FOREIGN},
    {"select", TC_FOREIGN},
    {"isindex", TC_FOREIGN},
    {"image", TC_FOREIGN},
    {"frame", TC_FOREIGN},
    {"caption", TC_TABLE},
    {"col", TC_TABLE | TC_VOID},
    {"colgroup", TC_TABLE},
    {"tbody", TC_TABLE},
    {"td", TC_TABLE},
    {"tfoot", TC_TABLE},
    {"th", TC_TABLE},
    {"thead", TC_TABLE},
    {"tr", TC_TABLE},
    {"area", TC_VOID},
    {"base", TC_VOID | TC_HEAD},
    {"basefont", TC_VOID | TC_HEAD},
    {"bgsound", TC_VOID | TC_HEAD},
    {"br", TC_VOID},
    {"embed", TC_VOID},
    {"hr", TC_VOID | TC_PCLOSE},
    {"img", TC_VOID},
    {"input", TC_VOID},
    {"keygen", TC_VOID},
    {"link", TC_VOID | TC_HEAD},
    {"meta", TC_VOID | TC_HEAD},
    {"param", TC_VOID},
    {"source", TC_VOID},
    {"track", TC_VOID},
    {"wbr", TC_VOID},
    {"title", TC_HEAD | TC_SPECIAL},
    {"style", TC_HEAD | TC_SPECIAL},
    {"script", TC_HEAD | TC_SPECIAL},
    {"applet", TC_SPECIAL},
    {"button", TC_SPECIAL},
    {"marquee", TC_SPECIAL},
    {"object", TC_SPECIAL},
    {"iframe", TC_SPECIAL},
    {"noembed", TC_SPECIAL},
    {"noframes", TC_SPECIAL},
    {"textarea", TC_SPECIAL},
    {"address", TC_PCLOSE},
    {"article", TC_PCLOSE},
    {"aside", TC_PCLOSE},
    {"blockquote", TC_PCLOSE},
    {"center", TC_PCLOSE},
    {"details", TC_PCLOSE},
    {"dialog", TC_PCLOSE},
    {"dir", TC_PCLOSE},
    {"div", TC_PCLOSE},
    {"dl", TC_PCLOSE},
    {"fieldset", TC_PCLOSE},
    {"figcaption", TC_PCLOSE},
    {"figure", TC_PCLOSE},
    {"footer", TC_PCLOSE},
    {"header", TC_PCLOSE},
    {"hgroup", TC_PCLOSE},
    {"main", TC_PCLOSE},
    {"menu", TC_PCLOSE},
    {"nav", TC_PCLOSE},
    {"ol", TC_PCLOSE},
    {"p", TC_PCLOSE},
    {"section", TC_PCLOSE},
    {"summary", TC_PCLOSE},
    {"ul", TC_PCLOSE},
    {"h1", TC_PCLOSE},
    {"h2", TC_PCLOSE},
    {"h3", TC_PCLOSE},
    {"h4", TC_PCLOSE},
    {"h5", TC_PCLOSE},
    {"h6", TC_PCLOSE},
    {"pre", TC_PCLOSE},
    {"listing", TC_PCLOSE},
    {"form", TC_PCLOSE},
    {"table", TC_PCLOSE},
    {"xmp", TC_PCLOSE},
    {"li", TC_PCLOSE},
    {"dd", TC_PCLOSE},
    {"dt", TC_PCLOSE},
};

/* tag_classes by a hash of the name (open addressing, built once): a tag costs a hash and a
 * comparison or two instead of a walk over the 88 entries, several times per tag. */
#define TAG_HASH 256
static unsigned char tag_hash[TAG_HASH]; /* 1 + index in tag_classes; 0: empty */
static pthread_once_t tag_hash_once = PTHREAD_ONCE_INIT;

static unsigned tag_hash_of(const char *name)
{
    unsigned h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static void tag_hash_build(void)
{
    _Static_assert(sizeof tag_classes / sizeof tag_classes[0] < TAG_HASH / 2, "table room");
    for (size_t i = 0; i < sizeof tag_classes / sizeof tag_classes[0]; i++) {
        unsigned h = tag_hash_of(tag_classes[i].name) % TAG_HASH;
        while (tag_hash[h]) {
            assert(!name_is(tag_classes[tag_hash[h] - 1].name, tag_classes[i].name));
            h = (h + 1) % TAG_HASH;
        }
        tag_hash[h] = (unsigned char)(i + 1);
    }
}

static unsigned tag_class(const char *name)
{
    pthread_once(&tag_hash_once, tag_hash_build);
    for (unsigned h = tag_hash_of(name) % TAG_HASH; tag_hash[h]; h = (h + 1) % TAG_HASH)
        if (name_is(name, tag_classes[tag_hash[h] - 1].name))
            return tag_classes[tag_hash[h] - 1].cls;
    return 0;
}

static const char *where_of(const char *tag, const char *attr)
{
    if (name_is(attr, "href")) {
        if (name_is(tag, "a"))
            return "html:a.href";
        if (name_is(tag, "area"))
            return "html:area.href";
        if (name_is(tag, "link"))
            return "html:link.href";
        return "html:href";
    }
    if (name_is(attr, "src")) {
        static const char *const w[][2] = {
            {"img", "html:img.src"},       {"script", "html:script.src"},
            {"iframe", "html:iframe.src"}, {"frame", "html:frame.src"},
            {"embed", "html:embed.src"},   {"input", "html:input.src"}};
        for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
            if (name_is(tag, w[i][0]))
                return w[i][1];
        return "html:src";
    }
    if (name_is(attr, "action"))
        return "html:form.action";
    if (name_is(attr, "formaction"))
        return "html:formaction";
    if (name_is(attr, "background"))
        return "html:background";
    if (name_is(attr, "data"))
        return "html:object.data";
    return "html:attr";
}

#define MAX_ATTRS 64

struct attr {
    char name[16]; /* lowercased, truncated: longer names are never ones we read */
    size_t off, len;
    bool long_name;
};

/* Reads a tag's name and attributes from s[i] (after '<' or '</'); returns the index after '>'
 * or len (EOF in a tag: the tag is dropped by the tokenizer, which we do not follow: bail). */
static size_t read_tag(struct tok *t, size_t i, char *name, size_t nsize, struct attr *attrs,
                       size_t *nattrs, bool keep)
{
    const char *s = t->s;
    size_t len = t->len, n = 0;
    while (i < len && !is_ws(s[i]) && s[i] != '/' && s[i] != '>') {
        if (s[i] == '\0')
            t->bail = true;
        if (n + 1 < nsize)
            name[n] = (char)mail_lower((unsigned char)s[i]);
        n++;
        i++;
    }
    if (n >= nsize) {
        n = nsize - 1;
        name[0] = '?'; /* a long name: never one we know */
    }
    name[n] = '\0';
    *nattrs = 0;
    for (;;) {
        while (i < len && (is_ws(s[i]) || s[i] == '/'))
            i++;
        if (i >= len) {
            t->bail = true;
            return len;
        }
        if (s[i] == '>')
            return i + 1;
        /* attribute name: a leading '=' belongs to it */
        size_t b = i;
        i++;
        while (i < len && !is_ws(s[i]) && s[i] != '/' && s[i] != '>' && s[i] != '=')
            i++;
        size_t nb = b, ne = i;
        while (i < len && is_ws(s[i]))
            i++;
        size_t vb = 0, ve = 0;
        bool has_value = false;
        if (i < len && s[i] == '=') {
            i++;
            while (i < len && is_ws(s[i]))
                i++;
            if (i < len && (s[i] == '"' || s[i] == '\'')) {
                char q = s[i++];
                vb = i;
                const char *e = memchr(s + i, q, len - i);
                if (!e) {
                    t->bail = true;
                    return len;
                }
                ve = (size_t)(e - s);
                i = ve + 1;
            } else {
                vb = i;
                while (i < len && !is_ws(s[i]) && s[i] != '>')
                    i++;
                ve = i;
            }
            has_value = true;
        }
        if (!keep || *nattrs >= MAX_ATTRS) {
            if (keep)
                t->bail = true;
            continue;
        }
        struct attr a;
        size_t an = ne - nb;
        a.long_name = an >= sizeof a.name;
        if (a.long_name)
            an = sizeof a.name - 1;
        for (size_t k = 0; k < an; k++) {
            if (s[nb + k] == '\0')
                t->bail = true;
            a.name[k] = (char)mail_lower((unsigned char)s[nb + k]);
        }
        a.name[an] = '\0';
        /* 13.2.5.33: a duplicate attribute is dropped */
        bool dup = false;
        for (size_t k = 0; k < *nattrs && !dup; k++)
            dup = !a.long_name && !attrs[k].long_name && strcmp(attrs[k].name, a.name) == 0;
        if (dup || a.long_name)
            continue;
        a.off = t->bn;
        if (has_value)
            copy_text(t, vb, ve, true, true);
        a.len = t->bn - a.off;
        attrs[(*nattrs)++] = a;
    }
}

static void push(struct tok *t, const char *name)
{
    if (t->depth >= STACK_MAX) {
        t->bail = true;
        return;
    }
    unsigned cls = tag_class(name);
    bool scope = name_is(name, "applet") || name_is(name, "caption") || name_is(name, "table") ||
                 name_is(name, "td") || name_is(name, "th") || name_is(name, "marquee") ||
                 name_is(name, "object");
    t->sflags[t->depth] =
        (unsigned char)(((cls & (TC_PCLOSE | TC_TABLE | TC_SPECIAL)) ? SF_SPECIAL : 0) |
                        (scope ? SF_SCOPE : 0) | (name_is(name, "table") ? SF_TABLE : 0) |
                        (name_is(name, "button") ? SF_BUTTON : 0));
    size_t n = strnlen(name, sizeof t->stack[0] - 1);
    memcpy(t->stack[t->depth], name, n);
    t->stack[t->depth++][n] = '\0';
}

static bool formatting_tag(const char *name);
static unsigned tag_class(const char *name);

/* A formatting element leaves the stack but not the tree's list (struct tok, ghost). */
static void add_ghost(struct tok *t, const char *name)
{
    unsigned same = 0;
    for (size_t k = 0; k < t->depth; k++)
        same += strcmp(t->stack[k], name) == 0;
    for (unsigned g = 0; g < t->nghost; g++)
        same += strcmp(t->ghost[g], name) == 0;
    if ((t->tables && !t->cell[t->tables - 1]) || t->nghost == 2 || same > 2 ||
        name_is(name, "a")) {
        t->bail = true; /* the Noah's Ark clause (13.2.4.3), tables: not modelled */
        return;
    }
    t->ghost_level[t->nghost] = t->tables;
    memcpy(t->ghost[t->nghost++], name, sizeof t->ghost[0]);
}

/* A cell at this table level (and what is inside it) closes: its marker goes, and with it
 * the ghosts made after it. */
static void drop_ghosts(struct tok *t, size_t level)
{
    unsigned n = 0;
    for (unsigned g = 0; g < t->nghost; g++)
        if (t->ghost_level[g] < level) {
            t->ghost_level[n] = t->ghost_level[g];
            memmove(t->ghost[n++], t->ghost[g], sizeof t->ghost[0]);
        }
    t->nghost = n;
}

/* Pops up to and including the innermost open element of that name; false if none. The
 * formatting elements above it become ghosts. */
static bool pop_to(struct tok *t, const char *name)
{
    for (size_t k = t->depth; k-- > 0;)
        if (name_is(t->stack[k], name)) {
            /* closing a cell (or what holds one) clears the list up to its marker */
            bool marker = (tag_class(name) & TC_TABLE) || name_is(name, "table") ||
                          name_is(name, "applet") || name_is(name, "marquee") ||
                          name_is(name, "object");
            for (size_t j = k + 1; j < t->depth && !marker && !t->bail; j++)
                if (formatting_tag(t->stack[j]))
                    add_ghost(t, t->stack[j]);
            t->depth = k;
            return true;
        }
    return false;
}

/* Pushes the ghosts back, as clones (the tree's "reconstruct the active formatting
 * elements"). */
static void reconstruct(struct tok *t)
{
    if (!t->nghost)
        return;
    /* only those after the last marker: made in this cell, or outside any table */
    unsigned n = 0;
    for (unsigned g = 0; g < t->nghost; g++) {
        if (t->ghost_level[g] != t->tables) {
            t->ghost_level[n] = t->ghost_level[g];
            memmove(t->ghost[n++], t->ghost[g], sizeof t->ghost[0]);
            continue;
        }
        if (t->tables && !t->cell[t->tables - 1]) {
            t->bail = true;
            return;
        }
        if (t->cur_link >= 0 && t->links[t->cur_link].nodes < LINK_NODES)
            t->links[t->cur_link].nodes++;
        push(t, t->ghost[g]);
    }
    t->nghost = n;
}

/* The index of the innermost open element named one of names (NULL-terminated) above any
 * element with a flag of bound, or -1. */
static long find_open(const struct tok *t, const char *const *names, unsigned bound)
{
    for (size_t k = t->depth; k-- > 0;) {
        for (const char *const *n = names; *n; n++)
            if (name_is(t->stack[k], *n))
                return (long)k;
        if (t->sflags[k] & bound)
            return -1;
    }
    return -1;
}

static bool formatting_tag(const char *name)
{
    static const char *const f[] = {"a", "b",     "big",    "code",   "em", "font", "i", "nobr",
                                    "s", "small", "strike", "strong", "tt", "u",    NULL};
    for (const char *const *n = f; *n; n++)
        if (name_is(name, *n))
            return true;
    return false;
}

/* The elements a start tag closes implicitly, so that the stack stays close to the tree's:
 * "close a p element" (13.2.6.4.7, p in button scope), and the table parts that clear the
 * stack back to a row, body or table context (13.2.6.4.9-15). A link among them has made the
 * caller give up before. */
static void close_implied(struct tok *t, const char *name, unsigned cls)
{
    static const char *const p[] = {"p", NULL};
    static const char *const row[] = {"tr", "table", NULL};
    static const char *const body[] = {"tbody", "thead", "tfoot", "table", NULL};
    static const char *const table[] = {"table", NULL};
    long k = -1;
    if ((cls & TC_PCLOSE) && !name_is(name, "table")) {
        k = find_open(t, p, SF_SCOPE | SF_BUTTON);
        if (k < 0)
            return;
        /* formatting elements closed with the p are reconstructed at the next text, and
         * their end tags then close the clones: not modelled */
        for (size_t j = (size_t)k + 1; j < t->depth; j++)
            if (formatting_tag(t->stack[j]))
                t->bail = true;
        t->depth = (size_t)k;
        return;
    }
    if (name_is(name, "td") || name_is(name, "th"))
        k = find_open(t, row, 0);
    else if (name_is(name, "tr"))
        k = find_open(t, body, 0);
    else if ((cls & TC_TABLE) && !name_is(name, "col"))
        k = find_open(t, table, 0);
    if (k >= 0)
        t->depth = (size_t)k + 1;
}

static void close_link(struct tok *t)
{
    if (t->cur_link >= 0)
        t->links[t->cur_link].open = false;
    t->cur_link = -1;
}

/* A start tag while a link is open: the index of the link's <a> in the stack when the tree
 * keeps to what the tokenizer models, else -1. A new <a> runs the adoption agency on the old
 * one: without a special element above it, that pops the old link (and what is above it)
 * and nothing is cloned. A block element (not li/dd/dt, whose closing loop would pop the
 * link, nor table or form) just opens inside the link, unless it closes a p below the link. */
static long link_start(const struct tok *t, const char *name, unsigned cls)
{
    static const char *const p[] = {"p", NULL};
    long ai = -1;
    for (size_t k = t->depth; k-- > 0;)
        if (name_is(t->stack[k], "a")) {
            ai = (long)k;
            break;
        }
    if (ai < 0)
        return -1;
    if (name_is(name, "a")) {
        for (size_t k = (size_t)ai + 1; k < t->depth; k++)
            if (t->sflags[k] & SF_SPECIAL)
                return -1;
        return ai;
    }
    if ((cls & TC_TABLE) || name_is(name, "li") || name_is(name, "dd") || name_is(name, "dt") ||
        name_is(name, "table") || name_is(name, "form"))
        return -1;
    long k = find_open(t, p, SF_SCOPE | SF_BUTTON);
    if (k >= 0 && k < ai)
        return -1;
    return ai;
}

static bool heading(const char *name)
{
    return name[0] == 'h' && name[1] >= '1' && name[1] <= '6' && !name[2];
}

/* Whether the start tag reconstructs the active formatting elements "in body" (13.2.6.4.7):
 * all but the head's elements, the blocks that close a p, headings, lists, tables and their
 * parts, and a few others. */
static bool reconstructs(const char *name, unsigned cls)
{
    static const char *const no[] = {
        "html",     "body",   "frameset", "base",     "basefont", "bgsound", "link",      "meta",
        "noframes", "script", "style",    "template", "title",    "search",  "plaintext", "param",
        "source",   "track",  "hr",       "textarea", "iframe",   "noembed", "noscript",  "rb",
        "rtc",      "rp",     "rt",       "col",      "colgroup", "frame",   "head",      NULL};
    if ((cls & (TC_PCLOSE | TC_TABLE)) && !name_is(name, "xmp"))
        return false;
    for (const char *const *n = no; *n; n++)
        if (name_is(name, *n))
            return false;
    return true;
}

static void start_tag(struct tok *t, const char *name, struct attr *attrs, size_t nattrs)
{
    if (heading(name) && t->depth && heading(t->stack[t->depth - 1])) {
        t->bail = true; /* 13.2.6.4.7: a heading start tag pops a heading current node */
        return;
    }
    unsigned cls = tag_class(name);
    if ((cls & TC_FOREIGN)) {
        t->bail = true;
        return;
    }
    if (t->nghost && reconstructs(name, cls))
        reconstruct(t);
    if (t->bail)
        return;
    bool in_table_ctx = t->tables > 0 && !t->cell[t->tables - 1];
    bool root = name_is(name, "html") || name_is(name, "body") || name_is(name, "head");
    if (root) {
        /* html, head, body: the first one opens the element, at its place in the document;
         * a later one is dropped or has its attributes merged into the element opened
         * before, out of document order: Gumbo then, when they could hold URLs */
        bool late = name_is(name, "body") ? t->body_started : t->started;
        bool urls = false;
        for (size_t k = 0; k < nattrs && !urls; k++)
            urls = name_is(attrs[k].name, "href") || name_is(attrs[k].name, "src") ||
                   name_is(attrs[k].name, "action") || name_is(attrs[k].name, "formaction") ||
                   name_is(attrs[k].name, "background") || name_is(attrs[k].name, "srcset");
        if (late && urls) {
            t->bail = true;
            return;
        }
        if (!name_is(name, "html"))
            t->started = true;
        if (name_is(name, "body"))
            t->body_started = true;
    } else {
        t->started = true;
        if (!(cls & TC_HEAD))
            t->body_started = true;
    }
    if ((cls & TC_TABLE) && t->tables == 0 && !root)
        return; /* a table part outside a table: "in body" ignores it, attributes and all */
    if (in_table_ctx && !(cls & TC_TABLE) && !name_is(name, "script") && !name_is(name, "style")) {
        /* foster parented (moved before the table), or a <table> that closes this one, or a
         * form inserted and closed at once */
        t->bail = true;
        return;
    }
    if (t->cur_link != -1 && (name_is(name, "a") || (cls & TC_TABLE) || (cls & TC_PCLOSE))) {
        /* a nested link (the adoption agency), or an element that may close the link's
         * ancestors and have the link rebuilt: followed in the simple cases only */
        long ai = link_start(t, name, cls);
        if (ai < 0) {
            t->bail = true;
            return;
        }
        if (name_is(name, "a")) {
            /* no furthest block: the old link and what is above it are popped; formatting
             * elements among them stay in the list of active formatting elements, and the
             * <a> start tag reconstructs them (clones, in their order) before it inserts the
             * new link: "<a><i><a>x</i>y" is a, i', a2 — "</i>" then closes the clone and the
             * link, and "x", "y" are two text nodes. Followed for up to two of them (more
             * could meet the Noah's Ark clause, 13.2.4.3). */
            char clones[2][sizeof t->stack[0]];
            size_t nclones = 0;
            for (size_t j = (size_t)ai + 1; j < t->depth; j++) {
                if (!formatting_tag(t->stack[j]))
                    continue;
                if (nclones == 2) {
                    t->bail = true;
                    return;
                }
                memcpy(clones[nclones++], t->stack[j], sizeof t->stack[0]);
            }
            flush(t);
            t->depth = (size_t)ai;
            close_link(t);
            for (size_t k = 0; k < nclones; k++)
                push(t, clones[k]);
        }
    }
    if (name_is(name, "form")) {
        if (t->form_ptr)
            return; /* a form while the pointer is set: ignored, attributes and all */
        t->form_ptr = true;
    }
    if (!root)
        flush(t);
    if (t->cur_link >= 0 && t->links[t->cur_link].nodes < LINK_NODES)
        t->links[t->cur_link].nodes++;
    /* the element's attributes, as html.c's element() reads them */
    int link_idx = -1;
    for (size_t k = 0; k < nattrs && !t->bail; k++) {
        const struct attr *a = &attrs[k];
        struct ev *e = NULL;
        if (name_is(a->name, "href")) {
            if (name_is(name, "base"))
                continue;
            e = add_ev(t, EV_ATTR);
            if (e && name_is(name, "a") && link_idx < 0) {
                if (t->nlinks == t->linkcap) {
                    size_t cap = t->linkcap ? t->linkcap * 2 : 8;
                    struct link *nl = realloc(t->links, cap * sizeof *nl);
                    if (!nl) {
                        t->bail = true;
                        return;
                    }
                    t->links = nl;
                    t->linkcap = cap;
                }
                e->link = link_idx = (int)t->nlinks;
                t->links[t->nlinks].n = 0;
                t->links[t->nlinks].nodes = 1;
                t->links[t->nlinks].open = true;
                t->nlinks++;
            }
        } else if (name_is(a->name, "src") || name_is(a->name, "action") ||
                   name_is(a->name, "formaction") || name_is(a->name, "background") ||
                   (name_is(a->name, "data") && name_is(name, "object"))) {
            e = add_ev(t, EV_ATTR);
        } else if (name_is(a->name, "srcset")) {
            e = add_ev(t, EV_SRCSET);
        } else if (name_is(a->name, "content") && name_is(name, "meta")) {
            const struct attr *he = NULL;
            for (size_t q = 0; q < nattrs && !he; q++)
                if (name_is(attrs[q].name, "http-equiv"))
                    he = &attrs[q];
            if (he && mail_ieq(t->buf + he->off, he->len, "refresh") &&
                !memchr(t->buf + he->off, '\0', he->len))
                e = add_ev(t, EV_REFRESH);
        }
        if (e) {
            e->where = e->kind == EV_ATTR ? where_of(name, a->name) : NULL;
            e->off = a->off;
            e->len = a->len;
        }
    }
    if (name_is(name, "a"))
        t->cur_link = link_idx >= 0 ? link_idx : -2; /* -2: an <a> without href */
    if (name_is(name, "table")) {
        if (t->tables >= TABLE_MAX) {
            t->bail = true;
            return;
        }
        t->cell[t->tables++] = false;
    } else if (name_is(name, "td") || name_is(name, "th") || name_is(name, "caption")) {
        drop_ghosts(t, t->tables);
        t->cell[t->tables - 1] = true;
    } else if ((cls & TC_TABLE)) {
        drop_ghosts(t, t->tables);
        t->cell[t->tables - 1] = false;
    }
    close_implied(t, name, cls);
    if (!(cls & TC_VOID) && !root)
        push(t, name);
}

static bool in_list(const char *name, const char *const *names)
{
    for (const char *const *n = names; *n; n++)
        if (name_is(name, *n))
            return true;
    return false;
}

/* An end tag whose element is open but beyond an element that bounds the search (13.2.6.4):
 * 0 = ignored, 1 = the adoption agency moves the formatting element out of the stack and
 * leaves the rest open, -1 = anything else (Gumbo then). match = its index in the stack. */
static int bounded_end_tag(const struct tok *t, const char *name, unsigned cls, size_t match)
{
    static const char *const scope[] = {"applet",  "caption", "table", "td",       "th",
                                        "marquee", "object",  "html",  "template", NULL};
    static const char *const formatting[] = {"b", "big",   "code",   "em",     "font", "i", "nobr",
                                             "s", "small", "strike", "strong", "tt",   "u", NULL};
    if (cls & TC_TABLE) {
        /* a table part not in table scope: every table insertion mode ignores its end tag
         * (in table, in table body, in row, in cell); not followed: caption, colgroup */
        for (size_t k = match + 1; k < t->depth; k++)
            if (name_is(t->stack[k], "caption") || name_is(t->stack[k], "colgroup"))
                return -1;
        return 0;
    }
    if (!in_list(name, formatting))
        return -1;
    bool bound = false, special = true;
    for (size_t k = match + 1; k < t->depth; k++) {
        if (name_is(t->stack[k], "a"))
            return -1; /* a link would be cloned */
        if (in_list(t->stack[k], scope))
            bound = true;
        else if (!(t->sflags[k] & SF_SPECIAL))
            special = false;
    }
    /* not in scope (a table, a cell...): the adoption agency returns at once, or the element
     * is behind a marker and the "any other end tag" steps stop at a special element */
    if (bound)
        return 0;
    /* only special elements above it: each round moves a clone of the formatting element
     * under the next one; the last round pops the clone, the top element stays current */
    return special ? 1 : -1;
}

static void end_tag(struct tok *t, const char *name)
{
    for (unsigned g = t->nghost; g-- > 0;)
        if (t->ghost_level[g] == t->tables && name_is(t->ghost[g], name)) {
            /* the adoption agency finds it in the list, not in the stack: dropped, ignored */
            for (unsigned h = g; h + 1 < t->nghost; h++) {
                t->ghost_level[h] = t->ghost_level[h + 1];
                memmove(t->ghost[h], t->ghost[h + 1], sizeof t->ghost[0]);
            }
            t->nghost--;
            return;
        }
    if (name_is(name, "html") || name_is(name, "body") || name_is(name, "br") ||
        name_is(name, "p") || name_is(name, "head")) {
        if (name_is(name, "p") && t->cur_link != -1) {
            t->bail = true; /* the link inside closes with the p, to be rebuilt after it */
            return;
        }
        if (name_is(name, "br") || name_is(name, "p")) {
            flush(t); /* </br> is <br>; </p> without a p inserts one */
            pop_to(t, name);
        }
        return;
    }
    /* 13.2.6.4.7: the innermost element of that name closes if nothing above it bounds the
     * search: table parts look in table scope, block elements in scope, the other end tags
     * stop at any special element (formatting ones too: the adoption agency). None open:
     * ignored, no node, the text run goes on. Gumbo matches unknown tags by kind, not name. */
    if (name_is(name, "form")) {
        /* the form the pointer names is removed from the stack; Gumbo's tree then keeps the
         * text on both sides in one node (the run goes on). Followed when it is the current
         * node; without a pointer, ignored */
        if (!t->form_ptr)
            return;
        t->form_ptr = false;
        if (t->depth == 0 || !name_is(t->stack[t->depth - 1], "form")) {
            for (size_t k = t->depth; k-- > 0;)
                if (name_is(t->stack[k], "form"))
                    t->bail = true;
            return; /* not open: ignored */
        }
        t->depth--;
        return;
    }
    unsigned cls = tag_class(name);
    unsigned bound = (cls & TC_TABLE) || name_is(name, "table") ? SF_TABLE
                     : (cls & (TC_PCLOSE | TC_SPECIAL))         ? SF_SCOPE
                                                                : SF_SPECIAL;
    bool unknown = gumbo_tag_enum(name) == GUMBO_TAG_UNKNOWN, open = false, bounded = false;
    size_t match = 0;
    for (size_t k = t->depth; k-- > 0 && !open;) {
        open = name_is(t->stack[k], name);
        if (open) {
            match = k;
            break;
        }
        if (t->sflags[k] & bound)
            bounded = true;
        if (unknown) {
            if (!(t->sflags[k] & SF_KNOWN_SET))
                t->sflags[k] |= SF_KNOWN_SET |
                                (gumbo_tag_enum(t->stack[k]) == GUMBO_TAG_UNKNOWN ? SF_UNKNOWN : 0);
            if (t->sflags[k] & SF_UNKNOWN) {
                t->bail = true;
                return;
            }
        }
    }
    /* the tree inserts the tbody and tr this stack does not have ("<table><td>" is table,
     * tbody, tr, td): their end tags, without one open in the innermost table here, close an
     * open cell there, and the text after them is foster parented, not part of the cell's
     * text run ("<table><td>b</tr>.cm/"). Outside a cell, text in the table gives up anyway. */
    if (t->tables && t->cell[t->tables - 1] && (!open || bounded) &&
        (name_is(name, "tr") || name_is(name, "tbody") || name_is(name, "thead") ||
         name_is(name, "tfoot"))) {
        t->bail = true;
        return;
    }
    /* 13.2.6.4.7: an h1-h6 end tag closes the innermost heading open, whichever it is
     * ("<h4>t</h3>"): followed when that is the one of its name */
    if (heading(name))
        for (size_t k = t->depth; k-- > (open ? match + 1 : 0);)
            if (heading(t->stack[k])) {
                t->bail = true;
                return;
            }
    if (!open)
        return;
    if (bounded) {
        int how = bounded_end_tag(t, name, cls, match);
        if (how == 0)
            return; /* ignored: no node, the text run goes on */
        if (how == 1) {
            /* the adoption agency: the formatting element leaves the stack, the special
             * elements above it stay open, what follows is a new text node */
            flush(t);
            memmove(&t->stack[match], &t->stack[match + 1],
                    (t->depth - match - 1) * sizeof t->stack[0]);
            memmove(&t->sflags[match], &t->sflags[match + 1], t->depth - match - 1);
            t->depth--;
            return;
        }
        t->bail = true; /* ignored or closing, depending on what is really open */
        return;
    }
    /* an element opened inside the link closes it too */
    if (t->cur_link != -1 && !name_is(name, "a")) {
        bool inside = false;
        for (size_t k = t->depth; k-- > 0;) {
            if (name_is(t->stack[k], "a"))
                break;
            if (name_is(t->stack[k], name)) {
                inside = true;
                break;
            }
        }
        if (!inside) {
            t->bail = true; /* an ancestor of the link closes: the link may be rebuilt */
            return;
        }
    }
    flush(t);
    pop_to(t, name);
    if (name_is(name, "a"))
        close_link(t);
    if (name_is(name, "table")) {
        if (t->tables) {
            drop_ghosts(t, t->tables);
            t->tables--;
        }
    } else if (t->tables && (tag_class(name) & TC_TABLE)) {
        drop_ghosts(t, t->tables);
        t->cell[t->tables - 1] = false; /* </tr> and the like close the cell too */
    }
}

/* Content of a raw-text or RCDATA element up to its end tag (13.2.5.2-3, 13.2.5.9-20). */
static size_t raw_text(struct tok *t, size_t i, const char *name, bool refs)
{
    const char *s = t->s;
    size_t len = t->len, nl = strlen(name), j = i;
    for (;;) {
        const char *lt = memchr(s + j, '<', len - j);
        if (!lt) {
            j = len;
            break;
        }
        j = (size_t)(lt - s);
        if (j + 2 + nl <= len && s[j + 1] == '/' && mail_iprefix(s + j + 2, nl, name) &&
            (j + 2 + nl == len || is_ws(s[j + 2 + nl]) || s[j + 2 + nl] == '/' ||
             s[j + 2 + nl] == '>'))
            break;
        j++;
    }
    /* 13.2.5.4, 13.2.5.20-32: after "<!--" in a script, a "<script" makes the next "</script"
     * part of the data (double escape); without one, the end tag found ends it */
    if (name_is(name, "script") && j > i) {
        size_t c = mail_ifind(s + i, j - i, "<!--");
        if (c != SIZE_MAX && mail_ifind(s + i + c, j - i - c, "<script") != SIZE_MAX) {
            t->bail = true;
            return len;
        }
    }
    t->in_style = name_is(name, "style");
    t->raw = true;
    text(t, i, j, refs);
    flush(t);
    t->in_style = t->raw = false;
    if (j >= len)
        return len; /* EOF: the element ends with the document */
    char en[16];
    struct attr none[1];
    size_t na;
    size_t k = read_tag(t, j + 2, en, sizeof en, none, &na, false);
    pop_to(t, name);
    return k;
}

/* A comment inside a link: one more node for the link text's node budget. */
static void link_node(struct tok *t)
{
    if (t->cur_link >= 0 && t->links[t->cur_link].nodes < LINK_NODES)
        t->links[t->cur_link].nodes++;
}

static void tokenize(struct tok *t)
{
    const char *s = t->s;
    size_t len = t->len, i = 0;
    struct attr attrs[MAX_ATTRS];
    while (i < len && !t->bail) {
        const char *lt = memchr(s + i, '<', len - i);
        size_t j = lt ? (size_t)(lt - s) : len;
        text(t, i, j, true);
        if (j >= len)
            break;
        i = j;
        char c = j + 1 < len ? s[j + 1] : '\0';
        if (mail_isalpha((unsigned char)c)) {
            char name[12];
            size_t na;
            i = read_tag(t, j + 1, name, sizeof name, attrs, &na, true);
            if (t->bail)
                break;
            start_tag(t, name, attrs, na);
            if (t->bail)
                break;
            if (name_is(name, "script") || name_is(name, "style") || name_is(name, "xmp") ||
                name_is(name, "iframe") || name_is(name, "noembed") || name_is(name, "noframes"))
                i = raw_text(t, i, name, false);
            else if (name_is(name, "title") || name_is(name, "textarea"))
                i = raw_text(t, i, name, true);
        } else if (c == '/') {
            char c2 = j + 2 < len ? s[j + 2] : '\0';
            if (mail_isalpha((unsigned char)c2)) {
                char name[12];
                size_t na;
                i = read_tag(t, j + 2, name, sizeof name, attrs, &na, false);
                if (!t->bail)
                    end_tag(t, name);
            } else if (c2 == '>') {
                i = j + 3; /* "</>": nothing */
            } else {
                t->bail = true; /* bogus comment */
            }
        } else if (c == '!') {
            /* a comment is a node (the text run ends); a DOCTYPE after the start is dropped */
            if (!mail_iprefix(s + j + 2, len - j - 2, "doctype")) {
                flush(t);
                link_node(t);
            }
            if (j + 3 < len && s[j + 2] == '-' && s[j + 3] == '-') {
                size_t k = j + 4;
                if (k < len && s[k] == '>') {
                    i = k + 1;
                    continue;
                }
                if (k + 1 < len && s[k] == '-' && s[k + 1] == '>') {
                    i = k + 2;
                    continue;
                }
                for (;;) {
                    const char *d = k < len ? memchr(s + k, '-', len - k) : NULL;
                    if (!d) {
                        i = len;
                        break;
                    }
                    k = (size_t)(d - s);
                    if (k + 2 < len && s[k + 1] == '-' && s[k + 2] == '>') {
                        i = k + 3;
                        break;
                    }
                    if (k + 3 < len && s[k + 1] == '-' && s[k + 2] == '!') {
                        t->bail = true;
                        break;
                    }
                    k++;
                }
            } else {
                const char *gt = memchr(s + j, '>', len - j); /* DOCTYPE, bogus comment */
                if (!gt || mail_iprefix(s + j + 2, len - j - 2, "[cdata["))
                    t->bail = true;
                i = gt ? (size_t)(gt - s) + 1 : len;
            }
        } else if (c == '?') {
            /* 13.2.5.6: a bogus comment up to '>' (<?xml ...?> of office documents) */
            flush(t);
            link_node(t);
            const char *gt = memchr(s + j, '>', len - j);
            if (!gt)
                t->bail = true;
            i = gt ? (size_t)(gt - s) + 1 : len;
        } else {
            text(t, j, j + 1, false); /* a '<' that starts nothing */
            i = j + 1;
        }
    }
    if (!t->bail)
        flush(t);
}

/* Well-formed UTF-8 (RFC 3629: no overlongs, surrogates or code points past U+10FFFF) and no
 * noncharacter beyond the BMP. Gumbo replaces bad sequences by U+FFFD in its own way: such
 * documents go to it (controls and BMP noncharacters are replaced in copy_text). */
static bool utf8_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = mail_utf8_seq(p, n, i, &cp);
        if (!k || (cp >= 0x10000 && (cp & 0xfffe) == 0xfffe))
            return false;
        i += k;
    }
    return true;
}

/* Declared in html.c's terms: reports the URLs of s through x, or returns false (having
 * reported nothing) when the document needs the tree builder. */
bool mail_urlx_html_fast(struct mail_urlx *x, const char *s, size_t len,
                         void (*attr)(struct mail_urlx *, const char *, size_t, const char *,
                                      const char *),
                         void (*srcset)(struct mail_urlx *, const char *, size_t),
                         void (*refresh)(struct mail_urlx *, const char *, size_t))
{
    if (!utf8_valid((const unsigned char *)s, len))
        return false;
    struct tok t;
    memset(&t, 0, sizeof t);
    t.s = s;
    t.len = len;
    t.cur_link = -1;
    t.bcap = len + len / 4 + 256;
    t.buf = malloc(t.bcap);
    if (!t.buf)
        return false;
    tokenize(&t);
    bool ok = !t.bail;
    for (size_t k = 0; ok && k < t.nev && !x->stopped; k++) {
        const struct ev *e = &t.ev[k];
        const char *p = t.buf + e->off;
        switch (e->kind) {
        case EV_ATTR: {
            char shown[256] = "";
            if (e->link >= 0) {
                const struct link *l = &t.links[e->link];
                if (l->n)
                    mail_text_domain(l->text, l->n, shown, sizeof shown);
            }
            attr(x, p, e->len, e->where, shown);
            break;
        }
        case EV_SRCSET:
            srcset(x, p, e->len);
            break;
        case EV_REFRESH:
            refresh(x, p, e->len);
            break;
        case EV_TEXT:
            mail_urlx_text(x, p, e->len, "html:text");
            break;
        }
    }
    free(t.buf);
    free(t.rbuf);
    free(t.ev);
    free(t.links);
    return ok;
}
