#!/usr/bin/python3
"""Show, frame by frame, what the director did in an oracle run.

usage: picks.py SCENARIO_DIR [OUT_DIR]     (OUT_DIR defaults to SCENARIO_DIR/expected)
       picks.py --syn SCENARIO_DIR [OUT_DIR]   only new connections and commands
       picks.py --grid SCENARIO_DIR [OUT_DIR]  per (VIP, client): the server of each new connection

Reads the scenario's input captures and setup (neighbour table -> real
server names), and the run's trace.tsv and output captures; prints each input
frame with the frames it caused, naming the real server a forwarded frame went
to (DR: by destination MAC; NAT: destination address; TUN: outer destination).
Used to write DESCRIPTIONs and to compare the kernel's decisions with the
authoring model's predictions (`make_*.py --predict`).
"""

import os
import sys

from scapy.all import ICMP, IP, TCP, UDP, Ether, IPv6, rdpcap
from scapy.layers.sctp import SCTP


def neighbours(setup):
    macs = {}
    for line in open(setup):
        w = line.split()
        if len(w) >= 5 and w[0] == "ip" and "neigh" in w and "lladdr" in w:
            i = w.index("neigh")
            macs[w[w.index("lladdr") + 1].lower()] = w[i + 2]
    return macs


def l4_text(p):
    if TCP in p:
        t = p[TCP]
        f = str(t.flags)
        return "%s %d>%d" % (f, t.sport, t.dport)
    if UDP in p:
        return "UDP %d>%d" % (p[UDP].sport, p[UDP].dport)
    if SCTP in p:
        s = p[SCTP]
        chunk = s.payload.__class__.__name__.replace("SCTPChunk", "")
        return "SCTP %s %d>%d" % (chunk, s.sport, s.dport)
    return ""


def short(p):
    """One-line summary of a frame."""
    if IPv6 in p and (IP not in p or isinstance(p.payload, IPv6)):
        ip = p[IPv6]
        base = "%s>%s" % (ip.src, ip.dst)
        if ip.nh == 4 and isinstance(ip.payload, IP):
            return "IPIP6(%s) %s" % (base, short(Ether() / ip.payload))
    if IP in p:
        ip = p[IP]
        base = "%s>%s" % (ip.src, ip.dst)
        frag = ""
        if ip.frag or ip.flags.MF:
            frag = " frag@%d%s" % (ip.frag * 8, "+" if ip.flags.MF else "")
        if ip.proto == 4 and isinstance(ip.payload, IP):
            return "IPIP(%s) %s ttl%d" % (base, short(Ether() / ip.payload), ip.ttl)
        if ip.proto == 41:
            return "IP6IP(%s) %s" % (base, short(Ether() / ip.payload))
        if ICMP in p and not frag:
            ic = p[ICMP]
            return "%s ICMP type %d code %d%s ttl%d" % (base, ic.type, ic.code,
                                                       (" mtu %d" % ic.nexthopmtu) if ic.type == 3 and ic.code == 4
                                                       else "", ip.ttl)
        return "%s %s ttl%d%s" % (base, l4_text(p) if not ip.frag else "", ip.ttl, frag)
    if IPv6 in p:
        ip = p[IPv6]
        base = "%s>%s" % (ip.src, ip.dst)
        if ip.nh == 41 and isinstance(ip.payload, IPv6):
            return "IP6IP6(%s) %s" % (base, short(Ether() / ip.payload))
        if ip.nh == 4:
            return "IPIP6(%s) %s" % (base, short(Ether() / ip.payload))
        if ip.nh == 58:
            return "%s ICMPv6 %s hlim%d" % (base, ip.payload.__class__.__name__, ip.hlim)
        return "%s %s hlim%d" % (base, l4_text(p), ip.hlim)
    return p.summary()


