/* kansoku capture: packets from pcap/pcapng files or a live interface, decoded into a compact
 * summary (struct ks_pkt) with no allocation per packet.
 *
 * Decoding (ks_pkt_decode) is zero-copy: the summary's payload pointer points into the bytes
 * given, and addresses are copied out. Link types (LINKTYPE_ numbers of the pcap format):
 * Ethernet (up to 8 802.1Q / 802.1ad / QinQ tags, PPPoE sessions, MPLS label stacks), Linux
 * cooked v1 and v2, raw IP (101, and the DLT_RAW values 12 and 14), IPv4 (228), IPv6 (229), BSD
 * null (0, host byte order of the capturing machine: both orders are recognised) and loop (108).
 * Network:
 * IPv4 (RFC 791: options skipped, fragments flagged first or later), IPv6 (RFC 8200: the
 * extension header chain is walked, at most 16 headers; fragment header 4.5). Transport: TCP
 * (RFC 9293: flags, data offset, payload), UDP (RFC 768), ICMP, ICMPv6; anything else (GRE,
 * ESP, SCTP, ...) is counted as "other" with its protocol number.
 *
 * Reading (struct ks_capture): classic pcap files are read directly (microsecond and
 * nanosecond magic, both byte orders), because the reader must know each record's byte offset
 * to name it when a file is cut short; pcapng is read through libpcap over a stream that counts
 * bytes. The format is sniffed from the magic, never from the file name. Several files are
 * read one after the other, ordered by the time of their first packet ("-" = stdin, then read
 * in the order given). Live capture goes through libpcap (needs root or CAP_NET_RAW).
 * A capture handle is used by one thread. */
#ifndef KS_CAPTURE_H
#define KS_CAPTURE_H

#include "kansoku/ks_core.h"
#include "kansoku/ks_ip.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Link types (LINKTYPE_ values as stored in pcap files). */
enum ks_link {
    KS_LINK_NULL = 0,
    KS_LINK_ETHERNET = 1,
    KS_LINK_RAW = 101,
    KS_LINK_LOOP = 108,
    KS_LINK_SLL = 113,
    KS_LINK_IPV4 = 228,
    KS_LINK_IPV6 = 229,
    KS_LINK_SLL2 = 276,
};

/* ks_pkt.flags */
#define KS_PKT_FRAG 0x0001u       /* an IP fragment (first or later) */
#define KS_PKT_FRAG_LATER 0x0002u /* a fragment with offset > 0: it has no transport header */
#define KS_PKT_SNAPPED 0x0004u    /* fewer bytes captured than the IP length says */
#define KS_PKT_IP_OPTIONS 0x0008u /* IPv4 options or IPv6 extension headers present */
#define KS_PKT_VLAN 0x0010u       /* at least one 802.1Q/802.1ad tag */
#define KS_PKT_L4 0x0020u         /* sport/dport (TCP, UDP) or icmp type/code are valid */

/* TCP flag bits (RFC 9293 3.1, RFC 3168 for ECE/CWR) in ks_pkt.tcp_flags. */
#define KS_TCP_FIN 0x01u
#define KS_TCP_SYN 0x02u
#define KS_TCP_RST 0x04u
#define KS_TCP_PSH 0x08u
#define KS_TCP_ACK 0x10u
#define KS_TCP_URG 0x20u
#define KS_TCP_ECE 0x40u
#define KS_TCP_CWR 0x80u

/* The summary of one packet. Valid until the next ks_capture_next/ks_pkt_decode with it;
 * payload points into the capture buffer (copy what you keep). */
struct ks_pkt {
    int64_t ts_us;      /* capture time, µs since the epoch (UTC) */
    uint64_t number;    /* packet number in its source, from 1 */
    uint64_t offset;    /* byte offset of its record (pcap) or block (pcapng) */
    struct ks_addr src; /* family 0 when not IP */
    struct ks_addr dst;
    uint8_t ipver;     /* 4, 6, or 0 (not IP) */
    uint8_t proto;     /* IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...) */
    uint8_t tcp_flags; /* KS_TCP_* */
    uint8_t ttl;       /* IPv4 TTL / IPv6 hop limit */
    uint16_t flags;    /* KS_PKT_* */
    uint16_t sport;    /* TCP/UDP ports (host order) when KS_PKT_L4 */
    uint16_t dport;
    uint8_t icmp_type; /* ICMP/ICMPv6 when KS_PKT_L4 */
    uint8_t icmp_code;
    uint16_t vlan;        /* outermost VLAN id, 0 if none */
    uint32_t wire_len;    /* length on the wire (pcap orig_len) */
    uint32_t cap_len;     /* bytes captured */
    uint32_t ip_len;      /* IP total length (IPv6: 40 + payload length) */
    uint32_t payload_len; /* transport payload bytes available (within cap_len); for ICMP and
                           * ICMPv6, what follows type, code and checksum */
    const uint8_t *payload;
    uint32_t weight;  /* how many packets this one stands for (--sample-rate), >= 1 */
    uint32_t tcp_seq; /* TCP sequence number (host order) when proto 6 and KS_PKT_L4, else 0 */
    uint32_t tcp_ack; /* TCP acknowledgment number, likewise */
};

/* What ks_pkt_decode made of a packet. OK and NOT_IP are fine; the others are malformed or
 * truncated packets, counted per reason and skipped. */
