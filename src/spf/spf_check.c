/* RFC 7208 check_host() as a resumable state machine.
 *
 * A check never blocks: when it needs DNS it submits a query and returns; the answer callback
 * copies the answer into the check and resumes it. A callback that runs inside query() (zone,
 * cache hit) only records the answer: the loop in run() continues, so the stack never grows
 * with the number of lookups. include pushes a frame; redirect replaces the current one. */
#include "spf_int.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_FRAMES 16         /* include depth: bounded by max_dns_terms (10) anyway */
#define MAX_ANSWER (1u << 20) /* bytes of one copied DNS answer */

enum state {
    ST_FETCH,      /* query TXT for the frame's domain */
    ST_GOT_TXT,    /* select and parse the record */
    ST_TERM,       /* evaluate the next term, or redirect / default at the end */
    ST_A_ANS,      /* a: address answer */
    ST_MX_ANS,     /* mx: MX answer */
    ST_MX_NEXT,    /* mx: look up the next exchange */
    ST_MX_ADDR,    /* mx: an exchange's addresses */
    ST_EXISTS_ANS, /* exists: A answer */
    ST_PTR_ANS,    /* ptr / %{p}: PTR answer */
    ST_PTR_NEXT,   /* ptr / %{p}: validate the next name */
    ST_PTR_ADDR,   /* ptr / %{p}: a name's addresses */
    ST_EXP,        /* fail at the top: look up exp= */
    ST_EXP_ANS,    /* exp= TXT answer */
    ST_EXP_EXPAND, /* expand the explanation (after %{p} if needed) */
};

struct frame {
    char *domain;
    struct spf_record rec;
    uint32_t term;
    bool include;    /* pushed by include: (none is a permerror) */
    bool redirected; /* reached by redirect= (none is a permerror) */
};

struct ans_rr {
    uint16_t type;
    uint32_t off, len;
};

struct check {
    struct ks_spf *spf;
    ks_spf_done_fn done;
    void *done_arg;
    enum ks_spf_identity ident;
    char *sender, *local, *odomain, *helo;
    char ip_c[INET6_ADDRSTRLEN], ip_i[72], tstr[24];
    uint8_t ip[16];
    bool v6;

    struct frame fr[MAX_FRAMES];
    int depth; /* index of the current frame */
    enum state st;
    bool running, waiting, finished;

    /* The last DNS answer, copied. */
    enum ks_spf_dns_status ans_status;
    uint32_t ans_count, ans_cap;
    struct ans_rr *ans_rr;
    struct spf_buf ans_data;

    /* mx / ptr: the names to look up in turn. */
    struct spf_buf names;
    uint32_t *name_off;
    uint32_t nnames, name_cap, name_idx;

    /* ptr / %{p} procedure */
    bool p_mode;         /* computing %{p} (else the ptr mechanism) */
    enum state p_return; /* where to go when %{p} is known */
    bool p_done;
    int p_rank; /* 3 = <domain>, 2 = a subdomain, 1 = other validated name */
    struct spf_buf p_value;

    struct spf_buf target;  /* the current mechanism's expanded target-name */
    struct spf_buf exp_src; /* the exp= TXT text */
    struct spf_buf tmp;

    uint32_t dns_terms, voids, queries;
    enum ks_spf_result result;
    char problem[320];
    struct spf_buf mechanism, explanation, record;
    char *top_domain;
};

struct ks_spf {
    struct ks_spf_config cfg;
    char *default_exp, *receiver;
    struct ks_spf_dns dns;
    struct ks_spf_stats st;
};

static const char *const result_names[KS_SPF_NRESULTS] = {
    "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"};

const char *ks_spf_result_name(enum ks_spf_result r)
{
    return (unsigned)r < KS_SPF_NRESULTS ? result_names[r] : "?";
}

int ks_spf_result_parse(const char *s)
{
    for (int i = 0; i < KS_SPF_NRESULTS; i++)
        if (strcasecmp(s, result_names[i]) == 0)
            return i;
    if (strcasecmp(s, "unknown") == 0)
        return KS_SPF_PERMERROR;
    if (strcasecmp(s, "error") == 0)
        return KS_SPF_TEMPERROR;
    return -1;
}

void ks_spf_config_default(struct ks_spf_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->default_explanation = KS_SPF_DEFAULT_EXPLANATION;
    cfg->receiver = "unknown";
    cfg->max_dns_terms = 10;
    cfg->max_void_lookups = 2;
    cfg->max_mx = 10;
    cfg->max_ptr = 10;
    cfg->max_expansion = 8192;
    cfg->max_checks = 65536;
}

int ks_spf_new(const struct ks_spf_config *cfg, const struct ks_spf_dns *dns, struct ks_spf **sp)
{
    *sp = NULL;
    if (!dns || !dns->query)
        return KS_EINVAL;
    struct ks_spf *s = calloc(1, sizeof *s);
    if (!s)
        return KS_ENOMEM;
    if (cfg)
        s->cfg = *cfg;
    else
        ks_spf_config_default(&s->cfg);
    s->dns = *dns;
    s->default_exp = strdup(s->cfg.default_explanation ? s->cfg.default_explanation
                                                       : KS_SPF_DEFAULT_EXPLANATION);
    s->receiver = strdup(s->cfg.receiver ? s->cfg.receiver : "unknown");
    if (!s->default_exp || !s->receiver) {
        ks_spf_free(s);
        return KS_ENOMEM;
    }
    if (s->cfg.max_expansion < 256)
        s->cfg.max_expansion = 256;
    *sp = s;
    return KS_OK;
}

