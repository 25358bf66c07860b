#!/usr/bin/python3
"""Host-stack scenarios for test/oracle/extra/: what the director's own Linux
stack does around IPVS (ARP, neighbour resolution, ICMP rate limits,
forwarding, local answers) and a few IPVS sysctls that change its datapath
(pmtu_disc, sloppy_sctp, conntrack).

usage: /usr/bin/python3 tools/oracle/make_host.py [NAME ...]

Writes test/oracle/extra/NAME/{setup,*.pcap,DESCRIPTION} (never expected/;
`/work/shared/oracle/examples.sh update test/oracle/extra NAME` stores that).
"""

import sys

sys.dont_write_bytecode = True

from make_datapath import Sctp, neigh, payload, v4_setup  # noqa: E402
from oracle_lib import (  # noqa: E402
    ICMP,
    IP,
    TCP,
    UDP,
    Ether,
    Flow,
    ICMPv6EchoRequest,
    IPv6,
    Net,
    Raw,
    Scenario,
    http_get,
    http_reply,
    rs_mac,
)
from scapy.layers.l2 import ARP  # noqa: E402
from scapy.layers.inet import IPOption_RR, IPOption_Timestamp  # noqa: E402
from scapy.layers.sctp import SCTPChunkData, SCTPChunkHeartbeatReq, SCTPChunkAbort  # noqa: E402

SCENARIOS = {}
BCAST = "ff:ff:ff:ff:ff:ff"


def scenario(fn):
    SCENARIOS[fn.__name__.replace("_", "-")] = fn
    return fn


def host_mac(addr):
    """MAC of an ordinary host on a director link: 02:00:00:00:0c:<last byte>."""
    return "02:00:00:00:0c:%02x" % int(addr.rsplit(".", 1)[1])


def arp_req(sc, iface, dir_mac, sha, spa, tpa, note, dst=BCAST, tha="00:00:00:00:00:00"):
    pkt = Ether(src=sha, dst=dst) / ARP(op=1, hwsrc=sha, psrc=spa, hwdst=tha, pdst=tpa)
    return sc.add(iface, pkt, "ARP who-has %s tell %s (%s)  %s" % (tpa, spa, sha, note))


def arp_reply(sc, iface, dir_mac, sha, spa, tpa, note):
    pkt = Ether(src=sha, dst=dir_mac) / ARP(op=2, hwsrc=sha, psrc=spa, hwdst=dir_mac, pdst=tpa)
    return sc.add(iface, pkt, "ARP reply %s is-at %s (to %s)  %s" % (spa, sha, tpa, note))


def ping(sc, iface, smac, dmac, src, dst, note="", ident=0x1234, seq=1, ttl=64, **ipkw):
    pkt = Ether(src=smac, dst=dmac) / IP(src=src, dst=dst, ttl=ttl, id=0x4000 + seq, **ipkw) / ICMP(
        type=8, id=ident, seq=seq) / Raw(b"ping" * 8)
    return sc.add(iface, pkt, "echo request %s > %s  %s" % (src, dst, note))


