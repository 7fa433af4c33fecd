/* The classifiers of the sample registry: libmagic (file type), libclamav (antivirus verdict
 * with the operator's databases) and libyara (type tags and indicators from rules). */
#include "lazy_scan.h"
#include "samples_int.h"

#include <dirent.h>
#include <errno.h>
#include <magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

/* --- libmagic ---------------------------------------------------------------------------- */

int samples_magic_open(struct ks_samples *s)
{
    /* No MAGIC_COMPRESS: a sample is described as it is, never unpacked. */
    magic_t m = magic_open(MAGIC_NONE | MAGIC_ERROR);
    magic_t mm = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
    if (!m || !mm || magic_load(m, NULL) != 0 || magic_load(mm, NULL) != 0) {
        samples_report(s, "libmagic", KS_EIO, "cannot load the file type database: %s",
                       m ? magic_error(m) : "out of memory");
        if (m)
            magic_close(m);
        if (mm)
            magic_close(mm);
        return KS_EIO;
    }
    s->magic = m;
    s->magic_mime = mm;
    return KS_OK;
}

void samples_magic_close(struct ks_samples *s)
{
    if (s->magic)
        magic_close(s->magic);
    if (s->magic_mime)
        magic_close(s->magic_mime);
    s->magic = s->magic_mime = NULL;
}

static void copy_text(char *out, size_t size, const char *in)
{
    size_t i = 0;
    for (; in && in[i] && i + 1 < size; i++)
        out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
    out[i] = '\0';
}

void samples_magic_type(struct ks_samples *s, const uint8_t *head, size_t len,
                        struct ks_sample_info *info)
{
    const char *t = magic_buffer(s->magic, head, len);
    const char *m = magic_buffer(s->magic_mime, head, len);
    copy_text(info->type, sizeof info->type, t ? t : "data");
    copy_text(info->mime, sizeof info->mime, m ? m : "application/octet-stream");
}

/* --- libclamav --------------------------------------------------------------------------- */

static pthread_once_t cl_once = PTHREAD_ONCE_INIT;
static cl_error_t cl_init_rc = CL_SUCCESS;

static void cl_init_once(void)
{
    cl_init_rc = cl_init(CL_INIT_DEFAULT);
}

int samples_av_open(struct ks_samples *s, const char *db)
{
    unsigned int sigs = 0;
    cl_error_t rc;
    if (ks_clamav_error()) {
        samples_report(s, "libclamav", KS_EUNSUPP, "cannot be opened: %s", ks_clamav_error());
        return KS_EUNSUPP;
    }
    pthread_once(&cl_once, cl_init_once);
    if (cl_init_rc != CL_SUCCESS) {
        samples_report(s, "libclamav", KS_EIO, "cannot initialise: %s", cl_strerror(cl_init_rc));
        return KS_EIO;
    }
    if (!(s->av = cl_engine_new()))
        return KS_ENOMEM;
    if ((rc = cl_load(db, s->av, &sigs, CL_DB_STDOPT)) != CL_SUCCESS) {
        samples_report(s, db, KS_EFORMAT, "cannot load the ClamAV database: %s", cl_strerror(rc));
        goto fail;
    }
    if ((rc = cl_engine_compile(s->av)) != CL_SUCCESS) {
        samples_report(s, db, KS_EFORMAT, "cannot compile the ClamAV database: %s",
                       cl_strerror(rc));
        goto fail;
    }
    s->st.av_signatures = sigs;
    return KS_OK;
fail:
    cl_engine_free(s->av);
    s->av = NULL;
    return KS_EFORMAT;
}

void samples_av_close(struct ks_samples *s)
{
    if (s->av)
        cl_engine_free(s->av);
    s->av = NULL;
}

void samples_av_scan(struct ks_samples *s, const char *name, int fd, const uint8_t *mem,
                     uint64_t size, struct ks_sample_info *info)
{
    if (!s->av)
        return;
    struct cl_scan_options opt;
    memset(&opt, 0, sizeof opt);
    opt.parse = ~0u; /* every parser: archives, PE, ELF, mail, documents */
    const char *virname = NULL;
    unsigned long scanned = 0;
    cl_error_t rc;
    if (fd >= 0) {
        lseek(fd, 0, SEEK_SET);
        rc = cl_scandesc(fd, name, &virname, &scanned, s->av, &opt);
    } else {
        cl_fmap_t *map = cl_fmap_open_memory(mem, (size_t)size);
        if (!map) {
            s->st.av_errors++;
            return;
        }
        rc = cl_scanmap_callback(map, name, &virname, &scanned, s->av, &opt, NULL);
        cl_fmap_close(map);
    }
    if (rc == CL_VIRUS) {
        info->av_scanned = true;
        copy_text(info->av, sizeof info->av, virname ? virname : "unknown");
    } else if (rc == CL_CLEAN) {
        info->av_scanned = true;
    } else {
        s->st.av_errors++;
        samples_report(s, name, KS_EIO, "ClamAV scan failed: %s", cl_strerror(rc));
    }
}