void ks_spf_free(struct ks_spf *s)
{
    if (!s)
        return;
    free(s->default_exp);
    free(s->receiver);
    free(s);
}

void ks_spf_stats(const struct ks_spf *s, struct ks_spf_stats *st)
{
    *st = s->st;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static struct frame *cur(struct check *c)
{
    return &c->fr[c->depth];
}

static void finish(struct check *c, enum ks_spf_result r)
{
    c->result = r;
    c->finished = true;
}

static void error(struct check *c, enum ks_spf_result r, const char *fmt, ...) KS_PRINTF(3, 4);
static void error(struct check *c, enum ks_spf_result r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->problem, sizeof c->problem, fmt, ap);
    va_end(ap);
    finish(c, r);
}

static void macro_ctx(struct check *c, struct spf_macro_ctx *m)
{
    m->s = c->sender;
    m->l = c->local;
    m->o = c->odomain;
    m->d = cur(c)->domain;
    m->i = c->ip_i;
    m->p = c->p_done && c->p_value.len ? c->p_value.p : "unknown";
    m->v = c->v6 ? "ip6" : "in-addr";
    m->h = c->helo;
    m->c = c->ip_c;
    m->r = c->spf->receiver;
    if (!c->tstr[0])
        snprintf(
            c->tstr, sizeof c->tstr, "%lld",
            (long long)(c->spf->cfg.fixed_time ? c->spf->cfg.fixed_time : (int64_t)time(NULL)));
    m->t = c->tstr;
}

/* Expands a domain-spec into c->target as a query name. KS_OK, KS_EFORMAT or KS_ELIMIT. */
static int expand_target(struct check *c, const char *spec, size_t len)
{
    struct spf_macro_ctx m;
    macro_ctx(c, &m);
    c->target.len = 0;
    int rc = spf_macro_expand(&m, spec, len, false, &c->target);
    if (rc != KS_OK)
        return rc;
    size_t n = c->target.len;
    size_t start = spf_domain_truncate(c->target.p, &n);
    memmove(c->target.p, c->target.p + start, n);
    c->target.len = n;
    c->target.p[n] = '\0';
    return KS_OK;
}

static void dns_done(void *arg, const struct ks_spf_answer *a);

static void query(struct check *c, const char *name, uint16_t type, enum state next)
{
    c->st = next;
    c->waiting = true;
    c->queries++;
    c->spf->st.dns_queries++;
    int rc = c->spf->dns.query(c->spf->dns.ctx, name, type, dns_done, c);
    if (rc != KS_OK) {
        c->waiting = false;
        c->ans_status = KS_SPF_DNS_TEMPFAIL;
        c->ans_count = 0;
    }
}

static void run(struct check *c);

static void dns_done(void *arg, const struct ks_spf_answer *a)
{
    struct check *c = arg;
    c->ans_status = a->status;
    c->ans_count = 0;
    c->ans_data.len = 0;
    if (a->status == KS_SPF_DNS_OK && a->count) {
        if (a->count > c->ans_cap) {
            struct ans_rr *p = realloc(c->ans_rr, a->count * sizeof *p);
            if (!p) {
                c->ans_status = KS_SPF_DNS_TEMPFAIL;
                goto out;
            }
            c->ans_rr = p;
            c->ans_cap = a->count;
        }
        for (uint32_t i = 0; i < a->count; i++) {
            const struct ks_spf_rr *r = &a->rr[i];
            struct ans_rr *d = &c->ans_rr[c->ans_count];
            d->type = r->type;
            d->off = (uint32_t)c->ans_data.len;
            d->len = r->len;
            /* NUL after each datum so that names can be used as C strings. */
            if (spf_buf_add(&c->ans_data, (const char *)r->data, r->len) != KS_OK ||
                spf_buf_addc(&c->ans_data, '\0') != KS_OK) {
                c->ans_status = KS_SPF_DNS_TEMPFAIL;
                c->ans_count = 0;
                goto out;
            }
            c->ans_count++;
        }
    }
out:
    c->waiting = false;
    run(c);
}

static const uint8_t *rr_data(struct check *c, uint32_t i)
{
    return (const uint8_t *)c->ans_data.p + c->ans_rr[i].off;
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

/* Does any address of the last answer contain the client in the given prefix lengths? */
static bool answer_matches(struct check *c, unsigned cidr4, unsigned cidr6)
{
    for (uint32_t i = 0; i < c->ans_count; i++) {
        const struct ans_rr *r = &c->ans_rr[i];
        if (!c->v6 && r->type == KS_DNS_A && r->len == 4 && prefix_eq(rr_data(c, i), c->ip, cidr4))
            return true;
        if (c->v6 && r->type == KS_DNS_AAAA && r->len == 16 &&
            prefix_eq(rr_data(c, i), c->ip, cidr6))
            return true;
    }
    return false;
}

static uint32_t count_type(struct check *c, uint16_t type)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->ans_count; i++)
        n += c->ans_rr[i].type == type;
    return n;
}

