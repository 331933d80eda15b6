'use strict';

// `npm run bench`: every benchmark, each side by side with what it replaces, in
// the same run (BENCH_SUITES=jstp,thrift runs only those). Absolute numbers move run
// to run on shared machines; the ratios are what to read.

const suites = {
  core: () => require('./core'),
  'socket-ipc': () => require('./socket-ipc'),
  connman: () => require('./connman'),
  jstp: () => require('./jstp'),
  thrift: () => require('./thrift'),
};

const listed = (process.env.BENCH_SUITES ?? '').split(',').map((name) => name.trim()).filter(Boolean);
const only = listed.length > 0 ? listed : null;
const unknown = listed.filter((name) => !(name in suites));
if (unknown.length > 0) {
  console.error(`unknown BENCH_SUITES: ${unknown.join(', ')} (known: ${Object.keys(suites).join(', ')})`);
  process.exit(2);
}

(async () => {
  console.log(`connkit benchmarks — node ${process.version}, ${require('node:os').cpus().length} cpus`);
  for (const [name, suite] of Object.entries(suites)) {
    if (!only || only.includes(name)) await suite().run();
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
