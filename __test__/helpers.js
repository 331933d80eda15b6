'use strict';

// Shared test helpers: bounded waits, temp paths, certificates made at test time,
// and child processes that are always stopped by their own PID.

const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');

/**
 * Resolves with the event's arguments, or rejects after `ms`. Unlike
 * `events.once`, an 'error' event does not reject a wait for another event.
 */
function waitFor(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const listener = (...args) => {
      clearTimeout(timer);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.removeListener(event, listener);
      reject(new Error(`timed out after ${ms} ms waiting for '${event}'`));
    }, ms);
    emitter.once(event, listener);
  });
}

/** Polls `predicate` until true, or fails after `ms`. */
async function until(predicate, ms = 5000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function tmpDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'connkit-'));
}

function tmpSocket(name = 's.sock') {
  return path.join(tmpDir(), name);
}

async function listening(server, ...args) {
  server.listen(...args);
  await waitFor(server, 'listening');
  return server.address();
}

/** A CA and a server certificate for `localhost` / 127.0.0.1, made with openssl. */
function makeCerts() {
  const dir = tmpDir();
  const run = (args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=connkit test CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf']);
  // A second, unrelated CA, to check that verification really checks.
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other.pem', '-days', '2', '-subj', '/CN=other CA']);
  // A client certificate without extensions: X.509 v1, which OpenSSL (and Node) accept.
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=client']);
  run(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2']);
  const read = (f) => fs.readFileSync(path.join(dir, f));
  return {
    ca: read('ca.pem'),
    cert: read('server.pem'),
    key: read('server.key'),
    otherCa: read('other.pem'),
    clientV1Cert: read('client.pem'),
    clientKey: read('client.key'),
  };
}

/**
 * Runs `source` in a new node process in the package's folder (so `require('connkit')`
 * resolves to it), bounded by `ms`.
 * Resolves with { code, signal, stdout, stderr, ms }.
 */
function runNode(source, { ms = 10000, args = [], env = process.env } = {}) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [...args, '-e', source], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      process.kill(child.pid, 'SIGKILL');
      reject(new Error(`child did not exit within ${ms} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, ms);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/**
 * The Calc service of fixtures/thrift/calc.thrift, generated for Node by Debian's
 * thrift compiler inside the package (so the generated code's require('thrift')
 * resolves), and removed after the test file (`after`: node:test's). Also the handler
 * the thrift tests serve, with `overrides` replacing its methods, and `dir`, the
 * generation's folder (for more code generated beside it).
 */
function thriftCalc(after, overrides = {}) {
  const out = fs.mkdtempSync(path.join(ROOT, 'node_modules', '.thrift-gen-'));
  after(() => fs.rmSync(out, { recursive: true, force: true }));
  execFileSync('thrift', ['--gen', 'js:node', '-o', out, path.join(__dirname, 'fixtures', 'thrift', 'calc.thrift')]);
  const Calc = require(path.join(out, 'gen-nodejs', 'Calc.js'));
  const types = require(path.join(out, 'gen-nodejs', 'calc_types.js'));
  const handler = {
    add: (a, b, result) => result(null, a + b),
    echo: (p, result) => result(null, p),
    blob: (data, result) => result(null, data),
    fail: (why, result) => result(new types.Oops({ why })),
    ping: () => {},
    slow: (ms, result) => setTimeout(() => result(null, ms), ms),
    ...overrides,
  };
  return { Calc, types, handler, dir: out };
}

module.exports = { ROOT, waitFor, until, tmpDir, tmpSocket, listening, makeCerts, runNode, thriftCalc };
