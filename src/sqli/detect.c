/* The generic detector (SQL_Injection). For each context a value can be placed in, the value is
 * tokenized as if it started there; a small recursive-descent parser for a permissive SQL
 * grammar then reads what follows the point where the value leaves its literal, and sums the
 * evidence of what it parsed (operators, comparisons, function calls, subqueries, clauses,
 * stacked statements, comment truncation). A context decides "injection" when the parse
 * reaches the end of the value and the evidence reaches the threshold, or when the parse
 * fails later but the evidence before the failure is already strong. Design: README.md. */
#include <string.h>

#include "sqli_int.h"

/* Operand kinds, for weighing comparisons. */
enum kind { K_NONE = 0, K_LIT, K_IDENT, K_VAR, K_FUNC, K_SUBQ, K_EXPR, K_CTX };
/* K_CTX: the literal the value was placed in; comparing it is no tautology of the value's. */

/* Evidence weights. */
enum {
    W_ESCAPE = 1,      /* the value closed the literal it was in and went on */
    W_LOGIC = 1,       /* AND OR XOR && || (counted once) */
    W_LOGIC_CONST = 2, /* ... with a constant: OR 1, AND FALSE (not in the bare context) */
    W_CMP_TAUT = 3,    /* literal compared with literal, or x=x: 1=1 'a'='a' 2>1 */
    W_CMP_STRONG = 2,  /* a comparison with a function call, subquery or variable */
    W_CMP = 1,         /* a comparison of a column */
    W_FUNC = 0,        /* a call of an unknown function: prose has "size(s)" */
    W_FUNC_KNOWN = 2,  /* a call of a SQL function */
    W_FUNC_ATTACK = 3, /* a call of a function injections use: sleep() version() char() */
    W_SUBQ = 3,        /* (SELECT ...) */
    W_CASE = 3,        /* CASE WHEN ... END */
    W_VAR_SYS = 2,     /* @@version */
    W_VAR = 1,         /* @x */
    W_HEX = 1,         /* 0x41 */
    W_UNION = 5,       /* UNION [ALL] SELECT */
    W_STACKED = 4,     /* ; statement */
    W_BARE_STMT = 3,   /* MSSQL statement without ';' (WAITFOR DELAY, EXEC) */
    W_ORDER = 2,       /* ORDER BY / GROUP BY */
    W_ORDER_NUM = 1,   /* ... by a column number */
    W_HAVING = 2,
    W_LIMIT = 1,
    W_WHERE = 1,
    W_PROCEDURE = 3,
    W_INTO_FILE = 4,
    W_TRUNC_QUOTE = 2,  /* an empty comment cutting the query off after leaving a literal */
    W_TRUNC_TEXT = 1,   /* the same with text in the comment: prose uses '--' and '#' too */
    W_TRUNC = 1,        /* a comment cutting the query off, bare context */
    W_TRUNC_WORD = 2,   /* ... an empty one standing as a word of its own ("1 OR 1 --") */
    W_LEAD_STMT = 2,    /* the value is a whole statement */
    W_SELECT_CONST = 1, /* SELECT 1 / SELECT (1) / SELECT NULL: columns probed, not read */
    P_UNBALANCED = 1,   /* quote context: the value ends outside any string or comment */
    W_BALANCED = 1,     /* quote context: the value reopens the literal the query closes */
    FAIL_PENALTY = 2,   /* the parse failed: the evidence before the failure must be stronger */
    EOF_PENALTY = 1,    /* the value ended where SQL needs more: a prefix the query may finish */
    W_CTX_OP = 1,       /* an operator applied to the literal the value closed: 'a' & 'b' */
    W_CLOSE = 1,        /* a ')' closing a parenthesis the query opened */
};

#define MAX_DEPTH 48
#define MAX_UNMATCHED_CLOSE 8

struct p {
    const uint8_t *s;
    const struct ks_sqli_token *t;
    size_t n;
    /* The parser's position is kept over the comment-free view of the tokens: idx[0..nc) are
     * the indices of the tokens that are not comments (idx[nc] = n), k the current one and
     * at its token (NULL at the end). The parser asks for the current token at every step;
     * this makes the question a load instead of a loop over comments. */
    const uint32_t *idx;
    size_t nc, k;
    const struct ks_sqli_token *at;
    /* What "the token before the position" was when comments were skipped lazily: after a
     * token was consumed and before the next was looked at, the consumed one (prev); once
     * the next was looked at, the raw token just before that one (a comment if any). */
    const struct ks_sqli_token *prev;
    bool looked;
    int score;
    int rec;
    int closes;
    uint8_t quote; /* the context's quote char, 0 for bare contexts */
    bool bare;     /* the value is placed as an operand (prose "1950 or 1960" is fine) */
    bool logic_seen;
    bool const_seen;
    bool binary_seen;
    bool select_const;
    bool fail;
    bool fail_eof;   /* the first failure was at the end of the tokens */
    bool rec_fail;   /* nesting too deep */
    bool open_end;   /* ended inside parentheses or a string the query will close */
    size_t last_end; /* end offset of the last token consumed */
};

/* ---- token access: comments are skipped ---- */

static const struct ks_sqli_token *cur(struct p *p)
{
    p->looked = true;
    return p->at;
}

static void seek(struct p *p, size_t k)
{
    p->k = k;
    p->at = k < p->nc ? &p->t[p->idx[k]] : NULL;
}

static const struct ks_sqli_token *peek2(struct p *p)
{
    p->looked = true;
    return p->k + 1 < p->nc ? &p->t[p->idx[p->k + 1]] : NULL;
}

static void adv(struct p *p)
{
    if (p->at) {
        p->last_end = p->at->off + p->at->len;
        p->prev = p->at;
        p->looked = false;
        seek(p, p->k + 1);
    }
}

/* The raw token just before the position (NULL at the start), as defined at struct p. */
static const struct ks_sqli_token *before(const struct p *p)
{
    if (!p->looked)
        return p->prev;
    if (p->at)
        return p->at > p->t ? p->at - 1 : NULL;
    return p->n ? &p->t[p->n - 1] : NULL;
}

static bool is_kw(const struct ks_sqli_token *t, int id)
{
    return t && t->type == KS_SQLI_T_KEYWORD && t->kw == id;
}

static bool is_type(const struct ks_sqli_token *t, int type)
{
    return t && t->type == type;
}

static bool accept_kw(struct p *p, int id)
{
    if (is_kw(cur(p), id)) {
        adv(p);
        return true;
    }
    return false;
}

static bool accept(struct p *p, int type)
{
    if (is_type(cur(p), type)) {
        adv(p);
        return true;
    }
    return false;
}

static bool failp(struct p *p)
{
    p->fail = true;
    return false;
}

/* The value ended where an operand must follow: it may be a prefix the query completes. */
static bool fail_eof(struct p *p)
{
    if (!p->fail)
        p->fail_eof = true;
    return failp(p);
}

static bool is_op(const struct ks_sqli_token *t, char c)
{
    return t && t->type == KS_SQLI_T_OPERATOR && t->len == 1 && t->sub == (uint8_t)c;
}