/* RFC 7208 4.6.4: NXDOMAIN or an empty answer is a void lookup; more than 2 is a permerror. */
static bool void_lookup(struct check *c, uint16_t type)
{
    if (c->ans_status == KS_SPF_DNS_NXDOMAIN ||
        (c->ans_status == KS_SPF_DNS_OK && count_type(c, type) == 0)) {
        if (++c->voids > c->spf->cfg.max_void_lookups) {
            error(c, KS_SPF_PERMERROR, "too many void DNS lookups (more than %u)",
                  c->spf->cfg.max_void_lookups);
            return true;
        }
    }
    return false;
}

static bool count_term(struct check *c)
{
    /* RFC 7208 4.6.4: at most 10 terms that cause DNS lookups, through include and redirect. */
    if (++c->dns_terms > c->spf->cfg.max_dns_terms) {
        error(c, KS_SPF_PERMERROR, "too many DNS lookups (more than %u)",
              c->spf->cfg.max_dns_terms);
        return false;
    }
    return true;
}

static enum ks_spf_result qual_result(char q)
{
    switch (q) {
    case '-':
        return KS_SPF_FAIL;
    case '~':
        return KS_SPF_SOFTFAIL;
    case '?':
        return KS_SPF_NEUTRAL;
    default:
        return KS_SPF_PASS;
    }
}

static const struct spf_term *term(struct check *c)
{
    struct frame *f = cur(c);
    return &f->rec.terms[f->term];
}

static void frame_result(struct check *c, enum ks_spf_result r);

static void no_match(struct check *c)
{
    cur(c)->term++;
    c->st = ST_TERM;
}

static void matched(struct check *c)
{
    const struct spf_term *t = term(c);
    if (c->depth == 0) {
        struct frame *f = cur(c);
        c->mechanism.len = 0;
        spf_buf_add(&c->mechanism, f->rec.text + t->text_off, t->text_len);
    }
    frame_result(c, qual_result(t->qual));
}

static void pop_frame(struct check *c)
{
    struct frame *f = cur(c);
    free(f->domain);
    f->domain = NULL;
    spf_record_fini(&f->rec);
    c->depth--;
}

/* A frame's check_host() finished with r. */
static void frame_result(struct check *c, enum ks_spf_result r)
{
    if (c->depth > 0) {
        /* RFC 7208 5.2: include matches on pass; fail, softfail, neutral do not match; errors
         * propagate; none becomes permerror. */
        char dom[256];
        snprintf(dom, sizeof dom, "%s", cur(c)->domain);
        pop_frame(c);
        switch (r) {
        case KS_SPF_PASS:
            matched(c);
            return;
        case KS_SPF_FAIL:
        case KS_SPF_SOFTFAIL:
        case KS_SPF_NEUTRAL:
            no_match(c);
            return;
        case KS_SPF_NONE:
            error(c, KS_SPF_PERMERROR, "included domain %s has no SPF record", dom);
            return;
        default:
            finish(c, r);
            return;
        }
    }
    if (r == KS_SPF_FAIL) {
        c->result = r;
        c->st = ST_EXP;
        return;
    }
    finish(c, r);
}

static bool icase_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++) {
        int x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x += 32;
        if (y >= 'A' && y <= 'Z')
            y += 32;
        if (x != y)
            return false;
    }
    return true;
}

/* name equals dom or is a subdomain of it (case-insensitive, final dots ignored). 2 = equal,
 * 1 = subdomain, 0 = neither. */
static int domain_rel(const char *name, const char *dom)
{
    size_t n = strlen(name), d = strlen(dom);
    if (n && name[n - 1] == '.')
        n--;
    if (d && dom[d - 1] == '.')
        d--;
    if (icase_eq(name, n, dom, d))
        return 2;
    if (n > d && name[n - d - 1] == '.' && icase_eq(name + n - d, d, dom, d))
        return 1;
    return 0;
}

static void reverse_name(struct check *c, struct spf_buf *b)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[80];
    size_t n = 0;
    b->len = 0;
    if (!c->v6) {
        n = (size_t)snprintf(tmp, sizeof tmp, "%u.%u.%u.%u.in-addr.arpa", c->ip[3], c->ip[2],
                             c->ip[1], c->ip[0]);
    } else {
        for (int i = 15; i >= 0; i--) {
            tmp[n++] = hex[c->ip[i] & 15];
            tmp[n++] = '.';
            tmp[n++] = hex[c->ip[i] >> 4];
            tmp[n++] = '.';
        }
        memcpy(tmp + n, "ip6.arpa", 8);
        n += 8;
    }
    spf_buf_add(b, tmp, n);
}

/* Starts the %{p} procedure if s uses it and it is not known yet; true when it did. */
static bool need_p(struct check *c, bool has_p, enum state ret)
{
    if (!has_p || c->p_done)
        return false;
    c->p_mode = true;
    c->p_return = ret;
    c->p_rank = 0;
    c->p_value.len = 0;
    reverse_name(c, &c->tmp);
    query(c, c->tmp.p, KS_DNS_PTR, ST_PTR_ANS);
    return true;
}

