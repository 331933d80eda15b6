'use strict';

// connkit/thrift's socket connections against the real thrift 0.24.0 server, with
// client code generated at test time by Debian's thrift-compiler.

const test = require('node:test');
const assert = require('node:assert');
const { execFileSync, spawn } = require('node:child_process');
const { once } = require('node:events');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const real = require('thrift');
const ck = require('connkit/thrift');
const fs = require('node:fs');
const { waitFor, makeCerts, tmpSocket, thriftCalc } = require('./helpers');

const { Calc, types, handler, dir: out } = thriftCalc(test.after);

const STACKS = [];
for (const transport of ['TBufferedTransport', 'TFramedTransport']) {
  for (const protocol of ['TBinaryProtocol', 'TCompactProtocol', 'TJSONProtocol']) STACKS.push([transport, protocol]);
}

async function serve(lib, transport, protocol) {
  const server = lib.createServer(Calc, handler, { transport: lib[transport], protocol: lib[protocol] });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
const realServer = (transport, protocol) => serve(real, transport, protocol);
const impls = { connkit: ck, original: real };

const p = (fn) => new Promise((resolve) => fn((error, value) => resolve({ error, value })));

const PAIRS = [
  ['connkit', 'original'],
  ['original', 'connkit'],
  ['connkit', 'connkit'],
];
const CASES = STACKS.flatMap(([transport, protocol]) => PAIRS.map((pair) => [transport, protocol, ...pair]));

// Calls of every shape, the first queued before the connection is up (sent on connect).
async function callsOfEveryShape(connection, client) {
  const early = p((cb) => client.add(1, 2, cb));
  await waitFor(connection, 'connect');
  assert.deepStrictEqual(await early, { error: null, value: 3 });
  const pair = new types.Pair({ a: 7, b: 'ü✓', c: [new real.Int64(5)], d: { k: new types.Pair({ a: 1, b: 'x', c: [], d: {} }) } });
  const echoed = await p((cb) => client.echo(pair, cb));
  assert.strictEqual(echoed.value.b, 'ü✓');
  assert.strictEqual(echoed.value.d.k.a, 1);
  const big = Buffer.alloc(300 * 1024, 7);
  assert.ok((await p((cb) => client.blob(big, cb))).value.equals(big));
  const failed = await p((cb) => client.fail('no', cb));
  assert.ok(failed.error instanceof types.Oops);
  assert.strictEqual(failed.error.why, 'no');
  client.ping(() => {});
  // Many in flight. (Promise style needs `thrift.Q`, which Debian's older compiler
  // expects and thrift 0.24 no longer exports: the same with the real package.)
  const sums = (await Promise.all(Array.from({ length: 200 }, (_, i) => p((cb) => client.add(i, i, cb))))).map((r) => r.value);
  assert.deepStrictEqual(sums, Array.from({ length: 200 }, (_, i) => 2 * i));
}

for (const [transport, protocol, clientName, serverName] of CASES) {
  test(`${clientName} client, ${serverName} server: ${transport} + ${protocol}, calls of every shape`, async () => {
    const lib = impls[clientName];
    const server = await serve(impls[serverName], transport, protocol);
    const connection = lib.createConnection('127.0.0.1', server.address().port, { transport: lib[transport], protocol: lib[protocol] });
    const client = lib.createClient(Calc, connection);
    try {
      await callsOfEveryShape(connection, client);
    } finally {
      connection.end();
      server.close();
    }
  });
}

test('calls in flight fail when the server goes away (the original left them waiting)', async () => {
  const server = await realServer('TFramedTransport', 'TBinaryProtocol');
  const sockets = new Set();
  server.on('connection', (s) => sockets.add(s));
  const connection = ck.createConnection('127.0.0.1', server.address().port, { transport: ck.TFramedTransport });
  connection.on('error', () => {});
  const client = ck.createClient(Calc, connection);
  await waitFor(connection, 'connect');
  const pending = p((cb) => client.slow(2000, cb));
  await new Promise((r) => setTimeout(r, 50));
  const closed = waitFor(connection, 'close');
  for (const s of sockets) s.destroy();
  const { error } = await pending;
  assert.ok(error instanceof Error);
  await closed;
  server.close();
});

test('reconnect follows the original schedule when max_attempts is set, and gives up', async () => {
  // The original's log lines come too: thrift's debug log, and stderr on giving up.
  const logged = [];
  ck.setLogFunc((line) => logged.push(line));
  ck.setLogLevel('debug');
  const { error: consoleError } = console;
  console.error = (line) => logged.push(`stderr ${line}`);
  try {
    const connection = ck.createConnection('127.0.0.1', 1, { max_attempts: 3, transport: ck.TFramedTransport });
    const events = [];
    connection.on('error', () => {});
    connection.on('reconnecting', (e) => events.push(e));
    await waitFor(connection, 'close', 5000);
    assert.deepStrictEqual(events.map((e) => e.attempt), [1, 2, 3]);
    assert.deepStrictEqual(events.map((e) => e.delay), [255, 433, 736]);
    assert.ok(logged.some((line) => /\[DEBUG\]\s+Retry connection in 433 ms$/.test(line)), logged.join('\n'));
    assert.ok(logged.includes("stderr thrift: Couldn't get thrift connection after 3 attempts."), logged.join('\n'));
  } finally {
    console.error = consoleError;
    ck.setLogLevel('error');
    ck.setLogFunc(console.log);
  }
});

for (const [clientName, serverName] of PAIRS) {
  test(`TLS (certificate checked) and unix sockets: ${clientName} client, ${serverName} server`, async () => {
    const [client, server] = [impls[clientName], impls[serverName]];
    const certs = makeCerts();
    const secure = server.createServer(Calc, handler, { tls: { key: certs.key, cert: certs.cert } });
    await new Promise((resolve) => secure.listen(0, '127.0.0.1', resolve));
    // A port as a string and the "any version" secureProtocol, as Apache's own tests pass them.
    const tlsConnection = client.createSSLConnection('localhost', String(secure.address().port), { ca: certs.ca, secureProtocol: 'TLS_method' });
    const tlsClient = client.createClient(Calc, tlsConnection);
    assert.deepStrictEqual(await p((cb) => tlsClient.add(20, 22, cb)), { error: null, value: 42 });
    tlsConnection.end();
    // A certificate from another CA is refused (an error the original reports only as
    // an event: its pending calls would wait forever).
    const untrusted = client.createSSLConnection('localhost', secure.address().port, { ca: certs.otherCa });
    const [refused] = await waitFor(untrusted, 'error');
    assert.match(refused.code, /CERT|SIGNATURE|ISSUER/);
    untrusted.destroy();
    secure.close();

    const file = tmpSocket('thrift.sock');
    const local = server.createServer(Calc, handler, { transport: server.TFramedTransport, protocol: server.TCompactProtocol });
    await new Promise((resolve) => local.listen(file, resolve));
    const udsConnection = client.createUDSConnection(file, { transport: client.TFramedTransport, protocol: client.TCompactProtocol });
    const udsClient = client.createClient(Calc, udsConnection);
    await waitFor(udsConnection, 'connect');
    const pair = new types.Pair({ a: 3, b: 'uds', c: [], d: {} });
    assert.strictEqual((await p((cb) => udsClient.echo(pair, cb))).value.b, 'uds');
    udsConnection.end();
    local.close();
  });
}

test('a TLS connection with max_attempts reconnects too (the original could not)', async () => {
  const certs = makeCerts();
  const start = async (port) => {
    const server = real.createServer(Calc, handler, { tls: { key: certs.key, cert: certs.cert } });
    await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
    return server;
  };
  let server = await start(0);
  const port = server.address().port;
  const sockets = new Set();
  server.on('secureConnection', (s) => sockets.add(s));
  const connection = ck.createSSLConnection('localhost', port, { ca: certs.ca, max_attempts: 10 });
  connection.on('error', () => {});
  const client = ck.createClient(Calc, connection);
  assert.deepStrictEqual(await p((cb) => client.add(1, 1, cb)), { error: null, value: 2 });
  const reconnecting = waitFor(connection, 'reconnecting');
  server.close();
  for (const s of sockets) s.destroy();
  await reconnecting;
  server = await start(port);
  await waitFor(connection, 'connect', 5000);
  assert.deepStrictEqual(await p((cb) => client.add(2, 3, cb)), { error: null, value: 5 });
  connection.end();
  server.close();
});

test('multiplexed services on a connkit server, called by real and connkit clients', async () => {
  const processor = new ck.MultiplexedProcessor();
  processor.registerProcessor('one', new Calc.Processor(handler));
  processor.registerProcessor('two', new Calc.Processor({ ...handler, add: (a, b, result) => result(null, a * b) }));
  const server = ck.createMultiplexServer(processor, { transport: ck.TFramedTransport, protocol: ck.TCompactProtocol });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  for (const lib of [real, ck]) {
    const connection = lib.createConnection('127.0.0.1', server.address().port, { transport: lib.TFramedTransport, protocol: lib.TCompactProtocol });
    const mux = new lib.Multiplexer();
    const one = mux.createClient('one', Calc, connection);
    const two = mux.createClient('two', Calc, connection);
    const [a, b] = await Promise.all([p((cb) => one.add(3, 4, cb)), p((cb) => two.add(3, 4, cb))]);
    assert.deepStrictEqual([a.value, b.value], [7, 12]);
    connection.end();
  }
  server.close();
});

test('a connkit server survives garbage and an oversize frame; other clients carry on', async () => {
  const server = await serve(ck, 'TFramedTransport', 'TBinaryProtocol');
  const errors = [];
  server.on('error', (e) => errors.push(e));
  const connection = ck.createConnection('127.0.0.1', server.address().port, { transport: ck.TFramedTransport });
  const client = ck.createClient(Calc, connection);
  for (const wire of [Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]), Buffer.from([0, 0, 0, 5, 1, 2, 3, 4, 5])]) {
    const raw = net.connect(server.address().port, '127.0.0.1');
    raw.on('error', () => {});
    await waitFor(raw, 'connect');
    const closed = waitFor(raw, 'close');
    raw.write(wire);
    raw.end();
    await closed;
  }
  assert.ok(errors.length >= 1, 'the bad clients are reported');
  // Whole frames that are no request: thrift's own errors, with a code added.
  // The third: a call of add() whose argument has a type thrift does not know (5),
  // which its skip() refuses with a plain Error.
  const unknownType = Buffer.from([0x80, 1, 0, 1, 0, 0, 0, 3, 0x61, 0x64, 0x64, 0, 0, 0, 1, 5, 0, 1]);
  const framedUnknown = Buffer.concat([Buffer.from([0, 0, 0, unknownType.length]), unknownType]);
  for (const wire of [Buffer.from([0, 0, 0, 4, 0x80, 1, 0, 1]), Buffer.from([0, 0, 0, 4, 0x80, 2, 0, 1]), framedUnknown]) {
    const raw = net.connect(server.address().port, '127.0.0.1');
    raw.on('error', () => {});
    raw.resume();
    raw.write(wire);
    await waitFor(raw, 'close');
  }
  assert.deepStrictEqual(errors.slice(-3).map((e) => e.code), ['ERR_FRAME_MALFORMED', 'ERR_THRIFT_PROTOCOL', 'ERR_THRIFT_PROTOCOL']);
  assert.match(errors.at(-1).message, /Invalid type: 5/);
  assert.ok(errors.every((e) => typeof e.code === 'string' && e.message), 'every error has a code and a message');
  assert.deepStrictEqual(await p((cb) => client.add(5, 5, cb)), { error: null, value: 10 });
  connection.end();
  server.close();
});

