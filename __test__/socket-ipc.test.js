'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const ipc = require('connkit/socket-ipc');
const original = require('@crussell52/socket-ipc');
const { waitFor, until, tmpSocket, runNode } = require('./helpers');
const { lines, recordedClient } = require('./fixtures/socket-ipc');

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function startServer(lib, options = {}) {
  const server = new lib.Server({ socketFile: tmpSocket(), ...options });
  server.on('error', () => {});
  server.listen();
  await waitFor(server, 'listening');
  return server;
}

async function connectClient(lib, socketFile, options = {}) {
  const client = new lib.Client({ socketFile, retryDelay: 20, reconnectDelay: 20, ...options });
  client.on('error', () => {});
  client.connect();
  await waitFor(client, 'connect');
  return client;
}

async function closeAll(...emitters) {
  await Promise.all(
    emitters.map((e) => {
      const closed = waitFor(e, 'close');
      e.close();
      return closed;
    }),
  );
}

const PAYLOADS = [
  ['plain', 'hello'],
  ['ünïcødé ✓ topic', { emoji: '😀', text: 'žluťoučký kůň', nul: 'a\u0000b' }],
  ['nested', { a: [1, 2, { b: [null, true, 3.5] }], c: { d: { e: { f: 'deep' } } } }],
  ['null', null],
  ['big', 'x'.repeat(1024 * 1024)],
];

for (const [serverLib, clientLib, name] of [
  [ipc, original, 'a real client against a connkit server'],
  [original, ipc, 'a connkit client against a real server'],
  [ipc, ipc, 'connkit on both sides'],
]) {
  test(`interop: ${name}, both directions, unicode, nested, 1 MB`, async () => {
    const server = await startServer(serverLib);
    const fromClient = [];
    let clientId;
    server.on('connection', (id) => (clientId = id));
    server.on('message', (message, topic, id) => {
      fromClient.push([topic, message]);
      server.send(topic, message, id); // echo back
    });
    const client = await connectClient(clientLib, server._socketFile);
    const fromServer = [];
    client.on('message', (message, topic) => fromServer.push([topic, message]));
    for (const [topic, message] of PAYLOADS) client.send(topic, message);
    await until(() => fromServer.length === PAYLOADS.length, 10000, 'echoes');
    assert.deepEqual(fromClient, PAYLOADS);
    assert.deepEqual(fromServer, PAYLOADS);
    assert.match(clientId, UUID_V4);
    await closeAll(client);
    await closeAll(server);
  });
}

test('the wire: JSON of {topic, message} then two NUL bytes, both ways', async () => {
  const socketFile = tmpSocket();
  let received = Buffer.alloc(0);
  const raw = net.createServer((s) => {
    s.on('data', (d) => (received = Buffer.concat([received, d])));
    s.write('{"topic":"from-raw","message":{"x":[1,"ü"]}}\0\0');
  });
  await new Promise((r) => raw.listen(socketFile, r));
  const client = await connectClient(ipc, socketFile);
  const [message, topic] = await waitFor(client, 'message');
  assert.deepEqual([topic, message], ['from-raw', { x: [1, 'ü'] }]);
  client.send('t', { a: 'ü' });
  client.send('', 42);
  const want = Buffer.from('{"topic":"t","message":{"a":"ü"}}\0\0{"topic":"none","message":42}\0\0');
  await until(() => received.length >= want.length, 5000, 'bytes');
  assert.deepEqual(received, want);
  await closeAll(client);
  raw.close();
});

test('server events, client ids, send and broadcast', async () => {
  const server = await startServer(ipc);
  const ids = [];
  server.on('connection', (id, socket) => {
    assert.equal(typeof socket.write, 'function');
    ids.push(id);
  });
  const topical = [];
  server.on('message.ping', (message, clientId) => topical.push([message, clientId]));
  const a = await connectClient(ipc, server._socketFile);
  const b = await connectClient(ipc, server._socketFile);
  await until(() => ids.length === 2, 5000, 'connections');
  a.send('ping', 'from a');
  await until(() => topical.length === 1, 5000, 'message.ping');
  assert.deepEqual(topical[0], ['from a', ids[0]]);
  const heard = [];
  for (const [name, c] of [['a', a], ['b', b]]) c.on('message.news', (m) => heard.push([name, m]));
  server.broadcast('news', { n: 1 });
  server.send('news', 'only b', ids[1]);
  await until(() => heard.length === 3, 5000, 'broadcast');
  const byJson = (x) => x.map((v) => JSON.stringify(v)).sort();
  assert.deepEqual(byJson(heard), byJson([['a', { n: 1 }], ['b', 'only b'], ['b', { n: 1 }]]));
  await closeAll(a, b);
  await closeAll(server);
});

