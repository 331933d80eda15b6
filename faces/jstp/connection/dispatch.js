'use strict';

// Incoming messages, one at a time: checked (the handshake comes first, the header
// is [id, ...]), then handled by kind: calls run the application's method and are
// answered, callbacks and pongs settle what we sent, events reach proxies and the
// application, inspects list an interface's methods, pings are answered. The
// Connection's methods of the original's names (`_rejectMessage`, `_callback`, ...)
// are called through the connection, as the original did.

const serde = require('../serde');
const errors = require('../errors');
const { processHandshake } = require('./handshake');
const { LOGGING } = require('./logging');

const { RemoteError } = errors;

function processMessage(connection, message) {
  const keys = Object.keys(message);
  if (keys.length === 0) {
    if (LOGGING) connection._emitEventForLogging('heartbeat', message); // old-style '{}'
    return;
  }
  if (LOGGING) connection._emitEventForLogging('incomingMessage', message);
  const kind = keys[0];
  if (!connection.handshakeDone && kind !== 'handshake') {
    connection._rejectMessage(message, true);
    return;
  }
  // The kind comes from the wire: an inherited name (`toString`) is an unknown kind.
  const handler = Object.hasOwn(HANDLERS, kind) ? HANDLERS[kind] : undefined;
  if (!handler) connection._rejectMessage(message);
  else if (!validHeader(kind, message[kind])) invalidMessage(connection, message, kind);
  else handler(connection, message, keys);
}

/** `[id, ...]` with a safe integer id; calls, events and inspects also name an
 * interface. */
function validHeader(kind, header) {
  if (!Array.isArray(header) || !Number.isSafeInteger(header[0])) return false;
  return !NAMED.has(kind) || typeof header[1] === 'string';
}
const NAMED = new Set(['call', 'event', 'inspect']);

/** A known kind with a header no peer of ours sends (`{call:null}`, an id that is
 * no integer): the original threw on it, out of the socket's read, and the
 * process died. The connection is closed, with an error saying why. */
function invalidMessage(connection, message, kind) {
  connection._rejectMessage(message, true);
  const error = new Error(`Invalid JSTP message: the ${kind} header is not [id, ...] with an integer id`);
  error.code = 'ERR_JSTP_INVALID_MESSAGE';
  if (connection.listenerCount('error') > 0) connection.emit('error', error, connection);
}

/** A message we cannot take: logged, and when `fatal`, the connection ends. */
function rejectMessage(connection, message, fatal) {
  connection._emitEventForLogging('messageRejected', message);
  if (fatal) connection._end();
}

function processCall(connection, message, keys) {
  const id = message.call[0];
  const interfaceName = message.call[1];
  const methodName = keys[1];
  const args = message[methodName];
  const callback = (error, ...result) => connection._callback(id, error, result);
  connection.session._onMessageReceived(id);
  if (!args) {
    callback(errors.ERR_INVALID_SIGNATURE);
    return;
  }
  connection._emitEventForLogging('call', interfaceName, methodName, args);
  try {
    connection.application.callMethod(connection, interfaceName, methodName, args, callback);
  } catch (error) {
    callback(errors.ERR_INTERNAL_API_ERROR);
    connection._methodFailed(error, interfaceName, methodName);
  }
}

/** Answers the call or inspect `messageId`. */
function answer(connection, messageId, error, result) {
  let text;
  try {
    text = error
      ? serde.compose('callback', messageId, null, 'error', RemoteError.getJstpArrayFor(error))
      : serde.compose('callback', messageId, null, 'ok', result);
  } catch (failure) {
    // A result that cannot be written (a cycle, a throwing toJSON) must not
    // crash the process from inside a method's callback.
    text = serde.compose('callback', messageId, null, 'error', [errors.ERR_INTERNAL_API_ERROR]);
    connection._methodFailed(failure);
  }
  // A server's answer follows its session, which may be on another connection by now.
  if (connection.server && connection.session) connection.session._sendAnswer(text);
  else connection._send(text);
}

/** A method threw or rejected. The original re-threw, crashing the server; connkit
 * answers ERR_INTERNAL_API_ERROR and reports the error as the server's
 * 'methodError' (connkit), or as a process warning when nobody listens. */
function methodFailed(connection, error, interfaceName, methodName) {
  const owner = connection.server ?? connection;
  if (owner.listenerCount('methodError') > 0) owner.emit('methodError', error, connection, interfaceName, methodName);
  else process.emitWarning(error instanceof Error ? error : String(error), { code: 'JSTP_METHOD_ERROR' });
}

function processCallback(connection, message) {
  const id = message.callback[0];
  const callback = connection._callbacks.get(id);
  connection._emitEventForLogging('callback', message.error, message.ok);
  connection.session._onCallbackMessageReceived(id);
  if (callback) {
    connection._callbacks.delete(id);
    if (message.ok) {
      callback(null, ...message.ok);
      return;
    }
    if (message.error) {
      callback(RemoteError.fromJstpArray(message.error));
      return;
    }
  }
  connection._rejectMessage(message);
}

function processEvent(connection, message, keys) {
  const interfaceName = message.event[1];
  const eventName = keys[1];
  const args = message[eventName];
  connection._emitEventForLogging('event', interfaceName, eventName, args);
  connection.session._onMessageReceived(message.event[0]);
  if (!Array.isArray(args)) {
    connection._rejectMessage(message);
    return;
  }
  // The name comes from the wire: `__proto__` is no proxy of ours.
  const proxies = connection.remoteProxies;
  const proxy = Object.hasOwn(proxies, interfaceName) ? proxies[interfaceName] : undefined;
  if (proxy) proxy._emitLocal(eventName, args);
  // Read after the proxy's listeners ran: one of them may have changed it.
  if (connection.application && connection.application.handleEvent) {
    connection.application.handleEvent(connection, interfaceName, eventName, args);
  }
}

function processInspect(connection, message) {
  const [id, interfaceName] = message.inspect;
  connection._emitEventForLogging('inspect', interfaceName);
  connection.session._onMessageReceived(id);
  const methods = connection.application.getMethods(interfaceName);
  if (methods) connection._callback(id, null, methods);
  else connection._callback(id, errors.ERR_INTERFACE_NOT_FOUND);
}

function processPing(connection, message) {
  const id = message.ping[0];
  connection._pong(id);
  connection.session._onMessageReceived(id);
}

function pong(connection, messageId) {
  if (connection._closed) return;
  connection._send(serde.compose('pong', messageId));
}

function processPong(connection, message) {
  const id = message.pong[0];
  connection.session._onCallbackMessageReceived(id);
  const callback = connection._callbacks.get(id);
  if (callback) {
    connection._callbacks.delete(id);
    callback();
  }
}

const HANDLERS = {
  handshake: processHandshake,
  call: processCall,
  callback: processCallback,
  event: processEvent,
  inspect: processInspect,
  ping: processPing,
  pong: processPong,
};

module.exports = { processMessage, rejectMessage, answer, methodFailed, pong };