# ---------------------------------------------------------------------------
@scenario
def arp_director():
    sc = Scenario("arp-director", 6050)
    dm, sm = "02:00:00:00:01:01", "02:00:00:00:02:01"
    sc.lines(
        """# ARP answered and learned by the director: two subnets and the VIP on
# `client`, 10.50.0.0/24 on `server`
ip link set client address 02:00:00:00:01:01
ip addr add 172.16.50.1/24 dev client
ip addr add 172.16.51.1/24 dev client
ip addr add 172.16.50.100/32 dev client
ip link set server address 02:00:00:00:02:01
ip addr add 10.50.0.1/24 dev server
ip neigh add 172.16.50.254 lladdr 02:00:00:00:0e:01 dev client
ip neigh add 10.50.0.2 lladdr 02:00:00:00:0d:02 dev server
ip route add default via 172.16.50.254 dev client
ipvsadm -A -t 172.16.50.100:80 -s rr
ipvsadm -a -t 172.16.50.100:80 -r 10.50.0.2:80 -g -w 1"""
    )
    sc.text = """ARP requests to the director and unsolicited ARP, with the defaults
(arp_ignore 0, arp_accept 0), then arp_accept 1, arp_ignore 1 and 2.
The director has 172.16.50.1/24, 172.16.51.1/24 and the VIP
172.16.50.100/32 on `client`, 10.50.0.1/24 on `server`; static neighbours
172.16.50.254 (router, 02:00:00:00:0e:01) and 10.50.0.2 (real server).
Hosts 172.16.50.2xx use 02:00:00:00:0c:<last byte>.  Echo requests from
a host show whether the director learned its address (a direct reply) or
must resolve it (broadcast ARP probes, 3 at 1 s intervals); a learned
(STALE) entry used for a reply goes DELAY and then PROBE (unicast probes
after 5 s): the gaps below leave room for all of it."""
    rtr = "02:00:00:00:0e:01"
    rs = "02:00:00:00:0d:02"
    c, s = "client", "server"
    arp_req(sc, c, dm, rtr, "172.16.50.254", "172.16.50.1", "own address of the link")
    arp_req(sc, c, dm, rtr, "172.16.50.254", "172.16.50.100", "the VIP")
    arp_req(sc, c, dm, rtr, "172.16.50.254", "10.50.0.1", "address of the other link")
    arp_req(sc, c, dm, rtr, "172.16.50.254", "172.16.51.1", "second subnet of the link")
    arp_req(sc, c, dm, rtr, "172.16.50.254", "172.16.50.77", "not the director's")
    arp_req(sc, s, sm, rs, "10.50.0.2", "172.16.50.100", "the VIP, asked by the real server")
    arp_req(sc, s, sm, rs, "10.50.0.2", "10.50.0.1", "own address of the link")
    arp_req(sc, c, dm, host_mac("172.16.50.205"), "0.0.0.0", "172.16.50.1", "duplicate address probe")
    arp_req(sc, c, dm, rtr, "172.16.50.254", "172.16.50.1", "unicast request", dst=dm, tha=dm)
    arp_req(sc, c, dm, host_mac("172.16.50.201"), "172.16.50.201", "172.16.50.201", "gratuitous")
    arp_reply(sc, c, dm, host_mac("172.16.50.202"), "172.16.50.202", "172.16.50.1", "unsolicited")
    arp_req(sc, c, dm, "02:00:00:00:0e:99", "172.16.50.254", "172.16.50.254",
            "gratuitous, new MAC for a static neighbour")
    ping(sc, c, rtr, dm, "172.16.50.254", "172.16.50.1", "(reply to the static MAC)", seq=1)
    ping(sc, c, host_mac("172.16.50.201"), dm, "172.16.50.201", "172.16.50.1", "(learned?)", seq=2)
    sc.wait(4)
    ping(sc, c, host_mac("172.16.50.202"), dm, "172.16.50.202", "172.16.50.1", "(learned?)", seq=3)
    sc.wait(4)
    sc.cmd("sysctl -w net.ipv4.conf.all.arp_accept=1")
    arp_req(sc, c, dm, host_mac("172.16.50.203"), "172.16.50.203", "172.16.50.203", "gratuitous")
    arp_reply(sc, c, dm, host_mac("172.16.50.204"), "172.16.50.204", "172.16.50.1", "unsolicited")
    ping(sc, c, host_mac("172.16.50.203"), dm, "172.16.50.203", "172.16.50.1", "(learned?)", seq=4)
    ping(sc, c, host_mac("172.16.50.204"), dm, "172.16.50.204", "172.16.50.1", "(learned?)", seq=5)
    sc.wait(9.5)
    sc.cmd("sysctl -w net.ipv4.conf.all.arp_ignore=1")
    arp_req(sc, c, dm, rtr, "172.16.50.254", "10.50.0.1", "address of the other link")
    arp_req(sc, c, dm, rtr, "172.16.50.254", "172.16.50.100", "the VIP")
    arp_req(sc, c, dm, rtr, "172.16.50.254", "172.16.51.1", "second subnet of the link")
    arp_req(sc, s, sm, rs, "10.50.0.2", "172.16.50.100", "the VIP, asked by the real server")
    arp_req(sc, s, sm, rs, "10.50.0.2", "10.50.0.1", "own address of the link")
    sc.cmd("sysctl -w net.ipv4.conf.all.arp_ignore=2")
    arp_req(sc, c, dm, rtr, "172.16.50.254", "172.16.51.1", "sender outside that subnet")
    arp_req(sc, c, dm, "02:00:00:00:0e:02", "172.16.51.254", "172.16.51.1", "sender inside that subnet")
    arp_req(sc, c, dm, rtr, "172.16.50.254", "172.16.50.100", "the VIP (/32)")
    arp_req(sc, c, dm, rtr, "172.16.50.254", "172.16.50.1", "own address, sender in its subnet")
    arp_req(sc, s, sm, rs, "10.50.0.2", "172.16.50.100", "the VIP, asked by the real server")
    return sc


