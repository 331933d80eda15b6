//! The task that runs one connection: dial (and redial), then move bytes both ways
//! until the connection ends, reporting everything to JS through the bridge.

use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use serde_json::json;
use tokio::io::{AsyncReadExt, ReadHalf};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::outbox::Chunk;
use super::{clock, Control, Options, Origin, ReadEnd, ReadHandoff, Shared, State, Stats};
use crate::bridge::{Bridge, Kind};
use crate::codec::{Codec, FrameError};
use crate::error::{Code, CoreError};
use crate::policy::backoff::{Backoff, Next};
use crate::transport::{dial, ChildProcess, Sink, SocketOptions, Stream};

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
  idle: Idle,
  /// Counts sessions, so a read-end report from an old socket is not taken for
  /// the current one's.
  generation: u64,
  /// Writes dropped with the last session or attempt (`resend_unsent: false`), as
  /// JS-visible totals written before and handled after; reported with the next event.
  dropped: Option<(u64, u64)>,
  /// Waiting out a backoff delay: neither connected nor dialing.
  between_attempts: bool,
  /// When the next `Heartbeat` event is due, while one is set.
  next_beat: Option<Instant>,
}

/// The idle timer: fires once per quiet spell; traffic or `setTimeout()` re-arm it.
struct Idle {
  since: Instant,
  /// `since` on the [`clock`], to compare with reads made on the JS thread.
  since_clock: u64,
  fired: bool,
}

impl Idle {
  fn new() -> Self {
    Idle { since: Instant::now(), since_clock: clock(), fired: false }
  }

  fn rearm(&mut self) {
    *self = Idle::new();
  }

  /// The JS thread read at `last_read` (clock time): the quiet spell began then.
  fn moved_to(&mut self, last_read: u64) -> bool {
    if last_read <= self.since_clock {
      return false;
    }
    self.since = Instant::now() - Duration::from_nanos(clock().saturating_sub(last_read));
    self.since_clock = last_read;
    true
  }
}

/// What a control message asks of the driver.
enum Applied {
  Continue,
  Destroy,
  /// End the session (flushing first, or not) and let the reconnect policy decide.
  Hangup(bool),
  ReadEnded(u64, ReadEnd),
}

/// What woke the session loop.
enum Step {
  Control(Applied),
  Wake,
  Wrote(std::io::Result<usize>),
  Read(std::io::Result<usize>),
  Exited(std::io::Result<std::process::ExitStatus>),
  Idle,
  Beat,
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
struct Stopped;

impl Driver {
  pub(super) fn new(
    shared: Arc<Shared>,
    bridge: Arc<Bridge>,
    control: mpsc::UnboundedReceiver<Control>,
    options: Options,
  ) -> Self {
    Driver {
      shared,
      bridge,
      control,
      options,
      ending: false,
      idle: Idle::new(),
      generation: 0,
      dropped: None,
      between_attempts: false,
      next_beat: None,
    }
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
        Err(Stopped) => false,
        Ok(Err(e)) => {
          self.shared.emit_error(&e);
          true
        }
        Ok(Ok(stream)) => {
          let ended = self.session(stream, None).await;
          self.finish(ended)
        }
      },
      Origin::Dial { route, backoff } => self.dial_loop(route, backoff).await,
    };
    self.shared.closed(had_error, self.between_attempts);
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

