'use strict';

// Server crashes: a server process is killed with SIGKILL mid-traffic and started
// again on the same port (or socket file) after a short outage, for each face. The
// client, in this process, keeps sending throughout. Measured per subject:
//
//   made      calls / messages the API accepted
//   answered  answered (calls) or echoed back (messages)
//   failed    settled with an error; codes lists the codes seen
//   hung      still waiting after a bounded wait: callbacks never called (calls),
//             write callbacks never called (connkit Client, connman)
//   lost      accepted, never failed, and in no server's delivery log
//   duplicated  delivered to a server more than once (calls: run again)
//   twice     a callback called more than once; wrong: a wrong answer
//   ranAfterFail  failed at the client, then delivered to the next server anyway
//   recovered rounds after which the client reconnected by itself (n/rounds)
//   recoverMs from the new server's listen to the client's reconnect (median, max)
//
// Each server writes what its application received to a log file with write(2) at
// once, so deliveries survive the kill. Messages a client had handed to the kernel
// when the server died can be lost by TCP itself (they sat in the dead process's
// receive buffer): they count as lost, and connkit's rows do not fail on that;
// they fail on anything left hanging, duplicated, answered twice or wrongly, a
// crash, or a client that does not come back.

const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { startPeer } = require('../lib/peer');
const { requireJstp } = require('../peers/crash-common');
const { snapshot, sleep, until } = require('../lib/probe');

const PEERS = path.join(__dirname, '..', 'peers');
const HOST = '127.0.0.1';
const Calc = require(path.join(__dirname, '..', '..', 'demo', 'gen-nodejs', 'Calc'));

const PROFILES = {
  short: { rounds: 1, trafficMs: 200, outageMs: 200, tickMs: 2, perTick: 3, maxInflight: 600, maxMade: 20_000, reconnectMs: 2500, quietMs: 300, settleMs: 2500 },
  full: { rounds: 5, trafficMs: 500, outageMs: 250, tickMs: 2, perTick: 4, maxInflight: 1000, maxMade: 200_000, reconnectMs: 3000, quietMs: 500, settleMs: 4000 },
};

// ---------------------------------------------------------------------------------
// Bookkeeping

const codeOf = (error) => {
  if (typeof error === 'number') return String(error); // jstp's ERR_CALLBACK_LOST is a bare -1
  if (!error) return 'none';
  if (error.code !== undefined) return String(error.code);
  if (error.type !== undefined) return `${error.name}:${error.type}`; // a TApplicationException
  const cls = error.constructor && error.constructor.name;
  return String(cls && cls !== 'Error' ? cls : error.name || 'Error');
};

/** Every call or message one subject made, and what became of it. */
class Ledger {
  constructor(withCallbacks) {
    this.withCallbacks = withCallbacks; // messages whose writes call back (settled only then)
    this.entries = new Map();
    this.codes = new Set();
    this.server = 0; // which server's life we are in: bumped at each restart
    this.progress = 0;
    this.frozen = false;
  }

  /** From now on nothing is recorded: the figures are those of this moment. */
  freeze() {
    this.frozen = true;
  }

  add(id) {
    this.entries.set(id, { answers: 0, wrong: 0, errors: 0, writes: 0, failedIn: -1 });
  }

  answered(id, right = true) {
    if (this.frozen) return;
    const e = this.entries.get(id);
    if (!e) return;
    e.answers++;
    if (!right) e.wrong++;
    this.progress++;
  }

  failed(id, error) {
    if (this.frozen) return;
    const e = this.entries.get(id);
    if (!e) return;
    e.errors++;
    if (e.failedIn < 0) e.failedIn = this.server;
    this.codes.add(codeOf(error));
    this.progress++;
  }

  /** A write's callback (messages). */
  written(id, error) {
    if (this.frozen) return;
    const e = this.entries.get(id);
    if (!e) return;
    e.writes++;
    this.progress++;
    if (error) this.failed(id, error);
  }

