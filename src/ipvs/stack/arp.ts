/**
 * ARP for the director's own addresses: arp_rcv() / arp_process()
 * (net/ipv4/arp.c).
 *
 * - Requests (and replies) other than request/reply, for a multicast or
 *   loopback target, are consumed.
 * - A request for one of the director's addresses is answered on the link
 *   it arrived on — subject to arp_ignore (0: any local address; 1: only an
 *   address of that link; 2: ... and in the sender's subnet; 3: not a
 *   host-scope address — all addresses are global here; 8: never) and
 *   arp_filter (the route back to the sender must leave by that link) — and
 *   the requester is learned (neigh_event_ns: STALE). The reply goes to the
 *   requester's hardware address, from the link's MAC; 42 bytes, no padding.
 *   A duplicate address detection probe (sender 0.0.0.0) is answered too.
 * - A request whose sender is a martian (multicast, broadcast, loopback,
 *   0/8, one of the director's own addresses) gets no answer.
 * - Otherwise the message only updates an existing neighbour entry (one the
 *   director is resolving): a unicast reply confirms it (REACHABLE), any
 *   other message makes it STALE; within locktime (1 s) of the last update
 *   a different address is not accepted. arp_accept (1) also creates
 *   entries from gratuitous ARP and unicast replies.
 */
import type { DirectorEnv } from '../env.js';
import { TraceKind, fmtAddr } from '../trace.js';
import type { HostStack } from './stack.js';
import { Fate, Reason } from '../verdict.js';
import { Nud, buildArp } from './neigh.js';
import { isAddrOnLink4, isAddrOnLinkSameSubnet4 } from './addrsel.js';
import { writeMac } from '../../wire/addr.js';
import { wr16 } from '../../wire/bytes.js';
import { EMPTY_BYTES } from '../../wire/bytes.js';
import { FibResult } from '../fib.js';

export class ArpRcv {
  private readonly env: DirectorEnv;
  private readonly stack: HostStack;
  private readonly frame = new Uint8Array(64);
  private readonly w = new Uint32Array(4);
  private readonly route = new FibResult();
  /** Replies sent (tests). */
  sent = 0;

  constructor(env: DirectorEnv, stack: HostStack) {
    this.env = env;
    this.stack = stack;
  }

  /** Martian sources ip_route_input refuses (and our own addresses: accept_local 0). */
  private martianSource(a: number): boolean {
    const top = a >>> 24;
    if (top >= 224 || a >>> 0 === 0xffffffff) return true;
    if (top === 0 || top === 127) return true;
    if (this.stack.cfg.isBroadcast4(a)) return true;
    return this.env.fib.isLocal4(a);
  }

  /** arp_ignore: true when the request must not be answered. */
  private ignore(link: number, sip: number, tip: number): boolean {
    const fib = this.env.fib;
    switch (this.stack.cfg.arpIgnore[link]) {
      case 1:
        return !isAddrOnLink4(fib, link, tip);
      case 2:
        return !isAddrOnLinkSameSubnet4(fib, link, tip, sip);
      case 8:
        return true;
      default:
        return false;
    }
  }

  /** arp_filter: the route to the sender must use the incoming link. */
  private filtered(link: number, sip: number): boolean {
    const w = this.w;
    w[0] = sip;
    w[1] = w[2] = w[3] = 0;
    if (!this.env.fib.lookup(4, w, 0, this.route)) return true;
    return this.route.link !== link;
  }

  /** arp_process for the ARP message in flight (env.info) received on `link`; records the fate. */
  process(link: number): void {
    this.run(link);
    this.env.setFate(Fate.LOCAL, Reason.LOCAL_ARP);
  }

