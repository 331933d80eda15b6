// Type definitions for connkit's own API.

import { EventEmitter } from 'node:events';
import * as net from 'node:net';

export type Bytes = string | Buffer | Uint8Array;

/**
 * How a byte stream is cut into messages, in the core:
 * - `'raw'`: chunks as they arrive, `data` events (the default);
 * - `'length'`: 4-byte big-endian length prefix, `frame` events;
 * - `{ delimiter }`: frames ended by any byte sequence (`'\0'`, `'\0\0'`, ...), `frame` events.
 * With framing, each `write()` sends one frame.
 */
/** 'jstp': NUL-terminated JSTP messages, each delivered as JSON text. 'thrift-binary' /
 * 'thrift-compact': whole Thrift messages found in an unframed (buffered) stream. */
export type Framing = 'raw' | 'length' | 'jstp' | 'thrift-binary' | 'thrift-compact' | { delimiter: string | Buffer | Uint8Array };

export interface DelayRange {
  min: number;
  max: number;
}

/** The reconnect schedule. `true` uses the default (100 ms doubling to 30 s, up to half shaved off at random). */
export interface ReconnectOptions {
  /** First delay after a failed first connection, ms. */
  initialDelay?: number;
  factor?: number;
  maxDelay?: number;
  /** `clamp`: min(d × factor, max). `grow-below`: grow while below max (may overshoot once). `grow-below-snap`: the same, then snap to max. */
  cap?: 'clamp' | 'grow-below' | 'grow-below-snap';
  /** `'none'`, a ratio in [0, 1] shaved off at random, or ms added uniformly from a range. */
  jitter?: 'none' | number | DelayRange;
  /** Give up after this many attempts since the last success. */
  maxAttempts?: number;
  /** Give up once this many ms have been spent waiting since the last success. */
  budget?: number;
  /** Base delay after an established connection drops (default: `initialDelay`). */
  resetDelay?: number;
  /** A separate first delay after a drop, which does not advance the schedule. */
  dropDelay?: number | DelayRange;
  /** Floor each grown delay to whole ms (as schedules written with `Math.floor`). */
  integerSteps?: boolean;
  /** A 'dialing' event ({ attempt }) as each attempt starts (off: each one wakes JS). */
  announce?: boolean;
}

export interface TlsOptions {
  /** `true`: the tls transport, as `transport: 'tls'` (also inferred from `ca` / `cert`). */
  tls?: true;
  ca?: Bytes | Bytes[];
  cert?: Bytes;
  key?: Bytes;
  servername?: string;
  /** Default true; for clients, false when NODE_TLS_REJECT_UNAUTHORIZED=0 (as in Node). */
  rejectUnauthorized?: boolean;
}

export interface ConnectionSettings {
  framing?: Framing;
  /** Largest frame accepted or sent; default 64 MiB. */
  maxFrameSize?: number;
  /** Idle timeout in ms: a `timeout` event after this long without traffic. */
  timeout?: number;
  /** Default true. */
  noDelay?: boolean;
  /** `true`, or the initial delay in ms. */
  keepAlive?: boolean | number;
  /** Keep writing after the peer ends its side (default false: end too). */
  allowHalfOpen?: boolean;
}

export interface ConnectOptions extends ConnectionSettings, TlsOptions {
  /** Inferred when omitted: `path` → unix, `command` → stdio, `ca`/`cert` → tls, else tcp. */
  transport?: 'tcp' | 'tls' | 'unix' | 'stdio';
  host?: string;
  port?: number;
  path?: string;
  /** A child process to talk to over its stdin/stdout (run directly, not through a shell). */
  command?: string;
  args?: string[];
  /** ms allowed for one connection attempt. */
  connectTimeout?: number;
  reconnect?: boolean | ReconnectOptions;
  /** Bytes kept while not connected; a write past it is refused with an `error`. Default 16 MiB. */
  offlineQueueBytes?: number;
  /** `write()` returns false past this many unflushed bytes. Default 16 KiB. */
  highWaterMark?: number;
  /** Writes unsent when a session is lost go out on the next one (default true);
   * `false`: they fail with it, their callbacks getting the error. */
  resendUnsent?: boolean;
  /** Upgrade to a WebSocket once connected (tcp, tls or unix). Each `write()` then
   * sends one message, and each message read (or, with `framing`, each frame of
   * what the messages carry) is a `frame`. */
  websocket?: boolean | WebSocketOptions;
}

export interface WebSocketOptions {
  /** The request path; default '/'. */
  path?: string;
  /** Extra handshake headers. */
  headers?: Record<string, string | number | string[]>;
  /** Subprotocols offered; the server must choose one of them. */
  protocols?: string[];
  /** What messages written go out as (default 'binary'). */
  messages?: 'binary' | 'text';
  /** Messages above this many bytes leave in fragments of it. */
  fragment?: number;
}

/** Who was refused past `maxConnections`, as Node's `'drop'` tells it. */
export interface DropArgument {
  localAddress?: string;
  localPort?: number;
  localFamily?: string;
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
}

