/**
 * How a sharded replay's workers hand the frames they send to the main
 * thread (src/replay/workers.ts): in batches of records packed into 1 MiB
 * ArrayBuffers that are transferred (moved, not copied) with postMessage,
 * and merged by timestamp on the main thread into the outputs as they
 * arrive — no temporary files, no second pass.
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
 * Flow control: each worker counts the batches it has posted and the main
 * thread has not yet written (a SharedArrayBuffer counter); a worker more
 * than MAX_PENDING batches ahead waits for the main thread, so memory stays
 * bounded when one worker runs ahead of another. Written batches go back to
 * their worker (transferred again) to be filled anew: a worker allocates a
 * batch only when none has come back, which keeps the garbage collector
 * out of it (allocating a fresh 1 MiB buffer per batch made the workers
 * ~30% slower).
 */
import type { CaptureWriter } from '../capture/index.js';

export const BATCH_BYTES = 1 << 20;
const REC_HDR = 20;
/** Batches a worker may have in flight (64 MiB). */
export const MAX_PENDING = 64;

/** A worker's side: a CaptureWriter packing frames into batches and posting each when full (or on flush). */
export class FrameBatcher implements CaptureWriter {
  readonly file = '(main thread)';
  readonly format = 'pcapng' as const;
  framesWritten = 0;
  bytesWritten = 0;
  private u8: Uint8Array;
  private dv: DataView;
  private pos = 0;
  private closed = false;
  /** Batches the main thread has given back. */
  private readonly free: ArrayBuffer[] = [];

  /**
   * post(batch, used) transfers a batch; pending[index] counts the batches
   * in flight (incremented here, decremented by the main thread).
   */
  constructor(
    private readonly post: (batch: ArrayBuffer, used: number) => void,
    private readonly pending: Int32Array,
    private readonly index: number,
  ) {
    this.u8 = new Uint8Array(BATCH_BYTES);
    this.dv = new DataView(this.u8.buffer);
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
    if (this.pos + need > this.u8.length) {
      this.flush();
      // a frame larger than a batch gets a batch of its own
      if (need > this.u8.length) this.fresh(need);
    }
    const dv = this.dv;
    const p = this.pos;
    dv.setUint32(p, tsSec, true);
    dv.setUint32(p + 4, tsNsec, true);
    dv.setUint32(p + 8, ifaceIndex, true);
    dv.setUint32(p + 12, aLen + bLen, true);
    dv.setUint32(p + 16, origLen, true);
    this.u8.set(a.subarray(aOff, aOff + aLen), p + REC_HDR);
    if (bLen > 0) this.u8.set(b.subarray(bOff, bOff + bLen), p + REC_HDR + aLen);
    this.pos = p + need;
    this.framesWritten++;
    this.bytesWritten += aLen + bLen;
  }

  /** A written batch back from the main thread. */
  recycle(buf: ArrayBuffer): void {
    if (buf.byteLength === BATCH_BYTES) this.free.push(buf);
  }

  private fresh(size: number): void {
    const back = size <= BATCH_BYTES ? this.free.pop() : undefined;
    this.u8 = back ? new Uint8Array(back) : new Uint8Array(Math.max(size, BATCH_BYTES));
    this.dv = new DataView(this.u8.buffer);
    this.pos = 0;
  }

  /** Posts the batch so far (if any), after waiting while too many are in flight. */
  flush(): void {
    if (this.pos === 0) return;
    const p = this.pending;
    for (;;) {
      const n = Atomics.load(p, this.index);
      if (n < MAX_PENDING) break;
      Atomics.wait(p, this.index, n, 1000);
    }
    Atomics.add(p, this.index, 1);
    this.post(this.u8.buffer as ArrayBuffer, this.pos);
    this.fresh(BATCH_BYTES);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
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

interface Batch {
  u8: Uint8Array;
  dv: DataView;
  used: number;
}

/**
 * The main thread's side: the workers' batches in arrival order, merged
 * into the outputs by `drain` as far as the watermarks allow.
 */
export class FrameMerger {
  private readonly queues: Batch[][];
  /** Read position in each worker's first batch. */
  private readonly pos: number[];
  private readonly wmSec: number[];
  private readonly wmNsec: number[];
  private readonly done: boolean[];
  framesWritten = 0;

  /**
   * write(link, buf, off, capLen, origLen, sec, nsec) writes a frame to the
   * outputs; pending is the workers' in-flight counters; recycle(worker,
   * buf) gives a written batch back.
   */
  constructor(
    n: number,
    private readonly pending: Int32Array,
    private readonly write: MergedFrameWrite,
    private readonly recycle: (worker: number, buf: ArrayBuffer) => void,
  ) {
    this.queues = Array.from({ length: n }, () => []);
    this.pos = new Array<number>(n).fill(0);
    this.wmSec = new Array<number>(n).fill(0);
    this.wmNsec = new Array<number>(n).fill(0);
    this.done = new Array<boolean>(n).fill(false);
  }

  add(worker: number, buf: ArrayBuffer, used: number): void {
    this.queues[worker].push({ u8: new Uint8Array(buf), dv: new DataView(buf), used });
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
    for (;;) {
      let best = -1;
      let bSec = 0;
      let bNsec = 0;
      for (let i = 0; i < n; i++) {
        if (q[i].length === 0) continue;
        const b = q[i][0];
        const p = this.pos[i];
        const sec = b.dv.getUint32(p, true);
        const nsec = b.dv.getUint32(p + 4, true);
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
      const p = this.pos[best];
      const capLen = b.dv.getUint32(p + 12, true);
      if (!discard)
        this.write(
          b.dv.getUint32(p + 8, true),
          b.u8,
          p + REC_HDR,
          capLen,
          b.dv.getUint32(p + 16, true),
          bSec,
          bNsec,
        );
      this.framesWritten++;
      const next = p + REC_HDR + ((capLen + 3) & ~3);
      if (next >= b.used) {
        q[best].shift();
        this.pos[best] = 0;
        this.recycle(best, b.u8.buffer as ArrayBuffer);
        Atomics.sub(this.pending, best, 1);
        Atomics.notify(this.pending, best);
      } else {
        this.pos[best] = next;
      }
    }
  }
}
