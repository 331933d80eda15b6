'use strict';

// A short side-by-side: the same calls through connkit and through the original
// package, client and server both in this process, 100 calls in flight for a fixed
// time. Quick and rough next to `npm run bench` (separate processes, medians of
// rounds), which is where the published ratios come from.

const net = require('node:net');
const { HOST, once, calls, closeServer } = require('./util');
const { connectJstp, jstpApp } = require('./faces');
const Calc = require('./gen-nodejs/Calc');

const IN_FLIGHT = 100;
const WARM_UP = 500;

/** Each face: the two packages, and how to open one round trip with either. */
const FACES = [
  { face: 'connkit/thrift', unit: 'calls/s', packages: ['connkit/thrift', 'thrift'], open: thrift },
  { face: 'connkit/jstp', unit: 'calls/s', packages: ['connkit/jstp', '@metarhia/jstp'], open: jstp },
  { face: 'connkit/connman', unit: 'echoes/s', packages: ['connkit/connman', 'connman'], open: connman },
  { face: 'connkit/socket-ipc', unit: 'messages/s', packages: ['connkit/socket-ipc', '@crussell52/socket-ipc'], open: socketIpc },
];

async function thrift(lib) {
  const stack = { transport: lib.TBufferedTransport, protocol: lib.TBinaryProtocol };
  const server = lib.createServer(Calc, { add: (a, b, result) => result(null, a + b) }, stack);
  await new Promise((resolve) => server.listen(0, HOST, resolve));
  const connection = lib.createConnection(HOST, server.address().port, stack);
  const client = lib.createClient(Calc, connection);
  await once(connection, 'connect');
  return {
    call: (i, done) => client.add(i, 1, (error, sum) => done(error, sum === i + 1)),
    close: async () => {
      connection.end();
      await closeServer(server);
    },
  };
}

async function jstp(lib) {
  const server = lib.net.createServer({ applications: [jstpApp(lib)] });
  await new Promise((resolve) => server.listen(0, HOST, resolve));
  const { connection, calc } = await connectJstp(lib, server.address().port, { reconnector: () => {} });
  return {
    call: (i, done) => calc.add(i, 1, (error, sum) => done(error, sum === i + 1)),
    close: async () => {
      connection.close();
      await closeServer(server);
    },
  };
}

/** A line out and back through a plain Node echo server: connman is the client only. */
async function connman(lib) {
  const server = net.createServer((socket) => socket.pipe(socket));
  await new Promise((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address();
  const waiting = [];
  const sock = await new Promise((resolve) =>
    lib.connect(port, HOST, resolve, (data) => {
      for (let at = data.indexOf(10); at !== -1; at = data.indexOf(10, at + 1)) waiting.shift()(null, true);
    }, () => {}),
  );
  return {
    call: (i, done) => {
      waiting.push(done);
      sock.write(`${i}\n`);
    },
    close: async () => {
      sock.disconnect();
      await closeServer(server);
    },
  };
}

async function socketIpc(lib, socketFile) {
  const server = new lib.Server({ socketFile });
  server.on('message', (message, topic, clientId) => server.send('sum', message.a + message.b, clientId));
  server.listen();
  await once(server, 'listening');
  const client = new lib.Client({ socketFile });
  const waiting = [];
  client.on('message', (sum) => {
    const [i, done] = waiting.shift();
    done(null, sum === i + 1);
  });
  client.connect();
  await once(client, 'connect');
  return {
    call: (i, done) => {
      waiting.push([i, done]);
      client.send('add', { a: i, b: 1 });
    },
    close: async () => {
      client.close();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Round trips per second through `call`, with IN_FLIGHT outstanding, for `seconds`. */
function rate(call, seconds) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const until = started + seconds * 1000;
    let outstanding = 0;
    let answered = 0;
    let n = 0;
    const send = () => {
      outstanding++;
      call(n++, (error, ok) => {
        outstanding--;
        if (error || !ok) {
          reject(error ?? new Error('a wrong answer'));
          return;
        }
        answered++;
        if (performance.now() < until) send();
        else if (outstanding === 0) resolve(answered / ((performance.now() - started) / 1000));
      });
    };
    for (let i = 0; i < IN_FLIGHT; i++) send();
  });
}

/** Rows { face, unit, connkit, original } for every face, each package run in turn. */
async function throughput(seconds, socketFile, progress) {
  const rows = [];
  for (const { face, unit, packages, open } of FACES) {
    const row = { face, unit, original: packages[1] };
    for (const [side, name] of [['connkit', packages[0]], ['theirs', packages[1]]]) {
      progress.tick(`${name}…`);
      const pair = await open(require(name), socketFile);
      await calls(WARM_UP, pair.call);
      row[side] = await rate(pair.call, seconds);
      await pair.close();
    }
    rows.push(row);
  }
  return rows;
}

module.exports = { throughput, IN_FLIGHT };
