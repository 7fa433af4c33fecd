/* Tests of the demo quarter: determinism, the planted shares, and the address table against
 * the geolocation data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kansoku/ks_geo.h"
#include "kansoku/ks_ip.h"
#include "kansoku/ks_simulate.h"
#include "kansoku/ks_time.h"
#include "simulate/sim_int.h"

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *tmpdir(void)
{
    char *t = strdup("/tmp/ks-sim-test.XXXXXX");
    assert_non_null(t);
    assert_non_null(mkdtemp(t));
    return t;
}

static char *slurp(const char *dir, const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void small_config(struct ks_simulate_config *c)
{
    ks_simulate_config_default(c);
    c->from_day = ks_days_from_civil(2008, 8, 4);
    c->to_day = ks_days_from_civil(2008, 8, 6);
    c->scale = 0.02;
    c->mail_history = false;
}

/* Every file of a's manifest has the same bytes in b. Returns the number of files. */
static size_t same_tree(const char *a, const char *b)
{
    size_t la, lb, nfiles = 0;
    char *ma = slurp(a, "MANIFEST.txt", &la), *mb = slurp(b, "MANIFEST.txt", &lb);
    assert_non_null(ma);
    assert_non_null(mb);
    assert_int_equal(la, lb);
    assert_memory_equal(ma, mb, la);
    for (char *line = strtok(ma, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long long sz;
        char rel[512];
        if (line[0] == '#' || sscanf(line, "%llu %511s", &sz, rel) != 2)
            continue;
        size_t x, y;
        char *fa = slurp(a, rel, &x), *fb = slurp(b, rel, &y);
        assert_non_null(fa);
        assert_non_null(fb);
        assert_int_equal(x, sz);
        assert_int_equal(x, y);
        assert_memory_equal(fa, fb, x);
        free(fa);
        free(fb);
        nfiles++;
    }
    free(ma);
    free(mb);
    return nfiles;
}

static void same_seed_gives_same_bytes(void **state)
{
    (void)state;
    char *a = tmpdir(), *b = tmpdir();
    struct ks_simulate_config c;
    small_config(&c);
    struct ks_simulate_stats sa, sb;
    c.threads = 2;
    assert_int_equal(ks_simulate_run(&c, a, NULL, &sa), KS_OK);
    c.threads = 1; /* the thread count must not matter */
    assert_int_equal(ks_simulate_run(&c, b, NULL, &sb), KS_OK);
    assert_true(same_tree(a, b) > 20);
    assert_int_equal(sa.bytes, sb.bytes);
    rm_rf(a);
    rm_rf(b);
    free(a);
    free(b);
}

static void different_seed_gives_different_bytes(void **state)
{
    (void)state;
    char *a = tmpdir(), *b = tmpdir();
    struct ks_simulate_config c;
    small_config(&c);
    c.parts = KS_SIM_DDOS | KS_SIM_MAIL;
    assert_int_equal(ks_simulate_run(&c, a, NULL, NULL), KS_OK);
    c.seed = 2;
    assert_int_equal(ks_simulate_run(&c, b, NULL, NULL), KS_OK);
    size_t x, y;
    char *fa = slurp(a, "ddos/2008-08-05.pcap", &x), *fb = slurp(b, "ddos/2008-08-05.pcap", &y);
    assert_non_null(fa);
    assert_non_null(fb);
    assert_true(x != y || memcmp(fa, fb, x) != 0);
    free(fa);
    free(fb);
    fa = slurp(a, "mail/2008-08.mbox", &x);
    fb = slurp(b, "mail/2008-08.mbox", &y);
    assert_true(x != y || memcmp(fa, fb, x) != 0);
    free(fa);
    free(fb);
    rm_rf(a);
    rm_rf(b);
    free(a);
    free(b);
}

static void bad_configuration_is_refused(void **state)
{
    (void)state;
    struct ks_simulate_config c;
    small_config(&c);
    c.to_day = c.from_day - 1;
    assert_int_equal(ks_simulate_run(&c, "/tmp/unused", NULL, NULL), KS_EINVAL);
    small_config(&c);
    c.scale = 0;
    assert_int_equal(ks_simulate_run(&c, "/tmp/unused", NULL, NULL), KS_EINVAL);
    small_config(&c);
    c.sample_rate = 0;
    assert_int_equal(ks_simulate_run(&c, "/tmp/unused", NULL, NULL), KS_EINVAL);
}

/* The reference quarter at a small scale, generated once for the share tests. */
static char *quarter;
static struct ks_simulate_stats qst;

static int quarter_setup(void **state)
{
    (void)state;
    struct ks_simulate_config c;
    ks_simulate_config_default(&c);
    c.scale = 0.01;
    c.parts = KS_SIM_DDOS | KS_SIM_MAIL | KS_SIM_SAMPLES | KS_SIM_INCIDENTS | KS_SIM_WEB;
    c.mail_history = false;
    quarter = tmpdir();
    return ks_simulate_run(&c, quarter, NULL, &qst) == KS_OK ? 0 : -1;
}

static int quarter_teardown(void **state)
{
    (void)state;
    rm_rf(quarter);
    free(quarter);
    return 0;
}

static void ddos_classes_follow_the_reference(void **state)
{
    (void)state;
    uint64_t n = qst.ddos_attacks[0] + qst.ddos_attacks[1] + qst.ddos_attacks[2];
    assert_true(n >= 258 && n <= 286); /* 272 +- 5% */
    assert_true(fabs(100.0 * (double)qst.ddos_attacks[0] / (double)n - 77) <= 1.0);
    assert_true(fabs(100.0 * (double)qst.ddos_attacks[1] / (double)n - 10) <= 1.0);
    assert_true(fabs(100.0 * (double)qst.ddos_attacks[2] / (double)n - 13) <= 1.0);
}

static void ddos_durations_and_largest_attack(void **state)
{
    (void)state;
    size_t len;
    char *csv = slurp(quarter, "truth/ddos.csv", &len);
    assert_non_null(csv);
    int rows = 0, short_ = 0, long_ = 0, largest = 0;
    double max_other = 0, big = 0;
    char *save = NULL;
    for (char *line = strtok_r(csv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "id,", 3) == 0)
            continue;
        char s[40], e[40], cls[16], vec[128];
        double gbps, kpps;
        unsigned id, nsrc;
        int lg;
        char tg[20];
        assert_int_equal(sscanf(line, "%u,%39[^,],%39[^,],%15[^,],%19[^,],%lf,%lf,%127[^,],%u,%d",
                                &id, s, e, cls, tg, &gbps, &kpps, vec, &nsrc, &lg),
                         10);
        int64_t ts, te;
        assert_int_equal(ks_time_parse(s, strlen(s), &ts), KS_OK);
        assert_int_equal(ks_time_parse(e, strlen(e), &te), KS_OK);
        rows++;
        short_ += te - ts < 30 * KS_USEC_PER_MIN;
        long_ += te - ts > 24 * KS_USEC_PER_HOUR;
        if (lg) {
            largest++;
            big = gbps;
            assert_string_equal(cls, "bandwidth");
            assert_string_equal(vec, "udp-flood+icmp-flood>syn-flood>udp-flood");
            assert_true(nsrc <= 5);
        } else if (gbps > max_other) {
            max_other = gbps;
        }
    }
    free(csv);
    assert_int_equal(largest, 1);
    assert_true(big > 2.0);
    assert_true(big > max_other);
    assert_true(fabs(100.0 * short_ / rows - 72) <= 2.0);
    assert_true(long_ >= 1 && long_ <= 3);
}

