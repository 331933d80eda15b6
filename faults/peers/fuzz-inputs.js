'use strict';

// The fuzzer's inputs: a seeded random source, valid messages of each wire (connkit's
// framings, JSTP, Thrift binary and compact, framed and buffered, socket-ipc's JSON,
// WebSocket frames, HTTP), and the ways they are broken: bit flips, truncation,
// splices, structure-aware replacements (null where an array is expected, huge ids,
// prototype keys), size claims up to 4 GiB (and 2^64 for WebSocket), nesting 100,000
// deep, invalid UTF-8. Each case is `{ kind, bytes, hold? }`: `kind` names how it was
// made (for the report), `hold` marks a claim that is within the limit (the server
// must wait for the rest without reserving it).

const crypto = require('node:crypto');

/** mulberry32: small, fast, reproducible from the seed printed in the report. */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick: (list) => list[int(list.length)],
    bytes: (n) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    },
  };
}

const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

// ---------------------------------------------------------------- byte-level mutations

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x0a, 0x27, 0x22, 0x5c, 0x7b, 0x5b];
// Invalid UTF-8: an overlong NUL, a lone continuation byte, a cut 4-byte sequence,
// a surrogate, bytes that never occur, an overlong slash.
const BAD_UTF8 = [
  Buffer.from([0xc0, 0x80]),
  Buffer.from([0x80]),
  Buffer.from([0xf0, 0x9f, 0x98]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xff, 0xfe]),
  Buffer.from([0xe0, 0x80, 0xaf]),
  Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]),
];

function bitflip(r, buf) {
  const out = Buffer.from(buf);
  if (out.length === 0) return out;
  const flips = 1 + r.int(4);
  for (let i = 0; i < flips; i++) out[r.int(out.length)] ^= 1 << r.int(8);
  return out;
}

function setByte(r, buf) {
  const out = Buffer.from(buf);
  if (out.length === 0) return out;
  out[r.int(out.length)] = r.pick(INTERESTING_BYTES);
  return out;
}

function truncate(r, buf) {
  return buf.subarray(0, r.int(Math.max(1, buf.length)));
}

function splice(r, a, b) {
  return Buffer.concat([a.subarray(0, r.int(a.length + 1)), b.subarray(r.int(b.length + 1))]);
}

function insert(r, buf, what) {
  const at = r.int(buf.length + 1);
  return Buffer.concat([buf.subarray(0, at), what, buf.subarray(at)]);
}

function duplicateRange(r, buf) {
  if (buf.length < 2) return Buffer.concat([buf, buf]);
  const from = r.int(buf.length - 1);
  const to = from + 1 + r.int(Math.min(64, buf.length - from));
  return insert(r, buf, buf.subarray(from, to));
}

/** One byte-level mutation of `buf` (`others`: more valid messages, to splice with). */
function mutateBytes(r, buf, others) {
  switch (r.int(7)) {
    case 0:
      return { kind: 'bitflip', bytes: bitflip(r, buf) };
    case 1:
      return { kind: 'byte', bytes: setByte(r, buf) };
    case 2:
      return { kind: 'truncated', bytes: truncate(r, buf) };
    case 3:
      return { kind: 'splice', bytes: splice(r, buf, r.pick(others)) };
    case 4:
      return { kind: 'inserted', bytes: insert(r, buf, r.bytes(1 + r.int(16))) };
    case 5:
      return { kind: 'duplicated', bytes: duplicateRange(r, buf) };
    default:
      return { kind: 'bad-utf8', bytes: insert(r, buf, r.pick(BAD_UTF8)) };
  }
}

// ------------------------------------------------------ JSON-like values (JSTP, socket-ipc)

