/**
 * SCTP common header (RFC 9260) and the first chunk's header, which is all
 * IPVS reads (`sctp_conn_schedule()` needs both: 16 bytes). The checksum is
 * a CRC32c stored least significant byte first (checksum.ts sctpChecksum).
 */
import { EMPTY_BYTES, rd16, rd32, wr16, wr32 } from './bytes.js';
import { WireReason } from './reasons.js';

/** Field offsets of the SCTP common header and the first chunk header. */
export const SCTP = {
  SPORT: 0,
  DPORT: 2,
  VTAG: 4,
  CSUM: 8,
  HDR_LEN: 12,
  CHUNK_TYPE: 12,
  CHUNK_FLAGS: 13,
  CHUNK_LEN: 14,
  /** Common header + first chunk header. */
  MIN_LEN: 16,
} as const;

export const SctpChunk = {
  DATA: 0,
  INIT: 1,
  INIT_ACK: 2,
  SACK: 3,
  HEARTBEAT: 4,
  HEARTBEAT_ACK: 5,
  ABORT: 6,
  SHUTDOWN: 7,
  SHUTDOWN_ACK: 8,
  ERROR: 9,
  COOKIE_ECHO: 10,
  COOKIE_ACK: 11,
  ECNE: 12,
  CWR: 13,
  SHUTDOWN_COMPLETE: 14,
} as const;

/** Checks the SCTP common header and first chunk header at `off` (16 bytes in the packet and captured). */
export function checkSctp(_buf: Uint8Array, off: number, capEnd: number, segEnd: number): number {
  if (off + SCTP.MIN_LEN > segEnd) return WireReason.SCTP_TRUNCATED;
  if (off + SCTP.MIN_LEN > capEnd) return WireReason.SCTP_HEADER_NOT_CAPTURED;
  return WireReason.OK;
}

export class SctpView {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;

  wrap(buf: Uint8Array, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }

  get sport(): number {
    return rd16(this.buf, this.off + SCTP.SPORT);
  }
  set sport(v: number) {
    wr16(this.buf, this.off + SCTP.SPORT, v);
  }
  get dport(): number {
    return rd16(this.buf, this.off + SCTP.DPORT);
  }
  set dport(v: number) {
    wr16(this.buf, this.off + SCTP.DPORT, v);
  }
  /** Verification tag. */
  get vtag(): number {
    return rd32(this.buf, this.off + SCTP.VTAG);
  }
  set vtag(v: number) {
    wr32(this.buf, this.off + SCTP.VTAG, v);
  }
  /** The checksum field read big-endian, as the raw bytes appear. */
  get csumField(): number {
    return rd32(this.buf, this.off + SCTP.CSUM);
  }
  /** The CRC32c value (the field read least significant byte first). */
  get crc(): number {
    const b = this.buf;
    const o = this.off + SCTP.CSUM;
    return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
  }
  set crc(v: number) {
    const b = this.buf;
    const o = this.off + SCTP.CSUM;
    b[o] = v;
    b[o + 1] = v >>> 8;
    b[o + 2] = v >>> 16;
    b[o + 3] = v >>> 24;
  }
  get chunkType(): number {
    return this.buf[this.off + SCTP.CHUNK_TYPE];
  }
  get chunkFlags(): number {
    return this.buf[this.off + SCTP.CHUNK_FLAGS];
  }
  get chunkLen(): number {
    return rd16(this.buf, this.off + SCTP.CHUNK_LEN);
  }
}
