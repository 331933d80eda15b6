'use strict';

// The platforms connkit ships prebuilt, by napi-rs platform name, with the Rust
// target each is built for. This table is the one list: scripts/platform-packages.js
// writes npm/<name>/package.json and package.json's optionalDependencies from it, and
// __test__/install.test.js checks the release workflow's matrix against it.
const TARGETS = {
  'linux-x64-gnu': 'x86_64-unknown-linux-gnu',
  'linux-arm64-gnu': 'aarch64-unknown-linux-gnu',
  'linux-x64-musl': 'x86_64-unknown-linux-musl',
  'linux-arm64-musl': 'aarch64-unknown-linux-musl',
  'darwin-x64': 'x86_64-apple-darwin',
  'darwin-arm64': 'aarch64-apple-darwin',
  'win32-x64-msvc': 'x86_64-pc-windows-msvc',
};

// The napi-rs platform name of this process: linux-x64-gnu, darwin-arm64, ...
function platformName() {
  const { platform, arch } = process;
  if (platform === 'win32') return `${platform}-${arch}-msvc`;
  if (platform !== 'linux') return `${platform}-${arch}`;
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null;
  const glibc = report?.header?.glibcVersionRuntime;
  return `${platform}-${arch}-${glibc ? 'gnu' : 'musl'}`;
}

// The platform name a Rust target triple builds for (the inverse of TARGETS).
function platformOfTarget(triple) {
  const name = Object.keys(TARGETS).find((key) => TARGETS[key] === triple);
  if (!name) throw new Error(`connkit: ${triple} is not a prebuilt target (${Object.values(TARGETS).join(', ')})`);
  return name;
}

// The per-platform package's name and the file of the addon in it.
const packageName = (name) => `connkit-${name}`;
const addonFile = (name) => `connkit.${name}.node`;

// What to do when this platform has no addon: the two remedies, as lines of text for
// lib/native.js's error and the build script's.
function installHelp(name, version) {
  const build = 'build it from source, with Rust (https://rustup.rs): npx connkit-build';
  if (!Object.hasOwn(TARGETS, name)) {
    return [`No prebuilt addon is published for ${name} (only ${Object.keys(TARGETS).join(', ')}).`, `To use connkit here, ${build}`];
  }
  return [
    'Either:',
    `  - install the prebuilt addon: npm install ${packageName(name)}@${version}`,
    '    (npm installs it with connkit unless optional dependencies are omitted, or',
    '    package-lock.json was written on another platform: then delete node_modules',
    '    and package-lock.json, and install again);',
    `  - or ${build}`,
  ];
}

module.exports = { TARGETS, platformName, platformOfTarget, packageName, addonFile, installHelp };
