/* The detector handle: the rules file compiled into one Vectorscan database, scratch space for
 * the scan and for the generic detector's tokens, and the check of one value. */
#include <errno.h>
#include <hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "sqli/ks_sqli_config.h"
#include "sqli_int.h"

#define MAX_SIGS 64
#define MAX_PATTERNS 1024
#define MAX_DEFINES 64
#define MAX_LINE 4096
#define MAX_PATTERN 8192
#define MAX_PATHS 8

enum { CHECK_NONE = 0, CHECK_PE };

struct rule {
    uint16_t sig;
    uint8_t method; /* 0 = any */
    uint8_t fields; /* bit per enum ks_sqli_field; 0 = any */
    uint8_t check;
    uint8_t npaths;
    bool lead_b; /* the pattern began with \b: checked in the match callback instead */
    char *paths[MAX_PATHS];
};

/* The pre-filter: for each rule of the main database one set of literals, one of which every
 * match of the rule contains (found in the pattern when it is loaded). A value holding none of
 * the literals of any rule that applies to it cannot match, and is not scanned. */
#define MAX_LITS 1024
#define PAIR_BUCKETS 1024
#define MAX_LIT_LEN 32

struct lit {
    uint16_t rule;
    uint16_t next; /* 1 + index of the next literal in the same chain, 0 at the end */
    uint8_t len;
    uint8_t b[MAX_LIT_LEN]; /* ASCII lower case */
};

struct prefilter {
    bool off; /* a rule without a literal: every value is scanned */
    /* Chains (1 + literal index, 0 = none): one-byte literals by their byte, longer ones by
     * a hash of their first two bytes (pair_bucket). */
    uint16_t head1[256];
    uint16_t head2[PAIR_BUCKETS];
    /* What the scan tests, on the bytes as the value holds them (before case folding):
     * raw_one[b], b folds to a one-byte literal; bit b0 | b1 << 8 of raw_pair, for every case
     * of a longer literal's first two bytes. It folds and walks a chain only where one is set. */
    uint8_t raw_one[256];
    uint8_t raw_pair[8192];
    struct lit *lits;
    unsigned nlits;
};

struct ks_sqli {
    struct ks_sqli_config cfg;
    hs_database_t *db;     /* rules without path= conditions */
    hs_database_t *pdb;    /* rules with path= conditions, scanned when a path matches */
    hs_scratch_t *scratch; /* for all */
    /* The main database's patterns, kept for the class databases below. */
    char **mpats;
    unsigned *mflags, *mids, nmain;
    /* Per class of value (method x field): the database of the main rules whose method= and
     * field= conditions can hold for it, made when the first value of the class comes (a
     * rule for POST bodies would cost every scan of a GET query otherwise). db == s->db
     * when every rule applies or making it failed; NULL when none applies. */
    struct {
        bool ready;
        hs_database_t *db;
    } cls[4][6];
    hs_database_t *subs[24]; /* the class databases made, shared by classes of equal rules */
    uint64_t sub_keys[24];
    unsigned nsubs;
    struct prefilter pf;
    uint64_t *cache; /* benign values: hash | 1, 0 = empty */
    uint32_t cache_mask;
    uint64_t seed;
    uint16_t path_rules[MAX_PATTERNS];
    unsigned npath_rules; /* the first 64 are used (their path matches are cached) */
    char last_path[512];
    bool last_valid;
    uint64_t last_mask;
    struct rule *rules;
    unsigned nrules;
    char *names[MAX_SIGS];
    unsigned nsigs;
    unsigned generic_sig;
    struct ks_sqli_token *tok;
    uint32_t *tok_idx; /* the generic detector's view of tok without comments */
    struct ks_sqli_stats st;
    uint32_t diag_reported;
    /* per-check state for the match callback */
    const struct ks_sqli_value *v;
    size_t vlen;
    uint64_t seen;
    struct ks_sqli_hit found[MAX_SIGS];
    size_t base;   /* offset of the scanned part in the value */
    size_t rescan; /* a start failed its \b: where to scan again (0 = no need) */
};

void ks_sqli_config_default(struct ks_sqli_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_value_len = 65536;
    cfg->max_tokens = 2048;
    cfg->min_score = 3;
}

const char *ks_sqli_default_rules_path(void)
{
    const char *env = getenv("KANSOKU_SQLI_RULES");
    if (env && *env)
        return env;
    if (access(KS_SQLI_RULES_INSTALLED, R_OK) == 0)
        return KS_SQLI_RULES_INSTALLED;
    return KS_SQLI_RULES_SOURCE;
}

static int sig_id(struct ks_sqli *s, const char *name, size_t len)
{
    for (unsigned i = 0; i < s->nsigs; i++)
        if (strlen(s->names[i]) == len && memcmp(s->names[i], name, len) == 0)
            return (int)i;
    if (s->nsigs >= MAX_SIGS)
        return KS_ELIMIT;
    char *n = strndup(name, len);
    if (!n)
        return KS_ENOMEM;
    s->names[s->nsigs] = n;
    return (int)s->nsigs++;
}