/** An object whose keys are written exactly as listed (so '__proto__' is a key). */
class Obj {
  constructor(entries) {
    this.entries = entries;
  }
}
const obj = (o) => new Obj(Object.entries(o).map(([k, v]) => [k, wrap(v)]));
function wrap(v) {
  if (Array.isArray(v)) return v.map(wrap);
  if (v !== null && typeof v === 'object' && !(v instanceof Obj)) return obj(v);
  return v;
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** mdsf as the original writes it (bare keys, single quotes), or JSON. */
function serialize(v, style) {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : style === 'json' ? 'null' : String(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') {
    const json = JSON.stringify(v);
    return style === 'json' ? json : `'${json.slice(1, -1).replace(/'/g, "\\'")}'`;
  }
  if (Array.isArray(v)) return `[${v.map((x) => serialize(x, style)).join(',')}]`;
  if (v instanceof Obj) {
    const key = (k) => (style !== 'json' && IDENT.test(k) ? k : serialize(k, style));
    return `{${v.entries.map(([k, x]) => `${key(k)}:${serialize(x, style)}`).join(',')}}`;
  }
  if (v && v.raw !== undefined) return v.raw; // pre-made text (deep nesting)
  return 'null';
}

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'then'];
const HUGE_NUMBERS = [2 ** 31 - 1, 2 ** 32, 2 ** 53 - 1, 1e15, -(2 ** 53), 1e308, -1, 0.5, -0];

function interestingValue(r) {
  switch (r.int(12)) {
    case 0:
      return null;
    case 1:
      return undefined;
    case 2:
      return r.pick(HUGE_NUMBERS);
    case 3:
      return '';
    case 4:
      return 'x'.repeat(1 + r.int(2000));
    case 5:
      return [];
    case 6:
      return new Obj([]);
    case 7:
      return true;
    case 8:
      return r.pick(PROTO_KEYS);
    case 9:
      return new Obj([[r.pick(PROTO_KEYS), new Obj([])]]);
    case 10:
      return { raw: `${'['.repeat(50)}${']'.repeat(50)}` };
    default:
      return r.int(100);
  }
}

/** Every node of a value, with a setter, for structure-aware mutation. */
function nodes(v, out = [], set = null) {
  out.push({ value: v, set });
  if (Array.isArray(v)) v.forEach((x, i) => nodes(x, out, (n) => (v[i] = n)));
  else if (v instanceof Obj) v.entries.forEach((e) => nodes(e[1], out, (n) => (e[1] = n)));
  return out;
}

const clone = (v) => (Array.isArray(v) ? v.map(clone) : v instanceof Obj ? new Obj(v.entries.map(([k, x]) => [k, clone(x)])) : v);

/** One structural mutation of a message (an Obj). */
function mutateValue(r, message) {
  const m = clone(message);
  const all = nodes(m);
  const count = 1 + r.int(3);
  for (let i = 0; i < count; i++) {
    const target = r.pick(all);
    const choice = r.int(6);
    if (choice <= 2 && target.set) target.set(interestingValue(r));
    else if (choice === 3 && target.value instanceof Obj && target.value.entries.length) {
      // rename a key, often to a prototype key
      const e = r.pick(target.value.entries);
      e[0] = r.chance(0.6) ? r.pick(PROTO_KEYS) : r.pick(['call', 'callback', 'event', 'ping', 'pong', 'inspect', 'handshake', 'ok', 'error', '']);
    } else if (choice === 4 && target.value instanceof Obj) {
      // drop or add a key
      if (target.value.entries.length && r.chance(0.5)) target.value.entries.splice(r.int(target.value.entries.length), 1);
      else target.value.entries.splice(r.int(target.value.entries.length + 1), 0, [r.pick(PROTO_KEYS), interestingValue(r)]);
    } else if (Array.isArray(target.value)) {
      if (target.value.length && r.chance(0.5)) target.value.splice(r.int(target.value.length), 1);
      else target.value.push(interestingValue(r));
    } else if (target.set) target.set(interestingValue(r));
  }
  return m;
}

/** Text nested `depth` deep: `[[[...` (closed or not). */
function deepText(depth, closed, open = '[', close = ']') {
  return open.repeat(depth) + (closed ? close.repeat(depth) : '');
}

// ------------------------------------------------------------------------------ JSTP

