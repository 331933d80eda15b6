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
 * decode to a message is one `error`, a DecodeError (rawData, clientId), and then:
 *
 * - A server drops that one socket and keeps serving the others. The original's
 *   code destroys the socket (its document is silent on it); the client may
 *   reconnect.
 * - A client keeps working, and emits 'close' only after close():
 *   - With the default transcoder it keeps the connection: the core frames the
 *     stream, so the frame after a bad one is whole whatever the bad one held.
 *     Valid JSON that is no message, and a 'message' listener that throws, leave
 *     the stream as framed as ever: the same.
 *   - With a custom transcoder whose decoder fails (calls back with an error, or
 *     throws), the decoder owns the framing, and where the next message starts
 *     is now unknown: it may be length-prefixed, or have buffered half of the next
 *     message. A fresh decoder on the same stream would start at an arbitrary byte
 *     and could misread, or silently deliver wrong messages. A new socket starts
 *     at a message boundary for sure, so the client drops this one and reconnects
 *     as after any lost socket ('disconnect', then 'connect' and 'reconnect'), as
 *     the original's code does (it destroys the socket). What the old socket still
 *     delivers is discarded; the next one gets a fresh decoder, as every socket
 *     does. A wrapper whose topic is no string, or a throwing listener, leaves the
 *     decoder sound: reported, and the connection kept.
 *
 * `dropSession()`: how to let go of this socket (server: destroy it; client:
 * reconnect, unless close() was called).
 *
 * The original crashes the process on undecodable JSON (see docs/socket-ipc.md),
 * and on a decoder that throws.
 */
function readMessages(conn, transcoder, emitter, clientId, dropSession) {
  const onServer = clientId !== undefined;
  // false while what this socket still delivers is to be discarded (client, after
  // its decoder failed, until the next session).
  let reading = true;
  // A custom transcoder's decoder for this session; made on its first chunk.
  let decoder = null;
  // Set when our own handling inside the decoder's callback threw (an 'error'
  // listener that throws, say): that passes through the decoder, and is no
  // decode error.
  let ownThrow = false;
  const fail = (err, streamBroken) => {
    if (onServer || streamBroken) {
      reading = false;
      decoder = null;
      dropSession();
    }
    emitter.emit('error', err);
  };
  const deliver = (wrapper, raw) => {
    // A topic names an event (`message.<topic>`): anything but a string is no message.
    if (typeof wrapper?.topic !== 'string') {
      fail(new DecodeError('Failed to decode, caused by: the topic is not a string', raw ?? wrapper, clientId), false);
      return;
    }
    try {
      emitter.emit('message', wrapper.message, wrapper.topic, clientId);
      emitter.emit(topicEvent(wrapper.topic), wrapper.message, clientId);
    } catch (err) {
      // The original drops the socket when a listener throws; a server does too,
      // a client keeps it (the stream is as framed as before).
      fail(err, false);
    }
  };
  if (!transcoder) {
    conn.setEncoding('utf8'); // frames arrive as strings, ready for JSON.parse
    conn.on('frame', (raw) => {
      if (!reading || conn.destroyed) return;
      let wrapper;
      try {
        wrapper = JSON.parse(raw);
      } catch (err) {
        fail(new DecodeError(`Failed to decode, caused by: ${err.message}`, raw, clientId), false);
        return;
      }
      // Valid JSON that is no message (`null`, `3`, `[]`) is as undecodable.
      if (wrapper === null || typeof wrapper !== 'object' || Array.isArray(wrapper)) {
        fail(new DecodeError('Failed to decode, caused by: not a message object', raw, clientId), false);
        return;
      }
      deliver(wrapper, raw);
    });
    return;
  }
  // Each socket gets its own decoder, as the original's document promises: a
  // client's next session starts with a fresh one (the old one may hold half a
  // message of a socket that is gone).
  if (!onServer) {
    conn.on('connect', () => {
      reading = true;
      decoder = null;
    });
  }
  if (transcoder.socketEncoding) conn.setEncoding(transcoder.socketEncoding);
  conn.on('data', (chunk) => {
    if (!reading || conn.destroyed) return;
    decoder ??= transcoder.createDecoder();
    const current = decoder;
    try {
      current(chunk, (err, wrappers) => {
        if (current !== decoder) return; // a session already dropped
        try {
          if (err) {
            if (err instanceof DecodeError && err.clientId === undefined) err.clientId = clientId;
            fail(err, true);
            return;
          }
          if (!Array.isArray(wrappers)) {
            fail(new DecodeError('Failed to decode, caused by: the decoder gave no array of messages', chunk, clientId), true);
            return;
          }
          for (let i = 0; i < wrappers.length && current === decoder && !conn.destroyed; i++) deliver(wrappers[i]);
        } catch (thrown) {
          ownThrow = true;
          throw thrown;
        }
      });
    } catch (err) {
      if (ownThrow) {
        ownThrow = false;
        throw err; // a listener's throw, rethrown as for any event
      }
      // The decoder itself threw: a decode error, though the document asks for
      // the callback. The original lets it crash the process.
      if (current !== decoder) return;
      fail(decodeErrorFrom(err, chunk, clientId), true);
    }
  });
}

/** A DecodeError for what a decoder threw: itself if it is one, else one caused by it. */
function decodeErrorFrom(thrown, chunk, clientId) {
  if (thrown instanceof DecodeError) {
    if (thrown.clientId === undefined) thrown.clientId = clientId;
    return thrown;
  }
  const err = new DecodeError(`Failed to decode, caused by: ${thrown?.message ?? thrown}`, chunk, clientId);
  Object.defineProperty(err, 'cause', { value: thrown, writable: true, configurable: true });
  return err;
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
