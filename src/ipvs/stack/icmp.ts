/**
 * The director's ICMP and ICMPv6 messages (net/ipv4/icmp.c, net/ipv6/icmp.c):
 * errors about the packet in flight (__icmp_send, icmp6_send), echo and
 * timestamp replies (icmp_reply, icmpv6_echo_reply). Each message is built
 * in this module's own buffer and handed to HostStack.sendLocal(), which
 * runs it through the LOCAL_OUT hooks, routes and outputs it.
 *
 * What the kernel does, and so this code:
 * - refusals: no error about a non-first fragment, about an ICMP error (or
 *   an unknown ICMP type), for a packet that arrived as a link-layer
 *   broadcast / multicast or to a broadcast / multicast address (IPv6: except
 *   packet too big and unrecognised-option parameter problems), to an
 *   unspecified or multicast IPv6 source; none while another ICMP message is
 *   being sent (icmp_xmit_lock);
 * - source: the offending packet's destination when it was addressed to the
 *   director (RTCF_LOCAL / ipv6_chk_addr), else the route's preferred source
 *   toward the sender (IPv4; with icmp_errors_use_inbound_ifaddr the
 *   incoming interface's address), IPv6: source selection on the incoming
 *   interface; 192.0.0.8 (INADDR_DUMMY) when there is none;
 * - IPv4 header: TOS (tos & 0x1e) | 0xc0 for errors, the request's TOS for
 *   replies; TTL ip_default_ttl; DF clear; a random IP ID; the received
 *   options echoed (__ip_options_echo). IPv6: traffic class 0 (echo reply:
 *   the request's), hop limit 64, an automatic flow label (the kernel's is
 *   a flow hash with a per-boot random seed; the simulator hashes the
 *   addresses with a fixed seed);
 * - quoting: IPv4 as much of the packet as fits in min(route MTU, 576)
 *   bytes; IPv6 as much as fits in 1280;
 * - rate limits (ratelimit.ts): the global credit for types in the rate
 *   mask, then the per-destination token bucket, icmp_ratelimit per message
 *   (IPv6: shortened for routes with a prefix shorter than /128).
 */
import type { DirectorEnv } from '../env.js';
import { TraceKind, fmtAddr } from '../trace.js';
import type { HostStack } from './stack.js';
import { jiffiesAt } from './config.js';
import { IpOptions, compileReceived, echoOptions, buildOptions } from './options.js';
import { selectAddr4, selectAddr6 } from './addrsel.js';
import { FibResult } from '../fib.js';
import { rd16, rd32, wr16, wr32 } from '../../wire/bytes.js';
import { sum16, finish, pseudo6Words, ipv4HeaderChecksum } from '../../wire/checksum.js';

/** Outcome of sending a message the director generated. */
export const Gen = {
  SENT: 0,
  /** Not allowed (the kernel's refusals). */
  REFUSED: 1,
  RATE_LIMITED: 2,
  NO_ROUTE: 3,
  /** Built and routed, but the next hop does not resolve (probing). */
  UNRESOLVED: 4,
  /** Taken or dropped by a LOCAL_OUT hook, or too big. */
  DROPPED: 5,
} as const;

/** Gen codes in words (explain traces). */
const GEN_NAMES = ['sent', 'not allowed', 'rate-limited', 'no route', 'next hop unresolved', 'dropped'];

const INADDR_DUMMY = 0xc0000008;
const NR_ICMP_TYPES = 18;

/** icmp_pointers[type].error: the ICMP types that are errors. */
export function isIcmpErrorType(t: number): boolean {
  return t === 3 || t === 4 || t === 5 || t === 11 || t === 12;
}

/** IPv6 extension headers that ipv6_skip_exthdr walks. */
function isExt6(nh: number): boolean {
  return nh === 0 || nh === 43 || nh === 44 || nh === 60 || nh === 51;
}

