'use strict';

// connkit/thrift's HTTP, HTTP-over-unix-socket, XHR (in Node) and WebSocket
// connections and its web server, against the real thrift 0.24.0 in both directions,
// with code generated at test time; then the faults: bad statuses, resets, timeouts,
// garbage and abnormal closes, oversized input.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const real = require('thrift');
const ck = require('connkit/thrift');
const { WebServer } = require('connkit');
const { waitFor, until, makeCerts, tmpSocket, tmpDir, thriftCalc } = require('./helpers');

let pings = 0;
const { Calc, types, handler } = thriftCalc(test.after, { ping: () => pings++ });

const impls = { connkit: ck, original: real };
const p = (fn) => new Promise((resolve) => fn((error, value) => resolve({ error, value })));
const certs = makeCerts();

/** A web server of `lib` serving Calc at /calc; `where`: a port (0) or a socket path. */
async function webServer(lib, transport, protocol, { tls, where = 0 } = {}) {
  const server = lib.createWebServer({
    services: { '/calc': { transport: lib[transport], protocol: lib[protocol], processor: Calc, handler } },
    tls: tls ? { key: certs.key, cert: certs.cert } : undefined,
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    if (typeof where === 'string') server.listen(where, resolve);
    else server.listen(where, '127.0.0.1', resolve);
  });
  return server;
}

/** Closes a web server; connkit's must call back once every connection is gone. The
 * original's (a Node http.Server) never calls back after a WebSocket upgrade. */
