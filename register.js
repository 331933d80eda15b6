'use strict';

// `node -r connkit/register app.js`: `require('thrift')`, `@metarhia/jstp`,
// `metarhia-jstp`, `connman` and `@crussell52/socket-ipc` resolve to connkit's faces,
// from the app's code and from code generated for it, while connkit itself still gets
// the real packages it builds on. Nothing else changes. (ESM: `--import connkit/register`.)

const Module = require('node:module');
const { faceFor } = require('./lib/redirect');

const resolve = Module._resolveFilename;
Module._resolveFilename = function resolveFilename(request, parent, ...rest) {
  return faceFor(request, parent?.filename) ?? resolve.call(this, request, parent, ...rest);
};
