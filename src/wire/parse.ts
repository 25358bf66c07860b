/**
 * The decode chain: one reused PacketInfo filled from a frame with no
 * allocation, in the spirit of gopacket's DecodingLayerParser.
 *
 * Length semantics. A frame is `capLen` captured bytes of a frame that was
 * `origLen` bytes on the wire. The lengths the kernel validates (IPv4 total
 * length, IPv6 payload length, TCP data offset, UDP length) are checked
 * against what was on the wire, and a `*-not-captured` reason is returned
 * only when a header the datapath must read is cut by the capture. Bytes
 * after the IP packet (its total length) are Ethernet padding. Internally
 * the chain works with absolute buffer offsets: `capEnd` (end of captured
 * bytes) and `origEnd` (where the bytes would end on the wire; may lie
 * beyond the buffer).
 *
 * What is a return value and what is not. parseFrame() returns a reason for
 * everything the kernel drops before or inside IPVS whatever the service
 * (bad Ethernet/VLAN/ARP framing; what ip_rcv_core(), ip_rcv_options() and
 * ip6_rcv_core() drop; an L4 header too short for IPVS to read) and for
 * headers cut by the capture. Two L4 anomalies that IPVS forwards untouched
 * but a local L4 stack would drop (TCP data offset, UDP length field) leave
 * the return value OK, every field filled, and are reported in
 * `info.l4Reason`. On a non-OK return the fields of the layers decoded so far
 * are filled and the rest are zero.
 *
 * Fragments: a non-first fragment's L4 is not decoded (ports 0); a first
 * fragment's L4 header is decoded when present, with no L4 reason (the
 * datapath reassembles fragments, as nf_defrag does before IPVS, and parses
 * the whole packet again with parseIp()).
 */
import { rd16, rd32, rd32i } from './bytes.js';
import { ETH, EtherType, MAX_FRAME_LEN, MAX_VLAN_TAGS, isVlanTpid } from './ethernet.js';
import { ARP, checkArp } from './arp.js';
import { IpProto, isIpv6ExtHeader } from './ip.js';
import { IPV4, checkIpv4, ipv4OptionFlags } from './ipv4.js';
import {
  IPV6,
  IPV6_FRAG,
  MAX_IPV6_EXT_HEADERS,
  checkIpv6,
  checkIpv6HopOpts,
  ipv6ExtHeaderLen,
} from './ipv6.js';
import { TCP, checkTcp } from './tcp.js';
import { UDP, checkUdp } from './udp.js';
import { checkIcmp, icmpHasId, isIcmpError } from './icmp.js';
import { checkIcmpv6, Icmpv6Type } from './icmpv6.js';
import { SCTP, checkSctp } from './sctp.js';
import { GUE, checkGue } from './gue.js';
import { GRE, checkGre, greHeaderLen } from './gre.js';
import { WireReason } from './reasons.js';
import { readMac } from './addr.js';

/** Bytes of a quoted packet's L4 header that must be present (RFC 792 guarantees 8). */
export const QUOTED_L4_LEN = 8;

/**
 * Everything the datapath needs to know about one frame, as numbers. One
 * instance is reused for every packet; every field is initialised where it is
 * declared and reset by clear(). Offsets are absolute indexes into the
 * buffer handed to the parser.
 */
export class PacketInfo {
  // ---- frame
  /** Captured bytes of the frame (for a packet decoded by parseIp: captured bytes from l3Off). */
  capLen = 0;
  /** Original length of the frame on the wire (parseIp: bytes from l3Off on the wire). */
  origLen = 0;
  /** Number of VLAN tags, 0..2. */
  vlanCount = 0;
  /** TPID of the outer tag (0x8100 or 0x88a8), 0 when untagged. */
  vlanTpid0 = 0;
  /** TCI (priority, DEI, VLAN id) of the outer tag. */
  vlanTci0 = 0;
  /** TPID of the inner tag, 0 when fewer than two tags. */
  vlanTpid1 = 0;
  /** TCI of the inner tag. */
  vlanTci1 = 0;
  /** The EtherType after the tags (0x0800, 0x86dd, 0x0806, ...; a value below 0x0600 is an 802.3 length). */
  etherType = 0;
  /** Offset of the network header (IP or ARP). */
  l3Off = 0;

