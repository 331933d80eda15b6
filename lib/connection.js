'use strict';

// A connection handled by the core, as a Node socket: a net.Socket (and so a
// stream.Duplex) without a libuv handle of its own, whose reads, writes, end and close
// go through the core. Code written for Node sockets takes it as one: pipe() and
// pipeline(), async iteration, tls.connect({ socket }), http's createConnection.
// Besides the socket's events: frame (framed connections), reconnecting, dialing,
// disconnect, heartbeat, closeframe and exit.
//
// This file is that surface: net.Socket's methods that would reach for a libuv
// handle are answered from the core instead. Behind it: connection/events.js handles
// what the core reports, connection/ledger.js keeps the write books, and
// connection/lifecycle.js ends and closes, as a face may redirect through
// connection/hooks.js.

const net = require('node:net');
const { Op, register, unregister, Liveness, native } = require('./bridge');
const { EVENT } = require('./symbols');
const { connectOptions } = require('./options');
const { invalidType, invalidValue, withCode } = require('./errors');
const writer = require('./writer');
const { WriteLedger } = require('./connection/ledger');
const { Lifecycle } = require('./connection/lifecycle');
const { CoreEvents, ADDRESSES } = require('./connection/events');
const { HOOKS, CONTROL, resolveHooks } = require('./connection/hooks');

const DEFAULT_HIGH_WATER_MARK = 16 * 1024;
const NO_ADDRESSES = Object.freeze({});

/** Marks a connection the core accepted on a server, rather than one to dial. */
class Accepted {
  constructor(id, framed, allowHalfOpen, addresses, server) {
    Object.assign(this, { id, framed, allowHalfOpen, addresses, server });
  }
}

/** Whether the caller's caller is Node's TLS socket (TLSSocket's _init). */
function calledByNodeTls() {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 4;
  const { stack } = new Error();
  Error.stackTraceLimit = limit;
  return typeof stack === 'string' && stack.includes('(node:_tls_wrap:');
}

/** What a new Connection is: accepted by a server, or dialed from `options`. */
function originOf(options, connectListener) {
  if (options instanceof Accepted) {
    return { ...options, highWaterMark: DEFAULT_HIGH_WATER_MARK, hooks: resolveHooks(undefined), reconnects: false };
  }
  const config = connectOptions(options);
  if (connectListener !== undefined && typeof connectListener !== 'function') {
    throw invalidType('connectListener', 'of type function', connectListener);
  }
  return {
    config,
    // WebSocket messages are frames, whatever they carry.
    framed: config.connection.framing.kind !== 'raw' || config.websocket !== undefined,
    allowHalfOpen: config.connection.allowHalfOpen === true,
    highWaterMark: options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
    hooks: resolveHooks(options[HOOKS]), // checked before the core dials
    reconnects: config.reconnect !== undefined,
    server: null,
    addresses: NO_ADDRESSES,
  };
}

class Connection extends net.Socket {
  #id;
  #framed;
  #ledger;
  #life;
  #events;
  #liveness = new Liveness();
  #wsClose = null; // closeWebSocket(): the close frame end() sends

