#!/usr/bin/env node
'use strict';

// Builds the addon from source: cargo, release mode. Needs only cargo (the napi CLI
// is a devDependency, absent where connkit is a dependency).
//
//   node scripts/build.js     a clone's `npm install` runs this, and so does
//   npx connkit-build         `npx connkit-build` where connkit is a dependency: the
//                             addon goes beside the package, connkit.<platform>.node,
//                             which lib/native.js loads before any prebuilt package.
//   npm run prebuild [-- --target <triple>]
//                             the addon goes into npm/<platform>/, the per-platform
//                             package the release workflow publishes.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { platformName, platformOfTarget, addonFile, installHelp } = require('../lib/platform');
const { writePlatformPackage } = require('./platform-packages');

const root = path.join(__dirname, '..');
const { version } = require('../package.json');

function parseArgs(argv) {
  const args = { target: null, platformPackage: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--target') args.target = argv[++i];
    else if (argv[i] === '--platform-package') args.platformPackage = true;
    else throw new Error(`connkit build: unknown argument ${argv[i]} (--target <triple>, --platform-package)`);
  }
  return args;
}

// The file cargo makes of the cdylib, by the OS a platform name starts with.
const CDYLIB = { win32: 'connkit.dll', darwin: 'libconnkit.dylib' };
const cdylibName = (name) => CDYLIB[name.split('-')[0]] ?? 'libconnkit.so';

function cargo(target, name) {
  const args = ['rustc', '--release', '--lib', '--locked'];
  if (target) args.push('--target', target);
  // Rust links musl statically by default, and a static musl build cannot be a shared
  // library: rustc would drop the cdylib. Passed to this crate's rustc only, so a
  // user's RUSTFLAGS neither lose it nor are changed by it.
  if (name.endsWith('-musl')) args.push('--', '-C', 'target-feature=-crt-static');
  console.log(`connkit: cargo ${args.join(' ')}`);
  const result = spawnSync('cargo', args, { cwd: root, stdio: 'inherit' });
  if (result.error) {
    console.error(`connkit: cannot run cargo (${result.error.message}).\n${installHelp(name, version).join('\n')}`);
    process.exit(1);
  }
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function main() {
  const { target, platformPackage } = parseArgs(process.argv.slice(2));
  const name = target ? platformOfTarget(target) : platformName();
  cargo(target, name);

  const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
  const built = path.join(targetDir, ...(target ? [target] : []), 'release', cdylibName(name));
  const dir = platformPackage ? writePlatformPackage(name) : root;
  const out = path.join(dir, addonFile(name));
  // Into place by rename: a process that has the old addon loaded keeps its copy (an
  // overwrite in place would change the code under it, and it would crash).
  const staged = `${out}.${process.pid}.tmp`;
  fs.copyFileSync(built, staged);
  fs.renameSync(staged, out);
  console.log(`connkit: built ${path.relative(process.cwd(), out) || out}`);
}

main();
