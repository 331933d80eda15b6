'use strict';

// The JS <-> Rust boundary is defined once, in Rust (src/node/boundary.rs and the
// event kinds of src/bridge/event.rs), and read by lib/bridge.js when it loads. These
// tests fail when JS or the typings name something that definition does not have.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { boundary, Kind, Op } = require('../lib/bridge');

const ROOT = path.join(__dirname, '..');

function sources(dir) {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.js'))
    .map((e) => path.join(e.parentPath ?? e.path, e.name));
}

test('every event kind and control op JS uses is one the core defines, each with its own number', () => {
  const used = { Kind: new Set(), Op: new Set() };
  for (const file of [...sources('lib'), ...sources('faces')]) {
    for (const [, table, name] of fs.readFileSync(file, 'utf8').matchAll(/\b(Kind|Op)\.([A-Za-z]+)\b/g)) used[table].add(name);
  }
  assert.ok(used.Kind.size >= 15 && used.Op.size >= 8, 'the scan finds the uses');
  for (const name of used.Kind) assert.ok(Object.hasOwn(Kind, name), `Kind.${name} is not defined by the core`);
  for (const name of used.Op) assert.ok(Object.hasOwn(Op, name), `Op.${name} is not defined by the core`);
  for (const table of [Kind, Op]) assert.strictEqual(new Set(Object.values(table)).size, Object.keys(table).length);
  assert.ok(Object.isFrozen(Kind) && Object.isFrozen(boundary.writeFlags));
});

/** The string members of the union type declared as `name?:` / `type name =` at `line`. */
function union(dts, pattern) {
  const match = dts.match(pattern);
  assert.ok(match, `${pattern} is in index.d.ts`);
  return [...match[1].matchAll(/'([^']+)'/g)].map((m) => m[1]).sort();
}

test("the typings' option names are the core's", () => {
  const dts = fs.readFileSync(path.join(ROOT, 'index.d.ts'), 'utf8');
  const sorted = (list) => [...list].sort();
  assert.deepStrictEqual(union(dts, /export type Framing = ([^;]+);/), sorted(boundary.framings.filter((f) => f !== 'delimited')));
  assert.deepStrictEqual(union(dts, /cap\?: ([^;]+);/), sorted(boundary.caps));
  assert.deepStrictEqual(union(dts, /interface ConnectOptions[^]*?transport\?: ([^;]+);/), sorted(boundary.connectTransports));
  assert.deepStrictEqual(union(dts, /interface WebSocketOptions[^]*?messages\?: ([^;]+);/), sorted(boundary.messages.filter((m) => m !== 'as-asked')));
  assert.deepStrictEqual(union(dts, /interface WebSocketServerOptions[^]*?messages\?: ([^;]+);/), sorted(boundary.messages));
  for (const m of dts.matchAll(/interface (?:ServerOptions|ListenOptions)[^]*?transport\?: ([^;]+);/g)) {
    assert.deepStrictEqual([...m[1].matchAll(/'([^']+)'/g)].map((x) => x[1]).sort(), sorted(boundary.listenTransports));
  }
});

test('what the core refuses, lib refuses first, with the core names in the message', () => {
  const ck = require('..');
  assert.throws(() => ck.createConnection({ port: 1, framing: 'nope' }), (e) => e.code === 'ERR_INVALID_ARG_VALUE' && boundary.framings.filter((f) => f !== 'delimited').every((f) => e.message.includes(`'${f}'`)));
  assert.throws(() => ck.createConnection({ port: 1, reconnect: { cap: 'nope' } }), (e) => e.code === 'ERR_INVALID_ARG_VALUE' && boundary.caps.every((c) => e.message.includes(c)));
  assert.throws(() => ck.createServer({ transport: 'stdio' }), { code: 'ERR_INVALID_ARG_VALUE' });
});
