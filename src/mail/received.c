/* Received: fields (RFC 5321 4.4) and RFC 5322 dates, parsed by hand on the cursor.
 *
 * A Received field is read as a list of top-level words and comments, split into clauses by
 * the keywords of RFC 5321's Stamp ("from", "by", "via", "with", "id", "for"), with the date
 * after the last ';'. Real MTAs put the client's address in many places: sendmail/Postfix in
 * the from-clause comment "(rdns [a.b.c.d])", qmail as "(HELO x) (a.b.c.d)", Exim as
 * "[a.b.c.d] (helo=x)" or "(rdns [a.b.c.d] helo=x)", Exchange as "(a.b.c.d)", IPv6 as
 * "[IPv6:...]" or bare. Comments win over the from word: the comment is what the receiver
 * saw, the word what the client claimed. */
#include "kansoku/ks_mail.h"
#include "kansoku/ks_time.h"
#include "core/cur.h"
#include "mail_int.h"

#include <string.h>

#define MAX_TOKENS 64
#define MAX_NEST 16

enum tok_kind { TOK_WORD, TOK_COMMENT };

struct tok {
    enum tok_kind kind;
    const uint8_t *p; /* comments: the content without the outer parens */
    size_t len;
};

/* Reads the next top-level token: a comment (balanced parens, nested up to MAX_NEST, an
 * unclosed one runs to the end) or a word (up to space or '('; [..] and "..." kept whole). */
static bool next_tok(struct ks_cur *c, struct tok *t)
{
    while (ks_cur_left(c) && mail_isspace(ks_cur_peek_u8(c)))
        ks_cur_skip(c, 1);
    if (!ks_cur_left(c))
        return false;
    struct ks_cur start = *c;
    if (ks_cur_peek_u8(c) == '(') {
        ks_cur_skip(c, 1);
        struct ks_cur in = *c;
        size_t n = 0;
        int depth = 1;
        while (ks_cur_left(c)) {
            uint8_t b = ks_cur_u8(c);
            if (b == '\\' && ks_cur_left(c)) {
                ks_cur_skip(c, 1);
                n += 2;
                continue;
            }
            if (b == '(' && depth < MAX_NEST)
                depth++;
            else if (b == ')' && --depth == 0)
                break;
            n++;
        }
        t->kind = TOK_COMMENT;
        t->p = ks_cur_ptr(&in, n);
        t->len = n;
        return t->p != NULL;
    }
    size_t n = 0;
    uint8_t close = 0;
    while (ks_cur_left(c)) {
        uint8_t b = ks_cur_peek_u8(c);
        if (close) {
            if (b == close)
                close = 0;
        } else if (mail_isspace(b) || b == '(') {
            break;
        } else if (b == '[') {
            close = ']';
        } else if (b == '"') {
            close = '"';
        }
        ks_cur_skip(c, 1);
        n++;
    }
    t->kind = TOK_WORD;
    t->p = ks_cur_ptr(&start, n);
    t->len = n;
    return t->p != NULL;
}

static bool is_kw(const struct tok *t, const char *kw)
{
    return t->kind == TOK_WORD && mail_ieq((const char *)t->p, t->len, kw);
}

static bool is_clause_kw(const struct tok *t)
{
    return is_kw(t, "from") || is_kw(t, "by") || is_kw(t, "via") || is_kw(t, "with") ||
           is_kw(t, "id") || is_kw(t, "for");
}

/* Parses an address literal: "a.b.c.d", "a.b.c.d:port", "IPv6:x::y", "x::y", "[...]" with
 * surrounding punctuation trimmed. */
static bool parse_ip(const uint8_t *p, size_t n, struct ks_addr *a)
{
    struct ks_cur c = ks_cur_make(p, n);
    bool bracket = false;
    while (ks_cur_left(&c) && strchr("[(<\"'", ks_cur_peek_u8(&c)))
        bracket |= ks_cur_u8(&c) == '[';
    size_t len = ks_cur_left(&c);
    const uint8_t *s = ks_cur_ptr(&c, 0);
    if (len && bracket) { /* "[addr]:port": the address is inside */
        const uint8_t *rb = memchr(s, ']', len);
        if (rb)
            len = (size_t)(rb - s);
    }
    while (len && strchr("])>\"'.,;:", s[len - 1]))
        len--;
    if (len >= 5 && mail_iprefix((const char *)s, len, "ipv6:")) {
        s += 5;
        len -= 5;
    }
    if (len < 2 || len > 60)
        return false;
    /* a:b:c:d%zone */
    for (size_t i = 0; i < len; i++)
        if (s[i] == '%') {
            len = i;
            break;
        }
    size_t colons = 0, dots = 0, last_colon = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ':') {
            colons++;
            last_colon = i;
        } else if (s[i] == '.') {
            dots++;
        } else if (mail_hexval(s[i]) < 0) {
            return false;
        }
    }
    if (colons == 1 && dots == 3)
        len = last_colon; /* IPv4 with a port */
    if (ks_addr_parse((const char *)s, len, a) != KS_OK)
        return false;
    ks_addr_unmap(a);
    return true;
}

