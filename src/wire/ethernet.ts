/**
 * Ethernet II with 802.1Q / 802.1ad tags.
 *
 * Layout: destination MAC (6), source MAC (6), then either the EtherType or a
 * tag: TPID (0x8100 or 0x88A8), TCI (priority 3 bits, DEI 1, VLAN id 12), and
 * the next type. MACs are 48-bit integers (addr.ts readMac/writeMac).
 */
import { readMac, writeMac } from './addr.js';
import { EMPTY_BYTES, rd16, wr16 } from './bytes.js';
import { WireReason } from './reasons.js';

export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  /** 802.1Q customer tag. */
  VLAN: 0x8100,
  /** 802.1ad service tag (outer tag of Q-in-Q). */
  QINQ: 0x88a8,
  IPV6: 0x86dd,
} as const;

/** Field offsets of the Ethernet header. */
export const ETH = { DST: 0, SRC: 6, TYPE: 12, HDR_LEN: 14, MIN_FRAME: 60 } as const;

/** Field offsets inside one VLAN tag, relative to its TPID. */
export const VLAN = { TPID: 0, TCI: 2, NEXT_TYPE: 4, LEN: 4 } as const;

/** Largest original frame length accepted: Ethernet + two tags + the largest IP packet. */
export const MAX_FRAME_LEN = ETH.HDR_LEN + 2 * VLAN.LEN + 65535;

/** Largest number of VLAN tags the decode chain accepts. */
export const MAX_VLAN_TAGS = 2;

/** Whether `type` is a VLAN TPID (802.1Q or 802.1ad), as the kernel's eth_type_vlan(). */
export function isVlanTpid(type: number): boolean {
  return type === EtherType.VLAN || type === EtherType.QINQ;
}

/**
 * Checks that a 14-byte Ethernet header at `off` exists on the wire
 * (`origEnd`) and in the capture (`capEnd`). Tags are walked by parse.ts.
 */
export function checkEthernet(_buf: Uint8Array, off: number, capEnd: number, origEnd: number): number {
  if (off + ETH.HDR_LEN > origEnd) return WireReason.ETH_TRUNCATED;
  if (off + ETH.HDR_LEN > capEnd) return WireReason.ETH_HEADER_NOT_CAPTURED;
  return WireReason.OK;
}

/** A view of an Ethernet header (the 14 bytes; the type field is the first TPID when tagged). */
export class EthernetView {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;

  wrap(buf: Uint8Array, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }

  get dst(): number {
    return readMac(this.buf, this.off + ETH.DST);
  }
  set dst(mac: number) {
    writeMac(this.buf, this.off + ETH.DST, mac);
  }
  get src(): number {
    return readMac(this.buf, this.off + ETH.SRC);
  }
  set src(mac: number) {
    writeMac(this.buf, this.off + ETH.SRC, mac);
  }
  /** The type field at offset 12: the EtherType, or a TPID when tagged. */
  get etherType(): number {
    return rd16(this.buf, this.off + ETH.TYPE);
  }
  set etherType(v: number) {
    wr16(this.buf, this.off + ETH.TYPE, v);
  }
  /** Whether the destination is a group (multicast/broadcast) address. */
  get dstIsGroup(): boolean {
    return (this.buf[this.off] & 1) === 1;
  }
}

/** A view of one VLAN tag, wrapped at its TPID. */
export class VlanView {
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;

  wrap(buf: Uint8Array, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }

  get tpid(): number {
    return rd16(this.buf, this.off + VLAN.TPID);
  }
  set tpid(v: number) {
    wr16(this.buf, this.off + VLAN.TPID, v);
  }
  get tci(): number {
    return rd16(this.buf, this.off + VLAN.TCI);
  }
  set tci(v: number) {
    wr16(this.buf, this.off + VLAN.TCI, v);
  }
  /** Priority code point (3 bits). */
  get pcp(): number {
    return this.buf[this.off + VLAN.TCI] >>> 5;
  }
  /** Drop eligible indicator (1 bit). */
  get dei(): number {
    return (this.buf[this.off + VLAN.TCI] >>> 4) & 1;
  }
  /** VLAN identifier (12 bits); 0 = priority tag only. */
  get vid(): number {
    return this.tci & 0xfff;
  }
  /** The type after this tag (an EtherType or the next TPID). */
  get nextType(): number {
    return rd16(this.buf, this.off + VLAN.NEXT_TYPE);
  }
  set nextType(v: number) {
    wr16(this.buf, this.off + VLAN.NEXT_TYPE, v);
  }
}
