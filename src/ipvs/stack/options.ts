/**
 * IPv4 options as the director's replies and fragments carry them
 * (net/ipv4/ip_options.c):
 *
 * - `compileReceived` mirrors __ip_options_compile() on a received packet:
 *   it validates the options and, on a copy, applies what the kernel writes
 *   into a received packet (the record-route slot gets the receiving
 *   address, timestamps get the time) and notes where RR, TS, SRR and CIPSO
 *   are. The packet itself is not changed here.
 * - `echo` mirrors __ip_options_echo() + ip_options_build(): the options of
 *   a reply (ICMP error, echo reply, RST) built from the received ones —
 *   record route and timestamp copied with room taken for the replying
 *   host, a source route reversed — with the replying host's address and
 *   time filled in.
 * - `fragmentOptions` mirrors ip_options_fragment(): options that are not
 *   copied into later fragments become NOPs.
 *
 * Timestamps: the kernel writes milliseconds since midnight UTC; the
 * simulator only knows time since the first frame, so it writes that
 * (modulo one day). No oracle scenario carries timestamp options.
 */
import { rd32, wr32 } from '../../wire/bytes.js';

const IPOPT_END = 0;
const IPOPT_NOOP = 1;
const IPOPT_RR = 7;
const IPOPT_TIMESTAMP = 68;
const IPOPT_LSRR = 131;
const IPOPT_SSRR = 137;
const IPOPT_CIPSO = 134;
const IPOPT_RA = 148;
const IPOPT_TS_TSONLY = 0;
const IPOPT_TS_TSANDADDR = 1;
const IPOPT_TS_PRESPEC = 3;

/** What __ip_options_compile found (offsets relative to the IP header, 0 = absent). */
export class IpOptions {
  optlen = 0;
  srr = 0;
  rr = 0;
  ts = 0;
  cipso = 0;
  routerAlert = 0;
  isStrictroute = false;
  rrNeedaddr = false;
  tsNeedaddr = false;
  tsNeedtime = false;
  /** Reply: first hop of a reversed source route. */
  faddr = 0;
  /** The option bytes, header-relative (data[20..20+optlen)). */
  readonly data = new Uint8Array(60);

  clear(): void {
    this.optlen = 0;
    this.srr = 0;
    this.rr = 0;
    this.ts = 0;
    this.cipso = 0;
    this.routerAlert = 0;
    this.isStrictroute = false;
    this.rrNeedaddr = false;
    this.tsNeedaddr = false;
    this.tsNeedtime = false;
    this.faddr = 0;
  }
}

/** Milliseconds-of-day timestamp (see the module comment). */
function timestamp(nowMs: number): number {
  return Math.floor(nowMs) % 86400000;
}

/**
 * __ip_options_compile() for the received header at buf[l3..l3+ihl):
 * fills `o` (its `data` holds the options as the kernel leaves them in the
 * received packet). `specDst` is the receiving address (fib_compute_spec_dst).
 * Returns false when the options are invalid (the kernel would have dropped
 * the packet with a parameter problem).
 */
