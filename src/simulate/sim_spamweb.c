/* simulate: the web that some spam links to (figures 10-12), for `kansoku crawl`.
 *
 * A few spam messages of the period link to one of SW_SITES x SW_VARIANTS chains of pages
 * that end in a download: fake video page -> iframe -> meta refresh -> HTTP redirect ->
 * executable; page -> script src -> script redirect -> page -> link to a "codec"; short URL
 * (302) -> page -> location.replace -> zip holding an executable; meta refresh -> frameset ->
 * executable. Some chains are dead (the download is gone). Files live under
 * spamweb/HOST/PATH (HOST under .example, never resolvable; FILE.redirect holds a 302's
 * target), for the loopback server of scripts/demo (src/crawl/test_httpd.c); hosts.txt
 * lists the hosts, yara/kansoku-demo-web.yar tags the binaries. The binaries are PE32 images
 * with valid headers, a zero-filled code section and a text marker: they do nothing. */
#include "sim_int.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define SW_SITES 40
#define SW_VARIANTS 4
#define SW_COPIES 3       /* distinct URLs per chain (?c=0..2): several messages share one */
#define SW_LINK_SHARE 307 /* of 10000 period spam messages link to a chain (1 in 9 is dead) */

enum wtype { W_TROJAN, W_ADWARE, W_PACKED, W_DROPPER, W_OTHER, W_N };
static const char *const wtype_name[W_N] = {"trojan", "adware", "packed", "dropper", "unknown"};
/* Figure 12: Trojan horse 47%, Adware 13%, packed 9%, Dropper 1%, suspicious 1% and other
 * 29% (the registry keeps no "suspicious" tag: that 1% joins "other"). */
static const double wtype_share[W_N] = {0.47, 0.13, 0.09, 0.01, 0.30};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static bool dead(unsigned chain)
{
    return chain % 9 == 8;
}

bool sim_spamweb_url(const struct ks_simulate_config *cfg, uint64_t id, char *buf, size_t size)
{
    uint64_t h = mix(cfg->seed ^ mix(id + 0x5370616d57656232ull));
    if (h % 10000 >= SW_LINK_SHARE)
        return false;
    h = mix(h);
    unsigned chain = (unsigned)(h % (SW_SITES * SW_VARIANTS));
    unsigned s = chain / SW_VARIANTS, v = chain % SW_VARIANTS;
    unsigned copy = (unsigned)((h >> 32) % SW_COPIES);
    if (chain % 4 == 2)
        snprintf(buf, size, "http://go%02u.short-demo.example/v%u?c=%u", s, v, copy);
    else
        snprintf(buf, size, "http://tube%02u.fake-video.example/v%u/watch.html?c=%u", s, v, copy);
    return true;
}

static void le16(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *b, uint32_t v)
{
    le16(b, v);
    le16(b + 2, v >> 16);
}

/* A PE32 image without code (as the honeypot's, smaller); packed: UPX-like section names and
 * high-entropy bytes. Returns its length (buf holds 8 KiB). */
