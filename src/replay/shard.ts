/**
 * Which worker a frame belongs to in a flow-sharded replay (`--workers N`):
 * a hash of the frame's client address, as a NIC's receive-side scaling
 * spreads flows over CPUs, so both directions of every connection (the
 * client's packets to the virtual service and, for NAT, the real server's
 * replies to the client) and every ICMP error about it land on the same
 * worker, with the connection's entry.
 *
 * The client address of an IP packet:
 * - its destination when it comes from a real server and is not addressed
 *   to the director (a NAT reply on its way to the client), else its source;
 * - for an ICMP error, the client of the packet it quotes: the quoted
 *   packet's destination when the director or a real server sent it (an
 *   error about a NAT reply), else its source (an error about a packet the
 *   director forwarded to a real server); for a quoted IPIP packet the
 *   director sent (LVS-TUN, ipip), the client of the packet inside it
 *   (GUE and GRE tunnels are not looked into: such an error goes by the
 *   real server's address).
 *
 * The address is hashed after the widest persistence netmask of the
 * services (`-p -M`), so every client sharing a persistence template shares
 * a worker too.
 *
 * Frames the neighbour table learns from — ARP and IPv6 neighbour
 * discovery — return NEIGHBOUR: every worker needs them (each resolves the
 * next hops of its own packets), worker 0 owns them. Other frames that are
 * not IP, and frames that do not parse, go to worker 0.
 */
import { PacketInfo, parseFrame } from '../wire/parse.js';
import { rd32 } from '../wire/bytes.js';
import type { Director } from '../ipvs/director.js';

/** shardOf's answer for ARP and neighbour discovery: every worker observes it, worker 0 owns it. */
export const NEIGHBOUR = -1;

const ETHERTYPE_ARP = 0x0806;
const PROTO_IPIP = 4;
const PROTO_IPV6 = 41;
const PROTO_ICMPV6 = 58;
/** ICMPv6 router solicitation .. redirect (RFC 4861 messages). */
const ND_FIRST = 133;
const ND_LAST = 137;

export class Sharder {
  private readonly info = new PacketInfo();
  private readonly d: Director;
  private readonly count: number;
  /** Real-server addresses: IPv4 words; IPv6 as four words each. Rebuilt when the configuration changes. */
  private rs4 = new Set<number>();
  private rs6 = new Uint32Array(0);
  /** Widest persistence granularity: an IPv4 netmask word and an IPv6 prefix length. */
  private mask4 = 0xffffffff;
  private prefix6 = 128;
  private seenGen = -1;
  private readonly client = new Uint32Array(4);
  private readonly inS = new Uint32Array(4);
  private readonly inD = new Uint32Array(4);

  constructor(d: Director, count: number) {
    this.d = d;
    this.count = count;
  }

  private refresh(): void {
    const gen = this.d.configGeneration;
    if (gen === this.seenGen) return;
    this.seenGen = gen;
    this.rs4.clear();
    this.mask4 = 0xffffffff;
    this.prefix6 = 128;
    const six: number[] = [];
    for (const s of this.d.ipvs.services) {
      if (s.persistent) {
        if (s.af === 4) this.mask4 = (this.mask4 & s.netmask) >>> 0;
        else this.prefix6 = Math.min(this.prefix6, s.netmask);
      }
      for (const dst of s.dests) {
        if (dst.af === 4) this.rs4.add(dst.addr.w0);
        else six.push(dst.addr.w0, dst.addr.w1, dst.addr.w2, dst.addr.w3);
      }
    }
    this.rs6 = Uint32Array.from(six);
  }

  private isRealServer(af: number, a: Uint32Array): boolean {
    if (af === 4) return this.rs4.has(a[0]);
    const r = this.rs6;
    for (let i = 0; i < r.length; i += 4)
      if (r[i] === a[0] && r[i + 1] === a[1] && r[i + 2] === a[2] && r[i + 3] === a[3]) return true;
    return false;
  }

