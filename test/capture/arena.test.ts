import { expect } from 'chai';
import fc from 'fast-check';
import { arenaCopier, captureArena } from '../../src/capture/arena.js';
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
});