  async fn dial_loop(&mut self, route: Box<dial::Route>, mut backoff: Option<Backoff>) -> bool {
    loop {
      let attempt = dial::dial(&route, self.options.connect_timeout);
      let error = match self.until_destroyed(attempt).await {
        Err(Stopped) => return false,
        Ok(Ok(dialed)) => {
          if let Some(b) = backoff.as_mut() {
            b.succeeded();
          }
          let ended = self.session(dialed.stream, dialed.child).await;
          match (ended, &backoff) {
            (Ended::Lost(cause), Some(_)) if !self.ending => {
              self.shared.stats.set_state(State::Reconnecting);
              let dropped = self.dropped.take();
              // What reached the lost socket, so JS can tell requests its peer may
              // have seen from those that go out again on the next session.
              let written = self.shared.outbox.lock().unwrap().done();
              self.emit_json(
                Kind::Disconnect,
                json!({ "error": cause.as_ref().map(CoreError::to_json), "dropped": dropped, "written": written }),
              );
              cause
            }
            (ended, _) => return self.finish(ended),
          }
        }
        Ok(Err(e)) => {
          if !self.options.resend_unsent {
            // What was written while dialing fails with the attempt, as on a Node socket.
            let mut outbox = self.shared.outbox.lock().unwrap();
            if !outbox.is_empty() {
              self.dropped = Some(outbox.discard(&mut VecDeque::new()));
            }
          }
          Some(e)
        }
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
      let dropped = self.dropped.take();
      self.emit_json(
        Kind::Reconnecting,
        json!({
          "delay": delay.as_millis() as u64,
          "attempt": attempt,
          "error": error.as_ref().map(CoreError::to_json),
          "dropped": dropped,
        }),
      );
      self.between_attempts = true;
      if self.until_stopped(tokio::time::sleep(delay), true).await.is_err() || self.ending {
        return false;
      }
      self.between_attempts = false;
      if b.over_budget() {
        return self.give_up(error);
      }
      if self.options.announce_attempts {
        self.emit_json(Kind::Dialing, json!({ "attempt": attempt }));
      }
    }
  }

  fn give_up(&self, last: Option<CoreError>) -> bool {
    let e = last.unwrap_or_else(|| CoreError::new(Code::ReconnectFailed, "gave up reconnecting"));
    self.shared.emit_error(&e);
    true
  }

  /// Runs `fut` while obeying control messages; `Err` if `destroy()` came first.
  async fn until_destroyed<F: Future>(&mut self, fut: F) -> Result<F::Output, Stopped> {
    self.until_stopped(fut, false).await
  }

  /// As [`Driver::until_destroyed`]; with `end_stops`, `end()` stops the wait too (a
  /// backoff delay is not worth waiting out once nobody wants the connection).
  async fn until_stopped<F: Future>(&mut self, fut: F, end_stops: bool) -> Result<F::Output, Stopped> {
    tokio::pin!(fut);
    loop {
      tokio::select! {
        out = &mut fut => return Ok(out),
        c = self.control.recv() => match self.apply(c, None) {
          Applied::Destroy => return Err(Stopped),
          _ if end_stops && self.ending => return Err(Stopped),
          // Not connected: a read-end report can only be a stale one, and there is
          // no session to hang up.
          _ => {}
        },
      }
    }
  }

  /// Applies a control message. Socket options are remembered for later sockets and
  /// set on `stream` if connected.
  fn apply(&mut self, c: Option<Control>, stream: Option<&SocketOptions>) -> Applied {
    let Some(c) = c else { return Applied::Destroy }; // every JS handle is gone
    let result = match c {
      Control::Destroy => return Applied::Destroy,
      Control::Hangup { flush } => return Applied::Hangup(flush),
      Control::ReadEnded { generation, end } => return Applied::ReadEnded(generation, end),
      Control::End => {
        self.ending = true;
        self.shared.wake_writer.notify_one();
        Ok(())
      }
      // `Shared::paused` holds the state; the message only wakes the loop.
      Control::Pause | Control::Resume => Ok(()),
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
      Control::Heartbeat(ms) => {
        self.options.heartbeat = (ms > 0).then(|| Duration::from_millis(ms));
        self.next_beat = self.options.heartbeat.map(|every| Instant::now() + every);
        Ok(())
      }
    };
    if let Err(e) = result {
      self.shared.emit_error(&CoreError::io(&e, "setsockopt"));
    }
    Applied::Continue
  }

  /// Moves bytes until the connection ends.
  async fn session(&mut self, stream: Stream, child: Option<ChildProcess>) -> Ended {
    let sockopts = stream.socket_options();
    let applied = sockopts
      .set_no_delay(self.options.no_delay)
      .and_then(|_| self.options.keep_alive.map_or(Ok(()), |d| sockopts.set_keep_alive(true, d)));
    if let Err(e) = applied {
      self.shared.emit_error(&CoreError::io(&e, "setsockopt"));
    }
    let addresses = stream.addresses().to_json().to_string();
    let direct = stream.direct_fd();
    let js_reads = direct.is_some() && self.bridge.js_reads();
    // Split first: nothing may write to or read the descriptor from another thread
    // before it is certain to stay open for the whole session.
    let (reader, writer) = match crate::transport::split(stream, js_reads) {
      Ok(halves) => halves,
      Err(e) => return self.reap(child, Ended::Lost(Some(CoreError::io(&e, "read")))).await,
    };
    self.generation += 1;
    if let Some(ws) = self.options.codec.websocket() {
      ws.reopened();
    }
    let read_elsewhere = direct.filter(|_| js_reads);
    let handoff = match read_elsewhere.map(|fd| self.handoff(fd)) {
      Some(Ok(h)) => Some(h),
      Some(Err(e)) => return Ended::Lost(Some(CoreError::io(&e, "dup"))),
      None => None,
    };
    self.shared.stats.set_state(State::Open);
    {
      let mut outbox = self.shared.outbox.lock().unwrap();
      outbox.set_online(true);
      outbox.set_direct(direct);
    }
    let mut io = Io {
      reader,
      writer,
      sockopts,
      codec: self.options.codec.clone(),
      inbuf: BytesMut::with_capacity(READ_CHUNK),
      inflight: VecDeque::new(),
      offset: 0,
      read_elsewhere,
    };
    let mut child = child;
    let ended = if self.bridge.push_connect(self.shared.id, addresses.as_bytes(), handoff) {
      self.pump(&mut io, &mut child).await
    } else {
      Ended::Destroyed // the environment is going away
    };
    if let Some(fd) = io.read_elsewhere {
      // The JS thread's duplicate keeps the socket open: shut it down for real, so
      // the peer sees the end now, and make that thread let go of it.
      unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
      self.bridge.release_reader(self.shared.id, Some(self.generation));
    }
    {
      let mut outbox = self.shared.outbox.lock().unwrap();
      // No direct write may touch the socket once this block ends: it closes below.
      outbox.set_direct(None);
      outbox.set_online(false);
      match ended {
        Ended::Destroyed => {}
        Ended::Lost(_) if !self.options.resend_unsent => self.dropped = Some(outbox.discard(&mut io.inflight)),
        _ => outbox.requeue(&mut io.inflight),
      }
    }
    drop(io);
    self.reap(child, ended).await
  }

  /// A duplicate of the socket for the JS thread to read.
  fn handoff(&self, fd: RawFd) -> std::io::Result<ReadHandoff> {
    let dup = unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()?;
    Ok(ReadHandoff { shared: self.shared.clone(), generation: self.generation, fd: dup, codec: self.options.codec.clone() })
  }

  /// A stdio session ends with its child: wait for the exit (killing the child on
  /// `destroy()`, also while waiting) and report it.
  async fn reap(&mut self, child: Option<ChildProcess>, ended: Ended) -> Ended {
    let Some(mut child) = child else { return ended };
    if matches!(ended, Ended::Destroyed) {
      child.kill();
    }
    let status = match self.until_destroyed(child.wait()).await {
      Ok(status) => status,
      Err(Stopped) => {
        child.kill();
        let status = child.wait().await;
        self.report_exit(status);
        return Ended::Destroyed;
      }
    };
    self.report_exit(status);
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
    // `Hangup { flush: true }`: flush, end, and call it lost, so the policy redials.
    let mut hanging_up = false;
    self.idle.rearm();
    // Each session beats from its start.
    self.next_beat = self.options.heartbeat.map(|every| Instant::now() + every);
    loop {
      if writing && io.inflight.is_empty() {
        let ack = loop {
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
          // Refused writes wait in line as empty chunks: those in front are settled
          // now (nothing to write), and if that was all, take what follows them.
          if io.inflight.front().is_some_and(|c| c.data.is_empty()) {
            self.wrote(io, 0);
            if io.inflight.is_empty() {
              continue;
            }
          }
          break ack;
        };
        if io.inflight.is_empty() {
          io.writer.idle();
        }
        if let Some(total) = ack {
          self.emit(Kind::Written, &total.to_le_bytes());
        }
        if io.inflight.is_empty() && (self.ending || peer_gone || hanging_up) {
          self.shared.stats.set_state(State::Closing);
          self.shared.outbox.lock().unwrap().set_direct(None);
          let _ = io.writer.shutdown().await;
          writing = false;
        }
      }
      if !reading && !writing {
        return if (peer_gone || hanging_up) && !self.ending { Ended::Lost(None) } else { Ended::Locally };
      }
      let deadline = self.options.idle_timeout.filter(|_| !self.idle.fired).map(|t| self.idle.since + t);
      let child_alive = child.is_some();
      let read_here = reading && io.reader.is_some() && !self.shared.is_paused();
      let step = tokio::select! {
        biased;
        c = self.control.recv() => Step::Control(self.apply(c, Some(&io.sockopts))),
        _ = self.shared.wake_writer.notified(), if writing && io.inflight.is_empty() => Step::Wake,
        r = write_some(&mut io.writer, &io.inflight, io.offset), if writing && !io.inflight.is_empty() => Step::Wrote(r),
        r = read_some(&self.bridge, io.reader.as_mut(), &mut io.inbuf), if read_here => Step::Read(r),
        status = wait_child(child), if child_alive => Step::Exited(status),
        _ = sleep_until(deadline), if deadline.is_some() => Step::Idle,
        _ = sleep_until(self.next_beat), if self.next_beat.is_some() => Step::Beat,
      };
      match step {
        Step::Control(Applied::Continue) | Step::Wake => {}
        Step::Control(Applied::Destroy) => return Ended::Destroyed,
        Step::Control(Applied::Hangup(false)) => return Ended::Lost(None),
        Step::Control(Applied::Hangup(true)) => hanging_up = true,
        Step::Control(Applied::ReadEnded(generation, _)) if generation != self.generation => {}
        Step::Read(Ok(0)) | Step::Control(Applied::ReadEnded(_, ReadEnd::Eof)) => {
          reading = false;
          self.emit(Kind::End, b"");
          peer_gone = !self.options.allow_half_open;
        }
        Step::Read(Ok(n)) => {
          Stats::add(&self.shared.stats.bytes_in, n as u64);
          self.idle.rearm();
          match self.deliver(io) {
            Ok(None) => {}
            Ok(Some((code, reason))) => {
              self.peer_closed(code, reason);
              reading = false;
              peer_gone = true;
            }
            Err(e) => return Ended::Lost(Some(e)),
          }
        }
        Step::Control(Applied::ReadEnded(_, ReadEnd::Closed(code, reason))) => {
          self.peer_closed(code, reason);
          reading = false;
          peer_gone = true;
        }
        Step::Read(Err(e)) => return Ended::Lost(Some(CoreError::io(&e, "read"))),
        Step::Control(Applied::ReadEnded(_, ReadEnd::Failed(e))) => return Ended::Lost(Some(e)),
        Step::Wrote(Ok(n)) => {
          self.wrote(io, n);
          self.idle.rearm();
        }
        Step::Wrote(Err(e)) => return Ended::Lost(Some(CoreError::io(&e, "write"))),
        Step::Exited(status) => {
          *child = None;
          self.report_exit(status);
        }
        Step::Idle => {
          if !self.idle.moved_to(self.shared.last_read()) {
            self.idle.fired = true;
            self.emit(Kind::Timeout, b"");
          }
        }
        Step::Beat => {
          // A late beat is not made up for: the next is an interval from now.
          self.next_beat = self.options.heartbeat.map(|every| Instant::now() + every);
          self.emit(Kind::Heartbeat, b"");
        }
      }
    }
  }

  /// `n` bytes of the chunks in flight reached the socket.
  fn wrote(&self, io: &mut Io, mut n: usize) {
    Stats::add(&self.shared.stats.bytes_out, n as u64);
    let mut units = 0;
    // Whole chunks, and the empty ones (refused writes) that follow them, are done.
    while let Some(front) = io.inflight.front() {
      let left = front.data.len() - io.offset;
      if n < left {
        io.offset += n;
        break;
      }
      n -= left;
      io.offset = 0;
      units += io.inflight.pop_front().map_or(0, |c| c.units);
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

  /// The peer closed its WebSocket: our answer goes out with what is queued, then the
  /// connection ends, half-open or not.
  fn peer_closed(&self, code: u16, reason: String) {
    self.emit_json(Kind::PeerClosed, json!({ "code": code, "reason": reason }));
    self.emit(Kind::End, b"");
  }

  /// Hands every complete frame (or, unframed, every byte) read so far to JS, and
  /// queues what the codec owes the peer (a WebSocket's pongs and close). `Some`:
  /// the peer closed its WebSocket, with this code and reason.
  fn deliver(&self, io: &mut Io) -> Result<Option<(u16, String)>, CoreError> {
    let kind = if io.codec.is_framed() { Kind::Frame } else { Kind::Data };
    let mut frames = Vec::new();
    let result = loop {
      match io.codec.decode(&mut io.inbuf) {
        Ok(Some(frame)) => frames.push(frame),
        Ok(None) => break Ok(None),
        Err(FrameError::Closed { code, reason }) => break Ok(Some((code, reason))),
        Err(e) => break Err(CoreError::from(e)),
      }
    };
    // Complete frames before a bad one are delivered: nothing accepted is lost.
    if !frames.is_empty() {
      Stats::add(&self.shared.stats.frames_in, frames.len() as u64);
      self.bridge.push_each(self.shared.id, kind, &frames);
    }
    if let Some(replies) = io.codec.take_replies() {
      self.shared.write_control(replies);
    }
    result
  }
}

/// The socket and the bytes in flight on it.
struct Io {
  /// `None` when the JS thread reads the socket.
  reader: Option<ReadHalf<Stream>>,
  writer: Sink,
  sockopts: SocketOptions,
  codec: Codec,
  inbuf: BytesMut,
  inflight: VecDeque<Chunk>,
  /// Bytes of the first chunk in flight already written. A chunk is only dropped
  /// once whole, so after a failure it is sent again from its first byte.
  offset: usize,
  /// Set when the JS thread reads this socket: its descriptor, to shut down at the end.
  read_elsewhere: Option<RawFd>,
}

async fn read_some(bridge: &Bridge, stream: Option<&mut ReadHalf<Stream>>, buf: &mut BytesMut) -> std::io::Result<usize> {
  let Some(stream) = stream else { return std::future::pending().await };
  bridge.wait_room().await;
  buf.reserve(READ_CHUNK);
  stream.read_buf(buf).await
}

async fn write_some(sink: &mut Sink, inflight: &VecDeque<Chunk>, offset: usize) -> std::io::Result<usize> {
  let slices: Vec<IoSlice<'_>> =
    inflight.iter().enumerate().map(|(i, c)| IoSlice::new(if i == 0 { &c.data[offset..] } else { &c.data })).collect();
  sink.write_vectored(&slices).await
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
