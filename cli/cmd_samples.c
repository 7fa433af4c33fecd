/* kansoku samples: the malware sample registry (add, stats, show). */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kansoku/ks_geo.h"
#include "kansoku/ks_ip.h"
#include "kansoku/ks_samples.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"
#include "samples/samples_config.h"

static const char samples_usage[] = "Usage: kansoku samples add [options] FILE|DIR...\n"
                                    "       kansoku samples stats [--from T] [--to T]\n"
                                    "       kansoku samples show HASH\n";

static const char samples_help[] =
    "Usage: kansoku samples <verb> [options]\n"
    "\n"
    "The malware sample registry. Samples are hashed (MD5, SHA-1, SHA-256, MD6-256, ssdeep,\n"
    "TLSH), typed (libmagic), checked for packers (UPX, section entropy), scanned by ClamAV\n"
    "with your databases and by YARA rules (type tags, C&C addresses, URLs); kept copies are\n"
    "stored read-only under a samples directory by SHA-256. Nothing is ever executed.\n"
    "\n"
    "Verbs:\n"
    "  add FILE|DIR...   register captured samples (each file of a DIR, recursively)\n"
    "  stats             per day: captures and unique samples; sources; types; indicators\n"
    "  show HASH         one sample (by SHA-256, SHA-1 or MD5) with its captures\n"
    "\n"
    "Run 'kansoku samples VERB --help' for each verb's options.\n"
    "\n" KS_CLI_COMMON_HELP;

static const char add_usage[] = "Usage: kansoku samples add [options] FILE|DIR...\n";

static const char add_help[] =
    "Usage: kansoku samples add [options] FILE|DIR...\n"
    "\n"
    "Registers each file (directories are walked, symbolic links are not followed) as one\n"
    "capture: a sample_events row (time, source, via, SHA-256) and, for a SHA-256 not in the\n"
    "store yet, a samples row (hashes, size, type, packer, tags, AV verdict) with the\n"
    "indicators its YARA rules extract. One run is one input of the store: running the same\n"
    "add again (same files, time, source, via) is refused as already ingested.\n"
    "Prints one line per file: SHA256 SIZE NEW|SEEN TAGS AV TYPE NAME (--json: an object).\n"
    "\n"
    "Options:\n"
    "      --source IP        where the samples came from (country and AS from geo data)\n"
    "      --time T           when they were captured (RFC 3339; default: each file's mtime)\n"
    "      --via KIND         honeypot, crawler, mail or manual (default manual)\n"
    "      --samples-dir DIR  keep read-only copies under DIR/ab/cd/SHA256\n"
    "                         (default $KANSOKU_SAMPLES, else no copies)\n"
    "      --clamav-db PATH   ClamAV database directory or file (default /var/lib/clamav if\n"
    "                         it holds databases, else no AV verdicts)\n"
    "      --no-clamav        no AV verdicts\n"
    "      --yara-rules DIR   folder of *.yar rules (default " KS_YARA_DIR_DEFAULT " if present)\n"
    "      --no-md6           skip MD6-256\n"
    "      --no-fuzzy         skip ssdeep and TLSH\n"
    "      --force            register again what was registered before (replacing it)\n"
    "\n"
    "Exit status: 0 every file registered; 1 a file could not be read or the store failed;\n"
    "2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

static const char stats_usage[] = "Usage: kansoku samples stats [--from T] [--to T]\n";

static const char stats_help[] =
    "Usage: kansoku samples stats [--from T] [--to T]\n"
    "\n"
    "Statistics of the captures from T (inclusive) to T (exclusive), RFC 3339 times:\n"
    "per UTC day the captures and the unique samples (by SHA-256) and the samples seen for the\n"
    "first time; captures by via; sources by country and by AS; the unique samples by type\n"
    "tag (a sample may have several tags; 'untagged' counts those with none); indicators.\n"
    "With --json, one object per line with \"kind\": \"day\" {day, captures, unique, new},\n"
    "\"via\" {via, captures}, \"country\" {country, captures, sources}, \"as\" {asn,\n"
    "captures, sources}, \"tag\" {tag, samples, share}, \"ioc\" {type, value, samples}.\n"
    "\n"
    "Exit status: 0 done; 1 the store could not be read; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

static const char show_usage[] = "Usage: kansoku samples show HASH\n";

static const char show_help[] =
    "Usage: kansoku samples show HASH\n"
    "\n"
    "Prints what the registry knows of the sample whose SHA-256, SHA-1 or MD5 is HASH\n"
    "(lowercase or uppercase hex): its hashes, size, type, packer, tags, AV verdict, YARA\n"
    "rules, where it is kept, its indicators and a summary of its captures.\n"
    "\n"
    "Exit status: 0 found; 1 not found or the store could not be read; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

