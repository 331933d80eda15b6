//! Per-connection counters, readable from JS at any time without stopping the driver.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};

#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
  Connecting = 0,
  Open = 1,
  Reconnecting = 2,
  Closing = 3,
  Closed = 4,
}

impl State {
  pub fn name(self) -> &'static str {
    match self {
      State::Connecting => "connecting",
      State::Open => "open",
      State::Reconnecting => "reconnecting",
      State::Closing => "closing",
      State::Closed => "closed",
    }
  }
}

#[derive(Debug, Default)]
pub struct Stats {
  pub bytes_in: AtomicU64,
  pub bytes_out: AtomicU64,
  pub frames_in: AtomicU64,
  pub frames_out: AtomicU64,
  pub reconnects: AtomicU64,
  state: AtomicU8,
}

impl Stats {
  pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Relaxed);
  }

  pub fn get(counter: &AtomicU64) -> u64 {
    counter.load(Relaxed)
  }

  pub fn set_state(&self, s: State) {
    self.state.store(s as u8, Relaxed);
  }

  pub fn state(&self) -> State {
    match self.state.load(Relaxed) {
      0 => State::Connecting,
      1 => State::Open,
      2 => State::Reconnecting,
      3 => State::Closing,
      _ => State::Closed,
    }
  }
}
