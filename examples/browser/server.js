'use strict';

// Serves the example page and the Calc service it calls, both from one
// createWebServer of connkit/thrift: static files from this folder, Thrift over
// POST (XHR) and WebSocket at /thrift. On start it generates the Calc code with the
// Thrift compiler and bundles page.js with esbuild into node_modules/.build/ here
// (git-ignored). Usage: node examples/browser/server.js [port]

const path = require('node:path');
const thrift = require('connkit/thrift');
const { build } = require('./bundle');

const outDir = path.join(__dirname, 'node_modules', '.build');
const { genDir } = build({ outDir });
const Calc = require(path.join(genDir, 'Calc.js'));
const types = require(path.join(genDir, 'calc_types.js'));

const handler = {
  add: (a, b, result) => result(null, a + b),
  echo: (pair, result) => result(null, pair),
  blob: (data, result) => result(null, data),
  fail: (why, result) => result(new types.Oops({ why })),
  ping: () => console.log('ping'),
  slow: (ms, result) => setTimeout(() => result(null, ms), ms),
};

const server = thrift.createWebServer({
  files: __dirname,
  services: {
    '/thrift': {
      transport: thrift.TBufferedTransport,
      protocol: thrift.TJSONProtocol,
      processor: Calc,
      handler,
    },
  },
});

server.listen(Number(process.argv[2]) || 8090, '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`open http://${address}:${port}/ (Ctrl-C stops)`);
});
