'use strict';

// connkit/jstp against @metarhia/jstp 2.3.0 over TCP and over WebSocket: the server
// runs in its own process with the same implementation as the client, serving both
// transports; each round measures TCP, then WebSocket, with a fresh server. Rounds
// are interleaved.

const { startChild } = require('./child');
const { compare, print } = require('./table');
const ceiling = require('./ceiling');
const { pinned } = require('./cpus');
const { EventEmitter } = require('node:events');
// connkit/jstp's own encoder and decoder: the JS work of each message.
const serde = require('../faces/jstp/serde');

const IMPLS = ['connkit', 'original'];
const IN_FLIGHT = 100;
const count = (name, fallback) => Number(process.env[name] || fallback);
// Calls or events per case, by transport. WebSocket runs fewer, to keep the suite short.
const COUNTS = {
  net: {
    sequential: count('BENCH_JSTP_SEQUENTIAL', 5_000),
    pipelined: count('BENCH_JSTP_PIPELINED', 50_000),
    events: count('BENCH_JSTP_EVENTS', 100_000),
  },
  ws: {
    sequential: count('BENCH_JSTP_WS_SEQUENTIAL', 2_000),
    pipelined: count('BENCH_JSTP_WS_PIPELINED', 20_000),
    events: count('BENCH_JSTP_WS_EVENTS', 40_000),
  },
};

const lib = (impl) => require(impl === 'connkit' ? 'connkit/jstp' : '@metarhia/jstp');

/** A client of `transport` ('net' or 'ws') connected to the peer on `port`. */
function connect(impl, transport, port) {
  // ws dials with (websocket client config, url); net with (port, host).
  const where = transport === 'ws' ? [{}, `ws://127.0.0.1:${port}`] : [port, '127.0.0.1'];
  return new Promise((resolve, reject) => {
    const client = { reconnector: () => {} };
    lib(impl)[transport].connectAndInspect('bench', client, ['bench'], ...where, (error, connection, proxies) =>
      error ? reject(error) : resolve({ connection, bench: proxies.bench }),
    );
  });
}

const add = (bench) => new Promise((resolve) => bench.add(1, 2, resolve));

