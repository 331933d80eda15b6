//! connkit: a native connection core for Node.js.
//!
//! Layers, from the wire up:
//! - [`codec`]: framing (raw, delimited, length-prefixed, JSTP's mdsf, Thrift messages, WebSocket), with size limits.
//! - [`transport`]: dialing and listening over TCP, TLS, unix sockets and child stdio; WebSocket handshakes.
//! - [`policy`]: the reconnect schedule.
//! - [`conn`] / [`server`]: the tasks that drive connections and accept loops.
//! - [`http`]: request/response over HTTP/1.1, and a web server that upgrades WebSockets.
//! - [`bridge`] / [`hub`]: batched delivery of events to one JS environment.
//! - [`guard`]: a panic fails one connection, server or request, never the process.
//! - `node`: the Node-API functions `lib/native.js` calls.

#![deny(clippy::all)]

pub mod bridge;
pub mod codec;
pub mod conn;
pub mod error;
pub mod guard;
pub mod http;
pub mod hub;
pub mod policy;
pub mod runtime;
pub mod server;
pub mod transport;

// The Node-API layer: napi-derive registers nothing under `cargo test`, and the
// layer needs a running Node, so the crate's own tests leave it out.
#[cfg(not(test))]
mod node;