int ks_samples_av_scan_mem(struct ks_samples *s, const void *buf, size_t len, const char *name,
                           char *virname, size_t size)
{
    if (size)
        virname[0] = '\0';
    if (!s || !s->av)
        return KS_ENOTFOUND;
    struct ks_sample_info *info = calloc(1, sizeof *info);
    if (!info)
        return KS_ENOMEM;
    uint64_t errors = s->st.av_errors;
    samples_av_scan(s, name ? name : "buffer", -1, buf, len, info);
    int rc = s->st.av_errors != errors ? KS_EIO : info->av[0] ? 1 : 0;
    if (rc == 1 && size)
        copy_text(virname, size, info->av);
    free(info);
    return rc;
}

/* --- libyara ----------------------------------------------------------------------------- */

/* The type tags a rule may give; other rule tags are ignored. */
static const char *const type_tags[] = {"worm",   "bot",     "downloader", "trojan",
                                        "adware", "dropper", "packed"};

struct compile_ctx {
    struct ks_samples *s;
    const char *file;
    int errors;
};

static void compile_cb(int level, const char *file, int line, const YR_RULE *rule, const char *msg,
                       void *user)
{
    struct compile_ctx *c = user;
    struct ks_loc loc = {.source = file ? file : c->file, .line = line > 0 ? (uint32_t)line : 0};
    if (level == YARA_ERROR_LEVEL_ERROR)
        c->errors++;
    ks_diag_report(&c->s->diag, &c->s->reported, "samples", &loc,
                   level == YARA_ERROR_LEVEL_ERROR ? KS_EFORMAT : KS_OK, "YARA %s: %s",
                   level == YARA_ERROR_LEVEL_ERROR ? "error" : "warning", msg);
}

static int yara_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && ((n > 4 && strcmp(e->d_name + n - 4, ".yar") == 0) ||
                                   (n > 5 && strcmp(e->d_name + n - 5, ".yara") == 0));
}

int samples_yara_open(struct ks_samples *s, const char *dir)
{
    YR_COMPILER *comp = NULL;
    struct dirent **list = NULL;
    int n = -1, rc = KS_OK;
    struct compile_ctx ctx = {s, dir, 0};
    if (ks_yara_error()) {
        samples_report(s, "libyara", KS_EUNSUPP, "cannot be opened: %s", ks_yara_error());
        return KS_EUNSUPP;
    }
    if (yr_initialize() != ERROR_SUCCESS)
        return KS_ENOMEM;
    s->yara_init = true;
    if ((n = scandir(dir, &list, yara_file, alphasort)) < 0) {
        samples_report(s, dir, KS_EIO, "cannot read the YARA rules folder: %s", strerror(errno));
        return KS_EIO;
    }
    if (yr_compiler_create(&comp) != ERROR_SUCCESS) {
        rc = KS_ENOMEM;
        goto out;
    }
    yr_compiler_set_callback(comp, compile_cb, &ctx);
    for (int i = 0; i < n; i++) {
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name) >= sizeof path)
            continue;
        FILE *f = fopen(path, "r");
        if (!f) {
            samples_report(s, path, KS_EIO, "cannot open: %s", strerror(errno));
            rc = KS_EIO;
            goto out;
        }
        ctx.file = path;
        yr_compiler_add_file(comp, f, NULL, path);
        fclose(f);
        if (ctx.errors)
            break; /* the compiler cannot take more files after an error */
    }
    if (ctx.errors) {
        rc = KS_EFORMAT;
        goto out;
    }
    YR_RULES *rules = NULL;
    if (yr_compiler_get_rules(comp, &rules) != ERROR_SUCCESS) {
        rc = KS_ENOMEM;
        goto out;
    }
    s->yara = rules;
    YR_RULE *r;
    yr_rules_foreach(rules, r) s->st.yara_rules++;
out:
    if (comp)
        yr_compiler_destroy(comp);
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
    return rc;
}

void samples_yara_close(struct ks_samples *s)
{
    if (s->yara)
        yr_rules_destroy(s->yara);
    s->yara = NULL;
    if (s->yara_init)
        yr_finalize();
    s->yara_init = false;
}

struct scan_ctx {
    struct ks_samples *s;
    struct ks_sample_info *info;
};

