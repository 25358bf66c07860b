/**
 * Per-flow frame templates: for each flow and direction, the Ethernet, IP
 * and TCP/UDP headers with every per-flow field in place (MACs, addresses,
 * ports, TTL, DF, flow label, window) and the partial checksums of those
 * fixed fields. A frame is made by patching the fields that change (lengths,
 * IP ID, sequence and acknowledgment numbers, flags) in the template and
 * finishing the checksums from the partial sums plus the new fields plus the
 * payload's sum (payload.ts) — no Repr object, no pass over the bytes.
 *
 * Templates live in one slab of TEMPLATE_SIZE bytes per template; bytes
 * after the headers hold SYN options or, for frames under 60 bytes, the
 * payload and the zero padding, so such frames are written in one piece.
 */
import { finish, pseudo4, pseudo6Words } from '../wire/checksum.js';
import { writeMac } from '../wire/addr.js';
import { ETH } from '../wire/ethernet.js';
import { IpProto } from '../wire/ip.js';

/** Bytes per template. */
export const TEMPLATE_SIZE = 128;
/** Length of the SYN options the generator sends (MSS, SACK permitted, window scale). */
export const SYN_OPT_LEN = 12;

/** SYN options: MSS, NOP, NOP, SACK permitted, NOP, window scale 7 (MSS patched per family). */
const SYN_OPTS = [2, 4, 0, 0, 1, 1, 4, 2, 1, 3, 3, 7];

/** TCP flags. */
export const F = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 } as const;

function w16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 255;
  b[o + 1] = v & 255;
}

function w32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 255;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}

