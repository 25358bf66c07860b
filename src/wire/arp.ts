/**
 * ARP for Ethernet/IPv4 (RFC 826): the only form the director handles.
 * `arp_rcv()` drops a packet whose hardware length is not the device's (6)
 * or whose protocol length is not 4; we also require hardware type 1 and
 * protocol 0x0800, the only combination a director answers.
 */
import { readMac, writeMac } from './addr.js';
import { EMPTY_BYTES, rd16, rd32, wr16, wr32 } from './bytes.js';
import { EtherType } from './ethernet.js';
import { WireReason } from './reasons.js';

/** Field offsets of an Ethernet/IPv4 ARP packet. */
export const ARP = {
  HTYPE: 0,
  PTYPE: 2,
  HLEN: 4,
  PLEN: 5,
  OP: 6,
  SHA: 8,
  SPA: 14,
  THA: 18,
  TPA: 24,
  LEN: 28,
} as const;

export const ArpOp = { REQUEST: 1, REPLY: 2 } as const;

/** ARP hardware type Ethernet. */
export const ARP_HTYPE_ETHER = 1;

/** Checks an ARP packet at `off`: 28 bytes on the wire and captured, Ethernet/IPv4 format. */
export function checkArp(buf: Uint8Array, off: number, capEnd: number, origEnd: number): number {
  if (off + ARP.LEN > origEnd) return WireReason.ARP_TRUNCATED;
  if (off + ARP.LEN > capEnd) return WireReason.ARP_HEADER_NOT_CAPTURED;
  if (
    rd16(buf, off + ARP.HTYPE) !== ARP_HTYPE_ETHER ||
    rd16(buf, off + ARP.PTYPE) !== EtherType.IPV4 ||
    buf[off + ARP.HLEN] !== 6 ||
    buf[off + ARP.PLEN] !== 4
  )
    return WireReason.ARP_BAD_FORMAT;
  return WireReason.OK;
}

export class ArpView {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;

  wrap(buf: Uint8Array, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }

  get htype(): number {
    return rd16(this.buf, this.off + ARP.HTYPE);
  }
  get ptype(): number {
    return rd16(this.buf, this.off + ARP.PTYPE);
  }
  get hlen(): number {
    return this.buf[this.off + ARP.HLEN];
  }
  get plen(): number {
    return this.buf[this.off + ARP.PLEN];
  }
  get op(): number {
    return rd16(this.buf, this.off + ARP.OP);
  }
  set op(v: number) {
    wr16(this.buf, this.off + ARP.OP, v);
  }
  /** Sender hardware address (48-bit MAC). */
  get sha(): number {
    return readMac(this.buf, this.off + ARP.SHA);
  }
  set sha(mac: number) {
    writeMac(this.buf, this.off + ARP.SHA, mac);
  }
  /** Sender protocol address (IPv4 word). */
  get spa(): number {
    return rd32(this.buf, this.off + ARP.SPA);
  }
  set spa(w: number) {
    wr32(this.buf, this.off + ARP.SPA, w);
  }
  /** Target hardware address (48-bit MAC). */
  get tha(): number {
    return readMac(this.buf, this.off + ARP.THA);
  }
  set tha(mac: number) {
    writeMac(this.buf, this.off + ARP.THA, mac);
  }
  /** Target protocol address (IPv4 word). */
  get tpa(): number {
    return rd32(this.buf, this.off + ARP.TPA);
  }
  set tpa(w: number) {
    wr32(this.buf, this.off + ARP.TPA, w);
  }
}
