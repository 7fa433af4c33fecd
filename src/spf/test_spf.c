/* Unit tests of the SPF module: record syntax, macros (RFC 7208 7.4 examples), limits and
 * results over an in-process zone, headers, and the DNS message parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kansoku/ks_store.h"
#include "spf/spf_int.h"

/* ---- record syntax ----------------------------------------------------------------------- */

static int parse_ok(const char *txt)
{
    char err[128];
    return ks_spf_record_check(txt, strlen(txt), err, sizeof err) == KS_OK;
}

static void valid_records_parse(void **state)
{
    (void)state;
    assert_true(parse_ok("v=spf1"));
    assert_true(parse_ok("v=spf1 -all"));
    assert_true(parse_ok("V=SPF1 +a mx/24//64 ptr ip4:192.0.2.0/24 ip6:2001:db8::/32 ?all"));
    assert_true(parse_ok("v=spf1 a:foo:bar/baz.example.com include:_spf.example.com -all"));
    assert_true(parse_ok("v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} redirect=%{d}.example.net"));
    assert_true(parse_ok("v=spf1 moo.cow-far_out=man:dog/cat -all "));
    assert_true(parse_ok("v=spf1 a:foo.example.xn--zckzah ip4:1.1.1.1/0 ip6:::1/0"));
}

static void syntax_errors_anywhere_are_rejected(void **state)
{
    (void)state;
    assert_false(parse_ok("v=spf1 ip4:1.2.3.4 -all moo"));
    assert_false(parse_ok("v=spf1 -all."));
    assert_false(parse_ok("v=spf1 -all:foo"));
    assert_false(parse_ok("v=spf1 ptr/0"));
    assert_false(parse_ok("v=spf1 include"));
    assert_false(parse_ok("v=spf1 exists:"));
    assert_false(parse_ok("v=spf1 redirect:example.com"));
    assert_false(parse_ok("v=spf1 1up=foo"));
    assert_false(parse_ok("v=spf1 =all"));
    assert_false(parse_ok("v=spf1 foo=%abc"));
    assert_false(parse_ok("v=spf1 exp=a.example.com exp=b.example.com"));
    assert_false(parse_ok("v=spf1 redirect=a.example.com redirect=b.example.com"));
    assert_false(parse_ok("v=spf1 exp="));
    assert_false(parse_ok("v=spf1 exp=%{r}.example.com"));
    assert_false(parse_ok("v=spf1 a:%{a}.example.com"));
    assert_false(parse_ok("v=spf1 a:example.-com"));
    assert_false(parse_ok("v=spf1 a:museum"));
    assert_false(parse_ok("v=spf1 a:abc.123"));
    assert_false(parse_ok("v=spf1 a:111.222.33.44"));
    assert_false(parse_ok("v=spf1 a:example.com:8080"));
    assert_false(parse_ok("v=spf1 a\x0dptr"));
    assert_false(parse_ok("v=spf1 \x80"
                          "a"));
    assert_false(parse_ok("v=spf10"));
}

static void cidr_lengths_are_checked(void **state)
{
    (void)state;
    assert_true(parse_ok("v=spf1 a//33 a/0 a//0 a/32//128"));
    assert_false(parse_ok("v=spf1 a/33"));
    assert_false(parse_ok("v=spf1 a//129"));
    assert_false(parse_ok("v=spf1 a/24/64"));
    assert_false(parse_ok("v=spf1 ip4:1.2.3.4/032"));
    assert_false(parse_ok("v=spf1 ip4:1.2.3.4//32"));
    assert_false(parse_ok("v=spf1 ip4:1.2.3"));
    assert_false(parse_ok("v=spf1 ip6:::1.1.1.1/129"));
    assert_false(parse_ok("v=spf1 ip6::CAFE::BABE"));
}

static void dual_cidr_is_split_from_the_domain(void **state)
{
    (void)state;
    struct spf_record r;
    const char *t = "v=spf1 a:foo.example.com/24//64 mx";
    assert_int_equal(spf_record_parse(t, strlen(t), &r, NULL, 0), KS_OK);
    assert_int_equal(r.nterms, 2);
    assert_int_equal(r.terms[0].cidr4, 24);
    assert_int_equal(r.terms[0].cidr6, 64);
    assert_int_equal(r.terms[0].spec_len, strlen("foo.example.com"));
    assert_memory_equal(r.text + r.terms[0].spec_off, "foo.example.com", 15);
    assert_int_equal(r.terms[1].cidr4, 32);
    assert_int_equal(r.terms[1].cidr6, 128);
    spf_record_fini(&r);
}

/* ---- macros ------------------------------------------------------------------------------ */

/* The context of RFC 7208 7.4. */
static const struct spf_macro_ctx rfc_ctx = {.s = "strong-bad@email.example.com",
                                             .l = "strong-bad",
                                             .o = "email.example.com",
                                             .d = "email.example.com",
                                             .i = "192.0.2.3",
                                             .p = "unknown",
                                             .v = "in-addr",
                                             .h = "mx.example.org",
                                             .c = "192.0.2.3",
                                             .r = "mx.example.org",
                                             .t = "1700000000"};

