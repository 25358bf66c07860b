/**
 * Test support: read an oracle scenario (setup, input pcaps, the kernel's
 * expected output pcaps and trace.tsv) and replay its connection-creating
 * packets through the schedulers with a deliberately small model of the
 * director's connection table, so each scheduling decision can be compared
 * with the real server the kernel chose.
 *
 * This is not the datapath (being written elsewhere): it knows just enough
 * (TCP states via tcp_state.ts, active/inactive counters, conn_reuse_mode,
 * upper/lower thresholds, expire_nodest_conn, timed ipvsadm commands) to
 * keep the counters the schedulers read equal to the kernel's. Persistence,
 * fragments, ICMP and timeouts are out of scope; scenarios that need them are
 * not replayed here.
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IpAddr, type Af } from '../../../src/wire/addr.js';
import { Ipvs, type DestSpec, type ServiceSpec } from '../../../src/ipvs/ctl.js';
import { Fwd, Proto, SvcFlag, TunType, type Dest, type Service } from '../../../src/ipvs/service.js';
import { createSchedulerRegistry, SCHED_FLAG_NAMES } from '../../../src/ipvs/sched/index.js';
import { SchedFlow } from '../../../src/ipvs/sched/scheduler.js';
import { TCP_STATE_ACTIVE, TCP_TIMEOUTS, TcpState, UDP_TIMEOUTS } from '../../../src/ipvs/proto.js';
import { Dir, TcpFlag, tcpNextState } from '../../../src/ipvs/tcp_state.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SCENARIO_DIR = path.resolve(here, '../../oracle/scenarios');
/** The extra scenarios made for the scheduler tests (see scenarios/generate.ts). */
export const SCHED_SCENARIO_DIR = path.resolve(here, 'scenarios');

export interface Frame {
  ts: number;
  data: Uint8Array;
}

/** Reads a classic pcap file (µs or ns timestamps, either byte order). */
export function readPcap(file: string): Frame[] {
  const b = readFileSync(file);
  const magicLE = b.readUInt32LE(0);
  let le: boolean;
  let nano: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) {
    le = true;
    nano = magicLE === 0xa1b23c4d;
  } else {
    le = false;
    const m = b.readUInt32BE(0);
    if (m !== 0xa1b2c3d4 && m !== 0xa1b23c4d) throw new Error(`${file}: not a pcap file`);
    nano = m === 0xa1b23c4d;
  }
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const frames: Frame[] = [];
  let off = 24;
  while (off + 16 <= b.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const caplen = u32(off + 8);
    off += 16;
    frames.push({ ts: sec + frac / (nano ? 1e9 : 1e6), data: new Uint8Array(b.subarray(off, off + caplen)) });
    off += caplen;
  }
  return frames;
}

/** The parts of an Ethernet/IP/L4 frame the replay needs. */
export interface Pkt {
  dstMac: number;
  af: Af;
  proto: number;
  src: IpAddr;
  dst: IpAddr;
  sport: number;
  dport: number;
  flags: number;
  /** For IPIP (proto 4): the outer destination. */
  outerDst: IpAddr | null;
}

function mac(d: Uint8Array, o: number): number {
  let m = 0;
  for (let i = 0; i < 6; i++) m = m * 256 + d[o + i];
  return m;
}

