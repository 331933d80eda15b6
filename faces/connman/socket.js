'use strict';

// The socket connman hands to onConnect. One object lives as long as the managed
// connection, as the original reuses one net.Socket across reconnects, so listeners
// and settings (encoding, timeout, no-delay, keep-alive) carry over. Every lost
// session and every failed attempt is a 'close' on it, after an 'error' when there
// was one; end() and destroy() end the session only (the schedule reconnects);
// disconnect() ends it for good. Writes while closed fail as on a Node socket, and
// writes unsent when a session is lost fail with it instead of reaching the next.

const { Connection } = require('../../lib/connection');
const { withCode } = require('../../lib/errors');

const closedWrite = () => withCode(Error, 'ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed');

class ManagedSocket extends Connection {
  constructor(port, host, options) {
    super({
      ...socketOptions(options),
      host,
      port,
      reconnect: { preset: 'connman' },
      resendUnsent: false,
    });
    // Between a 'close' and the next attempt: until when (ms since the epoch).
    this._attemptAt = 0;
    // The core reports a lost session, then the wait before redialing: the
    // session's 'close' went out with the first.
    this._lostSession = false;
    // destroy() cut the session: writes fail until it closes.
    this._cut = false;
    this._cutError = null;
    this._stopped = false;
  }

  get readyState() {
    if (!this._closed && this.connecting) return Date.now() < this._attemptAt ? 'closed' : 'opening';
    return super.readyState;
  }

  write(data, encoding, callback) {
    if (this._cut || (this.connecting && Date.now() < this._attemptAt)) {
      const cb = typeof encoding === 'function' ? encoding : callback;
      if (typeof cb === 'function') process.nextTick(cb, closedWrite());
      return false;
    }
    return super.write(data, encoding, callback);
  }

  /** end() ends this session only, after flushing; connman then reconnects. An
   * attempt in progress is ended once it connects, as Node ends a connecting socket. */
  _endWrites() {
    if (this.connecting) this.once('connect', () => this._hangup(true));
    else this._hangup(true);
  }

  /** Closes this session now; connman then reconnects. */
  destroy(err) {
    if (this._closed || this.connecting || this._cut) return this;
    this._cut = true;
    this._cutError = err ?? null;
    this._hangup(false);
    return this;
  }

  /** Ends the socket and stops reconnecting for good, also before it is open. */
  disconnect() {
    if (this._stopped || this._closed) return;
    this._stopped = true;
    this._stop();
  }

  _reconnecting(delay, attempt, error) {
    this._attemptAt = Date.now() + delay;
    if (this._lostSession) this._lostSession = false;
    else this._sessionClosed(error); // an attempt failed
  }

  _disconnected(error) {
    this._lostSession = true;
    this._attemptAt = Infinity; // closed until the core says when it redials
    this._sessionClosed(error);
  }

  _sessionClosed(error) {
    const err = error ?? this._cutError;
    this._ending = false;
    this._cut = false;
    this._cutError = null;
    if (err) this.emit('error', err);
    this.emit('close', err !== undefined && err !== null);
  }

  _close(hadError, waiting) {
    // Stopped between attempts: the last 'close' was already emitted.
    if (waiting) this._release();
    else super._close(hadError);
  }
}

/** The net.Socket constructor options connman passes through, as core options. */
function socketOptions(options) {
  if (options === undefined || options === null) return {};
  const out = {};
  if (options.allowHalfOpen !== undefined) out.allowHalfOpen = Boolean(options.allowHalfOpen);
  if (options.noDelay !== undefined) out.noDelay = Boolean(options.noDelay);
  if (options.keepAlive) out.keepAlive = options.keepAliveInitialDelay ?? true;
  return out;
}

module.exports = { ManagedSocket };