export class Icmp {
  private readonly env: DirectorEnv;
  private readonly stack: HostStack;
  /** Message buffer (one message at a time: the xmit lock). */
  readonly buf = new Uint8Array(65536 + 64);
  private busy4 = false;
  private busy6 = false;
  private readonly sopt = new IpOptions();
  /** sopt holds the compiled options of the packet being answered. */
  private soptValid = false;
  /**
   * The packet in flight carries an output route (a packet a neighbour
   * queue gave back): __icmp_send's RTCF_LOCAL test fails even when its
   * destination is one of ours (a DR packet to the VIP), so the source
   * comes from the route back.
   */
  outputRoute = false;
  private readonly ropt = new IpOptions();
  private readonly route = new FibResult();
  private readonly w = new Uint32Array(4);
  private readonly src6 = new Uint32Array(4);
  private readonly dst6 = new Uint32Array(4);
  private readonly isLocal4 = (a: number): boolean => this.env.fib.isLocal4(a);
  /** Messages sent (statistics, tests). */
  sent = 0;

  constructor(env: DirectorEnv, stack: HostStack) {
    this.env = env;
    this.stack = stack;
  }

  private nowJ(): number {
    return jiffiesAt(this.env.nowMs);
  }

  /** icmp_send / icmpv6_send about the packet in flight, quoting at most `quoteLen` bytes of it (default: all). */
  sendError(type: number, code: number, info: number, quoteLen = -1): number {
    const skb = this.env.skb;
    const q = quoteLen < 0 ? skb.len : Math.min(quoteLen, skb.len);
    // the version in the header decides (a tunnel's inner packet may be pointed at)
    const v6 = skb.cap > 0 ? skb.buf[skb.l3] >>> 4 === 6 : skb.af === 6;
    const r = v6 ? this.send6(type, code, info, q) : this.send4(type, code, info, q);
    const tr = this.env.tracer;
    if (tr) {
      const af = v6 ? 6 : 4;
      const to = fmtAddr(af, this.env.info.saddr);
      const what = `ICMP${v6 ? 'v6' : ''} type ${type} code ${code}${(!v6 && type === 3 && code === 4) || (v6 && type === 2) ? ` (MTU ${info})` : ''}`;
      tr.step(
        TraceKind.LOCAL,
        r === Gen.SENT
          ? `the director's stack sends ${what} to ${to}`
          : `the director's stack does not send ${what} to ${to}: ${GEN_NAMES[r] ?? r}`,
        { icmpType: type, icmpCode: code, info, result: GEN_NAMES[r] ?? r },
      );
    }
    return r;
  }

  // ------------------------------------------------------------------ IPv4

  /**
   * The reply options for the packet at buf[l3..] (its header of `ihl`
   * bytes): -1 when the kernel would not answer, else the options length
   * (in this.ropt).
   */
  private replyOptions(b: Uint8Array, l3: number, ihl: number, specDst: number, saddr: number): number {
    this.ropt.clear();
    this.soptValid = false;
    if (ihl <= 20) return 0;
    if (!compileReceived(b, l3, ihl, this.sopt, specDst, this.isLocal4, this.env.nowMs)) return 0;
    this.soptValid = true;
    if (!echoOptions(this.sopt, this.ropt, saddr, this.isLocal4)) return -1;
    return this.ropt.optlen;
  }

  /** fib_compute_spec_dst for a received packet: its destination when local, else our source toward the sender. */
  private specDst4(daddr: number, saddr: number, inLink: number): number {
    const fib = this.env.fib;
    if (fib.isLocal4(daddr)) return daddr;
    const r = this.route;
    this.w[0] = saddr;
    this.w[1] = this.w[2] = this.w[3] = 0;
    if (saddr !== 0 && fib.lookup(4, this.w, 0, r) && r.src[0] !== 0) return r.src[0];
    return selectAddr4(fib, inLink, saddr);
  }

  /** __icmp_send(). */
  send4(type: number, code: number, info: number, quoteLen: number): number {
    const env = this.env;
    const cfg = this.stack.cfg;
    const skb = env.skb;
    const b = skb.buf;
    const l3 = skb.l3;
    if (skb.cap < 20) return Gen.REFUSED;
    const ihl = (b[l3] & 15) * 4;
    if (ihl < 20 || skb.cap < ihl) return Gen.REFUSED;
    if (this.stack.l2Group()) return Gen.REFUSED;
    const saddr = rd32(b, l3 + 12);
    const daddr = rd32(b, l3 + 16);
    if (daddr >>> 28 === 14 || cfg.isBroadcast4(daddr)) return Gen.REFUSED;
    if (rd16(b, l3 + 6) & 0x1fff) return Gen.REFUSED;
    const isError = isIcmpErrorType(type);
    if (isError && b[l3 + 9] === 1) {
      if (skb.cap < ihl + 1) return Gen.REFUSED;
      const it = b[l3 + ihl];
      if (it > NR_ICMP_TYPES || isIcmpErrorType(it)) return Gen.REFUSED;
    }
    const now = this.nowJ();
    const st = this.stack;
    let apply = false;
    if (!this.maskAllow4(type, code)) {
      if (!st.icmpGlobal.allow(now, cfg.icmpMsgsPerSec, cfg.icmpMsgsBurst)) return Gen.RATE_LIMITED;
      apply = true;
    }
    if (this.busy4) return Gen.REFUSED;
    this.busy4 = true;
    const r = this.build4(type, code, info, quoteLen, isError, saddr, daddr, apply, now);
    this.busy4 = false;
    return r;
  }

