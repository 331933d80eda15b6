'use strict';

// A peer in a process of its own: a server to kill -9, a chaos proxy, a flooder.
// It talks on its IPC channel; it is always stopped by its own PID, and dies with
// its parent (it exits when the channel closes).

const { fork } = require('node:child_process');

/**
 * Starts `script` with `args`; resolves once it sends `{ ready: info }`, with
 * `{ pid, info, send, kill, exited, messages }`.
 */
function startPeer(script, args = [], { readyMs = 10_000, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = fork(script, args.map(String), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } });
    const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
    const listeners = new Set();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} not ready within ${readyMs} ms`));
    }, readyMs);
    child.on('message', (m) => {
      if (m && m.ready !== undefined) {
        clearTimeout(timer);
        resolve(peer(m.ready));
      }
      for (const l of listeners) l(m);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${signal ?? code} before it was ready`));
    });
    function peer(info) {
      return {
        pid: child.pid,
        info,
        exited,
        send: (m) => child.connected && child.send(m),
        onMessage: (l) => listeners.add(l),
        /** Stops it by its PID (SIGKILL unless told), and waits for the exit. */
        async kill(signal = 'SIGKILL') {
          if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, signal);
          return exited;
        },
      };
    }
  });
}

/** In a peer's own process: say ready, and exit when the parent goes. */
function peerReady(info) {
  process.send({ ready: info });
  process.on('disconnect', () => process.exit(0));
}

module.exports = { startPeer, peerReady };
