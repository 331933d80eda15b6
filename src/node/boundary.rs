//! What JS and the core must agree on, defined once, here or in the core, and handed
//! to JS by [`boundary`] when `lib/bridge.js` loads: event kinds, control ops, the
//! record formats' constants, and the names options take. `__test__/boundary.test.js`
//! fails if JS uses a name this does not define.

use napi_derive::napi;
use serde_json::{json, Map, Value};

use crate::bridge::{Kind, HEADER};
use crate::codec::ws::Messages;
use crate::http::server::{ORIGIN_DENIED, UPGRADE};
use crate::policy::backoff::Cap;

numbered! {
/// Control operations on a connection (`control(id, op, arg, arg2)`).
pub enum Op: u8 {
  End = 0,
  Destroy = 1,
  Pause = 2,
  Resume = 3,
  NoDelay = 4,
  KeepAlive = 5,
  Timeout = 6,
  Hangup = 7,
  Heartbeat = 8,
}
}

/// Bits of a write record's flags.
pub const FRAME: u8 = 1;
pub const ACK: u8 = 2;
/// A write record: `u32 id | u8 flags | u32 length`, then the bytes.
pub const RECORD_HEADER: usize = 9;

/// The framings a connection takes, by the name JS gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
  Raw,
  Length,
  Delimited,
  /// The mdsf pack over NULs (over a WebSocket: one message each).
  Jstp,
  ThriftBinary,
  ThriftCompact,
}

pub const FRAMINGS: &[(&str, Framing)] = &[
  ("raw", Framing::Raw),
  ("length", Framing::Length),
  ("delimited", Framing::Delimited),
  ("jstp", Framing::Jstp),
  ("thrift-binary", Framing::ThriftBinary),
  ("thrift-compact", Framing::ThriftCompact),
];

pub const CAPS: &[(&str, Cap)] = &[("clamp", Cap::Clamp), ("grow-below", Cap::GrowBelow), ("grow-below-snap", Cap::GrowBelowThenSnap)];

pub const MESSAGES: &[(&str, Messages)] = &[("binary", Messages::Binary), ("text", Messages::Text), ("as-asked", Messages::AsAsked)];

/// Where a client dials; a server listens on any but stdio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
  Tcp,
  Tls,
  Unix,
  Stdio,
}

pub const TRANSPORTS: &[(&str, Transport)] = &[("tcp", Transport::Tcp), ("tls", Transport::Tls), ("unix", Transport::Unix), ("stdio", Transport::Stdio)];

/// The value `name` stands for in `table`.
pub fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
  table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

fn numbers<T: Copy + Into<u8>>(all: &[(&str, T)]) -> Value {
  Value::Object(all.iter().map(|(name, v)| ((*name).to_owned(), Value::from((*v).into()))).collect::<Map<_, _>>())
}

fn names<T>(table: &[(&'static str, T)]) -> Vec<&'static str> {
  table.iter().map(|(n, _)| *n).collect()
}

impl From<Kind> for u8 {
  fn from(k: Kind) -> u8 {
    k as u8
  }
}

impl From<Op> for u8 {
  fn from(o: Op) -> u8 {
    o as u8
  }
}

/// The boundary's definitions as JSON, read once by `lib/bridge.js`.
#[napi(catch_unwind)]
pub fn boundary() -> String {
  json!({
    "kinds": numbers(Kind::ALL),
    "ops": numbers(Op::ALL),
    "eventHeader": HEADER,
    "writeHeader": RECORD_HEADER,
    "writeFlags": { "frame": FRAME, "ack": ACK },
    "requestFlags": { "originDenied": ORIGIN_DENIED, "upgrade": UPGRADE },
    "framings": names(FRAMINGS),
    "caps": names(CAPS),
    "messages": names(MESSAGES),
    "connectTransports": names(TRANSPORTS),
    "listenTransports": TRANSPORTS.iter().filter(|(_, t)| *t != Transport::Stdio).map(|(n, _)| *n).collect::<Vec<_>>(),
  })
  .to_string()
}
