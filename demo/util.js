'use strict';

// What every part of the demo shares: waits bounded in time, many calls at once, and
// the loopback address everything runs on.

const HOST = '127.0.0.1';

/**
 * Resolves with the arguments of the first `event` that `accept` takes; rejects
 * after `ms`, and on 'error' unless `errors` is false.
 */
function once(emitter, event, { ms = 10000, accept = () => true, errors = true } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(reject, new Error(`no '${event}' within ${ms} ms`)), ms);
    const onEvent = (...args) => accept(...args) && done(resolve, args);
    const onError = (error) => done(reject, error);
    function done(settle, value) {
      clearTimeout(timer);
      emitter.removeListener(event, onEvent);
      emitter.removeListener('error', onError);
      settle(value);
    }
    emitter.on(event, onEvent);
    if (errors && event !== 'error') emitter.on('error', onError);
  });
}

/** Listens on `where` (a port on HOST, or a socket file for servers that take it in
 * their options); rejects on 'error', e.g. EADDRINUSE. */
function listen(server, ...where) {
  const listening = once(server, 'listening');
  server.listen(...where);
  return listening.catch((error) => {
    throw new Error(`cannot listen on ${where.join(':') || 'its socket file'}: ${error.message}`);
  });
}

/** Closes a server whose close() takes a callback. */
const closeServer = (server) => new Promise((resolve) => server.close(() => resolve()));

/**
 * Makes `count` calls at once with `call(i, done(error, correct))`; resolves with how
 * many were answered correctly, rejects on the first error or after `ms`.
 */
function calls(count, call, ms = 20000) {
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

/** A callback for `add(i, 1)` that reports whether the sum came back right. */
const sumOf = (i, done) => (error, sum) => done(error, sum === i + 1);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a rejection with `message` after `ms`. */
function within(promise, ms, message) {
  let timer;
  const late = new Promise((resolve, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

module.exports = { HOST, once, listen, closeServer, calls, sumOf, sleep, within };
