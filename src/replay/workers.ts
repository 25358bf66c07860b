/**
 * A replay sharded across worker threads (`ipvs-sim replay --workers N`), as
 * a multi-queue NIC's receive-side scaling spreads flows over CPUs.
 *
 * Every worker reads every input and runs its own director built from the
 * same set-up; it receives only the frames whose client address hashes to
 * it (src/replay/shard.ts), so each connection, its replies, its ICMP errors
 * and its persistence template live on one worker. The other frames still
 * move the worker's clock (timers, timed commands run as in a single run);
 * ARP and neighbour discovery frames are observed by every worker (each
 * resolves the next hops of its own packets) and owned by worker 0.
 *
 * Workers hand the frames they send to the main thread in batches
 * (src/replay/batches.ts), which merges them by timestamp (ties: worker
 * order; each worker's own order is kept) into the requested outputs as
 * they arrive; at the end it sums the workers' summaries and, for a
 * listing, adds their counters into a director built from the set-up (with
 * the timed commands the workers applied).
 *
 * What differs from a single-threaded run (docs/cli.md): the order of frames
 * of different flows that share a timestamp; the choices of schedulers that
 * depend on state (rr, wrr, lc, wlc, sed, nq, fo, ovf, lblc, lblcr, twos and
 * the overload thresholds see each worker's own connections, as per-CPU
 * state would) — sh, dh and mh pick the same real servers; the IP IDs, the
 * ICMP rate limit and the next-hop solicitations of the director's own
 * packets (per worker); --max-conns and the drop_entry defence, which apply
 * per worker (the cap is shared out evenly); the connection table's peak,
 * which is the sum of the workers' peaks; the rates of `--rate`, the sum of
 * the workers' estimates; ICMP errors about GUE / GRE packets the director
 * sent, which go by the real server's address (shard.ts).
 */
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { Replay, type ReplayConfig, type ReplaySummary, type ReplayInputSpec } from './engine.js';
import { NullSink } from '../ipvs/env.js';
import type { Director } from '../ipvs/director.js';
import type { Dest, Service } from '../ipvs/service.js';
import type { ConnListEntry, ListState, RateValues } from '../control/ipvsadm/index.js';
import { IpAddr, type Af } from '../wire/addr.js';
import {
  CaptureWriteError,
  DEFAULT_READ_BUFFER,
  DEFAULT_WRITE_BUFFER,
  createPcapWriter,
  openOutput,
  type CaptureWriter,
} from '../capture/index.js';
import { sharedArena, type WasmMemory } from '../capture/arena.js';
import { FrameMerger, Handover, type MergedFrameWrite } from './batches.js';

/** What the main thread gives each worker (worker_threads workerData). */
export interface WorkerJob {
  index: number;
  count: number;
  setupText: string;
  setupFile: string;
  lenient: boolean;
  inputs: ReplayInputSpec[];
  /** Send the frames the director sends to the main thread (src/replay/batches.ts); false: the replay writes nothing. */
  output: boolean;
  /** The arena shared with the main thread (capture/arena.ts sharedArena): the worker's input buffers and batch slots. */
  arena: WasmMemory | SharedArrayBuffer;
  /** Where in the arena the worker's input buffers start (512 KiB per input). */
  readOff: number;
  /** The batch slots and their control words (Handover.from). */
  handover: { workers: number; base: number; stride: number; control: Int32Array };
  seed: number;
  maxConns: number;
  /** The worker's connection table frees memory as it grows (collectGarbageNow, gc.ts) where the main thread was asked to. */
  releaseMemory: boolean;
  /** Send the counters and connections back for a listing. */
  listing: boolean;
  progressEvery: number;
}

/** A connection entry with its addresses as words (IpAddr does not survive structured cloning). */
export type ConnWire = Omit<ConnListEntry, 'caddr' | 'vaddr' | 'daddr'> & {
  caddr: number[];
  vaddr: number[];
  daddr: number[];
};

/** Counters of a service or real server: the five Stats counters, the five rates, then (real servers) active, total, persistent. */
export interface WorkerListing {
  services: number[][];
  dests: number[][][];
  conns: ConnWire[];
}