static void expect_expand(const struct spf_macro_ctx *m, const char *in, bool exp, const char *want)
{
    struct spf_buf b;
    spf_buf_init(&b, 4096);
    assert_int_equal(spf_macro_expand(m, in, strlen(in), exp, &b), KS_OK);
    assert_string_equal(spf_buf_str(&b), want);
    spf_buf_fini(&b);
}

static void rfc7208_section_7_4_ipv4_examples_expand(void **state)
{
    (void)state;
    const struct spf_macro_ctx *m = &rfc_ctx;
    expect_expand(m, "%{s}", false, "strong-bad@email.example.com");
    expect_expand(m, "%{o}", false, "email.example.com");
    expect_expand(m, "%{d}", false, "email.example.com");
    expect_expand(m, "%{d4}", false, "email.example.com");
    expect_expand(m, "%{d3}", false, "email.example.com");
    expect_expand(m, "%{d2}", false, "example.com");
    expect_expand(m, "%{d1}", false, "com");
    expect_expand(m, "%{dr}", false, "com.example.email");
    expect_expand(m, "%{d2r}", false, "example.email");
    expect_expand(m, "%{l}", false, "strong-bad");
    expect_expand(m, "%{l-}", false, "strong.bad");
    expect_expand(m, "%{lr}", false, "strong-bad");
    expect_expand(m, "%{lr-}", false, "bad.strong");
    expect_expand(m, "%{l1r-}", false, "strong");
    expect_expand(m, "%{ir}.%{v}._spf.%{d2}", false, "3.2.0.192.in-addr._spf.example.com");
    expect_expand(m, "%{lr-}.lp._spf.%{d2}", false, "bad.strong.lp._spf.example.com");
    expect_expand(m, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", false,
                  "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
    expect_expand(m, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", false,
                  "3.2.0.192.in-addr.strong.lp._spf.example.com");
    expect_expand(m, "%{d2}.trusted-domains.example.net", false,
                  "example.com.trusted-domains.example.net");
}

static void rfc7208_section_7_4_ipv6_example_expands(void **state)
{
    (void)state;
    struct spf_macro_ctx m = rfc_ctx;
    m.i = "2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.C.B.0.1";
    m.v = "ip6";
    expect_expand(&m, "%{ir}.%{v}._spf.%{d2}", false,
                  "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf."
                  "example.com");
}

static void escapes_and_url_encoding_expand(void **state)
{
    (void)state;
    struct spf_macro_ctx m = rfc_ctx;
    m.l = "~jack&jill=up-a_b3.c";
    expect_expand(&m, "%{L}", false, "~jack%26jill%3Dup-a_b3.c");
    expect_expand(&m, "a%%b%_c%-d", false, "a%b c%20d");
    m.l = "foo-bar+zip+quux";
    expect_expand(&m, "%{l2r+-}", false, "bar.foo");
    expect_expand(&m, "%{c} %{r} %{t}", true, "192.0.2.3 mx.example.org 1700000000");
}

static void macro_syntax_errors_are_reported(void **state)
{
    (void)state;
    const char *bad[] = {"%", "%{", "%{d", "%{x}", "%{d0}", "%(ir)", "foo%.bar", "%{c}"};
    struct spf_buf b;
    spf_buf_init(&b, 4096);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b.len = 0;
        assert_int_equal(spf_macro_expand(&rfc_ctx, bad[i], strlen(bad[i]), false, &b), KS_EFORMAT);
        assert_int_equal(spf_macro_check(bad[i], strlen(bad[i]), false, NULL), KS_EFORMAT);
    }
    spf_buf_fini(&b);
}

static void huge_expansions_hit_the_limit(void **state)
{
    (void)state;
    struct spf_macro_ctx m = rfc_ctx;
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    m.l = big;
    struct spf_buf b;
    spf_buf_init(&b, 8192);
    const char *s = "%{l}%{l}%{l}%{l}%{l}%{l}%{l}%{l}";
    assert_int_equal(spf_macro_expand(&m, s, strlen(s), false, &b), KS_ELIMIT);
    assert_true(b.len <= 8192);
    spf_buf_fini(&b);
}

static void long_names_lose_left_labels(void **state)
{
    (void)state;
    char name[600];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(name + n, sizeof name - n, "label%02d.", i);
    n += (size_t)snprintf(name + n, sizeof name - n, "example.com.");
    size_t len = n;
    size_t start = spf_domain_truncate(name, &len);
    assert_true(len <= 253);
    assert_true(start > 0);
    assert_memory_equal(name + start + len - 11, "example.com", 11);
    assert_true(name[start - 1] == '.');
}

/* ---- checks over a zone ------------------------------------------------------------------ */

