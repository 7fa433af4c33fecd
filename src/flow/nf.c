/* NetFlow v5 (Cisco's fixed format), NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) decoding.
 *
 * v9 and IPFIX templates are compiled once into a list of (offset, length, destination) for
 * the fields kansoku uses, so a fixed-length data record costs one pass over that short list;
 * templates with variable-length fields (IPFIX, RFC 7011 7) are walked field by field. */
#include <inttypes.h>
#include <string.h>

#include "flow_int.h"

#define NTP_UNIX_OFFSET 2208988800LL /* seconds from 1900-01-01 to 1970-01-01 */

/* --- information elements --------------------------------------------------------------- */

/* The destination of IANA information element `id` (also the v9 field type, RFC 3954 8, for
 * the numbers they share) with length `len`; W_SKIP for the others. *bad is set when the
 * length cannot be the element's (an address of 3 bytes, a counter of 9). */
static uint8_t ie_what(uint16_t id, uint16_t len, bool *bad)
{
    uint8_t w = W_SKIP;
    int kind = 0; /* 0: unsigned 1..8 bytes; 4, 16, 8: exactly that many */
    switch (id) {
    case 1:
        w = W_BYTES;
        break;
    case 2:
        w = W_PKTS;
        break;
    case 85:
        w = W_BYTES_TOTAL;
        break;
    case 86:
        w = W_PKTS_TOTAL;
        break;
    case 4:
        w = W_PROTO;
        break;
    case 5:
        w = W_TOS;
        break;
    case 6:
        w = W_TCPFLAGS;
        break;
    case 7:
        w = W_SPORT;
        break;
    case 11:
        w = W_DPORT;
        break;
    case 8:
        w = W_SRC4;
        kind = 4;
        break;
    case 12:
        w = W_DST4;
        kind = 4;
        break;
    case 15:
        w = W_NH4;
        kind = 4;
        break;
    case 27:
        w = W_SRC6;
        kind = 16;
        break;
    case 28:
        w = W_DST6;
        kind = 16;
        break;
    case 62:
        w = W_NH6;
        kind = 16;
        break;
    case 9:
    case 29:
        w = W_SMASK;
        break;
    case 13:
    case 30:
        w = W_DMASK;
        break;
    case 10:
        w = W_INIF;
        break;
    case 14:
        w = W_OUTIF;
        break;
    case 16:
        w = W_SRCAS;
        break;
    case 17:
        w = W_DSTAS;
        break;
    case 22:
        w = W_FIRST_UP;
        break;
    case 21:
        w = W_LAST_UP;
        break;
    case 150:
        w = W_START_S;
        break;
    case 151:
        w = W_END_S;
        break;
    case 152:
        w = W_START_MS;
        break;
    case 153:
        w = W_END_MS;
        break;
    case 154:
        w = W_START_NTP_US;
        kind = 8;
        break;
    case 155:
        w = W_END_NTP_US;
        kind = 8;
        break;
    case 156:
        w = W_START_NTP_NS;
        kind = 8;
        break;
    case 157:
        w = W_END_NTP_NS;
        kind = 8;
        break;
    case 158:
        w = W_START_DELTA;
        break;
    case 159:
        w = W_END_DELTA;
        break;
    case 32:
    case 139:
        w = W_ICMP_TC;
        break;
    case 176:
    case 178:
        w = W_ICMP_TYPE;
        break;
    case 177:
    case 179:
        w = W_ICMP_CODE;
        break;
    case 61:
        w = W_DIR;
        break;
    case 34:
    case 50:
    case 305:
        w = W_SAMP_INTERVAL;
        break;
    case 306:
        w = W_SAMP_SPACE;
        break;
    case 48:
    case 302:
        w = W_SAMPLER_ID;
        break;
    case 160:
        w = W_SYSINIT_MS;
        break;
    default:
        return W_SKIP;
    }
    bool ok = kind ? len == kind : (len >= 1 && len <= 8);
    if (!ok) {
        *bad = true;
        return W_SKIP;
    }
    return w;
}

/* A template field as read: element id (W_SKIP for enterprise-specific ones), length. */
struct rawf {
    uint16_t id;
    uint16_t len;
    bool ent; /* skipped: enterprise-specific, a v9 scope, or merged unused fields */
};

/* Appends a template field to rf[0..*kept), merging runs of fixed-length fields kansoku does
 * not use into one skipped field, so that any template fits in FLOW_MAX_FIELDS entries unless
 * it uses more. false: too many. */
