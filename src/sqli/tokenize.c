/* A SQL tokenizer for the union of the lexical rules of MySQL, PostgreSQL, MSSQL, Oracle,
 * SQLite and DB2. Where dialects disagree it takes the reading an injection could exploit on
 * some server: '--' starts a comment even without the space MySQL wants, '#' starts a comment
 * (MySQL), a backslash escapes inside strings (MySQL) and doubled quotes do too (all), and the
 * body of a MySQL executable comment is code. */
#include <string.h>

#include "sqli_int.h"

enum {
    C_WORD = 0x01,  /* letters, '_', bytes >= 0x80: start of a word */
    C_WORDC = 0x02, /* may continue a word: also digits and '$' */
    C_DIGIT = 0x04,
    C_SPACE = 0x08,
    C_HEX = 0x10,
};

static uint8_t cls[256];
static volatile int cls_ready;

static void cls_init(void)
{
    if (cls_ready)
        return;
    for (int c = 0; c < 256; c++) {
        uint8_t v = 0;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80)
            v |= C_WORD | C_WORDC;
        if (c >= '0' && c <= '9')
            v |= C_DIGIT | C_WORDC | C_HEX;
        if (c == '$')
            v |= C_WORDC;
        if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
            v |= C_HEX;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == 0 ||
            c == 0xA0)
            v |= C_SPACE;
        cls[c] = v;
    }
    cls_ready = 1; /* idempotent: racing initialisers write the same bytes */
}

struct tz {
    const uint8_t *s;
    size_t len, i;
    struct ks_sqli_token *out;
    size_t cap, n;
    uint16_t space; /* KS_SQLI_TF_SPACE_BEFORE pending */
    bool bang;      /* inside a MySQL executable comment */
};

static bool emit(struct tz *z, uint8_t type, uint8_t sub, uint16_t flags, size_t off, size_t end,
                 uint16_t kw)
{
    if (z->n >= z->cap)
        return false;
    struct ks_sqli_token *t = &z->out[z->n++];
    t->off = (uint32_t)off;
    t->len = (uint32_t)(end - off);
    t->type = type;
    t->sub = sub;
    t->flags = (uint16_t)(flags | z->space);
    t->kw = kw;
    z->space = 0;
    return true;
}

/* End of a quoted run starting after its opening quote q at i: index after the closing quote,
 * or len (unterminated, *open set). Backslash escapes for ' and " only. */
static size_t quoted_end(const uint8_t *s, size_t len, size_t i, uint8_t q, bool *open)
{
    bool bs = q == '\'' || q == '"';
    while (i < len) {
        const uint8_t *p = memchr(s + i, q, len - i);
        size_t stop = p ? (size_t)(p - s) : len;
        if (bs) {
            const uint8_t *b = memchr(s + i, '\\', stop - i);
            if (b) {
                i = (size_t)(b - s) + 2;
                continue;
            }
        }
        if (!p)
            break;
        if (stop + 1 < len && s[stop + 1] == q) { /* doubled quote */
            i = stop + 2;
            continue;
        }
        *open = false;
        return stop + 1;
    }
    *open = true;
    return len;
}

static size_t skip_digits(const uint8_t *s, size_t len, size_t i)
{
    while (i < len && (cls[s[i]] & C_DIGIT))
        i++;
    return i;
}

static size_t word_end(const uint8_t *s, size_t len, size_t i)
{
    while (i < len && (cls[s[i]] & C_WORDC))
        i++;
    return i;
}

/* Oracle q'[...]' : returns the index after the literal, or 0 if not one. */
static size_t qquote_end(const uint8_t *s, size_t len, size_t i, bool *open)
{
    /* s[i] == '\'' after the q */
    if (i + 1 >= len)
        return 0;
    uint8_t d = s[i + 1], e = d;
    if (d == '[')
        e = ']';
    else if (d == '(')
        e = ')';
    else if (d == '{')
        e = '}';
    else if (d == '<')
        e = '>';
    else if ((cls[d] & C_SPACE) || d == '\'')
        return 0;
    for (size_t j = i + 2; j + 1 < len; j++)
        if (s[j] == e && s[j + 1] == '\'') {
            *open = false;
            return j + 2;
        }
    *open = true;
    return len;
}

