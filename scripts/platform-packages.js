#!/usr/bin/env node
'use strict';

// The per-platform packages, npm/<platform>/, made from lib/platform.js's table and
// the main package.json: their package.json (name, version, os/cpu/libc, the addon
// file) and README, and the main package's optionalDependencies on them at its own
// version. Run by `npm version` (package.json's "version" script) so that a release
// bumps them together; the build script writes the one it fills.

const fs = require('node:fs');
const path = require('node:path');
const { TARGETS, packageName, addonFile } = require('../lib/platform');

const root = path.join(__dirname, '..');
const LIBC = { gnu: 'glibc', musl: 'musl' };

const readMain = () => JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const json = (value) => `${JSON.stringify(value, null, 2)}\n`;

function platformManifest(name, main = readMain()) {
  const [os, cpu, abi] = name.split('-');
  return {
    name: packageName(name),
    version: main.version,
    description: `connkit's prebuilt native addon for ${name}`,
    os: [os],
    cpu: [cpu],
    ...(LIBC[abi] ? { libc: [LIBC[abi]] } : {}),
    main: addonFile(name),
    files: [addonFile(name)],
    license: main.license,
    engines: main.engines,
  };
}

function platformReadme(name) {
  return `# \`${packageName(name)}\`

The prebuilt native addon of [connkit](https://www.npmjs.com/package/connkit) for \`${name}\`
(Rust target \`${TARGETS[name]}\`). npm installs it as an optional dependency of connkit on
matching machines; connkit loads it when no build from source is present. Do not depend
on it directly.
`;
}

/** Writes npm/<name>/'s package.json and README; returns the folder. */
function writePlatformPackage(name, main = readMain()) {
  const dir = path.join(root, 'npm', name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), json(platformManifest(name, main)));
  fs.writeFileSync(path.join(dir, 'README.md'), platformReadme(name));
  return dir;
}

function optionalDependencies(main = readMain()) {
  return Object.fromEntries(Object.keys(TARGETS).map((name) => [packageName(name), main.version]));
}

function writeAll() {
  const main = readMain();
  for (const name of Object.keys(TARGETS)) writePlatformPackage(name, main);
  main.optionalDependencies = optionalDependencies(main);
  fs.writeFileSync(path.join(root, 'package.json'), json(main));
}

if (require.main === module) writeAll();

module.exports = { platformManifest, platformReadme, optionalDependencies, writePlatformPackage };
