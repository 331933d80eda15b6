'use strict';

// The JS end of src/bridge: one call from the core brings a Buffer holding every
// event queued since the last one; it is sliced here and each event handed to its
// handle. Also keeps the count of referenced handles that decides whether connkit
// keeps the process alive.

const { EventEmitter } = require('node:events');
const native = require('./native');
const { EVENT } = require('./symbols');

// What JS and the core agree on (event kinds, control ops, record formats, option
// names), defined once in Rust (src/node/boundary.rs) and read here.
const boundary = deepFreeze(JSON.parse(native.boundary()));
const Kind = boundary.kinds;
const Op = boundary.ops;
const HEADER = boundary.eventHeader;

function deepFreeze(value) {
  for (const v of Object.values(value)) if (v !== null && typeof v === 'object') deepFreeze(v);
  return Object.freeze(value);
}

const handles = new Map();

function rethrow(err) {
  throw err;
}

// Headers are read by hand: the batch is well formed by construction, and this
// loop runs once per message.
const u32 = (b, at) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 0x1000000;

// Whether JS is handling a batch of events: what it writes then answers a peer.
let dispatching = false;
const isDispatching = () => dispatching;

function dispatch(batch) {
  dispatching = true;
  try {
    deliver(batch);
  } finally {
    dispatching = false;
  }
}

function deliver(batch) {
  const end = batch.length;
  let at = 0;
  while (at + HEADER <= end) {
    const id = u32(batch, at);
    const kind = batch[at + 4];
    const len = u32(batch, at + 5);
    const start = at + HEADER;
    at = start + len;
    const handle = handles.get(id);
    if (handle === undefined) continue;
    try {
      // The payload is batch[start, at): handles slice or decode it as they need,
      // so a frame read as text never becomes a Buffer object.
      handle[EVENT](kind, batch, start, at);
    } catch (err) {
      // A throwing listener must not cost the rest of the batch; it still surfaces
      // as an uncaught exception, as it would from a Node socket.
      process.nextTick(rethrow, err);
    }
  }
}

native.init(dispatch);

let referenced = 0;

/** Counts handles that keep the process alive; the core is told only at 0 <-> 1. */
function ref() {
  if (referenced++ === 0) native.setRef(true);
}

function unref() {
  if (--referenced === 0) native.setRef(false);
}

function register(id, handle) {
  handles.set(id, handle);
}

function unregister(id) {
  handles.delete(id);
}

function handleOf(id) {
  return handles.get(id);
}

/**
 * Keeps a handle's share of the process's liveness right: it counts while it is
 * active (not closed) and the user has not `unref()`ed it.
 */
class Liveness {
  constructor() {
    this.active = false;
    this.wanted = true;
    this.counted = false;
  }

  set(active, wanted) {
    this.active = active;
    this.wanted = wanted;
    const count = active && wanted;
    if (count === this.counted) return;
    this.counted = count;
    if (count) ref();
    else unref();
  }

  /** The handle opened or closed. */
  activate(active) {
    this.set(active, this.wanted);
  }

  /** The user's `ref()` (true) or `unref()` (false). */
  want(wanted) {
    this.set(this.active, wanted);
  }
}

/** What the core's handles (connections, servers, HTTP clients) share: an
 * EventEmitter whose share of the process's liveness follows Node's ref() / unref(). */
class Handle extends EventEmitter {
  constructor() {
    super();
    this._liveness = new Liveness();
  }

  ref() {
    this._liveness.want(true);
    return this;
  }

  unref() {
    this._liveness.want(false);
    return this;
  }
}

module.exports = { boundary, Kind, Op, register, unregister, handleOf, isDispatching, Handle, Liveness, native };
