/**
 * The replay engine: a director built from a set-up script, fed the frames
 * of one or more captures merged by timestamp, writing what it sends. It is
 * what `ipvs-sim replay` runs, and what `explain`, `ipvsadm --after`,
 * `sched-report` and the benchmarks build on.
 *
 * Frames are pulled from the capture readers (no copy, no object per frame),
 * handed to Director.receive, and the director's output frames are written
 * with the timestamp of the input frame that caused them plus k µs (k = 1, 2,
 * … over everything that input caused), as the oracle stamps them. Timed
 * set-up commands (`@SECONDS …`) are applied when the replay reaches the first
 * frame at or after first-frame + SECONDS; later ones after the last frame.
 *
 * The loop yields to the event loop every few thousand frames so SIGINT /
 * SIGTERM can stop it cleanly (`requestStop`): outputs are then flushed and
 * closed as valid captures.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { Director } from '../ipvs/director.js';
import type { FrameSink } from '../ipvs/env.js';
import { Fate, FATE_NAMES, Reason, REASON_NAMES, REASON_COUNT } from '../ipvs/verdict.js';
import { WIRE_REASON_NAMES } from '../wire/reasons.js';
import { openCapture, DEFAULT_READ_BUFFER, type CaptureReader } from '../capture/reader.js';
import { CaptureFormatError, CaptureReadError, CaptureWriteError } from '../capture/errors.js';
import { captureArena } from '../capture/arena.js';
import { openOutput, createPcapWriter, DEFAULT_WRITE_BUFFER, type CaptureWriter } from '../capture/writer.js';
import {
  parseSetup,
  applySetupCommand,
  validateSetup,
  type SetupScript,
  type SetupCommand,
} from '../control/setup.js';
import type { SchedulerRegistry } from '../ipvs/sched/scheduler.js';

export interface ReplayInputSpec {
  /** Capture file. */
  path: string;
  /** Director interface the frames arrive on; null: by destination MAC (else the first interface). */
  iface: string | null;
}

export interface ReplayConfig {
  /** The set-up script's text and the name used in error messages. */
  setupText: string;
  setupFile: string;
  lenient?: boolean;
  inputs: readonly ReplayInputSpec[];
  /** Write DIR/IFACE.pcap for every director interface. */
  outDir?: string | null;
  /** Write one capture (pcapng with one interface per director interface, or pcap when the name ends in .pcap). */
  outFile?: string | null;
  seed?: number;
  maxConns?: number;
  /** Called with each set-up warning (--lenient skips). */
  onWarning?: (message: string) => void;
  /** Called every `progressEvery` frames (and at the end) with bytes read so far. */
  onProgress?: (bytesRead: number, framesRead: number) => void;
  progressEvery?: number;
  /** Called after each input frame is processed (explain mode); null in a plain replay. */
  onFrame?: ((frameNo: number, director: Director) => void) | null;
  /**
   * Called with each input frame just before the director receives it (the
   * frame is buf[off, off+capLen), arriving on `link`; explain mode copies it
   * to show the headers before the rewrite); null in a plain replay.
   */
  onInput?:
    | ((frameNo: number, link: number, buf: Uint8Array, off: number, capLen: number, origLen: number) => void)
    | null;
  /** Sink to use instead of writing files (tests, benchmarks). */
  sink?: FrameSink | null;
  /**
   * A writer taking every frame the director sends, stamped as the outputs
   * are (its interface index is the director's link), instead of files: a
   * sharded replay's worker (src/replay/workers.ts) hands its frames to the
   * main thread this way.
   */
  writer?: CaptureWriter | null;
  /**
   * Storage for the input buffers (and the output batches) instead of a new
   * arena: at least 512 KiB per input plus 1 MiB per output file. A sharded
   * replay's worker reads into its part of the arena it shares with its
   * `writer`, so frames reach the writer without allocating.
   */
  arena?: Uint8Array | null;
  /**
   * Shards a replay across workers (src/replay/workers.ts): what this
   * director does with each input frame — FrameRole.RECEIVE it (the
   * default), SKIP it (another worker's: its simulated time still passes,
   * timers and timed commands run, but it is not counted here) or OBSERVE it
   * (another worker's neighbour information: Director.observe).
   */
  frameFilter?: ((link: number, buf: Uint8Array, off: number, capLen: number) => number) | null;
  /**
   * Frees memory between the columns of a large connection-table growth
   * (ConnTableOptions.release); the CLI passes `collectGarbageNow` (gc.ts).
   */
  releaseMemory?: (() => void) | null;
  /** Scheduler registry of the director (default: all fourteen); sched-report maps every name to one scheduler. */
  schedulers?: SchedulerRegistry | null;
}