/** Parses Ethernet + IPv4/IPv6 (+ one IPIP level) + TCP/UDP ports and TCP flags; null when not IP. */
export function parsePkt(d: Uint8Array): Pkt | null {
  let o = 12;
  let et = (d[o] << 8) | d[o + 1];
  while (et === 0x8100 || et === 0x88a8) {
    o += 4;
    et = (d[o] << 8) | d[o + 1];
  }
  o += 2;
  const p: Pkt = {
    dstMac: mac(d, 0),
    af: 4,
    proto: 0,
    src: new IpAddr(4, 0),
    dst: new IpAddr(4, 0),
    sport: 0,
    dport: 0,
    flags: 0,
    outerDst: null,
  };
  let l4: number;
  if (et === 0x0800) {
    const ihl = (d[o] & 15) * 4;
    p.proto = d[o + 9];
    p.src = IpAddr.fromBytes(4, d, o + 12);
    p.dst = IpAddr.fromBytes(4, d, o + 16);
    if (p.proto === 4) {
      p.outerDst = p.dst;
      const io = o + ihl;
      const iihl = (d[io] & 15) * 4;
      p.proto = d[io + 9];
      p.src = IpAddr.fromBytes(4, d, io + 12);
      p.dst = IpAddr.fromBytes(4, d, io + 16);
      l4 = io + iihl;
    } else l4 = o + ihl;
  } else if (et === 0x86dd) {
    p.af = 6;
    p.proto = d[o + 6];
    p.src = IpAddr.fromBytes(6, d, o + 8);
    p.dst = IpAddr.fromBytes(6, d, o + 24);
    l4 = o + 40;
  } else return null;
  if ((p.proto === 6 || p.proto === 17 || p.proto === 132) && l4 + 4 <= d.length) {
    p.sport = (d[l4] << 8) | d[l4 + 1];
    p.dport = (d[l4 + 2] << 8) | d[l4 + 3];
    if (p.proto === 6 && l4 + 14 <= d.length) p.flags = d[l4 + 13];
  }
  return p;
}

export interface ScenarioInput {
  idx: number;
  side: string;
  frame: Frame;
}

export interface Scenario {
  name: string;
  setup: string[];
  inputs: ScenarioInput[];
  /** Output frames per input index (side and frame), in trace order. */
  outputs: Map<number, { side: string; frame: Frame }[]>;
  /** Timed commands to run before the input of the given index. */
  commands: { before: number; command: string }[];
}

/** Loads a scenario by name from the shared set, or from the directory `dir` when given. */
export function loadScenario(name: string, dir = path.join(SCENARIO_DIR, name)): Scenario {
  const setup = readFileSync(path.join(dir, 'setup'), 'utf8').split('\n');
  const frames = new Map<string, Frame[]>();
  const outFrames = new Map<string, Frame[]>();
  const taken = new Map<string, number>();
  const outTaken = new Map<string, number>();
  const get = (m: Map<string, Frame[]>, file: string, side: string) => {
    if (!m.has(side)) m.set(side, existsSync(file) ? readPcap(file) : []);
    return m.get(side) as Frame[];
  };
  const sc: Scenario = { name, setup, inputs: [], outputs: new Map(), commands: [] };
  for (const line of readFileSync(path.join(dir, 'expected/trace.tsv'), 'utf8').split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'in') {
      const side = f[2];
      const list = get(frames, path.join(dir, `${side}.pcap`), side);
      const k = taken.get(side) ?? 0;
      taken.set(side, k + 1);
      sc.inputs.push({ idx: Number(f[1]), side, frame: list[k] });
    } else if (f[0] === 'out') {
      const side = f[2];
      const list = get(outFrames, path.join(dir, `expected/${side}.pcap`), side);
      const k = outTaken.get(side) ?? 0;
      outTaken.set(side, k + 1);
      const idx = Number(f[1]);
      if (!sc.outputs.has(idx)) sc.outputs.set(idx, []);
      sc.outputs.get(idx)?.push({ side, frame: list[k] });
    } else if (f[0] === 'cmd') {
      sc.commands.push({ before: Number(f[1]), command: f.slice(5).join('\t') });
    }
  }
  return sc;
}

