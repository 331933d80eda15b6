'use strict';

// The core benchmark of issue 2: 64-byte length-prefixed frames over a unix socket,
// connkit against Node `net` doing the same framing in JS. Each side runs its own
// server in a child process; runs are interleaved and reported as medians and ratios.

const { startChild } = require('./child');
const { compare, print } = require('./table');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const impls = require('./peers');
const ceiling = require('./ceiling');
const { pinned } = require('./cpus');

const PAYLOAD = Buffer.alloc(64, 0x61);
const ONE_WAY_FRAMES = Number(process.env.BENCH_FRAMES || 2_000_000);
const PING_PONGS = Number(process.env.BENCH_PINGS || 20_000);
const BATCH = 1000;

const tmpSocket = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'connkit-bench-')), 'peer.sock');

function startPeer(implName, mode, frames = 0) {
  const sock = tmpSocket();
  const dir = path.dirname(sock);
  const child = startChild('core-peer.js', [implName, mode, sock, frames]);
  return {
    sock,
    pid: child.pid,
    expect: child.expect,
    stop() {
      child.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function connect(impl, sock, onFrame) {
  return new Promise((resolve) => {
    const c = impl.client(sock, onFrame, () => resolve(c));
  });
}

/** Frames per second from client to server, with backpressure respected. */
async function oneWay(implName) {
  const impl = impls[implName];
  const peer = startPeer(implName, 'count', ONE_WAY_FRAMES);
  await peer.expect('ready');
  const client = await connect(impl, peer.sock, () => {});
  const started = process.hrtime.bigint();
  const done = peer.expect('count');
  let sent = 0;
  await new Promise((resolve) => {
    const pump = () => {
      while (sent < ONE_WAY_FRAMES) {
        const ok = client.sendMany(PAYLOAD, BATCH);
        sent += BATCH;
        if (!ok) return client.onDrain(pump);
        if (sent % (BATCH * 64) === 0) return setImmediate(pump);
      }
      resolve();
    };
    pump();
  });
  await done;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  client.close();
  peer.stop();
  return ONE_WAY_FRAMES / seconds;
}

/** Sequential request/response round trips: p50 and p99 in microseconds. */
async function pingPong(implName) {
  const impl = impls[implName];
  const peer = startPeer(implName, 'echo');
  await peer.expect('ready');
  let resolveEcho;
  const client = await connect(impl, peer.sock, () => resolveEcho());
  const samples = new Float64Array(PING_PONGS);
  const warmup = Math.min(2000, PING_PONGS / 10);
  await pinned([peer.pid], async () => {
    for (let i = -warmup; i < PING_PONGS; i++) {
      const t0 = process.hrtime.bigint();
      await new Promise((r) => {
        resolveEcho = r;
        client.send(PAYLOAD);
      });
      if (i >= 0) samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
  });
  client.close();
  peer.stop();
  samples.sort();
  return { p50: samples[Math.floor(PING_PONGS * 0.5)], p99: samples[Math.floor(PING_PONGS * 0.99)] };
}

async function run({ rounds = Number(process.env.BENCH_ROUNDS || 5), report = console.log } = {}) {
  const lists = () => ({ oneWay: [], p50: [], p99: [] });
  const results = { connkit: lists(), node: lists(), ceiling: lists() };
  for (let round = 1; round <= rounds; round++) {
    for (const name of ['connkit', 'node']) {
      results[name].oneWay.push(await oneWay(name));
      const pp = await pingPong(name);
      results[name].p50.push(pp.p50);
      results[name].p99.push(pp.p99);
    }
    // The transport's: the same frames over a unix socket, Rust at both ends.
    results.ceiling.oneWay.push(await ceiling.oneWay(tmpSocket(), PAYLOAD.length, ONE_WAY_FRAMES));
    const pp = await ceiling.pingPong(tmpSocket(), PAYLOAD.length, PING_PONGS);
    results.ceiling.p50.push(pp.p50);
    results.ceiling.p99.push(pp.p99);
    process.stderr.write(`  core: round ${round}/${rounds}\r`);
  }
  const rows = compare(
    results,
    [
      ['one-way 64 B frames/s', 'oneWay', '>= 1.5x'],
      ['ping-pong p50 µs', 'p50', '<= 1.0x'],
      ['ping-pong p99 µs', 'p99', '(report)'],
    ],
    ['connkit', 'node'],
  );
  print(report, `core: 64 B length-prefixed frames over a unix socket (median of ${rounds} interleaved rounds)`, rows, 'node net');
  return rows;
}

module.exports = { run };
if (require.main === module) run();
