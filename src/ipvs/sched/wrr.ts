/**
 * wrr — weighted round robin. Mirrors ip_vs_wrr_schedule() and
 * ip_vs_wrr_dest_changed(): the walk keeps a position `cl`, a current weight
 * `cw`, `mw` = max weight - (gcd - 1) and `di` = gcd of the weights > 0.
 * From the position, the first server that is not overloaded with
 * weight >= cw wins; at the end of the list cw drops by di and, at 0, wraps
 * to mw; the kernel's `last_pass`/`stop` bookkeeping decides when a full
 * fruitless walk ends in "no destination". Any add/edit/delete restarts the
 * walk at the head, recomputes di and mw, and keeps cw unless it is 0 or
 * above mw (then mw), rounding it to the di grid (cw/di*di + 1) when di > 1.
 *
 * The "next server with weight >= cw" step is a MaxTree descent (O(log n))
 * instead of the kernel's linear walk.
 */
import type { Dest, Service } from '../service.js';
import { destLabel, gcd } from './common.js';
import type { SchedEnv, SchedFlow, SchedTrace, Scheduler } from './scheduler.js';
import { WalkIndex } from './walk.js';

class WrrState {
  readonly walk = new WalkIndex(true);
  /** Slot of the last pick; -1 = the list head. */
  cl = -1;
  cw = 0;
  mw = 0;
  di = 1;
}

/** ip_vs_wrr_gcd_weight(): gcd of the weights > 0, 1 when there is none. */
function gcdWeight(svc: Service): number {
  let g = 0;
  for (const d of svc.dests) {
    const w = d.weight;
    if (w > 0) g = g > 0 ? gcd(w, g) : w;
  }
  return g > 0 ? g : 1;
}

/** ip_vs_wrr_max_weight(). */
function maxWeight(svc: Service): number {
  let m = 0;
  for (const d of svc.dests) if (d.weight > m) m = d.weight;
  return m;
}

export class WeightedRoundRobin implements Scheduler {
  readonly name = 'wrr';

  initService(svc: Service, _env: SchedEnv): void {
    const st = new WrrState();
    st.walk.init(svc);
    st.cl = -1;
    st.di = gcdWeight(svc);
    st.mw = maxWeight(svc) - (st.di - 1);
    st.cw = st.mw;
    svc.schedData = st;
  }

  doneService(svc: Service): void {
    const st = svc.schedData as WrrState | null;
    if (st) st.walk.clear();
    svc.schedData = null;
  }

  /** ip_vs_wrr_dest_changed(). */
  private changed(svc: Service, st: WrrState): void {
    st.cl = -1;
    st.di = gcdWeight(svc);
    st.mw = maxWeight(svc) - (st.di - 1);
    if (st.cw > st.mw || st.cw === 0) st.cw = st.mw;
    else if (st.di > 1) st.cw = Math.trunc(st.cw / st.di) * st.di + 1;
  }

  addDest(svc: Service, dest: Dest): void {
    const st = svc.schedData as WrrState;
    st.walk.add(svc, dest);
    this.changed(svc, st);
  }

  delDest(svc: Service, dest: Dest): void {
    const st = svc.schedData as WrrState;
    st.walk.del(svc, dest);
    this.changed(svc, st);
  }

  updDest(svc: Service, dest: Dest): void {
    const st = svc.schedData as WrrState;
    st.walk.touch(dest);
    this.changed(svc, st);
  }

  loadChanged(svc: Service, dest: Dest): void {
    const st = svc.schedData as WrrState | null;
    if (st !== null) st.walk.touch(dest);
  }

  schedule(svc: Service, _flow: SchedFlow, trace: SchedTrace | null): Dest | null {
    const st = svc.schedData as WrrState | null;
    if (st === null) return null;
    if (trace !== null) trace.note(`wrr: cw ${st.cw}, mw ${st.mw}, di ${st.di}, position ${this.where(st)}`);
    if (st.mw === 0) {
      if (trace !== null) trace.note('wrr: no destination available (all weights 0)');
      return null;
    }
    const tree = st.walk.tree;
    const end = st.walk.slots.cap - 1;
    const last = st.cl;
    let pos = st.cl;
    let stop = -1;
    let lastPass = false;
    let restarted = false;
    for (;;) {
      // a walk from the head cannot succeed when no server reaches cw: skip the descent
      if (pos >= 0 || stop >= 0 || tree.mx[1] >= st.cw) {
        const s = tree.findFirst(pos + 1, stop >= 0 ? stop : end, st.cw);
        if (s >= 0) {
          st.cl = s;
          const d = st.walk.slots.dests[s] as Dest;
          if (trace !== null) trace.consider(d, `weight ${d.weight} >= cw ${st.cw}: picked`);
          return d;
        }
        if (stop >= 0) {
          st.cl = stop;
          if (trace !== null) trace.note('wrr: no destination available (all overloaded)');
          return null;
        }
      }
      st.cw -= st.di;
      if (st.cw <= 0) {
        st.cw = st.mw;
        if (lastPass || last < 0) {
          st.cl = -1;
          if (trace !== null) trace.note('wrr: no destination available (all overloaded)');
          return null;
        }
        restarted = true;
      }
      lastPass = st.cw <= st.di;
      if (lastPass && restarted && last >= 0) stop = last;
      pos = -1;
      if (trace !== null) trace.note(`wrr: end of list, cw now ${st.cw}`);
    }
  }

  private where(st: WrrState): string {
    const d = st.cl >= 0 ? st.walk.slots.dests[st.cl] : null;
    return d ? `after ${destLabel(d)}` : 'list head';
  }
}
