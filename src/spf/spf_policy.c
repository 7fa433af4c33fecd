/* Postfix SMTP access policy delegation (Postfix SMTPD_POLICY_README): requests are lines of
 * "name=value" ended by an empty line; the answer is "action=..." and an empty line. The
 * connection stays open for more requests. A connection is a small state machine driven by
 * the bytes fed to it and by the completion of its SPF checks, so one thread serves many. */
#include "spf_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct skip_prefix {
    bool v6;
    uint8_t ip[16];
    unsigned len;
};

struct ks_spf_policy {
    struct ks_spf_policy_config cfg;
    char *action[KS_SPF_NRESULTS];
    char *receiver;
    struct skip_prefix *skip;
    size_t nskip;
    struct ks_spf *spf;
    struct ks_spf_policy_stats st;
};

enum cstate { C_IDLE, C_HELO_START, C_HELO_RUN, C_HELO_DONE, C_MF_START, C_MF_RUN, C_MF_DONE };

struct ks_spf_policy_conn {
    struct ks_spf_policy *p;
    void (*reply)(void *arg, const char *text, size_t len);
    void *arg;
    struct spf_buf in;
    enum cstate st;
    bool pumping, dead;
    /* the request being answered */
    char *client, *helo, *sender, *instance;
    bool helo_failed;
    struct spf_buf answer;
    /* per-instance cache */
    char *last_instance;
    struct spf_buf last_answer;
};

static const char *const default_actions[KS_SPF_NRESULTS] = {
    [KS_SPF_NONE] = "PREPEND",      [KS_SPF_NEUTRAL] = "PREPEND",
    [KS_SPF_PASS] = "PREPEND",      [KS_SPF_FAIL] = "550 5.7.23 %s",
    [KS_SPF_SOFTFAIL] = "PREPEND",  [KS_SPF_TEMPERROR] = "451 4.7.24 SPF temporary error: %s",
    [KS_SPF_PERMERROR] = "PREPEND",
};

void ks_spf_policy_config_default(struct ks_spf_policy_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (int i = 0; i < KS_SPF_NRESULTS; i++)
        cfg->action[i] = default_actions[i];
    cfg->check_helo = true;
    cfg->receiver = "unknown";
    cfg->max_request = 65536;
}

static int parse_skip(struct ks_spf_policy *p, const char *list)
{
    const char *s = list;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        char buf[64];
        if (n == 0 || n >= sizeof buf)
            return KS_EINVAL;
        memcpy(buf, s, n);
        buf[n] = '\0';
        struct skip_prefix sp;
        memset(&sp, 0, sizeof sp);
        char *slash = strchr(buf, '/');
        long len = -1;
        if (slash) {
            *slash = '\0';
            char *end;
            len = strtol(slash + 1, &end, 10);
            if (*end || slash[1] == '\0')
                return KS_EINVAL;
        }
        if (inet_pton(AF_INET, buf, sp.ip) == 1) {
            sp.len = len < 0 ? 32 : (unsigned)len;
            if (len > 32)
                return KS_EINVAL;
        } else if (inet_pton(AF_INET6, buf, sp.ip) == 1) {
            sp.v6 = true;
            sp.len = len < 0 ? 128 : (unsigned)len;
            if (len > 128)
                return KS_EINVAL;
        } else {
            return KS_EINVAL;
        }
        struct skip_prefix *np = realloc(p->skip, (p->nskip + 1) * sizeof *np);
        if (!np)
            return KS_ENOMEM;
        p->skip = np;
        p->skip[p->nskip++] = sp;
        s += n;
        if (*s == ',')
            s++;
    }
    return KS_OK;
}

