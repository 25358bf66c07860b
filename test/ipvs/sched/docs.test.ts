import { expect } from 'chai';
import { generateSchedulerDocs, readSchedulerDocs } from './docs.js';
import { SCHEDULER_NAMES } from '../../../src/ipvs/sched/index.js';

describe('sched/docs', () => {
  it('docs/schedulers.md is what the schedulers produce today (regenerate: npx tsx test/ipvs/sched/docs.ts --write)', async () => {
    const md = await generateSchedulerDocs();
    expect(readSchedulerDocs()).to.equal(md);
  });

  it('documents every scheduler', () => {
    const md = readSchedulerDocs();
    for (const n of SCHEDULER_NAMES) expect(md).to.contain(`## ${n} — `);
  });
});
