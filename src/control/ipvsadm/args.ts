/**
 * ipvsadm 1.31's command line: its option table (parsed the way libpopt
 * parses it: short-option clusters, `--long=arg`, `-p`'s optional argument,
 * leftover arguments), its per-option checks with their exact messages, the
 * commands/options compatibility table, the tunnel-type/options table and the
 * checks process_options() makes before talking to the kernel.
 *
 * parseIpvsadmArgs() returns the command to run; a usage error is thrown as
 * an IpvsadmError carrying ipvsadm's exact stderr text and exit status (2 for
 * its own checks, 255 for popt errors and the "Try `ipvsadm -h'" hint).
 */
import { IpAddr, type Af } from '../../wire/addr.js';
import {
  Fwd,
  Proto,
  SvcFlag,
  TunFlag,
  TunType,
  type FwdMethod,
  type TunTypeValue,
} from '../../ipvs/service.js';
import {
  atoi,
  hostToAddr,
  inetAton,
  inetPton4,
  inetPton6,
  strIsDigit,
  stringToNumber,
  strtolWhole,
} from './libc.js';
import { serviceToPort } from './services.js';

/** ipvsadm's commands, in its own order (cmdnames[]). */
export const CMD_NAMES = [
  'add-service',
  'edit-service',
  'delete-service',
  'flush',
  'list',
  'add-server',
  'delete-server',
  'edit-server',
  'set',
  'start-daemon',
  'stop-daemon',
  'restore',
  'save',
  'zero',
] as const;
export type IpvsadmCmdName = (typeof CMD_NAMES)[number] | 'help' | 'version';

/** ipvsadm's options (optnames[]); the index is the option's bit in its option set. */
export const OPT_NAMES = [
  'numeric',
  'connection',
  'service-address',
  'scheduler',
  'persistent',
  'netmask',
  'real-server',
  'forwarding-method',
  'weight',
  'u-threshold',
  'l-threshold',
  'mcast-interface',
  'timeout',
  'daemon',
  'stats',
  'rate',
  'thresholds',
  'persistent-conn',
  'nosort',
  'syncid',
  'exact',
  'ops',
  'pe',
  'sched-flags',
  'mcast-group',
  'mcast-port',
  'mcast-ttl',
  'sync-maxlen',
  'tun-info',
  'tun-type',
  'tun-port',
  'tun-nocsum',
  'tun-csum',
  'tun-remcsum',
] as const;
export type IpvsadmOptName = (typeof OPT_NAMES)[number];

/**
 * commands_v_options, one row per command (CMD_NAMES order), one character
 * per option (OPT_NAMES order): '+' compulsory, 'x' illegal, '1' at most one
 * of the '1' options, ' ' optional.
 */
const COMMANDS_V_OPTIONS: readonly string[] = [
  'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx', // add-service
  'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx', // edit-service
  'xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', // delete-service
  'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', // flush
  ' 11xxxxxxxxx11       xxxxxxx xxxxx', // list
  'xx+xxx+    xxxxxxxxxxxxxxxxxx     ', // add-server
  'xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx', // delete-server
  'xx+xxx+    xxxxxxxxxxxxxxxxxx     ', // edit-server
  'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', // set
  'xxxxxxxxxxx xxxxxxx xxxx    xxxxxx', // start-daemon
  'xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxx', // stop-daemon
  'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', // restore
  ' xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', // save
  'xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', // zero
];

const TUN_NAMES = ['ipip', 'gue', 'gre'] as const;
/** The tunnel options checked per tunnel type: tun-port, tun-nocsum, tun-csum, tun-remcsum. */
const TUN_OPTS: readonly IpvsadmOptName[] = ['tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'];
/** tunnel_types_v_options (rows ipip, gue, gre; columns TUN_OPTS). */
const TUNNEL_TYPES_V_OPTIONS: readonly string[] = ['xxxx', '+111', 'x11x'];

/** ipvsadm's default scheduler (DEF_SCHED). */
export const DEFAULT_SCHEDULER = 'wlc';
/** ipvsadm's persistence timeout when `-p` has no value (IPVS_SVC_PERSISTENT_TIMEOUT, 6*60 s). */
export const DEFAULT_PERSISTENT_TIMEOUT = 360;
/** MAX_TIMEOUT: 31 days. */
export const MAX_TIMEOUT = 86400 * 31;
/** The scheduler list ipvsadm 1.31's usage text prints (its SCHEDULERS file). */
export const USAGE_SCHEDULERS = 'rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh';

/** Listing format flags (FMT_*). */
export const Fmt = {
  NONE: 0,
  NUMERIC: 0x0001,
  RULE: 0x0002,
  STATS: 0x0004,
  RATE: 0x0008,
  THRESHOLDS: 0x0010,
  PERSISTENTCONN: 0x0020,
  NOSORT: 0x0040,
  EXACT: 0x0080,
  TUN_INFO: 0x0100,
} as const;

/** A virtual service as ipvsadm builds it (ipvs_service_t). */
export interface IpvsadmService {
  af: Af;
  protocol: number;
  /** null until an address option was given (then the zero address of the family is meant). */
  addr: IpAddr | null;
  port: number;
  fwmark: number;
  schedName: string;
  flags: number;
  timeout: number;
  /** IPv4: the mask as a 32-bit word; IPv6: a prefix length. */
  netmask: number;
  peName: string;
}

