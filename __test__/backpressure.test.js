'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const ck = require('..');
const { waitFor, listening, until } = require('./helpers');

test('write() returns false above the high-water mark and drain follows', async () => {
  let peer;
  const server = net.createServer((s) => {
    peer = s;
    s.pause(); // read nothing until told
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const conn = ck.createConnection({ port: server.address().port, host: '127.0.0.1' });
  await waitFor(conn, 'connect');
  assert.equal(conn.write(Buffer.alloc(1000)), true);
  const chunk = Buffer.alloc(1 << 20, 1);
  let writes = 1;
  let ok = true;
  // Fill the kernel buffers and the core's queue until the core pushes back.
  while (ok && writes < 200) {
    ok = conn.write(chunk);
    writes++;
    if (!ok) assert.ok(conn.writableLength >= conn.writableHighWaterMark);
    else await new Promise((r) => setImmediate(r));
  }
  assert.equal(ok, false, 'write() eventually returns false');
  const drained = waitFor(conn, 'drain', 10000);
  let received = 0;
  peer.on('data', (d) => (received += d.length));
  peer.resume();
  await drained;
  const total = 1000 + (writes - 1) * chunk.length;
  await until(() => received === total, 10000, 'all bytes at the peer');
  conn.destroy();
  peer.destroy();
  server.close();
});

test('write callbacks run in order once flushed; end() callback after them', async () => {
  const server = net.createServer((s) => s.resume());
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const conn = ck.createConnection({ port: server.address().port, host: '127.0.0.1' });
  const order = [];
  conn.write('a', () => order.push('a'));
  conn.write(Buffer.from('b'), (err) => order.push(err ? 'error' : 'b'));
  conn.write('c', 'utf8', () => order.push('c'));
  const finished = new Promise((r) => conn.end(() => r(order.push('end'))));
  await finished;
  assert.deepEqual(order, ['a', 'b', 'c', 'end']);
  await waitFor(conn, 'close');
  server.close();
});

test('the reader stops when JS pauses, so the sender feels it; nothing is lost', async () => {
  let received = 0;
  const server = ck.createServer((conn) => {
    conn.pause();
    conn.on('data', (d) => (received += d.length));
    server.paused = conn;
  });
  const { port } = await listening(server, 0, '127.0.0.1');
  const sender = net.connect(port, '127.0.0.1');
  await waitFor(sender, 'connect');
  const chunk = Buffer.alloc(1 << 20, 9);
  const total = 64 * chunk.length;
  for (let i = 0; i < 64; i++) sender.write(chunk);
  await until(() => server.paused, 5000, 'connection');
  await new Promise((r) => setTimeout(r, 300));
  // The core read at most what fits its buffers; the rest waits in the sender.
  const readWhilePaused = server.paused.stats().bytesIn;
  assert.ok(readWhilePaused < total / 2, `read ${readWhilePaused} of ${total} while paused`);
  assert.ok(sender.writableLength > 0, 'the sender is holding data');
  assert.equal(received, 0, 'no data event while paused');
  server.paused.resume();
  await until(() => received === total, 10000, 'every byte after resume');
  sender.destroy();
  server.paused.destroy();
  server.close();
});

test('offline queue: a refused write fails its own callback; the others wait for their bytes to go out', async () => {
  const probe = net.createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const port = probe.address().port;
  await new Promise((r) => probe.close(r));
  const client = new ck.Client({ host: '127.0.0.1', port, offlineQueueBytes: 3000, reconnect: { initialDelay: 20, maxDelay: 50, jitter: 'none' } });
  const errors = [];
  client.on('error', (e) => errors.push(e.code));
  const results = [];
  for (let i = 0; i < 6; i++) client.write(Buffer.alloc(1000, i), (e) => (results[i] = e ? e.code : 'ok'));
  await until(() => errors.length === 3, 3000, 'three refusals');
  await new Promise((r) => setTimeout(r, 50));
  // Refused: the 4th to 6th. Accepted ones are not done before they are sent.
  assert.deepEqual(Array.from(results), [undefined, undefined, undefined, 'ERR_OFFLINE_QUEUE_FULL', 'ERR_OFFLINE_QUEUE_FULL', 'ERR_OFFLINE_QUEUE_FULL']);
  let received = Buffer.alloc(0);
  const server = net.createServer((s) => s.on('data', (d) => (received = Buffer.concat([received, d]))));
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  await until(() => results.filter((r) => r === 'ok').length === 3 && received.length === 3000, 5000, 'the accepted writes');
  assert.deepEqual(received, Buffer.concat([0, 1, 2].map((i) => Buffer.alloc(1000, i))));
  client.destroy();
  await new Promise((r) => server.close(r));
});