/** What a sharded replay's worker does with an input frame (ReplayConfig.frameFilter). */
export const FrameRole = { RECEIVE: 0, SKIP: 1, OBSERVE: 2 } as const;

export interface FateCounts {
  forwarded: number;
  answered: number;
  local: number;
  dropped: number;
  held: number;
}

export interface ReplaySummary {
  framesIn: number;
  framesOut: number;
  /** Output frames per director interface. */
  framesOutPerInterface: Record<string, number>;
  fates: FateCounts;
  /** Frames per fate and reason (reasons with a zero count left out). */
  reasons: Record<string, Record<string, number>>;
  /** Malformed frames per wire reason. */
  malformed: Record<string, number>;
  /** Simulated duration: last frame time - first frame time, seconds. */
  simulatedSeconds: number;
  /** A malformed capture stopped the replay here (everything before it was processed and written). */
  captureError: { file: string; byteOffset: number; frameNo: number; message: string } | null;
  /**
   * An output could not be written (disk full, …): the replay stopped after
   * the frame being processed; the other outputs were closed as valid captures.
   */
  outputError: { file: string; code: string; message: string } | null;
  /** The replay was stopped by this signal. */
  interruptedBy: string | null;
  /** The connection table at the end, and what its cap and the drop_entry defence dropped. */
  connections: ConnectionSummary;
  outputs: string[];
}

export interface ConnectionSummary {
  /** Entries (connections and templates) live at the end. */
  live: number;
  /** Most entries live at once (sampled before every frame). */
  peak: number;
  /** --max-conns (0: no cap). */
  max: number;
  /** Bytes of typed-array storage the connection table holds at the end (ConnTable.byteSize). */
  tableBytes: number;
  /** New connections refused because the table was full (frames dropped as ipvs-conn-table-full). */
  refusedTableFull: number;
  /** Entries deleted by the drop_entry defence, per kind (src/ipvs/defense.ts). */
  droppedByDefense: { total: number; synRecv: number; established: number; template: number; other: number };
  /** Passes of the drop_entry defence (one per simulated second while it is active). */
  defensePasses: number;
}

/** A problem with the replay's command-line inputs (an --in naming an interface the set-up lacks). */
export class ReplayInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayInputError';
  }
}

interface Input {
  reader: CaptureReader;
  /** Link of each capture interface (by allInterfaces index); -1: by destination MAC. */
  linkOf: number[];
  fixedLink: number;
  size: number;
  /** A frame is ready in the reader. */
  ready: boolean;
}

/** Frames between yields to the event loop (signals) and progress reports. */
const YIELD_EVERY = 16384;

/**
 * Writes the director's output frames: the header part (Ethernet, tunnel
 * headers, built in the director's scratch) and the body (the packet, most
 * often still in the reader's buffer) go to the writer in one two-part
 * write. The readers' and writers' buffers share one ArrayBuffer (see
 * Replay.open), so the body is copied with copyWithin and nothing is
 * allocated per frame. A write error is not thrown through the director (the
 * frame in flight would lose its fate): it is kept in `failure` and the
 * replay loop stops after the current frame.
 */
class WriterSink implements FrameSink {
  sec = 0;
  nsec = 0;
  k = 0;
  failure: CaptureWriteError | null = null;
  readonly perLink: Float64Array;
  constructor(
    private readonly writers: (CaptureWriter | null)[],
    private readonly single: CaptureWriter | null,
    links: number,
  ) {
    this.perLink = new Float64Array(links);
  }

