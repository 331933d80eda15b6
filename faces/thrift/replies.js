'use strict';

// How a connection hands replies to the generated clients that made the calls, and
// fails the calls still waiting when their replies can no longer come. The wiring
// is the generated code's: `client._reqs[seqid]`, `client['recv_' + name](protocol,
// mtype, -rseqid)`, and `connection.seqId2Service` for multiplexed services.

const thrift = require('./peer');

const { Thrift, InputBufferUnderrunError } = thrift;

/** The generated client a reply with `rseqid` belongs to, and its service name. */
function clientFor(connection, rseqid) {
  const service = connection.seqId2Service[rseqid];
  return [service ? connection.client[service] : connection.client, service];
}

/** Dispatches the replies in `transport`. With `partial`, it may end mid-message
 * (a JS receiver's buffer) and holds as many replies as there are. */
function dispatch(connection, transport, partial) {
  const message = new connection.protocol(transport);
  try {
    do {
      const header = message.readMessageBegin();
      const dummy = header.rseqid * -1;
      const [client, service] = clientFor(connection, header.rseqid);
      client._reqs[dummy] = (err, success) => {
        // A native reader's transport holds just this message and is refilled for
        // the next; committing would copy it into a fresh zero-filled buffer.
        if (partial) transport.commitPosition();
        const callback = client._reqs[header.rseqid];
        delete client._reqs[header.rseqid];
        if (service) delete connection.seqId2Service[header.rseqid];
        if (callback) callback(err, success);
      };
      if (client[`recv_${header.fname}`]) {
        client[`recv_${header.fname}`](message, header.mtype, dummy);
      } else {
        delete client._reqs[dummy];
        connection.emit(
          'error',
          new Thrift.TApplicationException(Thrift.TApplicationExceptionType.WRONG_METHOD_NAME, 'Received a response to an unknown RPC function'),
        );
      }
    } while (partial);
  } catch (error) {
    if (partial && error instanceof InputBufferUnderrunError) transport.rollbackPosition();
    else connection.emit('error', error);
  }
}

/** Fails the call waiting on `seqid`, if it still is. */
function failCall(connection, seqid, error) {
  if (!connection.client) return;
  const [client, service] = clientFor(connection, seqid);
  const callback = client?._reqs?.[seqid];
  if (!callback) return;
  delete client._reqs[seqid];
  if (service) delete connection.seqId2Service[seqid];
  callback(error);
}

/** Whether the call `seqid` still waits for its reply. */
function isPending(connection, seqid) {
  if (!connection.client) return false;
  const [client] = clientFor(connection, seqid);
  return Boolean(client?._reqs?.[seqid]);
}

/** Fails every call waiting for a reply but those `keep(seqid)` spares (the originals
 * left them all waiting forever). */
function failAll(connection, error, keep = () => false) {
  const clients = connection.client && connection.client._reqs ? [connection.client] : Object.values(connection.client || {});
  for (const client of clients) {
    const reqs = client._reqs || {};
    for (const id of Object.keys(reqs)) {
      if (keep(Number(id))) continue;
      const callback = reqs[id];
      delete reqs[id];
      if (connection.seqId2Service[id] !== undefined) delete connection.seqId2Service[id];
      if (Number(id) > 0) callback(error);
    }
  }
}

module.exports = { dispatch, failCall, failAll, isPending };
