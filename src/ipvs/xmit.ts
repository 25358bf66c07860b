/**
 * The transmitters of ip_vs_xmit.c, one per forwarding method, for IPv4 and
 * IPv6: direct routing (the packet goes to the real server's MAC unchanged
 * but for the TTL), NAT (destination address and port rewritten, checksums
 * updated incrementally; and the reverse source rewrite of replies), tunnel
 * (IPIP / IPv6-in-IPv6 / cross-family, GUE and GRE), bypass, plus the NAT
 * rewrite of ICMP errors. Each starts with __ip_vs_get_out_rt: route to the
 * real server, TTL decrement (ICMP time exceeded at 1), MTU check (ICMP
 * fragmentation needed / packet too big).
 *
 * Bytes are rewritten in place in the packet's buffer; the Ethernet header,
 * and a tunnel's outer headers, are built in `env.hdr` and sent in front of
 * the packet by the host stack's output (env.stack.output).
 */
import type { DirectorEnv } from './env.js';
import { Verdict, Hook, type VerdictValue } from './hooks.js';
import type { Ipvs } from './ctl.js';
import type { ConnTable } from './conn.js';
import { ConnFlag, type ConnOps } from './conn_ops.js';
import { Fwd, Proto, TunType, TunFlag, type Dest } from './service.js';
import { Fate, Reason } from './verdict.js';
import { IpOptions, compileReceived } from './stack/options.js';
import { TraceKind, fmtAddr, type Tracer } from './trace.js';
import { rd16, wr16, rd32, rd32i, wr32 } from '../wire/bytes.js';
import {
  sum16,
  finish,
  pseudo4,
  pseudo6Words,
  update16,
  update32,
  update128,
  ipv4HeaderChecksum,
  ipv4DecTtl,
  crc32c,
} from '../wire/checksum.js';

/** Route modes of __ip_vs_get_out_rt (IP_VS_RT_MODE_*). */
const RT_LOCAL = 1;
const RT_NON_LOCAL = 2;
const RT_RDR = 4;
const RT_CONNECT = 8;
const RT_KNOWN_NH = 16;
const RT_TUNNEL = 32;

const ICMP_DEST_UNREACH = 3;
const ICMP_HOST_UNREACH = 1;
const ICMP_FRAG_NEEDED = 4;
const ICMP_TIME_EXCEEDED = 11;
const ICMPV6_DEST_UNREACH = 1;
const ICMPV6_ADDR_UNREACH = 3;
const ICMPV6_PKT_TOOBIG = 2;
const ICMPV6_TIME_EXCEED = 3;

const IPPROTO_IPIP = 4;
const IPPROTO_IPV6 = 41;
const IPPROTO_UDP = 17;
const IPPROTO_GRE = 47;

/** Result codes of getOutRoute: the route is local (deliver to our own stack), usable, or failed (fate recorded). */
const RT_IS_LOCAL = 1;
const RT_OK = 0;
const RT_ERR = -1;

export class Xmit {
  private readonly env: DirectorEnv;
  private readonly conns: ConnTable;
  private readonly ops: ConnOps;
  private readonly daddr = new Uint32Array(4);
  private readonly vaddr = new Uint32Array(4);
  private readonly caddr = new Uint32Array(4);
  private readonly old = new Uint32Array(4);
  /** Source address the route chose (tunnel outer source). */
  private readonly saddr = new Uint32Array(4);

  /** Scratch for ip_rcv_options' in-place changes (see rcvOptions). */
  private readonly rcvOpt = new IpOptions();
  private readonly isLocal4 = (a: number): boolean => this.env.fib.isLocal4(a);

  constructor(env: DirectorEnv, ipvs: Ipvs, conns: ConnTable, ops: ConnOps) {
    this.env = env;
    void ipvs;
    this.conns = conns;
    this.ops = ops;
  }

  /** cp->packet_xmit: transmit the packet in flight on connection `cp`. `icmp`: it is an ICMP error related to the connection. */
  xmit(cp: number, icmp: boolean, hook: number): VerdictValue {
    const fwd = this.conns.flags[cp] & ConnFlag.FWD_MASK;
    switch (fwd) {
      case Fwd.DROUTE:
        return this.drXmit(cp, icmp);
      case Fwd.MASQ:
        return this.natXmit(cp, icmp);
      case Fwd.TUNNEL:
        return this.tunXmit(cp, icmp);
      case Fwd.BYPASS:
        return this.bypassXmit(icmp);
      default:
        // LOCALNODE: the packet goes to the director's own stack
        void hook;
        return Verdict.ACCEPT;
    }
  }

