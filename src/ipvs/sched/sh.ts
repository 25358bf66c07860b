/**
 * sh — source hashing. Mirrors ip_vs_sh.c: 256 buckets dealt from the list
 * head, each server taking `weight` consecutive buckets before the next one
 * (a weight-0 server still takes one; ip_vs_sh_reassign()), rebuilt on every
 * add, edit and delete. The bucket of a packet is
 * `hash_32(ntohl(saddr) + port, 8)` where port is the client's source port
 * with the `sh-port` flag (TCP/UDP/SCTP only) and 0 otherwise; IPv6
 * addresses are folded by XOR. A bucket whose server is quiesced or
 * overloaded gives no destination, unless `sh-fallback` is set: then buckets
 * `(roffset + h) & 255` with `roffset = (k + h) & 255`, k = 0, 1, ..., 255
 * are tried in turn (ip_vs_sh_get_fallback()).
 */
import type { Dest, Service } from '../service.js';
import { SvcFlag } from '../service.js';
import { foldAddr, hash32 } from './common.js';
import type { SchedEnv, SchedFlow, SchedTrace, Scheduler } from './scheduler.js';

export const SH_TAB_BITS = 8;
export const SH_TAB_SIZE = 1 << SH_TAB_BITS;
const SH_TAB_MASK = SH_TAB_SIZE - 1;
/** IP_VS_SVC_F_SCHED_SH_FALLBACK. */
export const SH_FALLBACK = SvcFlag.SCHED1;
/** IP_VS_SVC_F_SCHED_SH_PORT. */
export const SH_PORT = SvcFlag.SCHED2;

class ShState {
  readonly buckets: (Dest | null)[] = new Array<Dest | null>(SH_TAB_SIZE).fill(null);
}

/** ip_vs_sh_reassign(). */
function reassign(st: ShState, svc: Service): void {
  const list = svc.dests;
  if (list.length === 0) {
    st.buckets.fill(null);
    return;
  }
  let p = 0;
  let count = 0;
  for (let i = 0; i < SH_TAB_SIZE; i++) {
    const d = list[p];
    st.buckets[i] = d;
    if (++count >= d.weight) {
      p = p + 1 === list.length ? 0 : p + 1;
      count = 0;
    }
  }
}

function unavailable(d: Dest): boolean {
  return d.weight <= 0 || d.overloaded;
}

/** Whether the protocol carries ports where sh-port/mh-port read them. */
export function hasPorts(protocol: number): boolean {
  return protocol === 6 || protocol === 17 || protocol === 132;
}

export class SourceHashing implements Scheduler {
  readonly name = 'sh';

  initService(svc: Service, _env: SchedEnv): void {
    const st = new ShState();
    reassign(st, svc);
    svc.schedData = st;
  }

  doneService(svc: Service): void {
    svc.schedData = null;
  }

  addDest(svc: Service, _dest: Dest): void {
    reassign(svc.schedData as ShState, svc);
  }

  delDest(svc: Service, _dest: Dest): void {
    reassign(svc.schedData as ShState, svc);
  }

  updDest(svc: Service, _dest: Dest): void {
    reassign(svc.schedData as ShState, svc);
  }

  loadChanged(_svc: Service, _dest: Dest): void {}

  schedule(svc: Service, flow: SchedFlow, trace: SchedTrace | null): Dest | null {
    const st = svc.schedData as ShState | null;
    if (st === null) return null;
    const addr = foldAddr(svc.af, flow.inverse ? flow.daddr : flow.saddr);
    let port = 0;
    if ((svc.flags & SH_PORT) !== 0 && hasPorts(flow.protocol)) port = flow.inverse ? flow.dport : flow.sport;
    const key = (port + addr) >>> 0;
    const h = hash32(key, SH_TAB_BITS);
    const d = st.buckets[h];
    if (trace !== null) trace.note(`sh: hash of ${port ? 'address + port' : 'address'} -> bucket ${h}`);
    if (d === null) return null;
    if (!unavailable(d)) {
      if (trace !== null) trace.consider(d, 'bucket owner: picked');
      return d;
    }
    if ((svc.flags & SH_FALLBACK) === 0) {
      if (trace !== null) trace.consider(d, 'bucket owner quiesced or overloaded: no destination');
      return null;
    }
    if (trace !== null) trace.consider(d, 'bucket owner quiesced or overloaded: falling back');
    for (let k = 0; k < SH_TAB_SIZE; k++) {
      const roffset = (k + h) & SH_TAB_MASK;
      const b = (roffset + h) & SH_TAB_MASK;
      const f = st.buckets[b];
      if (f === null) break;
      if (!unavailable(f)) {
        if (trace !== null) trace.consider(f, `fallback offset ${roffset} -> bucket ${b}: picked`);
        return f;
      }
    }
    if (trace !== null) trace.note('sh: no available server in any bucket');
    return null;
  }
}
