'use strict';

// thrift servers on the core's TCP, TLS and unix servers. With native framing each
// complete request is handed to the processor as it arrives; otherwise (JSON, header
// protocol) requests are found in JS, as the original does. The web server's
// WebSocket connections are served the same way.

const thrift = require('./peer');
const { Server: CoreServer } = require('../../lib/server');
const { framingFor, framingOptions, messageReader, payloadOf, receiveWhole, transportFor } = require('./stack');
const { serverTls } = require('./tls');

const { TBufferedTransport, TBinaryProtocol, THeaderProtocol, InputBufferUnderrunError } = thrift;
const { TProtocolException } = thrift.Thrift;

/** A request that cannot be read is the client's fault: its error gets a `code`, as
 * every connkit error has (thrift's own classes have none; an underrun has not even
 * a message). Errors of the application's handlers pass unchanged. */
/** thrift's readers throw plain errors on some bad input (a UUID field that is no
 * UUID: a TypeError; a field of an unknown type: "Invalid type: 0"): those thrown
 * inside the thrift library itself (its frame on top), not by a handler. */
const IN_THRIFT = /[\\/]node_modules[\\/]thrift[\\/]lib[\\/]/;
function thrownReading(error) {
  if (!(error instanceof Error) || typeof error.stack !== 'string') return false;
  // A TypeError or RangeError may come from Node's Buffer methods that thrift called.
  if (error instanceof TypeError || error instanceof RangeError) return IN_THRIFT.test(error.stack);
  const top = error.stack.split('\n').find((line) => line.trimStart().startsWith('at '));
  return top !== undefined && IN_THRIFT.test(top);
}

function coded(error) {
  if (error && error.code === undefined) {
    if (error instanceof InputBufferUnderrunError) {
      error.code = 'ERR_FRAME_MALFORMED';
      if (!error.message) error.message = 'a request ended in the middle of a message';
    } else if (error instanceof TProtocolException || thrownReading(error)) {
      error.code = 'ERR_THRIFT_PROTOCOL';
    }
  }
  return error;
}

/** createMultiplexServer(processor[, options]): `processor` is ready-made (a
 * MultiplexedProcessor, or `new Service.Processor(handler)`). */
function createMultiplexServer(processor, options = {}) {
  const Transport = options.transport || TBufferedTransport;
  const Protocol = options.protocol || TBinaryProtocol;
  const limits = framingOptions(Transport, Protocol, options.maxLength ?? undefined);
  const tls = options.tls ? serverTls(options.tls) : {};
  const server = new CoreServer({ ...tls, ...limits });

  server.on('connection', (stream) => serveStream(server, stream, processor, Transport, Protocol));
  return server;
}

/** Serves the requests that arrive on `stream`, one of `server`'s connections. With
 * native framing each `frame` is one request; otherwise requests are found in JS
 * (in `data`, or in each `frame` of a WebSocket, which holds whole requests). */
function serveStream(server, stream, processor, Transport, Protocol) {
  const native = framingFor(Transport, Protocol) !== null;
  // A bad client must not take the server down: its errors go to the server's
  // 'error' only when someone listens there (the original emitted them regardless).
  const fail = (error) => {
    if (server.listenerCount('error') > 0) server.emit('error', coded(error));
    stream.end();
  };
  stream.on('error', (error) => server.listenerCount('error') > 0 && server.emit('error', error));
  stream.on('end', () => stream.end());
  const write = (buf) => stream.write(payloadOf(Transport, native, buf));
  // One output for the connection's replies, each written whole in one go. The
  // protocols keep the seqid of the reply being written (the compact one never
  // forgets it, and warns on the next), so it is forgotten once a reply is out.
  const output = new Protocol(
    transportFor(Transport, (buf) => {
      output._seqid = null;
      write(buf);
    }),
  );
  const respond = (input) => {
    if (Protocol !== THeaderProtocol) return output;
    // The header protocol answers with headers only if the request had them.
    input.trans.onFlush = write;
    return input;
  };
  if (native) {
    const read = messageReader(Transport);
    stream.on('frame', (bytes) => {
      const input = new Protocol(read(bytes));
      try {
        processor.process(input, respond(input));
      } catch (error) {
        fail(error);
      }
    });
  } else if (stream.framed) {
    stream.on('frame', (bytes) => receiveWhole(Transport, bytes, (received) => serveAll(processor, received, Protocol, respond, fail)));
  } else {
    stream.on('data', Transport.receiver((received) => serveAll(processor, received, Protocol, respond, fail)));
  }
}

/** The original's loop over a buffer that may end mid-request. */
function serveAll(processor, received, Protocol, respond, fail) {
  const input = new Protocol(received);
  const output = respond(input);
  try {
    for (;;) {
      processor.process(input, output);
      received.commitPosition();
    }
  } catch (error) {
    // An incomplete request waits for the rest; "Invalid type: undefined" is how the
    // protocols say the buffer is used up.
    if (error instanceof InputBufferUnderrunError || error.message === 'Invalid type: undefined') received.rollbackPosition();
    else fail(error);
  }
}

/** createServer(Service | Processor, handler[, options]) */
function createServer(processor, handler, options) {
  const Processor = processor.Processor || processor;
  return createMultiplexServer(new Processor(handler), options);
}

module.exports = { createServer, createMultiplexServer, serveStream };
