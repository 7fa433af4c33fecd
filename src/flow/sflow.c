/* sFlow version 5 (sflow.org, "sFlow Version 5", 2004): flow samples (raw packet headers,
 * decoded by the capture module's decoder, or sampled IPv4/IPv6 records) and counter samples
 * (generic interface counters). Every length is checked against what is left before use. */
#include <string.h>

#include "flow_int.h"

enum {
    SF_FLOW_SAMPLE = 1,
    SF_COUNTER_SAMPLE = 2,
    SF_FLOW_SAMPLE_EXP = 3,
    SF_COUNTER_SAMPLE_EXP = 4,
    SF_REC_RAW_HEADER = 1,
    SF_REC_IPV4 = 3,
    SF_REC_IPV6 = 4,
    SF_CTR_GENERIC = 1,
};

/* The link type of a raw header's header_protocol (sFlow 5, "sampled_header"). */
static int header_link(uint32_t hp)
{
    switch (hp) {
    case 1: /* ETHERNET-ISO88023 */
        return KS_LINK_ETHERNET;
    case 11: /* IPv4 */
        return KS_LINK_IPV4;
    case 12: /* IPv6 */
        return KS_LINK_IPV6;
    default:
        return -1;
    }
}

/* One flow sample's records; at most one record per sample is delivered (a raw header if
 * there is one, else a sampled IPv4/IPv6 record), since they describe the same packet. */