/* ---- grammar ---- */

static bool operand(struct p *p, enum kind *k);
static bool expr(struct p *p, enum kind *k);
static bool select_stmt(struct p *p);
static bool arith_tail(struct p *p, enum kind *k);
static bool statement(struct p *p, int weight);

static bool enter(struct p *p)
{
    if (++p->rec > MAX_DEPTH) {
        p->rec_fail = true;
        return failp(p);
    }
    return true;
}

/* A name: ident, `quoted`, [bracketed], "quoted", or a non-reserved keyword; dotted parts. */
static bool name(struct p *p)
{
    const struct ks_sqli_token *t = cur(p);
    if (!t || !(t->type == KS_SQLI_T_IDENT || t->type == KS_SQLI_T_QIDENT ||
                (t->type == KS_SQLI_T_STRING && t->sub == '"') ||
                (t->type == KS_SQLI_T_KEYWORD && t->sub == KS_SQLI_KW_OTHER)))
        return failp(p);
    adv(p);
    while (is_type(cur(p), KS_SQLI_T_DOT)) {
        adv(p);
        t = cur(p);
        if (t && (t->type == KS_SQLI_T_IDENT || t->type == KS_SQLI_T_QIDENT ||
                  t->type == KS_SQLI_T_KEYWORD || is_op(t, '*')))
            adv(p);
        else if (is_type(t, KS_SQLI_T_FUNCTION))
            return true; /* schema.package.func( : the caller makes the call */
        else if (is_type(t, KS_SQLI_T_DOT))
            continue; /* MSSQL master..sysobjects */
        else
            return failp(p);
    }
    return true;
}

/* A type after CAST(x AS ...), '::' or DECLARE @v ...: words and an optional (n[,m]). */
static bool type_name(struct p *p)
{
    const struct ks_sqli_token *t = cur(p);
    int words = 0;
    while (t &&
           (t->type == KS_SQLI_T_IDENT || t->type == KS_SQLI_T_KEYWORD ||
            t->type == KS_SQLI_T_FUNCTION) &&
           words < 3) {
        adv(p);
        words++;
        t = cur(p);
        if (is_type(t, KS_SQLI_T_LPAREN)) {
            adv(p);
            while ((t = cur(p)) && t->type != KS_SQLI_T_RPAREN)
                adv(p);
            if (!accept(p, KS_SQLI_T_RPAREN))
                p->open_end = true;
            t = cur(p);
        }
        if (t && t->type == KS_SQLI_T_KEYWORD && t->sub != KS_SQLI_KW_OTHER)
            break;
    }
    return words ? true : failp(p);
}

/* t is a FUNCTION token: the tokenizer looked its name up and left the answers in flags. */
static void score_func(struct p *p, const struct ks_sqli_token *t)
{
    if (t->flags & KS_SQLI_TF_INFO_FUNC) {
        /* version() user() database(): attack-typical when called without arguments */
        const struct ks_sqli_token *n1 = peek2(p);
        size_t j = (size_t)(n1 - p->t) + 1;
        bool empty = n1 && j < p->n && p->t[j].type == KS_SQLI_T_RPAREN;
        p->score += empty ? W_FUNC_ATTACK : W_FUNC_KNOWN;
    } else if (t->flags & KS_SQLI_TF_DANGEROUS_FUNC)
        p->score += W_FUNC_ATTACK;
    else if (t->flags & KS_SQLI_TF_KNOWN_FUNC)
        p->score += W_FUNC_KNOWN;
    else
        p->score += W_FUNC;
}

/* f( args ): expressions, '*', and the keyword forms of CAST/CONVERT/SUBSTRING/TRIM/
 * GROUP_CONCAT/EXTRACT (AS type, FROM x, FOR n, USING cs, SEPARATOR s, ORDER BY ...). */
static bool call(struct p *p)
{
    const struct ks_sqli_token *f = cur(p);
    score_func(p, f);
    adv(p);
    if (!accept(p, KS_SQLI_T_LPAREN))
        return failp(p);
    const struct ks_sqli_token *t = cur(p);
    if (!t) {
        p->open_end = true;
        return true;
    }
    if (accept(p, KS_SQLI_T_RPAREN))
        return true;
    for (;;) {
        enum kind k;
        if (!accept_kw(p, KW_DISTINCT))
            accept_kw(p, KW_ALL);
        t = cur(p);
        if (is_op(t, '*'))
            adv(p);
        else if (is_kw(t, KW_SELECT) || is_kw(t, KW_WITH)) {
            if (!select_stmt(p))
                return false;
            p->score += W_SUBQ;
        } else if (!expr(p, &k))
            return false;
        /* keyword forms inside calls */
        for (int guard = 0; guard < 8; guard++) {
            t = cur(p);
            if (accept_kw(p, KW_AS)) {
                if (!type_name(p))
                    return false;
            } else if (is_kw(t, KW_FROM) || is_kw(t, KW_FOR) || is_kw(t, KW_IN) ||
                       is_kw(t, KW_USING)) {
                adv(p);
                if (!expr(p, &k))
                    return false;
            } else if (is_kw(t, KW_ORDER)) {
                adv(p);
                if (!accept_kw(p, KW_BY) || !expr(p, &k))
                    return failp(p);
                if (!accept_kw(p, KW_ASC))
                    accept_kw(p, KW_DESC);
            } else if (t && t->type == KS_SQLI_T_IDENT && t->len == 9 &&
                       strncasecmp((const char *)p->s + t->off, "separator", 9) == 0) {
                adv(p);
                if (!expr(p, &k))
                    return false;
            } else
                break;
        }
        t = cur(p);
        if (!t) {
            p->open_end = true;
            return true;
        }
        if (accept(p, KS_SQLI_T_COMMA))
            continue;
        if (accept(p, KS_SQLI_T_RPAREN))
            return true;
        return failp(p);
    }
}

static bool case_expr(struct p *p)
{
    enum kind k;
    adv(p); /* CASE */
    if (!is_kw(cur(p), KW_WHEN) && !expr(p, &k))
        return false;
    int whens = 0;
    while (accept_kw(p, KW_WHEN)) {
        if (!expr(p, &k) || !accept_kw(p, KW_THEN) || !expr(p, &k))
            return failp(p);
        whens++;
    }
    if (!whens)
        return failp(p);
    if (accept_kw(p, KW_ELSE) && !expr(p, &k))
        return false;
    if (!accept_kw(p, KW_END))
        return failp(p);
    p->score += W_CASE;
    return true;
}

