'use strict';

module.exports = require('./socket').transportModule('net', false);