for (const [transport, protocol] of [
  ['TBufferedTransport', 'TBinaryProtocol'],
  ['TFramedTransport', 'TCompactProtocol'],
]) {
  test(`stdio: a child process serving ${transport} + ${protocol} on its stdin and stdout`, async () => {
    const script = path.join(__dirname, 'fixtures', 'thrift-stdio-server.js');
    const genDir = path.join(out, 'gen-nodejs');
    const connection = ck.createStdIOConnection(`${process.execPath} ${script} ${genDir} ${transport} ${protocol}`, {
      transport: ck[transport],
      protocol: ck[protocol],
    });
    const client = ck.createStdIOClient(Calc, connection);
    const sums = await Promise.all([1, 2, 3].map((n) => p((cb) => client.add(n, n, cb))));
    assert.deepStrictEqual(sums.map((r) => r.value), [2, 4, 6]);
    const exited = waitFor(connection, 'exit');
    connection.end();
    assert.deepStrictEqual(await exited, [0, null]);
  });
}

test('JSON protocol (split in JS): reconnect events and a failed pending call across a drop', async () => {
  const server = await realServer('TBufferedTransport', 'TJSONProtocol');
  const sockets = new Set();
  server.on('connection', (s) => sockets.add(s));
  const connection = ck.createConnection('127.0.0.1', server.address().port, { protocol: ck.TJSONProtocol, max_attempts: 5 });
  connection.on('error', () => {});
  const client = ck.createClient(Calc, connection);
  assert.deepStrictEqual(await p((cb) => client.add(1, 2, cb)), { error: null, value: 3 });
  const pending = p((cb) => client.slow(2000, cb));
  await new Promise((r) => setTimeout(r, 50));
  const reconnecting = waitFor(connection, 'reconnecting');
  for (const s of sockets) s.destroy();
  assert.ok((await pending).error instanceof Error);
  await reconnecting;
  await waitFor(connection, 'connect', 5000);
  assert.deepStrictEqual(await p((cb) => client.add(2, 2, cb)), { error: null, value: 4 });
  connection.end();
  server.close();
});

