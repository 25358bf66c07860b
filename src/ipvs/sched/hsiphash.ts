/**
 * SipHash (Aumasson & Bernstein) as the Linux kernel's `hsiphash()` computes it
 * on 64-bit machines, the hash the mh (Maglev) scheduler uses.
 *
 * On 64-bit kernels `hsiphash` is not HalfSipHash: it is SipHash-1-3 (one
 * compression round per 8-byte block, three finalisation rounds) over 64-bit
 * words, keyed with the two `unsigned long` words of `hsiphash_key_t`, and the
 * 64-bit result truncated to its low 32 bits. mh hashes one `u32` held in
 * memory, i.e. four bytes in little-endian order (x86), so the only block is
 * the final one: `(4 << 56) | v`.
 *
 * 64-bit words are kept as (hi, lo) pairs of 32-bit integers. `hsiphashU32`
 * is the allocation-free hot-path version; `sipHash` is a general, slower
 * implementation of SipHash-c-d used to check it against published vectors.
 */

/** The four SipHash initialisation constants ("somepseudorandomlygeneratedbytes") as (hi, lo). */
const C0_HI = 0x736f6d65;
const C0_LO = 0x70736575;
const C1_HI = 0x646f7261;
const C1_LO = 0x6e646f6d;
const C2_HI = 0x6c796765;
const C2_LO = 0x6e657261;
const C3_HI = 0x74656462;
const C3_LO = 0x79746573;

/**
 * A hsiphash key (two 64-bit words) with the SipHash state it initialises,
 * precomputed once so that hashing a value only runs the rounds.
 */
export class HsipKey {
  readonly k0hi: number;
  readonly k0lo: number;
  readonly k1hi: number;
  readonly k1lo: number;
  readonly v0hi: number;
  readonly v0lo: number;
  readonly v1hi: number;
  readonly v1lo: number;
  readonly v2hi: number;
  readonly v2lo: number;
  readonly v3hi: number;
  readonly v3lo: number;
  /** v0 and v1 after the first half of the first round, which involves only the key. */
  readonly p0hi: number;
  readonly p0lo: number;
  readonly p1hi: number;
  readonly p1lo: number;

  /** `key[0]` and `key[1]` given as (hi, lo) 32-bit halves. */
  constructor(k0hi: number, k0lo: number, k1hi: number, k1lo: number) {
    this.k0hi = k0hi | 0;
    this.k0lo = k0lo | 0;
    this.k1hi = k1hi | 0;
    this.k1lo = k1lo | 0;
    this.v0hi = (C0_HI ^ k0hi) | 0;
    this.v0lo = (C0_LO ^ k0lo) | 0;
    this.v1hi = (C1_HI ^ k1hi) | 0;
    this.v1lo = (C1_LO ^ k1lo) | 0;
    this.v2hi = (C2_HI ^ k0hi) | 0;
    this.v2lo = (C2_LO ^ k0lo) | 0;
    this.v3hi = (C3_HI ^ k1hi) | 0;
    this.v3lo = (C3_LO ^ k1lo) | 0;
    // v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
    const s = (this.v0lo >>> 0) + (this.v1lo >>> 0);
    const v0hi = (this.v0hi + this.v1hi + (s > 0xffffffff ? 1 : 0)) | 0;
    const v0lo = s | 0;
    const v1hi = ((this.v1hi << 13) | (this.v1lo >>> 19)) ^ v0hi;
    const v1lo = ((this.v1lo << 13) | (this.v1hi >>> 19)) ^ v0lo;
    this.p0hi = v0lo;
    this.p0lo = v0hi;
    this.p1hi = v1hi;
    this.p1lo = v1lo;
  }

  /** A key whose two words are the unsigned 32-bit values `key0` and `key1` (high halves zero). */
  static fromWords32(key0: number, key1: number): HsipKey {
    return new HsipKey(0, key0 >>> 0, 0, key1 >>> 0);
  }
}

/**
 * hsiphash(&v, 4, key) on a 64-bit little-endian kernel: SipHash-1-3 of the
 * four bytes of the u32 `v`, truncated to 32 bits. Returns an unsigned integer.
 */
