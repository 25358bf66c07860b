/**
 * GRE (RFC 2784 with the key and sequence extensions of RFC 2890), as IPVS's
 * `--tun-type gre` emits it: `00 00 08 00` without checksum, `80 00 08 00`
 * + checksum + reserved with `--tun-csum`. Layout: flags/version (16 bits:
 * C 0x8000, R 0x4000, K 0x2000, S 0x1000, version in the low 3 bits),
 * protocol (an EtherType), then optional checksum + reserved1 (C), key (K),
 * sequence number (S), 4 bytes each, in that order. The checksum covers the
 * GRE header and payload, no pseudo-header.
 */
import { EMPTY_BYTES, rd16, rd32, wr16, wr32 } from './bytes.js';
import { WireReason } from './reasons.js';

/** Field offsets of the GRE header (optional fields follow at OPT). */
export const GRE = { FLAGS: 0, PROTO: 2, OPT: 4, CSUM: 4, RESERVED1: 6, MIN_LEN: 4 } as const;

export const GreFlag = {
  CSUM: 0x8000,
  ROUTING: 0x4000,
  KEY: 0x2000,
  SEQ: 0x1000,
  VERSION_MASK: 0x0007,
} as const;

/** Header length implied by a flags word: 4 plus 4 per present optional field. */
export function greHeaderLen(flags: number): number {
  return (
    GRE.MIN_LEN +
    (flags & GreFlag.CSUM ? 4 : 0) +
    (flags & GreFlag.KEY ? 4 : 0) +
    (flags & GreFlag.SEQ ? 4 : 0)
  );
}

/**
 * Checks the GRE header at `off` as `gre_parse_header()` does: version 0 and
 * no routing bit, and the header with its optional fields within the packet
 * (`origEnd`) and the capture (`capEnd`).
 */
export function checkGre(buf: Uint8Array, off: number, capEnd: number, origEnd: number): number {
  if (off + GRE.MIN_LEN > origEnd) return WireReason.GRE_TRUNCATED;
  if (off + GRE.MIN_LEN > capEnd) return WireReason.GRE_HEADER_NOT_CAPTURED;
  const flags = rd16(buf, off + GRE.FLAGS);
  if (flags & (GreFlag.VERSION_MASK | GreFlag.ROUTING)) return WireReason.GRE_BAD_FLAGS;
  const len = greHeaderLen(flags);
  if (off + len > origEnd) return WireReason.GRE_TRUNCATED;
  if (off + len > capEnd) return WireReason.GRE_HEADER_NOT_CAPTURED;
  return WireReason.OK;
}

export class GreView {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;

  wrap(buf: Uint8Array, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }

  /** The flags/version word. */
  get flags(): number {
    return rd16(this.buf, this.off + GRE.FLAGS);
  }
  set flags(v: number) {
    wr16(this.buf, this.off + GRE.FLAGS, v);
  }
  get csumPresent(): boolean {
    return (this.buf[this.off] & 0x80) !== 0;
  }
  get keyPresent(): boolean {
    return (this.buf[this.off] & 0x20) !== 0;
  }
  get seqPresent(): boolean {
    return (this.buf[this.off] & 0x10) !== 0;
  }
  get version(): number {
    return this.buf[this.off + 1] & 7;
  }
  /** The payload's EtherType. */
  get protocol(): number {
    return rd16(this.buf, this.off + GRE.PROTO);
  }
  set protocol(v: number) {
    wr16(this.buf, this.off + GRE.PROTO, v);
  }
  get headerLen(): number {
    return greHeaderLen(rd16(this.buf, this.off + GRE.FLAGS));
  }
  /** The checksum (meaningful when csumPresent). */
  get csum(): number {
    return rd16(this.buf, this.off + GRE.CSUM);
  }
  set csum(v: number) {
    wr16(this.buf, this.off + GRE.CSUM, v);
  }
  /** Offset of the key field (relative to the header), or -1 when absent. */
  get keyRel(): number {
    return this.keyPresent ? GRE.OPT + (this.csumPresent ? 4 : 0) : -1;
  }
  /** The key (0 when absent). */
  get key(): number {
    const r = this.keyRel;
    return r < 0 ? 0 : rd32(this.buf, this.off + r);
  }
  set key(v: number) {
    const r = this.keyRel;
    if (r >= 0) wr32(this.buf, this.off + r, v);
  }
  /** The sequence number (0 when absent). */
  get seq(): number {
    if (!this.seqPresent) return 0;
    return rd32(this.buf, this.off + GRE.OPT + (this.csumPresent ? 4 : 0) + (this.keyPresent ? 4 : 0));
  }
}