# ---------------------------------------------------------------------------
@scenario
def neigh_unresolved():
    sc = Scenario("neigh-unresolved", 6051)
    net = Net()
    sc.lines(
        """# real servers without a neighbour entry: clients behind the router
# 172.16.51.254 (2001:db8:51::fe), real servers on 10.51.0.0/24 and
# 2001:db8:51:1::/64, none of them in the neighbour table
ip link set client address 02:00:00:00:01:01
ip addr add 172.16.51.1/24 dev client
ip addr add 172.16.51.100/32 dev client
ip addr add 172.16.51.101/32 dev client
ip -6 addr add 2001:db8:51::1/64 dev client
ip -6 addr add 2001:db8:51::100/128 dev client
ip link set server address 02:00:00:00:02:01
ip addr add 10.51.0.1/24 dev server
ip -6 addr add 2001:db8:51:1::1/64 dev server
ip neigh add 172.16.51.254 lladdr 02:00:00:00:0e:01 dev client
ip neigh add 2001:db8:51::fe lladdr 02:00:00:00:0e:01 dev client
ip route add default via 172.16.51.254 dev client
ip -6 route add default via 2001:db8:51::fe dev client
sysctl -w net.ipv4.ip_forward=1
ipvsadm -A -t 172.16.51.100:80 -s rr
ipvsadm -a -t 172.16.51.100:80 -r 10.51.0.2:80 -g -w 1
ipvsadm -A -t 172.16.51.101:80 -s rr
ipvsadm -a -t 172.16.51.101:80 -r 10.51.0.3:8080 -m -w 1
ipvsadm -A -t [2001:db8:51::100]:80 -s rr
ipvsadm -a -t [2001:db8:51::100]:80 -r [2001:db8:51:1::2]:80 -g -w 1"""
    )
    sc.text = """Real servers the director has no neighbour entry for: LVS-DR
172.16.51.100:80 -> 10.51.0.2, LVS-NAT 172.16.51.101:80 -> 10.51.0.3:8080,
IPv6 LVS-DR [2001:db8:51::100]:80 -> 2001:db8:51:1::2.  Nothing ever
answers the director's ARP requests / neighbour solicitations (the
harness leaves multicast neighbour solicitations out of the captures and
lists them as `ignored` in trace.tsv).  Shows how many probes, when, from
which source address (arp_announce 0, then 2), what happens to the
packets queued meanwhile (ICMP host / address unreachable when resolution
fails), and a new packet for a FAILED neighbour.  Gaps of 4 s let each
resolution run to its end."""
    mk = lambda caddr, port, vip: Flow(sc, net, caddr, port, vip, 80)  # noqa: E731
    a = mk("203.0.113.11", 40001, "172.16.51.100")
    a.c("S", note="(DR, 10.51.0.2 unresolved)")
    a.c("A")
    a.c("PA", payload=http_get(1))
    sc.wait(4)
    b = mk("198.51.100.12", 40002, "172.16.51.100")
    b.c("S", note="(DR, 10.51.0.2 FAILED 1 s ago)")
    sc.wait(4)
    c = mk("192.0.2.13", 40003, "172.16.51.101")
    c.c("S", note="(NAT, 10.51.0.3 unresolved)")
    c.c("A")
    sc.wait(4)
    dm, sm = "02:00:00:00:01:01", "02:00:00:00:02:01"
    ping(sc, "server", "02:00:00:00:0d:09", sm, "10.51.0.9", "172.16.51.100",
         "(the reply from the VIP needs 10.51.0.9: arp_announce 0)", seq=1)
    sc.wait(4)
    sc.cmd("sysctl -w net.ipv4.conf.all.arp_announce=2")
    ping(sc, "server", "02:00:00:00:0d:0a", sm, "10.51.0.10", "172.16.51.100", "(arp_announce 2)", seq=2)
    sc.wait(4)
    d = mk("2001:db8:77::14", 40004, "2001:db8:51::100")
    d.c("S", note="(IPv6 DR, 2001:db8:51:1::2 unresolved)")
    d.c("A")
    sc.wait(4)
    ping(sc, "client", net.router_mac, dm, "172.16.51.254", "172.16.51.1", "(end)", seq=3)
    return sc


