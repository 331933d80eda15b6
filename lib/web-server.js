'use strict';

// A web server run by the core, for RPC over HTTP: POSTs to a service's path become
// 'request' events answered with `respond(status, body)`; WebSocket upgrades become
// 'connection's (framed connections, as a Server's, speaking to the first service);
// static files and CORS preflights are answered by the core. The surface of Server
// (listen, address, close, ref/unref, listening / error / close), plus 'request'.

const { Server } = require('./server');
const { Kind, native } = require('./bridge');
const { headerList, plainObject, check } = require('./options');
const { invalidType } = require('./errors');

/** One POST, as JS sees it: which service, its body, and how to answer. */
class WebRequest {
  constructor(server, no, service, body) {
    this.service = service;
    this.body = body;
    this._server = server;
    this._no = no;
    this.answered = false;
  }

  respond(status, body = Buffer.alloc(0)) {
    if (this.answered) return;
    this.answered = true;
    native.webRespond(this._server._id, this._no, status, typeof body === 'string' ? Buffer.from(body) : body);
  }
}

class WebServer extends Server {
  /**
   * `options`: `services` (request paths, in order), `cors` (allowed origins, '*'
   * for any; absent: no CORS), `files` (root of static files), `headers` (sent with
   * static files), `maxBodySize` (100 MiB), TLS options as for Server, and framing
   * options (`framing`, `maxFrameSize`) for what WebSocket messages carry.
   */
  constructor(options = {}) {
    const opts = plainObject(options, 'options');
    const { services, cors, files, headers, maxBodySize, ...rest } = opts;
    super(rest);
    if (!Array.isArray(services) || !services.every((s) => typeof s === 'string')) throw invalidType('services', 'an array of strings', services);
    if (cors !== undefined && !(Array.isArray(cors) && cors.every((o) => typeof o === 'string'))) throw invalidType('cors', 'an array of strings', cors);
    check(opts, 'files', 'string');
    check(opts, 'maxBodySize', 'number', (v) => v >= 0, 'must be >= 0');
    this._web = { services, cors, files, headers: headerList(headers), maxBody: maxBodySize };
  }

  _bind(config) {
    this._framed = true; // WebSocket messages are frames, whatever they carry
    return native.webListen({ listen: config, ...this._web });
  }

  _onEvent(kind, batch, start, end) {
    if (kind !== Kind.Request) return super._onEvent(kind, batch, start, end);
    const no = batch.readUInt32LE(start);
    const service = this._web.services[batch.readUInt32LE(start + 4)];
    // A view of the batch, as a connection's frames are: each batch is a Buffer of its own.
    this.emit('request', new WebRequest(this, no, service, batch.subarray(start + 8, end)));
  }
}

module.exports = { WebServer, WebRequest };
