/**
 * Test support: build services and real servers through the control plane
 * (src/ipvs/ctl.ts), exactly as ipvsadm would, and drive counters the way the
 * datapath does (change the counter, then call loadChanged).
 */
import { IpAddr } from '../../../src/wire/addr.js';
import { Ipvs, type DestSpec } from '../../../src/ipvs/ctl.js';
import { Fwd, Proto, TunType, type Dest, type Service } from '../../../src/ipvs/service.js';
import { createSchedulerRegistry, type SchedulerOptions } from '../../../src/ipvs/sched/index.js';
import { SchedFlow, type Scheduler, type SchedulerRegistry } from '../../../src/ipvs/sched/scheduler.js';

/** xorshift32: a small deterministic generator for twos and the tests. */
export class XorShift {
  private s: number;
  constructor(seed = 1) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
}

/** ip_vs_bind_dest() in 6.1: the upper threshold reached sets OVERLOAD. */
export function overloadOnBind(d: Dest): void {
  if (d.uThreshold !== 0 && d.totalConns >= d.uThreshold) d.overloaded = true;
}

/** ip_vs_unbind_dest() in 6.1: below the lower threshold (or 3/4 of the upper) clears OVERLOAD. */
export function overloadOnUnbind(d: Dest): void {
  if (d.lThreshold !== 0) {
    if (d.totalConns < d.lThreshold) d.overloaded = false;
  } else if (d.uThreshold !== 0) {
    if (d.totalConns * 4 < d.uThreshold * 3) d.overloaded = false;
  } else d.overloaded = false;
}

export class Lab {
  readonly ipvs: Ipvs;
  readonly rng: XorShift;
  readonly flow = new SchedFlow();
  svc!: Service;

  constructor(opts: { registry?: SchedulerRegistry; seed?: number; sched?: SchedulerOptions } = {}) {
    this.rng = new XorShift(opts.seed ?? 1);
    this.ipvs = new Ipvs(opts.registry ?? createSchedulerRegistry(opts.sched), () => this.rng.next());
  }

  /** `ipvsadm -A -t VIP:80 -s NAME [-b flags]`. */
  service(sched: string, flags = 0, vip = '10.0.0.100', port = 80, proto: number = Proto.TCP): Service {
    const addr = IpAddr.parse(vip);
    const rc = this.ipvs.addService({
      af: addr.af,
      protocol: proto,
      addr,
      port,
      fwmark: 0,
      schedName: sched,
      flags,
      timeout: 0,
      netmask: 0xffffffff,
      peName: '',
    });
    if (rc !== 0) throw new Error(`addService: ${rc}`);
    this.svc = this.ipvs.findService(addr.af, proto, addr, port, 0) as Service;
    return this.svc;
  }

  private spec(rip: string, weight: number, u = 0, l = 0, port = 80): DestSpec {
    const addr = IpAddr.parse(rip);
    return {
      af: addr.af,
      addr,
      port,
      fwd: Fwd.DROUTE,
      weight,
      uThreshold: u,
      lThreshold: l,
      tunType: TunType.IPIP,
      tunPort: 0,
      tunFlags: 0,
    };
  }

  /** `ipvsadm -a -r RIP -w W [-x U -y L]`; returns the Dest. */
  add(rip: string, weight: number, u = 0, l = 0, port = 80): Dest {
    const rc = this.ipvs.addDest(this.svc, this.spec(rip, weight, u, l, port));
    if (rc !== 0) throw new Error(`addDest ${rip}: ${rc}`);
    return this.dest(rip, port);
  }

  /** `ipvsadm -e -r RIP -w W [-x U -y L]`. */
  edit(rip: string, weight: number, u = 0, l = 0, port = 80): void {
    const rc = this.ipvs.editDest(this.svc, this.spec(rip, weight, u, l, port));
    if (rc !== 0) throw new Error(`editDest ${rip}: ${rc}`);
  }

  /** `ipvsadm -d -r RIP`. */
  del(rip: string, port = 80): void {
    const a = IpAddr.parse(rip);
    const rc = this.ipvs.delDest(this.svc, a.af, a, port);
    if (rc !== 0) throw new Error(`delDest ${rip}: ${rc}`);
  }

  dest(rip: string, port = 80): Dest {
    const a = IpAddr.parse(rip);
    const d = this.ipvs.lookupDest(this.svc, a.af, a, port);
    if (!d) throw new Error(`no dest ${rip}`);
    return d;
  }

  /** Sets a server's counters (and overload flag from its thresholds) as the datapath would. */
  load(d: Dest, active: number, inactive: number): void {
    const grew = active + inactive > d.totalConns;
    d.activeConns = active;
    d.totalConns = active + inactive;
    if (grew) overloadOnBind(d);
    else overloadOnUnbind(d);
    d.svc.sched?.loadChanged(d.svc, d);
  }

  /** Schedules one connection from `client` (addr[:port]) to the service's VIP; returns `addr` of the pick or null. */
  pick(client = '192.0.2.1:1000', now = 0, daddr?: string): string | null {
    const d = this.pickDest(client, now, daddr);
    return d ? d.addr.toString() : null;
  }

  pickDest(client = '192.0.2.1:1000', now = 0, daddr?: string): Dest | null {
    const f = this.flow;
    const [a, p] = client.split(/:(?=\d+$)/);
    const src = IpAddr.parse(a);
    const dst = daddr ? IpAddr.parse(daddr) : this.svc.addr;
    f.af = src.af;
    f.protocol = this.svc.protocol;
    src.writeWords(f.saddr);
    dst.writeWords(f.daddr);
    f.sport = Number(p ?? 1000);
    f.dport = this.svc.port;
    f.now = now;
    return (this.svc.sched as Scheduler).schedule(this.svc, f, null);
  }

  /** Binds a new connection to `d` as the datapath does: counts it (active), then loadChanged. */
  bind(d: Dest, active = true): void {
    d.totalConns++;
    if (active) d.activeConns++;
    overloadOnBind(d);
    d.svc.sched?.loadChanged(d.svc, d);
  }

  /** Picks `n` times, binding each connection; returns the last octets (or '-') of the picks. */
  sequence(n: number, bindActive: boolean | null = null, clientBase = 1): string[] {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const d = this.pickDest(`192.0.2.${(clientBase + i) % 250}:${1000 + i}`);
      out.push(d ? `.${d.addr.w0 & 255}` : '-');
      if (d && bindActive !== null) this.bind(d, bindActive);
    }
    return out;
  }
}
