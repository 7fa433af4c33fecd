/* The analysts' incident log (include/kansoku/ks_incident.h). */
#include "kansoku/ks_incident.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"
#include "store/sha256.h"

#define CSV_MAX_FILE (64u << 20)

static const struct {
    const char *key, *en, *ja;
} cats[KS_INCIDENT_NCAT] = {
    {"vulnerability", "Vulnerabilities", "脆弱性"},
    {"events", "Political and social events", "動静情報"},
    {"history", "Historical dates", "歴史"},
    {"security", "Security incidents", "セキュリティ事件"},
    {"other", "Other", "その他"},
};

/* Other spellings an analyst may type, lower case, spaces for '_' and '-'. */
static const struct {
    const char *name;
    int cat;
} aliases[] = {
    {"vulnerability", KS_INCIDENT_VULN},
    {"vulnerabilities", KS_INCIDENT_VULN},
    {"vuln", KS_INCIDENT_VULN},
    {"events", KS_INCIDENT_EVENTS},
    {"event", KS_INCIDENT_EVENTS},
    {"political and social events", KS_INCIDENT_EVENTS},
    {"political", KS_INCIDENT_EVENTS},
    {"social", KS_INCIDENT_EVENTS},
    {"history", KS_INCIDENT_HISTORY},
    {"historical", KS_INCIDENT_HISTORY},
    {"historical dates", KS_INCIDENT_HISTORY},
    {"security", KS_INCIDENT_SECURITY},
    {"security incident", KS_INCIDENT_SECURITY},
    {"security incidents", KS_INCIDENT_SECURITY},
    {"incident", KS_INCIDENT_SECURITY},
    {"other", KS_INCIDENT_OTHER},
    {"others", KS_INCIDENT_OTHER},
};

const char *ks_incident_cat_key(int cat)
{
    return cat >= 0 && cat < KS_INCIDENT_NCAT ? cats[cat].key : NULL;
}

const char *ks_incident_cat_name(int cat, const char *lang)
{
    if (cat < 0 || cat >= KS_INCIDENT_NCAT)
        return NULL;
    return lang && strcmp(lang, "ja") == 0 ? cats[cat].ja : cats[cat].en;
}

int ks_incident_cat_parse(const char *s, size_t len, int *cat)
{
    char low[48];
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    for (int i = 0; i < KS_INCIDENT_NCAT; i++) {
        if (strlen(cats[i].ja) == len && memcmp(cats[i].ja, s, len) == 0) {
            *cat = i;
            return KS_OK;
        }
    }
    if (len == 0 || len >= sizeof low)
        return KS_EFORMAT;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        else if (c == '_' || c == '-')
            c = ' ';
        low[i] = c;
    }
    low[len] = '\0';
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strcmp(aliases[i].name, low) == 0) {
            *cat = aliases[i].cat;
            return KS_OK;
        }
    }
    return KS_EFORMAT;
}

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int ks_incident_date_parse(const char *s, size_t len, char out[11])
{
    int y, m, d;
    out[0] = '\0';
    if (len != 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) || digits(s + 5, 2, &m) ||
        digits(s + 8, 2, &d))
        return KS_EFORMAT;
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > ks_days_in_month(y, m))
        return KS_EFORMAT;
    memcpy(out, s, 10);
    out[10] = '\0';
    return KS_OK;
}

/* Valid UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF) without control
 * characters other than tab. */
static int text_ok(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        size_t k;
        unsigned cp, min;
        if ((c & 0xe0) == 0xc0)
            k = 1, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            k = 2, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            k = 3, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
            (cp >= 0x80 && cp < 0xa0))
            return 0;
        i += k + 1;
    }
    return 1;
}

