'use strict';

// How a thrift transport/protocol pair maps onto the core: which framing finds its
// message boundaries, how a complete message is handed to the protocol classes, and
// what of a flushed buffer goes on the wire.

const thrift = require('./peer');

const { TBufferedTransport, TFramedTransport, TBinaryProtocol, TCompactProtocol } = thrift;

// The thrift libraries' defaults.
const MAX_FRAME = { framed: 16384000, buffered: 100 * 1024 * 1024 };

/** The core framing for a pair; null when boundaries must be found in JS (JSON, header). */
function framingFor(Transport, Protocol) {
  if (Protocol === thrift.THeaderProtocol) return null;
  if (Transport === TFramedTransport) return 'length';
  if (Transport !== TBufferedTransport) return null;
  if (Protocol === TBinaryProtocol) return 'thrift-binary';
  if (Protocol === TCompactProtocol) return 'thrift-compact';
  return null;
}

/** The core options that frame this pair, with the size limit. */
function framingOptions(Transport, Protocol, maxFrameSize) {
  const framing = framingFor(Transport, Protocol);
  return {
    framing: framing || 'raw',
    maxFrameSize: maxFrameSize ?? MAX_FRAME[Transport === TFramedTransport ? 'framed' : 'buffered'],
  };
}

/** A function giving a transport that holds one complete message, as the protocols
 * read it. Messages are read one at a time, synchronously, so a buffered transport
 * is made once and refilled (its constructor allocates a read buffer each time). */
function messageReader(Transport) {
  if (Transport === TFramedTransport) return (bytes) => new TFramedTransport(bytes);
  const transport = new Transport();
  if (Transport === TBufferedTransport) transport.read = readCopy;
  return (bytes) => {
    transport.inBuf = bytes;
    transport.readCursor = 0;
    transport.writeCursor = bytes.length;
    return transport;
  };
}

/** The buffered transport's read, a copy as there, into an uninitialised buffer
 * (the original zero-fills it first). */
function readCopy(len) {
  this.ensureAvailable(len);
  const buf = Buffer.allocUnsafe(len);
  this.inBuf.copy(buf, 0, this.readCursor, this.readCursor + len);
  this.readCursor += len;
  return buf;
}

/** Makes a new `Transport` whose flush sends the same bytes with one copy into an
 * uninitialised buffer: the originals zero-fill what they allocate, and the framed
 * transport copies each message twice. Other transports are made as they are. */
function transportFor(Transport, onFlush) {
  const transport = new Transport(undefined, onFlush);
  if (Transport === TBufferedTransport || Transport === TFramedTransport) transport.flush = flushOnce;
  return transport;
}

function flushOnce() {
  const seqid = this._seqid;
  this._seqid = null;
  const prefix = this instanceof TFramedTransport ? 4 : 0;
  if (prefix === 0 && this.outCount < 1) return;
  const msg = Buffer.allocUnsafe(prefix + this.outCount);
  if (prefix) msg.writeInt32BE(this.outCount, 0);
  let pos = prefix;
  for (const buf of this.outBuffers) {
    msg.set(buf, pos);
    pos += buf.length;
  }
  if (this.onFlush) this.onFlush(msg, seqid);
  this.outBuffers = [];
  this.outCount = 0;
}

/** What of a flushed buffer to write: the framed transport's flush carries its own
 * length prefix, which the core's length codec writes itself. */
const payloadOf = (Transport, framed, buf) => (framed && Transport === TFramedTransport ? buf.subarray(4) : buf);

/** Hands `bytes`, which hold whole messages of a pair the core does not frame, to
 * `onTransport` through the transport's own reader, as the original reads them. */
const receiveWhole = (Transport, bytes, onTransport) => Transport.receiver(onTransport)(bytes);

module.exports = { framingFor, framingOptions, messageReader, payloadOf, receiveWhole, transportFor };
