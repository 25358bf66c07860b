/**
 * Plain header objects ("Repr", as smoltcp's) with parse/emit, for tests, the
 * traffic generator, the control plane and explain mode. Never on the hot
 * path: they allocate freely and throw.
 *
 * - `XxxRepr.parse(buf, off, end, …)` reads a header (throws ReprError with a
 *   WireReason and the byte offset when it cannot). Derived fields (lengths,
 *   checksums, the next-protocol fields) are recorded only when they differ
 *   from what emit() would compute, so parse → emit reproduces the bytes,
 *   broken ones included; a field left `undefined` is computed on emit.
 * - `emit(buf, off, payloadLen, ctx)` writes the header in front of a payload
 *   of `payloadLen` bytes already in place at `off + headerLen()` (checksums
 *   cover it); `ctx.next` is the layer after this one (to fill EtherType/
 *   protocol fields), `ctx.ip` the enclosing IP header (pseudo-header).
 * - buildPacket()/buildFrame() assemble layers + payload with correct
 *   lengths and checksums (each overridable to build broken frames);
 *   parsePacket() splits bytes back into layers.
 *
 * Addresses are IpAddr (wire/addr.ts); MACs are 48-bit integers.
 */
import { IpAddr, readMac, writeMac } from './addr.js';
import { ARP, ARP_HTYPE_ETHER } from './arp.js';
import { EMPTY_BYTES, rd16, rd32, wr16, wr32 } from './bytes.js';
import {
  checksumSkip,
  CSUM_MANGLED_0,
  ipv4HeaderChecksum,
  pseudo4,
  pseudo6Words,
  sctpChecksum,
} from './checksum.js';
import { ETH, EtherType, isVlanTpid } from './ethernet.js';
import { GRE, GreFlag, greHeaderLen } from './gre.js';
import { GUE } from './gue.js';
import { ICMP } from './icmp.js';
import { ICMPV6 } from './icmpv6.js';
import { IpProto, isIpv6ExtHeader } from './ip.js';
import { IPV4 } from './ipv4.js';
import { IPV6, IPV6_FRAG, ipv6ExtHeaderLen } from './ipv6.js';
import { WireReason, wireReasonName } from './reasons.js';
import { SCTP } from './sctp.js';
import { TCP } from './tcp.js';
import { UDP } from './udp.js';

/** A header that cannot be parsed: the wire reason and the byte offset of the header. */
export class ReprError extends Error {
  readonly reason: number;
  readonly offset: number;
  constructor(reason: number, offset: number, detail = '') {
    super(`${wireReasonName(reason)} at byte ${offset}${detail ? `: ${detail}` : ''}`);
    this.name = 'ReprError';
    this.reason = reason;
    this.offset = offset;
  }
}

/** What emit() knows about the neighbouring layers. */
export interface EmitContext {
  /** The layer after this one (undefined: raw payload). */
  next?: LayerRepr;
  /** The nearest enclosing IP header (for pseudo-headers). */
  ip?: Ipv4Repr | Ipv6Repr;
}

type Fields<T> = { -readonly [K in keyof T as T[K] extends (...args: never[]) => unknown ? never : K]: T[K] };
type Init<T, Req extends keyof Fields<T>> = Partial<Omit<Fields<T>, 'kind' | 'af'>> & Pick<Fields<T>, Req>;

function need(cond: boolean, reason: number, offset: number, detail = ''): void {
  if (!cond) throw new ReprError(reason, offset, detail);
}

/** The EtherType for a layer, when it has one. */
function etherTypeOf(next: LayerRepr | undefined): number | undefined {
  if (next instanceof Ipv4Repr) return EtherType.IPV4;
  if (next instanceof Ipv6Repr) return EtherType.IPV6;
  if (next instanceof ArpRepr) return EtherType.ARP;
  return undefined;
}

/** The IP protocol number for a layer, when it has one. */
function ipProtoOf(next: LayerRepr | undefined): number | undefined {
  if (next instanceof TcpRepr) return IpProto.TCP;
  if (next instanceof UdpRepr) return IpProto.UDP;
  if (next instanceof IcmpRepr) return IpProto.ICMP;
  if (next instanceof Icmpv6Repr) return IpProto.ICMPV6;
  if (next instanceof SctpRepr) return IpProto.SCTP;
  if (next instanceof GreRepr) return IpProto.GRE;
  if (next instanceof Ipv4Repr) return IpProto.IPIP;
  if (next instanceof Ipv6Repr) return IpProto.IPV6;
  return undefined;
}

function inferred(v: number | undefined, what: string): number {
  if (v === undefined) throw new Error(`repr: cannot infer the ${what}; set it explicitly`);
  return v;
}

/** Sum of the pseudo-header of `ip` for protocol `proto` and L4 length `len`. */
function pseudoSum(ip: Ipv4Repr | Ipv6Repr, proto: number, len: number): number {
  if (ip instanceof Ipv4Repr) return pseudo4(ip.src.w0, ip.dst.w0, proto, len);
  const s = [ip.src.w0, ip.src.w1, ip.src.w2, ip.src.w3];
  const d = [ip.dst.w0, ip.dst.w1, ip.dst.w2, ip.dst.w3];
  return pseudo6Words(s, 0, d, 0, proto, len);
}

function readIp4(b: Uint8Array, off: number): IpAddr {
  return IpAddr.fromBytes(4, b, off);
}

// ------------------------------------------------------------------ Ethernet

/** One 802.1Q/802.1ad tag. */
export interface VlanTag {
  /** 0x8100 (802.1Q) or 0x88a8 (802.1ad). */
  tpid: number;
  /** Priority code point, 0..7. */
  pcp: number;
  /** Drop eligible indicator, 0/1. */
  dei: number;
  /** VLAN id, 0..4095. */
  vid: number;
}

