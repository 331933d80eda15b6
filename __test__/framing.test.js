'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const ck = require('..');
const { waitFor, listening, until } = require('./helpers');

/** A connkit server that records frames per connection and the errors it sees. */
async function frameServer(options) {
  const seen = { frames: [], errors: [], conns: [] };
  const server = ck.createServer(options, (conn) => {
    seen.conns.push(conn);
    conn.on('frame', (f) => seen.frames.push(Buffer.from(f)));
    conn.on('error', (e) => seen.errors.push(e));
  });
  const { port } = await listening(server, 0, '127.0.0.1');
  return { server, port, seen };
}

test('length framing: frames split at any boundary by a raw Node peer arrive whole', async () => {
  const { server, port, seen } = await frameServer({ framing: 'length' });
  const frames = ['a', '', 'ümlaut ✓', 'x'.repeat(70000)].map((s) => Buffer.from(s));
  const wire = Buffer.concat(frames.flatMap((f) => [Buffer.from([0, 0, 0, 0].map((_, i) => (f.length >>> (24 - 8 * i)) & 255)), f]));
  const socket = net.connect(port, '127.0.0.1');
  // Dribble the wire out a few bytes at a time, so frames straddle many reads.
  for (let at = 0; at < wire.length; at += 7) {
    socket.write(wire.subarray(at, at + 7));
    if (at % 700 === 0) await new Promise((r) => setImmediate(r));
  }
  await until(() => seen.frames.length === frames.length, 5000, 'all frames');
  assert.deepEqual(seen.frames, frames);
  socket.destroy();
  server.close();
});

test('length framing: connkit to connkit, thousands of frames in order', async () => {
  const { server, port, seen } = await frameServer({ framing: 'length' });
  const conn = ck.createConnection({ port, host: '127.0.0.1', framing: 'length' });
  await waitFor(conn, 'connect');
  for (let i = 0; i < 20000; i++) conn.write(`frame ${i}`);
  await until(() => seen.frames.length === 20000, 10000, '20000 frames');
  seen.frames.forEach((f, i) => assert.equal(f.toString(), `frame ${i}`));
  assert.equal(conn.stats().framesOut, 20000);
  conn.destroy();
  server.close();
});

test('delimited framing: any delimiter, including \\0\\0 with lone NULs inside frames', async () => {
  const { server, port, seen } = await frameServer({ framing: { delimiter: '\0\0' } });
  const conn = ck.createConnection({ port, host: '127.0.0.1', framing: { delimiter: Buffer.from([0, 0]) } });
  const received = [];
  await waitFor(conn, 'connect');
  conn.write('one\0two');
  conn.write('{"topic":"t","message":"ü"}');
  await until(() => seen.frames.length === 2, 5000, 'frames');
  assert.deepEqual(seen.frames.map(String), ['one\0two', '{"topic":"t","message":"ü"}']);
  // Server to client: the server's connections frame the same way.
  conn.on('frame', (f) => received.push(f.toString()));
  seen.conns[0].write('back');
  await until(() => received.length === 1, 5000, 'reply');
  assert.deepEqual(received, ['back']);
  conn.destroy();
  server.close();
});

test('oversize frame: ERR_FRAME_TOO_LARGE on that connection only, others carry on', async () => {
  const { server, port, seen } = await frameServer({ framing: { delimiter: '\n' }, maxFrameSize: 1024 });
  const good = ck.createConnection({ port, host: '127.0.0.1', framing: { delimiter: '\n' } });
  await waitFor(good, 'connect');
  const bad = net.connect(port, '127.0.0.1');
  bad.resume();
  // Complete frames before the oversize one are delivered, then the connection fails.
  bad.write('ok before\n' + 'y'.repeat(5000));
  await waitFor(bad, 'close');
  await until(() => seen.errors.length === 1, 5000, 'error');
  assert.equal(seen.errors[0].code, 'ERR_FRAME_TOO_LARGE');
  assert.ok(seen.frames.some((f) => f.toString() === 'ok before'));
  good.write('still fine');
  await until(() => seen.frames.some((f) => f.toString() === 'still fine'), 5000, 'good frame');
  good.destroy();
  server.close();
});

test('length framing: a garbage header is an oversize frame, not an allocation', async () => {
  const { server, port, seen } = await frameServer({ framing: 'length', maxFrameSize: 1 << 20 });
  const bad = net.connect(port, '127.0.0.1');
  bad.resume();
  bad.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor(bad, 'close');
  await until(() => seen.errors.length === 1, 5000, 'error');
  assert.equal(seen.errors[0].code, 'ERR_FRAME_TOO_LARGE');
  server.close();
});

