'use strict';

// connkit/thrift's XHRConnection in Node: the original's methods (flush, setRecvBuffer,
// readAll, read, write, getSendBuffer, isOpen, open, close, getXmlHttpRequestObject)
// and connkit's getRecvBuffer, against the real thrift 0.24.0 web server, with code
// generated at test time; and THRIFT-4987: binary and compact replies reach the
// client as the bytes they are, where text encoded back as UTF-8 breaks them.

const test = require('node:test');
const assert = require('node:assert');
const real = require('thrift');
const ck = require('connkit/thrift');
const { thriftCalc } = require('./helpers');

const { Calc, types, handler } = thriftCalc(test.after);

// One service per transport and protocol on the original's web server.
const STACKS = {
  '/binary': ['TBufferedTransport', 'TBinaryProtocol'],
  '/compact': ['TBufferedTransport', 'TCompactProtocol'],
  '/json': ['TBufferedTransport', 'TJSONProtocol'],
  '/framed-binary': ['TFramedTransport', 'TBinaryProtocol'],
  '/framed-json': ['TFramedTransport', 'TJSONProtocol'],
};

let server;
let port;
test.before(async () => {
  const services = {};
  for (const [at, [transport, protocol]] of Object.entries(STACKS)) {
    services[at] = { transport: real[transport], protocol: real[protocol], processor: Calc, handler };
  }
  server = real.createWebServer({ services });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  port = server.address().port;
});
test.after(() => {
  server.closeAllConnections();
  server.close();
});

/** connkit's XHR connection and client for the service at `at`. */
function xhr(at, options = {}) {
  const [transport, protocol] = STACKS[at];
  const connection = ck.createXHRConnection('127.0.0.1', port, { path: at, transport: ck[transport], protocol: ck[protocol], ...options });
  return { connection, client: ck.createXHRClient(Calc, connection) };
}

/** The call's (error, value); or the error `connection` emits, for a reply that cannot
 * be decoded is never given to a call. */
const call = (connection, fn) =>
  new Promise((resolve) => {
    const emitted = (error) => resolve({ error, emitted: true });
    connection.once('error', emitted);
    fn((error, value) => {
      connection.removeListener('error', emitted);
      resolve({ error, value });
    });
  });

/** Bytes 0..255 twice: every byte value from 0x80 up, which text would mangle. */
const EVERY_BYTE = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));

test('THRIFT-4987: binary and compact replies are decoded from their bytes', { timeout: 10000 }, async () => {
  // The first bytes of a reply: the binary protocol's version (0x80 0x01) and REPLY
  // (2), the compact protocol's id (0x82) and REPLY in its version byte (0x41).
  const heads = { '/binary': [0x80, 0x01, 0x00, 0x02], '/compact': [0x82, 0x41], '/framed-binary': null };
  for (const [at, head] of Object.entries(heads)) {
    const { connection, client } = xhr(at);
    assert.deepStrictEqual(await call(connection, (cb) => client.add(20, 22, cb)), { error: null, value: 42 }, at);
    const reply = connection.getRecvBuffer();
    assert.ok(Buffer.isBuffer(reply), `${at}: the reply is bytes`);
    if (head) assert.deepStrictEqual([...reply.subarray(0, head.length)], head, at);
    assert.strictEqual(connection.readAll(), reply);

    const blob = await call(connection, (cb) => client.blob(EVERY_BYTE, cb));
    assert.ifError(blob.error);
    assert.ok(blob.value.equals(EVERY_BYTE), `${at}: every byte value comes back`);
    const pair = new types.Pair({ a: 7, b: 'ü✓', c: [new real.Int64(5)], d: {} });
    assert.strictEqual((await call(connection, (cb) => client.echo(pair, cb))).value.b, 'ü✓', at);
    connection.close();
  }
});

