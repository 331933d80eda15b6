// connkit/thrift (work in progress): the connection API; everything else is the real
// `thrift` package's, re-exported.
import { EventEmitter } from 'node:events';

export interface ConnectOptions {
  transport?: unknown;
  protocol?: unknown;
  timeout?: number;
  debug?: boolean;
  max_attempts?: number;
  retry_max_delay?: number;
  connect_timeout?: number;
  /** connkit: frames or messages larger than this fail the connection. */
  maxFrameSize?: number;
}

export interface SSLOptions extends ConnectOptions {
  key?: string | Buffer;
  cert?: string | Buffer;
  ca?: string | Buffer | Array<string | Buffer>;
  rejectUnauthorized?: boolean;
  servername?: string;
}

export declare class Connection extends EventEmitter {
  constructor(stream: NodeJS.ReadWriteStream | object, options?: ConnectOptions);
  seqId2Service: Record<number, string>;
  connected: boolean;
  client: any;
  transport: any;
  protocol: any;
  host?: string;
  port?: number;
  path?: string;
  isOpen(): boolean;
  write(data: Buffer, seqid?: number): void;
  end(): void;
  close(): void;
  destroy(): void;
}

export declare function createConnection(host: string, port: number, options?: ConnectOptions): Connection;
export declare function createSSLConnection(host: string, port: number, options?: SSLOptions): Connection;
export declare function createUDSConnection(path: string, options?: ConnectOptions): Connection;
export declare function createClient<T>(ServiceClient: { Client: new (...args: any[]) => T } | (new (...args: any[]) => T), connection: Connection): T;

// Re-exported from the real `thrift` package (typed loosely until issue 6's typings).
export declare const Thrift: any;
export declare const TBufferedTransport: any;
export declare const TFramedTransport: any;
export declare const TBinaryProtocol: any;
export declare const TCompactProtocol: any;
export declare const TJSONProtocol: any;
export declare const THeaderProtocol: any;
export declare const Int64: any;
export declare const Multiplexer: any;
export declare const MultiplexedProcessor: any;
export declare const InputBufferUnderrunError: any;
export declare function createServer(processor: any, handler: any, options?: { transport?: unknown; protocol?: unknown; tls?: object; maxLength?: number }): import('../../index').Server;
export declare function createMultiplexServer(processor: any, options?: { transport?: unknown; protocol?: unknown; tls?: object; maxLength?: number }): import('../../index').Server;
