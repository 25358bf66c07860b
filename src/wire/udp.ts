/**
 * UDP header (RFC 768). A checksum of 0 means "none" over IPv4; a computed
 * 0 is sent as 0xFFFF (checksum.ts CSUM_MANGLED_0).
 */
import { EMPTY_BYTES, rd16, wr16 } from './bytes.js';
import { WireReason } from './reasons.js';

/** Field offsets of the UDP header. */
export const UDP = { SPORT: 0, DPORT: 2, LEN: 4, CSUM: 6, HDR_LEN: 8 } as const;

/**
 * Checks the UDP header at `off` (`segEnd`: the datagram's end per the IP
 * lengths; `capEnd`: end of the captured bytes). UDP_TRUNCATED / _NOT_CAPTURED
 * when the 8 bytes are missing; UDP_BAD_LENGTH when the length field is
 * below 8 or beyond the IP payload (what `__udp4_lib_rcv()` drops; IPVS
 * itself reads only the ports: parse.ts reports it in PacketInfo.l4Reason).
 * A length shorter than the IP payload is legal (the rest is trimmed).
 */
export function checkUdp(buf: Uint8Array, off: number, capEnd: number, segEnd: number): number {
  if (off + UDP.HDR_LEN > segEnd) return WireReason.UDP_TRUNCATED;
  if (off + UDP.HDR_LEN > capEnd) return WireReason.UDP_HEADER_NOT_CAPTURED;
  const len = rd16(buf, off + UDP.LEN);
  if (len < UDP.HDR_LEN || off + len > segEnd) return WireReason.UDP_BAD_LENGTH;
  return WireReason.OK;
}

export class UdpView {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;

  wrap(buf: Uint8Array, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }

  get sport(): number {
    return rd16(this.buf, this.off + UDP.SPORT);
  }
  set sport(v: number) {
    wr16(this.buf, this.off + UDP.SPORT, v);
  }
  get dport(): number {
    return rd16(this.buf, this.off + UDP.DPORT);
  }
  set dport(v: number) {
    wr16(this.buf, this.off + UDP.DPORT, v);
  }
  /** The length field (header + data). */
  get length(): number {
    return rd16(this.buf, this.off + UDP.LEN);
  }
  set length(v: number) {
    wr16(this.buf, this.off + UDP.LEN, v);
  }
  get csum(): number {
    return rd16(this.buf, this.off + UDP.CSUM);
  }
  set csum(v: number) {
    wr16(this.buf, this.off + UDP.CSUM, v);
  }
}
