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

// Mistakes users make; each must stay an error.
// @ts-expect-error: an interface's members are methods
new jstp.Application('calc', { calculator: { add: 1 } });
// @ts-expect-error: heartbeatInterval is in ms, a number
jstp.net.createServer({ applications: [app], heartbeatInterval: '1s' });
// @ts-expect-error: an unknown client option (a misspelt `reconnector`) is not silently ignored
const misspelt: jstp.Client = { reconector: () => {} };
// @ts-expect-error: a remote error's code is a number (jstp.ERR_*)
new jstp.RemoteError('11');
jstp.net.connect('calc', null, 3000, 'localhost', (err, connection) => {
  // @ts-expect-error: callMethod() takes the arguments as an array
  connection?.callMethod('calculator', 'add', 1, 2);
  // @ts-expect-error: a connection's id is a number
  const id: string | undefined = connection?.id;
});
