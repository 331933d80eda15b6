'use strict';

module.exports = require('./socket').transportModule('tls', true);
