/* CSV import into a data table: RFC 4180 fields, one input per file, bad lines counted and
 * skipped. */
#include "csv.h"
#include "schema.h"
#include "sha256.h"
#include "store_int.h"

#include "kansoku/ks_time.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int why_fail(char *why, size_t whysize, unsigned col, const struct ks_store_column *c,
                    const char *msg)
{
    snprintf(why, whysize, "column %u (%s): %s", col + 1, c->name, msg);
    return KS_EFORMAT;
}

static bool parse_i64(const char *p, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    uint64_t v = 0;
    if (n > 0 && (p[0] == '-' || p[0] == '+')) {
        neg = p[0] == '-';
        i = 1;
    }
    if (i == n)
        return false;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Converts the text of field `col` into vals[col]. */
static int convert(const struct ks_store_column *c, unsigned col, const char *p, size_t n,
                   struct ks_store_value *v, char **scr, char *end, char *why, size_t whysize)
{
    char num[64];
    if (n == 0 && (c->flags & KS_COL_NULLABLE)) {
        v->type = KS_TYPE_NULL;
        return KS_OK;
    }
    v->type = c->type;
    switch (c->type) {
    case KS_TYPE_I64:
        if (!parse_i64(p, n, &v->v.i64))
            return why_fail(why, whysize, col, c, "not an integer");
        return KS_OK;
    case KS_TYPE_U64:
        if (!parse_i64(p, n, &v->v.i64) || v->v.i64 < 0)
            return why_fail(why, whysize, col, c, "not an integer from 0 to 2^63-1");
        return KS_OK;
    case KS_TYPE_TIME:
        if (parse_i64(p, n, &v->v.i64))
            return KS_OK;
        if (ks_time_parse(p, n, &v->v.i64) != KS_OK)
            return why_fail(why, whysize, col, c,
                            "not a time (µs since 1970 or RFC 3339, e.g. 2008-06-01T12:00:00Z)");
        return KS_OK;
    case KS_TYPE_F64: {
        if (n == 0 || n >= sizeof num)
            return why_fail(why, whysize, col, c, "not a number");
        memcpy(num, p, n);
        num[n] = '\0';
        char *e = NULL;
        errno = 0;
        double d = strtod(num, &e);
        /* strtod also takes hex floats, inf and nan: only finite decimal numbers here. */
        if (e != num + n || !isfinite(d) || strpbrk(num, "xXnN"))
            return why_fail(why, whysize, col, c, "not a finite decimal number");
        v->v.f64 = d;
        return KS_OK;
    }
    case KS_TYPE_ADDR: {
        struct ks_addr a;
        if (ks_addr_parse(p, n, &a) != KS_OK)
            return why_fail(why, whysize, col, c, "not an IPv4 or IPv6 address");
        if (end - *scr < 48)
            return why_fail(why, whysize, col, c, "line too long");
        v->v.bytes.len = ks_addr_format(&a, *scr, 48);
        v->v.bytes.ptr = *scr;
        *scr += 48;
        return KS_OK;
    }
    case KS_TYPE_BLOB: {
        if (n % 2 || (size_t)(end - *scr) < n / 2)
            return why_fail(why, whysize, col, c, "not an even number of hex digits");
        unsigned char *o = (unsigned char *)*scr;
        for (size_t i = 0; i < n; i += 2) {
            int hi = hexval(p[i]), lo = hexval(p[i + 1]);
            if (hi < 0 || lo < 0)
                return why_fail(why, whysize, col, c, "not hex digits");
            o[i / 2] = (unsigned char)(hi << 4 | lo);
        }
        v->v.bytes.ptr = o;
        v->v.bytes.len = n / 2;
        *scr += n / 2;
        return KS_OK;
    }
    default:
        v->v.bytes.ptr = p;
        v->v.bytes.len = n;
        return KS_OK;
    }
}

int store_csv_parse_line(const struct ks_store_table *t, const char *line, size_t len,
                         struct ks_store_value *vals, char *scratch, size_t scratch_size, char *why,
                         size_t whysize)
{
    size_t i = 0;
    unsigned col = 0;
    char *scr = scratch, *end = scratch + scratch_size;
    why[0] = '\0';
    for (;;) {
        const char *p;
        size_t n;
        if (col >= t->ncols) {
            snprintf(why, whysize, "more than %u fields", t->ncols);
            return KS_EFORMAT;
        }
        if (i < len && line[i] == '"') {
            /* RFC 4180 2.5-2.7: quoted, with "" for a quote; copied to scratch. */
            char *o = scr;
            i++;
            for (;;) {
                if (i >= len)
                    return why_fail(why, whysize, col, &t->cols[col], "unterminated quote");
                if (line[i] == '"') {
                    if (i + 1 < len && line[i + 1] == '"') {
                        i += 2;
                        if (o >= end)
                            return why_fail(why, whysize, col, &t->cols[col], "too long");
                        *o++ = '"';
                        continue;
                    }
                    i++;
                    break;
                }
                if (o >= end)
                    return why_fail(why, whysize, col, &t->cols[col], "too long");
                *o++ = line[i++];
            }
            if (i < len && line[i] != ',')
                return why_fail(why, whysize, col, &t->cols[col], "text after a closing quote");
            p = scr;
            n = (size_t)(o - scr);
            scr = o;
        } else {
            size_t j = i;
            while (j < len && line[j] != ',') {
                if (line[j] == '"')
                    return why_fail(why, whysize, col, &t->cols[col],
                                    "quote inside an unquoted field");
                j++;
            }
            p = line + i;
            n = j - i;
            i = j;
        }
        int rc = convert(&t->cols[col], col, p, n, &vals[col], &scr, end, why, whysize);
        if (rc != KS_OK)
            return rc;
        col++;
        if (i >= len)
            break;
        i++; /* the comma */
        if (i == len && col < t->ncols) {
            /* a trailing comma: one more, empty field */
            rc = convert(&t->cols[col], col, line + i, 0, &vals[col], &scr, end, why, whysize);
            if (rc != KS_OK)
                return rc;
            col++;
            break;
        }
        if (i == len) {
            snprintf(why, whysize, "more than %u fields", t->ncols);
            return KS_EFORMAT;
        }
    }
    if (col != t->ncols) {
        snprintf(why, whysize, "%u fields, expected %u (%s, ...)", col, t->ncols, t->cols[0].name);
        return KS_EFORMAT;
    }
    return KS_OK;
}

int store_csv_is_header(const struct ks_store_table *t, const char *line, size_t len)
{
    size_t i = 0;
    for (unsigned c = 0; c < t->ncols; c++) {
        size_t n = strlen(t->cols[c].name);
        if (c > 0) {
            if (i >= len || line[i] != ',')
                return 0;
            i++;
        }
        if (len - i < n || memcmp(line + i, t->cols[c].name, n) != 0)
            return 0;
        i += n;
    }
    return i == len;
}

struct importer {
    struct ks_store *s;
    struct ks_ingest *ing;
    const struct ks_store_table *t;
    int table;
    const char *path;
    const struct ks_diag *diag;
    uint32_t reported;
    struct ks_store_import_stats *st;
    struct ks_store_value vals[KS_STORE_MAX_COLS];
    char *scratch;
    char why[256];
};

/* One line without its break. Returns a store error (stop) or KS_OK. */
static int import_line(struct importer *im, const char *line, size_t len, bool too_long)
{
    struct ks_loc loc = {.source = im->path, .line = (uint32_t)im->st->lines};
    im->st->lines++;
    loc.line = im->st->lines > UINT32_MAX ? 0 : (uint32_t)im->st->lines;
    if (too_long) {
        im->st->bad_lines++;
        ks_diag_report(im->diag, &im->reported, "db", &loc, KS_EFORMAT,
                       "line longer than %u bytes, skipped", KS_STORE_CSV_MAX_LINE);
        return KS_OK;
    }
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return KS_OK; /* blank lines carry nothing */
    if (im->st->lines == 1 && store_csv_is_header(im->t, line, len))
        return KS_OK;
    if (store_csv_parse_line(im->t, line, len, im->vals, im->scratch, KS_STORE_CSV_SCRATCH, im->why,
                             sizeof im->why) != KS_OK) {
        im->st->bad_lines++;
        ks_diag_report(im->diag, &im->reported, "db", &loc, KS_EFORMAT, "%s, skipped", im->why);
        return KS_OK;
    }
    int rc = ks_store_put_row(im->ing, im->table, im->vals, im->t->ncols);
    if (rc == KS_EINVAL) {
        im->st->bad_lines++;
        ks_diag_report(im->diag, &im->reported, "db", &loc, KS_EFORMAT, "%s, skipped",
                       ks_store_errmsg(im->s));
        return KS_OK;
    }
    if (rc == KS_OK)
        im->st->rows++;
    return rc;
}

int ks_store_import_csv(struct ks_store *s, const char *path, int table_id, unsigned flags,
                        const struct ks_diag *diag,
                        void (*progress)(void *user, uint64_t bytes, uint64_t total), void *user,
                        struct ks_store_import_stats *st)
{
    struct importer im = {.s = s, .table = table_id, .path = path, .diag = diag, .st = st};
    struct store_sha256 h = {0};
    struct ks_store_input in = {.name = path, .kind = "db import"};
    char *buf = NULL, *line = NULL, hex[65];
    size_t llen = 0;
    bool too_long = false;
    int fd = -1, rc;
    memset(st, 0, sizeof *st);
    im.t = ks_store_table(table_id);
    if (!im.t || (im.t->flags & KS_TABLE_SYSTEM))
        return store_fail(s, KS_EINVAL, "table %d cannot be imported into", table_id);
    if (strcmp(path, "-") == 0)
        return store_fail(s, KS_EINVAL,
                          "-: db import reads a file, not standard input (its SHA-256 is "
                          "needed before the first row): save it to a file first");
    rc = ks_store_hash_file(path, in.sha256, &in.size);
    if (rc == KS_EINVAL)
        return store_fail(s, KS_EINVAL, "%s: not a regular file", path);
    if (rc == KS_ENOMEM)
        return store_fail(s, rc, "out of memory");
    if (rc != KS_OK)
        return store_fail(s, KS_EIO, "%s: cannot read (%s): check the path and permissions", path,
                          strerror(errno));
    st->size = in.size;
    buf = malloc(1 << 20);
    line = malloc(KS_STORE_CSV_MAX_LINE);
    im.scratch = malloc(KS_STORE_CSV_SCRATCH);
    if (!buf || !line || !im.scratch || store_sha256_init(&h) != KS_OK) {
        rc = store_fail(s, KS_ENOMEM, "out of memory");
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = store_fail(s, KS_EIO, "%s: cannot read (%s)", path, strerror(errno));
        goto out;
    }
    if ((rc = ks_store_input_begin(s, &in, flags, &im.ing)) != KS_OK)
        goto out;
    st->input_id = s->active_input;
    for (;;) {
        ssize_t n = read(fd, buf, 1 << 20);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = store_fail(s, KS_EIO, "%s: read error at offset %" PRIu64 " (%s)", path, st->bytes,
                            strerror(errno));
            break;
        }
        if (n == 0)
            break;
        store_sha256_update(&h, buf, (size_t)n);
        st->bytes += (uint64_t)n;
        const char *p = buf, *e = buf + n;
        while (p < e && rc == KS_OK) {
            const char *nl = memchr(p, '\n', (size_t)(e - p));
            const char *stop = nl ? nl : e;
            size_t k = (size_t)(stop - p);
            if (nl && llen == 0 && !too_long) {
                rc = import_line(&im, p, k, false); /* whole line in the buffer: no copy */
            } else {
                if (!too_long && llen + k <= KS_STORE_CSV_MAX_LINE) {
                    memcpy(line + llen, p, k);
                    llen += k;
                } else {
                    too_long = true;
                }
                if (nl) {
                    rc = import_line(&im, line, llen, too_long);
                    llen = 0;
                    too_long = false;
                }
            }
            p = nl ? nl + 1 : e;
        }
        if (rc != KS_OK)
            break;
        if (progress)
            progress(user, st->bytes, st->size);
    }
    if (rc == KS_OK && (llen > 0 || too_long))
        rc = import_line(&im, line, llen, too_long);
    if (rc == KS_OK) {
        store_sha256_final(&h, hex);
        if (st->bytes != in.size || strcmp(hex, in.sha256) != 0)
            rc = store_fail(s, KS_EFORMAT,
                            "%s: the file changed while being read: import it again when it "
                            "is complete",
                            path);
    }
    if (rc == KS_OK) {
        rc = ks_store_input_end(im.ing, true);
    } else {
        char keep[sizeof s->err];
        memcpy(keep, s->err, sizeof keep);
        ks_store_input_end(im.ing, false);
        memcpy(s->err, keep, sizeof keep);
    }
    im.ing = NULL;
out:
    store_sha256_fini(&h);
    if (fd >= 0)
        close(fd);
    free(buf);
    free(line);
    free(im.scratch);
    return rc;
}
