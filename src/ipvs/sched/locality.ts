/**
 * What lblc and lblcr share: the per-service cache table keyed by
 * destination address (ip_vs_lblc_table / ip_vs_lblcr_table), its garbage
 * collection on simulated time, the wlc pick over the whole service (a
 * LoadTree), and the count behind their "overloaded" test.
 *
 * The table is the kernel's: 1024 buckets chosen by
 * `hash_32(ntohl(addr), 10)` (IPv6 folded by XOR), an entry counter, a rover
 * and a run counter. Entries live in typed arrays (struct of arrays) with a
 * free list, so lookups and updates allocate nothing.
 *
 * The kernel's periodic timer fires every 60 s from service creation. Here it
 * is caught up lazily before each scheduling decision: every due run is
 * replayed at its own time, in order, which removes exactly the entries the
 * kernel's timer would have removed (an ideal timer: the kernel's timer wheel
 * may fire a run up to a couple of seconds late, which is not modelled). Each
 * run: every 30th run (counter % 30 == 0) is a full sweep removing entries
 * unused for `*_expiration` seconds; otherwise, when the entry counter
 * exceeds 16384, entries unused for 6 minutes are removed bucket by bucket
 * from the rover on, until `min((entries - 16384) * 4/3, 8192)` are gone.
 */
import type { Dest, Service } from '../service.js';
import { foldAddr, hash32 } from './common.js';
import { LoadKind } from './dest_index.js';
import { LoadState } from './load_sched.js';
import type { SchedEnv } from './scheduler.js';

export const LBLC_TAB_BITS = 10;
export const LBLC_TAB_SIZE = 1 << LBLC_TAB_BITS;
const LBLC_TAB_MASK = LBLC_TAB_SIZE - 1;
/** CHECK_EXPIRE_INTERVAL, ms. */
export const CHECK_EXPIRE_INTERVAL_MS = 60_000;
/** ENTRY_TIMEOUT, ms. */
export const ENTRY_TIMEOUT_MS = 6 * 60_000;
/** COUNT_FOR_FULL_EXPIRATION. */
export const COUNT_FOR_FULL_EXPIRATION = 30;
/** tbl->max_size = IP_VS_LBLC_TAB_SIZE * 16. */
export const LBLC_MAX_SIZE = LBLC_TAB_SIZE * 16;

/** The destination-address cache of one service. */
export class LocalityTable {
  readonly bucketHead = new Int32Array(LBLC_TAB_SIZE).fill(-1);
  /** Entry storage (struct of arrays), grown by doubling. */
  cap = 0;
  next = new Int32Array(0);
  prev = new Int32Array(0);
  bucket = new Int32Array(0);
  addr = new Uint32Array(0);
  lastuse = new Float64Array(0);
  /** lblc: the cached server. */
  dest: (Dest | null)[] = [];
  /** lblcr: first element of the entry's server set, its size and last change. */
  setHead = new Int32Array(0);
  setSize = new Int32Array(0);
  lastmod = new Float64Array(0);
  private freeEntry = -1;
  /** Entries present. */
  live = 0;
  /**
   * The kernel's `tbl->entries`. lblc replaces an entry without decrementing
   * it (ip_vs_lblc_new() deletes the old entry and hashes a new one), so it
   * can run ahead of `live`; the garbage collector reads this one.
   */
  entries = 0;
  rover = 0;
  counter = 1;
  /** Simulated time (ms) of the next periodic run. */
  nextCheck = 0;
  /** lblcr set elements: pool with free list. */
  elemCap = 0;
  elemNext = new Int32Array(0);
  elemDest: (Dest | null)[] = [];
  private freeElem = -1;

  constructor(now: number) {
    this.nextCheck = now + CHECK_EXPIRE_INTERVAL_MS;
    this.growEntries(64);
    this.growElems(64);
  }

  private growEntries(n: number): void {
    const old = this.cap;
    const grow = <T extends Int32Array | Uint32Array | Float64Array>(a: T, size: number): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.next = grow(this.next, n);
    this.prev = grow(this.prev, n);
    this.bucket = grow(this.bucket, n);
    this.addr = grow(this.addr, 4 * n);
    this.lastuse = grow(this.lastuse, n);
    this.setHead = grow(this.setHead, n);
    this.setSize = grow(this.setSize, n);
    this.lastmod = grow(this.lastmod, n);
    for (let i = old; i < n; i++) this.dest.push(null);
    for (let i = n - 1; i >= old; i--) {
      this.next[i] = this.freeEntry;
      this.freeEntry = i;
    }
    this.cap = n;
  }

