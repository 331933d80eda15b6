//! The WebSocket opening handshake (RFC 6455 §4) over hyper: a client's `GET` with
//! `Upgrade: websocket`, and what a server checks and answers. Once upgraded, the
//! connection is a plain [`Stream`] again; its frames are the codec's (`codec::ws`).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Empty;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::handshake::{client::generate_key, derive_accept_key};

use super::Stream;
use crate::error::{Code, CoreError};

/// What a client asks for.
#[derive(Debug, Clone)]
pub struct Handshake {
  /// The `Host` header: `host[:port]`.
  pub host: String,
  pub path: String,
  /// Extra request headers, sent as given.
  pub headers: Vec<(String, String)>,
  /// Subprotocols offered (`Sec-WebSocket-Protocol`); if any, the server must
  /// choose one of them.
  pub protocols: Vec<String>,
}

/// Upgrades a freshly dialed `stream` to a WebSocket.
pub async fn connect(stream: Stream, hs: &Handshake) -> Result<Stream, CoreError> {
  let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await.map_err(failed)?;
  // Driven until the upgrade hands the socket over (or the exchange fails, which the
  // request below then reports).
  tokio::spawn(async move {
    let _ = conn.with_upgrades().await;
  });
  let key = generate_key();
  let invalid = |e: &dyn std::fmt::Display| CoreError::new(Code::InvalidArgument, format!("invalid WebSocket request: {e}"));
  let mut req = Request::get(hs.path.as_str());
  for (name, value) in &hs.headers {
    req = req.header(name.as_str(), value.as_str());
  }
  let mut req = req.body(Empty::new()).map_err(|e| invalid(&e))?;
  // The handshake's own headers replace any given; a Host given is kept.
  let headers = req.headers_mut();
  let host = HeaderValue::from_str(&hs.host).map_err(|e| invalid(&e))?;
  headers.entry(header::HOST).or_insert(host);
  headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
  headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
  headers.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
  headers.insert(header::SEC_WEBSOCKET_KEY, HeaderValue::from_str(&key).map_err(|e| invalid(&e))?);
  if !hs.protocols.is_empty() {
    headers.insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_str(&hs.protocols.join(", ")).map_err(|e| invalid(&e))?);
  }
  let res = sender.send_request(req).await.map_err(failed)?;
  if res.status() != StatusCode::SWITCHING_PROTOCOLS {
    // The words of Node's `ws`, which thrift's WSConnection runs on.
    return Err(CoreError::new(Code::WsHandshake, format!("Unexpected server response: {}", res.status().as_u16())));
  }
  let accept = res.headers().get(header::SEC_WEBSOCKET_ACCEPT).and_then(|v| v.to_str().ok());
  if accept != Some(derive_accept_key(key.as_bytes()).as_str()) {
    return Err(CoreError::new(Code::WsHandshake, "Invalid Sec-WebSocket-Accept header"));
  }
  if !hs.protocols.is_empty() {
    let chosen = res.headers().get(header::SEC_WEBSOCKET_PROTOCOL).and_then(|v| v.to_str().ok());
    if !chosen.is_some_and(|p| hs.protocols.iter().any(|o| o == p)) {
      return Err(CoreError::new(Code::WsHandshake, "Server did not choose one of the subprotocols offered"));
    }
  }
  unwrap(hyper::upgrade::on(res).await.map_err(failed)?)
}

/// The socket hyper upgraded, as the stream it was before (so a plain socket keeps
/// its direct writes and JS-thread reads), with whatever hyper read past the
/// handshake put back in front.
pub fn unwrap(upgraded: hyper::upgrade::Upgraded) -> Result<Stream, CoreError> {
  let parts = upgraded
    .downcast::<TokioIo<Stream>>()
    .map_err(|_| CoreError::new(Code::WsHandshake, "the upgraded connection is not a core stream"))?;
  let stream = parts.io.into_inner();
  Ok(if parts.read_buf.is_empty() { stream } else { Stream::Rewound(Box::new(Rewound { head: parts.read_buf, stream })) })
}

/// A stream whose first bytes were read already: they are read again first.
pub struct Rewound {
  head: Bytes,
  pub stream: Stream,
}

impl AsyncRead for Rewound {
  fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
    if self.head.is_empty() {
      return Pin::new(&mut self.stream).poll_read(cx, buf);
    }
    let n = self.head.len().min(buf.remaining());
    buf.put_slice(&self.head.split_to(n));
    Poll::Ready(Ok(()))
  }
}

impl AsyncWrite for Rewound {
  fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
    Pin::new(&mut self.stream).poll_write(cx, data)
  }

  fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
    Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
  }

  fn is_write_vectored(&self) -> bool {
    self.stream.is_write_vectored()
  }

  fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    Pin::new(&mut self.stream).poll_flush(cx)
  }

  fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    Pin::new(&mut self.stream).poll_shutdown(cx)
  }
}

/// Whether a request asks to become a WebSocket.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
  let has = |name, token: &str| {
    headers.get_all(name).iter().any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))))
  };
  has(header::UPGRADE, "websocket") && has(header::CONNECTION, "upgrade")
}

/// The first of `supported` that the request offers (`Sec-WebSocket-Protocol`).
pub fn choose_protocol<'a>(headers: &HeaderMap, supported: &'a [String]) -> Option<&'a str> {
  let offered: Vec<&str> = headers.get_all(header::SEC_WEBSOCKET_PROTOCOL).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim).collect();
  supported.iter().find(|p| offered.contains(&p.as_str())).map(String::as_str)
}

/// The `Sec-WebSocket-Accept` answering a request's key; `None` if it has none.
pub fn accept_key(headers: &HeaderMap) -> Option<HeaderValue> {
  let key = headers.get(header::SEC_WEBSOCKET_KEY)?;
  HeaderValue::from_str(&derive_accept_key(key.as_bytes())).ok()
}

/// A handshake that failed: resets as such, anything else as a handshake error.
fn failed(e: hyper::Error) -> CoreError {
  let mut err = CoreError::from_hyper(&e);
  if err.code == Code::Http {
    err.code = Code::WsHandshake;
    err.message = format!("WebSocket handshake failed: {e}");
  }
  err
}

#[cfg(test)]
mod tests {
  use super::*;
  use tokio::io::{AsyncReadExt, AsyncWriteExt};

  #[tokio::test]
  async fn a_rewound_stream_reads_its_head_first_and_writes_through() {
    let (a, mut b) = tokio::net::UnixStream::pair().unwrap();
    let mut r = Rewound { head: Bytes::from_static(b"head"), stream: Stream::Unix(a) };
    b.write_all(b"-tail").await.unwrap();
    let mut two = [0u8; 2];
    r.read_exact(&mut two).await.unwrap();
    assert_eq!(&two, b"he", "a short read takes part of the head");
    let mut rest = [0u8; 7];
    r.read_exact(&mut rest).await.unwrap();
    assert_eq!(&rest, b"ad-tail");
    r.write_all(b"out").await.unwrap();
    let mut got = [0u8; 3];
    b.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"out");
  }
}