  // ---- IP
  /** 4, 6, or 0 for a frame that is not IP. */
  af = 0;
  /** Source address words (IPv4: word 0, words 1..3 zero). */
  readonly saddr = new Uint32Array(4);
  /** Destination address words (IPv4: word 0, words 1..3 zero). */
  readonly daddr = new Uint32Array(4);
  /** IPv4: IHL*4; IPv6: 40 + the extension headers before the upper layer (up to and including a non-first fragment's fragment header). */
  ipHdrLen = 0;
  /** IPv4: total length; IPv6: 40 + payload length. */
  ipTotalLen = 0;
  /** End of the IP packet: l3Off + ipTotalLen (may lie beyond the captured bytes). */
  l3End = 0;
  /** End of the captured bytes of this IP packet: min(end of capture, l3End); for a quoted packet, the end of the quote. */
  capEnd = 0;
  /** IPv4 TTL or IPv6 hop limit. */
  ttl = 0;
  /** IPv4 TOS or IPv6 traffic class. */
  tos = 0;
  /** IPv6 flow label (20 bits), 0 for IPv4. */
  flowLabel = 0;
  /** IPv4 identification, or the IPv6 fragment header's 32-bit identification (0 without one). */
  ipId = 0;
  /** IPv4 don't-fragment bit, 0/1 (0 for IPv6). */
  df = 0;
  /** More-fragments bit (IPv4 flag or IPv6 fragment header), 0/1. */
  mf = 0;
  /** Fragment offset in bytes. */
  fragOff = 0;
  /** 1 when the packet is a fragment (mf set or fragOff non-zero; an IPv6 atomic fragment is not), else 0. */
  isFragment = 0;
  /** Offset of the IPv6 fragment header, or -1. */
  fragHdrOff = -1;
  /** Upper-layer protocol (after IPv6 extension headers; IpProto.NONE when there is none). */
  proto = 0;
  /** IPv4 options present (IPV4_OPT_FLAG bits), 0 without options and for IPv6. */
  ipOptFlags = 0;
  /** Number of IPv6 extension headers walked. */
  extCount = 0;

  // ---- L4
  /** Offset of the upper-layer header (for a non-first fragment: of its data). */
  l4Off = 0;
  /** L4 length per the IP header: ipTotalLen - ipHdrLen. */
  l4Len = 0;
  /** L4 bytes actually captured (<= l4Len, except for a quoted packet, where it is the bytes quoted). */
  l4Cap = 0;
  /** A soft L4 anomaly IPVS ignores but an L4 stack drops (TCP_BAD_DATA_OFFSET, UDP_BAD_LENGTH), else 0. */
  l4Reason = 0;
  /** TCP/UDP/SCTP source port, 0 otherwise. */
  sport = 0;
  /** TCP/UDP/SCTP destination port, 0 otherwise. */
  dport = 0;
  /** TCP flags (TcpFlag bits, NS included). */
  tcpFlags = 0;
  /** TCP header length in bytes (data offset * 4). */
  tcpHdrLen = 0;
  tcpSeq = 0;
  tcpAck = 0;
  tcpWindow = 0;
  /** The UDP length field. */
  udpLen = 0;
  /** ICMP or ICMPv6 type (0 when not ICMP: check proto). */
  icmpType = 0;
  icmpCode = 0;
  /** Identifier of an echo (or timestamp/information) message, else 0. */
  icmpId = 0;
  /** 1 when the ICMP/ICMPv6 message is an error quoting a packet at l4Off + 8, else 0. */
  icmpIsError = 0;
  /** SCTP verification tag. */
  sctpVtag = 0;
  /** Type of the first SCTP chunk. */
  sctpChunkType = 0;