  private growElems(n: number): void {
    const old = this.elemCap;
    const b = new Int32Array(n);
    b.set(this.elemNext);
    this.elemNext = b;
    for (let i = old; i < n; i++) this.elemDest.push(null);
    for (let i = n - 1; i >= old; i--) {
      this.elemNext[i] = this.freeElem;
      this.freeElem = i;
    }
    this.elemCap = n;
  }

  /** ip_vs_lblc_hashkey() / ip_vs_lblcr_hashkey(). */
  static bucketOf(af: number, w: Uint32Array): number {
    return hash32(foldAddr(af, w), LBLC_TAB_BITS);
  }

  /** The entry for address `w` (four words; IPv4 in word 0), or -1. */
  lookup(af: number, w: Uint32Array): number {
    let e = this.bucketHead[LocalityTable.bucketOf(af, w)];
    const a = this.addr;
    if (af === 4) {
      const w0 = w[0];
      while (e >= 0) {
        if (a[4 * e] === w0) return e;
        e = this.next[e];
      }
      return -1;
    }
    while (e >= 0) {
      const o = 4 * e;
      if (a[o] === w[0] && a[o + 1] === w[1] && a[o + 2] === w[2] && a[o + 3] === w[3]) return e;
      e = this.next[e];
    }
    return -1;
  }

  /** Adds an entry for `w` at the head of its bucket (ip_vs_lblc_hash()); counts it. */
  insert(af: number, w: Uint32Array, now: number): number {
    if (this.freeEntry < 0) this.growEntries(this.cap * 2);
    const e = this.freeEntry;
    this.freeEntry = this.next[e];
    const b = LocalityTable.bucketOf(af, w);
    const o = 4 * e;
    this.addr[o] = w[0];
    this.addr[o + 1] = af === 6 ? w[1] : 0;
    this.addr[o + 2] = af === 6 ? w[2] : 0;
    this.addr[o + 3] = af === 6 ? w[3] : 0;
    this.bucket[e] = b;
    this.lastuse[e] = now;
    this.dest[e] = null;
    this.setHead[e] = -1;
    this.setSize[e] = 0;
    this.lastmod[e] = now;
    const h = this.bucketHead[b];
    this.next[e] = h;
    this.prev[e] = -1;
    if (h >= 0) this.prev[h] = e;
    this.bucketHead[b] = e;
    this.live++;
    this.entries++;
    return e;
  }

  /** Unlinks and frees an entry (and its set); the caller adjusts `entries` as the kernel does. */
  remove(e: number): void {
    const p = this.prev[e];
    const n = this.next[e];
    if (p >= 0) this.next[p] = n;
    else this.bucketHead[this.bucket[e]] = n;
    if (n >= 0) this.prev[n] = p;
    this.dest[e] = null;
    let x = this.setHead[e];
    while (x >= 0) {
      const nx = this.elemNext[x];
      this.freeElemAt(x);
      x = nx;
    }
    this.setHead[e] = -1;
    this.setSize[e] = 0;
    this.next[e] = this.freeEntry;
    this.freeEntry = e;
    this.live--;
  }

  /** lblcr: puts `d` at the head of entry e's set (ip_vs_dest_set_insert() without the check). */
  setPush(e: number, d: Dest, now: number): void {
    if (this.freeElem < 0) this.growElems(this.elemCap * 2);
    const x = this.freeElem;
    this.freeElem = this.elemNext[x];
    this.elemDest[x] = d;
    this.elemNext[x] = this.setHead[e];
    this.setHead[e] = x;
    this.setSize[e]++;
    this.lastmod[e] = now;
  }

  /** lblcr: removes `d` from entry e's set (ip_vs_dest_set_erase()). */
  setErase(e: number, d: Dest, now: number): void {
    let prev = -1;
    let x = this.setHead[e];
    while (x >= 0) {
      if (this.elemDest[x] === d) {
        const nx = this.elemNext[x];
        if (prev >= 0) this.elemNext[prev] = nx;
        else this.setHead[e] = nx;
        this.freeElemAt(x);
        this.setSize[e]--;
        this.lastmod[e] = now;
        return;
      }
      prev = x;
      x = this.elemNext[x];
    }
  }