# ---------------------------------------------------------------------------
@scenario
def icmp_ratelimit():
    sc = Scenario("icmp-ratelimit", 6052)
    net = Net()
    vip = v4_setup(sc, "ICMP rate limits", 52)
    sc.lines(
        """ip -6 addr add 2001:db8:52::1/64 dev client
ip -6 addr add 2001:db8:52::100/128 dev client
ip neigh add 2001:db8:52::10 lladdr 02:00:00:00:0c:10 dev client
ip neigh add 2001:db8:52::11 lladdr 02:00:00:00:0c:11 dev client
ip -6 route add 2001:db8:52::11/128 dev client
ip neigh add 10.52.0.2 lladdr 02:00:00:00:0d:02 dev server
sysctl -w net.ipv4.icmp_ratelimit=10000
sysctl -w net.ipv6.icmp.ratelimit=40000
ipvsadm -A -t 172.16.52.100:80 -s rr
ipvsadm -a -t 172.16.52.100:80 -r 10.52.0.2:80 -g -w 1"""
    )
    sc.text = """ICMP rate limits toward one client.  The director (VIP 172.16.52.100,
LVS-DR :80 -> 10.52.0.2; IPv6 2001:db8:52::1/64 and ::100 on `client`)
answers clients A (203.0.113.21, behind the router) and B
(198.51.100.22), and IPv6 clients C (2001:db8:52::10, on the /64) and D
(2001:db8:52::11, with a /128 host route).  Per-peer token bucket
(inet_peer_xrlim_allow): up to 6 messages saved, a new peer starts with
60 s of tokens.  The limits are made long (icmp_ratelimit 10 s; IPv6
ratelimit 40 s, shifted right by (128 - route prefix)/32: 10 s for C, 40 s
for D, who starts with 60 s = 1 message) so that the outcome does not
depend on how fast the harness injects the frames: a burst, a 25 s gap
(2 more messages for A and C, 1 for D), a burst.  RSTs and echo replies
are never limited; port unreachable and time exceeded are (ratemask
0x1818), then port unreachable not (ratemask 0x1800: time exceeded, bit
11, still is), then icmp_ratelimit 0.  The global
limit (icmp_msgs_burst 50, refilled at 1000/s) is not reached: it consumes
0-2 credits at random per message, so exhausting it would not be
reproducible."""
    A, B = ("203.0.113.21", 41000), ("198.51.100.22", 42000)
    C, D = ("2001:db8:52::10", 43000), ("2001:db8:52::11", 44000)
    cnet = Net(router_mac="02:00:00:00:0c:10")
    dnet = Net(router_mac="02:00:00:00:0c:11")
    port = [0]

    def fl(cl, dport, proto="tcp"):
        port[0] += 1
        return Flow(sc, net, cl[0], cl[1] + port[0], vip, dport, proto=proto)

    def fl6(cl, n, dport=9):
        port[0] += 1
        return Flow(sc, n, cl[0], cl[1] + port[0], "2001:db8:52::100", dport, proto="udp")

    for i in range(3):
        fl(A, 81).c("S", note="(closed port: RST)")
    for i in range(10):
        fl(A, 9, "udp").c(payload=payload(20), note="(closed port)")
    for i in range(2):
        fl(A, 80).c("S", ttl=1, note="(TTL 1: scheduled, time exceeded)")
    for i in range(3):
        fl(B, 9, "udp").c(payload=payload(20), note="(client B)")
    for i in range(3):
        ping(sc, "client", net.router_mac, net.dir_client_mac, A[0], vip, "(client A)", seq=10 + i)
    for i in range(8):
        fl6(C, cnet).c(payload=payload(20), note="(C, IPv6 /64)")
    for i in range(3):
        fl6(D, dnet).c(payload=payload(20), note="(D, IPv6 /128)")
    sc.wait(25)
    for i in range(4):
        fl(A, 9, "udp").c(payload=payload(20), note="(A, 25 s later)")
    for i in range(4):
        fl6(C, cnet).c(payload=payload(20), note="(C, 25 s later)")
    for i in range(3):
        fl6(D, dnet).c(payload=payload(20), note="(D, 25 s later)")
    sc.cmd("sysctl -w net.ipv4.icmp_ratemask=6144")
    for i in range(3):
        fl(A, 9, "udp").c(payload=payload(20), note="(ratemask 0x1800: unlimited)")
    for i in range(2):
        fl(A, 80).c("S", ttl=1, note="(TTL 1, ratemask 0x1800: time exceeded still limited)")
    sc.cmd("sysctl -w net.ipv4.icmp_ratemask=6168")
    sc.cmd("sysctl -w net.ipv4.icmp_ratelimit=0")
    for i in range(3):
        fl(A, 9, "udp").c(payload=payload(20), note="(ratelimit 0)")
    return sc


