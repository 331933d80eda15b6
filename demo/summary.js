'use strict';

// The demo's closing tables, and whether everything held: every call answered
// correctly, exactly once, with the session carried across the restart.

const { IN_FLIGHT } = require('./throughput');
const { HOST } = require('./util');

/** Columns padded to their widest cell; numbers right-aligned. */
function table(header, rows) {
  const cells = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, c) => Math.max(...cells.map((row) => row[c].length)));
  const numeric = (c) => rows.every((row) => /^[\d,.]+x?(?: \S+)?$|^-$/.test(String(row[c])));
  const line = (row) =>
    row.map((cell, c) => (numeric(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

const count = (n) => Math.round(n).toLocaleString('en-US');

function render({ scenarios, restarted, rates, seconds, notes }) {
  const lines = [];
  let ok = true;

  lines.push('Each face: a connkit server; a client through the face, and one through the original package');
  const faceRows = [];
  for (const { face, over, count: calls, answered } of scenarios) {
    for (const [client, n] of Object.entries(answered)) {
      const good = n === calls;
      ok &&= good;
      faceRows.push([face, over, client, `${n}/${calls}`, good ? 'ok' : 'LOST']);
    }
  }
  lines.push(table(['face', 'over', 'client', 'answered', 'result'], faceRows));

  const r = restarted;
  const lost = r.made - r.answered;
  const held = lost === 0 && r.twice === 0 && r.wrong === 0 && r.restoredSession;
  ok &&= held;
  lines.push('', `Restart: connkit/jstp on ${HOST}:${r.port} crashed (every socket cut) with ${r.inFlight} calls in flight,`);
  lines.push(`stayed down ${r.downtime} ms, and a new server took the port with the same session store;`);
  lines.push(`the client reconnected on its own (${r.attempts} attempts) and its session was restored`);
  lines.push(
    table(
      ['calls made', 'answered', 'lost', 'answered twice', 'wrong', 'session'],
      [[r.made, r.answered, lost, r.twice, r.wrong, r.restoredSession ? 'restored' : 'NEW']],
    ),
    held ? 'nothing lost' : 'SOMETHING WAS LOST',
  );

  lines.push('', `Throughput: client and server in this process, ${IN_FLIGHT} in flight, ${seconds} s each (npm run bench: separate processes)`);
  lines.push(
    table(
      ['face', 'original package', 'connkit', 'original', 'ratio'],
      rates.map(({ face, unit, connkit, theirs, original }) => [
        face,
        original,
        `${count(connkit)} ${unit}`,
        `${count(theirs)} ${unit}`,
        `${(connkit / theirs).toFixed(2)}x`,
      ]),
    ),
  );

  for (const note of notes) lines.push('', `note: ${note}`);
  lines.push('', ok ? 'All good: every call answered, once.' : 'FAILED: see above.');
  return { text: lines.join('\n'), ok };
}

module.exports = { render };
