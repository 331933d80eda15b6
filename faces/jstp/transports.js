'use strict';

// The transports a client can reconnect over, by name ('net', 'tls', 'ws'). Each
// transport module registers itself here when it loads; the reconnector looks names
// up when it runs. Code that reconnects thus never requires the transport modules,
// which require it in turn (through client.js): no require cycle.

const registry = new Map();

/** Makes `transport` (a module with reconnect()) reachable by `name`; returns it. */
function register(name, transport) {
  registry.set(name, transport);
  return transport;
}

/** The transport registered as `name`, or undefined. */
function lookup(name) {
  return registry.get(name);
}

module.exports = { register, lookup };