  /** icmpv4_mask_allow: true when the type is not rate limited. */
  private maskAllow4(type: number, code: number): boolean {
    if (type > NR_ICMP_TYPES) return true;
    if (type === 3 && code === 4) return true;
    return ((1 << type) & this.stack.cfg.icmpRatemask) === 0;
  }

  private build4(
    type: number,
    code: number,
    info: number,
    quoteLen: number,
    isError: boolean,
    saddr: number,
    daddr: number,
    apply: boolean,
    now: number,
  ): number {
    const env = this.env;
    const cfg = this.stack.cfg;
    const fib = env.fib;
    const skb = env.skb;
    const b = skb.buf;
    const l3 = skb.l3;
    const ihl = (b[l3] & 15) * 4;
    const local = !this.outputRoute && fib.isLocal4(daddr);
    let src = daddr;
    if (!local) {
      src = 0;
      if (skb.inLink >= 0 && cfg.errorsUseInboundIfaddr && !this.outputRoute)
        src = selectAddr4(fib, skb.inLink, saddr);
    }
    const tos = isError ? (b[l3 + 1] & 0x1e) | 0xc0 : b[l3 + 1];
    const optlen = this.replyOptions(
      b,
      l3,
      ihl,
      local ? daddr : this.specDst4(daddr, saddr, skb.inLink),
      saddr,
    );
    if (optlen < 0) return Gen.REFUSED;
    const fdst = this.ropt.srr ? this.ropt.faddr : saddr;
    // to 0.0.0.0 or 127/8 the output route is the loopback; to a group, nobody
    if (fdst === 0 || fdst >>> 24 === 127 || fdst >>> 28 >= 14 || cfg.isBroadcast4(fdst)) return Gen.REFUSED;
    const r = this.route;
    this.w[0] = fdst;
    this.w[1] = this.w[2] = this.w[3] = 0;
    if (!fib.lookup(4, this.w, 0, r)) return Gen.NO_ROUTE;
    if (r.local) return Gen.REFUSED;
    if (src === 0) src = r.src[0] !== 0 ? r.src[0] : INADDR_DUMMY;
    if (apply) {
      const peers = this.stack.peers4;
      const p = peers.get(this.w, 0, now);
      if (!peers.xrlimAllow(p, cfg.icmpRatelimitJ, now)) return Gen.RATE_LIMITED;
      this.stack.icmpGlobal.consume();
    }
    let room = Math.min(this.stack.pmtu.mtu(4, this.w, 0, r.mtu), 576);
    room -= 20 + optlen + 8;
    if (room <= 20) return Gen.REFUSED;
    const dataLen = Math.min(quoteLen, room);
    const m = this.buf;
    const hl = 20 + optlen;
    const total = hl + 8 + dataLen;
    this.ipv4Header(m, 0, hl, tos, total, 0, 1, src, fdst);
    if (optlen) buildOptions(m, 0, this.ropt, saddr, src, env.nowMs);
    m[10] = 0;
    m[11] = 0;
    wr16(m, 10, ipv4HeaderChecksum(m, 0));
    const ic = hl;
    m[ic] = type;
    m[ic + 1] = code;
    wr16(m, ic + 2, 0);
    wr32(m, ic + 4, info >>> 0);
    this.copyQuote(m, ic + 8, b, l3, dataLen, skb.cap);
    if (this.soptValid && skb.inLink >= 0) {
      // ip_rcv_options() wrote into the received header (record-route slot,
      // timestamps) before anything quoted it; its checksum stays as it was
      const d = this.sopt.data;
      const n = Math.min(ihl, dataLen);
      for (let i = 20; i < n; i++) m[ic + 8 + i] = d[i];
    }
    wr16(m, ic + 2, finish(sum16(m, ic, 8 + dataLen)));
    return this.transmit(m, 0, total, 4);
  }

