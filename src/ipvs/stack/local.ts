/**
 * Local delivery of a packet LOCAL_IN accepted — ip_local_deliver_finish /
 * ip6_input_finish and the protocols of a director that runs no servers:
 *
 * - TCP (tcp_v4_rcv / tcp_v6_rcv): not for a link-layer broadcast; a bad
 *   header is dropped; the checksum is verified (a bad one is dropped
 *   silently); no socket listens, so every segment but a RST is answered
 *   with a reset (tcp_reset.ts).
 * - UDP (__udp4_lib_rcv / __udp6_lib_rcv): bad length dropped; checksum
 *   verified (IPv4: 0 = none; IPv6: 0 is invalid); to a broadcast /
 *   multicast address silently consumed; otherwise ICMP port unreachable.
 * - ICMP (icmp_rcv): checksum verified; echo request → echo reply,
 *   timestamp → timestamp reply (broadcasts ignored with
 *   icmp_echo_ignore_broadcasts); anything else consumed.
 * - ICMPv6 (icmpv6_rcv, ndisc_rcv): echo request → echo reply; neighbour
 *   solicitation for one of the link's addresses → neighbour advertisement;
 *   advertisements update the neighbour table; router solicitations /
 *   advertisements, redirects, MLD and errors are consumed.
 * - IGMP and IPv6 "no next header" are consumed; any other protocol gets
 *   ICMP protocol unreachable (IPv6: parameter problem, unrecognised next
 *   header, pointing at the next-header field).
 * - A multicast packet to a group the director has not joined, and a
 *   broadcast nobody answers: delivered locally without answer (`broadcast`).
 *
 * Every outcome records the input frame's fate.
 */
import type { DirectorEnv } from '../env.js';
import { TraceKind } from '../trace.js';
import type { HostStack } from './stack.js';
import { Fate, Reason } from '../verdict.js';
import { Gen } from './icmp.js';
import { Hook } from '../hooks.js';
import { joinedGroup6 } from './addrsel.js';
import { rd16 } from '../../wire/bytes.js';
import { fold, sum16, pseudo4, pseudo6Words } from '../../wire/checksum.js';
import { WireReason } from '../../wire/reasons.js';

const IPPROTO_ICMP = 1;
const IPPROTO_IGMP = 2;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_ICMPV6 = 58;
const IPPROTO_NONE = 59;
const IPPROTO_UDPLITE = 136;

export class LocalDelivery {
  private readonly env: DirectorEnv;
  private readonly stack: HostStack;

  constructor(env: DirectorEnv, stack: HostStack) {
    this.env = env;
    this.stack = stack;
  }

  /** Records an answered / dropped fate from a Gen result. */
  private answered(r: number, reason: number): void {
    const env = this.env;
    if (r === Gen.SENT) env.setFate(Fate.ANSWERED, reason);
    else if (r === Gen.RATE_LIMITED) env.drop(Reason.ICMP_RATE_LIMITED);
    else if (r === Gen.UNRESOLVED) env.drop(Reason.NEIGHBOUR_UNRESOLVED);
    else if (r === Gen.NO_ROUTE) env.drop(Reason.NO_ROUTE);
    else env.drop(Reason.NOT_HANDLED);
  }

  /** An ICMP error answer: sent → answered, refused (broadcast …) → local without answer. */
  private errorAnswer(r: number, reason: number): void {
    if (r === Gen.REFUSED) this.env.setFate(Fate.LOCAL, Reason.BROADCAST);
    else this.answered(r, reason);
  }

  deliver(): void {
    const env = this.env;
    const skb = env.skb;
    const info = env.info;
    if (skb.af === 6 && info.isFragment) {
      // ipv6_frag_rcv (no IPv6 service: nf_defrag_ipv6 did not run)
      if (!this.stack.frag.gather6(true)) return;
    } else if (skb.af === 4 && info.isFragment) {
      if (!this.stack.frag.gather4(Hook.LOCAL_IN)) return;
    }
    if (skb.af === 4) this.deliver4();
    else this.deliver6();
  }

  // ------------------------------------------------------------------ IPv4

