"""The usual scheduler lab: a director with clients behind a router on
`client` (172.16.NN.0/24, router .254) and real servers on `server`
(10.NN.0.0/24), as in the original sched-* scenarios.  Writes the setup
lines and keeps the authoring model (model.py) in step with them."""

from model import Dest, Director
from oracle_lib import Flow, Net, Scenario, rs_mac


class Lab:
    def __init__(self, name, seed, nn, title, nat=False, vip=None, sysctls=(), model_kw=None, extra_setup=""):
        self.sc = Scenario(name, seed)
        self.net = Net()
        self.nn = nn
        self.nat = nat
        self.model = Director(**(model_kw or {}))
        self.sc.model = self.model
        self.vip = vip or ("172.16.%d.100" % nn if nat else "10.%d.0.100" % nn)
        self.used = set()
        self.neighs = set()
        self.sc.lines(
            """# %s: clients behind the router 172.16.%d.254,
# real servers on 10.%d.0.0/24%s
ip link set client address 02:00:00:00:01:01
ip addr add 172.16.%d.1/24 dev client
ip addr add %s/32 dev client
ip link set server address 02:00:00:00:02:01
ip addr add 10.%d.0.1/24 dev server
ip neigh add 172.16.%d.254 lladdr 02:00:00:00:0e:01 dev client
ip route add default via 172.16.%d.254 dev client"""
            % (title, nn, nn, " (the director is their gateway)" if nat else "", nn, self.vip, nn, nn, nn)
        )
        if nat:
            self.sc.lines("sysctl -w net.ipv4.ip_forward=1")
        for s in sysctls:
            self.sc.lines(s)
        if extra_setup:
            self.sc.lines(extra_setup)

    def rip(self, host):
        return "10.%d.0.%d" % (self.nn, host)

    def neigh(self, host):
        if host not in self.neighs:
            self.neighs.add(host)
            self.sc.lines("ip neigh add %s lladdr %s dev server" % (self.rip(host), rs_mac(self.rip(host))))

    def service(self, sched, vport=80, flags="", proto="tcp", vip=None):
        vip = vip or self.vip
        opt = {"tcp": "-t", "udp": "-u", "sctp": "--sctp-service"}[proto]
        self.sc.lines("ipvsadm -A %s %s:%d -s %s%s" % (opt, vip, vport, sched, (" " + flags) if flags else ""))
        svc = self.model.service(sched, vip, vport, proto)
        svc.opt = opt
        return svc

    def _rs_args(self, svc, host, port, w, x, y):
        method = "-m" if self.nat else "-g"
        a = "%s %s:%d -r %s:%d %s -w %d" % (svc.opt, svc.vaddr, svc.vport, self.rip(host), port, method, w)
        if x:
            a += " -x %d" % x
        if y:
            a += " -y %d" % y
        return a

    def rs(self, svc, host, w, x=0, y=0, port=None):
        """Add a real server in the setup (initial configuration)."""
        port = port or (8080 if self.nat else svc.vport)
        self.neigh(host)
        self.sc.lines("ipvsadm -a " + self._rs_args(svc, host, port, w, x, y))
        svc.add(Dest(self.rip(host), port, w, x, y, "m" if self.nat else "g"))

    # -- timed commands ----------------------------------------------------
    def add(self, svc, host, w, x=0, y=0, port=None):
        port = port or (8080 if self.nat else svc.vport)
        assert host in self.neighs, "declare the neighbour of .%d in the setup first" % host
        d = Dest(self.rip(host), port, w, x, y, "m" if self.nat else "g")
        old = getattr(svc, "trash", {}).get((d.addr, port))
        if old is not None:  # restored from the trash with its counters
            old.weight = w
            if w > 0:
                old.last_weight = w
            old.update_thresholds(x, y)
            d = old
        self.sc.cmd("ipvsadm -a " + self._rs_args(svc, host, port, w, x, y), apply=lambda: svc.add(d))

    def edit(self, svc, host, w, x=0, y=0, port=None):
        port = port or (8080 if self.nat else svc.vport)
        self.sc.cmd("ipvsadm -e " + self._rs_args(svc, host, port, w, x, y),
                    apply=lambda: svc.edit(self.rip(host), port, w, x, y))

    def delete(self, svc, host, port=None):
        port = port or (8080 if self.nat else svc.vport)

        def apply():
            d = svc.delete(self.rip(host), port)
            if not hasattr(svc, "trash"):
                svc.trash = {}
            svc.trash[(d.addr, d.port)] = d

        self.sc.cmd("ipvsadm -d %s %s:%d -r %s:%d" % (svc.opt, svc.vaddr, svc.vport, self.rip(host), port),
                     apply=apply)

    # -- traffic -------------------------------------------------------------
    def flow(self, svc, proto="tcp", client=None):
        caddr, cport = client or self.sc.rand_client(self.used)
        return Flow(self.sc, self.net, caddr, cport, svc.vaddr, svc.vport, proto=proto)

    def syn(self, svc, note=None, client=None):
        f = self.flow(svc, client=client)
        f.c("S", note=note)
        return f

    def established(self, f):
        """SYN already sent: the server's SYN-ACK (NAT) and the client's ACK."""
        if self.nat and f.rip:
            f.s("SA")
        f.c("A")

    def client_close(self, f):
        f.c("FA")
        if self.nat and f.rip:
            f.s("FA")
            f.c("A")