const JSTP_APP = 'calc';
const JSTP_VALID = () => [
  obj({ call: [1, 'calculator'], add: [2, 3] }),
  obj({ inspect: [2, 'calculator'] }),
  obj({ ping: [3] }),
  obj({ pong: [-1] }),
  obj({ event: [4, 'calculator'], note: ['x', 1] }),
  obj({ callback: [-1], ok: [1] }),
  obj({ callback: [-2], error: [12, 'nope'] }),
  obj({ call: [5, 'calculator'], echo: [{ s: "it's", n: [1.5, null, true] }] }),
  obj({}),
];
const JSTP_HANDSHAKES = () => [
  obj({ handshake: [0, JSTP_APP] }),
  obj({ handshake: [0, JSTP_APP, '^1.0.0'] }),
  obj({ handshake: [0, JSTP_APP], login: ['user', 'pass'] }),
  obj({ handshake: [0, JSTP_APP], session: [crypto.randomUUID(), 5] }),
];

function jstpText(r, v) {
  return serialize(v, r.chance(0.8) ? 'mdsf' : 'json');
}

/** A JSTP conversation: usually a valid handshake first (to reach what follows it). */
function jstpCase(r) {
  const valid = JSTP_VALID();
  const handshakes = JSTP_HANDSHAKES();
  const parts = [];
  const kinds = [];
  const roll = r.int(100);
  if (roll < 3) {
    const depth = 100_000;
    const unclosed = r.chance(0.5);
    const text = `{call:[1,'calculator'],add:${deepText(depth, !unclosed)}${unclosed ? '' : '}'}`;
    return { kind: 'deep-100k', bytes: Buffer.from(`${jstpText(r, handshakes[0])}\0${text}\0`) };
  }
  if (roll < 6) {
    // Just inside the core's 10,000 levels: the message reaches JS.
    const text = `{call:[1,'calculator'],add:[${deepText(9_990, true)},1]}`;
    return { kind: 'deep-9990', bytes: Buffer.from(`${jstpText(r, handshakes[0])}\0${text}\0`) };
  }
  if (roll < 10) {
    const bytes = Buffer.from(`${jstpText(r, handshakes[0])}\0`);
    return { kind: 'bad-utf8', bytes: Buffer.concat([bytes, Buffer.from("{call:[1,'calculator'],echo:['"), r.pick(BAD_UTF8), Buffer.from("']}\0")]) };
  }
  if (roll < 25) {
    const hs = mutateValue(r, r.pick(handshakes));
    parts.push(jstpText(r, hs));
    kinds.push('handshake-struct');
  } else {
    parts.push(jstpText(r, r.pick(handshakes)));
  }
  const more = 1 + r.int(4);
  for (let i = 0; i < more; i++) {
    const base = r.pick(valid);
    const how = r.int(10);
    if (how < 6) {
      parts.push(jstpText(r, mutateValue(r, base)));
      kinds.push('struct');
    } else if (how < 8) {
      const m = mutateBytes(r, Buffer.from(jstpText(r, base)), valid.map((v) => Buffer.from(jstpText(r, v))));
      parts.push(m.bytes.toString('latin1'));
      kinds.push(m.kind);
    } else parts.push(jstpText(r, base));
  }
  const text = parts.map((p) => Buffer.from(p, 'latin1'));
  const bytes = Buffer.concat(text.flatMap((b) => [b, Buffer.from([0])]));
  return { kind: kinds[0] ?? 'valid', bytes };
}

// ---------------------------------------------------------------------- socket-ipc

const IPC_VALID = () => [
  obj({ topic: 'ping', message: { at: 1, s: 'x' } }),
  obj({ topic: 'other', message: [1, 2, 3] }),
  obj({ topic: 'ping', message: null }),
];

