'use strict';

// One connman client in its own process, the same code for both implementations
// (only the require differs): `bulk` echoes 64 KB writes, `small` echoes 100 B
// messages written one by one in rounds of 1000 per tick, `reconnect` reports each
// connect's time. Prints "ready", runs on "go", then "done <seconds> <peak rss>".

const [impl, port, mode, total] = process.argv.slice(2);
const cm = require(impl === 'connkit' ? 'connkit/connman' : 'connman');

const SIZE = mode === 'bulk' ? 64 * 1024 : 100;
const COUNT = Number(total);
const WINDOW = 4 * 1024 * 1024; // bytes in flight at most
const ROUND = 1000;
const chunk = Buffer.alloc(SIZE, 'x');

let sock;
let sent = 0;
let received = 0;
let started;
let pumping = false;
let draining = false;

function pump() {
  pumping = false;
  if (draining) return;
  while (sent < COUNT && (sent - received / SIZE) * SIZE < WINDOW) {
    const n = Math.min(mode === 'bulk' ? 1 : ROUND, COUNT - sent);
    let ok = true;
    for (let i = 0; i < n; i++) ok = sock.write(chunk);
    sent += n;
    if (!ok) {
      draining = true;
      return sock.once('drain', () => {
        draining = false;
        schedule();
      });
    }
    if (mode !== 'bulk') return schedule(); // one round per tick
  }
}

function schedule() {
  if (!pumping) {
    pumping = true;
    setImmediate(pump);
  }
}

function onData(buf) {
  received += buf.length;
  if (received === COUNT * SIZE) {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(`done ${seconds} ${process.resourceUsage().maxRSS * 1024}`);
  } else if (started) schedule();
}

function onConnect(s) {
  sock = s;
  console.log(mode === 'reconnect' ? `open ${Date.now()}` : 'ready');
}

cm.connect(Number(port), '127.0.0.1', onConnect, onData, () => {});

process.stdin.on('data', (d) => {
  if (String(d).includes('go')) {
    started = process.hrtime.bigint();
    schedule();
  }
});
process.stdin.on('end', () => {
  cm.disconnectAll();
  process.exit(0);
});
