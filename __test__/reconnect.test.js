'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const ck = require('..');
const { waitFor, listening, until, tmpSocket } = require('./helpers');
const { RECONNECT_SCHEDULE } = require('../faces/connman/schedule');
const { reconnectSchedule: thriftSchedule } = require('../faces/thrift/schedule');

const fast = { initialDelay: 10, maxDelay: 50, jitter: 'none' };

/** A server that can be stopped and started again on the same address. */
function restartable(where, options = { framing: 'length' }) {
  const state = { server: null, frames: [], conns: new Set() };
  state.start = async () => {
    state.server = ck.createServer(options, (conn) => {
      state.conns.add(conn);
      conn.on('error', () => {});
      conn.on('close', () => state.conns.delete(conn));
      conn.on('frame', (f) => state.frames.push(f.toString()));
    });
    return listening(state.server, ...where);
  };
  state.stop = async () => {
    const closed = waitFor(state.server, 'close');
    state.server.close();
    for (const c of state.conns) c.destroy();
    await closed;
  };
  return state;
}

async function freePort() {
  const probe = net.createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address();
  await new Promise((r) => probe.close(r));
  return port;
}

test('server restart: disconnect, reconnecting, connect again, and traffic resumes', async () => {
  const port = await freePort();
  const srv = restartable([port, '127.0.0.1']);
  await srv.start();
  const client = new ck.Client({ port, host: '127.0.0.1', framing: 'length', reconnect: fast });
  const events = [];
  for (const e of ['connect', 'disconnect', 'reconnecting']) client.on(e, () => events.push(e));
  await waitFor(client, 'connect');
  client.write('before');
  await until(() => srv.frames.includes('before'), 5000, 'first frame');

  const reconnecting = waitFor(client, 'reconnecting');
  await srv.stop();
  await reconnecting;
  await srv.start();
  await waitFor(client, 'connect');
  client.write('after');
  await until(() => srv.frames.includes('after'), 5000, 'frame after restart');
  assert.deepEqual(events.slice(0, 3), ['connect', 'disconnect', 'reconnecting']);
  assert.equal(events[events.length - 1], 'connect');
  assert.ok(client.stats().reconnects >= 1);
  client.end();
  await waitFor(client, 'close');
  await srv.stop();
});

test('offline queue: writes made before and during an outage arrive once, in order', async () => {
  const path = tmpSocket();
  const srv = restartable([path]);
  // The client starts before any server exists: everything is queued.
  const client = new ck.Client({ path, framing: 'length', reconnect: fast });
  for (let i = 0; i < 500; i++) client.write(`early ${i}`);
  await waitFor(client, 'reconnecting');
  await srv.start();
  await until(() => srv.frames.length === 500, 5000, 'early frames');
  const disconnected = waitFor(client, 'disconnect');
  await srv.stop();
  await disconnected;
  for (let i = 0; i < 500; i++) client.write(`outage ${i}`);
  await srv.start();
  await until(() => srv.frames.length === 1000, 5000, 'outage frames');
  const want = [...Array(500)].map((_, i) => `early ${i}`).concat([...Array(500)].map((_, i) => `outage ${i}`));
  assert.deepEqual(srv.frames, want);
  client.end();
  await waitFor(client, 'close');
  await srv.stop();
});

test('offline queue overflow is an error event; accepted writes are still delivered', async () => {
  const path = tmpSocket();
  const srv = restartable([path]);
  const client = new ck.Client({ path, framing: 'length', reconnect: fast, offlineQueueBytes: 20 });
  const errors = [];
  client.on('error', (e) => errors.push(e));
  client.write('12345678'); // 12 bytes framed
  client.write('abcdefgh'); // 12 more: over the bound, refused whole
  client.write('xy'); // 6: fits
  await until(() => errors.length === 1, 5000, 'overflow error');
  assert.equal(errors[0].code, 'ERR_OFFLINE_QUEUE_FULL');
  await srv.start();
  await until(() => srv.frames.length === 2, 5000, 'queued frames');
  assert.deepEqual(srv.frames, ['12345678', 'xy']);
  client.destroy();
  await waitFor(client, 'close');
  await srv.stop();
});

test('maxAttempts: gives up with the last error, then close', async () => {
  const port = await freePort();
  const client = new ck.Client({ port, host: '127.0.0.1', reconnect: { ...fast, maxAttempts: 3 } });
  const attempts = [];
  client.on('reconnecting', (e) => attempts.push(e));
  const closed = waitFor(client, 'close');
  const [err] = await waitFor(client, 'error');
  assert.equal(err.code, 'ECONNREFUSED');
  assert.deepEqual(await closed, [true]);
  assert.deepEqual(attempts.map((a) => a.attempt), [1, 2, 3]);
  assert.equal(attempts[0].error.code, 'ECONNREFUSED');
});

