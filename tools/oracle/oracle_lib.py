"""Helpers to author IPVS oracle scenarios (test/oracle/extra/NAME).

A scenario is a directory with `setup` (the director's commands), one input
capture per director interface (`NAME.pcap`, classic pcap, microseconds) and a
`DESCRIPTION`; /work/shared/oracle/README.md describes the format.  The
scripts that use this module build every input frame with scapy, from fixed
seeds, so that running them again rewrites byte-identical files:

* timestamps start at 1700000000.000000 and advance 1 ms per frame
  (`Scenario.wait()` inserts a larger gap);
* MAC addresses are 02:00:00:00:xx:yy as in the original scenarios: the
  director's interfaces 02:00:00:00:01:01 (client) and 02:00:00:00:02:01
  (server), the client-side router 02:00:00:00:0e:01, real server
  10.NN.0.K -> 02:00:00:00:0d:<K in hex>;
* `@T` timed commands are attached to the next frame added (T = that frame's
  offset from the first one), so they run just before it is injected.

Run with Debian's /usr/bin/python3 (python3-scapy).
"""

import os
import random
import struct

from scapy.all import (  # noqa: F401  (re-exported for the scenario scripts)
    ICMP,
    IP,
    SCTP,
    TCP,
    UDP,
    Ether,
    ICMPv6DestUnreach,
    ICMPv6EchoRequest,
    ICMPv6PacketTooBig,
    IPerror,
    IPv6,
    IPv6ExtHdrFragment,
    Raw,
    TCPerror,
    UDPerror,
)

T0 = 1700000000
ROUTER_MAC = "02:00:00:00:0e:01"
DIR_CLIENT_MAC = "02:00:00:00:01:01"
DIR_SERVER_MAC = "02:00:00:00:02:01"
SYN_OPTS = [("MSS", 1460), ("NOP", None), ("NOP", None), ("SAckOK", b""), ("NOP", None), ("WScale", 7)]
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EXTRA = os.path.join(ROOT, "test", "oracle", "extra")


def rs_mac(addr):
    """MAC of a real server: 02:00:00:00:0d:<last byte of its address>."""
    if ":" in addr:
        last = int(addr.rsplit(":", 1)[1] or "0", 16) & 0xFF
    else:
        last = int(addr.rsplit(".", 1)[1])
    return "02:00:00:00:0d:%02x" % last


