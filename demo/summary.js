'use strict';

// The demo's closing tables, and whether everything held: every call answered
// correctly, exactly once, with the session carried across the restart, and the
// crash having found calls to lose.

const { IN_FLIGHT } = require('./throughput');
const { HOST } = require('./util');

/** Columns padded to their widest cell; columns of numbers right-aligned. */
function table(header, rows) {
  const cells = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, c) => Math.max(...cells.map((row) => row[c].length)));
  const numeric = header.map((_, c) => rows.every((row) => /^[\d,.]+x?(?: \S+)?$/.test(String(row[c]))));
  const line = (row) =>
    row.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

const count = (n) => Math.round(n).toLocaleString('en-US');

function faces(scenarios) {
  let ok = true;
  const rows = [];
  for (const { face, over, count: calls, answered } of scenarios) {
    for (const [client, n] of Object.entries(answered)) {
      ok &&= n === calls;
      rows.push([face, over, client, `${n}/${calls}`, n === calls ? 'ok' : 'WRONG']);
    }
  }
  const text = [
    'Each face: a connkit server; a client through the face, and one through the original package',
    table(['face', 'over', 'client', 'answered right', 'result'], rows),
  ];
  return { text, ok };
}

function restart(r) {
  const lost = r.made - r.answered;
  const ok = lost === 0 && r.twice === 0 && r.wrong === 0 && r.restoredSession && r.received > 0 && r.unanswered > 0;
  const text = [
    `Restart: connkit/jstp on ${HOST}:${r.port} crashed (simulated in this process: listener and every socket`,
    `cut, answers in progress dropped) when it had received ${r.received} of the ${r.madeBefore} calls made, ${r.unanswered} of them`,
    `unanswered. A new server took the port with the same session store; the client reconnected by itself`,
    `(${r.attempts} attempts), ${count(r.downtime)} ms after the crash. Calls made with callMethodWithResend, before, during and after:`,
    table(
      ['calls made', 'answered', 'lost', 'answered twice', 'wrong', 'session', 'run again on the server'],
      [[r.made, r.answered, lost, r.twice, r.wrong, r.restoredSession ? 'restored' : 'NEW', r.rerun]],
    ),
    ok ? 'nothing lost' : 'SOMETHING WAS LOST',
  ];
  return { text, ok };
}

function rates(rows, seconds) {
  return [
    `Throughput: each package's own server and client in this process, ${IN_FLIGHT} in flight, ${seconds} s each`,
    '(connman is a client: each package runs against a connkit echo server; npm run bench measures across processes)',
    table(
      ['face', 'original package', 'connkit', 'original', 'ratio'],
      rows.map(({ face, original, unit, connkit, theirs }) => [
        face,
        original,
        `${count(connkit)} ${unit}`,
        `${count(theirs)} ${unit}`,
        `${(connkit / theirs).toFixed(2)}x`,
      ]),
    ),
  ];
}

/** The summary's text, and whether the demo succeeded. */
function render({ scenarios, restarted, rates: rows, seconds, notes, elapsed }) {
  const f = faces(scenarios);
  const r = restart(restarted);
  const ok = f.ok && r.ok;
  const lines = [...f.text, '', ...r.text, '', ...rates(rows, seconds)];
  for (const note of notes) lines.push('', `note: ${note}`);
  lines.push('', `${ok ? 'All good: every call answered, once.' : 'FAILED: see above.'} (${elapsed.toFixed(1)} s)`);
  return { text: lines.join('\n'), ok };
}

module.exports = { render };
