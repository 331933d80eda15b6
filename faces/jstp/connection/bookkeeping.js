'use strict';

// A connection's share of its session's bookkeeping: what it sends is numbered and
// kept in the session's resend buffer until acknowledged, acknowledgements are asked
// for before that buffer grows large, and calls that nothing will answer any more
// are failed with ERR_CALLBACK_LOST.

const serde = require('../serde');
const errors = require('../errors');

// A side that keeps more unacknowledged messages than this asks the peer for an
// acknowledgement with a ping (the original kept them all, without bound).
const ACK_AFTER = 1024;

/** Sends a call, event, inspect or ping with the next id, and keeps it for resending. */
function sendWithBuffering(connection, kind, target, verb, args) {
  const id = connection._nextMessageId;
  connection._nextMessageId += connection._messageIdDelta;
  const text = serde.compose(kind, id, target, verb, args);
  connection._send(text);
  connection.session._bufferMessage(id, text);
  askForAck(connection);
}

/** A pong acknowledges everything sent before its ping. */
function askForAck(connection) {
  if (connection._ackPending || connection._closed || connection.session.buffer.size < ACK_AFTER) return;
  connection._ackPending = true;
  connection.ping(() => {
    connection._ackPending = false;
    askForAck(connection);
  });
}

/** Nothing will answer the calls still waiting: tell their callers, and do not
 * resend them either. A client's handshake is left to its own close listener. */
function failPending(connection) {
  for (const [id, callback] of connection._callbacks) {
    if (id === 0 && connection.client) continue;
    connection._callbacks.delete(id);
    if (connection.session) connection.session.buffer.delete(Math.abs(id));
    process.nextTick(callback, errors.ERR_CALLBACK_LOST);
  }
}

/** After a restore: calls the peer received (ids up to `receivedCount`) but never
 * answered. The original failed only some of them and left the rest waiting
 * forever. Answers sent while we were away may still be on their way (a connkit
 * server keeps them), so a ping goes first; what is still unanswered when its pong
 * returns is reported lost. */
function settleUnanswered(connection, receivedCount) {
  const unanswered = [];
  for (const id of connection._callbacks.keys()) {
    if (id !== 0 && Math.abs(id) <= receivedCount) unanswered.push(id);
  }
  if (unanswered.length === 0) return;
  connection.ping(() => {
    for (const id of unanswered) {
      const callback = connection._callbacks.get(id);
      if (callback) {
        connection._callbacks.delete(id);
        callback(errors.ERR_CALLBACK_LOST);
      }
    }
  });
}

module.exports = { sendWithBuffering, failPending, settleUnanswered };
