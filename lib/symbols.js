'use strict';

// The methods lib's modules call on each other's objects that are not public API:
// keyed by symbols, so they never clash with a user's or a face's properties and
// show where one module reaches into another.

module.exports = {
  /** `handle[EVENT](kind, batch, start, end)`: an event for a handle (bridge.js). */
  EVENT: Symbol('connkit.event'),
  /** `server[BIND](config)`: starts the core's listener, returns its id (a subclass
   * such as WebServer starts another kind). */
  BIND: Symbol('connkit.bind'),
  /** `server[ESTABLISHED](conn)`: an accepted connection finished its handshake. */
  ESTABLISHED: Symbol('connkit.established'),
  /** `server[CLIENT_ERROR](err, conn)`: an accepted connection failed its handshake. */
  CLIENT_ERROR: Symbol('connkit.clientError'),
};