test('error classes are exported, thrown as documented, with their fields', async () => {
  for (const name of ['MessageError', 'EncodeError', 'DecodeError', 'SendError', 'SendAfterCloseError', 'NoServerError', 'BadClientError']) {
    assert.equal(typeof ipc[name], 'function', name);
    assert.ok(new ipc[name]('x', {}) instanceof Error);
  }
  assert.ok(new ipc.BadClientError('x') instanceof ipc.SendError);
  assert.ok(new ipc.SendError('x') instanceof ipc.MessageError);

  const server = await startServer(ipc);
  const [err] = await new Promise((resolve) => {
    server.once('error', (...args) => resolve(args));
    server.send('t', 'm', 'no-such-client');
  });
  assert.ok(err instanceof ipc.BadClientError);
  assert.equal(err.clientId, 'no-such-client');
  assert.equal(err.sentTopic, 't');
  assert.equal(err.sentMessage, 'm');

  const circular = {};
  circular.self = circular;
  const encodeErr = await new Promise((resolve) => {
    server.once('error', resolve);
    server.broadcast('t', circular);
  });
  assert.ok(encodeErr instanceof ipc.EncodeError);
  assert.equal(encodeErr.sentMessage, circular);

  const client = new ipc.Client({ socketFile: server._socketFile });
  const noServer = await new Promise((resolve) => {
    client.once('error', resolve);
    client.send('t', 1);
  });
  assert.ok(noServer instanceof ipc.NoServerError);

  await closeAll(server);
  const afterClose = await new Promise((resolve) => {
    server.once('error', resolve);
    server.broadcast('t', 1);
  });
  assert.ok(afterClose instanceof ipc.SendAfterCloseError);
  client.close();
  const clientAfterClose = await new Promise((resolve) => {
    client.once('error', resolve);
    client.send('t', 1);
  });
  assert.ok(clientAfterClose instanceof ipc.SendAfterCloseError);
});

test('garbage from one client: DecodeError on the server, that socket dropped, others carry on', async () => {
  const server = await startServer(ipc);
  const errors = [];
  server.on('error', (e) => errors.push(e));
  const ids = [];
  server.on('connection', (id) => ids.push(id));
  const messages = [];
  server.on('message', (m) => messages.push(m));
  const good = await connectClient(ipc, server._socketFile);
  const bad = net.connect(server._socketFile);
  bad.resume();
  bad.write('{"topic":"ok","message":"complete before the garbage"}\0\0{not json at all\0\0');
  await waitFor(bad, 'close');
  await until(() => errors.length === 1, 5000, 'decode error');
  assert.ok(errors[0] instanceof ipc.DecodeError);
  assert.equal(errors[0].rawData, '{not json at all');
  assert.equal(errors[0].clientId, ids[1]);
  assert.deepEqual(messages, ['complete before the garbage']);
  good.send('still', 'working');
  await until(() => messages.length === 2, 5000, 'good message');
  await closeAll(good);
  await closeAll(server);
});

test('a frame over the size limit is an error for that socket only', async () => {
  const server = await startServer(ipc, { maxFrameSize: 1024 });
  const errors = [];
  server.on('error', (e) => errors.push(e));
  const got = [];
  server.on('message', (m) => got.push(m));
  const good = await connectClient(ipc, server._socketFile);
  const big = await connectClient(ipc, server._socketFile);
  big.send('big', 'y'.repeat(4096));
  await until(() => errors.length === 1, 5000, 'oversize error');
  assert.equal(errors[0].code, 'ERR_FRAME_TOO_LARGE');
  good.send('small', 'fine');
  await until(() => got.includes('fine'), 5000, 'small message');
  await closeAll(good, big);
  await closeAll(server);
});

