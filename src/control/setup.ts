/**
 * The director's set-up script: the commands an administrator types on an
 * LVS director, one per line (the format of the oracle scenarios' `setup`
 * files, docs/setup.md):
 *
 *   ip link set / ip addr add / ip neigh add / ip route add   (iproute2)
 *   sysctl -w KEY=VALUE, echo VALUE > /proc/sys/…            (sysctls)
 *   ipvsadm …, or a bare `-A …` / `-a …` line                (ipvsadm-save -n)
 *   iptables -t mangle -A PREROUTING … -j MARK --set-mark N  (firewall marks)
 *   @SECONDS COMMAND                                          (timed command)
 *   # comment, #oracle: … (oracle settings, ignored)
 *
 * parseSetup() checks the syntax of every line up front; applying a command
 * can still fail on the state (a real server for a missing service, an
 * unknown scheduler, a duplicate address), which validateSetup() finds before
 * a replay starts by dry-running every command on a scratch director. Every
 * error names the file, line and column.
 */
import type { IpAddr } from '../wire/addr.js';
import { FwmarkRules } from '../ipvs/fwmark.js';
import { Host, HostError } from '../ipvs/host.js';
import type { Ipvs } from '../ipvs/ctl.js';
import { Errno } from '../ipvs/ctl.js';
import { Sysctls, SysctlError } from '../ipvs/sysctl.js';
import { IpvsadmError, parseIpvsadmArgs, type IpvsadmCommand } from './ipvsadm/args.js';
import { applyIpvsadmCommand, ipvsStrerror, isConfiguring } from './ipvsadm/exec.js';
import { LineError, parseIpCommand, type IpAction } from './ipcmd.js';
import { cloneRule, parseIptables, type IptablesAction } from './iptables.js';
import { ShellSyntaxError, splitWords, type Word } from './shell.js';

/** What a set-up script configures: one simulated director (`sysctl` is the object `ipvs` was built with). */
export interface SetupTarget {
  host: Host;
  sysctl: Sysctls;
  ipvs: Ipvs;
  fwmarks: FwmarkRules;
}

/** A set-up problem, located: `FILE:LINE:COLUMN: what is wrong`. */
export class SetupError extends Error {
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
  /** 1-based column of the word the error is about. */
  readonly column: number;
  /** The message without the location. */
  readonly reason: string;
  /** The text of the line (for showing the context). */
  readonly source: string;

  constructor(file: string, line: number, column: number, reason: string, source = '') {
    super(`${file}:${line}:${column}: ${reason}`);
    this.name = 'SetupError';
    this.file = file;
    this.line = line;
    this.column = column;
    this.reason = reason;
    this.source = source;
  }
}

/** One sysctl assignment of a `sysctl` or `echo … > /proc/sys/…` line. */
export interface SysctlSetting {
  key: string;
  value: string;
  col: number;
}

/** The parsed meaning of a set-up line. */
export type SetupAction =
  | IpAction
  | { type: 'sysctl'; settings: SysctlSetting[] }
  | { type: 'ipvsadm'; argv: string[]; cols: number[]; command: IpvsadmCommand }
  | { type: 'fwmark'; iptables: IptablesAction };

export interface SetupCommand {
  /** The file the command comes from (for error messages). */
  file: string;
  /** 1-based line number. */
  line: number;
  /** Last physical line of the command (> line when backslashes continue it). */
  endLine: number;
  /** 1-based column of the command word (after any `@SECONDS`). */
  column: number;
  /** The line as written (without the line break). */
  text: string;
  /** Seconds after the first frame for a timed `@SECONDS` command, null for an untimed one. */
  atSeconds: number | null;
  /** Which program the line runs. */
  kind: 'ip' | 'sysctl' | 'ipvsadm' | 'iptables' | 'noop';
  action: SetupAction;
}

