'use strict';

// A connection's life beyond single reads and writes: ending and destroying it,
// sessions lost and redialed, and the final close. Each turn goes through the
// face's hooks (./hooks.js), whose defaults make a plain connection; the steps the
// hooks are built from live here, where the state they change is kept.

const { Op, native } = require('../bridge');
const writer = require('../writer');
const { Control } = require('./hooks');

class Lifecycle {
  #id;
  #ledger;
  #release;
  #hooks;
  #destroyError = null;
  // A lost session is reported, then the wait before redialing: that wait is no
  // failed attempt.
  #sessionLost = false;

  /** `hooks`: from resolveHooks(). `release()`: gives up the handle's id and its
   * hold on the process. */
  constructor(connection, id, ledger, hooks, release) {
    this.connection = connection;
    this.#id = id;
    this.#ledger = ledger;
    this.#release = release;
    this.#hooks = hooks;
    this.control = new Control(this);
    this.ending = false; // end() was called
    this.peerEnded = false;
    this.peerClosed = false; // the peer's WebSocket close frame came
    this.closed = false; // the core let go
    this.finalStats = null;
  }

  /** end() on a connection not ending yet. */
  end() {
    this.finishWhenFlushed();
    this.#hooks.end(this.control);
  }

  destroy(err) {
    this.#hooks.destroy(this.control, err);
  }

  /** No more writes: 'finish' once everything written so far is flushed. */
  finishWhenFlushed() {
    this.ending = true;
    this.#ledger.afterAll((err) => err || this.connection.emit('finish'));
  }

  stop() {
    writer.flush(); // the core must see the writes before the end
    native.control(this.#id, Op.End, 0, 0);
  }

  hangup(flush) {
    if (flush) writer.flush();
    native.control(this.#id, Op.Hangup, flush ? 1 : 0, 0);
  }

  destroyNow(err) {
    const conn = this.connection;
    if (conn.destroyed) return;
    conn.destroyed = true;
    this.#destroyError = err ?? null;
    native.control(this.#id, Op.Destroy, 0, 0);
  }

  reopen() {
    this.ending = false;
  }

  emitClose(hadError) {
    const conn = this.connection;
    if (this.#destroyError) {
      conn.emit('error', this.#destroyError);
      hadError = true;
    }
    conn.emit('close', hadError);
  }

  /** The core waits `delay` ms before attempt number `attempt`. */
  reconnecting(delay, attempt, error) {
    const event = { delay, attempt };
    if (error) event.error = error;
    this.#hooks.reconnecting(this.control, event);
    if (this.#sessionLost) this.#sessionLost = false;
    else this.#hooks.sessionEnd(this.control, error);
  }

  /** An established session was lost; the reconnect policy takes over. */
  disconnected(error) {
    this.#sessionLost = true;
    this.#hooks.disconnect(this.control, error);
    this.#hooks.sessionEnd(this.control, error);
  }

  /** The core let go of the connection for good; `stats`: its last counters. */
  closedByCore(hadError, waiting, stats) {
    this.finalStats = stats;
    this.closed = true;
    const conn = this.connection;
    conn.connecting = false;
    conn.destroyed = true;
    this.#release();
    this.#ledger.failUnflushed();
    this.#hooks.close(this.control, hadError, waiting);
  }
}

module.exports = { Lifecycle };
