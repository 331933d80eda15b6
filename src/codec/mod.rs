//! Framing: turning a byte stream into frames and frames back into bytes.
//!
//! The framings here are generic (raw, delimited, length-prefixed, WebSocket);
//! protocol-specific ones come from `crate::packs` through [`Scan`] and [`Transcode`].
//! A [`Codec`] is chosen per connection. Decoding is incremental: the driver appends
//! whatever the socket gave it to one buffer and asks the decoder for every complete
//! frame in it, so a frame split across reads, or many frames in one read, cost the same.

mod delimited;
mod length;
pub mod ws;

#[cfg(test)]
mod props;

use std::sync::Arc;

use bytes::{Bytes, BytesMut};

pub use delimited::Delimited;
pub use length::LengthPrefixed;
pub use ws::WebSocket;

/// Messages whose end only their protocol knows, found by walking their structure.
/// State is per connection: [`Scan::fresh`] makes one with the same settings.
pub trait Scan: Send + Sync + std::fmt::Debug {
  /// Removes the next complete message from the front of `buf`, if there is one.
  fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError>;
  /// Appends `payload`, one whole message, to `out`.
  fn encode(&self, payload: &[u8], out: &mut BytesMut) -> Result<(), FrameError>;
  /// The same settings, nothing scanned.
  fn fresh(&self) -> Box<dyn Scan>;
}

impl Clone for Box<dyn Scan> {
  /// A copy starts afresh: half-scanned state belongs to its connection alone.
  fn clone(&self) -> Self {
    self.fresh()
  }
}

/// Rewrites each incoming frame (a protocol's text into JSON, say); what JS writes
/// goes out as it is.
pub trait Transcode: Send + Sync + std::fmt::Debug {
  fn transcode(&self, frame: Bytes) -> Result<Bytes, FrameError>;
}

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
  /// Messages on an unframed stream, found by a protocol pack's scanner.
  Scanned(Box<dyn Scan>),
  /// Another codec's frames, each rewritten by a protocol pack.
  Transcoded(Box<Codec>, Arc<dyn Transcode>),
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
      Codec::Scanned(c) => c.decode(buf),
      Codec::Transcoded(framing, pack) => framing.decode(buf)?.map(|frame| pack.transcode(frame)).transpose(),
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
      Codec::Scanned(c) => c.encode(payload, out),
      Codec::Transcoded(framing, _) => framing.encode(payload, out),
      Codec::WebSocket(c) => c.encode(payload, out),
    }
  }

  /// Bytes the codec owes the peer after decoding (a WebSocket's pongs and close).
  pub fn take_replies(&mut self) -> Option<Bytes> {
    match self {
      Codec::WebSocket(c) => c.take_replies(),
      Codec::Transcoded(framing, _) => framing.take_replies(),
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
      Codec::Scanned(c) => Codec::Scanned(c.fresh()),
      Codec::Transcoded(framing, pack) => Codec::Transcoded(Box::new(framing.for_connection()), pack.clone()),
      Codec::WebSocket(c) => Codec::WebSocket(c.for_connection()),
    }
  }

  /// The WebSocket framing underneath, if any (a transcoder may wrap it).
  pub fn websocket(&self) -> Option<&WebSocket> {
    match self {
      Codec::WebSocket(ws) => Some(ws),
      Codec::Transcoded(framing, _) => framing.websocket(),
      _ => None,
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
