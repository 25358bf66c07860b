/**
 * `ipvs-sim lab dr|nat|tun`: the classic LVS lab simulated end to end (a
 * client, a switch, the director, two real servers answering HTTP), printed
 * hop by hop as the guides draw it; optionally one capture per interface.
 */
import { Command, Option } from 'commander';
import { runLab, type LabMode } from '../explain/lab/lab.js';
import { labJson, labText, writeLabCaptures } from '../explain/lab/render.js';
import { SetupError } from '../control/setup.js';
import { CaptureWriteError } from '../capture/errors.js';
import { CliError, Exit, readSetupText } from './errors.js';
import { ignoreEpipe } from './cmd_explain.js';
import { makeDirectory } from './cmd_replay.js';

export interface LabCliOptions {
  requests: string;
  setup?: string;
  arpIgnore: string;
  arpAnnounce: string;
  rpFilter: string;
  rsGateway: 'director' | 'router';
  upload?: string;
  seed: string;
  synRetries: string;
  pcapDir?: string;
  json?: boolean;
}

function intOpt(name: string, v: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new CliError(Exit.USAGE, `${name} takes an integer from ${min} to ${max}, got '${v}'`);
  return Number(v);
}

/** Runs the lab; the report goes to `out`. Returns the exit status. */
export function runLabCli(
  mode: string,
  opts: LabCliOptions,
  out: (s: string) => void = (s) => void process.stdout.write(s),
): number {
  if (mode !== 'dr' && mode !== 'nat' && mode !== 'tun')
    throw new CliError(Exit.USAGE, `lab takes dr, nat or tun, got '${mode}'`);
  const setupText = opts.setup ? readSetupText(opts.setup) : null;
  let result;
  try {
    result = runLab({
      mode: mode as LabMode,
      requests: intOpt('--requests', opts.requests, 1, 1000),
      setupText,
      setupFile: opts.setup,
      arpIgnore: intOpt('--arp-ignore', opts.arpIgnore, 0, 8),
      arpAnnounce: intOpt('--arp-announce', opts.arpAnnounce, 0, 2),
      rpFilter: intOpt('--rp-filter', opts.rpFilter, 0, 2),
      rsGateway: opts.rsGateway,
      upload: opts.upload === undefined ? null : intOpt('--upload', opts.upload, 0, 1_000_000),
      seed: intOpt('--seed', opts.seed, 0),
      synRetries: intOpt('--syn-retries', opts.synRetries, 0, 6),
    });
  } catch (e) {
    if (e instanceof SetupError) throw new CliError(Exit.SETUP, e.message);
    throw e;
  }
  out(opts.json ? JSON.stringify(labJson(result), null, 2) + '\n' : labText(result));
  if (opts.pcapDir) {
    try {
      makeDirectory(opts.pcapDir); // [robust] a clear error (exit 5) when it cannot be created
      const files = writeLabCaptures(result, opts.pcapDir);
      if (!opts.json) out(`\nwrote ${files.length} captures (one per interface) in ${opts.pcapDir}\n`);
    } catch (e) {
      if (e instanceof CaptureWriteError) throw new CliError(Exit.OUTPUT, e.message);
      throw e;
    }
  }
  return Exit.OK;
}

export function register(program: Command): void {
  program
    .command('lab')
    .description(
      'run the classic LVS lab (client, switch, director, two real servers) and print every hop of N HTTP requests',
    )
    .argument('<mode>', 'dr, nat or tun')
    .option('--requests <n>', 'HTTP requests, one TCP connection each', '4')
    .option(
      '--setup <file>',
      "the director's set-up instead of the guide's (same interface names: eth0, eth1)",
    )
    .option('--arp-ignore <n>', "the real servers' arp_ignore (0 shows the ARP problem)", '1')
    .option('--arp-announce <n>', "the real servers' arp_announce", '2')
    .option('--rp-filter <n>', "the real servers' rp_filter (TUN: 1 drops the decapsulated packets)", '0')
    .addOption(
      new Option('--rs-gateway <gw>', "NAT: the real servers' default gateway")
        .choices(['director', 'router'])
        .default('director'),
    )
    .option(
      '--upload <bytes>',
      'body of the last request (a POST); default 1460 for tun (an MTU-size packet), else 0',
    )
    .option('--syn-retries <n>', 'SYN retransmissions before the client gives up', '2')
    .option('--seed <n>', 'seed of the random choices (which ARP reply arrives first, IP IDs)', '1')
    .option('--pcap-dir <dir>', 'write DIR/HOST-IFACE.pcap, one capture per interface')
    .option('--json', 'print the result as JSON (docs/explain.md)')
    .action((mode: string, opts: LabCliOptions) => {
      ignoreEpipe();
      process.exitCode = runLabCli(mode, opts);
    });
}