static int collect_names(struct check *c, uint16_t type, uint32_t limit)
{
    c->nnames = c->name_idx = 0;
    c->names.len = 0;
    for (uint32_t i = 0; i < c->ans_count && c->nnames < limit; i++) {
        if (c->ans_rr[i].type != type)
            continue;
        if (c->nnames == c->name_cap) {
            uint32_t cap = c->name_cap ? c->name_cap * 2 : 16;
            uint32_t *p = realloc(c->name_off, cap * sizeof *p);
            if (!p)
                return KS_ENOMEM;
            c->name_off = p;
            c->name_cap = cap;
        }
        c->name_off[c->nnames++] = (uint32_t)c->names.len;
        int rc = spf_buf_add(&c->names, (const char *)rr_data(c, i), c->ans_rr[i].len);
        if (rc == KS_OK)
            rc = spf_buf_addc(&c->names, '\0');
        if (rc != KS_OK)
            return rc;
    }
    return KS_OK;
}

static const char *name_at(struct check *c, uint32_t i)
{
    return c->names.p + c->name_off[i];
}

static void fetch_record(struct check *c)
{
    query(c, cur(c)->domain, KS_DNS_TXT, ST_GOT_TXT);
}

/* ---- the states -------------------------------------------------------------------------- */

static void st_got_txt(struct check *c)
{
    struct frame *f = cur(c);
    if (c->ans_status == KS_SPF_DNS_TEMPFAIL) {
        error(c, KS_SPF_TEMPERROR, "DNS failure looking up the SPF record of %s", f->domain);
        return;
    }
    int found = -1, n = 0;
    for (uint32_t i = 0; i < c->ans_count; i++) {
        if (c->ans_rr[i].type != KS_DNS_TXT)
            continue;
        if (spf_is_v1((const char *)rr_data(c, i), c->ans_rr[i].len)) {
            found = (int)i;
            n++;
        }
    }
    if (n > 1) {
        error(c, KS_SPF_PERMERROR, "%s publishes %d SPF records", f->domain, n);
        return;
    }
    if (found < 0) {
        if (c->depth == 0 && !f->redirected) {
            snprintf(c->problem, sizeof c->problem, "%s publishes no SPF record", f->domain);
            finish(c, KS_SPF_NONE);
        } else {
            error(c, KS_SPF_PERMERROR, "%s target %s has no SPF record",
                  f->redirected ? "redirect" : "include", f->domain);
        }
        return;
    }
    if (c->depth == 0 && !c->record.len && !f->redirected)
        spf_buf_add(&c->record, (const char *)rr_data(c, (uint32_t)found), c->ans_rr[found].len);
    char err[200];
    int rc = spf_record_parse((const char *)rr_data(c, (uint32_t)found), c->ans_rr[found].len,
                              &f->rec, err, sizeof err);
    if (rc != KS_OK) {
        error(c, rc == KS_ENOMEM ? KS_SPF_TEMPERROR : KS_SPF_PERMERROR, "SPF record of %s: %s",
              f->domain, rc == KS_ENOMEM ? "out of memory" : err);
        return;
    }
    f->term = 0;
    c->st = ST_TERM;
}

static void st_after_terms(struct check *c)
{
    struct frame *f = cur(c);
    if (f->rec.redirect < 0) {
        if (c->depth == 0) {
            c->mechanism.len = 0;
            spf_buf_add(&c->mechanism, "default", 7);
        }
        frame_result(c, KS_SPF_NEUTRAL);
        return;
    }
    const struct spf_term *t = &f->rec.terms[f->rec.redirect];
    if (need_p(c, t->spec_has_p, ST_TERM))
        return;
    if (!count_term(c))
        return;
    int rc = expand_target(c, f->rec.text + t->spec_off, t->spec_len);
    if (rc != KS_OK || !spf_name_ok(c->target.p, c->target.len)) {
        error(c, KS_SPF_PERMERROR, "redirect= of %s: bad target name", f->domain);
        return;
    }
    char *d = strdup(c->target.p);
    if (!d) {
        error(c, KS_SPF_TEMPERROR, "out of memory");
        return;
    }
    free(f->domain);
    spf_record_fini(&f->rec);
    f->domain = d;
    f->redirected = true;
    f->term = 0;
    fetch_record(c);
}

