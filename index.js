'use strict';

// connkit's own API: connections, auto-reconnecting clients and servers run by the
// native core. The drop-in faces live in faces/ (connkit/thrift, connkit/jstp, ...).

const { Connection } = require('./lib/connection');
const { Server, createServer } = require('./lib/server');
const { plainObject } = require('./lib/options');
const { HttpClient } = require('./lib/http-client');
const { WebServer } = require('./lib/web-server');

/** A connection that reconnects by default (jittered exponential backoff). */
class Client extends Connection {
  constructor(options, connectListener) {
    const opts = plainObject(options, 'options');
    super({ ...opts, reconnect: opts.reconnect ?? true }, connectListener);
  }
}

function createConnection(options, connectListener) {
  return new Connection(options, connectListener);
}

module.exports = { createConnection, Connection, Client, Server, createServer, HttpClient, WebServer };
