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
 * Packets for an INCOMPLETE entry wait in the entry's queue (arp_queue,
 * at most unres_qlen_bytes of sk_buff truesize; the oldest are dropped
 * first): a confirmation sends them to the learned address, and when
 * resolution fails (FAILED, after mcast_solicit probes: ~3 s) each one is
 * reported, oldest first, through the stack's `unreachable()` (the
 * kernel's neigh_invalidate -> error_report -> dst_link_failure: ICMP host
 * unreachable / ICMPv6 address unreachable about it), as the oracle's
 * neigh-unresolved scenario shows.
 */
import type { DirectorEnv } from '../env.js';
import type { StackConfig, NeighParms } from './config.js';
import { KeyIndex, EntryPool, growF64, growI32, growU32, growU8 } from '../keyindex.js';
import { selectAddr4, isAddrOnLink6 } from './addrsel.js';
import { writeMac } from '../../wire/addr.js';
import { wr16, wr32, rd32 } from '../../wire/bytes.js';
import { truesizeOf } from './frag.js';
import { pseudo6Words, sum16, finish } from '../../wire/checksum.js';
import { EMPTY_BYTES } from '../../wire/bytes.js';
import { Fate, Reason } from '../verdict.js';

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
/** unres_qlen_bytes: SK_WMEM_MAX of a 64-bit kernel. */
const UNRES_QLEN_BYTES = 212992;

