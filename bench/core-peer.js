'use strict';

// The server side of a core benchmark, in its own process:
//   node core-peer.js <impl> count <socket path> <frames>   prints "count N" when N frames arrived
//   node core-peer.js <impl> echo <socket path>             echoes every frame
// Prints "ready" once listening; exits when its stdin closes.

const impls = require('./peers');

const [, , implName, mode, path, frames] = process.argv;
const target = Number(frames);
let seen = 0;
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));

impls[implName].server(
  path,
  mode === 'echo'
    ? (frame, reply) => reply(frame)
    : () => {
        if (++seen === target) process.stdout.write(`count ${seen}\n`);
      },
  () => process.stdout.write('ready\n'),
);
