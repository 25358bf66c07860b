#!/usr/bin/python3
"""Scheduler scenarios for test/oracle/extra/ (issue 4: ties, weight
changes, overload, deletions).

usage: /usr/bin/python3 tools/oracle/make_sched.py [--predict] [NAME ...]

Writes test/oracle/extra/NAME/{setup,*.pcap,DESCRIPTION} (never expected/;
run `/work/shared/oracle/examples.sh update test/oracle/extra NAME` for
that).  With --predict, prints what the authoring model (model.py) expects
for each new connection; compare with `picks.py --syn test/oracle/extra/NAME`.
"""

import sys

sys.dont_write_bytecode = True

from lab import Lab

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__.replace("_", "-")] = fn
    return fn


@scenario
def sched_rr_change():
    lab = Lab("sched-rr-change", 4011, 11, "LVS-DR, scheduler rr, servers added / quiesced / deleted on the fly",
              vip="172.16.11.100")
    sc = lab.sc
    svc = lab.service("rr")
    for h in (11, 12, 13):
        lab.rs(svc, h, 1)
    lab.neigh(14)
    lab.neigh(15)
    sc.text = """LVS-DR, round robin; real servers 10.11.0.11, .12, .13 (weight 1, added in
that order: the list is .13 .12 .11), then changed by timed ipvsadm commands
between new connections (each SYN comes from a new client):
 - .12 quiesced (weight 0) and brought back;
 - .13, the server picked last and the head of the list, deleted: rr goes on
   from the entry before it;
 - .14 added (new head) when the last pick was the tail; .15 added when the
   last pick was .14 (the new head is behind the current position);
 - .12 deleted while it is not the current position;
 - .13 added again while its SYN_RECV entries still exist
   (expire_nodest_conn=0): the kernel takes the deleted server back from its
   trash with its counters; an ACK of an old .13 connection is dropped while
   .13 is deleted and forwarded again after it is back;
 - every server quiesced (no destination: ICMP port unreachable), then one
   brought back."""
    for _ in range(4):
        lab.syn(svc)
    old13 = [f for f in []]
    lab.edit(svc, 12, 0)
    for _ in range(3):
        lab.syn(svc)
    lab.edit(svc, 12, 1)
    flows = [lab.syn(svc) for _ in range(4)]
    old13 = [f for f in flows if f.rip == lab.rip(13)]
    lab.delete(svc, 13)
    old13[0].c("A", note="(its server .13 deleted)")
    for _ in range(2):
        lab.syn(svc)
    lab.add(svc, 14, 1)
    for _ in range(4):
        lab.syn(svc)
    lab.add(svc, 15, 1)
    for _ in range(3):
        lab.syn(svc)
    lab.delete(svc, 12)
    for _ in range(2):
        lab.syn(svc)
    lab.add(svc, 13, 1)
    old13[0].c("A", note="(.13 is back)")
    for _ in range(5):
        lab.syn(svc)
    for h in (13, 15, 14, 11):
        lab.edit(svc, h, 0)
    lab.syn(svc, note="(all servers have weight 0)")
    lab.edit(svc, 14, 1)
    lab.syn(svc)
    lab.syn(svc)
    return lab


