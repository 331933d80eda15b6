'use strict';

// The original @metarhia/jstp 2.3.0 browser build (dist/jstp.umd.js, whose ws
// transport is lib/ws-browser.js on the W3C WebSocket) in Debian's Chromium
// (headless, driven by playwright-core) against a connkit/jstp ws server: handshake,
// calls, remote errors, events both ways, closes from either side, and an upgrade
// that the server's originCheckStrategy refuses. The page is served over loopback
// HTTP, so its origin is http://127.0.0.1:<port>.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const http = require('node:http');
const util = require('node:util');
const jstp = require('connkit/jstp');
const { until } = require('./helpers');

const CHROMIUM = '/usr/bin/chromium';
const UMD = require.resolve('@metarhia/jstp/dist/jstp.umd.js');
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Rejects after `ms` unless `promise` settles first. */
function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// What runs in the page, next to the original's UMD build (window.api.jstp).
// Everything handed back to the test is plain data; live objects stay on window.
const PAGE_JS = `'use strict';
(() => {
  const jstp = window.api.jstp;
  /** Bounded, inside the page too. */
  const within = (ms, promise, what) =>
    Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error('page: timed out: ' + what)), ms))]);
  const plainError = (error) =>
    error && {
      isError: error instanceof Error,
      isEvent: typeof Event !== 'undefined' && error instanceof Event,
      remote: error instanceof jstp.RemoteError,
      name: error.name,
      type: error.type,
      code: error.code,
      message: error.message,
      info: error.info,
      readyState: error.target && error.target.readyState,
    };
  /** The W3C WebSocket's close event, as plain data. */
  const closed = (socket, ms = 5000) =>
    within(
      ms,
      new Promise((resolve) => {
        if (socket.readyState === WebSocket.CLOSED && socket.lastClose) resolve(socket.lastClose);
        socket.addEventListener('close', () => resolve(socket.lastClose));
      }),
      'the WebSocket close event',
    );
  const track = (socket) => {
    if (socket.tracked) return socket;
    socket.tracked = true;
    socket.addEventListener('close', (event) => {
      socket.lastClose = { code: event.code, reason: event.reason, wasClean: event.wasClean };
    });
    return socket;
  };
  window.t = {
    jstp,
    plainError,
    closed,
    /** jstp.ws.connectAndInspect(app, client, ['calc'], url, callback), bounded. */
    connect: (url, { app = 'testApp', client = null, ms = 5000 } = {}) =>
      within(
        ms,
        new Promise((resolve) => {
          jstp.ws.connectAndInspect(app, client, ['calc'], url, (error, connection, proxies) => {
            if (connection) track(connection.getTransport());
            if (error && error.target instanceof WebSocket) track(error.target);
            resolve({ error, connection, calc: proxies && proxies.calc });
          });
        }),
        'connectAndInspect',
      ),
    /** A call through the proxy, as { error, results }, bounded. */
    call: (proxy, method, ...args) =>
      within(
        5000,
        new Promise((resolve) => proxy[method](...args, (error, ...results) => resolve({ error: plainError(error), results }))),
        'calc.' + method,
      ),
    /** The next local emit of \`event\` on the proxy, bounded. */
    next: (proxy, event, ms = 5000) =>
      within(ms, new Promise((resolve) => proxy.once(event, (...args) => resolve(args))), "the '" + event + "' event"),
  };
})();
`;

const INDEX_HTML = [
  '<!doctype html>',
  '<meta charset="utf-8">',
  '<title>connkit/jstp: the original browser client</title>',
  '<script src="/jstp.umd.js"></script>',
  '<script src="/page.js"></script>',
  '',
].join('\n');