struct loader {
    struct ks_sqli *s;
    const char *path;
    unsigned line;
    char *def_name[MAX_DEFINES];
    char *def_val[MAX_DEFINES];
    unsigned ndef;
    char **pats;
    unsigned *flags;
    unsigned *ids;
    unsigned npat;
};

static int bad(struct loader *l, int err, const char *what)
{
    struct ks_loc loc = {.source = l->path, .line = l->line};
    ks_diag_report(l->s->cfg.diag, &l->s->diag_reported, "sqli", &loc, err, "%s", what);
    return err;
}

static char *trim(char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        p[--n] = '\0';
    return p;
}

/* Expands {NAME} of the defines (names start with a letter; {3,} quantifiers are left alone). */
static int expand(struct loader *l, const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = in; *p;) {
        if (*p == '{' && ((p[1] >= 'A' && p[1] <= 'Z') || (p[1] >= 'a' && p[1] <= 'z'))) {
            const char *e = strchr(p, '}');
            if (e) {
                size_t n = (size_t)(e - p - 1);
                unsigned d;
                for (d = 0; d < l->ndef; d++)
                    if (strlen(l->def_name[d]) == n && memcmp(l->def_name[d], p + 1, n) == 0)
                        break;
                if (d == l->ndef)
                    return bad(l, KS_EFORMAT, "undefined {NAME} in pattern");
                size_t vl = strlen(l->def_val[d]);
                if (o + vl >= cap)
                    return bad(l, KS_ELIMIT, "pattern too long");
                memcpy(out + o, l->def_val[d], vl);
                o += vl;
                p = e + 1;
                continue;
            }
        }
        if (o + 1 >= cap)
            return bad(l, KS_ELIMIT, "pattern too long");
        out[o++] = *p++;
    }
    out[o] = '\0';
    return KS_OK;
}

static int field_bit(const char *w, size_t n)
{
    static const char *const names[] = {"any", "query", "body", "path", "cookie", "header"};
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && strncasecmp(names[i], w, n) == 0)
            return i == 0 ? 0 : 1 << i;
    return -1;
}

/* rule NAME [method=GET|POST|any] [field=query,body,...] [path=.asp,.mdb] [check=pe]
 *      [case=sensitive] : REGEX */
static int rule_line(struct loader *l, char *p)
{
    struct ks_sqli *s = l->s;
    char *colon = strstr(p, " : ");
    if (!colon)
        return bad(l, KS_EFORMAT, "rule line needs ' : ' before the pattern");
    *colon = '\0';
    char *re = trim(colon + 3);
    if (!*re)
        return bad(l, KS_EFORMAT, "empty pattern");
    if (s->nrules >= MAX_PATTERNS)
        return bad(l, KS_ELIMIT, "too many patterns");
    struct rule *r = &s->rules[s->nrules];
    memset(r, 0, sizeof *r);
    unsigned hsflags = HS_FLAG_CASELESS | HS_FLAG_DOTALL | HS_FLAG_SOM_LEFTMOST;
    char *save = NULL;
    char *w = strtok_r(p, " \t", &save);
    if (!w)
        return bad(l, KS_EFORMAT, "rule needs a signature name");
    int id = sig_id(s, w, strlen(w));
    if (id < 0)
        return bad(l, id, "too many signatures");
    r->sig = (uint16_t)id;
    while ((w = strtok_r(NULL, " \t", &save))) {
        char *eq = strchr(w, '=');
        if (!eq)
            return bad(l, KS_EFORMAT, "rule option is not key=value");
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(w, "method") == 0) {
            if (strcasecmp(v, "GET") == 0)
                r->method = KS_SQLI_M_GET;
            else if (strcasecmp(v, "POST") == 0)
                r->method = KS_SQLI_M_POST;
            else if (strcasecmp(v, "any") != 0)
                return bad(l, KS_EFORMAT, "method= wants GET, POST or any");
        } else if (strcmp(w, "field") == 0) {
            for (const char *f = v; *f;) {
                const char *e = strchr(f, ',');
                size_t n = e ? (size_t)(e - f) : strlen(f);
                int b = field_bit(f, n);
                if (b < 0)
                    return bad(l, KS_EFORMAT, "field= wants query, body, path, cookie, header");
                r->fields |= (uint8_t)b;
                f += n + (e ? 1 : 0);
            }
        } else if (strcmp(w, "path") == 0) {
            for (const char *f = v; *f && r->npaths < MAX_PATHS;) {
                const char *e = strchr(f, ',');
                size_t n = e ? (size_t)(e - f) : strlen(f);
                if (!(r->paths[r->npaths++] = strndup(f, n)))
                    return KS_ENOMEM;
                f += n + (e ? 1 : 0);
            }
        } else if (strcmp(w, "check") == 0) {
            if (strcmp(v, "pe") != 0)
                return bad(l, KS_EFORMAT, "check= wants pe");
            r->check = CHECK_PE;
        } else if (strcmp(w, "case") == 0) {
            if (strcmp(v, "sensitive") != 0)
                return bad(l, KS_EFORMAT, "case= wants sensitive");
            hsflags &= ~(unsigned)HS_FLAG_CASELESS;
        } else
            return bad(l, KS_EFORMAT, "unknown rule option");
    }
    char buf[MAX_PATTERN];
    int rc = expand(l, re, buf, sizeof buf);
    if (rc)
        return rc;
    /* A leading \b makes Vectorscan check a word boundary before every candidate start, which
     * more than doubled the scan time; the callback checks it at the reported start instead. */
    const char *pat = buf;
    if (buf[0] == '\\' && buf[1] == 'b' && buf[2]) {
        pat = buf + 2;
        r->lead_b = true;
    }
    if (!(l->pats[l->npat] = strdup(pat)))
        return KS_ENOMEM;
    l->flags[l->npat] = hsflags;
    l->ids[l->npat] = s->nrules;
    l->npat++;
    s->nrules++;
    return KS_OK;
}

