'use strict';

// A client Connection that lost its socket reconnects onto its session. With the
// default reconnector its core socket redials by itself on the original's schedule
// (schedule.js), and this follows it; a custom reconnector gets a function that dials
// again (through the transport registry, so this module needs no transport module)
// and hands the connection back to the reconnector after a failed attempt or the
// next drop. Also the default reconnector, for transports the core does not carry.

const errors = require('./errors');
const { popCallback } = require('./arguments');
const transports = require('./transports');
const { RECONNECT_SCHEDULE } = require('./schedule');

const DEFAULT = Symbol('connkit.jstp.defaultReconnector');

/** The original's default reconnector, on Node's timers. */
function createDefaultReconnector() {
  const { initialDelay, factor, maxDelay, jitter } = RECONNECT_SCHEDULE;
  let backoff = initialDelay;
  const reconnector = (connection, reconnect) => {
    setTimeout(() => {
      if (connection.closedIntentionally) return;
      reconnect((error) => {
        backoff = error ? Math.min(backoff * factor, maxDelay) : initialDelay;
      });
    }, backoff + jitter.min + Math.floor(Math.random() * (jitter.max - jitter.min + 1)));
  };
  reconnector[DEFAULT] = true;
  return reconnector;
}

/** The schedule a client's core socket redials on by itself: the default
 * reconnector's, unless the client brings its own reconnector. */
function scheduleFor(client) {
  return !client?.reconnector || client.reconnector[DEFAULT] ? RECONNECT_SCHEDULE : undefined;
}

const closedError = () =>
  Object.assign(new Error('The connection was closed while reconnecting'), { code: 'ERR_JSTP_CLOSED' });

/** Hands a client that lost its socket to its reconnector. The reconnector's
 * function takes an optional transport name ('net', 'tls', 'ws'), then dial
 * arguments (default: those of the first connect), then a callback. */
function reconnectWith(connection) {
  // Closed on purpose: no reconnector runs. (The original ran it; a custom one that
  // forgot to check closedIntentionally then redialed forever.)
  if (connection.closedIntentionally) return;
  if (connection.transport?.redials) {
    followRedial(connection);
    return;
  }
  const reconnect = (...options) => {
    if (connection.closedIntentionally) return;
    let name = options[0];
    if (typeof name === 'string' && transports.lookup(name)) options = options.slice(1);
    else name = connection.client._connectionTransport;
    const callback = popCallback(options) || (() => {});
    if (options.length === 0) options = connection.client._connectionOptions;
    connection.emit('reconnectAttempt', name, ...options);
    if (connection.closedIntentionally) {
      // A 'reconnectAttempt' listener closed it.
      connection.emit('reconnect', closedError());
      callback(closedError());
      return;
    }
    transports.lookup(name).reconnect(connection, ...options, (error, ...rest) => {
      connection.emit('reconnect', error);
      callback(error, ...rest);
      if (error) connection.client.reconnector(connection, reconnect);
      else connection.once('close', () => reconnectWith(connection));
    });
  };
  connection.client.reconnector(connection, reconnect);
}

/** A socket redialing by itself: 'reconnectAttempt' as each attempt starts,
 * 'reconnect' with each that fails, and the session restored on the new socket. */
function followRedial(connection) {
  const transport = connection.transport;
  const socket = transport.getRawTransport();
  const { _connectionTransport: name, _connectionOptions: options } = connection.client;
  let attempting = false;
  const onDialing = () => {
    attempting = true;
    // A listener may close the connection: that ends the socket, and this attempt.
    connection.emit('reconnectAttempt', name, ...options);
  };
  const onReconnecting = ({ error }) => {
    if (!attempting) return; // the wait after the drop itself
    attempting = false;
    connection.emit('reconnect', error);
  };
  const onConnect = () => {
    stop();
    restoreSession(connection, transport, (error) => {
      connection.emit('reconnect', error);
      // A refused restore ends the socket from the server's side: it redials again.
      connection.once('close', () => reconnectWith(connection));
    });
  };
  const onClose = () => {
    stop();
    if (attempting) connection.emit('reconnect', closedError());
  };
  const stop = () => {
    socket.removeListener('dialing', onDialing);
    socket.removeListener('reconnecting', onReconnecting);
    socket.removeListener('connect', onConnect);
    socket.removeListener('close', onClose);
  };
  socket.on('dialing', onDialing);
  socket.on('reconnecting', onReconnecting);
  socket.once('connect', onConnect);
  socket.once('close', onClose);
}

/** Puts `connection` on `transport` (a new socket) and restores its session through
 * the connect policy; `callback(error)`. */
function restoreSession(connection, transport, callback) {
  if (connection.transport) connection._removeTransport();
  connection._initTransport(transport);
  const session = connection._sessionRefused ? null : connection.session;
  connection.client.connectPolicy(connection._serverApp, connection, session, (error, conn) => {
    if (error) {
      // The server no longer knows the session (it restarted with its sessions in
      // memory, or they expired): the original retried the restore forever, its
      // calls never settling. The next attempt starts a new session instead.
      if (session && error.code === errors.ERR_AUTH_FAILED) connection._sessionRefused = true;
      callback(error, conn);
      return;
    }
    connection._sessionRefused = false;
    if (conn.client.heartbeatInterval) conn.startHeartbeat(conn.client.heartbeatInterval);
    callback(null, conn);
  });
}

module.exports = { reconnectWith, createDefaultReconnector, scheduleFor, restoreSession, closedError };
