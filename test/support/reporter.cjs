'use strict';
// Mocha reporter used by `npm test`: mocha's spec output on stdout, plus a
// machine-readable summary written to $IPVS_SIM_TEST_SUMMARY (default
// test-results.json) so that .ci/run can print "N passed, N failed" without
// parsing mocha's human summary.
const fs = require('node:fs');
const Mocha = require('mocha');

const { Spec } = Mocha.reporters;
const { EVENT_RUN_END, EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING } = Mocha.Runner.constants;

class SummaryReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    const summary = { passed: 0, failed: 0, pending: 0, failures: [] };
    runner.on(EVENT_TEST_PASS, () => summary.passed++);
    runner.on(EVENT_TEST_PENDING, () => summary.pending++);
    runner.on(EVENT_TEST_FAIL, (test, err) => {
      summary.failed++;
      summary.failures.push({ title: test.fullTitle(), message: String(err && err.message) });
    });
    runner.once(EVENT_RUN_END, () => {
      const file = process.env.IPVS_SIM_TEST_SUMMARY || 'test-results.json';
      fs.writeFileSync(file, JSON.stringify(summary, null, 2) + '\n');
    });
  }
}

module.exports = SummaryReporter;