  emit(
    link: number,
    hdr: Uint8Array,
    hdrOff: number,
    hdrLen: number,
    body: Uint8Array,
    bodyOff: number,
    bodyLen: number,
    origLen: number,
  ): void {
    this.k++;
    this.perLink[link]++;
    let nsec = this.nsec + this.k * 1000;
    let sec = this.sec;
    if (nsec >= 1e9) {
      sec += Math.floor(nsec / 1e9);
      nsec %= 1e9;
    }
    const w = this.single ?? this.writers[link];
    if (w === null || w === undefined || this.failure !== null) return;
    try {
      w.writeParts(this.single ? link : 0, hdr, hdrOff, hdrLen, body, bodyOff, bodyLen, origLen, sec, nsec);
    } catch (e) {
      if (!(e instanceof CaptureWriteError)) throw e;
      this.failure = e;
    }
  }
}

export class Replay {
  readonly director: Director;
  readonly script: SetupScript;
  private readonly cfg: ReplayConfig;
  private readonly inputs: Input[] = [];
  private writers: (CaptureWriter | null)[] = [];
  private single: CaptureWriter | null = null;
  private sink: WriterSink | null = null;
  private stopSignal: string | null = null;
  private timedNext = 0;
  private firstSec = -1;
  private firstNsec = 0;
  private lastMs = 0;
  private captureError: ReplaySummary['captureError'] = null;
  private outputError: ReplaySummary['outputError'] = null;
  private framesRead = 0;
  private peakConns = 0;
  /** MAC of each link by index, high 16 bits (-1: no MAC) and low 32 bits, for inputs mapped by destination MAC. */
  private linkMacHi = new Int32Array(0);
  private linkMacLo = new Int32Array(0);
  /** Progress callback (bytes read, frames read), called every few thousand frames and at the end. */
  onProgress: ((bytesRead: number, framesRead: number) => void) | null;

  constructor(cfg: ReplayConfig) {
    this.cfg = cfg;
    this.onProgress = cfg.onProgress ?? null;
    this.script = parseSetup(cfg.setupText, { file: cfg.setupFile, lenient: cfg.lenient === true });
    for (const w of this.script.warnings) cfg.onWarning?.(w);
    const make = (): Director =>
      new Director({
        seed: cfg.seed ?? 1,
        maxConns: cfg.maxConns ?? 0,
        schedulers: cfg.schedulers ?? undefined,
        releaseMemory: cfg.releaseMemory ?? null,
      });
    validateSetup(this.script, make);
    this.director = make();
    for (const c of this.script.commands) applySetupCommand(c, this.director);
    this.director.configChanged();
  }

  /** Opens inputs and outputs. Throws CaptureFormatError / CaptureReadError / CaptureWriteError. */
  open(): void {
    const d = this.director;
    const links = d.host.links;
    // links have fixed indexes; a link without a MAC matches no frame
    this.linkMacHi = new Int32Array(links.length).fill(-1);
    this.linkMacLo = new Int32Array(links.length);
    for (const l of links)
      if (l.macSet) {
        this.linkMacHi[l.index] = Math.floor(l.mac / 2 ** 32);
        this.linkMacLo[l.index] = (l.mac % 2 ** 32) | 0;
      }
    // one arena for every reader's and writer's buffer: frames are copied from the input
    // buffers to the output batches by the arena's own copy (capture/arena.ts)
    const nIn = this.cfg.inputs.length;
    const nOut = this.cfg.sink ? 0 : this.cfg.outDir ? links.length : this.cfg.outFile ? 1 : 0;
    const need = nIn * DEFAULT_READ_BUFFER + nOut * DEFAULT_WRITE_BUFFER;
    const arena = this.cfg.arena ?? captureArena(need);
    if (arena.length < need)
      throw new RangeError(`a replay's arena needs ${need} bytes, the one given has ${arena.length}`);
    const readBuf = (i: number): Uint8Array =>
      arena.subarray(i * DEFAULT_READ_BUFFER, (i + 1) * DEFAULT_READ_BUFFER);
    const writeBuf = (i: number): Uint8Array => {
      const o = nIn * DEFAULT_READ_BUFFER + i * DEFAULT_WRITE_BUFFER;
      return arena.subarray(o, o + DEFAULT_WRITE_BUFFER);
    };
    for (const spec of this.cfg.inputs) {
      let fixed = -1;
      if (spec.iface !== null) {
        const l = d.host.findLink(spec.iface);
        if (!l)
          throw new ReplayInputError(
            `--in ${spec.iface}=${spec.path}: the set-up has no interface '${spec.iface}' (it has ${
              d.host.links.map((x) => x.name).join(', ') || 'none'
            })`,
          );
        fixed = l.index;
      }
      const reader = openCapture(spec.path, { buffer: readBuf(this.inputs.length) });
      let size: number;
      try {
        size = statSync(spec.path).size;
      } catch {
        size = 0;
      }
      this.inputs.push({ reader, linkOf: [], fixedLink: fixed, size, ready: false });
    }
    const names = links.map((l) => l.name);
    if (this.cfg.sink) {
      // caller-provided sink (tests, benchmarks)
    } else if (this.cfg.outDir) {
      const nano = this.inputsNanosecond();
      this.writers = names.map((n, i) =>
        createPcapWriter(path.join(this.cfg.outDir as string, `${n}.pcap`), {
          nanosecond: nano,
          buffer: writeBuf(i),
        }),
      );
    } else if (this.cfg.outFile) {
      this.single = openOutput(this.cfg.outFile, names, { buffer: writeBuf(0) });
    } else if (this.cfg.writer) {
      this.single = this.cfg.writer;
    }
    if (!this.cfg.sink) {
      this.sink = new WriterSink(this.writers, this.single, links.length);
      d.env.sink = this.sink;
    } else {
      d.env.sink = this.cfg.sink;
    }
  }

