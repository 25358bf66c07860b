/**
 * collectGarbageNow (src/replay/gc.ts): a full collection on request, here
 * without --expose-gc (mocha is not started with it), and memory outside the
 * heap freed by it.
 */
import { expect } from 'chai';
import { collectGarbageNow } from '../../src/replay/gc.js';

describe('replay/gc: a full garbage collection on request', () => {
  it('finds the collector without --expose-gc and frees a dropped typed array', async () => {
    expect(process.execArgv.join(' ')).to.not.match(/expose-gc/);
    const rss = (): number => process.memoryUsage().rss;
    // 256 MiB outside the heap, resident while held, then dropped
    const holder: { big: Uint8Array | null } = { big: new Uint8Array(256 * 1024 * 1024).fill(1) };
    const held = rss();
    expect(holder.big?.[12345]).to.equal(1);
    holder.big = null;
    expect(collectGarbageNow()).to.equal(true);
    // V8 returns the memory from a background thread just after the collection
    let now = rss();
    for (let i = 0; i < 100 && held - now < 128 * 1024 * 1024; i++) {
      await new Promise((r) => setTimeout(r, 20));
      now = rss();
    }
    expect(held - now).to.be.greaterThan(128 * 1024 * 1024);
  });
});
