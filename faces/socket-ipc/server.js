'use strict';

// The ipc.Server: a core server on a unix socket whose connections get an id each,
// for send() to one client and broadcast() to all; messages are encoded once per
// broadcast.

const { EventEmitter } = require('node:events');
const { randomUUID } = require('node:crypto');
const { createServer } = require('../..');
const { SendAfterCloseError, BadClientError } = require('./errors');
const { framingFor, createEncoder, readMessages, emitClose, topicOf, checkSocketFile } = require('./messages');

class Server extends EventEmitter {
  /**
   * @param {object} options
   * @param {string} options.socketFile - The unix socket file to listen on.
   * @param {object} [options.transcoder] - A custom transcoder (default: JSON).
   * @param {number} [options.maxFrameSize] - connkit: largest message accepted.
   */
  constructor(options = {}) {
    super();
    checkSocketFile(options.socketFile);
    this._socketFile = options.socketFile;
    this._transcoder = options.transcoder || null;
    this._maxFrameSize = options.maxFrameSize;
    this._encoder = createEncoder(this._transcoder);
    this._server = null;
    this._closeCalled = false;
    // client id -> connection, in connection order.
    this._clients = new Map();
  }

  listen() {
    if (this._server) {
      process.nextTick(() => this.emit('error', new Error('Can not listen twice.')));
      return;
    }
    const server = createServer({ path: this._socketFile, ...framingFor(this._transcoder, this._maxFrameSize) });
    this._server = server;
    server.on('listening', () => this.emit('listening'));
    server.on('error', (err) => this.emit('error', err));
    server.on('close', () => emitClose(this));
    server.on('connection', (conn) => this._accept(conn));
    server.listen();
  }

  _accept(conn) {
    const id = randomUUID();
    this._clients.set(id, conn);
    const forget = () => this._clients.delete(id);
    conn.on('end', forget);
    conn.on('close', forget);
    // Documented: errors of client sockets are repeated here (the original never
    // listens, so one bad client kills its server).
    conn.on('error', (err) => this.emit('error', err));
    this.emit('connection', id, conn);
    // Undecodable input drops that client's socket, as the original's code does.
    readMessages(conn, this._transcoder, this, id, () => conn.destroy());
  }

  close() {
    if (this._closeCalled) return;
    this._closeCalled = true;
    if (!this._server) {
      process.nextTick(() => emitClose(this));
      return;
    }
    this._server.close();
    for (const conn of this._clients.values()) conn.end();
  }

  broadcast(topic, message) {
    if (this._closeCalled) {
      this.emit('error', new SendAfterCloseError("Can not '.broadcast()' after '.close()'", message, topic));
      return;
    }
    // Encoded once for every client.
    this._encoder({ topic: topicOf(topic), message }, (err, data) => {
      if (err) this.emit('error', err);
      else if (data !== null && data !== undefined) {
        const bytes = typeof data === 'string' ? Buffer.from(data) : data;
        for (const conn of this._clients.values()) conn.write(bytes);
      }
    });
  }

  send(topic, message, clientId) {
    if (this._closeCalled) {
      this.emit('error', new SendAfterCloseError("Can not '.send()' after '.close()'", message, topic));
      return;
    }
    const conn = this._clients.get(clientId);
    if (conn === undefined) {
      this.emit('error', new BadClientError(`Invalid client id: ${clientId}`, message, topic, clientId));
      return;
    }
    this._encoder({ topic: topicOf(topic), message }, (err, data) => {
      if (err) this.emit('error', err);
      else if (data !== null && data !== undefined) conn.write(data);
    });
  }
}

module.exports = { Server };
