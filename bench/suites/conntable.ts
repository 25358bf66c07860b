/**
 * Connection table benchmark: lookup hit and miss, insert and expire on
 * ConnTable at 10^3, 10^5, 10^6 and 10^7 live IPv4 entries, each against a
 * naive `Map<string, object>` table (key = the tuple as a string) measured in
 * the same run, plus bytes per entry (JS heap + ArrayBuffer memory, after
 * garbage collection).
 *
 * Entries: client 11.x.y.z (eight connections per client, ports 10000..10007)
 * to one of four VIPs :80, NAT to 10.10.10.10:8080, expiry spread over 900 s.
 * - bytes per entry: heap + external memory before and after building the
 *   table (tables of fewer than 10^6 entries are measured many at a time).
 * - lookup hit / miss: 1024 lookups per call in pseudo-random order (the
 *   misses use client ports 20000..20007 of known clients), timed with
 *   benchmark.js; every result is checked. Next to them, the memory floor
 *   (two dependent random reads in arrays the size of the index and the key
 *   records, what any layout pays for a hit on this machine when lookups
 *   overlap) and the memory latency (one pointer-chased read: a miss with
 *   nothing overlapped).
 * - insert / remove at n live entries: batches of new entries inserted (and
 *   armed) then removed, in alternation with the same on the baseline.
 * - build from empty: n inserts into a new table, growth included, with
 *   nothing else alive.
 * - expire: 900 s of simulated time in 100 steps; every entry fires once and
 *   its callback re-arms it 900 s later (the table keeps its size). The
 *   baseline sweeps its whole Map at every step (what a Map-based table does
 *   without a timer structure). ns per fired entry.
 * - re-arm later: what every packet does to its entry's timer.
 * The baseline at 10^7 runs only when its measured footprint at 10^6 says it
 * fits in 2 GiB of heap (otherwise the suite says it skipped it).
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ConnFlag, ConnTable } from '../../src/ipvs/conn.js';
import { measureOps, median, type BenchContext, type BenchSuite } from '../lib.js';

const TCP = 6;
const VPORT = 80;
const SPAN_MS = 900_000;
const STEPS = 100;
const BATCH = 1024;
const GIB = 2 ** 30;

function clientOf(i: number): number {
  return (0x0b000000 + (i >>> 3)) >>> 0;
}
function cportOf(i: number): number {
  return 10000 + (i & 7);
}
function vipOf(i: number): number {
  return (0xc0000200 + (i & 3)) >>> 0;
}
/** Expiries spread over ]0, SPAN_MS[ in scrambled order. */
function expiryOf(i: number, n: number): number {
  return 1 + ((i * 7919) % n) * ((SPAN_MS - 2) / n);
}

/** A naive connection entry, as a Map-based table would keep it. */
interface NaiveConn {
  af: number;
  proto: number;
  caddr: number;
  cport: number;
  vaddr: number;
  vport: number;
  daddr: number;
  dport: number;
  flags: number;
  state: number;
  destId: number;
  expires: number;
}

function naiveKey(proto: number, caddr: number, cport: number, vaddr: number, vport: number): string {
  return `${proto}|${caddr}|${cport}|${vaddr}|${vport}`;
}

const scratchC = new Uint32Array(4);
const scratchV = new Uint32Array(4);
const scratchD = new Uint32Array([0x0a0a0a0a, 0, 0, 0]);

function buildTable(n: number): ConnTable {
  const t = new ConnTable();
  const c = scratchC;
  const v = scratchV;
  for (let i = 0; i < n; i++) {
    c[0] = clientOf(i);
    v[0] = vipOf(i);
    const id = t.insert(4, TCP, c, cportOf(i), v, VPORT, scratchD, 8080, ConnFlag.MASQ, 0, 0);
    t.arm(id, expiryOf(i, n));
  }
  return t;
}

