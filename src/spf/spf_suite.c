/* The OpenSPF YAML test-suite runner: each YAML document is a scenario whose zonedata goes into
 * an in-process zone, following the conventions of the suite's reference harness (SPF records
 * also served as TXT unless the name has TXT records; "TXT: NONE"; TIMEOUT items). */
#include "spf_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen(key) &&
            memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0)
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

static const char *scalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static uint16_t type_of(const char *k)
{
    static const struct {
        const char *name;
        uint16_t type;
    } types[] = {{"A", KS_DNS_A},        {"AAAA", KS_DNS_AAAA}, {"TXT", KS_DNS_TXT},
                 {"SPF", KS_DNS_SPF},    {"MX", KS_DNS_MX},     {"PTR", KS_DNS_PTR},
                 {"CNAME", KS_DNS_CNAME}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(k, types[i].name) == 0)
            return types[i].type;
    return 0;
}

/* The one-key mapping "TYPE: value" of a zonedata item. */
static bool item_pair(yaml_document_t *d, yaml_node_t *item, const char **key, yaml_node_t **val)
{
    if (!item || item->type != YAML_MAPPING_NODE ||
        item->data.mapping.pairs.top - item->data.mapping.pairs.start != 1)
        return false;
    yaml_node_pair_t *p = item->data.mapping.pairs.start;
    *key = scalar(yaml_document_get_node(d, p->key));
    *val = yaml_document_get_node(d, p->value);
    return *key != NULL;
}

/* TXT/SPF value: a string, or a list of strings glued together. */
static int txt_value(yaml_document_t *d, yaml_node_t *v, struct spf_buf *b)
{
    b->len = 0;
    int rc = spf_buf_add(b, "", 0);
    if (v->type == YAML_SCALAR_NODE)
        return spf_buf_add(b, (const char *)v->data.scalar.value, v->data.scalar.length);
    if (v->type != YAML_SEQUENCE_NODE)
        return KS_EFORMAT;
    for (yaml_node_item_t *i = v->data.sequence.items.start;
         i < v->data.sequence.items.top && rc == KS_OK; i++) {
        yaml_node_t *s = yaml_document_get_node(d, *i);
        if (!s || s->type != YAML_SCALAR_NODE)
            return KS_EFORMAT;
        rc = spf_buf_add(b, (const char *)s->data.scalar.value, s->data.scalar.length);
    }
    return rc;
}

