'use strict';

// A line echo server on Node's own net (neutral ground for connman and the
// original): logs each line and echoes it. Args: port logFile.

const net = require('node:net');
const { peerReady } = require('../lib/peer');
const { deliveryLog } = require('./crash-common');

const [port, logFile] = process.argv.slice(2);
const logged = deliveryLog(logFile);
const server = net.createServer((socket) => {
  socket.on('error', () => {});
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    const lines = (text + chunk).split('\n');
    text = lines.pop();
    for (const line of lines) {
      logged(line);
      socket.write(`${line}\n`);
    }
  });
});
server.on('error', (e) => {
  console.error(`crash-lines: ${e.code || e.message}`);
  process.exit(1);
});
server.listen(Number(port), '127.0.0.1', () => peerReady({ port: Number(port) }));
