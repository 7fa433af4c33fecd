/* Headline numbers (numbers.json and the page's text) and country codes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_int.h"

static struct number *num_slot(struct rq *q, const char *key)
{
    for (size_t i = 0; i < q->nnums; i++)
        if (strcmp(q->nums[i].key, key) == 0)
            return &q->nums[i];
    if (q->nnums == q->capnums) {
        size_t cap = q->capnums ? q->capnums * 2 : 64;
        struct number *p = realloc(q->nums, cap * sizeof *p);
        if (!p) {
            q->err = KS_ENOMEM;
            return NULL;
        }
        q->nums = p;
        q->capnums = cap;
    }
    struct number *n = &q->nums[q->nnums++];
    memset(n, 0, sizeof *n);
    snprintf(n->key, sizeof n->key, "%s", key);
    return n;
}

void num_set(struct rq *q, const char *key, double v, int decimals, const char *unit)
{
    if (!isfinite(v)) {
        num_null(q, key);
        return;
    }
    struct number *n = num_slot(q, key);
    char t[96];
    if (!n)
        return;
    /* The JSON value is the printed value: what the page says is what the test compares. */
    snprintf(n->json, sizeof n->json, "%.*f", decimals, v);
    if (strcmp(n->json, "-0") == 0 || strspn(n->json, "-0.") == strlen(n->json))
        snprintf(n->json, sizeof n->json, "%.*f", decimals, 0.0);
    snprintf(n->text, sizeof n->text, "%s%s", fmt_num(t, sizeof t, atof(n->json), decimals),
             unit ? unit : "");
}

void num_str(struct rq *q, const char *key, const char *s)
{
    struct number *n = num_slot(q, key);
    struct rbuf b;
    if (!n)
        return;
    rb_init(&b);
    rb_json(&b, s);
    snprintf(n->json, sizeof n->json, "%s", rb_str(&b));
    rb_free(&b);
    snprintf(n->text, sizeof n->text, "%s", s);
}

void num_null(struct rq *q, const char *key)
{
    struct number *n = num_slot(q, key);
    if (!n)
        return;
    snprintf(n->json, sizeof n->json, "null");
    snprintf(n->text, sizeof n->text, "—");
}

const struct number *num_get(const struct rq *q, const char *key)
{
    for (size_t i = 0; i < q->nnums; i++)
        if (strcmp(q->nums[i].key, key) == 0)
            return &q->nums[i];
    return NULL;
}

const char *num_text(const struct rq *q, const char *key)
{
    const struct number *n = num_get(q, key);
    return n ? n->text : "—";
}

/* ISO 3166-1: alpha-2 then alpha-3, one pair per 5 characters. */
static const char iso3166[] =
    "ADANDAEAREAFAFGAGATGAIAIAALALBAMARMAOAGOAQATAARARGASASMATAUTAUAUSAWABWAXALAAZAZEBABIH"
    "BBBRBBDBGDBEBELBFBFABGBGRBHBHRBIBDIBJBENBLBLMBMBMUBNBRNBOBOLBQBESBRBRABSBHSBTBTNBVBVT"
    "BWBWABYBLRBZBLZCACANCCCCKCDCODCFCAFCGCOGCHCHECICIVCKCOKCLCHLCMCMRCNCHNCOCOLCRCRICUCUB"
    "CVCPVCWCUWCXCXRCYCYPCZCZEDEDEUDJDJIDKDNKDMDMADODOMDZDZAECECUEEESTEGEGYEHESHERERIESESP"
    "ETETHFIFINFJFJIFKFLKFMFSMFOFROFRFRAGAGABGBGBRGDGRDGEGEOGFGUFGGGGYGHGHAGIGIBGLGRLGMGMB"
    "GNGINGPGLPGQGNQGRGRCGSSGSGTGTMGUGUMGWGNBGYGUYHKHKGHMHMDHNHNDHRHRVHTHTIHUHUNIDIDNIEIRL"
    "ILISRIMIMNININDIOIOTIQIRQIRIRNISISLITITAJEJEYJMJAMJOJORJPJPNKEKENKGKGZKHKHMKIKIRKMCOM"
    "KNKNAKPPRKKRKORKWKWTKYCYMKZKAZLALAOLBLBNLCLCALILIELKLKALRLBRLSLSOLTLTULULUXLVLVALYLBY"
    "MAMARMCMCOMDMDAMEMNEMFMAFMGMDGMHMHLMKMKDMLMLIMMMMRMNMNGMOMACMPMNPMQMTQMRMRTMSMSRMTMLT"
    "MUMUSMVMDVMWMWIMXMEXMYMYSMZMOZNANAMNCNCLNENERNFNFKNGNGANINICNLNLDNONORNPNPLNRNRUNUNIU"
    "NZNZLOMOMNPAPANPEPERPFPYFPGPNGPHPHLPKPAKPLPOLPMSPMPNPCNPRPRIPSPSEPTPRTPWPLWPYPRYQAQAT"
    "REREUROROURSSRBRURUSRWRWASASAUSBSLBSCSYCSDSDNSESWESGSGPSHSHNSISVNSJSJMSKSVKSLSLESMSMR"
    "SNSENSOSOMSRSURSSSSDSTSTPSVSLVSXSXMSYSYRSZSWZTCTCATDTCDTFATFTGTGOTHTHATJTJKTKTKLTLTLS"
    "TMTKMTNTUNTOTONTRTURTTTTOTVTUVTWTWNTZTZAUAUKRUGUGAUMUMIUSUSAUYURYUZUZBVAVATVCVCTVEVEN"
    "VGVGBVIVIRVNVNMVUVUTWFWLFWSWSMYEYEMYTMYTZAZAFZMZMBZWZWEEUEU_APAP_";

const char *iso_alpha3(const char *a2, char out[4])
{
    snprintf(out, 4, "%s", a2 ? a2 : "");
    if (!a2 || strlen(a2) != 2)
        return out;
    for (size_t i = 0; i + 5 <= sizeof iso3166 - 1; i += 5) {
        if (iso3166[i] == a2[0] && iso3166[i + 1] == a2[1]) {
            memcpy(out, iso3166 + i + 2, 3);
            out[3] = '\0';
            /* EU and AP are the geo database's regions, not countries: keep their codes. */
            if (out[2] == '_')
                out[2] = '\0';
            return out;
        }
    }
    return out;
}
