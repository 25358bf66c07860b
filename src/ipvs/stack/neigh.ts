/**
 * The dynamic part of the director's neighbour tables (net/core/neighbour.c
 * with arp.c's and ndisc.c's solicit routines): entries the director learns
 * from ARP and Neighbour Discovery, and the resolution of next hops that have
 * no `ip neigh add` entry (those static entries live in the Fib and always
 * win, as NUD_PERMANENT entries do).
 *
 * Resolution follows __neigh_event_send() and neigh_timer_handler(): an
 * unknown next hop becomes INCOMPLETE and is probed at once, then every
 * retrans_time, with broadcast ARP requests (IPv6: neighbour solicitations to
 * the solicited-node group) — mcast_solicit probes in all — then FAILED; a
 * learned entry goes STALE, DELAY (delay_first_probe_time after first use)
 * and PROBE (ucast_solicit unicast probes) when nothing confirms it, as no
 * capture ever does.
 *
 * Simplification (documented in docs/architecture.md): the kernel queues
 * packets for an INCOMPLETE entry and sends them once the neighbour answers,
 * or reports ICMP host unreachable for them when it fails; the simulator
 * drops such a packet at once (reason `neighbour-unresolved`), since no
 * capture answers the director's probes. The probes themselves are emitted
 * exactly as the kernel would.
 */
import type { DirectorEnv } from '../env.js';
import type { StackConfig, NeighParms } from './config.js';
import { KeyIndex, EntryPool, growF64, growI32, growU32, growU8 } from '../keyindex.js';
import { selectAddr4, isAddrOnLink6 } from './addrsel.js';
import { writeMac } from '../../wire/addr.js';
import { wr16, wr32, rd32 } from '../../wire/bytes.js';
import { pseudo6Words, sum16, finish } from '../../wire/checksum.js';
import { EMPTY_BYTES } from '../../wire/bytes.js';

export const Nud = {
  NONE: 0,
  INCOMPLETE: 1,
  REACHABLE: 2,
  STALE: 3,
  DELAY: 4,
  PROBE: 5,
  FAILED: 6,
} as const;

/** gc_thresh3: the table never holds more entries than this (per family). */
const GC_THRESH3 = 1024;

function isValid(state: number): boolean {
  return state === Nud.REACHABLE || state === Nud.STALE || state === Nud.DELAY || state === Nud.PROBE;
}

export class NeighTable {
  private readonly env: DirectorEnv;
  private readonly cfg: StackConfig;
  private readonly index = new KeyIndex(6, 64);
  private readonly pool: EntryPool;
  private readonly key = new Uint32Array(6);
  private af: Uint8Array;
  private addr: Uint32Array;
  private link: Int32Array;
  state: Uint8Array;
  mac: Float64Array;
  private probes: Int32Array;
  private timerAt: Float64Array;
  private updated: Float64Array;
  private used: Float64Array;
  private confirmed: Float64Array;
  /** Source address of the last packet queued on an INCOMPLETE entry (arp_queue's tail). */
  private qSaddr: Uint32Array;
  private qSaddrSet: Uint8Array;
  private count4 = 0;
  private count6 = 0;
  /** Earliest pending timer (ms), Infinity when none. */
  nextDue = Infinity;
  /** Frame scratch for probes (ARP 42 bytes, NS 86 bytes). */
  private readonly frame = new Uint8Array(128);
  private readonly tmp = new Uint32Array(4);
  private readonly tmp2 = new Uint32Array(4);
  /** Probes sent (tests, statistics). */
  probesSent = 0;