/** The page, the original's UMD build and page.js over loopback HTTP. */
async function servePage() {
  const files = {
    '/': ['text/html; charset=utf-8', INDEX_HTML],
    '/jstp.umd.js': ['text/javascript; charset=utf-8', fs.readFileSync(UMD)],
    '/page.js': ['text/javascript; charset=utf-8', PAGE_JS],
  };
  const server = http.createServer((request, response) => {
    const pathname = new URL(request.url, 'http://x').pathname;
    if (pathname === '/favicon.ico') {
      // Not a 404, which Chromium would log on the console.
      response.writeHead(204).end();
      return;
    }
    const file = request.method === 'GET' && files[pathname];
    if (!file) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': file[0], 'cache-control': 'no-store' }).end(file[1]);
  });
  await within(5000, new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)), 'the page server to listen');
  return server;
}

const seen = { notes: [], origins: [] };

/** The application the server offers, as __test__/jstp.test.js's makeApp. */
function makeApp() {
  const api = {
    calc: {
      add: (connection, a, b, callback) => callback(null, a + b),
      divide: (connection, a, b, callback) =>
        b === 0 ? callback(new jstp.RemoteError(42, 'Zero division', ['info'])) : callback(null, a / b),
      echo: (connection, value, callback) => callback(null, value),
      many: (connection, callback) => callback(null, 1, 'two', [3]),
      shout: (connection, text, callback) => {
        connection.emitRemoteEvent('calc', 'shouted', [text.toUpperCase()]);
        callback(null);
      },
    },
  };
  const handlers = { calc: { note: (connection, ...args) => seen.notes.push(args) } };
  return new jstp.Application('testApp@1.2.3', api, handlers);
}

/** A connkit jstp ws server on loopback, port 0. */
async function startServer(webSocketOptions) {
  const server = jstp.ws.createServer({ applications: [makeApp()] }, webSocketOptions);
  server.connected = [];
  server.disconnected = [];
  server.on('connect', (connection) => server.connected.push(connection));
  server.on('disconnect', (connection) => server.disconnected.push(connection));
  await within(5000, new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)), 'the jstp ws server to listen');
  server.url = `ws://127.0.0.1:${server.address().port}/`;
  return server;
}

const closeServer = (server) => within(5000, new Promise((resolve) => server.close(() => resolve())), 'closing the jstp ws server');

let browser = null;
let pageServer = null;
let base = null;
let origin = null;

test.before(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: these tests need Debian's Chromium (apt-get install -y chromium; .ci/run installs it)`);
  }
  const { chromium } = require('playwright-core');
  browser = await within(30000, chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] }), 'launching Chromium');
  pageServer = await servePage();
  base = `http://127.0.0.1:${pageServer.address().port}/`;
  origin = new URL(base).origin;
});

test.after(async () => {
  if (browser) await within(10000, browser.close(), 'closing Chromium').catch(() => {});
  if (pageServer) {
    pageServer.closeAllConnections();
    await within(5000, new Promise((resolve) => pageServer.close(() => resolve())), 'closing the page server').catch(() => {});
  }
});

/** A page with the original's build loaded; its errors, console and WebSocket frames recorded. */
async function openPage() {
  const page = await browser.newPage();
  page.errors = [];
  page.consoleLines = [];
  page.sockets = [];
  page.on('pageerror', (error) => page.errors.push(String(error)));
  page.on('console', (message) => page.consoleLines.push(`${message.type()}: ${message.text()}`));
  page.on('websocket', (socket) => {
    const record = { url: socket.url(), sent: [], received: [], errors: [], closed: false };
    socket.on('framesent', (frame) => record.sent.push(frame.payload));
    socket.on('framereceived', (frame) => record.received.push(frame.payload));
    socket.on('socketerror', (error) => record.errors.push(String(error)));
    socket.on('close', () => (record.closed = true));
    page.sockets.push(record);
  });
  await page.goto(base, { timeout: 10000 });
  await page.waitForFunction(() => window.t && window.api && window.api.jstp && window.api.jstp.ws, null, { timeout: 5000 });
  return page;
}

/** Runs `fn(arg)` in the page, bounded. */
const run = (page, fn, arg, ms = 10000) => within(ms, page.evaluate(fn, arg), 'a call in the page');

