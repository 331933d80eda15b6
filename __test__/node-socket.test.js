'use strict';

// The sockets connkit hands out are Node sockets: code written for net.Socket —
// pipe(), stream.pipeline(), async iteration, tls.connect({ socket }), http's
// createConnection — takes them as they are, and Node's stream semantics hold.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const stream = require('node:stream');
const { pipeline, finished } = require('node:stream/promises');
const tls = require('node:tls');
const { createConnection, createServer, Client } = require('connkit');
const connman = require('connkit/connman');
const ipc = require('connkit/socket-ipc');
const thrift = require('connkit/thrift');
const { waitFor, until, tmpDir, tmpSocket, listening: listeningAt, makeCerts } = require('./helpers');

/** `server`, once it listens. */
const listening = async (server, ...args) => {
  await listeningAt(server, ...args);
  return server;
};

const certs = makeCerts();

// Peers a test drops may see a reset: that is no failure of theirs.
const echoServer = (onConnection = (c) => c.pipe(c)) =>
  listening(net.createServer((c) => {
    c.on('error', () => {});
    onConnection(c);
  }), 0, '127.0.0.1');
const closeServer = (server) => new Promise((resolve) => server.close(resolve));
const connect = (port, options = {}) => createConnection({ host: '127.0.0.1', port, ...options });
const sha = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

test('a connection is a net.Socket and a stream.Duplex, with Node state from open to close', async () => {
  const server = await echoServer();
  const conn = connect(server.address().port);
  assert.ok(conn instanceof net.Socket);
  assert.ok(conn instanceof stream.Duplex);
  assert.equal(conn.readyState, 'opening');
  assert.equal(conn.pending, true);
  await waitFor(conn, 'connect');
  assert.equal(conn.readyState, 'open');
  assert.equal(conn.readable, true);
  assert.equal(conn.writable, true);
  assert.equal(conn.readableHighWaterMark, 16 * 1024);
  assert.equal(conn.writableHighWaterMark, 16 * 1024);
  assert.deepEqual(conn.address(), { address: '127.0.0.1', port: conn.localPort, family: 'IPv4' });
  assert.equal(conn.remotePort, server.address().port);
  conn.setEncoding('utf8');
  conn.write('héllo');
  assert.deepEqual(await waitFor(conn, 'data'), ['héllo']);
  assert.equal(conn.bytesRead, Buffer.byteLength('héllo'));
  assert.equal(conn.bytesWritten, Buffer.byteLength('héllo'));
  const closes = [];
  conn.on('close', (hadError) => closes.push(hadError));
  const finish = waitFor(conn, 'finish');
  conn.end();
  assert.equal(conn.writable, false);
  assert.equal(conn.readyState, 'readOnly');
  await finish;
  await waitFor(conn, 'end');
  await until(() => closes.length > 0, 5000, "'close'");
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(closes, [false], "'close' once, without error");
  assert.equal(conn.readyState, 'closed');
  assert.equal(conn.destroyed, true);
  await closeServer(server);
});

test('a file piped through a connection and back arrives whole, under backpressure', async () => {
  const server = await echoServer();
  const dir = tmpDir();
  const source = path.join(dir, 'in.bin');
  const target = path.join(dir, 'out.bin');
  const data = crypto.randomBytes(8 * 1024 * 1024 + 17);
  fs.writeFileSync(source, data);
  const conn = connect(server.address().port);
  const out = fs.createWriteStream(target);
  conn.pipe(out);
  fs.createReadStream(source).pipe(conn); // ends the connection at the file's end
  await finished(out);
  assert.equal(sha(fs.readFileSync(target)), sha(data));
  assert.equal(conn.bytesWritten, data.length);
  assert.equal(conn.bytesRead, data.length);
  await closeServer(server);
});

test('stream.pipeline() through a Transform, on a connection a connkit server accepted', async () => {
  const server = createServer((conn) => {
    assert.ok(conn instanceof net.Socket);
    const upper = new stream.Transform({
      transform(chunk, _encoding, done) {
        done(null, chunk.toString().toUpperCase());
      },
    });
    pipeline(conn, upper, conn).catch(() => {});
  });
  await listening(server, 0, '127.0.0.1');
  const peer = net.connect(server.address().port, '127.0.0.1');
  const got = [];
  peer.on('data', (d) => got.push(d));
  peer.end('shout this back');
  await waitFor(peer, 'close');
  assert.equal(Buffer.concat(got).toString(), 'SHOUT THIS BACK');
  await closeServer(server);
});

