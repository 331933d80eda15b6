'use strict';

// A TCP proxy on 127.0.0.1 that misbehaves on purpose, in a process of its own.
//
//   node chaos-proxy.js '<json config>'
//
// config: { seed, targets: [{ host, port }], ...tuning (see DEFAULTS) }. One listener per
// target; each listener has its own seeded PRNG (seed, listener index), so the schedule
// of faults (which kind, in which order, how long, the gaps between them) is the same in
// every run with the same seed; the kinds come from a shuffled bag holding each kind
// `weights[kind]` times, so each comes up within one bag's worth of faults. While faults
// are on, every `gapMs` (random in the range) a listener picks one of its live
// connections and does one of:
//   cut        FIN both ways (end() on both sides); what the proxy held is dropped
//   reset      RST both ways (resetAndDestroy())
//   stall      forwarding stops both ways for `stallMs`, then resumes in order
//   delay      for `delayWindowMs`, every chunk waits `delayMs` more (order kept)
//   split      for `splitWindowMs`, chunks leave as 1-byte writes, one at a time
//   blackhole  from now on, bytes are read and thrown away both ways, nothing is sent,
//              no FIN, no RST: the path is dead. It stays so until `holeLifeMs` has
//              passed or the parent says `drain`; turning faults off does not heal it
//              (bytes already thrown away cannot be given back).
//
// IPC from the parent: { op: 'faults', on, id } (off: stalls, delays and splits end at
// once), { op: 'stats', id }, { op: 'drain', id } (every connection is cut off: RST).
// Each answer is { reply: id, stats }. Everything is bounded: connections per listener,
// bytes held per direction (reading pauses above it), a cut's linger, a hole's life.

const net = require('node:net');
const { peerReady } = require('../lib/peer');

const DEFAULTS = {
  seed: 1,
  gapMs: [150, 600],
  weights: { cut: 2, reset: 2, stall: 2, delay: 2, split: 2, blackhole: 1 },
  stallMs: [150, 700],
  delayWindowMs: [300, 1200],
  delayMs: [20, 200],
  splitWindowMs: [200, 800],
  holeLifeMs: 60_000,
  lingerMs: 2_000, // a cut connection whose peers do not close is destroyed after this
  maxConns: 64,
  maxHeldBytes: 1 << 20,
  splitMaxBytes: 4096, // a chunk larger than this is split at its start only
};

const config = { ...DEFAULTS, ...JSON.parse(process.argv[2] || '{}') };

/** mulberry32: small, fast, and the same everywhere. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KINDS = Object.keys(DEFAULTS.weights);
let faultsOn = false;
let nextConnId = 1;

/** One direction of a connection: what `src` sent, on its way to `dst`. */
class Pipe {
  constructor(pair, src, dst) {
    this.pair = pair;
    this.src = src;
    this.dst = dst;
    this.queue = []; // { buf, off, due }
    this.held = 0;
    this.lastDue = 0;
    this.timer = null;
    this.writing = false; // waiting for a write callback or 'drain'
    this.srcEnded = false;
    this.endSent = false;
    this.readPaused = false;
  }

  push(buf) {
    const pair = this.pair;
    if (pair.dead) return;
    if (pair.holed) {
      pair.listener.stats.bytesDropped += buf.length;
      return;
    }
    const now = Date.now();
    let due = now;
    if (pair.delayUntil > now) due = now + pair.listener.between(config.delayMs, pair.listener.randChunk);
    due = Math.max(due, this.lastDue); // order is kept
    this.lastDue = due;
    this.queue.push({ buf, off: 0, due });
    this.held += buf.length;
    if (this.held > config.maxHeldBytes && !this.readPaused) {
      this.readPaused = true;
      this.src.pause();
    }
    this.pump();
  }

  drop() {
    for (const q of this.queue) this.pair.listener.stats.bytesDropped += q.buf.length - q.off;
    this.queue = [];
    this.held = 0;
    clearTimeout(this.timer);
    this.timer = null;
  }

