'use strict';

// Which package names connkit stands in for, and who still gets the real package:
// connkit's own faces and library, which build on the originals.

const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const FACES = {
  thrift: 'faces/thrift/index.js',
  '@metarhia/jstp': 'faces/jstp/index.js',
  'metarhia-jstp': 'faces/jstp/index.js',
  connman: 'faces/connman/index.js',
  '@crussell52/socket-ipc': 'faces/socket-ipc/index.js',
};
// connkit's own code, whose `require('thrift')` means the real one.
const OWN = [path.join(ROOT, 'faces') + path.sep, path.join(ROOT, 'lib') + path.sep, path.join(ROOT, 'examples') + path.sep];

/** The face file standing in for `request` made from `parent` (a file path), or null. */
function faceFor(request, parent) {
  const face = Object.hasOwn(FACES, request) ? FACES[request] : undefined;
  if (face === undefined) return null;
  if (parent && OWN.some((dir) => parent.startsWith(dir))) return null;
  return path.join(ROOT, face);
}

module.exports = { faceFor };