@scenario
def sched_wrr_change():
    lab = Lab("sched-wrr-change", 4012, 12, "LVS-DR, scheduler wrr, weights changed on the fly")
    sc = lab.sc
    svc = lab.service("wrr")
    for h, w in ((21, 3), (22, 2), (23, 1)):
        lab.rs(svc, h, w)
    lab.neigh(24)
    sc.text = """LVS-DR, weighted round robin; real servers 10.12.0.21 (weight 3), .22 (2),
.23 (1), added in that order (list .23 .22 .21).  Each timed ipvsadm command
comes in the middle of a wrr cycle; every add / edit / delete calls wrr's
dest_changed: the walk restarts at the list head, mw = max weight - (gcd - 1),
and the current weight cw is kept, reset to mw (cw > mw or 0), or rounded to
k*gcd + 1 (gcd > 1).  Steps (each SYN from a new client):
 - 8 SYNs with 3,2,1;
 - .23 up to 4 (new maximum, gcd 1);              7 SYNs
 - .21 down to 2: weights 4,2,2, gcd 2 (mw 3);     7 SYNs
 - .24 added with weight 6 (weights 6,4,2,2);     9 SYNs
 - .23 deleted (6,2,2);                           6 SYNs
 - .24 quiesced (0,2,2: mw 1, cw clamped);        4 SYNs
 - .22 up to 3 (gcd 1 again, mw 3);               7 SYNs
 - .21 edited to its own weight (nothing changes but the walk restarts); 4 SYNs."""
    steps = [
        (None, 8),
        (lambda: lab.edit(svc, 23, 4), 7),
        (lambda: lab.edit(svc, 21, 2), 7),
        (lambda: lab.add(svc, 24, 6), 9),
        (lambda: lab.delete(svc, 23), 6),
        (lambda: lab.edit(svc, 24, 0), 4),
        (lambda: lab.edit(svc, 22, 3), 7),
        (lambda: lab.edit(svc, 21, 2), 4),
    ]
    for change, n in steps:
        if change:
            change()
        for _ in range(n):
            lab.syn(svc)
    return lab


@scenario
def sched_wlc_ties():
    lab = Lab("sched-wlc-ties", 4014, 14, "LVS-NAT, scheduler wlc, ties and thresholds", nat=True)
    sc = lab.sc
    a = lab.service("wlc", 80)
    lab.rs(a, 31, 1)
    lab.rs(a, 32, 1)
    lab.rs(a, 33, 1, x=3, y=2)
    b = lab.service("wlc", 81)
    lab.rs(b, 34, 1)
    lab.rs(b, 35, 2)
    lab.rs(b, 36, 4)
    sc.text = """LVS-NAT, weighted least connection, two services on the same VIP
172.16.14.100 (real port 8080), every connection answered by its real
server (SYN-ACK from the server the kernel picked, so the entries go
through the NAT INPUT / OUTPUT state tables):
 - :80 over .31, .32 (weight 1) and .33 (weight 1, -x 3 -y 2), list order
   .33 .32 .31: equal weights and equal loads tie -> the first in list order;
   .33 is overloaded once it has 3 connections and skipped;
 - a connection of .32 closed (client FIN, server FIN, client ACK ->
   TIME_WAIT, inactive: overhead 1 instead of 256);
 - SYNs reusing the client ports of TIME_WAIT / CLOSE entries
   (conn_reuse_mode=1): the new connection is scheduled while the old entry
   still counts, the old entry is freed afterwards (its server's counters
   drop, and .33's overload flag clears once it has fewer than 2 entries);
 - :81 over .34 (weight 1), .35 (2), .36 (4), list .36 .35 .34: equal
   overhead/weight ratios (256/1 = 512/2 = 1024/4) tie -> first in list;
 - timed ipvsadm -e on :80 while .33 is overloaded with 3 entries: the same
   -x 3 -y 2 again; -x 4 -y 2 (higher -x, load still above -y); -x 5 -y 4
   (load below the new -y); then .31 (no threshold, 6 entries) given -x 5,
   and .33 edited to weight 2 without -x (threshold removed);
 - on :81: .36 down to weight 2, then .34 up to 3."""

    def conn(svc, note=None):
        f = lab.syn(svc, note=note)
        lab.established(f)
        return f

    fa = [conn(a) for _ in range(7)]  # .33 .32 .31 .33 .32 .31 .33 (overloaded)
    fa += [conn(a) for _ in range(2)]
    fb = [conn(b) for _ in range(7)]
    on = {h: [f for f in fa if f.rip == lab.rip(h)] for h in (31, 32, 33)}
    lab.client_close(on[32][0])
    fa.append(conn(a, note="(.32 has one TIME_WAIT entry)"))
    f = on[32][0]
    lab.syn(a, client=(f.caddr, f.cport), note="(reuses a .32 TIME_WAIT entry)")
    g = on[33][0]
    lab.client_close(g)
    lab.syn(a, client=(g.caddr, g.cport), note="(reuses a .33 TIME_WAIT entry; .33 keeps 2 entries)")
    h = on[33][1]
    h.c("R", note="(-> CLOSE)")
    r = lab.syn(a, client=(h.caddr, h.cport), note="(reuses a .33 CLOSE entry; .33 down to 1 entry)")
    lab.established(r)
    for _ in range(4):
        conn(a)
    lab.edit(a, 33, 1, x=3, y=2)
    conn(a, note="(same -x -y: .33 still overloaded)")
    lab.edit(a, 33, 1, x=4, y=2)
    conn(a, note="(-x 4 -y 2, .33 has 3 entries)")
    lab.edit(a, 33, 1, x=5, y=4)
    conn(a, note="(-x 5 -y 4, .33 has 3 entries)")
    conn(a)
    lab.edit(a, 31, 1, x=5)
    conn(a, note="(.31 given -x 5 below its load)")
    lab.edit(a, 33, 2)
    for _ in range(4):
        conn(a)
    lab.edit(b, 36, 2)
    for _ in range(4):
        conn(b)
    lab.edit(b, 34, 3)
    for _ in range(4):
        conn(b)
    return lab


