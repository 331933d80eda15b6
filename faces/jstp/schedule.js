'use strict';

// @metarhia/jstp 2.x's default reconnector as plain parameters of connkit's engine:
// 1 s doubling to 32 s, each wait plus 0..1000 ms at random, back to 1 s after a
// success. With it, a client's socket redials by itself (reconnect.js follows it).

const RECONNECT_SCHEDULE = Object.freeze({
  initialDelay: 1000,
  resetDelay: 1000,
  factor: 2,
  maxDelay: 32000,
  cap: 'clamp',
  jitter: { min: 0, max: 1000 },
  integerSteps: true,
  // 'dialing' events: 'reconnectAttempt' is emitted as each attempt starts.
  announce: true,
});

module.exports = { RECONNECT_SCHEDULE };