test('JSON replies are text when buffered, bytes when framed (a binary length prefix)', { timeout: 10000 }, async () => {
  const pair = new types.Pair({ a: 7, b: 'ü✓', c: [], d: {} });
  const json = xhr('/json');
  assert.strictEqual((await call(json.connection, (cb) => json.client.echo(pair, cb))).value.b, 'ü✓');
  assert.strictEqual(typeof json.connection.getRecvBuffer(), 'string');
  assert.match(json.connection.readAll(), /^\[1,"echo",2,1,/);
  assert.ok(json.connection.readAll().includes('ü✓'));

  // A reply of 162 bytes: its frame's length prefix, 00 00 00 a2, has a byte that
  // text would turn into EF BF BD.
  const framed = xhr('/framed-json');
  const long = new types.Pair({ a: 1, b: 'x'.repeat(50), c: [], d: {} });
  assert.strictEqual((await call(framed.connection, (cb) => framed.client.echo(long, cb))).value.b, long.b);
  const reply = framed.connection.getRecvBuffer();
  assert.ok(Buffer.isBuffer(reply));
  assert.ok(reply.readUInt32BE(0) >= 0x80 && reply.readUInt32BE(0) < 0x100, 'the prefix has a byte from 0x80 up');
  json.connection.close();
  framed.connection.close();
});

test('setRecvBuffer() and getRecvBuffer() with a real reply; getSendBuffer() after a call', { timeout: 10000 }, async () => {
  // A real call, then the same call on a connection without a url: flush() returns the
  // send buffer and sends nothing, and the call waits for setRecvBuffer().
  const live = xhr('/binary');
  assert.strictEqual((await call(live.connection, (cb) => live.client.add(20, 22, cb))).value, 42);
  const request = live.connection.getSendBuffer();
  const reply = live.connection.getRecvBuffer();

  // The request is the call: decoded with the original's own transport and protocol.
  let header;
  real.TBufferedTransport.receiver((transport) => {
    header = new real.TBinaryProtocol(transport).readMessageBegin();
  })(request);
  assert.deepStrictEqual({ ...header }, { fname: 'add', mtype: real.Thrift.MessageType.CALL, rseqid: 1 });

  const offline = xhr('/binary');
  offline.connection.url = '';
  assert.strictEqual(offline.connection.flush(), '');
  const answered = call(offline.connection, (cb) => offline.client.add(20, 22, cb));
  assert.ok(offline.connection.getSendBuffer().equals(request), 'the same request, byte for byte');

  // The reply as the fixed original hands it over from a browser: an ArrayBuffer.
  const asArrayBuffer = new Uint8Array(reply).buffer;
  offline.connection.setRecvBuffer(asArrayBuffer);
  assert.deepStrictEqual(await answered, { error: null, value: 42 });
  assert.strictEqual(offline.connection.getRecvBuffer(), asArrayBuffer);
  assert.strictEqual(offline.connection.readAll(), asArrayBuffer);
  assert.strictEqual(offline.connection.wpos, reply.length);
  assert.strictEqual(offline.connection.rpos, 0);

  // The same reply as text (what the unfixed original took, responseText): encoded as
  // UTF-8, its 0x80 becomes C2 80, and readMessageBegin fails; the call still waits.
  const errors = [];
  offline.connection.on('error', (error) => errors.push(error));
  let late = false;
  offline.client.add(1, 1, () => (late = true));
  offline.connection.setRecvBuffer(reply.toString('latin1'));
  assert.strictEqual(errors.length, 1);
  assert.ok(errors[0] instanceof real.Thrift.TProtocolException, String(errors[0]));
  assert.strictEqual(errors[0].type, real.Thrift.TProtocolExceptionType.BAD_VERSION);
  assert.match(errors[0].message, /Bad version in readMessageBegin/);
  assert.strictEqual(late, false);

  // JSON: text round trip, with characters outside ASCII.
  const pair = new types.Pair({ a: 3, b: 'ü✓', c: [], d: {} });
  const json = xhr('/json');
  assert.strictEqual((await call(json.connection, (cb) => json.client.echo(pair, cb))).value.b, 'ü✓');
  const offlineJson = xhr('/json');
  offlineJson.connection.url = '';
  const echoed = call(offlineJson.connection, (cb) => offlineJson.client.echo(pair, cb));
  assert.strictEqual(offlineJson.connection.getSendBuffer().toString(), json.connection.getSendBuffer().toString());
  offlineJson.connection.setRecvBuffer(json.connection.getRecvBuffer());
  const { error, value } = await echoed;
  assert.ifError(error);
  assert.deepStrictEqual([value.a, value.b], [3, 'ü✓']);
  live.connection.close();
  json.connection.close();
});

test('read() walks the last reply; readAll() returns it whole', { timeout: 10000 }, async () => {
  const { connection, client } = xhr('/binary');
  await call(connection, (cb) => client.add(1, 2, cb));
  const reply = connection.readAll();
  assert.deepStrictEqual([connection.rpos, connection.wpos], [0, reply.length]);
  assert.deepStrictEqual([...connection.read(4)], [0x80, 0x01, 0x00, 0x02]);
  assert.strictEqual(connection.rpos, 4);
  assert.ok(connection.read(1e6).equals(reply.subarray(4)));
  assert.strictEqual(connection.read(1).length, 0);
  connection.close();

  const json = xhr('/json');
  await call(json.connection, (cb) => json.client.add(1, 2, cb));
  const text = json.connection.readAll();
  assert.strictEqual(json.connection.wpos, text.length);
  assert.strictEqual(json.connection.read(2), '[1');
  assert.strictEqual(json.connection.read(1e6), text.slice(2));
  assert.strictEqual(json.connection.read(1), '');
  json.connection.close();
});

test('isOpen(), open(), close(), getXmlHttpRequestObject(), url and options', { timeout: 10000 }, async () => {
  const options = { useCORS: true, headers: { 'X-Test': '1' } };
  const { connection, client } = xhr('/binary', options);
  assert.strictEqual(connection.options.useCORS, true);
  assert.strictEqual(connection.useCORS, true);
  assert.strictEqual(connection.url, `http://127.0.0.1:${port}/binary`);
  assert.strictEqual(connection.headers['X-Test'], '1');
  assert.strictEqual(connection.getXmlHttpRequestObject(), null);
  assert.strictEqual(connection.isOpen(), true);
  assert.strictEqual(connection.open(), undefined);
  assert.strictEqual((await call(connection, (cb) => client.add(2, 3, cb))).value, 5);
  connection.close();
  // As the original's close(), it stays open: the next call is sent and answered.
  assert.strictEqual(connection.isOpen(), true);
  assert.strictEqual((await call(connection, (cb) => client.add(4, 5, cb))).value, 9);
  connection.close();
});

test("options.timeout fails the call and emits 'error' (THRIFT-4987's ontimeout)", { timeout: 10000 }, async () => {
  const { connection, client } = xhr('/binary', { timeout: 100 });
  const errors = [];
  connection.on('error', (error) => errors.push(error));
  const { error } = await call(connection, (cb) => client.slow(1000, cb));
  assert.strictEqual(error?.code, 'ETIMEDOUT', String(error));
  assert.deepStrictEqual(errors, [error]);
  assert.strictEqual((await call(connection, (cb) => client.add(1, 1, cb))).value, 2);
  connection.close();
});
