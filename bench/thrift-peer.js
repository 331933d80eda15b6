'use strict';

// The server side of the thrift benchmark, in its own process:
//   node thrift-peer.js <impl> <tcp|http|ws> <transport> <protocol> <genDir>
// Prints "ready <port>". HTTP and WebSocket are served by createWebServer at /calc.

const path = require('node:path');
const [, , implName, kind, transport, protocol, genDir] = process.argv;
const thrift = require(implName === 'connkit' ? 'connkit/thrift' : 'thrift');
const Calc = require(path.join(genDir, 'Calc.js'));

const handler = {
  add: (a, b, result) => result(null, a + b),
  blob: (data, result) => result(null, data),
};
const stack = { transport: thrift[transport], protocol: thrift[protocol] };
const server =
  kind === 'tcp' ? thrift.createServer(Calc, handler, stack) : thrift.createWebServer({ services: { '/calc': { ...stack, processor: Calc, handler } } });
server.listen(0, '127.0.0.1', () => process.stdout.write(`ready ${server.address().port}\n`));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
