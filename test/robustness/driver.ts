/**
 * Drives a Director directly (no files) for the robustness tests: frames in,
 * every frame's fate and the frames it caused out, and the "every frame
 * accounted for" invariant checked after each run.
 */
import { Director } from '../../src/ipvs/director.js';
import type { FrameSink } from '../../src/ipvs/env.js';
import { Fate } from '../../src/ipvs/verdict.js';
import { applySetupCommand, parseSetup, type SetupScript } from '../../src/control/setup.js';
import { PacketInfo, parseFrame } from '../../src/wire/parse.js';
import { fold, sum16 } from '../../src/wire/checksum.js';
import { DR_SETUP } from './setups.js';

/** One output frame (a copy) and the input it belongs to. */
export interface OutFrame {
  link: number;
  bytes: Uint8Array;
  origLen: number;
  input: number;
}

/** Collects copies of what the director sends. */
export class CollectSink implements FrameSink {
  frames: OutFrame[] = [];
  input = -1;
  keep = true;
  count = 0;
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
    this.count++;
    if (!this.keep) return;
    const b = new Uint8Array(hdrLen + bodyLen);
    b.set(hdr.subarray(hdrOff, hdrOff + hdrLen), 0);
    b.set(body.subarray(bodyOff, bodyOff + bodyLen), hdrLen);
    this.frames.push({ link, bytes: b, origLen, input: this.input });
  }
}

const parsed = new Map<string, SetupScript>();

/** A director configured by a set-up text (every line applied, as the replay does; the parse is cached). */
export function makeDirector(setupText: string, opts: { seed?: number; maxConns?: number } = {}): Director {
  let script = parsed.get(setupText);
  if (!script) {
    script = parseSetup(setupText, { file: 'setup', lenient: false });
    parsed.set(setupText, script);
  }
  const d = new Director({ seed: opts.seed ?? 1, maxConns: opts.maxConns ?? 0 });
  for (const c of script.commands) applySetupCommand(c, d);
  d.configChanged();
  return d;
}

export interface InFrame {
  bytes: Uint8Array;
  /** Captured length (default: bytes.length). */
  capLen?: number;
  /** Length on the wire (default: capLen). */
  origLen?: number;
  /** Arrival link (default 0, the client side). */
  link?: number;
  /** Simulated time, ms (default: 1 ms per frame). */
  ms?: number;
}

export interface FrameResult {
  fate: number;
  reason: number;
}

/**
 * Feeds frames to a director (each one copied first: the director may rewrite
 * its input in place) and returns each frame's fate. The director's sink must
 * be a CollectSink to see the outputs.
 */
export function feed(d: Director, frames: readonly InFrame[], sink: CollectSink | null): FrameResult[] {
  const res: FrameResult[] = [];
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i];
    const capLen = Math.min(f.capLen ?? f.bytes.length, f.bytes.length);
    const origLen = f.origLen ?? capLen;
    // the frame in a larger buffer, at an odd offset, so that no code can assume offset 0 or a tight end
    const buf = new Uint8Array(capLen + 64);
    buf.set(f.bytes.subarray(0, capLen), 17);
    d.advance(f.ms ?? i);
    if (sink) sink.input = i;
    d.receive(f.link ?? 0, buf, 17, capLen, origLen);
    res.push({ fate: d.env.fate, reason: d.env.reason });
  }
  return res;
}

/** The fates (frames per fate) of a director, as numbers. */
export function fateTotals(d: Director): { sum: number; held: number; framesIn: number } {
  const f = d.env.fates;
  let sum = 0;
  for (let i = 0; i < f.fates.length; i++) sum += f.fates[i];
  return { sum, held: f.fates[Fate.HELD], framesIn: f.framesIn };
}

/**
 * "Every frame accounted for": the fates sum to the frames received, no fate
 * counter is negative or fractional, and the per-reason counters of each fate
 * sum to that fate. Returns a description of the first violation, or ''.
 */
