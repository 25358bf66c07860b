/**
 * Path-MTU exceptions per destination address (the kernel's fib nexthop
 * exceptions, __ip_rt_update_pmtu / rt6_do_update_pmtu): learned from ICMP
 * fragmentation needed / packet too big, only ever lowering the MTU, expiring
 * after net.ipv4.route.mtu_expires (600 s; IPv6 the same). IPv4 values below
 * min_pmtu (552) are raised to it and lock the exception; IPv6 values below
 * 1280 are raised to 1280.
 */
import type { DirectorEnv } from '../env.js';
import type { StackConfig } from './config.js';
import { KeyIndex, EntryPool, growF64, growU32, growU8 } from '../keyindex.js';

const IPV6_MIN_MTU = 1280;

export class PmtuTable {
  private readonly env: DirectorEnv;
  private readonly cfg: StackConfig;
  private readonly index = new KeyIndex(5, 16);
  private readonly pool: EntryPool;
  private readonly key = new Uint32Array(5);
  private keys: Uint32Array;
  private mtuOf: Float64Array;
  private expires: Float64Array;
  private locked: Uint8Array;
  /** Earliest expiry (ms), for tick(). */
  nextDue = Infinity;

  constructor(env: DirectorEnv, cfg: StackConfig) {
    this.env = env;
    this.cfg = cfg;
    const n = 16;
    this.keys = new Uint32Array(n * 5);
    this.mtuOf = new Float64Array(n);
    this.expires = new Float64Array(n);
    this.locked = new Uint8Array(n);
    this.pool = new EntryPool(n, (cap) => {
      this.keys = growU32(this.keys, cap * 5);
      this.mtuOf = growF64(this.mtuOf, cap);
      this.expires = growF64(this.expires, cap);
      this.locked = growU8(this.locked, cap);
    });
  }

  get size(): number {
    return this.pool.live;
  }

  private find(af: number, a: Uint32Array, i: number): number {
    const k = this.key;
    k[0] = af;
    k[1] = a[i];
    k[2] = af === 4 ? 0 : a[i + 1];
    k[3] = af === 4 ? 0 : a[i + 2];
    k[4] = af === 4 ? 0 : a[i + 3];
    return this.index.find(k, 0);
  }

  /** The MTU toward a[i..] on a route whose device MTU is `routeMtu`. */
  mtu(af: number, a: Uint32Array, i: number, routeMtu: number): number {
    if (this.pool.live === 0) return routeMtu;
    const e = this.find(af, a, i);
    if (e < 0 || this.env.nowMs >= this.expires[e]) return routeMtu;
    return Math.min(this.mtuOf[e], routeMtu);
  }

  /** ipv4_update_pmtu / ip6_update_pmtu toward a[i..] (current MTU `current`). */
  update(af: number, a: Uint32Array, i: number, mtuIn: number, current: number): void {
    const now = this.env.nowMs;
    let e = this.find(af, a, i);
    if (e >= 0 && now >= this.expires[e]) {
      this.drop(e);
      e = -1;
      this.find(af, a, i);
    }
    let mtu = mtuIn;
    let lock = false;
    let expiresMs: number;
    if (af === 4) {
      if (e >= 0 && this.locked[e]) return;
      if (current < mtu) return;
      if (mtu < this.cfg.minPmtu) {
        lock = true;
        mtu = Math.min(current, this.cfg.minPmtu);
      }
      if (e >= 0 && this.mtuOf[e] === mtu && !lock && now < this.expires[e] - this.cfg.mtuExpiresMs / 2)
        return;
      expiresMs = this.cfg.mtuExpiresMs;
    } else {
      if (mtu < IPV6_MIN_MTU) mtu = IPV6_MIN_MTU;
      if (mtu >= current) return;
      expiresMs = this.cfg.ip6MtuExpiresMs;
    }
    if (e < 0) {
      e = this.pool.alloc();
      this.index.insert(this.key, 0, e);
      for (let w = 0; w < 5; w++) this.keys[e * 5 + w] = this.key[w];
    }
    this.mtuOf[e] = mtu;
    this.locked[e] = lock ? 1 : 0;
    this.expires[e] = now + expiresMs;
    if (this.expires[e] < this.nextDue) this.nextDue = this.expires[e];
  }

  private drop(e: number): void {
    this.index.remove(this.keys, e * 5);
    this.pool.release(e);
    this.expires[e] = Infinity;
  }

  /** Forgets expired exceptions. */
  tick(now: number): void {
    if (now < this.nextDue) return;
    let next = Infinity;
    for (let e = 0; e < this.pool.capacity; e++) {
      const x = this.expires[e];
      if (x === 0 || x === Infinity) continue;
      if (x <= now) {
        if (this.index.find(this.keys, e * 5) === e) this.drop(e);
      } else if (x < next) next = x;
    }
    this.nextDue = next;
  }
}