/* PostgreSQL $tag$...$tag$ ; returns the index after it, or 0 if s[i..] is no dollar quote. */
static size_t dollar_end(const uint8_t *s, size_t len, size_t i, bool *open)
{
    size_t j = i + 1;
    while (j < len && (cls[s[j]] & (C_WORD | C_DIGIT)) && s[j] < 0x80)
        j++;
    if (j >= len || s[j] != '$' || (j > i + 1 && (cls[s[i + 1]] & C_DIGIT)))
        return 0;
    size_t tag = j + 1 - i; /* "$tag$" */
    for (size_t k = j + 1; k + tag <= len; k++)
        if (s[k] == '$' && memcmp(s + k, s + i, tag) == 0) {
            *open = false;
            return k + tag;
        }
    *open = true;
    return len;
}

static bool number(struct tz *z)
{
    const uint8_t *s = z->s;
    size_t len = z->len, i = z->i, start = i;
    if (s[i] == '0' && i + 2 < len && (s[i + 1] | 0x20) == 'x' && (cls[s[i + 2]] & C_HEX)) {
        i += 2;
        while (i < len && (cls[s[i]] & C_HEX))
            i++;
    } else if (s[i] == '0' && i + 2 < len && (s[i + 1] | 0x20) == 'b' &&
               (s[i + 2] == '0' || s[i + 2] == '1')) {
        i += 2;
        while (i < len && (s[i] == '0' || s[i] == '1'))
            i++;
    } else {
        i = skip_digits(s, len, i);
        if (i < len && s[i] == '.')
            i = skip_digits(s, len, i + 1);
        if (i < len && (s[i] | 0x20) == 'e') {
            size_t j = i + 1;
            if (j < len && (s[j] == '+' || s[j] == '-'))
                j++;
            if (j < len && (cls[s[j]] & C_DIGIT))
                i = skip_digits(s, len, j);
        }
    }
    if (i < len && (cls[s[i]] & C_WORD)) {
        /* "6and" / "1union": MySQL reads a number and a keyword; "3rd" / "70s" is a word. */
        size_t we = word_end(s, len, i);
        const struct sqli_kw *k = sqli_kw_find(s + i, we - i);
        if (!(k && (k->cls == KS_SQLI_KW_LOGIC || k->cls == KS_SQLI_KW_CLAUSE ||
                    k->cls == KS_SQLI_KW_OPWORD))) {
            z->i = we;
            return emit(z, KS_SQLI_T_IDENT, 0, 0, start, we, 0);
        }
    }
    z->i = i;
    return emit(z, KS_SQLI_T_NUMBER, 0, 0, start, i, 0);
}

static bool word(struct tz *z)
{
    const uint8_t *s = z->s;
    size_t len = z->len, start = z->i;
    size_t e = word_end(s, len, start);
    /* Prefixed literals: N'..' E'..' X'..' B'..' Q'[..]' U&'..' */
    if (e - start == 1 && e < len && s[e] == '\'') {
        uint8_t c = s[start] | 0x20;
        bool open = false;
        if (c == 'n' || c == 'e' || c == 'x' || c == 'b') {
            size_t end = quoted_end(s, len, e + 1, '\'', &open);
            z->i = end;
            uint8_t type = (c == 'x' || c == 'b') && !open ? KS_SQLI_T_NUMBER : KS_SQLI_T_STRING;
            return emit(z, type, '\'', open ? KS_SQLI_TF_UNTERMINATED : 0, start, end, 0);
        }
        if (c == 'q') {
            size_t end = qquote_end(s, len, e, &open);
            if (end) {
                z->i = end;
                return emit(z, KS_SQLI_T_STRING, '\'', open ? KS_SQLI_TF_UNTERMINATED : 0, start,
                            end, 0);
            }
        }
    }
    z->i = e;
    size_t j = e;
    while (j < len && (cls[s[j]] & C_SPACE))
        j++;
    bool call = j < len && s[j] == '(';
    uint16_t ff = 0;
    const struct sqli_kw *k = sqli_word(s + start, e - start, &ff);
    /* LEFT( TEXT( INT( are calls; WHEN( EXISTS( IN( keep their grammatical role */
    bool fn =
        call && k && ((k->flags & SQLI_KWF_FUNC) || (k->cls == KS_SQLI_KW_OTHER && k->id == KW_X));
    if (k && !fn)
        return emit(z, KS_SQLI_T_KEYWORD, k->cls, 0, start, e, k->id);
    if (call) {
        return emit(z, KS_SQLI_T_FUNCTION, 0, ff, start, e, k ? k->id : 0);
    }
    return emit(z, KS_SQLI_T_IDENT, 0, 0, start, e, 0);
}

