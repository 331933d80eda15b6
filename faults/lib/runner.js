'use strict';

// Runs one scenario in a child process of its own, bounded in time, and collects
// the rows it reports on its IPC channel. The child is stopped by its own PID.

const { fork } = require('node:child_process');
const path = require('node:path');

/** In the order they run: cheapest first, so a short run fails fast. */
const SCENARIOS = ['reset', 'chaos', 'crash', 'fuzz', 'soak', 'workers', 'slow', 'security'];

/** Upper bound of one scenario's process, per profile. */
const LIMIT_MS = { short: 60_000, full: 180_000 };

function runScenario(name, profile) {
  return new Promise((resolve) => {
    const rows = [];
    const child = fork(path.join(__dirname, 'child.js'), [name, profile], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    let error = null;
    const timer = setTimeout(() => {
      error = `did not finish within ${LIMIT_MS[profile] / 1000} s`;
      child.kill('SIGKILL');
    }, LIMIT_MS[profile]);
    child.on('message', (m) => {
      if (m.row) rows.push(m.row);
      if (m.error) error = m.error;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!error && (code !== 0 || signal)) error = `the scenario's process exited with ${signal ?? code}`;
      resolve({ name, profile, rows, error });
    });
  });
}

module.exports = { runScenario, SCENARIOS };