export class EthernetRepr {
  readonly kind = 'ethernet';
  dst = 0;
  src = 0;
  /** Tags, outer first. */
  vlans: VlanTag[] = [];
  /** The EtherType after the tags; undefined: from the next layer. */
  etherType: number | undefined = undefined;

  constructor(init: Init<EthernetRepr, 'dst' | 'src'>) {
    Object.assign(this, init);
  }

  headerLen(): number {
    return ETH.HDR_LEN + 4 * this.vlans.length;
  }

  /** Parses the header and every VLAN tag (any number). */
  static parse(b: Uint8Array, off = 0, end = b.length): EthernetRepr {
    need(off + ETH.HDR_LEN <= end, WireReason.ETH_TRUNCATED, off);
    const r = new EthernetRepr({ dst: readMac(b, off + ETH.DST), src: readMac(b, off + ETH.SRC) });
    let p = off + ETH.TYPE;
    let t = rd16(b, p);
    while (isVlanTpid(t)) {
      need(p + 6 <= end, WireReason.VLAN_TRUNCATED, p);
      const tci = rd16(b, p + 2);
      r.vlans.push({ tpid: t, pcp: tci >>> 13, dei: (tci >>> 12) & 1, vid: tci & 0xfff });
      p += 4;
      t = rd16(b, p);
    }
    r.etherType = t;
    return r;
  }

  emit(b: Uint8Array, off: number, _payloadLen = 0, ctx: EmitContext = {}): void {
    writeMac(b, off + ETH.DST, this.dst);
    writeMac(b, off + ETH.SRC, this.src);
    let p = off + ETH.TYPE;
    for (const v of this.vlans) {
      wr16(b, p, v.tpid);
      wr16(b, p + 2, ((v.pcp & 7) << 13) | ((v.dei & 1) << 12) | (v.vid & 0xfff));
      p += 4;
    }
    wr16(b, p, this.etherType ?? inferred(etherTypeOf(ctx.next), 'EtherType'));
  }
}

// ----------------------------------------------------------------------- ARP

export class ArpRepr {
  readonly kind = 'arp';
  /** 1 request, 2 reply. */
  op = 1;
  /** Sender MAC. */
  sha = 0;
  /** Sender IPv4 address. */
  spa: IpAddr = new IpAddr(4, 0);
  /** Target MAC. */
  tha = 0;
  /** Target IPv4 address. */
  tpa: IpAddr = new IpAddr(4, 0);

  constructor(init: Init<ArpRepr, never>) {
    Object.assign(this, init);
  }

  headerLen(): number {
    return ARP.LEN;
  }

  static parse(b: Uint8Array, off = 0, end = b.length): ArpRepr {
    need(off + ARP.LEN <= end, WireReason.ARP_TRUNCATED, off);
    need(
      rd16(b, off) === ARP_HTYPE_ETHER &&
        rd16(b, off + 2) === EtherType.IPV4 &&
        b[off + 4] === 6 &&
        b[off + 5] === 4,
      WireReason.ARP_BAD_FORMAT,
      off,
    );
    return new ArpRepr({
      op: rd16(b, off + ARP.OP),
      sha: readMac(b, off + ARP.SHA),
      spa: readIp4(b, off + ARP.SPA),
      tha: readMac(b, off + ARP.THA),
      tpa: readIp4(b, off + ARP.TPA),
    });
  }

  emit(b: Uint8Array, off: number): void {
    wr16(b, off + ARP.HTYPE, ARP_HTYPE_ETHER);
    wr16(b, off + ARP.PTYPE, EtherType.IPV4);
    b[off + ARP.HLEN] = 6;
    b[off + ARP.PLEN] = 4;
    wr16(b, off + ARP.OP, this.op);
    writeMac(b, off + ARP.SHA, this.sha);
    this.spa.writeBytes(b, off + ARP.SPA);
    writeMac(b, off + ARP.THA, this.tha);
    this.tpa.writeBytes(b, off + ARP.TPA);
  }
}

// ---------------------------------------------------------------------- IPv4

export class Ipv4Repr {
  readonly kind = 'ipv4';
  readonly af = 4;
  tos = 0;
  id = 0;
  /** Reserved ("evil") flag. */
  rf = false;
  df = false;
  mf = false;
  /** Fragment offset in bytes (a multiple of 8). */
  fragOffset = 0;
  ttl = 64;
  /** Protocol; undefined: from the next layer. */
  proto: number | undefined = undefined;
  src: IpAddr;
  dst: IpAddr;
  /** Option bytes (a multiple of 4, at most 40). */
  options: Uint8Array = EMPTY_BYTES;
  /** Header checksum; undefined: computed. */
  checksum: number | undefined = undefined;
  /** Total length; undefined: header + payload. */
  totalLen: number | undefined = undefined;
  /** IHL field (words); undefined: from the options' length. */
  ihl: number | undefined = undefined;

  constructor(init: Init<Ipv4Repr, 'src' | 'dst'>) {
    this.src = init.src;
    this.dst = init.dst;
    Object.assign(this, init);
  }

  headerLen(): number {
    return IPV4.MIN_LEN + this.options.length;
  }

