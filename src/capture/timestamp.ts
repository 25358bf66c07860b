/**
 * Capture timestamps as (seconds, nanoseconds) pairs of plain numbers, exact
 * at nanosecond precision (a double holds ns since 1970 only to ~256 ns, so
 * the pair is never folded into one number on the way through).
 *
 * Helpers write into a caller-owned `Timestamp` scratch instead of returning
 * new objects, so the replay can compute "input timestamp + k µs" per output
 * frame without allocating.
 */

export const NS_PER_SEC = 1_000_000_000;

/** A mutable (seconds, nanoseconds) pair; reuse one as scratch. */
export class Timestamp {
  sec: number;
  nsec: number;

  constructor(sec = 0, nsec = 0) {
    this.sec = sec;
    this.nsec = nsec;
  }

  set(sec: number, nsec: number): this {
    this.sec = sec;
    this.nsec = nsec;
    return this;
  }
}

/**
 * `out` = (sec, nsec) + deltaNs, normalised to 0 <= out.nsec < 1e9 (`nsec`
 * itself may be out of range, e.g. a pcap record's raw fraction). Exact while
 * |nsec + deltaNs| < 2^53 (about 104 days). `out` may be a Timestamp passed in
 * another argument's place; it is returned for chaining.
 */
export function addNs(out: Timestamp, sec: number, nsec: number, deltaNs: number): Timestamp {
  const total = nsec + deltaNs;
  let carry = Math.floor(total / NS_PER_SEC);
  let rest = total - carry * NS_PER_SEC;
  // the division is rounded; fix the rare off-by-one at a boundary
  if (rest < 0) {
    carry--;
    rest += NS_PER_SEC;
  } else if (rest >= NS_PER_SEC) {
    carry++;
    rest -= NS_PER_SEC;
  }
  out.sec = sec + carry;
  out.nsec = rest;
  return out;
}

/** `out` = (sec, nsec) + deltaUs microseconds (see addNs). */
export function addUs(out: Timestamp, sec: number, nsec: number, deltaUs: number): Timestamp {
  return addNs(out, sec, nsec, deltaUs * 1000);
}

/** a - b in nanoseconds; exact while the difference is below 2^53 ns (about 104 days). */
export function diffNs(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  return (aSec - bSec) * NS_PER_SEC + (aNsec - bNsec);
}

/** -1, 0 or 1 as a is before, equal to or after b (both normalised). */
export function compareTs(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  if (aSec !== bSec) return aSec < bSec ? -1 : 1;
  if (aNsec !== bNsec) return aNsec < bNsec ? -1 : 1;
  return 0;
}

