/**
 * Runs ipvsadm commands against a simulated director: the configuring
 * commands change an `Ipvs` (ip_vs_ctl.c semantics, via its -errno results)
 * and fail with ipvsadm's own messages (libipvs's ipvs_strerror() table),
 * listings and `-S` print the state given, `-R` replays rule lines read the
 * way ipvsadm reads them (config_stream.c), `-h`/`-v` print ipvsadm's texts.
 *
 * Exit statuses are ipvsadm's: 0, 2 for its own argument checks, 255 (its
 * `return -1`) for popt errors and kernel errors, 1 when a listed service
 * does not exist.
 */
import { IpAddr } from '../../wire/addr.js';
import { Errno, type DestSpec, type ServiceSpec } from '../../ipvs/ctl.js';
import type { Service } from '../../ipvs/service.js';
import {
  Fmt,
  IpvsadmError,
  parseIpvsadmArgs,
  tryHelpText,
  usageText,
  versionText,
  type IpvsadmCmdName,
  type IpvsadmCommand,
} from './args.js';
import {
  connListText,
  daemonText,
  listAllText,
  serviceEntryText,
  timeoutText,
  titleText,
  type ListState,
} from './list.js';

export interface IpvsadmResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** strerror() texts of the errno values the control plane returns. */
const STRERROR: Readonly<Record<number, string>> = {
  1: 'Operation not permitted',
  2: 'No such file or directory',
  3: 'No such process',
  17: 'File exists',
  19: 'No such device',
  22: 'Invalid argument',
  34: 'Numerical result out of range',
  92: 'Protocol not available',
  95: 'Operation not supported',
  97: 'Address family not supported by protocol',
  99: 'Cannot assign requested address',
};

/** The libipvs function a command goes through (ipvs_strerror() keys its table on it). */
type LibFunc =
  | 'add_service'
  | 'update_service'
  | 'del_service'
  | 'zero_service'
  | 'add_dest'
  | 'update_dest'
  | 'del_dest'
  | 'set_timeout'
  | 'flush'
  | 'get_service'
  | 'start_daemon'
  | 'stop_daemon';

/** Mirrors ipvs_strerror(): the per-function messages, then the generic ones, then strerror(). */
export function ipvsStrerror(func: LibFunc, errno: number): string {
  const table: [LibFunc | null, number, string][] = [
    ['add_service', Errno.EEXIST, 'Service already exists'],
    ['add_service', Errno.ENOENT, 'Scheduler or persistence engine not found'],
    ['update_service', Errno.ESRCH, 'No such service'],
    ['update_service', Errno.ENOENT, 'Scheduler or persistence engine not found'],
    ['del_service', Errno.ESRCH, 'No such service'],
    ['zero_service', Errno.ESRCH, 'No such service'],
    ['add_dest', Errno.ESRCH, 'Service not defined'],
    ['add_dest', Errno.EEXIST, 'Destination already exists'],
    ['update_dest', Errno.ESRCH, 'Service not defined'],
    ['update_dest', Errno.ENOENT, 'No such destination'],
    ['del_dest', Errno.ESRCH, 'Service not defined'],
    ['del_dest', Errno.ENOENT, 'No such destination'],
    ['start_daemon', Errno.EEXIST, 'Daemon has already run'],
    ['stop_daemon', Errno.ESRCH, 'No daemon is running'],
    ['get_service', Errno.ESRCH, 'No such service'],
    [null, 1, 'Permission denied (you must be root)'],
    [null, Errno.EINVAL, 'Invalid operation.  Possibly wrong module version, address not unicast, ...'],
    [null, Errno.ENOPROTOOPT, 'Protocol not available'],
    [null, 12, 'Memory allocation problem'],
    [null, 95, 'Operation not supported with IPv6'],
    [null, Errno.EAFNOSUPPORT, 'Operation not supported with specified address family'],
    [null, 90, 'Module is wrong version'],
  ];
  for (const [f, e, m] of table) if ((f === null || f === func) && e === errno) return m;
  return STRERROR[errno] ?? `Unknown error ${errno}`;
}

/** The kernel-side failure of a configuring command: errno and the libipvs function it went through. */
export interface KernelFailure {
  errno: number;
  func: LibFunc;
}

