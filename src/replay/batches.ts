/**
 * How a sharded replay's workers hand the frames they send to the main
 * thread (src/replay/workers.ts): in batches of records packed into 1 MiB
 * slots of one arena every thread shares (capture/arena.ts `sharedArena`),
 * merged by timestamp on the main thread into the outputs as they arrive —
 * no temporary files, no second pass, and nothing copied or transferred
 * between threads but a slot number.
 *
 * A record: seconds u32, nanoseconds u32, link u32, captured length u32,
 * original length u32 (little-endian), then the frame's bytes, padded to
 * 4 bytes.
 *
 * Order: the main thread writes the record with the smallest timestamp
 * among the workers' next records (ties: the lower worker), each worker's
 * own order kept — once no other worker can still send an earlier one. A
 * worker's watermark is the timestamp of the input frame it took last:
 * every frame it sends afterwards is stamped at or after it (Replay
 * inputTime()).
 *
 * Slots and flow control (`Handover`): each worker owns MAX_PENDING slots
 * and a count of the batches it has posted that the main thread has not yet
 * written; the main thread gives a written slot back through a queue in
 * shared memory. A worker takes a given-back slot first and a slot it has
 * never used only when none is back, so the memory it touches stays near
 * what it has in flight; with every slot in flight it waits for the main
 * thread. The frames are copied into a slot by the arena's copy function
 * (the worker's input buffers lie in the same arena) and from the slot into
 * the main thread's writer the same way: no allocation per frame on either
 * side. No ArrayBuffer is transferred, because transferring detaches it, and
 * once any ArrayBuffer is detached V8 guards every typed-array access of that
 * thread against detachment (5-13 % slower replays, measured with the
 * datapath bench). The design before this one (batches transferred back and
 * forth, a view allocated per frame on both sides) ran `--workers 2` at 0.60x
 * one thread's speed on the DR bench capture, this one at 0.74x (wall-time
 * medians of five alternated runs each).
 */
import type { CaptureWriter } from '../capture/index.js';
import { FrameCopier } from '../capture/writer.js';

export const BATCH_BYTES = 1 << 20;
const REC_HDR = 20;
/**
 * Batch slots per worker (16 MiB of arena, touched only as far as a worker
 * runs ahead of the merge): 64 measured no faster and touches 4x the memory.
 */
export const MAX_PENDING = 16;

/** Shared words per worker: in-flight count, given-back queue head and tail, the queue. */
const PENDING = 0;
const HEAD = 1;
const TAIL = 2;
const QUEUE = 3;
const WORDS = QUEUE + MAX_PENDING;

/**
 * The slots of a sharded replay's workers in a shared arena (`slotsOff(i)`:
 * worker i's first slot, as an offset in the arena's buffer) and the
 * control words shared with them (`control`, a SharedArrayBuffer view, sent
 * to the workers with the arena). Built once by the main thread; a worker
 * rebuilds it from the same numbers (`Handover.from`).
 */
export class Handover {
  constructor(
    readonly workers: number,
    readonly base: number,
    readonly stride: number,
    readonly control: Int32Array,
  ) {}

  /** Bytes of arena each worker's slots take. */
  static readonly SLOT_BYTES = MAX_PENDING * BATCH_BYTES;

  /** `workers` workers whose slots start at `base` and lie `stride` bytes apart. */
  static create(workers: number, base: number, stride: number): Handover {
    return new Handover(workers, base, stride, new Int32Array(new SharedArrayBuffer(4 * WORDS * workers)));
  }

  static from(h: { workers: number; base: number; stride: number; control: Int32Array }): Handover {
    return new Handover(h.workers, h.base, h.stride, h.control);
  }

  /** Arena offset of worker `w`'s slot `slot`. */
  slotOff(w: number, slot: number): number {
    return this.base + w * this.stride + slot * BATCH_BYTES;
  }

  /** Batches worker `w` has posted that are not written yet. */
  inFlight(w: number): number {
    return Atomics.load(this.control, w * WORDS + PENDING);
  }
}

/**
 * A worker's side: a CaptureWriter packing frames into slots of the shared
 * arena `arena` (a view of its whole buffer), posting each when full (or on
 * flush) as post(slot, used).
 */
