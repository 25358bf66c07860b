/**
 * IP reassembly: ip_defrag() (net/ipv4/ip_fragment.c), nf_ct_frag6_gather()
 * (nf_conntrack_reasm.c, IPv6 at PREROUTING when IPv6 services exist) and
 * ipv6_frag_rcv() (net/ipv6/reassembly.c, IPv6 local delivery), on the
 * shared inet_frag machinery (inet_fragment.c).
 *
 * - Queues are keyed as the kernel keys them: IPv4 (source, destination,
 *   id, protocol, defrag user), IPv6 (source, destination, id, user, and the
 *   incoming interface for link-local / multicast destinations). The users:
 *   LOCAL_DELIVER (ip_local_deliver; gatherFrags(Hook.LOCAL_IN) — IPVS's own
 *   VS_IN gathering never sees a fragment, ip_local_deliver reassembled it
 *   first), VS_FWD (Hook.FORWARD), VS_OUT (Hook.LOCAL_OUT), the IPv6
 *   conntrack user and IPv6 local reassembly — separate queues.
 * - Fragments are inserted as inet_frag_queue_insert() does, in "runs" of
 *   contiguous fragments: a fragment inside what a run already holds is a
 *   duplicate (dropped, queue kept), any other overlap kills the whole queue
 *   (Linux 6.1 does this for IPv4 too). A last fragment that disagrees with
 *   the known length, data beyond a known end, or an empty fragment kill the
 *   queue as well; a non-last fragment is trimmed to a multiple of 8 (IPv6:
 *   an error).
 * - ip_frag_too_far (ipfrag_max_dist 64): when more than 64 other fragments
 *   from the same source arrived since this queue's last one, the queue
 *   starts over.
 * - Memory: each fragment is charged its sk_buff truesize (modelled as the
 *   kmalloc bucket of the received frame plus the sk_buff, see truesizeOf)
 *   and each queue its struct size; above ipfrag_high_thresh (4 MiB) no
 *   fragment is accepted (counted drop `fragment-memory-limit`).
 * - Timers: ipfrag_time 30 s (IPv6 60 s) from the queue's creation, on
 *   simulated time; an expired queue whose first fragment arrived sends ICMP
 *   time exceeded (fragment reassembly) about that fragment, rate-limited as
 *   any ICMP error. Held frames are released to `dropped` /
 *   `fragment-incomplete` then, or at the end of the replay (flush()).
 * - The complete datagram becomes the packet in flight in env.scratch: the
 *   first fragment's header (IPv4: total length set, offset cleared, DF kept
 *   only when the largest fragment had DF, ECN combined, checksum
 *   recomputed; IPv6: the fragment header removed), skb.fragMaxSize set, the
 *   parse redone, and env.heldReleased counts the frames held until now. The
 *   split (each original fragment's length) is remembered for the output
 *   path's fast re-fragmentation.
 *
 * Fragment data is kept in one arena (a byte buffer grown with the memory
 * limit, compacted when full); allocation happens only when the arena or a
 * table grows, never per fragment in the steady state.
 */
import type { DirectorEnv } from '../env.js';
import type { HostStack } from './stack.js';
import { Fate, Reason } from '../verdict.js';
import { Hook } from '../hooks.js';
import { Skb } from '../skb.js';
import { PacketInfo, parseIp } from '../../wire/parse.js';
import { rd16, rd32, wr16 } from '../../wire/bytes.js';
import { ipv4HeaderChecksum } from '../../wire/checksum.js';
import { KeyIndex, EntryPool, growF64, growI32, growU8 } from '../keyindex.js';

/** Defrag users (the kernel's enum ip_defrag_users, as far as the director has them). */
export const FragUser = {
  LOCAL_DELIVER: 0,
  VS_FWD: 1,
  VS_OUT: 2,
  /** nf_defrag_ipv6 at PREROUTING. */
  NF6: 3,
  /** ipv6_frag_rcv (local delivery). */
  LOCAL6: 4,
} as const;

/** The three fragment directories (memory accounting, timeout): IPv4, IPv6 conntrack, IPv6. */
const DIR_V4 = 0;
const DIR_NF6 = 1;
const DIR_V6 = 2;

const FIRST_IN = 1;
const LAST_IN = 2;

/** sizeof(struct ipq) / sizeof(struct frag_queue), roughly, charged per queue. */
const QSIZE = 192;
const IPV6_MAXPLEN = 65535;

/** ip_frag_ecn_table (indexed by the OR of 1 << ECN field over the fragments). */
const ECN_TABLE = new Uint8Array(16);
ECN_TABLE[8 | 4] = 3;
ECN_TABLE[8 | 2] = 3;
ECN_TABLE[8 | 4 | 2] = 3;
for (const v of [1 | 8, 1 | 4, 1 | 2, 1 | 4 | 2, 1 | 8 | 4, 1 | 8 | 2, 1 | 8 | 4 | 2]) ECN_TABLE[v] = 0xff;

