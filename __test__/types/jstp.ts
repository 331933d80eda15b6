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
