//! A child process as a duplex stream: we read its stdout and write its stdin.
//!
//! Spawned with `std::process` and waited for on a thread of its own rather than with
//! `tokio::process`: tokio reaps through a SIGCHLD handler that libuv replaces as soon
//! as Node spawns a child of its own, after which tokio would never see an exit.

use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::process::{Child, ExitStatus};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::unix::pipe;
use tokio::sync::oneshot;

pub struct ChildPipes {
  stdout: pipe::Receiver,
  /// `None` once shut down: closing stdin is how a child sees EOF.
  stdin: Option<pipe::Sender>,
}

/// The running child: its exit, and a way to kill it that cannot hit a reused pid.
pub struct ChildProcess {
  pid: i32,
  /// True once the child has exited (before it is reaped, so `kill` never races
  /// with the pid being handed to another process).
  exited: Arc<Mutex<bool>>,
  exit: oneshot::Receiver<io::Result<ExitStatus>>,
}

pub fn spawn(mut child: Child) -> io::Result<(ChildPipes, ChildProcess)> {
  let as_pipe = |fd: OwnedFd| std::fs::File::from(fd);
  let stdout = pipe::Receiver::from_file(as_pipe(child.stdout.take().expect("piped").into()))?;
  let stdin = pipe::Sender::from_file(as_pipe(child.stdin.take().expect("piped").into()))?;
  let pid = child.id() as i32;
  let exited = Arc::new(Mutex::new(false));
  let (tx, rx) = oneshot::channel();
  let flag = exited.clone();
  std::thread::Builder::new().name("connkit-child".into()).spawn(move || {
    // Wait without reaping, mark exited, then reap: `kill` holds the same lock.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOWAIT) };
    let mut done = flag.lock().unwrap();
    *done = true;
    let _ = tx.send(child.wait());
    drop(done);
  })?;
  Ok((ChildPipes { stdout, stdin: Some(stdin) }, ChildProcess { pid, exited, exit: rx }))
}

impl ChildProcess {
  pub fn kill(&self) {
    let exited = self.exited.lock().unwrap();
    if !*exited {
      unsafe { libc::kill(self.pid, libc::SIGKILL) };
    }
  }

  pub async fn wait(&mut self) -> io::Result<ExitStatus> {
    (&mut self.exit).await.unwrap_or_else(|_| Err(io::ErrorKind::Other.into()))
  }
}

impl Drop for ChildProcess {
  /// A connection that goes away takes its child with it.
  fn drop(&mut self) {
    self.kill();
  }
}

impl AsyncRead for ChildPipes {
  fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
    Pin::new(&mut self.stdout).poll_read(cx, buf)
  }
}

impl AsyncWrite for ChildPipes {
  fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    match self.stdin.as_mut() {
      Some(stdin) => Pin::new(stdin).poll_write(cx, buf),
      None => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
    }
  }

  fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    match self.stdin.as_mut() {
      Some(stdin) => Pin::new(stdin).poll_flush(cx),
      None => Poll::Ready(Ok(())),
    }
  }

  fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    self.stdin = None;
    Poll::Ready(Ok(()))
  }
}
