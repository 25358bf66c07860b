/**
 * The four measures of sched-report, computed from what the observers
 * recorded (RunRecord): connections per real server against the weight share,
 * imbalance of load per weight over time, persistence hit rate (from the run
 * without the change), and disruption (the run without the change against
 * the run with it). docs/sched-report.md states each definition.
 */
import { PERSIST_HIT, PERSIST_NONE, type RunRecord } from './observer.js';
import type { Disruption, Imbalance, Persistence, ServerShare } from './types.js';

/** Connections per real server of service `svc` (by key), with share, target share and deviation. */
export function shares(run: RunRecord, svcKey: string): { connections: number; servers: ServerShare[] } {
  const si = run.services.indexOf(svcKey);
  if (si < 0) return { connections: 0, servers: [] };
  const counts = new Float64Array(run.servers.length);
  let total = 0;
  for (let i = 0; i < run.n; i++) {
    if (run.svc[i] !== si) continue;
    counts[run.server[i]]++;
    total++;
  }
  const servers: ServerShare[] = [];
  run.servers.forEach((s, i) => {
    if (s.service !== si) return;
    const share = total > 0 ? counts[i] / total : 0;
    const targetShare = total > 0 ? run.target[i] / total : 0;
    servers.push({
      server: s.key,
      weight: s.weight,
      connections: counts[i],
      share,
      targetShare,
      deviation: share - targetShare,
    });
  });
  return { connections: total, servers };
}

/** max / mean of load per weight, sampled: the series, its peak and its mean (over samples with load). */
export function imbalance(run: RunRecord, svcKey: string): Imbalance {
  const si = run.services.indexOf(svcKey);
  if (si < 0) return { peak: null, mean: null, samples: [] };
  const times = run.sampleTimes[si];
  const values = run.sampleValues[si];
  let peak: number | null = null;
  let sum = 0;
  let n = 0;
  const samples: [number, number | null][] = [];
  for (let i = 0; i < times.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) {
      samples.push([times[i], null]);
      continue;
    }
    samples.push([times[i], v]);
    if (peak === null || v > peak) peak = v;
    sum += v;
    n++;
  }
  return { peak, mean: n > 0 ? sum / n : null, samples };
}

/** New connections of a persistent service that followed a template, out of all its new connections. */
export function persistence(run: RunRecord, svcKey: string): Persistence | null {
  const si = run.services.indexOf(svcKey);
  if (si < 0 || !run.servicePersistent[si]) return null;
  let total = 0;
  let hits = 0;
  for (let i = 0; i < run.n; i++) {
    if (run.svc[i] !== si || run.persist[i] === PERSIST_NONE) continue;
    total++;
    if (run.persist[i] === PERSIST_HIT) hits++;
  }
  return { newConnections: total, templateHits: hits, hitRate: total > 0 ? hits / total : null };
}

/**
 * The Maglev paper's disruption measure. A flow is a client address of a
 * virtual service; it exists before the change when it opened a connection
 * before `changeUs` (in the run without the change). Each connection such a
 * flow opens at or after `changeUs` is matched with the connection the same
 * input frame made in the changed run; it moved when the real servers
 * differ. Connections whose server (without the change) was removed are left
 * out (they have to move); connections the changed run did not make are
 * counted apart. A flow moved when its first compared connection moved.
 */
export function disruption(
  base: RunRecord,
  changed: RunRecord,
  svcKey: string,
  changeUs: number,
  removedKeys: ReadonlySet<string>,
): Disruption {
  const out: Disruption = {
    compared: 0,
    moved: 0,
    fraction: null,
    flowsCompared: 0,
    flowsMoved: 0,
    flowFraction: null,
    excluded: 0,
    unmatched: 0,
  };
  const si = base.services.indexOf(svcKey);
  if (si < 0) return out;
  const ci = changed.services.indexOf(svcKey);
  // the changed run's connection of each input frame (one packet makes at most one connection)
  const byFrame = new Map<number, number>();
  for (let i = 0; i < changed.n; i++) if (changed.svc[i] === ci) byFrame.set(changed.frame[i], i);
  const existing = new Set<number>();
  const seenFlow = new Set<number>();
  for (let i = 0; i < base.n; i++) {
    if (base.svc[i] !== si) continue;
    const flow = base.client[i];
    if (base.timeUs[i] < changeUs) {
      existing.add(flow);
      continue;
    }
    if (!existing.has(flow)) continue;
    const server = base.servers[base.server[i]].key;
    if (removedKeys.has(`${svcKey}|${server}`)) {
      out.excluded++;
      continue;
    }
    const j = byFrame.get(base.frame[i]);
    if (j === undefined) {
      out.unmatched++;
      continue;
    }
    const moved = changed.servers[changed.server[j]].key !== server;
    out.compared++;
    if (moved) out.moved++;
    if (!seenFlow.has(flow)) {
      seenFlow.add(flow);
      out.flowsCompared++;
      if (moved) out.flowsMoved++;
    }
  }
  out.fraction = out.compared > 0 ? out.moved / out.compared : null;
  out.flowFraction = out.flowsCompared > 0 ? out.flowsMoved / out.flowsCompared : null;
  return out;
}
