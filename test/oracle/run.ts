/**
 * Runs one oracle scenario through ipvs-sim the way the oracle ran it through
 * the kernel (every NAME.pcap is what arrives on director interface NAME) and
 * compares the outputs with the scenario's expected/ directory: every
 * interface's capture frame by frame (masking what the kernel randomises),
 * `ipvsadm -Ln` and `-Ln --stats` byte for byte, and `-Lnc` without the
 * expire column. Used by the oracle test and by scripts/fidelity.ts.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Replay } from '../../src/replay/engine.js';
import { listState } from '../../src/replay/listing.js';
import { runIpvsadmListing } from '../../src/control/ipvsadm/index.js';
import { compareFrames, connsLines, dropIgnored, readPcap, type PcapFrame } from './compare.js';

export interface ScenarioResult {
  name: string;
  /** Differences per output (`client.pcap`, `ipvs-stats.txt`, …); empty arrays when equal. */
  problems: Record<string, string[]>;
  ok: boolean;
}

const HERE = path.dirname(new URL(import.meta.url).pathname);

/**
 * The scenario sets: the shared golden cases, the project's own (extra/), and
 * the scheduler scenarios the scheduler tests also replay (test/ipvs/sched/scenarios).
 */
export const SCENARIO_SETS = [
  path.join(HERE, 'scenarios'),
  path.join(HERE, 'extra'),
  path.join(HERE, '..', 'ipvs', 'sched', 'scenarios'),
];

/** Every scenario directory (with a setup and expected/) of the vendored sets. */
export function listScenarios(): string[] {
  const out: string[] = [];
  for (const set of SCENARIO_SETS) {
    if (!existsSync(set)) continue;
    for (const n of readdirSync(set).sort()) {
      const d = path.join(set, n);
      if (existsSync(path.join(d, 'setup')) && existsSync(path.join(d, 'expected'))) out.push(d);
    }
  }
  return out;
}

function diffLines(exp: string[], act: string[]): string[] {
  const probs: string[] = [];
  const se = new Set(exp);
  const sa = new Set(act);
  for (const x of [...se].filter((l) => !sa.has(l)).slice(0, 5)) probs.push(`- ${x}`);
  for (const x of [...sa].filter((l) => !se.has(l)).slice(0, 5)) probs.push(`+ ${x}`);
  if (!probs.length && exp.join('\n') !== act.join('\n')) probs.push('same lines in another order');
  return probs;
}

export async function runScenario(dir: string): Promise<ScenarioResult> {
  const name = path.basename(dir);
  const inputs = readdirSync(dir)
    .filter((f) => f.endsWith('.pcap'))
    .sort()
    .map((f) => ({ iface: f.slice(0, -5), path: path.join(dir, f) }));
  const out = mkdtempSync(path.join(os.tmpdir(), `ipvs-oracle-${name}-`));
  const problems: Record<string, string[]> = {};
  try {
    const replay = new Replay({
      setupText: readFileSync(path.join(dir, 'setup'), 'utf8'),
      setupFile: path.join(dir, 'setup'),
      inputs,
      outDir: out,
    });
    replay.open();
    await replay.run();
    replay.close();
    const exp = path.join(dir, 'expected');
    // the simulator's outputs without the frames the harness leaves out
    const outputs = new Map<string, PcapFrame[]>();
    for (const f of readdirSync(out).filter((x) => x.endsWith('.pcap')))
      outputs.set(f, readPcap(path.join(out, f)));
    const inputTs: number[] = [];
    for (const i of inputs) for (const fr of readPcap(i.path)) inputTs.push(fr.sec * 1e6 + fr.usec);
    dropIgnored(outputs, inputTs);
    for (const f of readdirSync(exp).filter((x) => x.endsWith('.pcap'))) {
      const act = outputs.get(f);
      problems[f] = act ? compareFrames(readPcap(path.join(exp, f)), act) : [`missing ${f}`];
    }
    const state = listState(replay.director);
    const listing = (args: string[]): string => runIpvsadmListing(args, state).stdout;
    const cmp = (file: string, actual: string, norm: (t: string) => string[]): void => {
      const p = path.join(exp, file);
      if (!existsSync(p)) return;
      problems[file] = diffLines(norm(readFileSync(p, 'utf8')), norm(actual));
    };
    const plain = (t: string): string[] => t.split('\n');
    cmp('ipvs-dests.txt', listing(['-L', '-n']), plain);
    cmp('ipvs-stats.txt', listing(['-L', '-n', '--stats']), plain);
    cmp('ipvs-conns.txt', listing(['-L', '-n', '-c']), connsLines);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return { name, problems, ok: Object.values(problems).every((p) => p.length === 0) };
}
