'use strict';

// connkit/thrift: the drop-in face for `thrift`. Reserved: it is built on the core in a
// later release; until then requiring it says so rather than half-working.

const { withCode } = require('../lib/errors');

throw withCode(
  Error,
  'ERR_CONNKIT_FACE_UNAVAILABLE',
  "connkit/thrift (drop-in for 'thrift') is not available in this version of connkit; keep using 'thrift'",
);
