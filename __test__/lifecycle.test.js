'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const ck = require('..');
const { waitFor, listening, runNode, tmpSocket, until } = require('./helpers');

test('the process exits by itself once every connection and server is closed', async () => {
  const r = await runNode(`
    const ck = require('connkit');
    const server = ck.createServer({ framing: 'length' }, (c) => c.on('frame', (f) => c.write(f)));
    server.listen(0, '127.0.0.1', () => {
      const conn = ck.createConnection({ port: server.address().port, host: '127.0.0.1', framing: 'length' });
      conn.on('frame', () => { conn.end(); server.close(); });
      conn.write('ping');
    });
    process.on('exit', () => console.log('exited'));
  `);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /exited/);
  assert.ok(r.ms < 3000, `took ${r.ms} ms`);
});

test('a listening server keeps the process alive; unref() releases it', async () => {
  const kept = await runNode(
    `const s = require('connkit').createServer(); s.listen(0, '127.0.0.1', () => console.log('up'));`,
    { ms: 1500 },
  ).catch((err) => err);
  assert.match(String(kept.message), /did not exit within 1500 ms[\s\S]*up/);

  const released = await runNode(`
    const ck = require('connkit');
    // As with Node, the server's unref() does not cover the sockets it accepted.
    const server = ck.createServer((accepted) => accepted.unref());
    server.listen(0, '127.0.0.1', () => {
      const conn = ck.createConnection({ port: server.address().port, host: '127.0.0.1' });
      conn.on('connect', () => { conn.unref(); server.unref(); console.log('idle'); });
    });
  `);
  assert.equal(released.code, 0, released.stderr);
  assert.match(released.stdout, /idle/);
});

test('ref() after unref() keeps the process alive again', async () => {
  const r = await runNode(
    `const s = require('connkit').createServer(); s.listen(0, '127.0.0.1'); s.unref(); s.ref(); console.log('refd');`,
    { ms: 1500 },
  ).catch((err) => err);
  assert.match(String(r.message), /did not exit within 1500 ms/);
});

test('a child of a stdio connection that exits lets the process end naturally', async () => {
  const r = await runNode(`
    const ck = require('connkit');
    const conn = ck.createConnection({ command: process.execPath, args: ['-e', 'process.stdout.write("hi")'] });
    conn.on('data', (d) => console.log('data', String(d)));
    conn.on('exit', (code) => console.log('exit', code));
    conn.on('close', () => console.log('close'));
  `);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /data hi[\s\S]*exit 0[\s\S]*close/);
});

test('worker threads: connkit in a worker, terminate() during traffic, main carries on', async () => {
  const r = await runNode(`
    const { Worker } = require('worker_threads');
    const ck = require('connkit');
    const worker = new Worker(\`
      const ck = require('connkit');
      const { parentPort } = require('worker_threads');
      const server = ck.createServer({ framing: 'length' }, (c) => c.on('frame', (f) => c.write(f)));
      server.listen(0, '127.0.0.1', () => {
        const conn = ck.createConnection({ port: server.address().port, host: '127.0.0.1', framing: 'length' });
        let n = 0;
        conn.on('frame', () => { if (++n % 100 === 0) parentPort.postMessage(n); conn.write('again'); });
        for (let i = 0; i < 50; i++) conn.write('go');
      });
    \`, { eval: true });
    let seen = 0;
    worker.on('message', (n) => { seen = n; });
    worker.on('error', (e) => { console.error('worker error', e); process.exit(2); });
    setTimeout(async () => {
      await worker.terminate();
      // The main thread's own connkit still works after the worker is gone.
      const server = ck.createServer((c) => c.on('data', (d) => c.end(d)));
      server.listen(0, '127.0.0.1', () => {
        const conn = ck.createConnection({ port: server.address().port, host: '127.0.0.1' });
        conn.on('data', (d) => { console.log('main', String(d), 'worker frames', seen > 0); server.close(); });
        conn.write('ok');
      });
    }, 400);
  `);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /main ok worker frames true/);
});