  /** Asks the loop to stop after the current frame (SIGINT / SIGTERM). */
  requestStop(signal: string): void {
    this.stopSignal = signal;
  }

  /** Timed set-up commands applied so far (they run in order). */
  get timedApplied(): number {
    return this.timedNext;
  }

  /** Applies the timed commands up to index n (exclusive) without replaying frames (a sharded replay's listing). */
  applyTimedUntil(n: number): void {
    while (this.timedNext < Math.min(n, this.script.timed.length))
      this.applyCommand(this.script.timed[this.timedNext++]);
  }

  /**
   * Timestamp (seconds, nanoseconds) of the input frame taken last: every
   * frame the director sends from now on is stamped at or after it.
   */
  inputTime(): [number, number] {
    return this.sink ? [this.sink.sec, this.sink.nsec] : [0, 0];
  }

  /** Whether an opened input has nanosecond timestamps (--out-dir then writes nanosecond pcaps). */
  inputsNanosecond(): boolean {
    return this.inputs.some((i) => i.reader.nanosecond);
  }

  /** Names of the files written. */
  outputs(): string[] {
    if (this.single) return [this.single.file];
    return this.writers.filter((w): w is CaptureWriter => w !== null).map((w) => w.file);
  }

  private linkFor(inp: Input): number {
    if (inp.fixedLink >= 0) return inp.fixedLink;
    const r = inp.reader;
    let l = inp.linkOf[r.ifaceIndex];
    if (l === undefined) {
      const iface = r.allInterfaces[r.ifaceIndex];
      const named = iface && iface.name ? this.director.host.findLink(iface.name) : undefined;
      l = named ? named.index : -1;
      inp.linkOf[r.ifaceIndex] = l;
    }
    if (l >= 0) return l;
    if (r.capLen >= 6) {
      // by destination MAC: a scan of the links' MACs, compared as two small integers (a 48-bit
      // MAC as one number would be a heap-allocated double per frame; Host.linkByMac's find a closure)
      const b = r.buf;
      const o = r.off;
      const hi = (b[o] << 8) | b[o + 1];
      const lo = (b[o + 2] << 24) | (b[o + 3] << 16) | (b[o + 4] << 8) | b[o + 5];
      const his = this.linkMacHi;
      const los = this.linkMacLo;
      for (let i = 0; i < his.length; i++) if (his[i] === hi && los[i] === lo) return i;
    }
    return 0;
  }

  /** Advances an input to its next frame; false at its end (or on its error, recorded). */
  private pull(inp: Input): boolean {
    try {
      inp.ready = inp.reader.next();
    } catch (e) {
      if (e instanceof CaptureFormatError) {
        this.captureError = {
          file: e.file,
          byteOffset: e.byteOffset,
          frameNo: e.frameNo,
          message: e.message,
        };
        inp.ready = false;
        return false;
      }
      if (e instanceof CaptureReadError) {
        // an I/O error in the middle of the file: stop there, like a malformed capture
        this.captureError = {
          file: e.file,
          byteOffset: inp.reader.recordOffset,
          frameNo: inp.reader.frameNo,
          message: e.message,
        };
        inp.ready = false;
        return false;
      }
      throw e;
    }
    return inp.ready;
  }