  // ----------------------------------------------------------------- routes

  /**
   * __ip_vs_get_out_rt(_v6): route to `daddr` (family `daf`), check crossing
   * between local and non-local routes, decrement the TTL / hop limit,
   * check the MTU. Leaves the route in env.route and the chosen source in
   * this.saddr. On failure the input frame's fate is recorded.
   */
  private getOutRoute(
    daf: number,
    dest: Dest | null,
    daddr: Uint32Array,
    rtMode: number,
    icmp: boolean,
    oldLocal: boolean,
  ): number {
    const { env } = this;
    const skb = env.skb;
    const r = env.route;
    if (!env.fib.lookup(daf, daddr, 0, r)) {
      // dst_link_failure: host unreachable to the sender
      const sent =
        skb.af === 4
          ? env.stack.icmpSend(ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0)
          : env.stack.icmpSend(ICMPV6_DEST_UNREACH, ICMPV6_ADDR_UNREACH, 0);
      env.setFate(sent ? Fate.ANSWERED : Fate.DROPPED, Reason.NO_ROUTE);
      return RT_ERR;
    }
    for (let i = 0; i < 4; i++) this.saddr[i] = r.src[i];
    if (r.local) {
      if (!(rtMode & RT_LOCAL) || (!(rtMode & RT_RDR) && !oldLocal)) {
        env.drop(Reason.NOT_HANDLED);
        return RT_ERR;
      }
      return RT_IS_LOCAL;
    }
    if (!(rtMode & RT_NON_LOCAL) || (skb.af === 4 && skb.buf[skb.l3 + 12] === 127)) {
      env.drop(Reason.NOT_HANDLED);
      return RT_ERR;
    }
    // decrement_ttl
    if (skb.af === 4) {
      if (skb.buf[skb.l3 + 8] <= 1) {
        if (env.tracer)
          env.tracer.step(TraceKind.XMIT, 'TTL is 1: ICMP time exceeded to the sender, nothing forwarded');
        const sent = env.stack.icmpSend(ICMP_TIME_EXCEEDED, 0, 0);
        env.setFate(sent ? Fate.ANSWERED : Fate.DROPPED, Reason.TTL_EXCEEDED);
        return RT_ERR;
      }
      ipv4DecTtl(skb.buf, skb.l3);
      if (env.tracer) traceTtl(env.tracer, skb.buf[skb.l3 + 8]);
    } else {
      if (skb.buf[skb.l3 + 7] <= 1) {
        const sent = env.stack.icmpSend(ICMPV6_TIME_EXCEED, 0, 0);
        env.setFate(sent ? Fate.ANSWERED : Fate.DROPPED, Reason.TTL_EXCEEDED);
        return RT_ERR;
      }
      skb.buf[skb.l3 + 7]--;
    }
    let mtu = env.stack.pathMtu(daf, daddr, 0, r);
    // the route cached for the real server (dest_dst) is refreshed at each transmit
    if (dest) dest.dstMtu = mtu;
    if (rtMode & RT_TUNNEL) {
      mtu -= daf === 4 ? 20 : 40;
      if (!dest) {
        env.drop(Reason.NOT_HANDLED);
        return RT_ERR;
      }
      if (dest.tunType === TunType.GUE) mtu -= 8 + 4;
      else if (dest.tunType === TunType.GRE) mtu -= dest.tunFlags & TunFlag.CSUM ? 8 : 4;
      if (mtu < (daf === 4 ? 68 : 1280)) {
        env.drop(Reason.MTU_EXCEEDED);
        return RT_ERR;
      }
    }
    // ensure_mtu_is_adequate (for the family of the packet itself)
    if (skb.af === 6) {
      const tooBig = skb.fragMaxSize ? skb.fragMaxSize > mtu : skb.len > mtu;
      if (tooBig) {
        let sent = false;
        const info = env.info;
        if (!(info.isFragment && info.fragOff > 0) && !icmp)
          sent = env.stack.icmpSend(ICMPV6_PKT_TOOBIG, 0, mtu);
        env.setFate(sent ? Fate.ANSWERED : Fate.DROPPED, Reason.FRAG_NEEDED);
        return RT_ERR;
      }
    } else {
      if (!(rtMode & RT_TUNNEL) || this.env.sysctl.pmtuDisc) {
        const df = (skb.buf[skb.l3 + 6] & 0x40) !== 0;
        if (df && skb.len > mtu && !icmp) {
          if (env.tracer)
            env.tracer.step(
              TraceKind.XMIT,
              `${skb.len}-byte packet with DF over the MTU ${mtu}${rtMode & RT_TUNNEL ? ' (route MTU minus the tunnel headers)' : ''}: ICMP fragmentation needed`,
              { mtu },
            );
          const sent = env.stack.icmpSend(ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu);
          env.setFate(sent ? Fate.ANSWERED : Fate.DROPPED, Reason.FRAG_NEEDED);
          return RT_ERR;
        }
      }
    }
    return RT_OK;
  }

