'use strict';

// The ceilings the benchmark cases are measured against, in the same run:
// - transport: bench/ceiling.rs, the case's traffic with Rust on tokio at both ends,
//   each in a process of its own (built here on first use, cargo's cache after);
// - JS work: a loop doing, without I/O, what a face does in JS per message (encode,
//   decode, dispatch). Its two ends run in two processes in the case, in parallel,
//   so the slower end's rate bounds the case.

const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { startProcess } = require('./child');
const { CLIENT, SERVER } = require('./cpus');

const ROOT = path.join(__dirname, '..');
let binary;

function ceilingBinary() {
  if (!binary) {
    execFileSync('cargo', ['build', '--release', '--example', 'ceiling', '--locked', '--quiet'], { cwd: ROOT, stdio: 'inherit' });
    binary = path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'release', 'examples', 'ceiling');
  }
  return binary;
}

const numbers = (line) => line.split(' ').slice(1).map(Number);

/**
 * Starts `ceiling serve <args>`, runs `ceiling <client...>` against it; its "done"
 * numbers. `pinned`: on the cores bench/cpus.js gives latency cases.
 */
async function transport(serveArgs, client, pinned = false) {
  const [command, prefix] = pinned ? ['taskset', (cpu) => ['-c', cpu, ceilingBinary()]] : [ceilingBinary(), () => []];
  const server = startProcess(command, [...prefix(SERVER), 'serve', ...serveArgs]);
  const [where] = (await server.expect('ready')).split(' ').slice(1);
  const run = startProcess(command, [...prefix(CLIENT), client[0], where, ...client.slice(1)]);
  const done = numbers(await run.expect('done'));
  run.stop();
  server.stop();
  return done;
}

/** Frames/s of `frames` length-prefixed frames of `size` bytes one way over `addr`. */
async function oneWay(addr, size, frames) {
  const [seconds] = await transport(['count', addr, frames], ['oneway', size, frames]);
  return frames / seconds;
}

/** p50 and p99 µs of `n` sequential round trips of `size`-byte frames over `addr`. */
async function pingPong(addr, size, n) {
  const [p50, p99] = await transport(['echo', addr], ['pingpong', size, n], true);
  return { p50, p99 };
}

/** Seconds to echo `n` writes of `size` bytes over TCP, at most `window` bytes in flight. */
async function stream(size, n, window) {
  const [seconds] = await transport(['echo', 0], ['stream', size, n, window]);
  return seconds;
}

/** A Rust echo server on a TCP port, for a case's own client: { port, stop }. */
async function echoServer() {
  const server = startProcess(ceilingBinary(), ['serve', 'echo', 0]);
  const port = Number((await server.expect('ready')).split(' ')[1]);
  return { port, stop: () => server.stop() };
}

/** Operations per second of `op` (called with its index), after a warm-up. */
function jsRate(op, n) {
  for (let i = 0; i < Math.min(n, 20_000); i++) op(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) op(i);
  return n / (Number(process.hrtime.bigint() - started) / 1e9);
}

module.exports = { oneWay, pingPong, stream, echoServer, jsRate };
