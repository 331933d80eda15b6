'use strict';

// A connection's logging events (incomingMessage, outgoingMessage, call, ...): they
// go to the client's logger, or else to the connection itself, and on a server
// also to the server's 'log'. In production (NODE_ENV=production) the per-message
// ones are not built at all, as in the original.

const LOGGING = process.env.NODE_ENV !== 'production';

/** Whether anyone listens for logging `event` (skips building what nobody reads). */
function logged(connection, event) {
  const target = connection.client?.logger ?? connection;
  return target.listenerCount(event) > 0 || (connection.server && connection.server.listenerCount('log') > 0);
}

function emitForLogging(connection, event, ...args) {
  if (!logged(connection, event)) return;
  if (connection.client && connection.client.logger) connection.client.logger.emit(event, ...args);
  else connection.emit(event, ...args);
  if (connection.server) connection.server.emit('log', connection, event, ...args);
}

module.exports = { LOGGING, logged, emitForLogging };