  /** Sends the packet in flight out of env.route (IPVS marked it, so later hooks leave it), counting it as forwarded. */
  private send(hdrLen: number): VerdictValue {
    const { env } = this;
    env.skb.ipvsProperty = true;
    env.stack.output(env.route, env.hdr, 0, hdrLen);
    env.forwarded();
    return Verdict.STOLEN;
  }

  private destOf(cp: number): Dest | null {
    return this.ops.dest(cp);
  }

  /**
   * ip_rcv_options: on a received IPv4 packet with options, the kernel's
   * __ip_options_compile writes into the packet itself — the record-route
   * slot gets the receiving address (for a packet to the VIP: the VIP),
   * timestamps the time, bytes after an end-of-options become END — without
   * fixing the header checksum; the transmitter's ip_send_check does. IPVS
   * forwards the packet so changed. Returns true when the header has options
   * (the caller then recomputes the checksum in full).
   */
  private rcvOptions(): boolean {
    const env = this.env;
    const skb = env.skb;
    if (skb.af !== 4) return false;
    const b = skb.buf;
    const l3 = skb.l3;
    const ihl = (b[l3] & 15) * 4;
    if (ihl <= 20) return false;
    if (skb.inLink < 0 || skb.cap < ihl) return true;
    const o = this.rcvOpt;
    if (compileReceived(b, l3, ihl, o, rd32(b, l3 + 16), this.isLocal4, env.nowMs)) {
      const d = o.data;
      for (let i = 20; i < ihl; i++) b[l3 + i] = d[i];
    }
    return true;
  }

  // ------------------------------------------------------------------ DR

  /** ip_vs_dr_xmit(_v6). */
  private drXmit(cp: number, icmp: boolean): VerdictValue {
    const { env, conns } = this;
    const opts = this.rcvOptions();
    conns.getDaddr(cp, this.daddr);
    const r = this.getOutRoute(
      conns.dafOf(cp),
      this.destOf(cp),
      this.daddr,
      RT_LOCAL | RT_NON_LOCAL | RT_KNOWN_NH,
      icmp,
      true,
    );
    if (r === RT_ERR) return Verdict.STOLEN;
    if (r === RT_IS_LOCAL) return Verdict.ACCEPT;
    // ip_send_check(): without options the header is the one ip_rcv verified
    // with only its TTL decremented by ipv4DecTtl, whose incremental result
    // equals the full recomputation for a correct header (wire/checksum.ts),
    // so only a header whose options changed needs it
    if (opts) ipv4SendCheck(env.skb.buf, env.skb.l3);
    if (env.tracer) this.traceDr(env.tracer, cp);
    return this.send(0);
  }

  // ------------------------------------------------------------------ NAT

  /** ip_vs_nat_xmit(_v6): destination rewrite toward the real server. */
  private natXmit(cp: number, icmp: boolean): VerdictValue {
    const { env, conns } = this;
    const skb = env.skb;
    const info = env.info;
    const opts = this.rcvOptions();
    if (conns.flags[cp] & ConnFlag.NO_CPORT && !(info.isFragment && info.fragOff > 0) && info.l4Cap >= 2)
      conns.fillCport(cp, info.sport);
    conns.getDaddr(cp, this.daddr);
    const r = this.getOutRoute(
      skb.af,
      this.destOf(cp),
      this.daddr,
      RT_LOCAL | RT_NON_LOCAL | RT_RDR,
      icmp,
      true,
    );
    if (r === RT_ERR) return Verdict.STOLEN;
    if (r === RT_IS_LOCAL && this.isLoopback(skb.af, this.daddr)) {
      env.drop(Reason.NOT_HANDLED);
      return Verdict.STOLEN;
    }
    if (!this.dnat(cp)) {
      env.drop(Reason.HEADER_NOT_CAPTURED);
      return Verdict.STOLEN;
    }
    this.writeDaddr(skb.af, this.daddr);
    if (opts) ipv4SendCheck(skb.buf, skb.l3);
    if (env.tracer) this.traceNat(env.tracer, cp);
    if (r === RT_IS_LOCAL) return Verdict.ACCEPT;
    return this.send(0);
  }

