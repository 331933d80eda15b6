//! A panic in connkit's own code fails what it was doing — one connection, one
//! server, one request — and never the process.
//!
//! Tasks run on the shared runtime, where tokio would swallow a panic silently: the
//! connection would never report its close, and a caller waiting on it would wait
//! forever. So each task is wrapped in [`CatchUnwind`], and what it owned reports
//! a [`CoreError`] with code `ERR_CONNKIT_PANIC` and ends as after any failure.
//! Code called by libuv or Node-API (which cannot unwind into C) catches with
//! [`std::panic::catch_unwind`] instead.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::{Code, CoreError};


/// A future that resolves to `Err(payload)` if polling the inner one panicked.
pub struct CatchUnwind<F>(F);

/// Wraps `f`. Unwind safety is asserted: after a panic the inner future is dropped
/// and nothing it shared is trusted beyond reporting its end.
pub fn guarded<F: Future>(f: F) -> CatchUnwind<F> {
  CatchUnwind(f)
}

impl<F: Future> Future for CatchUnwind<F> {
  type Output = Result<F::Output, Box<dyn Any + Send>>;

  fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
    // SAFETY: the inner future is never moved out of its pinned place.
    let inner = unsafe { self.map_unchecked_mut(|s| &mut s.0) };
    match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
      Ok(Poll::Pending) => Poll::Pending,
      Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
      Err(payload) => Poll::Ready(Err(payload)),
    }
  }
}

/// The error a panic becomes, with the panic's message.
pub fn panic_error(payload: &(dyn Any + Send), what: &str) -> CoreError {
  let message = payload
    .downcast_ref::<&str>()
    .map(|s| s.to_string())
    .or_else(|| payload.downcast_ref::<String>().cloned())
    .unwrap_or_else(|| "unknown panic".into());
  CoreError::new(Code::Panic, format!("connkit internal error in {what}: {message}"))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[tokio::test]
  async fn a_panicking_future_becomes_an_error() {
    let caught = guarded(async {
      tokio::task::yield_now().await;
      panic!("boom {}", 1);
    })
    .await;
    let e = panic_error(caught.unwrap_err().as_ref(), "a test");
    assert_eq!(e.code, Code::Panic);
    assert!(e.message.ends_with("boom 1"), "{}", e.message);
  }

  #[tokio::test]
  async fn a_quiet_future_passes_through() {
    assert_eq!(guarded(async { 7 }).await.ok(), Some(7));
  }
}
