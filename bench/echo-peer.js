'use strict';

// An echo server in its own process for the connman benchmarks (Node `net`, the same
// for both sides). Commands on stdin: "down" closes the listener and every socket,
// "up" listens again on the same port; each answers with the time it took effect.

const net = require('node:net');

const sockets = new Set();
const server = net.createServer((c) => {
  sockets.add(c);
  c.on('close', () => sockets.delete(c));
  c.on('error', () => {});
  c.pipe(c);
});
let port = 0;

function up() {
  server.listen(port, '127.0.0.1', () => {
    port = server.address().port;
    console.log(`up ${port} ${Date.now()}`);
  });
}

let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const cmd = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    if (cmd === 'down') {
      server.close();
      for (const c of sockets) c.destroy();
      console.log(`down ${Date.now()}`);
    } else if (cmd === 'up') up();
  }
});
process.stdin.on('end', () => process.exit(0));
up();
