/* Reading packets: classic pcap directly, pcapng and live interfaces through libpcap.
 *
 * Classic pcap is read here rather than by libpcap because a truncated file must be reported
 * with the byte offset of the record that is cut short, and pcap_next_ex() only says "truncated
 * dump file"; reading the 24-byte header and 16-byte record headers ourselves also avoids a copy
 * and a callback per packet. pcapng (blocks of many kinds, several interfaces, options) is left
 * to libpcap, fed through a stdio stream whose reads we count, so a cut block is located too. */
#include "kansoku/ks_capture.h"

#include "capture/fast.h"
#include "core/cur.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_SIZE (4u << 20)
#define READ_CHUNK (128u << 10)
#define MAX_RECORD (256u << 10) /* libpcap's largest snapshot length */

enum fmt { FMT_PCAP, FMT_PCAPNG };

struct src {
    char *name;
    bool is_stdin;
    enum fmt fmt;
    int64_t first_ts; /* for ordering; INT64_MAX if the file has no packet */
};

struct ks_capture {
    struct ks_capture_config cfg;
    struct src *srcs;
    size_t nsrc, next_src; /* next_src: the index of the source to open next */
    bool open;             /* a source is being read */
    struct src *cur;
    int fd;
    uint8_t *buf;
    size_t start, end; /* unread bytes are buf[start .. end) */
    bool eof;
    uint64_t buf_off; /* source offset of buf[0] */
    /* classic pcap */
    bool swapped, nsec;
    int link;
    uint32_t max_rec;
    uint64_t number;
    /* pcapng */
    pcap_t *pc;
    FILE *cookie;
    uint64_t consumed; /* bytes handed to libpcap */
    /* BPF */
    struct bpf_program prog;
    bool have_prog;
    /* live */
    pcap_t *live;
    volatile sig_atomic_t brk;
    struct ks_capture_stats st;
    uint32_t diag_reported;
    char errmsg[512];
    struct ks_loc errloc;
};

static _Thread_local char g_open_err[512];

KS_PRINTF(2, 3) static void set_err(struct ks_capture *c, const char *fmt, ...)
{
    char *dst = c ? c->errmsg : g_open_err;
    size_t size = c ? sizeof c->errmsg : sizeof g_open_err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, size, fmt, ap);
    va_end(ap);
}

void ks_capture_config_default(struct ks_capture_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->snaplen = 262144;
    cfg->timeout_ms = 200;
    cfg->sample_rate = 1;
}

const char *ks_capture_errmsg(const struct ks_capture *c)
{
    return c ? c->errmsg : g_open_err;
}

void ks_capture_errloc(const struct ks_capture *c, struct ks_loc *loc)
{
    *loc = c->errloc;
}

const char *ks_capture_source(const struct ks_capture *c)
{
    if (c->cur)
        return c->cur->name;
    return c->nsrc ? c->srcs[c->nsrc - 1].name : "";
}

int ks_capture_link(const struct ks_capture *c)
{
    return c->link;
}

void ks_capture_stats(const struct ks_capture *c, struct ks_capture_stats *st)
{
    *st = c->st;
    if (c->live) {
        struct pcap_stat ps;
        if (pcap_stats(c->live, &ps) == 0)
            st->live_dropped = ps.ps_drop + ps.ps_ifdrop;
    }
}

void ks_capture_break(struct ks_capture *c)
{
    c->brk = 1;
    if (c->live)
        pcap_breakloop(c->live);
}

/* --- buffered source bytes ----------------------------------------------------------------- */

/* Makes at least `need` unread bytes available, reading more as needed. Returns the number
 * available (less than need only at the end of the input), or -1 on a read error. */
static ssize_t fill(struct ks_capture *c, size_t need)
{
    if (c->end - c->start >= need)
        return (ssize_t)(c->end - c->start);
    if (c->start > 0) {
        memmove(c->buf, c->buf + c->start, c->end - c->start);
        c->buf_off += c->start;
        c->end -= c->start;
        c->start = 0;
    }
    while (c->end - c->start < need && !c->eof) {
        /* a chunk at a time: the buffer's first READ_CHUNK bytes are used again and again
         * and stay in the cache, where the kernel's copy and the decoder meet */
        size_t room = BUF_SIZE - c->end, want = need - (c->end - c->start);
        ssize_t n = read(c->fd, c->buf + c->end,
                         room < READ_CHUNK || want > READ_CHUNK ? room : READ_CHUNK);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            c->eof = true;
        c->end += (size_t)n;
    }
    return (ssize_t)(c->end - c->start);
}

