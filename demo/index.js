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
const faces = require('./faces');
const { restart } = require('./restart');
const { throughput, IN_FLIGHT } = require('./throughput');
const { render } = require('./summary');

const CALLS = Number(process.env.CONNKIT_DEMO_CALLS || 1000);
const SECONDS = Number(process.env.CONNKIT_DEMO_SECONDS || 1);

/** The original jstp warns, on require, that mdsf's native parser is not built
 * (package.json denies that install script; see the README): one line here instead. */
function loadOriginalJstp() {
  const warn = console.warn;
  let warned = false;
  console.warn = () => (warned = true);
  try {
    require('@metarhia/jstp');
  } finally {
    console.warn = warn;
  }
  return warned ? "@metarhia/jstp runs on mdsf's JavaScript parser (its native build is not installed)" : null;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'connkit-demo-'));
  const socketFile = path.join(dir, 'demo.sock');
  const notes = [loadOriginalJstp()].filter(Boolean);
  const progress = new Progress(6);
  console.log(`connkit demo — node ${process.version}, ${os.cpus().length} cpus, loopback and ${socketFile}\n`);
  try {
    const scenarios = [];
    for (const [label, run] of [
      ['connkit/thrift', () => faces.thrift(CALLS)],
      ['connkit/jstp', () => faces.jstp(CALLS)],
      ['connkit/connman', () => faces.connman(CALLS)],
      ['connkit/socket-ipc', () => faces.socketIpc(CALLS, socketFile)],
    ]) {
      progress.step(label);
      progress.tick('a connkit server; a client through the face, one through the original');
      const result = await run();
      scenarios.push(result);
      const answered = Object.values(result.answered).reduce((a, b) => a + b, 0);
      progress.finish(`${answered}/${result.count * 2} answered over ${result.over}`);
    }

    progress.step('restart (connkit/jstp)');
    const restarted = await restart(CALLS, progress);
    progress.finish(`${restarted.answered}/${restarted.made} answered, ${restarted.twice} twice`);

    progress.step('throughput');
    const rates = await throughput(SECONDS, socketFile, progress);
    progress.finish(`each package ${SECONDS} s with ${IN_FLIGHT} calls in flight`);

    const { text, ok } = render({ scenarios, restarted, rates, seconds: SECONDS, notes });
    console.log(`\n${text}`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`\ndemo failed: ${error.stack || error}`);
  process.exitCode = 1;
});
