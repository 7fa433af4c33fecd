/* simulate: honeypot captures of harmless synthetic executables, and the incident log.
 *
 * The binaries are PE32 (and a few ELF32) images with valid headers whose code section is
 * zeros and whose data section holds a marker ("KANSOKU-DEMO-SAMPLE type=...") and the
 * indicators a classifier would extract (C&C host, distribution URL, under .invalid). They
 * do nothing: there is no code to run and no import table. */
#include "sim_int.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_time.h"

#define NA(a) (sizeof(a) / sizeof((a)[0]))

enum stype { T_WORM, T_BOT, T_DOWNLOADER, T_N };
static const char *const type_name[T_N] = {"worm", "bot", "downloader"};
static const double type_share[T_N] = {0.042, 0.688, 0.270};
static const char *const families[T_N][4] = {
    {"nami", "kaminari", "arashi", "tsunami"},
    {"kumo", "tora", "kitsune", "tanuki"},
    {"hashi", "fune", "michi", "kago"},
};

/* Figure 7: domestic 68% (operator 31%), foreign 32%. */
static const struct sim_src sample_mix[] = {
    {"JP", 0, 31},   {"JP", 1, 8},    {"JP", 2, 7},    {"JP", 3, 7},    {"JP", 4, 5},
    {"JP", 5, 4},    {"JP", 6, 2},    {"JP", 7, 1},    {"JP", 8, 1},    {"JP", 9, 1},
    {"JP", 10, 1},   {"TH", -1, 7},   {"IN", -1, 6},   {"CN", -1, 6},   {"TW", -1, 3},
    {"KR", -1, 2},   {"MY", -1, 1},   {"PH", -1, 1},   {"US", -1, 0.2}, {"ID", -1, 0.2},
    {"VN", -1, 1.2}, {"BR", -1, 1.0}, {"RU", -1, 1.0}, {"TR", -1, 0.8}, {"PL", -1, 0.6},
    {"MX", -1, 0.5}, {"AR", -1, 0.5},
};

struct sample {
    enum stype type;
    uint16_t family;
    bool packed, elf;
    uint32_t cnc;    /* C&C index (bots) */
    uint32_t url[2]; /* distribution site indexes (downloaders), UINT32_MAX = none */
    uint64_t salt;   /* makes each variant's bytes distinct */
    double pop;      /* how often it is captured */
    char sha[65];
    uint32_t size;
};