  private run(link: number): void {
    const env = this.env;
    const info = env.info;
    const fib = env.fib;
    const cfg = this.stack.cfg;
    const op = info.arpOp;
    const sip = info.arpSpa >>> 0;
    const tip = info.arpTpa >>> 0;
    const sha = info.arpSha;
    if (op !== 1 && op !== 2) return;
    if (tip >>> 28 === 14 || (tip >>> 24 === 127 && !cfg.routeLocalnet[link])) return;
    if (sip === 0) {
      // duplicate address detection probe
      if (op === 1 && fib.isLocal4(tip) && !this.ignore(link, sip, tip)) this.reply(link, sip, tip, sha);
      return;
    }
    if (op === 1 && !this.martianSource(sip) && fib.isLocal4(tip)) {
      let dontSend = this.ignore(link, sip, tip);
      if (!dontSend && cfg.arpFilter[link]) dontSend = this.filtered(link, sip);
      if (!dontSend) {
        this.learn(link, sip, sha, Nud.STALE, true, true);
        this.reply(link, sip, tip, sha);
      }
      if (env.tracer) {
        this.w[0] = tip;
        const t = fmtAddr(4, this.w);
        this.w[0] = sip;
        env.tracer.step(
          TraceKind.LOCAL,
          dontSend
            ? `ARP request for ${t}, a local address, not answered (arp_ignore=${cfg.arpIgnore[link]}${cfg.arpFilter[link] ? ', arp_filter' : ''})`
            : `ARP request for ${t}, a local address: the director answers it (arp_ignore=${cfg.arpIgnore[link]}) and learns ${fmtAddr(4, this.w)}`,
          { target: t, answered: !dontSend },
        );
      }
      return;
    }
    // update our tables
    const neigh = this.stack.neigh;
    const w = this.w;
    w[0] = sip;
    w[1] = w[2] = w[3] = 0;
    let e = neigh.lookup(4, w, 0, link);
    // arp_is_garp: sender = target (a reply also with target MAC = sender MAC), not one of ours
    const garp =
      sip === tip && (op === 1 || info.arpTha === sha) && !fib.isLocal4(sip) && !this.martianSource(sip);
    if (e < 0 && cfg.arpAccept[link] >= 1) {
      if (garp || op === 2) e = neigh.create(4, w, 0, link);
    }
    if (env.tracer) {
      w[0] = sip;
      env.tracer.step(
        TraceKind.LOCAL,
        e < 0
          ? `ARP ${op === 1 ? 'request' : 'reply'} not for the director: no entry for ${fmtAddr(4, w)} to update`
          : `ARP ${op === 1 ? 'request' : 'reply'} from ${fmtAddr(4, w)}: its neighbour entry is updated`,
      );
    }
    if (e < 0) return;
    const unicastReply = op === 2 && !this.stack.l2Group();
    const override = env.nowMs > neigh.updatedAt(e) + cfg.neigh4[link].locktimeMs || garp;
    neigh.update(e, sha, unicastReply ? Nud.REACHABLE : Nud.STALE, override);
  }

  /** neigh_event_ns: a learned entry for the sender (static entries are left alone). */
  private learn(
    link: number,
    sip: number,
    sha: number,
    state: number,
    override: boolean,
    create: boolean,
  ): void {
    const w = this.w;
    w[0] = sip;
    w[1] = w[2] = w[3] = 0;
    if (this.env.fib.neighbour(4, w, 0, link) >= 0) return;
    const neigh = this.stack.neigh;
    let e = neigh.lookup(4, w, 0, link);
    if (e < 0 && create) e = neigh.create(4, w, 0, link);
    if (e >= 0) neigh.update(e, sha, state, override);
  }

  /** arp_send_dst(ARPOP_REPLY …): to the requester's hardware address. */
  private reply(link: number, sip: number, tip: number, sha: number): void {
    const env = this.env;
    if (env.observing) return;
    const f = this.frame;
    const mine = env.fib.linkMac[link];
    writeMac(f, 0, sha);
    writeMac(f, 6, mine);
    wr16(f, 12, 0x0806);
    buildArp(f, 14, 2, mine, tip, sha, sip);
    this.sent++;
    env.emit(link, f, 0, 42, EMPTY_BYTES, 0, 0, 42);
    env.setFate(Fate.ANSWERED, Reason.ARP_REPLY);
  }
}
