//! WebSocket framing (RFC 6455 §5) as a codec. Each frame written from JS leaves as
//! one message (text or binary, cut into fragments above a size if asked); messages
//! read are handed on whole or, with an inner codec, fed to it as one byte stream (a
//! scanner then finds its message boundaries across them).
//! Control frames are answered here: a ping with a pong, a close with a close.
//! The opening handshake belongs to the transport (`transport::ws`).

use std::io::Cursor;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;

use super::{Codec, FrameError};

/// Which end we are: a client masks what it sends (§5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
  Client,
  Server,
}

/// RFC 6455 §7.4.1: "no status code was actually present".
const NO_STATUS: u16 = 1005;
const MAX_CONTROL: usize = 125;

/// What the messages written go out as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Messages {
  Binary,
  Text,
  /// As the last message read was: a server answering the way it was asked.
  AsAsked,
}

#[derive(Debug, Clone)]
pub struct WebSocket {
  role: Role,
  inner: Option<Box<Codec>>,
  max: usize,
  messages: Messages,
  /// Messages written above this size leave in fragments of it.
  fragment: Option<usize>,
  /// Whether the last message read was text, for [`Messages::AsAsked`]. Shared by
  /// one connection's encoder and decoder.
  text: Arc<AtomicBool>,
  /// We sent our close frame: the peer's close then answers it, and is not answered
  /// again (§5.5.1: one close frame each way). Shared as `text` is.
  sent_close: Arc<AtomicBool>,
  /// Payload read and not yet handed on (an unfinished message, or bytes the inner
  /// codec has not framed yet).
  message: BytesMut,
  /// Inside a fragmented message: continuation frames come next.
  fragmented: bool,
  /// Control frames to send back.
  replies: BytesMut,
}

impl WebSocket {
  /// Binary messages from a client; a server answers as it is asked.
  pub fn new(role: Role, inner: Option<Codec>, max: usize) -> Self {
    let messages = if role == Role::Server { Messages::AsAsked } else { Messages::Binary };
    WebSocket {
      role,
      inner: inner.map(Box::new),
      max,
      messages,
      fragment: None,
      text: Arc::default(),
      sent_close: Arc::default(),
      message: BytesMut::new(),
      fragmented: false,
      replies: BytesMut::new(),
    }
  }

  /// Messages written go out as `messages`, in fragments of `fragment` bytes above that.
  pub fn sending(mut self, messages: Messages, fragment: Option<usize>) -> Self {
    self.messages = messages;
    self.fragment = fragment.filter(|&f| f > 0);
    self
  }

  /// The same settings with state of its own, for a new connection.
  pub fn for_connection(&self) -> Self {
    WebSocket::new(self.role, self.inner.as_deref().map(Codec::for_connection), self.max).sending(self.messages, self.fragment)
  }

  pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
    loop {
      if let Some(inner) = self.inner.as_mut() {
        if let Some(frame) = inner.decode(&mut self.message)? {
          return Ok(Some(frame));
        }
      }
      let mut cursor = Cursor::new(&buf[..]);
      let parsed = FrameHeader::parse(&mut cursor).map_err(|_| malformed("bad frame header"))?;
      let Some((header, len)) = parsed else { return Ok(None) };
      let head = cursor.position() as usize;
      let len = usize::try_from(len).unwrap_or(usize::MAX);
      if header.rsv1 || header.rsv2 || header.rsv3 {
        return Err(malformed("reserved bits set, and no extension was agreed"));
      }
      match header.opcode {
        OpCode::Data(Data::Reserved(_)) | OpCode::Control(Control::Reserved(_)) => return Err(malformed("reserved opcode")),
        OpCode::Data(_) if self.message.len().saturating_add(len) > self.max => {
          return Err(FrameError::TooLarge { size: self.message.len().saturating_add(len), max: self.max })
        }
        OpCode::Control(_) if len > MAX_CONTROL || !header.is_final => return Err(malformed("control frame too long or fragmented")),
        _ => {}
      }
      if buf.len() - head < len {
        return Ok(None);
      }
      buf.advance(head);
      let mut payload = buf.split_to(len);
      if let Some(mask) = header.mask {
        apply_mask(&mut payload, mask);
      }
      match header.opcode {
        OpCode::Data(data) => {
          match (data, self.fragmented) {
            (Data::Continue, false) => return Err(malformed("continuation frame outside a message")),
            (Data::Text | Data::Binary, true) => return Err(malformed("new message inside a fragmented one")),
            (Data::Text, _) => self.text.store(true, Ordering::Relaxed),
            (Data::Binary, _) => self.text.store(false, Ordering::Relaxed),
            _ => {}
          }
          self.message.unsplit(payload);
          self.fragmented = !header.is_final;
          if header.is_final && self.inner.is_none() {
            return Ok(Some(self.message.split().freeze()));
          }
        }
        OpCode::Control(Control::Ping) => frame(self.role, OpCode::Control(Control::Pong), true, &payload, &mut self.replies),
        OpCode::Control(Control::Close) => {
          let (code, reason) = match payload.len() {
            0 => (NO_STATUS, String::new()),
            1 => return Err(malformed("close frame with a one-byte body")),
            _ => (u16::from_be_bytes([payload[0], payload[1]]), String::from_utf8_lossy(&payload[2..]).into_owned()),
          };
          if !self.sent_close.swap(true, Ordering::Relaxed) {
            close_frame(self.role, (code != NO_STATUS).then_some(code), "", &mut self.replies);
          }
          return Err(FrameError::Closed { code, reason });
        }
        OpCode::Control(_) => {} // pong: nothing to do
      }
    }
  }

  /// Control frames the peer is owed, if any.
  pub fn take_replies(&mut self) -> Option<Bytes> {
    (!self.replies.is_empty()).then(|| self.replies.split().freeze())
  }

  pub fn encode(&self, payload: &[u8], out: &mut BytesMut) -> Result<(), FrameError> {
    let text = match self.messages {
      Messages::Binary => false,
      Messages::Text => true,
      Messages::AsAsked => self.text.load(Ordering::Relaxed),
    };
    let opcode = OpCode::Data(if text { Data::Text } else { Data::Binary });
    match &self.inner {
      None => self.message(opcode, payload, out),
      Some(inner) => {
        let mut framed = BytesMut::with_capacity(payload.len() + 8);
        inner.encode(payload, &mut framed)?;
        self.message(opcode, &framed, out);
      }
    }
    Ok(())
  }

  /// One message: a single frame, or fragments (§5.4) when it is over the size.
  fn message(&self, opcode: OpCode, payload: &[u8], out: &mut BytesMut) {
    let size = match self.fragment {
      Some(size) if payload.len() > size => size,
      _ => return frame(self.role, opcode, true, payload, out),
    };
    let mut pieces = payload.chunks(size).peekable();
    let mut opcode = opcode;
    while let Some(piece) = pieces.next() {
      frame(self.role, opcode, pieces.peek().is_none(), piece, out);
      opcode = OpCode::Data(Data::Continue);
    }
  }

  /// A new session (a reconnected socket) starts with no close sent.
  pub fn reopened(&self) {
    self.sent_close.store(false, Ordering::Relaxed);
  }

  /// A close frame: `code` (none: an empty body) and `reason`.
  pub fn close_frame(&self, code: Option<u16>, reason: &str, out: &mut BytesMut) {
    self.sent_close.store(true, Ordering::Relaxed);
    close_frame(self.role, code, reason, out);
  }
}

/// The reason is cut to fit a control frame (§5.5), at a character boundary.
fn close_frame(role: Role, code: Option<u16>, reason: &str, out: &mut BytesMut) {
  let mut body = Vec::with_capacity(2 + reason.len());
  if let Some(code) = code {
    body.extend_from_slice(&code.to_be_bytes());
    let mut end = reason.len().min(MAX_CONTROL - 2);
    while !reason.is_char_boundary(end) {
      end -= 1;
    }
    body.extend_from_slice(&reason.as_bytes()[..end]);
  }
  frame(role, OpCode::Control(Control::Close), true, &body, out);
}