/** Who reports a queued packet whose next hop failed to resolve (the host stack). */
export interface NeighReporter {
  /** dst_link_failure() for the packet buf[l3, l3+len) of family af, received on inLink (-1: generated). */
  unreachable(buf: Uint8Array, l3: number, len: number, af: number, inLink: number): void;
}

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
  /** Source address of the packet resolve() last refused (the first probe goes out before enqueue() queues it). */
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
  private readonly tmp3 = new Uint32Array(4);
  /** Probes sent (tests, statistics). */
  probesSent = 0;
  /** The entry resolve() last left INCOMPLETE (the packet it refused goes to its queue), else -1. */
  private lastUnresolved = -1;
  /** Per entry: first and last queued slot (-1: none) and the queued truesize. */
  private qHead: Int32Array;
  private qTail: Int32Array;
  private qBytes: Float64Array;
  /** Queue slots: an Ethernet frame (destination MAC left blank) per queued packet. */
  private slotBuf: Uint8Array[] = [];
  private slotLen: Int32Array = new Int32Array(0);
  private slotTrue: Int32Array = new Int32Array(0);
  private slotInLink: Int32Array = new Int32Array(0);
  /**
   * 1 when the queued packet carries its input frame's fate: the frame was
   * counted `held` when queued and is released — forwarded when the neighbour
   * answers, dropped (`neighbour-unresolved`) when resolution fails, the queue
   * overflows or the replay ends (`flushHeld`).
   */
  private slotHeld: Uint8Array = new Uint8Array(0);
  private slotNext: Int32Array = new Int32Array(0);
  private freeSlot = -1;
  /** Packets queued / sent after resolution / reported unreachable / dropped for room (tests, statistics). */
  queued = 0;
  flushed = 0;
  reported = 0;
  overflowed = 0;
  /** Set by the host stack. */
  reporter: NeighReporter | null = null;

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
    this.qHead = new Int32Array(n).fill(-1);
    this.qTail = new Int32Array(n).fill(-1);
    this.qBytes = new Float64Array(n);
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
      const old = this.qHead.length;
      this.qHead = growI32(this.qHead, cap);
      this.qTail = growI32(this.qTail, cap);
      this.qHead.fill(-1, old);
      this.qTail.fill(-1, old);
      this.qBytes = growF64(this.qBytes, cap);
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
    this.qHead[e] = -1;
    this.qTail[e] = -1;
    this.qBytes[e] = 0;
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
    this.dropQueue(e);
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
   * is not resolved (probing starts; the caller queues the packet with enqueue()).
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
    this.lastUnresolved = -1;
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
    if (s === Nud.INCOMPLETE) {
      this.lastUnresolved = e;
      return false;
    }
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
    this.lastUnresolved = e;
    this.probe(e);
    return false;
  }

  /**
   * Queues the packet resolve() just refused (its INCOMPLETE entry's
   * arp_queue): the frame is the 14-byte Ethernet header `eth` (destination
   * filled in when the neighbour answers) followed by a[aOff, aOff+aLen) and
   * b[bOff, bOff+bLen) (bytes past bCap read as zeros). Returns false when
   * there is no such entry (the packet is simply dropped).
   */
  enqueue(
    eth: Uint8Array,
    a: Uint8Array,
    aOff: number,
    aLen: number,
    b: Uint8Array,
    bOff: number,
    bLen: number,
    bCap: number,
    inLink: number,
  ): boolean {
    const e = this.lastUnresolved;
    this.lastUnresolved = -1;
    if (e < 0 || this.state[e] !== Nud.INCOMPLETE) return false;
    const len = 14 + aLen + bLen;
    const ts = truesizeOf(len);
    while (this.qHead[e] >= 0 && this.qBytes[e] + ts > UNRES_QLEN_BYTES) {
      const h = this.qHead[e];
      this.unlinkHead(e);
      this.releaseSlot(h);
      this.overflowed++;
    }
    const k = this.allocSlot(len);
    const f = this.slotBuf[k];
    f.set(eth.subarray(0, 14), 0);
    if (aLen > 0) f.set(a.subarray(aOff, aOff + aLen), 14);
    const have = Math.max(0, Math.min(bLen, bCap));
    if (have > 0) f.set(b.subarray(bOff, bOff + have), 14 + aLen);
    if (have < bLen) f.fill(0, 14 + aLen + have, len);
    this.slotLen[k] = len;
    this.slotTrue[k] = ts;
    this.slotInLink[k] = inLink;
    // a forwarded packet waits: its input frame is held until the neighbour answers or fails
    const env = this.env;
    if (!env.generating && env.fate < 0) {
      env.setFate(Fate.HELD, Reason.NONE);
      this.slotHeld[k] = 1;
    } else this.slotHeld[k] = 0;
    this.slotNext[k] = -1;
    if (this.qTail[e] >= 0) this.slotNext[this.qTail[e]] = k;
    else this.qHead[e] = k;
    this.qTail[e] = k;
    this.qBytes[e] += ts;
    this.queued++;
    return true;
  }

  /** Packets waiting on entry e (tests). */
  queueLength(e: number): number {
    let n = 0;
    for (let k = this.qHead[e]; k >= 0; k = this.slotNext[k]) n++;
    return n;
  }

  private allocSlot(len: number): number {
    let k = this.freeSlot;
    if (k >= 0) {
      this.freeSlot = this.slotNext[k];
    } else {
      // rare: the slot arrays grow when more packets wait than ever before
      k = this.slotBuf.length;
      this.slotBuf.push(new Uint8Array(Math.max(len, 1600)));
      const cap = Math.max(16, k + 1);
      if (cap > this.slotLen.length) {
        const n2 = cap * 2;
        this.slotLen = growI32(this.slotLen, n2);
        this.slotTrue = growI32(this.slotTrue, n2);
        this.slotInLink = growI32(this.slotInLink, n2);
        this.slotHeld = growU8(this.slotHeld, n2);
        this.slotNext = growI32(this.slotNext, n2);
      }
    }
    if (this.slotBuf[k].length < len) this.slotBuf[k] = new Uint8Array(len);
    return k;
  }

  private releaseSlot(
    k: number,
    fate: number = Fate.DROPPED,
    reason: number = Reason.NEIGHBOUR_UNRESOLVED,
  ): void {
    if (this.slotHeld[k]) {
      this.slotHeld[k] = 0;
      this.env.fates.release(fate, reason, 1);
    }
    this.slotNext[k] = this.freeSlot;
    this.freeSlot = k;
  }

  /** End of a replay: frames whose packets still wait for a neighbour are dropped (`neighbour-unresolved`). */
  flushHeld(): void {
    for (let e = 0; e < this.qHead.length; e++) if (this.qHead[e] >= 0) this.dropQueue(e);
  }

  private unlinkHead(e: number): void {
    const h = this.qHead[e];
    this.qHead[e] = this.slotNext[h];
    if (this.qHead[e] < 0) this.qTail[e] = -1;
    this.qBytes[e] -= this.slotTrue[h];
  }

  private dropQueue(e: number): void {
    while (this.qHead[e] >= 0) {
      const h = this.qHead[e];
      this.unlinkHead(e);
      this.releaseSlot(h);
    }
    this.qBytes[e] = 0;
  }

  /** neigh_update's arp_queue flush: the queued frames go out to the learned address. */
  private sendQueue(e: number): void {
    const link = this.link[e];
    while (this.qHead[e] >= 0) {
      const h = this.qHead[e];
      this.unlinkHead(e);
      const f = this.slotBuf[h];
      writeMac(f, 0, this.mac[e]);
      this.flushed++;
      this.env.emit(link, f, 0, this.slotLen[h], EMPTY_BYTES, 0, 0, this.slotLen[h]);
      this.releaseSlot(h, Fate.FORWARDED, Reason.NONE);
    }
  }

  /** neigh_invalidate: every queued packet is reported unreachable, oldest first. */
  private failQueue(e: number): void {
    const af = this.af[e];
    while (this.qHead[e] >= 0) {
      const h = this.qHead[e];
      this.unlinkHead(e);
      this.reported++;
      if (this.reporter)
        this.reporter.unreachable(this.slotBuf[h], 14, this.slotLen[h] - 14, af, this.slotInLink[h]);
      this.releaseSlot(h);
    }
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
    if (!isValid(old) && isValid(state) && this.qHead[e] >= 0) this.sendQueue(e);
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
        this.failQueue(e);
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
    const tail = this.qTail[e];
    if (tail >= 0 || (this.qSaddrSet[e] && this.state[e] === Nud.INCOMPLETE)) {
      // the source of the newest queued packet (skb_peek_tail(arp_queue))
      const qs = tail >= 0 ? rd32(this.slotBuf[tail], 14 + 12) : this.qSaddr[e * 4];
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
    const tail = this.qTail[e];
    if (tail >= 0) for (let w = 0; w < 4; w++) this.tmp3[w] = rd32(this.slotBuf[tail], 14 + 8 + 4 * w);
    else for (let w = 0; w < 4; w++) this.tmp3[w] = this.qSaddr[o + w];
    if (
      (tail >= 0 || (this.qSaddrSet[e] && this.state[e] === Nud.INCOMPLETE)) &&
      isAddrOnLink6(fib, this.cfg, link, this.tmp3, 0)
    ) {
      for (let w = 0; w < 4; w++) src[w] = this.tmp3[w];
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
