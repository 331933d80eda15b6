'use strict';

// The socket connman hands to onConnect. One object lives as long as the managed
// connection, as the original reuses one net.Socket across reconnects, so listeners
// and settings (encoding, timeout, no-delay, keep-alive) carry over. Every lost
// session and every failed attempt is a 'close' on it, after an 'error' when there
// was one; end() and destroy() end the session only (the schedule reconnects);
// disconnect() ends it for good. Writes while closed fail as on a Node socket, and
// writes unsent when a session is lost fail with it instead of reaching the next.

const { Connection } = require('../../lib/connection');
const { HOOKS, CONTROL } = require('../../lib/connection/hooks');
const { withCode } = require('../../lib/errors');
const { RECONNECT_SCHEDULE } = require('./schedule');

const closedWrite = () => withCode(Error, 'ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed');

/** connman's meaning of each turn of the connection's life: its hooks. */
class Sessions {
  constructor() {
    // Between a 'close' and the next attempt: until when (ms since the epoch).
    this.attemptAt = 0;
    // destroy() cut the session: writes fail until it closes.
    this.cut = false;
    this.cutError = null;
    this.stopped = false;
  }

  /** end() ends this session only, after flushing; connman then reconnects. An
   * attempt in progress is ended once it connects, as Node ends a connecting socket. */
  end(control) {
    const sock = control.connection;
    if (sock.connecting) sock.once('connect', () => control.hangup(true));
    else control.hangup(true);
  }

  /** destroy() closes this session now; connman then reconnects. */
  destroy(control, err) {
    if (control.closed || control.connection.connecting || this.cut) return;
    this.cut = true;
    this.cutError = err ?? null;
    control.hangup(false);
  }

  reconnecting(control, { delay }) {
    this.attemptAt = Date.now() + delay;
  }

  disconnect() {
    this.attemptAt = Infinity; // closed until the core says when it redials
  }

  sessionEnd(control, error) {
    const err = error ?? this.cutError;
    control.reopen();
    this.cut = false;
    this.cutError = null;
    const sock = control.connection;
    if (err) sock.emit('error', err);
    sock.emit('close', err !== undefined && err !== null);
  }

  close(control, hadError, waiting) {
    // Stopped between attempts: the last 'close' was already emitted.
    if (!waiting) control.emitClose(hadError);
  }
}

class ManagedSocket extends Connection {
  #sessions;

  constructor(port, host, options) {
    const sessions = new Sessions();
    super({
      ...socketOptions(options),
      host,
      port,
      reconnect: RECONNECT_SCHEDULE,
      resendUnsent: false,
      [HOOKS]: sessions,
    });
    this.#sessions = sessions;
  }

  get readyState() {
    if (!this[CONTROL].closed && this.connecting) return Date.now() < this.#sessions.attemptAt ? 'closed' : 'opening';
    return super.readyState;
  }

  write(data, encoding, callback) {
    const sessions = this.#sessions;
    if (sessions.cut || (this.connecting && Date.now() < sessions.attemptAt)) {
      const cb = typeof encoding === 'function' ? encoding : callback;
      if (typeof cb === 'function') process.nextTick(cb, closedWrite());
      return false;
    }
    return super.write(data, encoding, callback);
  }

  /** Ends the socket and stops reconnecting for good, also before it is open. */
  disconnect() {
    const control = this[CONTROL];
    if (this.#sessions.stopped || control.closed) return;
    this.#sessions.stopped = true;
    control.stop();
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
