/**
 * twos — power of two choices. Mirrors ip_vs_twos_schedule(): over the
 * servers that are not overloaded and have weight > 0, with W their total
 * weight, draw r1 = random % (W + 1) and r2 = random % (W + 1) (in that
 * order, from the director's seeded generator); each r selects the first
 * server in list order at which the running weight sum reaches r (r = 0
 * selects the first one). The second choice replaces the first only when
 * `weight2 * overhead1 > weight1 * overhead2`, computed in the kernel's
 * 32-bit int arithmetic.
 *
 * The weighted selection is a Fenwick-tree search (O(log n)) instead of the
 * kernel's linear walk.
 */
import type { Dest, Service } from '../service.js';
import { destLabel, modU32Recip } from './common.js';
import { DestSlots, Fenwick } from './dest_index.js';
import type { SchedEnv, SchedFlow, SchedTrace, Scheduler } from './scheduler.js';

class TwosState {
  readonly slots = new DestSlots();
  readonly fen = new Fenwick();
  readonly env: SchedEnv;
  /** The modulus of the last draws (total weight + 1) and its reciprocal, for modU32Recip. */
  mod = 1;
  inv = 1;

  constructor(env: SchedEnv) {
    this.env = env;
  }

  rebuild(): void {
    const cap = this.slots.cap;
    const vals = new Float64Array(cap);
    for (let s = 0; s < cap; s++) vals[s] = weightOf(this.slots.dests[s]);
    this.fen.rebuild(cap, vals);
  }
}

function weightOf(d: Dest | null): number {
  return d === null || d.overloaded || d.weight <= 0 ? 0 : d.weight;
}

/** ip_vs_dest_conn_overhead() as the kernel's int. */
function overheadInt(d: Dest): number {
  return d.overhead | 0;
}

/**
 * The trace of one pick, kept out of schedule() so that the hot path stays
 * small enough for the compiler to inline it together with the draws.
 */
function explain(
  trace: SchedTrace,
  total: number,
  r1: number,
  r2: number,
  d1: Dest,
  d2: Dest,
  take2: boolean,
): void {
  trace.note(`twos: total weight ${total}, draws ${r1} and ${r2}`);
  trace.consider(d1, `first choice: overhead ${d1.overhead} / weight ${d1.weight | 0}`);
  trace.consider(d2, `second choice: overhead ${d2.overhead} / weight ${d2.weight | 0}`);
  trace.note(`twos: picked ${destLabel(take2 ? d2 : d1)}`);
}

export class PowerOfTwoChoices implements Scheduler {
  readonly name = 'twos';

  initService(svc: Service, env: SchedEnv): void {
    const st = new TwosState(env);
    st.slots.layout(svc.dests);
    st.rebuild();
    svc.schedData = st;
  }

  doneService(svc: Service): void {
    const st = svc.schedData as TwosState | null;
    if (st) st.slots.clear();
    svc.schedData = null;
  }

  addDest(svc: Service, dest: Dest): void {
    const st = svc.schedData as TwosState;
    if (st.slots.addHead(dest, svc.dests)) st.rebuild();
    else st.fen.set(dest.schedSlot, weightOf(dest));
  }

  delDest(svc: Service, dest: Dest): void {
    const st = svc.schedData as TwosState;
    const s = dest.schedSlot;
    const had = st.slots.has(dest);
    if (st.slots.remove(dest, svc.dests)) st.rebuild();
    else if (had) st.fen.set(s, 0);
  }

  updDest(svc: Service, dest: Dest): void {
    this.loadChanged(svc, dest);
  }

  loadChanged(svc: Service, dest: Dest): void {
    const st = svc.schedData as TwosState | null;
    if (st !== null && st.slots.has(dest)) st.fen.set(dest.schedSlot, weightOf(dest));
  }

  schedule(svc: Service, _flow: SchedFlow, trace: SchedTrace | null): Dest | null {
    const st = svc.schedData as TwosState | null;
    if (st === null) return null;
    const total = st.fen.total;
    if (total <= 0) {
      if (trace !== null) trace.note('twos: no destination available');
      return null;
    }
    const mod = total + 1;
    if (mod !== st.mod) {
      st.mod = mod;
      st.inv = 1 / mod;
    }
    const r1 = modU32Recip(st.env.random32() >>> 0, mod, st.inv);
    const r2 = modU32Recip(st.env.random32() >>> 0, mod, st.inv);
    const fen = st.fen;
    const s1 = fen.lowerBound2(r1 > 0 ? r1 : 1, r2 > 0 ? r2 : 1);
    const d1 = st.slots.dests[s1] as Dest;
    const d2 = st.slots.dests[fen.second] as Dest;
    const w1 = d1.weight | 0;
    const w2 = d2.weight | 0;
    const take2 = Math.imul(w2, overheadInt(d1)) > Math.imul(w1, overheadInt(d2));
    if (trace !== null) explain(trace, total, r1, r2, d1, d2, take2);
    return take2 ? d2 : d1;
  }
}
