'use strict';

// Validation of connkit's own options, with Node-style TypeErrors thrown at once,
// and their translation into the normalised form the core takes (src/node/options.rs).

const { invalidType, invalidValue, withCode } = require('./errors');
const { boundary } = require('./bridge');

const TRANSPORTS = boundary.connectTransports;
const SERVER_TRANSPORTS = boundary.listenTransports;
// Framings named by a string alone ('delimited' needs its delimiter: { delimiter }).
const NAMED_FRAMINGS = boundary.framings.filter((f) => f !== 'delimited');

function check(opts, name, type, test = () => true, reason = 'is invalid') {
  const v = opts[name];
  if (v === undefined) return undefined;
  const ok = type === 'integer' ? Number.isInteger(v) : type === 'buffer' ? isBytes(v) : typeof v === type;
  if (!ok) throw invalidType(name, `of type ${type === 'buffer' ? 'string or Buffer' : type}`, v);
  if (!test(v)) throw invalidValue(name, reason, v);
  return v;
}

const nonNegative = (v) => v >= 0 && Number.isFinite(v);
const isBytes = (v) => typeof v === 'string' || ArrayBuffer.isView(v);
const toBuffer = (v) => (typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength));

function plainObject(value, name) {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidType(name, 'of type object', value);
  }
  return value;
}

function transportOf(opts, allowed) {
  const given = check(opts, 'transport', 'string', (t) => allowed.includes(t), `must be one of ${allowed.join(', ')}`);
  if (given) return given;
  if (opts.path !== undefined) return 'unix';
  if (opts.command !== undefined && allowed.includes('stdio')) return 'stdio';
  if (opts.tls === true || opts.cert !== undefined || opts.ca !== undefined) return 'tls';
  return 'tcp';
}

// Node TLS options the core (rustls, PEM key, cert and ca) cannot honour: refused
// rather than ignored, since ignoring them would weaken what the caller asked for.
const UNSUPPORTED_TLS = ['pfx', 'passphrase', 'ciphers', 'minVersion', 'maxVersion', 'secureProtocol', 'secureContext', 'checkServerIdentity', 'crl', 'ecdhCurve', 'sigalgs', 'session', 'ALPNProtocols', 'SNICallback'];
// secureProtocol values that mean "any version the library has", as the core's are.
const ANY_VERSION = ['TLS_method', 'TLS_client_method', 'TLS_server_method', 'SSLv23_method', 'SSLv23_client_method', 'SSLv23_server_method'];

/** Throws ERR_CONNKIT_UNSUPPORTED_OPTION for the first option in UNSUPPORTED_TLS that is set. */
function refuseUnsupportedTls(opts) {
  for (const name of UNSUPPORTED_TLS) {
    if (opts[name] === undefined || (name === 'secureProtocol' && ANY_VERSION.includes(opts[name]))) continue;
    throw withCode(TypeError, 'ERR_CONNKIT_UNSUPPORTED_OPTION', `The "${name}" option is not supported by connkit's TLS (PEM key, cert and ca only)`);
  }
}

/** TLS options; `client`: Node's tls.connect, whose verification
 * NODE_TLS_REJECT_UNAUTHORIZED=0 turns off by default (Node's servers ignore it). */
function tlsOf(opts, client) {
  refuseUnsupportedTls(opts);
  const ca = opts.ca;
  if (ca !== undefined && !isBytes(ca) && !(Array.isArray(ca) && ca.every(isBytes))) {
    throw invalidType('ca', 'a string, Buffer, or an array of them', ca);
  }
  check(opts, 'cert', 'buffer');
  check(opts, 'key', 'buffer');
  check(opts, 'servername', 'string');
  check(opts, 'rejectUnauthorized', 'boolean');
  check(opts, 'requestCert', 'boolean');
  return {
    ca: ca === undefined ? undefined : [].concat(ca).map(toBuffer),
    cert: opts.cert === undefined ? undefined : toBuffer(opts.cert),
    key: opts.key === undefined ? undefined : toBuffer(opts.key),
    servername: opts.servername,
    rejectUnauthorized:
      opts.rejectUnauthorized ?? (client && process.env.NODE_TLS_REJECT_UNAUTHORIZED === '0' ? false : undefined),
    requestCert: opts.requestCert,
  };
}