static void st_term(struct check *c)
{
    struct frame *f = cur(c);
    while (f->term < f->rec.nterms && f->rec.terms[f->term].mech == SPF_MODIFIER)
        f->term++;
    if (f->term >= f->rec.nterms) {
        st_after_terms(c);
        return;
    }
    const struct spf_term *t = term(c);
    switch (t->mech) {
    case SPF_ALL:
        matched(c);
        return;
    case SPF_IP4:
        if (!c->v6 && prefix_eq(t->ip, c->ip, t->cidr4))
            matched(c);
        else
            no_match(c);
        return;
    case SPF_IP6:
        if (c->v6 && prefix_eq(t->ip, c->ip, t->cidr6))
            matched(c);
        else
            no_match(c);
        return;
    default:
        break;
    }
    /* DNS-querying mechanisms: %{p} first (if used), then count, expand and query. */
    if (need_p(c, t->spec_has_p, ST_TERM))
        return;
    if (!count_term(c))
        return;
    if (t->spec_len) {
        int rc = expand_target(c, f->rec.text + t->spec_off, t->spec_len);
        if (rc != KS_OK) {
            error(c, KS_SPF_PERMERROR, "cannot expand '%.*s': %s", (int)t->text_len,
                  f->rec.text + t->text_off, rc == KS_ELIMIT ? "too long" : "syntax error");
            return;
        }
    } else {
        c->target.len = 0;
        spf_buf_add(&c->target, f->domain, strlen(f->domain));
    }
    bool name_ok = spf_name_ok(c->target.p, c->target.len);
    switch (t->mech) {
    case SPF_INCLUDE: {
        if (!name_ok) {
            error(c, KS_SPF_PERMERROR, "include: target '%s' is not a valid domain name",
                  c->target.p);
            return;
        }
        if (c->depth + 1 >= MAX_FRAMES) {
            error(c, KS_SPF_PERMERROR, "include nesting too deep");
            return;
        }
        char *d = strdup(c->target.p);
        if (!d) {
            error(c, KS_SPF_TEMPERROR, "out of memory");
            return;
        }
        c->depth++;
        struct frame *nf = cur(c);
        memset(nf, 0, sizeof *nf);
        nf->rec.redirect = nf->rec.exp = -1;
        nf->domain = d;
        nf->include = true;
        fetch_record(c);
        return;
    }
    case SPF_A:
        /* A target-name that cannot be queried (empty or overlong label) names nothing. */
        if (!name_ok) {
            no_match(c);
            return;
        }
        query(c, c->target.p, c->v6 ? KS_DNS_AAAA : KS_DNS_A, ST_A_ANS);
        return;
    case SPF_MX:
        if (!name_ok) {
            no_match(c);
            return;
        }
        query(c, c->target.p, KS_DNS_MX, ST_MX_ANS);
        return;
    case SPF_EXISTS:
        if (!name_ok) {
            no_match(c);
            return;
        }
        query(c, c->target.p, KS_DNS_A, ST_EXISTS_ANS);
        return;
    case SPF_PTR:
        c->p_mode = false;
        reverse_name(c, &c->tmp);
        query(c, c->tmp.p, KS_DNS_PTR, ST_PTR_ANS);
        return;
    default:
        no_match(c);
        return;
    }
}

static void st_a_ans(struct check *c)
{
    const struct spf_term *t = term(c);
    if (c->ans_status == KS_SPF_DNS_TEMPFAIL) {
        error(c, KS_SPF_TEMPERROR, "DNS failure looking up %s", c->target.p);
        return;
    }
    if (void_lookup(c, c->v6 ? KS_DNS_AAAA : KS_DNS_A))
        return;
    if (answer_matches(c, t->cidr4, t->cidr6))
        matched(c);
    else
        no_match(c);
}

static void st_mx_ans(struct check *c)
{
    if (c->ans_status == KS_SPF_DNS_TEMPFAIL) {
        error(c, KS_SPF_TEMPERROR, "DNS failure looking up MX of %s", c->target.p);
        return;
    }
    if (void_lookup(c, KS_DNS_MX))
        return;
    /* RFC 7208 4.6.4: more than 10 MX names is a permerror. */
    if (count_type(c, KS_DNS_MX) > c->spf->cfg.max_mx) {
        error(c, KS_SPF_PERMERROR, "%s has more than %u MX records", c->target.p,
              c->spf->cfg.max_mx);
        return;
    }
    if (collect_names(c, KS_DNS_MX, c->spf->cfg.max_mx) != KS_OK) {
        error(c, KS_SPF_TEMPERROR, "out of memory");
        return;
    }
    c->st = ST_MX_NEXT;
}

static void st_mx_next(struct check *c)
{
    while (c->name_idx < c->nnames) {
        const char *n = name_at(c, c->name_idx++);
        if (!spf_name_ok(n, strlen(n)))
            continue; /* the null MX ("."), or a name no query can carry */
        query(c, n, c->v6 ? KS_DNS_AAAA : KS_DNS_A, ST_MX_ADDR);
        return;
    }
    no_match(c);
}

static void st_mx_addr(struct check *c)
{
    const struct spf_term *t = term(c);
    if (c->ans_status == KS_SPF_DNS_TEMPFAIL) {
        error(c, KS_SPF_TEMPERROR, "DNS failure looking up %s", name_at(c, c->name_idx - 1));
        return;
    }
    if (answer_matches(c, t->cidr4, t->cidr6))
        matched(c);
    else
        c->st = ST_MX_NEXT;
}

static void st_exists_ans(struct check *c)
{
    if (c->ans_status == KS_SPF_DNS_TEMPFAIL) {
        error(c, KS_SPF_TEMPERROR, "DNS failure looking up %s", c->target.p);
        return;
    }
    if (void_lookup(c, KS_DNS_A))
        return;
    if (count_type(c, KS_DNS_A) > 0)
        matched(c);
    else
        no_match(c);
}

static void p_finish(struct check *c)
{
    c->p_done = true;
    c->p_mode = false;
    c->st = c->p_return;
}