static int define_line(struct loader *l, char *p)
{
    char *save = NULL;
    char *name = strtok_r(p, " \t", &save);
    char *val = save ? trim(save) : NULL;
    if (!name || !val || !*val)
        return bad(l, KS_EFORMAT, "define NAME VALUE");
    if (l->ndef >= MAX_DEFINES)
        return bad(l, KS_ELIMIT, "too many defines");
    char buf[MAX_PATTERN];
    int rc = expand(l, val, buf, sizeof buf); /* defines may use earlier defines */
    if (rc)
        return rc;
    l->def_name[l->ndef] = strdup(name);
    l->def_val[l->ndef] = strdup(buf);
    if (!l->def_name[l->ndef] || !l->def_val[l->ndef])
        return KS_ENOMEM;
    l->ndef++;
    return KS_OK;
}

/* ---- required literals of a pattern, for the pre-filter ---- */

/* A candidate: one of n literals (each a run of plain characters) occurs in every match. */
struct cand {
    unsigned n;
    uint8_t len[8];
    uint8_t b[8][MAX_LIT_LEN];
};

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* How rarely a candidate occurs in ordinary text: its shortest literal's length, a lone
 * punctuation byte counting as 3 (a '=' or '(' is rarer in parameter values than "or"). */
static unsigned cand_weight(const struct cand *c)
{
    unsigned w = 1000;
    for (unsigned i = 0; i < c->n; i++) {
        unsigned l = c->len[i];
        uint8_t b = c->b[i][0];
        bool alnum = (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '_';
        if (l == 1 && !alnum)
            l = 3;
        if (l < w)
            w = l;
    }
    return c->n ? w : 0;
}

static void cand_offer(struct cand *best, const struct cand *c)
{
    if (cand_weight(c) > cand_weight(best))
        *best = *c;
}

/* Index after the item starting at re[i] when it is a group or a class; 0 if unbalanced. */
static size_t skip_group(const char *re, size_t i)
{
    int depth = 0;
    bool cls = false;
    for (; re[i]; i++) {
        char c = re[i];
        if (c == '\\') {
            if (!re[i + 1])
                return 0;
            i++;
        } else if (cls) {
            if (c == ']')
                cls = false;
        } else if (c == '[') {
            cls = true;
            if (re[i + 1] == '^')
                i++;
            if (re[i + 1] == ']')
                i++;
        } else if (c == '(')
            depth++;
        else if (c == ')' && --depth == 0)
            return i + 1;
    }
    return 0;
}

static size_t skip_class(const char *re, size_t i)
{
    i++;
    if (re[i] == '^')
        i++;
    if (re[i] == ']')
        i++;
    for (; re[i]; i++) {
        if (re[i] == '\\' && re[i + 1])
            i++;
        else if (re[i] == ']')
            return i + 1;
    }
    return 0;
}

/* Whether the item just before re[i] may be absent (?, *, {0,...}); sets *after past the
 * quantifier (and a lazy/possessive mark). */
static bool quantifier(const char *re, size_t i, bool *repeats, size_t *after)
{
    *repeats = false;
    *after = i;
    char q = re[i];
    bool optional = false;
    if (q == '?' || q == '*') {
        optional = true;
        *after = i + 1;
    } else if (q == '+') {
        *repeats = true;
        *after = i + 1;
    } else if (q == '{' && re[i + 1] >= '0' && re[i + 1] <= '9') {
        const char *e = strchr(re + i, '}');
        if (!e)
            return false;
        optional = re[i + 1] == '0' && (re[i + 2] == ',' || re[i + 2] == '}');
        *repeats = true;
        *after = (size_t)(e - re) + 1;
    }
    if (*after > i && (re[*after] == '?' || re[*after] == '+'))
        (*after)++;
    return optional;
}

/* The literal alternatives of a group body "(?:abc|def)", or false when it holds any
 * metacharacter. */
static bool group_alternatives(const char *re, size_t a, size_t b, struct cand *c)
{
    memset(c, 0, sizeof *c);
    c->n = 1;
    for (size_t i = a; i < b; i++) {
        uint8_t ch = (uint8_t)re[i];
        if (ch == '|') {
            if (c->len[c->n - 1] == 0 || c->n == 8)
                return false;
            c->n++;
            continue;
        }
        if (ch == '\\') {
            uint8_t e = (uint8_t)re[i + 1];
            if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9') || !e)
                return false;
            ch = e;
            i++;
        } else if (strchr(".^$[](){}?*+", ch))
            return false;
        /* a quantified character ends the alternative's use as a literal */
        if (re[i + 1] == '?' || re[i + 1] == '*' || re[i + 1] == '+' || re[i + 1] == '{')
            return false;
        unsigned k = c->n - 1;
        if (c->len[k] >= MAX_LIT_LEN)
            return false;
        c->b[k][c->len[k]++] = lower(ch);
    }
    return c->len[c->n - 1] > 0;
}

/* Finds in an (expanded) pattern the rarest set of literals one of which every match
 * contains. Only the top-level sequence is read: plain characters form runs, an alternation
 * group of plain literals is a set, everything else (classes, escapes like \d, nested groups,
 * optional items, anchors) ends a run. Returns false if none was found. */
static bool required_literals(const char *re, struct cand *best)
{
    struct cand run = {.n = 1};
    memset(best, 0, sizeof *best);
    for (size_t i = 0; re[i];) {
        uint8_t c = (uint8_t)re[i];
        size_t next = i + 1;
        bool literal = false, rep, flush = true;
        uint8_t ch = 0;
        if (c == '|')
            return false; /* an alternation at the top: none of the parts is required */
        if (c == '(') {
            size_t e = skip_group(re, i);
            if (!e)
                return false;
            bool opt = quantifier(re, e, &rep, &next);
            cand_offer(best, &run);
            run.len[0] = 0;
            struct cand g;
            size_t a = i + 1;
            if (re[a] == '?' && re[a + 1] == ':')
                a += 2;
            else if (re[a] == '?')
                a = 0;
            if (!opt && a && group_alternatives(re, a, e - 1, &g))
                cand_offer(best, &g);
            i = next;
            continue;
        }
        if (c == '[') {
            size_t e = skip_class(re, i);
            if (!e)
                return false;
            (void)quantifier(re, e, &rep, &next);
        } else if (c == '\\') {
            uint8_t e = (uint8_t)re[i + 1];
            if (!e || e == 'Q' || e == 'E')
                return false;
            next = i + 2;
            if (e == 'x' && re[next] == '{') {
                const char *b = strchr(re + next, '}');
                if (!b)
                    return false;
                next = (size_t)(b - re) + 1;
            } else if (e == 'x')
                next += 2;
            else if (!((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') ||
                       (e >= '0' && e <= '9'))) {
                literal = true;
                ch = e;
            }
            size_t after;
            bool opt = quantifier(re, next, &rep, &after);
            if (literal && opt)
                literal = false;
            next = after;
            flush = !literal || rep;
        } else if (strchr(".^$", c)) {
            bool opt = quantifier(re, next, &rep, &next);
            (void)opt;
        } else {
            size_t after;
            bool opt = quantifier(re, next, &rep, &after);
            literal = !opt;
            ch = c;
            next = after;
            flush = !literal || rep;
        }
        if (literal && run.len[0] < MAX_LIT_LEN)
            run.b[0][run.len[0]++] = lower(ch);
        if (flush || run.len[0] == MAX_LIT_LEN) {
            if (run.len[0])
                cand_offer(best, &run);
            run.len[0] = 0;
        }
        i = next;
    }
    if (run.len[0])
        cand_offer(best, &run);
    return best->n > 0;
}

static unsigned pair_bucket(uint8_t b0, uint8_t b1)
{
    return ((unsigned)b0 * 37u + b1) & (PAIR_BUCKETS - 1);
}

/* A lower-case literal byte as the value may hold it: as is (upper = 0) or upper-cased. */
static uint8_t cased(uint8_t b, unsigned upper)
{
    return upper && b >= 'a' && b <= 'z' ? (uint8_t)(b - 32) : b;
}

static int pf_add(struct prefilter *pf, unsigned rule, const struct cand *c)
{
    for (unsigned k = 0; k < c->n; k++) {
        if (pf->nlits >= MAX_LITS)
            return KS_ELIMIT;
        struct lit *l = &pf->lits[pf->nlits++];
        l->rule = (uint16_t)rule;
        l->len = c->len[k];
        memcpy(l->b, c->b[k], c->len[k]);
        uint16_t *head =
            l->len == 1 ? &pf->head1[l->b[0]] : &pf->head2[pair_bucket(l->b[0], l->b[1])];
        l->next = *head;
        *head = (uint16_t)pf->nlits;
        if (l->len == 1) {
            for (unsigned a = 0; a < 2; a++)
                pf->raw_one[cased(l->b[0], a)] = 1;
        } else {
            for (unsigned a = 0; a < 4; a++) {
                unsigned r = cased(l->b[0], a & 1) | (unsigned)cased(l->b[1], a >> 1) << 8;
                pf->raw_pair[r >> 3] |= (uint8_t)(1u << (r & 7));
            }
        }
    }
    return KS_OK;
}

/* A database of n patterns: loaded from the cache or compiled (and cached); scratch grown
 * for it. KS_EFORMAT with *cerr when Vectorscan refuses a pattern. */
static int build_db(struct ks_sqli *s, const char *const *pats, const unsigned *flags,
                    const unsigned *ids, unsigned n, hs_database_t **db, hs_compile_error_t **cerr)
{
    const char *cache = s->cfg.db_cache_dir && *s->cfg.db_cache_dir ? s->cfg.db_cache_dir : NULL;
    uint64_t key = cache ? sqli_db_key(pats, flags, ids, n) : 0;
    if (cache && sqli_db_load(cache, key, db)) {
        s->st.dbs_cached++;
    } else if (hs_compile_multi(pats, flags, ids, n, HS_MODE_BLOCK, NULL, db, cerr) != HS_SUCCESS) {
        *db = NULL;
        return KS_EFORMAT;
    } else {
        s->st.dbs_compiled++;
        if (cache)
            sqli_db_store(cache, key, *db);
    }
    return hs_alloc_scratch(*db, &s->scratch) == HS_SUCCESS ? KS_OK : KS_ENOMEM;
}

/* Keeps a copy of the main database's patterns for the class databases. */
static int keep_main(struct ks_sqli *s, const char *const *pats, const unsigned *flags,
                     const unsigned *ids, unsigned n)
{
    if (!(s->mpats = calloc(n, sizeof *s->mpats)) || !(s->mflags = calloc(n, sizeof *s->mflags)) ||
        !(s->mids = calloc(n, sizeof *s->mids)))
        return KS_ENOMEM;
    for (unsigned i = 0; i < n; i++) {
        if (!(s->mpats[i] = strdup(pats[i])))
            return KS_ENOMEM;
        s->mflags[i] = flags[i];
        s->mids[i] = ids[i];
        s->nmain++;
    }
    return KS_OK;
}

/* Compiles the patterns of the rules with (path) or without (!path) path= conditions. */
static int compile(struct loader *l, bool path, hs_database_t **db)
{
    struct ks_sqli *s = l->s;
    int rc = KS_OK;
    hs_compile_error_t *cerr = NULL;
    const char **pats = calloc(l->npat, sizeof *pats);
    unsigned *flags = calloc(l->npat, sizeof *flags);
    unsigned *ids = calloc(l->npat, sizeof *ids);
    unsigned n = 0;
    if (!pats || !flags || !ids) {
        rc = KS_ENOMEM;
        goto out;
    }
    for (unsigned i = 0; i < l->npat; i++) {
        if ((s->rules[l->ids[i]].npaths > 0) != path)
            continue;
        pats[n] = l->pats[i];
        flags[n] = l->flags[i];
        ids[n] = l->ids[i];
        n++;
        struct cand c;
        if (path)
            continue;
        if (!required_literals(l->pats[i], &c))
            s->pf.off = true;
        else if ((rc = pf_add(&s->pf, l->ids[i], &c)))
            goto out;
    }
    if (!n)
        goto out;
    if ((rc = build_db(s, pats, flags, ids, n, db, &cerr)) == KS_EFORMAT) {
        l->line = 0;
        char msg[512];
        int e = cerr && cerr->expression >= 0 ? cerr->expression : -1;
        snprintf(msg, sizeof msg, "pattern %d (%s): %s", e, e >= 0 ? pats[e] : "?",
                 cerr ? cerr->message : "compile failed");
        rc = bad(l, KS_EFORMAT, msg);
        goto out;
    }
    if (!rc && !path)
        rc = keep_main(s, pats, flags, ids, n);
out:
    if (cerr)
        hs_free_compile_error(cerr);
    free(pats);
    free(flags);
    free(ids);
    return rc;
}

static int load_rules(struct ks_sqli *s, const char *path)
{
    int rc = KS_OK;
    struct loader l = {.s = s, .path = path};
    FILE *f = NULL;
    char *line = NULL;
    l.pats = calloc(MAX_PATTERNS, sizeof *l.pats);
    l.flags = calloc(MAX_PATTERNS, sizeof *l.flags);
    l.ids = calloc(MAX_PATTERNS, sizeof *l.ids);
    s->rules = calloc(MAX_PATTERNS, sizeof *s->rules);
    line = malloc(MAX_LINE);
    if (!l.pats || !l.flags || !l.ids || !s->rules || !line) {
        rc = KS_ENOMEM;
        goto out;
    }
    f = fopen(path, "r");
    if (!f) {
        struct ks_loc loc = {.source = path};
        ks_diag_report(s->cfg.diag, &s->diag_reported, "sqli", &loc, KS_EIO,
                       "cannot read rules file: %s", strerror(errno));
        rc = KS_EIO;
        goto out;
    }
    while (fgets(line, MAX_LINE, f)) {
        l.line++;
        size_t n = strlen(line);
        if (n == MAX_LINE - 1 && line[n - 1] != '\n') {
            rc = bad(&l, KS_ELIMIT, "line too long");
            goto out;
        }
        char *p = trim(line);
        if (!*p || *p == '#')
            continue;
        if (strncmp(p, "rule ", 5) == 0)
            rc = rule_line(&l, p + 5);
        else if (strncmp(p, "define ", 7) == 0)
            rc = define_line(&l, p + 7);
        else
            rc = bad(&l, KS_EFORMAT, "line is neither 'rule' nor 'define'");
        if (rc)
            goto out;
    }
    if (!(s->pf.lits = calloc(MAX_LITS, sizeof *s->pf.lits))) {
        rc = KS_ENOMEM;
        goto out;
    }
    if ((rc = compile(&l, false, &s->db)) || (rc = compile(&l, true, &s->pdb)))
        goto out;
out:
    if (f)
        fclose(f);
    if (l.pats)
        for (unsigned i = 0; i < l.npat; i++)
            free(l.pats[i]);
    for (unsigned i = 0; i < l.ndef; i++) {
        free(l.def_name[i]);
        free(l.def_val[i]);
    }
    free(l.pats);
    free(l.flags);
    free(l.ids);
    free(line);
    return rc;
}

int ks_sqli_new(const struct ks_sqli_config *cfg, struct ks_sqli **sp)
{
    int rc = KS_OK;
    struct ks_sqli *s = NULL;
    *sp = NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return KS_ENOMEM;
    if (cfg)
        s->cfg = *cfg;
    else
        ks_sqli_config_default(&s->cfg);
    if (!s->cfg.max_value_len)
        s->cfg.max_value_len = 65536;
    if (!s->cfg.max_tokens)
        s->cfg.max_tokens = 2048;
    if (!s->cfg.min_score)
        s->cfg.min_score = 3;
    s->tok = calloc(s->cfg.max_tokens, sizeof *s->tok);
    s->tok_idx = calloc((size_t)s->cfg.max_tokens + 1, sizeof *s->tok_idx);
    if (!s->tok || !s->tok_idx) {
        rc = KS_ENOMEM;
        goto out;
    }
    if (!s->cfg.no_rules) {
        const char *path = s->cfg.rules_path ? s->cfg.rules_path : ks_sqli_default_rules_path();
        if ((rc = load_rules(s, path)))
            goto out;
    }
    int g = sig_id(s, "SQL_Injection", 13);
    if (g < 0) {
        rc = g;
        goto out;
    }
    s->generic_sig = (unsigned)g;
    for (unsigned i = 0; i < s->nrules; i++)
        if (s->rules[i].npaths)
            s->path_rules[s->npath_rules++] = (uint16_t)i;
    if (s->cfg.cache_entries) {
        uint32_t n = 1;
        while (n < s->cfg.cache_entries && n < (1u << 24))
            n <<= 1;
        if (!(s->cache = calloc(n, sizeof *s->cache))) {
            rc = KS_ENOMEM;
            goto out;
        }
        s->cache_mask = n - 1;
        /* a per-handle seed, so that colliding values cannot be prepared in advance */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s->seed =
            ks_hash_u64((uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)s ^ ((uint64_t)getpid() << 32),
                        (uint64_t)ts.tv_sec);
    }
    *sp = s;
    s = NULL;
out:
    ks_sqli_free(s);
    return rc;
}

void ks_sqli_free(struct ks_sqli *s)
{
    if (!s)
        return;
    hs_free_scratch(s->scratch);
    hs_free_database(s->db);
    hs_free_database(s->pdb);
    for (unsigned i = 0; i < s->nsubs; i++)
        hs_free_database(s->subs[i]);
    if (s->mpats)
        for (unsigned i = 0; i < s->nmain; i++)
            free(s->mpats[i]);
    free(s->mpats);
    free(s->mflags);
    free(s->mids);
    free(s->pf.lits);
    free(s->cache);
    if (s->rules)
        for (unsigned i = 0; i < s->nrules; i++)
            for (unsigned j = 0; j < s->rules[i].npaths; j++)
                free(s->rules[i].paths[j]);
    free(s->rules);
    for (unsigned i = 0; i < s->nsigs; i++)
        free(s->names[i]);
    free(s->tok);
    free(s->tok_idx);
    free(s);
}

unsigned ks_sqli_sig_count(const struct ks_sqli *s)
{
    return s->nsigs;
}

const char *ks_sqli_sig_name(const struct ks_sqli *s, unsigned sig)
{
    return sig < s->nsigs ? s->names[sig] : NULL;
}

void ks_sqli_stats(const struct ks_sqli *s, struct ks_sqli_stats *st)
{
    *st = s->st;
}

/* A Windows PE image: "MZ", and "PE\0\0" at the offset stored at 0x3C (little endian). */
static bool is_pe(const uint8_t *b, size_t len)
{
    if (len < 0x40 || b[0] != 'M' || b[1] != 'Z')
        return false;
    uint32_t off = (uint32_t)b[0x3C] | (uint32_t)b[0x3D] << 8 | (uint32_t)b[0x3E] << 16 |
                   (uint32_t)b[0x3F] << 24;
    return off <= len - 4 && memcmp(b + off, "PE\0\0", 4) == 0;
}

static bool path_has(const char *path, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = path; *p; p++)
        if (strncasecmp(p, needle, n) == 0)
            return true;
    return false;
}

static bool rule_applies(const struct rule *r, const struct ks_sqli_value *v, size_t len)
{
    if (r->method && v->method != KS_SQLI_M_UNKNOWN && v->method != r->method)
        return false;
    if (r->fields && v->field != KS_SQLI_F_UNKNOWN && !(r->fields & (1u << v->field)))
        return false;
    if (r->npaths) {
        if (!v->path)
            return false;
        bool any = false;
        for (unsigned i = 0; i < r->npaths && !any; i++)
            any = path_has(v->path, r->paths[i]);
        if (!any)
            return false;
    }
    if (r->check == CHECK_PE && !is_pe(v->data, len))
        return false;
    return true;
}

static bool cond_applies(const struct rule *r, const struct ks_sqli_value *v)
{
    if (r->method && v->method != KS_SQLI_M_UNKNOWN && v->method != r->method)
        return false;
    return !(r->fields && v->field != KS_SQLI_F_UNKNOWN && !(r->fields & (1u << v->field)));
}

static uint8_t fold(uint8_t c)
{
    return (uint8_t)(c + ((unsigned)(c - 'A') < 26u ? 32 : 0));
}

/* Whether the one-byte literal c (folded) of a rule that applies to v exists. */
static bool byte_lit(const struct ks_sqli *s, const struct ks_sqli_value *v, uint8_t c)
{
    const struct prefilter *pf = &s->pf;
    for (unsigned k = pf->head1[c]; k; k = pf->lits[k - 1].next)
        if (cond_applies(&s->rules[pf->lits[k - 1].rule], v))
            return true;
    return false;
}

/* Whether a longer literal of a rule that applies to v starts at d[i] (i + 1 < len). */
static bool lit_at(const struct ks_sqli *s, const struct ks_sqli_value *v, const uint8_t *d,
                   size_t len, size_t i)
{
    const struct prefilter *pf = &s->pf;
    uint8_t c0 = fold(d[i]), c1 = fold(d[i + 1]);
    for (unsigned k = pf->head2[pair_bucket(c0, c1)]; k; k = pf->lits[k - 1].next) {
        const struct lit *l = &pf->lits[k - 1];
        if (l->b[0] != c0 || l->b[1] != c1 || l->len > len - i)
            continue;
        unsigned j = 2;
        while (j < l->len && fold(d[i + j]) == l->b[j])
            j++;
        if (j == l->len && cond_applies(&s->rules[l->rule], v))
            return true;
    }
    return false;
}

/* The database of the main rules that can apply to a value of v's class (see struct
 * ks_sqli); NULL if none can. */
static const hs_database_t *class_db(struct ks_sqli *s, const struct ks_sqli_value *v)
{
    if ((unsigned)v->method >= 4 || (unsigned)v->field >= 6 || !s->nmain)
        return s->db;
    if (s->cls[v->method][v->field].ready)
        return s->cls[v->method][v->field].db;
    const char *pats[MAX_PATTERNS];
    unsigned flags[MAX_PATTERNS], ids[MAX_PATTERNS], n = 0;
    for (unsigned i = 0; i < s->nmain; i++)
        if (cond_applies(&s->rules[s->mids[i]], v)) {
            pats[n] = s->mpats[i];
            flags[n] = s->mflags[i];
            ids[n++] = s->mids[i];
        }
    hs_database_t *db = n ? s->db : NULL;
    if (n && n < s->nmain) {
        uint64_t key = sqli_db_key(pats, flags, ids, n);
        unsigned k = 0;
        while (k < s->nsubs && s->sub_keys[k] != key)
            k++;
        if (k < s->nsubs) {
            db = s->subs[k];
        } else if (k < sizeof s->subs / sizeof s->subs[0]) {
            /* on any failure the class stays with the main database */
            hs_database_t *sub = NULL;
            hs_compile_error_t *cerr = NULL;
            if (build_db(s, pats, flags, ids, n, &sub, &cerr) == KS_OK) {
                s->subs[s->nsubs] = sub;
                s->sub_keys[s->nsubs++] = key;
                db = sub;
            } else if (sub) {
                hs_free_database(sub);
            }
            if (cerr)
                hs_free_compile_error(cerr);
        }
    }
    s->cls[v->method][v->field].ready = true;
    s->cls[v->method][v->field].db = db;
    return db;
}

/* The pre-filter: whether v may match a rule of the main database. */
static bool may_match(const struct ks_sqli *s, const struct ks_sqli_value *v, size_t len)
{
    const struct prefilter *pf = &s->pf;
    if (pf->off)
        return true;
    const uint8_t *d = v->data;
    size_t i = 0;
    for (; i + 1 < len; i++) {
        unsigned r = (unsigned)d[i] | (unsigned)d[i + 1] << 8;
        unsigned two = (pf->raw_pair[r >> 3] >> (r & 7)) & 1u;
        if (!(pf->raw_one[d[i]] | two))
            continue;
        if (pf->raw_one[d[i]] && byte_lit(s, v, fold(d[i])))
            return true;
        if (two && lit_at(s, v, d, len, i))
            return true;
    }
    /* the last byte can only be a one-byte literal */
    return i < len && pf->raw_one[d[i]] && byte_lit(s, v, fold(d[i]));
}

/* Whether a rule of the path database may apply: its path condition holds for v. The values
 * of one request share its path: which path rules match is remembered for the last path. */
static bool path_rules_apply(struct ks_sqli *s, const struct ks_sqli_value *v)
{
    if (!v->path)
        return false;
    size_t pl = strlen(v->path);
    if (!(pl < sizeof s->last_path && s->last_valid &&
          memcmp(s->last_path, v->path, pl + 1) == 0)) {
        uint64_t mask = 0;
        for (unsigned i = 0; i < s->npath_rules && i < 64; i++) {
            const struct rule *r = &s->rules[s->path_rules[i]];
            for (unsigned k = 0; k < r->npaths; k++)
                if (path_has(v->path, r->paths[k])) {
                    mask |= 1ull << i;
                    break;
                }
        }
        s->last_mask = mask;
        s->last_valid = pl < sizeof s->last_path;
        if (s->last_valid)
            memcpy(s->last_path, v->path, pl + 1);
    }
    for (unsigned i = 0; i < s->npath_rules && i < 64; i++)
        if ((s->last_mask >> i & 1) && cond_applies(&s->rules[s->path_rules[i]], v))
            return true;
    return false;
}

static bool wordc(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *ctx)
{
    (void)flags;
    struct ks_sqli *s = ctx;
    const struct rule *r = &s->rules[id];
    if (s->seen & (1ull << r->sig))
        return 0;
    from += s->base;
    to += s->base;
    if (r->lead_b) {
        const uint8_t *d = s->v->data;
        bool before = from > 0 && wordc(d[from - 1]);
        bool after = from < s->vlen && wordc(d[from]);
        if (before == after) {
            /* Vectorscan reports the leftmost start of each match; a later start might
             * have the boundary, so the rest is scanned again (after this scan). */
            if (!s->rescan || from + 1 < s->rescan)
                s->rescan = from + 1;
            return 0;
        }
    }
    if (!rule_applies(r, s->v, s->vlen))
        return 0;
    s->seen |= 1ull << r->sig;
    s->found[r->sig].sig = r->sig;
    s->found[r->sig].start = (uint32_t)from;
    s->found[r->sig].end = (uint32_t)to;
    return 0;
}

/* Scans v with db, again from after each start whose leading \b failed (8 times at most). */
static void scan(struct ks_sqli *s, const hs_database_t *db, const uint8_t *d, size_t len)
{
    s->base = 0;
    for (int round = 0; round < 8 && s->base < len; round++) {
        s->rescan = 0;
        hs_scan(db, (const char *)d + s->base, (unsigned)(len - s->base), 0, s->scratch, on_match,
                s);
        if (!s->rescan)
            break;
        s->base = s->rescan;
    }
}

int ks_sqli_check(struct ks_sqli *s, const struct ks_sqli_value *v, struct ks_sqli_result *r)
{
    memset(r, 0, offsetof(struct ks_sqli_result, hits));
    r->context = 0;
    r->score = 0;
    s->st.values++;
    size_t len = v->len;
    if (len > s->cfg.max_value_len) {
        len = s->cfg.max_value_len;
        s->st.truncated++;
    }
    s->seen = 0;
    s->v = v;
    s->vlen = len;
    uint64_t key = 0;
    bool pathy = s->pdb && len && path_rules_apply(s, v);
    if (s->cache && len && !pathy) {
        key = (ks_hash_bytes(v->data, len, s->seed ^ ((uint64_t)v->method << 8 | v->field)) | 1);
        if (s->cache[key & s->cache_mask] == key) {
            s->st.cache_hits++;
            s->v = NULL;
            return 0;
        }
    }
    const hs_database_t *db;
    if (s->db && len && (db = class_db(s, v)) && may_match(s, v, len)) {
        s->st.scanned++;
        scan(s, db, v->data, len);
    }
    if (pathy)
        scan(s, s->pdb, v->data, len);
    if (!s->cfg.no_generic && len) {
        uint8_t ctx;
        uint32_t a, b;
        bool over, inert;
        int sc = sqli_generic(v->data, len, s->tok, s->tok_idx, s->cfg.max_tokens, s->cfg.min_score,
                              &ctx, &a, &b, &over, &inert);
        if (over)
            s->st.token_overflow++;
        if (inert)
            s->st.generic_inert++;
        r->context = ctx;
        r->score = (int16_t)(sc < -1000 ? -1000 : sc > 1000 ? 1000 : sc);
        if (sc >= s->cfg.min_score) {
            s->seen |= 1ull << s->generic_sig;
            s->found[s->generic_sig] = (struct ks_sqli_hit){(uint16_t)s->generic_sig, a, b};
            s->st.generic_hits++;
        }
    }
    for (unsigned i = 0; i < s->nsigs && s->seen; i++)
        if ((s->seen & (1ull << i)) && r->nhits < KS_SQLI_MAX_HITS)
            r->hits[r->nhits++] = s->found[i];
    s->v = NULL;
    if (r->nhits) {
        s->st.injections++;
        return 1;
    }
    if (key)
        s->cache[key & s->cache_mask] = key;
    return 0;
}