  /** Writes an IPv4 header with a random ID and DF clear (the ICMP socket's pmtudisc "dont"). */
  private ipv4Header(
    m: Uint8Array,
    o: number,
    hl: number,
    tos: number,
    total: number,
    frag: number,
    proto: number,
    src: number,
    dst: number,
  ): void {
    m[o] = 0x40 | (hl >>> 2);
    m[o + 1] = tos;
    wr16(m, o + 2, total);
    wr16(m, o + 4, this.env.rng.next32() & 0xffff);
    wr16(m, o + 6, frag);
    m[o + 8] = this.stack.cfg.defaultTtl;
    m[o + 9] = proto;
    wr16(m, o + 10, 0);
    wr32(m, o + 12, src);
    wr32(m, o + 16, dst);
  }

  /** Copies `n` bytes of the offending packet (zeros for what the capture lacks). */
  private copyQuote(m: Uint8Array, at: number, b: Uint8Array, l3: number, n: number, cap: number): void {
    const have = Math.max(0, Math.min(n, cap));
    m.set(b.subarray(l3, l3 + have), at);
    if (have < n) m.fill(0, at + have, at + n);
  }

  private transmit(m: Uint8Array, l3: number, len: number, af: number): number {
    const r = this.stack.sendLocal(m, l3, len, af);
    if (r === Gen.SENT) this.sent++;
    return r;
  }

  /**
   * icmp_echo / icmp_timestamp + icmp_reply for the ICMP request in flight
   * (`ts`: a timestamp request). The caller checked the checksum and the
   * broadcast rules.
   */
  reply4(ts: boolean): number {
    const env = this.env;
    const cfg = this.stack.cfg;
    const fib = env.fib;
    const skb = env.skb;
    const b = skb.buf;
    const l3 = skb.l3;
    const ihl = (b[l3] & 15) * 4;
    const saddr = rd32(b, l3 + 12);
    const daddr = rd32(b, l3 + 16);
    const msgLen = skb.len - ihl;
    if (ts && msgLen < 8 + 4) return Gen.REFUSED;
    const type = ts ? 14 : 0;
    const now = this.nowJ();
    let apply = false;
    if (!this.maskAllow4(type, 0)) {
      if (!this.stack.icmpGlobal.allow(now, cfg.icmpMsgsPerSec, cfg.icmpMsgsBurst)) return Gen.RATE_LIMITED;
      apply = true;
    }
    if (this.busy4) return Gen.REFUSED;
    this.busy4 = true;
    let res: number = Gen.REFUSED;
    const specDst = fib.isLocal4(daddr) ? daddr : this.specDst4(daddr, saddr, skb.inLink);
    const optlen = this.replyOptions(b, l3, ihl, specDst, saddr);
    if (optlen >= 0) {
      const fdst = this.ropt.srr ? this.ropt.faddr : saddr;
      const r = this.route;
      this.w[0] = fdst;
      this.w[1] = this.w[2] = this.w[3] = 0;
      if (!fib.lookup(4, this.w, 0, r)) res = Gen.NO_ROUTE;
      else if (r.local) res = Gen.REFUSED;
      else {
        let ok = true;
        if (apply) {
          const p = this.stack.peers4.get(this.w, 0, now);
          ok = this.stack.peers4.xrlimAllow(p, cfg.icmpRatelimitJ, now);
          if (ok) this.stack.icmpGlobal.consume();
        }
        if (!ok) res = Gen.RATE_LIMITED;
        else {
          const m = this.buf;
          const hl = 20 + optlen;
          const dataLen = ts ? 12 : msgLen - 8;
          const total = hl + 8 + dataLen;
          this.ipv4Header(m, 0, hl, b[l3 + 1], total, 0, 1, specDst, fdst);
          if (optlen) buildOptions(m, 0, this.ropt, saddr, specDst, env.nowMs);
          wr16(m, 10, ipv4HeaderChecksum(m, 0));
          const ic = hl;
          const rq = l3 + ihl;
          m[ic] = type;
          m[ic + 1] = ts ? 0 : b[rq + 1];
          wr16(m, ic + 2, 0);
          for (let i = 4; i < 8; i++) m[ic + i] = b[rq + i];
          if (ts) {
            for (let i = 0; i < 4; i++) m[ic + 8 + i] = b[rq + 8 + i];
            const t = Math.floor(env.nowMs) % 86400000;
            wr32(m, ic + 12, t);
            wr32(m, ic + 16, t);
          } else {
            this.copyQuote(m, ic + 8, b, rq + 8, dataLen, skb.cap - ihl - 8);
          }
          wr16(m, ic + 2, finish(sum16(m, ic, 8 + dataLen)));
          res = this.transmit(m, 0, total, 4);
        }
      }
    }
    this.busy4 = false;
    return res;
  }

