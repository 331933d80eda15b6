'use strict';

// Loads the addon: a local build first (npm install in a clone, or as a dependency
// built by its install script), then the per-platform package (napi-rs convention).

const path = require('node:path');
const { platformName } = require('./platform');

const name = platformName();
const candidates = [
  path.join(__dirname, '..', `connkit.${name}.node`),
  `connkit-${name}`,
];

function load() {
  const errors = [];
  for (const candidate of candidates) {
    try {
      return require(candidate);
    } catch (err) {
      if (err.code !== 'MODULE_NOT_FOUND' && !/cannot open shared object/.test(err.message)) throw err;
      errors.push(`${candidate}: ${err.message.split('\n')[0]}`);
    }
  }
  const err = new Error(
    `connkit: no native addon for ${name}. Build it with \`npm install\` ` +
      `(needs cargo), or allow this package's install script ` +
      `(npm install --allow-scripts=connkit).\n  ${errors.join('\n  ')}`,
  );
  err.code = 'ERR_CONNKIT_NATIVE_MISSING';
  throw err;
}

module.exports = load();
