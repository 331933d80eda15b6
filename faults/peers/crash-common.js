'use strict';

// Shared by the crash scenario's servers (and the scenario). Each message a server's
// application gets is written to a log file at once (write(2), no JS buffering), so
// what a server received survives its kill -9 and the scenario can count deliveries
// and duplicates across the server's lives.

const fs = require('node:fs');
const { requireOriginalJstp } = require('../lib/originals');

function deliveryLog(file) {
  const fd = fs.openSync(file, 'a');
  return (id) => fs.writeSync(fd, `${id}\n`);
}

/** connkit/jstp or the original, by `which`. */
function requireJstp(which) {
  return which === 'original' ? requireOriginalJstp() : require('connkit/jstp');
}

module.exports = { deliveryLog, requireJstp };