/** A real server as ipvsadm builds it (ipvs_dest_t). */
export interface IpvsadmDest {
  af: Af;
  addr: IpAddr | null;
  port: number;
  fwd: FwdMethod;
  weight: number;
  uThreshold: number;
  lThreshold: number;
  tunType: TunTypeValue;
  tunPort: number;
  tunFlags: number;
}

/** Sync daemon settings (ipvs_daemon_t); accepted, not simulated. */
export interface IpvsadmDaemon {
  state: 'master' | 'backup' | '';
  mcastIfn: string;
  syncid: number;
  syncMaxlen: number;
  mcastGroup: string;
  mcastPort: number;
  mcastTtl: number;
}

/** What one ipvsadm command line asks for. */
export interface IpvsadmCommand {
  cmd: IpvsadmCmdName;
  /** The options given (OPT_NAMES), as ipvsadm's option set. */
  options: ReadonlySet<IpvsadmOptName>;
  /** Listing format flags (Fmt). */
  format: number;
  svc: IpvsadmService;
  dest: IpvsadmDest;
  /** `--set tcp tcpfin udp`, seconds (0 keeps the current value). */
  timeouts: { tcp: number; tcpfin: number; udp: number };
  daemon: IpvsadmDaemon;
}

/** A usage error: ipvsadm's exact stderr text and exit status. */
export class IpvsadmError extends Error {
  readonly status: number;
  /** The full text ipvsadm writes to stderr (ends with a newline). */
  readonly stderr: string;
  /** Index in argv of the argument the error is about, or -1. */
  readonly argIndex: number;

  constructor(status: number, stderr: string, argIndex: number) {
    super(stderr.replace(/\n+$/, ''));
    this.status = status;
    this.stderr = stderr;
    this.argIndex = argIndex;
  }
}

// ---------------------------------------------------------------------------
// libpopt, as ipvsadm uses it (no aliases, no exec, no callbacks)

type ArgType = 'none' | 'string' | 'optional';

interface PoptOption {
  long: string;
  short: string;
  type: ArgType;
  /** The value poptGetNextOpt() returns for this option. */
  val: string;
}

/** ipvsadm's popt option table, in its order (the first match wins). */
const POPT_TABLE: readonly PoptOption[] = [
  { long: 'add-service', short: 'A', type: 'none', val: 'A' },
  { long: 'edit-service', short: 'E', type: 'none', val: 'E' },
  { long: 'delete-service', short: 'D', type: 'none', val: 'D' },
  { long: 'clear', short: 'C', type: 'none', val: 'C' },
  { long: 'list', short: 'L', type: 'none', val: 'L' },
  { long: 'list', short: 'l', type: 'none', val: 'l' },
  { long: 'zero', short: 'Z', type: 'none', val: 'Z' },
  { long: 'add-server', short: 'a', type: 'none', val: 'a' },
  { long: 'edit-server', short: 'e', type: 'none', val: 'e' },
  { long: 'delete-server', short: 'd', type: 'none', val: 'd' },
  { long: 'set', short: '', type: 'none', val: 'set' },
  { long: 'help', short: 'h', type: 'none', val: 'h' },
  { long: 'version', short: 'v', type: 'none', val: 'v' },
  { long: 'restore', short: 'R', type: 'none', val: 'R' },
  { long: 'save', short: 'S', type: 'none', val: 'S' },
  { long: 'start-daemon', short: '', type: 'string', val: 'start-daemon' },
  { long: 'stop-daemon', short: '', type: 'string', val: 'stop-daemon' },
  { long: 'tcp-service', short: 't', type: 'string', val: 't' },
  { long: 'udp-service', short: 'u', type: 'string', val: 'u' },
  { long: 'sctp-service', short: '', type: 'string', val: 'sctp-service' },
  { long: 'fwmark-service', short: 'f', type: 'string', val: 'f' },
  { long: 'scheduler', short: 's', type: 'string', val: 's' },
  { long: 'persistent', short: 'p', type: 'optional', val: 'p' },
  { long: 'netmask', short: 'M', type: 'string', val: 'M' },
  { long: 'real-server', short: 'r', type: 'string', val: 'r' },
  { long: 'masquerading', short: 'm', type: 'none', val: 'm' },
  { long: 'ipip', short: 'i', type: 'none', val: 'i' },
  { long: 'gatewaying', short: 'g', type: 'none', val: 'g' },
  { long: 'weight', short: 'w', type: 'string', val: 'w' },
  { long: 'u-threshold', short: 'x', type: 'string', val: 'x' },
  { long: 'l-threshold', short: 'y', type: 'string', val: 'y' },
  { long: 'numeric', short: 'n', type: 'none', val: 'n' },
  { long: 'connection', short: 'c', type: 'none', val: 'c' },
  { long: 'mcast-interface', short: '', type: 'string', val: 'mcast-interface' },
  { long: 'syncid', short: '', type: 'string', val: 'syncid' },
  { long: 'timeout', short: '', type: 'none', val: 'timeout' },
  { long: 'daemon', short: '', type: 'none', val: 'daemon' },
  { long: 'stats', short: '', type: 'none', val: 'stats' },
  { long: 'rate', short: '', type: 'none', val: 'rate' },
  { long: 'thresholds', short: '', type: 'none', val: 'thresholds' },
  { long: 'persistent-conn', short: '', type: 'none', val: 'persistent-conn' },
  { long: 'nosort', short: '', type: 'none', val: 'nosort' },
  { long: 'sort', short: '', type: 'none', val: 'sort' },
  { long: 'exact', short: 'X', type: 'none', val: 'X' },
  { long: 'ipv6', short: '6', type: 'none', val: '6' },
  { long: 'ops', short: 'o', type: 'none', val: 'o' },
  { long: 'pe', short: '', type: 'string', val: 'pe' },
  { long: 'sched-flags', short: 'b', type: 'string', val: 'b' },
  { long: 'mcast-group', short: '', type: 'string', val: 'mcast-group' },
  { long: 'mcast-port', short: '', type: 'string', val: 'mcast-port' },
  { long: 'mcast-ttl', short: '', type: 'string', val: 'mcast-ttl' },
  { long: 'sync-maxlen', short: '', type: 'string', val: 'sync-maxlen' },
  { long: 'tun-info', short: '', type: 'none', val: 'tun-info' },
  { long: 'tun-type', short: '', type: 'string', val: 'tun-type' },
  { long: 'tun-port', short: '', type: 'string', val: 'tun-port' },
  { long: 'tun-nocsum', short: '', type: 'none', val: 'tun-nocsum' },
  { long: 'tun-csum', short: '', type: 'none', val: 'tun-csum' },
  { long: 'tun-remcsum', short: '', type: 'none', val: 'tun-remcsum' },
];

