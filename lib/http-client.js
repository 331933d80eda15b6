'use strict';

// An HTTP/1.1 client run by the core: POSTs to one path over pooled keep-alive
// connections (TCP, TLS or a unix socket). `request(body, callback)` calls back with
// (err) or (null, statusCode, body); the process stays alive while requests are out.

const { Kind, register, unregister, Handle, native } = require('./bridge');
const { EVENT } = require('./symbols');
const { connectOptions, headerList, hostFor, plainObject, check } = require('./options');
const { fromCore, invalidType, invalidValue, withCode } = require('./errors');

const atLeastZero = (v) => v >= 0;

class HttpClient extends Handle {
  /**
   * `options`: where to connect (`host`/`port`, `path` of a unix socket, TLS options
   * with `tls: true`), `requestPath` ('/'), `headers`, `keepAlive` (true),
   * `maxSockets` (Infinity), `maxFreeSockets` (256), `timeout` (ms, none),
   * `connectTimeout` (ms), `maxBodySize` (bytes, 100 MiB).
   */
  constructor(options) {
    super();
    const opts = plainObject(options, 'options');
    check(opts, 'requestPath', 'string', (p) => p.startsWith('/'), "must start with '/'");
    check(opts, 'keepAlive', 'boolean');
    for (const name of ['maxSockets', 'maxFreeSockets', 'timeout', 'maxBodySize']) check(opts, name, 'number', atLeastZero, 'must be >= 0');
    // Options of a connection that an HTTP exchange cannot keep.
    for (const name of ['websocket', 'reconnect', 'framing']) {
      if (opts[name] !== undefined) throw invalidValue(name, 'is not an HttpClient option', opts[name]);
    }
    const { keepAlive, timeout, ...where } = opts;
    const connect = connectOptions(where);
    if (connect.transport === 'stdio') throw invalidType('options', 'a tcp, tls or unix destination', opts);
    const headers = { ...opts.headers };
    const named = (name) => Object.keys(headers).some((k) => k.toLowerCase() === name);
    if (!named('host')) headers.Host = hostFor(connect);
    this._id = native.httpClient({
      connect,
      path: opts.requestPath ?? '/',
      headers: headerList(headers),
      keepAlive,
      maxSockets: opts.maxSockets,
      maxFreeSockets: opts.maxFreeSockets,
      timeout,
      maxBody: opts.maxBodySize,
    });
    this._next = 1;
    this._pending = new Map();
    this._closed = false;
    register(this._id, this);
  }

  request(body, callback) {
    if (!ArrayBuffer.isView(body) && typeof body !== 'string') throw invalidType('body', 'a string, Buffer or Uint8Array', body);
    if (typeof callback !== 'function') throw invalidType('callback', 'of type function', callback);
    if (this._closed) {
      process.nextTick(callback, withCode(Error, 'ERR_HTTP_CLIENT_CLOSED', 'The HTTP client is closed'));
      return;
    }
    const no = this._next++;
    if (this._next > 0xffffffff) this._next = 1;
    this._pending.set(no, callback);
    this._liveness.activate(true);
    native.httpRequest(this._id, no, typeof body === 'string' ? Buffer.from(body) : body);
  }

  get pending() {
    return this._pending.size;
  }

  /** No new requests; those out are answered; idle connections close. */
  close() {
    if (this._closed) return;
    this._closed = true;
    native.closeHttp(this._id);
    if (this._pending.size === 0) unregister(this._id);
  }

  [EVENT](kind, batch, start, end) {
    const no = batch.readUInt32LE(start);
    const callback = this._pending.get(no);
    if (callback === undefined) return;
    this._pending.delete(no);
    if (this._pending.size === 0) {
      this._liveness.activate(false);
      if (this._closed) unregister(this._id);
    }
    if (kind === Kind.Response) {
      // A view of the batch, as a connection's frames are: each batch is a Buffer of its own.
      callback(null, batch.readUInt16LE(start + 4), batch.subarray(start + 6, end));
    } else if (kind === Kind.RequestFailed) {
      callback(fromCore(JSON.parse(batch.toString('utf8', start + 4, end))));
    }
  }
}

module.exports = { HttpClient };
