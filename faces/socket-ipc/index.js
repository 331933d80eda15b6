'use strict';

// connkit/socket-ipc: a drop-in for @crussell52/socket-ipc 0.4.0 on connkit's core.
// Same classes, options, events and wire; see docs/socket-ipc.md for where it follows the
// original's document rather than its code.

// Each export is its own assignment, so ESM code can `import { Server } from 'connkit/socket-ipc'`.
const errors = require('./errors');

exports.Server = require('./server').Server;
exports.Client = require('./client').Client;
exports.MessageError = errors.MessageError;
exports.DecodeError = errors.DecodeError;
exports.SendError = errors.SendError;
exports.SendAfterCloseError = errors.SendAfterCloseError;
exports.NoServerError = errors.NoServerError;
exports.BadClientError = errors.BadClientError;
exports.EncodeError = errors.EncodeError;
