'use strict';

// The many-connections benchmark's client: opens `count` TCP connections to `port`,
// one after another (each once the previous is connected), as many clients starting
// would, and keeps them open. Prints "done <ms>" (or "failed <code>").

const net = require('node:net');

const [port, count] = process.argv.slice(2).map(Number);
const sockets = [];
const started = process.hrtime.bigint();
function next() {
  if (sockets.length === count) {
    console.log(`done ${Number(process.hrtime.bigint() - started) / 1e6}`);
    return;
  }
  const socket = net.connect(port, '127.0.0.1', next);
  socket.on('error', (err) => console.log(`failed ${err.code}`));
  sockets.push(socket);
}
next();
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