function closeServer(server) {
  if (server instanceof http.Server) {
    server.closeAllConnections();
    server.close();
    return Promise.resolve();
  }
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A client of `lib` of `kind` (http, uds, xhr, ws) to `server`. */
function connect(lib, kind, server, transport, protocol, { tls, socket } = {}) {
  const options = { transport: lib[transport], protocol: lib[protocol], path: '/calc' };
  const port = typeof server.address() === 'object' ? server.address().port : undefined;
  if (kind === 'ws') {
    const secure = tls ? { secure: true, wsOptions: { ca: certs.ca } } : {};
    const connection = lib.createWSConnection('localhost', port, { ...options, ...secure });
    return { connection, client: lib.createWSClient(Calc, connection) };
  }
  if (kind === 'uds') {
    const connection = lib.createHttpUDSConnection(socket, options);
    return { connection, client: lib.createHttpClient(Calc, connection) };
  }
  if (kind === 'xhr') {
    const connection = lib.createXHRConnection('localhost', port, options);
    return { connection, client: lib.createXHRClient(Calc, connection) };
  }
  const secure = tls ? { https: true, nodeOptions: { ca: certs.ca } } : {};
  const connection = lib.createHttpConnection('localhost', port, { ...options, ...secure });
  return { connection, client: lib.createHttpClient(Calc, connection) };
}

/** Calls of every shape; `big`: the size of the binary echoed (the original web
 * server decodes a WebSocket frame only if it arrives in one read, so less for it). */
async function callsOfEveryShape(client, { big = 300 * 1024, oneway = false } = {}) {
  assert.deepStrictEqual(await p((cb) => client.add(1, 2, cb)), { error: null, value: 3 });
  const pair = new types.Pair({ a: 7, b: 'ü✓', c: [new real.Int64(5)], d: { k: new types.Pair({ a: 1, b: 'x', c: [], d: {} }) } });
  const echoed = await p((cb) => client.echo(pair, cb));
  assert.strictEqual(echoed.value.b, 'ü✓');
  assert.strictEqual(echoed.value.d.k.a, 1);
  const data = Buffer.alloc(big, 7);
  assert.ok((await p((cb) => client.blob(data, cb))).value.equals(data));
  const failed = await p((cb) => client.fail('no', cb));
  assert.ok(failed.error instanceof types.Oops);
  assert.strictEqual(failed.error.why, 'no');
  if (oneway) {
    const before = pings;
    client.ping(() => {});
    await until(() => pings === before + 1, 5000, 'the oneway call');
  }
  const sums = (await Promise.all(Array.from({ length: 100 }, (_, i) => p((cb) => client.add(i, i, cb))))).map((r) => r.value);
  assert.deepStrictEqual(sums, Array.from({ length: 100 }, (_, i) => 2 * i));
}

const STACKS = [];
for (const transport of ['TBufferedTransport', 'TFramedTransport']) {
  for (const protocol of ['TBinaryProtocol', 'TCompactProtocol', 'TJSONProtocol']) STACKS.push([transport, protocol]);
}
const PAIRS = [
  ['connkit', 'original'],
  ['original', 'connkit'],
  ['connkit', 'connkit'],
];

for (const [transport, protocol] of STACKS) {
  for (const [clientName, serverName] of PAIRS) {
    const label = `${clientName} client, ${serverName} web server: ${transport} + ${protocol}`;

    test(`${label}, over HTTP, HTTP on a unix socket and XHR`, async () => {
      const server = await webServer(impls[serverName], transport, protocol);
      const socket = tmpSocket();
      const udsServer = await webServer(impls[serverName], transport, protocol, { where: socket });
      try {
        // The original's XHRConnection needs a browser; in Node only connkit's runs.
        const kinds = clientName === 'connkit' ? ['http', 'uds', 'xhr'] : ['http', 'uds'];
        for (const kind of kinds) {
          const { connection, client } = connect(impls[clientName], kind, kind === 'uds' ? udsServer : server, transport, protocol, { socket });
          // Oneway calls over HTTP are never answered by the original's web server.
          await callsOfEveryShape(client);
          connection.close?.();
        }
      } finally {
        await closeServer(server);
        await closeServer(udsServer);
      }
    });

    test(`${label}, over WebSocket`, async () => {
      const server = await webServer(impls[serverName], transport, protocol);
      try {
        const { connection, client } = connect(impls[clientName], 'ws', server, transport, protocol);
        // The original's web server never answers a close frame, nor hangs up.
        connection.options.closeTimeout = 50;
        // Calls made before open() go out once it is.
        const early = p((cb) => client.add(20, 22, cb));
        connection.open();
        await waitFor(connection, 'open');
        assert.deepStrictEqual(await early, { error: null, value: 42 });
        await callsOfEveryShape(client, { big: serverName === 'original' ? 16 * 1024 : 300 * 1024, oneway: true });
        const closed = waitFor(connection, 'close', serverName === 'original' && clientName === 'original' ? 35000 : 5000);
        connection.close();
        assert.ok(!connection.isOpen(), 'closing at once');
        await closed;
      } finally {
        await closeServer(server);
      }
    });
  }
}

for (const [clientName, serverName] of PAIRS) {
  test(`${clientName} client, ${serverName} web server: https and wss, with an untrusted CA refused`, async () => {
    const lib = impls[clientName];
    const server = await webServer(impls[serverName], 'TBufferedTransport', 'TBinaryProtocol', { tls: true });
    try {
      const https = connect(lib, 'http', server, 'TBufferedTransport', 'TBinaryProtocol', { tls: true });
      await callsOfEveryShape(https.client, { big: 64 * 1024 });
      https.connection.close?.();
      const wss = connect(lib, 'ws', server, 'TBufferedTransport', 'TBinaryProtocol', { tls: true });
      wss.connection.open();
      await waitFor(wss.connection, 'open');
      assert.deepStrictEqual(await p((cb) => wss.client.add(2, 3, cb)), { error: null, value: 5 });
      wss.connection.close();
      if (clientName === 'connkit') {
        const port = server.address().port;
        const untrusted = ck.createHttpConnection('localhost', port, { https: true, nodeOptions: { ca: certs.otherCa } });
        const errors = [];
        untrusted.on('error', (e) => errors.push(e));
        const refused = await p((cb) => ck.createHttpClient(Calc, untrusted).add(1, 1, cb));
        assert.strictEqual(refused.error.code, 'ERR_TLS_CERT_INVALID');
        assert.deepStrictEqual(errors, [refused.error]);
        // A Node TLS option the core cannot honour fails the call, as it fails a TLS connection.
        const pfx = ck.createHttpConnection('localhost', port, { https: true, nodeOptions: { pfx: Buffer.from('x') } });
        const unsupported = await p((cb) => ck.createHttpClient(Calc, pfx).add(1, 1, cb));
        assert.strictEqual(unsupported.error.code, 'ERR_CONNKIT_UNSUPPORTED_OPTION');
      }
    } finally {
      await closeServer(server);
    }
  });
}

/** A plain HTTP server answering each request with `answer(req, res)`. */
async function plainServer(answer) {
  const server = http.createServer(answer);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

test('a status other than 200, a reset mid-response and a timeout fail their calls with the cause; others go on', async () => {
  let n = 0;
  const good = await webServer(real, 'TBufferedTransport', 'TBinaryProtocol');
  const target = `http://127.0.0.1:${good.address().port}/calc`;
  // Forwards to a real web server, except the 2nd request (500) and the 3rd (reset).
  const flaky = await plainServer((req, res) => {
    const body = [];
    req.on('data', (d) => body.push(d));
    req.on('end', () => {
      n++;
      if (n === 2) return res.writeHead(500).end('no');
      if (n === 3) {
        res.writeHead(200, { 'content-length': 100 });
        res.write('partial');
        return setTimeout(() => res.destroy(), 20);
      }
      const forward = http.request(target, { method: 'POST' }, (answer) => {
        res.writeHead(answer.statusCode);
        answer.pipe(res);
      });
      forward.on('error', () => res.destroy()); // the test is over
      forward.end(Buffer.concat(body));
    });
  });
  try {
    const connection = ck.createHttpConnection('127.0.0.1', flaky.address().port, { path: '/calc', nodeOptions: { timeout: 300 } });
    const errors = [];
    connection.on('error', (e) => errors.push(e));
    const client = ck.createHttpClient(Calc, connection);
    assert.deepStrictEqual(await p((cb) => client.add(1, 1, cb)), { error: null, value: 2 });
    const status = await p((cb) => client.add(1, 2, cb));
    assert.ok(status.error instanceof real.Thrift.TApplicationException);
    assert.strictEqual(status.error.statusCode, 500);
    assert.strictEqual(status.error.message, 'Received a response with a bad HTTP status code: 500');
    const reset = await p((cb) => client.add(1, 3, cb));
    assert.strictEqual(reset.error.code, 'ECONNRESET');
    const started = Date.now();
    const slow = await p((cb) => client.slow(1000, cb));
    assert.strictEqual(slow.error.code, 'ETIMEDOUT');
    assert.ok(Date.now() - started < 900, 'failed at the timeout, not at the answer');
    assert.deepStrictEqual(await p((cb) => client.add(2, 2, cb)), { error: null, value: 4 });
    assert.deepStrictEqual(errors, [status.error, reset.error, slow.error]);
    connection.close();
  } finally {
    await closeServer(flaky);
    await closeServer(good);
  }
});

test('the web server: 403 for unknown services and denied origins, CORS, static files kept under their root', async () => {
  const files = tmpDir();
  fs.writeFileSync(path.join(files, 'index.html'), '<p>hi</p>');
  fs.mkdirSync(path.join(files, 'sub'));
  fs.writeFileSync(path.join(files, 'sub', 'app.js'), 'x()');
  const secret = path.join(path.dirname(files), `${path.basename(files)}-secret.txt`);
  fs.writeFileSync(secret, 'secret');
  for (const lib of [real, ck]) {
    const server = lib.createWebServer({
      services: { '/calc': { processor: Calc, handler } },
      cors: { 'http://ok.example': true },
      files,
      headers: { 'X-Static': 'yes' },
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = server.address().port;
    const ask = (method, urlPath, headers = {}) =>
      new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers, agent: false }, (res) => {
          const body = [];
          res.on('data', (d) => body.push(d));
          res.on('end', () => resolve({ status: res.statusCode, message: res.statusMessage, headers: res.headers, body: Buffer.concat(body).toString() }));
        });
        req.on('error', reject);
        req.end(method === 'POST' ? 'x' : undefined);
      });
    try {
      const name = lib === ck ? 'connkit' : 'original';
      const unknown = await ask('POST', '/nope');
      assert.deepStrictEqual([unknown.status, unknown.message], [403, 'No Apache Thrift Service at /nope'], name);
      const denied = await ask('POST', '/calc', { origin: 'http://evil.example' });
      assert.deepStrictEqual([denied.status, denied.message], [403, 'Origin http://evil.example not allowed'], name);
      const preflight = await ask('OPTIONS', '/calc', { origin: 'http://ok.example' });
      assert.strictEqual(preflight.status, 204, name);
      assert.strictEqual(preflight.headers['access-control-allow-origin'], 'http://ok.example', name);
      assert.strictEqual(preflight.headers['access-control-allow-methods'], 'GET, POST, OPTIONS', name);
      const page = await ask('GET', '/');
      assert.deepStrictEqual([page.status, page.body, page.headers['content-type'], page.headers['x-static']], [200, '<p>hi</p>', 'text/html', 'yes'], name);
      const script = await ask('GET', '/sub/app.js');
      assert.deepStrictEqual([script.status, script.headers['content-type']], [200, 'application/javascript'], name);
      assert.strictEqual((await ask('GET', '/missing.txt')).status, 404, name);
      const escape = await ask('GET', `/../${path.basename(secret)}`);
      assert.notStrictEqual(escape.body, 'secret', name);
      assert.strictEqual((await ask('DELETE', '/calc')).status, 500, name);
      if (lib === ck) {
        // 'x' is a request cut short: the original waits for the rest forever.
        assert.strictEqual((await ask('POST', '/calc')).status, 400, name);
      }
    } finally {
      await closeServer(server);
    }
  }
  fs.rmSync(secret);
});

