/**
 * Big-endian byte helpers used by every header view.
 *
 * Plain index arithmetic on a Uint8Array: V8 inlines these into the callers
 * and they beat a DataView per buffer (bench/suites/wire.ts measures both).
 * No bounds checks: callers run the header's check function first
 * (check-then-trust); an out-of-range read yields `undefined`, which the
 * bit operators turn into 0, never an exception.
 */

/** A shared zero-length buffer, the initial value of every view. */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** Reads an unsigned 16-bit big-endian value at `o`. */
export function rd16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

/** Writes the low 16 bits of `v` big-endian at `o`. */
export function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

/** Reads an unsigned 32-bit big-endian value at `o`. */
export function rd32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/**
 * Reads a big-endian 32-bit word at `o` as a signed int32: the same 32 bits
 * as rd32, for words stored in a Uint32Array or used as bits (addresses,
 * checksum arithmetic). Where V8 does not inline the call, an unsigned
 * result of 2^31 or more is returned boxed, a heap allocation per packet;
 * an int32 is not.
 */
export function rd32i(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

/** Writes the low 32 bits of `v` big-endian at `o`. */
export function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/**
 * Bytes from hex text, for fixtures: whitespace, `:`/`-`/`.` separators and
 * `#` comments (to the end of the line) are ignored, so a fixture can be
 * laid out and annotated like a packet diagram. Throws on an odd digit count
 * or a non-hex character (fixtures are code, not input).
 */
export function hexToBytes(text: string): Uint8Array {
  const digits = text.replace(/#[^\n]*/g, '').replace(/[\s:.-]/g, '');
  if (digits.length % 2 !== 0) throw new Error(`hexToBytes: odd number of hex digits (${digits.length})`);
  if (!/^[0-9a-fA-F]*$/.test(digits)) throw new Error('hexToBytes: not a hex string');
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Lower-case hex of `len` bytes at `off` (no separators). */
export function bytesToHex(b: Uint8Array, off = 0, len = b.length - off): string {
  let s = '';
  for (let i = 0; i < len; i++) s += b[off + i].toString(16).padStart(2, '0');
  return s;
}
