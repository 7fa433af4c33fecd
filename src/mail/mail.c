/* The analysis of one message: GMime 3 parses the MIME structure; headers give the verdict,
 * the sender, the time and the SPF result; every part is walked (without recursion, bounded
 * in depth and count), decoded, converted to UTF-8 and searched for URLs; attachments are
 * typed, hashed and opened when they are archives. */
#include "kansoku/ks_geo.h"
#include "kansoku/ks_mail.h"
#include "kansoku/ks_samples.h"
#include "kansoku/ks_spf.h"
#include "attach.h"
#include "mail_int.h"
#include "walker.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <iconv.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HOPS 64
#define BODY_MAX (1u << 20)
#define ARENA_LIMIT (16u << 20)
#define MAX_ATT 64
#define TOO_COMPLEX 4096 /* multipart headers: beyond, GMime is not given the body */
#define ICONV_CACHE 16

void ks_mail_config_default(struct ks_mail_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->want = KS_MAIL_WANT_ALL;
    cfg->verdict_headers = true;
    cfg->max_parts = 1024;
    cfg->max_depth = 128;
    cfg->max_urls = 1024;
    cfg->max_archive = 8u << 20;
}

struct ks_mail {
    struct ks_mail_config cfg;
    const struct ks_diag *diag;
    uint32_t reported;
    struct ks_mail_stats st;
    GMimeParserOptions *opts;
    struct mail_attach *att;
    struct mail_arena arena;
    struct ks_mail_msg msg;
    /* per message */
    struct ks_mail_url *urls;
    size_t nurls, urls_cap;
    struct ks_mail_attachment atts[MAX_ATT];
    size_t natt;
    char *body;
    size_t blen;
    uint64_t *seen;
    size_t seen_cap;
    uint16_t seen_gen;
    unsigned warn;   /* KS_MAIL_PROB_* from GMime's warnings */
    char rbound[72]; /* the boundary recovered from the body ("" if none) */
    char fuzzy[KS_SAMPLES_SSDEEP_MAX];
    char subject_key[512];
    /* the hand-written walker (walker.c) and its own parser options */
    GMimeParserOptions *wopts;
    struct mail_walk walk;
    struct mail_hdr *ghdrs; /* the GMime path's header fields, as slices */
    size_t ghcap;
    /* charset conversion: converters cached per charset, output buffer reused */
    struct conv {
        char name[48];
        iconv_t cd;             /* (iconv_t)-1: cannot convert from that charset */
        bool sb_tried;          /* single-byte table built (or found impossible) */
        unsigned char (*sb)[4]; /* per byte: UTF-8 length (0: refused), bytes */
    } conv[ICONV_CACHE];
    size_t nconv, conv_next;
    char *ubuf;
    size_t ucap;
};

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_init(void)
{
    g_mime_init();
}

static void on_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer user)
{
    struct ks_mail *m = user;
    (void)offset;
    (void)item;
    switch (code) {
    case GMIME_WARN_MALFORMED_MULTIPART:
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
    case GMIME_WARN_TRUNCATED_MESSAGE:
        m->warn |= KS_MAIL_PROB_BOUNDARY;
        break;
    case GMIME_CRIT_NESTING_OVERFLOW:
        m->warn |= KS_MAIL_PROB_DEPTH;
        break;
    default:
        break;
    }
}