test("faces' schedules: connman's is observed on the wire (20, 40, 80 ms)", async () => {
  const port = await freePort();
  const client = new ck.Client({ port, host: '127.0.0.1', reconnect: { ...RECONNECT_SCHEDULE, maxAttempts: 4 } });
  const delays = [];
  client.on('reconnecting', (e) => delays.push(e.delay));
  client.on('error', () => {});
  await waitFor(client, 'close');
  assert.deepEqual(delays, [20, 40, 80, 160]);
});

test("faces' schedules: thrift's with retry_max_delay and a connect_timeout budget", async () => {
  const port = await freePort();
  const client = new ck.Client({
    port,
    host: '127.0.0.1',
    reconnect: thriftSchedule({ maxDelay: 300, budget: 600 }),
  });
  const delays = [];
  client.on('reconnecting', (e) => delays.push(e.delay));
  client.on('error', () => {});
  await waitFor(client, 'close', 5000);
  // 255, then 433 (grown once past the max), then the budget of 600 ms is spent.
  assert.deepEqual(delays, [255, 433]);
});

test('end() while reconnecting stops for good', async () => {
  const port = await freePort();
  const client = new ck.Client({ port, host: '127.0.0.1', reconnect: { initialDelay: 50, jitter: 'none' } });
  await waitFor(client, 'reconnecting');
  const closed = waitFor(client, 'close');
  client.end();
  assert.deepEqual(await closed, [false]);
});

test('a peer that ends cleanly is reconnected to; a plain connection just closes', async () => {
  const path = tmpSocket();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    s.end('bye');
  });
  await new Promise((r) => server.listen(path, r));
  const client = new ck.Client({ path, reconnect: fast });
  await until(() => accepted >= 2, 5000, 'a second connection');
  client.destroy();
  await waitFor(client, 'close');

  const plain = ck.createConnection({ path });
  const chunks = [];
  plain.on('data', (d) => chunks.push(d.toString()));
  const [hadError] = await waitFor(plain, 'close');
  assert.equal(hadError, false);
  assert.deepEqual(chunks, ['bye']);
  server.close();
});

test('reconnect(): drops a silent session at once and dials again; unsent writes go out on the next', async () => {
  const sessions = [];
  const server = net.createServer((s) => {
    sessions.push(s);
    s.on('error', () => {});
    if (sessions.length === 1) s.pause(); // the first session: a peer that went silent
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const client = new ck.Client({ host: '127.0.0.1', port: server.address().port, timeout: 100, reconnect: { initialDelay: 10, jitter: 'none' } });
  await waitFor(client, 'connect');
  await waitFor(client, 'timeout');
  client.reconnect();
  await waitFor(client, 'disconnect');
  await waitFor(client, 'connect');
  // The server's accept callback may run just after the client hears of its connect.
  await until(() => sessions.length === 2, 3000, 'the second session accepted');
  const got = [];
  sessions[1].on('data', (d) => got.push(String(d)));
  client.write('after');
  await until(() => got.join('') === 'after', 3000, 'data on the new session');
  client.destroy();
  await waitFor(client, 'close');
  for (const s of sessions) s.destroy();
  await new Promise((r) => server.close(r));
});

test("reconnect.announce: a 'dialing' event as each attempt starts, after its wait", async () => {
  const port = await freePort();
  const client = new ck.Client({ port, host: '127.0.0.1', reconnect: { initialDelay: 20, jitter: 'none', maxAttempts: 3, announce: true } });
  const seen = [];
  client.on('reconnecting', ({ attempt }) => seen.push(['wait', attempt]));
  client.on('dialing', ({ attempt }) => seen.push(['dial', attempt]));
  client.on('error', () => {});
  await waitFor(client, 'close');
  assert.deepEqual(seen, [['wait', 1], ['dial', 1], ['wait', 2], ['dial', 2], ['wait', 3], ['dial', 3]]);
  // Without `announce` there are none: each would wake JS.
  const quiet = new ck.Client({ port, host: '127.0.0.1', reconnect: { initialDelay: 5, jitter: 'none', maxAttempts: 2 } });
  let dialing = 0;
  quiet.on('dialing', () => dialing++);
  quiet.on('error', () => {});
  await waitFor(quiet, 'close');
  assert.equal(dialing, 0);
});

test("setHeartbeat(): 'heartbeat' events on the core's timer while connected, none after setHeartbeat(0)", async () => {
  const server = net.createServer((s) => s.on('error', () => {}));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const client = ck.createConnection({ port: server.address().port, host: '127.0.0.1' });
  await waitFor(client, 'connect');
  const started = Date.now();
  let beats = 0;
  client.on('heartbeat', () => beats++);
  client.setHeartbeat(30);
  await until(() => beats >= 3, 2000, 'three beats');
  assert.ok(Date.now() - started >= 80, 'not before their time');
  client.setHeartbeat(0);
  const seen = beats;
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(beats, seen);
  assert.throws(() => client.setHeartbeat(-1), { code: 'ERR_INVALID_ARG_TYPE' });
  client.destroy();
  await waitFor(client, 'close');
  await new Promise((r) => server.close(r));
});
