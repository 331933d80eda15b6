'use strict';

// Scenario 3: a wire fuzzer. Many connections to every kind of server connkit has —
// its own createServer with each framing, its WebServer's WebSockets, and each face's
// server (jstp net, thrift framed / buffered / web, socket-ipc on a unix socket) —
// carrying random and mutated input: bit flips of valid messages, truncation, splices,
// structure-aware replacements (null where an array is expected, huge ids, prototype
// keys), size claims up to 4 GiB (2^64 for WebSocket), nesting 100,000 deep, invalid
// UTF-8, and dribbles of one byte at a time. A healthy client on another connection
// makes requests throughout.
//
// connkit's servers run in a worker thread of this process: a Rust panic kills the
// scenario (the runner reports it); a JS exception ends the worker and counts as a
// crash; a server whose thread stops answering for seconds counts as hung (the worker
// is terminated). After a crash or hang the server is started again, a bounded number
// of times. The original packages' servers get the same inputs in a child process each.
//
// Per server: connections opened, errors seen on the server side by `code` (an error
// without a string `code` fails connkit's row), healthy requests answered and failed
// (all must be answered), RSS and fds before and after, RSS and virtual memory while
// claims within the limit are held open (no allocation sized by a claim), crashes and
// hangs, and whether the server's thread ends by itself once closed.

const net = require('node:net');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { fork } = require('node:child_process');
const { Worker } = require('node:worker_threads');
const { fds, sleep, until, within } = require('../lib/probe');
const I = require('../peers/fuzz-inputs');

const ROOT = path.join(__dirname, '..', '..');
const SERVER = path.join(__dirname, '..', 'peers', 'fuzz-server.js');

const PROFILES = {
  short: { conns: 60, concurrency: 24, holds: 16, linger: 25, hangMs: 2500, restarts: 1, originalRestarts: 0, oversize: 1 },
  full: { conns: 400, concurrency: 24, holds: 48, linger: 40, hangMs: 3000, restarts: 4, originalRestarts: 4, oversize: 3 },
};

const MiB = 1024 * 1024;
const CORE_MAX = 64 * MiB;
const THRIFT_FRAMED_MAX = 16_384_000;
/** A healthy request unanswered this long has failed. */
const HEALTHY_TIMEOUT_MS = 3000;
/** Virtual memory (MiB) that holding the claims may add: buffers, an arena or two. */
const HOLD_VM_MAX = 128;

// ------------------------------------------------------------------- measurements

/** RSS and virtual data size of a process (MiB), from /proc. */
function memOf(pid = 'self') {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number((status.match(new RegExp(`^${name}:\\s+(\\d+)`, 'm')) || [])[1] || 0);
    return { rss: kb('VmRSS') / 1024, vm: kb('VmData') / 1024 };
  } catch {
    return { rss: 0, vm: 0 };
  }
}

