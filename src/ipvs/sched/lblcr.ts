/**
 * lblcr — locality-based least connection with replication. Mirrors
 * ip_vs_lblcr_schedule(): each destination address maps to a *set* of
 * servers (newest member first). The set's least loaded member
 * (ip_vs_dest_set_min(): first member that is not overloaded, still in the
 * service and has weight > 0, replaced by a later one only when strictly less
 * loaded per weight) is used unless it is overloaded in lblc's sense; then
 * the wlc pick over all servers is used and added to the set. When the set
 * has more than one member and has not changed for `lblcr_expiration`
 * seconds, its most loaded member (ip_vs_dest_set_max()) is dropped first.
 * Entries are garbage-collected as for lblc (see locality.ts).
 */
import type { Dest, Service } from '../service.js';
import { cmpProducts, destLabel } from './common.js';
import type { SchedEnv, SchedFlow, SchedTrace, Scheduler } from './scheduler.js';
import { LocalityState, type LocalityTable } from './locality.js';

/** ip_vs_dest_set_min(). */
function setMin(tbl: LocalityTable, e: number): Dest | null {
  let x = tbl.setHead[e];
  let least: Dest | null = null;
  for (; x >= 0; x = tbl.elemNext[x]) {
    const d = tbl.elemDest[x] as Dest;
    if (d.overloaded) continue;
    if (d.weight > 0 && d.available) {
      least = d;
      break;
    }
  }
  if (least === null) return null;
  let loh = least.overhead;
  for (x = tbl.elemNext[x]; x >= 0; x = tbl.elemNext[x]) {
    const d = tbl.elemDest[x] as Dest;
    if (d.overloaded) continue;
    const doh = d.overhead;
    if (cmpProducts(loh, d.weight, doh, least.weight) > 0 && d.available) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/** ip_vs_dest_set_max(). */
function setMax(tbl: LocalityTable, e: number): Dest | null {
  let x = tbl.setHead[e];
  let most: Dest | null = null;
  for (; x >= 0; x = tbl.elemNext[x]) {
    const d = tbl.elemDest[x] as Dest;
    if (d.weight > 0) {
      most = d;
      break;
    }
  }
  if (most === null) return null;
  let moh = most.overhead;
  for (x = tbl.elemNext[x]; x >= 0; x = tbl.elemNext[x]) {
    const d = tbl.elemDest[x] as Dest;
    const doh = d.overhead;
    if (cmpProducts(moh, d.weight, doh, most.weight) < 0 && d.weight > 0) {
      most = d;
      moh = doh;
    }
  }
  return most;
}

function setHas(tbl: LocalityTable, e: number, d: Dest): boolean {
  for (let x = tbl.setHead[e]; x >= 0; x = tbl.elemNext[x]) if (tbl.elemDest[x] === d) return true;
  return false;
}

export class LocalityLeastConnectionReplicated implements Scheduler {
  readonly name = 'lblcr';

  initService(svc: Service, env: SchedEnv): void {
    svc.schedData = new LocalityState(svc, env);
  }

  doneService(svc: Service): void {
    const st = svc.schedData as LocalityState | null;
    if (st) st.clear();
    svc.schedData = null;
  }

  addDest(svc: Service, dest: Dest): void {
    (svc.schedData as LocalityState).add(svc, dest);
  }

  delDest(svc: Service, dest: Dest): void {
    (svc.schedData as LocalityState).del(svc, dest);
  }

  updDest(svc: Service, dest: Dest): void {
    (svc.schedData as LocalityState).touch(dest);
  }

  loadChanged(svc: Service, dest: Dest): void {
    const st = svc.schedData as LocalityState | null;
    if (st !== null) st.touch(dest);
  }

  schedule(svc: Service, flow: SchedFlow, trace: SchedTrace | null): Dest | null {
    const st = svc.schedData as LocalityState | null;
    if (st === null) return null;
    const tbl = st.table;
    const now = flow.now;
    tbl.catchUp(now, st.env, 'lblcr_expiration');
    const e = tbl.lookup(svc.af, flow.daddr);
    if (e < 0) {
      if (trace !== null) trace.note('lblcr: no cache entry for this destination address');
      const d = st.load.best();
      if (d === null) {
        if (trace !== null) trace.note('lblcr: no destination available');
        return null;
      }
      const n = tbl.insert(svc.af, flow.daddr, now);
      tbl.setPush(n, d, now);
      if (trace !== null) trace.consider(d, `wlc pick: overhead ${d.overhead} / weight ${d.weight}, new set`);
      return d;
    }
    tbl.lastuse[e] = now;
    const least = setMin(tbl, e);
    if (tbl.setSize[e] > 1 && now > tbl.lastmod[e] + st.env.sysctl('lblcr_expiration') * 1000) {
      const m = setMax(tbl, e);
      if (m !== null) {
        tbl.setErase(e, m, now);
        if (trace !== null)
          trace.consider(m, 'set unchanged for lblcr_expiration: most loaded member dropped');
      }
    }
    if (least !== null && !st.overloaded(least)) {
      if (trace !== null) trace.consider(least, `least loaded member of the set: picked`);
      return least;
    }
    if (trace !== null)
      trace.note(
        least === null
          ? 'lblcr: no usable member in the set'
          : `lblcr: set member ${destLabel(least)} overloaded (active ${least.activeConns} > weight ${least.weight})`,
      );
    const d = st.load.best();
    if (d === null) {
      if (trace !== null) trace.note('lblcr: no destination available');
      return null;
    }
    if (!setHas(tbl, e, d)) tbl.setPush(e, d, now);
    if (trace !== null)
      trace.consider(d, `wlc pick: overhead ${d.overhead} / weight ${d.weight}, added to the set`);
    return d;
  }
}
