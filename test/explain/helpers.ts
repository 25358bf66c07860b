/**
 * Helpers for the explain and lab tests: the oracle scenarios' captures as
 * frame lists, an explain run collecting its events, and output capture.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCapture } from '../../src/capture/reader.js';
import { runExplain } from '../../src/explain/explain.js';
import type { ExplainEvent } from '../../src/explain/events.js';
import type { FlowSpec, FrameRange } from '../../src/explain/select.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SCENARIOS = path.join(REPO, 'test/oracle/scenarios');

/** Every frame of a capture, copied. */
export function readFrames(file: string): Uint8Array[] {
  const r = openCapture(file);
  const out: Uint8Array[] = [];
  try {
    while (r.next()) out.push(r.buf.slice(r.off, r.off + r.capLen));
  } finally {
    r.close();
  }
  return out;
}

/** Paths of a scenario's setup and input captures (in the oracle's interface order). */
export function scenario(name: string, ifaces: string[]): { setup: string; inputs: string[] } {
  const dir = path.join(SCENARIOS, name);
  return { setup: path.join(dir, 'setup'), inputs: ifaces.map((i) => path.join(dir, `${i}.pcap`)) };
}

/** Runs explain over a scenario and returns its events. */
export async function explainScenario(
  name: string,
  ifaces: string[],
  frames: FrameRange[] = [],
  flows: FlowSpec[] = [],
): Promise<ExplainEvent[]> {
  const s = scenario(name, ifaces);
  const events: ExplainEvent[] = [];
  await runExplain({
    setupText: readFileSync(s.setup, 'utf8'),
    setupFile: s.setup,
    inputs: s.inputs.map((p) => ({ path: p, iface: null })),
    frames,
    flows,
    onEvent: (e) => events.push(e),
  });
  return events;
}

/** The events of one frame. */
export function ofFrame(events: ExplainEvent[], frame: number): ExplainEvent[] {
  return events.filter((e) => e.frame === frame);
}

/** Captures what `fn` writes to process.stdout (restored afterwards). */
export async function captureStdout(fn: () => Promise<unknown>): Promise<string> {
  const orig = process.stdout.write.bind(process.stdout);
  let text = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    process.stdout.write = orig;
  }
  return text;
}

/**
 * The kernel's output frames of an oracle scenario, per input frame (0-based
 * index as in trace.tsv): the side (director interface) and the bytes.
 */
export function oracleOutputs(name: string): Map<number, { side: string; bytes: Uint8Array }[]> {
  const dir = path.join(SCENARIOS, name, 'expected');
  const perSide = new Map<string, Uint8Array[]>();
  const next = new Map<string, number>();
  const out = new Map<number, { side: string; bytes: Uint8Array }[]>();
  for (const line of readFileSync(path.join(dir, 'trace.tsv'), 'utf8').split('\n')) {
    const f = line.split('\t');
    if (f[0] !== 'out') continue;
    const idx = Number(f[1]);
    const side = f[2];
    if (!perSide.has(side)) perSide.set(side, readFrames(path.join(dir, `${side}.pcap`)));
    const k = next.get(side) ?? 0;
    next.set(side, k + 1);
    const bytes = (perSide.get(side) as Uint8Array[])[k];
    if (!out.has(idx)) out.set(idx, []);
    out.get(idx)?.push({ side, bytes });
  }
  return out;
}
