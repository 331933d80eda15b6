'use strict';

// How messages become bytes and back. The default JSON wire — `{"topic":...,
// "message":...}` then two NUL bytes — is framed by the core and parsed by V8; a
// custom transcoder gets the raw stream and frames in JS, as in the original.

const { DecodeError, EncodeError } = require('./errors');

const DELIMITER = '\0\0';
// Generous: a frame this large is almost certainly a peer gone wrong.
const DEFAULT_MAX_FRAME = 256 * 1024 * 1024;

/** Connection options for the core: native framing unless a custom transcoder frames. */
function framingFor(transcoder, maxFrameSize = DEFAULT_MAX_FRAME) {
  return transcoder ? { framing: 'raw' } : { framing: { delimiter: DELIMITER }, maxFrameSize };
}

function jsonEncoder(msgWrapper, callback) {
  let data;
  try {
    data = JSON.stringify(msgWrapper);
  } catch (err) {
    callback(new EncodeError(`Failed to encode, caused by: ${err.message}`, msgWrapper));
    return;
  }
  callback(null, data);
}

/** `(msgWrapper, callback(err, data))`; `data === null` means "skip this message". */
function createEncoder(transcoder) {
  return transcoder ? transcoder.createEncoder() : jsonEncoder;
}

/**
 * Turns what `conn` receives into `message` and `message.<topic>` events of
 * `emitter` (with `clientId` last, undefined on a client). Input that does not
 * decode to a message is one `error` (a DecodeError), and then:
 * - a server (`clientId` set) drops that socket and keeps serving the others;
 * - a client keeps a natively framed connection, since the next frame is whole
 *   whatever this one held; with a custom transcoder, whose decoder's state is now
 *   unknown, it hangs up and reconnects as after any lost socket.
 * The original crashes the process on undecodable input (see docs/socket-ipc.md).
 */
function readMessages(conn, transcoder, emitter, clientId) {
  const onServer = clientId !== undefined;
  let decoder = transcoder ? transcoder.createDecoder() : null;
  const fail = (err) => {
    if (onServer) conn.destroy();
    else if (transcoder) {
      decoder = null; // a new one for the next session
      conn.reconnect();
    }
    emitter.emit('error', err);
  };
  const deliver = (wrapper, raw) => {
    // A topic names an event (`message.<topic>`): anything but a string is no message.
    if (typeof wrapper?.topic !== 'string') {
      fail(new DecodeError('Failed to decode, caused by: the topic is not a string', raw ?? wrapper, clientId));
      return;
    }
    try {
      emitter.emit('message', wrapper.message, wrapper.topic, clientId);
      emitter.emit(topicEvent(wrapper.topic), wrapper.message, clientId);
    } catch (err) {
      // The original treats a throwing listener as a broken stream, too.
      fail(err);
    }
  };
  if (!transcoder) {
    conn.setEncoding('utf8'); // frames arrive as strings, ready for JSON.parse
    conn.on('frame', (raw) => {
      if (conn.destroyed) return;
      let wrapper;
      try {
        wrapper = JSON.parse(raw);
      } catch (err) {
        fail(new DecodeError(`Failed to decode, caused by: ${err.message}`, raw, clientId));
        return;
      }
      // Valid JSON that is no message (`null`, `3`, `[]`) is as undecodable.
      if (wrapper === null || typeof wrapper !== 'object' || Array.isArray(wrapper)) {
        fail(new DecodeError('Failed to decode, caused by: not a message object', raw, clientId));
        return;
      }
      deliver(wrapper, raw);
    });
    return;
  }
  if (transcoder.socketEncoding) conn.setEncoding(transcoder.socketEncoding);
  conn.on('data', (chunk) => {
    if (conn.destroyed) return;
    decoder ??= transcoder.createDecoder();
    const current = decoder;
    current(chunk, (err, wrappers) => {
      if (current !== decoder) return; // a session already dropped
      if (err) {
        if (err instanceof DecodeError && err.clientId === undefined) err.clientId = clientId;
        fail(err);
        return;
      }
      for (let i = 0; i < wrappers.length && current === decoder && !conn.destroyed; i++) deliver(wrappers[i]);
    });
  });
}

/** `message.<topic>` event names, built once per topic rather than per message. */
const topicEvents = new Map();
function topicEvent(topic) {
  let name = topicEvents.get(topic);
  if (name === undefined) {
    name = `message.${topic}`;
    if (topicEvents.size < 10000) topicEvents.set(topic, name);
  }
  return name;
}

/** `close`, and the deprecated `closed` before it, as the original emits them. */
function emitClose(emitter) {
  emitter.emit('closed');
  emitter.emit('close');
}

/** Topic rules of the document: an empty topic becomes 'none'. */
function topicOf(topic) {
  return topic || 'none';
}

/** The original's check that a socket file is not mistaken for a port. */
function checkSocketFile(socketFile) {
  const reason = !socketFile ? 'Is empty' : /^\d+$/.test(socketFile) ? 'Looks like a port' : null;
  if (reason) throw new Error(`Invalid value for 'options.socketFile' (${socketFile}): ${reason}`);
  if (typeof socketFile !== 'string') {
    const err = new TypeError(`The "socketFile" option must be of type string. Received ${typeof socketFile}`);
    err.code = 'ERR_INVALID_ARG_TYPE';
    throw err;
  }
}

module.exports = { framingFor, createEncoder, readMessages, emitClose, topicOf, checkSocketFile };
