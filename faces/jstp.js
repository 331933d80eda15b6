'use strict';

// connkit/jstp: the drop-in face for `@metarhia/jstp`. Reserved: it is built on the core in a
// later release; until then requiring it says so rather than half-working.

const { withCode } = require('../lib/errors');

throw withCode(
  Error,
  'ERR_CONNKIT_FACE_UNAVAILABLE',
  "connkit/jstp (drop-in for '@metarhia/jstp') is not available in this version of connkit; keep using '@metarhia/jstp'",
);
