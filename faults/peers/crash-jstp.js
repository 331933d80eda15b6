'use strict';

// A JSTP server (connkit/jstp or the original) whose calc.add(i) logs i and answers
// i + 1 a few ms later, so a kill -9 finds calls in flight. Sessions live in this
// process's memory only: they die with it. Args: connkit|original port logFile.

const { peerReady } = require('../lib/peer');
const { deliveryLog, requireJstp } = require('./crash-common');

const [which, port, logFile] = process.argv.slice(2);
const jstp = requireJstp(which);
const logged = deliveryLog(logFile);
const ANSWER_MS = 3;

const app = new jstp.Application('crash', {
  calc: {
    add(connection, i, callback) {
      logged(i);
      setTimeout(() => callback(null, i + 1), ANSWER_MS);
    },
  },
});
const server = jstp.net.createServer({ applications: [app] });
server.on('error', (e) => {
  console.error(`crash-jstp: ${e.code || e.message}`);
  process.exit(1);
});
server.listen(Number(port), '127.0.0.1', () => peerReady({ port: Number(port) }));
