/**
 * ICMPv4 (RFC 792). The checksum covers the whole message, no pseudo-header.
 * Error messages (destination unreachable, source quench, redirect, time
 * exceeded, parameter problem) quote the offending packet after the 8-byte
 * header; parse.ts parseQuoted() decodes it.
 */
import { EMPTY_BYTES, rd16, rd32, wr16, wr32 } from './bytes.js';
import { WireReason } from './reasons.js';

/** Field offsets of the ICMP header. */
export const ICMP = { TYPE: 0, CODE: 1, CSUM: 2, ID: 4, SEQ: 6, REST: 4, MTU: 6, HDR_LEN: 8 } as const;

export const IcmpType = {
  ECHO_REPLY: 0,
  DEST_UNREACH: 3,
  SOURCE_QUENCH: 4,
  REDIRECT: 5,
  ECHO: 8,
  TIME_EXCEEDED: 11,
  PARAMETER_PROB: 12,
  TIMESTAMP: 13,
  TIMESTAMP_REPLY: 14,
  INFO_REQUEST: 15,
  INFO_REPLY: 16,
} as const;

/** Codes of destination unreachable. */
export const IcmpUnreachCode = {
  NET: 0,
  HOST: 1,
  PROTOCOL: 2,
  PORT: 3,
  FRAG_NEEDED: 4,
  SOURCE_ROUTE_FAILED: 5,
  NET_ADMIN: 9,
  HOST_ADMIN: 10,
  ADMIN: 13,
} as const;

/** Codes of time exceeded. */
export const IcmpTimeExceededCode = { TTL: 0, FRAGMENT_REASSEMBLY: 1 } as const;

/** Whether `type` is an error message quoting a packet (icmp_is_err()). */
export function isIcmpError(type: number): boolean {
  return (
    type === IcmpType.DEST_UNREACH ||
    type === IcmpType.SOURCE_QUENCH ||
    type === IcmpType.REDIRECT ||
    type === IcmpType.TIME_EXCEEDED ||
    type === IcmpType.PARAMETER_PROB
  );
}

/** Whether `type` carries an identifier and sequence number (echo, timestamp, information). */
export function icmpHasId(type: number): boolean {
  return (
    type === IcmpType.ECHO ||
    type === IcmpType.ECHO_REPLY ||
    type === IcmpType.TIMESTAMP ||
    type === IcmpType.TIMESTAMP_REPLY ||
    type === IcmpType.INFO_REQUEST ||
    type === IcmpType.INFO_REPLY
  );
}

/** Checks an ICMP header at `off`: 8 bytes in the message (`segEnd`) and captured (`capEnd`). */
export function checkIcmp(_buf: Uint8Array, off: number, capEnd: number, segEnd: number): number {
  if (off + ICMP.HDR_LEN > segEnd) return WireReason.ICMP_TRUNCATED;
  if (off + ICMP.HDR_LEN > capEnd) return WireReason.ICMP_HEADER_NOT_CAPTURED;
  return WireReason.OK;
}

export class IcmpView {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;

  wrap(buf: Uint8Array, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }

  get type(): number {
    return this.buf[this.off + ICMP.TYPE];
  }
  set type(v: number) {
    this.buf[this.off + ICMP.TYPE] = v;
  }
  get code(): number {
    return this.buf[this.off + ICMP.CODE];
  }
  set code(v: number) {
    this.buf[this.off + ICMP.CODE] = v;
  }
  get csum(): number {
    return rd16(this.buf, this.off + ICMP.CSUM);
  }
  set csum(v: number) {
    wr16(this.buf, this.off + ICMP.CSUM, v);
  }
  /** Echo/timestamp identifier. */
  get id(): number {
    return rd16(this.buf, this.off + ICMP.ID);
  }
  set id(v: number) {
    wr16(this.buf, this.off + ICMP.ID, v);
  }
  /** Echo/timestamp sequence number. */
  get seq(): number {
    return rd16(this.buf, this.off + ICMP.SEQ);
  }
  set seq(v: number) {
    wr16(this.buf, this.off + ICMP.SEQ, v);
  }
  /** The second 32-bit word ("rest of header"). */
  get rest(): number {
    return rd32(this.buf, this.off + ICMP.REST);
  }
  set rest(v: number) {
    wr32(this.buf, this.off + ICMP.REST, v);
  }
  /** Next-hop MTU of a fragmentation-needed message. */
  get mtu(): number {
    return rd16(this.buf, this.off + ICMP.MTU);
  }
  set mtu(v: number) {
    wr16(this.buf, this.off + ICMP.MTU, v);
  }
  /** Pointer of a parameter problem (byte 4). */
  get pointer(): number {
    return this.buf[this.off + ICMP.REST];
  }
  /** Offset of the quoted packet of an error message. */
  get quotedOff(): number {
    return this.off + ICMP.HDR_LEN;
  }
}