static int open_store(struct ks_cli *cli, bool readonly, struct ks_store **sp)
{
    struct ks_store_config cfg;
    ks_store_config_default(&cfg);
    cfg.readonly = readonly;
    if (ks_store_open(cli->db_path, &cfg, sp) != KS_OK) {
        ks_cli_error(cli, "%s", ks_store_errmsg(NULL));
        return KS_EXIT_FAIL;
    }
    return KS_EXIT_OK;
}

static void print_diag(void *user, const char *module, const struct ks_loc *loc, int err,
                       const char *msg)
{
    struct ks_cli *cli = user;
    char where[512];
    ks_loc_format(loc, where, sizeof where);
    ks_cli_error(cli, "%s%s%s", where, where[0] ? ": " : "", msg);
}

/* --- add ----------------------------------------------------------------------------------- */

struct file_ref {
    char *path;
    int64_t ts;
    char sha256[65];
};

struct add_ctx {
    struct ks_cli *cli;
    struct file_ref *files;
    size_t n, cap;
    int bad;
};

static int push_file(struct add_ctx *a, const char *path, int64_t ts)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        struct file_ref *f = realloc(a->files, cap * sizeof *f);
        if (!f)
            return KS_ENOMEM;
        a->files = f;
        a->cap = cap;
    }
    struct file_ref *f = &a->files[a->n];
    if (!(f->path = strdup(path)))
        return KS_ENOMEM;
    f->ts = ts;
    f->sha256[0] = '\0';
    a->n++;
    return KS_OK;
}

static int cmp_name(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Adds path (a file, or every regular file under a directory, in name order). */
static int collect(struct add_ctx *a, const char *path, int depth)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        ks_cli_error(a->cli, "%s: cannot read (%s)", path, strerror(errno));
        a->bad++;
        return KS_OK;
    }
    if (S_ISREG(sb.st_mode))
        return push_file(a, path, (int64_t)sb.st_mtim.tv_sec * 1000000 + sb.st_mtim.tv_nsec / 1000);
    if (!S_ISDIR(sb.st_mode)) {
        if (depth == 0) {
            ks_cli_error(a->cli, "%s: not a regular file or directory", path);
            a->bad++;
        }
        return KS_OK;
    }
    if (depth > 32) {
        ks_cli_error(a->cli, "%s: directories nested too deep, skipped", path);
        a->bad++;
        return KS_OK;
    }
    DIR *d = opendir(path);
    if (!d) {
        ks_cli_error(a->cli, "%s: cannot read (%s)", path, strerror(errno));
        a->bad++;
        return KS_OK;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = KS_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = KS_ENOMEM;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = KS_ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_name);
    for (size_t i = 0; i < n; i++) {
        char sub[PATH_MAX];
        if (rc == KS_OK) {
            if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, names[i]) < sizeof sub)
                rc = collect(a, sub, depth + 1);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static json_t *info_json(const struct ks_sample_info *in)
{
    json_t *o = json_object();
    json_object_set_new(o, "sha256", json_string(in->sha256));
    json_object_set_new(o, "md5", json_string(in->md5));
    json_object_set_new(o, "sha1", json_string(in->sha1));
    json_object_set_new(o, "md6", in->md6[0] ? json_string(in->md6) : json_null());
    json_object_set_new(o, "ssdeep", in->ssdeep[0] ? json_string(in->ssdeep) : json_null());
    json_object_set_new(o, "tlsh", in->tlsh[0] ? json_string(in->tlsh) : json_null());
    json_object_set_new(o, "size", json_integer((json_int_t)in->size));
    json_object_set_new(o, "type", json_string(in->type));
    json_object_set_new(o, "mime", json_string(in->mime));
    json_object_set_new(o, "entropy", json_real(in->entropy));
    json_object_set_new(o, "packer", in->packer[0] ? json_string(in->packer) : json_null());
    if (in->pe) {
        json_t *secs = json_array();
        for (unsigned i = 0; i < in->nsections && i < KS_SAMPLES_MAX_SECTIONS; i++) {
            json_t *s = json_object();
            json_object_set_new(s, "name", json_string(in->sections[i].name));
            json_object_set_new(s, "size", json_integer(in->sections[i].raw_size));
            json_object_set_new(s, "entropy", json_real(in->sections[i].entropy));
            json_array_append_new(secs, s);
        }
        json_object_set_new(o, "sections", secs);
    }
    json_object_set_new(o, "tags", json_string(in->tags));
    json_object_set_new(o, "av",
                        in->av_scanned ? json_string(in->av[0] ? in->av : "clean") : json_null());
    json_object_set_new(o, "rules", json_string(in->rules));
    json_t *iocs = json_array();
    for (unsigned i = 0; i < in->niocs; i++) {
        json_t *x = json_object();
        json_object_set_new(x, "type", json_string(in->iocs[i].kind));
        json_object_set_new(x, "value", json_string(in->iocs[i].value));
        json_object_set_new(x, "rule", json_string(in->iocs[i].rule));
        json_array_append_new(iocs, x);
    }
    json_object_set_new(o, "iocs", iocs);
    return o;
}

