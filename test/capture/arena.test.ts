import { expect } from 'chai';
import fc from 'fast-check';
import { Worker } from 'node:worker_threads';
import { adoptSharedArena, arenaCopier, captureArena, sharedArena } from '../../src/capture/arena.js';
import { sharedCaptureBuffers } from '../../src/capture/writer.js';

describe('capture arena', () => {
  it('is n zeroed bytes of WebAssembly memory with a copy function; other buffers have none', () => {
    const a = captureArena(100_000);
    expect(a.length).to.equal(100_000);
    expect(a.every((x) => x === 0)).to.equal(true);
    expect(arenaCopier(a.buffer)).to.be.a('function');
    expect(arenaCopier(new Uint8Array(10).buffer)).to.equal(null);
    expect(arenaCopier(captureArena(0).buffer)).to.equal(null);
    const s = sharedCaptureBuffers(4096, 4096, 10);
    expect(s.read.buffer).to.equal(s.write.buffer);
    expect(s.extra.buffer).to.equal(s.write.buffer);
    expect(arenaCopier(s.write.buffer)).to.be.a('function');
  });

  it('copies like copyWithin, overlapping regions included', () => {
    const a = captureArena(3000);
    const copy = arenaCopier(a.buffer);
    if (!copy) throw new Error('no copy function');
    for (let i = 0; i < a.length; i++) a[i] = (i * 7 + 3) & 0xff;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 0, max: 3000 }),
        (dst, src, len) => {
          len = Math.min(len, 3000 - dst, 3000 - src);
          const want = Uint8Array.from(a).copyWithin(dst, src, src + len);
          copy(dst, src, len);
          expect(Buffer.from(a).equals(Buffer.from(want))).to.equal(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a shared arena: a SharedArrayBuffer with a copy function, the same memory in another thread', async () => {
    const { bytes, handle } = sharedArena(100_000);
    expect(bytes.buffer).to.be.instanceOf(SharedArrayBuffer);
    expect(bytes.length).to.be.at.least(100_000);
    const copy = arenaCopier(bytes.buffer);
    if (!copy) throw new Error('no copy function');
    bytes.set([1, 2, 3, 4], 10);
    copy(5000, 10, 4);
    expect([...bytes.subarray(5000, 5004)]).to.deep.equal([1, 2, 3, 4]);
    // adopting it again in this thread changes nothing; another thread sees and changes the same bytes
    expect(adoptSharedArena(handle).buffer).to.equal(bytes.buffer);
    const w = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const u = new Uint8Array(workerData.buffer);
       u[7000] = u[5001] + 40;
       parentPort.postMessage(workerData instanceof WebAssembly.Memory);`,
      { eval: true, workerData: handle },
    );
    const wasm = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
    expect(wasm).to.equal(true);
    expect(bytes[7000]).to.equal(42);
  });

  it('a shared arena made from a plain SharedArrayBuffer copies with copyWithin', () => {
    const sab = new SharedArrayBuffer(64);
    const bytes = adoptSharedArena(sab);
    expect(bytes.buffer).to.equal(sab);
    expect(arenaCopier(sab)).to.equal(null);
  });
});