export interface ServerOptions extends ConnectionSettings, TlsOptions {
  /** Initial value of `server.maxConnections`. */
  maxConnections?: number;
  transport?: 'tcp' | 'tls' | 'unix';
  host?: string;
  port?: number;
  path?: string;
  /** Ask clients for a certificate, verified against `ca`. */
  requestCert?: boolean;
}

export interface ConnectionStats {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  reconnects: number;
  queued: number;
  state: 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed';
}

export interface ReconnectingEvent {
  delay: number;
  attempt: number;
  error?: ConnkitError;
}

/** Errors carry a Node-style `code`: `ECONNREFUSED`, `ERR_FRAME_TOO_LARGE`, `ERR_OFFLINE_QUEUE_FULL`, ... */
export interface ConnkitError extends Error {
  code: string;
  errno?: number;
  syscall?: string;
  address?: string;
  port?: number;
}

/**
 * A connection run by the core, as a Node socket: a `net.Socket` (and so a
 * `stream.Duplex`), usable wherever one is taken (`pipe()`, `stream.pipeline()`,
 * `for await`, `tls.connect({ socket })`, `http.request({ createConnection })`).
 * Framed connections also emit each message as a `frame`.
 */
export class Connection extends net.Socket {
  constructor(options: ConnectOptions, connectListener?: () => void);
  readonly framed: boolean;

  /** Ends and stops reconnecting. */
  close(): this;
  /** Drops the current session now and lets the reconnect policy dial again (without one, closes). */
  reconnect(): this;
  /** Unframed: the readable side's encoding. Framed: each `frame` as a string too. */
  setEncoding(encoding: BufferEncoding): this;
  /** A 'heartbeat' event every `interval` ms while connected, on the core's timers (0: none). */
  setHeartbeat(interval: number): this;
  stats(): ConnectionStats;
  /** A WebSocket: sends a close frame (with `code` and `reason` if given) after what is
   * written, then ends; a peer that does not hang up within `timeout` ms (30000) is
   * cut off. Other connections just end. */
  closeWebSocket(code?: number, reason?: string, timeout?: number): this;
  /** closeWebSocket() or end() was called, or the peer sent its close frame. */
  readonly closing: boolean;

