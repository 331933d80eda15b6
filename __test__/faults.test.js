'use strict';

// The fault suite's short profile (faults/): every scenario in a process of its own,
// each row a subject put through the fault. A connkit row that breaks its guarantee,
// a scenario that crashes or overruns, fails the test; the figures go to the log.
// `npm run test:faults` runs the full profile.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { runScenario, SCENARIOS } = require('../faults/lib/runner');
const { formatRow } = require('../faults/lib/report');

for (const name of SCENARIOS) {
  test(`faults, short profile: ${name}`, async (t) => {
    const result = await runScenario(name, 'short');
    for (const row of result.rows) t.diagnostic(formatRow(name, row));
    assert.equal(result.error, null, `${name}: ${result.error}`);
    assert.ok(result.rows.length > 0, `${name} reported no row`);
    const failed = result.rows.filter((r) => !r.ok).map((r) => formatRow(name, r));
    assert.deepEqual(failed, [], `rows that broke their guarantee:\n${failed.join('\n')}`);
  });
}
