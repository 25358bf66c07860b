/**
 * Internet checksums (RFC 1071) and their incremental update (RFC 1624),
 * computing bit for bit what Linux 6.1 on x86-64 computes.
 *
 * Arithmetic. An accumulator `acc` is a plain non-negative integer: the sum of
 * 16-bit big-endian words. Because 65536 = 1 (mod 0xFFFF), ordinary integer
 * addition is one's-complement addition up to the final fold, so partial sums
 * can be added freely (pseudo-header + header + payload) as long as every
 * part starts at an even offset. `fold()` reduces an accumulator to 16 bits
 * with end-around carries; `finish()` complements it, which is what the
 * kernel's `csum_fold()` returns.
 *
 * The one representation question (one's complement has two zeros, 0x0000
 * and 0xFFFF):
 * - a folded sum is 0 only when every summed word is 0; otherwise it lies in
 *   1..0xFFFF, one value per residue class. So `finish()` yields 0xFFFF only
 *   for all-zero data, and 0x0000..0xFFFE otherwise.
 * - the kernel's incremental helpers (`csum_replace4()`,
 *   `inet_proto_csum_replace2/4/16()`, IPVS's `ip_vs_check_diff2/4/16()` +
 *   `csum_fold()`) start from `~csum_unfold(check)`, a 32-bit value whose
 *   upper half is all ones, so their sum is never zero: they return
 *   0x0000..0xFFFE, never 0xFFFF, whatever the input. update16/32/128 below
 *   do the same by starting from 0xFFFF (the same residue as 0xFFFF0000,
 *   zero, but non-zero, and small enough to keep the sum a small integer).
 * Hence an incremental update equals a full recomputation (from a checksum
 * in the right residue class) except in one case: when the updated data is
 * all zero bytes, full recomputation gives 0xFFFF and the update 0x0000. That
 * cannot happen under a pseudo-header (TCP, UDP, ICMPv6: the protocol number
 * is non-zero) nor for an IPv4 header (version 4); it can for ICMPv4 and GRE,
 * which have no pseudo-header. (`csum_replace2()`, the 16-bit-only variant,
 * could return 0xFFFF, but only from an input check of 0xFFFF; IPVS does not
 * use it.)
 *
 * UDP transmits a computed 0 as 0xFFFF (RFC 768; the kernel's
 * CSUM_MANGLED_0): l4Checksum4/6 apply that for UDP; after update16/32/128 the
 * caller applies it (as `udp_fast_csum_update()` does).
 */
import { IpProto } from './ip.js';

/** UDP's "computed zero" transmitted value (RFC 768; the kernel's CSUM_MANGLED_0). */
export const CSUM_MANGLED_0 = 0xffff;

/**
 * Adds the 16-bit big-endian words of `len` bytes at `off` to `acc`; an odd
 * trailing byte counts as its word's high byte (padded with zero).
 */
export function sum16(b: Uint8Array, off: number, len: number, acc = 0): number {
  const end = off + (len & ~1);
  let i = off;
  // two words per iteration; the sum of 32768 words stays below 2^31 + acc
  for (; i + 3 < end; i += 4) acc += ((b[i] << 8) | b[i + 1]) + ((b[i + 2] << 8) | b[i + 3]);
  if (i < end) acc += (b[i] << 8) | b[i + 1];
  if (len & 1) acc += b[end] << 8;
  return acc;
}

/** Folds an accumulator to 16 bits with end-around carries (0 only for 0). */
export function fold(acc: number): number {
  while (acc > 0xffffffff) acc = (acc % 0x10000) + Math.floor(acc / 0x10000);
  acc = (acc & 0xffff) + (acc >>> 16);
  return (acc & 0xffff) + (acc >>> 16);
}

/** The checksum of an accumulated sum: `~fold(acc)`, as the kernel's csum_fold(). */
export function finish(acc: number): number {
  return ~fold(acc) & 0xffff;
}

/** Sum of the IPv4 pseudo-header (source, destination, protocol, L4 length). */
export function pseudo4(srcWord: number, dstWord: number, proto: number, len: number): number {
  return (srcWord >>> 16) + (srcWord & 0xffff) + (dstWord >>> 16) + (dstWord & 0xffff) + proto + len;
}