const closePage = (page) => within(5000, page.close(), 'closing the page').catch(() => {});

test('Chromium: the original browser client against a connkit jstp ws server', { timeout: 60000 }, async () => {
  seen.origins.length = 0;
  seen.notes.length = 0;
  const server = await startServer({
    originCheckStrategy: (o) => {
      seen.origins.push(o);
      return true;
    },
  });
  let page = null;
  try {
    page = await openPage();
    // Handshake (with a version range) and inspect.
    const connected = await run(page, async (url) => {
      const { error, connection, calc } = await window.t.connect(url, { app: 'testApp@^1.0.0' });
      window.connection = connection;
      window.calc = calc;
      return {
        error: window.t.plainError(error),
        handshakeDone: connection && connection.handshakeDone,
        sessionId: connection && connection.session && connection.session.id,
        protocol: connection && connection.getTransport().protocol,
        methods: calc && ['add', 'divide', 'echo', 'many', 'shout'].filter((m) => typeof calc[m] === 'function'),
      };
    }, server.url);
    assert.deepStrictEqual(
      { ...connected, sessionId: undefined },
      { error: null, handshakeDone: true, sessionId: undefined, protocol: 'metarhia-jstp', methods: ['add', 'divide', 'echo', 'many', 'shout'] },
    );
    assert.match(connected.sessionId, SESSION_ID);
    // The server saw the page's own origin, and the same session.
    assert.deepStrictEqual(seen.origins, [origin]);
    await until(() => server.connected.length === 1, 5000, 'the server to report the connection');
    const serverSide = server.connected[0];
    assert.strictEqual(serverSide.session.id, connected.sessionId);
    assert.strictEqual(server.getClientsArray().length, 1);

    // Calls with results, remote errors, and events both ways.
    const value = { s: "it's \"q\" é😀 \u2028", n: [1.5, 1e21, null, true], nested: { 'k-ey': { a: [] } } };
    const results = await run(page, async (value) => {
      const { call, next } = window.t;
      const calc = window.calc;
      const shouted = next(calc, 'shouted');
      const shout = await call(calc, 'shout', 'hey');
      calc.emit('note', 'from the page', 1);
      const missing = await new Promise((resolve) =>
        window.connection.callMethod('calc', 'missing', [], (error) => resolve(window.t.plainError(error))),
      );
      return {
        add: await call(calc, 'add', 2, 3),
        many: await call(calc, 'many'),
        echo: await call(calc, 'echo', value),
        divide: await call(calc, 'divide', 1, 0),
        signature: await call(calc, 'add', 1),
        missing,
        shout,
        shouted: await shouted,
        codes: {
          methodNotFound: window.t.jstp.ERR_METHOD_NOT_FOUND,
          invalidSignature: window.t.jstp.ERR_INVALID_SIGNATURE,
        },
      };
    }, value);
    assert.deepStrictEqual(results.add, { error: null, results: [5] });
    assert.deepStrictEqual(results.many, { error: null, results: [1, 'two', [3]] });
    assert.deepStrictEqual(results.echo, { error: null, results: [value] });
    assert.deepStrictEqual(results.divide.results, []);
    const { isError, remote, name, code, message, info } = results.divide.error;
    assert.deepStrictEqual(
      { isError, remote, name, code, message, info },
      { isError: true, remote: true, name: 'RemoteError', code: 42, message: 'Zero division', info: ['info'] },
    );
    assert.strictEqual(results.signature.error.remote, true);
    assert.strictEqual(results.signature.error.code, results.codes.invalidSignature);
    assert.strictEqual(results.missing.remote, true);
    assert.strictEqual(results.missing.code, results.codes.methodNotFound);
    assert.deepStrictEqual(results.shout, { error: null, results: [] });
    assert.deepStrictEqual(results.shouted, ['HEY']);
    await until(() => seen.notes.length === 1, 5000, 'the page\'s event to reach the server');
    assert.deepStrictEqual(seen.notes, [['from the page', 1]]);

    // An event the server sends on its own, delivered to the page.
    await run(page, () => {
      window.ticked = window.t.next(window.calc, 'tick');
      window.ticked.catch(() => {});
    });
    serverSide.emitRemoteEvent('calc', 'tick', [7, 'from the server', { at: [1, 2] }]);
    assert.deepStrictEqual(await run(page, () => window.ticked), [7, 'from the server', { at: [1, 2] }]);

    // The wire, as the browser saw it: one mdsf message per text frame, no NUL.
    const [socket] = page.sockets;
    assert.strictEqual(page.sockets.length, 1);
    assert.strictEqual(socket.url, server.url);
    assert.strictEqual(socket.sent[0], "{handshake:[0,'testApp','^1.0.0']}");
    assert.strictEqual(socket.received[0], `{handshake:[0],ok:'${connected.sessionId}'}`);
    for (const frame of [...socket.sent, ...socket.received]) {
      assert.strictEqual(typeof frame, 'string');
      assert.ok(!frame.includes('\0'), frame);
    }
    assert.ok(socket.received.some((f) => f.startsWith('{event:[') && f.includes("tick:[7,'from the server'")), socket.received.join('\n'));

    // A clean close from the page: the browser's close(), answered by the server.
    const close = await run(page, async () => {
      const socket = window.connection.getTransport();
      const connectionClosed = new Promise((resolve) => window.connection.once('close', () => resolve(true)));
      window.connection.close();
      return { socket: await window.t.closed(socket), connectionClosed: await connectionClosed };
    });
    // close() without a code sends a close frame without one; the server's answer is
    // the code the page sees: connkit echoes the empty body (1005), the original's
    // `websocket` package answers 1000. Both are RFC 6455; either way the close is clean.
    assert.ok([1000, 1005].includes(close.socket.code), JSON.stringify(close));
    assert.deepStrictEqual(close, { socket: { code: close.socket.code, reason: '', wasClean: true }, connectionClosed: true });
    await until(() => server.disconnected.length === 1, 5000, 'the server to see the page go');
    assert.strictEqual(server.disconnected[0], serverSide);
    assert.strictEqual(server.getClientsArray().length, 0);
    await until(() => socket.closed, 5000, 'playwright to see the WebSocket close');
    assert.deepStrictEqual(socket.errors, []);
    assert.deepStrictEqual(page.errors, []);
    assert.deepStrictEqual(page.consoleLines, []);
  } finally {
    if (page) await closePage(page);
    await closeServer(server);
  }
});

