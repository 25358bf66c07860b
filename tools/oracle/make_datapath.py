#!/usr/bin/python3
"""Datapath scenarios for test/oracle/extra/ (issue 3: behaviour the
original scenarios do not cover).

usage: /usr/bin/python3 tools/oracle/make_datapath.py [NAME ...]

Writes test/oracle/extra/NAME/{setup,*.pcap,DESCRIPTION} (never expected/;
`/work/shared/oracle/examples.sh update test/oracle/extra NAME` stores that).
`picks.py test/oracle/extra/NAME` shows what the kernel did with each frame.
"""

import sys

sys.dont_write_bytecode = True

from oracle_lib import (  # noqa: E402
    ICMP,
    IP,
    SCTP,
    TCP,
    UDP,
    Ether,
    Flow,
    ICMPv6EchoRequest,
    IPv6,
    IPv6ExtHdrFragment,
    Net,
    Raw,
    Scenario,
    http_get,
    http_reply,
    rs_mac,
)
from scapy.layers.inet6 import ICMPv6PacketTooBig, IPv6ExtHdrDestOpt, PadN  # noqa: E402
from scapy.layers.sctp import (  # noqa: E402
    SCTPChunkAbort,
    SCTPChunkCookieAck,
    SCTPChunkCookieEcho,
    SCTPChunkData,
    SCTPChunkInit,
    SCTPChunkInitAck,
    SCTPChunkParamStateCookie,
    SCTPChunkSACK,
    SCTPChunkShutdown,
    SCTPChunkShutdownAck,
    SCTPChunkShutdownComplete,
)

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__.replace("_", "-")] = fn
    return fn


def v4_setup(sc, title, nn, vip=None, nat=False, extra=""):
    """The usual IPv4 director: clients behind 172.16.NN.254, servers on 10.NN.0.0/24."""
    vip = vip or ("172.16.%d.100" % nn)
    sc.lines(
        """# %s: clients behind the router 172.16.%d.254,
# real servers on 10.%d.0.0/24
ip link set client address 02:00:00:00:01:01
ip addr add 172.16.%d.1/24 dev client
ip addr add %s/32 dev client
ip link set server address 02:00:00:00:02:01
ip addr add 10.%d.0.1/24 dev server
ip neigh add 172.16.%d.254 lladdr 02:00:00:00:0e:01 dev client
ip route add default via 172.16.%d.254 dev client"""
        % (title, nn, nn, nn, vip, nn, nn, nn)
    )
    if nat:
        sc.lines("sysctl -w net.ipv4.ip_forward=1")
    if extra:
        sc.lines(extra)
    return vip


def neigh(sc, rip, dev="server"):
    sc.lines("ip neigh add %s lladdr %s dev %s" % (rip, rs_mac(rip), dev))


def payload(n, fill=b"z"):
    return (b"%d:" % n + fill * n)[:n]


# ---------------------------------------------------------------------------
@scenario
def dr_v6_edge():
    sc = Scenario("dr-v6-edge", 5039)
    net = Net(router_mac="02:00:00:00:0c:01")
    sc.lines(
        """# LVS-DR over IPv6, edge cases (same network as dr-rr-v6); the route to
# 2001:db8:40::3 has MTU 1400
ip link set client address 02:00:00:00:01:01
ip -6 addr add 2001:db8:39::1/64 dev client
ip -6 addr add 2001:db8:40::100/128 dev client
ip link set server address 02:00:00:00:02:01
ip -6 addr add 2001:db8:40::1/64 dev server
ip neigh add 2001:db8:39::10 lladdr 02:00:00:00:0c:01 dev client
ip neigh add 2001:db8:40::2 lladdr 02:00:00:00:0d:02 dev server
ip neigh add 2001:db8:40::3 lladdr 02:00:00:00:0d:03 dev server
ip -6 route add 2001:db8:40::3/128 dev server mtu 1400
-A -t [2001:db8:40::100]:80 -s rr
-a -t [2001:db8:40::100]:80 -r [2001:db8:40::2]:80 -g -w 1
-a -t [2001:db8:40::100]:80 -r [2001:db8:40::3]:80 -g -w 1"""
    )
    c, v = "2001:db8:39::10", "2001:db8:40::100"
    sc.text = """LVS-DR over IPv6, rr over 2001:db8:40::2 and ::3 (list ::3 ::2); the
director's route to ::3 has MTU 1400.  One line per frame below; the client
2001:db8:39::10 is on the client link.  Covers: hop limit 1 (scheduled, then
ICMPv6 time exceeded) and 2, the local stack's answers (RST for a SYN to a
port without service and for an ACK without entry, nothing for a RST,
ICMPv6 port unreachable for UDP, echo reply), a SYN with a Destination
Options extension header, traffic class / flow label kept, a full-size
(1500-byte) segment to each server (::3's route MTU is 1400: packet too
big), and a segment on an unknown connection."""
    port = [47100]

    def flow():
        port[0] += 1
        return Flow(sc, net, c, port[0], v, 80)

    flow().c("S", ttl=1, note="hop limit 1")
    flow().c("S", ttl=2, note="hop limit 2")
    Flow(sc, net, c, 47110, v, 81).c("S", note="port 81: no service")
    Flow(sc, net, c, 47111, v, 53, proto="udp").c(payload=b"\x12\x34" + b"\x00" * 30, note="UDP port 53: no service")
    sc.add("client", Ether(src=net.router_mac, dst=net.dir_client_mac) / IPv6(src=c, dst=v, hlim=64)
           / ICMPv6EchoRequest(id=0x4242, seq=1, data=b"ping" * 8), "ICMPv6 echo request to the VIP")
    Flow(sc, net, c, 47112, v, 80).c("A", note="ACK without entry")
    Flow(sc, net, c, 47113, v, 80).c("R", note="RST without entry")
    # destination options header between IPv6 and TCP
    f = flow()
    seg = TCP(sport=f.cport, dport=80, seq=f.cisn, flags="S", window=64240,
              options=[("MSS", 1440), ("NOP", None), ("NOP", None), ("SAckOK", b""), ("NOP", None), ("WScale", 7)])
    sc.add("client", Ether(src=net.router_mac, dst=net.dir_client_mac)
           / IPv6(src=c, dst=v, hlim=64) / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00\x00\x00\x00")]) / seg,
           "SYN %s:%d with a Destination Options header" % (c, f.cport))
    flows = []
    for tc, fl in ((0xB8, 0x12345), (0x02, 0xFFFFF)):
        f = flow()
        f.c("S", ip={"tc": tc, "fl": fl}, note="tc 0x%02x flow label 0x%x" % (tc, fl))
        flows.append((f, tc, fl))
    for f, tc, fl in flows:
        f.c("A", ip={"tc": tc, "fl": fl})
        f.c("PA", payload=payload(1440), ip={"tc": tc, "fl": fl}, note="1500-byte packet")
        f.c("PA", payload=payload(1340), ip={"tc": tc, "fl": fl}, note="1400-byte packet")
    Flow(sc, net, c, 47199, v, 80).c("PA", payload=http_get(1), note="data without entry")
    return sc


# ---------------------------------------------------------------------------
@scenario
def tun_udp():
    sc = Scenario("tun-udp", 5034)
    net = Net()
    vip = v4_setup(sc, "LVS-TUN (IPIP), UDP service", 34)
    sc.lines("ipvsadm -A -u %s:53 -s rr" % vip)
    for h in (241, 242):
        rip = "10.34.0.%d" % h
        neigh(sc, rip)
        sc.lines("ipvsadm -a -u %s:53 -r %s:53 -i -w 1" % (vip, rip))
    sc.text = """LVS-TUN (IPIP) with a UDP service 172.16.34.100:53, rr over 10.34.0.241
and .242 (same network as tun-gue).  Datagrams from three clients: small
ones with DF set and with DF clear (outer ID: 0 with DF, random without),
TOS 0x28 and TTL 9, and 1500-byte IP datagrams with DF set (too big once
encapsulated: ICMP frag-needed from the VIP) and with DF clear (the
encapsulated packet is fragmented by the director)."""
    c = [("203.0.113.51", 5353), ("198.51.100.52", 40000), ("192.0.2.53", 40001)]
    fl = [Flow(sc, net, a, p, vip, 53, proto="udp") for a, p in c]
    q = b"\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x03com\x00\x00\x01\x00\x01"
    fl[0].c(payload=q, note="DF set")
    fl[1].c(payload=q, ip={"flags": 0}, note="DF clear")
    fl[2].c(payload=q, ip={"tos": 0x28}, ttl=9, note="TOS 0x28, TTL 9")
    fl[0].c(payload=q, note="second datagram of the first flow")
    fl[1].c(payload=payload(1472), note="1500 bytes, DF set")
    fl[2].c(payload=payload(1472), ip={"flags": 0}, note="1500 bytes, DF clear")
    fl[0].c(payload=payload(1452), note="1480 bytes, DF set")
    fl[1].c(payload=payload(1453), ip={"flags": 0}, note="1481 bytes, DF clear")
    return sc


