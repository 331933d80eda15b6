'use strict';

// JSTP's wire syntax (mdsf: a JavaScript object-literal subset). Outgoing messages
// are written here byte for byte as @metarhia/jstp writes them. Incoming ones arrive
// from the core already checked and rewritten as JSON, so V8's JSON.parse reads them;
// text from other transports goes through the same native rewriter first.

const { native } = require('../../lib/bridge');

const BARE_KEY = /^[a-zA-Z_$][\w$]*$/;
// Characters JSON.stringify would escape, or that need escaping between single quotes.
const NEEDS_ESCAPE = /['"\\\u0000-\u001f\ud800-\udfff]/;

const keyCache = new Map();
const KEY_CACHE_LIMIT = 4096;

function string(s) {
  if (!NEEDS_ESCAPE.test(s)) return `'${s}'`;
  // JSON's escaping, plus the single quote: exactly what mdsf writes.
  return `'${JSON.stringify(s).slice(1, -1).replace(/'/g, "\\'")}'`;
}

function key(k) {
  let out = keyCache.get(k);
  if (out === undefined) {
    out = BARE_KEY.test(k) ? k : string(k);
    if (keyCache.size < KEY_CACHE_LIMIT) keyCache.set(k, out);
  }
  return out;
}

const SCALAR_TAGS = new Set(['[object Number]', '[object String]', '[object Boolean]']);

/** One value, or '' for what mdsf leaves out (functions, symbols, bigints). An
 * object's toMDSF(key) or toJSON(key) is applied once, as mdsf does. */
function value(v, k) {
  if (v !== null && typeof v === 'object') {
    if (typeof v.toMDSF === 'function') v = v.toMDSF(k);
    else if (typeof v.toJSON === 'function' && !Buffer.isBuffer(v)) v = v.toJSON(k);
  }
  return plain(v);
}

function plain(v) {
  switch (typeof v) {
    case 'string':
      return string(v);
    case 'number':
      return '' + v;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return 'undefined';
    case 'object':
      return v === null ? 'null' : object(v);
    default:
      return '';
  }
}

function object(v) {
  if (Buffer.isBuffer(v)) return `'${v.toString('base64')}'`;
  if (Array.isArray(v)) {
    // Undefined elements become holes: [1,,3]; a trailing one leaves a comma.
    let out = '[';
    const last = v.length - 1;
    for (let i = 0; i <= last; i++) {
      const item = v[i];
      if (item !== undefined) out += value(item, String(i));
      if (i !== last) out += ',';
    }
    return out + ']';
  }
  const tag = Object.prototype.toString.call(v);
  if (SCALAR_TAGS.has(tag)) return plain(v.valueOf());
  let out = '{';
  let first = true;
  for (const name of Object.keys(v)) {
    const item = value(v[name], name);
    if (item === '' || item === 'undefined') continue;
    out += (first ? '' : ',') + key(name) + ':' + item;
    first = false;
  }
  return out + '}';
}

function stringify(v) {
  return value(v, '');
}

const INDEX_KEY = /^(0|[1-9]\d*)$/;

/** The text of `{[kind]: [id, target?], [verb]: args}` as stringify() writes it,
 * without building the object. A verb that is the kind itself, or an array index
 * (which JS orders before other keys), takes the general path. */
function compose(kind, id, target, verb, args) {
  if (verb && (verb === kind || INDEX_KEY.test(verb))) {
    const message = { [kind]: target ? [id, target] : [id] };
    message[verb] = args;
    return stringify(message);
  }
  let out = `{${kind}:[${id}${target ? `,${value(target, '1')}` : ''}]`;
  if (verb) {
    const v = value(args, verb);
    if (v !== '' && v !== 'undefined') out += `,${key(verb)}:${v}`;
  }
  return out + '}';
}

// JSON cannot say undefined, NaN or ±Infinity; the core writes these in their place
// and marks the message with a leading '~'.
const SENTINEL = '\u0000';
const SPECIAL = [undefined, NaN, Infinity, -Infinity];

function revive(k, v) {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    // An element revived to undefined was deleted, leaving a hole; mdsf gives undefined.
    for (let i = 0; i < v.length; i++) if (!(i in v)) v[i] = undefined;
    return v;
  }
  if (typeof v[SENTINEL] === 'number' && Object.keys(v).length === 1) return SPECIAL[v[SENTINEL]];
  return v;
}

/** A message as the core rewrote it. */
function fromJson(text) {
  return text.charCodeAt(0) === 0x7e ? JSON.parse(text.slice(1), revive) : JSON.parse(text);
}

/** A message in mdsf syntax; throws a SyntaxError for text that is not one. */
function parse(text) {
  let json;
  try {
    json = native.mdsfToJson(text);
  } catch (err) {
    throw new SyntaxError(err.message);
  }
  return fromJson(json);
}

module.exports = { stringify, compose, parse, fromJson };