export interface SetupScript {
  file: string;
  /** The untimed commands, in file order. */
  commands: SetupCommand[];
  /** The timed commands, sorted by time (stable: file order for equal times). */
  timed: SetupCommand[];
  /** Lines skipped with `lenient` (unsupported commands), as `FILE:LINE:COL: …`. */
  warnings: string[];
}

/** Host commands from lab guides accepted as no-ops (docs/setup.md). */
const MODULE_OK =
  /^(ip_vs(_\w+)?|nf_conntrack(_\w+)?|ipip|ip6_tunnel|ip_gre|ip6_gre|fou|fou6|gre|8021q|dummy|bridge|veth)$/;

/** A word list with the column of each word, for ipvsadm argument errors. */
function ipvsadmAction(words: readonly Word[], cmdWord: Word): SetupAction {
  const argv = words.map((w) => w.text);
  const cols = words.map((w) => w.col);
  let command: IpvsadmCommand;
  try {
    command = parseIpvsadmArgs(argv);
  } catch (e) {
    if (!(e instanceof IpvsadmError)) throw e;
    const col = e.argIndex >= 0 && e.argIndex < cols.length ? cols[e.argIndex] : cmdWord.col;
    if (e.stderr.startsWith('Try `'))
      throw new LineError(
        col,
        'ipvsadm: the first option must be a command (-A, -E, -D, -C, -a, -e, -d, -L, -Z, -S, --set, …)',
      );
    throw new LineError(col, `ipvsadm: ${e.stderr.replace(/\n+$/, '').replace(/\n/g, ' ')}`);
  }
  if (command.cmd === 'restore')
    throw new LineError(
      cmdWord.col,
      'ipvsadm -R reads rules from standard input: put the rules in the set-up instead',
      true,
    );
  return { type: 'ipvsadm', argv, cols, command };
}

function sysctlAction(words: readonly Word[]): SetupAction {
  const settings: SysctlSetting[] = [];
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    if (w.text.startsWith('-')) {
      if (/^-[wqeN]+$/.test(w.text)) continue;
      if (/^-[an]+$/.test(w.text) || w.text === '-A') continue;
      throw new LineError(
        w.col,
        `sysctl option '${w.text}' is not supported (use sysctl -w KEY=VALUE)`,
        true,
      );
    }
    const eq = w.text.indexOf('=');
    const key = Sysctls.normalise(eq < 0 ? w.text : w.text.slice(0, eq));
    if (!Sysctls.isKnown(key)) throw new LineError(w.col, `unknown sysctl key '${key}' (see docs/sysctl.md)`);
    // reading a key is harmless
    if (eq < 0) continue;
    settings.push({ key, value: w.text.slice(eq + 1), col: w.col });
  }
  return { type: 'sysctl', settings };
}

function echoAction(words: readonly Word[]): SetupAction {
  const r = words.findIndex((w) => w.redirect);
  if (r < 0) return { type: 'noop', reason: 'echo to standard output' };
  const target = words[r + 1];
  if (!target) throw new LineError(words[r].col, `'${words[r].text}' needs a file name`);
  if (words.length > r + 2)
    throw new LineError(words[r + 2].col, `unexpected '${words[r + 2].text}' after the file name`);
  if (!target.text.startsWith('/proc/sys/'))
    throw new LineError(
      target.col,
      `writing to '${target.text}' is not modelled (only /proc/sys/… sysctls)`,
      true,
    );
  const key = Sysctls.normalise(target.text);
  if (!Sysctls.isKnown(key))
    throw new LineError(target.col, `unknown sysctl '${target.text}' (see docs/sysctl.md)`);
  const args = words.slice(1, r).filter((w, i) => !(i === 0 && /^-[neE]+$/.test(w.text)));
  return {
    type: 'sysctl',
    settings: [{ key, value: args.map((w) => w.text).join(' '), col: args[0]?.col ?? target.col }],
  };
}

