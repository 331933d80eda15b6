'use strict';

// A server for the many-connections benchmark, in its own process: a Node `net` or a
// connkit server that keeps every connection open and idle. Prints "up <port>";
// on "stats" prints "stats <accepted> <rss bytes> <open descriptors>".

const { fds } = require('../faults/lib/probe');

const impl = process.argv[2];
let accepted = 0;
const onConnection = (c) => {
  accepted++;
  c.on('error', () => {});
};
const server = impl === 'connkit' ? require('..').createServer(onConnection) : require('node:net').createServer(onConnection);
// Running out of descriptors is what this measures the edge of: counted, not fatal.
server.on('error', () => {});
server.listen(0, '127.0.0.1', () => console.log(`up ${server.address().port}`));

process.stdin.on('data', (d) => {
  for (const line of String(d).split('\n')) {
    if (line === 'stats') console.log(`stats ${accepted} ${process.memoryUsage().rss} ${fds()}`);
  }
});
process.stdin.on('end', () => process.exit(0));
