'use strict';

// connkit/thrift's browser build in a real browser: client code generated at test
// time by Debian's thrift-compiler, bundled with esbuild (examples/browser/bundle.js)
// so that package.json's "browser" mapping picks faces/thrift/browser.js, run in
// Debian's Chromium (headless, driven by playwright-core) against createWebServer,
// over XHR and WebSocket.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const ck = require('connkit/thrift');
const { ROOT, until } = require('./helpers');
const { build } = require('../examples/browser/bundle');

const CHROMIUM = '/usr/bin/chromium';

// Inside the package, so that the generated code's require('thrift') and
// require('node-int64') resolve when the server side loads it.
const out = fs.mkdtempSync(path.join(ROOT, 'node_modules', '.thrift-browser-'));
let Calc = null;
let types = null;
let metafile = null;

const seen = { ping: 0, slowStarted: 0, slowAnswered: 0 };
const handler = {
  add: (a, b, result) => result(null, a + b),
  echo: (p, result) => result(null, p),
  blob: (data, result) => result(null, data),
  // fail('') is a void call that returns normally.
  fail: (why, result) => (why ? result(new types.Oops({ why })) : result(null)),
  ping: () => seen.ping++,
  slow: (ms, result) => {
    seen.slowStarted++;
    setTimeout(() => {
      seen.slowAnswered++;
      result(null, ms);
    }, ms);
  },
};

/** Rejects after `ms` unless `promise` settles first. */
function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// connkit's createWebServer (on the core's hyper server), with the original's documented
// options only, and listen(port, host) / address() / close() on what it returns.
async function serve(options = {}) {
  const service = (protocol) => ({ transport: ck.TBufferedTransport, protocol, processor: Calc, handler });
  const server = ck.createWebServer({
    files: out,
    // The first service also answers WebSocket upgrades.
    services: { '/thrift': service(ck.TJSONProtocol), '/binary': service(ck.TBinaryProtocol) },
    ...options,
  });
  server.listen(0, '127.0.0.1');
  await until(() => server.address() && server.address().port, 5000, 'the web server to listen');
  return server;
}

let browser = null;
let server = null;
let base = null;

test.before(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: these tests need Debian's Chromium (apt-get install -y chromium; .ci/run installs it)`);
  }
  const built = build({ outDir: out });
  metafile = built.metafile;
  fs.writeFileSync(
    path.join(out, 'index.html'),
    '<!doctype html>\n<meta charset="utf-8">\n<title>connkit/thrift browser test</title>\n<script src="bundle.js"></script>\n',
  );
  Calc = require(path.join(built.genDir, 'Calc.js'));
  types = require(path.join(built.genDir, 'calc_types.js'));
  const { chromium } = require('playwright-core');
  browser = await within(30000, chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] }), 'launching Chromium');
  server = await serve();
  base = `http://127.0.0.1:${server.address().port}/`;
});

test.after(async () => {
  fs.rmSync(out, { recursive: true, force: true });
  if (browser) await within(10000, browser.close(), 'closing Chromium').catch(() => {});
  if (server) server.close();
});

// A page of the bundle, with its uncaught errors collected.
async function openPage() {
  const page = await browser.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.goto(base, { timeout: 10000 });
  await page.waitForFunction(() => window.calc, null, { timeout: 5000 });
  return page;
}

// Runs `fn(arg)` in the page (where window.calc is page.js's), bounded.
const run = (page, fn, arg, ms = 10000) => within(ms, page.evaluate(fn, arg), 'a call in the page');