# ---------------------------------------------------------------------------
@scenario
def forward_redirect():
    sc = Scenario("forward-redirect", 6053, step_us=250000)
    net = Net()
    sc.lines(
        """# the director as a router: 172.16.53.0/24 on `client` with routers
# .254 (clients 203.0.113.0/24) and .253 (198.18.0.0/24), 10.53.0.0/24 on
# `server` with router .254 to 10.53.1.0/24 (route MTU 1300); no default route
ip link set client address 02:00:00:00:01:01
ip addr add 172.16.53.1/24 dev client
ip addr add 172.16.53.100/32 dev client
ip link set server address 02:00:00:00:02:01
ip addr add 10.53.0.1/24 dev server
ip neigh add 172.16.53.254 lladdr 02:00:00:00:0e:01 dev client
ip neigh add 172.16.53.253 lladdr 02:00:00:00:0e:02 dev client
ip neigh add 172.16.53.20 lladdr 02:00:00:00:0c:14 dev client
ip neigh add 10.53.0.254 lladdr 02:00:00:00:0d:fe dev server
ip neigh add 10.53.0.2 lladdr 02:00:00:00:0d:02 dev server
ip neigh add 10.53.0.9 lladdr 02:00:00:00:0d:09 dev server
ip route add 203.0.113.0/24 via 172.16.53.254 dev client
ip route add 198.18.0.0/24 via 172.16.53.253 dev client
ip route add 10.53.1.0/24 via 10.53.0.254 dev server mtu 1300
sysctl -w net.ipv4.ip_forward=1
ipvsadm -A -t 172.16.53.100:80 -s rr
ipvsadm -a -t 172.16.53.100:80 -r 10.53.0.2:80 -g -w 1"""
    )
    sc.text = """Forwarding by the director (ip_forward=1), frames 250 ms apart.  An
on-link host 172.16.53.20 and clients behind the router .254 send packets
that leave by the link they came in on (to 198.18.0.0/24 via .253): ICMP
redirect (host, gateway .253) and forwarded, with the redirect back-off
(the n-th redirect to a sender waits 20 ms << n); TTL 1 (time exceeded);
DF and non-DF packets larger than the 1300-byte route MTU to 10.53.1.0/24
(fragmentation needed / fragmented); a destination without route (no
default route: network unreachable); then ip_forward=0 (silently dropped)."""
    dm = net.dir_client_mac
    h20 = "02:00:00:00:0c:14"

    def pkt(smac, src, dst, note, size=0, ttl=64, flags="DF", ident=0x1000, dport=80, iface="client", dmac=dm):
        body = TCP(sport=33000 + (ident & 0xFFF), dport=dport, flags="S", seq=ident * 1000, window=64240)
        p = Ether(src=smac, dst=dmac) / IP(src=src, dst=dst, ttl=ttl, flags=flags, id=ident) / body
        if size:
            p = p / Raw(payload(size - 40))
        return sc.add(iface, p, "TCP %s > %s:%d ttl %d %s%s  %s" % (
            src, dst, dport, ttl, flags or "-", (" %d bytes" % size) if size else "", note))

    for i in range(5):
        pkt(h20, "172.16.53.20", "198.18.0.5", "(on-link sender, out the same link)", ident=0x2000 + i)
    pkt(net.router_mac, "203.0.113.30", "198.18.0.6", "(remote sender, out the same link)", ident=0x2100)
    pkt(net.router_mac, "203.0.113.31", "10.53.0.9", "(to the server link)", ident=0x2200)
    pkt(net.router_mac, "203.0.113.32", "10.53.0.9", "(TTL 1)", ttl=1, ident=0x2300)
    pkt(net.router_mac, "203.0.113.32", "10.53.1.9", "(route MTU 1300)", size=1400, ident=0x2400)
    pkt(net.router_mac, "203.0.113.33", "10.53.1.9", "(route MTU 1300)", size=1400, flags=0, ident=0x2500)
    pkt(net.router_mac, "203.0.113.34", "10.53.1.9", "(fits)", size=1300, ident=0x2600)
    pkt(net.router_mac, "203.0.113.35", "192.0.2.77", "(no route)", ident=0x2700)
    pkt(net.router_mac, "203.0.113.35", "192.0.2.78", "(no route)", ident=0x2701)
    pkt("02:00:00:00:0d:02", "10.53.0.2", "203.0.113.36", "(from the server link)", iface="server",
        dmac=net.dir_server_mac, ident=0x2800)
    sc.cmd("sysctl -w net.ipv4.ip_forward=0")
    pkt(h20, "172.16.53.20", "198.18.0.5", "(ip_forward=0)", ident=0x2900)
    pkt(net.router_mac, "203.0.113.31", "10.53.0.9", "(ip_forward=0)", ident=0x2a00)
    pkt(net.router_mac, "203.0.113.37", "192.0.2.77", "(ip_forward=0, no route)", ident=0x2b00)
    pkt(net.router_mac, "203.0.113.38", "172.16.53.100", "(the VIP still works)", ident=0x2c00)
    return sc


