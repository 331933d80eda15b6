'use strict';

// Scenario 6 — slow and silent peers.
//
// (a) A peer that never reads (a Node server that pauses its sockets): write()
//     returns false past the high-water mark, no 'drain' while the peer still reads
//     nothing, 'drain' once it resumes, every byte arrives; RSS bounded.
// (b) A Client (reconnect on) whose server is down: writes go to the offline queue;
//     past offlineQueueBytes they are refused with an 'error' coded
//     ERR_OFFLINE_QUEUE_FULL, and their callbacks get that error; accepted writes call
//     back only once written; once the server is up exactly the accepted bytes
//     arrive; RSS bounded by the cap, not by what was written.
// (c) The JS thread blocked (a busy loop) while a peer in another process floods it:
//     the core must stop reading while JS is behind, so what the peer manages to send
//     during the block, and the RSS growth, stay bounded; nothing is lost afterwards.
// (d) A peer that vanishes without FIN or RST (a proxy that black-holes its
//     connections): the idle timeout (`timeout` -> 'timeout') or connkit/jstp's
//     heartbeat timeout detects it; time to detect, and whether the client is back.
//     The original jstp's heartbeat has no timeout: its figures say what it does.

const net = require('node:net');
const tls = require('node:tls');
const path = require('node:path');
const ck = require('../..');
const ckJstp = require('connkit/jstp');
const realJstp = require('../lib/originals').requireOriginalJstp();
const { startPeer } = require('../lib/peer');
const { rssMiB, fds, sleep, until, within } = require('../lib/probe');
const { makeCerts } = require('../lib/certs');

const PEERS = path.join(__dirname, '..', 'peers');
const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;

const PROFILES = {
  short: {
    fillSubjects: ['tcp', 'tls', 'node'],
    holdMs: 300,
    offlineCap: 2 * MiB,
    offlineFactor: 4,
    blockMs: 1500,
    blockSubjects: ['tcp', 'tls', 'node'],
    idleTimeoutMs: 400,
    heartbeat: { interval: 100, timeout: 400 },
    originalWaitMs: 1500,
  },
  full: {
    fillSubjects: ['tcp', 'tls', 'unix', 'node'],
    holdMs: 1000,
    offlineCap: 16 * MiB,
    offlineFactor: 8,
    blockMs: 5000,
    blockSubjects: ['tcp', 'tls', 'unix', 'node'],
    idleTimeoutMs: 1000,
    heartbeat: { interval: 250, timeout: 1000 },
    originalWaitMs: 8000,
  },
};

const once = (emitter, event, ms) => within(new Promise((r) => emitter.once(event, (...a) => r(a.length ? a : [true]))), ms, null);
const listen = (server, ...args) => new Promise((r) => server.listen(...args, () => r(server.address())));
const closeServer = (server) => within(new Promise((r) => server.close(() => r(true))), 3000, false);
const tmpSock = (name) => path.join(require('node:os').tmpdir(), `connkit-faults-slow-${process.pid}-${name}.sock`);

/** A port nobody listens on. */
async function freePort() {
  const s = net.createServer();
  const { port } = await listen(s, 0, '127.0.0.1');
  await closeServer(s);
  return port;
}

// ---------------------------------------------------------------------------
// (a) a peer that never reads

/** A Node server whose sockets read nothing until `resume()`. */
async function pausedPeer(kind, certs) {
  const sockets = [];
  const peer = { received: 0, sockets };
  const onSocket = (s) => {
    s.pause();
    s.on('error', () => {});
    s.on('data', (d) => (peer.received += d.length));
    sockets.push(s);
  };
  let where;
  if (kind === 'tls') {
    peer.server = tls.createServer({ cert: certs.cert, key: certs.key }, onSocket);
    where = await listen(peer.server, 0, '127.0.0.1');
  } else if (kind === 'unix') {
    peer.server = net.createServer(onSocket);
    where = { path: tmpSock('fill') };
    await listen(peer.server, where.path);
  } else {
    peer.server = net.createServer(onSocket);
    where = await listen(peer.server, 0, '127.0.0.1');
  }
  peer.where = where;
  peer.resume = () => sockets.forEach((s) => s.resume());
  peer.close = async () => {
    sockets.forEach((s) => s.destroy());
    await closeServer(peer.server);
  };
  return peer;
}