static size_t build_pe(struct sim_rng *r, enum wtype t, unsigned chain, uint8_t *buf)
{
    static const char *const fam[W_N] = {"zlob", "adpop", "tinypack", "dropkit", "misc"};
    memset(buf, 0, 8192);
    char marker[256];
    int ml = snprintf(marker, sizeof marker,
                      "KANSOKU-DEMO-SAMPLE harmless synthetic file, no code; type=%s family=%s "
                      "chain=%u variant=%016llx",
                      wtype_name[t], fam[t], chain, (unsigned long long)sim_next(r));
    ml++;
    bool packed = t == W_PACKED;
    const uint32_t text_off = 0x400, text_raw = 0x200, data_off = 0x600, data_raw = 0x400;
    uint32_t pk_off = data_off + data_raw, pk_raw = packed ? 0x800 : 0;
    size_t len = pk_off + pk_raw;
    buf[0] = 'M';
    buf[1] = 'Z';
    le16(buf + 2, 0x90);
    le16(buf + 4, 3);
    le16(buf + 8, 4);
    le16(buf + 0x18, 0x40);
    le32(buf + 0x3c, 0x80);
    memcpy(buf + 0x4e, "This program cannot be run in DOS mode.\r\r\n$", 44);
    uint8_t *pe = buf + 0x80;
    memcpy(pe, "PE\0\0", 4);
    uint16_t nsec = packed ? 3 : 2;
    le16(pe + 4, 0x14c);
    le16(pe + 6, nsec);
    le32(pe + 8, 0x48000000u + chain * 3600u);
    le16(pe + 20, 0xe0);
    le16(pe + 22, 0x010f);
    uint8_t *oh = pe + 24;
    le16(oh, 0x10b);
    le32(oh + 4, text_raw);
    le32(oh + 8, data_raw + pk_raw);
    le32(oh + 16, 0x1000); /* entry point: the zero-filled .text */
    le32(oh + 20, 0x1000);
    le32(oh + 28, 0x400000);
    le32(oh + 32, 0x1000);
    le32(oh + 36, 0x200);
    le16(oh + 40, 4);
    le16(oh + 48, 4);
    le32(oh + 56, 0x1000u * (1u + nsec) + 0x1000u);
    le32(oh + 60, 0x400);
    le16(oh + 68, 2);
    le32(oh + 92, 16);
    static const char *const plain[] = {".text", ".data"};
    static const char *const upx[] = {"UPX0", "UPX1", ".rsrc"};
    const uint32_t off[3] = {text_off, data_off, pk_off}, raw[3] = {text_raw, data_raw, pk_raw};
    const uint32_t ch[3] = {0x60000020u, 0xc0000040u, 0xe0000040u};
    for (uint16_t i = 0; i < nsec; i++) {
        uint8_t *h = oh + 0xe0 + 40 * i;
        const char *nm = packed ? upx[i] : plain[i];
        memcpy(h, nm, strlen(nm));
        le32(h + 8, raw[i]);
        le32(h + 12, 0x1000u * (1u + i));
        le32(h + 16, raw[i]);
        le32(h + 20, off[i]);
        le32(h + 36, ch[i]);
    }
    memcpy(buf + data_off, marker, (size_t)ml);
    for (uint32_t i = (uint32_t)ml; i < data_raw; i++)
        buf[data_off + i] = (uint8_t)((sim_next(r) >> 59) + 'a');
    if (packed) {
        memcpy(buf + pk_off, "UPX!", 4);
        for (uint32_t i = 4; i < pk_raw; i++)
            buf[pk_off + i] = (uint8_t)(sim_next(r) >> 56);
    }
    return len;
}

