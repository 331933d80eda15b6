'use strict';

// The socket connman hands to onConnect. One object lives as long as the managed
// connection, as the original reuses one net.Socket across reconnects, so listeners
// and settings (encoding, timeout, no-delay, keep-alive) carry over. Each session is
// that socket's stream from its connect to its 'close', as Node's socket.connect()
// revives a closed socket: every lost session and every failed attempt is a 'close',
// after an 'error' when there was one; between a 'close' and the next attempt the
// socket is destroyed, and writes fail as on a Node socket; writes unsent when a
// session is lost fail with it instead of reaching the next. end() and destroy() end
// the session only (the schedule reconnects); disconnect() ends it for good.

const { Connection } = require('../../lib/connection');
const { HOOKS, CONTROL } = require('../../lib/connection/hooks');
const { RECONNECT_SCHEDULE } = require('./schedule');

/** connman's meaning of each turn of the connection's life: its hooks. */
class Sessions {
  constructor() {
    // Between a 'close' and the next attempt: until when (ms since the epoch).
    this.attemptAt = 0;
    // destroy() while dialing: the session is cut as soon as it opens.
    this.cutOnConnect = null;
    // The last session's stream closed, and no write or look has reopened it since.
    this.closed = false;
  }

  /** end() ends this session only, after flushing; connman then reconnects. An
   * attempt in progress is ended once it connects, as Node ends a connecting socket. */
  end(control) {
    const sock = control.connection;
    if (sock.connecting) sock.once('connect', () => control.hangup(true));
    else control.hangup(true);
  }

  /** destroy() closes this session now; its 'close' comes when it is over, and
   * connman then reconnects. */
  destroy(control) {
    const sock = control.connection;
    if (!sock.connecting) {
      control.hangup(false);
    } else if (this.cutOnConnect === null) {
      this.cutOnConnect = () => control.hangup(false);
      sock.once('connect', this.cutOnConnect);
    }
  }

  /** Each session is a stream of its own: the peer's end is its end. */
  peerEnd(control) {
    control.endReadable();
  }

  // connman's socket has no events of its own for the waits and losses: each
  // session's end is its 'close'.
  reconnecting(control, { delay }) {
    this.attemptAt = Date.now() + delay;
  }

  disconnect() {
    this.attemptAt = Infinity; // closed until the core says when it redials
  }

  /** A session, or an attempt, is over: its stream closes, with its error. */
  sessionEnd(control, error) {
    if (this.cutOnConnect !== null) {
      control.connection.removeListener('connect', this.cutOnConnect);
      this.cutOnConnect = null;
    }
    // An attempt nobody looked at while it dialed opens its stream only to close it.
    if (control.connection.destroyed) control.reviveStream();
    control.endStream(error);
    this.closed = true;
  }

  /** The socket is opening again once the wait before the next attempt is over, as
   * the original's timer calls connect(). Asked when it matters (a write, the
   * state) rather than told: the attempt starts in the core without waking JS. */
  reviveIfDialing(control) {
    if (!control.connection.destroyed) this.closed = false;
    else if (!control.closed && Date.now() >= this.attemptAt) {
      control.reviveStream();
      this.closed = false;
    }
  }
}

class ManagedSocket extends Connection {
  #sessions;
  #stopped = false;

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
    if (this.#sessions.closed) this.#sessions.reviveIfDialing(this[CONTROL]);
    return super.readyState;
  }

  write(data, encoding, callback) {
    if (this.#sessions.closed) this.#sessions.reviveIfDialing(this[CONTROL]);
    return super.write(data, encoding, callback);
  }

  /** Ends the socket and stops reconnecting for good, also before it is open. */
  disconnect() {
    const control = this[CONTROL];
    if (control.closed || this.#stopped) return;
    this.#stopped = true;
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
