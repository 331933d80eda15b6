'use strict';

// Reconnect and resend with nothing lost: a connkit/jstp server crashes under load —
// every socket cut at once, the listener gone — while calls are in flight and more
// are made, then a new server comes up on the same port with the same session store
// (as a restarted server behind a shared store would). The client's session is
// restored: the calls the server never got are resent, the answers it made while the
// client was away are delivered, and every call is answered exactly once. The calls
// are made with callMethodWithResend, as JSTP offers for this: an answer the server
// wrote into a socket that then died is not known lost until after the restore, and
// that call is made again.

const jstp = require('connkit/jstp');
const { HOST, closeServer, sleep } = require('./util');
const { connectJstp } = require('./faces');

const DOWNTIME = 300; // ms the server stays down

/** An application whose add answers a little later, so the crash finds calls in flight. */
function application(storage) {
  const add = (connection, a, b, cb) => setTimeout(cb, 5, null, a + b);
  return new jstp.Application('demo', { calc: { add } }, {}, storage);
}

async function startServer(app, port) {
  const server = jstp.net.createServer({ applications: [app] });
  await new Promise((resolve) => server.listen(port, HOST, resolve));
  return server;
}

/** Cuts every client's socket, then closes the listener. */
async function crash(server) {
  for (const connection of server.getClientsArray()) connection.getTransport().destroy();
  await closeServer(server);
}

/** Resolves at the first reconnect that succeeds (failed attempts emit one too). */
function reconnected(connection, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reconnect within ${ms} ms`)), ms);
    const onReconnect = (error) => {
      if (error) return;
      clearTimeout(timer);
      connection.removeListener('reconnect', onReconnect);
      resolve();
    };
    connection.on('reconnect', onReconnect);
  });
}

async function restart(count, progress) {
  const app = application(new jstp.SimpleSessionStorageProvider());
  let server = await startServer(app, 0);
  const { port } = server.address();
  const reconnector = (connection, reconnect) => setTimeout(() => connection.closedIntentionally || reconnect(), 50);
  const { connection } = await connectJstp(jstp, port, { reconnector });
  const sessionId = connection.session.id;
  connection.on('error', () => {}); // the cut may reach the client as a reset: expected here
  let attempts = 0;
  connection.on('reconnectAttempt', () => attempts++);

  const answers = new Map(); // call number -> how many answers
  let wrong = 0;
  let made = 0;
  const call = () => {
    const i = made++;
    answers.set(i, 0);
    connection.callMethodWithResend('calc', 'add', [i, 1], (error, sum) => {
      answers.set(i, answers.get(i) + 1);
      if (error || sum !== i + 1) wrong++;
    });
  };
  const answered = () => [...answers.values()].filter((n) => n > 0).length;
  const phase = (label) => progress.tick(`${label}: ${answered()}/${made} answered`);

  for (let i = 0; i < count; i++) call();
  await sleep(2); // the server has some of these, and is working on them
  const inFlight = made - answered();
  const closed = new Promise((resolve) => connection.once('close', resolve));
  await crash(server);
  await closed;
  phase('server down');
  for (let i = 0; i < count; i++) call(); // made while the server is down
  await sleep(DOWNTIME);
  const back = reconnected(connection, 10000);
  server = await startServer(app, port);
  phase('server back');
  await back;
  for (let i = 0; i < count; i++) call(); // and after

  const deadline = Date.now() + 10000;
  while (answered() < made && Date.now() < deadline) {
    phase('restored');
    await sleep(20);
  }
  await sleep(50); // time for any duplicate answer to show
  const twice = [...answers.values()].filter((n) => n > 1).length;
  const restoredSession = connection.session.id === sessionId;
  connection.close();
  await closeServer(server);
  return { port, made, inFlight, answered: answered(), twice, wrong, restoredSession, attempts, downtime: DOWNTIME };
}

module.exports = { restart };
