'use strict';

// A peer whose last data and its TCP reset arrive together (issue 14's first find):
// libuv reports POLLERR once and stops watching, so a reader that stops at a short
// read never hears of the reset. Clients: a Node server writes one message and calls
// resetAndDestroy(); the client must see the message, then the end, within a bound.
// Servers: Node clients each send a partial message and reset; the server must close
// each connection and give its descriptors back. Figures per subject:
//
//   rounds     resets put through it
//   noticed    resets the subject reported (close, disconnect, onReset, ...)
//   delivered  messages that arrived before the reset (clients; the sender's abortive
//              close may discard them before they leave, with Node's sockets too)
//   noticeMs   slowest time from the reset to the report
//   fdsBefore / fdsAfter   this process's descriptors (servers: all must come back)

const net = require('node:net');
const ck = require('../..');
const connman = require('../../faces/connman');
const jstp = require('../../faces/jstp');
const thrift = require('../../faces/thrift');
const { fds, sleep, until, within } = require('../lib/probe');
const { requireOriginalJstp } = require('../lib/originals');

const PROFILES = { short: { clientRounds: 5, serverClients: 50 }, full: { clientRounds: 50, serverClients: 500 } };
const HOST = '127.0.0.1';
const frame = (text) => Buffer.concat([Buffer.from([0, 0, 0, Buffer.byteLength(text)]), Buffer.from(text)]);

/** A Node server that writes `data` to each client and resets it at once. */
async function resettingServer(data) {
  const resetAt = [];
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.write(data);
    resetAt.push(performance.now());
    s.resetAndDestroy();
  });
  await new Promise((r) => server.listen(0, HOST, r));
  return { server, port: server.address().port, resetAt };
}

const closeNode = (server) => new Promise((r) => server.close(() => r()));

/** Runs `rounds` of: connect with `open(port, onNoticed, onDelivered)`, which returns a
 * closer; a round counts once its reset is reported, bounded by 2 s. */
async function clientRounds(data, rounds, open) {
  const peer = await resettingServer(data);
  let noticed = 0;
  let delivered = 0;
  let slowest = 0;
  for (let i = 0; i < rounds; i++) {
    let seen = false;
    const close = open(peer.port, () => {
      if (seen) return;
      seen = true;
      noticed++;
      slowest = Math.max(slowest, performance.now() - peer.resetAt[i]);
    }, () => delivered++);
    await until(() => seen, 2000);
    close();
    await sleep(5);
  }
  await closeNode(peer.server);
  return { rounds, noticed, delivered, noticeMs: Math.round(slowest) };
}

/** `clients` Node clients that each send `partial` and reset; fds must come back. */
async function serverRounds(listen, partial, clients) {
  const { port, close } = await listen();
  const before = fds();
  for (let i = 0; i < clients; i += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, clients - i) }, () => new Promise((resolve) => {
        const s = net.connect(port, HOST, () => s.write(partial, () => {
          s.resetAndDestroy();
          resolve();
        }));
        s.on('error', resolve);
      })),
    );
  }
  const started = performance.now();
  const back = await until(() => fds() <= before, 3000);
  const noticeMs = Math.round(performance.now() - started);
  const after = fds();
  await close();
  return { rounds: clients, fdsBefore: before, fdsAfter: after, noticeMs: back ? noticeMs : 'never' };
}

async function run(profile, report) {
  const p = PROFILES[profile];
  const row = (subject, figures, ok) => report({ subject, ok, figures });

  const core = await clientRounds(frame('hi'), p.clientRounds, (port, noticed, delivered) => {
    const c = ck.createConnection({ host: HOST, port, framing: 'length' });
    c.on('frame', delivered);
    c.on('error', () => {});
    c.on('close', noticed);
    return () => c.destroy();
  });
  row('connkit connection', core, core.noticed === core.rounds);

  for (const [subject, lib] of [['connkit/connman', connman], ['original connman', require('connman')]]) {
    const r = await clientRounds('hello', p.clientRounds, (port, noticed, delivered) => {
      lib.connect(port, HOST, () => {}, delivered, () => void noticed());
      return () => lib.getConnection(port, HOST)?.sock?.disconnect();
    });
    row(subject, r, subject.startsWith('original') || r.noticed === r.rounds);
  }

  for (const [subject, lib] of [['connkit/thrift', thrift], ['original thrift', require('thrift')]]) {
    const r = await clientRounds(Buffer.from([0, 0, 0, 50, 1, 2, 3]), p.clientRounds, (port, noticed) => {
      const c = lib.createConnection(HOST, port, { transport: lib.TFramedTransport });
      c.on('error', () => {});
      c.on('close', noticed);
      return () => c.end();
    });
    delete r.delivered; // a partial reply: nothing to deliver
    row(subject, r, subject.startsWith('original') || r.noticed === r.rounds);
  }

  const listenCore = (framing) => async () => {
    const server = ck.createServer({ framing }, (c) => c.on('error', () => {}));
    server.listen(0, HOST);
    await new Promise((r) => server.once('listening', r));
    return { port: server.address().port, close: () => within(new Promise((r) => server.close(r)), 2000) };
  };
  const coreServer = await serverRounds(listenCore('length'), Buffer.from([0, 0, 0, 9, 1, 2]), p.serverClients);
  row('connkit Server', coreServer, coreServer.fdsAfter <= coreServer.fdsBefore);

  for (const [subject, lib] of [['connkit/jstp server', jstp], ['original jstp server', requireOriginalJstp()]]) {
    const r = await serverRounds(async () => {
      const server = lib.net.createServer({ applications: [new lib.Application('app', {})] });
      await new Promise((res) => server.listen(0, HOST, res));
      return { port: server.address().port, close: () => within(new Promise((res) => server.close(res)), 2000) };
    }, "{handshake:[0,'ap", p.serverClients);
    row(subject, r, subject.startsWith('original') || r.fdsAfter <= r.fdsBefore);
  }

  for (const [subject, lib] of [['connkit/thrift server', thrift], ['original thrift server', require('thrift')]]) {
    function Processor() {}
    Processor.prototype.process = () => {};
    const r = await serverRounds(async () => {
      const server = lib.createServer(Processor, {}, { transport: lib.TFramedTransport });
      server.on('error', () => {});
      await new Promise((res) => server.listen(0, HOST, res));
      return { port: server.address().port, close: () => within(new Promise((res) => server.close(res)), 2000) };
    }, Buffer.from([0, 0, 0, 50, 1, 2, 3]), p.serverClients);
    row(subject, r, subject.startsWith('original') || r.fdsAfter <= r.fdsBefore);
  }
}

module.exports = { run };