test('a 2 GB frame length or a reply cut off mid-way fails the pending calls, without a crash', async () => {
  for (const reply of [Buffer.from([0x7f, 0xff, 0xff, 0xff]), Buffer.from([0, 0, 0, 40, 0x80, 1, 0, 2, 0, 0])]) {
    // A server that answers every request with `reply`, then hangs up.
    const server = net.createServer((socket) => socket.once('data', () => socket.end(reply)));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const connection = ck.createConnection('127.0.0.1', server.address().port, { transport: ck.TFramedTransport });
    const errors = [];
    connection.on('error', (e) => errors.push(e));
    const closed = waitFor(connection, 'close');
    const client = ck.createClient(Calc, connection);
    const { error } = await p((cb) => client.add(1, 2, cb));
    assert.ok(error instanceof Error, 'the call fails');
    await closed;
    if (reply.length === 4) assert.ok(errors.some((e) => e.code === 'ERR_FRAME_TOO_LARGE'), 'the oversize frame is reported');
    server.close();
  }
});

// Apache Thrift's Python library (PyPI `thrift`) serving; the Python code is generated at
// test time by the same compiler.
const pyOut = fs.mkdtempSync(path.join(os.tmpdir(), 'connkit-py-'));
test.after(() => fs.rmSync(pyOut, { recursive: true, force: true }));
execFileSync('thrift', ['--gen', 'py', '-out', pyOut, path.join(__dirname, 'fixtures', 'thrift', 'calc.thrift')]);

