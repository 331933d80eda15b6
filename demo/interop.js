'use strict';

// Each face against a connkit server: a client through the face, then one through
// the original package, each making `count` calls at once. The second client shows
// the wire is the same: the original talks to connkit unchanged.

const { calls } = require('./util');

async function interop(face, count, socketFile) {
  const server = await face.serve(require(face.face), socketFile);
  try {
    const answered = {};
    for (const pkg of [face.face, face.original]) {
      const client = await face.connect(require(pkg), server.where);
      try {
        answered[pkg] = await calls(count, client.call);
      } finally {
        await client.close();
      }
    }
    return { face: face.face, over: server.over, count, answered };
  } finally {
    await server.close();
  }
}

module.exports = { interop };