/* ( subquery ) or ( expr [, expr]... ); a missing ')' at the end is left to the query. */
static bool paren(struct p *p, enum kind *k)
{
    adv(p); /* ( */
    const struct ks_sqli_token *t = cur(p);
    if (!t) {
        p->open_end = true;
        *k = K_EXPR;
        return true;
    }
    if (is_kw(t, KW_SELECT) || is_kw(t, KW_WITH)) {
        if (!select_stmt(p))
            return false;
        p->score += W_SUBQ;
        *k = K_SUBQ;
    } else {
        if (!expr(p, k))
            return false;
        while (accept(p, KS_SQLI_T_COMMA)) {
            enum kind k2;
            if (!expr(p, &k2))
                return false;
            *k = K_EXPR;
        }
    }
    if (!cur(p)) {
        p->open_end = true;
        return true;
    }
    if (!accept(p, KS_SQLI_T_RPAREN))
        return failp(p);
    return true;
}

static bool same_text(struct p *p, const struct ks_sqli_token *a, const struct ks_sqli_token *b)
{
    return a && b && a->len == b->len && a->type == b->type &&
           strncasecmp((const char *)p->s + a->off, (const char *)p->s + b->off, a->len) == 0;
}

/* A primary with its unary prefixes and postfixes ('::type', COLLATE x, [i]). */
static bool operand(struct p *p, enum kind *k)
{
    if (!enter(p))
        return false;
    bool ok = true;
    const struct ks_sqli_token *t = cur(p);
    while (t &&
           ((t->type == KS_SQLI_T_OPERATOR &&
             (t->sub == '-' || t->sub == '+' || t->sub == '~' || t->sub == '!') && t->len == 1) ||
            (t->type == KS_SQLI_T_KEYWORD &&
             (t->kw == KW_NOT || t->kw == KW_BINARY || t->kw == KW_DISTINCT)))) {
        if (t->kw == KW_BINARY && t->type == KS_SQLI_T_KEYWORD && !p->binary_seen) {
            p->score += W_VAR; /* MySQL's BINARY cast operator */
            p->binary_seen = true;
        }
        adv(p);
        t = cur(p);
    }
    *k = K_EXPR;
    if (!t) {
        ok = fail_eof(p);
        goto out;
    }
    switch (t->type) {
    case KS_SQLI_T_NUMBER:
        if (t->len > 2 && p->s[t->off] == '0' && (p->s[t->off + 1] | 0x20) == 'x')
            p->score += W_HEX;
        adv(p);
        *k = K_LIT;
        break;
    case KS_SQLI_T_STRING:
        if (t->flags & KS_SQLI_TF_UNTERMINATED) {
            /* only the literal the query itself closes: the context's quote, at the end */
            if (!p->quote || t->sub != p->quote) {
                ok = failp(p);
                goto out;
            }
            p->open_end = true;
        }
        adv(p);
        *k = K_LIT;
        while (is_type(cur(p), KS_SQLI_T_STRING)) { /* 'a' 'b' concatenation */
            if ((cur(p)->flags & KS_SQLI_TF_UNTERMINATED) && (!p->quote || cur(p)->sub != p->quote))
                break;
            adv(p);
        }
        break;
    case KS_SQLI_T_VAR:
        p->score += t->sub == '2' ? W_VAR_SYS : W_VAR;
        adv(p);
        *k = K_VAR;
        break;
    case KS_SQLI_T_IDENT:
    case KS_SQLI_T_QIDENT:
        if (t->flags & KS_SQLI_TF_UNTERMINATED) {
            ok = failp(p);
            goto out;
        }
        if (!name(p)) {
            ok = false;
            goto out;
        }
        if (is_type(cur(p), KS_SQLI_T_FUNCTION)) {
            if (before(p)->type != KS_SQLI_T_DOT) { /* "word func(" */
                ok = failp(p);
                goto out;
            }
            ok = call(p);
            *k = K_FUNC;
            break;
        }
        *k = K_IDENT;
        break;
    case KS_SQLI_T_FUNCTION:
        ok = call(p);
        *k = K_FUNC;
        break;
    case KS_SQLI_T_LPAREN:
        ok = paren(p, k);
        break;
    case KS_SQLI_T_KEYWORD:
        if (t->sub == KS_SQLI_KW_LITERAL) {
            if (t->kw == KW_X)
                p->score += W_VAR; /* CURRENT_USER, SYSDATE ... */
            adv(p);
            *k = K_LIT;
        } else if (t->kw == KW_CASE) {
            ok = case_expr(p);
        } else if (t->kw == KW_EXISTS || t->kw == KW_ANY || t->kw == KW_SOME || t->kw == KW_ALL) {
            adv(p);
            if (!is_type(cur(p), KS_SQLI_T_LPAREN)) {
                ok = failp(p);
                goto out;
            }
            ok = paren(p, k);
            *k = K_SUBQ;
        } else if (t->kw == KW_SELECT) {
            /* a bare SELECT as operand: MySQL accepts "1=(select 1)" only with parens, but
             * "1 and select" is no SQL */
            ok = failp(p);
        } else if (t->kw == KW_INTERVAL) {
            adv(p);
            enum kind k2;
            ok = operand(p, &k2) && type_name(p);
        } else if (t->sub == KS_SQLI_KW_OTHER && t->kw == KW_X) {
            ok = name(p); /* a non-reserved keyword used as a column: TEXT, LEVEL, INT */
            *k = K_IDENT;
        } else
            ok = failp(p);
        break;
    default:
        ok = failp(p);
        break;
    }
    /* postfixes */
    while (ok) {
        t = cur(p);
        if (t && t->type == KS_SQLI_T_OPERATOR && t->len == 2 && p->s[t->off] == ':' &&
            p->s[t->off + 1] == ':') {
            adv(p);
            ok = type_name(p);
            *k = K_EXPR;
        } else if (is_kw(t, KW_COLLATE)) {
            adv(p);
            ok = name(p);
        } else
            break;
    }
out:
    p->rec--;
    return ok;
}

static bool word_is(struct p *p, const struct ks_sqli_token *t, const char *w)
{
    size_t n = strlen(w);
    return t && (t->type == KS_SQLI_T_IDENT || t->type == KS_SQLI_T_KEYWORD) && t->len == n &&
           strncasecmp((const char *)p->s + t->off, w, n) == 0;
}

/* After IN: BOOLEAN MODE, NATURAL LANGUAGE MODE [WITH QUERY EXPANSION] (MySQL full text). */
static bool mode_words(struct p *p)
{
    const struct ks_sqli_token *t = cur(p);
    if (word_is(p, t, "boolean")) {
        adv(p);
    } else if (word_is(p, t, "natural")) {
        adv(p);
        if (!word_is(p, cur(p), "language"))
            return false;
        adv(p);
    } else
        return false;
    if (!word_is(p, cur(p), "mode"))
        return false;
    adv(p);
    if (word_is(p, cur(p), "with") && word_is(p, peek2(p), "query")) {
        adv(p);
        adv(p);
        if (word_is(p, cur(p), "expansion"))
            adv(p);
    }
    return true;
}

static bool is_cmp_next(struct p *p)
{
    const struct ks_sqli_token *t = cur(p);
    return t && ((t->type == KS_SQLI_T_OPERATOR && (t->flags & KS_SQLI_TF_CMP)) ||
                 (t->type == KS_SQLI_T_KEYWORD && t->sub == KS_SQLI_KW_OPWORD));
}

