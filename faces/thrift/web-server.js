'use strict';

// thrift's createWebServer on the core's web server (hyper): Thrift over HTTP POST to
// each service's path, over WebSocket (to the first service, as the original), static
// files from `files` with `headers`, CORS for `cors` origins, and TLS with `tls`.
// The returned server has a Node server's listen / address / close and events.

const thrift = require('thrift');
const { WebServer } = require('../../lib/web-server');
const { framingOptions, transportFor } = require('./stack');
const { serveStream } = require('./server');
const { serverTls } = require('./tls');

const { TBufferedTransport, TBinaryProtocol, MultiplexedProcessor, InputBufferUnderrunError } = thrift;

/** A service's processor, transport and protocol, resolved as the original does
 * (a processor, or a generated service as `processor` or `cls`, with a handler). */
function resolve(svc) {
  let processor = svc.processor;
  if (!(processor instanceof MultiplexedProcessor)) {
    const Processor = svc.processor ? svc.processor.Processor || svc.processor : svc.cls.Processor || svc.cls;
    processor = svc.handler ? new Processor(svc.handler) : Processor;
  }
  return { processor, Transport: svc.transport || TBufferedTransport, Protocol: svc.protocol || TBinaryProtocol };
}

/** `cors` as the original reads it: origins as keys (`{ '*': true }`); arrays, as
 * its documentation has them, too. */
function corsOrigins(cors) {
  if (!cors) return undefined;
  if (Array.isArray(cors)) return cors.map(String);
  return Object.keys(cors).filter((origin) => cors[origin]);
}

/** Answers one POST: its body holds a request (buffered: one; framed: any number). */
function servePost(service, request) {
  const { processor, Transport, Protocol } = service;
  const receive = Transport.receiver((received) => {
    const input = new Protocol(received);
    const output = new Protocol(transportFor(Transport, (buf) => request.respond(200, buf)));
    try {
      processor.process(input, output);
      received.commitPosition();
    } catch (error) {
      // A body cut short will not grow (the original waited for more, forever).
      request.respond(error instanceof InputBufferUnderrunError ? 400 : 500);
    }
  });
  try {
    receive(request.body);
  } catch {
    request.respond(500);
  }
}

function createWebServer(options = {}) {
  const paths = Object.keys(options.services || {});
  const services = paths.map((path) => resolve(options.services[path]));
  const first = services[0];
  const tls = options.tls ? serverTls(options.tls) : {};
  const server = new WebServer({
    services: paths,
    cors: corsOrigins(options.cors),
    files: options.files || undefined,
    headers: options.headers,
    ...tls,
    // WebSocket messages speak to the first service, framed as it is.
    ...(first ? framingOptions(first.Transport, first.Protocol) : {}),
  });
  server.on('request', (request) => servePost(services[paths.indexOf(request.service)], request));
  server.on('connection', (stream) => serveStream(server, stream, first.processor, first.Transport, first.Protocol));
  return server;
}

module.exports = { createWebServer };
