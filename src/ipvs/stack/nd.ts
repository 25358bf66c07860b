/**
 * IPv6 Neighbour Discovery for the director's own addresses (net/ipv6/ndisc.c):
 *
 * - A neighbour solicitation (hop limit 255) for an address of the link it
 *   arrived on — configured or the link's EUI-64 link-local address — is
 *   answered with a neighbour advertisement from that address: solicited
 *   (unless it was duplicate address detection, answered to all-nodes),
 *   override and the target link-layer address option when the
 *   solicitation was multicast, router flag when forwarding is on; hop
 *   limit 255, traffic class and flow label 0. The solicitation's source
 *   link-layer address is learned (STALE), as neigh_event_ns does.
 * - A neighbour advertisement updates an existing entry (one being
 *   resolved, typically): solicited → REACHABLE, else STALE; the override
 *   flag lets it replace a known address. Unsolicited entries are not
 *   created (accept_untracked_na 0).
 * - A router solicitation's source address option is learned when
 *   forwarding is on; other ND messages are consumed.
 */
import type { DirectorEnv } from '../env.js';
import type { HostStack } from './stack.js';
import { Fate, Reason } from '../verdict.js';
import { Gen } from './icmp.js';
import { Nud } from './neigh.js';
import { isAddrOnLink6 } from './addrsel.js';
import { FibResult } from '../fib.js';
import { rd32, wr16, wr32 } from '../../wire/bytes.js';
import { readMac, writeMac } from '../../wire/addr.js';
import { sum16, finish, pseudo6Words } from '../../wire/checksum.js';

export class NeighDiscovery {
  private readonly env: DirectorEnv;
  private readonly stack: HostStack;
  private readonly target = new Uint32Array(4);
  private readonly dst = new Uint32Array(4);
  private readonly buf = new Uint8Array(128);
  private readonly route = new FibResult();
  /** Advertisements sent (tests). */
  sent = 0;

  constructor(env: DirectorEnv, stack: HostStack) {
    this.env = env;
    this.stack = stack;
  }

  /**
   * Walks the ND options from `from` to `end`: the MAC of option `type`
   * (1 source, 2 target link-layer address), -1 when absent, -2 when the
   * options are malformed.
   */
  private option(b: Uint8Array, from: number, end: number, type: number): number {
    let mac = -1;
    let p = from;
    while (p + 2 <= end) {
      const len = b[p + 1] * 8;
      if (len === 0 || p + len > end) return -2;
      if (b[p] === type && len >= 8) mac = readMac(b, p + 2);
      p += len;
    }
    return mac;
  }

  /** Common validity checks of ndisc_rcv; true when the message may be processed. */
  private valid(minLen: number): boolean {
    const skb = this.env.skb;
    const info = this.env.info;
    return skb.buf[skb.l3 + 7] === 255 && info.icmpCode === 0 && info.l4Len >= minLen && info.l4Cap >= minLen;
  }

  /** ndisc_recv_ns. */
  solicitation(): void {
    const env = this.env;
    const skb = env.skb;
    const info = env.info;
    const b = skb.buf;
    const link = skb.inLink;
    if (!this.valid(24) || link < 0) return env.setFate(Fate.LOCAL, Reason.LOCAL_ND);
    const m = info.l4Off;
    const t = this.target;
    for (let i = 0; i < 4; i++) t[i] = rd32(b, m + 8 + 4 * i);
    if (t[0] >>> 24 === 0xff) return env.setFate(Fate.LOCAL, Reason.LOCAL_ND);
    const end = m + Math.min(info.l4Len, info.l4Cap);
    const lladdr = this.option(b, m + 24, end, 1);
    if (lladdr === -2) return env.setFate(Fate.LOCAL, Reason.LOCAL_ND);
    const s = info.saddr;
    const dad = (s[0] | s[1] | s[2] | s[3]) === 0;
    const d = info.daddr;
    const mcast = d[0] >>> 24 === 0xff;
    if (dad) {
      const solicitedNode = d[0] === 0xff020000 && d[1] === 0 && d[2] === 1 && d[3] >>> 24 === 0xff;
      if (!solicitedNode || lladdr >= 0) return env.setFate(Fate.LOCAL, Reason.LOCAL_ND);
    }
    if (!isAddrOnLink6(env.fib, this.stack.cfg, link, t, 0)) return env.setFate(Fate.LOCAL, Reason.LOCAL_ND);
    const dst = this.dst;
    if (dad) {
      dst[0] = 0xff020000;
      dst[1] = dst[2] = 0;
      dst[3] = 1;
    } else {
      for (let i = 0; i < 4; i++) dst[i] = s[i];
      // neigh_event_ns: learn the solicitor (created for a unicast NS or when it gave its address)
      const neigh = this.stack.neigh;
      let e = neigh.lookup(6, s, 0, link);
      if (e < 0 && (!mcast || lladdr >= 0)) e = neigh.create(6, s, 0, link);
      if (e >= 0 && lladdr >= 0) neigh.update(e, lladdr, Nud.STALE, true);
    }
    const router = this.stack.cfg.ipv6Forward !== 0;
    const r = this.sendNa(link, dst, t, router, !dad, dad || mcast, dad || mcast);
    if (r === Gen.SENT) env.setFate(Fate.ANSWERED, Reason.NEIGHBOUR_ADVERT);
    else if (r === Gen.UNRESOLVED) env.drop(Reason.NEIGHBOUR_UNRESOLVED);
    else env.setFate(Fate.LOCAL, Reason.LOCAL_ND);
  }

