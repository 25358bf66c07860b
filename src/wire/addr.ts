/**
 * Address text <-> number conversion at the edges (set-up files, listings,
 * explain output). The hot path never sees text: it works on 32-bit words.
 *
 * Conventions used across ipvs-sim:
 * - An IP address is four 32-bit words holding the address bytes in network
 *   order, each word read big-endian (so `10.0.0.1` is `0x0a000001`). An IPv4
 *   address uses word 0 only and words 1..3 are zero, the layout of the
 *   kernel's `union nf_inet_addr`.
 * - A MAC address is a 48-bit integer (fits a double exactly).
 *
 * Parsing and formatting of IP text is done by the `ip-address` library; the
 * IPv6 text form is then adjusted to what glibc's inet_ntop() prints (ipvsadm
 * listings are made with it): IPv4-mapped and IPv4-compatible addresses end in
 * dotted quad.
 */
import { Address4, Address6 } from 'ip-address';

export type Af = 4 | 6;

/** An immutable IP address for the control plane. */
export class IpAddr {
  readonly af: Af;
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;

  constructor(af: Af, w0: number, w1 = 0, w2 = 0, w3 = 0) {
    this.af = af;
    this.w0 = w0 >>> 0;
    this.w1 = af === 6 ? w1 >>> 0 : 0;
    this.w2 = af === 6 ? w2 >>> 0 : 0;
    this.w3 = af === 6 ? w3 >>> 0 : 0;
  }

  /** Parses an IPv4 or IPv6 address (no prefix, no brackets). Throws on bad text. */
  static parse(text: string): IpAddr {
    const a = IpAddr.tryParse(text);
    if (!a) throw new Error(`invalid IP address '${text}'`);
    return a;
  }

  /** Parses an IPv4 or IPv6 address; undefined when the text is not one. */
  static tryParse(text: string): IpAddr | undefined {
    if (text.includes(':')) {
      if (!Address6.isValid(text) || text.includes('/') || text.includes('%')) return undefined;
      const bytes = new Address6(text).toByteArray();
      // toByteArray() drops leading zero bytes; left-pad to 16
      const b = new Uint8Array(16);
      b.set(bytes, 16 - bytes.length);
      return IpAddr.fromBytes(6, b, 0);
    }
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(text) || !Address4.isValid(text)) return undefined;
    const p = text.split('.').map(Number);
    if (p.some((x) => x > 255)) return undefined;
    return new IpAddr(4, ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0);
  }

  /** Reads an address from bytes (4 for IPv4, 16 for IPv6) at `off`. */
  static fromBytes(af: Af, b: Uint8Array, off: number): IpAddr {
    const w = (o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
    return af === 4 ? new IpAddr(4, w(off)) : new IpAddr(6, w(off), w(off + 4), w(off + 8), w(off + 12));
  }

  /** Builds an address from a words array (as kept in typed arrays on the hot path). */
  static fromWords(af: Af, w: ArrayLike<number>, off = 0): IpAddr {
    return new IpAddr(af, w[off], w[off + 1], w[off + 2], w[off + 3]);
  }

  /** Writes the address bytes (4 or 16) into `b` at `off`. */
  writeBytes(b: Uint8Array, off: number): void {
    const n = this.af === 4 ? 1 : 4;
    for (let i = 0; i < n; i++) {
      const v = this.word(i);
      b[off + 4 * i] = v >>> 24;
      b[off + 4 * i + 1] = (v >>> 16) & 255;
      b[off + 4 * i + 2] = (v >>> 8) & 255;
      b[off + 4 * i + 3] = v & 255;
    }
  }

  bytes(): Uint8Array {
    const b = new Uint8Array(this.af === 4 ? 4 : 16);
    this.writeBytes(b, 0);
    return b;
  }

  word(i: number): number {
    return i === 0 ? this.w0 : i === 1 ? this.w1 : i === 2 ? this.w2 : this.w3;
  }

  /** Copies the four words into `w` at `off` (IPv4: word 0, zeros after). */
  writeWords(w: Uint32Array, off = 0): void {
    w[off] = this.w0;
    w[off + 1] = this.w1;
    w[off + 2] = this.w2;
    w[off + 3] = this.w3;
  }

  equals(o: IpAddr): boolean {
    return this.af === o.af && this.w0 === o.w0 && this.w1 === o.w1 && this.w2 === o.w2 && this.w3 === o.w3;
  }

  /** Total order: IPv4 before IPv6, then numerically (as ipvsadm sorts). */
  compare(o: IpAddr): number {
    if (this.af !== o.af) return this.af - o.af;
    for (let i = 0; i < 4; i++) {
      const d = this.word(i) - o.word(i);
      if (d !== 0) return d < 0 ? -1 : 1;
    }
    return 0;
  }

  isZero(): boolean {
    return (this.w0 | this.w1 | this.w2 | this.w3) === 0;
  }

  /** The address masked to its first `plen` bits. */
  masked(plen: number): IpAddr {
    const bits = this.af === 4 ? 32 : 128;
    if (plen >= bits) return this;
    const w = [this.w0, this.w1, this.w2, this.w3];
    for (let i = 0; i < 4; i++) {
      const keep = Math.max(0, Math.min(32, plen - 32 * i));
      w[i] = keep === 0 ? 0 : keep === 32 ? w[i] : (w[i] & (~0 << (32 - keep))) >>> 0;
    }
    return new IpAddr(this.af, w[0], w[1], w[2], w[3]);
  }

  /** Text as inet_ntop() prints it. */
  toString(): string {
    if (this.af === 4) return ipv4ToString(this.w0);
    const w = [this.w0, this.w1, this.w2, this.w3];
    const groups: number[] = [];
    for (const x of w) groups.push(x >>> 16, x & 0xffff);
    // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) as glibc prints them
    // glibc prints IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d,
    // six leading zero groups then a non-zero seventh) addresses in dotted quad
    const zeros5 = groups.slice(0, 5).every((g) => g === 0);
    if (zeros5 && groups[5] === 0xffff) return `::ffff:${ipv4ToString(this.w3)}`;
    if (zeros5 && groups[5] === 0 && groups[6] !== 0) return `::${ipv4ToString(this.w3)}`;
    const hex = groups.map((g) => g.toString(16)).join(':');
    return new Address6(hex).correctForm();
  }
}

