'use strict';

// A peer that floods: connects to 127.0.0.1:PORT (TLS if asked, trusting anything:
// it is the test's own server), or to a unix socket and writes 64 KiB chunks as fast as the socket takes
// them, counting the bytes flushed to its kernel (write callbacks). It samples that
// count every 10 ms, so the scenario can tell how much it managed to send during a
// window of its own clock.
//
//   node slow-flooder.js PORT tcp|tls  |  node slow-flooder.js PATH unix
// IPC in: { stop: true } — stop writing, end, and answer { total, samples }.

const net = require('node:net');
const tls = require('node:tls');
const { peerReady } = require('../lib/peer');

const [target, kind] = process.argv.slice(2);
const chunk = Buffer.alloc(64 * 1024, 0x5a);
const socket =
  kind === 'tls'
    ? tls.connect({ port: Number(target), host: '127.0.0.1', rejectUnauthorized: false })
    : kind === 'unix'
      ? net.connect(target)
      : net.connect(Number(target), '127.0.0.1');
let flushed = 0;
let stopped = false;
const samples = []; // [ms since epoch, bytes flushed]
const MAX_SAMPLES = 20_000; // 200 s of samples at most

const sampler = setInterval(() => {
  if (samples.length < MAX_SAMPLES) samples.push([Date.now(), flushed]);
}, 10);

function pump() {
  while (!stopped) {
    const ok = socket.write(chunk, (err) => {
      if (!err) flushed += chunk.length;
    });
    if (!ok) {
      socket.once('drain', pump);
      return;
    }
  }
}

socket.on('error', () => {}); // the scenario's end may cut it
socket.once(kind === 'tls' ? 'secureConnect' : 'connect', () => {
  peerReady({ pid: process.pid });
  pump();
});

process.on('message', (m) => {
  if (!m || !m.stop) return;
  stopped = true;
  socket.end(() => {
    clearInterval(sampler);
    samples.push([Date.now(), flushed]);
    process.send({ total: flushed, samples });
  });
});
