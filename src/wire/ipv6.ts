/**
 * IPv6 (RFC 8200): the fixed header, the extension headers the decode chain
 * walks (hop-by-hop, routing, fragment, authentication, destination options;
 * parse.ts walks them as `ipv6_find_hdr()` does), and the hop-by-hop option
 * checks `ip6_rcv_core()` applies before IPVS sees the packet.
 *
 * Addresses are accessed as four 32-bit words (network order read
 * big-endian, as wire/addr.ts), by index or copied to/from a Uint32Array.
 */
import { EMPTY_BYTES, rd16, rd32, wr16, wr32 } from './bytes.js';
import { IpProto } from './ip.js';
import { WireReason } from './reasons.js';

/** Field offsets of the IPv6 fixed header. */
export const IPV6 = {
  VER_TC_FL: 0,
  PAYLOAD_LEN: 4,
  NEXT_HDR: 6,
  HOP_LIMIT: 7,
  SRC: 8,
  DST: 24,
  HDR_LEN: 40,
} as const;

/** Field offsets common to hop-by-hop, routing, destination options and AH headers. */
export const IPV6_EXT = { NEXT_HDR: 0, HDR_LEN: 1, MIN_LEN: 8 } as const;

/** Field offsets of the IPv6 fragment header. */
export const IPV6_FRAG = { NEXT_HDR: 0, RESERVED: 1, FRAG: 2, IDENT: 4, LEN: 8 } as const;

/** Largest number of extension headers the decode chain walks (the kernel has no fixed limit; real traffic uses a few). */
export const MAX_IPV6_EXT_HEADERS = 16;

/** Largest number of non-padding hop-by-hop options (sysctl net.ipv6.max_hbh_opts_number, default 8). */
export const MAX_HBH_OPTS = 8;

/** Hop-by-hop option types the kernel knows. */
export const Ipv6HopOpt = { PAD1: 0, PADN: 1, ROUTER_ALERT: 5, CALIPSO: 7, IOAM: 0x31, JUMBO: 0xc2 } as const;

/**
 * Length in bytes of the extension header of type `nh` at `off`: AH counts
 * 4-byte units plus 2, the fragment header is 8, the others count 8-byte
 * units plus 1 (ipv6_optlen / ipv6_authlen).
 */
export function ipv6ExtHeaderLen(buf: Uint8Array, off: number, nh: number): number {
  if (nh === IpProto.FRAGMENT) return IPV6_FRAG.LEN;
  if (nh === IpProto.AH) return (buf[off + IPV6_EXT.HDR_LEN] + 2) << 2;
  return (buf[off + IPV6_EXT.HDR_LEN] + 1) << 3;
}

/**
 * Checks the IPv6 fixed header at `off` as `ip6_rcv_core()` does: 40 bytes
 * present (`origEnd` on the wire, `capEnd` captured), version 6, and
 * 40 + payload length within the frame. A payload length of 0 with a
 * hop-by-hop header announces a jumbogram, which is not modelled.
 */
export function checkIpv6(buf: Uint8Array, off: number, capEnd: number, origEnd: number): number {
  if (off + IPV6.HDR_LEN > origEnd) return WireReason.IPV6_TRUNCATED;
  if (off + IPV6.HDR_LEN > capEnd) return WireReason.IPV6_HEADER_NOT_CAPTURED;
  if (buf[off] >>> 4 !== 6) return WireReason.IPV6_BAD_VERSION;
  const plen = rd16(buf, off + IPV6.PAYLOAD_LEN);
  if (plen === 0 && buf[off + IPV6.NEXT_HDR] === IpProto.HOPOPTS) return WireReason.IPV6_JUMBOGRAM;
  if (off + IPV6.HDR_LEN + plen > origEnd) return WireReason.IPV6_PAYLOAD_BEYOND_FRAME;
  return WireReason.OK;
}

/**
 * Checks the options of the hop-by-hop header at `hopOff` (which must be
 * entirely present) as `ip6_parse_tlv()` does for a packet the director
 * receives: TLVs fill the header exactly; runs of padding at most 7 bytes;
 * PadN content zero; at most MAX_HBH_OPTS other options; router alert with
 * 2 bytes of data; IOAM with at least 2 bytes of data, 4-byte aligned (then
 * ignored: IOAM is off by default); a jumbo payload option is refused (the
 * payload length is not 0 here); CALIPSO refused (no DOI configured); an
 * unknown option whose two high bits are not 00 drops the packet. `ipOff` is
 * the IPv6 header's offset (alignment is relative to it). Returns 0 or
 * IPV6_BAD_HOP_BY_HOP_OPTIONS.
 */
export function checkIpv6HopOpts(buf: Uint8Array, ipOff: number, hopOff: number): number {
  const bad = WireReason.IPV6_BAD_HOP_BY_HOP_OPTIONS;
  let p = hopOff + 2;
  let left = ((buf[hopOff + IPV6_EXT.HDR_LEN] + 1) << 3) - 2;
  let pad = 0;
  let count = 0;
  while (left > 0) {
    const type = buf[p];
    if (type === Ipv6HopOpt.PAD1) {
      if (++pad > 7) return bad;
      p++;
      left--;
      continue;
    }
    if (left < 2) return bad;
    const optLen = buf[p + 1] + 2;
    if (optLen > left) return bad;
    if (type === Ipv6HopOpt.PADN) {
      pad += optLen;
      if (pad > 7) return bad;
      for (let i = 2; i < optLen; i++) if (buf[p + i] !== 0) return bad;
    } else {
      if (++count > MAX_HBH_OPTS) return bad;
      switch (type) {
        case Ipv6HopOpt.ROUTER_ALERT:
          if (optLen - 2 !== 2) return bad;
          break;
        case Ipv6HopOpt.IOAM:
          if (optLen - 2 < 2 || (p - ipOff) & 3) return bad;
          break;
        case Ipv6HopOpt.JUMBO:
        case Ipv6HopOpt.CALIPSO:
          return bad;
        default:
          if (type >>> 6 !== 0) return bad;
      }
      pad = 0;
    }
    p += optLen;
    left -= optLen;
  }
  return WireReason.OK;
}

