'use strict';

// connkit as an application gets it: the packages `npm pack`ed, installed into a
// fresh application with cargo absent from PATH, and there a round trip on connkit's
// own API and one call through each face (fixtures/install/smoke.js). Once with the
// host's prebuilt platform package, once without (the documented source build).

const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { ROOT, tmpDir } = require('./helpers');
const { TARGETS, platformName, packageName, addonFile } = require('../lib/platform');
const { platformManifest, platformReadme, optionalDependencies } = require('../scripts/platform-packages');

const HOST = platformName();
const { version, peerDependencies } = require('../package.json');
const tarballs = {};
let work;
let noCargo; // the environment of a machine without Rust

const pack = (cwd, ...flags) => {
  const out = execFileSync('npm', ['pack', '--silent', ...flags, '--pack-destination', work], { cwd, encoding: 'utf8' });
  return path.join(work, out.trim().split('\n').pop());
};

// PATH as on a machine without Rust: no directory holding cargo, and node, npm and npx
// by links of their own (in case they share a directory with it).
function withoutCargo() {
  const bin = path.join(work, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const dirs = process.env.PATH.split(path.delimiter).filter((dir) => dir && !fs.existsSync(path.join(dir, 'cargo')));
  for (const tool of ['npm', 'npx']) {
    const found = process.env.PATH.split(path.delimiter).map((dir) => path.join(dir, tool)).find((file) => fs.existsSync(file));
    fs.symlinkSync(fs.realpathSync(found), path.join(bin, tool));
  }
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  const env = { ...process.env, PATH: [bin, ...dirs].join(path.delimiter) };
  delete env.CARGO_TARGET_DIR;
  assert.equal(spawnSync('cargo', ['--version'], { env }).error?.code, 'ENOENT', 'cargo is out of reach');
  return env;
}

before(() => {
  work = tmpDir();
  const manifest = fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8');
  tarballs.connkit = pack(ROOT);
  assert.equal(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'), manifest, 'npm pack leaves package.json as it was');
  // The host's platform package, filled as `npm run prebuild` fills it.
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.js'), '--platform-package'], { cwd: ROOT, stdio: 'ignore' });
  tarballs.platform = pack(path.join(ROOT, 'npm', HOST));
  // A thrift of another patch version than connkit's devDependency (0.24.0). npm has
  // none yet, so it is 0.24.0's files under the version 0.24.1: what matters is that
  // connkit/thrift runs on the application's copy, whichever it is.
  const thrift = path.join(work, 'thrift');
  fs.cpSync(path.join(ROOT, 'node_modules', 'thrift'), thrift, { recursive: true });
  const thriftManifest = JSON.parse(fs.readFileSync(path.join(thrift, 'package.json'), 'utf8'));
  assert.equal(thriftManifest.version, '0.24.0');
  fs.writeFileSync(path.join(thrift, 'package.json'), JSON.stringify({ ...thriftManifest, version: '0.24.1' }));
  tarballs.thrift = pack(thrift, '--ignore-scripts');
  noCargo = withoutCargo();
});

/** A fresh application with the thrift code it generated, and the smoke script. */
function makeApp(name) {
  const app = path.join(work, name);
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  execFileSync('thrift', ['--gen', 'js:node', '-o', app, path.join(__dirname, 'fixtures', 'thrift', 'calc.thrift')]);
  fs.copyFileSync(path.join(__dirname, 'fixtures', 'install', 'smoke.js'), path.join(app, 'smoke.js'));
  return app;
}

function npmInstall(app, env, ...specs) {
  const started = process.hrtime.bigint();
  const run = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...specs], { cwd: app, env, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { ...run, output: run.stdout + run.stderr, seconds };
}

function smoke(app, env) {
  const run = spawnSync(process.execPath, ['smoke.js'], { cwd: app, env, encoding: 'utf8', timeout: 60000 });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  return JSON.parse(run.stdout);
}

// The addon file `require('connkit')` loaded, relative to the app.
function loadedAddon(app, env) {
  const source = "require('connkit'); console.log(Object.keys(require.cache).filter((file) => file.endsWith('.node')).join())";
  const run = spawnSync(process.execPath, ['-e', source], { cwd: app, env, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return path.relative(app, run.stdout.trim());
}

const EXPECTED = { core: 'hello', thrift: [0x7fffffff, -5], jstp: 42, connman: 'ping', socketIpc: { echoed: 'there' } };

test('with the prebuilt platform package: no compiler, no install script, every face works', { timeout: 300000 }, (t) => {
  const env = noCargo;
  const app = makeApp('prebuilt');
  const install = npmInstall(app, env, tarballs.connkit, tarballs.platform, tarballs.thrift);
  assert.equal(install.status, 0, install.output);
  t.diagnostic(`npm install connkit with ${packageName(HOST)}: ${install.seconds.toFixed(1)} s`);

  // npm 11 names every dependency whose install script the app has not allowed.
  assert.doesNotMatch(install.output, /install-scripts|connkit@[^\s]+ \(/);
  const installed = path.join(app, 'node_modules', 'connkit');
  const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
  for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(manifest.scripts[script], undefined, script);
  assert.deepEqual(fs.readdirSync(installed).filter((file) => file.endsWith('.node') || file === 'target'), [], 'nothing was built');
  assert.ok(fs.existsSync(path.join(app, 'node_modules', packageName(HOST), addonFile(HOST))));

  // One thrift in the tree, the application's, and connkit/thrift uses it.
  const thrifts = JSON.parse(execFileSync('npm', ['query', '#thrift'], { cwd: app, env, encoding: 'utf8' }));
  assert.deepEqual(thrifts.map((node) => [node.location, node.version]), [['node_modules/thrift', '0.24.1']]);

  assert.deepEqual(smoke(app, env), EXPECTED);
  assert.equal(loadedAddon(app, env), path.join('node_modules', packageName(HOST), addonFile(HOST)));

  // A platform package of another version is refused, not half used.
  const platformManifestFile = path.join(app, 'node_modules', packageName(HOST), 'package.json');
  const platform = JSON.parse(fs.readFileSync(platformManifestFile, 'utf8'));
  fs.writeFileSync(platformManifestFile, JSON.stringify({ ...platform, version: '0.0.1' }));
  const stale = spawnSync(process.execPath, ['-e', "require('connkit')"], { cwd: app, env, encoding: 'utf8' });
  assert.match(stale.stderr, /ERR_CONNKIT_NATIVE_VERSION/);
  assert.ok(stale.stderr.includes(`${packageName(HOST)} is version 0.0.1, but connkit is ${version}`), stale.stderr);
});

test('without it: the error names both remedies, and the documented source build works', { timeout: 900000 }, (t) => {
  const env = noCargo;
  const app = makeApp('source');
  // No platform package: npm finds none for connkit's optional dependency, and goes on.
  const install = npmInstall(app, env, tarballs.connkit);
  assert.equal(install.status, 0, install.output);
  assert.doesNotMatch(install.output, /install-scripts/);
  // thrift is an optional peer: connkit/thrift, and only it, asks for it.
  const noThrift = spawnSync(process.execPath, ['-e', "require('connkit/thrift')"], { cwd: app, env, encoding: 'utf8' });
  assert.match(noThrift.stderr, /ERR_CONNKIT_THRIFT_MISSING/);
  assert.ok(noThrift.stderr.includes(`npm install thrift@'${peerDependencies.thrift}'`), noThrift.stderr);
  assert.equal(npmInstall(app, env, tarballs.thrift).status, 0);

  const load = spawnSync(process.execPath, ['-e', "require('connkit')"], { cwd: app, env, encoding: 'utf8' });
  assert.notEqual(load.status, 0);
  assert.match(load.stderr, /ERR_CONNKIT_NATIVE_MISSING/);
  assert.ok(load.stderr.includes(`npm install ${packageName(HOST)}@${version}`), load.stderr);
  assert.ok(load.stderr.includes('npx connkit-build'), load.stderr);

  const cargoless = spawnSync('npx', ['connkit-build'], { cwd: app, env, encoding: 'utf8' });
  assert.notEqual(cargoless.status, 0);
  assert.match(cargoless.stderr, /cannot run cargo/);
  assert.ok(cargoless.stderr.includes(`npm install ${packageName(HOST)}@${version}`), cargoless.stderr);
  assert.ok(cargoless.stderr.includes('https://rustup.rs'), cargoless.stderr);

  // With cargo: the same command builds it. The build cache is shared with the
  // repository's (the same crates at the same lockfile), so only connkit compiles.
  const started = process.hrtime.bigint();
  const build = spawnSync('npx', ['connkit-build'], {
    cwd: app,
    env: { ...process.env, CARGO_TARGET_DIR: path.join(ROOT, 'target') },
    encoding: 'utf8',
  });
  assert.equal(build.status, 0, build.stdout + build.stderr);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  t.diagnostic(`npm install connkit without a platform package: ${install.seconds.toFixed(1)} s, then npx connkit-build: ${seconds.toFixed(1)} s`);
  assert.ok(fs.existsSync(path.join(app, 'node_modules', 'connkit', addonFile(HOST))));

  assert.deepEqual(smoke(app, env), EXPECTED);

  // A build from source is loaded before a platform package: the way to force one.
  assert.equal(npmInstall(app, env, tarballs.platform).status, 0);
  assert.ok(fs.existsSync(path.join(app, 'node_modules', packageName(HOST), addonFile(HOST))));
  assert.equal(loadedAddon(app, env), path.join('node_modules', 'connkit', addonFile(HOST)));
});

test('an application with a thrift outside connkit\'s range is refused at install, not given two copies', { timeout: 300000 }, () => {
  const env = noCargo;
  const app = makeApp('old-thrift');
  const install = npmInstall(app, env, 'thrift@0.23.0', tarballs.connkit, tarballs.platform);
  assert.notEqual(install.status, 0, install.output);
  assert.match(install.output, /ERESOLVE/);
  assert.ok(install.output.includes(`peerOptional thrift@"${peerDependencies.thrift}" from connkit@${version}`), install.output);

  // Forced through, it works on that copy, and says it is outside the range.
  const forced = npmInstall(app, env, '--legacy-peer-deps', 'thrift@0.23.0', tarballs.connkit, tarballs.platform);
  assert.equal(forced.status, 0, forced.output);
  const load = spawnSync(process.execPath, ['-e', "require('connkit/thrift')"], { cwd: app, env, encoding: 'utf8' });
  assert.equal(load.status, 0, load.stderr);
  assert.match(load.stderr, /\[CONNKIT_THRIFT_VERSION\] Warning: connkit\/thrift supports thrift \^0\.24\.0; this application has 0\.23\.0/);
});

test('platform packages, optionalDependencies and the release workflow all follow lib/platform.js', () => {
  const main = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  assert.deepEqual(main.optionalDependencies, optionalDependencies(main));
  const dirs = fs.readdirSync(path.join(ROOT, 'npm')).sort();
  assert.deepEqual(dirs, Object.keys(TARGETS).sort());
  for (const name of dirs) {
    const dir = path.join(ROOT, 'npm', name);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')), platformManifest(name, main), name);
    assert.equal(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'), platformReadme(name), name);
  }

  // The workflow's matrix: one row per platform, with its target.
  const workflow = fs.readFileSync(path.join(ROOT, '.github', 'workflows', 'release.yml'), 'utf8');
  const rows = [...workflow.matchAll(/platform: ([\w-]+), +target: ([\w-]+)/g)].map(([, name, triple]) => [name, triple]);
  assert.deepEqual(Object.fromEntries(rows), TARGETS);
  assert.equal(rows.length, Object.keys(TARGETS).length);

  // Nothing unstable at build time: no cargo config of our own, whose rustflags a
  // user's RUSTFLAGS would silently replace.
  assert.ok(!fs.existsSync(path.join(ROOT, '.cargo')));
});