export function accountingProblem(d: Director): string {
  const f = d.env.fates;
  const t = fateTotals(d);
  if (t.sum !== t.framesIn) return `fates sum to ${t.sum}, ${t.framesIn} frames received`;
  const nReasons = f.byReason.length / f.fates.length;
  for (let fate = 0; fate < f.fates.length; fate++) {
    const n = f.fates[fate];
    if (n < 0 || !Number.isInteger(n)) return `fate ${fate} counts ${n}`;
    let s = 0;
    for (let r = 0; r < nReasons; r++) {
      const k = f.byReason[fate * nReasons + r];
      if (k < 0) return `fate ${fate} reason ${r} counts ${k}`;
      s += k;
    }
    if (s !== n) return `fate ${fate}: reasons sum to ${s}, fate counts ${n}`;
  }
  return '';
}

/**
 * Runs a frame sequence and returns '' or what went wrong: an exception, a
 * frame without a fate, broken accounting.
 */
export function checkSequence(text: string, frames: readonly InFrame[], sink = new CollectSink()): string {
  const d = makeDirector(text);
  d.env.sink = sink;
  let res;
  try {
    res = feed(d, frames, sink);
  } catch (e) {
    return `exception: ${(e as Error).stack ?? e}`;
  }
  for (let i = 0; i < res.length; i++) {
    const f = res[i].fate;
    if (!(f >= Fate.FORWARDED && f <= Fate.HELD)) return `frame ${i} has no fate (${f})`;
  }
  return accountingProblem(d);
}

const drInfo = new PacketInfo();

/**
 * The DR property: every frame a DR director forwards (one output for one
 * input; reassembled and re-fragmented datagrams excepted) is its input's IP
 * packet (Ethernet padding dropped, a priority tag removed) with new MACs,
 * the TTL / hop limit one less and the IPv4 header checksum recomputed — and
 * nothing else changed. The IPv4 option bytes are not compared: the kernel
 * rewrites them on receipt (__ip_options_compile: bytes after an
 * end-of-options are zeroed, a record-route or timestamp option gets the
 * director's entry), which the host stack mirrors on the forwarding path
 * (regressions/frames-d238f0d30b67.json). Returns '' or the first problem.
 */
export function drRewriteProblem(frames: readonly InFrame[]): string {
  const sink = new CollectSink();
  const d = makeDirector(DR_SETUP);
  d.env.sink = sink;
  const inputs = frames.map((f) => f.bytes.slice(0, f.capLen ?? f.bytes.length));
  let res;
  try {
    res = feed(d, frames, sink);
  } catch (e) {
    return `exception: ${(e as Error).stack ?? e}`;
  }
  const p = accountingProblem(d);
  if (p) return p;
  const info = drInfo;
  for (let i = 0; i < frames.length; i++) {
    if (res[i].fate !== Fate.FORWARDED) continue;
    const outs = sink.frames.filter((o) => o.input === i);
    const input = inputs[i];
    const capLen = input.length;
    const origLen = frames[i].origLen ?? capLen;
    if (parseFrame(input, 0, capLen, origLen, info) !== 0) return `frame ${i}: forwarded but malformed`;
    // reassembled or re-fragmented datagrams are other frames than their input
    if (info.isFragment || outs.length !== 1) continue;
    const o = outs[0].bytes;
    const l3 = info.l3Off;
    const want = Math.min(info.ipTotalLen, capLen - l3);
    if (o.length !== 14 + want) return `frame ${i}: output ${o.length} bytes, expected 14 + ${want}`;
    if (o[12] !== input[l3 - 2] || o[13] !== input[l3 - 1]) return `frame ${i}: EtherType changed`;
    const v4 = info.af === 4;
    const ttlAt = v4 ? 8 : 7;
    for (let k = 0; k < want; k++) {
      if (k === ttlAt || (v4 && (k === 10 || k === 11 || (k >= 20 && k < info.ipHdrLen)))) continue;
      if (o[14 + k] !== input[l3 + k]) return `frame ${i}: byte ${k} of the IP packet changed`;
    }
    if (o[14 + ttlAt] !== input[l3 + ttlAt] - 1) return `frame ${i}: TTL not decremented by one`;
    if (v4 && fold(sum16(o, 14, info.ipHdrLen, 0)) !== 0xffff) return `frame ${i}: bad IPv4 checksum`;
  }
  return '';
}
