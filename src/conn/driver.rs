//! The task that runs one connection: dial (and redial), then move bytes both ways
//! until the connection ends, reporting everything to JS through the bridge.

use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::outbox::Chunk;
use super::{Control, Options, Origin, Shared, State, Stats};
use crate::bridge::{Bridge, Kind};
use crate::codec::Codec;
use crate::error::CoreError;
use crate::policy::backoff::{Backoff, Next};
use crate::transport::{dial, ChildProcess, SocketOptions, Stream};

const READ_CHUNK: usize = 64 * 1024;
/// Chunks handed to one vectored write.
const MAX_IOV: usize = 64;

pub struct Driver {
  shared: Arc<Shared>,
  bridge: Arc<Bridge>,
  control: mpsc::UnboundedReceiver<Control>,
  options: Options,
  /// `end()` was called: flush, end, and do not reconnect.
  ending: bool,
  paused: bool,
  idle: Idle,
}

/// The idle timer: fires once per quiet spell; traffic or `setTimeout()` re-arm it.
struct Idle {
  since: Instant,
  fired: bool,
}

impl Idle {
  fn rearm(&mut self) {
    self.since = Instant::now();
    self.fired = false;
  }
}

/// Why an established connection stopped.
enum Ended {
  /// We ended it (`end()` completed, or both sides ended cleanly).
  Locally,
  /// `destroy()`.
  Destroyed,
  /// The peer went away or broke the protocol; a reconnecting client tries again.
  Lost(Option<CoreError>),
}

/// A control message arrived that ends whatever the driver was waiting for.
struct Destroyed;

impl Driver {
  pub(super) fn new(
    shared: Arc<Shared>,
    bridge: Arc<Bridge>,
    control: mpsc::UnboundedReceiver<Control>,
    options: Options,
  ) -> Self {
    Driver { shared, bridge, control, options, ending: false, paused: false, idle: Idle { since: Instant::now(), fired: false } }
  }

  fn emit(&self, kind: Kind, payload: &[u8]) {
    self.bridge.push(self.shared.id, kind, payload);
  }

  fn emit_json(&self, kind: Kind, v: serde_json::Value) {
    self.emit(kind, v.to_string().as_bytes());
  }

  pub async fn run(mut self, origin: Origin) {
    let had_error = match origin {
      Origin::Accepted(incoming) => match self.until_destroyed(incoming.establish()).await {
        Err(Destroyed) => false,
        Ok(Err(e)) => {
          self.shared.emit_error(&e);
          true
        }
        Ok(Ok(stream)) => {
          let ended = self.session(stream, None).await;
          self.finish(ended)
        }
      },
      Origin::Dial { target, tls, backoff } => self.dial_loop(target, tls, backoff).await,
    };
    self.shared.stats.set_state(State::Closed);
    let stats = self.shared.snapshot().to_json();
    self.emit_json(Kind::Close, json!({ "hadError": had_error, "stats": stats }));
  }

  /// Reports how a connection that will not be reconnected ended.
  fn finish(&self, ended: Ended) -> bool {
    match ended {
      Ended::Locally | Ended::Destroyed | Ended::Lost(None) => false,
      Ended::Lost(Some(e)) => {
        self.shared.emit_error(&e);
        true
      }
    }
  }

