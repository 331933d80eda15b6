'use strict';

// The package as users get it: typings that compile, the exports map, and a
// packed tarball that installs into an empty project and loads.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { ROOT, tmpDir } = require('./helpers');

const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

test('typings compile under tsc --strict, and a misuse does not', () => {
  const ok = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, 'types', 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);

  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'bad.ts'), "import { createConnection } from 'connkit';\ncreateConnection({ port: '80' }).write(42);\n");
  const config = JSON.parse(fs.readFileSync(path.join(__dirname, 'types', 'tsconfig.json'), 'utf8'));
  config.files = ['bad.ts'];
  config.compilerOptions.paths = { connkit: [path.join(ROOT, 'index.d.ts')] };
  config.compilerOptions.typeRoots = [path.join(ROOT, 'node_modules', '@types')];
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
  const bad = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stdout, /bad\.ts\(2,20\): error TS2322: Type 'string' is not assignable to type 'number'/);
  assert.match(bad.stdout, /bad\.ts\(2,40\): error TS2345/);
});

test('every face is in the exports map; internals are not', () => {
  assert.equal(typeof require('connkit/socket-ipc').Server, 'function');
  assert.equal(typeof require('connkit/connman').connect, 'function');
  assert.equal(typeof require('connkit/jstp').net.createServer, 'function');
  assert.equal(typeof require('connkit/thrift').createConnection, 'function');
  assert.throws(() => require('connkit/lib/native'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
});

test('npm pack, install into an empty project (building with cargo), require works', { timeout: 600000 }, () => {
  const work = tmpDir();
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' }).trim();
  const tarball = path.join(work, packed.split('\n').pop());
  const project = path.join(work, 'app');
  fs.mkdirSync(project);
  // npm 11 runs a dependency's install script only when the project allows it.
  const app = { name: 'app', version: '1.0.0', private: true, allowScripts: { connkit: true } };
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify(app));
  // Share the build cache: the build is the same crate at the same lockfile.
  const env = { ...process.env, CARGO_TARGET_DIR: path.join(ROOT, 'target') };
  const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', tarball], {
    cwd: project,
    env,
    encoding: 'utf8',
  });
  assert.equal(install.status, 0, install.stdout + install.stderr);
  const installed = path.join(project, 'node_modules', 'connkit');
  assert.ok(fs.readdirSync(installed).some((f) => f.endsWith('.node')), 'the addon was built');
  const run = spawnSync(
    process.execPath,
    // connkit/jstp needs its dependencies (semver, websocket) installed with it.
    ['-e', "const ck = require('connkit'); console.log(typeof ck.createConnection, typeof ck.Server, typeof require('connkit/jstp').Connection)"],
    { cwd: project, encoding: 'utf8' },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), 'function function function');
});