static bool dir_has_databases(const char *dir)
{
    DIR *d = opendir(dir);
    bool found = false;
    struct dirent *e;
    if (!d)
        return false;
    while (!found && (e = readdir(d))) {
        const char *dot = strrchr(e->d_name, '.');
        found = dot && (strcmp(dot, ".cvd") == 0 || strcmp(dot, ".cld") == 0);
    }
    closedir(d);
    return found;
}

static bool is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int samples_add(int argc, char **argv)
{
    static const struct option opts[] = {KS_CLI_COMMON_OPTS,
                                         {"source", required_argument, NULL, 0x200},
                                         {"time", required_argument, NULL, 0x201},
                                         {"via", required_argument, NULL, 0x202},
                                         {"samples-dir", required_argument, NULL, 0x203},
                                         {"clamav-db", required_argument, NULL, 0x204},
                                         {"no-clamav", no_argument, NULL, 0x205},
                                         {"yara-rules", required_argument, NULL, 0x206},
                                         {"no-md6", no_argument, NULL, 0x207},
                                         {"no-fuzzy", no_argument, NULL, 0x208},
                                         {"force", no_argument, NULL, 0x209},
                                         {0}};
    struct ks_cli cli;
    struct ks_samples_config cfg;
    struct ks_samples *smp = NULL;
    struct ks_store *st = NULL;
    struct ks_ingest *ing = NULL;
    struct ks_geo *geo = NULL;
    struct add_ctx a = {0};
    struct ks_addr source = {0};
    struct ks_geo_result gr = {"--", 0, ""};
    EVP_MD_CTX *man = NULL;
    const char *via = "manual";
    bool have_time = false, no_clamav = false;
    int64_t when = 0;
    unsigned flags = 0;
    int opt, code = KS_EXIT_OK, rc;
    ks_samples_config_default(&cfg);
    cfg.dir = getenv("KANSOKU_SAMPLES");
    ks_cli_init(&cli, "samples add", add_usage, add_help);
    cli.diag.fn = print_diag;
    cli.diag.user = &cli;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        switch (opt) {
        case 0x200:
            if (ks_addr_parse(optarg, strlen(optarg), &source) != KS_OK)
                return ks_cli_usage_error(&cli, "--source needs an IPv4 or IPv6 address");
            break;
        case 0x201:
            if (ks_time_parse(optarg, strlen(optarg), &when) != KS_OK)
                return ks_cli_usage_error(&cli, "--time needs an RFC 3339 time, not '%s'", optarg);
            have_time = true;
            break;
        case 0x202:
            if (strcmp(optarg, "honeypot") && strcmp(optarg, "crawler") && strcmp(optarg, "mail") &&
                strcmp(optarg, "manual"))
                return ks_cli_usage_error(&cli, "--via is honeypot, crawler, mail or manual");
            via = optarg;
            break;
        case 0x203:
            cfg.dir = optarg;
            break;
        case 0x204:
            cfg.clamav_db = optarg;
            break;
        case 0x205:
            no_clamav = true;
            break;
        case 0x206:
            cfg.yara_dir = optarg;
            break;
        case 0x207:
            cfg.md6 = false;
            break;
        case 0x208:
            cfg.fuzzy = false;
            break;
        case 0x209:
            flags |= KS_STORE_FORCE;
            break;
        default:
            return ks_cli_usage_error(&cli, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return ks_cli_usage_error(&cli, "no FILE or DIR given");
    if (no_clamav)
        cfg.clamav_db = NULL;
    else if (!cfg.clamav_db && dir_has_databases("/var/lib/clamav"))
        cfg.clamav_db = "/var/lib/clamav";
    if (!cfg.yara_dir && is_dir(KS_YARA_DIR_DEFAULT))
        cfg.yara_dir = KS_YARA_DIR_DEFAULT;
    signal(SIGXFSZ, SIG_IGN);
    code = KS_EXIT_FAIL;
    a.cli = &cli;
    for (int i = optind; i < argc; i++)
        if (collect(&a, argv[i], 0) != KS_OK) {
            ks_cli_error(&cli, "out of memory");
            goto out;
        }
    if (a.n == 0) {
        ks_cli_error(&cli, "no file to register");
        goto out;
    }
    if (source.family) {
        ks_geo_open(cli.geo_dir, &geo); /* missing data: the country stays "--" */
        if (geo)
            ks_geo_lookup(geo, &source, &gr);
    }
    char src_text[64] = "";
    if (source.family)
        ks_addr_format(&source, src_text, sizeof src_text);
    /* The input's identity: the captures themselves (content, time, source, via), so that the
     * same add run twice is recognised. */
    if (!(man = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(man, EVP_sha256(), NULL)) {
        ks_cli_error(&cli, "out of memory");
        goto out;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < a.n; i++) {
        uint64_t size = 0;
        if (ks_store_hash_file(a.files[i].path, a.files[i].sha256, &size) != KS_OK) {
            ks_cli_error(&cli, "%s: cannot read (%s)", a.files[i].path, strerror(errno));
            a.files[i].sha256[0] = '\0';
            a.bad++;
            continue;
        }
        if (have_time)
            a.files[i].ts = when;
        char line[256];
        int n = snprintf(line, sizeof line, "%s %" PRId64 " %s %s\n", a.files[i].sha256,
                         a.files[i].ts, src_text, via);
        EVP_DigestUpdate(man, line, (size_t)n);
        total += size;
    }
    struct ks_store_input in = {.size = total, .kind = "samples"};
    uint8_t md[32];
    unsigned mdlen = 0;
    EVP_DigestFinal_ex(man, md, &mdlen);
    for (unsigned i = 0; i < 32; i++)
        snprintf(in.sha256 + 2 * i, 3, "%02x", md[i]);
    char name[PATH_MAX + 32];
    if (a.n > 1)
        snprintf(name, sizeof name, "%s (+%zu more)", a.files[0].path, a.n - 1);
    else
        snprintf(name, sizeof name, "%s", a.files[0].path);
    in.name = name;
    if ((rc = ks_samples_new(&cfg, &cli.diag, &smp)) != KS_OK) {
        ks_cli_error(&cli, "cannot start the registry: %s", ks_strerror(rc));
        goto out;
    }
    if (open_store(&cli, false, &st) != KS_EXIT_OK)
        goto out;
    if ((rc = ks_store_input_begin(st, &in, flags, &ing)) != KS_OK) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(st));
        goto out;
    }
    struct ks_sample_info *info = malloc(sizeof *info);
    if (!info) {
        ks_cli_error(&cli, "out of memory");
        goto out;
    }
    bool store_failed = false;
    for (size_t i = 0; i < a.n && !store_failed; i++) {
        struct file_ref *f = &a.files[i];
        if (!f->sha256[0])
            continue;
        rc = ks_samples_analyze_file(smp, f->path, info);
        if (rc == KS_OK && strcmp(info->sha256, f->sha256) != 0)
            rc = KS_EFORMAT;
        if (rc != KS_OK) {
            ks_cli_error(&cli, "%s: %s", f->path,
                         rc == KS_EIO       ? strerror(errno)
                         : rc == KS_ELIMIT  ? "larger than the size limit, skipped"
                         : rc == KS_EFORMAT ? "changed while being read, skipped"
                                            : ks_strerror(rc));
            a.bad++;
            continue;
        }
        bool kept = false, is_new = false;
        if (cfg.dir) {
            bool made = false;
            rc = ks_samples_keep_file(smp, f->path, info, &made);
            if (rc != KS_OK) {
                ks_cli_error(&cli, "%s: cannot keep a copy under %s: %s", f->path, cfg.dir,
                             ks_strerror(rc));
                a.bad++;
            } else {
                kept = true;
            }
        }
        struct ks_sample_event ev = {.ts = f->ts,
                                     .source = source,
                                     .country = gr.country,
                                     .asn = gr.asn,
                                     .via = via,
                                     .name = f->path};
        if ((rc = ks_samples_record(smp, st, ing, &ev, info, kept, &is_new)) != KS_OK) {
            ks_cli_error(&cli, "%s", ks_store_errmsg(st));
            store_failed = true;
            break;
        }
        if (cli.json) {
            json_t *o = info_json(info);
            json_object_set_new(o, "name", json_string(f->path));
            json_object_set_new(o, "new", json_boolean(is_new));
            ks_cli_json_line(o);
        } else {
            printf("%s %10" PRIu64 " %s %s %s %s %s\n", info->sha256, info->size,
                   is_new ? "NEW " : "SEEN", info->tags[0] ? info->tags : "-",
                   info->av_scanned ? (info->av[0] ? info->av : "clean") : "-", info->mime,
                   f->path);
        }
    }
    free(info);
    rc = ks_store_input_end(ing, !store_failed);
    ing = NULL;
    if (rc != KS_OK) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(st));
        goto out;
    }
    code = a.bad || store_failed ? KS_EXIT_FAIL : KS_EXIT_OK;
