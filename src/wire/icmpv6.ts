/**
 * ICMPv6 (RFC 4443). The checksum includes the IPv6 pseudo-header. Types
 * below 128 are errors quoting the offending packet after the 8-byte header.
 */
import { EMPTY_BYTES, rd16, rd32, wr16, wr32 } from './bytes.js';
import { WireReason } from './reasons.js';

/** Field offsets of the ICMPv6 header. */
export const ICMPV6 = { TYPE: 0, CODE: 1, CSUM: 2, ID: 4, SEQ: 6, MTU: 4, POINTER: 4, HDR_LEN: 8 } as const;

export const Icmpv6Type = {
  DEST_UNREACH: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  PARAMETER_PROB: 4,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  ROUTER_SOLICIT: 133,
  ROUTER_ADVERT: 134,
  NEIGHBOR_SOLICIT: 135,
  NEIGHBOR_ADVERT: 136,
  REDIRECT: 137,
} as const;

/** Codes of destination unreachable. */
export const Icmpv6UnreachCode = { NO_ROUTE: 0, ADMIN: 1, BEYOND_SCOPE: 2, ADDR: 3, PORT: 4 } as const;

/** Whether `type` is an error message (type < 128, ICMPV6_INFOMSG_MASK clear). */
export function isIcmpv6Error(type: number): boolean {
  return type < 128;
}

/** Checks an ICMPv6 header at `off`: 8 bytes in the message (`segEnd`) and captured (`capEnd`). */
export function checkIcmpv6(_buf: Uint8Array, off: number, capEnd: number, segEnd: number): number {
  if (off + ICMPV6.HDR_LEN > segEnd) return WireReason.ICMPV6_TRUNCATED;
  if (off + ICMPV6.HDR_LEN > capEnd) return WireReason.ICMPV6_HEADER_NOT_CAPTURED;
  return WireReason.OK;
}

export class Icmpv6View {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;

  wrap(buf: Uint8Array, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }

  get type(): number {
    return this.buf[this.off + ICMPV6.TYPE];
  }
  set type(v: number) {
    this.buf[this.off + ICMPV6.TYPE] = v;
  }
  get code(): number {
    return this.buf[this.off + ICMPV6.CODE];
  }
  set code(v: number) {
    this.buf[this.off + ICMPV6.CODE] = v;
  }
  get csum(): number {
    return rd16(this.buf, this.off + ICMPV6.CSUM);
  }
  set csum(v: number) {
    wr16(this.buf, this.off + ICMPV6.CSUM, v);
  }
  /** Echo identifier. */
  get id(): number {
    return rd16(this.buf, this.off + ICMPV6.ID);
  }
  set id(v: number) {
    wr16(this.buf, this.off + ICMPV6.ID, v);
  }
  /** Echo sequence number. */
  get seq(): number {
    return rd16(this.buf, this.off + ICMPV6.SEQ);
  }
  set seq(v: number) {
    wr16(this.buf, this.off + ICMPV6.SEQ, v);
  }
  /** MTU of a packet-too-big message (32 bits). */
  get mtu(): number {
    return rd32(this.buf, this.off + ICMPV6.MTU);
  }
  set mtu(v: number) {
    wr32(this.buf, this.off + ICMPV6.MTU, v);
  }
  /** Pointer of a parameter problem (32 bits). */
  get pointer(): number {
    return rd32(this.buf, this.off + ICMPV6.POINTER);
  }
  /** Offset of the quoted packet of an error message. */
  get quotedOff(): number {
    return this.off + ICMPV6.HDR_LEN;
  }
}
