// Code typed the way users of connman write it; only the import changed.
import * as cm from 'connkit/connman';
import type { ManagedSocket } from 'connkit/connman';

let sock: ManagedSocket | undefined;
const waiting: Array<(reply: string) => void> = [];

function onConnect(socket: ManagedSocket) {
  sock = socket;
  socket.setNoDelay(true);
  socket.setEncoding('utf8');
  socket.on('drain', () => console.log('drained', socket.writableLength));
  if (!socket.write('version\r\n', (err) => err && console.log(err.message))) console.log(socket.readyState);
}

function onData(buffer: Buffer | string) {
  waiting.shift()?.(buffer.toString());
}

function onReset() {
  waiting.length = 0;
  return onConnect;
}

cm.connect(11211, '127.0.0.1', onConnect, onData, onReset, { allowHalfOpen: false });
const pool = cm.createPool('memcached');
pool.addConnection(11211, 'localhost', onConnect, onData, () => {});
cm.getPool('memcached')?.getConnections().forEach((s) => console.log(s.remotePort));
cm.getConnection(11211, '127.0.0.1')?.sock.disconnect();
sock?.disconnect();
cm.disconnectAll();

// Mistakes users make; each must stay an error.
// @ts-expect-error: onReset is required (connman calls it on every loss)
cm.connect(11211, '127.0.0.1', onConnect, onData);
// @ts-expect-error: an unknown socket option (a misspelt `noDelay`) is not silently ignored
cm.connect(11211, '127.0.0.1', onConnect, onData, onReset, { noDelai: true });
// @ts-expect-error: onReset returns the next onConnect (or nothing), not a string
cm.connect(11211, '127.0.0.1', onConnect, onData, () => 'retry');
// @ts-expect-error: disconnect() takes no arguments
cm.connect(11211, '127.0.0.1', (socket) => socket.disconnect(true), onData, onReset);
// @ts-expect-error: getConnection() may find none (strict null checks)
cm.getConnection(11211, '127.0.0.1').sock.disconnect();
// @ts-expect-error: a pool name is a string
cm.createPool(1);