  /** Moves what may move now; sets a timer for what must wait. */
  pump() {
    const pair = this.pair;
    if (this.writing || pair.dead || pair.holed) return;
    clearTimeout(this.timer);
    this.timer = null;
    while (this.queue.length > 0) {
      const now = Date.now();
      if (pair.stallUntil > now) return this.wait(pair.stallUntil - now);
      const head = this.queue[0];
      if (head.due > now) return this.wait(head.due - now);
      if (pair.splitUntil > now && head.off < config.splitMaxBytes) {
        const piece = head.buf.subarray(head.off, head.off + 1);
        this.take(head, 1);
        this.writing = true;
        this.dst.write(piece, () => {
          this.writing = false;
          this.pump();
        });
        return;
      }
      const rest = head.off === 0 ? head.buf : head.buf.subarray(head.off);
      this.take(head, rest.length);
      if (!this.dst.write(rest)) {
        this.writing = true;
        this.dst.once('drain', () => {
          this.writing = false;
          this.pump();
        });
        return;
      }
    }
    if (this.srcEnded && !this.endSent) {
      this.endSent = true;
      this.dst.end();
    }
  }

  take(head, n) {
    head.off += n;
    this.held -= n;
    if (head.off >= head.buf.length) this.queue.shift();
    if (this.readPaused && this.held < config.maxHeldBytes / 2) {
      this.readPaused = false;
      this.src.resume();
    }
  }

  wait(ms) {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, Math.max(1, ms));
  }
}

/** A client connection and the proxy's own connection to the target. */
class Pair {
  constructor(listener, client) {
    this.listener = listener;
    this.id = nextConnId++;
    this.client = client;
    // Half-open both ways: an end is passed on by the pipe, after what it still holds.
    this.upstream = net.connect({ host: listener.target.host, port: listener.target.port, noDelay: true, allowHalfOpen: true });
    this.established = false;
    this.dead = false; // cut or reset: nothing more is forwarded
    this.holed = false;
    this.stallUntil = 0;
    this.delayUntil = 0;
    this.splitUntil = 0;
    this.timers = [];
    this.up = new Pipe(this, client, this.upstream);
    this.down = new Pipe(this, this.upstream, client);
    client.setNoDelay(true);
    for (const [sock, pipe, other] of [
      [client, this.up, this.upstream],
      [this.upstream, this.down, client],
    ]) {
      sock.on('data', (d) => pipe.push(d));
      sock.on('end', () => {
        if (this.dead || this.holed) return;
        pipe.srcEnded = true;
        pipe.pump();
      });
      sock.on('error', () => {});
      sock.on('close', (hadError) => {
        this.closed(sock);
        if (this.dead || this.holed) return;
        // A peer that vanished with an error is passed on as a reset, else as an end.
        if (hadError) other.resetAndDestroy();
        else if (!pipe.srcEnded) {
          pipe.srcEnded = true;
          pipe.pump();
        }
      });
    }
    this.upstream.on('connect', () => {
      this.established = true;
    });
    listener.pairs.add(this);
  }

  closed(sock) {
    sock.closedFlag = true;
    if (this.client.closedFlag && this.upstream.closedFlag) {
      this.listener.pairs.delete(this);
      for (const t of this.timers) clearTimeout(t);
      this.up.drop();
      this.down.drop();
    }
  }

  later(ms, fn) {
    const t = setTimeout(fn, ms);
    this.timers.push(t);
  }

  kill() {
    this.dead = true;
    this.up.drop();
    this.down.drop();
  }

  apply(kind, rand) {
    const now = Date.now();
    switch (kind) {
      case 'cut':
        this.kill();
        this.client.end();
        this.upstream.end();
        this.later(config.lingerMs, () => {
          this.client.destroy();
          this.upstream.destroy();
        });
        break;
      case 'reset':
        this.kill();
        this.client.resetAndDestroy();
        this.upstream.resetAndDestroy();
        break;
      case 'stall':
        this.stallUntil = now + rand(config.stallMs);
        break;
      case 'delay':
        this.delayUntil = now + rand(config.delayWindowMs);
        break;
      case 'split':
        this.splitUntil = now + rand(config.splitWindowMs);
        this.up.pump();
        this.down.pump();
        break;
      case 'blackhole':
        this.holed = true;
        this.up.drop();
        this.down.drop();
        this.later(config.holeLifeMs, () => this.destroy());
        break;
    }
  }

  /** Faults are off: what was only slowed down flows again now. */
  heal() {
    this.stallUntil = 0;
    this.delayUntil = 0;
    this.splitUntil = 0;
    for (const pipe of [this.up, this.down]) {
      for (const q of pipe.queue) q.due = 0;
      pipe.lastDue = 0;
      pipe.pump();
    }
  }

