//! Bytes accepted from JS and not yet on the wire.
//!
//! While connected this is the write buffer (JS sees its size through acks and
//! applies backpressure); while disconnected it is the offline queue, bounded in
//! bytes. A write the bound cannot take is refused as a whole and reported, never
//! dropped in silence. Writes are kept whole: if a connection dies mid-write, the
//! unfinished ones go out again, from their first byte, on the next connection.
//!
//! When the socket is plain and nothing is queued or being written, a write goes
//! straight to the kernel from the JS thread, saving the hop to the runtime thread.

use std::collections::VecDeque;
use std::os::fd::RawFd;

use bytes::{Bytes, BytesMut};

/// Small writes are copied together up to this size, so a burst of tiny frames
/// leaves in one syscall.
const COALESCE: usize = 64 * 1024;

#[derive(Debug)]
pub struct Chunk {
  pub data: Bytes,
  /// The JS-visible size of the writes in this chunk (frames count without framing).
  pub units: u64,
  /// Bytes already on the wire (a direct write the kernel took only part of).
  pub sent: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Overflow {
  pub queued: usize,
  pub refused: usize,
  pub limit: usize,
  /// Where the refused write ends in JS's running total of bytes written, so JS
  /// fails that write's callback and no other.
  pub write_end: u64,
}

/// What became of a write.
#[derive(Debug, PartialEq, Eq)]
pub enum Queued {
  /// Written to the socket at once; nothing for the driver to do.
  Sent,
  /// Queued (after the kernel took the first `.0` bytes at once): the driver must be woken.
  Pending(usize),
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
  /// JS waits on `done`: report it after every write until the queue is empty.
  want_ack: bool,
  /// The driver holds chunks it is writing: nobody else may write to the socket.
  busy: bool,
  /// The socket, when it is plain and may be written from any thread.
  direct: Option<RawFd>,
  /// JS-visible bytes queued (in `chunks` and `tail`), so `done + queued_units` is
  /// JS's total handed.
  queued_units: u64,
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
      busy: false,
      direct: None,
      queued_units: 0,
    }
  }

  /// Queues `data` (already framed) standing for `units` JS bytes, or writes it
  /// straight to the socket when that is allowed and the kernel takes it.
  pub fn push(&mut self, data: &[u8], units: u64) -> Result<Queued, Overflow> {
    if !self.online && self.bytes + data.len() > self.offline_limit {
      self.refused(units);
      let write_end = self.done + self.queued_units;
      return Err(Overflow { queued: self.bytes, refused: data.len(), limit: self.offline_limit, write_end });
    }
    let sent = match self.direct {
      Some(fd) if self.is_empty() && !self.busy && !data.is_empty() => crate::transport::try_send(fd, data),
      _ => 0,
    };
    if sent == data.len() && sent > 0 {
      self.done += units;
      return Ok(Queued::Sent);
    }
    self.queued_units += units;
    if sent > 0 || data.len() >= COALESCE {
      self.seal_tail();
      self.chunks.push_back(Chunk { data: Bytes::copy_from_slice(data), units, sent });
    } else {
      if self.tail.len() + data.len() > COALESCE {
        self.seal_tail();
      }
      self.tail.extend_from_slice(data);
      self.tail_units += units;
    }
    self.bytes += data.len() - sent;
    Ok(Queued::Pending(sent))
  }

  fn seal_tail(&mut self) {
    if !self.tail.is_empty() {
      let data = self.tail.split().freeze();
      self.chunks.push_back(Chunk { data, units: std::mem::take(&mut self.tail_units), sent: 0 });
    }
  }

  /// Takes up to `max` chunks for the driver to write; it owns the socket's write
  /// side until it hands them all back through [`Outbox::completed`] or `requeue`.
  pub fn take(&mut self, into: &mut VecDeque<Chunk>, max: usize) {
    self.seal_tail();
    for _ in 0..max {
      match self.chunks.pop_front() {
        Some(c) => {
          self.bytes -= c.data.len() - c.sent;
          self.queued_units -= c.units;
          into.push_back(c);
        }
        None => break,
      }
    }
    self.busy = !into.is_empty();
  }

  /// The connection died with these chunks unfinished: they go first next time,
  /// whole, since the peer they were partly sent to is gone.
  pub fn requeue(&mut self, inflight: &mut VecDeque<Chunk>) {
    for c in self.chunks.iter_mut() {
      self.bytes += c.sent;
      c.sent = 0;
    }
    while let Some(mut c) = inflight.pop_back() {
      c.sent = 0;
      self.bytes += c.data.len();
      self.queued_units += c.units;
      self.chunks.push_front(c);
    }
    self.busy = false;
  }

  /// The session these writes were for is gone and they are not to be resent: all
  /// of them count as handled. Returns the total written before, and after.
  pub fn discard(&mut self, inflight: &mut VecDeque<Chunk>) -> (u64, u64) {
    let written = self.done;
    self.seal_tail();
    let units: u64 = inflight.drain(..).chain(self.chunks.drain(..)).map(|c| c.units).sum();
    self.done += units;
    self.bytes = 0;
    self.queued_units = 0;
    self.busy = false;
    (written, self.done)
  }

  /// The driver finished chunks worth `units`; `idle` when it holds none any more.
  pub fn completed(&mut self, units: u64, idle: bool) {
    self.done += units;
    if idle {
      self.busy = false;
    }
  }

  /// A write that will never be sent still counts as handled, so acks stay true —
  /// in its turn: behind writes still queued it waits as an empty chunk, since JS
  /// takes `done` for the writes handled in order (its callbacks wait on it).
  pub fn refused(&mut self, units: u64) {
    if self.is_empty() && !self.busy {
      self.done += units;
    } else {
      self.seal_tail();
      self.queued_units += units;
      self.chunks.push_back(Chunk { data: Bytes::new(), units, sent: 0 });
    }
  }

  pub fn is_online(&self) -> bool {
    self.online
  }

  pub fn set_online(&mut self, online: bool) {
    self.online = online;
  }

  /// Allows (or, with `None`, stops) direct writes. Cleared before the socket closes.
  pub fn set_direct(&mut self, fd: Option<RawFd>) {
    self.direct = fd;
  }

  /// Nothing queued, not even a refused write waiting for its turn.
  pub fn is_empty(&self) -> bool {
    self.bytes == 0 && self.chunks.is_empty() && self.tail.is_empty()
  }

  pub fn request_ack(&mut self) {
    self.want_ack = true;
  }

  /// The total to report to JS, if it is waiting: after each write while anything
  /// is queued, and a last time once everything is flushed.
  pub fn ack(&mut self) -> Option<u64> {
    if !self.want_ack {
      return None;
    }
    if self.is_empty() && !self.busy {
      self.want_ack = false;
    }
    Some(self.done)
  }

  pub fn len(&self) -> usize {
    self.bytes
  }

  /// JS-visible bytes handled so far (written, or refused).
  pub fn done(&self) -> u64 {
    self.done
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
      out.extend_from_slice(&c.data[c.sent..]);
      o.completed(c.units, true);
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
    let mut q = VecDeque::new();
    o.take(&mut q, usize::MAX);
    assert_eq!(q.len(), 1, "100 small writes became one chunk");
  }

  #[test]
  fn offline_bound_refuses_whole_writes_and_counts_them_done_in_turn() {
    let mut o = Outbox::new(10);
    o.push(b"12345678", 8).unwrap();
    assert_eq!(o.push(b"abc", 3), Err(Overflow { queued: 8, refused: 3, limit: 10, write_end: 11 }));
    // Not done before the 8 bytes queued ahead of it: JS counts done in order.
    assert_eq!(o.done(), 0);
    o.push(b"de", 2).unwrap();
    assert!(!o.is_empty());
    assert_eq!(drain(&mut o), b"12345678de");
    o.request_ack();
    assert_eq!(o.ack(), Some(13));
    // With nothing queued, a refusal is done at once.
    let mut o = Outbox::new(2);
    assert_eq!(o.push(b"abc", 3), Err(Overflow { queued: 0, refused: 3, limit: 2, write_end: 3 }));
    assert_eq!(o.done(), 3);
    assert!(o.is_empty());
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
    q[0].sent = 10; // partly written when the connection died
    o.push(b"late", 4).unwrap();
    o.requeue(&mut q);
    let all = drain(&mut o);
    assert_eq!(all.len(), 2 * COALESCE + 4);
    assert_eq!(all[0], 1);
    assert_eq!(all[COALESCE], 2);
    assert_eq!(&all[2 * COALESCE..], b"late");
  }

  #[test]
  fn discarded_writes_count_as_handled() {
    let mut o = Outbox::new(1 << 20);
    o.push(b"sent", 4).unwrap();
    drain(&mut o);
    o.push(&vec![1u8; COALESCE], 10).unwrap();
    o.push(b"tail", 4).unwrap();
    let mut q = VecDeque::new();
    o.take(&mut q, 1);
    o.push(b"late", 4).unwrap();
    assert_eq!(o.discard(&mut q), (4, 22));
    assert!(q.is_empty() && o.is_empty());
    o.push(b"next", 4).unwrap();
    assert_eq!(drain(&mut o), b"next", "the queue is usable again");
  }

  #[test]
  fn acks_report_progress_until_everything_is_flushed() {
    let mut o = Outbox::new(1 << 20);
    assert_eq!(o.ack(), None, "nobody asked");
    o.push(&vec![0u8; COALESCE], 5).unwrap();
    o.push(&vec![0u8; COALESCE], 7).unwrap();
    o.request_ack();
    let mut q = VecDeque::new();
    o.take(&mut q, 1);
    o.completed(q.pop_front().unwrap().units, true);
    assert_eq!(o.ack(), Some(5), "progress while more is queued");
    assert_eq!(o.ack(), Some(5), "still waiting: keeps reporting");
    drain(&mut o);
    assert_eq!(o.ack(), Some(12));
    assert_eq!(o.ack(), None, "done once flushed");
  }

  #[test]
  fn direct_writes_only_when_idle() {
    use std::os::fd::AsRawFd;
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let mut o = Outbox::new(1 << 20);
    o.set_online(true);
    o.set_direct(Some(a.as_raw_fd()));
    assert_eq!(o.push(b"now", 3), Ok(Queued::Sent));
    let mut q = VecDeque::new();
    o.push(b"queued", 6).unwrap(); // sent too: still idle
    o.busy = true; // the driver is writing
    assert_eq!(o.push(b"later", 5), Ok(Queued::Pending(0)));
    o.take(&mut q, usize::MAX);
    assert_eq!(&q[0].data[..], b"later");
    let mut got = [0u8; 9];
    use std::io::Read;
    (&b).read_exact(&mut got).unwrap();
    assert_eq!(&got, b"nowqueued");
    o.set_direct(None);
  }
}