type PoptError = 'BADOPT' | 'NOARG' | 'UNWANTEDARG';
const POPT_STRERROR: Record<PoptError, string> = {
  BADOPT: 'unknown option',
  NOARG: 'missing argument',
  UNWANTEDARG: 'option does not take an argument',
};

type PoptResult =
  | { kind: 'opt'; val: string; arg: string | null; index: number }
  | { kind: 'end' }
  | { kind: 'error'; err: PoptError };

/** Mirrors poptGetNextOpt()'s walk over argv (without argv[0]). */
class Popt {
  private next = 0;
  /** The rest of a short-option cluster still to read, or null. */
  private nextCharArg: string | null = null;
  private restLeftover = false;
  readonly leftovers: { text: string; index: number }[] = [];
  private nextLeftover = 0;

  constructor(private readonly argv: readonly string[]) {}

  getNextOpt(): PoptResult {
    const argv = this.argv;
    for (;;) {
      if (this.nextCharArg === null && this.next === argv.length) return { kind: 'end' };
      let opt: PoptOption | undefined;
      let longArg: string | null = null;
      if (this.nextCharArg === null) {
        const orig = argv[this.next++];
        if (this.restLeftover || orig[0] !== '-' || orig === '-') {
          this.leftovers.push({ text: orig, index: this.next - 1 });
          continue;
        }
        if (orig === '--') {
          this.restLeftover = true;
          continue;
        }
        let s = orig.slice(1);
        const oneDash = s[0] !== '-';
        if (!oneDash) s = s.slice(1);
        const eq = s.indexOf('=');
        const name = eq < 0 ? s : s.slice(0, eq);
        if (eq >= 0) longArg = s.slice(eq + 1);
        // a single dash never names a long option (none of ipvsadm's is ONEDASH)
        if (!oneDash) {
          opt = POPT_TABLE.find((o) => o.long === name);
          if (!opt) return { kind: 'error', err: 'BADOPT' };
        } else {
          this.nextCharArg = orig.slice(1);
          longArg = null;
        }
      }
      if (this.nextCharArg !== null) {
        const ch = this.nextCharArg[0];
        const rest = this.nextCharArg.slice(1);
        this.nextCharArg = null;
        opt = POPT_TABLE.find((o) => o.short !== '' && o.short === ch);
        if (!opt) return { kind: 'error', err: 'BADOPT' };
        if (rest !== '') this.nextCharArg = rest;
      }
      if (!opt) return { kind: 'error', err: 'BADOPT' };
      const index = this.next - 1;
      if (opt.type === 'none') {
        if (longArg !== null || (this.nextCharArg !== null && this.nextCharArg[0] === '='))
          return { kind: 'error', err: 'UNWANTEDARG' };
        return { kind: 'opt', val: opt.val, arg: null, index };
      }
      let arg: string | null;
      if (longArg !== null) arg = longArg;
      else if (this.nextCharArg !== null) {
        arg = this.nextCharArg[0] === '=' ? this.nextCharArg.slice(1) : this.nextCharArg;
        this.nextCharArg = null;
      } else if (this.next === argv.length) {
        if (opt.type !== 'optional') return { kind: 'error', err: 'NOARG' };
        arg = null;
      } else if (opt.type === 'optional' && argv[this.next][0] === '-') {
        arg = null;
      } else {
        arg = argv[this.next++];
        return { kind: 'opt', val: opt.val, arg, index: this.next - 1 };
      }
      return { kind: 'opt', val: opt.val, arg, index };
    }
  }