// Each round a new connection that the server closes. A close frame must be the last
// frame either side sends (RFC 6455 5.5.1): Chromium fails a connection that gets a
// second one ("Close received after close") with 1006. Several rounds, because such a
// second frame depends on timing.
const SERVER_CLOSE_ROUNDS = 20;

test('Chromium: the server closes the connection; the page sees one close frame, code 1000', { timeout: 30000 }, async () => {
  const server = await startServer();
  let page = null;
  try {
    page = await openPage();
    const rounds = [];
    for (let round = 0; round < SERVER_CLOSE_ROUNDS; round++) {
      const connected = await run(page, async (url) => {
        // No reconnection: the server closing is the end of each round.
        const { error, connection } = await window.t.connect(url, { client: { reconnector: () => {} } });
        window.connection = connection;
        if (connection) {
          const connectionClosed = new Promise((resolve) => connection.once('close', () => resolve(true)));
          const socketClosed = window.t.closed(connection.getTransport());
          window.closing = Promise.all([socketClosed, connectionClosed]).then(([socket, connectionClosed]) => ({ socket, connectionClosed }));
          window.closing.catch(() => {});
        }
        return { error: window.t.plainError(error), handshakeDone: connection && connection.handshakeDone };
      }, server.url);
      assert.deepStrictEqual(connected, { error: null, handshakeDone: true }, `round ${round}`);
      await until(() => server.connected.length === round + 1, 5000, 'the server to report the connection');
      server.connected[round].close();
      const closed = await run(page, () => window.closing);
      await until(() => server.disconnected.length === round + 1, 5000, 'the server to see the connection end');
      rounds.push({ round, ...closed, console: page.consoleLines.splice(0) });
    }
    const expected = { socket: { code: 1000, reason: 'Normal connection closure', wasClean: true }, connectionClosed: true, console: [] };
    const wrong = rounds.filter((r) => !util.isDeepStrictEqual({ socket: r.socket, connectionClosed: r.connectionClosed, console: r.console }, expected));
    assert.deepStrictEqual(wrong, [], `${wrong.length} of ${SERVER_CLOSE_ROUNDS} rounds did not close cleanly`);
    assert.strictEqual(server.getClientsArray().length, 0);
    assert.deepStrictEqual(page.errors, []);
  } finally {
    if (page) await closePage(page);
    await closeServer(server);
  }
});

