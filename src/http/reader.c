/* Bounded line reader for logs: lines of at most max_line bytes, longer ones counted and
 * skipped (or truncated), binary garbage counted and skipped, each reported with file:line. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kansoku/ks_http.h"

#define MIN_BUF (1u << 20)

struct ks_http_reader {
    int fd;
    bool own;
    uint8_t *buf;
    size_t cap, start, end;
    bool eof, skipping, truncate;
    uint32_t max_line;
    uint64_t offset; /* of buf[start] in the input */
    uint32_t line;   /* number of the line starting at buf[start] */
    const struct ks_diag *diag;
    uint32_t reported;
    char *name;
    struct ks_http_reader_stats st;
};

/* Control bytes other than TAB (and DEL) mark a line as binary garbage: web servers escape
 * them (Apache writes \xHH), so they come from a damaged file or another format. */
static const uint8_t ctl[256] = {
    [0] = 1,  [1] = 1,  [2] = 1,  [3] = 1,  [4] = 1,  [5] = 1,  [6] = 1,  [7] = 1,
    [8] = 1,  [10] = 1, [11] = 1, [12] = 1, [13] = 1, [14] = 1, [15] = 1, [16] = 1,
    [17] = 1, [18] = 1, [19] = 1, [20] = 1, [21] = 1, [22] = 1, [23] = 1, [24] = 1,
    [25] = 1, [26] = 1, [27] = 1, [28] = 1, [29] = 1, [30] = 1, [31] = 1, [127] = 1,
};

int ks_http_reader_open(const char *path, uint32_t max_line, bool truncate,
                        const struct ks_diag *diag, struct ks_http_reader **rp)
{
    *rp = NULL;
    struct ks_http_reader *r = calloc(1, sizeof *r);
    if (!r)
        return KS_ENOMEM;
    r->max_line = max_line ? max_line : MIN_BUF;
    r->truncate = truncate;
    r->diag = diag;
    r->line = 1;
    r->cap = (size_t)r->max_line + 1 < MIN_BUF ? MIN_BUF : (size_t)r->max_line + 65536;
    r->buf = malloc(r->cap);
    r->name = strdup(path);
    if (!r->buf || !r->name) {
        ks_http_reader_free(r);
        return KS_ENOMEM;
    }
    if (strcmp(path, "-") == 0) {
        r->fd = STDIN_FILENO;
    } else {
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0) {
            int e = errno;
            r->fd = -1;
            ks_http_reader_free(r);
            errno = e;
            return KS_EIO;
        }
        r->own = true;
    }
    *rp = r;
    return KS_OK;
}

void ks_http_reader_free(struct ks_http_reader *r)
{
    if (!r)
        return;
    if (r->own && r->fd >= 0)
        close(r->fd);
    free(r->buf);
    free(r->name);
    free(r);
}

void ks_http_reader_stats(const struct ks_http_reader *r, struct ks_http_reader_stats *st)
{
    *st = r->st;
}

static int fill(struct ks_http_reader *r)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    for (;;) {
        ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return KS_EIO;
        if (n == 0)
            r->eof = true;
        r->end += (size_t)n;
        r->st.bytes += (uint64_t)n;
        return KS_OK;
    }
}

int ks_http_reader_next(struct ks_http_reader *r, const uint8_t **line, size_t *len,
                        struct ks_loc *loc)
{
    for (;;) {
        size_t avail = r->end - r->start;
        uint8_t *p = r->buf + r->start;
        uint8_t *nl = avail ? memchr(p, '\n', avail) : NULL;
        size_t n;
        bool last = false;
        if (!nl) {
            if (avail > r->max_line || (r->skipping && avail)) {
                /* a line longer than max_line: report once, then hand out its head or skip */
                bool first = !r->skipping;
                uint64_t off = r->offset;
                uint32_t no = r->line;
                r->offset += avail;
                r->start = r->end;
                r->skipping = true;
                if (first) {
                    r->st.long_lines++;
                    struct ks_loc l = {.source = r->name, .line = no, .offset = off};
                    ks_diag_report(r->diag, &r->reported, "http", &l, KS_ELIMIT,
                                   "line longer than %u bytes %s", r->max_line,
                                   r->truncate ? "(truncated)" : "(skipped)");
                    if (r->truncate) {
                        r->st.lines++;
                        *line = p;
                        *len = r->max_line;
                        *loc = (struct ks_loc){.source = r->name, .line = no, .offset = off};
                        return 1;
                    }
                }
                continue;
            }
            if (!r->eof) {
                if (fill(r))
                    return KS_EIO;
                continue;
            }
            if (!avail)
                return 0;
            n = avail;
            last = true;
        } else {
            n = (size_t)(nl - p);
        }
        uint64_t off = r->offset;
        uint32_t no = r->line;
        size_t adv = last ? n : n + 1;
        r->start += adv;
        r->offset += adv;
        r->line++;
        if (r->skipping) { /* the tail of a long line */
            r->skipping = false;
            continue;
        }
        if (n > r->max_line) {
            r->st.long_lines++;
            struct ks_loc l = {.source = r->name, .line = no, .offset = off};
            ks_diag_report(r->diag, &r->reported, "http", &l, KS_ELIMIT,
                           "line longer than %u bytes %s", r->max_line,
                           r->truncate ? "(truncated)" : "(skipped)");
            if (!r->truncate)
                continue;
            n = r->max_line;
        }
        if (n && p[n - 1] == '\r')
            n--;
        if (!n) {
            r->st.empty++;
            continue;
        }
        bool bin = false;
        for (size_t i = 0; i < n; i++)
            if (ctl[p[i]]) {
                bin = true;
                break;
            }
        if (bin) {
            r->st.binary++;
            struct ks_loc l = {.source = r->name, .line = no, .offset = off};
            ks_diag_report(r->diag, &r->reported, "http", &l, KS_EFORMAT,
                           "binary garbage (control bytes) skipped");
            continue;
        }
        r->st.lines++;
        *line = p;
        *len = n;
        *loc = (struct ks_loc){.source = r->name, .line = no, .offset = off};
        return 1;
    }
}
