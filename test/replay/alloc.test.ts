/**
 * The datapath allocates nothing per packet (design: "per-packet code never
 * allocates"). A child process replays a generated capture of 60-byte frames
 * warm and measures the JS heap the replay allocates with V8's sampling heap
 * profiler (alloc-child.ts). What a replay allocates once (set-up, table
 * growth, the summary) comes to a few bytes per frame; one boxed number per
 * frame would add 16. The bound leaves room for V8's inlining choices, which
 * vary from process to process and can leave one boxed value per frame; the
 * datapath before these checks allocated 67-102 bytes per frame.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHILD = path.join(ROOT, 'test/replay/alloc-child.ts');
const FRAMES = 200_000;
const BOUND = 40;

describe('datapath heap allocation per frame', function () {
  this.timeout(180_000);
  for (const method of ['dr', 'nat', 'tun']) {
    it(`${method.toUpperCase()}: a warm replay allocates under ${BOUND} bytes per frame`, () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'ipvs-sim-alloc-'));
      try {
        const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, method, String(FRAMES), dir], {
          cwd: ROOT,
          encoding: 'utf8',
        });
        expect(r.status, r.stderr).to.equal(0);
        const { frames, bytes } = JSON.parse(r.stdout) as { frames: number; bytes: number };
        expect(frames).to.equal(FRAMES);
        expect(bytes / frames, `${bytes} bytes for ${frames} frames`).to.be.below(BOUND);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
