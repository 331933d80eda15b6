'use strict';

// Builds a browser page script that uses connkit/thrift: generates the Calc service's
// JavaScript with the Thrift compiler, then bundles `entry` with esbuild for the
// browser. Used by server.js here and by __test__/thrift-browser.test.js.
//
// What build() leaves in `outDir`:
//   gen-nodejs/Calc.js, calc_types.js  the generated code; `entry` requires them as
//                                      'gen-nodejs/Calc' and 'gen-nodejs/calc_types'
//   node_modules/thrift/index.js       `module.exports = require('connkit/thrift')`: the
//                                      generated code's require('thrift') gets connkit/thrift
//   node_modules/connkit               a link to this repository, as in an app that depends
//                                      on connkit; esbuild resolves connkit/thrift through
//                                      its package.json, whose "browser" condition and field
//                                      pick faces/thrift/browser.js
//   shims.mjs                          the `Buffer` and `process` globals the thrift code
//                                      expects (the npm packages buffer and process)
//   bundle.js                          the page script (an IIFE)
//
// esbuild's `alias` is no substitute for the thrift shim: aliasing 'thrift' to
// 'connkit/thrift' also rewrites 'thrift/lib/...', connkit's own import of the real
// package's browser build.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const IDL = path.join(ROOT, '__test__', 'fixtures', 'thrift', 'calc.thrift');

/** Runs the Thrift compiler (`thrift --gen js:node`) on `idl`; returns the gen-nodejs dir. */
function generate(outDir, idl = IDL) {
  fs.mkdirSync(outDir, { recursive: true });
  execFileSync('thrift', ['--gen', 'js:node', '-o', outDir, idl], { stdio: 'pipe' });
  return path.join(outDir, 'gen-nodejs');
}

/**
 * Generates the Calc code into `outDir` and bundles `entry` into `outDir/bundle.js`.
 * Returns { outfile, genDir, metafile } (esbuild's metafile: which files went in).
 */
function build({ entry = path.join(__dirname, 'page.js'), outDir, idl = IDL, minify = false }) {
  const esbuild = require('esbuild');
  const genDir = generate(outDir, idl);
  const modules = path.join(outDir, 'node_modules');
  fs.mkdirSync(path.join(modules, 'thrift'), { recursive: true });
  fs.writeFileSync(path.join(modules, 'thrift', 'package.json'), '{ "name": "thrift", "main": "index.js" }\n');
  fs.writeFileSync(path.join(modules, 'thrift', 'index.js'), "module.exports = require('connkit/thrift');\n");
  const link = path.join(modules, 'connkit');
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(ROOT, link, 'junction');
  const shims = path.join(outDir, 'shims.mjs');
  fs.writeFileSync(shims, "export { Buffer } from 'buffer/';\nexport { default as process } from 'process/browser.js';\n");
  const outfile = path.join(outDir, 'bundle.js');
  const result = esbuild.buildSync({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2020',
    minify,
    inject: [shims],
    define: { global: 'globalThis' },
    // 'gen-nodejs/...' from outDir; buffer, process, util, events and node-int64 from
    // this repository's node_modules (devDependencies), as an app would have them.
    nodePaths: [outDir, path.join(ROOT, 'node_modules')],
    absWorkingDir: ROOT,
    metafile: true,
    logLevel: 'silent',
  });
  return { outfile, genDir, metafile: result.metafile };
}

module.exports = { build, generate, ROOT, IDL };