  /** poptBadOption(): the argv element last read. */
  badOption(): string {
    return this.argv[this.next - 1] ?? '';
  }

  badIndex(): number {
    return this.next - 1;
  }

  /** poptGetArg(): the next leftover (non-option) argument. */
  getArg(): { text: string; index: number } | undefined {
    return this.leftovers[this.nextLeftover++];
  }
}

// ---------------------------------------------------------------------------
// ipvsadm's parsing helpers

const SERVICE_ADDR = 1;
const SERVICE_PORT = 2;

function protoName(protocol: number): string {
  return protocol === Proto.TCP
    ? 'tcp'
    : protocol === Proto.UDP
      ? 'udp'
      : protocol === Proto.SCTP
        ? 'sctp'
        : '';
}

/** Mirrors parse_service(): fills addr/af/port (and netmask 128 for IPv6); returns SERVICE_* bits. */
function parseService(
  text: string,
  target: { af: Af; addr: IpAddr | null; port: number; netmask: number; protocol: number },
): number {
  if (strIsDigit(text)) return 0;
  let buf = text;
  let portText: string | null = null;
  if (buf[0] === '[') {
    buf = buf.slice(1);
    const close = buf.indexOf(']');
    if (close < 0) return 0;
    const after = buf.slice(close + 1);
    buf = buf.slice(0, close);
    if (after[0] !== ':') return 0;
    portText = after.slice(1);
  }
  const v6 = inetPton6(buf);
  if (v6) {
    target.addr = v6;
    target.af = 6;
    target.netmask = 128;
  } else {
    // the bracket form's port is forgotten here, as in ipvsadm
    portText = null;
    const colon = buf.lastIndexOf(':');
    if (colon >= 0) {
      portText = buf.slice(colon + 1);
      buf = buf.slice(0, colon);
    }
    const w = inetAton(buf) ?? hostToAddr(buf);
    if (w === undefined) return 0;
    target.addr = new IpAddr(4, w);
    target.af = 4;
  }
  let result = SERVICE_ADDR;
  if (portText !== null) {
    result |= SERVICE_PORT;
    const n = stringToNumber(portText, 0, 65535);
    if (n !== -1) target.port = n;
    else {
      const p = serviceToPort(portText, protoName(target.protocol));
      if (p === undefined) return 0;
      target.port = p;
    }
  }
  return result;
}

/** Mirrors parse_fwmark(): 1 .. 2^32-1. */
function parseFwmark(text: string): number | undefined {
  const v = strtolWhole(text);
  if (v === undefined || v <= 0 || v > 0xffffffff) return undefined;
  return v;
}

function parseSchedFlags(sched: string, arg: string, fail: (msg: string) => never): number {
  const s = sched || DEFAULT_SCHEDULER;
  let flags = 0;
  for (const flag of arg.split(',').filter((f) => f !== '')) {
    switch (flag) {
      case 'flag-1':
        flags |= SvcFlag.SCHED1;
        break;
      case 'flag-2':
        flags |= SvcFlag.SCHED2;
        break;
      case 'flag-3':
        flags |= SvcFlag.SCHED3;
        break;
      case 'sh-fallback':
      case 'sh-port':
        flags |= flag === 'sh-fallback' ? SvcFlag.SCHED1 : SvcFlag.SCHED2;
        if (s !== 'sh') fail(`incompatible scheduler flag \`${flag}'`);
        break;
      case 'mh-fallback':
      case 'mh-port':
        flags |= flag === 'mh-fallback' ? SvcFlag.SCHED1 : SvcFlag.SCHED2;
        if (s !== 'mh') fail(`incompatible scheduler flag \`${flag}'`);
        break;
      default:
        fail(`invalid scheduler flag \`${flag}'`);
    }
  }
  return flags;
}

function tryHelp(program: string): string {
  return `Try \`${program} -h' or '${program} --help' for more information.\n`;
}

/** A fresh command with ipvsadm's defaults (process_options()). */
export function defaultCommand(): IpvsadmCommand {
  return {
    cmd: 'list',
    options: new Set(),
    format: Fmt.NONE,
    svc: {
      af: 4,
      protocol: 0,
      addr: null,
      port: 0,
      fwmark: 0,
      schedName: '',
      flags: 0,
      timeout: 0,
      netmask: 0xffffffff,
      peName: '',
    },
    dest: {
      af: 4,
      addr: null,
      port: 0,
      fwd: Fwd.DROUTE,
      weight: 1,
      uThreshold: 0,
      lThreshold: 0,
      tunType: TunType.IPIP,
      tunPort: 0,
      tunFlags: TunFlag.NOCSUM,
    },
    timeouts: { tcp: 0, tcpfin: 0, udp: 0 },
    daemon: { state: '', mcastIfn: '', syncid: 0, syncMaxlen: 0, mcastGroup: '', mcastPort: 0, mcastTtl: 0 },
  };
}