test('for await reads a connection to its end; Readable.from() writes into one', async () => {
  const server = await echoServer();
  const conn = connect(server.address().port);
  const lines = Array.from({ length: 500 }, (_, i) => `line ${i}\n`);
  stream.Readable.from(lines).pipe(conn);
  let text = '';
  for await (const chunk of conn) text += chunk;
  assert.equal(text, lines.join(''));
  await closeServer(server);
});

test("http.request's createConnection may return a connkit connection", async () => {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => res.end(`${req.method} ${req.url} ${body}`));
  });
  await listening(server, 0, '127.0.0.1');
  const { port } = server.address();
  let made = null;
  for (let i = 0; i < 3; i++) {
    const text = await new Promise((resolve, reject) => {
      const req = http.request({
        method: 'POST',
        path: `/echo/${i}`,
        createConnection: () => (made = connect(port)),
      }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      });
      req.on('error', reject);
      req.end(`payload ${i}`);
    });
    assert.equal(text, `200 POST /echo/${i} payload ${i}`);
    assert.ok(made instanceof net.Socket);
  }
  await closeServer(server);
});

/** A Node TLS server answering every message with 'tls:' and it. */
function tlsEcho() {
  const server = tls.createServer({ key: certs.key, cert: certs.cert }, (s) => {
    s.on('error', () => {});
    s.on('data', (d) => s.write(`tls:${d}`));
  });
  return listening(server, 0, '127.0.0.1');
}

/** Upgrades `socket` to TLS against the test CA; resolves with what one round trip gives. */
async function overTls(socket) {
  const secure = tls.connect({ socket, ca: certs.ca, servername: 'localhost' });
  await waitFor(secure, 'secureConnect');
  assert.equal(secure.authorized, true);
  secure.write('ping');
  const reply = String(await waitFor(secure, 'data'));
  secure.end();
  await waitFor(secure, 'close');
  return reply;
}

test('tls.connect({ socket }) over a connkit TCP connection to a Node TLS server', async () => {
  const server = await tlsEcho();
  const conn = connect(server.address().port);
  assert.equal(await overTls(conn), 'tls:ping');
  await until(() => conn.destroyed, 5000, 'the connection to close with the TLS socket');
  await closeServer(server);
});

test('STARTTLS: a plain exchange, then TLS on the same connkit connection', async () => {
  const server = await listening(net.createServer((plain) => {
    plain.on('error', () => {});
    plain.once('data', (d) => {
      assert.equal(String(d), 'STARTTLS\r\n');
      plain.write('GO\r\n', () => {
        const secure = new tls.TLSSocket(plain, { isServer: true, key: certs.key, cert: certs.cert });
        secure.on('data', (m) => secure.write(`tls:${m}`));
        secure.on('error', () => {});
      });
    });
  }), 0, '127.0.0.1');
  const conn = connect(server.address().port);
  conn.write('STARTTLS\r\n');
  assert.equal(String(await waitFor(conn, 'data')), 'GO\r\n');
  assert.equal(await overTls(conn), 'tls:ping');
  await closeServer(server);
});

test("connman's socket is a net.Socket: tls.connect({ socket }) and pipe() work on it", async () => {
  const server = await tlsEcho();
  const { port } = server.address();
  const sock = await new Promise((resolve) => connman.connect(port, '127.0.0.1', resolve, () => {}, () => {}));
  assert.ok(sock instanceof net.Socket);
  assert.ok(sock instanceof stream.Duplex);
  // connman's own onData listener reads too; TLS takes the bytes through the stream.
  assert.equal(await overTls(sock), 'tls:ping');
  connman.disconnectAll();
  await closeServer(server);

  const echo = await echoServer();
  const piped = await new Promise((resolve) => connman.connect(echo.address().port, '127.0.0.1', resolve, () => {}, () => {}));
  const got = [];
  const sink = new stream.Writable({
    write(chunk, _encoding, done) {
      got.push(chunk);
      done();
    },
  });
  piped.pipe(sink);
  piped.write('through connman');
  await until(() => Buffer.concat(got).toString() === 'through connman', 5000, 'the echo through pipe()');
  connman.disconnectAll();
  await closeServer(echo);
});