function fdsOf(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

function mergeCounts(into, from) {
  for (const [k, v] of Object.entries(from || {})) into[k] = (into[k] || 0) + v;
  return into;
}

const showCodes = (codes) =>
  Object.entries(codes)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}:${v}`)
    .join(',') || 'none';

// ------------------------------------------------------------------------- hosts

/**
 * One server, in a worker thread (connkit) or a child process (the originals),
 * started again after a crash or hang while the budget lasts.
 */
class Host {
  constructor(target, lib, mode, profile) {
    Object.assign(this, { target, lib, mode, profile });
    this.totals = { codes: {}, uncoded: {}, errors: 0 };
    this.live = null; // the latest stats of the running incarnation
    this.crashed = 0;
    this.hung = 0;
    this.restarts = 0;
    this.crashNotes = [];
    this.up = false;
    this.gaveUp = false;
    this.socketPath = lib && target === 'socket-ipc' ? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'connkit-fuzz-')), 'ipc.sock') : undefined;
    this.onRestart = null;
  }

  /** Starts an incarnation; resolves with where it listens. */
  start() {
    return new Promise((resolve, reject) => {
      this.live = { codes: {}, uncoded: {}, errors: 0 };
      this.lastBeat = Date.now();
      this.closing = false;
      let ready = false;
      const onMessage = (m) => {
        if (m.hb || m.closed) {
          this.live = m.hb || m.closed;
          this.lastBeat = Date.now();
        }
        if (m.crash) this.crashNote = m.crash;
        if (m.ready && !ready) {
          ready = true;
          clearTimeout(startTimer);
          this.where = m.ready;
          this.up = true;
          this.watch();
          resolve(m.ready);
        }
      };
      const startTimer = setTimeout(() => {
        if (ready) return;
        this.kill(); // then onGone rejects
      }, 10_000);
      const onGone = (why) => {
        clearTimeout(startTimer);
        if (!ready) {
          reject(new Error(`${this.target} (${this.lib}) did not start: ${why}`));
          return;
        }
        this.gone(why);
      };
      if (this.mode === 'worker') {
        const worker = new Worker(SERVER, { workerData: { target: this.target, lib: this.lib, socketPath: this.socketPath }, stderr: false });
        this.worker = worker;
        worker.on('message', onMessage);
        worker.on('error', (e) => (this.crashNote = `${e && e.name}: ${e && e.message}`.slice(0, 200)));
        this.exited = new Promise((r) => worker.once('exit', r));
        worker.once('exit', (code) => onGone(`exit ${code}`));
      } else {
        if (this.socketPath) fs.rmSync(this.socketPath, { force: true }); // left by a crashed incarnation
        const child = fork(SERVER, [this.target, this.lib, this.socketPath ?? ''], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], cwd: ROOT });
        this.child = child;
        child.stderr.on('data', () => {}); // its own warnings; crashes come by IPC
        child.on('message', onMessage);
        this.exited = new Promise((r) => child.once('exit', r));
        child.once('exit', (code, signal) => onGone(`exit ${signal ?? code}`));
      }
    });
  }

  /** A heartbeat missing for `hangMs` means the server's thread is stuck. */
  watch() {
    clearInterval(this.watchdog);
    this.watchdog = setInterval(() => {
      if (!this.up || this.closing) return;
      if (Date.now() - this.lastBeat > this.profile.hangMs) {
        this.hangPending = true;
        this.kill();
      }
    }, 100);
  }

  kill() {
    if (this.worker) this.worker.terminate();
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) process.kill(this.child.pid, 'SIGKILL');
  }

  /** The incarnation ended without being asked to. */
  gone(why) {
    clearInterval(this.watchdog);
    mergeCounts(this.totals.codes, this.live.codes);
    mergeCounts(this.totals.uncoded, this.live.uncoded);
    this.totals.errors += this.live.errors;
    this.live = { codes: {}, uncoded: {}, errors: 0 };
    if (this.closing) return;
    this.up = false;
    if (this.onDown) this.onDown();
    if (this.hangPending) {
      this.hung++;
      this.hangPending = false;
      this.crashNotes.push('hung');
    } else {
      this.crashed++;
      this.crashNotes.push(this.crashNote || why);
    }
    this.crashNote = null;
    if (this.restarts >= this.profile.restarts || this.finishing) {
      this.gaveUp = true;
      this.restarting = Promise.resolve(null);
      return;
    }
    this.restarts++;
    this.restarting = this.start().then(
      (where) => {
        if (this.onRestart) this.onRestart(where);
        return where;
      },
      () => {
        this.gaveUp = true;
        return null;
      },
    );
  }

  /** Waits while the server is down; null when it will not come back. */
  async available() {
    if (this.up) return this.where;
    if (this.gaveUp) return null;
    return this.restarting;
  }

  stats() {
    return {
      codes: mergeCounts({ ...this.totals.codes }, this.live.codes),
      uncoded: mergeCounts({ ...this.totals.uncoded }, this.live.uncoded),
    };
  }

  /** Closes the server; resolves with whether its thread or process then ended by itself. */
  async close() {
    this.finishing = true; // no more restarts
    // A server stuck since shortly before is hung, not slow to close.
    if (this.up) await until(() => !this.up || Date.now() - this.lastBeat < 300, this.profile.hangMs + 500);
    if (this.up && Date.now() - this.lastBeat >= 300) {
      this.hangPending = true;
      this.kill();
      await within(this.exited, 3000);
    }
    if (!this.up && this.restarting) await within(this.restarting, 5000); // one already under way
    clearInterval(this.watchdog);
    if (!this.up) {
      if (this.socketPath) fs.rmSync(path.dirname(this.socketPath), { recursive: true, force: true });
      return { endedByItself: null };
    }
    this.closing = true;
    const closed = new Promise((r) => (this.worker ?? this.child).once('message', (m) => m.closed && r(true)));
    (this.worker ? this.worker.postMessage.bind(this.worker) : this.child.send.bind(this.child))({ close: true });
    await within(closed, 3000, false);
    // Whether an original's process ends by itself is not what this measures.
    const endedByItself = await within(this.exited.then(() => true), this.mode === 'worker' ? 2000 : 0, false);
    if (!endedByItself) {
      this.kill();
      await within(this.exited, 3000);
    }
    this.up = false;
    if (this.socketPath) fs.rmSync(path.dirname(this.socketPath), { recursive: true, force: true });
    return { endedByItself };
  }
}

// --------------------------------------------------------------- healthy clients

/** One request at a time on a connection of its own; each bounded by `ms`. */
function healthyCore(where, framing) {
  const ck = require(ROOT);
  const options = framing === 'ws' ? { websocket: { path: '/ws' } } : { framing: framing === 'nul' ? { delimiter: '\0' } : framing };
  const conn = ck.createConnection({ host: '127.0.0.1', port: where.port, ...options });
  conn.on('error', () => {});
  let waiting = null;
  let text = '';
  const payload = (n) => {
    if (framing === 'jstp') return `{ping:[${n}]}`;
    if (framing === 'thrift-binary') return I.thriftAdd('binary', n);
    if (framing === 'thrift-compact') return I.thriftAdd('compact', n);
    return Buffer.from(`ping-${n};`);
  };
  const matches = (n, got) => {
    if (framing === 'jstp') return String(got).includes(`[${n}]`);
    return Buffer.compare(Buffer.from(got), Buffer.from(payload(n))) === 0;
  };
  conn.on('frame', (f) => waiting && matches(waiting.n, f) && waiting.resolve(true));
  conn.on('data', (d) => {
    if (!waiting) return;
    text += d;
    if (text.includes(`ping-${waiting.n};`)) {
      text = '';
      waiting.resolve(true);
    }
  });
  return {
    request: (n) =>
      new Promise((resolve) => {
        waiting = { n, resolve };
        conn.write(payload(n));
      }),
    close: async () => {
      const closed = new Promise((r) => conn.once('close', r));
      conn.destroy();
      await within(closed, 2000);
    },
  };
}

function healthyJstp(where) {
  const jstp = require(path.join(ROOT, 'faces/jstp'));
  let calc = null;
  let connection = null;
  let closed = false;
  // connect() and then inspect, not connectAndInspect(): between the two, a
  // connectAndInspect() connection has no 'error' listener, and a server that crashes
  // then would crash this process (a bug of connkit/jstp and of the original).
  const connect = () =>
    jstp.net.connect(I.JSTP_APP, null, where.port, '127.0.0.1', (error, conn) => {
      if (conn) conn.on('error', () => {});
      if (error || closed) {
        if (conn) conn.close();
        return;
      }
      connection = conn;
      conn.inspectInterface('calculator', (err, proxy) => {
        if (!err) calc = proxy;
      });
    });
  connect();
  return {
    request: async (n) => {
      // Until it has connected, a request waits (bounded by the caller).
      await until(() => calc !== null || closed, HEALTHY_TIMEOUT_MS);
      if (!calc) return false;
      return new Promise((resolve) => calc.add(n, 1, (error, sum) => resolve(!error && sum === n + 1)));
    },
    close: async () => {
      closed = true;
      if (connection) connection.close();
      await sleep(1);
    },
  };
}

function healthyThrift(where, kind) {
  const thrift = require(path.join(ROOT, 'faces/thrift'));
  const Calc = require(path.join(ROOT, 'demo', 'gen-nodejs', 'Calc.js'));
  let conn;
  let client;
  if (kind === 'web') {
    conn = thrift.createHttpConnection('127.0.0.1', where.port, { path: '/calc', transport: thrift.TBufferedTransport, protocol: thrift.TBinaryProtocol });
    client = thrift.createHttpClient(Calc, conn);
  } else {
    const [transport, protocol] = kind === 'framed' ? ['TFramedTransport', 'TCompactProtocol'] : ['TBufferedTransport', 'TBinaryProtocol'];
    conn = thrift.createConnection('127.0.0.1', where.port, { transport: thrift[transport], protocol: thrift[protocol] });
    client = thrift.createClient(Calc, conn);
  }
  conn.on('error', () => {});
  return {
    request: (n) => new Promise((resolve) => client.add(n, 1, (error, sum) => resolve(!error && sum === n + 1))),
    close: async () => {
      if (kind === 'web') conn.close();
      else conn.end();
      await sleep(1);
    },
  };
}

function healthyIpc(where) {
  const ipc = require(path.join(ROOT, 'faces/socket-ipc'));
  const client = new ipc.Client({ socketFile: where.path, retryDelay: 20, reconnectDelay: 20 });
  client.on('error', () => {});
  let waiting = null;
  client.on('message.pong', (message) => waiting && message && message.n === waiting.n && waiting.resolve(true));
  let connected = false;
  client.on('connect', () => (connected = true));
  client.on('disconnect', () => (connected = false));
  client.connect();
  return {
    request: async (n) => {
      // Until it has connected, a request waits (bounded by the caller).
      await until(() => connected, HEALTHY_TIMEOUT_MS);
      return new Promise((resolve) => {
        waiting = { n, resolve };
        client.send('ping', { n });
      });
    },
    close: async () => {
      const closed = new Promise((r) => client.once('close', r));
      client.close();
      await within(closed, 2000);
    },
  };
}

/** Requests one after another until stopped; counts answered and failed. */
function healthyLoop(host, make) {
  const state = { answered: 0, failed: 0, stop: false, client: null };
  state.client = make(host.where);
  // A request in flight when the server dies has failed: no need to wait out its timeout.
  let abort = null;
  host.onDown = () => abort && abort(false);
  const attempt = (n) =>
    new Promise((resolve) => {
      abort = resolve;
      within(state.client.request(n), HEALTHY_TIMEOUT_MS, false).then(resolve);
    });
  host.onRestart = (where) => {
    const old = state.client;
    state.client = make(where);
    old.close();
  };
  state.done = (async () => {
    // Let it connect first: what it measures is the fuzz, not its own start.
    await until(async () => (await within(state.client.request(0), 100, false)) || state.stop, 5000);
    let n = 1;
    while (!state.stop) {
      // While the server is down (its crash is counted) nothing is asked of it.
      if (!host.up) {
        await sleep(20);
        continue;
      }
      const ok = await attempt(n++);
      if (ok) state.answered++;
      else state.failed++;
      await sleep(5);
    }
    await state.client.close();
  })();
  return state;
}

// ------------------------------------------------------------------ fuzz clients

/**
 * One fuzz connection: `pre` (an HTTP upgrade, whose answer is awaited) then
 * `bytes`, at once, in pieces, or one byte at a time; then it waits a little for the
 * server to react, and ends, destroys or resets.
 */
function fuzzConnection(where, { pre, bytes, dribble }, r, linger) {
  return new Promise((resolve) => {
    const result = { opened: false, refused: false, closedByServer: false };
    const socket = net.connect(where.path ? { path: where.path } : { host: '127.0.0.1', port: where.port });
    let finished = false;
    const timers = new Set();
    const later = (fn, ms) => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    };
    const finish = () => {
      if (finished) return;
      finished = true;
      for (const t of timers) clearTimeout(t);
      resolve(result);
    };
    socket.on('error', (e) => {
      if (!result.opened) result.refused = e.code === 'ECONNREFUSED' || e.code === 'ENOENT';
    });
    socket.on('close', finish);
    socket.on('end', () => (result.closedByServer = true));
    let seen = '';
    let sending = false;
    const send = () => {
      if (socket.destroyed || sending) return;
      sending = true;
      if (dribble) {
        let i = 0;
        const deadline = Date.now() + 400;
        const step = () => {
          if (socket.destroyed) return;
          if (i >= bytes.length) return after();
          if (Date.now() > deadline) {
            socket.write(bytes.subarray(i));
            return after();
          }
          socket.write(bytes.subarray(i, i + 1));
          i++;
          later(step, 1);
        };
        step();
        return;
      }
      const pieces = 1 + r.int(3);
      const cuts = Array.from({ length: pieces - 1 }, () => r.int(bytes.length + 1)).sort((a, b) => a - b);
      let from = 0;
      for (const cut of [...cuts, bytes.length]) {
        socket.write(bytes.subarray(from, cut));
        from = cut;
      }
      after();
    };
    const after = () => {
      later(() => {
        const how = r.int(3);
        if (how === 0) socket.end();
        else if (how === 1) socket.destroy();
        else if (!where.path && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
        else socket.destroy();
        later(() => {
          socket.destroy();
          finish();
        }, 1000);
      }, linger);
    };
    socket.on('connect', () => {
      result.opened = true;
      if (!pre) return send();
      socket.write(pre);
      const onData = (d) => {
        seen += d.toString('latin1');
        if (seen.includes('\r\n\r\n')) {
          socket.removeListener('data', onData);
          send();
        }
      };
      socket.on('data', onData);
      later(() => {
        socket.removeListener('data', onData);
        send();
      }, 500);
    });
    socket.on('data', () => {}); // read what the server sends (echoes), so it is not stuck writing
    later(() => {
      socket.destroy();
      finish();
    }, 5000);
  });
}

/** Claims within the limit, partly sent and held open together: the server must wait
 * for the rest without reserving what they claim. */
async function holdClaims(host, hold, count) {
  const where = await host.available();
  if (!where || !hold) return null;
  const pid = host.mode === 'child' ? host.child.pid : 'self';
  const memBefore = memOf(pid);
  const sockets = [];
  const sent = [];
  for (let i = 0; i < count; i++) {
    const socket = net.connect(where.path ? { path: where.path } : { host: '127.0.0.1', port: where.port });
    socket.on('error', () => {});
    sockets.push(socket);
    sent.push(
      new Promise((resolve) => {
        socket.on('connect', () => {
          if (!hold.pre) {
            socket.write(hold.bytes, resolve);
            return;
          }
          let seen = '';
          socket.write(hold.pre);
          socket.on('data', (d) => {
            seen += d.toString('latin1');
            if (seen.includes('\r\n\r\n') && !socket.sentHold) {
              socket.sentHold = true;
              socket.write(hold.bytes, resolve);
            }
          });
        });
        socket.on('close', resolve);
      }),
    );
  }
  await within(Promise.all(sent), 3000);
  await sleep(100);
  const memDuring = memOf(pid);
  if (!host.up || memDuring.rss === 0) {
    for (const s of sockets) s.destroy();
    return null; // the server died meanwhile: nothing to compare
  }
  const stillOpen = sockets.filter((s) => !s.destroyed && !s.readableEnded).length;
  for (const s of sockets) s.destroy();
  await sleep(50);
  return { rss: memDuring.rss - memBefore.rss, vm: memDuring.vm - memBefore.vm, open: stillOpen };
}

/** A JSTP message that never ends: 1 MiB more than the 8 MiB the jstp servers allow. */
function oversizeJstp() {
  return Buffer.concat([Buffer.from("{handshake:[0,'calc']}\0{call:[1,'calculator'],echo:['"), Buffer.alloc(9 * MiB, 0x61)]);
}

// ----------------------------------------------------------------------- targets

const post = (p, body) => Buffer.concat([Buffer.from(`POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n\r\n`), body]);

function framingTarget(name, framing, max) {
  return {
    target: name,
    subject: `connkit ${name === 'nul' ? "{ delimiter: '\\0' }" : `'${framing}'`}`,
    gen: (r) => I.framingCase(r, framing, max),
    // Claims within the limit; where a framing has none, a message begun (the control).
    hold: { bytes: I.holdClaims(framing, max) ?? Buffer.from('a message begun') },
    healthy: (where) => healthyCore(where, name),
  };
}

const TARGETS = [
  framingTarget('raw', 'raw', CORE_MAX),
  framingTarget('length', 'length', CORE_MAX),
  framingTarget('jstp', 'jstp', CORE_MAX),
  framingTarget('thrift-binary', 'thrift-binary', CORE_MAX),
  framingTarget('thrift-compact', 'thrift-compact', CORE_MAX),
  framingTarget('nul', 'nul', CORE_MAX),
  {
    target: 'ws',
    subject: 'connkit WebServer ws',
    gen: (r) => (r.chance(0.15) ? I.httpCase(r, '/rpc') : { pre: I.upgradeRequest('/ws'), ...I.wsCase(r, () => Buffer.from(`ping-${r.int(1e6)}`), CORE_MAX) }),
    hold: { pre: I.upgradeRequest('/ws'), bytes: Buffer.concat([I.wsFrame({ len: BigInt(CORE_MAX - 4096), lenBytes: 8 }), Buffer.alloc(4096, 0x61)]) },
    healthy: (where) => healthyCore(where, 'ws'),
  },
  {
    target: 'jstp-face',
    subject: 'connkit/jstp',
    original: 'original jstp',
    gen: (r) => I.jstpCase(r),
    corpus: I.jstpCorpus(),
    oversize: oversizeJstp,
    healthy: healthyJstp,
  },
  {
    target: 'thrift-framed',
    subject: 'connkit/thrift framed',
    original: 'original thrift framed',
    gen: (r) => I.thriftCase(r, 'compact', 'framed', THRIFT_FRAMED_MAX),
    corpus: I.thriftCorpus('compact', 'framed'),
    hold: { bytes: Buffer.concat([Buffer.from([0x00, 0xf4, 0x24, 0x00]), Buffer.alloc(4096, 0x61)]) }, // a 16,000,000-byte frame, begun
    healthy: (where) => healthyThrift(where, 'framed'),
  },
  {
    target: 'thrift-buffered',
    subject: 'connkit/thrift buffered',
    original: 'original thrift buffered',
    gen: (r) => I.thriftCase(r, 'binary', 'buffered', CORE_MAX),
    corpus: I.thriftCorpus('binary', 'buffered'),
    hold: { bytes: I.holdClaims('thrift-binary', 100 * MiB) },
    healthy: (where) => healthyThrift(where, 'buffered'),
  },
  {
    target: 'thrift-web',
    subject: 'connkit/thrift web',
    original: 'original thrift web',
    gen: (r) => {
      const roll = r.int(10);
      const thrift = () => I.thriftCase(r, 'binary', 'buffered', CORE_MAX);
      if (roll < 4) {
        const c = thrift();
        return { kind: `post-${c.kind}`, bytes: post('/calc', c.bytes) };
      }
      if (roll < 8) return { pre: I.upgradeRequest('/calc'), ...I.wsCase(r, () => I.thriftAdd('binary', 1), CORE_MAX) };
      return I.httpCase(r, '/calc');
    },
    // Whole WebSocket messages, each a call declaring a string within the limit (the
    // frame-length claim of a WebSocket is the 'ws' target's).
    hold: { pre: I.upgradeRequest('/calc'), bytes: I.wsFrame({ payload: I.holdClaims('thrift-binary', CORE_MAX) }) },
    healthy: (where) => healthyThrift(where, 'web'),
  },
  {
    target: 'socket-ipc',
    subject: 'connkit/socket-ipc',
    original: 'original socket-ipc',
    gen: (r) => I.ipcCase(r),
    corpus: I.ipcCorpus(),
    healthy: healthyIpc,
  },
];

// ------------------------------------------------------------------------ running

const debug = process.env.FUZZ_DEBUG ? (...a) => console.error(`[fuzz ${Date.now() % 100000}]`, ...a) : () => {};

async function fuzzTarget(t, lib, p, seed) {
  const mode = lib === 'connkit' ? 'worker' : 'child';
  const r = I.rng(seed);
  const before = { fds: fds(), mem: memOf() };
  // The originals' crashes are expected (their figures are the point): in the short
  // profile one is enough to count.
  const host = new Host(t.target, lib, mode, mode === 'child' ? { ...p, restarts: p.originalRestarts } : p);
  await host.start();
  debug(t.target, lib, 'started');
  const healthy = healthyLoop(host, t.healthy);
  await until(() => healthy.answered + healthy.failed > 0 || healthy.stop, 3000);
  const childBefore = mode === 'child' ? { fds: fdsOf(host.child.pid), mem: memOf(host.child.pid) } : null;

  // Claims within the limit, held open together.
  const held = t.hold ? await holdClaims(host, t.hold, p.holds) : null;
  debug('held');

  let opened = 0;
  let refused = 0;
  let closedByServer = 0;
  let next = 0;
  const corpus = t.corpus ?? [];
  // What was in flight when the server went down: the suspects, for the note.
  const inFlight = new Set();
  const suspects = [];
  const onDown = host.onDown;
  host.onDown = () => {
    onDown();
    suspects.push([...inFlight].slice(0, 4).join(' | '));
  };
  const worker = async () => {
    while (next < p.conns) {
      const where = await host.available();
      if (!where) return;
      const c = corpus[next] ?? t.gen(r);
      next++;
      const dribble = r.chance(0.06);
      inFlight.add(c.kind);
      const res = await fuzzConnection(where, { pre: c.pre, bytes: c.bytes, dribble }, r, p.linger);
      inFlight.delete(c.kind);
      if (res.opened) opened++;
      if (res.refused) refused++;
      if (res.closedByServer) closedByServer++;
    }
  };
  const oversize = [];
  if (t.oversize) {
    for (let i = 0; i < p.oversize; i++) {
      const where = await host.available();
      if (where) oversize.push(fuzzConnection(where, { bytes: t.oversize() }, r, 200).then((res) => res.opened && opened++));
    }
  }
  await Promise.all([...Array.from({ length: p.concurrency }, worker), ...oversize]);

  debug('fuzzed');
  // Let the server see the last closes before it is measured.
  await sleep(50);
  let childAfter = null;
  if (mode === 'child' && host.up) {
    const pid = host.child.pid;
    await until(() => fdsOf(pid) <= childBefore.fds, 2000);
    childAfter = { fds: fdsOf(pid), mem: memOf(pid) };
    if (!host.up || childAfter.mem.rss === 0) childAfter = null; // it died meanwhile
  }
  healthy.stop = true;
  await within(healthy.done, 5000);
  debug('healthy stopped');
  const stats = host.stats();
  const { endedByItself } = await host.close();
  debug('closed');
  await until(() => fds() <= before.fds, 2000);
  const after = { fds: fds(), mem: memOf() };

  const uncoded = Object.values(stats.uncoded).reduce((a, b) => a + b, 0);
  const figures = {
    conns: opened,
    refused,
    closedByServer,
    errors: showCodes(stats.codes),
    uncoded,
    healthyOk: healthy.answered,
    healthyFailed: healthy.failed,
    crashed: host.crashed,
    hung: host.hung,
  };
  if (mode === 'worker') {
    Object.assign(figures, { fdsBefore: before.fds, fdsAfter: after.fds, rssBeforeMiB: before.mem.rss, rssAfterMiB: after.mem.rss });
  } else {
    Object.assign(figures, {
      fdsBefore: childBefore.fds,
      fdsAfter: childAfter ? childAfter.fds : 'n/a',
      rssBeforeMiB: childBefore.mem.rss,
      rssAfterMiB: childAfter ? childAfter.mem.rss : 'n/a',
    });
  }
  if (held) Object.assign(figures, { holdConns: p.holds, holdOpen: held.open, holdRssMiB: held.rss, holdVmMiB: held.vm });
  if (mode === 'worker') figures.exitsByItself = endedByItself;

  const problems = [];
  if (host.crashed) problems.push(`crashed: ${host.crashNotes.filter((n) => n !== 'hung')[0]}`);
  if (suspects.length) problems.push(`in flight when it went down: ${suspects[0]}`);
  if (host.hung) problems.push(`hung ${host.hung}x (no heartbeat for ${p.hangMs} ms)`);
  if (uncoded) problems.push(`errors without a code: ${Object.keys(stats.uncoded).slice(0, 2).join(' | ')}`);
  if (healthy.failed) problems.push(`${healthy.failed} healthy requests failed`);
  if (mode === 'worker') {
    if (after.fds > before.fds) problems.push(`fds ${before.fds} -> ${after.fds}`);
    if (after.mem.rss - before.mem.rss > 100) problems.push(`RSS grew ${(after.mem.rss - before.mem.rss).toFixed(0)} MiB`);
    if (held && held.rss > 100) problems.push(`RSS grew ${held.rss.toFixed(0)} MiB while claims were held`);
    // Reserving what a claim says shows as virtual memory, not RSS: under an address-space
    // limit (ulimit -v, strict overcommit) it aborts the process.
    if (held && held.vm > HOLD_VM_MAX) problems.push(`virtual memory grew ${held.vm.toFixed(0)} MiB while ${p.holds} claims were held (reserved as claimed)`);
    if (held && held.open < p.holds) problems.push(`${p.holds - held.open} connections with a claim within the limit were closed`);
    if (endedByItself === false) problems.push("the server's thread did not end by itself after close");
  }
  const ok = mode === 'worker' ? problems.length === 0 && opened > 0 : true;
  const note = [mode === 'child' ? 'in a child process; healthy client: connkit' : `seed ${seed}`, ...problems].join('; ');
  return { subject: lib === 'connkit' ? t.subject : t.original, ok, figures, note };
}

async function run(profile, report) {
  const p = PROFILES[profile];
  // The short profile gates npm test, so it replays one seed; the full profile
  // explores a new one each run (its rows print it, for FUZZ_SEED to replay).
  const seed = Number(process.env.FUZZ_SEED) || (profile === 'short' ? 774448 : Date.now() % 1_000_000);
  const started = Date.now();
  let total = 0;
  // Warm up: the core's runtime and a worker's first start cost fds and memory once.
  {
    const host = new Host('raw', 'connkit', 'worker', p);
    await host.start();
    const client = healthyCore(host.where, 'raw');
    await within(client.request(0), 2000);
    await client.close();
    await host.close();
  }
  const only = process.env.FUZZ_TARGETS ? process.env.FUZZ_TARGETS.split(',') : null;
  const chosen = TARGETS.filter((t) => !only || only.includes(t.target));
  const originals = process.env.FUZZ_ORIGINALS !== '0';
  for (const t of chosen) {
    const row = await fuzzTarget(t, 'connkit', p, seed);
    total += row.figures.conns;
    report(row);
  }
  for (const t of chosen.filter((x) => x.original && originals)) {
    const row = await fuzzTarget(t, 'original', p, seed);
    total += row.figures.conns;
    report(row);
  }
  debug('left alive:', process.getActiveResourcesInfo().join(','));
  report({ subject: 'fuzz total', ok: true, figures: { conns: total, seconds: (Date.now() - started) / 1000, seed } });
}

module.exports = { run };
