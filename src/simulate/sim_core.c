/* simulate: the driver (parts run by a few threads, manifest), random numbers, output files,
 * pcap records, addresses by country and time formatting. */
#include "sim_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kansoku/ks_geo.h"
#include "kansoku/ks_ip.h"
#include "kansoku/ks_time.h"

/* --- random numbers ----------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void sim_rng_init(struct sim_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * UINT64_C(0xd1b54a32d192ed03));
    x = splitmix64(&x) ^ stream;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t sim_next(struct sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint32_t sim_below(struct sim_rng *r, uint32_t n)
{
    if (n <= 1)
        return 0;
    /* Lemire's multiply-shift with rejection: exactly uniform. */
    uint64_t m = (uint64_t)(uint32_t)(sim_next(r) >> 32) * n;
    uint32_t lo = (uint32_t)m;
    if (lo < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (lo < t) {
            m = (uint64_t)(uint32_t)(sim_next(r) >> 32) * n;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double sim_unit(struct sim_rng *r)
{
    return (double)(sim_next(r) >> 11) * 0x1.0p-53;
}

double sim_range(struct sim_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * sim_unit(r);
}

double sim_logu(struct sim_rng *r, double lo, double hi)
{
    return lo * exp(log(hi / lo) * sim_unit(r));
}

double sim_normal(struct sim_rng *r)
{
    /* Box-Muller; the second value is dropped to keep the stream simple. */
    double u = 1.0 - sim_unit(r), v = sim_unit(r);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

uint32_t sim_poisson(struct sim_rng *r, double lambda)
{
    if (lambda <= 0)
        return 0;
    if (lambda > 40) {
        double x = floor(lambda + sqrt(lambda) * sim_normal(r) + 0.5);
        return x < 0 ? 0 : (uint32_t)x;
    }
    double l = exp(-lambda), p = 1.0;
    uint32_t k = 0;
    do {
        k++;
        p *= sim_unit(r);
    } while (p > l);
    return k - 1;
}

size_t sim_pick(struct sim_rng *r, const double *w, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += w[i];
    double x = sim_unit(r) * sum;
    for (size_t i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

bool sim_chance(struct sim_rng *r, double p)
{
    return sim_unit(r) < p;
}

/* --- addresses ------------------------------------------------------------------------------ */

#define P(a, b, c, d, l)                                                                           \
    {                                                                                              \
        ((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d), l              \
    }

/* Large allocations of each country, every one checked against the geolocation data
 * (ip-location-db, 2026) by test_simulate.c: random hosts of each prefix geolocate to the
 * country. Real allocations of 2008 were not all where they are now; the figures only need
 * the geolocation the report will use to agree. */
static const struct sim_pfx pf_ar[] = {P(186, 108, 0, 0, 14)};
static const struct sim_pfx pf_at[] = {P(62, 46, 0, 0, 15)};
static const struct sim_pfx pf_au[] = {P(1, 120, 0, 0, 13), P(101, 160, 0, 0, 11)};
static const struct sim_pfx pf_br[] = {P(201, 80, 0, 0, 12)};
static const struct sim_pfx pf_ca[] = {P(70, 24, 0, 0, 13), P(99, 224, 0, 0, 11)};
static const struct sim_pfx pf_ch[] = {P(85, 0, 0, 0, 13)};
static const struct sim_pfx pf_cn[] = {P(61, 128, 0, 0, 10), P(222, 64, 0, 0, 11),
                                       P(123, 112, 0, 0, 12), P(58, 16, 0, 0, 13),
                                       P(218, 0, 0, 0, 11)};
static const struct sim_pfx pf_co[] = {P(181, 48, 0, 0, 13)};
static const struct sim_pfx pf_cz[] = {P(88, 100, 0, 0, 14)};
static const struct sim_pfx pf_de[] = {P(84, 128, 0, 0, 10), P(87, 128, 0, 0, 10)};
static const struct sim_pfx pf_eg[] = {P(41, 32, 0, 0, 12)};
static const struct sim_pfx pf_es[] = {P(83, 32, 0, 0, 11), P(80, 24, 0, 0, 13)};
static const struct sim_pfx pf_fr[] = {P(86, 192, 0, 0, 11)};
static const struct sim_pfx pf_gb[] = {P(81, 128, 0, 0, 11), P(86, 128, 0, 0, 11)};
static const struct sim_pfx pf_gr[] = {P(94, 64, 0, 0, 13)};
static const struct sim_pfx pf_hk[] = {P(219, 76, 0, 0, 14), P(113, 252, 0, 0, 14)};
static const struct sim_pfx pf_hu[] = {P(84, 0, 0, 0, 14)};
static const struct sim_pfx pf_id[] = {P(36, 64, 0, 0, 11)};
static const struct sim_pfx pf_il[] = {P(79, 176, 0, 0, 13)};
static const struct sim_pfx pf_in[] = {P(117, 192, 0, 0, 10), P(59, 88, 0, 0, 13),
                                       P(122, 160, 0, 0, 13)};
static const struct sim_pfx pf_ir[] = {P(2, 176, 0, 0, 12), P(5, 112, 0, 0, 12)};
static const struct sim_pfx pf_it[] = {P(151, 0, 0, 0, 10), P(87, 0, 0, 0, 13)};
static const struct sim_pfx pf_kr[] = {P(121, 128, 0, 0, 10), P(222, 96, 0, 0, 12),
                                       P(59, 0, 0, 0, 11)};
static const struct sim_pfx pf_kz[] = {P(95, 56, 0, 0, 14), P(2, 132, 0, 0, 14)};
static const struct sim_pfx pf_mx[] = {P(189, 128, 0, 0, 10), P(201, 96, 0, 0, 11)};
static const struct sim_pfx pf_my[] = {P(175, 136, 0, 0, 13)};
static const struct sim_pfx pf_nl[] = {P(77, 160, 0, 0, 12), P(84, 24, 0, 0, 13)};
static const struct sim_pfx pf_nz[] = {P(125, 236, 0, 0, 14)};
static const struct sim_pfx pf_pe[] = {P(190, 232, 0, 0, 13), P(179, 6, 0, 0, 15)};
static const struct sim_pfx pf_ph[] = {P(112, 198, 0, 0, 16), P(49, 144, 0, 0, 13)};
static const struct sim_pfx pf_pk[] = {P(39, 32, 0, 0, 11), P(182, 176, 0, 0, 12)};
static const struct sim_pfx pf_pl[] = {P(83, 0, 0, 0, 11), P(79, 184, 0, 0, 13)};
static const struct sim_pfx pf_pt[] = {P(85, 240, 0, 0, 13), P(89, 152, 0, 0, 14)};
static const struct sim_pfx pf_ru[] = {P(95, 24, 0, 0, 13)};
static const struct sim_pfx pf_se[] = {P(78, 64, 0, 0, 12), P(90, 224, 0, 0, 12)};
static const struct sim_pfx pf_sg[] = {P(220, 255, 0, 0, 16), P(116, 86, 0, 0, 15)};
static const struct sim_pfx pf_th[] = {P(58, 8, 0, 0, 14), P(171, 96, 0, 0, 13),
                                       P(49, 228, 0, 0, 14)};
static const struct sim_pfx pf_tr[] = {P(78, 160, 0, 0, 11), P(85, 96, 0, 0, 12),
                                       P(88, 224, 0, 0, 11)};
static const struct sim_pfx pf_tw[] = {P(61, 216, 0, 0, 14), P(114, 32, 0, 0, 12),
                                       P(118, 160, 0, 0, 13)};
static const struct sim_pfx pf_us[] = {P(68, 32, 0, 0, 11), P(98, 192, 0, 0, 10),
                                       P(12, 0, 0, 0, 8)};
static const struct sim_pfx pf_ve[] = {P(186, 88, 0, 0, 13), P(190, 72, 0, 0, 13)};
static const struct sim_pfx pf_vn[] = {P(113, 160, 0, 0, 11), P(14, 160, 0, 0, 11)};

/* Japan by ISP (AS numbers as the AS table has them). */
static const struct sim_pfx pf_iij[] = {P(202, 232, 0, 0, 16), P(210, 138, 0, 0, 16),
                                        P(133, 110, 0, 0, 15)};
static const struct sim_pfx pf_ocn[] = {P(153, 128, 0, 0, 10), P(180, 0, 0, 0, 10)};
static const struct sim_pfx pf_sbb[] = {P(60, 64, 0, 0, 11), P(221, 64, 0, 0, 11)};
static const struct sim_pfx pf_kddi[] = {P(106, 128, 0, 0, 10), P(111, 96, 0, 0, 12)};
static const struct sim_pfx pf_sonet[] = {P(223, 132, 0, 0, 14), P(182, 168, 0, 0, 14)};
static const struct sim_pfx pf_biglobe[] = {P(125, 192, 0, 0, 13), P(133, 200, 0, 0, 13)};
static const struct sim_pfx pf_arteria[] = {P(221, 240, 0, 0, 12)};
static const struct sim_pfx pf_ntme[] = {P(123, 104, 0, 0, 14), P(114, 192, 0, 0, 14)};
static const struct sim_pfx pf_ctc[] = {P(180, 196, 0, 0, 14), P(115, 36, 0, 0, 14)};
static const struct sim_pfx pf_tokai[] = {P(59, 84, 0, 0, 15)};
static const struct sim_pfx pf_jpother[] = {P(183, 76, 0, 0, 15), P(61, 197, 0, 0, 16),
                                            P(222, 159, 0, 0, 16), P(58, 3, 0, 0, 16)};

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define CC(code, a)                                                                                \
    {                                                                                              \
        code, a, N(a)                                                                              \
    }

static const struct cc_entry {
    const char *cc;
    const struct sim_pfx *p;
    size_t n;
} cc_table[] = {
    CC("AR", pf_ar), CC("AT", pf_at), CC("AU", pf_au), CC("BR", pf_br), CC("CA", pf_ca),
    CC("CH", pf_ch), CC("CN", pf_cn), CC("CO", pf_co), CC("CZ", pf_cz), CC("DE", pf_de),
    CC("EG", pf_eg), CC("ES", pf_es), CC("FR", pf_fr), CC("GB", pf_gb), CC("GR", pf_gr),
    CC("HK", pf_hk), CC("HU", pf_hu), CC("ID", pf_id), CC("IL", pf_il), CC("IN", pf_in),
    CC("IR", pf_ir), CC("IT", pf_it), CC("KR", pf_kr), CC("KZ", pf_kz), CC("MX", pf_mx),
    CC("MY", pf_my), CC("NL", pf_nl), CC("NZ", pf_nz), CC("PE", pf_pe), CC("PH", pf_ph),
    CC("PK", pf_pk), CC("PL", pf_pl), CC("PT", pf_pt), CC("RU", pf_ru), CC("SE", pf_se),
    CC("SG", pf_sg), CC("TH", pf_th), CC("TR", pf_tr), CC("TW", pf_tw), CC("US", pf_us),
    CC("VE", pf_ve), CC("VN", pf_vn),
};

static const struct isp_entry {
    const char *name;
    uint32_t asn;
    const struct sim_pfx *p;
    size_t n;
} isp_table[SIM_NISP] = {
    {"Internet Initiative Japan", 2497, pf_iij, N(pf_iij)},
    {"NTT Communications (OCN)", 4713, pf_ocn, N(pf_ocn)},
    {"SoftBank", 17676, pf_sbb, N(pf_sbb)},
    {"KDDI", 2516, pf_kddi, N(pf_kddi)},
    {"Sony Network Communications", 2527, pf_sonet, N(pf_sonet)},
    {"BIGLOBE", 2518, pf_biglobe, N(pf_biglobe)},
    {"ARTERIA Networks", 17506, pf_arteria, N(pf_arteria)},
    {"NTT-ME", 9595, pf_ntme, N(pf_ntme)},
    {"Chubu Telecommunications", 18126, pf_ctc, N(pf_ctc)},
    {"TOKAI Communications", 10010, pf_tokai, N(pf_tokai)},
    {"other Japanese networks", 0, pf_jpother, N(pf_jpother)},
};

static uint32_t host_in(struct sim_rng *r, const struct sim_pfx *p, size_t n)
{
    const struct sim_pfx *x = &p[sim_below(r, (uint32_t)n)];
    uint64_t size = UINT64_C(1) << (32 - x->len);
    uint32_t a = x->base + (uint32_t)(sim_next(r) % size);
    if ((a & 0xff) == 0 || (a & 0xff) == 255)
        a = (a & ~0xffu) | (1 + sim_below(r, 254));
    return a;
}

uint32_t sim_addr_cc(struct sim_rng *r, const char *cc)
{
    if (strcmp(cc, "JP") == 0)
        return sim_addr_isp(r, (int)sim_below(r, SIM_NISP));
    for (size_t i = 0; i < N(cc_table); i++)
        if (strcmp(cc_table[i].cc, cc) == 0)
            return host_in(r, cc_table[i].p, cc_table[i].n);
    return 0;
}

uint32_t sim_addr_isp(struct sim_rng *r, int isp)
{
    if (isp < 0 || isp >= SIM_NISP)
        isp = SIM_NISP - 1;
    return host_in(r, isp_table[isp].p, isp_table[isp].n);
}

uint32_t sim_addr_src(struct sim_rng *r, const struct sim_src *s)
{
    if (strcmp(s->cc, "JP") == 0 && s->isp >= 0)
        return sim_addr_isp(r, s->isp);
    return sim_addr_cc(r, s->cc);
}

uint32_t sim_addr_mix(struct sim_rng *r, const struct sim_src *mix, size_t n, size_t *which)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += mix[i].share;
    double x = sim_unit(r) * sum;
    size_t k = n - 1;
    for (size_t i = 0; i < n; i++) {
        if (x < mix[i].share) {
            k = i;
            break;
        }
        x -= mix[i].share;
    }
    if (which)
        *which = k;
    return sim_addr_src(r, &mix[k]);
}

const char *sim_table_cc(size_t i, const struct sim_pfx **p, size_t *np)
{
    if (i >= N(cc_table))
        return NULL;
    *p = cc_table[i].p;
    *np = cc_table[i].n;
    return cc_table[i].cc;
}

const char *sim_table_isp(size_t i, uint32_t *asn, const struct sim_pfx **p, size_t *np)
{
    if (i >= SIM_NISP)
        return NULL;
    *asn = isp_table[i].asn;
    *p = isp_table[i].p;
    *np = isp_table[i].n;
    return isp_table[i].name;
}

void sim_addr_geo(const struct ks_simulate_config *cfg, uint32_t a, const struct sim_src *src,
                  char cc[3], uint32_t *asn)
{
    if (cfg->geo) {
        struct ks_addr x;
        struct ks_geo_result r;
        ks_addr_from_v4(&x, a);
        ks_geo_lookup(cfg->geo, &x, &r);
        memcpy(cc, r.country, 3);
        *asn = r.asn;
        return;
    }
    snprintf(cc, 3, "%s", src->cc);
    *asn = strcmp(src->cc, "JP") == 0 && src->isp >= 0 && src->isp < SIM_NISP
               ? isp_table[src->isp].asn
               : 0;
}

void sim_addr_text(uint32_t a, char buf[16])
{
    snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

/* --- output --------------------------------------------------------------------------------- */

struct sim_run {
    const struct ks_simulate_config *cfg;
    const char *dir;
    const struct ks_diag *diag;
    uint32_t reported;
    pthread_mutex_t mu;
    struct sim_part parts[8];
    int (*fns[8])(struct sim_part *);
    unsigned nparts, next;
};

void sim_fail(struct sim_part *p, const char *rel, int err, const char *what)
{
    if (!p->err)
        p->err = err;
    struct sim_run *run = p->run;
    struct ks_loc loc = {.source = rel};
    pthread_mutex_lock(&run->mu);
    ks_diag_report(run->diag, &run->reported, "simulate", &loc, err, "%s: %s", what,
                   err == KS_EIO || err == KS_ENOSPC ? strerror(errno) : ks_strerror(err));
    pthread_mutex_unlock(&run->mu);
}

static int mkdirs(char *path)
{
    for (char *s = path + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        int rc = mkdir(path, 0777);
        *s = '/';
        if (rc != 0 && errno != EEXIST)
            return KS_EIO;
    }
    return KS_OK;
}

int sim_open(struct sim_part *p, struct sim_file *f, const char *fmt, ...)
{
    memset(f, 0, sizeof *f);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(f->rel, sizeof f->rel, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof f->rel)
        return KS_EINVAL;
    size_t len = strlen(p->dir) + 1 + (size_t)n + 1;
    char *path = malloc(len);
    if (!path)
        return KS_ENOMEM;
    snprintf(path, len, "%s/%s", p->dir, f->rel);
    int rc = mkdirs(path);
    if (rc == KS_OK) {
        f->f = fopen(path, "wb");
        if (!f->f)
            rc = KS_EIO;
    }
    free(path);
    if (rc != KS_OK) {
        sim_fail(p, f->rel, rc, "cannot create");
        return rc;
    }
    f->buf = malloc(1u << 18);
    if (f->buf)
        setvbuf(f->f, f->buf, _IOFBF, 1u << 18);
    return KS_OK;
}

void sim_put(struct sim_file *f, const void *b, size_t n)
{
    if (f->err || !f->f)
        return;
    if (fwrite(b, 1, n, f->f) != n)
        f->err = errno == ENOSPC ? KS_ENOSPC : KS_EIO;
    f->bytes += n;
}

void sim_printf(struct sim_file *f, const char *fmt, ...)
{
    if (f->err || !f->f)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(f->f, fmt, ap);
    va_end(ap);
    if (n < 0)
        f->err = errno == ENOSPC ? KS_ENOSPC : KS_EIO;
    else
        f->bytes += (uint64_t)n;
}

int sim_close(struct sim_part *p, struct sim_file *f)
{
    if (!f->f)
        return f->err ? f->err : KS_EIO;
    if (fclose(f->f) != 0 && !f->err)
        f->err = errno == ENOSPC ? KS_ENOSPC : KS_EIO;
    f->f = NULL;
    free(f->buf);
    f->buf = NULL;
    if (f->err) {
        sim_fail(p, f->rel, f->err, "cannot write");
        return f->err;
    }
    if (p->nfiles == p->capfiles) {
        size_t cap = p->capfiles ? p->capfiles * 2 : 64;
        struct sim_listed *nf = realloc(p->files, cap * sizeof *nf);
        if (!nf)
            return p->err = KS_ENOMEM;
        p->files = nf;
        p->capfiles = cap;
    }
    p->files[p->nfiles].rel = strdup(f->rel);
    if (!p->files[p->nfiles].rel)
        return p->err = KS_ENOMEM;
    p->files[p->nfiles++].bytes = f->bytes;
    p->st.files++;
    p->st.bytes += f->bytes;
    return KS_OK;
}

/* --- pcap ----------------------------------------------------------------------------------- */

static void le32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

static void be16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

static void be32(uint8_t *b, uint32_t v)
{
    be16(b, (uint16_t)(v >> 16));
    be16(b + 2, (uint16_t)v);
}

int sim_pcap_open(struct sim_part *p, struct sim_file *f, const char *rel)
{
    int rc = sim_open(p, f, "%s", rel);
    if (rc != KS_OK)
        return rc;
    /* pcap global header (little-endian, µs): v2.4, snaplen 96, LINKTYPE_RAW (101). */
    uint8_t h[24] = {0};
    le32(h, 0xa1b2c3d4u);
    h[4] = 2;
    h[6] = 4;
    le32(h + 16, 96);
    le32(h + 20, 101);
    sim_put(f, h, sizeof h);
    return KS_OK;
}

void sim_pcap_write(struct sim_file *f, const struct sim_pkt *k)
{
    uint8_t b[16 + 20 + 20];
    memset(b, 0, sizeof b);
    uint8_t *ip = b + 16, *l4 = ip + 20;
    uint32_t l4len = k->proto == 6 ? 20 : 8;
    uint32_t cap = 20 + l4len;
    uint32_t wire = k->wire_len < cap ? cap : k->wire_len;
    int64_t sec = k->ts_us / 1000000, usec = k->ts_us % 1000000;
    le32(b, (uint32_t)sec);
    le32(b + 4, (uint32_t)usec);
    le32(b + 8, cap);
    le32(b + 12, wire);
    ip[0] = 0x45;
    be16(ip + 2, (uint16_t)wire);
    be16(ip + 4, k->ipid);
    if (k->proto == 6)
        ip[6] = 0x40; /* DF, as TCP stacks set it */
    ip[8] = k->ttl ? k->ttl : 64;
    ip[9] = k->proto;
    be32(ip + 12, k->src);
    be32(ip + 16, k->dst);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    be16(ip + 10, (uint16_t)~sum);
    if (k->proto == 6) {
        be16(l4, k->sport);
        be16(l4 + 2, k->dport);
        be32(l4 + 4, (uint32_t)(k->ts_us * 2654435761u) ^ k->src);
        if (k->tcp_flags & 0x10)
            be32(l4 + 8, k->dst ^ 0x5a5a5a5au);
        l4[12] = 0x50;
        l4[13] = k->tcp_flags;
        be16(l4 + 14, (k->tcp_flags & 0x02) ? 65535 : 16384);
    } else if (k->proto == 17) {
        be16(l4, k->sport);
        be16(l4 + 2, k->dport);
        be16(l4 + 4, (uint16_t)(wire - 20));
    } else {
        l4[0] = k->icmp_type;
        be16(l4 + 4, (uint16_t)(k->src & 0xffff));
        be16(l4 + 6, k->ipid);
    }
    sim_put(f, b, 16 + cap);
}

static int pkt_cmp(const void *a, const void *b)
{
    const struct sim_pkt *x = a, *y = b;
    if (x->ts_us != y->ts_us)
        return x->ts_us < y->ts_us ? -1 : 1;
    if (x->src != y->src)
        return x->src < y->src ? -1 : 1;
    if (x->dst != y->dst)
        return x->dst < y->dst ? -1 : 1;
    if (x->dport != y->dport)
        return x->dport < y->dport ? -1 : 1;
    return x->sport < y->sport ? -1 : x->sport > y->sport;
}

void sim_pkts_sort(struct sim_pkt *k, size_t n)
{
    /* qsort is not stable, so ties are broken on the fields: the order is a function of the
     * packets alone. */
    qsort(k, n, sizeof *k, pkt_cmp);
}

/* --- time ----------------------------------------------------------------------------------- */

int64_t sim_day_start(const struct ks_simulate_config *cfg, int64_t day)
{
    return (day * 86400 - cfg->tz_offset_s) * KS_USEC_PER_SEC;
}

int64_t sim_ndays(const struct ks_simulate_config *cfg)
{
    return cfg->to_day - cfg->from_day + 1;
}

static const char *const mon_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const day_names[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

static void zone(int32_t tz, char out[16])
{
    int32_t a = tz < 0 ? -tz : tz;
    snprintf(out, 16, "%c%02d%02d", tz < 0 ? '-' : '+', (int)(a / 3600), (int)(a % 3600 / 60));
}

void sim_fmt_clf(int64_t t_us, int32_t tz, char *buf, size_t size)
{
    struct ks_tm tm;
    char z[16];
    ks_time_split(t_us, tz, &tm);
    zone(tz, z);
    snprintf(buf, size, "%02d/%s/%04d:%02d:%02d:%02d %s", tm.day, mon_names[tm.month - 1], tm.year,
             tm.hour, tm.min, tm.sec, z);
}

void sim_fmt_mail(int64_t t_us, int32_t tz, char *buf, size_t size)
{
    struct ks_tm tm;
    char z[16];
    ks_time_split(t_us, tz, &tm);
    zone(tz, z);
    snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d %s", day_names[tm.wday - 1], tm.day,
             mon_names[tm.month - 1], tm.year, tm.hour, tm.min, tm.sec, z);
}

void sim_fmt_iso(int64_t t_us, int32_t tz, char *buf, size_t size)
{
    if (ks_time_format(t_us, tz, 0, buf, size) < 0 && size)
        buf[0] = '\0';
}

/* Relative activity per local hour (an ISP's residential day: low before dawn, high at
 * night), as integers so that the cycle is the same on every platform. */
static const int diurnal_w[24] = {70, 55, 42, 33, 28, 27, 30, 38, 48, 56, 60, 63,
                                  66, 65, 64, 65, 67, 71, 77, 84, 90, 94, 92, 82};

double sim_diurnal(int hour)
{
    int sum = 0;
    for (int i = 0; i < 24; i++)
        sum += diurnal_w[i];
    return (double)diurnal_w[((hour % 24) + 24) % 24] / sum;
}

int64_t sim_time_of_day(struct sim_rng *r)
{
    double w[24];
    for (int i = 0; i < 24; i++)
        w[i] = diurnal_w[i];
    size_t h = sim_pick(r, w, 24);
    return (int64_t)h * KS_USEC_PER_HOUR + (int64_t)sim_below(r, 3600000) * 1000 +
           sim_below(r, 1000);
}

void sim_hex(const uint8_t *b, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[b[i] >> 4];
        out[2 * i + 1] = hx[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* --- the driver ----------------------------------------------------------------------------- */

void ks_simulate_config_default(struct ks_simulate_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1;
    cfg->from_day = ks_days_from_civil(2008, 6, 1);
    cfg->to_day = ks_days_from_civil(2008, 8, 31);
    cfg->tz_offset_s = KS_TZ_JST;
    cfg->scale = 1.0;
    cfg->sample_rate = 10000;
    cfg->parts = KS_SIM_ALL;
    cfg->mail_history = true;
    cfg->threads = 2;
}

static void *worker(void *arg)
{
    struct sim_run *run = arg;
    for (;;) {
        pthread_mutex_lock(&run->mu);
        unsigned i = run->next++;
        pthread_mutex_unlock(&run->mu);
        if (i >= run->nparts)
            return NULL;
        struct sim_part *p = &run->parts[i];
        int rc = run->fns[i](p);
        if (rc != KS_OK && !p->err)
            p->err = rc;
    }
}

static int cmp_listed(const void *a, const void *b)
{
    return strcmp(((const struct sim_listed *)a)->rel, ((const struct sim_listed *)b)->rel);
}

static void add_stats(struct ks_simulate_stats *t, const struct ks_simulate_stats *s)
{
    t->files += s->files;
    t->bytes += s->bytes;
    for (int i = 0; i < 3; i++)
        t->ddos_attacks[i] += s->ddos_attacks[i];
    t->ddos_packets += s->ddos_packets;
    t->darknet_packets += s->darknet_packets;
    t->p2p_packets += s->p2p_packets;
    t->web_lines += s->web_lines;
    t->web_attacks += s->web_attacks;
    t->mails += s->mails;
    t->spam += s->spam;
    t->sample_captures += s->sample_captures;
    t->sample_unique += s->sample_unique;
    t->incidents += s->incidents;
}

static int write_manifest(struct sim_run *run, struct sim_part *mp, struct ks_simulate_stats *st)
{
    size_t n = 0;
    for (unsigned i = 0; i < run->nparts; i++)
        n += run->parts[i].nfiles;
    struct sim_listed *all = malloc((n ? n : 1) * sizeof *all);
    if (!all)
        return KS_ENOMEM;
    n = 0;
    for (unsigned i = 0; i < run->nparts; i++)
        for (size_t j = 0; j < run->parts[i].nfiles; j++)
            all[n++] = run->parts[i].files[j];
    qsort(all, n, sizeof *all, cmp_listed);
    const struct ks_simulate_config *c = run->cfg;
    char from[16], to[16];
    int64_t y;
    int m, d;
    ks_civil_from_days(c->from_day, &y, &m, &d);
    snprintf(from, sizeof from, "%04d-%02d-%02d", (int)y, m, d);
    ks_civil_from_days(c->to_day, &y, &m, &d);
    snprintf(to, sizeof to, "%04d-%02d-%02d", (int)y, m, d);
    struct sim_file f;
    int rc = sim_open(mp, &f, "MANIFEST.txt");
    if (rc != KS_OK) {
        free(all);
        return rc;
    }
    sim_printf(&f,
               "# kansoku simulate: a demo quarter (synthetic data, no real traffic or malware)\n"
               "seed %llu\nfrom %s\nto %s\ntz %+d\nscale %.6g\nsample_rate %u\n"
               "# ingest: see src/simulate/README.md and scripts/demo\n",
               (unsigned long long)c->seed, from, to, (int)c->tz_offset_s, c->scale,
               st->sample_rate);
    for (size_t i = 0; i < n; i++)
        sim_printf(&f, "%12llu %s\n", (unsigned long long)all[i].bytes, all[i].rel);
    free(all);
    return sim_close(mp, &f);
}

int ks_simulate_run(const struct ks_simulate_config *cfg, const char *dir,
                    const struct ks_diag *diag, struct ks_simulate_stats *st)
{
    struct ks_simulate_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    if (!cfg || !dir || !*dir || cfg->to_day < cfg->from_day ||
        cfg->to_day - cfg->from_day >= 400 || !(cfg->scale >= 0.001 && cfg->scale <= 10) ||
        cfg->sample_rate == 0 || cfg->sample_rate > 65535 || cfg->tz_offset_s <= -86400 ||
        cfg->tz_offset_s >= 86400)
        return KS_EINVAL;
    /* The DDoS captures' sampling does not follow --scale: attack rates are set so that a
     * per-second detector sees them at the default 1:10000. */
    st->sample_rate = cfg->sample_rate;

    struct sim_run *run = calloc(1, sizeof *run);
    if (!run)
        return KS_ENOMEM;
    run->cfg = cfg;
    run->dir = dir;
    run->diag = diag;
    pthread_mutex_init(&run->mu, NULL);
    static const struct {
        unsigned bit;
        int (*fn)(struct sim_part *);
    } table[] = {
        {KS_SIM_DDOS, sim_ddos},       {KS_SIM_MAIL, sim_mail},           {KS_SIM_WEB, sim_web},
        {KS_SIM_SAMPLES, sim_samples}, {KS_SIM_DARKNET, sim_darknet},     {KS_SIM_P2P, sim_p2p},
        {KS_SIM_SERIES, sim_series},   {KS_SIM_INCIDENTS, sim_incidents},
    };
    for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (!(cfg->parts & table[i].bit))
            continue;
        struct sim_part *p = &run->parts[run->nparts];
        p->run = run;
        p->cfg = cfg;
        p->dir = dir;
        p->st.sample_rate = st->sample_rate;
        sim_rng_init(&p->rng, cfg->seed, table[i].bit);
        run->fns[run->nparts++] = table[i].fn;
    }
    int rc = KS_OK;
    char *top = strdup(dir);
    if (!top) {
        rc = KS_ENOMEM;
        goto out;
    }
    if (mkdir(top, 0777) != 0 && errno != EEXIST) {
        size_t len = strlen(top);
        char *slash = malloc(len + 2);
        if (slash) {
            memcpy(slash, top, len);
            slash[len] = '/';
            slash[len + 1] = '\0';
            rc = mkdirs(slash);
            free(slash);
        } else {
            rc = KS_ENOMEM;
        }
    }
    free(top);
    if (rc != KS_OK)
        goto out;

    unsigned nth = cfg->threads ? cfg->threads : 1;
    if (nth > run->nparts)
        nth = run->nparts ? run->nparts : 1;
    pthread_t th[8];
    unsigned started = 0;
    for (unsigned i = 1; i < nth && i < 8; i++)
        if (pthread_create(&th[started], NULL, worker, run) == 0)
            started++;
    worker(run);
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);

    for (unsigned i = 0; i < run->nparts; i++) {
        add_stats(st, &run->parts[i].st);
        if (run->parts[i].err && rc == KS_OK)
            rc = run->parts[i].err;
    }
    if (rc == KS_OK) {
        struct sim_part mp = {.run = run, .cfg = cfg, .dir = dir};
        rc = write_manifest(run, &mp, st);
        st->files += mp.st.files;
        st->bytes += mp.st.bytes;
        for (size_t j = 0; j < mp.nfiles; j++)
            free(mp.files[j].rel);
        free(mp.files);
    }
out:
    for (unsigned i = 0; i < run->nparts; i++) {
        for (size_t j = 0; j < run->parts[i].nfiles; j++)
            free(run->parts[i].files[j].rel);
        free(run->parts[i].files);
    }
    pthread_mutex_destroy(&run->mu);
    free(run);
    return rc;
}