/* Copies a host name token (trimmed of punctuation) into dst. */
static void set_name(char *dst, size_t size, const uint8_t *p, size_t n)
{
    while (n && strchr("[(<\"'", p[0])) {
        p++;
        n--;
    }
    while (n && strchr("])>\"',;", p[n - 1]))
        n--;
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < size; i++) {
        uint8_t b = p[i];
        if (b < 33 || b > 126)
            break;
        dst[k++] = (char)mail_lower(b);
    }
    dst[k] = '\0';
}

/* Scans a from-clause comment: "[ip]" (best), a bare ip word, "helo=x" / "HELO x", the rdns
 * name before "[ip]". *rank: 2 for a bracketed address, 1 for a bare one. */
static void scan_comment(const struct tok *t, struct ks_mail_received *r, int *rank)
{
    struct ks_cur c = ks_cur_make(t->p, t->len);
    const uint8_t *prev = NULL;
    size_t prev_len = 0;
    bool helo_next = false;
    while (ks_cur_left(&c)) {
        /* words split at spaces, parens, commas, '@' and '=' kept inside */
        while (ks_cur_left(&c) &&
               (mail_isspace(ks_cur_peek_u8(&c)) || strchr("(),;", ks_cur_peek_u8(&c))))
            ks_cur_skip(&c, 1);
        struct ks_cur w = c;
        size_t n = 0;
        while (ks_cur_left(&c) && !mail_isspace(ks_cur_peek_u8(&c)) &&
               !strchr("(),;", ks_cur_peek_u8(&c))) {
            ks_cur_skip(&c, 1);
            n++;
        }
        if (n == 0)
            break;
        const uint8_t *p = ks_cur_ptr(&w, n);
        if (!p)
            break;
        struct ks_addr a;
        if (helo_next) {
            if (!r->helo[0])
                set_name(r->helo, sizeof r->helo, p, n);
            helo_next = false;
        } else if (n >= 5 && mail_iprefix((const char *)p, n, "helo=")) {
            if (!r->helo[0])
                set_name(r->helo, sizeof r->helo, p + 5, n - 5);
        } else if (mail_ieq((const char *)p, n, "helo") || mail_ieq((const char *)p, n, "ehlo")) {
            helo_next = true;
        } else if (p[0] == '[') {
            if (*rank < 2 && parse_ip(p, n, &a)) {
                r->ip = a;
                *rank = 2;
                if (prev && !r->rdns[0] && !mail_ieq((const char *)prev, prev_len, "unknown"))
                    set_name(r->rdns, sizeof r->rdns, prev, prev_len);
            }
        } else {
            /* "user@a.b.c.d" (qmail) or a bare address */
            const uint8_t *q = p;
            size_t qn = n;
            const uint8_t *at = memchr(p, '@', n);
            if (at) {
                qn = n - (size_t)(at - p) - 1;
                q = at + 1;
            }
            if (*rank < 1 && qn && (mail_isdigit(q[0]) || mail_hexval(q[0]) >= 0 || q[0] == ':') &&
                parse_ip(q, qn, &a)) {
                r->ip = a;
                *rank = 1;
            }
        }
        prev = p;
        prev_len = n;
    }
}

