'use strict';

// One side of a socket-ipc benchmark, in its own process:
//   node socket-ipc-peer.js <impl> <role> <socketFile> <count> [size]
// roles: sink (server counting messages), echo (server replying to each),
//        listeners (50 clients counting broadcast deliveries), sender (client sending
//        <count> messages of <size> bytes), broadcaster (server broadcasting <count>).
// Prints "ready" when set up and "done <maxRSS bytes>" when its part is finished.

const [, , implName, role, socketFile, countArg, sizeArg] = process.argv;
const lib = require(implName === 'connkit' ? 'connkit/socket-ipc' : '@crussell52/socket-ipc');
const count = Number(countArg);
const size = Number(sizeArg || 64);
const say = (line) => process.stdout.write(`${line}\n`);
const done = () => say(`done ${process.resourceUsage().maxRSS * 1024}`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));

const payload = { i: 0, s: 'x'.repeat(size) };

/** Sends `n` messages in rounds of 1000, yielding between rounds. */
function pump(send, n, then) {
  let sent = 0;
  const round = () => {
    const end = Math.min(n, sent + 1000);
    for (; sent < end; sent++) {
      payload.i = sent;
      send(payload);
    }
    if (sent < n) setImmediate(round);
    else then();
  };
  round();
}

if (role === 'sink' || role === 'echo' || role === 'broadcaster') {
  const server = new lib.Server({ socketFile });
  let seen = 0;
  let clients = 0;
  server.on('message', (message, topic, id) => {
    if (role === 'echo') server.send(topic, message, id);
    else if (++seen === count) done();
  });
  server.on('connection', () => {
    if (role === 'broadcaster' && ++clients === 50) {
      say('clients');
      process.stdin.once('data', () => pump((m) => server.broadcast('news', m), count, done));
    }
  });
  server.on('error', () => {});
  server.on('listening', () => say('ready'));
  server.listen();
} else if (role === 'sender') {
  const client = new lib.Client({ socketFile });
  client.on('error', () => {});
  client.on('connect', () => {
    say('ready');
    process.stdin.once('data', () => pump((m) => client.send('bench', m), count, () => say('sent')));
  });
  process.stdin.on('data', (d) => String(d).includes('report') && done());
  client.connect();
} else if (role === 'listeners') {
  let total = 0;
  let connected = 0;
  for (let i = 0; i < 50; i++) {
    const client = new lib.Client({ socketFile });
    client.on('error', () => {});
    client.on('message', () => {
      if (++total === count * 50) done();
    });
    client.on('connect', () => ++connected === 50 && say('ready'));
    client.connect();
  }
}