  settled(e) {
    if (this.withCallbacks === 'write') return e.writes > 0;
    if (this.withCallbacks === 'call') return e.answers + e.errors > 0;
    return e.answers + e.errors > 0; // messages without callbacks: echoed or failed
  }

  pending() {
    let n = 0;
    for (const e of this.entries.values()) if (!this.settled(e)) n++;
    return n;
  }

  /** Figures, with `delivered`: id -> the servers' lives it reached (one per delivery). */
  figures(delivered) {
    let answered = 0, failed = 0, hung = 0, lost = 0, duplicated = 0, twice = 0, wrong = 0, ranAfterFail = 0;
    for (const [id, e] of this.entries) {
      const lives = delivered.get(String(id)) ?? [];
      if (e.answers > 0) answered++;
      if (e.errors > 0) failed++;
      if (!this.settled(e)) hung++;
      if (e.errors === 0 && lives.length === 0) lost++;
      if (lives.length > 1) duplicated++;
      if (this.withCallbacks === 'call' ? e.answers + e.errors > 1 : e.answers > 1 || e.writes > 1) twice++;
      if (e.wrong > 0) wrong++;
      if (e.errors > 0 && lives.some((life) => life > e.failedIn)) ranAfterFail++;
    }
    if (this.withCallbacks === 'none') hung = 'n/a'; // nothing to call back: what never arrives is lost
    return { made: this.entries.size, answered, failed, codes: [...this.codes].sort().join(',') || '-', hung, lost, duplicated, twice, wrong, ranAfterFail };
  }
}

/** The servers' delivery logs: id -> [life, ...], one entry per delivery. */
function readDeliveries(logs) {
  const delivered = new Map();
  logs.forEach((file, life) => {
    if (!fs.existsSync(file)) return;
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      const lives = delivered.get(line);
      if (lives) lives.push(life);
      else delivered.set(line, [life]);
    }
  });
  return delivered;
}

// Errors thrown out of a package's event handlers land here: a crash, counted for
// the subject running (connkit's rows fail on any).
let crashes = null;
process.on('uncaughtException', (error) => {
  if (!crashes) throw error;
  crashes.push(error);
});
process.on('unhandledRejection', (error) => {
  if (!crashes) throw error;
  crashes.push(error);
});

async function freePort() {
  const probe = net.createServer();
  await new Promise((r) => probe.listen(0, HOST, r));
  const { port } = probe.address();
  await new Promise((r) => probe.close(r));
  return port;
}

/** Waits until `done()`, or until `progress()` stops moving for `quietMs`; at most `maxMs`. */
async function settle(done, progress, quietMs, maxMs) {
  const deadline = Date.now() + maxMs;
  let last = progress();
  let movedAt = Date.now();
  while (!done() && Date.now() < deadline) {
    await sleep(10);
    const now = progress();
    if (now !== last) {
      last = now;
      movedAt = Date.now();
    } else if (Date.now() - movedAt >= quietMs) break;
  }
}

