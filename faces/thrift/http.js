'use strict';

// thrift's HTTP connections on the core's HTTP client: each flushed call is one POST
// on a pooled keep-alive connection (TCP, TLS or a unix socket), its reply decoded
// from the response body. Calls whose request fails (a status other than 200, a
// reset, a timeout) fail with that error; the original left them waiting.
// XHRConnection, in Node, is the same over `host:port` (the browser build has the
// real XMLHttpRequest one).

const { EventEmitter } = require('node:events');
const thrift = require('thrift');
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
      receiveWhole(this.transport, body, (transport) => dispatch(this, transport, true));
    });
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

/** XHRConnection's options and fields, on the HTTP path. */
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
    this.useCORS = options.useCORS;
    const prefix = https ? 'https://' : 'http://';
    const shown = !port || Number(port) === 80 ? '' : `:${port}`;
    this.url = `${prefix}${host || 'localhost'}${shown}${options.path || '/'}`;
    this.send_buf = '';
  }

  write(data, seqid) {
    this.send_buf = data;
    super.write(data, seqid);
  }

  getSendBuffer() {
    return this.send_buf;
  }
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
