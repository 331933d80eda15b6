//! The reconnect schedule shared by every face.
//!
//! One engine, parameterised enough to reproduce each original package's schedule to
//! the millisecond (the tests below replay their loops), plus a jittered exponential
//! default. The engine knows no package: each face passes its schedule as plain
//! parameters (`faces/*/schedule.js`).
//!
//! Vocabulary: an *attempt* is one try to connect; a *delay* is the wait before it.
//! The schedule advances on every failed attempt and restarts after a success.

use std::time::Duration;

/// How the base delay grows once it approaches `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cap {
  /// `next = min(prev * factor, max)` (jstp, connkit's default).
  Clamp,
  /// Grow only while `prev < max`, so one step may overshoot; the overshoot is kept
  /// (connman: `if (backoff < 128000) backoff *= 2`).
  GrowBelow,
  /// Grow only while `prev < max`; once there, snap to `max` (thrift:
  /// `delay >= max ? max : floor(delay * 1.7)`).
  GrowBelowThenSnap,
}

/// Randomness added to each delay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Jitter {
  None,
  /// Adds a whole number of milliseconds drawn uniformly from `[min, max]`.
  Uniform { min: u64, max: u64 },
  /// Multiplies by a factor drawn uniformly from `[1 - ratio, 1]`.
  Proportional { ratio: f64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
  /// Base of the first delay after a failed first connection.
  pub initial_ms: f64,
  pub factor: f64,
  pub max_ms: f64,
  pub cap: Cap,
  pub jitter: Jitter,
  /// Give up after this many scheduled attempts (counted since the last success).
  pub max_attempts: Option<u32>,
  /// Give up once the delays waited since the last success add up to this.
  pub budget_ms: Option<u64>,
  /// Base of the first delay after an established connection drops (the schedule
  /// restarts here; connman restarts at 100 ms although it started at 20 ms).
  pub reset_ms: f64,
  /// A separate first delay after a drop, `[min, max]` uniform, that does not advance
  /// the schedule (socket-ipc's `reconnectDelay`; its `retryDelay` is the schedule).
  pub drop_delay: Option<(u64, u64)>,
  /// Whether floors are taken on each growth step (the originals do `Math.floor`).
  pub integer_steps: bool,
}

impl Default for Policy {
  /// connkit's own default: 100 ms doubling to 30 s, up to 50% shaved off at random.
  fn default() -> Self {
    Policy {
      initial_ms: 100.0,
      factor: 2.0,
      max_ms: 30_000.0,
      cap: Cap::Clamp,
      jitter: Jitter::Proportional { ratio: 0.5 },
      max_attempts: None,
      budget_ms: None,
      reset_ms: 100.0,
      drop_delay: None,
      integer_steps: false,
    }
  }
}

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
  /// Wait this long, then make attempt number `attempt` (1-based since the last success).
  Retry { delay: Duration, attempt: u32 },
  /// Attempts or time budget exhausted.
  GiveUp,
}

/// The running state of a [`Policy`] for one connection.
#[derive(Debug, Clone)]
pub struct Backoff {
  policy: Policy,
  base_ms: f64,
  attempt: u32,
  waited_ms: u64,
  after_drop: bool,
  rng: fastrand::Rng,
}

impl Backoff {
  pub fn new(policy: Policy) -> Self {
    Self::with_rng(policy, fastrand::Rng::new())
  }

  pub fn with_rng(policy: Policy, rng: fastrand::Rng) -> Self {
    let base_ms = policy.initial_ms;
    Backoff { policy, base_ms, attempt: 0, waited_ms: 0, after_drop: false, rng }
  }

  /// A connection was established: the next failure starts the schedule over.
  pub fn succeeded(&mut self) {
    self.base_ms = self.policy.reset_ms;
    self.attempt = 0;
    self.waited_ms = 0;
    self.after_drop = true;
  }

  /// Whether the time budget is spent. thrift checks this after each wait, before the
  /// attempt, so the driver asks again once the delay has passed.
  pub fn over_budget(&self) -> bool {
    self.policy.budget_ms.is_some_and(|budget| self.waited_ms >= budget)
  }

  /// An attempt failed, or an established connection dropped: how long to wait.
  pub fn failed(&mut self) -> Next {
    if let Some(max) = self.policy.max_attempts {
      if self.attempt >= max {
        return Next::GiveUp;
      }
    }
    if self.over_budget() {
      return Next::GiveUp;
    }
    self.attempt += 1;
    let ms = match (std::mem::take(&mut self.after_drop), self.policy.drop_delay) {
      (true, Some((min, max))) => self.uniform(min, max),
      _ => {
        let base = self.base_ms;
        self.base_ms = self.grow(base);
        self.jittered(base)
      }
    };
    self.waited_ms = self.waited_ms.saturating_add(ms);
    Next::Retry { delay: Duration::from_millis(ms), attempt: self.attempt }
  }