export type WorkerMessage =
  | { type: 'progress'; bytes: number; frames: number; sec: number; nsec: number }
  | { type: 'batch'; slot: number; used: number; sec: number; nsec: number }
  | { type: 'done'; summary: ReplaySummary; timedApplied: number; listing: WorkerListing | null }
  | { type: 'error'; kind: string; message: string };

export type MainMessage = { type: 'stop'; signal: string };

function addrWords(a: IpAddr): number[] {
  return [a.af, a.w0, a.w1, a.w2, a.w3];
}

function wordsAddr(w: number[]): IpAddr {
  return IpAddr.fromWords(w[0] as Af, w, 1);
}

function counters(s: Service | Dest, r: RateValues): number[] {
  const t = s.stats;
  return [t.conns, t.inpkts, t.outpkts, t.inbytes, t.outbytes, r.cps, r.inpps, r.outpps, r.inbps, r.outbps];
}

/** A worker's counters and connections for the main thread's listing. */
export function workerListing(d: Director, conns: readonly ConnListEntry[]): WorkerListing {
  const rates = d.rates();
  const zero: RateValues = { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };
  return {
    services: d.ipvs.services.map((s) => counters(s, rates.get(s) ?? zero)),
    dests: d.ipvs.services.map((s) =>
      s.dests.map((x) => [...counters(x, rates.get(x) ?? zero), x.activeConns, x.totalConns, x.persistConns]),
    ),
    conns: conns.map((c) => ({
      ...c,
      caddr: addrWords(c.caddr),
      vaddr: addrWords(c.vaddr),
      daddr: addrWords(c.daddr),
    })),
  };
}

/**
 * The listing state of a sharded replay: `d` (built from the same set-up,
 * with the timed commands the workers applied) with the workers' counters
 * added into its services and real servers, and their connections.
 */
export function mergedListState(d: Director, parts: readonly WorkerListing[]): ListState {
  const rates = new Map<Service | Dest, RateValues>();
  const sum = (rows: (number[] | undefined)[], n: number): number[] => {
    const out = new Array<number>(n).fill(0);
    for (const r of rows) if (r) for (let i = 0; i < n; i++) out[i] += r[i];
    return out;
  };
  const rateOf = (v: number[]): RateValues => ({
    cps: v[5],
    inpps: v[6],
    outpps: v[7],
    inbps: v[8],
    outbps: v[9],
  });
  d.ipvs.services.forEach((s, i) => {
    const v = sum(
      parts.map((p) => p.services[i]),
      10,
    );
    [s.stats.conns, s.stats.inpkts, s.stats.outpkts, s.stats.inbytes, s.stats.outbytes] = v;
    rates.set(s, rateOf(v));
    s.dests.forEach((x, j) => {
      const w = sum(
        parts.map((p) => p.dests[i]?.[j]),
        13,
      );
      [x.stats.conns, x.stats.inpkts, x.stats.outpkts, x.stats.inbytes, x.stats.outbytes] = w;
      x.activeConns = w[10];
      x.totalConns = w[11];
      x.persistConns = w[12];
      rates.set(x, rateOf(w));
    });
  });
  const conns: ConnListEntry[] = [];
  for (const p of parts)
    for (const c of p.conns)
      conns.push({ ...c, caddr: wordsAddr(c.caddr), vaddr: wordsAddr(c.vaddr), daddr: wordsAddr(c.daddr) });
  return { ipvs: d.ipvs, conns, rates, host: d.host };
}

