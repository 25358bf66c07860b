/**
 * rr — round robin. Mirrors ip_vs_rr_schedule(): continue the walk after the
 * server picked last time (at the start: from the list head), wrapping around
 * once, and take the first server that is not overloaded and has weight > 0.
 * The position survives additions (a new server goes to the head, i.e. it is
 * reached after the wrap) and, as ip_vs_rr_del_dest() does, moves back to
 * the previous server when the server it points at is deleted.
 */
import type { Dest, Service } from '../service.js';
import { destLabel } from './common.js';
import type { SchedEnv, SchedFlow, SchedTrace, Scheduler } from './scheduler.js';
import { WalkIndex } from './walk.js';

class RrState {
  readonly walk = new WalkIndex(false);
  /** Slot of the last pick; -1 = the list head (nothing picked yet). */
  cur = -1;
}

export class RoundRobin implements Scheduler {
  readonly name = 'rr';

  initService(svc: Service, _env: SchedEnv): void {
    const st = new RrState();
    st.walk.init(svc);
    svc.schedData = st;
  }

  doneService(svc: Service): void {
    const st = svc.schedData as RrState | null;
    if (st) st.walk.clear();
    svc.schedData = null;
  }

  addDest(svc: Service, dest: Dest): void {
    const st = svc.schedData as RrState;
    const at = st.cur >= 0 ? st.walk.slots.dests[st.cur] : null;
    if (st.walk.add(svc, dest)) st.cur = at ? at.schedSlot : -1;
  }

  delDest(svc: Service, dest: Dest): void {
    const st = svc.schedData as RrState;
    const slots = st.walk.slots;
    if (st.cur >= 0 && slots.dests[st.cur] === dest) {
      // the position moves back to the server before it (or the head)
      let p = st.cur - 1;
      while (p >= slots.head && slots.dests[p] === null) p--;
      st.cur = p >= slots.head ? p : -1;
    }
    const at = st.cur >= 0 ? slots.dests[st.cur] : null;
    if (st.walk.del(svc, dest)) st.cur = at ? at.schedSlot : -1;
  }

  updDest(svc: Service, dest: Dest): void {
    (svc.schedData as RrState).walk.touch(dest);
  }

  loadChanged(svc: Service, dest: Dest): void {
    const st = svc.schedData as RrState | null;
    if (st !== null) st.walk.touch(dest);
  }

  schedule(svc: Service, _flow: SchedFlow, trace: SchedTrace | null): Dest | null {
    const st = svc.schedData as RrState | null;
    if (st === null) return null;
    const tree = st.walk.tree;
    const cap = tree.cap;
    const cur = st.cur;
    let s = cur + 1;
    // usually the very next slot is usable; otherwise descend the tree
    if (s >= cap || tree.mx[cap + s] < 1) {
      s = tree.findFirst(cur + 1, cap - 1, 1);
      if (s < 0 && cur >= 0) s = tree.findFirst(0, cur, 1);
    }
    if (trace !== null) this.explain(st, s, trace);
    if (s < 0) return null;
    st.cur = s;
    return st.walk.slots.dests[s];
  }

  private explain(st: RrState, s: number, trace: SchedTrace): void {
    const slots = st.walk.slots;
    const from = st.cur >= 0 ? slots.dests[st.cur] : null;
    trace.note(from ? `rr: continuing after ${destLabel(from)}` : 'rr: starting at the head of the list');
    if (s < 0) trace.note('rr: no destination available (all quiesced or overloaded)');
    else trace.consider(slots.dests[s] as Dest, 'next usable server: picked');
  }
}
