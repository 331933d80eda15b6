'use strict';

// A connection's heartbeat: a ping every interval and, with a timeout, detection of
// a peer that has gone silent; and what a connection does about a silent peer. It
// beats on its transport's timers when it has some (a core socket's, which run in
// the core with the connection), else on Node's.

const { failPending } = require('./bookkeeping');

// Node's timers, looked up at each call: fake timers installed later (node:test's
// mock.timers, say) still drive the heartbeat.
const nodeTimers = {
  setInterval: (beat, interval) => setInterval(beat, interval),
  clearInterval: (timer) => clearInterval(timer),
};

class Heartbeat {
  /** `timeout`: ms of silence after which the peer is given up (0: never).
   * `peer`: { closed() whether to skip a beat, ping(), silent(timeout) the peer is
   * gone, timers() the transport's timers or undefined }. */
  constructor(timeout, peer) {
    this.timeout = timeout;
    this.timer = null;
    this._peer = peer;
    this._timers = nodeTimers;
    this._silentSince = 0;
  }

  start(interval) {
    this.stop();
    this._silentSince = 0;
    this._timers = this._peer.timers() ?? nodeTimers;
    this.timer = this._timers.setInterval(() => this._beat(), interval);
  }

  stop() {
    if (this.timer) {
      this._timers.clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** A message from the peer: it is alive. */
  heard() {
    this._silentSince = 0;
  }

  _beat() {
    if (this._peer.closed()) return;
    // Silence is counted from the first ping left unanswered by any message.
    const now = Date.now();
    if (!this._silentSince) this._silentSince = now;
    else if (this.timeout > 0 && now - this._silentSince >= this.timeout) {
      this._peer.silent(this.timeout);
      return;
    }
    this._peer.ping();
  }
}

/** The peer went silent: it is taken for gone. The socket is dropped (a client
 * then reconnects as after any other drop), and calls waiting for it fail with
 * ERR_CALLBACK_LOST at once, their messages taken out of the resend buffer
 * (callMethodWithResend makes them again). */
function dropSilentPeer(connection, timeout) {
  connection._closed = true;
  connection.stopHeartbeat();
  const transport = connection.transport;
  if (typeof transport.destroy === 'function') transport.destroy();
  else transport.end();
  failPending(connection);
  const error = new Error(`No message from the peer for ${timeout} ms`);
  error.code = 'ERR_HEARTBEAT_TIMEOUT';
  // 'close' follows in any case; an 'error' nobody listens for must not crash.
  if (connection.listenerCount('error') > 0) connection.emit('error', error, connection);
}

module.exports = { Heartbeat, dropSilentPeer };
