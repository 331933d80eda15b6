//! One connection: the state shared between the JS thread and its driver task.
//!
//! JS writes land in the [`Outbox`] under a mutex (the hot path: no channel, no
//! allocation per write) and wake the driver; everything else — end, destroy, pause,
//! socket options — goes through the control channel, in order.

mod driver;
mod outbox;
pub mod stats;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};

use crate::bridge::{Bridge, Kind};
use crate::codec::Codec;
use crate::error::{Code, CoreError};
use crate::policy::backoff::Backoff;
use crate::transport::dial::Route;

pub use driver::Driver;
pub use outbox::{Outbox, Queued};
pub use stats::{State, Stats};

/// Per-connection settings. Socket options changed from JS later are kept here by the
/// driver, so a reconnected socket gets them too.
#[derive(Debug, Clone)]
pub struct Options {
  pub codec: Codec,
  pub connect_timeout: Option<Duration>,
  pub idle_timeout: Option<Duration>,
  /// A `Heartbeat` event this often while connected: a protocol's pings run on the
  /// core's timers, with the connection, not on timers of their own.
  pub heartbeat: Option<Duration>,
  /// A `Dialing` event as each reconnect attempt starts. Off unless asked for: an
  /// event wakes JS, which then runs just as the dial completes, ahead of whatever
  /// else (a server in the same process accepting the socket) would have run first.
  pub announce_attempts: bool,
  pub no_delay: bool,
  /// SO_KEEPALIVE with this initial delay (0: the system's).
  pub keep_alive: Option<u64>,
  /// Keep writing after the peer ends its side (Node's `allowHalfOpen`).
  pub allow_half_open: bool,
  pub offline_limit: usize,
  /// Writes still unsent when a session is lost go out on the next one (`true`), or
  /// fail with it, as on a Node socket (`false`: a protocol client whose replies are
  /// matched by order must not see requests of the old session answered on the new).
  pub resend_unsent: bool,
}

impl Default for Options {
  fn default() -> Self {
    Options {
      codec: Codec::Raw,
      connect_timeout: None,
      idle_timeout: None,
      heartbeat: None,
      announce_attempts: false,
      no_delay: true,
      keep_alive: None,
      allow_half_open: false,
      offline_limit: 16 * 1024 * 1024,
      resend_unsent: true,
    }
  }
}

#[derive(Debug, Clone)]
pub enum Control {
  /// Flush, then end our side; stop reconnecting.
  End,
  /// Close now; drop what is queued.
  Destroy,
  /// End this session only (flushing first, or not): a reconnecting connection dials
  /// again on its schedule, as connman's sockets do after `end()` or `destroy()`.
  Hangup { flush: bool },
  Pause,
  Resume,
  NoDelay(bool),
  /// Enable, and initial delay in ms.
  KeepAlive(bool, u64),
  /// Idle timeout in ms; 0 turns it off.
  Timeout(u64),
  /// A `Heartbeat` event every this many ms while connected; 0 turns it off.
  Heartbeat(u64),
  /// The JS thread stopped reading the socket of session `generation`. Boxed, as
  /// the one large variant: every connection's channel allocates its first block
  /// of slots up front, at the size of the largest.
  ReadEnded { generation: u64, end: Box<ReadEnd> },
}

/// How reading a socket ended.
#[derive(Debug, Clone)]
pub enum ReadEnd {
  Eof,
  /// The peer closed its WebSocket with this code and reason.
  Closed(u16, String),
  Failed(CoreError),
}

/// A plain socket whose reading moves to the JS thread: there, each readable event
/// is read, split into frames and dispatched in one call, with no thread hop (see
/// `node/reader.rs`). `fd` is the driver's own descriptor, shared (one per connection,
/// as Node's): it closes once the reader, on its own time, and the driver let go.
/// The driver shuts the socket down when the session ends, which the reader sees as
/// EOF.
pub struct ReadHandoff {
  pub shared: Arc<Shared>,
  pub generation: u64,
  pub fd: Arc<std::os::fd::OwnedFd>,
  pub codec: Codec,
}

pub struct Shared {
  pub id: u32,
  outbox: Mutex<Outbox>,
  wake_writer: Notify,
  control: mpsc::UnboundedSender<Control>,
  /// Encodes frames written from JS; the decoder lives in the driver.
  encoder: Codec,
  pub stats: Stats,
  bridge: Arc<Bridge>,
  /// `pause()`: read by whoever reads the socket, the driver or the JS thread.
  paused: AtomicBool,
  /// When the JS thread last read from the socket (see [`clock`]), for the idle timer.
  last_read: AtomicU64,
}