  // ------------------------------------------------------------------ IPv6

  /** icmpv6_mask_allow: true when the type is not rate limited (ratemask 0-1,3-127). */
  private maskAllow6(type: number): boolean {
    return type === 2 || type >= 128;
  }

  /** is_ineligible(): the packet is (or may be) an ICMPv6 error, or cut inside its extension headers. */
  private ineligible6(b: Uint8Array, l3: number, len: number, cap: number): boolean {
    let nh = b[l3 + 6];
    let p = 40;
    let fragOff = 0;
    const end = Math.min(len, cap);
    while (isExt6(nh)) {
      if (p + 8 > end) return false; // ipv6_skip_exthdr fails: eligible
      if (nh === 44) {
        fragOff = rd16(b, l3 + p + 2) & 0xfff8;
        nh = b[l3 + p];
        p += 8;
        if (fragOff !== 0) break;
        continue;
      }
      const hl = nh === 51 ? (b[l3 + p + 1] + 2) * 4 : (b[l3 + p + 1] + 1) * 8;
      nh = b[l3 + p];
      p += hl;
    }
    if (nh !== 58) return false;
    if (p >= end) return fragOff === 0;
    return (b[l3 + p] & 0x80) === 0;
  }

  /** icmp6_send(). */
  send6(type: number, code: number, info: number, quoteLen: number): number {
    const env = this.env;
    const cfg = this.stack.cfg;
    const fib = env.fib;
    const skb = env.skb;
    const b = skb.buf;
    const l3 = skb.l3;
    if (skb.cap < 40) return Gen.REFUSED;
    const d = this.dst6; // the offending packet's destination
    const s = this.src6; // ... and source, the message's destination
    for (let i = 0; i < 4; i++) {
      d[i] = rd32(b, l3 + 24 + 4 * i);
      s[i] = rd32(b, l3 + 8 + 4 * i);
    }
    let fromDst = fib.isLocal6(d, 0) || this.stack.isLinkLocalOurs(d, 0);
    if (d[0] >>> 24 === 0xff || this.stack.l2Group()) {
      const unrecOpt = type === 4 && code === 2 && info < skb.cap && (b[l3 + info] & 0xc0) === 0x80;
      if (type !== 2 && !unrecOpt) return Gen.REFUSED;
      fromDst = false;
    }
    if ((s[0] | s[1] | s[2] | s[3]) === 0 || s[0] >>> 24 === 0xff) return Gen.REFUSED;
    if (this.ineligible6(b, l3, skb.len, skb.cap)) return Gen.REFUSED;
    const now = this.nowJ();
    let apply = false;
    if (!this.maskAllow6(type)) {
      if (!this.stack.icmpGlobal.allow(now, cfg.icmpMsgsPerSec, cfg.icmpMsgsBurst)) return Gen.RATE_LIMITED;
      apply = true;
    }
    if (this.busy6) return Gen.REFUSED;
    this.busy6 = true;
    const res = this.build6(type, code, info, quoteLen, fromDst, apply, now, 0, true);
    this.busy6 = false;
    return res;
  }

