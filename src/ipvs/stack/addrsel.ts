/**
 * Source address selection and "is this address mine on that link" tests
 * over the compiled Fib's address list (plus the IPv6 link-local addresses
 * the kernel gives every interface). No allocation: answers go into a
 * caller's Uint32Array.
 */
import type { Fib } from '../fib.js';
import type { StackConfig } from './config.js';

/**
 * inet_select_addr(dev, dst, RT_SCOPE_LINK): the first primary IPv4 address
 * of `link` whose subnet holds `dst`, else the link's first primary address,
 * else the first primary address of any link; 0 when the director has none.
 */
export function selectAddr4(fib: Fib, link: number, dst: number): number {
  let first = 0;
  for (let i = 0; i < fib.addrCount; i++) {
    if (fib.addrAf[i] !== 4 || fib.addrLink[i] !== link || fib.addrSecondary[i]) continue;
    const a = fib.addrWords[i * 4];
    const p = fib.addrPlen[i];
    const mask = p === 0 ? 0 : (~0 << (32 - p)) >>> 0;
    if (((a ^ dst) & mask) >>> 0 === 0) return a;
    if (first === 0) first = a;
  }
  if (first !== 0) return first;
  for (let i = 0; i < fib.addrCount; i++)
    if (fib.addrAf[i] === 4 && !fib.addrSecondary[i]) return fib.addrWords[i * 4];
  return 0;
}

/** True when the IPv4 address is configured on `link` (inet_confirm_addr with a device). */
export function isAddrOnLink4(fib: Fib, link: number, a: number): boolean {
  for (let i = 0; i < fib.addrCount; i++)
    if (fib.addrAf[i] === 4 && fib.addrLink[i] === link && fib.addrWords[i * 4] === a >>> 0) return true;
  return false;
}

/**
 * inet_confirm_addr(…, sip = b, tip = a, RT_SCOPE_HOST) for arp_ignore 2, as
 * confirm_addr_indev() answers it: `a` is an address of `link`, and some
 * address of that link has a subnet holding both `a` and `b` (so a /32 VIP
 * is confirmed to a sender in the subnet of the link's primary address).
 */
export function isAddrOnLinkSameSubnet4(fib: Fib, link: number, a: number, b: number): boolean {
  let own = false;
  let same = false;
  for (let i = 0; i < fib.addrCount; i++) {
    if (fib.addrAf[i] !== 4 || fib.addrLink[i] !== link) continue;
    const ifa = fib.addrWords[i * 4];
    if (ifa === a >>> 0) own = true;
    const p = fib.addrPlen[i];
    const mask = p === 0 ? 0 : (~0 << (32 - p)) >>> 0;
    if (((ifa ^ a) & mask) >>> 0 === 0 && ((ifa ^ b) & mask) >>> 0 === 0) same = true;
  }
  return own && same;
}

function isLinkLocal6(a: Uint32Array, i: number): boolean {
  return a[i] >>> 22 === 0x3fa; // fe80::/10
}

function commonPrefix(a: Uint32Array, ai: number, b: Uint32Array, bi: number): number {
  let n = 0;
  for (let w = 0; w < 4; w++) {
    const x = (a[ai + w] ^ b[bi + w]) >>> 0;
    if (x === 0) {
      n += 32;
      continue;
    }
    return n + Math.clz32(x);
  }
  return n;
}

/**
 * ipv6_dev_get_saddr(), reduced to the rules that matter for a director:
 * the destination itself when it is ours; a link-local destination gets the
 * link's link-local address; otherwise a global address, preferring those on
 * `link` (rule 5), then the longest common prefix with the destination
 * (rule 8). Writes the address to out[0..3]; false when there is none.
 */
export function selectAddr6(
  fib: Fib,
  cfg: StackConfig,
  link: number,
  dst: Uint32Array,
  di: number,
  out: Uint32Array,
): boolean {
  if (isLinkLocal6(dst, di) && link >= 0) {
    for (let w = 0; w < 4; w++) out[w] = cfg.linkLocal[link * 4 + w];
    return true;
  }
  let best = -1;
  let bestScore = -1;
  for (let i = 0; i < fib.addrCount; i++) {
    if (fib.addrAf[i] !== 6) continue;
    const o = i * 4;
    if (isLinkLocal6(fib.addrWords, o)) continue;
    const score = (fib.addrLink[i] === link ? 256 : 0) + commonPrefix(fib.addrWords, o, dst, di);
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  if (best < 0) {
    if (link < 0) return false;
    for (let w = 0; w < 4; w++) out[w] = cfg.linkLocal[link * 4 + w];
    return true;
  }
  for (let w = 0; w < 4; w++) out[w] = fib.addrWords[best * 4 + w];
  return true;
}

/** The IPv6 address at a[i..] is one of `link`'s (configured or its link-local address). */
export function isAddrOnLink6(fib: Fib, cfg: StackConfig, link: number, a: Uint32Array, i: number): boolean {
  const ll = cfg.linkLocal;
  if (
    cfg.ipv6On &&
    ll[link * 4] === a[i] &&
    ll[link * 4 + 1] === a[i + 1] &&
    ll[link * 4 + 2] === a[i + 2] &&
    ll[link * 4 + 3] === a[i + 3]
  )
    return true;
  const w = fib.addrWords;
  for (let k = 0; k < fib.addrCount; k++) {
    if (fib.addrAf[k] !== 6 || fib.addrLink[k] !== link) continue;
    const o = k * 4;
    if (w[o] === a[i] && w[o + 1] === a[i + 1] && w[o + 2] === a[i + 2] && w[o + 3] === a[i + 3]) return true;
  }
  return false;
}

/**
 * The director listens to the IPv6 multicast group at a[i..] on `link`:
 * all-nodes (ff01::1, ff02::1), all-routers when forwarding (ff01::2,
 * ff02::2, ff05::2), and the solicited-node group of each of the link's
 * addresses (link-local included).
 */
export function joinedGroup6(fib: Fib, cfg: StackConfig, link: number, a: Uint32Array, i: number): boolean {
  const w0 = a[i];
  if (a[i + 1] === 0 && a[i + 2] === 0) {
    const last = a[i + 3];
    if ((w0 === 0xff010000 || w0 === 0xff020000) && last === 1) return true;
    if ((w0 === 0xff010000 || w0 === 0xff020000 || w0 === 0xff050000) && last === 2)
      return cfg.ipv6Forward !== 0;
  }
  if (w0 === 0xff020000 && a[i + 1] === 0 && a[i + 2] === 1 && a[i + 3] >>> 24 === 0xff) {
    const low = a[i + 3] & 0xffffff;
    if (cfg.ipv6On && link >= 0 && (cfg.linkLocal[link * 4 + 3] & 0xffffff) === low) return true;
    for (let k = 0; k < fib.addrCount; k++)
      if (fib.addrAf[k] === 6 && fib.addrLink[k] === link && (fib.addrWords[k * 4 + 3] & 0xffffff) === low)
        return true;
  }
  return false;
}
