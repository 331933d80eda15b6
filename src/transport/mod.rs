//! Transports: how bytes get to a peer. Dialing, listening, TLS and child processes
//! all end in one [`Stream`], so the connection driver never cares which it has.

pub mod dial;
pub mod listen;
mod sink;
pub mod stdio;
pub mod tls;
pub mod ws;

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

pub use dial::{dial, Dialed, Target};
pub use listen::{bind, Bind, BindAt, Incoming, Listener, DEFAULT_BACKLOG};
pub use sink::{split, Sink};
pub use stdio::{ChildPipes, ChildProcess};

pub type TlsStream = tokio_rustls::TlsStream<TcpStream>;

pub enum Stream {
  Tcp(TcpStream),
  Unix(UnixStream),
  Tls(Box<TlsStream>),
  Stdio(ChildPipes),
  /// A stream with bytes already read from it to be read first (what hyper read past
  /// a WebSocket handshake).
  Rewound(Box<ws::Rewound>),
}

/// Both ends of a connection, as Node names them on a socket.
#[derive(Debug, Clone, Default)]
pub struct Addresses {
  pub remote_address: Option<String>,
  pub remote_port: Option<u16>,
  pub remote_family: Option<&'static str>,
  pub local_address: Option<String>,
  pub local_port: Option<u16>,
}

impl Addresses {
  fn of_tcp(s: &TcpStream) -> Self {
    let family = |a: &std::net::SocketAddr| if a.is_ipv4() { "IPv4" } else { "IPv6" };
    let peer = s.peer_addr().ok();
    let local = s.local_addr().ok();
    Addresses {
      remote_address: peer.map(|a| a.ip().to_string()),
      remote_port: peer.map(|a| a.port()),
      remote_family: peer.as_ref().map(family),
      local_address: local.map(|a| a.ip().to_string()),
      local_port: local.map(|a| a.port()),
    }
  }

  pub fn to_json(&self) -> Value {
    json!({
      "remoteAddress": self.remote_address,
      "remotePort": self.remote_port,
      "remoteFamily": self.remote_family,
      "localAddress": self.local_address,
      "localPort": self.local_port,
    })
  }
}

impl Stream {
  pub fn addresses(&self) -> Addresses {
    match self {
      Stream::Tcp(s) => Addresses::of_tcp(s),
      Stream::Tls(s) => Addresses::of_tcp(s.get_ref().0),
      Stream::Unix(_) | Stream::Stdio(_) => Addresses::default(),
      Stream::Rewound(r) => r.stream.addresses(),
    }
  }

  /// The descriptor of a plain socket, which may be written from any thread while
  /// its owner makes sure it stays open (see `conn::Outbox`). TLS and pipes: `None`.
  pub fn direct_fd(&self) -> Option<RawFd> {
    match self {
      Stream::Tcp(s) => Some(s.as_raw_fd()),
      Stream::Unix(s) => Some(s.as_raw_fd()),
      Stream::Tls(_) | Stream::Stdio(_) | Stream::Rewound(_) => None,
    }
  }

  /// A handle for setting socket options while the stream is split between its
  /// reader and writer.
  pub fn socket_options(&self) -> SocketOptions {
    let tcp = match self {
      Stream::Tcp(s) => Some(s),
      Stream::Tls(s) => Some(s.get_ref().0),
      Stream::Rewound(r) => return r.stream.socket_options(),
      _ => None,
    };
    SocketOptions { tcp_fd: tcp.map(|s| s.as_raw_fd()) }
  }
}

/// Socket options of a TCP connection (a no-op on other transports, as in Node).
/// Holds the raw descriptor: valid only while its stream lives, which the driver
/// guarantees by keeping both in the same scope.
pub struct SocketOptions {
  tcp_fd: Option<RawFd>,
}