/* Binary operators and predicates after an operand of kind *left. */
static bool binop_tail(struct p *p, enum kind *left, const struct ks_sqli_token *ltok)
{
    for (;;) {
        const struct ks_sqli_token *t = cur(p);
        if (!t)
            return true;
        enum kind right;
        bool cmp = false, logic = false;
        bool is_not = false;
        if (t->type == KS_SQLI_T_OPERATOR) {
            if (t->len == 2 && p->s[t->off] == ':' && p->s[t->off + 1] == ':')
                return true; /* handled as postfix by operand() */
            if (t->len == 2 && p->s[t->off] == ':' && p->s[t->off + 1] == '=')
                cmp = true;
            if (t->sub == '~' && t->len == 1)
                cmp = true; /* PostgreSQL regex match */
            if (t->sub == '!' && t->len == 1)
                return failp(p);
            cmp = cmp || (t->flags & KS_SQLI_TF_CMP);
            logic = t->flags & KS_SQLI_TF_LOGIC;
            adv(p);
            /* ANY/ALL/SOME (subquery) after a comparison */
        } else if (t->type == KS_SQLI_T_KEYWORD ||
                   (t->type == KS_SQLI_T_FUNCTION && (t->kw == KW_LIKE || t->kw == KW_MOD))) {
            if (t->kw == KW_NOT) {
                const struct ks_sqli_token *n2 = peek2(p);
                if (!n2 || n2->type != KS_SQLI_T_KEYWORD ||
                    !(n2->kw == KW_LIKE || n2->kw == KW_IN || n2->kw == KW_BETWEEN ||
                      n2->kw == KW_REGEXP || n2->kw == KW_RLIKE || n2->kw == KW_ILIKE ||
                      n2->kw == KW_SIMILAR || n2->kw == KW_GLOB || n2->kw == KW_NULL))
                    return true;
                adv(p);
                is_not = true;
                t = cur(p);
                if (t->kw == KW_NULL) {
                    adv(p);
                    *left = K_EXPR;
                    continue;
                }
            }
            switch (t->kw) {
            case KW_AND:
            case KW_OR:
            case KW_XOR:
                logic = true;
                adv(p);
                break;
            case KW_LIKE:
            case KW_RLIKE:
            case KW_REGEXP:
            case KW_ILIKE:
            case KW_GLOB:
                cmp = true;
                adv(p);
                break;
            case KW_SIMILAR:
            case KW_SOUNDS:
                adv(p);
                if (!accept_kw(p, KW_TO) && !accept_kw(p, KW_LIKE))
                    return failp(p);
                cmp = true;
                break;
            case KW_DIV:
            case KW_MOD:
            case KW_ESCAPE:
                adv(p);
                break;
            case KW_IS: {
                adv(p);
                accept_kw(p, KW_NOT);
                const struct ks_sqli_token *v = cur(p);
                if (is_kw(v, KW_NULL) || is_kw(v, KW_TRUE) || is_kw(v, KW_FALSE) ||
                    is_kw(v, KW_UNKNOWN)) {
                    adv(p);
                    p->score += W_CMP;
                    *left = K_EXPR;
                    continue;
                }
                if (accept_kw(p, KW_DISTINCT)) {
                    if (!accept_kw(p, KW_FROM))
                        return failp(p);
                    cmp = true;
                    break;
                }
                return failp(p);
            }
            case KW_BETWEEN: {
                adv(p);
                enum kind a, b;
                if (!operand(p, &a) || !arith_tail(p, &a) || !accept_kw(p, KW_AND) ||
                    !operand(p, &b))
                    return failp(p);
                p->score += W_CMP;
                *left = K_EXPR;
                continue;
            }
            case KW_IN:
                adv(p);
                if (mode_words(p)) /* MATCH(..) AGAINST('x' IN BOOLEAN MODE) */
                    continue;
                if (!is_type(cur(p), KS_SQLI_T_LPAREN))
                    return failp(p);
                if (!paren(p, &right))
                    return false;
                p->score += W_CMP;
                *left = K_EXPR;
                continue;
            default:
                (void)is_not;
                return true;
            }
        } else
            return true;
        if (cmp) {
            const struct ks_sqli_token *v = cur(p);
            if (is_kw(v, KW_ANY) || is_kw(v, KW_ALL) || is_kw(v, KW_SOME)) {
                /* = ANY (subquery) */
            }
        }
        /* An operator applied to the closed literal: 'a' & 'b', 'a' LIKE 'b'. In text, double
         * quotes mark phrases ("LIKE" STAMP, "&", "/APPS/"), so there only comparisons count;
         * '+' and '-' are spaces and hyphens either way. */
        if (*left == K_CTX && !logic &&
            !(t->type == KS_SQLI_T_OPERATOR && t->len == 1 && (t->sub == '+' || t->sub == '-')) &&
            (p->quote == '\'' || (t->type == KS_SQLI_T_OPERATOR && (t->flags & KS_SQLI_TF_CMP))))
            p->score += W_CTX_OP;
        const struct ks_sqli_token *rtok = cur(p);
        if (!operand(p, &right))
            return false;
        bool single_r = rtok && before(p) == rtok;
        if (logic) {
            if (!p->logic_seen)
                p->score += W_LOGIC;
            p->logic_seen = true;
            if (!p->bare && right == K_LIT && single_r && !p->const_seen &&
                (rtok->type == KS_SQLI_T_NUMBER || is_kw(rtok, KW_TRUE) || is_kw(rtok, KW_FALSE)) &&
                !is_cmp_next(p)) {
                p->score += W_LOGIC_CONST;
                p->const_seen = true;
            }
            *left = right;
            ltok = single_r ? rtok : NULL;
            continue;
        }
        if (cmp) {
            if (*left == K_CTX)
                ; /* 'x' = 'y: only the truth of the query's own predicate changes */
            else if ((*left == K_LIT && right == K_LIT) ||
                     (ltok && single_r && same_text(p, ltok, rtok)))
                p->score += W_CMP_TAUT;
            else if (*left == K_FUNC || *left == K_SUBQ || *left == K_VAR || right == K_FUNC ||
                     right == K_SUBQ || right == K_VAR)
                p->score += W_CMP_STRONG;
            else
                p->score += W_CMP;
        }
        *left = cmp ? K_EXPR : (*left == K_LIT && right == K_LIT ? K_LIT : K_EXPR);
        ltok = NULL;
    }
}

static bool expr(struct p *p, enum kind *k)
{
    const struct ks_sqli_token *t0 = cur(p);
    if (!operand(p, k))
        return false;
    bool single = t0 && before(p) == t0;
    return binop_tail(p, k, single ? t0 : NULL);
}

/* An operand followed by arithmetic only (for BETWEEN a AND b). */
static bool arith_tail(struct p *p, enum kind *k)
{
    for (;;) {
        const struct ks_sqli_token *t = cur(p);
        if (!t || t->type != KS_SQLI_T_OPERATOR || (t->flags & (KS_SQLI_TF_CMP | KS_SQLI_TF_LOGIC)))
            return true;
        adv(p);
        enum kind r;
        if (!operand(p, &r))
            return false;
        *k = K_EXPR;
    }
}