test('Chromium: originCheckStrategy refuses the page\'s origin; the connect fails, other origins are unaffected', { timeout: 30000 }, async () => {
  const asked = [];
  const server = await startServer({
    originCheckStrategy: (o) => {
      asked.push(o);
      return o === 'https://allowed.example';
    },
  });
  let page = null;
  try {
    page = await openPage();
    const refused = await run(page, async (url) => {
      const { error, connection, calc } = await window.t.connect(url);
      const socket = error && error.target;
      return {
        error: window.t.plainError(error),
        connection: connection === undefined ? 'undefined' : typeof connection,
        calc: calc === undefined ? 'undefined' : typeof calc,
        close: socket instanceof WebSocket ? await window.t.closed(socket) : null,
      };
    }, server.url);
    // ws-browser.js hands the WebSocket's 'error' Event to the callback.
    assert.strictEqual(refused.connection, 'undefined');
    assert.strictEqual(refused.calc, 'undefined');
    assert.strictEqual(refused.error.isEvent, true, JSON.stringify(refused.error));
    assert.strictEqual(refused.error.type, 'error');
    assert.strictEqual(refused.error.readyState, 3 /* CLOSED */);
    // Refused during the HTTP upgrade: no close handshake.
    assert.deepStrictEqual(refused.close, { code: 1006, reason: '', wasClean: false });
    assert.deepStrictEqual(asked, [origin]);
    assert.strictEqual(server.connected.length, 0);
    assert.strictEqual(server.getClientsArray().length, 0);
    // What Chromium says about it: the server answered the upgrade with 403.
    await until(() => page.consoleLines.some((l) => /WebSocket/.test(l)), 5000, 'Chromium to log the failed WebSocket');
    const logged = page.consoleLines.filter((l) => /WebSocket/.test(l));
    assert.ok(logged.some((l) => /403/.test(l)), logged.join('\n'));
    assert.strictEqual(page.sockets.length, 1);
    assert.deepStrictEqual(page.sockets[0].sent, []);
    assert.deepStrictEqual(page.sockets[0].received, []);
    assert.deepStrictEqual(page.errors, []);

    // The same server still takes an origin it allows (here from Node, with the original
    // `websocket` client the original jstp runs on).
    const websocket = require(require.resolve('websocket', { paths: [require.resolve('@metarhia/jstp')] }));
    const accepted = await within(
      5000,
      new Promise((resolve) => {
        const client = new websocket.client();
        client.once('connect', (connection) => {
          resolve({ accepted: true, protocol: connection.protocol });
          connection.close();
        });
        client.once('connectFailed', (error) => resolve({ accepted: false, error: String(error) }));
        client.connect(server.url, 'metarhia-jstp', 'https://allowed.example');
      }),
      'a connection from an allowed origin',
    );
    assert.deepStrictEqual(accepted, { accepted: true, protocol: 'metarhia-jstp' });
    assert.deepStrictEqual(asked, [origin, 'https://allowed.example']);
  } finally {
    if (page) await closePage(page);
    await closeServer(server);
  }
});