  constructor(env: DirectorEnv, cfg: StackConfig) {
    this.env = env;
    this.cfg = cfg;
    const n = 16;
    this.af = new Uint8Array(n);
    this.addr = new Uint32Array(n * 4);
    this.link = new Int32Array(n);
    this.state = new Uint8Array(n);
    this.mac = new Float64Array(n);
    this.probes = new Int32Array(n);
    this.timerAt = new Float64Array(n);
    this.updated = new Float64Array(n);
    this.used = new Float64Array(n);
    this.confirmed = new Float64Array(n);
    this.qSaddr = new Uint32Array(n * 4);
    this.qSaddrSet = new Uint8Array(n);
    this.pool = new EntryPool(n, (cap) => {
      this.af = growU8(this.af, cap);
      this.addr = growU32(this.addr, cap * 4);
      this.link = growI32(this.link, cap);
      this.state = growU8(this.state, cap);
      this.mac = growF64(this.mac, cap);
      this.probes = growI32(this.probes, cap);
      this.timerAt = growF64(this.timerAt, cap);
      this.updated = growF64(this.updated, cap);
      this.used = growF64(this.used, cap);
      this.confirmed = growF64(this.confirmed, cap);
      this.qSaddr = growU32(this.qSaddr, cap * 4);
      this.qSaddrSet = growU8(this.qSaddrSet, cap);
    });
  }

  private parms(e: number): NeighParms {
    const l = this.link[e];
    return this.af[e] === 4 ? this.cfg.neigh4[l] : this.cfg.neigh6[l];
  }

  private fillKey(af: number, a: Uint32Array, i: number, link: number): void {
    const k = this.key;
    k[0] = af;
    k[1] = a[i];
    k[2] = af === 4 ? 0 : a[i + 1];
    k[3] = af === 4 ? 0 : a[i + 2];
    k[4] = af === 4 ? 0 : a[i + 3];
    k[5] = link;
  }

  /** The entry for address a[i..] on `link`, or -1. */
  lookup(af: number, a: Uint32Array, i: number, link: number): number {
    this.fillKey(af, a, i, link);
    return this.index.find(this.key, 0);
  }

  /** Number of entries (both families). */
  get size(): number {
    return this.pool.live;
  }

  /** Creates an entry in NUD_NONE; -1 when the table is full (neighbour table overflow). */
  create(af: number, a: Uint32Array, i: number, link: number): number {
    if ((af === 4 ? this.count4 : this.count6) >= GC_THRESH3 && !this.forcedGc(af)) return -1;
    this.fillKey(af, a, i, link);
    const e = this.pool.alloc();
    this.index.insert(this.key, 0, e);
    this.af[e] = af;
    for (let w = 0; w < 4; w++) this.addr[e * 4 + w] = this.key[1 + w];
    this.link[e] = link;
    this.state[e] = Nud.NONE;
    this.mac[e] = -1;
    this.probes[e] = 0;
    this.timerAt[e] = Infinity;
    const now = this.env.nowMs;
    this.updated[e] = now;
    this.used[e] = now;
    this.confirmed[e] = now - 60000;
    this.qSaddrSet[e] = 0;
    if (af === 4) this.count4++;
    else this.count6++;
    return e;
  }

  private destroy(e: number): void {
    this.fillKey(this.af[e], this.addr, e * 4, this.link[e]);
    this.index.remove(this.key, 0);
    if (this.af[e] === 4) this.count4--;
    else this.count6--;
    this.timerAt[e] = Infinity;
    this.pool.release(e);
  }

  /** neigh_forced_gc: drop FAILED / NONE entries, then the stalest STALE one. */
  private forcedGc(af: number): boolean {
    let freed = false;
    let oldest = -1;
    for (let e = 0; e < this.pool.capacity; e++) {
      if (this.af[e] !== af || !this.isLive(e)) continue;
      const s = this.state[e];
      if (s === Nud.FAILED || s === Nud.NONE) {
        this.destroy(e);
        freed = true;
      } else if (s === Nud.STALE && (oldest < 0 || this.used[e] < this.used[oldest])) oldest = e;
    }
    if (!freed && oldest >= 0) {
      this.destroy(oldest);
      freed = true;
    }
    return freed;
  }

  private isLive(e: number): boolean {
    this.fillKey(this.af[e], this.addr, e * 4, this.link[e]);
    return this.index.find(this.key, 0) === e;
  }

