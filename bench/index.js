'use strict';

// `npm run bench`: every benchmark, each side by side with what it replaces, in
// the same run (BENCH_SUITES=jstp,thrift runs only those). Absolute numbers move run
// to run on shared machines; the ratios are what to read.

const { selected } = require('./selection');

const suites = {
  core: () => require('./core'),
  'socket-ipc': () => require('./socket-ipc'),
  connman: () => require('./connman'),
  jstp: () => require('./jstp'),
  thrift: () => require('./thrift'),
  many: () => require('./many'),
};

const only = selected('BENCH_SUITES', Object.keys(suites));

(async () => {
  console.log(`connkit benchmarks — node ${process.version}, ${require('node:os').cpus().length} cpus`);
  for (const [name, suite] of Object.entries(suites)) {
    if (only.includes(name)) await suite().run();
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