/// Monotonic nanoseconds since the first call, as a plain number for atomics.
pub fn clock() -> u64 {
  static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
  START.get_or_init(std::time::Instant::now).elapsed().as_nanos() as u64
}

impl Shared {
  /// Creates a connection and the driver that will run it on the runtime.
  pub fn new(id: u32, bridge: Arc<Bridge>, mut options: Options) -> (Arc<Shared>, driver::Driver) {
    let (tx, rx) = mpsc::unbounded_channel();
    options.codec = options.codec.for_connection();
    let shared = Arc::new(Shared {
      id,
      outbox: Mutex::new(Outbox::new(options.offline_limit)),
      wake_writer: Notify::new(),
      control: tx,
      encoder: options.codec.clone(),
      stats: Stats::default(),
      bridge: bridge.clone(),
      paused: AtomicBool::new(false),
      last_read: AtomicU64::new(0),
    });
    let driver = driver::Driver::new(shared.clone(), bridge, rx, options);
    (shared, driver)
  }

  /// Queues writes from JS, in order: `frame` asks for each to be framed by the
  /// codec; `ack` asks for the total of bytes handled once they are flushed. When
  /// they went out at once that total is returned (the caller tells JS on the spot);
  /// otherwise a `Written` event brings it later.
  ///
  /// Connected, the run goes out as one unit (one lock, one syscall). Offline, each
  /// write is measured against the queue's bound on its own and refused whole.
  pub fn write(&self, writes: &[&[u8]], frame: bool, ack: bool) -> Option<u64> {
    let framing = frame && self.encoder.is_framed();
    // The bytes to send, and where each write ends in them with its JS size.
    let joined;
    let (bytes, pieces): (&[u8], Vec<(usize, u64)>) = match writes {
      [one] if !framing => (one, vec![(one.len(), one.len() as u64)]),
      _ => {
        let mut out = bytes::BytesMut::with_capacity(writes.iter().map(|w| w.len() + 8).sum());
        let mut pieces = Vec::with_capacity(writes.len());
        for w in writes {
          if !framing {
            out.extend_from_slice(w);
          } else if let Err(e) = self.encoder.encode(w, &mut out) {
            // One bad frame is refused; the others in the run still go.
            self.outbox.lock().unwrap().refused(w.len() as u64);
            self.emit_error(&e.into());
            continue;
          }
          pieces.push((out.len(), w.len() as u64));
        }
        joined = out;
        (&joined[..], pieces)
      }
    };
    let frames = if framing { pieces.len() as u64 } else { 0 };

    let mut refused = Vec::new();
    let (queued, ack) = {
      let mut outbox = self.outbox.lock().unwrap();
      if ack {
        outbox.request_ack();
      }
      let queued = if outbox.is_online() {
        let units = pieces.iter().map(|p| p.1).sum();
        outbox.push(bytes, units).expect("no bound while online")
      } else {
        let mut from = 0;
        for &(to, units) in &pieces {
          if let Err(o) = outbox.push(&bytes[from..to], units) {
            refused.push(o);
          }
          from = to;
        }
        Queued::Pending(0) // offline: nothing is sent directly
      };
      // Written at once: the driver will not run, so report from here.
      let ack = if queued == Queued::Sent { outbox.ack() } else { None };
      (queued, ack)
    };
    Stats::add(&self.stats.frames_out, frames);
    for o in refused {
      let mut e = CoreError::new(
        Code::OfflineQueueFull,
        format!("offline queue full: {} bytes queued, a write of {} refused (limit {})", o.queued, o.refused, o.limit),
      );
      e.syscall = Some("write");
      let mut json = e.to_json();
      json["writeEnd"] = o.write_end.into();
      self.bridge.push(self.id, Kind::Error, json.to_string().as_bytes());
    }
    match queued {
      Queued::Sent => {
        Stats::add(&self.stats.bytes_out, bytes.len() as u64);
        ack
      }
      Queued::Pending(sent) => {
        Stats::add(&self.stats.bytes_out, sent as u64);
        self.wake_writer.notify_one();
        None
      }
    }
  }