class Ops:
    """Drive a DR service with a compact script of operations:
    'S' a new connection (SYN); 'A.h' ACK of the oldest SYN_RECV connection of
    server .h (-> ESTABLISHED); 'F.h' FIN of the oldest established one
    (-> FIN_WAIT, inactive); 'R.h' RST of the oldest established one
    (-> CLOSE, inactive); 'r.h' RST of the oldest SYN_RECV one (stays
    SYN_RECV, still active)."""

    def __init__(self, lab, svc):
        self.lab, self.svc = lab, svc
        self.flows = []

    def _pick(self, host, states):
        rip = self.lab.rip(host)
        for f in self.flows:
            if f.rip == rip and f.state in states:
                return f
        raise ValueError("no %s connection on .%d" % (states, host))

    def run(self, script, note=None):
        for op in script.split():
            if op == "S":
                f = self.lab.syn(self.svc, note=note)
                f.state = "SR"
                self.flows.append(f)
                continue
            kind, host = op.split(".")
            host = int(host)
            if kind == "A":
                f = self._pick(host, ("SR",))
                f.c("A")
                f.state = "ES"
            elif kind == "F":
                f = self._pick(host, ("ES",))
                f.c("FA")
                f.state = "FW"
            elif kind == "R":
                f = self._pick(host, ("ES",))
                f.c("R")
                f.state = "CL"
            elif kind == "r":
                f = self._pick(host, ("SR",))
                f.c("R", note="(RST in SYN_RECV)")
                f.state = "SRr"


@scenario
def sched_lc_nq_sed_ties():
    lab = Lab("sched-lc-nq-sed-ties", 4013, 13, "LVS-DR, schedulers lc, sed and nq side by side")
    sc = lab.sc
    lc = lab.service("lc", 80)
    for h, w in ((31, 1), (32, 3), (33, 2)):
        lab.rs(lc, h, w)
    sed = lab.service("sed", 81)
    for h, w in ((31, 1), (32, 2), (33, 4)):
        lab.rs(sed, h, w)
    nq = lab.service("nq", 82)
    for h, w in ((31, 1), (32, 2), (33, 4)):
        lab.rs(nq, h, w)
    sc.text = """LVS-DR, three services on VIP 10.13.0.100 over the same real servers
10.13.0.31-33 (each service has its own counters; list order .33 .32 .31):
 - :80 lc (weights 1, 3, 2: ignored): overhead active*256 + inactive; ties
   (all idle, equal overheads) -> first in list; a server whose connections
   ended (FIN_WAIT, inactive) beats one with an active connection;
   a RST in SYN_RECV leaves the entry SYN_RECV (still active);
 - :81 sed (weights 1, 2, 4): (active + 1) / weight, inactive ignored; ties
   of equal ratios (1/1 = 2/2 = 4/4) -> first in list;
 - :82 nq (weights 1, 2, 4): the first server in list order with no active
   connection wins whatever its weight and inactive count, else the sed rule.
The connections move between active and inactive by ACK / FIN / RST from
the client (DR sees only the client side: INPUT-ONLY state table)."""
    a, b, c = Ops(lab, lc), Ops(lab, sed), Ops(lab, nq)
    a.run("S S S")  # .33 .32 .31 (idle ties)
    a.run("A.33 F.33 S")  # .33 inactive only -> .33
    a.run("r.32 A.31 F.31 S S")  # .32 keeps active after RST in SYN_RECV; .31 inactive -> .31, then .32
    a.run("S S")
    a.run("A.33 F.33 A.33 F.33 S S")
    b.run("S S S S S")  # sed: .33 .33 .32 .33 .32 ...
    b.run("A.33 F.33 A.33 F.33 S S S")  # inactive ignored
    b.run("S S S")
    c.run("S S S S")  # nq: idle servers first: .33 .32 .31, then sed
    c.run("A.31 F.31 S")  # .31 idle again (inactive only) -> .31
    c.run("S S S")
    c.run("A.33 F.33 A.33 F.33 S S")
    a.run("S S")
    return lab