def analyse(scen, out=None):
    """[(idx, side, input frame, [(side, output frame)], [command / stray lines])], neighbour map"""
    out = out or os.path.join(scen, "expected")
    macs = neighbours(os.path.join(scen, "setup"))
    inputs, outputs = {}, {}
    for f in os.listdir(scen):
        if f.endswith(".pcap"):
            inputs[f[:-5]] = list(rdpcap(os.path.join(scen, f)))
    for f in os.listdir(out):
        if f.endswith(".pcap"):
            outputs[f[:-5]] = list(rdpcap(os.path.join(out, f)))
    lines = [ln.rstrip("\n").split("\t") for ln in open(os.path.join(out, "trace.tsv")) if not ln.startswith("#")]
    ipos = {k: 0 for k in inputs}
    opos = {k: 0 for k in outputs}
    rows = []  # [idx, side, frame, [(side, frame)], cmds]
    cur = None
    pre = []
    for w in lines:
        if w[0] == "in":
            side = w[2]
            fr = inputs[side][ipos[side]]
            ipos[side] += 1
            cur = [int(w[1]), side, fr, [], pre]
            pre = []
            rows.append(cur)
        elif w[0] == "out":
            side = w[2]
            fr = outputs[side][opos[side]]
            opos[side] += 1
            if int(w[1]) == -1:
                pre.append("out(before) %s %s" % (side, short(fr)))
            elif cur is not None and int(w[1]) == cur[0]:
                cur[3].append((side, fr))
            else:
                # output attributed to a later input (timed command output)
                pre.append("out %s %s" % (side, short(fr)))
        elif w[0] == "cmd":
            pre.append("cmd %s rc=%s %s" % (w[2], w[3], w[5] if len(w) > 5 else ""))
    return rows, macs


def is_new(side, fr):
    if TCP in fr and fr[TCP].flags.S and not fr[TCP].flags.A:
        return True
    return bool(UDP in fr and side == "client" or SCTP in fr)


def dest_of(oside, of, macs):
    """The real server (or client-side neighbour) an output frame went to."""
    who = macs.get(of[Ether].dst.lower(), "")
    if oside == "server" and IP in of and of[IP].proto in (4, 47, 17) and not who:
        who = of[IP].dst
    if oside == "server" and IP in of and of[IP].proto in (4, 47):
        who = of[IP].dst
    if oside == "server" and IPv6 in of and of[IPv6].nh in (41, 4):
        who = of[IPv6].dst
    return who


def decisions(scen, out=None):
    """{input index: 'RIP' | 'icmp' | 'rst' | '-'} for the frames that open a connection
    (the server side's destination; for NAT the rewritten destination address)."""
    rows, macs = analyse(scen, out)
    res = {}
    for idx, side, fr, outs, _ in rows:
        if side != "client" or not is_new(side, fr):
            continue
        r = "-"
        for oside, of in outs:
            if oside == "server":
                if IP in of and of[IP].proto in (4, 47):
                    r = of[IP].dst
                elif IP in of:
                    r = of[IP].dst if of[IP].dst != fr[IP].dst else macs.get(of[Ether].dst.lower(), "?")
                elif IPv6 in of:
                    if of[IPv6].nh in (41, 4):
                        r = of[IPv6].dst
                    else:
                        r = of[IPv6].dst if of[IPv6].dst != fr[IPv6].dst else macs.get(of[Ether].dst.lower(), "?")
                break
            if ICMP in of or IPv6 in of and of[IPv6].nh == 58:
                r = "icmp"
            elif TCP in of and of[TCP].flags.R:
                r = "rst"
        res[idx] = r
    return res


def grid(scen, out=None):
    """Decisions per (virtual address, client address), in order: for the
    hashing schedulers, where each client went in each round."""
    rows, _ = analyse(scen, out)
    dec = decisions(scen, out)
    table = {}
    for idx, side, fr, _, _ in rows:
        if idx not in dec:
            continue
        ip = fr[IP] if IP in fr else fr[IPv6]
        table.setdefault((ip.dst, ip.src), []).append(dec[idx].rsplit(".", 1)[-1].rsplit(":", 1)[-1])
    for (dst, src), picks_ in table.items():
        print("  %-15s %-18s %s" % (dst, src, " ".join("%4s" % x for x in picks_)))


def main(argv):
    if argv and argv[0] == "--grid":
        grid(*argv[1:])
        return
    only_new = False
    if argv and argv[0] == "--syn":
        only_new = True
        argv = argv[1:]
    scen = argv[0]
    rows, macs = analyse(scen, argv[1] if len(argv) > 1 else None)
    for idx, side, fr, outs, cmds in rows:
        for c in cmds:
            print("          %s" % c)
        if only_new and not is_new(side, fr):
            continue
        res = []
        for oside, of in outs:
            who = dest_of(oside, of, macs)
            res.append("%s%s: %s" % (oside, ("[" + who + "]") if who else "", short(of)))
        print("%4d %-6s %-58s => %s" % (idx, side, short(fr), " | ".join(res) if res else "-"))


if __name__ == "__main__":
    main(sys.argv[1:])
