'use strict';

// `npm install` runs this: build the addon in release mode with cargo and put it
// where lib/native.js looks. Needs only cargo, so it also works when connkit is
// installed as a dependency (where the napi CLI, a devDependency, is absent).

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { platformName } = require('../lib/platform');

const root = path.join(__dirname, '..');
const out = path.join(root, `connkit.${platformName()}.node`);
const built = {
  linux: 'libconnkit.so',
  darwin: 'libconnkit.dylib',
  win32: 'connkit.dll',
}[process.platform];

const args = ['build', '--release', '--lib', '--locked'];
console.log(`connkit: cargo ${args.join(' ')}`);
const result = spawnSync('cargo', args, { cwd: root, stdio: 'inherit' });
if (result.error) {
  console.error(`connkit: cannot run cargo (${result.error.message}); install Rust from rustup.rs`);
  process.exit(1);
}
if (result.status !== 0) process.exit(result.status);

const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
// Into place by rename: a process that has the old addon loaded keeps its copy (an
// overwrite in place would change the code under it, and it would crash).
const staged = `${out}.${process.pid}.tmp`;
fs.copyFileSync(path.join(targetDir, 'release', built), staged);
fs.renameSync(staged, out);
console.log(`connkit: built ${path.relative(root, out)}`);
