'use strict';

// A socket-ipc server (connkit/socket-ipc or the original) on a unix socket file:
// logs each 'work' message and echoes it to its sender as 'echo'. A kill -9 leaves
// the socket file behind; the next server reclaims it. Args: connkit|original
// socketFile logFile.

const { peerReady } = require('../lib/peer');
const { deliveryLog } = require('./crash-common');

const [which, socketFile, logFile] = process.argv.slice(2);
const ipc = require(which === 'original' ? '@crussell52/socket-ipc' : 'connkit/socket-ipc');
const logged = deliveryLog(logFile);

const server = new ipc.Server({ socketFile });
server.on('error', (e) => console.error(`crash-ipc: ${e.code || e.message}`));
server.on('message.work', (message, clientId) => {
  logged(message);
  server.send('echo', message, clientId);
});
server.on('listening', () => peerReady({ socketFile }));
server.listen();
