'use strict';

// The four faces as the demo uses them: each with the original it replaces, a server
// (`serve`) and a client making `add(i, 1)` calls (`connect`). Both take the package
// to run: a face, or its original. `where` is a loopback port, or for socket-ipc a
// socket file.

const { HOST, once, listen, closeServer, sumOf } = require('./util');
const Calc = require('./gen-nodejs/Calc');

/** A face's server, listening on a loopback port: where clients go, and how to close it. */
async function serveTcp(server) {
  await listen(server, 0, HOST);
  const { port } = server.address();
  return { where: port, over: `TCP ${HOST}:${port}`, close: () => closeServer(server) };
}

const thrift = {
  face: 'connkit/thrift',
  original: 'thrift',
  unit: 'calls/s',
  stack: (lib) => ({ transport: lib.TBufferedTransport, protocol: lib.TBinaryProtocol }),
  async serve(lib) {
    const server = lib.createServer(Calc, { add: (a, b, result) => result(null, a + b) }, this.stack(lib));
    return serveTcp(server);
  },
  async connect(lib, port) {
    const connection = lib.createConnection(HOST, port, this.stack(lib));
    const client = lib.createClient(Calc, connection);
    await once(connection, 'connect');
    return { call: (i, done) => client.add(i, 1, sumOf(i, done)), close: async () => connection.end() };
  },
};

const jstpApp = (lib, add = (connection, a, b, cb) => cb(null, a + b), storage) =>
  new lib.Application('demo', { calc: { add } }, {}, storage);

/** connectAndInspect as a promise: the connection and the `calc` proxy. */
const connectJstp = (lib, port, client) =>
  new Promise((resolve, reject) =>
    lib.net.connectAndInspect('demo', client, ['calc'], port, HOST, (error, connection, proxies) =>
      error ? reject(error) : resolve({ connection, calc: proxies.calc }),
    ),
  );

const jstp = {
  face: 'connkit/jstp',
  original: '@metarhia/jstp',
  unit: 'calls/s',
  async serve(lib) {
    const server = lib.net.createServer({ applications: [jstpApp(lib)] });
    return serveTcp(server);
  },
  async connect(lib, port) {
    const { connection, calc } = await connectJstp(lib, port, { reconnector: () => {} });
    return { call: (i, done) => calc.add(i, 1, sumOf(i, done)), close: async () => connection.close() };
  },
};

/** connman is a client only: its server is a line echo made with connkit's own API
 * (the core splits lines and ends each write with one), for either package. */
const connman = {
  face: 'connkit/connman',
  original: 'connman',
  unit: 'echoes/s',
  async serve() {
    const server = require('connkit').createServer({ framing: { delimiter: '\n' } }, (conn) =>
      conn.on('frame', (line) => conn.write(line)),
    );
    return serveTcp(server);
  },
  async connect(lib, port) {
    const waiting = []; // [i, done] per line written, in order
    let text = '';
    const onData = (data) => {
      const lines = (text + data).split('\n');
      text = lines.pop();
      for (const line of lines) {
        const [i, done] = waiting.shift() ?? [];
        if (done) done(null, line === String(i));
      }
    };
    let connected;
    const sock = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connman: no connection to ${HOST}:${port} within 10 s`)), 10000);
      connected = (s) => {
        clearTimeout(timer);
        resolve(s);
      };
      lib.connect(port, HOST, (s) => connected?.(s), onData, () => {});
    }).finally(() => (connected = null));
    return {
      call: (i, done) => {
        waiting.push([i, done]);
        sock.write(`${i}\n`);
      },
      close: async () => sock.disconnect(),
    };
  },
};

const socketIpc = {
  face: 'connkit/socket-ipc',
  original: '@crussell52/socket-ipc',
  unit: 'messages/s',
  async serve(lib, socketFile) {
    const server = new lib.Server({ socketFile });
    server.on('message', (message, topic, clientId) => server.send('sum', message.a + message.b, clientId));
    await listen(server);
    return {
      where: socketFile,
      over: `unix ${socketFile}`,
      close: async () => {
        const closed = once(server, 'close');
        server.close();
        await closed;
      },
    };
  },
  async connect(lib, socketFile) {
    const client = new lib.Client({ socketFile });
    const waiting = []; // [i, done] per message sent, in order
    client.on('message', (sum) => {
      const [i, done] = waiting.shift() ?? [];
      if (done) sumOf(i, done)(null, sum);
    });
    const connected = once(client, 'connect');
    client.connect();
    await connected;
    return {
      call: (i, done) => {
        waiting.push([i, done]);
        client.send('add', { a: i, b: 1 });
      },
      close: async () => client.close(),
    };
  },
};

const FACES = [thrift, jstp, connman, socketIpc];

module.exports = { FACES, jstpApp, connectJstp };