# ---------------------------------------------------------------------------
@scenario
def tun_pmtu_disc():
    sc = Scenario("tun-pmtu-disc", 6054)
    net = Net()
    vip = v4_setup(sc, "LVS-TUN, pmtu_disc 0 and IPv6 outer headers", 54)
    sc.lines(
        """ip -6 addr add 2001:db8:54::1/64 dev server
ip neigh add 10.54.0.2 lladdr 02:00:00:00:0d:02 dev server
ip neigh add 2001:db8:54::3 lladdr 02:00:00:00:0d:03 dev server
ip neigh add 2001:db8:54::4 lladdr 02:00:00:00:0d:04 dev server
ip neigh add 2001:db8:54::5 lladdr 02:00:00:00:0d:05 dev server
ip neigh add 2001:db8:54::6 lladdr 02:00:00:00:0d:06 dev server
sysctl -w net.ipv4.vs.pmtu_disc=0
ipvsadm -A -t 172.16.54.100:80 -s rr
ipvsadm -a -t 172.16.54.100:80 -r 10.54.0.2:80 -i -w 1
ipvsadm -A -t 172.16.54.100:81 -s rr
ipvsadm -a -t 172.16.54.100:81 -r [2001:db8:54::3]:81 -i --tun-type gue --tun-port 6080 --tun-nocsum -w 1
ipvsadm -A -t 172.16.54.100:82 -s rr
ipvsadm -a -t 172.16.54.100:82 -r [2001:db8:54::4]:82 -i --tun-type gue --tun-port 6080 --tun-csum -w 1
ipvsadm -A -t 172.16.54.100:83 -s rr
ipvsadm -a -t 172.16.54.100:83 -r [2001:db8:54::5]:83 -i --tun-type gre --tun-nocsum -w 1
ipvsadm -A -t 172.16.54.100:84 -s rr
ipvsadm -a -t 172.16.54.100:84 -r [2001:db8:54::6]:84 -i --tun-type gre --tun-csum -w 1"""
    )
    sc.text = """LVS-TUN with net.ipv4.vs.pmtu_disc=0, and GUE / GRE tunnels with an
IPv6 outer header under an IPv4 service.  :80 -> 10.54.0.2 (IPIP);
:81 -> [2001:db8:54::3] GUE port 6080 nocsum; :82 -> [::4] GUE csum;
:83 -> [::5] GRE nocsum; :84 -> [::6] GRE csum.  Each connection: SYN,
ACK, a small segment, a 1400-byte and a 1500-byte DF segment (too big
once encapsulated: with pmtu_disc=0 the director does not refuse it);
:80 also a 1500-byte segment without DF."""
    k = [0]
    for port in (80, 81, 82, 83, 84):
        k[0] += 1
        f = Flow(sc, net, "203.0.113.%d" % (40 + k[0]), 44000 + k[0], vip, port)
        f.c("S")
        f.c("A")
        f.c("PA", payload=http_get(k[0]))
        f.c("PA", payload=payload(1360), note="1400-byte packet")
        f.c("PA", payload=payload(1460), note="1500-byte packet")
        if port == 80:
            f.c("PA", payload=payload(1460), ip={"flags": 0}, note="1500-byte packet, DF clear")
    return sc


