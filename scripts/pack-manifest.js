'use strict';

// The published package.json carries no install script. A clone's `npm install`
// builds the addon from source (the README's quick start), through package.json's
// "install" script; an application installing connkit must not: it gets the prebuilt
// platform package, and npm 11 warns about every dependency with an install script
// the application has not allowed. So `npm pack` and `npm publish` take the script out
// for the tarball (prepack) and put it back after (postpack).
//
//   node scripts/pack-manifest.js strip | restore

const fs = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, '..', 'package.json');
const INSTALL = 'node scripts/build.js';

const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
const mode = process.argv[2];
if (mode === 'strip') {
  // Taken out only when it is the build this file puts back; anything else is a
  // change to the install script this file has not heard of.
  if (manifest.scripts.install !== undefined && manifest.scripts.install !== INSTALL) {
    throw new Error(`package.json's install script is "${manifest.scripts.install}", not "${INSTALL}": update scripts/pack-manifest.js`);
  }
  delete manifest.scripts.install;
} else if (mode === 'restore') {
  // Back in its place, first, as it was written.
  manifest.scripts = { install: INSTALL, ...manifest.scripts };
} else {
  throw new Error('usage: node scripts/pack-manifest.js strip | restore');
}
fs.writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