export function hsiphashU32(v: number, key: HsipKey): number {
  // first round: its v0/v1 half depends on the key only (precomputed)
  let v0hi = key.p0hi;
  let v0lo = key.p0lo;
  let v1hi = key.p1hi;
  let v1lo = key.p1lo;
  let v2hi = key.v2hi;
  let v2lo = key.v2lo;
  // the block b = (len << 56) | v enters v3 before the compression round
  let v3hi = key.v3hi ^ 0x04000000;
  let v3lo = key.v3lo ^ v;
  let s: number;
  let t: number;
  for (let r = 0; r < 4; r++) {
    if (r !== 0) {
      // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
      s = (v0lo >>> 0) + (v1lo >>> 0);
      v0hi = (v0hi + v1hi + (s > 0xffffffff ? 1 : 0)) | 0;
      v0lo = s | 0;
      t = v1hi;
      v1hi = (v1hi << 13) | (v1lo >>> 19);
      v1lo = (v1lo << 13) | (t >>> 19);
      v1hi ^= v0hi;
      v1lo ^= v0lo;
      t = v0hi;
      v0hi = v0lo;
      v0lo = t;
    }
    // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
    s = (v2lo >>> 0) + (v3lo >>> 0);
    v2hi = (v2hi + v3hi + (s > 0xffffffff ? 1 : 0)) | 0;
    v2lo = s | 0;
    t = v3hi;
    v3hi = (v3hi << 16) | (v3lo >>> 16);
    v3lo = (v3lo << 16) | (t >>> 16);
    v3hi ^= v2hi;
    v3lo ^= v2lo;
    // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
    s = (v0lo >>> 0) + (v3lo >>> 0);
    v0hi = (v0hi + v3hi + (s > 0xffffffff ? 1 : 0)) | 0;
    v0lo = s | 0;
    t = v3hi;
    v3hi = (v3hi << 21) | (v3lo >>> 11);
    v3lo = (v3lo << 21) | (t >>> 11);
    v3hi ^= v0hi;
    v3lo ^= v0lo;
    // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
    s = (v2lo >>> 0) + (v1lo >>> 0);
    v2hi = (v2hi + v1hi + (s > 0xffffffff ? 1 : 0)) | 0;
    v2lo = s | 0;
    t = v1hi;
    v1hi = (v1hi << 17) | (v1lo >>> 15);
    v1lo = (v1lo << 17) | (t >>> 15);
    v1hi ^= v2hi;
    v1lo ^= v2lo;
    t = v2hi;
    v2hi = v2lo;
    v2lo = t;
    if (r === 0) {
      // end of the compression round: v0 ^= b, then the finalisation marker
      v0hi ^= 0x04000000;
      v0lo ^= v;
      v2lo ^= 0xff;
    }
  }
  return (v0lo ^ v1lo ^ v2lo ^ v3lo) >>> 0;
}

/**
 * `hsiphashU32` specialised to one key, for the hot path (the mh lookup).
 * Returns a function computing hsiphash(&v, 4, key) of the u32 `v` as a
 * *signed* 32-bit integer (`>>> 0` gives the unsigned value; returning the
 * signed form keeps the result a small integer for the engine instead of a
 * boxed double when the call is not inlined). `v` may be given signed or
 * unsigned; only its low 32 bits count.
 *
 * Same rounds as hsiphashU32, written out straight (no loop, no branches):
 * - the key-dependent starting state lives in constants of the returned
 *   closure, which the optimising compiler can fold into the code when the
 *   closure is the only one made (create one per key, once, at load time);
 * - the carry out of a low-half addition (the sum wrapped below an
 *   addend) is turned into a number with unary `+` on the comparison, which
 *   the compiler emits as a flag-to-register move; the form
 *   `s > 0xffffffff ? 1 : 0` of hsiphashU32 becomes a data-dependent branch
 *   that mispredicts about half the time, which cost more than the whole
 *   arithmetic of the hash (a carry from bit operations, the top bit of
 *   `(a & b) | ((a | b) & ~sum)`, is branch-free too but measured ~20%
 *   slower than the comparison).
 */