out:
    if (ing)
        ks_store_input_end(ing, false);
    ks_store_close(st);
    ks_samples_free(smp);
    ks_geo_free(geo);
    EVP_MD_CTX_free(man);
    for (size_t i = 0; i < a.n; i++)
        free(a.files[i].path);
    free(a.files);
    return code;
}

/* --- stats --------------------------------------------------------------------------------- */

#define JOIN_EVENTS                                                                                \
    " FROM sample_events e JOIN inputs i ON i.id = e.input_id AND i.status = 'complete'"           \
    " WHERE e.ts >= ?1 AND e.ts < ?2 "

struct q {
    struct ks_cli *cli;
    const char *kind;
    bool header_done;
    /* tags */
    char tags[16][24];
    uint64_t tag_n[16];
    unsigned ntags;
    uint64_t samples;
};

static int64_t v_i64(const struct ks_store_value *v)
{
    return v->type == KS_TYPE_I64 || v->type == KS_TYPE_TIME ? v->v.i64
           : v->type == KS_TYPE_F64                          ? (int64_t)v->v.f64
                                                             : 0;
}

static const char *v_text(const struct ks_store_value *v, char *buf, size_t size)
{
    if (v->type != KS_TYPE_TEXT && v->type != KS_TYPE_ADDR) {
        snprintf(buf, size, "-");
        return buf;
    }
    size_t n = v->v.bytes.len < size - 1 ? v->v.bytes.len : size - 1;
    memcpy(buf, v->v.bytes.ptr, n);
    buf[n] = '\0';
    return buf;
}