test('a throwing listener surfaces as uncaughtException and loses nothing else', async () => {
  const r = await runNode(`
    const ck = require('connkit');
    const frames = [];
    const errors = [];
    process.on('uncaughtException', (e) => errors.push(e.message));
    const server = ck.createServer({ framing: 'length' }, (c) => { c.write('one'); c.write('two'); c.write('three'); });
    server.listen(0, '127.0.0.1', () => {
      const conn = ck.createConnection({ port: server.address().port, host: '127.0.0.1', framing: 'length' });
      conn.on('frame', (f) => {
        frames.push(String(f));
        if (frames.length === 1) throw new Error('listener blew up');
        if (frames.length === 3) setTimeout(() => {
          console.log(JSON.stringify({ frames, errors }));
          conn.destroy(); server.close();
        }, 20);
      });
    });
  `);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.frames, ['one', 'two', 'three']);
  assert.deepEqual(out.errors, ['listener blew up']);
});

test('an unhandled throwing listener crashes the process as Node would', async () => {
  const r = await runNode(`
    const ck = require('connkit');
    const server = ck.createServer((c) => c.write('x'));
    server.listen(0, '127.0.0.1', () => {
      ck.createConnection({ port: server.address().port, host: '127.0.0.1' }).on('data', () => { throw new Error('boom'); });
    });
  `);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error: boom/);
});

test('exit during traffic does not crash or hang', async () => {
  const r = await runNode(`
    const ck = require('connkit');
    const server = ck.createServer((c) => c.on('data', (d) => c.write(d)));
    server.listen(0, '127.0.0.1', () => {
      const conn = ck.createConnection({ port: server.address().port, host: '127.0.0.1' });
      const chunk = Buffer.alloc(65536);
      conn.on('data', () => conn.write(chunk));
      conn.write(chunk);
      setTimeout(() => process.exit(0), 200);
    });
  `);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.signal, null);
});

test("'close' is emitted exactly once, whatever is called", async () => {
  const server = ck.createServer((c) => c.on('error', () => {}));
  const { port } = await listening(server, 0, '127.0.0.1');
  const conn = ck.createConnection({ port, host: '127.0.0.1' });
  let closes = 0;
  conn.on('close', () => closes++);
  await waitFor(conn, 'connect');
  conn.end();
  conn.destroy();
  conn.destroy();
  conn.end();
  await until(() => closes > 0, 5000, 'close');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(closes, 1);
  server.close();
});

test('destroy() shuts the socket down at once: the peer sees it without GC', async () => {
  const path = tmpSocket();
  let peerClosedAt = 0;
  const peer = net.createServer((s) => {
    s.resume();
    s.on('close', () => (peerClosedAt = Date.now()));
  });
  await new Promise((r) => peer.listen(path, r));
  const conn = ck.createConnection({ path });
  await waitFor(conn, 'connect');
  const destroyedAt = Date.now();
  conn.destroy();
  await until(() => peerClosedAt > 0, 2000, 'peer close');
  assert.ok(peerClosedAt - destroyedAt < 500, `peer saw the close after ${peerClosedAt - destroyedAt} ms`);
  assert.ok(conn, 'the connection object is still referenced');
  peer.close();
});

test('idle timeout: a timeout event after inactivity, re-armed by traffic', async () => {
  const server = ck.createServer((c) => c.on('data', (d) => c.write(d)));
  const { port } = await listening(server, 0, '127.0.0.1');
  const conn = ck.createConnection({ port, host: '127.0.0.1', timeout: 80 });
  await waitFor(conn, 'connect');
  const started = Date.now();
  await waitFor(conn, 'timeout');
  assert.ok(Date.now() - started >= 60);
  conn.setTimeout(0);
  conn.setTimeout(50, () => conn.destroy());
  await waitFor(conn, 'close');
  server.close();
});

test('idle timeout: reads made on the JS thread count as traffic', async () => {
  const path = tmpSocket();
  let peer;
  const server = net.createServer((s) => (peer = s));
  await new Promise((r) => server.listen(path, r));
  const conn = ck.createConnection({ path, timeout: 120 });
  let timeouts = 0;
  conn.on('timeout', () => timeouts++);
  await waitFor(conn, 'connect');
  await until(() => peer, 2000, 'peer');
  // Data every 30 ms for ~400 ms: never idle for 120 ms.
  for (let i = 0; i < 13; i++) {
    peer.write('tick');
    await new Promise((r) => setTimeout(r, 30));
  }
  assert.equal(timeouts, 0);
  await waitFor(conn, 'timeout', 2000);
  conn.destroy();
  peer.destroy();
  server.close();
});

