'use strict';

// thrift's HTTP connections on the core's HTTP client: each flushed call is one POST
// on a pooled keep-alive connection (TCP, TLS or a unix socket), its reply decoded
// from the response body. Calls whose request fails (a status other than 200, a
// reset, a timeout) fail with that error; the original left them waiting.
// XHRConnection, in Node, is the same over `host:port` with the original XHR one's
// methods (the browser build has the real XMLHttpRequest one).

const { EventEmitter } = require('node:events');
const thrift = require('./peer');
const { HttpClient } = require('../../lib/http-client');
const { dispatch, failCall } = require('./replies');
const { createClient } = require('./connection');
const { receiveWhole } = require('./stack');
const { clientTls } = require('./tls');

const { TBufferedTransport, TBinaryProtocol, TJSONProtocol, Thrift } = thrift;

/** A reply with a status other than 200, as the original names it. */
class THTTPException extends Thrift.TApplicationException {
  constructor(response) {
    super(Thrift.TApplicationExceptionType.PROTOCOL_ERROR, `Received a response with a bad HTTP status code: ${response.statusCode}`);
    this.name = 'THTTPException';
    this.statusCode = response.statusCode;
    this.response = response;
  }
}

class HttpConnection extends EventEmitter {
  constructor(options = {}) {
    super();
    this.options = options;
    this.host = options.host;
    this.port = options.port;
    this.socketPath = options.socketPath;
    this.https = options.https || false;
    this.transport = options.transport || TBufferedTransport;
    this.protocol = options.protocol || TBinaryProtocol;
    this.nodeOptions = {
      host: this.host,
      port: this.port,
      socketPath: this.socketPath,
      path: options.path || '/',
      method: 'POST',
      headers: options.headers || {},
      responseType: options.responseType || null,
      ...options.nodeOptions,
    };
    if (!this.nodeOptions.headers.Connection) this.nodeOptions.headers.Connection = 'keep-alive';
    this.seqId2Service = {};
    this._http = null; // made on the first write, from nodeOptions as they are then
    this._closed = false;
  }

  get headers() {
    return this.nodeOptions.headers;
  }

  get path() {
    return this.nodeOptions.path;
  }

  isOpen() {
    return !this._closed;
  }

  open() {
    this._closed = false;
  }

  /** Lets the pooled connections go; calls in flight are still answered. */
  close() {
    this._closed = true;
    if (this._http) this._http.close();
    this._http = null;
  }

  /** `data` comes from a transport's flush; `seqid` is the call it carries. */
  write(data, seqid) {
    if (this._closed) {
      this._fail(seqid, Object.assign(new Error('The HTTP connection is closed'), { code: 'ERR_THRIFT_CLOSED' }));
      return;
    }
    if (!this._http) {
      try {
        this._http = new HttpClient(this._clientOptions());
      } catch (error) {
        // Options the core refuses (a TLS option it cannot honour, a bad type) fail the call.
        this._fail(seqid, error);
        return;
      }
    }
    this._http.request(data, (error, status, body) => {
      if (error) return this._fail(seqid, error);
      if (status !== 200) return this._fail(seqid, new THTTPException({ statusCode: status, body }));
      this._receive(body);
    });
  }

  /** Hands the replies in a 200 response's body to the calls waiting on them. */
  _receive(body) {
    receiveWhole(this.transport, body, (transport) => dispatch(this, transport, true));
  }

  _clientOptions() {
    const o = this.nodeOptions;
    const headers = { ...o.headers };
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/x-thrift';
    const agent = o.agent && typeof o.agent === 'object' ? o.agent.options || o.agent : {};
    const where = o.socketPath ? { path: o.socketPath } : { host: o.host ?? o.hostname ?? 'localhost', port: Number(o.port) || (this.https ? 443 : 80) };
    // Node's TLS options sit in nodeOptions, as https.request takes them.
    const tls = this.https ? clientTls(o) : {};
    return {
      ...where,
      ...tls,
      requestPath: o.path,
      headers,
      keepAlive: o.agent === false ? false : (agent.keepAlive ?? o.keepAlive ?? true),
      maxSockets: agent.maxSockets ?? o.maxSockets,
      maxFreeSockets: agent.maxFreeSockets ?? o.maxFreeSockets,
      timeout: o.timeout,
    };
  }