  private setTimer(e: number, at: number): void {
    this.timerAt[e] = at;
    if (at < this.nextDue) this.nextDue = at;
  }

  /**
   * neigh_resolve_output / __neigh_event_send for a packet to next hop
   * a[i..] on `link` whose source address is src[si..] (null for none): the
   * MAC to send to, written to out[0..6) (true), or false when the next hop
   * is not resolved (probing starts; the caller drops the packet).
   */
  resolve(
    af: number,
    a: Uint32Array,
    i: number,
    link: number,
    src: Uint32Array | null,
    si: number,
    out: Uint8Array,
  ): boolean {
    let e = this.lookup(af, a, i, link);
    if (e < 0) {
      e = this.create(af, a, i, link);
      if (e < 0) return false;
    }
    const now = this.env.nowMs;
    this.used[e] = now;
    const s = this.state[e];
    if (s === Nud.REACHABLE || s === Nud.DELAY || s === Nud.PROBE) return this.macBytes(e, out);
    if (s === Nud.STALE) {
      this.state[e] = Nud.DELAY;
      this.updated[e] = now;
      this.setTimer(e, now + this.parms(e).delayProbeMs);
      return this.macBytes(e, out);
    }
    // remember the queued packet's source (the probe's source address comes from it)
    if (src) {
      for (let w = 0; w < 4; w++) this.qSaddr[e * 4 + w] = af === 4 && w > 0 ? 0 : src[si + w];
      this.qSaddrSet[e] = 1;
    }
    if (s === Nud.INCOMPLETE) return false;
    // NONE or FAILED: start resolving, probe at once
    const p = this.parms(e);
    if (p.mcastProbes + p.appProbes === 0) {
      this.state[e] = Nud.FAILED;
      this.updated[e] = now;
      return false;
    }
    this.probes[e] = p.ucastProbes;
    this.state[e] = Nud.INCOMPLETE;
    this.updated[e] = now;
    this.setTimer(e, now + Math.max(p.retransMs, 10));
    this.probe(e);
    return false;
  }

  /** Writes entry e's MAC as 6 bytes at out[0..6). */
  private macBytes(e: number, out: Uint8Array): boolean {
    writeMac(out, 0, this.mac[e]);
    return true;
  }

  /**
   * neigh_update for an existing entry with a link-layer address from ARP /
   * ND: `override` replaces a different valid address; the new state is
   * REACHABLE (a confirmation) or STALE.
   */
  update(e: number, mac: number, state: number, override: boolean): void {
    const old = this.state[e];
    const now = this.env.nowMs;
    if (isValid(old) && mac !== this.mac[e] && !override) {
      // keep the old address; a REACHABLE entry is merely suspected
      if (old === Nud.REACHABLE) {
        this.state[e] = Nud.STALE;
        this.updated[e] = now;
      }
      return;
    }
    if (!isValid(old) && mac < 0) return;
    if (mac >= 0) this.mac[e] = mac;
    this.state[e] = state;
    this.updated[e] = now;
    this.qSaddrSet[e] = 0;
    if (state === Nud.REACHABLE) {
      this.confirmed[e] = now;
      this.setTimer(e, now + this.parms(e).reachableMs);
    } else {
      this.timerAt[e] = Infinity;
    }
  }

  /** When the entry was last updated (for ARP's locktime rule). */
  updatedAt(e: number): number {
    return this.updated[e];
  }

  /** neigh_timer_handler for every entry whose timer is due by `now`, in time order. */
  tick(now: number): void {
    while (this.nextDue <= now) {
      let e = -1;
      let at = Infinity;
      for (let k = 0; k < this.pool.capacity; k++) {
        if (this.timerAt[k] < at) {
          at = this.timerAt[k];
          e = k;
        }
      }
      this.nextDue = at;
      if (e < 0 || at > now) return;
      this.timerAt[e] = Infinity;
      this.fire(e, at);
      // recompute the minimum
      let m = Infinity;
      for (let k = 0; k < this.pool.capacity; k++) if (this.timerAt[k] < m) m = this.timerAt[k];
      this.nextDue = m;
    }
  }