/// Appends one frame; a client's is masked with a fresh key.
fn frame(role: Role, opcode: OpCode, is_final: bool, payload: &[u8], out: &mut BytesMut) {
  let mask = (role == Role::Client).then(|| fastrand::u32(..).to_ne_bytes());
  let header = FrameHeader { is_final, rsv1: false, rsv2: false, rsv3: false, opcode, mask };
  out.reserve(header.len(payload.len() as u64) + payload.len());
  header.format(payload.len() as u64, &mut BufMut::writer(&mut *out)).expect("a BytesMut takes any write");
  let at = out.len();
  out.extend_from_slice(payload);
  if let Some(mask) = mask {
    apply_mask(&mut out[at..], mask);
  }
}

fn malformed(reason: &'static str) -> FrameError {
  FrameError::Malformed { offset: 0, reason }
}

/// XORs `data` with the repeating 4-byte `mask`, a word at a time.
fn apply_mask(data: &mut [u8], mask: [u8; 4]) {
  let word = u32::from_ne_bytes(mask);
  let mut words = data.chunks_exact_mut(4);
  for w in &mut words {
    let v = u32::from_ne_bytes([w[0], w[1], w[2], w[3]]) ^ word;
    w.copy_from_slice(&v.to_ne_bytes());
  }
  for (i, b) in words.into_remainder().iter_mut().enumerate() {
    *b ^= mask[i];
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::codec::tests::{decode_all_splits, feed};
  use crate::packs::thrift::{Protocol as ThriftProtocol, ThriftMessages};

  fn client() -> WebSocket {
    WebSocket::new(Role::Client, None, 1 << 20)
  }

  fn server() -> WebSocket {
    WebSocket::new(Role::Server, None, 1 << 20)
  }

  fn encoded(ws: &WebSocket, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    ws.encode(payload, &mut out).unwrap();
    out.to_vec()
  }

  #[test]
  fn a_client_masks_and_a_server_unmasks_every_split() {
    let mut wire = encoded(&client(), b"hello");
    assert_eq!(wire[0], 0x82, "FIN + binary");
    assert_eq!(wire[1], 0x80 | 5, "masked, 5 bytes");
    assert_ne!(&wire[6..], b"hello");
    assert_eq!(decode_all_splits(|| Codec::WebSocket(server()), &wire), vec![b"hello".to_vec()]);
    // The 64-bit length form: split across its header and at a few points of its
    // body (every point of 70 KB is 70,000 decodes of up to 70 KB: too slow for CI).
    let long = vec![7u8; 70_000];
    wire.extend(encoded(&client(), &long));
    for cut in (0..=30).chain([1_000, 35_000, wire.len()]) {
      let (a, b) = wire.split_at(cut);
      assert_eq!(feed(Codec::WebSocket(server()), &[a, b]), vec![b"hello".to_vec(), long.clone()], "split at {cut}");
    }
  }

  #[test]
  fn a_server_answers_the_way_it_was_asked_and_does_not_mask() {
    let mut s = server();
    let text = [0x81, 0x02, b'h', b'i']; // unmasked, as thrift's browser clients and web server allow
    let frame = s.decode(&mut BytesMut::from(&text[..])).unwrap().unwrap();
    assert_eq!(&frame[..], b"hi");
    assert_eq!(encoded(&s, b"ok"), [0x81, 0x02, b'o', b'k']);
    s.decode(&mut BytesMut::from(&encoded(&client(), b"bin")[..])).unwrap();
    assert_eq!(encoded(&s, b"ok")[0], 0x82);
  }

  #[test]
  fn fragments_are_joined_and_pings_answered_in_between() {
    let mut s = server();
    let wire: &[u8] = &[0x01, 0x02, b'a', b'b', 0x89, 0x01, b'p', 0x80, 0x01, b'c'];
    let mut buf = BytesMut::from(wire);
    assert_eq!(&s.decode(&mut buf).unwrap().unwrap()[..], b"abc");
    assert_eq!(&s.take_replies().unwrap()[..], &[0x8a, 0x01, b'p'], "pong with the ping's payload");
    assert!(s.take_replies().is_none());
  }

  #[test]
  fn a_close_is_reported_and_answered() {
    let mut c = client();
    let mut buf = BytesMut::from(&[0x88, 0x05, 0x03, 0xe8, b'b', b'y', b'e'][..]);
    assert_eq!(c.decode(&mut buf), Err(FrameError::Closed { code: 1000, reason: "bye".into() }));
    let reply = c.take_replies().unwrap();
    assert_eq!(reply[0], 0x88);
    assert_eq!(reply[1], 0x80 | 2, "a masked close carrying the code");
    let mut s = server();
    assert_eq!(s.decode(&mut BytesMut::from(&[0x88, 0x00][..])), Err(FrameError::Closed { code: 1005, reason: String::new() }));
    assert_eq!(&s.take_replies().unwrap()[..], &[0x88, 0x00]);
  }

  /// The peer's close answering ours is not answered again: one close each way.
  #[test]
  fn a_close_answering_ours_gets_no_answer() {
    let s = server();
    let encoder = s.clone();
    let mut decoder = s;
    encoder.close_frame(Some(1000), "Normal connection closure", &mut BytesMut::new());
    let mut buf = BytesMut::from(&[0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2][..]);
    assert_eq!(decoder.decode(&mut buf), Err(FrameError::Closed { code: 1000, reason: String::new() }));
    assert_eq!(decoder.take_replies(), None);
    // A later session of the same connection answers again.
    encoder.reopened();
    let mut buf = BytesMut::from(&[0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2][..]);
    assert!(decoder.decode(&mut buf).is_err());
    assert!(decoder.take_replies().is_some());
  }

  #[test]
  fn bad_frames_fail_precisely() {
    let bad = |bytes: &[u8]| server().decode(&mut BytesMut::from(bytes));
    assert!(matches!(bad(&[0x80, 0x01, 0]), Err(FrameError::Malformed { reason: "continuation frame outside a message", .. })));
    assert!(matches!(bad(&[0xc2, 0x00]), Err(FrameError::Malformed { .. })), "rsv1 without an extension");
    assert!(matches!(bad(&[0x83, 0x00]), Err(FrameError::Malformed { .. })), "a reserved opcode");
    assert!(matches!(bad(&[0x09, 0x00]), Err(FrameError::Malformed { .. })), "a fragmented ping");
    let mut small = WebSocket::new(Role::Server, None, 4);
    // Refused from its header, before the payload is buffered.
    assert_eq!(small.decode(&mut BytesMut::from(&[0x82, 0x7e, 0x10, 0x00][..])), Err(FrameError::TooLarge { size: 4096, max: 4 }));
  }

  #[test]
  fn an_inner_codec_frames_across_messages() {
    // Two thrift binary messages, the first split over two WebSocket messages.
    let msg = |name: &[u8]| {
      let mut m = vec![0x80, 0x01, 0x00, 0x01];
      m.extend((name.len() as u32).to_be_bytes());
      m.extend(name);
      m.extend([0, 0, 0, 1, 0]);
      m
    };
    let (a, b) = (msg(b"add"), msg(b"ping"));
    let sender = client();
    let mut wire = encoded(&sender, &a[..5]);
    wire.extend(encoded(&sender, &[&a[5..], &b[..]].concat()));
    let inner = Codec::Scanned(Box::new(ThriftMessages::new(ThriftProtocol::Binary, 1 << 20)));
    let frames = decode_all_splits(|| Codec::WebSocket(WebSocket::new(Role::Server, Some(inner.clone()), 1 << 20)), &wire);
    assert_eq!(frames, vec![a, b]);
  }

  #[test]
  fn masks_cover_every_length() {
    for n in 0..9 {
      let mut data: Vec<u8> = (0..n as u8).collect();
      apply_mask(&mut data, [1, 2, 3, 4]);
      apply_mask(&mut data, [1, 2, 3, 4]);
      assert_eq!(data, (0..n as u8).collect::<Vec<_>>());
    }
    let mut one = [0u8; 5];
    apply_mask(&mut one, [1, 2, 3, 4]);
    assert_eq!(one, [1, 2, 3, 4, 1]);
  }
}