int ks_mail_new(const struct ks_mail_config *cfg, const struct ks_diag *diag, struct ks_mail **mp)
{
    *mp = NULL;
    pthread_once(&gmime_once, gmime_init);
    struct ks_mail *m = calloc(1, sizeof *m);
    if (!m)
        return KS_ENOMEM;
    if (cfg)
        m->cfg = *cfg;
    else
        ks_mail_config_default(&m->cfg);
    if (!m->cfg.max_parts)
        m->cfg.max_parts = 1024;
    if (!m->cfg.max_depth)
        m->cfg.max_depth = 128;
    if (!m->cfg.max_urls)
        m->cfg.max_urls = 1024;
    if (!m->cfg.max_archive)
        m->cfg.max_archive = 8u << 20;
    m->diag = diag;
    mail_arena_init(&m->arena, ARENA_LIMIT);
    m->opts = g_mime_parser_options_new();
    /* 8-bit header bytes with no declared charset: UTF-8 first, then the CJK encodings of
     * the spam this module sees, then Latin-1, which always succeeds. */
    static const char *fallback[] = {"UTF-8", "CP932", "EUC-JP", "GB18030", "ISO-8859-1", NULL};
    g_mime_parser_options_set_fallback_charsets(m->opts, fallback);
    g_mime_parser_options_set_rfc2047_compliance_mode(m->opts, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_address_compliance_mode(m->opts, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_parameter_compliance_mode(m->opts, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_allow_addresses_without_domain(m->opts, TRUE);
    g_mime_parser_options_set_warning_callback(m->opts, on_warning, m);
    /* the walker's value parsers run with the same options and a warning callback of its own */
    m->wopts = g_mime_parser_options_new();
    if (m->wopts) {
        g_mime_parser_options_set_fallback_charsets(m->wopts, fallback);
        g_mime_parser_options_set_rfc2047_compliance_mode(m->wopts, GMIME_RFC_COMPLIANCE_LOOSE);
        g_mime_parser_options_set_address_compliance_mode(m->wopts, GMIME_RFC_COMPLIANCE_LOOSE);
        g_mime_parser_options_set_parameter_compliance_mode(m->wopts, GMIME_RFC_COMPLIANCE_LOOSE);
        g_mime_parser_options_set_allow_addresses_without_domain(m->wopts, TRUE);
        mail_walk_init(&m->walk, m->wopts);
    }
    m->urls_cap = m->cfg.max_urls;
    m->urls = calloc(m->urls_cap, sizeof *m->urls);
    m->body = malloc(BODY_MAX);
    size_t cap = 64;
    while (cap < (size_t)m->cfg.max_urls * 2)
        cap *= 2;
    m->seen = calloc(cap, sizeof *m->seen);
    m->seen_cap = cap;
    int rc = mail_attach_new(m->cfg.memo, &m->att);
    if (!m->opts || !m->wopts || !m->urls || !m->body || !m->seen || rc != KS_OK) {
        ks_mail_free(m);
        return KS_ENOMEM;
    }
    *mp = m;
    return KS_OK;
}

void ks_mail_free(struct ks_mail *m)
{
    if (!m)
        return;
    if (m->opts)
        g_mime_parser_options_free(m->opts);
    mail_walk_fini(&m->walk);
    if (m->wopts)
        g_mime_parser_options_free(m->wopts);
    for (size_t i = 0; i < m->nconv; i++) {
        if (m->conv[i].cd != (iconv_t)-1)
            iconv_close(m->conv[i].cd);
        free(m->conv[i].sb);
    }
    free(m->ubuf);
    free(m->ghdrs);
    mail_attach_free(m->att);
    mail_arena_fini(&m->arena);
    free(m->urls);
    free(m->body);
    free(m->seen);
    free(m);
}

void ks_mail_stats(const struct ks_mail *m, struct ks_mail_stats *st)
{
    *st = m->st;
}

static void report(struct ks_mail *m, const struct ks_mail_raw *raw, int err, const char *fmt, ...)
    KS_PRINTF(4, 5);
static void report(struct ks_mail *m, const struct ks_mail_raw *raw, int err, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ks_diag_report(m->diag, &m->reported, "mail", &raw->loc, err, "%s", buf);
}

static const char *astr(struct ks_mail *m, const char *s)
{
    if (!s)
        return "";
    char *p = mail_arena_strndup(&m->arena, s, strlen(s));
    return p ? p : "";
}

/* --- sender ------------------------------------------------------------------------------ */

static bool special_addr(const struct ks_addr *a)
{
    if (a->family == 4) {
        uint32_t v = ks_addr_v4(a);
        return (v >> 24) == 10 || (v >> 24) == 127 || (v >> 24) == 0 ||
               (v >> 20) == (172u << 4 | 1) || (v >> 16) == (192u << 8 | 168) ||
               (v >> 16) == (169u << 8 | 254) || (v >> 22) == (100u << 2 | 1) || (v >> 28) >= 14;
    }
    if (a->family == 6) {
        static const uint8_t loop[16] = {[15] = 1};
        return memcmp(a->b, loop, 16) == 0 || (a->b[0] & 0xfe) == 0xfc ||
               (a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80) || a->b[0] == 0xff;
    }
    return true;
}

static bool trusted(const struct ks_mail *m, const struct ks_addr *a)
{
    if (special_addr(a))
        return true;
    return m->cfg.trusted && ks_prefix_set_lookup(m->cfg.trusted, a, NULL, NULL);
}

/* --- text -------------------------------------------------------------------------------- */

static bool ascii_or_utf8_name(const char *cs)
{
    return !cs || g_ascii_strcasecmp(cs, "us-ascii") == 0 || g_ascii_strcasecmp(cs, "ascii") == 0 ||
           g_ascii_strcasecmp(cs, "utf-8") == 0 || g_ascii_strcasecmp(cs, "utf8") == 0;
}

/* The converter from a charset to UTF-8, opened once per analyzer (g_convert opens one per
 * call); NULL if iconv does not know the charset or the name is too long to cache (*cd is
 * then a converter to close, or (iconv_t)-1). */
static struct conv *converter(struct ks_mail *m, const char *cs, iconv_t *cd)
{
    *cd = (iconv_t)-1;
    for (size_t i = 0; i < m->nconv; i++)
        if (strcmp(m->conv[i].name, cs) == 0)
            return m->conv[i].cd == (iconv_t)-1 ? NULL : &m->conv[i];
    iconv_t c = iconv_open("UTF-8", cs);
    if (strlen(cs) >= sizeof m->conv[0].name) {
        *cd = c; /* not cached: the caller closes it */
        return NULL;
    }
    size_t k;
    if (m->nconv < ICONV_CACHE) {
        k = m->nconv++;
    } else {
        k = m->conv_next++ % ICONV_CACHE;
        if (m->conv[k].cd != (iconv_t)-1)
            iconv_close(m->conv[k].cd);
        free(m->conv[k].sb);
    }
    struct conv *e = &m->conv[k];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", cs);
    e->cd = c;
    return c == (iconv_t)-1 ? NULL : e;
}

/* Single-byte charsets (ISO 8859, Windows code pages, KOI8): a byte table built once from
 * iconv itself, one conversion per byte value, so that a table lookup gives what iconv gives
 * (a byte iconv refuses or cannot map reversibly fails the whole text, as in g_convert). */
static bool single_byte(const char *cs)
{
    return g_ascii_strncasecmp(cs, "iso-8859-", 9) == 0 ||
           g_ascii_strncasecmp(cs, "iso8859-", 8) == 0 ||
           g_ascii_strncasecmp(cs, "cp125", 5) == 0 ||
           g_ascii_strncasecmp(cs, "windows-125", 11) == 0 ||
           g_ascii_strcasecmp(cs, "koi8-r") == 0 || g_ascii_strcasecmp(cs, "koi8-u") == 0;
}

static void sb_build(struct conv *e)
{
    e->sb_tried = true;
    unsigned char(*t)[4] = calloc(256, sizeof *t);
    if (!t)
        return;
    for (unsigned b = 0; b < 256; b++) {
        char in = (char)b, out[8];
        char *ip = &in, *op = out;
        size_t il = 1, ol = sizeof out;
        iconv(e->cd, NULL, NULL, NULL, NULL);
        size_t r = iconv(e->cd, &ip, &il, &op, &ol);
        size_t n = (size_t)(op - out);
        if (r == (size_t)-1 || r > 0 || il != 0 || n == 0 || n > 3)
            continue; /* refused: t[b][0] = 0 */
        char *fp = op;
        size_t fl = ol;
        if (iconv(e->cd, NULL, NULL, &fp, &fl) == (size_t)-1 || fp != op) {
            free(t);
            return; /* a state to flush: not a simple single-byte charset */
        }
        t[b][0] = (unsigned char)n;
        memcpy(&t[b][1], out, n);
    }
    e->sb = t;
}

static bool ubuf_reserve(struct ks_mail *m, size_t n)
{
    if (n <= m->ucap)
        return true;
    size_t cap = m->ucap ? m->ucap : 4096;
    while (cap < n)
        cap *= 2;
    char *b = realloc(m->ubuf, cap);
    if (!b)
        return false;
    m->ubuf = b;
    m->ucap = cap;
    return true;
}

/* g_convert(p, n, "UTF-8", cs) into m->ubuf, with its rules: any invalid, unrepresentable or
 * incomplete input fails the whole conversion; then the result must be valid UTF-8. */
static const char *try_convert(struct ks_mail *m, const char *p, size_t n, const char *cs,
                               size_t *outlen)
{
    iconv_t tmp;
    struct conv *e = converter(m, cs, &tmp);
    iconv_t cd = e ? e->cd : tmp;
    if (cd == (iconv_t)-1)
        return NULL;
    bool cached = e != NULL;
    bool ok = false;
    size_t used = 0;
    if (e && !e->sb_tried && single_byte(cs))
        sb_build(e);
    if (e && e->sb) {
        if (!ubuf_reserve(m, 3 * n + 1))
            return NULL;
        const unsigned char *ip = (const unsigned char *)p;
        unsigned char *op = (unsigned char *)m->ubuf;
        for (size_t i = 0; i < n; i++) {
            const unsigned char *c = e->sb[ip[i]];
            if (!c[0])
                return NULL;
            op[0] = c[1];
            op[1] = c[2];
            op[2] = c[3];
            op += c[0];
        }
        used = (size_t)((char *)op - m->ubuf);
        if (!mail_utf8_valid(m->ubuf, used))
            return NULL;
        *outlen = used;
        return m->ubuf;
    }
    iconv(cd, NULL, NULL, NULL, NULL);
    if (!ubuf_reserve(m, n + n / 2 + 16))
        goto out;
    char *in = (char *)p;
    size_t inleft = n;
    bool flushing = false;
    for (;;) {
        char *out = m->ubuf + used;
        size_t outleft = m->ucap - used - 1;
        size_t r = flushing ? iconv(cd, NULL, NULL, &out, &outleft)
                            : iconv(cd, &in, &inleft, &out, &outleft);
        used = (size_t)(out - m->ubuf);
        if (r == (size_t)-1) {
            if (errno == E2BIG) {
                if (!ubuf_reserve(m, m->ucap * 2))
                    goto out;
                continue;
            }
            if (errno == EINVAL && !flushing)
                break; /* incomplete input: fails below */
            goto out;
        }
        if (r > 0)
            goto out; /* unrepresentable characters */
        if (flushing)
            break;
        flushing = true;
    }
    ok = inleft == 0;
out:
    if (!cached)
        iconv_close(cd);
    if (!ok || !mail_utf8_valid(m->ubuf, used))
        return NULL;
    *outlen = used;
    return m->ubuf;
}

/* Converts decoded part bytes to UTF-8 (*outlen; the input itself, or m->ubuf), trying the
 * declared charset, then its supersets (CP932 for Shift_JIS, ISO-2022-JP-2/3, EUC-JP-MS,
 * GB18030 for GB2312), then detection by content. *lied is set when the declared charset did
 * not fit. */
static const char *to_utf8(struct ks_mail *m, const char *p, size_t n, const char *cs,
                           size_t *outlen, bool *lied)
{
    *lied = false;
    const char *r;
    if (n == 0 || !p) {
        *outlen = 0;
        return "";
    }
    if (ascii_or_utf8_name(cs) && mail_utf8_valid(p, n)) {
        *outlen = n;
        return p;
    }
    if (!ascii_or_utf8_name(cs)) {
        const char *name = g_mime_charset_iconv_name(cs);
        if (name && (r = try_convert(m, p, n, name, outlen)) != NULL)
            return r;
        const char *super = NULL, *super2 = NULL;
        if (g_ascii_strncasecmp(cs, "iso-2022-jp", 11) == 0) {
            super = "ISO-2022-JP-2";
            super2 = "ISO-2022-JP-3";
        } else if (g_ascii_strcasecmp(cs, "shift_jis") == 0 ||
                   g_ascii_strcasecmp(cs, "sjis") == 0 || g_ascii_strcasecmp(cs, "x-sjis") == 0 ||
                   g_ascii_strcasecmp(cs, "shift-jis") == 0) {
            super = "CP932";
        } else if (g_ascii_strcasecmp(cs, "euc-jp") == 0) {
            super = "EUC-JP-MS";
        } else if (g_ascii_strcasecmp(cs, "gb2312") == 0 || g_ascii_strcasecmp(cs, "gbk") == 0) {
            super = "GB18030";
        }
        if (super && (r = try_convert(m, p, n, super, outlen)) != NULL)
            return r;
        if (super2 && (r = try_convert(m, p, n, super2, outlen)) != NULL)
            return r;
    }
    *lied = true;
    if (mail_utf8_valid(p, n)) {
        *outlen = n;
        return p;
    }
    if (memchr(p, 0x1b, n) && (r = try_convert(m, p, n, "ISO-2022-JP-2", outlen)) != NULL)
        return r;
    static const char *const guesses[] = {"CP932", "EUC-JP", "GB18030", NULL};
    for (const char *const *g = guesses; *g; g++)
        if ((r = try_convert(m, p, n, *g, outlen)) != NULL)
            return r;
    char *v = g_utf8_make_valid(p, (gssize)n);
    size_t vl = v ? strlen(v) : 0;
    if (!v || !ubuf_reserve(m, vl + 1)) {
        g_free(v);
        *outlen = 0;
        return "";
    }
    memcpy(m->ubuf, v, vl);
    g_free(v);
    *outlen = vl;
    return m->ubuf;
}

/* --- URLs -------------------------------------------------------------------------------- */

static int on_url(void *user, const struct ks_mail_url *u)
{
    struct ks_mail *m = user;
    if (m->nurls >= m->urls_cap)
        return 1;
    struct ks_mail_url *d = &m->urls[m->nurls];
    d->url = astr(m, u->url);
    d->where = u->where; /* string literals */
    d->domain = astr(m, u->domain);
    d->shown = u->shown[0] ? astr(m, u->shown) : "";
    d->flags = u->flags;
    m->nurls++;
    return 0;
}

static void urls_from(struct ks_mail *m, struct mail_urlx *x, const char *s, size_t n, bool html,
                      const char *where)
{
    if (html)
        mail_urlx_html_tree(x, s, n, m->cfg.html_tree);
    else
        mail_urlx_text(x, s, n, where);
}

static void body_append(struct ks_mail *m, const char *s, size_t n)
{
    size_t k = BODY_MAX - m->blen;
    if (n > k)
        n = k;
    memcpy(m->body + m->blen, s, n);
    m->blen += n;
}

/* The antivirus verdict of an attachment (ClamAV through the sample registry, which opens
 * archives and documents itself). An empty attachment is clean without a scan. */
static pthread_mutex_t av_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t spf_lock = PTHREAD_MUTEX_INITIALIZER;

static void av_scan(struct ks_mail *m, struct ks_mail_attachment *a, const char *data, size_t len)
{
    char name[128] = "";
    /* a content scanned before (by this engine) keeps its verdict: a campaign's copies are
     * scanned once */
    int rc = len ? mail_attach_av_get(m->att, a, m->cfg.av, name, sizeof name) : 0;
    if (rc < 0) {
        /* the registry (and its counters) may be shared by analyzers on several threads */
        pthread_mutex_lock(&av_lock);
        rc = ks_samples_av_scan_mem(m->cfg.av, data, len, a->name[0] ? a->name : "attachment", name,
                                    sizeof name);
        pthread_mutex_unlock(&av_lock);
        if (rc == 0 || rc == 1)
            mail_attach_av_put(m->att, a, m->cfg.av, rc == 1, rc == 1 ? name : "");
    }
    if (rc == 0 || rc == 1) {
        a->av_scanned = true;
        m->st.av_scanned++;
        if (rc == 1) {
            a->av = astr(m, name);
            m->st.av_detected++;
        }
    } else if (rc != KS_ENOTFOUND) {
        m->st.av_errors++;
    }
    a->category = ks_mail_att_category(rc == 1, a->flags);
}

/* The decoded bytes of a leaf part (transfer encoding undone). Caller unrefs *ba's stream. */
static GMimeStream *decode_part(GMimePart *part)
{
    GMimeDataWrapper *w = g_mime_part_get_content(part);
    if (!w)
        return NULL;
    GMimeStream *mem = g_mime_stream_mem_new();
    if (!mem)
        return NULL;
    g_mime_data_wrapper_write_to_stream(w, mem);
    return mem;
}

/* What the analysis of a leaf needs: its content type, file name, disposition, charset and
 * decoded bytes (from GMime's objects or the walker's). */
struct leaf_info {
    const char *type, *sub, *fname, *charset;
    bool is_attachment; /* Content-Disposition: attachment */
};

static void leaf_common(struct ks_mail *m, const struct leaf_info *li, const char *data, size_t len,
                        struct mail_urlx *x)
{
    const char *type = li->type, *sub = li->sub, *fname = li->fname;
    bool is_text = type && g_ascii_strcasecmp(type, "text") == 0;
    bool is_html = is_text && sub && g_ascii_strcasecmp(sub, "html") == 0;
    bool attachment = li->is_attachment || (fname && !is_text) || !is_text;
    if (attachment && (m->cfg.want & KS_MAIL_WANT_ATTACHMENTS) && m->natt < MAX_ATT) {
        char mime[128];
        snprintf(mime, sizeof mime, "%s/%s", type ? type : "?", sub ? sub : "?");
        struct ks_mail_attachment *a = &m->atts[m->natt++];
        mail_attach_analyse(m->att, (const uint8_t *)data, len, astr(m, fname), astr(m, mime),
                            &m->arena, m->cfg.max_archive, a);
        if (m->cfg.av)
            av_scan(m, a, data, len);
    }
    /* only text that something reads is converted: URL extraction, the body's fuzzy hash */
    bool need_text =
        (m->cfg.want & KS_MAIL_WANT_URLS) || (!attachment && (m->cfg.want & KS_MAIL_WANT_FUZZY));
    if (is_text || (attachment && len < (1u << 20) && fname &&
                    (g_str_has_suffix(fname, ".txt") || g_str_has_suffix(fname, ".htm") ||
                     g_str_has_suffix(fname, ".html")))) {
        if (!need_text) {
            /* the charset problem is still counted */
            if (len > 0 && !(m->msg.problems & KS_MAIL_PROB_CHARSET)) {
                size_t ul = 0;
                bool lied = false;
                to_utf8(m, data, len, li->charset, &ul, &lied);
                if (lied)
                    m->msg.problems |= KS_MAIL_PROB_CHARSET;
            }
            return;
        }
        size_t ul = 0;
        bool lied = false;
        const char *u = to_utf8(m, data, len, li->charset, &ul, &lied);
        if (lied && len > 0)
            m->msg.problems |= KS_MAIL_PROB_CHARSET;
        bool html =
            is_html ||
            (fname && (g_str_has_suffix(fname, ".htm") || g_str_has_suffix(fname, ".html")));
        if (m->cfg.want & KS_MAIL_WANT_URLS)
            urls_from(m, x, u, ul, html, attachment ? "attachment:text" : "text");
        if (!attachment && (m->cfg.want & KS_MAIL_WANT_FUZZY))
            body_append(m, u, ul);
    }
}

static void leaf(struct ks_mail *m, GMimeObject *obj, struct mail_urlx *x, uint32_t *parts)
{
    GMimePart *part = GMIME_PART(obj);
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    struct leaf_info li = {
        .type = ct ? g_mime_content_type_get_media_type(ct) : "text",
        .sub = ct ? g_mime_content_type_get_media_subtype(ct) : "plain",
        .fname = g_mime_part_get_filename(part),
        .charset = g_mime_object_get_content_type_parameter(obj, "charset"),
        .is_attachment = g_mime_part_is_attachment(part),
    };
    (*parts)++;
    GMimeStream *mem = decode_part(part);
    if (!mem)
        return;
    GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    const char *data = ba ? (const char *)ba->data : "";
    size_t len = ba ? ba->len : 0;
    leaf_common(m, &li, data, len, x);
    g_object_unref(mem);
}

/* The walker's tree, visited as walk() visits GMime's: the same order, limits and counts. */
static void walk_fast(struct ks_mail *m, const struct ks_mail_raw *raw, struct mail_urlx *x)
{
    struct mail_walk *w = &m->walk;
    uint32_t parts = 0;
    size_t i = 0;
    while (i < w->nnodes) {
        const struct mail_wnode *d = &w->nodes[i];
        if (d->depth > m->msg.depth)
            m->msg.depth = d->depth;
        if (parts >= m->cfg.max_parts) {
            m->msg.problems |= KS_MAIL_PROB_PARTS;
            break;
        }
        if (d->kind == MAIL_WNODE_MULTIPART) {
            parts++;
            if (d->no_boundary)
                m->msg.problems |= KS_MAIL_PROB_BOUNDARY;
            if (d->depth + 1 > m->cfg.max_depth) {
                m->msg.problems |= KS_MAIL_PROB_DEPTH;
                i = d->end;
                continue;
            }
            i++;
            continue;
        }
        struct leaf_info li = {
            .type = g_mime_content_type_get_media_type(d->ct),
            .sub = g_mime_content_type_get_media_subtype(d->ct),
            .charset = g_mime_content_type_get_parameter(d->ct, "charset"),
            .is_attachment = d->cd && g_mime_content_disposition_is_attachment(d->cd),
        };
        li.fname = d->cd ? g_mime_content_disposition_get_parameter(d->cd, "filename") : NULL;
        if (!li.fname)
            li.fname = g_mime_content_type_get_parameter(d->ct, "name");
        parts++;
        i++;
        /* a part that is neither text nor an attachment to analyse is not decoded */
        bool textish = (li.type && g_ascii_strcasecmp(li.type, "text") == 0) ||
                       (li.fname &&
                        (g_str_has_suffix(li.fname, ".txt") || g_str_has_suffix(li.fname, ".htm") ||
                         g_str_has_suffix(li.fname, ".html")));
        if (!textish && !(m->cfg.want & KS_MAIL_WANT_ATTACHMENTS))
            continue;
        size_t len;
        const char *data = mail_walk_decode(w, d, (const char *)raw->data, &len);
        leaf_common(m, &li, data, len, x);
    }
    m->msg.parts = parts;
}

/* Issue #7 on GMime's path (walker.c does the same): the message's multipart whose boundary
 * is missing or never used as a delimiter gets its body parsed again by GMime, as the body of
 * a part whose Content-Type carries the boundary found there (mail_boundary_guess), and takes
 * the parts found. */
static void recover_gmime(struct ks_mail *m, GMimeMultipart *mp, const char *p, size_t n)
{
    size_t body = 0, xoff = 0, xl = 0;
    if (!mail_walk_body_start(p, n, &body) ||
        !mail_boundary_guess(p + body, n - body, g_mime_multipart_get_boundary(mp), &xoff, &xl))
        return;
    /* the same subtype (multipart/digest: parts default to message/rfc822), when a token */
    GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(mp));
    const char *sub = ct ? g_mime_content_type_get_media_subtype(ct) : NULL;
    for (const char *c = sub; c && *c; c++)
        if (!mail_isalnum((unsigned char)*c) && !strchr("-+._", *c))
            sub = NULL;
    GString *g = g_string_new("Content-Type: multipart/");
    g_string_append(g, sub && *sub ? sub : "mixed");
    g_string_append(g, "; boundary=\"");
    g_string_append_len(g, p + body + xoff, (gssize)xl);
    g_string_append(g, "\"\n\n");
    g_string_append_len(g, p + body, (gssize)(n - body));
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(g->str, g->len);
    g_string_free(g, TRUE);
    GMimeParser *parser = stream ? g_mime_parser_new_with_stream(stream) : NULL;
    GMimeObject *o = parser ? g_mime_parser_construct_part(parser, m->opts) : NULL;
    const char *nb =
        o && GMIME_IS_MULTIPART(o) ? g_mime_multipart_get_boundary(GMIME_MULTIPART(o)) : NULL;
    if (nb && strlen(nb) == xl && memcmp(nb, p + body + xoff, xl) == 0) {
        GMimeMultipart *r = GMIME_MULTIPART(o);
        for (int i = 0; i < g_mime_multipart_get_count(r); i++)
            g_mime_multipart_add(mp, g_mime_multipart_get_part(r, i));
        memcpy(m->rbound, nb, xl + 1);
        m->warn |= KS_MAIL_PROB_BOUNDARY;
    }
    if (o)
        g_object_unref(o);
    if (parser)
        g_object_unref(parser);
    if (stream)
        g_object_unref(stream);
}

/* Walks the MIME tree with an explicit stack (msg: the message, for recover_gmime). */
static void walk(struct ks_mail *m, GMimeObject *root, struct mail_urlx *x, const char *msg,
                 size_t msglen)
{
    struct item {
        GMimeObject *o;
        uint32_t depth;
    };
    size_t cap = 256, n = 0;
    struct item *stack = malloc(cap * sizeof *stack);
    if (!stack)
        return;
    stack[n++] = (struct item){root, 0};
    uint32_t parts = 0;
    while (n > 0) {
        struct item it = stack[--n];
        if (!it.o)
            continue;
        if (it.depth > m->msg.depth)
            m->msg.depth = it.depth;
        if (parts >= m->cfg.max_parts) {
            m->msg.problems |= KS_MAIL_PROB_PARTS;
            break;
        }
        if (GMIME_IS_MULTIPART(it.o)) {
            GMimeMultipart *mp = GMIME_MULTIPART(it.o);
            parts++;
            if (!g_mime_multipart_get_boundary(mp))
                m->msg.problems |= KS_MAIL_PROB_BOUNDARY;
            if (it.o == root && g_mime_multipart_get_count(mp) == 0)
                recover_gmime(m, mp, msg, msglen);
            if (it.depth + 1 > m->cfg.max_depth) {
                m->msg.problems |= KS_MAIL_PROB_DEPTH;
                continue;
            }
            int count = g_mime_multipart_get_count(mp);
            /* pushed in reverse so that parts are visited in order */
            for (int i = count - 1; i >= 0; i--) {
                if (n == cap) {
                    if (cap >= 65536)
                        break;
                    struct item *ns = realloc(stack, cap * 2 * sizeof *stack);
                    if (!ns)
                        break;
                    stack = ns;
                    cap *= 2;
                }
                stack[n++] = (struct item){g_mime_multipart_get_part(mp, i), it.depth + 1};
            }
        } else if (GMIME_IS_MESSAGE_PART(it.o)) {
            GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(it.o));
            parts++;
            if (inner && it.depth + 1 <= m->cfg.max_depth && n < cap)
                stack[n++] = (struct item){g_mime_message_get_mime_part(inner), it.depth + 1};
        } else if (GMIME_IS_PART(it.o)) {
            leaf(m, it.o, x, &parts);
        }
    }
    m->msg.parts = parts;
    free(stack);
}

/* --- headers ----------------------------------------------------------------------------- */

/* The address of a Return-Path: value (RFC 5322 3.6.7: "<addr>", "<>" for the null sender;
 * bare addresses are accepted). */
static const char *return_path(struct ks_mail *m, const char *v, size_t n)
{
    const char *lt = memchr(v, '<', n);
    if (lt) {
        n -= (size_t)(lt + 1 - v);
        v = lt + 1;
        const char *gt = memchr(v, '>', n);
        if (gt)
            n = (size_t)(gt - v);
    }
    while (n && mail_isspace((unsigned char)*v)) {
        v++;
        n--;
    }
    while (n && mail_isspace((unsigned char)v[n - 1]))
        n--;
    if (n == 0 || n > 320 || memchr(v, ' ', n))
        return "";
    char *p = mail_arena_strndup(&m->arena, v, n);
    return p ? p : "";
}

/* RFC 7208 check_host() for a message that carries no result: the client is the sender hop,
 * the HELO the name it gave there, the MAIL FROM the Return-Path (the null sender: the HELO
 * identity, RFC 7208 2.4). The result is stored like a header's. */
static void spf_check(struct ks_mail *m)
{
    if (!m->msg.sender.family) {
        m->st.spf_skipped++;
        return;
    }
    char ip[64];
    ks_addr_format(&m->msg.sender, ip, sizeof ip);
    struct ks_spf_request req = {.ip = ip,
                                 .sender = m->msg.return_path,
                                 .helo = m->msg.sender_helo,
                                 .identity = KS_SPF_MAILFROM};
    struct ks_spf_outcome out;
    pthread_mutex_lock(&spf_lock); /* the checker may be shared by analyzers on threads */
    int rc = ks_spf_check(m->cfg.spf, &req, &out);
    pthread_mutex_unlock(&spf_lock);
    if (rc != KS_OK) {
        m->st.spf_skipped++;
        return;
    }
    /* enum ks_mail_spf is enum ks_spf_result shifted by one (0 = no result) */
    m->msg.spf = (enum ks_mail_spf)(out.result + 1);
    m->msg.spf_checked = true;
    m->st.spf_checked++;
    ks_spf_outcome_fini(&out);
}

/* The message's header fields (Content-* excluded), in order: names and raw values. */
static void read_headers(struct ks_mail *m, const struct mail_hdr *hs, size_t count,
                         const struct ks_mail_raw *raw)
{
    struct ks_mail_received hop;
    bool have_sender = false, verdict_done = false, spf_done = false;
    int64_t first_received = 0, date = 0;
    bool have_date = false;
    uint32_t hops = 0;
    bool full = m->cfg.want & KS_MAIL_WANT_HEADERS;
    for (size_t i = 0; i < count; i++) {
        if (!full && !mail_iprefix(hs[i].name, hs[i].nlen, "x-spam") &&
            !mail_ieq(hs[i].name, hs[i].nlen, "x-rspamd-action"))
            continue; /* only the verdict */
        char name[80];
        size_t nl = hs[i].nlen < sizeof name ? hs[i].nlen : sizeof name - 1;
        memcpy(name, hs[i].name, nl);
        name[nl] = '\0';
        const char *rawv = hs[i].val;
        size_t rl = hs[i].vlen;
        if (g_ascii_strcasecmp(name, "received") == 0) {
            if (hops++ >= MAX_HOPS)
                continue;
            ks_mail_received_parse(rawv, rl, &hop);
            if (!first_received && hop.time_us)
                first_received = hop.time_us;
            if (!have_sender && hop.ip.family && !trusted(m, &hop.ip)) {
                m->msg.sender = hop.ip;
                m->msg.sender_helo = astr(m, hop.helo);
                have_sender = true;
            }
        } else if (g_ascii_strcasecmp(name, "return-path") == 0 && !m->msg.return_path[0]) {
            m->msg.return_path = return_path(m, rawv, rl);
        } else if (g_ascii_strcasecmp(name, "date") == 0 && !have_date) {
            have_date = ks_mail_date_parse(rawv, rl, &date) == KS_OK;
        } else if (!spf_done && (g_ascii_strcasecmp(name, "received-spf") == 0 ||
                                 g_ascii_strcasecmp(name, "authentication-results") == 0)) {
            enum ks_mail_spf r = ks_mail_spf_header(name, rawv, rl);
            if (r != KS_MAIL_SPF_ABSENT) {
                m->msg.spf = r;
                spf_done = true;
            }
        } else if (m->cfg.verdict_headers && g_ascii_strncasecmp(name, "x-spam", 6) == 0) {
            double score;
            enum ks_mail_verdict v = ks_mail_verdict_header(name, rawv, rl, &score);
            if (!isnan(score) && isnan(m->msg.score))
                m->msg.score = score;
            if (v != KS_MAIL_UNKNOWN && !verdict_done) {
                m->msg.verdict = v;
                m->msg.verdict_source = astr(m, name);
                verdict_done = true;
            }
        } else if (m->cfg.verdict_headers && g_ascii_strcasecmp(name, "x-rspamd-action") == 0) {
            double score;
            enum ks_mail_verdict v = ks_mail_verdict_header(name, rawv, rl, &score);
            if (v != KS_MAIL_UNKNOWN && !verdict_done) {
                m->msg.verdict = v;
                m->msg.verdict_source = astr(m, name);
                verdict_done = true;
            }
        }
    }
    m->msg.hops = hops;
    if (!full)
        return;
    /* Date: unless it is more than 30 days from the first Received (forged by the sender) */
    int64_t month = 30 * 86400 * INT64_C(1000000);
    if (have_date && (!first_received || llabs(date - first_received) <= month)) {
        m->msg.time_us = date;
        m->msg.time_source = "date";
    } else if (first_received) {
        m->msg.time_us = first_received;
        m->msg.time_source = "received";
    } else if (raw->envelope && raw->envelope[0] &&
               ks_mail_date_parse(raw->envelope, strlen(raw->envelope), &date) == KS_OK) {
        m->msg.time_us = date;
        m->msg.time_source = "envelope";
    } else if (have_date) {
        m->msg.time_us = date;
        m->msg.time_source = "date";
    }
}

/* Exported by GMime 3.2 but missing from its headers: what GMime's message object does with
 * each From:/To: field (the addresses of one raw value, appended to the list). */
void internet_address_list_append_parse(InternetAddressList *list, GMimeParserOptions *options,
                                        const char *str);

/* Message-ID, subject, From: address and the subject key (with the To: names taken out). */
static void identity(struct ks_mail *m, const char *msgid, const char *subj,
                     InternetAddressList *from, InternetAddressList *to)
{
    m->msg.message_id = astr(m, msgid);
    char *valid = subj ? g_utf8_make_valid(subj, -1) : NULL;
    m->msg.subject = astr(m, valid);
    if (from && internet_address_list_length(from) > 0) {
        InternetAddress *ia = internet_address_list_get_address(from, 0);
        if (INTERNET_ADDRESS_IS_MAILBOX(ia))
            m->msg.from = astr(m, internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)));
    }
    /* the recipient's names, to take them out of the subject key */
    char names[256] = "";
    if (to && internet_address_list_length(to) > 0) {
        InternetAddress *ia = internet_address_list_get_address(to, 0);
        const char *dn = internet_address_get_name(ia);
        const char *addr = INTERNET_ADDRESS_IS_MAILBOX(ia)
                               ? internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia))
                               : NULL;
        size_t al = 0;
        if (addr)
            while (addr[al] && addr[al] != '@')
                al++;
        snprintf(names, sizeof names, "%s %.*s", dn ? dn : "", (int)(al < 100 ? al : 100),
                 addr ? addr : "");
    }
    ks_mail_subject_key(valid ? valid : "", valid ? strlen(valid) : 0, names, m->subject_key,
                        sizeof m->subject_key);
    m->msg.subject_key = m->subject_key;
    g_free(valid);
}

