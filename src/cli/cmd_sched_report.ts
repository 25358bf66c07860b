/**
 * `ipvs-sim sched-report`: replays the same traffic (captures, as `replay`
 * takes them, or generated with `--gen`) through each scheduler named and
 * reports connections per real server against the weight share, imbalance
 * over time, disruption when a real server is removed or added mid-run, and
 * the persistence hit rate (docs/sched-report.md). Text by default, `--json`
 * for tools, `--html FILE` for a self-contained page with the charts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { inputSpecs } from './cmd_replay.js';
import { genOptions, register as registerGen, type GenCliOptions } from './cmd_gen.js';
import { CliError, Exit, readSetupText } from './errors.js';
import { Generator } from '../gen/generator.js';
import { GenOptionError } from '../gen/options.js';
import { splitWords, ShellSyntaxError } from '../control/shell.js';
import type { ReplayInputSpec } from '../replay/engine.js';
import { SetupError } from '../control/setup.js';
import { CaptureFormatError, CaptureReadError, CaptureWriteError } from '../capture/errors.js';
import { SCHEDULER_NAMES } from '../ipvs/sched/index.js';
import { ChangeError, parseChange, type ChangeSpec } from '../report/change.js';
import { schedReport, unknownSchedulers } from '../report/sched_report.js';
import { formatText } from '../report/text.js';
import { formatHtml } from '../report/html.js';
import type { SchedReport } from '../report/types.js';

export interface SchedReportCliOptions {
  setup: string;
  in: string[];
  gen?: string;
  schedulers?: string;
  remove: string[];
  add: string[];
  disruption: boolean;
  interval: string;
  json?: boolean;
  html?: string;
  seed: string;
  maxConns: string;
  lenient?: boolean;
  progress?: boolean;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function intOpt(name: string, v: string, min: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min)
    throw new CliError(Exit.USAGE, `${name} takes an integer >= ${min}, got '${v}'`);
  return Number(v);
}

/** `rr,wlc , mh` → names (checked). */
export function schedulerList(text: string | undefined): string[] {
  if (text === undefined) return [...SCHEDULER_NAMES];
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0) throw new CliError(Exit.USAGE, '--schedulers needs at least one name');
  const bad = unknownSchedulers(names);
  if (bad.length)
    throw new CliError(
      Exit.USAGE,
      `--schedulers: unknown scheduler '${bad[0]}' (valid: ${SCHEDULER_NAMES.join(', ')})`,
    );
  return [...new Set(names)];
}

/**
 * `--gen 'OPTIONS'`: parses OPTIONS with `ipvs-sim gen`'s own option table,
 * generates the traffic for the set-up into `dir` (one pcap per director
 * interface) and returns the inputs to replay. The NAT shadow director of the
 * generator uses the report's seed unless OPTIONS set `--replay-seed`.
 */
export async function generateInputs(
  optionsText: string,
  setupFile: string,
  setupText: string,
  lenient: boolean,
  seed: number,
  dir: string,
  warn: (m: string) => void,
): Promise<ReplayInputSpec[]> {
  let words: string[];
  try {
    words = splitWords(optionsText).map((w) => w.text);
  } catch (e) {
    if (e instanceof ShellSyntaxError) throw new CliError(Exit.USAGE, `--gen: ${e.message}`);
    throw e;
  }
  if (words.some((w) => /^(-o|--output|--out-dir|--setup)(=|$)/.test(w)))
    throw new CliError(Exit.USAGE, '--gen: leave out -o, --out-dir and --setup (sched-report sets them)');
  const program = new Command();
  let errText = '';
  program.exitOverride().configureOutput({
    writeOut: () => undefined,
    writeErr: (t) => (errText += t),
  });
  registerGen(program);
  const gen = program.commands.find((c) => c.name() === 'gen') as Command;
  let parsed: GenCliOptions | null = null;
  gen.action((o: GenCliOptions) => {
    parsed = o;
  });
  try {
    await program.parseAsync(['gen', '--setup', setupFile, '--out-dir', dir, ...words], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError)
      throw new CliError(Exit.USAGE, `--gen: ${errText.trim().replace(/^error: /, '') || e.message}`);
    throw e;
  }
  if (!parsed) throw new CliError(Exit.USAGE, `--gen: cannot use '${optionsText}'`);
  let summary;
  try {
    const options = genOptions(parsed);
    if (!words.some((w) => /^--replay-seed(=|$)/.test(w))) options.replaySeed = seed;
    summary = new Generator({ setupText, setupFile, lenient, options, output: { dir } }).run();
  } catch (e) {
    if (e instanceof GenOptionError) throw new CliError(Exit.USAGE, `--gen: ${e.message}`);
    throw e;
  }
  for (const w of summary.warnings) warn(`--gen: ${w}`);
  return Object.entries(summary.framesPerInterface)
    .filter(([, n]) => n > 0)
    .map(([iface]) => ({ iface, path: path.join(dir, `${iface}.pcap`) }));
}

