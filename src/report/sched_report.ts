/**
 * sched-report's driver: the same traffic replayed through every scheduler
 * asked for, each service of the set-up running that scheduler in turn (its
 * `-s` replaced through the director's scheduler registry; service flags such
 * as sh-port / mh-port, persistence and weights kept), twice per scheduler
 * when disruption is measured: once with the set-up as written and once with
 * the change (a real server removed or added mid-run) appended as timed
 * lines. Frames go to a NullSink: nothing is written.
 */
import { Replay, type ReplayInputSpec } from '../replay/engine.js';
import { NullSink } from '../ipvs/env.js';
import { Reason, REASON_NAMES } from '../ipvs/verdict.js';
import { createSchedulerRegistry, SCHEDULER_NAMES } from '../ipvs/sched/index.js';
import { SetupError } from '../control/setup.js';
import { ObservedScheduler, RunObserver, singleSchedulerRegistry, type RunRecord } from './observer.js';
import { ChangeError, resolveChange, type ChangeSpec, type ResolvedChange } from './change.js';
import { disruption, imbalance, persistence, shares } from './metrics.js';
import {
  LOAD_DEFINITION,
  SCHED_REPORT_VERSION,
  type SchedReport,
  type SchedulerReport,
  type ServiceDesc,
  type ServiceResult,
} from './types.js';

export interface SchedReportConfig {
  setupText: string;
  setupFile: string;
  lenient?: boolean;
  inputs: readonly ReplayInputSpec[];
  /** How the inputs are named in the report (default: `IFACE=PATH` / `PATH`). */
  inputNames?: readonly string[];
  /** The generator options when the inputs were generated (`--gen`). */
  generated?: string | null;
  /** ipvsadm names, in report order (default: all fourteen). */
  schedulers?: readonly string[];
  /** --remove / --add changes; empty: the default change. */
  changes?: readonly ChangeSpec[];
  /** false: no changed runs, no disruption (default true). */
  disruption?: boolean;
  seed?: number;
  maxConns?: number;
  /** Imbalance sample interval in seconds of simulated time (default 1). */
  sampleSeconds?: number;
  onWarning?: (message: string) => void;
  /** Called before each replay. */
  onRun?: (scheduler: string, changed: boolean, index: number, total: number) => void;
}

/** Unknown scheduler names in `names` (for a usage error). */
export function unknownSchedulers(names: readonly string[]): string[] {
  return names.filter((n) => !SCHEDULER_NAMES.includes(n));
}

/** Replays the inputs once with scheduler `name` everywhere; `extra` set-up lines appended. */
export async function replayWith(
  cfg: SchedReportConfig,
  name: string,
  extra: readonly string[],
  warn: boolean,
): Promise<RunRecord> {
  const inner = createSchedulerRegistry().get(name);
  if (!inner) throw new Error(`no scheduler '${name}'`);
  const sched = new ObservedScheduler(inner);
  const setupLines = cfg.setupText.split('\n').length;
  const text = extra.length ? `${cfg.setupText.replace(/\n?$/, '\n')}${extra.join('\n')}\n` : cfg.setupText;
  let observer: RunObserver | null = null;
  let replay: Replay;
  try {
    replay = new Replay({
      setupText: text,
      setupFile: cfg.setupFile,
      lenient: cfg.lenient === true,
      inputs: cfg.inputs,
      seed: cfg.seed ?? 1,
      maxConns: cfg.maxConns ?? 0,
      sink: new NullSink(),
      schedulers: singleSchedulerRegistry(sched),
      onWarning: warn ? cfg.onWarning : undefined,
      onFrame: (frameNo, d) => (observer as RunObserver).onFrame(frameNo, d),
    });
  } catch (e) {
    if (e instanceof SetupError && e.line > setupLines)
      throw new ChangeError(`the change '${e.source.trim()}' cannot apply: ${e.reason}`);
    throw e;
  }
  const obs = new RunObserver(
    sched,
    replay.script.timed.map((c) => Math.round((c.atSeconds as number) * 1e6)),
    cfg.sampleSeconds ?? 1,
  );
  observer = obs;
  obs.attach(replay.director);
  try {
    replay.open();
    const summary = await replay.run();
    return obs.finish(replay.director, summary, REASON_NAMES[Reason.IPVS_NO_DEST]);
  } finally {
    replay.close();
  }
}

function inputName(s: ReplayInputSpec): string {
  return s.iface === null ? s.path : `${s.iface}=${s.path}`;
}

/** Runs every scheduler (and the change runs) and builds the report. */
export async function schedReport(cfg: SchedReportConfig): Promise<SchedReport> {
  const names = cfg.schedulers && cfg.schedulers.length ? [...cfg.schedulers] : [...SCHEDULER_NAMES];
  const bad = unknownSchedulers(names);
  if (bad.length)
    throw new ChangeError(`unknown scheduler '${bad[0]}' (valid: ${SCHEDULER_NAMES.join(', ')})`);
  const withChange = cfg.disruption !== false;
  const total = names.length * (withChange ? 2 : 1);
  let runNo = 0;
  let change: ResolvedChange | null = null;
  let services: ServiceDesc[] = [];
  let first: RunRecord | null = null;
  const results: SchedulerReport[] = [];
  for (const name of names) {
    cfg.onRun?.(name, false, runNo++, total);
    const base = await replayWith(cfg, name, [], first === null);
    if (first === null) {
      first = base;
      services = base.services.map((s, i) => ({
        service: s,
        setupScheduler: base.serviceScheduler[i],
        persistent: base.servicePersistent[i],
      }));
      if (withChange)
        change = resolveChange(
          cfg.setupText,
          cfg.setupFile,
          cfg.lenient === true,
          cfg.changes ?? [],
          base.simulatedSeconds,
        );
    }
    let changed: RunRecord | null = null;
    if (change) {
      cfg.onRun?.(name, true, runNo++, total);
      changed = await replayWith(cfg, name, change.lines, false);
    }
    results.push(schedulerReport(name, base, changed, change, services));
  }
  const f = first as RunRecord;
  return {
    version: SCHED_REPORT_VERSION,
    setup: cfg.setupFile,
    inputs: cfg.inputNames ? [...cfg.inputNames] : cfg.inputs.map(inputName),
    generated: cfg.generated ?? null,
    seed: cfg.seed ?? 1,
    load: LOAD_DEFINITION,
    sampleSeconds: cfg.sampleSeconds ?? 1,
    framesIn: f.framesIn,
    simulatedSeconds: f.simulatedSeconds,
    change: change ? change.report : null,
    services,
    schedulers: results,
    captureError: f.captureError,
  };
}

function schedulerReport(
  name: string,
  base: RunRecord,
  changed: RunRecord | null,
  change: ResolvedChange | null,
  services: readonly ServiceDesc[],
): SchedulerReport {
  const out: ServiceResult[] = services.map((desc) => {
    const key = desc.service;
    const sh = shares(base, key);
    let maxDeviation = 0;
    for (const s of sh.servers) maxDeviation = Math.max(maxDeviation, Math.abs(s.deviation));
    return {
      service: key,
      connections: sh.connections,
      servers: sh.servers,
      maxDeviation,
      imbalance: imbalance(base, key),
      persistence: persistence(base, key),
      disruption:
        changed && change
          ? disruption(base, changed, key, Math.round(change.report.atSeconds * 1e6), change.removedKeys)
          : null,
    };
  });
  return { scheduler: name, newConnections: base.n, refused: base.refused, services: out };
}