static bool op(struct tz *z)
{
    static const char *const ops3[] = {"<=>"};
    static const char *const ops2[] = {"<=", ">=", "<>", "!=", "!<", "!>", "||",
                                       "&&", "::", ":=", "<<", ">>", "->", "^="};
    const uint8_t *s = z->s;
    size_t len = z->len, i = z->i;
    size_t n = 0;
    if (i + 3 <= len && memcmp(s + i, ops3[0], 3) == 0)
        n = 3;
    else if (i + 2 <= len)
        for (size_t k = 0; k < sizeof ops2 / sizeof ops2[0]; k++)
            if (s[i] == (uint8_t)ops2[k][0] && s[i + 1] == (uint8_t)ops2[k][1]) {
                n = 2;
                break;
            }
    if (!n)
        n = 1;
    uint16_t f = 0;
    uint8_t c0 = s[i], c1 = n > 1 ? s[i + 1] : 0;
    if (c0 == '=' || (c0 == '<' && (n == 1 || c1 == '=' || c1 == '>')) ||
        (c0 == '>' && (n == 1 || c1 == '=')) || (c0 == '!' && n == 2 && c1 != '!'))
        f = KS_SQLI_TF_CMP;
    if (n == 2 && ((c0 == '|' && c1 == '|') || (c0 == '&' && c1 == '&')))
        f = KS_SQLI_TF_LOGIC;
    z->i = i + n;
    return emit(z, KS_SQLI_T_OPERATOR, c0, f, i, i + n, 0);
}

