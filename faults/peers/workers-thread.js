'use strict';

// The body of one worker thread in the workers scenario: connkit loaded in the
// worker's own environment, running servers and connections with traffic until the
// main thread terminates it. It reports once each kind of traffic has answered, so
// the main thread can terminate it mid-traffic.

const path = require('node:path');
const os = require('node:os');
const { parentPort, workerData } = require('node:worker_threads');
const ck = require(path.join(__dirname, '..', '..'));

const { mainPort, tag } = workerData;
const flowing = new Set();
const KINDS = ['echo', 'main', 'unix', 'http'];

function saw(kind) {
  if (flowing.has(kind)) return;
  flowing.add(kind);
  if (flowing.size === KINDS.length) parentPort.postMessage({ flowing: true });
}

// Errors are part of the fault (peers vanish when the thread goes): never thrown.
const quiet = (emitter) => emitter.on('error', () => {});

/** Keeps `inFlight` frames going on `conn`, one more for each echo. */
function pump(conn, kind, inFlight, size) {
  const payload = Buffer.alloc(size, 7);
  conn.on('frame', () => {
    saw(kind);
    conn.write(payload);
  });
  conn.on('connect', () => {
    for (let i = 0; i < inFlight; i++) conn.write(payload);
  });
}

// 1. A TCP server in this worker, and three connections to it.
const echo = ck.createServer({ framing: 'length' }, (c) => {
  quiet(c);
  c.on('frame', (f) => c.write(f));
});
quiet(echo);
echo.listen(0, '127.0.0.1', () => {
  for (let i = 0; i < 3; i++) {
    const conn = ck.createConnection({ host: '127.0.0.1', port: echo.address().port, framing: 'length' });
    quiet(conn);
    pump(conn, 'echo', 16, 256 + i * 4096);
  }
});

// 2. A connection to the main thread's server (another environment's hub).
const toMain = ck.createConnection({ host: '127.0.0.1', port: mainPort, framing: 'length' });
quiet(toMain);
pump(toMain, 'main', 8, 1024);

// 3. A unix socket server with a framed connection.
const sock = path.join(os.tmpdir(), `connkit-faults-w${process.pid}-${tag}.sock`);
const unix = ck.createServer({ framing: { delimiter: '\n' } }, (c) => {
  quiet(c);
  c.on('frame', (f) => c.write(f));
});
quiet(unix);
unix.listen(sock, () => {
  const conn = ck.createConnection({ path: sock, framing: { delimiter: '\n' } });
  quiet(conn);
  pump(conn, 'unix', 8, 100);
});

// 4. A web server and an HTTP client keeping requests out.
const web = new ck.WebServer({ websocket: true });
quiet(web);
web.on('request', (req) => req.respond(200, req.body));
web.listen(0, '127.0.0.1', () => {
  const http = new ck.HttpClient({ host: '127.0.0.1', port: web.address().port, requestPath: '/rpc', maxSockets: 4 });
  const again = (err) => {
    if (!err) saw('http');
    http.request('ping', again);
  };
  for (let i = 0; i < 4; i++) http.request('ping', again);
});

// 5. A client redialing a port nobody listens on: reconnect timers in flight.
const dead = ck.createConnection({ host: '127.0.0.1', port: workerData.deadPort, reconnect: { initialDelay: 5, maxDelay: 20 } });
quiet(dead);
dead.write('queued while away');
