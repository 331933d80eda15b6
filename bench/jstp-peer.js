'use strict';

// The server side of the jstp benchmark, in its own process:
//   node jstp-peer.js <impl>
// Serves the same application over TCP (jstp.net) and WebSocket (jstp.ws), both on
// 127.0.0.1. Prints "ready <netPort> <wsPort>"; on "report" prints "rss <maxRSS bytes>".

const [, , implName] = process.argv;
const jstp = require(implName === 'connkit' ? 'connkit/jstp' : '@metarhia/jstp');
const say = (line) => process.stdout.write(`${line}\n`);

const api = {
  bench: {
    add: (connection, a, b, callback) => callback(null, a + b),
    /** Emits `count` events to the caller, 1000 per turn of the event loop, then answers. */
    flood(connection, count, callback) {
      let sent = 0;
      const round = () => {
        const end = Math.min(count, sent + 1000);
        for (; sent < end; sent++) connection.emitRemoteEvent('bench', 'tick', [sent, 'payload']);
        if (sent < count) setImmediate(round);
        else callback(null, sent);
      };
      round();
    },
  },
};

const servers = [jstp.net.createServer, jstp.ws.createServer].map((create) => create([new jstp.Application('bench', api)]));
const listening = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
Promise.all(servers.map(listening)).then(() => say(`ready ${servers.map((server) => server.address().port).join(' ')}`));
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  if (text.includes('report')) {
    global.gc?.();
    say(`rss ${process.memoryUsage().rss}`);
  }
});
process.stdin.on('end', () => process.exit(0));
