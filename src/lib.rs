//! connkit: a native connection core for Node.js.
//!
//! Layers, from the wire up:
//! - [`codec`]: framing (raw, delimited, length-prefixed, JSTP's mdsf, Thrift messages), with size limits.
//! - [`transport`]: dialing and listening over TCP, TLS, unix sockets and child stdio.
//! - [`policy`]: the reconnect schedule.
//! - [`conn`] / [`server`]: the tasks that drive connections and accept loops.
//! - [`bridge`] / [`hub`]: batched delivery of events to one JS environment.
//! - `node`: the Node-API functions `lib/native.js` calls.

#![deny(clippy::all)]

pub mod bridge;
pub mod codec;
pub mod conn;
pub mod error;
pub mod hub;
pub mod policy;
pub mod runtime;
pub mod server;
pub mod transport;

// The Node-API layer: napi-derive registers nothing under `cargo test`, and the
// layer needs a running Node, so the crate's own tests leave it out.
#[cfg(not(test))]
mod node;
