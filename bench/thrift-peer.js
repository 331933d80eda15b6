'use strict';

// The server side of the thrift benchmark, in its own process:
//   node thrift-peer.js <impl> <transport> <protocol> <genDir>
// Prints "ready <port>".

const path = require('node:path');
const [, , implName, transport, protocol, genDir] = process.argv;
const thrift = require(implName === 'connkit' ? 'connkit/thrift' : 'thrift');
const Calc = require(path.join(genDir, 'Calc.js'));

const handler = {
  add: (a, b, result) => result(null, a + b),
  blob: (data, result) => result(null, data),
};
const server = thrift.createServer(Calc, handler, { transport: thrift[transport], protocol: thrift[protocol] });
server.listen(0, '127.0.0.1', () => process.stdout.write(`ready ${server.address().port}\n`));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