function modprobeAction(words: readonly Word[]): SetupAction {
  const mods = words.slice(1).filter((w) => !w.text.startsWith('-'));
  if (mods.length === 0) throw new LineError(words[0].col, "'modprobe' needs a module name");
  for (const m of mods)
    if (!MODULE_OK.test(m.text)) throw new LineError(m.col, `module '${m.text}' is not modelled`, true);
  return { type: 'noop', reason: 'modprobe' };
}

const IPVSADM_PROG = /^(\/(usr\/)?s?bin\/)?ipvsadm$/;
const IPTABLES_PROG = /^(\/(usr\/)?s?bin\/)?ip6?tables(-legacy|-nft)?$/;
const IP_PROG = /^(\/(usr\/)?s?bin\/)?ip$/;
const SYSCTL_PROG = /^(\/(usr\/)?s?bin\/)?sysctl$/;

/** Parses one command (the words after any `@SECONDS`). */
function parseCommand(words: readonly Word[]): { kind: SetupCommand['kind']; action: SetupAction } {
  const w0 = words[0];
  const prog = w0.text;
  const redirect = words.find((w) => w.redirect);
  if (redirect && prog !== 'echo')
    throw new LineError(
      redirect.col,
      `redirection '${redirect.text}' is only supported for 'echo VALUE > /proc/sys/…'`,
      true,
    );
  if (prog.startsWith('-')) return { kind: 'ipvsadm', action: ipvsadmAction(words, w0) };
  if (IPVSADM_PROG.test(prog)) return { kind: 'ipvsadm', action: ipvsadmAction(words.slice(1), w0) };
  if (IP_PROG.test(prog)) {
    const a = parseIpCommand(words);
    return { kind: a.type === 'noop' ? 'noop' : 'ip', action: a };
  }
  if (SYSCTL_PROG.test(prog)) return { kind: 'sysctl', action: sysctlAction(words) };
  if (prog === 'echo') {
    const a = echoAction(words);
    return { kind: a.type === 'noop' ? 'noop' : 'sysctl', action: a };
  }
  if (IPTABLES_PROG.test(prog)) {
    const a = parseIptables(words);
    return { kind: 'iptables', action: { type: 'fwmark', iptables: a } };
  }
  if (/^(\/(usr\/)?s?bin\/)?modprobe$/.test(prog)) return { kind: 'noop', action: modprobeAction(words) };
  if (/^(\/(usr\/)?s?bin\/)?ipvsadm-save$/.test(prog)) {
    for (const w of words.slice(1))
      if (w.text !== '-n') throw new LineError(w.col, `ipvsadm-save takes only -n, not '${w.text}'`);
    return { kind: 'noop', action: { type: 'noop', reason: 'ipvsadm-save' } };
  }
  throw new LineError(
    w0.col,
    `'${prog}' is not a command the simulator models (ip, sysctl, echo > /proc/sys, ipvsadm, iptables -t mangle, modprobe)`,
    true,
  );
}

/** Splits the text into logical lines (a trailing backslash continues a line). */
function logicalLines(text: string): { line: number; endLine: number; text: string }[] {
  const raw = text.split('\n');
  const out: { line: number; endLine: number; text: string }[] = [];
  for (let i = 0; i < raw.length; i++) {
    const start = i;
    let t = raw[i].replace(/\r$/, '');
    while (/(^|[^\\])(\\\\)*\\$/.test(t) && i + 1 < raw.length && !t.trimStart().startsWith('#')) {
      t = t.slice(0, -1) + raw[++i].replace(/\r$/, '');
    }
    out.push({ line: start + 1, endLine: i + 1, text: t });
  }
  return out;
}

/**
 * Parses a set-up script; the syntax of every line is checked here (a
 * problem throws SetupError naming the line and column). With `lenient`,
 * commands the simulator does not model are skipped with a warning instead
 * (invalid arguments of modelled commands are still errors).
 */
