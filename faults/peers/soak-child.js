'use strict';

// One transport's soak, in a process of its own: connect / write / await the echo /
// close, `cycles` times, a few connections at a time, against a connkit server in this
// process (tcp, tls, unix, WebSocket) or a child process over stdio. It measures fds,
// RSS and active handles before and after, closes everything, reports
// `{ done: figures }` on its IPC channel and lets go of the channel: from then on
// nothing should keep the process alive, and the parent times how long it takes to end.
//
//   node --expose-gc soak-child.js TRANSPORT CYCLES CONCURRENCY BUDGET_MS [CERT_DIR]

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { fds, rssMiB, sleep, until, within } = require('../lib/probe');

const ROOT = path.join(__dirname, '..', '..');
const ck = require(ROOT);
const [transport, cyclesArg, concurrencyArg, budgetArg, certDir] = process.argv.slice(2);
const cycles = Number(cyclesArg);
const concurrency = Number(concurrencyArg);
const budgetMs = Number(budgetArg);
const ECHO = path.join(__dirname, 'soak-echo.js');

/** Active resources keeping the loop alive, timers apart (they are this script's own). */
const handles = () => process.getActiveResourcesInfo().filter((t) => t !== 'Timeout' && t !== 'Immediate');

function settle() {
  if (global.gc) {
    global.gc();
    global.gc();
  }
}

const serverErrors = {};
function echo(conn) {
  conn.on('error', (e) => (serverErrors[e.code] = (serverErrors[e.code] || 0) + 1));
  conn.on('data', (d) => conn.write(d));
  conn.on('frame', (f) => conn.write(f));
}

/** Starts the server (if any); resolves with { dial, close }. */
async function setup() {
  const listen = (server, ...args) => new Promise((resolve) => server.listen(...args, resolve));
  const closeServer = (server) => () => within(new Promise((r) => server.close(() => r())), 5000);
  switch (transport) {
    case 'tcp': {
      const server = ck.createServer(echo);
      await listen(server, 0, '127.0.0.1');
      const { port } = server.address();
      return { dial: () => ck.createConnection({ host: '127.0.0.1', port }), close: closeServer(server) };
    }
    case 'tls': {
      const read = (f) => fs.readFileSync(path.join(certDir, f));
      const server = ck.createServer({ transport: 'tls', cert: read('server.pem'), key: read('server.key') }, echo);
      await listen(server, 0, '127.0.0.1');
      const { port } = server.address();
      const ca = read('ca.pem');
      return { dial: () => ck.createConnection({ transport: 'tls', host: 'localhost', port, ca }), close: closeServer(server) };
    }
    case 'unix': {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'connkit-soak-'));
      const file = path.join(dir, 's.sock');
      const server = ck.createServer(echo);
      await listen(server, file);
      return {
        dial: () => ck.createConnection({ path: file }),
        close: async () => {
          await closeServer(server)();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    case 'ws': {
      const server = new ck.WebServer({ websocket: true });
      server.on('connection', echo);
      await listen(server, 0, '127.0.0.1');
      const { port } = server.address();
      return { dial: () => ck.createConnection({ host: '127.0.0.1', port, websocket: { path: '/ws' } }), close: closeServer(server) };
    }
    case 'node-tcp': {
      // The reference: Node's own net, the same cycles.
      const server = require('node:net').createServer(echo);
      await listen(server, 0, '127.0.0.1');
      const { port } = server.address();
      return { dial: () => require('node:net').connect(port, '127.0.0.1'), close: closeServer(server) };
    }
    case 'stdio':
      return { dial: () => ck.createConnection({ command: process.execPath, args: [ECHO] }), close: async () => {} };
    default:
      throw new Error(`unknown transport ${transport}`);
  }
}

/** One cycle: connect, write, await the echo, end, await close. */
function cycle(dial, n) {
  return new Promise((resolve) => {
    const message = `hello ${n}`;
    const conn = dial();
    let got = '';
    let echoed = false;
    let error = null;
    const timer = setTimeout(() => {
      error = error || 'timeout';
      conn.destroy();
    }, 5000);
    conn.on('error', (e) => (error = e.code || e.message));
    conn.on('connect', () => conn.write(message));
    const onBytes = (d) => {
      got += d;
      if (!echoed && got === message) {
        echoed = true;
        conn.end();
      }
    };
    conn.on('data', onBytes);
    conn.on('frame', onBytes);
    conn.on('close', () => {
      clearTimeout(timer);
      resolve(echoed ? null : error || 'closed before the echo');
    });
  });
}

async function main() {
  const { dial, close } = await setup();
  // Warm up (the core's runtime, TLS contexts, the first child): once-only costs.
  for (let i = 0; i < 3; i++) await cycle(dial, -1);
  settle();
  await sleep(50);
  const before = { fds: fds(), rss: rssMiB(), handles: handles() };

  const started = Date.now();
  let next = 0;
  let done = 0;
  let mid = null;
  const failures = {};
  const worker = async () => {
    while (next < cycles && Date.now() - started < budgetMs) {
      const n = next++;
      const failure = await cycle(dial, n);
      done++;
      if (failure) failures[failure] = (failures[failure] || 0) + 1;
      // Half-way: whether RSS still climbs in the second half tells a leak from a plateau.
      if (mid === null && done >= cycles / 2) {
        settle();
        mid = rssMiB();
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (Date.now() - started) / 1000;

  // Accepted connections close just after the client's: give them a moment.
  await until(() => fds() <= before.fds, 2000);
  settle();
  await sleep(50);
  const after = { fds: fds(), rss: rssMiB(), handles: handles() };
  await close();
  process.send(
    {
      done: {
        cycles: done,
        planned: cycles,
        failed: Object.values(failures).reduce((a, b) => a + b, 0),
        failures,
        serverErrors,
        seconds,
        fdsBefore: before.fds,
        fdsAfter: after.fds,
        rssBeforeMiB: before.rss,
        rssMidMiB: mid ?? after.rss,
        rssAfterMiB: after.rss,
        handlesBefore: before.handles.length,
        handlesAfter: after.handles.length,
        handlesLeft: after.handles.filter((h) => !before.handles.includes(h)),
      },
    },
    () => process.disconnect(),
  );
}

main().catch((e) => {
  process.send({ error: e && e.stack ? e.stack : String(e) }, () => process.exit(1));
});