  /** Parses the header at `off`; `end` bounds the bytes present. */
  static parse(b: Uint8Array, off = 0, end = b.length): Ipv4Repr {
    need(off + IPV4.MIN_LEN <= end, WireReason.IPV4_TRUNCATED, off);
    need(b[off] >>> 4 === 4, WireReason.IPV4_BAD_VERSION, off);
    const ihl = b[off] & 15;
    need(ihl >= 5, WireReason.IPV4_BAD_IHL, off);
    need(off + ihl * 4 <= end, WireReason.IPV4_TRUNCATED, off);
    const frag = rd16(b, off + IPV4.FRAG);
    const r = new Ipv4Repr({
      tos: b[off + IPV4.TOS],
      id: rd16(b, off + IPV4.ID),
      rf: (frag & 0x8000) !== 0,
      df: (frag & 0x4000) !== 0,
      mf: (frag & 0x2000) !== 0,
      fragOffset: (frag & 0x1fff) << 3,
      ttl: b[off + IPV4.TTL],
      src: readIp4(b, off + IPV4.SRC),
      dst: readIp4(b, off + IPV4.DST),
      options: b.slice(off + IPV4.MIN_LEN, off + ihl * 4),
    });
    r.proto = b[off + IPV4.PROTO];
    const total = rd16(b, off + IPV4.TOTAL_LEN);
    if (total < ihl * 4 || off + total > end) r.totalLen = total;
    const c = rd16(b, off + IPV4.CSUM);
    if (c !== ipv4HeaderChecksum(b, off)) r.checksum = c;
    return r;
  }

  emit(b: Uint8Array, off: number, payloadLen = 0, ctx: EmitContext = {}): void {
    const hl = this.headerLen();
    if (hl > IPV4.MAX_LEN || hl % 4)
      throw new Error(`Ipv4Repr: options must be a multiple of 4 bytes, at most 40`);
    b[off] = 0x40 | ((this.ihl ?? hl >>> 2) & 15);
    b[off + IPV4.TOS] = this.tos;
    wr16(b, off + IPV4.TOTAL_LEN, this.totalLen ?? hl + payloadLen);
    wr16(b, off + IPV4.ID, this.id);
    wr16(
      b,
      off + IPV4.FRAG,
      (this.rf ? 0x8000 : 0) |
        (this.df ? 0x4000 : 0) |
        (this.mf ? 0x2000 : 0) |
        ((this.fragOffset >>> 3) & 0x1fff),
    );
    b[off + IPV4.TTL] = this.ttl;
    b[off + IPV4.PROTO] = this.proto ?? inferred(ipProtoOf(ctx.next), 'IPv4 protocol');
    wr16(b, off + IPV4.CSUM, 0);
    this.src.writeBytes(b, off + IPV4.SRC);
    this.dst.writeBytes(b, off + IPV4.DST);
    b.set(this.options, off + IPV4.MIN_LEN);
    // the checksum covers the header as emitted (IHL may be overridden)
    const csumLen = Math.min((b[off] & 15) << 2, hl);
    wr16(
      b,
      off + IPV4.CSUM,
      this.checksum ?? checksumSkip(b, off, Math.max(csumLen, IPV4.MIN_LEN), IPV4.CSUM),
    );
  }
}

// ---------------------------------------------------------------------- IPv6

/** An options-type extension header (hop-by-hop, routing, destination options, AH). */
export interface Ipv6OptHeaderRepr {
  type: typeof IpProto.HOPOPTS | typeof IpProto.ROUTING | typeof IpProto.DSTOPTS | typeof IpProto.AH;
  /** The bytes after next-header and length: 2 + data.length must be a multiple of 8 (AH: of 4). */
  data: Uint8Array;
}

/** The fragment header. */
export interface Ipv6FragHeaderRepr {
  type: typeof IpProto.FRAGMENT;
  /** Fragment offset in bytes (a multiple of 8). */
  fragOffset: number;
  mf: boolean;
  ident: number;
}

export type Ipv6ExtRepr = Ipv6OptHeaderRepr | Ipv6FragHeaderRepr;

function extLen(e: Ipv6ExtRepr): number {
  return e.type === IpProto.FRAGMENT ? IPV6_FRAG.LEN : 2 + e.data.length;
}

export class Ipv6Repr {
  readonly kind = 'ipv6';
  readonly af = 6;
  trafficClass = 0;
  flowLabel = 0;
  hopLimit = 64;
  /** Extension headers, in order. */
  extHeaders: Ipv6ExtRepr[] = [];
  /** The upper-layer protocol after the extension headers; undefined: from the next layer. */
  nextHeader: number | undefined = undefined;
  src: IpAddr;
  dst: IpAddr;
  /** Payload length field; undefined: extension headers + payload. */
  payloadLen: number | undefined = undefined;

  constructor(init: Init<Ipv6Repr, 'src' | 'dst'>) {
    this.src = init.src;
    this.dst = init.dst;
    Object.assign(this, init);
  }

  headerLen(): number {
    let n = IPV6.HDR_LEN;
    for (const e of this.extHeaders) n += extLen(e);
    return n;
  }