/** Splits `ADDR:PORT` / `[V6]:PORT`. */
function addrPort(text: string): { addr: IpAddr; port: number } {
  const m = /^\[(.+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) return { addr: IpAddr.parse(text.replace(/^\[|\]$/g, '')), port: 0 };
  return { addr: IpAddr.parse(m[1]), port: Number(m[2]) };
}

interface Conn {
  dest: Dest;
  /** Simulated time (s) when the entry's timer runs out. */
  expires: number;
  state: number;
  active: boolean;
  seenOutput: boolean;
  proto: number;
  caddr: string;
  cport: number;
}

/** One scheduling decision compared with the kernel's. */
export interface Decision {
  input: number;
  client: string;
  /** The real server the scheduler picked (`addr:port`), or null. */
  picked: string | null;
  /** The real server the kernel sent the packet to (address only), or null when nothing was forwarded. */
  kernel: string | null;
}

/** A small director model driving the schedulers with the scenario's traffic. */
export class ScheduleReplay {
  readonly ipvs: Ipvs;
  readonly flow = new SchedFlow();
  readonly macToIp = new Map<number, string>();
  private readonly conns = new Map<string, Conn>();
  private seed = 1;
  decisions: Decision[] = [];
  t0 = -1;
  /** Called just before each scheduling decision (counters as the scheduler sees them). */
  onSchedule: ((svc: Service) => void) | null = null;

  constructor() {
    this.ipvs = new Ipvs(createSchedulerRegistry(), () => this.random32());
  }

  private random32(): number {
    // xorshift32, only for twos (no oracle scenario uses twos)
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed;
  }

  /** Runs one set-up or timed command line (the subset the sched scenarios use). */
  command(line: string): void {
    const l = line.trim();
    if (l === '' || l.startsWith('#') || l.startsWith('@')) return;
    let m = /^ip neigh add (\S+) lladdr (\S+)/.exec(l);
    if (m) {
      this.macToIp.set(parseInt(m[2].replace(/:/g, ''), 16), m[1]);
      return;
    }
    m = /^echo (\S+) > \/proc\/sys\/net\/ipv4\/vs\/(\S+)$/.exec(l);
    if (m) {
      this.ipvs.sysctl.set(`net.ipv4.vs.${m[2]}`, m[1]);
      return;
    }
    m = /^sysctl -w (\S+)=(\S+)$/.exec(l);
    if (m) {
      this.ipvs.sysctl.set(m[1], m[2]);
      return;
    }
    if (l.startsWith('ipvsadm ')) this.ipvsadm(l.slice(8).trim().split(/\s+/));
    else if (l.startsWith('-')) this.ipvsadm(l.split(/\s+/));
  }

  private ipvsadm(args: string[]): void {
    let cmd = '';
    let proto = 0;
    let vip: { addr: IpAddr; port: number } | null = null;
    let rip: { addr: IpAddr; port: number } | null = null;
    let sched = 'wlc';
    let flags = 0;
    let fwd: number = Fwd.DROUTE;
    let weight = 1;
    let u = 0;
    let lth = 0;
    let timeout = 0;
    let netmask = 0xffffffff;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (['-A', '-E', '-D', '-a', '-e', '-d'].includes(a)) cmd = a;
      else if (a === '-t' || a === '-u' || a === '--sctp-service') {
        proto = a === '-t' ? Proto.TCP : a === '-u' ? Proto.UDP : Proto.SCTP;
        vip = addrPort(args[++i]);
      } else if (a === '-r') rip = addrPort(args[++i]);
      else if (a === '-s') sched = args[++i];
      else if (a === '-b') {
        for (const f of args[++i].split(',')) flags |= SCHED_FLAG_NAMES.get(f)?.flag ?? 0;
      } else if (a === '-g') fwd = Fwd.DROUTE;
      else if (a === '-m') fwd = Fwd.MASQ;
      else if (a === '-i') fwd = Fwd.TUNNEL;
      else if (a === '-w') weight = Number(args[++i]);
      else if (a === '-x') u = Number(args[++i]);
      else if (a === '-y') lth = Number(args[++i]);
      else if (a === '-p') {
        flags |= SvcFlag.PERSISTENT;
        timeout = /^\d+$/.test(args[i + 1] ?? '') ? Number(args[++i]) : 300;
      } else if (a === '-M') netmask = IpAddr.parse(args[++i]).w0;
    }
    if (!vip) throw new Error(`ipvsadm ${args.join(' ')}: no service`);
    const af = vip.addr.af;
    const svc = this.ipvs.findService(af, proto, vip.addr, vip.port, 0);
    const spec: ServiceSpec = {
      af,
      protocol: proto,
      addr: vip.addr,
      port: vip.port,
      fwmark: 0,
      schedName: sched,
      flags,
      timeout,
      netmask: af === 6 ? 128 : netmask,
      peName: '',
    };
    let rc = 0;
    if (cmd === '-A') rc = this.ipvs.addService(spec);
    else if (cmd === '-E' && svc) rc = this.ipvs.editService(svc, spec);
    else if (cmd === '-D' && svc) rc = this.ipvs.delService(svc);
    else if (svc && rip) {
      const d: DestSpec = {
        af: rip.addr.af,
        addr: rip.addr,
        port: rip.port || vip.port,
        fwd: fwd as DestSpec['fwd'],
        weight,
        uThreshold: u,
        lThreshold: lth,
        tunType: TunType.IPIP,
        tunPort: 0,
        tunFlags: 0,
      };
      if (cmd === '-a') rc = this.ipvs.addDest(svc, d);
      else if (cmd === '-e') rc = this.ipvs.editDest(svc, d);
      else if (cmd === '-d') {
        const dest = this.ipvs.lookupDest(svc, d.af, d.addr, d.port);
        rc = this.ipvs.delDest(svc, d.af, d.addr, d.port);
        if (rc === 0 && dest && this.ipvs.sysctl.expireNodestConn) this.flushDest(dest);
      }
    } else throw new Error(`ipvsadm ${args.join(' ')}: unsupported here`);
    if (rc !== 0) throw new Error(`ipvsadm ${args.join(' ')}: errno ${-rc}`);
  }

  private flushDest(dest: Dest): void {
    for (const [k, c] of this.conns) if (c.dest === dest) this.freeConn(k, c);
  }

  /** ip_vs_bind_dest(): a new entry counts as inactive; the upper threshold may set OVERLOAD. */
  private bind(c: Conn): void {
    const d = c.dest;
    d.totalConns++;
    if (d.uThreshold !== 0 && d.totalConns >= d.uThreshold) d.overloaded = true;
    d.svc.sched?.loadChanged(d.svc, d);
  }

  /** ip_vs_unbind_dest(): counters down, OVERLOAD cleared below the lower threshold. */
  private freeConn(key: string, c: Conn): void {
    this.conns.delete(key);
    const d = c.dest;
    if (c.active) d.activeConns--;
    d.totalConns--;
    if (d.lThreshold !== 0) {
      if (d.totalConns < d.lThreshold) d.overloaded = false;
    } else if (d.uThreshold !== 0) {
      if (d.totalConns * 4 < d.uThreshold * 3) d.overloaded = false;
    } else d.overloaded = false;
    d.svc.sched?.loadChanged(d.svc, d);
  }

  private setState(c: Conn, state: number): void {
    c.state = state;
    c.expires = this.ipvs.now + (c.proto === Proto.TCP ? TCP_TIMEOUTS[state] : UDP_TIMEOUTS[0]);
    const act = c.proto === Proto.TCP && TCP_STATE_ACTIVE[state];
    if (act !== c.active) {
      c.active = act;
      c.dest.activeConns += act ? 1 : -1;
      c.dest.svc.sched?.loadChanged(c.dest.svc, c.dest);
    }
  }

  /** Feeds one input frame. */
  input(inp: ScenarioInput, kernelServer: (idx: number) => string | null): void {
    const p = parsePkt(inp.frame.data);
    if (!p || (p.proto !== Proto.TCP && p.proto !== Proto.UDP)) return;
    if (this.t0 < 0) this.t0 = inp.frame.ts;
    this.ipvs.now = inp.frame.ts - this.t0;
    for (const [k, c] of this.conns) if (c.expires <= this.ipvs.now) this.freeConn(k, c);
    const svc = this.ipvs.findService(p.af, p.proto, p.dst, p.dport, 0);
    if (svc) {
      this.clientPacket(svc, p, inp.idx, kernelServer);
      return;
    }
    // a real server's reply (NAT): find the connection by the client end
    const key = `${p.proto}|${p.dst}|${p.dport}`;
    const c = this.conns.get(key);
    if (c && p.proto === Proto.TCP) {
      c.seenOutput = true;
      this.setState(c, tcpNextState(c.state, Dir.OUTPUT, p.flags, false));
    } else if (c) c.expires = this.ipvs.now + UDP_TIMEOUTS[0];
  }

  private clientPacket(
    svc: Service,
    p: Pkt,
    idx: number,
    kernelServer: (idx: number) => string | null,
  ): void {
    const key = `${p.proto}|${p.src}|${p.sport}`;
    const old = this.conns.get(key);
    const syn = p.proto === Proto.TCP && (p.flags & TcpFlag.SYN) !== 0 && (p.flags & TcpFlag.RST) === 0;
    let resched = false;
    if (old && syn && this.ipvs.sysctl.connReuseMode) {
      if (this.ipvs.sysctl.expireNodestConn && old.dest.weight === 0) resched = true;
      else if (old.state === TcpState.TIME_WAIT || old.state === TcpState.CLOSE) resched = true;
    }
    if (old && !resched) {
      if (p.proto === Proto.TCP) {
        const dir = old.seenOutput ? Dir.INPUT : Dir.INPUT_ONLY;
        this.setState(old, tcpNextState(old.state, dir, p.flags, false));
      } else old.expires = this.ipvs.now + UDP_TIMEOUTS[0];
      return;
    }
    if (p.proto === Proto.TCP && !syn) return;
    const f = this.flow;
    f.af = p.af;
    f.protocol = p.proto;
    p.src.writeWords(f.saddr);
    p.dst.writeWords(f.daddr);
    f.sport = p.sport;
    f.dport = p.dport;
    f.now = this.ipvs.now * 1000;
    if (this.onSchedule) this.onSchedule(svc);
    const d = svc.sched ? svc.sched.schedule(svc, f, null) : null;
    this.decisions.push({
      input: idx,
      client: `${p.src}:${p.sport}`,
      picked: d ? `${d.addr}:${d.port}` : null,
      kernel: kernelServer(idx),
    });
    // the entry being replaced is freed by its timer, after this packet
    if (old) this.freeConn(key, old);
    if (!d) return;
    const c: Conn = {
      dest: d,
      expires: this.ipvs.now + UDP_TIMEOUTS[0],
      state: TcpState.NONE,
      active: false,
      seenOutput: false,
      proto: p.proto,
      caddr: p.src.toString(),
      cport: p.sport,
    };
    this.conns.set(key, c);
    this.bind(c);
    if (p.proto === Proto.TCP) this.setState(c, tcpNextState(TcpState.NONE, Dir.INPUT_ONLY, p.flags, false));
  }
}

