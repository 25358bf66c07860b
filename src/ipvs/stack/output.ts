/**
 * The output path after the routing decision: ip_finish_output /
 * ip6_finish_output (fragmentation to the route MTU: ip_fragment,
 * ip_do_fragment, ip6_fragment) and neigh_output (the next hop's MAC, or
 * neighbour resolution), then the Ethernet header and the frame.
 *
 * A packet whose next hop is not resolved yet waits in the neighbour
 * entry's queue (neigh.ts), which sends it or reports it unreachable.
 *
 * The packet is the packet in flight (`env.skb`), possibly preceded by
 * headers in `hdr` (a tunnel's outer headers). A frame is written as two
 * parts (headers, then the packet where it lies), so forwarding a packet
 * copies nothing; fragments are headers built here plus a slice of the
 * packet. Per-packet work allocates nothing.
 *
 * Fragmentation:
 * - IPv4 (ip_fragment): when the packet exceeds the MTU or was reassembled
 *   (frag_max_size set). DF clear, or DF with ignore_df (IPVS's packets) and
 *   no original fragment larger than the MTU: fragmented; otherwise ICMP
 *   fragmentation needed and drop. A reassembled datagram whose original
 *   fragments all fit goes out in the original geometry (ip_do_fragment's
 *   frag_list fast path: "same split and ID"); else the slow path cuts
 *   (MTU - header) & ~7 bytes per fragment, MTU capped at frag_max_size.
 * - IPv6 (ip6_fragment): when the packet exceeds the MTU or its largest
 *   original fragment; a fragment header with a new identification, the
 *   same fast/slow rule.
 */
import type { DirectorEnv } from '../env.js';
import { TraceKind, fmtAddr } from '../trace.js';
import { readMac, macToString } from '../../wire/addr.js';
import type { FibResult } from '../fib.js';
import type { HostStack } from './stack.js';
import { rd16, rd32, wr16, wr32 } from '../../wire/bytes.js';
import { ipv4HeaderChecksum } from '../../wire/checksum.js';
import { fragmentOptions } from './options.js';

/** What became of a packet handed to the output path. */
export const Out = {
  SENT: 0,
  /** The next hop did not resolve (probing started): dropped. */
  UNRESOLVED: 1,
  /** Too big and not fragmentable: ICMP sent (when allowed) and dropped. */
  TOO_BIG: 2,
  /** No usable link (a local route): dropped. */
  NO_LINK: 3,
} as const;

const IPV6_MIN_MTU = 1280;

export class Output {
  private readonly env: DirectorEnv;
  private readonly stack: HostStack;
  /** Ethernet + IP header scratch for fragments (an IPv6 unfragmentable part can be long). */
  private readonly fh = new Uint8Array(14 + 2048 + 8);
  /** A tunnelled packet that must be fragmented is first copied here (headers + packet). */
  private readonly flat = new Uint8Array(65536 + 512);
  private readonly src = new Uint32Array(4);
  /** The next hop's MAC, as bytes (a 48-bit number returned from a call would be boxed by V8). */
  private readonly dmac = new Uint8Array(6);
  private readonly dst = new Uint32Array(4);
  /** Ethernet header of a frame put in a neighbour queue. */
  private readonly qeth = new Uint8Array(14);
  /** Set by forward(): the packet is being forwarded (MTU = the device's, no PMTU exceptions). */
  forwarding = false;
  /** Frames emitted as fragments (statistics, tests). */
  fragmentsOut = 0;

  constructor(env: DirectorEnv, stack: HostStack) {
    this.env = env;
    this.stack = stack;
  }

