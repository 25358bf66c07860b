/**
 * The few C library behaviours ipvsadm's output and argument checks depend
 * on, written out so the simulator accepts and prints exactly what ipvsadm
 * 1.31 does on a glibc system: strtol()/atoi() number parsing, inet_aton()'s
 * liberal IPv4 forms, inet_pton() for IPv6, and glibc's merge-sort qsort()
 * (ipvsadm's comparators are not always consistent orders, so the algorithm
 * decides the listing order).
 */
import { IpAddr } from '../../wire/addr.js';

const WS = ' \t\n\v\f\r';

/**
 * strtol(s, &end, 10) followed by ipvsadm's `*end == '\0' && end != s`
 * check: the whole text must be an optionally signed decimal number after
 * optional leading white space. Returns undefined otherwise.
 */
export function strtolWhole(s: string): number | undefined {
  let i = 0;
  while (i < s.length && WS.includes(s[i])) i++;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') {
    neg = s[i] === '-';
    i++;
  }
  const start = i;
  while (i < s.length && s[i] >= '0' && s[i] <= '9') i++;
  if (i === start || i !== s.length) return undefined;
  const v = Number(s.slice(start, i));
  return neg ? -v : v;
}

/** ipvsadm's string_to_number(): the whole text a decimal number within [min, max], else -1. */
export function stringToNumber(s: string, min: number, max: number): number {
  const v = strtolWhole(s);
  if (v === undefined || v < min || v > max) return -1;
  return v;
}

/** atoi(): leading white space, optional sign, digits; 0 when there are none. */
export function atoi(s: string): number {
  let i = 0;
  while (i < s.length && WS.includes(s[i])) i++;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') {
    neg = s[i] === '-';
    i++;
  }
  let v = 0;
  while (i < s.length && s[i] >= '0' && s[i] <= '9') {
    v = v * 10 + (s.charCodeAt(i) - 48);
    i++;
  }
  v = neg ? -v : v;
  return v | 0;
}

/** ipvsadm's str_is_digit(): true when every character is a decimal digit (also for ''). */
export function strIsDigit(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

/** One inet_aton() part: decimal, octal (leading 0) or hex (0x); undefined when invalid. */
function atonPart(p: string): number | undefined {
  if (p === '') return undefined;
  let base = 10;
  let digits = p;
  if (/^0[xX]/.test(p)) {
    base = 16;
    digits = p.slice(2);
    // glibc accepts a bare "0x" as 0
    if (digits === '') return 0;
  } else if (p.length > 1 && p[0] === '0') {
    base = 8;
    digits = p.slice(1);
  }
  const re = base === 16 ? /^[0-9a-fA-F]+$/ : base === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!re.test(digits)) return undefined;
  const v = parseInt(digits, base);
  return v > 0xffffffff ? undefined : v;
}

/**
 * inet_aton(): `a.b.c.d`, `a.b.c` (c is 16 bits), `a.b` (b is 24 bits) or `a`
 * (32 bits), each part decimal, octal or hex; glibc also ends the text at the
 * first white space. Returns the address as a 32-bit word, or undefined.
 */
export function inetAton(text: string): number | undefined {
  let s = text;
  for (let i = 0; i < s.length; i++) {
    if (WS.includes(s[i])) {
      s = s.slice(0, i);
      break;
    }
  }
  const parts = s.split('.');
  if (parts.length > 4) return undefined;
  const v: number[] = [];
  for (const p of parts) {
    const n = atonPart(p);
    if (n === undefined) return undefined;
    v.push(n);
  }
  const last = v[v.length - 1];
  const head = v.slice(0, -1);
  if (head.some((x) => x > 255)) return undefined;
  const lastMax = [0xffffffff, 0xffffff, 0xffff, 0xff][head.length];
  if (last > lastMax) return undefined;
  let w = 0;
  for (let i = 0; i < head.length; i++) w += head[i] * 2 ** (24 - 8 * i);
  return (w + last) >>> 0;
}

/** inet_pton(AF_INET6, …): a strict IPv6 address text (no brackets, zone or prefix), or undefined. */
export function inetPton6(text: string): IpAddr | undefined {
  if (!text.includes(':') || text.includes('%') || text.includes('/') || /\s/.test(text)) return undefined;
  // inet_pton rejects a group of more than 4 hex digits and leading/trailing single colons
  const a = IpAddr.tryParse(text);
  return a && a.af === 6 ? a : undefined;
}

/** inet_pton(AF_INET, …): strict dotted quad, each part 0..255 in decimal without leading zeros. */
export function inetPton4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  let w = 0;
  for (let i = 1; i <= 4; i++) {
    const p = m[i];
    if (p.length > 1 && p[0] === '0') return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    w = w * 256 + n;
  }
  return w >>> 0;
}

/**
 * The host names this simulator resolves (gethostbyname() without DNS or
 * /etc/hosts beyond the loopback name). Everything else is "not found".
 */
export function hostToAddr(name: string): number | undefined {
  return name === 'localhost' ? 0x7f000001 : undefined;
}

/** `a - b` of two unsigned 32-bit values, as C converts the difference to int. */
export function wrapDiff32(a: number, b: number): number {
  return (a - b) | 0;
}

/**
 * glibc's qsort() (msort.c): a top-down merge sort that splits n into n/2 and
 * n - n/2 and, when merging, takes from the left run while cmp(left, right) <= 0.
 * Reproducing it matters because ipvsadm's comparators wrap around.
 */
export function glibcQsort<T>(items: readonly T[], cmp: (a: T, b: T) => number): T[] {
  const a = items.slice();
  const tmp = new Array<T>(a.length);
  const sort = (lo: number, n: number): void => {
    if (n <= 1) return;
    const n1 = n >> 1;
    const n2 = n - n1;
    sort(lo, n1);
    sort(lo + n1, n2);
    let i = lo;
    let j = lo + n1;
    const iEnd = lo + n1;
    const jEnd = lo + n;
    let k = 0;
    while (i < iEnd && j < jEnd) {
      if (cmp(a[i], a[j]) <= 0) tmp[k++] = a[i++];
      else tmp[k++] = a[j++];
    }
    while (i < iEnd) tmp[k++] = a[i++];
    // the rest of the right run is already in place
    for (let x = 0; x < k; x++) a[lo + x] = tmp[x];
  };
  sort(0, a.length);
  return a;
}

/** printf("%-Ns", s). */
export function padRight(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** printf("%Ns", s). */
export function padLeft(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

/** inet_ntoa() of a 32-bit word. */
export function ntoa(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}