  private deliver4(): void {
    const env = this.env;
    const info = env.info;
    const cfg = this.stack.cfg;
    const d = info.daddr[0] >>> 0;
    const multicast = d >>> 28 === 14;
    const bcast = cfg.isBroadcast4(d);
    if (multicast && d !== 0xe0000001) {
      env.setFate(Fate.LOCAL, Reason.BROADCAST);
      return;
    }
    const routeGroup = multicast || bcast;
    const l2group = this.stack.l2Group();
    switch (info.proto) {
      case IPPROTO_TCP:
        if (routeGroup || l2group) return env.setFate(Fate.LOCAL, Reason.BROADCAST);
        return this.tcp();
      case IPPROTO_UDP:
      case IPPROTO_UDPLITE:
        return this.udp(routeGroup);
      case IPPROTO_ICMP:
        return this.icmp4(routeGroup);
      case IPPROTO_IGMP:
        return env.setFate(Fate.LOCAL, Reason.LOCAL_OTHER);
      default: {
        if (routeGroup) return env.setFate(Fate.LOCAL, Reason.BROADCAST);
        const r = this.stack.icmp.sendError(3, 2, 0);
        return this.errorAnswer(r, Reason.ICMP_PROTO_UNREACHABLE);
      }
    }
  }

  /** The L4 message is wholly in the capture (otherwise its checksum cannot be checked: trusted). */
  private whole(): boolean {
    const skb = this.env.skb;
    return skb.cap >= skb.len;
  }

  private tcp(): void {
    const env = this.env;
    const skb = env.skb;
    const info = env.info;
    if (info.l4Reason === WireReason.TCP_BAD_DATA_OFFSET) {
      env.fates.malformed[info.l4Reason]++;
      return env.drop(Reason.MALFORMED);
    }
    if (info.l4Cap < 20 || info.l4Len < 20) return env.drop(Reason.HEADER_NOT_CAPTURED);
    if (this.whole()) {
      const len = info.l4Len;
      const acc =
        skb.af === 4
          ? pseudo4(info.saddr[0], info.daddr[0], IPPROTO_TCP, len)
          : pseudo6Words(info.saddr, 0, info.daddr, 0, IPPROTO_TCP, len);
      if (fold(sum16(skb.buf, info.l4Off, len, acc)) !== 0xffff) return env.drop(Reason.L4_BAD_CHECKSUM);
    }
    if (info.tcpFlags & 0x04) return env.setFate(Fate.LOCAL, Reason.LOCAL_TCP_RESET);
    const r = this.stack.reset.send();
    if (env.tracer)
      env.tracer.step(
        TraceKind.LOCAL,
        `local delivery: no socket listens on TCP port ${info.dport}: ${r === Gen.SENT ? 'the director answers RST' : 'no RST could be sent'}`,
        { port: info.dport, rst: r === Gen.SENT },
      );
    this.answered(r, Reason.TCP_RESET);
  }

  private udp(group: boolean): void {
    const env = this.env;
    const skb = env.skb;
    const info = env.info;
    const isLite = info.proto === IPPROTO_UDPLITE;
    if (!isLite && info.l4Reason === WireReason.UDP_BAD_LENGTH) {
      env.fates.malformed[info.l4Reason]++;
      return env.drop(Reason.MALFORMED);
    }
    if (info.l4Cap < 8) return env.drop(Reason.HEADER_NOT_CAPTURED);
    const ulen = isLite ? info.l4Len : info.udpLen;
    const b = skb.buf;
    const csum = rd16(b, info.l4Off + 6);
    if (!isLite) {
      if (skb.af === 6 && csum === 0) return env.drop(Reason.L4_BAD_CHECKSUM);
      if (csum !== 0 && info.l4Cap >= ulen) {
        const acc =
          skb.af === 4
            ? pseudo4(info.saddr[0], info.daddr[0], IPPROTO_UDP, ulen)
            : pseudo6Words(info.saddr, 0, info.daddr, 0, IPPROTO_UDP, ulen);
        if (fold(sum16(b, info.l4Off, ulen, acc)) !== 0xffff) return env.drop(Reason.L4_BAD_CHECKSUM);
      }
    }
    if (group) return env.setFate(Fate.LOCAL, Reason.BROADCAST);
    // the datagram was trimmed to its UDP length: the quote is no longer
    const quote = info.l4Off - skb.l3 + ulen;
    const r =
      skb.af === 4 ? this.stack.icmp.sendError(3, 3, 0, quote) : this.stack.icmp.sendError(1, 4, 0, quote);
    this.errorAnswer(r, Reason.ICMP_PORT_UNREACHABLE);
  }