test('connections paused when they end leak no descriptors (1,000 accept/drop cycles)', async () => {
  const fds = () => fs.readdirSync('/proc/self/fd').length;
  const server = ck.createServer((conn) => {
    conn.pause(); // a paused reader never sees EOF itself
    conn.on('error', () => {});
    conn.destroy();
  });
  const { port } = await listening(server, 0, '127.0.0.1');
  const cycle = () =>
    new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.on('close', resolve);
      s.resume();
    });
  for (let i = 0; i < 50; i++) await cycle(); // warm up
  await new Promise((r) => setTimeout(r, 50));
  const before = fds();
  for (let i = 0; i < 1000; i++) await cycle();
  await new Promise((r) => setTimeout(r, 100));
  const after = fds();
  assert.ok(after - before < 10, `descriptors grew from ${before} to ${after}`);
  server.close();
});

test('end() during a long backoff wait closes at once', async () => {
  const probe = net.createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address();
  await new Promise((r) => probe.close(r));
  const client = new ck.Client({ port, host: '127.0.0.1', reconnect: { initialDelay: 30000, jitter: 'none' } });
  await waitFor(client, 'reconnecting');
  const started = Date.now();
  const closed = waitFor(client, 'close', 2000);
  client.end();
  assert.deepEqual(await closed, [false]);
  assert.ok(Date.now() - started < 1000);
});

test('destroy() reaches a child that ignores its stdin', async () => {
  const conn = ck.createConnection({ command: process.execPath, args: ['-e', 'process.stdin.destroy(); setInterval(() => {}, 1000)'] });
  conn.on('error', () => {}); // EPIPE: the child closed its stdin
  await waitFor(conn, 'connect');
  await new Promise((r) => setTimeout(r, 200));
  conn.write('nobody reads this');
  await new Promise((r) => setTimeout(r, 100));
  const exited = waitFor(conn, 'exit');
  const closed = waitFor(conn, 'close', 3000);
  conn.destroy();
  const [, signal] = await exited;
  assert.equal(signal, 'SIGKILL');
  await closed;
});

test("while paused, 'close' waits behind held 'data' and 'end', as on a Node socket", async () => {
  const server = net.createServer((s) => s.end('reply'));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const conn = ck.createConnection({ port: server.address().port, host: '127.0.0.1' });
  const order = [];
  conn.on('data', (d) => {
    order.push(`data:${d}`);
    conn.pause();
  });
  conn.on('end', () => order.push('end'));
  conn.on('close', () => order.push('close'));
  await until(() => order.length === 1, 5000, 'data');
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(order, ['data:reply'], 'nothing overtakes while paused');
  conn.resume();
  await until(() => order.length === 3, 5000, 'end and close');
  assert.deepEqual(order, ['data:reply', 'end', 'close']);
  server.close();
});

test('worker terminated with HTTP requests in flight: both sides of each close at once', async () => {
  const { Worker } = require('node:worker_threads');
  // A connkit WebServer in the worker that never gets to answer: the client gets 503.
  const web = new Worker(`
    const ck = require(${JSON.stringify(require.resolve('..'))});
    const { parentPort } = require('node:worker_threads');
    const web = new ck.WebServer({ websocket: true });
    web.on('request', () => parentPort.postMessage('request'));
    web.listen(0, '127.0.0.1', () => parentPort.postMessage(web.address().port));
  `, { eval: true });
  const [port] = await waitFor(web, 'message');
  const s = net.connect(port, '127.0.0.1', () => s.write('POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi'));
  let answer = '';
  s.on('data', (d) => (answer += d));
  await waitFor(web, 'message');
  const webClosed = waitFor(s, 'close', 3000); // it may close before terminate() resolves
  await web.terminate();
  await webClosed.catch((e) => assert.fail(`web: ${e.message}; got ${JSON.stringify(answer)}`));
  assert.match(answer, /^HTTP\/1\.1 503/);
  // A connkit HttpClient in the worker whose request the server never answers (a
  // plain socket server: Node's http server would keep a half-open socket waiting
  // to answer, and never emit 'close').
  let sock = null;
  const server = net.createServer((socket) => {
    socket.once('data', () => (sock = socket));
  });
  await listening(server, 0, '127.0.0.1');
  const client = new Worker(`
    const ck = require(${JSON.stringify(require.resolve('..'))});
    const { workerData } = require('node:worker_threads');
    new ck.HttpClient({ host: '127.0.0.1', port: workerData, requestPath: '/' }).request('x', () => {});
  `, { eval: true, workerData: server.address().port });
  await until(() => sock !== null, 3000, 'the request');
  const clientClosed = waitFor(sock, 'close', 3000);
  await client.terminate();
  await clientClosed.catch((e) => assert.fail(`client: ${e.message}`));
  await new Promise((r) => server.close(r));
});