  private isLoopback(af: number, a: Uint32Array): boolean {
    if (af === 4) return a[0] >>> 24 === 127;
    return a[0] === 0 && a[1] === 0 && a[2] === 0 && a[3] === 1;
  }

  /**
   * Writes the packet's destination address. IPv4: the kernel recomputes the
   * header checksum (ip_send_check); the header it rewrites always checks
   * (verified by ip_rcv or built by the director, then changed only by
   * ipv4DecTtl), and for such a header the RFC 1624 update of the address
   * change gives exactly the full recomputation (wire/checksum.ts).
   */
  private writeDaddr(af: number, a: Uint32Array): void {
    const skb = this.env.skb;
    const b = skb.buf;
    if (af === 4) {
      const o = skb.l3 + 16;
      wr16(b, skb.l3 + 10, update32(rd16(b, skb.l3 + 10), rd32i(b, o), a[0] | 0));
      wr32(b, o, a[0]);
    } else {
      for (let i = 0; i < 4; i++) wr32(b, skb.l3 + 24 + 4 * i, a[i]);
    }
  }

  /** Writes the packet's source address (IPv4: the header checksum updated as in writeDaddr). */
  private writeSaddr(af: number, a: Uint32Array): void {
    const skb = this.env.skb;
    const b = skb.buf;
    if (af === 4) {
      const o = skb.l3 + 12;
      wr16(b, skb.l3 + 10, update32(rd16(b, skb.l3 + 10), rd32i(b, o), a[0] | 0));
      wr32(b, o, a[0]);
    } else {
      for (let i = 0; i < 4; i++) wr32(b, skb.l3 + 8 + 4 * i, a[i]);
    }
  }

  /**
   * The protocols' dnat_handler: destination port -> real server port, the
   * transport checksum updated for the address and port change (TCP, UDP
   * with a checksum: incrementally; UDP without one: computed; SCTP: CRC32c
   * recomputed when the port changes). False when the header is missing.
   */
  private dnat(cp: number): boolean {
    const { conns } = this;
    conns.getVaddr(cp, this.vaddr);
    conns.getDaddr(cp, this.daddr);
    return this.rewriteL4(cp, false, this.vaddr, this.daddr, conns.vportOf(cp), conns.dportOf(cp));
  }

  /**
   * handle_response's source NAT of a real server's reply (snat_handler +
   * saddr rewrite). False when the transport header is missing.
   */
  snat(cp: number): boolean {
    const { conns, env } = this;
    conns.getDaddr(cp, this.daddr);
    conns.getVaddr(cp, this.vaddr);
    if (!this.rewriteL4(cp, true, this.daddr, this.vaddr, conns.dportOf(cp), conns.vportOf(cp))) return false;
    this.writeSaddr(env.skb.af, this.vaddr);
    return true;
  }