test('the bundle takes faces/thrift/browser.js, which is the real thrift browser build', () => {
  const inputs = Object.keys(metafile.inputs);
  assert.ok(inputs.includes('faces/thrift/browser.js'), inputs.join('\n'));
  assert.ok(inputs.includes('node_modules/thrift/lib/nodejs/lib/thrift/browser.js'));
  // Nothing of the Node build: no addon loader, no socket connections.
  for (const input of inputs) {
    assert.ok(!/^(index\.js|lib\/|faces\/thrift\/(index|connection|server)\.js)/.test(input), input);
    assert.ok(!/thrift\/lib\/nodejs\/lib\/thrift\/(index|connection|http_connection|server|web_server)\.js$/.test(input), input);
  }
  // Both mappings in package.json: the "browser" field (a path inside the package)
  // and the "browser" condition of exports['./thrift'].
  const esbuild = require('esbuild');
  for (const contents of ["require('./faces/thrift/index.js')", "require('connkit/thrift')"]) {
    const result = esbuild.buildSync({
      stdin: { contents, resolveDir: ROOT },
      bundle: true,
      write: false,
      platform: 'browser',
      absWorkingDir: ROOT,
      metafile: true,
      logLevel: 'silent',
    });
    const faces = Object.keys(result.metafile.inputs).filter((f) => f.startsWith('faces/'));
    assert.deepStrictEqual(faces, ['faces/thrift/browser.js'], contents);
  }
  // Every export of the original's browser build, the same objects, each its own name.
  const original = require('thrift/lib/nodejs/lib/thrift/browser.js');
  const ours = require(path.join(ROOT, 'faces', 'thrift', 'browser.js'));
  assert.deepStrictEqual(Object.keys(ours).sort(), Object.keys(original).sort());
  for (const name of Object.keys(original)) assert.strictEqual(ours[name], original[name], name);
  const source = fs.readFileSync(path.join(ROOT, 'faces', 'thrift', 'browser.js'), 'utf8');
  for (const name of Object.keys(original)) assert.match(source, new RegExp(`^exports\\.${name} = `, 'm'), name);
});

test('Chromium: calls of every shape over XHR and WebSocket', { timeout: 60000 }, async () => {
  const page = await openPage();
  const headers = [];
  page.on('request', (request) => {
    if (request.method() === 'POST') headers.push({ url: request.url(), headers: request.headers() });
  });
  try {
    const pingsBefore = seen.ping;
    const results = await run(
      page,
      async () => {
        const { xhr, ws, call, samplePair, bytes } = window.calc;
        const shapes = async (client) => ({
          add: await call(client, 'add', [1, 2]),
          addLimits: await call(client, 'add', [2147483647, -2147483648]),
          echo: await call(client, 'echo', [samplePair()]),
          blob: await call(client, 'blob', [bytes([0, 1, 2, 127, 128, 255])]),
          fail: await call(client, 'fail', ['no']),
          void: await call(client, 'fail', ['']),
          ping: await call(client, 'ping', []),
          many: await Promise.all(Array.from({ length: 20 }, (_, i) => call(client, 'add', [i, i]))),
        });
        const socket = ws();
        const results = {
          xhr: await shapes(xhr()),
          ws: await shapes(socket),
          binary: {
            add: await call(xhr({ path: '/binary', protocol: window.calc.thrift.TBinaryProtocol }), 'add', [20, 22]),
            echo: await call(xhr({ path: '/binary', protocol: window.calc.thrift.TBinaryProtocol }), 'echo', [samplePair()]),
          },
          headers: await call(xhr({ headers: { 'X-Connkit-Test': 'from the page' } }), 'add', [3, 4]),
        };
        socket.connection.close();
        return results;
      },
      undefined,
      20000,
    );
    const pair = {
      a: 7,
      b: 'ü✓ from the browser',
      c: [String(2 ** 40 + 5), '-3'],
      d: { k: { a: 1, b: 'x', c: [], d: {} } },
    };
    const sums = Array.from({ length: 20 }, (_, i) => ({ error: null, value: 2 * i }));
    for (const kind of ['xhr', 'ws']) {
      const r = results[kind];
      assert.deepStrictEqual(r.add, { error: null, value: 3 }, kind);
      assert.deepStrictEqual(r.addLimits, { error: null, value: -1 }, kind);
      assert.deepStrictEqual(r.echo, { error: null, value: pair }, kind);
      assert.deepStrictEqual(r.blob, { error: null, value: [0, 1, 2, 127, 128, 255] }, kind);
      assert.deepStrictEqual(r.fail.error && { name: r.fail.error.name, oops: r.fail.error.oops, why: r.fail.error.why }, { name: 'Oops', oops: true, why: 'no' }, kind);
      assert.deepStrictEqual(r.void, { error: null, value: null }, kind);
      assert.deepStrictEqual(r.ping, { error: null, value: null }, kind);
      assert.deepStrictEqual(r.many, sums, kind);
    }
    assert.deepStrictEqual(results.binary.add, { error: null, value: 42 });
    assert.deepStrictEqual(results.binary.echo, { error: null, value: pair });
    assert.deepStrictEqual(results.headers, { error: null, value: 7 });
    // The `headers` option is on the request the browser sent.
    const tagged = headers.filter((h) => h.headers['x-connkit-test']);
    assert.strictEqual(tagged.length, 1, JSON.stringify(headers.slice(0, 3)));
    assert.strictEqual(tagged[0].headers['x-connkit-test'], 'from the page');
    assert.strictEqual(new URL(tagged[0].url).pathname, '/thrift');
    // Oneway: the server got both pings (over XHR no answer comes).
    await until(() => seen.ping - pingsBefore === 2, 5000, 'both pings to reach the handler');
    assert.deepStrictEqual(page.errors, []);
  } finally {
    await within(5000, page.close(), 'closing the page').catch(() => {});
  }
});