/** Sum of the IPv6 pseudo-header with addresses read from `b` at srcOff/dstOff. */
export function pseudo6(b: Uint8Array, srcOff: number, dstOff: number, proto: number, len: number): number {
  return sum16(b, srcOff, 16, sum16(b, dstOff, 16, proto + len));
}

/** Sum of the IPv6 pseudo-header with addresses as words (`src[srcIdx..+3]`). */
export function pseudo6Words(
  src: ArrayLike<number>,
  srcIdx: number,
  dst: ArrayLike<number>,
  dstIdx: number,
  proto: number,
  len: number,
): number {
  let acc = proto + len;
  for (let i = 0; i < 4; i++) {
    const s = src[srcIdx + i];
    const d = dst[dstIdx + i];
    acc += (s >>> 16) + (s & 0xffff) + (d >>> 16) + (d & 0xffff);
  }
  return acc;
}

/**
 * The checksum of `len` bytes at `off` whose checksum field (2 bytes at the
 * even relative offset `csumRel`) counts as zero, added to `acc`.
 */
export function checksumSkip(b: Uint8Array, off: number, len: number, csumRel: number, acc = 0): number {
  if (len <= csumRel) return finish(sum16(b, off, len, acc));
  acc = sum16(b, off, csumRel, acc);
  if (len > csumRel + 2) acc = sum16(b, off + csumRel + 2, len - csumRel - 2, acc);
  return finish(acc);
}

/** Offset of the checksum field in an L4 header, or -1 when the protocol has no Internet checksum. */
export function l4ChecksumOffset(proto: number): number {
  switch (proto) {
    case IpProto.TCP:
      return 16;
    case IpProto.UDP:
    case IpProto.UDPLITE:
      return 6;
    case IpProto.ICMP:
    case IpProto.ICMPV6:
      return 2;
    default:
      return -1;
  }
}

/**
 * The IPv4 header checksum of the header at `off` (IHL from the header), as
 * `ip_send_check()` computes it. Never 0xFFFF (the header is never all zero).
 */
export function ipv4HeaderChecksum(b: Uint8Array, off: number): number {
  return checksumSkip(b, off, (b[off] & 15) << 2, 10);
}

/** Sum of the 16-bit words of a 20-byte header at `o` (unrolled: the common IPv4 header). */
export function sum20(b: Uint8Array, o: number): number {
  return (
    ((b[o] << 8) | b[o + 1]) +
    ((b[o + 2] << 8) | b[o + 3]) +
    ((b[o + 4] << 8) | b[o + 5]) +
    ((b[o + 6] << 8) | b[o + 7]) +
    ((b[o + 8] << 8) | b[o + 9]) +
    ((b[o + 10] << 8) | b[o + 11]) +
    ((b[o + 12] << 8) | b[o + 13]) +
    ((b[o + 14] << 8) | b[o + 15]) +
    ((b[o + 16] << 8) | b[o + 17]) +
    ((b[o + 18] << 8) | b[o + 19])
  );
}

/** Whether the IPv4 header at `off` verifies (what `ip_fast_csum()` checks in ip_rcv). */
export function ipv4HeaderChecksumOk(b: Uint8Array, off: number): boolean {
  const hl = (b[off] & 15) << 2;
  return fold(hl === 20 ? sum20(b, off) : sum16(b, off, hl)) === 0xffff;
}

/**
 * Full checksum of an L4 segment of `len` bytes at `off` carried over IPv4:
 * TCP and UDP with the pseudo-header (UDP's 0 transmitted as 0xFFFF), ICMP
 * without one. Returns -1 for a protocol without an Internet checksum.
 */
export function l4Checksum4(
  b: Uint8Array,
  off: number,
  len: number,
  srcWord: number,
  dstWord: number,
  proto: number,
): number {
  const rel = l4ChecksumOffset(proto);
  if (rel < 0) return -1;
  if (proto === IpProto.ICMP) return checksumSkip(b, off, len, rel);
  const c = checksumSkip(b, off, len, rel, pseudo4(srcWord, dstWord, proto, len));
  return c === 0 && proto === IpProto.UDP ? CSUM_MANGLED_0 : c;
}