int ks_spf_policy_new(const struct ks_spf_policy_config *cfg, struct ks_spf *spf,
                      struct ks_spf_policy **pp)
{
    *pp = NULL;
    struct ks_spf_policy *p = calloc(1, sizeof *p);
    if (!p)
        return KS_ENOMEM;
    if (cfg)
        p->cfg = *cfg;
    else
        ks_spf_policy_config_default(&p->cfg);
    p->spf = spf;
    int rc = KS_ENOMEM;
    for (int i = 0; i < KS_SPF_NRESULTS; i++) {
        const char *a = p->cfg.action[i] ? p->cfg.action[i] : default_actions[i];
        if (!(p->action[i] = strdup(a)))
            goto fail;
    }
    if (!(p->receiver = strdup(p->cfg.receiver ? p->cfg.receiver : "unknown")))
        goto fail;
    if (p->cfg.skip && (rc = parse_skip(p, p->cfg.skip)) != KS_OK)
        goto fail;
    if (p->cfg.max_request < 1024)
        p->cfg.max_request = 1024;
    *pp = p;
    return KS_OK;
fail:
    ks_spf_policy_free(p);
    return rc;
}

void ks_spf_policy_free(struct ks_spf_policy *p)
{
    if (!p)
        return;
    for (int i = 0; i < KS_SPF_NRESULTS; i++)
        free(p->action[i]);
    free(p->receiver);
    free(p->skip);
    free(p);
}

void ks_spf_policy_stats(const struct ks_spf_policy *p, struct ks_spf_policy_stats *st)
{
    *st = p->st;
}

int ks_spf_policy_conn_new(struct ks_spf_policy *p,
                           void (*reply)(void *arg, const char *text, size_t len), void *arg,
                           struct ks_spf_policy_conn **cp)
{
    struct ks_spf_policy_conn *c = calloc(1, sizeof *c);
    if (!c)
        return KS_ENOMEM;
    c->p = p;
    c->reply = reply;
    c->arg = arg;
    spf_buf_init(&c->in, (size_t)p->cfg.max_request * 2);
    spf_buf_init(&c->answer, 1 << 16);
    spf_buf_init(&c->last_answer, 1 << 16);
    *cp = c;
    return KS_OK;
}

static void clear_request(struct ks_spf_policy_conn *c)
{
    free(c->client);
    free(c->helo);
    free(c->sender);
    free(c->instance);
    c->client = c->helo = c->sender = c->instance = NULL;
}

static void conn_destroy(struct ks_spf_policy_conn *c)
{
    clear_request(c);
    free(c->last_instance);
    spf_buf_fini(&c->in);
    spf_buf_fini(&c->answer);
    spf_buf_fini(&c->last_answer);
    free(c);
}

bool ks_spf_policy_conn_busy(const struct ks_spf_policy_conn *c)
{
    return c->st != C_IDLE;
}

void ks_spf_policy_conn_free(struct ks_spf_policy_conn *c)
{
    if (!c)
        return;
    if (c->st == C_HELO_RUN || c->st == C_MF_RUN || c->pumping)
        c->dead = true; /* the running check's callback frees it */
    else
        conn_destroy(c);
}

/* Appends text with anything that could break the line protocol replaced. */
static void add_safe(struct spf_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        spf_buf_addc(b, ch >= 0x20 && ch < 0x7f ? (char)ch : '?');
    }
}

/* The answer for an outcome, into c->answer (without "action=" and the final newlines). */
static void format_action(struct ks_spf_policy_conn *c, const struct ks_spf_outcome *o)
{
    struct ks_spf_policy *p = c->p;
    const char *a = p->action[o->result];
    struct spf_buf *b = &c->answer;
    b->len = 0;
    spf_buf_add(b, "", 0);
    if (strcmp(a, "PREPEND") == 0) {
        char *h = ks_spf_received_spf(o, p->receiver);
        spf_buf_add(b, "PREPEND Received-SPF: ", 22);
        add_safe(b, h ? h : ks_spf_result_name(o->result));
        free(h);
        return;
    }
    const char *text = o->result == KS_SPF_FAIL ? o->explanation : o->problem;
    if (!text[0])
        text = ks_spf_result_name(o->result);
    for (const char *s = a; *s; s++) {
        if (s[0] == '%' && s[1] == 's') {
            add_safe(b, text);
            s++;
        } else {
            spf_buf_addc(b, *s);
        }
    }
}