static void day_text(int64_t day, char out[11])
{
    int64_t y;
    int m, d;
    ks_civil_from_days(day, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", (int)y, m, d);
}

static int day_row(void *user, size_t n, const char *const *names, const struct ks_store_value *v)
{
    struct q *q = user;
    char day[11];
    day_text(v_i64(&v[0]), day);
    if (q->cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string("day"));
        json_object_set_new(o, "day", json_string(day));
        json_object_set_new(o, "captures", json_integer(v_i64(&v[1])));
        json_object_set_new(o, "unique", json_integer(v_i64(&v[2])));
        json_object_set_new(o, "new", json_integer(v_i64(&v[3])));
        ks_cli_json_line(o);
    } else {
        if (!q->header_done)
            printf("%-10s %10s %8s %8s\n", "day", "captures", "unique", "new");
        q->header_done = true;
        printf("%-10s %10" PRId64 " %8" PRId64 " %8" PRId64 "\n", day, v_i64(&v[1]), v_i64(&v[2]),
               v_i64(&v[3]));
    }
    return 0;
}

/* Generic rows: (key, count[, count]) */
static int kv_row(void *user, size_t n, const char *const *names, const struct ks_store_value *v)
{
    struct q *q = user;
    char key[300];
    bool as = strcmp(q->kind, "as") == 0;
    if (as)
        snprintf(key, sizeof key, "%" PRId64, v_i64(&v[0]));
    else
        v_text(&v[0], key, sizeof key);
    if (q->cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string(q->kind));
        if (as)
            json_object_set_new(o, "asn", json_integer(v_i64(&v[0])));
        else if (strcmp(q->kind, "ioc") == 0) {
            json_object_set_new(o, "type", json_string(key));
            char val[300];
            json_object_set_new(o, "value", json_string(v_text(&v[1], val, sizeof val)));
        } else
            json_object_set_new(o, q->kind, json_string(key));
        if (strcmp(q->kind, "ioc") == 0)
            json_object_set_new(o, "samples", json_integer(v_i64(&v[2])));
        else {
            json_object_set_new(o, "captures", json_integer(v_i64(&v[1])));
            if (n > 2)
                json_object_set_new(o, "sources", json_integer(v_i64(&v[2])));
        }
        ks_cli_json_line(o);
        return 0;
    }
    if (!q->header_done) {
        if (strcmp(q->kind, "ioc") == 0)
            printf("\nindicators: type, value, samples\n");
        else
            printf("\nby %s: captures%s\n", q->kind, n > 2 ? ", distinct sources" : "");
    }
    q->header_done = true;
    if (strcmp(q->kind, "ioc") == 0) {
        char val[300];
        printf("  %-4s %-60s %6" PRId64 "\n", key, v_text(&v[1], val, sizeof val), v_i64(&v[2]));
    } else if (n > 2) {
        printf("  %-12s %10" PRId64 " %8" PRId64 "\n", key, v_i64(&v[1]), v_i64(&v[2]));
    } else {
        printf("  %-12s %10" PRId64 "\n", key, v_i64(&v[1]));
    }
    return 0;
}

