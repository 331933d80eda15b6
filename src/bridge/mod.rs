//! Events from the runtime to one JS environment, in batches.
//!
//! Every connection and server of an environment (the main thread or one worker)
//! appends its events to that environment's single buffer. Only the append that finds
//! the buffer idle wakes the JS thread; the JS side then takes everything queued in one
//! call and slices it (see `lib/bridge.js`). One wake-up thus drains many events, and
//! a burst costs one Buffer instead of one per event.
//!
//! Record layout, little-endian: `u32 handle id | u8 kind | u32 length | payload`.

pub mod event;
pub mod tsfn;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use tokio::sync::Notify;

pub use event::Kind;

use crate::conn::ReadHandoff;

/// Above this many undelivered bytes, readers wait for JS to catch up.
pub const HIGH_WATER: usize = 1 << 20;

/// What wakes the JS thread. Called with the batch lock held, only while open.
pub trait Wake: Send + Sync {
  fn wake(&self);
}

pub struct Bridge {
  batch: Mutex<Batch>,
  /// Bytes queued but not yet handed to JS: the readers' backpressure signal.
  pending: AtomicUsize,
  room: Notify,
  waker: Box<dyn Wake>,
  /// The buffer JS read last time, kept for reuse.
  spare: Mutex<Vec<u8>>,
  /// Whether this environment can read sockets on its own thread.
  js_reads: AtomicBool,
}

/// A change to the sockets the JS thread reads, carried in the batch with the events
/// so that it takes effect exactly after the events queued before it.
pub enum ReaderOp {
  /// Start reading: queued with the connect event, so no data can precede it.
  Attach(ReadHandoff),
  /// The session is over: stop reading (a paused reader would never see the EOF).
  /// `None`: whatever session it reads (its driver is gone).
  Release { id: u32, generation: Option<u64> },
}

/// A buffer grown by a burst is not kept beyond this.
const SPARE_MAX: usize = 4 << 20;

struct Batch {
  buf: Vec<u8>,
  readers: Vec<ReaderOp>,
  /// A wake-up is on its way; further appends need not send another.
  scheduled: bool,
  closed: bool,
}

pub const HEADER: usize = 9;

/// Appends one event record to `buf` (also used by the JS-thread reader).
pub fn record(buf: &mut Vec<u8>, id: u32, kind: Kind, parts: &[&[u8]]) {
  let len: usize = parts.iter().map(|p| p.len()).sum();
  buf.reserve(HEADER + len);
  buf.extend_from_slice(&id.to_le_bytes());
  buf.push(kind as u8);
  buf.extend_from_slice(&(len as u32).to_le_bytes());
  for p in parts {
    buf.extend_from_slice(p);
  }
}

impl Bridge {
  pub fn new(waker: Box<dyn Wake>) -> Self {
    Bridge {
      batch: Mutex::new(Batch { buf: Vec::with_capacity(64 * 1024), readers: Vec::new(), scheduled: false, closed: false }),
      pending: AtomicUsize::new(0),
      room: Notify::new(),
      waker,
      spare: Mutex::new(Vec::new()),
      js_reads: AtomicBool::new(false),
    }
  }

  pub fn push(&self, id: u32, kind: Kind, payload: &[u8]) {
    self.append(|buf| record(buf, id, kind, &[payload]));
  }

  /// Appends one event whose payload is the concatenation of `parts`.
  pub fn push_parts(&self, id: u32, kind: Kind, parts: &[&[u8]]) {
    self.append(|buf| record(buf, id, kind, parts));
  }

  /// Appends one event per payload, under one lock and with at most one wake-up.
  pub fn push_each(&self, id: u32, kind: Kind, payloads: &[bytes::Bytes]) {
    self.append(|buf| {
      for p in payloads {
        record(buf, id, kind, &[p]);
      }
    });
  }

  fn append(&self, write: impl FnOnce(&mut Vec<u8>)) {
    self.append_with(write, None);
  }

  /// Appends events and a reader operation atomically; false if the bridge is closed.
  fn append_with(&self, write: impl FnOnce(&mut Vec<u8>), op: Option<ReaderOp>) -> bool {
    let mut b = self.batch.lock().unwrap();
    if b.closed {
      return false;
    }
    let before = b.buf.len();
    write(&mut b.buf);
    b.readers.extend(op);
    self.pending.fetch_add(b.buf.len() - before, Ordering::Relaxed);
    if !b.scheduled {
      b.scheduled = true;
      self.waker.wake();
    }
    true
  }

  /// The connect event of a session and, with `handoff`, the start of reading its
  /// socket on the JS thread right after that event is dispatched (never before: no
  /// data can overtake it). False if the bridge is closed.
  pub fn push_connect(&self, id: u32, payload: &[u8], handoff: Option<ReadHandoff>) -> bool {
    self.append_with(|buf| record(buf, id, Kind::Connect, &[payload]), handoff.map(ReaderOp::Attach))
  }

  /// A session whose socket the JS thread read is over (`None`: whichever it reads).
  pub fn release_reader(&self, id: u32, generation: Option<u64>) {
    self.append_with(|_| {}, Some(ReaderOp::Release { id, generation }));
  }

