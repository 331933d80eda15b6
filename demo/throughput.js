'use strict';

// A short side-by-side: each face and its original, each with its own server and
// client in this process, 100 calls in flight for a fixed time. Quick and rough next
// to `npm run bench` (the peer in another process, medians of rounds), which is
// where the published ratios come from.

const { calls, within } = require('./util');

const IN_FLIGHT = 100;
const WARM_UP = 500;

/** Round trips per second through `call`, with IN_FLIGHT outstanding, for `seconds`. */
function rate(call, seconds) {
  const measured = new Promise((resolve, reject) => {
    const started = performance.now();
    const until = started + seconds * 1000;
    let outstanding = 0;
    let answered = 0;
    let n = 0;
    const send = () => {
      outstanding++;
      call(n++, (error, ok) => {
        outstanding--;
        if (error || !ok) {
          reject(error ?? new Error('a wrong answer'));
          return;
        }
        answered++;
        if (performance.now() < until) send();
        else if (outstanding === 0) resolve(answered / ((performance.now() - started) / 1000));
      });
    };
    for (let i = 0; i < IN_FLIGHT; i++) send();
  });
  return within(measured, seconds * 1000 + 10000, `calls still unanswered ${seconds} s + 10 s on`);
}

/** Round trips per second through `pkg` (a face, or its original) on both sides. */
async function measure(face, pkg, seconds, socketFile) {
  const lib = require(pkg);
  const server = await face.serve(lib, socketFile);
  try {
    const client = await face.connect(lib, server.where);
    try {
      await calls(WARM_UP, client.call);
      return await rate(client.call, seconds);
    } finally {
      await client.close();
    }
  } finally {
    await server.close();
  }
}

/** Rows { face, original, unit, connkit, theirs } for `faces`, each package in turn. */
async function throughput(faces, seconds, socketFile, progress) {
  const rows = [];
  for (const face of faces) {
    const row = { face: face.face, original: face.original, unit: face.unit };
    progress.tick(face.face);
    row.connkit = await measure(face, face.face, seconds, socketFile);
    progress.tick(face.original);
    row.theirs = await measure(face, face.original, seconds, socketFile);
    rows.push(row);
  }
  return rows;
}

module.exports = { throughput, IN_FLIGHT };
