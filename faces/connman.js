'use strict';

// connkit/connman: the drop-in face for `connman`. Reserved: it is built on the core in a
// later release; until then requiring it says so rather than half-working.

const { withCode } = require('../lib/errors');

throw withCode(
  Error,
  'ERR_CONNKIT_FACE_UNAVAILABLE',
  "connkit/connman (drop-in for 'connman') is not available in this version of connkit; keep using 'connman'",
);
