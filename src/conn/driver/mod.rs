//! The task that runs one connection: dial (and redial), then move bytes both ways
//! until the connection ends, reporting everything to JS through the bridge.
//!
//! Here: the driver's state, how it starts and finishes, and the control messages it
//! obeys whatever it is doing. Dialing and reconnecting are in `dial.rs`, a session's
//! byte pump in `session.rs`, a child process's end in `child.rs`.

mod child;
mod dial;
mod session;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Control, Options, Origin, ReadEnd, Shared};
use crate::bridge::{Bridge, Kind};
use crate::error::CoreError;
use crate::transport::SocketOptions;
use session::Idle;

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

/// What a control message asks of the driver.
enum Applied {
  Continue,
  Destroy,
  /// End the session (flushing first, or not) and let the reconnect policy decide.
  Hangup(bool),
  ReadEnded(u64, ReadEnd),
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
    // The dial loop (name lookups, connects, TLS clients) and a TLS accept are boxed:
    // inline, their state, three times a session's, was the size of every
    // connection's task, accepted ones included.
    let had_error = match origin {
      Origin::Accepted(incoming) => match self.until_destroyed(Box::pin(incoming.establish())).await {
        Err(Stopped) => false,
        Ok(Err(e)) => {
          self.shared.emit_fatal(&e);
          true
        }
        Ok(Ok(stream)) => {
          let ended = self.session(stream, None).await;
          self.finish(ended)
        }
      },
      Origin::Dial { route, backoff } => Box::pin(self.dial_loop(route, backoff)).await,
    };
    self.shared.closed(had_error, self.between_attempts);
  }

  /// Reports how a connection that will not be reconnected ended.
  fn finish(&self, ended: Ended) -> bool {
    match ended {
      Ended::Locally | Ended::Destroyed | Ended::Lost(None) => false,
      Ended::Lost(Some(e)) => {
        self.shared.emit_fatal(&e);
        true
      }
    }
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
      Control::ReadEnded { generation, end } => return Applied::ReadEnded(generation, *end),
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
}

async fn sleep_until(deadline: Option<Instant>) {
  match deadline {
    Some(d) => tokio::time::sleep_until(d).await,
    None => std::future::pending().await,
  }
}