export class FrameBatcher extends FrameCopier implements CaptureWriter {
  readonly file = '(main thread)';
  readonly format = 'pcapng' as const;
  framesWritten = 0;
  bytesWritten = 0;
  private readonly dv: DataView;
  private readonly c: number;
  /** The current slot, its arena offset, the write position in it. */
  private slot = -1;
  private slotBase = 0;
  private pos = 0;
  /** Slots never used yet start here. */
  private fresh = 0;
  private closed = false;

  constructor(
    arena: Uint8Array,
    private readonly handover: Handover,
    private readonly index: number,
    private readonly post: (slot: number, used: number) => void,
  ) {
    super();
    wholeArena(arena);
    this.target(arena);
    this.dv = new DataView(arena.buffer, arena.byteOffset, arena.byteLength);
    this.c = index * WORDS;
  }

  write(
    ifaceIndex: number,
    buf: Uint8Array,
    off: number,
    len: number,
    origLen: number,
    tsSec: number,
    tsNsec: number,
  ): void {
    this.writeParts(ifaceIndex, buf, off, len, buf, 0, 0, origLen, tsSec, tsNsec);
  }

  writeParts(
    ifaceIndex: number,
    a: Uint8Array,
    aOff: number,
    aLen: number,
    b: Uint8Array,
    bOff: number,
    bLen: number,
    origLen: number,
    tsSec: number,
    tsNsec: number,
  ): void {
    const need = REC_HDR + ((aLen + bLen + 3) & ~3);
    if (this.slot < 0 || this.pos + need > BATCH_BYTES) this.nextSlot(need);
    const dv = this.dv;
    const p = this.slotBase + this.pos;
    dv.setUint32(p, tsSec, true);
    dv.setUint32(p + 4, tsNsec, true);
    dv.setUint32(p + 8, ifaceIndex, true);
    dv.setUint32(p + 12, aLen + bLen, true);
    dv.setUint32(p + 16, origLen, true);
    if (aLen > 0) this.copyIn(a, aOff, aLen, p + REC_HDR);
    if (bLen > 0) this.copyIn1(b, bOff, bLen, p + REC_HDR + aLen);
    this.pos += need;
    this.framesWritten++;
    this.bytesWritten += aLen + bLen;
  }

  /** Posts the current slot (if it holds anything) and takes another for a record of `need` bytes. */
  private nextSlot(need: number): void {
    if (this.closed) throw new Error('FrameBatcher used after close()');
    if (need > BATCH_BYTES)
      throw new RangeError(`a ${need}-byte record does not fit a ${BATCH_BYTES}-byte batch`);
    this.flush();
    this.slot = this.take();
    this.slotBase = this.handover.slotOff(this.index, this.slot);
    this.pos = 0;
  }

  /** A given-back slot, else a fresh one, else (every slot in flight) waits for the main thread. */
  private take(): number {
    const ctl = this.handover.control;
    const c = this.c;
    for (;;) {
      const head = ctl[c + HEAD];
      if (head !== Atomics.load(ctl, c + TAIL)) {
        const slot = ctl[c + QUEUE + (head % MAX_PENDING)];
        Atomics.store(ctl, c + HEAD, head + 1);
        return slot;
      }
      if (this.fresh < MAX_PENDING) return this.fresh++;
      const n = Atomics.load(ctl, c + PENDING);
      if (n > 0) Atomics.wait(ctl, c + PENDING, n, 1000);
    }
  }

  /** Posts the batch so far (if any). */
  flush(): void {
    if (this.slot < 0 || this.pos === 0) return;
    Atomics.add(this.handover.control, this.c + PENDING, 1);
    this.post(this.slot, this.pos);
    this.slot = -1;
    this.pos = 0;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
  }
}

/** Writes a merged frame buf[off, off+capLen) sent on director link `link`, stamped sec.nsec. */
export type MergedFrameWrite = (
  link: number,
  buf: Uint8Array,
  off: number,
  capLen: number,
  origLen: number,
  sec: number,
  nsec: number,
) => void;

/** A posted batch: its slot, its arena offset and the bytes used. */
interface Batch {
  slot: number;
  off: number;
  used: number;
}

/**
 * The main thread's side: the workers' batches in arrival order, merged
 * into the outputs by `drain` as far as the watermarks allow. `arena` views
 * the whole shared arena; the frames go to `write` as views of it, so a
 * writer whose buffer lies in the same arena copies them without allocating.
 */