/**
 * The truesize the kernel charges for a received frame of `frameLen` bytes:
 * the kmalloc bucket of its data area (the frame plus headroom, cache-line
 * aligned, plus struct skb_shared_info) plus the aligned struct sk_buff.
 */
export function truesizeOf(frameLen: number): number {
  const data = ((frameLen + 64 + 63) & ~63) + 320;
  let bucket = 64;
  while (bucket < data) bucket *= 2;
  if (bucket > 2048 && data <= 3072) bucket = 4096;
  return bucket + 256;
}

/** Result of queueing a fragment. */
const Q_HELD = 0;
const Q_DONE = 1;
const Q_DROP = 2;
/** nf_ct_frag6_gather returned 0 without reassembling: the fragment goes on as it is. */
const Q_PASS = 3;

export class Reassembly {
  private readonly env: DirectorEnv;
  private readonly stack: HostStack;
  private readonly idx4 = new KeyIndex(4, 32);
  private readonly idx6 = new KeyIndex(11, 32);
  private readonly key = new Uint32Array(11);
  private readonly qpool: EntryPool;
  private readonly fpool: EntryPool;
  // ---- queues
  private qAf: Uint8Array;
  private qUser: Uint8Array;
  private qKey: Int32Array; // 11 words per queue
  private qExpires: Float64Array;
  private qLen: Int32Array;
  private qMeat: Int32Array;
  private qFlags: Uint8Array;
  private qMaxSize: Int32Array;
  private qMaxDf: Int32Array;
  private qEcn: Uint8Array;
  private qIif: Int32Array;
  private qHeld: Int32Array;
  private qMem: Float64Array;
  private qRid: Int32Array;
  private qPeer: Int32Array;
  private qHead: Int32Array; // fragment list by offset
  private qTail: Int32Array; // fragments_tail
  private qRunHead: Int32Array; // last_run_head
  private qHdrPos: Int32Array; // first fragment's header in the arena, -1
  private qHdrLen: Int32Array;
  private qNhOff: Int32Array; // IPv6: offset of the byte naming the fragment header
  private qGroup: Uint8Array; // first fragment arrived as a link-layer broadcast
  private qNextHdr: Uint8Array; // IPv6: next header after the first fragment's fragment header
  private qPrev: Int32Array; // timer list
  private qNext: Int32Array;
  // ---- fragments
  private fOff: Int32Array;
  private fLen: Int32Array;
  private fCap: Int32Array;
  private fPos: Int32Array;
  private fNext: Int32Array;
  private fRunLen: Int32Array; // on a run head: bytes of the run; 0 on others
  // ---- per directory
  private readonly mem = new Float64Array(3);
  private readonly listHead = new Int32Array(3).fill(-1);
  private readonly listTail = new Int32Array(3).fill(-1);
  // ---- arena
  private arena: Uint8Array = new Uint8Array(0);
  private arenaTop = 0;
  // ---- geometry of the last reassembled datagram (for output's fast path)
  readonly geomLen = new Int32Array(8192);
  geomCount = 0;
  private geomBuf: Uint8Array | null = null;
  private geomL3 = 0;
  private geomTotal = 0;
  private geomAf = 0;
  // ---- a first fragment, for the ICMP sent on expiry
  private readonly tmpBuf = new Uint8Array(65536 + 64);
  private readonly tmpSkb: Skb;
  private readonly tmpInfo = new PacketInfo();
  private readonly tmpCinfo = new PacketInfo();
  /** Earliest queue expiry (ms). */
  nextDue = Infinity;
  /** Statistics (tests): queues killed for overlap or inconsistency, timeouts. */
  overlaps = 0;
  timeouts = 0;

