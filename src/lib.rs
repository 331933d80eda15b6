//! connkit: a native connection core for Node.js.
//!
//! Layers, from the wire up:
//! - [`codec`]: framing (raw, delimited, length-prefixed, WebSocket), with size limits.
//! - [`packs`]: protocol packs plugged into codecs: Thrift's message scanner, mdsf to JSON.
//! - [`transport`]: dialing and listening over TCP, TLS, unix sockets and child stdio; WebSocket handshakes.
//! - [`policy`]: the reconnect schedule.
//! - [`conn`] / [`server`]: the tasks that drive connections and accept loops.
//! - [`http`]: request/response over HTTP/1.1, and a web server that upgrades WebSockets.
//! - [`bridge`] / [`hub`]: batched delivery of events to one JS environment.
//! - [`guard`]: a panic fails one connection, server or request, never the process.
//! - `node`: the Node-API functions `lib/native.js` calls.

#![deny(clippy::all)]

/// An enum whose variants are numbered for the JS boundary, with `ALL`: every
/// variant and its name, so JS takes the numbers from here (`node::boundary`)
/// rather than from a copy.
macro_rules! numbered {
  ($(#[$meta:meta])* pub enum $enum:ident : $repr:ty { $( $(#[$doc:meta])* $name:ident = $value:expr, )* }) => {
    $(#[$meta])*
    #[repr($repr)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum $enum { $( $(#[$doc])* $name = $value, )* }

    impl $enum {
      pub const ALL: &'static [(&'static str, $enum)] = &[ $( (stringify!($name), $enum::$name), )* ];

      /// The variant numbered `n`, if any.
      pub fn from_number(n: u32) -> Option<$enum> {
        Self::ALL.iter().find(|(_, v)| *v as u32 == n).map(|(_, v)| *v)
      }
    }
  };
}

pub mod bridge;
pub mod codec;
pub mod conn;
pub mod error;
pub mod guard;
pub mod http;
pub mod hub;
pub mod packs;
pub mod policy;
pub mod runtime;
pub mod server;
pub mod transport;

// The Node-API layer: napi-derive registers nothing under `cargo test`, and the
// layer needs a running Node, so the crate's own tests leave it out.
#[cfg(not(test))]
mod node;