export function hsiphashU32Keyed(key: HsipKey): (v: number) => number {
  const p0hi = key.p0hi | 0;
  const p0lo = key.p0lo | 0;
  const p1hi = key.p1hi | 0;
  const p1lo = key.p1lo | 0;
  const k2hi = key.v2hi | 0;
  const k2lo = key.v2lo | 0;
  // the length byte of the only block (4 << 56) enters v3 before the compression round
  const k3hi = (key.v3hi ^ 0x04000000) | 0;
  const k3lo = key.v3lo | 0;
  return (v: number): number => {
    let v0hi = p0hi;
    let v0lo = p0lo;
    let v1hi = p1hi;
    let v1lo = p1lo;
    let v2hi = k2hi;
    let v2lo = k2lo;
    let v3hi = k3hi;
    let v3lo = k3lo ^ v;
    let lo: number;
    let t: number;
    // compression round, second half (the first half was done with the key)
    // v2 += v3; v3 = rotl(v3, 16) ^ v2
    lo = (v2lo + v3lo) | 0;
    v2hi = (v2hi + v3hi + +(lo >>> 0 < v2lo >>> 0)) | 0;
    v2lo = lo;
    t = v3hi;
    v3hi = ((v3hi << 16) | (v3lo >>> 16)) ^ v2hi;
    v3lo = ((v3lo << 16) | (t >>> 16)) ^ v2lo;
    // v0 += v3; v3 = rotl(v3, 21) ^ v0
    lo = (v0lo + v3lo) | 0;
    v0hi = (v0hi + v3hi + +(lo >>> 0 < v0lo >>> 0)) | 0;
    v0lo = lo;
    t = v3hi;
    v3hi = ((v3hi << 21) | (v3lo >>> 11)) ^ v0hi;
    v3lo = ((v3lo << 21) | (t >>> 11)) ^ v0lo;
    // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
    lo = (v2lo + v1lo) | 0;
    v2hi = (v2hi + v1hi + +(lo >>> 0 < v2lo >>> 0)) | 0;
    v2lo = lo;
    t = v1hi;
    v1hi = ((v1hi << 17) | (v1lo >>> 15)) ^ v2hi;
    v1lo = ((v1lo << 17) | (t >>> 15)) ^ v2lo;
    t = v2hi;
    v2hi = v2lo;
    v2lo = t;
    // the block leaves v0; the finalisation marker enters v2
    v0hi ^= 0x04000000;
    v0lo ^= v;
    v2lo ^= 0xff;
    // finalisation round 1: v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
    lo = (v0lo + v1lo) | 0;
    v0hi = (v0hi + v1hi + +(lo >>> 0 < v0lo >>> 0)) | 0;
    v0lo = lo;
    t = v1hi;
    v1hi = ((v1hi << 13) | (v1lo >>> 19)) ^ v0hi;
    v1lo = ((v1lo << 13) | (t >>> 19)) ^ v0lo;
    t = v0hi;
    v0hi = v0lo;
    v0lo = t;
    // v2 += v3; v3 = rotl(v3, 16) ^ v2
    lo = (v2lo + v3lo) | 0;
    v2hi = (v2hi + v3hi + +(lo >>> 0 < v2lo >>> 0)) | 0;
    v2lo = lo;
    t = v3hi;
    v3hi = ((v3hi << 16) | (v3lo >>> 16)) ^ v2hi;
    v3lo = ((v3lo << 16) | (t >>> 16)) ^ v2lo;
    // v0 += v3; v3 = rotl(v3, 21) ^ v0
    lo = (v0lo + v3lo) | 0;
    v0hi = (v0hi + v3hi + +(lo >>> 0 < v0lo >>> 0)) | 0;
    v0lo = lo;
    t = v3hi;
    v3hi = ((v3hi << 21) | (v3lo >>> 11)) ^ v0hi;
    v3lo = ((v3lo << 21) | (t >>> 11)) ^ v0lo;
    // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
    lo = (v2lo + v1lo) | 0;
    v2hi = (v2hi + v1hi + +(lo >>> 0 < v2lo >>> 0)) | 0;
    v2lo = lo;
    t = v1hi;
    v1hi = ((v1hi << 17) | (v1lo >>> 15)) ^ v2hi;
    v1lo = ((v1lo << 17) | (t >>> 15)) ^ v2lo;
    t = v2hi;
    v2hi = v2lo;
    v2lo = t;
    // finalisation round 2: v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
    lo = (v0lo + v1lo) | 0;
    v0hi = (v0hi + v1hi + +(lo >>> 0 < v0lo >>> 0)) | 0;
    v0lo = lo;
    t = v1hi;
    v1hi = ((v1hi << 13) | (v1lo >>> 19)) ^ v0hi;
    v1lo = ((v1lo << 13) | (t >>> 19)) ^ v0lo;
    t = v0hi;
    v0hi = v0lo;
    v0lo = t;
    // v2 += v3; v3 = rotl(v3, 16) ^ v2
    lo = (v2lo + v3lo) | 0;
    v2hi = (v2hi + v3hi + +(lo >>> 0 < v2lo >>> 0)) | 0;
    v2lo = lo;
    t = v3hi;
    v3hi = ((v3hi << 16) | (v3lo >>> 16)) ^ v2hi;
    v3lo = ((v3lo << 16) | (t >>> 16)) ^ v2lo;
    // v0 += v3; v3 = rotl(v3, 21) ^ v0
    lo = (v0lo + v3lo) | 0;
    v0hi = (v0hi + v3hi + +(lo >>> 0 < v0lo >>> 0)) | 0;
    v0lo = lo;
    t = v3hi;
    v3hi = ((v3hi << 21) | (v3lo >>> 11)) ^ v0hi;
    v3lo = ((v3lo << 21) | (t >>> 11)) ^ v0lo;
    // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
    lo = (v2lo + v1lo) | 0;
    v2hi = (v2hi + v1hi + +(lo >>> 0 < v2lo >>> 0)) | 0;
    v2lo = lo;
    t = v1hi;
    v1hi = ((v1hi << 17) | (v1lo >>> 15)) ^ v2hi;
    v1lo = ((v1lo << 17) | (t >>> 15)) ^ v2lo;
    t = v2hi;
    v2hi = v2lo;
    v2lo = t;
    // finalisation round 3: v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
    lo = (v0lo + v1lo) | 0;
    v0hi = (v0hi + v1hi + +(lo >>> 0 < v0lo >>> 0)) | 0;
    v0lo = lo;
    t = v1hi;
    v1hi = ((v1hi << 13) | (v1lo >>> 19)) ^ v0hi;
    v1lo = ((v1lo << 13) | (t >>> 19)) ^ v0lo;
    // of rotl(v0, 32) only the low half (the former high half) is needed from here on
    v0lo = v0hi;
    // v2 += v3; v3 = rotl(v3, 16) ^ v2
    lo = (v2lo + v3lo) | 0;
    v2hi = (v2hi + v3hi + +(lo >>> 0 < v2lo >>> 0)) | 0;
    v2lo = lo;
    t = v3hi;
    v3hi = ((v3hi << 16) | (v3lo >>> 16)) ^ v2hi;
    v3lo = ((v3lo << 16) | (t >>> 16)) ^ v2lo;
    // v0 += v3; v3 = rotl(v3, 21) ^ v0; v2 += v1; v1 = rotl(v1, 17) ^ v2;
    // v2 = rotl(v2, 32), of which only the low halves are still needed
    v0lo = (v0lo + v3lo) | 0;
    v3lo = ((v3lo << 21) | (v3hi >>> 11)) ^ v0lo;
    lo = (v2lo + v1lo) | 0;
    v1lo = ((v1lo << 17) | (v1hi >>> 15)) ^ lo;
    // the low half of rotl(v2, 32) is the high half of the sum
    v2lo = (v2hi + v1hi + +(lo >>> 0 < v2lo >>> 0)) | 0;
    return v0lo ^ v1lo ^ v2lo ^ v3lo;
  };
}