export function parseSetup(text: string, opts: { file?: string; lenient?: boolean } = {}): SetupScript {
  const file = opts.file ?? 'setup';
  const script: SetupScript = { file, commands: [], timed: [], warnings: [] };
  for (const { line, endLine, text: src } of logicalLines(text)) {
    let words: Word[];
    try {
      words = splitWords(src);
    } catch (e) {
      if (!(e instanceof ShellSyntaxError)) throw e;
      if (opts.lenient) {
        script.warnings.push(`${file}:${line}:${e.col}: skipped: ${e.message}`);
        continue;
      }
      throw new SetupError(file, line, e.col, e.message, src);
    }
    if (words.length === 0) continue;
    let atSeconds: number | null = null;
    if (words[0].text.startsWith('@') && !words[0].redirect) {
      const m = /^@(\d+(?:\.\d*)?|\.\d+)$/.exec(words[0].text);
      if (!m)
        throw new SetupError(
          file,
          line,
          words[0].col,
          `invalid time '${words[0].text}' (expected @SECONDS, e.g. @2.5)`,
          src,
        );
      atSeconds = Number(m[1]);
      words = words.slice(1);
      if (words.length === 0)
        throw new SetupError(file, line, 1, `'@${m[1]}' needs a command after the time`, src);
    }
    if (words[0].text === 'sudo') {
      words = words.slice(1);
      if (words.length === 0) throw new SetupError(file, line, 1, "'sudo' needs a command", src);
    }
    let parsed: { kind: SetupCommand['kind']; action: SetupAction };
    try {
      parsed = parseCommand(words);
    } catch (e) {
      if (!(e instanceof LineError)) throw e;
      if (e.unsupported && opts.lenient) {
        script.warnings.push(`${file}:${line}:${e.col}: skipped: ${e.message}`);
        continue;
      }
      throw new SetupError(file, line, e.col, e.message, src);
    }
    const cmd: SetupCommand = {
      file,
      line,
      endLine,
      column: words[0].col,
      text: src,
      atSeconds,
      kind: parsed.kind,
      action: parsed.action,
    };
    (atSeconds === null ? script.commands : script.timed).push(cmd);
  }
  // Array.prototype.sort is stable: equal times keep file order
  script.timed.sort((a, b) => (a.atSeconds as number) - (b.atSeconds as number));
  return script;
}

function serviceText(cmd: IpvsadmCommand): string {
  const s = cmd.svc;
  if (s.fwmark) return `FWM ${s.fwmark}${s.af === 6 ? ' IPv6' : ''}`;
  const proto = s.protocol === 6 ? 'TCP' : s.protocol === 17 ? 'UDP' : 'SCTP';
  const a = s.addr ? (s.af === 6 ? `[${s.addr}]` : s.addr.toString()) : '?';
  return `${proto} ${a}:${s.port}`;
}

function destText(cmd: IpvsadmCommand): string {
  const d = cmd.dest;
  const a = d.addr ? (d.af === 6 ? `[${d.addr}]` : d.addr.toString()) : '?';
  return `${a}:${d.port}`;
}

/** The message for a failed ipvsadm command: ipvsadm's text plus what it is about. */
function ipvsadmFailure(
  cmd: IpvsadmCommand,
  target: SetupTarget,
  errno: number,
  func: Parameters<typeof ipvsStrerror>[0],
): string {
  const msg = `ipvsadm: ${ipvsStrerror(func, errno)}`;
  if (errno === Errno.ENOENT && (func === 'add_service' || func === 'update_service')) {
    const name = cmd.svc.schedName;
    if (name !== 'none' && !target.ipvs.schedulers.has(name))
      return `${msg}: no scheduler '${name}' (valid: ${[...target.ipvs.schedulers.keys()].join(', ')})`;
    return `${msg}: no persistence engine '${cmd.svc.peName}' (valid: sip)`;
  }
  if (errno === Errno.ESRCH) return `${msg} (${serviceText(cmd)})`;
  if (errno === Errno.EEXIST && func === 'add_service') return `${msg} (${serviceText(cmd)})`;
  if (func === 'add_dest' || func === 'update_dest' || func === 'del_dest')
    return `${msg} (${destText(cmd)} in ${serviceText(cmd)})`;
  return msg;
}

