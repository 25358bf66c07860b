/**
 * The HTML form of a sched-report (`--html FILE`): one self-contained page —
 * inline CSS, charts as inline SVG built here, no script, no external file or
 * network access — with, per virtual service, the summary table, a bar chart
 * of the share of connections per real server per scheduler (with each
 * server's weight share marked), the imbalance over time (one line per
 * scheduler) and the disruption per scheduler (and the persistence hit rate
 * of a persistent service).
 *
 * Every mark carries its numbers as data attributes (`data-scheduler`,
 * `data-server`, `data-share`, `data-fraction`, …) and a `<title>` tooltip,
 * and the report itself is embedded as JSON
 * (`<script type="application/json" id="sched-report-data">`), so tools
 * and tests can read the page back.
 */
import { pct, points, ratio } from './text.js';
import type { SchedReport, SchedulerReport, ServiceDesc } from './types.js';

/** Escapes text for HTML / SVG content and attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;',
  );
}

/** Colours of the schedulers' lines and bars (14, distinguishable). */
const SCHED_COLOURS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
  '#393b79',
  '#637939',
  '#8c6d31',
  '#843c39',
];

/** Colours of the real servers' bars. */
const SERVER_COLOURS = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#76b7b2',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

const CSS = `
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
p.meta { margin: 2px 0; color: #444; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; }
table.summary { border-collapse: collapse; margin: 8px 0; }
table.summary th, table.summary td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
table.summary th:first-child, table.summary td:first-child { text-align: left; }
table.summary th { background: #f4f4f4; font-weight: 600; }
.chart-box { overflow-x: auto; }
svg.chart { display: block; background: #fcfcfc; border: 1px solid #e4e4e4; }
svg.chart text { font: 11px system-ui, sans-serif; fill: #333; }
svg.chart .axis { stroke: #888; stroke-width: 1; }
svg.chart .grid { stroke: #e6e6e6; stroke-width: 1; }
svg.chart .target-mark { stroke: #111; stroke-width: 2; }
svg.chart .series { fill: none; stroke-width: 1.6; }
svg.chart .ideal { stroke: #999; stroke-dasharray: 4 3; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 6px 0 0; font-size: 12px; }
.legend span.key { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -2px; }
`;

/** A number for a data attribute (full precision; empty for null). */
function dnum(v: number | null): string {
  return v === null ? '' : String(v);
}

/** A nice upper bound for an axis: 1, 2 or 5 times a power of ten, at least `v`. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v - 1e-12) return m * p;
  return 10 * p;
}

function fmtAxis(v: number, percent: boolean): string {
  if (percent) return `${Math.round(v * 1000) / 10}%`;
  return String(Math.round(v * 100) / 100);
}

/** Horizontal grid lines and their labels for a y axis from 0 to `max`. */
function yGrid(
  x0: number,
  x1: number,
  top: number,
  height: number,
  max: number,
  percent: boolean,
  min = 0,
): string {
  const parts: string[] = [];
  for (let k = 0; k <= 4; k++) {
    const v = min + ((max - min) * k) / 4;
    const y = top + height - (height * k) / 4;
    parts.push(`<line class="grid" x1="${x0}" x2="${x1}" y1="${y}" y2="${y}"/>`);
    parts.push(`<text x="${x0 - 6}" y="${y + 4}" text-anchor="end">${fmtAxis(v, percent)}</text>`);
  }
  return parts.join('');
}

