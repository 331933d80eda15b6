'use strict';

// A TCP proxy to 127.0.0.1:TARGET that can make its peer vanish without a FIN or a
// RST: on { blackhole: true } it stops forwarding on every connection it has (both
// ways, reading nothing more) and never closes them — as a peer whose host froze or
// whose network went away. Connections made afterwards are forwarded as usual (the
// peer "came back" at the same address), so a client that notices can reconnect.
//
//   node slow-proxy.js TARGET_PORT
// IPC in: { blackhole: true } -> { blackholed: n }

const net = require('node:net');
const { peerReady } = require('../lib/peer');

const target = Number(process.argv[2]);
const pairs = new Set();

const server = net.createServer((client) => {
  const upstream = net.connect(target, '127.0.0.1');
  const pair = { client, upstream, holed: false };
  pairs.add(pair);
  client.pipe(upstream);
  upstream.pipe(client);
  const drop = () => {
    if (pair.holed) return; // a black hole never closes
    pairs.delete(pair);
    client.destroy();
    upstream.destroy();
  };
  for (const s of [client, upstream]) {
    s.on('error', drop);
    s.on('close', drop);
  }
});

server.listen(0, '127.0.0.1', () => peerReady({ port: server.address().port }));

process.on('message', (m) => {
  if (!m || !m.blackhole) return;
  let n = 0;
  for (const pair of pairs) {
    if (pair.holed) continue;
    pair.holed = true;
    pair.client.unpipe(pair.upstream);
    pair.upstream.unpipe(pair.client);
    pair.client.pause();
    pair.upstream.pause();
    n++;
  }
  process.send({ blackholed: n });
});
