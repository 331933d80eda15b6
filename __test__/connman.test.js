'use strict';

// connkit/connman against the real connman (same scenarios, same traces), real
// memcached and redis servers, and echo servers of our own.

const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const fs = require('node:fs');
const path = require('node:path');
const { spawn, execFile } = require('node:child_process');
const { promisify } = require('node:util');
const dns = require('node:dns/promises');
const { ROOT, waitFor, until, runNode } = require('./helpers');

const cm = require('connkit/connman');

const ORIGINAL = path.dirname(require.resolve('connman/package.json'));
const FACE = path.join(ROOT, 'faces', 'connman');
const SCENARIO = path.join(__dirname, 'fixtures', 'connman-scenario.js');

async function trace(modulePath, scenario) {
  const { stdout } = await promisify(execFile)(process.execPath, [SCENARIO, modulePath, scenario], { timeout: 15000 });
  return JSON.parse(stdout);
}

function echoServer(host = '127.0.0.1', onConnection = (c) => c.pipe(c)) {
  return new Promise((resolve) => {
    const server = net.createServer(onConnection);
    server.listen(0, host, () => resolve(server));
  });
}

const closeServer = (server) => new Promise((r) => server.close(r));

/** A managed connection whose callbacks record what happens. */
function managed(port, host = '127.0.0.1', options) {
  const events = [];
  const data = [];
  const record = { events, data, sock: null };
  cm.connect(port, host, (sock) => {
    record.sock = sock;
    events.push('connect');
  }, (buf) => data.push(buf), () => {
    events.push('reset');
  }, options);
  record.sock = cm.getConnection(port, host);
  return record;
}

async function disconnected(sock) {
  // Between attempts the socket is closed already (destroyed, as the original's).
  const closed = sock.destroyed ? Promise.resolve() : waitFor(sock, 'close');
  sock.disconnect();
  await closed;
}

for (const scenario of ['endThenDisconnect', 'disconnectWhileOpening', 'disconnectWhileWaiting', 'resetHandsBackEntryPoint', 'writeWhileClosed']) {
  test(`same trace as the original: ${scenario}`, async () => {
    const [original, ours] = await Promise.all([trace(ORIGINAL, scenario), trace(FACE, scenario)]);
    assert.ok(original.length > 0, 'the scenario ran');
    assert.deepEqual(ours.map((e) => e.what), original.map((e) => e.what));
  });
}

test('same trace as the original: pools (the connections close in any order)', async () => {
  const [original, ours] = await Promise.all([trace(ORIGINAL, 'pool'), trace(FACE, 'pool')]);
  const sorted = (t) => t.map((e) => e.what).sort();
  assert.equal(original.length, 7);
  assert.deepEqual(sorted(ours), sorted(original));
});

test('the face steers its connection through lib/connection/hooks.js, not through its internals', () => {
  const source = fs.readFileSync(path.join(FACE, 'socket.js'), 'utf8');
  assert.doesNotMatch(source, /\._[A-Za-z]/);
  assert.match(source, /\[HOOKS\]: sessions/);
});

test('same backoff as the original: 20, 40, 80, 160 ms between refused attempts', async () => {
  const [original, ours] = await Promise.all([trace(ORIGINAL, 'refusedThenUp'), trace(FACE, 'refusedThenUp')]);
  assert.deepEqual(ours.map((e) => e.what), original.map((e) => e.what));
  const gaps = (t) => {
    const resets = t.filter((e) => e.what === 'reset').map((e) => e.at);
    return resets.slice(1, 5).map((at, i) => at - resets[i]);
  };
  const want = [20, 40, 80, 160];
  for (const [i, gap] of gaps(ours).entries()) {
    assert.ok(Math.abs(gap - want[i]) <= want[i] * 0.1 + 8, `gap ${i}: ${gap} ms, the schedule says ${want[i]}`);
  }
});

