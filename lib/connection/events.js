'use strict';

// What the core reports about one connection (the events the bridge hands over, by
// Kind), turned into the connection's state and its stream: unframed reads are
// pushed to the readable side, frames become 'frame' events (and are pushed too once
// somebody reads the stream), acks go to the write ledger, lost sessions and the
// close to the lifecycle. While a framed connection is paused, frames and whatever
// follows them wait.

const { Kind, Op, native } = require('../bridge');
const { fromCore } = require('../errors');
const { ESTABLISHED, CLIENT_ERROR } = require('../symbols');

/** `connection[ADDRESSES]`: the ends of the current session, as the core reports them. */
const ADDRESSES = Symbol('connkit.addresses');

function readTotal(batch, at) {
  return batch.readUInt32LE(at) + batch.readUInt32LE(at + 4) * 2 ** 32;
}

const json = (batch, start, end) => JSON.parse(batch.toString('utf8', start, end));

class CoreEvents {
  paused = false; // framed: frames are held
  bytesRead = 0;
  #readStopped = false; // the core stopped reading: the readable side is full
  #held = []; // [kind, payload] that arrived while paused
  #encoding = null; // frames as strings
  #id;
  #conn;
  #framed;
  #server;
  #ledger;
  #life;

  /** `server`: the Server that accepted the connection, or null for one dialed. */
  constructor(connection, id, framed, server, ledger, life) {
    this.#conn = connection;
    this.#id = id;
    this.#framed = framed;
    this.#server = server;
    this.#ledger = ledger;
    this.#life = life;
  }

  /** Framed: each `frame` as a string. */
  setFrameEncoding(encoding) {
    this.#encoding = encoding;
  }

  /** Framed: frames wait until resume(), and the core stops reading. */
  hold() {
    if (this.paused) return;
    this.paused = true;
    this.#stopReading(true);
  }

  /** After a resume: what was held, in order, until a listener pauses again. */
  release() {
    if (!this.paused) return;
    this.paused = false;
    this.#stopReading(false);
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

  /** The stream's _read: somebody wants more. */
  wanted() {
    if (!this.paused) this.#stopReading(false);
  }

  /** Framed: whether somebody reads the stream now (flowing, or listening for
   * 'readable'); frames go to the readable side only then, or they would pile up. */
  #reading() {
    const state = this.#conn._readableState;
    return state.flowing === true || state.readableListening;
  }

  #stopReading(stop) {
    if (stop === this.#readStopped) return;
    this.#readStopped = stop;
    native.control(this.#id, stop ? Op.Pause : Op.Resume, 0, 0);
  }

  /** Bytes for the readable side; past its high-water mark the core stops reading. */
  #push(chunk) {
    const conn = this.#conn;
    const state = conn._readableState;
    // Flowing with nothing waiting, push() would emit the chunk as 'data' at once:
    // that is done here without its books (nothing is buffered, no read is due).
    if (state.flowing === true && state.length === 0 && state.decoder === null && !state.ended && !state.destroyed) {
      state.dataEmitted = true;
      conn.emit('data', chunk);
    } else if (!conn.push(chunk)) {
      this.#stopReading(true);
    }
  }

  /** One event; its payload is batch[start, end). */
  handle(kind, batch, start, end) {
    // While paused, frames wait, and so does everything after them (a 'close' must
    // not overtake the frames and the end before it); write acks never wait.
    if (this.paused && kind !== Kind.Written && (kind === Kind.Frame || kind === Kind.End || this.#held.length > 0)) {
      // Kept past this batch: copy out of it.
      this.#held.push([kind, Buffer.from(batch.subarray(start, end))]);
      return;
    }
    const conn = this.#conn;
    switch (kind) {
      case Kind.Data:
        this.bytesRead += end - start;
        this.#push(batch.subarray(start, end));
        break;
      case Kind.Frame:
        this.bytesRead += end - start;
        // With an encoding set, a frame is decoded straight from the batch.
        conn.emit('frame', this.#encoding ? batch.toString(this.#encoding, start, end) : batch.subarray(start, end));
        if (this.#reading()) this.#push(batch.subarray(start, end));
        break;
      case Kind.Written:
        this.#ledger.written(readTotal(batch, start));
        break;
      case Kind.Connect:
        this.#life.connected();
        conn[ADDRESSES] = json(batch, start, end);
        conn.connecting = false;
        // Destroyed while the session was opening: no 'connect' for it.
        if (conn.destroyed) break;
        if (this.#server && !conn.destroyed) this.#server[ESTABLISHED](conn);
        conn.emit('connect');
        conn.emit('ready');
        break;
      case Kind.End:
        this.#life.peerEnded();
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
        this.#error(error, info.fatal === true);
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

  /** `fatal`: the connection's close follows. */
  #error(err, fatal) {
    const conn = this.#conn;
    // A handshake that failed before the server announced the connection is the
    // server's business ('tlsClientError'), not an unhandled error.
    if (this.#server && conn.connecting) {
      this.#server[CLIENT_ERROR](err, conn);
      return;
    }
    // As Node's socket whose read or write failed: destroyed with the error, so the
    // 'error' listener sees it destroyed and errored, and 'close' follows.
    if (fatal && !conn.destroyed) this.#life.failed(err);
    else conn.emit('error', err);
  }
}

module.exports = { CoreEvents, ADDRESSES };
