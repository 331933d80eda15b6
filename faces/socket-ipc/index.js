'use strict';

// connkit/socket-ipc: a drop-in for @crussell52/socket-ipc 0.4.0 on connkit's core.
// Same classes, options, events and wire; see the README for where it follows the
// original's document rather than its code.

const { Server } = require('./server');
const { Client } = require('./client');
const errors = require('./errors');

module.exports = { Server, Client, ...errors };
