'use strict';

// socket-ipc decode errors, against the real @crussell52/socket-ipc as the peer:
// a client keeps working after undecodable input (the same connection with the
// default transcoder; a new socket, as after any lost one, when a custom decoder
// fails) and emits 'close' only after close(); a server reports a DecodeError with
// the client's id, drops that socket only, and keeps serving.
//
// The real package writes garbage through a custom encoder of its own (its JSON
// transcoder cannot), or straight on the socket its 'connection' event hands out;
// raw sockets cover what neither can (a message split across writes).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const ipc = require('connkit/socket-ipc');
const original = require('@crussell52/socket-ipc');
const jsonTranscoder = require('@crussell52/socket-ipc/src/lib/transcoder/jsonTranscoder');
const { waitFor, until, tmpSocket } = require('./helpers');
const { lines, recordedClient } = require('./fixtures/socket-ipc');

const TIMEOUT = { timeout: 20000 };
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Default wire, but topic 'raw' puts its message on the wire as it is: garbage. */
const garbageJson = {
  socketEncoding: 'utf8',
  createEncoder: () => (w, cb) => cb(null, w.topic === 'raw' ? `${w.message}\0\0` : `${JSON.stringify(w)}\0\0`),
  createDecoder: jsonTranscoder.createDecoder,
};

/** Runs `fn` at the test's end, last registered first, each bounded. */
function cleanup(t) {
  const steps = [];
  t.after(async () => {
    for (const step of steps.reverse()) await step().catch(() => {});
  });
  return (step) => steps.push(step);
}

/** Closes an ipc Server or Client (either package) and waits, bounded, for 'close'. */
function closeIpc(e, ms = 3000) {
  const closed = waitFor(e, 'close', ms);
  e.close();
  return closed;
}

async function realServer(atEnd, options = {}) {
  const server = new original.Server({ socketFile: tmpSocket(), ...options });
  const record = { server, errors: [], ids: [], sockets: [] };
  server.on('error', (e) => record.errors.push(e));
  server.on('connection', (id, socket) => {
    record.ids.push(id);
    record.sockets.push(socket);
  });
  server.listen();
  await waitFor(server, 'listening');
  atEnd(async () => {
    for (const s of record.sockets) s.destroy();
    await closeIpc(server);
  });
  return record;
}

