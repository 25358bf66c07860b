/**
 * The traffic generator behind `ipvs-sim gen` (docs/gen.md): seeded TCP and
 * UDP flows toward the virtual services of a director's set-up, written as
 * the frames that director would receive.
 *
 * Model. A flow is a client talking to one virtual service: TCP flows do the
 * three-way handshake, then 1..n request/response exchanges (the client
 * acknowledging every second response segment, the server every second
 * segment of a long request), then a client FIN, a server FIN or a client
 * RST; some requests and responses have a retransmitted segment; UDP flows
 * are datagram pairs. Times are those seen at the director: the client is a
 * round-trip time away, the real server a fraction of a millisecond. New
 * flows arrive as a Poisson process over `duration`; a share started shortly
 * before the capture (only their later frames are in it).
 *
 * Each flow has two streams of frames, client→VIP and server→client, each
 * with its own next-frame time, kept in one time-ordered heap: frames come
 * out in time order, each with a timestamp 1 µs after the previous at least
 * (timestamps are unique, so a replay merging several files keeps the
 * order). Frames are patched from per-flow templates (frames.ts) with
 * payloads sliced from fixed patterns (payload.ts) and written with the
 * capture writer's two-part write — nothing is allocated per frame.
 *
 * Which frames are written. DR and TUN set-ups get the client→VIP frames
 * only (the real servers answer clients directly, bypassing the director).
 * For NAT real servers the replies come back through the director: they are
 * written too, arriving on the interface the director routes the real server
 * through, from the server's MAC to that interface's MAC, from RIP:rport to
 * the client. Which real server a flow lands on is the scheduler's choice,
 * so the generator runs a shadow Director built from the same set-up with
 * the replay's seed (`replaySeed`) and feeds it every frame it writes, in
 * order, with the timestamps the replay will see: after a flow's first frame
 * the shadow's connection table says which real server (and port) the
 * director bound the flow to, and that server's replies follow. A replay of
 * the capture with that seed makes the same choices. A flow the shadow
 * refuses (no real server available) ends after its first frame. Flows
 * already under way at the start have no connection in the director; their
 * NAT replies come from a real server picked by hashing the flow (the
 * director routes them unchanged, as a kernel would).
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Director } from '../ipvs/director.js';
import { Rng } from '../ipvs/env.js';
import { Fwd, type Dest } from '../ipvs/service.js';
import { parseSetup, applySetupCommand, validateSetup, type SetupScript } from '../control/setup.js';
import { createPcapWriter, openOutput, DEFAULT_WRITE_BUFFER, type CaptureWriter } from '../capture/writer.js';
import { IpAddr, type Af } from '../wire/addr.js';
import {
  EthernetRepr,
  Ipv4Repr,
  Ipv6Repr,
  TcpRepr,
  UdpRepr,
  buildFrame,
  type LayerRepr,
} from '../wire/repr.js';
import { EventHeap } from './heap.js';
import { F, TEMPLATE_SIZE, TemplateStore } from './frames.js';
import { MAX_SEGMENT, PayloadPattern, REQUEST_HEAD, RESPONSE_HEAD } from './payload.js';
import { checkGenOptions, GenOptionError, type GenOptions } from './options.js';
import { Topology, type ClientSide, type GenService } from './topology.js';

export interface GenOutput {
  /** One capture: pcapng with one interface per director interface, or pcap when the name ends in .pcap. */
  file?: string;
  /** DIR/IFACE.pcap for every director interface. */
  dir?: string;
  /** A pcap path per director interface name (every interface must be named). */
  files?: Record<string, string>;
  /** Nanosecond pcap timestamps (default µs; pcapng is always ns). */
  nanosecond?: boolean;
}

export interface GenConfig {
  setupText: string;
  setupFile: string;
  lenient?: boolean;
  options: GenOptions;
  output: GenOutput;
  /**
   * Build every frame with the wire layer's Repr objects (`buildFrame`)
   * instead of templates: the baseline of bench/suites/gen.ts, and a cross
   * check in the tests (the bytes are identical).
   */
  naive?: boolean;
}

export interface GenSummary {
  frames: number;
  bytes: number;
  framesPerInterface: Record<string, number>;
  flows: {
    total: number;
    tcp: number;
    udp: number;
    ipv4: number;
    ipv6: number;
    /** Started before the capture. */
    underway: number;
    /** Flows whose replies are generated (NAT). */
    nat: number;
    /** First frame refused by the shadow director (no real server). */
    refused: number;
    /** Still open when `maxFrames` stopped the generation. */
    open: number;
  };
  /** NAT flows per real server (`RIP:port`) as the shadow director bound them (flows under way at the start left out). */
  perRealServer: Record<string, number>;
  /** Per family: where client addresses come from, how many, and the share of flows of the busiest client. */
  clients: Record<string, { origin: string; count: number; topShare: number; interface: string }>;
  /** Simulated seconds from time 0 to the last frame. */
  simulatedSeconds: number;
  outputs: string[];
  warnings: string[];
}

// ------------------------------------------------------------------ flow state

const FL_UNDERWAY = 1;
const FL_SERVER = 2; // the server stream writes frames (NAT)
const FL_QUEUED = 4; // the server stream is in the heap
const FL_UDP = 8;
const FL_DONE = 16; // the client stream has ended
const FL_LEARN = 32; // the first written client frame tells the real server (shadow)
const FL_REFUSED = 64; // the shadow director made no connection for the flow's first frame

const C_SYN = 0;
const C_HS_ACK = 1;
const C_REQ = 2;
const C_REQ_RETX = 3;
const C_ACK = 4;
const C_FIN = 5;
const C_LAST_ACK = 6;
const C_FIN2 = 7;
const C_RST = 8;
const C_UDP = 9;

const S_SYNACK = 0;
const S_REQ_ACK = 1;
const S_RESP = 2;
const S_FIN = 3;
const S_LAST_ACK = 4;
const S_UDP = 5;

const END_CLIENT_FIN = 0;
const END_SERVER_FIN = 1;
const END_RST = 2;

/** A stream step's "no next frame" (stream times can be negative: flows under way at the start). */
const END = -Infinity;

const KIND_NONE = 0;
const KIND_REQ = 1;
const KIND_RESP = 2;