  async fn dial_loop(&mut self, target: crate::transport::Target, tls: Option<dial::Tls>, mut backoff: Option<Backoff>) -> bool {
    loop {
      let attempt = dial::dial(&target, tls.as_ref(), self.options.connect_timeout);
      let error = match self.until_destroyed(attempt).await {
        Err(Destroyed) => return false,
        Ok(Ok(dialed)) => {
          if let Some(b) = backoff.as_mut() {
            b.succeeded();
          }
          let ended = self.session(dialed.stream, dialed.child).await;
          match (ended, &backoff) {
            (Ended::Lost(cause), Some(_)) if !self.ending => {
              self.shared.stats.set_state(State::Reconnecting);
              self.emit_json(Kind::Disconnect, json!({ "error": cause.as_ref().map(CoreError::to_json) }));
              cause
            }
            (ended, _) => return self.finish(ended),
          }
        }
        Ok(Err(e)) => Some(e),
      };
      // Not connected: reconnect if we may, else report the failure and stop.
      let Some(b) = backoff.as_mut().filter(|_| !self.ending) else {
        if let Some(e) = error {
          self.shared.emit_error(&e);
        }
        return true;
      };
      let Next::Retry { delay, attempt } = b.failed() else {
        return self.give_up(error);
      };
      self.shared.stats.set_state(State::Reconnecting);
      Stats::add(&self.shared.stats.reconnects, 1);
      self.emit_json(
        Kind::Reconnecting,
        json!({ "delay": delay.as_millis() as u64, "attempt": attempt, "error": error.as_ref().map(CoreError::to_json) }),
      );
      if self.until_destroyed(tokio::time::sleep(delay)).await.is_err() || self.ending {
        return false;
      }
      if b.over_budget() {
        return self.give_up(error);
      }
    }
  }

  fn give_up(&self, last: Option<CoreError>) -> bool {
    let e = last.unwrap_or_else(|| CoreError::new("ERR_RECONNECT_FAILED", "gave up reconnecting"));
    self.shared.emit_error(&e);
    true
  }

  /// Runs `fut` while obeying control messages; `Err` if `destroy()` came first.
  async fn until_destroyed<F: Future>(&mut self, fut: F) -> Result<F::Output, Destroyed> {
    tokio::pin!(fut);
    loop {
      tokio::select! {
        out = &mut fut => return Ok(out),
        c = self.control.recv() => {
          if self.apply(c, None) {
            return Err(Destroyed);
          }
        }
      }
    }
  }

  /// Applies a control message; true means destroy. Socket options are remembered for
  /// later sockets and set on `stream` if connected.
  fn apply(&mut self, c: Option<Control>, stream: Option<&SocketOptions>) -> bool {
    let Some(c) = c else { return true }; // every JS handle is gone
    let result = match c {
      Control::Destroy => return true,
      Control::End => {
        self.ending = true;
        self.shared.wake_writer.notify_one();
        Ok(())
      }
      Control::Pause => {
        self.paused = true;
        Ok(())
      }
      Control::Resume => {
        self.paused = false;
        Ok(())
      }
      Control::NoDelay(on) => {
        self.options.no_delay = on;
        stream.map_or(Ok(()), |s| s.set_no_delay(on))
      }
      Control::KeepAlive(on, delay) => {
        self.options.keep_alive = on.then_some(delay);
        stream.map_or(Ok(()), |s| s.set_keep_alive(on, delay))
      }
      Control::Timeout(ms) => {
        self.options.idle_timeout = (ms > 0).then(|| Duration::from_millis(ms));
        self.idle.rearm();
        Ok(())
      }
    };
    if let Err(e) = result {
      self.shared.emit_error(&CoreError::io(&e, "setsockopt"));
    }
    false
  }