function dialFill(kind, where, certs) {
  if (kind === 'node') return net.connect(where.port, '127.0.0.1');
  if (kind === 'tls') return ck.createConnection({ transport: 'tls', host: 'localhost', port: where.port, ca: certs.ca });
  if (kind === 'unix') return ck.createConnection({ path: where.path });
  return ck.createConnection({ host: '127.0.0.1', port: where.port });
}

async function neverReads(kind, p, certs, report) {
  const subject = kind === 'node' ? 'node net.Socket (a)' : `connkit ${kind} (a)`;
  const peer = await pausedPeer(kind === 'node' ? 'tcp' : kind, certs);
  const rss0 = rssMiB();
  const conn = dialFill(kind, peer.where, certs);
  const errors = [];
  conn.on('error', (e) => errors.push(e.code ?? e.message));
  if (!(await once(conn, 'connect', 5000))) throw new Error(`${subject}: no connect`);
  const chunk = Buffer.alloc(CHUNK, 1);
  let drains = 0;
  conn.on('drain', () => drains++);
  let writes = 0;
  let falses = 0;
  let stuck = false;
  const t0 = Date.now();
  // A well-behaved producer: writes while write() says yes, waits for 'drain' when it
  // says no, until a 'drain' does not come (the peer's buffers are full); bounded in
  // count and time.
  while (!stuck && writes < 4096 && Date.now() - t0 < 8000) {
    const seen = drains;
    const ok = conn.write(chunk);
    writes++;
    if (!ok) {
      falses++;
      stuck = !(await until(() => drains > seen, 300));
    } else {
      await new Promise((r) => setImmediate(r));
    }
  }
  const sent = writes * CHUNK;
  const bufferedKiB = conn.writableLength / 1024;
  // The peer still reads nothing: a 'drain' now would be a lie.
  const drainsAtStuck = drains;
  await sleep(p.holdMs);
  const drainWhilePaused = drains - drainsAtStuck;
  const rssHeldMiB = rssMiB() - rss0;
  const resumed = Date.now();
  peer.resume();
  const drained = await until(() => drains > drainsAtStuck + drainWhilePaused, 10_000);
  const drainMs = Date.now() - resumed;
  const all = await until(() => peer.received >= sent, 10_000);
  conn.end();
  await once(conn, 'close', 3000);
  await peer.close();
  const lost = sent - peer.received;
  const rssBound = 32 + sent / MiB; // what was written sits in kernel buffers at most
  report({
    subject,
    ok: kind === 'node' ? true : stuck && drainWhilePaused === 0 && drained && all && lost === 0 && errors.length === 0 && rssHeldMiB < rssBound,
    figures: {
      writes,
      falses,
      stuck: stuck ? 1 : 0,
      sentMiB: sent / MiB,
      bufferedKiB,
      drainWhilePaused,
      drainMs: drained ? drainMs : -1,
      lost,
      errors: errors.length,
      rssGrowthMiB: rssHeldMiB,
    },
  });
}

// ---------------------------------------------------------------------------
// (b) the offline queue