  // ---- ARP
  /** ARP operation (1 request, 2 reply). */
  arpOp = 0;
  /** Sender MAC (48-bit integer). */
  arpSha = 0;
  /** Sender IPv4 address word. */
  arpSpa = 0;
  /** Target MAC (48-bit integer). */
  arpTha = 0;
  /** Target IPv4 address word. */
  arpTpa = 0;

  /** Resets every field to its initial value (the address arrays are zeroed in place). */
  clear(): void {
    this.capLen = 0;
    this.origLen = 0;
    this.vlanCount = 0;
    this.vlanTpid0 = 0;
    this.vlanTci0 = 0;
    this.vlanTpid1 = 0;
    this.vlanTci1 = 0;
    this.etherType = 0;
    this.l3Off = 0;
    this.af = 0;
    const s = this.saddr;
    const d = this.daddr;
    s[0] = s[1] = s[2] = s[3] = 0;
    d[0] = d[1] = d[2] = d[3] = 0;
    this.ipHdrLen = 0;
    this.ipTotalLen = 0;
    this.l3End = 0;
    this.capEnd = 0;
    this.ttl = 0;
    this.tos = 0;
    this.flowLabel = 0;
    this.ipId = 0;
    this.df = 0;
    this.mf = 0;
    this.fragOff = 0;
    this.isFragment = 0;
    this.fragHdrOff = -1;
    this.proto = 0;
    this.ipOptFlags = 0;
    this.extCount = 0;
    this.l4Off = 0;
    this.l4Len = 0;
    this.l4Cap = 0;
    this.l4Reason = 0;
    this.sport = 0;
    this.dport = 0;
    this.tcpFlags = 0;
    this.tcpHdrLen = 0;
    this.tcpSeq = 0;
    this.tcpAck = 0;
    this.tcpWindow = 0;
    this.udpLen = 0;
    this.icmpType = 0;
    this.icmpCode = 0;
    this.icmpId = 0;
    this.icmpIsError = 0;
    this.sctpVtag = 0;
    this.sctpChunkType = 0;
    this.arpOp = 0;
    this.arpSha = 0;
    this.arpSpa = 0;
    this.arpTha = 0;
    this.arpTpa = 0;
  }
}

/**
 * Decodes an Ethernet frame of `capLen` captured bytes at `off` (`origLen`
 * on the wire) into `info`: Ethernet, up to two VLAN tags, then ARP, IPv4 or
 * IPv6 and the upper layer. Returns 0 or a WireReason; never throws, never
 * allocates. Other EtherTypes return OK with af = 0.
 */
export function parseFrame(
  buf: Uint8Array,
  off: number,
  capLen: number,
  origLen: number,
  info: PacketInfo,
): number {
  info.clear();
  info.capLen = capLen;
  info.origLen = origLen;
  if (!(off >= 0 && capLen >= 0 && off + capLen <= buf.length)) return WireReason.FRAME_BEYOND_BUFFER;
  if (capLen > origLen) return WireReason.FRAME_CAPLEN_EXCEEDS_LEN;
  if (origLen > MAX_FRAME_LEN) return WireReason.FRAME_OVERSIZE;
  if (origLen < ETH.HDR_LEN) return WireReason.ETH_TRUNCATED;
  if (capLen < ETH.HDR_LEN) return WireReason.ETH_HEADER_NOT_CAPTURED;
  const capEnd = off + capLen;
  const origEnd = off + origLen;
  let p = off + ETH.TYPE;
  let type = rd16(buf, p);
  while (isVlanTpid(type)) {
    if (info.vlanCount === MAX_VLAN_TAGS) return WireReason.VLAN_TOO_MANY_TAGS;
    // the tag (TPID, TCI) and the type after it
    if (p + 6 > origEnd) return WireReason.VLAN_TRUNCATED;
    if (p + 6 > capEnd) return WireReason.VLAN_HEADER_NOT_CAPTURED;
    const tci = rd16(buf, p + 2);
    if (info.vlanCount === 0) {
      info.vlanTpid0 = type;
      info.vlanTci0 = tci;
    } else {
      info.vlanTpid1 = type;
      info.vlanTci1 = tci;
    }
    info.vlanCount++;
    p += 4;
    type = rd16(buf, p);
  }
  info.etherType = type;
  const l3 = p + 2;
  info.l3Off = l3;
  if (type === EtherType.IPV4) return ipv4Body(buf, l3, capEnd, origEnd, info);
  if (type === EtherType.IPV6) return ipv6Body(buf, l3, capEnd, origEnd, info);
  if (type === EtherType.ARP) return arpBody(buf, l3, capEnd, origEnd, info);
  return WireReason.OK;
}

