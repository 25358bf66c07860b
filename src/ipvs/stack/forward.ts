/**
 * Forwarding of packets not addressed to the director (forwarding is on; the
 * receive path checked addresses): the routing decision of
 * ip_route_input_slow / ip6_route_input, then ip_forward() / ip6_forward(),
 * the FORWARD hooks (IPVS's ip_vs_forward_icmp, then ip_vs_out_hook: where a
 * NAT real server's reply gets its source rewritten) and the output path.
 *
 * IPv4, in the kernel's order:
 * 1. no route → ip_error(): ICMP network unreachable, limited per source by
 *    ip_rt_error_cost / ip_rt_error_burst (1 s, 5 s of tokens) on the shared
 *    inet_peer, then by the ICMP limits;
 * 2. TTL ≤ 1 → ICMP time exceeded;
 * 3. DF and larger than the device MTU (or an original fragment larger) →
 *    ICMP fragmentation needed with the MTU;
 * 4. TTL decremented (ip_decrease_ttl's exact checksum arithmetic);
 * 5. ICMP redirect (host) when the packet leaves by the link it came in on
 *    and its sender is on-link (send_redirects), with ip_rt_send_redirect's
 *    back-off per sender (at most 9, spaced 20 ms << n, reset after 20.48 s
 *    of silence); the packet is still forwarded;
 * 6. FORWARD hooks; 7. IP options (record route / timestamp) filled in;
 *    output (fragmentation when DF is clear).
 *
 * IPv6: hop limit ≤ 1 → time exceeded; a redirect when it leaves by the
 * incoming link (target on-link; limited per destination and per source);
 * a link-local source otherwise → destination unreachable (not a
 * neighbour); larger than the MTU → packet too big; hop limit − 1; hooks;
 * output.
 */
import type { DirectorEnv } from '../env.js';
import { TraceKind, fmtAddr } from '../trace.js';
import type { HostStack } from './stack.js';
import { Fate, Reason } from '../verdict.js';
import { Hook, Verdict } from '../hooks.js';
import { FibResult } from '../fib.js';
import { Gen } from './icmp.js';
import { Out } from './output.js';
import { Nud } from './neigh.js';
import { jiffiesAt, HZ } from './config.js';
import { IpOptions, compileReceived } from './options.js';
import { ipv4DecTtl, ipv4HeaderChecksum, sum16, finish, pseudo6Words } from '../../wire/checksum.js';
import { wr16, wr32 } from '../../wire/bytes.js';
import { writeMac } from '../../wire/addr.js';
import { selectAddr4 } from './addrsel.js';

const REDIRECT_NUMBER = 9;
const REDIRECT_LOAD_J = Math.floor(HZ / 50);
const REDIRECT_SILENCE_J = Math.floor(HZ / 50) << (9 + 1);
const ERROR_COST_J = HZ;
const ERROR_BURST_J = 5 * HZ;

export class Forwarder {
  private readonly env: DirectorEnv;
  private readonly stack: HostStack;
  private readonly route = new FibResult();
  private readonly back = new FibResult();
  private readonly w = new Uint32Array(4);
  private readonly opt = new IpOptions();
  private readonly isLocal4 = (a: number): boolean => this.env.fib.isLocal4(a);
  private readonly rd = new Uint8Array(1400);
  /** Redirects sent (tests). */
  redirects = 0;

  constructor(env: DirectorEnv, stack: HostStack) {
    this.env = env;
    this.stack = stack;
  }

  private fateOf(r: number, reason: number): void {
    const env = this.env;
    if (r === Gen.SENT) env.setFate(Fate.ANSWERED, reason);
    else if (r === Gen.RATE_LIMITED) env.drop(Reason.ICMP_RATE_LIMITED);
    else if (r === Gen.UNRESOLVED) env.drop(Reason.NEIGHBOUR_UNRESOLVED);
    else env.drop(reason);
  }

  forward(): void {
    const env = this.env;
    if (this.stack.l2Group()) {
      env.drop(Reason.NOT_FOR_US);
      return;
    }
    if (env.skb.af === 4) this.forward4();
    else this.forward6();
  }

  // ------------------------------------------------------------------ IPv4