  /// Moves bytes until the connection ends.
  async fn session(&mut self, stream: Stream, mut child: Option<ChildProcess>) -> Ended {
    let sockopts = stream.socket_options();
    let applied = sockopts
      .set_no_delay(self.options.no_delay)
      .and_then(|_| self.options.keep_alive.map_or(Ok(()), |d| sockopts.set_keep_alive(true, d)));
    if let Err(e) = applied {
      self.shared.emit_error(&CoreError::io(&e, "setsockopt"));
    }
    self.shared.stats.set_state(State::Open);
    {
      let mut outbox = self.shared.outbox.lock().unwrap();
      outbox.set_online(true);
      outbox.set_direct(stream.direct_fd());
    }
    self.emit_json(Kind::Connect, stream.addresses().to_json());

    let (reader, writer) = tokio::io::split(stream);
    let mut io = Io {
      reader,
      writer,
      sockopts,
      codec: self.options.codec.clone(),
      inbuf: BytesMut::with_capacity(READ_CHUNK),
      inflight: VecDeque::new(),
      offset: 0,
    };
    let ended = self.pump(&mut io, &mut child).await;

    {
      let mut outbox = self.shared.outbox.lock().unwrap();
      // No direct write may touch the socket once this block ends: it closes below.
      outbox.set_direct(None);
      outbox.set_online(false);
      if !matches!(ended, Ended::Destroyed) {
        outbox.requeue(&mut io.inflight);
      }
    }
    if matches!(ended, Ended::Destroyed) {
      drop(io); // close the socket before anything else is reported
      if let Some(c) = child.as_ref() {
        c.kill();
      }
    }
    if let Some(mut c) = child {
      self.report_exit(c.wait().await);
    }
    ended
  }

  fn report_exit(&self, status: std::io::Result<std::process::ExitStatus>) {
    use std::os::unix::process::ExitStatusExt;
    let (code, signal) = match status {
      Ok(s) => (s.code(), s.signal().map(signal_name)),
      Err(_) => (None, None),
    };
    self.emit_json(Kind::Exit, json!({ "code": code, "signal": signal }));
  }

  async fn pump(&mut self, io: &mut Io, child: &mut Option<ChildProcess>) -> Ended {
    let mut reading = true;
    let mut writing = true;
    // The peer ended and we do not allow half-open: flush, end, and call it lost.
    let mut peer_gone = false;
    self.idle.rearm();
    loop {
      if writing && io.inflight.is_empty() {
        let ack = {
          let mut outbox = self.shared.outbox.lock().unwrap();
          outbox.take(&mut io.inflight, MAX_IOV);
          // A direct write may have sent the start of the first chunk.
          io.offset = io.inflight.front().map_or(0, |c| c.sent);
          if io.inflight.is_empty() {
            outbox.ack()
          } else {
            None
          }
        };
        if let Some(total) = ack {
          self.emit(Kind::Written, &total.to_le_bytes());
        }
        if io.inflight.is_empty() && (self.ending || peer_gone) {
          self.shared.stats.set_state(State::Closing);
          self.shared.outbox.lock().unwrap().set_direct(None);
          let _ = io.writer.shutdown().await;
          writing = false;
        }
      }
      if !reading && !writing {
        return if peer_gone && !self.ending { Ended::Lost(None) } else { Ended::Locally };
      }
      let deadline = self.options.idle_timeout.filter(|_| !self.idle.fired).map(|t| self.idle.since + t);
      let child_alive = child.is_some();
      tokio::select! {
        biased;
        c = self.control.recv() => {
          if self.apply(c, Some(&io.sockopts)) {
            return Ended::Destroyed;
          }
        }
        _ = self.shared.wake_writer.notified(), if writing && io.inflight.is_empty() => {}
        r = write_some(&mut io.writer, &io.inflight, io.offset), if writing && !io.inflight.is_empty() => match r {
          Ok(n) => {
            self.wrote(io, n);
            self.idle.rearm();
          }
          Err(e) => return Ended::Lost(Some(CoreError::io(&e, "write"))),
        },
        r = read_some(&self.bridge, &mut io.reader, &mut io.inbuf), if reading && !self.paused => match r {
          Ok(0) => {
            reading = false;
            self.emit(Kind::End, b"");
            peer_gone = !self.options.allow_half_open;
          }
          Ok(n) => {
            Stats::add(&self.shared.stats.bytes_in, n as u64);
            self.idle.rearm();
            if let Err(e) = self.deliver(io) {
              return Ended::Lost(Some(e));
            }
          }
          Err(e) => return Ended::Lost(Some(CoreError::io(&e, "read"))),
        },
        status = wait_child(child), if child_alive => {
          *child = None;
          self.report_exit(status);
        }
        _ = sleep_until(deadline), if deadline.is_some() => {
          self.idle.fired = true;
          self.emit(Kind::Timeout, b"");
        }
      }
    }
  }

