//! A stdio session's child process: waited for at the end, killed on `destroy()`,
//! and its exit reported as Node reports a child's.

use serde_json::json;

use super::{Driver, Ended, Stopped};
use crate::bridge::Kind;
use crate::transport::ChildProcess;

impl Driver {
  /// A stdio session ends with its child: wait for the exit (killing the child on
  /// `destroy()`, also while waiting) and report it.
  pub(super) async fn reap(&mut self, child: Option<ChildProcess>, ended: Ended) -> Ended {
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

  pub(super) fn report_exit(&self, status: std::io::Result<std::process::ExitStatus>) {
    use std::os::unix::process::ExitStatusExt;
    let (code, signal) = match status {
      Ok(s) => (s.code(), s.signal().map(signal_name)),
      Err(_) => (None, None),
    };
    self.emit_json(Kind::Exit, json!({ "code": code, "signal": signal }));
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
