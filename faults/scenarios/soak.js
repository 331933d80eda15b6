'use strict';

// Scenario 4: a soak. Many connect / write / close cycles per transport — tcp, tls
// (certificates made with openssl now), unix, WebSocket (a connection with
// `websocket: { path }` against a connkit WebServer), and a child process over stdio —
// a few connections at a time. Each transport runs in a process of its own
// (faults/peers/soak-child.js) that measures fds, RSS and active handles before and
// after; once it has closed everything it says so, and the time from that message to
// its exit shows whether connkit lets a process end by itself (within a second).
// The same tcp cycles on Node's own net make a reference row (figures only).

const { fork } = require('node:child_process');
const path = require('node:path');
const { makeCerts } = require('../lib/certs');
const { within } = require('../lib/probe');

const CHILD = path.join(__dirname, '..', 'peers', 'soak-child.js');

// cycles, connections at a time, and a time budget (ms) per transport. A child
// process per stdio cycle costs a Node start (~50 ms of CPU on this 2-core machine),
// so stdio runs fewer cycles: the row's note says so and the figures count what ran.
const PROFILES = {
  short: {
    tcp: [400, 8, 3000],
    tls: [200, 4, 3000],
    unix: [400, 8, 3000],
    ws: [300, 8, 3000],
    stdio: [40, 4, 3000],
    'node-tcp': [400, 8, 3000],
  },
  full: {
    tcp: [10_000, 8, 15_000],
    tls: [10_000, 4, 30_000],
    unix: [10_000, 8, 15_000],
    ws: [10_000, 8, 20_000],
    stdio: [400, 4, 30_000],
    'node-tcp': [10_000, 8, 15_000],
  },
};

/** Seconds from "closed everything" to the process's exit, above which it did not end by itself. */
const EXIT_WITHIN_MS = 1000;
/** RSS growth (MiB) over the soak, after a GC, above which something is kept per
 * connection. Node's own net grows ~40 MiB over its first 10,000 cycles and then levels
 * off (V8 and glibc keeping pages): the reference row shows it; 100 MiB is far above that
 * and below what keeping a read buffer per connection would cost. */
const RSS_GROWTH_MAX = 100;

/** Runs one transport's soak in a child; resolves with its figures and exit timing. */
function soak(transport, [cycles, concurrency, budgetMs], certDir) {
  return new Promise((resolve) => {
    const child = fork(CHILD, [transport, cycles, concurrency, budgetMs, certDir ?? ''], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let figures = null;
    let error = null;
    let doneAt = null;
    child.on('message', (m) => {
      if (m.done) {
        figures = m.done;
        doneAt = Date.now();
      }
      if (m.error) error = m.error;
    });
    const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal, at: Date.now() })));
    // Bounded: the budget, plus room to start, close and exit.
    const limit = setTimeout(() => {
      error = error || `did not finish within ${(budgetMs + 20_000) / 1000} s`;
      process.kill(child.pid, 'SIGKILL');
    }, budgetMs + 20_000);
    exited.then(async (exit) => {
      clearTimeout(limit);
      resolve({ figures, error, exit, exitMs: doneAt === null ? null : exit.at - doneAt });
    });
    // After "done", it must end by itself; past a few seconds it is stopped.
    const watch = setInterval(() => {
      if (doneAt !== null && Date.now() - doneAt > 5000 && child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid, 'SIGKILL');
      }
    }, 100);
    exited.then(() => clearInterval(watch));
  });
}

async function run(profile, report) {
  const plan = PROFILES[profile];
  const only = process.env.SOAK_TRANSPORTS ? process.env.SOAK_TRANSPORTS.split(',') : Object.keys(plan);
  const certs = only.includes('tls') ? makeCerts() : null;
  try {
    for (const transport of only) {
      const result = await within(soak(transport, plan[transport], certs?.dir), plan[transport][2] + 30_000, null);
      const reference = transport === 'node-tcp';
      const subject = reference ? "node's net tcp (reference)" : `connkit ${transport}`;
      if (!result || !result.figures) {
        report({ subject, ok: false, figures: {}, note: `the soak did not complete: ${(result && result.error) || 'timed out'}`.slice(0, 300) });
        continue;
      }
      const f = result.figures;
      const exitedByItself = result.exitMs !== null && result.exitMs <= EXIT_WITHIN_MS && result.exit.code === 0;
      const figures = {
        cycles: f.cycles,
        failed: f.failed,
        seconds: f.seconds,
        fdsBefore: f.fdsBefore,
        fdsAfter: f.fdsAfter,
        rssBeforeMiB: f.rssBeforeMiB,
        rssMidMiB: f.rssMidMiB,
        rssAfterMiB: f.rssAfterMiB,
        handlesBefore: f.handlesBefore,
        handlesAfter: f.handlesAfter,
        exitMs: exitedByItself || result.exit.signal === null ? result.exitMs : `killed after ${result.exitMs}`,
      };
      const problems = [];
      if (f.failed) problems.push(`failed cycles: ${Object.entries(f.failures).map(([k, v]) => `${k}:${v}`).join(',')}`);
      if (f.fdsAfter > f.fdsBefore) problems.push(`${f.fdsAfter - f.fdsBefore} fds left open`);
      if (f.handlesAfter > f.handlesBefore) problems.push(`handles left: ${f.handlesLeft.join(',') || f.handlesAfter - f.handlesBefore}`);
      if (f.rssAfterMiB - f.rssBeforeMiB > RSS_GROWTH_MAX) problems.push(`RSS grew ${(f.rssAfterMiB - f.rssBeforeMiB).toFixed(0)} MiB`);
      if (!exitedByItself) problems.push(`the process did not exit by itself within ${EXIT_WITHIN_MS} ms of its last close`);
      if (result.error) problems.push(result.error.split('\n')[0]);
      if (f.cycles < f.planned) problems.unshift(`${f.cycles} of ${f.planned} cycles in the ${plan[transport][2] / 1000} s budget`);
      if (transport === 'stdio') problems.unshift(`a Node child per cycle: ${f.planned} planned, not 10,000`);
      const serverErrors = Object.entries(f.serverErrors);
      if (serverErrors.length) figures.serverErrors = serverErrors.map(([k, v]) => `${k}:${v}`).join(',');
      const failed = f.failed > 0 || f.fdsAfter > f.fdsBefore || f.handlesAfter > f.handlesBefore || f.rssAfterMiB - f.rssBeforeMiB > RSS_GROWTH_MAX || !exitedByItself || Boolean(result.error);
      if (reference) problems.unshift('figures only: the same cycles on node:net');
      report({ subject, ok: reference || !failed, figures, note: problems.join('; ') || undefined });
    }
  } finally {
    certs?.cleanup();
  }
}

module.exports = { run };
