'use strict';

// The ipc.Client: one core Client on the server's unix socket, reconnecting on the
// original's schedule (./schedule.js). It keeps the original's events apart: a
// failed attempt is 'connectError', a lost server 'disconnect'; the wait that
// follows a loss is neither.

const { EventEmitter } = require('node:events');
const { Client: CoreClient } = require('../..');
const { SendAfterCloseError, NoServerError } = require('./errors');
const { reconnectSchedule } = require('./schedule');
const { framingFor, createEncoder, readMessages, emitClose, topicOf, checkSocketFile } = require('./messages');

/** `number | {min, max}` with the document's defaults for missing bounds. */
function delayRange(value, fallback) {
  if (Number.isInteger(value)) return { min: value, max: value };
  if (value && typeof value === 'object') return { min: value.min || fallback, max: value.max || fallback };
  return { min: fallback, max: fallback };
}

class Client extends EventEmitter {
  /**
   * @param {object} options
   * @param {string} options.socketFile - The unix socket file to connect to.
   * @param {object} [options.transcoder] - A custom transcoder (default: JSON).
   * @param {number|{min:number,max:number}} [options.retryDelay=1000] - Wait between attempts.
   * @param {number|{min:number,max:number}} [options.reconnectDelay=100] - Wait after a disconnect.
   * @param {number} [options.maxFrameSize] - connkit: largest message accepted.
   */
  constructor(options = {}) {
    super();
    checkSocketFile(options.socketFile);
    this._socketFile = options.socketFile;
    this._transcoder = options.transcoder || null;
    this._maxFrameSize = options.maxFrameSize;
    this._encoder = createEncoder(this._transcoder);
    this._retryDelay = delayRange(options.retryDelay, 1000);
    // The document says 100 ms; the original's code used 1000 ms.
    this._reconnectDelay = delayRange(options.reconnectDelay, 100);
    this._conn = null;
    this._connected = false;
    this._everConnected = false;
    this._afterDisconnect = false;
    this._explicitClose = false;
  }

  connect() {
    if (this._conn || this._explicitClose) {
      process.nextTick(() => this.emit('error', new Error('ipc.Client.connect() already called.')));
      return;
    }
    const conn = new CoreClient({
      path: this._socketFile,
      ...framingFor(this._transcoder, this._maxFrameSize),
      reconnect: reconnectSchedule(this._retryDelay, this._reconnectDelay),
    });
    this._conn = conn;
    conn.on('connect', () => {
      this._connected = true;
      this.emit('connect', conn);
      if (this._everConnected) this.emit('reconnect', conn);
      this._everConnected = true;
    });
    conn.on('reconnecting', ({ error }) => {
      // The wait that follows a disconnect is not a failed attempt.
      if (this._afterDisconnect) this._afterDisconnect = false;
      else if (!this._explicitClose) this.emit('connectError', error);
    });
    conn.on('disconnect', (err) => {
      this._connected = false;
      this._afterDisconnect = true;
      if (err) this.emit('error', err); // socket errors are repeated, as documented
      if (!this._explicitClose) this.emit('disconnect');
    });
    conn.on('error', (err) => this.emit('error', err));
    conn.on('close', () => {
      this._connected = false;
      emitClose(this);
    });
    // A custom decoder that failed leaves this socket unreadable: drop it and
    // reconnect as after any lost socket; after close() it is closing anyway.
    readMessages(conn, this._transcoder, this, undefined, () => {
      if (!this._explicitClose) conn.reconnect();
    });
  }

  close() {
    if (this._explicitClose) return;
    this._explicitClose = true;
    if (this._conn) this._conn.close();
    // Never connected: the document still promises 'close'.
    else process.nextTick(() => emitClose(this));
  }

  send(topic, message) {
    if (this._explicitClose) {
      this.emit('error', new SendAfterCloseError("Can not 'send()' after 'close()'.", message, topic));
      return;
    }
    if (!this._connected) {
      this.emit('error', new NoServerError('Can not send, no active server connection.', message, topic));
      return;
    }
    this._encoder({ topic: topicOf(topic), message }, (err, data) => {
      if (err) this.emit('error', err);
      else if (data !== null && data !== undefined) this._conn.write(data);
    });
  }
}

module.exports = { Client };