const COMMAND_OF: Readonly<Record<string, IpvsadmCmdName>> = {
  A: 'add-service',
  E: 'edit-service',
  D: 'delete-service',
  a: 'add-server',
  e: 'edit-server',
  d: 'delete-server',
  C: 'flush',
  L: 'list',
  l: 'list',
  Z: 'zero',
  set: 'set',
  R: 'restore',
  S: 'save',
  'start-daemon': 'start-daemon',
  'stop-daemon': 'stop-daemon',
};

/**
 * Parses ipvsadm's arguments (without the program name) exactly as ipvsadm
 * 1.31 does; throws IpvsadmError with ipvsadm's message and exit status.
 * An empty argv is ipvsadm's bare invocation: list everything.
 */
export function parseIpvsadmArgs(argv: readonly string[], program = 'ipvsadm'): IpvsadmCommand {
  const ce = defaultCommand();
  if (argv.length === 0) return ce;
  const options = new Set<IpvsadmOptName>();
  ce.options = options;
  let errIndex = -1;
  const fail = (msg: string, status = 2): never => {
    throw new IpvsadmError(status, `${msg}\n`, errIndex);
  };
  const popt = new Popt(argv);
  const setOption = (name: IpvsadmOptName): void => {
    if (options.has(name)) fail(`multiple '${name}' options specified`);
    options.add(name);
  };

  // the first option must be a command
  const first = popt.getNextOpt();
  if (first.kind !== 'opt')
    throw new IpvsadmError(255, tryHelp(program), first.kind === 'error' ? popt.badIndex() : -1);
  errIndex = first.index;
  if (first.val === 'h') return { ...ce, cmd: 'help' };
  if (first.val === 'v') return { ...ce, cmd: 'version' };
  const cmd = COMMAND_OF[first.val];
  if (!cmd) throw new IpvsadmError(255, tryHelp(program), first.index);
  ce.cmd = cmd;
  if (cmd === 'start-daemon' || cmd === 'stop-daemon') {
    if (first.arg === 'master' || first.arg === 'backup') ce.daemon.state = first.arg;
    else
      fail(
        cmd === 'start-daemon'
          ? 'illegal start-daemon parameter specified'
          : 'illegal start_daemon specified',
      );
  }

  let schedFlagsArg = '';
  for (;;) {
    const r = popt.getNextOpt();
    if (r.kind === 'end') break;
    if (r.kind === 'error') {
      throw new IpvsadmError(255, `${popt.badOption()}: ${POPT_STRERROR[r.err]}\n`, popt.badIndex());
    }
    errIndex = r.index;
    const optarg = r.arg ?? '';
    switch (r.val) {
      case 't':
      case 'u':
      case 'sctp-service': {
        setOption('service-address');
        ce.svc.protocol = r.val === 't' ? Proto.TCP : r.val === 'u' ? Proto.UDP : Proto.SCTP;
        const parse = parseService(optarg, ce.svc);
        if (!(parse & SERVICE_ADDR)) fail('illegal virtual server address[:port] specified');
        break;
      }
      case 'f': {
        setOption('service-address');
        ce.svc.af = 4;
        ce.svc.protocol = Proto.TCP;
        const mark = parseFwmark(optarg);
        if (mark === undefined) fail(`invalid fwmark value \`${optarg}' specified`);
        ce.svc.fwmark = mark as number;
        break;
      }
      case 's':
        setOption('scheduler');
        ce.svc.schedName = optarg.slice(0, 15);
        break;
      case 'p':
        setOption('persistent');
        ce.svc.flags |= SvcFlag.PERSISTENT;
        ce.svc.timeout = parseTimeout(r.arg, 1, MAX_TIMEOUT, fail);
        break;
      case 'M':
        setOption('netmask');
        if (ce.svc.af !== 6) {
          const w = inetAton(optarg) ?? hostToAddr(optarg);
          if (w === undefined) fail('illegal virtual server persistent mask specified');
          ce.svc.netmask = w as number;
        } else {
          ce.svc.netmask = atoi(optarg);
          if (ce.svc.netmask < 1 || ce.svc.netmask > 128) fail('illegal ipv6 netmask specified');
        }
        break;
      case 'r': {
        setOption('real-server');
        const t = { ...ce.svc };
        const parse = parseService(optarg, t);
        ce.dest.af = t.af;
        ce.dest.addr = t.addr;
        ce.dest.port = t.port;
        if (!(parse & SERVICE_ADDR)) fail('illegal real server address[:port] specified');
        if (parse === SERVICE_ADDR) ce.dest.port = ce.svc.port;
        break;
      }
      case 'i':
        setOption('forwarding-method');
        ce.dest.fwd = Fwd.TUNNEL;
        break;
      case 'g':
        setOption('forwarding-method');
        ce.dest.fwd = Fwd.DROUTE;
        break;
      case 'm':
        setOption('forwarding-method');
        ce.dest.fwd = Fwd.MASQ;
        break;
      case 'w':
        setOption('weight');
        // Debian's ipvsadm 1.31 carries a patch raising the weight limit from 65535 to INT_MAX
        ce.dest.weight = stringToNumber(optarg, 0, 0x7fffffff);
        if (ce.dest.weight === -1) fail('illegal weight specified');
        break;
      case 'x':
        setOption('u-threshold');
        ce.dest.uThreshold = stringToNumber(optarg, 0, 0x7fffffff);
        if (ce.dest.uThreshold === -1) fail('illegal u_threshold specified');
        break;
      case 'y':
        setOption('l-threshold');
        ce.dest.lThreshold = stringToNumber(optarg, 0, 0x7fffffff);
        if (ce.dest.lThreshold === -1) fail('illegal l_threshold specified');
        break;
      case 'c':
        setOption('connection');
        break;
      case 'n':
        setOption('numeric');
        ce.format |= Fmt.NUMERIC;
        break;
      case 'mcast-interface':
        setOption('mcast-interface');
        ce.daemon.mcastIfn = optarg.slice(0, 15);
        break;
      case 'syncid':
        setOption('syncid');
        ce.daemon.syncid = stringToNumber(optarg, 0, 255);
        if (ce.daemon.syncid === -1) fail('illegal syncid specified');
        break;
      case 'timeout':
        setOption('timeout');
        break;
      case 'daemon':
        setOption('daemon');
        break;
      case 'stats':
        setOption('stats');
        ce.format |= Fmt.STATS;
        break;
      case 'rate':
        setOption('rate');
        ce.format |= Fmt.RATE;
        break;
      case 'thresholds':
        setOption('thresholds');
        ce.format |= Fmt.THRESHOLDS;
        break;
      case 'persistent-conn':
        setOption('persistent-conn');
        ce.format |= Fmt.PERSISTENTCONN;
        break;
      case 'nosort':
        setOption('nosort');
        ce.format |= Fmt.NOSORT;
        break;
      case 'sort':
        // the default; accepted for compatibility
        break;
      case 'X':
        setOption('exact');
        ce.format |= Fmt.EXACT;
        break;
      case '6':
        if (ce.svc.fwmark) {
          ce.svc.af = 6;
          ce.svc.netmask = 128;
        } else fail('-6 used before -f\n');
        break;
      case 'o':
        setOption('ops');
        ce.svc.flags |= SvcFlag.ONEPACKET;
        break;
      case 'pe':
        setOption('pe');
        ce.svc.peName = optarg.slice(0, 16);
        break;
      case 'b':
        setOption('sched-flags');
        schedFlagsArg = optarg.slice(0, 127);
        break;
      case 'mcast-group': {
        setOption('mcast-group');
        if (optarg.includes(':')) {
          const a = inetPton6(optarg);
          if (!a || a.w0 >>> 24 !== 0xff) fail(`invalid IPv6 mcast-group \`${optarg}'`);
        } else {
          const w = inetPton4(optarg);
          if (w === undefined || w >>> 28 !== 0xe) fail(`invalid IPv4 mcast-group \`${optarg}'`);
        }
        ce.daemon.mcastGroup = optarg;
        break;
      }
      case 'mcast-port':
        setOption('mcast-port');
        ce.daemon.mcastPort = stringToNumber(optarg, 1, 65535);
        if (ce.daemon.mcastPort === -1) fail('illegal mcast-port specified');
        break;
      case 'mcast-ttl':
        setOption('mcast-ttl');
        ce.daemon.mcastTtl = stringToNumber(optarg, 1, 255);
        if (ce.daemon.mcastTtl === -1) fail('illegal mcast-ttl specified');
        break;
      case 'sync-maxlen':
        setOption('sync-maxlen');
        ce.daemon.syncMaxlen = stringToNumber(optarg, 1, 65535 - 20 - 8);
        if (ce.daemon.syncMaxlen === -1) fail('illegal sync-maxlen specified');
        break;
      case 'tun-info':
        setOption('tun-info');
        ce.format |= Fmt.TUN_INFO;
        break;
      case 'tun-type': {
        setOption('tun-type');
        const i = TUN_NAMES.indexOf(optarg as (typeof TUN_NAMES)[number]);
        if (i < 0) fail('illegal tunnel type specified');
        ce.dest.tunType = i as TunTypeValue;
        break;
      }
      case 'tun-port':
        setOption('tun-port');
        ce.dest.tunPort = stringToNumber(optarg, 1, 65535);
        if (ce.dest.tunPort === -1) fail('illegal tunnel port specified');
        break;
      case 'tun-nocsum':
        setOption('tun-nocsum');
        ce.dest.tunFlags |= TunFlag.NOCSUM;
        break;
      case 'tun-csum':
        setOption('tun-csum');
        ce.dest.tunFlags |= TunFlag.CSUM;
        break;
      case 'tun-remcsum':
        setOption('tun-remcsum');
        ce.dest.tunFlags |= TunFlag.REMCSUM;
        break;
      default:
        // a second command, -h or -v after the command
        fail(`invalid option \`${popt.badOption()}'`);
    }
  }

  if (ce.cmd === 'set') {
    const a = popt.getArg();
    const b = a && popt.getArg();
    const c = b && popt.getArg();
    if (!a || !b || !c) {
      errIndex = -1;
      fail('--set option requires 3 timeout values');
    } else {
      errIndex = a.index;
      ce.timeouts.tcp = parseTimeout(a.text, 0, MAX_TIMEOUT, fail);
      errIndex = b.index;
      ce.timeouts.tcpfin = parseTimeout(b.text, 0, MAX_TIMEOUT, fail);
      errIndex = c.index;
      ce.timeouts.udp = parseTimeout(c.text, 0, MAX_TIMEOUT, fail);
    }
  }
  const extra = popt.getArg();
  if (extra) {
    errIndex = extra.index;
    fail(`unexpected argument ${extra.text}`);
  }
  if (schedFlagsArg) {
    errIndex = argv.findIndex((a, i) => i > 0 && (a === '-b' || a.startsWith('--sched-flags')));
    ce.svc.flags &= ~(SvcFlag.SCHED1 | SvcFlag.SCHED2 | SvcFlag.SCHED3);
    ce.svc.flags |= parseSchedFlags(ce.svc.schedName, schedFlagsArg, fail);
  }

  errIndex = -1;
  genericOptCheck(ce.cmd, options, fail);

  if (ce.cmd === 'add-service' || ce.cmd === 'edit-service') {
    if (!ce.svc.fwmark && !ce.svc.port && !(ce.svc.flags & SvcFlag.PERSISTENT))
      fail('Zero port specified for non-persistent service');
    if (ce.svc.flags & SvcFlag.ONEPACKET && !ce.svc.fwmark && ce.svc.protocol !== Proto.UDP)
      fail('One-Packet Scheduling is only for UDP virtual services');
    if (!ce.svc.schedName) ce.svc.schedName = DEFAULT_SCHEDULER;
  }
  if (ce.cmd === 'start-daemon' && !ce.daemon.mcastIfn) ce.daemon.mcastIfn = 'eth0';

  if (ce.cmd === 'add-server' || ce.cmd === 'edit-server') {
    const fwd = ce.dest.fwd;
    if (!ce.svc.fwmark && (fwd === Fwd.TUNNEL || fwd === Fwd.DROUTE)) ce.dest.port = ce.svc.port;
    if (ce.dest.af !== ce.svc.af && fwd !== Fwd.TUNNEL)
      fail('Different address family is allowed only for tunneling servers');
    const tunOpt = TUN_OPTS.some((o) => options.has(o)) || options.has('tun-type');
    if (tunOpt && fwd !== Fwd.TUNNEL) fail('Tunnel options conflict with forward method');
    tunnelOptCheck(ce.dest.tunType, options, fail);
  }

  if (ce.cmd === 'list') {
    const has = (n: IpvsadmOptName) => options.has(n);
    if (
      ((has('connection') || has('timeout') || has('daemon')) &&
        (has('stats') || has('rate') || has('thresholds'))) ||
      ((has('timeout') || has('daemon')) && has('persistent-conn'))
    )
      fail('options conflicts in the list command');
  }
  return ce;
}

