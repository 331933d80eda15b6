'use strict';

// The fault suite: real sockets pushed through real faults. Each scenario runs in a
// process of its own (a crash is a finding, not the end of the run) and reports one
// row per subject — connkit's own API, each face, and the original package where it
// has the feature — with figures, not just pass/fail.
//
//   node faults/index.js [--profile short|full] [--json FILE] [scenario ...]
//
// `npm test` runs the short profile (through __test__/faults.test.js); `npm run
// test:faults` the full one, whose figures the README's Reliability section shows.

const { runScenario, SCENARIOS } = require('./lib/runner');
const { formatRow } = require('./lib/report');
const fs = require('node:fs');

function parseArgs(argv) {
  const args = { profile: 'full', json: null, only: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--profile') args.profile = argv[++i];
    else if (a === '--json') args.json = argv[++i];
    else args.only.push(a);
  }
  if (!['short', 'full'].includes(args.profile)) throw new Error(`unknown profile ${args.profile}: short or full`);
  for (const name of args.only) {
    if (!SCENARIOS.includes(name)) throw new Error(`unknown scenario ${name}: one of ${SCENARIOS.join(', ')}`);
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const names = args.only.length ? args.only : SCENARIOS;
  const started = Date.now();
  const results = [];
  let failed = 0;
  for (const name of names) {
    const result = await runScenario(name, args.profile);
    results.push(result);
    for (const row of result.rows) {
      console.log(formatRow(name, row));
      if (!row.ok) failed++;
    }
    if (result.error) {
      console.log(`${name}: FAILED ${result.error}`);
      failed++;
    }
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`faults (${args.profile}): ${results.length} scenarios in ${seconds} s, ${failed} failed`);
  if (args.json) fs.writeFileSync(args.json, JSON.stringify({ profile: args.profile, results }, null, 2));
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