export function compileReceived(
  buf: Uint8Array,
  l3: number,
  ihl: number,
  o: IpOptions,
  specDst: number,
  isLocal: (a: number) => boolean,
  nowMs: number,
): boolean {
  o.clear();
  const d = o.data;
  o.optlen = ihl - 20;
  for (let i = 0; i < ihl; i++) d[i] = buf[l3 + i];
  let p = 20;
  let l = o.optlen;
  while (l > 0) {
    const t = d[p];
    if (t === IPOPT_END) {
      for (p++, l--; l > 0; p++, l--) d[p] = IPOPT_END;
      break;
    }
    if (t === IPOPT_NOOP) {
      l--;
      p++;
      continue;
    }
    if (l < 2) return false;
    const optlen = d[p + 1];
    if (optlen < 2 || optlen > l) return false;
    switch (t) {
      case IPOPT_SSRR:
      case IPOPT_LSRR:
        if (optlen < 3 || d[p + 2] < 4 || o.srr) return false;
        o.isStrictroute = t === IPOPT_SSRR;
        o.srr = p;
        break;
      case IPOPT_RR:
        if (o.rr || optlen < 3 || d[p + 2] < 4) return false;
        if (d[p + 2] <= optlen) {
          if (d[p + 2] + 3 > optlen) return false;
          wr32(d, p + d[p + 2] - 1, specDst);
          d[p + 2] += 4;
          o.rrNeedaddr = true;
        }
        o.rr = p;
        break;
      case IPOPT_TIMESTAMP: {
        if (o.ts || optlen < 4 || d[p + 2] < 5) return false;
        if (d[p + 2] <= optlen) {
          if (d[p + 2] + 3 > optlen) return false;
          let timeAt = -1;
          const flag = d[p + 3] & 15;
          if (flag === IPOPT_TS_TSONLY) {
            timeAt = p + d[p + 2] - 1;
            o.tsNeedtime = true;
            d[p + 2] += 4;
          } else if (flag === IPOPT_TS_TSANDADDR) {
            if (d[p + 2] + 7 > optlen) return false;
            wr32(d, p + d[p + 2] - 1, specDst);
            timeAt = p + d[p + 2] + 3;
            o.tsNeedaddr = true;
            o.tsNeedtime = true;
            d[p + 2] += 8;
          } else if (flag === IPOPT_TS_PRESPEC) {
            if (d[p + 2] + 7 > optlen) return false;
            const a = rd32(d, p + d[p + 2] - 1);
            if (isLocal(a)) {
              timeAt = p + d[p + 2] + 3;
              o.tsNeedtime = true;
              d[p + 2] += 8;
            }
          }
          if (timeAt >= 0) wr32(d, timeAt, timestamp(nowMs));
        } else if ((d[p + 3] & 15) !== IPOPT_TS_PRESPEC) {
          const overflow = d[p + 3] >> 4;
          if (overflow === 15) return false;
          d[p + 3] = (d[p + 3] & 15) | ((overflow + 1) << 4);
        }
        o.ts = p;
        break;
      }
      case IPOPT_RA:
        if (optlen < 4) return false;
        if (d[p + 2] === 0 && d[p + 3] === 0) o.routerAlert = p;
        break;
      case IPOPT_CIPSO:
        if (o.cipso) return false;
        o.cipso = p;
        break;
      default:
        break;
    }
    l -= optlen;
    p += optlen;
  }
  return true;
}

/**
 * __ip_options_echo(): the reply options for the received options `s`
 * (as compileReceived left them), into `r`; `saddr` is the received
 * packet's source (a source route that ends with it is shortened).
 * Returns false when the kernel refuses to answer (-EINVAL).
 * `isLocal(a)`: the address is the director's (inet_addr_type() is not
 * RTN_UNICAST), so a prespecified timestamp slot naming it is filled.
 */