function framingOf(opts) {
  const maxFrame = check(opts, 'maxFrameSize', 'integer', (v) => v > 0 && v <= 0xffffffff, 'must be between 1 and 2^32-1');
  const framing = opts.framing;
  if (framing === undefined) return { kind: 'raw' };
  // 'jstp': NUL-terminated mdsf messages, checked and turned into JSON text by the
  // core; 'thrift-*': unframed Thrift, each message's end found by walking it.
  if (NAMED_FRAMINGS.includes(framing)) return { kind: framing, maxFrame };
  if (framing !== null && typeof framing === 'object' && framing.delimiter !== undefined) {
    if (!isBytes(framing.delimiter)) throw invalidType('framing.delimiter', 'a string or Buffer', framing.delimiter);
    const delimiter = toBuffer(framing.delimiter);
    if (delimiter.length === 0) throw invalidValue('framing.delimiter', 'must not be empty', framing.delimiter);
    return { kind: 'delimited', delimiter, maxFrame };
  }
  throw invalidValue('framing', `must be ${NAMED_FRAMINGS.map((f) => `'${f}'`).join(', ')} or { delimiter }`, framing);
}

function connectionOf(opts) {
  const keepAlive = opts.keepAlive;
  if (keepAlive !== undefined && typeof keepAlive !== 'boolean' && !(Number.isInteger(keepAlive) && keepAlive >= 0)) {
    throw invalidType('keepAlive', 'a boolean or an initial delay in ms', keepAlive);
  }
  return {
    framing: framingOf(opts),
    connectTimeout: check(opts, 'connectTimeout', 'number', nonNegative, 'must be >= 0'),
    timeout: check(opts, 'timeout', 'number', nonNegative, 'must be >= 0'),
    noDelay: check(opts, 'noDelay', 'boolean'),
    keepAlive: keepAlive === true ? 0 : keepAlive === false ? undefined : keepAlive,
    allowHalfOpen: check(opts, 'allowHalfOpen', 'boolean'),
    offlineQueueBytes: check(opts, 'offlineQueueBytes', 'integer', (v) => v >= 0, 'must be >= 0'),
    resendUnsent: check(opts, 'resendUnsent', 'boolean'),
  };
}

const CAPS = boundary.caps;

function range(value, name) {
  if (typeof value === 'number' && nonNegative(value)) return { min: value, max: value };
  if (value && nonNegative(value.min) && nonNegative(value.max) && value.min <= value.max) return value;
  throw invalidValue(name, 'must be a number of ms or { min, max } with min <= max', value);
}

function reconnectOf(value) {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  const r = plainObject(value, 'reconnect');
  check(r, 'cap', 'string', (c) => CAPS.includes(c), `must be one of ${CAPS.join(', ')}`);
  for (const name of ['initialDelay', 'factor', 'budget', 'resetDelay']) {
    check(r, name, 'number', nonNegative, 'must be a finite number >= 0');
  }
  // Infinity: the delay grows without bound.
  check(r, 'maxDelay', 'number', (v) => v >= 0, 'must be a number >= 0');
  check(r, 'maxAttempts', 'integer', (v) => v >= 0, 'must be >= 0');
  check(r, 'integerSteps', 'boolean');
  check(r, 'announce', 'boolean');
  const out = {
    initialDelay: r.initialDelay,
    factor: r.factor,
    maxDelay: r.maxDelay,
    cap: r.cap,
    maxAttempts: r.maxAttempts,
    budget: r.budget,
    resetDelay: r.resetDelay,
    integerSteps: r.integerSteps,
    announce: r.announce,
  };
  if (r.jitter === 'none') out.jitterRatio = 0;
  else if (typeof r.jitter === 'number') {
    if (!(r.jitter >= 0 && r.jitter <= 1)) throw invalidValue('reconnect.jitter', 'as a ratio must be within [0, 1]', r.jitter);
    out.jitterRatio = r.jitter;
  } else if (r.jitter !== undefined) {
    const j = range(r.jitter, 'reconnect.jitter');
    out.jitterMin = j.min;
    out.jitterMax = j.max;
  }
  if (r.dropDelay !== undefined) {
    const d = range(r.dropDelay, 'reconnect.dropDelay');
    out.dropDelayMin = d.min;
    out.dropDelayMax = d.max;
  }
  return out;
}

/** A port number; numeric strings too, as Node's net takes them ('9090'). */
function portOf(opts, required) {
  const given = opts.port;
  if (given === undefined && !required) return undefined;
  const port = typeof given === 'string' && /^\s*\d+\s*$/.test(given) ? Number(given) : given;
  if (!Number.isInteger(port)) throw invalidType('port', 'of type number', given);
  if (port < 0 || port > 65535) throw invalidValue('port', 'must be >= 0 and <= 65535', port);
  return port;
}