  /** Parses the fixed header and the extension headers (stopping after a non-first fragment's header). */
  static parse(b: Uint8Array, off = 0, end = b.length): Ipv6Repr {
    need(off + IPV6.HDR_LEN <= end, WireReason.IPV6_TRUNCATED, off);
    need(b[off] >>> 4 === 6, WireReason.IPV6_BAD_VERSION, off);
    const w0 = rd32(b, off);
    const r = new Ipv6Repr({
      trafficClass: (w0 >>> 20) & 0xff,
      flowLabel: w0 & 0xfffff,
      hopLimit: b[off + IPV6.HOP_LIMIT],
      src: IpAddr.fromBytes(6, b, off + IPV6.SRC),
      dst: IpAddr.fromBytes(6, b, off + IPV6.DST),
    });
    const plen = rd16(b, off + IPV6.PAYLOAD_LEN);
    const pEnd = Math.min(end, off + IPV6.HDR_LEN + plen);
    let nh = b[off + IPV6.NEXT_HDR];
    let p = off + IPV6.HDR_LEN;
    while (isIpv6ExtHeader(nh)) {
      need(p + 2 <= pEnd, WireReason.IPV6_BAD_EXTENSION_CHAIN, p);
      const hl = ipv6ExtHeaderLen(b, p, nh);
      need(p + hl <= pEnd, WireReason.IPV6_BAD_EXTENSION_CHAIN, p);
      const next = b[p];
      if (nh === IpProto.FRAGMENT) {
        const fw = rd16(b, p + IPV6_FRAG.FRAG);
        r.extHeaders.push({
          type: IpProto.FRAGMENT,
          fragOffset: fw & 0xfff8,
          mf: (fw & 1) === 1,
          ident: rd32(b, p + IPV6_FRAG.IDENT),
        });
        p += hl;
        nh = next;
        if (fw & 0xfff8) break;
        continue;
      }
      r.extHeaders.push({ type: nh as Ipv6OptHeaderRepr['type'], data: b.slice(p + 2, p + hl) });
      p += hl;
      nh = next;
    }
    r.nextHeader = nh;
    if (off + IPV6.HDR_LEN + plen > end) r.payloadLen = plen;
    return r;
  }

  emit(b: Uint8Array, off: number, payloadLen = 0, ctx: EmitContext = {}): void {
    const hl = this.headerLen();
    const upper = this.nextHeader ?? inferred(ipProtoOf(ctx.next), 'IPv6 next header');
    wr32(b, off, ((6 << 28) | ((this.trafficClass & 0xff) << 20) | (this.flowLabel & 0xfffff)) >>> 0);
    wr16(b, off + IPV6.PAYLOAD_LEN, this.payloadLen ?? hl - IPV6.HDR_LEN + payloadLen);
    b[off + IPV6.NEXT_HDR] = this.extHeaders.length ? this.extHeaders[0].type : upper;
    b[off + IPV6.HOP_LIMIT] = this.hopLimit;
    this.src.writeBytes(b, off + IPV6.SRC);
    this.dst.writeBytes(b, off + IPV6.DST);
    let p = off + IPV6.HDR_LEN;
    this.extHeaders.forEach((e, i) => {
      const next = i + 1 < this.extHeaders.length ? this.extHeaders[i + 1].type : upper;
      b[p] = next;
      if (e.type === IpProto.FRAGMENT) {
        b[p + 1] = 0;
        wr16(b, p + IPV6_FRAG.FRAG, (e.fragOffset & 0xfff8) | (e.mf ? 1 : 0));
        wr32(b, p + IPV6_FRAG.IDENT, e.ident);
      } else {
        const len = 2 + e.data.length;
        const unit = e.type === IpProto.AH ? 4 : 8;
        if (len % unit)
          throw new Error(`Ipv6Repr: extension header ${e.type} must be a multiple of ${unit} bytes`);
        b[p + 1] = e.type === IpProto.AH ? len / 4 - 2 : len / 8 - 1;
        b.set(e.data, p + 2);
      }
      p += extLen(e);
    });
  }
}

// ----------------------------------------------------------------------- TCP

export class TcpRepr {
  readonly kind = 'tcp';
  sport = 0;
  dport = 0;
  seq = 0;
  ack = 0;
  /** TcpFlag bits (NS as bit 8). */
  flags = 0;
  window = 65535;
  urgent = 0;
  /** Option bytes (a multiple of 4, at most 40). */
  options: Uint8Array = EMPTY_BYTES;
  /** Checksum; undefined: computed (0 without an IP context). */
  checksum: number | undefined = undefined;
  /** Data offset field (words); undefined: from the options' length. */
  dataOffset: number | undefined = undefined;

  constructor(init: Init<TcpRepr, 'sport' | 'dport'>) {
    Object.assign(this, init);
  }

  headerLen(): number {
    return TCP.MIN_LEN + this.options.length;
  }

  /**
   * Parses the header at `off`; `end` is the segment's end. With `ip` the
   * checksum is verified (and recorded only when wrong); without, recorded.
   */
  static parse(b: Uint8Array, off: number, end: number, ip?: Ipv4Repr | Ipv6Repr): TcpRepr {
    need(off + TCP.MIN_LEN <= end, WireReason.TCP_TRUNCATED, off);
    const doff = b[off + TCP.DATA_OFF] >>> 4;
    const hl = Math.min(Math.max(doff * 4, TCP.MIN_LEN), end - off);
    const r = new TcpRepr({
      sport: rd16(b, off + TCP.SPORT),
      dport: rd16(b, off + TCP.DPORT),
      seq: rd32(b, off + TCP.SEQ),
      ack: rd32(b, off + TCP.ACK),
      flags: ((b[off + TCP.DATA_OFF] & 1) << 8) | b[off + TCP.FLAGS],
      window: rd16(b, off + TCP.WINDOW),
      urgent: rd16(b, off + TCP.URGENT),
      options: b.slice(off + TCP.MIN_LEN, off + (hl & ~3)),
    });
    if (doff * 4 !== r.headerLen()) r.dataOffset = doff;
    const c = rd16(b, off + TCP.CSUM);
    if (!ip || c !== checksumSkip(b, off, end - off, TCP.CSUM, pseudoSum(ip, IpProto.TCP, end - off)))
      r.checksum = c;
    return r;
  }