async function pythonServer(transport, protocol, port = 0) {
  const script = path.join(__dirname, 'fixtures', 'thrift-py-server.py');
  const child = spawn('python3', [script, pyOut, transport, protocol, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await Promise.race([
    once(child.stdout.setEncoding('utf8'), 'data'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`the Python server exited (${code}): is PyPI's thrift installed? (README, Requirements)`);
    }),
  ]);
  return { child, port: Number(line), kill: () => process.kill(child.pid, 'SIGKILL') };
}

for (const [transport, protocol] of ['buffered', 'framed'].flatMap((t) => ['binary', 'compact', 'json'].map((p) => [t, p]))) {
  test(`connkit client, Python server: ${transport} + ${protocol}, calls of every shape`, async () => {
    const python = await pythonServer(transport, protocol);
    const names = { buffered: 'TBufferedTransport', framed: 'TFramedTransport', binary: 'TBinaryProtocol', compact: 'TCompactProtocol', json: 'TJSONProtocol' };
    const connection = ck.createConnection('127.0.0.1', python.port, { transport: ck[names[transport]], protocol: ck[names[protocol]] });
    try {
      await callsOfEveryShape(connection, ck.createClient(Calc, connection));
    } finally {
      connection.end();
      python.kill();
    }
  });
}

test('a Python server killed with calls in flight: they fail, and calls made while it is down go out once it is back', async () => {
  let python = await pythonServer('framed', 'compact');
  const connection = ck.createConnection('127.0.0.1', python.port, { transport: ck.TFramedTransport, protocol: ck.TCompactProtocol, max_attempts: 20 });
  connection.on('error', () => {});
  const client = ck.createClient(Calc, connection);
  assert.deepStrictEqual(await p((cb) => client.add(1, 1, cb)), { error: null, value: 2 });
  const inFlight = [p((cb) => client.slow(3000, cb)), p((cb) => client.slow(3000, cb))];
  await new Promise((r) => setTimeout(r, 100));
  const reconnecting = waitFor(connection, 'reconnecting');
  python.kill();
  for (const { error } of await Promise.all(inFlight)) assert.ok(error instanceof Error, 'a call in flight fails');
  await reconnecting;
  const offline = [p((cb) => client.add(2, 3, cb)), p((cb) => client.add(4, 5, cb))];
  python = await pythonServer('framed', 'compact', python.port);
  try {
    assert.deepStrictEqual((await Promise.all(offline)).map((r) => r.value), [5, 9]);
  } finally {
    connection.end();
    python.kill();
  }
});