  /// Queues protocol bytes of the core's own (a WebSocket's control frames): JS did
  /// not write them, so they count toward none of its totals.
  pub fn write_control(&self, bytes: bytes::Bytes) {
    let queued = self.outbox.lock().unwrap().push(&bytes, 0);
    if let Ok(Queued::Pending(_)) = queued {
      self.wake_writer.notify_one();
    }
  }

  /// Closes a WebSocket: a close frame with `code` and `reason`, then the end.
  /// Other connections simply end.
  pub fn close_websocket(&self, code: Option<u16>, reason: &str) {
    if let Some(ws) = self.encoder.websocket() {
      let mut frame = bytes::BytesMut::new();
      ws.close_frame(code, reason, &mut frame);
      self.write_control(frame.freeze());
    }
    self.control(Control::End);
  }

  pub fn snapshot(&self) -> Snapshot {
    let s = &self.stats;
    Snapshot {
      bytes_in: Stats::get(&s.bytes_in),
      bytes_out: Stats::get(&s.bytes_out),
      frames_in: Stats::get(&s.frames_in),
      frames_out: Stats::get(&s.frames_out),
      reconnects: Stats::get(&s.reconnects),
      queued: self.outbox.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len() as u64,
      state: s.state(),
    }
  }

  pub fn id(&self) -> u32 {
    self.id
  }

  pub fn is_paused(&self) -> bool {
    self.paused.load(Ordering::Relaxed)
  }

  pub fn set_paused(&self, paused: bool) {
    self.paused.store(paused, Ordering::Relaxed);
    self.control(if paused { Control::Pause } else { Control::Resume });
  }

  /// The JS thread read `bytes` carrying `frames` frames.
  pub fn note_read(&self, bytes: usize, frames: usize) {
    Stats::add(&self.stats.bytes_in, bytes as u64);
    Stats::add(&self.stats.frames_in, frames as u64);
    self.last_read.store(clock(), Ordering::Relaxed);
  }

  fn last_read(&self) -> u64 {
    self.last_read.load(Ordering::Relaxed)
  }

  pub fn control(&self, c: Control) {
    // The driver is gone only after `Close`; late calls then have nothing to do.
    let _ = self.control.send(c);
  }

  pub fn emit_error(&self, e: &CoreError) {
    self.bridge.push(self.id, Kind::Error, e.to_json().to_string().as_bytes());
  }

  /// `e` ends the connection: the close follows. Said in the event (`fatal`), so JS
  /// can destroy its stream with it, as Node does a socket whose read or write failed.
  pub fn emit_fatal(&self, e: &CoreError) {
    let mut info = e.to_json();
    info["fatal"] = serde_json::Value::Bool(true);
    self.bridge.push(self.id, Kind::Error, info.to_string().as_bytes());
  }

  /// The connection's last event. `waiting`: it ended between reconnect attempts.
  fn closed(&self, had_error: bool, waiting: bool) {
    self.stats.set_state(State::Closed);
    let stats = self.snapshot().to_json();
    self.bridge.push(self.id, Kind::Close, serde_json::json!({ "hadError": had_error, "waiting": waiting, "stats": stats }).to_string().as_bytes());
  }

  /// The driver panicked (see `guard`): no more direct writes or JS-thread reads of
  /// its socket, then `e` and the close, as for a connection that failed. Called
  /// before the driver's socket is dropped.
  pub fn abandon(&self, e: &CoreError) {
    // The panic may have struck while the outbox was locked.
    let mut outbox = self.outbox.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    outbox.set_direct(None);
    outbox.set_online(false);
    drop(outbox);
    self.bridge.release_reader(self.id, None);
    self.emit_fatal(e);
    self.closed(true, false);
  }
}

#[derive(Debug, Clone)]
pub struct Snapshot {
  pub bytes_in: u64,
  pub bytes_out: u64,
  pub frames_in: u64,
  pub frames_out: u64,
  pub reconnects: u64,
  pub queued: u64,
  pub state: State,
}

impl Snapshot {
  pub fn to_json(&self) -> serde_json::Value {
    serde_json::json!({
      "bytesIn": self.bytes_in,
      "bytesOut": self.bytes_out,
      "framesIn": self.frames_in,
      "framesOut": self.frames_out,
      "reconnects": self.reconnects,
      "queued": self.queued,
      "state": self.state.name(),
    })
  }
}

/// How a connection comes to be.
pub enum Origin {
  Dial { route: Box<Route>, backoff: Option<Backoff> },
  Accepted(crate::transport::Incoming),
}