  /** Applies the timed commands due by the current frame (lastMs; not an argument: a double argument is boxed). */
  private applyTimed(): void {
    const upToMs = this.lastMs;
    const timed = this.script.timed;
    // compared in whole microseconds: 8.015 s * 1000 is 8015.000000000001 in binary floating point
    const upToUs = Math.round(upToMs * 1000);
    while (
      this.timedNext < timed.length &&
      Math.round((timed[this.timedNext].atSeconds as number) * 1e6) <= upToUs
    ) {
      this.applyCommand(timed[this.timedNext++]);
    }
  }

  private applyCommand(c: SetupCommand): void {
    applySetupCommand(c, this.director);
    this.director.configChanged();
  }

  /** Runs the replay to the end (or to a capture error, or a stop request). */
  async run(): Promise<ReplaySummary> {
    const d = this.director;
    const env = d.env;
    const inputs = this.inputs;
    for (const inp of inputs) if (!this.captureError) this.pull(inp);
    const onFrame = this.cfg.onFrame ?? null;
    const onInput = this.cfg.onInput ?? null;
    const filter = this.cfg.frameFilter ?? null;
    const every = this.cfg.progressEvery ?? YIELD_EVERY;
    let sinceYield = 0;
    const sink = this.sink;
    const conns = d.conns;
    for (;;) {
      if (this.captureError || this.stopSignal || this.outputError) break;
      // the input whose frame comes first (ties: input order)
      let best: Input | null = null;
      for (let i = 0; i < inputs.length; i++) {
        const inp = inputs[i];
        if (!inp.ready) continue;
        const r = inp.reader;
        if (
          best === null ||
          r.tsSec < best.reader.tsSec ||
          (r.tsSec === best.reader.tsSec && r.tsNsec < best.reader.tsNsec)
        )
          best = inp;
      }
      if (best === null) break;
      const r = best.reader;
      if (this.firstSec < 0) {
        this.firstSec = r.tsSec;
        this.firstNsec = r.tsNsec;
      }
      const nowMs = (r.tsSec - this.firstSec) * 1000 + (r.tsNsec - this.firstNsec) / 1e6;
      this.lastMs = nowMs;
      // timers due by now fire first (the kernel ran them before the command did);
      // the time goes through env, not as an argument (a boxed double per frame)
      env.inputMs = nowMs;
      d.advanceToInput();
      this.applyTimed();
      if (this.sink) {
        this.sink.sec = r.tsSec;
        this.sink.nsec = r.tsNsec;
        this.sink.k = 0;
      }
      if (conns.size > this.peakConns) this.peakConns = conns.size;
      const link = this.linkFor(best);
      const role = filter === null ? FrameRole.RECEIVE : filter(link, r.buf, r.off, r.capLen);
      if (role === FrameRole.RECEIVE) {
        if (onInput) onInput(this.framesRead, link, r.buf, r.off, r.capLen, r.origLen);
        d.receive(link, r.buf, r.off, r.capLen, r.origLen);
        if (onFrame) onFrame(this.framesRead, d);
        this.framesRead++;
        if (sink !== null && sink.failure !== null) this.noteOutputError(sink.failure);
      } else if (role === FrameRole.OBSERVE) {
        d.observe(link, r.buf, r.off, r.capLen, r.origLen);
      }
      this.pull(best);
      if (++sinceYield >= every) {
        sinceYield = 0;
        this.onProgress?.(this.bytesRead(), this.framesRead);
        await new Promise((res) => setImmediate(res));
      }
    }
    if (!this.captureError && !this.stopSignal && !this.outputError) {
      // timed commands after the last frame
      while (this.timedNext < this.script.timed.length)
        this.applyCommand(this.script.timed[this.timedNext++]);
    }
    if (conns.size > this.peakConns) this.peakConns = conns.size;
    this.resolveHeld();
    if (sink !== null && sink.failure !== null) this.noteOutputError(sink.failure);
    this.onProgress?.(this.bytesRead(), this.framesRead);
    return this.summary();
  }

