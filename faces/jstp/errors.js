'use strict';

// JSTP's error codes and RemoteError, the error a peer reports as an array on the
// wire: `[code]`, `[code, message]` or `[code, message, ...info]`.

const { deprecate } = require('node:util');

const codes = {
  // Local only: never sent.
  ERR_CALLBACK_LOST: -1,
  ERR_NO_HANDSHAKE_RESPONSE: -2,
  // Protocol errors.
  ERR_APP_NOT_FOUND: 10,
  ERR_AUTH_FAILED: 11,
  ERR_INTERFACE_NOT_FOUND: 12,
  ERR_INTERFACE_INCOMPATIBLE: 13,
  ERR_METHOD_NOT_FOUND: 14,
  ERR_NOT_A_SERVER: 15,
  ERR_INTERNAL_API_ERROR: 16,
  ERR_INVALID_SIGNATURE: 17,
};

const defaultMessages = {
  [codes.ERR_CALLBACK_LOST]: 'Connection closed before receiving callback',
  [codes.ERR_NO_HANDSHAKE_RESPONSE]: 'Connection closed before receiving handshake',
  [codes.ERR_APP_NOT_FOUND]: 'Application not found',
  [codes.ERR_AUTH_FAILED]: 'Authentication failed',
  [codes.ERR_INTERFACE_NOT_FOUND]: 'Interface not found',
  [codes.ERR_INTERFACE_INCOMPATIBLE]: 'Incompatible interface',
  [codes.ERR_METHOD_NOT_FOUND]: 'Method not found',
  [codes.ERR_NOT_A_SERVER]: 'Not a server',
  [codes.ERR_INTERNAL_API_ERROR]: 'Internal API error',
  [codes.ERR_INVALID_SIGNATURE]: 'Invalid signature',
};

const isError = (value) => Object.prototype.toString.call(value) === '[object Error]';

class RemoteError extends Error {
  constructor(code, message, info = null) {
    super();
    Error.captureStackTrace?.(this, RemoteError);
    // An own enumerable property, as in the original: a RemoteError sent as a value
    // carries its message.
    this.message = message || defaultMessages[code] || String(code);
    this.code = code;
    this.info = info;
    if (this.toJstpArray !== RemoteError.prototype.toJstpArray) {
      this.toJstpArray = deprecate(this.toJstpArray, 'toJstpArray() method is deprecated, implement toJSTP() instead');
    }
  }

  get name() {
    return 'RemoteError';
  }

  /** The wire form. A predefined code goes alone: its message is implied. */
  toJSTP() {
    if (this.toJstpArray !== RemoteError.prototype.toJstpArray) return this.toJstpArray();
    const custom = this.message !== String(this.code) && !Object.hasOwn(defaultMessages, this.code);
    if (!custom) return [this.code];
    return this.info ? [this.code, this.message, ...this.info] : [this.code, this.message];
  }

  static fromJstpArray(array) {
    return new RemoteError(array[0], array[1], array.length > 2 ? array.slice(2) : null);
  }

  /** What to send for an error a method reported: a RemoteError, an Error with
   * `toJSTP()`, an array, a code, a message, or anything else (as a string). */
  static getJstpArrayFor(error) {
    if (isError(error) && typeof error.toJSTP === 'function') return RemoteError.getJstpArrayFor(error.toJSTP());
    if (Array.isArray(error)) return error;
    if (typeof error === 'number') return [error];
    if (typeof error === 'string') return [1, error];
    return [1, String(error)];
  }

  static get defaultMessages() {
    return defaultMessages;
  }
}

RemoteError.prototype.toJstpArray = deprecate(function toJstpArray() {
  return this.toJSTP();
}, 'toJstpArray() method is deprecated, use toJSTP() instead');

module.exports = { ...codes, RemoteError, isError };
