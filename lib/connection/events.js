'use strict';

// What the core reports about one connection (the events the bridge hands over, by
// Kind), turned into the connection's state and Node's events: reads become 'data'
// or 'frame', acks go to the write ledger, lost sessions and the close to the
// lifecycle. While the reader is paused, reads and whatever follows them wait.

const { StringDecoder } = require('node:string_decoder');
const { Kind } = require('../bridge');
const { fromCore } = require('../errors');
const { ESTABLISHED, CLIENT_ERROR } = require('../symbols');

function readTotal(batch, at) {
  return batch.readUInt32LE(at) + batch.readUInt32LE(at + 4) * 2 ** 32;
}

const json = (batch, start, end) => JSON.parse(batch.toString('utf8', start, end));

/** The ends of the current session, as the core reports them. */
function setAddresses(conn, a) {
  conn.remoteAddress = a.remoteAddress ?? undefined;
  conn.remotePort = a.remotePort ?? undefined;
  conn.remoteFamily = a.remoteFamily ?? undefined;
  conn.localAddress = a.localAddress ?? undefined;
  conn.localPort = a.localPort ?? undefined;
}

class CoreEvents {
  paused = false;
  #held = []; // [kind, payload] that arrived while paused
  #decoder = null;
  #encoding = null; // framed connections: frames as strings
  #conn;
  #framed;
  #server;
  #ledger;
  #life;

  /** `server`: the Server that accepted the connection, or null for one dialed. */
  constructor(connection, framed, server, ledger, life) {
    this.#conn = connection;
    this.#framed = framed;
    this.#server = server;
    this.#ledger = ledger;
    this.#life = life;
  }

  /** Unframed: `data` as strings. Framed: each `frame` as a string. */
  setEncoding(encoding) {
    if (this.#framed) this.#encoding = encoding;
    else this.#decoder = new StringDecoder(encoding);
  }

  /** After a resume: what was held, in order, until a listener pauses again. */
  replayHeld() {
    const held = this.#held;
    this.#held = [];
    for (let i = 0; i < held.length; i++) {
      const [kind, payload] = held[i];
      this.handle(kind, payload, 0, payload.length);
      if (this.paused) {
        // What is left waits for the next resume().
        this.#held = held.slice(i + 1).concat(this.#held);
        break;
      }
    }
  }

  /** One event; its payload is batch[start, end). */
  handle(kind, batch, start, end) {
    // While paused, reads wait, and so does everything after them (a 'close' must
    // not overtake the 'data' and 'end' before it); write acks never wait.
    const read = kind === Kind.Data || kind === Kind.Frame || kind === Kind.End;
    if (this.paused && kind !== Kind.Written && (read || this.#held.length > 0)) {
      // Kept past this batch: copy out of it.
      this.#held.push([kind, Buffer.from(batch.subarray(start, end))]);
      return;
    }
    const conn = this.#conn;
    switch (kind) {
      case Kind.Data: {
        const chunk = batch.subarray(start, end);
        conn.bytesRead += chunk.length;
        conn.emit('data', this.#decoder ? this.#decoder.write(chunk) : chunk);
        break;
      }
      case Kind.Frame:
        conn.bytesRead += end - start;
        // With an encoding set, a frame is decoded straight from the batch.
        conn.emit('frame', this.#encoding ? batch.toString(this.#encoding, start, end) : batch.subarray(start, end));
        break;
      case Kind.Written:
        this.#ledger.written(readTotal(batch, start));
        break;
      case Kind.Connect:
        setAddresses(conn, json(batch, start, end));
        conn.connecting = false;
        this.#life.peerEnded = false;
        if (this.#server && !conn.destroyed) this.#server[ESTABLISHED](conn);
        conn.emit('connect');
        conn.emit('ready');
        break;
      case Kind.End:
        this.#life.peerEnded = true;
        if (this.#decoder) {
          const rest = this.#decoder.end();
          if (rest) conn.emit('data', rest);
        }
        conn.emit('end');
        break;
      case Kind.Timeout:
        conn.emit('timeout');
        break;
      case Kind.Heartbeat:
        conn.emit('heartbeat');
        break;
      case Kind.Dialing:
        conn.emit('dialing', json(batch, start, end));
        break;
      case Kind.Error: {
        const info = json(batch, start, end);
        const error = fromCore(info);
        // A write the offline queue refused: its callback gets the error.
        if (info.writeEnd !== undefined) this.#ledger.refused(info.writeEnd, error);
        this.#error(error);
        break;
      }
      case Kind.Reconnecting: {
        const info = json(batch, start, end);
        const error = info.error ? fromCore(info.error) : undefined;
        if (info.dropped) this.#ledger.dropped(info.dropped, error, 'ERR_SOCKET_CLOSED_BEFORE_CONNECTION');
        this.#life.reconnecting(info.delay, info.attempt, error);
        break;
      }
      case Kind.Disconnect: {
        const info = json(batch, start, end);
        const error = info.error ? fromCore(info.error) : undefined;
        conn.connecting = true;
        if (info.dropped) this.#ledger.dropped(info.dropped, error, 'ERR_STREAM_DESTROYED');
        else this.#ledger.written(info.written); // so writableLength is what goes out again
        this.#life.disconnected(error);
        break;
      }
      case Kind.PeerClosed: {
        const { code, reason } = json(batch, start, end);
        this.#life.peerClosed = true;
        conn.emit('closeframe', code, reason);
        break;
      }
      case Kind.Exit: {
        const { code, signal } = json(batch, start, end);
        conn.emit('exit', code, signal);
        break;
      }
      case Kind.Close: {
        const { hadError, waiting, stats } = json(batch, start, end);
        this.#life.closedByCore(hadError, waiting, stats);
        break;
      }
    }
  }

  #error(err) {
    const conn = this.#conn;
    // A handshake that failed before the server announced the connection is the
    // server's business ('tlsClientError'), not an unhandled error.
    if (this.#server && conn.connecting) {
      this.#server[CLIENT_ERROR](err, conn);
      return;
    }
    conn.emit('error', err);
  }
}

module.exports = { CoreEvents, setAddresses };
