'use strict';

// A connkit server (length framing) that logs and echoes each frame: the server the
// crash scenario kills -9 and starts again. Args: port logFile.

const { createServer } = require('../..');
const { peerReady } = require('../lib/peer');
const { deliveryLog } = require('./crash-common');

const [port, logFile] = process.argv.slice(2);
const logged = deliveryLog(logFile);
const server = createServer({ framing: 'length' }, (conn) => {
  conn.on('error', () => {});
  conn.on('frame', (frame) => {
    logged(frame.toString());
    conn.write(frame);
  });
});
server.on('error', (e) => {
  console.error(`crash-core: ${e.code || e.message}`);
  process.exit(1);
});
server.listen(Number(port), '127.0.0.1', () => peerReady({ port: Number(port) }));