static void send_answer(struct ks_spf_policy_conn *c, const char *action)
{
    struct spf_buf out;
    spf_buf_init(&out, 1 << 17);
    spf_buf_add(&out, "action=", 7);
    spf_buf_add(&out, action, strlen(action));
    spf_buf_add(&out, "\n\n", 2);
    c->p->st.replies++;
    if (out.p)
        c->reply(c->arg, out.p, out.len);
    spf_buf_fini(&out);
    /* Remember it for the next request of the same message. */
    if (c->instance && c->instance[0]) {
        free(c->last_instance);
        c->last_instance = strdup(c->instance);
        c->last_answer.len = 0;
        spf_buf_add(&c->last_answer, action, strlen(action));
    }
}

static bool skipped(struct ks_spf_policy *p, const char *client)
{
    uint8_t ip[16];
    bool v6 = false;
    if (inet_pton(AF_INET, client, ip) != 1) {
        if (inet_pton(AF_INET6, client, ip) != 1)
            return false;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(ip, mapped, 12) == 0)
            memmove(ip, ip + 12, 4);
        else
            v6 = true;
    }
    for (size_t i = 0; i < p->nskip; i++) {
        const struct skip_prefix *s = &p->skip[i];
        if (s->v6 != v6)
            continue;
        unsigned full = s->len / 8, rest = s->len % 8;
        if (memcmp(ip, s->ip, full) != 0)
            continue;
        if (rest && ((ip[full] ^ s->ip[full]) & (0xff << (8 - rest))))
            continue;
        return true;
    }
    return false;
}

static char *dup_value(const char *v, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, v, n);
        s[n] = '\0';
    }
    return s;
}

/* Takes the next complete request out of c->in; false when there is none yet. Sets *request
 * to whether it was an smtpd_access_policy request. */
static bool next_request(struct ks_spf_policy_conn *c, bool *policy)
{
    char *buf = c->in.p;
    size_t len = c->in.len, end = 0, lead = 0;
    bool found = false;
    /* Stray empty lines between requests are skipped. */
    while (lead < len && (buf[lead] == '\n' || buf[lead] == '\r'))
        lead++;
    if (lead) {
        memmove(buf, buf + lead, len - lead);
        len -= lead;
        c->in.len = len;
        buf[len] = '\0';
    }
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] == '\n' && buf[i + 1] == '\n') {
            end = i + 2;
            found = true;
            break;
        }
    }
    if (!found)
        return false;
    clear_request(c);
    *policy = false;
    size_t pos = 0;
    while (pos < end) {
        size_t nl = pos;
        while (nl < end && buf[nl] != '\n')
            nl++;
        const char *line = buf + pos;
        size_t ll = nl - pos;
        if (ll && line[ll - 1] == '\r')
            ll--;
        pos = nl + 1;
        if (ll == 0)
            continue;
        const char *eq = memchr(line, '=', ll);
        if (!eq) {
            c->p->st.bad_requests++;
            continue;
        }
        size_t kl = (size_t)(eq - line), vl = ll - kl - 1;
        const char *v = eq + 1;
        char **slot = NULL;
        if (kl == 7 && memcmp(line, "request", 7) == 0)
            *policy = vl == 19 && memcmp(v, "smtpd_access_policy", 19) == 0;
        else if (kl == 14 && memcmp(line, "client_address", 14) == 0)
            slot = &c->client;
        else if (kl == 9 && memcmp(line, "helo_name", 9) == 0)
            slot = &c->helo;
        else if (kl == 6 && memcmp(line, "sender", 6) == 0)
            slot = &c->sender;
        else if (kl == 8 && memcmp(line, "instance", 8) == 0)
            slot = &c->instance;
        /* Unknown attributes are ignored (the protocol grows). */
        if (slot) {
            free(*slot);
            *slot = dup_value(v, vl);
        }
    }
    memmove(buf, buf + end, len - end);
    c->in.len = len - end;
    buf[c->in.len] = '\0';
    return true;
}

static void pump(struct ks_spf_policy_conn *c);

