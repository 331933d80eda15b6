'use strict';

// connkit/connman: a drop-in for connman 1.0.0 on connkit's core. Auto-reconnecting
// TCP connections and named pools, with connman's backoff run by the core's
// reconnect engine. See docs/connman.md for where it follows the original's document
// rather than its code.

const { ManagedSocket } = require('./socket');
const { invalidType, withCode } = require('../../lib/errors');

function checkPort(port) {
  if (port === undefined || port === null || port === '' || port === 0) {
    throw withCode(TypeError, 'ERR_INVALID_ARG_TYPE', 'Port is required to connect.');
  }
  const n = typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : port;
  if (!Number.isInteger(n)) throw invalidType('port', 'of type number', port);
  if (n < 1 || n > 65535) throw withCode(RangeError, 'ERR_SOCKET_BAD_PORT', `Port should be > 0 and < 65536. Received ${port}.`);
  return n;
}

function checkCallback(fn, name) {
  if (typeof fn !== 'function') throw invalidType(name, 'of type function', fn);
}

/** One managed connection: its socket, and the entry point for the next connect. */
class ManagedConnection {
  constructor(port, host, onOpen, onData, onReset, options) {
    const portNumber = checkPort(port);
    checkCallback(onOpen, 'onConnect');
    checkCallback(onData, 'onData');
    checkCallback(onReset, 'onReset');
    this.onOpen = onOpen;
    this.onReset = onReset;
    const sock = new ManagedSocket(portNumber, host || '127.0.0.1', options);
    // getConnection() is documented to give the socket, the original gives this
    // record: the socket, with `.sock` pointing to itself, is both.
    sock.sock = sock;
    // These listeners come first, as the original registers them at creation.
    sock.on('close', () => this._reset());
    // Every error leads to a 'close'; one nobody listens for must not throw.
    sock.on('error', () => {});
    sock.on('data', onData);
    sock.on('connect', () => this.onOpen(sock));
    this.sock = sock;
  }

  _reset() {
    const next = this.onReset();
    if (typeof next === 'function') this.onOpen = next;
    else if (next) {
      // The original would crash on the next connect.
      process.emitWarning(`onReset returned ${typeof next}, not a function: onConnect stays the entry point`, {
        code: 'CONNKIT_CONNMAN_BAD_RESET',
      });
    }
  }
}

class Pool {
  constructor() {
    this.conns = [];
  }

  /** The original passes its arguments straight on: the 4th is onData, the 5th onReset. */
  addConnection(port, host, onConnect, onData, onReset, options) {
    this.conns.push(new ManagedConnection(port, host, onConnect, onData, onReset, options).sock);
  }

  getConnections() {
    return this.conns;
  }

  disconnect() {
    for (const sock of this.conns) sock.disconnect();
  }
}

const pools = new Map();
const conns = new Map();

function connect(port, host, onConnect, onData, onReset, options) {
  const conn = new ManagedConnection(port, host, onConnect, onData, onReset, options);
  conns.set(host + ':' + port, conn.sock);
}

function getConnection(port, host) {
  return conns.get(host + ':' + port);
}

function createPool(poolName) {
  const pool = new Pool();
  pools.set(String(poolName), pool);
  return pool;
}

function getPool(poolName) {
  return pools.get(String(poolName));
}

function disconnectAll() {
  for (const pool of pools.values()) pool.disconnect();
  for (const sock of conns.values()) sock.disconnect();
}

module.exports = { connect, getConnection, createPool, getPool, disconnectAll };
