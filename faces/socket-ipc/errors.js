'use strict';

// The error classes of @crussell52/socket-ipc, exported (the original documents them
// for `instanceof` checks but does not export them) and with the documented fields.
// Each also has a `code`, as Node's errors do (the original's have none), so that
// code handling errors of every kind can tell them apart without `instanceof`.

/** `code` of each class, by name. */
const CODES = {
  MessageError: 'ERR_SOCKET_IPC_MESSAGE',
  DecodeError: 'ERR_SOCKET_IPC_DECODE',
  SendError: 'ERR_SOCKET_IPC_SEND',
  SendAfterCloseError: 'ERR_SOCKET_IPC_SEND_AFTER_CLOSE',
  NoServerError: 'ERR_SOCKET_IPC_NO_SERVER',
  BadClientError: 'ERR_SOCKET_IPC_BAD_CLIENT',
  EncodeError: 'ERR_SOCKET_IPC_ENCODE',
};

/** Base of every error about one message. */
class MessageError extends Error {
  constructor(errorMessage) {
    super(errorMessage);
    this.name = this.constructor.name;
    this.code = CODES[this.name] ?? CODES.MessageError;
  }
}

/** Incoming data could not be decoded. */
class DecodeError extends MessageError {
  constructor(errorMessage, rawData, clientId) {
    super(errorMessage);
    this.rawData = rawData;
    this.clientId = clientId;
  }
}

/** A message could not be sent. */
class SendError extends MessageError {
  constructor(errorMessage, message, topic) {
    super(errorMessage);
    this.sentTopic = topic;
    this.sentMessage = message;
  }
}

class SendAfterCloseError extends SendError {}
class NoServerError extends SendError {}

class BadClientError extends SendError {
  constructor(errorMessage, message, topic, clientId) {
    super(errorMessage, message, topic);
    this.clientId = clientId;
  }
}

class EncodeError extends SendError {
  constructor(errorMessage, msgWrapper) {
    super(errorMessage, msgWrapper.message, msgWrapper.topic);
  }
}

module.exports = { MessageError, DecodeError, SendError, SendAfterCloseError, NoServerError, BadClientError, EncodeError };