/**
 * Decodes an IP packet at `off` (a tunnel's inner packet, a reassembled
 * packet): IPv6 when its version nibble is 6, otherwise checked as IPv4.
 * `end` is the end of the captured bytes, `origEnd` where the packet's
 * container ends on the wire. Ethernet fields stay zero.
 */
export function parseIp(
  buf: Uint8Array,
  off: number,
  end: number,
  origEnd: number,
  info: PacketInfo,
): number {
  if (off < end && off >= 0 && buf[off] >>> 4 === 6) return parseIpv6(buf, off, end, origEnd, info);
  return parseIpv4(buf, off, end, origEnd, info);
}

/** As parseIp for a packet known to be IPv4 (IPIP, GUE proto 4, GRE 0x0800). */
export function parseIpv4(
  buf: Uint8Array,
  off: number,
  end: number,
  origEnd: number,
  info: PacketInfo,
): number {
  const r = ipStart(buf, off, end, origEnd, info);
  return r !== WireReason.OK ? r : ipv4Body(buf, off, end, origEnd, info);
}

/** As parseIp for a packet known to be IPv6 (ip6ip6, GUE proto 41, GRE 0x86dd). */
export function parseIpv6(
  buf: Uint8Array,
  off: number,
  end: number,
  origEnd: number,
  info: PacketInfo,
): number {
  const r = ipStart(buf, off, end, origEnd, info);
  return r !== WireReason.OK ? r : ipv6Body(buf, off, end, origEnd, info);
}

function ipStart(buf: Uint8Array, off: number, end: number, origEnd: number, info: PacketInfo): number {
  info.clear();
  info.l3Off = off;
  info.capLen = end - off;
  info.origLen = origEnd - off;
  if (!(off >= 0 && end >= off && end <= buf.length)) return WireReason.FRAME_BEYOND_BUFFER;
  if (end > origEnd) return WireReason.FRAME_CAPLEN_EXCEEDS_LEN;
  return WireReason.OK;
}

/**
 * Decodes the packet quoted by an ICMP/ICMPv6 error, `off` .. `end` being the
 * quoted bytes present. Lenient, as IPVS's ip_vs_in_icmp(): the quoted IP
 * header must be present (IPv4: 20 bytes and IHL*4; IPv6: 40 bytes and the
 * extension headers), its total length may exceed what is quoted and its
 * checksum is not verified, and only the first 8 bytes of the L4 header are
 * needed (TCP: ports and sequence number; UDP: ports, length; SCTP: ports,
 * verification tag; ICMP: type, code, id). `capEnd` is set to `end`, and
 * `l4Cap` counts the quoted L4 bytes. A quoted non-first fragment has no L4.
 * A version other than 4 or 6 is IPV4_BAD_VERSION.
 */