static int flow_sample(struct ks_flow *f, struct source *s, struct ks_cur *b, bool expanded,
                       int64_t recv_us)
{
    ks_cur_skip(b, 4);                /* sequence number */
    ks_cur_skip(b, expanded ? 8 : 4); /* source id */
    uint32_t rate = ks_cur_u32be(b);
    ks_cur_skip(b, 8); /* sample pool, drops */
    uint32_t in_if, out_if;
    if (expanded) {
        ks_cur_skip(b, 4);
        in_if = ks_cur_u32be(b);
        ks_cur_skip(b, 4);
        out_if = ks_cur_u32be(b);
    } else {
        in_if = ks_cur_u32be(b) & 0x3fffffffu;
        out_if = ks_cur_u32be(b) & 0x3fffffffu;
    }
    uint32_t nrec = ks_cur_u32be(b);
    if (ks_cur_err(b)) {
        flow_bad(f, s, KS_FLOW_R_SFLOW_SAMPLE, KS_ETRUNC, "flow sample header cut short");
        return KS_ETRUNC;
    }
    if (rate == 0)
        rate = 1;
    if (!f->cfg.ignore_sampling)
        flow_set_rate(s, false, 0, rate);
    struct ks_flow_rec *r = &f->rec;
    bool have = false, have_raw = false;
    for (uint32_t i = 0; i < nrec && ks_cur_left(b) >= 8; i++) {
        uint32_t fmt = ks_cur_u32be(b), len = ks_cur_u32be(b);
        if (len > ks_cur_left(b)) {
            flow_bad(f, s, KS_FLOW_R_SFLOW_SAMPLE, KS_ETRUNC,
                     "flow record of %u bytes, %zu left in the sample", len, ks_cur_left(b));
            return KS_ETRUNC;
        }
        struct ks_cur rc = ks_cur_sub(b, len);
        if (fmt >> 12) /* enterprise-specific formats: skipped */
            continue;
        if (fmt == SF_REC_RAW_HEADER && !have_raw) {
            uint32_t hp = ks_cur_u32be(&rc), frame = ks_cur_u32be(&rc);
            uint32_t stripped = ks_cur_u32be(&rc), hlen = ks_cur_u32be(&rc);
            const uint8_t *h = ks_cur_ptr(&rc, hlen);
            if (!h) {
                flow_bad(f, s, KS_FLOW_R_SFLOW_HEADER, KS_ETRUNC,
                         "sampled header of %u bytes, the record has %zu", hlen,
                         len >= 16 ? (size_t)len - 16 : 0);
                continue;
            }
            int link = header_link(hp);
            if (link < 0) {
                flow_bad(f, s, KS_FLOW_R_UNSUPPORTED, KS_EUNSUPP, "header protocol %u", hp);
                continue;
            }
            (void)stripped;
            /* The frame length counts the bytes on the wire, FCS included, as sent. */
            uint32_t wire = frame >= hlen ? frame : hlen;
            struct ks_pkt *p = &f->pkt;
            memset(p, 0, sizeof *p);
            p->ts_us = recv_us;
            enum ks_pkt_status st = ks_pkt_decode(link, h, hlen, wire, p);
            if (st == KS_PKT_NOT_IP)
                continue;
            if (st != KS_PKT_OK) {
                flow_bad(f, s, KS_FLOW_R_SFLOW_HEADER, KS_ETRUNC, "sampled header of %u bytes: %s",
                         hlen, ks_pkt_status_name(st));
                /* Cut short inside the transport header: the addresses are still good. */
                if (p->ipver == 0 ||
                    (st != KS_PKT_TRUNC_TCP && st != KS_PKT_TRUNC_UDP && st != KS_PKT_TRUNC_ICMP))
                    continue;
                p->flags &= (uint16_t)~KS_PKT_L4;
            }
            p->weight = rate;
            memset(r, 0, sizeof *r);
            r->src = p->src;
            r->dst = p->dst;
            r->proto_ip = p->proto;
            r->tcp_flags = p->tcp_flags;
            if (p->flags & KS_PKT_L4) {
                r->sport = p->sport;
                r->dport = p->dport;
                r->icmp_type = p->icmp_type;
                r->icmp_code = p->icmp_code;
            }
            r->bytes = wire;
            r->pkt = p;
            have = have_raw = true;
        } else if ((fmt == SF_REC_IPV4 || fmt == SF_REC_IPV6) && !have) {
            uint32_t plen = ks_cur_u32be(&rc), proto = ks_cur_u32be(&rc);
            memset(r, 0, sizeof *r);
            if (fmt == SF_REC_IPV4) {
                ks_addr_from_v4(&r->src, ks_cur_u32be(&rc));
                ks_addr_from_v4(&r->dst, ks_cur_u32be(&rc));
            } else {
                const uint8_t *a = ks_cur_ptr(&rc, 16), *d = ks_cur_ptr(&rc, 16);
                if (a && d) {
                    ks_addr_from_v6(&r->src, a);
                    ks_addr_from_v6(&r->dst, d);
                }
            }
            uint32_t sp = ks_cur_u32be(&rc), dp = ks_cur_u32be(&rc), fl = ks_cur_u32be(&rc);
            uint32_t tos = ks_cur_u32be(&rc);
            if (ks_cur_err(&rc)) {
                flow_bad(f, s, KS_FLOW_R_SFLOW_SAMPLE, KS_ETRUNC, "sampled IP record cut short");
                memset(r, 0, sizeof *r);
                continue;
            }
            r->proto_ip = (uint8_t)proto;
            r->sport = (uint16_t)sp;
            r->dport = (uint16_t)dp;
            r->tcp_flags = (uint8_t)fl;
            r->tos = (uint8_t)tos;
            r->bytes = plen;
            have = true;
        }
    }
    if (!have)
        return KS_OK;
    r->proto = KS_FLOW_SFLOW5;
    r->exporter = s->addr;
    r->domain = s->domain;
    r->start_us = r->end_us = recv_us;
    r->packets = 1;
    r->sampling = f->cfg.ignore_sampling ? 1 : rate;
    r->in_if = in_if;
    r->out_if = out_if;
    flow_emit(f, s);
    return KS_OK;
}

