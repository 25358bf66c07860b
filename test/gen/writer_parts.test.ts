import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { createPcapWriter, createPcapngWriter, sharedCaptureBuffers } from '../../src/capture/writer.js';
import { readFrames, rmDir, tmpDir } from './helpers.js';

/**
 * The capture writer's two-part write (used by the generator and by the
 * replay's sink): the same file as one `write` of the two parts joined,
 * whether the parts lie in the writer's ArrayBuffer (copyWithin) or not.
 */
describe('capture writer: two-part writes', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpDir('parts');
  });
  afterEach(() => rmDir(dir));

  for (const format of ['pcap', 'pcapng'] as const) {
    it(`${format}: writeParts(a, b) writes the same file as write(a + b), shared or separate buffers`, () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.tuple(fc.uint8Array({ maxLength: 120 }), fc.uint8Array({ maxLength: 1600 }), fc.boolean()),
            {
              minLength: 1,
              maxLength: 40,
            },
          ),
          fc.integer({ min: 64, max: 4096 }),
          (frames, bufSize) => {
            const s = sharedCaptureBuffers(1024, bufSize, 8192);
            const make = (file: string, buffer?: Uint8Array) =>
              format === 'pcap'
                ? createPcapWriter(file, buffer ? { buffer } : { bufferSize: bufSize })
                : createPcapngWriter(file, ['a', 'b'], buffer ? { buffer } : { bufferSize: bufSize });
            const fa = path.join(dir, `a.${format}`);
            const fb = path.join(dir, `b.${format}`);
            const wa = make(fa, s.write);
            const wb = make(fb);
            frames.forEach(([a, b, shared], i) => {
              const joined = new Uint8Array(a.length + b.length);
              joined.set(a);
              joined.set(b, a.length);
              wb.write(i & 1, joined, 0, joined.length, joined.length + 4, 1700000000 + i, i * 1000);
              if (shared && b.length <= 4096) {
                // the second part inside the writer's ArrayBuffer, at an offset
                s.extra.set(b, 100);
                wa.writeParts(
                  i & 1,
                  a,
                  0,
                  a.length,
                  s.extra,
                  100,
                  b.length,
                  joined.length + 4,
                  1700000000 + i,
                  i * 1000,
                );
              } else
                wa.writeParts(
                  i & 1,
                  a,
                  0,
                  a.length,
                  b,
                  0,
                  b.length,
                  joined.length + 4,
                  1700000000 + i,
                  i * 1000,
                );
            });
            wa.close();
            wb.close();
            expect(Buffer.compare(readFileSync(fa), readFileSync(fb))).to.equal(0);
            expect(readFrames(fa).length).to.equal(frames.length);
          },
        ),
        { numRuns: 40 },
      );
    });
  }
});