/** Opens a raw WebSocket to `port` by hand: the handshake, then whatever bytes we like. */
async function rawWebSocket(port) {
  const socket = net.connect(port, '127.0.0.1');
  await waitFor(socket, 'connect');
  socket.write('GET /calc HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  const [head] = await waitFor(socket, 'data');
  assert.match(head.toString(), /^HTTP\/1\.1 101 /);
  assert.match(head.toString(), /sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
  return socket;
}

test('WebSocket faults: garbage and oversized frames drop only their connection; an abnormal close fails the calls in flight', async () => {
  const server = await webServer(ck, 'TFramedTransport', 'TBinaryProtocol');
  const serverErrors = [];
  server.on('error', (e) => serverErrors.push(e));
  const port = server.address().port;
  try {
    const { connection, client } = connect(ck, 'ws', server, 'TFramedTransport', 'TBinaryProtocol');
    connection.open();
    await waitFor(connection, 'open');
    assert.deepStrictEqual(await p((cb) => client.add(1, 1, cb)), { error: null, value: 2 });

    const garbage = await rawWebSocket(port);
    garbage.write(Buffer.from([0xf3, 0x85, 1, 2, 3, 4, 5, 6, 7, 8, 9])); // reserved bits and opcode
    await waitFor(garbage, 'close');
    await until(() => serverErrors.some((e) => e.code === 'ERR_FRAME_MALFORMED'), 5000, 'the malformed-frame error');

    const huge = await rawWebSocket(port);
    // A masked binary frame announcing 2^40 bytes: refused from its header.
    huge.write(Buffer.from([0x82, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4]));
    await waitFor(huge, 'close');
    await until(() => serverErrors.some((e) => e.code === 'ERR_FRAME_TOO_LARGE'), 5000, 'the too-large error');

    // The first client never noticed.
    assert.deepStrictEqual(await p((cb) => client.add(2, 2, cb)), { error: null, value: 4 });
    // The server answers a close frame with its code (and no reason), then hangs up.
    connection.close(4000, 'bye');
    assert.deepStrictEqual(await waitFor(connection, 'close'), [4000, '']);
  } finally {
    await closeServer(server);
  }

  // A peer that vanishes mid-call, without a close frame.
  const vanishing = await handWebSocketServer((socket) => socket.once('data', () => socket.destroy()));
  try {
    const connection = ck.createWSConnection('127.0.0.1', vanishing.address().port, { transport: ck.TBufferedTransport, protocol: ck.TBinaryProtocol });
    const client = ck.createWSClient(Calc, connection);
    connection.open();
    const call = p((cb) => client.add(1, 2, cb));
    const [code, reason] = await waitFor(connection, 'close');
    assert.deepStrictEqual([code, reason], [1006, '']);
    assert.strictEqual((await call).error.code, 'ECONNRESET');
  } finally {
    vanishing.close();
  }
});

/** A server that accepts one WebSocket by hand and hands its socket to `onOpen`. */
async function handWebSocketServer(onOpen) {
  const server = net.createServer((socket) => {
    socket.once('data', (req) => {
      const key = /sec-websocket-key: (.*)\r\n/i.exec(req.toString())[1];
      const accept = require('node:crypto').createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      onOpen(socket);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** The payload of one masked client frame at the start of `buf` (short lengths only). */
function unmasked(buf) {
  const len = buf[1] & 0x7f;
  const mask = buf.subarray(2, 6);
  return { opcode: buf[0] & 0x0f, masked: (buf[1] & 0x80) !== 0, payload: Buffer.from(buf.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4])) };
}

test('a WebSocket client answers pings with pongs and a server close with its own, and reports the code and reason', async () => {
  const frames = [];
  let peer = null;
  const server = await handWebSocketServer((socket) => {
    peer = socket;
    socket.on('data', (d) => frames.push(d));
    socket.write(Buffer.from([0x89, 0x04, ...Buffer.from('ping')]));
  });
  try {
    const connection = ck.createWSConnection('127.0.0.1', server.address().port, {});
    connection.open();
    await waitFor(connection, 'open');
    await until(() => frames.length > 0, 5000, 'the pong');
    assert.deepStrictEqual(unmasked(frames[0]), { opcode: 0xa, masked: true, payload: Buffer.from('ping') });
    const closed = waitFor(connection, 'close');
    peer.write(Buffer.from([0x88, 0x0c, 0x03, 0xe9, ...Buffer.from('going away')]));
    assert.deepStrictEqual(await closed, [1001, 'going away']);
    await until(() => frames.length > 1, 5000, 'the close reply');
    assert.deepStrictEqual(unmasked(frames[1]), { opcode: 0x8, masked: true, payload: Buffer.from([0x03, 0xe9]) });
  } finally {
    server.close();
  }
});

test('a refused WebSocket handshake fails the connection with the status, and its calls with it', async () => {
  const refusing = await plainServer((req, res) => res.writeHead(404).end());
  try {
    const connection = ck.createWSConnection('127.0.0.1', refusing.address().port, {});
    const client = ck.createWSClient(Calc, connection);
    const failed = waitFor(connection, 'error');
    const closed = waitFor(connection, 'close');
    connection.open();
    const [error] = await failed;
    assert.deepStrictEqual([error.code, error.message], ['ERR_WS_HANDSHAKE', 'Unexpected server response: 404']);
    assert.deepStrictEqual(await closed, [1006, '']);
    assert.ok(!connection.isOpen());
    // A call made now is queued for the next open(), as the original's are.
    client.add(1, 1, () => {});
    assert.strictEqual(connection.send_pending.length, 1);
  } finally {
    await closeServer(refusing);
  }
});

test('connkit WebServer: an oversized POST gets 413 and the server serves on', async () => {
  const server = new WebServer({ maxBodySize: 1024 });
  server.on('request', (request) => request.respond(200, request.body));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const post = (body) =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: server.address().port, method: 'POST', path: '/echo', agent: false }, (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => resolve([res.statusCode, Buffer.concat(chunks).toString()]));
      });
      req.on('error', reject);
      req.end(body);
    });
  try {
    assert.deepStrictEqual(await post('x'.repeat(2000)), [413, 'HTTP body exceeds the maximum of 1024 bytes']);
    assert.deepStrictEqual(await post('small'), [200, 'small']);
  } finally {
    await closeServer(server);
  }
});