test('open(callback): calls back on connect, opens a closed connection anew, and fails when it cannot', async () => {
  const server = await realServer('TFramedTransport', 'TBinaryProtocol');
  const connection = ck.createConnection('127.0.0.1', server.address().port, { transport: ck.TFramedTransport });
  const client = ck.createClient(Calc, connection);
  assert.strictEqual(await new Promise((resolve) => connection.open(resolve)), undefined);
  assert.strictEqual(connection.isOpen(), true);
  connection.end();
  await waitFor(connection, 'close');
  assert.strictEqual(connection.isOpen(), false);
  await new Promise((resolve, reject) => connection.open((error) => (error ? reject(error) : resolve())));
  assert.deepStrictEqual(await p((cb) => client.add(4, 4, cb)), { error: null, value: 8 });
  connection.end();
  server.close();

  const refused = ck.createConnection('127.0.0.1', 1, { transport: ck.TFramedTransport });
  refused.on('error', () => {});
  const error = await new Promise((resolve) => refused.open(resolve));
  assert.strictEqual(error.code, 'ECONNREFUSED');

  const raw = net.createServer((s) => s.end());
  await new Promise((resolve) => raw.listen(0, '127.0.0.1', resolve));
  const own = new ck.Connection(net.connect(raw.address().port, '127.0.0.1'));
  await waitFor(own, 'close');
  assert.throws(() => own.open(), { code: 'ERR_THRIFT_CLOSED' });
  raw.close();
});

test('TLS options the core cannot honour are refused at once, not ignored', () => {
  assert.throws(() => ck.createSSLConnection('localhost', 1, { pfx: Buffer.alloc(1) }), { code: 'ERR_CONNKIT_UNSUPPORTED_OPTION', message: /"pfx"/ });
  assert.throws(() => ck.createServer(Calc, handler, { tls: { key: 'k', cert: 'c', passphrase: 'p' } }), { code: 'ERR_CONNKIT_UNSUPPORTED_OPTION', message: /"passphrase"/ });
});

test('a client certificate in X.509 v1 (as Apache Thrift\'s test keys are) authenticates to a server that requires one', async () => {
  const certs = makeCerts();
  const secure = real.createServer(Calc, handler, { tls: { key: certs.key, cert: certs.cert, ca: certs.ca, requestCert: true, rejectUnauthorized: true } });
  await new Promise((resolve) => secure.listen(0, '127.0.0.1', resolve));
  const port = secure.address().port;
  const connection = ck.createSSLConnection('localhost', port, { ca: certs.ca, key: certs.clientKey, cert: certs.clientV1Cert });
  assert.deepStrictEqual(await p((cb) => ck.createClient(Calc, connection).add(6, 7, cb)), { error: null, value: 13 });
  connection.end();
  // A key that is not the certificate's does not get in: a v1 certificate cannot be
  // compared with its key up front, so the server's check is what fails (under TLS 1.3
  // after the client's side of the handshake, as with Node).
  const mismatched = ck.createSSLConnection('localhost', port, { ca: certs.ca, key: certs.key, cert: certs.clientV1Cert });
  const errors = [];
  mismatched.on('error', (e) => errors.push(e));
  const closed = waitFor(mismatched, 'close');
  const { error } = await p((cb) => ck.createClient(Calc, mismatched).add(1, 1, cb));
  assert.ok(error instanceof Error, 'the call fails');
  await closed;
  assert.ok(errors.length > 0, 'the failure is reported');
  secure.close();
});

