/**
 * The hand-over of a sharded replay's frames (src/replay/batches.ts):
 * FrameBatcher packs records, FrameMerger writes them in timestamp order as
 * far as every worker's watermark allows, gives written batches back and
 * keeps the in-flight counters.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { BATCH_BYTES, FrameBatcher, FrameMerger, Handover, MAX_PENDING } from '../../src/replay/batches.js';
import { adoptSharedArena, arenaCopier, sharedArena } from '../../src/capture/arena.js';

interface Written {
  link: number;
  bytes: number[];
  origLen: number;
  sec: number;
  nsec: number;
}

/** n workers' slots in a shared arena (as ShardedReplay lays them out, without the inputs). */
function rig(n: number, plain = false) {
  const bytes = n * Handover.SLOT_BYTES + 4096;
  // plain: a SharedArrayBuffer without WebAssembly (copied with copyWithin), as where wasm is refused
  const arena = plain ? adoptSharedArena(new SharedArrayBuffer(bytes)) : sharedArena(bytes).bytes;
  const handover = Handover.create(n, 0, Handover.SLOT_BYTES);
  const written: Written[] = [];
  const posted: number[][] = Array.from({ length: n }, () => []);
  const merger = new FrameMerger(arena, handover, (link, buf, off, capLen, origLen, sec, nsec) =>
    written.push({ link, bytes: [...buf.subarray(off, off + capLen)], origLen, sec, nsec }),
  );
  const batchers = Array.from(
    { length: n },
    (_, i) =>
      new FrameBatcher(arena, handover, i, (slot, used) => {
        posted[i].push(slot);
        merger.add(i, slot, used);
      }),
  );
  return { arena, handover, written, posted, merger, batchers };
}

const frame = (tag: number, len = 3): Uint8Array => Uint8Array.from({ length: len }, (_, k) => tag + k);