function ipcCase(r) {
  const valid = IPC_VALID();
  const roll = r.int(100);
  const end = Buffer.from([0, 0]);
  if (roll < 4) return { kind: 'deep-100k', bytes: Buffer.concat([Buffer.from(`{"topic":"ping","message":${deepText(100_000, r.chance(0.5))}}`), end]) };
  if (roll < 8) return { kind: 'bad-utf8', bytes: Buffer.concat([Buffer.from('{"topic":"ping","message":"'), r.pick(BAD_UTF8), Buffer.from('"}'), end]) };
  if (roll < 45) {
    const m = mutateValue(r, r.pick(valid));
    return { kind: 'struct', bytes: Buffer.concat([Buffer.from(serialize(m, 'json')), end]) };
  }
  if (roll < 55) {
    // Not an object at all, or not JSON.
    const text = r.pick(['null', '1', '"s"', '[]', 'true', '{"topic":null}', '{"message":1}', '{"topic":{},"message":1}', '{', 'nope']);
    return { kind: 'not-a-wrapper', bytes: Buffer.concat([Buffer.from(text), end]) };
  }
  const bufs = valid.map((v) => Buffer.concat([Buffer.from(serialize(v, 'json')), end]));
  return mutateBytes(r, r.pick(bufs), bufs);
}

// --------------------------------------------------------------------------- Thrift

function binaryCall(name, seqid, body) {
  const n = Buffer.from(name);
  const head = Buffer.alloc(12 + n.length);
  head.writeUInt32BE(0x80010001, 0);
  head.writeUInt32BE(n.length, 4);
  n.copy(head, 8);
  head.writeInt32BE(seqid, 8 + n.length);
  return Buffer.concat([head, body]);
}

function binaryAddArgs(a, b) {
  const f = Buffer.alloc(15);
  f[0] = 8;
  f.writeInt16BE(1, 1);
  f.writeInt32BE(a, 3);
  f[7] = 8;
  f.writeInt16BE(2, 8);
  f.writeInt32BE(b, 10);
  f[14] = 0;
  return f;
}

function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return Buffer.from(out);
}
const zigzag = (n) => (n << 1) ^ (n >> 31);

function compactCall(name, seqid, body) {
  const n = Buffer.from(name);
  return Buffer.concat([Buffer.from([0x82, 0x21]), varint(seqid >>> 0), varint(n.length), n, body]);
}

function compactAddArgs(a, b) {
  return Buffer.concat([Buffer.from([0x15]), varint(zigzag(a) >>> 0), Buffer.from([0x15]), varint(zigzag(b) >>> 0), Buffer.from([0])]);
}

/** A valid `add(a, b)` call of Calc (demo/calc.thrift), in `protocol`. */
function thriftAdd(protocol, seqid, a = 2, b = 3) {
  return protocol === 'compact' ? compactCall('add', seqid, compactAddArgs(a, b)) : binaryCall('add', seqid, binaryAddArgs(a, b));
}

/** Fields nested `depth` deep (struct in struct), each then closed. */
function thriftDeep(protocol, depth) {
  const open = protocol === 'compact' ? Buffer.from([0x1c]) : Buffer.from([12, 0, 1]);
  const body = Buffer.concat([Buffer.alloc(open.length * depth, open), Buffer.alloc(depth + 1, 0)]);
  return protocol === 'compact' ? compactCall('add', 7, body) : binaryCall('add', 7, body);
}

