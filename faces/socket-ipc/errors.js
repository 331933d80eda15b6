'use strict';

// The error classes of @crussell52/socket-ipc, exported (the original documents them
// for `instanceof` checks but does not export them) and with the documented fields.

/** Base of every error about one message. */
class MessageError extends Error {
  constructor(errorMessage) {
    super(errorMessage);
    this.name = this.constructor.name;
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
