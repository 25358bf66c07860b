/**
 * mh — Maglev hashing. Mirrors ip_vs_mh.c (Linux 6.1):
 *
 * - The lookup table has M entries, M one of the kernel's primes (4093 by
 *   default: CONFIG_IP_VS_MH_TAB_INDEX = 12; index 8..17 selects 251 ...
 *   131071). Turns are scaled to keep the largest weight/gcd within
 *   CONFIG_IP_VS_MH_TAB_INDEX / 2 bits.
 * - Each server gets `offset = hsiphash(port + addr, k1) % M` and
 *   `skip = hsiphash(port + addr, k2) % (M - 1) + 1` (its own port and
 *   address; keys k1 = {2654435761, 2654435761}, k2 = {2654446892,
 *   2654446892}) and `turns = (last_weight / gcd) >> rshift`, at least 1 for
 *   a non-zero last weight. A server added with weight 0 (last weight 0) gets
 *   no entry; a server quiesced later keeps its entries (its last non-zero
 *   weight counts) and is only skipped at lookup (ip_vs_mh_permutate()).
 * - The table is filled by walking the list again and again, each server
 *   claiming `turns` entries in a row along its own permutation
 *   (ip_vs_mh_populate()); it is rebuilt on every add, edit and delete.
 * - Lookup: entry `hsiphash(port + saddr, k1) % M`, port = source port with
 *   `mh-port` (TCP/UDP/SCTP), else 0. A quiesced or overloaded server gives
 *   no destination unless `mh-fallback`: then `hsiphash(roffset + port +
 *   saddr, k1) % M` with `roffset = (k + h) % M`, k = 0 .. M-1, is tried
 *   (ip_vs_mh_get_fallback()).
 */
import type { Dest, Service } from '../service.js';
import { SvcFlag } from '../service.js';
import { fls, foldAddr, foldIpAddr, gcd, modU32Recip } from './common.js';
import { HsipKey, hsiphashU32, hsiphashU32Keyed } from './hsiphash.js';
import type { SchedEnv, SchedFlow, SchedTrace, Scheduler } from './scheduler.js';
import { hasPorts } from './sh.js';

/** The kernel's table sizes, indexed by CONFIG_IP_VS_MH_TAB_INDEX - 8. */
export const MH_PRIMES: readonly number[] = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071];
/** CONFIG_IP_VS_MH_TAB_INDEX of Debian's 6.1 kernel (the default). */
export const MH_DEFAULT_TAB_INDEX = 12;
/** IP_VS_SVC_F_SCHED_MH_FALLBACK. */
export const MH_FALLBACK = SvcFlag.SCHED1;
/** IP_VS_SVC_F_SCHED_MH_PORT. */
export const MH_PORT = SvcFlag.SCHED2;

/** generate_hash_secret(): the fixed keys. */
export const MH_KEY1 = HsipKey.fromWords32(2654435761, 2654435761);
export const MH_KEY2 = HsipKey.fromWords32(2654446892, 2654446892);

/** ip_vs_mh_hashkey(): hsiphash of the u32 `offset + port + addr`. */
export function mhHash(addrFold: number, port: number, key: HsipKey, offset: number): number {
  return hsiphashU32((offset + port + addrFold) >>> 0, key);
}

/**
 * hsiphash(&v, 4, k1) as a signed int32, specialised to k1 (the only key of
 * the lookup); made once here so that it stays the only closure of its kind.
 */
const mhHashK1 = hsiphashU32Keyed(MH_KEY1);

class MhState {
  readonly size: number;
  /** The lookup table: server per entry (null before the first fill). */
  readonly lookup: (Dest | null)[];
  gcd = 0;
  rshift = 0;

  constructor(size: number) {
    this.size = size;
    this.lookup = new Array<Dest | null>(size).fill(null);
  }
}

/** Entries of the lookup-hash memo (direct-mapped, per scheduler object, 512 KiB once used). */
const MEMO_BITS = 16;
const MEMO_SIZE = 1 << MEMO_BITS;

export class MaglevHashing implements Scheduler {
  readonly name = 'mh';
  /**
   * Memo of the lookup entry `hsiphash(v, k1) % M` by its input v (port +
   * address): a pure function of v for this table size and the fixed key, so
   * remembering recent results changes no decision; it spares the SipHash
   * rounds for returning clients. Pairs of int32 (v, entry) side by side, so
   * that a lookup touches one cache line; v = 0 marks an empty pair (so v = 0
   * is simply never remembered). Allocated on first use.
   */
  private memo = new Int32Array(0);
  /** Table size M. */
  readonly size: number;
  /** 1 / M, for the lookup's modulo (modU32Recip). */
  private readonly invSize: number;
  /** IP_VS_MH_TAB_BITS: bits kept of the largest weight/gcd. */
  readonly tabBits: number;

  /** `tabIndex` is CONFIG_IP_VS_MH_TAB_INDEX (8..17); 12 gives 4093 entries. */
  constructor(tabIndex = MH_DEFAULT_TAB_INDEX) {
    if (!Number.isInteger(tabIndex) || tabIndex < 8 || tabIndex > 17)
      throw new RangeError(`mh table index must be 8..17 (CONFIG_IP_VS_MH_TAB_INDEX), got ${tabIndex}`);
    this.size = MH_PRIMES[tabIndex - 8];
    this.invSize = 1 / this.size;
    this.tabBits = Math.trunc(tabIndex / 2);
  }

