'use strict';

// thrift's WebSocket connection on the core: the handshake (hyper) and framing
// (tungstenite's frame header) are native, and so is finding thrift messages in
// the messages for buffered binary/compact and framed transports. Each flushed call
// leaves as one WebSocket message, as the original's `ws` sends it.

const { EventEmitter } = require('node:events');
const thrift = require('./peer');
const { Connection: CoreConnection } = require('../..');
const { framingFor, framingOptions, messageReader, payloadOf, receiveWhole } = require('./stack');
const { dispatch, failAll } = require('./replies');
const { createClient } = require('./connection');
const { clientTls } = require('./tls');

const { TBufferedTransport, TJSONProtocol } = thrift;

// RFC 6455 §7.4.1: the connection closed without a close frame.
const ABNORMAL = 1006;

class WSConnection extends EventEmitter {
  constructor(host, port, options = {}) {
    super();
    this.options = options;
    this.host = host;
    this.port = port;
    this.secure = options.secure || false;
    this.transport = options.transport || TBufferedTransport;
    this.protocol = options.protocol || TJSONProtocol;
    this.path = options.path;
    this.send_pending = [];
    this.seqId2Service = {};
    this.wsOptions = { host: this.host, port: this.port || 80, path: options.path || '/', headers: options.headers || {}, ...options.wsOptions };
    this.socket = null;
  }

  get headers() {
    return this.wsOptions.headers;
  }

  /** Open, and not closing (as the original's readyState OPEN). */
  isOpen() {
    return this.socket !== null && !this.socket.connecting && !this.socket.closing;
  }

  /** Opens the socket unless it is open or opening; calls written before go first. */
  open() {
    if (this.socket) return;
    const framing = framingOptions(this.transport, this.protocol, this.options.maxFrameSize);
    const tls = this.secure ? clientTls(this.wsOptions) : {};
    const socket = new CoreConnection({
      host: this.host,
      port: Number(this.port) || (this.secure ? 443 : 80),
      ...tls,
      websocket: { path: this.path || '/', headers: this.wsOptions.headers },
      ...framing,
    });
    this.socket = socket;
    this._native = framingFor(this.transport, this.protocol) !== null;
    this._closeFrame = null;
    const read = this._native ? messageReader(this.transport) : null;
    socket.on('connect', () => this.emit('open'));
    socket.on('frame', (bytes) => {
      if (this.listenerCount('message') > 0) this.emit('message', Buffer.from(bytes));
      // Unframed (JSON), each message holds whole replies, as the original reads them.
      if (read) dispatch(this, read(bytes), false);
      else receiveWhole(this.transport, bytes, (transport) => dispatch(this, transport, true));
    });
    socket.on('closeframe', (code, reason) => {
      this._closeFrame = [code, reason];
    });
    socket.on('error', (error) => this.emit('error', error));
    socket.on('close', () => {
      this.socket = null;
      this.send_pending = [];
      const cause = Object.assign(new Error('The WebSocket closed before the reply'), { code: 'ECONNRESET' });
      failAll(this, cause);
      const [code, reason] = this._closeFrame || [ABNORMAL, ''];
      this.emit('close', code, reason);
    });
    for (const data of this.send_pending) this._send(data);
    this.send_pending = [];
  }

  /** Closes with a close frame carrying `code` and `reason`, if given. A server that
   * neither answers nor hangs up (thrift's own web server does neither) is cut off
   * after `closeTimeout` ms (connkit's option; 30 s, as the original's `ws`). */
  close(code, reason) {
    if (this.socket) this.socket.closeWebSocket(code, reason ?? '', this.options.closeTimeout ?? 30000);
  }

  write(data) {
    if (this.socket) this._send(data);
    else this.send_pending.push(data);
  }

  _send(data) {
    this.socket.write(payloadOf(this.transport, this._native, data));
  }

  uri() {
    const schema = this.secure ? 'wss' : 'ws';
    const port = this.port && ((schema === 'wss' && this.port !== 443) || (schema === 'ws' && this.port !== 80)) ? `:${this.port}` : '';
    return `${schema}://${this.host}${port}${this.path || '/'}`;
  }
}

const createWSConnection = (host, port, options) => new WSConnection(host, port, options);

module.exports = { WSConnection, createWSConnection, createWSClient: createClient };
