'use strict';

// connkit/thrift: a drop-in for `thrift` 0.24.0. Connections are connkit's; the rest
// of the surface generated code uses (Thrift, transports, protocols, Int64, ...) is
// the real package's, re-exported. Each export is its own assignment, so ESM code can
// `import { Thrift } from 'connkit/thrift'`.

const thrift = require('./peer');
const connection = require('./connection');
const http = require('./http');
const ws = require('./ws');
const server = require('./server');
const webServer = require('./web-server');

exports.Thrift = thrift.Thrift;
exports.setLogFunc = thrift.setLogFunc;
exports.setLogLevel = thrift.setLogLevel;
exports.getLogLevel = thrift.getLogLevel;
exports.Connection = connection.Connection;
exports.createClient = connection.createClient;
exports.createConnection = connection.createConnection;
exports.createUDSConnection = connection.createUDSConnection;
exports.createSSLConnection = connection.createSSLConnection;
exports.StdIOConnection = connection.StdIOConnection;
exports.createStdIOClient = connection.createClient;
exports.createStdIOConnection = connection.createStdIOConnection;
exports.HttpConnection = http.HttpConnection;
exports.createHttpConnection = http.createHttpConnection;
exports.createHttpUDSConnection = http.createHttpUDSConnection;
exports.createHttpClient = http.createHttpClient;
// connkit: the class of a non-200 response's error (the original's is unexported).
exports.THTTPException = http.THTTPException;
exports.WSConnection = ws.WSConnection;
exports.createWSConnection = ws.createWSConnection;
exports.createWSClient = ws.createWSClient;
exports.XHRConnection = http.XHRConnection;
exports.createXHRConnection = http.createXHRConnection;
exports.createXHRClient = http.createXHRClient;
exports.createServer = server.createServer;
exports.createMultiplexServer = server.createMultiplexServer;
exports.createWebServer = webServer.createWebServer;
exports.Int64 = thrift.Int64;
exports.toBigInt = thrift.toBigInt;
exports.fromBigInt = thrift.fromBigInt;
exports.MultiplexedProcessor = thrift.MultiplexedProcessor;
exports.Multiplexer = thrift.Multiplexer;
exports.TBufferedTransport = thrift.TBufferedTransport;
exports.TFramedTransport = thrift.TFramedTransport;
exports.TJSONProtocol = thrift.TJSONProtocol;
exports.TBinaryProtocol = thrift.TBinaryProtocol;
exports.TCompactProtocol = thrift.TCompactProtocol;
exports.THeaderProtocol = thrift.THeaderProtocol;
exports.InputBufferUnderrunError = thrift.InputBufferUnderrunError;
