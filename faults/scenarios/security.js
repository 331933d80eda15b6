'use strict';

// Scenario 7 — security defaults.
//
// TLS: verification is on by default. A connkit TLS client must refuse, with a coded
//   error and without a 'connect' (and without sending a byte written before it), a
//   self-signed certificate, a certificate for another name (servername
//   'example.com'; 127.0.0.1 with a certificate naming only localhost), and one from
//   an unknown CA; the right CA and name connect (the control). The same for
//   HttpClient over TLS, a reconnecting Client, and the jstp and thrift faces.
// Static files: connkit's WebServer (`files`) never serves a byte from outside its
//   root: `..`, percent-encoded dots and slashes, double encoding, backslashes,
//   absolute paths, absolute-form request targets, NUL, and symlinks pointing out.
//   The original thrift web server (createWebServer) gets the same requests.
// Smuggling: conflicting Content-Length and Transfer-Encoding, two Content-Lengths,
//   obfuscated Transfer-Encoding, bad chunk sizes and oversized headers: refused
//   with a 4xx (or, for CL+TE, answered per Transfer-Encoding alone as RFC 9112
//   §6.1 allows) and the connection closed, so no request hidden in a body is ever
//   answered. The original thrift web server (Node's http) for comparison.
// Connection cap: `server.maxConnections = N` on connkit's Server, with Node's
//   net.Server semantics: past N, a new connection is closed at once and the server
//   emits 'drop' (with the addresses); once one closes, a new one is admitted.
//   Node's net.Server is run through the same check, to show the check is right.
//
// Each check is a figure: refused=1 / leaked=0 / closed=1 ...

const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');
const crypto = require('node:crypto');
const ck = require('../..');
const ckJstp = require('connkit/jstp');
const ckThrift = require('connkit/thrift');
const realThrift = require('thrift');
const { fds, sleep, until, within } = require('../lib/probe');
const { startPeer } = require('../lib/peer');
const { makeCerts } = require('../lib/certs');

const listen = (server, ...args) => new Promise((r) => server.listen(...args, () => r(server.address())));
const closeServer = (server) => within(new Promise((r) => server.close(() => r(true))), 3000, false);

// ---------------------------------------------------------------------------
// TLS verification

/** A Node TLS server presenting `pair`; counts the application bytes it receives. */
async function tlsPeer(pair) {
  const peer = { bytes: 0, sockets: [] };
  peer.server = tls.createServer({ cert: pair.cert, key: pair.key }, (s) => {
    peer.sockets.push(s);
    s.on('error', () => {});
    s.on('data', (d) => (peer.bytes += d.length));
  });
  peer.server.on('tlsClientError', () => {});
  peer.port = (await listen(peer.server, 0, '127.0.0.1')).port;
  peer.close = async () => {
    peer.sockets.forEach((s) => s.destroy());
    await closeServer(peer.server);
  };
  return peer;
}

/** Dials with `options`, writes a secret at once (before any handshake), and says
 * what happened within `ms`: connected, the first error's code, bytes the server got. */
async function tryTls(peer, options, ms = 3000) {
  const conn = ck.createConnection({ transport: 'tls', port: peer.port, ...options });
  let connected = false;
  let error = null;
  let closed = false;
  conn.on('connect', () => (connected = true));
  conn.on('error', (e) => (error ??= e));
  conn.on('close', () => (closed = true));
  conn.write('SECRET written before the handshake');
  await until(() => connected || error, ms);
  await sleep(50); // a byte sent on a refused handshake would have landed by now
  const got = peer.bytes;
  conn.destroy();
  await until(() => closed, 2000);
  peer.bytes = 0;
  return { connected, code: error ? error.code ?? 'no code' : null, leakedBytes: got };
}