function shareChart(r: SchedReport, si: number, id: string): string {
  const scheds = r.schedulers;
  const servers = scheds[0]?.services[si].servers ?? [];
  const nSrv = Math.max(1, servers.length);
  const barW = Math.max(2, Math.min(18, Math.floor(900 / (scheds.length * nSrv))));
  const gap = Math.max(8, barW);
  const groupW = nSrv * barW;
  const left = 48;
  const top = 12;
  const plotH = 220;
  const width = left + scheds.length * (groupW + gap) + 12;
  const height = top + plotH + 40;
  let max = 0;
  for (const s of scheds) for (const v of s.services[si].servers) max = Math.max(max, v.share, v.targetShare);
  max = Math.min(1, niceMax(max * 1.05));
  const colourOf = new Map(servers.map((s, i) => [s.server, SERVER_COLOURS[i % SERVER_COLOURS.length]]));
  const parts: string[] = [];
  parts.push(yGrid(left, width - 6, top, plotH, max, true));
  scheds.forEach((s, gi) => {
    const gx = left + gap / 2 + gi * (groupW + gap);
    const bars: string[] = [];
    s.services[si].servers.forEach((v, k) => {
      const h = (v.share / max) * plotH;
      const x = gx + k * barW;
      const y = top + plotH - h;
      const ty = top + plotH - (v.targetShare / max) * plotH;
      const colour = colourOf.get(v.server) ?? SERVER_COLOURS[k % SERVER_COLOURS.length];
      const tip = `${s.scheduler} ${v.server} (weight ${v.weight}): ${v.connections} connections, ${pct(v.share)} (weight share ${pct(v.targetShare)}, ${points(v.deviation)} points)`;
      bars.push(
        `<rect class="bar share" data-scheduler="${esc(s.scheduler)}" data-server="${esc(v.server)}" ` +
          `data-connections="${v.connections}" data-share="${dnum(v.share)}" data-target="${dnum(v.targetShare)}" ` +
          `x="${x.toFixed(2)}" y="${y.toFixed(2)}" width="${Math.max(1, barW - 1)}" height="${h.toFixed(2)}" fill="${colour}">` +
          `<title>${esc(tip)}</title></rect>`,
        `<line class="target-mark" data-scheduler="${esc(s.scheduler)}" data-server="${esc(v.server)}" data-target="${dnum(v.targetShare)}" ` +
          `x1="${x.toFixed(2)}" x2="${(x + Math.max(1, barW - 1)).toFixed(2)}" y1="${ty.toFixed(2)}" y2="${ty.toFixed(2)}"/>`,
      );
    });
    parts.push(`<g class="group" data-scheduler="${esc(s.scheduler)}">${bars.join('')}</g>`);
    parts.push(
      `<text class="group-label" x="${(gx + groupW / 2).toFixed(2)}" y="${top + plotH + 16}" text-anchor="middle">${esc(s.scheduler)}</text>`,
    );
  });
  parts.push(
    `<line class="axis" x1="${left}" x2="${width - 6}" y1="${top + plotH}" y2="${top + plotH}"/>`,
    `<text x="${left}" y="${height - 6}">share of the service's new connections; black tick: the server's weight share</text>`,
  );
  const legend = servers
    .map(
      (s) =>
        `<span class="item" data-server="${esc(s.server)}"><span class="key" style="background:${colourOf.get(s.server)}"></span>${esc(s.server)} (weight ${s.weight})</span>`,
    )
    .join('');
  return (
    `<div class="chart-box"><svg class="chart share-chart" id="${id}" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="share of connections per real server">` +
    parts.join('') +
    `</svg></div><div class="legend">${legend}</div>`
  );
}