  /**
   * Sends the packet in flight (after `hdr[hdrOff, hdrOff+hdrLen)`) out of
   * route.link. Returns an Out code; records no fate.
   */
  send(route: FibResult, hdr: Uint8Array, hdrOff: number, hdrLen: number): number {
    const env = this.env;
    const skb = env.skb;
    const link = route.link;
    if (link < 0) return Out.NO_LINK;
    const ipBuf = hdrLen > 0 ? hdr : skb.buf;
    const ipOff = hdrLen > 0 ? hdrOff : skb.l3;
    const af = ipBuf[ipOff] >>> 4 === 6 ? 6 : 4;
    const total = hdrLen + skb.len;
    // the packet's addresses (source: for the neighbour probe; destination: PMTU)
    const src = this.src;
    const dst = this.dst;
    if (af === 4) {
      src[0] = rd32(ipBuf, ipOff + 12);
      dst[0] = rd32(ipBuf, ipOff + 16);
      src[1] = src[2] = src[3] = dst[1] = dst[2] = dst[3] = 0;
    } else {
      for (let w = 0; w < 4; w++) {
        src[w] = rd32(ipBuf, ipOff + 8 + 4 * w);
        dst[w] = rd32(ipBuf, ipOff + 24 + 4 * w);
      }
    }
    if (!this.nextHopMac(af, route, link)) {
      if (env.tracer) this.traceHop(false, af, route, link);
      // the packet waits in the INCOMPLETE entry's queue (arp_queue)
      const eth = this.qeth;
      eth.fill(0, 0, 6);
      const m = this.stack.cfg.linkMacBytes;
      for (let i = 0; i < 6; i++) eth[6 + i] = m[link * 6 + i];
      eth[12] = af === 4 ? 0x08 : 0x86;
      eth[13] = af === 4 ? 0x00 : 0xdd;
      this.stack.neigh.enqueue(eth, hdr, hdrOff, hdrLen, skb.buf, skb.l3, skb.len, skb.cap, skb.inLink);
      return Out.UNRESOLVED;
    }
    if (env.tracer) this.traceHop(true, af, route, link);

    let mtu = route.mtu;
    if (!this.forwarding) mtu = this.stack.pmtu.mtu(af, dst, 0, mtu);
    const fms = skb.fragMaxSize;
    if (af === 4) {
      if (total > mtu || (fms > 0 && hdrLen === 0)) {
        const df = (ipBuf[ipOff + 6] & 0x40) !== 0;
        if (df && (!skb.ipvsProperty || (fms > 0 && fms > mtu))) {
          if (hdrLen === 0) this.stack.icmp.sendError(3, 4, mtu);
          return Out.TOO_BIG;
        }
        return this.fragment4(link, hdr, hdrOff, hdrLen, mtu);
      }
    } else if (total > mtu || (fms > 0 && hdrLen === 0 && total > fms)) {
      const ignoreDf = skb.ipvsProperty || skb.inLink < 0 || fms > 0;
      if ((!ignoreDf && total > mtu) || (fms > 0 && fms > mtu)) {
        if (hdrLen === 0) this.stack.icmp.sendError(2, 0, mtu);
        return Out.TOO_BIG;
      }
      let m = mtu;
      if (fms > 0) m = Math.max(fms, IPV6_MIN_MTU);
      return this.fragment6(link, hdr, hdrOff, hdrLen, m);
    }
    // the common case: Ethernet header in front, the packet as it lies
    const et = af === 4 ? 0x0800 : 0x86dd;
    if (hdrLen > 0) {
      const e = hdrOff - 14;
      this.ethernet(hdr, e, link, et);
      env.emit(link, hdr, e, 14 + hdrLen, skb.buf, skb.l3, skb.cap, 14 + total);
    } else {
      const h = env.hdr;
      this.ethernet(h, 0, link, et);
      env.emit(link, h, 0, 14, skb.buf, skb.l3, skb.cap, 14 + skb.len);
    }
    return Out.SENT;
  }

  /** Explain mode: the next hop found or not (kept out of send() so that stays small for the compiler). */
  private traceHop(resolved: boolean, af: number, route: FibResult, link: number): void {
    const env = this.env;
    const tr = env.tracer;
    if (!tr) return;
    const hop = fmtAddr(af, route.nextHop);
    const name = env.fib.linkName[link];
    if (!resolved) {
      tr.step(
        TraceKind.OUTPUT,
        `next hop ${hop} on ${name} is not resolved: the director asks for it (ARP/ND); the packet waits in the neighbour queue and leaves when the answer comes (ICMP host unreachable goes back if none does)`,
        { nextHop: hop, link: name },
      );
      return;
    }
    const mac = macToString(readMac(this.dmac, 0));
    tr.step(TraceKind.OUTPUT, `POSTROUTING: out of ${name} to next hop ${hop} at ${mac}`, {
      link: name,
      nextHop: hop,
      mac,
    });
  }

  /** Writes the Ethernet header: this.dmac, the link's MAC, the EtherType. */
  private ethernet(b: Uint8Array, o: number, link: number, type: number): void {
    const d = this.dmac;
    const m = this.stack.cfg.linkMacBytes;
    const l = link * 6;
    for (let i = 0; i < 6; i++) {
      b[o + i] = d[i];
      b[o + 6 + i] = m[l + i];
    }
    b[o + 12] = type >>> 8;
    b[o + 13] = type & 0xff;
  }