static void read_identity(struct ks_mail *m, GMimeMessage *msg)
{
    identity(m, g_mime_message_get_message_id(msg), g_mime_message_get_subject(msg),
             g_mime_message_get_from(msg), g_mime_message_get_to(msg));
}

/* The same from the walker's header fields, as GMime's message object has them: the last
 * Message-Id and Subject win, From:/To: addresses accumulate; values decoded by GMime's own
 * functions. */
static void read_identity_fast(struct ks_mail *m)
{
    const struct mail_walk *w = &m->walk;
    const struct mail_hdr *mid = NULL, *subj = NULL;
    InternetAddressList *fl = NULL, *tl = NULL;
    bool full = m->cfg.want & KS_MAIL_WANT_HEADERS;
    for (size_t i = 0; i < w->nhdrs; i++) {
        const struct mail_hdr *h = &w->hdrs[i];
        InternetAddressList **l = NULL;
        if (mail_ieq(h->name, h->nlen, "message-id"))
            mid = h;
        else if (!full)
            continue; /* the Message-ID only */
        else if (mail_ieq(h->name, h->nlen, "subject"))
            subj = h;
        else if (mail_ieq(h->name, h->nlen, "from"))
            l = &fl;
        else if (mail_ieq(h->name, h->nlen, "to"))
            l = &tl;
        if (l) {
            /* GMime appends the addresses of every From:/To: field to one list */
            char *v = g_strndup(h->val, h->vlen);
            if (!*l)
                *l = internet_address_list_new();
            internet_address_list_append_parse(*l, m->wopts, v);
            g_free(v);
        }
    }
    char *id = NULL, *sv = NULL;
    if (mid) {
        char *v = mail_walk_value(&m->walk, mid->val, mid->vlen);
        id = v ? g_mime_utils_decode_message_id(v) : NULL;
        g_free(v);
    }
    if (subj)
        sv = mail_walk_value(&m->walk, subj->val, subj->vlen);
    identity(m, id, sv, fl, tl);
    g_free(id);
    g_free(sv);
    if (fl)
        g_object_unref(fl);
    if (tl)
        g_object_unref(tl);
}

