//! Bytes accepted from JS and not yet on the wire.
//!
//! While connected this is the write buffer (JS sees its size through acks and
//! applies backpressure); while disconnected it is the offline queue, bounded in
//! bytes. A write the bound cannot take is refused as a whole and reported, never
//! dropped in silence. Writes are kept whole: if a connection dies mid-write, the
//! unfinished ones go out again, from their first byte, on the next connection.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

/// Small writes are copied together up to this size, so a burst of tiny frames
/// leaves in one syscall.
const COALESCE: usize = 64 * 1024;

#[derive(Debug)]
pub struct Chunk {
  pub data: Bytes,
  /// The JS-visible size of the writes in this chunk (frames count without framing).
  pub units: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Overflow {
  pub queued: usize,
  pub refused: usize,
  pub limit: usize,
}

#[derive(Debug)]
pub struct Outbox {
  chunks: VecDeque<Chunk>,
  /// The last chunk, still open to small writes.
  tail: BytesMut,
  tail_units: u64,
  bytes: usize,
  online: bool,
  offline_limit: usize,
  /// JS-visible bytes handled so far: written to the socket, or refused.
  done: u64,
  want_ack: bool,
}

impl Outbox {
  pub fn new(offline_limit: usize) -> Self {
    Outbox {
      chunks: VecDeque::new(),
      tail: BytesMut::new(),
      tail_units: 0,
      bytes: 0,
      online: false,
      offline_limit,
      done: 0,
      want_ack: false,
    }
  }

  /// Queues `data` (already framed) standing for `units` JS bytes.
  pub fn push(&mut self, data: &[u8], units: u64) -> Result<(), Overflow> {
    if !self.online && self.bytes + data.len() > self.offline_limit {
      self.done += units;
      return Err(Overflow { queued: self.bytes, refused: data.len(), limit: self.offline_limit });
    }
    if data.len() >= COALESCE {
      self.seal_tail();
      self.chunks.push_back(Chunk { data: Bytes::copy_from_slice(data), units });
    } else {
      if self.tail.len() + data.len() > COALESCE {
        self.seal_tail();
      }
      self.tail.extend_from_slice(data);
      self.tail_units += units;
    }
    self.bytes += data.len();
    Ok(())
  }

  fn seal_tail(&mut self) {
    if !self.tail.is_empty() {
      let data = self.tail.split().freeze();
      self.chunks.push_back(Chunk { data, units: std::mem::take(&mut self.tail_units) });
    }
  }

  /// Takes up to `max` chunks for the writer.
  pub fn take(&mut self, into: &mut VecDeque<Chunk>, max: usize) {
    self.seal_tail();
    for _ in 0..max {
      match self.chunks.pop_front() {
        Some(c) => {
          self.bytes -= c.data.len();
          into.push_back(c);
        }
        None => break,
      }
    }
  }

  /// The connection died with these chunks unfinished: they go first next time.
  pub fn requeue(&mut self, inflight: &mut VecDeque<Chunk>) {
    while let Some(c) = inflight.pop_back() {
      self.bytes += c.data.len();
      self.chunks.push_front(c);
    }
  }

  pub fn completed(&mut self, units: u64) {
    self.done += units;
  }

  pub fn set_online(&mut self, online: bool) {
    self.online = online;
  }

  pub fn is_empty(&self) -> bool {
    self.bytes == 0
  }

  pub fn request_ack(&mut self) {
    self.want_ack = true;
  }

  /// If JS asked to hear when the queue empties and it has, the total to report.
  pub fn take_ack(&mut self) -> Option<u64> {
    if self.want_ack && self.is_empty() {
      self.want_ack = false;
      Some(self.done)
    } else {
      None
    }
  }

  pub fn len(&self) -> usize {
    self.bytes
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn drain(o: &mut Outbox) -> Vec<u8> {
    let mut q = VecDeque::new();
    o.take(&mut q, usize::MAX);
    let mut out = Vec::new();
    for c in q {
      out.extend_from_slice(&c.data);
      o.completed(c.units);
    }
    out
  }

  #[test]
  fn keeps_order_and_coalesces_small_writes() {
    let mut o = Outbox::new(1 << 20);
    o.push(b"ab", 2).unwrap();
    o.push(&vec![7u8; COALESCE], COALESCE as u64).unwrap();
    o.push(b"cd", 2).unwrap();
    let mut q = VecDeque::new();
    o.take(&mut q, usize::MAX);
    assert_eq!(q.len(), 3);
    assert_eq!(&q[0].data[..], b"ab");
    assert_eq!(&q[2].data[..], b"cd");
    let mut o = Outbox::new(1 << 20);
    for _ in 0..100 {
      o.push(b"xy", 2).unwrap();
    }
    o.take(&mut q, usize::MAX);
    assert_eq!(q.len(), 4, "100 small writes became one chunk");
  }

  #[test]
  fn offline_bound_refuses_whole_writes_and_counts_them_done() {
    let mut o = Outbox::new(10);
    o.push(b"12345678", 8).unwrap();
    assert_eq!(o.push(b"abc", 3), Err(Overflow { queued: 8, refused: 3, limit: 10 }));
    o.push(b"de", 2).unwrap();
    assert_eq!(drain(&mut o), b"12345678de");
    o.request_ack();
    assert_eq!(o.take_ack(), Some(13));
  }

  #[test]
  fn online_writes_are_not_bounded() {
    let mut o = Outbox::new(1);
    o.set_online(true);
    o.push(&[0u8; 100], 100).unwrap();
    assert_eq!(o.len(), 100);
  }

  #[test]
  fn requeued_chunks_go_first_and_whole() {
    let mut o = Outbox::new(1 << 20);
    o.push(&vec![1u8; COALESCE], 1).unwrap();
    o.push(&vec![2u8; COALESCE], 1).unwrap();
    let mut q = VecDeque::new();
    o.take(&mut q, 1);
    o.push(b"late", 4).unwrap();
    o.requeue(&mut q);
    let all = drain(&mut o);
    assert_eq!(all.len(), 2 * COALESCE + 4);
    assert_eq!(all[0], 1);
    assert_eq!(all[COALESCE], 2);
    assert_eq!(&all[2 * COALESCE..], b"late");
  }

  #[test]
  fn ack_waits_for_an_empty_queue() {
    let mut o = Outbox::new(1 << 20);
    o.push(b"x", 1).unwrap();
    o.request_ack();
    assert_eq!(o.take_ack(), None);
    drain(&mut o);
    assert_eq!(o.take_ack(), Some(1));
    assert_eq!(o.take_ack(), None, "one ack per request");
  }
}