@scenario
def sched_fo_ovf_change():
    lab = Lab("sched-fo-ovf-change", 4025, 25, "LVS-DR, schedulers fo and ovf, weights edited on the fly")
    sc = lab.sc
    fo = lab.service("fo", 80)
    for h, w in ((51, 10), (52, 20), (53, 20)):
        lab.rs(fo, h, w)
    ovf = lab.service("ovf", 81)
    for h, w in ((54, 2), (55, 3), (56, 3)):
        lab.rs(ovf, h, w)
    lab.neigh(57)
    sc.text = """LVS-DR, two services on VIP 10.25.0.100, timed ipvsadm commands between
new connections (each SYN from a new client):
 - :80 fo over .51 (weight 10), .52 (20), .53 (20), list .53 .52 .51: the
   highest weight wins, ties -> first in list.  .53 down to 5; .51 up to 20
   (tie with .52); .52 deleted; .52 added again (new head, ties with .51);
   .52 quiesced; .52 back with -x 2 while it already has more entries
   (overloaded at once by this kernel); its -x removed.
 - :81 ovf over .54 (weight 2), .55 (3), .56 (3), list .56 .55 .54: the
   highest weight whose active count does not exceed its weight; when all
   are full, no destination (ICMP port unreachable).  Then a FIN frees room
   on .56; .56 down to weight 1; .55 deleted; .57 added with weight 3;
   .54 up to 5."""
    a, b = Ops(lab, fo), Ops(lab, ovf)
    a.run("S S")
    lab.edit(fo, 53, 5)
    a.run("S S")
    lab.edit(fo, 51, 20)
    a.run("S S")
    lab.delete(fo, 52)
    a.run("S S")
    lab.add(fo, 52, 20)
    a.run("S S")
    lab.edit(fo, 52, 0)
    a.run("S")
    lab.edit(fo, 52, 20, x=2)
    a.run("S S")
    lab.edit(fo, 52, 20)
    a.run("S")
    b.run("S S S S S S S S S S S S")
    b.run("S", note="(every server full)")
    b.run("A.56 F.56 S S")
    lab.edit(ovf, 56, 1)
    b.run("A.56 F.56 A.56 F.56 S S")
    lab.delete(ovf, 55)
    b.run("S")
    lab.add(ovf, 57, 3)
    b.run("S S S S S")
    lab.edit(ovf, 54, 5)
    b.run("S S S")
    return lab