static int counter_sample(struct ks_flow *f, struct source *s, struct ks_cur *b, bool expanded,
                          int64_t recv_us)
{
    ks_cur_skip(b, 4);
    ks_cur_skip(b, expanded ? 8 : 4);
    uint32_t nrec = ks_cur_u32be(b);
    if (ks_cur_err(b)) {
        flow_bad(f, s, KS_FLOW_R_SFLOW_SAMPLE, KS_ETRUNC, "counter sample header cut short");
        return KS_ETRUNC;
    }
    for (uint32_t i = 0; i < nrec && ks_cur_left(b) >= 8; i++) {
        uint32_t fmt = ks_cur_u32be(b), len = ks_cur_u32be(b);
        if (len > ks_cur_left(b)) {
            flow_bad(f, s, KS_FLOW_R_SFLOW_SAMPLE, KS_ETRUNC,
                     "counter record of %u bytes, %zu left in the sample", len, ks_cur_left(b));
            return KS_ETRUNC;
        }
        struct ks_cur rc = ks_cur_sub(b, len);
        if (fmt != SF_CTR_GENERIC)
            continue;
        struct ks_flow_counters k;
        memset(&k, 0, sizeof k);
        k.exporter = s->addr;
        k.domain = s->domain;
        k.ts_us = recv_us;
        k.if_index = ks_cur_u32be(&rc);
        k.if_type = ks_cur_u32be(&rc);
        k.if_speed = ks_cur_u64be(&rc);
        ks_cur_skip(&rc, 8); /* direction, status */
        k.in_octets = ks_cur_u64be(&rc);
        k.in_packets = ks_cur_u32be(&rc);
        k.in_packets += ks_cur_u32be(&rc);
        k.in_packets += ks_cur_u32be(&rc);
        k.in_discards = ks_cur_u32be(&rc);
        k.in_errors = ks_cur_u32be(&rc);
        ks_cur_skip(&rc, 4); /* unknown protocols */
        k.out_octets = ks_cur_u64be(&rc);
        k.out_packets = ks_cur_u32be(&rc);
        k.out_packets += ks_cur_u32be(&rc);
        k.out_packets += ks_cur_u32be(&rc);
        k.out_discards = ks_cur_u32be(&rc);
        k.out_errors = ks_cur_u32be(&rc);
        if (ks_cur_err(&rc)) {
            flow_bad(f, s, KS_FLOW_R_SFLOW_SAMPLE, KS_ETRUNC,
                     "generic interface counters of %u bytes, 88 needed", len);
            continue;
        }
        f->st.counters++;
        if (f->cfg.on_counters)
            f->cfg.on_counters(f->cfg.user, &k);
    }
    return KS_OK;
}

int flow_sflow(struct ks_flow *f, struct ks_cur *c, const struct ks_addr *exp, int64_t recv_us)
{
    (void)exp;
    ks_cur_skip(c, 4);
    uint32_t atype = ks_cur_u32be(c);
    struct ks_addr agent;
    memset(&agent, 0, sizeof agent);
    if (atype == 1) {
        ks_addr_from_v4(&agent, ks_cur_u32be(c));
    } else if (atype == 2) {
        const uint8_t *a = ks_cur_ptr(c, 16);
        if (a)
            ks_addr_from_v6(&agent, a);
    } else if (!ks_cur_err(c)) {
        flow_bad(f, NULL, KS_FLOW_R_VERSION, KS_EFORMAT, "sFlow agent address type %u", atype);
        return KS_EFORMAT;
    }
    uint32_t sub = ks_cur_u32be(c);
    uint32_t seq = ks_cur_u32be(c);
    uint32_t uptime = ks_cur_u32be(c);
    uint32_t nsamples = ks_cur_u32be(c);
    if (ks_cur_err(c)) {
        flow_bad(f, NULL, KS_FLOW_R_SHORT, KS_ETRUNC, "sFlow datagram header cut short");
        return KS_ETRUNC;
    }
    struct source *s = flow_source(f, &agent, KS_FLOW_SFLOW5, sub);
    s->st.datagrams++;
    flow_seq(f, s, seq, 1, true, uptime, recv_us);
    int rc = KS_OK;
    for (uint32_t i = 0; i < nsamples; i++) {
        if (ks_cur_left(c) < 8) {
            flow_bad(f, s, KS_FLOW_R_SFLOW_SAMPLE, KS_ETRUNC,
                     "%u samples announced, the datagram ends after %u", nsamples, i);
            return KS_ETRUNC;
        }
        uint32_t fmt = ks_cur_u32be(c), len = ks_cur_u32be(c);
        if (len > ks_cur_left(c)) {
            flow_bad(f, s, KS_FLOW_R_SFLOW_SAMPLE, KS_ETRUNC,
                     "sample %u of %u bytes, %zu left in the datagram", i + 1, len, ks_cur_left(c));
            return KS_ETRUNC;
        }
        struct ks_cur b = ks_cur_sub(c, len);
        int r = KS_OK;
        switch (fmt) {
        case SF_FLOW_SAMPLE:
        case SF_FLOW_SAMPLE_EXP:
            r = flow_sample(f, s, &b, fmt == SF_FLOW_SAMPLE_EXP, recv_us);
            break;
        case SF_COUNTER_SAMPLE:
        case SF_COUNTER_SAMPLE_EXP:
            r = counter_sample(f, s, &b, fmt == SF_COUNTER_SAMPLE_EXP, recv_us);
            break;
        default:
            break; /* enterprise-specific or unknown: skipped by its length */
        }
        if (r != KS_OK && rc == KS_OK)
            rc = r;
    }
    return rc;
}