static void tag_add(struct q *q, const char *tag, size_t len)
{
    for (unsigned i = 0; i < q->ntags; i++)
        if (strlen(q->tags[i]) == len && memcmp(q->tags[i], tag, len) == 0) {
            q->tag_n[i]++;
            return;
        }
    if (q->ntags < 16 && len < sizeof q->tags[0]) {
        memcpy(q->tags[q->ntags], tag, len);
        q->tags[q->ntags][len] = '\0';
        q->tag_n[q->ntags++] = 1;
    }
}

static int tag_row(void *user, size_t n, const char *const *names, const struct ks_store_value *v)
{
    struct q *q = user;
    char tags[300];
    v_text(&v[0], tags, sizeof tags);
    q->samples++;
    if (!tags[0] || strcmp(tags, "-") == 0) {
        tag_add(q, "untagged", 8);
        return 0;
    }
    for (char *p = tags; *p;) {
        char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        tag_add(q, p, l);
        p += l + (e ? 1 : 0);
    }
    return 0;
}

static int samples_stats(int argc, char **argv)
{
    static const struct option opts[] = {KS_CLI_COMMON_OPTS,
                                         {"from", required_argument, NULL, 0x200},
                                         {"to", required_argument, NULL, 0x201},
                                         {0}};
    struct ks_cli cli;
    struct ks_store *st = NULL;
    int64_t from = INT64_MIN, to = INT64_MAX;
    int opt, code = KS_EXIT_OK;
    ks_cli_init(&cli, "samples stats", stats_usage, stats_help);
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        if (opt == 0x200 || opt == 0x201) {
            int64_t t;
            if (ks_time_parse(optarg, strlen(optarg), &t) != KS_OK)
                return ks_cli_usage_error(&cli, "--%s needs an RFC 3339 time, not '%s'",
                                          opt == 0x200 ? "from" : "to", optarg);
            *(opt == 0x200 ? &from : &to) = t;
        } else {
            return ks_cli_usage_error(&cli, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return ks_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
    if (open_store(&cli, true, &st) != KS_EXIT_OK)
        return KS_EXIT_FAIL;
    struct ks_store_value p[2] = {{.type = KS_TYPE_I64, .v.i64 = from},
                                  {.type = KS_TYPE_I64, .v.i64 = to}};
    static const struct {
        const char *kind;
        const char *sql;
    } kv[] = {
        {"via", "SELECT e.via, count(*)" JOIN_EVENTS "GROUP BY e.via ORDER BY 2 DESC, 1"},
        {"country", "SELECT e.country, count(*), count(DISTINCT e.source)" JOIN_EVENTS
                    "GROUP BY e.country ORDER BY 2 DESC, 1"},
        {"as", "SELECT e.asn, count(*), count(DISTINCT e.source)" JOIN_EVENTS
               "GROUP BY e.asn ORDER BY 2 DESC, 1"},
    };
    /* A sample is new on the day of its earliest capture (over all time, not the period). */
    static const char day_sql[] =
        "WITH ev AS (SELECT e.ts, e.sha256 FROM sample_events e JOIN inputs i ON i.id = "
        "e.input_id AND i.status = 'complete'), first AS (SELECT sha256, min(ts) AS f FROM ev "
        "GROUP BY sha256) SELECT ev.ts / 86400000000 - (ev.ts < 0 AND ev.ts % 86400000000 != 0) "
        "AS day, count(*), count(DISTINCT ev.sha256), count(DISTINCT CASE WHEN first.f = ev.ts "
        "THEN ev.sha256 END) FROM ev JOIN first ON first.sha256 = ev.sha256 WHERE ev.ts >= ?1 "
        "AND ev.ts < ?2 GROUP BY day ORDER BY day";
    static const char tag_sql[] =
        "SELECT max(s.tags) FROM samples s JOIN inputs i ON i.id = s.input_id AND i.status = "
        "'complete' WHERE s.sha256 IN (SELECT e.sha256" JOIN_EVENTS ") GROUP BY s.sha256";
    static const char ioc_sql[] =
        "SELECT o.kind, o.value, count(DISTINCT o.sha256) FROM sample_iocs o JOIN inputs i ON "
        "i.id = o.input_id AND i.status = 'complete' WHERE o.sha256 IN (SELECT e.sha256" JOIN_EVENTS
        ") GROUP BY o.kind, o.value ORDER BY 3 DESC, 1, 2";
    struct q q = {.cli = &cli, .kind = "day"};
    int rc = ks_store_query(st, day_sql, p, 2, day_row, &q);
    for (size_t i = 0; rc == KS_OK && i < sizeof kv / sizeof kv[0]; i++) {
        q = (struct q){.cli = &cli, .kind = kv[i].kind};
        rc = ks_store_query(st, kv[i].sql, p, 2, kv_row, &q);
    }
    if (rc == KS_OK) {
        q = (struct q){.cli = &cli, .kind = "tag"};
        rc = ks_store_query(st, tag_sql, p, 2, tag_row, &q);
        if (rc == KS_OK && q.ntags && !cli.json)
            printf("\nunique samples by type (%" PRIu64 " samples)\n", q.samples);
        for (unsigned i = 0; rc == KS_OK && i < q.ntags; i++) {
            double share = q.samples ? 100.0 * (double)q.tag_n[i] / (double)q.samples : 0;
            if (cli.json) {
                json_t *o = json_object();
                json_object_set_new(o, "kind", json_string("tag"));
                json_object_set_new(o, "tag", json_string(q.tags[i]));
                json_object_set_new(o, "samples", json_integer((json_int_t)q.tag_n[i]));
                json_object_set_new(o, "share", json_real(share / 100.0));
                ks_cli_json_line(o);
            } else {
                printf("  %-12s %8" PRIu64 " %6.1f%%\n", q.tags[i], q.tag_n[i], share);
            }
        }
    }
    if (rc == KS_OK) {
        q = (struct q){.cli = &cli, .kind = "ioc"};
        rc = ks_store_query(st, ioc_sql, p, 2, kv_row, &q);
    }
    if (rc != KS_OK) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(st));
        code = KS_EXIT_FAIL;
    }
    ks_store_close(st);
    return code;
}

