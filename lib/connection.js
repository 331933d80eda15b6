'use strict';

// A connection handled by the core, with the surface of a Node socket: write()
// with backpressure, end(), destroy(), pause()/resume(), setNoDelay(), setKeepAlive(),
// setTimeout(), ref()/unref(), and the events connect, data (or frame), end, drain,
// timeout, error, close — plus reconnecting, disconnect and exit.

const { StringDecoder } = require('node:string_decoder');
const { Kind, register, unregister, Handle, native } = require('./bridge');
const { connectOptions } = require('./options');
const { fromCore, invalidType, invalidValue, withCode } = require('./errors');
const writer = require('./writer');

// Control operations, as in src/node/mod.rs.
const Op = Object.freeze({ End: 0, Destroy: 1, Pause: 2, Resume: 3, NoDelay: 4, KeepAlive: 5, Timeout: 6, Hangup: 7 });

const DEFAULT_HIGH_WATER_MARK = 16 * 1024;
const EMPTY = Buffer.alloc(0);

/** Marks a connection the core accepted on a server, rather than one to dial. */
class Accepted {
  constructor(id, framed, addresses, server) {
    Object.assign(this, { id, framed, addresses, server });
  }
}

function readTotal(batch, at) {
  return batch.readUInt32LE(at) + batch.readUInt32LE(at + 4) * 2 ** 32;
}

const json = (batch, start, end) => JSON.parse(batch.toString('utf8', start, end));

class Connection extends Handle {
  constructor(options, connectListener) {
    super();
    let id;
    if (options instanceof Accepted) {
      id = options.id;
      this._framed = options.framed;
      this._server = options.server;
      this._setAddresses(options.addresses);
      this._hwm = DEFAULT_HIGH_WATER_MARK;
    } else {
      const config = connectOptions(options);
      if (connectListener !== undefined && typeof connectListener !== 'function') {
        throw invalidType('connectListener', 'of type function', connectListener);
      }
      // WebSocket messages are frames, whatever they carry.
      this._framed = config.connection.framing.kind !== 'raw' || config.websocket !== undefined;
      this._server = null;
      this._hwm = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
      id = native.connect(config);
      if (connectListener) this.once('connect', connectListener);
    }
    this._id = id;
    this.connecting = true;
    this.destroyed = false;
    this._ending = false; // end() called
    this._peerEnded = false;
    this._closed = false;
    this._destroyError = null;
    this._paused = false;
    this._held = []; // events that arrived while paused
    this._decoder = null;
    this._encoding = null; // framed connections: frames as strings
    // Write accounting: bytes handed to the core, and bytes it reported done.
    this._handed = 0;
    this._done = 0;
    this._callbacks = []; // [offset, callback] waiting for `_done` to pass offset
    this._needDrain = false;
    this.bytesRead = 0;
    this._finalStats = null;
    register(id, this);
    this._liveness.activate(true);
  }

  _setAddresses(a) {
    this.remoteAddress = a.remoteAddress ?? undefined;
    this.remotePort = a.remotePort ?? undefined;
    this.remoteFamily = a.remoteFamily ?? undefined;
    this.localAddress = a.localAddress ?? undefined;
    this.localPort = a.localPort ?? undefined;
  }

  get readyState() {
    if (this._closed) return 'closed';
    if (this.connecting) return 'opening';
    if (this._ending) return this._peerEnded ? 'closed' : 'readOnly';
    return this._peerEnded ? 'writeOnly' : 'open';
  }

  get pending() {
    return this.connecting;
  }

  get writableLength() {
    return this._handed - this._done;
  }

  get writableHighWaterMark() {
    return this._hwm;
  }

  get bytesWritten() {
    return this._handed;
  }

  /** Whether writes are framed by the core (the connection then emits `frame`). */
  get framed() {
    return this._framed;
  }

