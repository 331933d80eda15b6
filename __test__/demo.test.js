'use strict';

// `npm start`: the demo runs every face against connkit servers, crashes and
// restarts a jstp server with nothing lost, compares throughput, prints its summary
// and exits by itself, at once; when something is lost or a step fails it says so
// and exits with 1, also at once. Its generated Thrift code is what the compiler makes.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { ROOT, tmpDir, runNode } = require('./helpers');
const { render } = require('../demo/summary');
const { Progress } = require('../demo/progress');

/** Runs the demo as `npm start` does, short, after preloading `preload` (source) if given. */
function runDemo({ preload, env = {} } = {}) {
  const args = [];
  if (preload) {
    const file = path.join(tmpDir(), 'preload.js');
    fs.writeFileSync(file, preload);
    args.push('-r', file);
  }
  const demoEnv = { ...process.env, CONNKIT_DEMO_CALLS: '300', CONNKIT_DEMO_SECONDS: '0.2', ...env };
  return runNode("require('./demo')", { ms: 120000, args, env: demoEnv });
}

/** The run took little longer than the demo says it did: nothing kept it alive. */
function exitedAtOnce({ stdout, ms }) {
  const elapsed = Number(stdout.match(/\((\d+\.\d) s\)\n$/)[1]);
  assert.ok(ms / 1000 - elapsed < 3, `exited ${(ms / 1000 - elapsed).toFixed(1)} s after its summary`);
}

test('npm start runs the demo', () => {
  const { scripts } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  assert.equal(scripts.start, 'node demo/index.js');
});

test('the demo: every face answers both clients, the restart loses nothing, the comparison runs, and it exits by itself', async () => {
  const run = await runDemo();
  const { code, stdout, stderr } = run;
  assert.equal(code, 0, stdout + stderr);
  assert.equal(stderr, '');
  for (const [face, original] of [
    ['connkit/thrift', 'thrift'],
    ['connkit/jstp', '@metarhia/jstp'],
    ['connkit/connman', 'connman'],
    ['connkit/socket-ipc', '@crussell52/socket-ipc'],
  ]) {
    for (const client of [face, original]) {
      assert.match(stdout, new RegExp(`^${face} +(TCP 127\\.0\\.0\\.1:\\d+|unix \\S+demo\\.sock) +${client} +300/300 +ok$`, 'm'));
    }
    assert.match(stdout, new RegExp(`^${face} +${original} +[\\d,]+ \\w+/s +[\\d,]+ \\w+/s +\\d+\\.\\d\\dx$`, 'm'));
  }
  // The crash came when the server had received half the first burst, with calls
  // unanswered (how many were answered by then depends on the machine's pace).
  const [, unanswered] = stdout.match(/when it had received 150 of the 300 calls made, (\d+) of them\nunanswered/);
  assert.ok(Number(unanswered) >= 150, `${unanswered} unanswered at the crash`);
  assert.match(stdout, /reconnected by itself\n\([1-9]\d* attempts\)/);
  assert.match(stdout, /^ +900 +900 +0 +0 +0 +restored +[1-9]\d*$/m); // some calls were made again
  assert.match(stdout, /^nothing lost$/m);
  assert.match(stdout, /^\[6\/6\] throughput: /m);
  assert.match(stdout, /All good: every call answered, once\. \(\d+\.\d s\)\n$/);
  exitedAtOnce(run);
  // Its temporary unix socket's directory is gone.
  const dir = path.dirname(stdout.match(/loopback and (\S+demo\.sock)/)[1]);
  assert.equal(fs.existsSync(dir), false);
});

test('the demo reports a lost call and exits with 1', async () => {
  // One call's answer never reaches its caller.
  const preload = `
    const { Connection } = require(${JSON.stringify(require.resolve('connkit/jstp'))});
    const call = Connection.prototype.callMethodWithResend;
    Connection.prototype.callMethodWithResend = function (i, m, args, cb) {
      return call.call(this, i, m, args, args[0] === 7 ? () => {} : cb);
    };`;
  const run = await runDemo({ preload });
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stdout, /^ +900 +899 +1 +0 +0 +restored +\d+$/m);
  assert.match(run.stdout, /SOMETHING WAS LOST[\s\S]*FAILED: see above\. \(\d+\.\d s\)\n$/);
  exitedAtOnce(run);
});