test('a client that dies mid-message loses nothing that was complete', async () => {
  const server = await startServer(ipc);
  const got = [];
  server.on('message', (m) => got.push(m));
  const raw = net.connect(server._socketFile);
  raw.write('{"topic":"a","message":1}\0\0{"topic":"a","message":2}\0\0{"topic":"a","mess');
  await until(() => got.length === 2, 5000, 'complete messages');
  raw.destroy();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(got, [1, 2]);
  await closeAll(server);
});

test('server restart: disconnect, then connect + reconnect; a 10,000 message burst arrives in order', async () => {
  const socketFile = tmpSocket();
  let server = await startServer(ipc, { socketFile });
  const client = await connectClient(ipc, socketFile);
  const events = [];
  for (const e of ['connect', 'reconnect', 'disconnect']) client.on(e, () => events.push(e));
  const disconnected = waitFor(client, 'disconnect');
  await closeAll(server);
  await disconnected;
  server = await startServer(ipc, { socketFile });
  const got = [];
  server.on('message', (m) => got.push(m));
  await waitFor(client, 'reconnect');
  assert.deepEqual(events, ['disconnect', 'connect', 'reconnect']);
  for (let i = 0; i < 10000; i++) client.send('burst', i);
  await until(() => got.length === 10000, 10000, '10,000 messages');
  assert.ok(got.every((m, i) => m === i), 'in order');
  await closeAll(client);
  await closeAll(server);
});

test('close() right as clients connect still closes (late connections are ended)', async () => {
  for (let i = 0; i < 10; i++) {
    const server = await startServer(ipc);
    const clients = [...Array(5)].map(() => {
      const client = new ipc.Client({ socketFile: server._socketFile, retryDelay: 20, reconnectDelay: 20 });
      client.on('error', () => {});
      client.connect();
      return client;
    });
    const closed = waitFor(server, 'close', 3000);
    // A client's connect can be dispatched before the server announces the connection.
    clients[0].once('connect', () => server.close());
    await closed;
    await closeAll(...clients);
  }
});

test('retryDelay and reconnectDelay: documented defaults and {min, max}', async () => {
  const socketFile = tmpSocket();
  const client = new ipc.Client({ socketFile, retryDelay: { min: 30, max: 60 } });
  const times = [];
  client.on('connectError', (err) => {
    times.push(Date.now());
    assert.equal(err.code, 'ENOENT');
    if (times.length === 4) client.close(); // documented way to give up
  });
  client.connect();
  await waitFor(client, 'close', 5000);
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  assert.ok(gaps.every((g) => g >= 25 && g < 300), `gaps ${gaps}`);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(times.length, 4, 'close() inside connectError stops the retries');

  // reconnectDelay defaults to 100 ms (the document), not the code's 1000.
  const server = await startServer(ipc, { socketFile });
  const c2 = new ipc.Client({ socketFile });
  c2.on('error', () => {});
  c2.connect();
  await waitFor(c2, 'connect');
  const disconnected = waitFor(c2, 'disconnect');
  await closeAll(server);
  await disconnected;
  const t0 = Date.now();
  const [err] = await waitFor(c2, 'connectError', 3000);
  const waited = Date.now() - t0;
  assert.ok(waited >= 80 && waited < 600, `reconnected after ${waited} ms`);
  assert.ok(err instanceof Error);
  await closeAll(c2);
});

test('listen() and connect() twice emit an error; close() before connect() still closes', async () => {
  const server = await startServer(ipc);
  const err = await new Promise((resolve) => {
    server.once('error', resolve);
    server.listen();
  });
  assert.match(err.message, /listen twice/);
  const client = await connectClient(ipc, server._socketFile);
  const err2 = await new Promise((resolve) => {
    client.once('error', resolve);
    client.connect();
  });
  assert.match(err2.message, /already called/);
  await closeAll(client);
  const idle = new ipc.Client({ socketFile: server._socketFile });
  const both = Promise.all([waitFor(idle, 'closed'), waitFor(idle, 'close')]);
  idle.close();
  await both;
  await closeAll(server);
  assert.throws(() => new ipc.Server({ socketFile: '8080' }), /Looks like a port/);
});