  /** Port and checksum rewrite shared by dnat (`src` false: destination port) and snat (`src` true: source port). */
  private rewriteL4(
    cp: number,
    src: boolean,
    oldAddr: Uint32Array,
    newAddr: Uint32Array,
    oldPort: number,
    newPort: number,
  ): boolean {
    const { env, conns } = this;
    const skb = env.skb;
    const info = env.info;
    const af = skb.af;
    if (af === 6 && info.isFragment && info.fragOff > 0) return true;
    const b = skb.buf;
    const l4 = info.l4Off;
    const end = skb.l3 + skb.cap;
    const portOff = l4 + (src ? 0 : 2);
    const proto = conns.protoOf(cp);
    if (proto === Proto.TCP) {
      if (info.l4Len < 20 || l4 + 18 > end) return false;
      wr16(b, portOff, newPort);
      let c = rd16(b, l4 + 16);
      c = update16(c, oldPort, newPort);
      c = af === 4 ? update32(c, oldAddr[0] | 0, newAddr[0] | 0) : update128(c, oldAddr, 0, newAddr, 0);
      wr16(b, l4 + 16, c);
      return true;
    }
    if (proto === Proto.UDP) {
      if (info.l4Len < 8 || l4 + 8 > end) return false;
      wr16(b, portOff, newPort);
      const old = rd16(b, l4 + 6);
      if (old !== 0) {
        let c = update16(old, oldPort, newPort);
        c = af === 4 ? update32(c, oldAddr[0] | 0, newAddr[0] | 0) : update128(c, oldAddr, 0, newAddr, 0);
        wr16(b, l4 + 6, c === 0 ? 0xffff : c);
      } else {
        // no checksum: the kernel computes a full one (over what the capture holds)
        wr16(b, l4 + 6, 0);
        const sAddr = src ? newAddr : info.saddr;
        const dAddr = src ? info.daddr : newAddr;
        const len = info.l4Len;
        const avail = Math.min(len, end - l4);
        const acc =
          af === 4
            ? pseudo4(sAddr[0], dAddr[0], IPPROTO_UDP, len)
            : pseudo6Words(sAddr, 0, dAddr, 0, IPPROTO_UDP, len);
        const c = finish(sum16(b, l4, avail, acc));
        wr16(b, l4 + 6, c === 0 ? 0xffff : c);
      }
      return true;
    }
    if (proto === Proto.SCTP) {
      if (info.l4Len < 12 || l4 + 12 > end) return false;
      if (rd16(b, portOff) !== newPort) {
        wr16(b, portOff, newPort);
        const avail = Math.min(info.l4Len, end - l4);
        wr32(b, l4 + 8, 0);
        const crc = crc32c(b, l4, avail);
        // the SCTP checksum is stored little-endian
        b[l4 + 8] = crc & 255;
        b[l4 + 9] = (crc >>> 8) & 255;
        b[l4 + 10] = (crc >>> 16) & 255;
        b[l4 + 11] = crc >>> 24;
      }
      return true;
    }
    return true;
  }

  // ------------------------------------------------------------------ TUN

