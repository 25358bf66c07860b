/**
 * The `ipvs-sim` command line: commander parses the arguments and each
 * subcommand lives in its own file (`cmd_<name>.ts`) exporting a `register`
 * function, listed in SUBCOMMANDS below. `main` returns the process exit
 * status (docs/cli.md); errors print a plain message, with the stack only
 * under --debug.
 */
import { Command, CommanderError } from 'commander';
import { CliError, Exit } from './errors.js';
import { register as registerIpvsadm } from './cmd_ipvsadm.js';
import { register as registerReplay } from './cmd_replay.js';
import { register as registerExplain } from './cmd_explain.js';
import { register as registerLab } from './cmd_lab.js';
import { register as registerGen } from './cmd_gen.js';
import { register as registerSchedReport } from './cmd_sched_report.js';

/** A subcommand module: adds its command to the program. */
export type Register = (program: Command) => void;

const SUBCOMMANDS: readonly Register[] = [
  registerReplay,
  registerIpvsadm,
  registerExplain,
  registerLab,
  registerGen,
  registerSchedReport,
];

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('ipvs-sim')
    .description(
      'A userspace, packet-level simulator of the Linux IPVS (LVS) director: replays pcap/pcapng\n' +
        'captures through an emulated IPVS datapath, frame-exact with the kernel.',
    )
    .option('--debug', 'print stack traces with errors')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
  for (const register of SUBCOMMANDS) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : Exit.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here too, with exit code 0
      return e.exitCode === 0 ? Exit.OK : Exit.USAGE;
    }
    if (e instanceof CliError) {
      process.stderr.write(`ipvs-sim: ${e.message}\n`);
      if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
      return e.status;
    }
    process.stderr.write(`ipvs-sim: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return Exit.INTERNAL;
  }
}
