// Type definitions for connkit/connman, a drop-in for connman 1.0.0.

import { Connection } from '../../index';

/**
 * The socket connman hands to `onConnect`: the same object across reconnects, with
 * the surface of a Node `net.Socket`. `end()` and `destroy()` end the current session
 * only (connman reconnects); `disconnect()` ends it for good.
 */
export interface ManagedSocket extends Connection {
  /** Ends the socket and stops reconnecting, also before it is open. */
  disconnect(): void;
  /** The socket itself: the original's `getConnection()` record had the socket here. */
  readonly sock: ManagedSocket;
}

/** The options of Node's `net.Socket` constructor that apply here. */
export interface SocketOptions {
  allowHalfOpen?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

export type OnConnect = (socket: ManagedSocket) => void;
export type OnData = (data: Buffer | string) => void;
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
