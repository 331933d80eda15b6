'use strict';

// connkit/thrift's browser build, picked by bundlers through package.json's "browser"
// field and "browser" export condition. A browser has no native addon, and no sockets
// for connkit's core to own: the only connections there are the browser's own
// XMLHttpRequest and WebSocket, which is what the real thrift package's browser build
// already uses (XHRConnection and WSConnection, with their `headers`, `https` / `secure`
// and `path` options). So this re-exports that build, one name at a time, exactly as
// `require('thrift')` gives it to a bundled page: code written against
// `require('connkit/thrift')` runs unchanged in both places.

const thrift = require('thrift/lib/nodejs/lib/thrift/browser.js');

exports.Thrift = thrift.Thrift;
exports.WSConnection = thrift.WSConnection;
exports.createWSConnection = thrift.createWSConnection;
exports.createWSClient = thrift.createWSClient;
exports.XHRConnection = thrift.XHRConnection;
exports.createXHRConnection = thrift.createXHRConnection;
exports.createXHRClient = thrift.createXHRClient;
exports.OhosConnection = thrift.OhosConnection;
exports.createOhosConnection = thrift.createOhosConnection;
exports.createOhosClient = thrift.createOhosClient;
exports.createClient = thrift.createClient;
exports.Int64 = thrift.Int64;
exports.toBigInt = thrift.toBigInt;
exports.fromBigInt = thrift.fromBigInt;
exports.Multiplexer = thrift.Multiplexer;
exports.TBufferedTransport = thrift.TBufferedTransport;
exports.TFramedTransport = thrift.TFramedTransport;
exports.TWebSocketTransport = thrift.TWebSocketTransport;
exports.Protocol = thrift.Protocol;
exports.TJSONProtocol = thrift.TJSONProtocol;
exports.TBinaryProtocol = thrift.TBinaryProtocol;
exports.TCompactProtocol = thrift.TCompactProtocol;
exports.InputBufferUnderrunError = thrift.InputBufferUnderrunError;
