'use strict';

// connkit/jstp: a drop-in for @metarhia/jstp 2.x on connkit's native core. The
// wire is the original's, byte for byte; see README "connkit/jstp" for what differs.

const { isError, ...errors } = require('./errors');
const { Application, createAppsIndex } = require('./application');
const { SimpleConnectPolicy, SimpleSessionStorageProvider } = require('./policies');
const { ws, wss } = require('./ws');

module.exports = {
  ...errors,
  Application,
  createAppsIndex,
  RemoteProxy: require('./remote-proxy'),
  Connection: require('./connection'),
  Session: require('./session'),
  // The original exports its server internals here; connkit, the mixin that adds JSTP to a server class.
  Server: { JstpServer: require('./server').JstpServer },
  net: require('./net'),
  tls: require('./tls'),
  ws,
  wss,
  SimpleConnectPolicy,
  SimpleSessionStorageProvider,
};
