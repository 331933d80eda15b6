// Typed the way users of @metarhia/jstp write it; compiled with --strict.
import * as jstp from 'connkit/jstp';

const app = new jstp.Application('calc@1.0.0', {
  calculator: {
    add: (connection: jstp.Connection, a: number, b: number, callback: jstp.MethodCallback) => callback(null, a + b),
    async twice(connection: jstp.Connection, n: number) {
      return n * 2;
    },
  },
});

const server = jstp.net.createServer({ applications: [app], heartbeatInterval: 1000, heartbeatTimeout: 5000 });
server.on('connect', (connection: jstp.Connection) => console.log(connection.id, connection.username));
server.listen(0, () => {
  const client: jstp.Client = { reconnector: (connection, reconnect) => setTimeout(() => reconnect(), 100) };
  jstp.net.connectAndInspect('calc@^1.0.0', client, ['calculator'], 3000, 'localhost', (error, connection, proxies) => {
    if (error || !connection || !proxies) return;
    proxies.calculator.add(1, 2, (err: jstp.RemoteError | null, sum: number) => console.log(err, sum));
    connection.callMethod('calculator', 'add', [1, 2], (err, sum) => {
      if (err === jstp.ERR_CALLBACK_LOST) return;
      if (err) console.log(err.code, err.message);
      console.log(sum);
    });
    connection.on('reconnectAttempt', (transport: string) => console.log(transport));
    connection.close();
    server.broadcast('calculator', 'tick', 1, 2);
    server.close();
  });
});

const error = new jstp.RemoteError(jstp.ERR_AUTH_FAILED, 'nope', ['x']);
const wire: unknown[] = error.toJSTP();
const back: jstp.RemoteError = jstp.RemoteError.fromJstpArray(wire);
const session: jstp.Session = jstp.Session.fromString(new jstp.Session(null, null).toString());
console.log(back.code, session.id, jstp.createAppsIndex([app]).size);
jstp.ws.connect('calc', null, {}, 'ws://localhost:3001', (err: Error | null, connection?: jstp.Connection) => connection?.close());
const wsServer = jstp.ws.createServer({ applications: [] }, { originCheckStrategy: (origin: string) => origin === 'https://app.example' });
wsServer.isOriginAllowed = () => true;
wsServer.listen(0, '127.0.0.1', () => console.log(wsServer.address(), wsServer.getClientsArray().length));

// The original's README, typed: Node-style callbacks, results required or optional.
const testApp = new jstp.Application('testApp', {
  someService: {
    sayHi(connection: jstp.Connection, name: string, callback: (error: Error | null, result?: string) => void) {
      callback(null, `Hi, ${name}!`);
    },
  },
});
jstp.net.createServer([testApp]).listen(3000, () => console.log('listening'));
function handleConnect(error: Error | null, connection: jstp.Connection, app: Record<string, jstp.RemoteProxy>) {
  if (error) return console.error(`Could not connect to the server: ${error}`);
  app.someService.sayHi('JSTP', (error: Error | null, message?: string) => console.log(error, message));
  connection.callMethod('someService', 'sayHi', ['JSTP'], (err: Error | null, message?: string) => console.log(err?.message, message));
  connection.callMethodWithResend('someService', 'sayHi', ['JSTP'], (err: jstp.RemoteError | null, message: string) => console.log(err?.code, message));
  connection.inspectInterface('someService', (err: Error | null, proxy?: jstp.RemoteProxy) => proxy?.sayHi('again'));
  connection.handshake('testApp', 'user', 'secret', (err: Error | null, session: jstp.Session) => console.log(err, session.id));
  connection.handshake('testApp', connection.session, (err: Error | null) => console.log(err));
}
jstp.net.connectAndInspect('testApp', null, ['someService'], 3000, 'localhost', handleConnect);
jstp.tls.connect('testApp', null, { host: 'localhost', port: 3000 }, (err: Error | null, connection: jstp.Connection, session: jstp.Session) => {
  if (err) return;
  jstp.tls.reconnect(connection, { host: 'localhost', port: 3000 }, (err: Error | null, again?: jstp.Connection) => again?.close());
  console.log(session.id);
});

// Mistakes users make; each must stay an error.
// @ts-expect-error: an interface's members are methods
new jstp.Application('calc', { calculator: { add: 1 } });
// @ts-expect-error: heartbeatInterval is in ms, a number
jstp.net.createServer({ applications: [app], heartbeatInterval: '1s' });
// @ts-expect-error: an unknown client option (a misspelt `reconnector`) is not silently ignored
const misspelt: jstp.Client = { reconector: () => {} };
// @ts-expect-error: a remote error's code is a number (jstp.ERR_*)
new jstp.RemoteError('11');
// @ts-expect-error: connect's callback gets the Connection, not a string
jstp.net.connect('calc', null, 3000, (err: Error | null, connection: string) => console.log(connection));
// @ts-expect-error: connectAndInspect's proxies are by interface name, not an array
jstp.net.connectAndInspect('calc', null, ['calculator'], 3000, (err: Error | null, connection: jstp.Connection, proxies: jstp.RemoteProxy[]) => {});
// @ts-expect-error: the callback comes last, and is required
jstp.net.connect('calc', null, 3000);
// @ts-expect-error: the handshake's callback gets (error, session): nothing is passed in a third place
new jstp.Connection({} as jstp.Transport, null, {}).handshake('calc', (err: Error | null, session: jstp.Session, extra: number) => {});
jstp.net.connect('calc', null, 3000, 'localhost', (err, connection) => {
  // @ts-expect-error: callMethod() takes the arguments as an array
  connection?.callMethod('calculator', 'add', 1, 2);
  // @ts-expect-error: a call's error is a RemoteError (or ERR_CALLBACK_LOST), not a string
  connection?.callMethod('calculator', 'add', [1, 2], (err: string, sum: number) => {});
  // @ts-expect-error: a remote method calls back; it returns no promise
  connection?.remoteProxies.calculator.add(1, 2).then(() => {});
  // @ts-expect-error: a connection's id is a number
  const id: string | undefined = connection?.id;
});