  private fire(e: number, now: number): void {
    const p = this.parms(e);
    const s = this.state[e];
    let next: number;
    if (s === Nud.REACHABLE) {
      if (now <= this.confirmed[e] + p.reachableMs) {
        next = this.confirmed[e] + p.reachableMs;
      } else if (now <= this.used[e] + p.delayProbeMs) {
        this.state[e] = Nud.DELAY;
        this.updated[e] = now;
        next = now + p.delayProbeMs;
      } else {
        this.state[e] = Nud.STALE;
        this.updated[e] = now;
        return;
      }
    } else if (s === Nud.DELAY) {
      if (now <= this.confirmed[e] + p.delayProbeMs) {
        this.state[e] = Nud.REACHABLE;
        this.updated[e] = now;
        next = this.confirmed[e] + p.reachableMs;
      } else {
        this.state[e] = Nud.PROBE;
        this.updated[e] = now;
        this.probes[e] = 0;
        next = now + Math.max(p.retransMs, 10);
      }
    } else if (s === Nud.INCOMPLETE || s === Nud.PROBE) {
      next = now + Math.max(p.retransMs, 10);
    } else {
      return;
    }
    const st = this.state[e];
    if (st === Nud.INCOMPLETE || st === Nud.PROBE) {
      const max = p.ucastProbes + p.appProbes + (st === Nud.PROBE ? p.mcastReprobes : p.mcastProbes);
      if (this.probes[e] >= max) {
        this.state[e] = Nud.FAILED;
        this.updated[e] = now;
        this.qSaddrSet[e] = 0;
        return;
      }
    }
    this.setTimer(e, Math.max(next, now + 10));
    if (st === Nud.INCOMPLETE || st === Nud.PROBE) this.probe(e);
  }

  /** neigh_probe: the family's solicit routine, then one more probe counted. */
  private probe(e: number): void {
    const p = this.parms(e);
    const n = this.probes[e] - p.ucastProbes;
    // unicast while probes < ucast_probes (a known address); app probes are not modelled
    const unicast = n < 0 && this.mac[e] >= 0;
    if (this.af[e] === 4) this.arpSolicit(e, unicast);
    else this.ndiscSolicit(e, unicast);
    this.probes[e]++;
  }

  /** arp_solicit: an ARP request for the entry's address. */
  private arpSolicit(e: number, unicast: boolean): void {
    const env = this.env;
    const fib = env.fib;
    const link = this.link[e];
    const target = this.addr[e * 4];
    let saddr = 0;
    const announce = this.cfg.arpAnnounce[link] ?? 0;
    if (this.qSaddrSet[e] && this.state[e] === Nud.INCOMPLETE) {
      const qs = this.qSaddr[e * 4];
      if (announce === 0) {
        if (fib.isLocal4(qs)) saddr = qs;
      } else if (announce === 1) {
        // local and in the target's subnet on this link
        for (let i = 0; i < fib.addrCount; i++) {
          if (fib.addrAf[i] !== 4 || fib.addrLink[i] !== link || fib.addrWords[i * 4] !== qs) continue;
          const pl = fib.addrPlen[i];
          const mask = pl === 0 ? 0 : (~0 << (32 - pl)) >>> 0;
          if (((qs ^ target) & mask) >>> 0 === 0) saddr = qs;
        }
      }
    }
    if (saddr === 0) saddr = selectAddr4(fib, link, target);
    const f = this.frame;
    const myMac = fib.linkMac[link];
    if (unicast) writeMac(f, 0, this.mac[e]);
    else writeMac(f, 0, 0xffffffffffff);
    writeMac(f, 6, myMac);
    wr16(f, 12, 0x0806);
    buildArp(f, 14, 1, myMac, saddr, 0, target);
    this.probesSent++;
    env.emit(link, f, 0, 42, EMPTY_BYTES, 0, 0, 42);
  }