  write(data, encoding, callback) {
    if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    if (callback !== undefined && typeof callback !== 'function') {
      throw invalidType('callback', 'of type function', callback);
    }
    if (this._ending || this.destroyed) {
      const err = this.destroyed
        ? withCode(Error, 'ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed')
        : withCode(Error, 'ERR_STREAM_WRITE_AFTER_END', 'write after end');
      process.nextTick(() => {
        if (callback) callback(err);
        this.emit('error', err);
      });
      return false;
    }
    const flags = this._framed ? writer.FRAME : 0;
    if (typeof data === 'string') {
      const len = Buffer.byteLength(data, encoding);
      writer.writeString(this._id, flags | this._wantsAck(len, callback), data, encoding, len);
      this._handed += len;
    } else if (ArrayBuffer.isView(data)) {
      const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      writer.writeBytes(this._id, flags | this._wantsAck(bytes.length, callback), bytes);
      this._handed += bytes.length;
    } else {
      throw invalidType('chunk', 'of type string or an instance of Buffer or Uint8Array', data);
    }
    if (callback) this._callbacks.push([this._handed, callback]);
    const ok = this._handed - this._done < this._hwm;
    if (!ok) this._needDrain = true;
    return ok;
  }

  /** The ack flag for a write of `len` bytes: asked for when someone waits on it. */
  _wantsAck(len, callback) {
    const over = this._handed + len - this._done >= this._hwm;
    return callback !== undefined || over ? writer.ACK : 0;
  }

  end(data, encoding, callback) {
    if (typeof data === 'function') [data, encoding, callback] = [undefined, undefined, data];
    else if (typeof encoding === 'function') [encoding, callback] = [undefined, encoding];
    if (data !== undefined && data !== null) this.write(data, encoding);
    if (callback) this.once('finish', callback);
    if (this._ending || this.destroyed) return this;
    this._finishWhenFlushed();
    this._endWrites();
    return this;
  }

  /** No more writes: 'finish' once everything written so far is flushed. */
  _finishWhenFlushed() {
    this._ending = true;
    writer.writeBytes(this._id, writer.ACK, EMPTY);
    this._callbacks.push([this._handed, (err) => err || this.emit('finish')]);
  }

  /** What `end()` ends: the connection, for good. */
  _endWrites() {
    this._stop();
  }

  /** Flush, end, and stop reconnecting. */
  _stop() {
    writer.flush(); // the core must see the writes before the end
    native.control(this._id, Op.End, 0, 0);
  }

  /** Ends the current session only, flushing first or not; a reconnecting
   * connection then dials again on its schedule. */
  _hangup(flush) {
    if (flush) writer.flush();
    native.control(this._id, Op.Hangup, flush ? 1 : 0, 0);
  }

  /** Drops the current session at once, unflushed (what is unsent goes out on the
   * next one, or fails with `resendUnsent: false`), and lets the reconnect policy
   * dial again: what to do on 'timeout' when the peer may have vanished without a
   * FIN or RST. Without a reconnect policy the connection just closes. */
  reconnect() {
    if (!this.destroyed && !this._closed) this._hangup(false);
    return this;
  }

  destroy(err) {
    if (this.destroyed) return this;
    this.destroyed = true;
    this._destroyError = err ?? null;
    native.control(this._id, Op.Destroy, 0, 0);
    return this;
  }

  /** Closes the connection for good: alias of `end()` that also stops reconnecting. */
  close() {
    return this.end();
  }

  pause() {
    if (!this._paused) {
      this._paused = true;
      native.control(this._id, Op.Pause, 0, 0);
    }
    return this;
  }

  resume() {
    if (this._paused) {
      this._paused = false;
      native.control(this._id, Op.Resume, 0, 0);
      const held = this._held;
      this._held = [];
      for (let i = 0; i < held.length; i++) {
        const [kind, payload] = held[i];
        this._onEvent(kind, payload, 0, payload.length);
        if (this._paused) {
          // A listener paused again: what is left waits for the next resume().
          this._held = held.slice(i + 1).concat(this._held);
          break;
        }
      }
    }
    return this;
  }

  isPaused() {
    return this._paused;
  }

  /** Unframed: `data` as strings. Framed: each `frame` as a string. */
  setEncoding(encoding) {
    if (this._framed) this._encoding = encoding;
    else this._decoder = new StringDecoder(encoding);
    return this;
  }

