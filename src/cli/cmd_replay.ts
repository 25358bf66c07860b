/**
 * `ipvs-sim replay`: a set-up and captures in, the frames the director sends
 * out, with a summary of what became of every input frame.
 */
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { Replay, ReplayInputError, type ReplayInputSpec, type ReplaySummary } from '../replay/engine.js';
import { listState } from '../replay/listing.js';
import { ShardedReplay, ReplayWorkerError } from '../replay/workers.js';
import { collectGarbageNow } from '../replay/gc.js';
import type { ListState } from '../control/ipvsadm/index.js';
import { runIpvsadmListing } from '../control/ipvsadm/index.js';
import { splitWords } from '../control/shell.js';
import { SetupError } from '../control/setup.js';
import {
  CaptureFormatError,
  CaptureReadError,
  CaptureWriteError,
  describeFsError,
} from '../capture/errors.js';
import { CliError, Exit, readSetupText } from './errors.js';

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
  workers: string;
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
  const c = s.connections;
  if (c.max > 0 || c.droppedByDefense.total > 0 || c.refusedTableFull > 0) {
    lines.push(
      `  connections: ${c.live} at the end, ${c.peak} at most` +
        (c.max > 0 ? ` (cap ${c.max}, ${c.refusedTableFull} refused as the table was full)` : '') +
        (c.droppedByDefense.total > 0
          ? `, ${c.droppedByDefense.total} deleted by drop_entry (${c.droppedByDefense.synRecv} half-open, ` +
            `${c.droppedByDefense.established} established, ${c.droppedByDefense.template} templates, ` +
            `${c.droppedByDefense.other} other)`
          : ''),
    );
  }
  if (s.captureError) lines.push(`stopped at a malformed capture: ${s.captureError.message}`);
  if (s.outputError) lines.push(`stopped: ${s.outputError.message}`);
  if (s.interruptedBy)
    lines.push(`interrupted by ${s.interruptedBy}: the outputs hold every frame sent so far`);
  for (const o of s.outputs) lines.push(`  wrote ${o}`);
  return lines.join('\n') + '\n';
}