test('a stale socket file is reclaimed on listen', async () => {
  const socketFile = tmpSocket();
  const r = await runNode(
    `require('net').createServer().listen(${JSON.stringify(socketFile)}, () => process.kill(process.pid, 'SIGKILL'))`,
  );
  assert.equal(r.signal, 'SIGKILL');
  assert.ok(fs.existsSync(socketFile));
  const server = await startServer(ipc, { socketFile });
  const client = await connectClient(ipc, socketFile);
  await closeAll(client);
  await closeAll(server);
});

test('custom transcoder: framing in JS, socketEncoding, and null skips a message', async () => {
  const transcoder = lines();
  const server = await startServer(ipc, { transcoder });
  const got = [];
  server.on('message', (m, t, id) => {
    got.push([t, m]);
    server.send(t, m, id);
  });
  const client = await connectClient(ipc, server._socketFile, { transcoder });
  const echoed = [];
  client.on('message', (m, t) => echoed.push([t, m]));
  client.send('skip', 'never sent');
  client.send('a', { b: 'ü' });
  await until(() => echoed.length === 1, 5000, 'echo');
  assert.deepEqual(got, [['a', { b: 'ü' }]]);
  assert.deepEqual(echoed, [['a', { b: 'ü' }]]);
  await closeAll(client);
  await closeAll(server);
});

test('typings compile for a typed sample', () => {
  const { spawnSync } = require('node:child_process');
  const path = require('node:path');
  const tsc = path.join(__dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, 'types', 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('valid JSON that is no message (or whose topic is no string) is a DecodeError with a code, and only that socket goes', async () => {
  const server = await startServer(ipc);
  const errors = [];
  server.on('error', (e) => errors.push(e));
  const messages = [];
  server.on('message', (m) => messages.push(m));
  const good = await connectClient(ipc, server._socketFile);
  for (const raw of ['null', '3', '"text"', '[1]', '{"topic":{"toString":1},"message":1}']) {
    const bad = net.connect(server._socketFile);
    bad.resume();
    bad.write(`${raw}\0\0`);
    await waitFor(bad, 'close');
  }
  await until(() => errors.length === 5, 5000, 'five decode errors');
  for (const e of errors) {
    assert.ok(e instanceof ipc.DecodeError, `${e.name}: ${e.message}`);
    assert.equal(e.code, 'ERR_SOCKET_IPC_DECODE');
  }
  assert.deepEqual(errors.map((e) => e.rawData), ['null', '3', '"text"', '[1]', '{"topic":{"toString":1},"message":1}']);
  good.send('still', 'working');
  await until(() => messages.length === 1, 5000, 'good message');
  await closeAll(good);
  await closeAll(server);
});

/** A connected client that records its errors, lifecycle events and messages. */
test('a client given undecodable input reports it and keeps receiving on the same connection', async () => {
  const socketFile = tmpSocket();
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.write('{not json\0\0null\0\0{"topic":"t","message":"after"}\0\0');
  });
  await new Promise((r) => server.listen(socketFile, r));
  const { client, errors, events, got } = recordedClient(ipc, socketFile);
  await until(() => got.length === 1, 5000, 'the message after the bad ones');
  assert.deepEqual(got, [['t', 'after']]);
  assert.deepEqual(errors.map((e) => e.code), ['ERR_SOCKET_IPC_DECODE', 'ERR_SOCKET_IPC_DECODE']);
  assert.deepEqual(events, ['connect']);
  client.close();
  await waitFor(client, 'close');
  await new Promise((r) => server.close(r));
});

test('a client whose custom decoder fails drops that socket and reconnects; close only on close()', async () => {
  const socketFile = tmpSocket();
  let sessions = 0;
  const server = net.createServer((s) => {
    s.on('error', () => {});
    sessions++;
    s.write(sessions === 1 ? 'bad\n' : 't|"good"\n');
  });
  await new Promise((r) => server.listen(socketFile, r));
  const { client, errors, events, got } = recordedClient(ipc, socketFile, { transcoder: lines() });
  await until(() => got.length === 1, 5000, 'a message on the next socket');
  assert.deepEqual(got, [['t', 'good']]);
  assert.equal(errors[0].code, 'ERR_SOCKET_IPC_DECODE');
  assert.deepEqual(events, ['connect', 'disconnect', 'connect', 'reconnect']);
  client.close();
  await waitFor(client, 'close');
  await new Promise((r) => server.close(r));
});
