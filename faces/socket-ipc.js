'use strict';

// connkit/socket-ipc: the drop-in face for `@crussell52/socket-ipc`. Reserved: it is built on the core in a
// later release; until then requiring it says so rather than half-working.

const { withCode } = require('../lib/errors');

throw withCode(
  Error,
  'ERR_CONNKIT_FACE_UNAVAILABLE',
  "connkit/socket-ipc (drop-in for '@crussell52/socket-ipc') is not available in this version of connkit; keep using '@crussell52/socket-ipc'",
);
