'use strict';

// A JSTP session: what survives a dropped socket. Each side keeps every call, event,
// inspect and ping it sent, as sent, until the peer is known to have received it, and
// resends the rest when the session is restored on a new connection. A server's
// answers made while the client was away wait in the session too, so they reach the
// client wherever this session object is restored (another Connection, another
// server sharing the store). They are not part of its string form: a provider that
// stores sessions as strings stores them when their connection closes, before any
// such answer, and the original's fromString accepts only its own fields.

const { randomUUID } = require('node:crypto');

const MAX_UNSENT = 4096; // answers kept for a client that is away

class Session extends Map {
  constructor(connection, username, sessionId, state) {
    super(state);
    this.id = sessionId || randomUUID();
    this.connection = connection;
    this.username = username;
    this.guaranteedDeliveredCount = 0;
    this.buffer = new Map(); // |id| -> message text
    this.receivedCount = 0; // |id| of the latest call, event, inspect or ping received
    this.latestBufferedMessageId = 0;
    Object.defineProperty(this, '_unsentAnswers', { value: [], writable: true }); // server side
    Object.preventExtensions(this);
  }

  /** For storage providers: the session as a string (`fromString` reads it back). */
  toString() {
    const replacer = (key, value) => {
      if (key === 'connection') return undefined;
      if (key === 'buffer') return Array.from(value);
      return value;
    };
    return JSON.stringify({ ...this, storage: Array.from(this) }, replacer);
  }

  static fromString(text) {
    const revive = (key, value) => (key === 'buffer' || key === 'storage' ? new Map(value) : value);
    const { storage, ...fields } = JSON.parse(text, revive);
    return Object.assign(new Session(null, null, null, storage), fields);
  }

  _bufferMessage(id, text) {
    this.buffer.set(Math.abs(id), text);
    this.latestBufferedMessageId = id;
  }

  _onMessageReceived(id) {
    this.receivedCount = Math.abs(id);
  }

  /** A callback or pong for `id`: the peer reads in order, so it has received
   * everything up to `id` and none of it needs resending. */
  _onCallbackMessageReceived(id) {
    this._acknowledge(Math.abs(id));
    this.guaranteedDeliveredCount = Math.max(this.guaranteedDeliveredCount, this._sentUpTo(Math.abs(id)));
  }

  /** Moves the session onto `connection`, whose peer has received our messages up
   * to `receivedCount`: those need no resending. */
  _restore(connection, receivedCount) {
    this.connection = connection;
    this._acknowledge(receivedCount);
    this.guaranteedDeliveredCount = this._sentUpTo(receivedCount);
  }

  /** The peer's count, no higher than what we sent: a peer that claims 1e15 would
   * otherwise make us count up to it, and leave later messages unacknowledged. */
  _sentUpTo(count) {
    return Math.min(count, Math.abs(this.latestBufferedMessageId));
  }

  /** Drops the buffered messages from the last acknowledged one up to `count`. */
  _acknowledge(count) {
    const upTo = this._sentUpTo(count);
    for (let i = this.guaranteedDeliveredCount + 1; i <= upTo; i++) this.buffer.delete(i);
  }

  /** Server side: an answer goes out on the session's connection, or waits for the
   * client's return while that is closed. At most MAX_UNSENT wait, the oldest going
   * first: a restored client fails calls left unanswered with ERR_CALLBACK_LOST. */
  _sendAnswer(text) {
    if (this.connection && !this.connection._closed) this.connection._send(text);
    else if (this._unsentAnswers.push(text) > MAX_UNSENT) this._unsentAnswers.shift();
  }

  _resendBufferedMessages() {
    for (const text of this.buffer.values()) this.connection._send(text);
    const answers = this._unsentAnswers;
    this._unsentAnswers = [];
    for (const text of answers) this.connection._send(text);
  }
}

module.exports = Session;
