'use strict';

// A connection's life beyond single reads and writes: ending and destroying its
// stream, sessions lost and redialed, and the final close. Each turn goes through
// the face's hooks (./hooks.js), whose defaults make a plain connection; the steps
// the hooks are built from live here, where the state they change is kept.
//
// Two lives meet here: the core's connection (open until its Close event) and the
// Node stream the user holds (open until its 'close'). For a plain connection they
// end together: the stream's destroy() closes the connection, and the connection's
// close destroys the stream. A face may instead end the stream with each session and
// revive it for the next (connman), as Node's socket.connect() revives a socket.

const { Op, native } = require('../bridge');
const writer = require('../writer');
const { Control } = require('./hooks');

class Lifecycle {
  #id;
  #ledger;
  #release;
  #hooks;
  // The stream's destroy waiting to finish: its callback, and the error it was given.
  #destroying = null;
  #destroyError = null;
  #destroySent = false;
  // A face ends the stream without closing the connection (Control.endStream).
  #endingStream = false;
  // The connection closed after an error (already emitted): the 'close' says so.
  #closedInError = false;
  // The core reported the error that ends the connection (see failed()).
  #failing = false;
  // The readable side was ended (push(null)); and a destroy waiting for its 'end'.
  // A peer's end is also the session's when half-open is not allowed: the core ends
  // it, and Node's end() that follows has nothing to add.
  #readEnded = false;
  #peerEndedSession = false;
  #stopping = false;
  #afterEnd = null;
  // A lost session is reported, then the wait before redialing: that wait is no
  // failed attempt.
  #sessionLost = false;

  /** `hooks`: from resolveHooks(). `release()`: gives up the handle's id and its
   * hold on the process. */
  constructor(connection, id, ledger, hooks, reconnects, release) {
    this.connection = connection;
    this.#id = id;
    this.#ledger = ledger;
    this.#release = release;
    this.#hooks = hooks;
    this.reconnects = reconnects;
    this.control = new Control(this);
    this.peerClosed = false; // the peer's WebSocket close frame came
    this.closed = false; // the core let go
    this.finalStats = null;
  }

