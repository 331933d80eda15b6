'use strict';

// connkit/connman against connman 1.0.0: one client process per case and side, the
// same client code (bench/connman-peer.js), the same Node echo server in a process of
// its own; rounds are interleaved.

const { startChild } = require('./child');
const { compare, print } = require('./table');
const ceiling = require('./ceiling');

const IMPLS = ['connkit', 'original'];
const BULK = Number(process.env.BENCH_CONNMAN_BULK || 4096); // 64 KB writes (256 MB)
const SMALL = Number(process.env.BENCH_CONNMAN_SMALL || 1_000_000); // 100 B messages
const OUTAGE = 250; // ms the server is down in the reconnect case
const WINDOW = 4 * 1024 * 1024; // bytes in flight at most, as bench/connman-peer.js

const field = (line, i) => Number(line.split(' ')[i]);

/** One client run through an echo server: Node's (echo-peer.js), or with `rust` the
 * ceiling's, which a client cannot saturate, so the client's own pace shows. */
async function echo(impl, mode, count, rust = false) {
  const server = rust ? await ceiling.echoServer() : startChild('echo-peer.js', []);
  const port = rust ? server.port : field(await server.expect('up'), 1);
  const client = startChild('connman-peer.js', [impl, port, mode, count]);
  await client.expect('ready');
  client.send('go');
  const done = await client.expect('done');
  client.stop();
  server.stop();
  return { seconds: field(done, 1), rss: field(done, 2) };
}

/** From the server being back up to onConnect, after an outage of OUTAGE ms. */
async function reconnect(impl) {
  const server = startChild('echo-peer.js', []);
  const port = field(await server.expect('up'), 1);
  const client = startChild('connman-peer.js', [impl, port, 'reconnect', 0]);
  await client.expect('open');
  server.send('down');
  await server.expect('down');
  await new Promise((r) => setTimeout(r, OUTAGE));
  server.send('up');
  const upAt = field(await server.expect('up'), 2);
  const openAt = field(await client.expect('open'), 1);
  client.stop();
  server.stop();
  return openAt - upAt;
}

async function run({ rounds = Number(process.env.BENCH_ROUNDS || 3), report = console.log } = {}) {
  const r = Object.fromEntries(IMPLS.map((i) => [i, { bulk: [], bulkRust: [], small: [], bulkRss: [], rss: [], back: [] }]));
  r.ceiling = { bulk: [], bulkRust: [], small: [] };
  for (let round = 1; round <= rounds; round++) {
    // The transport's: the same writes through an echo over TCP, Rust at both ends.
    r.ceiling.bulk.push((BULK * 64 * 1024) / 1e6 / (await ceiling.stream(64 * 1024, BULK, WINDOW)));
    r.ceiling.bulkRust.push(r.ceiling.bulk[r.ceiling.bulk.length - 1]);
    r.ceiling.small.push(SMALL / (await ceiling.stream(100, SMALL, WINDOW)));
    for (const impl of IMPLS) {
      const bulk = await echo(impl, 'bulk', BULK);
      r[impl].bulk.push((BULK * 64 * 1024) / 1e6 / bulk.seconds);
      r[impl].bulkRss.push(bulk.rss);
      r[impl].bulkRust.push((BULK * 64 * 1024) / 1e6 / (await echo(impl, 'bulk', BULK, true)).seconds);
      const small = await echo(impl, 'small', SMALL);
      r[impl].small.push(SMALL / small.seconds);
      r[impl].rss.push(small.rss);
      r[impl].back.push(await reconnect(impl));
    }
    process.stderr.write(`  connman: round ${round}/${rounds}\r`);
  }
  const rows = compare(r, [
    ['64 KB echo, MB/s', 'bulk', '>= 1.5x'],
    ['64 KB echo via a Rust echo server, MB/s', 'bulkRust', '>= 1.3x'],
    ['100 B echoed messages/s', 'small', '>= 2x'],
    [`reconnect after ${OUTAGE} ms outage, ms`, 'back', '1.0x ± 10%'],
    ['peak RSS MB (64 KB case)', 'bulkRss', '<= 1.0x'],
    ['peak RSS MB (100 B case)', 'rss', '<= 1.0x'],
  ]);
  print(report, `connman: connkit/connman vs connman 1.0.0 (median of ${rounds} interleaved rounds)`, rows);
  return rows;
}

module.exports = { run };
if (require.main === module) run();