const median = (xs) => {
  if (xs.length === 0) return -1;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

// ---------------------------------------------------------------------------------
// The crash loop, the same for every subject

/**
 * `server(logFile)`: starts a server process logging its deliveries to `logFile`
 * (one file per life of the server). `makeClient()`: { connects, connectedAt,
 * ledgers, send(id), close(), ready?(), figures?() }.
 */
async function crashLoop(P, dir, name, server, makeClient) {
  const logs = [];
  const start = (life) => {
    logs[life] = path.join(dir, `${name}-${life}.log`);
    return server(logs[life]);
  };
  let peer = await start(0);
  const before = snapshot();
  const recover = [];
  const outages = [];
  let client = null;
  let ticker = null;
  let made = 0;
  try {
    client = makeClient();
    const ledgers = client.ledgers;
    if (!(await until(() => client.connects > 0, P.reconnectMs))) throw new Error(`${name}: the client never connected`);
    await client.ready?.();
    const inflight = () => ledgers.reduce((n, l) => n + l.pending(), 0);
    ticker = setInterval(() => {
      for (let i = 0; i < P.perTick && made < P.maxMade && inflight() < P.maxInflight; i++) client.send(made++);
    }, P.tickMs);

    for (let round = 0; round < P.rounds; round++) {
      await sleep(P.trafficMs);
      const connectsBefore = client.connects;
      const killedAt = Date.now();
      await peer.kill('SIGKILL');
      await sleep(P.outageMs);
      for (const l of ledgers) l.server = round + 1;
      peer = await start(round + 1);
      const upAt = Date.now();
      outages.push(upAt - killedAt);
      if (await until(() => client.connects > connectsBefore, P.reconnectMs)) {
        recover.push(Math.max(0, client.connectedAt - upAt));
      }
    }
    await sleep(P.trafficMs);
    clearInterval(ticker);
    ticker = null;
    const progress = () => ledgers.reduce((n, l) => n + l.progress, 0);
    await settle(() => inflight() === 0, progress, P.quietMs, P.settleMs);
  } finally {
    if (ticker) clearInterval(ticker);
    if (client) {
      // What is unsettled now is hung: what closing the client does to it is not counted.
      for (const l of client.ledgers) l.freeze();
      await client.close();
    }
    await peer.kill('SIGKILL');
  }
  await sleep(50);
  const after = snapshot();
  const delivered = readDeliveries(logs);
  return client.ledgers.map((ledger) => ({
    ...ledger.figures(delivered),
    recovered: `${recover.length}/${P.rounds}`,
    recoverMs: median(recover),
    recoverMaxMs: recover.length ? Math.max(...recover) : -1,
    outageMs: median(outages),
    ...(client.figures?.() ?? {}),
    fdsBefore: before.fds,
    fdsAfter: after.fds,
    rssBeforeMiB: before.rss,
    rssAfterMiB: after.rss,
  }));
}

// ---------------------------------------------------------------------------------
// The subjects' clients

/** connkit's own Client, length framing; the server echoes each frame. */
function coreClient(port) {
  const { Client } = require('../..');
  const ledger = new Ledger('write');
  const c = { connects: 0, connectedAt: 0, ledgers: [ledger] };
  const client = new Client({ port, host: HOST, framing: 'length' });
  client.on('connect', () => {
    c.connects++;
    c.connectedAt = Date.now();
  });
  client.on('error', () => {});
  client.on('frame', (frame) => ledger.answered(Number(frame.toString())));
  c.send = (id) => {
    ledger.add(id);
    client.write(String(id), (error) => ledger.written(id, error));
  };
  c.close = async () => {
    const closed = new Promise((r) => client.once('close', r));
    client.destroy();
    await Promise.race([closed, sleep(2000)]);
  };
  return c;
}

/** A JSTP client: even ids go by callMethod, odd ones by callMethodWithResend. */
function jstpClient(jstp, port) {
  const plain = new Ledger('call');
  const resend = new Ledger('call');
  const c = { connects: 0, connectedAt: 0, ledgers: [plain, resend], failedReconnects: 0, attempts: 0, reconnectErrors: new Set() };
  let connection = null;
  // Redials 50 ms after a loss or a failed attempt, a bounded number of times.
  const reconnector = (conn, reconnect) => {
    if (++c.attempts > 2000) return;
    setTimeout(() => conn.closedIntentionally || reconnect(), 50);
  };
  const opened = new Promise((resolve, reject) => {
    jstp.net.connectAndInspect('crash', { reconnector }, ['calc'], port, HOST, (error, conn) => {
      if (error) return reject(error);
      connection = conn;
      conn.on('error', () => {});
      conn.on('reconnect', (error) => {
        if (error) {
          c.failedReconnects++;
          c.reconnectErrors.add(codeOf(error));
          return;
        }
        c.connects++;
        c.connectedAt = Date.now();
      });
      c.connects++;
      c.connectedAt = Date.now();
      resolve();
    });
  });
  opened.catch(() => {});
  c.ready = () => opened;
  c.send = (id) => {
    const ledger = id % 2 ? resend : plain;
    ledger.add(id);
    const method = id % 2 ? 'callMethodWithResend' : 'callMethod';
    connection[method]('calc', 'add', [id], (error, sum) => {
      if (error) ledger.failed(id, error);
      else ledger.answered(id, sum === id + 1);
    });
  };
  c.close = async () => {
    if (connection) connection.close();
  };
  c.figures = () => ({ failedReconnects: c.failedReconnects, reconnectErrors: [...c.reconnectErrors].sort().join(',') || '-' });
  return c;
}

/** A thrift client (framed, binary) with max_attempts: it reconnects. */
function thriftClient(thrift, port) {
  const ledger = new Ledger('call');
  const c = { connects: 0, connectedAt: 0, ledgers: [ledger] };
  const connection = thrift.createConnection(HOST, port, {
    transport: thrift.TFramedTransport,
    protocol: thrift.TBinaryProtocol,
    max_attempts: 30,
    retry_max_delay: 1000,
  });
  connection.on('error', () => {});
  connection.on('connect', () => {
    c.connects++;
    c.connectedAt = Date.now();
  });
  const client = thrift.createClient(Calc, connection);
  c.send = (id) => {
    ledger.add(id);
    client.add(id, 1, (error, sum) => {
      if (error) ledger.failed(id, error);
      else ledger.answered(id, sum === id + 1);
    });
  };
  c.close = async () => {
    const closed = new Promise((r) => connection.once('close', r));
    connection.end();
    // The original's end() leaves a retry under way to reconnect later: stop it too.
    if (connection.retry_timer) clearTimeout(connection.retry_timer);
    await Promise.race([closed, sleep(1000)]);
  };
  return c;
}

/** connman (the face or the original) against a line echo server. */
function connmanClient(cm, port) {
  const ledger = new Ledger('write');
  const c = { connects: 0, connectedAt: 0, ledgers: [ledger], resets: 0 };
  let sock = null;
  let text = '';
  const onConnect = (s) => {
    sock = s;
    c.connects++;
    c.connectedAt = Date.now();
  };
  const onData = (data) => {
    const lines = (text + data).split('\n');
    text = lines.pop();
    for (const line of lines) ledger.answered(Number(line));
  };
  const onReset = () => {
    c.resets++;
    text = '';
  };
  cm.connect(port, HOST, onConnect, onData, onReset);
  c.send = (id) => {
    ledger.add(id);
    try {
      sock.write(`${id}\n`, (error) => ledger.written(id, error));
    } catch (error) {
      ledger.written(id, error);
    }
  };
  c.close = async () => {
    const s = cm.getConnection(port, HOST).sock;
    const closed = new Promise((r) => s.once('close', r));
    s.disconnect();
    await Promise.race([closed, sleep(1000)]);
  };
  c.figures = () => ({ resets: c.resets });
  return c;
}

/** A socket-ipc client; 'work' messages are echoed back as 'echo'. Sends while the
 * server is down are refused with an 'error' event carrying the message. */
function ipcClient(ipc, socketFile) {
  const ledger = new Ledger('none');
  const c = { connects: 0, connectedAt: 0, ledgers: [ledger] };
  const client = new ipc.Client({ socketFile, retryDelay: 50, reconnectDelay: 100 });
  client.on('error', (error) => {
    if (error && error.sentMessage !== undefined) ledger.failed(error.sentMessage, error);
  });
  client.on('connect', () => {
    c.connects++;
    c.connectedAt = Date.now();
  });
  client.on('message.echo', (id) => ledger.answered(id));
  client.connect();
  c.send = (id) => {
    ledger.add(id);
    try {
      client.send('work', id);
    } catch (error) {
      ledger.failed(id, error);
    }
  };
  c.close = async () => {
    const closed = new Promise((r) => client.once('close', r));
    client.close();
    await Promise.race([closed, sleep(1000)]);
  };
  return c;
}

// ---------------------------------------------------------------------------------
// The rows. A face and its original go through their crashes side by side (each
// with its own server process, port and log), so both meet the same conditions.

const connkitOk = (f, rounds) =>
  f.recovered === `${rounds}/${rounds}` && (f.hung === 0 || f.hung === 'n/a') && f.twice === 0 && f.wrong === 0 && f.crashed === 0;

/** What the figures say went wrong, in words (only when they say so). */
const jstpNote = (f) =>
  f.recovered.startsWith('0/') && f.reconnectErrors.split(',').includes('11')
    ? `the new server refused the session restore (11) ${f.failedReconnects} times; the client retried it and left ${f.hung} calls unsettled`
    : null;
const thriftNote = (f) => {
  const notes = [];
  if (f.ranAfterFail > 0) notes.push(`${f.ranAfterFail} calls failed with the lost session were still sent to the next server and run`);
  if (f.hung > 0) notes.push(`${f.hung} calls never settled`);
  return notes.join('; ') || null;
};

/** A subject: `rows` it reports, `pkg` (originals: the folder its code runs from, to
 * tell whose a crash is), and `run(P, dir)` -> [{ f, ok(f), note? }] per row. */
const jstpSubject = (which) => ({
  rows: [`${which}/jstp callMethod`, `${which}/jstp withResend`],
  pkg: which === 'original' ? '/node_modules/@metarhia/jstp/' : null,
  async run(P, dir) {
    const jstp = requireJstp(which);
    const port = await freePort();
    const [plain, resend] = await crashLoop(
      P,
      dir,
      `jstp-${which}`,
      (log) => startPeer(path.join(PEERS, 'crash-jstp.js'), [which, port, log]),
      () => jstpClient(jstp, port),
    );
    // callMethodWithResend may run a call again (its answer was lost): by design.
    return [
      { f: plain, ok: (f) => connkitOk(f, P.rounds) && f.duplicated === 0 && f.ranAfterFail === 0, note: jstpNote },
      { f: resend, ok: (f) => connkitOk(f, P.rounds), note: jstpNote },
    ];
  },
});

const thriftSubject = (which) => ({
  rows: [`${which}/thrift`],
  pkg: which === 'original' ? '/node_modules/thrift/' : null,
  async run(P, dir) {
    const thrift = require(which === 'original' ? 'thrift' : 'connkit/thrift');
    const port = await freePort();
    const [f] = await crashLoop(
      P,
      dir,
      `thrift-${which}`,
      (log) => startPeer(path.join(PEERS, 'crash-thrift.js'), [which, port, log]),
      () => thriftClient(thrift, port),
    );
    return [{ f, ok: (f) => connkitOk(f, P.rounds) && f.duplicated === 0 && f.ranAfterFail === 0, note: thriftNote }];
  },
});

const connmanSubject = (which) => ({
  rows: [`${which}/connman`],
  pkg: which === 'original' ? '/node_modules/connman/' : null,
  async run(P, dir) {
    const cm = require(which === 'original' ? 'connman' : 'connkit/connman');
    const port = await freePort();
    const [f] = await crashLoop(
      P,
      dir,
      `connman-${which}`,
      (log) => startPeer(path.join(PEERS, 'crash-lines.js'), [port, log]),
      () => connmanClient(cm, port),
    );
    return [{ f, ok: (f) => connkitOk(f, P.rounds) && f.duplicated === 0 && f.ranAfterFail === 0 }];
  },
});

const ipcSubject = (which) => ({
  rows: [`${which}/socket-ipc`],
  pkg: which === 'original' ? '/node_modules/@crussell52/socket-ipc/' : null,
  async run(P, dir) {
    const ipc = require(which === 'original' ? '@crussell52/socket-ipc' : 'connkit/socket-ipc');
    const socketFile = path.join(dir, `ipc-${which}.sock`);
    const [f] = await crashLoop(
      P,
      dir,
      `ipc-${which}`,
      (log) => startPeer(path.join(PEERS, 'crash-ipc.js'), [which, socketFile, log]),
      () => ipcClient(ipc, socketFile),
    );
    return [{ f, ok: (f) => connkitOk(f, P.rounds) && f.duplicated === 0 }];
  },
});

const coreSubject = {
  rows: ['connkit Client'],
  pkg: null,
  async run(P, dir) {
    const port = await freePort();
    const [f] = await crashLoop(P, dir, 'core', (log) => startPeer(path.join(PEERS, 'crash-core.js'), [port, log]), () => coreClient(port));
    return [{ f, ok: (f) => connkitOk(f, P.rounds) && f.duplicated === 0, note: (f) => (f.lost ? 'lost: handed to the kernel around the kill, gone with the server (TCP gives no receipt)' : null) }];
  },
};

/** Groups run one after another; the subjects of a group side by side. */
const GROUPS = [
  [coreSubject],
  [jstpSubject('connkit'), jstpSubject('original')],
  [thriftSubject('connkit'), thriftSubject('original')],
  [connmanSubject('connkit'), connmanSubject('original')],
  [ipcSubject('connkit'), ipcSubject('original')],
];

const subjectName = (row) => row.replace(/^original\//, 'original ');

/** Whose an uncaught error is: the original whose code threw it, else connkit's. */
function ownerOf(error, group) {
  const stack = String((error && error.stack) || error);
  return group.find((s) => s.pkg && stack.includes(s.pkg)) ?? group.find((s) => !s.pkg) ?? group[0];
}

async function runGroup(P, dir, group, report) {
  const caught = [];
  crashes = caught;
  let outcomes;
  try {
    outcomes = await Promise.allSettled(group.map((subject) => subject.run(P, dir)));
  } finally {
    crashes = null;
  }
  group.forEach((subject, i) => {
    const mine = caught.filter((error) => ownerOf(error, group) === subject);
    const outcome = outcomes[i];
    subject.rows.forEach((row, r) => {
      const original = row.startsWith('original');
      if (outcome.status === 'rejected') {
        const error = outcome.reason;
        report({ subject: subjectName(row), ok: false, figures: { crashed: mine.length }, note: `the scenario broke: ${(error && error.message) || error}` });
        return;
      }
      const { f, ok, note } = outcome.value[r];
      f.crashed = mine.length;
      const notes = [];
      if (mine.length) notes.push(`uncaught: ${(mine[0] && mine[0].message) || mine[0]}`);
      const said = typeof note === 'function' ? note(f) : note;
      if (said) notes.push(said);
      report({ subject: subjectName(row), ok: original ? true : ok(f), figures: f, note: notes.join('; ') || undefined });
    });
  });
}

/** The core opens its runtime's descriptors on first use: opened here, before any
 * subject's fdsBefore, so before and after compare like with like. */
async function warmUp() {
  const { createServer, createConnection } = require('../..');
  const server = createServer({}, (conn) => conn.on('error', () => {}));
  await new Promise((r) => server.listen(0, HOST, r));
  const conn = createConnection({ port: server.address().port, host: HOST });
  conn.on('error', () => {});
  await new Promise((r) => conn.once('connect', r));
  const closed = new Promise((r) => conn.once('close', r));
  conn.destroy();
  await closed;
  await new Promise((r) => server.close(r));
}

async function run(profile, report) {
  const P = PROFILES[profile];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'connkit-crash-'));
  try {
    await warmUp();
    for (const group of GROUPS) await runGroup(P, dir, group, report);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { run };