impl SocketOptions {
  fn with<R: Default>(&self, f: impl FnOnce(socket2::SockRef<'_>) -> io::Result<R>) -> io::Result<R> {
    match self.tcp_fd {
      // SAFETY: the stream owning the descriptor outlives `self` (see above).
      Some(fd) => f(socket2::SockRef::from(&unsafe { BorrowedFd::borrow_raw(fd) })),
      None => Ok(R::default()),
    }
  }

  pub fn set_no_delay(&self, on: bool) -> io::Result<()> {
    self.with(|s| s.set_nodelay(on))
  }

  /// SO_KEEPALIVE with an initial delay, as Node's `setKeepAlive(enable, initialDelay)`.
  pub fn set_keep_alive(&self, on: bool, initial_delay_ms: u64) -> io::Result<()> {
    self.with(|s| {
      if on && initial_delay_ms > 0 {
        s.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(std::time::Duration::from_millis(initial_delay_ms)))
      } else {
        s.set_keepalive(on)
      }
    })
  }
}

/// One non-blocking `send` on a socket: how much the kernel took (0 when it would
/// block or failed; the driver then writes the rest and meets any error itself).
pub fn try_send(fd: RawFd, data: &[u8]) -> usize {
  // MSG_NOSIGNAL: a peer that went away is an error to report, not a SIGPIPE.
  let n = unsafe { libc::send(fd, data.as_ptr().cast(), data.len(), libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) };
  n.max(0) as usize
}

macro_rules! each_stream {
  ($self:ident, $s:ident => $e:expr) => {
    match $self.get_mut() {
      Stream::Tcp($s) => $e,
      Stream::Unix($s) => $e,
      Stream::Tls($s) => $e,
      Stream::Stdio($s) => $e,
      Stream::Rewound($s) => $e,
    }
  };
}

impl AsyncRead for Stream {
  fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
    each_stream!(self, s => Pin::new(s).poll_read(cx, buf))
  }
}

impl AsyncWrite for Stream {
  fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    each_stream!(self, s => Pin::new(s).poll_write(cx, buf))
  }

  fn poll_write_vectored(
    self: Pin<&mut Self>,
    cx: &mut Context<'_>,
    bufs: &[io::IoSlice<'_>],
  ) -> Poll<io::Result<usize>> {
    each_stream!(self, s => Pin::new(s).poll_write_vectored(cx, bufs))
  }

  fn is_write_vectored(&self) -> bool {
    match self {
      Stream::Tcp(s) => s.is_write_vectored(),
      Stream::Unix(s) => s.is_write_vectored(),
      Stream::Tls(s) => s.is_write_vectored(),
      Stream::Stdio(s) => s.is_write_vectored(),
      Stream::Rewound(s) => s.stream.is_write_vectored(),
    }
  }

  fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    each_stream!(self, s => Pin::new(s).poll_flush(cx))
  }

  fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    each_stream!(self, s => Pin::new(s).poll_shutdown(cx))
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[tokio::test]
  async fn socket_options_reach_the_socket() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tcp = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let stream = Stream::Tcp(tcp);
    let opts = stream.socket_options();
    let Stream::Tcp(tcp) = &stream else { unreachable!() };
    let sock = socket2::SockRef::from(tcp);
    opts.set_no_delay(true).unwrap();
    assert!(sock.nodelay().unwrap());
    opts.set_no_delay(false).unwrap();
    assert!(!sock.nodelay().unwrap());
    opts.set_keep_alive(true, 5000).unwrap();
    assert!(sock.keepalive().unwrap());
    assert_eq!(sock.keepalive_time().unwrap(), std::time::Duration::from_secs(5));
    opts.set_keep_alive(false, 0).unwrap();
    assert!(!sock.keepalive().unwrap());
  }

  #[tokio::test]
  async fn unix_sockets_ignore_tcp_options_as_node_does() {
    let (a, _b) = UnixStream::pair().unwrap();
    let stream = Stream::Unix(a);
    stream.socket_options().set_no_delay(true).unwrap();
    stream.socket_options().set_keep_alive(true, 1000).unwrap();
    assert!(stream.direct_fd().is_some());
  }
}