  /** ndisc_send_na from `target` (ours) to `dst` on `link`. */
  private sendNa(
    link: number,
    dst: Uint32Array,
    target: Uint32Array,
    router: boolean,
    solicited: boolean,
    override: boolean,
    tllao: boolean,
  ): number {
    // a sharded replay's worker that does not own the solicitation learns from it, the owner answers
    if (this.env.observing) return Gen.SENT;
    const fib = this.env.fib;
    const m = this.buf;
    const len = 24 + (tllao ? 8 : 0);
    wr32(m, 0, 0x60000000);
    wr16(m, 4, len);
    m[6] = 58;
    m[7] = 255;
    for (let i = 0; i < 4; i++) {
      wr32(m, 8 + 4 * i, target[i]);
      wr32(m, 24 + 4 * i, dst[i]);
    }
    const o = 40;
    m[o] = 136;
    m[o + 1] = 0;
    wr16(m, o + 2, 0);
    wr32(
      m,
      o + 4,
      ((router ? 0x80000000 : 0) | (solicited ? 0x40000000 : 0) | (override ? 0x20000000 : 0)) >>> 0,
    );
    for (let i = 0; i < 4; i++) wr32(m, o + 8 + 4 * i, target[i]);
    if (tllao) {
      m[o + 24] = 2;
      m[o + 25] = 1;
      writeMac(m, o + 26, fib.linkMac[link]);
    }
    wr16(m, o + 2, finish(sum16(m, o, len, pseudo6Words(target, 0, dst, 0, 58, len))));
    // ndisc sends straight out of the device: next hop = the destination
    const r = this.route;
    r.af = 6;
    r.link = link;
    r.local = false;
    r.mtu = fib.linkMtu[link];
    r.route = -1;
    r.plen = 128;
    for (let i = 0; i < 4; i++) {
      r.nextHop[i] = dst[i];
      r.src[i] = target[i];
    }
    const res = this.stack.sendLocal(m, 0, 40 + len, 6, r);
    if (res === Gen.SENT) this.sent++;
    return res;
  }

  /** ndisc_recv_na. */
  advertisement(): void {
    const env = this.env;
    const skb = env.skb;
    const info = env.info;
    const b = skb.buf;
    const link = skb.inLink;
    env.setFate(Fate.LOCAL, Reason.LOCAL_ND);
    if (!this.valid(24) || link < 0) return;
    const m = info.l4Off;
    const t = this.target;
    for (let i = 0; i < 4; i++) t[i] = rd32(b, m + 8 + 4 * i);
    if (t[0] >>> 24 === 0xff) return;
    const flags = b[m + 4];
    const solicited = (flags & 0x40) !== 0;
    const override = (flags & 0x20) !== 0;
    if (info.daddr[0] >>> 24 === 0xff && solicited) return;
    const end = m + Math.min(info.l4Len, info.l4Cap);
    const lladdr = this.option(b, m + 24, end, 2);
    if (lladdr === -2) return;
    const neigh = this.stack.neigh;
    const e = neigh.lookup(6, t, 0, link);
    if (e < 0) return;
    neigh.update(e, lladdr >= 0 ? lladdr : -1, solicited ? Nud.REACHABLE : Nud.STALE, override);
  }

  /** ndisc_recv_rs on a router: learn the solicitor's link-layer address. */
  routerSolicitation(): void {
    const env = this.env;
    const skb = env.skb;
    const info = env.info;
    env.setFate(Fate.LOCAL, Reason.LOCAL_ND);
    if (!this.stack.cfg.ipv6Forward || !this.valid(8) || skb.inLink < 0) return;
    const s = info.saddr;
    if ((s[0] | s[1] | s[2] | s[3]) === 0) return;
    const m = info.l4Off;
    const lladdr = this.option(skb.buf, m + 8, m + Math.min(info.l4Len, info.l4Cap), 1);
    if (lladdr < 0) return;
    const neigh = this.stack.neigh;
    let e = neigh.lookup(6, s, 0, skb.inLink);
    if (e < 0) e = neigh.create(6, s, 0, skb.inLink);
    if (e >= 0) neigh.update(e, lladdr, Nud.STALE, true);
  }
}
