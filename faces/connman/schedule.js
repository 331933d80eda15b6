'use strict';

// connman 1.0's reconnect schedule as plain parameters of connkit's engine. The
// original's `backoff` starts at 10 and doubles before each wait while below 128000
// (so one step overshoots, and the overshoot is kept); a successful connect sets it
// to 50, so the first wait after a drop is 100 ms.

const RECONNECT_SCHEDULE = Object.freeze({
  initialDelay: 20,
  resetDelay: 100,
  factor: 2,
  maxDelay: 128000,
  cap: 'grow-below',
  jitter: 'none',
  integerSteps: true,
});

module.exports = { RECONNECT_SCHEDULE };