static uint32_t crc32(const uint8_t *b, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= b[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* A zip (stored, no compression) with one member name/img[0..n) into out (>= n + 256). */
static size_t build_zip(const char *name, const uint8_t *img, size_t n, uint8_t *out)
{
    size_t nl = strlen(name), o = 0;
    uint32_t crc = crc32(img, n);
    uint8_t *h = out;
    le32(h, 0x04034b50u);
    le16(h + 4, 20);
    le16(h + 10, 0x6000); /* 12:00 */
    le16(h + 12, 0x3901); /* 2008-08-01 */
    le32(h + 14, crc);
    le32(h + 18, (uint32_t)n);
    le32(h + 22, (uint32_t)n);
    le16(h + 26, (uint16_t)nl);
    memcpy(h + 30, name, nl);
    o = 30 + nl;
    memcpy(out + o, img, n);
    o += n;
    size_t cd = o;
    uint8_t *c = out + o;
    memset(c, 0, 46);
    le32(c, 0x02014b50u);
    le16(c + 4, 20);
    le16(c + 6, 20);
    le16(c + 12, 0x6000);
    le16(c + 14, 0x3901);
    le32(c + 16, crc);
    le32(c + 20, (uint32_t)n);
    le32(c + 24, (uint32_t)n);
    le16(c + 28, (uint16_t)nl);
    memcpy(c + 46, name, nl);
    o += 46 + nl;
    uint8_t *e = out + o;
    memset(e, 0, 22);
    le32(e, 0x06054b50u);
    le16(e + 8, 1);
    le16(e + 10, 1);
    le32(e + 12, (uint32_t)(o - cd));
    le32(e + 16, (uint32_t)cd);
    return o + 22;
}

static int put_file(struct sim_part *p, const void *b, size_t n, const char *host, const char *path)
{
    struct sim_file f;
    int rc = sim_open(p, &f, "spamweb/%s/%s", host, path);
    if (rc != KS_OK)
        return rc;
    sim_put(&f, b, n);
    return sim_close(p, &f);
}

static int put_text(struct sim_part *p, const char *host, const char *path, const char *text)
{
    return put_file(p, text, strlen(text), host, path);
}

static void sha256_hex(const uint8_t *b, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    memset(out, '0', 64);
    out[64] = '\0';
    if (EVP_Digest(b, n, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32)
        sim_hex(md, 32, out);
}

int sim_spamweb(struct sim_part *p)
{
    struct sim_rng r;
    sim_rng_init(&r, p->cfg->seed, 0x900000u);
    uint8_t *img = malloc(8192), *zip = malloc(8192 + 512);
    char page[1024], path[128], tube[64], ads[64], dl[64], go[64];
    uint64_t count[W_N] = {0};
    struct sim_file hosts, truth;
    int rc = KS_ENOMEM;
    bool hosts_open = false, truth_open = false;
    if (!img || !zip)
        goto out;
    if ((rc = sim_open(p, &hosts, "spamweb/hosts.txt")) != KS_OK)
        goto out;
    hosts_open = true;
    if ((rc = sim_open(p, &truth, "truth/spamweb.csv")) != KS_OK)
        goto out;
    truth_open = true;
    sim_printf(&truth, "chain,entry,kind,type,download,sha256\n");
    for (unsigned s = 0; s < SW_SITES && rc == KS_OK; s++) {
        snprintf(tube, sizeof tube, "tube%02u.fake-video.example", s);
        snprintf(ads, sizeof ads, "ads%02u.counter-demo.example", s);
        snprintf(dl, sizeof dl, "dl%02u.dist-demo.example", s);
        snprintf(go, sizeof go, "go%02u.short-demo.example", s);
        sim_printf(&hosts, "%s\n%s\n%s\n%s\n", tube, ads, dl, go);
        for (unsigned v = 0; v < SW_VARIANTS && rc == KS_OK; v++) {
            unsigned chain = s * SW_VARIANTS + v, kind = chain % 4;
            /* the type with the largest deficit against figure 12's shares (no packed zip:
             * the registry's packer hint looks into PE and ELF images only) */
            uint64_t total = 1;
            for (int t = 0; t < W_N; t++)
                total += count[t];
            int best = W_OTHER;
            double gap = -1e18;
            for (int t = 0; t < W_N; t++) {
                double g = wtype_share[t] * (double)total - (double)count[t];
                if (g > gap && !(kind == 2 && t == W_PACKED)) {
                    gap = g;
                    best = t;
                }
            }
            if (!dead(chain))
                count[best]++;
            size_t n = build_pe(&r, (enum wtype)best, chain, img);
            const char *name = kind == 0   ? "setup.exe"
                               : kind == 1 ? "codec-setup.exe"
                               : kind == 2 ? "video.zip"
                                           : "player.exe";
            const char *entry = kind == 2 ? go : tube;
            if (kind == 0) {
                snprintf(page, sizeof page,
                         "<html><head><title>Video</title></head><body><h1>Top video</h1>"
                         "<img src=\"/logo.png\"><iframe src=\"http://%s/v%u/frame.html\" "
                         "width=\"1\" height=\"1\" frameborder=\"0\"></iframe></body></html>\n",
                         ads, v);
                snprintf(path, sizeof path, "v%u/watch.html", v);
                rc = put_text(p, tube, path, page);
                snprintf(page, sizeof page,
                         "<html><head><meta http-equiv=\"refresh\" content=\"0; "
                         "url=http://%s/v%u/get.php\"></head><body></body></html>\n",
                         dl, v);
                snprintf(path, sizeof path, "v%u/frame.html", v);
                if (rc == KS_OK)
                    rc = put_text(p, ads, path, page);
                snprintf(page, sizeof page, "/v%u/files/%s\n", v, name);
                snprintf(path, sizeof path, "v%u/get.php.redirect", v);
                if (rc == KS_OK)
                    rc = put_text(p, dl, path, page);
            } else if (kind == 1) {
                snprintf(page, sizeof page,
                         "<html><body><p>Loading the video...</p><script type=\"text/javascript\" "
                         "src=\"http://%s/v%u/count.js\"></script></body></html>\n",
                         ads, v);
                snprintf(path, sizeof path, "v%u/watch.html", v);
                rc = put_text(p, tube, path, page);
                snprintf(
                    page, sizeof page,
                    "var t = new Date();\nwindow.location.href = \"http://%s/v%u/codec.html\";\n",
                    dl, v);
                snprintf(path, sizeof path, "v%u/count.js", v);
                if (rc == KS_OK)
                    rc = put_text(p, ads, path, page);
                snprintf(page, sizeof page,
                         "<html><body><p>Your player needs a new codec to show this video.</p>"
                         "<a href=\"/v%u/files/%s\">Install the codec</a></body></html>\n",
                         v, name);
                snprintf(path, sizeof path, "v%u/codec.html", v);
                if (rc == KS_OK)
                    rc = put_text(p, dl, path, page);
            } else if (kind == 2) {
                snprintf(page, sizeof page, "http://%s/v%u/watch.html\n", tube, v);
                snprintf(path, sizeof path, "v%u.redirect", v);
                rc = put_text(p, go, path, page);
                snprintf(page, sizeof page,
                         "<html><body><script>\n// the download starts by itself\n"
                         "setTimeout(function () { location.replace('http://%s/v%u/files/%s'); }, "
                         "500);\n</script></body></html>\n",
                         dl, v, name);
                snprintf(path, sizeof path, "v%u/watch.html", v);
                if (rc == KS_OK)
                    rc = put_text(p, tube, path, page);
            } else {
                snprintf(page, sizeof page,
                         "<html><head><meta http-equiv=\"Refresh\" content=\"1;URL=http://%s/v%u/"
                         "land.html\"></head><body>Please wait</body></html>\n",
                         ads, v);
                snprintf(path, sizeof path, "v%u/watch.html", v);
                rc = put_text(p, tube, path, page);
                snprintf(page, sizeof page,
                         "<html><frameset rows=\"100%%,*\"><frame src=\"http://%s/v%u/files/%s\">"
                         "</frameset></html>\n",
                         dl, v, name);
                snprintf(path, sizeof path, "v%u/land.html", v);
                if (rc == KS_OK)
                    rc = put_text(p, ads, path, page);
            }
            if (rc != KS_OK)
                break;
            char sha[65] = "";
            if (!dead(chain)) {
                const uint8_t *body = img;
                if (kind == 2) {
                    n = build_zip("video-player.exe", img, n, zip);
                    body = zip;
                }
                sha256_hex(body, n, sha);
                snprintf(path, sizeof path, "v%u/files/%s", v, name);
                rc = put_file(p, body, n, dl, path);
            }
            static const char *const kinds[4] = {"iframe-refresh-302", "script-js-link",
                                                 "short-302-js-zip", "refresh-frame"};
            sim_printf(&truth, "%u,%s,%s,%s,%s,%s\n", chain, entry, kinds[kind],
                       dead(chain) ? "" : wtype_name[best], dead(chain) ? "gone" : name, sha);
        }
    }
    if (rc == KS_OK) {
        struct sim_file y;
        if ((rc = sim_open(p, &y, "spamweb/yara/kansoku-demo-web.yar")) == KS_OK) {
            sim_printf(&y, "/* kansoku simulate: tags for the demo's spam downloads. */\n\n");
            for (int t = 0; t < W_N; t++) {
                if (t == W_PACKED || t == W_OTHER)
                    continue; /* packed: the registry's own hint; other: no tag */
                sim_printf(&y,
                           "rule kansoku_demo_web_%s : %s\n{\n    strings:\n"
                           "        $m = \"KANSOKU-DEMO-SAMPLE\"\n        $t = \"type=%s \"\n"
                           "    condition:\n        $m and $t\n}\n\n",
                           wtype_name[t], wtype_name[t], wtype_name[t]);
            }
            rc = sim_close(p, &y);
        }
    }
out:
    if (hosts_open) {
        int rc2 = sim_close(p, &hosts);
        if (rc == KS_OK)
            rc = rc2;
    }
    if (truth_open) {
        int rc2 = sim_close(p, &truth);
        if (rc == KS_OK)
            rc = rc2;
    }
    free(img);
    free(zip);
    return rc;
}
