'use strict';

// What every benchmark reports: medians of interleaved rounds, connkit against the
// original side by side, their ratio next to the goal, and, where the case has one,
// the ceiling measured in the same run (bench/ceiling.js) with connkit's share of it.

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Rows `[name, connkit, other, ratio, goal, ceiling]` from `results[impl][key]` (lists
 * of per-round values) and `results.ceiling[key]` when measured, for `cases` given as
 * `[name, key, goal]`.
 */
function compare(results, cases, [mine, theirs] = ['connkit', 'original']) {
  return cases.map(([name, key, goal]) => {
    const a = median(results[mine][key]);
    const b = median(results[theirs][key]);
    const ceiling = results.ceiling?.[key]?.length ? median(results.ceiling[key]) : undefined;
    return [name, a, b, a / b, goal, ceiling];
  });
}

/**
 * Prints `rows` under `title`; values of rows named '... RSS MB' are bytes shown in
 * MB. "of ceiling" is connkit over the ceiling: a share of it for rates, a multiple
 * of it for latencies.
 */
function print(report, title, rows, theirs = 'original') {
  const width = Math.max(...rows.map(([name]) => name.length)) + 2;
  const fmt = (name, v) =>
    v === undefined ? '—' : name.includes('RSS MB') ? (v / 1e6).toFixed(1) : v >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1);
  report(`\n${title}`);
  report(['case'.padEnd(width), 'connkit'.padStart(12), theirs.padStart(12), 'ceiling'.padStart(12), 'ratio'.padStart(8), 'of ceiling'.padStart(11), '  goal'].join(''));
  for (const [name, a, b, ratio, goal, ceiling] of rows) {
    const share = ceiling === undefined ? '—' : `${(a / ceiling).toFixed(2)}`;
    report(
      [
        name.padEnd(width),
        fmt(name, a).padStart(12),
        fmt(name, b).padStart(12),
        fmt(name, ceiling).padStart(12),
        `${ratio.toFixed(2)}x`.padStart(8),
        share.padStart(11),
        `  ${goal}`,
      ].join(''),
    );
  }
}

module.exports = { median, compare, print };