  private forward4(): void {
    const env = this.env;
    const skb = env.skb;
    const info = env.info;
    const cfg = this.stack.cfg;
    const b = skb.buf;
    const l3 = skb.l3;
    const r = this.route;
    if (!env.fib.lookup(4, info.daddr, 0, r) || r.local) {
      this.ipError();
      return;
    }
    if (b[l3 + 8] <= 1) {
      this.fateOf(this.stack.icmp.sendError(11, 0, 0), Reason.TTL_EXCEEDED);
      return;
    }
    const mtu = r.mtu;
    if (skb.len > mtu && b[l3 + 6] & 0x40) {
      // ip_exceeds_mtu: an IPVS packet would be ignore_df, but forwarded packets are not
      this.fateOf(this.stack.icmp.sendError(3, 4, mtu), Reason.FRAG_NEEDED);
      return;
    }
    ipv4DecTtl(b, l3);
    if (env.tracer) this.traceForward(r.link, b[l3 + 8]);
    if (skb.inLink === r.link && cfg.sendRedirects[r.link] && !this.sourceRouted()) {
      if (this.senderOnLink(info.saddr[0], skb.inLink)) this.redirect4(r);
    }
    if (env.hooks) {
      let v = env.hooks.forwardIcmp(Hook.FORWARD);
      if (v === Verdict.ACCEPT) v = env.hooks.outHook(Hook.FORWARD);
      if (v === Verdict.STOLEN) return;
      if (v === Verdict.DROP) {
        env.drop(Reason.IPVS_DROP);
        return;
      }
    }
    const s = env.skb;
    if (s.af === 4 && (s.buf[s.l3] & 15) > 5) this.forwardOptions(r);
    this.send(r);
  }

  /** Explain mode: the forwarding decision (kept out of forward4() so that stays small for the compiler). */
  private traceForward(link: number, ttl: number): void {
    const env = this.env;
    if (!env.tracer) return;
    env.tracer.step(
      TraceKind.FORWARD,
      `FORWARD: routed toward ${fmtAddr(4, env.info.daddr)} out of ${env.fib.linkName[link]}, TTL ${ttl + 1} → ${ttl}; IPVS's hooks look at it at FORWARD`,
      { link: env.fib.linkName[link] },
    );
  }

  /** Output of the forwarded packet and its fate. */
  private send(r: FibResult): void {
    const env = this.env;
    const out = this.stack.out;
    out.forwarding = true;
    const res = out.send(r, env.hdr, 0, 0);
    out.forwarding = false;
    if (res === Out.SENT) env.forwarded();
    else if (res === Out.UNRESOLVED) env.drop(Reason.NEIGHBOUR_UNRESOLVED);
    else if (res === Out.TOO_BIG) env.drop(Reason.FRAG_NEEDED);
    else env.drop(Reason.NO_ROUTE);
  }

  /** ip_error for a destination without a route: ICMP network unreachable. */
  private ipError(): void {
    const env = this.env;
    const now = jiffiesAt(env.nowMs);
    const peers = this.stack.peers4;
    const p = peers.get(env.info.saddr, 0, now);
    let tokens = peers.rateTokens[p] + (now - peers.rateLast[p]);
    if (tokens > ERROR_BURST_J) tokens = ERROR_BURST_J;
    peers.rateLast[p] = now;
    let send = true;
    if (tokens >= ERROR_COST_J) tokens -= ERROR_COST_J;
    else send = false;
    peers.rateTokens[p] = tokens;
    if (!send) {
      env.drop(Reason.ICMP_RATE_LIMITED);
      return;
    }
    this.fateOf(this.stack.icmp.sendError(3, 0, 0), Reason.NO_ROUTE);
  }

  private sourceRouted(): boolean {
    const skb = this.env.skb;
    const b = skb.buf;
    const l3 = skb.l3;
    const ihl = (b[l3] & 15) * 4;
    let p = l3 + 20;
    const end = Math.min(l3 + ihl, l3 + skb.cap);
    while (p < end) {
      const t = b[p];
      if (t === 0) break;
      if (t === 1) {
        p++;
        continue;
      }
      if (t === 131 || t === 137) return true;
      const l = b[p + 1];
      if (l < 2) break;
      p += l;
    }
    return false;
  }