# ---------------------------------------------------------------------------
@scenario
def local_stack():
    sc = Scenario("local-stack", 6055)
    net = Net()
    vip = v4_setup(sc, "the director's own stack", 55)
    sc.lines(
        """ip -6 addr add 2001:db8:55::1/64 dev client
ip neigh add 2001:db8:55::fe lladdr 02:00:00:00:0e:01 dev client
ip -6 route add default via 2001:db8:55::fe dev client
ip neigh add 10.55.0.2 lladdr 02:00:00:00:0d:02 dev server
ipvsadm -A -t 172.16.55.100:80 -s rr
ipvsadm -a -t 172.16.55.100:80 -r 10.55.0.2:80 -g -w 1"""
    )
    sc.text = """The director's own stack (no forwarding): VIP 172.16.55.100 (LVS-DR :80
-> 10.55.0.2), director 172.16.55.1/24 and 2001:db8:55::1/64 on `client`.
TCP to the director's own address (SYN, SYN with data, FIN, FIN+ACK,
RST), segments without IPVS entry to the VIP, an unknown IP protocol
(protocol unreachable), IPv6 with an unknown next header (parameter
problem), the subnet broadcast and multicast (nothing answered), IP
options (record route; timestamp with prespecified addresses that are not
the director's) echoed in a RST, a port unreachable and an echo reply,
bad TCP / UDP checksums to closed ports (dropped).  An ICMP timestamp
request is left out: the reply carries the kernel's time of day."""
    rtr, dm = net.router_mac, net.dir_client_mac
    me = "172.16.55.1"
    A = "203.0.113.51"

    def tcp(dst, flags, note, sport=45000, dport=22, seq=1000, ack=0, data=b"", ipkw=None, dmac=dm, chk=None, src=A,
            smac=rtr):
        t = TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=64240)
        if chk is not None:
            t.chksum = chk
        p = Ether(src=smac, dst=dmac) / IP(src=src, dst=dst, ttl=64, id=0x3000 + sport % 4096, **(ipkw or {})) / t
        if data:
            p = p / Raw(data)
        return sc.add("client", p, "TCP %s %s:%d > %s:%d%s  %s" % (
            flags, src, sport, dst, dport, (" %d bytes" % len(data)) if data else "", note))

    def udp(dst, note, sport=46000, dport=9, ipkw=None, dmac=dm, chk=None, src=A, smac=rtr):
        u = UDP(sport=sport, dport=dport)
        if chk is not None:
            u.chksum = chk
        p = Ether(src=smac, dst=dmac) / IP(src=src, dst=dst, ttl=64, id=0x5000 + sport % 4096, **(ipkw or {})) / u / \
            Raw(payload(24))
        return sc.add("client", p, "UDP %s:%d > %s:%d  %s" % (src, sport, dst, dport, note))

    tcp(me, "S", "(director's address, closed port)", sport=45001)
    tcp(me, "S", "(SYN with data)", sport=45002, data=http_get(1, 40))
    tcp(me, "F", "(bare FIN)", sport=45003, seq=5000)
    tcp(me, "FA", "(FIN+ACK)", sport=45004, seq=6000, ack=7000)
    tcp(me, "PA", "(data)", sport=45005, seq=8000, ack=9000, data=b"hello")
    tcp(me, "R", "(RST: nothing)", sport=45006, seq=8000)
    tcp(vip, "F", "(bare FIN to the VIP, no entry)", sport=45007, dport=80, seq=10000)
    tcp(vip, "FA", "(FIN+ACK to the VIP, no entry)", sport=45008, dport=80, seq=11000, ack=12000)
    tcp(vip, "SA", "(SYN-ACK to the VIP, no entry)", sport=45009, dport=80, seq=13000, ack=14000)
    # unknown protocol
    p = Ether(src=rtr, dst=dm) / IP(src=A, dst=me, ttl=64, id=0x6001, proto=253) / Raw(payload(32))
    sc.add("client", p, "IP protocol 253 %s > %s" % (A, me))
    p = Ether(src=rtr, dst=dm) / IP(src=A, dst=vip, ttl=64, id=0x6002, proto=253) / Raw(payload(32))
    sc.add("client", p, "IP protocol 253 %s > %s (VIP)" % (A, vip))
    p = Ether(src=rtr, dst=dm) / IPv6(src="2001:db8:99::51", dst="2001:db8:55::1", nh=253) / Raw(payload(32))
    sc.add("client", p, "IPv6 next header 253 2001:db8:99::51 > 2001:db8:55::1")
    # broadcast / multicast
    udp("172.16.55.255", "(subnet broadcast)", sport=46001, dmac=BCAST, src="172.16.55.30",
        smac=host_mac("172.16.55.30"))
    udp("255.255.255.255", "(limited broadcast)", sport=46002, dmac=BCAST, src="172.16.55.30",
        smac=host_mac("172.16.55.30"))
    ping(sc, "client", host_mac("172.16.55.30"), BCAST, "172.16.55.30", "172.16.55.255", "(broadcast)", seq=1)
    udp("224.0.0.1", "(all-hosts group)", sport=46003, dmac="01:00:5e:00:00:01", src="172.16.55.30",
        smac=host_mac("172.16.55.30"))
    udp("239.1.2.3", "(group not joined)", sport=46004, dmac="01:00:5e:01:02:03", src="172.16.55.30",
        smac=host_mac("172.16.55.30"))
    ping(sc, "client", host_mac("172.16.55.30"), "01:00:5e:00:00:01", "172.16.55.30", "224.0.0.1", "(all-hosts)",
         seq=2)
    tcp("172.16.55.255", "S", "(SYN to the broadcast address)", sport=45010, dmac=BCAST, src="172.16.55.30",
        smac=host_mac("172.16.55.30"))
    udp(me, "(unicast IP in a broadcast frame)", sport=46005, dmac=BCAST, src="172.16.55.30",
        smac=host_mac("172.16.55.30"))
    # IP options
    rr = IPOption_RR(routers=["0.0.0.0"] * 4)
    tcp(me, "S", "(record route)", sport=45011, ipkw={"options": [rr]})
    udp(me, "(record route)", sport=46006, ipkw={"options": [rr]})
    ping(sc, "client", rtr, dm, A, me, "(record route)", seq=3, options=[rr])
    ts = IPOption_Timestamp(flg=3, length=12, pointer=5, timestamp=0, internet_address="192.0.2.9")
    ping(sc, "client", rtr, dm, A, me, "(timestamp, prespecified 192.0.2.9)", seq=4, options=[ts])
    tcp(vip, "S", "(record route, port without service)", sport=45012, dport=81, ipkw={"options": [rr]})
    # bad checksums
    tcp(me, "S", "(bad TCP checksum)", sport=45013, chk=0x1234)
    udp(me, "(bad UDP checksum)", sport=46007, chk=0x1234)
    udp(me, "(UDP checksum 0: none)", sport=46008, chk=0)
    return sc


