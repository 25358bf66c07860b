/**
 * The director's host stack: everything a Linux host does around IPVS —
 * neighbour output and resolution (output.ts, neigh.ts, arp.ts, nd.ts),
 * forwarding (forward.ts), local delivery with its answers (local.ts,
 * tcp_reset.ts, icmp.ts), reassembly (frag.ts), path MTU (pmtu.ts) and the
 * ICMP rate limits (ratelimit.ts). It implements the HostStackApi contract
 * of hooks.ts on the packet in flight (env.skb / env.info).
 *
 * Packets the stack generates (ICMP messages, resets, echo replies,
 * neighbour advertisements) are built in the parts' own buffers and sent
 * like the kernel's locally generated packets (sendLocal): made the packet
 * in flight (env.pushPacket, which keeps the input packet aside and
 * suspends fate recording), through IPVS's LOCAL_OUT hooks (out, then in),
 * routed and output. ARP messages and neighbour probes go straight to the
 * link.
 *
 * Settings come from the sysctls and the compiled Fib; they are reloaded
 * whenever the director compiles a new Fib (every set-up change).
 */
import type { DirectorEnv } from '../env.js';
import { TraceKind } from '../trace.js';
import type { FibResult } from '../fib.js';
import { FibResult as FibResultClass, type Fib } from '../fib.js';
import type { HostStackApi } from '../hooks.js';
import { Hook, Verdict } from '../hooks.js';
import { Reason } from '../verdict.js';
import { Skb } from '../skb.js';
import { PacketInfo, parseIp } from '../../wire/parse.js';
import { StackConfig, jiffiesAt } from './config.js';
import { IcmpGlobal, PeerTable } from './ratelimit.js';
import { NeighTable, type NeighReporter } from './neigh.js';
import { PmtuTable } from './pmtu.js';
import { Output, Out } from './output.js';
import { Icmp, Gen } from './icmp.js';
import { TcpReset } from './tcp_reset.js';
import { LocalDelivery } from './local.js';
import { Forwarder } from './forward.js';
import { ArpRcv } from './arp.js';
import { NeighDiscovery } from './nd.js';
import { Reassembly } from './frag.js';

/** Nesting depth of generated packets (an ICMP error about a reset being sent, …). */
const MAX_DEPTH = 4;

export class HostStack implements NeighReporter, HostStackApi {
  readonly env: DirectorEnv;
  readonly cfg = new StackConfig();
  readonly icmpGlobal = new IcmpGlobal();
  readonly peers4 = new PeerTable(4);
  readonly peers6 = new PeerTable(6);
  readonly neigh: NeighTable;
  readonly pmtu: PmtuTable;
  readonly out: Output;
  readonly icmp: Icmp;
  readonly reset: TcpReset;
  readonly local: LocalDelivery;
  readonly fwd: Forwarder;
  readonly arp: ArpRcv;
  readonly nd: NeighDiscovery;
  readonly frag: Reassembly;
  /** Set while a reassembled datagram is in flight: its first fragment arrived as a link-layer broadcast. */
  reasmGroup = false;
  private loadedFib: Fib | null = null;
  private depth = 0;
  private readonly genSkb: Skb[] = [];
  private readonly genInfo: PacketInfo[] = [];
  private readonly genCinfo: PacketInfo[] = [];
  private readonly route = new FibResultClass();

  constructor(env: DirectorEnv) {
    this.env = env;
    this.neigh = new NeighTable(env, this.cfg);
    this.neigh.reporter = this;
    this.pmtu = new PmtuTable(env, this.cfg);
    this.out = new Output(env, this);
    this.icmp = new Icmp(env, this);
    this.reset = new TcpReset(env, this);
    this.local = new LocalDelivery(env, this);
    this.fwd = new Forwarder(env, this);
    this.arp = new ArpRcv(env, this);
    this.nd = new NeighDiscovery(env, this);
    this.frag = new Reassembly(env, this);
    for (let i = 0; i < MAX_DEPTH; i++) {
      this.genSkb.push(new Skb(env.scratch));
      this.genInfo.push(new PacketInfo());
      this.genCinfo.push(new PacketInfo());
    }
    this.refresh();
  }

