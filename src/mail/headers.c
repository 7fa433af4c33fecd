/* Filter verdict headers (SpamAssassin, rspamd), SPF result headers and subject keys. */
#include "kansoku/ks_mail.h"
#include "core/cur.h"
#include "mail_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *ks_mail_verdict_name(enum ks_mail_verdict v)
{
    switch (v) {
    case KS_MAIL_HAM:
        return "ham";
    case KS_MAIL_SPAM:
        return "spam";
    default:
        return "unknown";
    }
}

static struct ks_cur trimmed(const char *s, size_t len)
{
    struct ks_cur c = ks_cur_make(s, len);
    while (ks_cur_left(&c) && mail_isspace(ks_cur_peek_u8(&c)))
        ks_cur_skip(&c, 1);
    return c;
}

/* A decimal number (sign, digits, fraction) at the cursor; NAN if none. */
static double read_number(struct ks_cur *c)
{
    char buf[32];
    size_t n = 0;
    while (ks_cur_left(c) && n + 1 < sizeof buf) {
        uint8_t b = ks_cur_peek_u8(c);
        if (!(mail_isdigit(b) || b == '.' || ((b == '-' || b == '+') && n == 0)))
            break;
        buf[n++] = (char)ks_cur_u8(c);
    }
    buf[n] = '\0';
    if (n == 0 || (n == 1 && !mail_isdigit(buf[0])))
        return NAN;
    char *end;
    double v = strtod(buf, &end);
    return end == buf ? NAN : v;
}

/* The number after "key=" in (s, len); NAN if absent. */
static double keyed_number(const char *s, size_t len, const char *key)
{
    size_t at = mail_ifind(s, len, key);
    if (at == SIZE_MAX)
        return NAN;
    size_t k = strlen(key);
    struct ks_cur c = ks_cur_make(s + at + k, len - at - k);
    return read_number(&c);
}

enum ks_mail_verdict ks_mail_verdict_header(const char *name, const char *value, size_t len,
                                            double *score)
{
    *score = NAN;
    if (!name || !value)
        return KS_MAIL_UNKNOWN;
    size_t nl = strlen(name);
    struct ks_cur c = trimmed(value, len);
    const char *v = (const char *)ks_cur_ptr(&c, 0);
    size_t vl = ks_cur_left(&c);
    if (!v)
        return KS_MAIL_UNKNOWN;
    if (mail_ieq(name, nl, "x-spam-flag") || mail_ieq(name, nl, "x-spam")) {
        if (mail_iprefix(v, vl, "yes") || mail_iprefix(v, vl, "true"))
            return KS_MAIL_SPAM;
        if (mail_iprefix(v, vl, "no") || mail_iprefix(v, vl, "false"))
            return KS_MAIL_HAM;
        return KS_MAIL_UNKNOWN;
    }
    if (mail_ieq(name, nl, "x-spam-status")) {
        /* "Yes, score=7.1 required=5.0 tests=..." or SpamAssassin 2.x "No, hits=0.1 ..." */
        *score = keyed_number(v, vl, "score=");
        if (isnan(*score))
            *score = keyed_number(v, vl, "hits=");
        if (mail_iprefix(v, vl, "yes"))
            return KS_MAIL_SPAM;
        if (mail_iprefix(v, vl, "no"))
            return KS_MAIL_HAM;
        return KS_MAIL_UNKNOWN;
    }
    if (mail_ieq(name, nl, "x-spamd-result")) {
        /* "default: True [12.30 / 15.00]; SYMBOL(1.0)[...]" */
        size_t colon = mail_ifind(v, vl, ":");
        if (colon == SIZE_MAX)
            return KS_MAIL_UNKNOWN;
        struct ks_cur r = trimmed(v + colon + 1, vl - colon - 1);
        const char *w = (const char *)ks_cur_ptr(&r, 0);
        size_t wl = ks_cur_left(&r);
        size_t br = mail_ifind(w, wl, "[");
        if (br != SIZE_MAX) {
            struct ks_cur nc = trimmed(w + br + 1, wl - br - 1);
            *score = read_number(&nc);
        }
        if (mail_iprefix(w, wl, "true"))
            return KS_MAIL_SPAM;
        if (mail_iprefix(w, wl, "false"))
            return KS_MAIL_HAM;
        return KS_MAIL_UNKNOWN;
    }
    if (mail_ieq(name, nl, "x-rspamd-action")) {
        if (mail_iprefix(v, vl, "reject") || mail_iprefix(v, vl, "add header") ||
            mail_iprefix(v, vl, "rewrite subject"))
            return KS_MAIL_SPAM;
        if (mail_iprefix(v, vl, "no action") || mail_iprefix(v, vl, "greylist"))
            return KS_MAIL_HAM;
        return KS_MAIL_UNKNOWN;
    }
    return KS_MAIL_UNKNOWN;
}

