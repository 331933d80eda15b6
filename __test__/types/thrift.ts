// Typed the way code is written against @types/thrift; compiled with --strict.
// (package.test.js also compiles thrift-compiler-generated declarations against these typings.)
import * as net from 'node:net';
import * as thrift from 'connkit/thrift';
import { Int64, Multiplexer, MultiplexedProcessor, TBinaryProtocol, TBufferedTransport, TFramedTransport, Thrift } from 'connkit/thrift';
import type { ConnectOptions, ServerOptions, TProtocol, TStructLike, TTransport } from 'connkit/thrift';

// What the compiler generates for `struct Pair { 1: i32 a, 2: i64 b }` and `exception Oops
// { 1: string why }`, and for a service's Client and Processor, written out by hand.
class Pair implements TStructLike {
  a = 0;
  b = new Int64(0);
  read(input: TProtocol): void {
    input.readStructBegin();
    for (;;) {
      const field = input.readFieldBegin();
      if (field.ftype === Thrift.Type.STOP) break;
      if (field.fid === 1 && field.ftype === Thrift.Type.I32) this.a = input.readI32();
      else if (field.fid === 2 && field.ftype === Thrift.Type.I64) this.b = input.readI64();
      else input.skip(field.ftype);
      input.readFieldEnd();
    }
    input.readStructEnd();
  }
  write(output: TProtocol): void {
    output.writeStructBegin('Pair');
    output.writeFieldBegin('a', Thrift.Type.I32, 1);
    output.writeI32(this.a);
    output.writeFieldEnd();
    output.writeFieldBegin('b', Thrift.Type.I64, 2);
    output.writeI64(this.b);
    output.writeFieldEnd();
    output.writeFieldStop();
    output.writeStructEnd();
  }
}

class Oops extends Thrift.TException {
  constructor(public why: string) {
    super(why);
  }
}

interface CalcHandler {
  add(a: number, b: number): number;
}

class CalcClient {
  constructor(
    private output: TTransport,
    private pClass: { new (trans: TTransport): TProtocol },
  ) {}
  add(a: number, b: number, callback: (error: Oops | Thrift.TApplicationException | null, sum: number) => void): void {
    const protocol = new this.pClass(this.output);
    protocol.writeMessageBegin('add', Thrift.MessageType.CALL, 1);
    protocol.writeI32(a + b);
    protocol.writeMessageEnd();
    protocol.flush();
    callback(null, a + b);
  }
}

class CalcProcessor {
  constructor(private handler: CalcHandler) {}
  process(input: TProtocol, output: TProtocol): void {
    const message = input.readMessageBegin();
    if (message.fname !== 'add') {
      const error = new Thrift.TApplicationException(Thrift.TApplicationExceptionType.UNKNOWN_METHOD, `Unknown function ${message.fname}`);
      output.writeMessageBegin(message.fname, Thrift.MessageType.EXCEPTION, message.rseqid);
      error.write(output);
    } else {
      output.writeMessageBegin('add', Thrift.MessageType.REPLY, message.rseqid);
      output.writeI32(this.handler.add(input.readI32(), input.readI32()));
    }
    output.writeMessageEnd();
    output.flush();
  }
}

const Calc = { Client: CalcClient, Processor: CalcProcessor };

// Connections, their options and events.
const options: ConnectOptions = {
  transport: TFramedTransport,
  protocol: thrift.TCompactProtocol,
  max_attempts: 5,
  retry_max_delay: 2000,
  connect_timeout: 10000,
  timeout: 5000,
  maxFrameSize: 1 << 20,
};
const connection: thrift.Connection = thrift.createConnection('localhost', 9090, options);
connection.on('connect', () => console.log('connected', connection.connected, connection.host, connection.port));
connection.on('error', (error: Error) => console.error(error.message));
connection.on('timeout', () => connection.destroy());
connection.once('close', () => console.log('closed'));
connection.on('reconnecting', (event) => {
  const delay: number = event.delay;
  const attempt: number = event.attempt;
  console.log(delay, attempt);
});

const client = thrift.createClient(Calc, connection);
client.add(1, 2, (error, sum) => {
  if (error instanceof Oops) console.log(error.why);
  else if (error) console.log(error.type === Thrift.TApplicationExceptionType.UNKNOWN_METHOD, error.message);
  else console.log(sum.toFixed());
});

const secure = thrift.createSSLConnection('localhost', 9091, { ca: 'pem', rejectUnauthorized: true, servername: 'calc', max_attempts: 3 });
const local = thrift.createUDSConnection('/tmp/calc.sock', { transport: TBufferedTransport, protocol: TBinaryProtocol });
const child = thrift.createStdIOConnection('node calc-server.js', { transport: TFramedTransport });
child.on('exit', (code, signal) => console.log(code ?? signal));
const childClient: CalcClient = thrift.createStdIOClient(CalcClient, child);
const own = new thrift.Connection(net.connect(9090, 'localhost'), { transport: TFramedTransport });
console.log(connection.isOpen(), secure.host, local.path, childClient, own.options.transport === TFramedTransport);
connection.open((error?: Error) => console.log(error?.message));
connection.end();
secure.close();

