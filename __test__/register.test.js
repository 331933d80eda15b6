'use strict';

// connkit/register: `-r`, `--import` and NODE_OPTIONS make the originals' names resolve
// to connkit's faces in an app (and in code generated for it), while connkit's faces
// still build on the real packages.

const test = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { ROOT, tmpDir } = require('./helpers');

// An app with connkit installed, as a user has it (a link, as npm's local installs).
const app = tmpDir();
fs.mkdirSync(path.join(app, 'node_modules'));
fs.symlinkSync(ROOT, path.join(app, 'node_modules', 'connkit'));
// Generated code requires node-int64 itself, which an app using thrift has installed.
fs.symlinkSync(path.join(ROOT, 'node_modules', 'node-int64'), path.join(app, 'node_modules', 'node-int64'));
test.after(() => fs.rmSync(app, { recursive: true, force: true }));
execFileSync('thrift', ['--gen', 'js:node', '-o', app, path.join(__dirname, 'fixtures', 'thrift', 'calc.thrift')]);
const realThrift = path.join(ROOT, 'node_modules', 'thrift', 'lib', 'nodejs', 'lib', 'thrift', 'index.js');

fs.writeFileSync(
  path.join(app, 'app.js'),
  `const thrift = require('thrift');
const Calc = require('./gen-nodejs/Calc.js');
const faces = [['thrift', 'thrift'], ['@metarhia/jstp', 'jstp'], ['metarhia-jstp', 'jstp'], ['connman', 'connman'], ['@crussell52/socket-ipc', 'socket-ipc']];
console.log(JSON.stringify({
  faces: faces.map(([name, face]) => require(name) === require('connkit/' + face)),
  // The generated code's require('thrift') got the face too.
  generated: require.cache[require.resolve('./gen-nodejs/Calc.js')].children.map((m) => m.filename).filter((f) => f.includes('thrift')).map((f) => require('node:path').relative(${JSON.stringify(ROOT)}, f)),
  // The face itself got the real package: its transports are the real ones.
  real: thrift.TBufferedTransport === require(${JSON.stringify(realThrift)}).TBufferedTransport,
  other: typeof require('node:path').join,
}));
`,
);
fs.writeFileSync(
  path.join(app, 'app.mjs'),
  `import { createConnection, TBufferedTransport } from 'thrift';
import connman from 'connman';
import face from 'connkit/thrift';
import faceConnman from 'connkit/connman';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
console.log(JSON.stringify({ named: createConnection === face.createConnection && TBufferedTransport === face.TBufferedTransport, connman: connman === faceConnman, cjs: require('thrift') === face }));
`,
);

const run = (args, env = {}) => JSON.parse(execFileSync(process.execPath, args, { cwd: app, env: { ...process.env, ...env }, encoding: 'utf8' }));

test('node -r connkit/register: the originals resolve to the faces, generated code included; connkit keeps the real ones', () => {
  const result = run(['-r', 'connkit/register', 'app.js']);
  assert.deepStrictEqual(result, { faces: [true, true, true, true, true], generated: [path.join('faces', 'thrift', 'index.js')], real: true, other: 'function' });
});

test('node --import connkit/register: named ESM imports of the originals get the faces, and so does require', () => {
  assert.deepStrictEqual(run(['--import', 'connkit/register', 'app.mjs']), { named: true, connman: true, cjs: true });
});

test('NODE_OPTIONS carries the hook to child processes', () => {
  fs.writeFileSync(
    path.join(app, 'parent.js'),
    `const out = require('node:child_process').execFileSync(process.execPath, ['app.js'], { encoding: 'utf8' });
process.stdout.write(out);`,
  );
  const result = run(['parent.js'], { NODE_OPTIONS: '-r connkit/register' });
  assert.deepStrictEqual(result.faces, [true, true, true, true, true]);
});

test('without the hook nothing is redirected', () => {
  // The app's own `thrift` would be its dependency; here there is none to find.
  assert.throws(() => execFileSync(process.execPath, ['-e', "require('thrift')"], { cwd: app, stdio: 'pipe' }), /Cannot find module 'thrift'/);
});
