'use strict';

// The TLS options thrift passes to Node's tls module, mapped onto the core's TLS
// (rustls). Node options the core cannot honour fail loudly instead of being ignored.

const { invalidValue } = require('../../lib/errors');

const UNSUPPORTED = ['pfx', 'passphrase', 'ciphers', 'minVersion', 'maxVersion', 'secureProtocol', 'secureContext', 'checkServerIdentity', 'crl', 'ecdhCurve', 'sigalgs', 'session', 'ALPNProtocols', 'SNICallback'];

// secureProtocol values that mean "any version the library has", which the core's are.
const ANY_VERSION = ['TLS_method', 'TLS_client_method', 'TLS_server_method', 'SSLv23_method', 'SSLv23_client_method', 'SSLv23_server_method'];

/** The core's TLS options from `options`, keeping `names`. */
function tlsOptions(options, names) {
  for (const name of UNSUPPORTED) {
    if (name === 'secureProtocol' && ANY_VERSION.includes(options[name])) continue;
    if (options[name] !== undefined) throw invalidValue(name, "is not supported by connkit's TLS (PEM key, cert and ca only)", options[name]);
  }
  const picked = { transport: 'tls' };
  for (const name of names) if (options[name] !== undefined) picked[name] = options[name];
  return picked;
}

module.exports = { tlsOptions };