/** Windows: Linux's initial SYN windows, then 502/509 with window scale 7 (no scaling with --small). */
const CLIENT_SYN_WIN = 64240;
const SERVER_SYN_WIN = 65160;
const CLIENT_WIN = 502;
const SERVER_WIN = 509;
/** Minimum retransmission timeout (Linux TCP_RTO_MIN), µs. */
const RTO_MIN_US = 200000;
const MIN_FRAME = 60;
/** Scratch in the arena for the copy of a frame fed to the shadow director. */
const SHADOW_SCRATCH = 2048;

function lowerPow2(n: number): number {
  let c = 16;
  while (c < n) c *= 2;
  return c;
}

/** The traffic generator: construct, `run()`, then read the summary (outputs are closed by run). */
export class Generator {
  private readonly opts: GenOptions;
  private readonly small: boolean;
  private readonly naive: boolean;
  private readonly rng: Rng;
  readonly script: SetupScript;
  /** The director built from the set-up: where addresses come from, and the NAT shadow. */
  readonly director: Director;
  readonly topology: Topology;
  private readonly shadowOn: boolean;
  private readonly heap = new EventHeap();
  private readonly tpl = new TemplateStore(256);
  private readonly arena: Uint8Array;
  private readonly req: PayloadPattern;
  private readonly resp: PayloadPattern;
  private readonly shadowOff: number;
  private readonly writers: (CaptureWriter | null)[];
  private readonly single: CaptureWriter | null;
  private readonly outputs: string[];
  private readonly linkNames: string[];
  private readonly framesPerLink: Float64Array;
  private readonly services: GenService[];
  private readonly clientSides: (ClientSide | null)[];
  /** Services by protocol and family: [tcp4, tcp6, udp4, udp6]. */
  private readonly svcLists: number[][];
  private readonly udpShare: number;
  private readonly v6Share: number;
  /** Zipf CDFs per family (null unless zipf). */
  private readonly zipfCdf: (Float64Array | null)[] = [null, null];
  /** Next ephemeral port per client, per family. */
  private readonly nextPort: (Uint16Array | null)[] = [null, null];
  /** Flows per client, per family. */
  private readonly clientFlows: (Uint32Array | null)[] = [null, null];
  private readonly timedCmds: SetupScript['timed'];
  private timedNext = 0;

  // flows (struct of arrays, slots reused through a free list)
  private cap = 0;
  private used = 0;
  private freeList = new Int32Array(0);
  private freeTop = 0;
  private fFlags = new Int32Array(0);
  private fSvc = new Int32Array(0);
  private fClient = new Int32Array(0);
  private fCport = new Int32Array(0);
  private fRport = new Int32Array(0);
  private fRip = new Uint32Array(0);
  private fSLink = new Int32Array(0);
  private fCLink = new Int32Array(0);
  private fNReq = new Int32Array(0);
  private fReq = new Int32Array(0);
  private fEnding = new Int32Array(0);
  private fCPhase = new Int32Array(0);
  private fCIdx = new Int32Array(0);
  private fSPhase = new Int32Array(0);
  private fSIdx = new Int32Array(0);
  private fReqSegs = new Int32Array(0);
  private fRespSegs = new Int32Array(0);
  private fDup = new Int32Array(0);
  private fReqRetx = new Int32Array(0);
  private fIpIdC = new Int32Array(0);
  private fIpIdS = new Int32Array(0);
  private fMss = new Int32Array(0);
  private fLabel = new Int32Array(0);
  private fRtt = new Float64Array(0);
  private fSrv = new Float64Array(0);
  private fGapS = new Float64Array(0);
  private fGapC = new Float64Array(0);
  private fCisn = new Float64Array(0);
  private fSisn = new Float64Array(0);
  private fReqBase = new Float64Array(0);
  private fRespBase = new Float64Array(0);
  private fReqLen = new Float64Array(0);
  private fRespLen = new Float64Array(0);
  private fReqStart = new Float64Array(0);
  private fReqDone = new Float64Array(0);
  private fRespStart = new Float64Array(0);
  private fSFin = new Float64Array(0);
  private fSMac = new Float64Array(0);
  private fSLinkMac = new Float64Array(0);

  // run state
  private lastUs = -1;
  private frames = 0;
  private bytes = 0;
  private stopped = false;
  private firstSec = -1;
  private firstNsec = 0;
  private arrivalsLeft = 0;
  private lastArrival = 0;
  private nextArrival = Infinity;
  private readonly vipWords = new Uint32Array(4);
  private readonly cliWords = new Uint32Array(4);
  private readonly stats = { total: 0, tcp: 0, udp: 0, ipv4: 0, ipv6: 0, underway: 0, nat: 0, refused: 0 };
  private readonly perDest = new Map<Dest, number>();

