'use strict';

// Reconnect and resend with nothing lost. A connkit/jstp server crashes under load,
// simulated in this process: at the call that makes half of a burst received, every
// socket is cut, it stops running and answering calls, and its listener closes. More calls are made while it is down. Then a new server takes the port
// with the same session store, as a restarted server behind a shared store would.
// The client reconnects by itself and its session is restored: calls the old server
// never got are resent from the session, and calls it got but never answered fail
// with ERR_CALLBACK_LOST after the restore, which callMethodWithResend (JSTP's way to
// ask for this) makes again. Every call is answered at the client exactly once.

const jstp = require('connkit/jstp');
const { HOST, once, listen, closeServer, sleep, within } = require('./util');
const { jstpApp, connectJstp } = require('./faces');

const DOWNTIME = 300; // ms between the crash and the new server
const ANSWER_DELAY = 5; // ms each add takes, so the crash finds answers not yet sent

/** A server counting how often it runs each call. `kill()` is its crash: from then
 * on it runs and answers nothing, as a dead process, and every socket is cut. */
async function startServer(storage, port, executed, onCall = () => {}) {
  let alive = true;
  const add = (connection, a, b, cb) => {
    if (!alive) return;
    executed.set(a, (executed.get(a) ?? 0) + 1);
    setTimeout(() => alive && cb(null, a + b), ANSWER_DELAY);
    onCall();
  };
  const server = jstp.net.createServer({ applications: [jstpApp(jstp, add, storage)] });
  await listen(server, port, HOST);
  const kill = () => {
    alive = false;
    for (const connection of server.getClientsArray()) connection.getTransport().destroy();
  };
  return { server, kill };
}

async function restart(count, progress) {
  const storage = new jstp.SimpleSessionStorageProvider();
  const executed = new Map(); // call number -> runs on a server
  const crashAt = Math.max(1, Math.floor(count / 2));
  let crashed;
  const crashing = new Promise((resolve) => (crashed = resolve));
  let first = await startServer(storage, 0, executed, () => {
    if (executed.size === crashAt) {
      first.kill();
      crashed();
    }
  });
  const { port } = first.server.address();
  let second = null;

  const reconnector = (connection, reconnect) => setTimeout(() => connection.closedIntentionally || reconnect(), 50);
  const { connection } = await connectJstp(jstp, port, { reconnector });
  connection.on('error', () => {}); // the cut may reach the client as a reset: expected here
  let attempts = 0;
  connection.on('reconnectAttempt', () => attempts++);
  const sessionId = connection.session.id;

  const answers = new Map(); // call number -> answers received
  let wrong = 0;
  const call = () => {
    const i = answers.size;
    answers.set(i, 0);
    connection.callMethodWithResend('calc', 'add', [i, 1], (error, sum) => {
      answers.set(i, answers.get(i) + 1);
      if (error || sum !== i + 1) wrong++;
    });
  };
  const answered = () => [...answers.values()].filter((n) => n > 0).length;
  const burst = () => {
    for (let i = 0; i < count; i++) call();
  };
  const show = (phase) => progress.tick(`${phase}: ${answered()}/${answers.size} answered`);

  try {
    burst();
    const closed = once(connection, 'close', { errors: false });
    await within(crashing, 10000, `the server got fewer than ${crashAt} calls in 10 s`);
    const down = performance.now();
    const received = executed.size;
    const madeBefore = answers.size;
    const unanswered = madeBefore - answered();
    await closeServer(first.server);
    first = null;
    await closed;
    show('server down');
    burst(); // made while it is down
    await sleep(DOWNTIME);
    const back = once(connection, 'reconnect', { accept: (error) => !error, errors: false });
    back.catch(() => {}); // awaited below, unless the listen fails first
    second = await startServer(storage, port, executed);
    await back;
    const downtime = performance.now() - down; // until the session was restored
    burst(); // and after

    for (const deadline = Date.now() + 10000; answered() < answers.size && Date.now() < deadline; ) {
      show('session restored');
      await sleep(20);
    }
    await sleep(50); // time for a second answer to show, were there one
    const counts = [...answers.values()];
    return {
      port,
      made: answers.size,
      answered: answered(),
      twice: counts.filter((n) => n > 1).length,
      wrong,
      received,
      madeBefore,
      unanswered,
      rerun: [...executed.values()].filter((n) => n > 1).length,
      restoredSession: connection.session.id === sessionId,
      attempts,
      downtime,
    };
  } finally {
    connection.close();
    if (first) {
      first.kill();
      await closeServer(first.server);
    }
    if (second) await closeServer(second.server);
  }
}

module.exports = { restart };
