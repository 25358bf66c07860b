/**
 * `ipvs-sim replay`: a set-up and captures in, the frames the director sends
 * out, with a summary of what became of every input frame.
 */
import { readFileSync, mkdirSync } from 'node:fs';
import { Command, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { Replay, type ReplayInputSpec, type ReplaySummary } from '../replay/engine.js';
import { listState } from '../replay/listing.js';
import { runIpvsadmListing } from '../control/ipvsadm/index.js';
import { splitWords } from '../control/shell.js';
import { SetupError } from '../control/setup.js';
import { CaptureFormatError, CaptureReadError, CaptureWriteError } from '../capture/errors.js';
import { CliError, Exit } from './errors.js';

export interface ReplayCliOptions {
  setup: string;
  in: string[];
  outDir?: string;
  output?: string;
  json?: boolean;
  stats?: boolean;
  list: string[];
  seed: string;
  maxConns: string;
  lenient?: boolean;
  progress?: boolean;
  debug?: boolean;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** Parses `--in IFACE=CAPTURE` and bare CAPTURE arguments into input specs. */
export function inputSpecs(ins: readonly string[], bare: readonly string[]): ReplayInputSpec[] {
  const specs: ReplayInputSpec[] = [];
  for (const s of ins) {
    const eq = s.indexOf('=');
    if (eq <= 0 || eq === s.length - 1)
      throw new CliError(Exit.USAGE, `--in takes IFACE=CAPTURE, got '${s}'`);
    specs.push({ iface: s.slice(0, eq), path: s.slice(eq + 1) });
  }
  for (const p of bare) specs.push({ iface: null, path: p });
  return specs;
}

function parseIntOpt(name: string, v: string, min: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min)
    throw new CliError(Exit.USAGE, `${name} takes an integer >= ${min}, got '${v}'`);
  return Number(v);
}

/** Text summary printed on stderr at the end of a replay. */
export function formatSummary(s: ReplaySummary): string {
  const lines: string[] = [];
  lines.push(`frames in: ${s.framesIn}   frames out: ${s.framesOut}`);
  const per = Object.entries(s.framesOutPerInterface)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  if (per) lines.push(`  out per interface: ${per}`);
  const f = s.fates;
  lines.push(
    `  forwarded ${f.forwarded}, answered ${f.answered}, delivered locally ${f.local}, dropped ${f.dropped}` +
      (f.held ? `, held (incomplete fragments) ${f.held}` : ''),
  );
  for (const [fate, reasons] of Object.entries(s.reasons)) {
    if (fate === 'forwarded') continue;
    for (const [r, n] of Object.entries(reasons)) lines.push(`    ${fate} ${r}: ${n}`);
  }
  for (const [r, n] of Object.entries(s.malformed)) lines.push(`    malformed ${r}: ${n}`);
  if (s.captureError) lines.push(`stopped at a malformed capture: ${s.captureError.message}`);
  if (s.interruptedBy) lines.push(`interrupted by ${s.interruptedBy}`);
  for (const o of s.outputs) lines.push(`  wrote ${o}`);
  return lines.join('\n') + '\n';
}

export async function runReplay(opts: ReplayCliOptions, bare: string[]): Promise<number> {
  const specs = inputSpecs(opts.in, bare);
  if (specs.length === 0)
    throw new CliError(Exit.USAGE, 'no input capture: give CAPTURE or --in IFACE=CAPTURE');
  if (opts.outDir && opts.output) throw new CliError(Exit.USAGE, '--out-dir and -o are mutually exclusive');
  let setupText: string;
  try {
    setupText = readFileSync(opts.setup, 'utf8');
  } catch (e) {
    throw new CliError(
      Exit.SETUP,
      `cannot read the set-up ${opts.setup}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
  const seed = parseIntOpt('--seed', opts.seed, 0);
  const maxConns = parseIntOpt('--max-conns', opts.maxConns, 0);
  let replay: Replay;
  try {
    replay = new Replay({
      setupText,
      setupFile: opts.setup,
      lenient: opts.lenient === true,
      inputs: specs,
      outDir: opts.outDir ?? null,
      outFile: opts.output ?? null,
      seed,
      maxConns,
      onWarning: (m) => process.stderr.write(`ipvs-sim: warning: ${m}\n`),
    });
  } catch (e) {
    if (e instanceof SetupError) throw new CliError(Exit.SETUP, e.message);
    throw e;
  }
  try {
    if (opts.outDir) mkdirSync(opts.outDir, { recursive: true });
    replay.open();
  } catch (e) {
    replay.close();
    throw mapIoError(e);
  }

  const showProgress = opts.progress ?? (process.stderr.isTTY === true && !process.env.CI);
  let bar: SingleBar | null = null;
  const t0 = Date.now();
  if (showProgress) {
    bar = new SingleBar({
      stream: process.stderr,
      format: ' {bar} {percentage}% | {value}/{total} MB | {fps} frames/s | ETA {eta_formatted}',
      hideCursor: true,
    });
    bar.start(Math.max(1, Math.round(replay.totalBytes() / 1e6)), 0, { fps: 0 });
  }
  const stopOn = (sig: NodeJS.Signals): void => replay.requestStop(sig);
  process.once('SIGINT', stopOn);
  process.once('SIGTERM', stopOn);
  let summary: ReplaySummary;
  try {
    summary = await runWithProgress(replay, bar, t0);
  } catch (e) {
    replay.close();
    throw mapIoError(e);
  } finally {
    process.removeListener('SIGINT', stopOn);
    process.removeListener('SIGTERM', stopOn);
    bar?.stop();
  }
  try {
    replay.close();
  } catch (e) {
    throw mapIoError(e);
  }

  const state = listState(replay.director);
  if (opts.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  process.stderr.write(formatSummary(summary));
  if (opts.stats) process.stdout.write(runIpvsadmListing(['-L', '-n', '--stats'], state).stdout);
  for (const l of opts.list) {
    const r = runIpvsadmListing(
      splitWords(l).map((w) => w.text),
      state,
    );
    process.stdout.write(r.stdout);
    if (r.stderr) process.stderr.write(r.stderr);
  }
  if (summary.captureError) return Exit.CAPTURE;
  if (summary.interruptedBy === 'SIGINT') return Exit.SIGINT;
  if (summary.interruptedBy === 'SIGTERM') return Exit.SIGTERM;
  return Exit.OK;
}

async function runWithProgress(replay: Replay, bar: SingleBar | null, t0: number): Promise<ReplaySummary> {
  if (bar) {
    replay.onProgress = (b, f) => {
      const secs = Math.max(0.001, (Date.now() - t0) / 1000);
      bar.update(Math.round(b / 1e6), { fps: Math.round(f / secs) });
    };
  }
  return replay.run();
}

function mapIoError(e: unknown): unknown {
  if (e instanceof CaptureFormatError) return new CliError(Exit.CAPTURE, e.message);
  if (e instanceof CaptureReadError) return new CliError(Exit.CAPTURE, e.message);
  if (e instanceof CaptureWriteError) return new CliError(Exit.OUTPUT, e.message);
  if (e instanceof SetupError) return new CliError(Exit.SETUP, e.message);
  return e;
}

export function register(program: Command): void {
  program
    .command('replay')
    .description(
      'replay captures through the director described by a set-up script, writing the frames it sends',
    )
    .requiredOption('--setup <file>', "the director's set-up script (ip / sysctl / ipvsadm lines)")
    .option(
      '--in <iface=capture>',
      'frames of CAPTURE arrive on director interface IFACE (repeatable)',
      collect,
      [],
    )
    .argument('[capture...]', 'captures whose frames arrive on the interface owning their destination MAC')
    .option('--out-dir <dir>', 'write DIR/IFACE.pcap for every director interface')
    .option(
      '-o, --output <file>',
      'write one capture: pcapng, one interface per director interface (pcap if FILE ends in .pcap)',
    )
    .option('--json', 'print a machine-readable summary on stdout')
    .option('--stats', 'print the counters as `ipvsadm -Ln --stats` does')
    .option(
      '--list <options>',
      "print `ipvsadm -L OPTIONS` as of the end of the replay (repeatable), e.g. '-Ln --stats'",
      collect,
      [],
    )
    .option('--seed <n>', 'seed of the random choices (twos scheduler, IP IDs)', '1')
    .option('--max-conns <n>', 'cap the connection table (0: no cap)', '0')
    .option('--lenient', 'skip unsupported set-up commands with a warning instead of failing')
    .addOption(new Option('--progress', 'show a progress bar on stderr (default: when stderr is a terminal)'))
    .addOption(new Option('--no-progress', 'never show a progress bar'))
    .action(async (bare: string[], opts: ReplayCliOptions, cmd: Command) => {
      const global = cmd.parent?.opts() ?? {};
      const code = await runReplay({ ...opts, debug: global.debug }, bare);
      process.exitCode = code;
    });
}