  constructor(cfg: GenConfig) {
    const o = cfg.options;
    checkGenOptions(o);
    this.opts = o;
    this.small = o.small;
    this.naive = cfg.naive === true;
    this.rng = new Rng(o.seed);
    this.script = parseSetup(cfg.setupText, { file: cfg.setupFile, lenient: cfg.lenient === true });
    const make = (): Director => new Director({ seed: o.replaySeed });
    validateSetup(this.script, make);
    this.director = make();
    for (const c of this.script.commands) applySetupCommand(c, this.director);
    this.director.configChanged();
    this.timedCmds = this.script.timed;
    this.topology = new Topology(this.director, o);
    this.services = this.topology.services;
    this.shadowOn = this.services.some((s) => s.nat);
    this.clientSides = [this.topology.clients[4] ?? null, this.topology.clients[6] ?? null];
    this.svcLists = [[], [], [], []];
    for (const s of this.services)
      this.svcLists[(s.proto === 17 ? 2 : 0) + (s.af === 6 ? 1 : 0)].push(s.index);
    const hasTcp = this.svcLists[0].length + this.svcLists[1].length > 0;
    const hasUdp = this.svcLists[2].length + this.svcLists[3].length > 0;
    const has4 = this.svcLists[0].length + this.svcLists[2].length > 0;
    const has6 = this.svcLists[1].length + this.svcLists[3].length > 0;
    this.udpShare = o.udpShare ?? (hasTcp && hasUdp ? 0.1 : hasUdp ? 1 : 0);
    if (this.udpShare > 0 && !hasUdp)
      throw new GenOptionError('--udp: the set-up has no UDP virtual service');
    if (this.udpShare < 1 && !hasTcp)
      throw new GenOptionError('--udp: the set-up has only UDP virtual services (use --udp 1)');
    this.v6Share = o.ipv6Share ?? (has4 && has6 ? 0.2 : has6 ? 1 : 0);
    if (this.v6Share > 0 && !has6) throw new GenOptionError('--ipv6: the set-up has no IPv6 virtual service');
    if (this.v6Share < 1 && !has4)
      throw new GenOptionError('--ipv6: the set-up has only IPv6 virtual services (use --ipv6 1)');
    for (let i = 0; i < 2; i++) {
      const cs = this.clientSides[i];
      if (!cs) continue;
      const ports = new Uint16Array(cs.count);
      for (let c = 0; c < cs.count; c++) ports[c] = 32768 + (this.rng.next32() % 28232);
      this.nextPort[i] = ports;
      this.clientFlows[i] = new Uint32Array(cs.count);
      if (o.clientDist === 'zipf') {
        const cdf = new Float64Array(cs.count);
        let s = 0;
        for (let k = 0; k < cs.count; k++) {
          s += 1 / Math.pow(k + 1, o.zipfS);
          cdf[k] = s;
        }
        for (let k = 0; k < cs.count; k++) cdf[k] /= s;
        this.zipfCdf[i] = cdf;
      }
    }

    // outputs: every writer's batch buffer, the payload patterns and the shadow scratch share one
    // ArrayBuffer, so payloads are copied with copyWithin
    const links = this.director.host.links;
    this.linkNames = links.map((l) => l.name);
    this.framesPerLink = new Float64Array(links.length);
    const out = cfg.output;
    const nOut = [out.file, out.dir, out.files].filter((x) => x !== undefined).length;
    if (nOut !== 1)
      throw new GenOptionError('give exactly one output: a file (-o) or a directory (--out-dir)');
    const nWriters = out.file ? 1 : links.length;
    const patLen = (REQUEST_HEAD.length + RESPONSE_HEAD.length + 2 * (64 + MAX_SEGMENT) + 63) & ~63;
    this.arena = new Uint8Array(nWriters * DEFAULT_WRITE_BUFFER + patLen + SHADOW_SCRATCH);
    const patBase = nWriters * DEFAULT_WRITE_BUFFER;
    this.req = new PayloadPattern(this.arena, patBase, REQUEST_HEAD);
    this.resp = new PayloadPattern(this.arena, patBase + this.req.length, RESPONSE_HEAD);
    this.shadowOff = patBase + patLen;
    const buf = (i: number): Uint8Array =>
      this.arena.subarray(i * DEFAULT_WRITE_BUFFER, (i + 1) * DEFAULT_WRITE_BUFFER);
    const nano = out.nanosecond === true;
    this.writers = [];
    this.single = null;
    if (out.file) {
      this.single = openOutput(out.file, this.linkNames, { nanosecond: nano, buffer: buf(0) });
      this.outputs = [out.file];
    } else {
      const paths = this.linkNames.map((n) => {
        if (out.files) {
          const p = out.files[n];
          if (!p) throw new GenOptionError(`no output file for interface ${n}`);
          return p;
        }
        return path.join(out.dir as string, `${n}.pcap`);
      });
      if (out.dir && !existsSync(out.dir)) mkdirSync(out.dir, { recursive: true });
      this.outputs = paths;
      try {
        for (let i = 0; i < paths.length; i++)
          this.writers.push(createPcapWriter(paths[i], { nanosecond: nano, buffer: buf(i) }));
      } catch (e) {
        for (const w of this.writers) w?.close();
        throw e;
      }
    }
    this.grow(256);
  }

  // -------------------------------------------------------------- slots