/**
 * Full checksum of an L4 segment carried over IPv6 (TCP, UDP, ICMPv6: all
 * with the pseudo-header), addresses read from `b` at srcOff/dstOff. UDP's 0
 * is transmitted as 0xFFFF. Returns -1 for a protocol without an Internet checksum.
 */
export function l4Checksum6(
  b: Uint8Array,
  off: number,
  len: number,
  srcOff: number,
  dstOff: number,
  proto: number,
): number {
  const rel = l4ChecksumOffset(proto);
  if (rel < 0) return -1;
  const c = checksumSkip(b, off, len, rel, pseudo6(b, srcOff, dstOff, proto, len));
  return c === 0 && proto === IpProto.UDP ? CSUM_MANGLED_0 : c;
}

/** As l4Checksum6 with the addresses as words (`src[srcIdx..+3]`, `dst[dstIdx..+3]`). */
export function l4Checksum6Words(
  b: Uint8Array,
  off: number,
  len: number,
  src: ArrayLike<number>,
  srcIdx: number,
  dst: ArrayLike<number>,
  dstIdx: number,
  proto: number,
): number {
  const rel = l4ChecksumOffset(proto);
  if (rel < 0) return -1;
  const c = checksumSkip(b, off, len, rel, pseudo6Words(src, srcIdx, dst, dstIdx, proto, len));
  return c === 0 && proto === IpProto.UDP ? CSUM_MANGLED_0 : c;
}

/**
 * Whether an L4 segment carried over IPv4 verifies (the whole segment must be
 * in `b`). An IPv4 UDP checksum of 0 means "none" and verifies.
 */
export function l4ChecksumOk4(
  b: Uint8Array,
  off: number,
  len: number,
  srcWord: number,
  dstWord: number,
  proto: number,
): boolean {
  if (proto === IpProto.UDP && b[off + 6] === 0 && b[off + 7] === 0) return true;
  const acc = proto === IpProto.ICMP ? 0 : pseudo4(srcWord, dstWord, proto, len);
  return fold(sum16(b, off, len, acc)) === 0xffff;
}

/** Whether an L4 segment carried over IPv6 verifies (addresses as words). */
export function l4ChecksumOk6Words(
  b: Uint8Array,
  off: number,
  len: number,
  src: ArrayLike<number>,
  srcIdx: number,
  dst: ArrayLike<number>,
  dstIdx: number,
  proto: number,
): boolean {
  return fold(sum16(b, off, len, pseudo6Words(src, srcIdx, dst, dstIdx, proto, len))) === 0xffff;
}

/**
 * RFC 1624 update of checksum `check` for a 16-bit field changing from
 * `oldV` to `newV`: HC' = ~(~HC + ~m + m'). Mirrors IPVS's
 * `csum_fold(ip_vs_check_diff2(old, new, ~csum_unfold(check)))` and
 * `inet_proto_csum_replace2()`: the result is 0x0000..0xFFFE, never 0xFFFF.
 */
export function update16(check: number, oldV: number, newV: number): number {
  return finish(0xffff + (~check & 0xffff) + (~oldV & 0xffff) + (newV & 0xffff));
}

/**
 * RFC 1624 update for a 32-bit field (an IPv4 address) changing from `oldW` to
 * `newW`. Mirrors `csum_replace4()` / `inet_proto_csum_replace4()` and IPVS's
 * `ip_vs_check_diff4()` + `csum_fold()`: 0x0000..0xFFFE, never 0xFFFF.
 * The words may be given signed or unsigned (only their 32 bits count); the
 * per-packet callers pass them signed (`| 0`), because V8 boxes an unsigned
 * value of 2^31 or more passed to a call it does not inline.
 */
export function update32(check: number, oldW: number, newW: number): number {
  return finish(
    0xffff + (~check & 0xffff) + (~oldW >>> 16) + (~oldW & 0xffff) + (newW >>> 16) + (newW & 0xffff),
  );
}