export function parseQuoted(buf: Uint8Array, off: number, end: number, info: PacketInfo): number {
  info.clear();
  info.l3Off = off;
  info.capLen = end - off;
  info.origLen = end - off;
  if (!(off >= 0 && end <= buf.length)) return WireReason.FRAME_BEYOND_BUFFER;
  if (off >= end) return WireReason.IPV4_HEADER_NOT_CAPTURED;
  info.capEnd = end;
  const v = buf[off] >>> 4;
  if (v === 6) {
    if (off + IPV6.HDR_LEN > end) return WireReason.IPV6_HEADER_NOT_CAPTURED;
    ipv6Fields(buf, off, info);
    info.ipTotalLen = IPV6.HDR_LEN + rd16(buf, off + IPV6.PAYLOAD_LEN);
    info.l3End = off + info.ipTotalLen;
    const r = ipv6Walk(buf, off, end, end, info, true);
    if (r !== WireReason.OK) return r;
    info.l4Len = Math.max(0, info.l3End - info.l4Off);
  } else {
    if (v !== 4) return WireReason.IPV4_BAD_VERSION;
    if (off + IPV4.MIN_LEN > end) return WireReason.IPV4_HEADER_NOT_CAPTURED;
    const hl = (buf[off] & 15) << 2;
    if (hl < IPV4.MIN_LEN) return WireReason.IPV4_BAD_IHL;
    if (off + hl > end) return WireReason.IPV4_HEADER_NOT_CAPTURED;
    ipv4Fields(buf, off, hl, info);
    info.l3End = off + info.ipTotalLen;
    info.l4Len = Math.max(0, info.ipTotalLen - hl);
  }
  info.l4Cap = end - info.l4Off;
  if (info.fragOff !== 0) return WireReason.OK;
  const l4 = info.l4Off;
  const proto = info.proto;
  const icmp = info.af === 4 ? proto === IpProto.ICMP : proto === IpProto.ICMPV6;
  if (proto !== IpProto.TCP && proto !== IpProto.UDP && proto !== IpProto.SCTP && !icmp) return WireReason.OK;
  if (l4 + QUOTED_L4_LEN > end) return WireReason.L4_HEADER_NOT_CAPTURED;
  if (icmp) {
    icmpFields(buf, l4, info);
    return WireReason.OK;
  }
  info.sport = rd16(buf, l4);
  info.dport = rd16(buf, l4 + 2);
  if (proto === IpProto.TCP) info.tcpSeq = rd32(buf, l4 + TCP.SEQ);
  else if (proto === IpProto.UDP) info.udpLen = rd16(buf, l4 + UDP.LEN);
  else info.sctpVtag = rd32(buf, l4 + SCTP.VTAG);
  return WireReason.OK;
}

/**
 * Decodes the inner packet of a tunnel packet decoded in `outer` into
 * `inner`: IPIP (protocol 4) and IPv6-in-IP (41) directly after the outer
 * header, GRE (47, protocol 0x0800/0x86dd) after its header, and GUE when the
 * outer packet is UDP to `guePort` (pass 0 for no GUE port). The inner packet
 * is checked as a received packet (parseIpv4/parseIpv6) within the outer
 * payload. Returns NOT_A_TUNNEL for anything else (and for a fragment:
 * reassemble first), TUNNEL_INNER_NOT_IP for a GRE/GUE payload that
 * is not IP, or the reason the GRE/GUE header or inner packet fails.
 */
export function parseInner(buf: Uint8Array, outer: PacketInfo, inner: PacketInfo, guePort: number): number {
  inner.clear();
  if (outer.af === 0 || outer.isFragment !== 0) return WireReason.NOT_A_TUNNEL;
  const l4 = outer.l4Off;
  const capEnd = outer.capEnd;
  const end = outer.l3End;
  switch (outer.proto) {
    case IpProto.IPIP:
      return parseIpv4(buf, l4, Math.max(l4, capEnd), end, inner);
    case IpProto.IPV6:
      return parseIpv6(buf, l4, Math.max(l4, capEnd), end, inner);
    case IpProto.GRE: {
      const r = checkGre(buf, l4, capEnd, end);
      if (r !== WireReason.OK) return r;
      const p = l4 + greHeaderLen(rd16(buf, l4));
      const type = rd16(buf, l4 + GRE.PROTO);
      if (type === EtherType.IPV4) return parseIpv4(buf, p, Math.max(p, capEnd), end, inner);
      if (type === EtherType.IPV6) return parseIpv6(buf, p, Math.max(p, capEnd), end, inner);
      return WireReason.TUNNEL_INNER_NOT_IP;
    }
    case IpProto.UDP: {
      if (guePort === 0 || outer.dport !== guePort) return WireReason.NOT_A_TUNNEL;
      if (outer.l4Reason !== WireReason.OK) return outer.l4Reason;
      const u = l4 + UDP.HDR_LEN;
      const uEnd = l4 + outer.udpLen;
      const uCap = Math.min(capEnd, uEnd);
      const r = checkGue(buf, u, uCap, uEnd);
      if (r !== WireReason.OK) return r;
      const b0 = buf[u];
      let p = u;
      let innerProto: number;
      if (b0 >>> 6 === 1) {
        innerProto = b0 >>> 4 === 6 ? IpProto.IPV6 : b0 >>> 4 === 4 ? IpProto.IPIP : -1;
      } else {
        innerProto = b0 & 0x20 ? -1 : buf[u + GUE.PROTO];
        p = u + GUE.HDR_LEN + ((b0 & 31) << 2);
      }
      if (innerProto === IpProto.IPIP) return parseIpv4(buf, p, Math.max(p, uCap), uEnd, inner);
      if (innerProto === IpProto.IPV6) return parseIpv6(buf, p, Math.max(p, uCap), uEnd, inner);
      return WireReason.TUNNEL_INNER_NOT_IP;
    }
    default:
      return WireReason.NOT_A_TUNNEL;
  }
}

