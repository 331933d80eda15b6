'use strict';

// jstp.ws and jstp.wss on the core's WebSocket: one mdsf message per text message
// (no NUL), subprotocol 'metarhia-jstp' required, messages above 16 KiB sent in
// fragments — the wire of the original's `websocket` package, both ways. The core
// checks and parses each message (the mdsf pack) and hands it over as JSON, as it
// does for net and tls; servers are the core's web server, where plain HTTP gets 400.

const { WebServer } = require('../../lib/web-server');
const { refuseUnsupportedTls } = require('../../lib/options');
const { open } = require('./dial');
const { Transport, FRAMING } = require('./socket');
const { JstpServer, serverFactory } = require('./server');
const { connectFn, connectAndInspectFn, reconnectFn } = require('./client');
const transports = require('./transports');

const PROTOCOL = 'metarhia-jstp';
// What the `websocket` package sends: text, fragmented above 16 KiB (its default
// threshold; its client takes frames of at most 1 MiB).
const SENDING = { messages: 'text', fragment: 16 * 1024 };
// How the `websocket` package's connection.close() closes.
const NORMAL_CLOSURE = [1000, 'Normal connection closure'];

/** A WebSocket ends with a close frame, as the original's connection.close(). */
class WebSocketTransport extends Transport {
  end(data) {
    if (data) this.send(data);
    if (this._open) this.socket.closeWebSocket(...NORMAL_CLOSURE);
    else this.socket.end(); // between sockets: stop redialing
  }
}

const allowAllOriginCheckStrategy = () => true;

/** https.Server's TLS options, as the core's server takes them. */
function serverTls(options = {}) {
  refuseUnsupportedTls(options);
  const { key, cert, ca, requestCert, rejectUnauthorized } = options;
  return { transport: 'tls', key, cert, ca, requestCert, rejectUnauthorized };
}

function webSocketModule(secure) {
  class Server extends JstpServer(WebServer) {
    /** (options, webSocketOptions, listener); for wss, options also hold what
     * https.Server takes (key, cert, ca). `webSocketOptions.originCheckStrategy(origin)`
     * decides each upgrade; by default all origins are allowed. */
    constructor(options, webSocketOptions = {}, listener) {
      super({
        ...(secure ? serverTls(options) : {}),
        ...FRAMING,
        websocket: {
          protocols: [PROTOCOL],
          ...SENDING,
          // The original sets it on the server, where a user may replace it later.
          verify: ({ origin }) => this.isOriginAllowed(origin ?? undefined),
          echo: { origin: 'origin' },
        },
      });
      this.isOriginAllowed = webSocketOptions.originCheckStrategy || allowAllOriginCheckStrategy;
      this._initJstp(options, listener);
      this.on('request', (request) => request.respond(400));
      this.on('connection', (socket) => this._onRawConnection(socket));
    }

    createTransport(socket) {
      return new WebSocketTransport(socket);
    }
  }
  return { Server, createServer: serverFactory(Server) };
}

/** The `websocket` client's tlsOptions, as the core's connection takes them. */
function clientTls(tlsOptions = {}) {
  refuseUnsupportedTls(tlsOptions);
  const { ca, cert, key, servername, rejectUnauthorized } = tlsOptions;
  return { transport: 'tls', ca, cert, key, servername, rejectUnauthorized };
}

/** Core options from the `websocket` client's (config, url, protocols, origin,
 * headers): the protocol offered is always 'metarhia-jstp', as in the original. */
function dialOptions(config = {}, url, _protocols, origin, headers) {
  const where = new URL(url);
  const secure = where.protocol === 'wss:';
  if (!secure && where.protocol !== 'ws:') throw new TypeError(`The URL must be ws: or wss:, not ${where.protocol}`);
  const host = where.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host,
    port: Number(where.port) || (secure ? 443 : 80),
    ...(secure ? clientTls(config.tlsOptions) : {}),
    websocket: {
      path: `${where.pathname}${where.search}`,
      headers: { ...headers, ...(origin ? { Origin: origin } : {}) },
      protocols: [PROTOCOL],
      ...SENDING,
    },
    ...FRAMING,
  };
}

/** dial(how, webSocketConfig, url, [protocols, origin, headers, requestOptions],
 * callback); `how`: dial.js's ({ schedule }). */
function dial(how, ...args) {
  const callback = args.pop();
  let options;
  try {
    options = dialOptions(...args);
  } catch (error) {
    process.nextTick(callback, error);
    return;
  }
  open(options, how, callback);
}

const connect = connectFn(dial, WebSocketTransport, 'ws');

const ws = transports.register('ws', {
  Transport: WebSocketTransport,
  ...webSocketModule(false),
  connect,
  connectAndInspect: connectAndInspectFn(connect),
  reconnect: reconnectFn(dial, WebSocketTransport),
});

const wss = { ...ws, ...webSocketModule(true) };

module.exports = { ws, wss, allowAllOriginCheckStrategy };