test('the socket: writes, backpressure and drain, encoding, addresses, readyState', async () => {
  let peer;
  const server = await echoServer('127.0.0.1', (c) => {
    peer = c;
    c.pause(); // reads nothing until told: the client must feel it
    c.pipe(c);
  });
  const { port } = server.address();
  const m = managed(port);
  await until(() => m.events.includes('connect') && peer, 5000, 'connect');
  const sock = m.sock;
  assert.equal(sock.sock, sock, 'getConnection() gives the socket, whose .sock is itself');
  assert.equal(sock.readyState, 'open');
  assert.equal(sock.remoteAddress, '127.0.0.1');
  assert.equal(sock.remotePort, port);
  assert.equal(typeof sock.localPort, 'number');
  assert.equal(sock.localAddress, '127.0.0.1');
  // Once the peer stops reading, write() says so, and 'drain' follows when it reads.
  const chunk = Buffer.alloc(64 * 1024, 7);
  let sent = 0;
  while (sock.write(chunk)) {
    sent += chunk.length;
    assert.ok(sent < 256 * 1024 * 1024, 'backpressure within 256 MiB');
  }
  sent += chunk.length;
  const flushed = new Promise((resolve) => sock.write('', resolve));
  const drained = waitFor(sock, 'drain');
  peer.resume();
  await drained;
  assert.equal(await flushed, null);
  await until(() => m.data.reduce((n, b) => n + b.length, 0) === sent, 10000, 'the echo');
  // setEncoding: onData gets strings from then on, across a multi-byte character.
  sock.setEncoding('utf8');
  m.data.length = 0;
  sock.write(Buffer.from('héllo').subarray(0, 2));
  sock.write(Buffer.from('héllo').subarray(2));
  await until(() => m.data.join('') === 'héllo', 5000, 'decoded text');
  assert.ok(m.data.every((d) => typeof d === 'string'));
  assert.equal(sock.setNoDelay(true), sock);
  assert.equal(sock.setKeepAlive(true, 1000), sock);
  await disconnected(sock);
  assert.deepEqual(m.events, ['connect', 'reset']);
  await closeServer(server);
});

test('setTimeout emits timeout on an idle socket; options reach the socket (allowHalfOpen)', async () => {
  // The server ends its side at once; with allowHalfOpen we may still write.
  const got = [];
  const server = await echoServer('127.0.0.1', (c) => {
    c.on('data', (d) => got.push(d.toString()));
    c.end();
  });
  const { port } = server.address();
  const m = managed(port, '127.0.0.1', { allowHalfOpen: true });
  await waitFor(m.sock, 'end');
  assert.equal(m.sock.readyState, 'writeOnly');
  m.sock.write('still here');
  await until(() => got.join('') === 'still here', 5000, 'a write after the peer ended');
  m.sock.setTimeout(30);
  await waitFor(m.sock, 'timeout', 2000);
  m.sock.setTimeout(0);
  await disconnected(m.sock);
  await closeServer(server);
});

test('hosts by name (localhost, as the resolver gives it) and IPv6', async () => {
  const local = await dns.lookup('localhost', { all: true });
  const cases = [...local.map(({ address }) => [address, 'localhost']), ['::1', '::1']];
  for (const [address, host] of cases) {
    const server = await echoServer(address);
    const { port } = server.address();
    const m = managed(port, host);
    await until(() => m.events.includes('connect'), 5000, `connect to ${host} (${address})`);
    assert.equal(m.sock.remoteAddress, address);
    await disconnected(m.sock);
    await closeServer(server);
  }
});