  /**
   * ip_vs_tunnel_xmit(_v6): encapsulate the packet (IPIP, IPv6-in-IPv6 or
   * across families; GUE or GRE when configured) toward the real server.
   */
  private tunXmit(cp: number, icmp: boolean): VerdictValue {
    const { env, conns } = this;
    const skb = env.skb;
    const opts = this.rcvOptions();
    const dest = this.destOf(cp);
    const daf = conns.dafOf(cp);
    conns.getDaddr(cp, this.daddr);
    const mode = RT_LOCAL | RT_NON_LOCAL | RT_TUNNEL | (daf === 4 ? RT_CONNECT : 0);
    const r = this.getOutRoute(daf, dest, this.daddr, mode, icmp, true);
    if (r === RT_ERR) return Verdict.STOLEN;
    if (r === RT_IS_LOCAL) return Verdict.ACCEPT;
    if (!dest) {
      env.drop(Reason.NOT_HANDLED);
      return Verdict.STOLEN;
    }
    const b = skb.buf;
    const l3 = skb.l3;
    // ip_vs_prepare_tunneled_skb: inner header facts
    let nextProto: number;
    let dsfield: number;
    let ttl: number;
    let df = 0;
    if (skb.af === 4) {
      nextProto = IPPROTO_IPIP;
      if (env.sysctl.pmtuDisc) df = b[l3 + 6] & 0x40;
      // the inner header's ip_send_check: already right unless options changed (see drXmit)
      if (opts) ipv4SendCheck(b, l3);
      dsfield = b[l3 + 1];
      ttl = b[l3 + 8];
    } else {
      nextProto = IPPROTO_IPV6;
      dsfield = ((b[l3] & 15) << 4) | (b[l3 + 1] >> 4);
      ttl = b[l3 + 7];
    }
    // INET_ECN_encapsulate: keep the DSCP, carry ECT, turn CE into ECT(0)
    const ecn = dsfield & 3;
    dsfield = (dsfield & ~3) | (ecn === 3 ? 2 : ecn);

    const h = env.hdr;
    const outer = 14; // Ethernet header goes in h[0..14)
    const ohl = daf === 4 ? 20 : 40;
    const o = outer + ohl;
    let encap = 0;
    if (dest.tunType === TunType.GUE) {
      const gueProto = nextProto;
      nextProto = IPPROTO_UDP;
      const udpLen = 8 + 4 + skb.len;
      wr16(h, o, this.gueSourcePort());
      wr16(h, o + 2, dest.tunPort);
      wr16(h, o + 4, udpLen);
      wr16(h, o + 6, 0);
      h[o + 8] = 0; // version 0, C 0, hlen 0
      h[o + 9] = gueProto;
      wr16(h, o + 10, 0);
      encap = 12;
    } else if (dest.tunType === TunType.GRE) {
      const csum = (dest.tunFlags & TunFlag.CSUM) !== 0;
      wr16(h, o, csum ? 0x8000 : 0);
      wr16(h, o + 2, nextProto === IPPROTO_IPIP ? 0x0800 : 0x86dd);
      encap = 4;
      if (csum) {
        wr32(h, o + 4, 0);
        encap = 8;
      }
      nextProto = IPPROTO_GRE;
    }
    const total = ohl + encap + skb.len;
    // outer header
    if (daf === 4) {
      const i = outer;
      h[i] = 0x45;
      h[i + 1] = dsfield;
      wr16(h, i + 2, total);
      wr16(h, i + 4, df ? 0 : this.env.rng.next32() & 0xffff);
      wr16(h, i + 6, df ? 0x4000 : 0);
      h[i + 8] = ttl;
      h[i + 9] = nextProto;
      wr16(h, i + 10, 0);
      wr32(h, i + 12, this.saddr[0]);
      wr32(h, i + 16, this.daddr[0]);
      wr16(h, i + 10, ipv4HeaderChecksum(h, i));
    } else {
      const i = outer;
      h[i] = 0x60 | (dsfield >> 4);
      h[i + 1] = (dsfield & 15) << 4;
      h[i + 2] = 0;
      h[i + 3] = 0;
      wr16(h, i + 4, total - 40);
      h[i + 6] = nextProto;
      h[i + 7] = ttl;
      for (let k = 0; k < 4; k++) {
        wr32(h, i + 8 + 4 * k, this.saddr[k]);
        wr32(h, i + 24 + 4 * k, this.daddr[k]);
      }
    }
    // transport checksums of the encapsulation (over what the capture holds)
    const avail = skb.cap;
    if (dest.tunType === TunType.GUE && dest.tunFlags & (TunFlag.CSUM | TunFlag.REMCSUM)) {
      const u = outer + ohl;
      const len = 12 + skb.len;
      let acc =
        daf === 4
          ? pseudo4(this.saddr[0], this.daddr[0], IPPROTO_UDP, len)
          : pseudo6Words(this.saddr, 0, this.daddr, 0, IPPROTO_UDP, len);
      acc = sum16(h, u, 12, acc);
      acc = sum16(b, l3, avail, acc);
      const c = finish(acc);
      wr16(h, u + 6, c === 0 ? 0xffff : c);
    } else if (dest.tunType === TunType.GRE && dest.tunFlags & TunFlag.CSUM) {
      const g = outer + ohl;
      let acc = sum16(h, g, 8, 0);
      acc = sum16(b, l3, avail, acc);
      wr16(h, g + 4, finish(acc));
    }
    skb.ipvsProperty = true;
    if (env.tracer) this.traceTun(env.tracer, dest, daf, skb.af, ttl, dsfield, df);
    // the stack writes the Ethernet header into h[0..14) and sends h[14..] + packet
    env.stack.output(env.route, h, outer, ohl + encap);
    env.forwarded();
    return Verdict.STOLEN;
  }

  /**
   * The GUE outer source port. The kernel takes udp_flow_src_port(): a hash
   * of the inner flow with a per-boot random seed, scaled into the local port
   * range; the simulator hashes the inner addresses and ports with a fixed
   * seed into the same range 32768-60999 (the oracle comparison masks it).
   */
  private gueSourcePort(): number {
    const info = this.env.info;
    let h = 0x9e3779b9;
    for (let i = 0; i < 4; i++) {
      h = Math.imul(h ^ info.saddr[i], 0x85ebca6b) >>> 0;
      h = Math.imul(h ^ info.daddr[i], 0xc2b2ae35) >>> 0;
    }
    h = Math.imul(h ^ ((info.sport << 16) | info.dport), 0x27d4eb2d) >>> 0;
    h ^= h >>> 15;
    return 32768 + Math.floor(((h >>> 0) * (60999 - 32768)) / 4294967296);
  }

  // ------------------------------------------------------------------ bypass

  /** ip_vs_bypass_xmit(_v6): forward to the packet's own destination. */
  private bypassXmit(icmp: boolean): VerdictValue {
    const { env } = this;
    const skb = env.skb;
    const info = env.info;
    this.rcvOptions();
    const r = this.getOutRoute(skb.af, null, info.daddr, RT_NON_LOCAL, icmp, true);
    if (r !== RT_OK) return Verdict.STOLEN;
    if (skb.af === 4) ipv4SendCheck(skb.buf, skb.l3);
    return this.send(0);
  }

