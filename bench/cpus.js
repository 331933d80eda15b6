'use strict';

// Where a latency case runs. On this kind of machine (a VM) a round trip's time is
// mostly the wake-up of the other side: about 8 µs when both processes share a core,
// 70-80 µs when the other core sleeps and must be woken. Left to the scheduler, a
// run lands on either, for connkit, the original and the ceiling alike, and p50s
// differ tenfold by luck. So each latency case runs with its client on one core and
// its server on the other, the same for all three.

const { execFileSync } = require('node:child_process');
const os = require('node:os');

const last = os.cpus().length - 1;
const ALL = `0-${last}`;
const CLIENT = '0';
const SERVER = String(Math.min(1, last));

// Every thread of `pid`, those it makes later included.
const pin = (pid, cpus) => execFileSync('taskset', ['-a', '-cp', cpus, String(pid)], { stdio: 'ignore' });

/** Runs `fn` with this process (the client) and the `servers` (PIDs) on cores of their own. */
async function pinned(servers, fn) {
  pin(process.pid, CLIENT);
  for (const pid of servers) pin(pid, SERVER);
  try {
    return await fn();
  } finally {
    pin(process.pid, ALL);
    for (const pid of servers) {
      try {
        pin(pid, ALL);
      } catch {
        // it has exited
      }
    }
  }
}

module.exports = { pinned, CLIENT, SERVER };