test('a dropped connection: error and close(true), onReset, reconnect 100 ms later', async () => {
  let sockets = 0;
  const server = await echoServer('127.0.0.1', (c) => {
    if (++sockets === 1) setTimeout(() => c.resetAndDestroy(), 20);
    else c.pipe(c);
  });
  const { port } = server.address();
  const m = managed(port);
  await until(() => m.events.includes('connect'), 5000, 'connect');
  const closes = [];
  const errors = [];
  m.sock.on('close', (hadError) => closes.push({ hadError, at: Date.now(), state: m.sock.readyState }));
  m.sock.on('error', (e) => errors.push(e));
  await until(() => closes.length === 1, 5000, 'the reset');
  assert.equal(errors[0].code, 'ECONNRESET');
  assert.equal(closes[0].hadError, true);
  assert.equal(closes[0].state, 'closed');
  assert.deepEqual(m.events, ['connect', 'reset']);
  await until(() => m.events.length === 3, 5000, 'the reconnect');
  const delay = Date.now() - closes[0].at;
  assert.ok(delay >= 90 && delay < 300, `reconnected after ${delay} ms (schedule: 100)`);
  m.sock.write('after');
  await until(() => Buffer.concat(m.data).toString() === 'after', 5000, 'echo after reconnect');
  await disconnected(m.sock);
  await closeServer(server);
});

test('writes unsent when a session is lost fail with it and never reach the next server', async () => {
  const sessions = [];
  const server = await echoServer('127.0.0.1', (c) => {
    const session = { socket: c, bytes: [] };
    sessions.push(session);
    if (sessions.length === 1) c.pause(); // reads nothing: the client's writes back up
    else c.on('data', (d) => session.bytes.push(d));
  });
  const { port } = server.address();
  const m = managed(port);
  await until(() => m.events.includes('connect') && sessions.length === 1, 5000, 'connect');
  const chunk = Buffer.alloc(64 * 1024, 'o');
  const outcomes = [];
  const write = () => m.sock.write(chunk, (err) => outcomes.push(err ? err.code : 'ok'));
  // Fill the kernel's buffers, then queue a megabyte more in connkit's.
  let written = 1;
  for (; write(); written++) assert.ok(written < 10_000, 'backpressure came');
  for (let i = 0; i < 16; i++, written++) write();
  sessions[0].socket.resetAndDestroy();
  await until(() => m.events.filter((e) => e === 'connect').length === 2, 5000, 'the reconnect');
  m.sock.write('fresh');
  await until(() => sessions[1]?.bytes.length > 0, 5000, 'the new session to get data');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(Buffer.concat(sessions[1].bytes).toString(), 'fresh', 'nothing of the old session was resent');
  await until(() => outcomes.length >= written, 5000, 'every old write to be settled');
  const failed = outcomes.filter((o) => o !== 'ok');
  assert.ok(failed.length >= 16, `the queued writes failed (${failed.length} of ${written}: ${[...new Set(failed)]})`);
  assert.ok(failed.every((code) => code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED'));
  await disconnected(m.sock);
  await closeServer(server);
});

test('end() and destroy() end the session only: connman reconnects; disconnect() stops for good', async () => {
  let sockets = 0;
  const server = await echoServer('127.0.0.1', (c) => {
    sockets++;
    c.pipe(c);
  });
  const { port } = server.address();
  const m = managed(port);
  await until(() => m.events.length === 1, 5000, 'connect');
  m.sock.end();
  assert.equal(m.sock.readyState, 'readOnly');
  m.sock.write('refused', (err) => m.events.push(`write ${err.code}`));
  await until(() => m.events.filter((e) => e === 'connect').length === 2, 5000, 'reconnect after end()');
  m.sock.destroy();
  await until(() => m.events.filter((e) => e === 'connect').length === 3, 5000, 'reconnect after destroy()');
  assert.deepEqual(m.events, ['connect', 'write ERR_STREAM_WRITE_AFTER_END', 'reset', 'connect', 'reset', 'connect']);
  await disconnected(m.sock);
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(sockets, 3, 'no reconnect after disconnect()');
  assert.equal(m.sock.readyState, 'closed');
  await closeServer(server);
});

test('a pool of 100 connections echoes on each, and disconnects together', async () => {
  const server = await echoServer();
  const { port } = server.address();
  const pool = cm.createPool('hundred');
  const got = new Map();
  let resets = 0;
  for (let i = 0; i < 100; i++) {
    pool.addConnection(port, '127.0.0.1', (sock) => sock.write(`#${i}`), (buf) => got.set(i, String(buf)), () => resets++);
  }
  assert.equal(cm.getPool('hundred'), pool);
  assert.equal(pool.getConnections().length, 100);
  await until(() => got.size === 100, 10000, '100 echoes');
  for (let i = 0; i < 100; i++) assert.equal(got.get(i), `#${i}`);
  cm.getPool('hundred').disconnect();
  await until(() => resets === 100, 5000, '100 resets');
  assert.ok(pool.getConnections().every((s) => s.readyState === 'closed'));
  await closeServer(server);
});

test('invalid arguments throw TypeErrors at once; a bad onReset return is a warning', async () => {
  const f = () => {};
  assert.throws(() => cm.connect(undefined, 'localhost', f, f, f), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /Port is required/ });
  assert.throws(() => cm.connect('nope', 'localhost', f, f, f), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => cm.connect(70000, 'localhost', f, f, f), { name: 'RangeError', code: 'ERR_SOCKET_BAD_PORT' });
  assert.throws(() => cm.connect(1234, 'localhost', 'x', f, f), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /onConnect/ });
  assert.throws(() => cm.connect(1234, 'localhost', f, null, f), { name: 'TypeError', message: /onData/ });
  assert.throws(() => cm.createPool('bad').addConnection(1234, 'localhost', f, f, 7), { name: 'TypeError', message: /onReset/ });

  const server = await echoServer('127.0.0.1', (c) => c.end());
  const { port } = server.address();
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  let opens = 0;
  cm.connect(port, '127.0.0.1', () => opens++, f, () => 42);
  await until(() => opens === 2, 5000, 'a second connect through onConnect');
  await until(() => warnings.length > 0, 5000, 'the warning');
  assert.equal(warnings[0].code, 'CONNKIT_CONNMAN_BAD_RESET');
  process.removeListener('warning', onWarning);
  await disconnected(cm.getConnection(port, '127.0.0.1'));
  await closeServer(server);
});

