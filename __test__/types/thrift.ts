// Typed the way users of thrift write their connection code; compiled with --strict.
import * as thrift from 'connkit/thrift';

interface CalcClient {
  add(a: number, b: number, callback: (error: Error | null, sum: number) => void): void;
}
declare const Calc: { Client: new (...args: any[]) => CalcClient };

const connection: thrift.Connection = thrift.createConnection('localhost', 9090, {
  transport: thrift.TFramedTransport,
  protocol: thrift.TCompactProtocol,
  max_attempts: 5,
  retry_max_delay: 2000,
  connect_timeout: 10000,
  timeout: 5000,
});
connection.on('error', (error: Error) => console.error(error));
connection.on('reconnecting', (event: { delay: number; attempt: number }) => console.log(event.delay, event.attempt));
const client: CalcClient = thrift.createClient(Calc, connection);
client.add(1, 2, (error, sum) => console.log(error, sum));
const secure = thrift.createSSLConnection('localhost', 9091, { ca: 'pem', rejectUnauthorized: true });
const local = thrift.createUDSConnection('/tmp/calc.sock');
console.log(connection.isOpen(), secure.host, local.path);
connection.end();
