//! Frames preceded by their length as a 4-byte big-endian integer (Thrift's framed
//! transport and connkit's own default framing). The length excludes the header.

use bytes::{Buf, Bytes, BytesMut};

use super::FrameError;

const HEADER: usize = 4;

#[derive(Debug, Clone)]
pub struct LengthPrefixed {
  max_frame: usize,
}

impl LengthPrefixed {
  pub fn new(max_frame: usize) -> Self {
    LengthPrefixed { max_frame }
  }

  pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
    if buf.len() < HEADER {
      return Ok(None);
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    // Refuse as soon as the header is read: waiting for the body would buffer it.
    if len > self.max_frame {
      return Err(FrameError::TooLarge { size: len, max: self.max_frame });
    }
    if buf.len() < HEADER + len {
      super::reserve_claimed(buf, HEADER + len - buf.len());
      return Ok(None);
    }
    buf.advance(HEADER);
    Ok(Some(buf.split_to(len).freeze()))
  }

  pub fn encode(&self, payload: &[u8], out: &mut BytesMut) -> Result<(), FrameError> {
    if payload.len() > self.max_frame || payload.len() > u32::MAX as usize {
      return Err(FrameError::TooLarge { size: payload.len(), max: self.max_frame });
    }
    out.reserve(HEADER + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
  }
}

#[cfg(test)]
mod tests {

  use super::*;
  use crate::codec::tests::decode_all_splits;
  use crate::codec::Codec;

  fn wire(frames: &[&[u8]]) -> Vec<u8> {
    let c = LengthPrefixed::new(1 << 20);
    let mut out = BytesMut::new();
    for f in frames {
      c.encode(f, &mut out).unwrap();
    }
    out.to_vec()
  }

  #[test]
  fn round_trips_at_every_split() {
    let frames: [&[u8]; 4] = [b"hello", b"", &[0u8, 0, 0, 1], &[0xffu8; 300]];
    let got = decode_all_splits(|| Codec::LengthPrefixed(LengthPrefixed::new(1024)), &wire(&frames));
    let want: Vec<Vec<u8>> = frames.iter().map(|f| f.to_vec()).collect();
    assert_eq!(got, want);
  }

  #[test]
  fn header_is_big_endian() {
    assert_eq!(wire(&[b"ab"]), vec![0, 0, 0, 2, b'a', b'b']);
  }

  #[test]
  fn oversize_header_fails_before_the_body_arrives() {
    let mut c = LengthPrefixed::new(10);
    let mut buf = BytesMut::from(&[0u8, 0, 0, 11][..]);
    assert_eq!(c.decode(&mut buf), Err(FrameError::TooLarge { size: 11, max: 10 }));
  }

  #[test]
  fn garbage_header_reads_as_a_huge_length() {
    let mut c = LengthPrefixed::new(DEFAULT);
    let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]);
    assert!(matches!(c.decode(&mut buf), Err(FrameError::TooLarge { .. })));
  }
  const DEFAULT: usize = crate::codec::DEFAULT_MAX_FRAME;

  #[test]
  fn encode_refuses_oversize() {
    let c = LengthPrefixed::new(2);
    assert!(c.encode(b"abc", &mut BytesMut::new()).is_err());
  }

  #[test]
  fn a_claim_reserves_no_more_than_has_arrived() {
    let mut codec = LengthPrefixed::new(usize::MAX);
    let mut buf = BytesMut::from(&[0x7f, 0xff, 0xff, 0xff, 1, 2, 3][..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert!(buf.capacity() <= 128 * 1024, "reserved {} bytes for a 2 GiB claim", buf.capacity());
  }
}