test("connkit HttpClient and WebSocket: the core's own headers win over those given, a Host given is kept, and connection-only options are refused", async () => {
  const { HttpClient, createConnection } = require('connkit');
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push(req.rawHeaders);
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  server.on('upgrade', (req, socket) => {
    seen.push(req.rawHeaders);
    socket.destroy();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const count = (raw, name) => raw.filter((v, i) => i % 2 === 0 && v.toLowerCase() === name).length;
  try {
    const client = new HttpClient({ host: '127.0.0.1', port, headers: { 'Content-Length': '999', Host: 'api.example' } });
    const [error, status, body] = await new Promise((resolve) => client.request('four', (...args) => resolve(args)));
    client.close();
    assert.deepStrictEqual([error, status, String(body)], [null, 200, 'ok']);
    const [posted] = seen;
    assert.strictEqual(count(posted, 'content-length'), 1);
    assert.strictEqual(posted[posted.findIndex((v) => v.toLowerCase() === 'content-length') + 1], '4');
    assert.strictEqual(posted[posted.findIndex((v) => v.toLowerCase() === 'host') + 1], 'api.example');

    const ws = createConnection({ host: '127.0.0.1', port, websocket: { headers: { Host: 'ws.example', Upgrade: 'nonsense' } } });
    ws.on('error', () => {});
    await waitFor(ws, 'close');
    const upgrade = seen[1];
    assert.strictEqual(count(upgrade, 'host'), 1);
    assert.strictEqual(upgrade[upgrade.findIndex((v) => v.toLowerCase() === 'host') + 1], 'ws.example');
    assert.strictEqual(count(upgrade, 'upgrade'), 1);
    assert.strictEqual(upgrade[upgrade.findIndex((v) => v.toLowerCase() === 'upgrade') + 1], 'websocket');

    for (const option of [{ websocket: true }, { reconnect: true }, { framing: 'length' }]) {
      assert.throws(() => new HttpClient({ host: '127.0.0.1', port, ...option }), { code: 'ERR_INVALID_ARG_VALUE' });
    }
  } finally {
    await closeServer(server);
  }
});

test('connkit closeWebSocket: what was written arrives, then the close frame; finish and end callbacks follow', async () => {
  const { createConnection } = require('connkit');
  const server = new WebServer({ websocket: true });
  const received = [];
  let peer;
  const closed = new Promise((resolve) => {
    server.on('connection', (conn) => {
      peer = conn;
      conn.on('frame', (frame) => received.push(String(frame)));
      conn.on('closeframe', (code, reason) => resolve([code, reason]));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const ws = createConnection({ host: '127.0.0.1', port: server.address().port, websocket: { path: '/ws' } });
    await waitFor(ws, 'connect');
    ws.write('one');
    ws.write('two');
    const finished = waitFor(ws, 'finish');
    const gone = waitFor(ws, 'close');
    ws.closeWebSocket(1000, 'done');
    const ended = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("end()'s callback was not called")), 5000);
      ws.end(() => resolve(clearTimeout(timer)));
    });
    assert.deepStrictEqual(await closed, [1000, 'done']);
    assert.deepStrictEqual(received, ['one', 'two']);
    // The upgraded connection knows its peer, as any accepted one.
    assert.deepStrictEqual([peer.remoteAddress, peer.remotePort], ['127.0.0.1', ws.localPort]);
    await finished;
    await ended;
    await gone;
  } finally {
    await closeServer(server);
  }
});

test('connkit HttpClient: requests made together are each answered with their own reply, on connections kept for reuse', async () => {
  const { HttpClient } = require('connkit');
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    sockets.add(req.socket);
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => res.end(`re:${body}`));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new HttpClient({ host: '127.0.0.1', port: server.address().port });
  try {
    for (let round = 0; round < 3; round++) {
      const calls = Array.from({ length: 40 }, (_, i) => new Promise((resolve) => client.request(String(i), (...args) => resolve(args))));
      const answers = await Promise.all(calls);
      assert.deepStrictEqual(answers.map(([error, status, body]) => [error, status, String(body)]), calls.map((_, i) => [null, 200, `re:${i}`]));
    }
    // Requests wait their turn to write only once their connection is at hand, so
    // dials overlap: 40 at once open at most 40 connections, reused afterwards.
    assert.ok(sockets.size <= 40, `${sockets.size} sockets for 120 requests`);
  } finally {
    client.close();
    await closeServer(server);
  }
});
