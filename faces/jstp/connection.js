'use strict';

// A JSTP connection, client or server side, over a transport: an EventEmitter with
// send(text), end([text]), getRawTransport() and the events message (a parsed
// message), error and close. The transports connkit ships run on the native core;
// users may bring their own (see the seed: `new Connection(transport, server, client)`).

const { EventEmitter } = require('node:events');
const semver = require('semver');
const serde = require('./serde');
const errors = require('./errors');
const RemoteProxy = require('./remote-proxy');
const Session = require('./session');
const { rsplit } = require('./application');

const { RemoteError } = errors;
const LOGGING = process.env.NODE_ENV !== 'production';
const doNothing = () => {};

// A side that keeps more unacknowledged messages than this asks the peer for an
// acknowledgement with a ping (the original kept them all, without bound).
const ACK_AFTER = 1024;

let nextConnectionId = 0;

class Connection extends EventEmitter {
  constructor(transport, server, client) {
    super();
    this.server = server;
    this.client = client;
    this.id = nextConnectionId++;
    if (!client && !server) throw new Error('Either server or client is required');
    this._messageIdDelta = server ? -1 : 1;
    this._callbacks = new Map();
    this.username = null;
    this.session = null;
    this.application = null;
    this.remoteProxies = {};
    this._heartbeatTimer = null;
    this._heartbeatTimeout = (client ?? server).heartbeatTimeout ?? 0;
    this._silentSince = 0;
    this._ackPending = false;
    this.hasConnected = false;
    this.closedIntentionally = false;
    this._emitError = (error) => {
      if (error) this.emit('error', error);
    };
    this._transportListeners = {
      message: (message) => this._processMessage(message),
      close: () => this._onSocketClose(),
      error: (error) => this._onSocketError(error),
    };
    this._initTransport(transport);
    if (client) {
      this.once('close', () => {
        if (this.hasConnected) this._reconnectHandler();
      });
    }
  }

  _initTransport(transport) {
    // A handshake always has id 0. On a session's later sockets, ids go on from the
    // session: calls made while its restore is under way must not reuse old ids.
    if (!this.session) this._nextMessageId = 0;
    this.transport = transport;
    this.remoteAddress = transport.getRawTransport().remoteAddress;
    this.handshakeDone = false;
    this._closed = false;
    for (const [event, listener] of Object.entries(this._transportListeners)) transport.on(event, listener);
  }

  _removeTransport() {
    const transport = this.transport;
    for (const [event, listener] of Object.entries(this._transportListeners)) {
      transport.removeListener(event, listener);
    }
    this.transport = null;
    return transport;
  }

  _reconnectHandler() {
    require('./client').reconnectWith(this);
  }

  callMethod(interfaceName, methodName, args, callback) {
    const id = this._nextMessageId;
    this._callbacks.set(id, callback || this._emitError);
    this._sendWithBuffering('call', interfaceName, methodName, args);
  }

  /** Like callMethod, but a call whose callback was lost with its connection is made
   * again, with the same arguments (the original dropped them), on the session's
   * current connection. */
  callMethodWithResend(interfaceName, methodName, args, callback) {
    this.callMethod(interfaceName, methodName, args, (error, ...results) => {
      if (error === errors.ERR_CALLBACK_LOST) {
        this.session.connection.callMethodWithResend(interfaceName, methodName, args, callback);
      } else if (callback) {
        callback(error, ...results);
      }
    });
  }

  _callback(messageId, error, result) {
    let text;
    try {
      text = error
        ? serde.compose('callback', messageId, null, 'error', RemoteError.getJstpArrayFor(error))
        : serde.compose('callback', messageId, null, 'ok', result);
    } catch (failure) {
      // A result that cannot be written (a cycle, a throwing toJSON) must not
      // crash the process from inside a method's callback.
      text = serde.compose('callback', messageId, null, 'error', [errors.ERR_INTERNAL_API_ERROR]);
      this._methodFailed(failure);
    }
    // A server's answer follows its session, which may be on another connection by now.
    if (this.server && this.session) this.session._sendAnswer(text);
    else this._send(text);
  }