async function offlineQueue(p, report) {
  const port = await freePort();
  const cap = p.offlineCap;
  const rss0 = rssMiB();
  const client = new ck.Client({ host: '127.0.0.1', port, offlineQueueBytes: cap, reconnect: { initialDelay: 20, maxDelay: 100 } });
  const errors = [];
  let closed = 0;
  client.on('error', (e) => errors.push(e));
  client.on('close', () => closed++);
  const chunk = Buffer.alloc(CHUNK, 2);
  const writes = (cap * p.offlineFactor) / CHUNK;
  const fits = Math.floor(cap / CHUNK); // offline, the first `fits` writes fill the queue; the rest are refused
  const results = new Array(writes); // per write: null (ok), an Error, or undefined (not called)
  let early = 0; // callbacks with no error that ran before the core had written their bytes
  let refusedOk = 0; // refused writes whose callback said "written"
  for (let i = 0; i < writes; i++) {
    client.write(chunk, (err) => {
      results[i] = err ?? null;
      if (err) return;
      if (i >= fits) refusedOk++;
      else if ((client.stats().bytesOut ?? 0) < (i + 1) * CHUNK) early++;
    });
  }
  await until(() => errors.length >= writes - fits, 2000);
  await sleep(100);
  const rssOfflineMiB = rssMiB() - rss0;
  const refused = errors.filter((e) => e.code === 'ERR_OFFLINE_QUEUE_FULL').length;
  const otherErrors = errors.length - refused;
  const queuedOffline = client.stats().queued ?? -1;
  const calledWhileOffline = results.filter((r) => r !== undefined).length;
  const closedOffline = closed;
  // The server comes up: exactly the accepted writes must arrive.
  let received = 0;
  const sockets = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('data', (d) => (received += d.length));
    s.on('error', () => {});
  });
  await listen(server, port, '127.0.0.1');
  const connected = await once(client, 'connect', 5000);
  const accepted = (writes - refused) * CHUNK;
  await until(() => received >= accepted, 10_000);
  await sleep(200); // anything more would be a refused write sent after all
  await until(() => results.filter((r) => r !== undefined).length === writes, 2000);
  const okCallbacks = results.filter((r) => r === null).length;
  const errCallbacks = results.filter((r) => r instanceof Error).length;
  const uncalled = writes - okCallbacks - errCallbacks;
  client.destroy();
  await once(client, 'close', 3000);
  sockets.forEach((s) => s.destroy());
  await closeServer(server);
  report({
    subject: 'connkit Client offline (b)',
    ok:
      refused === writes - fits &&
      otherErrors === 0 &&
      closedOffline === 0 &&
      queuedOffline <= cap &&
      !!connected &&
      received === accepted &&
      errCallbacks === refused &&
      refusedOk === 0 &&
      uncalled === 0 &&
      early === 0 &&
      rssOfflineMiB < cap / MiB + 24,
    figures: {
      capMiB: cap / MiB,
      writtenMiB: (writes * CHUNK) / MiB,
      refused,
      otherErrors,
      closedByRefusal: closedOffline,
      queuedMiB: queuedOffline / MiB,
      calledWhileOffline,
      receivedMiB: received / MiB,
      extraBytes: received - accepted,
      cbError: errCallbacks,
      cbNoError: okCallbacks,
      cbRefusedNoError: refusedOk,
      cbUncalled: uncalled,
      cbEarly: early,
      rssGrowthMiB: rssOfflineMiB,
    },
    note:
      refusedOk > 0 || early > 0
        ? `${refusedOk} refused writes called back with no error; ${early} callbacks ran before their bytes were written`
        : undefined,
  });
}

// ---------------------------------------------------------------------------
// (c) a blocked JS thread and a flooding peer

async function floodServer(kind, certs) {
  const state = { received: 0, server: null, conns: [], target: null };
  const onConn = (c) => {
    state.conns.push(c);
    c.on('error', () => {});
    c.on('data', (d) => (state.received += d.length));
  };
  if (kind === 'node') state.server = net.createServer(onConn);
  else if (kind === 'tls') state.server = ck.createServer({ transport: 'tls', cert: certs.cert, key: certs.key }, onConn);
  else state.server = ck.createServer(onConn);
  if (kind === 'unix') {
    state.target = tmpSock('flood');
    await listen(state.server, state.target);
  } else {
    state.target = (await listen(state.server, 0, '127.0.0.1')).port;
  }
  return state;
}

/** The bytes the flooder flushed between `from` and `to` (its own clock, same host).
 * Its samples are 10 ms apart unless its loop was busy (2 cores, one spinning here):
 * the count is taken from the first sample at or after `from` to the last at or
 * before `to`, so a gap before the block is not counted in it. */
function sentBetween(samples, from, to) {
  const start = samples.find(([ts]) => ts >= from);
  let end = null;
  for (const sample of samples) if (sample[0] <= to) end = sample;
  if (!start || !end || end[0] < start[0]) return 0;
  return end[1] - start[1];
}