enum ks_pkt_status {
    KS_PKT_OK = 0,         /* an IPv4 or IPv6 packet */
    KS_PKT_NOT_IP,         /* ARP, LLC, LLDP, ...: counted, not an error */
    KS_PKT_BAD_LINKTYPE,   /* link type not supported */
    KS_PKT_TRUNC_LINK,     /* link header cut short */
    KS_PKT_BAD_VLAN,       /* more than 8 VLAN tags */
    KS_PKT_BAD_IP_VERSION, /* version nibble disagrees with the link's protocol */
    KS_PKT_TRUNC_IP,       /* IP header cut short */
    KS_PKT_BAD_IP_HLEN,    /* IPv4 IHL < 5 */
    KS_PKT_BAD_IP_LEN,     /* IP total length smaller than its header */
    KS_PKT_BAD_IP6_EXT,    /* IPv6 extension header chain cut short or longer than 16 */
    KS_PKT_TRUNC_TCP,      /* TCP header cut short */
    KS_PKT_BAD_TCP_OFF,    /* TCP data offset < 5 or past the segment */
    KS_PKT_TRUNC_UDP,
    KS_PKT_TRUNC_ICMP,
    KS_PKT_STATUS_COUNT
};

/* A short name of a status ("ok", "not IP", "truncated TCP header", ...). */
KS_API const char *ks_pkt_status_name(enum ks_pkt_status st);

/* Decodes one packet of link type `link` (data: cap_len bytes, wire_len as captured) into *p.
 * Fills every field except ts_us, number, offset and weight (left as the caller set them).
 * Never reads outside data[0 .. cap_len). Thread-safe, no allocation. */
KS_API enum ks_pkt_status ks_pkt_decode(int link, const uint8_t *data, uint32_t cap_len,
                                        uint32_t wire_len, struct ks_pkt *p);

/* --- reading ------------------------------------------------------------------------------ */

struct ks_capture; /* opaque */

struct ks_capture_config {
    uint32_t snaplen;     /* live: bytes captured per packet (default 262144) */
    bool promisc;         /* live: promiscuous mode (default off) */
    int timeout_ms;       /* live: ks_capture_next returns KS_ETIMEOUT after this (default 200) */
    const char *filter;   /* BPF filter expression (pcap-filter(7)), live and offline; NULL */
    uint32_t sample_rate; /* the capture was sampled 1:N; each packet weighs N (default 1) */
    bool keep_order;      /* read files in the order given, not by first packet time */
    const struct ks_diag *diag; /* malformed packets (first ones) and file errors; may be NULL */
};

struct ks_capture_stats {
    uint64_t packets;  /* records read (all, including malformed ones) */
    uint64_t bytes;    /* their wire lengths */
    uint64_t decoded;  /* packets returned to the caller */
    uint64_t filtered; /* records the BPF filter rejected (offline) */
    uint64_t ipv4, ipv6, not_ip;
    uint64_t tcp, udp, icmp, icmp6, other; /* by transport (other: GRE, ESP, ...) */
    uint64_t frag_first, frag_later;
    uint64_t bad;                            /* malformed or truncated, total */
    uint64_t by_status[KS_PKT_STATUS_COUNT]; /* per ks_pkt_status */
    uint64_t files;                          /* sources opened */
    uint64_t live_dropped;                   /* live: dropped by the kernel (pcap_stats) */
};

/* Fills the defaults above. */
KS_API void ks_capture_config_default(struct ks_capture_config *cfg);

/* Opens files (paths[0..n), "-" for stdin) for reading. Each file's format is sniffed; files
 * are then ordered by their first packet's time unless keep_order or one is "-". Errors:
 * KS_EIO (cannot open: errno), KS_EFORMAT (not pcap/pcapng, bad header, bad filter),
 * KS_ETRUNC (a file shorter than its header), KS_EUNSUPP (link type), KS_ENOMEM. The message
 * (naming the file) is in ks_capture_errmsg(NULL) when *cp could not be made. */
KS_API int ks_capture_open_files(const char *const *paths, size_t n,
                                 const struct ks_capture_config *cfg, struct ks_capture **cp);

/* Opens a live capture on iface. KS_EIO with a message; the message says plainly when the
 * process lacks root / CAP_NET_RAW (error KS_EINVAL is not used for that: it is KS_EIO). */
KS_API int ks_capture_open_live(const char *iface, const struct ks_capture_config *cfg,
                                struct ks_capture **cp);

/* Reads the next IP packet into *p, skipping (and counting) non-IP and malformed records.
 * Returns 1 (a packet), 0 (all sources are done), KS_ETIMEOUT (live: nothing arrived for
 * timeout_ms; call again), KS_EINTR (ks_capture_break was called), or an error that ends the
 * current source: KS_ETRUNC (the file ends inside a record: ks_capture_errloc names the packet
 * number and the record's offset), KS_EFORMAT (a record length that cannot be), KS_EIO. After
 * an error the next call goes on with the next file, if any. */
KS_API int ks_capture_next(struct ks_capture *c, struct ks_pkt *p);

/* Asks a blocking ks_capture_next to return KS_EINTR (async-signal-safe). */
KS_API void ks_capture_break(struct ks_capture *c);

/* The message of the last error ("" if none); with c NULL, that of the last failed open in
 * this thread. */
KS_API const char *ks_capture_errmsg(const struct ks_capture *c);
/* Where the last error happened (source, packet, offset). */
KS_API void ks_capture_errloc(const struct ks_capture *c, struct ks_loc *loc);
/* The name of the source being read ("-" for stdin, the interface for live). */
KS_API const char *ks_capture_source(const struct ks_capture *c);
/* Link type of the source being read. */
KS_API int ks_capture_link(const struct ks_capture *c);

KS_API void ks_capture_stats(const struct ks_capture *c, struct ks_capture_stats *st);
/* Adds one decode result to st (the counters ks_capture_next keeps; for callers that decode
 * packets themselves). */
KS_API void ks_capture_count(struct ks_capture_stats *st, enum ks_pkt_status status,
                             const struct ks_pkt *p);
KS_API void ks_capture_free(struct ks_capture *c); /* NULL is fine */

#endif