# ---------------------------------------------------------------------------
@scenario
def tun_4in6():
    sc = Scenario("tun-4in6", 5037)
    net = Net()
    sc.lines(
        """# LVS-TUN, IPv4 virtual service, IPv6 real servers (mixed address families)
ip link set client address 02:00:00:00:01:01
ip addr add 172.16.37.1/24 dev client
ip addr add 172.16.37.100/32 dev client
ip link set server address 02:00:00:00:02:01
ip -6 addr add 2001:db8:3700::1/64 dev server
ip neigh add 172.16.37.254 lladdr 02:00:00:00:0e:01 dev client
ip route add default via 172.16.37.254 dev client
ip neigh add 2001:db8:3700::21 lladdr 02:00:00:00:0d:21 dev server
ip neigh add 2001:db8:3700::22 lladdr 02:00:00:00:0d:22 dev server
ipvsadm -A -t 172.16.37.100:80 -s rr
ipvsadm -a -t 172.16.37.100:80 -r [2001:db8:3700::21]:80 -i -w 1
ipvsadm -a -t 172.16.37.100:80 -r [2001:db8:3700::22]:80 -i -w 1"""
    )
    sc.text = """LVS-TUN across address families: an IPv4 service 172.16.37.100:80 whose
real servers 2001:db8:3700::21 and ::22 are IPv6 (ipvsadm -i with an IPv6
real server for an IPv4 service: the kernel encapsulates IPv4 in IPv6,
next header 4).  SYNs with varied TOS/TTL/DF, an established connection with
data, a 1460-byte DF segment (fits exactly once encapsulated in 40 more
bytes) and a 1500-byte one (too big: ICMP frag-needed mtu 1460 from the
VIP)."""
    vip = "172.16.37.100"
    fl = [Flow(sc, net, a, p, vip, 80) for a, p in
          (("203.0.113.71", 41001), ("198.51.100.72", 41002), ("192.0.2.73", 41003))]
    fl[0].c("S")
    fl[1].c("S", ip={"tos": 0x2A}, ttl=17, note="TOS 0x2a, TTL 17")
    fl[2].c("S", ip={"flags": 0}, note="DF clear")
    fl[0].c("A")
    fl[0].c("PA", payload=http_get(1, 200))
    fl[0].c("PA", payload=payload(1420), note="1460-byte packet")
    fl[0].c("PA", payload=payload(1460), note="1500-byte packet")
    fl[0].c("FA")
    return sc


@scenario
def tun_6in4():
    sc = Scenario("tun-6in4", 5038)
    net = Net()
    sc.lines(
        """# LVS-TUN, IPv6 virtual service, IPv4 real servers (mixed address families)
ip link set client address 02:00:00:00:01:01
ip -6 addr add 2001:db8:38::1/64 dev client
ip -6 addr add 2001:db8:38::80/128 dev client
ip link set server address 02:00:00:00:02:01
ip addr add 10.38.0.1/24 dev server
ip neigh add 2001:db8:38::fe lladdr 02:00:00:00:0e:01 dev client
ip -6 route add default via 2001:db8:38::fe dev client
ip neigh add 10.38.0.21 lladdr 02:00:00:00:0d:15 dev server
ip neigh add 10.38.0.22 lladdr 02:00:00:00:0d:16 dev server
ipvsadm -A -t [2001:db8:38::80]:80 -s rr
ipvsadm -a -t [2001:db8:38::80]:80 -r 10.38.0.21:80 -i -w 1
ipvsadm -a -t [2001:db8:38::80]:80 -r 10.38.0.22:80 -i -w 1"""
    )
    sc.text = """LVS-TUN across address families: an IPv6 service [2001:db8:38::80]:80
whose real servers 10.38.0.21 and .22 are IPv4 (IPv6 in IPv4, protocol 41).
SYNs with varied traffic class / hop limit, an established connection with
data, a 1480-byte IPv6 packet (fits exactly once encapsulated) and a
1500-byte one (too big: ICMPv6 packet too big mtu 1480 from the VIP).  The
outer IPv4 header has DF clear and a random ID (not masked by compare.py)."""
    vip = "2001:db8:38::80"
    fl = [Flow(sc, net, a, p, vip, 80) for a, p in
          (("2001:db8:99::71", 42001), ("2001:db8:99::72", 42002), ("2001:db8:99::73", 42003))]
    fl[0].c("S")
    fl[1].c("S", ip={"tc": 0x2A, "fl": 0x54321}, ttl=17, note="tc 0x2a, flow label, hop limit 17")
    fl[2].c("S")
    fl[0].c("A")
    fl[0].c("PA", payload=http_get(1, 200))
    fl[0].c("PA", payload=payload(1420), note="1480-byte packet")
    fl[0].c("PA", payload=payload(1440), note="1500-byte packet")
    fl[0].c("FA")
    return sc


