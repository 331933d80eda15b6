'use strict';

// The client side shared by every transport: connect (dial, then handshake through
// the connect policy), connectAndInspect, reconnect onto the same session, and the
// reconnector that runs when a connected client loses its socket.

const Connection = require('./connection');
const errors = require('./errors');
const { Application } = require('./application');
const { SimpleConnectPolicy } = require('./policies');

// The original's default reconnector: 1 s doubling to 32 s, plus 0..1000 ms.
const INITIAL_BACKOFF = 1000;
const MAX_BACKOFF = 32000;
const JITTER = 1000;

function createDefaultReconnector() {
  let backoff = INITIAL_BACKOFF;
  return (connection, reconnect) => {
    setTimeout(() => {
      if (connection.closedIntentionally) return;
      reconnect((error) => {
        backoff = error ? Math.min(backoff * 2, MAX_BACKOFF) : INITIAL_BACKOFF;
      });
    }, backoff + Math.floor(Math.random() * (JITTER + 1)));
  };
}

const closedError = () =>
  Object.assign(new Error('The connection was closed while reconnecting'), { code: 'ERR_JSTP_CLOSED' });

const popCallback = (args) => (typeof args[args.length - 1] === 'function' ? args.pop() : null);

/** Fills in the client object's defaults, as the original does, in place. */
function prepareClient(client, options, transportName) {
  client = client || { application: null, connectPolicy: null };
  if (!client.application) client.application = new Application('jstp', {});
  if (!client.connectPolicy) client.connectPolicy = new SimpleConnectPolicy().connect;
  else if (typeof client.connectPolicy === 'object') {
    client.connectPolicy = client.connectPolicy.connect.bind(client.connectPolicy);
  }
  if (!client.reconnector) client.reconnector = createDefaultReconnector();
  client._connectionOptions = options;
  client._connectionTransport = transportName;
  return client;
}

/** connect(app, client, ...dialArgs, callback(error, connection, session)) */
const connectFn = (dial, Transport, transportName) => (app, client, ...options) => {
  const callback = popCallback(options);
  dial(...options, (error, raw) => {
    if (error) {
      callback(error);
      return;
    }
    client = prepareClient(client, options, transportName);
    const connection = new Connection(new Transport(raw), null, client);
    let failed = false;
    const onError = (err) => {
      failed = true;
      callback(err);
    };
    connection.once('error', onError);
    client.connectPolicy(app, connection, client.session, (err, conn, session) => {
      if (failed) return;
      conn.removeListener('error', onError);
      conn._serverApp = app;
      if (err) {
        callback(err, conn);
        return;
      }
      if (client.heartbeatInterval) conn.startHeartbeat(client.heartbeatInterval);
      callback(null, conn, session);
    });
  });
};

/** connectAndInspect(app, client, interfaces, ...dialArgs, callback(error, connection, proxies)) */
const connectAndInspectFn = (connect) => (app, client, interfaces, ...options) => {
  const callback = popCallback(options);
  connect(app, client, ...options, (error, connection) => {
    if (error) {
      callback(error);
      return;
    }
    const proxies = Object.create(null);
    let left = interfaces.length;
    let failed = false;
    if (left === 0) {
      callback(null, connection, proxies);
      return;
    }
    // Until the callback, the caller has no connection to listen on: an error
    // meanwhile (the server dropping it) is the callback's, not an uncaught one.
    const fail = (err) => {
      if (failed) return;
      failed = true;
      connection.removeListener('error', fail);
      callback(err, connection);
    };
    connection.on('error', fail);
    for (const name of interfaces) {
      connection.inspectInterface(name, (err, proxy) => {
        if (failed) return;
        if (err) return void fail(err);
        proxies[name] = proxy;
        if (--left === 0) {
          connection.removeListener('error', fail);
          callback(null, connection, proxies);
        }
      });
    }
  });
};

/** reconnect(connection, ...dialArgs, callback(error, connection)): the same
 * Connection and session on a new socket. */
const reconnectFn = (dial, Transport) => (connection, ...options) => {
  const callback = popCallback(options) || (() => {});
  const closes = connection._closes;
  dial(...options, (error, raw) => {
    if (error) {
      callback(error);
      return;
    }
    if (connection._closes !== closes) {
      // close() was called while this reconnect was dialing: it stays closed.
      raw.destroy?.();
      callback(closedError());
      return;
    }
    if (connection.transport) connection._removeTransport();
    connection._initTransport(new Transport(raw));
    const session = connection._sessionRefused ? null : connection.session;
    connection.client.connectPolicy(connection._serverApp, connection, session, (err, conn) => {
      if (err) {
        // The server no longer knows the session (it restarted with its sessions in
        // memory, or they expired): the original retried the restore forever, its
        // calls never settling. The next attempt starts a new session instead.
        if (session && err.code === errors.ERR_AUTH_FAILED) connection._sessionRefused = true;
        callback(err, conn);
        return;
      }
      connection._sessionRefused = false;
      if (conn.client.heartbeatInterval) conn.startHeartbeat(conn.client.heartbeatInterval);
      callback(null, conn);
    });
  });
};

/** Hands a client that lost its socket to its reconnector. The reconnector's
 * function takes an optional transport name ('net', 'tls', 'ws'), then dial
 * arguments (default: those of the first connect), then a callback. */
let transports = null; // required on first use: they require this module

function reconnectWith(connection) {
  // Closed on purpose: no reconnector runs. (The original ran it; a custom one that
  // forgot to check closedIntentionally then redialed forever.)
  if (connection.closedIntentionally) return;
  transports ??= { net: require('./net'), tls: require('./tls'), ws: require('./ws').ws };
  const reconnect = (...options) => {
    if (connection.closedIntentionally) return;
    let name = options[0];
    if (typeof name === 'string' && transports[name]) options = options.slice(1);
    else name = connection.client._connectionTransport;
    const callback = popCallback(options) || (() => {});
    if (options.length === 0) options = connection.client._connectionOptions;
    connection.emit('reconnectAttempt', name, ...options);
    if (connection.closedIntentionally) {
      // A 'reconnectAttempt' listener closed it.
      connection.emit('reconnect', closedError());
      callback(closedError());
      return;
    }
    transports[name].reconnect(connection, ...options, (error, ...rest) => {
      connection.emit('reconnect', error);
      callback(error, ...rest);
      if (error) connection.client.reconnector(connection, reconnect);
      else connection.once('close', () => reconnectWith(connection));
    });
  };
  connection.client.reconnector(connection, reconnect);
}

module.exports = { connectFn, connectAndInspectFn, reconnectFn, reconnectWith, createDefaultReconnector };