export async function runReplay(opts: ReplayCliOptions, bare: string[]): Promise<number> {
  const specs = inputSpecs(opts.in, bare);
  if (specs.length === 0)
    throw new CliError(Exit.USAGE, 'no input capture: give CAPTURE or --in IFACE=CAPTURE');
  if (opts.outDir && opts.output) throw new CliError(Exit.USAGE, '--out-dir and -o are mutually exclusive');
  const setupText = readSetupText(opts.setup);
  const seed = parseIntOpt('--seed', opts.seed, 0);
  const maxConns = parseIntOpt('--max-conns', opts.maxConns, 0);
  const workers = parseIntOpt('--workers', opts.workers, 1);
  const listing = opts.stats === true || opts.list.length > 0;
  let replay: Replay | ShardedReplay;
  try {
    const common = {
      setupText,
      setupFile: opts.setup,
      lenient: opts.lenient === true,
      inputs: specs,
      outDir: opts.outDir ?? null,
      outFile: opts.output ?? null,
      seed,
      maxConns,
      onWarning: (m: string) => process.stderr.write(`ipvs-sim: warning: ${m}\n`),
      releaseMemory: collectGarbageNow,
    };
    replay = workers > 1 ? new ShardedReplay({ ...common, workers, listing }) : new Replay(common);
  } catch (e) {
    if (e instanceof SetupError) throw new CliError(Exit.SETUP, e.message);
    throw e;
  }
  refuseOverwritingInputs(
    specs,
    opts.output
      ? [opts.output]
      : opts.outDir
        ? replay.director.host.links.map((l) => path.join(opts.outDir as string, `${l.name}.pcap`))
        : [],
  );
  try {
    if (opts.outDir) makeDirectory(opts.outDir);
    replay.open();
  } catch (e) {
    try {
      replay.close();
    } catch {
      // the error that stopped the opening is the one to report
    }
    throw mapIoError(e);
  }

  const tty = process.stderr.isTTY === true;
  const showProgress = opts.progress ?? (tty && !process.env.CI);
  let bar: SingleBar | null = null;
  const t0 = Date.now();
  if (showProgress) {
    bar = new SingleBar({
      stream: process.stderr,
      format:
        ' {bar} {percentage}% | {mb}/{totalMb} MB | {frames} frames, {fps} frames/s | ETA {eta_formatted}',
      hideCursor: tty,
      // forced with --progress on a pipe or file: a plain line every 2 s, and at the start and end
      noTTYOutput: !tty,
      notTTYSchedule: 2000,
    });
    const total = replay.totalBytes();
    bar.start(Math.max(1, total), 0, { fps: 0, frames: 0, mb: '0.0', totalMb: (total / 1e6).toFixed(1) });
  }
  // `--json | head` closes stdout early: not an error of the replay
  if (!process.stdout.listeners('error').includes(ignoreEpipe)) process.stdout.on('error', ignoreEpipe);
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
  let closeError: unknown = null;
  try {
    replay.close();
  } catch (e) {
    closeError = e;
  }

  if (opts.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  process.stderr.write(formatSummary(summary));
  // the listing state holds an object per connection entry: built only when a listing is asked for
  let state: ListState | null = null;
  if (listing) state = replay instanceof ShardedReplay ? replay.listState() : listState(replay.director);
  if (opts.stats && state) process.stdout.write(runIpvsadmListing(['-L', '-n', '--stats'], state).stdout);
  for (const l of state ? opts.list : []) {
    const r = runIpvsadmListing(
      splitWords(l).map((w) => w.text),
      state as NonNullable<typeof state>,
    );
    process.stdout.write(r.stdout);
    if (r.stderr) process.stderr.write(r.stderr);
  }
  if (closeError !== null) {
    // the last batch of an output could not be written (disk full at the end): the run's summary stands,
    // the error is the command's result
    throw mapIoError(closeError);
  }
  if (summary.outputError) throw new CliError(Exit.OUTPUT, summary.outputError.message);
  if (summary.captureError) return Exit.CAPTURE;
  if (summary.interruptedBy === 'SIGINT') return Exit.SIGINT;
  if (summary.interruptedBy === 'SIGTERM') return Exit.SIGTERM;
  return Exit.OK;
}

async function runWithProgress(
  replay: Replay | ShardedReplay,
  bar: SingleBar | null,
  t0: number,
): Promise<ReplaySummary> {
  if (bar) {
    replay.onProgress = (b, f) => {
      const secs = Math.max(0.001, (Date.now() - t0) / 1000);
      bar.update(b, { fps: Math.round(f / secs), frames: f, mb: (b / 1e6).toFixed(1) });
    };
  }
  return replay.run();
}

function mapIoError(e: unknown): unknown {
  if (e instanceof CaptureFormatError) return new CliError(Exit.CAPTURE, e.message);
  if (e instanceof CaptureReadError) return new CliError(Exit.CAPTURE, e.message);
  if (e instanceof CaptureWriteError) return new CliError(Exit.OUTPUT, e.message);
  if (e instanceof SetupError) return new CliError(Exit.SETUP, e.message);
  if (e instanceof ReplayInputError) return new CliError(Exit.USAGE, e.message);
  if (e instanceof ReplayWorkerError) {
    // the class of the error the worker caught decides the status, as in a single-threaded replay
    const code: Record<string, number> = {
      CaptureFormatError: Exit.CAPTURE,
      CaptureReadError: Exit.CAPTURE,
      CaptureWriteError: Exit.OUTPUT,
      SetupError: Exit.SETUP,
      ReplayInputError: Exit.USAGE,
    };
    if (e.kind in code) return new CliError(code[e.kind], e.message);
  }
  return e;
}

/** An output that is one of the inputs would be truncated before it is read: a usage error. */
function refuseOverwritingInputs(specs: readonly ReplayInputSpec[], outputs: readonly string[]): void {
  const id = (p: string): string | null => {
    try {
      const st = statSync(p);
      return `${st.dev}:${st.ino}`;
    } catch {
      return null;
    }
  };
  const inputs = new Map<string, string>();
  for (const s of specs) {
    const k = id(s.path);
    if (k) inputs.set(k, s.path);
  }
  for (const o of outputs) {
    const k = id(o);
    if (k && inputs.has(k))
      throw new CliError(Exit.USAGE, `output ${o} is the input ${inputs.get(k)}: it would be overwritten`);
  }
}

function ignoreEpipe(e: NodeJS.ErrnoException): void {
  if (e.code !== 'EPIPE') throw e;
}

/**
 * `mkdir -p DIR` for --out-dir, one level at a time (Node's recursive mkdir
 * can spin on some pseudo file systems); a failure is a CliError naming the
 * directory and the cause, exit status Exit.OUTPUT.
 */
export function makeDirectory(dir: string): void {
  const missing: string[] = [];
  let d = path.resolve(dir);
  for (;;) {
    let st;
    try {
      st = statSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw outDirError(dir, e);
      missing.push(d);
      const up = path.dirname(d);
      if (up === d) break;
      d = up;
      continue;
    }
    if (!st.isDirectory())
      throw new CliError(Exit.OUTPUT, `cannot create output directory ${dir}: ${d} is not a directory`);
    break;
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      mkdirSync(missing[i]);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw outDirError(dir, e);
    }
  }
}

function outDirError(dir: string, e: unknown): CliError {
  return new CliError(Exit.OUTPUT, `cannot create output directory ${dir}: ${describeFsError(e).cause}`);
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
    .option(
      '--workers <n>',
      'shard the replay over N worker threads by client address (see docs/cli.md for what differs)',
      '1',
    )
    .option('--lenient', 'skip unsupported set-up commands with a warning instead of failing')
    .addOption(new Option('--progress', 'show a progress bar on stderr (default: when stderr is a terminal)'))
    .addOption(new Option('--no-progress', 'never show a progress bar'))
    .addHelpText(
      'after',
      '\nExit status: 0 done; 2 bad usage; 3 set-up error (FILE:LINE:COLUMN named); 4 malformed or\n' +
        'unreadable capture (byte offset named; what came before it is written); 5 an output cannot be\n' +
        'written; 130 / 143 interrupted by SIGINT / SIGTERM (outputs flushed and valid). See docs/cli.md.',
    )
    .action(async (bare: string[], opts: ReplayCliOptions, cmd: Command) => {
      const global = cmd.parent?.opts() ?? {};
      const code = await runReplay({ ...opts, debug: global.debug }, bare);
      process.exitCode = code;
    });
}
