'use strict';

// A server at its limits, as Node's: the kernel's backlog, descriptors per connection,
// and running out of descriptors at accept.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const ck = require('..');
const { waitFor, until, tmpSocket } = require('./helpers');
const { fds } = require('../faults/lib/probe');

/** The backlog the kernel holds for a listener (ss: Send-Q of a listening socket). */
function backlogOf(server) {
  const address = server.address();
  const line = typeof address === 'string'
    ? execFileSync('ss', ['-Hlx', 'src', address], { encoding: 'utf8' })
    : execFileSync('ss', ['-Hltn', `sport = :${address.port}`], { encoding: 'utf8' });
  return Number(line.trim().split(/\s+/)[typeof address === 'string' ? 3 : 2]);
}

async function listening(...args) {
  const server = ck.createServer(() => {});
  server.listen(...args);
  await waitFor(server, 'listening');
  return server;
}

test("backlog: Node's 511 by default, and as listen() is given it", async () => {
  const servers = [
    [await listening(0, '127.0.0.1'), 511],
    [await listening(0, '127.0.0.1', 100), 100],
    [await listening(0, 64), 64],
    [await listening({ port: 0, host: '127.0.0.1', backlog: 32 }), 32],
    [await listening(tmpSocket(), 16), 16],
  ];
  for (const [server, expected] of servers) assert.equal(backlogOf(server), expected, JSON.stringify(server.address()));
  await Promise.all(servers.map(([server]) => new Promise((resolve) => server.close(resolve))));
  assert.throws(() => ck.createServer().listen({ port: 0, backlog: -1 }), { code: 'ERR_INVALID_ARG_VALUE' });
});

test('an accepted connection holds one descriptor, as in Node', async () => {
  const accepted = [];
  const server = ck.createServer((conn) => accepted.push(conn));
  server.listen(0, '127.0.0.1');
  await waitFor(server, 'listening');
  const before = fds();
  const clients = [];
  for (let i = 0; i < 50; i++) {
    const client = net.connect(server.address().port, '127.0.0.1');
    await waitFor(client, 'connect');
    clients.push(client);
  }
  await until(() => accepted.length === 50, 5000, 'accepted');
  // Each accepted connection's reader has attached by the time it can read.
  await Promise.all(accepted.map((conn, i) => {
    const echoed = waitFor(clients[i], 'data');
    conn.on('data', (d) => conn.write(d));
    clients[i].write('x');
    return echoed;
  }));
  // 50 client sockets here, and 50 accepted ones.
  assert.equal(fds() - before, 100);
  for (const client of clients) client.destroy();
  await new Promise((resolve) => server.close(resolve));
});

test('out of descriptors at accept: one error, the waiting clients dropped and told, then accepting again', async () => {
  // The server in a process of its own, whose descriptor limit it lowers itself once
  // listening, so that this process's clients are not limited.
  const script = `
    const { execFileSync } = require('node:child_process');
    const fs = require('node:fs');
    const ck = require(${JSON.stringify(path.join(__dirname, '..'))});
    const seen = { accepted: 0, drops: 0, errors: [] };
    const conns = [];
    const server = ck.createServer((conn) => { seen.accepted++; conns.push(conn); conn.on('error', () => {}); });
    server.on('drop', () => seen.drops++);
    server.on('error', (err) => seen.errors.push(err.code + ' ' + err.syscall));
    server.listen(0, '127.0.0.1', () => {
      const limit = fs.readdirSync('/proc/self/fd').length + 10;
      execFileSync('prlimit', ['--pid', String(process.pid), '--nofile=' + limit + ':' + limit]);
      console.log('port ' + server.address().port);
    });
    process.stdin.on('data', (d) => {
      if (String(d).includes('free')) for (const conn of conns.splice(0)) conn.destroy();
      console.log('seen ' + JSON.stringify(seen));
    });
  `;
  const child = require('node:child_process').spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  child.stdout.on('data', (d) => lines.push(...String(d).trim().split('\n')));
  const line = async (word) => {
    await until(() => lines.some((l) => l.startsWith(word)), 10000, word);
    return lines.splice(lines.findIndex((l) => l.startsWith(word)), 1)[0].slice(word.length + 1);
  };
  try {
    const port = Number(await line('port'));
    const clients = [];
    const closed = [];
    for (let i = 0; i < 30; i++) {
      const client = net.connect(port, '127.0.0.1');
      client.on('error', () => {});
      client.on('close', () => closed.push(i));
      await waitFor(client, 'connect');
      clients.push(client);
    }
    // Those past the limit are accepted and closed at once: their clients hear it.
    // (Each client is connected once the kernel queued it; the server takes it after.)
    const stats = async () => {
      child.stdin.write('stats\n');
      return JSON.parse(await line('seen'));
    };
    let seen = await stats();
    for (let tries = 0; seen.accepted + seen.drops < 30 && tries < 250; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen = await stats();
    }
    assert.deepEqual(seen.errors, ['EMFILE accept']);
    assert.ok(seen.accepted > 0 && seen.drops > 0, JSON.stringify(seen));
    assert.equal(seen.accepted + seen.drops, 30, JSON.stringify(seen));
    await until(() => closed.length === seen.drops, 5000, 'every dropped client closed');

    // With descriptors free again, the next client is accepted.
    child.stdin.write('free\n');
    await line('seen');
    const next = net.connect(port, '127.0.0.1');
    await waitFor(next, 'connect');
    for (let tries = 0; (await stats()).accepted !== seen.accepted + 1; tries++) {
      assert.ok(tries < 250, 'accepted again');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    next.destroy();
    for (const client of clients) client.destroy();
  } finally {
    child.kill();
  }
});

