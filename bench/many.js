'use strict';

// Many idle connections: `count` TCP clients connect one after another to a server in
// another process, a connkit `createServer` and a Node `net` server in turn. Reported
// per count: the time until the server had accepted them all, its RSS growth per
// connection, and its descriptors per connection. Counts are BENCH_MANY (default
// 1000,10000,50000), each capped by the descriptor limit a process gets here (Node
// raises its soft limit to the hard one; a process cannot raise the hard one).

const { execFileSync } = require('node:child_process');
const { startChild } = require('./child');
const { print } = require('./table');

const IMPLS = ['connkit', 'node'];
const COUNTS = (process.env.BENCH_MANY || '1000,10000,50000').split(',').map(Number);
// Descriptors the server needs besides its connections (stdio, the loop, the addon).
const SPARE = 200;

const hardLimit = () => Number(execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()) || Infinity;
const field = (line, i) => Number(line.split(' ')[i]);
const stats = async (server) => {
  server.send('stats');
  const line = await server.expect('stats');
  return { accepted: field(line, 1), rss: field(line, 2), fds: field(line, 3) };
};

async function once(impl, count) {
  const server = startChild('many-peer.js', [impl]);
  const port = field(await server.expect('up'), 1);
  const before = await stats(server);
  const started = process.hrtime.bigint();
  const client = startChild('many-client.js', [port, count]);
  let after = before;
  // Polled until every connection is accepted, or 60 s.
  while (after.accepted < count && process.hrtime.bigint() - started < 60_000_000_000n) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    after = await stats(server);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  client.stop();
  server.stop();
  if (after.accepted < count) throw new Error(`many: ${impl} accepted ${after.accepted} of ${count} in 60 s`);
  return { ms, rssPerConn: (after.rss - before.rss) / count, fdsPerConn: (after.fds - before.fds) / count };
}

async function run({ report = console.log } = {}) {
  const limit = hardLimit();
  const rows = [];
  const notes = [];
  for (const asked of COUNTS) {
    const count = Math.min(asked, Math.floor((limit - SPARE) / 1000) * 1000);
    if (count < asked) notes.push(`${asked.toLocaleString('en-US')} asked: ${count.toLocaleString('en-US')} run, the hard descriptor limit here being ${limit.toLocaleString('en-US')}`);
    const r = {};
    for (const impl of IMPLS) r[impl] = await once(impl, count);
    process.stderr.write(`  many: ${count} connections\r`);
    const n = count.toLocaleString('en-US');
    rows.push(
      [`${n}: accepted all, ms`, r.connkit.ms, r.node.ms, r.connkit.ms / r.node.ms, '<= 1.0x'],
      [`${n}: memory (RSS) per connection, KB`, r.connkit.rssPerConn / 1024, r.node.rssPerConn / 1024, r.connkit.rssPerConn / r.node.rssPerConn, '<= 1.0x'],
      [`${n}: descriptors per connection`, r.connkit.fdsPerConn, r.node.fdsPerConn, r.connkit.fdsPerConn / r.node.fdsPerConn, '<= 1.0x'],
    );
  }
  print(report, 'many: idle TCP connections accepted by a server in another process, one after another (one round)', rows, 'node net');
  for (const note of notes) report(`note: ${note}`);
  return rows;
}

module.exports = { run };
if (require.main === module) run();
