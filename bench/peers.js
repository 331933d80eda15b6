'use strict';

// The two implementations under test, with identical work: 4-byte big-endian
// length-prefixed frames, framed natively by connkit and in JS for Node `net`.

const net = require('node:net');
const ck = require('..');

/** Incremental length-prefix parser for Node `net`: no quadratic re-buffering. */
function lengthFramer(onFrame) {
  let pending = null;
  return (chunk) => {
    let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= 4) {
      const len = buf.readUInt32BE(at);
      if (buf.length - at - 4 < len) break;
      onFrame(buf.subarray(at + 4, at + 4 + len));
      at += 4 + len;
    }
    pending = at < buf.length ? buf.subarray(at) : null;
  };
}

function frameOf(payload) {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

const node = {
  name: 'node net',
  /** A server calling `onFrame(frame, reply)` for every frame. */
  server(path, onFrame, ready) {
    const server = net.createServer((s) => {
      const reply = (f) => s.write(frameOf(f));
      s.on('data', lengthFramer((f) => onFrame(f, reply)));
      s.on('error', () => {});
    });
    server.listen(path, ready);
    return server;
  },
  client(path, onFrame, ready) {
    const s = net.connect(path, ready);
    s.on('data', lengthFramer(onFrame));
    return {
      // Each message framed as it is sent (as an application would), with
      // cork/uncork around each batch: Node's best case.
      sendMany(payload, n) {
        s.cork();
        let ok = true;
        for (let i = 0; i < n; i++) ok = s.write(frameOf(payload));
        s.uncork();
        return ok;
      },
      send(payload) {
        s.write(frameOf(payload));
      },
      onDrain(fn) {
        s.once('drain', fn);
      },
      close() {
        s.destroy();
      },
    };
  },
};

const connkit = {
  name: 'connkit',
  server(path, onFrame, ready) {
    const server = ck.createServer({ framing: 'length' }, (c) => {
      const reply = (f) => c.write(f);
      c.on('frame', (f) => onFrame(f, reply));
      c.on('error', () => {});
    });
    server.listen(path, ready);
    return server;
  },
  client(path, onFrame, ready) {
    const c = ck.createConnection({ path, framing: 'length' }, ready);
    c.on('frame', onFrame);
    return {
      sendMany(payload, n) {
        let ok = true;
        for (let i = 0; i < n; i++) ok = c.write(payload);
        return ok;
      },
      send(payload) {
        c.write(payload);
      },
      onDrain(fn) {
        c.once('drain', fn);
      },
      close() {
        c.destroy();
      },
    };
  },
};

module.exports = { node, connkit };