  private icmp4(group: boolean): void {
    const env = this.env;
    const skb = env.skb;
    const info = env.info;
    const cfg = this.stack.cfg;
    if (info.l4Cap < 8 || info.l4Len < 8) return env.drop(Reason.HEADER_NOT_CAPTURED);
    if (this.whole() && fold(sum16(skb.buf, info.l4Off, info.l4Len, 0)) !== 0xffff)
      return env.drop(Reason.ICMP_BAD_CHECKSUM);
    const t = info.icmpType;
    if (t > 18) return env.setFate(Fate.LOCAL, Reason.LOCAL_ICMP);
    if (group) {
      if ((t === 8 || t === 13) && cfg.echoIgnoreBroadcasts) return env.setFate(Fate.LOCAL, Reason.BROADCAST);
      if (t !== 8 && t !== 13 && t !== 17 && t !== 18) return env.setFate(Fate.LOCAL, Reason.BROADCAST);
    }
    if (t === 8 || t === 13) {
      if (t === 8 && cfg.echoIgnoreAll) return env.setFate(Fate.LOCAL, Reason.LOCAL_ICMP);
      const r = this.stack.icmp.reply4(t === 13);
      if (r === Gen.REFUSED) return env.setFate(Fate.LOCAL, Reason.LOCAL_ICMP);
      return this.answered(r, Reason.ECHO_REPLY);
    }
    env.setFate(Fate.LOCAL, Reason.LOCAL_ICMP);
  }

  // ------------------------------------------------------------------ IPv6

  private deliver6(): void {
    const env = this.env;
    const skb = env.skb;
    const info = env.info;
    const multicast = info.daddr[0] >>> 24 === 0xff;
    if (multicast && !joinedGroup6(env.fib, this.stack.cfg, skb.inLink, info.daddr, 0)) {
      env.setFate(Fate.LOCAL, Reason.BROADCAST);
      return;
    }
    const group = multicast || this.stack.l2Group();
    switch (info.proto) {
      case IPPROTO_TCP:
        if (group) return env.setFate(Fate.LOCAL, Reason.BROADCAST);
        return this.tcp();
      case IPPROTO_UDP:
      case IPPROTO_UDPLITE:
        return this.udp(multicast);
      case IPPROTO_ICMPV6:
        return this.icmp6(multicast);
      case IPPROTO_NONE:
        return env.setFate(Fate.LOCAL, Reason.LOCAL_OTHER);
      default: {
        if (multicast) return env.setFate(Fate.LOCAL, Reason.BROADCAST);
        const r = this.stack.icmp.sendError(4, 1, this.nextHeaderOffset());
        return this.errorAnswer(r, Reason.ICMP_PROTO_UNREACHABLE);
      }
    }
  }

  /** IP6CB(skb)->nhoff: offset of the byte naming the upper-layer protocol. */
  private nextHeaderOffset(): number {
    const skb = this.env.skb;
    const info = this.env.info;
    const b = skb.buf;
    const l3 = skb.l3;
    let p = l3 + 40;
    let prev = l3 + 6;
    let nh = b[l3 + 6];
    while (p < info.l4Off) {
      prev = p;
      const hl = nh === 44 ? 8 : nh === 51 ? (b[p + 1] + 2) * 4 : (b[p + 1] + 1) * 8;
      nh = b[p];
      p += hl;
    }
    return prev - l3;
  }

  private icmp6(multicast: boolean): void {
    const env = this.env;
    const skb = env.skb;
    const info = env.info;
    if (info.l4Cap < 4 || info.l4Len < 4) return env.drop(Reason.HEADER_NOT_CAPTURED);
    if (this.whole()) {
      const acc = pseudo6Words(info.saddr, 0, info.daddr, 0, IPPROTO_ICMPV6, info.l4Len);
      if (fold(sum16(skb.buf, info.l4Off, info.l4Len, acc)) !== 0xffff)
        return env.drop(Reason.ICMP_BAD_CHECKSUM);
    }
    const t = info.icmpType;
    switch (t) {
      case 128: {
        if (info.l4Len < 8) return env.drop(Reason.HEADER_NOT_CAPTURED);
        if (this.stack.cfg.icmp6EchoIgnoreAll) return env.setFate(Fate.LOCAL, Reason.LOCAL_ICMP);
        const r = this.stack.icmp.reply6();
        if (r === Gen.REFUSED)
          return env.setFate(Fate.LOCAL, multicast ? Reason.BROADCAST : Reason.LOCAL_ICMP);
        return this.answered(r, Reason.ECHO_REPLY);
      }
      case 135:
        return this.stack.nd.solicitation();
      case 136:
        return this.stack.nd.advertisement();
      case 133:
        return this.stack.nd.routerSolicitation();
      case 134:
      case 137:
        return env.setFate(Fate.LOCAL, Reason.LOCAL_ND);
      default:
        return env.setFate(Fate.LOCAL, Reason.LOCAL_ICMP);
    }
  }
}