test('1,000 connect/disconnect cycles leak no descriptors, handles or timers', async () => {
  const server = await echoServer();
  const { port } = server.address();
  const fds = () => fs.readdirSync('/proc/self/fd').length;
  const resources = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
  const cycle = () => new Promise((resolve) => {
    cm.connect(port, '127.0.0.1', (sock) => sock.disconnect(), () => {}, resolve);
  });
  await cycle(); // the runtime and its threads exist from here on
  const before = { fds: fds(), resources: resources() };
  for (let round = 0; round < 100; round++) await Promise.all(Array.from({ length: 10 }, cycle));
  await new Promise((r) => setTimeout(r, 50));
  const after = { fds: fds(), resources: resources() };
  assert.ok(after.fds <= before.fds + 2, `descriptors: ${before.fds} before, ${after.fds} after`);
  assert.ok(after.resources <= before.resources, `active resources: ${before.resources} before, ${after.resources} after`);
  await closeServer(server);
});

test('the process exits by itself after disconnectAll()', async () => {
  const src = `
    const net = require('net');
    const cm = require('connkit/connman');
    const server = net.createServer((c) => c.pipe(c)).listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      cm.connect(port, '127.0.0.1', (s) => s.write('x'), () => { cm.disconnectAll(); server.close(); }, () => {});
      cm.createPool('p').addConnection(port + 0, '127.0.0.1', () => {}, () => {}, () => {});
    });`;
  const { code, ms, stderr } = await runNode(src, { ms: 8000 });
  assert.equal(code, 0, stderr);
  assert.ok(ms < 5000);
});

