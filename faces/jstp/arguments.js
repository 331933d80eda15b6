'use strict';

// The original's calling convention for connect, reconnect and their kin:
// (...args[, callback]), the callback being the last argument when it is a function.

/** Removes and returns the trailing callback of `args`, or null when there is none. */
const popCallback = (args) => (typeof args[args.length - 1] === 'function' ? args.pop() : null);

module.exports = { popCallback };
