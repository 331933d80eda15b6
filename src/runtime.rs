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
    Builder::new_multi_thread()
      .worker_threads(1)
      .thread_name("connkit")
      .enable_all()
      .build()
      .expect("cannot start the connkit runtime")
  })
}