test('Chromium: a page closed mid-call; the server still serves the next page', { timeout: 60000 }, async () => {
  const first = await openPage();
  const started = seen.slowStarted;
  const answered = seen.slowAnswered;
  try {
    await run(first, () => {
      const { xhr, ws, call } = window.calc;
      window.pending = [call(xhr(), 'slow', [300]), call(ws(), 'slow', [300])];
    });
    await until(() => seen.slowStarted - started === 2, 5000, 'both slow calls to reach the handler');
  } finally {
    await within(5000, first.close(), 'closing the first page');
  }
  // The answers go to connections the browser has closed.
  await until(() => seen.slowAnswered - answered === 2, 5000, 'the slow calls to be answered');
  await new Promise((resolve) => setTimeout(resolve, 50));
  const second = await openPage();
  try {
    const results = await run(second, async () => {
      const { xhr, ws, call } = window.calc;
      const socket = ws();
      const results = [await call(xhr(), 'add', [5, 6]), await call(socket, 'add', [7, 8]), await call(xhr(), 'slow', [10])];
      socket.connection.close();
      return results;
    });
    assert.deepStrictEqual(results, [
      { error: null, value: 11 },
      { error: null, value: 15 },
      { error: null, value: 10 },
    ]);
    assert.deepStrictEqual(second.errors, []);
  } finally {
    await within(5000, second.close(), 'closing the second page').catch(() => {});
  }
});

test('CORS: with cors, a preflight gets 204 and the origin back', { timeout: 20000 }, async () => {
  const cors = await serve({ files: undefined, cors: { '*': true } });
  try {
    const response = await within(
      5000,
      new Promise((resolve, reject) => {
        const request = http.request({
          host: '127.0.0.1',
          port: cors.address().port,
          method: 'OPTIONS',
          path: '/thrift',
          headers: { origin: 'http://page.example', 'access-control-request-method': 'POST' },
        });
        request.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res));
        });
        request.on('error', reject);
        request.end();
      }),
      'the preflight',
    );
    assert.strictEqual(response.statusCode, 204);
    assert.strictEqual(response.headers['access-control-allow-origin'], 'http://page.example');
    assert.match(response.headers['access-control-allow-methods'], /POST/);
  } finally {
    cors.close();
  }
});