/**
 * RFC 1624 update for a 128-bit field (an IPv6 address) changing from
 * `oldWords[oldIdx..+3]` to `newWords[newIdx..+3]`. Mirrors
 * `inet_proto_csum_replace16()` and IPVS's `ip_vs_check_diff16()` +
 * `csum_fold()`: 0x0000..0xFFFE, never 0xFFFF.
 *
 * Chaining updates (address, then port) gives exactly the kernel's single
 * fold over both differences: each step's sum is non-zero, and a non-zero
 * sum folds to the one value of its residue class.
 */
export function update128(
  check: number,
  oldWords: ArrayLike<number>,
  oldIdx: number,
  newWords: ArrayLike<number>,
  newIdx: number,
): number {
  let acc = 0xffff + (~check & 0xffff);
  for (let i = 0; i < 4; i++) {
    const o = ~oldWords[oldIdx + i];
    const n = newWords[newIdx + i];
    acc += (o >>> 16) + (o & 0xffff) + (n >>> 16) + (n & 0xffff);
  }
  return finish(acc);
}

/**
 * Decrements the TTL of the IPv4 header at `ipOff` and fixes its checksum as
 * the kernel's `ip_decrease_ttl()` does on little-endian x86: it reads the
 * checksum field as a host-order (byte-swapped) u16 `h`, adds 1 (htons(0x0100))
 * and stores `h + 1 + (h + 1 >= 0xFFFF)` truncated to 16 bits. In big-endian
 * terms that is "field + 0x0100 with end-around carry", and the edge values:
 * - field 0xFEFF (h = 0xFFFE): h + 1 = 0xFFFF gets the extra 1 and wraps: 0x0000
 *   (the +0 of a full recomputation, never 0xFFFF);
 * - field 0xFFFF (h = 0xFFFF): 0x10000 + 1 truncates to 1: field 0x0100;
 * - field 0xFFxx with xx < 0xFF: the carry out of the high byte comes back as
 *   +1 in the low byte (0xFF00 -> 0x0001).
 * The result never is 0xFFFF, and equals a full recomputation whenever the
 * input checksum was correct. Returns the new TTL (a TTL of 0 wraps to 255;
 * the datapath never decrements below 1).
 */
export function ipv4DecTtl(b: Uint8Array, ipOff: number): number {
  let h = (b[ipOff + 10] | (b[ipOff + 11] << 8)) + 1;
  h = (h + (h >= 0xffff ? 1 : 0)) & 0xffff;
  b[ipOff + 10] = h & 0xff;
  b[ipOff + 11] = h >>> 8;
  const ttl = (b[ipOff + 8] - 1) & 0xff;
  b[ipOff + 8] = ttl;
  return ttl;
}

/** Decrements the hop limit of the IPv6 header at `ipOff` (no checksum); returns the new value. */
export function ipv6DecHopLimit(b: Uint8Array, ipOff: number): number {
  const hl = (b[ipOff + 7] - 1) & 0xff;
  b[ipOff + 7] = hl;
  return hl;
}

// CRC32c (Castagnoli), reflected polynomial 0x82F63B78: SCTP's checksum.
const CRC32C_TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC32c of `len` bytes at `off` (initial value all ones, final complement),
 * the SCTP checksum (RFC 9260 appendix A). SCTP stores it least significant
 * byte first (the kernel writes `cpu_to_le32`): see SctpView.crc.
 */
export function crc32c(b: Uint8Array, off: number, len: number): number {
  let c = 0xffffffff;
  for (let i = off, end = off + len; i < end; i++) c = CRC32C_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** The SCTP checksum of a packet of `len` bytes at `off`, its checksum field (bytes 8..11) counted as zero. */
export function sctpChecksum(b: Uint8Array, off: number, len: number): number {
  let c = 0xffffffff;
  for (let i = 0; i < len; i++) {
    const v = i >= 8 && i < 12 ? 0 : b[off + i];
    c = CRC32C_TABLE[(c ^ v) & 0xff] ^ (c >>> 8);
  }
  return ~c >>> 0;
}