static void check_done(void *arg, const struct ks_spf_outcome *o)
{
    struct ks_spf_policy_conn *c = arg;
    c->p->st.results[o->result]++;
    if (c->p->cfg.on_outcome)
        c->p->cfg.on_outcome(c->p->cfg.on_outcome_arg, o);
    if (c->st == C_HELO_RUN) {
        c->helo_failed = o->result == KS_SPF_FAIL;
        if (c->helo_failed)
            format_action(c, o);
        c->st = C_HELO_DONE;
    } else {
        format_action(c, o);
        c->st = C_MF_DONE;
    }
    if (c->dead && !c->pumping) {
        conn_destroy(c);
        return;
    }
    pump(c);
}

static void start_check(struct ks_spf_policy_conn *c, enum ks_spf_identity id)
{
    struct ks_spf_request req = {c->client, c->sender ? c->sender : "", c->helo ? c->helo : "", id};
    c->st = id == KS_SPF_HELO ? C_HELO_RUN : C_MF_RUN;
    int rc = ks_spf_check_start(c->p->spf, &req, check_done, c);
    if (rc != KS_OK) {
        /* Cannot check now (overload): a temporary answer. */
        struct ks_spf_outcome o;
        memset(&o, 0, sizeof o);
        o.result = KS_SPF_TEMPERROR;
        o.identity = id;
        o.ip = c->client;
        o.sender = o.helo = o.domain = o.record = o.mechanism = o.explanation = "";
        o.problem = rc == KS_ELIMIT ? "too many checks in flight" : "check failed";
        format_action(c, &o);
        c->st = C_MF_DONE;
    }
}

static void pump(struct ks_spf_policy_conn *c)
{
    if (c->pumping)
        return;
    c->pumping = true;
    for (;;) {
        bool policy;
        switch (c->st) {
        case C_IDLE:
            if (c->dead || !c->in.len || !next_request(c, &policy))
                goto out;
            c->p->st.requests++;
            if (!policy || !c->client) {
                if (policy)
                    c->p->st.bad_requests++;
                send_answer(c, "DUNNO");
                continue;
            }
            if (c->instance && c->instance[0] && c->last_instance &&
                strcmp(c->instance, c->last_instance) == 0) {
                c->p->st.cached++;
                char *a = strdup(spf_buf_str(&c->last_answer));
                send_answer(c, a ? a : "DUNNO");
                free(a);
                continue;
            }
            if (c->p->nskip && skipped(c->p, c->client)) {
                c->p->st.skipped++;
                send_answer(c, "DUNNO");
                continue;
            }
            c->st = c->p->cfg.check_helo && c->helo && c->helo[0] ? C_HELO_START : C_MF_START;
            continue;
        case C_HELO_START:
            start_check(c, KS_SPF_HELO);
            continue;
        case C_HELO_DONE:
            if (c->helo_failed) {
                c->st = C_IDLE;
                send_answer(c, spf_buf_str(&c->answer));
            } else {
                c->st = C_MF_START;
            }
            continue;
        case C_MF_START:
            start_check(c, KS_SPF_MAILFROM);
            continue;
        case C_MF_DONE:
            c->st = C_IDLE;
            send_answer(c, spf_buf_str(&c->answer));
            continue;
        case C_HELO_RUN:
        case C_MF_RUN:
            goto out;
        }
    }
out:
    c->pumping = false;
    if (c->dead && c->st != C_HELO_RUN && c->st != C_MF_RUN)
        conn_destroy(c);
}

int ks_spf_policy_conn_feed(struct ks_spf_policy_conn *c, const char *data, size_t len)
{
    if (memchr(data, '\0', len)) {
        c->p->st.bad_requests++;
        return KS_EFORMAT;
    }
    if (spf_buf_add(&c->in, data, len) != KS_OK) {
        c->p->st.bad_requests++;
        return KS_ELIMIT;
    }
    /* A request that grows past the limit without its empty line ends the connection. */
    if (c->in.len > c->p->cfg.max_request && !memmem(c->in.p, c->in.len, "\n\n", 2)) {
        c->p->st.bad_requests++;
        return KS_ELIMIT;
    }
    pump(c);
    return KS_OK;
}