async function tlsChecks(certs, report) {
  const self = await tlsPeer(certs.selfSigned);
  const good = await tlsPeer({ cert: certs.cert, key: certs.key });
  const nameOnly = await tlsPeer(certs.nameOnly);
  const cases = {
    selfSigned: await tryTls(self, { host: 'localhost' }),
    wrongName: await tryTls(good, { host: '127.0.0.1', servername: 'example.com', ca: certs.ca }),
    ipNotInCert: await tryTls(nameOnly, { host: '127.0.0.1', ca: certs.ca }),
    unknownCa: await tryTls(good, { host: 'localhost', ca: certs.otherCa }),
    control: await tryTls(good, { host: 'localhost', ca: certs.ca }),
  };
  const refused = (c) => !c.connected && c.code !== null && c.leakedBytes === 0;
  const figures = {};
  for (const [name, c] of Object.entries(cases)) if (name !== 'control') figures[`${name}Refused`] = refused(c) ? 1 : 0;
  figures.controlAccepted = cases.control.connected ? 1 : 0;
  figures.leakedBytes = Object.entries(cases).reduce((n, [name, c]) => n + (name === 'control' ? 0 : c.leakedBytes), 0);
  const codes = [...new Set(Object.entries(cases).filter(([n]) => n !== 'control').map(([, c]) => c.code))];
  figures.codes = codes.join('|');
  report({
    subject: 'connkit TLS client',
    ok: Object.entries(cases).every(([n, c]) => (n === 'control' ? c.connected : refused(c))) && codes.every((c) => c && c.startsWith('ERR_')),
    figures,
  });

  // A reconnecting Client: refused each time, never connected, nothing sent.
  {
    const client = new ck.Client({ transport: 'tls', host: 'localhost', port: self.port, reconnect: { initialDelay: 20, maxDelay: 50 } });
    const codes = new Set();
    let connected = false;
    let errors = 0;
    // A reconnecting client reports each failed attempt in 'reconnecting'.
    client.on('error', (e) => {
      errors++;
      codes.add(e.code);
    });
    client.on('reconnecting', ({ error }) => error && codes.add(error.code));
    client.on('connect', () => (connected = true));
    client.write('SECRET queued while connecting');
    await sleep(400);
    const attempts = client.stats().reconnects ?? 0;
    let closed = false;
    client.once('close', () => (closed = true));
    client.destroy();
    await until(() => closed, 2000);
    const leaked = self.bytes;
    self.bytes = 0;
    report({
      subject: 'connkit TLS Client (reconnect)',
      ok: !connected && leaked === 0 && codes.size > 0 && [...codes].every((c) => c === 'ERR_TLS_CERT_INVALID'),
      figures: { refused: connected ? 0 : 1, attempts, errorEvents: errors, leakedBytes: leaked, codes: [...codes].join('|') },
    });
  }

  // HttpClient over TLS (https), self-signed: the request fails, no request reaches it.
  {
    const http = new ck.HttpClient({ tls: true, host: 'localhost', port: self.port, requestPath: '/', timeout: 3000 });
    const result = await within(new Promise((r) => http.request('SECRET body', (err, status) => r({ err, status }))), 4000, { err: { code: 'hung' } });
    http.close();
    const leaked = self.bytes;
    self.bytes = 0;
    report({
      subject: 'connkit HttpClient https',
      ok: !!result.err && String(result.err.code).startsWith('ERR_') && leaked === 0,
      figures: { refused: result.err ? 1 : 0, code: result.err ? result.err.code : `status ${result.status}`, leakedBytes: leaked },
    });
  }

  // The faces' TLS clients, default options, against the self-signed server.
  {
    const jstpResult = await within(
      new Promise((r) =>
        ckJstp.tls.connect('app', { reconnector: () => {} }, self.port, 'localhost', (e, c) => {
          if (c) c.close();
          r(e ? e.code ?? String(e) : 'connected');
        }),
      ),
      4000,
      'hung',
    );
    const thriftResult = await new Promise((resolve) => {
      const c = ckThrift.createSSLConnection('localhost', self.port, { max_attempts: 1 });
      const timer = setTimeout(() => resolve('hung'), 4000);
      c.on('connect', () => {
        clearTimeout(timer);
        c.end();
        resolve('connected');
      });
      c.on('error', (e) => {
        clearTimeout(timer);
        if (typeof c.end === 'function') c.end();
        resolve(e.code ?? String(e));
      });
    });
    await sleep(50);
    const leaked = self.bytes;
    report({
      subject: 'connkit faces TLS (self-signed)',
      ok: jstpResult.startsWith('ERR_') && thriftResult.startsWith('ERR_') && leaked === 0,
      figures: { jstpRefused: jstpResult === 'connected' ? 0 : 1, jstpCode: jstpResult, thriftRefused: thriftResult === 'connected' ? 0 : 1, thriftCode: thriftResult, leakedBytes: leaked },
    });
  }
  await self.close();
  await good.close();
  await nameOnly.close();
}