export function ipv4ToString(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}

/** An address with a prefix length, as `ip addr add` and `ip route add` take it. */
export interface IpPrefix {
  addr: IpAddr;
  plen: number;
}

/** Parses `ADDR[/PLEN]` (PLEN defaults to the full length). Undefined when invalid. */
export function parsePrefix(text: string): IpPrefix | undefined {
  const slash = text.indexOf('/');
  const addr = IpAddr.tryParse(slash < 0 ? text : text.slice(0, slash));
  if (!addr) return undefined;
  const max = addr.af === 4 ? 32 : 128;
  if (slash < 0) return { addr, plen: max };
  const p = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(p)) return undefined;
  const plen = Number(p);
  if (plen > max) return undefined;
  return { addr, plen };
}

/** Parses `aa:bb:cc:dd:ee:ff` into a 48-bit integer. Undefined when invalid. */
export function parseMac(text: string): number | undefined {
  const m = /^([0-9a-fA-F]{1,2})(?::([0-9a-fA-F]{1,2})){5}$/.exec(text);
  if (!m) return undefined;
  return text.split(':').reduce((acc, h) => acc * 256 + parseInt(h, 16), 0);
}

/** Formats a 48-bit MAC integer as lower-case `aa:bb:cc:dd:ee:ff`. */
export function macToString(mac: number): string {
  const out: string[] = [];
  for (let i = 5; i >= 0; i--) out.push((Math.floor(mac / 2 ** (8 * i)) % 256).toString(16).padStart(2, '0'));
  return out.join(':');
}

/** Writes a 48-bit MAC integer as 6 bytes at `off`. */
export function writeMac(b: Uint8Array, off: number, mac: number): void {
  const hi = Math.floor(mac / 0x100000000);
  const lo = mac >>> 0;
  b[off] = hi >>> 8;
  b[off + 1] = hi & 255;
  b[off + 2] = lo >>> 24;
  b[off + 3] = (lo >>> 16) & 255;
  b[off + 4] = (lo >>> 8) & 255;
  b[off + 5] = lo & 255;
}

/** Reads 6 bytes at `off` as a 48-bit MAC integer. */
export function readMac(b: Uint8Array, off: number): number {
  return (
    ((b[off] << 8) | b[off + 1]) * 0x100000000 +
    (((b[off + 2] << 24) | (b[off + 3] << 16) | (b[off + 4] << 8) | b[off + 5]) >>> 0)
  );
}

/**
 * Reads an address from bytes into words (hot-path safe, no allocation):
 * IPv4 (`af` 4) reads 4 bytes into `out[idx]` and zeroes `out[idx+1..idx+3]`;
 * IPv6 reads 16 bytes into `out[idx..idx+3]`.
 */
export function readAddrWords(b: Uint8Array, off: number, af: number, out: Uint32Array, idx = 0): void {
  const n = af === 6 ? 4 : 1;
  for (let i = 0; i < 4; i++) {
    const o = off + 4 * i;
    out[idx + i] = i < n ? ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0 : 0;
  }
}

/** Writes words as address bytes: 4 bytes (word `idx`) for IPv4, 16 for IPv6. */
export function writeAddrWords(
  b: Uint8Array,
  off: number,
  af: number,
  words: ArrayLike<number>,
  idx = 0,
): void {
  const n = af === 6 ? 4 : 1;
  for (let i = 0; i < n; i++) {
    const v = words[idx + i];
    b[off + 4 * i] = v >>> 24;
    b[off + 4 * i + 1] = (v >>> 16) & 255;
    b[off + 4 * i + 2] = (v >>> 8) & 255;
    b[off + 4 * i + 3] = v & 255;
  }
}