// Several services over one connection, and servers.
const multiplexer = new Multiplexer();
const calc: CalcClient = multiplexer.createClient('Calc', Calc, connection);
console.log(calc, connection.seqId2Service[1]);

const handler: CalcHandler = { add: (a, b) => a + b };
const serverOptions: ServerOptions<CalcProcessor, CalcHandler> = { transport: TFramedTransport, protocol: TBinaryProtocol, maxLength: 1 << 20 };
const server = thrift.createServer(Calc, handler, serverOptions);
server.on('error', (error) => console.error(error.code));
server.listen(9090, () => server.close());

const processor = new MultiplexedProcessor();
processor.registerProcessor('Calc', new Calc.Processor(handler));
thrift.createMultiplexServer(processor, { tls: { key: 'key', cert: 'cert' } }).listen(9091);

// Transports and protocols by hand: serialize a struct, read it back.
let written: Buffer = Buffer.alloc(0);
const out = new TBufferedTransport(undefined, (msg) => (written = msg));
const pair = new Pair();
pair.a = 7;
pair.b = thrift.fromBigInt(1n << 40n);
pair.write(new TBinaryProtocol(out));
out.flush();
const receive = TBufferedTransport.receiver((transport: TTransport) => {
  const copy = new Pair();
  try {
    copy.read(new TBinaryProtocol(transport));
    transport.commitPosition();
  } catch (error) {
    if (error instanceof thrift.InputBufferUnderrunError) transport.rollbackPosition();
    else throw error;
  }
  const big: bigint = thrift.toBigInt(copy.b);
  console.log(copy.a, big, copy.b.toNumber(), copy.b.equals(pair.b), Int64.MAX_INT);
});
receive(written);

const frame = new TFramedTransport(Buffer.from([0, 0, 0, 1, 104, 105]));
console.log(frame.readI32(), frame.readString(2), new thrift.TJSONProtocol(frame).getTransport() === frame);

// Headers ride on the transport under THeaderProtocol.
const headed = new thrift.THeaderProtocol(new TFramedTransport());
headed.getTransport().setWriteHeader('trace-id', 'abc');
console.log(headed.getTransport().getReadHeaders()['trace-id']);

thrift.setLogLevel('warning');
thrift.setLogFunc((message) => process.stderr.write(message + '\n'));
const level: thrift.LogLevel = thrift.getLogLevel();
console.log(level, new Thrift.TProtocolException(Thrift.TProtocolExceptionType.SIZE_LIMIT, 'too big').type);

// What @types/thrift declares but thrift 0.24 does not have.
// @ts-expect-error: no Q at runtime (its name is type-only, for generated declarations)
console.log(thrift.Q);
// @ts-expect-error: TException has no getMessage()
console.log(new Oops('x').getMessage());
// @ts-expect-error: Type has UUID, not UTF8
console.log(Thrift.Type.UTF8);

// HTTP, XHR (in Node) and WebSocket connections, and the web server.
const httpConnection = thrift.createHttpConnection('localhost', 9090, { path: '/calc', https: true, nodeOptions: { timeout: 1000, ca: 'pem' } });
httpConnection.on('error', (error: Error) => {
  if (error instanceof thrift.THTTPException) console.log(error.statusCode, error.type);
});
console.log(httpConnection.isOpen(), httpConnection.headers, httpConnection.path);
httpConnection.close();
const uds = thrift.createHttpUDSConnection('/tmp/x.sock', {});
uds.write(Buffer.alloc(1), 1);
const xhr = thrift.createXHRConnection('localhost', 9090, { useCORS: true, path: '/calc' });
console.log(xhr.url, xhr.getSendBuffer(), xhr instanceof thrift.HttpConnection);
xhr.setRecvBuffer(new ArrayBuffer(0));
const reply: string | Buffer | Uint8Array | ArrayBuffer = xhr.getRecvBuffer();
console.log(reply, xhr.readAll(), xhr.read(4), xhr.wpos - xhr.rpos, xhr.isOpen(), xhr.getXmlHttpRequestObject() === null, xhr.flush());
const ws = thrift.createWSConnection('localhost', 9090, { secure: true, wsOptions: { ca: 'pem' }, closeTimeout: 100 });
ws.on('open', () => ws.close(1000, 'done'));
ws.on('message', (data: Buffer) => console.log(data.length));
ws.on('close', (code: number, reason: string) => console.log(code, reason));
ws.open();
const webServer = thrift.createWebServer({ services: { '/calc': { transport: TBufferedTransport, protocol: TBinaryProtocol } }, cors: ['https://a.example'], tls: { key: 'k', cert: 'c' } });
webServer.listen(0, '127.0.0.1', () => console.log(webServer.address()));