  constructor(env: DirectorEnv, stack: HostStack) {
    this.env = env;
    this.stack = stack;
    this.tmpSkb = new Skb(this.tmpBuf);
    const q = 16;
    this.qAf = new Uint8Array(q);
    this.qUser = new Uint8Array(q);
    this.qKey = new Int32Array(q * 11);
    this.qExpires = new Float64Array(q);
    this.qLen = new Int32Array(q);
    this.qMeat = new Int32Array(q);
    this.qFlags = new Uint8Array(q);
    this.qMaxSize = new Int32Array(q);
    this.qMaxDf = new Int32Array(q);
    this.qEcn = new Uint8Array(q);
    this.qIif = new Int32Array(q);
    this.qHeld = new Int32Array(q);
    this.qMem = new Float64Array(q);
    this.qRid = new Int32Array(q);
    this.qPeer = new Int32Array(q);
    this.qHead = new Int32Array(q);
    this.qTail = new Int32Array(q);
    this.qRunHead = new Int32Array(q);
    this.qHdrPos = new Int32Array(q);
    this.qHdrLen = new Int32Array(q);
    this.qNhOff = new Int32Array(q);
    this.qGroup = new Uint8Array(q);
    this.qNextHdr = new Uint8Array(q);
    this.qPrev = new Int32Array(q);
    this.qNext = new Int32Array(q);
    this.qpool = new EntryPool(q, (n) => {
      this.qAf = growU8(this.qAf, n);
      this.qUser = growU8(this.qUser, n);
      this.qKey = growI32(this.qKey, n * 11);
      this.qExpires = growF64(this.qExpires, n);
      this.qLen = growI32(this.qLen, n);
      this.qMeat = growI32(this.qMeat, n);
      this.qFlags = growU8(this.qFlags, n);
      this.qMaxSize = growI32(this.qMaxSize, n);
      this.qMaxDf = growI32(this.qMaxDf, n);
      this.qEcn = growU8(this.qEcn, n);
      this.qIif = growI32(this.qIif, n);
      this.qHeld = growI32(this.qHeld, n);
      this.qMem = growF64(this.qMem, n);
      this.qRid = growI32(this.qRid, n);
      this.qPeer = growI32(this.qPeer, n);
      this.qHead = growI32(this.qHead, n);
      this.qTail = growI32(this.qTail, n);
      this.qRunHead = growI32(this.qRunHead, n);
      this.qHdrPos = growI32(this.qHdrPos, n);
      this.qHdrLen = growI32(this.qHdrLen, n);
      this.qNhOff = growI32(this.qNhOff, n);
      this.qGroup = growU8(this.qGroup, n);
      this.qNextHdr = growU8(this.qNextHdr, n);
      this.qPrev = growI32(this.qPrev, n);
      this.qNext = growI32(this.qNext, n);
    });
    const f = 64;
    this.fOff = new Int32Array(f);
    this.fLen = new Int32Array(f);
    this.fCap = new Int32Array(f);
    this.fPos = new Int32Array(f);
    this.fNext = new Int32Array(f);
    this.fRunLen = new Int32Array(f);
    this.fpool = new EntryPool(f, (n) => {
      this.fOff = growI32(this.fOff, n);
      this.fLen = growI32(this.fLen, n);
      this.fCap = growI32(this.fCap, n);
      this.fPos = growI32(this.fPos, n);
      this.fNext = growI32(this.fNext, n);
      this.fRunLen = growI32(this.fRunLen, n);
    });
  }

  /** Live queues (tests). */
  get queues(): number {
    return this.qpool.live;
  }

  /** Bytes charged to a directory (0 IPv4, 1 IPv6 conntrack, 2 IPv6) (tests). */
  memory(dir: number): number {
    return this.mem[dir];
  }

  /**
   * True when buf/l3/len is the last datagram this module reassembled
   * (af 4 or 6): geomLen[0..geomCount) then hold its fragments' data lengths.
   */
  geometryFor(buf: Uint8Array, l3: number, len: number, af: number): boolean {
    return (
      this.geomBuf === buf &&
      this.geomL3 === l3 &&
      this.geomTotal === len &&
      this.geomAf === af &&
      this.geomCount > 1
    );
  }

  // ------------------------------------------------------------------ entry points

  /** ip_defrag / ip_vs_gather_frags for the IPv4 fragment in flight. */
  gather4(hook: number): boolean {
    if (!this.env.info.isFragment) return true;
    const user =
      hook === Hook.LOCAL_IN
        ? FragUser.LOCAL_DELIVER
        : hook === Hook.FORWARD
          ? FragUser.VS_FWD
          : FragUser.VS_OUT;
    return this.queue(4, user) === Q_DONE;
  }

  /** nf_ct_frag6_gather (`local` false) or ipv6_frag_rcv (`local` true) for the IPv6 fragment in flight. */
  gather6(local: boolean): boolean {
    if (!this.env.info.isFragment) return true;
    const r = this.queue(6, local ? FragUser.LOCAL6 : FragUser.NF6);
    return r === Q_DONE || r === Q_PASS;
  }

  /**
   * ipv6frag_thdr_truncated: a first fragment that does not hold the whole
   * upper-layer header (TCP 20, UDP 8, ICMPv6 8 bytes, else 1) — RFC 8200 4.5.
   */
  private thdrTruncated(b: Uint8Array, l3: number, len: number, fh: number): boolean {
    if (rd16(b, fh + 2) & 0xfff8) return false;
    let nh = b[fh];
    let p = fh + 8;
    const end = l3 + len;
    while (nh === 0 || nh === 43 || nh === 60 || nh === 51 || nh === 44) {
      if (p + 2 > end) return true;
      if (nh === 44) {
        if (rd16(b, p + 2) & 0xfff8) return false;
        nh = b[p];
        p += 8;
        continue;
      }
      const hl = nh === 51 ? (b[p + 1] + 2) * 4 : (b[p + 1] + 1) * 8;
      nh = b[p];
      p += hl;
    }
    p += nh === 6 ? 20 : nh === 17 || nh === 58 ? 8 : 1;
    return p > end;
  }

