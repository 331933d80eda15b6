'use strict';

// A server run by the core (TCP, TLS or unix socket), with the surface of a Node
// `net.Server`: listen(), address(), close(), ref()/unref(), maxConnections, and the
// events listening, connection, drop, error and close.

const { Kind, register, unregister, Handle, native } = require('./bridge');
const { Connection, Accepted } = require('./connection');
const { listenOptions, plainObject } = require('./options');
const { fromCore, invalidType, withCode } = require('./errors');
const { BIND, EVENT, ESTABLISHED, CLIENT_ERROR } = require('./symbols');

// Node's rule for listen()'s positional backlog: the second argument if it is a
// positive number, else the third.
function backlogOf(args) {
  const number = (x) => (Number(x) > 0 ? Math.trunc(Number(x)) : undefined);
  return number(args[1]) ?? number(args[2]);
}

class Server extends Handle {
  constructor(options, connectionListener) {
    super();
    if (typeof options === 'function') [options, connectionListener] = [{}, options];
    this._options = { ...plainObject(options, 'options') };
    listenOptions(this._options, { located: false });
    if (connectionListener !== undefined) {
      if (typeof connectionListener !== 'function') throw invalidType('connectionListener', 'of type function', connectionListener);
      this.on('connection', connectionListener);
    }
    this._id = null;
    this._address = null;
    this._connections = new Set();
    this._closing = false;
    this._listenerClosed = false;
    this.listening = false;
    this._maxConnections = undefined;
    this.maxConnections = this._options.maxConnections;
  }

  /** As Node's: past this many connections, new ones are closed at once and 'drop'
   * says who. The core counts and closes them, so a busy JS thread does not let
   * them pile up. */
  get maxConnections() {
    return this._maxConnections;
  }

  set maxConnections(max) {
    this._maxConnections = max;
    if (this._id !== null) native.setMaxConnections(this._id, maxOf(max));
  }

  /**
   * listen([port[, host[, backlog]]][, callback]) | listen(path[, backlog][, callback]) |
   * listen({ port, host, path, backlog }[, callback])
   */
  listen(...args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
    let where = {};
    if (typeof args[0] === 'object' && args[0] !== null) where = args[0];
    else if (typeof args[0] === 'string' && !/^\d+$/.test(args[0])) where = { path: args[0], backlog: backlogOf(args) };
    else if (args[0] !== undefined) {
      where = { port: Number(args[0]), host: typeof args[1] === 'string' ? args[1] : undefined, backlog: backlogOf(args) };
    }
    if (this._id !== null) {
      const err = withCode(Error, 'ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
      throw err;
    }
    const config = listenOptions({ ...this._options, ...where });
    if (callback) this.once('listening', callback);
    this._id = this[BIND](config);
    if (this._maxConnections != null) native.setMaxConnections(this._id, maxOf(this._maxConnections));
    register(this._id, this);
    this._liveness.activate(true);
    return this;
  }

  /** Starts the core's listener; returns its id. */
  [BIND](config) {
    this._framed = config.connection.framing.kind !== 'raw';
    this._allowHalfOpen = config.connection.allowHalfOpen === true;
    return native.listen(config);
  }

  address() {
    return this._address;
  }

  /** Stops accepting; 'close' follows once every accepted connection has closed. */
  close(callback) {
    if (callback) {
      if (this._id === null || this._listenerClosed) {
        process.nextTick(callback, withCode(Error, 'ERR_SERVER_NOT_RUNNING', 'Server is not running.'));
        return this;
      }
      this.once('close', callback);
    }
    if (this._id !== null && !this._closing) {
      this._closing = true;
      native.closeServer(this._id);
    }
    return this;
  }

  get connections() {
    return this._connections.size;
  }

  getConnections(callback) {
    process.nextTick(callback, null, this._connections.size);
    return this;
  }

  [EVENT](kind, batch, start, end) {
    switch (kind) {
      case Kind.Listening:
        this._address = JSON.parse(batch.toString('utf8', start, end));
        this.listening = true;
        this.emit('listening');
        break;
      case Kind.Connection: {
        const id = batch.readUInt32LE(start);
        const addresses = JSON.parse(batch.toString('utf8', start + 4, end));
        const conn = new Connection(new Accepted(id, this._framed, this._allowHalfOpen, addresses, this));
        this._connections.add(conn);
        conn.once('close', () => {
          this._connections.delete(conn);
          this._maybeClosed();
        });
        break;
      }
      case Kind.Drop:
        this._dropped(JSON.parse(batch.toString('utf8', start, end)));
        break;
      case Kind.Error:
        this.emit('error', fromCore(JSON.parse(batch.toString('utf8', start, end))));
        break;
      case Kind.ServerClose:
        this.listening = false;
        this._listenerClosed = true;
        unregister(this._id);
        this._liveness.activate(false);
        this._maybeClosed();
        break;
    }
  }

  /** An accepted connection finished its handshake. One that finishes after close()
   * is dropped unannounced, as a net.Server's backlog is when its listener closes. */
  [ESTABLISHED](conn) {
    if (!this._closing) {
      this.emit('connection', conn);
      return;
    }
    // Nobody was told of it, so nobody listens: its last errors go nowhere.
    conn.on('error', () => {});
    conn.destroy();
  }

  /** Over `maxConnections` the core closed a connection: 'drop' says who, as Node's. */
  _dropped(addresses) {
    this.emit('drop', {
      localAddress: addresses.localAddress,
      localPort: addresses.localPort,
      localFamily: addresses.remoteFamily, // one socket, one family
      remoteAddress: addresses.remoteAddress,
      remotePort: addresses.remotePort,
      remoteFamily: addresses.remoteFamily,
    });
  }

  [CLIENT_ERROR](err, conn) {
    if (this.listenerCount('tlsClientError') > 0) this.emit('tlsClientError', err, conn);
  }

  _maybeClosed() {
    if (this._listenerClosed && this._connections.size === 0 && !this._emittedClose) {
      this._emittedClose = true;
      this.emit('close');
    }
  }
}

/** `maxConnections` for the core: Node treats null, undefined and NaN as no limit. */
function maxOf(max) {
  return typeof max === 'number' && max >= 0 ? Math.floor(max) : -1;
}

function createServer(options, connectionListener) {
  return new Server(options, connectionListener);
}

module.exports = { Server, createServer };
