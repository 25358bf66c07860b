/**
 * IPv4 (RFC 791) with options, flags and fragments.
 *
 * checkIpv4() applies, in the kernel's order, the checks `ip_rcv_core()`
 * makes before any netfilter hook (so before IPVS) and the option checks of
 * `ip_options_compile()` that `ip_rcv_finish()` makes before routing.
 */
import { EMPTY_BYTES, rd16, rd32, wr16, wr32 } from './bytes.js';
import { fold, ipv4HeaderChecksum, sum16, sum20 } from './checksum.js';
import { WireReason } from './reasons.js';

/** Field offsets of the IPv4 header. */
export const IPV4 = {
  VER_IHL: 0,
  TOS: 1,
  TOTAL_LEN: 2,
  ID: 4,
  FRAG: 6,
  TTL: 8,
  PROTO: 9,
  CSUM: 10,
  SRC: 12,
  DST: 16,
  OPTIONS: 20,
  MIN_LEN: 20,
  MAX_LEN: 60,
} as const;

/** Bits of the 16-bit flags/fragment-offset word. */
export const IPV4_FRAG = { RF: 0x8000, DF: 0x4000, MF: 0x2000, OFFSET_MASK: 0x1fff } as const;

/** IPv4 option types (the whole type byte, copy flag included). */
export const Ipv4Opt = {
  END: 0,
  NOOP: 1,
  RR: 7,
  TIMESTAMP: 68,
  SEC: 130,
  LSRR: 131,
  CIPSO: 134,
  SID: 136,
  SSRR: 137,
  RA: 148,
} as const;

/** Bits of PacketInfo.ipOptFlags: which options a valid header carries. */
export const IPV4_OPT_FLAG = {
  /** Loose or strict source route (dropped unless accept_source_route). */
  SRR: 1,
  /** Record route. */
  RR: 2,
  /** Timestamp. */
  TS: 4,
  /** Router alert. */
  RA: 8,
  /** Any other option. */
  OTHER: 16,
} as const;

/**
 * Walks the options of the IPv4 header at `off` (IHL from the header) with
 * `ip_options_compile()`'s validity rules for a received packet: every
 * option but END/NOOP has a length byte >= 2 that fits; at most one source
 * route, record route and timestamp; source routes: length >= 3, pointer >= 4;
 * record route: length >= 3, pointer >= 4, and an unfilled slot fits;
 * timestamp: length >= 4, pointer >= 5, a slot of the flag's size fits,
 * overflow counter below 15 when full; router alert: length >= 4. A CIPSO
 * option is refused (no CIPSO DOI is configured on a stock kernel, so
 * `cipso_v4_validate()` fails). Returns the IPV4_OPT_FLAG bits of what it
 * found, or -1 when the options are invalid.
 */
export function ipv4OptionFlags(buf: Uint8Array, off: number): number {
  const end = off + ((buf[off] & 15) << 2);
  let p = off + IPV4.OPTIONS;
  let flags = 0;
  while (p < end) {
    const type = buf[p];
    if (type === Ipv4Opt.END) break;
    if (type === Ipv4Opt.NOOP) {
      p++;
      continue;
    }
    const left = end - p;
    const len = left >= 2 ? buf[p + 1] : 0;
    if (len < 2 || len > left) return -1;
    const ptr = len >= 3 ? buf[p + 2] : 0;
    switch (type) {
      case Ipv4Opt.LSRR:
      case Ipv4Opt.SSRR:
        if (len < 3 || ptr < 4 || flags & IPV4_OPT_FLAG.SRR) return -1;
        flags |= IPV4_OPT_FLAG.SRR;
        break;
      case Ipv4Opt.RR:
        if (flags & IPV4_OPT_FLAG.RR || len < 3 || ptr < 4) return -1;
        if (ptr <= len && ptr + 3 > len) return -1;
        flags |= IPV4_OPT_FLAG.RR;
        break;
      case Ipv4Opt.TIMESTAMP: {
        if (flags & IPV4_OPT_FLAG.TS || len < 4 || ptr < 5) return -1;
        const fl = buf[p + 3];
        if (ptr <= len) {
          if (ptr + 3 > len) return -1;
          const kind = fl & 15;
          if ((kind === 1 || kind === 3) && ptr + 7 > len) return -1;
        } else if (fl >>> 4 === 15) return -1;
        flags |= IPV4_OPT_FLAG.TS;
        break;
      }
      case Ipv4Opt.RA:
        if (len < 4) return -1;
        flags |= IPV4_OPT_FLAG.RA;
        break;
      case Ipv4Opt.CIPSO:
        return -1;
      default:
        flags |= IPV4_OPT_FLAG.OTHER;
    }
    p += len;
  }
  return flags;
}

/**
 * Checks the IPv4 header at `off`. `capEnd` is where the captured bytes end,
 * `origEnd` where the data holding the packet ends on the wire (the Ethernet
 * payload, or the outer packet's payload for a tunnel's inner packet).
 * Order as in `ip_rcv_core()`: 20 bytes present; version 4 and IHL >= 5; the
 * IHL present; header checksum; total length within the frame, then not
 * below the header; then the options.
 */