static bool step(struct tz *z)
{
    const uint8_t *s = z->s;
    size_t len = z->len, i = z->i;
    uint8_t c = s[i];
    bool open = false;
    if (cls[c] & C_SPACE) {
        while (i < len && (cls[s[i]] & C_SPACE))
            i++;
        z->i = i;
        z->space = KS_SQLI_TF_SPACE_BEFORE;
        return true;
    }
    if (cls[c] & C_WORD)
        return word(z);
    if ((cls[c] & C_DIGIT) || (c == '.' && i + 1 < len && (cls[s[i + 1]] & C_DIGIT)))
        return number(z);
    switch (c) {
    case '\'':
    case '"': {
        size_t end = quoted_end(s, len, i + 1, c, &open);
        z->i = end;
        return emit(z, KS_SQLI_T_STRING, c, open ? KS_SQLI_TF_UNTERMINATED : 0, i, end, 0);
    }
    case '`': {
        size_t end = quoted_end(s, len, i + 1, c, &open);
        z->i = end;
        return emit(z, KS_SQLI_T_QIDENT, c, open ? KS_SQLI_TF_UNTERMINATED : 0, i, end, 0);
    }
    case '[': {
        const uint8_t *p = memchr(s + i + 1, ']', len - i - 1 < 128 ? len - i - 1 : 128);
        if (!p)
            break;
        z->i = (size_t)(p - s) + 1;
        return emit(z, KS_SQLI_T_QIDENT, '[', 0, i, z->i, 0);
    }
    case '#':
    line_comment : {
        const uint8_t *p = memchr(s + i, '\n', len - i);
        size_t end = p ? (size_t)(p - s) : len;
        z->i = end;
        return emit(z, KS_SQLI_T_COMMENT, c, KS_SQLI_TF_LINE_COMMENT, i, end, 0);
    }
    case '-':
        if (i + 1 < len && s[i + 1] == '-')
            goto line_comment;
        break;
    case '/':
        if (i + 1 < len && s[i + 1] == '*') {
            if (i + 2 < len && s[i + 2] == '!') { /* MySQL: the body is code */
                size_t j = i + 3;
                size_t d = skip_digits(s, len, j);
                z->i = d - j <= 6 ? d : j;
                z->bang = true;
                z->space = KS_SQLI_TF_SPACE_BEFORE;
                return true;
            }
            size_t end = len;
            open = true;
            for (size_t j = i + 2; j + 1 < len; j++)
                if (s[j] == '*' && s[j + 1] == '/') {
                    end = j + 2;
                    open = false;
                    break;
                }
            z->i = end;
            return emit(z, KS_SQLI_T_COMMENT, '/', open ? KS_SQLI_TF_UNTERMINATED : 0, i, end, 0);
        }
        break;
    case '*':
        if (z->bang && i + 1 < len && s[i + 1] == '/') {
            z->bang = false;
            z->i = i + 2;
            z->space = KS_SQLI_TF_SPACE_BEFORE;
            return true;
        }
        break;
    case '$': {
        size_t end = dollar_end(s, len, i, &open);
        if (end) {
            z->i = end;
            return emit(z, KS_SQLI_T_STRING, '$', open ? KS_SQLI_TF_UNTERMINATED : 0, i, end, 0);
        }
        if (i + 1 < len && (cls[s[i + 1]] & C_DIGIT)) { /* $1 */
            z->i = skip_digits(s, len, i + 1);
            return emit(z, KS_SQLI_T_VAR, '$', 0, i, z->i, 0);
        }
        break;
    }
    case '\\':
        if (i + 1 < len && s[i + 1] == 'N') { /* MySQL's \N is NULL */
            z->i = i + 2;
            return emit(z, KS_SQLI_T_KEYWORD, KS_SQLI_KW_LITERAL, 0, i, i + 2, KW_NULL);
        }
        break;
    case '@': {
        size_t j = i + 1;
        if (j < len && s[j] == '@')
            j++;
        if (j < len && (s[j] == '\'' || s[j] == '"' || s[j] == '`')) {
            size_t end = quoted_end(s, len, j + 1, s[j], &open);
            z->i = end;
            return emit(z, KS_SQLI_T_VAR, '@', 0, i, end, 0);
        }
        size_t e = word_end(s, len, j);
        if (e == j)
            break;
        z->i = e;
        return emit(z, KS_SQLI_T_VAR, (uint8_t)(j - i == 2 ? '2' : '@'), 0, i, e, 0);
    }
    case ':':
        if (i + 1 < len && (cls[s[i + 1]] & C_WORD)) { /* :name bind variable */
            z->i = word_end(s, len, i + 1);
            return emit(z, KS_SQLI_T_VAR, ':', 0, i, z->i, 0);
        }
        if (i + 1 < len && (s[i + 1] == ':' || s[i + 1] == '='))
            return op(z);
        break;
    case '(':
        z->i = i + 1;
        return emit(z, KS_SQLI_T_LPAREN, 0, 0, i, i + 1, 0);
    case ')':
        z->i = i + 1;
        return emit(z, KS_SQLI_T_RPAREN, 0, 0, i, i + 1, 0);
    case ',':
        z->i = i + 1;
        return emit(z, KS_SQLI_T_COMMA, 0, 0, i, i + 1, 0);
    case ';':
        z->i = i + 1;
        return emit(z, KS_SQLI_T_SEMICOLON, 0, 0, i, i + 1, 0);
    case '.':
        z->i = i + 1;
        return emit(z, KS_SQLI_T_DOT, 0, 0, i, i + 1, 0);
    default:
        break;
    }
    if (strchr("+-*/%=<>!|&^~", c) && c)
        return op(z);
    z->i = i + 1;
    return emit(z, KS_SQLI_T_OTHER, c, 0, i, i + 1, 0);
}

size_t ks_sqli_tokenize(const uint8_t *s, size_t len, enum ks_sqli_ctx ctx,
                        struct ks_sqli_token *out, size_t cap, size_t *rest)
{
    cls_init();
    if (len > UINT32_MAX)
        len = UINT32_MAX;
    struct tz z = {.s = s, .len = len, .out = out, .cap = cap};
    if (ctx != KS_SQLI_CTX_BARE) {
        uint8_t q = ctx == KS_SQLI_CTX_SQUOTE ? '\'' : ctx == KS_SQLI_CTX_DQUOTE ? '"' : '`';
        bool open = false;
        size_t end = quoted_end(s, len, 0, q, &open);
        if (!emit(&z, KS_SQLI_T_STRING, q, open ? KS_SQLI_TF_UNTERMINATED : 0, 0, end, 0)) {
            if (rest)
                *rest = 0;
            return 0;
        }
        z.i = end;
    }
    while (z.i < len) {
        size_t before = z.i;
        if (!step(&z)) {
            z.i = before;
            break;
        }
    }
    if (rest)
        *rest = z.i;
    return z.n;
}

const char *ks_sqli_tok_type_name(unsigned type)
{
    static const char *const names[] = {
        "none",     "number", "string", "ident", "qident",    "var", "keyword", "function",
        "operator", "lparen", "rparen", "comma", "semicolon", "dot", "comment", "other"};
    return type < sizeof names / sizeof names[0] ? names[type] : "?";
}
