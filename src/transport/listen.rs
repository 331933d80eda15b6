//! Servers' listening sockets: TCP, TLS over TCP, and unix sockets.

use std::io;
use std::os::unix::fs::FileTypeExt;
use std::sync::Arc;

use serde_json::{json, Value};
use socket2::{Domain, SockAddr, Socket as Socket2, Type};
use tokio::net::{TcpListener, UnixListener, UnixStream};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use super::dial::tls_error;
use super::Stream;
use crate::error::CoreError;

/// Node's default `backlog`. The kernel queues this many connections not yet
/// accepted; beyond it new ones are dropped and their SYNs retried a second later,
/// so a short queue turns a burst of connects into one-second stalls.
pub const DEFAULT_BACKLOG: u32 = 511;

#[derive(Debug, Clone)]
pub struct Bind {
  pub at: BindAt,
  pub backlog: u32,
}

#[derive(Debug, Clone)]
pub enum BindAt {
  Tcp { host: String, port: u16 },
  Unix { path: String },
}

pub struct Listener {
  socket: Socket,
  tls: Option<TlsAcceptor>,
}

enum Socket {
  Tcp(TcpListener),
  /// Keeps the path so that closing the server removes its file.
  Unix(UnixListener, String),
}

/// A connection accepted but not yet ready: its TLS handshake, if any, runs in the
/// connection's own task so one slow client cannot hold up the accept loop.
pub struct Incoming {
  stream: Stream,
  tls: Option<TlsAcceptor>,
}

impl Incoming {
  /// A connection already set up elsewhere (a WebSocket hyper upgraded).
  pub fn established(stream: Stream) -> Self {
    Incoming { stream, tls: None }
  }

  pub fn addresses(&self) -> super::Addresses {
    self.stream.addresses()
  }

  pub async fn establish(self) -> Result<Stream, CoreError> {
    match (self.stream, self.tls) {
      (Stream::Tcp(tcp), Some(acceptor)) => {
        let tls = acceptor.accept(tcp).await.map_err(|e| tls_error(&e))?;
        Ok(Stream::Tls(Box::new(tls.into())))
      }
      (stream, _) => Ok(stream),
    }
  }
}

pub async fn bind(bind: &Bind, tls: Option<Arc<ServerConfig>>) -> Result<Listener, CoreError> {
  let backlog = bind.backlog.min(i32::MAX as u32) as i32;
  let socket = match &bind.at {
    BindAt::Tcp { host, port } => {
      Socket::Tcp(bind_tcp(host, *port, backlog).await.map_err(|e| CoreError::io(&e, "listen").at(host.as_str(), Some(*port)))?)
    }
    BindAt::Unix { path } => {
      reclaim_stale(path).await?;
      let l = bind_unix(path, backlog).map_err(|e| CoreError::io(&e, "listen").at(path.as_str(), None))?;
      Socket::Unix(l, path.clone())
    }
  };
  Ok(Listener { socket, tls: tls.map(TlsAcceptor::from) })
}

/// As tokio's `TcpListener::bind` (each address the name resolves to, in turn), but
/// with the backlog asked for: tokio's is fixed at 128.
async fn bind_tcp(host: &str, port: u16, backlog: i32) -> io::Result<TcpListener> {
  let mut last = None;
  for addr in tokio::net::lookup_host((host, port)).await? {
    let listen = || -> io::Result<TcpListener> {
      let socket = Socket2::new(Domain::for_address(addr), Type::STREAM, None)?;
      socket.set_reuse_address(true)?;
      socket.set_nonblocking(true)?;
      socket.bind(&addr.into())?;
      socket.listen(backlog)?;
      TcpListener::from_std(socket.into())
    };
    match listen() {
      Ok(l) => return Ok(l),
      Err(e) => last = Some(e),
    }
  }
  Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "could not resolve to any address")))
}

fn bind_unix(path: &str, backlog: i32) -> io::Result<UnixListener> {
  let socket = Socket2::new(Domain::UNIX, Type::STREAM, None)?;
  socket.set_nonblocking(true)?;
  socket.bind(&SockAddr::unix(path)?)?;
  socket.listen(backlog)?;
  UnixListener::from_std(socket.into())
}

/// A socket file left by a process that died still exists but refuses connections:
/// remove it. One that accepts belongs to a live server: refuse, as Node does.
async fn reclaim_stale(path: &str) -> Result<(), CoreError> {
  let Ok(meta) = std::fs::symlink_metadata(path) else { return Ok(()) };
  if !meta.file_type().is_socket() {
    return Ok(()); // not ours to delete; bind reports EADDRINUSE
  }
  match UnixStream::connect(path).await {
    Ok(_) => Err(CoreError::io(&io::Error::from_raw_os_error(libc::EADDRINUSE), "listen").at(path, None)),
    Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
      std::fs::remove_file(path).map_err(|e| CoreError::io(&e, "unlink").at(path, None))
    }
    Err(_) => Ok(()),
  }
}

impl Listener {
  pub async fn accept(&self) -> io::Result<Incoming> {
    let stream = match &self.socket {
      Socket::Tcp(l) => Stream::Tcp(l.accept().await?.0),
      Socket::Unix(l, _) => Stream::Unix(l.accept().await?.0),
    };
    Ok(Incoming { stream, tls: self.tls.clone() })
  }

  /// What Node's `server.address()` returns.
  pub fn address(&self) -> Value {
    match &self.socket {
      Socket::Tcp(l) => match l.local_addr() {
        Ok(a) => json!({ "address": a.ip().to_string(), "port": a.port(), "family": if a.is_ipv4() { "IPv4" } else { "IPv6" } }),
        Err(_) => Value::Null,
      },
      Socket::Unix(_, path) => json!(path),
    }
  }
}

impl Drop for Listener {
  fn drop(&mut self) {
    if let Socket::Unix(_, path) = &self.socket {
      let _ = std::fs::remove_file(path);
    }
  }
}