int ks_incident_check(const struct ks_incident *inc, char *why, size_t whysize)
{
    char tmp[11];
    const char *msg = NULL;
    if (ks_incident_date_parse(inc->date, strnlen(inc->date, sizeof inc->date), tmp) != KS_OK)
        msg = "date is not YYYY-MM-DD (a real day, year 1900..9999)";
    else if (!ks_incident_cat_key(inc->cat))
        msg = "unknown category";
    else if (!inc->title || inc->title_len == 0)
        msg = "title is empty";
    else if (inc->title_len > KS_INCIDENT_MAX_TITLE)
        msg = "title is longer than 512 bytes";
    else if (!text_ok(inc->title, inc->title_len))
        msg = "title is not UTF-8 text without control characters";
    else if (inc->note_len > KS_INCIDENT_MAX_NOTE)
        msg = "note is longer than 8192 bytes";
    else if (inc->note_len > 0 && (!inc->note || !text_ok(inc->note, inc->note_len)))
        msg = "note is not UTF-8 text without control characters";
    if (why && whysize)
        snprintf(why, whysize, "%s", msg ? msg : "");
    return msg ? KS_EFORMAT : KS_OK;
}

static void put_entry(struct ks_ingest *ing, const struct ks_incident *inc)
{
    const char *key = ks_incident_cat_key(inc->cat);
    ks_store_row_begin(ing, KS_TBL_INCIDENTS);
    ks_store_put_text(ing, inc->date, strlen(inc->date));
    ks_store_put_text(ing, key, strlen(key));
    ks_store_put_text(ing, inc->title, inc->title_len);
    if (inc->note_len > 0)
        ks_store_put_text(ing, inc->note, inc->note_len);
    else
        ks_store_put_null(ing);
}

size_t ks_incident_csv_line(const struct ks_incident *inc, char *buf, size_t size)
{
    size_t n = 0;
#define OUT(c)                                                                                     \
    do {                                                                                           \
        if (n + 1 < size)                                                                          \
            buf[n] = (c);                                                                          \
        n++;                                                                                       \
    } while (0)
    const char *fields[4] = {inc->date, ks_incident_cat_key(inc->cat), inc->title, inc->note};
    size_t lens[4] = {strlen(inc->date), strlen(fields[1] ? fields[1] : ""), inc->title_len,
                      inc->note ? inc->note_len : 0};
    if (!fields[1])
        fields[1] = "";
    for (int f = 0; f < 4; f++) {
        if (f > 0)
            OUT(',');
        bool quote = false;
        for (size_t i = 0; i < lens[f]; i++)
            if (fields[f][i] == ',' || fields[f][i] == '"' || fields[f][i] == '\r' ||
                fields[f][i] == '\n')
                quote = true;
        if (quote)
            OUT('"');
        for (size_t i = 0; i < lens[f]; i++) {
            if (fields[f][i] == '"')
                OUT('"');
            OUT(fields[f][i]);
        }
        if (quote)
            OUT('"');
    }
    OUT('\n');
#undef OUT
    if (size)
        buf[n < size ? n : size - 1] = '\0';
    return n;
}

int ks_incident_add(struct ks_store *s, const struct ks_incident *inc)
{
    struct ks_ingest *ing = NULL;
    struct store_sha256 h = {0};
    struct ks_store_input in = {.name = "incident add", .kind = "incident"};
    char *line = NULL;
    int rc = ks_incident_check(inc, NULL, 0);
    if (rc != KS_OK)
        return rc;
    /* The entry's identity is its CSV line: the same entry added twice is one input. */
    size_t need = ks_incident_csv_line(inc, NULL, 0) + 1;
    if (!(line = malloc(need)))
        return KS_ENOMEM;
    ks_incident_csv_line(inc, line, need);
    if ((rc = store_sha256_init(&h)) != KS_OK)
        goto out;
    store_sha256_update(&h, line, need - 1);
    store_sha256_final(&h, in.sha256);
    in.size = need - 1;
    if ((rc = ks_store_input_begin(s, &in, 0, &ing)) != KS_OK)
        goto out;
    put_entry(ing, inc);
    rc = ks_store_row_end(ing);
    int rc2 = ks_store_input_end(ing, rc == KS_OK);
    if (rc == KS_OK)
        rc = rc2;
out:
    store_sha256_fini(&h);
    free(line);
    return rc;
}

/* --- CSV --------------------------------------------------------------------------------- */

#define CSV_FIELDS 4

struct csv_fields {
    const char *p[CSV_FIELDS];
    size_t n[CSV_FIELDS];
    unsigned count;
};

/* Splits one line (no break) into at most CSV_FIELDS fields; quoted fields are unquoted into
 * scratch (at least len bytes). Returns NULL, or what is wrong. */
