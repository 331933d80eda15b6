'use strict';

// thrift's connections on the core: TCP, TLS, unix sockets and child stdio, with message
// boundaries found in Rust (framed: the length codec; buffered binary/compact: the
// thrift codecs), the original's reconnect schedule (./schedule.js) on the core's engine, and
// replies handed to generated clients as they expect (see replies.js).

const { EventEmitter } = require('node:events');
const thrift = require('./peer');
// thrift's own logger, which setLogLevel / setLogFunc configure.
const log = require('thrift/lib/nodejs/lib/thrift/log');
const { Client: CoreClient, Connection: CoreConnection } = require('../..');

const { framingOptions, messageReader, payloadOf, transportFor } = require('./stack');
const { dispatch, failAll, failCall, isPending } = require('./replies');
const { clientTls } = require('./tls');
const { reconnectSchedule } = require('./schedule');

const { TBufferedTransport, TBinaryProtocol } = thrift;

class Connection extends EventEmitter {
  /** `stream`: a Node stream (as the seed shows), or a connkit core connection. */
  constructor(stream, options = {}) {
    super();
    this.seqId2Service = {};
    this.options = options;
    this.transport = options.transport || TBufferedTransport;
    this.protocol = options.protocol || TBinaryProtocol;
    this.connected = false;
    this._debug = options.debug || false;
    // Makes a fresh stream for open() after close; only for streams connkit made.
    this._dial = null;
    this._attach(stream);
  }

  _attach(stream) {
    const options = this.options;
    this.connection = stream;
    this.forceClose = false;
    this._closed = false;
    this._lastError = undefined;
    this._retryTotal = 0;
    // End offset (in bytesWritten) and seqid of each call's request, flat and in
    // write order: a lost session fails only the calls whose request reached its socket.
    this._requests = [];
    this._kept = 0; // entries after the last sweep
    const core = stream instanceof CoreConnection;
    this._core = core;
    this._native = core && stream.framed;
    const up = stream.encrypted && !core ? 'secureConnect' : 'connect';
    stream.on(up, () => {
      this.connected = true;
      this._retryTotal = 0;
      if (!this._native) {
        // What a lost session left half-read is not the start of the next one's replies.
        this._onData = this.transport.receiver((transport) => this._receive(transport, true));
        stream.setTimeout?.(options.timeout || 0);
        stream.setNoDelay?.();
      }
      this.emit('connect');
    });
    stream.on('error', (error) => {
      this._lastError = error;
      // Emitted only when someone listens, or nobody else does (Node would throw).
      if (stream.listenerCount('error') === 1 || this.listenerCount('error') > 0) this.emit('error', error);
    });
    stream.on('timeout', () => this.emit('timeout'));
    if (core) {
      stream.on('reconnecting', ({ delay, attempt }) => {
        this._retryTotal += delay;
        log.debug(`Retry connection in ${delay} ms`);
        this.emit('reconnecting', { delay, attempt });
      });
      stream.on('disconnect', (error) => this._lost(error));
    }
    if (this._native) {
      const read = messageReader(this.transport);
      stream.on('frame', (bytes) => this._receive(read(bytes)));
    } else {
      this._onData = this.transport.receiver((transport) => this._receive(transport, true));
      stream.on('data', (data) => this._onData(data));
    }
    stream.on('close', () => this._gone());
  }

  _receive(transport, partial) {
    dispatch(this, transport, partial);
  }

  isOpen() {
    return this.connected;
  }

  /** Calls back once connected (with an error if the connection closes first). A
   * closed connection opens anew, as WSConnection's open() does; one over a stream
   * the user supplied cannot, and throws. */
  open(callback) {
    if (this._closed) {
      if (!this._dial) throw Object.assign(new Error('A closed connection over a user-supplied stream cannot be opened again'), { code: 'ERR_THRIFT_CLOSED' });
      this._attach(this._dial());
    }
    if (!callback) return;
    if (this.connected) return void process.nextTick(callback);
    const onConnect = () => {
      this.off('close', onClose);
      callback();
    };
    const onClose = () => {
      this.off('connect', onConnect);
      callback(this._lastError || Object.assign(new Error('The thrift connection closed before it opened'), { code: 'ERR_THRIFT_CLOSED' }));
    };
    this.once('connect', onConnect);
    this.once('close', onClose);
  }

  /** `data` comes from a transport's flush, for the call `seqid`. */
  write(data, seqid) {
    if (this._closed) {
      // Closed for good: the call would wait forever (as in the original).
      const error = Object.assign(new Error('The thrift connection is closed'), { code: 'ERR_THRIFT_CLOSED' });
      if (seqid != null) process.nextTick(() => failCall(this, seqid, error));
      return;
    }
    this.connection.write(payloadOf(this.transport, this._native, data));
    if (seqid != null && this._core) this._noteRequest(seqid);
  }