  destroy() {
    this.kill();
    this.client.resetAndDestroy();
    this.upstream.resetAndDestroy();
  }
}

class Listener {
  constructor(index, target) {
    this.index = index;
    this.target = target;
    // Separate streams, so that each is the seed's whatever the timing: the gaps, the
    // order of kinds, and what one applied fault draws (its connection, its length).
    const base = (config.seed >>> 0) ^ Math.imul(index + 1, 0x9e3779b1);
    this.randGap = prng(base ^ 0x1b873593);
    this.randKind = prng(base ^ 0xcc9e2d51);
    this.randFault = prng(base ^ 0x85ebca6b);
    this.randChunk = prng(base ^ 0xe6546b64); // each delayed chunk's delay
    this.pairs = new Set();
    this.bag = [];
    this.timer = null;
    this.stats = { accepted: 0, refused: 0, bytesDropped: 0, faults: Object.fromEntries(KINDS.map((k) => [k, 0])), skipped: 0 };
    this.server = net.createServer({ allowHalfOpen: true }, (client) => {
      if (this.pairs.size >= config.maxConns) {
        this.stats.refused++;
        client.on('error', () => {});
        client.resetAndDestroy();
        return;
      }
      this.stats.accepted++;
      new Pair(this, client);
    });
  }

  between([min, max], rand = this.randFault) {
    return Math.round(min + rand() * (max - min));
  }

  /** The next kind from a bag holding each kind `weight` times, shuffled by the PRNG
   * and refilled when empty: every kind comes up within one bag's worth of faults. */
  peekKind() {
    if (this.bag.length === 0) {
      for (const k of KINDS) for (let i = 0; i < (config.weights[k] || 0); i++) this.bag.push(k);
      for (let i = this.bag.length - 1; i > 0; i--) {
        const j = Math.floor(this.randKind() * (i + 1));
        [this.bag[i], this.bag[j]] = [this.bag[j], this.bag[i]];
      }
    }
    return this.bag[this.bag.length - 1];
  }

  schedule() {
    clearTimeout(this.timer);
    if (!faultsOn) return;
    this.timer = setTimeout(() => this.tick(), this.between(config.gapMs, this.randGap));
  }

  tick() {
    // With no connection to hit, the kind waits for the next tick: the sequence of
    // faults applied is the seed's (their times depend on the subjects' timing).
    const kind = this.peekKind();
    const live = [...this.pairs].filter((p) => p.established && !p.dead && !p.holed);
    if (live.length === 0) this.stats.skipped++;
    else {
      this.bag.pop();
      live[Math.floor(this.randFault() * live.length)].apply(kind, (range) => this.between(range));
      this.stats.faults[kind]++;
    }
    this.schedule();
  }

  state() {
    const pairs = [...this.pairs];
    return {
      ...this.stats,
      faults: { ...this.stats.faults },
      live: pairs.filter((p) => !p.dead && !p.holed).length,
      holed: pairs.filter((p) => p.holed).length,
    };
  }
}

const listeners = config.targets.map((t, i) => new Listener(i, t));

function stats() {
  return listeners.map((l) => l.state());
}

process.on('message', (m) => {
  if (!m || typeof m !== 'object') return;
  if (m.op === 'faults') {
    faultsOn = Boolean(m.on);
    for (const l of listeners) {
      if (faultsOn) l.schedule();
      else {
        clearTimeout(l.timer);
        for (const p of l.pairs) p.heal();
      }
    }
  } else if (m.op === 'drain') {
    faultsOn = false;
    for (const l of listeners) {
      clearTimeout(l.timer);
      for (const p of l.pairs) p.destroy();
    }
  }
  if (m.id !== undefined) process.send({ reply: m.id, at: Date.now(), stats: stats() });
});

Promise.all(
  listeners.map(
    (l) =>
      new Promise((resolve, reject) => {
        l.server.once('error', reject);
        l.server.listen(0, '127.0.0.1', () => resolve(l.server.address().port));
      }),
  ),
).then(
  (ports) => peerReady({ seed: config.seed, listeners: ports.map((port, i) => ({ port, target: listeners[i].target })) }),
  (e) => {
    console.error(`chaos-proxy: ${e.message}`);
    process.exit(1);
  },
);
