'use strict';

// Chaos between client and server: every subject talks to its server through its own
// listener of one chaos proxy (faults/peers/chaos-proxy.js), which cuts (FIN), resets
// (RST), stalls, delays, splits into 1-byte writes and black-holes its connections at
// seeded random times. The subjects run side by side, each with its own seeded fault
// stream, in cycles: faults on for a while with sequenced messages or calls flowing,
// then faults off and the time until a round trip started after that succeeds (the
// recovery), then a quiet spell. At the end, the load stops, what is outstanding gets a
// bounded time to settle, and what each server got is counted by sequence number.
//
// The load is the same for every subject: a new message or call every `paceMs` while
// fewer than `window` are unanswered (so a dead path stops the writes, as in a real
// application waiting for acks); one unanswered for `giveUpMs` is abandoned (its slot
// freed, still counted at the end). When faults end, the window is emptied the same way,
// and the recovery is the time until a message issued since is answered.
//
// Dead-path detection, which only a black-holed connection needs, is what each API
// offers a careful user, the same for connkit and the original:
// - connkit Client: the `timeout` option (idle: no reads and no writes) with the server
//   sending a heartbeat frame every 200 ms; on 'timeout' the application calls
//   reconnect(), which drops the session and lets the reconnect engine dial again
//   (what is unsent goes out on the next session).
// - jstp: heartbeatInterval on both sides, and connkit's heartbeatTimeout (the original
//   has no timeout: a black-holed original client waits forever).
// - thrift: the `timeout` option, and `connection.destroy()` on its 'timeout' event: the
//   original's destroy() closes the socket and its reconnect logic redials.
// - connman: `socket.setTimeout()` and `socket.destroy()` on 'timeout' (the server
//   sends a heartbeat line every 200 ms); connman redials after any close.
// A black hole lasts until the proxy's `holeLifeMs` (60 s), so an original with no way to
// notice it stays stuck for the rest of a short run.
//
// Figures: recoverMs is the worst recovery over the cycles ('never' if none came within
// `recoverBoundMs`), unrecovered the cycles without one; faults / fin / rst / holes what
// the proxy did to the subject's connections; fdsBefore / fdsAfter / fdsMax / fdsClosed
// this process's descriptors of sockets whose peer is the subject's proxy listener (its
// client side) once connected, at the end, the most at a cycle's end, and after close.
// A connkit row fails on a loss or a duplicate its API promises against, a call left
// waiting, a cycle without recovery, a socket left open, or a crash; an original's row
// only if the scenario itself broke. CHAOS_DEBUG=1 prints each cycle's recoveries.

const net = require('node:net');
const fs = require('node:fs');
const path = require('node:path');
const { requireOriginalJstp } = require('../lib/originals');
const { startPeer } = require('../lib/peer');
const { sleep, until, within } = require('../lib/probe');

const ROOT = path.join(__dirname, '..', '..');

const PROFILES = {
  short: { cycles: 2, onMs: 2600, recoverBoundMs: 3000, quietMs: 300, drainMs: 2500 },
  full: { cycles: 7, onMs: 6500, recoverBoundMs: 4000, quietMs: 500, drainMs: 4000 },
};
/** The proxy's seed: fixed, so a run's faults are the last run's; CHAOS_SEED=<n> replays
 * another, CHAOS_SEED=random picks one (printed in every row's note). */
const DEFAULT_SEED = 14;
const DEBUG = Boolean(process.env.CHAOS_DEBUG);
const LOAD = { paceMs: 20, window: 8, giveUpMs: 2500 };
/** Dead-path detection: idle timeouts, heartbeat timeouts. Above the proxy's longest
 * stall (700 ms) plus its longest delay (200 ms) (its DEFAULTS, which this scenario
 * uses), so slowness alone never trips it. */
const DEAD_MS = 1200;
const HEARTBEAT_MS = 200;

// ---------------------------------------------------------------------------------
// Measuring