  // ------------------------------------------------------------------ ICMP

  /**
   * ip_vs_icmp_xmit(_v6): an ICMP error about connection `cp` arriving from
   * the client side. DR/TUN forward it to the real server as is; NAT routes
   * it to the real server and rewrites the quoted packet to what the real
   * server sent (source = real server address and port).
   */
  icmpXmit(cp: number, hook: number, quotedOff: number): VerdictValue {
    const { env, conns } = this;
    const skb = env.skb;
    if ((conns.flags[cp] & ConnFlag.FWD_MASK) !== Fwd.MASQ) return this.xmit(cp, true, hook);
    const rtMode = hook !== Hook.FORWARD ? RT_LOCAL | RT_NON_LOCAL | RT_RDR : RT_NON_LOCAL;
    conns.getDaddr(cp, this.daddr);
    const r = this.getOutRoute(skb.af, this.destOf(cp), this.daddr, rtMode, true, hook !== Hook.FORWARD);
    if (r === RT_ERR) return Verdict.STOLEN;
    if (r === RT_IS_LOCAL && this.isLoopback(skb.af, this.daddr)) {
      env.drop(Reason.NOT_HANDLED);
      return Verdict.STOLEN;
    }
    this.natIcmp(cp, false, quotedOff);
    if (r === RT_IS_LOCAL) return Verdict.ACCEPT;
    return this.send(0);
  }

  /**
   * ip_vs_nat_icmp(_v6): rewrite an ICMP error for NAT. `inout` (a real
   * server's error going to the client): outer source and quoted destination
   * become the virtual address and port. Otherwise (a client's error going to
   * the real server): outer destination and quoted source become the real
   * server's. The IPv4 headers' checksums and the ICMP checksum are computed
   * again; the quoted transport checksum is left alone, as in the kernel.
   */
  natIcmp(cp: number, inout: boolean, quotedOff: number): void {
    const { env, conns } = this;
    const skb = env.skb;
    const info = env.info;
    const b = skb.buf;
    const af = skb.af;
    const q = quotedOff;
    const end = skb.l3 + skb.cap;
    conns.getVaddr(cp, this.vaddr);
    conns.getDaddr(cp, this.daddr);
    const icmpOff = info.l4Off;
    const oldCsum = rd16(b, icmpOff + 2);
    // remember the bytes that change, for an incremental ICMP checksum when the capture is truncated
    const truncated = skb.cap < skb.len;
    let acc = 0;
    if (af === 4) {
      if (inout) {
        this.writeSaddr(4, this.vaddr);
        acc = this.replaceWord(b, q + 16, this.vaddr[0], acc);
        const oldQ = rd16(b, q + 10);
        ipv4SendCheck(b, q);
        acc = this.diff16(oldQ, rd16(b, q + 10), acc);
      } else {
        this.writeDaddr(4, this.daddr);
        acc = this.replaceWord(b, q + 12, this.daddr[0], acc);
        const oldQ = rd16(b, q + 10);
        ipv4SendCheck(b, q);
        acc = this.diff16(oldQ, rd16(b, q + 10), acc);
      }
      const cproto = b[q + 9];
      const ports = q + (b[q] & 15) * 4;
      if ((cproto === Proto.TCP || cproto === Proto.UDP || cproto === Proto.SCTP) && ports + 4 <= end) {
        if (inout) acc = this.replace16(b, ports + 2, conns.vportOf(cp), acc);
        else acc = this.replace16(b, ports, conns.dportOf(cp), acc);
      }
      if (truncated) {
        wr16(b, icmpOff + 2, finish(acc + (~oldCsum & 0xffff)));
      } else {
        wr16(b, icmpOff + 2, 0);
        wr16(b, icmpOff + 2, finish(sum16(b, icmpOff, info.l4Len, 0)));
      }
      return;
    }
    // IPv6
    const cinfo = env.cinfo;
    if (inout) {
      this.writeSaddr(6, this.vaddr);
      for (let i = 0; i < 4; i++) wr32(b, q + 24 + 4 * i, this.vaddr[i]);
    } else {
      this.writeDaddr(6, this.daddr);
      for (let i = 0; i < 4; i++) wr32(b, q + 8 + 4 * i, this.daddr[i]);
    }
    const cp2 = cinfo.proto;
    if (
      !(cinfo.isFragment && cinfo.fragOff > 0) &&
      (cp2 === Proto.TCP || cp2 === Proto.UDP || cp2 === Proto.SCTP)
    ) {
      const ports = cinfo.l4Off;
      if (ports + 4 <= end) {
        if (inout) wr16(b, ports + 2, conns.vportOf(cp));
        else wr16(b, ports, conns.dportOf(cp));
      }
    }
    // ICMPv6 checksum over the message with the pseudo-header (what the capture holds)
    wr16(b, icmpOff + 2, 0);
    const saddrO = skb.l3 + 8;
    const daddrO = skb.l3 + 24;
    for (let i = 0; i < 4; i++) {
      this.old[i] = rd32i(b, saddrO + 4 * i);
      this.caddr[i] = rd32i(b, daddrO + 4 * i);
    }
    const len = skb.len - (icmpOff - skb.l3);
    const avail = Math.min(len, end - icmpOff);
    wr16(b, icmpOff + 2, finish(sum16(b, icmpOff, avail, pseudo6Words(this.old, 0, this.caddr, 0, 58, len))));
  }

