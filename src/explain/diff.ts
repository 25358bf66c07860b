/**
 * The before/after comparison of explain mode: the headers of the frame that
 * arrived against the headers of a frame the director sent for it. Headers
 * are paired by kind with a longest-common-subsequence alignment that
 * prefers the innermost match, so a tunnel's new outer header shows as
 * added (the original IP header pairs with the inner one) and a fragment's
 * missing transport header as removed.
 */
import type { Layer } from './fields.js';

/**
 * same: no field changed; changed: some did; added: the header exists only
 * after (a tunnel's outer header); removed: only before; new: the frame is
 * not a rewrite of an input (the director's own ARP, ICMP, RST), no before.
 */
export type LayerStatus = 'same' | 'changed' | 'added' | 'removed' | 'new';

export interface FieldDiff {
  name: string;
  /** Value in the frame that arrived (null: the field or header did not exist). */
  before: string | null;
  /** Value in the frame sent (null: the field or header is gone). */
  after: string | null;
  changed: boolean;
}

export interface LayerDiff {
  name: string;
  status: LayerStatus;
  fields: FieldDiff[];
}

/** Pairs of indices (i into `a`, j into `b`, -1 for none) in output order. */
export function alignLayers(a: readonly Layer[], b: readonly Layer[]): [number, number][] {
  const n = a.length;
  const m = b.length;
  // dp[i][j]: LCS length of a[i..] and b[j..]
  const dp: number[][] = [];
  for (let i = 0; i <= n; i++) dp.push(new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      dp[i][j] = a[i].name === b[j].name ? 1 + dp[i + 1][j + 1] : Math.max(dp[i + 1][j], dp[i][j + 1]);
  const out: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i].name === b[j].name) {
      // prefer pairing with a later header of the same kind when that loses nothing
      if (dp[i][j + 1] === dp[i][j]) out.push([-1, j++]);
      else if (dp[i + 1][j] === dp[i][j]) out.push([i++, -1]);
      else out.push([i++, j++]);
    } else if (j < m && (i >= n || dp[i][j + 1] >= dp[i + 1][j])) out.push([-1, j++]);
    else out.push([i++, -1]);
  }
  return out;
}

/** Fields paired by name (and occurrence, for repeated names such as VLAN tags). */
function diffFields(a: Layer, b: Layer): FieldDiff[] {
  const key = (l: Layer): string[] => {
    const seen = new Map<string, number>();
    return l.fields.map((x) => {
      const k = seen.get(x.name) ?? 0;
      seen.set(x.name, k + 1);
      return `${x.name}#${k}`;
    });
  };
  const ka = key(a);
  const kb = key(b);
  const out: FieldDiff[] = [];
  const inB = new Map(kb.map((k, i) => [k, i]));
  const used = new Set<number>();
  ka.forEach((k, i) => {
    const j = inB.get(k);
    if (j === undefined) {
      out.push({ name: a.fields[i].name, before: a.fields[i].value, after: null, changed: true });
      return;
    }
    used.add(j);
    const before = a.fields[i].value;
    const after = b.fields[j].value;
    out.push({ name: a.fields[i].name, before, after, changed: before !== after });
  });
  kb.forEach((_k, j) => {
    if (!used.has(j))
      out.push({ name: b.fields[j].name, before: null, after: b.fields[j].value, changed: true });
  });
  return out;
}

/**
 * The per-header comparison of `before` (null: the frame sent is not a
 * rewrite of an input, every header is `new`) and `after`.
 */
export function diffFrames(before: readonly Layer[] | null, after: readonly Layer[]): LayerDiff[] {
  if (before === null)
    return after.map((l) => ({
      name: l.name,
      status: 'new',
      fields: l.fields.map((x) => ({ name: x.name, before: null, after: x.value, changed: false })),
    }));
  return alignLayers(before, after).map(([i, j]): LayerDiff => {
    if (i < 0) {
      const l = after[j];
      return {
        name: l.name,
        status: 'added',
        fields: l.fields.map((x) => ({ name: x.name, before: null, after: x.value, changed: true })),
      };
    }
    if (j < 0) {
      const l = before[i];
      return {
        name: l.name,
        status: 'removed',
        fields: l.fields.map((x) => ({ name: x.name, before: x.value, after: null, changed: true })),
      };
    }
    const fields = diffFields(before[i], after[j]);
    return { name: after[j].name, status: fields.some((x) => x.changed) ? 'changed' : 'same', fields };
  });
}
