'use strict';

// A peer whose last data and its reset (or, on a unix socket, its close with our
// bytes unread) arrive together. libuv then reports POLLERR once and stops watching
// the socket; connkit used to read the data, stop at the short read and never look
// again, so the connection stayed open forever and a server kept both its fds.
// Every face's clients and servers read plain sockets the same way: each is checked.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const { createConnection, createServer, Client } = require('connkit');
const connman = require('connkit/connman');
const ipc = require('connkit/socket-ipc');
const jstp = require('connkit/jstp');
const thrift = require('connkit/thrift');
const { waitFor, until, tmpSocket } = require('./helpers');

const fds = () => fs.readdirSync('/proc/self/fd').length;
const frame = (text) => Buffer.concat([Buffer.from([0, 0, 0, Buffer.byteLength(text)]), Buffer.from(text)]);
const close = (server) => new Promise((resolve) => server.close(() => resolve()));

/** A Node TCP server that writes `data` to each client and resets it at once. */
async function resettingServer(data) {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.write(data);
    s.resetAndDestroy();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

/** Opens `n` Node clients to `port` that each write `data` and reset. */
async function resettingClients(port, data, n = 20) {
  await Promise.all(
    Array.from({ length: n }, () => new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.write(data, () => {
          s.resetAndDestroy();
          resolve();
        });
      });
      s.on('error', resolve);
    })),
  );
}

/** Same on a unix socket: the Node client leaves what the server wrote unread and closes. */
async function abandoningUnixClients(path, data, n, serverWrites) {
  const sockets = await Promise.all(
    Array.from({ length: n }, () => new Promise((resolve) => {
      const s = net.connect(path, () => resolve(s));
      s.on('error', () => {});
      s.pause();
    })),
  );
  await serverWrites();
  await new Promise((r) => setTimeout(r, 50));
  for (const s of sockets) s.write(data, () => s.destroy());
}

test('core connection: the frame, then ECONNRESET and close', async () => {
  const server = await resettingServer(frame('hi'));
  const conn = createConnection({ host: '127.0.0.1', port: server.address().port, framing: 'length' });
  const seen = [];
  conn.on('frame', (f) => seen.push(`frame:${f}`));
  conn.on('error', (e) => seen.push(`error:${e.code}`));
  await waitFor(conn, 'close', 3000);
  assert.deepEqual(seen, ['frame:hi', 'error:ECONNRESET']);
  await close(server);
});

test('core Client: a reset session is noticed and redialed', async () => {
  const server = await resettingServer(frame('hi'));
  const client = new Client({ host: '127.0.0.1', port: server.address().port, framing: 'length', reconnect: { initialDelay: 10, jitter: 'none' } });
  let frames = 0;
  client.on('frame', () => frames++);
  const [error] = await waitFor(client, 'disconnect', 3000);
  assert.equal(error.code, 'ECONNRESET');
  await until(() => frames >= 2, 3000, 'a frame from the second session');
  client.destroy();
  await waitFor(client, 'close');
  await close(server);
});

test('core server (TCP): clients that send and reset are closed and their fds freed', async () => {
  const server = createServer({ framing: 'length' }, (c) => c.on('error', () => {}));
  server.listen(0, '127.0.0.1');
  await waitFor(server, 'listening');
  const before = fds();
  await resettingClients(server.address().port, Buffer.from([0, 0, 0, 9, 1, 2]), 50);
  await until(() => server.connections === 0 && fds() <= before, 3000, 'every reset connection closed');
  await close(server);
});

test('core server (unix): clients that close with our bytes unread are closed', async () => {
  const path = tmpSocket();
  const conns = [];
  const server = createServer({ path, framing: 'length' }, (c) => {
    c.on('error', () => {});
    conns.push(c);
  });
  server.listen(path);
  await waitFor(server, 'listening');
  const before = fds();
  await abandoningUnixClients(path, Buffer.from([0, 0, 0, 9, 1]), 20, async () => {
    await until(() => conns.length === 20, 3000, 'connections');
    for (const c of conns) c.write(Buffer.alloc(1000));
  });
  await until(() => server.connections === 0 && fds() <= before, 3000, 'every abandoned connection closed');
  await close(server);
});

