/**
 * `ipvs-sim ipvsadm …`: ipvsadm on the simulated director. It takes
 * ipvsadm's own arguments, untouched, and works on a set-up file
 * (`--setup FILE`, default ./director.setup, created when missing), so the
 * lines of an LVS guide work with `ipvs-sim` in front of them:
 *
 * - configuring commands (-A -E -D -C -a -e -d --set, -R from standard input)
 *   are applied to the director the file describes and, when they succeed,
 *   written back: every other line is kept verbatim (comments, ip/sysctl
 *   lines, timed `@T` lines), and the untimed ipvsadm rules are replaced, at
 *   the place of the first one, by the resulting rules in the `ipvsadm-save
 *   -n` format (docs/ipvsadm.md);
 * - listings, -S and -Z show or check the state (counters are zero without a
 *   replay); sync-daemon commands are accepted and reported as not simulated;
 * - errors, messages and exit statuses are ipvsadm's; a broken set-up file
 *   exits with Exit.SETUP naming its line and column.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Ipvs } from '../ipvs/ctl.js';
import { FwmarkRules } from '../ipvs/fwmark.js';
import { Host } from '../ipvs/host.js';
import type { SchedulerRegistry } from '../ipvs/sched/scheduler.js';
import { KERNEL_SCHEDULERS, namesOnlyRegistry } from '../control/schedulers.js';
import { Sysctls } from '../ipvs/sysctl.js';
import { applySetup, parseSetup, SetupError, validateSetup, type SetupTarget } from '../control/setup.js';
import {
  applyIpvsadmCommand,
  execIpvsadm,
  ipvsStrerror,
  isConfiguring,
  runIpvsadm,
} from '../control/ipvsadm/exec.js';
import { IpvsadmError, parseIpvsadmArgs } from '../control/ipvsadm/args.js';
import { setupRulesText } from '../control/ipvsadm/save.js';
import type { ListState } from '../control/ipvsadm/list.js';
import { runIpvsadmListing } from '../control/ipvsadm/index.js';
import { Replay, type ReplayInputSpec } from '../replay/engine.js';
import { listState } from '../replay/listing.js';
import { NullSink } from '../ipvs/env.js';
import { CaptureFormatError, CaptureReadError } from '../capture/errors.js';
import { Exit } from './errors.js';

export interface IpvsadmCliOptions {
  /** Reads standard input (for -R); called only when needed. */
  readStdin: () => string;
  /** The scheduler registry of the director (default: names only, the 6.1 set). */
  registry?: SchedulerRegistry;
}

export interface IpvsadmCliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Takes ipvs-sim's own options (`--setup FILE`, `--setup=FILE`, `--lenient`) out of ipvsadm's arguments. */
function splitOwnOptions(
  args: readonly string[],
): { setup: string; lenient: boolean; rest: string[] } | string {
  let setup = 'director.setup';
  let lenient = false;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--setup') {
      if (i + 1 >= args.length) return '--setup needs a file name';
      setup = args[++i];
    } else if (a.startsWith('--setup=')) setup = a.slice('--setup='.length);
    else if (a === '--lenient') lenient = true;
    else rest.push(a);
  }
  if (!setup) return '--setup needs a file name';
  return { setup, lenient, rest };
}

function freshTarget(registry: SchedulerRegistry): SetupTarget {
  const sysctl = new Sysctls();
  return { host: new Host(), sysctl, ipvs: new Ipvs(registry, () => 0, sysctl), fwmarks: new FwmarkRules() };
}

/**
 * The set-up text with its untimed ipvsadm rules replaced by `rules`, at the
 * place of the first such rule (or appended); every other line verbatim.
 */
export function rewriteSetup(
  text: string,
  ruleLines: readonly { line: number; endLine: number }[],
  rules: readonly string[],
): string {
  const lines = text === '' ? [] : text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  const drop = new Set<number>();
  for (const r of ruleLines) for (let l = r.line; l <= r.endLine; l++) drop.add(l);
  const first = ruleLines.length ? Math.min(...ruleLines.map((r) => r.line)) : -1;
  const out: string[] = [];
  lines.forEach((l, i) => {
    const n = i + 1;
    if (n === first) out.push(...rules);
    if (!drop.has(n)) out.push(l);
  });
  if (first < 0) out.push(...rules);
  return out.length ? out.join('\n') + '\n' : '';
}