async function sequential(bench, calls) {
  const samples = new Float64Array(calls);
  for (let i = -500; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    await add(bench);
    if (i >= 0) samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  samples.sort();
  return samples[Math.floor(calls / 2)];
}

/** Calls/s with IN_FLIGHT calls outstanding at all times. */
function pipelined(bench, calls) {
  return new Promise((resolve) => {
    let sent = 0;
    let done = 0;
    const started = process.hrtime.bigint();
    const next = () => {
      if (++done === calls) resolve(calls / (Number(process.hrtime.bigint() - started) / 1e9));
      else if (sent < calls) send();
    };
    const send = () => {
      sent++;
      bench.add(1, 2, next);
    };
    for (let i = 0; i < Math.min(IN_FLIGHT, calls); i++) send();
  });
}

/** Server events/s received by the client. */
function events(bench, total) {
  return new Promise((resolve) => {
    let seen = 0;
    const started = process.hrtime.bigint();
    const onTick = () => {
      if (++seen === total) {
        bench.removeListener('tick', onTick);
        resolve(total / (Number(process.hrtime.bigint() - started) / 1e9));
      }
    };
    bench.on('tick', onTick);
    bench.flood(total, () => {});
  });
}

async function measure(impl, transport, server, port) {
  const { connection, bench } = await connect(impl, transport, port);
  const counts = COUNTS[transport];
  const result = {
    p50: await pinned([server.pid], () => sequential(bench, counts.sequential)),
    pipelined: await pipelined(bench, counts.pipelined),
    events: await events(bench, counts.events),
  };
  return { connection, result };
}

async function round(impl) {
  const server = startChild('jstp-peer.js', [impl]);
  try {
    const [netPort, wsPort] = (await server.expect('ready')).split(' ').slice(1).map(Number);
    const net = await measure(impl, 'net', server, netPort);
    // The server's RSS after the TCP events, before any WebSocket traffic.
    server.send('report');
    net.result.rss = Number((await server.expect('rss')).split(' ')[1]);
    net.connection.close();
    const ws = await measure(impl, 'ws', server, wsPort);
    ws.connection.close();
    return { net: net.result, ws: ws.result };
  } finally {
    server.stop();
  }
}

/**
 * The JS work's ceiling, without I/O, with connkit/jstp's own encoder and decoder
 * (the core turns mdsf into JSON, so JS parses JSON): per call the client encodes
 * the call (to UTF-8 bytes) and decodes (from bytes) and dispatches the callback;
 * the server decodes the call, dispatches it and encodes the callback. The two ends
 * run in two processes in the case, so the slower bounds it. Per event: the server
 * encodes, the client decodes and emits.
 */
function jsCeiling(calls, events) {
  const out = Buffer.allocUnsafe(64 * 1024);
  let used = 0;
  const send = (text) => {
    if (used + text.length * 3 + 1 > out.length) used = 0;
    used += out.write(text, used);
    out[used++] = 0;
  };
  const receive = (bytes) => serde.fromJson(bytes.toString('utf8', 0, bytes.length));
  const callbacks = new Map();
  const emitter = new EventEmitter();
  emitter.on('tick', () => {});
  const api = { bench: { add: (connection, a, b, callback) => callback(null, a + b) } };
  const callbackBytes = Buffer.from('{"callback":[1000],"ok":[3]}');
  const callBytes = Buffer.from('{"call":[1000,"bench"],"add":[1,2]}');
  const eventBytes = Buffer.from('{"event":[-1,"bench"],"tick":[1000,"payload"]}');
  const client = ceiling.jsRate((id) => {
    callbacks.set(1000, () => {});
    send(serde.compose('call', id, 'bench', 'add', [1, 2]));
    const message = receive(callbackBytes);
    const callback = callbacks.get(message.callback[0]);
    callbacks.delete(message.callback[0]);
    callback(null, ...message.ok);
  }, calls);
  const server = ceiling.jsRate(() => {
    const message = receive(callBytes);
    const [id, iface] = message.call;
    api[iface].add(null, ...message.add, (error, result) => send(serde.compose('callback', id, undefined, 'ok', [result])));
  }, calls);
  const encodeEvent = ceiling.jsRate((i) => send(serde.compose('event', -1, 'bench', 'tick', [i, 'payload'])), events);
  const decodeEvent = ceiling.jsRate(() => {
    const message = receive(eventBytes);
    emitter.emit('tick', ...message.tick);
  }, events);
  return { pipelined: Math.min(client, server), events: Math.min(encodeEvent, decodeEvent) };
}

async function run({ rounds = Number(process.env.BENCH_ROUNDS || 3), report = console.log } = {}) {
  const lists = (keys) => Object.fromEntries(IMPLS.map((i) => [i, Object.fromEntries(keys.map((k) => [k, []]))]));
  const r = { net: lists(['p50', 'pipelined', 'events', 'rss']), ws: lists(['p50', 'pipelined', 'events']) };
  r.net.ceiling = { p50: [], pipelined: [], events: [] };
  r.ws.ceiling = r.net.ceiling;
  for (let n = 1; n <= rounds; n++) {
    const js = jsCeiling(COUNTS.net.pipelined, COUNTS.net.events);
    r.net.ceiling.pipelined.push(js.pipelined);
    r.net.ceiling.events.push(js.events);
    // The transport's, for a round trip: a call's bytes over TCP, Rust at both ends
    // (the WebSocket rows are held to it too).
    const call = Buffer.byteLength(serde.compose('call', 1000, 'bench', 'add', [1, 2])) + 1;
    r.net.ceiling.p50.push((await ceiling.pingPong(0, call, COUNTS.net.sequential)).p50);
    for (const impl of IMPLS) {
      const result = await round(impl);
      for (const transport of Object.keys(r)) {
        for (const k of Object.keys(result[transport])) r[transport][impl][k].push(result[transport][k]);
      }
    }
    process.stderr.write(`  jstp: round ${n}/${rounds}\r`);
  }
  const rows = compare(r.net, [
    ['sequential call p50 µs', 'p50', '<= 0.5x'],
    [`calls/s, ${IN_FLIGHT} in flight`, 'pipelined', '>= 5x'],
    ['server events/s', 'events', '>= 5x'],
    [`server RSS MB after ${COUNTS.net.events / 1000}k events`, 'rss', '<= 1.0x'],
  ]);
  print(report, `jstp: connkit/jstp vs @metarhia/jstp 2.3.0 over TCP (median of ${rounds} interleaved rounds)`, rows);
  const wsRows = compare(r.ws, [
    ['sequential call p50 µs', 'p50', '<= 0.8x'],
    [`calls/s, ${IN_FLIGHT} in flight`, 'pipelined', '>= 2x'],
    ['server events/s', 'events', '>= 2x'],
  ]);
  print(report, `jstp: connkit/jstp vs @metarhia/jstp 2.3.0 over WebSocket (median of ${rounds} interleaved rounds)`, wsRows);
  return [...rows, ...wsRows.map(([name, ...rest]) => [`ws: ${name}`, ...rest])];
}

module.exports = { run };
if (require.main === module) run();
