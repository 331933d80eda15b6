'use strict';

// The TLS options thrift passes to Node's tls module, as the core's TLS takes them.

const { refuseUnsupportedTls } = require('../../lib/options');

/** The core's TLS options from `options`, keeping `names`. */
function tlsOptions(options, names) {
  refuseUnsupportedTls(options);
  const picked = { transport: 'tls' };
  for (const name of names) if (options[name] !== undefined) picked[name] = options[name];
  return picked;
}

module.exports = { tlsOptions };