@scenario
def sched_dh_sh_change():
    lab = Lab("sched-dh-sh-change", 4019, 19, "LVS-DR, schedulers dh and sh, tables rebuilt on changes")
    sc = lab.sc
    dh_vips = ["10.19.0.%d" % v for v in (100, 101, 103, 104, 113)]
    sh_vip = "10.19.0.200"
    for v in dh_vips[1:] + [sh_vip]:
        sc.lines("ip addr add %s/32 dev client" % v)
    dh = []
    for v in dh_vips:
        s = lab.service("dh", 80, vip=v)
        for h in (91, 92, 93):
            lab.rs(s, h, 1)
        dh.append(s)
    sh = lab.service("sh", 80, vip=sh_vip)
    for h, w in ((91, 1), (92, 2), (93, 1)):
        lab.rs(sh, h, w)
    lab.neigh(94)
    sc.text = """LVS-DR, dh and sh tables rebuilt by timed ipvsadm commands.
 - dh: five services 10.19.0.100, .101, .103, .104, .113 port 80 (dh hashes
   the destination address, so each VIP is one bucket; these five cover
   every server in every round), each over .91 .92 .93 (weight 1, list
   .93 .92 .91);
 - sh: 10.19.0.200:80 over .91 (weight 1), .92 (2), .93 (1); 16 clients
   (sh hashes the source address), each sending one SYN per round from a new
   source port, so every round shows where each client's bucket points now.
Rounds (5 dh SYNs, one per VIP, then the 16 sh clients):
 1. initial;
 2. .94 added to every service (sh weight 2): new list head, tables rebuilt;
 3. .92 quiesced (weight 0) everywhere: its dh buckets and sh buckets give no
    destination (ICMP port unreachable; sh without sh-fallback); the sh
    table is rebuilt on the edit (a weight-0 server keeps one bucket per
    round instead of two, so other clients move too), dh's is not changed;
 4. .92 back to its weight (the round-2 mapping comes back exactly);
 5. .91 deleted everywhere."""
    clients = [lab.sc.rand_client(lab.used) for _ in range(16)]
    dh_clients = [lab.sc.rand_client(lab.used) for _ in range(5)]

    def round_(tag):
        for s, (ca, _) in zip(dh, dh_clients):
            lab.syn(s, client=(ca, lab.sc.rng.randrange(1024, 65536)), note=tag)
        for ca, _ in clients:
            lab.syn(sh, client=(ca, lab.sc.rng.randrange(1024, 65536)), note=tag)

    round_("(round 1)")
    for s in dh:
        lab.add(s, 94, 1)
    lab.add(sh, 94, 2)
    round_("(round 2)")
    for s in dh:
        lab.edit(s, 92, 0)
    lab.edit(sh, 92, 0)
    round_("(round 3)")
    for s in dh:
        lab.edit(s, 92, 1)
    lab.edit(sh, 92, 2)
    round_("(round 4)")
    for s in dh + [sh]:
        lab.delete(s, 91)
    round_("(round 5)")
    return lab


@scenario
def sched_mh_change():
    lab = Lab("sched-mh-change", 4023, 23, "LVS-DR, scheduler mh, table rebuilt on changes")
    sc = lab.sc
    vip2 = "10.23.0.101"
    sc.lines("ip addr add %s/32 dev client" % vip2)
    mh = lab.service("mh", 80)
    fb = lab.service("mh", 80, flags="-b mh-fallback", vip=vip2)
    for s in (mh, fb):
        for h, w in ((131, 1), (132, 2), (133, 1), (134, 3)):
            lab.rs(s, h, w)
    lab.neigh(135)
    sc.text = """LVS-DR, Maglev hashing (mh, table size 4093) on two services over the
same real servers .131 (weight 1), .132 (2), .133 (1), .134 (3):
10.23.0.100:80 plain mh, 10.23.0.101:80 with -b mh-fallback.  20 clients
(mh hashes the source address; no mh-port) send one SYN to each service per
round, from new source ports.  Rounds:
 1. initial;
 2. .135 added with weight 2 (table rebuilt);
 3. .132 quiesced (weight 0): it keeps its slots (built from its last
    weight), so its clients get no destination (ICMP port unreachable) on
    :100 and fall back to another server on :101 (mh-fallback);
 4. .132 back to weight 2;
 5. .134 weight changed 3 -> 1 (table rebuilt with new slot counts);
 6. .133 deleted."""
    clients = [lab.sc.rand_client(lab.used) for _ in range(20)]

    def round_(tag):
        for ca, _ in clients:
            lab.syn(mh, client=(ca, lab.sc.rng.randrange(1024, 65536)), note=tag)
        for ca, _ in clients:
            lab.syn(fb, client=(ca, lab.sc.rng.randrange(1024, 65536)), note=tag)

    round_("(round 1)")
    for s in (mh, fb):
        lab.add(s, 135, 2)
    round_("(round 2)")
    for s in (mh, fb):
        lab.edit(s, 132, 0)
    round_("(round 3)")
    for s in (mh, fb):
        lab.edit(s, 132, 2)
    round_("(round 4)")
    for s in (mh, fb):
        lab.edit(s, 134, 1)
    round_("(round 5)")
    for s in (mh, fb):
        lab.delete(s, 133)
    round_("(round 6)")
    return lab