  // ------------------------------------------------------------------ queueing

  private dirOf(af: number, user: number): number {
    return af === 4 ? DIR_V4 : user === FragUser.NF6 ? DIR_NF6 : DIR_V6;
  }

  private highThresh(dir: number): number {
    const c = this.stack.cfg;
    return dir === DIR_V4 ? c.ipfragHighThresh : c.ip6fragHighThresh;
  }

  private timeoutMs(dir: number): number {
    const c = this.stack.cfg;
    return dir === DIR_V4 ? c.ipfragTimeMs : c.ip6fragTimeMs;
  }

  private queue(af: number, user: number): number {
    const env = this.env;
    const skb = env.skb;
    const info = env.info;
    const b = skb.buf;
    const l3 = skb.l3;
    const dir = this.dirOf(af, user);
    // the fragment's place in the datagram
    let hlen: number;
    let offset: number;
    let mf: boolean;
    let id: number;
    if (af === 4) {
      hlen = (b[l3] & 15) * 4;
      const fo = rd16(b, l3 + 6);
      offset = (fo & 0x1fff) << 3;
      mf = (fo & 0x2000) !== 0;
      id = rd16(b, l3 + 4);
    } else {
      if (info.fragHdrOff < 0) return this.fail(Reason.FRAG_BAD);
      if (this.thdrTruncated(b, l3, skb.len, info.fragHdrOff)) {
        // the conntrack defrag lets it through untouched; local reassembly refuses it
        if (user === FragUser.NF6) return Q_PASS;
        this.stack.icmp.sendError(4, 3, 0);
        return this.fail(Reason.FRAG_BAD);
      }
      hlen = info.fragHdrOff + 8 - l3;
      offset = info.fragOff;
      mf = info.mf === 1;
      id = info.ipId >>> 0;
    }
    let end = offset + skb.len - hlen;
    if (af === 6 && end > IPV6_MAXPLEN) {
      if (user === FragUser.LOCAL6) this.stack.icmp.sendError(4, 0, info.fragHdrOff + 2 - l3);
      return this.fail(Reason.FRAG_BAD);
    }
    // find or create the queue (inet_frag_find refuses everything above the limit)
    if (this.mem[dir] > this.highThresh(dir)) return this.fail(Reason.FRAG_MEM_LIMIT);
    const k = this.key;
    let q: number;
    if (af === 4) {
      k[0] = rd32(b, l3 + 12);
      k[1] = rd32(b, l3 + 16);
      k[2] = ((id << 8) | b[l3 + 9]) >>> 0;
      k[3] = user;
      q = this.idx4.find(k, 0);
    } else {
      for (let i = 0; i < 4; i++) {
        k[i] = rd32(b, l3 + 8 + 4 * i);
        k[4 + i] = rd32(b, l3 + 24 + 4 * i);
      }
      k[8] = id;
      k[9] = user;
      // the incoming interface keys link-local and multicast destinations
      k[10] = k[4] >>> 24 === 0xff || k[4] >>> 22 === 0x3fa ? skb.inLink + 1 : 0;
      q = this.idx6.find(k, 0);
    }
    if (q < 0) q = this.create(af, user, dir);
    const nowMs = env.nowMs;
    // ip_frag_too_far
    if (af === 4 && this.qPeer[q] >= 0) {
      const peers = this.stack.peers4;
      const max = this.stack.cfg.ipfragMaxDist;
      const start = this.qRid[q];
      const e = ++peers.rid[this.qPeer[q]];
      this.qRid[q] = e;
      if (max > 0 && this.qTail[q] >= 0 && ((e - start) | 0) > max) this.reinit(q, dir, nowMs);
    }
    // the fragment's length rules (ip_frag_queue / nf_ct_frag6_queue / ip6_frag_queue)
    if (!mf) {
      if (end < this.qLen[q] || (this.qFlags[q] & LAST_IN && end !== this.qLen[q]))
        return this.kill(q, Reason.FRAG_BAD);
      this.qFlags[q] |= LAST_IN;
      this.qLen[q] = end;
    } else {
      if (end & 7) {
        if (af === 6) {
          if (user === FragUser.LOCAL6) {
            this.stack.icmp.sendError(4, 0, 4);
            return this.fail(Reason.FRAG_BAD);
          }
          // nf_ct_frag6_queue: the queue dies (-EPROTO) and the fragment goes on unreassembled
          this.free(q, Reason.FRAG_BAD);
          return Q_PASS;
        }
        end &= ~7;
      }
      if (end > this.qLen[q]) {
        if (this.qFlags[q] & LAST_IN) return this.kill(q, Reason.FRAG_BAD);
        this.qLen[q] = end;
      }
    }
    if (end === offset) return this.kill(q, Reason.FRAG_BAD);
    // insert (inet_frag_queue_insert)
    const ins = this.insertCheck(q, offset, end);
    if (ins === 1) return this.fail(Reason.FRAG_DUPLICATE);
    if (ins === 2) {
      this.overlaps++;
      return this.kill(q, Reason.FRAG_BAD);
    }
    const dataLen = end - offset;
    const f = this.store(b, l3 + hlen, dataLen, Math.max(0, Math.min(dataLen, skb.cap - hlen)));
    if (f < 0) return this.fail(Reason.FRAG_MEM_LIMIT);
    this.fOff[f] = offset;
    this.fLen[f] = dataLen;
    this.link(q, f, ins === 3 ? 1 : 0);
    this.qIif[q] = skb.inLink;
    this.qMeat[q] += dataLen;
    const tos = af === 4 ? b[l3 + 1] : (rd32(b, l3) >>> 20) & 0xff;
    this.qEcn[q] |= 1 << (tos & 3);
    const ts = truesizeOf(14 + skb.len);
    this.qMem[q] += ts;
    this.mem[dir] += ts;
    if (offset === 0) {
      this.qFlags[q] |= FIRST_IN;
      // keep the first fragment's header (IPv4: its IP header; IPv6: the unfragmentable part)
      const hl = af === 4 ? hlen : hlen - 8;
      const pos = this.alloc(hl);
      if (pos < 0) return this.kill(q, Reason.FRAG_MEM_LIMIT);
      this.arena.set(b.subarray(l3, l3 + hl), pos);
      this.qHdrPos[q] = pos;
      this.qHdrLen[q] = hl;
      this.qGroup[q] = this.stack.l2Group() ? 1 : 0;
      if (af === 6) {
        this.qNhOff[q] = this.prevHeaderOffset(b, l3, info.fragHdrOff);
        this.qNextHdr[q] = b[info.fragHdrOff];
      }
    }
    const fragsize = af === 4 ? dataLen + hlen : skb.len - 40;
    if (fragsize > this.qMaxSize[q]) this.qMaxSize[q] = fragsize;
    if (af === 4 && b[l3 + 6] & 0x40 && fragsize > this.qMaxDf[q]) this.qMaxDf[q] = fragsize;
    if (this.qFlags[q] === (FIRST_IN | LAST_IN) && this.qMeat[q] === this.qLen[q]) return this.reasm(q, dir);
    this.qHeld[q]++;
    env.setFate(Fate.HELD, Reason.NONE);
    return Q_HELD;
  }

