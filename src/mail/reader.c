/* Streaming mailbox reader: splits mbox files into messages, walks Maildirs and directories.
 *
 * One message is held at a time (at most max_message bytes); input is read in 1 MiB chunks
 * and processed line by line, a line longer than the chunk being handled in pieces, so a
 * 50 MB line costs no more memory than the message cap allows. mbox separators follow the
 * "From " convention of RFC 4155 (a line starting "From " after an empty line); separators
 * written by broken software (no empty line before, no date) are accepted when the next line
 * is a header field, and counted. */
#include "kansoku/ks_mail.h"
#include "mail_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1u << 20)
#define ENVELOPE_MAX 256
#define MAX_FILES_PENDING 1000000

void ks_mail_reader_config_default(struct ks_mail_reader_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_message = 32u << 20;
    cfg->mbox = KS_MAIL_MBOXRD;
    cfg->max_dir_depth = 8;
}

struct pathlist {
    char **v;
    size_t n, cap, next;
};

struct ks_mail_reader {
    struct ks_mail_reader_config cfg;
    const struct ks_diag *diag;
    uint32_t reported;
    struct ks_mail_reader_stats st;
    struct pathlist files;

    /* the open file */
    int fd;
    char *path;   /* of the open file */
    bool is_mbox; /* decided from the first line */
    bool eof;
    uint8_t *buf; /* read buffer */
    size_t bpos, blen;
    uint64_t boff; /* file offset of buf[0] */
    uint32_t line; /* line number of the next line start */
    bool mid_line; /* the previous piece ended without '\n' */
    bool prev_blank;
    bool first_line;

    /* the message being gathered */
    uint8_t *msg;
    size_t mlen, mcap;
    bool mover;      /* over the cap: only counted */
    uint64_t mbytes; /* bytes of the message, counted even when over */
    uint64_t moff;   /* offset of its first line (its From_ line for mbox) */
    uint32_t mline;
    uint64_t record;
    bool mstarted; /* a message is open (for mbox: after a From_ line) */
    char env[ENVELOPE_MAX];
    char next_env[ENVELOPE_MAX];

    /* a From_ line waiting for its next line to decide */
    bool cand;
    bool cand_weak;
    uint8_t cand_line[ENVELOPE_MAX + 8];
    size_t cand_len;
    uint64_t cand_off;
    uint32_t cand_lno;

    /* the message handed out (swapped with msg) */
    uint8_t *out;
    size_t ocap;
};

static void diag(struct ks_mail_reader *r, uint64_t off, uint32_t line, uint64_t record, int err,
                 const char *fmt, ...) KS_PRINTF(6, 7);
static void diag(struct ks_mail_reader *r, uint64_t off, uint32_t line, uint64_t record, int err,
                 const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct ks_loc loc = {.source = r->path, .offset = off, .line = line, .record = record};
    ks_diag_report(r->diag, &r->reported, "mail", &loc, err, "%s", msg);
}