  /// `n` bytes of the chunks in flight reached the socket.
  fn wrote(&self, io: &mut Io, mut n: usize) {
    Stats::add(&self.shared.stats.bytes_out, n as u64);
    let mut units = 0;
    while n > 0 {
      let left = io.inflight[0].data.len() - io.offset;
      if n < left {
        io.offset += n;
        break;
      }
      n -= left;
      io.offset = 0;
      units += io.inflight.pop_front().expect("wrote more than was in flight").units;
    }
    if units > 0 {
      let ack = {
        let mut outbox = self.shared.outbox.lock().unwrap();
        outbox.completed(units, io.inflight.is_empty());
        outbox.ack()
      };
      // Progress, so JS can lift backpressure before the whole queue is gone.
      if let Some(total) = ack {
        self.emit(Kind::Written, &total.to_le_bytes());
      }
    }
  }

  /// Hands every complete frame (or, unframed, every byte) read so far to JS.
  fn deliver(&self, io: &mut Io) -> Result<(), CoreError> {
    let kind = if io.codec.is_framed() { Kind::Frame } else { Kind::Data };
    let mut frames = Vec::new();
    let result = loop {
      match io.codec.decode(&mut io.inbuf) {
        Ok(Some(frame)) => frames.push(frame),
        Ok(None) => break Ok(()),
        Err(e) => break Err(CoreError::from(e)),
      }
    };
    // Complete frames before a bad one are delivered: nothing accepted is lost.
    if !frames.is_empty() {
      Stats::add(&self.shared.stats.frames_in, frames.len() as u64);
      self.bridge.push_each(self.shared.id, kind, &frames);
    }
    result
  }
}

/// The socket and the bytes in flight on it.
struct Io {
  reader: ReadHalf<Stream>,
  writer: WriteHalf<Stream>,
  sockopts: SocketOptions,
  codec: Codec,
  inbuf: BytesMut,
  inflight: VecDeque<Chunk>,
  /// Bytes of the first chunk in flight already written. A chunk is only dropped
  /// once whole, so after a failure it is sent again from its first byte.
  offset: usize,
}

async fn read_some(bridge: &Bridge, stream: &mut ReadHalf<Stream>, buf: &mut BytesMut) -> std::io::Result<usize> {
  bridge.wait_room().await;
  buf.reserve(READ_CHUNK);
  stream.read_buf(buf).await
}

async fn write_some(stream: &mut WriteHalf<Stream>, inflight: &VecDeque<Chunk>, offset: usize) -> std::io::Result<usize> {
  let slices: Vec<IoSlice<'_>> =
    inflight.iter().enumerate().map(|(i, c)| IoSlice::new(if i == 0 { &c.data[offset..] } else { &c.data })).collect();
  stream.write_vectored(&slices).await
}

async fn wait_child(child: &mut Option<ChildProcess>) -> std::io::Result<std::process::ExitStatus> {
  match child {
    Some(c) => c.wait().await,
    None => std::future::pending().await,
  }
}

async fn sleep_until(deadline: Option<Instant>) {
  match deadline {
    Some(d) => tokio::time::sleep_until(d).await,
    None => std::future::pending().await,
  }
}

fn signal_name(sig: i32) -> &'static str {
  match sig {
    libc::SIGHUP => "SIGHUP",
    libc::SIGINT => "SIGINT",
    libc::SIGQUIT => "SIGQUIT",
    libc::SIGABRT => "SIGABRT",
    libc::SIGKILL => "SIGKILL",
    libc::SIGSEGV => "SIGSEGV",
    libc::SIGPIPE => "SIGPIPE",
    libc::SIGTERM => "SIGTERM",
    _ => "SIGUNKNOWN",
  }
}