  /** Reloads the settings when the director compiled a new Fib (a set-up change). */
  refresh(): void {
    const fib = this.env.fib;
    if (fib === this.loadedFib) return;
    this.loadedFib = fib;
    this.cfg.load(this.env.sysctl, fib);
  }

  // ------------------------------------------------------------------ helpers

  /**
   * The packet in flight arrived as a link-layer broadcast or multicast
   * (pkt_type != PACKET_HOST). Read from the received frame's Ethernet
   * destination; a reassembled datagram remembers its first fragment's.
   */
  l2Group(): boolean {
    const env = this.env;
    const skb = env.skb;
    if (skb.inLink < 0) return false;
    const info = env.info;
    if (info.etherType !== 0) {
      const frame = info.l3Off - 14 - 4 * info.vlanCount;
      return frame >= 0 && (skb.buf[frame] & 1) === 1;
    }
    return this.reasmGroup;
  }

  /** The IPv6 address at a[i..] is the link-local address of one of the director's links. */
  isLinkLocalOurs(a: Uint32Array, i: number): boolean {
    const cfg = this.cfg;
    if (!cfg.ipv6On || a[i] !== 0xfe800000 || a[i + 1] !== 0) return false;
    const ll = cfg.linkLocal;
    for (let l = 0; l < cfg.linkCount; l++)
      if (ll[l * 4 + 2] === a[i + 2] && ll[l * 4 + 3] === a[i + 3]) return true;
    return false;
  }

  /**
   * Sends a packet the director built (buf[l3, l3+len), family af) as the
   * kernel sends a locally generated packet: it becomes the packet in flight
   * (fates suspended), goes through IPVS's LOCAL_OUT hooks (out, then in),
   * is routed (toward its destination, or along `route` when given: ND and
   * ICMPv6 redirects go straight out of a link) and output. Returns a Gen code.
   */
  sendLocal(buf: Uint8Array, l3: number, len: number, af: number, route: FibResult | null = null): number {
    const env = this.env;
    if (this.depth >= MAX_DEPTH) return Gen.REFUSED;
    const d = this.depth++;
    const skb = this.genSkb[d];
    const info = this.genInfo[d];
    skb.set(buf, l3, len, len, af);
    skb.inLink = -1;
    skb.mark = 0;
    parseIp(buf, l3, l3 + len, l3 + len, info);
    env.pushPacket(skb, info, this.genCinfo[d]);
    if (env.tracer)
      env.tracer.step(
        TraceKind.HOOK,
        "LOCAL_OUT: the packet the director's stack made goes through IPVS's hooks, then out",
      );
    let res: number = Gen.SENT;
    let v: number = Verdict.ACCEPT;
    if (env.hooks) {
      v = env.hooks.outHook(Hook.LOCAL_OUT);
      if (v === Verdict.ACCEPT) v = env.hooks.inHook(Hook.LOCAL_OUT);
    }
    if (v === Verdict.DROP) res = Gen.DROPPED;
    else if (v === Verdict.ACCEPT) {
      let r = route;
      if (r === null) {
        r = this.route;
        const s = env.skb;
        const i2 = env.info;
        if (!env.fib.lookup(s.af, i2.daddr, 0, r) || r.local) res = Gen.NO_ROUTE;
      }
      if (res === Gen.SENT) {
        const o = this.out.send(r, env.hdr, 0, 0);
        res = o === Out.SENT ? Gen.SENT : o === Out.UNRESOLVED ? Gen.UNRESOLVED : Gen.DROPPED;
      }
    }
    env.popPacket();
    this.depth--;
    return res;
  }