/** Calls whose declared sizes claim far more than is sent. */
function thriftClaims(protocol, withinLimit) {
  const cases = [];
  if (protocol === 'compact') {
    // string field claiming 4 GiB - 1, a list of 2^31 - 1 i64, a map, a 10-byte varint, a name claim
    cases.push(['string-4GiB', compactCall('add', 1, Buffer.concat([Buffer.from([0x18]), varint(0xffffffff), Buffer.from('abc')]))]);
    cases.push(['list-2^31', compactCall('add', 1, Buffer.concat([Buffer.from([0x19, 0xf6]), varint(0x7fffffff), Buffer.alloc(8)]))]);
    cases.push(['map-2^31', compactCall('add', 1, Buffer.concat([Buffer.from([0x1b]), varint(0x7fffffff), Buffer.from([0x55]), Buffer.alloc(4)]))]);
    cases.push(['varint-overflow', Buffer.concat([Buffer.from([0x82, 0x21]), Buffer.alloc(10, 0xff), Buffer.from([0x01])])]);
    cases.push(['name-4GiB', Buffer.concat([Buffer.from([0x82, 0x21, 0x01]), varint(0xffffffff), Buffer.from('add')])]);
    if (withinLimit) cases.push(['string-within', compactCall('add', 1, Buffer.concat([Buffer.from([0x18]), varint(withinLimit), Buffer.alloc(4096, 0x61)])), true]);
  } else {
    const str = (len) => Buffer.concat([Buffer.from([11, 0, 1]), u32(len), Buffer.from('abc')]);
    cases.push(['string-4GiB', binaryCall('add', 1, str(0xfffffff0))]);
    cases.push(['string-2GiB', binaryCall('add', 1, str(0x7ffffff0))]);
    cases.push(['list-2^31', binaryCall('add', 1, Buffer.concat([Buffer.from([15, 0, 1, 10]), u32(0x7fffffff), Buffer.alloc(8)]))]);
    cases.push(['map-2^31', binaryCall('add', 1, Buffer.concat([Buffer.from([13, 0, 1, 8, 8]), u32(0x7fffffff), Buffer.alloc(8)]))]);
    cases.push(['name-4GiB', Buffer.concat([Buffer.from([0x80, 0x01, 0x00, 0x01]), u32(0xfffffff0), Buffer.from('add')])]);
    cases.push(['old-name-2GiB', Buffer.concat([u32(0x7ffffff0), Buffer.from('add')])]);
    if (withinLimit) cases.push(['string-within', binaryCall('add', 1, Buffer.concat([Buffer.from([11, 0, 1]), u32(withinLimit), Buffer.alloc(4096, 0x61)])), true]);
  }
  return cases.map(([kind, bytes, hold]) => ({ kind: `claim-${kind}`, bytes, hold: Boolean(hold) }));
}

const FRAME_CLAIMS = [0xfffffff0, 0xffffffff, 0x80000000, 0x7fffffff];

function framed(buf) {
  return Buffer.concat([u32(buf.length), buf]);
}

/**
 * A Thrift case. `framing`: 'framed' (length-prefixed, `maxFrame` the server's
 * limit) or 'buffered'.
 */
function thriftCase(r, protocol, framing, maxFrame) {
  const valid = [thriftAdd(protocol, 1), thriftAdd(protocol, 2, -7, 2 ** 31 - 1), protocol === 'compact' ? compactCall('add', 3, Buffer.from([0])) : binaryCall('add', 3, Buffer.from([0]))];
  const wrapFrame = (b) => (framing === 'framed' ? framed(b) : b);
  const roll = r.int(100);
  if (roll < 4) return { kind: 'deep-100k', bytes: wrapFrame(thriftDeep(protocol, 100_000)) };
  if (roll < 7) return { kind: 'deep-1000', bytes: wrapFrame(thriftDeep(protocol, 1000)) };
  if (roll < 20) {
    const c = r.pick(thriftClaims(protocol, 0));
    return { kind: c.kind, bytes: wrapFrame(c.bytes) };
  }
  if (framing === 'framed' && roll < 28) {
    const claim = r.chance(0.7) ? r.pick(FRAME_CLAIMS) : maxFrame + 1 + r.int(1000);
    return { kind: 'claim-frame', bytes: Buffer.concat([u32(claim), thriftAdd(protocol, 1)]) };
  }
  if (roll < 40) {
    // Wrong method names and types: what the processor sees.
    const name = r.pick(['', 'nope', 'toString', '__proto__', 'constructor', 'add'.repeat(500), '\u00ff\u0000']);
    const body = protocol === 'compact' ? compactAddArgs(1, 2) : binaryAddArgs(1, 2);
    const call = protocol === 'compact' ? compactCall(name, 9, body) : binaryCall(name, 9, body);
    if (r.chance(0.5)) call[protocol === 'compact' ? 1 : 3] = r.pick([2, 3, 4, 0x41, 0x61, 0xa1, 0xe1, 0]) ; // message type
    return { kind: 'method', bytes: wrapFrame(call) };
  }
  const m = mutateBytes(r, r.pick(valid), valid);
  // Mostly keep the frame honest, so the mutation reaches the protocol.
  return { kind: m.kind, bytes: framing === 'framed' && r.chance(0.8) ? framed(m.bytes) : m.kind === 'truncated' ? m.bytes : wrapFrame(m.bytes) };
}

