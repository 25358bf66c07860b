/**
 * The state one simulated director shares between its host stack and IPVS:
 * configuration compiled for the hot path, the simulated clock, the packet in
 * flight and its parse, the output sink, the fate of the current input frame,
 * and scratch memory. One instance per director; nothing here is allocated
 * per packet.
 */
import { PacketInfo } from '../wire/parse.js';
import { Fate, FateStats, Reason } from './verdict.js';
import { Fib, FibResult } from './fib.js';
import { Skb, SCRATCH_SIZE } from './skb.js';
import type { Sysctls } from './sysctl.js';
import type { HostStackApi, IpvsHooks } from './hooks.js';
import type { SchedTrace } from './sched/scheduler.js';
import type { Tracer } from './trace.js';
import { WIRE_REASON_NAMES } from '../wire/reasons.js';

/**
 * Where the director's output frames go. A frame is `hdr[hdrOff, hdrOff+hdrLen)`
 * followed by `body[bodyOff, bodyOff+bodyLen)` (a two-part write: the Ethernet
 * and tunnel headers are built apart from the packet, which stays where it
 * is); `origLen` is the frame's length on the wire (larger than
 * hdrLen + bodyLen when the input capture was truncated).
 */
export interface FrameSink {
  emit(
    link: number,
    hdr: Uint8Array,
    hdrOff: number,
    hdrLen: number,
    body: Uint8Array,
    bodyOff: number,
    bodyLen: number,
    origLen: number,
  ): void;
}

/** A sink that discards frames (counting them). */
export class NullSink implements FrameSink {
  frames = 0;
  emit(): void {
    this.frames++;
  }
}

/** xorshift128+ style generator on 32-bit halves: deterministic, seeded, no allocation. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    // splitmix32 to spread the seed
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next() || 1;
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** xoshiro128** : a uniformly distributed unsigned 32-bit integer. */
  next32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export class DirectorEnv {
  fib: Fib;
  readonly sysctl: Sysctls;
  /** Simulated time in milliseconds since the first input frame. */
  nowMs = 0;
  /** The time Director.advanceToInput() moves to (the current input frame's). */
  inputMs = 0;
  /**
   * The packet in flight and its parse (whoever changes its layout re-parses).
   * While the director sends a packet it generated itself (pushPacket), these
   * name that packet's objects; the input packet's stay untouched aside.
   */
  skb: Skb;
  info = new PacketInfo();
  /** Parse of a packet quoted inside an ICMP error (or a tunnel's inner packet). */
  cinfo = new PacketInfo();
  sink: FrameSink;
  readonly fates: FateStats;
  /** Fate of the current input frame (-1 while undecided) and its reason. */
  fate = -1;
  reason = 0;
  /** Outputs emitted for the current input frame (the replay stamps them input ts + k µs). */
  outCount = 0;
  /**
   * Earlier input frames (fragments held for reassembly) whose fate is decided
   * by the current one: the director moves them from `held` to its fate.
   */
  heldReleased = 0;
  /**
   * Set while Director.observe() runs a frame another worker of a sharded
   * replay owns (ARP, neighbour discovery): the neighbour table learns from
   * it, but it is not answered (the owner answers) and not counted.
   */
  observing = false;
  /** Explain mode's listener; null in a normal replay (trace points then cost a null test). */
  tracer: Tracer | null = null;
  /** The scheduler's reasoning goes here when explain mode traces the replay; null otherwise (no cost). */
  schedTrace: SchedTrace | null = null;
  /** Scratch for a packet the director builds (reassembly, fragments). */
  readonly scratch = new Uint8Array(SCRATCH_SIZE);
  /** Scratch for headers put in front of a packet (Ethernet, tunnel). */
  readonly hdr = new Uint8Array(256);
  /** Reused route lookup results. */
  readonly route = new FibResult();
  readonly route2 = new FibResult();
  readonly rng: Rng;
  stack!: HostStackApi;
  hooks!: IpvsHooks;
  /** Packets pushed aside by pushPacket (skb, info, cinfo per level). */
  private readonly savedSkb: Skb[] = [];
  private readonly savedInfo: PacketInfo[] = [];
  private readonly savedCinfo: PacketInfo[] = [];
  /** While above 0, setFate records nothing (a generated packet is in flight). */
  private fateHold = 0;

  constructor(sysctl: Sysctls, sink: FrameSink, seed: number) {
    this.sysctl = sysctl;
    this.sink = sink;
    this.fib = new Fib();
    this.skb = new Skb(this.scratch);
    this.fates = new FateStats(WIRE_REASON_NAMES.length);
    this.rng = new Rng(seed);
  }

  /**
   * Makes a packet the director generated itself (an ICMP error, a RST, a
   * reply; built by the host stack in its own Skb / PacketInfo objects) the
   * packet in flight, so that the LOCAL_OUT hooks see it, and suspends fate
   * recording: what the hooks decide about the generated packet is not the
   * input frame's fate. `popPacket()` restores the previous packet. Nests.
   */
  pushPacket(skb: Skb, info: PacketInfo, cinfo: PacketInfo): void {
    this.savedSkb.push(this.skb);
    this.savedInfo.push(this.info);
    this.savedCinfo.push(this.cinfo);
    this.skb = skb;
    this.info = info;
    this.cinfo = cinfo;
    this.fateHold++;
  }

  /** Undoes the last pushPacket(). */
  popPacket(): void {
    this.skb = this.savedSkb.pop() as Skb;
    this.info = this.savedInfo.pop() as PacketInfo;
    this.cinfo = this.savedCinfo.pop() as PacketInfo;
    this.fateHold--;
  }

  /** True while a generated packet is in flight (fates are not recorded). */
  get generating(): boolean {
    return this.fateHold > 0;
  }

  /** Records the fate of the current input frame; the first decision stands. */
  setFate(fate: number, reason: number): void {
    if (this.fate < 0 && this.fateHold === 0) {
      this.fate = fate;
      this.reason = reason;
    }
  }

  /** Frame forwarded by IPVS or the stack. */
  forwarded(): void {
    this.setFate(Fate.FORWARDED, Reason.NONE);
  }

  drop(reason: number): void {
    this.setFate(Fate.DROPPED, reason);
  }

  /** Emits one frame (see FrameSink) and counts it for the current input. */
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
    this.outCount++;
    this.sink.emit(link, hdr, hdrOff, hdrLen, body, bodyOff, bodyLen, origLen);
  }
}