  /**
   * NeighReporter: a packet that waited for a neighbour that never answered
   * (neigh_invalidate → arp_error_report / ndisc_error_report →
   * dst_link_failure): ICMP host unreachable (ipv4_send_dest_unreach; its
   * route is an output route, so the source is chosen by routing, not taken
   * from the packet's destination) / ICMPv6 address unreachable about it.
   */
  unreachable(buf: Uint8Array, l3: number, len: number, af: number, inLink: number): void {
    const env = this.env;
    if (this.depth >= MAX_DEPTH) return;
    const d = this.depth++;
    const skb = this.genSkb[d];
    const info = this.genInfo[d];
    skb.set(buf, l3, len, len, af);
    skb.inLink = inLink;
    skb.mark = 0;
    parseIp(buf, l3, l3 + len, l3 + len, info);
    env.pushPacket(skb, info, this.genCinfo[d]);
    const group = this.reasmGroup;
    this.reasmGroup = false;
    this.icmp.outputRoute = true;
    if (af === 4) this.icmp.sendError(3, 1, 0);
    else this.icmp.sendError(1, 3, 0);
    this.icmp.outputRoute = false;
    this.reasmGroup = group;
    env.popPacket();
    this.depth--;
  }

  // ------------------------------------------------------------------ HostStackApi

  icmpSend(type: number, code: number, info: number): boolean {
    this.refresh();
    const r = this.icmp.sendError(type, code, info);
    if (r === Gen.UNRESOLVED) this.env.drop(Reason.NEIGHBOUR_UNRESOLVED);
    return r === Gen.SENT;
  }

  output(route: FibResult, hdr: Uint8Array, hdrOff: number, hdrLen: number): void {
    this.refresh();
    const r = this.out.send(route, hdr, hdrOff, hdrLen);
    if (r === Out.UNRESOLVED) this.env.drop(Reason.NEIGHBOUR_UNRESOLVED);
    else if (r === Out.TOO_BIG) this.env.drop(Reason.FRAG_NEEDED);
    else if (r === Out.NO_LINK) this.env.drop(Reason.NOT_HANDLED);
  }

  localDeliver(): void {
    this.refresh();
    this.local.deliver();
  }

  forward(): void {
    this.refresh();
    this.fwd.forward();
  }

  arpRcv(_buf: Uint8Array, _off: number, _capLen: number, link: number): void {
    this.refresh();
    this.arp.process(link);
  }

  gatherFrags(hook: number): boolean {
    this.refresh();
    return this.frag.gather4(hook);
  }

  defrag6(): boolean {
    this.refresh();
    return this.frag.gather6(false);
  }

  pathMtu(af: number, addr: Uint32Array, i: number, route: FibResult): number {
    if (route.local) return route.mtu;
    return this.pmtu.mtu(af, addr, i, route.mtu);
  }

  updatePmtu(af: number, addr: Uint32Array, i: number, mtu: number): void {
    this.refresh();
    const r = this.route;
    if (!this.env.fib.lookup(af, addr, i, r) || r.local) return;
    this.pmtu.update(af, addr, i, mtu, this.pmtu.mtu(af, addr, i, r.mtu));
  }

  tick(nowMs: number): void {
    this.refresh();
    if (nowMs >= this.frag.nextDue) this.frag.tick(nowMs);
    if (nowMs >= this.neigh.nextDue) this.neigh.tick(nowMs);
    if (nowMs >= this.pmtu.nextDue) this.pmtu.tick(nowMs);
  }

  /**
   * End of a replay (the replay engine calls it after the last frame):
   * fragments still held for reassembly never completed; their frames move
   * from `held` to `dropped` (`fragment-incomplete`). No ICMP is sent (the
   * queues did not time out).
   */
  flush(): void {
    this.frag.flush();
    this.neigh.flushHeld();
  }

  /** Jiffies of the simulated clock (tests). */
  get jiffies(): number {
    return jiffiesAt(this.env.nowMs);
  }
}
