'use strict';

// connkit/jstp against @metarhia/jstp 2.3.0 over TCP: the server runs in its own
// process with the same implementation as the client; rounds are interleaved.

const { startChild } = require('./child');
const { compare, print } = require('./table');

const IMPLS = ['connkit', 'original'];
const SEQUENTIAL = Number(process.env.BENCH_JSTP_SEQUENTIAL || 5_000);
const PIPELINED = Number(process.env.BENCH_JSTP_PIPELINED || 50_000);
const IN_FLIGHT = 100;
const EVENTS = Number(process.env.BENCH_JSTP_EVENTS || 100_000);

const lib = (impl) => require(impl === 'connkit' ? 'connkit/jstp' : '@metarhia/jstp');

function connect(impl, port) {
  return new Promise((resolve, reject) => {
    const client = { reconnector: () => {} };
    lib(impl).net.connectAndInspect('bench', client, ['bench'], port, '127.0.0.1', (error, connection, proxies) =>
      error ? reject(error) : resolve({ connection, bench: proxies.bench }),
    );
  });
}

const add = (bench) => new Promise((resolve) => bench.add(1, 2, resolve));

async function sequential(bench) {
  const samples = new Float64Array(SEQUENTIAL);
  for (let i = -500; i < SEQUENTIAL; i++) {
    const t0 = process.hrtime.bigint();
    await add(bench);
    if (i >= 0) samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  samples.sort();
  return samples[Math.floor(SEQUENTIAL / 2)];
}

/** Calls/s with IN_FLIGHT calls outstanding at all times. */
function pipelined(bench) {
  return new Promise((resolve) => {
    let sent = 0;
    let done = 0;
    const started = process.hrtime.bigint();
    const next = () => {
      if (++done === PIPELINED) resolve(PIPELINED / (Number(process.hrtime.bigint() - started) / 1e9));
      else if (sent < PIPELINED) send();
    };
    const send = () => {
      sent++;
      bench.add(1, 2, next);
    };
    for (let i = 0; i < IN_FLIGHT; i++) send();
  });
}

/** Server events/s received by the client. */
function events(bench) {
  return new Promise((resolve) => {
    let seen = 0;
    const started = process.hrtime.bigint();
    const onTick = () => {
      if (++seen === EVENTS) {
        bench.removeListener('tick', onTick);
        resolve(EVENTS / (Number(process.hrtime.bigint() - started) / 1e9));
      }
    };
    bench.on('tick', onTick);
    bench.flood(EVENTS, () => {});
  });
}

async function round(impl) {
  const server = startChild('jstp-peer.js', [impl]);
  const port = Number((await server.expect('ready')).split(' ')[1]);
  const { connection, bench } = await connect(impl, port);
  const result = { p50: await sequential(bench), pipelined: await pipelined(bench), events: await events(bench) };
  server.send('report');
  result.rss = Number((await server.expect('rss')).split(' ')[1]);
  connection.close();
  server.stop();
  return result;
}

async function run({ rounds = Number(process.env.BENCH_ROUNDS || 3), report = console.log } = {}) {
  const r = Object.fromEntries(IMPLS.map((i) => [i, { p50: [], pipelined: [], events: [], rss: [] }]));
  for (let n = 1; n <= rounds; n++) {
    for (const impl of IMPLS) {
      const result = await round(impl);
      for (const k of Object.keys(result)) r[impl][k].push(result[k]);
    }
    process.stderr.write(`  jstp: round ${n}/${rounds}\r`);
  }
  const rows = compare(r, [
    ['sequential call p50 µs', 'p50', '<= 0.5x'],
    [`calls/s, ${IN_FLIGHT} in flight`, 'pipelined', '>= 5x'],
    ['server events/s', 'events', '>= 5x'],
    [`server RSS MB after ${EVENTS / 1000}k events`, 'rss', '<= 1.0x'],
  ]);
  print(report, `jstp: connkit/jstp vs @metarhia/jstp 2.3.0 over TCP (median of ${rounds} interleaved rounds)`, rows);
  return rows;
}

module.exports = { run };
if (require.main === module) run();