static bool expr_list(struct p *p, bool order)
{
    enum kind k;
    do {
        if (!expr(p, &k))
            return false;
        if (order) {
            if (!accept_kw(p, KW_ASC))
                accept_kw(p, KW_DESC);
            if (accept_kw(p, KW_NULLS) && !accept_kw(p, KW_FIRST) && !accept_kw(p, KW_LAST))
                return failp(p);
        }
    } while (accept(p, KS_SQLI_T_COMMA));
    return true;
}

/* table [AS] alias, (subquery) alias, func(...) alias; joined or comma-separated. */
static bool table_ref(struct p *p)
{
    const struct ks_sqli_token *t = cur(p);
    enum kind k;
    if (is_type(t, KS_SQLI_T_LPAREN)) {
        if (!paren(p, &k))
            return false;
    } else if (is_type(t, KS_SQLI_T_FUNCTION)) {
        if (!call(p))
            return false;
    } else if (is_kw(t, KW_DUAL)) {
        adv(p);
    } else if (!name(p))
        return false;
    if (is_type(cur(p), KS_SQLI_T_FUNCTION)) /* schema.func(...) */
        if (!call(p))
            return false;
    if (accept_kw(p, KW_AS)) {
        if (!name(p))
            return false;
    } else if (is_type(cur(p), KS_SQLI_T_IDENT) || is_type(cur(p), KS_SQLI_T_QIDENT)) {
        adv(p);
    }
    return true;
}

static bool table_list(struct p *p)
{
    if (!table_ref(p))
        return false;
    for (;;) {
        const struct ks_sqli_token *t = cur(p);
        if (accept(p, KS_SQLI_T_COMMA)) {
            if (!table_ref(p))
                return false;
            continue;
        }
        if (t && t->type == KS_SQLI_T_KEYWORD &&
            (t->kw == KW_JOIN || t->kw == KW_INNER || t->kw == KW_LEFT || t->kw == KW_RIGHT ||
             t->kw == KW_FULL || t->kw == KW_CROSS || t->kw == KW_NATURAL)) {
            while ((t = cur(p)) && t->type == KS_SQLI_T_KEYWORD && t->kw != KW_JOIN)
                adv(p);
            if (!accept_kw(p, KW_JOIN) || !table_ref(p))
                return failp(p);
            enum kind k;
            if (accept_kw(p, KW_ON) && !expr(p, &k))
                return false;
            continue;
        }
        return true;
    }
}

/* Returns 1 if a clause was parsed, 0 if the token starts none, -1 on a parse failure. */
static int clause(struct p *p, bool from_ok)
{
    const struct ks_sqli_token *t = cur(p);
    enum kind k;
    if (!t || t->type != KS_SQLI_T_KEYWORD)
        return 0;
    switch (t->kw) {
    case KW_WHERE:
        adv(p);
        if (!expr(p, &k))
            return -1;
        p->score += W_WHERE;
        return 1;
    case KW_GROUP:
    case KW_ORDER: {
        adv(p);
        if (!accept_kw(p, KW_BY))
            return failp(p), -1;
        p->score += W_ORDER;
        if (is_type(cur(p), KS_SQLI_T_NUMBER))
            p->score += W_ORDER_NUM;
        if (!expr_list(p, true))
            return -1;
        if (t->kw == KW_GROUP && is_kw(cur(p), KW_WITH)) {
            adv(p);
            if (!accept(p, KS_SQLI_T_IDENT)) /* ROLLUP */
                return failp(p), -1;
        }
        return 1;
    }
    case KW_HAVING:
        adv(p);
        if (!expr(p, &k))
            return -1;
        p->score += W_HAVING;
        return 1;
    case KW_LIMIT:
        adv(p);
        if (!operand(p, &k))
            return -1;
        if ((accept(p, KS_SQLI_T_COMMA) || accept_kw(p, KW_OFFSET)) && !operand(p, &k))
            return -1;
        p->score += W_LIMIT;
        return 1;
    case KW_OFFSET:
        adv(p);
        if (!operand(p, &k))
            return -1;
        if (!accept_kw(p, KW_ROWS))
            accept_kw(p, KW_ROW);
        p->score += W_LIMIT;
        return 1;
    case KW_FETCH:
        adv(p);
        if (!accept_kw(p, KW_FIRST) && !accept_kw(p, KW_NEXT))
            return failp(p), -1;
        if (!is_kw(cur(p), KW_ROWS) && !is_kw(cur(p), KW_ROW) && !operand(p, &k))
            return -1;
        if (!accept_kw(p, KW_ROWS) && !accept_kw(p, KW_ROW))
            return failp(p), -1;
        if (!accept_kw(p, KW_ONLY))
            return failp(p), -1;
        p->score += W_LIMIT;
        return 1;
    case KW_PROCEDURE:
        adv(p);
        if (!is_type(cur(p), KS_SQLI_T_FUNCTION) || !call(p))
            return failp(p), -1;
        p->score += W_PROCEDURE;
        return 1;
    case KW_INTO: {
        adv(p);
        const struct ks_sqli_token *v = cur(p);
        if (is_kw(v, KW_OUTFILE) || is_kw(v, KW_DUMPFILE)) {
            adv(p);
            if (!accept(p, KS_SQLI_T_STRING))
                return failp(p), -1;
            p->score += W_INTO_FILE;
            /* FIELDS TERMINATED BY ... LINES ...: words and strings */
            while ((v = cur(p)) && (v->type == KS_SQLI_T_IDENT || v->type == KS_SQLI_T_STRING ||
                                    is_kw(v, KW_BY) || v->type == KS_SQLI_T_NUMBER))
                adv(p);
            return 1;
        }
        if (is_type(v, KS_SQLI_T_VAR)) {
            do {
                if (!accept(p, KS_SQLI_T_VAR))
                    return failp(p), -1;
            } while (accept(p, KS_SQLI_T_COMMA));
            p->score += W_VAR;
            return 1;
        }
        return name(p) ? 1 : -1;
    }
    case KW_FOR:
        adv(p);
        if (accept_kw(p, KW_UPDATE)) {
            p->score += W_LIMIT;
            return 1;
        }
    /* FOR XML PATH(''), FOR JSON AUTO */
    v_for:
        if (is_type(cur(p), KS_SQLI_T_IDENT) || is_type(cur(p), KS_SQLI_T_FUNCTION)) {
            const struct ks_sqli_token *v = cur(p);
            if (v->type == KS_SQLI_T_FUNCTION) {
                if (!call(p))
                    return -1;
            } else
                adv(p);
            if (is_type(cur(p), KS_SQLI_T_IDENT) || is_type(cur(p), KS_SQLI_T_FUNCTION))
                goto v_for;
            p->score += W_LIMIT;
            return 1;
        }
        return failp(p), -1;
    case KW_LOCK:
        adv(p);
        if (!accept_kw(p, KW_IN) || !accept_kw(p, KW_SHARE) || !accept_kw(p, KW_MODE))
            return failp(p), -1;
        return 1;
    case KW_FROM:
        if (!from_ok)
            return 0;
        adv(p);
        if (!table_list(p))
            return -1;
        p->score += W_WHERE;
        return 1;
    default:
        return 0;
    }
}