/** A view of the IPv6 fixed header. */
export class Ipv6View {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;

  wrap(buf: Uint8Array, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }

  get version(): number {
    return this.buf[this.off] >>> 4;
  }
  get trafficClass(): number {
    return (rd16(this.buf, this.off) >>> 4) & 0xff;
  }
  set trafficClass(v: number) {
    const w = rd16(this.buf, this.off);
    wr16(this.buf, this.off, (w & 0xf00f) | ((v & 0xff) << 4));
  }
  /** The 20-bit flow label. */
  get flowLabel(): number {
    return rd32(this.buf, this.off) & 0xfffff;
  }
  set flowLabel(v: number) {
    const w = rd32(this.buf, this.off);
    wr32(this.buf, this.off, ((w & 0xfff00000) | (v & 0xfffff)) >>> 0);
  }
  get payloadLen(): number {
    return rd16(this.buf, this.off + IPV6.PAYLOAD_LEN);
  }
  set payloadLen(v: number) {
    wr16(this.buf, this.off + IPV6.PAYLOAD_LEN, v);
  }
  /** The fixed header's next header (the first extension header or the upper layer). */
  get nextHeader(): number {
    return this.buf[this.off + IPV6.NEXT_HDR];
  }
  set nextHeader(v: number) {
    this.buf[this.off + IPV6.NEXT_HDR] = v;
  }
  get hopLimit(): number {
    return this.buf[this.off + IPV6.HOP_LIMIT];
  }
  set hopLimit(v: number) {
    this.buf[this.off + IPV6.HOP_LIMIT] = v;
  }
  /** Source address word `i` (0..3). */
  srcWord(i: number): number {
    return rd32(this.buf, this.off + IPV6.SRC + 4 * i);
  }
  setSrcWord(i: number, w: number): void {
    wr32(this.buf, this.off + IPV6.SRC + 4 * i, w);
  }
  /** Destination address word `i` (0..3). */
  dstWord(i: number): number {
    return rd32(this.buf, this.off + IPV6.DST + 4 * i);
  }
  setDstWord(i: number, w: number): void {
    wr32(this.buf, this.off + IPV6.DST + 4 * i, w);
  }
  /** Copies the source address into `out[idx..idx+3]`. */
  readSrc(out: Uint32Array, idx = 0): void {
    for (let i = 0; i < 4; i++) out[idx + i] = rd32(this.buf, this.off + IPV6.SRC + 4 * i);
  }
  /** Copies the destination address into `out[idx..idx+3]`. */
  readDst(out: Uint32Array, idx = 0): void {
    for (let i = 0; i < 4; i++) out[idx + i] = rd32(this.buf, this.off + IPV6.DST + 4 * i);
  }
  /** Writes `words[idx..idx+3]` as the source address. */
  writeSrc(words: ArrayLike<number>, idx = 0): void {
    for (let i = 0; i < 4; i++) wr32(this.buf, this.off + IPV6.SRC + 4 * i, words[idx + i]);
  }
  /** Writes `words[idx..idx+3]` as the destination address. */
  writeDst(words: ArrayLike<number>, idx = 0): void {
    for (let i = 0; i < 4; i++) wr32(this.buf, this.off + IPV6.DST + 4 * i, words[idx + i]);
  }
}

/** A view of a hop-by-hop, routing, destination options or AH header. */
export class Ipv6ExtView {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;

  wrap(buf: Uint8Array, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }

  get nextHeader(): number {
    return this.buf[this.off + IPV6_EXT.NEXT_HDR];
  }
  set nextHeader(v: number) {
    this.buf[this.off + IPV6_EXT.NEXT_HDR] = v;
  }
  /** The raw length field. */
  get hdrLenField(): number {
    return this.buf[this.off + IPV6_EXT.HDR_LEN];
  }
  /** Length in bytes, for a header of type `type` (AH counts differently). */
  byteLen(type: number): number {
    return ipv6ExtHeaderLen(this.buf, this.off, type);
  }
}

/** A view of the IPv6 fragment header. */
export class Ipv6FragView {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;

  wrap(buf: Uint8Array, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }

  get nextHeader(): number {
    return this.buf[this.off + IPV6_FRAG.NEXT_HDR];
  }
  set nextHeader(v: number) {
    this.buf[this.off + IPV6_FRAG.NEXT_HDR] = v;
  }
  /** Fragment offset in bytes. */
  get fragOffset(): number {
    return rd16(this.buf, this.off + IPV6_FRAG.FRAG) & 0xfff8;
  }
  set fragOffset(bytes: number) {
    const w = rd16(this.buf, this.off + IPV6_FRAG.FRAG);
    wr16(this.buf, this.off + IPV6_FRAG.FRAG, (w & 7) | (bytes & 0xfff8));
  }
  /** More-fragments flag, 0/1. */
  get mf(): number {
    return this.buf[this.off + IPV6_FRAG.FRAG + 1] & 1;
  }
  set mf(v: number) {
    const o = this.off + IPV6_FRAG.FRAG + 1;
    this.buf[o] = v ? this.buf[o] | 1 : this.buf[o] & ~1;
  }
  get ident(): number {
    return rd32(this.buf, this.off + IPV6_FRAG.IDENT);
  }
  set ident(v: number) {
    wr32(this.buf, this.off + IPV6_FRAG.IDENT, v);
  }
}
