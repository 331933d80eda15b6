'use strict';

// The page script (bundled by bundle.js): Calc clients from connkit/thrift over the
// browser's XMLHttpRequest and WebSocket, talking to the page's own server.
// `window.calc` is there for the console (and the tests); a page with <pre id="out">
// runs the demo below on load.

const thrift = require('connkit/thrift');
const Calc = require('gen-nodejs/Calc');
const types = require('gen-nodejs/calc_types');

const host = window.location.hostname;
const port = Number(window.location.port) || 80;

/** A Calc client over XHR (one POST per call) to the service at `path`. */
function xhr({ path = '/thrift', protocol = thrift.TJSONProtocol, headers } = {}) {
  const connection = thrift.createXHRConnection(host, port, {
    path,
    headers,
    transport: thrift.TBufferedTransport,
    protocol,
  });
  return thrift.createXHRClient(Calc, connection);
}

/** A Calc client over a WebSocket (calls made before it is open are queued). */
function ws({ path = '/thrift' } = {}) {
  const connection = thrift.createWSConnection(host, port, {
    path,
    transport: thrift.TBufferedTransport,
    protocol: thrift.TJSONProtocol,
  });
  connection.on('error', () => {});
  connection.open();
  const client = thrift.createWSClient(Calc, connection);
  client.connection = connection;
  return client;
}

// Values as plain data (Int64 as a decimal string, binary as an array of bytes).
function plain(v) {
  if (v instanceof thrift.Int64) return String(v.toNumber());
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v)) o[k] = plain(v[k]);
    return o;
  }
  return v === undefined ? null : v;
}

/** Calls `client[method](...args)`; resolves { error, value } as plain data, or a timeout. */
function call(client, method, args = [], ms = 5000) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ error: { timeout: ms }, value: null }), ms);
    try {
      client[method](...args, (error, value) => {
        clearTimeout(timer);
        if (error) {
          const { name, why, message } = error;
          resolve({ error: { name, why, message, oops: error instanceof types.Oops }, value: null });
        } else {
          resolve({ error: null, value: plain(value) });
        }
      });
    } catch (e) {
      clearTimeout(timer);
      resolve({ error: { thrown: String(e) }, value: null });
    }
  });
}

const samplePair = () =>
  new types.Pair({
    a: 7,
    b: 'ü✓ from the browser',
    c: [new thrift.Int64(2 ** 40 + 5), new thrift.Int64(-3)],
    d: { k: new types.Pair({ a: 1, b: 'x', c: [], d: {} }) },
  });

// binary arguments are Buffers (the thrift code's; a Uint8Array is not taken as binary).
const bytes = (array) => Buffer.from(array);

window.calc = { thrift, Calc, types, xhr, ws, call, plain, samplePair, bytes };

async function demo(out) {
  const show = (line) => (out.textContent += line + '\n');
  for (const [name, client] of [['XHR', xhr()], ['WebSocket', ws()]]) {
    show(`${name}: add(40, 2) = ${JSON.stringify(await call(client, 'add', [40, 2]))}`);
    show(`${name}: echo(pair) = ${JSON.stringify(await call(client, 'echo', [samplePair()]))}`);
    show(`${name}: fail('nope') = ${JSON.stringify(await call(client, 'fail', ['nope']))}`);
  }
  show('done');
}

const out = document.getElementById('out');
if (out) demo(out);