/** Runs `ipvs-sim ipvsadm ARGS`: returns what to print and the exit status; writes the set-up file on success. */
export function runIpvsadmCli(args: readonly string[], opts: IpvsadmCliOptions): IpvsadmCliResult {
  const own = splitOwnOptions(args);
  if (typeof own === 'string') return { status: Exit.USAGE, stdout: '', stderr: `ipvs-sim: ${own}\n` };
  const registry = opts.registry ?? namesOnlyRegistry(KERNEL_SCHEDULERS);
  const file = own.setup;
  const exists = existsSync(file);
  let text = '';
  try {
    if (exists) text = readFileSync(file, 'utf8');
  } catch (e) {
    return {
      status: Exit.SETUP,
      stdout: '',
      stderr: `ipvs-sim: cannot read ${file}: ${(e as Error).message}\n`,
    };
  }
  const target = freshTarget(registry);
  let script;
  try {
    script = parseSetup(text, { file, lenient: own.lenient });
    applySetup(script, target);
  } catch (e) {
    if (e instanceof SetupError)
      return { status: Exit.SETUP, stdout: '', stderr: `ipvs-sim: ${e.message}\n` };
    throw e;
  }
  const warnings = script.warnings.map((w) => `ipvs-sim: warning: ${w}\n`).join('');
  const state: ListState = { ipvs: target.ipvs, conns: [], host: target.host };

  let cmd;
  try {
    cmd = parseIpvsadmArgs(own.rest);
  } catch (e) {
    if (e instanceof IpvsadmError) return { status: e.status, stdout: '', stderr: warnings + e.stderr };
    throw e;
  }

  let result: IpvsadmCliResult;
  let changed = false;
  if (cmd.cmd === 'restore') {
    const before = setupRulesText(target.ipvs).join('\n');
    result = runIpvsadm(own.rest, state, { stdin: opts.readStdin() });
    changed = setupRulesText(target.ipvs).join('\n') !== before || !exists;
  } else if (cmd.cmd === 'start-daemon' || cmd.cmd === 'stop-daemon') {
    result = {
      status: 0,
      stdout: '',
      stderr: `ipvs-sim: the connection synchronisation daemon is not simulated: --${cmd.cmd} accepted, nothing done\n`,
    };
  } else if (cmd.cmd === 'zero') {
    // no counters without a replay; the service must still exist
    const f = applyIpvsadmCommand(cmd, state);
    result = f
      ? { status: 255, stdout: '', stderr: `${ipvsStrerror(f.func, f.errno)}\n` }
      : { status: 0, stdout: '', stderr: '' };
  } else if (isConfiguring(cmd.cmd)) {
    result = execIpvsadm(cmd, state);
    changed = result.status === 0;
  } else {
    result = execIpvsadm(cmd, state);
  }
  result = { ...result, stderr: warnings + result.stderr };
  if (!changed) return result;

  const ruleLines = script.commands.filter(
    (c) => c.kind === 'ipvsadm' && c.action.type === 'ipvsadm' && isConfiguring(c.action.command.cmd),
  );
  const newText = rewriteSetup(text, ruleLines, setupRulesText(target.ipvs));
  try {
    writeFileSync(file, newText);
  } catch (e) {
    return {
      status: Exit.OUTPUT,
      stdout: result.stdout,
      stderr: `${result.stderr}ipvs-sim: cannot write ${file}: ${(e as Error).message}\n`,
    };
  }
  // a timed line may no longer apply to the new rules: say so (the edit stands, as in ipvsadm)
  try {
    validateSetup(parseSetup(newText, { file, lenient: own.lenient }), () => freshTarget(registry));
  } catch (e) {
    if (e instanceof SetupError)
      result = { ...result, stderr: `${result.stderr}ipvs-sim: warning: ${e.message}\n` };
    else throw e;
  }
  return result;
}

/**
 * Takes `--after CAPTURE… | --after IFACE=CAPTURE…`, `--in IFACE=CAPTURE`,
 * `--seed N` and `--max-conns N` out of the arguments: the listing then shows
 * the director's state at the end of a replay of those captures.
 */
