'use strict';

// A benchmark peer in its own process, spoken to by lines: it prints words such as
// "ready" or "done <n>", and reads commands from stdin. Stopped by its own PID.

const { spawn } = require('node:child_process');
const path = require('node:path');

/** A Node script of bench/ as a peer. */
function startChild(script, args) {
  return startProcess(process.execPath, [path.join(__dirname, script), ...args], `${script} ${args.join(' ')}`);
}

/** Any program as a peer (the Rust ceiling, bench/ceiling.rs). */
function startProcess(command, args, label = `${path.basename(command)} ${args.join(' ')}`) {
  const child = spawn(command, args.map(String), {
    cwd: path.join(__dirname, '..'),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = [];
  let waiters = [];
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    waiters = waiters.filter((check) => !check());
  });
  return {
    pid: child.pid,
    /** Resolves with the first line (not yet taken) that starts with `word`. */
    expect(word, ms = 120_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${label}: no '${word}' within ${ms} ms`)), ms);
        const check = () => {
          const i = lines.findIndex((l) => l.startsWith(word));
          if (i < 0) return false;
          clearTimeout(timer);
          resolve(lines.splice(i, 1)[0]);
          return true;
        };
        if (!check()) waiters.push(check);
      });
    },
    send: (text) => child.stdin.write(`${text}\n`),
    stop() {
      child.stdin.end();
      setTimeout(() => child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 2000).unref();
    },
  };
}

module.exports = { startChild, startProcess };