  /** Drops the fragment in flight (the queue stays). */
  private fail(reason: number): number {
    this.env.drop(reason);
    return Q_DROP;
  }

  /** inet_frag_kill + drop: the queue's held frames and the fragment in flight are dropped. */
  private kill(q: number, reason: number): number {
    this.free(q, Reason.FRAG_BAD);
    this.env.drop(reason);
    return Q_DROP;
  }

  private create(af: number, user: number, dir: number): number {
    const q = this.qpool.alloc();
    if (af === 4) this.idx4.insert(this.key, 0, q);
    else this.idx6.insert(this.key, 0, q);
    for (let i = 0; i < 11; i++) this.qKey[q * 11 + i] = this.key[i];
    this.qAf[q] = af;
    this.qUser[q] = user;
    this.qLen[q] = 0;
    this.qMeat[q] = 0;
    this.qFlags[q] = 0;
    this.qMaxSize[q] = 0;
    this.qMaxDf[q] = 0;
    this.qEcn[q] = 0;
    this.qHeld[q] = 0;
    this.qMem[q] = QSIZE;
    this.mem[dir] += QSIZE;
    this.qHead[q] = -1;
    this.qTail[q] = -1;
    this.qRunHead[q] = -1;
    this.qHdrPos[q] = -1;
    this.qHdrLen[q] = 0;
    this.qNhOff[q] = 6;
    this.qGroup[q] = 0;
    if (af === 4 && this.stack.cfg.ipfragMaxDist > 0) {
      const p = this.stack.peers4.get(this.key, 0, Math.floor(this.env.nowMs / 4));
      this.qPeer[q] = p;
      this.qRid[q] = this.stack.peers4.rid[p];
    } else {
      this.qPeer[q] = -1;
      this.qRid[q] = 0;
    }
    this.qExpires[q] = this.env.nowMs + this.timeoutMs(dir);
    this.append(q, dir);
    return q;
  }