function parseTimeout(text: string | null, min: number, max: number, fail: (m: string) => never): number {
  if (text === null) return DEFAULT_PERSISTENT_TIMEOUT;
  const v = stringToNumber(text, min, max);
  if (v === -1) fail(`invalid timeout value \`${text}' specified`);
  return v;
}

/** Mirrors generic_opt_check(). */
function genericOptCheck(
  cmd: IpvsadmCmdName,
  options: ReadonlySet<IpvsadmOptName>,
  fail: (m: string) => never,
): void {
  const i = CMD_NAMES.indexOf(cmd as (typeof CMD_NAMES)[number]);
  if (i < 0) return;
  const row = COMMANDS_V_OPTIONS[i];
  let last = -1;
  for (let j = 0; j < OPT_NAMES.length; j++) {
    const c = row[j];
    if (!options.has(OPT_NAMES[j])) {
      if (c === '+')
        fail(`You need to supply the '${OPT_NAMES[j]}' option for the '${CMD_NAMES[i]}' command`);
    } else {
      if (c === 'x') fail(`Illegal '${OPT_NAMES[j]}' option with the '${CMD_NAMES[i]}' command`);
      if (c === '1') {
        if (last < 0) {
          last = j;
          continue;
        }
        fail(
          `The option '${OPT_NAMES[j]}' conflicts with the '${OPT_NAMES[last]}' option in the '${CMD_NAMES[i]}' command`,
        );
      }
    }
  }
}