  setNoDelay(noDelay = true) {
    native.control(this._id, Op.NoDelay, noDelay ? 1 : 0, 0);
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0) {
    native.control(this._id, Op.KeepAlive, enable ? 1 : 0, initialDelay);
    return this;
  }

  setTimeout(timeout, callback) {
    if (!Number.isFinite(timeout) || timeout < 0) throw invalidType('timeout', 'a number >= 0', timeout);
    native.control(this._id, Op.Timeout, timeout, 0);
    if (callback) {
      if (timeout === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    return this;
  }

  address() {
    if (this.localPort === undefined) return {};
    return { address: this.localAddress, port: this.localPort, family: this.remoteFamily };
  }

  /** Ends a WebSocket connection with a close frame (after what is already written);
   * `code` omitted sends one without a code. A peer that neither answers nor closes
   * within `timeout` ms (30 s, as Node's `ws`) is cut off. Other connections just end. */
  closeWebSocket(code, reason = '', timeout = 30000) {
    if (code !== undefined && code !== null && !(Number.isInteger(code) && code >= 1000 && code <= 4999)) {
      throw invalidValue('code', 'must be an integer from 1000 to 4999', code);
    }
    if (typeof reason !== 'string') throw invalidType('reason', 'of type string', reason);
    if (!(timeout >= 0)) throw invalidValue('timeout', 'must be a number >= 0', timeout);
    if (this._closed || this._ending) return this;
    this._finishWhenFlushed();
    writer.flush();
    native.wsClose(this._id, code ?? undefined, reason);
    const timer = setTimeout(() => this.destroy(), timeout);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    return this;
  }

  /** Closing on our side (end() or closeWebSocket()), or the peer sent its close frame. */
  get closing() {
    return this._ending || this._peerClosed === true;
  }

  /** Counters kept by the core: bytes and frames each way, reconnects, state. */
  stats() {
    if (this._finalStats) return { ...this._finalStats };
    const live = native.stats(this._id);
    return live === null ? { state: this.connecting ? 'connecting' : 'closed' } : JSON.parse(live);
  }

  _onEvent(kind, batch, start, end) {
    // While paused, reads wait, and so does everything after them (a 'close' must
    // not overtake the 'data' and 'end' before it); write acks never wait.
    const read = kind === Kind.Data || kind === Kind.Frame || kind === Kind.End;
    if (this._paused && kind !== Kind.Written && (read || this._held.length > 0)) {
      // Kept past this batch: copy out of it.
      this._held.push([kind, Buffer.from(batch.subarray(start, end))]);
      return;
    }
    switch (kind) {
      case Kind.Data: {
        const chunk = batch.subarray(start, end);
        this.bytesRead += chunk.length;
        this.emit('data', this._decoder ? this._decoder.write(chunk) : chunk);
        break;
      }
      case Kind.Frame:
        this.bytesRead += end - start;
        // With an encoding set, a frame is decoded straight from the batch.
        this.emit('frame', this._encoding ? batch.toString(this._encoding, start, end) : batch.subarray(start, end));
        break;
      case Kind.Written:
        this._written(readTotal(batch, start));
        break;
      case Kind.Connect:
        this._setAddresses(json(batch, start, end));
        this.connecting = false;
        this._peerEnded = false;
        if (this._server && !this.destroyed) this._server._established(this);
        this.emit('connect');
        this.emit('ready');
        break;
      case Kind.End:
        this._peerEnded = true;
        if (this._decoder) {
          const rest = this._decoder.end();
          if (rest) this.emit('data', rest);
        }
        this.emit('end');
        break;
      case Kind.Timeout:
        this.emit('timeout');
        break;
      case Kind.Error: {
        const info = json(batch, start, end);
        const error = fromCore(info);
        // A write the offline queue refused: its callback gets the error.
        if (info.writeEnd !== undefined) this._refused(info.writeEnd, error);
        this._error(error);
        break;
      }
      case Kind.Reconnecting: {
        const info = json(batch, start, end);
        const error = info.error ? fromCore(info.error) : undefined;
        if (info.dropped) this._dropped(info.dropped, error, 'ERR_SOCKET_CLOSED_BEFORE_CONNECTION');
        this._reconnecting(info.delay, info.attempt, error);
        break;
      }
      case Kind.Disconnect: {
        const info = json(batch, start, end);
        const error = info.error ? fromCore(info.error) : undefined;
        this.connecting = true;
        if (info.dropped) this._dropped(info.dropped, error, 'ERR_STREAM_DESTROYED');
        else this._written(info.written); // so writableLength is what goes out again
        this._disconnected(error);
        break;
      }
      case Kind.PeerClosed: {
        const { code, reason } = json(batch, start, end);
        this._peerClosed = true;
        this.emit('closeframe', code, reason);
        break;
      }
      case Kind.Exit: {
        const { code, signal } = json(batch, start, end);
        this.emit('exit', code, signal);
        break;
      }
      case Kind.Close: {
        const { hadError, waiting, stats } = json(batch, start, end);
        this._finalStats = stats;
        this._close(hadError, waiting);
        break;
      }
    }
  }

  /** The core has handled `total` bytes. Reports may come out of order (an event
   * queued before a direct write resolved on the spot), so only ever move forward. */
  _written(total) {
    if (total <= this._done && this._callbacks.length === 0 && !this._needDrain) return;
    this._done = Math.max(this._done, total);
    const callbacks = this._callbacks;
    let n = 0;
    while (n < callbacks.length && callbacks[n][0] <= total) n++;
    const ready = callbacks.splice(0, n);
    for (const [, callback] of ready) callback(null);
    if (this._needDrain) {
      if (this._handed - this._done < this._hwm) {
        this._needDrain = false;
        this.emit('drain');
      } else {
        writer.writeBytes(this._id, writer.ACK, EMPTY); // ask again
      }
    }
  }

  /** About to wait `delay` ms before attempt number `attempt`. */
  _reconnecting(delay, attempt, error) {
    const event = { delay, attempt };
    if (error) event.error = error;
    this.emit('reconnecting', event);
  }

  /** An established session was lost; the reconnect policy takes over. */
  _disconnected(error) {
    this.emit('disconnect', error);
  }

  /** With `resendUnsent: false`, the writes between `written` and `handled` (JS byte
   * totals) went down with the session or attempt: their callbacks fail. */
  _dropped([written, handled], cause, code) {
    this._written(written);
    const err = cause ?? withCode(Error, code, 'connection closed before the write was flushed');
    const callbacks = this._callbacks;
    let n = 0;
    while (n < callbacks.length && callbacks[n][0] <= handled) n++;
    for (const [, callback] of callbacks.splice(0, n)) callback(err);
    this._written(handled);
  }

  /** The write ending at `end` (in `bytesWritten`) was refused with `err`. */
  _refused(end, err) {
    const at = this._callbacks.findIndex(([offset]) => offset === end);
    if (at >= 0) this._callbacks.splice(at, 1)[0][1](err);
  }

  _error(err) {
    // A handshake that failed before the server announced the connection is the
    // server's business ('tlsClientError'), not an unhandled error.
    if (this._server && this.connecting) {
      this._server._clientError(err, this);
      return;
    }
    this.emit('error', err);
  }

  /** The core let go of the connection for good. `waiting`: it was between
   * reconnect attempts, not connected or dialing. */
  _close(hadError, waiting) {
    this._release();
    if (this._destroyError) {
      this.emit('error', this._destroyError);
      hadError = true;
    }
    this.emit('close', hadError);
  }

  /** Frees the handle; callbacks of writes never flushed fail. */
  _release() {
    this._closed = true;
    this.connecting = false;
    this.destroyed = true;
    unregister(this._id);
    this._liveness.activate(false);
    const unfinished = this._callbacks;
    this._callbacks = [];
    if (unfinished.length) {
      const err = withCode(Error, 'ERR_STREAM_DESTROYED', 'connection closed before the write was flushed');
      for (const [, callback] of unfinished) callback(err);
    }
  }
}

module.exports = { Connection, Accepted };
