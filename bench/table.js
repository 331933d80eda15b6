'use strict';

// What every benchmark reports: medians of interleaved rounds, connkit against the
// original side by side, and their ratio next to the goal.

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Rows `[name, connkit, other, ratio, goal]` from `results[impl][key]` (lists of
 * per-round values), for `cases` given as `[name, key, goal]`.
 */
function compare(results, cases, [mine, theirs] = ['connkit', 'original']) {
  return cases.map(([name, key, goal]) => {
    const a = median(results[mine][key]);
    const b = median(results[theirs][key]);
    return [name, a, b, a / b, goal];
  });
}

/** Prints `rows` under `title`; values of rows named '... MB' for RSS are bytes shown in MB. */
function print(report, title, rows, theirs = 'original') {
  const width = Math.max(...rows.map(([name]) => name.length)) + 2;
  const fmt = (name, v) =>
    name.includes('RSS MB') ? (v / 1e6).toFixed(1) : v >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1);
  report(`\n${title}`);
  report(['case'.padEnd(width), 'connkit'.padStart(12), theirs.padStart(12), 'ratio'.padStart(8), '  goal'].join(''));
  for (const [name, a, b, ratio, goal] of rows) {
    report([name.padEnd(width), fmt(name, a).padStart(12), fmt(name, b).padStart(12), `${ratio.toFixed(2)}x`.padStart(8), `  ${goal}`].join(''));
  }
}

module.exports = { median, compare, print };