static int load_zone(yaml_document_t *d, yaml_node_t *zd, struct ks_spf_zone *z)
{
    if (!zd)
        return KS_OK;
    if (zd->type != YAML_MAPPING_NODE)
        return KS_EFORMAT;
    struct spf_buf b;
    spf_buf_init(&b, 1 << 20);
    int rc = KS_OK;
    for (yaml_node_pair_t *p = zd->data.mapping.pairs.start;
         p < zd->data.mapping.pairs.top && rc == KS_OK; p++) {
        const char *name = scalar(yaml_document_get_node(d, p->key));
        yaml_node_t *list = yaml_document_get_node(d, p->value);
        if (!name || !list || list->type != YAML_SEQUENCE_NODE) {
            rc = KS_EFORMAT;
            break;
        }
        rc = ks_spf_zone_add_name(z, name);
        bool has_txt = false;
        for (yaml_node_item_t *i = list->data.sequence.items.start;
             i < list->data.sequence.items.top; i++) {
            const char *k;
            yaml_node_t *v;
            if (item_pair(d, yaml_document_get_node(d, *i), &k, &v) && strcmp(k, "TXT") == 0)
                has_txt = true;
        }
        for (yaml_node_item_t *i = list->data.sequence.items.start;
             i < list->data.sequence.items.top && rc == KS_OK; i++) {
            yaml_node_t *item = yaml_document_get_node(d, *i);
            const char *k;
            yaml_node_t *v;
            const char *s = scalar(item);
            if (s) {
                if (strcmp(s, "TIMEOUT") != 0) {
                    rc = KS_EFORMAT;
                    break;
                }
                rc = ks_spf_zone_add_timeout(z, name, 0);
                continue;
            }
            if (!item_pair(d, item, &k, &v) || !v) {
                rc = KS_EFORMAT;
                break;
            }
            uint16_t type = type_of(k);
            if (!type) {
                rc = KS_EFORMAT;
                break;
            }
            const char *vs = scalar(v);
            if (vs && strcmp(vs, "TIMEOUT") == 0) {
                rc = ks_spf_zone_add_timeout(z, name, type);
                if (rc == KS_OK && type == KS_DNS_SPF && !has_txt)
                    rc = ks_spf_zone_add_timeout(z, name, KS_DNS_TXT);
                continue;
            }
            switch (type) {
            case KS_DNS_TXT:
            case KS_DNS_SPF:
                if (type == KS_DNS_TXT && vs && strcmp(vs, "NONE") == 0)
                    break;
                rc = txt_value(d, v, &b);
                if (rc == KS_OK)
                    rc = ks_spf_zone_add(z, name, type, b.p, b.len);
                /* RFC 7208 verifiers query TXT only; the suite publishes SPF also as TXT. */
                if (rc == KS_OK && type == KS_DNS_SPF && !has_txt)
                    rc = ks_spf_zone_add(z, name, KS_DNS_TXT, b.p, b.len);
                break;
            case KS_DNS_A:
            case KS_DNS_AAAA: {
                uint8_t ip[16];
                if (!vs || inet_pton(type == KS_DNS_A ? AF_INET : AF_INET6, vs, ip) != 1) {
                    rc = KS_EFORMAT;
                    break;
                }
                rc = ks_spf_zone_add(z, name, type, ip, type == KS_DNS_A ? 4 : 16);
                break;
            }
            case KS_DNS_MX: {
                if (v->type != YAML_SEQUENCE_NODE ||
                    v->data.sequence.items.top - v->data.sequence.items.start != 2) {
                    rc = KS_EFORMAT;
                    break;
                }
                const char *x = scalar(yaml_document_get_node(d, v->data.sequence.items.start[1]));
                if (!x) {
                    rc = KS_EFORMAT;
                    break;
                }
                size_t l = strlen(x);
                if (l && x[l - 1] == '.')
                    l--;
                rc = ks_spf_zone_add(z, name, type, x, l);
                break;
            }
            default: {
                if (!vs) {
                    rc = KS_EFORMAT;
                    break;
                }
                size_t l = strlen(vs);
                if (l && vs[l - 1] == '.')
                    l--;
                rc = ks_spf_zone_add(z, name, type, vs, l);
                break;
            }
            }
        }
    }
    spf_buf_fini(&b);
    return rc;
}

struct run_ctx {
    struct ks_spf_outcome out;
    bool done;
    struct spf_buf strs;
};

static void run_done(void *arg, const struct ks_spf_outcome *o)
{
    struct run_ctx *x = arg;
    x->out = *o;
    /* Keep copies of the strings the caller reports (they die with the check). */
    x->strs.len = 0;
    size_t off[4];
    const char *src[4] = {o->explanation, o->problem, o->mechanism, o->domain};
    for (int i = 0; i < 4; i++) {
        off[i] = x->strs.len;
        spf_buf_add(&x->strs, src[i], strlen(src[i]) + 1);
    }
    const char *base = spf_buf_str(&x->strs);
    bool ok = x->strs.p != NULL;
    x->out.explanation = ok ? base + off[0] : "";
    x->out.problem = ok ? base + off[1] : "";
    x->out.mechanism = ok ? base + off[2] : "";
    x->out.domain = ok ? base + off[3] : "";
    x->out.ip = x->out.sender = x->out.helo = x->out.record = "";
    x->done = true;
}