  /** ip_frag_reinit: the queue starts over (its held frames are dropped). */
  private reinit(q: number, dir: number, nowMs: number): void {
    this.releaseHeld(q, Reason.FRAG_INCOMPLETE);
    this.freeFragments(q);
    this.mem[dir] -= this.qMem[q] - QSIZE;
    this.qMem[q] = QSIZE;
    this.qLen[q] = 0;
    this.qMeat[q] = 0;
    this.qFlags[q] = 0;
    this.qMaxSize[q] = 0;
    this.qMaxDf[q] = 0;
    this.qEcn[q] = 0;
    this.qExpires[q] = nowMs + this.timeoutMs(dir);
    this.unlink(q, dir);
    this.append(q, dir);
  }

  /**
   * The run logic of inet_frag_queue_insert: 0 OK (new run), 3 OK (appended
   * to the last run), 1 duplicate, 2 overlap.
   */
  private insertCheck(q: number, offset: number, end: number): number {
    const last = this.qTail[q];
    if (last < 0) return 0;
    const lastEnd = this.fOff[last] + this.fLen[last];
    if (lastEnd < end) {
      if (offset < lastEnd) return 2;
      return offset === lastEnd ? 3 : 0;
    }
    // binary search over runs = scan the run heads
    for (let f = this.qHead[q]; f >= 0; f = this.fNext[f]) {
      const rl = this.fRunLen[f];
      if (rl === 0) continue;
      const s = this.fOff[f];
      const e = s + rl;
      if (end <= s || offset >= e) continue;
      if (offset >= s && end <= e) return 1;
      return 2;
    }
    return 0;
  }

  /** Links fragment f into q's offset-ordered list (`append`: it extends the last run). */
  private link(q: number, f: number, append: number): void {
    const off = this.fOff[f];
    const last = this.qTail[q];
    const newTail = last < 0 || off >= this.fOff[last] + this.fLen[last];
    if (append) {
      this.fRunLen[f] = 0;
      this.fRunLen[this.qRunHead[q]] += this.fLen[f];
    } else {
      this.fRunLen[f] = this.fLen[f];
      if (newTail) this.qRunHead[q] = f;
    }
    if (newTail) this.qTail[q] = f;
    // ordered insertion
    let prev = -1;
    let cur = this.qHead[q];
    while (cur >= 0 && this.fOff[cur] < off) {
      prev = cur;
      cur = this.fNext[cur];
    }
    this.fNext[f] = cur;
    if (prev < 0) this.qHead[q] = f;
    else this.fNext[prev] = f;
  }

  /** Stores `len` data bytes (of which `cap` are captured) from b[from..]; returns the fragment, -1 when out of room. */
  private store(b: Uint8Array, from: number, len: number, cap: number): number {
    const pos = this.alloc(len);
    if (pos < 0) return -1;
    this.arena.set(b.subarray(from, from + cap), pos);
    if (cap < len) this.arena.fill(0, pos + cap, pos + len);
    const f = this.fpool.alloc();
    this.fPos[f] = pos;
    this.fCap[f] = cap;
    return f;
  }

  // ------------------------------------------------------------------ arena

  private alloc(n: number): number {
    if (this.arenaTop + n > this.arena.length) {
      this.compact();
      if (this.arenaTop + n > this.arena.length) {
        const c = this.stack.cfg;
        const want = Math.min(
          256 * 1024 * 1024,
          Math.max(8 * 1024 * 1024, 2 * Math.max(c.ipfragHighThresh, c.ip6fragHighThresh) + 256 * 1024),
        );
        if (this.arena.length >= want || this.arenaTop + n > want) return -1;
        const a = new Uint8Array(want);
        a.set(this.arena.subarray(0, this.arenaTop));
        this.arena = a;
      }
    }
    const p = this.arenaTop;
    this.arenaTop += n;
    return p;
  }

  /** Moves every live chunk down to the start of the arena (rare: when the arena is full). */
  private compact(): void {
    const chunks: number[] = []; // [pos, len, kind(0 frag / 1 header), id]
    for (let q = 0; q < this.qpool.capacity; q++) {
      if (!this.isLive(q)) continue;
      if (this.qHdrPos[q] >= 0) chunks.push(this.qHdrPos[q], this.qHdrLen[q], 1, q);
      for (let f = this.qHead[q]; f >= 0; f = this.fNext[f]) chunks.push(this.fPos[f], this.fLen[f], 0, f);
    }
    const order: number[] = [];
    for (let i = 0; i < chunks.length; i += 4) order.push(i);
    order.sort((x, y) => chunks[x] - chunks[y]);
    let top = 0;
    for (const i of order) {
      const pos = chunks[i];
      const len = chunks[i + 1];
      if (pos !== top) this.arena.copyWithin(top, pos, pos + len);
      if (chunks[i + 2] === 1) this.qHdrPos[chunks[i + 3]] = top;
      else this.fPos[chunks[i + 3]] = top;
      top += len;
    }
    this.arenaTop = top;
  }