  /**
   * The destination MAC into this.dmac: a group address's mapping, a static
   * neighbour, or a learned / resolved one. False when unresolved.
   */
  private nextHopMac(af: number, route: FibResult, link: number): boolean {
    const env = this.env;
    const hop = route.nextHop;
    const d = this.dmac;
    if (af === 6) {
      if (hop[0] >>> 24 === 0xff) {
        d[0] = d[1] = 0x33;
        for (let i = 0; i < 4; i++) d[2 + i] = (hop[3] >>> (24 - 8 * i)) & 255;
        return true;
      }
    } else {
      const a = hop[0] >>> 0;
      if (a === 0xffffffff || this.stack.cfg.isBroadcast4(a)) {
        d.fill(0xff);
        return true;
      }
      if (a >>> 28 === 14) {
        d[0] = 1;
        d[1] = 0;
        d[2] = 0x5e;
        d[3] = (a >>> 16) & 0x7f;
        d[4] = (a >>> 8) & 255;
        d[5] = a & 255;
        return true;
      }
    }
    if (env.fib.writeNeighbourMac(af, hop, 0, link, d, 0)) return true;
    return this.stack.neigh.resolve(af, hop, 0, link, this.src, 0, d);
  }

  // ------------------------------------------------------------------ IPv4

  /** ip_do_fragment. */
  private fragment4(link: number, hdr: Uint8Array, hdrOff: number, hdrLen: number, routeMtu: number): number {
    const env = this.env;
    const skb = env.skb;
    // one contiguous source: the packet itself, or headers + packet copied
    let buf = skb.buf;
    let l3 = skb.l3;
    let len = skb.len;
    let cap = skb.cap;
    if (hdrLen > 0) {
      buf = this.flat;
      l3 = 0;
      buf.set(hdr.subarray(hdrOff, hdrOff + hdrLen), 0);
      buf.set(skb.buf.subarray(skb.l3, skb.l3 + skb.cap), hdrLen);
      len = hdrLen + skb.len;
      cap = hdrLen + skb.cap;
    }
    const hlen = (buf[l3] & 15) * 4;
    let mtu = routeMtu;
    const fms = hdrLen === 0 ? skb.fragMaxSize : 0;
    if (fms > 0 && fms < mtu) mtu = fms;
    mtu -= hlen;
    const fo = rd16(buf, l3 + 6);
    const isFrag = (fo & 0x3fff) !== 0;
    const geo = this.stack.frag;
    if (hdrLen === 0 && geo.geometryFor(skb.buf, skb.l3, skb.len, 4)) {
      const g = geo.geomLen;
      const n = geo.geomCount;
      let ok = !isFrag && g[0] <= mtu && (g[0] & 7) === 0;
      for (let k = 1; ok && k < n; k++) if (g[k] > mtu || ((g[k] & 7) !== 0 && k < n - 1)) ok = false;
      if (ok) {
        // the frag_list fast path: the original split, the header copied, DF dropped
        const f = this.fh;
        const h = 14;
        for (let i = 0; i < hlen; i++) f[h + i] = buf[l3 + i];
        let off = 0;
        for (let k = 0; k < n; k++) {
          if (k === 1) fragmentOptions(f, h, hlen);
          wr16(f, h + 2, hlen + g[k]);
          wr16(f, h + 6, (off >>> 3) | (k < n - 1 ? 0x2000 : 0));
          wr16(f, h + 10, 0);
          wr16(f, h + 10, ipv4HeaderChecksum(f, h));
          this.emitFragment(link, 0x0800, hlen, buf, l3 + hlen + off, g[k], l3 + cap);
          off += g[k];
        }
        return Out.SENT;
      }
    }
    // slow path
    const df = fms > 0 && (fo & 0x4000) !== 0; // IPSKB_FRAG_PMTU: reassembled from DF fragments
    const notLast = (fo & 0x2000) !== 0;
    let offset = (fo & 0x1fff) << 3;
    let left = len - hlen;
    let ptr = hlen;
    const f = this.fh;
    const h = 14;
    for (let i = 0; i < hlen; i++) f[h + i] = buf[l3 + i];
    let first = true;
    while (left > 0) {
      let n = left;
      if (n > mtu) n = mtu;
      if (n < left) n &= ~7;
      if (n <= 0) return Out.TOO_BIG;
      left -= n;
      wr16(f, h + 2, n + hlen);
      wr16(f, h + 6, (offset >>> 3) | (df ? 0x4000 : 0) | (left > 0 || notLast ? 0x2000 : 0));
      wr16(f, h + 10, 0);
      wr16(f, h + 10, ipv4HeaderChecksum(f, h));
      this.emitFragment(link, 0x0800, hlen, buf, l3 + ptr, n, l3 + cap);
      if (first) {
        fragmentOptions(f, h, hlen);
        first = false;
      }
      ptr += n;
      offset += n;
    }
    return Out.SENT;
  }