/**
 * Replays a scenario; returns every scheduling decision with the kernel's
 * choice (read from the expected output: DR destination MAC -> `ip neigh`,
 * TUN outer destination, NAT rewritten destination).
 */
export function replayScenario(
  name: string,
  onSchedule: ((svc: Service) => void) | null = null,
  dir?: string,
): { replay: ScheduleReplay; decisions: Decision[] } {
  const sc = loadScenario(name, dir);
  const r = new ScheduleReplay();
  r.onSchedule = onSchedule;
  for (const line of sc.setup) r.command(line);
  const kernelServer = (idx: number): string | null => {
    for (const o of sc.outputs.get(idx) ?? []) {
      if (o.side === 'client') continue;
      const p = parsePkt(o.frame.data);
      if (!p) continue;
      if (p.outerDst) return p.outerDst.toString();
      const viaMac = r.macToIp.get(p.dstMac);
      const svc = r.ipvs.findService(p.af, p.proto, p.dst, p.dport, 0);
      if (svc && viaMac) return viaMac; // DR: destination unchanged, MAC says where
      return p.dst.toString(); // NAT: rewritten destination
    }
    return null;
  };
  for (const inp of sc.inputs) {
    for (const c of sc.commands) if (c.before === inp.idx) r.command(c.command);
    r.input(inp, kernelServer);
  }
  return { replay: r, decisions: r.decisions };
}

/** Only the address part of `addr:port` (the kernel's choice is known by address). */
export function hostOf(addrPort: string | null): string | null {
  if (addrPort === null) return null;
  const i = addrPort.lastIndexOf(':');
  return addrPort.startsWith('[') ? addrPort.slice(1, addrPort.indexOf(']')) : addrPort.slice(0, i);
}