// ---------------------------------------------------------------------------
// Raw HTTP exchanges

/** Sends `bytes` on a new TCP connection; collects what comes back until the server
 * closes or `ms` pass. Resolves { text, closed, statuses }. */
function exchange(port, bytes, ms = 1500) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks = [];
    let closed = false;
    socket.on('error', () => {});
    socket.on('data', (d) => chunks.push(d));
    socket.on('connect', () => socket.write(bytes));
    const done = () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const statuses = [...text.matchAll(/(?:^|\r?\n)HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
      socket.destroy();
      resolve({ text, closed, statuses });
    };
    socket.on('close', () => {
      closed = true;
      done();
    });
    const timer = setTimeout(done, ms);
  });
}

// ---------------------------------------------------------------------------
// Static files

function filesLayout() {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'connkit-faults-files-'));
  const root = path.join(base, 'www');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
  fs.mkdirSync(outside);
  const marker = `TOPSECRET-${crypto.randomBytes(8).toString('hex')}`;
  fs.writeFileSync(path.join(root, 'index.html'), '<p>public</p>');
  fs.writeFileSync(path.join(root, 'sub', 'app.js'), 'public()');
  fs.writeFileSync(path.join(outside, 'secret.txt'), marker);
  fs.writeFileSync(path.join(base, 'www-secret.txt'), marker); // shares the root's name as a prefix
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'link.txt'));
  fs.symlinkSync(outside, path.join(root, 'linkdir'));
  return { base, root, outside, marker, cleanup: () => fs.rmSync(base, { recursive: true, force: true }) };
}

/** Request targets that try to leave the root; each names a file outside it. */
function escapes(layout) {
  const abs = path.join(layout.outside, 'secret.txt');
  return {
    dotdot: '/../outside/secret.txt',
    prefixSibling: '/../www-secret.txt',
    deep: '/sub/../../outside/secret.txt',
    etcPasswd: '/../../../../../../../../etc/passwd',
    pctDots: '/%2e%2e/outside/secret.txt',
    pctDotsUpper: '/%2E%2E/outside/secret.txt',
    pctHalf: '/.%2e/outside/secret.txt',
    pctSlash: '/..%2foutside%2fsecret.txt',
    pctAll: '/%2e%2e%2foutside%2fsecret.txt',
    doubleEnc: '/%252e%252e/outside/secret.txt',
    backslash: '/..\\outside\\secret.txt',
    pctBackslash: '/..%5coutside%5csecret.txt',
    absolute: abs,
    doubleSlashAbs: `/${abs}`,
    pctAbs: `/${encodeURIComponent(abs)}`,
    absoluteForm: 'http://127.0.0.1/../outside/secret.txt',
    nul: '/index.html%00/../../outside/secret.txt',
    symlinkFile: '/link.txt',
    symlinkDir: '/linkdir/secret.txt',
  };
}