static bool select_core(struct p *p)
{
    enum kind k;
    adv(p);    /* SELECT */
    for (;;) { /* modifiers */
        const struct ks_sqli_token *t = cur(p);
        if (is_kw(t, KW_DISTINCT) || is_kw(t, KW_ALL)) {
            adv(p);
        } else if (is_kw(t, KW_TOP)) {
            adv(p);
            if (!operand(p, &k))
                return false;
        } else if (t && t->type == KS_SQLI_T_KEYWORD && t->sub == KS_SQLI_KW_OTHER &&
                   t->kw == KW_X && t->len > 8 && (p->s[t->off] | 0x20) != 'c' &&
                   !is_type(peek2(p), KS_SQLI_T_COMMA)) {
            adv(p); /* SQL_CALC_FOUND_ROWS HIGH_PRIORITY SQL_NO_CACHE */
        } else
            break;
    }
    for (;;) { /* select list */
        const struct ks_sqli_token *t = cur(p);
        if (is_op(t, '*')) {
            adv(p);
        } else if (!expr(p, &k))
            return false;
        if (k == K_LIT && !p->select_const) {
            p->score += W_SELECT_CONST;
            p->select_const = true;
        }
        if (accept_kw(p, KW_AS)) {
            if (!accept(p, KS_SQLI_T_STRING) && !name(p))
                return false;
        } else if (is_type(cur(p), KS_SQLI_T_IDENT) || is_type(cur(p), KS_SQLI_T_QIDENT)) {
            adv(p);
        }
        if (!accept(p, KS_SQLI_T_COMMA))
            break;
    }
    for (int guard = 0; guard < 16; guard++) {
        int c = clause(p, true);
        if (c < 0)
            return false;
        if (c == 0)
            break;
    }
    return true;
}

static bool is_setop(const struct ks_sqli_token *t)
{
    return t && t->type == KS_SQLI_T_KEYWORD &&
           (t->kw == KW_UNION || t->kw == KW_INTERSECT || t->kw == KW_EXCEPT || t->kw == KW_MINUS);
}

/* UNION [ALL|DISTINCT] [(...] SELECT ... [)...] */
static bool setop(struct p *p)
{
    const struct ks_sqli_token *t = cur(p);
    bool uni = t->kw == KW_UNION;
    adv(p);
    if (!accept_kw(p, KW_ALL))
        accept_kw(p, KW_DISTINCT);
    int opens = 0;
    while (accept(p, KS_SQLI_T_LPAREN))
        opens++;
    if (!is_kw(cur(p), KW_SELECT))
        return failp(p);
    p->score += uni ? W_UNION : W_UNION - 1;
    if (!select_core(p))
        return false;
    for (; opens > 0; opens--) {
        if (!cur(p)) {
            p->open_end = true;
            return true;
        }
        if (!accept(p, KS_SQLI_T_RPAREN))
            return failp(p);
        for (int guard = 0; guard < 8; guard++) { /* (select ..) order by .. limit .. */
            int c = clause(p, false);
            if (c < 0)
                return false;
            if (c == 0)
                break;
        }
    }
    return true;
}

static bool select_stmt(struct p *p)
{
    if (!enter(p))
        return false;
    bool ok = is_kw(cur(p), KW_SELECT) ? select_core(p) : failp(p);
    while (ok && is_setop(cur(p)))
        ok = setop(p);
    p->rec--;
    return ok;
}

/* A statement of a kind not parsed in detail: the keyword, then another keyword (DROP TABLE,
 * CREATE FUNCTION, LOAD DATA, GRANT ALL) and SQL-looking tokens up to ';' or the end. */
static bool generic_statement(struct p *p)
{
    adv(p);
    const struct ks_sqli_token *t = cur(p);
    if (!t || t->type == KS_SQLI_T_SEMICOLON)
        return true;
    if (t->type != KS_SQLI_T_KEYWORD)
        return failp(p);
    int depth = 0;
    while ((t = cur(p)) && !(t->type == KS_SQLI_T_SEMICOLON && depth == 0)) {
        if (t->type == KS_SQLI_T_OTHER)
            return failp(p);
        if (t->type == KS_SQLI_T_LPAREN)
            depth++;
        if (t->type == KS_SQLI_T_RPAREN && --depth < 0)
            return failp(p);
        if (t->type == KS_SQLI_T_FUNCTION)
            score_func(p, t);
        if ((t->type == KS_SQLI_T_STRING || t->type == KS_SQLI_T_QIDENT) &&
            (t->flags & KS_SQLI_TF_UNTERMINATED) && t->sub != p->quote)
            return failp(p);
        adv(p);
    }
    return true;
}