static bool add_field(struct rawf *rf, unsigned *kept, uint16_t id, uint16_t len, bool skip)
{
    bool lenbad = false;
    if (!skip && len != 65535 && ie_what(id, len, &lenbad) == W_SKIP && !lenbad)
        skip = true;
    if (skip && len != 65535 && *kept && rf[*kept - 1].ent && rf[*kept - 1].len != 65535 &&
        (uint32_t)rf[*kept - 1].len + len < 65535) {
        rf[*kept - 1].len = (uint16_t)(rf[*kept - 1].len + len);
        return true;
    }
    if (*kept >= FLOW_MAX_FIELDS)
        return false;
    rf[(*kept)++] = (struct rawf){id, len, skip};
    return true;
}

/* Compiles fields into t. Returns false (template refused) when the record cannot exist. */
static bool tmpl_compile(struct tmpl *t, const struct rawf *rf, unsigned n, bool options,
                         bool *len_bad)
{
    uint32_t fixed = 0, minlen = 0;
    bool var = false;
    for (unsigned i = 0; i < n; i++) {
        if (rf[i].len == 65535) {
            var = true;
            minlen += 1;
        } else {
            fixed += rf[i].len;
            minlen += rf[i].len;
        }
    }
    /* RFC 7011 3.4.1 / RFC 3954 5.3: a record fits in one message (65535 - headers). */
    if (minlen == 0 || minlen > 65535 - 16 - 4)
        return false;
    t->var = var;
    t->options = options;
    t->rec_len = (uint16_t)minlen;
    t->nfld = 0;
    uint32_t off = 0;
    for (unsigned i = 0; i < n; i++) {
        uint8_t w = W_SKIP;
        if (!rf[i].ent && rf[i].len != 65535)
            w = ie_what(rf[i].id, rf[i].len, len_bad);
        if (var) {
            t->f[t->nfld++] = (struct fld){0, rf[i].len, w};
        } else if (w != W_SKIP && t->nfld < FLOW_MAX_FIELDS) {
            t->f[t->nfld++] = (struct fld){(uint16_t)off, rf[i].len, w};
        }
        if (rf[i].len != 65535)
            off += rf[i].len;
    }
    (void)fixed;
    return true;
}

/* --- records ---------------------------------------------------------------------------- */

struct rctx {
    int64_t export_us; /* header time */
    uint32_t uptime;   /* v9 sysUptime (ms) */
    bool v9;
    bool has_time[2];
    int64_t t[2]; /* start, end */
    int tprio[2];
    uint64_t bytes_total, pkts_total;
    bool has_bytes, has_pkts, has_icmp;
    bool has_sampler, has_interval, has_space, has_sysinit;
    uint32_t sampler, interval, space;
    int64_t sysinit_us;
    int64_t up[2];
    bool has_up[2];
};

