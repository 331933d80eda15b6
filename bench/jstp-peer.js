'use strict';

// The server side of the jstp benchmark, in its own process:
//   node jstp-peer.js <impl>
// Prints "ready <port>"; on "report" prints "rss <maxRSS bytes>".

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

const server = jstp.net.createServer([new jstp.Application('bench', api)]);
server.listen(0, '127.0.0.1', () => say(`ready ${server.address().port}`));
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  if (text.includes('report')) {
    global.gc?.();
    say(`rss ${process.memoryUsage().rss}`);
  }
});
process.stdin.on('end', () => process.exit(0));
