'use strict';

// The net and tls transports, on the native core: the core splits the stream at
// NULs, checks each message and hands it over as JSON; writes of one tick leave
// in one batch.

const { EventEmitter } = require('node:events');
const { Connection: CoreConnection } = require('../../lib/connection');
const { Server: CoreServer } = require('../../lib/server');
const { refuseUnsupportedTls } = require('../../lib/options');
const { fromJson, parse } = require('./serde');
const { JstpServer, serverFactory } = require('./server');
const { connectFn, connectAndInspectFn, reconnectFn } = require('./client');
const { open } = require('./dial');

const MAX_MESSAGE_SIZE = 8 * 1024 * 1024;
const FRAMING = { framing: 'jstp', maxFrameSize: MAX_MESSAGE_SIZE };

/** `socket` is a core connection with 'jstp' framing, or any Node stream (a
 * net.Socket a user made, say), which is then split and parsed here. A core socket
 * that redials by itself (`redials`) closes, for JSTP, at each drop, and opens again
 * at each reconnect. */
class Transport extends EventEmitter {
  constructor(socket, { redials = false } = {}) {
    super();
    this.socket = socket;
    this.redials = redials;
    this._open = true;
    this._framed = socket instanceof CoreConnection && socket.framed;
    socket.setEncoding('utf8');
    if (this._framed) socket.on('frame', (text) => this.emit('message', fromJson(text)));
    else readStream(socket, this);
    // A socket replaced by jstp.net.reconnect() is detached from its Connection;
    // its last errors then have nobody to go to.
    socket.on('error', (error) => this.listenerCount('error') > 0 && this.emit('error', jstpError(error)));
    socket.on('close', (hadError) => this._closed(hadError));
    if (redials) {
      // A drop is the socket's close for JSTP, after its cause as the 'error'.
      socket.on('disconnect', (error) => {
        if (error && this.listenerCount('error') > 0) this.emit('error', jstpError(error));
        this._closed(Boolean(error));
      });
      socket.on('connect', () => (this._open = true));
    }
  }

  _closed(hadError) {
    if (!this._open) return; // the drop already said so
    this._open = false;
    this.emit('close', hadError);
  }

  /** The heartbeat's timers: the core's, for a core socket (see Heartbeat). */
  get timers() {
    if (!(this.socket instanceof CoreConnection)) return undefined;
    const socket = this.socket;
    return {
      setInterval(beat, interval) {
        socket.on('heartbeat', beat);
        socket.setHeartbeat(interval);
        return beat;
      },
      clearInterval(beat) {
        socket.removeListener('heartbeat', beat);
        socket.setHeartbeat(0);
      },
    };
  }

  getRawTransport() {
    return this.socket;
  }

  send(data) {
    this.socket.write(this._framed ? data : data + '\0');
  }

  end(data) {
    if (data) this.send(data);
    this.socket.end();
  }

  destroy() {
    this.socket.destroy();
  }
}

/** NUL-terminated messages from a plain stream, parsed as the core would. */
function readStream(socket, transport) {
  let pending = '';
  socket.on('data', (chunk) => {
    const parts = (pending + chunk).split('\0');
    pending = parts.pop();
    for (const text of parts) {
      let message;
      try {
        message = parse(text);
      } catch (error) {
        socket.destroy(error);
        return;
      }
      transport.emit('message', message);
    }
    if (pending.length > MAX_MESSAGE_SIZE) {
      const error = new Error('Maximal message size exceeded');
      error.code = 'ERR_FRAME_TOO_LARGE';
      socket.destroy(error);
    }
  });
}

/** The original's words for an oversize message, with the core's code and detail. */
function jstpError(error) {
  if (error.code !== 'ERR_FRAME_TOO_LARGE') return error;
  const wrapped = new Error('Maximal message size exceeded', { cause: error });
  wrapped.code = error.code;
  return wrapped;
}

/** Core options from what `net.connect` / `tls.connect` take: (options),
 * (port[, host][, options]) or (path[, options]). */
function dialOptions(args, secure) {
  let options = {};
  const [first, second, third] = args;
  if (first !== null && typeof first === 'object') options = { ...first };
  else if (typeof first === 'number' || /^\d+$/.test(first)) {
    options = typeof second === 'object' && second !== null ? { ...second } : { host: second, ...third };
    options.port = Number(first);
  } else if (typeof first === 'string') options = { ...(second ?? {}), path: first };
  if (options.host === undefined && options.path === undefined) options.host = 'localhost';
  if (secure) refuseUnsupportedTls(options);
  const { port, host, path, ca, cert, key, servername, rejectUnauthorized, timeout, noDelay, keepAlive } = options;
  return {
    port,
    host,
    path,
    ...(secure ? { transport: 'tls', ca, cert, key, servername, rejectUnauthorized } : {}),
    timeout,
    noDelay: noDelay ?? true,
    keepAlive,
    ...FRAMING,
  };
}

/** dial(how, ...connectArgs, callback(error, socket)), for net or tls; `how`:
 * dial.js's ({ schedule }). */
const dialer = (secure) => (how, ...args) => {
  const callback = args.pop();
  let options;
  try {
    options = dialOptions(args, secure);
  } catch (error) {
    process.nextTick(callback, error);
    return;
  }
  open(options, how, callback);
};


const JSTP_OPTIONS = [
  'applications',
  'authPolicy',
  'sessionStorageProvider',
  'heartbeatInterval',
  'heartbeatTimeout',
  'clientExpirationTime',
];

/** The options the core server takes: everything but JSTP's own. */
function socketOptions(options, secure) {
  const rest = { ...options };
  for (const name of JSTP_OPTIONS) delete rest[name];
  return { ...rest, ...(secure ? { transport: 'tls' } : {}), ...FRAMING };
}

function transportModule(name, secure) {
  class Server extends JstpServer(CoreServer) {
    /** (options[, listener]): options are the JSTP ones plus the server's own
     * (for tls: key, cert, ca, requestCert, rejectUnauthorized). */
    constructor(options, listener) {
      super(socketOptions(options, secure));
      this._initJstp(options, listener);
      this.on('connection', (socket) => this._onRawConnection(socket));
    }

    createTransport(socket) {
      return new Transport(socket);
    }
  }
  const dial = dialer(secure);
  const connect = connectFn(dial, Transport, name);
  return {
    Transport,
    Server,
    createServer: serverFactory(Server),
    connect,
    connectAndInspect: connectAndInspectFn(connect),
    reconnect: reconnectFn(dial, Transport),
  };
}

module.exports = { transportModule, Transport, FRAMING, MAX_MESSAGE_SIZE };