static void st_ptr_ans(struct check *c)
{
    /* RFC 7208 5.5: a DNS error on the PTR lookup makes ptr not match. */
    if (c->ans_status == KS_SPF_DNS_TEMPFAIL) {
        if (c->p_mode)
            p_finish(c);
        else
            no_match(c);
        return;
    }
    if (!c->p_mode && void_lookup(c, KS_DNS_PTR))
        return;
    /* RFC 7208 4.6.4: only the first 10 PTR names are considered. */
    if (collect_names(c, KS_DNS_PTR, c->spf->cfg.max_ptr) != KS_OK) {
        error(c, KS_SPF_TEMPERROR, "out of memory");
        return;
    }
    c->st = ST_PTR_NEXT;
}

static void st_ptr_next(struct check *c)
{
    while (c->name_idx < c->nnames) {
        const char *n = name_at(c, c->name_idx++);
        if (!spf_name_ok(n, strlen(n)))
            continue;
        /* For ptr only names within the target can match: skip the others' lookups. */
        if (!c->p_mode && !domain_rel(n, c->target.p))
            continue;
        query(c, n, c->v6 ? KS_DNS_AAAA : KS_DNS_A, ST_PTR_ADDR);
        return;
    }
    if (c->p_mode)
        p_finish(c);
    else
        no_match(c);
}

static void st_ptr_addr(struct check *c)
{
    const char *n = name_at(c, c->name_idx - 1);
    /* RFC 7208 5.5: a DNS error on an address lookup skips that name. */
    if (c->ans_status != KS_SPF_DNS_OK || !answer_matches(c, 32, 128)) {
        c->st = ST_PTR_NEXT;
        return;
    }
    if (!c->p_mode) {
        matched(c);
        return;
    }
    /* RFC 7208 7.3: prefer <domain> itself, then a subdomain of it, then any validated name. */
    int rel = domain_rel(n, cur(c)->domain);
    int rank = rel == 2 ? 3 : rel == 1 ? 2 : 1;
    if (rank > c->p_rank) {
        c->p_rank = rank;
        c->p_value.len = 0;
        size_t len = strlen(n);
        if (len && n[len - 1] == '.')
            len--;
        spf_buf_add(&c->p_value, n, len);
    }
    if (c->p_rank == 3)
        p_finish(c);
    else
        c->st = ST_PTR_NEXT;
}

static void default_explanation(struct check *c)
{
    struct spf_macro_ctx m;
    macro_ctx(c, &m);
    c->explanation.len = 0;
    const char *d = c->spf->default_exp;
    if (spf_macro_expand(&m, d, strlen(d), true, &c->explanation) != KS_OK) {
        c->explanation.len = 0;
        spf_buf_add(&c->explanation, d, strlen(d));
    }
    finish(c, KS_SPF_FAIL);
}

static void st_exp(struct check *c)
{
    struct frame *f = cur(c);
    if (f->rec.exp < 0) {
        default_explanation(c);
        return;
    }
    const struct spf_term *t = &f->rec.terms[f->rec.exp];
    if (need_p(c, t->spec_has_p, ST_EXP))
        return;
    /* RFC 7208 6.2: problems with exp= (expansion, DNS, text) fall back to the default. */
    if (expand_target(c, f->rec.text + t->spec_off, t->spec_len) != KS_OK ||
        !spf_name_ok(c->target.p, c->target.len)) {
        default_explanation(c);
        return;
    }
    query(c, c->target.p, KS_DNS_TXT, ST_EXP_ANS);
}

static void st_exp_ans(struct check *c)
{
    if (c->ans_status != KS_SPF_DNS_OK || count_type(c, KS_DNS_TXT) != 1) {
        default_explanation(c);
        return;
    }
    for (uint32_t i = 0; i < c->ans_count; i++) {
        if (c->ans_rr[i].type == KS_DNS_TXT) {
            c->exp_src.len = 0;
            if (spf_buf_add(&c->exp_src, (const char *)rr_data(c, i), c->ans_rr[i].len) != KS_OK) {
                default_explanation(c);
                return;
            }
        }
    }
    c->st = ST_EXP_EXPAND;
}

static void st_exp_expand(struct check *c)
{
    bool has_p = false;
    const char *s = spf_buf_str(&c->exp_src);
    if (spf_macro_check(s, c->exp_src.len, true, &has_p) != KS_OK) {
        default_explanation(c);
        return;
    }
    if (need_p(c, has_p, ST_EXP_EXPAND))
        return;
    struct spf_macro_ctx m;
    macro_ctx(c, &m);
    c->explanation.len = 0;
    if (spf_macro_expand(&m, s, c->exp_src.len, true, &c->explanation) != KS_OK) {
        default_explanation(c);
        return;
    }
    finish(c, KS_SPF_FAIL);
}

