//! Framing: turning a byte stream into frames and frames back into bytes.
//!
//! A [`Codec`] is chosen per connection. Decoding is incremental: the driver appends
//! whatever the socket gave it to one buffer and asks the decoder for every complete
//! frame in it, so a frame split across reads, or many frames in one read, cost the same.

mod delimited;
mod length;
pub mod mdsf;
mod thrift;
pub mod ws;

#[cfg(test)]
mod props;

use bytes::{Bytes, BytesMut};

pub use delimited::Delimited;
pub use length::LengthPrefixed;
pub use mdsf::Jstp;
pub use thrift::{Protocol as ThriftProtocol, ThriftMessages};
pub use ws::WebSocket;

/// Makes room for `missing` more bytes that a frame's header says are coming, but
/// never more than what has arrived (or 64 KiB): a peer's claim is not a reason to
/// allocate. Sixteen connections claiming 64 MiB each reserved 1 GiB before; a
/// large frame that really comes still grows the buffer by doubling.
pub(crate) fn reserve_claimed(buf: &mut BytesMut, missing: usize) {
  const FLOOR: usize = 64 * 1024;
  buf.reserve(missing.min(buf.len().max(FLOOR)));
}

/// Default ceiling for one frame: large enough for any sane message, small enough that
/// a peer cannot make us buffer without bound.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
  /// A frame (or the unterminated rest of one) is larger than the configured maximum.
  TooLarge { size: usize, max: usize },
  /// A frame's content does not parse; `offset` is a byte offset into it.
  Malformed { offset: usize, reason: &'static str },
  /// The peer closed the WebSocket (a close frame, §5.5.1): the end of the stream.
  Closed { code: u16, reason: String },
}

impl std::fmt::Display for FrameError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    match self {
      FrameError::TooLarge { size, max } => {
        write!(f, "frame of {size} bytes exceeds the maximum of {max} bytes")
      }
      FrameError::Malformed { offset, reason } => write!(f, "malformed frame at byte {offset}: {reason}"),
      FrameError::Closed { code, reason } => write!(f, "the peer closed the WebSocket ({code} {reason})"),
    }
  }
}

impl std::error::Error for FrameError {}

#[derive(Debug, Clone)]
pub enum Codec {
  /// Bytes are delivered as they arrive; writes go out unchanged.
  Raw,
  Delimited(Delimited),
  LengthPrefixed(LengthPrefixed),
  /// NUL-terminated mdsf messages, delivered as JSON text.
  Jstp(Jstp),
  /// Thrift messages on an unframed stream, found by walking their structure.
  Thrift(ThriftMessages),
  /// WebSocket messages, optionally carrying another codec's frames.
  WebSocket(WebSocket),
}

impl Codec {
  /// Removes the next complete frame from the front of `buf`, if there is one.
  /// `Raw` yields everything buffered as one chunk.
  pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
    match self {
      Codec::Raw if buf.is_empty() => Ok(None),
      Codec::Raw => Ok(Some(buf.split().freeze())),
      Codec::Delimited(c) => c.decode(buf),
      Codec::LengthPrefixed(c) => c.decode(buf),
      Codec::Jstp(c) => c.decode(buf),
      Codec::Thrift(c) => c.decode(buf),
      Codec::WebSocket(c) => c.decode(buf),
    }
  }

  /// Appends `payload` to `out` as one frame.
  pub fn encode(&self, payload: &[u8], out: &mut BytesMut) -> Result<(), FrameError> {
    match self {
      Codec::Raw => {
        out.extend_from_slice(payload);
        Ok(())
      }
      Codec::Delimited(c) => c.encode(payload, out),
      Codec::LengthPrefixed(c) => c.encode(payload, out),
      Codec::Jstp(c) => c.encode(payload, out),
      Codec::Thrift(c) => c.encode(payload, out),
      Codec::WebSocket(c) => c.encode(payload, out),
    }
  }

  /// Bytes the codec owes the peer after decoding (a WebSocket's pongs and close).
  pub fn take_replies(&mut self) -> Option<Bytes> {
    match self {
      Codec::WebSocket(c) => c.take_replies(),
      _ => None,
    }
  }

  /// The same settings with state of its own, for a new connection: whatever a
  /// used codec had half-decoded stays with it (a delimited codec's scan position
  /// would index past a new buffer's end).
  pub fn for_connection(&self) -> Codec {
    match self {
      Codec::Raw => Codec::Raw,
      Codec::Delimited(c) => Codec::Delimited(c.for_connection()),
      Codec::LengthPrefixed(c) => Codec::LengthPrefixed(c.clone()), // stateless
      Codec::Jstp(c) => Codec::Jstp(c.for_connection()),
      Codec::Thrift(c) => Codec::Thrift(c.for_connection()),
      Codec::WebSocket(c) => Codec::WebSocket(c.for_connection()),
    }
  }

  /// Whether frames carry boundaries (the JS side then sees `frame` rather than `data`).
  pub fn is_framed(&self) -> bool {
    !matches!(self, Codec::Raw)
  }
}

#[cfg(test)]
pub(crate) mod tests {
  use super::*;

  /// Feeds `wire` to a fresh decoder split at every possible position (and as one
  /// piece and byte by byte), checking that the frames come out the same each time.
  pub fn decode_all_splits(make: impl Fn() -> Codec, wire: &[u8]) -> Vec<Vec<u8>> {
    let whole = feed(make(), &[wire]);
    for cut in 0..=wire.len() {
      let (a, b) = wire.split_at(cut);
      assert_eq!(feed(make(), &[a, b]), whole, "split at {cut}");
    }
    let bytes: Vec<&[u8]> = wire.chunks(1).collect();
    assert_eq!(feed(make(), &bytes), whole, "byte by byte");
    whole
  }

  pub fn feed(mut codec: Codec, pieces: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for piece in pieces {
      buf.extend_from_slice(piece);
      while let Some(frame) = codec.decode(&mut buf).expect("valid input") {
        frames.push(frame.to_vec());
      }
    }
    frames
  }

  #[test]
  fn raw_passes_chunks_through() {
    let mut codec = Codec::Raw;
    let mut buf = BytesMut::from(&b"abc"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), &b"abc"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    let mut out = BytesMut::new();
    codec.encode(b"xyz", &mut out).unwrap();
    assert_eq!(&out[..], b"xyz");
    assert!(!codec.is_framed());
  }
}