const char *ks_mail_spf_name(enum ks_mail_spf r)
{
    static const char *const names[] = {"absent", "none",     "neutral",   "pass",
                                        "fail",   "softfail", "temperror", "permerror"};
    if ((unsigned)r >= sizeof names / sizeof names[0])
        return "absent";
    return names[r];
}

static enum ks_mail_spf spf_word(const char *p, size_t n)
{
    size_t k = 0;
    while (k < n && mail_isalpha((unsigned char)p[k]))
        k++;
    static const struct {
        const char *w;
        enum ks_mail_spf r;
    } words[] = {{"pass", KS_MAIL_SPF_PASS},           {"fail", KS_MAIL_SPF_FAIL},
                 {"hardfail", KS_MAIL_SPF_FAIL},       {"softfail", KS_MAIL_SPF_SOFTFAIL},
                 {"neutral", KS_MAIL_SPF_NEUTRAL},     {"none", KS_MAIL_SPF_NONE},
                 {"temperror", KS_MAIL_SPF_TEMPERROR}, {"permerror", KS_MAIL_SPF_PERMERROR},
                 {"error", KS_MAIL_SPF_TEMPERROR},     {"unknown", KS_MAIL_SPF_PERMERROR}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (mail_ieq(p, k, words[i].w))
            return words[i].r;
    return KS_MAIL_SPF_ABSENT;
}

enum ks_mail_spf ks_mail_spf_header(const char *name, const char *value, size_t len)
{
    if (!name || !value)
        return KS_MAIL_SPF_ABSENT;
    size_t nl = strlen(name);
    struct ks_cur c = trimmed(value, len);
    const char *v = (const char *)ks_cur_ptr(&c, 0);
    size_t vl = ks_cur_left(&c);
    if (!v)
        return KS_MAIL_SPF_ABSENT;
    if (mail_ieq(name, nl, "received-spf"))
        return spf_word(v, vl); /* RFC 7208 9.1: the result comes first */
    if (mail_ieq(name, nl, "authentication-results")) {
        /* RFC 8601 2.2: "authserv-id; method=result ..." ; find "spf=" at a word start */
        size_t off = 0;
        while (off < vl) {
            size_t at = mail_ifind(v + off, vl - off, "spf=");
            if (at == SIZE_MAX)
                break;
            size_t pos = off + at;
            if (pos == 0 || mail_isspace((unsigned char)v[pos - 1]) || v[pos - 1] == ';')
                return spf_word(v + pos + 4, vl - pos - 4);
            off = pos + 4;
        }
    }
    return KS_MAIL_SPF_ABSENT;
}

/* --- subject keys ------------------------------------------------------------------------ */

static const char *const date_words[] = {
    "jan",     "feb",       "mar",      "apr",    "may",       "jun",     "jul",      "aug",
    "sep",     "sept",      "oct",      "nov",    "dec",       "january", "february", "march",
    "april",   "june",      "july",     "august", "september", "october", "november", "december",
    "mon",     "tue",       "wed",      "thu",    "fri",       "sat",     "sun",      "monday",
    "tuesday", "wednesday", "thursday", "friday", "saturday",  "sunday",  "am",       "pm",
    "gmt",     "est",       "edt",      "pst",    "pdt",       "utc",     NULL};

static bool is_date_word(const char *p, size_t n)
{
    for (const char *const *w = date_words; *w; w++)
        if (mail_ieq(p, n, *w))
            return true;
    return false;
}

/* A token that reads as random: a long run with no vowels, or upper/lower case changes
 * inside (xKqPz), or long hex. */
static bool is_random_word(const char *p, size_t n)
{
    if (n < 5)
        return false;
    size_t vowels = 0, changes = 0, upper = 0;
    for (size_t i = 0; i < n; i++) {
        int c = mail_lower((unsigned char)p[i]);
        if (strchr("aeiouy", c))
            vowels++;
        if (p[i] >= 'A' && p[i] <= 'Z')
            upper++;
        if (i > 1 && ((p[i] >= 'A' && p[i] <= 'Z') != (p[i - 1] >= 'A' && p[i - 1] <= 'Z')))
            changes++;
    }
    if (vowels == 0 && n >= 5)
        return true;
    if (changes >= 3 && upper < n)
        return true;
    return n >= 20 && vowels * 6 < n;
}

static bool is_name(const char *p, size_t n, const char *names)
{
    if (!names || n < 3)
        return false;
    const char *s = names;
    while (*s) {
        while (*s == ' ' || *s == ',' || *s == '"' || *s == '.' || *s == '<')
            s++;
        const char *e = s;
        while (*e && *e != ' ' && *e != ',' && *e != '"' && *e != '.' && *e != '<' && *e != '>')
            e++;
        if ((size_t)(e - s) == n) {
            size_t i = 0;
            while (i < n && mail_lower((unsigned char)s[i]) == mail_lower((unsigned char)p[i]))
                i++;
            if (i == n)
                return true;
        }
        s = *e ? e + 1 : e;
    }
    return false;
}

struct keybuf {
    char *out;
    size_t size, len;
    char last; /* last placeholder written ('#', '*', or 0) */
};

static void kb_put(struct keybuf *k, const char *p, size_t n, char ph)
{
    if (ph && k->last == ph)
        return; /* "# # #" (a date) collapses to one "#" */
    if (k->len > 0 && k->len + 1 < k->size)
        k->out[k->len++] = ' ';
    for (size_t i = 0; i < n && k->len + 1 < k->size; i++)
        k->out[k->len++] = p[i];
    k->last = ph;
}

/* Strips "Re:", "Fwd:", "AW:", "[list]", "*****SPAM*****" and the like from the front. */
static void strip_prefixes(const char **ps, size_t *pn)
{
    static const char *const pre[] = {"re", "fw",  "fwd",  "aw", "wg",  "sv", "vs",
                                      "tr", "rif", "antw", "r",  "odp", NULL};
    const char *s = *ps;
    size_t n = *pn;
    for (int round = 0; round < 16; round++) {
        while (n && mail_isspace((unsigned char)s[0])) {
            s++;
            n--;
        }
        bool again = false;
        if (n && (s[0] == '[' || s[0] == '*')) {
            char close = s[0] == '[' ? ']' : '*';
            size_t i = 1;
            while (i < n && s[i] == '*' && close == '*')
                i++;
            while (i < n && s[i] != close && i < 40)
                i++;
            while (i < n && s[i] == close)
                i++;
            if (i <= n && i < 48 && (close == ']' ? s[i - 1] == ']' : i > 2)) {
                s += i;
                n -= i;
                again = true;
            }
        }
        for (const char *const *p = pre; *p && !again; p++) {
            size_t k = strlen(*p);
            if (n > k && mail_iprefix(s, n, *p)) {
                size_t i = k;
                if (i < n && (s[i] == '[' || s[i] == '(')) { /* "Re[2]:" */
                    while (i < n && s[i] != ':' && i < k + 6)
                        i++;
                }
                while (i < n && s[i] == ' ')
                    i++;
                if (i < n && (s[i] == ':' || (unsigned char)s[i] == 0xef)) {
                    /* ':' or a full-width colon U+FF1A (EF BC 9A) */
                    size_t adv = s[i] == ':' ? 1
                                 : (i + 2 < n && (unsigned char)s[i + 1] == 0xbc &&
                                    (unsigned char)s[i + 2] == 0x9a)
                                     ? 3
                                     : 0;
                    if (adv) {
                        s += i + adv;
                        n -= i + adv;
                        again = true;
                    }
                }
            }
        }
        if (!again)
            break;
    }
    *ps = s;
    *pn = n;
}

size_t ks_mail_subject_key(const char *subj, size_t len, const char *names, char *out, size_t size)
{
    if (!out || size == 0)
        return 0;
    out[0] = '\0';
    if (!subj)
        return 0;
    strip_prefixes(&subj, &len);
    struct keybuf k = {out, size, 0, 0};
    char word[256];
    size_t i = 0;
    while (i < len) {
        while (i < len && (mail_isspace((unsigned char)subj[i]) || subj[i] == '_'))
            i++;
        size_t st = i;
        while (i < len && !mail_isspace((unsigned char)subj[i]) && subj[i] != '_')
            i++;
        if (i == st)
            break;
        /* the core of the word: without leading/trailing punctuation */
        size_t a = st, b = i;
        while (a < b && (unsigned char)subj[a] < 128 && !mail_isalnum((unsigned char)subj[a]))
            a++;
        while (b > a && (unsigned char)subj[b - 1] < 128 &&
               !mail_isalnum((unsigned char)subj[b - 1]))
            b--;
        if (a == b) {
            /* only punctuation ("-", "!!!", "#12"?) */
            continue;
        }
        size_t n = b - a;
        const char *p = subj + a;
        size_t digits = 0, alpha = 0, other = 0;
        for (size_t j = 0; j < n; j++) {
            unsigned char ch = (unsigned char)p[j];
            if (mail_isdigit(ch))
                digits++;
            else if (mail_isalpha(ch))
                alpha++;
            else if (ch >= 128)
                other++;
        }
        if (digits && !alpha && !other) {
            kb_put(&k, "#", 1, '#');
        } else if (is_date_word(p, n)) {
            kb_put(&k, "#", 1, '#');
        } else if (digits && alpha && !other &&
                   (digits >= 2 && alpha >= 2 && !(n <= 4 && mail_isdigit((unsigned char)p[0])))) {
            kb_put(&k, "*", 1, '*');
        } else if (digits && !other && n <= 6 && mail_isdigit((unsigned char)p[0])) {
            kb_put(&k, "#", 1, '#'); /* 1st, 10th, 3pm, 2nd */
        } else if (!digits && !other && (is_random_word(p, n) || is_name(p, n, names))) {
            kb_put(&k, "*", 1, '*');
        } else {
            /* keep, lowercased, digit runs as '#' */
            size_t w = 0;
            for (size_t j = 0; j < n && w < sizeof word; j++) {
                unsigned char ch = (unsigned char)p[j];
                if (mail_isdigit(ch)) {
                    if (w == 0 || word[w - 1] != '#')
                        word[w++] = '#';
                } else {
                    word[w++] = (char)mail_lower(ch);
                }
            }
            /* do not cut a UTF-8 sequence */
            while (w > 0 && w == sizeof word && ((unsigned char)word[w - 1] & 0xc0) == 0x80)
                w--;
            kb_put(&k, word, w, 0);
        }
    }
    /* the output may have been cut inside a UTF-8 sequence */
    while (k.len > 0 && ((unsigned char)out[k.len - 1] & 0x80)) {
        size_t s = k.len - 1;
        while (s > 0 && ((unsigned char)out[s] & 0xc0) == 0x80)
            s--;
        unsigned char lead = (unsigned char)out[s];
        size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
        if (k.len - s >= need)
            break;
        k.len = s;
    }
    out[k.len] = '\0';
    return k.len;
}