test('connkit/connman: onReset runs for a reset socket, and it reconnects', async () => {
  const server = await resettingServer('hello');
  const port = server.address().port;
  let resets = 0;
  let connects = 0;
  connman.connect(port, '127.0.0.1', () => connects++, () => {}, () => void resets++);
  await until(() => resets >= 1 && connects >= 2, 3000, 'a reset and a reconnect');
  connman.getConnection(port, '127.0.0.1').disconnect();
  await close(server);
});

test('connkit/socket-ipc client: a server that goes away after a message is reconnected to', async () => {
  const socketFile = tmpSocket();
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.pause(); // leaves what the client sends unread
    // The message and the close in one go, so they reach the client together.
    setTimeout(() => {
      s.write('{"topic":"t","message":1}\0\0');
      s.destroy();
    }, 30);
  });
  await new Promise((r) => server.listen(socketFile, r));
  const client = new ipc.Client({ socketFile, retryDelay: 10, reconnectDelay: 10 });
  client.on('error', () => {});
  const messages = [];
  client.on('message', (m) => messages.push(m));
  client.on('connect', () => client.send('t', 'x'.repeat(1000)));
  client.connect();
  await waitFor(client, 'disconnect', 3000);
  await waitFor(client, 'reconnect', 3000);
  assert.ok(messages.length >= 1);
  client.close();
  await waitFor(client, 'close');
  await close(server);
});

test('connkit/socket-ipc server: clients that close with its messages unread are dropped', async () => {
  const server = new ipc.Server({ socketFile: tmpSocket() });
  server.on('error', () => {});
  server.listen();
  await waitFor(server, 'listening');
  let connected = 0;
  let closed = 0;
  server.on('connection', (id, socket) => {
    connected++;
    socket.on('close', () => closed++);
  });
  await abandoningUnixClients(server._socketFile, '{"topic":"t"', 10, async () => {
    await until(() => connected === 10, 3000, 'connections');
    server.broadcast('t', 'x'.repeat(1000));
  });
  await until(() => closed === 10, 3000, "every socket's close");
  server.close();
  await waitFor(server, 'close');
});

test('connkit/jstp server: clients that reset mid-handshake are closed', async () => {
  const app = new jstp.Application('app', {});
  const server = jstp.net.createServer({ applications: [app] });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const before = fds();
  await resettingClients(server.address().port, "{handshake:[0,'ap", 20);
  await until(() => fds() <= before, 3000, 'fds back to their count');
  await new Promise((r) => server.close(r));
});

test('connkit/jstp client: a server that resets mid-handshake fails the connect', async () => {
  const server = await resettingServer("{handshake:[0],ok:'");
  const error = await new Promise((resolve) => {
    const client = { reconnector: () => {} };
    jstp.net.connect('app', client, server.address().port, '127.0.0.1', (err) => resolve(err));
  });
  assert.ok(error, 'the connect callback got an error');
  await close(server);
});

test('connkit/thrift: a server that resets after a partial reply closes the connection', async () => {
  const server = await resettingServer(Buffer.from([0, 0, 0, 50, 1, 2, 3]));
  const connection = thrift.createConnection('127.0.0.1', server.address().port, { transport: thrift.TFramedTransport });
  connection.on('error', () => {});
  await waitFor(connection, 'close', 3000);
  await close(server);
});

test('connkit/thrift server: clients that reset mid-frame are closed', async () => {
  function Processor() {}
  Processor.prototype.process = () => {};
  const server = thrift.createServer(Processor, {}, { transport: thrift.TFramedTransport });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const before = fds();
  await resettingClients(server.address().port, Buffer.from([0, 0, 0, 50, 1, 2, 3]), 20);
  await until(() => fds() <= before, 3000, 'fds back to their count');
  await new Promise((r) => server.close(r));
});
