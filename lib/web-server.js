'use strict';

// A web server run by the core. What the core does not serve itself becomes a
// 'request' event answered with `respond(status, body, reason)`: any method, any path.
// The core serves, when configured: WebSocket upgrades (which become 'connection's,
// framed connections as a Server's), static files for GET, and CORS preflights. The
// surface of Server (listen, address, close, ref/unref, listening / error / close),
// plus 'request'.

const { Server } = require('./server');
const { boundary, Kind, native } = require('./bridge');
const { headerList, plainObject, check } = require('./options');
const { invalidType, invalidValue } = require('./errors');
const { BIND, EVENT } = require('./symbols');

const { originDenied: ORIGIN_DENIED, upgrade: UPGRADE } = boundary.requestFlags;
const MESSAGES = boundary.messages;
const ECHOES = ['origin', 'location'];

/** One request, as JS sees it: what it asks, and how to answer. */
class WebRequest {
  constructor(reply, flags, method, path, origin, body) {
    this.method = method;
    this.path = path;
    /** The Origin header ('' without one). */
    this.origin = origin;
    this.body = body;
    /** CORS is on and the request's Origin is not among those allowed. */
    this.originDenied = (flags & ORIGIN_DENIED) !== 0;
    /** It asks for a WebSocket upgrade, which this server does not take. */
    this.upgrade = (flags & UPGRADE) !== 0;
    this.answered = false;
    this._reply = reply;
  }

  /** `reason` replaces the status's standard phrase. */
  respond(status, body = Buffer.alloc(0), reason = undefined) {
    if (this.answered) return;
    this.answered = true;
    this._reply(status, typeof body === 'string' ? Buffer.from(body) : body, reason);
  }
}

function stringList(value, name) {
  if (value !== undefined && !(Array.isArray(value) && value.every((v) => typeof v === 'string'))) {
    throw invalidType(name, 'an array of strings', value);
  }
  return value;
}

/** `websocket`: `true` or `{ protocols, verify, echo, messages, fragment }`. */
function upgradesOf(value) {
  if (value === undefined || value === false) return undefined;
  const ws = value === true ? {} : plainObject(value, 'websocket');
  stringList(ws.protocols, 'websocket.protocols');
  if (ws.verify !== undefined && typeof ws.verify !== 'function') throw invalidType('websocket.verify', 'of type function', ws.verify);
  check(ws, 'messages', 'string', (m) => MESSAGES.includes(m), `must be one of ${MESSAGES.join(', ')}`);
  check(ws, 'fragment', 'integer', (v) => v > 0, 'must be > 0');
  const echo = [];
  for (const [header, what] of Object.entries(plainObject(ws.echo, 'websocket.echo'))) {
    if (!ECHOES.includes(what)) throw invalidValue(`websocket.echo.${header}`, `must be one of ${ECHOES.join(', ')}`, what);
    echo.push(header, what);
  }
  return {
    verify: ws.verify,
    config: {
      protocols: ws.protocols,
      ask: ws.verify !== undefined,
      echo,
      sending: ws.messages === undefined && ws.fragment === undefined ? undefined : { messages: ws.messages ?? 'as-asked', fragment: ws.fragment },
    },
  };
}

/** `cors`: `{ origins, allowMethods, allowHeaders, maxAge }`; an origin '*' allows any. */
function corsOf(value) {
  if (value === undefined) return undefined;
  const cors = plainObject(value, 'cors');
  if (stringList(cors.origins, 'cors.origins') === undefined) throw invalidType('cors.origins', 'an array of strings', cors.origins);
  check(cors, 'allowMethods', 'string');
  check(cors, 'allowHeaders', 'string');
  check(cors, 'maxAge', 'integer', (v) => v >= 0, 'must be >= 0');
  return {
    origins: cors.origins,
    allowMethods: cors.allowMethods ?? 'GET, POST, OPTIONS',
    allowHeaders: cors.allowHeaders ?? 'content-type, accept',
    maxAge: String(cors.maxAge ?? 60),
  };
}

