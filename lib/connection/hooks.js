'use strict';

// The contract through which a face changes what a connection does at the turns of
// its life, instead of overriding its internals: the face passes a handler object
// as the option `[HOOKS]`, and each method the handler has replaces connkit's
// default for that turn. The handler acts through a Control, so the connection's
// own state stays its own. (connman's socket is the user: there end() and destroy()
// end one session of many, and every lost session is a 'close'.)

const { invalidType } = require('../errors');

/** The option that carries a face's handler: `new Connection({ ...options, [HOOKS]: handler })`. */
const HOOKS = Symbol('connkit.hooks');
/** `connection[CONTROL]`: its Control, for a face acting outside a hook (connman's disconnect()). */
const CONTROL = Symbol('connkit.control');

/**
 * The hooks, with the default each replaces. Each is called with the handler as
 * `this` and the connection's Control first:
 *
 * - `end(control)`: the stream's writable side ended (end(), once what was written
 *   before it was handed over; again after the stream is revived). Says what ends.
 * - `destroy(control, err)`: the stream is being destroyed (by the user, by Node once
 *   both sides are done, or by connkit itself: a WebSocket close that timed out, a
 *   server closing before the handshake finished). Its 'close' follows when the
 *   connection closes (`control.destroy`) or the hook ends the stream itself
 *   (`control.endStream`).
 * - `peerEnd(control)`: the peer ended its side of the current session. By default
 *   the stream's readable side ends with it, unless the connection reconnects: its
 *   stream goes on across sessions and ends when the connection closes.
 * - `reconnecting(control, { delay, attempt, error? })`: the core waits `delay` ms
 *   before attempt number `attempt`. Writes it gave up on have failed already.
 * - `disconnect(control, error)`: an established session was lost (`error`: why,
 *   when it failed); `connecting` is true again and the reconnect policy takes over.
 * - `sessionEnd(control, error)`: the current session, or an attempt to open one, is
 *   over while the connection lives on. Called after `disconnect`, and after
 *   `reconnecting` when that follows a failed attempt (not the wait after a loss).
 * - `close(control, hadError, waiting)`: the core let go of the connection for good;
 *   `control.closed` is already true and unflushed writes have failed. `waiting`: it
 *   was between reconnect attempts, not connected or dialing.
 */
const DEFAULTS = Object.freeze({
  end(control) {
    control.stop();
  },
  destroy(control, err) {
    control.destroy(err);
  },
  peerEnd(control) {
    if (!control.reconnects) control.endReadable();
  },
  reconnecting(control, event) {
    control.connection.emit('reconnecting', event);
  },
  disconnect(control, error) {
    control.connection.emit('disconnect', error);
  },
  sessionEnd() {},
  close(control, hadError) {
    control.emitClose(hadError);
  },
});

/** The hooks of `handler` (undefined: none), bound to it, with defaults for the rest. */
function resolveHooks(handler) {
  if (handler === undefined) return DEFAULTS;
  if (handler === null || typeof handler !== 'object') throw invalidType('hooks', 'of type object', handler);
  const hooks = {};
  for (const name of Object.keys(DEFAULTS)) {
    const hook = handler[name];
    if (hook === undefined) hooks[name] = DEFAULTS[name];
    else if (typeof hook === 'function') hooks[name] = hook.bind(handler);
    else throw invalidType(`hooks.${name}`, 'of type function', hook);
  }
  return hooks;
}

/** What a hook may do to its connection: the steps the defaults are made of. */
class Control {
  #life;

  constructor(life) {
    this.#life = life;
  }

  /** The connection, to emit on or listen to. */
  get connection() {
    return this.#life.connection;
  }

  /** The core let go of the connection: no event follows. */
  get closed() {
    return this.#life.closed;
  }

  /** The connection has a reconnect policy. */
  get reconnects() {
    return this.#life.reconnects;
  }

  /** Flushes, ends, and stops reconnecting: the end of the connection. */
  stop() {
    this.#life.stop();
  }

  /** Ends the current session only, flushing first or not; a reconnecting
   * connection then dials again on its schedule. */
  hangup(flush) {
    this.#life.hangup(flush);
  }

  /** Closes the connection for good at once; the stream's 'close' follows. */
  destroy(err) {
    this.#life.destroyNow(err);
  }

  /** The readable side ends: 'end' once what was read before is consumed. */
  endReadable() {
    this.#life.endReadable();
  }

  /** The stream ends with this session ('error' if `err`, then 'close'); the
   * connection itself lives on. */
  endStream(err) {
    this.#life.endStream(err);
  }

  /** A new session opens the ended stream again, as Node's socket.connect() does. */
  reviveStream() {
    this.#life.reviveStream();
  }

  /** The stream closes with the connection: after 'end' when it ended cleanly, or at once. */
  emitClose(hadError) {
    this.#life.closeStream(hadError);
  }
}

module.exports = { HOOKS, CONTROL, Control, resolveHooks };
