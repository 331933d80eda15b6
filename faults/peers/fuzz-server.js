'use strict';

// One server for the fuzzer, hosted in a worker thread of the scenario's process
// (connkit: a panic kills the scenario; a JS exception or a hang ends only this worker,
// and is counted) or in a child process of its own (the original packages).
//
// It reports `{ ready: { port | path } }`, then every 100 ms `{ hb: stats }` with the
// errors seen on the server side by `code` (those without a string `code` apart), and
// on `{ close: true }` closes its server and lets its thread or process end by itself.
//
//   worker: workerData = { target, lib, path? }
//   child:  node fuzz-server.js TARGET LIB [PATH]

const path = require('node:path');
const { isMainThread, parentPort, workerData } = require('node:worker_threads');

const ROOT = path.join(__dirname, '..', '..');
const inWorker = !isMainThread;
const { target, lib, socketPath } = inWorker ? workerData : { target: process.argv[2], lib: process.argv[3], socketPath: process.argv[4] };

const send = (m) => {
  if (inWorker) parentPort.postMessage(m);
  else if (process.connected) process.send(m);
};
const onMessage = (fn) => (inWorker ? parentPort.on('message', fn) : process.on('message', fn));

if (!inWorker) {
  // A crash is a finding: say what it was, then die as the process would have.
  process.on('uncaughtException', (error) => {
    const text = `${error && error.name}: ${error && error.message}`.slice(0, 200);
    if (process.connected) process.send({ crash: text }, () => process.exit(70));
    else process.exit(70);
  });
  process.on('disconnect', () => process.exit(0));
}

const stats = { codes: {}, uncoded: {}, errors: 0 };
function record(error) {
  stats.errors++;
  const code = error && typeof error.code === 'string' ? error.code : null;
  if (code) stats.codes[code] = (stats.codes[code] || 0) + 1;
  else {
    const what = `${(error && error.name) || typeof error}${error && error.code !== undefined ? `(code ${error.code})` : ''}: ${String((error && error.message) || error).slice(0, 60)}`;
    stats.uncoded[what] = (stats.uncoded[what] || 0) + 1;
  }
}

const ck = () => require(ROOT);
const faces = {
  jstp: () => (lib === 'original' ? require('@metarhia/jstp') : require(path.join(ROOT, 'faces/jstp'))),
  thrift: () => (lib === 'original' ? require('thrift') : require(path.join(ROOT, 'faces/thrift'))),
  ipc: () => (lib === 'original' ? require('@crussell52/socket-ipc') : require(path.join(ROOT, 'faces/socket-ipc'))),
};

/** Each target: starts, resolves with where it listens; `close()` closes it. */
function coreEcho(framing) {
  return () =>
    new Promise((resolve) => {
      const server = ck().createServer({ framing }, (conn) => {
        conn.on('error', record);
        conn.on('frame', (f) => conn.write(f));
        conn.on('data', (d) => conn.write(d));
      });
      server.on('error', record);
      server.listen(0, '127.0.0.1', () => resolve({ where: { port: server.address().port }, close: (cb) => server.close(cb) }));
    });
}

function webServer() {
  return new Promise((resolve) => {
    const server = new (ck().WebServer)({ websocket: true });
    server.on('error', record);
    server.on('request', (req) => req.respond(200, req.body));
    server.on('connection', (conn) => {
      conn.on('error', record);
      conn.on('frame', (f) => conn.write(f));
    });
    server.listen(0, '127.0.0.1', () => resolve({ where: { port: server.address().port }, close: (cb) => server.close(cb) }));
  });
}

function jstpServer() {
  const jstp = faces.jstp();
  const app = new jstp.Application('calc@1.0.0', {
    calculator: {
      add: (conn, a, b, cb) => cb(null, a + b),
      echo: (conn, value, cb) => cb(null, value),
    },
  }, { calculator: { note: () => {} } });
  const server = jstp.net.createServer({ applications: [app] });
  server.on('connectionError', record);
  server.on('error', record);
  server.on('methodError', record);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ where: { port: server.address().port }, close: (cb) => server.close(cb) })));
}

const Calc = () => require(path.join(ROOT, 'demo', 'gen-nodejs', 'Calc.js'));
const calcHandler = { add: (a, b, result) => result(null, a + b) };

function thriftServer(transport, protocol) {
  const thrift = faces.thrift();
  const server = thrift.createServer(Calc(), calcHandler, { transport: thrift[transport], protocol: thrift[protocol] });
  server.on('error', record);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ where: { port: server.address().port }, close: (cb) => server.close(cb) })));
}

function thriftWeb() {
  const thrift = faces.thrift();
  const server = thrift.createWebServer({
    services: { '/calc': { transport: thrift.TBufferedTransport, protocol: thrift.TBinaryProtocol, processor: Calc(), handler: calcHandler } },
  });
  server.on('error', record);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ where: { port: server.address().port }, close: (cb) => server.close(cb) })));
}

function ipcServer() {
  const ipc = faces.ipc();
  const server = new ipc.Server({ socketFile: socketPath });
  server.on('error', record);
  server.on('message.ping', (message, clientId) => server.send('pong', message, clientId));
  return new Promise((resolve) => {
    server.once('listening', () =>
      resolve({
        where: { path: socketPath },
        close: (cb) => {
          server.once('close', () => cb());
          server.close();
        },
      }),
    );
    server.listen();
  });
}

const TARGETS = {
  raw: coreEcho('raw'),
  length: coreEcho('length'),
  jstp: coreEcho('jstp'),
  'thrift-binary': coreEcho('thrift-binary'),
  'thrift-compact': coreEcho('thrift-compact'),
  nul: coreEcho({ delimiter: '\0' }),
  ws: webServer,
  'jstp-face': jstpServer,
  'thrift-framed': () => thriftServer('TFramedTransport', 'TCompactProtocol'),
  'thrift-buffered': () => thriftServer('TBufferedTransport', 'TBinaryProtocol'),
  'thrift-web': thriftWeb,
  'socket-ipc': ipcServer,
};

async function main() {
  const started = await TARGETS[target]();
  const beat = setInterval(() => send({ hb: stats }), 100);
  send({ ready: started.where });
  onMessage((m) => {
    if (!m || !m.close) return;
    clearInterval(beat);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      send({ closed: stats });
      // Nothing else keeps this thread or process alive: it should end by itself.
      if (inWorker) parentPort.unref();
      else process.channel && process.channel.unref();
    };
    try {
      started.close(finish);
    } catch (error) {
      record(error);
      finish();
    }
  });
}

main().catch((error) => send({ crash: `start failed: ${error && error.stack}` }));