  emit(b: Uint8Array, off: number, payloadLen = 0, ctx: EmitContext = {}): void {
    const hl = this.headerLen();
    if (hl > TCP.MAX_LEN || hl % 4)
      throw new Error('TcpRepr: options must be a multiple of 4 bytes, at most 40');
    wr16(b, off + TCP.SPORT, this.sport);
    wr16(b, off + TCP.DPORT, this.dport);
    wr32(b, off + TCP.SEQ, this.seq);
    wr32(b, off + TCP.ACK, this.ack);
    b[off + TCP.DATA_OFF] = (((this.dataOffset ?? hl >>> 2) & 15) << 4) | ((this.flags >>> 8) & 1);
    b[off + TCP.FLAGS] = this.flags & 0xff;
    wr16(b, off + TCP.WINDOW, this.window);
    wr16(b, off + TCP.CSUM, 0);
    wr16(b, off + TCP.URGENT, this.urgent);
    b.set(this.options, off + TCP.MIN_LEN);
    const len = hl + payloadLen;
    const c =
      this.checksum ??
      (ctx.ip ? checksumSkip(b, off, len, TCP.CSUM, pseudoSum(ctx.ip, IpProto.TCP, len)) : 0);
    wr16(b, off + TCP.CSUM, c);
  }
}

// ----------------------------------------------------------------------- UDP

export class UdpRepr {
  readonly kind = 'udp';
  sport = 0;
  dport = 0;
  /** Length field; undefined: 8 + payload. */
  length: number | undefined = undefined;
  /** Checksum; undefined: computed (0 without an IP context); 0 = none (IPv4). */
  checksum: number | undefined = undefined;

  constructor(init: Init<UdpRepr, 'sport' | 'dport'>) {
    Object.assign(this, init);
  }

  headerLen(): number {
    return UDP.HDR_LEN;
  }

  /** Parses the header at `off`; `end` is the IP payload's end. `ip` verifies the checksum. */
  static parse(b: Uint8Array, off: number, end: number, ip?: Ipv4Repr | Ipv6Repr): UdpRepr {
    need(off + UDP.HDR_LEN <= end, WireReason.UDP_TRUNCATED, off);
    const r = new UdpRepr({ sport: rd16(b, off + UDP.SPORT), dport: rd16(b, off + UDP.DPORT) });
    const len = rd16(b, off + UDP.LEN);
    if (len !== end - off) r.length = len;
    const c = rd16(b, off + UDP.CSUM);
    if (!ip || c !== udpChecksum(b, off, end - off, ip)) r.checksum = c;
    return r;
  }

  emit(b: Uint8Array, off: number, payloadLen = 0, ctx: EmitContext = {}): void {
    const len = UDP.HDR_LEN + payloadLen;
    wr16(b, off + UDP.SPORT, this.sport);
    wr16(b, off + UDP.DPORT, this.dport);
    wr16(b, off + UDP.LEN, this.length ?? len);
    wr16(b, off + UDP.CSUM, 0);
    wr16(b, off + UDP.CSUM, this.checksum ?? (ctx.ip ? udpChecksum(b, off, len, ctx.ip) : 0));
  }
}

function udpChecksum(b: Uint8Array, off: number, len: number, ip: Ipv4Repr | Ipv6Repr): number {
  const c = checksumSkip(b, off, len, UDP.CSUM, pseudoSum(ip, IpProto.UDP, len));
  return c === 0 ? CSUM_MANGLED_0 : c;
}

// ---------------------------------------------------------------- ICMP, ICMPv6

export class IcmpRepr {
  readonly kind = 'icmp';
  type = 0;
  code = 0;
  /** The second 32-bit word (echo: id << 16 | seq; frag needed: the MTU in the low half). */
  rest = 0;
  /** Checksum; undefined: computed over the message. */
  checksum: number | undefined = undefined;

  constructor(init: Init<IcmpRepr, 'type'>) {
    Object.assign(this, init);
  }

  /** An echo request (type 8) or reply (type 0). */
  static echo(type: number, id: number, seq: number): IcmpRepr {
    return new IcmpRepr({ type, code: 0, rest: (((id & 0xffff) << 16) | (seq & 0xffff)) >>> 0 });
  }

  get id(): number {
    return this.rest >>> 16;
  }
  get seq(): number {
    return this.rest & 0xffff;
  }

  headerLen(): number {
    return ICMP.HDR_LEN;
  }

  /** Parses the header at `off`; `end` is the message's end (the checksum covers it all). */
  static parse(b: Uint8Array, off: number, end: number): IcmpRepr {
    need(off + ICMP.HDR_LEN <= end, WireReason.ICMP_TRUNCATED, off);
    const r = new IcmpRepr({ type: b[off], code: b[off + 1], rest: rd32(b, off + ICMP.REST) });
    const c = rd16(b, off + ICMP.CSUM);
    if (c !== checksumSkip(b, off, end - off, ICMP.CSUM)) r.checksum = c;
    return r;
  }

  emit(b: Uint8Array, off: number, payloadLen = 0): void {
    b[off] = this.type;
    b[off + 1] = this.code;
    wr16(b, off + ICMP.CSUM, 0);
    wr32(b, off + ICMP.REST, this.rest);
    wr16(b, off + ICMP.CSUM, this.checksum ?? checksumSkip(b, off, ICMP.HDR_LEN + payloadLen, ICMP.CSUM));
  }
}

export class Icmpv6Repr {
  readonly kind = 'icmpv6';
  type = 0;
  code = 0;
  /** The second 32-bit word (echo: id << 16 | seq; packet too big: the MTU). */
  rest = 0;
  /** Checksum; undefined: computed with the IPv6 pseudo-header (0 without an IP context). */
  checksum: number | undefined = undefined;

  constructor(init: Init<Icmpv6Repr, 'type'>) {
    Object.assign(this, init);
  }