export async function runSchedReport(opts: SchedReportCliOptions, bare: string[]): Promise<number> {
  let specs = inputSpecs(opts.in, bare);
  if (opts.gen !== undefined && specs.length)
    throw new CliError(Exit.USAGE, 'give captures or --gen, not both');
  if (specs.length === 0 && opts.gen === undefined)
    throw new CliError(Exit.USAGE, 'no input: give CAPTURE, --in IFACE=CAPTURE or --gen OPTIONS');
  const schedulers = schedulerList(opts.schedulers);
  const seed = intOpt('--seed', opts.seed, 0);
  const maxConns = intOpt('--max-conns', opts.maxConns, 0);
  const interval = Number(opts.interval);
  if (!/^\d+(\.\d+)?$/.test(opts.interval) || !(interval >= 0.001))
    throw new CliError(Exit.USAGE, `--interval takes seconds >= 0.001, got '${opts.interval}'`);
  const changes: ChangeSpec[] = [];
  try {
    for (const r of opts.remove) changes.push(parseChange('remove', r));
    for (const a of opts.add) changes.push(parseChange('add', a));
  } catch (e) {
    if (e instanceof ChangeError) throw new CliError(Exit.USAGE, e.message);
    throw e;
  }
  if (!opts.disruption && changes.length)
    throw new CliError(Exit.USAGE, '--no-disruption and --remove / --add are mutually exclusive');
  const setupText = readSetupText(opts.setup);
  const showProgress = opts.progress ?? (process.stderr.isTTY === true && !process.env.CI);
  const warn = (m: string): void => {
    process.stderr.write(`ipvs-sim: warning: ${m}\n`);
  };
  let genDir: string | null = null;
  let report: SchedReport;
  try {
    if (opts.gen !== undefined) {
      genDir = mkdtempSync(path.join(os.tmpdir(), 'ipvs-sim-sched-report-'));
      try {
        specs = await generateInputs(
          opts.gen,
          opts.setup,
          setupText,
          opts.lenient === true,
          seed,
          genDir,
          warn,
        );
      } catch (e) {
        throw mapError(e);
      }
    }
    try {
      report = await schedReport({
        setupText,
        setupFile: opts.setup,
        lenient: opts.lenient === true,
        inputs: specs,
        inputNames: opts.gen !== undefined ? [] : undefined,
        generated: opts.gen ?? null,
        schedulers,
        changes,
        disruption: opts.disruption,
        seed,
        maxConns,
        sampleSeconds: interval,
        onWarning: warn,
        onRun: showProgress
          ? (name, changed, i, total) =>
              process.stderr.write(
                `sched-report: ${name}${changed ? ' (with the change)' : ''} [${i + 1}/${total}]\n`,
              )
          : undefined,
      });
    } catch (e) {
      throw mapError(e);
    }
  } finally {
    if (genDir) rmSync(genDir, { recursive: true, force: true });
  }
  if (opts.html) {
    try {
      writeFileSync(opts.html, formatHtml(report));
    } catch (e) {
      throw new CliError(
        Exit.OUTPUT,
        `cannot write ${opts.html}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      );
    }
  }
  process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatText(report));
  if (report.captureError) {
    process.stderr.write(`ipvs-sim: ${report.captureError}\n`);
    return Exit.CAPTURE;
  }
  return Exit.OK;
}

function mapError(e: unknown): unknown {
  if (e instanceof ChangeError) return new CliError(Exit.USAGE, e.message);
  if (e instanceof SetupError) return new CliError(Exit.SETUP, e.message);
  if (e instanceof CaptureFormatError || e instanceof CaptureReadError)
    return new CliError(Exit.CAPTURE, e.message);
  if (e instanceof CaptureWriteError) return new CliError(Exit.OUTPUT, e.message);
  if (e instanceof Error && e.message.startsWith('--in ')) return new CliError(Exit.USAGE, e.message);
  return e;
}

export function register(program: Command): void {
  program
    .command('sched-report')
    .description(
      'replay the same traffic through each scheduler and report balance (share per real server vs weight),\n' +
        'imbalance over time, disruption when a real server leaves or joins, and persistence hit rate',
    )
    .requiredOption(
      '--setup <file>',
      "the director's set-up script; each service's scheduler is replaced in turn",
    )
    .option(
      '--in <iface=capture>',
      'frames of CAPTURE arrive on director interface IFACE (repeatable)',
      collect,
      [],
    )
    .argument('[capture...]', 'captures whose frames arrive on the interface owning their destination MAC')
    .option(
      '--gen <options>',
      "generate the traffic instead, with these `ipvs-sim gen` options (e.g. '--flows 5000 --client-dist zipf')",
    )
    .option(
      '--schedulers <list>',
      `comma-separated scheduler names (default: all: ${SCHEDULER_NAMES.join(',')})`,
    )
    .option(
      '--remove <rip:port@seconds>',
      'the change: remove this real server (from every service that has it) at SECONDS (repeatable)',
      collect,
      [],
    )
    .option(
      '--add <command@seconds>',
      "the change: run this 'ipvsadm -a …' command at SECONDS (repeatable)",
      collect,
      [],
    )
    .option('--no-disruption', 'no change, no second replay per scheduler: disruption not measured')
    .option('--interval <seconds>', 'imbalance sample interval, seconds of simulated time', '1')
    .option('--json', 'print the report as JSON (docs/sched-report.md has the schema)')
    .option('--html <file>', 'also write a self-contained HTML page with the charts')
    .option('--seed <n>', 'seed of the random choices (twos scheduler, IP IDs)', '1')
    .option('--max-conns <n>', 'cap the connection table (0: no cap)', '0')
    .option('--lenient', 'skip unsupported set-up commands with a warning instead of failing')
    .addOption(
      new Option(
        '--progress',
        'name each replay on stderr as it starts (default: when stderr is a terminal)',
      ),
    )
    .addOption(new Option('--no-progress', 'never report progress'))
    .action(async (bare: string[], opts: SchedReportCliOptions) => {
      process.exitCode = await runSchedReport(opts, bare);
    });
}