function serviceSpec(cmd: IpvsadmCommand): ServiceSpec {
  const s = cmd.svc;
  return {
    af: s.af,
    protocol: s.protocol,
    addr: s.fwmark ? null : (s.addr ?? new IpAddr(s.af, 0)),
    port: s.fwmark ? 0 : s.port,
    fwmark: s.fwmark,
    schedName: s.schedName,
    flags: s.flags,
    timeout: s.timeout,
    netmask: s.netmask,
    peName: s.peName,
  };
}

function destSpec(cmd: IpvsadmCommand): DestSpec {
  const d = cmd.dest;
  return {
    af: d.af,
    addr: d.addr ?? new IpAddr(d.af, 0),
    port: d.port,
    fwd: d.fwd,
    weight: d.weight,
    uThreshold: d.uThreshold,
    lThreshold: d.lThreshold,
    tunType: d.tunType,
    tunPort: d.tunPort,
    tunFlags: d.tunFlags,
  };
}

/** The service a command names, as the kernel looks it up (by mark and family, or by protocol/address/port). */
export function findCommandService(cmd: IpvsadmCommand, state: ListState): Service | undefined {
  const u = serviceSpec(cmd);
  return state.ipvs.findService(u.af, u.protocol, u.addr, u.port, u.fwmark);
}

/** True for the commands that change the director's configuration. */
export function isConfiguring(cmd: IpvsadmCmdName): boolean {
  return (
    cmd === 'add-service' ||
    cmd === 'edit-service' ||
    cmd === 'delete-service' ||
    cmd === 'flush' ||
    cmd === 'add-server' ||
    cmd === 'edit-server' ||
    cmd === 'delete-server' ||
    cmd === 'set'
  );
}

/**
 * Applies a configuring command (or -Z) to the director, as ip_vs_genl_set_cmd()
 * does: returns null on success or the errno and libipvs function on failure.
 */
export function applyIpvsadmCommand(cmd: IpvsadmCommand, state: ListState): KernelFailure | null {
  const ipvs = state.ipvs;
  const fail = (func: LibFunc, r: number): KernelFailure | null => (r < 0 ? { errno: -r, func } : null);
  switch (cmd.cmd) {
    case 'flush':
      return fail('flush', ipvs.flush());
    case 'set':
      return fail('set_timeout', ipvs.setTimeout(cmd.timeouts.tcp, cmd.timeouts.tcpfin, cmd.timeouts.udp));
    case 'zero': {
      const s = cmd.svc;
      const named = s.fwmark !== 0 || (s.addr !== null && !s.addr.isZero()) || s.port !== 0;
      if (!named) return fail('zero_service', ipvs.zero(null));
      const svc = findCommandService(cmd, state);
      return svc ? fail('zero_service', ipvs.zero(svc)) : { errno: Errno.ESRCH, func: 'zero_service' };
    }
    case 'add-service':
      return fail('add_service', ipvs.addService(serviceSpec(cmd)));
    case 'start-daemon':
      return startDaemon(cmd, state);
    case 'stop-daemon': {
      const which = cmd.daemon.state === 'backup' ? 'backup' : 'master';
      if (!ipvs.syncDaemons[which]) return { errno: Errno.ESRCH, func: 'stop_daemon' };
      ipvs.syncDaemons[which] = null;
      return null;
    }
    default:
      break;
  }
  const svc = findCommandService(cmd, state);
  switch (cmd.cmd) {
    case 'edit-service':
      return svc
        ? fail('update_service', ipvs.editService(svc, serviceSpec(cmd)))
        : { errno: Errno.ESRCH, func: 'update_service' };
    case 'delete-service':
      return svc ? fail('del_service', ipvs.delService(svc)) : { errno: Errno.ESRCH, func: 'del_service' };
    case 'add-server': {
      if (!svc) return { errno: Errno.ESRCH, func: 'add_dest' };
      const d = destSpec(cmd);
      // ip_vs_new_dest(): the kernel refuses a subnet broadcast address of the director
      if (state.host?.isBroadcast(d.addr) && !ipvs.lookupDest(svc, d.af, d.addr, d.port))
        return { errno: Errno.EINVAL, func: 'add_dest' };
      return fail('add_dest', ipvs.addDest(svc, d));
    }
    case 'edit-server':
      return svc
        ? fail('update_dest', ipvs.editDest(svc, destSpec(cmd)))
        : { errno: Errno.ESRCH, func: 'update_dest' };
    case 'delete-server': {
      if (!svc) return { errno: Errno.ESRCH, func: 'del_dest' };
      const d = destSpec(cmd);
      return fail('del_dest', ipvs.delDest(svc, d.af, d.addr, d.port));
    }
    default:
      return null;
  }
}