int ks_mail_received_parse(const char *s, size_t len, struct ks_mail_received *r)
{
    memset(r, 0, sizeof *r);
    if (!s)
        return KS_EFORMAT;
    bool found = false;
    /* the date after the last ';' */
    size_t semi = len;
    for (size_t i = len; i > 0; i--)
        if (s[i - 1] == ';') {
            semi = i - 1;
            break;
        }
    if (semi < len) {
        int64_t t;
        if (ks_mail_date_parse(s + semi + 1, len - semi - 1, &t) == KS_OK) {
            r->time_us = t;
            found = true;
        }
    }
    struct ks_cur c = ks_cur_make(s, semi);
    struct tok toks[MAX_TOKENS];
    size_t nt = 0;
    while (nt < MAX_TOKENS && next_tok(&c, &toks[nt]))
        nt++;
    int rank = 0;
    struct ks_addr word_ip = {0};
    const char *clause = "";
    for (size_t i = 0; i < nt; i++) {
        const struct tok *t = &toks[i];
        if (is_clause_kw(t) && i + 1 < nt) {
            const struct tok *v = &toks[i + 1];
            found = true;
            if (is_kw(t, "from")) {
                clause = "from";
                if (v->kind == TOK_WORD) {
                    struct ks_addr a;
                    if (parse_ip(v->p, v->len, &a))
                        word_ip = a;
                    else if (!mail_ieq((const char *)v->p, v->len, "unknown"))
                        set_name(r->helo, sizeof r->helo, v->p, v->len);
                    i++;
                }
            } else if (is_kw(t, "by")) {
                clause = "by";
                if (v->kind == TOK_WORD) {
                    set_name(r->by, sizeof r->by, v->p, v->len);
                    i++;
                }
            } else if (is_kw(t, "with")) {
                clause = "with";
                if (v->kind == TOK_WORD) {
                    set_name(r->with, sizeof r->with, v->p, v->len);
                    i++;
                }
            } else {
                clause = "other";
            }
            continue;
        }
        if (t->kind == TOK_COMMENT && strcmp(clause, "from") == 0) {
            scan_comment(t, r, &rank);
        } else if (t->kind == TOK_COMMENT && clause[0] == '\0') {
            /* qmail: "(qmail 123 invoked by uid 89)" / "(... invoked from network)" */
            if (mail_ifind((const char *)t->p, t->len, "invoked by") != SIZE_MAX ||
                mail_ifind((const char *)t->p, t->len, "invoked for bounce") != SIZE_MAX)
                r->local = true;
            found = true;
        } else if (t->kind == TOK_WORD && strcmp(clause, "from") == 0 && rank < 1) {
            /* "from host 1.2.3.4 by ..." and "[1.2.3.4]" words after the name */
            struct ks_addr a;
            if (parse_ip(t->p, t->len, &a)) {
                r->ip = a;
                rank = 1;
            }
        }
    }
    if (rank == 0 && word_ip.family)
        r->ip = word_ip;
    if (mail_ieq(r->with, strlen(r->with), "local") || mail_ieq(r->with, strlen(r->with), "lmtp"))
        r->local = r->ip.family == 0;
    return found || r->ip.family ? KS_OK : KS_EFORMAT;
}

/* --- RFC 5322 3.3 / 4.3 dates ------------------------------------------------------------ */

static const char *const months[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};

static int month_of(const uint8_t *p, size_t n)
{
    if (n < 3)
        return 0;
    for (int i = 0; i < 12; i++)
        if (mail_iprefix((const char *)p, n, months[i]) || mail_ieq((const char *)p, 3, months[i]))
            return i + 1;
    return 0;
}

/* RFC 5322 4.3 obs-zone, plus the common "JST", "CET", "CEST", "BST". */
static bool zone_of(const uint8_t *p, size_t n, int *off_min)
{
    static const struct {
        const char *name;
        int min;
    } zones[] = {{"ut", 0},     {"utc", 0},    {"gmt", 0},    {"z", 0},      {"est", -300},
                 {"edt", -240}, {"cst", -360}, {"cdt", -300}, {"mst", -420}, {"mdt", -360},
                 {"pst", -480}, {"pdt", -420}, {"jst", 540},  {"cet", 60},   {"cest", 120},
                 {"bst", 60},   {"met", 60},   {"mest", 120}, {"eet", 120},  {"eest", 180},
                 {"kst", 540},  {"hkt", 480},  {"wib", 420},  {"ist", 330}};
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++)
        if (mail_ieq((const char *)p, n, zones[i].name)) {
            *off_min = zones[i].min;
            return true;
        }
    if (n == 1 && mail_isalpha(p[0])) { /* military zones: RFC 5322 says treat as -0000 */
        *off_min = 0;
        return true;
    }
    return false;
}

static uint64_t read_num(struct ks_cur *c, size_t *digits)
{
    uint64_t v = 0;
    *digits = 0;
    while (ks_cur_left(c) && mail_isdigit(ks_cur_peek_u8(c))) {
        uint8_t d = ks_cur_u8(c);
        if (*digits < 12)
            v = v * 10 + (uint64_t)(d - '0');
        (*digits)++;
    }
    return v;
}

