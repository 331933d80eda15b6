'use strict';

// connkit/jstp: a drop-in for @metarhia/jstp 2.x on connkit's native core. The
// wire is the original's, byte for byte; see docs/jstp.md for what differs.

// Each export is its own assignment, so ESM code can `import { Connection } from 'connkit/jstp'`.
const errors = require('./errors');
const { Application, createAppsIndex } = require('./application');
const { SimpleConnectPolicy, SimpleSessionStorageProvider } = require('./policies');
const { ws, wss } = require('./ws');

exports.ERR_CALLBACK_LOST = errors.ERR_CALLBACK_LOST;
exports.ERR_NO_HANDSHAKE_RESPONSE = errors.ERR_NO_HANDSHAKE_RESPONSE;
exports.ERR_APP_NOT_FOUND = errors.ERR_APP_NOT_FOUND;
exports.ERR_AUTH_FAILED = errors.ERR_AUTH_FAILED;
exports.ERR_INTERFACE_NOT_FOUND = errors.ERR_INTERFACE_NOT_FOUND;
exports.ERR_INTERFACE_INCOMPATIBLE = errors.ERR_INTERFACE_INCOMPATIBLE;
exports.ERR_METHOD_NOT_FOUND = errors.ERR_METHOD_NOT_FOUND;
exports.ERR_NOT_A_SERVER = errors.ERR_NOT_A_SERVER;
exports.ERR_INTERNAL_API_ERROR = errors.ERR_INTERNAL_API_ERROR;
exports.ERR_INVALID_SIGNATURE = errors.ERR_INVALID_SIGNATURE;
exports.RemoteError = errors.RemoteError;
exports.Application = Application;
exports.createAppsIndex = createAppsIndex;
exports.RemoteProxy = require('./remote-proxy');
exports.Connection = require('./connection');
exports.Session = require('./session');
// The original exports its server internals here; connkit, the mixin that adds JSTP to a server class.
exports.Server = { JstpServer: require('./server').JstpServer };
exports.net = require('./net');
exports.tls = require('./tls');
exports.ws = ws;
exports.wss = wss;
exports.SimpleConnectPolicy = SimpleConnectPolicy;
exports.SimpleSessionStorageProvider = SimpleSessionStorageProvider;
