//! Dialing, and redialing on the reconnect policy's schedule: the driver's outer loop.

use std::collections::VecDeque;

use serde_json::json;

use super::{Driver, Ended, Stopped};
use crate::bridge::Kind;
use crate::conn::{State, Stats};
use crate::error::{Code, CoreError};
use crate::policy::backoff::{Backoff, Next};
use crate::transport::dial;

impl Driver {
  pub(super) async fn dial_loop(&mut self, route: Box<dial::Route>, mut backoff: Option<Backoff>) -> bool {
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
          self.shared.emit_fatal(&e);
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
    self.shared.emit_fatal(&e);
    true
  }
}