  on(event: 'heartbeat', listener: () => void): this;
  /** A reconnect attempt starts (with `reconnect.announce`). */
  on(event: 'dialing', listener: (info: { attempt: number }) => void): this;
  on(event: 'frame', listener: (frame: Buffer | string) => void): this;
  on(event: 'error', listener: (error: ConnkitError) => void): this;
  on(event: 'reconnecting', listener: (info: ReconnectingEvent) => void): this;
  on(event: 'disconnect', listener: (error?: ConnkitError) => void): this;
  on(event: 'exit', listener: (code: number | null, signal: string | null) => void): this;
  /** The peer closed its WebSocket; `end` follows. */
  on(event: 'closeframe', listener: (code: number, reason: string) => void): this;
  on(event: 'close', listener: (hadError: boolean) => void): this;
  on(event: 'connect' | 'ready' | 'end' | 'drain' | 'timeout' | 'finish', listener: () => void): this;
  on(event: 'data', listener: (data: Buffer) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'heartbeat', listener: () => void): this;
  once(event: 'dialing', listener: (info: { attempt: number }) => void): this;
  once(event: 'frame', listener: (frame: Buffer | string) => void): this;
  once(event: 'error', listener: (error: ConnkitError) => void): this;
  once(event: 'reconnecting', listener: (info: ReconnectingEvent) => void): this;
  once(event: 'disconnect', listener: (error?: ConnkitError) => void): this;
  once(event: 'exit', listener: (code: number | null, signal: string | null) => void): this;
  once(event: 'closeframe', listener: (code: number, reason: string) => void): this;
  once(event: 'close', listener: (hadError: boolean) => void): this;
  once(event: 'connect' | 'ready' | 'end' | 'drain' | 'timeout' | 'finish', listener: () => void): this;
  once(event: 'data', listener: (data: Buffer) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** A connection that reconnects by default and queues writes while it is away. */
export class Client extends Connection {
  constructor(options: ConnectOptions, connectListener?: () => void);
}

export type ServerAddress = { address: string; port: number; family: string } | string | null;

export class Server extends EventEmitter {
  constructor(options?: ServerOptions, connectionListener?: (connection: Connection) => void);
  constructor(connectionListener?: (connection: Connection) => void);
  readonly listening: boolean;
  readonly connections: number;
  /** As Node's: past this many connections, new ones are closed at once and 'drop' is emitted. */
  maxConnections: number | undefined;
  listen(port?: number, host?: string, backlog?: number, callback?: () => void): this;
  listen(port?: number, host?: string, callback?: () => void): this;
  listen(port?: number, backlog?: number, callback?: () => void): this;
  listen(port?: number, callback?: () => void): this;
  listen(path: string, backlog?: number, callback?: () => void): this;
  listen(path: string, callback?: () => void): this;
  /** `backlog`: the kernel's queue of connections not yet accepted (default 511, as Node's). */
  listen(options: { port?: number; host?: string; path?: string; backlog?: number }, callback?: () => void): this;
  listen(callback?: () => void): this;
  address(): ServerAddress;
  close(callback?: (err?: Error) => void): this;
  getConnections(callback: (err: Error | null, count: number) => void): this;
  ref(): this;
  unref(): this;

  on(event: 'listening' | 'close', listener: () => void): this;
  on(event: 'connection', listener: (connection: Connection) => void): this;
  on(event: 'drop', listener: (data: DropArgument) => void): this;
  on(event: 'error', listener: (error: ConnkitError) => void): this;
  on(event: 'tlsClientError', listener: (error: ConnkitError, connection: Connection) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export function createConnection(options: ConnectOptions, connectListener?: () => void): Connection;
export function createServer(options?: ServerOptions, connectionListener?: (connection: Connection) => void): Server;
export function createServer(connectionListener?: (connection: Connection) => void): Server;

export interface HttpClientOptions extends TlsOptions {
  /** Inferred when omitted: `path` → unix, `ca`/`cert` → tls, else tcp. */
  transport?: 'tcp' | 'tls' | 'unix';
  host?: string;
  port?: number;
  /** A unix socket to connect to. */
  path?: string;
  /** Where every request is POSTed; default '/'. */
  requestPath?: string;
  headers?: Record<string, string | number | string[]>;
  /** Reuse connections (default true). */
  keepAlive?: boolean;
  /** Connections open at once (default Infinity); requests beyond wait for one. */
  maxSockets?: number;
  /** Idle connections kept (default 256). */
  maxFreeSockets?: number;
  /** ms a request may take before it fails with `ETIMEDOUT`. */
  timeout?: number;
  connectTimeout?: number;
  /** Largest response body, bytes (default 100 MiB). */
  maxBodySize?: number;
}

/** POSTs to one path over pooled keep-alive connections run by the core. */
export class HttpClient extends EventEmitter {
  constructor(options: HttpClientOptions);
  /** Calls back once: with the error, or with the status and the body. */
  request(body: Bytes, callback: (error: ConnkitError | null, status?: number, body?: Buffer) => void): void;
  readonly pending: number;
  /** No new requests; those out are answered; idle connections close. */
  close(): void;
  ref(): this;
  unref(): this;
}

/** What an upgrade that `verify` decides on asks for. */
export interface UpgradeInfo {
  path: string;
  /** The Origin header, null without one. */
  origin: string | null;
  /** The subprotocol chosen from those offered, null with none. */
  protocol: string | null;
}

export interface WebSocketServerOptions {
  /** Subprotocols spoken, preferred first; when given, a client must offer one (else 403). */
  protocols?: string[];
  /** Decides each upgrade: true accepts, false answers 403. */
  verify?: (info: UpgradeInfo) => boolean;
  /** Headers added to the 101 answer, repeating the request's Origin or its ws:// location. */
  echo?: Record<string, 'origin' | 'location'>;
  /** What messages written go out as (default 'as-asked': as the last one read). */
  messages?: 'binary' | 'text' | 'as-asked';
  /** Messages above this many bytes leave in fragments of it. */
  fragment?: number;
}

export interface WebServerOptions extends ServerOptions {
  /** Take WebSocket upgrades (they become 'connection's); without, upgrades are 'request's. */
  websocket?: true | WebSocketServerOptions;
  /** CORS: origins allowed to call from a page ('*': any), and what preflights answer. */
  cors?: { origins: string[]; allowMethods?: string; allowHeaders?: string; maxAge?: number };
  /** Static files for GET (without, GETs are 'request's): a root, content types by extension, headers. */
  files?: { root: string; types?: Record<string, string>; headers?: Record<string, string | number | string[]> };
  /** Largest request body, bytes (default 100 MiB); larger ones get 413. */
  maxBodySize?: number;
}

/** One POST to a web server. */
/** A request the core does not serve itself, for JS to answer. */
export interface WebRequest {
  readonly method: string;
  readonly path: string;
  /** The Origin header ('' without one). */
  readonly origin: string;
  /** CORS is on and `origin` is not allowed. */
  readonly originDenied: boolean;
  /** It asks for a WebSocket upgrade, which this server does not take. */
  readonly upgrade: boolean;
  readonly body: Buffer;
  readonly answered: boolean;
  /** `reason` replaces the status's standard phrase. */
  respond(status: number, body?: Bytes, reason?: string): void;
}

/** A web server run by the core: requests it does not serve become 'request' events;
 * WebSocket upgrades (with `websocket`) become framed 'connection's (with the
 * server's `framing` for what messages carry). */
export class WebServer extends Server {
  constructor(options: WebServerOptions);
  on(event: 'request', listener: (request: WebRequest) => void): this;
  on(event: 'listening' | 'close', listener: () => void): this;
  on(event: 'connection', listener: (connection: Connection) => void): this;
  on(event: 'error', listener: (error: ConnkitError) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}