/** `files`: `{ root, types: { ext: contentType }, headers }`. */
function filesOf(value) {
  if (value === undefined) return undefined;
  const files = plainObject(value, 'files');
  if (typeof files.root !== 'string' || files.root === '') throw invalidType('files.root', 'a non-empty string', files.root);
  const types = [];
  for (const [ext, kind] of Object.entries(plainObject(files.types, 'files.types'))) {
    if (typeof kind !== 'string') throw invalidType(`files.types.${ext}`, 'of type string', kind);
    types.push(ext, kind);
  }
  return { root: files.root, types, headers: headerList(files.headers, 'files.headers') };
}

class WebServer extends Server {
  /**
   * `options`: `websocket` (take upgrades: `true`, or `{ protocols` (spoken,
   * preferred first; one must be offered), `verify({ path, origin, protocol })`
   * (returns whether to accept), `echo` ({ header: 'origin' | 'location' }, added to
   * the 101 answer), `messages` ('binary' | 'text' | 'as-asked'), `fragment` (bytes)
   * }); `cors` ({ origins, allowMethods, allowHeaders, maxAge }); `files` ({ root,
   * types, headers }); `maxBodySize` (100 MiB); TLS options as for Server; framing
   * options (`framing`, `maxFrameSize`) for what WebSocket messages carry.
   */
  constructor(options = {}) {
    const opts = plainObject(options, 'options');
    const { websocket, cors, files, maxBodySize, ...rest } = opts;
    super(rest);
    check(opts, 'maxBodySize', 'number', (v) => v >= 0, 'must be >= 0');
    const upgrades = upgradesOf(websocket);
    this._verify = upgrades?.verify;
    this._web = { websocket: upgrades?.config, cors: corsOf(cors), files: filesOf(files), maxBody: maxBodySize };
  }

  [BIND](config) {
    this._framed = true; // WebSocket messages are frames, whatever they carry
    this._allowHalfOpen = false;
    return native.webListen({ listen: config, ...this._web });
  }

  [EVENT](kind, batch, start, end) {
    if (kind === Kind.Request) this._onRequest(batch, start, end);
    else if (kind === Kind.Upgrade) this._onUpgrade(batch, start, end);
    else super[EVENT](kind, batch, start, end);
  }

  _onRequest(batch, start, end) {
    const no = batch.readUInt32LE(start);
    const flags = batch[start + 4];
    let at = start + 5;
    const methodEnd = at + 2 + batch.readUInt16LE(at);
    const method = batch.latin1Slice(at + 2, methodEnd);
    const pathEnd = methodEnd + 2 + batch.readUInt16LE(methodEnd);
    const path = batch.utf8Slice(methodEnd + 2, pathEnd);
    const originEnd = pathEnd + 2 + batch.readUInt16LE(pathEnd);
    const origin = batch.utf8Slice(pathEnd + 2, originEnd);
    at = originEnd;
    // A view of the batch, as a connection's frames are: each batch is a Buffer of its own.
    const reply = (status, body, reason) => native.webRespond(this._id, no, status, body, reason);
    this.emit('request', new WebRequest(reply, flags, method, path, origin, batch.subarray(at, end)));
  }

  /** Upgrades pass `verify` or get 403; one that throws gets 500 and is reported. */
  _onUpgrade(batch, start, end) {
    const no = batch.readUInt32LE(start);
    const info = JSON.parse(batch.toString('utf8', start + 4, end));
    let status = 403;
    try {
      if (this._verify(info)) status = 101;
    } catch (error) {
      status = 500;
      process.nextTick(() => this.emit('error', error));
    }
    native.webRespond(this._id, no, status, Buffer.alloc(0), undefined);
  }
}

module.exports = { WebServer, WebRequest };