async function blockedThread(kind, p, certs, report) {
  const subject = kind === 'node' ? 'node net.Socket (c)' : `connkit ${kind} (c)`;
  const state = await floodServer(kind, certs);
  const flooder = await startPeer(path.join(PEERS, 'slow-flooder.js'), [state.target, kind === 'node' ? 'tcp' : kind]);
  // Let it flow, then block.
  await until(() => state.received > 4 * MiB, 5000);
  await sleep(100);
  const rss0 = rssMiB();
  let rssMax = rss0;
  const blockStart = Date.now();
  const receivedBefore = state.received;
  let spin = 0;
  while (Date.now() - blockStart < p.blockMs) {
    // The busy loop: samples RSS now and then, nothing else runs on this thread.
    if (++spin % 20_000 === 0) rssMax = Math.max(rssMax, rssMiB());
  }
  const blockEnd = Date.now();
  rssMax = Math.max(rssMax, rssMiB());
  const deliveredInBlock = state.received - receivedBefore; // 0: JS ran nothing
  // Back to normal: stop the flooder; everything it sent must arrive.
  await sleep(100);
  const answer = new Promise((r) => flooder.onMessage((m) => m.total !== undefined && r(m)));
  flooder.send({ stop: true });
  const result = await within(answer, 10_000, null);
  if (!result) throw new Error(`${subject}: the flooder did not report`);
  const all = await until(() => state.received >= result.total, 15_000);
  const peerSentInBlock = sentBetween(result.samples, blockStart, blockEnd);
  // What the peer sent overall per ms while not blocked, for scale.
  const flowMs = result.samples[result.samples.length - 1][0] - result.samples[0][0] - (blockEnd - blockStart);
  const rateMiBs = (result.total - peerSentInBlock) / MiB / (flowMs / 1000);
  await flooder.kill();
  state.conns.forEach((c) => c.destroy());
  await closeServer(state.server);
  const growth = rssMax - rss0;
  report({
    subject,
    ok: kind === 'node' ? true : growth < 48 && peerSentInBlock < 64 * MiB && all && state.received === result.total && deliveredInBlock === 0,
    figures: {
      blockMs: blockEnd - blockStart,
      peerSentInBlockMiB: peerSentInBlock / MiB,
      peerRateMiBs: rateMiBs,
      rssGrowthMiB: growth,
      sentMiB: result.total / MiB,
      lost: result.total - state.received,
    },
  });
}

// ---------------------------------------------------------------------------
// (d) a peer that vanishes without FIN or RST

async function blackhole(proxy) {
  const answer = new Promise((r) => proxy.onMessage((m) => m.blackholed !== undefined && r(m.blackholed)));
  proxy.send({ blackhole: true });
  return within(answer, 3000, -1);
}

/** connkit Client, `timeout` option, one request at a time through the proxy. */
async function vanishIdleTimeout(p, report) {
  const echo = ck.createServer((c) => {
    c.on('error', () => {});
    c.on('data', (d) => c.write(d));
  });
  const { port } = await listen(echo, 0, '127.0.0.1');
  const proxy = await startPeer(path.join(PEERS, 'slow-proxy.js'), [port]);
  const client = new ck.Client({ host: '127.0.0.1', port: proxy.info.port, timeout: p.idleTimeoutMs, reconnect: { initialDelay: 50, maxDelay: 200 } });
  const errors = [];
  client.on('error', (e) => errors.push(e.code));
  let answered = 0;
  let timeoutAt = 0;
  let stop = false;
  let inFlight = false;
  client.on('data', () => {
    answered++;
    inFlight = false;
    if (!stop) setTimeout(ask, 20);
  });
  const ask = () => {
    inFlight = true;
    client.write('ping');
  };
  // A silent peer, as far as this Client can tell: drop the session and dial again.
  client.on('timeout', () => {
    timeoutAt ||= Date.now();
    client.reconnect();
  });
  await once(client, 'connect', 5000);
  ask();
  await until(() => answered >= 5, 3000);
  const holed = await blackhole(proxy);
  const t0 = Date.now();
  const detected = await until(() => timeoutAt > 0, p.idleTimeoutMs * 4 + 1000);
  const detectMs = detected ? timeoutAt - t0 : -1;
  const reconnected = !!(await once(client, 'connect', 2000));
  stop = true;
  client.destroy();
  await once(client, 'close', 3000);
  await proxy.kill();
  await closeServer(echo);
  report({
    subject: 'connkit Client timeout (d)',
    ok: holed === 1 && detected && detectMs <= p.idleTimeoutMs + 500 && reconnected,
    figures: { timeoutMs: p.idleTimeoutMs, detected: detected ? 1 : 0, detectMs, reconnected: reconnected ? 1 : 0, pendingAtDetect: inFlight ? 1 : 0 },
    note: "'timeout' notifies (as Node's); the listener calls reconnect()",
  });
}

/** A jstp client with heartbeats through the proxy: connkit/jstp (heartbeatTimeout)
 * or the original (heartbeatInterval only). */
