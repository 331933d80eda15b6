// Compiled with `tsc --strict` by package.test.js: it fails when a signature drifts,
// and each `@ts-expect-error` fails it when a signature loosens (to `any`, say).
import 'connkit/register';
import { createConnection, createServer, Client, Connection, ConnkitError, ConnectionStats, HttpClient, Server, ServerAddress, WebServer, WebRequest } from 'connkit';

const server = createServer({ framing: 'length', maxFrameSize: 1 << 20 }, (conn: Connection) => {
  conn.on('frame', (frame: Buffer | string) => conn.write(frame));
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const conn = createConnection({ port, host: '127.0.0.1', framing: 'length', timeout: 1000 });
  conn.on('error', (err: ConnkitError) => console.error(err.code, err.syscall));
  conn.on('close', (hadError: boolean) => console.log(hadError));
  const ok: boolean = conn.write('hello', 'utf8', (err) => err && console.error(err));
  if (!ok) conn.once('drain', () => conn.end());
  const stats: ConnectionStats = conn.stats();
  console.log(stats.bytesOut, stats.state);
  conn.setTimeout(500, () => conn.destroy()).ref();
});
server.getConnections((err: Error | null, count: number) => console.log(err, count, server.connections, server.listening));
server.unref();

// A Server by its constructor, with a TLS handshake that may fail.
const tlsServer = new Server({ transport: 'tls', key: 'pem', cert: 'pem', requestCert: true }, (conn) => conn.end('bye\n'));
tlsServer.on('tlsClientError', (err: ConnkitError, conn: Connection) => console.log(err.code, conn.remoteAddress));
tlsServer.listen({ port: 0, host: '127.0.0.1' }, () => tlsServer.close((err?: Error) => console.log(err?.message))).ref();
const where: ServerAddress = tlsServer.address();

const client = new Client({
  path: '/tmp/example.sock',
  reconnect: { initialDelay: 1000, maxDelay: 32000, integerSteps: true, announce: true, maxAttempts: 5, jitter: { min: 0, max: 100 } },
  offlineQueueBytes: 1 << 20,
  resendUnsent: false,
});
client.on('reconnecting', ({ delay, attempt, error }) => console.log(delay, attempt, error?.code));
client.on('dialing', ({ attempt }) => console.log(attempt));
client.setHeartbeat(1000).on('heartbeat', () => client.write('ping'));
client.on('disconnect', (err?: ConnkitError) => console.log(err?.message));
client.setNoDelay(true).setKeepAlive(true, 1000).unref();

const child = createConnection({ command: 'cat', args: [] });
child.on('exit', (code: number | null, signal: string | null) => console.log(code, signal));

// HTTP and WebSocket.
const web = new WebServer({ websocket: { protocols: ['rpc'], verify: ({ origin }) => origin !== 'https://evil.example', messages: 'text', fragment: 16384 }, cors: { origins: ['*'] }, files: { root: '/srv/www', types: { html: 'text/html' } }, maxBodySize: 1 << 20, framing: 'length' });
web.on('request', (request: WebRequest) => request.respond(200, request.body));
web.on('request', (request) => {
  if (!request.answered && request.method === 'POST' && !request.originDenied) request.respond(404, undefined, `Nothing at ${request.path}`);
});
web.on('connection', (ws: Connection) => ws.on('frame', (frame) => ws.write(frame)));
web.listen(0, '127.0.0.1', () => web.close());
web.unref();
const httpClient = new HttpClient({ host: '127.0.0.1', port: 8080, requestPath: '/rpc', keepAlive: true, maxSockets: 8, timeout: 500 });
httpClient.request('ping', (err: ConnkitError | null, status?: number, body?: Buffer) => console.log(err?.code, status, body?.length));
console.log(httpClient.pending);
httpClient.unref().ref();
httpClient.close();
const socket = createConnection({ host: '127.0.0.1', port: 8080, websocket: { path: '/rpc', headers: { 'x-token': 'a' } }, framing: 'length' });
socket.on('closeframe', (code: number, reason: string) => console.log(code, reason, socket.closing));
socket.closeWebSocket(1000, 'bye', 1000);
createConnection({ host: '127.0.0.1', port: 8080, websocket: true }).closeWebSocket();
console.log(where);

// Mistakes users make; each must stay an error.
// @ts-expect-error: an unknown option (a misspelt `reconnect`) is not silently ignored
new Client({ port: 80, reconect: true });
// @ts-expect-error: framing is 'raw', 'length', 'jstp', 'thrift-*' or { delimiter }
createConnection({ port: 80, framing: 'lines' });
// @ts-expect-error: a frame is a Buffer or a string, not a number
socket.on('frame', (frame) => frame.toFixed());
// @ts-expect-error: setTimeout takes ms as a number
socket.setTimeout('1000');
// @ts-expect-error: respond(status, body): the status comes first, as a number
web.on('request', (request) => request.respond('ok'));
// @ts-expect-error: stats() counts bytes as numbers
const queued: string = socket.stats().queued;

// A connection is a net.Socket: code written for Node sockets takes it.
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as http from 'node:http';
import { pipeline } from 'node:stream/promises';
const plain = createConnection({ host: '127.0.0.1', port: 25 });
const asSocket: net.Socket = plain;
const secure: tls.TLSSocket = tls.connect({ socket: plain, servername: 'localhost' });
http.request({ host: 'localhost', createConnection: () => createConnection({ host: '127.0.0.1', port: 80 }) });
plain.on('data', (chunk: Buffer) => console.log(chunk.length, asSocket.bytesRead, secure.authorized));
void pipeline(plain, process.stdout);
void (async () => {
  for await (const chunk of plain) console.log(chunk);
})();
// @ts-expect-error: a frame is a Buffer or a string
plain.once('frame', (frame) => frame.toFixed());
