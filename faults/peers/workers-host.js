'use strict';

// The process the workers scenario runs its rounds in (so that a crash is counted,
// not fatal): the main thread keeps a connkit connection doing request/response
// while worker threads, each with connkit servers and connections busy, are
// terminated at random moments. Reports { round, rss, fds } after each round and { done }
// with the figures at the end.
//
//   node workers-host.js ROUNDS WORKERS_PER_ROUND MAX_LIFE_MS

const path = require('node:path');
const net = require('node:net');
const { Worker } = require('node:worker_threads');
const { fds, rssMiB, sleep, until, within } = require('../lib/probe');
const ck = require(path.join(__dirname, '..', '..'));

const [rounds, perRound, maxLife] = process.argv.slice(2).map(Number);
const THREAD = path.join(__dirname, 'workers-thread.js');

/** A port nobody listens on (taken, then let go). */
function deadPort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The main thread's own traffic: one request at a time, each checked. */
function mainTraffic(port) {
  const stats = { answered: 0, failed: 0, wrong: 0, maxLatencyMs: 0, errors: [] };
  const conn = ck.createConnection({ host: '127.0.0.1', port, framing: 'length' });
  conn.on('error', (e) => {
    stats.errors.push(e.code ?? e.message);
  });
  let stopped = false;
  let seq = 0;
  let waiting = null; // { seq, sent, timer }
  conn.on('frame', (f) => {
    if (!waiting) return void stats.wrong++;
    const got = f.readUInt32BE(0);
    if (got !== waiting.seq) stats.wrong++;
    else stats.answered++;
    stats.maxLatencyMs = Math.max(stats.maxLatencyMs, Date.now() - waiting.sent);
    clearTimeout(waiting.timer);
    waiting = null;
    next();
  });
  function next() {
    if (stopped) return;
    const frame = Buffer.alloc(64);
    frame.writeUInt32BE(++seq, 0);
    waiting = {
      seq,
      sent: Date.now(),
      // An answer that never comes is a failure: a request may not wait > 3 s.
      timer: setTimeout(() => {
        stats.failed++;
        waiting = null;
        next();
      }, 3000),
    };
    conn.write(frame);
  }
  const started = new Promise((r) => conn.once('connect', r));
  started.then(next);
  return {
    stats,
    started,
    async stop() {
      stopped = true;
      await until(() => waiting === null, 3500);
      conn.end();
      await within(new Promise((r) => conn.once('close', r)), 3000);
    },
  };
}

async function round(no, mainPort, figures) {
  const workers = [];
  for (let i = 0; i < perRound; i++) {
    const port = await deadPort();
    const w = new Worker(THREAD, { workerData: { mainPort, deadPort: port, tag: `${no}-${i}` } });
    const state = { flowing: false, error: null, exit: null };
    w.on('message', (m) => m.flowing && (state.flowing = true));
    w.on('error', (e) => (state.error = e));
    const exited = new Promise((r) => w.once('exit', (code) => r((state.exit = code))));
    workers.push({ w, state, exited });
  }
  await Promise.all(
    workers.map(async ({ w, state, exited }, i) => {
      // One in four is terminated while it is still starting up; the others once
      // their traffic flows, after a random while.
      const early = (no + i) % 4 === 3;
      if (early) await sleep(Math.random() * 30);
      else {
        const flowing = await until(() => state.flowing, 5000);
        if (!flowing) figures.neverFlowed++;
        await sleep(Math.random() * maxLife);
      }
      const t0 = Date.now();
      const done = await within(w.terminate().then(() => true), 5000, false);
      figures.maxTerminateMs = Math.max(figures.maxTerminateMs, Date.now() - t0);
      if (!done) figures.terminateHung++;
      await within(exited, 2000);
      if (state.error) figures.workerErrors++;
      figures.terminated++;
      if (early) figures.terminatedEarly++;
    }),
  );
}

async function main() {
  const server = ck.createServer({ framing: 'length' }, (c) => {
    c.on('error', () => {}); // workers' connections vanish with them
    c.on('frame', (f) => c.write(f));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const mainPort = server.address().port;
  const traffic = mainTraffic(mainPort);
  await within(traffic.started, 5000);
  await sleep(100);
  const before = { fds: fds(), rss: rssMiB(), conns: server.connections };
  // Ready, then wait for the word to start (so that no report goes unheard).
  let finished = false;
  process.on('disconnect', () => finished || process.exit(0)); // the scenario is gone
  const go = new Promise((r) => process.once('message', r));
  process.send({ ready: { pid: process.pid } });
  await go;

  const figures = { terminated: 0, terminatedEarly: 0, neverFlowed: 0, terminateHung: 0, workerErrors: 0, maxTerminateMs: 0 };
  for (let no = 1; no <= rounds; no++) {
    await round(no, mainPort, figures);
    process.send({ round: no, rss: rssMiB(), fds: fds() });
  }
  // What the workers had open must go with them: their connections to the main
  // thread's server, their fds.
  const settled = await until(() => server.connections === before.conns && fds() <= before.fds, 5000);
  await sleep(200);
  const after = { fds: fds(), rss: rssMiB(), conns: server.connections };
  await traffic.stop();
  server.close();
  await within(new Promise((r) => server.once('close', r)), 3000);
  const done = {
    ...figures,
    settled,
    answered: traffic.stats.answered,
    failed: traffic.stats.failed,
    wrong: traffic.stats.wrong,
    mainErrors: traffic.stats.errors.length,
    maxLatencyMs: traffic.stats.maxLatencyMs,
    fdsBefore: before.fds,
    fdsAfter: after.fds,
    strayConns: after.conns - before.conns,
    rssBeforeMiB: before.rss,
    rssAfterMiB: after.rss,
  };
  // Then exit by itself: a handle left behind would keep the process alive.
  process.send({ done }, () => {
    finished = true;
    process.disconnect();
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(3);
});