async function vanishJstp(lib, name, p, report) {
  const isCk = lib === ckJstp;
  const app = new lib.Application('slow', { calc: { add: (conn, a, b, cb) => cb(null, a + b) } });
  const server = lib.net.createServer({ applications: [app] });
  server.on('error', () => {});
  await listen(server, 0, '127.0.0.1');
  const proxy = await startPeer(path.join(PEERS, 'slow-proxy.js'), [server.address().port]);
  let reconnectedAt = 0;
  let closed = false;
  const client = {
    heartbeatInterval: p.heartbeat.interval,
    ...(isCk ? { heartbeatTimeout: p.heartbeat.timeout } : {}),
    reconnector: (conn, reconnect) => {
      if (closed) return;
      setTimeout(() => !closed && reconnect(() => {}), 50);
    },
  };
  const connection = await within(
    new Promise((resolve, reject) => lib.net.connect('slow', client, proxy.info.port, '127.0.0.1', (e, c) => (e ? reject(e) : resolve(c)))),
    5000,
    null,
  );
  if (!connection) throw new Error(`${name}: no connection through the proxy`);
  const errors = [];
  let detectedAt = 0;
  let closedAt = 0;
  connection.on('error', (e) => {
    errors.push(e.code ?? e.message);
    if (e.code === 'ERR_HEARTBEAT_TIMEOUT') detectedAt ||= Date.now();
  });
  connection.on('close', () => (closedAt ||= Date.now()));
  connection.on('reconnect', (err) => !err && (reconnectedAt ||= Date.now()));
  const call = () => new Promise((resolve) => connection.callMethod('calc', 'add', [1, 2], (err, sum) => resolve({ err, sum })));
  for (let i = 0; i < 5; i++) await within(call(), 2000, null);
  const holed = await blackhole(proxy);
  const t0 = Date.now();
  // A call made just after the peer vanished: lost (ERR_CALLBACK_LOST) or hung.
  let lostCall = null;
  call().then((r) => (lostCall = r));
  const waitMs = isCk ? p.heartbeat.timeout + p.heartbeat.interval * 2 + 2000 : p.originalWaitMs;
  await until(() => (detectedAt || closedAt) > 0, waitMs);
  const detectMs = detectedAt || closedAt ? (detectedAt || closedAt) - t0 : -1;
  let recoverMs = -1;
  if (detectMs >= 0) {
    // Back through the proxy (new connections pass): a call answered again.
    const t1 = Date.now();
    let answered = false;
    while (!answered && Date.now() - t1 < 4000) {
      const r = await within(call(), 1000, null);
      answered = !!(r && !r.err && r.sum === 3);
      if (!answered) await sleep(50);
    }
    if (answered) recoverMs = Date.now() - t0;
  }
  const hung = lostCall === null ? 1 : 0;
  closed = true;
  connection.close();
  await proxy.kill();
  await within(new Promise((r) => server.close(() => r())), 3000);
  report({
    subject: `${name} heartbeat (d)`,
    ok: isCk ? holed === 1 && detectMs >= 0 && detectMs <= p.heartbeat.timeout + p.heartbeat.interval * 2 + 500 && recoverMs >= 0 && hung === 0 : true,
    figures: {
      heartbeatMs: p.heartbeat.interval,
      timeoutMs: isCk ? p.heartbeat.timeout : 'none',
      detected: detectMs >= 0 ? 1 : 0,
      detectMs,
      reconnected: reconnectedAt ? 1 : 0,
      recoverMs,
      hung,
      lostCall: lostCall === null ? 'hung' : lostCall.err === lib.ERR_CALLBACK_LOST || lostCall.err?.code === lib.ERR_CALLBACK_LOST ? 'ERR_CALLBACK_LOST' : lostCall.err ? String(lostCall.err.code ?? lostCall.err) : 'answered',
      waitedMs: detectMs >= 0 ? detectMs : waitMs,
    },
  });
}

// ---------------------------------------------------------------------------

async function run(profile, report) {
  const p = PROFILES[profile];
  const certs = makeCerts();
  // The core's runtime (its thread and fds) starts on first use: start it before the baseline.
  const warm = ck.createServer();
  await listen(warm, 0, '127.0.0.1');
  await closeServer(warm);
  const fds0 = fds();
  try {
    for (const kind of p.fillSubjects) await neverReads(kind, p, certs, report);
    await offlineQueue(p, report);
    for (const kind of p.blockSubjects) await blockedThread(kind, p, certs, report);
    await vanishIdleTimeout(p, report);
    await vanishJstp(ckJstp, 'connkit/jstp', p, report);
    await vanishJstp(realJstp, 'original jstp', p, report);
  } finally {
    certs.cleanup();
  }
  await sleep(100);
  const leaked = fds() - fds0;
  if (leaked > 0) report({ subject: 'slow: fds after all parts', ok: false, figures: { fdsBefore: fds0, fdsAfter: fds0 + leaked } });
}

module.exports = { run };