  /** The call carried by a failed request fails; 'error' is emitted to those who listen. */
  _fail(seqid, error) {
    if (seqid !== undefined && seqid !== null) failCall(this, seqid, error);
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

/** The original's XHRConnection, its fields and methods, on the HTTP client: in Node
 * there is no XMLHttpRequest. */
class XHRConnection extends HttpConnection {
  constructor(host, port, options = {}) {
    const https = options.https || false;
    super({
      host: host || 'localhost',
      port: port === undefined || port === '' ? undefined : Number(port),
      https,
      path: options.path,
      headers: options.headers || {},
      transport: options.transport || TBufferedTransport,
      protocol: options.protocol || TJSONProtocol,
      nodeOptions: { timeout: options.timeout, ...options.nodeOptions },
    });
    this.options = options; // the caller's object, as the original keeps it
    this.useCORS = options.useCORS;
    const prefix = https ? 'https://' : 'http://';
    const shown = !port || Number(port) === 80 ? '' : `:${port}`;
    // Shown as the original builds it; requests go to host, port and path.
    this.url = `${prefix}${host || 'localhost'}${shown}${options.path || '/'}`;
    this.send_buf = '';
    this.recv_buf = '';
    this.wpos = 0;
    this.rpos = 0;
  }

  /** Null: requests go out on the core's HTTP client, and flush() asks for no XHR
   * object. (The original threw "Your browser doesn't support XHR." in Node.) */
  getXmlHttpRequestObject() {
    return null;
  }

  /** Always true, as the original's: each call is a request of its own. */
  isOpen() {
    return true;
  }

  open() {}

  /** Lets the pooled keep-alive connections go (a browser owns them for XHR); the
   * connection stays usable, as after the original's no-op close(). */
  close() {
    if (this._http) this._http.close();
    this._http = null;
  }

  /** `buf` becomes the send buffer and goes out; `seqid` is the call failed if its
   * request fails. */
  write(buf, seqid) {
    this.send_buf = buf;
    this.flush(seqid);
  }

  /** POSTs the send buffer; its reply goes through setRecvBuffer(). Without a url it
   * returns the send buffer instead, as the original. */
  flush(seqid) {
    if (this.url === undefined || this.url === '') return this.send_buf;
    super.write(this.send_buf, seqid);
  }

  // THRIFT-4987 ("TProtocolException: Bad version in readMessageBegin when using XHR
  // client with C++ server", fixed in 0.23): the original took every reply as the XHR's
  // text and encoded it back to bytes as UTF-8, so each byte from 0x80 up (the binary
  // protocol's version, the compact protocol's id) became two and readMessageBegin
  // threw. Now it takes the binary protocols' replies as bytes, JSON's as text. Here a
  // reply is its bytes as they came, but a buffered JSON reply is its text, as the
  // original's readAll() and read() give it; a framed one's length prefix is binary,
  // so it stays bytes.
  _receive(body) {
    const text = this.protocol === TJSONProtocol && this.transport === TBufferedTransport;
    this.setRecvBuffer(text ? body.toString() : body);
  }

  /** Decodes `buf`, a reply, for the calls waiting on it: text is encoded as UTF-8, as
   * the original does; bytes (a Buffer, typed array or ArrayBuffer, which the fixed
   * original passes for binary replies) are taken as they are. */
  setRecvBuffer(buf) {
    const bytes = typeof buf === 'string' ? Buffer.from(buf) : asBuffer(buf);
    this.recv_buf = buf;
    // read() counts a text's characters and others' bytes (0.24 took an ArrayBuffer's
    // `length`, which it has not).
    this.recv_buf_sz = typeof buf === 'string' ? buf.length : bytes.length;
    this.wpos = this.recv_buf_sz;
    this.rpos = 0;
    super._receive(bytes);
  }

  /** connkit: the receive buffer, as readAll() (the original has no getter of it). */
  getRecvBuffer() {
    return this.recv_buf;
  }

  /** The next `len` characters of a text reply, or bytes (a copy) of another. The
   * original read from `read_buf`, which it never set, and threw. */
  read(len) {
    const start = this.rpos;
    this.rpos = Math.min(start + Math.max(len, 0), this.wpos);
    if (typeof this.recv_buf === 'string') return this.recv_buf.substring(start, this.rpos);
    return Buffer.from(asBuffer(this.recv_buf).subarray(start, this.rpos));
  }

  readAll() {
    return this.recv_buf;
  }

  getSendBuffer() {
    return this.send_buf;
  }
}

/** A Buffer over the same memory as a typed array or an ArrayBuffer. */
function asBuffer(bytes) {
  if (Buffer.isBuffer(bytes)) return bytes;
  if (ArrayBuffer.isView(bytes)) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Buffer.from(bytes);
}

// As the original, the options object given becomes the connection's, with these set.
function createHttpConnection(host, port, options = {}) {
  options.host = host;
  options.port = port || 80;
  return new HttpConnection(options);
}

function createHttpUDSConnection(path, options = {}) {
  options.socketPath = path;
  return new HttpConnection(options);
}

const createXHRConnection = (host, port, options) => new XHRConnection(host, port, options);

module.exports = {
  HttpConnection,
  XHRConnection,
  THTTPException,
  createHttpConnection,
  createHttpUDSConnection,
  createHttpClient: createClient,
  createXHRConnection,
  createXHRClient: createClient,
};