// ---------------------------------------------------------------- internals

function arpBody(buf: Uint8Array, off: number, capEnd: number, origEnd: number, info: PacketInfo): number {
  const r = checkArp(buf, off, capEnd, origEnd);
  if (r !== WireReason.OK) return r;
  info.arpOp = rd16(buf, off + ARP.OP);
  info.arpSha = readMac(buf, off + ARP.SHA);
  info.arpSpa = rd32(buf, off + ARP.SPA);
  info.arpTha = readMac(buf, off + ARP.THA);
  info.arpTpa = rd32(buf, off + ARP.TPA);
  return WireReason.OK;
}

/** Fills the IPv4 header fields (header of `hl` bytes at `off`, present). */
function ipv4Fields(buf: Uint8Array, off: number, hl: number, info: PacketInfo): void {
  info.af = 4;
  info.l3Off = off;
  info.tos = buf[off + IPV4.TOS];
  info.ipTotalLen = rd16(buf, off + IPV4.TOTAL_LEN);
  info.ipId = rd16(buf, off + IPV4.ID);
  const frag = rd16(buf, off + IPV4.FRAG);
  info.df = (frag >>> 14) & 1;
  info.mf = (frag >>> 13) & 1;
  info.fragOff = (frag & 0x1fff) << 3;
  info.isFragment = info.mf | (info.fragOff !== 0 ? 1 : 0);
  info.ttl = buf[off + IPV4.TTL];
  info.proto = buf[off + IPV4.PROTO];
  info.saddr[0] = rd32i(buf, off + IPV4.SRC);
  info.daddr[0] = rd32i(buf, off + IPV4.DST);
  info.ipHdrLen = hl;
  info.l4Off = off + hl;
}

function ipv4Body(buf: Uint8Array, off: number, capEnd: number, origEnd: number, info: PacketInfo): number {
  const r = checkIpv4(buf, off, capEnd, origEnd);
  if (r !== WireReason.OK) return r;
  const hl = (buf[off] & 15) << 2;
  ipv4Fields(buf, off, hl, info);
  if (hl > IPV4.MIN_LEN) info.ipOptFlags = ipv4OptionFlags(buf, off);
  const l3End = off + info.ipTotalLen;
  info.l3End = l3End;
  info.capEnd = capEnd < l3End ? capEnd : l3End;
  info.l4Len = info.ipTotalLen - hl;
  info.l4Cap = info.capEnd > info.l4Off ? info.capEnd - info.l4Off : 0;
  if (info.fragOff !== 0) return WireReason.OK;
  return l4Body(buf, info, info.mf === 1);
}

