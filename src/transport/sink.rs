//! The write side of an established stream.
//!
//! A socket the JS thread reads (see `node/reader.rs`) is taken off the runtime's
//! poller: were it registered, every message in either direction would wake the
//! runtime thread for nothing. It is written with plain syscalls and registered,
//! for writability only, while a write waits for room — as libuv does.

use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncWriteExt, Interest, ReadHalf, WriteHalf};

use super::Stream;

pub enum Sink {
  Tokio(WriteHalf<Stream>),
  /// `waiting` is declared first so that it is dropped (deregistered) before `fd`.
  /// `fd` is shared with the JS thread's reader: the socket closes when both let go,
  /// so its number cannot be reused under a reader still polling it.
  Fd { waiting: Option<AsyncFd<RawFd>>, fd: Arc<OwnedFd> },
}

/// Splits `stream`: with `read_elsewhere`, a plain socket yields no read half and a
/// bare-descriptor sink; anything else is split the tokio way.
pub fn split(stream: Stream, read_elsewhere: bool) -> io::Result<(Option<ReadHalf<Stream>>, Sink)> {
  let fd: OwnedFd = match stream {
    Stream::Tcp(s) if read_elsewhere => s.into_std()?.into(),
    Stream::Unix(s) if read_elsewhere => s.into_std()?.into(),
    stream => {
      let (r, w) = tokio::io::split(stream);
      return Ok((Some(r), Sink::Tokio(w)));
    }
  };
  Ok((None, Sink::Fd { fd: Arc::new(fd), waiting: None }))
}

impl Sink {
  /// The socket a bare-descriptor sink writes, for the JS thread to read.
  pub fn descriptor(&self) -> Option<Arc<OwnedFd>> {
    match self {
      Sink::Fd { fd, .. } => Some(fd.clone()),
      Sink::Tokio(_) => None,
    }
  }

  pub async fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    match self {
      Sink::Tokio(w) => w.write_vectored(bufs).await,
      Sink::Fd { fd, waiting } => loop {
        match send_vectored(fd.as_raw_fd(), bufs) {
          Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            let poller = match waiting {
              Some(p) => p,
              // SAFETY: `fd` stays open while registered: `waiting` is cleared
              // before `fd` is dropped (declaration order, and `idle`/`shutdown`).
              None => waiting.insert(
                unsafe { AsyncFd::register_with_interest(fd.as_raw_fd(), Interest::WRITABLE) }.map_err(io::Error::from)?,
              ),
            };
            poller.writable().await?.clear_ready();
          }
          other => return other,
        }
      },
    }
  }

  /// Nothing is left to write: stop watching for room.
  pub fn idle(&mut self) {
    if let Sink::Fd { waiting, .. } = self {
      *waiting = None;
    }
  }

  /// Ends our side (FIN); reading goes on.
  pub async fn shutdown(&mut self) -> io::Result<()> {
    match self {
      Sink::Tokio(w) => w.shutdown().await,
      Sink::Fd { fd, waiting } => {
        *waiting = None;
        if unsafe { libc::shutdown(fd.as_raw_fd(), libc::SHUT_WR) } == 0 {
          Ok(())
        } else {
          Err(io::Error::last_os_error())
        }
      }
    }
  }
}

fn send_vectored(fd: RawFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
  let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
  msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
  // Callers pass a few dozen buffers at most, far below IOV_MAX (1024 on Linux and macOS).
  msg.msg_iovlen = bufs.len() as _;
  // MSG_NOSIGNAL: a vanished peer is an error to report, not a SIGPIPE.
  let n = unsafe { libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) };
  if n < 0 {
    Err(io::Error::last_os_error())
  } else {
    Ok(n as usize)
  }
}