  /** An echo request (128) or reply (129). */
  static echo(type: number, id: number, seq: number): Icmpv6Repr {
    return new Icmpv6Repr({ type, code: 0, rest: (((id & 0xffff) << 16) | (seq & 0xffff)) >>> 0 });
  }

  headerLen(): number {
    return ICMPV6.HDR_LEN;
  }

  static parse(b: Uint8Array, off: number, end: number, ip?: Ipv4Repr | Ipv6Repr): Icmpv6Repr {
    need(off + ICMPV6.HDR_LEN <= end, WireReason.ICMPV6_TRUNCATED, off);
    const r = new Icmpv6Repr({ type: b[off], code: b[off + 1], rest: rd32(b, off + 4) });
    const c = rd16(b, off + ICMPV6.CSUM);
    const len = end - off;
    if (!ip || c !== checksumSkip(b, off, len, ICMPV6.CSUM, pseudoSum(ip, IpProto.ICMPV6, len)))
      r.checksum = c;
    return r;
  }

  emit(b: Uint8Array, off: number, payloadLen = 0, ctx: EmitContext = {}): void {
    const len = ICMPV6.HDR_LEN + payloadLen;
    b[off] = this.type;
    b[off + 1] = this.code;
    wr16(b, off + ICMPV6.CSUM, 0);
    wr32(b, off + 4, this.rest);
    const c =
      this.checksum ??
      (ctx.ip ? checksumSkip(b, off, len, ICMPV6.CSUM, pseudoSum(ctx.ip, IpProto.ICMPV6, len)) : 0);
    wr16(b, off + ICMPV6.CSUM, c);
  }
}

// ---------------------------------------------------------------------- SCTP

export class SctpRepr {
  readonly kind = 'sctp';
  sport = 0;
  dport = 0;
  /** Verification tag. */
  vtag = 0;
  /** The chunks, raw (each chunk padded to 4 bytes by the caller). */
  chunks: Uint8Array = EMPTY_BYTES;
  /** CRC32c value; undefined: computed over the packet. */
  checksum: number | undefined = undefined;

  constructor(init: Init<SctpRepr, 'sport' | 'dport'>) {
    Object.assign(this, init);
  }

  headerLen(): number {
    return SCTP.HDR_LEN + this.chunks.length;
  }

  /** Parses a whole SCTP packet: common header at `off`, chunks up to `end`. */
  static parse(b: Uint8Array, off: number, end: number): SctpRepr {
    need(off + SCTP.HDR_LEN <= end, WireReason.SCTP_TRUNCATED, off);
    const r = new SctpRepr({
      sport: rd16(b, off),
      dport: rd16(b, off + 2),
      vtag: rd32(b, off + SCTP.VTAG),
      chunks: b.slice(off + SCTP.HDR_LEN, end),
    });
    const o = off + SCTP.CSUM;
    const c = (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
    if (c !== sctpChecksum(b, off, end - off)) r.checksum = c;
    return r;
  }

  emit(b: Uint8Array, off: number, payloadLen = 0): void {
    wr16(b, off, this.sport);
    wr16(b, off + 2, this.dport);
    wr32(b, off + SCTP.VTAG, this.vtag);
    b.set(this.chunks, off + SCTP.HDR_LEN);
    const c = this.checksum ?? sctpChecksum(b, off, this.headerLen() + payloadLen);
    const o = off + SCTP.CSUM;
    b[o] = c;
    b[o + 1] = c >>> 8;
    b[o + 2] = c >>> 16;
    b[o + 3] = c >>> 24;
  }
}

// ----------------------------------------------------------------------- GUE

export class GueRepr {
  readonly kind = 'gue';
  /** 0 (a GUE header) or 1 (direct IP: nothing is emitted). */
  version = 0;
  /** Control message flag. */
  c = false;
  /** proto (or ctype when `c`); undefined: 4/41 from the next layer. */
  proto: number | undefined = undefined;
  flags = 0;
  /** Extension fields (a multiple of 4 bytes, at most 124). */
  fields: Uint8Array = EMPTY_BYTES;

  constructor(init: Init<GueRepr, never> = {}) {
    Object.assign(this, init);
  }

  headerLen(): number {
    return this.version === 1 ? 0 : GUE.HDR_LEN + this.fields.length;
  }

  static parse(b: Uint8Array, off: number, end: number): GueRepr {
    need(off + 1 <= end, WireReason.GUE_TRUNCATED, off);
    const ver = b[off] >>> 6;
    if (ver === 1) return new GueRepr({ version: 1 });
    need(ver === 0, WireReason.GUE_BAD_VERSION, off);
    need(off + GUE.HDR_LEN <= end, WireReason.GUE_TRUNCATED, off);
    const hl = GUE.HDR_LEN + ((b[off] & 31) << 2);
    need(off + hl <= end, WireReason.GUE_TRUNCATED, off);
    return new GueRepr({
      c: (b[off] & 0x20) !== 0,
      proto: b[off + GUE.PROTO],
      flags: rd16(b, off + GUE.FLAGS),
      fields: b.slice(off + GUE.HDR_LEN, off + hl),
    });
  }