  /** True when a packet from `s` to `d` is on its way to a client at `d` (sent by the director or a real server). */
  private towardsClient(af: number, s: Uint32Array, d: Uint32Array): boolean {
    const fib = this.d.env.fib;
    if (fib.isLocal(af, d, 0)) return false;
    return fib.isLocal(af, s, 0) || this.isRealServer(af, s);
  }

  /** The worker (0 .. count-1) of the frame buf[off, off+capLen), or NEIGHBOUR. */
  shardOf(buf: Uint8Array, off: number, capLen: number): number {
    const info = this.info;
    if (parseFrame(buf, off, capLen, capLen, info) !== 0) return 0;
    if (info.af !== 4 && info.af !== 6) return info.etherType === ETHERTYPE_ARP ? NEIGHBOUR : 0;
    if (info.proto === PROTO_ICMPV6 && info.icmpType >= ND_FIRST && info.icmpType <= ND_LAST)
      return NEIGHBOUR;
    this.refresh();
    const c = this.client;
    let af: number = info.af;
    if (info.icmpIsError !== 0) {
      const qaf = this.quotedClient(buf, info.l4Off + 8, info.capEnd, af);
      // a quote too short to name its addresses: by the outer source
      if (qaf === 0) c.set(info.saddr);
      else af = qaf;
    } else {
      c.set(this.towardsClient(af, info.saddr, info.daddr) ? info.daddr : info.saddr);
    }
    return this.hash(af, c);
  }

  /** Sets this.client from the IP header quoted at q (up to end) and returns its family; 0 when the quote is cut short. */
  private quotedClient(buf: Uint8Array, q: number, end: number, outerAf: number): number {
    let af = outerAf;
    const s = this.inS;
    const d = this.inD;
    for (let depth = 0; depth < 2; depth++) {
      let proto: number;
      let hdrLen: number;
      if (af === 4) {
        if (q + 20 > end || buf[q] >> 4 !== 4) return 0;
        s[0] = rd32(buf, q + 12) >>> 0;
        d[0] = rd32(buf, q + 16) >>> 0;
        s[1] = s[2] = s[3] = d[1] = d[2] = d[3] = 0;
        proto = buf[q + 9];
        hdrLen = (buf[q] & 15) * 4;
      } else {
        if (q + 40 > end || buf[q] >> 4 !== 6) return 0;
        for (let i = 0; i < 4; i++) {
          s[i] = rd32(buf, q + 8 + 4 * i) >>> 0;
          d[i] = rd32(buf, q + 24 + 4 * i) >>> 0;
        }
        proto = buf[q + 6];
        hdrLen = 40;
      }
      if (depth === 0 && (proto === PROTO_IPIP || proto === PROTO_IPV6) && this.d.env.fib.isLocal(af, s, 0)) {
        // an error about an IP-in-IP packet the director sent to a real server (LVS-TUN, ipip): the client is inside
        q += hdrLen;
        af = proto === PROTO_IPIP ? 4 : 6;
        continue;
      }
      this.client.set(this.towardsClient(af, s, d) ? d : s);
      return af;
    }
    return 0;
  }

  private hash(af: number, a: Uint32Array): number {
    let h = 0x811c9dc5;
    if (af === 4) {
      h = Math.imul(h ^ (a[0] & this.mask4), 0x01000193);
      h ^= h >>> 15;
    } else {
      const p = this.prefix6;
      for (let i = 0; i < 4; i++) {
        const bits = Math.min(32, Math.max(0, p - 32 * i));
        const m = bits === 0 ? 0 : bits === 32 ? 0xffffffff : ~(0xffffffff >>> bits);
        h = Math.imul(h ^ (a[i] & m), 0x01000193);
        h ^= h >>> 15;
      }
    }
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995);
    return ((h ^ (h >>> 15)) >>> 0) % this.count;
  }
}
