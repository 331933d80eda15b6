'use strict';

// What a scenario measures about its own process, and bounded waits.

const fs = require('node:fs');

/** Open file descriptors of this process. */
function fds() {
  return fs.readdirSync('/proc/self/fd').length - 1; // less the one readdir holds
}

/** Resident set size, MiB. */
function rssMiB() {
  return process.memoryUsage().rss / (1024 * 1024);
}

/** Active handles keeping the loop alive, by type (timers excluded: they are the scenario's). */
function handles() {
  return process.getActiveResourcesInfo().filter((t) => t !== 'Timeout' && t !== 'Immediate').length;
}

function snapshot() {
  return { fds: fds(), rss: rssMiB(), handles: handles() };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `predicate` every 5 ms until it holds; false after `ms`. */
async function until(predicate, ms) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

/** `promise`, or `fallback` after `ms`. */
function within(promise, ms, fallback) {
  let timer;
  return Promise.race([promise, new Promise((r) => (timer = setTimeout(() => r(fallback), ms)))]).finally(() => clearTimeout(timer));
}

module.exports = { fds, rssMiB, handles, snapshot, sleep, until, within };
