/**
 * Drives a Director directly (no files) for the robustness tests: frames in,
 * every frame's fate and the frames it caused out, and the "every frame
 * accounted for" invariant checked after each run.
 */
import { Director } from '../../src/ipvs/director.js';
import type { FrameSink } from '../../src/ipvs/env.js';
import { Fate } from '../../src/ipvs/verdict.js';
import { applySetupCommand, parseSetup, type SetupScript } from '../../src/control/setup.js';

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
