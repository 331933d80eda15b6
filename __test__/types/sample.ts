// Compiled with `tsc --strict` by typings.test.js: it fails when a signature drifts.
import { createConnection, createServer, Client, Connection, ConnkitError, ConnectionStats, HttpClient, WebServer, WebRequest } from 'connkit';

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
});

const client = new Client({
  path: '/tmp/example.sock',
  reconnect: { preset: 'jstp', maxAttempts: 5, jitter: { min: 0, max: 100 } },
  offlineQueueBytes: 1 << 20,
});
client.on('reconnecting', ({ delay, attempt, error }) => console.log(delay, attempt, error?.code));
client.on('disconnect', (err?: ConnkitError) => console.log(err?.message));
client.setNoDelay(true).setKeepAlive(true, 1000).unref();

const child = createConnection({ command: 'cat', args: [] });
child.on('exit', (code: number | null, signal: string | null) => console.log(code, signal));

// HTTP and WebSocket.
const web = new WebServer({ services: ['/rpc'], cors: ['*'], maxBodySize: 1 << 20, framing: 'length' });
web.on('request', (request: WebRequest) => request.respond(200, request.body));
web.on('connection', (ws: Connection) => ws.on('frame', (frame) => ws.write(frame)));
web.listen(0, '127.0.0.1');
const httpClient = new HttpClient({ host: '127.0.0.1', port: 8080, requestPath: '/rpc', keepAlive: true, maxSockets: 8, timeout: 500 });
httpClient.request('ping', (err: ConnkitError | null, status?: number, body?: Buffer) => console.log(err?.code, status, body?.length));
httpClient.close();
const socket = createConnection({ host: '127.0.0.1', port: 8080, websocket: { path: '/rpc', headers: { 'x-token': 'a' } }, framing: 'length' });
socket.on('closeframe', (code: number, reason: string) => console.log(code, reason, socket.closing));
socket.closeWebSocket(1000, 'bye', 1000);