async function filesCheck(subject, port, layout, report) {
  const get = (target) => exchange(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  const index = await get('/index.html');
  const normalised = await get('/sub/../index.html');
  const leakedVectors = [];
  const statuses = {};
  for (const [name, target] of Object.entries(escapes(layout))) {
    const r = await get(target);
    if (r.text.includes(layout.marker) || /root:.*:0:0:/.test(r.text)) leakedVectors.push(name);
    const s = r.statuses[0] ?? 'none';
    statuses[s] = (statuses[s] ?? 0) + 1;
  }
  const total = Object.keys(escapes(layout)).length;
  const figures = {
    servesIndex: index.statuses[0] === 200 && index.text.includes('<p>public</p>') ? 1 : 0,
    servesNormalised: normalised.statuses[0] === 200 && normalised.text.includes('<p>public</p>') ? 1 : 0,
    vectors: total,
    leaked: leakedVectors.length,
    symlinkLeaked: leakedVectors.filter((v) => v.startsWith('symlink')).length,
    statuses: Object.entries(statuses)
      .map(([s, n]) => `${s}x${n}`)
      .join(','),
  };
  report({
    subject,
    ok: subject.startsWith('original') ? true : figures.servesIndex === 1 && leakedVectors.length === 0,
    figures,
    note: leakedVectors.length ? `served from outside the root: ${leakedVectors.join(', ')}` : undefined,
  });
}

// ---------------------------------------------------------------------------
// Request smuggling and oversized heads

/** Shapes that must not smuggle a second request. `refusal`: what is acceptable —
 * '4xx' (refused, connection closed) or 'te-or-4xx' (CL+TE: refused, or answered per
 * Transfer-Encoding alone and the connection closed, RFC 9112 §6.1). */
function smugglingShapes() {
  const hidden = 'POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nSMUGGL';
  const chunkedEnd = '0\r\n\r\n';
  const body = chunkedEnd + hidden; // per TE: an empty body, then the hidden request; per CL: one body
  const post = (headers, rest = body) => `POST /rpc HTTP/1.1\r\nHost: x\r\n${headers}\r\n${rest}`;
  return {
    clTe: { bytes: post(`Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n`), refusal: 'te-or-4xx' },
    teCl: { bytes: post(`Transfer-Encoding: chunked\r\nContent-Length: ${body.length}\r\n`), refusal: 'te-or-4xx' },
    twoCl: { bytes: post(`Content-Length: 5\r\nContent-Length: ${body.length}\r\n`), refusal: '4xx' },
    clList: { bytes: post(`Content-Length: 5, ${body.length}\r\n`), refusal: '4xx' },
    clSpaceColon: { bytes: post(`Content-Length : ${body.length}\r\nTransfer-Encoding: chunked\r\n`), refusal: '4xx' },
    teXchunked: { bytes: post(`Content-Length: ${body.length}\r\nTransfer-Encoding: xchunked\r\n`), refusal: '4xx' },
    teChunkedIdentity: { bytes: post(`Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\nContent-Length: ${body.length}\r\n`), refusal: '4xx' },
    teObsFold: { bytes: post(`Content-Length: ${body.length}\r\nTransfer-Encoding:\r\n chunked\r\n`), refusal: '4xx' },
    teHttp10: { bytes: `POST /rpc HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${body}`, refusal: '4xx' },
    badChunkSize: { bytes: post('Transfer-Encoding: chunked\r\n', `fffffffffffffffff1\r\nx\r\n0\r\n\r\n${hidden}`), refusal: '4xx' },
    negativeCl: { bytes: post('Content-Length: -1\r\n'), refusal: '4xx' },
    header1MiB: { bytes: `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(1 << 20)}\r\n\r\n${hidden}`, refusal: '4xx' },
  };
}

/** Informational: where each server draws the line (not pass/fail). */
function limitShapes() {
  return {
    header64KiB: `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
    headers200: `GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 200 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`,
  };
}

async function smugglingCheck(subject, port, report) {
  const figures = {};
  const failed = [];
  for (const [name, shape] of Object.entries(smugglingShapes())) {
    const r = await exchange(port, shape.bytes, 2000);
    const first = r.statuses[0];
    const is4xx = first >= 400 && first < 500;
    const smuggled = r.statuses.length > 1 || r.text.includes('SMUGGL') ? 1 : 0;
    const safe = shape.refusal === '4xx' ? is4xx && r.closed && !smuggled : (is4xx || first === 200) && r.closed && !smuggled;
    // One figure per shape: status, c (closed) / o (left open), s (a smuggled request answered).
    figures[name] = `${first ?? 'none'}${r.closed ? 'c' : 'o'}${smuggled ? 's' : ''}`;
    if (!safe) failed.push(name);
  }
  for (const [name, bytes] of Object.entries(limitShapes())) {
    const r = await exchange(port, bytes, 800);
    figures[name] = `${r.statuses[0] ?? 'none'}${r.closed ? 'c' : 'o'}`;
  }
  figures.unsafe = failed.length;
  report({
    subject,
    ok: subject.startsWith('original') ? true : failed.length === 0,
    figures,
    note: failed.length ? `not refused and closed: ${failed.join(', ')}` : undefined,
  });
}

async function webChecks(report) {
  const layout = filesLayout();
  try {
    const web = new ck.WebServer({ websocket: true, files: { root: layout.root } });
    web.on('error', () => {});
    web.on('request', (req) => req.respond(200, `served ${req.path} ${req.body.length}`));
    const { port } = await listen(web, 0, '127.0.0.1');
    await filesCheck('connkit WebServer files', port, layout, report);
    await smugglingCheck('connkit WebServer smuggling', port, report);
    web.close();
    await within(new Promise((r) => web.once('close', r)), 3000);

    // The original thrift web server: a service that answers what it got, as the
    // WebServer above does (a raw processor: no generated code needed).
    const original = realThrift.createWebServer({ services: {}, files: layout.root });
    original.on('error', () => {});
    const oport = (await listen(original, 0, '127.0.0.1')).port;
    await filesCheck('original thrift web files', oport, layout, report);
    await smugglingCheck('original thrift web smuggling', oport, report);
    original.closeAllConnections?.();
    await closeServer(original);
  } finally {
    layout.cleanup();
  }
}

// ---------------------------------------------------------------------------
// maxConnections

async function capCheck(subject, server, report) {
  const N = 3;
  const EXTRA = 2;
  server.maxConnections = N;
  const drops = [];
  let announced = 0;
  server.on('drop', (d) => drops.push(d));
  server.on('connection', (c) => {
    announced++;
    c.on('error', () => {});
    c.on('data', (d) => c.write(d));
  });
  const { port } = await listen(server, 0, '127.0.0.1');
  const sockets = [];
  /** Connects and says 'hi': 'echoed' if answered, 'closed' if cut before, 'open' if neither. */
  const probe = (ms = 1000) =>
    new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      sockets.push(s);
      const t0 = Date.now();
      const timer = setTimeout(() => resolve({ s, fate: 'open', ms: Date.now() - t0 }), ms);
      s.on('error', () => {});
      s.on('connect', () => s.write('hi'));
      s.on('data', () => {
        clearTimeout(timer);
        resolve({ s, fate: 'echoed', ms: Date.now() - t0 });
      });
      s.on('close', () => {
        clearTimeout(timer);
        resolve({ s, fate: 'closed', ms: Date.now() - t0 });
      });
    });
  const first = [];
  for (let i = 0; i < N; i++) first.push(await probe());
  const admitted = first.filter((r) => r.fate === 'echoed').length;
  const extra = [];
  for (let i = 0; i < EXTRA; i++) extra.push(await probe());
  const dropped = extra.filter((r) => r.fate === 'closed').length;
  const admittedOver = extra.filter((r) => r.fate === 'echoed').length;
  const dropMs = Math.max(0, ...extra.filter((r) => r.fate === 'closed').map((r) => r.ms));
  await until(() => drops.length >= EXTRA, 500);
  // One of the first goes: there is room again.
  first[0].s.destroy();
  await sleep(200);
  const after = await probe();
  const figures = {
    maxConnections: N,
    admitted,
    dropped,
    admittedOver,
    dropMs,
    dropEvents: drops.length,
    dropWithAddress: drops.length > 0 && drops.every((d) => d && d.remotePort > 0 && d.localPort === port) ? 1 : 0,
    announced,
    admittedAfterFree: after.fate === 'echoed' ? 1 : 0,
  };
  sockets.forEach((s) => s.destroy());
  if (typeof server.closeAllConnections === 'function') server.closeAllConnections();
  await closeServer(server);
  report({
    subject,
    ok:
      admitted === N &&
      dropped === EXTRA &&
      admittedOver === 0 &&
      dropMs < 500 &&
      drops.length === EXTRA &&
      figures.dropWithAddress === 1 &&
      announced === N + 1 &&
      figures.admittedAfterFree === 1,
    figures,
    note: admittedOver > 0 ? `${admittedOver} connections admitted past maxConnections` : undefined,
  });
}

/** The cap while the JS thread is busy: a peer process opens `flood` connections
 * during a busy loop. A net.Server accepts on the JS thread, so the excess waits in
 * the kernel's backlog and the process holds no more than it did; a server whose
 * accepts run elsewhere must still not hold more than maxConnections. */
async function capUnderBlock(subject, server, p, report) {
  const N = 10;
  server.maxConnections = N;
  let drops = 0;
  server.on('drop', () => drops++);
  server.on('connection', (c) => c.on('error', () => {}));
  const { port } = await listen(server, { port: 0, host: '127.0.0.1', backlog: 511 });
  const peer = await startPeer(path.join(__dirname, '..', 'peers', 'security-connector.js'), [port]);
  await sleep(50);
  const fds0 = fds();
  peer.send({ open: p.flood });
  const t0 = Date.now();
  let maxFds = fds0;
  let spin = 0;
  while (Date.now() - t0 < p.blockMs) {
    if (++spin % 50_000 === 0) maxFds = Math.max(maxFds, fds());
  }
  maxFds = Math.max(maxFds, fds());
  await sleep(300);
  const counts = await within(
    new Promise((r) => {
      peer.onMessage((m) => m.open !== undefined && r(m));
      peer.send({ counts: true });
    }),
    3000,
    { open: -1, closedByServer: -1 },
  );
  const live = typeof server.connections === 'number' ? server.connections : await new Promise((r) => server.getConnections((e, n) => r(n)));
  await peer.kill();
  await closeServer(server);
  const held = maxFds - fds0;
  report({
    subject,
    ok: subject.startsWith('node') ? true : held <= N + 16 && live <= N,
    figures: { maxConnections: N, flood: p.flood, blockMs: p.blockMs, fdsBefore: fds0, maxFdsInBlock: maxFds, fdsOverCap: Math.max(0, held - N), liveAfter: live, drops, peerOpen: counts.open },
    note: held > N + 16 ? `${held} more fds (accepted connections) held while JS was busy (cap ${N})` : undefined,
  });
}

// ---------------------------------------------------------------------------

const PROFILES = {
  short: { flood: 1000, blockMs: 1000 },
  full: { flood: 4000, blockMs: 3000 },
};

async function run(profile, report) {
  const p = PROFILES[profile];
  // Verification by default means no NODE_TLS_REJECT_UNAUTHORIZED=0 inherited.
  delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  const certs = makeCerts();
  try {
    await tlsChecks(certs, report);
  } finally {
    certs.cleanup();
  }
  await webChecks(report);
  await capCheck('node net.Server maxConnections', net.createServer(), report);
  await capCheck('connkit Server maxConnections', ck.createServer(), report);
  await capUnderBlock('node net.Server cap, JS busy', net.createServer(), p, report);
  await capUnderBlock('connkit Server cap, JS busy', ck.createServer(), p, report);
}

module.exports = { run };
