// connkit/jstp: typings for the drop-in face of @metarhia/jstp 2.x.

import { EventEmitter } from 'node:events';
import type { Server as CoreServer, WebServer } from '../../index';

export declare const ERR_CALLBACK_LOST: -1;
export declare const ERR_NO_HANDSHAKE_RESPONSE: -2;
export declare const ERR_APP_NOT_FOUND: 10;
export declare const ERR_AUTH_FAILED: 11;
export declare const ERR_INTERFACE_NOT_FOUND: 12;
export declare const ERR_INTERFACE_INCOMPATIBLE: 13;
export declare const ERR_METHOD_NOT_FOUND: 14;
export declare const ERR_NOT_A_SERVER: 15;
export declare const ERR_INTERNAL_API_ERROR: 16;
export declare const ERR_INVALID_SIGNATURE: 17;

/** What a method may report as an error: sent to the peer as `[code, message?, ...info]`. */
export type JstpError = RemoteError | Error | number | string | unknown[];

export declare class RemoteError extends Error {
  constructor(code: number, message?: string, info?: unknown[] | null);
  readonly name: 'RemoteError';
  code: number;
  info: unknown[] | null;
  toJSTP(): unknown[];
  /** @deprecated use toJSTP() */
  toJstpArray(): unknown[];
  static fromJstpArray(array: unknown[]): RemoteError;
  static getJstpArrayFor(error: JstpError): unknown[];
  static readonly defaultMessages: Record<number, string>;
}

/** `(error, ...results)`; `error` is a RemoteError, or ERR_CALLBACK_LOST (-1). */
export type Callback = (error: RemoteError | typeof ERR_CALLBACK_LOST | null, ...results: any[]) => void;
/** A call's callback typed as the docs show it, `(error: RemoteError | null, ...results)`,
 * or Node-style, `(err: Error | null, result?: T) => …`. A call lost with its connection
 * still gets ERR_CALLBACK_LOST (-1), as `Callback` says. */
export type ResultCallback = (error: RemoteError | null, ...results: any[]) => void;
/**
 * `(error, ...results)`, declared as a method so that its parameters are checked both
 * ways: a callback typed with its results required (`(err: Error | null, connection:
 * Connection) => …`, as Node's typings and the docs' examples have them) is accepted, as
 * is one typed with them optional; one typed with other types is not.
 */
export type ErrorFirst<E, R extends unknown[]> = { callback(error: E, ...results: R): void }['callback'];
export type MethodCallback = (error?: JstpError | null, ...results: unknown[]) => void;
export type Api = Record<string, Record<string, (connection: Connection, ...args: any[]) => unknown>>;
export type EventHandlers = Record<string, Record<string, (connection: Connection, ...args: any[]) => void>>;

export declare class Application {
  constructor(name: string, api: Api, eventHandlers?: EventHandlers, version?: string, sessionStorageProvider?: SessionStorageProvider);
  constructor(name: string, api: Api, eventHandlers: EventHandlers, sessionStorageProvider: SessionStorageProvider);
  name: string;
  version: string;
  api: Api;
  eventHandlers: EventHandlers;
  sessionsStorage?: SessionStorageProvider;
  callMethod(connection: Connection, interfaceName: string, methodName: string, args: unknown[], callback: MethodCallback): void;
  getMethods(interfaceName: string): string[] | undefined;
  handleEvent(connection: Connection, interfaceName: string, eventName: string, args: unknown[]): void;
}

export type AppsIndex = Map<string, Map<string, Application>>;
export declare function createAppsIndex(applications: Application[]): AppsIndex;

export declare class Session extends Map<unknown, unknown> {
  constructor(connection: Connection | null, username: string | null, sessionId?: string | null, state?: Iterable<[unknown, unknown]>);
  id: string;
  connection: Connection | null;
  username: string | null;
  guaranteedDeliveredCount: number;
  receivedCount: number;
  latestBufferedMessageId: number;
  buffer: Map<number, string>;
  toString(): string;
  static fromString(text: string): Session;
}

/** A remote method: `(...args[, callback[, resend]])`, the callback as callMethod's. It returns nothing. */
export type RemoteMethod = (...argsCallbackAndResend: any[]) => void;