  /** fib_validate_source said "directly connected": the route back to the sender has no gateway and uses `link`. */
  private senderOnLink(saddr: number, link: number): boolean {
    const w = this.w;
    w[0] = saddr;
    w[1] = w[2] = w[3] = 0;
    const b = this.back;
    if (!this.env.fib.lookup(4, w, 0, b) || b.local) return false;
    return b.link === link && b.nextHop[0] === saddr >>> 0;
  }

  /** ip_rt_send_redirect. */
  private redirect4(r: FibResult): void {
    const env = this.env;
    const now = jiffiesAt(env.nowMs);
    const peers = this.stack.peers4;
    const p = peers.get(env.info.saddr, 0, now);
    if (now - peers.rateLast[p] > REDIRECT_SILENCE_J) {
      peers.rateTokens[p] = 0;
      peers.nRedirects[p] = 0;
    }
    if (peers.nRedirects[p] >= REDIRECT_NUMBER) {
      peers.rateLast[p] = now;
      return;
    }
    const n = peers.nRedirects[p];
    if (n === 0 || now - (peers.rateLast[p] + (REDIRECT_LOAD_J << n)) > 0) {
      this.stack.icmp.sendError(5, 1, r.nextHop[0]);
      peers.rateLast[p] = now;
      peers.nRedirects[p]++;
      this.redirects++;
    }
  }

  /**
   * ip_options_compile's receive-side changes plus ip_forward_options: the
   * record-route slot and a timestamp's address get the outgoing address.
   * The header checksum is recomputed when anything changed.
   */
  private forwardOptions(r: FibResult): void {
    const env = this.env;
    const skb = env.skb;
    const b = skb.buf;
    const l3 = skb.l3;
    const ihl = (b[l3] & 15) * 4;
    if (skb.cap < ihl) return;
    const out = r.src[0] !== 0 ? r.src[0] : selectAddr4(env.fib, r.link, r.nextHop[0]);
    const o = this.opt;
    if (!compileReceived(b, l3, ihl, o, out, this.isLocal4, env.nowMs)) return;
    const d = o.data;
    if (o.rrNeedaddr) wr32(d, o.rr + d[o.rr + 2] - 5, out);
    if (o.tsNeedaddr) wr32(d, o.ts + d[o.ts + 2] - 9, out);
    let changed = false;
    for (let i = 20; i < ihl; i++)
      if (b[l3 + i] !== d[i]) {
        b[l3 + i] = d[i];
        changed = true;
      }
    if (changed) {
      wr16(b, l3 + 10, 0);
      wr16(b, l3 + 10, ipv4HeaderChecksum(b, l3));
    }
  }

  // ------------------------------------------------------------------ IPv6

  private forward6(): void {
    const env = this.env;
    const skb = env.skb;
    const info = env.info;
    const b = skb.buf;
    const l3 = skb.l3;
    const r = this.route;
    if (!env.fib.lookup(6, info.daddr, 0, r) || r.local) {
      this.fateOf(this.stack.icmp.sendError(1, 0, 0), Reason.NO_ROUTE);
      return;
    }
    if (b[l3 + 7] <= 1) {
      this.fateOf(this.stack.icmp.sendError(3, 0, 0), Reason.TTL_EXCEEDED);
      return;
    }
    const s = info.saddr;
    if (skb.inLink === r.link && !this.hasRoutingHeader()) {
      this.redirect6(r);
    } else if (s[0] >>> 22 === 0x3fa) {
      this.fateOf(this.stack.icmp.sendError(1, 2, 0), Reason.NO_ROUTE);
      return;
    }
    const mtu = Math.max(r.mtu, 1280);
    const fms = skb.fragMaxSize;
    if (skb.len > mtu && (fms > mtu || fms === 0)) {
      this.fateOf(this.stack.icmp.sendError(2, 0, mtu), Reason.FRAG_NEEDED);
      return;
    }
    b[l3 + 7]--;
    if (env.hooks) {
      let v = env.hooks.forwardIcmp(Hook.FORWARD);
      if (v === Verdict.ACCEPT) v = env.hooks.outHook(Hook.FORWARD);
      if (v === Verdict.STOLEN) return;
      if (v === Verdict.DROP) {
        env.drop(Reason.IPVS_DROP);
        return;
      }
    }
    this.send(r);
  }