  /** `options[HOOKS]`: a face's handler (see connection/hooks.js). */
  constructor(options, connectListener) {
    const origin = originOf(options, connectListener);
    // The Writable hands each chunk to the core at once; the write books (the
    // ledger) decide when to wait, so its own mark must never be the one reached.
    super({ allowHalfOpen: origin.allowHalfOpen, readableHighWaterMark: origin.highWaterMark, writableHighWaterMark: Number.MAX_SAFE_INTEGER });
    const id = origin.config ? native.connect(origin.config) : origin.id;
    this.#id = id;
    this.#framed = origin.framed;
    this[ADDRESSES] = origin.addresses;
    this.connecting = true;
    this.#ledger = new WriteLedger(id, origin.framed, origin.highWaterMark, () => this.emit('drain'));
    this.#life = new Lifecycle(this, id, this.#ledger, origin.hooks, origin.reconnects, () => {
      unregister(id);
      this.#liveness.activate(false);
    });
    this.#events = new CoreEvents(this, id, origin.framed, origin.server, this.#ledger, this.#life);
    if (connectListener) this.once('connect', connectListener);
    register(id, this);
    this.#liveness.activate(true);
  }

  /** For a face outside its hooks: what its hooks get (connection/hooks.js). */
  get [CONTROL]() {
    return this.#life.control;
  }

  /** Whether writes are framed by the core (the connection then emits `frame`). */
  get framed() {
    return this.#framed;
  }

  // The ends of the session, from the core.
  get remoteAddress() {
    return this[ADDRESSES].remoteAddress ?? undefined;
  }

  get remotePort() {
    return this[ADDRESSES].remotePort ?? undefined;
  }

  get remoteFamily() {
    return this[ADDRESSES].remoteFamily ?? undefined;
  }

  get localAddress() {
    return this[ADDRESSES].localAddress ?? undefined;
  }

  get localPort() {
    return this[ADDRESSES].localPort ?? undefined;
  }

  get localFamily() {
    return this[ADDRESSES].localPort === undefined ? undefined : this[ADDRESSES].remoteFamily ?? undefined;
  }

  address() {
    if (this.localPort === undefined) return {};
    return { address: this.localAddress, port: this.localPort, family: this.localFamily };
  }

  get pending() {
    return this.connecting;
  }

  get bytesRead() {
    return this.#events.bytesRead;
  }

  get bytesWritten() {
    return this.#ledger.handed;
  }

  /** What the stream holds plus what the core has not yet flushed. */
  get writableLength() {
    return this._writableState.length + this.#ledger.length;
  }

  get writableHighWaterMark() {
    return this.#ledger.highWaterMark;
  }

  get writableNeedDrain() {
    return this.#ledger.needDrain;
  }

  get bufferSize() {
    return this.writableLength;
  }

  /** Node's TLS (`tls.connect({ socket })`, STARTTLS) waits for 'connect' on any
   * net.Socket without a libuv handle, as connkit's are, however long it has been
   * connected: an open connection answers TLS's `once('connect')` on the next tick.
   * Anyone else's waits for the next connect, as on a Node socket (a reconnecting
   * one's next session). TLS is told by its frame in the stack: its check reads
   * `_handle`, which no value here can satisfy without Node wrapping it natively. */
  once(event, listener) {
    super.once(event, listener);
    if (event === 'connect' && !this.connecting && !this.destroyed && !this.#life.closed && calledByNodeTls()) {
      process.nextTick(() => {
        // Still registered (once() wraps it): it runs now, as if 'connect' came.
        const wrapped = this.rawListeners('connect').find((l) => l === listener || l.listener === listener);
        if (wrapped === undefined) return;
        this.removeListener('connect', wrapped);
        listener.call(this);
      });
    }
    return this;
  }

  /** Node's sends an RST; the core closes at once (what was unsent is dropped). */
  resetAndDestroy() {
    if (this.connecting) this.once('connect', () => this.destroy());
    else this.destroy();
    return this;
  }

  connect() {
    throw withCode(Error, 'ERR_CONNKIT_CONNECT', 'a connkit connection dials when it is made: create a new one');
  }

  write(data, encoding, callback) {
    if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    // With nothing corked or in progress, the Writable would hand the chunk straight
    // to _write, done at once: the chunk goes to the ledger here, past the Writable's
    // books (the ledger keeps them), with the callback for when the core flushed it.
    const state = this._writableState;
    if (
      state.length === 0 &&
      state.corked === 0 &&
      !state.ending &&
      !state.destroyed &&
      state.errored === null &&
      !this.#life.closed &&
      (callback === undefined || typeof callback === 'function')
    ) {
      if (data instanceof Uint8Array) return this.#ledger.hand(data, undefined, callback);
      if (typeof data === 'string' && (encoding === undefined || Buffer.isEncoding(encoding))) {
        return this.#ledger.hand(data, encoding ?? state.defaultEncoding, callback);
      }
    }
    // Refused writes, and bad arguments, are the Writable's to answer.
    if (this.writableEnded || this.destroyed || (callback !== undefined && typeof callback !== 'function')) {
      return super.write(data, encoding, callback);
    }
    // Buffered (corked) by the Writable: the callback waits in the ledger for its chunk.
    this.#ledger.expect(callback);
    try {
      super.write(data, encoding);
    } catch (err) {
      this.#ledger.unexpect();
      throw err;
    }
    return this.#ledger.accepts(this.writableLength);
  }

  /** Node's end() hands its last chunk to the Writable past write(): it goes through
   * write() here, so its callback is books like any other. */
  end(data, encoding, callback) {
    if (typeof data === 'function') [data, encoding, callback] = [undefined, undefined, data];
    else if (typeof encoding === 'function') [encoding, callback] = [undefined, encoding];
    if (data !== undefined && data !== null) this.write(data, encoding);
    return super.end(callback);
  }

  _write(data, encoding, done) {
    if (this.#life.closed) this.#refuse([data], done);
    else {
      this.#ledger.take(data, encoding);
      done();
    }
  }

  _writev(chunks, done) {
    if (this.#life.closed) this.#refuse(chunks, done);
    else {
      for (const { chunk, encoding } of chunks) this.#ledger.take(chunk, encoding);
      done();
    }
  }

  /** The core let go while the stream still takes writes (it waits for its reader to
   * reach the end): the writes fail, as on a Node socket whose handle is gone. */
  #refuse(chunks, done) {
    const err = withCode(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed');
    for (let i = 0; i < chunks.length; i++) this.#ledger.refuse(err);
    done(err);
  }

  _final(done) {
    this.#life.final(done, this.#wsClose);
  }

  _read() {
    this.#events.wanted();
  }

  _destroy(err, done) {
    this.#life.destroy(err, done);
  }

  /** Drops the current session at once, unflushed (what is unsent goes out on the
   * next one, or fails with `resendUnsent: false`), and lets the reconnect policy
   * dial again: what to do on 'timeout' when the peer may have vanished without a
   * FIN or RST. Without a reconnect policy the connection just closes. */
  reconnect() {
    if (!this.destroyed && !this.#life.closed) this.#life.hangup(false);
    return this;
  }

  /** Closes the connection for good: alias of `end()` that also stops reconnecting. */
  close() {
    return this.end();
  }

  /** Framed: frames wait too, and so does what follows them. */
  pause() {
    if (this.#framed) this.#events.hold();
    return super.pause();
  }

  resume() {
    super.resume();
    if (this.#framed) this.#events.release();
    return this;
  }

  /** Unframed: the readable side's encoding. Framed: each `frame` as a string too. */
  setEncoding(encoding) {
    super.setEncoding(encoding);
    if (this.#framed) this.#events.setFrameEncoding(encoding);
    return this;
  }

  setNoDelay(noDelay = true) {
    native.control(this.#id, Op.NoDelay, noDelay ? 1 : 0, 0);
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0) {
    native.control(this.#id, Op.KeepAlive, enable ? 1 : 0, initialDelay);
    return this;
  }

  /** A 'heartbeat' event every `interval` ms while connected (0: none), on the
   * core's timers: a protocol's pings need no timer of their own. */
  setHeartbeat(interval) {
    if (!Number.isFinite(interval) || interval < 0) throw invalidType('interval', 'a number >= 0', interval);
    native.control(this.#id, Op.Heartbeat, interval, 0);
    return this;
  }

  /** 'timeout' after `timeout` ms without reads or writes, on the core's timers. */
  setTimeout(timeout, callback) {
    if (!Number.isFinite(timeout) || timeout < 0) throw invalidType('timeout', 'a number >= 0', timeout);
    this.timeout = timeout;
    native.control(this.#id, Op.Timeout, timeout, 0);
    if (callback) {
      if (timeout === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    return this;
  }

  ref() {
    this.#liveness.want(true);
    return this;
  }

  unref() {
    this.#liveness.want(false);
    return this;
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
    if (this.#life.closed || this.writableEnded) return this;
    this.#wsClose = { code: code ?? undefined, reason };
    this.end();
    const timer = setTimeout(() => this.destroy(), timeout);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    return this;
  }

  /** Closing on our side (end() or closeWebSocket()), or the peer sent its close frame. */
  get closing() {
    return this.writableEnded || this.#life.peerClosed;
  }

  /** Counters kept by the core: bytes and frames each way, reconnects, state. */
  stats() {
    const final = this.#life.finalStats;
    if (final) return { ...final };
    const live = native.stats(this.#id);
    return live === null ? { state: this.connecting ? 'connecting' : 'closed' } : JSON.parse(live);
  }

  /** The bridge's entry point: one event from the core. */
  [EVENT](kind, batch, start, end) {
    this.#events.handle(kind, batch, start, end);
  }

  /** The writer's: the core is done with `total` bytes. */
  [writer.WRITTEN](total) {
    this.#ledger.written(total);
  }
}

module.exports = { Connection, Accepted };