/* The stdio stream libpcap reads pcapng from: our buffer first, then the descriptor. */
static ssize_t cookie_read(void *user, char *out, size_t size)
{
    struct ks_capture *c = user;
    if (c->end == c->start) {
        c->buf_off += c->end;
        c->start = c->end = 0;
        if (c->eof)
            return 0;
        ssize_t n;
        do
            n = read(c->fd, c->buf, BUF_SIZE);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return -1;
        if (n == 0) {
            c->eof = true;
            return 0;
        }
        c->end = (size_t)n;
    }
    size_t n = c->end - c->start;
    if (n > size)
        n = size;
    memcpy(out, c->buf + c->start, n);
    c->start += n;
    c->consumed += n;
    return (ssize_t)n;
}

static int cookie_close(void *user)
{
    (void)user;
    return 0;
}

/* --- opening a source ---------------------------------------------------------------------- */

/* pcap files are in the writer's byte order: the magic says whether it is ours (x86: LE). */
static uint32_t rd32(struct ks_cur *cur, bool swapped)
{
    return swapped ? ks_cur_u32be(cur) : ks_cur_u32le(cur);
}

static int compile_filter(struct ks_capture *c, int link)
{
    if (!c->cfg.filter)
        return KS_OK;
    if (c->have_prog) {
        pcap_freecode(&c->prog);
        c->have_prog = false;
    }
    pcap_t *dead = pcap_open_dead(link, (int)MAX_RECORD);
    if (!dead) {
        set_err(c, "cannot compile the filter");
        return KS_ENOMEM;
    }
    int rc = KS_OK;
    if (pcap_compile(dead, &c->prog, c->cfg.filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        set_err(c, "bad filter '%s': %s", c->cfg.filter, pcap_geterr(dead));
        rc = KS_EFORMAT;
    } else {
        c->have_prog = true;
    }
    pcap_close(dead);
    return rc;
}

/* Opens s and reads its header (and, with first_ts, the time of its first packet). */
static int open_src(struct ks_capture *c, struct src *s, bool peek_only)
{
    c->cur = s;
    c->start = c->end = 0;
    c->buf_off = 0;
    c->eof = false;
    c->number = 0;
    c->consumed = 0;
    if (s->is_stdin) {
        c->fd = STDIN_FILENO;
    } else {
        c->fd = open(s->name, O_RDONLY | O_CLOEXEC);
        if (c->fd < 0) {
            set_err(c, "%s: cannot open: %s", s->name, strerror(errno));
            return KS_EIO;
        }
        posix_fadvise(c->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    c->st.files += peek_only ? 0 : 1;
    ssize_t have = fill(c, 24);
    if (have < 0) {
        set_err(c, "%s: cannot read: %s", s->name, strerror(errno));
        return KS_EIO;
    }
    if (have < 4) {
        set_err(c, "%s: not a capture file (%zd bytes)", s->name, have);
        return have == 0 ? KS_EFORMAT : KS_ETRUNC;
    }
    struct ks_cur hc = ks_cur_make(c->buf, (size_t)have);
    uint32_t magic = ks_cur_u32le(&hc);
    if (magic == 0x0a0d0d0a) {
        s->fmt = FMT_PCAPNG;
        c->cookie = fopencookie(
            c, "r", (cookie_io_functions_t){.read = cookie_read, .close = cookie_close});
        if (!c->cookie) {
            set_err(c, "%s: %s", s->name, strerror(errno));
            return KS_ENOMEM;
        }
        setvbuf(c->cookie, NULL, _IONBF, 0); /* every read reaches us: exact offsets */
        char errbuf[PCAP_ERRBUF_SIZE] = "";
        c->pc = pcap_fopen_offline_with_tstamp_precision(c->cookie, PCAP_TSTAMP_PRECISION_MICRO,
                                                         errbuf);
        if (!c->pc) {
            fclose(c->cookie);
            c->cookie = NULL;
            set_err(c, "%s: bad pcapng file: %s", s->name, errbuf);
            return KS_EFORMAT;
        }
        c->link = pcap_datalink(c->pc);
        if (peek_only) {
            struct pcap_pkthdr *h;
            const u_char *d;
            s->first_ts = INT64_MAX;
            if (pcap_next_ex(c->pc, &h, &d) == 1)
                s->first_ts = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
            return KS_OK;
        }
        if (c->cfg.filter) {
            int rc = compile_filter(c, c->link);
            if (rc != KS_OK)
                return rc;
        }
        return KS_OK;
    }
    bool sw, ns;
    switch (magic) {
    case 0xa1b2c3d4:
        sw = false, ns = false;
        break;
    case 0xa1b23c4d:
        sw = false, ns = true;
        break;
    case 0xd4c3b2a1:
        sw = true, ns = false;
        break;
    case 0x4d3cb2a1:
        sw = true, ns = true;
        break;
    default:
        set_err(c, "%s: not a pcap or pcapng file (magic 0x%08x)", s->name, magic);
        return KS_EFORMAT;
    }
    if (have < 24) {
        set_err(c, "%s: truncated: the pcap header needs 24 bytes, %zd present", s->name, have);
        return KS_ETRUNC;
    }
    s->fmt = FMT_PCAP;
    c->swapped = sw;
    c->nsec = ns;
    ks_cur_skip(&hc, 12); /* version, thiszone, sigfigs */
    uint32_t snaplen = rd32(&hc, sw);
    c->link = (int)(rd32(&hc, sw) & 0xffffu); /* upper bits: FCS length */
    c->max_rec = snaplen > MAX_RECORD && snaplen <= (16u << 20) ? snaplen : MAX_RECORD;
    c->start = 24;
    if (peek_only) {
        s->first_ts = INT64_MAX;
        if (fill(c, 16) >= 16) {
            struct ks_cur rc = ks_cur_make(c->buf + c->start, 8);
            uint32_t sec = rd32(&rc, sw);
            uint32_t frac = rd32(&rc, sw);
            s->first_ts = (int64_t)sec * 1000000 + (ns ? frac / 1000 : frac);
        }
        return KS_OK;
    }
    return compile_filter(c, c->link);
}

static void close_src(struct ks_capture *c)
{
    if (c->pc) {
        pcap_close(c->pc); /* closes the cookie stream too */
        c->pc = NULL;
        c->cookie = NULL;
    } else if (c->cookie) {
        fclose(c->cookie);
        c->cookie = NULL;
    }
    if (c->fd >= 0 && c->fd != STDIN_FILENO)
        close(c->fd);
    c->fd = -1;
    c->open = false;
}

static int by_first_ts(const void *a, const void *b)
{
    const struct src *x = a, *y = b;
    return (x->first_ts > y->first_ts) - (x->first_ts < y->first_ts);
}

static int new_capture(const struct ks_capture_config *cfg, struct ks_capture **cp)
{
    struct ks_capture *c = calloc(1, sizeof *c);
    if (!c) {
        set_err(NULL, "out of memory");
        return KS_ENOMEM;
    }
    if (cfg)
        c->cfg = *cfg;
    else
        ks_capture_config_default(&c->cfg);
    if (c->cfg.sample_rate == 0)
        c->cfg.sample_rate = 1;
    c->fd = -1;
    *cp = c;
    return KS_OK;
}

int ks_capture_open_files(const char *const *paths, size_t n, const struct ks_capture_config *cfg,
                          struct ks_capture **cp)
{
    struct ks_capture *c = NULL;
    int rc = new_capture(cfg, &c);
    if (rc != KS_OK)
        return rc;
    bool any_stdin = false;
    c->buf = malloc(BUF_SIZE);
    c->srcs = calloc(n ? n : 1, sizeof *c->srcs);
    if (!c->buf || !c->srcs) {
        rc = KS_ENOMEM;
        set_err(NULL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        c->srcs[i].is_stdin = strcmp(paths[i], "-") == 0;
        any_stdin |= c->srcs[i].is_stdin;
        c->srcs[i].name = strdup(paths[i]);
        if (!c->srcs[i].name) {
            rc = KS_ENOMEM;
            set_err(NULL, "out of memory");
            goto out;
        }
        c->nsrc++;
    }
    /* Check every file (and learn its first packet's time) before reading any. */
    if (!any_stdin) {
        for (size_t i = 0; i < n; i++) {
            rc = open_src(c, &c->srcs[i], true);
            close_src(c);
            if (rc != KS_OK) {
                set_err(NULL, "%s", c->errmsg);
                goto out;
            }
        }
        if (!c->cfg.keep_order)
            qsort(c->srcs, n, sizeof *c->srcs, by_first_ts);
    }
    if (c->cfg.filter) { /* refuse a bad filter now rather than at the first packet */
        rc = compile_filter(c, n && !any_stdin ? c->link : KS_LINK_ETHERNET);
        if (rc != KS_OK) {
            set_err(NULL, "%s", c->errmsg);
            goto out;
        }
    }
    c->cur = NULL;
    c->errmsg[0] = '\0';
out:
    if (rc != KS_OK) {
        ks_capture_free(c);
        c = NULL;
    }
    *cp = c;
    return rc;
}

int ks_capture_open_live(const char *iface, const struct ks_capture_config *cfg,
                         struct ks_capture **cp)
{
    struct ks_capture *c = NULL;
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    int rc = new_capture(cfg, &c);
    if (rc != KS_OK)
        return rc;
    c->srcs = calloc(1, sizeof *c->srcs);
    if (!c->srcs || !(c->srcs[0].name = strdup(iface))) {
        rc = KS_ENOMEM;
        set_err(NULL, "out of memory");
        goto out;
    }
    c->nsrc = 1;
    c->cur = &c->srcs[0];
    c->live = pcap_create(iface, errbuf);
    if (!c->live) {
        set_err(NULL, "%s: %s", iface, errbuf);
        rc = KS_EIO;
        goto out;
    }
    pcap_set_snaplen(c->live, (int)c->cfg.snaplen);
    pcap_set_promisc(c->live, c->cfg.promisc ? 1 : 0);
    pcap_set_timeout(c->live, c->cfg.timeout_ms > 0 ? c->cfg.timeout_ms : 200);
    pcap_set_buffer_size(c->live, 64 << 20);
    pcap_set_tstamp_precision(c->live, PCAP_TSTAMP_PRECISION_MICRO);
    int a = pcap_activate(c->live);
    if (a == PCAP_ERROR_PERM_DENIED) {
        set_err(NULL,
                "%s: permission denied: live capture needs root or the CAP_NET_RAW capability "
                "(e.g. sudo setcap cap_net_raw,cap_net_admin=eip kansoku)",
                iface);
        rc = KS_EIO;
        goto out;
    }
    if (a == PCAP_ERROR_NO_SUCH_DEVICE) {
        set_err(NULL, "%s: no such interface", iface);
        rc = KS_EIO;
        goto out;
    }
    if (a < 0) {
        set_err(NULL, "%s: cannot capture: %s", iface, pcap_geterr(c->live));
        rc = KS_EIO;
        goto out;
    }
    c->link = pcap_datalink(c->live);
    if (c->cfg.filter) {
        struct bpf_program prog;
        if (pcap_compile(c->live, &prog, c->cfg.filter, 1, PCAP_NETMASK_UNKNOWN) != 0 ||
            pcap_setfilter(c->live, &prog) != 0) {
            set_err(NULL, "bad filter '%s': %s", c->cfg.filter, pcap_geterr(c->live));
            rc = KS_EFORMAT;
            goto out;
        }
        pcap_freecode(&prog);
    }
    c->open = true;
    c->st.files = 1;
out:
    if (rc != KS_OK) {
        ks_capture_free(c);
        c = NULL;
    }
    *cp = c;
    return rc;
}

void ks_capture_free(struct ks_capture *c)
{
    if (!c)
        return;
    close_src(c);
    if (c->live)
        pcap_close(c->live);
    if (c->have_prog)
        pcap_freecode(&c->prog);
    for (size_t i = 0; i < c->nsrc; i++)
        free(c->srcs[i].name);
    free(c->srcs);
    free(c->buf);
    free(c);
}

/* --- reading packets ----------------------------------------------------------------------- */

/* Decodes one record; returns true when it is an IP packet for the caller. */
static bool take(struct ks_capture *c, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                 struct ks_pkt *p)
{
    enum ks_pkt_status st =
        c->link == KS_LINK_ETHERNET && ks_pkt_decode_fast(data, caplen, wirelen, p)
            ? KS_PKT_OK
            : ks_pkt_decode(c->link, data, caplen, wirelen, p);
    p->weight = c->cfg.sample_rate;
    ks_capture_count_inline(&c->st, st, p);
    if (st == KS_PKT_OK)
        return true;
    if (st != KS_PKT_NOT_IP) {
        struct ks_loc loc = {
            .source = c->cur ? c->cur->name : NULL, .packet = p->number, .offset = p->offset};
        ks_diag_report(c->cfg.diag, &c->diag_reported, "capture", &loc,
                       st == KS_PKT_BAD_LINKTYPE ? KS_EUNSUPP : KS_ETRUNC, "%s (%u bytes captured)",
                       ks_pkt_status_name(st), caplen);
    }
    return false;
}

static int fail_src(struct ks_capture *c, int err, uint64_t packet, uint64_t offset)
{
    c->errloc = (struct ks_loc){.source = c->cur->name, .packet = packet, .offset = offset};
    close_src(c);
    return err;
}

/* What every classic-pcap record goes through before decoding: its number, the BPF filter
 * (false: filtered out, counted), its time and place. */
static inline bool record_start(struct ks_capture *c, const uint8_t *data, uint32_t incl,
                                uint32_t orig, uint32_t sec, uint32_t frac, uint64_t rec_off,
                                struct ks_pkt *p)
{
    c->number++;
    if (c->have_prog) {
        struct pcap_pkthdr ph = {.caplen = incl, .len = orig};
        if (!pcap_offline_filter(&c->prog, &ph, data)) {
            c->st.filtered++;
            return false;
        }
    }
    p->ts_us = (int64_t)sec * 1000000 + (c->nsec ? frac / 1000 : frac);
    p->number = c->number;
    p->offset = rec_off;
    return true;
}

static int next_pcap(struct ks_capture *c, struct ks_pkt *p)
{
    for (;;) {
        /* The usual case first: the record header and its data are in the buffer. */
        size_t avail = c->end - c->start;
        if (avail >= 16 && !c->swapped) {
            const uint8_t *h = c->buf + c->start;
            uint32_t incl = (uint32_t)h[8] | (uint32_t)h[9] << 8 | (uint32_t)h[10] << 16 |
                            (uint32_t)h[11] << 24;
            if (incl <= c->max_rec && avail >= 16 + (size_t)incl) {
                uint32_t sec = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
                               (uint32_t)h[3] << 24;
                uint32_t frac = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 |
                                (uint32_t)h[7] << 24;
                uint32_t orig = (uint32_t)h[12] | (uint32_t)h[13] << 8 | (uint32_t)h[14] << 16 |
                                (uint32_t)h[15] << 24;
                uint64_t rec_off = c->buf_off + c->start;
                const uint8_t *data = h + 16;
                c->start += 16 + (size_t)incl;
                if (!record_start(c, data, incl, orig, sec, frac, rec_off, p))
                    continue;
                uint32_t wire = orig < incl ? incl : orig;
                if (c->link == KS_LINK_ETHERNET && ks_pkt_decode_fast(data, incl, wire, p)) {
                    p->weight = c->cfg.sample_rate; /* take(), inline */
                    ks_capture_count_inline(&c->st, KS_PKT_OK, p);
                    return 1;
                }
                if (take(c, data, incl, wire, p))
                    return 1;
                continue;
            }
        }
        ssize_t have = fill(c, 16);
        if (have < 0) {
            set_err(c, "%s: read error: %s", c->cur->name, strerror(errno));
            return fail_src(c, KS_EIO, c->number + 1, c->buf_off + c->start);
        }
        if (have == 0)
            return 0;
        uint64_t rec_off = c->buf_off + c->start;
        if (have < 16) {
            set_err(c,
                    "%s: file ends inside packet %llu: its record header at offset %llu needs "
                    "16 bytes, %zd present",
                    c->cur->name, (unsigned long long)c->number + 1, (unsigned long long)rec_off,
                    have);
            return fail_src(c, KS_ETRUNC, c->number + 1, rec_off);
        }
        struct ks_cur h = ks_cur_make(c->buf + c->start, 16);
        uint32_t sec, frac, incl, orig;
        if (c->swapped) {
            sec = ks_cur_u32be(&h), frac = ks_cur_u32be(&h);
            incl = ks_cur_u32be(&h), orig = ks_cur_u32be(&h);
        } else {
            sec = ks_cur_u32le(&h), frac = ks_cur_u32le(&h);
            incl = ks_cur_u32le(&h), orig = ks_cur_u32le(&h);
        }
        if (incl > c->max_rec) {
            set_err(c, "%s: packet %llu at offset %llu: record length %u exceeds %u (corrupt file)",
                    c->cur->name, (unsigned long long)c->number + 1, (unsigned long long)rec_off,
                    incl, c->max_rec);
            return fail_src(c, KS_EFORMAT, c->number + 1, rec_off);
        }
        have = fill(c, 16 + (size_t)incl);
        if (have < 0) {
            set_err(c, "%s: read error: %s", c->cur->name, strerror(errno));
            return fail_src(c, KS_EIO, c->number + 1, rec_off);
        }
        if ((size_t)have < 16 + (size_t)incl) {
            set_err(c,
                    "%s: file ends inside packet %llu: its record at offset %llu needs %u bytes, "
                    "%zd present",
                    c->cur->name, (unsigned long long)c->number + 1, (unsigned long long)rec_off,
                    16 + incl, have);
            return fail_src(c, KS_ETRUNC, c->number + 1, rec_off);
        }
        const uint8_t *data = c->buf + c->start + 16;
        c->start += 16 + (size_t)incl;
        if (!record_start(c, data, incl, orig, sec, frac, rec_off, p))
            continue;
        if (take(c, data, incl, orig < incl ? incl : orig, p))
            return 1;
    }
}

static int next_pcapng(struct ks_capture *c, struct ks_pkt *p)
{
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *data;
        uint64_t off = c->consumed;
        int r = pcap_next_ex(c->pc, &h, &data);
        if (r == PCAP_ERROR_BREAK)
            return 0;
        if (r != 1) {
            set_err(c, "%s: packet %llu (block at offset %llu): %s", c->cur->name,
                    (unsigned long long)c->number + 1, (unsigned long long)off, pcap_geterr(c->pc));
            int err = strstr(pcap_geterr(c->pc), "truncated") ? KS_ETRUNC : KS_EFORMAT;
            return fail_src(c, err, c->number + 1, off);
        }
        c->number++;
        if (c->have_prog && !pcap_offline_filter(&c->prog, h, data)) {
            c->st.filtered++;
            continue;
        }
        p->ts_us = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
        p->number = c->number;
        p->offset = off;
        if (take(c, data, h->caplen, h->len < h->caplen ? h->caplen : h->len, p))
            return 1;
    }
}

static int next_live(struct ks_capture *c, struct ks_pkt *p)
{
    for (;;) {
        if (c->brk)
            return KS_EINTR;
        struct pcap_pkthdr *h;
        const u_char *data;
        int r = pcap_next_ex(c->live, &h, &data);
        if (r == 0)
            return KS_ETIMEOUT;
        if (r == PCAP_ERROR_BREAK)
            return c->brk ? KS_EINTR : 0;
        if (r < 0) {
            set_err(c, "%s: %s", c->cur->name, pcap_geterr(c->live));
            c->errloc = (struct ks_loc){.source = c->cur->name, .packet = c->number + 1};
            return KS_EIO;
        }
        c->number++;
        p->ts_us = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
        p->number = c->number;
        p->offset = 0;
        if (take(c, data, h->caplen, h->len < h->caplen ? h->caplen : h->len, p))
            return 1;
    }
}

int ks_capture_next(struct ks_capture *c, struct ks_pkt *p)
{
    if (c->live)
        return next_live(c, p);
    for (;;) {
        if (c->brk)
            return KS_EINTR;
        if (!c->open) {
            if (c->next_src >= c->nsrc) {
                c->cur = NULL;
                return 0;
            }
            struct src *s = &c->srcs[c->next_src++];
            int rc = open_src(c, s, false);
            if (rc != KS_OK) {
                c->errloc = (struct ks_loc){.source = s->name};
                close_src(c);
                return rc;
            }
            c->open = true;
        }
        int r = c->cur->fmt == FMT_PCAP ? next_pcap(c, p) : next_pcapng(c, p);
        if (r != 0)
            return r;
        close_src(c);
    }
}