/** Mirrors tunnel_opt_check(). */
function tunnelOptCheck(
  tunType: number,
  options: ReadonlySet<IpvsadmOptName>,
  fail: (m: string) => never,
): void {
  const row = TUNNEL_TYPES_V_OPTIONS[tunType];
  let last = '';
  for (let j = 0; j < TUN_OPTS.length; j++) {
    const name = TUN_OPTS[j];
    const c = row[j];
    if (!options.has(name)) {
      if (c === '+')
        fail(`You need to supply the '${name}' option for the '${TUN_NAMES[tunType]}' tunnel type`);
    } else {
      if (c === 'x') fail(`Illegal '${name}' option with the '${TUN_NAMES[tunType]}' tunnel type`);
      if (c === '1') {
        if (!last) {
          last = name;
          continue;
        }
        fail(
          `The option '${name}' conflicts with the '${last}' option in the '${TUN_NAMES[tunType]}' tunnel type`,
        );
      }
    }
  }
}

/** ipvsadm's version line (`ipvsadm -v`). */
export function versionText(): string {
  return 'ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n';
}

/** ipvsadm's usage text (`ipvsadm -h`), program name substituted. */
export function usageText(program = 'ipvsadm'): string {
  const p = program;
  return (
    versionText() +
    'Usage:\n' +
    `  ${p} -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]\n` +
    `  ${p} -D virtual-service\n` +
    `  ${p} -C\n` +
    `  ${p} -R\n` +
    `  ${p} -S [-n]\n` +
    `  ${p} -a|e virtual-service -r server-address [options]\n` +
    `  ${p} -d virtual-service -r server-address\n` +
    `  ${p} -L|l [virtual-service] [options]\n` +
    `  ${p} -Z [virtual-service]\n` +
    `  ${p} --set tcp tcpfin udp\n` +
    `  ${p} --start-daemon {master|backup} [daemon-options]\n` +
    `  ${p} --stop-daemon {master|backup}\n` +
    `  ${p} -h\n\n` +
    'Commands:\n' +
    'Either long or short options are allowed.\n' +
    '  --add-service     -A        add virtual service with options\n' +
    '  --edit-service    -E        edit virtual service with options\n' +
    '  --delete-service  -D        delete virtual service\n' +
    '  --clear           -C        clear the whole table\n' +
    '  --restore         -R        restore rules from stdin\n' +
    '  --save            -S        save rules to stdout\n' +
    '  --add-server      -a        add real server with options\n' +
    '  --edit-server     -e        edit real server with options\n' +
    '  --delete-server   -d        delete real server\n' +
    '  --list            -L|-l     list the table\n' +
    '  --zero            -Z        zero counters in a service or all services\n' +
    '  --set tcp tcpfin udp        set connection timeout values\n' +
    '  --start-daemon              start connection sync daemon\n' +
    '  --stop-daemon               stop connection sync daemon\n' +
    '  --help            -h        display this help message\n\n' +
    'virtual-service:\n' +
    '  --tcp-service|-t  service-address   service-address is host[:port]\n' +
    '  --udp-service|-u  service-address   service-address is host[:port]\n' +
    '  --sctp-service    service-address   service-address is host[:port]\n' +
    '  --fwmark-service|-f fwmark          fwmark is an integer greater than zero\n' +
    '\n' +
    'Options:\n' +
    '  --ipv6         -6                   fwmark entry uses IPv6\n' +
    `  --scheduler    -s scheduler         one of ${USAGE_SCHEDULERS},\n` +
    `                                      the default scheduler is ${DEFAULT_SCHEDULER}.\n` +
    '  --pe            engine              alternate persistence engine may be sip,\n' +
    '                                      not set by default.\n' +
    '  --persistent   -p [timeout]         persistent service\n' +
    '  --netmask      -M netmask           persistent granularity mask\n' +
    '  --real-server  -r server-address    server-address is host (and port)\n' +
    '  --gatewaying   -g                   gatewaying (direct routing) (default)\n' +
    '  --ipip         -i                   ipip encapsulation (tunneling)\n' +
    '  --masquerading -m                   masquerading (NAT)\n' +
    '  --tun-type      type                one of ipip|gue|gre,\n' +
    '                                      the default tunnel type is ipip.\n' +
    '  --tun-port      port                tunnel destination port\n' +
    '  --tun-nocsum                        tunnel encapsulation without checksum\n' +
    '  --tun-csum                          tunnel encapsulation with checksum\n' +
    '  --tun-remcsum                       tunnel encapsulation with remote checksum\n' +
    '  --weight       -w weight            capacity of real server\n' +
    '  --u-threshold  -x uthreshold        upper threshold of connections\n' +
    '  --l-threshold  -y lthreshold        lower threshold of connections\n' +
    '  --connection   -c                   output of current IPVS connections\n' +
    '  --timeout                           output of timeout (tcp tcpfin udp)\n' +
    '  --daemon                            output of daemon information\n' +
    '  --stats                             output of statistics information\n' +
    '  --rate                              output of rate information\n' +
    '  --exact                             expand numbers (display exact values)\n' +
    '  --thresholds                        output of thresholds information\n' +
    '  --persistent-conn                   output of persistent connection info\n' +
    '  --tun-info                          output of tunnel information\n' +
    '  --nosort                            disable sorting output of service/server entries\n' +
    '  --sort                              does nothing, for backwards compatibility\n' +
    '  --ops          -o                   one-packet scheduling\n' +
    '  --numeric      -n                   numeric output of addresses and ports\n' +
    '  --sched-flags  -b flags             scheduler flags (comma-separated)\n' +
    'Daemon Options:\n' +
    '  --syncid sid                        syncid for connection sync (default=255)\n' +
    '  --sync-maxlen length                Max sync message length (default=1472)\n' +
    '  --mcast-interface interface         multicast interface for connection sync\n' +
    '  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)\n' +
    '  --mcast-port port                   UDP port (default=8848)\n' +
    '  --mcast-ttl ttl                     Multicast TTL (default=1)\n'
  );
}

/** The text of `Try \`PROGRAM -h' …` (exit status 255). */
export function tryHelpText(program = 'ipvsadm'): string {
  return tryHelp(program);
}
