/**
 * Generic UDP Encapsulation (draft-ietf-intarea-gue), the 4-byte header after
 * a UDP header that IPVS's `--tun-type gue` emits (`00 04 00 00` for IPv4
 * inside, `00 29 00 00` for IPv6):
 *
 *   byte 0: version (2 bits), C (control) bit, hlen (5 bits: extension
 *           fields length in 32-bit words)
 *   byte 1: proto (C = 0: the IP protocol inside) / ctype (C = 1)
 *   bytes 2-3: flags, then hlen*4 bytes of extension fields.
 *
 * Version 1 has no GUE header: the UDP payload is an IPv4 or IPv6 packet
 * (its first two bits, 01, are the version), as the kernel's gue_udp_recv().
 */
import { EMPTY_BYTES, rd16, wr16 } from './bytes.js';
import { IpProto } from './ip.js';
import { WireReason } from './reasons.js';

/** Field offsets of the GUE header. */
export const GUE = { VER_C_HLEN: 0, PROTO: 1, FLAGS: 2, HDR_LEN: 4 } as const;

/**
 * Checks the GUE header at `off` (the UDP payload's start): `origEnd` is the
 * UDP payload's end on the wire, `capEnd` the captured end. Version 0: the
 * header and its extension fields fit; version 1: direct IP (at least one
 * byte); versions 2 and 3 are GUE_BAD_VERSION.
 */
export function checkGue(buf: Uint8Array, off: number, capEnd: number, origEnd: number): number {
  if (off + 1 > origEnd) return WireReason.GUE_TRUNCATED;
  if (off + 1 > capEnd) return WireReason.GUE_HEADER_NOT_CAPTURED;
  const ver = buf[off] >>> 6;
  if (ver === 1) return WireReason.OK;
  if (ver !== 0) return WireReason.GUE_BAD_VERSION;
  if (off + GUE.HDR_LEN > origEnd) return WireReason.GUE_TRUNCATED;
  if (off + GUE.HDR_LEN > capEnd) return WireReason.GUE_HEADER_NOT_CAPTURED;
  const len = GUE.HDR_LEN + ((buf[off] & 31) << 2);
  if (off + len > origEnd) return WireReason.GUE_TRUNCATED;
  if (off + len > capEnd) return WireReason.GUE_HEADER_NOT_CAPTURED;
  return WireReason.OK;
}

export class GueView {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;

  wrap(buf: Uint8Array, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }

  get version(): number {
    return this.buf[this.off] >>> 6;
  }
  /** Control bit, 0/1. */
  get c(): number {
    return (this.buf[this.off] >>> 5) & 1;
  }
  /** Extension fields length in 32-bit words. */
  get hlen(): number {
    return this.buf[this.off] & 31;
  }
  /** proto (data message) or ctype (control message). */
  get proto(): number {
    return this.buf[this.off + GUE.PROTO];
  }
  set proto(v: number) {
    this.buf[this.off + GUE.PROTO] = v;
  }
  get flags(): number {
    return rd16(this.buf, this.off + GUE.FLAGS);
  }
  set flags(v: number) {
    wr16(this.buf, this.off + GUE.FLAGS, v);
  }
  /** Bytes before the encapsulated packet: 4 + hlen*4 for version 0, 0 for version 1. */
  get headerLen(): number {
    const b0 = this.buf[this.off];
    return b0 >>> 6 === 1 ? 0 : GUE.HDR_LEN + ((b0 & 31) << 2);
  }
  /**
   * The IP protocol of the payload (IPIP or IPV6), or -1 for a control
   * message or another protocol (version 1: from the IP version nibble).
   */
  get innerProto(): number {
    const b0 = this.buf[this.off];
    if (b0 >>> 6 === 1) {
      const v = b0 >>> 4;
      return v === 4 ? IpProto.IPIP : v === 6 ? IpProto.IPV6 : -1;
    }
    if (b0 & 0x20) return -1;
    const p = this.buf[this.off + GUE.PROTO];
    return p === IpProto.IPIP || p === IpProto.IPV6 ? p : -1;
  }
}
