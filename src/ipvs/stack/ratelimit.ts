/**
 * The kernel's ICMP rate limits, on simulated time (jiffies of a HZ=250
 * kernel):
 *
 * - IcmpGlobal mirrors icmp_global_allow() / icmp_global_consume(): one
 *   token bucket for the whole host, refilled at icmp_msgs_per_sec up to
 *   icmp_msgs_burst, consulted only for types in the rate mask; each message
 *   sent consumes 0, 1 or 2 credits at random (get_random_u32_below(3)).
 * - PeerTable mirrors the inet_peer store (inetpeer.c) of one family: per
 *   remote address the token bucket of inet_peer_xrlim_allow() (shared, as
 *   in the kernel, with ip_error()'s limit and the ICMP redirect back-off of
 *   ip_rt_send_redirect()), and the fragment id counter of
 *   ip_frag_too_far(). A peer idle for 10 minutes is forgotten (the
 *   kernel's inet_peer_gc with few peers), which changes nothing a new peer
 *   would not do the same.
 */
import { Rng } from '../env.js';
import { HZ } from './config.js';
import { KeyIndex, EntryPool, growF64, growI32 } from '../keyindex.js';

/** XRLIM_BURST_FACTOR: a peer saves up to six messages. */
const XRLIM_BURST_FACTOR = 6;
/** inet_peer_maxttl: peers unused this long are collected. */
const PEER_MAXTTL_J = 600 * HZ;
/** Collect idle peers once the table holds this many. */
const PEER_GC_AT = 4096;

export class IcmpGlobal {
  credit = 0;
  /** Jiffies of the last refill; long ago at start. */
  stamp = -1e12;
  /** get_random_u32_below(3) for icmp_global_consume (a private generator: scheduler randomness is not disturbed). */
  private readonly rng = new Rng(0x69636d70);

  /** icmp_global_allow(): may one more rate-limited message go out now? */
  allow(nowJ: number, perSec: number, burst: number): boolean {
    if (this.credit > 0) return true;
    const delta = Math.min(nowJ - this.stamp, HZ);
    if (delta < Math.floor(HZ / 50)) return false;
    const incr = Math.floor((perSec * delta) / HZ);
    if (incr === 0) return false;
    this.stamp = nowJ;
    this.credit = Math.min(this.credit + incr, burst);
    return true;
  }

  /** icmp_global_consume(): a message went out. */
  consume(): void {
    this.credit -= this.rng.next32() % 3;
  }
}

/** The inet_peer entries of one family. Entry fields are struct-of-arrays. */
export class PeerTable {
  private readonly index: KeyIndex;
  private readonly pool: EntryPool;
  private readonly words: number;
  private readonly key = new Uint32Array(4);
  /** Key of each entry (for removal). */
  private keys: Int32Array;
  rateTokens: Float64Array;
  rateLast: Float64Array;
  nRedirects: Int32Array;
  /** Fragments seen from this source (ip_frag_too_far). */
  rid: Int32Array;
  /** Last use, jiffies. */
  dtime: Float64Array;
  private live: Uint8Array;

  constructor(af: number) {
    this.words = af === 4 ? 1 : 4;
    this.index = new KeyIndex(this.words, 64);
    const n = 64;
    this.keys = new Int32Array(n * 4);
    this.rateTokens = new Float64Array(n);
    this.rateLast = new Float64Array(n);
    this.nRedirects = new Int32Array(n);
    this.rid = new Int32Array(n);
    this.dtime = new Float64Array(n);
    this.live = new Uint8Array(n);
    this.pool = new EntryPool(n, (cap) => {
      const l = new Uint8Array(cap);
      l.set(this.live);
      this.live = l;
      this.keys = growI32(this.keys, cap * 4);
      this.rateTokens = growF64(this.rateTokens, cap);
      this.rateLast = growF64(this.rateLast, cap);
      this.nRedirects = growI32(this.nRedirects, cap);
      this.rid = growI32(this.rid, cap);
      this.dtime = growF64(this.dtime, cap);
    });
  }

  get size(): number {
    return this.pool.live;
  }

  /** inet_getpeer(): the peer of address a[i..], created when missing. */
  get(a: Uint32Array, i: number, nowJ: number): number {
    const k = this.key;
    for (let w = 0; w < this.words; w++) k[w] = a[i + w];
    let p = this.index.find(k, 0);
    if (p < 0) {
      if (this.pool.live >= PEER_GC_AT) this.gc(nowJ);
      p = this.pool.alloc();
      this.index.insert(k, 0, p);
      for (let w = 0; w < 4; w++) this.keys[p * 4 + w] = w < this.words ? k[w] : 0;
      this.rateTokens[p] = 0;
      this.rateLast[p] = nowJ - 60 * HZ;
      this.nRedirects[p] = 0;
      this.rid[p] = 0;
      this.live[p] = 1;
    }
    this.dtime[p] = nowJ;
    return p;
  }

  /** inet_peer_xrlim_allow(): token bucket of `timeoutJ` jiffies per message, burst of six. */
  xrlimAllow(p: number, timeoutJ: number, nowJ: number): boolean {
    let token = this.rateTokens[p] + (nowJ - this.rateLast[p]);
    this.rateLast[p] = nowJ;
    if (token > XRLIM_BURST_FACTOR * timeoutJ) token = XRLIM_BURST_FACTOR * timeoutJ;
    let rc = false;
    if (token >= timeoutJ) {
      token -= timeoutJ;
      rc = true;
    }
    this.rateTokens[p] = token;
    return rc;
  }

  private gc(nowJ: number): void {
    const k = new Uint32Array(4); // rare: once per PEER_GC_AT insertions at most
    for (let p = 0; p < this.pool.capacity; p++) {
      if (!this.live[p] || nowJ - this.dtime[p] < PEER_MAXTTL_J) continue;
      for (let w = 0; w < 4; w++) k[w] = this.keys[p * 4 + w];
      this.index.remove(k, 0);
      this.pool.release(p);
      this.live[p] = 0;
    }
  }
}