export declare class RemoteProxy extends EventEmitter {
  constructor(connection: Connection, interfaceName: string, methods?: string[]);
  /** Remote methods: `(...args[, callback[, resend]])`. */
  [method: string]: RemoteMethod;
  /** Sends the event to the peer, and emits it locally. */
  emit(eventName: string | symbol, ...args: unknown[]): boolean;
}

/** A transport for `new Connection(transport, server, client)`: emits 'message'
 * (a parsed message object), 'error' and 'close'. */
export interface Transport extends EventEmitter {
  send(data: string): void;
  end(data?: string): void;
  destroy?(): void;
  getRawTransport(): any;
}

export type AppSpec = string | { name: string; version?: string };

export type Reconnector = (connection: Connection, reconnect: (...transportAndOptions: any[]) => void) => void;

export interface ConnectPolicy {
  connect(app: AppSpec, connection: Connection, session: Session | null | undefined, callback: (error: Error | null, connection: Connection, session?: Session) => void): void;
}

export interface Client {
  application?: Application;
  connectPolicy?: ConnectPolicy | ConnectPolicy['connect'];
  heartbeatInterval?: number;
  /** connkit: drop the connection when the server is silent this long (ms). */
  heartbeatTimeout?: number;
  session?: Session;
  reconnector?: Reconnector;
  logger?: EventEmitter;
}

export declare class Connection extends EventEmitter {
  constructor(transport: Transport, server?: JstpServerLike | null, client?: Client | null);
  readonly id: number;
  server?: JstpServerLike;
  client?: Client;
  transport: Transport | null;
  remoteAddress: unknown;
  handshakeDone: boolean;
  username: string | null;
  session: Session | null;
  application: Application | null;
  remoteProxies: Record<string, RemoteProxy>;
  closedIntentionally: boolean;
  handshake(app: AppSpec, callback: HandshakeCallback): void;
  handshake(app: AppSpec, session: Session | null | undefined, callback: HandshakeCallback): void;
  handshake(app: AppSpec, login: string, password: string, callback: HandshakeCallback): void;
  inspectInterface(interfaceName: string, callback?: ErrorFirst<RemoteError | null, [proxy?: RemoteProxy]>): void;
  callMethod(interfaceName: string, methodName: string, args: unknown[], callback?: Callback): void;
  callMethod(interfaceName: string, methodName: string, args: unknown[], callback?: ResultCallback): void;
  callMethodWithResend(interfaceName: string, methodName: string, args: unknown[], callback?: Callback): void;
  callMethodWithResend(interfaceName: string, methodName: string, args: unknown[], callback?: ResultCallback): void;
  emitRemoteEvent(interfaceName: string, eventName: string, args: unknown[]): void;
  /** `callback` gets ERR_CALLBACK_LOST (-1) if the pong was lost with a connection. */
  ping(callback?: (error?: typeof ERR_CALLBACK_LOST) => void): void;
  startHeartbeat(interval: number): void;
  stopHeartbeat(): void;
  close(): void;
  getTransport(): any;
}

export interface AuthPolicy {
  authenticate(connection: Connection, application: Application, strategy: string, credentials: unknown, callback: (error: Error | null, username?: string | null) => void): void;
}

export interface SessionStorageProvider {
  get(sessionId: string, callback?: (session: Session | undefined) => void): Session | undefined | void;
  set(sessionId: string, session: Session): unknown;
  isAsync(): boolean;
  setInactive?(sessionId: string): void;
}

export declare class SimpleSessionStorageProvider extends Map<string, unknown> implements SessionStorageProvider {
  constructor(inactiveSessionLifetime?: number, purgeInterval?: number);
  get(sessionId: string): any;
  set(sessionId: string, session: Session): this;
  isAsync(): false;
  setInactive(sessionId: string): void;
}

export declare class SimpleConnectPolicy implements ConnectPolicy {
  constructor(login?: string, password?: string);
  login?: string;
  password?: string;
  connect(app: AppSpec, connection: Connection, session: Session | null | undefined, callback: (error: Error | null, connection: Connection, session?: Session) => void): void;
}

export interface ServerOptions {
  applications: Application[] | AppsIndex;
  authPolicy?: AuthPolicy | AuthPolicy['authenticate'];
  sessionStorageProvider?: SessionStorageProvider;
  heartbeatInterval?: number;
  /** connkit: drop a client silent this long (ms) while heartbeats run. */
  heartbeatTimeout?: number;
  clientExpirationTime?: number;
}

