/**
 * The text form of a sched-report (the default output): a header saying what
 * was replayed and how load and the change are defined, then per virtual
 * service a table with one row per scheduler (connections, deviation from
 * the weight share, imbalance, disruption, persistence) and a table of the
 * share of connections per real server.
 */
import type { SchedReport, ServiceResult } from './types.js';

/** `12.3%`, or `-` for null. */
export function pct(v: number | null, digits = 1): string {
  return v === null ? '-' : `${(v * 100).toFixed(digits)}%`;
}

/** Signed percentage points: `+8.3`, `-16.7`, `0.0`. */
export function points(v: number): string {
  const p = v * 100;
  const t = Math.abs(p).toFixed(1);
  if (t === '0.0') return '0.0';
  return `${p > 0 ? '+' : '-'}${t}`;
}

function num(v: number | null, digits = 2): string {
  return v === null ? '-' : v.toFixed(digits);
}

/** Lays out rows as columns: the first left-aligned, the others right-aligned, two spaces apart. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

/** `49.8% (166/333)`, or `-` when there is nothing to compare. */
export function ratio(part: number, whole: number, fraction: number | null): string {
  return fraction === null ? '-' : `${pct(fraction)} (${part}/${whole})`;
}

/** The whole report as text. */
export function formatText(r: SchedReport): string {
  const out: string[] = [];
  const src = r.generated !== null ? `generated traffic (${r.generated})` : `input ${r.inputs.join(', ')}`;
  out.push(
    `sched-report: set-up ${r.setup}, ${src}: ${r.framesIn} frames over ${r.simulatedSeconds.toFixed(3)} s, seed ${r.seed}`,
  );
  out.push(`load = ${r.load}; imbalance sampled every ${r.sampleSeconds} s of simulated time`);
  if (r.change) {
    const c = r.change;
    out.push(
      `change at ${c.atSeconds.toFixed(3)} s${c.isDefault ? " (default: each service's last real server removed mid-capture)" : ''}:`,
    );
    for (const l of c.commands) out.push(`  ${l}`);
  } else out.push('change: none (no disruption measured)');
  if (r.captureError) out.push(`warning: the replays stopped at a malformed capture: ${r.captureError}`);
  const many = r.services.length > 1;
  r.services.forEach((desc, si) => {
    out.push('');
    out.push(`${desc.service} (set up with ${desc.setupScheduler}${desc.persistent ? ', persistent' : ''})`);
    const rows: string[][] = [
      [
        'scheduler',
        'conns',
        many ? 'refused (all)' : 'refused',
        'max dev',
        'imbalance peak',
        'mean',
        'disruption moved',
        'flows moved',
        ...(desc.persistent ? ['persistence hits'] : []),
      ],
    ];
    for (const s of r.schedulers) {
      const v: ServiceResult = s.services[si];
      const d = v.disruption;
      const p = v.persistence;
      rows.push([
        s.scheduler,
        String(v.connections),
        String(s.refused),
        `${(v.maxDeviation * 100).toFixed(1)} pp`,
        num(v.imbalance.peak),
        num(v.imbalance.mean),
        d ? ratio(d.moved, d.compared, d.fraction) : '-',
        d ? ratio(d.flowsMoved, d.flowsCompared, d.flowFraction) : '-',
        ...(desc.persistent ? [p ? ratio(p.templateHits, p.newConnections, p.hitRate) : '-'] : []),
      ]);
    }
    out.push(...table(rows));
    // shares: one column per real server
    const servers = r.schedulers.length ? r.schedulers[0].services[si].servers : [];
    if (servers.length === 0) return;
    out.push('');
    out.push('share of connections per real server (deviation from its weight share, in points)');
    const srows: string[][] = [
      ['', ...servers.map((s) => s.server)],
      ['weight', ...servers.map((s) => String(s.weight))],
      ['target share', ...servers.map((s) => pct(s.targetShare))],
    ];
    for (const s of r.schedulers) {
      const byKey = new Map(s.services[si].servers.map((x) => [x.server, x]));
      srows.push([
        s.scheduler,
        ...servers.map((x) => {
          const m = byKey.get(x.server);
          return m ? `${pct(m.share)} (${points(m.deviation)})` : '-';
        }),
      ]);
    }
    out.push(...table(srows));
  });
  return out.join('\n') + '\n';
}