test('promise style (code generated as es6): results, exceptions, and a rejection when the server goes away', async () => {
  const es6 = path.join(out, 'es6');
  fs.mkdirSync(es6);
  execFileSync('thrift', ['--gen', 'js:node,es6', '-o', es6, path.join(__dirname, 'fixtures', 'thrift', 'calc.thrift')]);
  const CalcEs6 = require(path.join(es6, 'gen-nodejs', 'Calc.js'));
  const typesEs6 = require(path.join(es6, 'gen-nodejs', 'calc_types.js'));
  const promised = { ...handler, add: async (a, b) => a + b, fail: async (why) => Promise.reject(new typesEs6.Oops({ why })) };
  for (const lib of [real, ck]) {
    const server = lib.createServer(CalcEs6, promised, { transport: lib.TFramedTransport, protocol: lib.TCompactProtocol });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const sockets = new Set();
    server.on('connection', (s) => sockets.add(s));
    const connection = ck.createConnection('127.0.0.1', server.address().port, { transport: ck.TFramedTransport, protocol: ck.TCompactProtocol });
    connection.on('error', () => {});
    const client = ck.createClient(CalcEs6, connection);
    assert.strictEqual(await client.add(20, 22), 42);
    await assert.rejects(client.fail('no'), (e) => e instanceof typesEs6.Oops && e.why === 'no');
    assert.deepStrictEqual(await Promise.all([1, 2, 3].map((n) => client.add(n, n))), [2, 4, 6]);
    if (lib === real) {
      // A call in flight when the server drops the connection is rejected, not left pending.
      const pending = client.slow(2000);
      await new Promise((r) => setTimeout(r, 50));
      for (const s of sockets) s.destroy();
      await assert.rejects(pending, (e) => e instanceof Error);
    }
    connection.end();
    server.close();
  }
});

test('a connkit server answers out of order on one connection without the protocols warning "SeqId already set"', async () => {
  const logged = [];
  ck.setLogFunc((line) => logged.push(line));
  try {
    for (const [transport, protocol] of [['TFramedTransport', 'TCompactProtocol'], ['TBufferedTransport', 'TBinaryProtocol']]) {
      const server = await serve(ck, transport, protocol);
      const connection = ck.createConnection('127.0.0.1', server.address().port, { transport: ck[transport], protocol: ck[protocol] });
      const client = ck.createClient(Calc, connection);
      const order = [];
      const slow = p((cb) => client.slow(60, cb)).then((r) => order.push(['slow', r.value]));
      const quick = Promise.all([1, 2, 3].map((n) => p((cb) => client.add(n, 10, cb)).then((r) => order.push(['add', r.value]))));
      await Promise.all([slow, quick]);
      assert.deepStrictEqual(order, [['add', 11], ['add', 12], ['add', 13], ['slow', 60]]);
      connection.end();
      server.close();
    }
    assert.deepStrictEqual(logged.filter((line) => line.includes('SeqId')), []);
  } finally {
    ck.setLogFunc(console.log);
  }
});

test('a lost session fails only calls whose requests reached it; the unsent are answered on the next', async () => {
  // The first server reads nothing: requests back up in the kernel, then in the core.
  let victim = null;
  const first = net.createServer((s) => {
    victim = s;
    s.pause();
  });
  await new Promise((r) => first.listen(0, '127.0.0.1', r));
  const { port } = first.address();
  const connection = ck.createConnection('127.0.0.1', port, { transport: ck.TFramedTransport, max_attempts: 20 });
  connection.on('error', () => {});
  const client = ck.createClient(Calc, connection);
  await once(connection, 'connect');
  const N = 200_000; // about 6 MB of requests: more than loopback's buffers take
  const outcome = new Array(N);
  for (let i = 0; i < N; i++) client.add(i, 1, (e, v) => (outcome[i] = e ? 'failed' : v === i + 1 ? 'answered' : 'wrong'));
  await new Promise((r) => setTimeout(r, 200));
  victim.resetAndDestroy();
  await new Promise((r) => first.close(r));
  const ran = new Set();
  const second = real.createServer(Calc, { add: (a, b, result) => (ran.add(a), result(null, a + b)) }, { transport: real.TFramedTransport });
  await new Promise((r) => second.listen(port, '127.0.0.1', r));
  const deadline = Date.now() + 10_000;
  while (outcome.filter(Boolean).length < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const failed = outcome.flatMap((o, i) => (o === 'failed' ? [i] : []));
  assert.strictEqual(outcome.filter(Boolean).length, N, 'every call settled');
  assert.deepStrictEqual(failed.filter((i) => ran.has(i)).length, 0, 'no call ran after it was reported failed');
  assert.ok(failed.length > 0 && failed.length < N, `some calls failed with the session (${failed.length}), not all`);
  assert.strictEqual(outcome.filter((o) => o === 'answered').length, N - failed.length);
  connection.end();
  await new Promise((r) => second.close(r));
});