static int pl_push(struct pathlist *pl, const char *p)
{
    if (pl->n >= MAX_FILES_PENDING)
        return KS_ELIMIT;
    if (pl->n == pl->cap) {
        size_t nc = pl->cap ? pl->cap * 2 : 16;
        char **nv = realloc(pl->v, nc * sizeof *nv);
        if (!nv)
            return KS_ENOMEM;
        pl->v = nv;
        pl->cap = nc;
    }
    pl->v[pl->n] = strdup(p);
    if (!pl->v[pl->n])
        return KS_ENOMEM;
    pl->n++;
    return KS_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the regular files under dir (sorted, hidden names skipped; Maildir's tmp/ skipped). */
static int walk_dir(struct ks_mail_reader *r, const char *dir, uint32_t depth)
{
    if (depth > r->cfg.max_dir_depth)
        return KS_OK;
    DIR *d = opendir(dir);
    if (!d) {
        r->st.unreadable++;
        diag(r, 0, 0, 0, KS_EIO, "cannot read directory %s", dir);
        return KS_OK;
    }
    struct pathlist names = {0};
    struct dirent *e;
    int rc = KS_OK;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (strcmp(e->d_name, "tmp") == 0)
            continue; /* Maildir: messages being delivered */
        if ((rc = pl_push(&names, e->d_name)) != KS_OK)
            break;
    }
    closedir(d);
    if (names.n)
        qsort(names.v, names.n, sizeof names.v[0], cmp_str);
    for (size_t i = 0; i < names.n && rc == KS_OK; i++) {
        size_t need = strlen(dir) + strlen(names.v[i]) + 2;
        char *p = malloc(need);
        if (!p) {
            rc = KS_ENOMEM;
            break;
        }
        snprintf(p, need, "%s/%s", dir, names.v[i]);
        struct stat sb;
        if (stat(p, &sb) != 0) {
            r->st.unreadable++;
        } else if (S_ISDIR(sb.st_mode)) {
            rc = walk_dir(r, p, depth + 1);
        } else if (S_ISREG(sb.st_mode)) {
            rc = pl_push(&r->files, p);
        }
        free(p);
    }
    for (size_t i = 0; i < names.n; i++)
        free(names.v[i]);
    free(names.v);
    return rc;
}

int ks_mail_reader_open(const char *path, const struct ks_mail_reader_config *cfg,
                        const struct ks_diag *dg, struct ks_mail_reader **rp)
{
    *rp = NULL;
    struct ks_mail_reader *r = calloc(1, sizeof *r);
    int rc = KS_ENOMEM;
    if (!r)
        return KS_ENOMEM;
    if (cfg)
        r->cfg = *cfg;
    else
        ks_mail_reader_config_default(&r->cfg);
    if (r->cfg.max_message == 0)
        r->cfg.max_message = 32u << 20;
    r->diag = dg;
    r->fd = -1;
    r->buf = malloc(CHUNK);
    if (!r->buf)
        goto out;
    if (strcmp(path, "-") == 0) {
        rc = pl_push(&r->files, "-");
    } else {
        struct stat sb;
        if (stat(path, &sb) != 0) {
            rc = KS_EIO;
            goto out;
        }
        rc = S_ISDIR(sb.st_mode) ? walk_dir(r, path, 0) : pl_push(&r->files, path);
    }
    if (rc != KS_OK)
        goto out;
    *rp = r;
    return KS_OK;
out:
    ks_mail_reader_free(r);
    return rc;
}

void ks_mail_reader_free(struct ks_mail_reader *r)
{
    if (!r)
        return;
    if (r->fd > 0)
        close(r->fd);
    for (size_t i = 0; i < r->files.n; i++)
        free(r->files.v[i]);
    free(r->files.v);
    free(r->buf);
    free(r->msg);
    free(r->out);
    free(r);
}

void ks_mail_reader_stats(const struct ks_mail_reader *r, struct ks_mail_reader_stats *st)
{
    *st = r->st;
}

/* --- the open file ----------------------------------------------------------------------- */

static bool open_next_file(struct ks_mail_reader *r)
{
    while (r->files.next < r->files.n) {
        r->path = r->files.v[r->files.next++];
        if (strcmp(r->path, "-") == 0) {
            r->fd = dup(STDIN_FILENO);
        } else {
            r->fd = open(r->path, O_RDONLY | O_CLOEXEC);
        }
        if (r->fd < 0) {
            r->st.unreadable++;
            diag(r, 0, 0, 0, KS_EIO, "cannot open: %s", strerror(errno));
            continue;
        }
#ifdef POSIX_FADV_SEQUENTIAL
        (void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
        r->st.files++;
        r->eof = false;
        r->bpos = r->blen = 0;
        r->boff = 0;
        r->line = 1;
        r->mid_line = false;
        r->prev_blank = true;
        r->first_line = true;
        r->is_mbox = false;
        r->mlen = 0;
        r->mover = false;
        r->mbytes = 0;
        r->moff = 0;
        r->mline = 1;
        r->record = 0;
        r->mstarted = false;
        r->cand = false;
        r->env[0] = r->next_env[0] = '\0';
        return true;
    }
    return false;
}

static void close_file(struct ks_mail_reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

/* Fills the buffer: moves what is left to the front and reads. false at end of file. */
static bool fill(struct ks_mail_reader *r)
{
    if (r->eof)
        return false;
    if (r->bpos > 0) {
        memmove(r->buf, r->buf + r->bpos, r->blen - r->bpos);
        r->boff += r->bpos;
        r->blen -= r->bpos;
        r->bpos = 0;
    }
    while (r->blen < CHUNK) {
        ssize_t n = read(r->fd, r->buf + r->blen, CHUNK - r->blen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r->st.unreadable++;
            diag(r, r->boff + r->blen, 0, 0, KS_EIO, "read failed: %s", strerror(errno));
            r->eof = true;
            break;
        }
        if (n == 0) {
            r->eof = true;
            break;
        }
        r->blen += (size_t)n;
        r->st.bytes += (uint64_t)n;
        break; /* process what we have; pipes give short reads */
    }
    return true;
}

static int msg_append(struct ks_mail_reader *r, const uint8_t *p, size_t n)
{
    r->mbytes += n;
    if (r->mover)
        return KS_OK;
    if (r->mlen + n > r->cfg.max_message) {
        r->mover = true;
        return KS_OK;
    }
    if (r->mlen + n > r->mcap) {
        size_t nc = r->mcap ? r->mcap : 65536;
        while (nc < r->mlen + n)
            nc *= 2;
        if (nc > r->cfg.max_message + 1)
            nc = (size_t)r->cfg.max_message + 1;
        uint8_t *nm = realloc(r->msg, nc);
        if (!nm)
            return KS_ENOMEM;
        r->msg = nm;
        r->mcap = nc;
    }
    memcpy(r->msg + r->mlen, p, n);
    r->mlen += n;
    return KS_OK;
}

/* "Name:" with a field name of printable ASCII but ':' (RFC 5322 2.2). */
static bool is_header_line(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] > 32 && p[i] < 127 && p[i] != ':')
        i++;
    return i > 0 && i < n && p[i] == ':';
}

/* The asctime()-like date of a From_ line: a "hh:mm" and a 4-digit year, loosely. */
static bool from_has_date(const uint8_t *p, size_t n)
{
    bool clock = false, year = false;
    for (size_t i = 0; i < n; i++) {
        if (i + 3 < n && mail_isdigit(p[i]) && p[i + 1] == ':' && mail_isdigit(p[i + 2]) &&
            mail_isdigit(p[i + 3]))
            clock = true;
        if (i + 3 < n && (i == 0 || !mail_isdigit(p[i - 1])) && mail_isdigit(p[i]) &&
            mail_isdigit(p[i + 1]) && mail_isdigit(p[i + 2]) && mail_isdigit(p[i + 3]) &&
            (i + 4 == n || !mail_isdigit(p[i + 4])) && (p[i] == '1' || p[i] == '2'))
            year = true;
    }
    return clock && year;
}

static void set_env(char *dst, const uint8_t *p, size_t n)
{
    /* after "From " */
    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    size_t k = n > 5 ? n - 5 : 0;
    if (k >= ENVELOPE_MAX)
        k = ENVELOPE_MAX - 1;
    for (size_t i = 0; i < k; i++)
        dst[i] = (p[5 + i] >= 32 && p[5 + i] < 127) ? (char)p[5 + i] : '?';
    dst[k] = '\0';
}

/* The gathered message is finished: hands it out (true) or drops it (false). */
static bool finish_msg(struct ks_mail_reader *r, struct ks_mail_raw *m)
{
    bool give = false;
    r->record++;
    if (r->mover) {
        r->st.oversized++;
        diag(r, r->moff, r->mline, r->record, KS_ELIMIT,
             "message of %llu bytes exceeds the limit of %llu: skipped",
             (unsigned long long)r->mbytes, (unsigned long long)r->cfg.max_message);
    } else if (r->mlen == 0 || (r->mlen <= 2 && (r->msg[0] == '\n' || r->msg[0] == '\r'))) {
        r->st.empty++;
        diag(r, r->moff, r->mline, r->record, KS_EFORMAT, "empty message skipped");
    } else {
        /* hand out: swap buffers so that the next message gathers into the other one */
        uint8_t *t = r->out;
        size_t tc = r->ocap;
        r->out = r->msg;
        r->ocap = r->mcap;
        r->msg = t;
        r->mcap = tc;
        /* mbox: the empty line before the next From_ belongs to the separator (RFC 4155) */
        size_t len = r->mlen;
        if (r->is_mbox && len > 0 && r->out[len - 1] == '\n') {
            size_t l2 = len - 1;
            if (l2 > 0 && r->out[l2 - 1] == '\r')
                l2--;
            if (l2 > 0 && r->out[l2 - 1] == '\n')
                len = l2;
        }
        m->data = r->out;
        m->len = len;
        m->loc.source = r->path;
        m->loc.offset = r->moff;
        m->loc.line = r->mline;
        m->loc.record = r->record;
        m->loc.packet = 0;
        memcpy(r->env, r->next_env, sizeof r->env);
        m->envelope = r->env;
        r->st.messages++;
        give = true;
    }
    r->mlen = 0;
    r->mover = false;
    r->mbytes = 0;
    return give;
}

static void start_msg(struct ks_mail_reader *r, uint64_t off, uint32_t line, const uint8_t *from,
                      size_t flen)
{
    r->moff = off;
    r->mline = line;
    r->mstarted = true;
    if (from)
        set_env(r->next_env, from, flen);
    else
        r->next_env[0] = '\0';
}

/* mboxrd: ">From " with one or more '>' loses one; mboxo: only ">From ". */
static size_t unquote_skip(const struct ks_mail_reader *r, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] == '>')
        i++;
    if (i == 0 || n - i < 5 || memcmp(p + i, "From ", 5) != 0)
        return 0;
    if (r->cfg.mbox == KS_MAIL_MBOXO && i != 1)
        return 0;
    return 1;
}