  emit(b: Uint8Array, off: number, _payloadLen = 0, ctx: EmitContext = {}): void {
    if (this.version === 1) return;
    if (this.fields.length % 4 || this.fields.length > 124)
      throw new Error('GueRepr: bad extension fields length');
    b[off] = (this.c ? 0x20 : 0) | (this.fields.length >>> 2);
    b[off + GUE.PROTO] = this.proto ?? inferred(ipProtoOf(ctx.next), 'GUE protocol');
    wr16(b, off + GUE.FLAGS, this.flags);
    b.set(this.fields, off + GUE.HDR_LEN);
  }
}

// ----------------------------------------------------------------------- GRE

export class GreRepr {
  readonly kind = 'gre';
  /** Emit a checksum field (C bit). */
  checksumPresent = false;
  /** Key (K bit) when defined. */
  key: number | undefined = undefined;
  /** Sequence number (S bit) when defined. */
  seq: number | undefined = undefined;
  /** Payload EtherType; undefined: from the next layer. */
  protocol: number | undefined = undefined;
  /** Extra bits ORed into the flags word (routing bit, version: to build broken headers). */
  extraFlags = 0;
  /** The 16 bits after the checksum (reserved, 0). */
  reserved1 = 0;
  /** Checksum when present; undefined: computed over header and payload. */
  checksum: number | undefined = undefined;

  constructor(init: Init<GreRepr, never> = {}) {
    Object.assign(this, init);
  }

  flagsWord(): number {
    return (
      (this.checksumPresent ? GreFlag.CSUM : 0) |
      (this.key !== undefined ? GreFlag.KEY : 0) |
      (this.seq !== undefined ? GreFlag.SEQ : 0) |
      this.extraFlags
    );
  }

  headerLen(): number {
    return greHeaderLen(this.flagsWord());
  }

  /** Parses the header at `off`; `end` is the IP payload's end (the checksum covers it all). */
  static parse(b: Uint8Array, off: number, end: number): GreRepr {
    need(off + GRE.MIN_LEN <= end, WireReason.GRE_TRUNCATED, off);
    const flags = rd16(b, off);
    const hl = greHeaderLen(flags);
    need(off + hl <= end, WireReason.GRE_TRUNCATED, off);
    const r = new GreRepr({
      checksumPresent: (flags & GreFlag.CSUM) !== 0,
      protocol: rd16(b, off + GRE.PROTO),
      extraFlags: flags & ~(GreFlag.CSUM | GreFlag.KEY | GreFlag.SEQ),
    });
    let p = off + GRE.OPT;
    if (flags & GreFlag.CSUM) {
      const c = rd16(b, p);
      r.reserved1 = rd16(b, p + 2);
      if (c !== checksumSkip(b, off, end - off, GRE.CSUM)) r.checksum = c;
      p += 4;
    }
    if (flags & GreFlag.KEY) {
      r.key = rd32(b, p);
      p += 4;
    }
    if (flags & GreFlag.SEQ) r.seq = rd32(b, p);
    return r;
  }

