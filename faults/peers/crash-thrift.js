'use strict';

// A thrift server (connkit/thrift or the original; framed, binary) for the demo's
// Calc: add(a, b) logs a and answers a + b a few ms later, so a kill -9 finds calls
// in flight. Args: connkit|original port logFile.

const path = require('node:path');
const { peerReady } = require('../lib/peer');
const { deliveryLog } = require('./crash-common');

const [which, port, logFile] = process.argv.slice(2);
const thrift = require(which === 'original' ? 'thrift' : 'connkit/thrift');
const Calc = require(path.join(__dirname, '..', '..', 'demo', 'gen-nodejs', 'Calc'));
const logged = deliveryLog(logFile);
const ANSWER_MS = 3;

const handler = {
  add(a, b, result) {
    logged(a);
    setTimeout(() => result(null, a + b), ANSWER_MS);
  },
};
const server = thrift.createServer(Calc, handler, { transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol });
server.on('error', (e) => {
  console.error(`crash-thrift: ${e.code || e.message}`);
  process.exit(1);
});
server.listen(Number(port), '127.0.0.1', () => peerReady({ port: Number(port) }));