/** Fills the IPv6 fixed header fields (40 bytes at `off`, present). */
function ipv6Fields(buf: Uint8Array, off: number, info: PacketInfo): void {
  info.af = 6;
  info.l3Off = off;
  const w0 = rd32(buf, off);
  info.tos = (w0 >>> 20) & 0xff;
  info.flowLabel = w0 & 0xfffff;
  info.ttl = buf[off + IPV6.HOP_LIMIT];
  const s = info.saddr;
  const d = info.daddr;
  for (let i = 0; i < 4; i++) {
    s[i] = rd32i(buf, off + IPV6.SRC + 4 * i);
    d[i] = rd32i(buf, off + IPV6.DST + 4 * i);
  }
}

function ipv6Body(buf: Uint8Array, off: number, capEnd: number, origEnd: number, info: PacketInfo): number {
  const r = checkIpv6(buf, off, capEnd, origEnd);
  if (r !== WireReason.OK) return r;
  ipv6Fields(buf, off, info);
  const total = IPV6.HDR_LEN + rd16(buf, off + IPV6.PAYLOAD_LEN);
  const l3End = off + total;
  info.ipTotalLen = total;
  info.l3End = l3End;
  info.capEnd = capEnd < l3End ? capEnd : l3End;
  const w = ipv6Walk(buf, off, info.capEnd, l3End, info, false);
  if (w !== WireReason.OK) return w;
  info.l4Len = l3End - info.l4Off;
  info.l4Cap = info.capEnd > info.l4Off ? info.capEnd - info.l4Off : 0;
  if (info.fragOff !== 0) return WireReason.OK;
  return l4Body(buf, info, info.mf === 1);
}

/**
 * Walks the extension headers after the IPv6 header at `off` as
 * ipv6_find_hdr() does, setting proto, l4Off, ipHdrLen, extCount and the
 * fragment fields; stops at a non-first fragment. `chainEnd` is the payload's
 * end (on the wire), `capEnd` the captured end; a quoted packet has only its
 * quote (`quoted`: both the same, reported as not captured, and no
 * hop-by-hop option checks).
 */
function ipv6Walk(
  buf: Uint8Array,
  off: number,
  capEnd: number,
  chainEnd: number,
  info: PacketInfo,
  quoted: boolean,
): number {
  let nh = buf[off + IPV6.NEXT_HDR];
  let p = off + IPV6.HDR_LEN;
  let n = 0;
  while (isIpv6ExtHeader(nh)) {
    if (n === MAX_IPV6_EXT_HEADERS) return WireReason.IPV6_TOO_MANY_EXTENSION_HEADERS;
    n++;
    if (p + 2 > chainEnd && !quoted) return WireReason.IPV6_BAD_EXTENSION_CHAIN;
    if (p + 2 > capEnd) return WireReason.IPV6_EXTENSION_HEADER_NOT_CAPTURED;
    const hl = ipv6ExtHeaderLen(buf, p, nh);
    if (p + hl > chainEnd && !quoted) return WireReason.IPV6_BAD_EXTENSION_CHAIN;
    if (p + hl > capEnd) return WireReason.IPV6_EXTENSION_HEADER_NOT_CAPTURED;
    if (nh === IpProto.HOPOPTS && n === 1 && !quoted) {
      const r = checkIpv6HopOpts(buf, off, p);
      if (r !== WireReason.OK) return r;
    }
    const next = buf[p];
    if (nh === IpProto.FRAGMENT) {
      const fw = rd16(buf, p + IPV6_FRAG.FRAG);
      info.fragHdrOff = p;
      info.fragOff = fw & 0xfff8;
      info.mf = fw & 1;
      info.isFragment = info.mf | (info.fragOff !== 0 ? 1 : 0);
      info.ipId = rd32(buf, p + IPV6_FRAG.IDENT);
      if (info.fragOff !== 0) {
        nh = next;
        p += hl;
        break;
      }
    }
    nh = next;
    p += hl;
  }
  info.extCount = n;
  info.proto = nh;
  info.ipHdrLen = p - off;
  info.l4Off = p;
  return WireReason.OK;
}