/* GMime's header list as slices (read_headers' input). */
static size_t gmime_headers(struct ks_mail *m, GMimeMessage *msg)
{
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
    int count = hl ? g_mime_header_list_get_count(hl) : 0;
    if ((size_t)count > m->ghcap) {
        struct mail_hdr *n = realloc(m->ghdrs, (size_t)count * sizeof *n);
        if (!n)
            return 0;
        m->ghdrs = n;
        m->ghcap = (size_t)count;
    }
    size_t k = 0;
    for (int i = 0; i < count; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        const char *name = g_mime_header_get_name(h);
        const char *rawv = g_mime_header_get_raw_value(h);
        if (!name || !rawv)
            continue;
        m->ghdrs[k++] = (struct mail_hdr){name, strlen(name), rawv, strlen(rawv)};
    }
    return k;
}

/* Counts multipart Content-Types cheaply, to keep absurd nesting away from GMime. */
static size_t count_multiparts(const uint8_t *p, size_t n)
{
    size_t count = 0;
    const uint8_t *q = p, *end = p + n;
    while ((q = memchr(q, '/', (size_t)(end - q))) != NULL) {
        if (q - p >= 9 && mail_iprefix((const char *)q - 9, 9, "multipart"))
            count++;
        q++;
    }
    return count;
}

