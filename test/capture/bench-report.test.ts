// bench/report.ts (the capture task's RESULTS.md generator) lives in bench/; its test sits with the capture tests.
import { expect } from 'chai';
import { fmtNum, mergeRuns, parseResults, renderResults, type BenchRun } from '../../bench/report.js';

const machine = { node: 'v20', platform: 'linux', cpu: 'CPU X', cores: 2, memGiB: 8 };
const run = (date: string, suite: string, median: number): BenchRun => ({
  date,
  smoke: false,
  machine,
  results: [
    {
      suite,
      name: `${suite} read`,
      unit: 'frames/s',
      median,
      min: median / 2,
      max: median * 2,
      ratio: 6.5,
      baseline: 'pcap-parser',
      target: '>= 5x',
      met: true,
      notes: 'a | note',
    },
  ],
});

describe('bench report (bench/RESULTS.md generator)', () => {
  it('keeps the newest figures of each suite and the other suites untouched', () => {
    const first = mergeRuns(
      [],
      [run('2026-01-01T00:00:00Z', 'capture', 1e6), run('2026-01-01T00:00:00Z', 'conn', 5)],
    );
    const second = mergeRuns(first, [run('2026-02-02T00:00:00Z', 'capture', 2e6)]);
    expect(second.map((e) => [e.suite, e.date.slice(0, 10), e.results[0].median])).to.deep.equal([
      ['capture', '2026-02-02', 2e6],
      ['conn', '2026-01-01', 5],
    ]);
  });

  it('renders one table per suite with median, unit, ratio, target, met, machine and date, and carries its data', () => {
    const entries = mergeRuns([], [run('2026-03-04T05:06:07Z', 'capture', 12345678)]);
    const md = renderResults(entries);
    expect(md).to.include('## capture');
    expect(md).to.include(
      '| benchmark | median | unit | min – max | ratio | baseline | target | met | machine | date |',
    );
    expect(md).to.include(
      '| capture read | 12.3 M | frames/s | 6.17 M – 24.7 M | 6.50 | pcap-parser | >= 5x | yes |',
    );
    expect(md).to.include('CPU X ×2, 8 GiB, linux, node v20 | 2026-03-04 |');
    expect(md).to.include('- capture read: a | note');
    expect(parseResults(md)).to.deep.equal(entries);
  });

  it('formats numbers with about four significant digits', () => {
    expect([1234567890, 4521000, 88400, 884.2, 12.345, 0.7612, undefined].map(fmtNum)).to.deep.equal([
      '1.23 G',
      '4.52 M',
      '88.4 k',
      '884',
      '12.3',
      '0.761',
      '–',
    ]);
  });
});