@scenario
def sched_lblc_lblcr_overload():
    lab = Lab("sched-lblc-lblcr-overload", 4017, 17, "LVS-DR, schedulers lblc and lblcr, overload rules")
    sc = lab.sc
    lblc = lab.service("lblc", 80)
    lab.rs(lblc, 71, 2)
    lab.rs(lblc, 72, 4, x=3)
    lblcr = lab.service("lblcr", 81)
    for h, w in ((74, 2), (75, 4), (76, 1)):
        lab.rs(lblcr, h, w)
    sc.text = """LVS-DR, one VIP 10.17.0.100 (so one cache entry per service):
 - :80 lblc over .71 (weight 2) and .72 (weight 4, -x 3), list .72 .71.
   The cached server is kept while it has weight > 0 and is not
   "overloaded" in lblc's sense (active > weight while some server has
   active*2 < weight); the -x threshold flag is NOT checked for the cached
   server (.72 keeps getting connections after reaching -x 3), only by the
   weighted-least-connection pick that replaces the entry.  Then .72's
   connections end (FIN: inactive), .71 becomes lblc-overloaded but the new
   pick cannot take .72 (threshold flag); -e .72 without -x clears the flag;
   .72 quiesced (cached server with weight 0 -> new pick) and restored.
 - :81 lblcr over .74 (2), .75 (4), .76 (1), list .76 .75 .74: the VIP's
   server set grows (a new member goes to the head of the set) each time its
   least loaded member is lblc-overloaded; then .75 is quiesced and .76
   deleted (set members that are unavailable are skipped) and .74 edited."""
    a, b = Ops(lab, lblc), Ops(lab, lblcr)
    a.run("S S S S S S S S")
    a.run("A.72 F.72 A.72 F.72 A.72 F.72 A.72 F.72 S S")
    lab.edit(lblc, 72, 4)
    a.run("S S")
    lab.edit(lblc, 72, 0)
    a.run("S S")
    lab.edit(lblc, 72, 4)
    a.run("S S S")
    b.run("S S S S S S S S S S S S S")
    lab.edit(lblcr, 75, 0)
    b.run("S S S")
    lab.delete(lblcr, 76)
    b.run("S S S")
    lab.edit(lblcr, 74, 6)
    b.run("S S S S")
    return lab


def check(lab, d):
    """Compare the model's decisions with expected/ (when it exists)."""
    import os

    import picks

    if not os.path.isdir(os.path.join(d, "expected")):
        return
    got = picks.decisions(d)
    bad = compared = 0
    for idx, text in lab.model.log:
        want = text[3:] if text.startswith("-> ") else ("icmp" if text == "no destination" else None)
        if want is None or idx not in got:
            continue
        compared += 1
        if got[idx] != want:
            bad += 1
            print("  frame %d: model %s, kernel %s" % (idx, want, got[idx]))
    if not compared:
        print("  model vs kernel: scheduler not modelled, nothing compared")
    else:
        print("  model vs kernel: %s (%d decisions)" % ("same decisions" if not bad else "%d differences" % bad,
                                                       compared))
    # NAT: every real-server frame must come out translated (src = a VIP)
    rows, _ = picks.analyse(d)
    leaks = []
    for idx, side, fr, outs, _ in rows:
        if side != "server" or picks.IP not in fr:
            continue
        if not any(o[picks.IP].src != fr[picks.IP].src for s, o in outs if picks.IP in o):
            leaks.append(idx)
    if leaks:
        print("  server frames not translated (no entry?): %s" % leaks)


def main(argv):
    predict = "--predict" in argv
    names = [a for a in argv if not a.startswith("--")] or list(SCENARIOS)
    for n in names:
        lab = SCENARIOS[n]()
        d = lab.sc.write(header="make_sched.py " + n)
        print("wrote", d)
        if predict:
            print(lab.model.report())
        check(lab, d)


if __name__ == "__main__":
    main(sys.argv[1:])
