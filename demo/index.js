'use strict';

// `npm start`: connkit in one run, on loopback ports and a temporary unix socket.
// A connkit server for each face, clients through the face and through the original
// package; a jstp server crashed under load and restarted, with nothing lost; a
// short side-by-side throughput run; then a summary, and the process exits by itself
// (with 1 if anything was lost or wrong).
//
//   CONNKIT_DEMO_CALLS    calls per client in each face's scenario (1000)
//   CONNKIT_DEMO_SECONDS  seconds each package runs in the throughput comparison (1)

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Progress } = require('./progress');
const { FACES } = require('./faces');
const { interop } = require('./interop');
const { restart } = require('./restart');
const { throughput, IN_FLIGHT } = require('./throughput');
const { render } = require('./summary');

/** A positive number from the environment, or `fallback`. */
function setting(name, fallback, integer) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!(value > 0) || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, not '${text}'`);
  }
  return value;
}

/** The original jstp warns, on require, that mdsf's native parser is not built
 * (package.json denies that install script; see the README): one line here instead. */
function loadOriginalJstp() {
  const warn = console.warn;
  let unbuilt = false;
  console.warn = (...args) => {
    if (/mdsf native addon is not built|Cannot find module '\.\.\/build\//.test(String(args[0]))) unbuilt = true;
    else warn(...args);
  };
  try {
    require('@metarhia/jstp');
  } finally {
    console.warn = warn;
  }
  return unbuilt ? "@metarhia/jstp runs on mdsf's JavaScript parser (its native build is not installed)" : null;
}

async function main() {
  const started = performance.now();
  const count = setting('CONNKIT_DEMO_CALLS', 1000, true);
  const seconds = setting('CONNKIT_DEMO_SECONDS', 1, false);
  const notes = [loadOriginalJstp()].filter(Boolean);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'connkit-demo-'));
  const socketFile = path.join(dir, 'demo.sock');
  const progress = new Progress(FACES.length + 2);
  console.log(`connkit demo — node ${process.version}, ${os.cpus().length} cpus, loopback and ${socketFile}\n`);
  try {
    const scenarios = [];
    for (const face of FACES) {
      progress.step(face.face);
      progress.tick(`a connkit server; a client through ${face.face}, one through ${face.original}`);
      const result = await interop(face, count, socketFile);
      scenarios.push(result);
      const answered = Object.values(result.answered).reduce((a, b) => a + b, 0);
      progress.finish(`${answered}/${count * Object.keys(result.answered).length} answered over ${result.over}`);
    }

    progress.step('restart (connkit/jstp)');
    const restarted = await restart(count, progress);
    progress.finish(`${restarted.answered}/${restarted.made} answered, ${restarted.twice} twice`);

    progress.step('throughput');
    const rates = await throughput(FACES, seconds, socketFile, progress);
    progress.finish(`each package ${seconds} s with ${IN_FLIGHT} calls in flight`);

    const elapsed = (performance.now() - started) / 1000;
    const { text, ok } = render({ scenarios, restarted, rates, seconds, notes, elapsed });
    console.log(`\n${text}`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`\ndemo failed: ${error.stack || error}`);
  process.exitCode = 1;
  // Whatever the failed step left open must not keep a failed demo running.
  setTimeout(() => {
    console.error('demo: what the failed step opened was still open 3 s later');
    process.exit(1);
  }, 3000).unref();
});