test('a step that fails ends the demo with its error and 1, its servers closed', async () => {
  // socket-ipc clients never connect: that step times out with its server listening.
  const preload = `require(${JSON.stringify(require.resolve('connkit/socket-ipc'))}).Client.prototype.connect = function () {};`;
  const run = await runDemo({ preload });
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stderr, /demo failed: Error: no 'connect' within 10000 ms/);
  assert.doesNotMatch(run.stderr, /still open/);
});

test('bad settings are refused by name', async () => {
  for (const [name, value, expected] of [
    ['CONNKIT_DEMO_CALLS', '0', 'a positive integer'],
    ['CONNKIT_DEMO_CALLS', '1.5', 'a positive integer'],
    ['CONNKIT_DEMO_SECONDS', 'abc', 'a positive number'],
  ]) {
    const run = await runDemo({ env: { [name]: value } });
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`${name} must be ${expected}, not '${value.replace('.', '\\.')}'`));
  }
});

test('the summary fails the demo when a call is lost, answered twice or wrong, or the crash found nothing to lose', () => {
  const scenarios = [{ face: 'connkit/jstp', over: 'TCP', count: 10, answered: { 'connkit/jstp': 10, '@metarhia/jstp': 10 } }];
  const restarted = {
    port: 1, made: 30, answered: 30, twice: 0, wrong: 0, received: 5, madeBefore: 10, unanswered: 10, rerun: 5,
    restoredSession: true, attempts: 3, downtime: 310,
  };
  const rates = [{ face: 'connkit/jstp', unit: 'calls/s', original: '@metarhia/jstp', connkit: 2, theirs: 1 }];
  const summary = (changes, faces = scenarios) =>
    render({ scenarios: faces, restarted: { ...restarted, ...changes }, rates, seconds: 1, notes: [], elapsed: 1 });
  assert.equal(summary({}).ok, true);
  assert.match(summary({}).text, /2\.00x/);
  for (const changes of [{ answered: 29 }, { twice: 1 }, { wrong: 1 }, { restoredSession: false }, { received: 0 }, { unanswered: 0 }]) {
    const { ok, text } = summary(changes);
    assert.equal(ok, false, JSON.stringify(changes));
    assert.match(text, /SOMETHING WAS LOST[\s\S]*FAILED/);
  }
  const short = summary({}, [{ ...scenarios[0], answered: { 'connkit/jstp': 9 } }]);
  assert.equal(short.ok, false);
  assert.match(short.text, /9\/10 +WRONG/);
});

test('the progress line: rewritten in place on a terminal, one line per step elsewhere', () => {
  const stream = (isTTY) => ({ isTTY, columns: 40, text: '', write(s) { this.text += s; } });
  const tty = stream(true);
  const log = stream(false);
  for (const out of [tty, log]) {
    const progress = new Progress(2, out);
    progress.step('first');
    progress.tick('12 of 100 with a detail long enough to be cut at the width');
    progress.finish('done');
    progress.step('second');
    progress.finish('also done');
  }
  assert.equal(log.text, '[1/2] first: done\n[2/2] second: also done\n');
  assert.equal(
    tty.text,
    '\r\x1b[2K[1/2] first…' +
      '\r\x1b[2K[1/2] first… 12 of 100 with a detail lo' +
      '\r\x1b[2K[1/2] first: done\n' +
      '\r\x1b[2K[2/2] second…' +
      '\r\x1b[2K[2/2] second: also done\n',
  );
});

test("the demo's generated Thrift code is what the compiler makes from demo/calc.thrift", () => {
  const dir = tmpDir();
  execFileSync('thrift', ['--gen', 'js:node', '-out', dir, path.join(ROOT, 'demo', 'calc.thrift')]);
  for (const file of ['Calc.js', 'calc_types.js']) {
    assert.equal(fs.readFileSync(path.join(dir, file), 'utf8'), fs.readFileSync(path.join(ROOT, 'demo', 'gen-nodejs', file), 'utf8'), file);
  }
});