test("hooks: a face's handler replaces each default, in the order of the connection's life", async () => {
  const { HOOKS, CONTROL } = require('../lib/connection/hooks');
  let sessions = 0;
  const server = net.createServer((s) => {
    if (++sessions === 1) setTimeout(() => s.resetAndDestroy(), 20);
    else s.resume();
  });
  const { port } = await listening(server, 0, '127.0.0.1');
  const calls = [];
  let lost;
  const handler = {
    end(control) {
      calls.push('end');
      control.stop();
    },
    reconnecting(control, { delay, attempt }) {
      calls.push(`reconnecting ${typeof delay} ${typeof attempt}`);
    },
    disconnect(control, error) {
      lost = error;
      calls.push(`disconnect ${error.code} connecting=${control.connection.connecting}`);
    },
    sessionEnd(control, error) {
      calls.push(`sessionEnd ${error === lost}`);
    },
    close(control, hadError, waiting) {
      calls.push(`close ${hadError} ${waiting} closed=${control.closed}`);
      control.emitClose(hadError);
    },
  };
  const client = new ck.Client({ port, host: '127.0.0.1', reconnect: { initialDelay: 10, jitter: 'none' }, [HOOKS]: handler });
  assert.equal(client[CONTROL].connection, client);
  client.on('error', () => {});
  const emitted = [];
  for (const e of ['connect', 'disconnect', 'reconnecting', 'close']) client.on(e, () => emitted.push(e));
  await until(() => emitted.filter((e) => e === 'connect').length === 2, 5000, 'the reconnect');
  client.end();
  await until(() => emitted.includes('close'), 5000, 'close');
  assert.deepEqual(calls, [
    'disconnect ECONNRESET connecting=true',
    'sessionEnd true',
    'reconnecting number number', // the wait after a loss: no second sessionEnd
    'end',
    'close false false closed=true',
  ]);
  assert.deepEqual(emitted, ['connect', 'connect', 'close'], "the handler's hooks emitted no 'disconnect' or 'reconnecting'");
  server.close();
});

test('hooks: a failed attempt ends a session too; stopping while waiting closes with waiting=true', async () => {
  const { HOOKS, CONTROL } = require('../lib/connection/hooks');
  const probe = net.createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address();
  await new Promise((r) => probe.close(r));
  const calls = [];
  const handler = {
    reconnecting() {
      calls.push('reconnecting');
    },
    sessionEnd(control, error) {
      calls.push(`sessionEnd ${error.code}`);
    },
    destroy(control, err) {
      calls.push(`destroy ${err.message}`);
    },
    close(control, hadError, waiting) {
      calls.push(`close ${waiting}`);
    },
  };
  const client = new ck.Client({ port, host: '127.0.0.1', reconnect: { initialDelay: 30000, jitter: 'none' }, [HOOKS]: handler });
  let closes = 0;
  client.on('close', () => closes++);
  await until(() => calls.length === 2, 5000, 'the failed attempt');
  assert.equal(client.destroy(new Error('ignored')), client);
  client[CONTROL].stop();
  await until(() => calls.length === 4, 2000, 'the close');
  assert.deepEqual(calls, ['reconnecting', 'sessionEnd ECONNREFUSED', 'destroy ignored', 'close true']);
  assert.equal(client.readyState, 'closed');
  assert.equal(closes, 0, "the close hook said not to emit 'close'");
  assert.throws(() => new ck.Client({ port, [HOOKS]: { end: 'stop' } }), { code: 'ERR_INVALID_ARG_TYPE', message: /hooks\.end/ });
});
