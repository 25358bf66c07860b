/**
 * The change the disruption measure is about: real servers removed
 * (`--remove RIP:PORT@SECONDS`) or added (`--add 'ipvsadm -a …'@SECONDS`)
 * mid-run, turned into timed set-up lines (`@SECONDS ipvsadm …`) that the
 * changed run appends to the set-up. Without either option the change is the
 * default: each virtual service loses the real server the set-up added to it
 * last, at the middle of the capture.
 */
import { Director } from '../ipvs/director.js';
import type { Dest, Service } from '../ipvs/service.js';
import { Proto } from '../ipvs/service.js';
import { applySetup, parseSetup, applySetupCommand, SetupError } from '../control/setup.js';
import { IpAddr } from '../wire/addr.js';
import { hostPort, serverKey, serviceKey } from './observer.js';
import type { ChangeReport } from './types.js';

/** A bad --remove / --add value (the message names the option). */
export class ChangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChangeError';
  }
}

export interface ChangeSpec {
  kind: 'remove' | 'add';
  /** `RIP[:PORT]` for remove, the set-up command for add. */
  what: string;
  /** Seconds after the first frame. */
  atSeconds: number;
  /** The option as given, for messages. */
  option: string;
}

/** Parses `WHAT@SECONDS` (the last `@` separates). */
export function parseChange(kind: 'remove' | 'add', value: string): ChangeSpec {
  const option = `--${kind} '${value}'`;
  const at = value.lastIndexOf('@');
  if (at <= 0)
    throw new ChangeError(`${option}: expected ${kind === 'remove' ? 'RIP:PORT' : "'COMMAND'"}@SECONDS`);
  const what = value.slice(0, at).trim();
  const t = value.slice(at + 1).trim();
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(t)) throw new ChangeError(`${option}: '${t}' is not a time in seconds`);
  if (kind === 'remove') parseServer(what, option);
  return { kind, what, atSeconds: Number(t), option };
}

/** `RIP`, `RIP:PORT`, `[RIP6]` or `[RIP6]:PORT` → address and port (-1: any port). */
export function parseServer(text: string, option: string): { addr: IpAddr; port: number } {
  let host = text;
  let port = -1;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) {
    host = v6[1];
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else {
    const m = /^([^:]+):(\d+)$/.exec(text);
    if (m) {
      host = m[1];
      port = Number(m[2]);
    }
  }
  const addr = IpAddr.tryParse(host);
  if (!addr || port > 65535) throw new ChangeError(`${option}: '${text}' is not RIP:PORT`);
  return { addr, port };
}

/** Seconds as a set-up time (`@12.5`), to the microsecond. */
export function timeText(seconds: number): string {
  return (Math.round(seconds * 1e6) / 1e6).toFixed(6).replace(/\.?0+$/, '');
}

/** The ipvsadm words naming a virtual service (`-t VIP:PORT`, `-f MARK -6`, …). */
export function serviceArgs(svc: Service): string {
  if (svc.fwmark) return `-f ${svc.fwmark}${svc.af === 6 ? ' -6' : ''}`;
  const opt = svc.protocol === Proto.TCP ? '-t' : svc.protocol === Proto.UDP ? '-u' : '--sctp-service';
  return `${opt} ${hostPort(svc.addr, svc.port)}`;
}

/** The change resolved against the set-up. */
export interface ResolvedChange {
  report: ChangeReport;
  /** The lines to append to the set-up (`@SECONDS ipvsadm …`). */
  lines: string[];
  /** `SERVICE|SERVER` of every removed real server (their connections are left out). */
  removedKeys: Set<string>;
}

function scratch(setupText: string, setupFile: string, lenient: boolean): Director {
  const d = new Director();
  applySetup(parseSetup(setupText, { file: setupFile, lenient }), d);
  return d;
}

function destsOf(d: Director): Set<Dest> {
  const s = new Set<Dest>();
  for (const svc of d.ipvs.services) for (const dest of svc.dests) s.add(dest);
  return s;
}

/**
 * Turns the specs into timed set-up lines, resolved against the director
 * the untimed set-up builds. No spec: each virtual service loses the real
 * server the set-up added to it last, at `durationSeconds / 2`. Returns null
 * when the set-up has no real server to remove by default.
 */
export function resolveChange(
  setupText: string,
  setupFile: string,
  lenient: boolean,
  specs: readonly ChangeSpec[],
  durationSeconds: number,
): ResolvedChange | null {
  const d = scratch(setupText, setupFile, lenient);
  const lines: string[] = [];
  const removed: string[] = [];
  const added: string[] = [];
  const removedKeys = new Set<string>();
  const list = specs;
  if (list.length === 0) {
    // each service loses the real server the set-up added last (the head of its list)
    const at = Math.round((durationSeconds / 2) * 1e6) / 1e6;
    const lastOf = d.ipvs.services.filter((svc) => svc.dests.length > 0).map((svc) => svc.dests[0]);
    if (lastOf.length === 0) return null;
    for (const dest of lastOf) {
      const at6 = timeText(at);
      lines.push(`@${at6} ipvsadm -d ${serviceArgs(dest.svc)} -r ${serverKey(dest)}`);
      removed.push(`${serviceKey(dest.svc)} -> ${serverKey(dest)}`);
      removedKeys.add(`${serviceKey(dest.svc)}|${serverKey(dest)}`);
    }
    return {
      report: { atSeconds: at, isDefault: true, commands: lines, removed, added },
      lines,
      removedKeys,
    };
  }
  for (const spec of list) {
    const at = timeText(spec.atSeconds);
    if (spec.kind === 'remove') {
      const { addr, port } = parseServer(spec.what, spec.option);
      let found = 0;
      for (const svc of d.ipvs.services)
        for (const dest of svc.dests) {
          if (!dest.addr.equals(addr) || (port >= 0 && dest.port !== port)) continue;
          found++;
          lines.push(`@${at} ipvsadm -d ${serviceArgs(svc)} -r ${serverKey(dest)}`);
          removed.push(`${serviceKey(svc)} -> ${serverKey(dest)}`);
          removedKeys.add(`${serviceKey(svc)}|${serverKey(dest)}`);
        }
      if (!found)
        throw new ChangeError(
          `${spec.option}: no virtual service of the set-up has real server ${spec.what}`,
        );
    } else {
      let script;
      try {
        script = parseSetup(`@${at} ${spec.what}`, { file: spec.option });
      } catch (e) {
        if (e instanceof SetupError) throw new ChangeError(`${spec.option}: ${e.reason}`);
        throw e;
      }
      const cmd = script.timed[0];
      if (!cmd || cmd.action.type !== 'ipvsadm' || cmd.action.command.cmd !== 'add-server')
        throw new ChangeError(`${spec.option}: expected an 'ipvsadm -a …' command`);
      const before = destsOf(d);
      try {
        applySetupCommand(cmd, d);
      } catch (e) {
        if (e instanceof SetupError) throw new ChangeError(`${spec.option}: ${e.reason}`);
        throw e;
      }
      for (const svc of d.ipvs.services)
        for (const dest of svc.dests)
          if (!before.has(dest)) added.push(`${serviceKey(svc)} -> ${serverKey(dest)}`);
      lines.push(`@${at} ${spec.what}`);
    }
  }
  const atSeconds = Math.min(...list.map((s) => Math.round(s.atSeconds * 1e6) / 1e6));
  return {
    report: { atSeconds, isDefault: false, commands: lines, removed, added },
    lines,
    removedKeys,
  };
}