test("socket-ipc's sockets are net.Sockets: the server's connection, the client's connect and reconnect", async () => {
  const socketFile = tmpSocket();
  const server = new ipc.Server({ socketFile });
  const serverSockets = [];
  server.on('connection', (id, socket) => serverSockets.push(socket));
  server.listen();
  await waitFor(server, 'listening');
  const client = new ipc.Client({ socketFile, reconnectDelay: 20 });
  const connectSocket = new Promise((resolve) => client.once('connect', resolve));
  const reconnectSocket = new Promise((resolve) => client.once('reconnect', resolve));
  client.connect();
  const first = await connectSocket;
  assert.ok(first instanceof net.Socket);
  await until(() => serverSockets.length === 1, 5000, 'the server to see the client');
  assert.ok(serverSockets[0] instanceof net.Socket);
  // stream.finished() sees the server's socket close when the server drops it.
  const done = finished(serverSockets[0]).then(() => 'finished', (err) => err.code);
  serverSockets[0].destroy();
  assert.ok(['finished', 'ERR_STREAM_PREMATURE_CLOSE'].includes(await done));
  assert.ok((await reconnectSocket) instanceof net.Socket);
  const closed = waitFor(client, 'close');
  client.close();
  await closed;
  server.close();
});

test("thrift's connection stream is a net.Socket, as the original's", async () => {
  let accepted = 0;
  const server = await echoServer(() => accepted++);
  const conn = thrift.createConnection('127.0.0.1', server.address().port);
  await waitFor(conn, 'connect');
  assert.ok(conn.connection instanceof net.Socket);
  // Closed before it accepted, the listener would reset the connection.
  await until(() => accepted === 1, 5000, 'the server to accept');
  conn.end();
  await closeServer(server);
});

test("jstp's raw transport is a net.Socket, as the original's", async () => {
  const jstp = require('connkit/jstp');
  const app = new jstp.Application('sockets', { calc: { add: (conn, a, b, cb) => cb(null, a + b) } });
  const server = jstp.net.createServer({ applications: [app] });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const connection = await new Promise((resolve, reject) =>
    jstp.net.connectAndInspect('sockets', null, ['calc'], server.address().port, '127.0.0.1', (err, conn) => (err ? reject(err) : resolve(conn))),
  );
  assert.ok(connection.getTransport() instanceof net.Socket);
  connection.close();
  await new Promise((resolve) => server.close(resolve));
});

test('pause() stops data events and resume() restarts them; nothing is lost', async () => {
  const server = await echoServer();
  const conn = connect(server.address().port);
  const got = [];
  conn.on('data', (d) => got.push(d));
  await waitFor(conn, 'connect');
  conn.pause();
  assert.equal(conn.isPaused(), true);
  conn.write('while paused');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(got.length, 0, 'no data while paused');
  assert.ok(conn.readableLength > 0, 'the data waits in the stream');
  conn.resume();
  await until(() => Buffer.concat(got).toString() === 'while paused', 5000, 'the data after resume');
  conn.destroy();
  await closeServer(server);
});