int ks_mail_date_parse(const char *s, size_t len, int64_t *t_us)
{
    *t_us = 0;
    struct ks_cur c = ks_cur_make(s, len);
    int day = 0, month = 0, hour = -1, min = 0, sec = 0, zone_min = 0;
    int64_t year = -1;
    bool have_zone = false, pm = false, am = false;
    while (ks_cur_left(&c)) {
        uint8_t b = ks_cur_peek_u8(&c);
        if (b == '(') { /* comment: skip, nested */
            int depth = 0;
            while (ks_cur_left(&c)) {
                uint8_t x = ks_cur_u8(&c);
                if (x == '(')
                    depth++;
                else if (x == ')' && --depth <= 0)
                    break;
            }
            continue;
        }
        if (mail_isalpha(b)) {
            struct ks_cur w = c;
            size_t n = 0;
            while (ks_cur_left(&c) && mail_isalpha(ks_cur_peek_u8(&c))) {
                ks_cur_skip(&c, 1);
                n++;
            }
            const uint8_t *p = ks_cur_ptr(&w, n);
            int m, z;
            if (!month && (m = month_of(p, n)) != 0 && n <= 9)
                month = m;
            else if (hour >= 0 && !have_zone && zone_of(p, n, &z)) {
                zone_min = z;
                have_zone = true;
            } else if (mail_ieq((const char *)p, n, "pm"))
                pm = true;
            else if (mail_ieq((const char *)p, n, "am"))
                am = true;
            continue;
        }
        if ((b == '+' || b == '-') && hour >= 0 && !have_zone) {
            ks_cur_skip(&c, 1);
            size_t nd;
            struct ks_cur save = c;
            uint64_t v = read_num(&c, &nd);
            if (nd == 4 && v / 100 < 24 && v % 100 < 60) {
                zone_min = (int)(v / 100 * 60 + v % 100) * (b == '-' ? -1 : 1);
                have_zone = true;
            } else if (nd == 2 && ks_cur_peek_u8(&c) == ':') { /* +09:00 */
                ks_cur_skip(&c, 1);
                size_t nd2;
                uint64_t m2 = read_num(&c, &nd2);
                if (v < 24 && nd2 == 2 && m2 < 60) {
                    zone_min = (int)(v * 60 + m2) * (b == '-' ? -1 : 1);
                    have_zone = true;
                }
            } else if (nd == 0) {
                c = save;
            }
            continue;
        }
        if (mail_isdigit(b)) {
            size_t nd;
            uint64_t v = read_num(&c, &nd);
            if (ks_cur_peek_u8(&c) == ':' && hour < 0 && nd <= 2) {
                ks_cur_skip(&c, 1);
                size_t nd2;
                uint64_t m2 = read_num(&c, &nd2);
                uint64_t s2 = 0;
                if (ks_cur_peek_u8(&c) == ':') {
                    ks_cur_skip(&c, 1);
                    size_t nd3;
                    s2 = read_num(&c, &nd3);
                    if (nd3 == 0 || nd3 > 2)
                        return KS_EFORMAT;
                }
                if (nd2 == 0 || nd2 > 2 || v > 24 || m2 > 59 || s2 > 60)
                    return KS_EFORMAT;
                hour = (int)v;
                min = (int)m2;
                sec = s2 == 60 ? 59 : (int)s2;
                if (ks_cur_peek_u8(&c) == '.') { /* fraction of a second */
                    ks_cur_skip(&c, 1);
                    read_num(&c, &nd2);
                }
                continue;
            }
            if (nd >= 3 && nd <= 4 && year < 0 && (day || month)) {
                year = (int64_t)v;
                if (nd == 3)
                    year += 1900; /* RFC 5322 4.3: three-digit years + 1900 */
            } else if (nd <= 2 && !day && v >= 1 && v <= 31) {
                day = (int)v;
            } else if (nd <= 2 && year < 0 && (day || month)) {
                year = (int64_t)v + (v < 50 ? 2000 : 1900); /* RFC 5322 4.3 */
            } else if (nd > 4) {
                return KS_EFORMAT;
            }
            continue;
        }
        ks_cur_skip(&c, 1);
    }
    if (!day || !month || year < 1900 || year > 9999 || hour < 0)
        return KS_EFORMAT;
    if (pm && hour < 12)
        hour += 12;
    else if (am && hour == 12)
        hour = 0;
    if (day > ks_days_in_month(year, month))
        return KS_EFORMAT;
    int64_t days = ks_days_from_civil(year, month, day);
    int64_t secs = days * 86400 + (int64_t)hour * 3600 + min * 60 + sec - (int64_t)zone_min * 60;
    *t_us = secs * KS_USEC_PER_SEC;
    return KS_OK;
}