/* --- show ---------------------------------------------------------------------------------- */

struct show {
    struct ks_cli *cli;
    json_t *obj;
    bool found;
    char sha256[65];
};

static int show_sample(void *user, size_t n, const char *const *names,
                       const struct ks_store_value *v)
{
    struct show *sh = user;
    char buf[4300];
    sh->found = true;
    for (size_t i = 0; i < n; i++) {
        const char *name = names[i];
        if (strcmp(name, "sha256") == 0)
            v_text(&v[i], sh->sha256, sizeof sh->sha256);
        if (v[i].type == KS_TYPE_NULL) {
            json_object_set_new(sh->obj, name, json_null());
            if (!sh->cli->json)
                printf("%-11s -\n", name);
        } else if (v[i].type == KS_TYPE_I64 && strcmp(name, "first_seen") == 0) {
            char t[64];
            ks_time_format(v[i].v.i64, 0, 0, t, sizeof t);
            json_object_set_new(sh->obj, name, json_string(t));
            if (!sh->cli->json)
                printf("%-11s %s\n", name, t);
        } else if (v[i].type == KS_TYPE_I64) {
            json_object_set_new(sh->obj, name, json_integer(v[i].v.i64));
            if (!sh->cli->json)
                printf("%-11s %" PRId64 "\n", name, v[i].v.i64);
        } else if (v[i].type == KS_TYPE_F64) {
            json_object_set_new(sh->obj, name, json_real(v[i].v.f64));
            if (!sh->cli->json)
                printf("%-11s %.3f\n", name, v[i].v.f64);
        } else {
            v_text(&v[i], buf, sizeof buf);
            json_object_set_new(sh->obj, name, json_string(buf));
            if (!sh->cli->json)
                printf("%-11s %s\n", name, buf[0] ? buf : "-");
        }
    }
    return 1; /* the first row is enough */
}

static int show_ioc(void *user, size_t n, const char *const *names, const struct ks_store_value *v)
{
    struct show *sh = user;
    char kind[16], val[300];
    v_text(&v[0], kind, sizeof kind);
    v_text(&v[1], val, sizeof val);
    json_t *a = json_object_get(sh->obj, "iocs");
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(kind));
    json_object_set_new(o, "value", json_string(val));
    json_array_append_new(a, o);
    if (!sh->cli->json)
        printf("%-11s %s %s\n", "ioc", kind, val);
    return 0;
}

