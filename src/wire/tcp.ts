/**
 * TCP header (RFC 9293): ports, sequence numbers, data offset, flags, options.
 */
import { EMPTY_BYTES, rd16, rd32, wr16, wr32 } from './bytes.js';
import { WireReason } from './reasons.js';

/** Field offsets of the TCP header. */
export const TCP = {
  SPORT: 0,
  DPORT: 2,
  SEQ: 4,
  ACK: 8,
  DATA_OFF: 12,
  FLAGS: 13,
  WINDOW: 14,
  CSUM: 16,
  URGENT: 18,
  OPTIONS: 20,
  MIN_LEN: 20,
  MAX_LEN: 60,
} as const;

/** TCP flag bits as in PacketInfo.tcpFlags / TcpView.flags (bit 8 is the NS/AE bit of byte 12). */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
  NS: 0x100,
} as const;

/** TCP option kinds. */
export const TcpOpt = { EOL: 0, NOP: 1, MSS: 2, WSCALE: 3, SACK_PERM: 4, SACK: 5, TIMESTAMP: 8 } as const;

/**
 * Checks the TCP header at `off`: `segEnd` is the segment's end per the IP
 * lengths, `capEnd` the end of the captured bytes. TCP_TRUNCATED when fewer
 * than 20 bytes of segment (IPVS drops: it cannot read the header),
 * TCP_HEADER_NOT_CAPTURED when the capture holds fewer than 20, and
 * TCP_BAD_DATA_OFFSET when the data offset is below 5 or runs past the
 * segment (what tcp_v4_rcv() drops; IPVS itself only reads 20 bytes and
 * forwards such a segment: parse.ts reports it in PacketInfo.l4Reason).
 * Options cut by the capture are not a reason.
 */
export function checkTcp(buf: Uint8Array, off: number, capEnd: number, segEnd: number): number {
  if (off + TCP.MIN_LEN > segEnd) return WireReason.TCP_TRUNCATED;
  if (off + TCP.MIN_LEN > capEnd) return WireReason.TCP_HEADER_NOT_CAPTURED;
  const hl = (buf[off + TCP.DATA_OFF] >>> 4) << 2;
  if (hl < TCP.MIN_LEN || off + hl > segEnd) return WireReason.TCP_BAD_DATA_OFFSET;
  return WireReason.OK;
}

export class TcpView {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;

  wrap(buf: Uint8Array, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }

  get sport(): number {
    return rd16(this.buf, this.off + TCP.SPORT);
  }
  set sport(v: number) {
    wr16(this.buf, this.off + TCP.SPORT, v);
  }
  get dport(): number {
    return rd16(this.buf, this.off + TCP.DPORT);
  }
  set dport(v: number) {
    wr16(this.buf, this.off + TCP.DPORT, v);
  }
  get seq(): number {
    return rd32(this.buf, this.off + TCP.SEQ);
  }
  set seq(v: number) {
    wr32(this.buf, this.off + TCP.SEQ, v);
  }
  get ack(): number {
    return rd32(this.buf, this.off + TCP.ACK);
  }
  set ack(v: number) {
    wr32(this.buf, this.off + TCP.ACK, v);
  }
  /** Header length in bytes (data offset field times 4). */
  get headerLen(): number {
    return (this.buf[this.off + TCP.DATA_OFF] >>> 4) << 2;
  }
  set headerLen(bytes: number) {
    const o = this.off + TCP.DATA_OFF;
    this.buf[o] = (this.buf[o] & 0x0f) | (((bytes >>> 2) & 15) << 4);
  }
  /** The nine flag bits (TcpFlag), NS/AE included. */
  get flags(): number {
    return ((this.buf[this.off + TCP.DATA_OFF] & 1) << 8) | this.buf[this.off + TCP.FLAGS];
  }
  set flags(v: number) {
    const o = this.off + TCP.DATA_OFF;
    this.buf[o] = (this.buf[o] & 0xfe) | ((v >>> 8) & 1);
    this.buf[o + 1] = v & 0xff;
  }
  get syn(): boolean {
    return (this.buf[this.off + TCP.FLAGS] & TcpFlag.SYN) !== 0;
  }
  get ackFlag(): boolean {
    return (this.buf[this.off + TCP.FLAGS] & TcpFlag.ACK) !== 0;
  }
  get fin(): boolean {
    return (this.buf[this.off + TCP.FLAGS] & TcpFlag.FIN) !== 0;
  }
  get rst(): boolean {
    return (this.buf[this.off + TCP.FLAGS] & TcpFlag.RST) !== 0;
  }
  get window(): number {
    return rd16(this.buf, this.off + TCP.WINDOW);
  }
  set window(v: number) {
    wr16(this.buf, this.off + TCP.WINDOW, v);
  }
  get csum(): number {
    return rd16(this.buf, this.off + TCP.CSUM);
  }
  set csum(v: number) {
    wr16(this.buf, this.off + TCP.CSUM, v);
  }
  get urgent(): number {
    return rd16(this.buf, this.off + TCP.URGENT);
  }
  set urgent(v: number) {
    wr16(this.buf, this.off + TCP.URGENT, v);
  }
  /** Offset of the options (absolute in the buffer); they run to off + headerLen. */
  get optionsOff(): number {
    return this.off + TCP.OPTIONS;
  }
}
