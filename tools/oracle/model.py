"""A small model of IPVS scheduling, used only to author scenarios.

The scenario scripts feed it the frames they generate so that (1) NAT
scenarios can send each real server's answers from the server IPVS will
have picked, and (2) the script prints its predictions, which
tools/oracle/picks.py then compares with what the real kernel did.  It is the
author's reading of net/netfilter/ipvs (Linux 6.1), written from scratch; the
oracle's output is the authority.  Covered: rr wrr lc wlc sed nq fo ovf lblc
lblcr, thresholds (-x/-y), weight 0, add/edit/delete, TCP states of the
INPUT / OUTPUT / INPUT-ONLY tables and the active/inactive counters.
"""

from math import gcd

ACTIVE = {"SYN_RECV", "SYN_SENT", "ESTABLISHED", "SYNACK"}
ORDER = ["NONE", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT", "TIME_WAIT", "CLOSE", "CLOSE_WAIT",
         "LAST_ACK", "LISTEN", "SYNACK"]
_N, _ES, _SS, _SR, _FW, _TW, _CL, _CW, _LA, _LI, _SA = ORDER
# rows: syn, fin, ack, rst; columns in ORDER
TABLES = {
    "input": {
        "syn": [_SR, _ES, _ES, _SR, _SR, _SR, _SR, _SR, _SR, _SR, _SR],
        "fin": [_CL, _CW, _SS, _TW, _TW, _TW, _CL, _CW, _LA, _LI, _TW],
        "ack": [_ES, _ES, _SS, _ES, _FW, _TW, _CL, _CW, _CL, _LI, _ES],
        "rst": [_CL, _CL, _CL, _SR, _CL, _CL, _CL, _CL, _LA, _LI, _SR],
    },
    "output": {
        "syn": [_SS, _ES, _SS, _SR, _SS, _SS, _SS, _SS, _SS, _LI, _SR],
        "fin": [_TW, _FW, _SS, _TW, _FW, _TW, _CL, _TW, _LA, _LI, _TW],
        "ack": [_ES, _ES, _SS, _ES, _FW, _TW, _CL, _CW, _LA, _ES, _ES],
        "rst": [_CL, _CL, _SS, _CL, _CL, _TW, _CL, _CL, _CL, _CL, _CL],
    },
    "input_only": {
        "syn": [_SR, _ES, _ES, _SR, _SR, _SR, _SR, _SR, _SR, _SR, _SR],
        "fin": [_CL, _FW, _SS, _TW, _FW, _TW, _CL, _CW, _LA, _LI, _TW],
        "ack": [_ES, _ES, _SS, _ES, _FW, _TW, _CL, _CW, _CL, _LI, _ES],
        "rst": [_CL, _CL, _CL, _SR, _CL, _CL, _CL, _CL, _LA, _LI, _CL],
    },
}


def flag_row(flags):
    if "R" in flags:
        return "rst"
    if "S" in flags:
        return "syn"
    if "F" in flags:
        return "fin"
    if "A" in flags:
        return "ack"
    return None


class Dest:
    def __init__(self, addr, port, weight, x=0, y=0, method="g"):
        self.addr, self.port = addr, port
        self.weight = weight
        self.last_weight = weight
        self.x, self.y = x, y
        self.method = method
        self.active = 0
        self.inactive = 0
        self.overload = False

    def total(self):
        return self.active + self.inactive

    def low(self):
        """The lower mark at which an overloaded server becomes usable again."""
        return self.y if self.y else self.x - (self.x >> 2)

    def update_thresholds(self, x, y):
        """ipvsadm -e / -a with thresholds (Debian 6.1.192: re-evaluated if changed)."""
        if (x, y) == (self.x, self.y):
            return
        self.x, self.y = x, y
        if not x:
            self.overload = False
        elif self.total() >= x:
            self.overload = True
        elif self.total() < self.low():
            self.overload = False

    def overhead(self):
        return self.active * 256 + self.inactive

    def __repr__(self):
        return "%s:%d" % (self.addr, self.port)


class Conn:
    def __init__(self, flow, dest, nat):
        self.flow = flow
        self.dest = dest
        self.nat = nat
        self.state = "NONE"
        self.inactive_flag = True


