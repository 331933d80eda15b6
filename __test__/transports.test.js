'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const { spawn } = require('node:child_process');
const ck = require('..');
const { waitFor, until, listening, tmpSocket, makeCerts, runNode } = require('./helpers');

/** An echo server on the given transport; resolves with where it listens. */
async function echoServer(options, where = [0, '127.0.0.1']) {
  const server = ck.createServer(options, (conn) => {
    conn.on('error', () => {}); // clients here destroy with data unread: ECONNRESET
    conn.on('data', (d) => conn.write(d));
    conn.on('frame', (f) => conn.write(f));
  });
  const address = await listening(server, ...where);
  return { server, address };
}

async function roundTrip(conn, payload) {
  const chunks = [];
  let got = 0;
  const done = new Promise((resolve) =>
    conn.on('data', (d) => {
      chunks.push(Buffer.from(d));
      got += d.length;
      if (got >= payload.length) resolve();
    }),
  );
  conn.write(payload);
  await done;
  return Buffer.concat(chunks);
}

test('tcp: echo through a connkit server, addresses as Node reports them', async () => {
  const { server, address } = await echoServer({});
  const conn = ck.createConnection({ port: address.port, host: '127.0.0.1' });
  await waitFor(conn, 'connect');
  assert.equal(conn.remoteAddress, '127.0.0.1');
  assert.equal(conn.remotePort, address.port);
  assert.equal(conn.remoteFamily, 'IPv4');
  assert.ok(conn.localPort > 0);
  assert.equal(conn.readyState, 'open');
  const payload = Buffer.alloc(300 * 1024, 7);
  payload.write('start');
  assert.deepEqual(await roundTrip(conn, payload), payload);
  conn.end();
  const [hadError] = await waitFor(conn, 'close');
  assert.equal(hadError, false);
  assert.equal(conn.readyState, 'closed');
  const stats = conn.stats();
  assert.equal(stats.bytesOut, payload.length);
  assert.equal(stats.bytesIn, payload.length);
  server.close();
  await waitFor(server, 'close');
});

test('tcp: interoperates with plain Node net on both sides', async () => {
  const nodeServer = net.createServer((s) => s.pipe(s));
  await new Promise((r) => nodeServer.listen(0, '127.0.0.1', r));
  const conn = ck.createConnection({ port: nodeServer.address().port, host: '127.0.0.1' });
  await waitFor(conn, 'connect');
  assert.equal((await roundTrip(conn, Buffer.from('via node'))).toString(), 'via node');
  conn.destroy();
  await waitFor(conn, 'close');
  nodeServer.close();

  const { server, address } = await echoServer({});
  const socket = net.connect(address.port, '127.0.0.1');
  const echoed = new Promise((resolve) => socket.once('data', resolve));
  socket.write('to connkit');
  assert.equal((await echoed).toString(), 'to connkit');
  socket.destroy();
  server.close();
  await waitFor(server, 'close');
});

test('tcp: connection refused is an Error with Node fields, then close', async () => {
  const probe = net.createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address();
  await new Promise((r) => probe.close(r));
  const conn = ck.createConnection({ port, host: '127.0.0.1' });
  // Like a Node socket, error and close are emitted in the same tick: arm both.
  const closed = waitFor(conn, 'close');
  const [err] = await waitFor(conn, 'error');
  assert.ok(err instanceof Error);
  assert.equal(err.code, 'ECONNREFUSED');
  assert.equal(err.syscall, 'connect');
  assert.equal(err.address, '127.0.0.1');
  assert.equal(err.port, port);
  assert.equal(err.message, `connect ECONNREFUSED 127.0.0.1:${port}`);
  const [hadError] = await closed;
  assert.equal(hadError, true);
});

