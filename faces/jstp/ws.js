'use strict';

// jstp.ws and jstp.wss: JSTP over WebSocket, one message per WebSocket message
// (no NUL), subprotocol 'metarhia-jstp', through the `websocket` package as in the
// original. Incoming text is checked and parsed by the core's mdsf reader.

const http = require('node:http');
const https = require('node:https');
const { EventEmitter } = require('node:events');
const websocket = require('websocket');
const { parse } = require('./serde');
const { JstpServer, serverFactory } = require('./server');
const { connectFn, connectAndInspectFn, reconnectFn } = require('./client');
const { MAX_MESSAGE_SIZE } = require('./socket');

const PROTOCOL = 'metarhia-jstp';

class Transport extends EventEmitter {
  constructor(connection) {
    super();
    this.connection = connection;
    connection.on('message', (message) => this._onMessage(message));
    connection.on('error', (error) => {
      connection.drop();
      if (this.listenerCount('error') > 0) this.emit('error', error); // see socket.js
    });
    connection.on('close', (...args) => this.emit('close', ...args));
  }

  getRawTransport() {
    return this.connection;
  }

  send(data) {
    this.connection.sendUTF(Buffer.isBuffer(data) ? data.toString() : data);
  }

  end(data) {
    if (data) this.send(data);
    this.connection.close();
  }

  destroy() {
    this.connection.drop();
  }

  _onMessage(message) {
    const text = message.type === 'utf8' ? message.utf8Data : message.binaryData.toString();
    let parsed;
    try {
      parsed = parse(text);
    } catch (error) {
      // The connection then ends itself; a detached transport just drops.
      if (this.listenerCount('error') > 0) this.emit('error', error);
      else this.connection.drop();
      return;
    }
    this.emit('message', parsed);
  }
}

const allowAllOriginCheckStrategy = () => true;

/** Serves WebSocket upgrades offering 'metarhia-jstp' on `httpServer`; plain HTTP gets 400. */
function attachWebSocket(httpServer, options = {}) {
  httpServer.isOriginAllowed = options.originCheckStrategy || allowAllOriginCheckStrategy;
  httpServer.on('request', (request, response) => {
    response.writeHead(400);
    response.end();
  });
  httpServer.wsServer = new websocket.server({
    ...options,
    httpServer,
    autoAcceptConnections: false,
    maxReceivedFrameSize: MAX_MESSAGE_SIZE,
    maxReceivedMessageSize: MAX_MESSAGE_SIZE,
  });
  httpServer.wsServer.on('request', (request) => {
    if (!httpServer.isOriginAllowed(request.origin) || !request.requestedProtocols.includes(PROTOCOL)) {
      request.reject();
      return;
    }
    httpServer._onRawConnection(request.accept(PROTOCOL, request.origin));
  });
}

function webSocketModule(HttpServer, secure) {
  class Server extends JstpServer(HttpServer) {
    /** (options, webSocketOptions, listener); for wss, options also go to https.Server. */
    constructor(options, webSocketOptions, listener) {
      super(...(secure ? [options] : []));
      this._initJstp(options, listener);
      attachWebSocket(this, webSocketOptions);
    }

    createTransport(connection) {
      return new Transport(connection);
    }
  }
  return { Server, createServer: serverFactory(Server) };
}

/** dial(webSocketConfig, url, [protocol, origin, headers, requestOptions], callback) */
function dial(webSocketConfig, ...options) {
  const callback = options.pop();
  const client = new websocket.client(webSocketConfig);
  options[1] = PROTOCOL;
  client.once('connect', (connection) => callback(null, connection));
  client.once('connectFailed', callback);
  client.connect(...options);
}

const connect = connectFn(dial, Transport, 'ws');

const ws = {
  Transport,
  ...webSocketModule(http.Server, false),
  connect,
  connectAndInspect: connectAndInspectFn(connect),
  reconnect: reconnectFn(dial, Transport),
};

const wss = { ...ws, ...webSocketModule(https.Server, true) };

module.exports = { ws, wss, allowAllOriginCheckStrategy };