export function echoOptions(
  s: IpOptions,
  r: IpOptions,
  saddr: number,
  isLocal: (a: number) => boolean,
): boolean {
  r.clear();
  if (s.optlen === 0) return true;
  const sp = s.data;
  const dp = r.data;
  let n = 20; // write position (header-relative)
  if (s.rr) {
    const optlen = sp[s.rr + 1];
    const soffset = sp[s.rr + 2];
    r.rr = n;
    for (let i = 0; i < optlen; i++) dp[n + i] = sp[s.rr + i];
    if (s.rrNeedaddr && soffset <= optlen) {
      if (soffset + 3 > optlen) return false;
      dp[n + 2] = soffset + 4;
      r.rrNeedaddr = true;
    }
    n += optlen;
  }
  if (s.ts) {
    const optlen = sp[s.ts + 1];
    let soffset = sp[s.ts + 2];
    r.ts = n;
    for (let i = 0; i < optlen; i++) dp[n + i] = sp[s.ts + i];
    if (soffset <= optlen) {
      if (s.tsNeedaddr) {
        if (soffset + 3 > optlen) return false;
        r.tsNeedaddr = true;
        soffset += 4;
      }
      if (s.tsNeedtime) {
        if (soffset + 3 > optlen) return false;
        if ((dp[n + 3] & 15) !== IPOPT_TS_PRESPEC) {
          r.tsNeedtime = true;
          soffset += 4;
        } else {
          r.tsNeedtime = false;
          if (soffset + 7 <= optlen && isLocal(rd32(dp, n + soffset - 1))) {
            r.tsNeedtime = true;
            soffset += 8;
          }
        }
      }
      dp[n + 2] = soffset;
    }
    n += optlen;
  }
  if (s.srr) {
    const start = s.srr;
    const optlen = sp[start + 1];
    let soffset = sp[start + 2];
    let doffset = 0;
    if (soffset > optlen) soffset = optlen + 1;
    soffset -= 4;
    let faddr = 0;
    if (soffset > 3) {
      faddr = rd32(sp, start + soffset - 1);
      for (soffset -= 4, doffset = 4; soffset > 3; soffset -= 4, doffset += 4)
        wr32(dp, n + doffset - 1, rd32(sp, start + soffset - 1));
      // a route that ends with the sender itself is shortened (RFC 1812)
      if (rd32(sp, start + soffset + 3) === saddr >>> 0) doffset -= 4;
    }
    if (doffset > 3) {
      r.faddr = faddr;
      dp[n] = sp[start];
      dp[n + 1] = doffset + 3;
      dp[n + 2] = 4;
      r.srr = n;
      r.isStrictroute = s.isStrictroute;
      n += doffset + 3;
    }
  }
  if (s.cipso) {
    const optlen = sp[s.cipso + 1];
    r.cipso = n;
    for (let i = 0; i < optlen; i++) dp[n + i] = sp[s.cipso + i];
    n += optlen;
  }
  while ((n - 20) & 3) dp[n++] = IPOPT_END;
  r.optlen = n - 20;
  return true;
}

/**
 * ip_options_build(): writes the reply options `r` into the header at
 * buf[l3+20..], filling the source route's final destination `daddr`, the
 * record-route / timestamp address `saddr` and the time.
 */
export function buildOptions(
  buf: Uint8Array,
  l3: number,
  r: IpOptions,
  daddr: number,
  saddr: number,
  nowMs: number,
): void {
  for (let i = 0; i < r.optlen; i++) buf[l3 + 20 + i] = r.data[20 + i];
  if (r.srr) wr32(buf, l3 + r.srr + buf[l3 + r.srr + 1] - 4, daddr);
  if (r.rrNeedaddr) wr32(buf, l3 + r.rr + buf[l3 + r.rr + 2] - 5, saddr);
  if (r.tsNeedaddr) wr32(buf, l3 + r.ts + buf[l3 + r.ts + 2] - 9, saddr);
  if (r.tsNeedtime) wr32(buf, l3 + r.ts + buf[l3 + r.ts + 2] - 5, timestamp(nowMs));
}

/** ip_options_fragment(): NOP out the options not copied into later fragments (header at buf[off..off+hlen)). */
export function fragmentOptions(buf: Uint8Array, off: number, hlen: number): void {
  let p = off + 20;
  let l = hlen - 20;
  while (l > 0) {
    const t = buf[p];
    if (t === IPOPT_END) return;
    if (t === IPOPT_NOOP) {
      l--;
      p++;
      continue;
    }
    const optlen = buf[p + 1];
    if (optlen < 2 || optlen > l) return;
    if (!(t & 0x80)) for (let i = 0; i < optlen; i++) buf[p + i] = IPOPT_NOOP;
    l -= optlen;
    p += optlen;
  }
}