static void spam_ratio_and_campaign(void **state)
{
    (void)state;
    assert_true(qst.mails > 0);
    double ratio = 100.0 * (double)qst.spam / (double)qst.mails;
    assert_true(fabs(ratio - 85.8) <= 1.0);
    size_t len;
    char *csv = slurp(quarter, "truth/mail.csv", &len);
    assert_non_null(csv);
    char *l = strstr(csv, "\n2008-08-05,");
    assert_non_null(l);
    unsigned n, s, c;
    assert_int_equal(sscanf(l + 12, "%u,%u,%u", &n, &s, &c), 3);
    assert_true(fabs((double)c - 0.026 * n) <= 1.0);
    l = strstr(csv, "\n2008-08-04,");
    assert_non_null(l);
    assert_int_equal(sscanf(l + 12, "%u,%u,%u", &n, &s, &c), 3);
    assert_int_equal(c, 0); /* nothing before the first day */
    free(csv);
}

static void sample_types_follow_the_reference(void **state)
{
    (void)state;
    size_t len;
    char *csv = slurp(quarter, "truth/samples.csv", &len);
    assert_non_null(csv);
    unsigned t[3] = {0}, n = 0;
    char *save = NULL;
    for (char *line = strtok_r(csv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *c = strchr(line, ',');
        if (!c || strncmp(line, "sha256", 6) == 0)
            continue;
        n++;
        t[0] += strncmp(c + 1, "worm,", 5) == 0;
        t[1] += strncmp(c + 1, "bot,", 4) == 0;
        t[2] += strncmp(c + 1, "downloader,", 11) == 0;
    }
    free(csv);
    assert_true(n > 1000);
    assert_true(fabs(100.0 * t[0] / n - 4.2) <= 0.5);
    assert_true(fabs(100.0 * t[1] / n - 68.8) <= 0.5);
    assert_true(fabs(100.0 * t[2] / n - 27.0) <= 0.5);
    /* about 60 distinct samples a day */
    assert_true(qst.sample_unique >= 92 * 55 && qst.sample_unique <= 92 * 66);
}

static void incident_log_has_the_reference_shares(void **state)
{
    (void)state;
    size_t len;
    char *csv = slurp(quarter, "incidents.csv", &len);
    assert_non_null(csv);
    static const char *const cats[] = {"vulnerability", "events", "history", "security", "other"};
    /* 45.5 / 15.9 / 9.1 / 15.9 / 13.6 % of 44 (REPORT_FIGURES.md, fig-incident-share). */
    static const unsigned want[] = {20, 7, 4, 7, 6};
    unsigned got[5] = {0};
    char *save = NULL;
    for (char *line = strtok_r(csv, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        for (int i = 0; i < 5; i++)
            if (strlen(line) > 11 && strncmp(line + 11, cats[i], strlen(cats[i])) == 0 &&
                line[11 + strlen(cats[i])] == ',')
                got[i]++;
    free(csv);
    for (int i = 0; i < 5; i++)
        assert_int_equal(got[i], want[i]);
}

static void sqli_peaks_are_planted(void **state)
{
    (void)state;
    /* the three clipped days: count attack lines per day over every log */
    assert_true(qst.web_attacks > 50000);
    size_t len;
    char *csv = slurp(quarter, "truth/sqli.csv", &len);
    assert_non_null(csv);
    assert_non_null(strstr(csv, ",data-theft,"));
    assert_non_null(strstr(csv, ",db-overload,"));
    assert_non_null(strstr(csv, ",defacement,"));
    free(csv);
}

/* --- the address table against the geolocation data ----------------------------------------- */

static struct ks_geo *open_geo(void)
{
    const char *dir = getenv("KANSOKU_GEO_DIR");
    struct ks_geo *g = NULL;
    int rc = ks_geo_open(dir && *dir ? dir : NULL, &g);
    if (rc != KS_OK) {
        ks_geo_free(g);
        return NULL;
    }
    return g;
}

static void address_table_matches_geo(void **state)
{
    (void)state;
    struct ks_geo *g = open_geo();
    if (!g)
        skip(); /* no geolocation data installed (scripts/install-geo) */
    struct sim_rng r;
    sim_rng_init(&r, 7, 7);
    const struct sim_pfx *p;
    size_t np;
    const char *cc;
    for (size_t i = 0; (cc = sim_table_cc(i, &p, &np)) != NULL; i++) {
        int ok = 0;
        for (int k = 0; k < 200; k++) {
            struct ks_addr a;
            struct ks_geo_result res;
            ks_addr_from_v4(&a, sim_addr_cc(&r, cc));
            ks_geo_lookup(g, &a, &res);
            ok += strcmp(res.country, cc) == 0;
        }
        if (ok < 190)
            fail_msg("%s: only %d of 200 addresses geolocate there", cc, ok);
    }
    uint32_t asn;
    for (size_t i = 0; sim_table_isp(i, &asn, &p, &np) != NULL; i++) {
        int okc = 0, oka = 0;
        for (int k = 0; k < 200; k++) {
            struct ks_addr a;
            struct ks_geo_result res;
            ks_addr_from_v4(&a, sim_addr_isp(&r, (int)i));
            ks_geo_lookup(g, &a, &res);
            okc += strcmp(res.country, "JP") == 0;
            oka += asn == 0 || res.asn == asn;
        }
        if (okc < 190 || oka < 180)
            fail_msg("ISP %zu (AS%u): %d in JP, %d in the AS, of 200", i, asn, okc, oka);
    }
    ks_geo_free(g);
}

static void mixed_sources_geolocate_in_their_shares(void **state)
{
    (void)state;
    struct ks_geo *g = open_geo();
    if (!g)
        skip();
    /* the darknet figure's mix: 43% domestic, CN 27% */
    static const struct sim_src mix[] = {{"JP", 0, 7},  {"JP", 1, 7},   {"JP", 2, 4},
                                         {"JP", 3, 4},  {"JP", 10, 21}, {"CN", -1, 27},
                                         {"TW", -1, 5}, {"KR", -1, 3},  {"US", -1, 22}};
    struct sim_rng r;
    sim_rng_init(&r, 3, 3);
    int jp = 0, cn = 0, iij = 0, n = 20000;
    for (int k = 0; k < n; k++) {
        struct ks_addr a;
        struct ks_geo_result res;
        ks_addr_from_v4(&a, sim_addr_mix(&r, mix, sizeof mix / sizeof mix[0], NULL));
        ks_geo_lookup(g, &a, &res);
        jp += strcmp(res.country, "JP") == 0;
        cn += strcmp(res.country, "CN") == 0;
        iij += res.asn == 2497;
    }
    assert_true(fabs(100.0 * jp / n - 43) <= 1.5);
    assert_true(fabs(100.0 * cn / n - 27) <= 1.5);
    assert_true(fabs(100.0 * iij / n - 7) <= 1.0);
    ks_geo_free(g);
}

static void rng_is_uniform_and_stable(void **state)
{
    (void)state;
    struct sim_rng r;
    sim_rng_init(&r, 1, 1);
    uint64_t first = sim_next(&r);
    sim_rng_init(&r, 1, 1);
    assert_true(sim_next(&r) == first);
    unsigned hist[10] = {0};
    for (int i = 0; i < 100000; i++)
        hist[sim_below(&r, 10)]++;
    for (int i = 0; i < 10; i++)
        assert_true(hist[i] > 9500 && hist[i] < 10500);
    double s = 0;
    for (int i = 0; i < 20000; i++)
        s += sim_poisson(&r, 3.0);
    assert_true(fabs(s / 20000 - 3.0) < 0.1);
}

int main(void)
{
    const struct CMUnitTest basic[] = {
        cmocka_unit_test(rng_is_uniform_and_stable),
        cmocka_unit_test(same_seed_gives_same_bytes),
        cmocka_unit_test(different_seed_gives_different_bytes),
        cmocka_unit_test(bad_configuration_is_refused),
        cmocka_unit_test(address_table_matches_geo),
        cmocka_unit_test(mixed_sources_geolocate_in_their_shares),
    };
    const struct CMUnitTest shares[] = {
        cmocka_unit_test(ddos_classes_follow_the_reference),
        cmocka_unit_test(ddos_durations_and_largest_attack),
        cmocka_unit_test(spam_ratio_and_campaign),
        cmocka_unit_test(sample_types_follow_the_reference),
        cmocka_unit_test(incident_log_has_the_reference_shares),
        cmocka_unit_test(sqli_peaks_are_planted),
    };
    int fails = cmocka_run_group_tests_name("simulate", basic, NULL, NULL);
    fails +=
        cmocka_run_group_tests_name("simulate quarter", shares, quarter_setup, quarter_teardown);
    return fails;
}
