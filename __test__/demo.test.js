'use strict';

// `npm start`: the demo runs every face against connkit servers, crashes and
// restarts a jstp server with nothing lost, compares throughput, prints its summary
// and exits by itself; its generated Thrift code is what the compiler makes today.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { ROOT, tmpDir, runNode } = require('./helpers');
const { render } = require('../demo/summary');

/** Runs the demo as `npm start` does, short. */
const runDemo = () =>
  runNode("require('./demo')", { ms: 120000, env: { ...process.env, CONNKIT_DEMO_CALLS: '300', CONNKIT_DEMO_SECONDS: '0.2' } });

test('npm start runs the demo', () => {
  const { scripts } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  assert.equal(scripts.start, 'node demo/index.js');
});

test('the demo: every face answers both clients, the restart loses nothing, the comparison runs, and it exits by itself', async () => {
  const { code, stdout, stderr } = await runDemo();
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
  assert.match(stdout, /^ +900 +900 +0 +0 +0 +restored$/m);
  assert.match(stdout, /^nothing lost$/m);
  assert.match(stdout, /^\[6\/6\] throughput: /m);
  assert.match(stdout, /All good: every call answered, once\.\n$/);
  // Its temporary unix socket's directory is gone.
  const dir = path.dirname(stdout.match(/loopback and (\S+demo\.sock)/)[1]);
  assert.equal(fs.existsSync(dir), false);
});

test('the summary fails the demo when a call is lost, answered twice or wrong', () => {
  const scenarios = [{ face: 'connkit/jstp', over: 'TCP', count: 10, answered: { 'connkit/jstp': 10, '@metarhia/jstp': 10 } }];
  const restarted = { port: 1, made: 30, inFlight: 10, answered: 30, twice: 0, wrong: 0, restoredSession: true, attempts: 3, downtime: 300 };
  const rates = [{ face: 'connkit/jstp', unit: 'calls/s', original: '@metarhia/jstp', connkit: 2, theirs: 1 }];
  const summary = (changes) => render({ scenarios, restarted: { ...restarted, ...changes }, rates, seconds: 1, notes: [] });
  assert.equal(summary({}).ok, true);
  assert.match(summary({}).text, /2\.00x/);
  for (const changes of [{ answered: 29 }, { twice: 1 }, { wrong: 1 }, { restoredSession: false }]) {
    const { ok, text } = summary(changes);
    assert.equal(ok, false, JSON.stringify(changes));
    assert.match(text, /SOMETHING WAS LOST[\s\S]*FAILED/);
  }
  const short = render({ scenarios: [{ ...scenarios[0], answered: { 'connkit/jstp': 9 } }], restarted, rates, seconds: 1, notes: [] });
  assert.equal(short.ok, false);
  assert.match(short.text, /9\/10 +LOST/);
});

test("the demo's generated Thrift code is what the compiler makes from demo/calc.thrift", () => {
  const dir = tmpDir();
  execFileSync('thrift', ['--gen', 'js:node', '-out', dir, path.join(ROOT, 'demo', 'calc.thrift')]);
  for (const file of ['Calc.js', 'calc_types.js']) {
    assert.equal(fs.readFileSync(path.join(dir, file), 'utf8'), fs.readFileSync(path.join(ROOT, 'demo', 'gen-nodejs', file), 'utf8'), file);
  }
});