export function splitAfterOptions(args: readonly string[]):
  | {
      inputs: ReplayInputSpec[];
      seed: number;
      maxConns: number;
      rest: string[];
    }
  | string {
  const inputs: ReplayInputSpec[] = [];
  const rest: string[] = [];
  let seed = 1;
  let maxConns = 0;
  const spec = (a: string): ReplayInputSpec => {
    const eq = a.indexOf('=');
    return eq > 0 ? { iface: a.slice(0, eq), path: a.slice(eq + 1) } : { iface: null, path: a };
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--after') {
      let n = 0;
      while (i + 1 < args.length && !args[i + 1].startsWith('-')) {
        inputs.push(spec(args[++i]));
        n++;
      }
      if (n === 0) return '--after needs at least one capture (CAPTURE or IFACE=CAPTURE)';
    } else if (a === '--in') {
      if (i + 1 >= args.length || !args[i + 1].includes('=')) return '--in takes IFACE=CAPTURE';
      inputs.push(spec(args[++i]));
    } else if (a === '--seed' || a === '--max-conns') {
      const v = args[++i];
      if (v === undefined || !/^\d+$/.test(v)) return `${a} takes a non-negative integer`;
      if (a === '--seed') seed = Number(v);
      else maxConns = Number(v);
    } else rest.push(a);
  }
  return { inputs, seed, maxConns, rest };
}

/**
 * `ipvs-sim ipvsadm -L… --after CAPTURE…`: replays the captures through the
 * director of the set-up file, then lists its state (counters, rates,
 * connections) as ipvsadm would at that moment. Only listings make sense here.
 */
export async function runIpvsadmAfter(args: readonly string[]): Promise<IpvsadmCliResult> {
  const after = splitAfterOptions(args);
  if (typeof after === 'string') return { status: Exit.USAGE, stdout: '', stderr: `ipvs-sim: ${after}\n` };
  const own = splitOwnOptions(after.rest);
  if (typeof own === 'string') return { status: Exit.USAGE, stdout: '', stderr: `ipvs-sim: ${own}\n` };
  let cmd;
  try {
    cmd = parseIpvsadmArgs(own.rest);
  } catch (e) {
    if (e instanceof IpvsadmError) return { status: e.status, stdout: '', stderr: e.stderr };
    throw e;
  }
  if (cmd.cmd !== 'list')
    return {
      status: Exit.USAGE,
      stdout: '',
      stderr: 'ipvs-sim: --after shows the state after a replay: use it with a listing (-L, -l, -c …)\n',
    };
  let text: string;
  try {
    text = readFileSync(own.setup, 'utf8');
  } catch (e) {
    return {
      status: Exit.SETUP,
      stdout: '',
      stderr: `ipvs-sim: cannot read ${own.setup}: ${(e as Error).message}\n`,
    };
  }
  let replay: Replay;
  try {
    replay = new Replay({
      setupText: text,
      setupFile: own.setup,
      lenient: own.lenient,
      inputs: after.inputs,
      seed: after.seed,
      maxConns: after.maxConns,
      sink: new NullSink(),
    });
    replay.open();
  } catch (e) {
    if (e instanceof SetupError)
      return { status: Exit.SETUP, stdout: '', stderr: `ipvs-sim: ${e.message}\n` };
    if (e instanceof CaptureFormatError || e instanceof CaptureReadError)
      return { status: Exit.CAPTURE, stdout: '', stderr: `ipvs-sim: ${e.message}\n` };
    throw e;
  }
  const summary = await replay.run();
  replay.close();
  const r = runIpvsadmListing(own.rest, listState(replay.director));
  const err = summary.captureError ? `ipvs-sim: ${summary.captureError.message}\n` : '';
  return { status: summary.captureError ? Exit.CAPTURE : r.status, stdout: r.stdout, stderr: err + r.stderr };
}

function readAllStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return '';
  }
}

/** Adds `ipvs-sim ipvsadm` to the program; ipvsadm's options pass through untouched. */
export function register(program: Command): void {
  program
    .command('ipvsadm')
    .summary('ipvsadm on the simulated director (edits the set-up file)')
    .description(
      "Runs ipvsadm's own arguments against the director described by a set-up file\n" +
        '(--setup FILE, default ./director.setup, created when missing): configuring commands\n' +
        'edit the file, listings show its state. With --after CAPTURE… (or --in IFACE=CAPTURE)\n' +
        'a listing shows the state at the end of a replay of those captures (counters, rates,\n' +
        "connections). `ipvs-sim ipvsadm -h` prints ipvsadm's help; see docs/ipvsadm.md.",
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]', "ipvsadm's arguments, plus --setup FILE and --lenient")
    .action(async (args: string[]) => {
      const r =
        args.includes('--after') || args.includes('--in')
          ? await runIpvsadmAfter(args)
          : runIpvsadmCli(args, { readStdin: readAllStdin });
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      process.exitCode = r.status;
    });
}