function buildNaive(n: number): Map<string, NaiveConn> {
  const m = new Map<string, NaiveConn>();
  for (let i = 0; i < n; i++) {
    const caddr = clientOf(i);
    const vaddr = vipOf(i);
    const cport = cportOf(i);
    m.set(naiveKey(TCP, caddr, cport, vaddr, VPORT), {
      af: 4,
      proto: TCP,
      caddr,
      cport,
      vaddr,
      vport: VPORT,
      daddr: 0x0a0a0a0a,
      dport: 8080,
      flags: ConnFlag.MASQ,
      state: 0,
      destId: 0,
      expires: expiryOf(i, n),
    });
  }
  return m;
}

function getGc(): () => void {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    return gc;
  } catch {
    return () => undefined;
  }
}

/**
 * Heap + external (ArrayBuffer) bytes after collecting garbage. ArrayBuffer
 * memory is given back at the collection after the one that found it dead,
 * so this collects a few times, until two readings agree.
 */
async function settledBytes(gc: () => void): Promise<number> {
  let last = -1;
  for (let i = 0; i < 20; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
    const m = process.memoryUsage();
    const now = m.heapUsed + m.external;
    if (i >= 3 && now === last) break;
    last = now;
  }
  return last;
}

function fail(what: string): never {
  throw new Error(`conntable bench: ${what}`);
}

/** Lookup hit and miss on the table and (when given) the baseline, checked and recorded. */
function lookups(
  ctx: BenchContext,
  table: ConnTable,
  naive: Map<string, NaiveConn> | null,
  n: number,
  label: string,
): void {
  let x = 0x12345678;
  let bad = 0;
  let sink = 0;
  const qc = new Uint32Array(4);
  const qv = new Uint32Array(4);
  const hit = (): void => {
    let acc = 0;
    for (let k = 0; k < BATCH; k++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      const i = x % n;
      qc[0] = clientOf(i);
      qv[0] = vipOf(i);
      const id = table.lookupIn(4, TCP, qc, cportOf(i), qv, VPORT);
      if (id < 0) bad++;
      acc += id;
    }
    sink += acc;
  };
  const miss = (): void => {
    let acc = 0;
    for (let k = 0; k < BATCH; k++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      const i = x % n;
      qc[0] = clientOf(i);
      qv[0] = vipOf(i);
      const id = table.lookupIn(4, TCP, qc, cportOf(i) + 10000, qv, VPORT);
      if (id >= 0) bad++;
      acc += id;
    }
    sink += acc;
  };
  const hitNaive = (): void => {
    let acc = 0;
    for (let k = 0; k < BATCH; k++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      const i = x % n;
      const e = naive!.get(naiveKey(TCP, clientOf(i), cportOf(i), vipOf(i), VPORT));
      if (e === undefined) bad++;
      else acc += e.dport;
    }
    sink += acc;
  };
  const missNaive = (): void => {
    let acc = 0;
    for (let k = 0; k < BATCH; k++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      const i = x % n;
      const e = naive!.get(naiveKey(TCP, clientOf(i), cportOf(i) + 10000, vipOf(i), VPORT));
      if (e !== undefined) bad++;
      else acc++;
    }
    sink += acc;
  };
  for (const [what, ours, theirs] of [
    ['hit', hit, hitNaive],
    ['miss', miss, missNaive],
  ] as const) {
    const s = measureOps(`lookup ${what} ${label}`, ours, BATCH, ctx.smoke);
    const b = naive ? measureOps(`naive lookup ${what} ${label}`, theirs, BATCH, ctx.smoke) : null;
    if (bad !== 0) fail(`lookup ${what} at ${label}: ${bad} wrong results`);
    const targets: string[] = ['>= 5x the baseline'];
    let met = b ? b.medianNs / s.medianNs >= 5 : undefined;
    if (what === 'hit' && n === 1e6) {
      targets.unshift('<= 100 ns');
      met = (met ?? true) && s.medianNs <= 100;
    }
    ctx.record({
      name: `lookup ${what}, ${label} entries`,
      unit: 'ns/op',
      median: s.medianNs,
      min: s.minNs,
      max: s.maxNs,
      rme: s.rme,
      samples: s.samples,
      ...(b
        ? { baseline: `Map<string> get (${b.medianNs.toFixed(1)} ns/op)`, ratio: b.medianNs / s.medianNs }
        : {}),
      target: targets.join(', '),
      ...(met === undefined ? {} : { met }),
    });
  }
  if (sink === 0.5) ctx.log('(sink)');
}