// ------------------------------------------------------------------ connkit framings

/** Cases for a connkit server with `framing` ('raw', 'length', 'jstp', 'thrift-binary',
 * 'thrift-compact', or 'nul' for { delimiter: '\0' }). */
function framingCase(r, framing, maxFrame) {
  switch (framing) {
    case 'length': {
      const valid = [framed(Buffer.from('hello')), framed(r.bytes(200)), framed(Buffer.alloc(0))];
      const roll = r.int(100);
      if (roll < 20) return { kind: 'claim-frame', bytes: Buffer.concat([u32(r.chance(0.7) ? r.pick(FRAME_CLAIMS) : maxFrame + 1 + r.int(1 << 20)), r.bytes(r.int(64))]) };
      if (roll < 35) return { kind: 'random', bytes: r.bytes(r.int(2048)) };
      return mutateBytes(r, r.pick(valid), valid);
    }
    case 'jstp': {
      const roll = r.int(100);
      if (roll < 50) return jstpCase(r);
      if (roll < 60) return { kind: 'random', bytes: Buffer.concat([r.bytes(r.int(512)), Buffer.from([0])]) };
      const texts = JSTP_VALID().map((v) => Buffer.from(`${serialize(v, 'mdsf')}\0`));
      const m = mutateBytes(r, r.pick(texts), texts);
      return m;
    }
    case 'thrift-binary':
    case 'thrift-compact':
      return r.chance(0.1) ? { kind: 'random', bytes: r.bytes(r.int(1024)) } : thriftCase(r, framing === 'thrift-binary' ? 'binary' : 'compact', 'buffered', maxFrame);
    case 'nul': {
      const valid = [Buffer.from('hello\0'), Buffer.concat([r.bytes(100).map((b) => b || 1), Buffer.from([0])]), Buffer.from('\0')];
      return r.chance(0.3) ? { kind: 'random', bytes: r.bytes(r.int(2048)) } : mutateBytes(r, r.pick(valid), valid);
    }
    default: {
      // raw: anything goes; the server only echoes
      if (r.chance(0.5)) return { kind: 'random', bytes: r.bytes(r.int(4096)) };
      const valid = [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from('hello'), Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])];
      return mutateBytes(r, r.pick(valid), valid);
    }
  }
}

/** Claims within `limit` that the server must wait on without reserving them. */
function holdClaims(framing, limit) {
  const within = limit - 4096;
  switch (framing) {
    case 'length':
      return Buffer.concat([u32(within), Buffer.alloc(4096, 0x61)]);
    case 'thrift-binary':
      return thriftClaims('binary', within - 64).find((c) => c.hold).bytes;
    case 'thrift-compact':
      return thriftClaims('compact', within - 64).find((c) => c.hold).bytes;
    default:
      return null;
  }
}

// ------------------------------------------------------------------------ WebSocket

const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function upgradeRequest(path = '/', extra = '') {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
  );
}