int ks_mail_feed(struct ks_mail *m, const struct ks_mail_raw *raw, const struct ks_mail_msg **out)
{
    mail_arena_reset(&m->arena);
    memset(&m->msg, 0, sizeof m->msg);
    m->msg.message_id = m->msg.subject = m->msg.subject_key = m->msg.from = "";
    m->msg.verdict_source = m->msg.sender_helo = m->msg.fuzzy = m->msg.return_path = "";
    m->msg.time_source = "none";
    m->msg.score = NAN;
    memcpy(m->msg.country, "--", 3);
    m->msg.size = raw->len;
    m->nurls = 0;
    m->natt = 0;
    m->blen = 0;
    m->warn = 0;
    m->rbound[0] = '\0';
    /* the URL set is cleared by a new generation, not by writing it all */
    if (++m->seen_gen == 0) {
        memset(m->seen, 0, m->seen_cap * sizeof *m->seen);
        m->seen_gen = 1;
    }
    *out = &m->msg;

    size_t len = raw->len;
    if (count_multiparts(raw->data, raw->len) > TOO_COMPLEX) {
        /* headers only: cut at the first empty line */
        m->msg.problems |= KS_MAIL_PROB_TOOCOMPLEX;
        const uint8_t *e = raw->data;
        for (size_t i = 0; i + 1 < raw->len; i++)
            if (e[i] == '\n' &&
                (e[i + 1] == '\n' || (e[i + 1] == '\r' && i + 2 < raw->len && e[i + 2] == '\n'))) {
                len = i + 1;
                break;
            }
    }
    struct mail_urlx x = {0};
    x.redirectors = m->cfg.redirectors;
    x.max_urls = m->cfg.max_urls;
    x.fn = on_url;
    x.user = m;
    x.seen = m->seen;
    x.seen_cap = m->seen_cap;
    x.gen = m->seen_gen;
    GMimeStream *stream = NULL;
    GMimeParser *parser = NULL;
    GMimeMessage *msg = NULL;
    if (!m->cfg.mime_gmime && !(m->msg.problems & KS_MAIL_PROB_TOOCOMPLEX) &&
        mail_walk_parse(&m->walk, (const char *)raw->data, raw->len)) {
        /* the hot path: the hand-written walker (walker.c) */
        size_t k = 0;
        if (m->walk.nhdrs > m->ghcap) {
            struct mail_hdr *n = realloc(m->ghdrs, m->walk.nhdrs * sizeof *n);
            if (n) {
                m->ghdrs = n;
                m->ghcap = m->walk.nhdrs;
            }
        }
        for (size_t i = 0; i < m->walk.nhdrs && i < m->ghcap; i++)
            if (!mail_iprefix(m->walk.hdrs[i].name, m->walk.hdrs[i].nlen, "content-"))
                m->ghdrs[k++] = m->walk.hdrs[i];
        read_headers(m, m->ghdrs, k, raw);
        read_identity_fast(m);
        if (m->cfg.spf && m->msg.spf == KS_MAIL_SPF_ABSENT)
            spf_check(m);
        walk_fast(m, raw, &x);
        m->warn |= m->walk.warn;
        memcpy(m->rbound, m->walk.rbound, sizeof m->rbound);
        mail_walk_clear(&m->walk);
    } else {
        if (!m->cfg.mime_gmime && !(m->msg.problems & KS_MAIL_PROB_TOOCOMPLEX))
            m->st.mime_fallbacks++;
        stream = g_mime_stream_mem_new_with_buffer((const char *)raw->data, len);
        parser = stream ? g_mime_parser_new_with_stream(stream) : NULL;
        if (parser) {
            g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
            msg = g_mime_parser_construct_message(parser, m->opts);
        }
        if (!msg || !g_mime_object_get_header_list(GMIME_OBJECT(msg)) ||
            g_mime_header_list_get_count(g_mime_object_get_header_list(GMIME_OBJECT(msg))) == 0) {
            m->msg.problems |= KS_MAIL_PROB_NOHEADERS;
        }
        if (msg) {
            size_t nh = gmime_headers(m, msg); /* (re)allocates m->ghdrs: before reading it */
            read_headers(m, m->ghdrs, nh, raw);
            read_identity(m, msg);
            if (m->cfg.spf && m->msg.spf == KS_MAIL_SPF_ABSENT)
                spf_check(m);
            GMimeObject *body = g_mime_message_get_mime_part(msg);
            if (body && !(m->msg.problems & KS_MAIL_PROB_TOOCOMPLEX))
                walk(m, body, &x, (const char *)raw->data, len);
        }
    }
    /* A broken structure hid the body from GMime (no boundary, no headers): the raw text is
     * still searched, so that its URLs are not lost. */
    if ((m->cfg.want & KS_MAIL_WANT_URLS) && m->nurls == 0 &&
        ((m->msg.problems | m->warn) & (KS_MAIL_PROB_BOUNDARY | KS_MAIL_PROB_NOHEADERS)) &&
        !(m->msg.problems & KS_MAIL_PROB_TOOCOMPLEX))
        mail_urlx_text(&x, (const char *)raw->data, raw->len, "raw");
    if (x.dropped)
        m->msg.problems |= KS_MAIL_PROB_URLS;
    m->msg.problems |= m->warn;
    if (msg)
        g_object_unref(msg);
    if (parser)
        g_object_unref(parser);
    if (stream)
        g_object_unref(stream);

    if ((m->cfg.want & KS_MAIL_WANT_FUZZY) && m->blen >= 64) {
        if (ks_samples_ssdeep(m->body, m->blen, m->fuzzy))
            m->msg.fuzzy = m->fuzzy;
    }
    if (m->msg.sender.family && m->cfg.geo) {
        struct ks_geo_result g;
        ks_geo_lookup(m->cfg.geo, &m->msg.sender, &g);
        memcpy(m->msg.country, g.country, 3);
        m->msg.asn = g.asn;
    }
    m->msg.urls = m->urls;
    m->msg.nurls = m->nurls;
    m->msg.att = m->atts;
    m->msg.natt = m->natt;

    /* counting and the first reports */
    struct ks_mail_stats *st = &m->st;
    st->messages++;
    st->spam += m->msg.verdict == KS_MAIL_SPAM;
    st->ham += m->msg.verdict == KS_MAIL_HAM;
    st->unknown += m->msg.verdict == KS_MAIL_UNKNOWN;
    st->with_sender += m->msg.sender.family != 0;
    st->urls += m->nurls;
    st->attachments += m->natt;
    unsigned p = m->msg.problems;
    if (p & KS_MAIL_PROB_NOHEADERS) {
        st->no_headers++;
        report(m, raw, KS_EFORMAT, "message without readable header fields");
    }
    if (p & KS_MAIL_PROB_BOUNDARY) {
        st->boundary++;
        report(m, raw, KS_EFORMAT, "multipart without boundary or with a missing end");
    }
    if (m->rbound[0]) {
        st->boundary_recovered++;
        report(m, raw, KS_EFORMAT,
               "multipart boundary missing or never used: parts split at \"--%s\"", m->rbound);
    }
    if (p & KS_MAIL_PROB_CHARSET) {
        st->charset++;
        report(m, raw, KS_EFORMAT, "text not in its declared charset: converted by guess");
    }
    if (p & KS_MAIL_PROB_DEPTH) {
        st->depth++;
        report(m, raw, KS_ELIMIT, "MIME nesting deeper than %u: inner parts not read",
               m->cfg.max_depth);
    }
    if (p & KS_MAIL_PROB_PARTS) {
        st->parts++;
        report(m, raw, KS_ELIMIT, "more than %u MIME parts: the rest not read", m->cfg.max_parts);
    }
    if (p & KS_MAIL_PROB_TOOCOMPLEX) {
        st->too_complex++;
        report(m, raw, KS_ELIMIT, "more than %d multiparts: headers only", TOO_COMPLEX);
    }
    if (p & KS_MAIL_PROB_URLS) {
        st->urls_dropped++;
        report(m, raw, KS_ELIMIT, "more than %u URLs: the rest dropped", m->cfg.max_urls);
    }
    return KS_OK;
}