static void le16(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

static void le32w(uint8_t *b, uint32_t v)
{
    le16(b, v);
    le16(b + 2, v >> 16);
}

/* Builds the image of s into buf (size at least 16 KiB); returns its length. */
static size_t build_image(const struct sample *s, uint8_t *buf, size_t cap)
{
    struct sim_rng r;
    sim_rng_init(&r, s->salt, 0x51);
    char marker[512];
    int ml =
        snprintf(marker, sizeof marker,
                 "KANSOKU-DEMO-SAMPLE harmless synthetic file, no code; type=%s family=%s "
                 "variant=%016llx",
                 type_name[s->type], families[s->type][s->family], (unsigned long long)s->salt);
    if (s->type == T_BOT)
        ml += snprintf(marker + ml, sizeof marker - (size_t)ml, "%ccnc=irc%02u.cnc-demo.invalid:%u",
                       0, s->cnc, 6660 + s->cnc % 10);
    for (int i = 0; i < 2 && s->type == T_DOWNLOADER; i++)
        if (s->url[i] != UINT32_MAX)
            ml += snprintf(marker + ml, sizeof marker - (size_t)ml,
                           "%curl=http://dist%03u.example.invalid/load/%u.exe", 0, s->url[i],
                           s->url[i] * 7 % 1000);
    ml++; /* keep the NUL */
    size_t data_len = 512 + (size_t)sim_below(&r, 6) * 512;
    memset(buf, 0, cap);
    if (s->elf) {
        /* ELF32 header, one PT_LOAD segment that is readable only: nothing to execute. */
        static const uint8_t ident[] = {0x7f, 'E', 'L', 'F', 1, 1, 1, 0};
        memcpy(buf, ident, sizeof ident);
        size_t len = 52 + 32 + data_len;
        le16(buf + 16, 2);  /* ET_EXEC */
        le16(buf + 18, 3);  /* EM_386 */
        le32w(buf + 20, 1); /* EV_CURRENT */
        le32w(buf + 24, 0x08048000u + 84);
        le32w(buf + 28, 52); /* e_phoff */
        le16(buf + 40, 52);  /* e_ehsize */
        le16(buf + 42, 32);  /* e_phentsize */
        le16(buf + 44, 1);   /* e_phnum */
        le16(buf + 46, 40);  /* e_shentsize */
        uint8_t *ph = buf + 52;
        le32w(ph, 1); /* PT_LOAD */
        le32w(ph + 8, 0x08048000u);
        le32w(ph + 12, 0x08048000u);
        le32w(ph + 16, (uint32_t)len);
        le32w(ph + 20, (uint32_t)len);
        le32w(ph + 24, 4); /* PF_R */
        le32w(ph + 28, 0x1000);
        uint8_t *d = buf + 84;
        memcpy(d, marker, (size_t)ml < data_len ? (size_t)ml : data_len);
        for (size_t i = (size_t)ml; i < data_len; i++)
            d[i] = (uint8_t)(sim_next(&r) >> 56);
        return len;
    }
    /* PE32: DOS header, PE header, optional header, 2-3 sections (FileAlignment 0x200). */
    const uint32_t text_raw = 0x200, text_off = 0x400;
    uint32_t packed_len = s->packed ? 0x800 + 0x200 * sim_below(&r, 8) : 0;
    uint32_t data_off = text_off + text_raw, data_raw = (uint32_t)data_len;
    uint32_t pk_off = data_off + data_raw;
    size_t len = pk_off + packed_len;
    if (len > cap)
        return 0;
    buf[0] = 'M';
    buf[1] = 'Z';
    le16(buf + 2, 0x90);
    le16(buf + 4, 3);
    le16(buf + 8, 4);
    le16(buf + 0x18, 0x40);
    le32w(buf + 0x3c, 0x80);
    memcpy(buf + 0x4e, "This program cannot be run in DOS mode.\r\r\n$", 44);
    uint8_t *pe = buf + 0x80;
    memcpy(pe, "PE\0\0", 4);
    uint16_t nsec = s->packed ? 3 : 2;
    le16(pe + 4, 0x14c);
    le16(pe + 6, nsec);
    le32w(pe + 8, 0x47000000u + (uint32_t)(s->salt & 0xffffff)); /* a 2007-2008 timestamp */
    le16(pe + 20, 0xe0);
    le16(pe + 22, 0x010f);
    uint8_t *oh = pe + 24;
    le16(oh, 0x10b);
    oh[2] = 6;
    le32w(oh + 4, text_raw);
    le32w(oh + 8, data_raw + packed_len);
    le32w(oh + 16, 0x1000); /* AddressOfEntryPoint: the zero-filled .text */
    le32w(oh + 20, 0x1000);
    le32w(oh + 24, 0x2000);
    le32w(oh + 28, 0x400000);
    le32w(oh + 32, 0x1000);
    le32w(oh + 36, 0x200);
    le16(oh + 40, 4);
    le16(oh + 48, 4);
    le32w(oh + 56, 0x1000 * (1u + nsec) + ((data_raw + packed_len + 0xfff) & ~0xfffu));
    le32w(oh + 60, 0x400);
    le16(oh + 68, 2); /* GUI */
    le32w(oh + 72, 0x100000);
    le32w(oh + 76, 0x1000);
    le32w(oh + 80, 0x100000);
    le32w(oh + 84, 0x1000);
    le32w(oh + 92, 16);
    uint8_t *sh = oh + 0xe0;
    static const char *const plain[] = {".text", ".data"};
    static const char *const upx[] = {"UPX0", "UPX1", ".rsrc"};
    uint32_t va = 0x1000;
    const uint32_t raw_off[3] = {text_off, data_off, pk_off};
    const uint32_t raw_len[3] = {text_raw, data_raw, packed_len};
    const uint32_t chars[3] = {0x60000020u, 0xc0000040u, 0xe0000040u};
    for (uint16_t i = 0; i < nsec; i++) {
        uint8_t *h = sh + 40 * i;
        const char *nm = s->packed ? upx[i] : plain[i];
        memcpy(h, nm, strlen(nm));
        le32w(h + 8, raw_len[i]);
        le32w(h + 12, va);
        le32w(h + 16, raw_len[i]);
        le32w(h + 20, raw_off[i]);
        le32w(h + 36, chars[i]);
        va += (raw_len[i] + 0xfff) & ~0xfffu;
    }
    uint8_t *d = buf + data_off;
    memcpy(d, marker, (size_t)ml < data_len ? (size_t)ml : data_len);
    for (size_t i = (size_t)ml; i < data_len; i++)
        d[i] = (uint8_t)((sim_next(&r) >> 59) + 'a'); /* text-like filler */
    if (packed_len) {
        memcpy(buf + pk_off, "UPX!", 4);
        for (uint32_t i = 4; i < packed_len; i++)
            buf[pk_off + i] = (uint8_t)(sim_next(&r) >> 56); /* high entropy */
    }
    return len;
}

static void sha256_hex(const uint8_t *b, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(b, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        memset(out, '0', 64);
        out[64] = '\0';
        return;
    }
    sim_hex(md, 32, out);
}

struct cap {
    int64_t t;
    uint32_t s;
};

static int cap_cmp(const void *a, const void *b)
{
    const struct cap *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->s < y->s ? -1 : x->s > y->s;
}

int sim_samples(struct sim_part *p)
{
    const struct ks_simulate_config *cfg = p->cfg;
    int64_t days = sim_ndays(cfg);
    int rc = KS_OK;
    size_t cap = 64 + (size_t)days * 40, n = 0;
    struct sample *pop = calloc(cap, sizeof *pop);
    uint8_t *img = malloc(16384);
    uint32_t *today = malloc(256 * sizeof *today);
    double *w = malloc(cap * sizeof *w);
    uint32_t *cnt = malloc(256 * sizeof *cnt);
    uint64_t tcount[T_N] = {0};
    uint32_t next_cnc = 0, next_url = 0;
    struct sim_file man, tf, daysf;
    bool man_open = false, tf_open = false, days_open = false;
    if (!pop || !img || !today || !w || !cnt) {
        rc = KS_ENOMEM;
        goto out;
    }
    if ((rc = sim_open(p, &man, "honeypot/sample_events.csv")) != KS_OK)
        goto out;
    man_open = true;
    sim_printf(&man, "ts,source,country,asn,via,sha256,name\n");
    if ((rc = sim_open(p, &daysf, "honeypot/days.csv")) != KS_OK)
        goto out;
    days_open = true;
    sim_printf(&daysf, "dir,time,source\n");
    if ((rc = sim_open(p, &tf, "truth/samples.csv")) != KS_OK)
        goto out;
    tf_open = true;
    sim_printf(&tf, "sha256,type,family,packed,format,size,cnc,urls\n");

    for (int64_t d = 0; d < days && rc == KS_OK; d++) {
        struct sim_rng dr;
        sim_rng_init(&dr, cfg->seed, 0x800000u + (uint64_t)d);
        int64_t d0 = sim_day_start(cfg, cfg->from_day + d);
        uint32_t uniq = 55 + sim_below(&dr, 11);
        uint32_t fresh = d == 0 ? uniq : 12 + sim_below(&dr, 7);
        if (fresh > uniq)
            fresh = uniq;
        uint32_t nt = 0;
        /* new variants: the type with the largest deficit against the reference shares */
        for (uint32_t i = 0; i < fresh && n < cap; i++) {
            struct sample *s = &pop[n];
            uint64_t total = tcount[0] + tcount[1] + tcount[2] + 1;
            int best = 0;
            double gap = -1e9;
            for (int t = 0; t < T_N; t++) {
                double g = type_share[t] * (double)total - (double)tcount[t];
                if (g > gap) {
                    gap = g;
                    best = t;
                }
            }
            tcount[best]++;
            s->type = (enum stype)best;
            s->family = (uint16_t)sim_below(&dr, 4);
            s->packed = sim_chance(&dr, 0.3);
            s->elf = s->type != T_DOWNLOADER && sim_chance(&dr, 0.03);
            s->salt = sim_next(&dr);
            s->pop = sim_logu(&dr, 0.05, 20);
            s->url[0] = s->url[1] = UINT32_MAX;
            if (s->type == T_BOT)
                s->cnc = next_cnc < 84 ? next_cnc++ : sim_below(&dr, 84);
            if (s->type == T_DOWNLOADER)
                for (int k = 0; k < 2; k++)
                    s->url[k] = next_url < 531 ? next_url++ : sim_below(&dr, 531);
            size_t len = build_image(s, img, 16384);
            sha256_hex(img, len, s->sha);
            s->size = (uint32_t)len;
            sim_printf(&tf, "%s,%s,%s,%d,%s,%u,", s->sha, type_name[s->type],
                       families[s->type][s->family], s->packed && !s->elf, s->elf ? "elf" : "pe",
                       s->size);
            if (s->type == T_BOT)
                sim_printf(&tf, "irc%02u.cnc-demo.invalid:%u,\n", s->cnc, 6660 + s->cnc % 10);
            else if (s->type == T_DOWNLOADER)
                sim_printf(&tf,
                           ",http://dist%03u.example.invalid/load/%u.exe http://dist%03u"
                           ".example.invalid/load/%u.exe\n",
                           s->url[0], s->url[0] * 7 % 1000, s->url[1], s->url[1] * 7 % 1000);
            else
                sim_printf(&tf, ",\n");
            today[nt++] = (uint32_t)n++;
        }
        /* old variants still circulating, by popularity, each once */
        for (size_t i = 0; i < n; i++)
            w[i] = pop[i].pop;
        for (uint32_t i = 0; i < nt; i++)
            w[today[i]] = 0;
        while (nt < uniq && nt < n) {
            size_t k = sim_pick(&dr, w, n);
            if (w[k] == 0)
                break;
            w[k] = 0;
            today[nt++] = (uint32_t)k;
        }
        /* the day's captures over its samples: one each, the rest by popularity */
        uint32_t total = (uint32_t)floor(8000.0 * cfg->scale * exp(0.08 * sim_normal(&dr)) + 0.5);
        if (total < nt)
            total = nt;
        double tw[256];
        for (uint32_t i = 0; i < nt; i++) {
            cnt[i] = 1;
            tw[i] = pop[today[i]].pop;
        }
        for (uint32_t i = nt; i < total; i++)
            cnt[sim_pick(&dr, tw, nt)]++;
        char date[16];
        int64_t y;
        int mo, dd;
        ks_civil_from_days(cfg->from_day + d, &y, &mo, &dd);
        snprintf(date, sizeof date, "%04d-%02d-%02d", (int)y, mo, dd);
        for (uint32_t i = 0; i < nt && rc == KS_OK; i++) {
            const struct sample *s = &pop[today[i]];
            size_t len = build_image(s, img, 16384);
            struct sim_file f;
            if ((rc = sim_open(p, &f, "honeypot/%s/%s.%s", date, s->sha, s->elf ? "elf" : "exe")) !=
                KS_OK)
                break;
            sim_put(&f, img, len);
            if ((rc = sim_close(p, &f)) != KS_OK)
                break;
            p->st.sample_unique++;
        }
        /* One capture of each of the day's samples is registered by `samples add` on the
         * day's directory, with one time and source for the run (honeypot/days.csv); the
         * other captures are rows of the store's sample_events table, for `db import`
         * (honeypot/sample_events.csv), with the country and AS the geo data give. */
        char ts[KS_TIME_STRLEN], src[16], cc[3];
        uint32_t asn;
        size_t which;
        uint32_t reg = sim_addr_mix(&dr, sample_mix, NA(sample_mix), &which);
        sim_fmt_iso(d0 + 12 * KS_USEC_PER_HOUR, cfg->tz_offset_s, ts, sizeof ts);
        sim_addr_text(reg, src);
        sim_printf(&daysf, "honeypot/%s,%s,%s\n", date, ts, src);
        struct cap *caps = malloc((size_t)total * sizeof *caps);
        if (!caps) {
            rc = KS_ENOMEM;
            break;
        }
        size_t c = 0;
        for (uint32_t i = 0; i < nt; i++)
            for (uint32_t j = 1; j < cnt[i]; j++)
                caps[c++] = (struct cap){d0 + sim_time_of_day(&dr), today[i]};
        qsort(caps, c, sizeof *caps, cap_cmp);
        for (size_t i = 0; i < c; i++) {
            const struct sample *s = &pop[caps[i].s];
            uint32_t a = sim_addr_mix(&dr, sample_mix, NA(sample_mix), &which);
            sim_addr_geo(cfg, a, &sample_mix[which], cc, &asn);
            sim_fmt_iso(caps[i].t, 0, ts, sizeof ts);
            sim_addr_text(a, src);
            sim_printf(&man, "%s,%s,%s,%u,honeypot,%s,honeypot/%s/%s.%s\n", ts, src, cc, asn,
                       s->sha, date, s->sha, s->elf ? "elf" : "exe");
        }
        free(caps);
        p->st.sample_captures += c + nt;
    }
    if (rc == KS_OK) {
        /* YARA rules that tag the demo binaries by their marker: type tags, and the C&C and
         * distribution-site indicators as strings named $cnc / $url (data/yara/README.md). */
        struct sim_file y;
        if ((rc = sim_open(p, &y, "honeypot/yara/kansoku-demo.yar")) == KS_OK) {
            static const char *const ioc[T_N] = {
                "",
                "        $cnc = /irc[0-9]{2}\\.cnc-demo\\.invalid:[0-9]{4}/\n",
                ("        $url = "
                 "/http:\\/\\/dist[0-9]{3}\\.example\\.invalid\\/load\\/[0-9]{1,3}\\.exe/\n"),
            };
            static const char *const use[T_N] = {"", " and #cnc >= 0", " and #url >= 0"};
            sim_printf(
                &y, "/* kansoku simulate: tags for the demo quarter's synthetic binaries. */\n\n");
            for (int t = 0; t < T_N; t++)
                sim_printf(&y,
                           "rule kansoku_demo_%s : %s\n{\n    strings:\n"
                           "        $m = \"KANSOKU-DEMO-SAMPLE\"\n        $t = \"type=%s \"\n%s"
                           "    condition:\n        $m and $t%s\n}\n\n",
                           type_name[t], type_name[t], type_name[t], ioc[t], use[t]);
            rc = sim_close(p, &y);
        }
    }
out:
    if (man_open) {
        int rc2 = sim_close(p, &man);
        if (rc == KS_OK)
            rc = rc2;
    }
    if (days_open) {
        int rc2 = sim_close(p, &daysf);
        if (rc == KS_OK)
            rc = rc2;
    }
    if (tf_open) {
        int rc2 = sim_close(p, &tf);
        if (rc == KS_OK)
            rc = rc2;
    }
    free(pop);
    free(img);
    free(today);
    free(w);
    free(cnt);
    return rc;
}

/* --- the incident log ----------------------------------------------------------------------- */

/* 44 entries in Table 1's shares (20 / 7 / 7 / 4 / 6), on the reference quarter's days; for
 * another period the days are moved to the same fraction of it. */
static const struct {
    int month, day;
    const char *cat, *title, *note;
} incidents[] = {
    {6, 10, "vulnerability", "Microsoft security bulletins MS08-030 to MS08-036",
     "Monthly updates, among them the Bluetooth stack and Internet Explorer."},
    {6, 10, "vulnerability", "SNMPv3 HMAC authentication bypass in many network devices",
     "CVE-2008-0960: a truncated HMAC is accepted; routers and switches of several vendors."},
    {6, 12, "vulnerability", "Safari for Windows file download issue (carpet bombing)",
     "Files downloaded to the desktop without asking."},
    {6, 18, "vulnerability", "Mozilla Firefox 2.0.0.15 fixes several vulnerabilities", ""},
    {6, 24, "vulnerability", "Adobe Reader and Acrobat JavaScript vulnerability", ""},
    {6, 26, "vulnerability", "Network device vendors publish SNMPv3 advisories", ""},
    {6, 30, "vulnerability", "Ruby interpreter vulnerabilities fixed", ""},
    {7, 2, "vulnerability", "Vulnerability disclosed days after the release of Firefox 3.0", ""},
    {7, 9, "vulnerability", "Microsoft security bulletins MS08-037 to MS08-040",
     "MS08-037 changes the DNS client and server source port handling."},
    {7, 9, "vulnerability", "DNS cache poisoning vulnerability: coordinated release of fixes",
     "CVE-2008-1447: many DNS implementations patched on the same day."},
    {7, 10, "vulnerability", "Java SE updates fix several vulnerabilities", ""},
    {7, 16, "vulnerability", "Oracle critical patch update for July", ""},
    {7, 22, "vulnerability", "Details of the DNS cache poisoning attack leaked",
     "Attack code was published within a day."},
    {7, 25, "vulnerability", "DNS cache poisoning attack code used in the wild", ""},
    {8, 1, "vulnerability", "Apple security update fixes BIND", ""},
    {8, 7, "vulnerability", "Vulnerabilities disclosed at Black Hat USA", ""},
    {8, 10, "vulnerability", "BGP prefix hijacking with AS path prepending demonstrated",
     "Traffic for a hijacked prefix can be intercepted and forwarded to its origin."},
    {8, 13, "vulnerability", "Microsoft security bulletins MS08-041 to MS08-052", ""},
    {8, 14, "vulnerability", "Joomla! password reset vulnerability exploited", ""},
    {8, 21, "vulnerability", "Opera 9.52 security update", ""},
    {6, 14, "events", "Iwate-Miyagi Nairiku earthquake", "Watch for lures using the disaster."},
    {7, 7, "events", "G8 Hokkaido Toyako summit (7-9 July)", "Alert raised for attacks."},
    {7, 24, "events", "Earthquake off the coast of Iwate", ""},
    {8, 1, "events", "Cabinet reshuffle", ""},
    {8, 8, "events", "Beijing Olympic Games open", "Olympic lures in spam and web sites."},
    {8, 8, "events", "Armed conflict in South Ossetia", ""},
    {8, 24, "events", "Beijing Olympic Games close", ""},
    {6, 4, "history", "Anniversary of the Tiananmen Square incident", ""},
    {6, 25, "security", "Wave of SQL injection attacks on online shops", ""},
    {7, 29, "security", "Storm worm spam campaign resumes", ""},
    {8, 6, "history", "Hiroshima memorial day", ""},
    {8, 15, "history", "End-of-war memorial day", "No attack was observed."},
    {8, 15, "history", "Liberation day in Korea", ""},
    {8, 29, "security", "UDP flood against an online game operator", ""},
    {7, 20, "security", "Mass SQL injection defaces web sites", ""},
    {8, 5, "security", "\"CNN.com Daily Top 10\" spam leads to malware",
     "Links to fake video pages that offer a codec."},
    {8, 9, "security", "DDoS attacks on government web sites of Georgia", ""},
    {8, 22, "security", "Intrusion into the infrastructure of a Linux distributor", ""},
    {6, 20, "other", "Fake antivirus software spreads", "Warnings that urge the purchase."},
    {7, 9, "other", "Traffic drop after an operating system update",
     "Traffic fell for three days after the monthly update."},
    {6, 17, "other", "Firefox 3 download day", ""},
    {7, 3, "other", "Search results poisoned with fake video sites", ""},
    {7, 30, "other", "Expired domain of a web service registered by a third party", ""},
    {8, 19, "other", "Phishing sites imitating a Japanese bank", ""},
};

static void csv_field(struct sim_file *f, const char *s)
{
    sim_put(f, "\"", 1);
    for (; *s; s++) {
        if (*s == '"')
            sim_put(f, "\"", 1);
        sim_put(f, s, 1);
    }
    sim_put(f, "\"", 1);
}

int sim_incidents(struct sim_part *p)
{
    const struct ks_simulate_config *cfg = p->cfg;
    int64_t days = sim_ndays(cfg);
    int64_t ref0 = ks_days_from_civil(2008, 6, 1);
    struct sim_file f;
    int rc = sim_open(p, &f, "incidents.csv");
    if (rc != KS_OK)
        return rc;
    sim_printf(&f, "date,category,title,note\n");
    for (size_t i = 0; i < NA(incidents); i++) {
        int64_t off = ks_days_from_civil(2008, incidents[i].month, incidents[i].day) - ref0;
        int64_t day = cfg->from_day + (days == 92 ? off : off * days / 92);
        if (day > cfg->to_day)
            day = cfg->to_day;
        int64_t y;
        int m, d;
        ks_civil_from_days(day, &y, &m, &d);
        sim_printf(&f, "%04d-%02d-%02d,%s,", (int)y, m, d, incidents[i].cat);
        csv_field(&f, incidents[i].title);
        sim_put(&f, ",", 1);
        csv_field(&f, incidents[i].note);
        sim_put(&f, "\n", 1);
        p->st.incidents++;
    }
    return sim_close(p, &f);
}