/**
 * General SipHash-c-d of `msg` under the 16-byte `key` (k0 = bytes 0..7,
 * k1 = bytes 8..15, little-endian), returning the 64-bit result. For tests
 * and tools only (allocates).
 */
export function sipHash(cRounds: number, dRounds: number, key: Uint8Array, msg: Uint8Array): bigint {
  const M = (1n << 64n) - 1n;
  const le64 = (b: Uint8Array, off: number, n: number): bigint => {
    let x = 0n;
    for (let i = n - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[off + i]);
    return x;
  };
  const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M;
  const k0 = le64(key, 0, 8);
  const k1 = le64(key, 8, 8);
  let v0 = 0x736f6d6570736575n ^ k0;
  let v1 = 0x646f72616e646f6dn ^ k1;
  let v2 = 0x6c7967656e657261n ^ k0;
  let v3 = 0x7465646279746573n ^ k1;
  const round = (): void => {
    v0 = (v0 + v1) & M;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & M;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & M;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  const full = msg.length - (msg.length % 8);
  const blocks: bigint[] = [];
  for (let off = 0; off < full; off += 8) blocks.push(le64(msg, off, 8));
  blocks.push((BigInt(msg.length & 0xff) << 56n) | le64(msg, full, msg.length - full));
  for (const m of blocks) {
    v3 ^= m;
    for (let i = 0; i < cRounds; i++) round();
    v0 ^= m;
  }
  v2 ^= 0xffn;
  for (let i = 0; i < dRounds; i++) round();
  return v0 ^ v1 ^ v2 ^ v3;
}