static int show_captures(void *user, size_t n, const char *const *names,
                         const struct ks_store_value *v)
{
    struct show *sh = user;
    char first[64] = "-", last[64] = "-";
    if (v_i64(&v[0]) > 0) {
        ks_time_format(v_i64(&v[1]), 0, 0, first, sizeof first);
        ks_time_format(v_i64(&v[2]), 0, 0, last, sizeof last);
    }
    json_object_set_new(sh->obj, "captures", json_integer(v_i64(&v[0])));
    json_object_set_new(sh->obj, "sources", json_integer(v_i64(&v[3])));
    json_object_set_new(sh->obj, "first_capture", json_string(first));
    json_object_set_new(sh->obj, "last_capture", json_string(last));
    if (!sh->cli->json)
        printf("%-11s %" PRId64 " from %" PRId64 " sources, %s .. %s\n", "captures", v_i64(&v[0]),
               v_i64(&v[3]), first, last);
    return 0;
}

static int samples_show(int argc, char **argv)
{
    struct ks_cli cli;
    struct ks_store *st = NULL;
    static const struct option opts[] = {KS_CLI_COMMON_OPTS, {0}};
    int opt, code = KS_EXIT_OK;
    ks_cli_init(&cli, "samples show", show_usage, show_help);
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r == 0)
            return ks_cli_usage_error(&cli, "unknown option '%s'", argv[optind - 1]);
    }
    if (optind + 1 != argc)
        return ks_cli_usage_error(&cli, "give one HASH");
    char hash[65];
    size_t len = strlen(argv[optind]);
    if (len != 32 && len != 40 && len != 64)
        return ks_cli_usage_error(&cli, "HASH is a SHA-256, SHA-1 or MD5 in hex");
    for (size_t i = 0; i < len; i++) {
        char c = argv[optind][i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return ks_cli_usage_error(&cli, "HASH is a SHA-256, SHA-1 or MD5 in hex");
        hash[i] = c;
    }
    hash[len] = '\0';
    if (open_store(&cli, true, &st) != KS_EXIT_OK)
        return KS_EXIT_FAIL;
    const char *col = len == 64 ? "sha256" : len == 40 ? "sha1" : "md5";
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT s.sha256, s.md5, s.sha1, s.md6, s.ssdeep, s.tlsh, s.size, s.type, s.mime, "
             "s.entropy, s.packer, s.tags, s.av, s.rules, s.first_seen, s.path FROM samples s "
             "JOIN inputs i ON i.id = s.input_id AND i.status = 'complete' WHERE s.%s = ?1 "
             "ORDER BY s.first_seen LIMIT 1",
             col);
    struct show sh = {.cli = &cli, .obj = json_object()};
    json_object_set_new(sh.obj, "iocs", json_array());
    struct ks_store_value p = {.type = KS_TYPE_TEXT, .v.bytes = {hash, len}};
    int rc = ks_store_query(st, sql, &p, 1, show_sample, &sh);
    if (rc >= 0 && sh.found) {
        struct ks_store_value p2 = {.type = KS_TYPE_TEXT, .v.bytes = {sh.sha256, 64}};
        rc = ks_store_query(st,
                            "SELECT DISTINCT o.kind, o.value FROM sample_iocs o JOIN inputs i ON "
                            "i.id = o.input_id AND i.status = 'complete' WHERE o.sha256 = ?1 "
                            "ORDER BY 1, 2",
                            &p2, 1, show_ioc, &sh);
        if (rc >= 0)
            rc = ks_store_query(st,
                                "SELECT count(*), min(e.ts), max(e.ts), count(DISTINCT "
                                "e.source) FROM sample_events e JOIN inputs i ON i.id = "
                                "e.input_id AND i.status = 'complete' WHERE e.sha256 = ?1",
                                &p2, 1, show_captures, &sh);
    }
    if (rc < 0) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(st));
        code = KS_EXIT_FAIL;
    } else if (!sh.found) {
        ks_cli_error(&cli, "%s: no such sample in %s", hash, cli.db_path);
        code = KS_EXIT_FAIL;
    } else if (cli.json) {
        ks_cli_json_line(sh.obj);
        sh.obj = NULL;
    }
    json_decref(sh.obj);
    ks_store_close(st);
    return code;
}

int ks_cmd_samples(int argc, char **argv)
{
    static const struct ks_cli_verb verbs[] = {
        {"add", samples_add}, {"stats", samples_stats}, {"show", samples_show}};
    struct ks_cli cli;
    ks_cli_init(&cli, "samples", samples_usage, samples_help);
    return ks_cli_run_verbs(&cli, verbs, sizeof verbs / sizeof verbs[0], argc, argv);
}
