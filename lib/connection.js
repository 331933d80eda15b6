'use strict';

// A connection handled by the core, with the surface of a Node socket: write()
// with backpressure, end(), destroy(), pause()/resume(), setNoDelay(), setKeepAlive(),
// setTimeout(), ref()/unref(), and the events connect, data (or frame), end, drain,
// timeout, error, close — plus reconnecting, dialing, disconnect, heartbeat and exit.
// This file is that surface. Behind it: connection/events.js handles what the core
// reports, connection/ledger.js keeps the write books, and connection/lifecycle.js
// ends and closes, as a face may redirect through connection/hooks.js.

const { Op, register, unregister, Handle, native } = require('./bridge');
const { EVENT } = require('./symbols');
const { connectOptions } = require('./options');
const { invalidType, invalidValue, withCode } = require('./errors');
const writer = require('./writer');
const { WriteLedger } = require('./connection/ledger');
const { Lifecycle } = require('./connection/lifecycle');
const { CoreEvents, setAddresses } = require('./connection/events');
const { HOOKS, CONTROL, resolveHooks } = require('./connection/hooks');

const DEFAULT_HIGH_WATER_MARK = 16 * 1024;

/** Marks a connection the core accepted on a server, rather than one to dial. */
class Accepted {
  constructor(id, framed, addresses, server) {
    Object.assign(this, { id, framed, addresses, server });
  }
}

class Connection extends Handle {
  #id;
  #framed;
  #ledger;
  #life;
  #events;

  /** `options[HOOKS]`: a face's handler (see connection/hooks.js). */
  constructor(options, connectListener) {
    super();
    let id, server, highWaterMark, hooks;
    if (options instanceof Accepted) {
      id = options.id;
      this.#framed = options.framed;
      server = options.server;
      setAddresses(this, options.addresses);
      highWaterMark = DEFAULT_HIGH_WATER_MARK;
      hooks = resolveHooks(undefined);
    } else {
      const config = connectOptions(options);
      if (connectListener !== undefined && typeof connectListener !== 'function') {
        throw invalidType('connectListener', 'of type function', connectListener);
      }
      // WebSocket messages are frames, whatever they carry.
      this.#framed = config.connection.framing.kind !== 'raw' || config.websocket !== undefined;
      server = null;
      highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
      hooks = resolveHooks(options[HOOKS]); // checked before the core dials
      id = native.connect(config);
      if (connectListener) this.once('connect', connectListener);
    }
    this.#id = id;
    this.connecting = true;
    this.destroyed = false;
    this.bytesRead = 0;
    this.#ledger = new WriteLedger(id, this.#framed, highWaterMark, () => this.emit('drain'));
    this.#life = new Lifecycle(this, id, this.#ledger, hooks, () => {
      unregister(id);
      this._liveness.activate(false);
    });
    this.#events = new CoreEvents(this, this.#framed, server, this.#ledger, this.#life);
    register(id, this);
    this._liveness.activate(true);
  }

  /** For a face outside its hooks: what its hooks get (connection/hooks.js). */
  get [CONTROL]() {
    return this.#life.control;
  }

  get readyState() {
    const life = this.#life;
    if (life.closed) return 'closed';
    if (this.connecting) return 'opening';
    if (life.ending) return life.peerEnded ? 'closed' : 'readOnly';
    return life.peerEnded ? 'writeOnly' : 'open';
  }

  get pending() {
    return this.connecting;
  }

  get writableLength() {
    return this.#ledger.length;
  }

  get writableHighWaterMark() {
    return this.#ledger.highWaterMark;
  }

  get bytesWritten() {
    return this.#ledger.handed;
  }

  /** Whether writes are framed by the core (the connection then emits `frame`). */
  get framed() {
    return this.#framed;
  }

  write(data, encoding, callback) {
    if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    if (callback !== undefined && typeof callback !== 'function') {
      throw invalidType('callback', 'of type function', callback);
    }
    if (this.#life.ending || this.destroyed) {
      const err = this.destroyed
        ? withCode(Error, 'ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed')
        : withCode(Error, 'ERR_STREAM_WRITE_AFTER_END', 'write after end');
      process.nextTick(() => {
        if (callback) callback(err);
        this.emit('error', err);
      });
      return false;
    }
    return this.#ledger.write(data, encoding, callback);
  }

  end(data, encoding, callback) {
    if (typeof data === 'function') [data, encoding, callback] = [undefined, undefined, data];
    else if (typeof encoding === 'function') [encoding, callback] = [undefined, encoding];
    if (data !== undefined && data !== null) this.write(data, encoding);
    if (callback) this.once('finish', callback);
    if (!this.#life.ending && !this.destroyed) this.#life.end();
    return this;
  }

  /** Drops the current session at once, unflushed (what is unsent goes out on the
   * next one, or fails with `resendUnsent: false`), and lets the reconnect policy
   * dial again: what to do on 'timeout' when the peer may have vanished without a
   * FIN or RST. Without a reconnect policy the connection just closes. */
  reconnect() {
    if (!this.destroyed && !this.#life.closed) this.#life.hangup(false);
    return this;
  }

  destroy(err) {
    this.#life.destroy(err);
    return this;
  }

  /** Closes the connection for good: alias of `end()` that also stops reconnecting. */
  close() {
    return this.end();
  }

  pause() {
    const events = this.#events;
    if (!events.paused) {
      events.paused = true;
      native.control(this.#id, Op.Pause, 0, 0);
    }
    return this;
  }

  resume() {
    const events = this.#events;
    if (events.paused) {
      events.paused = false;
      native.control(this.#id, Op.Resume, 0, 0);
      events.replayHeld();
    }
    return this;
  }

  isPaused() {
    return this.#events.paused;
  }

  /** Unframed: `data` as strings. Framed: each `frame` as a string. */
  setEncoding(encoding) {
    this.#events.setEncoding(encoding);
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

  setTimeout(timeout, callback) {
    if (!Number.isFinite(timeout) || timeout < 0) throw invalidType('timeout', 'a number >= 0', timeout);
    native.control(this.#id, Op.Timeout, timeout, 0);
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
    const life = this.#life;
    if (life.closed || life.ending) return this;
    life.finishWhenFlushed();
    writer.flush();
    native.wsClose(this.#id, code ?? undefined, reason);
    const timer = setTimeout(() => this.destroy(), timeout);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    return this;
  }

  /** Closing on our side (end() or closeWebSocket()), or the peer sent its close frame. */
  get closing() {
    return this.#life.ending || this.#life.peerClosed;
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
