'use strict';

// The handshake, the first message each way on every socket: the client's request
// (a new session, a login, or restoring a session), the server's handling of it
// through its auth policy or session store, and the answer on both sides. The
// Connection's methods of the original's names (`_processHandshakeRequest`,
// `_onSessionRestored`, ...) are called through the connection, as the original did,
// so code that wraps one on an instance still sees every call.

const semver = require('semver');
const serde = require('../serde');
const errors = require('../errors');
const Session = require('../session');
const { rsplit } = require('../application');
const { failPending, settleUnanswered } = require('./bookkeeping');

const { RemoteError } = errors;

/**
 * Client: handshake(app[, session], callback) | handshake(app, login, password, callback)
 * `app` is 'name', 'name@range' or { name, version }.
 */
function clientHandshake(connection, app, login, password, callback) {
  if (typeof login === 'function') [login, password, callback] = [undefined, undefined, login];
  else if (typeof password === 'function') [password, callback] = [undefined, password];
  const [name, version] = typeof app === 'string' ? rsplit(app, '@') : [app.name, app.version];
  if (version && !semver.validRange(version)) {
    callback(new Error('Invalid semver version range'));
    return;
  }
  let strategy;
  let credentials;
  const restoring = Boolean(login) && !password;
  if (restoring) {
    connection.session = login;
    strategy = 'session';
    credentials = [connection.session.id, connection.session.receivedCount];
  } else if (login) {
    strategy = 'login';
    credentials = [login, password];
  }
  const id = 0;
  const message = { handshake: version ? [id, name, version] : [id, name] };
  if (strategy) message[strategy] = credentials;
  if (!restoring) connection._nextMessageId = connection._messageIdDelta;

  const onClose = () => done(new RemoteError(errors.ERR_NO_HANDSHAKE_RESPONSE));
  const done = (error, ok) => {
    connection.removeListener('close', onClose);
    connection._callbacks.delete(id);
    if (restoring) {
      if (!error) {
        connection.session._restore(connection, ok);
        connection.session._resendBufferedMessages();
        connection._nextMessageId = connection.session.latestBufferedMessageId + connection._messageIdDelta;
        settleUnanswered(connection, ok);
      }
      callback(error);
      return;
    }
    if (!error) {
      if (login && password) connection.username = login;
      const forgotten = connection.session;
      connection.session = new Session(connection, connection.username, ok);
      // A new session after one the server forgot: the old one's calls can never
      // be answered. They fail now, before the new session issues an id, so a
      // call made again (callMethodWithResend) cannot meet an old one's id.
      if (forgotten) failPending(connection);
    }
    callback(error, connection.session);
  };
  connection.once('close', onClose);
  connection._callbacks.set(id, done);
  connection._transmit(serde.stringify(message), message);
}

/** A handshake message, the request (it names an application) or the answer. */
function processHandshake(connection, message, keys) {
  if (connection.handshakeDone) connection._rejectMessage(message, true);
  else if (message.handshake[1]) connection._processHandshakeRequest(message, keys);
  else connection._processHandshakeResponse(message);
}

/** Server: finds the application, then starts or restores the session. */
function processHandshakeRequest(connection, message, keys) {
  const { server } = connection;
  if (!server) {
    connection._handshakeError(errors.ERR_NOT_A_SERVER);
    return;
  }
  const [, applicationName, requestedVersion] = message.handshake;
  connection.requestedVersion = requestedVersion;
  const application = server._getApplication(applicationName, requestedVersion);
  if (!application) {
    connection._handshakeError(errors.ERR_APP_NOT_FOUND);
    return;
  }
  if (!connection.requestedVersion) connection.requestedVersion = String(semver.major(application.version));
  connection.application = application;
  const strategy = keys[1] || 'anonymous';
  const credentials = keys[1] && message[keys[1]];
  if (strategy === 'session') {
    server.restoreSession(connection, application, credentials, (e, u, s) => connection._onSessionRestored(e, u, s));
  } else {
    server.startSession(connection, application, strategy, credentials, (e, u, s) =>
      connection._onSessionCreated(e, u, s),
    );
  }
  server.emit('handshakeRequest', connection, applicationName, strategy);
}

function onSessionCreated(connection, error, username, session) {
  if (!accept(connection, error, username, session)) return;
  connection.server.emit('connect', connection);
  sendHandshakeOk(connection, session.id);
}

function onSessionRestored(connection, error, username, session) {
  if (!accept(connection, error, username, session)) return;
  connection.server.emit('reconnect', connection);
  sendHandshakeOk(connection, session.receivedCount);
  session._resendBufferedMessages();
  // Ids go on from the last one used. (The original's server stepped back toward
  // zero here and reused ids, overwriting messages still in its resend buffer.)
  connection._nextMessageId = session.latestBufferedMessageId + connection._messageIdDelta;
  settleUnanswered(connection, session.guaranteedDeliveredCount);
}

/** Ends the handshake of a session started or restored: with an error, or (when the
 * connection is still open) by taking the session. Whether it was taken. */
function accept(connection, error, username, session) {
  if (connection._closed) return false; // the handshake timed out, or the client left, meanwhile
  if (error) {
    connection._handshakeError(error);
    return false;
  }
  connection.username = username;
  connection.session = session;
  connection.handshakeDone = true;
  connection.emit('client', session, connection);
  return true;
}

function sendHandshakeOk(connection, ok) {
  const message = { handshake: [0], ok };
  if (connection._nextMessageId === 0) connection._nextMessageId = connection._messageIdDelta;
  connection._transmit(serde.stringify(message), message);
}

/** Client: the server's answer goes to the callback handshake() left. */
function processHandshakeResponse(connection, message) {
  const id = message.handshake[0];
  const callback = connection._callbacks.get(id);
  connection._emitEventForLogging('handshake', message.error, message.ok);
  if (!callback) {
    connection._rejectMessage(message);
    return;
  }
  if (message.ok !== undefined) {
    connection.handshakeDone = true;
    connection.application = connection.client.application;
    connection.hasConnected = true;
    callback(null, message.ok);
  } else if (message.error) {
    callback(RemoteError.fromJstpArray(message.error));
  } else {
    connection._rejectMessage(message, true);
  }
}

/** A handshake request refused: the answer says why, and the connection ends. */
function handshakeError(connection, error) {
  connection._end({ handshake: [0], error: RemoteError.getJstpArrayFor(error) });
}

module.exports = {
  clientHandshake,
  processHandshake,
  processHandshakeRequest,
  onSessionCreated,
  onSessionRestored,
  processHandshakeResponse,
  handshakeError,
};
