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