  private isLive(q: number): boolean {
    if (this.qExpires[q] === 0) return false;
    const idx = this.qAf[q] === 4 ? this.idx4 : this.idx6;
    return idx.find(this.qKeyView(q), 0) === q;
  }

  private readonly kv = new Uint32Array(11);
  private qKeyView(q: number): Uint32Array {
    for (let i = 0; i < 11; i++) this.kv[i] = this.qKey[q * 11 + i];
    return this.kv;
  }

  // ------------------------------------------------------------------ completion

  /** ip_frag_reasm / nf_ct_frag6_reasm / ip6_frag_reasm into env.scratch. */
  private reasm(q: number, dir: number): number {
    const env = this.env;
    const skb = env.skb;
    const af = this.qAf[q];
    const hl = this.qHdrLen[q];
    const total = hl + this.qLen[q];
    if (total > 65535 + (af === 6 ? 40 : 0)) return this.kill(q, Reason.FRAG_BAD);
    const ecn = ECN_TABLE[this.qEcn[q] & 15];
    if (ecn === 0xff) return this.kill(q, Reason.FRAG_BAD);
    const out = env.scratch;
    const a = this.arena;
    out.set(a.subarray(this.qHdrPos[q], this.qHdrPos[q] + hl), 0);
    let cap = hl;
    let contiguous = true;
    let n = 0;
    for (let f = this.qHead[q]; f >= 0; f = this.fNext[f]) {
      const p = this.fPos[f];
      out.set(a.subarray(p, p + this.fLen[f]), hl + this.fOff[f]);
      if (contiguous) {
        cap = hl + this.fOff[f] + this.fCap[f];
        if (this.fCap[f] < this.fLen[f]) contiguous = false;
      }
      if (n < this.geomLen.length) this.geomLen[n] = this.fLen[f];
      n++;
    }
    let fms: number;
    if (af === 4) {
      wr16(out, 2, total);
      out[1] |= ecn;
      wr16(out, 6, this.qMaxDf[q] === this.qMaxSize[q] ? 0x4000 : 0);
      wr16(out, 10, 0);
      wr16(out, 10, ipv4HeaderChecksum(out, 0));
      fms = Math.max(this.qMaxDf[q], this.qMaxSize[q]);
    } else {
      wr16(out, 4, total - 40);
      // the byte that named the fragment header names what followed it
      out[this.qNhOff[q]] = this.nextHeaderAfterFrag(q);
      if (ecn) out[1] |= ecn << 4;
      fms = 40 + this.qMaxSize[q];
    }
    const held = this.qHeld[q];
    const group = this.qGroup[q];
    const iif = this.qIif[q];
    this.free(q, -1);
    void dir;
    const inLink = skb.inLink >= 0 ? skb.inLink : iif;
    skb.set(out, 0, total, Math.min(cap, total), af);
    skb.inLink = inLink;
    skb.fragMaxSize = fms;
    this.stack.reasmGroup = group === 1;
    this.geomBuf = n <= this.geomLen.length ? out : null;
    this.geomL3 = 0;
    this.geomTotal = total;
    this.geomAf = af;
    this.geomCount = n;
    env.heldReleased += held;
    const r = parseIp(out, 0, skb.cap, total, env.info);
    if (r !== 0) {
      env.fates.malformed[r]++;
      env.drop(Reason.MALFORMED);
      return Q_DROP;
    }
    return Q_DONE;
  }

  /** The next header named by the first fragment's fragment header. */
  private nextHeaderAfterFrag(q: number): number {
    return this.qNextHdr[q];
  }

  /** Offset (from the IPv6 header) of the next-header byte that names the fragment header at `fh`. */
  private prevHeaderOffset(b: Uint8Array, l3: number, fh: number): number {
    let p = l3 + 40;
    let prev = l3 + 6;
    while (p < fh) {
      prev = p;
      p += (b[p + 1] + 1) * 8;
    }
    return prev - l3;
  }

  // ------------------------------------------------------------------ release

  /** Moves the queue's held frames to dropped with `reason`. */
  private releaseHeld(q: number, reason: number): void {
    const n = this.qHeld[q];
    if (n > 0) this.env.fates.release(Fate.DROPPED, reason, n);
    this.qHeld[q] = 0;
  }

  private freeFragments(q: number): void {
    let f = this.qHead[q];
    while (f >= 0) {
      const next = this.fNext[f];
      this.fpool.release(f);
      f = next;
    }
    this.qHead[q] = -1;
    this.qTail[q] = -1;
    this.qRunHead[q] = -1;
    this.qHdrPos[q] = -1;
  }