static int run_test(yaml_document_t *d, struct ks_spf *spf, const char *scen, const char *tname,
                    yaml_node_t *t, ks_spf_suite_fail_fn fail, void *arg,
                    struct ks_spf_suite_result *res)
{
    const char *host = scalar(map_get(d, t, "host"));
    const char *helo = scalar(map_get(d, t, "helo"));
    const char *from = scalar(map_get(d, t, "mailfrom"));
    const char *exp = scalar(map_get(d, t, "explanation"));
    yaml_node_t *rn = map_get(d, t, "result");
    if (!host || !rn)
        return KS_EFORMAT;
    char want[128] = "";
    int wanted[KS_SPF_NRESULTS + 2], nwanted = 0;
    if (rn->type == YAML_SCALAR_NODE) {
        wanted[nwanted++] = ks_spf_result_parse(scalar(rn));
        snprintf(want, sizeof want, "%s", scalar(rn));
    } else if (rn->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *i = rn->data.sequence.items.start;
             i < rn->data.sequence.items.top && nwanted < KS_SPF_NRESULTS + 2; i++) {
            const char *s = scalar(yaml_document_get_node(d, *i));
            if (!s)
                return KS_EFORMAT;
            wanted[nwanted++] = ks_spf_result_parse(s);
            size_t l = strlen(want);
            snprintf(want + l, sizeof want - l, "%s%s", l ? "|" : "", s);
        }
    } else {
        return KS_EFORMAT;
    }
    struct ks_spf_request req = {host, from ? from : "", helo ? helo : "", KS_SPF_MAILFROM};
    struct run_ctx x;
    memset(&x, 0, sizeof x);
    spf_buf_init(&x.strs, 1 << 20);
    int rc = ks_spf_check_start(spf, &req, run_done, &x);
    bool ok = false;
    if (rc == KS_OK && x.done) {
        for (int i = 0; i < nwanted; i++)
            if ((int)x.out.result == wanted[i])
                ok = true;
        if (ok && exp && strcmp(exp, x.out.explanation) != 0)
            ok = false;
    } else {
        memset(&x.out, 0, sizeof x.out);
        x.out.result = KS_SPF_PERMERROR;
        x.out.ip = x.out.sender = x.out.helo = x.out.domain = x.out.record = "";
        x.out.mechanism = x.out.explanation = "";
        x.out.problem = rc == KS_EINVAL ? "bad client address" : "check did not complete";
    }
    if (ok) {
        res->passed++;
    } else {
        res->failed++;
        if (fail)
            fail(arg, scen, tname, want, exp, &x.out);
    }
    spf_buf_fini(&x.strs);
    return KS_OK;
}

int ks_spf_suite_run(const char *path, ks_spf_suite_fail_fn fail, void *arg,
                     struct ks_spf_suite_result *res, char *err, size_t errsize)
{
    memset(res, 0, sizeof *res);
    if (errsize)
        err[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errsize)
            snprintf(err, errsize, "cannot open");
        return KS_EIO;
    }
    yaml_parser_t parser;
    struct ks_spf_zone *z = NULL;
    struct ks_spf *spf = NULL;
    int rc = KS_ENOMEM;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return KS_ENOMEM;
    }
    yaml_parser_set_input_file(&parser, f);
    if (ks_spf_zone_new(&z) != KS_OK)
        goto out;
    struct ks_spf_config cfg;
    ks_spf_config_default(&cfg);
    cfg.default_explanation = "DEFAULT";
    cfg.receiver = "receiver.example.net";
    if (ks_spf_new(&cfg, ks_spf_zone_dns(z), &spf) != KS_OK)
        goto out;
    rc = KS_OK;
    for (int docno = 1;; docno++) {
        yaml_document_t doc;
        if (!yaml_parser_load(&parser, &doc)) {
            if (errsize)
                snprintf(err, errsize, "YAML error at line %zu: %s", parser.problem_mark.line + 1,
                         parser.problem ? parser.problem : "unknown");
            rc = KS_EFORMAT;
            break;
        }
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (!root) {
            yaml_document_delete(&doc);
            break; /* end of stream */
        }
        yaml_node_t *tests = map_get(&doc, root, "tests");
        const char *desc = scalar(map_get(&doc, root, "description"));
        ks_spf_zone_clear(z);
        if (!tests || tests->type != YAML_MAPPING_NODE ||
            load_zone(&doc, map_get(&doc, root, "zonedata"), z) != KS_OK) {
            if (errsize)
                snprintf(err, errsize, "document %d: not an SPF test scenario", docno);
            yaml_document_delete(&doc);
            rc = KS_EFORMAT;
            break;
        }
        for (yaml_node_pair_t *p = tests->data.mapping.pairs.start;
             p < tests->data.mapping.pairs.top && rc == KS_OK; p++) {
            const char *tname = scalar(yaml_document_get_node(&doc, p->key));
            yaml_node_t *t = yaml_document_get_node(&doc, p->value);
            rc = run_test(&doc, spf, desc ? desc : "", tname ? tname : "?", t, fail, arg, res);
            if (rc != KS_OK && errsize)
                snprintf(err, errsize, "document %d: test %s is malformed", docno,
                         tname ? tname : "?");
        }
        yaml_document_delete(&doc);
        if (rc != KS_OK)
            break;
    }
out:
    ks_spf_free(spf);
    ks_spf_zone_free(z);
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}