static void step(struct check *c)
{
    switch (c->st) {
    case ST_FETCH:
        fetch_record(c);
        break;
    case ST_GOT_TXT:
        st_got_txt(c);
        break;
    case ST_TERM:
        st_term(c);
        break;
    case ST_A_ANS:
        st_a_ans(c);
        break;
    case ST_MX_ANS:
        st_mx_ans(c);
        break;
    case ST_MX_NEXT:
        st_mx_next(c);
        break;
    case ST_MX_ADDR:
        st_mx_addr(c);
        break;
    case ST_EXISTS_ANS:
        st_exists_ans(c);
        break;
    case ST_PTR_ANS:
        st_ptr_ans(c);
        break;
    case ST_PTR_NEXT:
        st_ptr_next(c);
        break;
    case ST_PTR_ADDR:
        st_ptr_addr(c);
        break;
    case ST_EXP:
        st_exp(c);
        break;
    case ST_EXP_ANS:
        st_exp_ans(c);
        break;
    case ST_EXP_EXPAND:
        st_exp_expand(c);
        break;
    }
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static void check_free(struct check *c)
{
    for (int i = 0; i < MAX_FRAMES; i++) {
        free(c->fr[i].domain);
        spf_record_fini(&c->fr[i].rec);
    }
    free(c->sender);
    free(c->local);
    free(c->odomain);
    free(c->helo);
    free(c->ans_rr);
    free(c->name_off);
    free(c->top_domain);
    spf_buf_fini(&c->ans_data);
    spf_buf_fini(&c->names);
    spf_buf_fini(&c->p_value);
    spf_buf_fini(&c->target);
    spf_buf_fini(&c->exp_src);
    spf_buf_fini(&c->tmp);
    spf_buf_fini(&c->mechanism);
    spf_buf_fini(&c->explanation);
    spf_buf_fini(&c->record);
    free(c);
}

static void complete(struct check *c)
{
    struct ks_spf *s = c->spf;
    struct ks_spf_outcome o;
    memset(&o, 0, sizeof o);
    o.result = c->result;
    o.identity = c->ident;
    o.ip = c->ip_c;
    o.sender = c->sender ? c->sender : "";
    o.helo = c->helo ? c->helo : "";
    o.domain = c->top_domain ? c->top_domain : "";
    o.record = spf_buf_str(&c->record);
    o.mechanism =
        c->result == KS_SPF_NONE || c->result >= KS_SPF_TEMPERROR ? "" : spf_buf_str(&c->mechanism);
    o.explanation = c->result == KS_SPF_FAIL ? spf_buf_str(&c->explanation) : "";
    o.problem = c->result == KS_SPF_NONE || c->result >= KS_SPF_TEMPERROR ? c->problem : "";
    o.dns_lookups = c->dns_terms > s->cfg.max_dns_terms ? s->cfg.max_dns_terms : c->dns_terms;
    o.void_lookups = c->voids;
    o.dns_queries = c->queries;
    s->st.results[c->result]++;
    s->st.in_flight--;
    ks_spf_done_fn done = c->done;
    void *arg = c->done_arg;
    done(arg, &o);
    check_free(c);
}

static void run(struct check *c)
{
    if (c->running)
        return;
    c->running = true;
    while (!c->finished && !c->waiting)
        step(c);
    c->running = false;
    if (c->finished)
        complete(c);
}

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int parse_ip(struct check *c, const char *ip)
{
    if (!ip)
        return KS_EINVAL;
    uint8_t b[16];
    if (inet_pton(AF_INET, ip, b) == 1) {
        memcpy(c->ip, b, 4);
        c->v6 = false;
    } else if (inet_pton(AF_INET6, ip, b) == 1) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        /* RFC 7208 5: an IPv4-mapped IPv6 client is an IPv4 client. */
        if (memcmp(b, mapped, 12) == 0) {
            memcpy(c->ip, b + 12, 4);
            c->v6 = false;
        } else {
            memcpy(c->ip, b, 16);
            c->v6 = true;
        }
    } else {
        return KS_EINVAL;
    }
    if (!c->v6) {
        char *o = c->ip_c;
        for (int i = 0; i < 4; i++) {
            unsigned v = c->ip[i];
            if (v >= 100)
                *o++ = (char)('0' + v / 100);
            if (v >= 10)
                *o++ = (char)('0' + v / 10 % 10);
            *o++ = (char)('0' + v % 10);
            *o++ = i < 3 ? '.' : '\0';
        }
        memcpy(c->ip_i, c->ip_c, sizeof c->ip_c);
    } else {
        inet_ntop(AF_INET6, c->ip, c->ip_c, sizeof c->ip_c);
        /* %{i} for IPv6: dot-separated nibbles (RFC 7208 7.3 examples use upper case). */
        static const char hex[] = "0123456789ABCDEF";
        size_t n = 0;
        for (int i = 0; i < 16; i++) {
            c->ip_i[n++] = hex[c->ip[i] >> 4];
            c->ip_i[n++] = '.';
            c->ip_i[n++] = hex[c->ip[i] & 15];
            c->ip_i[n++] = i < 15 ? '.' : '\0';
        }
    }
    return KS_OK;
}