  emitRemoteEvent(interfaceName, eventName, args) {
    this._sendWithBuffering('event', interfaceName, eventName, args);
  }

  /**
   * handshake(app[, session], callback) | handshake(app, login, password, callback)
   * `app` is 'name', 'name@range' or { name, version }.
   */
  handshake(app, login, password, callback) {
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
      this.session = login;
      strategy = 'session';
      credentials = [this.session.id, this.session.receivedCount];
    } else if (login) {
      strategy = 'login';
      credentials = [login, password];
    }
    const id = 0;
    const message = { handshake: version ? [id, name, version] : [id, name] };
    if (strategy) message[strategy] = credentials;
    if (!restoring) this._nextMessageId = this._messageIdDelta;

    const onClose = () => done(new RemoteError(errors.ERR_NO_HANDSHAKE_RESPONSE));
    const done = (error, ok) => {
      this.removeListener('close', onClose);
      this._callbacks.delete(id);
      if (restoring) {
        if (!error) {
          this.session._restore(this, ok);
          this.session._resendBufferedMessages();
          this._nextMessageId = this.session.latestBufferedMessageId + this._messageIdDelta;
          this._settleUnanswered(ok);
        }
        callback(error);
        return;
      }
      if (!error) {
        if (login && password) this.username = login;
        const forgotten = this.session;
        this.session = new Session(this, this.username, ok);
        // A new session after one the server forgot: the old one's calls can never
        // be answered. They fail now, before the new session issues an id, so a
        // call made again (callMethodWithResend) cannot meet an old one's id.
        if (forgotten) this._failPending();
      }
      callback(error, this.session);
    };
    this.once('close', onClose);
    this._callbacks.set(id, done);
    this._transmit(serde.stringify(message), message);
  }

  inspectInterface(interfaceName, callback) {
    const id = this._nextMessageId;
    this._callbacks.set(id, (error, ...methods) => {
      if (error) {
        if (callback) callback(error);
        else this.emit('error', error);
        return;
      }
      const proxy = new RemoteProxy(this, interfaceName, methods);
      this.remoteProxies[interfaceName] = proxy;
      if (callback) callback(null, proxy);
    });
    this._sendWithBuffering('inspect', interfaceName);
  }

  ping(callback) {
    this._callbacks.set(this._nextMessageId, callback || doNothing);
    this._sendWithBuffering('ping');
  }

  _pong(messageId) {
    if (this._closed) return;
    this._send(serde.compose('pong', messageId));
  }

  /** Pings every `interval` ms. With a heartbeat timeout (connkit: the client's or
   * server's `heartbeatTimeout`), a peer silent for that long is dropped. */
  startHeartbeat(interval) {
    this.stopHeartbeat();
    this._silentSince = 0;
    this._heartbeatTimer = setInterval(() => {
      if (this._closed) return;
      // Silence is counted from the first ping left unanswered by any message.
      const now = Date.now();
      if (!this._silentSince) this._silentSince = now;
      else if (this._heartbeatTimeout > 0 && now - this._silentSince >= this._heartbeatTimeout) {
        this._dropSilentPeer();
        return;
      }
      this.ping();
    }, interval);
  }

  stopHeartbeat() {
    if (this._heartbeatTimer) {
      clearInterval(this._heartbeatTimer);
      this._heartbeatTimer = null;
    }
  }

  /** The peer went silent: it is taken for gone. The socket is dropped (a client
   * then reconnects as after any other drop), and calls waiting for it fail with
   * ERR_CALLBACK_LOST at once, their messages taken out of the resend buffer
   * (callMethodWithResend makes them again). */
  _dropSilentPeer() {
    this._closed = true;
    this.stopHeartbeat();
    const transport = this.transport;
    if (typeof transport.destroy === 'function') transport.destroy();
    else transport.end();
    this._failPending();
    const error = new Error(`No message from the peer for ${this._heartbeatTimeout} ms`);
    error.code = 'ERR_HEARTBEAT_TIMEOUT';
    // 'close' follows in any case; an 'error' nobody listens for must not crash.
    if (this.listenerCount('error') > 0) this.emit('error', error, this);
  }


  /** Closes the socket for good: no reconnector runs, and a reconnect under way is
   * abandoned. An explicit jstp.net.reconnect() afterwards still works (the
   * session's buffered messages then go out). */
  close() {
    this._closes = (this._closes ?? 0) + 1;
    this._closed = true;
    this.closedIntentionally = true;
    this.stopHeartbeat();
    if (this.transport) this.transport.end();
  }

  getTransport() {
    return this.transport.getRawTransport();
  }

  /** Sends a call, event, inspect or ping with the next id, and keeps it for resending. */
  _sendWithBuffering(kind, target, verb, args) {
    const id = this._nextMessageId;
    this._nextMessageId += this._messageIdDelta;
    const text = serde.compose(kind, id, target, verb, args);
    this._send(text);
    this.session._bufferMessage(id, text);
    this._askForAck();
  }

  /** A pong acknowledges everything sent before its ping. */
  _askForAck() {
    if (this._ackPending || this._closed || this.session.buffer.size < ACK_AFTER) return;
    this._ackPending = true;
    this.ping(() => {
      this._ackPending = false;
      this._askForAck();
    });
  }

  /** Sends `text` once the handshake is done; until then (a restore under way)
   * buffered messages wait for the resend that follows it. */
  _send(text) {
    if (this.handshakeDone) this._transmit(text);
  }

  /** `message`, when the caller has it, saves re-reading `text` for logging. */
  _transmit(text, message) {
    if (this._closed) return;
    this.transport.send(text);
    if (LOGGING && this._logged('outgoingMessage')) {
      this._emitEventForLogging('outgoingMessage', message || serde.parse(text));
    }
  }

  /** Ends the connection, sending `message` last. */
  _end(message) {
    this._closed = true;
    this.stopHeartbeat();
    if (!this.transport) return;
    if (!message) {
      this.transport.end();
      return;
    }
    this.transport.end(serde.stringify(message));
    if (LOGGING) this._emitEventForLogging('outgoingMessage', message);
  }

  _onSocketClose() {
    this._closed = true;
    this.stopHeartbeat();
    this.emit('close', this);
    if (this.server && this.transport) this.server.emit('disconnect', this);
  }

  _onSocketError(error) {
    this._end();
    this.emit('error', error, this);
  }

  /** Nothing will answer the calls still waiting: tell their callers, and do not
   * resend them either. A client's handshake is left to its own close listener. */
  _failPending() {
    for (const [id, callback] of this._callbacks) {
      if (id === 0 && this.client) continue;
      this._callbacks.delete(id);
      if (this.session) this.session.buffer.delete(Math.abs(id));
      process.nextTick(callback, errors.ERR_CALLBACK_LOST);
    }
  }

  /** After a restore: calls the peer received (ids up to `receivedCount`) but never
   * answered. The original failed only some of them and left the rest waiting
   * forever. Answers sent while we were away may still be on their way (a connkit
   * server keeps them), so a ping goes first; what is still unanswered when its pong
   * returns is reported lost. */
  _settleUnanswered(receivedCount) {
    const unanswered = [];
    for (const id of this._callbacks.keys()) {
      if (id !== 0 && Math.abs(id) <= receivedCount) unanswered.push(id);
    }
    if (unanswered.length === 0) return;
    this.ping(() => {
      for (const id of unanswered) {
        const callback = this._callbacks.get(id);
        if (callback) {
          this._callbacks.delete(id);
          callback(errors.ERR_CALLBACK_LOST);
        }
      }
    });
  }

  _processMessage(message) {
    this._silentSince = 0;
    const keys = Object.keys(message);
    if (keys.length === 0) {
      if (LOGGING) this._emitEventForLogging('heartbeat', message); // old-style '{}'
      return;
    }
    if (LOGGING) this._emitEventForLogging('incomingMessage', message);
    const kind = keys[0];
    if (!this.handshakeDone && kind !== 'handshake') {
      this._rejectMessage(message, true);
      return;
    }
    const handler = HANDLERS[kind];
    if (!handler) this._rejectMessage(message);
    else if (!validHeader(kind, message[kind])) this._invalidMessage(message, kind);
    else handler.call(this, message, keys);
  }

  /** A known kind with a header no peer of ours sends (`{call:null}`, an id that is
   * no integer): the original threw on it, out of the socket's read, and the
   * process died. The connection is closed, with an error saying why. */
  _invalidMessage(message, kind) {
    this._rejectMessage(message, true);
    const error = new Error(`Invalid JSTP message: the ${kind} header is not [id, ...] with an integer id`);
    error.code = 'ERR_JSTP_INVALID_MESSAGE';
    if (this.listenerCount('error') > 0) this.emit('error', error, this);
  }

  _rejectMessage(message, fatal) {
    this._emitEventForLogging('messageRejected', message);
    if (fatal) this._end();
  }

  _processHandshake(message, keys) {
    if (this.handshakeDone) this._rejectMessage(message, true);
    else if (message.handshake[1]) this._processHandshakeRequest(message, keys);
    else this._processHandshakeResponse(message);
  }

  _processHandshakeRequest(message, keys) {
    if (!this.server) {
      this._handshakeError(errors.ERR_NOT_A_SERVER);
      return;
    }
    const [, applicationName, requestedVersion] = message.handshake;
    this.requestedVersion = requestedVersion;
    const application = this.server._getApplication(applicationName, requestedVersion);
    if (!application) {
      this._handshakeError(errors.ERR_APP_NOT_FOUND);
      return;
    }
    if (!this.requestedVersion) this.requestedVersion = String(semver.major(application.version));
    this.application = application;
    const strategy = keys[1] || 'anonymous';
    const credentials = keys[1] && message[keys[1]];
    if (strategy === 'session') {
      this.server.restoreSession(this, application, credentials, (e, u, s) => this._onSessionRestored(e, u, s));
    } else {
      this.server.startSession(this, application, strategy, credentials, (e, u, s) => this._onSessionCreated(e, u, s));
    }
    this.server.emit('handshakeRequest', this, applicationName, strategy);
  }

  _onSessionCreated(error, username, session) {
    if (!this._accept(error, username, session)) return;
    this.server.emit('connect', this);
    this._sendHandshakeOk(session.id);
  }

  _onSessionRestored(error, username, session) {
    if (!this._accept(error, username, session)) return;
    this.server.emit('reconnect', this);
    this._sendHandshakeOk(session.receivedCount);
    session._resendBufferedMessages();
    // Ids go on from the last one used. (The original's server stepped back toward
    // zero here and reused ids, overwriting messages still in its resend buffer.)
    this._nextMessageId = session.latestBufferedMessageId + this._messageIdDelta;
    this._settleUnanswered(session.guaranteedDeliveredCount);
  }

  /** Ends the handshake of a session started or restored: with an error, or (when the
   * connection is still open) by taking the session. Whether it was taken. */
  _accept(error, username, session) {
    if (this._closed) return false; // the handshake timed out, or the client left, meanwhile
    if (error) {
      this._handshakeError(error);
      return false;
    }
    this.username = username;
    this.session = session;
    this.handshakeDone = true;
    this.emit('client', session, this);
    return true;
  }

  _sendHandshakeOk(ok) {
    const message = { handshake: [0], ok };
    if (this._nextMessageId === 0) this._nextMessageId = this._messageIdDelta;
    this._transmit(serde.stringify(message), message);
  }

  _processHandshakeResponse(message) {
    const id = message.handshake[0];
    const callback = this._callbacks.get(id);
    this._emitEventForLogging('handshake', message.error, message.ok);
    if (!callback) {
      this._rejectMessage(message);
      return;
    }
    if (message.ok !== undefined) {
      this.handshakeDone = true;
      this.application = this.client.application;
      this.hasConnected = true;
      callback(null, message.ok);
    } else if (message.error) {
      callback(RemoteError.fromJstpArray(message.error));
    } else {
      this._rejectMessage(message, true);
    }
  }

  _handshakeError(error) {
    this._end({ handshake: [0], error: RemoteError.getJstpArrayFor(error) });
  }

  _processCall(message, keys) {
    const id = message.call[0];
    const interfaceName = message.call[1];
    const methodName = keys[1];
    const args = message[methodName];
    const callback = (error, ...result) => this._callback(id, error, result);
    this.session._onMessageReceived(id);
    if (!args) {
      callback(errors.ERR_INVALID_SIGNATURE);
      return;
    }
    this._emitEventForLogging('call', interfaceName, methodName, args);
    try {
      this.application.callMethod(this, interfaceName, methodName, args, callback);
    } catch (error) {
      callback(errors.ERR_INTERNAL_API_ERROR);
      this._methodFailed(error, interfaceName, methodName);
    }
  }

  /** A method threw or rejected. The original re-threw, crashing the server; connkit
   * answers ERR_INTERNAL_API_ERROR and reports the error as the server's
   * 'methodError' (connkit), or as a process warning when nobody listens. */
  _methodFailed(error, interfaceName, methodName) {
    const owner = this.server ?? this;
    if (owner.listenerCount('methodError') > 0) owner.emit('methodError', error, this, interfaceName, methodName);
    else process.emitWarning(error instanceof Error ? error : String(error), { code: 'JSTP_METHOD_ERROR' });
  }

  _processCallback(message) {
    const id = message.callback[0];
    const callback = this._callbacks.get(id);
    this._emitEventForLogging('callback', message.error, message.ok);
    this.session._onCallbackMessageReceived(id);
    if (callback) {
      this._callbacks.delete(id);
      if (message.ok) {
        callback(null, ...message.ok);
        return;
      }
      if (message.error) {
        callback(RemoteError.fromJstpArray(message.error));
        return;
      }
    }
    this._rejectMessage(message);
  }

  _processEvent(message, keys) {
    const interfaceName = message.event[1];
    const eventName = keys[1];
    const args = message[eventName];
    this._emitEventForLogging('event', interfaceName, eventName, args);
    this.session._onMessageReceived(message.event[0]);
    if (!Array.isArray(args)) {
      this._rejectMessage(message);
      return;
    }
    // The name comes from the wire: `__proto__` is no proxy of ours.
    const proxy = Object.hasOwn(this.remoteProxies, interfaceName) ? this.remoteProxies[interfaceName] : undefined;
    if (proxy) proxy._emitLocal(eventName, args);
    if (this.application && this.application.handleEvent) {
      this.application.handleEvent(this, interfaceName, eventName, args);
    }
  }

  _processInspect(message) {
    const [id, interfaceName] = message.inspect;
    this._emitEventForLogging('inspect', interfaceName);
    this.session._onMessageReceived(id);
    const methods = this.application.getMethods(interfaceName);
    if (methods) this._callback(id, null, methods);
    else this._callback(id, errors.ERR_INTERFACE_NOT_FOUND);
  }

  _processPing(message) {
    const id = message.ping[0];
    this._pong(id);
    this.session._onMessageReceived(id);
  }

  _processPong(message) {
    const id = message.pong[0];
    this.session._onCallbackMessageReceived(id);
    const callback = this._callbacks.get(id);
    if (callback) {
      this._callbacks.delete(id);
      callback();
    }
  }

  /** Whether anyone listens for logging `event` (skips building what nobody reads). */
  _logged(event) {
    const target = this.client?.logger ?? this;
    return target.listenerCount(event) > 0 || (this.server && this.server.listenerCount('log') > 0);
  }

  _emitEventForLogging(event, ...args) {
    if (!this._logged(event)) return;
    if (this.client && this.client.logger) this.client.logger.emit(event, ...args);
    else this.emit(event, ...args);
    if (this.server) this.server.emit('log', this, event, ...args);
  }
}

/** `[id, ...]` with a safe integer id; calls, events and inspects also name an
 * interface. */
function validHeader(kind, header) {
  if (!Array.isArray(header) || !Number.isSafeInteger(header[0])) return false;
  return !NAMED.has(kind) || typeof header[1] === 'string';
}
const NAMED = new Set(['call', 'event', 'inspect']);

const HANDLERS = {
  handshake: Connection.prototype._processHandshake,
  call: Connection.prototype._processCall,
  callback: Connection.prototype._processCallback,
  event: Connection.prototype._processEvent,
  inspect: Connection.prototype._processInspect,
  ping: Connection.prototype._processPing,
  pong: Connection.prototype._processPong,
};

module.exports = Connection;
