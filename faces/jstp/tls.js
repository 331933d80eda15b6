'use strict';

// jstp.tls: JSTP over TLS on the native core, registered for reconnects by name.

const { transportModule } = require('./socket');
const transports = require('./transports');

module.exports = transports.register('tls', transportModule('tls', true));