# ---------------------------------------------------------------------------
@scenario
def sctp_sloppy():
    sc = Scenario("sctp-sloppy", 6056)
    net = Net()
    vip = v4_setup(sc, "SCTP, sloppy_sctp", 56, nat=True)
    sc.lines(
        """ipvsadm -A --sctp-service 172.16.56.100:5000 -s rr
ip neigh add 10.56.0.11 lladdr 02:00:00:00:0d:0b dev server
ipvsadm -a --sctp-service 172.16.56.100:5000 -r 10.56.0.11:5000 -g -w 1
ipvsadm -A --sctp-service 172.16.56.100:5001 -s rr
ip neigh add 10.56.0.21 lladdr 02:00:00:00:0d:15 dev server
ipvsadm -a --sctp-service 172.16.56.100:5001 -r 10.56.0.21:6001 -m -w 1"""
    )
    sc.text = """SCTP packets that are not an INIT on a service without entry, first with
sloppy_sctp=0 (not scheduled: the local stack, which has no SCTP, answers
protocol unreachable), then with sloppy_sctp=1 (a DATA / HEARTBEAT chunk
creates an entry and is forwarded); LVS-DR :5000 -> 10.56.0.11 and
LVS-NAT :5001 -> 10.56.0.21:6001 (with the server's answer)."""

    def data(a, n):
        return SCTPChunkData(tsn=a.ctsn + n, stream_id=0, stream_seq=n, data=payload(40))

    a = Sctp(sc, net, "203.0.113.61", 47001, vip, 5000)
    a.c(data(a, 0), vtag=0x11111111, note="DATA, no entry (sloppy 0)")
    b = Sctp(sc, net, "203.0.113.62", 47002, vip, 5001, rip="10.56.0.21", rport=6001)
    b.c(SCTPChunkHeartbeatReq(), vtag=0x22222222, note="HEARTBEAT, no entry (sloppy 0)")
    sc.cmd("sysctl -w net.ipv4.vs.sloppy_sctp=1")
    a.c(data(a, 1), vtag=0x11111111, note="DATA, no entry (sloppy 1)")
    a.c(data(a, 2), vtag=0x11111111, note="DATA")
    b.c(SCTPChunkHeartbeatReq(), vtag=0x22222222, note="HEARTBEAT, no entry (sloppy 1)")
    b.s(SCTPChunkData(tsn=b.stsn, stream_id=0, stream_seq=0, data=payload(30)), vtag=0x33333333)
    c = Sctp(sc, net, "203.0.113.63", 47003, vip, 5000)
    c.c(SCTPChunkAbort(), vtag=0x44444444, note="ABORT, no entry (sloppy 1)")
    d = Sctp(sc, net, "203.0.113.64", 47004, vip, 5000)
    d.init(note="INIT (sloppy 1)")
    return sc


# ---------------------------------------------------------------------------
@scenario
def conntrack_on():
    sc = Scenario("conntrack-on", 6057)
    net = Net()
    vip = v4_setup(sc, "LVS-NAT with net.ipv4.vs.conntrack=1", 57, nat=True)
    sc.lines(
        """sysctl -w net.ipv4.vs.conntrack=1
ip neigh add 10.57.0.11 lladdr 02:00:00:00:0d:0b dev server
ip neigh add 10.57.0.12 lladdr 02:00:00:00:0d:0c dev server
ipvsadm -A -t 172.16.57.100:80 -s rr
ipvsadm -a -t 172.16.57.100:80 -r 10.57.0.11:8080 -m -w 1
ipvsadm -a -t 172.16.57.100:80 -r 10.57.0.12:8080 -m -w 1"""
    )
    sc.text = """LVS-NAT rr over 10.57.0.12 and .11 (list order) with
net.ipv4.vs.conntrack=1 and conn_reuse_mode 1: connections closed to
TIME_WAIT and CLOSE, then a SYN reusing each client port.  Per the source
(ip_vs_in_hook) an entry made while conntrack=1 carries
IP_VS_CONN_F_NFCT, and a SYN that reuses it expires it and is dropped (the
client's retransmission 1 s later is scheduled anew); the same with
conntrack switched off again (@T) for entries made before and after."""
    rips = ["10.57.0.12", "10.57.0.11"]
    k = [0]

    def flow(n):
        k[0] += 1
        f = Flow(sc, net, "203.0.113.%d" % (70 + k[0]), 48000 + k[0], vip, 80)
        f.rip, f.rport = rips[n % 2], 8080
        return f

    a, b = flow(0), flow(1)
    for f in (a, b):
        f.c("S"), f.s("SA"), f.c("A")
        f.c("PA", payload=http_get(1)), f.s("PA", payload=http_reply(1))
    a.c("FA"), a.s("FA"), a.c("A", note="(A: TIME_WAIT)")
    b.c("R", note="(B: CLOSE)")
    a.rip = rips[0]
    a.c("S", note="(A reuses its port)")
    b.c("S", note="(B reuses its port)")
    sc.wait(1)
    a.c("S", note="(A retransmits)")
    a.rip = rips[0]
    b.c("S", note="(B retransmits)")
    sc.cmd("sysctl -w net.ipv4.vs.conntrack=0")
    c = flow(0)
    c.c("S"), c.c("A"), c.c("R", note="(C: CLOSE, made with conntrack 0)")
    c.c("S", note="(C reuses its port)")
    a.c("R", note="(A: CLOSE, made with conntrack 1)")
    a.c("S", note="(A reuses its port, conntrack now 0)")
    return sc


def main(argv):
    names = [a for a in argv if not a.startswith("--")] or list(SCENARIOS)
    for n in names:
        sc = SCENARIOS[n]()
        print("wrote", sc.write(header="make_host.py " + n))


if __name__ == "__main__":
    main(sys.argv[1:])
