'use strict';

// What every part of the demo shares: waiting for events and for many calls, bounded
// in time, and the loopback address everything runs on.

const HOST = '127.0.0.1';

/** Resolves with the event's arguments; rejects on 'error' or after `ms`. */
function once(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(reject, new Error(`no '${event}' within ${ms} ms`)), ms);
    const onEvent = (...args) => done(resolve, args);
    const onError = (error) => done(reject, error);
    function done(settle, value) {
      clearTimeout(timer);
      emitter.removeListener(event, onEvent);
      emitter.removeListener('error', onError);
      settle(value);
    }
    emitter.on(event, onEvent);
    if (event !== 'error') emitter.on('error', onError);
  });
}

/** Makes `count` calls at once with `call(i, done(error, correct))`; resolves with how
 * many were answered correctly, rejects on the first error or after `ms`. */
function calls(count, call, ms = 10000) {
  return new Promise((resolve, reject) => {
    let answered = 0;
    let correct = 0;
    const timer = setTimeout(() => reject(new Error(`${count - answered} of ${count} calls unanswered after ${ms} ms`)), ms);
    for (let i = 0; i < count; i++) {
      call(i, (error, ok) => {
        if (error) {
          clearTimeout(timer);
          reject(error);
          return;
        }
        if (ok) correct++;
        if (++answered === count) {
          clearTimeout(timer);
          resolve(correct);
        }
      });
    }
  });
}

/** Closes a server whose close() takes a callback. */
const closeServer = (server) => new Promise((resolve) => server.close(() => resolve()));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports = { HOST, once, calls, closeServer, sleep };
