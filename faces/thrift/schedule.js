'use strict';

// thrift 0.24's reconnect schedule as plain parameters of connkit's engine. The
// original's Connection starts `retry_delay` at 150 ms and grows it by 1.7 (floored)
// before each wait, so the first wait is 255 ms; once at `retry_max_delay` it snaps
// there. It gives up after `max_attempts`, or once its waits add up to
// `connect_timeout`.

function reconnectSchedule({ maxAttempts, maxDelay = Infinity, budget }) {
  return {
    initialDelay: 255,
    resetDelay: 255,
    factor: 1.7,
    maxDelay,
    cap: 'grow-below-snap',
    jitter: 'none',
    integerSteps: true,
    maxAttempts,
    budget,
  };
}

module.exports = { reconnectSchedule };