  initService(svc: Service, _env: SchedEnv): void {
    const st = new MhState(this.size);
    svc.schedData = st;
    this.changed(svc, st);
  }

  doneService(svc: Service): void {
    svc.schedData = null;
  }

  addDest(svc: Service, _dest: Dest): void {
    this.changed(svc, svc.schedData as MhState);
  }

  delDest(svc: Service, _dest: Dest): void {
    this.changed(svc, svc.schedData as MhState);
  }

  updDest(svc: Service, _dest: Dest): void {
    this.changed(svc, svc.schedData as MhState);
  }

  loadChanged(_svc: Service, _dest: Dest): void {}

  /** ip_vs_mh_dest_changed(): new gcd and shift, then reassign. */
  private changed(svc: Service, st: MhState): void {
    let g = 0;
    let mw = 0;
    for (const d of svc.dests) {
      const w = d.lastWeight;
      if (w > 0) g = g > 0 ? gcd(w, g) : w;
      if (w > mw) mw = w;
    }
    st.gcd = g;
    if (g < 1) st.rshift = 0;
    else {
      const shift = fls(Math.trunc(mw / g)) - this.tabBits;
      st.rshift = shift >= 0 ? shift : 0;
    }
    this.reassign(svc, st);
  }

  /** ip_vs_mh_reassign(): permutate + populate. */
  private reassign(svc: Service, st: MhState): void {
    const list = svc.dests;
    const M = this.size;
    if (list.length > M) return; // the kernel refuses (-EINVAL) and keeps the old table
    if (st.gcd < 1) {
      st.lookup.fill(null);
      return;
    }
    const n = list.length;
    const skip = new Uint32Array(n);
    const perm = new Uint32Array(n);
    const turns = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const d = list[i];
      const a = foldIpAddr(svc.af, d.addr);
      perm[i] = mhHash(a, d.port, MH_KEY1, 0) % M;
      skip[i] = (mhHash(a, d.port, MH_KEY2, 0) % (M - 1)) + 1;
      const lw = d.lastWeight;
      const t = Math.trunc(lw / st.gcd) >> st.rshift;
      turns[i] = t !== 0 ? t : lw !== 0 ? 1 : 0;
    }
    const taken = new Uint8Array(M);
    let filled = 0;
    let count = 0;
    for (;;) {
      for (let i = 0; i < n;) {
        if (turns[i] < 1) {
          i++;
          continue;
        }
        let c = perm[i];
        while (taken[c] !== 0) {
          c += skip[i];
          if (c >= M) c -= M;
          perm[i] = c;
        }
        taken[c] = 1;
        st.lookup[c] = list[i];
        if (++filled === M) return;
        if (++count >= turns[i]) {
          count = 0;
          i++;
        }
      }
    }
  }

  /** The lookup entry hsiphash(v, k1) % M, through the memo; `v` as int32. */
  private lookupEntry(v: number): number {
    let memo = this.memo;
    if (memo.length === 0) memo = this.memo = new Int32Array(2 * MEMO_SIZE);
    const i = (Math.imul(v, 0x9e3779b1) >>> (32 - MEMO_BITS)) << 1;
    if (memo[i] === v && v !== 0) return memo[i + 1];
    const e = modU32Recip(mhHashK1(v) >>> 0, this.size, this.invSize);
    memo[i] = v;
    memo[i + 1] = e;
    return e;
  }

  schedule(svc: Service, flow: SchedFlow, trace: SchedTrace | null): Dest | null {
    const st = svc.schedData as MhState | null;
    if (st === null) return null;
    const M = st.size;
    const addr = foldAddr(svc.af, flow.inverse ? flow.daddr : flow.saddr);
    let port = 0;
    if ((svc.flags & MH_PORT) !== 0 && hasPorts(flow.protocol)) port = flow.inverse ? flow.dport : flow.sport;
    const h = this.lookupEntry((port + addr) | 0);
    const d = st.lookup[h];
    if (trace !== null)
      trace.note(`mh: hash of ${port ? 'address + port' : 'address'} -> entry ${h} of ${M}`);
    if (d === null) return null;
    if (d.weight > 0 && !d.overloaded) {
      if (trace !== null) trace.consider(d, 'entry owner: picked');
      return d;
    }
    if ((svc.flags & MH_FALLBACK) === 0) {
      if (trace !== null) trace.consider(d, 'entry owner quiesced or overloaded: no destination');
      return null;
    }
    if (trace !== null) trace.consider(d, 'entry owner quiesced or overloaded: falling back');
    for (let k = 0; k < M; k++) {
      const roffset = (k + h) % M;
      const e = modU32Recip(mhHashK1((roffset + port + addr) | 0) >>> 0, M, this.invSize);
      const f = st.lookup[e];
      if (f === null) break;
      if (f.weight > 0 && !f.overloaded) {
        if (trace !== null) trace.consider(f, `fallback offset ${roffset} -> entry ${e}: picked`);
        return f;
      }
    }
    if (trace !== null) trace.note('mh: no available server found');
    return null;
  }
}
