'use strict';

// The TLS options thrift passes to Node's tls and https modules, as the core's TLS
// takes them: a client's and a server's. Options the core cannot honour are refused.

const { refuseUnsupportedTls } = require('../../lib/options');

const CLIENT = ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername'];
const SERVER = ['ca', 'cert', 'key', 'requestCert', 'rejectUnauthorized'];

function pick(options, names) {
  refuseUnsupportedTls(options);
  const picked = { transport: 'tls' };
  for (const name of names) if (options[name] !== undefined) picked[name] = options[name];
  return picked;
}

const clientTls = (options) => pick(options, CLIENT);
const serverTls = (options) => pick(options, SERVER);

module.exports = { clientTls, serverTls };
