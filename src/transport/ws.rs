//! The WebSocket opening handshake (RFC 6455 §4) over hyper: a client's `GET` with
//! `Upgrade: websocket`, and what a server checks and answers. Once upgraded, the
//! connection is a plain [`Stream`] again; its frames are the codec's (`codec::ws`).

use bytes::Bytes;
use http_body_util::Empty;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::{client::generate_key, derive_accept_key};

use super::Stream;
use crate::error::CoreError;

/// What a client asks for.
#[derive(Debug, Clone)]
pub struct Handshake {
  /// The `Host` header: `host[:port]`.
  pub host: String,
  pub path: String,
  /// Extra request headers, sent as given.
  pub headers: Vec<(String, String)>,
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
  let mut req = Request::get(hs.path.as_str())
    .header(header::HOST, hs.host.as_str())
    .header(header::CONNECTION, "Upgrade")
    .header(header::UPGRADE, "websocket")
    .header(header::SEC_WEBSOCKET_VERSION, "13")
    .header(header::SEC_WEBSOCKET_KEY, key.as_str());
  for (name, value) in &hs.headers {
    req = req.header(name.as_str(), value.as_str());
  }
  let req = req.body(Empty::new()).map_err(|e| CoreError::new("ERR_INVALID_ARG_VALUE", format!("invalid WebSocket request: {e}")))?;
  let res = sender.send_request(req).await.map_err(failed)?;
  if res.status() != StatusCode::SWITCHING_PROTOCOLS {
    // The words of Node's `ws`, which thrift's WSConnection runs on.
    return Err(CoreError::new("ERR_WS_HANDSHAKE", format!("Unexpected server response: {}", res.status().as_u16())));
  }
  let accept = res.headers().get(header::SEC_WEBSOCKET_ACCEPT).and_then(|v| v.to_str().ok());
  if accept != Some(derive_accept_key(key.as_bytes()).as_str()) {
    return Err(CoreError::new("ERR_WS_HANDSHAKE", "Invalid Sec-WebSocket-Accept header"));
  }
  let upgraded = hyper::upgrade::on(res).await.map_err(failed)?;
  Ok(Stream::Upgraded(Box::new(TokioIo::new(upgraded))))
}

/// Whether a request asks to become a WebSocket.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
  let has = |name, token: &str| {
    headers.get_all(name).iter().any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))))
  };
  has(header::UPGRADE, "websocket") && has(header::CONNECTION, "upgrade")
}

/// The `Sec-WebSocket-Accept` answering a request's key; `None` if it has none.
pub fn accept_key(headers: &HeaderMap) -> Option<HeaderValue> {
  let key = headers.get(header::SEC_WEBSOCKET_KEY)?;
  HeaderValue::from_str(&derive_accept_key(key.as_bytes())).ok()
}

fn failed(e: hyper::Error) -> CoreError {
  let mut err = CoreError::new("ERR_WS_HANDSHAKE", format!("WebSocket handshake failed: {e}"));
  if e.is_incomplete_message() || e.is_closed() {
    err.code = "ECONNRESET".into();
  }
  err
}