static bool statement(struct p *p, int weight)
{
    if (!enter(p))
        return false;
    const struct ks_sqli_token *t = cur(p);
    enum kind k;
    bool ok = true;
    p->score += weight;
    switch (t->kw) {
    case KW_SELECT:
        ok = select_stmt(p);
        break;
    case KW_WAITFOR:
        adv(p);
        if (!accept_kw(p, KW_DELAY) && !accept_kw(p, KW_TIME)) {
            ok = failp(p);
            break;
        }
        ok = operand(p, &k);
        break;
    case KW_EXEC:
    case KW_EXECUTE:
        adv(p);
        if (is_type(cur(p), KS_SQLI_T_LPAREN)) {
            ok = paren(p, &k);
            break;
        }
        if (is_type(cur(p), KS_SQLI_T_VAR) && !is_op(peek2(p), '=')) {
            adv(p); /* EXEC @S */
            break;
        }
        if (is_type(cur(p), KS_SQLI_T_FUNCTION)) {
            ok = call(p);
            break;
        }
        if (!(ok = name(p)))
            break;
        if (is_type(cur(p), KS_SQLI_T_FUNCTION)) {
            ok = call(p);
            break;
        }
        t = cur(p);
        if (t && (t->type == KS_SQLI_T_STRING || t->type == KS_SQLI_T_NUMBER ||
                  t->type == KS_SQLI_T_VAR || t->type == KS_SQLI_T_FUNCTION)) {
            do {
                if (is_type(cur(p), KS_SQLI_T_VAR) && is_op(peek2(p), '=')) {
                    adv(p);
                    adv(p);
                }
                if (!(ok = expr(p, &k)))
                    break;
            } while (accept(p, KS_SQLI_T_COMMA));
        }
        break;
    case KW_DECLARE:
        adv(p);
        do {
            if (!accept(p, KS_SQLI_T_VAR)) {
                ok = failp(p);
                break;
            }
            accept_kw(p, KW_AS);
            if (!(ok = type_name(p)))
                break;
            if (is_op(cur(p), '=')) {
                adv(p);
                if (!(ok = expr(p, &k)))
                    break;
            }
        } while (accept(p, KS_SQLI_T_COMMA));
        break;
    case KW_SET:
        adv(p);
        do {
            t = cur(p);
            if (is_type(t, KS_SQLI_T_VAR))
                adv(p);
            else if (!(ok = name(p)))
                break;
            t = cur(p);
            if (!(is_op(t, '=') ||
                  (t && t->type == KS_SQLI_T_OPERATOR && t->len == 2 && p->s[t->off] == ':'))) {
                ok = failp(p);
                break;
            }
            adv(p);
            if (!(ok = expr(p, &k)))
                break;
        } while (accept(p, KS_SQLI_T_COMMA));
        break;
    case KW_SHUTDOWN:
        adv(p);
        if (accept_kw(p, KW_WITH) && !accept(p, KS_SQLI_T_IDENT))
            ok = failp(p);
        break;
    case KW_CALL:
        adv(p);
        if (is_type(cur(p), KS_SQLI_T_FUNCTION))
            ok = call(p);
        else if ((ok = name(p)) && is_type(cur(p), KS_SQLI_T_FUNCTION))
            ok = call(p);
        break;
    case KW_DO:
    case KW_PRINT:
    case KW_RETURN:
    case KW_RAISERROR:
        adv(p);
        ok = expr(p, &k);
        break;
    case KW_IF:
        adv(p);
        if (!(ok = expr(p, &k)))
            break;
        t = cur(p);
        if (t && t->type == KS_SQLI_T_KEYWORD && t->sub == KS_SQLI_KW_STMT)
            ok = statement(p, 0);
        else
            ok = failp(p);
        if (ok && is_kw(cur(p), KW_ELSE)) {
            adv(p);
            t = cur(p);
            if (t && t->type == KS_SQLI_T_KEYWORD && t->sub == KS_SQLI_KW_STMT)
                ok = statement(p, 0);
            else
                ok = failp(p);
        }
        break;
    case KW_BEGIN:
        adv(p);
        /* BEGIN stmt; ... END (PL/SQL, T-SQL): each element ends with ';' or END */
        for (int guard = 0; guard < 32 && ok; guard++) {
            t = cur(p);
            if (!t || accept_kw(p, KW_END))
                break;
            if (t->type == KS_SQLI_T_KEYWORD && t->sub == KS_SQLI_KW_STMT)
                ok = statement(p, 0);
            else
                ok = expr(p, &k);
            if (ok && !accept(p, KS_SQLI_T_SEMICOLON) && cur(p) && !is_kw(cur(p), KW_END))
                ok = failp(p);
        }
        break;
    case KW_UPDATE:
        adv(p);
        if (!(ok = name(p)))
            break;
        if (!is_kw(cur(p), KW_SET)) {
            ok = failp(p);
            break;
        }
        ok = statement(p, 0);
        break;
    case KW_DELETE:
    case KW_INSERT:
    case KW_REPLACE:
        adv(p);
        if (!accept_kw(p, KW_FROM))
            accept_kw(p, KW_INTO);
        if (!(ok = name(p)))
            break;
        while ((t = cur(p)) && t->type != KS_SQLI_T_SEMICOLON) {
            if (t->type == KS_SQLI_T_OTHER) {
                ok = failp(p);
                break;
            }
            adv(p);
        }
        break;
    default:
        ok = generic_statement(p);
        break;
    }
    p->rec--;
    return ok;
}

/* What may follow an operand at the top level, repeatedly: operators, unmatched ')' closing
 * the query's parentheses, an alias, clauses, set operations, stacked statements. */
static bool tail(struct p *p, enum kind k, const struct ks_sqli_token *ltok)
{
    for (int guard = 0; guard < 4096; guard++) {
        if (!binop_tail(p, &k, ltok))
            return false;
        ltok = NULL;
        const struct ks_sqli_token *t = cur(p);
        if (!t)
            return true;
        if (t->type == KS_SQLI_T_RPAREN) {
            if (++p->closes > MAX_UNMATCHED_CLOSE)
                return failp(p);
            if (p->closes == 1)
                p->score += W_CLOSE;
            adv(p);
            k = K_EXPR;
            continue;
        }
        if (t->type == KS_SQLI_T_COMMA) { /* the value sits in a list: IN (..), VALUES (..) */
            adv(p);
            if (!expr(p, &k))
                return false;
            continue;
        }
        if (t->type == KS_SQLI_T_SEMICOLON) {
            adv(p);
            t = cur(p);
            if (!t)
                return true;
            if ((t->type == KS_SQLI_T_KEYWORD && t->sub == KS_SQLI_KW_STMT) ||
                (t->type == KS_SQLI_T_FUNCTION && t->kw == KW_IF)) {
                if (!statement(p, W_STACKED))
                    return false;
                k = K_EXPR;
                continue;
            }
            if (t->type == KS_SQLI_T_FUNCTION ||
                (t->type == KS_SQLI_T_LPAREN && is_kw(peek2(p), KW_SELECT))) {
                /* ;iif(1=1,1,1/0)  ;(select 1)  an expression statement */
                p->score += W_BARE_STMT;
                if (!expr(p, &k))
                    return false;
                continue;
            }
            return failp(p);
        }
        if (t->type != KS_SQLI_T_KEYWORD)
            return failp(p);
        if (t->kw == KW_AS) {
            adv(p);
            if (!accept(p, KS_SQLI_T_STRING) && !name(p))
                return false;
            continue;
        }
        if (is_setop(t)) {
            if (!setop(p))
                return false;
            continue;
        }
        int c = clause(p, false);
        if (c < 0)
            return false;
        if (c > 0)
            continue;
        if (t->sub == KS_SQLI_KW_STMT) {
            const struct sqli_kw *kw = sqli_kw_find(p->s + t->off, t->len);
            const struct ks_sqli_token *n2 = peek2(p);
            if ((kw && (kw->flags & SQLI_KWF_BARE_ST)) ||
                (p->quote && t->kw != KW_SELECT && t->kw != KW_WITH && n2 &&
                 n2->type == KS_SQLI_T_KEYWORD)) {
                if (!statement(p, W_BARE_STMT))
                    return false;
                continue;
            }
        }
        return failp(p);
    }
    return failp(p);
}

static bool truncating(const struct ks_sqli_token *t, size_t n, size_t len)
{
    if (!n || t[n - 1].type != KS_SQLI_T_COMMENT)
        return false;
    const struct ks_sqli_token *c = &t[n - 1];
    if (c->flags & KS_SQLI_TF_LINE_COMMENT)
        return c->off + c->len >= len;
    return (c->flags & KS_SQLI_TF_UNTERMINATED) != 0;
}

/* Whether a comment holds nothing but its markers and white space. */
static bool comment_empty(const uint8_t *s, const struct ks_sqli_token *c)
{
    for (uint32_t i = 0; i < c->len; i++) {
        uint8_t b = s[c->off + i];
        if (b != '-' && b != '#' && b != '/' && b != '*' && b != ' ' && b != '+' && b != '\t' &&
            b != '\r' && b != '\n' && b != '\0' && b != ';')
            return false;
    }
    return true;
}