test('a peer that vanishes mid-frame loses nothing that was complete', async () => {
  const { server, port, seen } = await frameServer({ framing: 'length' });
  const socket = net.connect(port, '127.0.0.1');
  await waitFor(socket, 'connect');
  const frame = (s) => {
    const b = Buffer.from(s);
    const h = Buffer.alloc(4);
    h.writeUInt32BE(b.length);
    return Buffer.concat([h, b]);
  };
  socket.write(Buffer.concat([frame('first'), frame('second'), frame('third-cut').subarray(0, 7)]));
  await until(() => seen.frames.length === 2, 5000, 'complete frames');
  const closed = waitFor(seen.conns[0], 'close');
  socket.destroy();
  await closed;
  assert.deepEqual(seen.frames.map(String), ['first', 'second']);
  server.close();
});

test('writing an oversize frame is refused with an error, the connection stays up', async () => {
  const { server, port, seen } = await frameServer({ framing: 'length' });
  const conn = ck.createConnection({ port, host: '127.0.0.1', framing: 'length', maxFrameSize: 16 });
  await waitFor(conn, 'connect');
  const errored = waitFor(conn, 'error');
  conn.write('x'.repeat(17));
  const [err] = await errored;
  assert.equal(err.code, 'ERR_FRAME_TOO_LARGE');
  conn.write('fits');
  await until(() => seen.frames.length === 1, 5000, 'frame');
  assert.equal(seen.frames[0].toString(), 'fits');
  conn.destroy();
  server.close();
});

test('setEncoding on a framed connection: each frame arrives as a string', async () => {
  const server = ck.createServer({ framing: { delimiter: '\0' } }, (conn) => {
    conn.setEncoding('utf8');
    conn.on('frame', (f) => conn.write(`${typeof f}:${f}`));
  });
  const { port } = await listening(server, 0, '127.0.0.1');
  const conn = ck.createConnection({ port, host: '127.0.0.1', framing: { delimiter: '\0' } });
  const got = [];
  conn.on('frame', (f) => got.push(f.toString()));
  conn.write('ünï');
  await until(() => got.length === 1, 5000, 'reply');
  assert.deepEqual(got, ['string:ünï']);
  conn.destroy();
  server.close();
});

// Thrift messages built by hand (the thrift package is not a dependency here): a call
// `calc.add(1, "two", [3, 4])`, in the binary protocol (strict header) and the compact one.
function binaryCall(seqid) {
  const name = Buffer.from('add');
  const i32 = (n) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
  return Buffer.concat([
    i32(0x80010001 | 0), i32(name.length), name, i32(seqid),
    Buffer.from([8, 0, 1]), i32(1), // i32 field 1
    Buffer.from([11, 0, 2]), i32(3), Buffer.from('two'), // string field 2
    Buffer.from([15, 0, 3, 8]), i32(2), i32(3), i32(4), // list<i32> field 3
    Buffer.from([12, 0, 4, 2, 0, 1, 1, 0]), // struct field 4 { bool 1: true }
    Buffer.from([0]), // stop
  ]);
}

function compactCall(seqid) {
  return Buffer.from([
    0x82, 0x21, seqid, 3, ...Buffer.from('add'), // protocol id, call v1, seqid, name
    0x15, 2, // field 1 (delta 1), i32 zigzag 1
    0x18, 3, ...Buffer.from('two'), // field 2, binary
    0x19, 0x25, 6, 8, // field 3, list of 2 i32: 3, 4
    0x1c, 0x11, 0, // field 4, struct { bool true (field 1) }, stop
    0, // stop
  ]);
}

for (const [framing, make] of [
  ['thrift-binary', binaryCall],
  ['thrift-compact', compactCall],
]) {
  test(`${framing} framing: whole messages out of an unframed stream cut anywhere; garbage fails that connection`, async () => {
    const { server, port, seen } = await frameServer({ framing });
    const messages = [make(1), make(2), make(3)];
    const wire = Buffer.concat(messages);
    const socket = net.connect(port, '127.0.0.1');
    for (let at = 0; at < wire.length; at += 5) {
      socket.write(wire.subarray(at, at + 5));
      await new Promise((r) => setImmediate(r));
    }
    await until(() => seen.frames.length === messages.length, 5000, 'all messages');
    assert.deepEqual(seen.frames, messages);
    // A type byte that no protocol has.
    socket.write(Buffer.concat([make(4).subarray(0, -1), Buffer.from([0x7f, 0, 0])]));
    await until(() => seen.errors.length === 1, 5000, 'the framing error');
    assert.equal(seen.errors[0].code, 'ERR_FRAME_MALFORMED');
    socket.destroy();
    server.close();
  });
}
