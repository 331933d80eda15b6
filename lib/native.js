'use strict';

// Loads the addon: a build from source first (connkit.<platform>.node beside the
// package, made by a clone's `npm install` or by `npx connkit-build`, so a user can
// force one), then the prebuilt per-platform package npm installed as an optional
// dependency (napi-rs's layout).

const path = require('node:path');
const { platformName, packageName, addonFile, installHelp } = require('./platform');
const { version } = require('../package.json');

const name = platformName();

function fail(message, code, cause) {
  const err = new Error(`connkit: ${message}\n${installHelp(name, version).join('\n')}`, cause ? { cause } : undefined);
  err.code = code;
  return err;
}

// The module itself not found (not one it requires in turn).
const notFound = (err, request) => err.code === 'MODULE_NOT_FOUND' && err.message.includes(`'${request}'`);

function loadFromSource() {
  const file = path.join(__dirname, '..', addonFile(name));
  try {
    return require(file);
  } catch (err) {
    if (notFound(err, file)) return null;
    throw fail(`the addon built from source, ${file}, does not load: ${err.message}`, 'ERR_CONNKIT_NATIVE_LOAD', err);
  }
}

function loadPrebuilt() {
  const pkg = packageName(name);
  let manifest;
  try {
    manifest = require(`${pkg}/package.json`);
  } catch (err) {
    if (notFound(err, `${pkg}/package.json`)) return null;
    throw err;
  }
  // The addon and this JavaScript speak one protocol of ops and events, which changes
  // between versions: a stale platform package must not half work.
  if (manifest.version !== version) {
    throw fail(`${pkg} is version ${manifest.version}, but connkit is ${version}.`, 'ERR_CONNKIT_NATIVE_VERSION');
  }
  try {
    return require(pkg);
  } catch (err) {
    throw fail(`${pkg} does not load: ${err.message}`, 'ERR_CONNKIT_NATIVE_LOAD', err);
  }
}

function load() {
  const addon = loadFromSource() ?? loadPrebuilt();
  if (addon) return addon;
  throw fail(`no native addon for ${name}.`, 'ERR_CONNKIT_NATIVE_MISSING');
}

module.exports = load();
