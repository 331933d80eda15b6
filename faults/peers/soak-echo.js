'use strict';

// The stdio soak's child: echoes its stdin to its stdout, and ends when stdin ends.
process.stdin.pipe(process.stdout);