export class TemplateStore {
  bytes: Uint8Array;
  /** 4 or 6 per template. */
  af: Uint8Array;
  /** 6 (TCP) or 17 (UDP). */
  proto: Uint8Array;
  /** Length of Ethernet + IP + L4 headers (TCP without options). */
  hl: Uint16Array;
  /** IPv4: sum of the header words other than total length, ID and checksum. */
  ipBase: Float64Array;
  /** Pseudo-header without its length, plus the L4 header's fixed words. */
  l4Base: Float64Array;
  /** Window field of data segments and of SYNs. */
  win: Uint16Array;
  synWin: Uint16Array;
  /** Sum of the SYN option bytes (family-dependent MSS). */
  private readonly synOptSum: [number, number] = [0, 0];

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity * TEMPLATE_SIZE);
    this.af = new Uint8Array(capacity);
    this.proto = new Uint8Array(capacity);
    this.hl = new Uint16Array(capacity);
    this.ipBase = new Float64Array(capacity);
    this.l4Base = new Float64Array(capacity);
    this.win = new Uint16Array(capacity);
    this.synWin = new Uint16Array(capacity);
    for (let i = 0; i < 2; i++) {
      const mss = i === 0 ? 1460 : 1440;
      const o = SYN_OPTS.slice();
      o[2] = mss >>> 8;
      o[3] = mss & 255;
      let s = 0;
      for (let k = 0; k < o.length; k += 2) s += (o[k] << 8) | o[k + 1];
      this.synOptSum[i] = s;
    }
  }

  get capacity(): number {
    return this.af.length;
  }

  /** Grows to at least `n` templates, keeping the existing ones. */
  ensure(n: number): void {
    if (n <= this.capacity) return;
    let cap = this.capacity;
    while (cap < n) cap *= 2;
    const grow = <T extends Uint8Array | Uint16Array | Float64Array>(
      a: T,
      make: (n: number) => T,
      per = 1,
    ): T => {
      const b = make(cap * per);
      b.set(a);
      return b;
    };
    this.bytes = grow(this.bytes, (k) => new Uint8Array(k), TEMPLATE_SIZE);
    this.af = grow(this.af, (k) => new Uint8Array(k));
    this.proto = grow(this.proto, (k) => new Uint8Array(k));
    this.hl = grow(this.hl, (k) => new Uint16Array(k));
    this.ipBase = grow(this.ipBase, (k) => new Float64Array(k));
    this.l4Base = grow(this.l4Base, (k) => new Float64Array(k));
    this.win = grow(this.win, (k) => new Uint16Array(k));
    this.synWin = grow(this.synWin, (k) => new Uint16Array(k));
  }

  /**
   * Fills template `t`: a frame from srcMac to dstMac, IPv4 (DF, TOS 0) or
   * IPv6 (traffic class 0, `flowLabel`) from `src[si..]` to `dst[di..]`
   * (address words), TCP or UDP from `sport` to `dport`, TTL / hop limit
   * `ttl`, TCP window `win` (`synWin` in SYNs).
   */
  set(
    t: number,
    af: number,
    proto: number,
    dstMac: number,
    srcMac: number,
    src: Uint32Array,
    si: number,
    dst: Uint32Array,
    di: number,
    sport: number,
    dport: number,
    ttl: number,
    flowLabel: number,
    win: number,
    synWin: number,
  ): void {
    const b = this.bytes;
    const o = t * TEMPLATE_SIZE;
    b.fill(0, o, o + TEMPLATE_SIZE);
    writeMac(b, o, dstMac);
    writeMac(b, o + 6, srcMac);
    const ip = o + ETH.HDR_LEN;
    let l4: number;
    if (af === 4) {
      w16(b, o + 12, 0x0800);
      b[ip] = 0x45;
      w16(b, ip + 6, 0x4000); // DF
      b[ip + 8] = ttl;
      b[ip + 9] = proto;
      w32(b, ip + 12, src[si]);
      w32(b, ip + 16, dst[di]);
      let s = 0;
      for (let k = 0; k < 20; k += 2) s += (b[ip + k] << 8) | b[ip + k + 1];
      this.ipBase[t] = s;
      l4 = ip + 20;
      this.l4Base[t] = pseudo4(src[si], dst[di], proto, 0);
    } else {
      w16(b, o + 12, 0x86dd);
      w32(b, ip, (0x60000000 | (flowLabel & 0xfffff)) >>> 0);
      b[ip + 6] = proto;
      b[ip + 7] = ttl;
      for (let k = 0; k < 4; k++) {
        w32(b, ip + 8 + 4 * k, src[si + k]);
        w32(b, ip + 24 + 4 * k, dst[di + k]);
      }
      this.ipBase[t] = 0;
      l4 = ip + 40;
      this.l4Base[t] = pseudo6Words(src, si, dst, di, proto, 0);
    }
    w16(b, l4, sport);
    w16(b, l4 + 2, dport);
    if (proto === IpProto.TCP) {
      w16(b, l4 + 14, win);
      this.l4Base[t] += sport + dport + win;
      this.hl[t] = l4 - o + 20;
    } else {
      this.l4Base[t] += sport + dport;
      this.hl[t] = l4 - o + 8;
    }
    this.af[t] = af;
    this.proto[t] = proto;
    this.win[t] = win;
    this.synWin[t] = synWin;
  }

  /**
   * Patches template `t` into a TCP segment: `flags`, `seq`, `ack`, IP ID
   * `ipId` (IPv4), SYN options when `syn`, `payLen` payload bytes whose sum
   * is `paySum`. Returns the header length (options included); the payload
   * goes right after it.
   */
  tcp(
    t: number,
    flags: number,
    seq: number,
    ack: number,
    ipId: number,
    syn: boolean,
    payLen: number,
    paySum: number,
  ): number {
    const b = this.bytes;
    const o = t * TEMPLATE_SIZE;
    const v4 = this.af[t] === 4;
    const ip = o + ETH.HDR_LEN;
    const l4 = ip + (v4 ? 20 : 40);
    const opt = syn ? SYN_OPT_LEN : 0;
    const thl = 20 + opt;
    const l4len = thl + payLen;
    if (v4) {
      const tot = 20 + l4len;
      w16(b, ip + 2, tot);
      w16(b, ip + 4, ipId);
      w16(b, ip + 10, finish(this.ipBase[t] + tot + ipId));
    } else {
      w16(b, ip + 4, l4len);
    }
    w32(b, l4 + 4, seq);
    w32(b, l4 + 8, ack);
    const offFlags = ((thl >>> 2) << 12) | flags;
    w16(b, l4 + 12, offFlags);
    let sum =
      this.l4Base[t] +
      l4len +
      (seq >>> 16) +
      (seq & 0xffff) +
      (ack >>> 16) +
      (ack & 0xffff) +
      offFlags +
      paySum;
    if (syn) {
      const w = this.synWin[t];
      w16(b, l4 + 14, w);
      sum += w - this.win[t];
      const mss = v4 ? 1460 : 1440;
      for (let k = 0; k < SYN_OPT_LEN; k++) b[l4 + 20 + k] = SYN_OPTS[k];
      b[l4 + 22] = mss >>> 8;
      b[l4 + 23] = mss & 255;
      sum += this.synOptSum[v4 ? 0 : 1];
    } else {
      w16(b, l4 + 14, this.win[t]);
    }
    w16(b, l4 + 16, finish(sum));
    return l4 - o + thl;
  }

  /** Patches template `t` into a UDP datagram of `payLen` bytes summing to `paySum`; returns the header length. */
  udp(t: number, ipId: number, payLen: number, paySum: number): number {
    const b = this.bytes;
    const o = t * TEMPLATE_SIZE;
    const v4 = this.af[t] === 4;
    const ip = o + ETH.HDR_LEN;
    const l4 = ip + (v4 ? 20 : 40);
    const ulen = 8 + payLen;
    if (v4) {
      const tot = 20 + ulen;
      w16(b, ip + 2, tot);
      w16(b, ip + 4, ipId);
      w16(b, ip + 10, finish(this.ipBase[t] + tot + ipId));
    } else {
      w16(b, ip + 4, ulen);
    }
    w16(b, l4 + 4, ulen);
    const c = finish(this.l4Base[t] + 2 * ulen + paySum);
    w16(b, l4 + 6, c === 0 ? 0xffff : c);
    return l4 - o + 8;
  }
}