function icmpFields(buf: Uint8Array, l4: number, info: PacketInfo): void {
  const type = buf[l4];
  info.icmpType = type;
  info.icmpCode = buf[l4 + 1];
  if (info.af === 4) {
    info.icmpIsError = isIcmpError(type) ? 1 : 0;
    if (icmpHasId(type)) info.icmpId = rd16(buf, l4 + 4);
  } else {
    info.icmpIsError = type < 128 ? 1 : 0;
    if (type === Icmpv6Type.ECHO_REQUEST || type === Icmpv6Type.ECHO_REPLY) info.icmpId = rd16(buf, l4 + 4);
  }
}

/**
 * Decodes the upper layer at info.l4Off. `fragment`: a first fragment,
 * decoded when its header is there, never a reason. (One small function per
 * protocol keeps each path small enough for the optimiser to inline.)
 */
function l4Body(buf: Uint8Array, info: PacketInfo, fragment: boolean): number {
  const proto = info.proto;
  if (proto === IpProto.TCP) return tcpBody(buf, info, fragment);
  if (proto === IpProto.UDP) return udpBody(buf, info, fragment);
  if (proto === IpProto.ICMP) return info.af === 4 ? icmpBody(buf, info, fragment) : WireReason.OK;
  if (proto === IpProto.ICMPV6) return info.af === 6 ? icmpBody(buf, info, fragment) : WireReason.OK;
  if (proto === IpProto.SCTP) return sctpBody(buf, info, fragment);
  return WireReason.OK;
}

function tcpBody(buf: Uint8Array, info: PacketInfo, fragment: boolean): number {
  const l4 = info.l4Off;
  const r = checkTcp(buf, l4, info.capEnd, info.l3End);
  if (r !== WireReason.OK && r !== WireReason.TCP_BAD_DATA_OFFSET) return fragment ? WireReason.OK : r;
  info.sport = rd16(buf, l4 + TCP.SPORT);
  info.dport = rd16(buf, l4 + TCP.DPORT);
  info.tcpSeq = rd32(buf, l4 + TCP.SEQ);
  info.tcpAck = rd32(buf, l4 + TCP.ACK);
  const b12 = buf[l4 + TCP.DATA_OFF];
  info.tcpHdrLen = (b12 >>> 4) << 2;
  info.tcpFlags = ((b12 & 1) << 8) | buf[l4 + TCP.FLAGS];
  info.tcpWindow = rd16(buf, l4 + TCP.WINDOW);
  if (!fragment) info.l4Reason = r;
  return WireReason.OK;
}

function udpBody(buf: Uint8Array, info: PacketInfo, fragment: boolean): number {
  const l4 = info.l4Off;
  const r = checkUdp(buf, l4, info.capEnd, info.l3End);
  if (r !== WireReason.OK && r !== WireReason.UDP_BAD_LENGTH) return fragment ? WireReason.OK : r;
  info.sport = rd16(buf, l4 + UDP.SPORT);
  info.dport = rd16(buf, l4 + UDP.DPORT);
  info.udpLen = rd16(buf, l4 + UDP.LEN);
  if (!fragment) info.l4Reason = r;
  return WireReason.OK;
}

function icmpBody(buf: Uint8Array, info: PacketInfo, fragment: boolean): number {
  const l4 = info.l4Off;
  const r =
    info.af === 4
      ? checkIcmp(buf, l4, info.capEnd, info.l3End)
      : checkIcmpv6(buf, l4, info.capEnd, info.l3End);
  if (r !== WireReason.OK) return fragment ? WireReason.OK : r;
  icmpFields(buf, l4, info);
  return WireReason.OK;
}

function sctpBody(buf: Uint8Array, info: PacketInfo, fragment: boolean): number {
  const l4 = info.l4Off;
  const r = checkSctp(buf, l4, info.capEnd, info.l3End);
  if (r !== WireReason.OK) return fragment ? WireReason.OK : r;
  info.sport = rd16(buf, l4 + SCTP.SPORT);
  info.dport = rd16(buf, l4 + SCTP.DPORT);
  info.sctpVtag = rd32(buf, l4 + SCTP.VTAG);
  info.sctpChunkType = buf[l4 + SCTP.CHUNK_TYPE];
  return WireReason.OK;
}