  /** Frees a queue; its held frames become dropped with `reason` (-1: they were resolved by the caller). */
  private free(q: number, reason: number): void {
    const af = this.qAf[q];
    const dir = this.dirOf(af, this.qUser[q]);
    if (reason >= 0) this.releaseHeld(q, reason);
    this.freeFragments(q);
    this.mem[dir] -= this.qMem[q];
    if (this.mem[dir] < 1e-9) this.mem[dir] = 0;
    const idx = af === 4 ? this.idx4 : this.idx6;
    idx.remove(this.qKeyView(q), 0);
    this.unlink(q, dir);
    this.qExpires[q] = 0;
    this.qpool.release(q);
    if (this.qpool.live === 0) this.arenaTop = 0;
  }

  private append(q: number, dir: number): void {
    this.qNext[q] = -1;
    this.qPrev[q] = this.listTail[dir];
    if (this.listTail[dir] >= 0) this.qNext[this.listTail[dir]] = q;
    else this.listHead[dir] = q;
    this.listTail[dir] = q;
    if (this.qExpires[q] < this.nextDue) this.nextDue = this.qExpires[q];
  }

  private unlink(q: number, dir: number): void {
    const p = this.qPrev[q];
    const n = this.qNext[q];
    if (p >= 0) this.qNext[p] = n;
    else this.listHead[dir] = n;
    if (n >= 0) this.qPrev[n] = p;
    else this.listTail[dir] = p;
  }

  // ------------------------------------------------------------------ timers

  /** ip_expire / ip6frag_expire_frag_queue for every queue due by `now`. */
  tick(now: number): void {
    if (now < this.nextDue) return;
    for (;;) {
      let best = -1;
      let bestDir = -1;
      for (let d = 0; d < 3; d++) {
        const q = this.listHead[d];
        if (q >= 0 && this.qExpires[q] <= now && (best < 0 || this.qExpires[q] < this.qExpires[best])) {
          best = q;
          bestDir = d;
        }
      }
      if (best < 0) break;
      this.expire(best, bestDir);
    }
    let next = Infinity;
    for (let d = 0; d < 3; d++) {
      const q = this.listHead[d];
      if (q >= 0 && this.qExpires[q] < next) next = this.qExpires[q];
    }
    this.nextDue = next;
  }

  private expire(q: number, dir: number): void {
    this.timeouts++;
    const env = this.env;
    if (this.qFlags[q] & FIRST_IN && this.qHead[q] >= 0 && this.fOff[this.qHead[q]] === 0) {
      // the first fragment as it arrived: its header, then its data
      const af = this.qAf[q];
      const hl = this.qHdrLen[q];
      const f = this.qHead[q];
      const t = this.tmpBuf;
      const a = this.arena;
      t.set(a.subarray(this.qHdrPos[q], this.qHdrPos[q] + hl), 0);
      let len = hl;
      if (af === 6) {
        // put the fragment header back (offset 0, MF, the identification)
        const fh = hl;
        t[fh] = this.qNextHdr[q];
        t[fh + 1] = 0;
        wr16(t, fh + 2, 1);
        const id = this.qKey[q * 11 + 8] >>> 0;
        t[fh + 4] = id >>> 24;
        t[fh + 5] = (id >>> 16) & 255;
        t[fh + 6] = (id >>> 8) & 255;
        t[fh + 7] = id & 255;
        t[this.qNhOff[q]] = 44;
        len += 8;
      }
      t.set(a.subarray(this.fPos[f], this.fPos[f] + this.fLen[f]), len);
      len += this.fLen[f];
      if (af === 4) len = Math.min(len, rd16(t, 2));
      const cap = af === 4 ? len : Math.min(len, hl + 8 + this.fCap[f]);
      const skb = this.tmpSkb;
      skb.set(t, 0, len, cap, af);
      skb.inLink = this.qIif[q];
      skb.mark = 0;
      parseIp(t, 0, cap, len, this.tmpInfo);
      env.pushPacket(skb, this.tmpInfo, this.tmpCinfo);
      const savedGroup = this.stack.reasmGroup;
      this.stack.reasmGroup = this.qGroup[q] === 1;
      if (!this.stack.l2Group()) {
        if (af === 4) this.stack.icmp.sendError(11, 1, 0);
        else this.stack.icmp.sendError(3, 1, 0);
      }
      this.stack.reasmGroup = savedGroup;
      env.popPacket();
    }
    this.free(q, Reason.FRAG_INCOMPLETE);
    void dir;
  }

  /** End of the replay: every held frame becomes dropped (`fragment-incomplete`). */
  flush(): void {
    for (let d = 0; d < 3; d++) {
      while (this.listHead[d] >= 0) this.free(this.listHead[d], Reason.FRAG_INCOMPLETE);
    }
    this.nextDue = Infinity;
  }
}