static const char *csv_split(const char *line, size_t len, char *scratch, struct csv_fields *f)
{
    size_t i = 0, w = 0;
    f->count = 0;
    for (;;) {
        if (f->count == CSV_FIELDS)
            return "more than 4 fields (quote a field that holds a comma)";
        unsigned k = f->count++;
        if (i < len && line[i] == '"') {
            i++;
            f->p[k] = scratch + w;
            size_t start = w;
            for (;;) {
                if (i >= len)
                    return "a quoted field is not closed";
                if (line[i] == '"') {
                    if (i + 1 < len && line[i + 1] == '"') {
                        scratch[w++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                scratch[w++] = line[i++];
            }
            f->n[k] = w - start;
            if (i < len && line[i] != ',')
                return "text after a closing quote";
        } else {
            const char *c = memchr(line + i, ',', len - i);
            size_t e = c ? (size_t)(c - line) : len;
            f->p[k] = line + i;
            f->n[k] = e - i;
            if (memchr(line + i, '"', e - i))
                return "a quote inside an unquoted field";
            i = e;
        }
        if (i >= len)
            return NULL;
        i++; /* the comma */
    }
}

static bool is_header(const struct csv_fields *f)
{
    return f->count >= 3 && f->n[0] == 4 && memcmp(f->p[0], "date", 4) == 0 && f->n[1] == 8 &&
           memcmp(f->p[1], "category", 8) == 0;
}

int ks_incident_csv_parse(const char *buf, size_t len, const char *source,
                          const struct ks_diag *diag,
                          int (*fn)(void *user, const struct ks_incident *inc), void *user,
                          struct ks_incident_csv_stats *st)
{
    uint32_t reported = 0;
    char *scratch = malloc(KS_INCIDENT_MAX_LINE + 1);
    char why[128];
    size_t pos = 0;
    int rc = KS_OK;
    memset(st, 0, sizeof *st);
    if (!scratch)
        return KS_ENOMEM;
    /* A UTF-8 byte order mark, as spreadsheets write it. */
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        pos = 3;
    while (pos < len && rc == KS_OK) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        const char *line = buf + pos;
        size_t n = end - pos;
        struct ks_loc loc = {.source = source, .offset = pos};
        pos = nl ? end + 1 : len;
        st->lines++;
        loc.line = st->lines > UINT32_MAX ? 0 : (uint32_t)st->lines;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n == 0 || line[0] == '#')
            continue;
        const char *bad = NULL;
        struct csv_fields f;
        struct ks_incident inc = {.cat = -1};
        if (n > KS_INCIDENT_MAX_LINE) {
            bad = "line longer than 16384 bytes";
        } else if (!(bad = csv_split(line, n, scratch, &f))) {
            if (is_header(&f))
                continue;
            if (f.count < 3)
                bad = "fewer than 3 fields (date,category,title[,note])";
            else if (ks_incident_date_parse(f.p[0], f.n[0], inc.date) != KS_OK)
                bad = "date is not YYYY-MM-DD";
            else if (ks_incident_cat_parse(f.p[1], f.n[1], &inc.cat) != KS_OK)
                bad = "unknown category";
            else {
                inc.title = f.p[2];
                inc.title_len = f.n[2];
                inc.note = f.count > 3 ? f.p[3] : NULL;
                inc.note_len = f.count > 3 ? f.n[3] : 0;
                if (ks_incident_check(&inc, why, sizeof why) != KS_OK)
                    bad = why;
            }
        }
        if (bad) {
            st->bad++;
            ks_diag_report(diag, &reported, "incident", &loc, KS_EFORMAT, "%s, skipped", bad);
            continue;
        }
        st->entries++;
        rc = fn(user, &inc);
    }
    free(scratch);
    return rc;
}

struct import_ctx {
    struct ks_ingest *ing;
    int err;
};

static int import_one(void *user, const struct ks_incident *inc)
{
    struct import_ctx *c = user;
    put_entry(c->ing, inc);
    int rc = ks_store_row_end(c->ing);
    if (rc != KS_OK && rc != KS_EINVAL) {
        c->err = rc;
        return 1;
    }
    return 0;
}

int ks_incident_import_csv(struct ks_store *s, const char *path, unsigned flags,
                           const struct ks_diag *diag, struct ks_incident_csv_stats *st)
{
    struct ks_store_input in = {.name = path, .kind = "incident import"};
    struct import_ctx c = {0};
    struct store_sha256 h = {0};
    struct stat sb;
    char *buf = NULL;
    size_t got = 0;
    int fd = -1, rc;
    memset(st, 0, sizeof *st);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return KS_EIO;
    if (fstat(fd, &sb) != 0) {
        rc = KS_EIO;
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        errno = EINVAL;
        rc = KS_EIO;
        goto out;
    }
    if ((uint64_t)sb.st_size > CSV_MAX_FILE) {
        rc = KS_ELIMIT;
        goto out;
    }
    if (!(buf = malloc((size_t)sb.st_size + 1))) {
        rc = KS_ENOMEM;
        goto out;
    }
    while (got < (size_t)sb.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = KS_EIO;
            goto out;
        }
        got += (size_t)r;
    }
    /* The hash of exactly the bytes parsed: the input's identity is what was imported. */
    if ((rc = store_sha256_init(&h)) != KS_OK)
        goto out;
    store_sha256_update(&h, buf, got);
    store_sha256_final(&h, in.sha256);
    in.size = got;
    if ((rc = ks_store_input_begin(s, &in, flags, &c.ing)) != KS_OK)
        goto out;
    rc = ks_incident_csv_parse(buf, got, path, diag, import_one, &c, st);
    if (rc == 1)
        rc = c.err;
    int rc2 = ks_store_input_end(c.ing, rc == KS_OK);
    if (rc == KS_OK)
        rc = rc2;
out:
    store_sha256_fini(&h);
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

struct list_ctx {
    int (*fn)(void *user, const struct ks_incident *inc);
    void *user;
};

static int list_row(void *user, size_t ncols, const char *const *names,
                    const struct ks_store_value *v)
{
    struct list_ctx *c = user;
    struct ks_incident inc = {.cat = KS_INCIDENT_OTHER};
    (void)names;
    if (ncols < 4 || v[0].type != KS_TYPE_TEXT || v[1].type != KS_TYPE_TEXT ||
        v[2].type != KS_TYPE_TEXT)
        return 0;
    size_t dl = v[0].v.bytes.len < 10 ? v[0].v.bytes.len : 10;
    memcpy(inc.date, v[0].v.bytes.ptr, dl);
    inc.date[dl] = '\0';
    ks_incident_cat_parse(v[1].v.bytes.ptr, v[1].v.bytes.len, &inc.cat);
    inc.title = v[2].v.bytes.ptr;
    inc.title_len = v[2].v.bytes.len;
    if (v[3].type == KS_TYPE_TEXT) {
        inc.note = v[3].v.bytes.ptr;
        inc.note_len = v[3].v.bytes.len;
    }
    return c->fn(c->user, &inc);
}

int ks_incident_list(struct ks_store *s, const char *from, const char *to,
                     int (*fn)(void *user, const struct ks_incident *inc), void *user)
{
    /* Entries in Table 1's order within a day; the same entry imported by two inputs is
     * listed once. */
    static const char sql[] =
        "SELECT DISTINCT date, category, title, note FROM incidents"
        " JOIN inputs ON inputs.id = incidents.input_id AND inputs.status = 'complete'"
        " WHERE (?1 IS NULL OR date >= ?1) AND (?2 IS NULL OR date <= ?2)"
        " ORDER BY date, CASE category WHEN 'vulnerability' THEN 0 WHEN 'events' THEN 1"
        " WHEN 'history' THEN 2 WHEN 'security' THEN 3 ELSE 4 END, title, note";
    struct ks_store_value p[2] = {{.type = KS_TYPE_NULL}, {.type = KS_TYPE_NULL}};
    if (from) {
        p[0].type = KS_TYPE_TEXT;
        p[0].v.bytes.ptr = from;
        p[0].v.bytes.len = strlen(from);
    }
    if (to) {
        p[1].type = KS_TYPE_TEXT;
        p[1].v.bytes.ptr = to;
        p[1].v.bytes.len = strlen(to);
    }
    struct list_ctx c = {fn, user};
    return ks_store_query(s, sql, p, 2, list_row, &c);
}