  _noteRequest(seqid) {
    const requests = this._requests;
    requests.push(this.connection.bytesWritten, seqid);
    // Answered calls leave their entries behind: sweep them now and then (in place,
    // once the list has doubled), so it stays about as long as the calls in flight.
    if (requests.length >= 2048 && requests.length >= 4 * this._kept) {
      let kept = 0;
      for (let i = 0; i < requests.length; i += 2) {
        if (!isPending(this, requests[i + 1])) continue;
        requests[kept++] = requests[i];
        requests[kept++] = requests[i + 1];
      }
      requests.length = kept;
      this._kept = kept;
    }
  }

  end() {
    this.forceClose = true;
    this.connection.end();
  }

  close() {
    this.end();
  }

  destroy() {
    // As the original: destroy() drops this socket, and with max_attempts set the
    // reconnect logic dials again; only end() (or the limit) stops it.
    if (this._core && this.options.max_attempts > 0 && !this._closed) {
      this.connection.reconnect();
      return;
    }
    this.forceClose = true;
    this.connection.destroy();
  }

  /** A session was lost: replies to calls whose requests reached its socket can never
   * come, and those calls fail. Requests still unsent go out on the next session and
   * their calls stay pending, so no call is run after it was reported failed. */
  _lost(error) {
    this.connected = false;
    const cause = error || new Error('The thrift connection closed before the reply');
    if (!cause.code) cause.code = 'ECONNRESET';
    const stream = this.connection;
    if (!this._core || this._closed) return void failAll(this, cause);
    const flushed = stream.bytesWritten - stream.writableLength;
    const requests = this._requests;
    const unsent = new Set();
    let kept = 0;
    for (let i = 0; i < requests.length; i += 2) {
      if (requests[i] <= flushed) continue;
      unsent.add(requests[i + 1]);
      requests[kept++] = requests[i];
      requests[kept++] = requests[i + 1];
    }
    requests.length = kept;
    this._kept = kept;
    failAll(this, cause, (seqid) => unsent.has(seqid));
  }

  _gone() {
    if (!this.connected && !this.forceClose && this.options.max_attempts > 0) {
      // The original's words when reconnecting gives up, by the limit that ended it.
      const budget = this.options.connect_timeout;
      const why = budget > 0 && this._retryTotal >= budget ? `${this._retryTotal}ms` : `${this.options.max_attempts} attempts`;
      console.error(`thrift: Couldn't get thrift connection after ${why}.`);
    }
    this._closed = true;
    if (this.connected || !this.forceClose) this._lost();
    this.connected = false;
    this.emit('close');
  }
}

/** Core options shared by createConnection / createSSLConnection / createUDSConnection. */
function coreOptions(where, options) {
  const budget = Number(options.connect_timeout) > 0 ? Number(options.connect_timeout) : undefined;
  const attempts = Number(options.max_attempts) > 0 ? Number(options.max_attempts) : undefined;
  const maxDelay = Number(options.retry_max_delay) > 0 ? Number(options.retry_max_delay) : undefined;
  return {
    ...where,
    ...framingOptions(options.transport || TBufferedTransport, options.protocol || TBinaryProtocol, options.maxFrameSize),
    timeout: options.timeout || undefined,
    // Reconnect only when max_attempts is set, as the original; TLS too (it could not).
    reconnect: attempts ? reconnectSchedule({ maxAttempts: attempts, maxDelay, budget }) : false,
  };
}

function open(where, options = {}) {
  const dial = () => new CoreClient(coreOptions(where, options));
  const connection = new Connection(dial(), options);
  connection._dial = dial;
  Object.assign(connection, where.path ? { path: where.path } : { host: where.host, port: where.port });
  return connection;
}

/** A child process spoken to over its stdin and stdout; `command` is split at spaces,
 * as the original does. */
class StdIOConnection extends Connection {
  constructor(command, options = {}) {
    const [file, ...args] = command.split(' ');
    const framing = framingOptions(options.transport || TBufferedTransport, options.protocol || TBinaryProtocol, options.maxFrameSize);
    const dial = () => new CoreConnection({ transport: 'stdio', command: file, args, ...framing });
    super(dial(), options);
    this._dial = dial;
  }

  _attach(stream) {
    super._attach(stream);
    stream.on('exit', (code, signal) => this.emit('exit', code, signal));
  }
}

/** createClient(Service | Service.Client, connection), as the original, on a transport
 * that flushes with one copy. */
function createClient(ServiceClient, connection) {
  const Client = ServiceClient.Client || ServiceClient;
  const transport = transportFor(connection.transport, (buf, seqid) => connection.write(buf, seqid));
  const client = new Client(transport, connection.protocol);
  transport.client = client;
  connection.client = client;
  return client;
}

const createConnection = (host, port, options) => open({ host, port }, options);
const createStdIOConnection = (command, options) => new StdIOConnection(command, options);
const createUDSConnection = (path, options) => open({ path }, options);
const createSSLConnection = (host, port, options = {}) =>
  open({ host, port, ...clientTls(options) }, options);

module.exports = { Connection, StdIOConnection, createClient, createConnection, createUDSConnection, createSSLConnection, createStdIOConnection };