/** Header objects as the core takes them: `[name, value, ...]` (array values repeat). */
function headerList(headers, name = 'headers') {
  const list = [];
  for (const [key, value] of Object.entries(plainObject(headers, name))) {
    if (value === undefined) continue;
    for (const v of [].concat(value)) list.push(key, String(v));
  }
  return list;
}

/** The Host header for a destination of connectOptions: `host[:port]`, the port left
 * out when it is the scheme's default; `localhost` for a unix socket. */
function hostFor({ transport, host = 'localhost', port }) {
  if (transport === 'unix') return 'localhost';
  const name = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return port === undefined || port === (transport === 'tls' ? 443 : 80) ? name : `${name}:${port}`;
}

// What a client's messages go out as ('as-asked' is a server's).
const MESSAGES = boundary.messages.filter((m) => m !== 'as-asked');

/** The `websocket` option: `true` or `{ path, headers, protocols, messages,
 * fragment }`; the handshake the core makes, and what messages go out as. */
function websocketOf(value, transport, host, port) {
  if (value === undefined || value === false) return undefined;
  const ws = value === true ? {} : plainObject(value, 'websocket');
  check(ws, 'path', 'string', (p) => p.startsWith('/'), "must start with '/'");
  if (ws.protocols !== undefined && !(Array.isArray(ws.protocols) && ws.protocols.every((p) => typeof p === 'string' && p !== ''))) {
    throw invalidType('websocket.protocols', 'an array of non-empty strings', ws.protocols);
  }
  check(ws, 'messages', 'string', (m) => MESSAGES.includes(m), `must be one of ${MESSAGES.join(', ')}`);
  check(ws, 'fragment', 'integer', (v) => v > 0, 'must be > 0');
  if (transport === 'stdio') throw invalidValue('websocket', 'needs a socket transport (tcp, tls or unix)', value);
  return {
    host: hostFor({ transport, host, port }),
    path: ws.path ?? '/',
    headers: headerList(ws.headers, 'websocket.headers'),
    protocols: ws.protocols,
    sending: ws.messages === undefined && ws.fragment === undefined ? undefined : { messages: ws.messages ?? 'binary', fragment: ws.fragment },
  };
}

/** Options of `createConnection` / `Client`, checked and normalised for the core. */
function connectOptions(options) {
  const opts = plainObject(options, 'options');
  const transport = transportOf(opts, TRANSPORTS);
  check(opts, 'host', 'string');
  check(opts, 'path', 'string', (p) => p.length > 0, 'must not be empty');
  check(opts, 'command', 'string', (c) => c.length > 0, 'must not be empty');
  if (opts.args !== undefined && !(Array.isArray(opts.args) && opts.args.every((a) => typeof a === 'string'))) {
    throw invalidType('args', 'an array of strings', opts.args);
  }
  if (transport === 'unix' && opts.path === undefined) throw invalidType('path', 'of type string', opts.path);
  if (transport === 'stdio' && opts.command === undefined) throw invalidType('command', 'of type string', opts.command);
  check(opts, 'highWaterMark', 'integer', (v) => v > 0, 'must be > 0');
  const port = transport === 'tcp' || transport === 'tls' ? portOf(opts, true) : undefined;
  return {
    transport,
    host: opts.host,
    port,
    path: opts.path,
    command: opts.command,
    args: opts.args,
    tls: transport === 'tls' ? tlsOf(opts, true) : undefined,
    reconnect: reconnectOf(opts.reconnect),
    websocket: websocketOf(opts.websocket, transport, opts.host, port),
    connection: connectionOf(opts),
  };
}

/**
 * Options of `createServer` plus those of `listen()`. `located: false` checks a
 * server's options before `listen()` has said where.
 */
function listenOptions(options, { located = true } = {}) {
  const opts = plainObject(options, 'options');
  const transport = transportOf(opts, SERVER_TRANSPORTS);
  check(opts, 'host', 'string');
  check(opts, 'path', 'string', (p) => p.length > 0, 'must not be empty');
  if (located && transport === 'unix' && opts.path === undefined) throw invalidType('path', 'of type string', opts.path);
  check(opts, 'maxConnections', 'number', (n) => Number.isInteger(n) && n >= 0, 'must be a non-negative integer');
  check(opts, 'backlog', 'number', (n) => Number.isInteger(n) && n >= 0, 'must be a non-negative integer');
  return {
    transport,
    host: opts.host,
    backlog: opts.backlog,
    port: transport === 'unix' ? undefined : portOf(opts, false),
    path: opts.path,
    tls: transport === 'tls' ? tlsOf(opts, false) : undefined,
    connection: connectionOf(opts),
  };
}

module.exports = { connectOptions, listenOptions, plainObject, refuseUnsupportedTls, headerList, hostFor, check };
