/**
 * Reference implementations: the kernel's rules written as the kernel writes
 * them, a linear scan of the destination list on every pick and no index.
 * The property tests check that the indexed schedulers make the same
 * decisions on random states and random sequences of changes, and the
 * benchmark uses them as the baseline ("the kernel's own O(n) algorithm").
 * Not used by the director.
 */
import type { Dest, Service } from '../service.js';
import { cmpProducts, gcd } from './common.js';
import type { SchedEnv, SchedFlow, SchedTrace, Scheduler } from './scheduler.js';

/** The linear-scan pick functions, by scheduler name. */
export type NaivePick = (dests: readonly Dest[]) => Dest | null;

/** ip_vs_lc_schedule(). */
export function naiveLc(dests: readonly Dest[]): Dest | null {
  let least: Dest | null = null;
  let loh = 0;
  for (const d of dests) {
    if (d.overloaded || d.weight === 0) continue;
    const doh = d.overhead;
    if (least === null || doh < loh) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/** ip_vs_wlc_schedule() (also the wlc step of lblc/lblcr). */
export function naiveWlc(dests: readonly Dest[]): Dest | null {
  let i = 0;
  let least: Dest | null = null;
  for (; i < dests.length; i++) {
    const d = dests[i];
    if (!d.overloaded && d.weight > 0) {
      least = d;
      break;
    }
  }
  if (least === null) return null;
  let loh = least.overhead;
  for (i++; i < dests.length; i++) {
    const d = dests[i];
    if (d.overloaded) continue;
    const doh = d.overhead;
    if (cmpProducts(loh, d.weight, doh, least.weight) > 0) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/** ip_vs_sed_schedule(). */
export function naiveSed(dests: readonly Dest[]): Dest | null {
  let i = 0;
  let least: Dest | null = null;
  for (; i < dests.length; i++) {
    const d = dests[i];
    if (!d.overloaded && d.weight > 0) {
      least = d;
      break;
    }
  }
  if (least === null) return null;
  let loh = least.activeConns + 1;
  for (i++; i < dests.length; i++) {
    const d = dests[i];
    if (d.overloaded) continue;
    const doh = d.activeConns + 1;
    if (cmpProducts(loh, d.weight, doh, least.weight) > 0) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/** ip_vs_nq_schedule(). */
export function naiveNq(dests: readonly Dest[]): Dest | null {
  let least: Dest | null = null;
  let loh = 0;
  for (const d of dests) {
    if (d.overloaded || d.weight === 0) continue;
    const doh = d.activeConns + 1;
    if (d.activeConns === 0) return d;
    if (least === null || cmpProducts(loh, d.weight, doh, least.weight) > 0) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/** ip_vs_fo_schedule(). */
export function naiveFo(dests: readonly Dest[]): Dest | null {
  let h: Dest | null = null;
  let hw = 0;
  for (const d of dests) {
    if (!d.overloaded && d.weight > hw) {
      h = d;
      hw = d.weight;
    }
  }
  return h;
}

/** ip_vs_ovf_schedule(). */
export function naiveOvf(dests: readonly Dest[]): Dest | null {
  let h: Dest | null = null;
  let hw = 0;
  for (const d of dests) {
    const w = d.weight;
    if (d.overloaded || d.activeConns > w || w === 0) continue;
    if (h === null || w > hw) {
      h = d;
      hw = w;
    }
  }
  return h;
}

export const NAIVE_PICKS: ReadonlyMap<string, NaivePick> = new Map([
  ['lc', naiveLc],
  ['wlc', naiveWlc],
  ['sed', naiveSed],
  ['nq', naiveNq],
  ['fo', naiveFo],
  ['ovf', naiveOvf],
]);

/** A stateless scan scheduler (lc, wlc, sed, nq, fo, ovf) built from a pick function. */
export class NaiveScanScheduler implements Scheduler {
  readonly name: string;
  private readonly pick: NaivePick;

  constructor(name: string, pick: NaivePick) {
    this.name = name;
    this.pick = pick;
  }

  initService(svc: Service, _env: SchedEnv): void {
    svc.schedData = null;
  }
  doneService(_svc: Service): void {}
  addDest(_svc: Service, _dest: Dest): void {}
  delDest(_svc: Service, _dest: Dest): void {}
  updDest(_svc: Service, _dest: Dest): void {}
  loadChanged(_svc: Service, _dest: Dest): void {}

  schedule(svc: Service, _flow: SchedFlow, _trace: SchedTrace | null): Dest | null {
    return this.pick(svc.dests);
  }
}

/** ip_vs_rr.c as written: a position in the list, walked one server at a time. */
export class NaiveRoundRobin implements Scheduler {
  readonly name = 'rr';

  initService(svc: Service, _env: SchedEnv): void {
    svc.schedData = { cur: null as Dest | null, mirror: [...svc.dests] };
  }
  doneService(svc: Service): void {
    svc.schedData = null;
  }
  addDest(svc: Service, dest: Dest): void {
    (svc.schedData as { mirror: Dest[] }).mirror.unshift(dest);
  }
  /** ip_vs_rr_del_dest(): a position on the deleted server moves back to the server before it. */
  delDest(svc: Service, dest: Dest): void {
    const st = svc.schedData as { cur: Dest | null; mirror: Dest[] };
    const i = st.mirror.indexOf(dest);
    if (st.cur === dest) st.cur = i > 0 ? st.mirror[i - 1] : null;
    if (i >= 0) st.mirror.splice(i, 1);
  }
  updDest(_svc: Service, _dest: Dest): void {}
  loadChanged(_svc: Service, _dest: Dest): void {}

  schedule(svc: Service, _flow: SchedFlow, _trace: SchedTrace | null): Dest | null {
    const st = svc.schedData as { cur: Dest | null };
    const list = svc.dests;
    const n = list.length;
    const start = st.cur === null ? -1 : list.indexOf(st.cur);
    // after the position to the end, then from the head up to and including the position
    for (let k = 1; k <= n; k++) {
      const d = list[(start + k) % n];
      if (!d.overloaded && d.weight > 0) {
        st.cur = d;
        return d;
      }
    }
    return null;
  }
}

/** ip_vs_wrr.c as written (linear walk with cw/mw/di and the last_pass/stop logic). */
export class NaiveWeightedRoundRobin implements Scheduler {
  readonly name = 'wrr';

  private static gcdWeight(svc: Service): number {
    let g = 0;
    for (const d of svc.dests) if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
    return g > 0 ? g : 1;
  }

  private static maxWeight(svc: Service): number {
    let m = 0;
    for (const d of svc.dests) if (d.weight > m) m = d.weight;
    return m;
  }

  initService(svc: Service, _env: SchedEnv): void {
    const di = NaiveWeightedRoundRobin.gcdWeight(svc);
    const mw = NaiveWeightedRoundRobin.maxWeight(svc) - (di - 1);
    svc.schedData = { cl: -1, di, mw, cw: mw };
  }
  doneService(svc: Service): void {
    svc.schedData = null;
  }
  private changed(svc: Service): void {
    const m = svc.schedData as { cl: number; di: number; mw: number; cw: number };
    m.cl = -1;
    m.di = NaiveWeightedRoundRobin.gcdWeight(svc);
    m.mw = NaiveWeightedRoundRobin.maxWeight(svc) - (m.di - 1);
    if (m.cw > m.mw || !m.cw) m.cw = m.mw;
    else if (m.di > 1) m.cw = Math.trunc(m.cw / m.di) * m.di + 1;
  }
  addDest(svc: Service, _dest: Dest): void {
    this.changed(svc);
  }
  delDest(svc: Service, _dest: Dest): void {
    this.changed(svc);
  }
  updDest(svc: Service, _dest: Dest): void {
    this.changed(svc);
  }
  loadChanged(_svc: Service, _dest: Dest): void {}

  schedule(svc: Service, _flow: SchedFlow, _trace: SchedTrace | null): Dest | null {
    // positions: -1 is the list head; cl is an index into svc.dests (reset on every change)
    const m = svc.schedData as { cl: number; di: number; mw: number; cw: number };
    const list = svc.dests;
    if (m.mw === 0) return null;
    const last = m.cl;
    let pos = m.cl;
    let stop = -2;
    let lastPass = false;
    let restarted = false;
    for (;;) {
      for (let i = pos + 1; i < list.length; i++) {
        const d = list[i];
        if (!d.overloaded && d.weight >= m.cw) {
          m.cl = i;
          return d;
        }
        if (i === stop) {
          m.cl = i;
          return null;
        }
      }
      m.cw -= m.di;
      if (m.cw <= 0) {
        m.cw = m.mw;
        if (lastPass || last === -1) {
          m.cl = -1;
          return null;
        }
        restarted = true;
      }
      lastPass = m.cw <= m.di;
      if (lastPass && restarted && last !== -1) stop = last;
      pos = -1;
    }
  }
}

/** ip_vs_twos_schedule() as written. */
export class NaiveTwos implements Scheduler {
  readonly name = 'twos';

  initService(svc: Service, env: SchedEnv): void {
    svc.schedData = env;
  }
  doneService(svc: Service): void {
    svc.schedData = null;
  }
  addDest(_svc: Service, _dest: Dest): void {}
  delDest(_svc: Service, _dest: Dest): void {}
  updDest(_svc: Service, _dest: Dest): void {}
  loadChanged(_svc: Service, _dest: Dest): void {}

  schedule(svc: Service, _flow: SchedFlow, _trace: SchedTrace | null): Dest | null {
    const env = svc.schedData as SchedEnv;
    let total = 0;
    let any = false;
    for (const d of svc.dests) {
      if (!d.overloaded && d.weight > 0) {
        total += d.weight;
        any = true;
      }
    }
    if (!any) return null;
    total += 1;
    let r1 = env.random32() % total;
    let r2 = env.random32() % total;
    let c1: Dest | null = null;
    let c2: Dest | null = null;
    let w1 = -1;
    let w2 = -1;
    let oh1 = 0;
    let oh2 = 0;
    for (const d of svc.dests) {
      if (d.overloaded || d.weight <= 0) continue;
      r1 -= d.weight;
      r2 -= d.weight;
      if (r1 <= 0 && w1 === -1) {
        c1 = d;
        w1 = d.weight;
        oh1 = d.overhead | 0;
      }
      if (r2 <= 0 && w2 === -1) {
        c2 = d;
        w2 = d.weight;
        oh2 = d.overhead | 0;
      }
      if (w1 !== -1 && w2 !== -1) break;
    }
    if (c2 !== null && Math.imul(w2, oh1) > Math.imul(w1, oh2)) c1 = c2;
    return c1;
  }
}

/** lblc's is_overloaded() as written: a scan of the service's servers. */
function naiveLblcOverloaded(dest: Dest, svc: Service): boolean {
  if (dest.activeConns > dest.weight) {
    for (const d of svc.dests) if (d.activeConns * 2 < d.weight) return true;
  }
  return false;
}

function addrKey(flow: SchedFlow): string {
  return `${flow.daddr[0]},${flow.daddr[1]},${flow.daddr[2]},${flow.daddr[3]}`;
}

/**
 * ip_vs_lblc_schedule() as written, with a Map for the cache and no garbage
 * collection (for comparisons within the first minute of a service).
 */
export class NaiveLblc implements Scheduler {
  readonly name = 'lblc';

  initService(svc: Service, _env: SchedEnv): void {
    svc.schedData = new Map<string, Dest>();
  }
  doneService(svc: Service): void {
    svc.schedData = null;
  }
  addDest(_svc: Service, _dest: Dest): void {}
  delDest(_svc: Service, _dest: Dest): void {}
  updDest(_svc: Service, _dest: Dest): void {}
  loadChanged(_svc: Service, _dest: Dest): void {}

  schedule(svc: Service, flow: SchedFlow, _trace: SchedTrace | null): Dest | null {
    const cache = svc.schedData as Map<string, Dest>;
    const key = addrKey(flow);
    const cached = cache.get(key);
    if (cached && cached.available && cached.weight > 0 && !naiveLblcOverloaded(cached, svc)) return cached;
    const d = naiveWlc(svc.dests);
    if (d !== null) cache.set(key, d);
    return d;
  }
}

/** ip_vs_lblcr_schedule() as written (sets as arrays, newest member first), no garbage collection. */
export class NaiveLblcr implements Scheduler {
  readonly name = 'lblcr';

  initService(svc: Service, env: SchedEnv): void {
    svc.schedData = { env, sets: new Map<string, { members: Dest[]; lastmod: number }>() };
  }
  doneService(svc: Service): void {
    svc.schedData = null;
  }
  addDest(_svc: Service, _dest: Dest): void {}
  delDest(_svc: Service, _dest: Dest): void {}
  updDest(_svc: Service, _dest: Dest): void {}
  loadChanged(_svc: Service, _dest: Dest): void {}

  schedule(svc: Service, flow: SchedFlow, _trace: SchedTrace | null): Dest | null {
    const st = svc.schedData as { env: SchedEnv; sets: Map<string, { members: Dest[]; lastmod: number }> };
    const key = addrKey(flow);
    const set = st.sets.get(key);
    if (!set) {
      const d = naiveWlc(svc.dests);
      if (d !== null) st.sets.set(key, { members: [d], lastmod: flow.now });
      return d;
    }
    // ip_vs_dest_set_min()
    let least: Dest | null = null;
    let i = 0;
    for (; i < set.members.length; i++) {
      const d = set.members[i];
      if (d.overloaded) continue;
      if (d.weight > 0 && d.available) {
        least = d;
        break;
      }
    }
    if (least !== null) {
      for (i++; i < set.members.length; i++) {
        const d = set.members[i];
        if (d.overloaded) continue;
        if (cmpProducts(least.overhead, d.weight, d.overhead, least.weight) > 0 && d.available) least = d;
      }
    }
    if (set.members.length > 1 && flow.now > set.lastmod + st.env.sysctl('lblcr_expiration') * 1000) {
      // ip_vs_dest_set_max()
      let most: Dest | null = null;
      let j = 0;
      for (; j < set.members.length; j++) {
        if (set.members[j].weight > 0) {
          most = set.members[j];
          break;
        }
      }
      if (most !== null) {
        for (j++; j < set.members.length; j++) {
          const d = set.members[j];
          if (cmpProducts(most.overhead, d.weight, d.overhead, most.weight) < 0 && d.weight > 0) most = d;
        }
        set.members.splice(set.members.indexOf(most), 1);
        set.lastmod = flow.now;
      }
    }
    if (least !== null && !naiveLblcOverloaded(least, svc)) return least;
    const d = naiveWlc(svc.dests);
    if (d === null) return null;
    if (!set.members.includes(d)) {
      set.members.unshift(d);
      set.lastmod = flow.now;
    }
    return d;
  }
}

/** A registry of the reference implementations (the schedulers that have one). */
export function createNaiveRegistry(): Map<string, Scheduler> {
  const m = new Map<string, Scheduler>();
  for (const [name, pick] of NAIVE_PICKS) m.set(name, new NaiveScanScheduler(name, pick));
  m.set('rr', new NaiveRoundRobin());
  m.set('wrr', new NaiveWeightedRoundRobin());
  m.set('twos', new NaiveTwos());
  m.set('lblc', new NaiveLblc());
  m.set('lblcr', new NaiveLblcr());
  return m;
}