test('tcp: connectTimeout bounds an attempt that hangs (ETIMEDOUT)', async () => {
  // A listener that never accepts, its queue filled: further SYNs go unanswered.
  const listener = spawn('python3', ['-c', [
    'import socket, time',
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)",
    'print(s.getsockname()[1], flush=True)',
    'time.sleep(30)',
  ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const fillers = [];
  try {
    const [line] = await waitFor(listener.stdout, 'data');
    const port = Number(String(line).trim());
    for (let i = 0; i < 8; i++) fillers.push(net.connect(port, '127.0.0.1').on('error', () => {}));
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    const conn = ck.createConnection({ port, host: '127.0.0.1', connectTimeout: 300 });
    const closed = waitFor(conn, 'close');
    const [err] = await waitFor(conn, 'error');
    assert.equal(err.code, 'ETIMEDOUT');
    assert.equal(err.syscall, 'connect');
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 2000, `gave up after ${took} ms`);
    assert.deepEqual(await closed, [true]);
  } finally {
    fillers.forEach((f) => f.destroy());
    process.kill(listener.pid, 'SIGKILL');
  }
});

test('tcp: host names resolve (localhost)', async () => {
  const { server, address } = await echoServer({}, [0, '127.0.0.1']);
  const conn = ck.createConnection({ port: address.port, host: 'localhost' });
  await waitFor(conn, 'connect');
  assert.equal((await roundTrip(conn, Buffer.from('named'))).toString(), 'named');
  conn.destroy();
  await waitFor(conn, 'close');
  server.close();
});

test('unix: echo over a socket file, which is removed on close', async () => {
  const path = tmpSocket();
  const { server, address } = await echoServer({}, [path]);
  assert.equal(address, path);
  const conn = ck.createConnection({ path });
  await waitFor(conn, 'connect');
  assert.equal((await roundTrip(conn, Buffer.from('over uds'))).toString(), 'over uds');
  conn.end();
  await waitFor(conn, 'close');
  server.close();
  await waitFor(server, 'close');
  assert.equal(fs.existsSync(path), false);
});

test('unix: a stale socket file is reclaimed, a live one refused', async () => {
  const path = tmpSocket();
  // A socket file nobody listens on, as a process killed while listening leaves it.
  const crashed = await runNode(
    `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
  );
  assert.equal(crashed.signal, 'SIGKILL');
  assert.ok(fs.existsSync(path));
  const { server } = await echoServer({}, [path]);
  const conn = ck.createConnection({ path });
  await waitFor(conn, 'connect');
  conn.destroy();

  const second = ck.createServer({});
  second.listen(path);
  const [err] = await waitFor(second, 'error');
  assert.equal(err.code, 'EADDRINUSE');
  server.close();
  await waitFor(server, 'close');
});

test('tls: verified with a CA made at test time; untrusted and wrong-name certificates refused', async () => {
  const certs = makeCerts();
  const { server, address } = await echoServer({ transport: 'tls', cert: certs.cert, key: certs.key });
  const port = address.port;

  const good = ck.createConnection({ transport: 'tls', host: 'localhost', port, ca: certs.ca.toString() });
  await waitFor(good, 'connect');
  assert.equal((await roundTrip(good, Buffer.alloc(100 * 1024, 3))).length, 100 * 1024);
  good.end();
  await waitFor(good, 'close');

  const byIp = ck.createConnection({ transport: 'tls', host: '127.0.0.1', port, ca: [certs.ca] });
  await waitFor(byIp, 'connect');
  byIp.destroy();

  const untrusted = ck.createConnection({ transport: 'tls', host: 'localhost', port, ca: certs.otherCa });
  const untrustedClosed = waitFor(untrusted, 'close');
  const [err] = await waitFor(untrusted, 'error');
  assert.equal(err.code, 'ERR_TLS_CERT_INVALID');
  assert.deepEqual(await untrustedClosed, [true]);

  const defaultRoots = ck.createConnection({ transport: 'tls', host: 'localhost', port });
  assert.equal((await waitFor(defaultRoots, 'error'))[0].code, 'ERR_TLS_CERT_INVALID');

  const wrongName = ck.createConnection({ transport: 'tls', host: '127.0.0.1', port, ca: certs.ca, servername: 'example.com' });
  assert.equal((await waitFor(wrongName, 'error'))[0].code, 'ERR_TLS_CERT_INVALID');

  const unchecked = ck.createConnection({ transport: 'tls', host: 'localhost', port, rejectUnauthorized: false });
  await waitFor(unchecked, 'connect');
  unchecked.destroy();

  server.close();
  await waitFor(server, 'close');
});

test('tls: a connkit server talks to Node tls, a connkit client to a Node tls server', async () => {
  const tls = require('node:tls');
  const certs = makeCerts();
  const { server, address } = await echoServer({ transport: 'tls', cert: certs.cert, key: certs.key });
  const socket = tls.connect({ port: address.port, host: '127.0.0.1', ca: certs.ca, servername: 'localhost' });
  await new Promise((r) => socket.once('secureConnect', r));
  socket.write('node tls client');
  const [reply] = await waitFor(socket, 'data');
  assert.equal(reply.toString(), 'node tls client');
  socket.destroy();
  server.close();

  const nodeServer = tls.createServer({ cert: certs.cert, key: certs.key }, (s) => s.pipe(s));
  await new Promise((r) => nodeServer.listen(0, '127.0.0.1', r));
  const conn = ck.createConnection({ transport: 'tls', host: 'localhost', port: nodeServer.address().port, ca: certs.ca });
  await waitFor(conn, 'connect');
  assert.equal((await roundTrip(conn, Buffer.from('to node tls'))).toString(), 'to node tls');
  conn.destroy();
  await waitFor(conn, 'close');
  nodeServer.close();
});

test('tls server: a failed handshake goes to tlsClientError, the server carries on', async () => {
  const certs = makeCerts();
  const { server, address } = await echoServer({ transport: 'tls', cert: certs.cert, key: certs.key });
  const clientErrors = [];
  server.on('tlsClientError', (err) => clientErrors.push(err));
  const garbage = net.connect(address.port, '127.0.0.1');
  garbage.write('this is not a TLS ClientHello\r\n\r\n');
  garbage.resume();
  await waitFor(garbage, 'close');
  assert.equal(clientErrors.length, 1);
  assert.match(clientErrors[0].code, /^ERR_TLS/);
  const conn = ck.createConnection({ transport: 'tls', host: 'localhost', port: address.port, ca: certs.ca });
  await waitFor(conn, 'connect');
  conn.destroy();
  server.close();
  await waitFor(server, 'close');
});

test('NODE_TLS_REJECT_UNAUTHORIZED=0 turns off a client\'s verification, not a server\'s, as in Node', async () => {
  const certs = makeCerts();
  const pem = Object.fromEntries(Object.entries(certs).map(([k, v]) => [k, v.toString()]));
  const source = `
    const tls = require('node:tls');
    const ck = require('connkit');
    const certs = ${JSON.stringify(pem)};
    const server = ck.createServer({ transport: 'tls', cert: certs.cert, key: certs.key, ca: certs.ca, requestCert: true }, (c) => c.on('data', (d) => c.write(d)));
    const refused = [];
    server.on('tlsClientError', (err) => refused.push(err.code));
    server.listen(0, '127.0.0.1', async () => {
      const { port } = server.address();
      // A client without a certificate: the server still requires one.
      const bare = tls.connect({ port, host: '127.0.0.1', ca: certs.ca, servername: 'localhost' });
      bare.on('error', () => {});
      bare.on('secureConnect', () => bare.write('x'));
      let echoed = false;
      bare.on('data', () => (echoed = true));
      bare.setTimeout(2000, () => bare.destroy());
      await new Promise((r) => bare.on('close', r));
      // A connkit client given no CA: the variable lets it through.
      const conn = ck.createConnection({ transport: 'tls', host: 'localhost', port, cert: certs.clientV1Cert, key: certs.clientKey });
      conn.on('error', (e) => { console.log(JSON.stringify({ refused, echoed, client: e.code })); process.exit(0); });
      conn.on('connect', () => { console.log(JSON.stringify({ refused, echoed, client: 'connected' })); process.exit(0); });
    });`;
  const run = await runNode(source, { ms: 20000, env: { ...process.env, NODE_TLS_REJECT_UNAUTHORIZED: '0', NODE_NO_WARNINGS: '1' } });
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout.trim().split('\n').pop());
  assert.equal(result.client, 'connected');
  assert.equal(result.echoed, false, 'the server served a client without a certificate');
  assert.equal(result.refused.length, 1, run.stdout);
  assert.match(result.refused[0], /^ERR_TLS/);
});

test('stdio: a child process as a connection; its exit is reported', async () => {
  const echo = 'process.stdin.on("data", (d) => process.stdout.write(d)); process.stdin.on("end", () => process.exit(3))';
  const conn = ck.createConnection({ command: process.execPath, args: ['-e', echo] });
  await waitFor(conn, 'connect');
  assert.equal((await roundTrip(conn, Buffer.from('through a child'))).toString(), 'through a child');
  const exited = waitFor(conn, 'exit');
  const closed = waitFor(conn, 'close');
  conn.end();
  const [code, signal] = await exited;
  assert.equal(code, 3);
  assert.equal(signal, null);
  assert.deepEqual(await closed, [false]);
});

test('stdio: destroy() kills the child; a missing command is ENOENT', async () => {
  const conn = ck.createConnection({ command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] });
  await waitFor(conn, 'connect');
  const exited = waitFor(conn, 'exit');
  conn.destroy();
  const [code, signal] = await exited;
  assert.equal(code, null);
  assert.equal(signal, 'SIGKILL');

  const missing = ck.createConnection({ command: '/nonexistent/connkit-test-binary' });
  const [err] = await waitFor(missing, 'error');
  assert.equal(err.code, 'ENOENT');
  assert.equal(err.syscall, 'spawn');
});

test('server close() while connections are still being established: they are dropped, nothing thrown', async () => {
  for (let round = 0; round < 20; round++) {
    const { server, address } = await echoServer({});
    const conns = Array.from({ length: 5 }, () => {
      const conn = ck.createConnection({ port: address.port, host: '127.0.0.1' });
      conn.on('error', () => {});
      conn.on('connect', () => {
        conn.write(Buffer.alloc(64 * 1024)); // unread by the server: a reset
        conn.destroy();
      });
      return conn;
    });
    await waitFor(conns[0], 'connect');
    server.close();
    await waitFor(server, 'close');
    await Promise.all(conns.map((c) => (c.readyState === 'closed' ? null : waitFor(c, 'close'))));
  }
});

test('maxConnections: past the cap new connections are closed at once and drop says who', async () => {
  assert.throws(() => ck.createServer({ maxConnections: -1 }), { code: 'ERR_INVALID_ARG_VALUE' });
  const server = ck.createServer({ maxConnections: 2 });
  const accepted = [];
  server.on('connection', (c) => accepted.push(c));
  const drops = [];
  server.on('drop', (d) => drops.push(d));
  server.listen(0, '127.0.0.1');
  await waitFor(server, 'listening');
  const port = server.address().port;
  const open = () => new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.port = s.localPort; // gone once closed
      resolve(s);
    });
    s.on('error', () => {});
  });
  const first = [await open(), await open()];
  await until(() => accepted.length === 2, 3000, 'two connections');
  const extra = [await open(), await open()];
  await Promise.all(extra.map((s) => waitFor(s, 'close', 3000)));
  assert.equal(drops.length, 2);
  assert.equal(accepted.length, 2);
  assert.equal(drops[0].remoteAddress, '127.0.0.1');
  assert.equal(drops[0].localPort, port);
  assert.equal(drops[0].remoteFamily, 'IPv4');
  assert.deepEqual(extra.map((s) => s.port).sort(), drops.map((d) => d.remotePort).sort());
  // Room again once one goes.
  first[0].destroy();
  await until(() => server.connections === 1, 3000, 'one connection left');
  const later = await open();
  await until(() => accepted.length === 3, 3000, 'a third connection accepted');
  for (const s of [first[1], later]) s.destroy();
  await new Promise((r) => server.close(r));
});

test('maxConnections holds while the JS thread is busy: the core closes the excess', async () => {
  const server = ck.createServer({ maxConnections: 5 });
  server.on('connection', () => {});
  let drops = 0;
  server.on('drop', () => drops++);
  server.listen(0, '127.0.0.1');
  await waitFor(server, 'listening');
  const fds = () => fs.readdirSync('/proc/self/fd').length;
  const before = fds();
  const flood = spawn(process.execPath, ['-e', `
    const net = require('node:net');
    let done = 0;
    for (let i = 0; i < 300; i++) {
      const s = net.connect(${server.address().port}, '127.0.0.1');
      s.on('error', () => {});
      s.on('connect', () => ++done === 300 && process.send('connected'));
    }
  `], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  // Busy while the peer connects: only the core can take (or refuse) its connections.
  const until = Date.now() + 700;
  let most = 0;
  while (Date.now() < until) most = Math.max(most, fds());
  await waitFor(flood, 'message', 5000);
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(most <= before + 5 + 10, `${most - before} more descriptors during the block`);
  assert.equal(server.connections, 5);
  assert.equal(drops, 295);
  flood.kill();
  await waitFor(flood, 'exit');
  server.close();
});