// Real servers, started here on loopback and stopped by their own PID.

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startDaemon(command, args, port) {
  const child = spawn(command, args, { stdio: 'ignore' });
  const failed = new Promise((_, reject) => child.once('error', (e) => reject(new Error(`${command} could not start (${e.code}): the tests need it installed (README, Requirements)`))));
  const up = (async () => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const ok = await new Promise((r) => net.connect(port, '127.0.0.1').once('connect', function () { this.destroy(); r(true); }).once('error', () => r(false)));
      if (ok) return child;
      if (Date.now() > deadline) throw new Error(`${command} did not listen on ${port}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return Promise.race([up, failed]);
}

function stopDaemon(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, 'SIGKILL');
  return exited;
}

/** A line-protocol client over connman: one request at a time, replies by order. */
function lineClient(port, replyDone) {
  const client = { pending: [], buf: '', resets: 0, connects: 0, sock: null };
  cm.connect(port, '127.0.0.1', (sock) => {
    client.sock = sock;
    client.connects++;
  }, (chunk) => {
    client.buf += chunk;
    while (client.pending.length) {
      const n = replyDone(client.buf);
      if (n === 0) break;
      const reply = client.buf.slice(0, n);
      client.buf = client.buf.slice(n);
      client.pending.shift().resolve(reply);
    }
  }, () => {
    client.resets++;
    // What was asked of the lost server is never answered: fail it.
    for (const p of client.pending.splice(0)) p.reject(new Error('reset'));
    client.buf = '';
  });
  client.sock = cm.getConnection(port, '127.0.0.1');
  client.ask = (line) => new Promise((resolve, reject) => {
    client.pending.push({ resolve, reject });
    client.sock.write(line);
  });
  return client;
}

async function restartCase({ command, args, replyDone, set, get, expect }) {
  const port = await freePort();
  let daemon = await startDaemon(command, args(port), port);
  const client = lineClient(port, replyDone);
  await until(() => client.connects === 1, 5000, 'connect');
  assert.match(await client.ask(set('k', 'before')), expect.set);
  assert.match(await client.ask(get('k')), expect.got('before'));
  await stopDaemon(daemon);
  await until(() => client.resets >= 1, 5000, 'onReset after the kill');
  assert.notEqual(client.sock.readyState, 'open');
  await new Promise((r) => setTimeout(r, 200)); // a few refused attempts
  daemon = await startDaemon(command, args(port), port);
  await until(() => client.connects === 2, 10000, 'the connection comes back');
  assert.ok(client.resets >= 2, 'onReset ran for the failed attempts too');
  assert.match(await client.ask(set('k', 'after')), expect.set);
  assert.match(await client.ask(get('k')), expect.got('after'));
  await disconnected(client.sock);
  await stopDaemon(daemon);
}

test('memcached: commands, a kill and a restart, commands again', async () => {
  await restartCase({
    command: 'memcached',
    args: (port) => ['-p', String(port), '-l', '127.0.0.1', '-U', '0', '-u', 'root'],
    replyDone: (buf) => {
      for (const end of ['STORED\r\n', 'END\r\n']) {
        const at = buf.indexOf(end);
        if (at !== -1) return at + end.length;
      }
      return 0;
    },
    set: (k, v) => `set ${k} 0 0 ${v.length}\r\n${v}\r\n`,
    get: (k) => `get ${k}\r\n`,
    expect: { set: /^STORED\r\n$/, got: (v) => new RegExp(`^VALUE k 0 ${v.length}\\r\\n${v}\\r\\nEND\\r\\n$`) },
  });
});

test('redis-server: commands, a kill and a restart, commands again', async () => {
  await restartCase({
    command: 'redis-server',
    args: (port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    // Replies here are +OK\r\n or a bulk string $n\r\n...\r\n.
    replyDone: (buf) => {
      if (buf.startsWith('+')) return buf.indexOf('\r\n') + 2 || 0;
      const m = /^\$(\d+)\r\n/.exec(buf);
      if (!m) return 0;
      const total = m[0].length + Number(m[1]) + 2;
      return buf.length >= total ? total : 0;
    },
    set: (k, v) => `SET ${k} ${v}\r\n`,
    get: (k) => `GET ${k}\r\n`,
    expect: { set: /^\+OK\r\n$/, got: (v) => new RegExp(`^\\$${v.length}\\r\\n${v}\\r\\n$`) },
  });
});
