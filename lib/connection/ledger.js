'use strict';

// A connection's write books: the bytes JS handed to the core (through ../writer)
// against the bytes the core reports done. The difference is the backlog; it decides
// when write() asks the caller to wait, when 'drain' is due, and when each write's
// callback is, so acks are asked for only when someone waits on one.
//
// Every chunk is handed over at once (write() past an idle Writable, or its _write,
// done on the spot; the Writable buffers only while corked): the core holds what is
// unsent, bounded by its offline queue while disconnected. So the books here, not the
// Writable's, say when to wait. The user's callback of write(data, cb) keeps its
// meaning, the data was flushed (or failed); for a chunk the Writable buffered it
// waits in `expected` until the chunk is handed.

const writer = require('../writer');
const { withCode } = require('../errors');

const EMPTY = Buffer.alloc(0);

class WriteLedger {
  #id;
  #flags;
  #onDrain;
  #handed = 0;
  #done = 0;
  #waiting = []; // [offset, callback]: called once the core is done up to offset
  #expected = []; // the user's callbacks (or undefined), one per write() not yet handed
  #next = 0; // #expected[#next] belongs to the next chunk handed
  needDrain = false;

  /** `onDrain`: called when the backlog fell below `highWaterMark` after a write said to wait. */
  constructor(id, framed, highWaterMark, onDrain) {
    this.#id = id;
    this.#flags = framed ? writer.FRAME : 0;
    this.#onDrain = onDrain;
    this.highWaterMark = highWaterMark;
  }

  /** Bytes ever handed to the core. */
  get handed() {
    return this.#handed;
  }

  /** Bytes handed and not yet reported done. */
  get length() {
    return this.#handed - this.#done;
  }

  /** write() was called: `callback` goes with the chunk the Writable hands over next. */
  expect(callback) {
    this.#expected.push(callback);
  }

  /** The Writable refused the chunk of the last expect() (it threw). */
  unexpect() {
    this.#expected.pop();
  }

  /** After a write: true, or false and 'drain' once the stream's backlog `length` is
   * worked off. */
  accepts(length) {
    if (length < this.highWaterMark) return true;
    this.needDrain = true;
    return false;
  }

  /** The Writable hands over a chunk (from _write or _writev). */
  take(data, encoding) {
    this.hand(data, encoding, this.#nextExpected());
  }

  /** Hands `data` to the core; `callback(err)` once it is flushed, or failed. The
   * books are written first: a large write may be acked within the writer's call.
   * False when the backlog reached the mark: 'drain' follows. */
  hand(data, encoding, callback) {
    const isString = typeof data === 'string';
    const len = isString ? Buffer.byteLength(data, encoding) : data.length;
    const backlog = this.#handed + len - this.#done;
    // Acks are asked for when someone waits on one.
    const flags = callback !== undefined || backlog >= this.highWaterMark ? this.#flags | writer.ACK : this.#flags;
    this.#handed += len;
    if (callback !== undefined) this.#waiting.push([this.#handed, callback]);
    if (isString) writer.writeString(this.#id, flags, data, encoding, len);
    else writer.writeBytes(this.#id, flags, data);
    // Measured after the call: the kernel may have taken a large write at once.
    if (this.#handed - this.#done < this.highWaterMark) return true;
    this.needDrain = true;
    return false;
  }

  /** The Writable hands over a chunk the core can no longer take: its callback fails. */
  refuse(err) {
    const callback = this.#nextExpected();
    if (callback) process.nextTick(callback, err);
  }

  #nextExpected() {
    const expected = this.#expected;
    const callback = expected[this.#next];
    expected[this.#next++] = undefined;
    if (this.#next >= expected.length) {
      expected.length = 0;
      this.#next = 0;
    }
    return callback;
  }

  /** `callback(err)` once everything written so far is flushed, or failed. */
  afterAll(callback) {
    writer.writeBytes(this.#id, writer.ACK, EMPTY);
    this.#waiting.push([this.#handed, callback]);
  }

  /** The core is done with `total` bytes. Reports may come out of order (an event
   * queued before a direct write resolved on the spot), so only ever move forward. */
  written(total) {
    if (total <= this.#done && this.#waiting.length === 0 && !this.needDrain) return;
    this.#done = Math.max(this.#done, total);
    const waiting = this.#waiting;
    let n = 0;
    while (n < waiting.length && waiting[n][0] <= total) n++;
    const ready = waiting.splice(0, n);
    for (const [, callback] of ready) callback(null);
    if (this.needDrain) {
      if (this.#handed - this.#done < this.highWaterMark) {
        this.needDrain = false;
        this.#onDrain();
      } else {
        writer.writeBytes(this.#id, writer.ACK, EMPTY); // ask again
      }
    }
  }

  /** With `resendUnsent: false`, the writes between `written` and `handled` (byte
   * totals) went down with a session or attempt: their callbacks fail with `cause`,
   * or an error coded `code`. */
  dropped([written, handled], cause, code) {
    this.written(written);
    const err = cause ?? withCode(Error, code, 'connection closed before the write was flushed');
    const waiting = this.#waiting;
    let n = 0;
    while (n < waiting.length && waiting[n][0] <= handled) n++;
    for (const [, callback] of waiting.splice(0, n)) callback(err);
    this.written(handled);
  }

  /** The write ending at `end` (in `handed`) was refused with `err`. */
  refused(end, err) {
    const at = this.#waiting.findIndex(([offset]) => offset === end);
    if (at >= 0) this.#waiting.splice(at, 1)[0][1](err);
  }

  /** The stream was destroyed: the callbacks of writes it never handed over (held
   * while corked) fail. */
  failExpected() {
    const expected = this.#expected.slice(this.#next);
    this.#expected = [];
    this.#next = 0;
    if (!expected.some(Boolean)) return;
    const err = withCode(Error, 'ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed');
    for (const callback of expected) if (callback) process.nextTick(callback, err);
  }

  /** The connection is gone: callbacks of writes never flushed fail. */
  failUnflushed() {
    const unfinished = this.#waiting;
    this.#waiting = [];
    if (unfinished.length) {
      const err = withCode(Error, 'ERR_STREAM_DESTROYED', 'connection closed before the write was flushed');
      for (const [, callback] of unfinished) callback(err);
    }
  }
}

module.exports = { WriteLedger };