/** `1700000000.000001234`: seconds and nine fraction digits (as `tshark -e frame.time_epoch` prints them). */
export function formatTs(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

const TWO32 = 4294967296;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/**
 * Converts pcapng timestamps (a 64-bit count of units, given as its high and
 * low 32-bit halves, at an interface's `if_tsresol`) to seconds and
 * nanoseconds without BigInt and without allocating: `convert` leaves the
 * result in `sec` / `nsec`. Sub-nanosecond units are truncated, as Wireshark
 * does. Also converts (sec, nsec) back to nanosecond units (`toNsUnits`).
 *
 * `if_tsresol`: bit 7 clear = 10^-n seconds per unit, set = 2^-n (n = low 7
 * bits); pcapng's default (option absent) is 6 (microseconds).
 */
export class TsConverter {
  sec = 0;
  nsec = 0;
  /** Results of `divmod` and `toNsUnits`: quotient halves and remainder. */
  hi = 0;
  lo = 0;
  rem = 0;
  private readonly limbs = new Float64Array(6);

  /** Whether this converter handles a given `if_tsresol` byte (10^-n: any n; 2^-n: n <= 63). */
  static supports(tsresol: number): boolean {
    return tsresol >= 0 && tsresol <= 255 && (tsresol < 128 || tsresol - 128 <= 63);
  }

  convert(hi: number, lo: number, tsresol: number): void {
    if (tsresol <= 9) {
      const d = POW10[tsresol];
      if (hi < 0x200000) {
        // fits in 53 bits: plain arithmetic, fixed up for the rounded division
        const v = hi * TWO32 + lo;
        let s = Math.floor(v / d);
        let r = v - s * d;
        if (r < 0) {
          s--;
          r += d;
        } else if (r >= d) {
          s++;
          r -= d;
        }
        this.sec = s;
        this.nsec = r * POW10[9 - tsresol];
      } else if (tsresol >= 4) {
        // 53-bit estimate of the seconds (off by at most one: the rounding error of
        // the 64-bit value is at most 2^11 units, under a second at 10^-4 or finer);
        // the remainder is small, so its low 32 bits give it exactly
        let s = Math.floor((hi * TWO32 + lo) / d);
        let r = (lo - Math.imul(s, d)) | 0;
        if (r < 0) {
          s--;
          r += d;
        } else if (r >= d) {
          s++;
          r -= d;
        }
        this.sec = s;
        this.nsec = r * POW10[9 - tsresol];
      } else {
        this.divmod(hi, lo, d);
        this.sec = this.hi * TWO32 + this.lo;
        this.nsec = this.rem * POW10[9 - tsresol];
      }
    } else if (tsresol < 128) {
      // finer than ns: divide down to ns in steps of at most 10^9, then split
      let h = hi;
      let l = lo;
      for (let e = tsresol - 9; e > 0; e -= 9) {
        this.divmod(h, l, POW10[e > 9 ? 9 : e]);
        h = this.hi;
        l = this.lo;
      }
      this.divmod(h, l, NS_PER_SEC);
      this.sec = this.hi * TWO32 + this.lo;
      this.nsec = this.rem;
    } else {
      this.convertPow2(hi, lo, tsresol - 128);
    }
  }

  /** hi:lo (unsigned 64-bit) divided by d (1 <= d <= 1e9): quotient in this.hi:this.lo, remainder in this.rem. */
  divmod(hi: number, lo: number, d: number): void {
    // long division over 16-bit limbs: every partial value stays below 2^53
    let cur = Math.floor(hi / 65536);
    const q3 = Math.floor(cur / d);
    let r = cur - q3 * d;
    cur = r * 65536 + (hi % 65536);
    const q2 = Math.floor(cur / d);
    r = cur - q2 * d;
    cur = r * 65536 + Math.floor(lo / 65536);
    const q1 = Math.floor(cur / d);
    r = cur - q1 * d;
    cur = r * 65536 + (lo % 65536);
    const q0 = Math.floor(cur / d);
    r = cur - q0 * d;
    this.hi = q3 * 65536 + q2;
    this.lo = q1 * 65536 + q0;
    this.rem = r;
  }

  private convertPow2(hi: number, lo: number, k: number): void {
    let fracHi: number;
    let fracLo: number;
    if (k < 32) {
      const div = 2 ** k;
      const sLo = Math.floor(lo / div);
      fracHi = 0;
      fracLo = lo - sLo * div;
      this.sec = hi * 2 ** (32 - k) + sLo;
    } else {
      const div = 2 ** (k - 32);
      const sHi = Math.floor(hi / div);
      fracHi = hi - sHi * div;
      fracLo = lo;
      this.sec = sHi;
    }
    // nsec = floor(frac * 1e9 / 2^k): multiply the 64-bit fraction by 1e9
    // over 16-bit limbs (a 96-bit product), then take the bits from k upwards
    const o = this.limbs;
    let c: number;
    const a0 = fracLo % 65536;
    const a1 = Math.floor(fracLo / 65536);
    const a2 = fracHi % 65536;
    const a3 = Math.floor(fracHi / 65536);
    let p = a0 * NS_PER_SEC;
    o[0] = p % 65536;
    c = Math.floor(p / 65536);
    p = a1 * NS_PER_SEC + c;
    o[1] = p % 65536;
    c = Math.floor(p / 65536);
    p = a2 * NS_PER_SEC + c;
    o[2] = p % 65536;
    c = Math.floor(p / 65536);
    p = a3 * NS_PER_SEC + c;
    o[3] = p % 65536;
    c = Math.floor(p / 65536);
    o[4] = c % 65536;
    o[5] = Math.floor(c / 65536);
    const j = k >> 4;
    const s = k & 15;
    let ns = Math.floor(o[j] / 2 ** s);
    for (let i = j + 1; i < 6; i++) ns += o[i] * 2 ** (16 * i - k);
    this.nsec = ns;
  }

  /** (sec, nsec) as a 64-bit count of nanoseconds, left in this.hi / this.lo (0 <= sec < 2^32, 0 <= nsec < 1e9). */
  toNsUnits(sec: number, nsec: number): void {
    // sec * 1e9 + nsec with sec split in 16-bit halves, so no partial product exceeds 2^53;
    // remainders taken as x - floor(x / 2^16) * 2^16 (exact): `%` on numbers beyond int32 is
    // x87 fprem in V8's code, ~10 ns, which was most of the pcapng writer's time per frame
    const secHi = Math.floor(sec / 65536);
    const b = secHi * NS_PER_SEC;
    const a = (sec - secHi * 65536) * NS_PER_SEC + nsec;
    const bHi = Math.floor(b / 65536);
    const low = (b - bHi * 65536) * 65536 + a;
    const carry = Math.floor(low / TWO32);
    this.lo = low - carry * TWO32;
    this.hi = bHi + carry;
  }
}