/** One WebSocket frame; `len` overrides the declared payload length (a claim). */
function wsFrame({ fin = true, rsv = 0, opcode = 2, mask = true, payload = Buffer.alloc(0), len, lenBytes }) {
  const declared = len ?? BigInt(payload.length);
  const head = [((fin ? 0x80 : 0) | (rsv << 4) | opcode) & 0xff];
  let ext = Buffer.alloc(0);
  const size = lenBytes ?? (declared < 126n ? 1 : declared < 65536n ? 2 : 8);
  if (size === 1) head.push((mask ? 0x80 : 0) | Number(declared));
  else if (size === 2) {
    head.push((mask ? 0x80 : 0) | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(Number(declared & 0xffffn));
  } else {
    head.push((mask ? 0x80 : 0) | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(declared & 0xffffffffffffffffn);
  }
  const key = mask ? Buffer.from([0x12, 0x34, 0x56, 0x78]) : Buffer.alloc(0);
  const body = Buffer.from(payload);
  if (mask) for (let i = 0; i < body.length; i++) body[i] ^= key[i % 4];
  return Buffer.concat([Buffer.from(head), ext, key, body]);
}

const WS_CLAIMS = [0xffffffffffffffffn, 0x7fffffffffffffffn, 0x100000000n, 0xfffffff0n, 0x8000000000000000n];

/**
 * Frames for a WebSocket server (sent after a 101), `message()` giving a valid
 * payload of what the messages carry.
 */
function wsCase(r, message, maxFrame) {
  const valid = () => wsFrame({ payload: message() });
  const roll = r.int(100);
  if (roll < 15) return { kind: 'claim-ws', bytes: Buffer.concat([wsFrame({ len: r.chance(0.8) ? r.pick(WS_CLAIMS) : BigInt(maxFrame + 1 + r.int(1000)), lenBytes: 8 }), r.bytes(r.int(64))]) };
  if (roll < 20) return { kind: 'ws-16bit-lie', bytes: wsFrame({ len: 65535n, lenBytes: 2, payload: r.bytes(r.int(100)) }) };
  if (roll < 40) {
    const variants = [
      () => ({ kind: 'ws-rsv', bytes: wsFrame({ rsv: 1 + r.int(7), payload: message() }) }),
      () => ({ kind: 'ws-opcode', bytes: wsFrame({ opcode: r.pick([3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]), payload: message() }) }),
      () => ({ kind: 'ws-control-long', bytes: wsFrame({ opcode: r.pick([8, 9, 10]), payload: r.bytes(126 + r.int(300)) }) }),
      () => ({ kind: 'ws-control-fragmented', bytes: wsFrame({ fin: false, opcode: 9, payload: Buffer.from('p') }) }),
      () => ({ kind: 'ws-continuation', bytes: wsFrame({ opcode: 0, payload: message() }) }),
      () => ({ kind: 'ws-unmasked', bytes: wsFrame({ mask: false, payload: message() }) }),
      () => ({ kind: 'ws-close-1byte', bytes: wsFrame({ opcode: 8, payload: Buffer.from([3]) }) }),
      () => ({ kind: 'ws-close-bad-utf8', bytes: wsFrame({ opcode: 8, payload: Buffer.concat([Buffer.from([3, 0xe8]), r.pick(BAD_UTF8)]) }) }),
      () => ({ kind: 'ws-text-bad-utf8', bytes: wsFrame({ opcode: 1, payload: Buffer.concat([message(), r.pick(BAD_UTF8)]) }) }),
      () => ({ kind: 'ws-fragments', bytes: Buffer.concat([wsFrame({ fin: false, payload: message().subarray(0, 3) }), wsFrame({ opcode: 2, payload: message() })]) }),
      () => ({ kind: 'ws-pings', bytes: Buffer.concat(Array.from({ length: 50 }, () => wsFrame({ opcode: 9, payload: r.bytes(r.int(125)) }))) }),
      () => ({ kind: 'ws-many-fragments', bytes: Buffer.concat([...Array.from({ length: 200 }, (_, i) => wsFrame({ fin: false, opcode: i === 0 ? 2 : 0, payload: Buffer.from([i & 0xff]) })), wsFrame({ opcode: 0 })]) }),
    ];
    return r.pick(variants)();
  }
  if (roll < 60) {
    // A valid frame carrying a broken message.
    return { kind: 'ws-payload', bytes: wsFrame({ payload: mutateBytes(r, message(), [message()]).bytes }) };
  }
  if (roll < 70) return { kind: 'random', bytes: r.bytes(r.int(512)) };
  const frames = [valid(), valid()];
  return mutateBytes(r, Buffer.concat(frames), frames);
}

/** A broken upgrade or HTTP request (sent instead of the handshake). */
function httpCase(r, path) {
  const valid = [upgradeRequest(path), Buffer.from(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello`)];
  switch (r.int(6)) {
    case 0:
      return { kind: 'http-claim', bytes: Buffer.from(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${r.pick(['4294967296', '18446744073709551615', '99999999999999999999', '-1', '1e9'])}\r\n\r\nabc`) };
    case 1:
      return { kind: 'http-chunk-claim', bytes: Buffer.from(`POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${r.pick(['ffffffffffffffff', 'fffffffff', '7fffffff'])}\r\nabc`) };
    case 2:
      return { kind: 'http-headers', bytes: Buffer.from(`GET ${path} HTTP/1.1\r\n${'X-A: b\r\n'.repeat(200 + r.int(2000))}\r\n`) };
    case 3:
      return { kind: 'http-upgrade-broken', bytes: upgradeRequest(path, r.pick(['Sec-WebSocket-Version: 99\r\n', 'Sec-WebSocket-Key: \r\n', 'Upgrade: nope\r\n', `Origin: ${'x'.repeat(5000)}\r\n`])) };
    default:
      return mutateBytes(r, r.pick(valid), valid);
  }
}

// ------------------------------------------------------------------------ corpora
// Inputs found before (by this fuzzer, or by reading the code): each run sends them
// first, so that the short profile always covers what once broke something.

function jstpCorpus() {
  const hs = "{handshake:[0,'calc']}\0";
  const after = (m) => ({ kind: `corpus ${m}`, bytes: Buffer.from(`${hs}${m}\0`) });
  return [
    { kind: 'corpus {handshake:null}', bytes: Buffer.from('{handshake:null}\0') },
    { kind: 'corpus session:null', bytes: Buffer.from("{handshake:[0,'calc'],session:null}\0") },
    after('{call:null,add:[1,2]}'),
    after('{callback:null,ok:[]}'),
    after("{event:null,note:['x']}"),
    after('{inspect:null}'),
    after('{inspect:{}}'),
    after('{ping:null}'),
    after('{pong:null}'),
    after("{call:[1,'__proto__'],toString:[]}"),
    after('{pong:[2147483647]}'),
    after('{callback:[-9007199254740991],ok:[1]}'),
  ];
}

function ipcCorpus() {
  const end = '\0\0';
  return ['null', '{"topic":null,"message":1}', '{"topic":{"toString":1},"message":1}', '{"topic":"__proto__","message":1}', `{"topic":"ping","message":${deepText(100_000, true)}}`].map((t) => ({
    kind: `corpus ${t.slice(0, 30)}`,
    bytes: Buffer.from(t + end),
  }));
}

function thriftCorpus(protocol, framing) {
  const wrapFrame = (b) => (framing === 'framed' ? framed(b) : b);
  const add = thriftAdd(protocol, 1);
  return [
    { kind: 'corpus truncated', bytes: wrapFrame(add.subarray(0, add.length - 3)) },
    { kind: 'corpus deep-100k', bytes: wrapFrame(thriftDeep(protocol, 100_000)) },
    { kind: 'corpus bad-protocol-id', bytes: wrapFrame(Buffer.concat([Buffer.from([0x12]), add.subarray(1)])) },
    ...thriftClaims(protocol, 0).map((c) => ({ kind: `corpus ${c.kind}`, bytes: wrapFrame(c.bytes) })),
    ...(framing === 'framed' ? FRAME_CLAIMS.map((n) => ({ kind: 'corpus claim-frame', bytes: Buffer.concat([u32(n), add]) })) : []),
  ];
}

module.exports = {
  rng,
  jstpCorpus,
  ipcCorpus,
  thriftCorpus,
  framed,
  thriftAdd,
  thriftClaims,
  thriftCase,
  jstpCase,
  ipcCase,
  framingCase,
  holdClaims,
  wsFrame,
  wsCase,
  httpCase,
  upgradeRequest,
  serialize,
  obj,
  JSTP_APP,
};