struct fx {
    struct ks_spf_zone *z;
    struct ks_spf *s;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(ks_spf_zone_new(&f->z), KS_OK);
    struct ks_spf_config cfg;
    ks_spf_config_default(&cfg);
    cfg.default_explanation = "DEFAULT %{i}";
    assert_int_equal(ks_spf_new(&cfg, ks_spf_zone_dns(f->z), &f->s), KS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ks_spf_free(f->s);
    ks_spf_zone_free(f->z);
    free(f);
    return 0;
}

static void txt(struct fx *f, const char *name, const char *t)
{
    assert_int_equal(ks_spf_zone_add(f->z, name, KS_DNS_TXT, t, strlen(t)), KS_OK);
}

static void a4(struct fx *f, const char *name, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    uint8_t ip[4] = {a, b, c, d};
    assert_int_equal(ks_spf_zone_add(f->z, name, KS_DNS_A, ip, 4), KS_OK);
}

static enum ks_spf_result check(struct fx *f, const char *ip, const char *from,
                                struct ks_spf_outcome *out)
{
    struct ks_spf_request req = {ip, from, "mail.example.org", KS_SPF_MAILFROM};
    assert_int_equal(ks_spf_check(f->s, &req, out), KS_OK);
    return out->result;
}

static void ip4_match_passes_and_all_fails(void **state)
{
    struct fx *f = *state;
    txt(f, "example.com", "v=spf1 ip4:192.0.2.0/24 -all");
    struct ks_spf_outcome o;
    assert_int_equal(check(f, "192.0.2.9", "a@example.com", &o), KS_SPF_PASS);
    assert_string_equal(o.mechanism, "ip4:192.0.2.0/24");
    ks_spf_outcome_fini(&o);
    assert_int_equal(check(f, "198.51.100.1", "a@example.com", &o), KS_SPF_FAIL);
    assert_string_equal(o.explanation, "DEFAULT 198.51.100.1");
    assert_string_equal(o.mechanism, "-all");
    ks_spf_outcome_fini(&o);
}

static void ipv4_mapped_client_is_ipv4(void **state)
{
    struct fx *f = *state;
    txt(f, "example.com", "v=spf1 ip4:192.0.2.0/24 -all");
    struct ks_spf_outcome o;
    assert_int_equal(check(f, "::ffff:192.0.2.9", "a@example.com", &o), KS_SPF_PASS);
    assert_string_equal(o.ip, "192.0.2.9");
    ks_spf_outcome_fini(&o);
}

static void no_record_is_none_and_two_are_permerror(void **state)
{
    struct fx *f = *state;
    txt(f, "two.example.com", "v=spf1 -all");
    txt(f, "two.example.com", "v=spf1 +all");
    txt(f, "other.example.com", "google-site-verification=x");
    struct ks_spf_outcome o;
    assert_int_equal(check(f, "192.0.2.1", "a@other.example.com", &o), KS_SPF_NONE);
    ks_spf_outcome_fini(&o);
    assert_int_equal(check(f, "192.0.2.1", "a@two.example.com", &o), KS_SPF_PERMERROR);
    ks_spf_outcome_fini(&o);
}

static void dns_timeout_is_temperror(void **state)
{
    struct fx *f = *state;
    assert_int_equal(ks_spf_zone_add_timeout(f->z, "slow.example.com", 0), KS_OK);
    struct ks_spf_outcome o;
    assert_int_equal(check(f, "192.0.2.1", "a@slow.example.com", &o), KS_SPF_TEMPERROR);
    assert_true(strlen(o.problem) > 0);
    ks_spf_outcome_fini(&o);
}

static void eleventh_dns_term_is_permerror(void **state)
{
    struct fx *f = *state;
    txt(f, "example.com", "v=spf1 include:i1.example.com ip4:192.0.2.1 -all");
    txt(f, "i1.example.com", "v=spf1 a a a a a include:i2.example.com");
    txt(f, "i2.example.com", "v=spf1 a a a a a");
    a4(f, "i1.example.com", 198, 51, 100, 1);
    a4(f, "i2.example.com", 198, 51, 100, 2);
    struct ks_spf_outcome o;
    assert_int_equal(check(f, "192.0.2.1", "a@example.com", &o), KS_SPF_PERMERROR);
    assert_int_equal(o.dns_lookups, 10);
    ks_spf_outcome_fini(&o);
}

static void third_void_lookup_is_permerror(void **state)
{
    struct fx *f = *state;
    txt(f, "example.com", "v=spf1 a:n1.example.com a:n2.example.com a:n3.example.com -all");
    struct ks_spf_outcome o;
    assert_int_equal(check(f, "192.0.2.1", "a@example.com", &o), KS_SPF_PERMERROR);
    assert_int_equal(o.void_lookups, 3);
    ks_spf_outcome_fini(&o);
}

static void include_loop_is_permerror(void **state)
{
    struct fx *f = *state;
    txt(f, "example.com", "v=spf1 include:example.com -all");
    struct ks_spf_outcome o;
    assert_int_equal(check(f, "192.0.2.1", "a@example.com", &o), KS_SPF_PERMERROR);
    ks_spf_outcome_fini(&o);
}

static void eleven_mx_names_are_permerror(void **state)
{
    struct fx *f = *state;
    txt(f, "example.com", "v=spf1 mx -all");
    for (int i = 0; i < 11; i++) {
        char n[32];
        snprintf(n, sizeof n, "mx%d.example.com", i);
        assert_int_equal(ks_spf_zone_add(f->z, "example.com", KS_DNS_MX, n, strlen(n)), KS_OK);
    }
    struct ks_spf_outcome o;
    assert_int_equal(check(f, "192.0.2.1", "a@example.com", &o), KS_SPF_PERMERROR);
    ks_spf_outcome_fini(&o);
}

static void exp_is_expanded_for_fail(void **state)
{
    struct fx *f = *state;
    txt(f, "example.com", "v=spf1 -all exp=why.%{d}");
    txt(f, "why.example.com", "%{i} may not send for %{d} (%{L})");
    struct ks_spf_outcome o;
    assert_int_equal(check(f, "192.0.2.1", "J&J@example.com", &o), KS_SPF_FAIL);
    assert_string_equal(o.explanation, "192.0.2.1 may not send for example.com (J%26J)");
    ks_spf_outcome_fini(&o);
}

static void null_sender_uses_postmaster_at_helo(void **state)
{
    struct fx *f = *state;
    txt(f, "mail.example.org", "v=spf1 exists:%{l}.%{d} -all");
    a4(f, "postmaster.mail.example.org", 127, 0, 0, 2);
    struct ks_spf_outcome o;
    assert_int_equal(check(f, "192.0.2.1", "", &o), KS_SPF_PASS);
    assert_string_equal(o.sender, "postmaster@mail.example.org");
    ks_spf_outcome_fini(&o);
}

static void helo_identity_checks_the_helo_name(void **state)
{
    struct fx *f = *state;
    txt(f, "mail.example.org", "v=spf1 a -all");
    a4(f, "mail.example.org", 192, 0, 2, 7);
    struct ks_spf_request req = {"192.0.2.7", "x@elsewhere.example", "mail.example.org",
                                 KS_SPF_HELO};
    struct ks_spf_outcome o;
    assert_int_equal(ks_spf_check(f->s, &req, &o), KS_OK);
    assert_int_equal(o.result, KS_SPF_PASS);
    char *h = ks_spf_received_spf(&o, "mx.example.net");
    assert_non_null(h);
    assert_non_null(strstr(h, "identity=helo"));
    assert_non_null(strstr(h, "client-ip=192.0.2.7;"));
    free(h);
    h = ks_spf_auth_results(&o, "mx.example.net");
    assert_non_null(strstr(h, "spf=pass"));
    assert_non_null(strstr(h, "smtp.helo=mail.example.org"));
    free(h);
    ks_spf_outcome_fini(&o);
}

static void invalid_domain_is_none(void **state)
{
    struct fx *f = *state;
    struct ks_spf_outcome o;
    assert_int_equal(check(f, "192.0.2.1", "a@[192.0.2.1]", &o), KS_SPF_NONE);
    ks_spf_outcome_fini(&o);
    assert_int_equal(check(f, "192.0.2.1", "a@localhost", &o), KS_SPF_NONE);
    ks_spf_outcome_fini(&o);
}

static void bad_client_address_is_rejected(void **state)
{
    struct fx *f = *state;
    struct ks_spf_outcome o;
    struct ks_spf_request req = {"not-an-ip", "a@example.com", "h.example", KS_SPF_MAILFROM};
    assert_int_equal(ks_spf_check(f->s, &req, &o), KS_EINVAL);
}

static void ptr_validates_names(void **state)
{
    struct fx *f = *state;
    txt(f, "example.com", "v=spf1 ptr -all");
    const char *n = "mail.example.com";
    assert_int_equal(ks_spf_zone_add(f->z, "7.2.0.192.in-addr.arpa", KS_DNS_PTR, n, strlen(n)),
                     KS_OK);
    a4(f, "mail.example.com", 192, 0, 2, 7);
    struct ks_spf_outcome o;
    assert_int_equal(check(f, "192.0.2.7", "a@example.com", &o), KS_SPF_PASS);
    ks_spf_outcome_fini(&o);
    assert_int_equal(check(f, "192.0.2.8", "a@example.com", &o), KS_SPF_FAIL);
    ks_spf_outcome_fini(&o);
}

/* ---- asynchronous use: answers delivered later ------------------------------------------ */

struct later {
    struct ks_spf_zone *z;
    struct pending {
        char name[256];
        uint16_t type;
        ks_spf_dns_done done;
        void *arg;
    } q[64];
    int n;
};

static int later_query(void *ctx, const char *name, uint16_t type, ks_spf_dns_done done, void *arg)
{
    struct later *l = ctx;
    if (l->n >= 64)
        return KS_ELIMIT;
    struct pending *p = &l->q[l->n++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->type = type;
    p->done = done;
    p->arg = arg;
    return KS_OK;
}

static void count_done(void *arg, const struct ks_spf_outcome *o)
{
    int *results = arg;
    results[o->result]++;
}

static void many_checks_run_interleaved(void **state)
{
    (void)state;
    struct later l;
    memset(&l, 0, sizeof l);
    assert_int_equal(ks_spf_zone_new(&l.z), KS_OK);
    const char *r = "v=spf1 include:_spf.example.com -all";
    const char *r2 = "v=spf1 ip4:192.0.2.0/25 ~all";
    ks_spf_zone_add(l.z, "example.com", KS_DNS_TXT, r, strlen(r));
    ks_spf_zone_add(l.z, "_spf.example.com", KS_DNS_TXT, r2, strlen(r2));
    struct ks_spf_dns dns = {later_query, NULL, &l};
    struct ks_spf *s;
    assert_int_equal(ks_spf_new(NULL, &dns, &s), KS_OK);
    int results[KS_SPF_NRESULTS] = {0};
    for (int i = 0; i < 20; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "192.0.2.%d", i * 10);
        struct ks_spf_request req = {ip, "x@example.com", "h.example.com", KS_SPF_MAILFROM};
        assert_int_equal(ks_spf_check_start(s, &req, count_done, results), KS_OK);
    }
    struct ks_spf_stats st;
    ks_spf_stats(s, &st);
    assert_int_equal(st.in_flight, 20);
    /* Answer the queries in rounds, as an event loop would. */
    while (l.n) {
        struct pending batch[64];
        int n = l.n;
        memcpy(batch, l.q, sizeof batch[0] * (size_t)n);
        l.n = 0;
        const struct ks_spf_dns *zd = ks_spf_zone_dns(l.z);
        for (int i = 0; i < n; i++)
            zd->query(zd->ctx, batch[i].name, batch[i].type, batch[i].done, batch[i].arg);
    }
    assert_int_equal(results[KS_SPF_PASS], 13); /* .0 .. .120 */
    assert_int_equal(results[KS_SPF_FAIL], 7);
    ks_spf_stats(s, &st);
    assert_int_equal(st.in_flight, 0);
    ks_spf_free(s);
    ks_spf_zone_free(l.z);
}

/* ---- the Postfix policy protocol --------------------------------------------------------- */

struct pfx {
    struct ks_spf_zone *z;
    struct ks_spf *s;
    struct ks_spf_policy *p;
    struct ks_spf_policy_conn *c;
    char out[8192];
    size_t outlen;
    int replies;
    unsigned outcomes;
    enum ks_spf_result last_result;
};

static void pol_reply(void *arg, const char *text, size_t len)
{
    struct pfx *f = arg;
    if (f->outlen + len < sizeof f->out) {
        memcpy(f->out + f->outlen, text, len);
        f->outlen += len;
        f->out[f->outlen] = '\0';
    }
    f->replies++;
}

static void pol_outcome(void *arg, const struct ks_spf_outcome *o)
{
    struct pfx *f = arg;
    f->outcomes++;
    f->last_result = o->result;
}

static int pol_setup(void **state)
{
    struct pfx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(ks_spf_zone_new(&f->z), KS_OK);
    const char *r = "v=spf1 ip4:192.0.2.0/24 -all";
    ks_spf_zone_add(f->z, "example.com", KS_DNS_TXT, r, strlen(r));
    const char *h = "v=spf1 -all";
    ks_spf_zone_add(f->z, "bad-helo.example.net", KS_DNS_TXT, h, strlen(h));
    ks_spf_zone_add_timeout(f->z, "slow.example.com", 0);
    assert_int_equal(ks_spf_new(NULL, ks_spf_zone_dns(f->z), &f->s), KS_OK);
    struct ks_spf_policy_config cfg;
    ks_spf_policy_config_default(&cfg);
    cfg.receiver = "mx.example.org";
    cfg.skip = "10.0.0.0/8,2001:db8:1::/48";
    cfg.max_request = 2048;
    cfg.on_outcome = pol_outcome;
    cfg.on_outcome_arg = f;
    assert_int_equal(ks_spf_policy_new(&cfg, f->s, &f->p), KS_OK);
    assert_int_equal(ks_spf_policy_conn_new(f->p, pol_reply, f, &f->c), KS_OK);
    *state = f;
    return 0;
}

static int pol_teardown(void **state)
{
    struct pfx *f = *state;
    ks_spf_policy_conn_free(f->c);
    ks_spf_policy_free(f->p);
    ks_spf_free(f->s);
    ks_spf_zone_free(f->z);
    free(f);
    return 0;
}

static void feed(struct pfx *f, const char *s)
{
    assert_int_equal(ks_spf_policy_conn_feed(f->c, s, strlen(s)), KS_OK);
}

static void policy_pass_prepends_received_spf(void **state)
{
    struct pfx *f = *state;
    feed(f, "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.1\n"
            "sender=a@example.com\nunknown_attribute=whatever\n\n");
    assert_int_equal(f->replies, 1);
    assert_non_null(strstr(f->out, "action=PREPEND Received-SPF: pass (mx.example.org: "));
    assert_true(f->outlen >= 2 && f->out[f->outlen - 1] == '\n' && f->out[f->outlen - 2] == '\n');
}

static void policy_fail_rejects_with_5_7_23(void **state)
{
    struct pfx *f = *state;
    feed(f, "request=smtpd_access_policy\nclient_address=198.51.100.1\nsender=a@example.com\n\n");
    assert_string_equal(f->out,
                        "action=550 5.7.23 198.51.100.1 is not a designated mail server for "
                        "example.com\n\n");
}

static void policy_helo_fail_rejects_first(void **state)
{
    struct pfx *f = *state;
    feed(f, "request=smtpd_access_policy\nclient_address=192.0.2.1\n"
            "helo_name=bad-helo.example.net\nsender=a@example.com\n\n");
    assert_non_null(strstr(f->out, "action=550 5.7.23 "));
    assert_non_null(strstr(f->out, "bad-helo.example.net"));
}

static void policy_temperror_defers_with_4_7_24(void **state)
{
    struct pfx *f = *state;
    feed(f, "request=smtpd_access_policy\nclient_address=192.0.2.1\nsender=a@slow.example.com\n\n");
    assert_non_null(strstr(f->out, "action=451 4.7.24 "));
}

static void policy_same_instance_is_answered_once(void **state)
{
    struct pfx *f = *state;
    const char *req = "request=smtpd_access_policy\nclient_address=198.51.100.1\n"
                      "sender=a@example.com\ninstance=abc.1\n\n";
    feed(f, req);
    feed(f, req);
    assert_int_equal(f->replies, 2);
    struct ks_spf_policy_stats st;
    ks_spf_policy_stats(f->p, &st);
    assert_int_equal(st.cached, 1);
    assert_int_equal(st.results[KS_SPF_FAIL], 1);
}

static void policy_skipped_relay_gets_dunno(void **state)
{
    struct pfx *f = *state;
    feed(f, "request=smtpd_access_policy\nclient_address=10.1.2.3\nsender=a@example.com\n\n");
    assert_string_equal(f->out, "action=DUNNO\n\n");
}

static void policy_request_split_across_reads(void **state)
{
    struct pfx *f = *state;
    const char *req = "request=smtpd_access_policy\nclient_address=192.0.2.9\nsender=a@example.com"
                      "\n\nrequest=smtpd_access_policy\nclient_address=198.51.100.1\n"
                      "sender=b@example.com\n\n";
    for (const char *p = req; *p; p++)
        assert_int_equal(ks_spf_policy_conn_feed(f->c, p, 1), KS_OK);
    assert_int_equal(f->replies, 2);
    assert_non_null(strstr(f->out, "Received-SPF: pass"));
    assert_non_null(strstr(f->out, "action=550 5.7.23"));
}

static void policy_other_requests_get_dunno(void **state)
{
    struct pfx *f = *state;
    feed(f, "request=something_else\nclient_address=192.0.2.1\n\n");
    assert_string_equal(f->out, "action=DUNNO\n\n");
}

static void policy_oversized_or_binary_request_disconnects(void **state)
{
    struct pfx *f = *state;
    char big[4096];
    memset(big, 'x', sizeof big);
    assert_int_equal(ks_spf_policy_conn_feed(f->c, big, sizeof big), KS_ELIMIT);
    struct ks_spf_policy_conn *c2;
    assert_int_equal(ks_spf_policy_conn_new(f->p, pol_reply, f, &c2), KS_OK);
    assert_int_equal(ks_spf_policy_conn_feed(c2, "a=b\0c", 5), KS_EFORMAT);
    ks_spf_policy_conn_free(c2);
}

static void policy_reports_each_check_but_not_cached_answers(void **state)
{
    struct pfx *f = *state;
    const char *req = "request=smtpd_access_policy\nclient_address=198.51.100.1\n"
                      "helo_name=h.example.org\nsender=a@example.com\ninstance=x.1\n\n";
    feed(f, req);
    feed(f, req);
    assert_int_equal(f->outcomes, 2); /* HELO (none) and MAIL FROM (fail), once */
    assert_int_equal(f->last_result, KS_SPF_FAIL);
}

/* ---- policy classes and the store writer ------------------------------------------------- */

static void policy_class_is_the_all_term_else_redirect(void **state)
{
    (void)state;
    assert_int_equal(ks_spf_policy_class(""), KS_SPF_POLICY_NONE);
    assert_int_equal(ks_spf_policy_class(NULL), KS_SPF_POLICY_NONE);
    assert_int_equal(ks_spf_policy_class("v=spf1 mx -all"), KS_SPF_POLICY_FAIL);
    assert_int_equal(ks_spf_policy_class("v=spf1 ~ALL"), KS_SPF_POLICY_SOFTFAIL);
    assert_int_equal(ks_spf_policy_class("v=spf1 a ?all"), KS_SPF_POLICY_NEUTRAL);
    assert_int_equal(ks_spf_policy_class("v=spf1 all"), KS_SPF_POLICY_PASS);
    assert_int_equal(ks_spf_policy_class("v=spf1 redirect=_spf.example.com"),
                     KS_SPF_POLICY_REDIRECT);
    assert_int_equal(ks_spf_policy_class("v=spf1 -all redirect=x.example"), KS_SPF_POLICY_FAIL);
    assert_int_equal(ks_spf_policy_class("v=spf1 a:ball.example"), KS_SPF_POLICY_NO_ALL);
    assert_string_equal(ks_spf_policy_class_name(KS_SPF_POLICY_REDIRECT), "redirect");
}

struct count_ctx {
    int64_t n;
    char text[256];
};

static int count_cb(void *user, size_t ncols, const char *const *names,
                    const struct ks_store_value *vals)
{
    struct count_ctx *c = user;
    c->n = vals[0].v.i64;
    if (ncols > 1 && vals[1].type == KS_TYPE_TEXT) {
        size_t n =
            vals[1].v.bytes.len < sizeof c->text - 1 ? vals[1].v.bytes.len : sizeof c->text - 1;
        memcpy(c->text, vals[1].v.bytes.ptr, n);
        c->text[n] = '\0';
    }
    return 0;
}

static struct ks_store *temp_store(char *path, size_t size)
{
    snprintf(path, size, "%s/ks-spf-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(path));
    strncat(path, "/s.db", size - strlen(path) - 1);
    struct ks_store *st = NULL;
    assert_int_equal(ks_store_open(path, NULL, &st), KS_OK);
    return st;
}

static void remove_store(const char *path)
{
    char p[4200];
    const char *sfx[] = {"", "-wal", "-shm", "-lock"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s", path);
    char *slash = strrchr(p, '/');
    *slash = '\0';
    rmdir(p);
}

static struct ks_spf_outcome outcome(enum ks_spf_result r, const char *ip, const char *domain,
                                     const char *record)
{
    struct ks_spf_outcome o;
    memset(&o, 0, sizeof o);
    o.result = r;
    o.ip = ip;
    o.sender = o.helo = o.explanation = "";
    o.domain = domain;
    o.record = record;
    o.mechanism = r == KS_SPF_PASS ? "ip4:192.0.2.0/24" : "";
    o.problem = r == KS_SPF_NONE ? "no record" : "";
    o.dns_lookups = 2;
    return o;
}

static void store_writes_batches_as_complete_inputs(void **state)
{
    (void)state;
    char path[4096];
    struct ks_store *st = temp_store(path, sizeof path);
    struct ks_spf_store_config cfg;
    ks_spf_store_config_default(&cfg);
    cfg.kind = "spf test";
    cfg.max_rows = 2;
    struct ks_spf_store *w;
    assert_int_equal(ks_spf_store_new(st, &cfg, &w), KS_OK);
    struct ks_spf_outcome a = outcome(KS_SPF_PASS, "192.0.2.1", "example.com", "v=spf1 -all");
    struct ks_spf_outcome b = outcome(KS_SPF_NONE, "2001:db8::1", "nospf.example", "");
    assert_int_equal(ks_spf_store_add_check(w, 1000000, &a), KS_OK);
    assert_int_equal(ks_spf_store_add_check(w, 2000000, &b), KS_OK);
    assert_int_equal(ks_spf_store_pending(w), 2);
    assert_int_equal(ks_spf_store_add_check(w, 3000000, &a), KS_OK); /* flushes the first two */
    assert_int_equal(ks_spf_store_pending(w), 1);
    assert_int_equal(ks_spf_store_add_survey(w, 4000000, "example.com", &a), KS_OK);
    assert_int_equal(ks_spf_store_flush(w), KS_OK);
    struct ks_spf_store_stats ws;
    ks_spf_store_stats(w, &ws);
    assert_int_equal(ws.rows, 4);
    assert_int_equal(ws.flushed, 4);
    assert_int_equal(ws.batches, 2);
    assert_int_equal(ws.dropped, 0);
    struct count_ctx c = {0};
    assert_int_equal(ks_store_query(st,
                                    "SELECT count(*) FROM inputs WHERE kind = 'spf test' "
                                    "AND status = 'complete'",
                                    NULL, 0, count_cb, &c),
                     KS_OK);
    assert_int_equal(c.n, 2);
    assert_int_equal(ks_store_query(st,
                                    "SELECT count(*), client FROM spf_results "
                                    "WHERE result = 'none'",
                                    NULL, 0, count_cb, &c),
                     KS_OK);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.text, "2001:db8::1");
    assert_int_equal(
        ks_store_query(st, "SELECT published, policy FROM spf_survey", NULL, 0, count_cb, &c),
        KS_OK);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.text, "-all");
    ks_spf_store_free(w);
    ks_store_close(st);
    remove_store(path);
}

static void store_same_batch_twice_is_kept_once(void **state)
{
    (void)state;
    char path[4096];
    struct ks_store *st = temp_store(path, sizeof path);
    struct ks_spf_store *w;
    assert_int_equal(ks_spf_store_new(st, NULL, &w), KS_OK);
    struct ks_spf_outcome a = outcome(KS_SPF_FAIL, "192.0.2.1", "example.com", "v=spf1 -all");
    assert_int_equal(ks_spf_store_add_check(w, 1000000, &a), KS_OK);
    assert_int_equal(ks_spf_store_flush(w), KS_OK);
    assert_int_equal(ks_spf_store_add_check(w, 1000000, &a), KS_OK);
    assert_int_equal(ks_spf_store_flush(w), KS_EEXIST);
    struct count_ctx c = {0};
    assert_int_equal(ks_store_query(st, "SELECT count(*) FROM spf_results", NULL, 0, count_cb, &c),
                     KS_OK);
    assert_int_equal(c.n, 1);
    ks_spf_store_free(w);
    ks_store_close(st);
    remove_store(path);
}

/* ---- the suites, when the test data is there --------------------------------------------- */

static void suite_file(const char *name)
{
    const char *td = getenv("KS_TESTDATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/spf/%s", td ? td : "", name);
    if (!td || access(path, R_OK) != 0) {
        printf("skipping: %s not found (KS_TESTDATA)\n", path);
        skip();
    }
    struct ks_spf_suite_result res;
    char err[256];
    assert_int_equal(ks_spf_suite_run(path, NULL, NULL, &res, err, sizeof err), KS_OK);
    assert_true(res.passed > 150);
    assert_int_equal(res.failed, 0);
}

static void rfc7208_suite_passes(void **state)
{
    (void)state;
    suite_file("rfc7208-tests.yml");
}

static void rfc4408_suite_passes(void **state)
{
    (void)state;
    suite_file("rfc4408-tests.yml");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_records_parse),
        cmocka_unit_test(syntax_errors_anywhere_are_rejected),
        cmocka_unit_test(cidr_lengths_are_checked),
        cmocka_unit_test(dual_cidr_is_split_from_the_domain),
        cmocka_unit_test(rfc7208_section_7_4_ipv4_examples_expand),
        cmocka_unit_test(rfc7208_section_7_4_ipv6_example_expands),
        cmocka_unit_test(escapes_and_url_encoding_expand),
        cmocka_unit_test(macro_syntax_errors_are_reported),
        cmocka_unit_test(huge_expansions_hit_the_limit),
        cmocka_unit_test(long_names_lose_left_labels),
        cmocka_unit_test_setup_teardown(ip4_match_passes_and_all_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(ipv4_mapped_client_is_ipv4, setup, teardown),
        cmocka_unit_test_setup_teardown(no_record_is_none_and_two_are_permerror, setup, teardown),
        cmocka_unit_test_setup_teardown(dns_timeout_is_temperror, setup, teardown),
        cmocka_unit_test_setup_teardown(eleventh_dns_term_is_permerror, setup, teardown),
        cmocka_unit_test_setup_teardown(third_void_lookup_is_permerror, setup, teardown),
        cmocka_unit_test_setup_teardown(include_loop_is_permerror, setup, teardown),
        cmocka_unit_test_setup_teardown(eleven_mx_names_are_permerror, setup, teardown),
        cmocka_unit_test_setup_teardown(exp_is_expanded_for_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(null_sender_uses_postmaster_at_helo, setup, teardown),
        cmocka_unit_test_setup_teardown(helo_identity_checks_the_helo_name, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_domain_is_none, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_client_address_is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(ptr_validates_names, setup, teardown),
        cmocka_unit_test(many_checks_run_interleaved),
        cmocka_unit_test_setup_teardown(policy_pass_prepends_received_spf, pol_setup, pol_teardown),
        cmocka_unit_test_setup_teardown(policy_fail_rejects_with_5_7_23, pol_setup, pol_teardown),
        cmocka_unit_test_setup_teardown(policy_helo_fail_rejects_first, pol_setup, pol_teardown),
        cmocka_unit_test_setup_teardown(policy_temperror_defers_with_4_7_24, pol_setup,
                                        pol_teardown),
        cmocka_unit_test_setup_teardown(policy_same_instance_is_answered_once, pol_setup,
                                        pol_teardown),
        cmocka_unit_test_setup_teardown(policy_skipped_relay_gets_dunno, pol_setup, pol_teardown),
        cmocka_unit_test_setup_teardown(policy_request_split_across_reads, pol_setup, pol_teardown),
        cmocka_unit_test_setup_teardown(policy_other_requests_get_dunno, pol_setup, pol_teardown),
        cmocka_unit_test_setup_teardown(policy_oversized_or_binary_request_disconnects, pol_setup,
                                        pol_teardown),
        cmocka_unit_test_setup_teardown(policy_reports_each_check_but_not_cached_answers, pol_setup,
                                        pol_teardown),
        cmocka_unit_test(policy_class_is_the_all_term_else_redirect),
        cmocka_unit_test(store_writes_batches_as_complete_inputs),
        cmocka_unit_test(store_same_batch_twice_is_kept_once),
        cmocka_unit_test(rfc7208_suite_passes),
        cmocka_unit_test(rfc4408_suite_passes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
