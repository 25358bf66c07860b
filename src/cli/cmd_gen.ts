/**
 * `ipvs-sim gen`: the seeded traffic generator (src/gen/, docs/gen.md). Reads
 * the director's set-up and writes the frames that director would receive:
 * one capture (`-o`) or one pcap per director interface (`--out-dir`).
 */
import { Command, Option } from 'commander';
import {
  DEFAULT_GEN_OPTIONS,
  GenOptionError,
  parseRange,
  type ClientDist,
  type GenOptions,
} from '../gen/options.js';
import { Generator, type GenSummary } from '../gen/generator.js';
import { SetupError } from '../control/setup.js';
import { CaptureWriteError } from '../capture/errors.js';
import { CliError, Exit, readSetupText } from './errors.js';
import { makeDirectory } from './cmd_replay.js';

export interface GenCliOptions {
  setup: string;
  output?: string;
  outDir?: string;
  seed: string;
  flows?: string;
  rate?: string;
  duration: string;
  frames: string;
  clients: string;
  clientDist: string;
  zipfS: string;
  clientNet: string[];
  udp?: string;
  ipv6?: string;
  requests: string;
  requestSize: string;
  responseSize: string;
  rtt: string;
  think: string;
  rst: string;
  serverClose: string;
  retrans: string;
  underway: string;
  small?: boolean;
  start: string;
  replaySeed: string;
  nanosecond?: boolean;
  json?: boolean;
  lenient?: boolean;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function num(name: string, v: string): number {
  if (!/^\s*[0-9]+(\.[0-9]+)?\s*$/.test(v)) throw new GenOptionError(`${name} takes a number, got '${v}'`);
  return Number(v);
}

function int(name: string, v: string): number {
  if (!/^\s*[0-9]+\s*$/.test(v)) throw new GenOptionError(`${name} takes a whole number, got '${v}'`);
  return Number(v);
}

/** Command-line options to generator options (throws GenOptionError). */
export function genOptions(c: GenCliOptions): GenOptions {
  const d = DEFAULT_GEN_OPTIONS;
  const duration = num('--duration', c.duration);
  let flows = d.flows;
  if (c.flows !== undefined && c.rate !== undefined)
    throw new GenOptionError('give --flows or --rate, not both');
  if (c.flows !== undefined) flows = int('--flows', c.flows);
  if (c.rate !== undefined) flows = Math.round(num('--rate', c.rate) * duration);
  return {
    seed: int('--seed', c.seed),
    flows,
    duration,
    maxFrames: int('--frames', c.frames),
    clients: int('--clients', c.clients),
    clientDist: c.clientDist as ClientDist,
    zipfS: num('--zipf-s', c.zipfS),
    clientNets: c.clientNet,
    udpShare: c.udp === undefined ? null : num('--udp', c.udp),
    ipv6Share: c.ipv6 === undefined ? null : num('--ipv6', c.ipv6),
    requests: parseRange('--requests', c.requests, true),
    requestSize: parseRange('--request-size', c.requestSize, true),
    responseSize: parseRange('--response-size', c.responseSize, true),
    rttMs: parseRange('--rtt', c.rtt, false),
    thinkMs: num('--think', c.think),
    rstShare: num('--rst', c.rst),
    serverCloseShare: num('--server-close', c.serverClose),
    retransShare: num('--retrans', c.retrans),
    underwayShare: num('--underway', c.underway),
    small: c.small === true,
    startEpoch: int('--start', c.start),
    replaySeed: int('--replay-seed', c.replaySeed),
  };
}

/** Text summary printed on stderr. */
export function formatGenSummary(s: GenSummary): string {
  const lines: string[] = [];
  const per = Object.entries(s.framesPerInterface)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  lines.push(
    `frames: ${s.frames} (${(s.bytes / 1e6).toFixed(1)} MB) over ${s.simulatedSeconds.toFixed(3)} s; per interface: ${per}`,
  );
  const f = s.flows;
  lines.push(
    `flows: ${f.total} (TCP ${f.tcp}, UDP ${f.udp}; IPv4 ${f.ipv4}, IPv6 ${f.ipv6}); under way at the start ${f.underway}` +
      `; with NAT replies ${f.nat}` +
      (f.refused ? `; refused by the director ${f.refused}` : '') +
      (f.open ? `; still open at the frame cap ${f.open}` : ''),
  );
  for (const [fam, c] of Object.entries(s.clients))
    lines.push(
      `clients (${fam}): ${c.count} from ${c.origin}, arriving on ${c.interface}; busiest client ${(100 * c.topShare).toFixed(1)}% of the flows`,
    );
  const rs = Object.entries(s.perRealServer);
  if (rs.length) lines.push(`NAT flows per real server: ${rs.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const w of s.warnings) lines.push(`warning: ${w}`);
  for (const o of s.outputs) lines.push(`  wrote ${o}`);
  return lines.join('\n') + '\n';
}

export function runGen(c: GenCliOptions): number {
  if (!c.output && !c.outDir) throw new CliError(Exit.USAGE, 'give an output: -o FILE or --out-dir DIR');
  if (c.output && c.outDir) throw new CliError(Exit.USAGE, '-o and --out-dir are mutually exclusive');
  const setupText = readSetupText(c.setup);
  let summary: GenSummary;
  if (c.outDir) makeDirectory(c.outDir); // [robust] a clear error (exit 5) when it cannot be created
  try {
    const g = new Generator({
      setupText,
      setupFile: c.setup,
      lenient: c.lenient === true,
      options: genOptions(c),
      output: c.output
        ? { file: c.output, nanosecond: c.nanosecond }
        : { dir: c.outDir, nanosecond: c.nanosecond },
    });
    summary = g.run();
  } catch (e) {
    if (e instanceof GenOptionError) throw new CliError(Exit.USAGE, e.message);
    if (e instanceof SetupError) throw new CliError(Exit.SETUP, e.message);
    if (e instanceof CaptureWriteError) throw new CliError(Exit.OUTPUT, e.message);
    throw e;
  }
  if (c.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  process.stderr.write(formatGenSummary(summary));
  return Exit.OK;
}

export function register(program: Command): void {
  const d = DEFAULT_GEN_OPTIONS;
  const range = (r: { min: number; max: number }): string =>
    r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`;
  program
    .command('gen')
    .description(
      'generate seeded TCP/UDP traffic toward the virtual services of a set-up, as the frames the director receives\n' +
        '(client frames; for NAT real servers also their replies, on the server-side interface)',
    )
    .requiredOption(
      '--setup <file>',
      "the director's set-up: interfaces, MACs, addresses and virtual services",
    )
    .option(
      '-o, --output <file>',
      'one capture: pcapng with one interface per director interface (pcap if FILE ends in .pcap)',
    )
    .option(
      '--out-dir <dir>',
      'one DIR/IFACE.pcap per director interface (for replay --in IFACE=DIR/IFACE.pcap)',
    )
    .option('--seed <n>', 'seed of every random choice: same seed, same bytes', String(d.seed))
    .option('--flows <n>', `number of flows (default ${d.flows})`)
    .option('--rate <flows/s>', 'new flows per second instead of --flows (flows = rate x duration)')
    .option('--duration <s>', 'seconds over which new flows start', String(d.duration))
    .option('--frames <n>', 'stop after N frames (0: when every flow has ended)', String(d.maxFrames))
    .option('--clients <n>', 'size of the client population', String(d.clients))
    .addOption(
      new Option(
        '--client-dist <dist>',
        'how flows pick clients: uniform, zipf (a few heavy clients), subnet (one /24)',
      )
        .choices(['uniform', 'zipf', 'subnet'])
        .default(d.clientDist),
    )
    .option('--zipf-s <s>', 'Zipf exponent: client of rank k gets weight 1/k^s', String(d.zipfS))
    .option(
      '--client-net <cidr>',
      "clients' network, one per family (default: from the set-up's routes)",
      collect,
      [],
    )
    .option('--udp <share>', 'share of UDP flows (default 0.1 when the set-up has TCP and UDP services)')
    .option('--ipv6 <share>', 'share of flows to IPv6 services (default 0.2 when it has both families)')
    .option('--requests <min-max>', 'request/response exchanges per flow', range(d.requests))
    .option('--request-size <min-max>', 'request bytes, log-uniform', range(d.requestSize))
    .option('--response-size <min-max>', 'response bytes, log-uniform', range(d.responseSize))
    .option('--rtt <min-max>', 'client round-trip time in ms, log-uniform per flow', range(d.rttMs))
    .option('--think <ms>', 'mean think time between a response and the next request', String(d.thinkMs))
    .option('--rst <share>', 'share of TCP flows ending with a client RST', String(d.rstShare))
    .option(
      '--server-close <share>',
      'share of FIN endings where the server closes first',
      String(d.serverCloseShare),
    )
    .option(
      '--retrans <p>',
      'probability that a request or a response has a retransmitted segment',
      String(d.retransShare),
    )
    .option(
      '--underway <share>',
      'share of flows already under way when the capture starts',
      String(d.underwayShare),
    )
    .option(
      '--small',
      'minimum-size frames only (60 bytes): IPv4, no TCP options, payloads <= 6 bytes (UDP 18)',
    )
    .option('--start <unix-seconds>', 'timestamp of time 0', String(d.startEpoch))
    .option(
      '--replay-seed <n>',
      'the --seed the capture will be replayed with (NAT: picks the same real servers)',
      String(d.replaySeed),
    )
    .option('--nanosecond', 'nanosecond pcap timestamps (pcapng is always ns)')
    .option('--json', 'print a machine-readable summary on stdout')
    .option('--lenient', 'skip unsupported set-up commands with a warning instead of failing')
    .action((opts: GenCliOptions) => {
      process.exitCode = runGen(opts);
    });
}