class Service:
    def __init__(self, sched, vaddr, vport):
        self.sched = sched
        self.vaddr, self.vport = vaddr, vport
        self.dests = []  # list order, head first
        self.rr_pos = None  # rr: last picked dest (None = list head)
        self.wrr = {"cl": None, "cw": 0, "mw": 0, "di": 1}
        self.lblc = {}  # daddr -> dest (lblc) or list of dests (lblcr)
        self._wrr_changed()

    # -- control ---------------------------------------------------------
    def find(self, addr, port):
        for d in self.dests:
            if d.addr == addr and d.port == port:
                return d
        return None

    def add(self, dest):
        self.dests.insert(0, dest)
        self._wrr_changed()
        return dest

    def edit(self, addr, port, weight, x=0, y=0):
        d = self.find(addr, port)
        d.weight = weight
        if weight > 0:
            d.last_weight = weight
        d.update_thresholds(x, y)
        self._wrr_changed()

    def delete(self, addr, port):
        d = self.find(addr, port)
        i = self.dests.index(d)
        self.dests.remove(d)
        if self.rr_pos is d:  # rr: continue from the previous entry
            self.rr_pos = self.dests[i - 1] if i > 0 else None
        self._wrr_changed()
        return d

    # -- wrr ---------------------------------------------------------------
    def _wrr_changed(self):
        m = self.wrr
        g = 0
        for d in self.dests:
            if d.weight > 0:
                g = gcd(g, d.weight) if g else d.weight
        m["di"] = g or 1
        m["mw"] = max([d.weight for d in self.dests] + [0]) - (m["di"] - 1)
        m["cl"] = None
        if m["cw"] > m["mw"] or m["cw"] == 0:
            m["cw"] = m["mw"]
        elif m["di"] > 1:
            m["cw"] = (m["cw"] // m["di"]) * m["di"] + 1

    def _wrr(self):
        m = self.wrr
        if m["mw"] == 0:
            return None
        n = len(self.dests)
        last = m["cl"]
        pos = -1 if last is None else self.dests.index(last)
        stop = None
        last_pass = restarted = False
        i = pos
        while True:
            i += 1
            while i < n:
                d = self.dests[i]
                if not d.overload and d.weight >= m["cw"]:
                    m["cl"] = d
                    return d
                if d is stop:
                    m["cl"] = d
                    return None
                i += 1
            i = -1
            m["cw"] -= m["di"]
            if m["cw"] <= 0:
                m["cw"] = m["mw"]
                if last_pass or last is None:
                    m["cl"] = None
                    return None
                restarted = True
            last_pass = m["cw"] <= m["di"]
            if last_pass and restarted and last is not None:
                stop = last

    # -- schedule ----------------------------------------------------------
    def schedule(self, daddr=None):
        s = self.sched
        usable = [d for d in self.dests if d.weight > 0 and not d.overload]
        if s == "rr":
            if self.rr_pos is None:
                cand = list(self.dests)
            else:
                i = self.dests.index(self.rr_pos)
                cand = self.dests[i + 1:] + self.dests[:i + 1]
            for d in cand:
                if d.weight > 0 and not d.overload:
                    self.rr_pos = d
                    return d
            return None
        if s == "wrr":
            return self._wrr()
        if s == "lc":
            best = None
            for d in usable:
                if best is None or d.overhead() < best.overhead():
                    best = d
            return best
        if s in ("wlc", "sed"):
            return self._weighted_least(s)
        if s == "nq":
            best = None
            for d in usable:
                if d.active == 0:
                    return d
                if best is None or (best.active + 1) * d.weight > (d.active + 1) * best.weight:
                    best = d
            return best
        if s == "fo":
            best = None
            for d in usable:
                if best is None or d.weight > best.weight:
                    best = d
            return best
        if s == "ovf":
            best = None
            for d in usable:
                if d.active > d.weight:
                    continue
                if best is None or d.weight > best.weight:
                    best = d
            return best
        if s == "lblc":
            d = self.lblc.get(daddr)
            if d is not None and d in self.dests and d.weight > 0 and not self._lblc_overloaded(d):
                return d
            d = self._weighted_least("wlc")
            if d is not None:
                self.lblc[daddr] = d
            return d
        if s == "lblcr":
            st = self.lblc.setdefault(daddr, [])
            d = self._set_min(st)
            if d is None or self._lblc_overloaded(d):
                d = self._weighted_least("wlc")
                if d is None:
                    return None
                if d not in st:
                    st.insert(0, d)  # the set is a list with the newest member first
            return d
        raise ValueError("model: no scheduler %s" % s)

    def _weighted_least(self, s):
        def oh(d):
            return d.active + 1 if s == "sed" else d.overhead()

        least = None
        for d in self.dests:
            if d.overload:
                continue
            if least is None:
                if d.weight > 0:
                    least = d
                continue
            if oh(least) * d.weight > oh(d) * least.weight:
                least = d
        return least

    def _lblc_overloaded(self, d):
        if d.active > d.weight:
            return any(x.active * 2 < x.weight for x in self.dests)
        return False

    def _set_min(self, st):
        least = None
        for d in st:
            if d.overload or d not in self.dests:
                continue
            if least is None:
                if d.weight > 0:
                    least = d
                continue
            if least.overhead() * d.weight > d.overhead() * least.weight:
                least = d
        return least


class Director:
    """Services and connections; fed by oracle_lib.Flow frames."""

    def __init__(self, conn_reuse_mode=1, expire_nodest_conn=0):
        self.svcs = {}
        self.conns = {}  # (caddr, cport, vaddr, vport, proto) -> Conn
        self.log = []  # (input index, text)
        self.loads = {}  # input index -> the service's list with active/inactive before the pick
        self.conn_reuse_mode = conn_reuse_mode
        self.expire_nodest_conn = expire_nodest_conn

    def service(self, sched, vaddr, vport, proto="tcp"):
        svc = Service(sched, vaddr, vport)
        self.svcs[(vaddr, vport, proto)] = svc
        return svc

    # -- counters ----------------------------------------------------------
    # The overload flag as the Debian 6.1.192 kernel keeps it (its ip_vs.ko
    # has ip_vs_dest_update_overload(), a backport that differs from
    # upstream 6.1): a bind sets the flag when the total reaches -x exactly;
    # an unbind clears it when the total drops below the lower mark
    # (-y, or -x - x/4 without -y); an edit that changes -x/-y re-evaluates:
    # set if total >= -x, kept if total >= the lower mark, else cleared.
    def _bind(self, c):
        d = c.dest
        d.inactive += 1
        if d.x and d.total() == d.x:
            d.overload = d.total() >= d.low()

    def _unbind(self, c):
        d = c.dest
        before = d.total()
        if c.inactive_flag:
            d.inactive -= 1
        else:
            d.active -= 1
        if before == d.low():
            d.overload = bool(d.x) and d.total() >= d.x

    def _set_state(self, c, new):
        c.state = new
        d = c.dest
        if not c.inactive_flag and new not in ACTIVE:
            d.active -= 1
            d.inactive += 1
            c.inactive_flag = True
        elif c.inactive_flag and new in ACTIVE:
            d.active += 1
            d.inactive -= 1
            c.inactive_flag = False

    def expire(self, pred):
        """Free the entries for which pred(conn) holds (timer expiry)."""
        for k, c in list(self.conns.items()):
            if pred(c):
                del self.conns[k]
                self._unbind(c)

    # -- frames --------------------------------------------------------------
    def client(self, flow, flags, idx):
        key = (flow.caddr, flow.cport, flow.vaddr, flow.vport, flow.proto)
        svc = self.svcs.get((flow.vaddr, flow.vport, flow.proto))
        c = self.conns.get(key)
        if c is not None and flags == "S" and self.conn_reuse_mode:
            if c.state in ("TIME_WAIT", "CLOSE") or (
                self.expire_nodest_conn and c.dest.weight == 0
            ):
                # expired now, the SYN is scheduled anew (the old entry is
                # freed after the new one is bound)
                old = c
                c = None
                del self.conns[key]
                self._new(svc, flow, flags, idx, key)
                self._unbind(old)
                return
        if c is None:
            if svc is None:
                return
            if flow.proto == "tcp" and flags != "S":
                self.log.append((idx, "no entry"))
                return
            self._new(svc, flow, flags, idx, key)
            return
        if flow.proto == "tcp":
            row = flag_row(flags)
            tbl = "input" if c.nat else "input_only"
            self._set_state(c, TABLES[tbl][row][ORDER.index(c.state)])

    MODELLED = ("rr", "wrr", "lc", "wlc", "sed", "nq", "fo", "ovf", "lblc", "lblcr")

    def _new(self, svc, flow, flags, idx, key):
        if svc.sched not in self.MODELLED:  # dh, sh, mh: not modelled (DR only)
            self.log.append((idx, "(%s)" % svc.sched))
            return
        loads = " ".join("%s:%d/%d%s%s" % (d.addr.rsplit(".", 1)[-1], d.active, d.inactive,
                                           "" if d.weight else "(w0)", "*" if d.overload else "")
                         for d in svc.dests)
        d = svc.schedule(flow.vaddr)
        self.loads[idx] = "%s:%d [%s]" % (svc.sched, svc.vport, loads)
        if d is None:
            self.log.append((idx, "no destination"))
            flow.rip = None
            return
        nat = d.method == "m"
        c = Conn(flow, d, nat)
        self.conns[key] = c
        self._bind(c)
        flow.rip, flow.rport = d.addr, d.port
        if flow.proto == "tcp":
            tbl = "input" if nat else "input_only"
            self._set_state(c, TABLES[tbl]["syn"][0])
        self.log.append((idx, "-> %s" % d.addr))

    def server(self, flow, flags, idx):
        key = (flow.caddr, flow.cport, flow.vaddr, flow.vport, flow.proto)
        c = self.conns.get(key)
        if c is None or flow.proto != "tcp":
            return
        row = flag_row(flags)
        self._set_state(c, TABLES["output"][row][ORDER.index(c.state)])

    def report(self):
        return "\n".join("%4d %-16s %s" % (i, t, self.loads.get(i, "")) for i, t in self.log)
