'use strict';

// Scenario 5 — worker threads. connkit loaded in worker threads, each with servers,
// connections, a web server and an HTTP client busy (and a client redialing a dead
// port), terminated with worker.terminate() at random moments, round after round,
// while the main thread keeps its own connection doing request/response. The rounds
// run in a host process of their own, so a crash is counted (and the host started
// again for the rounds left) rather than ending the scenario.
//
// connkit's guarantee: no crash; every main-thread request answered (none failed,
// none wrong); what a worker opened goes with it (its connections to the main
// thread's server close, fds return to where they were, RSS stops growing); the
// host exits by itself afterwards (no handle left behind).
//
// RSS: the first rounds grow it by tens of MiB whatever the workers do (each thread
// gets malloc arenas, V8 keeps pages), then it levels off. So the leak check is the
// growth after the first quarter of the rounds (`rssWarmMiB`), which must stay under
// RSS_AFTER_WARM_MiB — in the full profile: the short one has too few rounds for the
// curve to level off, and its RSS figures are for reading (its leak check is fds).

const path = require('node:path');
const { startPeer } = require('../lib/peer');
const { within } = require('../lib/probe');

const HOST = path.join(__dirname, '..', 'peers', 'workers-host.js');
const RSS_AFTER_WARM_MiB = 32;

const PROFILES = {
  short: { rounds: 4, perRound: 2, maxLifeMs: 150, rssChecked: false },
  full: { rounds: 40, perRound: 3, maxLifeMs: 300, rssChecked: true },
};

async function run(profile, report) {
  const p = PROFILES[profile];
  const started = Date.now();
  const total = {
    rounds: 0, crashes: 0, lingering: 0, terminated: 0, terminatedEarly: 0, terminateHung: 0, neverFlowed: 0,
    workerErrors: 0, answered: 0, failed: 0, wrong: 0, mainErrors: 0, maxLatencyMs: 0, maxTerminateMs: 0,
    strayConns: 0, fdsBefore: null, fdsAfter: null, rssBeforeMiB: null, rssWarmMiB: null, rssAfterMiB: null,
  };
  const warmRound = Math.max(1, Math.floor(p.rounds / 4));
  const notes = [];
  let left = p.rounds;
  // A crashed host is started again for the rounds it had left (at most 3 hosts).
  for (let hosts = 0; left > 0 && hosts < 3; hosts++) {
    const peer = await startPeer(HOST, [left, p.perRound, p.maxLifeMs], { readyMs: 15_000 });
    let rounds = 0;
    let done = null;
    const first = total.rounds; // rounds done by earlier hosts
    peer.onMessage((m) => {
      if (m.round) rounds = m.round;
      if (m.round && first + m.round === warmRound) total.rssWarmMiB = m.rss;
      if (m.done) done = m.done;
    });
    peer.send({ go: true });
    // Each round takes well under 3 s; past that the host is taken for hung.
    const exit = await within(peer.exited, 8_000 + left * 3_000, null);
    if (exit === null) {
      total.lingering++;
      notes.push(done ? 'host did not exit by itself' : `host hung after ${rounds} rounds`);
      await peer.kill();
    } else if (exit.code !== 0 || exit.signal) {
      total.crashes++;
      notes.push(`host exited with ${exit.signal ?? exit.code} after ${rounds} rounds`);
    }
    total.rounds += rounds;
    left -= Math.max(rounds, 1); // a host that dies before its first round still uses one up
    if (done) {
      for (const k of ['terminated', 'terminatedEarly', 'terminateHung', 'neverFlowed', 'workerErrors', 'answered', 'failed', 'wrong', 'mainErrors', 'strayConns']) {
        total[k] += done[k];
      }
      total.maxLatencyMs = Math.max(total.maxLatencyMs, done.maxLatencyMs);
      total.maxTerminateMs = Math.max(total.maxTerminateMs, done.maxTerminateMs);
      // The first host's baseline, the last host's end.
      total.fdsBefore ??= done.fdsBefore;
      total.rssBeforeMiB ??= done.rssBeforeMiB;
      total.fdsAfter = done.fdsAfter;
      total.rssAfterMiB = done.rssAfterMiB;
    }
  }
  const fdsLeaked = total.fdsAfter === null ? -1 : total.fdsAfter - total.fdsBefore;
  const rssGrowth = total.rssAfterMiB === null || total.rssWarmMiB === null ? Infinity : total.rssAfterMiB - total.rssWarmMiB;
  const ok =
    total.rounds === p.rounds &&
    total.crashes === 0 &&
    total.lingering === 0 &&
    total.failed === 0 &&
    total.wrong === 0 &&
    total.answered > 0 &&
    total.terminateHung === 0 &&
    total.neverFlowed === 0 &&
    total.strayConns === 0 &&
    fdsLeaked === 0 &&
    (!p.rssChecked || rssGrowth < RSS_AFTER_WARM_MiB);
  if (fdsLeaked > 0) notes.push(`${fdsLeaked} fds left open`);
  if (p.rssChecked && rssGrowth >= RSS_AFTER_WARM_MiB) notes.push(`RSS grew ${rssGrowth.toFixed(1)} MiB after round ${warmRound} (bound ${RSS_AFTER_WARM_MiB})`);
  report({
    subject: 'connkit in worker_threads',
    ok,
    figures: {
      rounds: total.rounds,
      workers: total.terminated,
      early: total.terminatedEarly,
      crashes: total.crashes,
      lingering: total.lingering,
      terminateHung: total.terminateHung,
      maxTerminateMs: total.maxTerminateMs,
      mainAnswered: total.answered,
      mainFailed: total.failed,
      mainWrong: total.wrong,
      mainMaxLatencyMs: total.maxLatencyMs,
      strayConns: total.strayConns,
      fdsBefore: total.fdsBefore,
      fdsAfter: total.fdsAfter,
      rssBeforeMiB: total.rssBeforeMiB,
      rssWarmMiB: total.rssWarmMiB,
      rssAfterMiB: total.rssAfterMiB,
      seconds: (Date.now() - started) / 1000,
    },
    note: notes.length ? notes.join('; ') : undefined,
  });
}

module.exports = { run };
