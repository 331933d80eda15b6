'use strict';

// connkit/socket-ipc against @crussell52/socket-ipc: both sides of each case run the
// same implementation, each side in its own process; rounds are interleaved.

const { startChild } = require('./child');
const { compare, print } = require('./table');
const ceiling = require('./ceiling');
const { pinned } = require('./cpus');
const { EventEmitter } = require('node:events');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const IMPLS = ['connkit', 'original'];
const SMALL = Number(process.env.BENCH_IPC_SMALL || 200_000);
const LARGE = Number(process.env.BENCH_IPC_LARGE || 20_000);
const BROADCASTS = Number(process.env.BENCH_IPC_BROADCASTS || 4_000);
const PINGS = Number(process.env.BENCH_IPC_PINGS || 5_000);

function peer(impl, role, socketFile, count, size) {
  return startChild('socket-ipc-peer.js', [impl, role, socketFile, count, size || '']);
}

const rss = (line) => Number(line.split(' ')[1]);

/** One sender to one counting server; messages/s and both sides' peak RSS. */
async function oneWay(impl, count, size) {
  const socketFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ck-ipc-')), 's.sock');
  const sink = peer(impl, 'sink', socketFile, count);
  await sink.expect('ready');
  const sender = peer(impl, 'sender', socketFile, count, size);
  await sender.expect('ready');
  const started = process.hrtime.bigint();
  sender.send('go');
  const sinkDone = await sink.expect('done');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  sender.send('report');
  const senderDone = await sender.expect('done');
  sink.stop();
  sender.stop();
  return { rate: count / seconds, rss: Math.max(rss(sinkDone), rss(senderDone)) };
}

async function broadcast(impl) {
  const socketFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ck-ipc-')), 's.sock');
  const server = peer(impl, 'broadcaster', socketFile, BROADCASTS);
  await server.expect('ready');
  const listeners = peer(impl, 'listeners', socketFile, BROADCASTS);
  await listeners.expect('ready');
  await server.expect('clients');
  const started = process.hrtime.bigint();
  server.send('go');
  await listeners.expect('done');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  server.stop();
  listeners.stop();
  return (BROADCASTS * 50) / seconds;
}

/** Sequential request/response from this process to an echo server. */
async function requestResponse(impl) {
  const lib = require(impl === 'connkit' ? 'connkit/socket-ipc' : '@crussell52/socket-ipc');
  const socketFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ck-ipc-')), 's.sock');
  const server = peer(impl, 'echo', socketFile, 0);
  await server.expect('ready');
  const client = new lib.Client({ socketFile });
  client.on('error', () => {});
  await new Promise((r) => {
    client.once('connect', r);
    client.connect();
  });
  let answer;
  client.on('message', () => answer());
  const samples = new Float64Array(PINGS);
  await pinned([server.pid], async () => {
    for (let i = -500; i < PINGS; i++) {
      const t0 = process.hrtime.bigint();
      await new Promise((r) => {
        answer = r;
        client.send('rpc', { i });
      });
      if (i >= 0) samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
  });
  await new Promise((r) => {
    client.once('close', r);
    client.close();
  });
  server.stop();
  samples.sort();
  return { p50: samples[Math.floor(PINGS / 2)], p99: samples[Math.floor(PINGS * 0.99)] };
}

/**
 * The JS work's ceiling, without I/O: per message the sender encodes ({topic,
 * message} as JSON, written as UTF-8 into an outgoing buffer) and the receiver
 * decodes and dispatches (the frame's bytes to a string, JSON.parse, a 'message'
 * event), in two processes in the case, so the slower end bounds it. A broadcast is
 * encoded once and decoded by each of 50 clients in one process.
 */
function jsCeiling(size, count) {
  const payload = { i: 0, s: 'x'.repeat(size) };
  const wire = Buffer.from(JSON.stringify({ topic: 'bench', message: payload }));
  const out = Buffer.allocUnsafe(64 * 1024);
  let used = 0;
  const emitter = new EventEmitter();
  emitter.on('message', () => {});
  const encode = ceiling.jsRate((i) => {
    payload.i = i;
    const text = JSON.stringify({ topic: 'bench', message: payload });
    if (used + text.length * 3 + 2 > out.length) used = 0;
    used += out.write(text, used);
    used += out.write('\0\0', used);
  }, count);
  const decode = ceiling.jsRate(() => {
    const { topic, message } = JSON.parse(wire.toString('utf8', 0, wire.length));
    emitter.emit('message', message, topic);
  }, count);
  return { oneWay: Math.min(encode, decode), decode };
}

async function run({ rounds = Number(process.env.BENCH_ROUNDS || 3), report = console.log } = {}) {
  const r = Object.fromEntries(IMPLS.map((i) => [i, { small: [], large: [], bcast: [], p50: [], p99: [], rss: [] }]));
  r.ceiling = { small: [], large: [], bcast: [], p50: [], p99: [] };
  for (let round = 1; round <= rounds; round++) {
    const small = jsCeiling(64, SMALL);
    r.ceiling.small.push(small.oneWay);
    r.ceiling.large.push((jsCeiling(4096, LARGE).oneWay * 4096) / 1e6);
    r.ceiling.bcast.push(small.decode);
    // The transport's, for a round trip: the same bytes over a unix socket, Rust at both ends.
    const socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ck-ipc-')), 'c.sock');
    const rr = await ceiling.pingPong(socket, Buffer.byteLength(JSON.stringify({ topic: 'rpc', message: { i: PINGS } })) + 2, PINGS);
    r.ceiling.p50.push(rr.p50);
    r.ceiling.p99.push(rr.p99);
    for (const impl of IMPLS) {
      const small = await oneWay(impl, SMALL, 64);
      r[impl].small.push(small.rate);
      r[impl].rss.push(small.rss);
      r[impl].large.push(((await oneWay(impl, LARGE, 4096)).rate * 4096) / 1e6);
      r[impl].bcast.push(await broadcast(impl));
      const rr = await requestResponse(impl);
      r[impl].p50.push(rr.p50);
      r[impl].p99.push(rr.p99);
    }
    process.stderr.write(`  socket-ipc: round ${round}/${rounds}\r`);
  }
  const rows = compare(r, [
    ['small messages/s (~100 B)', 'small', '>= 4x'],
    ['4 KB messages, MB/s', 'large', '>= 3x'],
    ['broadcast deliveries/s (50)', 'bcast', '>= 4x'],
    ['request/response p50 µs', 'p50', '<= 0.8x'],
    ['request/response p99 µs', 'p99', '<= 1.0x'],
    ['peak RSS MB (small case)', 'rss', '<= 1.0x'],
  ]);
  print(report, `socket-ipc: connkit/socket-ipc vs @crussell52/socket-ipc 0.4.0 (median of ${rounds} interleaved rounds)`, rows);
  return rows;
}

module.exports = { run };
if (require.main === module) run();
