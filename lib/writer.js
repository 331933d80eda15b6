'use strict';

// Writes from JS, coalesced: the writes of one tick are copied into one buffer and
// handed to the core in a single native call when the tick's microtasks run (after
// one early call for the tick's first KiB, see EARLY).
// Record layout (little-endian): u32 id | u8 flags | u32 length | bytes.

const { boundary, native, handleOf, isDispatching } = require('./bridge');

/** The method by which a handle hears that the core is done with its writes up to
 * a byte total: `handle[WRITTEN](total)`. */
const WRITTEN = Symbol('connkit.written');

const { frame: FRAME, ack: ACK } = boundary.writeFlags;
const HEADER = boundary.writeHeader;
// Writes this large go straight to the core: copying them first would cost more
// than the call it saves.
const DIRECT = 64 * 1024;
// While JS handles incoming events, the first this-many bytes it writes go out at
// once, the rest when the tick ends. Answers to a burst of calls would otherwise leave
// in one batch, and the peer would sit idle until the whole burst was handled: in
// lockstep, each side waits half the time. One early hand-over per tick lets the peer
// start on the first answers. (Writes made on a sender's own initiative stay in one
// batch: waking receivers early only takes CPU from the sender.)
const EARLY = 1024;

let batch = Buffer.allocUnsafe(256 * 1024);
let used = 0;
let scheduled = false;

/** Acks the core resolved during the call: the kernel took those writes at once. */
function acked(id, total) {
  const handle = handleOf(id);
  if (handle !== undefined) handle[WRITTEN](total);
}

// Acks of the batches handed over this tick, resolved at its flush.
let pending = [];
let sentEarly = false;

/** Hands the queued batch to the core now. */
function send() {
  const acks = native.writeBatch(batch.subarray(0, used));
  used = 0;
  if (acks !== null && acks !== undefined) pending.push(acks);
}

function flush() {
  scheduled = false;
  sentEarly = false;
  if (used > 0) send();
  const lists = pending;
  pending = [];
  for (const acks of lists) resolve(acks);
}

function resolve(acks) {
  for (let i = 0; i < acks.length; i += 2) acked(acks[i], acks[i + 1]);
}

function reserve(n) {
  if (used + n <= batch.length) return;
  send();
  if (n > batch.length) batch = Buffer.allocUnsafe(n);
}

function putU32(value, at) {
  batch[at] = value;
  batch[at + 1] = value >>> 8;
  batch[at + 2] = value >>> 16;
  batch[at + 3] = value >>> 24;
}

function header(id, flags, len) {
  putU32(id, used);
  batch[used + 4] = flags;
  putU32(len, used + 5);
  used += HEADER;
}

function schedule() {
  if (!sentEarly && used >= EARLY && isDispatching()) {
    sentEarly = true;
    send();
  }
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(flush);
  }
}

/** Queues `data` (a Buffer or typed array) for connection `id`. */
function writeBytes(id, flags, data) {
  if (data.length >= DIRECT) {
    flush(); // keep order with what this tick already queued
    const total = native.write(id, data, flags);
    if (total !== null && total !== undefined) acked(id, total);
    return;
  }
  reserve(HEADER + data.length);
  header(id, flags, data.length);
  batch.set(data, used);
  used += data.length;
  schedule();
}

/** Queues a string of `len` bytes in `encoding`, without an intermediate Buffer. */
function writeString(id, flags, string, encoding, len) {
  if (len >= DIRECT) {
    writeBytes(id, flags, Buffer.from(string, encoding));
    return;
  }
  reserve(HEADER + len);
  header(id, flags, len);
  used += batch.write(string, used, len, encoding);
  schedule();
}

module.exports = { writeBytes, writeString, flush, FRAME, ACK, WRITTEN };
