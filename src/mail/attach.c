/* Attachments: type by content (libmagic), SHA-256 and MD5 (OpenSSL), archive members
 * (libarchive: zip, rar, 7z, tar, cab...) and the flags of executables and suspicious names. */
#include "attach.h"
#include "core/lazy_archive.h"
#include "mail_int.h"

#include <magic.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MEMBERS 256
#define MEMBER_PEEK 4096
#define MEMBER_NAMES 4096 /* bytes of member names kept ('\n'-separated) */

#define MEMO_SETS 1024u /* of MEMO_WAYS contents */
#define MEMO_WAYS 2
#define AV_NAME_MAX 128 /* a longer signature name is not remembered */

/* What the content of an attachment gave: everything but the flags of its own name. */
struct att_memo {
    uint8_t sha256[32];
    uint64_t size, max_archive;
    unsigned flags; /* KS_MAIL_ATT_* without KS_MAIL_ATT_SUSPICIOUS */
    char md5[33];
    char *text; /* the magic type, '\0', the member names, '\0' (malloc'd); NULL: slot free */
    /* the antivirus verdict, once scanned: by which engine (NULL: not yet), detected or clean */
    const void *av_engine;
    bool av_hit;
    char av_name[AV_NAME_MAX];
};

struct ks_mail_memo {
    pthread_mutex_t mu;
    struct att_memo slot[MEMO_SETS][MEMO_WAYS];
    uint8_t older[MEMO_SETS]; /* the way to replace next in each set */
    struct ks_mail_memo_stats st;
};

int ks_mail_memo_new(struct ks_mail_memo **mp)
{
    *mp = NULL;
    struct ks_mail_memo *m = calloc(1, sizeof *m);
    if (!m)
        return KS_ENOMEM;
    pthread_mutex_init(&m->mu, NULL);
    *mp = m;
    return KS_OK;
}

