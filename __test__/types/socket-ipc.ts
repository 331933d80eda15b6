// Code typed the way users of @crussell52/socket-ipc write it; only the import changed.
import { Server, Client, DecodeError, BadClientError, Transcoder } from 'connkit/socket-ipc';
import * as net from 'node:net';
import * as tls from 'node:tls';

const server = new Server({ socketFile: '/tmp/app.sock', maxFrameSize: 1 << 20 });
server.on('connection', (clientId: string, socket) => socket.on('close', () => console.log(clientId, 'gone')));
server.on('message', (message: any, topic: string, clientId: string) => server.send(topic, message, clientId));
server.on('message.ping', (message: any, clientId: string) => server.send('pong', message, clientId));
server.on('error', (err: Error) => {
  if (err instanceof DecodeError) console.log(err.rawData, err.clientId);
  if (err instanceof BadClientError) console.log(err.clientId, err.sentTopic);
});
server.listen();

const lines: Transcoder = {
  socketEncoding: 'utf8',
  createEncoder: () => (wrapper, cb) => cb(null, `${wrapper.topic}\n`),
  createDecoder: () => (chunk, cb) => cb(null, [{ topic: String(chunk), message: null }]),
};
const client = new Client({ socketFile: '/tmp/app.sock', retryDelay: { min: 100, max: 500 }, reconnectDelay: 100, transcoder: lines });
client.on('connect', (socket) => socket.setNoDelay(true));
client.on('connectError', (err: Error) => console.log(err.message));
client.on('message', (message: any, topic: string) => console.log(topic, message));
client.connect();
client.send('ping', { at: Date.now() });
client.close();

// The sockets handed out are net.Sockets: code written for Node's sockets works on them.
const sockets = new Map<string, net.Socket>();
server.on('connection', (clientId: string, socket: net.Socket) => sockets.set(clientId, socket));
server.on('connection', (clientId, socket) => socket.pipe(process.stdout));
client.on('reconnect', async (socket) => {
  for await (const chunk of socket) console.log(chunk.length);
});
client.on('connect', (socket: net.Socket) => tls.connect({ socket }).once('secureConnect', () => console.log(socket.remoteAddress)));

// Mistakes users make; each must stay an error.
// @ts-expect-error: an unknown option (a misspelt `maxFrameSize`) is not silently ignored
new Server({ socketFile: '/tmp/app.sock', maxFrameSze: 1 << 20 });
// @ts-expect-error: a delay range needs both min and max
new Client({ socketFile: '/tmp/app.sock', retryDelay: { min: 100 } });
// @ts-expect-error: the server sends to one client: send(topic, message, clientId)
server.send('pong', { ok: true });
// @ts-expect-error: a client id is a string, not a number
server.on('connection', (clientId) => clientId.toFixed());
// @ts-expect-error: a topic-scoped listener gets (message, clientId), the id a string
server.on('message.ping', (message, clientId) => clientId.toFixed());
// @ts-expect-error: send() reports failures as 'error' events; it returns nothing
const sent: boolean = client.send('ping', {});
// @ts-expect-error: a socket writes strings and bytes, not numbers
client.on('connect', (socket) => socket.write(42));
// @ts-expect-error: a socket's setNoDelay takes a boolean
server.on('connection', (clientId, socket) => socket.setNoDelay('yes'));