static inline uint64_t be_uint(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static inline void set_time(struct rctx *x, int which, int prio, int64_t t)
{
    if (!x->has_time[which] || prio > x->tprio[which]) {
        x->t[which] = t;
        x->tprio[which] = prio;
        x->has_time[which] = true;
    }
}

static inline int64_t ntp_us(uint64_t v)
{
    int64_t sec = (int64_t)(v >> 32) - NTP_UNIX_OFFSET;
    uint64_t frac = v & 0xffffffffu;
    return sec * 1000000 + (int64_t)((frac * 1000000) >> 32);
}

static inline void put_field(struct ks_flow_rec *r, struct rctx *x, uint8_t w, const uint8_t *p,
                             unsigned len)
{
    switch (w) {
    case W_BYTES:
        r->bytes = be_uint(p, len);
        x->has_bytes = true;
        break;
    case W_PKTS:
        r->packets = be_uint(p, len);
        x->has_pkts = true;
        break;
    case W_BYTES_TOTAL:
        x->bytes_total = be_uint(p, len);
        break;
    case W_PKTS_TOTAL:
        x->pkts_total = be_uint(p, len);
        break;
    case W_PROTO:
        r->proto_ip = (uint8_t)be_uint(p, len);
        break;
    case W_TOS:
        r->tos = (uint8_t)be_uint(p, len);
        break;
    case W_TCPFLAGS:
        r->tcp_flags = (uint8_t)be_uint(p, len); /* 2-byte form: the low byte has the flags */
        break;
    case W_SPORT:
        r->sport = (uint16_t)be_uint(p, len);
        break;
    case W_DPORT:
        r->dport = (uint16_t)be_uint(p, len);
        break;
    case W_SRC4:
        ks_addr_from_v4(&r->src, (uint32_t)be_uint(p, 4));
        break;
    case W_DST4:
        ks_addr_from_v4(&r->dst, (uint32_t)be_uint(p, 4));
        break;
    case W_NH4:
        ks_addr_from_v4(&r->nexthop, (uint32_t)be_uint(p, 4));
        break;
    case W_SRC6:
        ks_addr_from_v6(&r->src, p);
        break;
    case W_DST6:
        ks_addr_from_v6(&r->dst, p);
        break;
    case W_NH6:
        ks_addr_from_v6(&r->nexthop, p);
        break;
    case W_SMASK:
        r->src_mask = (uint8_t)be_uint(p, len);
        break;
    case W_DMASK:
        r->dst_mask = (uint8_t)be_uint(p, len);
        break;
    case W_INIF:
        r->in_if = (uint32_t)be_uint(p, len);
        break;
    case W_OUTIF:
        r->out_if = (uint32_t)be_uint(p, len);
        break;
    case W_SRCAS:
        r->src_as = (uint32_t)be_uint(p, len);
        break;
    case W_DSTAS:
        r->dst_as = (uint32_t)be_uint(p, len);
        break;
    case W_FIRST_UP:
    case W_LAST_UP: {
        int k = w == W_LAST_UP;
        x->up[k] = (int64_t)be_uint(p, len);
        x->has_up[k] = true;
        break;
    }
    case W_START_S:
    case W_END_S:
        set_time(x, w == W_END_S, 3, (int64_t)be_uint(p, len) * 1000000);
        break;
    case W_START_MS:
    case W_END_MS:
        set_time(x, w == W_END_MS, 4, (int64_t)(be_uint(p, len) & 0x7fffffffffffull) * 1000);
        break;
    case W_START_NTP_US:
    case W_END_NTP_US:
    case W_START_NTP_NS:
    case W_END_NTP_NS:
        set_time(x, w == W_END_NTP_US || w == W_END_NTP_NS, 5, ntp_us(be_uint(p, 8)));
        break;
    case W_START_DELTA:
    case W_END_DELTA:
        set_time(x, w == W_END_DELTA, 2, x->export_us - (int64_t)(uint32_t)be_uint(p, len));
        break;
    case W_ICMP_TC: {
        uint16_t tc = (uint16_t)be_uint(p, len);
        r->icmp_type = (uint8_t)(tc >> 8);
        r->icmp_code = (uint8_t)tc;
        x->has_icmp = true;
        break;
    }
    case W_ICMP_TYPE:
        r->icmp_type = (uint8_t)be_uint(p, len);
        x->has_icmp = true;
        break;
    case W_ICMP_CODE:
        r->icmp_code = (uint8_t)be_uint(p, len);
        x->has_icmp = true;
        break;
    case W_DIR:
        r->direction = (uint8_t)be_uint(p, len);
        break;
    case W_SAMP_INTERVAL:
        x->interval = (uint32_t)be_uint(p, len);
        x->has_interval = true;
        break;
    case W_SAMP_SPACE:
        x->space = (uint32_t)be_uint(p, len);
        x->has_space = true;
        break;
    case W_SAMPLER_ID:
        x->sampler = (uint32_t)be_uint(p, len);
        x->has_sampler = true;
        break;
    case W_SYSINIT_MS:
        x->sysinit_us = (int64_t)(be_uint(p, len) & 0x7fffffffffffull) * 1000;
        x->has_sysinit = true;
        break;
    default:
        break;
    }
}

static void rec_reset(struct ks_flow *f, struct rctx *x, int proto, const struct ks_addr *exp,
                      uint32_t domain)
{
    struct ks_flow_rec *r = &f->rec;
    memset(r, 0, sizeof *r);
    r->proto = proto;
    r->exporter = *exp;
    r->domain = domain;
    memset(x->has_time, 0, sizeof x->has_time);
    memset(x->has_up, 0, sizeof x->has_up);
    x->bytes_total = x->pkts_total = 0;
    x->has_bytes = x->has_pkts = x->has_icmp = false;
    x->has_sampler = x->has_interval = x->has_space = x->has_sysinit = false;
}

/* The sampling rate from samplingPacketInterval/Space (RFC 5476 6.5.2: 1 in interval+space) or
 * a v9 SAMPLING_INTERVAL. */
static uint32_t ctx_rate(const struct rctx *x)
{
    if (!x->has_interval || x->interval == 0)
        return 0;
    if (x->has_space) {
        uint64_t n = ((uint64_t)x->interval + x->space) / x->interval;
        return n > UINT32_MAX ? UINT32_MAX : (uint32_t)(n ? n : 1);
    }
    return x->interval;
}

/* Ends a v9/IPFIX record: an options record updates the source, a data record is emitted. */
static void rec_finish(struct ks_flow *f, struct source *s, struct rctx *x, bool options)
{
    struct ks_flow_rec *r = &f->rec;
    uint32_t rate = ctx_rate(x);
    if (options) {
        if (rate)
            flow_set_rate(s, x->has_sampler, x->sampler, rate);
        if (x->has_sysinit)
            s->sysinit_us = x->sysinit_us;
        return;
    }
    if (!x->has_bytes)
        r->bytes = x->bytes_total;
    if (!x->has_pkts)
        r->packets = x->pkts_total;
    for (int k = 0; k < 2; k++) {
        if (!x->has_up[k])
            continue;
        if (x->v9) /* RFC 3954 8: ms of sysUptime at the first/last packet */
            set_time(x, k, 1,
                     x->export_us - (int64_t)(int32_t)(x->uptime - (uint32_t)x->up[k]) * 1000);
        else if (s->sysinit_us) /* RFC 7011 / IANA 21, 22: relative to systemInitTime */
            set_time(x, k, 1, s->sysinit_us + x->up[k]);
    }
    if (!x->has_time[0] && x->has_time[1])
        set_time(x, 0, 0, x->t[1]);
    if (!x->has_time[1] && x->has_time[0])
        set_time(x, 1, 0, x->t[0]);
    r->start_us = x->has_time[0] ? x->t[0] : x->export_us;
    r->end_us = x->has_time[1] ? x->t[1] : x->export_us;
    /* Exporters without ICMP type/code elements put type << 8 | code in the destination port. */
    if ((r->proto_ip == 1 || r->proto_ip == 58) && !x->has_icmp) {
        r->icmp_type = (uint8_t)(r->dport >> 8);
        r->icmp_code = (uint8_t)r->dport;
    }
    if (r->proto_ip == 1 || r->proto_ip == 58)
        r->sport = r->dport = 0;
    r->sampling = f->cfg.ignore_sampling ? 1
                  : rate                 ? rate
                                         : flow_rate(f, s, x->has_sampler, x->sampler);
    flow_emit(f, s);
}

/* Decodes the records of a data set with template t. Returns the number of records, or -1
 * after counting a field past the set. */
static long data_set(struct ks_flow *f, struct source *s, struct tmpl *t, struct ks_cur *body,
                     struct rctx *x, int proto, uint32_t domain)
{
    long n = 0;
    const struct ks_addr exp = s->addr;
    if (!t->var) {
        size_t rl = t->rec_len;
        while (ks_cur_left(body) >= rl) {
            const uint8_t *p = ks_cur_ptr(body, rl);
            rec_reset(f, x, proto, &exp, domain);
            for (unsigned i = 0; i < t->nfld; i++)
                put_field(&f->rec, x, t->f[i].what, p + t->f[i].off, t->f[i].len);
            rec_finish(f, s, x, t->options);
            n++;
        }
        return n;
    }
    while (ks_cur_left(body) >= t->rec_len) {
        rec_reset(f, x, proto, &exp, domain);
        for (unsigned i = 0; i < t->nfld; i++) {
            size_t len = t->f[i].len;
            if (len == 65535) { /* RFC 7011 7: 1-byte length, or 255 and a 2-byte length */
                len = ks_cur_u8(body);
                if (len == 255)
                    len = ks_cur_u16be(body);
            }
            const uint8_t *p = ks_cur_ptr(body, len);
            if (!p) {
                flow_bad(f, s, KS_FLOW_R_FIELD, KS_ETRUNC,
                         "template %u: field %u of record %ld needs %zu bytes, the set ends first",
                         t->tid, i + 1, n + 1, len);
                return -1;
            }
            if (t->f[i].what != W_SKIP && t->f[i].len != 65535)
                put_field(&f->rec, x, t->f[i].what, p, (unsigned)len);
        }
        rec_finish(f, s, x, t->options);
        n++;
    }
    return n;
}

/* --- NetFlow v5 ------------------------------------------------------------------------- */

int flow_nf5(struct ks_flow *f, struct ks_cur *c, const struct ks_addr *exp, int64_t recv_us)
{
    (void)recv_us;
    ks_cur_skip(c, 2);
    uint16_t count = ks_cur_u16be(c);
    uint32_t uptime = ks_cur_u32be(c);
    uint32_t secs = ks_cur_u32be(c);
    uint32_t nsecs = ks_cur_u32be(c);
    uint32_t seq = ks_cur_u32be(c);
    uint8_t etype = ks_cur_u8(c);
    uint8_t eid = ks_cur_u8(c);
    uint16_t samp = ks_cur_u16be(c);
    if (ks_cur_err(c)) {
        flow_bad(f, NULL, KS_FLOW_R_SHORT, KS_ETRUNC, "NetFlow v5 header needs 24 bytes");
        return KS_ETRUNC;
    }
    struct source *s = flow_source(f, exp, KS_FLOW_NETFLOW5, (uint32_t)etype << 8 | eid);
    s->st.datagrams++;
    int rc = KS_OK;
    size_t fit = ks_cur_left(c) / 48;
    if (count == 0 || count > 30 || fit < count) {
        flow_bad(f, s, KS_FLOW_R_LENGTH, KS_EFORMAT,
                 "NetFlow v5 count %u, room for %zu records of 48 bytes", count, fit);
        rc = KS_EFORMAT;
        if (fit < count)
            count = (uint16_t)fit;
    }
    int64_t export_us = (int64_t)secs * 1000000 + nsecs / 1000;
    flow_seq(f, s, seq, count, true, uptime, export_us);
    /* Top 2 bits: sampling mode; the low 14: the interval (0 or 1: not sampled). */
    uint32_t interval = samp & 0x3fffu;
    if (interval > 1)
        flow_set_rate(s, false, 0, interval);
    struct ks_flow_rec *r = &f->rec;
    for (unsigned i = 0; i < count; i++) {
        memset(r, 0, sizeof *r);
        r->proto = KS_FLOW_NETFLOW5;
        r->exporter = *exp;
        r->domain = s->domain;
        ks_addr_from_v4(&r->src, ks_cur_u32be(c));
        ks_addr_from_v4(&r->dst, ks_cur_u32be(c));
        ks_addr_from_v4(&r->nexthop, ks_cur_u32be(c));
        r->in_if = ks_cur_u16be(c);
        r->out_if = ks_cur_u16be(c);
        r->packets = ks_cur_u32be(c);
        r->bytes = ks_cur_u32be(c);
        uint32_t first = ks_cur_u32be(c), last = ks_cur_u32be(c);
        r->sport = ks_cur_u16be(c);
        r->dport = ks_cur_u16be(c);
        ks_cur_skip(c, 1);
        r->tcp_flags = ks_cur_u8(c);
        r->proto_ip = ks_cur_u8(c);
        r->tos = ks_cur_u8(c);
        r->src_as = ks_cur_u16be(c);
        r->dst_as = ks_cur_u16be(c);
        r->src_mask = ks_cur_u8(c);
        r->dst_mask = ks_cur_u8(c);
        ks_cur_skip(c, 2);
        r->start_us = export_us - (int64_t)(int32_t)(uptime - first) * 1000;
        r->end_us = export_us - (int64_t)(int32_t)(uptime - last) * 1000;
        if (r->proto_ip == 1) {
            r->icmp_type = (uint8_t)(r->dport >> 8);
            r->icmp_code = (uint8_t)r->dport;
            r->sport = r->dport = 0;
        }
        r->sampling = flow_rate(f, s, false, 0);
        flow_emit(f, s);
    }
    return rc;
}

/* --- template sets ---------------------------------------------------------------------- */

static void store_tmpl(struct ks_flow *f, struct source *s, uint16_t tid, const struct rawf *rf,
                       unsigned n, bool options, int64_t now_us)
{
    struct tmpl *t = flow_tmpl_put(f, s, tid);
    if (!t)
        return;
    bool len_bad = false;
    if (!tmpl_compile(t, rf, n, options, &len_bad)) {
        flow_bad(f, s, KS_FLOW_R_TEMPLATE, KS_EFORMAT,
                 "template %u: %u fields that make no record (empty, too long)", tid, n);
        flow_tmpl_drop(f, t);
        return;
    }
    if (len_bad)
        flow_bad(f, s, KS_FLOW_R_TEMPLATE, KS_EFORMAT,
                 "template %u: a field's length does not fit its type (field skipped)", tid);
    t->refreshed_us = now_us;
    s->st.templates++;
}

/* v9 template FlowSet (id 0) or options template FlowSet (id 1), RFC 3954 5.2 and 6.1. */
static int nf9_templates(struct ks_flow *f, struct source *s, struct ks_cur *b, bool options,
                         int64_t now_us)
{
    struct rawf rf[FLOW_MAX_FIELDS];
    while (ks_cur_left(b) >= (options ? 6u : 4u)) {
        uint16_t tid = ks_cur_u16be(b);
        unsigned n = 0, nscope = 0;
        if (options) {
            uint16_t slen = ks_cur_u16be(b), olen = ks_cur_u16be(b);
            if (slen % 4 || olen % 4 || (size_t)slen + olen > ks_cur_left(b) || slen + olen == 0) {
                flow_bad(f, s, KS_FLOW_R_TEMPLATE, KS_EFORMAT,
                         "options template %u: scope %u + options %u bytes, %zu left", tid, slen,
                         olen, ks_cur_left(b));
                return KS_EFORMAT;
            }
            nscope = slen / 4u;
            n = nscope + olen / 4u;
        } else {
            n = ks_cur_u16be(b);
            if (n == 0 || (size_t)n * 4 > ks_cur_left(b)) {
                flow_bad(f, s, KS_FLOW_R_TEMPLATE, KS_EFORMAT,
                         "template %u: %u fields, room for %zu", tid, n, ks_cur_left(b) / 4);
                return KS_EFORMAT;
            }
        }
        if (tid < 256) {
            flow_bad(f, s, KS_FLOW_R_TEMPLATE, KS_EFORMAT, "template id %u < 256", tid);
            return KS_EFORMAT;
        }
        bool zero = false;
        unsigned kept = 0;
        for (unsigned i = 0; i < n; i++) {
            uint16_t type = ks_cur_u16be(b), len = ks_cur_u16be(b);
            if (len == 0 || len == 65535)
                zero = true; /* v9 has no variable-length fields */
            /* Scope field types (RFC 3954 6.1: system, interface, ...) are not elements. */
            else if (!add_field(rf, &kept, type, len, i < nscope))
                zero = true;
        }
        if (zero) {
            flow_bad(f, s, KS_FLOW_R_TEMPLATE, KS_EFORMAT,
                     "template %u: a field of length 0 or too many used fields", tid);
            continue;
        }
        store_tmpl(f, s, tid, rf, kept, options, now_us);
    }
    return KS_OK;
}

/* IPFIX template set (id 2) or options template set (id 3), RFC 7011 3.4.1-3.4.2 and 8.1. */
static int ipfix_templates(struct ks_flow *f, struct source *s, struct ks_cur *b, bool options,
                           int64_t now_us)
{
    struct rawf rf[FLOW_MAX_FIELDS];
    while (ks_cur_left(b) >= 4) {
        uint16_t tid = ks_cur_u16be(b), n = ks_cur_u16be(b);
        if (n == 0) { /* withdrawal (8.1): template id 2 or 3 withdraws them all */
            if (tid == 2 || tid == 3)
                flow_source_reset(f, s);
            else {
                struct tmpl *t = flow_tmpl_find(f, s, tid);
                if (t)
                    flow_tmpl_drop(f, t);
            }
            continue;
        }
        uint16_t nscope = 0;
        if (options) {
            nscope = ks_cur_u16be(b);
            if (nscope == 0 || nscope > n) {
                flow_bad(f, s, KS_FLOW_R_TEMPLATE, KS_EFORMAT,
                         "options template %u: %u scope fields of %u", tid, nscope, n);
                return KS_EFORMAT;
            }
        }
        if (tid < 256 || (size_t)n * 4 > ks_cur_left(b)) {
            flow_bad(f, s, KS_FLOW_R_TEMPLATE, KS_EFORMAT,
                     "template %u: %u fields, room for at most %zu", tid, n, ks_cur_left(b) / 4);
            return KS_EFORMAT;
        }
        unsigned kept = 0;
        bool toomany = false;
        for (unsigned i = 0; i < n; i++) {
            uint16_t id = ks_cur_u16be(b), len = ks_cur_u16be(b);
            bool ent = id & 0x8000u;
            if (ent) /* enterprise-specific: its number follows; skipped by length */
                ks_cur_skip(b, 4);
            if (ks_cur_err(b)) {
                flow_bad(f, s, KS_FLOW_R_TEMPLATE, KS_ETRUNC,
                         "template %u: field %u of %u past the set", tid, i + 1, n);
                return KS_ETRUNC;
            }
            if (!add_field(rf, &kept, (uint16_t)(id & 0x7fffu), len, ent))
                toomany = true;
        }
        if (toomany) {
            /* Only the lengths matter for fields past the limit: refuse rather than guess. */
            flow_bad(f, s, KS_FLOW_R_UNSUPPORTED, KS_EUNSUPP,
                     "template %u: %u fields, more than %u", tid, n, FLOW_MAX_FIELDS);
            struct tmpl *t = flow_tmpl_find(f, s, tid);
            if (t)
                flow_tmpl_drop(f, t);
            continue;
        }
        store_tmpl(f, s, tid, rf, kept, options, now_us);
    }
    return KS_OK;
}

/* --- NetFlow v9 ------------------------------------------------------------------------- */

/* The export time of a v9 datagram, in µs. The header has it in whole seconds (RFC 3954 5.1),
 * so export seconds - uptime, the exporter's boot time, comes out up to a second early, by a
 * different amount in each datagram: flows exported on either side of a second's boundary
 * would shift by a second against each other. Every datagram's estimate is a lower bound, so
 * the source keeps the latest one, unless it moves by more than 2 s (a restart, a clock set
 * or the uptime's 49.7-day wrap): then it starts again from the new one. */
static int64_t v9_export_time(struct source *s, uint32_t secs, uint32_t uptime)
{
    int64_t boot = (int64_t)secs * 1000000 - (int64_t)uptime * 1000;
    if (!s->boot_known || boot > s->boot_us + 2000000 || boot < s->boot_us - 2000000) {
        s->boot_us = boot;
        s->boot_known = true;
    } else if (boot > s->boot_us) {
        s->boot_us = boot;
    }
    return s->boot_us + (int64_t)uptime * 1000;
}

int flow_nf9(struct ks_flow *f, struct ks_cur *c, const struct ks_addr *exp, int64_t recv_us)
{
    ks_cur_skip(c, 2);
    (void)ks_cur_u16be(c); /* count: records of all kinds; the FlowSets' lengths rule */
    uint32_t uptime = ks_cur_u32be(c);
    uint32_t secs = ks_cur_u32be(c);
    uint32_t seq = ks_cur_u32be(c);
    uint32_t sid = ks_cur_u32be(c);
    if (ks_cur_err(c)) {
        flow_bad(f, NULL, KS_FLOW_R_SHORT, KS_ETRUNC, "NetFlow v9 header needs 20 bytes");
        return KS_ETRUNC;
    }
    struct source *s = flow_source(f, exp, KS_FLOW_NETFLOW9, sid);
    s->st.datagrams++;
    int64_t export_us = v9_export_time(s, secs, uptime);
    flow_seq(f, s, seq, 1, true, uptime, export_us);
    struct rctx x = {.export_us = export_us, .uptime = uptime, .v9 = true};
    int rc = KS_OK;
    while (ks_cur_left(c) >= 4) {
        uint16_t id = ks_cur_u16be(c), len = ks_cur_u16be(c);
        if (len < 4 || (size_t)len - 4 > ks_cur_left(c)) {
            flow_bad(f, s, KS_FLOW_R_LENGTH, KS_EFORMAT, "FlowSet %u of %u bytes, %zu left", id,
                     len, ks_cur_left(c) + 4);
            return KS_EFORMAT;
        }
        struct ks_cur b = ks_cur_sub(c, (size_t)len - 4);
        int r = KS_OK;
        if (id == 0 || id == 1) {
            r = nf9_templates(f, s, &b, id == 1, recv_us);
        } else if (id < 256) {
            flow_bad(f, s, KS_FLOW_R_UNSUPPORTED, KS_EUNSUPP, "FlowSet id %u", id);
        } else {
            struct tmpl *t = flow_tmpl_find(f, s, id);
            if (!t) {
                flow_bad(f, s, KS_FLOW_R_NO_TEMPLATE, KS_EFORMAT,
                         "data FlowSet %u (%u bytes) before its template", id, len);
            } else if (data_set(f, s, t, &b, &x, KS_FLOW_NETFLOW9, sid) < 0) {
                r = KS_ETRUNC;
            }
        }
        if (r != KS_OK && rc == KS_OK)
            rc = r;
    }
    return rc;
}

/* --- IPFIX ------------------------------------------------------------------------------ */

/* RFC 7011 3.1: the sequence number counts the data records sent before this message, so the
 * next one is seq + this message's records. Exporters differ: some leave options records out,
 * some count this message's records too (softflowd). Any of those four steps is in order; a
 * step past all of them is a gap, one behind them a late message (or, far behind while the
 * export time goes on, a restart). Checked after decoding, since the count is needed. */
static void ipfix_seq(struct ks_flow *f, struct source *s, uint32_t seq, uint32_t nall,
                      uint32_t ndata, bool countable, int64_t export_us)
{
    if (s->seq_known) {
        uint32_t cand[4] = {s->last_seq + s->prev_all, s->last_seq + s->prev_data,
                            s->last_seq + nall, s->last_seq + ndata};
        bool in_order = false;
        int64_t gap = INT64_MAX;
        for (int i = 0; i < 4; i++) {
            int32_t d = (int32_t)(seq - cand[i]);
            if (d == 0)
                in_order = true;
            else if (d > 0 && d < gap)
                gap = d;
        }
        if (!in_order) {
            int32_t back = (int32_t)(seq - cand[0]);
            if (gap != INT64_MAX && back > 0) {
                s->st.lost += (uint64_t)gap;
                flow_bad(f, s, KS_FLOW_R_SEQ_GAP, KS_EFORMAT,
                         "sequence %u, expected %u: %" PRId64 " records lost", seq, cand[0], gap);
            } else if (back < -1000000 && export_us >= s->last_export_us) {
                flow_bad(f, s, KS_FLOW_R_RESTART, KS_EFORMAT,
                         "sequence %u, expected %u: exporter restarted", seq, cand[0]);
            } else {
                flow_bad(f, s, KS_FLOW_R_SEQ_BACK, KS_EFORMAT,
                         "sequence %u, expected %u: late or repeated", seq, cand[0]);
                return;
            }
        }
    }
    s->seq_known = countable;
    s->last_seq = seq;
    s->prev_all = nall;
    s->prev_data = ndata;
    s->last_export_us = export_us;
}

int flow_ipfix(struct ks_flow *f, struct ks_cur *c, const struct ks_addr *exp, int64_t recv_us)
{
    ks_cur_skip(c, 2);
    uint16_t mlen = ks_cur_u16be(c);
    uint32_t etime = ks_cur_u32be(c);
    uint32_t seq = ks_cur_u32be(c);
    uint32_t dom = ks_cur_u32be(c);
    if (ks_cur_err(c)) {
        flow_bad(f, NULL, KS_FLOW_R_SHORT, KS_ETRUNC, "IPFIX header needs 16 bytes");
        return KS_ETRUNC;
    }
    struct source *s = flow_source(f, exp, KS_FLOW_IPFIX, dom);
    s->st.datagrams++;
    int rc = KS_OK;
    /* RFC 7011 3.1: the message length; over UDP one message per datagram (10.3.3). */
    if (mlen < 16 || (size_t)mlen - 16 > ks_cur_left(c)) {
        flow_bad(f, s, KS_FLOW_R_LENGTH, KS_EFORMAT, "message length %u, datagram %zu bytes", mlen,
                 ks_cur_left(c) + 16);
        return KS_EFORMAT;
    }
    struct ks_cur m = ks_cur_sub(c, (size_t)mlen - 16);
    int64_t export_us = (int64_t)etime * 1000000;
    struct rctx x = {.export_us = export_us};
    uint64_t ndata = 0, nopt = 0;
    bool countable = true;
    while (ks_cur_left(&m) >= 4) {
        uint16_t id = ks_cur_u16be(&m), len = ks_cur_u16be(&m);
        if (len < 4 || (size_t)len - 4 > ks_cur_left(&m)) {
            flow_bad(f, s, KS_FLOW_R_LENGTH, KS_EFORMAT, "set %u of %u bytes, %zu left", id, len,
                     ks_cur_left(&m) + 4);
            rc = KS_EFORMAT;
            countable = false;
            break;
        }
        struct ks_cur b = ks_cur_sub(&m, (size_t)len - 4);
        int r = KS_OK;
        if (id == 2 || id == 3) {
            r = ipfix_templates(f, s, &b, id == 3, recv_us);
        } else if (id < 256) {
            flow_bad(f, s, KS_FLOW_R_UNSUPPORTED, KS_EUNSUPP, "set id %u", id);
        } else {
            struct tmpl *t = flow_tmpl_find(f, s, id);
            if (!t) {
                flow_bad(f, s, KS_FLOW_R_NO_TEMPLATE, KS_EFORMAT,
                         "data set %u (%u bytes) before its template", id, len);
                countable = false;
            } else {
                long n = data_set(f, s, t, &b, &x, KS_FLOW_IPFIX, dom);
                if (n < 0) {
                    r = KS_ETRUNC;
                    countable = false;
                } else {
                    ndata += (uint64_t)n;
                    if (t->options)
                        nopt += (uint64_t)n;
                }
            }
        }
        if (r != KS_OK && rc == KS_OK)
            rc = r;
    }
    ipfix_seq(f, s, seq, (uint32_t)ndata, (uint32_t)(ndata - nopt), countable, export_us);
    return rc;
}