  emit(b: Uint8Array, off: number, payloadLen = 0, ctx: EmitContext = {}): void {
    wr16(b, off, this.flagsWord());
    wr16(b, off + GRE.PROTO, this.protocol ?? inferred(etherTypeOf(ctx.next), 'GRE protocol'));
    let p = off + GRE.OPT;
    if (this.checksumPresent) {
      wr16(b, p, 0);
      wr16(b, p + 2, this.reserved1);
      p += 4;
    }
    if (this.key !== undefined) {
      wr32(b, p, this.key);
      p += 4;
    }
    if (this.seq !== undefined) wr32(b, p, this.seq);
    if (this.checksumPresent)
      wr16(b, off + GRE.CSUM, this.checksum ?? checksumSkip(b, off, this.headerLen() + payloadLen, GRE.CSUM));
  }
}

// ------------------------------------------------------------------ assembly

export type LayerRepr =
  | EthernetRepr
  | ArpRepr
  | Ipv4Repr
  | Ipv6Repr
  | TcpRepr
  | UdpRepr
  | IcmpRepr
  | Icmpv6Repr
  | SctpRepr
  | GueRepr
  | GreRepr;

/**
 * Emits `layers` (outermost first) followed by `payload` into a new buffer:
 * lengths, protocol fields and checksums are computed unless a layer sets
 * them. Layers are emitted innermost first so that every checksum covers
 * final bytes; each L4 checksum uses the nearest enclosing IP header.
 */
export function buildPacket(layers: readonly LayerRepr[], payload: Uint8Array = EMPTY_BYTES): Uint8Array {
  const offs: number[] = [];
  let total = 0;
  for (const l of layers) {
    offs.push(total);
    total += l.headerLen();
  }
  const b = new Uint8Array(total + payload.length);
  b.set(payload, total);
  const end = b.length;
  for (let i = layers.length - 1; i >= 0; i--) {
    let ip: Ipv4Repr | Ipv6Repr | undefined;
    for (let j = i - 1; j >= 0 && !ip; j--) {
      const l = layers[j];
      if (l instanceof Ipv4Repr || l instanceof Ipv6Repr) ip = l;
    }
    const l = layers[i];
    l.emit(b, offs[i], end - offs[i] - l.headerLen(), { next: layers[i + 1], ip });
  }
  return b;
}

export interface BuildFrameOptions {
  /** Bytes after the packet (Ethernet trailer), before any padding. */
  trailer?: Uint8Array;
  /** Pad with zeros to the 60-byte Ethernet minimum (default true). */
  pad?: boolean;
}

/**
 * A whole Ethernet frame: `layers` must start with an EthernetRepr. The
 * packet is followed by `trailer` and, unless `pad: false`, zero padding up
 * to 60 bytes (the IP lengths exclude both).
 */
export function buildFrame(
  layers: readonly LayerRepr[],
  payload: Uint8Array = EMPTY_BYTES,
  opts: BuildFrameOptions = {},
): Uint8Array {
  if (!(layers[0] instanceof EthernetRepr)) throw new Error('buildFrame: the first layer must be Ethernet');
  const pkt = buildPacket(layers, payload);
  const trailer = opts.trailer ?? EMPTY_BYTES;
  const len = pkt.length + trailer.length;
  const out = new Uint8Array(opts.pad === false ? len : Math.max(len, ETH.MIN_FRAME));
  out.set(pkt, 0);
  out.set(trailer, pkt.length);
  return out;
}

export interface ParsedPacket {
  /** Decoded layers, outermost first. */
  layers: LayerRepr[];
  /** Bytes after the innermost decoded header, up to the innermost length's end. */
  payload: Uint8Array;
  /** Bytes after the outermost IP packet (Ethernet padding or trailer). */
  trailer: Uint8Array;
}

export interface ParsePacketOptions {
  /** Start at Ethernet (default) or at an IP header. */
  link?: 'ethernet' | 'ip';
  /** UDP destination port carrying GUE (0: none). */
  guePort?: number;
}

/**
 * Splits bytes into layers: Ethernet (with tags), ARP, IPv4/IPv6 (with
 * extension headers), TCP, UDP (+ GUE on `guePort`), ICMP, ICMPv6, SCTP, GRE,
 * and the inner IP packet of IPIP, ip6ip6, GRE and GUE. ICMP error quotes
 * stay in the payload. A non-first fragment stops the walk. Checksums and
 * lengths that are wrong are recorded in the reprs, so
 * `buildFrame(layers, payload, { trailer, pad: false })` reproduces the
 * input. Throws ReprError for a header that is cut short.
 */
export function parsePacket(
  b: Uint8Array,
  off = 0,
  end = b.length,
  opts: ParsePacketOptions = {},
): ParsedPacket {
  const layers: LayerRepr[] = [];
  const guePort = opts.guePort ?? 0;
  const frameEnd = end;
  let p = off;
  let kind: 'ip' | 'ipv4' | 'ipv6' | 'arp' | 'raw' = 'ip';
  if ((opts.link ?? 'ethernet') === 'ethernet') {
    const eth = EthernetRepr.parse(b, off, end);
    layers.push(eth);
    p += eth.headerLen();
    const t = eth.etherType;
    kind =
      t === EtherType.IPV4 ? 'ipv4' : t === EtherType.IPV6 ? 'ipv6' : t === EtherType.ARP ? 'arp' : 'raw';
  }
  if (kind === 'ip') kind = p < end && b[p] >>> 4 === 6 ? 'ipv6' : 'ipv4';
  if (kind === 'arp') {
    layers.push(ArpRepr.parse(b, p, end));
    return { layers, payload: EMPTY_BYTES, trailer: b.slice(p + ARP.LEN, frameEnd) };
  }
  if (kind === 'raw') return { layers, payload: b.slice(p, end), trailer: EMPTY_BYTES };

  let trailerStart = -1;
  let af: 4 | 6 = kind === 'ipv6' ? 6 : 4;
  // one IP packet per iteration (tunnels loop to the inner packet)
  for (;;) {
    const ip = af === 4 ? Ipv4Repr.parse(b, p, end) : Ipv6Repr.parse(b, p, end);
    layers.push(ip);
    // the packet's end per its own length field, within the bytes present
    const announced = af === 4 ? rd16(b, p + IPV4.TOTAL_LEN) : IPV6.HDR_LEN + rd16(b, p + IPV6.PAYLOAD_LEN);
    end = Math.max(p + ip.headerLen(), Math.min(end, p + announced));
    if (trailerStart < 0) trailerStart = end;
    p += ip.headerLen();
    const nonFirst =
      ip instanceof Ipv4Repr
        ? ip.fragOffset !== 0
        : ip.extHeaders.some((e) => e.type === IpProto.FRAGMENT && e.fragOffset !== 0);
    if (nonFirst) break;
    const proto = ip instanceof Ipv4Repr ? ip.proto : ip.nextHeader;
    if (proto === IpProto.TCP) {
      const t = TcpRepr.parse(b, p, end, ip);
      layers.push(t);
      p += t.headerLen();
    } else if (proto === IpProto.UDP) {
      const u = UdpRepr.parse(b, p, end, ip);
      layers.push(u);
      p += UDP.HDR_LEN;
      if (guePort && u.dport === guePort && u.length === undefined) {
        const g = GueRepr.parse(b, p, end);
        const v =
          g.version === 1
            ? b[p] >>> 4
            : g.c
              ? 0
              : g.proto === IpProto.IPIP
                ? 4
                : g.proto === IpProto.IPV6
                  ? 6
                  : 0;
        if (v === 4 || v === 6) {
          layers.push(g);
          p += g.headerLen();
          af = v;
          continue;
        }
      }
    } else if (af === 4 && proto === IpProto.ICMP) {
      layers.push(IcmpRepr.parse(b, p, end));
      p += ICMP.HDR_LEN;
    } else if (af === 6 && proto === IpProto.ICMPV6) {
      layers.push(Icmpv6Repr.parse(b, p, end, ip));
      p += ICMPV6.HDR_LEN;
    } else if (proto === IpProto.SCTP) {
      layers.push(SctpRepr.parse(b, p, end));
      p = end;
    } else if (proto === IpProto.GRE) {
      const g = GreRepr.parse(b, p, end);
      if (g.protocol === EtherType.IPV4 || g.protocol === EtherType.IPV6) {
        layers.push(g);
        p += g.headerLen();
        af = g.protocol === EtherType.IPV4 ? 4 : 6;
        continue;
      }
    } else if (proto === IpProto.IPIP || proto === IpProto.IPV6) {
      af = proto === IpProto.IPIP ? 4 : 6;
      continue;
    }
    break;
  }
  return { layers, payload: b.slice(p, end), trailer: b.slice(trailerStart, frameEnd) };
}