export function checkIpv4(buf: Uint8Array, off: number, capEnd: number, origEnd: number): number {
  if (off + IPV4.MIN_LEN > origEnd) return WireReason.IPV4_TRUNCATED;
  if (off + IPV4.MIN_LEN > capEnd) return WireReason.IPV4_HEADER_NOT_CAPTURED;
  const vi = buf[off];
  if (vi >>> 4 !== 4) return WireReason.IPV4_BAD_VERSION;
  const hl = (vi & 15) << 2;
  if (hl < IPV4.MIN_LEN) return WireReason.IPV4_BAD_IHL;
  if (off + hl > origEnd) return WireReason.IPV4_TRUNCATED;
  if (off + hl > capEnd) return WireReason.IPV4_HEADER_NOT_CAPTURED;
  if (fold(hl === IPV4.MIN_LEN ? sum20(buf, off) : sum16(buf, off, hl)) !== 0xffff)
    return WireReason.IPV4_BAD_CHECKSUM;
  const total = rd16(buf, off + IPV4.TOTAL_LEN);
  if (off + total > origEnd) return WireReason.IPV4_TOTAL_LENGTH_BEYOND_FRAME;
  if (total < hl) return WireReason.IPV4_TOTAL_LENGTH_BELOW_HEADER;
  if (hl > IPV4.MIN_LEN && ipv4OptionFlags(buf, off) < 0) return WireReason.IPV4_BAD_OPTIONS;
  return WireReason.OK;
}

/** A view of an IPv4 header. Addresses are 32-bit words (10.0.0.1 = 0x0a000001). */
export class Ipv4View {
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
  /** Header length in 32-bit words (IHL). */
  get ihl(): number {
    return this.buf[this.off] & 15;
  }
  set ihl(v: number) {
    this.buf[this.off] = (this.buf[this.off] & 0xf0) | (v & 15);
  }
  /** Header length in bytes. */
  get headerLen(): number {
    return (this.buf[this.off] & 15) << 2;
  }
  get tos(): number {
    return this.buf[this.off + IPV4.TOS];
  }
  set tos(v: number) {
    this.buf[this.off + IPV4.TOS] = v;
  }
  get dscp(): number {
    return this.buf[this.off + IPV4.TOS] >>> 2;
  }
  get ecn(): number {
    return this.buf[this.off + IPV4.TOS] & 3;
  }
  get totalLen(): number {
    return rd16(this.buf, this.off + IPV4.TOTAL_LEN);
  }
  set totalLen(v: number) {
    wr16(this.buf, this.off + IPV4.TOTAL_LEN, v);
  }
  get id(): number {
    return rd16(this.buf, this.off + IPV4.ID);
  }
  set id(v: number) {
    wr16(this.buf, this.off + IPV4.ID, v);
  }
  /** The raw flags + fragment offset word. */
  get fragWord(): number {
    return rd16(this.buf, this.off + IPV4.FRAG);
  }
  set fragWord(v: number) {
    wr16(this.buf, this.off + IPV4.FRAG, v);
  }
  /** Reserved ("evil") bit, 0/1. */
  get rf(): number {
    return this.buf[this.off + IPV4.FRAG] >>> 7;
  }
  /** Don't-fragment bit, 0/1. */
  get df(): number {
    return (this.buf[this.off + IPV4.FRAG] >>> 6) & 1;
  }
  set df(v: number) {
    const o = this.off + IPV4.FRAG;
    this.buf[o] = v ? this.buf[o] | 0x40 : this.buf[o] & ~0x40;
  }
  /** More-fragments bit, 0/1. */
  get mf(): number {
    return (this.buf[this.off + IPV4.FRAG] >>> 5) & 1;
  }
  set mf(v: number) {
    const o = this.off + IPV4.FRAG;
    this.buf[o] = v ? this.buf[o] | 0x20 : this.buf[o] & ~0x20;
  }
  /** Fragment offset in bytes (the field times 8). */
  get fragOffset(): number {
    return (rd16(this.buf, this.off + IPV4.FRAG) & IPV4_FRAG.OFFSET_MASK) << 3;
  }
  set fragOffset(bytes: number) {
    const w = rd16(this.buf, this.off + IPV4.FRAG);
    wr16(
      this.buf,
      this.off + IPV4.FRAG,
      (w & ~IPV4_FRAG.OFFSET_MASK) | ((bytes >>> 3) & IPV4_FRAG.OFFSET_MASK),
    );
  }
  /** Whether this is a fragment (MF set or a non-zero offset), as ip_is_fragment(). */
  get isFragment(): boolean {
    return (rd16(this.buf, this.off + IPV4.FRAG) & (IPV4_FRAG.MF | IPV4_FRAG.OFFSET_MASK)) !== 0;
  }
  get ttl(): number {
    return this.buf[this.off + IPV4.TTL];
  }
  set ttl(v: number) {
    this.buf[this.off + IPV4.TTL] = v;
  }
  get proto(): number {
    return this.buf[this.off + IPV4.PROTO];
  }
  set proto(v: number) {
    this.buf[this.off + IPV4.PROTO] = v;
  }
  get csum(): number {
    return rd16(this.buf, this.off + IPV4.CSUM);
  }
  set csum(v: number) {
    wr16(this.buf, this.off + IPV4.CSUM, v);
  }
  get src(): number {
    return rd32(this.buf, this.off + IPV4.SRC);
  }
  set src(w: number) {
    wr32(this.buf, this.off + IPV4.SRC, w);
  }
  get dst(): number {
    return rd32(this.buf, this.off + IPV4.DST);
  }
  set dst(w: number) {
    wr32(this.buf, this.off + IPV4.DST, w);
  }
  setSrc(w: number): void {
    wr32(this.buf, this.off + IPV4.SRC, w);
  }
  setDst(w: number): void {
    wr32(this.buf, this.off + IPV4.DST, w);
  }
  /** Recomputes and stores the header checksum (ip_send_check()). */
  fillChecksum(): void {
    wr16(this.buf, this.off + IPV4.CSUM, ipv4HeaderChecksum(this.buf, this.off));
  }
}