  /** The stream's session ends by itself: stop() was called, or the peer ended it,
   * and with it the stream's reading, without half-open allowed (the core then ends
   * the session). */
  #sessionEnding() {
    return this.#stopping || (this.#peerEndedSession && this.#readEnded && !this.connection.allowHalfOpen);
  }

  /** The stream's _final: `done` once everything written is flushed. A WebSocket
   * closing with a close frame (`wsClose`) sends it instead of a plain end. */
  final(done, wsClose) {
    // Closed, or ended by stop(): nothing is left to hand over.
    if (this.closed || this.#stopping) {
      done();
      return;
    }
    // A flush that fails means the connection is closing: the stream is destroyed
    // then, and 'finish' is not due.
    this.#ledger.afterAll((err) => err || done());
    if (wsClose) {
      writer.flush();
      native.wsClose(this.#id, wsClose.code, wsClose.reason);
    } else {
      this.#hooks.end(this.control);
    }
  }

  /** The connection failed with `err`; its close follows. The stream is destroyed
   * with the error now (the core is told nothing: it is closing already). */
  failed(err) {
    this.#failing = true;
    try {
      this.connection.destroy(err);
    } finally {
      this.#failing = false;
    }
  }

  /** The stream's _destroy. */
  destroy(err, done) {
    this.#destroying = done;
    this.#destroyError = err ?? null;
    const conn = this.connection;
    if (this.closed || this.#endingStream) this.#finishDestroy(false);
    else if (this.#failing) return; // the close that follows finishes it
    // Node destroys a stream both of whose sides are done: when its session ends by
    // itself, that end finishes the destroy (the close, or the face's endStream()).
    else if (!(this.#sessionEnding() && conn.readableEnded && conn.writableFinished)) this.#hooks.destroy(this.control, err);
  }

  stop() {
    this.#stopping = true;
    writer.flush(); // the core must see the writes before the end
    native.control(this.#id, Op.End, 0, 0);
  }

  hangup(flush) {
    if (flush) writer.flush();
    native.control(this.#id, Op.Hangup, flush ? 1 : 0, 0);
  }

  destroyNow() {
    if (this.#destroySent || this.closed) return;
    this.#destroySent = true;
    native.control(this.#id, Op.Destroy, 0, 0);
  }

  endReadable() {
    const conn = this.connection;
    if (this.#readEnded || conn.destroyed) return;
    this.#readEnded = true;
    conn.push(null);
    // Nobody reading: 'end' is still due once nothing is left unread.
    if (conn.readableFlowing === null) conn.read(0);
  }

  endStream(err) {
    if (this.#destroying) this.#finishDestroy(Boolean(err));
    else if (err || !this.#waitForEnd()) this.#destroyStream(err);
  }

  reviveStream() {
    const conn = this.connection;
    // Its last session's 'end' never came (nobody read to it): that session is over.
    if (this.#afterEnd) this.#destroyStream();
    if (!conn.destroyed || this.#destroying) return;
    conn._undestroy();
    this.#readEnded = false;
    this.#peerEndedSession = false;
    // A socket ended by its peer answers writes with EPIPE (Node's own net.Socket
    // installs that as an own write()); the next session takes writes again.
    if (Object.hasOwn(conn, 'write')) delete conn.write;
    conn.connecting = true;
  }

  closeStream(hadError) {
    if (this.#destroying) {
      this.#finishDestroy(hadError);
      return;
    }
    // Closed cleanly: what was read is still there to read, then 'end', then 'close',
    // as a Node socket whose peer ended it.
    if (!hadError) this.endReadable();
    if (hadError || !this.#waitForEnd()) {
      this.#closedInError = hadError;
      this.#destroyStream();
    }
  }

  /** The readable side ended and its 'end' is still due: the stream is destroyed
   * after it. False when there is nothing to wait for. */
  #waitForEnd() {
    const conn = this.connection;
    if (!this.#readEnded || conn.readableEnded || conn.destroyed) return false;
    if (this.#afterEnd === null) {
      this.#afterEnd = () => this.#destroyStream();
      conn.once('end', this.#afterEnd);
    }
    return true;
  }

  /** Destroys the stream without touching the connection (it is over, or goes on). */
  #destroyStream(err) {
    const conn = this.connection;
    if (this.#afterEnd) {
      conn.removeListener('end', this.#afterEnd);
      this.#afterEnd = null;
    }
    if (conn.destroyed) return;
    this.#endingStream = true;
    try {
      conn.destroy(err ?? undefined);
    } finally {
      this.#endingStream = false;
    }
  }

  /** The stream's destroy is done: its error (if any), then 'close' once. */
  #finishDestroy(hadError) {
    const done = this.#destroying;
    const err = this.#destroyError;
    this.#destroying = null;
    this.#destroyError = null;
    const conn = this.connection;
    conn.connecting = false;
    this.#ledger.failExpected();
    done(err);
    const withError = hadError || this.#closedInError || err !== null;
    this.#closedInError = false;
    process.nextTick(() => conn.emit('close', withError));
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

  /** A session opened: a stream a face ended with the last one opens again. */
  connected() {
    this.#peerEndedSession = false;
    this.reviveStream();
  }

  peerEnded() {
    this.#peerEndedSession = true;
    this.#hooks.peerEnd(this.control);
  }

  /** The core let go of the connection for good; `stats`: its last counters. */
  closedByCore(hadError, waiting, stats) {
    this.finalStats = stats;
    this.closed = true;
    this.connection.connecting = false;
    this.#release();
    this.#ledger.failUnflushed();
    this.#hooks.close(this.control, hadError, waiting);
  }
}

module.exports = { Lifecycle };
