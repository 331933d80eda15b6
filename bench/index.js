'use strict';

// `npm run bench`: every benchmark, each side by side with what it replaces, in
// the same run. Absolute numbers move run to run on shared machines; the ratios
// are what to read.

const suites = [require('./core'), require('./socket-ipc'), require('./connman'), require('./jstp'), require('./thrift')];

(async () => {
  console.log(`connkit benchmarks — node ${process.version}, ${require('node:os').cpus().length} cpus`);
  for (const suite of suites) await suite.run();
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
