'use strict';

// A remote interface as a local object: one method per remote method, and an
// EventEmitter whose emit() also sends the event to the peer.

const { EventEmitter } = require('node:events');

class RemoteProxy extends EventEmitter {
  constructor(connection, interfaceName, methods = []) {
    super();
    this._connection = connection;
    this._interfaceName = interfaceName;
    for (const method of methods) {
      if (this[method] !== undefined) continue; // never shadow EventEmitter's own
      // (...args[, callback[, resend]])
      this[method] = (...args) => {
        let callback = null;
        let resend = false;
        const last = args[args.length - 1];
        if (typeof last === 'boolean' && typeof args[args.length - 2] === 'function') {
          [callback, resend] = args.splice(-2);
        } else if (typeof last === 'function') {
          callback = args.pop();
        }
        const call = resend ? connection.callMethodWithResend : connection.callMethod;
        call.call(connection, interfaceName, method, args, callback);
      };
    }
  }

  emit(eventName, ...eventArgs) {
    this._connection.emitRemoteEvent(this._interfaceName, eventName, eventArgs);
    this._emitLocal(eventName, eventArgs);
  }

  _emitLocal(eventName, eventArgs = []) {
    super.emit(eventName, ...eventArgs);
  }
}

module.exports = RemoteProxy;