  private freeElemAt(x: number): void {
    this.elemDest[x] = null;
    this.elemNext[x] = this.freeElem;
    this.freeElem = x;
  }

  /**
   * Replays every periodic run due at or before `now` (ip_vs_lblc_check_expire()
   * / ip_vs_lblcr_check_expire()); `expirationMs` is read at each run.
   */
  catchUp(now: number, env: SchedEnv, sysctlName: string): void {
    while (this.nextCheck <= now) {
      const t = this.nextCheck;
      this.runCheck(t, env.sysctl(sysctlName) * 1000);
      this.nextCheck = t + CHECK_EXPIRE_INTERVAL_MS;
    }
  }

  private runCheck(t: number, expirationMs: number): void {
    if (this.counter % COUNT_FOR_FULL_EXPIRATION === 0) {
      this.fullCheck(t, expirationMs);
      this.counter = 1;
      return;
    }
    if (this.entries <= LBLC_MAX_SIZE) {
      this.counter++;
      return;
    }
    let goal = Math.trunc(((this.entries - LBLC_MAX_SIZE) * 4) / 3);
    if (goal > LBLC_MAX_SIZE / 2) goal = LBLC_MAX_SIZE / 2;
    let j = this.rover;
    for (let i = 0; i < LBLC_TAB_SIZE; i++) {
      j = (j + 1) & LBLC_TAB_MASK;
      let e = this.bucketHead[j];
      while (e >= 0) {
        const n = this.next[e];
        if (!(t < this.lastuse[e] + ENTRY_TIMEOUT_MS)) {
          this.remove(e);
          this.entries--;
          goal--;
        }
        e = n;
      }
      if (goal <= 0) break;
    }
    this.rover = j;
  }

  /** ip_vs_lblc_full_check(): drop entries unused for the expiration time. */
  private fullCheck(t: number, expirationMs: number): void {
    for (let j = 0; j < LBLC_TAB_SIZE; j++) {
      let e = this.bucketHead[j];
      while (e >= 0) {
        const n = this.next[e];
        if (!(t < this.lastuse[e] + expirationMs)) {
          this.remove(e);
          this.entries--;
        }
        e = n;
      }
    }
  }
}

/** Per-service state of lblc / lblcr. */
export class LocalityState {
  readonly load = new LoadState(LoadKind.WLC);
  readonly table: LocalityTable;
  readonly env: SchedEnv;
  /** Per slot: 1 when the server has activeconns * 2 < weight. */
  half = new Uint8Array(0);
  /** Servers in the list with activeconns * 2 < weight. */
  halfCount = 0;

  constructor(svc: Service, env: SchedEnv) {
    this.env = env;
    this.table = new LocalityTable(env.now());
    this.load.init(svc);
    this.recount();
  }

  private static halfIdle(d: Dest): number {
    return d.activeConns * 2 < d.weight ? 1 : 0;
  }

  private recount(): void {
    const slots = this.load.slots;
    this.half = new Uint8Array(slots.cap);
    this.halfCount = 0;
    for (let s = 0; s < slots.cap; s++) {
      const d = slots.dests[s];
      if (d !== null && LocalityState.halfIdle(d)) {
        this.half[s] = 1;
        this.halfCount++;
      }
    }
  }

  add(svc: Service, dest: Dest): void {
    if (this.load.add(svc, dest)) this.recount();
    else this.setHalf(dest.schedSlot, LocalityState.halfIdle(dest));
  }

  del(svc: Service, dest: Dest): void {
    const s = dest.schedSlot;
    const had = this.load.slots.has(dest);
    if (this.load.del(svc, dest)) this.recount();
    else if (had) this.setHalf(s, 0);
  }

  touch(dest: Dest): void {
    if (!this.load.slots.has(dest)) return;
    this.load.tree.update(dest.schedSlot, dest);
    this.setHalf(dest.schedSlot, LocalityState.halfIdle(dest));
  }

  private setHalf(slot: number, v: number): void {
    this.halfCount += v - this.half[slot];
    this.half[slot] = v;
  }

  /**
   * is_overloaded() of lblc/lblcr: more active connections than weight while
   * some server of the service has fewer than half its weight.
   */
  overloaded(d: Dest): boolean {
    return d.activeConns > d.weight && this.halfCount > 0;
  }

  clear(): void {
    this.load.clear();
  }
}
