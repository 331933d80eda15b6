//! The one tokio runtime of the process, shared by the main thread and every worker.
//!
//! Created on first use and never dropped: a static is not destroyed at exit, so no
//! runtime shutdown can race with Node tearing down. One worker thread: measured here,
//! each extra worker made every cross-thread hop about twice as dear.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

pub fn get() -> &'static Runtime {
  static RUNTIME: OnceLock<Runtime> = OnceLock::new();
  RUNTIME.get_or_init(|| {
    let mut builder = Builder::new_multi_thread();
    builder.worker_threads(1).thread_name("connkit").enable_all();
    // Tasks run in the order they were woken or spawned. tokio's LIFO slot otherwise
    // runs the *last* task of a burst first (the last connection accepted, the last
    // request whose socket connected), so of calls made together on thrift's
    // HttpConnection the last is answered first, where the original answers in call
    // order. The option is tokio_unstable (.cargo/config.toml); without it, as before.
    #[cfg(tokio_unstable)]
    builder.disable_lifo_slot();
    builder.build().expect("cannot start the connkit runtime")
  })
}