  /// Hands everything queued to `consume` (on the JS thread) with the reader
  /// operations queued alongside, then makes room for more. The two buffers trade
  /// places each round, so steady traffic allocates nothing.
  pub fn drain(&self, consume: impl FnOnce(&[u8], Vec<ReaderOp>)) {
    let mut spare = std::mem::take(&mut *self.spare.lock().unwrap());
    let readers = {
      let mut b = self.batch.lock().unwrap();
      b.scheduled = false;
      std::mem::swap(&mut b.buf, &mut spare);
      std::mem::take(&mut b.readers)
    };
    let n = spare.len();
    if n > 0 || !readers.is_empty() {
      consume(&spare, readers);
    }
    spare.clear();
    if spare.capacity() > SPARE_MAX {
      spare.shrink_to(SPARE_MAX);
    }
    *self.spare.lock().unwrap() = spare;
    let before = self.pending.fetch_sub(n, Ordering::Relaxed);
    if before >= HIGH_WATER && before - n < HIGH_WATER {
      self.room.notify_waiters();
    }
  }

  /// Waits while JS is behind. Readers call this before each read, so a slow
  /// consumer stops the reading (and the kernel's window closes) instead of
  /// memory growing.
  pub async fn wait_room(&self) {
    loop {
      let notified = self.room.notified();
      if self.pending.load(Ordering::Relaxed) < HIGH_WATER || self.is_closed() {
        return;
      }
      notified.await;
    }
  }

  /// Lets sockets be read on the JS thread (the environment can poll them).
  pub fn enable_js_reads(&self) {
    self.js_reads.store(true, Ordering::Relaxed);
  }

  /// Whether sockets may be handed to the JS thread to read.
  pub fn js_reads(&self) -> bool {
    self.js_reads.load(Ordering::Relaxed)
  }

  pub fn is_closed(&self) -> bool {
    self.batch.lock().unwrap().closed
  }

  /// The environment is going away: drop what is queued and accept nothing more.
  /// Runs `release` under the lock so no append can race with it.
  pub fn close(&self, release: impl FnOnce()) {
    let mut b = self.batch.lock().unwrap();
    b.closed = true;
    b.buf = Vec::new();
    b.readers.clear();
    release();
    drop(b);
    self.room.notify_waiters();
  }
}

#[cfg(test)]
pub(crate) mod tests {
  use super::*;
  use std::sync::atomic::AtomicU32;
  use std::sync::Arc;

  #[derive(Default)]
  pub struct CountingWake(pub Arc<AtomicU32>);
  impl Wake for CountingWake {
    fn wake(&self) {
      self.0.fetch_add(1, Ordering::SeqCst);
    }
  }

  /// Parses a batch back into `(id, kind, payload)`.
  pub fn records(buf: &[u8]) -> Vec<(u32, u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
      let id = u32::from_le_bytes(buf[at..at + 4].try_into().unwrap());
      let kind = buf[at + 4];
      let len = u32::from_le_bytes(buf[at + 5..at + 9].try_into().unwrap()) as usize;
      out.push((id, kind, buf[at + HEADER..at + HEADER + len].to_vec()));
      at += HEADER + len;
    }
    out
  }

  #[test]
  fn one_wake_per_batch() {
    let wakes = Arc::new(AtomicU32::new(0));
    let bridge = Bridge::new(Box::new(CountingWake(wakes.clone())));
    bridge.push(1, Kind::Data, b"a");
    bridge.push_parts(2, Kind::Data, &[b"b", b"c"]);
    assert_eq!(wakes.load(Ordering::SeqCst), 1);
    let mut got = Vec::new();
    bridge.drain(|b, _| got = records(b));
    assert_eq!(got, vec![(1, Kind::Data as u8, b"a".to_vec()), (2, Kind::Data as u8, b"bc".to_vec())]);
    bridge.push(3, Kind::End, b"");
    assert_eq!(wakes.load(Ordering::SeqCst), 2);
  }

  #[test]
  fn closed_bridge_drops_events_and_never_wakes() {
    let wakes = Arc::new(AtomicU32::new(0));
    let bridge = Bridge::new(Box::new(CountingWake(wakes.clone())));
    let mut released = false;
    bridge.close(|| released = true);
    assert!(released);
    bridge.push(1, Kind::Data, b"late");
    assert_eq!(wakes.load(Ordering::SeqCst), 0);
    bridge.drain(|_, _| panic!("nothing to deliver"));
  }

  #[tokio::test]
  async fn readers_wait_until_js_catches_up() {
    let bridge = Arc::new(Bridge::new(Box::new(CountingWake::default())));
    bridge.push(1, Kind::Data, &vec![0u8; HIGH_WATER]);
    let waiter = tokio::spawn({
      let b = bridge.clone();
      async move { b.wait_room().await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert!(!waiter.is_finished());
    bridge.drain(|_, _| {});
    tokio::time::timeout(std::time::Duration::from_secs(1), waiter).await.unwrap().unwrap();
  }
}