  /** Emits fh[0, 14+hlen) (Ethernet + IP header written here) + buf[from, from+n) (clipped to `capEnd`). */
  private emitFragment(
    link: number,
    type: number,
    hlen: number,
    buf: Uint8Array,
    from: number,
    n: number,
    capEnd: number,
  ): void {
    this.ethernet(this.fh, 0, link, type);
    const have = Math.max(0, Math.min(n, capEnd - from));
    this.fragmentsOut++;
    this.env.emit(link, this.fh, 0, 14 + hlen, buf, from, have, 14 + hlen + n);
  }

  // ------------------------------------------------------------------ IPv6

  /** ip6_find_1stfragopt: length of the unfragmentable part and the offset of the next-header byte before it. */
  private unfragmentable(buf: Uint8Array, l3: number, end: number): number {
    let off = 40;
    let prev = 6;
    let nh = buf[l3 + 6];
    let rhdr = false;
    for (;;) {
      if (nh === 0) {
        // hop-by-hop
      } else if (nh === 43) {
        rhdr = true;
      } else if (nh === 60) {
        if (rhdr) break;
      } else break;
      if (l3 + off + 2 > end) break;
      prev = off;
      const hl = (buf[l3 + off + 1] + 1) * 8;
      nh = buf[l3 + off];
      off += hl;
    }
    this.prevHdr = prev;
    return off;
  }
  private prevHdr = 6;

  /** ip6_fragment (MTU already chosen). */
  private fragment6(link: number, hdr: Uint8Array, hdrOff: number, hdrLen: number, mtuIn: number): number {
    const env = this.env;
    const skb = env.skb;
    let buf = skb.buf;
    let l3 = skb.l3;
    let len = skb.len;
    let cap = skb.cap;
    if (hdrLen > 0) {
      buf = this.flat;
      l3 = 0;
      buf.set(hdr.subarray(hdrOff, hdrOff + hdrLen), 0);
      buf.set(skb.buf.subarray(skb.l3, skb.l3 + skb.cap), hdrLen);
      len = hdrLen + skb.len;
      cap = hdrLen + skb.cap;
    }
    const hlen = this.unfragmentable(buf, l3, l3 + cap);
    const prev = this.prevHdr;
    if (hlen > 2048 || mtuIn < hlen + 8 + 8) return Out.TOO_BIG;
    const mtu = mtuIn - hlen - 8;
    const id = env.rng.next32();
    const nexthdr = buf[l3 + prev];
    const f = this.fh;
    const h = 14;
    for (let i = 0; i < hlen; i++) f[h + i] = buf[l3 + i];
    f[h + prev] = 44;
    f[h + hlen] = nexthdr;
    f[h + hlen + 1] = 0;
    wr32(f, h + hlen + 4, id);
    const geo = this.stack.frag;
    if (hdrLen === 0 && geo.geometryFor(skb.buf, skb.l3, skb.len, 6)) {
      const g = geo.geomLen;
      const n = geo.geomCount;
      let ok = g[0] <= mtu && (g[0] & 7) === 0;
      for (let k = 1; ok && k < n; k++) if (g[k] > mtu || ((g[k] & 7) !== 0 && k < n - 1)) ok = false;
      if (ok) {
        let off = 0;
        for (let k = 0; k < n; k++) {
          wr16(f, h + 4, hlen + 8 + g[k] - 40);
          wr16(f, h + hlen + 2, off | (k < n - 1 ? 1 : 0));
          this.emitFragment(link, 0x86dd, hlen + 8, buf, l3 + hlen + off, g[k], l3 + cap);
          off += g[k];
        }
        return Out.SENT;
      }
    }
    let left = len - hlen;
    let ptr = hlen;
    let offset = 0;
    while (left > 0) {
      let n = left;
      if (n > mtu) n = mtu;
      if (n < left) n &= ~7;
      if (n <= 0) return Out.TOO_BIG;
      left -= n;
      wr16(f, h + 4, hlen + 8 + n - 40);
      wr16(f, h + hlen + 2, offset | (left > 0 ? 1 : 0));
      this.emitFragment(link, 0x86dd, hlen + 8, buf, l3 + ptr, n, l3 + cap);
      ptr += n;
      offset += n;
    }
    return Out.SENT;
  }
}
