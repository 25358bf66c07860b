/**
 * `ipvs-sim explain`: replays captures through the director as `replay`
 * does, and narrates the selected frames — every hook and decision on their
 * path and a before/after view of every header field of the frames sent —
 * as text, or as one JSON object per event with --json (docs/explain.md).
 */
import { Command, Option } from 'commander';
import { runExplain } from '../explain/explain.js';
import { TextRenderer, wantColour } from '../explain/render.js';
import { parseFlowSpec, parseFrameSpecs, SelectionError } from '../explain/select.js';
import { SetupError } from '../control/setup.js';
import { CaptureFormatError, CaptureReadError } from '../capture/errors.js';
import { inputSpecs } from './cmd_replay.js';
import { ReplayInputError } from '../replay/engine.js';
import { CliError, Exit, readSetupText } from './errors.js';

export interface ExplainCliOptions {
  setup: string;
  in: string[];
  frame: string[];
  flow: string[];
  json?: boolean;
  color: 'auto' | 'always' | 'never';
  seed: string;
  maxConns: string;
  lenient?: boolean;
}

/**
 * For the command-line actions (once per process): a reader that went away
 * (`ipvs-sim explain … | head`) is not an error — the write that notices it
 * fails asynchronously, after the command may have finished.
 */
export function ignoreEpipe(): void {
  if (!process.stdout.listeners('error').includes(onEpipe)) process.stdout.on('error', onEpipe);
}

function onEpipe(e: NodeJS.ErrnoException): void {
  if (e.code !== 'EPIPE') throw e;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function intOpt(name: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new CliError(Exit.USAGE, `${name} takes an integer >= 0, got '${v}'`);
  return Number(v);
}

/** Runs the command; output goes to `out` (stdout), warnings to stderr. Returns the exit status. */
export async function runExplainCli(
  opts: ExplainCliOptions,
  bare: string[],
  out: (s: string) => void = (s) => void process.stdout.write(s),
  isTty = process.stdout.isTTY === true,
): Promise<number> {
  const specs = inputSpecs(opts.in, bare);
  if (specs.length === 0)
    throw new CliError(Exit.USAGE, 'no input capture: give CAPTURE or --in IFACE=CAPTURE');
  let frames, flows;
  try {
    frames = parseFrameSpecs(opts.frame);
    flows = opts.flow.map(parseFlowSpec);
  } catch (e) {
    if (e instanceof SelectionError) throw new CliError(Exit.USAGE, e.message);
    throw e;
  }
  const setupText = readSetupText(opts.setup);
  // a reader that goes away (`| head`) ends the run quietly
  let closed = false;
  let stop: (() => void) | null = null;
  const onStdoutError = (e: NodeJS.ErrnoException): void => {
    if (e.code !== 'EPIPE') throw e;
    closed = true;
    stop?.();
  };
  process.stdout.on('error', onStdoutError);
  const write = (s: string): void => {
    if (!closed) out(s);
  };
  const renderer = new TextRenderer({ colour: wantColour(opts.color, isTty) }, write);
  let shown = 0;
  let summary;
  try {
    summary = await runExplain({
      setupText,
      setupFile: opts.setup,
      lenient: opts.lenient === true,
      inputs: specs,
      seed: intOpt('--seed', opts.seed),
      maxConns: intOpt('--max-conns', opts.maxConns),
      frames,
      flows,
      onWarning: (m) => process.stderr.write(`ipvs-sim: warning: ${m}\n`),
      onStart: (s) => {
        stop = s;
      },
      onEvent: (e) => {
        if (closed) return;
        if (e.type === 'frame') shown++;
        if (opts.json) write(JSON.stringify(e) + '\n');
        else renderer.event(e);
      },
    });
  } catch (e) {
    if (e instanceof SetupError) throw new CliError(Exit.SETUP, e.message);
    if (e instanceof ReplayInputError) throw new CliError(Exit.USAGE, e.message); // [robust]
    if (e instanceof CaptureFormatError || e instanceof CaptureReadError)
      throw new CliError(Exit.CAPTURE, e.message);
    throw e;
  } finally {
    process.stdout.removeListener('error', onStdoutError);
  }
  if (closed) return Exit.OK;
  if (!opts.json) write(`\n${summary.framesIn} frames replayed, ${shown} explained\n`);
  if (summary.captureError) {
    process.stderr.write(`ipvs-sim: stopped at a malformed capture: ${summary.captureError.message}\n`);
    return Exit.CAPTURE;
  }
  return Exit.OK;
}

export function register(program: Command): void {
  program
    .command('explain')
    .description(
      "narrate the director's work on captured frames: hooks, decisions and every header field before/after",
    )
    .requiredOption('--setup <file>', "the director's set-up script (ip / sysctl / ipvsadm lines)")
    .option(
      '--in <iface=capture>',
      'frames of CAPTURE arrive on director interface IFACE (repeatable)',
      collect,
      [],
    )
    .argument('[capture...]', 'captures whose frames arrive on the interface owning their destination MAC')
    .option('--frame <n>', 'explain frame N (from 1; repeatable; ranges 3-7 and lists 3,5)', collect, [])
    .option(
      '--flow <addr:port>',
      'explain the frames of this client flow, both directions (repeatable)',
      collect,
      [],
    )
    .option('--json', 'one JSON object per event (docs/explain.md)')
    .addOption(
      new Option('--color <when>', 'colour changed fields (auto: on a terminal unless NO_COLOR is set)')
        .choices(['auto', 'always', 'never'])
        .default('auto'),
    )
    .option('--seed <n>', 'seed of the random choices (twos scheduler, IP IDs)', '1')
    .option('--max-conns <n>', 'cap the connection table (0: no cap)', '0')
    .option('--lenient', 'skip unsupported set-up commands with a warning instead of failing')
    .action(async (bare: string[], opts: ExplainCliOptions) => {
      ignoreEpipe();
      process.exitCode = await runExplainCli(opts, bare);
    });
}
