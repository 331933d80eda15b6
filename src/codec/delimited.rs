//! Frames terminated by a byte sequence (`\0` for JSTP, `\0\0` for socket-ipc, ...).

use bytes::{Bytes, BytesMut};

use super::FrameError;

#[derive(Debug, Clone)]
pub struct Delimited {
  delimiter: Vec<u8>,
  max_frame: usize,
  /// How far `buf` was already searched, so a frame arriving in many reads is scanned
  /// once in total rather than once per read.
  scanned: usize,
}

impl Delimited {
  /// # Panics
  /// If `delimiter` is empty: the caller validates options before building codecs.
  pub fn new(delimiter: Vec<u8>, max_frame: usize) -> Self {
    assert!(!delimiter.is_empty(), "delimiter must not be empty");
    Delimited { delimiter, max_frame, scanned: 0 }
  }

  /// The same settings, nothing scanned.
  pub fn for_connection(&self) -> Self {
    Delimited::new(self.delimiter.clone(), self.max_frame)
  }

  pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
    let d = &self.delimiter;
    // Resume a little before where the last search ended: the delimiter may straddle reads.
    let from = self.scanned.saturating_sub(d.len() - 1);
    match find(&buf[from..], d) {
      Some(at) => {
        let end = from + at;
        if end > self.max_frame {
          return Err(FrameError::TooLarge { size: end, max: self.max_frame });
        }
        let frame = buf.split_to(end).freeze();
        let _ = buf.split_to(d.len());
        self.scanned = 0;
        Ok(Some(frame))
      }
      None => {
        self.scanned = buf.len();
        // The unterminated rest can only become a frame at least this long.
        let pending = buf.len().saturating_sub(d.len() - 1);
        if pending > self.max_frame {
          return Err(FrameError::TooLarge { size: pending, max: self.max_frame });
        }
        Ok(None)
      }
    }
  }

  pub fn encode(&self, payload: &[u8], out: &mut BytesMut) -> Result<(), FrameError> {
    if payload.len() > self.max_frame {
      return Err(FrameError::TooLarge { size: payload.len(), max: self.max_frame });
    }
    out.reserve(payload.len() + self.delimiter.len());
    out.extend_from_slice(payload);
    out.extend_from_slice(&self.delimiter);
    Ok(())
  }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
  let first = needle[0];
  let mut start = 0;
  while let Some(i) = haystack[start..].iter().position(|&b| b == first) {
    let at = start + i;
    if haystack[at..].starts_with(needle) {
      return Some(at);
    }
    if haystack.len() - at < needle.len() {
      return None;
    }
    start = at + 1;
  }
  None
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::codec::tests::decode_all_splits;
  use crate::codec::Codec;

  fn codec(delim: &[u8], max: usize) -> Codec {
    Codec::Delimited(Delimited::new(delim.to_vec(), max))
  }

  #[test]
  fn single_nul() {
    let frames = decode_all_splits(|| codec(b"\0", 1024), b"{a:1}\0{b:[2,3]}\0tail");
    assert_eq!(frames, vec![b"{a:1}".to_vec(), b"{b:[2,3]}".to_vec()]);
  }

  #[test]
  fn double_nul_with_lone_nuls_inside() {
    // A lone NUL is data when the delimiter is two of them.
    let frames = decode_all_splits(|| codec(b"\0\0", 1024), b"a\0b\0\0\0\0c\0\0");
    assert_eq!(frames, vec![b"a\0b".to_vec(), b"".to_vec(), b"c".to_vec()]);
  }

  #[test]
  fn multibyte_delimiter_overlapping_prefix() {
    let frames = decode_all_splits(|| codec(b"\r\n\r\n", 1024), b"x\r\n\r\r\n\r\ny\r\n\r\n");
    assert_eq!(frames, vec![b"x\r\n\r".to_vec(), b"y".to_vec()]);
  }

  #[test]
  fn empty_frames_are_frames() {
    let frames = decode_all_splits(|| codec(b"\0", 16), b"\0\0\0");
    assert_eq!(frames, vec![Vec::<u8>::new(); 3]);
  }

  #[test]
  fn oversize_terminated_frame_is_an_error() {
    let mut c = codec(b"\0", 4);
    let mut buf = BytesMut::from(&b"12345\0"[..]);
    assert_eq!(c.decode(&mut buf), Err(FrameError::TooLarge { size: 5, max: 4 }));
  }

  #[test]
  fn oversize_unterminated_rest_is_an_error_before_the_delimiter_arrives() {
    let mut c = codec(b"\0\0", 4);
    let mut buf = BytesMut::from(&b"1234"[..]);
    assert_eq!(c.decode(&mut buf), Ok(None));
    // Five bytes with the last possibly being the start of the delimiter: still fine.
    buf.extend_from_slice(b"\0");
    assert_eq!(c.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"x");
    assert!(matches!(c.decode(&mut buf), Err(FrameError::TooLarge { .. })));
  }

  #[test]
  fn exactly_max_is_allowed() {
    let frames = decode_all_splits(|| codec(b"\0", 4), b"1234\0");
    assert_eq!(frames, vec![b"1234".to_vec()]);
  }

  #[test]
  fn garbage_without_delimiter_is_held_not_lost() {
    let mut c = codec(b"\0", 1024);
    let mut buf = BytesMut::from(&[0xff, 0xfe, 0x80][..]);
    assert_eq!(c.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"\0");
    assert_eq!(c.decode(&mut buf).unwrap().unwrap(), &[0xff, 0xfe, 0x80][..]);
  }

  #[test]
  fn encode_appends_delimiter_and_checks_size() {
    let c = Delimited::new(b"\0\0".to_vec(), 3);
    let mut out = BytesMut::new();
    c.encode(b"abc", &mut out).unwrap();
    assert_eq!(&out[..], b"abc\0\0");
    assert!(c.encode(b"abcd", &mut out).is_err());
  }
}