def write_pcap(path, frames):
    """Classic pcap (LE, microseconds, snaplen 262144, Ethernet): frames = [(t_us, bytes)]."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for t_us, data in frames:
            sec, usec = divmod(T0 * 1000000 + t_us, 1000000)
            f.write(struct.pack("<IIII", sec, usec, len(data), len(data)))
            f.write(data)


class Scenario:
    """Collects the frames of a scenario (per interface, with timestamps), its
    setup lines, timed commands and description, and writes the directory."""

    def __init__(self, name, seed, step_us=1000):
        self.name = name
        self.rng = random.Random(seed)
        self.step_us = step_us
        self.t_us = 0
        self.frames = []  # (t_us, iface, bytes, note)
        self.setup = []
        self.timed = []  # (at, command)
        self.text = ""
        self.model = None  # optional model.Director fed by the flows

    # -- setup ----------------------------------------------------------
    def lines(self, text):
        for line in text.strip("\n").split("\n"):
            self.setup.append(line.rstrip())

    def at(self):
        """Offset (s) of the next frame, as an @T string."""
        return "%.3f" % (self.t_us / 1e6) if self.t_us % 1000 == 0 else "%.6f" % (self.t_us / 1e6)

    def cmd(self, command, apply=None):
        """A timed command run just before the next frame; `apply` updates the model."""
        self.timed.append((self.at(), command))
        self.frames.append((self.t_us, None, None, "@%s %s" % (self.at(), command)))
        if apply is not None:
            apply()

    def wait(self, seconds):
        """Leave a gap of `seconds` before the next frame (real time with timing=1)."""
        self.t_us += int(round(seconds * 1e6))

    # -- frames ---------------------------------------------------------
    def add(self, iface, pkt, note=""):
        idx = sum(1 for f in self.frames if f[1] is not None)
        self.frames.append((self.t_us, iface, bytes(pkt), note))
        self.t_us += self.step_us
        return idx

    def rand_client(self, used=None):
        """A client address from the documentation / shared ranges, and a port."""
        while True:
            r = self.rng.randrange(4)
            if r == 0:
                a = "203.0.113.%d" % self.rng.randrange(2, 254)
            elif r == 1:
                a = "198.51.100.%d" % self.rng.randrange(2, 254)
            elif r == 2:
                a = "192.0.2.%d" % self.rng.randrange(2, 254)
            else:
                a = "100.64.%d.%d" % (self.rng.randrange(0, 256), self.rng.randrange(2, 254))
            p = self.rng.randrange(1024, 65536)
            if used is None or a not in used:
                if used is not None:
                    used.add(a)
                return a, p

    # -- output ---------------------------------------------------------
    def write(self, base=EXTRA, header=""):
        d = os.path.join(base, self.name)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.endswith(".pcap"):
                os.remove(os.path.join(d, f))
        ifaces = []
        for _, iface, _, _ in self.frames:
            if iface is not None and iface not in ifaces:
                ifaces.append(iface)
        for iface in ifaces:
            write_pcap(os.path.join(d, iface + ".pcap"), [(t, b) for t, i, b, _ in self.frames if i == iface])
        setup = list(self.setup)
        if self.timed:
            setup += ["", "# timed commands: run when the replay reaches the first frame at or after",
                      "# first-frame-timestamp + SECONDS, just before it is injected"]
            setup += ["@%s %s" % (t, c) for t, c in self.timed]
        with open(os.path.join(d, "setup"), "w") as f:
            f.write("\n".join(setup) + "\n")
        out = [self.text.strip("\n"), "",
               "Made by tools/oracle/%s (scapy, fixed seed; timestamps from %d.000000,"
               % (header or "make_*.py", T0),
               "1 ms apart unless a gap is shown).  Input frames in injection order",
               "(index as in trace.tsv, offset from the first frame, interface):", ""]
        k = 0
        for t, iface, data, note in self.frames:
            if iface is None:
                out.append("          %s" % note)
                continue
            out.append("%4d %8.3f %-6s %s" % (k, t / 1e6, iface, note))
            k += 1
        with open(os.path.join(d, "DESCRIPTION"), "w") as f:
            f.write("\n".join(out).rstrip() + "\n")
        return d


class Net:
    """The usual two-interface director: clients behind a router on `client`,
    real servers on `server`."""

    def __init__(self, client_if="client", server_if="server", router_mac=ROUTER_MAC,
                 dir_client_mac=DIR_CLIENT_MAC, dir_server_mac=DIR_SERVER_MAC):
        self.client_if = client_if
        self.server_if = server_if
        self.router_mac = router_mac
        self.dir_client_mac = dir_client_mac
        self.dir_server_mac = dir_server_mac


def describe(flags):
    names = {"S": "SYN", "SA": "SYN-ACK", "A": "ACK", "PA": "data", "FA": "FIN", "R": "RST", "RA": "RST"}
    return names.get(flags, flags)


class Flow:
    """One TCP/UDP/SCTP conversation between a client and a virtual service
    (and, for NAT, the real server that answers it).

    Client frames go to the VIP; server frames (NAT) come from rip:rport.
    Sequence numbers follow the conversation so that the frames look real.
    """

    def __init__(self, sc, net, caddr, cport, vaddr, vport, proto="tcp", rip=None, rport=None, tag=""):
        self.sc = sc
        self.net = net
        self.caddr, self.cport = caddr, cport
        self.vaddr, self.vport = vaddr, vport
        self.proto = proto
        self.rip, self.rport = rip, rport
        self.v6 = ":" in caddr
        self.cisn = sc.rng.randrange(1 << 32)
        self.sisn = sc.rng.randrange(1 << 32)
        self.cseq = self.cisn
        self.sseq = self.sisn
        self.cid = sc.rng.randrange(1 << 16)
        self.sid = sc.rng.randrange(1 << 16)
        self.synacked = False
        self.tag = tag
        self.vtag = sc.rng.randrange(1, 1 << 32)  # SCTP

    def _ip(self, src, dst, ttl, ident, **kw):
        if self.v6:
            return IPv6(src=src, dst=dst, hlim=ttl, **kw)
        flags = kw.pop("flags", "DF")
        return IP(src=src, dst=dst, ttl=ttl, id=ident & 0xFFFF, flags=flags, **kw)

    def label(self):
        fmt = "[%s]:%d" if self.v6 else "%s:%d"
        return fmt % (self.caddr, self.cport)

    # -- client side ----------------------------------------------------
    def c(self, flags="A", payload=b"", note=None, ttl=64, ip=None, tcp=None, win=502):
        """A client frame to the VIP (TCP flags, or UDP when proto == 'udp')."""
        ipkw = dict(ip or {})
        l3 = self._ip(self.caddr, self.vaddr, ttl, self.cid, **ipkw)
        self.cid += 1
        if self.proto == "udp":
            l4 = UDP(sport=self.cport, dport=self.vport)
            what = "UDP %d bytes" % len(payload)
        else:
            opts = SYN_OPTS if flags == "S" else []
            ack = self.sseq if ("A" in flags or flags == "S" and False) else 0
            if flags == "S":
                self.cseq = self.cisn
                ack = 0
                win = 64240
            seg = TCP(sport=self.cport, dport=self.vport, seq=self.cseq, ack=ack, flags=flags, window=win,
                      options=opts, **(tcp or {}))
            l4 = seg
            what = describe(flags)
            if payload:
                what += " %d bytes" % len(payload)
            self.cseq = (self.cseq + len(payload) + (1 if ("S" in flags or "F" in flags) else 0)) & 0xFFFFFFFF
        pkt = Ether(src=self.net.router_mac, dst=self.net.dir_client_mac) / l3 / l4
        if payload:
            pkt = pkt / Raw(payload)
        text = "%s %s > %s:%d" % (what, self.label(), self.vaddr, self.vport)
        if note:
            text += "  " + note
        idx = self.sc.add(self.net.client_if, pkt, text)
        if self.sc.model is not None:
            self.sc.model.client(self, flags if self.proto == "tcp" else "U", idx)
        return idx

    # -- server side (NAT) ----------------------------------------------
    def s(self, flags="A", payload=b"", note=None, ttl=64, win=509):
        """A real server frame to the client (NAT: from rip:rport)."""
        assert self.rip is not None, "server frame of a flow without a real server"
        l3 = self._ip(self.rip, self.caddr, ttl, self.sid)
        self.sid += 1
        if self.proto == "udp":
            l4 = UDP(sport=self.rport, dport=self.cport)
            what = "UDP reply %d bytes" % len(payload)
        else:
            opts = SYN_OPTS if flags == "SA" else []
            if flags == "SA":
                self.sseq = self.sisn
                win = 65160
            l4 = TCP(sport=self.rport, dport=self.cport, seq=self.sseq, ack=self.cseq, flags=flags, window=win,
                     options=opts)
            what = describe(flags)
            if payload:
                what += " %d bytes" % len(payload)
            self.sseq = (self.sseq + len(payload) + (1 if ("S" in flags or "F" in flags) else 0)) & 0xFFFFFFFF
        pkt = Ether(src=rs_mac(self.rip), dst=self.net.dir_server_mac) / l3 / l4
        if payload:
            pkt = pkt / Raw(payload)
        fmt = "%s [%s]:%d > %s" if self.v6 else "%s %s:%d > %s"
        text = fmt % (what, self.rip, self.rport, self.label())
        if note:
            text += "  " + note
        idx = self.sc.add(self.net.server_if, pkt, text)
        if self.sc.model is not None:
            self.sc.model.server(self, flags if self.proto == "tcp" else "U", idx)
        return idx


def http_get(n, size=64):
    """A small HTTP request padded to `size` bytes."""
    head = b"GET /%d HTTP/1.1\r\nHost: vip\r\n\r\n" % n
    return head + b"x" * max(0, size - len(head))


def http_reply(n, size=200):
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % max(0, size - 40)
    return (head + b"y" * size)[:size]
