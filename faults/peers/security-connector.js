'use strict';

// A peer that opens many connections at once to 127.0.0.1:PORT and holds them, for
// the connection cap check: on { open: n } it dials n connections and answers
// { opened, closed } once each is connected or refused; on { counts: true } it says
// how many are still open and how many the server closed.
//
//   node security-connector.js PORT

const net = require('node:net');
const { peerReady } = require('../lib/peer');

const port = Number(process.argv[2]);
const sockets = [];
let opened = 0;
let failed = 0;
let closedByServer = 0;

process.on('message', (m) => {
  if (m && m.open) {
    let settled = 0;
    for (let i = 0; i < m.open; i++) {
      const s = net.connect(port, '127.0.0.1');
      sockets.push(s);
      let counted = false;
      const settle = () => {
        if (counted) return;
        counted = true;
        if (++settled === m.open) process.send({ opened, failed });
      };
      s.on('connect', () => {
        opened++;
        settle();
      });
      s.on('error', () => {
        failed++;
        settle();
      });
      s.on('close', () => closedByServer++);
    }
  } else if (m && m.counts) {
    process.send({ open: sockets.filter((s) => !s.destroyed).length, closedByServer });
  }
});

peerReady({ pid: process.pid });