/**
 * Mirrors ip_vs_genl_new_daemon() / start_sync_thread(): records the daemon
 * with the kernel's defaults (group 224.0.0.81, port 8848, TTL 1, maximum
 * message length from the interface MTU); nothing is sent.
 */
function startDaemon(cmd: IpvsadmCommand, state: ListState): KernelFailure | null {
  const ipvs = state.ipvs;
  const d = cmd.daemon;
  const which = d.state === 'backup' ? 'backup' : 'master';
  // the sync protocol cannot carry connections of mixed-family services
  if (ipvs.services.some((s) => s.dests.some((x) => x.af !== s.af)))
    return { errno: Errno.EINVAL, func: 'start_daemon' };
  if (ipvs.syncDaemons[which]) return { errno: Errno.EEXIST, func: 'start_daemon' };
  let linkMtu = 1500;
  const group = d.mcastGroup ? IpAddr.parse(d.mcastGroup) : new IpAddr(4, 0xe0000051);
  if (state.host && d.mcastIfn !== 'lo') {
    const link = state.host.findLink(d.mcastIfn);
    if (!link) return { errno: 19, func: 'start_daemon' };
    linkMtu = link.mtu;
    // joining an IPv6 group needs IPv6 on the link (the oracle enables it only with IPv6 addresses)
    if (group.af === 6 && !link.addrs.some((a) => a.addr.af === 6))
      return { errno: 99, func: 'start_daemon' };
  }
  const hlen = group.af === 6 ? 40 + 8 : 20 + 8;
  const mtu = which === 'backup' ? Math.min(Math.max(linkMtu, 1500), 65535) : 1500;
  const minLen = which === 'backup' ? 1024 : 1;
  const maxlen = d.syncMaxlen ? Math.min(Math.max(d.syncMaxlen, minLen), 65535 - hlen) : mtu - hlen;
  ipvs.syncDaemons[which] = {
    mcastIfn: d.mcastIfn,
    syncid: d.syncid,
    syncMaxlen: maxlen,
    mcastGroup: group,
    mcastPort: d.mcastPort || 8848,
    mcastTtl: d.mcastTtl || 1,
  };
  return null;
}

/** Runs one parsed command (not -R) and returns what ipvsadm would print and its exit status. */
export function execIpvsadm(cmd: IpvsadmCommand, state: ListState, program = 'ipvsadm'): IpvsadmResult {
  const ok = (stdout: string): IpvsadmResult => ({ status: 0, stdout, stderr: '' });
  switch (cmd.cmd) {
    case 'help':
      return ok(usageText(program));
    case 'version':
      return ok(versionText());
    case 'save':
      return ok(listAllText(cmd.format | Fmt.RULE, state));
    case 'list': {
      const o = cmd.options;
      if (o.has('connection')) return ok(connListText(cmd.format, state.conns));
      if (o.has('service-address')) {
        const svc = findCommandService(cmd, state);
        if (!svc) return { status: 1, stdout: '', stderr: `${ipvsStrerror('get_service', Errno.ESRCH)}\n` };
        return ok(titleText(cmd.format) + serviceEntryText(svc, cmd.format, state));
      }
      if (o.has('timeout')) return ok(timeoutText(state.ipvs));
      if (o.has('daemon')) return ok(daemonText(state.ipvs));
      return ok(listAllText(cmd.format, state));
    }
    case 'restore':
      return ok('');
    default: {
      const f = applyIpvsadmCommand(cmd, state);
      if (!f) return ok('');
      return { status: 255, stdout: '', stderr: `${ipvsStrerror(f.func, f.errno)}\n` };
    }
  }
}

/**
 * Mirrors config_stream_read(): splits `-R` input into lines of words
 * (space, tab and CR separate words; the word `ipvsadm` is dropped wherever
 * it appears; `#` does not start a comment). As in ipvsadm, a last line
 * that ends in two or more blanks and no newline is lost.
 */
