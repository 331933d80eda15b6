'use strict';

// @crussell52/socket-ipc 0.4's reconnect schedule as plain parameters of connkit's
// engine: a failed attempt waits `retryDelay` (uniform in [min, max]); the first
// wait after a drop is `reconnectDelay` instead, and does not advance the schedule.

function reconnectSchedule(retry, reconnect) {
  return {
    initialDelay: retry.min,
    resetDelay: retry.min,
    factor: 1,
    maxDelay: retry.min,
    cap: 'clamp',
    jitter: { min: 0, max: retry.max - retry.min },
    dropDelay: reconnect,
    integerSteps: true,
  };
}

module.exports = { reconnectSchedule };
