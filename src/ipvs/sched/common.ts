/**
 * Small exact-arithmetic and hashing helpers shared by the schedulers.
 * Everything here is allocation-free and safe on the hot path.
 */

const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;

/** The kernel's GOLDEN_RATIO_32 (include/linux/hash.h). */
export const GOLDEN_RATIO_32 = 0x61c88647;

/**
 * Mirrors hash_32(): multiply by GOLDEN_RATIO_32 modulo 2^32 and keep the top
 * `bits` bits. `val` is taken as an unsigned 32-bit integer.
 */
export function hash32(val: number, bits: number): number {
  return Math.imul(val, GOLDEN_RATIO_32) >>> (32 - bits);
}

/**
 * Folds an address held as four 32-bit words (the project's address layout,
 * already in host order) the way IPVS schedulers fold `union nf_inet_addr`
 * before hashing: the IPv4 word, or for IPv6 the XOR of the four words
 * (`ntohl(a^b^c^d)` equals `ntohl(a)^ntohl(b)^ntohl(c)^ntohl(d)`).
 */
export function foldAddr(af: number, w: Uint32Array): number {
  return af === 6 ? (w[0] ^ w[1] ^ w[2] ^ w[3]) >>> 0 : w[0];
}

/** Same as foldAddr for the immutable control-plane IpAddr. */
export function foldIpAddr(af: number, a: { w0: number; w1: number; w2: number; w3: number }): number {
  return af === 6 ? (a.w0 ^ a.w1 ^ a.w2 ^ a.w3) >>> 0 : a.w0;
}

/** The kernel's gcd() of two positive integers. */
export function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** fls(): position of the most significant set bit, 1-based; 0 for 0. */
export function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/**
 * Exact comparison of two products of non-negative integers below 2^32:
 * returns -1, 0 or 1 as a*b is less than, equal to or greater than c*d.
 * The kernel compares these in 64 bits; doubles are exact only up to 2^53, so
 * larger products are split into 32-bit halves (no allocation, no BigInt).
 */
export function cmpProducts(a: number, b: number, c: number, d: number): number {
  const p = a * b;
  const q = c * d;
  if (p < TWO_53 && q < TWO_53) return p < q ? -1 : p > q ? 1 : 0;
  const ph = productHigh(a, b);
  const qh = productHigh(c, d);
  if (ph !== qh) return ph < qh ? -1 : 1;
  const pl = productLow(a, b);
  const ql = productLow(c, d);
  return pl < ql ? -1 : pl > ql ? 1 : 0;
}

/** Exact floor(a*b / 2^32) for 0 <= a, b < 2^32. */
function productHigh(a: number, b: number): number {
  const ah = Math.floor(a / 65536);
  const al = a - ah * 65536;
  const x = ah * b; // < 2^48, exact
  const y = al * b; // < 2^48, exact
  const xh = Math.floor(x / 65536);
  const xl = x - xh * 65536;
  const lo = xl * 65536 + y; // < 2^49, exact
  return xh + Math.floor(lo / TWO_32);
}

/** Exact (a*b) mod 2^32 for 0 <= a, b < 2^32. */
function productLow(a: number, b: number): number {
  const ah = Math.floor(a / 65536);
  const al = a - ah * 65536;
  const x = ah * b;
  const y = al * b;
  const xh = Math.floor(x / 65536);
  const xl = x - xh * 65536;
  const lo = xl * 65536 + y;
  return lo - Math.floor(lo / TWO_32) * TWO_32;
}

/** `addr:port` of a real server for explain traces (IPv6 in brackets). Not for the hot path. */
export function destLabel(d: { af: number; addr: { toString(): string }; port: number }): string {
  return d.af === 6 ? `[${d.addr.toString()}]:${d.port}` : `${d.addr.toString()}:${d.port}`;
}

/**
 * x mod m for integers 0 <= x < 2^32 and 1 <= m < 2^53, without the `%`
 * operator (on values beyond int32, as unsigned hashes and random numbers
 * are, V8 computes `%` with a slow floating-point remainder call), and with
 * the quotient taken from a multiplication by `inv` = 1 / m (computed once by
 * the caller for a modulus used again and again) instead of a division,
 * which has several times the latency. The rounded product is within 2^-20 of x / m,
 * so its floor is the true quotient or off by one, corrected below.
 */
export function modU32Recip(x: number, m: number, inv: number): number {
  let r = x - Math.floor(x * inv) * m;
  if (r < 0) r += m;
  else if (r >= m) r -= m;
  return r;
}
