'use strict';

// Opening a client's core connection, as every transport's connect() does:
// `open(coreOptions, { schedule }, callback(error, socket))`. With a schedule the
// socket redials by itself once it has connected (the default reconnector on the
// core's engine); a first connect that fails still fails, as the original's does.

const { Connection: CoreConnection } = require('../../lib/connection');

function open(options, { schedule } = {}, callback) {
  let socket;
  try {
    // Writes cut off by a drop are not sent on the next socket: the session's own
    // buffer resends them once its restore handshake has gone first.
    socket = new CoreConnection(schedule ? { ...options, reconnect: schedule, resendUnsent: false } : options);
  } catch (error) {
    process.nextTick(callback, error);
    return;
  }
  const cleanup = () => {
    socket.removeListener('error', fail);
    socket.removeListener('reconnecting', failedFirst);
  };
  function fail(error) {
    cleanup();
    callback(error);
  }
  function failedFirst({ error }) {
    socket.destroy();
    fail(error);
  }
  socket.once('error', fail);
  if (schedule) socket.once('reconnecting', failedFirst);
  socket.once('connect', () => {
    cleanup();
    callback(null, socket);
  });
}

module.exports = { open };