# ---------------------------------------------------------------------------
@scenario
def frag_dr():
    sc = Scenario("frag-dr", 5040)
    net = Net()
    sc.lines(
        """# LVS-DR, IPv4 and IPv6 services, fragmented input
ip link set client address 02:00:00:00:01:01
ip addr add 172.16.40.1/24 dev client
ip addr add 10.40.0.100/32 dev client
ip -6 addr add 2001:db8:40:1::1/64 dev client
ip -6 addr add 2001:db8:4000::100/128 dev client
ip link set server address 02:00:00:00:02:01
ip addr add 10.40.0.1/24 dev server
ip -6 addr add 2001:db8:4000::1/64 dev server
ip neigh add 172.16.40.254 lladdr 02:00:00:00:0e:01 dev client
ip route add default via 172.16.40.254 dev client
ip neigh add 2001:db8:40:1::fe lladdr 02:00:00:00:0e:01 dev client
ip -6 route add default via 2001:db8:40:1::fe dev client
ip neigh add 10.40.0.11 lladdr 02:00:00:00:0d:0b dev server
ip neigh add 2001:db8:4000::11 lladdr 02:00:00:00:0d:11 dev server
ipvsadm -A -t 10.40.0.100:80 -s rr
ipvsadm -a -t 10.40.0.100:80 -r 10.40.0.11:80 -g -w 1
ipvsadm -A -u 10.40.0.100:53 -s rr
ipvsadm -a -u 10.40.0.100:53 -r 10.40.0.11:53 -g -w 1
ipvsadm -A -t [2001:db8:4000::100]:80 -s rr
ipvsadm -a -t [2001:db8:4000::100]:80 -r [2001:db8:4000::11]:80 -g -w 1
ipvsadm -A -u [2001:db8:4000::100]:53 -s rr
ipvsadm -a -u [2001:db8:4000::100]:53 -r [2001:db8:4000::11]:53 -g -w 1"""
    )
    sc.text = """LVS-DR with fragmented input, IPv4 (10.40.0.100) and IPv6
(2001:db8:4000::100), TCP :80 and UDP :53 services, one real server each.
The fragments of a datagram come in order unless said otherwise:
 - IPv4: a SYN in two fragments (the TCP header split: 16 + 24 bytes), its
   ACK, a 1200-byte data segment in three fragments, a 1400-byte UDP
   datagram in two fragments sent last fragment first, a UDP datagram with
   overlapping fragments, a UDP datagram whose middle fragment never comes
   (then a 40 s gap: the reassembly timer, 30 s + timer slack, expires);
 - IPv6: a SYN in two fragments whose first fragment holds only 16 bytes of
   the TCP header, the same SYN unfragmented, its ACK, a 1200-byte data
   segment in three fragments, a 1400-byte UDP datagram in three fragments,
   a UDP datagram whose last fragment never comes."""
    v4, v6 = "10.40.0.100", "2001:db8:4000::100"
    eth = Ether(src=net.router_mac, dst=net.dir_client_mac)

    def frags4(pkt, sizes, note, order=None, ident=None):
        """Split the IP payload of pkt at the given byte sizes (multiples of 8)."""
        raw = bytes(pkt[IP].payload)
        ip = pkt[IP]
        parts, off = [], 0
        for i, n in enumerate(sizes + [len(raw)]):
            chunk = raw[off:off + n] if i < len(sizes) else raw[off:]
            if not chunk:
                break
            mf = off + len(chunk) < len(raw)
            fr = IP(src=ip.src, dst=ip.dst, ttl=ip.ttl, id=ident if ident is not None else ip.id,
                    flags=("MF" if mf else 0), frag=off // 8, proto=ip.proto) / Raw(chunk)
            parts.append((off, fr))
            off += len(chunk)
        for k in (order or range(len(parts))):
            o, fr = parts[k]
            sc.add("client", eth / fr, "%s: fragment offset %d, %d bytes%s" % (
                note, o, len(bytes(fr[Raw])), ", MF" if fr.flags.MF else ""))

    def frags6(pkt, sizes, note, ident, drop_last=False):
        ip = pkt[IPv6]
        raw = bytes(ip.payload)
        nh = ip.nh
        off, k = 0, 0
        chunks = []
        for n in sizes + [len(raw)]:
            chunk = raw[off:off + n] if k < len(sizes) else raw[off:]
            chunks.append((off, chunk))
            off += len(chunk)
            k += 1
        for i, (o, chunk) in enumerate(chunks):
            m = 1 if i < len(chunks) - 1 else 0
            if drop_last and i == len(chunks) - 1:
                break
            fr = IPv6(src=ip.src, dst=ip.dst, hlim=ip.hlim, tc=ip.tc, fl=ip.fl) / IPv6ExtHdrFragment(
                nh=nh, offset=o // 8, m=m, id=ident) / Raw(chunk)
            sc.add("client", eth / fr, "%s: fragment offset %d, %d bytes%s" % (note, o, len(chunk), ", M" if m else ""))

    f = Flow(sc, net, "203.0.113.81", 43001, v4, 80)
    syn = eth / IP(src=f.caddr, dst=v4, ttl=64, id=0x1111, flags=0) / TCP(
        sport=f.cport, dport=80, seq=f.cisn, flags="S", window=64240,
        options=[("MSS", 1460), ("NOP", None), ("NOP", None), ("SAckOK", b""), ("NOP", None), ("WScale", 7)])
    f.cseq = f.cisn + 1
    frags4(syn, [16], "SYN %s:%d" % (f.caddr, f.cport))
    f.c("A", ip={"flags": 0})
    data = eth / IP(src=f.caddr, dst=v4, ttl=64, id=0x1113, flags=0) / TCP(
        sport=f.cport, dport=80, seq=f.cseq, ack=f.sseq, flags="PA", window=502) / Raw(payload(1200))
    frags4(data, [504, 504], "data 1200 bytes")
    u = eth / IP(src="198.51.100.82", dst=v4, ttl=64, id=0x2222, flags=0) / UDP(sport=5301, dport=53) / Raw(
        payload(1400))
    frags4(u, [1000], "UDP 1400 bytes 198.51.100.82:5301", order=[1, 0])
    # overlapping fragments: the second starts inside the first
    raw = bytes(IP(src="198.51.100.83", dst=v4) / UDP(sport=5302, dport=53) / Raw(payload(600)))[20:]
    for off, chunk, mf in ((0, raw[:408], "MF"), (400, raw[400:], 0)):
        sc.add("client", eth / IP(src="198.51.100.83", dst=v4, ttl=64, id=0x3333, proto=17, flags=mf,
                                  frag=off // 8) / Raw(chunk),
               "UDP 198.51.100.83:5302, overlapping: fragment offset %d, %d bytes%s" % (
                   off, len(chunk), ", MF" if mf else ""))
    # IPv6
    f6 = Flow(sc, net, "2001:db8:99::81", 44001, v6, 80)
    syn6 = eth / IPv6(src=f6.caddr, dst=v6, hlim=64) / TCP(
        sport=f6.cport, dport=80, seq=f6.cisn, flags="S", window=64240,
        options=[("MSS", 1440), ("NOP", None), ("NOP", None), ("SAckOK", b""), ("NOP", None), ("WScale", 7)])
    frags6(syn6, [16], "SYN [%s]:%d" % (f6.caddr, f6.cport), 0x61)
    f6.c("S", note="(the same SYN again, not fragmented)")
    f6.c("A")
    data6 = eth / IPv6(src=f6.caddr, dst=v6, hlim=64) / TCP(
        sport=f6.cport, dport=80, seq=f6.cseq, ack=f6.sseq, flags="PA", window=502) / Raw(payload(1200))
    frags6(data6, [504, 504], "data 1200 bytes [%s]:%d" % (f6.caddr, f6.cport), 0x64)
    u6 = eth / IPv6(src="2001:db8:99::82", dst=v6, hlim=64) / UDP(sport=5311, dport=53) / Raw(payload(1400))
    frags6(u6, [512, 512], "UDP 1400 bytes [2001:db8:99::82]:5311", 0x62)
    u6b = eth / IPv6(src="2001:db8:99::83", dst=v6, hlim=64) / UDP(sport=5312, dport=53) / Raw(payload(900))
    frags6(u6b, [504], "UDP [2001:db8:99::83]:5312 (last fragment missing)", 0x63, drop_last=True)
    # IPv4 datagram with a missing middle fragment, then the reassembly timeout
    u4 = eth / IP(src="198.51.100.84", dst=v4, ttl=64, id=0x4444, flags=0) / UDP(sport=5303, dport=53) / Raw(
        payload(1400))
    raw = bytes(u4[IP].payload)
    for off, chunk, mf in ((0, raw[:504], True), (1008, raw[1008:], False)):
        sc.add("client", eth / IP(src="198.51.100.84", dst=v4, ttl=64, id=0x4444, proto=17,
                                  flags="MF" if mf else 0, frag=off // 8) / Raw(chunk),
               "UDP 198.51.100.84:5303 (middle fragment missing): fragment offset %d, %d bytes%s" % (
                   off, len(chunk), ", MF" if mf else ""))
    # pktio injects each frame at first-frame time + its offset, so the real
    # gap is this one minus the time the frames before it took (~1.5 s)
    sc.wait(40)
    Flow(sc, net, "203.0.113.85", 43002, v4, 80).c("S", note="(after a 40 s gap) a new SYN")
    return sc


class Sctp:
    """One SCTP association client <-> VIP (and, for NAT, rip:rport)."""

    def __init__(self, sc, net, caddr, cport, vaddr, vport, rip=None, rport=None):
        self.sc, self.net = sc, net
        self.caddr, self.cport, self.vaddr, self.vport = caddr, cport, vaddr, vport
        self.rip, self.rport = rip, rport
        self.ctag = sc.rng.randrange(1, 1 << 32)  # the client's verification tag (in its INIT)
        self.stag = sc.rng.randrange(1, 1 << 32)  # the server's (in its INIT-ACK)
        self.ctsn = sc.rng.randrange(1 << 32)
        self.stsn = sc.rng.randrange(1 << 32)
        self.cookie = bytes(sc.rng.randrange(256) for _ in range(32))
        self.cid = sc.rng.randrange(1 << 16)

    def c(self, chunk, vtag=None, note=""):
        vt = self.stag if vtag is None else vtag
        self.cid += 1
        pkt = Ether(src=self.net.router_mac, dst=self.net.dir_client_mac) / IP(
            src=self.caddr, dst=self.vaddr, ttl=64, id=self.cid & 0xFFFF, flags="DF") / SCTP(
            sport=self.cport, dport=self.vport, tag=vt) / chunk
        name = chunk.__class__.__name__.replace("SCTPChunk", "")
        return self.sc.add(self.net.client_if, pkt, "SCTP %s %s:%d > %s:%d %s" % (
            name, self.caddr, self.cport, self.vaddr, self.vport, note))

    def s(self, chunk, vtag=None, note=""):
        vt = self.ctag if vtag is None else vtag
        pkt = Ether(src=rs_mac(self.rip), dst=self.net.dir_server_mac) / IP(
            src=self.rip, dst=self.caddr, ttl=64, id=0, flags="DF") / SCTP(
            sport=self.rport, dport=self.cport, tag=vt) / chunk
        name = chunk.__class__.__name__.replace("SCTPChunk", "")
        return self.sc.add(self.net.server_if, pkt, "SCTP %s %s:%d > %s:%d %s" % (
            name, self.rip, self.rport, self.caddr, self.cport, note))

    def init(self, note=""):
        return self.c(SCTPChunkInit(init_tag=self.ctag, a_rwnd=106496, n_out_streams=10, n_in_streams=10,
                                    init_tsn=self.ctsn), vtag=0, note=note)

    def init_ack(self):
        return self.s(SCTPChunkInitAck(init_tag=self.stag, a_rwnd=106496, n_out_streams=10, n_in_streams=10,
                                       init_tsn=self.stsn, params=[SCTPChunkParamStateCookie(cookie=self.cookie)]))

    def cookie_echo(self):
        return self.c(SCTPChunkCookieEcho(cookie=self.cookie))

    def cookie_ack(self):
        return self.s(SCTPChunkCookieAck())

    def data(self, n=100, note=""):
        r = self.c(SCTPChunkData(tsn=self.ctsn, stream_id=0, stream_seq=0, proto_id=0, beginning=1, ending=1,
                                 data=payload(n)), note=note)
        self.ctsn = (self.ctsn + 1) & 0xFFFFFFFF
        return r

    def sdata(self, n=100):
        r = self.s(SCTPChunkData(tsn=self.stsn, stream_id=0, stream_seq=0, proto_id=0, beginning=1, ending=1,
                                 data=payload(n)))
        self.stsn = (self.stsn + 1) & 0xFFFFFFFF
        return r

    def sack(self):
        return self.c(SCTPChunkSACK(cumul_tsn_ack=(self.stsn - 1) & 0xFFFFFFFF, a_rwnd=106496))

    def ssack(self):
        return self.s(SCTPChunkSACK(cumul_tsn_ack=(self.ctsn - 1) & 0xFFFFFFFF, a_rwnd=106496))


@scenario
def sctp_dr():
    sc = Scenario("sctp-dr", 5041)
    net = Net()
    vip = v4_setup(sc, "SCTP services, LVS-DR (:5000) and LVS-NAT (:5001 -> 6001)", 41, nat=True)
    sc.lines("ipvsadm -A --sctp-service %s:5000 -s rr" % vip)
    for h in (11, 12):
        neigh(sc, "10.41.0.%d" % h)
        sc.lines("ipvsadm -a --sctp-service %s:5000 -r 10.41.0.%d:5000 -g -w 1" % (vip, h))
    sc.lines("ipvsadm -A --sctp-service %s:5001 -s rr" % vip)
    for h in (21, 22):
        neigh(sc, "10.41.0.%d" % h)
        sc.lines("ipvsadm -a --sctp-service %s:5001 -r 10.41.0.%d:6001 -m -w 1" % (vip, h))
    sc.text = """SCTP virtual services on 172.16.41.100: :5000 LVS-DR over 10.41.0.11/.12
(rr; the director sees only the client's chunks) and :5001 LVS-NAT over
10.41.0.21/.22 port 6001 (rr; both directions, port rewritten, so the CRC32c
checksum is recomputed).  Associations (list order .12 .11 and .22 .21):
 - DR #1: INIT, COOKIE-ECHO, DATA, SACK, SHUTDOWN, SHUTDOWN-COMPLETE
   (client closes);
 - DR #2: INIT, COOKIE-ECHO, DATA, then SHUTDOWN-ACK (the server closed);
 - DR #3: INIT, then ABORT;
 - NAT #1: the full exchange in both directions, client shutdown;
 - NAT #2: server sends SHUTDOWN, client SHUTDOWN-ACK, server
   SHUTDOWN-COMPLETE;
 - a DATA chunk to :5000 without association, an INIT to :5002 (no service;
   the guest has no SCTP stack);
 - an INIT with a wrong CRC32c, then its COOKIE-ECHO and DATA."""
    d1 = Sctp(sc, net, "203.0.113.91", 33001, vip, 5000)
    d2 = Sctp(sc, net, "198.51.100.92", 33002, vip, 5000)
    d3 = Sctp(sc, net, "192.0.2.93", 33003, vip, 5000)
    d1.init()
    d1.cookie_echo()
    d2.init()
    d1.data(200)
    d2.cookie_echo()
    d1.sack()
    d2.data(300)
    d3.init()
    d3.c(SCTPChunkAbort(), vtag=d3.stag)
    d1.c(SCTPChunkShutdown(cumul_tsn_ack=(d1.stsn - 1) & 0xFFFFFFFF))
    d2.c(SCTPChunkShutdownAck(), note="(the server shut down)")
    d1.c(SCTPChunkShutdownComplete())
    n1 = Sctp(sc, net, "203.0.113.94", 34001, vip, 5001, rip="10.41.0.22", rport=6001)
    n2 = Sctp(sc, net, "100.64.9.95", 34002, vip, 5001, rip="10.41.0.21", rport=6001)
    n1.init()
    n1.init_ack()
    n1.cookie_echo()
    n1.cookie_ack()
    n2.init()
    n2.init_ack()
    n1.data(120)
    n1.ssack()
    n1.sdata(400)
    n1.sack()
    n2.cookie_echo()
    n2.cookie_ack()
    n2.data(60)
    n2.ssack()
    n1.c(SCTPChunkShutdown(cumul_tsn_ack=(n1.stsn - 1) & 0xFFFFFFFF))
    n1.s(SCTPChunkShutdownAck())
    n1.c(SCTPChunkShutdownComplete())
    n2.s(SCTPChunkShutdown(cumul_tsn_ack=(n2.ctsn - 1) & 0xFFFFFFFF))
    n2.c(SCTPChunkShutdownAck())
    n2.s(SCTPChunkShutdownComplete())
    x = Sctp(sc, net, "192.0.2.96", 33006, vip, 5000)
    x.data(50, note="(no association)")
    Sctp(sc, net, "192.0.2.97", 33007, vip, 5002).init(note="(port without service)")
    bad = Sctp(sc, net, "192.0.2.98", 33008, vip, 5000)
    pkt = Ether(src=net.router_mac, dst=net.dir_client_mac) / IP(src=bad.caddr, dst=vip, ttl=64, id=7, flags="DF") / SCTP(
        sport=bad.cport, dport=5000, tag=0, chksum=0x12345678) / SCTPChunkInit(
        init_tag=bad.ctag, a_rwnd=106496, n_out_streams=10, n_in_streams=10, init_tsn=bad.ctsn)
    sc.add("client", pkt, "SCTP Init %s:%d > %s:5000 with a wrong CRC32c" % (bad.caddr, bad.cport, vip))
    # (an entry left in INIT1, 3 s, would be listed or not depending on the
    # machine's speed: take the association on to ESTABLISHED)
    bad.cookie_echo()
    bad.data(80)
    return sc


# ---------------------------------------------------------------------------
@scenario
def persist_port0():
    sc = Scenario("persist-port0", 5027)
    net = Net()
    vip = v4_setup(sc, "LVS-DR, port-0 persistent services", 27, vip="10.27.0.100")
    sc.lines("ipvsadm -A -t %s:0 -s rr -p 60" % vip)
    for h in (11, 12, 13):
        neigh(sc, "10.27.0.%d" % h)
        sc.lines("ipvsadm -a -t %s:0 -r 10.27.0.%d -g -w 1" % (vip, h))
    sc.lines("ipvsadm -A -u %s:0 -s rr -p 60" % vip)
    for h in (11, 12, 13):
        sc.lines("ipvsadm -a -u %s:0 -r 10.27.0.%d -g -w 1" % (vip, h))
    sc.text = """LVS-DR, port-0 ("all ports") persistent services on 10.27.0.100: TCP and
UDP, rr -p 60 over 10.27.0.11-13 (list .13 .12 .11), real servers without
port.  One template per client address and protocol with vport 0: a
client's connections to any port go to the same server, the real port is
the client's destination port.  Client A (203.0.113.101) connects to 80,
443, 22 and 8080; client B to 80 and 443; client C to 25; A and B send UDP
to 53 and 123 (UDP templates are separate from TCP ones); A again on 80
from a new port."""
    A, B, C = "203.0.113.101", "198.51.100.102", "192.0.2.103"
    fa = [Flow(sc, net, A, 50001 + i, vip, p) for i, p in enumerate((80, 443, 22, 8080))]
    fb = [Flow(sc, net, B, 51001 + i, vip, p) for i, p in enumerate((80, 443))]
    fc = Flow(sc, net, C, 52001, vip, 25)
    fa[0].c("S")
    fb[0].c("S")
    fa[1].c("S")
    fc.c("S")
    fa[0].c("A")
    fa[2].c("S")
    fb[1].c("S")
    fa[3].c("S")
    fa[0].c("PA", payload=http_get(1))
    for who, port in ((A, 53), (B, 53), (A, 123), (B, 123)):
        Flow(sc, net, who, 5353, vip, port, proto="udp").c(payload=payload(40))
    Flow(sc, net, A, 50009, vip, 80).c("S", note="(new source port)")
    fb[0].c("A")
    fb[0].c("R")
    return sc


@scenario
def persist_v6():
    sc = Scenario("persist-v6", 5028)
    net = Net()
    sc.lines(
        """# LVS-DR over IPv6, persistence with a /64 netmask
ip link set client address 02:00:00:00:01:01
ip -6 addr add 2001:db8:28::1/64 dev client
ip -6 addr add 2001:db8:28::100/128 dev client
ip link set server address 02:00:00:00:02:01
ip -6 addr add 2001:db8:2800::1/64 dev server
ip neigh add 2001:db8:28::fe lladdr 02:00:00:00:0e:01 dev client
ip -6 route add default via 2001:db8:28::fe dev client
ipvsadm -A -t [2001:db8:28::100]:80 -s rr -p 60 -M 64"""
    )
    for h in (0x11, 0x12, 0x13):
        rip = "2001:db8:2800::%x" % h
        neigh(sc, rip)
        sc.lines("ipvsadm -a -t [2001:db8:28::100]:80 -r [%s]:80 -g -w 1" % rip)
    sc.text = """LVS-DR over IPv6, rr -p 60 -M 64 over 2001:db8:2800::11-13 (list ::13
::12 ::11): clients in the same /64 share a template (and a server);
clients in other /64s (same /48, or the same /63 but another /64) get the
next server.  SYNs from 2001:db8:a:1::1, 2001:db8:a:1::2, 2001:db8:a:1:ffff::9
(same /64), 2001:db8:a:0::1 (another /64 of the same /63), 2001:db8:b:1::1,
then an ACK and FIN of the first, and new SYNs from each /64 again."""
    vip = "2001:db8:28::100"
    cl = ["2001:db8:a:1::1", "2001:db8:a:1::2", "2001:db8:a:1:ffff::9", "2001:db8:a::1", "2001:db8:b:1::1",
          "2001:db8:a:1::3", "2001:db8:a::2"]
    fl = [Flow(sc, net, a, 40001 + i, vip, 80) for i, a in enumerate(cl)]
    for f in fl[:5]:
        f.c("S")
    fl[0].c("A")
    fl[0].c("FA")
    for f in fl[5:]:
        f.c("S")
    Flow(sc, net, "2001:db8:b:1::1", 40099, vip, 80).c("S", note="(new port)")
    return sc


@scenario
def persist_quiescent():
    sc = Scenario("persist-quiescent", 5029)
    net = Net()
    vip = v4_setup(sc, "LVS-DR, persistence, expire_quiescent_template=1", 29, vip="10.29.0.100",
                   extra="echo 1 > /proc/sys/net/ipv4/vs/expire_quiescent_template")
    sc.lines("ipvsadm -A -t %s:80 -s rr -p 60" % vip)
    for h in (11, 12, 13):
        neigh(sc, "10.29.0.%d" % h)
        sc.lines("ipvsadm -a -t %s:80 -r 10.29.0.%d:80 -g -w 1" % (vip, h))
    sc.text = """LVS-DR, rr -p 60 over 10.29.0.11-13 (list .13 .12 .11), with
net.ipv4.vs.expire_quiescent_template=1 (expire_nodest_conn=0):
 - clients A, B, C connect (templates -> .13, .12, .11), A and B establish;
 - @ .13 (A's server) quiesced: A's established connection keeps going to
   .13; A's new connection finds its template invalid (weight 0): a new
   template is made (the old one stays listed with ports 65535 until it
   expires) and A is scheduled anew;
 - @ .12 (B's server) deleted: B's new connection finds the template's
   server gone: new template, new server; B's old connection (entry still
   there, server deleted, expire_nodest_conn=0) is dropped;
 - C (server .11, unchanged) keeps its server."""
    A, B, C = "203.0.113.111", "198.51.100.112", "192.0.2.113"
    fa, fb, fc = Flow(sc, net, A, 50101, vip, 80), Flow(sc, net, B, 50201, vip, 80), Flow(sc, net, C, 50301, vip, 80)
    fa.c("S")
    fb.c("S")
    fc.c("S")
    fa.c("A")
    fb.c("A")
    Flow(sc, net, A, 50102, vip, 80).c("S", note="(A again: template)")
    sc.cmd("ipvsadm -e -t %s:80 -r 10.29.0.13:80 -g -w 0" % vip)
    fa.c("PA", payload=http_get(1), note="(A's established connection, server quiesced)")
    Flow(sc, net, A, 50103, vip, 80).c("S", note="(A again: template's server quiesced)")
    Flow(sc, net, A, 50104, vip, 80).c("S", note="(A again: the new template)")
    Flow(sc, net, C, 50302, vip, 80).c("S", note="(C again)")
    sc.cmd("ipvsadm -d -t %s:80 -r 10.29.0.12:80" % vip)
    fb.c("PA", payload=http_get(2), note="(B's established connection, server deleted)")
    Flow(sc, net, B, 50202, vip, 80).c("S", note="(B again: template's server deleted)")
    Flow(sc, net, B, 50203, vip, 80).c("S", note="(B again: the new template)")
    Flow(sc, net, "100.64.7.114", 50401, vip, 80).c("S", note="(a new client D)")
    return sc


# ---------------------------------------------------------------------------
@scenario
def ops_udp():
    sc = Scenario("ops-udp", 5031)
    net = Net()
    vip = v4_setup(sc, "LVS-NAT, UDP one-packet scheduling", 31, nat=True)
    for port, ops in ((53, " -o"), (54, "")):
        sc.lines("ipvsadm -A -u %s:%d -s rr%s" % (vip, port, ops))
        for h in (11, 12, 13):
            rip = "10.31.0.%d" % h
            if port == 53:
                neigh(sc, rip)
            sc.lines("ipvsadm -a -u %s:%d -r %s:%d -m -w 1" % (vip, port, rip, port))
    sc.text = """LVS-NAT, two UDP services on 172.16.31.100, rr over 10.31.0.11-13 (list
.13 .12 .11): :53 with one-packet scheduling (-o: every datagram is
scheduled on its own and its entry is not kept), :54 without.  The same
client flow sends 4 datagrams to each; the real server that got the first
datagram answers it (with -o there is no entry to translate the reply);
then a second client."""
    c = ("203.0.113.121", 40053)
    f53 = Flow(sc, net, c[0], c[1], vip, 53, proto="udp", rip="10.31.0.13", rport=53)
    f54 = Flow(sc, net, c[0], c[1], vip, 54, proto="udp", rip="10.31.0.13", rport=54)
    for i in range(4):
        f53.c(payload=payload(30 + i))
    f53.s(payload=payload(50), note="(reply from .13 to the first datagram)")
    for i in range(4):
        f54.c(payload=payload(30 + i))
    f54.s(payload=payload(50), note="(reply from .13)")
    g = Flow(sc, net, "198.51.100.122", 40054, vip, 53, proto="udp")
    g.c(payload=payload(20))
    g.c(payload=payload(21))
    return sc


def icmp_about(sc, net, src, dst, inner, note, typ=3, code=4, mtu=1400, side="client", ttl=64):
    """An ICMP error from src to dst quoting `inner` (an IP packet: header + 8+ bytes)."""
    raw = bytes(inner)
    quoted = raw[: (raw[0] & 15) * 4 + 8]
    if side == "client":
        eth = Ether(src=net.router_mac, dst=net.dir_client_mac)
    else:
        eth = Ether(src=rs_mac(src), dst=net.dir_server_mac)
    pkt = eth / IP(src=src, dst=dst, ttl=ttl, id=sc.rng.randrange(1 << 16), flags=0) / ICMP(
        type=typ, code=code, nexthopmtu=mtu if (typ == 3 and code == 4) else 0) / Raw(quoted)
    return sc.add(side, pkt, note)


@scenario
def sysctl_variants():
    sc = Scenario("sysctl-variants", 5042)
    net = Net()
    vip = v4_setup(sc, "LVS-DR and LVS-NAT, net.ipv4.vs sysctls changed on the fly", 42, vip="10.42.0.100",
                   nat=True, extra="ip addr add 172.16.42.100/32 dev client")
    nvip = "172.16.42.100"
    sc.lines("ipvsadm -A -t %s:80 -s rr" % vip)
    for h in (11, 12, 13):
        neigh(sc, "10.42.0.%d" % h)
        sc.lines("ipvsadm -a -t %s:80 -r 10.42.0.%d:80 -g -w 1" % (vip, h))
    sc.lines("ipvsadm -A -t %s:80 -s rr" % nvip)
    for h in (21, 22):
        neigh(sc, "10.42.0.%d" % h)
        sc.lines("ipvsadm -a -t %s:80 -r 10.42.0.%d:8080 -m -w 1" % (nvip, h))
    sc.text = """net.ipv4.vs sysctls changed by timed commands (`@T sysctl -w ...`), on
an LVS-DR service 10.42.0.100:80 (rr over .11 .12 .13, list .13 .12 .11)
and an LVS-NAT service 172.16.42.100:80 (rr over .21 .22 port 8080):
 1. conn_reuse_mode: with 1 (default), a SYN reusing the ports of a CLOSE
    entry is scheduled anew; with 0 it stays on the old entry (and server);
    with 2, a SYN on a FIN_WAIT entry (DR: no output seen) is scheduled anew,
    and a CLOSE entry still is;
 2. sloppy_tcp=1: an ACK and a FIN without entry create one (scheduled) and
    are forwarded; a RST without entry is not scheduled; back to 0: an ACK
    without entry gets the local stack's RST;
 3. schedule_icmp: an ICMP frag-needed from a client about a VIP:80 ->
    client packet of a connection IPVS does not know: ignored with 0,
    scheduled and forwarded to a real server with 1;
 4. expire_nodest_conn: .11 (DR) deleted with 0 (its entries stay; their
    packets are dropped silently), then set to 1: the next packet of such an
    entry expires it and goes on to the director's own stack (a RST comes
    back at once), and so does the packet after it; a SYN retransmission on
    a SYN_RECV entry of .11 is scheduled anew;
 5. nat_icmp_send (NAT): a real server's packets without entry (SYN-ACK,
    UDP from a port that is no UDP real service, RST): with 0 all routed
    untranslated; with 1 the SYN-ACK gets ICMP port unreachable from
    10.42.0.1 back to the real server (and is dropped), the other two are
    still routed;
 6. secure_tcp=3 (DoS defense, "always on"): the DoS TCP state table for new
    connections: a SYN makes a SYNACK entry (120 s) instead of SYN_RECV (see
    ipvs-conns.txt);
 7. a 30 s gap at the end (in real time ~20 s: the frames before it take
    ~10 s), so that every CLOSE entry (10 s) has expired when the entries
    are listed."""

    def cli():
        a, p = sc.rand_client()
        return Flow(sc, net, a, p, vip, 80)

    def set_(k, v):
        sc.cmd("sysctl -w net.ipv4.vs.%s=%d" % (k, v))

    # 1. conn_reuse_mode
    a = cli()
    a.c("S"), a.c("A"), a.c("R", note="(-> CLOSE)")
    Flow(sc, net, a.caddr, a.cport, vip, 80).c("S", note="(reuses CLOSE, mode 1)")
    set_("conn_reuse_mode", 0)
    b = cli()
    b.c("S"), b.c("A"), b.c("R", note="(-> CLOSE)")
    Flow(sc, net, b.caddr, b.cport, vip, 80).c("S", note="(reuses CLOSE, mode 0)")
    set_("conn_reuse_mode", 2)
    c = cli()
    c.c("S"), c.c("A"), c.c("FA", note="(-> FIN_WAIT)")
    Flow(sc, net, c.caddr, c.cport, vip, 80).c("S", note="(reuses FIN_WAIT, mode 2)")
    d = cli()
    d.c("S"), d.c("A"), d.c("R", note="(-> CLOSE)")
    Flow(sc, net, d.caddr, d.cport, vip, 80).c("S", note="(reuses CLOSE, mode 2)")
    set_("conn_reuse_mode", 1)
    # 2. sloppy_tcp
    set_("sloppy_tcp", 1)
    e = cli()
    e.cseq = e.cisn + 1000
    e.c("A", note="(no entry, sloppy_tcp=1)")
    e.c("PA", payload=http_get(5))
    f = cli()
    f.cseq = f.cisn + 5000
    f.c("FA", note="(no entry, sloppy_tcp=1)")
    cli().c("R", note="(no entry, sloppy_tcp=1)")
    set_("sloppy_tcp", 0)
    cli().c("A", note="(no entry, sloppy_tcp=0)")
    # 3. schedule_icmp
    for v in (0, 1):
        if v:
            set_("schedule_icmp", 1)
        ca, cp = sc.rand_client()
        inner = IP(src=vip, dst=ca, ttl=63, id=0, flags="DF") / TCP(sport=80, dport=cp, seq=12345, ack=678,
                                                                    flags="PA") / Raw(b"x" * 1400)
        icmp_about(sc, net, ca, vip, inner, "ICMP frag-needed from %s about %s:80 -> %s:%d (no entry), "
                   "schedule_icmp=%d" % (ca, vip, ca, cp, v))
    set_("schedule_icmp", 0)
    # 4. expire_nodest_conn: g established, h SYN_RECV, created before .11 is
    # deleted (rr spreads them: two g and one h are on .11)
    g = [cli() for _ in range(6)]
    for x in g:
        x.c("S")
    for x in g:
        x.c("A")
    h = [cli() for _ in range(3)]
    for x in h:
        x.c("S")
    sc.cmd("ipvsadm -d -t %s:80 -r 10.42.0.11:80" % vip)
    for x in g:
        x.c("PA", payload=http_get(1), note="(.11 deleted, expire_nodest_conn=0)")
    set_("expire_nodest_conn", 1)
    for x in g:
        x.c("PA", payload=http_get(2), note="(expire_nodest_conn=1)")
    for x in g:
        x.c("A", note="(the packet after it)")
    for x in h:
        r = Flow(sc, net, x.caddr, x.cport, vip, 80)
        r.cisn = x.cisn
        r.c("S", note="(SYN retransmitted, expire_nodest_conn=1)")
    set_("expire_nodest_conn", 0)
    # 5. nat_icmp_send (NAT service)
    for v in (0, 1):
        if v:
            set_("nat_icmp_send", 1)
        ca, cp = sc.rand_client()
        n = Flow(sc, net, ca, cp, nvip, 80, rip="10.42.0.21", rport=8080)
        n.s("SA", note="(no entry, nat_icmp_send=%d)" % v)
        u = Flow(sc, net, ca, cp + 1, nvip, 80, proto="udp", rip="10.42.0.22", rport=8080)
        u.s(payload=payload(20), note="(no entry, nat_icmp_send=%d)" % v)
        n.s("R", note="(no entry, nat_icmp_send=%d)" % v)
    nf = Flow(sc, net, "203.0.113.130", 40130, nvip, 80)
    nf.c("S", note="(NAT connection: its server answers)")
    nf.rip, nf.rport = "10.42.0.22", 8080  # the head of the NAT service's list
    nf.s("SA")
    nf.c("A")
    set_("nat_icmp_send", 0)
    # 6. secure_tcp
    set_("secure_tcp", 3)
    k = [cli() for _ in range(4)]
    for x in k:
        x.c("S")
    k[1].c("A")
    k[2].c("A")
    k[2].c("FA")
    k[3].c("R")
    # the CLOSE entries made above (10 s) would expire during the listing or
    # not depending on the machine's speed: let them all expire first.  pktio
    # injects a frame at first-frame time + its offset, and the ~76 frames
    # before take ~10 s of real time: offset 30 s leaves a real gap of ~20 s
    sc.wait(30)
    k[1].c("PA", payload=http_get(9), note="(30 s later; the CLOSE entries have expired)")
    return sc


# ---------------------------------------------------------------------------
@scenario
def dr_icmp():
    sc = Scenario("dr-icmp", 5043)
    net = Net()
    vip = v4_setup(sc, "LVS-DR and LVS-TUN, ICMP errors about connections", 43, vip="10.43.0.100",
                   extra="ip addr add 10.43.0.101/32 dev client")
    tvip = "10.43.0.101"
    sc.lines("ipvsadm -A -t %s:80 -s rr" % vip)
    neigh(sc, "10.43.0.11")
    sc.lines("ipvsadm -a -t %s:80 -r 10.43.0.11:80 -g -w 1" % vip)
    sc.lines("ipvsadm -A -t %s:80 -s rr" % tvip)
    neigh(sc, "10.43.0.21")
    sc.lines("ipvsadm -a -t %s:80 -r 10.43.0.21:80 -i -w 1" % tvip)
    sc.lines("ipvsadm -A -u %s:53 -s rr" % tvip)
    sc.lines("ipvsadm -a -u %s:53 -r 10.43.0.21:53 -i -w 1" % tvip)
    sc.text = """ICMP errors that belong to IPVS connections, LVS-DR (10.43.0.100:80 ->
10.43.0.11) and LVS-TUN/IPIP (10.43.0.101:80 and UDP :53 -> 10.43.0.21):
 - from the client side, about a VIP:80 -> client packet of a known
   connection (the real server answered the client directly): frag-needed
   (DR, TUN), port unreachable (TUN UDP), and about an unknown connection;
   the director forwards them to the connection's real server (DR: MAC
   rewrite; TUN: encapsulated);
 - from the server side: a frag-needed sent to the director's address
   10.43.0.1 by a router on the real server's path (10.43.0.254), quoting
   an IPIP packet the director sent (outer 10.43.0.1 -> 10.43.0.21, inner
   client -> VIP): the director relays a frag-needed to the client; the
   same for a TUN UDP flow;
 - a frag-needed from the real server 10.43.0.11 (DR) to the client sent
   through the director (not forwarded: ip_forward is 0 here), and an echo
   request from the real server to the VIP (answered).
Observed: the relayed frag-needed (from the VIP) carries mtu 1480, the MTU
of the director's cached route to the real server minus 20, not 1300 - 20;
the next too-big segment of that connection gets mtu 1280."""
    c1 = Flow(sc, net, "203.0.113.141", 45001, vip, 80)
    c1.c("S"), c1.c("A")
    c2 = Flow(sc, net, "198.51.100.142", 45002, tvip, 80)
    c2.c("S"), c2.c("A")
    c3 = Flow(sc, net, "192.0.2.143", 45003, tvip, 53, proto="udp")
    c3.c(payload=payload(40))

    def reply(f, n=1400, flags="PA"):
        return IP(src=f.vaddr, dst=f.caddr, ttl=63, id=0, flags="DF") / TCP(
            sport=f.vport, dport=f.cport, seq=f.sseq, ack=f.cseq, flags=flags) / Raw(payload(n))

    icmp_about(sc, net, c1.caddr, vip, reply(c1), "frag-needed mtu 1400 from %s about %s:80 -> %s:%d (DR)" % (
        c1.caddr, vip, c1.caddr, c1.cport))
    icmp_about(sc, net, c2.caddr, tvip, reply(c2), "frag-needed mtu 1400 from %s about %s:80 -> %s:%d (TUN)" % (
        c2.caddr, tvip, c2.caddr, c2.cport))
    u = IP(src=tvip, dst=c3.caddr, ttl=63, id=0x1234, flags=0) / UDP(sport=53, dport=c3.cport) / Raw(payload(60))
    icmp_about(sc, net, c3.caddr, tvip, u, "port unreachable from %s about %s:53 -> %s:%d (TUN UDP)" % (
        c3.caddr, tvip, c3.caddr, c3.cport), code=3)
    icmp_about(sc, net, "203.0.113.144", vip, IP(src=vip, dst="203.0.113.144", ttl=63, flags="DF") / TCP(
        sport=80, dport=45004, flags="PA") / Raw(payload(1400)),
        "frag-needed from 203.0.113.144 about an unknown connection (DR)")
    # server side: a router on the tunnel path reports the outer packet too big
    for f, l4 in ((c2, TCP(sport=c2.cport, dport=80, seq=c2.cseq, ack=c2.sseq, flags="PA")),
                  (c3, UDP(sport=c3.cport, dport=53))):
        inner = IP(src=f.caddr, dst=f.vaddr, ttl=63, id=0x2222, flags="DF") / l4 / Raw(payload(1300))
        outer = IP(src="10.43.0.1", dst="10.43.0.21", ttl=63, id=0, flags="DF", proto=4) / inner
        quoted = bytes(outer)[:20 + 20 + 8]
        pkt = Ether(src="02:00:00:00:0d:fe", dst=net.dir_server_mac) / IP(
            src="10.43.0.254", dst="10.43.0.1", ttl=64, id=0x3333, flags=0) / ICMP(
            type=3, code=4, nexthopmtu=1300) / Raw(quoted)
        sc.add("server", pkt, "frag-needed mtu 1300 from router 10.43.0.254 about the IPIP packet of %s:%d" % (
            f.caddr, f.cport))
    c2.c("PA", payload=payload(1300), note="(a 1340-byte segment after the reported MTU)")
    dr_reply = IP(src=vip, dst=c1.caddr, ttl=64, id=0, flags="DF") / TCP(sport=80, dport=c1.cport, flags="PA") / Raw(
        payload(1400))
    pkt = Ether(src=rs_mac("10.43.0.11"), dst=net.dir_server_mac) / IP(
        src="10.43.0.11", dst=c1.caddr, ttl=64, id=0x4444, flags=0) / ICMP(type=3, code=4, nexthopmtu=1300) / Raw(
        bytes(dr_reply)[:28])
    sc.add("server", pkt, "frag-needed from the real server 10.43.0.11 to the client %s" % c1.caddr)
    pkt = Ether(src=rs_mac("10.43.0.11"), dst=net.dir_server_mac) / IP(src="10.43.0.11", dst=vip, ttl=64, id=0x4545,
                                                                     flags=0) / ICMP(type=8, id=7, seq=1) / Raw(b"hi")
    sc.add("server", pkt, "echo request from the real server 10.43.0.11 to the VIP")
    return sc


@scenario
def nat_icmp_v6():
    from scapy.layers.inet6 import ICMPv6DestUnreach, ICMPv6TimeExceeded

    sc = Scenario("nat-icmp-v6", 5036)
    net = Net()
    sc.lines(
        """# LVS-NAT over IPv6, ICMPv6 errors in both directions (same network as nat-v6)
ip link set client address 02:00:00:00:01:01
ip -6 addr add 2001:db8:36::1/64 dev client
ip -6 addr add 2001:db8:36::80/128 dev client
ip link set server address 02:00:00:00:02:01
ip -6 addr add 2001:db8:3600::1/64 dev server
ip neigh add 2001:db8:36::fe lladdr 02:00:00:00:0e:01 dev client
ip -6 route add default via 2001:db8:36::fe dev client
sysctl -w net.ipv6.conf.all.forwarding=1
ip neigh add 2001:db8:3600::11 lladdr 02:00:00:00:0d:11 dev server
ipvsadm -A -t [2001:db8:36::80]:80 -s rr
ipvsadm -a -t [2001:db8:36::80]:80 -r [2001:db8:3600::11]:8080 -m -w 1
ipvsadm -A -u [2001:db8:36::80]:53 -s rr
ipvsadm -a -u [2001:db8:36::80]:53 -r [2001:db8:3600::11]:5353 -m -w 1"""
    )
    vip, rip = "2001:db8:36::80", "2001:db8:3600::11"
    sc.text = """LVS-NAT over IPv6: TCP [2001:db8:36::80]:80 -> [2001:db8:3600::11]:8080
and UDP :53 -> :5353, one real server.  ICMPv6 errors that belong to
connections, in both directions:
 - from the real server to the client about a client -> RIP packet
   (destination unreachable / port unreachable for UDP, packet too big for
   TCP): the director rewrites the outer source to the VIP and the quoted
   destination to VIP:vport;
 - from the client (or a router on its side) to the VIP about a VIP ->
   client packet (packet too big, time exceeded): rewritten towards the
   real server (outer destination RIP, quoted source RIP:rport);
 - an ICMPv6 error from the real server about an unknown connection, and
   one from the client about an unknown connection."""
    eth_c = Ether(src=net.router_mac, dst=net.dir_client_mac)
    eth_s = Ether(src=rs_mac(rip), dst=net.dir_server_mac)
    a = Flow(sc, net, "2001:db8:99::a1", 46001, vip, 80, rip=rip, rport=8080)
    a.c("S"), a.s("SA"), a.c("A")
    a.c("PA", payload=http_get(1, 100))
    u = Flow(sc, net, "2001:db8:99::a2", 46002, vip, 53, proto="udp", rip=rip, rport=5353)
    u.c(payload=payload(48))
    # the real server's errors about what it received (client -> RIP:rport)
    q = IPv6(src=u.caddr, dst=rip, hlim=63) / UDP(sport=u.cport, dport=5353) / Raw(payload(48))
    sc.add("server", eth_s / IPv6(src=rip, dst=u.caddr, hlim=64) / ICMPv6DestUnreach(code=4) / Raw(bytes(q)),
           "ICMPv6 port unreachable from the real server about [%s]:%d -> [%s]:5353" % (u.caddr, u.cport, rip))
    q = IPv6(src=a.caddr, dst=rip, hlim=63) / TCP(sport=a.cport, dport=8080, seq=a.cseq, ack=a.sseq,
                                                  flags="PA") / Raw(payload(1400))
    sc.add("server", eth_s / IPv6(src=rip, dst=a.caddr, hlim=64) / ICMPv6PacketTooBig(mtu=1280) / Raw(
        bytes(q)[:1232]), "ICMPv6 packet too big (mtu 1280) from the real server about a client -> RIP segment")
    # the client's errors about what the director sent it (VIP:80 -> client)
    q = IPv6(src=vip, dst=a.caddr, hlim=63) / TCP(sport=80, dport=a.cport, seq=a.sseq, ack=a.cseq,
                                                  flags="PA") / Raw(payload(1400))
    sc.add("client", eth_c / IPv6(src=a.caddr, dst=vip, hlim=64) / ICMPv6PacketTooBig(mtu=1280) / Raw(
        bytes(q)[:1232]), "ICMPv6 packet too big (mtu 1280) from the client about a VIP:80 -> client segment")
    sc.add("client", eth_c / IPv6(src="2001:db8:36::fe", dst=vip, hlim=64) / ICMPv6TimeExceeded(code=0) / Raw(
        bytes(q)[:200]), "ICMPv6 time exceeded from the router 2001:db8:36::fe about a VIP:80 -> client segment")
    q = IPv6(src=vip, dst=u.caddr, hlim=63) / UDP(sport=53, dport=u.cport) / Raw(payload(80))
    sc.add("client", eth_c / IPv6(src=u.caddr, dst=vip, hlim=64) / ICMPv6DestUnreach(code=4) / Raw(bytes(q)),
           "ICMPv6 port unreachable from the client about a VIP:53 -> client datagram")
    # unknown connections
    q = IPv6(src="2001:db8:99::a9", dst=rip, hlim=63) / TCP(sport=46009, dport=8080, flags="PA") / Raw(payload(20))
    sc.add("server", eth_s / IPv6(src=rip, dst="2001:db8:99::a9", hlim=64) / ICMPv6DestUnreach(code=4) / Raw(
        bytes(q)), "ICMPv6 port unreachable from the real server about an unknown connection")
    q = IPv6(src=vip, dst="2001:db8:99::a9", hlim=63) / TCP(sport=80, dport=46009, flags="PA") / Raw(payload(1400))
    sc.add("client", eth_c / IPv6(src="2001:db8:99::a9", dst=vip, hlim=64) / ICMPv6PacketTooBig(mtu=1280) / Raw(
        bytes(q)[:1232]), "ICMPv6 packet too big from a client about an unknown connection")
    a.s("PA", payload=http_reply(1, 300))
    a.c("A")
    return sc


@scenario
def nat_timeouts():
    sc = Scenario("nat-timeouts", 5044)
    net = Net()
    vip = v4_setup(sc, "LVS-NAT, shortened timeouts (ipvsadm --set 20 5 10)", 44, nat=True)
    sc.lines("ipvsadm --set 20 5 10")
    sc.lines("ipvsadm -A -t %s:80 -s rr" % vip)
    sc.lines("ipvsadm -A -u %s:53 -s rr" % vip)
    for h in (11, 12):
        rip = "10.44.0.%d" % h
        neigh(sc, rip)
        sc.lines("ipvsadm -a -t %s:80 -r %s:8080 -m -w 1" % (vip, rip))
        sc.lines("ipvsadm -a -u %s:53 -r %s:53 -m -w 1" % (vip, rip))
    sc.text = """LVS-NAT with `ipvsadm --set 20 5 10` (TCP ESTABLISHED 20 s, FIN_WAIT 5 s,
UDP 10 s; the other states keep their defaults), rr over 10.44.0.11/.12
(list .12 .11), TCP :80 -> 8080 and UDP :53.  Real-time gaps (timing=1; the
timer wheel may fire up to ~0.3 s late at 5-10 s and ~2 s late at 20 s):
 t=0     A established (.12), B established then the server's FIN (FIN_WAIT,
         on .11), C a UDP exchange (.12), D closed by the client then the
         server (CLOSE_WAIT -> TIME_WAIT, 120 s, on .12);
 t=7.5   B expired: B's ACK gets the director's RST, B's server FIN is
         routed untranslated; A and C still there (data refreshes them);
 t=20.5  C expired (10 s): C's next datagram is scheduled anew; A still
         there (13 s since its last packet);
 t=44.5  A expired (20 s + slack): A's ACK gets a RST, its server's data is
         routed untranslated; D's TIME_WAIT entry is still listed."""
    a = Flow(sc, net, "203.0.113.151", 47001, vip, 80, rip="10.44.0.12", rport=8080)
    b = Flow(sc, net, "198.51.100.152", 47002, vip, 80, rip="10.44.0.11", rport=8080)
    c = Flow(sc, net, "192.0.2.153", 47003, vip, 53, proto="udp", rip="10.44.0.12", rport=53)
    d = Flow(sc, net, "100.64.5.154", 47004, vip, 80, rip="10.44.0.12", rport=8080)
    a.c("S"), a.s("SA"), a.c("A")
    b.c("S"), b.s("SA"), b.c("A")
    c.c(payload=payload(40)), c.s(payload=payload(120))
    d.c("S"), d.s("SA"), d.c("A")
    b.s("FA", note="(server closes first: FIN_WAIT)")
    d.c("FA"), d.s("FA"), d.c("A")
    sc.wait(7.5)
    b.c("A", note="(B, 7.5 s later)")
    b.s("FA", note="(B's server FIN again)")
    a.c("PA", payload=http_get(1))
    a.s("A")
    c.c(payload=payload(41), note="(C, 7.5 s later)")
    c.s(payload=payload(121))
    sc.wait(13)
    c.c(payload=payload(42), note="(C, 13 s later)")
    a.c("PA", payload=http_get(2), note="(A, 13 s later)")
    a.s("A")
    sc.wait(24)
    a.c("A", note="(A, 24 s later)")
    a.s("PA", payload=http_reply(3), note="(A's server, after the expiry)")
    return sc


def main(argv):
    names = [a for a in argv if not a.startswith("--")] or list(SCENARIOS)
    for n in names:
        sc = SCENARIOS[n]()
        print("wrote", sc.write(header="make_datapath.py " + n))


if __name__ == "__main__":
    main(sys.argv[1:])