/** Sums the workers' summaries (outputs: the merged files). */
export function mergeSummaries(parts: readonly ReplaySummary[], outputs: string[]): ReplaySummary {
  const first = parts[0];
  const addRecord = (into: Record<string, number>, from: Record<string, number>): void => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  };
  const s: ReplaySummary = {
    framesIn: 0,
    framesOut: 0,
    framesOutPerInterface: {},
    fates: { forwarded: 0, answered: 0, local: 0, dropped: 0, held: 0 },
    reasons: {},
    malformed: {},
    simulatedSeconds: 0,
    captureError: null,
    outputError: null,
    interruptedBy: null,
    connections: {
      live: 0,
      peak: 0,
      max: 0,
      tableBytes: 0,
      refusedTableFull: 0,
      droppedByDefense: { total: 0, synRecv: 0, established: 0, template: 0, other: 0 },
      defensePasses: 0,
    },
    outputs,
  };
  for (const p of parts) {
    s.framesIn += p.framesIn;
    s.framesOut += p.framesOut;
    addRecord(s.framesOutPerInterface, p.framesOutPerInterface);
    for (const k of Object.keys(s.fates) as (keyof ReplaySummary['fates'])[]) s.fates[k] += p.fates[k];
    for (const [fate, per] of Object.entries(p.reasons)) addRecord((s.reasons[fate] ??= {}), per);
    addRecord(s.malformed, p.malformed);
    s.simulatedSeconds = Math.max(s.simulatedSeconds, p.simulatedSeconds);
    s.captureError ??= p.captureError;
    s.outputError ??= p.outputError;
    s.interruptedBy ??= p.interruptedBy;
    const c = s.connections;
    const q = p.connections;
    c.live += q.live;
    c.peak += q.peak;
    c.max += q.max;
    c.tableBytes += q.tableBytes;
    c.refusedTableFull += q.refusedTableFull;
    for (const k of Object.keys(c.droppedByDefense) as (keyof typeof c.droppedByDefense)[])
      c.droppedByDefense[k] += q.droppedByDefense[k];
    c.defensePasses = Math.max(c.defensePasses, q.defensePasses);
  }
  // the worker order of the per-interface record is the director's link order in every worker
  if (first) s.framesOutPerInterface = { ...first.framesOutPerInterface, ...s.framesOutPerInterface };
  return s;
}

/**
 * Starts the worker entry point next to this file: worker_main.js once
 * built; under tsx (tests, `npx tsx`) worker_main.ts, through a bootstrap
 * that registers tsx's loader in the worker thread first (a worker does not
 * inherit the loader hooks of the main thread).
 */