void ks_mail_memo_free(struct ks_mail_memo *m)
{
    if (!m)
        return;
    for (unsigned i = 0; i < MEMO_SETS; i++)
        for (unsigned w = 0; w < MEMO_WAYS; w++)
            free(m->slot[i][w].text);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void ks_mail_memo_stats(struct ks_mail_memo *m, struct ks_mail_memo_stats *st)
{
    pthread_mutex_lock(&m->mu);
    *st = m->st;
    pthread_mutex_unlock(&m->mu);
}

static const char *const exec_ext[] = {
    "exe", "scr", "pif",         "com",    "bat", "cmd", "js",  "jse", "vbs", "vbe",
    "wsf", "wsh", "hta",         "jar",    "lnk", "cpl", "msi", "msp", "ps1", "reg",
    "dll", "sys", "application", "gadget", "inf", "scf", "iso", "img", "vhd", NULL};

static bool ext_is(const char *e, size_t n, const char *const *list)
{
    for (const char *const *p = list; *p; p++)
        if (mail_ieq(e, n, *p))
            return true;
    return false;
}

bool ks_mail_name_suspicious(const char *name, size_t len)
{
    if (!name || len == 0)
        return false;
    /* U+202E RIGHT-TO-LEFT OVERRIDE hides the real extension ("invoice\u202Efdp.exe") */
    for (size_t i = 0; i + 2 < len; i++)
        if ((unsigned char)name[i] == 0xe2 && (unsigned char)name[i + 1] == 0x80 &&
            ((unsigned char)name[i + 2] == 0xae || (unsigned char)name[i + 2] == 0x8f))
            return true;
    size_t end = len;
    while (end > 0 && (name[end - 1] == ' ' || name[end - 1] == '.'))
        end--;
    size_t dot = end;
    while (dot > 0 && name[dot - 1] != '.' && name[dot - 1] != '/' && name[dot - 1] != '\\')
        dot--;
    if (dot == 0 || name[dot - 1] != '.')
        return false;
    const char *ext = name + dot;
    size_t el = end - dot;
    return ext_is(ext, el, exec_ext);
}

static bool magic_is_exec(const char *m)
{
    static const char *const types[] = {"application/x-dosexec",
                                        "application/x-executable",
                                        "application/x-sharedlib",
                                        "application/x-pie-executable",
                                        "application/x-mach-binary",
                                        "application/x-msdownload",
                                        "application/vnd.microsoft.portable-executable",
                                        "text/x-shellscript",
                                        "text/x-msdos-batch",
                                        "application/x-ms-shortcut",
                                        "application/java-archive",
                                        "application/x-java-archive",
                                        NULL};
    if (!m)
        return false;
    for (const char *const *t = types; *t; t++)
        if (strcmp(m, *t) == 0)
            return true;
    return false;
}

static bool bytes_exec(const uint8_t *p, size_t n)
{
    return (n >= 2 && p[0] == 'M' && p[1] == 'Z') ||
           (n >= 4 && p[0] == 0x7f && p[1] == 'E' && p[2] == 'L' && p[3] == 'F');
}

static bool is_archive_type(const char *m)
{
    static const char *const types[] = {"application/zip",
                                        "application/x-rar",
                                        "application/vnd.rar",
                                        "application/x-7z-compressed",
                                        "application/x-tar",
                                        "application/gzip",
                                        "application/x-gzip",
                                        "application/x-bzip2",
                                        "application/x-xz",
                                        "application/vnd.ms-cab-compressed",
                                        "application/x-lzh-compressed",
                                        "application/x-iso9660-image",
                                        "application/x-ace-compressed",
                                        "application/x-arj",
                                        NULL};
    if (!m)
        return false;
    for (const char *const *t = types; *t; t++)
        if (strcmp(m, *t) == 0)
            return true;
    return false;
}

int mail_attach_new(struct ks_mail_memo *memo, struct mail_attach **ap)
{
    *ap = NULL;
    struct mail_attach *a = calloc(1, sizeof *a);
    if (!a)
        return KS_ENOMEM;
    a->memo = memo;
    if (!memo) {
        if (ks_mail_memo_new(&a->memo) != KS_OK) {
            free(a);
            return KS_ENOMEM;
        }
        a->own_memo = true;
    }
    *ap = a;
    return KS_OK;
}

void mail_attach_free(struct mail_attach *a)
{
    if (!a)
        return;
    if (a->magic)
        magic_close(a->magic);
    if (a->own_memo)
        ks_mail_memo_free(a->memo);
    free(a);
}

static const char *magic_of(struct mail_attach *a, const void *p, size_t n)
{
    /* loaded at the first attachment: analyzers that never see one (URL extraction) do not
     * pay for the database */
    if (!a->magic_tried) {
        a->magic_tried = true;
        a->magic = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
        if (a->magic && magic_load(a->magic, NULL) != 0) {
            magic_close(a->magic);
            a->magic = NULL;
        }
    }
    if (!a->magic || n == 0)
        return "application/octet-stream";
    const char *m = magic_buffer(a->magic, p, n);
    return m ? m : "application/octet-stream";
}

static void hex(const unsigned char *d, size_t n, char *out)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[d[i] >> 4];
        out[2 * i + 1] = h[d[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Lists the members of an archive in memory; flags executables among them. */
static void archive_members(struct mail_attach *a, const uint8_t *p, size_t n,
                            struct mail_arena *ar, struct ks_mail_attachment *att, uint64_t max)
{
    struct archive *x = archive_read_new();
    if (!x)
        return;
    archive_read_support_format_all(x);
    archive_read_support_filter_all(x);
    if (n > max)
        n = (size_t)max;
    char names[MEMBER_NAMES];
    size_t nl = 0;
    if (archive_read_open_memory(x, p, n) != ARCHIVE_OK) {
        archive_read_free(x);
        return;
    }
    struct archive_entry *e;
    unsigned count = 0;
    uint8_t *peek = malloc(MEMBER_PEEK);
    while (count < MAX_MEMBERS) {
        int rc = archive_read_next_header(x, &e);
        if (rc == ARCHIVE_EOF || rc == ARCHIVE_FATAL)
            break;
        count++;
        const char *name = archive_entry_pathname_utf8(e);
        if (!name)
            name = archive_entry_pathname(e);
        if (!name)
            name = "";
        size_t k = strlen(name);
        if (nl + k + 2 < sizeof names) {
            if (nl)
                names[nl++] = '\n';
            memcpy(names + nl, name, k);
            nl += k;
        }
        if (ks_mail_name_suspicious(name, k))
            att->flags |= KS_MAIL_ATT_EXE_IN_ARCHIVE;
        if (archive_entry_is_encrypted(e)) {
            att->flags |= KS_MAIL_ATT_ENCRYPTED;
            continue;
        }
        if (peek && archive_entry_filetype(e) == AE_IFREG) {
            la_ssize_t got = archive_read_data(x, peek, MEMBER_PEEK);
            if (got > 0 &&
                (bytes_exec(peek, (size_t)got) || magic_is_exec(magic_of(a, peek, (size_t)got))))
                att->flags |= KS_MAIL_ATT_EXE_IN_ARCHIVE;
            else if (got < 0)
                att->flags |= KS_MAIL_ATT_ENCRYPTED;
        }
    }
    free(peek);
    if (count > 0)
        att->flags |= KS_MAIL_ATT_ARCHIVE;
    names[nl] = '\0';
    const char *m = mail_arena_strndup(ar, names, nl);
    att->members = m ? m : "";
    archive_read_free(x);
}

static bool memo_has(const struct att_memo *e, const uint8_t sha[32], uint64_t size,
                     uint64_t max_archive)
{
    return e->text && e->size == size && e->max_archive == max_archive &&
           memcmp(e->sha256, sha, 32) == 0;
}

static unsigned memo_set(const uint8_t sha[32])
{
    uint32_t k;
    memcpy(&k, sha, sizeof k); /* a uniform hash already */
    return k & (MEMO_SETS - 1);
}

static const char *arena_copy(struct mail_arena *ar, const char *s)
{
    const char *c = mail_arena_strndup(ar, s, strlen(s));
    return c ? c : "";
}

/* Copies what the memo holds for the content into att (strings to the arena); false if it
 * holds nothing for it. The caller holds the lock. */
static bool memo_get(struct ks_mail_memo *m, const uint8_t sha[32], uint64_t max_archive,
                     struct mail_arena *ar, struct ks_mail_attachment *att)
{
    unsigned set = memo_set(sha);
    m->st.lookups++;
    for (unsigned w = 0; w < MEMO_WAYS; w++) {
        const struct att_memo *e = &m->slot[set][w];
        if (!memo_has(e, sha, att->size, max_archive))
            continue;
        m->st.hits++;
        m->older[set] = (uint8_t)(w ^ 1);
        att->magic = arena_copy(ar, e->text);
        att->members = arena_copy(ar, e->text + strlen(e->text) + 1);
        memcpy(att->md5, e->md5, sizeof att->md5);
        att->flags |= e->flags;
        return true;
    }
    return false;
}

/* Remembers what the content gave (att's magic, members, md5 and content flags) in place of
 * the older of its set. */
static void memo_put(struct ks_mail_memo *m, const uint8_t sha[32], uint64_t max_archive,
                     const struct ks_mail_attachment *att)
{
    size_t ml = strlen(att->magic), nl = strlen(att->members);
    char *text = malloc(ml + nl + 2);
    if (!text)
        return;
    memcpy(text, att->magic, ml + 1);
    memcpy(text + ml + 1, att->members, nl + 1);
    unsigned set = memo_set(sha), w = m->older[set];
    struct att_memo *e = &m->slot[set][w];
    if (e->text)
        m->st.replaced++;
    free(e->text);
    e->text = text;
    memcpy(e->sha256, sha, 32);
    e->size = att->size;
    e->max_archive = max_archive;
    e->flags = att->flags & ~KS_MAIL_ATT_SUSPICIOUS;
    memcpy(e->md5, att->md5, sizeof e->md5);
    e->av_engine = NULL;
    m->older[set] = (uint8_t)(w ^ 1);
}

/* The memo's entry of att's content (by its SHA-256 and size), NULL if it holds none. The
 * caller holds the lock. */
static struct att_memo *memo_entry_of(struct ks_mail_memo *m, const struct ks_mail_attachment *att)
{
    uint8_t sha[32];
    for (int i = 0; i < 32; i++) {
        int hi = mail_hexval(att->sha256[2 * i]), lo = mail_hexval(att->sha256[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return NULL; /* no hash (it could not be computed) */
        sha[i] = (uint8_t)(hi << 4 | lo);
    }
    unsigned set = memo_set(sha);
    for (unsigned w = 0; w < MEMO_WAYS; w++) {
        struct att_memo *e = &m->slot[set][w];
        if (e->text && e->size == att->size && memcmp(e->sha256, sha, 32) == 0)
            return e;
    }
    return NULL;
}

int mail_attach_av_get(struct mail_attach *a, const struct ks_mail_attachment *att,
                       const void *engine, char *name, size_t cap)
{
    int verdict = -1;
    pthread_mutex_lock(&a->memo->mu);
    const struct att_memo *e = memo_entry_of(a->memo, att);
    if (e && e->av_engine == engine) {
        verdict = e->av_hit;
        snprintf(name, cap, "%s", e->av_name);
        a->memo->st.av_hits++;
    }
    pthread_mutex_unlock(&a->memo->mu);
    return verdict;
}

void mail_attach_av_put(struct mail_attach *a, const struct ks_mail_attachment *att,
                        const void *engine, bool hit, const char *name)
{
    if (strlen(name) >= AV_NAME_MAX)
        return; /* kept whole or not at all */
    pthread_mutex_lock(&a->memo->mu);
    struct att_memo *e = memo_entry_of(a->memo, att);
    if (e) {
        e->av_engine = engine;
        e->av_hit = hit;
        snprintf(e->av_name, sizeof e->av_name, "%s", name);
    }
    pthread_mutex_unlock(&a->memo->mu);
}

void mail_attach_analyse(struct mail_attach *a, const uint8_t *p, size_t n, const char *name,
                         const char *mime, struct mail_arena *ar, uint64_t max_archive,
                         struct ks_mail_attachment *att)
{
    memset(att, 0, sizeof *att);
    att->name = name ? name : "";
    att->mime = mime ? mime : "";
    att->members = "";
    att->av = "";
    att->size = n;
    if (ks_mail_name_suspicious(att->name, strlen(att->name)))
        att->flags |= KS_MAIL_ATT_SUSPICIOUS;
    unsigned char sha[EVP_MAX_MD_SIZE], d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    bool have_sha = EVP_Digest(p, n, sha, &dl, EVP_sha256(), NULL) == 1 && dl == 32;
    if (have_sha) {
        hex(sha, 32, att->sha256);
        pthread_mutex_lock(&a->memo->mu);
        bool hit = memo_get(a->memo, sha, max_archive, ar, att);
        pthread_mutex_unlock(&a->memo->mu);
        if (hit) {
            att->category = ks_mail_att_category(false, att->flags);
            return;
        }
    }
    att->magic = arena_copy(ar, magic_of(a, p, n));
    if (EVP_Digest(p, n, d, &dl, EVP_md5(), NULL) == 1 && dl == 16)
        hex(d, 16, att->md5);
    if (bytes_exec(p, n) || magic_is_exec(att->magic))
        att->flags |= KS_MAIL_ATT_EXECUTABLE;
    if (is_archive_type(att->magic))
        archive_members(a, p, n, ar, att, max_archive);
    att->category = ks_mail_att_category(false, att->flags);
    if (have_sha) {
        pthread_mutex_lock(&a->memo->mu);
        memo_put(a->memo, sha, max_archive, att);
        pthread_mutex_unlock(&a->memo->mu);
    }
}

const char *ks_mail_att_category(bool av_hit, unsigned flags)
{
    if (av_hit)
        return "malware";
    if (flags & KS_MAIL_ATT_EXECUTABLE)
        return "undetected";
    if (flags & (KS_MAIL_ATT_SUSPICIOUS | KS_MAIL_ATT_EXE_IN_ARCHIVE))
        return "suspicious";
    return "other";
}