/** Sequenced load against one subject: issue, answers, failures, give-ups, recovery. */
class Load {
  constructor(send) {
    this.send = send;
    this.nextSeq = 1;
    this.issuedAt = new Map(); // seq -> ms
    this.outstanding = new Map(); // seq -> ms, unanswered and not given up
    this.answers = new Map(); // seq -> answers
    this.failures = new Map(); // seq -> failures
    this.errors = {}; // code -> count
    this.abandoned = 0;
    this.recoverFrom = null;
    this.recoveredAt = null;
    this.stopped = false;
  }

  issue() {
    const seq = this.nextSeq++;
    const now = Date.now();
    this.issuedAt.set(seq, now);
    this.outstanding.set(seq, now);
    this.send(seq);
  }

  answer(seq) {
    if (!this.issuedAt.has(seq)) return; // not ours (a heartbeat)
    this.answers.set(seq, (this.answers.get(seq) ?? 0) + 1);
    this.outstanding.delete(seq);
    if (this.recoverFrom !== null && this.recoveredAt === null && this.issuedAt.get(seq) >= this.recoverFrom) {
      this.recoveredAt = Date.now();
    }
  }

  fail(seq, error) {
    if (!this.issuedAt.has(seq)) return;
    this.failures.set(seq, (this.failures.get(seq) ?? 0) + 1);
    this.outstanding.delete(seq);
    const code = (error && (error.code ?? error.message)) || String(error);
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  tick(now) {
    for (const [seq, at] of this.outstanding) {
      if (now - at < LOAD.giveUpMs) break; // in issue order
      this.outstanding.delete(seq);
      this.abandoned++;
    }
    if (!this.stopped && this.outstanding.size < LOAD.window) this.issue();
  }

  /** Faults ended at `at`: the recovery is the first answer to a message issued since.
   * What is outstanding stops holding the window (it is still counted at the end), so
   * new messages go out at once, and stop again if the path is dead. */
  startRecovery(at) {
    this.recoverFrom = at;
    this.recoveredAt = null;
    this.abandonAll();
  }

  /** The application knows the answers to what is outstanding will never come (a
   * session it dropped): they stop holding the window. */
  abandonAll() {
    this.abandoned += this.outstanding.size;
    this.outstanding.clear();
  }

  recoveryMs() {
    return this.recoveredAt === null ? null : this.recoveredAt - this.recoverFrom;
  }

  get issued() {
    return this.nextSeq - 1;
  }

  /** Issued and neither answered nor failed by now. */
  hung() {
    let n = 0;
    for (const seq of this.issuedAt.keys()) if (!this.answers.has(seq) && !this.failures.has(seq)) n++;
    return n;
  }

  duplicatedAnswers() {
    let n = 0;
    for (const c of this.answers.values()) if (c > 1) n += c - 1;
    return n;
  }

  /** The figures every subject that makes calls reports. */
  callFigures() {
    return {
      calls: this.issued,
      answered: this.answers.size,
      failed: this.failures.size,
      hung: this.hung(),
      answeredTwice: this.duplicatedAnswers(),
    };
  }
}

/** Counts by sequence number what a server (or a receiving side) got. */
class Received {
  constructor() {
    this.counts = new Map();
  }

  got(seq) {
    this.counts.set(seq, (this.counts.get(seq) ?? 0) + 1);
  }