function startWorker(job: WorkerJob): Worker {
  const here = fileURLToPath(import.meta.url);
  const script = path.join(path.dirname(here), `worker_main${path.extname(here)}`);
  if (path.extname(here) !== '.ts') return new Worker(script, { workerData: job });
  // tsx's ESM API (its CommonJS build resolves its loader wrongly from an eval'd worker)
  const api = createRequire(import.meta.url).resolve('tsx/esm/api');
  const tsx = pathToFileURL(path.join(path.dirname(api), 'index.mjs')).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(
    pathToFileURL(script).href,
  )}); });`;
  return new Worker(boot, { eval: true, workerData: job });
}

export type ShardedReplayConfig = Pick<
  ReplayConfig,
  | 'setupText'
  | 'setupFile'
  | 'lenient'
  | 'inputs'
  | 'outDir'
  | 'outFile'
  | 'seed'
  | 'maxConns'
  | 'onWarning'
  | 'releaseMemory'
> & {
  workers: number;
  /** Collect what `--stats` / `--list` print. */
  listing: boolean;
  progressEvery?: number;
};

/**
 * An error a worker reported: `kind` is the class of the error it caught
 * (CaptureWriteError, …), so the CLI maps it to the same exit status as in
 * a single-threaded replay.
 */
export class ReplayWorkerError extends Error {
  readonly kind: string;
  constructor(kind: string, message: string) {
    super(message);
    this.name = 'ReplayWorkerError';
    this.kind = kind;
  }
}

/**
 * The sharded replay: open(), run(), close(), as Replay. The director it
 * exposes is the main thread's, built from the set-up: it checks the set-up
 * and the inputs before any worker starts and holds the listing state.
 */
export class ShardedReplay {
  private readonly cfg: ShardedReplayConfig;
  private readonly main: Replay;
  private workers: Worker[] = [];
  private stopSignal: string | null = null;
  private listing: ListState | null = null;
  private writers: CaptureWriter[] = [];
  private single: CaptureWriter | null = null;
  /**
   * One arena for every thread (capture/arena.ts sharedArena): the main
   * thread's writer buffers, then per worker its batch slots and its input
   * buffers. Made by open().
   */
  private arena: ReturnType<typeof sharedArena> | null = null;
  private handover: Handover | null = null;
  private outputError: ReplaySummary['outputError'] = null;
  private bytes: number[] = [];
  private frames: number[] = [];
  onProgress: ((bytesRead: number, framesRead: number) => void) | null = null;

  constructor(cfg: ShardedReplayConfig) {
    if (!Number.isInteger(cfg.workers) || cfg.workers < 1) throw new RangeError('workers must be >= 1');
    this.cfg = cfg;
    this.main = new Replay({
      setupText: cfg.setupText,
      setupFile: cfg.setupFile,
      lenient: cfg.lenient,
      inputs: cfg.inputs,
      seed: cfg.seed,
      maxConns: cfg.maxConns,
      onWarning: cfg.onWarning,
      sink: new NullSink(),
    });
  }

  get director(): Director {
    return this.main.director;
  }

  /** Checks the inputs (headers, --in interfaces) and creates the outputs. */
  open(): void {
    let nanosecond: boolean;
    try {
      this.main.open();
      nanosecond = this.main.inputsNanosecond();
    } finally {
      this.main.close();
    }
    const names = this.main.director.host.links.map((l) => l.name);
    const outDir = this.cfg.outDir ?? null;
    const nOut = outDir !== null ? names.length : this.cfg.outFile ? 1 : 0;
    const n = this.cfg.workers;
    const base = nOut * DEFAULT_WRITE_BUFFER;
    const stride = Handover.SLOT_BYTES + this.cfg.inputs.length * DEFAULT_READ_BUFFER;
    this.arena = sharedArena(base + n * stride);
    this.handover = Handover.create(n, base, stride);
    const bytes = this.arena.bytes;
    const writeBuffer = (i: number): Uint8Array =>
      bytes.subarray(i * DEFAULT_WRITE_BUFFER, (i + 1) * DEFAULT_WRITE_BUFFER);
    if (outDir !== null)
      this.writers = names.map((name, i) =>
        createPcapWriter(path.join(outDir, `${name}.pcap`), { nanosecond, buffer: writeBuffer(i) }),
      );
    else if (this.cfg.outFile) this.single = openOutput(this.cfg.outFile, names, { buffer: writeBuffer(0) });
  }

  totalBytes(): number {
    return this.main.totalBytes();
  }

  /** Asks every worker to stop after its current frame (SIGINT / SIGTERM). */
  requestStop(signal: string): void {
    this.stopSignal ??= signal;
    this.stopWorkers(signal);
  }

  private stopWorkers(signal: string): void {
    const m: MainMessage = { type: 'stop', signal };
    for (const w of this.workers) w.postMessage(m);
  }

  /** Writes a merged frame to its output; a write error stops the workers (the rest is discarded). */
  private readonly writeFrame: MergedFrameWrite = (link, buf, off, capLen, origLen, sec, nsec) => {
    if (this.outputError !== null) return;
    try {
      if (this.single) this.single.write(link, buf, off, capLen, origLen, sec, nsec);
      else this.writers[link]?.write(0, buf, off, capLen, origLen, sec, nsec);
    } catch (e) {
      if (!(e instanceof CaptureWriteError)) throw e;
      this.outputError = { file: e.file, code: e.code, message: e.message };
      this.stopWorkers('output-error');
    }
  };

  async run(): Promise<ReplaySummary> {
    const n = this.cfg.workers;
    const perWorkerCap = this.cfg.maxConns ? Math.ceil(this.cfg.maxConns / n) : 0;
    this.bytes = new Array<number>(n).fill(0);
    this.frames = new Array<number>(n).fill(0);
    const arena = this.arena;
    const handover = this.handover;
    if (arena === null || handover === null) throw new Error('ShardedReplay.run() before open()');
    const output = this.single !== null || this.writers.length > 0;
    const merger = new FrameMerger(arena.bytes, handover, (link, buf, off, capLen, origLen, sec, nsec) =>
      this.writeFrame(link, buf, off, capLen, origLen, sec, nsec),
    );
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        this.runWorker(
          {
            index: i,
            count: n,
            setupText: this.cfg.setupText,
            setupFile: this.cfg.setupFile,
            lenient: this.cfg.lenient === true,
            inputs: [...this.cfg.inputs],
            output,
            arena: arena.handle,
            readOff: handover.slotOff(i, 0) + Handover.SLOT_BYTES,
            handover,
            seed: this.cfg.seed ?? 1,
            maxConns: perWorkerCap,
            releaseMemory: this.cfg.releaseMemory != null,
            listing: this.cfg.listing,
            progressEvery: this.cfg.progressEvery ?? 16384,
          },
          merger,
        ),
      ),
    );
    this.workers = [];
    merger.drain();
    const summary = mergeSummaries(
      results.map((r) => r.summary),
      this.outputs(),
    );
    // a worker stopped because an output failed was not interrupted by a signal
    summary.interruptedBy = this.stopSignal;
    summary.outputError ??= this.outputError;
    if (this.cfg.listing) {
      this.main.applyTimedUntil(results[0].timedApplied);
      this.listing = mergedListState(
        this.main.director,
        results.map((r) => r.listing as WorkerListing),
      );
    }
    this.onProgress?.(this.totalBytes(), summary.framesIn);
    return summary;
  }

  private outputs(): string[] {
    return this.single ? [this.single.file] : this.writers.map((w) => w.file);
  }

  private runWorker(job: WorkerJob, merger: FrameMerger): Promise<Extract<WorkerMessage, { type: 'done' }>> {
    return new Promise((resolve, reject) => {
      const w = startWorker(job);
      this.workers.push(w);
      if (this.stopSignal) w.postMessage({ type: 'stop', signal: this.stopSignal } satisfies MainMessage);
      let settled = false;
      const fail = (e: Error): void => {
        if (settled) return;
        settled = true;
        // the other workers may wait for this one's frames: stop them all
        merger.finish(job.index);
        this.stopWorkers('worker-error');
        reject(e);
      };
      w.on('message', (m: WorkerMessage) => {
        try {
          if (m.type === 'batch') {
            merger.add(job.index, m.slot, m.used);
            merger.watermark(job.index, m.sec, m.nsec);
            merger.drain(this.outputError !== null);
          } else if (m.type === 'progress') {
            merger.watermark(job.index, m.sec, m.nsec);
            merger.drain(this.outputError !== null);
            this.bytes[job.index] = m.bytes;
            this.frames[job.index] = m.frames;
            // every worker reads every input: the slowest worker's position is the replay's
            this.onProgress?.(
              Math.min(...this.bytes),
              this.frames.reduce((a, b) => a + b, 0),
            );
          } else if (m.type === 'done') {
            settled = true;
            merger.finish(job.index);
            merger.drain(this.outputError !== null);
            resolve(m);
            // its work is done: nothing it still holds may keep the process alive
            void w.terminate();
          } else {
            fail(new ReplayWorkerError(m.kind, m.message));
          }
        } catch (e) {
          fail(e instanceof Error ? e : new Error(String(e)));
        }
      });
      w.on('error', (e) => fail(e));
      w.on('exit', (code) =>
        fail(new Error(`replay worker ${job.index} exited with code ${code} before finishing`)),
      );
    });
  }

  /** The listing state after run() (when the config asked for it). */
  listState(): ListState {
    if (!this.listing) throw new Error('no listing: the replay was not run with listing: true');
    return this.listing;
  }

  /**
   * Stops any worker still running and closes the outputs (idempotent).
   * Every output is closed even when one fails; the first failure is
   * thrown afterwards (CaptureWriteError).
   */
  close(): void {
    for (const w of this.workers) void w.terminate();
    this.workers = [];
    let first: unknown = null;
    for (const c of [...this.writers, ...(this.single ? [this.single] : [])])
      try {
        c.close();
      } catch (e) {
        first ??= e;
      }
    this.writers = [];
    this.single = null;
    if (first !== null) throw first;
  }
}
