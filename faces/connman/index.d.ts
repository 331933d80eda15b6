// Type definitions for connkit/connman, a drop-in for connman 1.0.0.

import type * as net from 'node:net';
import type { ConnectionStats } from '../../index';

/**
 * The socket connman hands to `onConnect`: a Node `net.Socket` (a connkit
 * `Connection`), the same object across reconnects. `end()` and `destroy()` end the
 * current session only (connman reconnects); `disconnect()` ends it for good.
 */
export interface ManagedSocket extends net.Socket {
  /** Ends the socket and stops reconnecting, also before it is open. */
  disconnect(): void;
  /** The socket itself: the original's `getConnection()` record had the socket here. */
  readonly sock: ManagedSocket;
  /** connkit: the connection's counters and state. */
  stats(): ConnectionStats;
}

/** The options of Node's `net.Socket` constructor that apply here. */
export interface SocketOptions {
  allowHalfOpen?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

export type OnConnect = (socket: ManagedSocket) => void;
/**
 * Each chunk read: a `Buffer`, or a string once `socket.setEncoding()` was called.
 * Declared as a method, so `(buf: Buffer) => …` (as Node types a socket's `'data'`)
 * and `(text: string) => …` (with an encoding set) are both accepted; a listener
 * for anything else is not.
 */
export type OnData = { onData(data: Buffer | string): void }['onData'];
/** Called on every loss and failed attempt; a function returned becomes the next `onConnect`. */
export type OnReset = () => OnConnect | void | undefined | null;

export interface Pool {
  /** As the original's code: the 4th argument is `onData`, the 5th `onReset`. */
  addConnection(port: number | string, host: string | undefined, onConnect: OnConnect, onData: OnData, onReset: OnReset, options?: SocketOptions): void;
  getConnections(): ManagedSocket[];
  disconnect(): void;
}

export function connect(port: number | string, host: string | undefined, onConnect: OnConnect, onData: OnData, onReset: OnReset, options?: SocketOptions): void;
export function getConnection(port: number | string, host: string | undefined): ManagedSocket | undefined;
export function createPool(poolName: string): Pool;
export function getPool(poolName: string): Pool | undefined;
export function disconnectAll(): void;
