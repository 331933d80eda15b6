//! The one tokio runtime of the process, shared by the main thread and every worker.
//!
//! Created on first use and never dropped: a static is not destroyed at exit, so no
//! runtime shutdown can race with Node tearing down. One thread, as Node's own event
//! loop: measured here, each extra worker made every cross-thread hop about twice as
//! dear. tokio's current-thread scheduler, driven on a thread of its own, runs tasks
//! in the order they were woken, so a burst (connections accepted together, sockets
//! readable together) is served in the order it came, as Node serves it.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

pub fn get() -> &'static Runtime {
  static RUNTIME: OnceLock<&'static Runtime> = OnceLock::new();
  RUNTIME.get_or_init(|| {
    let runtime: &'static Runtime = Box::leak(Box::new(Builder::new_current_thread().enable_all().build().expect("cannot start the connkit runtime")));
    std::thread::Builder::new()
      .name("connkit".into())
      .spawn(move || runtime.block_on(std::future::pending::<()>()))
      .expect("cannot start the connkit runtime thread");
    runtime
  })
}