enum mode { M_BARE, M_AFTER, M_QUOTE };

static int run(const uint8_t *s, size_t len, const struct ks_sqli_token *t, size_t n,
               const uint32_t *idx, size_t nc, enum mode mode, uint8_t quote, uint32_t *start,
               uint32_t *end)
{
    struct p p = {.s = s, .t = t, .n = n, .idx = idx, .nc = nc, .quote = quote};
    seek(&p, 0);
    bool ok;
    enum kind k;
    *start = 0;
    if (mode == M_QUOTE) {
        if (!n || (t[0].flags & KS_SQLI_TF_UNTERMINATED))
            return 0;          /* the value stays inside its literal */
        seek(&p, idx[0] == 0); /* past the literal's closing token t[0] */
        p.prev = &t[0];
        p.score = W_ESCAPE;
        *start = t[0].off + t[0].len;
        if (!cur(&p)) /* nothing after the closing quote but perhaps a comment */
            ok = true;
        else
            ok = tail(&p, K_CTX, NULL);
    } else if (mode == M_AFTER) {
        if (!cur(&p))
            return 0;
        /* " AND 1=1 AND 'a'='a": a suffix for a quoted literal whose quote came before */
        if (n && t[n - 1].type == KS_SQLI_T_STRING && (t[n - 1].flags & KS_SQLI_TF_UNTERMINATED))
            p.quote = quote = t[n - 1].sub;
        ok = tail(&p, K_LIT, NULL);
    } else {
        const struct ks_sqli_token *t0 = cur(&p);
        if (!t0)
            return 0;
        p.bare = true;
        if (t0->type == KS_SQLI_T_KEYWORD && t0->sub == KS_SQLI_KW_STMT) {
            ok = statement(&p, W_LEAD_STMT);
            ok = ok && tail(&p, K_EXPR, NULL);
        } else {
            ok = operand(&p, &k);
            bool single = before(&p) == t0;
            ok = ok && tail(&p, k, single ? t0 : NULL);
        }
    }
    ok = ok && !p.fail && !cur(&p);
    int score = p.score;
    if (ok) {
        bool trunc = truncating(t, n, len);
        if (trunc) {
            const struct ks_sqli_token *c = &t[n - 1];
            bool empty = comment_empty(s, c);
            if (mode == M_QUOTE)
                score += empty ? W_TRUNC_QUOTE : W_TRUNC_TEXT;
            else
                score += empty && (c->flags & KS_SQLI_TF_SPACE_BEFORE) ? W_TRUNC_WORD : W_TRUNC;
        } else if (mode == M_QUOTE || (mode == M_AFTER && quote)) {
            const struct ks_sqli_token *last = &t[n - 1];
            bool open_str = last->type == KS_SQLI_T_STRING && last->sub == quote &&
                            (last->flags & KS_SQLI_TF_UNTERMINATED);
            if (!open_str)
                score -= P_UNBALANCED;
            else if (n > 2)
                score += W_BALANCED;
        }
        *end = (uint32_t)(trunc ? len : p.last_end);
    } else {
        score -= p.fail_eof && !p.rec_fail ? EOF_PENALTY : FAIL_PENALTY;
        *end = (uint32_t)p.last_end;
    }
    if (*end < *start)
        *end = *start;
    return score;
}

static bool inert_bytes(const uint8_t *s, size_t len)
{
    static const uint64_t word_lo = 0x03FF000000000000ull; /* '0'..'9' */
    static const uint64_t word_hi = 0x07FFFFFE87FFFFFEull; /* 'A'..'Z' '_' 'a'..'z' */
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        if (c >= 0x80)
            continue;
        uint64_t m = c < 64 ? word_lo : word_hi;
        if (!((m >> (c & 63)) & 1))
            return false;
    }
    return true;
}

/* Fills idx with the indices of the tokens that are not comments, idx[nc] = n; returns nc. */
static size_t index_tokens(const struct ks_sqli_token *t, size_t n, uint32_t *idx)
{
    size_t nc = 0;
    for (size_t j = 0; j < n; j++) {
        idx[nc] = (uint32_t)j;
        nc += t[j].type != KS_SQLI_T_COMMENT;
    }
    idx[nc] = (uint32_t)n;
    return nc;
}

int sqli_generic(const uint8_t *s, size_t len, struct ks_sqli_token *tok, uint32_t *idx, size_t cap,
                 int threshold, uint8_t *ctx, uint32_t *start, uint32_t *end, bool *overflow,
                 bool *inert)
{
    static const uint8_t quotes[3] = {'\'', '"', '`'};
    static const enum ks_sqli_ctx qctx[3] = {KS_SQLI_CTX_SQUOTE, KS_SQLI_CTX_DQUOTE,
                                             KS_SQLI_CTX_BACKTICK};
    int best = -100;
    uint32_t a, b;
    size_t rest;
    *overflow = false;
    *inert = false;
    *ctx = KS_SQLI_CTX_BARE;
    *start = *end = 0;

    /* A value of word characters only ([A-Za-z0-9_] and bytes >= 0x80) tokenizes to one word,
     * or a number and a word ("1union"): too little for any evidence but W_LOGIC. */
    if (threshold > W_LOGIC && inert_bytes(s, len)) {
        *inert = true;
        return 0;
    }
    size_t n = ks_sqli_tokenize(s, len, KS_SQLI_CTX_BARE, tok, cap, &rest);
    if (rest < len)
        *overflow = true;
    /* Words and numbers without any keyword, operator or punctuation carry no evidence in the
     * bare contexts, and without a quote char (X'41' is a number with sub '\'') there is no
     * other context to try. */
    size_t k = 0;
    while (k < n &&
           (tok[k].type == KS_SQLI_T_IDENT || (tok[k].type == KS_SQLI_T_NUMBER && tok[k].sub == 0)))
        k++;
    if (k == n && threshold > 0) {
        *inert = true;
        return 0;
    }
    size_t nc = index_tokens(tok, n, idx);
    for (int m = M_BARE; m <= M_AFTER; m++) {
        int sc = run(s, rest, tok, n, idx, nc, (enum mode)m, 0, &a, &b);
        if (sc > best) {
            best = sc;
            *start = a;
            *end = b;
        }
    }
    if (best >= threshold)
        return best;
    for (int q = 0; q < 3; q++) {
        if (!memchr(s, quotes[q], len))
            continue;
        n = ks_sqli_tokenize(s, len, qctx[q], tok, cap, &rest);
        if (rest < len)
            *overflow = true;
        nc = index_tokens(tok, n, idx);
        int sc = run(s, rest, tok, n, idx, nc, M_QUOTE, quotes[q], &a, &b);
        if (sc > best) {
            best = sc;
            *ctx = (uint8_t)qctx[q];
            *start = a;
            *end = b;
        }
        if (best >= threshold)
            break;
    }
    return best;
}