export function restoreLines(input: string): string[][] {
  const lines: string[][] = [];
  const n = input.length;
  const isBlank = (c: string) => c === ' ' || c === '\t' || c === '\r';
  let pos = 0;
  for (;;) {
    const words: string[] = [];
    let lineDone = false;
    while (!lineDone) {
      if (pos >= n) {
        if (words.length > 0) lines.push(words);
        return lines;
      }
      const c = input[pos];
      if (isBlank(c) || c === '\n') {
        // no word here: skip blanks up to the end of the line
        for (;;) {
          if (pos >= n) return lines;
          const d = input[pos++];
          if (d === '\n') {
            lineDone = true;
            break;
          }
          if (!isBlank(d)) {
            pos--;
            break;
          }
        }
        continue;
      }
      let j = pos;
      while (j < n && !isBlank(input[j]) && input[j] !== '\n') j++;
      const word = input.slice(pos, j);
      if (word !== 'ipvsadm') words.push(word);
      pos = j;
      if (pos < n) {
        // the one blank or newline read with the word
        if (input[pos++] === '\n') lineDone = true;
      }
    }
    lines.push(words);
  }
}

/**
 * Runs ipvsadm with `argv` (without the program name) against `state`, as
 * the real program would: parse, check, apply or list. `stdin` feeds `-R`.
 */
export function runIpvsadm(
  argv: readonly string[],
  state: ListState,
  opts: { stdin?: string; program?: string } = {},
): IpvsadmResult {
  const program = opts.program ?? 'ipvsadm';
  let cmd: IpvsadmCommand;
  try {
    cmd = parseIpvsadmArgs(argv, program);
  } catch (e) {
    if (e instanceof IpvsadmError)
      return {
        status: e.status,
        stdout: e.status === 0 ? e.stderr : '',
        stderr: e.status === 0 ? '' : e.stderr,
      };
    throw e;
  }
  if (cmd.cmd !== 'restore') return execIpvsadm(cmd, state, program);
  // restore_table(): each line is a command; an argument error ends the run at once,
  // a kernel error is printed and the run goes on; the status is the last line's
  let stdout = '';
  let stderr = '';
  let status = 0;
  for (const words of restoreLines(opts.stdin ?? '')) {
    if (words.length === 0) continue;
    let c: IpvsadmCommand;
    try {
      c = parseIpvsadmArgs(words, program);
    } catch (e) {
      if (!(e instanceof IpvsadmError)) throw e;
      return { status: e.status, stdout, stderr: stderr + e.stderr };
    }
    if (c.cmd === 'restore') return { status: 255, stdout, stderr: stderr + tryHelpText(program) };
    if (c.cmd === 'help' || c.cmd === 'version') {
      const r = execIpvsadm(c, state, program);
      return { status: 0, stdout: stdout + r.stdout, stderr };
    }
    const r = execIpvsadm(c, state, program);
    stdout += r.stdout;
    stderr += r.stderr;
    if (r.status === 1) return { status: 1, stdout, stderr };
    status = r.status;
  }
  return { status, stdout, stderr };
}

/** The ipvsadm options that start a listing (a command word of their own). */
function startsWithCommand(argv: readonly string[]): boolean {
  const a = argv[0];
  if (a === undefined) return false;
  if (a.startsWith('--')) return true;
  return /^-[A-Za-z]/.test(a) && 'AEDCLlZaedRShv'.includes(a[1]);
}

/**
 * `ipvsadm -L OPTIONS` (or `-S [-n]`) as of `state`: what `ipvs-sim replay
 * --list 'OPTIONS'` prints. `argv` is split as a shell would split OPTIONS;
 * when it does not start with a command, `-L` is put in front (so `-n --stats`
 * and `-Ln --stats` both work). Commands that change the configuration are
 * refused with status 2.
 */
export function runIpvsadmListing(argv: readonly string[], state: ListState): IpvsadmResult {
  const args = startsWithCommand(argv) ? argv : ['-L', ...argv];
  let cmd: IpvsadmCommand;
  try {
    cmd = parseIpvsadmArgs(args);
  } catch (e) {
    if (e instanceof IpvsadmError) return { status: e.status, stdout: '', stderr: e.stderr };
    throw e;
  }
  if (cmd.cmd !== 'list' && cmd.cmd !== 'save')
    return {
      status: 2,
      stdout: '',
      stderr: `ipvs-sim: '${argv.join(' ')}' is not a listing (use -L/-l options or -S)\n`,
    };
  return execIpvsadm(cmd, state);
}
