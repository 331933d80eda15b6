//! One session: the socket's reader and writer, the idle timer and heartbeat, and the
//! pump that moves bytes until the session ends.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::os::fd::{OwnedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use serde_json::json;
use tokio::io::{AsyncReadExt, ReadHalf};
use tokio::time::Instant;

use super::{sleep_until, Applied, Driver, Ended};
use crate::bridge::{Bridge, Kind};
use crate::codec::{Codec, FrameError};
use crate::conn::outbox::Chunk;
use crate::conn::{clock, ReadEnd, ReadHandoff, State, Stats};
use crate::error::CoreError;
use crate::transport::{ChildProcess, Sink, SocketOptions, Stream};

const READ_CHUNK: usize = 64 * 1024;
/// Chunks handed to one vectored write.
const MAX_IOV: usize = 64;

/// The idle timer: fires once per quiet spell; traffic or `setTimeout()` re-arm it.
pub(super) struct Idle {
  since: Instant,
  /// `since` on the [`clock`], to compare with reads made on the JS thread.
  since_clock: u64,
  fired: bool,
}

impl Idle {
  pub(super) fn new() -> Self {
    Idle { since: Instant::now(), since_clock: clock(), fired: false }
  }

  pub(super) fn rearm(&mut self) {
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

impl Driver {
  /// Moves bytes until the connection ends.
  pub(super) async fn session(&mut self, stream: Stream, child: Option<ChildProcess>) -> Ended {
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
    let handoff = read_elsewhere.and_then(|_| writer.descriptor()).map(|fd| self.handoff(fd));
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
      // The JS thread reads into a buffer of its own: none is kept here for it.
      inbuf: if read_elsewhere.is_some() { BytesMut::new() } else { BytesMut::with_capacity(READ_CHUNK) },
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
      // The JS thread's reader keeps the socket open: shut it down for real, so the
      // peer sees the end now, and make that thread let go of it.
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

  /// The socket, for the JS thread to read.
  fn handoff(&self, fd: Arc<OwnedFd>) -> ReadHandoff {
    ReadHandoff { shared: self.shared.clone(), generation: self.generation, fd, codec: self.options.codec.clone() }
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
