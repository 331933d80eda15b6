'use strict';

// thrift's createWebServer on the core's generic web server (hyper): Thrift over HTTP
// POST to each service's path, over WebSocket (to the first service, as the original),
// static files from `files` with `headers`, CORS for `cors` origins, and TLS with
// `tls`. Thrift's own answers, texts, headers and content types are chosen here. The
// returned server has a Node server's listen / address / close and events.

const thrift = require('./peer');
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

// The content types the original's static files get, by extension.
const CONTENT_TYPES = {
  txt: 'text/plain',
  html: 'text/html',
  css: 'text/css',
  xml: 'application/xml',
  json: 'application/json',
  js: 'application/javascript',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  png: 'image/png',
  svg: 'image/svg+xml',
};

// What the original's upgrade answer adds, from the hixie drafts, for clients that look.
const ECHO = { 'sec-websocket-origin': 'origin', 'sec-websocket-location': 'location' };

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

/** What the original answers each request the core hands over: a POST to a
 * service's path is served; a POST elsewhere, a refused origin, an upgrade with no
 * service, a GET with no files and any other method get its statuses and texts. */
function route(services, request) {
  if (request.upgrade) request.respond(403, undefined, 'No Apache Thrift Service available');
  else if (request.method === 'GET') request.respond(404);
  else if (request.method !== 'POST') request.respond(500);
  else if (!services.has(request.path)) request.respond(403, undefined, `No Apache Thrift Service at ${request.path}`);
  else if (request.originDenied) request.respond(403, undefined, `Origin ${request.origin} not allowed`);
  else servePost(services.get(request.path), request);
}

function createWebServer(options = {}) {
  const services = new Map(Object.keys(options.services || {}).map((path) => [path, resolve(options.services[path])]));
  const [first] = services.values();
  const tls = options.tls ? serverTls(options.tls) : {};
  const origins = corsOrigins(options.cors);
  const server = new WebServer({
    // WebSocket messages speak to the first service, framed as it is; with none,
    // upgrades are refused (route above).
    websocket: first ? { echo: ECHO } : undefined,
    cors: origins && { origins, allowMethods: 'GET, POST, OPTIONS', allowHeaders: 'content-type, accept', maxAge: 60 },
    files: options.files ? { root: options.files, types: CONTENT_TYPES, headers: options.headers } : undefined,
    ...tls,
    ...(first ? framingOptions(first.Transport, first.Protocol) : {}),
  });
  server.on('request', (request) => route(services, request));
  server.on('connection', (stream) => serveStream(server, stream, first.processor, first.Transport, first.Protocol));
  return server;
}

module.exports = { createWebServer };
