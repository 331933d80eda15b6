// Type definitions for connkit/socket-ipc, a drop-in for @crussell52/socket-ipc 0.4.0.

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';

export interface MessageWrapper {
  topic: string;
  message: any;
}

export type EncodedCallback = (error: Error | null, data?: string | Buffer | null) => void;
export type EncoderFunc = (msgWrapper: MessageWrapper, callback: EncodedCallback) => void;
export type DecodedCallback = (error: Error | null, data?: MessageWrapper[]) => void;
export type DecoderFunc = (chunk: any, callback: DecodedCallback) => void;

export interface Transcoder {
  socketEncoding?: BufferEncoding;
  createEncoder(): EncoderFunc;
  createDecoder(): DecoderFunc;
}

export type Delay = number | { min: number; max: number };

export interface ServerOptions {
  socketFile: string;
  transcoder?: Transcoder;
  /** connkit: the largest message accepted, in bytes (default 256 MiB). */
  maxFrameSize?: number;
}

export interface ClientOptions extends ServerOptions {
  /** Default 1000 ms. */
  retryDelay?: Delay;
  /** Default 100 ms. */
  reconnectDelay?: Delay;
}

export class Server extends EventEmitter {
  constructor(options: ServerOptions);
  listen(): void;
  send(topic: string, message: any, clientId: string): void;
  broadcast(topic: string, message: any): void;
  close(): void;

  on(event: 'listening' | 'close' | 'closed', listener: () => void): this;
  /** The socket is a Node `net.Socket` (a connkit `Connection`). */
  on(event: 'connection', listener: (clientId: string, socket: Socket) => void): this;
  on(event: 'message', listener: (message: any, topic: string, clientId: string) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: `message.${string}`, listener: (message: any, clientId: string) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export class Client extends EventEmitter {
  constructor(options: ClientOptions);
  connect(): void;
  send(topic: string, message: any): void;
  close(): void;

  /** The socket is a Node `net.Socket` (a connkit `Connection`). */
  on(event: 'connect' | 'reconnect', listener: (socket: Socket) => void): this;
  on(event: 'disconnect' | 'close' | 'closed', listener: () => void): this;
  on(event: 'connectError' | 'error', listener: (error: Error) => void): this;
  on(event: 'message', listener: (message: any, topic: string) => void): this;
  on(event: `message.${string}`, listener: (message: any) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export class MessageError extends Error {
  /** connkit: one per class, e.g. `'ERR_SOCKET_IPC_DECODE'` (the original's errors have none). */
  code: string;
}
export class DecodeError extends MessageError {
  constructor(errorMessage: string, rawData: any, clientId?: string);
  rawData: any;
  clientId?: string;
}
export class SendError extends MessageError {
  constructor(errorMessage: string, message: any, topic: string);
  sentTopic: string;
  sentMessage: any;
}
export class SendAfterCloseError extends SendError {}
export class NoServerError extends SendError {}
export class BadClientError extends SendError {
  constructor(errorMessage: string, message: any, topic: string, clientId: string);
  clientId: string;
}
export class EncodeError extends SendError {
  constructor(errorMessage: string, msgWrapper: MessageWrapper);
}
