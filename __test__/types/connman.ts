// Code typed the way users of connman write it; only the import changed.
import * as cm from 'connkit/connman';
import type { ManagedSocket } from 'connkit/connman';
import * as net from 'node:net';
import * as tls from 'node:tls';

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

// As the original's README writes it: onData gets the buffer, onConnect node's socket.
function onBuffer(buffer: Buffer) {
  console.log(buffer.toString('utf8'));
}
function onSocket(socket: net.Socket) {
  for (let i = 0; i < 100; i++) socket.write('ping\r\n');
}
cm.connect(11211, 'localhost', onSocket, onBuffer, () => {});
cm.createPool('text').addConnection(6379, undefined, (socket) => socket.setEncoding('utf8'), (text: string) => text.split('\r\n'), onReset);
cm.connect(11211, 'localhost', onSocket, (data) => waiting.shift()?.(String(data)), onReset);
cm.getConnection(11211, 'localhost')?.disconnect();
// The socket is a net.Socket: code written for Node's sockets works on it.
cm.connect(6697, 'irc.example', async (socket) => {
  const secure: tls.TLSSocket = tls.connect({ socket, servername: 'irc.example' });
  secure.pipe(process.stdout);
  for await (const chunk of socket) console.log(chunk, socket.stats().bytesIn);
}, onBuffer, onReset);

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
// @ts-expect-error: onData gets a Buffer (or a string with an encoding set), never a number
cm.connect(11211, '127.0.0.1', onConnect, (n: number) => n.toFixed(), onReset);
// @ts-expect-error: onConnect gets the socket, not its address
cm.connect(11211, '127.0.0.1', (address: string) => address.split(':'), onData, onReset);
// @ts-expect-error: getConnections() lists sockets, which have no `port` (remotePort is Node's name)
cm.getPool('memcached')?.getConnections()[0].port;