int ks_spf_check_start(struct ks_spf *s, const struct ks_spf_request *req, ks_spf_done_fn done,
                       void *arg)
{
    if (!s || !req || !done)
        return KS_EINVAL;
    if (s->st.in_flight >= s->cfg.max_checks) {
        s->st.rejected++;
        return KS_ELIMIT;
    }
    struct check *c = calloc(1, sizeof *c);
    if (!c)
        return KS_ENOMEM;
    int rc = KS_ENOMEM;
    c->spf = s;
    c->done = done;
    c->done_arg = arg;
    c->ident = req->identity;
    for (int i = 0; i < MAX_FRAMES; i++)
        c->fr[i].rec.redirect = c->fr[i].rec.exp = -1;
    size_t maxe = s->cfg.max_expansion;
    spf_buf_init(&c->ans_data, MAX_ANSWER);
    spf_buf_init(&c->names, MAX_ANSWER);
    spf_buf_init(&c->p_value, 1024);
    spf_buf_init(&c->target, maxe);
    spf_buf_init(&c->exp_src, MAX_ANSWER);
    spf_buf_init(&c->tmp, 1024);
    spf_buf_init(&c->mechanism, MAX_ANSWER);
    spf_buf_init(&c->explanation, maxe);
    spf_buf_init(&c->record, MAX_ANSWER);
    if (parse_ip(c, req->ip) != KS_OK) {
        rc = KS_EINVAL;
        goto fail;
    }
    const char *helo = req->helo ? req->helo : "";
    c->helo = strdup(helo);
    if (!c->helo)
        goto fail;

    /* RFC 7208 2.3/2.4/4.3: the identity, <sender> and <domain>. */
    const char *snd = req->sender ? req->sender : "";
    const char *at = NULL;
    if (req->identity == KS_SPF_MAILFROM && *snd) {
        at = strrchr(snd, '@');
        if (at) {
            c->local = at > snd ? dupn(snd, (size_t)(at - snd)) : strdup("postmaster");
            c->odomain = strdup(at + 1);
        } else {
            c->local = strdup("postmaster");
            c->odomain = strdup(snd);
        }
    } else {
        c->local = strdup("postmaster");
        c->odomain = strdup(helo);
    }
    if (!c->local || !c->odomain)
        goto fail;
    size_t ll = strlen(c->local), ol = strlen(c->odomain);
    c->sender = malloc(ll + ol + 2);
    if (!c->sender)
        goto fail;
    memcpy(c->sender, c->local, ll);
    c->sender[ll] = '@';
    memcpy(c->sender + ll + 1, c->odomain, ol + 1);
    size_t dl = strlen(c->odomain);
    c->top_domain = dupn(c->odomain, dl && c->odomain[dl - 1] == '.' ? dl - 1 : dl);
    c->fr[0].domain = strdup(c->top_domain ? c->top_domain : "");
    if (!c->top_domain || !c->fr[0].domain)
        goto fail;
    s->st.checks++;
    s->st.in_flight++;
    if (!spf_domain_ok(c->top_domain, strlen(c->top_domain))) {
        snprintf(c->problem, sizeof c->problem, "'%.200s' is not a valid domain name",
                 c->top_domain);
        finish(c, KS_SPF_NONE);
    } else {
        c->st = ST_FETCH;
    }
    run(c);
    return KS_OK;
fail:
    check_free(c);
    return rc;
}

/* ---- synchronous wrapper ----------------------------------------------------------------- */

struct sync_ctx {
    struct ks_spf_outcome *out;
    bool done;
    int rc;
};

static const char *dup_or_empty(const char *s, int *rc)
{
    if (!s || !*s)
        return "";
    char *p = strdup(s);
    if (!p)
        *rc = KS_ENOMEM;
    return p ? p : "";
}

static void sync_done(void *arg, const struct ks_spf_outcome *o)
{
    struct sync_ctx *x = arg;
    struct ks_spf_outcome *out = x->out;
    *out = *o;
    out->ip = dup_or_empty(o->ip, &x->rc);
    out->sender = dup_or_empty(o->sender, &x->rc);
    out->helo = dup_or_empty(o->helo, &x->rc);
    out->domain = dup_or_empty(o->domain, &x->rc);
    out->record = dup_or_empty(o->record, &x->rc);
    out->mechanism = dup_or_empty(o->mechanism, &x->rc);
    out->explanation = dup_or_empty(o->explanation, &x->rc);
    out->problem = dup_or_empty(o->problem, &x->rc);
    x->done = true;
}

static void free_str(const char *s)
{
    if (s && *s)
        free((char *)s);
}

void ks_spf_outcome_fini(struct ks_spf_outcome *o)
{
    if (!o)
        return;
    free_str(o->ip);
    free_str(o->sender);
    free_str(o->helo);
    free_str(o->domain);
    free_str(o->record);
    free_str(o->mechanism);
    free_str(o->explanation);
    free_str(o->problem);
    memset(o, 0, sizeof *o);
}

int ks_spf_check(struct ks_spf *s, const struct ks_spf_request *req, struct ks_spf_outcome *out)
{
    struct sync_ctx x = {out, false, KS_OK};
    memset(out, 0, sizeof *out);
    int rc = ks_spf_check_start(s, req, sync_done, &x);
    if (rc != KS_OK)
        return rc;
    while (!x.done) {
        if (!s->dns.wait)
            return KS_EINVAL; /* the DNS never completes: a programming error */
        rc = s->dns.wait(s->dns.ctx);
        if (rc != KS_OK && !x.done)
            return rc;
    }
    return x.rc;
}