test('a reader that stops reading makes the core stop: the peer feels backpressure', async () => {
  let peer;
  const server = await echoServer((c) => (peer = c));
  const conn = connect(server.address().port);
  await waitFor(conn, 'connect');
  await until(() => peer, 5000, 'the peer');
  // Nobody reads conn: it buffers up to its high-water mark, then the core stops
  // reading and the peer's writes back up.
  const chunk = Buffer.alloc(64 * 1024, 1);
  let sent = 0;
  while (peer.write(chunk)) {
    sent += chunk.length;
    assert.ok(sent < 512 * 1024 * 1024, 'backpressure within 512 MiB');
    if (sent % (4 * 1024 * 1024) === 0) await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(conn.readableLength <= 16 * 1024 + 64 * 1024, `the stream holds ${conn.readableLength} bytes`);
  let read = 0;
  conn.on('data', (d) => (read += d.length));
  peer.end();
  await waitFor(conn, 'end');
  assert.ok(read >= sent, 'every byte arrives once reading resumes');
  await closeServer(server);
});

test('cork() holds writes until uncork(); write callbacks say the data was flushed', async () => {
  const received = [];
  const server = await echoServer((c) => c.on('data', (d) => received.push(String(d))));
  const conn = connect(server.address().port);
  await waitFor(conn, 'connect');
  conn.cork();
  const flushed = [];
  conn.write('a', () => flushed.push('a'));
  conn.write('b', () => flushed.push('b'));
  conn.write('c', () => flushed.push('c'));
  assert.equal(conn.writableCorked, 1);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(received, [], 'nothing goes out while corked');
  assert.deepEqual(flushed, []);
  conn.uncork();
  await until(() => received.join('') === 'abc', 5000, 'the corked writes');
  await until(() => flushed.length === 3, 5000, 'the callbacks');
  assert.deepEqual(flushed, ['a', 'b', 'c']);
  conn.destroy();
  await closeServer(server);
});

test('allowHalfOpen: after the peer ends, the connection still writes, then ends', async () => {
  const got = [];
  const server = await listening(net.createServer({ allowHalfOpen: true }, (c) => {
    c.end('bye');
    c.on('data', (d) => got.push(String(d)));
  }), 0, '127.0.0.1');
  const conn = connect(server.address().port, { allowHalfOpen: true });
  assert.equal(conn.allowHalfOpen, true);
  conn.setEncoding('utf8');
  assert.deepEqual(await waitFor(conn, 'data'), ['bye']);
  await waitFor(conn, 'end');
  assert.equal(conn.writable, true, 'still writable after the peer ended');
  assert.equal(conn.readyState, 'writeOnly');
  conn.end('late reply');
  await waitFor(conn, 'close');
  await until(() => got.join('') === 'late reply', 5000, 'the reply after the peer ended');
  await closeServer(server);
});

test("destroy(err): 'error' then 'close' once; writes after it fail; finished() reports it", async () => {
  const server = await echoServer();
  const conn = connect(server.address().port);
  await waitFor(conn, 'connect');
  const events = [];
  conn.on('error', (e) => events.push(`error ${e.message}`));
  conn.on('close', (hadError) => events.push(`close ${hadError}`));
  const done = finished(conn).then(() => null, (err) => err.message);
  conn.destroy(new Error('boom'));
  assert.equal(conn.destroyed, true);
  assert.equal(await done, 'boom');
  await until(() => events.length >= 2, 5000, "'close'");
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(events, ['error boom', 'close true']);
  const writeError = await new Promise((resolve) => conn.write('x', resolve));
  assert.equal(writeError.code, 'ERR_STREAM_DESTROYED');
  await closeServer(server);
});

test('destroy() after end() closes at once, though the peer never ends its side', async () => {
  const server = await echoServer((c) => c.resume()); // reads, never ends
  const conn = connect(server.address().port, { allowHalfOpen: true });
  await waitFor(conn, 'connect');
  conn.end('bye');
  await waitFor(conn, 'finish');
  const closed = waitFor(conn, 'close', 2000);
  conn.destroy();
  await closed;
  await closeServer(server);
});

test('a connection the peer ends while nobody reads keeps its data until it is read', async () => {
  const server = await echoServer((c) => c.end('kept'));
  const conn = connect(server.address().port);
  await waitFor(conn, 'connect');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(conn.destroyed, false, "no 'close' before the data is read");
  let text = '';
  conn.setEncoding('utf8');
  conn.on('data', (d) => (text += d));
  await waitFor(conn, 'close');
  assert.equal(text, 'kept');
  await closeServer(server);
});

test("a reconnecting connection is one stream across sessions: a lost session is a 'disconnect', not an 'end'", async () => {
  let sessions = 0;
  const server = await echoServer((c) => {
    sessions++;
    c.end(`session ${sessions};`);
  });
  const client = new Client({ host: '127.0.0.1', port: server.address().port, reconnect: { initialDelay: 10, maxDelay: 10 } });
  const ends = [];
  client.on('end', () => ends.push('end'));
  let text = '';
  client.setEncoding('utf8');
  client.on('data', (d) => (text += d));
  await until(() => text.includes('session 3;'), 5000, 'three sessions');
  assert.deepEqual(ends, [], "no 'end' while it reconnects");
  assert.equal(client.readable, true);
  client.close();
  await waitFor(client, 'close');
  assert.ok(text.startsWith('session 1;session 2;session 3;'));
  await closeServer(server);
});

test('framed connections: frames as before, and the readable side carries them once read', async () => {
  const server = createServer({ framing: 'length' }, (conn) => conn.on('frame', (f) => conn.write(f)));
  await listening(server, 0, '127.0.0.1');
  const conn = connect(server.address().port, { framing: 'length' });
  const frames = [];
  conn.on('frame', (f) => frames.push(String(f)));
  conn.write('one');
  await until(() => frames.length === 1, 5000, 'the first frame');
  assert.equal(conn.readableLength, 0, 'nothing buffered for a stream nobody reads');
  const chunks = [];
  conn.on('data', (d) => chunks.push(String(d)));
  conn.write('two');
  await until(() => frames.length === 2 && chunks.join('') === 'two', 5000, 'the second frame, as data too');
  conn.end();
  await waitFor(conn, 'close');
  await closeServer(server);
});

test('the callback of a write the kernel takes whole at once (64 KiB and more) comes at once', async () => {
  const server = await echoServer((c) => c.resume());
  const conn = connect(server.address().port);
  await waitFor(conn, 'connect');
  const started = Date.now();
  const err = await new Promise((resolve) => conn.write(Buffer.alloc(100 * 1024, 1), resolve));
  assert.equal(err ?? null, null);
  assert.ok(Date.now() - started < 500, `the callback took ${Date.now() - started} ms`);
  conn.destroy();
  await closeServer(server);
});

test('setDefaultEncoding() applies to writes without an encoding', async () => {
  const got = [];
  const server = await echoServer((c) => c.on('data', (d) => got.push(d)));
  const conn = connect(server.address().port);
  conn.setDefaultEncoding('hex');
  conn.write('ff00');
  await until(() => Buffer.concat(got).equals(Buffer.from([0xff, 0])), 5000, 'the decoded bytes');
  conn.destroy();
  await closeServer(server);
});

test('once the core closed, writes to a stream still being read fail with ERR_SOCKET_CLOSED', async () => {
  const server = await echoServer((c) => c.end('unread'));
  const conn = connect(server.address().port);
  conn.on('error', () => {});
  conn.pause();
  await waitFor(conn, 'connect');
  await until(() => conn.stats().state === 'closed', 5000, 'the core to close');
  const err = await new Promise((resolve) => conn.write('late', resolve));
  assert.equal(err.code, 'ERR_SOCKET_CLOSED');
  await closeServer(server);
});

test("once('connect') on an open socket waits for the next connect, as on a Node socket", async () => {
  const server = await echoServer((c) => setTimeout(() => c.destroy(), 50));
  const sock = await new Promise((resolve) => connman.connect(server.address().port, '127.0.0.1', resolve, () => {}, () => {}));
  const started = Date.now();
  // connman's socket reconnects: a listener added now hears the next session's connect.
  await new Promise((resolve) => sock.once('connect', resolve));
  assert.ok(Date.now() - started >= 40, `'connect' came after ${Date.now() - started} ms, before the next session`);
  connman.disconnectAll();
  await closeServer(server);
});

test("a connection reset by its peer is destroyed with the error, as Node's: 'error', then 'close'", async () => {
  const server = await echoServer((c) => c.resetAndDestroy());
  const conn = connect(server.address().port);
  conn.resume();
  const seen = [];
  conn.on('error', (err) => seen.push(`error ${err.code} destroyed=${conn.destroyed} errored=${conn.errored?.code}`));
  conn.on('close', (hadError) => seen.push(`close ${hadError}`));
  const failed = finished(conn).then(() => null, (err) => err.code);
  await waitFor(conn, 'close');
  assert.deepEqual(seen, ['error ECONNRESET destroyed=true errored=ECONNRESET', 'close true']);
  assert.equal(await failed, 'ECONNRESET');
  await closeServer(server);
});
