'use strict';

// One scenario per face: a connkit server, then a client through the face and one
// through the original package, each making `count` calls at once. The second client
// shows the wire is the same: the original talks to connkit unchanged.

const { HOST, once, calls, closeServer } = require('./util');
const Calc = require('./gen-nodejs/Calc');

/** connkit/thrift: TCP, buffered transport, binary protocol. */
async function thrift(count) {
  const server = require('connkit/thrift').createServer(Calc, { add: (a, b, result) => result(null, a + b) });
  await new Promise((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address();
  const answered = {};
  for (const name of ['connkit/thrift', 'thrift']) {
    const lib = require(name);
    const connection = lib.createConnection(HOST, port, { transport: lib.TBufferedTransport, protocol: lib.TBinaryProtocol });
    const client = lib.createClient(Calc, connection);
    await once(connection, 'connect');
    answered[name] = await calls(count, (i, done) => client.add(i, 1, (error, sum) => done(error, sum === i + 1)));
    connection.end();
  }
  await closeServer(server);
  return { face: 'connkit/thrift', over: `TCP ${HOST}:${port}`, count, answered };
}

const jstpApp = (jstp) => new jstp.Application('demo', { calc: { add: (connection, a, b, cb) => cb(null, a + b) } });

/** connkit/jstp: sessions over TCP. */
async function jstp(count) {
  const server = require('connkit/jstp').net.createServer({ applications: [jstpApp(require('connkit/jstp'))] });
  await new Promise((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address();
  const answered = {};
  for (const name of ['connkit/jstp', '@metarhia/jstp']) {
    const { connection, calc } = await connectJstp(require(name), port, { reconnector: () => {} });
    answered[name] = await calls(count, (i, done) => calc.add(i, 1, (error, sum) => done(error, sum === i + 1)));
    connection.close();
  }
  await closeServer(server);
  return { face: 'connkit/jstp', over: `TCP ${HOST}:${port}`, count, answered };
}

/** connectAndInspect as a promise: the connection and the `calc` proxy. */
function connectJstp(jstp, port, client) {
  return new Promise((resolve, reject) =>
    jstp.net.connectAndInspect('demo', client, ['calc'], port, HOST, (error, connection, proxies) =>
      error ? reject(error) : resolve({ connection, calc: proxies.calc }),
    ),
  );
}

/** connkit/connman: a managed socket to an echo server made with connkit's own API,
 * lines out and the same lines back (the core splits lines and ends each write with one). */
async function connman(count) {
  const server = require('connkit').createServer({ framing: { delimiter: '\n' } }, (conn) =>
    conn.on('frame', (line) => conn.write(line)),
  );
  await new Promise((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address();
  const answered = {};
  for (const name of ['connkit/connman', 'connman']) {
    answered[name] = await echoLines(require(name), port, count);
  }
  await closeServer(server);
  return { face: 'connkit/connman', over: `TCP ${HOST}:${port}`, count, answered };
}

/** Writes lines 0..count-1 once connected; resolves with how many came back in order. */
function echoLines(cm, port, count) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the echo did not come back within 10 s')), 10000);
    let text = '';
    cm.connect(
      port,
      HOST,
      (sock) => {
        for (let i = 0; i < count; i++) sock.write(`${i}\n`);
      },
      (data) => {
        text += data;
        const lines = text.split('\n').slice(0, -1);
        if (lines.length < count) return;
        clearTimeout(timer);
        cm.getConnection(port, HOST).sock.disconnect();
        resolve(lines.filter((line, i) => line === String(i)).length);
      },
      () => {},
    );
  });
}

/** connkit/socket-ipc: a server on a temporary unix socket answering each message. */
async function socketIpc(count, socketFile) {
  const { Server } = require('connkit/socket-ipc');
  const server = new Server({ socketFile });
  server.on('message', (message, topic, clientId) => server.send('sum', message.a + message.b, clientId));
  server.listen();
  await once(server, 'listening');
  const answered = {};
  for (const name of ['connkit/socket-ipc', '@crussell52/socket-ipc']) {
    const client = new (require(name).Client)({ socketFile });
    client.connect();
    await once(client, 'connect');
    const sums = [];
    const all = new Promise((resolve) => client.on('message', (sum) => sums.push(sum) === count && resolve()));
    for (let i = 0; i < count; i++) client.send('add', { a: i, b: 1 });
    await Promise.race([all, once(client, 'never', 10000)]);
    answered[name] = sums.filter((sum, i) => sum === i + 1).length;
    client.close();
  }
  server.close();
  await once(server, 'close');
  return { face: 'connkit/socket-ipc', over: `unix ${socketFile}`, count, answered };
}

module.exports = { thrift, jstp, connman, socketIpc, connectJstp, jstpApp };
