'use strict';

// The application's own `thrift` (a peer dependency). connkit/thrift builds on its
// protocols and transports, and the application's generated code requires it too:
// they must be one copy, or each refuses the other's values (an Int64 made by one
// copy is "Expected Int64 or Number" to the other's protocol).

const semver = require('semver');
const { peerDependencies } = require('../../package.json');

const range = peerDependencies.thrift;

function load() {
  try {
    return require('thrift');
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND' || !err.message.includes("'thrift'")) throw err;
    const missing = new Error(`connkit/thrift builds on your application's thrift package, which is not installed: npm install thrift@'${range}'`, { cause: err });
    missing.code = 'ERR_CONNKIT_THRIFT_MISSING';
    throw missing;
  }
}

const thrift = load();
// npm refuses a thrift outside the range; other installers only warn, and so do we.
const { version } = require('thrift/package.json');
if (!semver.satisfies(version, range)) {
  process.emitWarning(`connkit/thrift supports thrift ${range}; this application has ${version}`, { code: 'CONNKIT_THRIFT_VERSION' });
}

module.exports = thrift;