  private hasRoutingHeader(): boolean {
    const skb = this.env.skb;
    const info = this.env.info;
    const b = skb.buf;
    let nh = b[skb.l3 + 6];
    let p = skb.l3 + 40;
    while (p < info.l4Off && p + 2 <= skb.l3 + skb.cap) {
      if (nh === 43) return true;
      const hl = nh === 44 ? 8 : nh === 51 ? (b[p + 1] + 2) * 4 : (b[p + 1] + 1) * 8;
      nh = b[p];
      p += hl;
    }
    return false;
  }

  /**
   * ip6_forward's redirect (limited per destination, 1 s) and
   * ndisc_send_redirect (limited per source): from the link's link-local
   * address, target = the gateway (which must be link-local) or the
   * destination itself, with the target's link-layer address when known and
   * as much of the packet as fits in 1280 bytes.
   */
  private redirect6(r: FibResult): void {
    const env = this.env;
    const cfg = this.stack.cfg;
    const skb = env.skb;
    const info = env.info;
    const now = jiffiesAt(env.nowMs);
    const peers = this.stack.peers6;
    const pd = peers.get(info.daddr, 0, now);
    if (!peers.xrlimAllow(pd, HZ, now)) return;
    const link = r.link;
    const gw = r.nextHop;
    const d = info.daddr;
    const onLink = gw[0] === d[0] && gw[1] === d[1] && gw[2] === d[2] && gw[3] === d[3];
    if (!onLink && gw[0] >>> 22 !== 0x3fa) return;
    // route back to the sender
    const back = this.back;
    if (!env.fib.lookup(6, info.saddr, 0, back) || back.local) return;
    const ps = peers.get(info.saddr, 0, now);
    if (!peers.xrlimAllow(ps, HZ, now)) return;
    const fib = env.fib;
    let tmac = fib.neighbour(6, gw, 0, link);
    if (tmac < 0) {
      const e = this.stack.neigh.lookup(6, gw, 0, link);
      tmac =
        e >= 0 && this.stack.neigh.state[e] !== Nud.INCOMPLETE && this.stack.neigh.state[e] !== Nud.FAILED
          ? this.stack.neigh.mac[e]
          : -1;
    }
    const optlen = tmac >= 0 ? 8 : 0;
    let rdLen = Math.min(1280 - 40 - 40 - optlen, skb.len + 8);
    rdLen &= ~7;
    const m = this.rd;
    const len = 40 + optlen + rdLen;
    const src = this.w;
    for (let i = 0; i < 4; i++) src[i] = cfg.linkLocal[link * 4 + i];
    // IPv6 header (ip6_nd_hdr), then the redirect
    wr32(m, 0, 0x60000000);
    wr16(m, 4, len);
    m[6] = 58;
    m[7] = 255;
    for (let i = 0; i < 4; i++) {
      wr32(m, 8 + 4 * i, src[i]);
      wr32(m, 24 + 4 * i, info.saddr[i]);
    }
    const o = 40;
    m[o] = 137;
    m[o + 1] = 0;
    wr16(m, o + 2, 0);
    wr32(m, o + 4, 0);
    for (let i = 0; i < 4; i++) {
      wr32(m, o + 8 + 4 * i, gw[i]);
      wr32(m, o + 24 + 4 * i, d[i]);
    }
    let p = o + 40;
    if (tmac >= 0) {
      m[p] = 2;
      m[p + 1] = 1;
      writeMac(m, p + 2, tmac);
      p += 8;
    }
    m[p] = 4;
    m[p + 1] = rdLen >>> 3;
    for (let i = 2; i < 8; i++) m[p + i] = 0;
    const q = rdLen - 8;
    const have = Math.max(0, Math.min(q, skb.cap));
    m.set(skb.buf.subarray(skb.l3, skb.l3 + have), p + 8);
    if (have < q) m.fill(0, p + 8 + have, p + 8 + q);
    wr16(m, o + 2, finish(sum16(m, o, len, pseudo6Words(src, 0, info.saddr, 0, 58, len))));
    // ndisc_send_skb: straight out of the link toward the sender
    const rr = this.back;
    rr.af = 6;
    rr.link = link;
    for (let i = 0; i < 4; i++) rr.nextHop[i] = info.saddr[i];
    rr.mtu = fib.linkMtu[link];
    const res = this.stack.sendLocal(m, 0, 40 + len, 6, rr);
    if (res === Gen.SENT) this.redirects++;
  }
}