  private grow(n: number): void {
    const cap = lowerPow2(n);
    if (cap <= this.cap) return;
    const i32 = (a: Int32Array, per = 1): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(cap * per);
      b.set(a);
      return b;
    };
    const f64 = (a: Float64Array): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.fFlags = i32(this.fFlags);
    this.fSvc = i32(this.fSvc);
    this.fClient = i32(this.fClient);
    this.fCport = i32(this.fCport);
    this.fRport = i32(this.fRport);
    const rip = new Uint32Array(cap * 4);
    rip.set(this.fRip);
    this.fRip = rip;
    this.fSLink = i32(this.fSLink);
    this.fCLink = i32(this.fCLink);
    this.fNReq = i32(this.fNReq);
    this.fReq = i32(this.fReq);
    this.fEnding = i32(this.fEnding);
    this.fCPhase = i32(this.fCPhase);
    this.fCIdx = i32(this.fCIdx);
    this.fSPhase = i32(this.fSPhase);
    this.fSIdx = i32(this.fSIdx);
    this.fReqSegs = i32(this.fReqSegs);
    this.fRespSegs = i32(this.fRespSegs);
    this.fDup = i32(this.fDup);
    this.fReqRetx = i32(this.fReqRetx);
    this.fIpIdC = i32(this.fIpIdC);
    this.fIpIdS = i32(this.fIpIdS);
    this.fMss = i32(this.fMss);
    this.fLabel = i32(this.fLabel);
    this.fRtt = f64(this.fRtt);
    this.fSrv = f64(this.fSrv);
    this.fGapS = f64(this.fGapS);
    this.fGapC = f64(this.fGapC);
    this.fCisn = f64(this.fCisn);
    this.fSisn = f64(this.fSisn);
    this.fReqBase = f64(this.fReqBase);
    this.fRespBase = f64(this.fRespBase);
    this.fReqLen = f64(this.fReqLen);
    this.fRespLen = f64(this.fRespLen);
    this.fReqStart = f64(this.fReqStart);
    this.fReqDone = f64(this.fReqDone);
    this.fRespStart = f64(this.fRespStart);
    this.fSFin = f64(this.fSFin);
    this.fSMac = f64(this.fSMac);
    this.fSLinkMac = f64(this.fSLinkMac);
    const free = new Int32Array(cap);
    free.set(this.freeList.subarray(0, this.freeTop));
    this.freeList = free;
    this.tpl.ensure(cap * 2);
    this.cap = cap;
  }

  private alloc(): number {
    if (this.freeTop > 0) return this.freeList[--this.freeTop];
    if (this.used === this.cap) this.grow(this.cap * 2);
    return this.used++;
  }

  private free(f: number): void {
    this.fFlags[f] = 0;
    this.freeList[this.freeTop++] = f;
  }

  // -------------------------------------------------------------- random draws

  private u(): number {
    return this.rng.next32() / 4294967296;
  }

  /** Log-uniform in [min, max] (Math.exp of a uniform: Math.pow measured several times slower here). */
  private logUniform(min: number, max: number): number {
    return min === max ? min : min * Math.exp(this.u() * Math.log(max / min));
  }

  private intIn(min: number, max: number): number {
    return min + Math.floor(this.u() * (max - min + 1));
  }

  private sizeIn(min: number, max: number, cap: number): number {
    const lo = Math.min(min, cap);
    const hi = Math.min(max, cap);
    return Math.max(1, Math.min(hi, Math.round(this.logUniform(lo, hi))));
  }

  private pickClient(fam: number): number {
    const n = (this.clientSides[fam] as ClientSide).count;
    const cdf = this.zipfCdf[fam];
    if (cdf === null) return Math.min(n - 1, Math.floor(this.u() * n));
    const x = this.u();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  // -------------------------------------------------------------- flows

  /** Starts a flow whose first frame is at time t (µs; negative: under way at the start). */
  private startFlow(t: number, underway: boolean): void {
    const o = this.opts;
    const udp = this.u() < this.udpShare;
    let v6 = this.u() < this.v6Share;
    const base = udp ? 2 : 0;
    if (this.svcLists[base + (v6 ? 1 : 0)].length === 0) v6 = !v6;
    const list = this.svcLists[base + (v6 ? 1 : 0)];
    const svc = this.services[list[Math.min(list.length - 1, Math.floor(this.u() * list.length))]];
    const fam = v6 ? 1 : 0;
    const cs = this.clientSides[fam] as ClientSide;
    const client = this.pickClient(fam);
    (this.clientFlows[fam] as Uint32Array)[client]++;
    const ports = this.nextPort[fam] as Uint16Array;
    const cport = ports[client];
    ports[client] = cport >= 60999 ? 32768 : cport + 1;

    const f = this.alloc();
    const rtt = this.logUniform(o.rttMs.min, o.rttMs.max) * 1000;
    this.fFlags[f] = (underway ? FL_UNDERWAY : 0) | (udp ? FL_UDP : 0);
    this.fSvc[f] = svc.index;
    this.fCLink[f] = cs.link;
    this.fClient[f] = client;
    this.fCport[f] = cport;
    this.fRport[f] = 0;
    this.fNReq[f] = this.intIn(o.requests.min, o.requests.max);
    this.fReq[f] = 0;
    const r = this.u();
    this.fEnding[f] =
      r < o.rstShare ? END_RST : this.u() < o.serverCloseShare ? END_SERVER_FIN : END_CLIENT_FIN;
    this.fRtt[f] = rtt;
    this.fSrv[f] = this.logUniform(150, 2000);
    this.fGapS[f] = Math.min(this.logUniform(12, 500), rtt / 2);
    this.fGapC[f] = Math.min(this.logUniform(12, 2000), rtt / 2);
    this.fCisn[f] = this.rng.next32();
    this.fSisn[f] = this.rng.next32();
    this.fIpIdC[f] = this.rng.next32() & 0xffff;
    this.fIpIdS[f] = this.rng.next32() & 0xffff;
    this.fLabel[f] = this.rng.next32() & 0xfffff;
    this.fMss[f] = v6 ? 1440 : 1460;
    this.fReqBase[f] = 0;
    this.fRespBase[f] = 0;
    this.fReqLen[f] = 0;
    this.fRespLen[f] = 0;
    this.fDup[f] = -1;
    this.fReqRetx[f] = 0;
    this.fCPhase[f] = udp ? C_UDP : C_SYN;
    this.fCIdx[f] = 0;
    this.fSPhase[f] = udp ? S_UDP : S_SYNACK;
    this.fSIdx[f] = 0;

    const st = this.stats;
    st.total++;
    if (udp) st.udp++;
    else st.tcp++;
    if (v6) st.ipv6++;
    else st.ipv4++;
    if (underway) st.underway++;

    // client template: client MAC -> director, client -> VIP
    svc.vip.writeWords(this.vipWords, 0);
    this.tpl.set(
      2 * f,
      svc.af,
      svc.proto,
      cs.linkMac,
      cs.macs[client],
      cs.words,
      4 * client,
      this.vipWords,
      0,
      cport,
      svc.vport,
      cs.ttl[client],
      this.fLabel[f],
      o.small ? CLIENT_SYN_WIN : CLIENT_WIN,
      CLIENT_SYN_WIN,
    );
    if (svc.nat) {
      this.fFlags[f] |= FL_LEARN;
      if (underway) {
        // no connection in the director (unless its first frame in the capture makes one, as a UDP
        // datagram does): replies from a real server picked by hashing the flow
        const nat = svc.svc.dests.filter((d) => d.fwd === Fwd.MASQ);
        if (nat.length)
          this.bindServer(f, nat[(client * 31 + cport) % nat.length], nat[0].port || svc.vport, false);
      }
    }
    this.heap.push(t, 2 * f);
  }

  /** Binds flow f's replies to real server `dest` (port `rport`): fills the server template. */
  private bindServer(f: number, dest: Dest, rport: number, learned: boolean): void {
    const end = this.topology.serverEnd(dest);
    if (!end) return;
    const svc = this.services[this.fSvc[f]];
    const cs = this.clientSides[svc.af === 6 ? 1 : 0] as ClientSide;
    dest.addr.writeWords(this.fRip, 4 * f);
    this.fRport[f] = rport;
    this.fSLink[f] = end.link;
    this.fSLinkMac[f] = end.linkMac;
    this.fSMac[f] = end.mac;
    if (learned) this.perDest.set(dest, (this.perDest.get(dest) ?? 0) + 1);
    if (!(this.fFlags[f] & FL_SERVER)) this.stats.nat++;
    this.fFlags[f] |= FL_SERVER;
    const o = this.opts;
    this.tpl.set(
      2 * f + 1,
      svc.af,
      svc.proto,
      end.linkMac,
      end.mac,
      this.fRip,
      4 * f,
      cs.words,
      4 * this.fClient[f],
      rport,
      this.fCport[f],
      64,
      (Math.imul(this.fLabel[f], 31) + 7) & 0xfffff,
      o.small ? SERVER_SYN_WIN : SERVER_WIN,
      SERVER_SYN_WIN,
    );
  }

  /** After the flow's first frame went through the shadow director: which real server did it pick? */
  private learnServer(f: number): boolean {
    const d = this.director;
    const svc = this.services[this.fSvc[f]];
    const cs = this.clientSides[svc.af === 6 ? 1 : 0] as ClientSide;
    const ci = 4 * this.fClient[f];
    const w = this.cliWords;
    w[0] = cs.words[ci];
    w[1] = cs.words[ci + 1];
    w[2] = cs.words[ci + 2];
    w[3] = cs.words[ci + 3];
    svc.vip.writeWords(this.vipWords, 0);
    const id = d.conns.lookupIn(svc.af, svc.proto, w, this.fCport[f], this.vipWords, svc.vport);
    if (id < 0) return false;
    const destId = d.conns.destId[id];
    const dest = destId >= 0 ? d.ipvs.destById[destId] : undefined;
    if (dest && dest.fwd === Fwd.MASQ) this.bindServer(f, dest, d.conns.dportOf(id), true);
    return true;
  }

  /** The flow's first client frame was written and fed to the shadow: learn its real server. */
  private learn(f: number): void {
    this.fFlags[f] &= ~FL_LEARN;
    if (!this.learnServer(f) && (this.fFlags[f] & FL_UNDERWAY) === 0) this.fFlags[f] |= FL_REFUSED;
  }

  private pushServer(f: number, t: number): void {
    if ((this.fFlags[f] & FL_SERVER) === 0) return;
    this.fFlags[f] |= FL_QUEUED;
    this.heap.push(t, 2 * f + 1);
  }

  /** Draws request r's sizes and timing (the client is about to send its first segment at t). */
  private beginRequest(f: number, t: number): void {
    const o = this.opts;
    const mss = this.fMss[f];
    const small = o.small;
    const reqLen = this.sizeIn(o.requestSize.min, o.requestSize.max, small ? 6 : 1 << 30);
    const respLen = this.sizeIn(o.responseSize.min, o.responseSize.max, small ? 6 : 1 << 30);
    const m = Math.ceil(reqLen / mss);
    const n = Math.ceil(respLen / mss);
    const gapC = this.fGapC[f];
    const lastSeg = t + (m - 1) * gapC;
    const retx = this.u() < o.retransShare;
    const rto = Math.max(RTO_MIN_US, 3 * this.fRtt[f]);
    const done = retx ? lastSeg + rto : lastSeg;
    const dup = this.u() < o.retransShare ? Math.min(n - 1, Math.floor(this.u() * n)) : -1;
    const respStart = done + this.fSrv[f];
    this.fReqLen[f] = reqLen;
    this.fRespLen[f] = respLen;
    this.fReqSegs[f] = m;
    this.fRespSegs[f] = n;
    this.fReqRetx[f] = retx ? 1 : 0;
    this.fDup[f] = dup;
    this.fReqStart[f] = t;
    this.fReqDone[f] = done;
    this.fRespStart[f] = respStart;
    const slots = n + (dup >= 0 ? 1 : 0);
    this.fSFin[f] = respStart + slots * this.fGapS[f];
    if (m >= 3) {
      this.fSPhase[f] = S_REQ_ACK;
      this.fSIdx[f] = 1;
      this.pushServer(f, t + gapC + this.fSrv[f]);
    } else {
      this.fSPhase[f] = S_RESP;
      this.fSIdx[f] = 0;
      this.pushServer(f, respStart);
    }
  }

  /** Time at the director of response segment j (one extra slot after a duplicated segment). */
  private segTime(f: number, j: number): number {
    const dup = this.fDup[f];
    return this.fRespStart[f] + (j + (dup >= 0 && j > dup ? 1 : 0)) * this.fGapS[f];
  }

  private think(): number {
    return -Math.log(1 - this.u()) * this.opts.thinkMs * 1000;
  }

  /** Emits the client stream's frame due at t; returns the time of its next frame, or END when it has ended. */
  private stepClient(f: number, t: number): number {
    const cisn = this.fCisn[f];
    const sisn = this.fSisn[f];
    const mss = this.fMss[f];
    switch (this.fCPhase[f]) {
      case C_SYN: {
        this.tcp(f, 0, t, F.SYN, cisn, 0, true, KIND_NONE, 0, 0);
        if ((this.fFlags[f] & FL_REFUSED) !== 0) {
          this.stats.refused++;
          return END;
        }
        this.pushServer(f, t + this.fSrv[f]);
        this.fCPhase[f] = C_HS_ACK;
        return t + this.fSrv[f] + this.fRtt[f];
      }
      case C_HS_ACK:
        this.tcp(f, 0, t, F.ACK, cisn + 1, sisn + 1, false, KIND_NONE, 0, 0);
        this.fCPhase[f] = C_REQ;
        this.fCIdx[f] = 0;
        return t + this.fGapC[f];
      case C_REQ: {
        const k = this.fCIdx[f];
        if (k === 0) this.beginRequest(f, t);
        const reqLen = this.fReqLen[f];
        const len = Math.min(mss, reqLen - k * mss);
        const last = k === this.fReqSegs[f] - 1;
        this.tcp(
          f,
          0,
          t,
          last ? F.ACK | F.PSH : F.ACK,
          cisn + 1 + this.fReqBase[f] + k * mss,
          sisn + 1 + this.fRespBase[f],
          false,
          KIND_REQ,
          k * mss,
          len,
        );
        if (!last) {
          this.fCIdx[f] = k + 1;
          return t + this.fGapC[f];
        }
        if (this.fReqRetx[f]) {
          this.fCPhase[f] = C_REQ_RETX;
          return this.fReqDone[f];
        }
        return this.toAcks(f);
      }
      case C_REQ_RETX: {
        const k = this.fReqSegs[f] - 1;
        const len = this.fReqLen[f] - k * mss;
        this.tcp(
          f,
          0,
          t,
          F.ACK | F.PSH,
          cisn + 1 + this.fReqBase[f] + k * mss,
          sisn + 1 + this.fRespBase[f],
          false,
          KIND_REQ,
          k * mss,
          len,
        );
        return this.toAcks(f);
      }
      case C_ACK: {
        const j = this.fCIdx[f];
        const n = this.fRespSegs[f];
        const respLen = this.fRespLen[f];
        const reqEnd = this.fReqBase[f] + this.fReqLen[f];
        this.tcp(
          f,
          0,
          t,
          F.ACK,
          cisn + 1 + reqEnd,
          sisn + 1 + this.fRespBase[f] + Math.min(respLen, (j + 1) * mss),
          false,
          KIND_NONE,
          0,
          0,
        );
        if (j < n - 1) {
          const nj = Math.min(j + 2, n - 1);
          this.fCIdx[f] = nj;
          return this.segTime(f, nj) + this.fRtt[f];
        }
        // the response is complete
        this.fReqBase[f] = reqEnd;
        this.fRespBase[f] += respLen;
        const r = ++this.fReq[f];
        if (r < this.fNReq[f]) {
          this.fCPhase[f] = C_REQ;
          this.fCIdx[f] = 0;
          return t + this.think();
        }
        const end = this.fEnding[f];
        if (end === END_SERVER_FIN) {
          this.fCPhase[f] = C_FIN2;
          return this.fSFin[f] + this.fRtt[f];
        }
        this.fCPhase[f] = end === END_RST ? C_RST : C_FIN;
        return t + this.think();
      }
      case C_FIN:
        this.tcp(
          f,
          0,
          t,
          F.FIN | F.ACK,
          cisn + 1 + this.fReqBase[f],
          sisn + 1 + this.fRespBase[f],
          false,
          KIND_NONE,
          0,
          0,
        );
        this.fSPhase[f] = S_FIN;
        this.pushServer(f, t + this.fSrv[f]);
        this.fCPhase[f] = C_LAST_ACK;
        return t + this.fSrv[f] + this.fRtt[f];
      case C_LAST_ACK:
        this.tcp(
          f,
          0,
          t,
          F.ACK,
          cisn + 2 + this.fReqBase[f],
          sisn + 2 + this.fRespBase[f],
          false,
          KIND_NONE,
          0,
          0,
        );
        return END;
      case C_FIN2:
        this.tcp(
          f,
          0,
          t,
          F.FIN | F.ACK,
          cisn + 1 + this.fReqBase[f],
          sisn + 2 + this.fRespBase[f],
          false,
          KIND_NONE,
          0,
          0,
        );
        this.fSPhase[f] = S_LAST_ACK;
        this.pushServer(f, t + this.fSrv[f]);
        return END;
      case C_RST:
        this.tcp(
          f,
          0,
          t,
          F.RST | F.ACK,
          cisn + 1 + this.fReqBase[f],
          sisn + 1 + this.fRespBase[f],
          false,
          KIND_NONE,
          0,
          0,
        );
        return END;
      case C_UDP: {
        const o = this.opts;
        const max = this.services[this.fSvc[f]].af === 6 ? 1452 : 1472;
        const reqLen = this.sizeIn(o.requestSize.min, o.requestSize.max, o.small ? 18 : max);
        this.fRespLen[f] = this.sizeIn(o.responseSize.min, o.responseSize.max, o.small ? 18 : max);
        this.fReqLen[f] = reqLen;
        this.udp(f, 0, t, reqLen);
        if ((this.fFlags[f] & FL_REFUSED) !== 0) {
          this.stats.refused++;
          return END;
        }
        this.pushServer(f, t + this.fSrv[f]);
        const r = ++this.fReq[f];
        if (r >= this.fNReq[f]) return END;
        return t + this.fSrv[f] + this.fRtt[f] + this.think();
      }
    }
    return END;
  }

  /** After the request is out: the client's first acknowledgment of the response. */
  private toAcks(f: number): number {
    const j = this.fRespSegs[f] === 1 ? 0 : 1;
    this.fCPhase[f] = C_ACK;
    this.fCIdx[f] = j;
    return this.segTime(f, j) + this.fRtt[f];
  }

  /** Emits the server stream's frame due at t; returns the time of its next frame, or END to park it. */
  private stepServer(f: number, t: number): number {
    const cisn = this.fCisn[f];
    const sisn = this.fSisn[f];
    const mss = this.fMss[f];
    switch (this.fSPhase[f]) {
      case S_SYNACK:
        this.tcp(f, 1, t, F.SYN | F.ACK, sisn, cisn + 1, true, KIND_NONE, 0, 0);
        return END;
      case S_REQ_ACK: {
        const k = this.fSIdx[f];
        const m = this.fReqSegs[f];
        this.tcp(
          f,
          1,
          t,
          F.ACK,
          sisn + 1 + this.fRespBase[f],
          cisn + 1 + this.fReqBase[f] + Math.min(this.fReqLen[f], (k + 1) * mss),
          false,
          KIND_NONE,
          0,
          0,
        );
        if (k + 2 <= m - 2) {
          this.fSIdx[f] = k + 2;
          return this.fReqStart[f] + (k + 2) * this.fGapC[f] + this.fSrv[f];
        }
        this.fSPhase[f] = S_RESP;
        this.fSIdx[f] = 0;
        return this.fRespStart[f];
      }
      case S_RESP: {
        const s = this.fSIdx[f];
        const dup = this.fDup[f];
        const n = this.fRespSegs[f];
        const seg = dup >= 0 && s > dup ? s - 1 : s;
        const respLen = this.fRespLen[f];
        const len = Math.min(mss, respLen - seg * mss);
        this.tcp(
          f,
          1,
          t,
          seg === n - 1 ? F.ACK | F.PSH : F.ACK,
          sisn + 1 + this.fRespBase[f] + seg * mss,
          cisn + 1 + this.fReqBase[f] + this.fReqLen[f],
          false,
          KIND_RESP,
          seg * mss,
          len,
        );
        const slots = n + (dup >= 0 ? 1 : 0);
        if (s + 1 < slots) {
          this.fSIdx[f] = s + 1;
          return this.fRespStart[f] + (s + 1) * this.fGapS[f];
        }
        if (this.fEnding[f] === END_SERVER_FIN && this.fReq[f] === this.fNReq[f] - 1) {
          this.fSPhase[f] = S_FIN;
          return this.fSFin[f];
        }
        return END;
      }
      case S_FIN:
        if (this.fEnding[f] === END_SERVER_FIN) {
          // closes first, right after its last segment (the client has not acknowledged it yet)
          this.tcp(
            f,
            1,
            t,
            F.FIN | F.ACK,
            sisn + 1 + this.fRespBase[f] + this.fRespLen[f],
            cisn + 1 + this.fReqBase[f] + this.fReqLen[f],
            false,
            KIND_NONE,
            0,
            0,
          );
        } else {
          this.tcp(
            f,
            1,
            t,
            F.FIN | F.ACK,
            sisn + 1 + this.fRespBase[f],
            cisn + 2 + this.fReqBase[f],
            false,
            KIND_NONE,
            0,
            0,
          );
        }
        return END;
      case S_LAST_ACK:
        this.tcp(
          f,
          1,
          t,
          F.ACK,
          sisn + 2 + this.fRespBase[f],
          cisn + 2 + this.fReqBase[f],
          false,
          KIND_NONE,
          0,
          0,
        );
        return END;
      case S_UDP:
        this.udp(f, 1, t, this.fRespLen[f]);
        return END;
    }
    return END;
  }

  // -------------------------------------------------------------- frames

  /** Timestamp (µs) of a frame due at t: t rounded up, and at least 1 µs after the previous frame's. */
  private stamp(t: number): number {
    let us = Math.ceil(t);
    if (us <= this.lastUs) us = this.lastUs + 1;
    this.lastUs = us;
    return us;
  }

  /**
   * Writes a TCP segment of flow f in direction dir (0 client→VIP, 1
   * server→client) due at t. Returns false when it is not written (before
   * the capture starts, or past the frame cap).
   */
  private tcp(
    f: number,
    dir: number,
    t: number,
    flags: number,
    seq: number,
    ack: number,
    syn: boolean,
    kind: number,
    off: number,
    len: number,
  ): boolean {
    if (t < 0 || this.stopped) return false;
    const opt = syn && !this.small;
    const pat = kind === KIND_RESP ? this.resp : this.req;
    const a = len > 0 ? pat.at(off) : 0;
    const paySum = len > 0 ? pat.sum(a, len) : 0;
    const tid = 2 * f + dir;
    let ipId: number;
    if (dir === 0) {
      ipId = this.fIpIdC[f];
      this.fIpIdC[f] = (ipId + 1) & 0xffff;
    } else {
      ipId = this.fIpIdS[f];
      this.fIpIdS[f] = (ipId + 1) & 0xffff;
    }
    const link = dir === 0 ? this.fCLink[f] : this.fSLink[f];
    if (this.naive)
      this.naiveFrame(f, dir, t, link, flags, seq >>> 0, ack >>> 0, ipId, opt, pat.base + a, len);
    else {
      const hl = this.tpl.tcp(tid, flags, seq >>> 0, ack >>> 0, ipId, opt, len, paySum);
      this.put(tid, t, link, hl, pat.base + a, len);
    }
    if (dir === 0 && (this.fFlags[f] & FL_LEARN) !== 0) this.learn(f);
    return true;
  }

  private udp(f: number, dir: number, t: number, len: number): boolean {
    if (t < 0 || this.stopped) return false;
    const pat = dir === 0 ? this.req : this.resp;
    const a = pat.at(0);
    const tid = 2 * f + dir;
    let ipId: number;
    if (dir === 0) {
      ipId = this.fIpIdC[f];
      this.fIpIdC[f] = (ipId + 1) & 0xffff;
    } else {
      ipId = this.fIpIdS[f];
      this.fIpIdS[f] = (ipId + 1) & 0xffff;
    }
    const link = dir === 0 ? this.fCLink[f] : this.fSLink[f];
    if (this.naive) this.naiveFrame(f, dir, t, link, -1, 0, 0, ipId, false, pat.base + a, len);
    else {
      const hl = this.tpl.udp(tid, ipId, len, pat.sum(a, len));
      this.put(tid, t, link, hl, pat.base + a, len);
    }
    if (dir === 0 && (this.fFlags[f] & FL_LEARN) !== 0) this.learn(f);
    return true;
  }

  /** Writes template tid (hl header bytes) + payload arena[pay, pay + len) on `link`, then feeds the shadow. */
  private put(tid: number, t: number, link: number, hl: number, pay: number, len: number): void {
    const us = this.stamp(t);
    const sec = this.opts.startEpoch + Math.floor(us / 1e6);
    const nsec = (us % 1e6) * 1000;
    const tb = this.tpl.bytes;
    const to = tid * TEMPLATE_SIZE;
    const w = this.single ?? (this.writers[link] as CaptureWriter);
    const iface = this.single ? link : 0;
    let flen = hl + len;
    const padded = flen < MIN_FRAME;
    if (padded) {
      // short frame: payload and zero padding after the headers, one piece
      const arena = this.arena;
      for (let i = 0; i < len; i++) tb[to + hl + i] = arena[pay + i];
      for (let i = hl + len; i < MIN_FRAME; i++) tb[to + i] = 0;
      flen = MIN_FRAME;
      w.write(iface, tb, to, flen, flen, sec, nsec);
    } else {
      w.writeParts(iface, tb, to, hl, this.arena, pay, len, flen, sec, nsec);
    }
    this.counted(link, flen);
    if (this.shadowOn) {
      const arena = this.arena;
      const so = this.shadowOff;
      if (padded) for (let i = 0; i < flen; i++) arena[so + i] = tb[to + i];
      else {
        for (let i = 0; i < hl; i++) arena[so + i] = tb[to + i];
        arena.copyWithin(so + hl, pay, pay + len);
      }
      this.feedShadow(link, so, flen, sec, nsec);
    }
  }

  private counted(link: number, flen: number): void {
    this.framesPerLink[link]++;
    this.bytes += flen;
    if (++this.frames === this.opts.maxFrames) this.stopped = true;
  }

  /** What the replay does with the frame: timed set-up commands, simulated time, receive. */
  private feedShadow(link: number, off: number, len: number, sec: number, nsec: number): void {
    if (this.firstSec < 0) {
      this.firstSec = sec;
      this.firstNsec = nsec;
    }
    const nowMs = (sec - this.firstSec) * 1000 + (nsec - this.firstNsec) / 1e6;
    const d = this.director;
    // as Replay.run: due timers first, then timed commands (compared in whole microseconds)
    d.advance(nowMs);
    const timed = this.timedCmds;
    if (this.timedNext < timed.length) {
      const upToUs = Math.round(nowMs * 1000);
      while (
        this.timedNext < timed.length &&
        Math.round((timed[this.timedNext].atSeconds as number) * 1e6) <= upToUs
      ) {
        applySetupCommand(timed[this.timedNext++], d);
        d.configChanged();
      }
    }
    d.receive(link, this.arena, off, len, len);
  }

  /** The baseline: the same frame built with Repr objects and buildFrame (flags -1: UDP). */
  private naiveFrame(
    f: number,
    dir: number,
    t: number,
    link: number,
    flags: number,
    seq: number,
    ack: number,
    ipId: number,
    synOpts: boolean,
    pay: number,
    len: number,
  ): void {
    const svc = this.services[this.fSvc[f]];
    const fam = svc.af === 6 ? 1 : 0;
    const cs = this.clientSides[fam] as ClientSide;
    const c = this.fClient[f];
    const client = IpAddr.fromWords(svc.af, cs.words, 4 * c);
    const rip = IpAddr.fromWords(svc.af, this.fRip, 4 * f);
    const o = this.opts;
    const eth = new EthernetRepr({
      dst: dir === 0 ? cs.linkMac : this.fSLinkMac[f],
      src: dir === 0 ? cs.macs[c] : this.fSMac[f],
    });
    const src = dir === 0 ? client : rip;
    const dst = dir === 0 ? svc.vip : client;
    const ttl = dir === 0 ? cs.ttl[c] : 64;
    const label = dir === 0 ? this.fLabel[f] : (Math.imul(this.fLabel[f], 31) + 7) & 0xfffff;
    const ip: LayerRepr =
      svc.af === 4
        ? new Ipv4Repr({ src, dst, id: ipId, df: true, ttl })
        : new Ipv6Repr({ src, dst, hopLimit: ttl, flowLabel: label });
    const sport = dir === 0 ? this.fCport[f] : this.fRport[f];
    const dport = dir === 0 ? svc.vport : this.fCport[f];
    let l4: LayerRepr;
    if (flags < 0) l4 = new UdpRepr({ sport, dport });
    else {
      const syn = (flags & F.SYN) !== 0;
      const win =
        syn || o.small ? (dir === 0 ? CLIENT_SYN_WIN : SERVER_SYN_WIN) : dir === 0 ? CLIENT_WIN : SERVER_WIN;
      const mss = svc.af === 4 ? 1460 : 1440;
      const options = synOpts
        ? Uint8Array.of(2, 4, mss >>> 8, mss & 255, 1, 1, 4, 2, 1, 3, 3, 7)
        : new Uint8Array(0);
      l4 = new TcpRepr({ sport, dport, seq, ack, flags, window: win, options });
    }
    const frame = buildFrame([eth, ip, l4], this.arena.slice(pay, pay + len));
    const us = this.stamp(t);
    const sec = o.startEpoch + Math.floor(us / 1e6);
    const nsec = (us % 1e6) * 1000;
    const w = this.single ?? (this.writers[link] as CaptureWriter);
    w.write(this.single ? link : 0, frame, 0, frame.length, frame.length, sec, nsec);
    this.counted(link, frame.length);
    if (this.shadowOn) {
      this.arena.set(frame, this.shadowOff);
      this.feedShadow(link, this.shadowOff, frame.length, sec, nsec);
    }
  }

  // -------------------------------------------------------------- the run

  /** Generates every frame, closes the outputs and returns the summary. */
  run(): GenSummary {
    try {
      this.loop();
    } finally {
      this.close();
    }
    return this.summary();
  }

  private loop(): void {
    const o = this.opts;
    const underway = Math.round(o.flows * o.underwayShare);
    const dur = o.duration * 1e6;
    // flows already under way: started within a couple of round trips before time 0
    for (let i = 0; i < underway; i++) {
      const span = 2 * (o.rttMs.max * 1000 + 2000);
      this.startFlow(-1 - this.u() * span, true);
    }
    this.arrivalsLeft = o.flows - underway;
    this.lastArrival = 0;
    this.drawArrival(dur);
    const heap = this.heap;
    while (!this.stopped) {
      const top = heap.topTime();
      if (this.arrivalsLeft > 0 && this.nextArrival <= top) {
        this.arrivalsLeft--;
        this.startFlow(this.nextArrival, false);
        this.drawArrival(dur);
        continue;
      }
      if (heap.size === 0) break;
      const id = heap.topId();
      const f = id >> 1;
      if ((id & 1) === 0) {
        const next = this.stepClient(f, top);
        if (next !== END) heap.replaceTop(next);
        else {
          heap.pop();
          this.fFlags[f] |= FL_DONE;
          if ((this.fFlags[f] & FL_QUEUED) === 0) this.free(f);
        }
      } else {
        const next = this.stepServer(f, top);
        if (next !== END) heap.replaceTop(next);
        else {
          heap.pop();
          this.fFlags[f] &= ~FL_QUEUED;
          if ((this.fFlags[f] & FL_DONE) !== 0) this.free(f);
        }
      }
    }
  }

  /** Next arrival time: the order statistics of `arrivalsLeft` uniform times in [lastArrival, dur). */
  private drawArrival(dur: number): void {
    if (this.arrivalsLeft <= 0) {
      this.nextArrival = Infinity;
      return;
    }
    const u = 1 - this.u(); // (0, 1]
    const t = this.lastArrival + (dur - this.lastArrival) * (1 - Math.pow(u, 1 / this.arrivalsLeft));
    this.lastArrival = t;
    this.nextArrival = t;
  }

  private closed = false;

  /** Flushes and closes the outputs (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    let err: unknown = null;
    for (const w of [this.single, ...this.writers]) {
      try {
        w?.close();
      } catch (e) {
        err ??= e;
      }
    }
    if (err) throw err;
  }

  summary(): GenSummary {
    const perIf: Record<string, number> = {};
    this.linkNames.forEach((n, i) => (perIf[n] = this.framesPerLink[i]));
    const perRs: Record<string, number> = {};
    for (const [d, n] of this.perDest) {
      const k = d.af === 6 ? `[${d.addr}]:${d.port}` : `${d.addr}:${d.port}`;
      perRs[k] = (perRs[k] ?? 0) + n;
    }
    const clients: GenSummary['clients'] = {};
    for (let i = 0; i < 2; i++) {
      const cs = this.clientSides[i];
      const counts = this.clientFlows[i];
      if (!cs || !counts) continue;
      let total = 0;
      let top = 0;
      for (let c = 0; c < counts.length; c++) {
        total += counts[c];
        if (counts[c] > top) top = counts[c];
      }
      clients[`ipv${cs.af}`] = {
        origin: cs.origin,
        count: cs.count,
        topShare: total ? top / total : 0,
        interface: this.linkNames[cs.link],
      };
    }
    const s = this.stats;
    return {
      frames: this.frames,
      bytes: this.bytes,
      framesPerInterface: perIf,
      flows: { ...s, open: this.used - this.freeTop },
      perRealServer: perRs,
      clients,
      simulatedSeconds: Math.max(0, this.lastUs) / 1e6,
      outputs: this.outputs,
      warnings: this.topology.warnings.slice(),
    };
  }

  /** Flows per client of family `af` (for tests and reports). */
  flowsPerClient(af: Af): Uint32Array | null {
    return this.clientFlows[af === 6 ? 1 : 0];
  }
}

/** Generates a capture as described by `cfg` and returns the summary. */
export function generate(cfg: GenConfig): GenSummary {
  return new Generator(cfg).run();
}