  /** ndisc_solicit: a neighbour solicitation for the entry's address. */
  private ndiscSolicit(e: number, unicast: boolean): void {
    const env = this.env;
    const fib = env.fib;
    const link = this.link[e];
    const src = this.tmp;
    const dst = this.tmp2;
    const o = e * 4;
    // the queued packet's source when it is an address of this link, else the link-local address
    if (
      this.qSaddrSet[e] &&
      this.state[e] === Nud.INCOMPLETE &&
      isAddrOnLink6(fib, this.cfg, link, this.qSaddr, o)
    ) {
      for (let w = 0; w < 4; w++) src[w] = this.qSaddr[o + w];
    } else {
      for (let w = 0; w < 4; w++) src[w] = this.cfg.linkLocal[link * 4 + w];
    }
    let dmac: number;
    if (unicast) {
      for (let w = 0; w < 4; w++) dst[w] = this.addr[o + w];
      dmac = this.mac[e];
    } else {
      solicitedNode(this.addr, o, dst);
      dmac = multicastMac6(dst);
    }
    const myMac = fib.linkMac[link];
    const len = buildNs(this.frame, dmac, myMac, src, dst, this.addr, o);
    this.probesSent++;
    env.emit(link, this.frame, 0, len, EMPTY_BYTES, 0, 0, len);
  }
}

/** Writes a 28-byte Ethernet/IPv4 ARP message at `off`. */
export function buildArp(
  f: Uint8Array,
  off: number,
  op: number,
  sha: number,
  spa: number,
  tha: number,
  tpa: number,
): void {
  wr16(f, off, 1);
  wr16(f, off + 2, 0x0800);
  f[off + 4] = 6;
  f[off + 5] = 4;
  wr16(f, off + 6, op);
  writeMac(f, off + 8, sha);
  wr32(f, off + 14, spa);
  writeMac(f, off + 18, tha);
  wr32(f, off + 24, tpa);
}

/** The solicited-node multicast address ff02::1:ffXX:XXXX of a[i..]. */
export function solicitedNode(a: Uint32Array, i: number, out: Uint32Array): void {
  out[0] = 0xff020000;
  out[1] = 0;
  out[2] = 1;
  out[3] = (0xff000000 | (a[i + 3] & 0xffffff)) >>> 0;
}

/** The Ethernet address of an IPv6 multicast group: 33:33 + its last four bytes. */
export function multicastMac6(a: Uint32Array): number {
  return 0x3333 * 0x100000000 + (a[3] >>> 0);
}

/**
 * Writes an Ethernet frame with an ICMPv6 neighbour solicitation (hop limit
 * 255, flow label 0, source link-layer address option) into f; returns its length.
 */
export function buildNs(
  f: Uint8Array,
  dmac: number,
  smac: number,
  src: Uint32Array,
  dst: Uint32Array,
  target: Uint32Array,
  ti: number,
): number {
  writeMac(f, 0, dmac);
  writeMac(f, 6, smac);
  wr16(f, 12, 0x86dd);
  const ip = 14;
  const icmpLen = 32;
  wr32(f, ip, 0x60000000);
  wr16(f, ip + 4, icmpLen);
  f[ip + 6] = 58;
  f[ip + 7] = 255;
  for (let w = 0; w < 4; w++) {
    wr32(f, ip + 8 + 4 * w, src[w]);
    wr32(f, ip + 24 + 4 * w, dst[w]);
  }
  const m = ip + 40;
  f[m] = 135;
  f[m + 1] = 0;
  wr16(f, m + 2, 0);
  wr32(f, m + 4, 0);
  for (let w = 0; w < 4; w++) wr32(f, m + 8 + 4 * w, target[ti + w]);
  f[m + 24] = 1; // source link-layer address
  f[m + 25] = 1;
  writeMac(f, m + 26, smac);
  wr16(f, m + 2, finish(sum16(f, m, icmpLen, pseudo6Words(src, 0, dst, 0, 58, icmpLen))));
  return m + icmpLen;
}

export { rd32 };
