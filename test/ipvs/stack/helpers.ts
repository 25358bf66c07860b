/**
 * Test bench for the host stack: a DirectorEnv with a Fib compiled from a
 * small Host, a sink that keeps every frame, IPVS hooks that accept (or do
 * what a test says), and `rx()` that prepares a received frame the way the
 * director's receive path does before it calls the stack.
 */
import { DirectorEnv, type FrameSink } from '../../../src/ipvs/env.js';
import { Fib } from '../../../src/ipvs/fib.js';
import { Host } from '../../../src/ipvs/host.js';
import { Sysctls } from '../../../src/ipvs/sysctl.js';
import { Verdict, type IpvsHooks, type VerdictValue } from '../../../src/ipvs/hooks.js';
import { HostStack } from '../../../src/ipvs/stack/stack.js';
import { Fate, REASON_NAMES, FATE_NAMES } from '../../../src/ipvs/verdict.js';
import { IpAddr, parseMac, parsePrefix } from '../../../src/wire/addr.js';
import { parseFrame } from '../../../src/wire/parse.js';
import {
  EthernetRepr,
  Ipv4Repr,
  Ipv6Repr,
  TcpRepr,
  UdpRepr,
  IcmpRepr,
  Icmpv6Repr,
  buildFrame,
  parsePacket,
  type LayerRepr,
  type ParsedPacket,
} from '../../../src/wire/repr.js';

export interface Frame {
  link: number;
  bytes: Uint8Array;
  origLen: number;
}

export class RecordingSink implements FrameSink {
  readonly frames: Frame[] = [];
  emit(
    link: number,
    hdr: Uint8Array,
    hdrOff: number,
    hdrLen: number,
    body: Uint8Array,
    bodyOff: number,
    bodyLen: number,
    origLen: number,
  ): void {
    const b = new Uint8Array(hdrLen + bodyLen);
    b.set(hdr.subarray(hdrOff, hdrOff + hdrLen), 0);
    b.set(body.subarray(bodyOff, bodyOff + bodyLen), hdrLen);
    this.frames.push({ link, bytes: b, origLen });
  }
}

/** Hooks standing in for IPVS: ACCEPT unless a test sets `verdict`; calls are logged. */
export class StubHooks implements IpvsHooks {
  calls: string[] = [];
  verdict: VerdictValue = Verdict.ACCEPT;
  /** Called at each hook (after logging) to let a test look at the packet in flight. */
  onHook: ((name: string, hook: number) => void) | null = null;
  outHook(hook: number): VerdictValue {
    this.calls.push(`out${hook}`);
    this.onHook?.('out', hook);
    return this.verdict;
  }
  inHook(hook: number): VerdictValue {
    this.calls.push(`in${hook}`);
    this.onHook?.('in', hook);
    return this.verdict;
  }
  forwardIcmp(hook: number): VerdictValue {
    this.calls.push(`fwdicmp${hook}`);
    this.onHook?.('fwdicmp', hook);
    return this.verdict;
  }
}

export interface LinkSpec {
  name: string;
  mac: string;
  mtu?: number;
  addrs?: string[];
}

export interface NetSpec {
  links: LinkSpec[];
  routes?: { prefix: string; via?: string; dev?: string }[];
  neigh?: { addr: string; mac: string; dev: string }[];
  sysctl?: Record<string, string>;
  seed?: number;
}

/** The two-link director most tests use (as the oracle's edge-dr / edge-nat). */
export const LAB: NetSpec = {
  links: [
    { name: 'client', mac: '02:00:00:00:01:01', addrs: ['192.168.1.1/24', '192.168.1.100/32'] },
    { name: 'server', mac: '02:00:00:00:02:01', addrs: ['192.168.2.1/24'] },
  ],
  neigh: [
    { addr: '192.168.1.10', mac: '02:00:00:00:0c:01', dev: 'client' },
    { addr: '192.168.1.11', mac: '02:00:00:00:0c:02', dev: 'client' },
    { addr: '192.168.1.254', mac: '02:00:00:00:0e:01', dev: 'client' },
    { addr: '192.168.2.210', mac: '02:00:00:00:0d:10', dev: 'server' },
  ],
  routes: [{ prefix: '0.0.0.0/0', via: '192.168.1.254' }],
  sysctl: { 'net.ipv4.ip_forward': '1' },
};

export const LAB6: NetSpec = {
  links: [
    { name: 'client', mac: '02:00:00:00:01:01', addrs: ['2001:db8:39::1/64', '2001:db8:40::100/128'] },
    { name: 'server', mac: '02:00:00:00:02:01', addrs: ['2001:db8:40::1/64'] },
  ],
  neigh: [
    { addr: '2001:db8:39::10', mac: '02:00:00:00:0c:01', dev: 'client' },
    { addr: '2001:db8:40::2', mac: '02:00:00:00:0d:02', dev: 'server' },
  ],
  sysctl: { 'net.ipv6.conf.all.forwarding': '1' },
};

export const CLIENT_MAC = 0x02000000_0c01;
export const DIR_MAC = 0x02000000_0101;
export const SERVER_DIR_MAC = 0x02000000_0201;

/** Compiles a Host into a Fib (Director.configChanged does the same). */
function compile(host: Host): Fib {
  return Fib.build(host);
}

export class Bench {
  readonly host = new Host();
  readonly sysctl = new Sysctls();
  readonly sink = new RecordingSink();
  readonly env: DirectorEnv;
  readonly hooks = new StubHooks();
  readonly stack: HostStack;

