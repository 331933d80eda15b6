'use strict';

// The client side shared by every transport: connect (dial, then handshake through
// the connect policy), connectAndInspect, and reconnect onto the same session. What
// runs when a connected client loses its socket is reconnect.js's.

const Connection = require('./connection');
const errors = require('./errors');
const { Application } = require('./application');
const { SimpleConnectPolicy } = require('./policies');
const { popCallback } = require('./arguments');
const { createDefaultReconnector, scheduleFor, restoreSession, closedError } = require('./reconnect');

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
  // The default reconnector runs on the core's engine: the socket redials by itself.
  const schedule = scheduleFor(client);
  dial({ schedule }, ...options, (error, raw) => {
    if (error) {
      callback(error);
      return;
    }
    client = prepareClient(client, options, transportName);
    const connection = new Connection(new Transport(raw, { redials: schedule !== undefined }), null, client);
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
  dial({}, ...options, (error, raw) => {
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
    restoreSession(connection, new Transport(raw), callback);
  });
};

module.exports = { connectFn, connectAndInspectFn, reconnectFn };