/* Handles one complete line (with its terminator) or a piece of a long line. Returns 1 when
 * a message was finished and handed out in m. */
static int on_line(struct ks_mail_reader *r, const uint8_t *p, size_t n, bool complete,
                   uint64_t off, struct ks_mail_raw *m, int *err)
{
    bool line_start = !r->mid_line;
    r->mid_line = !complete;
    int got = 0;
    if (!line_start) {
        *err = msg_append(r, p, n);
        return 0;
    }
    uint32_t lno = r->line;
    if (r->first_line) {
        r->first_line = false;
        r->is_mbox = n >= 5 && memcmp(p, "From ", 5) == 0;
        if (r->is_mbox) {
            start_msg(r, off, lno, p, n);
            r->prev_blank = false;
            return 0;
        }
        start_msg(r, off, lno, NULL, 0);
    }
    if (r->cand) {
        /* decide the waiting From_ line by this one */
        r->cand = false;
        if (is_header_line(p, n)) {
            if (r->mstarted && r->mlen + r->mbytes > 0)
                got = finish_msg(r, m) ? 1 : 0;
            r->st.broken_from++;
            diag(r, r->cand_off, r->cand_lno, r->record + 1, KS_EFORMAT,
                 "broken From_ separator accepted");
            start_msg(r, r->cand_off, r->cand_lno, r->cand_line, r->cand_len);
        } else {
            *err = msg_append(r, r->cand_line, r->cand_len);
        }
    }
    bool blank = (n == 1 && p[0] == '\n') || (n == 2 && p[0] == '\r' && p[1] == '\n');
    if (r->is_mbox && n >= 5 && memcmp(p, "From ", 5) == 0) {
        size_t body = n;
        while (body > 0 && (p[body - 1] == '\n' || p[body - 1] == '\r'))
            body--;
        bool dated = from_has_date(p, body);
        if (r->prev_blank && dated && complete) {
            if (r->mlen + r->mbytes > 0 && !got)
                got = finish_msg(r, m) ? 1 : 0;
            else if (r->mlen + r->mbytes > 0) {
                /* a candidate was just confirmed and handed out: this message is empty */
                r->record++;
                r->st.empty++;
                r->mlen = 0;
                r->mbytes = 0;
            }
            start_msg(r, off, lno, p, body);
            r->prev_blank = false;
            return got;
        }
        /* the sender of a From_ line is an address (or MAILER-DAEMON), prose rarely is */
        const uint8_t *sp = memchr(p + 5, ' ', body - 5);
        size_t wl = sp ? (size_t)(sp - p) - 5 : body - 5;
        bool addr =
            memchr(p + 5, '@', wl) != NULL || (wl == 13 && memcmp(p + 5, "MAILER-DAEMON", 13) == 0);
        if ((r->prev_blank || dated || addr) && complete && n <= ENVELOPE_MAX && !got) {
            r->cand = true;
            memcpy(r->cand_line, p, n);
            r->cand_len = n;
            r->cand_off = off;
            r->cand_lno = lno;
            r->prev_blank = false;
            return 0;
        }
    }
    size_t q = r->is_mbox ? unquote_skip(r, p, n) : 0;
    *err = msg_append(r, p + q, n - q);
    r->prev_blank = blank;
    return got;
}

