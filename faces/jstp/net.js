'use strict';

// jstp.net: JSTP over TCP on the native core, registered for reconnects by name.

const { transportModule } = require('./socket');
const transports = require('./transports');

module.exports = transports.register('net', transportModule('net', false));