function wrapHost<T>(cmd: SetupCommand, col: number, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof HostError || e instanceof SysctlError)
      throw new SetupError(cmd.file, cmd.line, col, e.message, cmd.text);
    throw e;
  }
}

function linkFor(cmd: SetupCommand, host: Host, dev: string, col: number) {
  return wrapHost(cmd, col, () => host.link(dev));
}

/** Applies one command to a director; a failure throws SetupError naming the line. */
export function applySetupCommand(cmd: SetupCommand, target: SetupTarget): void {
  const a = cmd.action;
  const host = target.host;
  const err = (col: number, reason: string): never => {
    throw new SetupError(cmd.file, cmd.line, col, reason, cmd.text);
  };
  switch (a.type) {
    case 'noop':
      return;
    case 'link': {
      if (a.dev === 'lo') {
        if (a.mac !== null) err(a.devCol, "'lo' has no MAC address to set");
        return;
      }
      const link = linkFor(cmd, host, a.dev, a.devCol);
      if (a.mac !== null) host.setMac(link, a.mac);
      if (a.mtu !== null) wrapHost(cmd, a.mtuCol, () => host.setMtu(link, a.mtu as number));
      return;
    }
    case 'addr':
      if (a.dev === 'lo') wrapHost(cmd, a.col, () => host.addLoopbackAddress(a.addr, a.plen));
      else {
        const link = linkFor(cmd, host, a.dev, a.devCol);
        wrapHost(cmd, a.col, () => host.addAddress(link, a.addr, a.plen));
      }
      return;
    case 'neigh': {
      if (a.dev === 'lo') err(a.devCol, "'lo' has no neighbours");
      const link = linkFor(cmd, host, a.dev, a.devCol);
      host.addNeighbour(link, a.addr, a.mac);
      return;
    }
    case 'route': {
      if (a.dev === 'lo') err(a.devCol, 'routes through lo are not modelled');
      const link = a.dev ? linkFor(cmd, host, a.dev, a.devCol) : null;
      wrapHost(cmd, a.col, () =>
        host.addRoute(a.prefix, a.plen, a.via as IpAddr | null, link, a.metric, a.src, a.mtu),
      );
      return;
    }
    case 'sysctl':
      for (const s of a.settings) wrapHost(cmd, s.col, () => target.sysctl.set(s.key, s.value));
      return;
    case 'ipvsadm': {
      if (!isConfiguring(a.command.cmd)) return;
      const f = applyIpvsadmCommand(a.command, { ipvs: target.ipvs, conns: [], host: target.host });
      if (f) err(cmd.column, ipvsadmFailure(a.command, target, f.errno, f.func));
      return;
    }
    case 'fwmark': {
      const t = a.iptables;
      if (t.type === 'noop') return;
      if (t.type === 'flush') {
        target.fwmarks.flush();
        return;
      }
      const rule = cloneRule(t.rule);
      rule.text = cmd.text;
      if (t.inDev !== null)
        rule.inLink = t.inDev === 'lo' ? -2 : linkFor(cmd, host, t.inDev, t.inDevCol).index;
      if (t.type === 'insert') target.fwmarks.insert(rule, t.position);
      else target.fwmarks.add(rule);
      return;
    }
  }
}

/** Applies the untimed commands, in file order. */
export function applySetup(script: SetupScript, target: SetupTarget): void {
  for (const c of script.commands) applySetupCommand(c, target);
}

/**
 * Dry-runs the untimed and then the timed commands (in time order) on a
 * scratch director, so that a timed line that cannot apply fails at start-up
 * rather than in the middle of a replay.
 */
export function validateSetup(script: SetupScript, makeTarget: () => SetupTarget): void {
  const t = makeTarget();
  applySetup(script, t);
  for (const c of script.timed) applySetupCommand(c, t);
}
