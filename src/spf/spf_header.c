/* Received-SPF (RFC 7208 9.1) and Authentication-Results (RFC 8601 2.7.2) field values. */
#include "spf_int.h"

#include <stdio.h>
#include <string.h>

/* Appends s as a quoted-string (RFC 5322 3.2.4); bytes outside printable ASCII become '?'. */
static void add_quoted(struct spf_buf *b, const char *s)
{
    spf_buf_addc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            spf_buf_addc(b, '\\');
        spf_buf_addc(b, c >= 0x20 && c < 0x7f ? (char)c : '?');
    }
    spf_buf_addc(b, '"');
}

/* Appends s inside a comment: parentheses and backslashes escaped. */
static void add_ctext(struct spf_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '(' || c == ')' || c == '\\')
            spf_buf_addc(b, '\\');
        spf_buf_addc(b, c >= 0x20 && c < 0x7f ? (char)c : '?');
    }
}

/* A dot-atom (RFC 5322 3.2.3) can go unquoted. */
static bool is_dot_atom(const char *s)
{
    if (!*s || *s == '.')
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '.' && (p[1] == '.' || p[1] == '\0'))
            return false;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(".!#$%&'*+-/=?^_`{|}~", c)))
            return false;
    }
    return true;
}

static void add_value(struct spf_buf *b, const char *s)
{
    if (is_dot_atom(s))
        spf_buf_add(b, s, strlen(s));
    else
        add_quoted(b, s);
}

/* RFC 8601 pvalue: [ [ local-part ] "@" ] domain-name goes unquoted when both are atoms. */
static void add_pvalue(struct spf_buf *b, const char *s)
{
    const char *at = strrchr(s, '@');
    if (at && is_dot_atom(at + 1)) {
        char local[256];
        size_t n = (size_t)(at - s);
        if (n < sizeof local) {
            memcpy(local, s, n);
            local[n] = '\0';
            if (n == 0 || is_dot_atom(local)) {
                spf_buf_add(b, s, strlen(s));
                return;
            }
        }
    }
    add_value(b, s);
}

static void add(struct spf_buf *b, const char *s)
{
    spf_buf_add(b, s, strlen(s));
}

char *ks_spf_received_spf(const struct ks_spf_outcome *o, const char *receiver)
{
    struct spf_buf b;
    spf_buf_init(&b, 1 << 16);
    const char *who = o->identity == KS_SPF_HELO ? o->helo : o->sender;
    if (!receiver || !*receiver)
        receiver = "unknown";
    add(&b, ks_spf_result_name(o->result));
    add(&b, " (");
    add_ctext(&b, receiver);
    add(&b, ": ");
    switch (o->result) {
    case KS_SPF_PASS:
        add(&b, "domain of ");
        add_ctext(&b, who);
        add(&b, " designates ");
        add_ctext(&b, o->ip);
        add(&b, " as permitted sender");
        break;
    case KS_SPF_FAIL:
    case KS_SPF_SOFTFAIL:
        add(&b, "domain of ");
        add_ctext(&b, who);
        add(&b, o->result == KS_SPF_FAIL ? " does not designate " : " discourages use of ");
        add_ctext(&b, o->ip);
        add(&b, " as permitted sender");
        break;
    case KS_SPF_NEUTRAL:
        add(&b, "domain of ");
        add_ctext(&b, who);
        add(&b, " neither permits nor denies ");
        add_ctext(&b, o->ip);
        break;
    case KS_SPF_NONE:
        add(&b, "domain of ");
        add_ctext(&b, who);
        add(&b, " publishes no SPF policy");
        break;
    default:
        add(&b, "error checking ");
        add_ctext(&b, who);
        add(&b, ": ");
        add_ctext(&b, o->problem);
        break;
    }
    add(&b, ") client-ip=");
    add(&b, o->ip);
    add(&b, "; envelope-from=");
    add_quoted(&b, o->sender);
    add(&b, "; helo=");
    add_value(&b, o->helo[0] ? o->helo : "unknown");
    if (o->problem[0] && o->result >= KS_SPF_TEMPERROR) {
        add(&b, "; problem=");
        add_quoted(&b, o->problem);
    }
    add(&b, "; receiver=");
    add_value(&b, receiver);
    add(&b, "; identity=");
    add(&b, o->identity == KS_SPF_HELO ? "helo" : "mailfrom");
    if (o->mechanism[0]) {
        add(&b, "; mechanism=");
        add_quoted(&b, o->mechanism);
    }
    add(&b, ";");
    return b.p;
}

char *ks_spf_auth_results(const struct ks_spf_outcome *o, const char *authserv_id)
{
    struct spf_buf b;
    spf_buf_init(&b, 1 << 16);
    add_value(&b, authserv_id && *authserv_id ? authserv_id : "unknown");
    add(&b, "; spf=");
    add(&b, ks_spf_result_name(o->result));
    add(&b, " (");
    if (o->problem[0] && o->result >= KS_SPF_TEMPERROR) {
        add_ctext(&b, o->problem);
    } else {
        add(&b, "client-ip ");
        add_ctext(&b, o->ip);
    }
    add(&b, ")");
    if (o->identity == KS_SPF_HELO) {
        add(&b, " smtp.helo=");
        add_value(&b, o->helo);
    } else {
        add(&b, " smtp.mailfrom=");
        add_pvalue(&b, o->sender);
    }
    return b.p;
}