int ks_mail_reader_next(struct ks_mail_reader *r, struct ks_mail_raw *m)
{
    memset(m, 0, sizeof *m);
    for (;;) {
        if (r->fd < 0) {
            if (!open_next_file(r))
                return KS_ENOTFOUND;
        }
        /* process complete lines in the buffer */
        while (r->bpos < r->blen) {
            const uint8_t *p = r->buf + r->bpos;
            size_t left = r->blen - r->bpos;
            const uint8_t *nl = memchr(p, '\n', left);
            size_t n;
            bool complete;
            if (nl) {
                n = (size_t)(nl - p) + 1;
                complete = true;
            } else if (r->eof || left >= CHUNK / 2) {
                /* a long line (or the last one): take it in pieces */
                n = left;
                complete = r->eof;
            } else {
                break; /* read more first */
            }
            uint64_t off = r->boff + r->bpos;
            int err = KS_OK;
            int got = on_line(r, p, n, complete && nl != NULL, off, m, &err);
            if (complete && nl)
                r->line++;
            else if (!nl && r->eof)
                r->mid_line = false;
            r->bpos += n;
            if (err != KS_OK)
                return err;
            if (got)
                return KS_OK;
        }
        if (fill(r))
            continue;
        /* end of file: the waiting From_ line is body, the last message is finished */
        if (r->cand) {
            r->cand = false;
            int err = msg_append(r, r->cand_line, r->cand_len);
            if (err != KS_OK)
                return err;
        }
        bool any = r->mstarted && (r->mlen + r->mbytes > 0 || r->is_mbox);
        if (r->st.files > 0 && !r->is_mbox && r->mlen > 0 && !is_header_line(r->msg, r->mlen) &&
            !(r->mlen >= 5 && memcmp(r->msg, "From ", 5) == 0)) {
            r->st.not_mail++;
            diag(r, 0, 1, 0, KS_EFORMAT, "not a mailbox or message: skipped");
            r->mlen = 0;
            r->mbytes = 0;
            any = false;
        }
        r->mstarted = false;
        close_file(r);
        if (any && finish_msg(r, m))
            return KS_OK;
    }
}