/** What every JSTP server has, whatever carries it. */
export interface JstpServerLike {
  applications: AppsIndex;
  clients: Map<number, Connection>;
  heartbeatInterval?: number;
  getClients(): IterableIterator<Connection>;
  getClientsArray(): Connection[];
  updateApplications(applications: Application[] | AppsIndex): void;
  updateConnectionsApi(): void;
  broadcast(interfaceName: string, eventName: string, ...eventArgs: unknown[]): void;
}

export type NetServer = CoreServer & JstpServerLike;
/** On connkit's WebServer (the original's extends http.Server): listen, address,
 * close and the server events, plus the original's `isOriginAllowed`. */
export type WebSocketServer = WebServer & JstpServerLike & { isOriginAllowed(origin?: string): boolean };
export type SecureWebSocketServer = WebSocketServer;

export interface WebSocketOptions {
  originCheckStrategy?: (origin: string) => boolean;
  [option: string]: unknown;
}

type ConnectCallback = ErrorFirst<Error | null, [connection?: Connection, session?: Session]>;
type InspectCallback = ErrorFirst<Error | null, [connection?: Connection, proxies?: Record<string, RemoteProxy>]>;
type ReconnectCallback = ErrorFirst<Error | null, [connection?: Connection]>;
/** A new session's callback gets the Session; a restored one's, only the error. */
type HandshakeCallback = ErrorFirst<RemoteError | Error | null, [session?: Session]>;

/** Arguments after `client` are those of `net.connect` / `tls.connect`, then the callback. */
export interface SocketTransportModule<S> {
  /** A transport over a connkit socket or any Node stream (net.Socket, tls.TLSSocket). */
  Transport: new (socket: NodeJS.ReadWriteStream | object) => Transport;
  Server: new (options: ServerOptions & Record<string, unknown>, listener?: (connection: Connection) => void) => S;
  createServer(options: (ServerOptions & Record<string, unknown>) | Application[], listener?: (connection: Connection) => void): S;
  connect(app: AppSpec, client: Client | null | undefined, ...argsAndCallback: [...unknown[], ConnectCallback]): void;
  connectAndInspect(app: AppSpec, client: Client | null | undefined, interfaces: string[], ...argsAndCallback: [...unknown[], InspectCallback]): void;
  reconnect(connection: Connection, ...argsAndCallback: [...unknown[], ReconnectCallback] | unknown[]): void;
}

/** Arguments after `client` are a `websocket` client config, the URL, then the callback. */
export interface WebSocketTransportModule<S> {
  /** A transport over a `websocket` package connection. */
  Transport: new (connection: object) => Transport;
  Server: new (options: ServerOptions & Record<string, unknown>, webSocketOptions?: WebSocketOptions, listener?: (connection: Connection) => void) => S;
  createServer(options: (ServerOptions & Record<string, unknown>) | Application[], webSocketOptions?: WebSocketOptions, listener?: (connection: Connection) => void): S;
  connect(app: AppSpec, client: Client | null | undefined, webSocketConfig: object, url: string, ...argsAndCallback: [...unknown[], ConnectCallback]): void;
  connectAndInspect(app: AppSpec, client: Client | null | undefined, interfaces: string[], webSocketConfig: object, url: string, ...argsAndCallback: [...unknown[], InspectCallback]): void;
  reconnect(connection: Connection, webSocketConfig: object, url: string, ...argsAndCallback: [...unknown[], ReconnectCallback] | unknown[]): void;
}

export declare const net: SocketTransportModule<NetServer>;
export declare const tls: SocketTransportModule<NetServer>;
export declare const ws: WebSocketTransportModule<WebSocketServer>;
export declare const wss: WebSocketTransportModule<SecureWebSocketServer>;

export declare const Server: {
  /** Adds JSTP server behaviour to a server class; the subclass provides createTransport(raw). */
  JstpServer: <T extends new (...args: any[]) => EventEmitter>(Base: T) => T & (new (...args: any[]) => JstpServerLike);
};

// Connect callbacks, for users who type them.
export type { ConnectCallback, InspectCallback, ReconnectCallback, HandshakeCallback };