describe('replay/batches: frames handed from the workers to the main thread', () => {
  it('a record keeps its link, bytes (both parts), lengths and timestamp', () => {
    const { written, merger, batchers } = rig(1);
    const a = frame(10, 5);
    const b = frame(50, 7);
    batchers[0].writeParts(2, a, 1, 3, b, 2, 4, 1500, 1_700_000_000, 123_456_789);
    batchers[0].write(1, b, 0, 7, 60, 1_700_000_001, 5);
    batchers[0].close();
    merger.finish(0);
    merger.drain();
    expect(written).to.deep.equal([
      { link: 2, bytes: [11, 12, 13, 52, 53, 54, 55], origLen: 1500, sec: 1_700_000_000, nsec: 123_456_789 },
      { link: 1, bytes: [50, 51, 52, 53, 54, 55, 56], origLen: 60, sec: 1_700_000_001, nsec: 5 },
    ]);
  });

  it('waits for a worker whose watermark is behind; ties go to the lower worker', () => {
    const { written, merger, batchers } = rig(2);
    batchers[1].write(0, frame(1), 0, 3, 3, 10, 0);
    batchers[1].flush();
    merger.watermark(1, 10, 0);
    merger.drain();
    // worker 0 has sent nothing and is at 0: it could still send something earlier
    expect(written).to.have.length(0);
    merger.watermark(0, 10, 0);
    merger.drain();
    // worker 0 at the same time could still send a record at 10.0 that goes first (lower worker)
    expect(written).to.have.length(0);
    batchers[0].write(0, frame(2), 0, 3, 3, 10, 0);
    batchers[0].flush();
    merger.drain();
    // worker 0's record goes first; worker 1's waits while worker 0 could still send another at 10.0
    expect(written.map((w) => w.bytes[0])).to.deep.equal([2]);
    merger.watermark(0, 10, 1);
    merger.drain();
    expect(written.map((w) => w.bytes[0])).to.deep.equal([2, 1]);
  });

  it('a worker ahead lets the merge write what comes before its watermark', () => {
    const { written, merger, batchers } = rig(2);
    batchers[0].write(0, frame(7), 0, 3, 3, 5, 0);
    batchers[0].flush();
    merger.watermark(0, 5, 0);
    merger.watermark(1, 5, 1);
    merger.drain();
    expect(written.map((w) => w.bytes[0])).to.deep.equal([7]);
  });

  it('written slots go back to their worker, which takes them before fresh ones; the in-flight counter drops', () => {
    const { handover, posted, merger, batchers } = rig(2);
    // two batches' worth of 100 kB frames from worker 1
    const big = new Uint8Array(100_000);
    for (let i = 0; i < 15; i++) batchers[1].write(0, big, 0, big.length, big.length, 1, i);
    batchers[1].flush();
    expect(handover.inFlight(1)).to.equal(2);
    expect(posted[1]).to.deep.equal([0, 1]);
    merger.finish(0);
    merger.drain();
    expect(handover.inFlight(1)).to.equal(0);
    // the next batches reuse slots 0 and 1 (given back in that order), then take fresh ones
    for (let i = 0; i < 30; i++) batchers[1].write(0, big, 0, big.length, big.length, 2, i);
    batchers[1].close();
    expect(posted[1]).to.deep.equal([0, 1, 0, 1, 2]);
    expect(handover.inFlight(1)).to.equal(3);
    merger.finish(1);
    merger.drain();
    expect(handover.inFlight(1)).to.equal(0);
    expect(posted[0]).to.deep.equal([]);
    expect(MAX_PENDING).to.be.greaterThan(2);
  });

  for (const plain of [false, true])
    it(`copies parts from the arena, and small and large parts from outside it, byte for byte (${
      plain ? 'plain SharedArrayBuffer' : 'shared WebAssembly memory'
    })`, () => {
      const { arena, written, merger, batchers } = rig(1, plain);
      expect(arenaCopier(arena.buffer) === null).to.equal(plain);
      // a source inside the shared arena (as a worker's input buffers are): past the worker's slots
      const own = arena.subarray(Handover.SLOT_BYTES, Handover.SLOT_BYTES + 4096);
      for (let i = 0; i < 4096; i++) own[i] = (i * 7) & 255;
      const outside = Uint8Array.from({ length: 3000 }, (_, i) => (i * 13) & 255);
      batchers[0].writeParts(0, outside, 5, 40, own, 100, 1500, 1540, 1, 0); // small outside + arena part
      batchers[0].writeParts(1, outside, 0, 2000, own, 0, 0, 2000, 1, 1); // large outside part
      batchers[0].write(2, own, 7, 33, 60, 1, 2); // arena part alone
      batchers[0].close();
      merger.finish(0);
      merger.drain();
      expect(written.map((w) => w.bytes)).to.deep.equal([
        [...outside.subarray(5, 45), ...own.subarray(100, 1600)],
        [...outside.subarray(0, 2000)],
        [...own.subarray(7, 40)],
      ]);
    });

  it('a record larger than a batch is refused (frames are at most 256 KiB)', () => {
    const { batchers } = rig(1);
    const huge = new Uint8Array(BATCH_BYTES + 100).fill(9);
    expect(() => batchers[0].write(0, huge, 0, huge.length, huge.length, 1, 0)).to.throw(
      RangeError,
      /does not fit/,
    );
  });

  it('property: the merge of sorted per-worker streams is the k-way merge by timestamp, ties to the lower worker', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 40 }), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.integer({ min: 1, max: 7 }),
        (streams, every) => {
          const n = streams.length;
          const { written, merger, batchers } = rig(n);
          const sorted = streams.map((s) => [...s].sort((a, b) => a - b));
          // workers advance in lock-step over time; each posts a batch every `every` records, and
          // every `every` time steps flushes and reports its position (as a worker's progress message
          // does: a watermark is only sent once everything before it has been posted)
          const cursor = new Array<number>(n).fill(0);
          for (let t = 0; t <= 50; t++) {
            for (let w = 0; w < n; w++) {
              while (cursor[w] < sorted[w].length && sorted[w][cursor[w]] === t) {
                const tag = Uint8Array.of(w, cursor[w] & 255);
                batchers[w].write(0, tag, 0, 2, 2, t, 0);
                if (++cursor[w] % every === 0) batchers[w].flush();
              }
              if (t % every === 0) {
                batchers[w].flush();
                merger.watermark(w, t, 0);
              }
              merger.drain();
            }
          }
          for (let w = 0; w < n; w++) {
            batchers[w].close();
            merger.finish(w);
          }
          merger.drain();
          const expected = sorted
            .flatMap((s, w) => s.map((t, k) => ({ t, w, k })))
            .sort((a, b) => a.t - b.t || a.w - b.w || a.k - b.k)
            .map((r) => `${r.t}:${r.w}:${r.k & 255}`);
          const got = written.map((r) => `${r.sec}:${r.bytes[0]}:${r.bytes[1]}`);
          expect(got).to.deep.equal(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});