export class FrameMerger {
  private readonly queues: Batch[][];
  /** Read position in each worker's first batch. */
  private readonly pos: number[];
  private readonly wmSec: number[];
  private readonly wmNsec: number[];
  private readonly done: boolean[];
  private readonly dv: DataView;
  framesWritten = 0;

  /** write(link, buf, off, capLen, origLen, sec, nsec) writes a frame to the outputs. */
  constructor(
    private readonly arena: Uint8Array,
    private readonly handover: Handover,
    private readonly write: MergedFrameWrite,
  ) {
    const n = handover.workers;
    wholeArena(arena);
    this.dv = new DataView(arena.buffer, arena.byteOffset, arena.byteLength);
    this.queues = Array.from({ length: n }, () => []);
    this.pos = new Array<number>(n).fill(0);
    this.wmSec = new Array<number>(n).fill(0);
    this.wmNsec = new Array<number>(n).fill(0);
    this.done = new Array<boolean>(n).fill(false);
  }

  /** Worker `worker` posted slot `slot` holding `used` bytes of records. */
  add(worker: number, slot: number, used: number): void {
    this.queues[worker].push({ slot, off: this.handover.slotOff(worker, slot), used });
  }

  /**
   * Worker `worker` has taken input up to this timestamp and posted every
   * record it wrote before (a worker flushes its batch before it reports its
   * position): all it sends from now on is stamped at or after it.
   */
  watermark(worker: number, sec: number, nsec: number): void {
    this.wmSec[worker] = sec;
    this.wmNsec[worker] = nsec;
  }

  /** Worker `worker` will send nothing more. */
  finish(worker: number): void {
    this.done[worker] = true;
  }

  /**
   * Writes every record no worker can still precede. With `discard` the
   * records are dropped instead (the outputs failed): the workers are
   * released all the same.
   */
  drain(discard = false): void {
    const q = this.queues;
    const n = q.length;
    const dv = this.dv;
    for (;;) {
      let best = -1;
      let bSec = 0;
      let bNsec = 0;
      for (let i = 0; i < n; i++) {
        if (q[i].length === 0) continue;
        const p = q[i][0].off + this.pos[i];
        const sec = dv.getUint32(p, true);
        const nsec = dv.getUint32(p + 4, true);
        if (best < 0 || sec < bSec || (sec === bSec && nsec < bNsec)) {
          best = i;
          bSec = sec;
          bNsec = nsec;
        }
      }
      if (best < 0) return;
      // a worker with nothing queued could still send a record that comes first
      for (let j = 0; j < n; j++) {
        if (j === best || q[j].length > 0 || this.done[j]) continue;
        const ws = this.wmSec[j];
        const wn = this.wmNsec[j];
        const after = ws > bSec || (ws === bSec && (j < best ? wn > bNsec : wn >= bNsec));
        if (!after) return;
      }
      const b = q[best][0];
      const p = b.off + this.pos[best];
      const capLen = dv.getUint32(p + 12, true);
      if (!discard)
        this.write(
          dv.getUint32(p + 8, true),
          this.arena,
          p + REC_HDR,
          capLen,
          dv.getUint32(p + 16, true),
          bSec,
          bNsec,
        );
      this.framesWritten++;
      const next = this.pos[best] + REC_HDR + ((capLen + 3) & ~3);
      if (next >= b.used) {
        q[best].shift();
        this.pos[best] = 0;
        this.giveBack(best, b.slot);
      } else {
        this.pos[best] = next;
      }
    }
  }

  /** Returns a written slot to its worker's queue, then lowers its in-flight count and wakes it. */
  private giveBack(w: number, slot: number): void {
    const ctl = this.handover.control;
    const c = w * WORDS;
    const tail = ctl[c + TAIL];
    ctl[c + QUEUE + (tail % MAX_PENDING)] = slot;
    Atomics.store(ctl, c + TAIL, tail + 1);
    Atomics.sub(ctl, c + PENDING, 1);
    Atomics.notify(ctl, c + PENDING);
  }
}

/** Slot offsets are offsets in the arena's buffer: the view given must be the whole of it. */
function wholeArena(arena: Uint8Array): void {
  if (arena.byteOffset !== 0 || arena.byteLength !== arena.buffer.byteLength)
    throw new RangeError('the batches need a view of the whole shared arena');
}