  fn grow(&self, prev: f64) -> f64 {
    let p = &self.policy;
    let step = |v: f64| if p.integer_steps { (v * p.factor).floor() } else { v * p.factor };
    match p.cap {
      Cap::Clamp => step(prev).min(p.max_ms),
      Cap::GrowBelow if prev < p.max_ms => step(prev),
      Cap::GrowBelow => prev,
      Cap::GrowBelowThenSnap if prev < p.max_ms => step(prev),
      Cap::GrowBelowThenSnap => p.max_ms,
    }
  }

  fn jittered(&mut self, base: f64) -> u64 {
    match self.policy.jitter {
      Jitter::None => base as u64,
      Jitter::Uniform { min, max } => base as u64 + self.uniform(min, max),
      Jitter::Proportional { ratio } => (base * (1.0 - ratio * self.rng.f64())).round() as u64,
    }
  }

  fn uniform(&mut self, min: u64, max: u64) -> u64 {
    if max <= min {
      min
    } else {
      self.rng.u64(min..=max)
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  /// Snapping growth: 150 ms grown by 1.7 before the first wait (so 255 ms),
  /// floored, snapping to `max` once there (thrift 0.24's `Connection`).
  fn snapping(max_attempts: Option<u32>, max_ms: Option<f64>, budget_ms: Option<u64>) -> Policy {
    Policy {
      initial_ms: 255.0,
      factor: 1.7,
      max_ms: max_ms.unwrap_or(f64::INFINITY),
      cap: Cap::GrowBelowThenSnap,
      jitter: Jitter::None,
      max_attempts,
      budget_ms,
      reset_ms: 255.0,
      drop_delay: None,
      integer_steps: true,
    }
  }

  /// Doubling from 1 s to 32 s plus 0..=1000 ms (@metarhia/jstp's default reconnector).
  fn doubling_with_added_jitter() -> Policy {
    Policy {
      initial_ms: 1000.0,
      max_ms: 32_000.0,
      jitter: Jitter::Uniform { min: 0, max: 1000 },
      reset_ms: 1000.0,
      integer_steps: true,
      ..Policy::default()
    }
  }

  /// Doubling while below 128 s, keeping the overshoot; 20 ms first, 100 ms after a
  /// drop (connman 1.0: `backoff` starts at 10, a connect sets it to 50).
  fn growing_below() -> Policy {
    Policy {
      initial_ms: 20.0,
      max_ms: 128_000.0,
      cap: Cap::GrowBelow,
      jitter: Jitter::None,
      reset_ms: 100.0,
      integer_steps: true,
      ..Policy::default()
    }
  }

  /// A fixed wait drawn from `retry`, and a first wait after a drop drawn from
  /// `reconnect` (@crussell52/socket-ipc's `retryDelay` and `reconnectDelay`).
  fn fixed_with_drop_delay(retry: (u64, u64), reconnect: (u64, u64)) -> Policy {
    Policy {
      initial_ms: retry.0 as f64,
      factor: 1.0,
      max_ms: retry.0 as f64,
      jitter: Jitter::Uniform { min: 0, max: retry.1 - retry.0 },
      reset_ms: retry.0 as f64,
      drop_delay: Some(reconnect),
      integer_steps: true,
      ..Policy::default()
    }
  }

  fn delays(b: &mut Backoff, n: usize) -> Vec<u64> {
    (0..n)
      .map(|_| match b.failed() {
        Next::Retry { delay, .. } => delay.as_millis() as u64,
        Next::GiveUp => u64::MAX,
      })
      .collect()
  }

  /// The original's loop, transcribed: `retry_delay` starts at 150 and each
  /// `connection_gone` either snaps it to the max or grows it before waiting.
  fn snapping_reference(max: Option<u64>, n: usize) -> Vec<u64> {
    let mut d = 150u64;
    (0..n)
      .map(|_| {
        d = match max {
          Some(m) if d >= m => m,
          _ => (d as f64 * 1.7).floor() as u64,
        };
        d
      })
      .collect()
  }

  #[test]
  fn snapping_growth_replays_the_original_loop() {
    let mut b = Backoff::new(snapping(None, None, None));
    assert_eq!(delays(&mut b, 12), snapping_reference(None, 12));
    assert_eq!(&delays(&mut Backoff::new(snapping(None, None, None)), 3), &[255, 433, 736]);
    let mut capped = Backoff::new(snapping(None, Some(1000.0), None));
    // 736 < 1000 grows to 1251 once, then snaps to 1000: the original's overshoot.
    assert_eq!(delays(&mut capped, 6), snapping_reference(Some(1000), 6));
    assert_eq!(delays(&mut Backoff::new(snapping(None, Some(1000.0), None)), 6), vec![255, 433, 736, 1251, 1000, 1000]);
  }

  #[test]
  fn attempts_and_budget_give_up() {
    let mut b = Backoff::new(snapping(Some(2), None, None));
    assert!(matches!(b.failed(), Next::Retry { attempt: 1, .. }));
    assert!(matches!(b.failed(), Next::Retry { attempt: 2, .. }));
    assert_eq!(b.failed(), Next::GiveUp);
    // Budget: after waiting 255 + 433 = 688 >= 600 the attempt is not made.
    let mut b = Backoff::new(snapping(None, None, Some(600)));
    assert_eq!(delays(&mut b, 1), vec![255]);
    assert!(!b.over_budget());
    assert_eq!(delays(&mut b, 1), vec![433]);
    assert!(b.over_budget());
    assert_eq!(b.failed(), Next::GiveUp);
    // A success restores the attempts.
    let mut b = Backoff::new(snapping(Some(1), None, None));
    b.failed();
    b.succeeded();
    assert_eq!(delays(&mut b, 2), vec![255, u64::MAX]);
  }

  #[test]
  fn growing_below_keeps_the_overshoot() {
    let mut b = Backoff::new(growing_below());
    let got = delays(&mut b, 16);
    let mut want = Vec::new();
    let mut backoff = 10u64;
    for _ in 0..16 {
      if backoff < 128_000 {
        backoff *= 2;
      }
      want.push(backoff);
    }
    assert_eq!(got, want);
    assert_eq!(&got[..3], &[20, 40, 80]);
    assert_eq!(*got.last().unwrap(), 163_840);
    // After a successful connect the original sets backoff = 50, then doubles.
    b.succeeded();
    assert_eq!(delays(&mut b, 3), vec![100, 200, 400]);
    let tail = delays(&mut b, 20);
    assert_eq!(*tail.last().unwrap(), 204_800, "the overshoot from 102400 is kept");
  }

  #[test]
  fn doubling_with_added_jitter_stays_in_range() {
    for seed in 0..50 {
      let mut b = Backoff::with_rng(doubling_with_added_jitter(), fastrand::Rng::with_seed(seed));
      let got = delays(&mut b, 8);
      let bases = [1000, 2000, 4000, 8000, 16000, 32000, 32000, 32000];
      for (g, base) in got.iter().zip(bases) {
        assert!((base..=base + 1000).contains(g), "{g} not in {base}..={}", base + 1000);
      }
      b.succeeded();
      let after = delays(&mut b, 1)[0];
      assert!((1000..=2000).contains(&after));
    }
  }

  #[test]
  fn added_jitter_covers_the_range() {
    let mut b = Backoff::with_rng(doubling_with_added_jitter(), fastrand::Rng::with_seed(7));
    let mut seen = (u64::MAX, 0);
    for _ in 0..2000 {
      b.succeeded();
      let d = delays(&mut b, 1)[0] - 1000;
      seen = (seen.0.min(d), seen.1.max(d));
    }
    assert_eq!(seen, (0, 1000));
  }

  #[test]
  fn drop_delay_comes_once_after_a_drop() {
    let mut b = Backoff::new(fixed_with_drop_delay((1000, 1000), (100, 100)));
    assert_eq!(delays(&mut b, 3), vec![1000, 1000, 1000]);
    b.succeeded();
    // A drop waits reconnectDelay once, then failures wait retryDelay again.
    assert_eq!(delays(&mut b, 3), vec![100, 1000, 1000]);
    let mut r = Backoff::with_rng(fixed_with_drop_delay((50, 70), (5, 9)), fastrand::Rng::with_seed(1));
    for d in delays(&mut r, 200) {
      assert!((50..=70).contains(&d));
    }
    r.succeeded();
    assert!((5..=9).contains(&delays(&mut r, 1)[0]));
  }

  #[test]
  fn default_is_jittered_exponential_and_clamped() {
    let mut b = Backoff::with_rng(Policy::default(), fastrand::Rng::with_seed(3));
    let got = delays(&mut b, 20);
    let mut base = 100.0f64;
    for d in got {
      assert!(d as f64 >= (base * 0.5).round() && d as f64 <= base, "{d} vs base {base}");
      base = (base * 2.0).min(30_000.0);
    }
  }

  #[test]
  fn no_jitter_clamp_is_exact() {
    let policy = Policy { jitter: Jitter::None, max_ms: 500.0, ..Policy::default() };
    assert_eq!(delays(&mut Backoff::new(policy), 5), vec![100, 200, 400, 500, 500]);
  }
}
