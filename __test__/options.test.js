'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const ck = require('..');

function throwsType(fn, code = 'ERR_INVALID_ARG_TYPE', pattern) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof TypeError, `expected a TypeError, got ${err}`);
    assert.equal(err.code, code);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

test('wrong option types throw a TypeError at once, before anything connects', () => {
  throwsType(() => ck.createConnection({ port: '80x' }), 'ERR_INVALID_ARG_TYPE', /"port" option must be of type number/);
  throwsType(() => ck.createConnection({ port: '70000' }), 'ERR_INVALID_ARG_VALUE');
  throwsType(() => ck.createConnection({ port: 70000 }), 'ERR_INVALID_ARG_VALUE');
  throwsType(() => ck.createConnection({}), 'ERR_INVALID_ARG_TYPE', /"port"/);
  throwsType(() => ck.createConnection(null), 'ERR_INVALID_ARG_TYPE', /"options"/);
  throwsType(() => ck.createConnection({ port: 1, host: 5 }));
  throwsType(() => ck.createConnection({ port: 1, timeout: 'soon' }));
  throwsType(() => ck.createConnection({ port: 1, noDelay: 'yes' }));
  throwsType(() => ck.createConnection({ port: 1, keepAlive: -1 }));
  throwsType(() => ck.createConnection({ transport: 'tls', port: 1, ca: 42 }));
  throwsType(() => ck.createConnection({ transport: 'tls', port: 1, pfx: Buffer.alloc(1) }), 'ERR_CONNKIT_UNSUPPORTED_OPTION', /"pfx"/);
  throwsType(() => ck.createServer({ transport: 'tls', key: 'k', cert: 'c', ciphers: 'ALL' }), 'ERR_CONNKIT_UNSUPPORTED_OPTION', /"ciphers"/);
  throwsType(() => ck.createConnection({ path: '/tmp/x', framing: { delimiter: '' } }), 'ERR_INVALID_ARG_VALUE');
  throwsType(() => ck.createConnection({ path: '/tmp/x', framing: 'lines' }), 'ERR_INVALID_ARG_VALUE');
  throwsType(() => ck.createConnection({ command: 'x', args: 'y' }));
  throwsType(() => ck.createConnection({ port: 1, reconnect: { maxAttempts: 1.5 } }));
  throwsType(() => ck.createConnection({ port: 1, reconnect: { cap: 'nope' } }), 'ERR_INVALID_ARG_VALUE');
  throwsType(() => ck.createConnection({ port: 1, reconnect: { integerSteps: 1 } }), 'ERR_INVALID_ARG_TYPE');
  throwsType(() => ck.createConnection({ port: 1, reconnect: { jitter: 2 } }), 'ERR_INVALID_ARG_VALUE');
  throwsType(() => ck.createConnection({ port: 1 }, 'not a function'));
});

test('an unknown transport is a TypeError', () => {
  throwsType(() => ck.createConnection({ transport: 'sctp', port: 1 }), 'ERR_INVALID_ARG_VALUE', /transport/);
  throwsType(() => ck.createServer({ transport: 'stdio' }), 'ERR_INVALID_ARG_VALUE', /transport/);
});

test('write() of a non-buffer is a TypeError', () => {
  const server = ck.createServer();
  const conn = ck.createConnection({ port: 9, host: '127.0.0.1' });
  conn.on('error', () => {});
  throwsType(() => conn.write(42));
  throwsType(() => conn.write({}));
  conn.destroy();
  server.close();
});

test('a server without cert and key for TLS fails clearly', async () => {
  const server = ck.createServer({ transport: 'tls' });
  assert.throws(() => server.listen(0), /TLS server needs cert and key/);
});
