/**
 * Fidelity with the real kernel: every oracle scenario (golden outputs of a
 * Linux 6.1 director, test/oracle/scenarios and test/oracle/extra) replayed
 * through ipvs-sim must give the same frames, in the same order and with the
 * same attribution (timestamps), and the same ipvsadm listings.
 * docs/fidelity.md lists each scenario's result (scripts/fidelity.ts).
 */
import { expect } from 'chai';
import path from 'node:path';
import { listScenarios, runScenario } from './run.js';

describe('oracle scenarios (frame-exact with Linux 6.1)', () => {
  for (const dir of listScenarios()) {
    const name = `${path.basename(path.dirname(dir))}/${path.basename(dir)}`;
    it(name, async () => {
      const r = await runScenario(dir);
      const report = Object.entries(r.problems)
        .filter(([, p]) => p.length)
        .map(([f, p]) => `${f}:\n    ${p.join('\n    ')}`)
        .join('\n');
      expect(report, report).to.equal('');
    });
  }
});