  private noteOutputError(e: CaptureWriteError): void {
    if (!this.outputError) this.outputError = { file: e.file, code: e.code, message: e.message };
  }

  /**
   * End of the replay (end of input, a malformed capture, an output error or
   * a signal): frames still held will never be released. The host stack's
   * flush() drops its queues, moving their frames from held to dropped —
   * fragments waiting for reassembly as `fragment-incomplete`, packets
   * waiting for a neighbour as `neighbour-unresolved`; anything still counted
   * as held after that (a stack that kept no queue for it) is moved here as
   * dropped `fragment-incomplete`, so the fates always sum to the frames read.
   */
  private resolveHeld(): void {
    const d = this.director;
    d.stack.flush();
    const f = d.env.fates;
    const held = f.fates[Fate.HELD];
    if (held > 0) f.release(Fate.DROPPED, Reason.FRAG_INCOMPLETE, held);
  }

  /** Bytes of the inputs consumed so far (for progress). */
  bytesRead(): number {
    let n = 0;
    for (const inp of this.inputs) n += inp.ready ? inp.reader.recordOffset : inp.size;
    return n;
  }

  /** Total size of the inputs. */
  totalBytes(): number {
    return this.inputs.reduce((a, i) => a + i.size, 0);
  }

  /**
   * Flushes and closes every output and input (idempotent). Every file is
   * closed even when one fails; the first failure is thrown afterwards
   * (CaptureWriteError for an output).
   */
  close(): void {
    let first: unknown = null;
    const attempt = (fn: () => void): void => {
      try {
        fn();
      } catch (e) {
        if (first === null) first = e;
      }
    };
    for (const w of this.writers) if (w) attempt(() => w.close());
    const single = this.single;
    if (single) attempt(() => single.close());
    for (const inp of this.inputs) attempt(() => inp.reader.close());
    if (first !== null) throw first;
  }

  summary(): ReplaySummary {
    const d = this.director;
    const f = d.env.fates;
    const reasons: Record<string, Record<string, number>> = {};
    for (let fate = 0; fate < FATE_NAMES.length; fate++) {
      const per: Record<string, number> = {};
      for (let r = 0; r < REASON_COUNT; r++) {
        const n = f.byReason[fate * REASON_COUNT + r];
        if (n) per[REASON_NAMES[r]] = n;
      }
      if (Object.keys(per).length) reasons[FATE_NAMES[fate]] = per;
    }
    const malformed: Record<string, number> = {};
    for (let i = 0; i < f.malformed.length; i++)
      if (f.malformed[i]) malformed[WIRE_REASON_NAMES[i]] = f.malformed[i];
    const perIf: Record<string, number> = {};
    let out = 0;
    d.host.links.forEach((l) => {
      const n = this.sink ? this.sink.perLink[l.index] : 0;
      perIf[l.name] = n;
      out += n;
    });
    return {
      framesIn: f.framesIn,
      framesOut: out,
      framesOutPerInterface: perIf,
      fates: {
        forwarded: f.fates[0],
        answered: f.fates[1],
        local: f.fates[2],
        dropped: f.fates[3],
        held: f.fates[4],
      },
      reasons,
      malformed,
      simulatedSeconds: this.lastMs / 1000,
      captureError: this.captureError,
      outputError: this.outputError,
      interruptedBy: this.stopSignal,
      connections: this.connectionSummary(),
      outputs: this.outputs(),
    };
  }

  private connectionSummary(): ConnectionSummary {
    const d = this.director;
    const f = d.env.fates;
    const c = d.defense.counters;
    return {
      live: d.conns.size,
      peak: Math.max(this.peakConns, d.conns.size),
      max: d.conns.maxConns,
      tableBytes: d.conns.byteSize,
      refusedTableFull: f.byReason[Fate.DROPPED * REASON_COUNT + Reason.IPVS_CONN_TABLE_FULL],
      droppedByDefense: {
        total: c.synRecv + c.established + c.template + c.other,
        synRecv: c.synRecv,
        established: c.established,
        template: c.template,
        other: c.other,
      },
      defensePasses: c.passes,
    };
  }
}