function imbalanceChart(r: SchedReport, si: number, id: string): string {
  const left = 48;
  const top = 12;
  const plotW = 760;
  const plotH = 220;
  const width = left + plotW + 16;
  const height = top + plotH + 40;
  let tMax = r.simulatedSeconds;
  let vMax = 1;
  for (const s of r.schedulers)
    for (const [t, v] of s.services[si].imbalance.samples) {
      tMax = Math.max(tMax, t);
      if (v !== null) vMax = Math.max(vMax, v);
    }
  tMax = tMax > 0 ? tMax : 1;
  vMax = niceMax(vMax);
  const xOf = (t: number): number => left + (t / tMax) * plotW;
  const yOf = (v: number): number => top + plotH - (v / vMax) * plotH;
  const parts: string[] = [yGrid(left, left + plotW, top, plotH, vMax, false)];
  for (let k = 0; k <= 4; k++) {
    const t = (tMax * k) / 4;
    parts.push(
      `<text x="${xOf(t).toFixed(2)}" y="${top + plotH + 14}" text-anchor="middle">${Math.round(t * 100) / 100} s</text>`,
    );
  }
  parts.push(
    `<line class="ideal" x1="${left}" x2="${left + plotW}" y1="${yOf(1).toFixed(2)}" y2="${yOf(1).toFixed(2)}"><title>1 = every server equally loaded per weight</title></line>`,
  );
  const legend: string[] = [];
  r.schedulers.forEach((s, k) => {
    const im = s.services[si].imbalance;
    const colour = SCHED_COLOURS[k % SCHED_COLOURS.length];
    let d = '';
    let pen = false;
    for (const [t, v] of im.samples) {
      if (v === null) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${xOf(t).toFixed(2)} ${yOf(v).toFixed(2)}`;
      pen = true;
    }
    const tip = `${s.scheduler}: imbalance peak ${im.peak === null ? '-' : im.peak.toFixed(2)}, mean ${im.mean === null ? '-' : im.mean.toFixed(2)}`;
    // a lone sample draws nothing as a path: mark each point too when there are few
    const dots =
      im.samples.length <= 60
        ? im.samples
            .filter(([, v]) => v !== null)
            .map(
              ([t, v]) =>
                `<circle cx="${xOf(t).toFixed(2)}" cy="${yOf(v as number).toFixed(2)}" r="2" fill="${colour}"/>`,
            )
            .join('')
        : '';
    parts.push(
      `<g class="series-group" data-scheduler="${esc(s.scheduler)}"><path class="series" data-scheduler="${esc(s.scheduler)}" ` +
        `data-peak="${dnum(im.peak)}" data-mean="${dnum(im.mean)}" data-samples="${esc(JSON.stringify(im.samples))}" ` +
        `d="${d}" stroke="${colour}"><title>${esc(tip)}</title></path>${dots}</g>`,
    );
    legend.push(
      `<span class="item" data-scheduler="${esc(s.scheduler)}"><span class="key" style="background:${colour}"></span>${esc(s.scheduler)} (peak ${im.peak === null ? '-' : im.peak.toFixed(2)}, mean ${im.mean === null ? '-' : im.mean.toFixed(2)})</span>`,
    );
  });
  parts.push(
    `<line class="axis" x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}"/>`,
    `<text x="${left}" y="${height - 6}">max / mean of load per weight over the real servers (1 = balanced); load = ${esc(r.load.split(':')[0])}</text>`,
  );
  return (
    `<div class="chart-box"><svg class="chart imbalance-chart" id="${id}" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="imbalance over time">` +
    parts.join('') +
    `</svg></div><div class="legend">${legend.join('')}</div>`
  );
}

/** Bars from 0 to 100% per scheduler (disruption or persistence hit rate). */
function fractionChart(
  r: SchedReport,
  kind: 'disruption' | 'persistence',
  id: string,
  value: (s: SchedulerReport) => { fraction: number | null; part: number; whole: number; attrs: string },
  caption: string,
): string {
  const left = 48;
  const top = 18;
  const barW = 36;
  const gap = 14;
  const plotH = 180;
  const width = left + r.schedulers.length * (barW + gap) + 12;
  const height = top + plotH + 40;
  const parts: string[] = [yGrid(left, width - 6, top, plotH, 1, true)];
  r.schedulers.forEach((s, k) => {
    const v = value(s);
    const x = left + gap / 2 + k * (barW + gap);
    const f = v.fraction ?? 0;
    const h = f * plotH;
    const y = top + plotH - h;
    const colour = SCHED_COLOURS[k % SCHED_COLOURS.length];
    const label = v.fraction === null ? 'n/a' : pct(v.fraction);
    const tip = `${s.scheduler}: ${label}${v.fraction === null ? '' : ` (${v.part} of ${v.whole})`}`;
    parts.push(
      `<rect class="bar ${kind}" data-scheduler="${esc(s.scheduler)}" data-fraction="${dnum(v.fraction)}" ${v.attrs} ` +
        `x="${x}" y="${y.toFixed(2)}" width="${barW}" height="${h.toFixed(2)}" fill="${colour}"><title>${esc(tip)}</title></rect>`,
      `<text class="value" data-scheduler="${esc(s.scheduler)}" x="${x + barW / 2}" y="${(y - 4).toFixed(2)}" text-anchor="middle">${label}</text>`,
      `<text class="group-label" x="${x + barW / 2}" y="${top + plotH + 16}" text-anchor="middle">${esc(s.scheduler)}</text>`,
    );
  });
  parts.push(
    `<line class="axis" x1="${left}" x2="${width - 6}" y1="${top + plotH}" y2="${top + plotH}"/>`,
    `<text x="${left}" y="${height - 6}">${esc(caption)}</text>`,
  );
  return (
    `<div class="chart-box"><svg class="chart ${kind}-chart" id="${id}" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${kind} per scheduler">` +
    parts.join('') +
    `</svg></div>`
  );
}

function summaryTable(r: SchedReport, si: number, desc: ServiceDesc): string {
  const head = [
    'scheduler',
    'connections',
    'refused',
    'max deviation',
    'imbalance peak',
    'imbalance mean',
    'disruption',
    'flows moved',
    ...(desc.persistent ? ['persistence hit rate'] : []),
  ];
  const rows = r.schedulers.map((s) => {
    const v = s.services[si];
    const d = v.disruption;
    const p = v.persistence;
    const cells = [
      s.scheduler,
      String(v.connections),
      String(s.refused),
      `${(v.maxDeviation * 100).toFixed(1)} pp`,
      v.imbalance.peak === null ? '-' : v.imbalance.peak.toFixed(2),
      v.imbalance.mean === null ? '-' : v.imbalance.mean.toFixed(2),
      d ? ratio(d.moved, d.compared, d.fraction) : '-',
      d ? ratio(d.flowsMoved, d.flowsCompared, d.flowFraction) : '-',
      ...(desc.persistent ? [p ? ratio(p.templateHits, p.newConnections, p.hitRate) : '-'] : []),
    ];
    return `<tr data-scheduler="${esc(s.scheduler)}">${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
  });
  return `<table class="summary"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The whole page. */
export function formatHtml(r: SchedReport): string {
  const out: string[] = [];
  out.push(
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>ipvs-sim sched-report: ${esc(r.setup)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<h1>Scheduler quality (ipvs-sim sched-report)</h1>',
  );
  const src =
    r.generated !== null
      ? `generated traffic (<code>${esc(r.generated)}</code>)`
      : `input ${esc(r.inputs.join(', '))}`;
  out.push(
    `<p class="meta">Set-up <code>${esc(r.setup)}</code>, ${src}: ${r.framesIn} frames over ${r.simulatedSeconds.toFixed(3)} s of capture time, seed ${r.seed}.</p>`,
    `<p class="meta">Load = ${esc(r.load)}; imbalance sampled every ${r.sampleSeconds} s of simulated time.</p>`,
  );
  if (r.change) {
    const c = r.change;
    out.push(
      `<p class="meta">Disruption: the run with the change below against the run without it (flows = client addresses seen before ${c.atSeconds.toFixed(3)} s)${c.isDefault ? "; default change: each service's last real server removed mid-capture" : ''}:</p>`,
      `<p class="meta change">${c.commands.map((l) => `<code>${esc(l)}</code>`).join('<br>')}</p>`,
    );
  } else out.push('<p class="meta">No change: disruption not measured.</p>');
  if (r.captureError)
    out.push(
      `<p class="meta warning">The replays stopped at a malformed capture: ${esc(r.captureError)}</p>`,
    );
  r.services.forEach((desc, si) => {
    out.push(
      `<section class="service" data-service="${esc(desc.service)}">`,
      `<h2>${esc(desc.service)} <small>(set up with ${esc(desc.setupScheduler)}${desc.persistent ? ', persistent' : ''})</small></h2>`,
      summaryTable(r, si, desc),
      '<h3>Share of connections per real server</h3>',
      shareChart(r, si, `share-${si}`),
      '<h3>Imbalance over time</h3>',
      imbalanceChart(r, si, `imbalance-${si}`),
    );
    if (r.change) {
      out.push(
        '<h3>Disruption per scheduler</h3>',
        fractionChart(
          r,
          'disruption',
          `disruption-${si}`,
          (s) => {
            const d = s.services[si].disruption;
            return {
              fraction: d ? d.fraction : null,
              part: d ? d.moved : 0,
              whole: d ? d.compared : 0,
              attrs: `data-moved="${d ? d.moved : 0}" data-compared="${d ? d.compared : 0}"`,
            };
          },
          'connections of existing flows bound to another real server than without the change',
        ),
      );
    }
    if (desc.persistent) {
      out.push(
        '<h3>Persistence hit rate per scheduler</h3>',
        fractionChart(
          r,
          'persistence',
          `persistence-${si}`,
          (s) => {
            const p = s.services[si].persistence;
            return {
              fraction: p ? p.hitRate : null,
              part: p ? p.templateHits : 0,
              whole: p ? p.newConnections : 0,
              attrs: `data-hits="${p ? p.templateHits : 0}" data-connections="${p ? p.newConnections : 0}"`,
            };
          },
          'new connections that found a persistence template',
        ),
      );
    }
    out.push('</section>');
  });
  // the report itself, for tools ("</" escaped so the JSON cannot end the element)
  out.push(
    `<script type="application/json" id="sched-report-data">${JSON.stringify(r).replace(/</g, '\\u003c')}</script>`,
    '</body>',
    '</html>',
  );
  return out.join('\n') + '\n';
}