static void add_ioc(struct scan_ctx *c, const char *kind, const char *rule, const uint8_t *data,
                    size_t len)
{
    struct ks_sample_info *info = c->info;
    char value[sizeof info->iocs[0].value];
    size_t n = 0;
    /* Keep the printable run: indicators are text (hosts, URLs). */
    for (size_t i = 0; i < len && n + 1 < sizeof value && data[i] >= 0x21 && data[i] < 0x7f; i++)
        value[n++] = (char)data[i];
    value[n] = '\0';
    if (n == 0)
        return;
    /* An unanchored regex also matches every suffix of a host name ("rc.example.net:6667"
     * inside "irc.example.net:6667"): keep only the longest of them. */
    for (unsigned i = 0; i < info->niocs; i++) {
        if (strcmp(info->iocs[i].kind, kind) != 0)
            continue;
        size_t have = strlen(info->iocs[i].value);
        if (have >= n && strcmp(info->iocs[i].value + have - n, value) == 0)
            return;
        if (n > have && strcmp(value + n - have, info->iocs[i].value) == 0) {
            memcpy(info->iocs[i].value, value, n + 1);
            return;
        }
    }
    if (info->niocs >= KS_SAMPLES_MAX_IOCS) {
        c->s->st.iocs_dropped++;
        return;
    }
    struct ks_sample_ioc *o = &info->iocs[info->niocs++];
    snprintf(o->kind, sizeof o->kind, "%s", kind);
    memcpy(o->value, value, n + 1);
    snprintf(o->rule, sizeof o->rule, "%s", rule);
}

static int scan_cb(YR_SCAN_CONTEXT *ctx, int message, void *data, void *user)
{
    struct scan_ctx *c = user;
    if (message != CALLBACK_MSG_RULE_MATCHING)
        return CALLBACK_CONTINUE;
    YR_RULE *rule = data;
    const char *tag;
    YR_STRING *str;
    YR_MATCH *m;
    samples_list_add(c->info->rules, sizeof c->info->rules, rule->identifier);
    yr_rule_tags_foreach(rule, tag)
    {
        for (size_t i = 0; i < sizeof type_tags / sizeof type_tags[0]; i++)
            if (strcmp(tag, type_tags[i]) == 0)
                samples_list_add(c->info->tags, sizeof c->info->tags, tag);
    }
    /* Strings named $cnc* and $url* carry indicators (data/yara/README.md). */
    yr_rule_strings_foreach(rule, str)
    {
        const char *id = str->identifier;
        const char *kind = strncmp(id, "$cnc", 4) == 0   ? "cnc"
                           : strncmp(id, "$url", 4) == 0 ? "url"
                                                         : NULL;
        if (!kind)
            continue;
        /* libyara (4.2) hands out YR_MATCH records at unaligned addresses from its notebook
         * allocator, so they are read field by field with memcpy rather than through its
         * yr_string_matches_foreach macro, whose member accesses are undefined behaviour. */
        for (m = ctx->matches[str->idx].head; m != NULL;) {
            bool is_private;
            int32_t data_length;
            const uint8_t *bytes;
            YR_MATCH *next;
            memcpy(&is_private, (const char *)m + offsetof(YR_MATCH, is_private),
                   sizeof is_private);
            memcpy(&data_length, (const char *)m + offsetof(YR_MATCH, data_length),
                   sizeof data_length);
            memcpy(&bytes, (const char *)m + offsetof(YR_MATCH, data), sizeof bytes);
            memcpy(&next, (const char *)m + offsetof(YR_MATCH, next), sizeof next);
            if (!is_private && data_length > 0)
                add_ioc(c, kind, rule->identifier, bytes, (size_t)data_length);
            m = next;
        }
    }
    return CALLBACK_CONTINUE;
}

void samples_yara_scan(struct ks_samples *s, int fd, const uint8_t *mem, uint64_t size,
                       struct ks_sample_info *info)
{
    if (!s->yara)
        return;
    struct scan_ctx c = {s, info};
    int timeout = s->cfg.scan_timeout_s ? (int)s->cfg.scan_timeout_s : 10;
    int rc = fd >= 0 && size > 0
                 ? yr_rules_scan_fd(s->yara, fd, 0, scan_cb, &c, timeout)
                 : yr_rules_scan_mem(s->yara, mem, (size_t)size, 0, scan_cb, &c, timeout);
    if (rc != ERROR_SUCCESS) {
        s->st.yara_errors++;
        samples_report(s, "yara", rc == ERROR_SCAN_TIMEOUT ? KS_ETIMEOUT : KS_EIO,
                       "YARA scan failed (error %d)%s", rc,
                       rc == ERROR_SCAN_TIMEOUT ? ": time limit reached" : "");
    }
}