async function rawServer(atEnd, onSocket, options = {}) {
  const socketFile = tmpSocket();
  const sockets = [];
  const server = net.createServer(options, (s) => {
    sockets.push(s);
    s.on('error', () => {});
    onSocket(s, sockets.length);
  });
  await new Promise((r) => server.listen(socketFile, r));
  atEnd(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return socketFile;
}

/** A recorded client, closed at the test's end (the real client emits 'close' only
 * when it holds a socket: bounded either way). */
function closedAtEnd(atEnd, record) {
  atEnd(() => (record.events.includes('close') ? Promise.resolve() : closeIpc(record.client, 1000)));
  return record;
}

const connkitClient = (atEnd, socketFile, options) => closedAtEnd(atEnd, recordedClient(ipc, socketFile, options));

async function connkitServer(atEnd, options = {}) {
  const server = new ipc.Server({ socketFile: tmpSocket(), ...options });
  const record = { server, errors: [], ids: [], got: [], events: [] };
  server.on('error', (e) => record.errors.push(e));
  server.on('connection', (id) => record.ids.push(id));
  server.on('message', (m, t, id) => record.got.push([t, m, id]));
  server.on('close', () => record.events.push('close'));
  server.listen();
  await waitFor(server, 'listening');
  atEnd(() => closeIpc(server));
  return record;
}

/** A real package client recording the same, once connected. */
async function realClient(atEnd, socketFile, options = {}) {
  const record = closedAtEnd(atEnd, recordedClient(original, socketFile, options));
  await waitFor(record.client, 'connect');
  return record;
}

function assertDecodeError(err, rawData, clientId) {
  assert.ok(err instanceof ipc.DecodeError, `${err?.name}: ${err?.message}`);
  assert.ok(err instanceof ipc.MessageError);
  assert.equal(err.name, 'DecodeError');
  assert.equal(err.code, 'ERR_SOCKET_IPC_DECODE');
  assert.equal(err.rawData, rawData);
  assert.equal(err.clientId, clientId);
}

// ---- client side --------------------------------------------------------------

test('client, default transcoder: garbage from a real server is a DecodeError each, and the same connection goes on', TIMEOUT, async (t) => {
  const atEnd = cleanup(t);
  const peer = await realServer(atEnd, { transcoder: garbageJson });
  const bad = ['{not json', 'null', '[1]', '"text"', '{"topic":5,"message":1}'];
  peer.server.on('connection', (id) => {
    for (const raw of bad) peer.server.send('raw', raw, id);
    peer.server.send('good', { n: 1 }, id);
  });
  const heard = [];
  peer.server.on('message', (m, topic) => heard.push([topic, m]));
  const { client, errors, events, got } = connkitClient(atEnd, peer.server._socketFile);
  await until(() => got.length === 1, 5000, 'the message after the garbage');
  assert.deepEqual(got, [['good', { n: 1 }]]);
  assert.equal(errors.length, bad.length);
  errors.forEach((e, i) => assertDecodeError(e, bad[i], undefined));
  assert.match(errors[0].message, /^Failed to decode, caused by: /);

  // Later messages come on the same connection, both ways.
  peer.server.send('raw', 'more garbage', peer.ids[0]);
  peer.server.send('good', { n: 2 }, peer.ids[0]);
  client.send('back', 'from connkit');
  await until(() => got.length === 2 && heard.length === 1, 5000, 'later messages');
  assert.deepEqual(got[1], ['good', { n: 2 }]);
  assert.deepEqual(heard, [['back', 'from connkit']]);
  assertDecodeError(errors.at(-1), 'more garbage', undefined);
  assert.equal(peer.ids.length, 1, 'one connection: no reconnect');
  assert.deepEqual(events, ['connect'], "no 'disconnect', no 'close'");

  await closeIpc(client);
  assert.deepEqual(events, ['connect', 'close']);
});

test('client, default transcoder: a bad message split across writes, then a lost socket: reconnects, never closes', TIMEOUT, async (t) => {
  const atEnd = cleanup(t);
  const socketFile = await rawServer(atEnd, (s, n) => {
    if (n > 1) {
      s.write(`{"topic":"next","message":${n}}\0\0`);
      return;
    }
    const pieces = ['{"topic":"a","mess', 'age":1}\0\0{bro', 'ken\0', '\0x\0y\0\0{"topic":"b","message":2}\0', '\0'];
    let i = 0;
    const timer = setInterval(() => {
      if (i < pieces.length) s.write(pieces[i++]);
      else {
        clearInterval(timer);
        setTimeout(() => s.destroy(), 30); // then the server loses the socket
      }
    }, 15);
    s.on('close', () => clearInterval(timer));
  });
  const { errors, events, got } = connkitClient(atEnd, socketFile);
  await until(() => events.includes('reconnect') && got.length === 3, 5000, 'a reconnect and its message');
  assert.deepEqual(got, [['a', 1], ['b', 2], ['next', 2]]);
  const decodeErrors = errors.filter((e) => e instanceof ipc.DecodeError);
  assert.deepEqual(decodeErrors.map((e) => e.rawData), ['{broken', 'x\0y']);
  decodeErrors.forEach((e) => assertDecodeError(e, e.rawData, undefined));
  assert.deepEqual(events, ['connect', 'disconnect', 'connect', 'reconnect']);
});

for (const throws of [false, true]) {
  const how = throws ? 'throws' : 'calls back with an error';
  test(`client, custom transcoder whose decoder ${how}: DecodeError, that socket dropped, reconnect to a real server`, TIMEOUT, async (t) => {
    const atEnd = cleanup(t);
    const transcoder = lines({ throws });
    const peer = await realServer(atEnd, { transcoder });
    const badLine = throws ? 't|{bad json' : 'no separator';
    peer.server.on('connection', (id) => {
      if (peer.ids.length === 1) {
        peer.server.send('raw', badLine, id);
        // Not to be delivered: this socket's stream is unreadable after the bad line.
        setTimeout(() => peer.server.send('late', 'from the dropped socket', id), 5);
      } else peer.server.send('good', `session ${peer.ids.length}`, id);
    });
    const { client, errors, events, got } = connkitClient(atEnd, peer.server._socketFile, { transcoder });
    await until(() => got.length === 1, 5000, 'a message on the next socket');
    assert.deepEqual(got, [['good', 'session 2']]);
    assert.equal(errors.length, 1, errors.map((e) => e.message).join('; '));
    if (throws) {
      // What the decoder threw becomes a DecodeError with the chunk and the cause.
      assertDecodeError(errors[0], `${badLine}\n`, undefined);
      assert.ok(errors[0].cause instanceof SyntaxError);
      assert.match(errors[0].message, /^Failed to decode, caused by: /);
    } else assertDecodeError(errors[0], badLine, undefined);
    assert.deepEqual(events, ['connect', 'disconnect', 'connect', 'reconnect']);
    assert.equal(peer.ids.length, 2);

    // The new socket works both ways, and stays up.
    const heard = [];
    peer.server.on('message', (m, topic) => heard.push([topic, m]));
    client.send('up', 'from connkit');
    peer.server.send('good', 'again', peer.ids[1]);
    await until(() => got.length === 2 && heard.length === 1, 5000, 'messages on the new socket');
    await new Promise((r) => setTimeout(r, 50)); // nothing late from the old socket
    assert.deepEqual(got, [['good', 'session 2'], ['good', 'again']]);
    assert.deepEqual(heard, [['up', 'from connkit']]);
    assert.equal(peer.ids.length, 2);

    await closeIpc(client);
    assert.deepEqual(events, ['connect', 'disconnect', 'connect', 'reconnect', 'close']);
  });
}

test('client, custom transcoder: each socket gets a fresh decoder (half a message of a lost socket is forgotten)', TIMEOUT, async (t) => {
  const atEnd = cleanup(t);
  const transcoder = lines();
  const peer = await realServer(atEnd, { transcoder });
  peer.server.on('connection', (id, socket) => {
    if (peer.ids.length === 1) {
      socket.write('t|"half a mess'); // no newline: the decoder buffers it
      setTimeout(() => socket.destroy(), 50);
    } else peer.server.send('t', 'whole', id);
  });
  const { errors, events, got } = connkitClient(atEnd, peer.server._socketFile, { transcoder });
  await until(() => got.length === 1, 5000, 'the message on the next socket');
  assert.deepEqual(got, [['t', 'whole']]);
  assert.deepEqual(errors, []);
  assert.deepEqual(events, ['connect', 'disconnect', 'connect', 'reconnect']);
});

test('client, custom transcoder: a decoder failure after close() does not reconnect; close once', TIMEOUT, async (t) => {
  const atEnd = cleanup(t);
  let sessions = 0;
  // Answers the client's end with garbage, then ends too.
  const socketFile = await rawServer(
    atEnd,
    (s) => {
      sessions++;
      s.on('end', () => {
        s.write('no separator\n');
        setTimeout(() => s.end(), 50);
      });
    },
    { allowHalfOpen: true },
  );
  const { client, errors, events } = connkitClient(atEnd, socketFile, { transcoder: lines() });
  await waitFor(client, 'connect');
  await closeIpc(client);
  assert.equal(errors.length, 1);
  assertDecodeError(errors[0], 'no separator', undefined);
  await new Promise((r) => setTimeout(r, 100)); // a reconnect would have dialed by now
  assert.equal(sessions, 1);
  assert.deepEqual(events, ['connect', 'close']);
});

test('client, custom transcoder: a message listener that throws is reported; the decoder is sound, the connection kept', TIMEOUT, async (t) => {
  const atEnd = cleanup(t);
  const transcoder = lines();
  const peer = await realServer(atEnd, { transcoder });
  peer.server.on('connection', (id, socket) => socket.write('boom|1\nafter|2\n')); // one chunk
  const record = connkitClient(atEnd, peer.server._socketFile, { transcoder });
  const thrown = new Error('listener threw');
  record.client.on('message.boom', () => {
    throw thrown;
  });
  await until(() => record.got.length === 2, 5000, 'both messages');
  assert.deepEqual(record.got, [['boom', 1], ['after', 2]]);
  assert.deepEqual(record.errors, [thrown]);
  assert.deepEqual(record.events, ['connect']);
  assert.equal(peer.ids.length, 1);
});

// ---- server side --------------------------------------------------------------

test('server, default transcoder: garbage from a real client is a DecodeError with its id; that socket dropped, the client reconnects, others carry on', TIMEOUT, async (t) => {
  const atEnd = cleanup(t);
  const server = await connkitServer(atEnd);
  const good = await realClient(atEnd, server.server._socketFile);
  const bad = await realClient(atEnd, server.server._socketFile, { transcoder: garbageJson });
  await until(() => server.ids.length === 2, 5000, 'two connections');
  const [goodId, badId] = server.ids;
  assert.match(badId, UUID_V4);

  bad.client.send('ok', 'before the garbage');
  bad.client.send('raw', '{nope');
  bad.client.send('lost', 'after the garbage, on the dropped socket');
  await until(() => server.errors.length === 1, 5000, 'the decode error');
  assertDecodeError(server.errors[0], '{nope', badId);
  await until(() => bad.events.includes('reconnect'), 5000, 'the real client reconnecting');
  assert.deepEqual(bad.events, ['connect', 'disconnect', 'connect', 'reconnect']);
  await until(() => server.ids.length === 3, 5000, 'the new connection');
  const newId = server.ids[2];
  assert.notEqual(newId, badId);

  bad.client.send('again', 'on the new socket');
  good.client.send('good', 'never disturbed');
  await until(() => server.got.length === 3, 5000, 'messages');
  await new Promise((r) => setTimeout(r, 50)); // nothing else comes
  const byTopic = Object.fromEntries(server.got.map(([topic, m, id]) => [topic, [m, id]]));
  assert.deepEqual(byTopic, {
    ok: ['before the garbage', badId],
    again: ['on the new socket', newId],
    good: ['never disturbed', goodId],
  });
  assert.equal(server.errors.length, 1);
  assert.deepEqual(good.events, ['connect']);
  // The dropped client's id is gone; the new one answers.
  server.server.send('x', 1, badId);
  assert.ok(server.errors[1] instanceof ipc.BadClientError);
  server.server.send('x', 'to the new socket', newId);
  await until(() => bad.got.length === 1, 5000, 'a reply');
  assert.deepEqual(bad.got, [['x', 'to the new socket']]);
  assert.deepEqual(server.events, [], "no 'close' of the server");
});

test('server, default transcoder: garbage split across writes from a raw socket', TIMEOUT, async (t) => {
  const atEnd = cleanup(t);
  const server = await connkitServer(atEnd);
  const good = await realClient(atEnd, server.server._socketFile);
  const raw = net.connect(server.server._socketFile);
  raw.on('error', () => {});
  raw.resume();
  atEnd(async () => raw.destroy());
  await waitFor(raw, 'connect');
  const dropped = waitFor(raw, 'close');
  const pieces = ['{"topic":"a","mess', 'age":1}\0\0{bro', 'ken\0', '\0{"topic":"b","message":2}\0\0'];
  for (const p of pieces) {
    if (raw.destroyed) break;
    raw.write(p);
    await new Promise((r) => setTimeout(r, 15));
  }
  await dropped.catch(() => assert.fail('the raw socket was not dropped'));
  assert.equal(server.errors.length, 1);
  assertDecodeError(server.errors[0], '{broken', server.ids[1]);
  assert.deepEqual(server.got.map(([topic, m]) => [topic, m]), [['a', 1]]);
  good.client.send('still', 'working');
  await until(() => server.got.length === 2, 5000, 'the good client');
  assert.deepEqual(server.got[1], ['still', 'working', server.ids[0]]);
});

for (const throws of [false, true]) {
  const how = throws ? 'throws' : 'calls back with an error';
  test(`server, custom transcoder whose decoder ${how}: DecodeError with the client's id, that socket dropped, real clients`, TIMEOUT, async (t) => {
    const atEnd = cleanup(t);
    const transcoder = lines({ throws });
    const server = await connkitServer(atEnd, { transcoder });
    const good = await realClient(atEnd, server.server._socketFile, { transcoder });
    const bad = await realClient(atEnd, server.server._socketFile, { transcoder });
    await until(() => server.ids.length === 2, 5000, 'two connections');
    const [goodId, badId] = server.ids;
    const badLine = throws ? 't|{bad json' : 'no separator';
    bad.client.send('ok', 'before');
    await until(() => server.got.length === 1, 5000, 'the message before');
    bad.client.send('raw', badLine);
    await until(() => server.errors.length === 1, 5000, 'the decode error');
    if (throws) {
      assertDecodeError(server.errors[0], `${badLine}\n`, badId);
      assert.ok(server.errors[0].cause instanceof SyntaxError);
    } else assertDecodeError(server.errors[0], badLine, badId); // the clientId filled in
    await until(() => bad.events.includes('reconnect'), 5000, 'the real client reconnecting');
    await until(() => server.ids.length === 3, 5000, 'the new connection');
    bad.client.send('again', 'new socket');
    good.client.send('good', 'undisturbed');
    await until(() => server.got.length === 3, 5000, 'messages');
    const byTopic = Object.fromEntries(server.got.map(([topic, m, id]) => [topic, [m, id]]));
    assert.deepEqual(byTopic, { ok: ['before', badId], again: ['new socket', server.ids[2]], good: ['undisturbed', goodId] });
    assert.equal(server.errors.length, 1);
    assert.deepEqual(good.events, ['connect']);
    assert.deepEqual(server.events, []);
  });
}
