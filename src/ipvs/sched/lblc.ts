/**
 * lblc — locality-based least connection. Mirrors ip_vs_lblc_schedule(): a
 * cache maps each destination address to a server. The cached server is used
 * (and the entry's last use refreshed) while it is still in the service, has
 * weight > 0 and is not "overloaded" in lblc's sense: more active connections
 * than its weight while some server of the service has fewer than half its
 * weight. Otherwise (or without an entry) the wlc pick over all servers is
 * used and cached. Entries are garbage-collected as the kernel's periodic
 * timer does (see locality.ts; `lblc_expiration`, default 24 h).
 */
import type { Dest, Service } from '../service.js';
import type { SchedEnv, SchedFlow, SchedTrace, Scheduler } from './scheduler.js';
import { LocalityState } from './locality.js';

export class LocalityLeastConnection implements Scheduler {
  readonly name = 'lblc';

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
    tbl.catchUp(flow.now, st.env, 'lblc_expiration');
    const e = tbl.lookup(svc.af, flow.daddr);
    if (e >= 0) {
      tbl.lastuse[e] = flow.now;
      const d = tbl.dest[e] as Dest;
      if (d.available && d.weight > 0 && !st.overloaded(d)) {
        if (trace !== null) trace.consider(d, 'cache hit: picked');
        return d;
      }
      if (trace !== null)
        trace.consider(
          d,
          !d.available
            ? 'cache hit, server deleted'
            : d.weight <= 0
              ? 'cache hit, server quiesced'
              : `cache hit, overloaded (active ${d.activeConns} > weight ${d.weight} and a server is below half its weight)`,
        );
    } else if (trace !== null) trace.note('lblc: no cache entry for this destination address');
    const d = st.load.best();
    if (d === null) {
      if (trace !== null) trace.note('lblc: no destination available');
      return null;
    }
    if (e >= 0) {
      if (tbl.dest[e] !== d) {
        // ip_vs_lblc_new(): the old entry is dropped and a new one hashed (and counted)
        tbl.dest[e] = d;
        tbl.lastuse[e] = flow.now;
        tbl.entries++;
      }
    } else {
      const n = tbl.insert(svc.af, flow.daddr, flow.now);
      tbl.dest[n] = d;
    }
    if (trace !== null) trace.consider(d, `wlc pick: overhead ${d.overhead} / weight ${d.weight}, cached`);
    return d;
  }
}
