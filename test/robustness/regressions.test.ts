/**
 * The regression corpus (regressions/): every frame sequence that ever made a
 * fuzz property fail is replayed through its set-up with the fuzzer's checks.
 * (Capture files kept there are replayed by corpus.test.ts.)
 */
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { checkSequence, drRewriteProblem } from './driver.js';
import { REGRESSION_DIR, caseFrames, type FrameCase } from './regressions.js';
import { SETUPS } from './setups.js';

const cases = existsSync(REGRESSION_DIR)
  ? readdirSync(REGRESSION_DIR)
      .filter((f) => f.endsWith('.json'))
      .sort()
  : [];

describe('robustness: the regression corpus', () => {
  it('holds its README (and the cases below, one test each)', () => {
    expect(existsSync(path.join(REGRESSION_DIR, 'README.md'))).to.equal(true);
  });

  for (const name of cases) {
    it(name, () => {
      const c = JSON.parse(readFileSync(path.join(REGRESSION_DIR, name), 'utf8')) as FrameCase;
      const setup = SETUPS.find((s) => s.name === c.setup);
      expect(setup, `set-up ${c.setup}`).to.not.equal(undefined);
      expect(checkSequence((setup as { text: string }).text, caseFrames(c)), c.description).to.equal('');
      if (c.setup === 'DR') expect(drRewriteProblem(caseFrames(c)), c.description).to.equal('');
    });
  }
});