  /** Writes a 32-bit word, accumulating the ones'-complement difference for an incremental checksum. */
  private replaceWord(b: Uint8Array, o: number, v: number, acc: number): number {
    const oldHi = rd16(b, o);
    const oldLo = rd16(b, o + 2);
    wr32(b, o, v);
    acc = this.diff16(oldHi, v >>> 16, acc);
    return this.diff16(oldLo, v & 0xffff, acc);
  }

  private replace16(b: Uint8Array, o: number, v: number, acc: number): number {
    const old = rd16(b, o);
    wr16(b, o, v);
    return this.diff16(old, v, acc);
  }

  private diff16(oldV: number, newV: number, acc: number): number {
    return acc + (~oldV & 0xffff) + newV;
  }

  // ------------------------------------------------------------------ trace text
  // built out of line, so that the transmitters stay small enough for V8 to
  // inline (bench/suites/explain.ts measures the trace points with tracing off)

  private traceDr(tr: Tracer, cp: number): void {
    const dest = fmtAddr(this.conns.dafOf(cp), this.daddr);
    tr.step(
      TraceKind.XMIT,
      `DR: the packet goes to real server ${dest} unchanged (destination still the VIP); only the Ethernet addresses change`,
      { method: 'DR', dest },
    );
  }

  private traceNat(tr: Tracer, cp: number): void {
    const af = this.env.skb.af;
    tr.step(
      TraceKind.XMIT,
      `NAT: destination ${fmtAddr(af, this.vaddr, this.conns.vportOf(cp))} → ${fmtAddr(af, this.daddr, this.conns.dportOf(cp))}; transport checksum updated incrementally${af === 4 ? ', IP header checksum recomputed' : ''}`,
      { method: 'NAT' },
    );
  }

  private traceTun(
    tr: Tracer,
    dest: Dest,
    daf: number,
    af: number,
    ttl: number,
    dsfield: number,
    df: number,
  ): void {
    const kind =
      dest.tunType === TunType.GUE
        ? 'GUE (UDP)'
        : dest.tunType === TunType.GRE
          ? 'GRE'
          : daf === 4
            ? af === 4
              ? 'IPIP'
              : 'IPv6-in-IPv4'
            : af === 6
              ? 'IPv6-in-IPv6'
              : 'IPv4-in-IPv6';
    tr.step(
      TraceKind.XMIT,
      `TUN: encapsulated in ${kind}: outer ${fmtAddr(daf, this.saddr)} → ${fmtAddr(daf, this.daddr)}, TTL ${ttl} (inner TTL after its decrement), TOS 0x${dsfield.toString(16)}${daf === 4 ? `, DF ${df ? 1 : 0}` : ''}`,
      { method: 'TUN', tunnel: kind },
    );
  }
}

/** ip_send_check: recompute an IPv4 header's checksum in full. */
export function ipv4SendCheck(b: Uint8Array, l3: number): void {
  wr16(b, l3 + 10, 0);
  wr16(b, l3 + 10, ipv4HeaderChecksum(b, l3));
}

export { rd32 };

function traceTtl(tr: Tracer, ttl: number): void {
  tr.step(TraceKind.XMIT, `TTL ${ttl + 1} → ${ttl} (checksum updated incrementally)`);
}
