/**
 * dh — destination hashing. Mirrors ip_vs_dh.c: a 256-bucket table is dealt
 * round robin over the servers in list order (weights ignored), rebuilt when
 * a server is added or deleted (ip_vs_dh_reassign(); weight edits do not
 * rebuild it). A packet's bucket is `hash_32(ntohl(daddr), 8)` (IPv6: the
 * XOR of the four address words); its server is used if it is still in the
 * service, not overloaded and has weight > 0, otherwise there is no
 * destination (no fallback).
 */
import type { Dest, Service } from '../service.js';
import { foldAddr, hash32 } from './common.js';
import type { SchedEnv, SchedFlow, SchedTrace, Scheduler } from './scheduler.js';

export const DH_TAB_BITS = 8;
export const DH_TAB_SIZE = 1 << DH_TAB_BITS;

class DhState {
  readonly buckets: (Dest | null)[] = new Array<Dest | null>(DH_TAB_SIZE).fill(null);
}

/** ip_vs_dh_reassign(): deal the buckets over the list, one each, cycling. */
function reassign(st: DhState, svc: Service): void {
  const n = svc.dests.length;
  for (let i = 0; i < DH_TAB_SIZE; i++) st.buckets[i] = n === 0 ? null : svc.dests[i % n];
}

/** The bucket a destination address falls in (ip_vs_dh_hashkey()). */
export function dhBucket(af: number, daddr: Uint32Array): number {
  return hash32(foldAddr(af, daddr), DH_TAB_BITS);
}

export class DestinationHashing implements Scheduler {
  readonly name = 'dh';

  initService(svc: Service, _env: SchedEnv): void {
    const st = new DhState();
    reassign(st, svc);
    svc.schedData = st;
  }

  doneService(svc: Service): void {
    svc.schedData = null;
  }

  addDest(svc: Service, _dest: Dest): void {
    reassign(svc.schedData as DhState, svc);
  }

  delDest(svc: Service, _dest: Dest): void {
    reassign(svc.schedData as DhState, svc);
  }

  updDest(_svc: Service, _dest: Dest): void {}

  loadChanged(_svc: Service, _dest: Dest): void {}

  schedule(svc: Service, flow: SchedFlow, trace: SchedTrace | null): Dest | null {
    const st = svc.schedData as DhState | null;
    if (st === null) return null;
    const b = hash32(foldAddr(svc.af, flow.daddr), DH_TAB_BITS);
    const d = st.buckets[b];
    const ok = d !== null && d.available && d.weight > 0 && !d.overloaded;
    if (trace !== null) {
      trace.note(`dh: destination address hashes to bucket ${b}`);
      if (d === null) trace.note('dh: empty bucket (no real server): no destination');
      else trace.consider(d, ok ? 'bucket owner: picked' : 'bucket owner unavailable: no destination');
    }
    return ok ? d : null;
  }
}
