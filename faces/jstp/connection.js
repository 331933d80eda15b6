'use strict';

// A JSTP connection, client or server side, over a transport: an EventEmitter with
// send(text), end([text]), getRawTransport() and the events message (a parsed
// message), error and close. The transports connkit ships run on the native core;
// users may bring their own (see the seed: `new Connection(transport, server, client)`).
//
// This class holds the connection's state, its public API, the transport and what
// goes out on it. The rest is in connection/: the handshake, the dispatch of
// incoming messages, the heartbeat, the session bookkeeping and where logging
// events go. The original's methods stay on the class, delegating there, so code
// written against the original's Connection (underscore methods included) works.

const { EventEmitter } = require('node:events');
const serde = require('./serde');
const errors = require('./errors');
const RemoteProxy = require('./remote-proxy');
const { reconnectWith } = require('./reconnect');
const handshake = require('./connection/handshake');
const dispatch = require('./connection/dispatch');
const { Heartbeat, dropSilentPeer } = require('./connection/heartbeat');
const { sendWithBuffering } = require('./connection/bookkeeping');
const { LOGGING, logged, emitForLogging } = require('./connection/logging');

const doNothing = () => {};

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
    this._heartbeat = new Heartbeat((client ?? server).heartbeatTimeout ?? 0, {
      closed: () => this._closed,
      ping: () => this.ping(),
      silent: (timeout) => dropSilentPeer(this, timeout),
      timers: () => this.transport?.timers,
    });
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
    // As in the original, any client connection that loses an established socket
    // goes to its client's reconnector, however it was made.
    if (client) {
      this.once('close', () => {
        if (this.hasConnected) this._reconnectHandler();
        // Never connected (its handshake failed): nothing to restore, and a socket
        // that redials by itself stops.
        else if (this.transport?.redials) this.transport.end();
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
    reconnectWith(this);
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
    dispatch.answer(this, messageId, error, result);
  }

  emitRemoteEvent(interfaceName, eventName, args) {
    this._sendWithBuffering('event', interfaceName, eventName, args);
  }

  /**
   * handshake(app[, session], callback) | handshake(app, login, password, callback)
   * `app` is 'name', 'name@range' or { name, version }.
   */
  handshake(app, login, password, callback) {
    handshake.clientHandshake(this, app, login, password, callback);
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
    dispatch.pong(this, messageId);
  }

  /** Pings every `interval` ms. With a heartbeat timeout (connkit: the client's or
   * server's `heartbeatTimeout`), a peer silent for that long is dropped. */
  startHeartbeat(interval) {
    this._heartbeat.start(interval);
  }

  stopHeartbeat() {
    this._heartbeat.stop();
  }

  /** The original's timer property: the heartbeat's interval, or null. */
  get _heartbeatTimer() {
    return this._heartbeat.timer;
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
    sendWithBuffering(this, kind, target, verb, args);
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
    if (LOGGING && logged(this, 'outgoingMessage')) {
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
    // A socket that redials by itself reports why it dropped, and is not over.
    if (!this.transport?.redials) this._end();
    this.emit('error', error, this);
  }

  _processMessage(message) {
    this._heartbeat.heard();
    dispatch.processMessage(this, message);
  }

  _rejectMessage(message, fatal) {
    dispatch.rejectMessage(this, message, fatal);
  }

  _methodFailed(error, interfaceName, methodName) {
    dispatch.methodFailed(this, error, interfaceName, methodName);
  }

  _processHandshakeRequest(message, keys) {
    handshake.processHandshakeRequest(this, message, keys);
  }

  _onSessionCreated(error, username, session) {
    handshake.onSessionCreated(this, error, username, session);
  }

  _onSessionRestored(error, username, session) {
    handshake.onSessionRestored(this, error, username, session);
  }

  _processHandshakeResponse(message) {
    handshake.processHandshakeResponse(this, message);
  }

  _handshakeError(error) {
    handshake.handshakeError(this, error);
  }

  _emitEventForLogging(event, ...args) {
    emitForLogging(this, event, ...args);
  }
}

module.exports = Connection;