  constructor(spec: NetSpec) {
    for (const l of spec.links) {
      const link = this.host.link(l.name);
      this.host.setMac(link, parseMac(l.mac) as number);
      if (l.mtu) this.host.setMtu(link, l.mtu);
      for (const a of l.addrs ?? []) {
        const p = parsePrefix(a);
        if (!p) throw new Error(`bad prefix ${a}`);
        this.host.addAddress(link, p.addr, p.plen);
      }
    }
    for (const n of spec.neigh ?? [])
      this.host.addNeighbour(this.host.link(n.dev), IpAddr.parse(n.addr), parseMac(n.mac) as number);
    for (const r of spec.routes ?? []) {
      const p = parsePrefix(r.prefix);
      if (!p) throw new Error(`bad prefix ${r.prefix}`);
      this.host.addRoute(
        p.addr,
        p.plen,
        r.via ? IpAddr.parse(r.via) : null,
        r.dev ? this.host.link(r.dev) : null,
      );
    }
    for (const [k, v] of Object.entries(spec.sysctl ?? {})) this.sysctl.set(k, v);
    this.env = new DirectorEnv(this.sysctl, this.sink, spec.seed ?? 1);
    this.env.fib = compile(this.host);
    this.env.hooks = this.hooks;
    this.stack = new HostStack(this.env);
    this.env.stack = this.stack;
  }

  /** Re-compiles after a configuration change (as Director.configChanged). */
  reconfigure(): void {
    this.env.fib = compile(this.host);
  }

  setSysctl(k: string, v: string): void {
    this.sysctl.set(k, v);
    this.reconfigure();
  }

  /** Simulated time moves on (Director.advance without IPVS). */
  advance(ms: number): void {
    this.env.nowMs = ms;
    this.stack.tick(ms);
  }

  /**
   * A received frame, prepared as Director.receive / ipRcv do: parsed,
   * the packet in flight set, the fate reset. Returns the parse result.
   */
  rx(frame: Uint8Array, link = 0): number {
    const env = this.env;
    env.fate = -1;
    env.reason = 0;
    env.outCount = 0;
    env.heldReleased = 0;
    env.fates.framesIn++;
    const info = env.info;
    const r = parseFrame(frame, 0, frame.length, frame.length, info);
    if (r !== 0) return r;
    if (info.af !== 0) {
      const cap = Math.min(info.ipTotalLen, frame.length - info.l3Off);
      env.skb.set(frame, info.l3Off, info.ipTotalLen, cap, info.af);
      env.skb.inLink = link;
      env.skb.mark = 0;
    }
    return 0;
  }

  /** Counts the fate the frame got (Director.receive's tail). */
  done(): { fate: string; reason: string } {
    const env = this.env;
    if (env.fate < 0) env.setFate(Fate.DROPPED, 18);
    env.fates.count(env.fate, env.reason);
    if (env.heldReleased > 0) env.fates.release(env.fate, env.reason, env.heldReleased);
    return { fate: FATE_NAMES[env.fate], reason: REASON_NAMES[env.reason] };
  }

  /** rx + localDeliver + done. */
  deliver(frame: Uint8Array, link = 0): { fate: string; reason: string } {
    this.rx(frame, link);
    this.stack.localDeliver();
    return this.done();
  }

  /** rx + forward + done. */
  forward(frame: Uint8Array, link = 0): { fate: string; reason: string } {
    this.rx(frame, link);
    this.stack.forward();
    return this.done();
  }

  /** Frames emitted so far, parsed. */
  out(i: number): ParsedPacket {
    return parsePacket(this.sink.frames[i].bytes);
  }

  clearFrames(): void {
    this.sink.frames.length = 0;
  }
}

// ------------------------------------------------------------------ frame builders

const eth = (src = CLIENT_MAC, dst = DIR_MAC): EthernetRepr => new EthernetRepr({ src, dst });

export function ip4(src: string, dst: string, extra: Partial<Ipv4Repr> = {}): Ipv4Repr {
  return new Ipv4Repr({ src: IpAddr.parse(src), dst: IpAddr.parse(dst), id: 7, df: true, ...extra });
}

export function ip6(src: string, dst: string, extra: Partial<Ipv6Repr> = {}): Ipv6Repr {
  return new Ipv6Repr({ src: IpAddr.parse(src), dst: IpAddr.parse(dst), ...extra });
}

export function frame(
  layers: LayerRepr[],
  payload?: Uint8Array,
  ethSrc?: number,
  ethDst?: number,
): Uint8Array {
  return buildFrame([eth(ethSrc, ethDst), ...layers], payload, { pad: false });
}

export function tcp(sport: number, dport: number, flags: number, extra: Partial<TcpRepr> = {}): TcpRepr {
  return new TcpRepr({ sport, dport, flags, seq: 100, ack: 0, window: 64240, ...extra });
}

export function udp(sport: number, dport: number, extra: Partial<UdpRepr> = {}): UdpRepr {
  return new UdpRepr({ sport, dport, ...extra });
}

export function icmpEcho(id: number, seq: number): IcmpRepr {
  return IcmpRepr.echo(8, id, seq);
}

export function icmp6Echo(id: number, seq: number): Icmpv6Repr {
  return Icmpv6Repr.echo(128, id, seq);
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** IPv4 header fields of an emitted frame (Ethernet at 0). */
export function v4(frameBytes: Uint8Array): {
  tos: number;
  id: number;
  df: boolean;
  ttl: number;
  proto: number;
} {
  const o = 14;
  return {
    tos: frameBytes[o + 1],
    id: (frameBytes[o + 4] << 8) | frameBytes[o + 5],
    df: (frameBytes[o + 6] & 0x40) !== 0,
    ttl: frameBytes[o + 8],
    proto: frameBytes[o + 9],
  };
}