  /** Of seqs 1..n: how many never came, how many came more than once (extra copies). */
  tally(n) {
    let lost = 0;
    let duplicated = 0;
    for (let seq = 1; seq <= n; seq++) {
      const c = this.counts.get(seq) ?? 0;
      if (c === 0) lost++;
      else duplicated += c - 1;
    }
    return { lost, duplicated };
  }
}

/** Open descriptors of this process that are TCP sockets with `remotePort` as their peer. */
function socketsTo(remotePort) {
  const inodes = new Set();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const port = parseInt(f[2].split(':')[1], 16);
      if (port === remotePort) inodes.add(f[9]);
    }
  }
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`));
      if (m && inodes.has(m[1])) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

const listen = (server) =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });

/** A plain Node server whose accepted sockets are tracked, closed at the end. */
function trackedNetServer(onSocket) {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  server.closeAll = () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return server;
}

// ---------------------------------------------------------------------------------
// Subjects. Each: { name, listen() -> port, connect(proxyPort), tick(now), load,
// connected(), figures(), ok(figures), note, close() }.

/** connkit's own Client, length framing, reconnect on; a Node server acks each frame. */
function connkitClient() {
  const { Client } = require(ROOT);
  const received = new Received();
  const ackFrame = (seq) => {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(4, 0);
    b.writeUInt32BE(seq, 4);
    return b;
  };
  const server = trackedNetServer((socket) => {
    let buf = Buffer.alloc(0);
    const hb = setInterval(() => socket.write(ackFrame(0)), HEARTBEAT_MS);
    socket.on('close', () => clearInterval(hb));
    socket.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0);
        if (buf.length < 4 + len) break;
        const seq = buf.readUInt32BE(4);
        buf = buf.subarray(4 + len);
        received.got(seq);
        socket.write(ackFrame(seq));
      }
    });
  });
  let client = null;
  let port = 0;
  const accepted = new Set(); // seqs whose write callback succeeded (the kernel took them)
  let silentDrops = 0;
  let writeCallbacks = 0;
  const writeErrors = {};
  let sizeSeed = 7;
  const size = () => {
    sizeSeed = (Math.imul(sizeSeed, 1103515245) + 12345) >>> 0;
    return 8 + (sizeSeed % 1500);
  };
  const load = new Load((seq) => write(seq));
  function write(seq) {
    const buf = Buffer.alloc(size(), 0x61);
    buf.writeUInt32BE(seq, 0);
    client.write(buf, (err) => {
      writeCallbacks++;
      if (!err) return void accepted.add(seq);
      writeErrors[err.code] = (writeErrors[err.code] ?? 0) + 1;
    });
  }
  let closing = false;
  let connects = 0;
  let errors = 0;
  function make() {
    const c = new Client({ host: '127.0.0.1', port, framing: 'length', timeout: DEAD_MS });
    c.on('frame', (f) => f.length >= 4 && load.answer(f.readUInt32BE(0)));
    c.on('connect', () => connects++);
    c.on('error', () => errors++);
    // A black hole: nothing for DEAD_MS (the server's heartbeat stopped). Drop the
    // session and dial again; what is unsent goes out on the next one.
    c.on('timeout', () => {
      if (closing) return;
      silentDrops++;
      load.abandonAll();
      c.reconnect();
    });
    return c;
  }
  return {
    name: 'connkit Client',
    load,
    listen: () => listen(server),
    async connect(proxyPort) {
      port = proxyPort;
      client = make();
      return until(() => connects > 0, 3000);
    },
    connected: () => connects > 0,
    figures() {
      const { lost, duplicated } = received.tally(load.issued);
      let lostAccepted = 0;
      for (let seq = 1; seq <= load.issued; seq++) if (!received.counts.has(seq) && accepted.has(seq)) lostAccepted++;
      return {
        sent: load.issued,
        lost,
        lostAccepted,
        lostUnaccepted: lost - lostAccepted,
        duplicated,
        acked: load.answers.size,
        silentDrops,
        errors,
        writesUnsettled: load.issued - writeCallbacks,
      };
    },
    ok: (f) => f.lostUnaccepted === 0 && f.duplicated === 0 && f.writesUnsettled === 0,
    note:
      "at-most-once: writes unsent when a session is lost are resent, those the kernel took are not (lostAccepted: allowed); black hole: 'timeout' " +
      `${DEAD_MS} ms with server heartbeats, then reconnect()`,
    async close() {
      closing = true;
      client.end();
      await within(new Promise((r) => client.once('close', r)), 2000);
      if (!client.destroyed) client.destroy();
    },
    closeServer: () => server.closeAll(),
  };
}

/** jstp: callMethodWithResend both ways through the session, and remote events both ways. */
function jstpSubject(name, lib, isConnkit) {
  const received = new Received(); // server runs of `work`, by seq
  const upEvents = new Received(); // client -> server events
  const downEvents = new Received(); // server -> client events
  let downSent = 0;
  let upSent = 0;
  const app = new lib.Application(
    'chaos@1.0.0',
    {
      chaos: {
        work: (conn, seq, callback) => {
          received.got(seq);
          callback(null, seq);
        },
      },
    },
    { chaos: { note: (conn, seq) => upEvents.got(seq) } },
  );
  const server = lib.net.createServer({
    applications: [app],
    heartbeatInterval: HEARTBEAT_MS,
    heartbeatTimeout: DEAD_MS,
  });
  server.on('error', () => {});
  server.on('connectionError', () => {});
  let serverSide = null;
  server.on('connect', (c) => (serverSide = c));
  server.on('reconnect', (c) => (serverSide = c));
  let connection = null;
  let proxy = null;
  let reconnects = 0;
  let reconnectErrors = 0;
  let closes = 0;
  const load = new Load((seq) => {
    connection.callMethodWithResend('chaos', 'work', [seq], (error, value) => {
      if (error) load.fail(seq, error);
      else if (value !== seq) load.fail(seq, new Error('wrong answer'));
      else load.answer(seq);
    });
  });
  const client = {
    heartbeatInterval: HEARTBEAT_MS,
    heartbeatTimeout: DEAD_MS,
    reconnector: (conn, reconnect) => setTimeout(() => conn.closedIntentionally || reconnect(), 50),
  };
  return {
    name,
    load,
    listen: () => listen(server),
    connect: (proxyPort) =>
      new Promise((resolve) => {
        lib.net.connectAndInspect('chaos', client, ['chaos'], proxyPort, '127.0.0.1', (error, conn, proxies) => {
          if (error) return resolve(false);
          connection = conn;
          proxy = proxies.chaos;
          conn.on('error', () => {});
          conn.on('close', () => closes++);
          conn.on('reconnect', (e) => (e ? reconnectErrors++ : reconnects++));
          proxy.on('tick', (seq) => downEvents.got(seq));
          resolve(true);
        });
      }),
    connected: () => connection !== null,
    tick(now) {
      load.tick(now);
      if (load.stopped) return;
      if (serverSide) serverSide.emitRemoteEvent('chaos', 'tick', [++downSent]);
      proxy.emit('note', ++upSent);
    },
    figures() {
      const down = downEvents.tally(downSent);
      const up = upEvents.tally(upSent);
      const runs = received.tally(load.issued);
      return {
        ...load.callFigures(),
        reran: runs.duplicated,
        eventsDown: downSent,
        eventsDownLost: down.lost,
        eventsDownDup: down.duplicated,
        eventsUp: upSent,
        eventsUpLost: up.lost,
        eventsUpDup: up.duplicated,
        reconnects,
        ...(Object.keys(load.errors).length ? { errors: Object.entries(load.errors).map(([k, v]) => `${k}:${v}`).join(',') } : {}),
      };
    },
    ok: (f) =>
      !isConnkit ||
      (f.failed === 0 && f.hung === 0 && f.answeredTwice === 0 && f.eventsDownLost === 0 && f.eventsUpLost === 0 && f.eventsDownDup === 0 && f.eventsUpDup === 0),
    note:
      'callMethodWithResend: answered exactly once, run at least once (reran); events exactly-once; black hole: heartbeat ' +
      `${HEARTBEAT_MS} ms, heartbeatTimeout ${DEAD_MS} ms` +
      (isConnkit ? '' : ' (the original has none: it waits)') +
      '; reconnector 50 ms',
    async close() {
      if (!connection) return;
      connection.close();
      await sleep(20);
    },
    closeServer: () => within(new Promise((r) => server.close(() => r())), 2000),
  };
}

/** thrift: Calculator.add through the buffered binary stack, reconnect on (max_attempts). */
function thriftSubject(name, lib, isConnkit) {
  const Calc = require(path.join(ROOT, 'demo', 'gen-nodejs', 'Calc'));
  const received = new Received();
  const server = lib.createServer(Calc, {
    add: (a, b, result) => {
      received.got(a);
      result(null, a + b);
    },
  });
  server.on('error', () => {});
  const accepted = new Set();
  server.on('connection', (s) => {
    accepted.add(s);
    s.on?.('error', () => {});
    s.on?.('close', () => accepted.delete(s));
  });
  let connection = null;
  let client = null;
  let connects = 0;
  let closed = 0;
  let timeouts = 0;
  const load = new Load((seq) => {
    client.add(seq, 0, (error, value) => {
      if (error) load.fail(seq, error);
      else if (value !== seq) load.fail(seq, new Error('wrong answer'));
      else load.answer(seq);
    });
  });
  return {
    name,
    load,
    listen: () => listen(server),
    async connect(proxyPort) {
      connection = lib.createConnection('127.0.0.1', proxyPort, { max_attempts: 1000, retry_max_delay: 500, timeout: DEAD_MS });
      connection.on('error', () => {});
      connection.on('connect', () => connects++);
      connection.on('close', () => closed++);
      connection.on('timeout', () => {
        timeouts++;
        connection.destroy();
      });
      client = lib.createClient(Calc, connection);
      return until(() => connects > 0, 3000);
    },
    connected: () => connects > 0,
    figures() {
      const runs = received.tally(load.issued);
      return {
        ...load.callFigures(),
        ranTwice: runs.duplicated,
        timeouts,
        connects,
        closedForGood: closed,
        ...(Object.keys(load.errors).length ? { errors: Object.entries(load.errors).map(([k, v]) => `${k}:${v}`).join(',') } : {}),
      };
    },
    ok: (f) => !isConnkit || (f.hung === 0 && f.answeredTwice === 0),
    note: `at-most-once (no resend): each call answered or failed, never left waiting; black hole: timeout ${DEAD_MS} ms, destroy() on 'timeout' (the original redials)`,
    async close() {
      if (!connection) return;
      connection.end();
      await sleep(20);
    },
    async closeServer() {
      for (const s of accepted) s.destroy?.();
      await within(new Promise((r) => server.close(() => r())), 2000);
    },
  };
}

/** connman: raw TCP lines to an echo server that also sends a heartbeat line. */
function connmanSubject(name, cm) {
  const received = new Received();
  const server = trackedNetServer((socket) => {
    let rest = '';
    socket.setEncoding('latin1');
    const hb = setInterval(() => socket.write('0\n'), HEARTBEAT_MS);
    socket.on('close', () => clearInterval(hb));
    socket.on('data', (d) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop();
      for (const line of lines) {
        const seq = Number(line);
        if (seq > 0) {
          received.got(seq);
          socket.write(`${seq}\n`);
        }
      }
    });
  });
  let port = 0;
  let socket = null;
  let open = false;
  let connects = 0;
  let resets = 0;
  let writeErrors = 0;
  let written = 0;
  let rest = '';
  const timeoutSet = new WeakSet();
  const load = new Load((seq) => {
    if (!socket || !open) return load.fail(seq, Object.assign(new Error('not connected'), { code: 'NOT_CONNECTED' }));
    written++;
    socket.write(`${seq}\n`, (err) => {
      if (err) {
        writeErrors++;
        load.fail(seq, err);
      }
    });
  });
  const onConnect = (s) => {
    socket = s;
    open = true;
    connects++;
    rest = '';
    s.setTimeout(DEAD_MS);
    if (!timeoutSet.has(s)) {
      timeoutSet.add(s);
      s.on('timeout', () => s.destroy());
    }
  };
  const onData = (d) => {
    const lines = (rest + d.toString('latin1')).split('\n');
    rest = lines.pop();
    for (const line of lines) {
      const seq = Number(line);
      if (seq > 0) load.answer(seq);
    }
  };
  const onReset = () => {
    load.abandonAll(); // as connman's README does: replies to these will never come
    open = false;
    resets++;
    rest = '';
  };
  return {
    name,
    load,
    listen: () => listen(server).then((p) => (port = p)),
    connect(proxyPort) {
      port = proxyPort;
      cm.connect(port, '127.0.0.1', onConnect, onData, onReset);
      return until(() => connects > 0, 3000);
    },
    connected: () => connects > 0,
    figures() {
      const { lost, duplicated } = received.tally(load.issued);
      return {
        sent: load.issued,
        written,
        writeErrors,
        lost,
        duplicated,
        echoed: load.answers.size,
        connects,
        onReset: resets,
      };
    },
    ok: () => true,
    note: `raw TCP, no delivery promise: figures, and it must recover; black hole: setTimeout(${DEAD_MS}), destroy() on 'timeout', server heartbeat ${HEARTBEAT_MS} ms`,
    async close() {
      const conn = cm.getConnection(port, '127.0.0.1');
      if (conn) conn.sock.disconnect();
      await sleep(20);
    },
    closeServer: () => server.closeAll(),
  };
}

// ---------------------------------------------------------------------------------

function subjects() {
  return [
    connkitClient(),
    jstpSubject('connkit/jstp', require(path.join(ROOT, 'faces', 'jstp')), true),
    jstpSubject('original jstp', requireOriginalJstp(), false),
    thriftSubject('connkit/thrift', require(path.join(ROOT, 'faces', 'thrift')), true),
    thriftSubject('original thrift', require('thrift'), false),
    connmanSubject('connkit/connman', require(path.join(ROOT, 'faces', 'connman'))),
    connmanSubject('original connman', require('connman')),
  ];
}

/** Asks the proxy something and waits (bounded) for its answer. */
function proxyAsk(peer, message) {
  const id = (proxyAsk.next = (proxyAsk.next ?? 0) + 1);
  const answer = new Promise((resolve) => peer.onMessage((m) => m && m.reply === id && resolve(m)));
  peer.send({ ...message, id });
  return within(answer, 3000, null);
}

async function run(profile, report) {
  const P = PROFILES[profile];
  const asked = process.env.CHAOS_SEED;
  const seed = asked === 'random' ? 1 + Math.floor(Math.random() * 0x7fffffff) : Number(asked) || DEFAULT_SEED;
  const crashes = [];
  const onCrash = (e) => crashes.push(e);
  process.on('uncaughtException', onCrash);

  const all = subjects();
  const targets = [];
  for (const s of all) targets.push({ host: '127.0.0.1', port: await s.listen() });
  const peer = await startPeer(path.join(__dirname, '..', 'peers', 'chaos-proxy.js'), [JSON.stringify({ seed, targets })]);
  const ports = peer.info.listeners.map((l) => l.port);
  const state = all.map((s, i) => ({ subject: s, port: ports[i], recoveries: [], sockMax: 0, fdsBefore: 0, broken: null }));

  let ticker = null;
  try {
    const ready = await Promise.all(all.map((s, i) => within(s.connect(ports[i]), 4000, false)));
    ready.forEach((r, i) => {
      if (!r) state[i].broken = 'did not connect before any fault';
    });
    for (const st of state) st.fdsBefore = socketsTo(st.port);

    ticker = setInterval(() => {
      const now = Date.now();
      for (const st of state) {
        if (st.broken) continue;
        try {
          (st.subject.tick ?? st.subject.load.tick.bind(st.subject.load))(now);
        } catch (e) {
          st.broken = `threw: ${e.message}`;
        }
      }
    }, LOAD.paceMs);

    for (let cycle = 0; cycle < P.cycles; cycle++) {
      await proxyAsk(peer, { op: 'faults', on: true });
      await sleep(P.onMs);
      const off = await proxyAsk(peer, { op: 'faults', on: false });
      const at = off ? off.at : Date.now();
      for (const st of state) st.subject.load.startRecovery(at);
      await until(() => state.every((st) => st.broken || st.subject.load.recoveredAt !== null), P.recoverBoundMs);
      if (DEBUG) {
        const line = state.map((st, i) => `${st.subject.name}=${st.subject.load.recoveryMs()}(${off ? JSON.stringify({ live: off.stats[i].live, holed: off.stats[i].holed }) : ''})`);
        console.error(`chaos: cycle ${cycle}: ${line.join(' ')}`);
      }
      for (const st of state) {
        st.recoveries.push(st.subject.load.recoveryMs());
        st.subject.load.recoverFrom = null;
        st.sockMax = Math.max(st.sockMax, socketsTo(st.port));
      }
      await sleep(P.quietMs);
    }

    // The load stops; what is outstanding gets a bounded time to settle.
    for (const st of state) st.subject.load.stopped = true;
    await until(() => state.every((st) => st.broken || st.subject.load.hung() === 0), P.drainMs);
    clearInterval(ticker);
    ticker = null;

    const final = await proxyAsk(peer, { op: 'stats' });
    for (const [i, st] of state.entries()) {
      const s = st.subject;
      const figures = s.figures();
      const recovered = st.recoveries.filter((r) => r !== null);
      figures.recoverMs = recovered.length ? Math.max(...recovered) : 'never';
      figures.unrecovered = st.recoveries.length - recovered.length;
      const ps = final ? final.stats[i] : null;
      if (ps) {
        // What the proxy did to this subject's connections.
        figures.faults = Object.values(ps.faults).reduce((a, b) => a + b, 0);
        figures.fin = ps.faults.cut;
        figures.rst = ps.faults.reset;
        figures.holes = ps.faults.blackhole;
      }
      st.figures = figures;
      st.sockAfter = socketsTo(st.port);
    }

    // Teardown: clients, then the proxy cuts whatever is left (black holes), then servers.
    for (const st of state) {
      try {
        await within(st.subject.close(), 3000);
      } catch (e) {
        st.broken ??= `close threw: ${e.message}`;
      }
    }
    await proxyAsk(peer, { op: 'drain' });
    await sleep(100);
    for (const st of state) {
      st.sockClosed = socketsTo(st.port);
      await within(st.subject.closeServer(), 3000);
    }

    for (const st of state) {
      const s = st.subject;
      const f = st.figures;
      f.fdsBefore = st.fdsBefore;
      f.fdsAfter = st.sockAfter;
      f.fdsMax = st.sockMax;
      f.fdsClosed = st.sockClosed;
      const mine = crashes.filter((e) => crashOf(e) === s.name);
      if (mine.length) f.crashed = mine.length;
      const isOriginal = s.name.startsWith('original');
      const held = s.ok(f) && f.unrecovered === 0 && f.fdsClosed === 0 && !mine.length;
      const note = [`seed=${seed}`, s.note];
      if (st.broken) note.push(`broken: ${st.broken}`);
      if (mine.length) note.push(`crash: ${String(mine[0] && mine[0].message).slice(0, 80)}`);
      report({ subject: s.name, ok: isOriginal ? !st.broken : held && !st.broken, figures: f, note: note.join('; ') });
    }
    const stray = crashes.filter((e) => crashOf(e) === null);
    if (stray.length) throw new Error(`uncaught in the scenario: ${stray[0] && stray[0].stack}`);
  } finally {
    if (ticker) clearInterval(ticker);
    await peer.kill();
    process.removeListener('uncaughtException', onCrash);
  }
}

/** Which subject an uncaught exception came from, by its stack. */
function crashOf(e) {
  const stack = String(e && e.stack);
  if (stack.includes('@metarhia/jstp')) return 'original jstp';
  if (stack.includes('node_modules/thrift/')) return 'original thrift';
  if (stack.includes('node_modules/connman/')) return 'original connman';
  if (stack.includes('faces/jstp')) return 'connkit/jstp';
  if (stack.includes('faces/thrift')) return 'connkit/thrift';
  if (stack.includes('faces/connman')) return 'connkit/connman';
  if (stack.includes('lib/connection.js')) return 'connkit Client';
  return null;
}

module.exports = { run };