  /**
   * Builds and sends an ICMPv6 message to this.src6 (the offending packet's
   * source), from this.dst6 when `fromDst`, else from a selected source.
   * Errors quote the packet in flight; an echo reply (`type` 129) carries
   * the request's data and traffic class `tclass`.
   */
  private build6(
    type: number,
    code: number,
    info: number,
    quoteLen: number,
    fromDst: boolean,
    apply: boolean,
    now: number,
    tclass: number,
    isError: boolean,
  ): number {
    const env = this.env;
    const cfg = this.stack.cfg;
    const fib = env.fib;
    const skb = env.skb;
    const to = this.src6;
    const r = this.route;
    if (!fib.lookup(6, to, 0, r)) return Gen.NO_ROUTE;
    if (r.local) return Gen.REFUSED;
    const m = this.buf;
    // source address into m[8..24)
    const src = this.w;
    if (fromDst) for (let i = 0; i < 4; i++) src[i] = this.dst6[i];
    else if (!selectAddr6(fib, cfg, skb.inLink >= 0 ? skb.inLink : r.link, to, 0, src)) return Gen.REFUSED;
    if (apply) {
      let tmo = cfg.icmp6RatelimitJ;
      if (r.plen < 128) tmo >>= (128 - r.plen) >> 5;
      const peers = this.stack.peers6;
      const p = peers.get(to, 0, now);
      if (!peers.xrlimAllow(p, tmo, now)) return Gen.RATE_LIMITED;
      this.stack.icmpGlobal.consume();
    }
    const b = skb.buf;
    const l3 = skb.l3;
    let dataLen: number;
    let from: number;
    let avail: number;
    if (isError) {
      dataLen = Math.min(quoteLen, 1280 - 40 - 8);
      from = l3;
      avail = skb.cap;
    } else {
      const rq = env.info.l4Off;
      dataLen = skb.len - (rq - l3) - 8;
      from = rq + 8;
      avail = skb.cap - (rq - l3) - 8;
    }
    const plen = 8 + dataLen;
    const flow = flowHash6(src, to, 58);
    wr32(m, 0, (0x60000000 | ((tclass & 0xff) << 20) | flow) >>> 0);
    wr16(m, 4, plen);
    m[6] = 58;
    m[7] = cfg.hopLimit;
    for (let i = 0; i < 4; i++) {
      wr32(m, 8 + 4 * i, src[i]);
      wr32(m, 24 + 4 * i, to[i]);
    }
    const ic = 40;
    m[ic] = type;
    m[ic + 1] = code;
    wr16(m, ic + 2, 0);
    if (isError) wr32(m, ic + 4, info >>> 0);
    else for (let i = 4; i < 8; i++) m[ic + i] = b[env.info.l4Off + i];
    this.copyQuote(m, ic + 8, b, from, dataLen, avail);
    wr16(m, ic + 2, finish(sum16(m, ic, plen, pseudo6Words(src, 0, to, 0, 58, plen))));
    return this.transmit(m, 0, 40 + plen, 6);
  }

  /** icmpv6_echo_reply for the echo request in flight (checksum checked by the caller). */
  reply6(): number {
    const env = this.env;
    const cfg = this.stack.cfg;
    const skb = env.skb;
    const b = skb.buf;
    const l3 = skb.l3;
    const d = this.dst6;
    const s = this.src6;
    for (let i = 0; i < 4; i++) {
      d[i] = rd32(b, l3 + 24 + 4 * i);
      s[i] = rd32(b, l3 + 8 + 4 * i);
    }
    const multicast = d[0] >>> 24 === 0xff;
    if (multicast && cfg.icmp6EchoIgnoreMulticast) return Gen.REFUSED;
    if ((s[0] | s[1] | s[2] | s[3]) === 0 || s[0] >>> 24 === 0xff) return Gen.REFUSED;
    const fromDst = !multicast;
    const tclass = ((rd32(b, l3) >>> 20) & 0xff) >>> 0;
    if (this.busy6) return Gen.REFUSED;
    this.busy6 = true;
    const res = this.build6(129, 0, 0, 0, fromDst, false, this.nowJ(), tclass, false);
    this.busy6 = false;
    return res;
  }
}

/**
 * The automatic IPv6 flow label of the director's own packets: the kernel
 * hashes the flow with a per-boot random key (the oracle masks the field);
 * here a fixed-seed hash of the addresses and the next header, 20 bits.
 */
export function flowHash6(src: Uint32Array, dst: Uint32Array, nh: number): number {
  let h = 0x2545f491 ^ nh;
  for (let i = 0; i < 4; i++) {
    h = Math.imul(h ^ src[i], 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 15) ^ dst[i], 0x85ebca77);
  }
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae3d);
  h ^= h >>> 16;
  // rol32(hash, 16) & IPV6_FLOWLABEL_MASK, as ip6_make_flowlabel
  return (((h << 16) | (h >>> 16)) & 0xfffff) >>> 0;
}