/**
 * What this machine charges for the memory accesses of a hit, in arrays the
 * size of the table's index and key records, with the same key arithmetic as
 * the lookups:
 * - "floor": per lookup, a random index slot and then the record it names
 *   (two dependent reads); successive lookups are independent, so the CPU
 *   may overlap one lookup's reads with the next one's, as it may for
 *   ConnTable's lookups. The least any index + entry layout pays for a hit.
 * - "latency": one random read whose address depends on the previous read
 *   (a pointer chase through an array the size of the index), so nothing
 *   overlaps: the cost of one cache and TLB miss at this size.
 */
function memoryFloor(ctx: BenchContext, n: number, label: string): void {
  let s = 16;
  while (s * 0.8 < n) s *= 2;
  const index = new Int32Array(2 * s);
  const records = new Uint32Array(4 * n);
  for (let i = 0; i < s; i++) index[2 * i] = (Math.imul(i, 0x9e3779b1) >>> 0) % n;
  for (let i = 0; i < 4 * n; i++) records[i] = i;
  // a random cyclic chase through the index, one slot per 64-byte line
  const lines = s >>> 3;
  const order = new Int32Array(lines);
  for (let i = 0; i < lines; i++) order[i] = i;
  let r = 0x1357;
  for (let i = lines - 1; i > 0; i--) {
    r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
    const j = r % (i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const chase = new Int32Array(2 * s);
  for (let i = 0; i < lines; i++) chase[order[i] << 4] = order[(i + 1) % lines] << 4;
  let x = 0x2468ace;
  let sink = 0;
  let p = 0;
  const floor = (): void => {
    let acc = 0;
    for (let k = 0; k < BATCH; k++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      const i = x % n;
      const h = Math.imul(clientOf(i) ^ cportOf(i), 0x9e3779b1);
      const id = index[(h & (s - 1)) << 1];
      acc += records[(id << 2) + (vipOf(i) & 3)];
    }
    sink += acc;
  };
  const latency = (): void => {
    let q = p;
    for (let k = 0; k < BATCH; k++) q = chase[q];
    p = q;
  };
  const f = measureOps(`memory floor ${label}`, floor, BATCH, ctx.smoke);
  const l = measureOps(`memory latency ${label}`, latency, BATCH, ctx.smoke);
  // every read is in bounds, so the sum of records read is a finite non-negative number
  if (!(sink >= 0) || !Number.isFinite(sink) || (p & 15) !== 0) fail('memory floor');
  const sizes = `index ${((8 * s) / 2 ** 20).toFixed(1)} MiB, records ${((16 * n) / 2 ** 20).toFixed(1)} MiB`;
  for (const [name, m, notes] of [
    [
      `memory floor, ${label} entries (two dependent random reads, lookups overlapped)`,
      f,
      `${sizes}: the least a hit costs here`,
    ],
    [
      `memory latency, ${label} entries (one random read, nothing overlapped)`,
      l,
      `pointer chase through ${((8 * s) / 2 ** 20).toFixed(1)} MiB: one cache and TLB miss, which a lookup of an index slot and then its entry pays twice unless lookups overlap`,
    ],
  ] as const) {
    ctx.record({
      name,
      unit: 'ns/op',
      median: m.medianNs,
      min: m.minNs,
      max: m.maxNs,
      rme: m.rme,
      samples: m.samples,
      notes,
    });
  }
}

interface Built {
  table: ConnTable;
  map: Map<string, NaiveConn> | null;
  /** The baseline's bytes per entry (NaN when it did not run). */
  mapBytes: number;
}

/** Bytes per entry of the table and the baseline; returns one of each, built, for the other measures. */
async function measureMemory(
  ctx: BenchContext,
  gc: () => void,
  n: number,
  label: string,
  runNaive: boolean,
): Promise<Built> {
  // small tables are measured many at a time, so that heap noise does not swamp them
  const copies = Math.max(1, Math.floor((ctx.smoke ? 1e4 : 1e6) / n));
  buildTable(Math.min(n, 1e5)); // compile the code and allocate its feedback before measuring
  const m0 = await settledBytes(gc);
  const tables: ConnTable[] = [];
  for (let k = 0; k < copies; k++) tables.push(buildTable(n));
  const m1 = await settledBytes(gc);
  const t = tables[0];
  const bytesPerEntry = (m1 - m0) / (n * copies);
  if (t.size !== n) fail(`table holds ${t.size} entries, expected ${n}`);
  tables.length = 1;
  let map: Map<string, NaiveConn> | null = null;
  let mapBytes = NaN;
  if (runNaive) {
    buildNaive(Math.min(n, 1e5));
    const b0 = await settledBytes(gc);
    const maps: Map<string, NaiveConn>[] = [];
    for (let k = 0; k < copies; k++) maps.push(buildNaive(n));
    const b1 = await settledBytes(gc);
    mapBytes = (b1 - b0) / (n * copies);
    map = maps[0];
  }
  ctx.record({
    name: `bytes per entry, ${label} entries`,
    unit: 'bytes/entry',
    median: bytesPerEntry,
    ...(runNaive
      ? {
          baseline: `Map<string, object> (${mapBytes.toFixed(0)} bytes/entry)`,
          ratio: mapBytes / bytesPerEntry,
        }
      : {}),
    target: '<= 100 bytes/entry',
    met: bytesPerEntry <= 100,
    notes: `${((bytesPerEntry * n) / 2 ** 20).toFixed(1)} MiB a table (heap + ArrayBuffers, ${copies} measured together); typed arrays ${(t.byteSize / 2 ** 20).toFixed(1)} MiB`,
  });
  if (n >= 1e7) {
    ctx.record({
      name: `memory of ${label} entries`,
      unit: 'MiB',
      median: (bytesPerEntry * n) / 2 ** 20,
      target: '<= 2048 MiB',
      met: bytesPerEntry * n <= 2 * GIB,
    });
  }
  return { table: t, map, mapBytes };
}

/** ns per insert of building a table (or the baseline) of n entries from empty. */
function timeBuild(n: number, naive: boolean): number {
  const t0 = process.hrtime.bigint();
  const size = naive ? buildNaive(n).size : buildTable(n).size;
  const ns = Number(process.hrtime.bigint() - t0) / n;
  if (size !== n) fail(`insert${naive ? ' (baseline)' : ''}: ${size} entries, expected ${n}`);
  return ns;
}

/**
 * Insert at n live entries: batches of new entries inserted into the table
 * (then removed again, so the size stays n), in alternation with the same on
 * the baseline; and building the table from empty (growth included).
 */
function inserts(ctx: BenchContext, built: Built, n: number, label: string): void {
  const k = Math.max(64, Math.min(BATCH, n >>> 3));
  const t = built.table;
  const m = built.map;
  const ids = new Int32Array(k);
  const c = new Uint32Array(4);
  const v = new Uint32Array(4);
  const ins: number[] = [];
  const rem: number[] = [];
  const insBase: number[] = [];
  const remBase: number[] = [];
  const rounds = ctx.smoke ? 3 : n >= 1e7 ? 101 : 401;
  for (let r = 0; r < rounds; r++) {
    let t0 = process.hrtime.bigint();
    for (let j = 0; j < k; j++) {
      const i = n + j;
      c[0] = clientOf(i);
      v[0] = vipOf(i);
      const id = t.insert(4, TCP, c, cportOf(i), v, VPORT, scratchD, 8080, ConnFlag.MASQ, 0, 0);
      t.arm(id, expiryOf(i, n));
      ids[j] = id;
    }
    let t1 = process.hrtime.bigint();
    for (let j = 0; j < k; j++) t.remove(ids[j]);
    let t2 = process.hrtime.bigint();
    ins.push(Number(t1 - t0) / k);
    rem.push(Number(t2 - t1) / k);
    if (t.size !== n) fail(`insert: size ${t.size} after a round, expected ${n}`);
    if (m) {
      t0 = process.hrtime.bigint();
      for (let j = 0; j < k; j++) {
        const i = n + j;
        const caddr = clientOf(i);
        const vaddr = vipOf(i);
        const cport = cportOf(i);
        m.set(naiveKey(TCP, caddr, cport, vaddr, VPORT), {
          af: 4,
          proto: TCP,
          caddr,
          cport,
          vaddr,
          vport: VPORT,
          daddr: 0x0a0a0a0a,
          dport: 8080,
          flags: ConnFlag.MASQ,
          state: 0,
          destId: 0,
          expires: expiryOf(i, n),
        });
      }
      t1 = process.hrtime.bigint();
      for (let j = 0; j < k; j++) {
        const i = n + j;
        m.delete(naiveKey(TCP, clientOf(i), cportOf(i), vipOf(i), VPORT));
      }
      t2 = process.hrtime.bigint();
      insBase.push(Number(t1 - t0) / k);
      remBase.push(Number(t2 - t1) / k);
      if (m.size !== n) fail(`insert (baseline): size ${m.size} after a round, expected ${n}`);
    }
  }
  // the first rounds run before the code is optimised
  const warm = (xs: number[]): number[] => xs.slice(Math.floor(xs.length / 4));
  for (const [what, ours, theirs] of [
    ['insert', warm(ins), warm(insBase)],
    ['remove', warm(rem), warm(remBase)],
  ] as const) {
    const med = median(ours);
    const base = m ? median(theirs) : NaN;
    ctx.record({
      name: `${what}, ${label} live entries`,
      unit: 'ns/op',
      median: med,
      min: Math.min(...ours),
      max: Math.max(...ours),
      samples: ours.length,
      ...(m
        ? {
            baseline: `Map<string> ${what === 'insert' ? 'set' : 'delete'} (${base.toFixed(1)} ns/op)`,
            ratio: base / med,
          }
        : {}),
      ...(what === 'insert' ? { target: '>= 5x the baseline', ...(m ? { met: base / med >= 5 } : {}) } : {}),
      notes: `batches of ${k} ${what === 'insert' ? 'new entries (armed)' : 'entries'}`,
    });
  }
}

/**
 * Building a table (and the baseline) of n entries from empty, growth
 * included; run with nothing else alive, since a large baseline on the heap
 * makes every collection (which ArrayBuffer growth triggers) expensive.
 */
async function builds(
  ctx: BenchContext,
  gc: () => void,
  n: number,
  label: string,
  runNaive: boolean,
): Promise<void> {
  const count = ctx.smoke ? 1 : n <= 1e3 ? 41 : n <= 1e5 ? 9 : n <= 1e6 ? 3 : 1;
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < count; r++) {
    ours.push(timeBuild(n, false));
    if (n >= 1e6) await settledBytes(gc);
    if (runNaive) {
      theirs.push(timeBuild(n, true));
      if (n >= 1e6) await settledBytes(gc);
    }
  }
  const warm = (xs: number[]): number[] => (xs.length > 4 ? xs.slice(Math.floor(xs.length / 4)) : xs);
  const b = median(warm(ours));
  const bBase = runNaive ? median(warm(theirs)) : NaN;
  ctx.record({
    name: `build from empty, ${label} entries (insert + arm, growth included)`,
    unit: 'ns/op',
    median: b,
    min: Math.min(...ours),
    max: Math.max(...ours),
    samples: ours.length,
    ...(runNaive ? { baseline: `Map<string> set (${bBase.toFixed(1)} ns/op)`, ratio: bBase / b } : {}),
  });
}

/** Expiry of every entry over 900 s of simulated time (re-armed), then per-packet re-arming. */
function expiry(ctx: BenchContext, built: Built, n: number, label: string): void {
  const rounds = ctx.smoke ? 0 : n <= 1e5 ? 5 : n <= 1e6 ? 3 : 1;
  const ours: number[] = [];
  const theirs: number[] = [];
  const et = built.table;
  const em = built.map;
  let fired = 0;
  const rearm = (id: number): void => {
    fired++;
    et.arm(id, et.expires[id] + SPAN_MS);
  };
  for (let r = 0; r <= rounds; r++) {
    const base = r * SPAN_MS;
    fired = 0;
    let t0 = process.hrtime.bigint();
    for (let s = 1; s <= STEPS; s++) et.expire(base + (s * SPAN_MS) / STEPS, rearm);
    if (r > 0 || ctx.smoke) ours.push(Number(process.hrtime.bigint() - t0) / fired); // round 0 warms up
    if (fired !== n) fail(`expire: ${fired} fired, expected ${n}`);
    if (em) {
      let firedNaive = 0;
      t0 = process.hrtime.bigint();
      for (let s = 1; s <= STEPS; s++) {
        const now = base + (s * SPAN_MS) / STEPS;
        for (const c of em.values()) {
          if (c.expires <= now) {
            firedNaive++;
            c.expires += SPAN_MS;
          }
        }
      }
      if (r > 0 || ctx.smoke) theirs.push(Number(process.hrtime.bigint() - t0) / firedNaive);
      if (firedNaive !== n) fail(`expire (baseline): ${firedNaive} fired, expected ${n}`);
    }
  }
  const exp = median(ours);
  const expBase = em ? median(theirs) : NaN;
  ctx.record({
    name: `expire, ${label} entries (per fired entry, re-armed)`,
    unit: 'ns/op',
    median: exp,
    min: Math.min(...ours),
    max: Math.max(...ours),
    samples: ours.length,
    ...(em ? { baseline: `Map sweep (${expBase.toFixed(1)} ns/op)`, ratio: expBase / exp } : {}),
    target: '>= 5x the baseline',
    ...(em ? { met: expBase / exp >= 5 } : {}),
  });

  let y = 99;
  const rearmBatch = (): void => {
    for (let k = 0; k < BATCH; k++) {
      y = (Math.imul(y, 1664525) + 1013904223) >>> 0;
      const id = y % n;
      et.arm(id, et.expires[id] + 1);
    }
  };
  const ra = measureOps(`re-arm ${label}`, rearmBatch, BATCH, ctx.smoke);
  if (et.armedCount !== n) fail('re-arm: entries lost their timers');
  ctx.record({
    name: `re-arm later (per packet), ${label} entries`,
    unit: 'ns/op',
    median: ra.medianNs,
    min: ra.minNs,
    max: ra.maxNs,
    rme: ra.rme,
    samples: ra.samples,
  });
}

/** Every measure at one size, on one table (and baseline) built once. Returns the baseline's bytes per entry. */
async function oneSize(
  ctx: BenchContext,
  gc: () => void,
  n: number,
  label: string,
  runNaive: boolean,
): Promise<number> {
  const built = await measureMemory(ctx, gc, n, label, runNaive);
  lookups(ctx, built.table, built.map, n, label);
  memoryFloor(ctx, n, label);
  inserts(ctx, built, n, label);
  expiry(ctx, built, n, label);
  return built.mapBytes;
}

export const suite: BenchSuite = {
  name: 'conntable',
  description:
    'connection table lookup/insert/expire and bytes per entry at 10^3..10^7 entries vs a Map<string> table',
  async run(ctx: BenchContext): Promise<void> {
    const gc = getGc();
    const sizes = ctx.smoke ? [1e3] : [1e3, 1e5, 1e6, 1e7];
    let naiveBytesPerEntry = 0;
    for (const n of sizes) {
      const label = n.toExponential(0).replace('e+', 'e');
      let runNaive = true;
      if (n >= 1e7 && naiveBytesPerEntry * n > 2 * GIB) {
        runNaive = false;
        ctx.log(
          `baseline at ${label} skipped: at ${naiveBytesPerEntry.toFixed(0)} bytes/entry (measured at 1e6) it needs ` +
            `${((naiveBytesPerEntry * n) / GIB).toFixed(1)} GiB, more than the 2 GiB budget`,
        );
      }
      const mapBytes = await oneSize(ctx, gc, n, label, runNaive);
      if (runNaive) naiveBytesPerEntry = mapBytes;
      await settledBytes(gc);
      await builds(ctx, gc, n, label, runNaive);
      await settledBytes(gc);
    }
  },
};
